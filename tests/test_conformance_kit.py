"""The conformance kit (``console.testing.conformance``) run in-process against known drivers.

The built-in drivers and protocol plugins must pass it; a driver and a protocol plugin that break
promises on purpose must fail exactly the checks that name those promises, with messages that say
what to fix. Each run is a whole pytest session inside this one (``pytester``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from console.plugins import load_plugins

pytest_plugins = ["pytester"]

KIT = (
    "-p",
    "console.testing.conformance.plugin",
    "--pyargs",
    "console.testing.conformance",
    "-p",
    "no:cacheprovider",
)

#: Every driver check, in the kit's order.
DRIVER_CHECKS = (
    "test_open_succeeds",
    "test_identify_reports_model_serial_and_firmware",
    "test_registered_capabilities_are_within_the_hard_limits",
    "test_stated_capabilities_are_within_the_hard_limits",
    "test_current_edges_are_accepted",
    "test_frequency_edges_are_accepted",
    "test_declared_waveforms_are_accepted",
    "test_declared_polarities_are_accepted",
    "test_current_above_max_is_refused",
    "test_frequency_above_max_is_refused",
    "test_undeclared_waveform_is_refused",
    "test_undeclared_polarity_is_refused",
    "test_stop_output_is_idempotent",
    "test_stop_output_is_fast",
    "test_stop_output_turns_the_output_off",
    "test_start_after_stop_follows_the_setpoint",
    "test_configured_frequency_is_produced",
    "test_sample_timestamps_strictly_increase",
    "test_sample_rate_matches_the_declaration",
    "test_heartbeat_keeps_coming",
    "test_read_samples_never_blocks",
    "test_close_while_streaming_is_clean",
    "test_second_open_of_the_port_fails",
)
#: Skipped for a machine that declares every waveform and polarity.
ALL_DECLARED = {"test_undeclared_waveform_is_refused", "test_undeclared_polarity_is_refused"}


@pytest.fixture(autouse=True, scope="module")
def _one_copy_of_every_driver_module() -> Iterator[None]:
    """Import what the kit imports before its first in-process run.

    pytester forgets the modules a run imported; the next run would import them again, while
    ``from device_drivers import framed_protocol`` in another module still finds the first copy
    on the package (classes then differ and frames go unrecognised). Imported here, they stay.
    """
    import device_drivers.emulator
    import device_drivers.framed_emulator
    import device_drivers.scpi_emulator  # noqa: F401

    load_plugins()
    yield


@dataclass(frozen=True)
class Outcome:
    """One check's result: ``passed``, ``failed``, ``skipped`` or ``error`` and its message."""

    outcome: str
    message: str


def run_kit(pytester: pytest.Pytester, *args: str) -> dict[str, Outcome]:
    """Run the kit with ``args``; outcomes by test name (parametrized ids included)."""
    recorder = pytester.inline_run(*KIT, *args)
    results: dict[str, Outcome] = {}
    for report in recorder.getreports("pytest_runtest_logreport"):
        name = report.nodeid.rsplit("::", 1)[-1]
        if report.when == "call" or (report.when == "setup" and not report.passed):
            outcome = "error" if report.when == "setup" and report.failed else report.outcome
            results[name] = Outcome(outcome, report.longreprtext)
        elif report.failed:  # teardown
            results[name] = Outcome("error", report.longreprtext)
    return results


def driver_outcomes(results: dict[str, Outcome]) -> dict[str, str]:
    """The outcome of every driver check (all must have run)."""
    assert set(DRIVER_CHECKS) <= set(results), sorted(set(DRIVER_CHECKS) - set(results))
    return {name: results[name].outcome for name in DRIVER_CHECKS}


def assert_all_pass(results: dict[str, Outcome], skipped: set[str]) -> None:
    """Every driver check passed except ``skipped``, which skipped."""
    failures = {
        name: result.message
        for name, result in results.items()
        if name in DRIVER_CHECKS and result.outcome not in ("passed", "skipped")
    }
    assert not failures, failures
    assert {name for name, outcome in driver_outcomes(results).items() if outcome == "skipped"} == (
        skipped
    )


