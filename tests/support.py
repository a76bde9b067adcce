"""Test helpers shared by several test modules (imported as ``support``)."""

from __future__ import annotations

from console.placement import MotionKind, Placement
from console.protocols import Protocol, RecommendedSeries, Step, checked
from console.waveforms import Polarity, Waveform, WaveShape
from console.zones import zone_catalog

#: A landmark inside each region, where a test step's probes hold still.
_HOLD_AT = {
    "forehead": ("forehead_mid", "forehead_mid"),
    "brow": ("brow_mid", "brow_mid"),
    "eye": ("under_eye", "under_eye"),
    "cheek": ("mid_cheek", "mid_cheek"),
    "nasolabial": ("fold_top", "fold_top"),
    "upper_lip": ("above_lip_right", "above_lip_left"),
    "jawline": ("jaw_mid", "jaw_mid"),
    "chin": ("below_lip_right", "below_lip_left"),
    "neck": ("neck_side", "neck_side"),
}


def hold_on(zone_id: str) -> Placement | None:
    """A placement that keeps every keep-out rule on ``zone_id``: both probes held still on a
    landmark of its region (None for a zone the face map does not know)."""
    zone = zone_catalog().get(zone_id)
    return None if zone is None else Placement(_HOLD_AT[zone.region], MotionKind.HOLD)


def make_protocol(
    steps: int = 3,
    duration_s: float = 20.0,
    current_ua: float = 300.0,
    shape: WaveShape = WaveShape.SQUARE,
    frequency_hz: float = 10.0,
    ramp_s: float = 1.0,
    polarity: Polarity = Polarity.ALTERNATING,
    protocol_id: str = "test-protocol",
    reversal_interval_s: float | None = None,
) -> Protocol:
    """A small valid protocol alternating both cheeks.

    Polarity reverses every 2 s where the step holds whole 4 s polarity cycles (20, 40, 60 s...),
    else every 2.5 s (10, 30 s...): each phase holds whole periods and each step whole cycles
    (safety rule 9)."""
    if reversal_interval_s is None:
        reversal_interval_s = 2.0 if duration_s % 4 == 0 else 2.5
    zones = ["cheek_left", "cheek_right"]
    return checked(
        Protocol(
            id=protocol_id,
            name="Test protocol",
            category="lifting",
            description="A short protocol for tests.",
            steps=tuple(
                Step(
                    zone=zones[i % 2],
                    waveform=Waveform(
                        shape, frequency_hz, current_ua, polarity, reversal_interval_s, ramp_s
                    ),
                    duration_s=duration_s,
                    technique="Hold both probes still.",
                    placement=hold_on(zones[i % 2]),
                )
                for i in range(steps)
            ),
            series=RecommendedSeries(2, 10, (4, 6)),
        )
    )


#: The driver plugins the project ships; each is a plugin of the same name.
BUILT_IN_DRIVERS = ("framed", "scpi", "simulator")
