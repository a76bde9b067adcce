"""A simulated skin load: what a current-controlled stimulator measures through gel-coated skin.

Electrical model (the common first-order electrode–skin model: the stratum corneum is the
capacitive part, the tissue beneath it a plain resistance)::

    source ──R_deep──┬──R_sc(t)──┬── return        R_sc, C_sc: both probes' stratum corneum
                     └───C_sc────┘                 R_deep: the tissue between the probes

Values are fitted to Rosell et al., "Skin impedance from 1 Hz to 1 MHz", IEEE Trans Biomed Eng
35(8):649–651, 1988 (gel-coated, unprepared skin, ten sites including the forehead, ten
subjects), for two probes of :attr:`SkinParameters.probe_area_cm2` each, current in one and out
of the other (two sites in series):

* At 1 Hz a 1 cm² site measured 10 kΩ to 1 MΩ: the stratum corneum's resistance. Facial skin
  under conductive gel is hydrated, so the skin types below sit in the low part of that range.
* At 1 MHz the sites clustered about 120 Ω·cm² and at 100 kHz about 220 Ω·cm². The 1 MHz value
  is the series (deep) part; the rest at 100 kHz is the stratum corneum's reactance,
  √(220² − 120²) ≈ 184 Ω·cm², which makes its capacitance ≈ 8.6 nF per cm².

Over time, as practitioners know it:

* **Soaking in.** Fresh gel has not yet hydrated the stratum corneum: its resistance starts
  :attr:`~SkinParameters.fresh_gel_factor` times higher and falls to its soaked value with a
  time constant of a couple of minutes.
* **Drying.** Exposed gel dries: the resistance rises by :attr:`~SkinParameters.drying_per_minute`
  of its value a minute since the gel was last applied (a fast-drying fault multiplies that).
  Fresh gel (:meth:`SkinModel.apply_gel`) undoes the drying; the skin stays hydrated.
* The source is current-controlled up to its compliance voltage: into dried gel or a lifted
  probe the delivered current drops and the voltage rises to the rail, as on a real machine.
* A lifted probe is an open circuit (no current, voltage at the rail); touching probes a short.

The capacitor voltage is integrated exactly for piecewise-constant current, block by block with
numpy (a lower-triangular kernel per chunk), so a whole session simulates in well under a second.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np

# The client's side of the model (skin types, the published range at 1 Hz) is the plugin API's:
# training scenarios describe clients with it. Re-exported here for this model's users.
from console.api import PUBLISHED_1HZ_OHM_CM2 as PUBLISHED_1HZ_OHM_CM2
from console.api import SKIN_TYPE_OHM_CM2, ClientSkin, SkinType

#: Samples per chunk of the vectorised first-order filter (bounded so powers of the pole stay exact).
_CHUNK = 64
#: Resistance of two probes touching each other.
SHORT_CIRCUIT_OHM = 40.0
#: Capacitor voltage below which the stratum corneum counts as discharged (far below the noise).
_NEGLIGIBLE_V = 1e-12
#: Length of the pre-drawn unit-normal noise table (about 33 s at 2 kS/s before it repeats at a
#: new random offset); drawing noise per block would cost more than the rest of the model.
_NOISE_TABLE = 1 << 16
#: The pole of the filter is rebuilt when the stratum corneum's resistance has moved this much.
_REBUILD_FRACTION = 0.005
#: How much faster the gel dries during the ``gel_dry`` fault (a thin layer under a warm lamp).
FAST_DRYING_FACTOR = 10.0

#: Rosell et al. 1988: a 1 cm² site at 100 kHz and at 1 MHz, Ω·cm² ("about" these values).
PUBLISHED_100KHZ_OHM_CM2 = 220.0
PUBLISHED_1MHZ_OHM_CM2 = 120.0


class ContactState(enum.StrEnum):
    """How the probes touch the skin."""

    GOOD = "good"
    LIFTED = "lifted"
    SHORTED = "shorted"


@dataclass(frozen=True, slots=True)
class SkinParameters:
    """One client's skin under two gelled probes; the defaults are normal facial skin."""

    skin_type: SkinType = SkinType.NORMAL
    #: Stratum-corneum resistance of 1 cm² once the gel has soaked in; ``None``: the skin type's.
    stratum_corneum_ohm_cm2: float | None = None
    #: Stratum-corneum capacitance of 1 cm² (fitted to Rosell's 100 kHz and 1 MHz values).
    stratum_corneum_f_per_cm2: float = 8.6e-9
    #: The tissue between the probes (Rosell's 1 MHz value for two 2 cm² sites, plus a little).
    deep_tissue_ohm: float = 150.0
    #: Gelled contact area of each probe.
    probe_area_cm2: float = 2.0
    #: Fresh gel: how much higher the stratum corneum's resistance is before the gel soaks in...
    fresh_gel_factor: float = 1.6
    #: ...and how fast that excess falls (time constant).
    soak_time_constant_s: float = 120.0
    #: Relative rise of the stratum corneum's resistance per minute as the gel dries.
    drying_per_minute: float = 0.02
    current_noise_ua: float = 0.5
    voltage_noise_v: float = 0.004

    @classmethod
    def for_client(cls, client: ClientSkin) -> SkinParameters:
        """The skin of a scenario's client (its type and resistance; the rest as usual)."""
        return cls(
            skin_type=client.skin_type, stratum_corneum_ohm_cm2=client.stratum_corneum_ohm_cm2
        )

    @property
    def soaked_ohm_cm2(self) -> float:
        """The stratum corneum's resistance of 1 cm² once the gel has soaked in."""
        if self.stratum_corneum_ohm_cm2 is not None:
            return self.stratum_corneum_ohm_cm2
        return SKIN_TYPE_OHM_CM2[self.skin_type]

    @property
    def soaked_ohm(self) -> float:
        """Both probes' stratum corneum in series, soaked (Ω)."""
        return 2.0 * self.soaked_ohm_cm2 / self.probe_area_cm2

    @property
    def capacitance_f(self) -> float:
        """Both probes' stratum-corneum capacitance in series (F)."""
        return self.stratum_corneum_f_per_cm2 * self.probe_area_cm2 / 2.0

    def describe(self) -> str:
        """``normal skin, 20 kΩ·cm² (2 × 2 cm² probes: 20.2 kΩ at 1 Hz)``."""
        return (
            f"{self.skin_type.value} skin, {self.soaked_ohm_cm2 / 1000:g} kΩ·cm² "
            f"(2 × {self.probe_area_cm2:g} cm² probes: "
            f"{(self.soaked_ohm + self.deep_tissue_ohm) / 1000:.1f} kΩ at 1 Hz once soaked)"
        )


