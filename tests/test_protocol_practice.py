"""The built-in protocols follow the practice they cite (issue 14, "clinical realism").

* Lifting's neck step is a glide on the side of the neck, behind the carotid pulse and below the
  level of the carotid sinus, never a hold (IEC 60601-2-10 warns against the front of the neck
  and the carotid sinus).
* Circulation drains the neck first, then the face nearest the neck first, every stroke toward
  the nodes (Vodder's manual lymphatic drainage).
* Every step still holds whole polarity cycles, so no direct current is left under the probes.
* Each protocol's notes name the practice and the sources they follow, and docs/safety.md lists
  those sources.

The geometry is the face map's own (``resources/face_zones.json``): its landmarks and its
carotid and front-of-neck keep-outs.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path
from types import ModuleType

import pytest

import plugins.circulation
import plugins.lifting
import plugins.toning
from console.charge import planned_charge
from console.face_geometry import inside_polygon
from console.packs import load_packs
from console.placement import MotionKind, landmark_point
from console.probe_paths import motion_for_step
from console.protocols import Protocol, Step
from console.waveforms import Polarity, WaveShape
from console.zones import KeepOut, Point, zone_catalog

SAFETY_MD = Path(__file__).resolve().parents[1] / "docs" / "safety.md"
PHASES = [i / 200 for i in range(200)]
BUILT_IN: list[tuple[ModuleType, str]] = [
    (plugins.lifting, "lifting"),
    (plugins.toning, "toning"),
    (plugins.circulation, "circulation"),
]
#: The face regions from the neck outward: where drainage goes first to where it goes last.
PROXIMAL_TO_DISTAL = ("neck", "jawline", "nasolabial", "cheek", "eye", "forehead")


def _protocol(module: ModuleType, protocol_id: str) -> Protocol:
    protocol: Protocol = getattr(module, f"{protocol_id}_protocol")()
    return protocol


def _shipped() -> list[Protocol]:
    packs, errors = load_packs()
    assert errors == []
    return [_protocol(m, i) for m, i in BUILT_IN] + packs


def _keep_out(keep_out_id: str) -> KeepOut:
    return next(k for k in zone_catalog().keep_outs if k.id == keep_out_id)


def _side(step: Step) -> str:
    return step.zone.removeprefix("neck_")


def _current_path(a: Point, b: Point, points: int = 20) -> list[Point]:
    """Points along the straight current path between the two probes, both ends included."""
    return [
        (a[0] + (b[0] - a[0]) * k / points, a[1] + (b[1] - a[1]) * k / points)
        for k in range(points + 1)
    ]


def _neck_steps(protocol: Protocol) -> list[Step]:
    return [step for step in protocol.steps if zone_catalog()[step.zone].region == "neck"]


# -- lifting: the neck is glided, lateral and low ----------------------------------------------


def test_lifting_glides_on_the_neck_and_never_holds() -> None:
    steps = _neck_steps(plugins.lifting.lifting_protocol())
    assert [step.zone for step in steps] == ["neck_right", "neck_left"]
    for step in steps:
        assert step.placement is not None
        assert step.placement.motion is MotionKind.GLIDE
        assert step.placement.toward == "collarbone"  # down, the way the lymph drains
        motion = motion_for_step(step)
        assert motion is not None and motion.kind is MotionKind.GLIDE
        assert motion.end[1] > motion.start[1]  # downward (y grows downwards)
        # The probes are always on their way: no stretch of the cycle is spent in one place.
        positions = [motion.position_at(phase) for phase in PHASES]
        still = sum(1 for a, b in itertools.pairwise(positions) if math.dist(a, b) < 1e-9)
        assert still < len(PHASES) // 4, f"{step.zone}: the probes rest {still} of {len(PHASES)}"
        text = step.technique.lower()
        assert "glide" in text and "hold" not in text and "lift" not in text
        assert "behind the pulse" in text and "front of the throat" in text


def test_lifting_neck_landmarks_are_on_the_side_of_the_neck_below_the_carotid() -> None:
    catalog = zone_catalog()
    for step in _neck_steps(plugins.lifting.lifting_protocol()):
        carotid = _keep_out(f"carotid_{_side(step)}").polygon
        below = max(y for _, y in carotid)  # the carotid sinus's lowest point on the map
        lateral = max(abs(x - 0.5) for x, _ in carotid)  # its edge furthest from the midline
        zone = catalog[step.zone]
        assert step.placement is not None
        keys = [*step.placement.probes, step.placement.toward]
        for key in keys:
            assert key is not None
            point = landmark_point(key, zone.side, catalog)
            assert point is not None, key
            assert point[1] > below, f"{key} is not below the carotid sinus"
            assert abs(point[0] - 0.5) > lateral, f"{key} is not behind the carotid sinus"


def test_lifting_neck_path_stays_below_the_carotid_level() -> None:
    for step in _neck_steps(plugins.lifting.lifting_protocol()):
        motion = motion_for_step(step)
        assert motion is not None
        below = max(y for _, y in _keep_out(f"carotid_{_side(step)}").polygon)
        for phase in PHASES:
            for x, y in (motion.position_at(phase), *motion.probes_at(phase)):
                assert y > below, (step.zone, phase, (x, y))


@pytest.mark.parametrize("protocol", _shipped(), ids=lambda p: p.id)
def test_no_neck_path_enters_the_carotid_sinus_or_the_front_of_the_neck(
    protocol: Protocol,
) -> None:
    """Neither probe, nor the current between them, ever over a carotid sinus or the front of
    the neck, at any moment of the movement; and on the neck no step holds."""
    keep_outs = [_keep_out(k) for k in ("carotid_right", "carotid_left", "front_of_neck")]
    for step in _neck_steps(protocol):
        assert step.placement is not None
        assert step.placement.motion not in (MotionKind.HOLD, MotionKind.HOLD_AND_LIFT)
        motion = motion_for_step(step)
        assert motion is not None
        for phase in PHASES:
            a, b = motion.probes_at(phase)
            for point in _current_path(a, b):
                for keep_out in keep_outs:
                    assert not inside_polygon(point, keep_out.polygon), (
                        protocol.id,
                        step.zone,
                        phase,
                        keep_out.name,
                    )


# -- circulation: the neck first, then the face toward it --------------------------------------


def test_circulation_drains_the_neck_first() -> None:
    protocol = plugins.circulation.circulation_protocol()
    catalog = zone_catalog()
    regions = [catalog[step.zone].region for step in protocol.steps]
    assert protocol.steps[0].zone == "neck_right" and protocol.steps[1].zone == "neck_left"
    assert regions.count("neck") == 2 and regions[:2] == ["neck", "neck"]
    # Then the face, nearest the neck first (proximal before distal), both sides in turn.
    order = list(dict.fromkeys(regions))
    assert order == list(PROXIMAL_TO_DISTAL)
    first = protocol.steps[0].technique.lower()
    assert first.startswith("first") and "collarbone" in first


def test_circulation_strokes_go_toward_the_nodes() -> None:
    """The neck down to the collarbone; every face glide from the centre outward."""
    for step in plugins.circulation.circulation_protocol().steps:
        motion = motion_for_step(step)
        assert motion is not None and motion.kind is MotionKind.GLIDE, step.zone
        if step.zone.startswith("neck"):
            assert motion.end[1] > motion.start[1], step.zone
        else:
            assert abs(motion.end[0] - 0.5) > abs(motion.start[0] - 0.5), step.zone
    fold = motion_for_step(
        next(
            s
            for s in plugins.circulation.circulation_protocol().steps
            if s.zone == "nasolabial_left"
        )
    )
    assert fold is not None and fold.end[1] > fold.start[1]  # down to the nodes under the jaw


def test_circulation_keeps_its_time_and_its_steps() -> None:
    protocol = plugins.circulation.circulation_protocol()
    assert len(protocol.steps) == 12
    assert protocol.duration_s == 19 * 60
    assert sorted(protocol.zones) == sorted(
        f"{region}_{side}" for region in PROXIMAL_TO_DISTAL for side in ("right", "left")
    )


# -- charge balance: every step holds whole polarity cycles ------------------------------------


@pytest.mark.parametrize(("module", "protocol_id"), BUILT_IN, ids=[i for _, i in BUILT_IN])
def test_every_step_holds_whole_polarity_cycles_and_leaves_no_net_dc(
    module: ModuleType, protocol_id: str
) -> None:
    """Computed from the settings here; tests/test_output_safety.py measures the same through
    the engine and the simulated machine."""
    for step in _protocol(module, protocol_id).steps:
        waveform = step.waveform
        assert waveform.polarity is Polarity.ALTERNATING, step.zone
        periods = waveform.reversal_interval_s * waveform.frequency_hz
        assert periods == pytest.approx(round(periods)), step.zone  # whole periods a phase
        if waveform.shape is not WaveShape.BIPHASIC:  # a biphasic pulse balances on its own
            cycles = step.duration_s / (2 * waveform.reversal_interval_s)
            assert cycles == pytest.approx(round(cycles)), (step.zone, step.duration_s)
        charge = planned_charge(waveform, step.duration_s)
        assert abs(charge.net_uc) <= 0.01 * charge.abs_uc, (step.zone, charge)


def test_the_lifting_neck_steps_hold_whole_4_s_cycles() -> None:
    for step in _neck_steps(plugins.lifting.lifting_protocol()):
        assert step.waveform.reversal_interval_s == 2.0
        assert step.duration_s % 4 == 0


# -- the notes cite the practice they follow ---------------------------------------------------


CITED = {
    "lifting": ("IEC 60601-2-10", "carotid sinus", "professional microcurrent practice"),
    "toning": ("IEC 60601-2-10", "eyes", "professional microcurrent practice"),
    "circulation": (
        "IEC 60601-2-10",
        "Vodder",
        "proximal before distal",
        "professional microcurrent practice",
    ),
}


@pytest.mark.parametrize(("module", "protocol_id"), BUILT_IN, ids=[i for _, i in BUILT_IN])
def test_each_protocol_names_the_practice_and_sources_it_follows(
    module: ModuleType, protocol_id: str
) -> None:
    doc = " ".join((module.__doc__ or "").split())
    for source in CITED[protocol_id]:
        assert source in doc, (protocol_id, source)
    assert "docs/safety.md" in doc
    # What the user reads (description, shown wherever the protocol is chosen) names them too.
    description = _protocol(module, protocol_id).description
    assert "IEC 60601-2-10" in description
    assert "professional microcurrent practice" in description
    if protocol_id == "circulation":
        assert "Vodder" in description and "neck first" in description


def test_the_sources_the_protocols_cite_are_listed_in_the_safety_notes() -> None:
    text = SAFETY_MD.read_text(encoding="utf-8")
    sources = text[text.index("## Sources") :]
    for source in ("IEC 60601-2-10", "Vodder", "carotid sinus", "professional microcurrent"):
        assert source in sources, source
    # Named, never quoted with pages the notes cannot show.
    assert not re.search(r"\bp{1,2}\.\s*\d", sources)
