"""The emulated machines' firmware: what a professional stimulator does, whatever its wire protocol.

Both emulators (SCPI text and framed binary) run this one firmware over the simulated machine and
skin, so that the serial drivers are tested against the same physics as the simulated driver.
The wire protocols only translate bytes into :class:`Command` objects and answers back into bytes.

The firmware behaves as the specifications in ``docs/protocols/`` say a machine must:

* it refuses settings outside its capabilities (an answer with a reason, nothing applied);
* it answers a repeated sequence number again without applying the command twice;
* it turns the output off when the console has been silent for 500 ms (its own watchdog);
* it trips on over-current (measured current well above the setting): output off, a fault flag
  that stays until the console turns the output off;
* after a reboot the output is off and the firmware never turns it on by itself.
"""

from __future__ import annotations

import enum
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from console.api import MAX_RAMP_S, Capabilities, Clock, DeviceIdentity, DriverError, Waveform
from device_drivers.machine_faults import FaultFlag
from device_drivers.simulator import SimFault, SimulatedMachine

#: Wall-clock seconds of console silence after which the firmware turns the output off.
CONSOLE_SILENCE_S = 0.5
#: A command repeating the last one (same seq, same content) within this many wall-clock
#: seconds is a retry: answered again, not applied again.
DUPLICATE_WINDOW_S = 1.0
#: Entries the error queue holds; when full, the last becomes "Queue overflow".
ERROR_QUEUE_SIZE = 16
#: Over-current trip: measured above setting × this + the margin, in µA.
TRIP_FACTOR = 1.2
TRIP_MARGIN_UA = 20.0


class Op(enum.StrEnum):
    """What a console command asks, independent of how its protocol spells it."""

    IDENTIFY = "identify"
    CAPABILITIES = "capabilities"
    WAVEFORM = "waveform"
    AMPLITUDE = "amplitude"
    OUTPUT_ON = "output_on"
    OUTPUT_OFF = "output_off"
    KEEPALIVE = "keepalive"
    STREAM_ON = "stream_on"
    STREAM_OFF = "stream_off"
    ERROR_QUERY = "error_query"
    OUTPUT_QUERY = "output_query"
    RAMP = "ramp"


@dataclass(frozen=True, slots=True)
class Command:
    """One decoded console command. ``argument``: a Waveform, a current in µA, or None."""

    seq: int
    op: Op
    argument: Any = None


@dataclass(frozen=True, slots=True)
class Refusal:
    """Input the machine refused whole, before it became a command, in its place among the
    commands: the bytes that answer it (a NACK, an ``ERR`` line; none when nobody can be
    answered) and the error it leaves in the machine's queue, if any (``announced``: also sent
    as an asynchronous error, as an overlong line is)."""

    answer: bytes = b""
    queued_error: tuple[int, str] | None = None
    announced: bool = False


@dataclass(frozen=True, slots=True)
class Reply:
    """The firmware's answer: ``value`` for queries (identity, capabilities, error text)."""

    ok: bool
    value: Any = None
    error_code: int = 0
    error: str = ""


@dataclass(slots=True)
class Telemetry:
    """What the firmware has to report since the last call: samples and its state."""

    first_index: int
    machine_us: np.ndarray
    current_ua: np.ndarray
    voltage_v: np.ndarray
    output_on: bool
    faults: int
    amplitude_ua: float


@dataclass(slots=True)
class _Answered:
    command: Command
    reply: Reply
    at: float  #: wall-clock time of the answer


