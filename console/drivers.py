"""The driver interface every machine adapter implements, and the capability data the core checks.

A driver plugin registers :class:`DriverInfo` objects (see ``hookspecs.register_drivers``). The
engine only ever talks to a machine through :class:`Driver`; capabilities are data, checked by the
core *before* anything is sent (:func:`capability_problems`), and clamped to the hard limits so
that a plugin that over-promises cannot widen them (:meth:`Capabilities.clamped`).

Threading contract (what the engine relies on):

* The engine thread calls every method except :meth:`Driver.stop_output`.
* :meth:`Driver.stop_output` may be called from *any* thread at any time (emergency stop, watchdog);
  it must be idempotent, must not block on the engine thread, and should return within a few ms.
* :meth:`Driver.read_samples` and :meth:`Driver.status` never block: they return what has arrived.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from console.problems import ProblemKind, RuleProblem
from console.waveforms import (
    CURRENT_STEP_UA,
    HARD_MAX_CURRENT_UA,
    HARD_MAX_FREQUENCY_HZ,
    HARD_MIN_FREQUENCY_HZ,
    Polarity,
    Waveform,
    WaveShape,
)


class Transport(enum.StrEnum):
    """How the console reaches a machine."""

    SIMULATED = "simulated"
    SERIAL = "serial"
    USB = "usb"
    NETWORK = "network"


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a machine can do, as it states it. The core never sends a setting outside this."""

    channels: int
    current_ua: tuple[float, float]
    current_step_ua: float
    frequency_hz: tuple[float, float]
    waveforms: frozenset[WaveShape]
    polarities: frozenset[Polarity]
    sample_rate_hz: float
    compliance_v: float
    #: Fixed frequency choices of the machine; empty means any value in ``frequency_hz``.
    frequency_choices_hz: tuple[float, ...] = ()

    def clamped(self) -> Capabilities:
        """These capabilities narrowed to the hard limits (a plugin cannot widen them)."""
        low, high = self.current_ua
        f_low, f_high = self.frequency_hz
        return replace(
            self,
            current_ua=(max(0.0, low), min(high, HARD_MAX_CURRENT_UA)),
            current_step_ua=max(self.current_step_ua, 1.0),
            frequency_hz=(max(f_low, HARD_MIN_FREQUENCY_HZ), min(f_high, HARD_MAX_FREQUENCY_HZ)),
            frequency_choices_hz=tuple(
                f
                for f in self.frequency_choices_hz
                if HARD_MIN_FREQUENCY_HZ <= f <= HARD_MAX_FREQUENCY_HZ
            ),
        )

    def describe(self) -> str:
        """One line: ``10–600 µA, 0.1–1000 Hz, square/sine/..., 2000 S/s``."""
        shapes = "/".join(sorted(shape.value for shape in self.waveforms))
        return (
            f"{self.current_ua[0]:g}–{self.current_ua[1]:g} µA in {self.current_step_ua:g} µA steps, "
            f"{self.frequency_hz[0]:g}–{self.frequency_hz[1]:g} Hz, {shapes}, "
            f"{self.sample_rate_hz:g} S/s, {self.compliance_v:g} V compliance"
        )


def capability_problems(waveform: Waveform, caps: Capabilities) -> list[RuleProblem]:
    """Every reason ``waveform`` may not be sent to a machine with ``caps`` (hard limits first)."""
    found = list(waveform.problems())
    caps = caps.clamped()

    def machine(sentence: str, field: str) -> None:
        found.append(RuleProblem(sentence, fields=(field,), kind=ProblemKind.MACHINE))

    low, high = caps.current_ua
    if not low <= waveform.current_ua <= high:
        machine(
            f"current {waveform.current_ua:g} µA is outside the machine's {low:g}–{high:g} µA",
            "current_ua",
        )
    f_low, f_high = caps.frequency_hz
    if caps.frequency_choices_hz:
        if not any(abs(waveform.frequency_hz - f) < 1e-9 for f in caps.frequency_choices_hz):
            choices = ", ".join(f"{f:g}" for f in caps.frequency_choices_hz)
            machine(
                f"frequency {waveform.frequency_hz:g} Hz is not one of the machine's ({choices} Hz)",
                "frequency_hz",
            )
    elif not f_low <= waveform.frequency_hz <= f_high:
        machine(
            f"frequency {waveform.frequency_hz:g} Hz is outside the machine's {f_low:g}–{f_high:g} Hz",
            "frequency_hz",
        )
    if waveform.shape not in caps.waveforms:
        machine(f"the machine has no {waveform.shape.value} waveform", "shape")
    if waveform.polarity not in caps.polarities:
        machine(f"the machine cannot do {waveform.polarity.value} polarity", "polarity")
    # The machine's resolution may be coarser than the protocol's; the core never rounds up.
    step = max(caps.current_step_ua, CURRENT_STEP_UA)
    if abs(waveform.current_ua / step - round(waveform.current_ua / step)) > 1e-9:
        machine(
            f"current {waveform.current_ua:g} µA is not a multiple of the machine's {step:g} µA step",
            "current_ua",
        )
    return found


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """Who the machine says it is."""

    model: str
    serial: str
    firmware: str

    def describe(self) -> str:
        """``Model (serial S, firmware F)``."""
        return f"{self.model} (serial {self.serial}, firmware {self.firmware})"


