"""The simulated machine and its skin load, driven directly (no engine) on a virtual clock.

Each test opens a :class:`SimulatedMachine`, commands it as a host would, moves the
:class:`VirtualClock` forward and reads back the sample blocks the machine "measured". Tests that
compare peaks exactly use a noise-free skin; the others allow for the simulated measurement noise.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.drivers import (
    DeviceIdentity,
    DriverError,
    DriverInfo,
    SampleBlock,
    capability_problems,
)
from console.engine.clock import VirtualClock
from console.waveforms import HARD_MAX_CURRENT_UA, Polarity, Waveform, WaveShape
from device_drivers.simulator import (
    DEFAULT_SAMPLE_RATE_HZ,
    FIRMWARE_WATCHDOG_S,
    MAX_SAMPLE_RATE_HZ,
    OVER_CURRENT_FACTOR,
    SIMULATOR_CAPABILITIES,
    SimFault,
    SimulatedMachine,
)
from device_drivers.skin import ContactState, SkinParameters

#: A skin without measurement noise: peaks and timings can be compared exactly.
NOISE_FREE = SkinParameters(current_noise_ua=0.0, voltage_noise_v=0.0)
#: The standard deviation of the simulated current measurement noise.
NOISE_UA = SkinParameters().current_noise_ua
#: No noise sample goes beyond 7 σ (the model draws from a table of 65536 normal values).
NOISE_BOUND_UA = 7.0 * NOISE_UA
#: "Within a few per cent" of the commanded peak.
PEAK_TOLERANCE = 0.03


# -- helpers -----------------------------------------------------------------------------------


@pytest.fixture
def machine(clock: VirtualClock) -> Iterator[SimulatedMachine]:
    """An open simulated machine with the default (noisy) skin."""
    sim = SimulatedMachine(clock, seed=3)
    sim.open()
    yield sim
    sim.close()


@pytest.fixture
def quiet(clock: VirtualClock) -> Iterator[SimulatedMachine]:
    """An open simulated machine whose skin measures without noise."""
    sim = SimulatedMachine(clock, skin=NOISE_FREE, seed=3)
    sim.open()
    yield sim
    sim.close()


def waveform(
    shape: WaveShape = WaveShape.SQUARE,
    frequency_hz: float = 10.0,
    current_ua: float = 300.0,
    polarity: Polarity = Polarity.POSITIVE,
    reversal_interval_s: float = 2.0,
) -> Waveform:
    """A valid waveform with test-friendly defaults (10 Hz square, 300 µA, positive)."""
    return Waveform(shape, frequency_hz, current_ua, polarity, reversal_interval_s, 1.0)


def start(sim: SimulatedMachine, wave: Waveform, amplitude_ua: float | None = None) -> None:
    """Configure, set the amplitude (the waveform's own by default) and turn the output on."""
    sim.configure(wave)
    sim.set_amplitude(wave.current_ua if amplitude_ua is None else amplitude_ua)
    sim.start_output()


def run(sim: SimulatedMachine, clock: VirtualClock, seconds: float) -> SampleBlock:
    """Let ``seconds`` of clock time pass and return what the machine measured meanwhile."""
    clock.advance(seconds)
    return sim.read_samples()


def concat(blocks: list[SampleBlock]) -> SampleBlock:
    """One block of several, in order."""
    return SampleBlock(
        np.concatenate([b.t for b in blocks]),
        np.concatenate([b.current_ua for b in blocks]),
        np.concatenate([b.voltage_v for b in blocks]),
    )


def load_ohm(block: SampleBlock, mask: np.ndarray) -> float:
    """Median V/I over the selected samples, in Ω."""
    return float(np.median(block.voltage_v[mask] / (block.current_ua[mask] * 1e-6)))


# -- identity and capabilities -----------------------------------------------------------------


def test_identify_reports_model_serial_and_firmware(clock: VirtualClock) -> None:
    """The machine names its model, the serial it was built with, and its firmware."""
    sim = SimulatedMachine(clock, serial="SIM-424242")
    sim.open()
    identity = sim.identify()
    assert identity == DeviceIdentity("MC Simulator S-1", "SIM-424242", "sim-1.0")
    assert identity.describe() == "MC Simulator S-1 (serial SIM-424242, firmware sim-1.0)"
    sim.close()


def test_default_serial_and_registration_agree(
    machine: SimulatedMachine, simulator_info: DriverInfo
) -> None:
    """Without a serial the machine is SIM-000001; its model is the one its plugin registers."""
    identity = machine.identify()
    assert identity.serial == "SIM-000001"
    assert identity.model == simulator_info.model
    assert simulator_info.simulated is True


def test_calls_before_open_and_after_close_raise_driver_error(clock: VirtualClock) -> None:
    """A closed machine refuses every host command with a DriverError (stop and close excepted)."""
    sim = SimulatedMachine(clock)
    with pytest.raises(DriverError, match="not open"):
        sim.identify()
    sim.open()
    sim.identify()
    sim.close()
    with pytest.raises(DriverError, match="not open"):
        sim.read_samples()
    with pytest.raises(DriverError, match="not open"):
        sim.configure(waveform())
    sim.stop_output()  # never raises
    sim.close()  # idempotent


def test_capabilities_are_as_declared(
    machine: SimulatedMachine, simulator_info: DriverInfo
) -> None:
    """One channel, 10–1000 µA in 10 µA steps, 0.1–1000 Hz, every shape and polarity, 2 kS/s."""
    caps = machine.capabilities
    assert caps == SIMULATOR_CAPABILITIES == simulator_info.capabilities
    assert caps.channels == 1
    assert caps.current_ua == (10.0, 1000.0)
    assert caps.current_step_ua == 10.0
    assert caps.frequency_hz == (0.1, 1000.0)
    assert caps.waveforms == frozenset(WaveShape)
    assert caps.polarities == frozenset(Polarity)
    assert caps.sample_rate_hz == DEFAULT_SAMPLE_RATE_HZ == 2_000.0
    assert caps.compliance_v == 15.0
    # Already within the hard limits: clamping changes nothing.
    assert caps.clamped() == caps


def test_20_ks_per_second_is_accepted_and_declared(clock: VirtualClock) -> None:
    """At 20 kS/s the capabilities say so and the samples are 50 µs apart."""
    sim = SimulatedMachine(clock, sample_rate_hz=MAX_SAMPLE_RATE_HZ)
    sim.open()
    assert MAX_SAMPLE_RATE_HZ == 20_000.0
    assert sim.capabilities.sample_rate_hz == 20_000.0
    block = run(sim, clock, 0.01)
    assert len(block) == 201
    np.testing.assert_allclose(np.diff(block.t), 1 / 20_000.0, rtol=1e-6)
    sim.close()


@pytest.mark.parametrize(
    "rate_hz", [0.0, -2_000.0, 50.0, 99.0, 20_000.5, 40_000.0, math.inf, math.nan]
)
def test_sample_rates_outside_the_range_are_refused(clock: VirtualClock, rate_hz: float) -> None:
    """A rate the machine cannot sample at is refused with a sentence naming the range."""
    with pytest.raises(DriverError, match="20000 S/s"):
        SimulatedMachine(clock, sample_rate_hz=rate_hz)


# -- the waveform through the skin -------------------------------------------------------------


@pytest.mark.parametrize("shape", list(WaveShape))
def test_each_shape_reaches_the_commanded_peak_and_never_exceeds_it(
    quiet: SimulatedMachine, clock: VirtualClock, shape: WaveShape
) -> None:
    """The measured peak is within a few % of the setting, and never above it (noise-free skin)."""
    start(quiet, waveform(shape, current_ua=400.0))
    block = run(quiet, clock, 1.0)
    peak = float(np.max(np.abs(block.current_ua)))
    assert peak <= 400.0 + 1e-9
    assert peak >= 400.0 * (1 - PEAK_TOLERANCE)


@pytest.mark.parametrize("shape", list(WaveShape))
def test_each_shape_with_noise_stays_within_the_noise_of_the_setting(
    machine: SimulatedMachine, clock: VirtualClock, shape: WaveShape
) -> None:
    """With the noisy skin the peak is still the setting, give or take the noise (400 µA into
    fresh gel needs about 13 V of the machine's 15)."""
    start(machine, waveform(shape, current_ua=400.0))
    block = run(machine, clock, 1.0)
    peak = float(np.max(np.abs(block.current_ua)))
    assert 400.0 * (1 - PEAK_TOLERANCE) <= peak <= 400.0 + NOISE_BOUND_UA


@pytest.mark.parametrize("shape", [WaveShape.SQUARE, WaveShape.SINE, WaveShape.RAMPED])
def test_monophasic_shapes_follow_the_polarity(
    quiet: SimulatedMachine, clock: VirtualClock, shape: WaveShape
) -> None:
    """Positive polarity never goes negative; negative polarity is its mirror image."""
    start(quiet, waveform(shape, current_ua=300.0, polarity=Polarity.POSITIVE))
    positive = run(quiet, clock, 1.0)
    quiet.configure(waveform(shape, current_ua=300.0, polarity=Polarity.NEGATIVE))
    negative = run(quiet, clock, 1.0)
    assert positive.current_ua.min() >= -1e-6  # rounding in the pulse integral, not current
    assert positive.current_ua.max() == pytest.approx(300.0, rel=PEAK_TOLERANCE)
    assert negative.current_ua.max() <= 1e-6
    assert negative.current_ua.min() == pytest.approx(-300.0, rel=PEAK_TOLERANCE)


def test_biphasic_pulses_are_charge_balanced(quiet: SimulatedMachine, clock: VirtualClock) -> None:
    """A biphasic pulse is +I then -I: both signs at full current, net charge about zero."""
    start(quiet, waveform(WaveShape.BIPHASIC, current_ua=300.0))
    block = run(quiet, clock, 1.0)
    assert block.current_ua.max() == pytest.approx(300.0)
    assert block.current_ua.min() == pytest.approx(-300.0)
    assert abs(float(block.current_ua.mean())) < 300.0 * 0.01


def test_alternating_polarity_reverses_at_each_interval(
    quiet: SimulatedMachine, clock: VirtualClock
) -> None:
    """Alternating every 2 s from the configure time: + for 2 s, − for 2 s, + again."""
    clock.advance(0.25)  # the reversal schedule starts when the waveform is configured
    origin = clock.now()
    start(quiet, waveform(polarity=Polarity.ALTERNATING, reversal_interval_s=2.0))
    block = run(quiet, clock, 6.0)
    since = block.t - origin
    flowing = np.abs(block.current_ua) > 150.0
    for interval, expected_sign in enumerate([1.0, -1.0, 1.0]):
        inside = flowing & (since > 2.0 * interval) & (since <= 2.0 * (interval + 1))
        assert inside.sum() > 1000 * 0.4  # roughly half the 4000 samples of each interval
        assert np.all(np.sign(block.current_ua[inside]) == expected_sign)
    # The first reversed pulse starts right at the interval, not a period later.
    first_negative = float(since[flowing & (block.current_ua < 0)][0])
    assert 2.0 < first_negative <= 2.0 + 1.5 / quiet.sample_rate_hz


# -- the load ----------------------------------------------------------------------------------


def test_the_load_is_the_skin_models_and_tens_of_kilohms_on_fresh_gel(
    quiet: SimulatedMachine, clock: VirtualClock
) -> None:
    """V/I during a long pulse is the stratum corneum and the deep tissue in series: the
    published tens of kΩ at low frequency, not a few kΩ."""
    start(quiet, waveform(frequency_hz=0.5, current_ua=300.0))  # 1 s pulses
    block = run(quiet, clock, 0.9)
    settled = block.t > 0.05  # the stratum corneum's capacitance charges in a millisecond
    load = load_ohm(block, settled)
    assert 20_000.0 <= load <= 60_000.0
    assert load == pytest.approx(quiet.skin.impedance_ohm(clock.now()), rel=0.01)
    params = quiet.skin.params
    fresh = params.deep_tissue_ohm + params.soaked_ohm * params.fresh_gel_factor
    assert load == pytest.approx(fresh, rel=0.02)


def test_the_load_falls_as_the_gel_soaks_in_then_rises_as_it_dries(
    quiet: SimulatedMachine, clock: VirtualClock
) -> None:
    """Measured once a minute: lower for the first minutes (the skin takes up the gel), then
    higher every minute (the gel dries), as practitioners see on their contact meter."""
    start(quiet, waveform(frequency_hz=0.5, current_ua=300.0))
    loads = []
    for minute in range(21):
        block = run(quiet, clock, 60.0 * minute + 0.9 - clock.now())
        in_pulse = block.t > 60.0 * minute + 0.05
        loads.append(load_ohm(block, in_pulse))
        clock.advance(0.0)
    lowest = loads.index(min(loads))
    assert 3 <= lowest <= 12
    assert all(later < earlier for earlier, later in itertools.pairwise(loads[: lowest - 1]))
    assert all(later > earlier for earlier, later in itertools.pairwise(loads[lowest + 1 :]))
    assert loads[0] > 1.3 * loads[lowest]
    assert loads[-1] < 60_000.0  # 20 minutes of ordinary drying stays in contact


def test_fast_drying_gel_climbs_toward_the_contact_window_and_fresh_gel_restores_it(
    quiet: SimulatedMachine, clock: VirtualClock
) -> None:
    """The gel_dry fault: ten times the drying, so minutes later the load nears 60 kΩ; fresh
    gel brings it back to what the (by now soaked) skin gives."""
    start(quiet, waveform(frequency_hz=0.5, current_ua=100.0))
    run(quiet, clock, 300.0)  # soaked in
    before = quiet.skin.impedance_ohm(clock.now())
    quiet.inject(SimFault.GEL_DRY)
    clock.advance(6 * 60.0 - 0.1)
    quiet.read_samples()
    dried = run(quiet, clock, 0.9)
    dried_load = load_ohm(dried, dried.t > clock.now() - 0.8)
    assert dried_load > 1.8 * before
    assert dried_load > 45_000.0
    quiet.apply_gel()
    clock.advance(2.0 - 0.9)  # the next pulse
    quiet.read_samples()
    fresh = run(quiet, clock, 0.9)
    restored = load_ohm(fresh, fresh.t > clock.now() - 0.8)
    assert restored == pytest.approx(quiet.skin.impedance_ohm(clock.now()), rel=0.01)
    assert restored < before  # soaked in by now, and no longer dry


def test_into_dried_gel_the_source_hits_its_compliance_rail(
    quiet: SimulatedMachine, clock: VirtualClock
) -> None:
    """1000 µA into ~32 kΩ of fresh gel needs 32 V: the current drops to what 15 V pushes,
    never above."""
    start(quiet, waveform(frequency_hz=0.5, current_ua=1000.0))
    block = run(quiet, clock, 0.9)
    limit_ua = quiet.capabilities.compliance_v / quiet.skin.impedance_ohm(clock.now()) * 1e6
    assert limit_ua < 1000.0
    assert block.current_ua.max() == pytest.approx(limit_ua, rel=0.01)
    assert block.voltage_v.max() <= quiet.capabilities.compliance_v + 1e-6


# -- faults ------------------------------------------------------------------------------------


def test_contact_loss_is_an_open_circuit_until_it_clears(
    machine: SimulatedMachine, clock: VirtualClock
) -> None:
    """Scheduled at 1.0 s for 0.5 s: ≈0 µA at the voltage rail (very high impedance), then normal."""
    machine.schedule(SimFault.CONTACT_LOSS, at_s=1.0, duration_s=0.5)
    start(machine, waveform(WaveShape.BIPHASIC, current_ua=300.0))  # every sample is a pulse
    before = run(machine, clock, 1.2)
    assert SimFault.CONTACT_LOSS in machine.active_faults
    assert machine.skin.contact is ContactState.LIFTED
    assert machine.skin.impedance_ohm(clock.now()) == math.inf
    after = run(machine, clock, 0.8)
    assert SimFault.CONTACT_LOSS not in machine.active_faults
    assert machine.skin.contact is ContactState.GOOD

    block = concat([before, after])
    lifted = (block.t > 1.0) & (block.t <= 1.5)
    touching = (block.t <= 1.0) | (block.t > 1.5)
    assert lifted.sum() == 1000
    assert np.all(np.abs(block.current_ua[lifted]) <= NOISE_BOUND_UA)
    assert np.all(np.abs(block.voltage_v[lifted]) >= machine.capabilities.compliance_v - 0.05)
    rms_ua = float(np.sqrt(np.mean(block.current_ua[lifted] ** 2)))
    assert float(np.median(np.abs(block.voltage_v[lifted]))) / (rms_ua * 1e-6) > 1e6
    assert np.all(np.abs(block.current_ua[touching][1:]) >= 300.0 - NOISE_BOUND_UA)
    assert load_ohm(block, touching & (block.t > 0.05)) < 60_000.0


def test_schedule_fault_by_name_and_unknown_names(
    quiet: SimulatedMachine, clock: VirtualClock
) -> None:
    """Faults are scheduled by their names; an unknown name is refused with the list of names."""
    assert set(quiet.fault_names) == {fault.value for fault in SimFault}
    quiet.schedule_fault("contact_loss", at_s=0.5)
    start(quiet, waveform(WaveShape.BIPHASIC))
    block = run(quiet, clock, 1.0)
    assert np.all(block.current_ua[block.t > 0.5] == 0.0)
    assert np.all(np.abs(block.current_ua[block.t <= 0.5][1:]) == pytest.approx(300.0))
    with pytest.raises(DriverError, match=r"unknown fault 'probe_melt'.*contact_loss"):
        quiet.schedule_fault("probe_melt", at_s=2.0)


def test_disconnect_silences_the_machine_and_loses_commands(
    machine: SimulatedMachine, clock: VirtualClock
) -> None:
    """Over a pulled cable nothing arrives: no samples, a stale heartbeat, commands lost."""
    start(machine, waveform(current_ua=300.0))
    run(machine, clock, 0.2)
    machine.inject(SimFault.DISCONNECT)
    heard = machine.status().last_heard_s
    sample_s = 1.0 / machine.sample_rate_hz
    assert heard == pytest.approx(0.2, abs=sample_s)
    for _ in range(5):
        assert len(run(machine, clock, 0.1)) == 0
        assert machine.status().last_heard_s == heard
    machine.set_amplitude(100.0)
    assert machine.amplitude_ua == 300.0  # the command never reached the machine
    machine.clear(SimFault.DISCONNECT)
    reconnected = run(machine, clock, 0.1)
    assert 199 <= len(reconnected) <= 201
    assert reconnected.t[0] > 0.7
    assert machine.status().last_heard_s == pytest.approx(clock.now(), abs=sample_s)


def test_firmware_watchdog_turns_the_output_off_half_a_second_after_the_last_command(
    machine: SimulatedMachine, clock: VirtualClock
) -> None:
    """Disconnected, the host's stop and other commands are lost; the machine's watchdog acts."""
    start(machine, waveform(current_ua=300.0))
    run(machine, clock, 1.0)  # connected: the host's last command is at 1.0 s
    machine.inject(SimFault.DISCONNECT)
    machine.stop_output()  # lost on the way: the output stays on
    assert machine.output_on
    for _ in range(4):
        clock.advance(0.1)
        machine.read_samples()  # lost too: it does not feed the watchdog
        assert machine.output_on, f"output went off early at {clock.now():g} s"
    clock.advance(0.09)
    assert machine.output_on  # 0.49 s without a command reaching the machine
    clock.advance(0.02)
    assert not machine.output_on  # 0.51 s
    assert FIRMWARE_WATCHDOG_S == 0.5
    # Reconnected, the machine does not turn the output back on by itself.
    machine.clear(SimFault.DISCONNECT)
    block = run(machine, clock, 1.0)
    assert not machine.output_on
    assert np.all(np.abs(block.current_ua) <= NOISE_BOUND_UA)


def test_driver_error_raises_once_then_the_machine_answers_again(
    machine: SimulatedMachine, clock: VirtualClock
) -> None:
    """The next host command raises DriverError; stop_output never raises; then all is normal."""
    start(machine, waveform())
    machine.inject(SimFault.DRIVER_ERROR)
    machine.stop_output()  # stop never raises, and does not use up the fault
    assert SimFault.DRIVER_ERROR in machine.active_faults
    clock.advance(0.1)
    with pytest.raises(DriverError, match="simulated driver fault"):
        machine.read_samples()
    assert SimFault.DRIVER_ERROR not in machine.active_faults
    assert len(machine.read_samples()) == 201
    assert machine.identify().model == "MC Simulator S-1"


def test_scheduled_driver_error_is_in_force_from_its_time(
    machine: SimulatedMachine, clock: VirtualClock
) -> None:
    """driver_error@0.5: not in force at 0.4 s (calls succeed), in force at 0.6 s (a call raises)."""
    machine.schedule_fault("driver_error", at_s=0.5)
    clock.advance(0.4)
    assert SimFault.DRIVER_ERROR not in machine.active_faults
    machine.identify()
    clock.advance(0.2)
    assert SimFault.DRIVER_ERROR in machine.active_faults
    with pytest.raises(DriverError):
        machine.identify()


def test_over_current_makes_the_measured_current_exceed_the_setting(
    quiet: SimulatedMachine, clock: VirtualClock
) -> None:
    """During an over-current fault the peak runs 1.6× the setting; cleared, it is the setting."""
    start(quiet, waveform(current_ua=250.0))
    quiet.inject(SimFault.OVER_CURRENT)
    faulty = run(quiet, clock, 1.0)
    assert faulty.current_ua.max() > 250.0 + NOISE_BOUND_UA
    assert faulty.current_ua.max() == pytest.approx(250.0 * OVER_CURRENT_FACTOR, rel=1e-6)
    quiet.clear(SimFault.OVER_CURRENT)
    normal = run(quiet, clock, 1.0)
    assert normal.current_ua.max() == pytest.approx(250.0, rel=1e-6)


# -- samples -----------------------------------------------------------------------------------


@pytest.mark.parametrize("rate_hz", [DEFAULT_SAMPLE_RATE_HZ, MAX_SAMPLE_RATE_HZ])
def test_samples_are_evenly_spaced_at_the_declared_rate_across_reads(rate_hz: float) -> None:
    """Irregular reads still give one gapless, strictly increasing grid at the declared rate."""
    clock = VirtualClock(start=12.34567)
    sim = SimulatedMachine(clock, sample_rate_hz=rate_hz)
    sim.open()
    opened = clock.now()
    start(sim, waveform())
    blocks = [run(sim, clock, step) for step in (0.0123, 0.5, 0.0001, 0.0, 0.3, 0.00005, 0.25)]
    for block in blocks:
        assert block.t.shape == block.current_ua.shape == block.voltage_v.shape
    t = concat(blocks).t
    assert np.all(np.diff(t) > 0)
    np.testing.assert_allclose(np.diff(t), 1.0 / rate_hz, rtol=1e-6)
    assert opened <= t[0] < opened + 1.0 / rate_hz
    assert clock.now() - 1.0 / rate_hz < t[-1] <= clock.now()
    sim.close()


def test_output_never_flows_before_output_on_or_after_output_off(
    quiet: SimulatedMachine, clock: VirtualClock
) -> None:
    """Configured and set to 400 µA but not started: nothing flows; after stop: nothing flows."""
    quiet.configure(waveform(WaveShape.BIPHASIC, current_ua=400.0))
    quiet.set_amplitude(400.0)
    idle = run(quiet, clock, 1.0)
    assert len(idle) == 2001
    assert not quiet.output_on
    assert np.all(idle.current_ua == 0.0)
    quiet.start_output()
    on = run(quiet, clock, 1.0)
    assert np.all(np.abs(on.current_ua) == pytest.approx(400.0))
    quiet.stop_output()
    off = run(quiet, clock, 1.0)
    assert not quiet.output_on
    assert np.all(off.current_ua == 0.0)


def test_output_cannot_start_before_a_waveform_is_configured(machine: SimulatedMachine) -> None:
    """start_output without configure is refused."""
    with pytest.raises(DriverError, match="before a waveform is configured"):
        machine.start_output()
    assert not machine.output_on


def test_a_new_amplitude_shows_only_in_samples_after_the_call(
    quiet: SimulatedMachine, clock: VirtualClock
) -> None:
    """Samples are causal: the amplitude set at 0.5 s changes nothing measured up to 0.5 s."""
    start(quiet, waveform(WaveShape.BIPHASIC, current_ua=300.0), amplitude_ua=100.0)
    clock.advance(0.5)
    quiet.set_amplitude(300.0)
    block = run(quiet, clock, 0.5)
    magnitude = np.abs(block.current_ua)
    assert np.all(magnitude[(block.t > 0) & (block.t <= 0.5)] == pytest.approx(100.0))
    assert np.all(magnitude[block.t > 0.5] == pytest.approx(300.0))


@pytest.mark.parametrize(
    "current_ua", [HARD_MAX_CURRENT_UA + 10.0, 5_000.0, -10.0, math.inf, math.nan]
)
def test_amplitudes_outside_the_capabilities_are_refused(
    machine: SimulatedMachine, current_ua: float
) -> None:
    """The machine refuses an amplitude outside 0–1000 µA and keeps the one it had."""
    machine.set_amplitude(200.0)
    with pytest.raises(DriverError, match="outside the machine's range"):
        machine.set_amplitude(current_ua)
    assert machine.amplitude_ua == 200.0


@pytest.mark.parametrize(
    ("wave", "complaint"),
    [
        (waveform(current_ua=1_500.0), "above the hard limit"),
        (waveform(current_ua=5.0), "outside the machine's 10–1000 µA"),
        (waveform(current_ua=305.0), "not a multiple"),
        (waveform(frequency_hz=2_000.0), "frequency 2000.0 Hz is outside"),
        (waveform(frequency_hz=0.05), "frequency 0.05 Hz is outside"),
    ],
)
def test_settings_outside_the_capabilities_are_refused_before_sending(
    machine: SimulatedMachine, wave: Waveform, complaint: str
) -> None:
    """The core's check against the simulator's capabilities names what is wrong."""
    problems = capability_problems(wave, machine.capabilities)
    assert any(complaint in problem for problem in problems), problems


def test_a_valid_setting_passes_the_capability_check(machine: SimulatedMachine) -> None:
    """Every shape and polarity at 0.1, 10 and 1000 Hz, 10 and 1000 µA, is within capabilities."""
    for shape in WaveShape:
        for polarity in Polarity:
            for frequency_hz in (0.1, 10.0, 1_000.0):
                for current_ua in (10.0, 1_000.0):
                    # Alternating phases hold whole periods: 10 s is one period at 0.1 Hz.
                    wave = waveform(shape, frequency_hz, current_ua, polarity, 10.0)
                    assert capability_problems(wave, machine.capabilities) == []


# -- property: the current never exceeds the setting -------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    shape=st.sampled_from(list(WaveShape)),
    frequency_hz=st.floats(0.1, 1_000.0),
    current_ua=st.integers(1, 100).map(lambda tens: tens * 10.0),
    polarity=st.sampled_from(list(Polarity)),
    periods_per_phase=st.integers(0, 20),
    rate_hz=st.sampled_from([DEFAULT_SAMPLE_RATE_HZ, 5_000.0, MAX_SAMPLE_RATE_HZ]),
    start_s=st.floats(0.0, 3_600.0),
    ramp=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=5),
    hold_s=st.floats(0.001, 0.2),
    seed=st.integers(0, 2**32 - 1),
)
def test_measured_current_never_exceeds_the_setting_by_more_than_the_noise(
    shape: WaveShape,
    frequency_hz: float,
    current_ua: float,
    polarity: Polarity,
    periods_per_phase: int,
    rate_hz: float,
    start_s: float,
    ramp: list[float],
    hold_s: float,
    seed: int,
) -> None:
    """For any valid setting, however the amplitude is stepped up to it, |i| ≤ setting + noise."""
    # A polarity phase holds whole periods and lasts at least 0.5 s (the console's rules).
    periods = max(math.ceil(0.5 * frequency_hz), periods_per_phase)
    wave = Waveform(shape, frequency_hz, current_ua, polarity, periods / frequency_hz, 1.0)
    assert wave.problems() == []
    clock = VirtualClock(start=start_s)
    sim = SimulatedMachine(clock, sample_rate_hz=rate_hz, seed=seed)
    sim.open()
    sim.configure(wave)
    sim.set_amplitude(0.0)
    sim.start_output()
    blocks = []
    for fraction in [*sorted(ramp), 1.0]:
        setting = fraction * current_ua
        sim.set_amplitude(setting)
        clock.advance(hold_s)
        block = sim.read_samples()
        assert np.all(np.abs(block.current_ua) <= setting + NOISE_BOUND_UA)
        blocks.append(block)
    sim.close()
    assert np.all(np.abs(concat(blocks).current_ua) <= current_ua + NOISE_BOUND_UA)


