"""Built-in protocol plugin: **lifting** (muscle re-education), 12 steps, 26 minutes.

Why these settings (common professional microcurrent practice):

* **Low frequency, square pulses** — 0.5 Hz gives 1 s pulses, long enough for the operator's
  "hold and lift" technique: the probes shorten the muscle belly toward its origin and hold it
  there while the pulse flows. Square pulses deliver the most charge per pulse for a given peak.
* **300–400 µA** on the large muscles of cheek, jaw and neck; **200–300 µA** on the thinner
  forehead and brow, where clients feel current sooner. All well under the 500 µA comfort level.
* **Polarity reversed every 2 s**, one whole period: every pulse is followed by an equal pulse
  the other way, and each 2–2.5 minute step holds a whole number of such pairs, so no direct
  current is left under the probes (no galvanic skin reaction). The only imbalance is the first
  pulse of each step, which rises with the ramp: under 0.9 % of the step's charge, measured
  through the engine (docs/safety.md, rule 9). Reversing every 3 s, as this protocol once did,
  put one and a half pulses in each phase and left a third of the charge one way.
* **1 s ramp**: the current rises over the whole first pulse, so the client never feels a step;
  a longer ramp would leave more of the first pulse's charge unbalanced.
* **2–2.5 minutes a zone** (120 s, or 152 s on cheeks and jaw: whole 4 s polarity cycles),
  both sides of the face in turn, upper face first, so a full session stays under half an hour.

Recommended course: 10 sessions, 2 a week, then maintenance every 4–6 weeks.
"""

from __future__ import annotations

from console import hookimpl
from console.placement import MotionKind
from console.protocols import Protocol, RecommendedSeries, checked
from console.waveforms import Polarity, Waveform, WaveShape
from plugins.steps import both_sides, place

LIFT = MotionKind.HOLD_AND_LIFT

mc_console_api = "1.0"


def _lift(current_ua: float) -> Waveform:
    return Waveform(
        shape=WaveShape.SQUARE,
        frequency_hz=0.5,
        current_ua=current_ua,
        polarity=Polarity.ALTERNATING,
        reversal_interval_s=2.0,
        ramp_s=1.0,
    )


def lifting_protocol() -> Protocol:
    """The lifting protocol, validated."""
    steps = [
        *both_sides(
            "forehead",
            _lift(200),
            120,
            "Probes 2 cm apart above the brow; hold, then glide up to the hairline and hold.",
            place("forehead_mid", "forehead_mid", LIFT, toward="hairline"),
        ),
        *both_sides(
            "brow",
            _lift(250),
            120,
            "One probe under the tail of the brow, one at the temple; lift the tail and hold.",
            place("brow_tail", "temple", LIFT, toward="temple"),
        ),
        *both_sides(
            "cheek",
            _lift(350),
            152,
            "Probes on the cheekbone; hold and lift toward the temple.",
            place("cheekbone", "cheekbone", LIFT, toward="temple"),
        ),
        *both_sides(
            "nasolabial",
            _lift(300),
            120,
            "Probes along the fold; lift outward and up toward the cheekbone, then hold.",
            place("fold_top", "mouth_corner", LIFT, toward="cheekbone"),
        ),
        *both_sides(
            "jawline",
            _lift(400),
            152,
            "One probe at the chin, one at the angle of the jaw; lift along the jaw to the ear.",
            place("chin", "jaw_angle", LIFT, toward="ear"),
        ),
        *both_sides(
            "neck",
            _lift(300),
            120,
            "Low on the side of the neck, toward the back, never over the pulse; hold and lift "
            "up toward the angle of the jaw.",
            place("neck_side", "neck_low", LIFT, toward="jaw_angle"),
        ),
    ]
    return checked(
        Protocol(
            id="lifting",
            name="Lifting",
            category="lifting",
            description=(
                "Muscle re-education with slow square pulses and hold-and-lift technique on "
                "forehead, brow, cheeks, nasolabial folds, jawline and neck."
            ),
            version="1.0",
            steps=tuple(steps),
            series=RecommendedSeries(
                sessions_per_week=2, sessions=10, maintenance_every_weeks=(4, 6)
            ),
            warnings=("Re-apply conductive gel whenever the contact indicator drops.",),
        )
    )


@hookimpl
def register_protocols() -> list[Protocol]:
    """The lifting protocol."""
    return [lifting_protocol()]