# -- the built-in drivers pass -------------------------------------------------------------------


def test_simulator_passes_every_check(pytester: pytest.Pytester) -> None:
    results = run_kit(pytester, "--driver", "simulator")
    # Not on a port: nothing to open twice.
    assert_all_pass(results, ALL_DECLARED | {"test_second_open_of_the_port_fails"})
    assert "not on a port" in results["test_second_open_of_the_port_fails"].message


def test_framed_machine_passes_every_check_on_its_emulator(pytester: pytest.Pytester) -> None:
    results = run_kit(pytester, "--driver", "framed", "--port", "emulator")
    assert_all_pass(results, ALL_DECLARED)


def test_scpi_machine_passes_every_check_on_its_emulator(pytester: pytest.Pytester) -> None:
    results = run_kit(pytester, "--driver", "scpi", "--port", "emulator")
    assert_all_pass(results, ALL_DECLARED)


# -- a broken driver is told what to fix -------------------------------------------------------

BROKEN_DRIVER = '''
"""A driver that breaks five promises on purpose; everything else it does right."""

from __future__ import annotations

import threading

import numpy as np

from console.drivers import (
    Capabilities, DeviceIdentity, DeviceStatus, Driver, DriverError, SampleBlock,
)
from console.waveforms import Polarity, WaveShape, polarity_sign, unit_pulse

RATE_HZ = 1000.0
CAPABILITIES = Capabilities(
    channels=1,
    current_ua=(10.0, 5000.0),  # broken: declares 5000 µA, beyond the hard limit
    current_step_ua=10.0,
    frequency_hz=(0.1, 1000.0),
    waveforms=frozenset(WaveShape),
    polarities=frozenset(Polarity),
    sample_rate_hz=RATE_HZ,
    compliance_v=15.0,
)


class BrokenMachine(Driver):
    def __init__(self, clock):
        self.clock = clock
        self.capabilities = CAPABILITIES
        self._lock = threading.Lock()
        self._waveform = None
        self._origin = 0.0
        self._amplitude = 0.0
        self._on = False
        self._next = 0
        self._pending = []
        self._heard = 0.0

    def open(self):
        with self._lock:
            self._next = int(self.clock.now() * RATE_HZ) + 1
            self._heard = self.clock.now()

    def close(self):
        with self._lock:
            self._on = False

    def identify(self):
        return DeviceIdentity("Broken B-1", "", "0.1")  # broken: no serial number

    def configure(self, waveform):
        low, high = self.capabilities.frequency_hz
        if not low <= waveform.frequency_hz <= high:
            raise DriverError(f"{waveform.frequency_hz:g} Hz is out of range")
        with self._lock:
            self._advance()
            self._waveform, self._origin = waveform, self.clock.now()

    def set_amplitude(self, current_ua):
        if current_ua < 0:
            raise DriverError("negative current")
        with self._lock:  # broken: no upper bound at all
            self._advance()
            self._amplitude = float(current_ua)

    def start_output(self):
        with self._lock:
            self._advance()
            self._on = True

    def stop_output(self):
        with self._lock:
            if not self._on:
                raise DriverError("the output is already off")  # broken: not idempotent
            self._advance()
            self._on, self._amplitude = False, 0.0

    def read_samples(self):
        with self._lock:
            self._advance()
            pending, self._pending = self._pending, []
        return SampleBlock.joined(pending)

    def status(self):
        with self._lock:
            self._advance()
            return DeviceStatus(self._heard, self._on)

    def _advance(self):
        end = int(self.clock.now() * RATE_HZ) + 1
        if end <= self._next:
            return
        t = np.arange(self._next, end, dtype=np.float64) / RATE_HZ
        self._next = end
        current = np.zeros_like(t)
        if self._on and self._waveform is not None:
            since = t - self._origin
            wave = self._waveform
            current = (
                self._amplitude
                * unit_pulse(wave.shape, since * wave.frequency_hz)
                * polarity_sign(wave.polarity, wave.reversal_interval_s, since)
            )
        self._heard = float(t[-1])
        if len(t) >= 2:
            t[[0, 1]] = t[[1, 0]]  # broken: two samples out of order in every block
        self._pending.append(SampleBlock(t, current, current * 0.01))


def make_broken(clock, **_):
    return BrokenMachine(clock)
'''


