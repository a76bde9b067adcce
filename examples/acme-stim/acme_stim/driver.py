"""The Acme S2 driver: the S2 line protocol on the console's :class:`~console.api.StreamMachineDriver`.

Only the wire is written here — how a command looks, what a line from the machine means, how
the identity and capabilities read. The console's base class does the rest: the port (any
pyserial URL: ``/dev/ttyUSB0``, ``COM3``, ``socket://host:port``, or the emulator at
``acme-sim://``, see :mod:`acme_stim.protocol_acme_sim`), the reader and keep-alive threads,
waiting for answers and retrying, ``OUT 0`` repeated until a heartbeat shows the output off,
time limits on every call, placing samples on the console's clock, and the emulator's speed
check against the hello's ``speed=``.

The wire (ASCII lines, ``\\n``-terminated; ``uA`` is µA, ``us`` µs; the README has the table)::

    console → machine   <tag> IDN? | CAP? | WAVE <shape> <Hz> <polarity> <reversal s>
                        | AMP <uA> | OUT 1 | OUT 0 | PING
    machine → console   <tag> OK [value] | <tag> ERR <sentence>
                        HELLO ACME-S2 <firmware> [EMULATOR speed=<x>]
                        S <machine us> <output 0|1> <fault codes or ->
                        D <first sample index> <uA> <V> <uA> <V> ...

Time: the machine numbers its samples (``n / 500`` s since it booted); the base class maps that
clock onto the console's from the heartbeats, refines the offset while opening
(``clock_settle_s``) and then holds it, so sample times rise at exactly the sample rate.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
from console.api import (
    Answer,
    Capabilities,
    Clock,
    DeviceIdentity,
    DriverError,
    Heartbeat,
    Hello,
    Message,
    Polarity,
    Samples,
    StreamMachineDriver,
    Waveform,
    WaveShape,
)

#: The commands whose text never changes.
COMMANDS = {
    "identify": "IDN?",
    "capabilities": "CAP?",
    "output_on": "OUT 1",
    "output_off": "OUT 0",
    "keepalive": "PING",
}
#: Fault codes of the machine's heartbeat, in the operator's words.
MACHINE_FAULTS = {
    "watchdog": "the machine's watchdog turned the output off (no command from the console for 1 s)"
}
#: Bytes without a line end beyond this are noise, not the start of a line.
MAX_PARTIAL_LINE = 4096


class AcmeS2Driver(StreamMachineDriver):
    """One Acme S2 on one port."""

    kind = "Acme S2"
    baudrate = 115_200
    sequence_modulus = 10_000  # tags 0-9999
    command_labels = COMMANDS
    port_hint = "--port /dev/ttyUSB0 (or COM3), or --port acme-sim:// for the emulated machine"
    answer_timeout_s = 0.25
    # Three tries: a command gives up after 0.75 s, before the console's 1 s limit on a driver
    # call, so a machine that stops answering is reported as such, not as a hung driver.
    command_tries = 3
    keepalive_s = 0.2  # the machine's watchdog turns the output off after 1 s of silence
    clock_settle_s = 0.2

    def __init__(self, clock: Clock, port: str, capabilities: Capabilities) -> None:
        super().__init__(clock, port)
        #: What the registration states; replaced by the machine's own answer to ``CAP?``.
        self.capabilities = capabilities
        #: Samples the machine measured that never arrived, and lines that made no sense.
        self.samples_missing = 0
        self.bad_lines = 0
        self._partial = b""
        self._next_index: int | None = None

    def encode(self, seq: int, command: str, argument: Any = None) -> bytes:
        """``<tag> <command>\\n``; the amplitude rounded down to the machine's 0.1 µA."""
        if command == "waveform":
            wave: Waveform = argument
            text = (
                f"WAVE {wave.shape.value} {wave.frequency_hz:.6g} {wave.polarity.value} "
                f"{wave.reversal_interval_s:.6g}"
            )
        elif command == "amplitude":
            text = f"AMP {math.floor(float(argument) * 10 + 1e-6) / 10:.1f}"
        else:
            text = COMMANDS[command]
        return f"{seq} {text}\n".encode("ascii")

    def decode(self, data: bytes) -> Iterator[Message]:
        """Each complete line as a message; a line that makes no sense is counted."""
        *lines, self._partial = (self._partial + data).split(b"\n")
        if len(self._partial) > MAX_PARTIAL_LINE:
            self._partial = b""
        for raw in lines:
            try:
                message = self._message(raw.decode("ascii", "replace").strip())
            except (ValueError, IndexError):
                self.bad_lines += 1  # noise on the line: count it, keep reading
                continue
            if message is not None:
                yield message

    def _message(self, line: str) -> Message | None:
        kind, _, rest = line.partition(" ")
        if kind == "D":
            return self._samples(rest)
        if kind == "S":
            machine_us, output, codes = rest.split()
            faults = tuple(
                MACHINE_FAULTS.get(code, f"machine fault {code}")
                for code in codes.split(",")
                if code != "-"
            )
            return Heartbeat(int(machine_us), output == "1", faults)
        if kind == "HELLO":
            words = rest.split()
            speeds = [float(word[6:]) for word in words if word.startswith("speed=")]
            return Hello("EMULATOR" in words, speeds[0] if speeds else None)
        if kind.isdigit():
            verdict, _, value = rest.partition(" ")
            if verdict == "OK":
                return Answer(int(kind), True, value or None)
            return Answer(int(kind), False, error=value or verdict)
        if line:
            raise ValueError(f"unknown line {line[:40]!r}")
        return None

    def _samples(self, text: str) -> Samples:
        first, _, values_text = text.partition(" ")
        values = np.array(values_text.split(), dtype=np.float64)
        if len(values) == 0 or len(values) % 2:
            raise ValueError("a sample line needs current and voltage pairs")
        index = int(first) + np.arange(len(values) // 2)
        if self._next_index is not None and index[0] > self._next_index:
            self.samples_missing += int(index[0] - self._next_index)
        self._next_index = int(index[-1]) + 1
        machine_us = np.round(index * (1e6 / self.capabilities.sample_rate_hz)).astype(np.int64)
        return Samples(machine_us, values[0::2], values[1::2])

    def parse_identity(self, value: str | bytes) -> DeviceIdentity:
        """``ACME-S2 <serial> <firmware>``."""
        words = str(value).split()
        if len(words) != 3 or words[0] != "ACME-S2":
            raise DriverError(f"this is not an Acme S2 (it says {value!r})")
        return DeviceIdentity(model="Acme S2", serial=words[1], firmware=words[2])

    def parse_capabilities(self, value: str | bytes) -> Capabilities:
        """``I=10,600,10 F=0.5,200 W=square,... P=... R=500 V=12``."""
        fields = dict(word.split("=", 1) for word in str(value).split())
        i_min, i_max, i_step = (float(v) for v in fields["I"].split(","))
        f_min, f_max = (float(v) for v in fields["F"].split(","))
        known_shapes = {shape.value for shape in WaveShape}
        return Capabilities(
            channels=1,
            current_ua=(i_min, i_max),
            current_step_ua=i_step,
            frequency_hz=(f_min, f_max),
            # A shape the console does not know is one it never asks for.
            waveforms=frozenset(WaveShape(w) for w in fields["W"].split(",") if w in known_shapes),
            polarities=frozenset(Polarity(p) for p in fields["P"].split(",")),
            sample_rate_hz=float(fields["R"]),
            compliance_v=float(fields["V"]),
        )
