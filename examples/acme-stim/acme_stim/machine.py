"""The Acme S2 machine's firmware, emulated in memory: its line protocol, output stage and load.

This is what the emulator behind ``acme-sim://`` runs (see :mod:`acme_stim.protocol_acme_sim`).
It knows nothing about the console: bytes come in, bytes go out, and time is the machine's own
(seconds since it booted), handed in by whoever runs it. The wire protocol (ASCII, one line per
message, ``\\n``-terminated) is the README's; in short:

=========================================  ==================================================
console → machine                          machine → console
=========================================  ==================================================
``<tag> IDN?``                             ``<tag> OK ACME-S2 <serial> <firmware>``
``<tag> CAP?``                             ``<tag> OK I=10,600,10 F=0.5,200 W=... R=500 V=12``
``<tag> WAVE <shape> <Hz> <pol> <rev s>``  ``<tag> OK`` or ``<tag> ERR <sentence>``
``<tag> AMP <uA>``                         ``<tag> OK`` (0 uA to the maximum; applied at once)
``<tag> OUT 1`` / ``<tag> OUT 0``          ``<tag> OK``
``<tag> PING``                             ``<tag> OK`` (keep-alive)
(unsolicited)                              ``HELLO ACME-S2 <firmware> [EMULATOR speed=<x>]``
(unsolicited)                              ``S <machine us> <output 0|1> <fault codes or ->``
(unsolicited)                              ``D <first sample index> <uA> <V> <uA> <V> ...``
=========================================  ==================================================

The wire is ASCII: ``uA`` is µA, ``us`` µs. The machine streams samples at
:data:`SAMPLE_RATE_HZ` from boot, output on or off. Its watchdog turns the output off, and raises
the fault code ``watchdog``, when the console has been silent for :data:`WATCHDOG_S` (link time).
"""

from __future__ import annotations

import math

import numpy as np

MODEL = "ACME-S2"
FIRMWARE = "2.1.0"
SAMPLE_RATE_HZ = 500.0
MIN_CURRENT_UA = 10.0
MAX_CURRENT_UA = 600.0
CURRENT_STEP_UA = 10.0
MIN_FREQUENCY_HZ = 0.5
MAX_FREQUENCY_HZ = 200.0
COMPLIANCE_V = 12.0
SHAPES = ("square", "biphasic", "sine")
POLARITIES = ("positive", "negative", "alternating")
MIN_REVERSAL_S = 0.5
#: Link timers, in seconds of wall time (an emulator run faster scales them by its speed).
WATCHDOG_S = 1.0
HEARTBEAT_S = 0.1
#: Samples per ``D`` line.
SAMPLES_PER_LINE = 50
#: A command line longer than this is noise, not a command.
MAX_LINE = 120


