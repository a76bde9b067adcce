"""Built-in protocol plugin: **circulation** (micro-circulation and lymph flow), 12 steps, 19 min.

The practice it follows, and where the order and placements come from:

* **Manual lymphatic drainage after Vodder** for the order and the direction of every stroke.
  The lymph of the face drains to the nodes in front of the ear and under the jaw, then down the
  side of the neck to the terminus, the hollow above the collarbone where it joins the veins.
  So the neck is cleared first, to open the way, and the face after it, nearest the neck first
  (proximal before distal): jaw, fold, cheek, eyes, forehead. Every stroke goes toward the
  nodes: from the centre of the face outward, and from there down toward the neck.
* **Common professional microcurrent practice** for the settings below (the trade's training,
  not a standard: no published trial fixes these numbers).
* **IEC 60601-2-10**'s placement warnings for nerve and muscle stimulators: never across the
  head, never on the eyes, never on the front of the neck and especially never over the carotid
  sinus, never across the chest. On the neck the probes stay on its side, behind the carotid
  pulse; the face map's keep-outs hold the same rules (``resources/face_zones.json``) and
  every step's placement is checked against them (docs/safety.md lists the sources).

Why these settings:

* **Sine pulses at 40 Hz** — a higher rate and a gentle shape for the continuous, gliding
  strokes that move fluid; no holding, so the probes never sit long on one spot.
* **Low current, 100–200 µA** — drainage work wants the lightest effective current; 100 µA
  around the eyes, where puffiness is treated.
* **Polarity reversed every 5 s**: 200 whole periods of 40 Hz in each phase, and each 90–100 s
  step holds a whole number of 10 s polarity cycles, so the charge balances under each probe
  (under 0.6 % left one way, by the ramp; docs/safety.md, rule 9). Reordering the steps moves
  no charge: each step balances on its own.
* **1 s ramp**.
* **The order, step by step**: the neck first, each side gliding from high on its side, behind
  the pulse, down to the collarbone; then the jaw from the chin to below the ear, the fold from
  beside the nose down and out to the jaw (its lymph goes to the nodes under the jaw), the cheek
  from beside the nose to the ear, under the eyes outward to the temple, and last the forehead
  from its centre out to the temple — each area drained toward the nodes its lymph goes to,
  which the steps before have cleared.

Recommended course: 6 sessions, 1 a week, then maintenance every 3–4 weeks.
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

GLIDE = MotionKind.GLIDE

mc_console_api = "1.1"


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
            "neck",
            _flow(150),
            100,
            "First, to open the way for the face: from high on the side of the neck, behind the "
            "pulse, glide slowly down to the collarbone; never on the front of the throat.",
            place("neck_top", "neck_top", GLIDE, toward="collarbone"),
        ),
        *both_sides(
            "jawline",
            _flow(200),
            100,
            "Glide from the chin along the jaw to below the ear.",
            place("chin", "chin", GLIDE, toward="below_ear"),
        ),
        *both_sides(
            "nasolabial",
            _flow(150),
            90,
            "Glide from beside the nose down along the fold and out across the cheek to the jaw.",
            place("fold_top", "fold_top", GLIDE, toward="jaw_mid"),
        ),
        *both_sides(
            "cheek",
            _flow(200),
            100,
            "Glide from beside the nose across the cheek toward the ear.",
            place("nose", "nose", GLIDE, toward="ear"),
        ),
        *both_sides(
            "eye",
            _flow(100),
            90,
            "Feather-light glides on the orbital bone under the eye, outward to the temple.",
            place("under_eye", "under_eye", GLIDE, toward="temple"),
        ),
        *both_sides(
            "forehead",
            _flow(150),
            90,
            "Slow glides from the centre of the forehead out to the temple.",
            place("forehead_centre", "forehead_centre", GLIDE, toward="temple"),
        ),
    ]
    return checked(
        Protocol(
            id="circulation",
            name="Circulation",
            category="circulation",
            description=(
                "Drainage and micro-circulation with gentle 40 Hz sine pulses and continuous "
                "gliding strokes toward the lymph nodes, in the order of Vodder's manual lymphatic "
                "drainage: the sides of the neck first, then the face from the jaw up to the "
                "forehead, each stroke outward and down toward the neck. Settings from common "
                "professional microcurrent practice; placements follow IEC 60601-2-10's warnings "
                "(never the front of the neck or the carotid sinus)."
            ),
            version="1.1",
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
