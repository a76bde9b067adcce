"""The simulated skin against published skin impedance, and how it changes over a session.

Reference: J. Rosell, J. Colominas, P. Riu, R. Pallàs-Areny, J. G. Webster, "Skin impedance from
1 Hz to 1 MHz", IEEE Trans Biomed Eng 35(8):649–651, 1988. Gel-coated, unprepared skin at ten
sites (thorax, leg, forehead) of ten subjects: for a 1 cm² site, 10 kΩ–1 MΩ at 1 Hz, about
220 Ω at 100 kHz and about 120 Ω at 1 MHz. Two probes of A cm² in series read twice a site's
value divided by A.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from device_drivers.skin import (
    PUBLISHED_1HZ_OHM_CM2,
    PUBLISHED_1MHZ_OHM_CM2,
    PUBLISHED_100KHZ_OHM_CM2,
    SkinModel,
    SkinParameters,
    SkinType,
)

SWEEP_HZ = (1.0, 10.0, 100.0, 1_000.0, 10_000.0, 100_000.0, 1_000_000.0)


def two_probes(value_ohm_cm2: float, params: SkinParameters) -> float:
    """A per-cm² site value for the model's two probes in series."""
    return 2.0 * value_ohm_cm2 / params.probe_area_cm2


def published_range(frequency_hz: float, params: SkinParameters) -> tuple[float, float]:
    """What the reference allows at ``frequency_hz`` for two probes.

    It gives 1 Hz as a range, 100 kHz and 1 MHz as "about" a value (read here as within a factor
    of 1.6 either way). Between them skin impedance only falls with frequency, so an
    intermediate frequency must lie between the bounds of its neighbours.
    """
    low_1hz, high_1hz = (two_probes(v, params) for v in PUBLISHED_1HZ_OHM_CM2)
    at_100k = two_probes(PUBLISHED_100KHZ_OHM_CM2, params)
    at_1m = two_probes(PUBLISHED_1MHZ_OHM_CM2, params)
    if frequency_hz <= 1.0:
        return low_1hz, high_1hz
    if frequency_hz < 100_000.0:
        return at_100k / 1.6, high_1hz
    if frequency_hz == 100_000.0:
        return at_100k / 1.6, at_100k * 1.6
    return at_1m / 1.6, at_1m * 1.6


def soaked_model(skin_type: SkinType) -> SkinModel:
    """Gel applied at 0 s and soaked in by 600 s, with no drying yet (the sweep's moment)."""
    model = SkinModel(
        SkinParameters(skin_type=skin_type, drying_per_minute=0.0), sample_rate_hz=2_000.0
    )
    model.apply_gel(0.0)
    return model


@pytest.mark.parametrize("skin_type", list(SkinType))
def test_the_impedance_sweep_lies_inside_the_published_ranges(skin_type: SkinType) -> None:
    model = soaked_model(skin_type)
    rows = []
    for frequency in SWEEP_HZ:
        magnitude = abs(model.impedance_at(frequency, 600.0))
        low, high = published_range(frequency, model.params)
        rows.append((frequency, magnitude, low, high))
    print(f"\n{skin_type.value} skin, two {model.params.probe_area_cm2:g} cm² probes:")
    print(f"{'Hz':>9} {'|Z| model':>12} {'published from':>15} {'to':>12}")
    for frequency, magnitude, low, high in rows:
        print(f"{frequency:>9g} {magnitude:>10,.0f} Ω {low:>13,.0f} Ω {high:>10,.0f} Ω")
    for frequency, magnitude, low, high in rows:
        assert low <= magnitude <= high, (skin_type, frequency, magnitude, low, high)
    magnitudes = [row[1] for row in rows]
    assert magnitudes == sorted(magnitudes, reverse=True)  # falls with frequency throughout
    # Tens of kΩ at low frequency, a few hundred Ω at 100 kHz (a 2 kS/s machine sees the first).
    assert 10_000.0 <= magnitudes[0] <= 60_000.0
    assert 100.0 <= magnitudes[SWEEP_HZ.index(100_000.0)] <= 500.0


