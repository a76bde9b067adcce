"""Built-in protocol plugin: **circulation** (micro-circulation and lymph flow), 12 steps, 19 min.

Why these settings (common professional microcurrent practice):

* **Sine pulses at 40 Hz** — a higher rate and a gentle shape for the continuous, gliding
  strokes that move fluid; no holding, so the probes never sit long on one spot.
* **Low current, 100–200 µA** — drainage work wants the lightest effective current; 100 µA
  around the eyes, where puffiness is treated.
* **Polarity reversed every 5 s**: 200 whole periods of 40 Hz in each phase, and each 90–100 s
  step holds a whole number of polarity cycles, so the charge balances under each probe (under
  0.6 % left one way, by the ramp; docs/safety.md, rule 9).
* **1 s ramp**.
* **Strokes toward the lymph nodes**: forehead to the temples, under the eyes outward, cheeks
  toward the ear, jaw toward the angle, then down the side of the neck to the collarbone,
  which is why the neck comes last.

Recommended course: 6 sessions, 1 a week, then maintenance every 3–4 weeks.
"""

from __future__ import annotations

from console import hookimpl
from console.placement import MotionKind
from console.protocols import Protocol, RecommendedSeries, checked
from console.waveforms import Polarity, Waveform, WaveShape
from plugins.steps import both_sides, place

GLIDE = MotionKind.GLIDE

mc_console_api = "1.0"


def _flow(current_ua: float) -> Waveform:
    return Waveform(
        shape=WaveShape.SINE,
        frequency_hz=40.0,
        current_ua=current_ua,
        polarity=Polarity.ALTERNATING,
        reversal_interval_s=5.0,
        ramp_s=1.0,
    )


def circulation_protocol() -> Protocol:
    """The circulation protocol, validated."""
    steps = [
        *both_sides(
            "forehead",
            _flow(150),
            90,
            "Slow glides from the centre of the forehead out to the temple.",
            place("forehead_centre", "forehead_centre", GLIDE, toward="temple"),
        ),
        *both_sides(
            "eye",
            _flow(100),
            90,
            "Feather-light glides on the orbital bone under the eye, outward to the temple.",
            place("under_eye", "under_eye", GLIDE, toward="temple"),
        ),
        *both_sides(
            "cheek",
            _flow(200),
            100,
            "Glide from beside the nose across the cheek toward the ear.",
            place("nose", "nose", GLIDE, toward="ear"),
        ),
        *both_sides(
            "nasolabial",
            _flow(150),
            90,
            "Glide from the mouth corner up along the fold and out across the cheek.",
            place("mouth_corner", "mouth_corner", GLIDE, toward="cheekbone"),
        ),
        *both_sides(
            "jawline",
            _flow(200),
            100,
            "Glide from the chin along the jaw to below the ear.",
            place("chin", "chin", GLIDE, toward="below_ear"),
        ),
        *both_sides(
            "neck",
            _flow(150),
            100,
            "From high on the side of the neck, behind the pulse, glide down to the collarbone.",
            place("neck_top", "neck_top", GLIDE, toward="collarbone"),
        ),
    ]
    return checked(
        Protocol(
            id="circulation",
            name="Circulation",
            category="circulation",
            description=(
                "Drainage and micro-circulation with gentle 40 Hz sine pulses and continuous "
                "gliding strokes toward the lymph nodes, ending down the sides of the neck."
            ),
            version="1.0",
            steps=tuple(steps),
            series=RecommendedSeries(
                sessions_per_week=1, sessions=6, maintenance_every_weeks=(3, 4)
            ),
            warnings=(
                "Work slowly and lightly; redness that lasts more than an hour is recorded.",
            ),
        )
    )


@hookimpl
def register_protocols() -> list[Protocol]:
    """The circulation protocol."""
    return [circulation_protocol()]