# -- defects found by these tests, fixed: they stay as regression tests ------------------------


def test_a_block_of_exactly_the_noise_table_size_can_be_read(clock: VirtualClock) -> None:
    """65536 samples (32.7675 s at 2 kS/s) read in one block must not crash the skin model."""
    sim = SimulatedMachine(clock)
    sim.open()
    clock.advance(65_535 / DEFAULT_SAMPLE_RATE_HZ)
    assert len(sim.read_samples()) == 65_536


def test_a_command_after_a_scheduled_disconnect_is_lost(
    machine: SimulatedMachine, clock: VirtualClock
) -> None:
    """disconnect@0.5, set_amplitude at 0.6 s: the cable was already pulled, the command is lost."""
    start(machine, waveform(current_ua=300.0))
    machine.schedule_fault("disconnect", at_s=0.5)
    clock.advance(0.6)
    machine.set_amplitude(100.0)
    assert machine.amplitude_ua == 300.0


def test_the_first_call_after_a_scheduled_driver_error_raises(
    machine: SimulatedMachine, clock: VirtualClock
) -> None:
    """driver_error@0.5: the first host command after 0.5 s raises."""
    machine.schedule_fault("driver_error", at_s=0.5)
    clock.advance(0.6)
    with pytest.raises(DriverError):
        machine.read_samples()
