"""Waveform settings and the shared pulse generator (``console/waveforms.py``).

The hard limits are checked against an oracle written here from the written rules (not from the
code): a positive multiple of 10 µA up to 1000 µA, 0.1–1000 Hz, a ramp in (0, 30] s and, for
alternating polarity only, at least 0.5 s between reversals. The pulse generator is checked for
its range, its monophasic half-periods, charge balance of the biphasic shape and the charge
factor every planned dose relies on.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from console.problems import ProblemKind
from console.waveforms import (
    Polarity,
    Waveform,
    WaveShape,
    polarity_sign,
    sampled_pulse,
    unit_pulse,
)

FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)

MONOPHASIC = [WaveShape.SQUARE, WaveShape.SINE, WaveShape.RAMPED]
NON_FINITE = [math.nan, math.inf, -math.inf]

shapes = st.sampled_from(list(WaveShape))
polarities = st.sampled_from(list(Polarity))
# Any finite phase a long session can reach, including negative ones.
finite_phases = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
phase_arrays = st.lists(finite_phases, min_size=1, max_size=50).map(np.array)


def _valid(**overrides: object) -> Waveform:
    """A valid waveform (square 0.5 Hz 300 µA alternating every 2 s, 1 s ramp) with overrides."""
    fields: dict[str, object] = {
        "shape": WaveShape.SQUARE,
        "frequency_hz": 0.5,
        "current_ua": 300.0,
        "polarity": Polarity.ALTERNATING,
        "reversal_interval_s": 2.0,
        "ramp_s": 1.0,
    }
    fields.update(overrides)
    return Waveform(**fields)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Oracle for Waveform.problems(), written from the rules with exact arithmetic.


def _is_real(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _distance_to_multiple_of_10(value: float) -> Fraction:
    exact = Fraction(value)
    nearest = round(exact / 10) * 10
    return abs(exact - nearest)


def _oracle_current_ok(current: float) -> bool:
    if not _is_real(current) or current <= 0 or current > 1000:
        return False
    return _distance_to_multiple_of_10(current) == 0


def _oracle_is_valid(wf: Waveform) -> bool:
    current_ok = _oracle_current_ok(wf.current_ua)
    frequency_ok = _is_real(wf.frequency_hz) and 0.1 <= wf.frequency_hz <= 1000
    ramp_ok = _is_real(wf.ramp_s) and 1 <= wf.ramp_s <= 30
    reversal_ok = wf.polarity is not Polarity.ALTERNATING or (
        _is_real(wf.reversal_interval_s)
        and wf.reversal_interval_s >= 0.5
        # each polarity phase holds a whole number of periods (else the charge does not balance)
        and (not frequency_ok or _periods_off_whole(wf) < 1e-6)
    )
    return current_ok and frequency_ok and ramp_ok and reversal_ok


def _periods_off_whole(wf: Waveform) -> float:
    """How far the periods in one polarity phase are from a whole number of at least one."""
    periods = wf.reversal_interval_s * wf.frequency_hz
    return abs(periods - max(1, round(periods)))


def _in_period_grey_band(wf: Waveform) -> bool:
    """Periods per phase a float rounding away from whole: the code's tolerance is 1e-9."""
    if not (_is_real(wf.reversal_interval_s) and _is_real(wf.frequency_hz)):
        return False
    return 1e-12 < _periods_off_whole(wf) < 1e-6


def _in_grey_band(current: float) -> bool:
    """Within a float rounding error of a multiple of 10 µA, but not on it.

    The code accepts currents a float rounding away from a multiple (``0.1 * 3 * 100``); the exact
    oracle does not. Both readings are defensible there, so the property skips that band (and the
    separate test ``test_a_nanoampere_is_not_a_multiple_of_10_ua`` covers its worst case).
    """
    if not _is_real(current):
        return False
    distance = _distance_to_multiple_of_10(current)
    return 0 < distance < Fraction(1, 10**6)


