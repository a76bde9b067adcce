"""Built-in protocol plugin: **toning** (muscle tone and definition), 12 steps, 18 minutes.

The practice it follows, and where the placements come from:

* **Common professional microcurrent practice** for the settings and the moving technique below
  (the trade's training, not a standard: no published trial fixes these numbers).
* **IEC 60601-2-10**'s placement warnings for nerve and muscle stimulators: never across or
  through the head, never directly on the eyes, never over the mouth, never on the front of the
  neck. So the eye area is worked on the orbital bone only, never the lid; the upper lip and the
  chin on the skin above and below the lips, never on the lips or the gums; and the brow,
  cheek, fold and jaw with both probes on one side of the face. The face map's keep-outs hold
  the same rules (``resources/face_zones.json``) and every step's placement is checked against
  them (docs/safety.md lists the sources).

Why these settings:

* **Biphasic pulses at 10 Hz** — charge-balanced pulses at a moderate rate for firming work:
  each pulse is short (50 ms) and the technique moves, instead of holding as in lifting.
* **100 µA around the eyes** (thin skin, close to the eye), **150–250 µA** on the mid and lower
  face, where small muscles (around the mouth and chin) are worked with short strokes.
* **Alternating polarity every 2 s** on top of the biphasic pulse, so neither probe stays anodic.
* **1 s ramp**: enough at these currents for the client not to feel a step.
* **80–100 s a zone**: toning is brisk; the whole face takes under 20 minutes.

Recommended course: 10 sessions, 2 a week, then maintenance every 4–6 weeks.
"""

from __future__ import annotations

from console.api import (
    MotionKind,
    Polarity,
    Protocol,
    RecommendedSeries,
    Step,
    Waveform,
    WaveShape,
    checked,
    hookimpl,
)
from plugins.steps import both_sides, place

mc_console_api = "1.1"


def _tone(current_ua: float) -> Waveform:
    return Waveform(
        shape=WaveShape.BIPHASIC,
        frequency_hz=10.0,
        current_ua=current_ua,
        polarity=Polarity.ALTERNATING,
        reversal_interval_s=2.0,
        ramp_s=1.0,
    )


def toning_protocol() -> Protocol:
    """The toning protocol, validated."""
    steps = [
        *both_sides(
            "brow",
            _tone(150),
            80,
            "Short upward strokes along the brow, probes 2 cm apart.",
            place("brow_mid", "brow_mid", MotionKind.STROKES, toward="forehead_mid"),
        ),
        *both_sides(
            "eye",
            _tone(100),
            80,
            "Small circles on the orbital bone, outer corner to under the eye; never the lid.",
            place("outer_eye", "under_eye", MotionKind.CIRCLES, toward="under_eye"),
        ),
        *both_sides(
            "cheek",
            _tone(250),
            100,
            "Pinch-and-release: bring the probes together over the muscle, hold 2 s, release.",
            place("mid_cheek", "mid_cheek", MotionKind.PINCH),
        ),
        *both_sides(
            "nasolabial",
            _tone(200),
            90,
            "Short strokes across the fold, from the nose outward.",
            place("nose", "fold_top", MotionKind.STROKES, toward="mid_cheek"),
        ),
        Step(
            zone="upper_lip",
            waveform=_tone(150),
            duration_s=80,
            technique="Probes either side above the lip; small strokes toward the mouth corners.",
            placement=place(
                "above_lip_right", "above_lip_left", MotionKind.STROKES, toward="mouth_corner"
            ),
        ),
        *both_sides(
            "jawline",
            _tone(250),
            100,
            "Pinch-and-release along the jaw, from the chin to the angle.",
            place("chin", "chin", MotionKind.PINCH, toward="jaw_angle"),
        ),
        Step(
            zone="chin",
            waveform=_tone(200),
            duration_s=80,
            technique="Probes below the lip corners; short upward strokes to the lip line.",
            placement=place(
                "below_lip_right", "below_lip_left", MotionKind.STROKES, toward="lip_line"
            ),
        ),
    ]
    return checked(
        Protocol(
            id="toning",
            name="Toning",
            category="toning",
            description=(
                "Firming with biphasic 10 Hz pulses and moving technique (short strokes, "
                "pinch-and-release) on brow, eye area, cheeks, folds, lip, jawline and chin. "
                "Common professional microcurrent practice; placements follow IEC 60601-2-10's "
                "warnings (never on the eyes or the lips, never across the head)."
            ),
            version="1.0",
            steps=tuple(steps),
            series=RecommendedSeries(
                sessions_per_week=2, sessions=10, maintenance_every_weeks=(4, 6)
            ),
            warnings=("Around the eyes keep to the orbital bone and keep gel out of the eyes.",),
        )
    )


@hookimpl
def register_protocols() -> list[Protocol]:
    """The toning protocol."""
    return [toning_protocol()]