def test_broken_driver_fails_the_checks_that_name_its_broken_promises(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(broken_machine=BROKEN_DRIVER)
    pytester.syspathinsert()
    results = run_kit(pytester, "--driver", "broken_machine:make_broken", "--driver-speed", "10")
    outcomes = driver_outcomes(results)
    broken = {
        # empty serial
        "test_identify_reports_model_serial_and_firmware": "empty serial number",
        # accepts a current above its maximum
        "test_current_above_max_is_refused": "set_amplitude(1010 µA) was accepted",
        # stop_output raises when the output is already off
        "test_stop_output_is_idempotent": "with the output already off, 3 of 3 calls raised",
        # timestamps go backwards
        "test_sample_timestamps_strictly_increase": "do not move forward in time",
        # declares 5000 µA
        "test_stated_capabilities_are_within_the_hard_limits": "maximum current 5000 µA",
    }
    for name, words in broken.items():
        assert outcomes[name] == "failed", (name, results[name].message)
        assert words in results[name].message, results[name].message
    # stop_output() after close() is the same broken promise, seen by the close check.
    assert outcomes["test_close_while_streaming_is_clean"] == "failed"
    assert "stop_output() after close() raised" in (
        results["test_close_while_streaming_is_clean"].message
    )
    # What the driver does right is not blamed.
    expected_to_pass = (
        set(DRIVER_CHECKS)
        - set(broken)
        - ALL_DECLARED
        - {
            "test_close_while_streaming_is_clean",
            "test_registered_capabilities_are_within_the_hard_limits",  # a bare factory
            "test_second_open_of_the_port_fails",  # not on a port
        }
    )
    wrongly_failed = {
        name: results[name].message for name in expected_to_pass if outcomes[name] != "passed"
    }
    assert not wrongly_failed, wrongly_failed
    assert outcomes["test_registered_capabilities_are_within_the_hard_limits"] == "skipped"


SLUGGISH_DRIVER = '''
"""The simulated machine, made to wait where a driver must not: for its port, for an answer."""

import time

from device_drivers.simulator import SimulatedMachine


class SluggishMachine(SimulatedMachine):
    def read_samples(self):
        time.sleep(0.008)  # waits for the next batch from the port
        return super().read_samples()

    def stop_output(self):
        super().stop_output()
        time.sleep(0.03)  # waits for the machine's answer


def make_sluggish(clock, **_):
    return SluggishMachine(clock)
'''


def test_a_driver_that_waits_fails_the_speed_checks_however_often_they_retry(
    pytester: pytest.Pytester,
) -> None:
    """The allowances for a busy computer (three rounds, 2 % of calls) never pass a driver that
    waits on every call."""
    pytester.makepyfile(sluggish_machine=SLUGGISH_DRIVER)
    pytester.syspathinsert()
    results = run_kit(
        pytester, "--driver", "sluggish_machine:make_sluggish", "--driver-speed", "10"
    )
    outcomes = driver_outcomes(results)
    assert outcomes["test_stop_output_is_fast"] == "failed"
    assert "was slow in 3 rounds of 20 calls" in results["test_stop_output_is_fast"].message
    assert outcomes["test_read_samples_never_blocks"] == "failed"
    assert "never wait for the port" in results["test_read_samples_never_blocks"].message


def test_without_options_every_check_skips_and_says_how_to_run(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest_inprocess(*KIT, "-rs")
    result.assert_outcomes(skipped=len(DRIVER_CHECKS) + 9)
    result.stdout.fnmatch_lines(["*no --driver given: run the conformance kit as: pytest -p*"])


def test_an_unknown_driver_stops_the_kit_with_the_registered_ones(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest_inprocess(*KIT, "--driver", "acme-s9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["*no driver 'acme-s9' is registered*framed, scpi, simulator*"])


# -- protocol plugins ----------------------------------------------------------------------------


@pytest.mark.parametrize("plugin", ["lifting", "toning", "circulation"])
def test_built_in_protocol_plugins_pass(pytester: pytest.Pytester, plugin: str) -> None:
    results = run_kit(pytester, "--protocol-plugin", plugin)
    ran = {name: result for name, result in results.items() if name not in DRIVER_CHECKS}
    assert len(ran) == 9  # 2 plugin checks, 7 checks of its one protocol
    assert all(result.outcome == "passed" for result in ran.values()), ran


BROKEN_PROTOCOLS = '''
"""A protocol plugin that breaks the rules on purpose."""

from console import hookimpl
from console.protocols import Protocol, RecommendedSeries, Step
from console.waveforms import Waveform, WaveShape

mc_console_api = "1.0"


def _step(zone, current_ua, duration_s, technique):
    return Step(zone, Waveform(WaveShape.SQUARE, 10.0, current_ua), duration_s, technique)


def _protocol(protocol_id, steps, series=RecommendedSeries(2, 10, (4, 6))):
    return Protocol(protocol_id, "Broken", "toning", "Breaks rules.", tuple(steps), series)


@hookimpl
def register_protocols():
    return [
        _protocol(
            "acme-eyes",
            [
                _step("eye_left", 300.0, 60.0, "Small circles on the orbital bone."),
                _step("forehead_left", 200.0, 700.0, "Glide from temple to temple."),
                _step("cheek_middle", 1200.0, 60.0, "Hold."),
            ],
            RecommendedSeries(0, 10, (4, 6)),
        ),
        _protocol(  # the same id again; otherwise right, and says "never" before the phrase
            "acme-eyes",
            [_step("cheek_left", 200.0, 60.0, "One side only; never work across the midline.")],
        ),
        _protocol("lifting", [_step("cheek_left", 200.0, 60.0, "Hold.")]),  # a built-in's id
    ]
'''


def test_broken_protocol_plugin_fails_the_checks_that_name_its_faults(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(acme_protocols=BROKEN_PROTOCOLS)
    pytester.syspathinsert()
    results = run_kit(pytester, "--protocol-plugin", "acme_protocols")
    expected_failures = {
        "test_protocol_ids_are_unique": ["2 protocols have the id 'acme-eyes'", "'lifting'"],
        "test_placement_warnings_are_respected[acme-eyes0]": [
            "300 µA on the eye area",
            "'temple to temple'",
        ],
        "test_durations_are_sensible[acme-eyes0]": ["lasts 700.0 s"],
        "test_every_step_says_where_the_probes_go[acme-eyes0]": [
            "step 1 (eye_left), step 2 (forehead_left), step 3 (cheek_middle) give no placement",
            "suggested_placement",
        ],
        "test_every_step_says_where_the_probes_go[acme-eyes1]": ["step 1 (cheek_left)"],
        "test_every_step_says_where_the_probes_go[lifting]": ["step 1 (cheek_left)"],
        "test_zones_exist[acme-eyes0]": ["'cheek_middle'"],
        "test_steps_are_within_the_hard_limits[acme-eyes0]": ["1200 µA is above the hard limit"],
        "test_recommended_series_is_stated[acme-eyes0]": ["0 sessions a week (give more than 0"],
        "test_console_accepts_the_protocol[acme-eyes0]": ["the console refuses"],
    }
    for name, phrases in expected_failures.items():
        assert results[name].outcome == "failed", (name, results[name])
        for phrase in phrases:
            assert phrase in results[name].message, results[name].message
    others = {
        name: result.message
        for name, result in results.items()
        if name not in DRIVER_CHECKS
        and name not in expected_failures
        and result.outcome != "passed"
    }
    assert not others, others
