"""Driver checks: one test per promise the console relies on (``console/hookspecs.py``).

Settings at and beyond the capability edges are sent with the output off. The output is only
turned on at up to 400 µA (or the machine's maximum, if lower), always from 0 µA; connect a test
load (a 10 kΩ resistor) across the probes of a real machine.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from console.drivers import Capabilities, DeviceIdentity, Driver, DriverError, SampleBlock
from console.testing.conformance.kit import (
    CLOSE_LIMIT_S,
    LATE_S,
    LIMITS,
    OPEN_LIMIT_S,
    READ_HANG_S,
    READ_LIMIT_S,
    READ_SLOW_SHARE,
    SETTLE_S,
    STOP_LIMIT_S,
    STOP_ROUNDS,
    Bench,
    DriverTarget,
    StreamRun,
    backwards_steps,
    call_bounded,
    ceiling_ua,
    count_pulses,
    describe_probe,
    describe_times,
    fail,
    must,
    overreach,
    probe_waveform,
    rising_levels,
    wider_than,
)
from console.waveforms import (
    HARD_MAX_CURRENT_UA,
    HARD_MAX_FREQUENCY_HZ,
    HARD_MIN_FREQUENCY_HZ,
    Polarity,
    WaveShape,
)

Figure = Callable[[str], None]

HARD_LIMITS = (
    f"current up to {HARD_MAX_CURRENT_UA:g} µA, frequency "
    f"{HARD_MIN_FREQUENCY_HZ:g}–{HARD_MAX_FREQUENCY_HZ:g} Hz"
)


def _accepted(what: str, call: Callable[..., Any], *args: Any) -> str | None:
    """``None`` if the call succeeded, else why a setting within the capabilities was refused."""
    try:
        call_bounded(what, call, *args, limit_s=LIMITS.call_hang_s)
    except DriverError as error:
        return f"{what} was refused ({error})"
    except Exception as error:  # noqa: BLE001 - any exception is the finding
        return f"{what} raised {type(error).__name__}: {error}"
    return None


def _refused(what: str, call: Callable[..., Any], *args: Any) -> str | None:
    """``None`` if the call raised DriverError, else what the driver did instead."""
    try:
        call_bounded(what, call, *args, limit_s=LIMITS.call_hang_s)
    except DriverError:
        return None
    except Exception as error:  # noqa: BLE001 - the wrong exception type is the finding
        return (
            f"{what} raised {type(error).__name__} ({error}), not DriverError: the console shows "
            "a DriverError's sentence to the operator; catch your protocol's errors and raise "
            "DriverError from them"
        )
    return (
        f"{what} was accepted without an error: a setting beyond the machine's capabilities must "
        "be refused with DriverError, never applied or silently capped"
    )


def _collect_until(bench: Bench, driver: Driver, until_s: float, into: list[SampleBlock]) -> None:
    """Read samples into ``into`` until the clock reads ``until_s``."""
    while bench.now() < until_s:
        block = driver.read_samples()
        if len(block):
            into.append(block)
        time.sleep(0.005)
    block = driver.read_samples()
    if len(block):
        into.append(block)


def _start_at(driver: Driver, caps: Capabilities, level_ua: float) -> None:
    """Configure the probe waveform, start at 0 µA and go to ``level_ua``, as the engine does."""
    must("configure()", driver.configure, probe_waveform(caps, level_ua))
    must("set_amplitude(0)", driver.set_amplitude, 0.0)
    must("start_output()", driver.start_output)
    must(f"set_amplitude({level_ua:g})", driver.set_amplitude, level_ua)


# -- connecting and identifying ----------------------------------------------------------------


def test_open_succeeds(bench: Bench, figure: Figure) -> None:
    """``open()`` connects within 10 s (it waits for the machine's hello)."""
    bench.shared()
    if bench.open_s is not None:
        figure(f"open() took {bench.open_s:.2f} s")


def test_identify_reports_model_serial_and_firmware(machine: Driver, figure: Figure) -> None:
    """``identify()`` returns non-empty model, serial and firmware strings."""
    try:
        identity = call_bounded("identify()", machine.identify, limit_s=LIMITS.call_hang_s)
    except Exception as error:  # noqa: BLE001 - any exception is the finding
        fail(f"identify() raised {type(error).__name__}: {error}")
    if not isinstance(identity, DeviceIdentity):
        fail(f"identify() returned {identity!r}, not a console.drivers.DeviceIdentity")
    problems = []
    if not isinstance(identity.model, str) or not identity.model.strip():
        problems.append(
            f"identify() returned an empty model ({identity.model!r}): the console shows the "
            "model when the machine connects and records it with every session; return the "
            "model name as the machine reports it"
        )
    if not isinstance(identity.serial, str) or not identity.serial.strip():
        problems.append(
            f"identify() returned an empty serial number ({identity.serial!r}): the console "
            "records the serial with every session; return the machine's serial as printed on "
            "its label"
        )
    if not isinstance(identity.firmware, str) or not identity.firmware.strip():
        problems.append(
            f"identify() returned an empty firmware version ({identity.firmware!r}): the "
            "console records it with every session so that a fault can be traced to a "
            "firmware release; return the version the machine reports"
        )
    if problems:
        fail("\n".join(problems))
    figure(identity.describe())


# -- capabilities --------------------------------------------------------------------------------


def test_registered_capabilities_are_within_the_hard_limits(driver_target: DriverTarget) -> None:
    """The registration's capabilities need no clamping by the core."""
    info = driver_target.info
    if info is None:
        pytest.skip(
            f"--driver {driver_target.spec} is a bare factory without a registration; give "
            "--driver module:DRIVER_INFO (or install the plugin) to check the DriverInfo too"
        )
    problems = overreach(info.capabilities)
    if problems:
        fail(
            f"the registration of {info.id!r} declares capabilities beyond the hard limits "
            f"({HARD_LIMITS}): {'; '.join(problems)}. The core clamps them (mc-console plugins "
            "reports it), so the console would not offer what your registration says: declare "
            "what the machine really does, within the hard limits"
        )


def test_stated_capabilities_are_within_the_hard_limits(
    caps: Capabilities, driver_target: DriverTarget, figure: Figure
) -> None:
    """After ``open()``, ``driver.capabilities`` need no clamping and are not wider than the
    registration's."""
    figure(caps.describe())
    problems = overreach(caps)
    message = []
    if problems:
        message.append(
            f"after open(), driver.capabilities go beyond the hard limits ({HARD_LIMITS}): "
            f"{'; '.join(problems)}. The core clamps them, so the console would not do what "
            "your driver says: set them to what the connected machine really does"
        )
    if driver_target.info is not None:
        wider = wider_than(caps, driver_target.info.capabilities)
        if wider:
            message.append(
                "the connected machine states capabilities wider than its registration: "
                f"{'; '.join(wider)}. Its own may be narrower than the registration, never "
                "wider: widen the registration or narrow what open() sets"
            )
    if message:
        fail("\n".join(message))


def test_current_edges_are_accepted(machine: Driver, caps: Capabilities) -> None:
    """0 µA (the engine's first setpoint), the minimum and the maximum current are accepted."""
    low, high = caps.clamped().current_ua
    problems = []
    try:
        for current in sorted({0.0, low, high}):
            problem = _accepted(f"set_amplitude({current:g} µA)", machine.set_amplitude, current)
            if problem:
                problems.append(problem)
    finally:
        with contextlib.suppress(Exception):
            machine.set_amplitude(0.0)
    if problems:
        fail(
            "; ".join(problems) + f". The capabilities declare {low:g}–{high:g} µA and the "
            "engine sends 0 µA first, then any setpoint in that range: accept them all, or "
            "declare the range the machine really accepts"
        )


def test_frequency_edges_are_accepted(machine: Driver, caps: Capabilities) -> None:
    """The lowest and highest declared frequency (every choice, for fixed choices) are accepted."""
    clamped = caps.clamped()
    frequencies = clamped.frequency_choices_hz or clamped.frequency_hz
    base = probe_waveform(caps)
    problems = [
        problem
        for frequency in sorted(set(frequencies))
        if (
            problem := _accepted(
                f"configure({frequency:g} Hz)",
                machine.configure,
                replace(base, frequency_hz=frequency),
            )
        )
    ]
    if problems:
        fail(
            "; ".join(problems) + ". Accept every frequency the capabilities declare, or "
            "declare the range (or frequency_choices_hz) the machine really has"
        )


def test_declared_waveforms_are_accepted(machine: Driver, caps: Capabilities) -> None:
    """Every declared waveform shape can be configured."""
    base = probe_waveform(caps)
    problems = [
        problem
        for shape in sorted(caps.waveforms)
        if (
            problem := _accepted(
                f"configure({shape.value})", machine.configure, replace(base, shape=shape)
            )
        )
    ]
    if problems:
        fail(
            "; ".join(problems) + ". Declare in capabilities.waveforms only the shapes the "
            "machine produces, and accept each of them"
        )


def test_declared_polarities_are_accepted(machine: Driver, caps: Capabilities) -> None:
    """Every declared polarity can be configured."""
    base = probe_waveform(caps)
    problems = [
        problem
        for polarity in sorted(caps.polarities)
        if (
            problem := _accepted(
                f"configure({polarity.value} polarity)",
                machine.configure,
                replace(base, polarity=polarity),
            )
        )
    ]
    if problems:
        fail(
            "; ".join(problems) + ". Declare in capabilities.polarities only what the machine "
            "does, and accept each of them"
        )


def test_current_above_max_is_refused(machine: Driver, caps: Capabilities) -> None:
    """The maximum current plus one step is refused with DriverError."""
    clamped = caps.clamped()
    high = clamped.current_ua[1]
    beyond = high + clamped.current_step_ua
    declared = caps.current_ua[1]
    where = (
        f"the machine's maximum is {high:g} µA"
        if declared <= high
        else f"the machine's maximum is {high:g} µA (it declares {declared:g} µA; the core clamps "
        "that to the hard limit)"
    )
    try:
        problem = _refused(f"set_amplitude({beyond:g} µA)", machine.set_amplitude, beyond)
    finally:
        with contextlib.suppress(Exception):
            machine.set_amplitude(0.0)
    if problem:
        fail(f"{problem}; {where}")


def test_frequency_above_max_is_refused(machine: Driver, caps: Capabilities) -> None:
    """The highest frequency × 1.5 is refused with DriverError."""
    clamped = caps.clamped()
    high = max(clamped.frequency_choices_hz or clamped.frequency_hz)
    beyond = high * 1.5
    problem = _refused(
        f"configure({beyond:g} Hz)",
        machine.configure,
        replace(probe_waveform(caps), frequency_hz=beyond),
    )
    if problem:
        fail(f"{problem}; the machine's highest frequency is {high:g} Hz")


def test_undeclared_waveform_is_refused(machine: Driver, caps: Capabilities) -> None:
    """A waveform shape the capabilities do not declare is refused with DriverError."""
    missing = sorted(set(WaveShape) - caps.waveforms)
    if not missing:
        pytest.skip("the machine declares every waveform shape the console knows")
    shape = missing[0]
    problem = _refused(
        f"configure({shape.value}) (not declared)",
        machine.configure,
        replace(probe_waveform(caps), shape=shape),
    )
    if problem:
        fail(problem)


def test_undeclared_polarity_is_refused(machine: Driver, caps: Capabilities) -> None:
    """A polarity the capabilities do not declare is refused with DriverError."""
    missing = sorted(set(Polarity) - caps.polarities)
    if not missing:
        pytest.skip("the machine declares every polarity the console knows")
    polarity = missing[0]
    problem = _refused(
        f"configure({polarity.value} polarity) (not declared)",
        machine.configure,
        replace(probe_waveform(caps), polarity=polarity),
    )
    if problem:
        fail(problem)


# -- stopping ------------------------------------------------------------------------------------


def test_stop_output_is_idempotent(machine: Driver, caps: Capabilities) -> None:
    """``stop_output()`` three times with the output off, and three times after it was on."""
    problems = []
    for when in ("with the output already off", "after the output was on"):
        if when.startswith("after"):
            _start_at(machine, caps, rising_levels(caps)[0])
        raised = []
        for _ in range(3):
            try:
                machine.stop_output()
            except Exception as error:  # noqa: BLE001 - any exception is the finding
                raised.append(f"{type(error).__name__}: {error}")
        if raised:
            problems.append(f"{when}, {len(raised)} of 3 calls raised (first: {raised[0]})")
    if problems:
        fail(
            "stop_output() must be idempotent and never raise for 'already off': the console "
            "calls it from the emergency stop, the watchdog and at the end of every step, often "
            "when the output is already off; return quietly. " + "; ".join(problems)
        )


def test_stop_output_is_fast(machine: Driver, caps: Capabilities, figure: Figure) -> None:
    """20 calls (the first with the output on): median and worst under 20 ms of wall time, in
    one of up to three rounds (a busy computer may spoil one; a driver that waits spoils all)."""
    rounds, met = [], False
    for _ in range(STOP_ROUNDS):
        _start_at(machine, caps, rising_levels(caps)[0])
        times, raised = _time_stop_output(machine)
        rounds.append(times)
        met = statistics.median(times) < STOP_LIMIT_S and max(times) < STOP_LIMIT_S
        if met:
            break
    figure(
        "; ".join(f"stop_output() {describe_times(times)}" for times in rounds)
        + (f" ({raised} raised; see test_stop_output_is_idempotent)" if raised else "")
    )
    if not met:
        worst_round = ", ".join(
            f"median {statistics.median(t) * 1e3:.1f} ms, worst {max(t) * 1e3:.1f} ms"
            for t in rounds
        )
        fail(
            f"stop_output() was slow in {STOP_ROUNDS} rounds of 20 calls ({worst_round}); "
            f"median and worst must stay under {STOP_LIMIT_S * 1e3:.0f} ms. It is the emergency "
            "stop: write the output-off command and return; do not wait for the machine's "
            "answer, and never for a lock your reader thread holds"
        )


def _time_stop_output(machine: Driver) -> tuple[list[float], int]:
    """Wall seconds of 20 ``stop_output()`` calls, and how many raised."""
    times, raised = [], 0
    for _ in range(20):
        started = time.perf_counter()
        try:
            machine.stop_output()
        except Exception:  # noqa: BLE001 - raising is the idempotence check's finding
            raised += 1
        times.append(time.perf_counter() - started)
    return times, raised


def test_stop_output_turns_the_output_off(
    bench: Bench, machine: Driver, caps: Capabilities
) -> None:
    """After ``stop_output()`` the status says off within 0.5 s and no current is measured."""
    level = rising_levels(caps)[0]
    _start_at(machine, caps, level)
    bench.wait(SETTLE_S)
    machine.read_samples()
    stopped_at = bench.now()
    must("stop_output()", machine.stop_output)
    blocks: list[SampleBlock] = []
    deadline = stopped_at + bench.silence_limit_s
    output_on = True
    while bench.now() < deadline:
        block = machine.read_samples()
        if len(block):
            blocks.append(block)
        output_on = bool(machine.status().output_on)
        if not output_on and bench.now() > stopped_at + 2 * SETTLE_S:
            break
        time.sleep(0.005)
    samples = SampleBlock.joined(blocks)
    late = np.abs(samples.current_ua[samples.t >= stopped_at + SETTLE_S])
    problems = []
    if output_on:
        problems.append(
            f"status().output_on was still True {bench.silence_limit_s:g} s after stop_output(): "
            "report the machine's real output state from its heartbeat"
        )
    if len(late) and float(late.max()) > ceiling_ua(0.0):
        problems.append(
            f"{float(late.max()):.0f} µA was measured {SETTLE_S:g} s after stop_output() "
            f"(the console allows {ceiling_ua(0.0):g} µA with the output off): turn the output "
            "off at once"
        )
    if problems:
        fail("; ".join(problems))


# -- delivering --------------------------------------------------------------------------------


def test_start_after_stop_follows_the_setpoint(
    bench: Bench, machine: Driver, caps: Capabilities, figure: Figure
) -> None:
    """Started again after a stop, at 0 µA then rising setpoints: the measured peak rises with
    each (at least half of it) and never exceeds setpoint × 1.2 + 20 µA."""
    levels = rising_levels(caps)
    waveform = probe_waveform(caps, levels[-1])
    _start_at(machine, caps, levels[0])
    bench.wait(SETTLE_S)
    must("stop_output()", machine.stop_output)
    must("set_amplitude(0)", machine.set_amplitude, 0.0)
    must("start_output() after stop_output()", machine.start_output)
    hold_s = SETTLE_S + min(max(0.2, 2.0 / waveform.frequency_hz), 2.5)
    # (clock time before the call, after it, setpoint): samples before the call are at the
    # previous (lower) setpoint, samples a settle time after it at the new one.
    schedule: list[tuple[float, float, float]] = []
    blocks: list[SampleBlock] = []
    machine.read_samples()
    for setpoint in (0.0, *levels):
        before = bench.now()
        if setpoint:
            must(f"set_amplitude({setpoint:g})", machine.set_amplitude, setpoint)
        schedule.append((before, bench.now(), setpoint))
        _collect_until(bench, machine, schedule[-1][1] + hold_s, blocks)
    end_s = bench.now()
    _collect_until(bench, machine, end_s + SETTLE_S, blocks)
    must("stop_output()", machine.stop_output)
    samples = SampleBlock.joined(blocks)
    peaks: list[float | None] = []
    problems = []
    for index, (before, after, setpoint) in enumerate(schedule):
        until = schedule[index + 1][0] if index + 1 < len(schedule) else end_s
        during = np.abs(samples.current_ua[(samples.t >= before) & (samples.t < until)])
        settled = np.abs(samples.current_ua[(samples.t >= after + SETTLE_S) & (samples.t < until)])
        peak = float(settled.max()) if len(settled) else None
        peaks.append(peak)
        if len(during) and float(during.max()) > ceiling_ua(setpoint):
            problems.append(
                f"at {setpoint:g} µA the measured current reached {float(during.max()):.0f} µA, "
                f"above the {ceiling_ua(setpoint):g} µA at which the console trips for "
                "over-current"
            )
        if peak is None:
            problems.append(f"no samples were measured while the setpoint was {setpoint:g} µA")
        elif setpoint and peak < 0.5 * setpoint:
            problems.append(
                f"at {setpoint:g} µA the measured peak was only {peak:.0f} µA (less than half)"
            )
        previous = peaks[index - 1] if index >= 2 else None
        if peak is not None and previous is not None and peak <= previous:
            problems.append(
                f"the peak did not rise from {schedule[index - 1][2]:g} to {setpoint:g} µA "
                f"({previous:.0f} → {peak:.0f} µA)"
            )
    shown = ", ".join(
        f"{setpoint:g}→{'none' if peak is None else f'{peak:.0f}'}"
        for (_, _, setpoint), peak in zip(schedule, peaks, strict=True)
    )
    figure(f"setpoint→measured peak (µA), {describe_probe(waveform)}: {shown}")
    if problems:
        fail(
            "after stop_output() and start_output() at 0 µA, the measured current did not follow "
            f"the rising setpoints ({shown} µA): "
            + "; ".join(problems)
            + ". Apply each set_amplitude() at once, without a ramp of your own, and report the "
            "current the machine measures (a real machine needs a test load, e.g. 10 kΩ, across "
            "its probes). Peaks that come and go suggest the configured frequency is not the one "
            "produced (see test_configured_frequency_is_produced)"
        )


def test_configured_frequency_is_produced(
    bench: Bench, machine: Driver, caps: Capabilities, figure: Figure
) -> None:
    """The measured pulses come at the configured frequency (±20 %, at least ±1 pulse)."""
    levels = rising_levels(caps)
    level = levels[len(levels) // 2]
    waveform = probe_waveform(caps, level)
    window_s = min(max(0.5, 5.0 / waveform.frequency_hz), 5.0)
    _start_at(machine, caps, level)
    started = bench.now()
    blocks: list[SampleBlock] = []
    _collect_until(bench, machine, started + SETTLE_S + window_s + LATE_S, blocks)
    must("stop_output()", machine.stop_output)
    samples = SampleBlock.joined(blocks)
    inside = (samples.t >= started + SETTLE_S) & (samples.t < started + SETTLE_S + window_s)
    times = samples.t[inside]
    span_s = float(times.max() - times.min()) if len(times) > 1 else 0.0
    if span_s < 0.5 * window_s:
        fail(
            f"with the output on, samples covering only {span_s:.2f} s of a {window_s:g} s window "
            "arrived: read_samples() must return every measurement since the previous call"
        )
    pulses = count_pulses(samples.current_ua[inside], level, waveform.shape)
    expected = waveform.frequency_hz * span_s
    figure(
        f"{pulses} pulses in {span_s:.2f} s at {describe_probe(waveform)} (expected {expected:.1f})"
    )
    if abs(pulses - expected) > max(1.0, 0.2 * expected):
        fail(
            f"configured {describe_probe(waveform)}, but the measured current shows {pulses} pulses "
            f"in {span_s:.2f} s where {expected:.0f} were expected (about "
            f"{pulses / span_s:.2g} Hz instead of {waveform.frequency_hz:g} Hz): every setting "
            "configure() sends must be in force at the machine once it returns; if the machine "
            "takes the waveform in several commands, check that a later one does not undo an "
            "earlier one"
        )


# -- streaming ---------------------------------------------------------------------------------


def _run(streaming: StreamRun) -> StreamRun:
    if streaming.error:
        fail(streaming.error)
    return streaming


def test_sample_timestamps_strictly_increase(streaming: StreamRun, figure: Figure) -> None:
    """Over about a second of streaming, every sample's time is later than the one before."""
    run = _run(streaming)
    t = run.t
    if len(t) < 2:
        fail(
            f"only {len(t)} samples arrived in {run.end_s - run.start_s:.2f} s with the output on: "
            "read_samples() must return every measurement since the previous call"
        )
    backwards = backwards_steps(t)
    figure(f"{len(t)} samples over {run.end_s - run.start_s:.2f} s, {len(backwards)} out of order")
    if backwards:
        first = backwards[0]
        fail(
            f"{len(backwards)} of {len(t) - 1} consecutive samples do not move forward in time "
            f"(first: a sample at {t[first + 1]:.6f} s follows one at {t[first]:.6f} s): give "
            "every sample its own time on the console's clock (the clock given to the factory), "
            "oldest first, never repeated or going back; the engine integrates the dose over these "
            "times"
        )


def test_sample_rate_matches_the_declaration(
    streaming: StreamRun, bench: Bench, figure: Figure
) -> None:
    """Samples time-stamped within 1 s of clock time number the declared rate ±5 %, with no gap
    above 3 sample periods."""
    run = _run(streaming)
    rate = float(bench.shared().capabilities.sample_rate_hz)
    t = run.t
    window = (run.start_s + 0.1, run.start_s + 1.1)
    count = int(np.count_nonzero((t >= window[0]) & (t < window[1])))
    expected = rate * (window[1] - window[0])
    ordered = np.sort(t[(t >= run.start_s) & (t <= run.end_s)])
    steps = np.diff(ordered)
    worst_gap = float(steps.max()) if len(steps) else float("inf")
    gaps = int(np.count_nonzero(steps > 3.0 / rate))
    figure(
        f"{count} samples in 1 s of clock time (declared {rate:g} S/s); largest gap "
        f"{worst_gap * 1e3:.2f} ms = {worst_gap * rate:.1f} sample periods"
    )
    problems = []
    if abs(count - expected) > 0.05 * expected:
        problems.append(
            f"{count} samples are time-stamped within 1 s of clock time, but the capabilities "
            f"declare {rate:g} S/s (±5 %: {0.95 * expected:.0f}–{1.05 * expected:.0f})"
        )
    if gaps:
        problems.append(
            f"{gaps} gaps between consecutive samples exceed 3 sample periods "
            f"({3e3 / rate:.2f} ms); the largest is {worst_gap * 1e3:.1f} ms"
        )
    if problems:
        fail(
            "; ".join(problems) + ". Declare the rate samples really arrive at "
            "(sample_rate_hz) and deliver every one of them: the engine judges contact and "
            "over-current and integrates the dose sample by sample"
        )


def test_heartbeat_keeps_coming(streaming: StreamRun, bench: Bench, figure: Figure) -> None:
    """``status().last_heard_s`` advances and never lags the clock by more than 0.5 s."""
    run = _run(streaming)
    if not run.heard:
        fail("status() was never read while streaming")
    first, last = run.heard[0][1], run.heard[-1][1]
    lags = [now - heard for now, heard in run.heard]
    worst_lag = max(lags)
    span = run.end_s - run.start_s
    figure(
        f"last_heard_s advanced {last - first:.2f} s over {span:.2f} s; worst lag "
        f"{worst_lag * 1e3:.0f} ms"
    )
    problems = []
    if last <= first:
        problems.append(
            f"status().last_heard_s did not advance over {span:.2f} s of streaming "
            f"(it stayed at {first:g} s)"
        )
    if worst_lag > bench.silence_limit_s:
        problems.append(
            f"status().last_heard_s lagged up to {worst_lag:.2f} s behind the console's clock; the "
            f"console ends a session after {bench.silence_limit_s:g} s without hearing the machine"
        )
    if min(lags) < -0.05:
        problems.append(
            f"status().last_heard_s ran up to {-min(lags):.2f} s ahead of the console's clock: it "
            "must be a reading of the clock given to the factory, not the machine's time or "
            "time.time()"
        )
    if problems:
        fail(
            "; ".join(problems) + ". Update last_heard_s from the console's clock on every "
            "heartbeat or sample the machine sends"
        )


def test_read_samples_never_blocks(streaming: StreamRun, figure: Figure) -> None:
    """``read_samples()``, with or without new samples, returns within 5 ms (all but 2 % of
    the calls, for a busy computer's sake) and never takes 100 ms."""
    run = _run(streaming)
    times = run.read_s + run.burst_read_s
    figure(f"read_samples() {describe_times(times)}")
    slow = [value for value in times if value >= READ_LIMIT_S]
    allowed = max(2, int(len(times) * READ_SLOW_SHARE))
    if len(slow) > allowed or max(times) >= READ_HANG_S:
        fail(
            f"{len(slow)} of {len(times)} read_samples() calls took {READ_LIMIT_S * 1e3:g} ms or "
            f"more (worst {max(times) * 1e3:.1f} ms, {describe_times(times)}; at most {allowed} "
            f"may, none {READ_HANG_S * 1e3:g} ms): return at once with what has arrived, an "
            "empty block when nothing has; never wait for the port. The engine calls it from "
            "its safety loop every 20 ms"
        )


# -- closing -------------------------------------------------------------------------------------


def test_close_while_streaming_is_clean(bench: Bench, figure: Figure) -> None:
    """``close()`` with the output on raises nothing; a second ``close()`` and a ``stop_output()``
    after it raise nothing either."""
    driver = bench.fresh()
    try:
        bench.open(driver)
    except Exception as error:  # noqa: BLE001 - a failed open stops this check
        fail(f"open() of a new connection raised {type(error).__name__}: {error}")
    caps = driver.capabilities
    _start_at(driver, caps, rising_levels(caps)[0])
    _collect_until(bench, driver, bench.now() + 0.2, [])
    problems = []
    started = time.monotonic()
    try:
        call_bounded("close() while streaming", driver.close, limit_s=CLOSE_LIMIT_S)
    except Exception as error:  # noqa: BLE001 - any exception is the finding
        problems.append(
            f"close() with the output on raised {type(error).__name__}: {error} (close must turn "
            "the output off and release the port without raising)"
        )
    figure(f"close() while streaming took {(time.monotonic() - started) * 1e3:.1f} ms")
    try:
        call_bounded("second close()", driver.close, limit_s=CLOSE_LIMIT_S)
    except Exception as error:  # noqa: BLE001 - any exception is the finding
        problems.append(
            f"a second close() raised {type(error).__name__}: {error} (close is idempotent: the "
            "console may close a machine that is already closed)"
        )
    try:
        driver.stop_output()
    except Exception as error:  # noqa: BLE001 - any exception is the finding
        problems.append(
            f"stop_output() after close() raised {type(error).__name__}: {error} (an emergency "
            "stop may come after the connection is closed; return quietly)"
        )
    if problems:
        fail("; ".join(problems))


def test_second_open_of_the_port_fails(
    bench: Bench, driver_target: DriverTarget, figure: Figure
) -> None:
    """With the machine open, opening its port again fails with DriverError (ports only)."""
    if not driver_target.has_port:
        pytest.skip("the driver is not on a port (transport simulated): nothing to open twice")
    bench.shared()
    second = bench.make()
    port = bench.port or "the port"
    try:
        call_bounded("a second open()", second.open, limit_s=OPEN_LIMIT_S)
    except DriverError as error:
        if not str(error).strip():
            fail("a second open() raised DriverError without a message: say why, naming the port")
        figure(f"second open refused: {error}")
        return
    except Exception as error:  # noqa: BLE001 - the wrong exception type is the finding
        fail(
            f"a second open() of {port} raised {type(error).__name__} ({error}), not DriverError: "
            "raise DriverError with a sentence naming the port"
        )
    with contextlib.suppress(Exception):
        second.close()
    fail(
        f"a second open() of {port} succeeded while the first connection was open: two "
        "connections would talk to one machine (interleaved commands, stolen samples). Open the "
        "port exclusively (pyserial: exclusive=True) and raise DriverError naming the port"
    )