currents = st.one_of(
    st.integers(min_value=-5, max_value=110).map(lambda k: 10.0 * k),  # on the 10 µA grid
    st.floats(min_value=-50, max_value=1100, allow_nan=False),  # anywhere, mostly off the grid
    st.sampled_from([0.0, -0.0, 10.0, 1000.0, 1010.0, 995.0, 5.0]),
    st.sampled_from(NON_FINITE),
)
frequencies = st.one_of(
    st.floats(min_value=0.0, max_value=1200.0),
    st.sampled_from([0.1, 1000.0, 0.0999, 1000.001, -1.0]),
    st.sampled_from(NON_FINITE),
)
ramps = st.one_of(
    st.floats(min_value=-1.0, max_value=35.0),
    st.sampled_from([0.0, 30.0, 30.0001, 1e-9]),
    st.sampled_from(NON_FINITE),
)
reversals = st.one_of(
    st.floats(min_value=-1.0, max_value=10.0),
    st.sampled_from([0.5, 0.4999, 0.0]),
    st.sampled_from(NON_FINITE),
)


@FAST
@given(
    shape=shapes,
    frequency=frequencies,
    current=currents,
    polarity=polarities,
    reversal=reversals,
    ramp=ramps,
)
@example(WaveShape.SQUARE, 0.1, 10.0, Polarity.ALTERNATING, 10.0, 30.0)  # lowest limits, inclusive
@example(WaveShape.SQUARE, 2.0, 1000.0, Polarity.ALTERNATING, 0.5, 1.0)  # shortest reversal, ramp
@example(WaveShape.SQUARE, 0.5, 300.0, Polarity.ALTERNATING, 3.0, 2.0)  # 1.5 periods a phase
@example(WaveShape.SQUARE, 1000.0, 1000.0, Polarity.POSITIVE, 0.1, 1e-6)
@example(WaveShape.SINE, 40.0, 150.0, Polarity.NEGATIVE, math.nan, 1.0)  # unused reversal
@example(WaveShape.BIPHASIC, 10.0, 100.0, Polarity.ALTERNATING, 0.4999, 1.0)
def test_problems_empty_exactly_when_within_the_hard_limits(
    shape: WaveShape,
    frequency: float,
    current: float,
    polarity: Polarity,
    reversal: float,
    ramp: float,
) -> None:
    assume(not _in_grey_band(current))
    wf = Waveform(shape, frequency, current, polarity, reversal, ramp)
    assume(not _in_period_grey_band(wf))
    problems = wf.problems()
    assert (problems == []) == _oracle_is_valid(wf), problems
    assert all(isinstance(p, str) and p for p in problems)


@pytest.mark.parametrize(
    ("field", "bad", "word"),
    [
        ("current_ua", 0.0, "current"),
        ("current_ua", -10.0, "current"),
        ("current_ua", 1010.0, "current"),
        ("current_ua", 305.0, "current"),
        ("frequency_hz", 0.05, "frequency"),
        ("frequency_hz", 1500.0, "frequency"),
        ("ramp_s", 0.0, "ramp"),
        ("ramp_s", 0.5, "ramp"),
        ("ramp_s", 31.0, "ramp"),
        ("reversal_interval_s", 0.25, "polarity reversal"),
        ("reversal_interval_s", 3.0, "polarity reversal"),
    ],
)
def test_each_broken_limit_is_named(field: str, bad: float, word: str) -> None:
    problems = _valid(**{field: bad}).problems()
    assert len(problems) == 1, problems
    assert problems[0].startswith(word)
    assert f"{bad:g}" in problems[0]  # the offending value is quoted


@pytest.mark.parametrize(
    ("field", "inside", "outside", "base"),
    [
        ("current_ua", 1000.0, 1010.0, {}),
        ("current_ua", 10.0, 0.0, {}),
        ("frequency_hz", 0.1, 0.0999, {"polarity": Polarity.POSITIVE}),
        ("frequency_hz", 1000.0, 1000.001, {"polarity": Polarity.POSITIVE}),
        ("ramp_s", 30.0, 30.0001, {}),
        ("ramp_s", 1.0, 0.999, {}),
        ("reversal_interval_s", 0.5, 0.4999, {"frequency_hz": 2.0}),
        ("reversal_interval_s", 4.0, 4.1, {}),  # two whole periods of 0.5 Hz; 2.05 is not
    ],
)
def test_limits_are_inclusive_and_exact(
    field: str, inside: float, outside: float, base: dict[str, object]
) -> None:
    assert _valid(**base, **{field: inside}).problems() == []
    assert len(_valid(**base, **{field: outside}).problems()) == 1