@dataclass
class _Gel:
    """The gel's history: when it first went on (the skin soaks from then) and how dry it is."""

    first_applied_s: float | None = None
    dryness: float = 0.0  #: relative rise of resistance from drying, up to ``marked_s``
    marked_s: float = 0.0
    rate_per_minute: float = 0.0


class SkinModel:
    """Stateful load: feed it the commanded current, get the measured current and voltage."""

    def __init__(
        self, params: SkinParameters | None = None, *, sample_rate_hz: float, seed: int = 0
    ) -> None:
        self.params = params or SkinParameters()
        self.contact = ContactState.GOOD
        self._dt = 1.0 / sample_rate_hz
        self._rng = np.random.default_rng(seed)
        self._noise = self._rng.standard_normal(_NOISE_TABLE)
        self._noise_at = 0
        self._v_cap = 0.0
        self._gel = _Gel(rate_per_minute=self.params.drying_per_minute)
        self._pole_for_ohm = math.nan

    # -- the gel ---------------------------------------------------------------------------

    def apply_gel(self, at_s: float) -> None:
        """Fresh gel at clock time ``at_s``: the drying is undone; the first application also
        starts the soaking in."""
        gel = self._gel
        if gel.first_applied_s is None:
            gel.first_applied_s = at_s
        gel.dryness = 0.0
        gel.marked_s = at_s

    def new_client(self, at_s: float) -> None:
        """A new client under the probes: fresh gel on skin that has not soaked yet."""
        self._gel.first_applied_s = None
        self.apply_gel(at_s)

    def set_fast_drying(self, fast: bool, at_s: float) -> None:
        """The gel starts (or stops) drying :data:`FAST_DRYING_FACTOR` times faster."""
        gel = self._gel
        gel.dryness = self._dryness(at_s)
        gel.marked_s = at_s
        factor = FAST_DRYING_FACTOR if fast else 1.0
        gel.rate_per_minute = self.params.drying_per_minute * factor

    def _dryness(self, at_s: float) -> float:
        gel = self._gel
        return gel.dryness + gel.rate_per_minute * max(0.0, at_s - gel.marked_s) / 60.0

    def _soak_excess(self, at_s: float) -> float:
        first = self._gel.first_applied_s
        if first is None:
            first = at_s  # gel goes on with the first current
        since = max(0.0, at_s - first)
        return (self.params.fresh_gel_factor - 1.0) * math.exp(
            -since / self.params.soak_time_constant_s
        )

    # -- the load --------------------------------------------------------------------------

    def stratum_corneum_ohm(self, at_s: float) -> float:
        """Both probes' stratum-corneum resistance at clock time ``at_s``."""
        return (
            self.params.soaked_ohm * (1.0 + self._soak_excess(at_s)) * (1.0 + self._dryness(at_s))
        )

    def impedance_ohm(self, at_s: float) -> float:
        """The DC load the source sees (infinite when a probe is lifted)."""
        if self.contact is ContactState.LIFTED:
            return math.inf
        if self.contact is ContactState.SHORTED:
            return SHORT_CIRCUIT_OHM
        return self.params.deep_tissue_ohm + self.stratum_corneum_ohm(at_s)

    def impedance_at(self, frequency_hz: float, at_s: float) -> complex:
        """The complex impedance of the probes on the skin at ``frequency_hz`` (a sweep)."""
        r_sc = self.stratum_corneum_ohm(at_s)
        admittance = 1.0 / r_sc + 2j * math.pi * frequency_hz * self.params.capacitance_f
        return self.params.deep_tissue_ohm + 1.0 / admittance

    def respond(
        self,
        t: np.ndarray,
        commanded_ua: np.ndarray,
        compliance_v: float,
        peak_ua: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Measured (current µA, voltage V) for the commanded current at times ``t``.

        ``peak_ua`` (the largest |commanded| value, if the caller knows it) skips the compliance
        clip when the source is far from its rail, the usual case.
        """
        n = t.shape[0]
        if n == 0:
            return np.empty(0), np.empty(0)
        p = self.params
        if self._gel.first_applied_s is None and peak_ua:
            self.apply_gel(float(t[0]))
        if self.contact is ContactState.LIFTED:
            current = np.zeros(n)
            voltage = np.sign(commanded_ua) * compliance_v
            self._v_cap = 0.0  # the stratum corneum discharges through itself once lifted
        elif self.contact is ContactState.SHORTED:
            limit_ua = compliance_v / SHORT_CIRCUIT_OHM * 1e6
            current = np.clip(commanded_ua, -limit_ua, limit_ua)
            voltage = current * 1e-6 * SHORT_CIRCUIT_OHM
        else:
            r_sc = self._prepare_pole(self.stratum_corneum_ohm(float(t[-1])))
            # Compliance: the source cannot push more than its rail through the DC load.
            limit_ua = compliance_v / (r_sc + p.deep_tissue_ohm) * 1e6
            if peak_ua is not None and peak_ua <= limit_ua:
                current = commanded_ua
            else:
                current = np.clip(commanded_ua, -limit_ua, limit_ua)
            v_cap = self._integrate_capacitor(current * 1e-6)
            voltage = current * 1e-6 * p.deep_tissue_ohm + v_cap
        current = current + p.current_noise_ua * self._draw_noise(n)
        voltage = voltage + p.voltage_noise_v * self._draw_noise(n)
        return current, voltage

    def _prepare_pole(self, r_sc: float) -> float:
        """The filter's kernel for the stratum corneum's present resistance, which it returns
        as the model holds it: it drifts slowly as the gel soaks in and dries, so the kernel is
        rebuilt only when it has moved."""
        if abs(r_sc - self._pole_for_ohm) <= _REBUILD_FRACTION * r_sc:
            return self._pole_for_ohm
        self._pole_for_ohm = r_sc
        tau = r_sc * self.params.capacitance_f
        a = math.exp(-self._dt / tau) if tau > 0 else 0.0
        exponents = np.arange(_CHUNK)[:, None] - np.arange(_CHUNK)[None, :]
        self._kernel = np.where(exponents >= 0, a ** np.clip(exponents, 0, None), 0.0)
        self._carry_powers = a ** np.arange(1, _CHUNK + 1)
        self._gain = (1.0 - a) * r_sc
        return r_sc

    def _draw_noise(self, n: int) -> np.ndarray:
        """``n`` unit-normal values from the table, continuing where the last draw ended."""
        start = self._noise_at
        if start + n > _NOISE_TABLE:
            if n >= _NOISE_TABLE:
                return self._rng.standard_normal(n)
            start = int(self._rng.integers(0, _NOISE_TABLE - n))
        self._noise_at = start + n
        return self._noise[start : start + n]

    def _integrate_capacitor(self, current_a: np.ndarray) -> np.ndarray:
        """Exact discrete solution of C dV/dt = i - V/R for piecewise-constant ``current_a``."""
        n = current_a.shape[0]
        chunks = -(-n // _CHUNK)
        padded = np.zeros(chunks * _CHUNK)
        padded[:n] = current_a * self._gain
        forced = padded.reshape(chunks, _CHUNK) @ self._kernel.T
        carry = self._v_cap
        for row in forced:
            if abs(carry) > _NEGLIGIBLE_V:  # a fully discharged capacitor would decay into
                row += self._carry_powers * carry  # subnormal floats, 100x slower to compute
            carry = row[-1]
        out = forced.reshape(-1)[:n]
        self._v_cap = float(out[-1])
        return out
