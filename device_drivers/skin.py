"""A simulated skin load: what a current-controlled stimulator measures through gel-coated skin.

Electrical model (a common first-order electrode–skin model)::

    source ──R_gel(t)──┬──R_tissue──┬── return
                       └──C_tissue──┘

* ``R_gel`` is the electrode–gel–stratum-corneum resistance. It rises as the conductive gel dries
  (a few per cent a minute), which is why operators re-apply gel on long sessions.
* ``R_tissue || C_tissue`` makes the load look lower at high frequency than at low frequency.
* The source is current-controlled up to its compliance voltage: into a dried or lifted probe the
  delivered current drops and the voltage rises to the rail, as on a real machine.
* A lifted probe is an open circuit (no current, voltage at the rail); touching probes are a short.

The capacitor voltage is integrated exactly for piecewise-constant current, block by block with
numpy (a lower-triangular kernel per chunk), so a whole session simulates in well under a second.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np

#: Samples per chunk of the vectorised first-order filter (bounded so powers of the pole stay exact).
_CHUNK = 64
#: Resistance of two probes touching each other.
SHORT_CIRCUIT_OHM = 40.0
#: Capacitor voltage below which the tissue counts as discharged (far below the noise floor).
_NEGLIGIBLE_V = 1e-12
#: Length of the pre-drawn unit-normal noise table (about 33 s at 2 kS/s before it repeats at a
#: new random offset); drawing noise per block would cost more than the rest of the model.
_NOISE_TABLE = 1 << 16


class ContactState(enum.StrEnum):
    """How the probes touch the skin."""

    GOOD = "good"
    LIFTED = "lifted"
    SHORTED = "shorted"


@dataclass(frozen=True, slots=True)
class SkinParameters:
    """Load parameters; the defaults are gel-coated facial skin with a fresh layer of gel."""

    gel_resistance_ohm: float = 2_500.0
    tissue_resistance_ohm: float = 4_000.0
    tissue_capacitance_f: float = 0.15e-6
    #: Relative rise of the gel resistance per minute as the gel dries.
    drying_per_minute: float = 0.05
    current_noise_ua: float = 0.5
    voltage_noise_v: float = 0.004


class SkinModel:
    """Stateful load: feed it the commanded current, get the measured current and voltage."""

    def __init__(
        self, params: SkinParameters | None = None, *, sample_rate_hz: float, seed: int = 0
    ) -> None:
        self.params = params or SkinParameters()
        self.contact = ContactState.GOOD
        self.gel_applied_at_s = 0.0
        self._rng = np.random.default_rng(seed)
        self._noise = self._rng.standard_normal(_NOISE_TABLE)
        self._noise_at = 0
        self._v_cap = 0.0
        dt = 1.0 / sample_rate_hz
        tau = self.params.tissue_resistance_ohm * self.params.tissue_capacitance_f
        a = math.exp(-dt / tau) if tau > 0 else 0.0
        exponents = np.arange(_CHUNK)[:, None] - np.arange(_CHUNK)[None, :]
        self._kernel = np.where(exponents >= 0, a ** np.clip(exponents, 0, None), 0.0)
        self._carry_powers = a ** np.arange(1, _CHUNK + 1)
        self._gain = (1.0 - a) * self.params.tissue_resistance_ohm

    def reapply_gel(self, at_s: float) -> None:
        """Fresh gel: the gel resistance drops back to its starting value."""
        self.gel_applied_at_s = at_s

    def gel_resistance_ohm(self, at_s: float) -> float:
        """The electrode–gel resistance at clock time ``at_s``."""
        minutes = max(0.0, at_s - self.gel_applied_at_s) / 60.0
        return self.params.gel_resistance_ohm * (1.0 + self.params.drying_per_minute * minutes)

    def impedance_ohm(self, at_s: float) -> float:
        """The DC load the source sees (infinite when a probe is lifted)."""
        if self.contact is ContactState.LIFTED:
            return math.inf
        if self.contact is ContactState.SHORTED:
            return SHORT_CIRCUIT_OHM
        return self.gel_resistance_ohm(at_s) + self.params.tissue_resistance_ohm

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
        if self.contact is ContactState.LIFTED:
            current = np.zeros(n)
            voltage = np.sign(commanded_ua) * compliance_v
            self._v_cap *= 0.0  # the tissue discharges through itself once disconnected
        elif self.contact is ContactState.SHORTED:
            limit_ua = compliance_v / SHORT_CIRCUIT_OHM * 1e6
            current = np.clip(commanded_ua, -limit_ua, limit_ua)
            voltage = current * 1e-6 * SHORT_CIRCUIT_OHM
        else:
            r_gel = self.gel_resistance_ohm(float(t[-1]))
            # Compliance: the source cannot push more than its rail through the DC load.
            limit_ua = compliance_v / (r_gel + p.tissue_resistance_ohm) * 1e6
            if peak_ua is not None and peak_ua <= limit_ua:
                current = commanded_ua
            else:
                current = np.clip(commanded_ua, -limit_ua, limit_ua)
            v_cap = self._integrate_capacitor(current * 1e-6)
            voltage = current * 1e-6 * r_gel + v_cap
        current = current + p.current_noise_ua * self._draw_noise(n)
        voltage = voltage + p.voltage_noise_v * self._draw_noise(n)
        return current, voltage

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