@dataclass
class Firmware:
    """The state machine of one emulated stimulator over a :class:`SimulatedMachine`."""

    clock: Clock
    model: str
    serial: str
    version: str
    sample_rate_hz: float = 2000.0
    seed: int = 1
    #: The framed machine streams samples from power-on; the SCPI machine waits for MEAS:STR ON.
    streams_from_boot: bool = False
    #: How many of the last commands a retry is recognised among: the SCPI spec's 16 (3.2),
    #: the framed spec's last one only (6: an earlier command resent is a new command).
    repeat_memory: int = 16
    machine: SimulatedMachine = field(init=False)
    #: The error queue (``SYST:ERR?``): what happened on its own, such as a trip. Bounded.
    errors: list[tuple[int, str]] = field(default_factory=list)
    #: The same events, until the wire protocol has announced them (``!ERR``, ERROR frames).
    announcements: list[tuple[int, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self.machine = SimulatedMachine(
            self.clock, sample_rate_hz=self.sample_rate_hz, seed=self.seed
        )
        self.capabilities: Capabilities = self.machine.capabilities
        self.boot()

    # -- life cycle --------------------------------------------------------------------------

    def boot(self) -> None:
        """Power-on (also a reboot): output off, nothing configured, machine time from zero."""
        with self._lock:
            self.boot_s = self.clock.now()  # before open(): every sample is after the boot
            self.machine.close()
            self.machine.forget_settings()  # a reboot keeps no waveform and no set point
            self.machine.open()
            self.streaming = self.streams_from_boot
            self.faults = 0
            self._highest_setting_ua = 0.0
            self._recent: deque[_Answered] = deque(maxlen=self.repeat_memory)
            self._first_index = 0  # samples count from boot, as machine time does
            self._consumed = 0
            self.errors.clear()
            self.announcements.clear()

    def port_opened(self) -> None:
        """A console opened the port (DTR rose, a connection was accepted): as after a reboot
        as far as the output is concerned (off, current 0), but machine time runs on.

        Commands answered to the console before are forgotten: a new console numbers its
        commands from the start again, and one of them is never a retry of the other's.
        """
        with self._lock:
            # Output off, current 0, no waveform: "no waveform set since boot or reconnect"
            # (framed spec 5); the SCPI machine's defaults come back with its hello.
            self.machine.forget_settings()
            self._highest_setting_ua = 0.0
            self._recent.clear()
            # As after a reset: a machine that waits to be asked streams only once asked again.
            self.streaming = self.streams_from_boot

    def default_waveform(self, waveform: Waveform) -> None:
        """Set the machine's default waveform (a machine whose reset state has one)."""
        with self._lock:
            self.machine.configure(waveform)

    def machine_us(self, t: float | np.ndarray) -> Any:
        """Machine time (µs since boot) of console-clock time ``t``."""
        return np.round((np.asarray(t) - self.boot_s) * 1e6).astype(np.int64)

    @property
    def identity(self) -> DeviceIdentity:
        """What ``identify`` answers."""
        return DeviceIdentity(self.model, self.serial, self.version)

    # -- commands ----------------------------------------------------------------------------

    def execute(self, command: Command) -> Reply:
        """Apply one command (once per sequence number) and return the answer to send."""
        with self._lock:
            now = time.monotonic()
            # Several commands may be in flight (the console's keep-alive beside its commands),
            # so a retry is looked up among the recent ones: same seq *and* same content.
            # OUTPUT_OFF is always carried out: doing it twice is harmless, missing it is not.
            if command.op is not Op.OUTPUT_OFF:
                for earlier in self._recent:
                    if earlier.command == command and now - earlier.at <= DUPLICATE_WINDOW_S:
                        return earlier.reply  # a retry: answer again, apply nothing twice
            reply = self._apply(command)
            if command.op is not Op.KEEPALIVE:
                self._recent.append(_Answered(command, reply, now))
            return reply

    def _apply(self, command: Command) -> Reply:
        op, argument = command.op, command.argument
        try:
            if op is Op.IDENTIFY:
                return Reply(True, self.identity)
            if op is Op.CAPABILITIES:
                return Reply(True, self.capabilities)
            if op is Op.KEEPALIVE:
                return Reply(True)
            if op is Op.STREAM_ON or op is Op.STREAM_OFF:
                self.streaming = op is Op.STREAM_ON
                return Reply(True)
            if op is Op.ERROR_QUERY:
                code, text = self.errors.pop(0) if self.errors else (0, "No error")
                return Reply(True, (code, text))
            if op is Op.OUTPUT_QUERY:
                return Reply(True, self.machine.output_on)
            if op is Op.RAMP:
                # The console ramps in software and sends 0; a machine ramp is accepted too.
                if not 0.0 <= float(argument) <= MAX_RAMP_S:
                    return Reply(False, error_code=-222, error=f"ramp {argument:g} s out of range")
                return Reply(True)
            if op is Op.OUTPUT_OFF:
                self.machine.stop_output()
                # The console has seen the trip or the silence: the latches clear.
                self.faults &= ~(FaultFlag.OVER_CURRENT_TRIP | FaultFlag.WATCHDOG)
                return Reply(True)
            if op is Op.WAVEFORM:
                return self._configure(argument)
            if op is Op.AMPLITUDE:
                return self._amplitude(argument)
            if op is Op.OUTPUT_ON:
                if self.faults & FaultFlag.OVER_CURRENT_TRIP:
                    return Reply(
                        False, error_code=301, error="over-current trip: turn output off first"
                    )
                if self.faults & FaultFlag.WATCHDOG:
                    return Reply(
                        False, error_code=303, error="keep-alive timeout: turn output off first"
                    )
                if self.machine.amplitude_ua != 0.0:
                    # The machine enforces "always from zero" itself, whatever the console does.
                    return Reply(
                        False, error_code=-221, error="set the current to 0 before output on"
                    )
                self.machine.start_output()
                return Reply(True)
        except DriverError as error:
            return Reply(False, error_code=-200, error=str(error))
        return Reply(False, error_code=-100, error=f"unknown command {op!r}")

    def _configure(self, waveform: Waveform) -> Reply:
        caps = self.capabilities
        low, high = caps.frequency_hz
        if waveform.shape not in caps.waveforms:
            return Reply(
                False, error_code=-222, error=f"waveform {waveform.shape.value} not available"
            )
        if not low <= waveform.frequency_hz <= high:
            return Reply(
                False, error_code=-222, error=f"frequency {waveform.frequency_hz:g} Hz out of range"
            )
        if waveform.polarity not in caps.polarities:
            return Reply(
                False, error_code=-222, error=f"polarity {waveform.polarity.value} not available"
            )
        self.machine.configure(waveform)
        return Reply(True)

    def _amplitude(self, current_ua: float) -> Reply:
        high = self.capabilities.current_ua[1]
        if not (0.0 <= current_ua <= high):
            return Reply(
                False, error_code=-222, error=f"current {current_ua:g} µA out of range 0–{high:g}"
            )
        self.machine.set_amplitude(current_ua)
        # Samples not yet reported may have been measured at the higher of the two settings.
        self._highest_setting_ua = max(self._highest_setting_ua, current_ua)
        return Reply(True)

    # -- what runs between commands ----------------------------------------------------------

    def console_silent(self) -> bool:
        """The console has not been heard for :data:`CONSOLE_SILENCE_S`: output off and the
        set point 0 (also with the output already off: a set point a silent console left must
        not wait for the next output on). True when this turned the output off just now."""
        with self._lock:
            if self.machine.output_on:
                self.machine.stop_output()
                self.faults |= FaultFlag.WATCHDOG
                self._announce(303, "keep-alive timeout: output turned off")
                return True
            if self.machine.amplitude_ua != 0.0:
                self.machine.stop_output()  # off already; this sets the set point to 0
            return False

    def telemetry(self) -> Telemetry:
        """Samples since the last call, and the state to report; trips on over-current."""
        with self._lock:
            block = self.machine.read_samples()
            amplitude = self.machine.amplitude_ua
            setting, self._highest_setting_ua = self._highest_setting_ua, amplitude
            if len(block) and self.machine.output_on:
                peak = float(np.max(np.abs(block.current_ua)))
                if peak > setting * TRIP_FACTOR + TRIP_MARGIN_UA:
                    self.machine.stop_output()
                    self.faults |= FaultFlag.OVER_CURRENT_TRIP
                    self._announce(301, f"over-current trip: {peak:.0f} µA measured")
            first = self._first_index + self._consumed
            self._consumed += len(block)
            if SimFault.CONTACT_LOSS in self.machine.active_faults:
                self.faults |= FaultFlag.CONTACT_OPEN
            else:
                self.faults &= ~FaultFlag.CONTACT_OPEN
            return Telemetry(
                first_index=first,
                machine_us=self.machine_us(block.t),
                current_ua=block.current_ua,
                voltage_v=block.voltage_v,
                output_on=self.machine.output_on,
                faults=int(self.faults),
                amplitude_ua=amplitude,
            )

    def _announce(self, code: int, text: str) -> None:
        """An event of the machine's own: into the error queue, and out on the wire."""
        self._enqueue(code, text)
        self.announcements.append((code, text))

    def _enqueue(self, code: int, text: str) -> None:
        if len(self.errors) >= ERROR_QUEUE_SIZE:
            self.errors[-1] = (-350, "Queue overflow")  # as SCPI machines report a full queue
        else:
            self.errors.append((code, text))

    def announce(self, code: int, text: str) -> None:
        """An error the wire protocol found (e.g. an overlong line): queued and announced."""
        with self._lock:
            self._announce(code, text)

    def queue_error(self, code: int, text: str) -> None:
        """An error kept in the queue only (``SYST:ERR?``), not announced: e.g. a command line
        whose tag could not be read, which nobody is waiting for an answer to."""
        with self._lock:
            self._enqueue(code, text)

    def forget_errors_and_latches(self) -> None:
        """Empty the error queue and clear the trip and watchdog latches (the output is off):
        the SCPI machine's state after a port open (its spec, section 8.1)."""
        with self._lock:
            self.errors.clear()
            self.announcements.clear()
            self.faults &= ~(FaultFlag.OVER_CURRENT_TRIP | FaultFlag.WATCHDOG)

    def take_announcements(self) -> list[tuple[int, str]]:
        """Events not yet announced on the wire (drained by the wire protocol)."""
        with self._lock:
            out, self.announcements = self.announcements, []
            return out

    def trip_over_current(self) -> None:
        """Fault injection: the measured current jumps above the setting; the firmware trips."""
        self.machine.inject(SimFault.OVER_CURRENT)