def test_a_phase_of_one_and_a_half_periods_is_refused_with_the_balanced_choices() -> None:
    (problem,) = _valid(frequency_hz=0.5, reversal_interval_s=3.0).problems()
    assert problem.kind is ProblemKind.CHARGE_BALANCE
    assert problem.fields == ("reversal_interval_s",)
    assert "1.5 periods of 0.5 Hz" in problem
    assert problem.endswith("(reverse every 2 s or 4 s)")
    # Fixed polarity never reverses: its interval is not used, whatever it is.
    assert _valid(polarity=Polarity.POSITIVE, reversal_interval_s=3.0).problems() == []


@pytest.mark.parametrize("bad", NON_FINITE, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize(
    ("field", "word"),
    [
        ("current_ua", "current"),
        ("frequency_hz", "frequency"),
        ("ramp_s", "ramp"),
        ("reversal_interval_s", "polarity reversal"),
    ],
)
def test_non_finite_values_are_reported_not_accepted(field: str, word: str, bad: float) -> None:
    problems = _valid(**{field: bad}).problems()
    assert len(problems) == 1, problems
    assert problems[0].startswith(word)
    assert repr(bad) in problems[0]


def test_every_problem_is_listed_at_once() -> None:
    wf = _valid(current_ua=math.nan, frequency_hz=0.0, ramp_s=-1.0, reversal_interval_s=0.1)
    problems = wf.problems()
    assert len(problems) == 4
    for word in ("current", "frequency", "ramp", "polarity reversal"):
        assert sum(p.startswith(word) for p in problems) == 1, (word, problems)


def test_current_that_is_a_bool_or_a_string_is_not_accepted() -> None:
    assert _valid(current_ua="300").problems()  # type: ignore[arg-type]
    assert _valid(current_ua=True).problems()  # True == 1, not a multiple of 10 µA


def test_reversal_interval_is_ignored_unless_polarity_alternates() -> None:
    for polarity in (Polarity.POSITIVE, Polarity.NEGATIVE):
        assert _valid(polarity=polarity, reversal_interval_s=0.0).problems() == []
    assert _valid(polarity=Polarity.ALTERNATING, reversal_interval_s=0.0).problems() != []


def test_a_nanoampere_is_not_a_multiple_of_10_ua() -> None:
    assert _valid(current_ua=1e-9).problems() != []


# ---------------------------------------------------------------------------------------------
# Charge factors, describe(), with_current(), pulse width.


@pytest.mark.parametrize(
    ("shape", "factor"),
    [
        (WaveShape.SQUARE, 0.5),
        (WaveShape.SINE, 1 / math.pi),
        (WaveShape.RAMPED, 0.25),
        (WaveShape.BIPHASIC, 1.0),
    ],
)
def test_mean_abs_factor_values(shape: WaveShape, factor: float) -> None:
    assert shape.mean_abs_factor == pytest.approx(factor, rel=1e-12)


@pytest.mark.parametrize("shape", list(WaveShape))
def test_mean_abs_factor_matches_a_numerical_integral_of_the_pulse(shape: WaveShape) -> None:
    samples = 200_000
    midpoints = (np.arange(samples) + 0.5) / samples  # one period, midpoint rule
    numerical = float(np.mean(np.abs(unit_pulse(shape, midpoints))))
    assert numerical == pytest.approx(shape.mean_abs_factor, abs=1e-5)


def test_describe_alternating() -> None:
    assert _valid().describe() == "square 0.5 Hz 300 µA alternating/2 s, ramp 1 s"


def test_describe_fixed_polarity_leaves_out_the_reversal_interval() -> None:
    wf = Waveform(WaveShape.SINE, 40.0, 150.0, Polarity.NEGATIVE, 4.0, 2.5)
    assert wf.describe() == "sine 40 Hz 150 µA negative, ramp 2.5 s"


def test_with_current_changes_only_the_current() -> None:
    original = Waveform(WaveShape.RAMPED, 10.0, 200.0, Polarity.POSITIVE, 3.0, 2.0)
    changed = original.with_current(450.0)
    assert changed.current_ua == 450.0
    assert original.current_ua == 200.0  # frozen: the original is untouched
    assert (changed.shape, changed.frequency_hz, changed.polarity) == (
        WaveShape.RAMPED,
        10.0,
        Polarity.POSITIVE,
    )
    assert (changed.reversal_interval_s, changed.ramp_s) == (3.0, 2.0)


def test_pulse_width_is_half_a_period() -> None:
    assert _valid(frequency_hz=0.5).pulse_width_s == pytest.approx(1.0)
    assert _valid(frequency_hz=40.0).pulse_width_s == pytest.approx(0.0125)


# ---------------------------------------------------------------------------------------------
# unit_pulse


@pytest.mark.parametrize(
    ("shape", "phases", "expected"),
    [
        (WaveShape.SQUARE, [0.0, 0.25, 0.49, 0.5, 0.75, 1.0, -0.25], [1, 1, 1, 0, 0, 1, 0]),
        (WaveShape.BIPHASIC, [0.0, 0.25, 0.5, 0.75, 1.25, -0.25], [1, 1, -1, -1, 1, -1]),
        (WaveShape.SINE, [0.0, 0.25, 0.75, 1.25], [0, 1, 0, 1]),
        (WaveShape.RAMPED, [0.0, 0.125, 0.25, 0.75, 2.125], [0, 0.25, 0.5, 0, 0.25]),
    ],
)
def test_unit_pulse_known_values(
    shape: WaveShape, phases: list[float], expected: list[float]
) -> None:
    np.testing.assert_allclose(unit_pulse(shape, np.array(phases)), expected, atol=1e-12)


def test_unit_pulse_rejects_an_unknown_shape() -> None:
    with pytest.raises(ValueError, match="unknown wave shape"):
        unit_pulse("triangle", np.array([0.1]))  # type: ignore[arg-type]


@FAST
@given(shape=shapes, phase=phase_arrays)
def test_unit_pulse_stays_within_minus_one_and_one(shape: WaveShape, phase: np.ndarray) -> None:
    values = unit_pulse(shape, phase)
    assert values.shape == phase.shape
    assert np.all(np.isfinite(values))
    assert np.all((values >= -1.0) & (values <= 1.0))


@FAST
@given(
    shape=st.sampled_from(MONOPHASIC),
    period=st.integers(min_value=-10_000, max_value=10_000),
    fractions_=st.lists(st.floats(min_value=0.5, max_value=0.999), min_size=1, max_size=20),
)
def test_monophasic_shapes_are_zero_in_the_second_half_period(
    shape: WaveShape, period: int, fractions_: list[float]
) -> None:
    phase = period + np.array(fractions_)
    np.testing.assert_array_equal(unit_pulse(shape, phase), 0.0)


@FAST
@given(shape=st.sampled_from(MONOPHASIC), phase=phase_arrays)
def test_monophasic_shapes_are_never_negative(shape: WaveShape, phase: np.ndarray) -> None:
    assert np.all(unit_pulse(shape, phase) >= 0.0)


@FAST
@given(
    shape=st.sampled_from(MONOPHASIC),
    period=st.integers(min_value=-10_000, max_value=10_000),
    fractions_=st.lists(st.floats(min_value=0.01, max_value=0.49), min_size=1, max_size=20),
)
def test_monophasic_shapes_are_positive_in_the_first_half_period(
    shape: WaveShape, period: int, fractions_: list[float]
) -> None:
    phase = period + np.array(fractions_)
    assert np.all(unit_pulse(shape, phase) > 0.0)


@FAST
@given(
    periods=st.integers(min_value=1, max_value=50),
    samples_per_period=st.integers(min_value=50, max_value=400).map(lambda n: 2 * n),
    offset=st.floats(min_value=-100.0, max_value=100.0),
)
def test_biphasic_integrates_to_zero_over_whole_periods(
    periods: int, samples_per_period: int, offset: float
) -> None:
    n = periods * samples_per_period
    phase = offset + (np.arange(n) + 0.5) / samples_per_period
    values = unit_pulse(WaveShape.BIPHASIC, phase)
    # Exactly half the samples of each period are +1; a float rounding at a half-period edge may
    # move at most a couple of samples a period.
    assert abs(float(np.mean(values))) <= 2.0 / samples_per_period
    # ... while its charge magnitude is the full peak (mean |i| = 1).
    assert float(np.mean(np.abs(values))) == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------------
# sampled_pulse


@FAST
@given(
    shape=shapes,
    periods=st.integers(min_value=20, max_value=200),
    samples_per_period=st.floats(min_value=2.0, max_value=300.0),
    offset=st.floats(min_value=-50.0, max_value=50.0),
)
def test_mean_abs_of_sampled_pulse_matches_mean_abs_factor(
    shape: WaveShape, periods: int, samples_per_period: float, offset: float
) -> None:
    n = max(round(periods * samples_per_period), 1)
    phase_step = periods / n  # n samples cover exactly `periods` whole periods
    phase = offset + phase_step * np.arange(1, n + 1)
    values = sampled_pulse(shape, phase, phase_step)
    assert np.all(np.abs(values) <= 1.0 + 1e-9)
    assert float(np.mean(np.abs(values))) == pytest.approx(shape.mean_abs_factor, rel=0.02)


@pytest.mark.parametrize("shape", MONOPHASIC)
def test_sampled_pulse_is_unbiased_where_point_samples_are_not(shape: WaveShape) -> None:
    """160 Hz at 2 kS/s: 12.5 samples a period (the docstring's example)."""
    step = 160.0 / 2000.0
    phase = step * np.arange(1, 2001)  # 160 whole periods
    sampled = float(np.mean(sampled_pulse(shape, phase, step)))
    assert sampled == pytest.approx(shape.mean_abs_factor, rel=1e-9)


@pytest.mark.parametrize("shape", MONOPHASIC)
@given(
    phase=phase_arrays,
    step=st.floats(min_value=1e-3, max_value=0.5),
)
@FAST
def test_sampled_pulse_is_the_mean_of_the_pulse_over_the_interval(
    shape: WaveShape, phase: np.ndarray, step: float
) -> None:
    phase = phase / 1000.0  # keep numerical integration accurate
    sampled = sampled_pulse(shape, phase, step)
    fine = 2000
    offsets = (np.arange(fine) + 0.5) / fine * step  # midpoints inside [phase - step, phase]
    grid = phase[:, None] - step + offsets[None, :]
    numerical = unit_pulse(shape, grid).mean(axis=1)
    np.testing.assert_allclose(sampled, numerical, atol=2e-3)


@pytest.mark.parametrize("shape", list(WaveShape))
def test_sampled_pulse_without_a_step_gives_point_samples(shape: WaveShape) -> None:
    phase = np.linspace(-2.0, 3.0, 37)
    np.testing.assert_array_equal(sampled_pulse(shape, phase, 0.0), unit_pulse(shape, phase))


def test_biphasic_sampled_pulse_stays_point_samples() -> None:
    phase = np.linspace(0.0, 4.0, 41)
    np.testing.assert_array_equal(
        sampled_pulse(WaveShape.BIPHASIC, phase, 0.1), unit_pulse(WaveShape.BIPHASIC, phase)
    )


# ---------------------------------------------------------------------------------------------
# polarity_sign


def test_fixed_polarities_have_a_constant_sign() -> None:
    t = np.linspace(0.0, 100.0, 11)
    np.testing.assert_array_equal(polarity_sign(Polarity.POSITIVE, 2.0, t), 1.0)
    np.testing.assert_array_equal(polarity_sign(Polarity.NEGATIVE, 2.0, t), -1.0)


def test_alternating_polarity_known_values() -> None:
    t = np.array([0.0, 1.9, 2.0, 3.9, 4.0, 6.5])
    np.testing.assert_array_equal(
        polarity_sign(Polarity.ALTERNATING, 2.0, t), [1, 1, -1, -1, 1, -1]
    )


@FAST
@given(
    interval=st.floats(min_value=0.5, max_value=10.0),
    index=st.integers(min_value=0, max_value=5000),
    within=st.floats(min_value=0.01, max_value=0.99),
)
def test_alternating_polarity_starts_positive_and_flips_every_interval(
    interval: float, index: int, within: float
) -> None:
    t = np.array([(index + within) * interval])
    expected = 1.0 if index % 2 == 0 else -1.0
    assert polarity_sign(Polarity.ALTERNATING, interval, t)[0] == expected