def test_skin_types_order_oily_normal_dry() -> None:
    loads = [
        soaked_model(t).impedance_ohm(600.0) for t in (SkinType.OILY, SkinType.NORMAL, SkinType.DRY)
    ]
    assert loads == sorted(loads)
    assert loads[-1] / loads[0] > 2.0


@pytest.mark.parametrize("frequency_hz", [1.0, 10.0, 100.0, 1_000.0])
def test_the_time_domain_model_measures_the_impedance_it_states(frequency_hz: float) -> None:
    """A sine of current through the sampled model (20 kS/s) gives the analytic |Z|."""
    params = SkinParameters(current_noise_ua=0.0, voltage_noise_v=0.0, drying_per_minute=0.0)
    model = SkinModel(params, sample_rate_hz=20_000.0)
    model.apply_gel(-10_000.0)  # long soaked: a constant load during the measurement
    t = np.arange(0, int(20_000 * max(2.0, 4.0 / frequency_hz))) / 20_000.0
    current = 100.0 * np.sin(2 * math.pi * frequency_hz * t)
    measured_i, measured_v = model.respond(t, current, compliance_v=100.0, peak_ua=100.0)
    settled = t > t[-1] / 2  # after the capacitor's start-up
    i_rms = np.sqrt(np.mean((measured_i[settled] * 1e-6) ** 2))
    v_rms = np.sqrt(np.mean(measured_v[settled] ** 2))
    expected = abs(model.impedance_at(frequency_hz, 0.0))
    # The sampled model holds each current for a sample: within a few % at 1 kHz, exact below.
    assert v_rms / i_rms == pytest.approx(expected, rel=0.05 if frequency_hz >= 1_000 else 0.01)


def test_fresh_gel_soaks_in_over_minutes_and_then_dries() -> None:
    model = SkinModel(SkinParameters(), sample_rate_hz=2_000.0)
    model.apply_gel(0.0)
    fresh, soaked, later = (model.impedance_ohm(t) for t in (0.0, 360.0, 1_560.0))
    params = model.params
    assert fresh == pytest.approx(params.deep_tissue_ohm + params.soaked_ohm * 1.6, rel=1e-9)
    assert soaked < 0.8 * fresh
    assert later > soaked  # 26 minutes of drying
    assert later < 50_000.0  # but an ordinary session stays clear of the gel prompt


def test_fresh_gel_undoes_the_drying_and_the_skin_stays_hydrated() -> None:
    model = SkinModel(SkinParameters(), sample_rate_hz=2_000.0)
    model.apply_gel(0.0)
    model.set_fast_drying(True, 600.0)
    dried = model.impedance_ohm(960.0)
    model.apply_gel(960.0)
    regelled = model.impedance_ohm(960.0)
    assert dried > 45_000.0
    assert regelled == pytest.approx(
        model.params.deep_tissue_ohm + model.params.soaked_ohm, rel=0.01
    )


def test_a_new_client_starts_with_unsoaked_skin() -> None:
    model = SkinModel(SkinParameters(), sample_rate_hz=2_000.0)
    model.apply_gel(0.0)
    dried = model.impedance_ohm(3_600.0)  # an hour of drying on the last client
    model.new_client(3_600.0)
    params = model.params
    fresh = params.deep_tissue_ohm + params.soaked_ohm * params.fresh_gel_factor
    assert model.impedance_ohm(3_600.0) == pytest.approx(fresh, rel=1e-9)
    assert model.impedance_ohm(3_600.0 + 600.0) < fresh < dried


def test_the_description_names_the_skin_and_probes() -> None:
    text = SkinParameters(skin_type=SkinType.DRY).describe()
    assert text.startswith("dry skin, 30 kΩ·cm² (2 × 2 cm² probes:")
