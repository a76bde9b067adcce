"""What a training scenario asks of a simulated machine: the client's skin and the faults to play.

The scenario format (:mod:`console.scenarios`) describes a client and a timeline of faults; a
simulated machine, which a plugin provides, plays them. This module is the vocabulary the two share,
so the core needs no simulator to read a scenario:

* :class:`ClientSkin` reaches the simulated machine's factory as its ``skin`` option.
* :class:`SimulatedFault` names the faults a scenario may plan; a simulated machine offers them as
  its ``fault_names`` (:class:`console.faults.FaultInjector`).

The skin values come from Rosell et al., "Skin impedance from 1 Hz to 1 MHz", IEEE Trans Biomed Eng
35(8):649–651, 1988: at 1 Hz, gel-coated unprepared skin measured 10 kΩ to 1 MΩ for 1 cm².
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

#: Rosell et al. 1988: the range of a 1 cm² gel-coated site at 1 Hz, Ω·cm².
PUBLISHED_1HZ_OHM_CM2 = (10_000.0, 1_000_000.0)


class SkinType(enum.StrEnum):
    """The client's skin, as a practitioner classes it at consultation."""

    OILY = "oily"
    NORMAL = "normal"
    DRY = "dry"


#: Stratum-corneum resistance with the gel soaked in, Ω·cm², by skin type: the low end of Rosell's
#: 10 kΩ–1 MΩ per cm² at 1 Hz (gel-hydrated facial skin); oily skin conducts best, dry worst.
SKIN_TYPE_OHM_CM2: dict[SkinType, float] = {
    SkinType.OILY: 12_000.0,
    SkinType.NORMAL: 20_000.0,
    SkinType.DRY: 30_000.0,
}


@dataclass(frozen=True, slots=True)
class ClientSkin:
    """A scenario client's skin: its type and, if the trainer set it, its own resistance."""

    skin_type: SkinType = SkinType.NORMAL
    #: Stratum-corneum resistance of 1 cm² once the gel has soaked in; ``None``: the skin type's.
    stratum_corneum_ohm_cm2: float | None = None

    def __post_init__(self) -> None:
        low, high = PUBLISHED_1HZ_OHM_CM2
        value = self.stratum_corneum_ohm_cm2
        if value is not None and not low <= value <= high:
            raise ValueError(
                f"a skin resistance of {value:g} Ω·cm² is outside the published "
                f"{low:g}–{high:g} Ω·cm² at 1 Hz"
            )

    @property
    def soaked_ohm_cm2(self) -> float:
        """The stratum corneum's resistance of 1 cm² once the gel has soaked in."""
        if self.stratum_corneum_ohm_cm2 is not None:
            return self.stratum_corneum_ohm_cm2
        return SKIN_TYPE_OHM_CM2[self.skin_type]

    def describe(self) -> str:
        """``oily skin, 12 kΩ·cm² once the gel has soaked in``."""
        return (
            f"{self.skin_type.value} skin, {self.soaked_ohm_cm2 / 1000:g} kΩ·cm² "
            f"once the gel has soaked in"
        )


class SimulatedFault(enum.StrEnum):
    """The faults a training scenario can plan on a simulated machine."""

    CONTACT_LOSS = "contact_loss"  #: a probe lifts: open circuit
    SHORT_CIRCUIT = "short_circuit"  #: the probes touch
    DISCONNECT = "disconnect"  #: the machine stops answering (cable pulled)
    DRIVER_ERROR = "driver_error"  #: the next driver call raises
    OVER_CURRENT = "over_current"  #: the measured current runs above the setting
    STALL = "stall"  #: driver calls hang (a stuck port); only stop_output and close still work
    GEL_DRY = (
        "gel_dry"  #: the gel dries fast (a thin layer, a warm room): re-apply it, or lose contact
    )
    POLARITY_STUCK = "polarity_stuck"  #: the output stage no longer reverses: positive only
