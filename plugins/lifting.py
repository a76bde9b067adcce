"""Built-in protocol plugin: **lifting** (muscle re-education), 12 steps, 26 minutes.

The practice it follows, and where the placements come from:

* **Common professional microcurrent practice** for the settings and the hold-and-lift
  technique below (the trade's training, not a standard: no published trial fixes these numbers).
* **IEC 60601-2-10**'s placement warnings for nerve and muscle stimulators: never across the
  head, never on the eyes, never on the front of the neck and especially never over the carotid
  sinus, never across the chest. The face map's keep-outs hold the same rules
  (``resources/face_zones.json``) and every step's placement is checked against them.
* **Anatomy** for the neck: the carotid sinus lies at the front edge of the side of the neck,
  level with the upper border of the thyroid cartilage (the top of the Adam's apple), where the
  carotid pulse is felt. The neck is therefore worked only on its side, behind the pulse and
  below that level, and never held (docs/safety.md lists the sources).

Why these settings:

* **Low frequency, square pulses** — 0.5 Hz gives 1 s pulses, long enough for the operator's
  "hold and lift" technique: the probes shorten the muscle belly toward its origin and hold it
  there while the pulse flows. Square pulses deliver the most charge per pulse for a given peak.
* **300–400 µA** on the large muscles of cheek and jaw; **200–300 µA** on the thinner
  forehead and brow, where clients feel current sooner. All well under the 500 µA comfort level.
* **The neck glides, it is not lifted**: the probes start low on the side of the neck, behind the
  pulse and below the level of the carotid sinus, and glide slowly down along the platysma to
  the collarbone, the way the lymph drains, without stopping anywhere. A 1 s pulse has no hold to
  serve under probes that keep moving (it would land in patches, a second on and a second off),
  so the neck uses **square pulses at 10 Hz** (50 ms each), which reach the skin evenly all
  along the glide, at a lighter **200 µA**: the neck's skin is thin and the carotid is near.
  Square pulses still, so a machine that runs the rest of the protocol runs the neck too.
* **Polarity reversed every 2 s**, on every step. At 0.5 Hz that is one whole period: every
  pulse is followed by an equal pulse the other way; at 10 Hz it is 20 whole periods a phase.
  Each step holds a whole number of 4 s polarity cycles (120 s, or 152 s on cheeks and jaw), so
  no direct current is left under the probes (no galvanic skin reaction). The only imbalance is
  the first phase of each step, which rises with the ramp: under 0.9 % of the step's charge,
  measured through the engine (docs/safety.md, rule 9). Reversing every 3 s, as this protocol
  once did, put one and a half pulses in each phase and left a third of the charge one way.
* **1 s ramp**: the current rises over the whole first pulse (the first ten on the neck), so
  the client never feels a step; a longer ramp would leave more of the first phase's charge
  unbalanced.
* **2–2.5 minutes a zone** (120 s, or 152 s on cheeks and jaw: whole 4 s polarity cycles),
  both sides of the face in turn, upper face first, so a full session stays under half an hour.

Recommended course: 10 sessions, 2 a week, then maintenance every 4–6 weeks.
"""

from __future__ import annotations

from console.api import (
    MotionKind,
    Polarity,
    Protocol,
    RecommendedSeries,
    Waveform,
    WaveShape,
    checked,
    hookimpl,
)
from plugins.steps import both_sides, place

LIFT = MotionKind.HOLD_AND_LIFT
GLIDE = MotionKind.GLIDE

mc_console_api = "1.1"


def _lift(current_ua: float) -> Waveform:
    return Waveform(
        shape=WaveShape.SQUARE,
        frequency_hz=0.5,
        current_ua=current_ua,
        polarity=Polarity.ALTERNATING,
        reversal_interval_s=2.0,
        ramp_s=1.0,
    )


def _glide(current_ua: float) -> Waveform:
    """The neck's waveform: square pulses like the lifts, at a rate for probes that move."""
    return Waveform(
        shape=WaveShape.SQUARE,
        frequency_hz=10.0,
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
            _glide(200),
            120,
            "Side of the neck only, behind the pulse and below the level of the Adam's apple: "
            "glide slowly down to the collarbone and keep the probes moving; never on the front "
            "of the throat.",
            place("neck_side", "neck_side", GLIDE, toward="collarbone"),
        ),
    ]
    return checked(
        Protocol(
            id="lifting",
            name="Lifting",
            category="lifting",
            description=(
                "Muscle re-education with slow square pulses and hold-and-lift technique on "
                "forehead, brow, cheeks, nasolabial folds and jawline, then slow glides down the "
                "side of the neck. Common professional microcurrent practice; placements follow "
                "IEC 60601-2-10's warnings (never the front of the neck or the carotid sinus)."
            ),
            version="1.1",
            steps=tuple(steps),
            series=RecommendedSeries(
                sessions_per_week=2, sessions=10, maintenance_every_weeks=(4, 6)
            ),
            warnings=(
                "Re-apply conductive gel whenever the contact indicator drops.",
                "Neck: side only, behind the pulse and below the top of the Adam's apple (the "
                "carotid sinus level); glide, never hold (IEC 60601-2-10).",
            ),
        )
    )


@hookimpl
def register_protocols() -> list[Protocol]:
    """The lifting protocol."""
    return [lifting_protocol()]
