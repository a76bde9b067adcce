"""Waveform settings with explicit units, and the sample generator every simulated output shares.

Units are in the names: ``current_ua`` is microamperes, ``frequency_hz`` hertz, ``*_s`` seconds.
Nothing here knows about a machine; the hard limits that no machine or plugin may exceed are the
constants below, and :meth:`Waveform.problems` names every way a setting breaks them.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from console.problems import ProblemKind, RuleProblem

#: Microcurrent is by definition under 1 mA (docs/safety.md, rule 1).
HARD_MAX_CURRENT_UA = 1000.0
#: Clinical units adjust current in steps of 10 µA.
CURRENT_STEP_UA = 10.0
#: Lowest and highest frequency a microcurrent protocol may ask for.
HARD_MIN_FREQUENCY_HZ = 0.1
HARD_MAX_FREQUENCY_HZ = 1000.0
#: A ramp slower than this is a mistake in a protocol, not a gentle start.
MAX_RAMP_S = 30.0
#: A ramp faster than this is a step: the engine raises the setpoint once a tick (20 ms, 50 ms
#: faster than real time), so a 1 s ramp is at least 20 rises of at most 5 % of the setting
#: (50 µA at the 1000 µA limit), and practice ramps over 1–2 s so the client never feels the
#: current arrive (docs/safety.md, rule 2).
MIN_RAMP_S = 1.0
#: Polarity reversal faster than this would chop the waveform itself.
MIN_REVERSAL_INTERVAL_S = 0.5
#: Above this, many clients find the current uncomfortable; protocols may go there, but it is flagged.
COMFORT_CURRENT_UA = 500.0


class WaveShape(enum.StrEnum):
    """The pulse shapes clinical microcurrent units offer."""

    SQUARE = "square"  #: monophasic pulse, 50 % duty
    SINE = "sine"  #: half-wave sine pulse in the first half-period
    RAMPED = "ramped"  #: pulse rising linearly over the first half-period
    BIPHASIC = "biphasic"  #: positive half-period then negative half-period (charge-balanced)

    @property
    def mean_abs_factor(self) -> float:
        """Mean of ``|i(t)|`` over one period, as a fraction of the peak current.

        The delivered charge of a step is ``peak current × this factor × time under current``.
        """
        return _MEAN_ABS_FACTOR[self]


_MEAN_ABS_FACTOR = {
    WaveShape.SQUARE: 0.5,
    WaveShape.SINE: 1.0 / math.pi,  # half-wave: (2/π) × 1/2
    WaveShape.RAMPED: 0.25,  # sawtooth over half the period: (1/2) × 1/2
    WaveShape.BIPHASIC: 1.0,
}


class Polarity(enum.StrEnum):
    """Direction of the current; ``ALTERNATING`` reverses every ``reversal_interval_s``."""

    POSITIVE = "positive"
    NEGATIVE = "negative"
    ALTERNATING = "alternating"


@dataclass(frozen=True, slots=True)
class Waveform:
    """What the machine is asked to produce for one step.

    ``current_ua`` is the peak current the step ramps up to; ``ramp_s`` the time from zero to it.
    ``reversal_interval_s`` only matters for alternating polarity.
    """

    shape: WaveShape
    frequency_hz: float
    current_ua: float
    polarity: Polarity = Polarity.ALTERNATING
    reversal_interval_s: float = 2.0
    ramp_s: float = 1.0

    @property
    def pulse_width_s(self) -> float:
        """Width of one pulse: never more than half a period."""
        return 0.5 / self.frequency_hz

    def problems(self) -> list[RuleProblem]:
        """Every way this setting breaks the hard limits, as problems; empty when it is valid."""
        found: list[RuleProblem] = []
        if not _finite(self.current_ua) or self.current_ua <= 0:
            found.append(
                RuleProblem(
                    f"current must be a positive number of µA, got {self.current_ua!r}",
                    fields=("current_ua",),
                )
            )
        elif self.current_ua > HARD_MAX_CURRENT_UA:
            found.append(
                RuleProblem(
                    f"current {self.current_ua:g} µA is above the hard limit of "
                    f"{HARD_MAX_CURRENT_UA:g} µA (microcurrent stays under 1 mA)",
                    fields=("current_ua",),
                    kind=ProblemKind.OVER_LIMIT,
                )
            )
        elif not _is_multiple(self.current_ua, CURRENT_STEP_UA):
            found.append(
                RuleProblem(
                    f"current {self.current_ua:g} µA is not a multiple of {CURRENT_STEP_UA:g} µA",
                    fields=("current_ua",),
                )
            )
        frequency_ok = _finite(self.frequency_hz) and (
            HARD_MIN_FREQUENCY_HZ <= self.frequency_hz <= HARD_MAX_FREQUENCY_HZ
        )
        if not frequency_ok:
            found.append(
                RuleProblem(
                    f"frequency {self.frequency_hz!r} Hz is outside "
                    f"{HARD_MIN_FREQUENCY_HZ:g}–{HARD_MAX_FREQUENCY_HZ:g} Hz",
                    fields=("frequency_hz",),
                    kind=ProblemKind.OVER_LIMIT,
                )
            )
        if not _finite(self.ramp_s) or not (MIN_RAMP_S <= self.ramp_s <= MAX_RAMP_S):
            found.append(
                RuleProblem(
                    f"ramp-up {self.ramp_s!r} s must be {MIN_RAMP_S:g}–{MAX_RAMP_S:g} s "
                    "(current never steps up)",
                    fields=("ramp_s",),
                )
            )
        if self.polarity is Polarity.ALTERNATING:
            if (
                not _finite(self.reversal_interval_s)
                or self.reversal_interval_s < MIN_REVERSAL_INTERVAL_S
            ):
                found.append(
                    RuleProblem(
                        f"polarity reversal interval {self.reversal_interval_s!r} s is shorter "
                        f"than {MIN_REVERSAL_INTERVAL_S:g} s",
                        fields=("reversal_interval_s",),
                    )
                )
            elif frequency_ok and not self.whole_periods_per_phase:
                found.append(self._unbalanced_reversal())
        return found

    @property
    def periods_per_phase(self) -> float:
        """Periods of the pulse between two polarity reversals."""
        return self.reversal_interval_s * self.frequency_hz

    @property
    def whole_periods_per_phase(self) -> bool:
        """True when each polarity phase holds a whole number of periods (the charge balances)."""
        return _is_multiple(self.periods_per_phase, 1.0)

    @property
    def leaves_direct_current(self) -> bool:
        """A monophasic pulse that never reverses: all its charge flows one way."""
        return self.polarity is not Polarity.ALTERNATING and self.shape is not WaveShape.BIPHASIC

    def _unbalanced_reversal(self) -> RuleProblem:
        periods = self.periods_per_phase
        shorter = max(1, math.floor(periods)) / self.frequency_hz
        longer = math.ceil(periods) / self.frequency_hz
        choices = f"{shorter:g} s" if shorter == longer else f"{shorter:g} s or {longer:g} s"
        return RuleProblem(
            f"polarity reversal every {self.reversal_interval_s:g} s holds {periods:g} periods "
            f"of {self.frequency_hz:g} Hz: each phase must hold a whole number of periods, or "
            f"the phases carry unequal charge and leave direct current under the probes "
            f"(reverse every {choices})",
            fields=("reversal_interval_s",),
            kind=ProblemKind.CHARGE_BALANCE,
        )

    def with_current(self, current_ua: float) -> Waveform:
        """The same waveform at another peak current."""
        return replace(self, current_ua=current_ua)

    def describe(self) -> str:
        """One line an operator reads: ``square 0.5 Hz 300 µA alternating/2 s, ramp 1 s``."""
        polarity = (
            f"alternating/{self.reversal_interval_s:g} s"
            if self.polarity is Polarity.ALTERNATING
            else self.polarity.value
        )
        return (
            f"{self.shape.value} {self.frequency_hz:g} Hz {self.current_ua:g} µA "
            f"{polarity}, ramp {self.ramp_s:g} s"
        )


def unit_pulse(shape: WaveShape, phase: np.ndarray) -> np.ndarray:
    """The normalised pulse of ``shape`` at ``phase`` (fraction of a period, any real numbers).

    Returns values in [-1, 1]; monophasic shapes are zero in the second half of each period.
    Vectorised: one call makes a whole block of samples.
    """
    frac = phase - np.floor(phase)
    first_half = frac < 0.5
    if shape is WaveShape.SQUARE:
        return first_half.astype(np.float64)
    if shape is WaveShape.BIPHASIC:
        return np.where(first_half, 1.0, -1.0)
    if shape is WaveShape.SINE:
        return np.where(first_half, np.sin(2.0 * np.pi * frac), 0.0)
    if shape is WaveShape.RAMPED:
        return np.where(first_half, 2.0 * frac, 0.0)
    raise ValueError(f"unknown wave shape {shape!r}")


def sampled_pulse(shape: WaveShape, phase: np.ndarray, phase_step: float) -> np.ndarray:
    """What a sampling front end measures: the pulse averaged over each sample interval.

    Each value is the mean of :func:`unit_pulse` over ``[phase - phase_step, phase]`` — an
    integrating converter — so the sum of samples is the exact charge even when a period spans
    only a few samples (160 Hz at 2 kS/s is 12.5 samples a period; point samples of a square wave
    there would be biased by 4 %). Biphasic pulses are |1| everywhere, so point samples are exact
    for their charge, and averaging across the polarity edge would cancel it: they stay points.
    """
    if shape is WaveShape.BIPHASIC or phase_step <= 0:
        return unit_pulse(shape, phase)
    antiderivative = _PULSE_ANTIDERIVATIVE[shape]
    return (antiderivative(phase) - antiderivative(phase - phase_step)) / phase_step


def _square_integral(phase: np.ndarray) -> np.ndarray:
    whole = np.floor(phase)
    return 0.5 * whole + np.minimum(phase - whole, 0.5)


def _sine_integral(phase: np.ndarray) -> np.ndarray:
    whole = np.floor(phase)
    part = np.minimum(phase - whole, 0.5)
    return whole / np.pi + (1.0 - np.cos(2.0 * np.pi * part)) / (2.0 * np.pi)


def _ramped_integral(phase: np.ndarray) -> np.ndarray:
    whole = np.floor(phase)
    part = np.minimum(phase - whole, 0.5)
    return 0.25 * whole + part * part


def _biphasic_signed_integral(phase: np.ndarray) -> np.ndarray:
    part = phase - np.floor(phase)  # each whole period nets zero
    return np.minimum(part, 0.5) - np.maximum(part - 0.5, 0.0)


def _biphasic_abs_integral(phase: np.ndarray) -> np.ndarray:
    return np.asarray(phase, dtype=np.float64)


_PULSE_ANTIDERIVATIVE = {
    WaveShape.SQUARE: _square_integral,
    WaveShape.SINE: _sine_integral,
    WaveShape.RAMPED: _ramped_integral,
}


def pulse_antiderivative(shape: WaveShape, signed: bool) -> Callable[[np.ndarray], np.ndarray]:
    """∫ pulse dφ from phase 0 (in periods) of the unit pulse of ``shape``: ``signed`` integrates
    the pulse itself, else its magnitude. Monophasic pulses are never negative: both agree."""
    if shape is WaveShape.BIPHASIC:
        return _biphasic_signed_integral if signed else _biphasic_abs_integral
    return _PULSE_ANTIDERIVATIVE[shape]


def polarity_sign(polarity: Polarity, reversal_interval_s: float, t: np.ndarray) -> np.ndarray:
    """+1 / -1 for each time in ``t`` (seconds since output started)."""
    if polarity is Polarity.POSITIVE:
        return np.ones_like(t)
    if polarity is Polarity.NEGATIVE:
        return -np.ones_like(t)
    reversals = np.floor(t / reversal_interval_s)
    return 1.0 - 2.0 * np.mod(reversals, 2.0)


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _is_multiple(value: float, step: float) -> bool:
    """True for a whole, non-zero number of ``step`` (float noise of a few ulps forgiven)."""
    count = round(value / step)
    return count >= 1 and abs(value / step - count) < 1e-9