class AcmeS2Machine:
    """One machine: feed it bytes and time, collect the bytes it sends back.

    ``link_scale`` is how many machine seconds pass per wall second (1 on real hardware, the
    emulator's speed otherwise); the watchdog and the heartbeat keep wall-time periods.
    """

    def __init__(
        self,
        serial: str = "S2-0001",
        *,
        emulated: bool = True,
        link_scale: float = 1.0,
        load_ohm: float = 8_000.0,
        seed: int = 0,
    ) -> None:
        self.serial = serial
        self.emulated = emulated
        self.link_scale = link_scale
        self.load_ohm = load_ohm
        self._rng = np.random.default_rng(seed)
        self._out = bytearray()
        self._pending = bytearray()
        self._next_sample = 0  # index of the next sample to measure
        self._shape: str | None = None
        self._frequency_hz = 0.0
        self._polarity = "alternating"
        self._reversal_s = 2.0
        self._amplitude_ua = 0.0
        self._output_on = False
        self._on_since_s = 0.0
        self._last_command_s = 0.0
        self._next_heartbeat_s = 0.0
        self._faults: list[str] = []

    # -- what the emulator calls -----------------------------------------------------------

    def boot(self) -> None:
        """Power-on: announce the machine (an emulator says so, and at what speed)."""
        hello = f"HELLO {MODEL} {FIRMWARE}"
        if self.emulated:
            hello += f" EMULATOR speed={self.link_scale:g}"
        self._send(hello)

    def receive(self, data: bytes, now_s: float) -> None:
        """Bytes from the console at machine time ``now_s``; complete lines are executed."""
        self.advance(now_s)  # samples measured before the command keep the old settings
        self._last_command_s = now_s
        self._pending += data
        while b"\n" in self._pending:
            raw, _, rest = self._pending.partition(b"\n")
            self._pending = bytearray(rest)
            line = raw.decode("ascii", "replace").strip()
            if line and len(line) <= MAX_LINE:
                self._execute(line, now_s)
        if len(self._pending) > MAX_LINE:
            self._pending.clear()  # noise without a line end

    def advance(self, now_s: float) -> None:
        """Let the machine run until ``now_s``: measure due samples, heartbeat, watchdog."""
        if self._output_on and now_s - self._last_command_s > WATCHDOG_S * self.link_scale:
            self._output_on = False
            self._note_fault("watchdog")
        self._measure_until(now_s)
        if now_s >= self._next_heartbeat_s:
            self._next_heartbeat_s = now_s + HEARTBEAT_S * self.link_scale
            faults = ",".join(self._faults) or "-"
            self._send(f"S {round(now_s * 1e6)} {int(self._output_on)} {faults}")

    def take_output(self) -> bytes:
        """Everything the machine has sent since the last call."""
        data, self._out = bytes(self._out), bytearray()
        return data

    # -- commands --------------------------------------------------------------------------

    def _execute(self, line: str, now_s: float) -> None:
        tag, _, rest = line.partition(" ")
        if not tag.isdigit():
            return  # not addressed to anyone: ignore
        word, *args = rest.split()
        try:
            answer = self._answer(word, args, now_s)
        except ValueError as problem:
            self._send(f"{tag} ERR {problem}")
        else:
            self._send(f"{tag} OK{' ' + answer if answer else ''}")

    def _answer(self, word: str, args: list[str], now_s: float) -> str:
        if word == "IDN?":
            return f"{MODEL} {self.serial} {FIRMWARE}"
        if word == "CAP?":
            return (
                f"I={MIN_CURRENT_UA:g},{MAX_CURRENT_UA:g},{CURRENT_STEP_UA:g} "
                f"F={MIN_FREQUENCY_HZ:g},{MAX_FREQUENCY_HZ:g} W={','.join(SHAPES)} "
                f"P={','.join(POLARITIES)} R={SAMPLE_RATE_HZ:g} V={COMPLIANCE_V:g}"
            )
        if word == "PING":
            return ""
        if word == "WAVE":
            self._set_wave(args)
            return ""
        if word == "AMP":
            value = _number(args, "AMP <uA>")
            if not 0.0 <= value <= MAX_CURRENT_UA:
                raise ValueError(f"{value:g} uA is outside 0-{MAX_CURRENT_UA:g} uA")
            self._amplitude_ua = value
            return ""
        if word == "OUT":
            if args not in (["0"], ["1"]):
                raise ValueError("OUT takes 0 or 1")
            if args == ["1"]:
                if self._shape is None:
                    raise ValueError("no waveform set (WAVE first)")
                if not self._output_on:
                    self._on_since_s = now_s
                self._faults.clear()
            self._output_on = args == ["1"]
            return ""
        raise ValueError(f"unknown command {word!r}")

    def _set_wave(self, args: list[str]) -> None:
        if len(args) != 4:
            raise ValueError("WAVE takes <shape> <Hz> <polarity> <reversal s>")
        shape, polarity = args[0], args[2]
        frequency, reversal = _number(args[1:2], "Hz"), _number(args[3:4], "reversal s")
        if shape not in SHAPES:
            raise ValueError(f"no {shape} waveform; this machine has {', '.join(SHAPES)}")
        if not MIN_FREQUENCY_HZ <= frequency <= MAX_FREQUENCY_HZ:
            raise ValueError(
                f"{frequency:g} Hz is outside {MIN_FREQUENCY_HZ:g}-{MAX_FREQUENCY_HZ:g} Hz"
            )
        if polarity not in POLARITIES:
            raise ValueError(f"unknown polarity {polarity}")
        if polarity == "alternating" and reversal < MIN_REVERSAL_S:
            raise ValueError(f"reversal every {reversal:g} s is below {MIN_REVERSAL_S:g} s")
        self._shape, self._frequency_hz = shape, frequency
        self._polarity, self._reversal_s = polarity, reversal

    # -- the output stage and the measurement ----------------------------------------------

    def _measure_until(self, now_s: float) -> None:
        last = math.floor(now_s * SAMPLE_RATE_HZ)
        if last < self._next_sample:
            return
        index = np.arange(self._next_sample, last + 1, dtype=np.float64)
        current = self._current_at(index / SAMPLE_RATE_HZ)
        # The output stage cannot push more than its compliance voltage through the load.
        limit_ua = COMPLIANCE_V / self.load_ohm * 1e6
        current = np.clip(current, -limit_ua, limit_ua)
        current += self._rng.normal(0.0, 0.3, current.shape)
        voltage = current * 1e-6 * self.load_ohm + self._rng.normal(0.0, 0.002, current.shape)
        for start in range(0, len(index), SAMPLES_PER_LINE):
            end = start + SAMPLES_PER_LINE
            pairs = np.column_stack((current[start:end], voltage[start:end]))
            values = " ".join(f"{i:.1f} {v:.3f}" for i, v in pairs)
            self._send(f"D {self._next_sample + start} {values}")
        self._next_sample = last + 1

    def _current_at(self, t: np.ndarray) -> np.ndarray:
        if not self._output_on or self._shape is None:
            return np.zeros_like(t)
        since_on = np.maximum(t - self._on_since_s, 0.0)
        phase = since_on * self._frequency_hz
        frac = phase - np.floor(phase)
        first_half = frac < 0.5
        if self._shape == "square":
            pulse = first_half.astype(np.float64)
        elif self._shape == "biphasic":
            pulse = np.where(first_half, 1.0, -1.0)
        else:  # sine: a half-wave in the first half-period
            pulse = np.where(first_half, np.sin(2.0 * np.pi * frac), 0.0)
        if self._polarity == "negative":
            pulse = -pulse
        elif self._polarity == "alternating":
            pulse = pulse * (1.0 - 2.0 * np.mod(np.floor(since_on / self._reversal_s), 2.0))
        return self._amplitude_ua * pulse

    def _note_fault(self, fault: str) -> None:
        if fault not in self._faults:
            self._faults.append(fault)

    def _send(self, line: str) -> None:
        self._out += line.encode("ascii", "replace") + b"\n"


def _number(args: list[str], what: str) -> float:
    if len(args) != 1:
        raise ValueError(f"expected {what}")
    try:
        value = float(args[0])
    except ValueError:
        raise ValueError(f"{args[0]!r} is not a number ({what})") from None
    if not math.isfinite(value):
        raise ValueError(f"{args[0]!r} is not a number ({what})")
    return value