@dataclass(frozen=True, slots=True)
class SampleBlock:
    """Consecutive measurements: time on the console's clock (s), current (µA), load voltage (V)."""

    t: np.ndarray
    current_ua: np.ndarray
    voltage_v: np.ndarray

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @staticmethod
    def empty() -> SampleBlock:
        """A block with no samples."""
        nothing = np.empty(0, dtype=np.float64)
        return SampleBlock(nothing, nothing, nothing)

    @staticmethod
    def joined(blocks: list[SampleBlock]) -> SampleBlock:
        """Consecutive blocks as one (no copy for a single block)."""
        if not blocks:
            return SampleBlock.empty()
        if len(blocks) == 1:
            return blocks[0]
        return SampleBlock(
            np.concatenate([b.t for b in blocks]),
            np.concatenate([b.current_ua for b in blocks]),
            np.concatenate([b.voltage_v for b in blocks]),
        )


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """The machine's own account of itself, as of its last heartbeat."""

    last_heard_s: float  #: console-clock time of the last heartbeat or sample
    output_on: bool
    faults: tuple[str, ...] = ()  #: fault flags the machine raised (e.g. ``over-current trip``)
    #: Console-clock time up to which the driver has read and decoded everything the machine
    #: sent (its reader was caught up then); ``None``: up to now. A driver whose reader thread
    #: falls behind (a busy computer) reports it, so the console does not take its own delay
    #: for a silent machine: the engine judges silence up to here and the delay on its own.
    listened_s: float | None = None


class DriverError(RuntimeError):
    """A driver could not do what it was asked; the message is shown to the operator."""


class Driver(abc.ABC):
    """A connection to one stimulator. Implementations adapt a vendor's machine.

    Lifecycle: ``open()`` → ``identify()`` → (``configure()`` → ``start_output()`` →
    ``set_amplitude()``... → ``stop_output()``)* → ``close()``. The engine ramps the amplitude
    itself, in small increments, so a driver only applies the setpoint it is given.
    """

    #: Stated capabilities. The engine checks every setting against these before sending it.
    capabilities: Capabilities

    @abc.abstractmethod
    def open(self) -> None:
        """Connect to the machine (and wait for it to be ready). Raises :class:`DriverError`."""

    @abc.abstractmethod
    def close(self) -> None:
        """Turn the output off if it is on, and release the connection. Idempotent."""

    @abc.abstractmethod
    def identify(self) -> DeviceIdentity:
        """Model, serial number and firmware version, as the machine reports them."""

    @abc.abstractmethod
    def configure(self, waveform: Waveform) -> None:
        """Set shape, frequency, polarity and reversal interval. Does not change the amplitude.

        The waveform's cycle (pulses and polarity reversals) starts anew here: the engine counts
        its reversal markers from the last ``configure``.
        """

    @abc.abstractmethod
    def set_amplitude(self, current_ua: float) -> None:
        """Set the peak current now (no ramp of its own); the engine sends a rising sequence.

        Return once the machine has taken the setting (its acknowledgement), not merely once it
        was sent: the engine judges the samples measured after this call returns against the
        new setting, and those before it against the old one as well.
        """

    @abc.abstractmethod
    def start_output(self) -> None:
        """Turn the output on at the current amplitude (the engine sets 0 µA first)."""

    @abc.abstractmethod
    def stop_output(self) -> None:
        """Turn the output off *now*. Thread-safe, idempotent, fast; never raises for 'already off'."""

    @abc.abstractmethod
    def read_samples(self) -> SampleBlock:
        """Every measurement since the previous call, oldest first; never blocks."""

    @abc.abstractmethod
    def status(self) -> DeviceStatus:
        """The latest heartbeat: when the machine was last heard from, output state, fault flags."""

    def next_scheduled_change_s(self) -> float | None:
        """Clock time of the next change the machine will make by itself, ``None`` if none.

        Only a machine on simulated time (the simulated machine) can know this: its scheduled
        faults. When the clock runs unpaced (``--speed max``) the engine reads long blocks while
        a step holds steady, and never one that spans such a change, so the treatment is the
        same as at any pace. The default, ``0.0`` (a time already past), means "unknown": the
        engine keeps its normal tick. A driver of a real machine need not override it.
        """
        return 0.0


@dataclass(frozen=True, slots=True)
class DriverInfo:
    """What a driver plugin registers: metadata plus a factory that makes a :class:`Driver`.

    ``factory(**options)`` receives ``clock`` (a :class:`console.engine.clock.Clock`) and, for
    machines on a port, ``port``; it must accept and ignore options it does not use.
    """

    id: str
    name: str
    vendor: str
    model: str
    transport: Transport
    capabilities: Capabilities
    factory: Callable[..., Driver]
    description: str = ""
    simulated: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
