"""Protocols (``console/protocols.py``) and the built-in lifting, toning and circulation plugins.

Validation must name every problem with its step number and field; protocols built from plain
data must fail only with :class:`ProtocolError`; and each built-in protocol must be a complete,
comfortable, documented treatment of both sides of the face.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import replace
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import plugins.circulation
import plugins.lifting
import plugins.toning
from console.placement import MotionKind, placement_to_mapping
from console.plugins import PluginHost
from console.protocols import (
    Protocol,
    ProtocolError,
    RecommendedSeries,
    Step,
    checked,
    comfort_notes,
    protocol_from_mapping,
    validate_protocol,
)
from console.waveforms import Polarity, Waveform, WaveShape
from console.zones import Side, ZoneCatalog, zone_catalog
from support import hold_on

FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)

GOOD_SERIES = RecommendedSeries(sessions_per_week=2, sessions=10, maintenance_every_weeks=(4, 6))


def _wave(
    current_ua: float = 300.0,
    ramp_s: float = 2.0,
    shape: WaveShape = WaveShape.SQUARE,
    frequency_hz: float = 0.5,
) -> Waveform:
    return Waveform(shape, frequency_hz, current_ua, Polarity.ALTERNATING, 2.0, ramp_s)


def _step(
    zone: str = "cheek_left",
    current_ua: float = 300.0,
    duration_s: float = 60.0,
    ramp_s: float = 2.0,
    technique: str = "Hold and lift toward the temple.",
    shape: WaveShape = WaveShape.SQUARE,
) -> Step:
    return Step(zone, _wave(current_ua, ramp_s, shape), duration_s, technique, hold_on(zone))


def _protocol(
    steps: tuple[Step, ...] | None = None,
    protocol_id: str = "test-protocol",
    series: RecommendedSeries = GOOD_SERIES,
) -> Protocol:
    """A valid three-step protocol (cheek right, cheek left, jawline right) unless overridden."""
    if steps is None:
        steps = (_step("cheek_right"), _step("cheek_left"), _step("jawline_right"))
    return Protocol(
        id=protocol_id,
        name="Test",
        category="lifting",
        description="For tests.",
        steps=steps,
        series=series,
    )


def _with_bad_step_2(step: Step) -> Protocol:
    """The valid protocol with its second step replaced."""
    return _protocol((_step("cheek_right"), step, _step("jawline_right")))


def _only_problem(protocol: Protocol) -> str:
    problems = validate_protocol(protocol)
    assert len(problems) == 1, problems
    return problems[0]


# ---------------------------------------------------------------------------------------------
# validate_protocol: one test per kind of problem


def test_valid_protocol_has_no_problems() -> None:
    assert validate_protocol(_protocol()) == []
    assert checked(_protocol()) == _protocol()


def test_unknown_zone_names_step_and_zone() -> None:
    problem = _only_problem(_with_bad_step_2(_step(zone="cheek_middle")))
    assert problem.startswith("step 2 (cheek_middle): unknown zone 'cheek_middle'")
    assert "known zones:" in problem
    assert "cheek_left" in problem  # it tells the author what is allowed


@pytest.mark.parametrize("current", [1200.0, 1010.0, 0.0, -10.0, 305.0, math.nan, math.inf])
def test_out_of_range_current_names_step_and_current(current: float) -> None:
    problem = _only_problem(_with_bad_step_2(_step(current_ua=current)))
    assert problem.startswith("step 2 (cheek_left): current")


@pytest.mark.parametrize("duration", [5.0, 9.99, 600.5, 3600.0, -60.0, math.nan, math.inf])
def test_duration_outside_10_to_600_s_names_step_and_duration(duration: float) -> None:
    problems = validate_protocol(_with_bad_step_2(_step(duration_s=duration, ramp_s=1.0)))
    # An infinite step also makes an infinite session: that second sentence is fair.
    step_problems = [p for p in problems if not p.startswith("total time")]
    assert len(step_problems) == 1, problems
    assert step_problems[0].startswith("step 2 (cheek_left): duration")
    assert "10–600 s" in step_problems[0]


@pytest.mark.parametrize("duration", [10.0, 600.0])
def test_duration_limits_are_inclusive(duration: float) -> None:
    # Biphasic pulses balance in every period: any duration holds whole polarity cycles.
    step = _step(duration_s=duration, ramp_s=1.0, shape=WaveShape.BIPHASIC)
    assert validate_protocol(_with_bad_step_2(step)) == []


@pytest.mark.parametrize(("ramp", "duration"), [(20.0, 16.0), (12.0, 12.0), (30.0, 12.0)])
def test_ramp_not_shorter_than_step_names_step_and_ramp(ramp: float, duration: float) -> None:
    problem = _only_problem(_with_bad_step_2(_step(ramp_s=ramp, duration_s=duration)))
    assert problem.startswith("step 2 (cheek_left): ramp-up")
    assert "not shorter than the step" in problem


def test_ramp_just_shorter_than_step_is_valid() -> None:
    assert validate_protocol(_with_bad_step_2(_step(ramp_s=11.5, duration_s=12.0))) == []


@pytest.mark.parametrize("technique", ["", "   ", "\n\t"])
def test_empty_technique_names_step_and_technique(technique: str) -> None:
    problem = _only_problem(_with_bad_step_2(_step(technique=technique)))
    assert problem.startswith("step 2 (cheek_left): technique is empty")


def _five_minute_steps(count: int) -> tuple[Step, ...]:
    """``count`` valid 5-minute steps, each zone within its own time limit (twice on the large
    zones that allow 10 minutes, once on the others; never on the upper lip, which allows 4)."""
    catalog = zone_catalog()
    large = [z for z in catalog if catalog[z].limits.max_session_s >= 600]
    others = [z for z in catalog if 300 <= catalog[z].limits.max_session_s < 600]
    zones = [*large, *large, *others][:count]
    assert len(zones) == count
    return tuple(_step(zone, current_ua=200.0, duration_s=300.0) for zone in zones)


def test_session_over_90_minutes_is_refused() -> None:
    problem = _only_problem(_protocol(_five_minute_steps(20)))  # 100 min, every step valid
    assert problem == "total time 100 min exceeds 90 min"


def test_session_of_exactly_90_minutes_is_allowed() -> None:
    assert validate_protocol(_protocol(_five_minute_steps(18))) == []


@pytest.mark.parametrize(
    ("series", "expected"),
    [
        (RecommendedSeries(0, 10, (4, 6)), "series: 0 sessions a week"),
        (RecommendedSeries(8, 10, (4, 6)), "series: 8 sessions a week"),
        (RecommendedSeries(math.nan, 10, (4, 6)), "series: nan sessions a week"),
        (RecommendedSeries(2, 0, (4, 6)), "series: 0 sessions is not 1–52"),
        (RecommendedSeries(2, 53, (4, 6)), "series: 53 sessions is not 1–52"),
        (RecommendedSeries(2, 2.5, (4, 6)), "series: 2.5 sessions is not 1–52"),  # type: ignore[arg-type]
        (RecommendedSeries(2, 10, (6, 4)), "series: maintenance every 6–4 weeks"),
        (RecommendedSeries(2, 10, (0, 4)), "series: maintenance every 0–4 weeks"),
        (RecommendedSeries(2, 10, (4, 27)), "series: maintenance every 4–27 weeks"),
    ],
)
def test_bad_series_names_the_series_field(series: RecommendedSeries, expected: str) -> None:
    problem = _only_problem(_protocol(series=series))
    assert problem.startswith(expected)


@pytest.mark.parametrize("bad_id", ["", "Lifting", "my protocol", "lift/ing", "lifting!", "lïft"])
def test_bad_id_is_named(bad_id: str) -> None:
    problem = _only_problem(_protocol(protocol_id=bad_id))
    assert problem.startswith(f"id {bad_id!r} must be")


@pytest.mark.parametrize("good_id", ["lifting", "acme.lift-2_b", "0"])
def test_good_ids_are_accepted(good_id: str) -> None:
    assert validate_protocol(_protocol(protocol_id=good_id)) == []


def test_empty_name_and_no_steps_are_problems() -> None:
    protocol = replace(_protocol(steps=()), name="  ")
    assert validate_protocol(protocol) == ["name is empty", "has no steps"]


def test_problems_in_several_steps_are_each_named() -> None:
    protocol = _protocol(
        (
            _step(zone="ear_left"),
            _step(current_ua=2000.0),
            _step(technique=""),
            _step(duration_s=1.0, ramp_s=1.0),
        )
    )
    problems = validate_protocol(protocol)
    assert len(problems) == 4
    for number, word in enumerate(("unknown zone", "current", "technique", "duration"), start=1):
        assert problems[number - 1].startswith(f"step {number} ("), problems
        assert word in problems[number - 1]


def test_zones_argument_replaces_the_shipped_catalog() -> None:
    catalog = zone_catalog()
    assert validate_protocol(_protocol(), zones=catalog) == []
    only_cheeks = ZoneCatalog(
        [zone for zone_id, zone in catalog.items() if zone_id.startswith("cheek")],
        catalog.geometry,
        catalog.limit_sources,
        catalog.landmarks,
        catalog.keep_outs,
    )
    problems = validate_protocol(_protocol(), zones=only_cheeks)
    assert len(problems) == 1
    assert problems[0].startswith("step 3 (jawline_right): unknown zone")


# ---------------------------------------------------------------------------------------------
# ProtocolError


def test_protocol_error_lists_every_problem() -> None:
    broken = _protocol(
        (_step(zone="nowhere"), _step(current_ua=5000.0)),
        protocol_id="Bad Id",
        series=RecommendedSeries(9, 10, (4, 6)),
    )
    expected = validate_protocol(broken)
    assert len(expected) == 4
    with pytest.raises(ProtocolError) as caught:
        checked(broken)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.protocol_id == "Bad Id"
    assert error.problems == expected
    text = str(error)
    assert text.startswith("protocol 'Bad Id' has 4 problems:")
    for problem in expected:
        assert f"\n  - {problem}" in text


def test_protocol_error_with_one_problem_reads_as_one_sentence() -> None:
    error = ProtocolError("lifting", ["has no steps"])
    assert str(error) == "protocol 'lifting' is invalid: has no steps"


# ---------------------------------------------------------------------------------------------
# protocol_from_mapping


def _step_mapping(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "zone": "cheek_left",
        "duration_s": 92,
        "technique": "Hold and lift.",
        "shape": "square",
        "frequency_hz": 0.5,
        "current_ua": 300,
        "polarity": "alternating",
        "reversal_interval_s": 2.0,
        "ramp_s": 1.0,
    }
    raw.update(overrides)
    return raw


def _mapping(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "acme-lift",
        "name": "Acme lift",
        "category": "lifting",
        "description": "A protocol pack protocol.",
        "version": "2.1",
        "series": {"sessions_per_week": 2, "sessions": 10, "maintenance_every_weeks": [4, 6]},
        "steps": [
            _step_mapping(zone="cheek_right"),
            _step_mapping(zone="cheek_left"),
            _step_mapping(zone="eye_left", shape="sine", frequency_hz=40, current_ua=100),
        ],
    }
    data.update(overrides)
    return data


def _to_mapping(protocol: Protocol) -> dict[str, Any]:
    """The plain data a protocol pack would hold for ``protocol`` (warnings are not data)."""
    return {
        "id": protocol.id,
        "name": protocol.name,
        "category": protocol.category,
        "description": protocol.description,
        "version": protocol.version,
        "series": {
            "sessions_per_week": protocol.series.sessions_per_week,
            "sessions": protocol.series.sessions,
            "maintenance_every_weeks": list(protocol.series.maintenance_every_weeks),
        },
        "steps": [
            {
                "zone": step.zone,
                "duration_s": step.duration_s,
                "technique": step.technique,
                "shape": step.waveform.shape.value,
                "frequency_hz": step.waveform.frequency_hz,
                "current_ua": step.waveform.current_ua,
                "polarity": step.waveform.polarity.value,
                "reversal_interval_s": step.waveform.reversal_interval_s,
                "ramp_s": step.waveform.ramp_s,
                **(
                    {"placement": placement_to_mapping(step.placement)}
                    if step.placement is not None
                    else {}
                ),
            }
            for step in protocol.steps
        ],
    }


def _problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ProtocolError) as caught:
        protocol_from_mapping(data)
    return caught.value.problems


def test_valid_mapping_builds_the_protocol() -> None:
    protocol = protocol_from_mapping(_mapping())
    assert (protocol.id, protocol.name, protocol.version) == ("acme-lift", "Acme lift", "2.1")
    assert protocol.series == GOOD_SERIES
    assert [s.zone for s in protocol.steps] == ["cheek_right", "cheek_left", "eye_left"]
    assert protocol.steps[2].waveform == Waveform(
        WaveShape.SINE, 40.0, 100.0, Polarity.ALTERNATING, 2.0, 1.0
    )
    assert protocol.steps[0].duration_s == 92.0
    assert validate_protocol(protocol) == []


def test_valid_mapping_round_trips() -> None:
    data = _mapping()
    protocol = protocol_from_mapping(data)
    assert _to_mapping(protocol) == data
    assert protocol_from_mapping(_to_mapping(protocol)) == protocol


@pytest.mark.parametrize(
    "factory",
    [
        plugins.lifting.lifting_protocol,
        plugins.toning.toning_protocol,
        plugins.circulation.circulation_protocol,
    ],
)
def test_built_in_protocols_round_trip_through_plain_data(factory: Any) -> None:
    protocol = factory()
    assert protocol_from_mapping(_to_mapping(protocol)) == replace(protocol, warnings=())


def test_optional_fields_take_their_defaults() -> None:
    data = _mapping()
    del data["version"]
    for raw in data["steps"]:
        for key in ("polarity", "reversal_interval_s", "ramp_s"):
            del raw[key]
    protocol = protocol_from_mapping(data)
    assert protocol.version == "1"
    wf = protocol.steps[0].waveform
    assert (wf.polarity, wf.reversal_interval_s, wf.ramp_s) == (Polarity.ALTERNATING, 2.0, 1.0)


@pytest.mark.parametrize("key", ["id", "name", "category", "description", "steps", "series"])
def test_missing_top_level_field_is_named(key: str) -> None:
    data = _mapping()
    del data[key]
    assert _problems_of(data) == [f"missing field {key!r}"]


def test_every_missing_top_level_field_is_listed() -> None:
    with pytest.raises(ProtocolError) as caught:
        protocol_from_mapping({})
    assert caught.value.protocol_id == "?"
    assert len(caught.value.problems) == 6


@pytest.mark.parametrize(
    "key", ["zone", "duration_s", "technique", "shape", "frequency_hz", "current_ua"]
)
def test_missing_step_field_is_named(key: str) -> None:
    data = _mapping()
    del data["steps"][1][key]
    assert _problems_of(data) == [f"step 2: missing field(s) {key!r}"]


@pytest.mark.parametrize("key", ["sessions_per_week", "sessions", "maintenance_every_weeks"])
def test_missing_series_field_is_named(key: str) -> None:
    data = _mapping()
    del data["series"][key]
    assert _problems_of(data) == [f"series: missing field {key!r}"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("current_ua", "300"),
        ("current_ua", None),
        ("current_ua", True),
        ("current_ua", [300]),
        ("frequency_hz", "0.5"),
        ("duration_s", "90"),
        ("ramp_s", False),
        ("reversal_interval_s", {}),
    ],
)
def test_wrong_type_of_step_number_is_named(field: str, value: Any) -> None:
    data = _mapping()
    data["steps"][1][field] = value
    assert _problems_of(data) == [f"step 2: {field} must be a number, got {value!r}"]


@pytest.mark.parametrize(
    ("field", "value", "choices"),
    [
        ("shape", "triangle", "square, sine, ramped, biphasic"),
        ("shape", ["square"], "square, sine, ramped, biphasic"),
        ("polarity", "sideways", "positive, negative, alternating"),
        ("polarity", {"p": 1}, "positive, negative, alternating"),
    ],
)
def test_unknown_shape_or_polarity_is_named(field: str, value: Any, choices: str) -> None:
    data = _mapping()
    data["steps"][0][field] = value
    problems = _problems_of(data)
    assert len(problems) == 1
    assert problems[0] == f"step 1: {field} {value!r} is not one of {choices}"
    assert (problems[0].step, problems[0].fields) == (1, (field,))


@pytest.mark.parametrize("steps", [{"zone": "cheek_left"}, "cheek_left", 3, None])
def test_steps_that_are_not_a_list_are_refused(steps: Any) -> None:
    assert _problems_of(_mapping(steps=steps)) == ["steps must be a list"]


@pytest.mark.parametrize("entry", ["cheek_left", 7, None, ["zone", "cheek_left"]])
def test_a_step_that_is_not_a_table_is_refused(entry: Any) -> None:
    data = _mapping()
    data["steps"].insert(1, entry)
    assert _problems_of(data) == ["step 2 must be a table of fields"]


@pytest.mark.parametrize("series", [[2, 10, [4, 6]], "2/10", None, 5])
def test_series_that_is_not_a_table_is_refused(series: Any) -> None:
    assert _problems_of(_mapping(series=series)) == ["series must be a table of fields"]


@pytest.mark.parametrize(
    "weeks", [None, 4, [4], [4, 6, 8], [4, None], ["a", "b"]], ids=lambda w: repr(w)
)
def test_bad_maintenance_weeks_give_a_protocol_error(weeks: Any) -> None:
    data = _mapping()
    data["series"]["maintenance_every_weeks"] = weeks
    problems = _problems_of(data)
    assert len(problems) == 1
    assert problems[0].startswith("series: ")


def test_structural_and_step_problems_are_reported_together() -> None:
    data = _mapping(series="weekly")
    data["steps"][0]["current_ua"] = "lots"
    del data["steps"][2]["zone"]
    problems = _problems_of(data)
    assert problems == [
        "step 1: current_ua must be a number, got 'lots'",
        "step 3: missing field(s) 'zone'",
        "series must be a table of fields",
    ]


def test_valid_structure_with_invalid_values_is_refused_by_validation() -> None:
    data = _mapping()
    data["steps"][0]["current_ua"] = 1500
    data["steps"][1]["zone"] = "ear_left"
    problems = _problems_of(data)
    assert len(problems) == 2
    assert problems[0].startswith("step 1 (cheek_right): current 1500 µA is above")
    assert problems[1].startswith("step 2 (ear_left): unknown zone")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sessions", "10"),
        ("sessions", 2.7),
        ("sessions", True),
        ("maintenance_every_weeks", "46"),
        ("maintenance_every_weeks", [4.9, 6.2]),
    ],
)
def test_wrong_type_in_series_is_refused(field: str, value: Any) -> None:
    data = _mapping()
    data["series"][field] = value
    try:
        accepted = protocol_from_mapping(data)
    except ProtocolError:
        return
    raise AssertionError(f"series {field} = {value!r} accepted as {accepted.series}")


@pytest.mark.parametrize(
    ("where", "field", "value"),
    [
        ("series", "sessions", math.inf),
        ("series", "maintenance_every_weeks", [math.inf, 6]),
        ("step", "current_ua", 10**400),
        ("series", "sessions_per_week", 10**400),
    ],
    ids=["sessions-inf", "weeks-inf", "current-1e400", "per-week-1e400"],
)
def test_overflowing_numbers_give_a_protocol_error(where: str, field: str, value: Any) -> None:
    data = _mapping()
    target = data["series"] if where == "series" else data["steps"][0]
    target[field] = value
    with pytest.raises(ProtocolError):
        protocol_from_mapping(data)


# Hypothesis: JSON-like values, mostly in the right places, sometimes wrong.
# Infinity and integers beyond float range included: json.loads accepts both.
_json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.sampled_from([10**400, -(10**400)]),
    st.floats(),
    st.text(max_size=6),
)
_json = st.recursive(
    _json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=6,
)


def _field(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually a plausible value, sometimes any JSON value."""
    return st.one_of(valid, valid, valid, _json)


_step_fields: dict[str, st.SearchStrategy[Any]] = {
    "zone": _field(st.sampled_from([*zone_catalog(), "ear_left"])),
    "duration_s": _field(st.sampled_from([5, 10, 60, 90.5, 600, 601])),
    "technique": _field(st.sampled_from(["Hold.", "", "Glide outward."])),
    "shape": _field(st.sampled_from([*(s.value for s in WaveShape), "triangle"])),
    "frequency_hz": _field(st.sampled_from([0.05, 0.5, 10, 40.0, 1000, 2000])),
    "current_ua": _field(st.sampled_from([0, 100, 150.0, 305, 500, 1000, 1100])),
    "polarity": _field(st.sampled_from([p.value for p in Polarity])),
    "reversal_interval_s": _field(st.sampled_from([0.2, 0.5, 2, 3.0])),
    "ramp_s": _field(st.sampled_from([0, 1, 2.0, 30, 31])),
}
_series_fields: dict[str, st.SearchStrategy[Any]] = {
    "sessions_per_week": _field(st.sampled_from([0, 1, 2, 7, 8, 1.5])),
    "sessions": _field(st.sampled_from([0, 1, 10, 52, 53])),
    "maintenance_every_weeks": _field(st.sampled_from([[4, 6], [6, 4], [1, 26], [0, 3]])),
}


@st.composite
def _partial_table(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    """A table with each field present (usually) or missing, plus an occasional stray key."""
    table = {key: draw(strategy) for key, strategy in fields.items() if draw(st.integers(0, 9)) > 0}
    if draw(st.booleans()):
        table.update(draw(st.dictionaries(st.text(max_size=4), _json, max_size=2)))
    return table


_top_fields: dict[str, st.SearchStrategy[Any]] = {
    "id": _field(st.sampled_from(["pack-lift", "Bad Id", "", "x.1"])),
    "name": _field(st.sampled_from(["Pack lift", " "])),
    "category": _field(st.just("lifting")),
    "description": _field(st.just("From a pack.")),
    "version": _field(st.just("1.2")),
    "steps": _field(st.lists(_field(_partial_table(_step_fields)), max_size=4)),
    "series": _field(_partial_table(_series_fields)),
}


@st.composite
def _valid_with_one_change(draw: st.DrawFn) -> dict[str, Any]:
    """A valid mapping with at most one field, anywhere, deleted or replaced by any JSON value."""
    data = _mapping()
    tables: list[dict[str, Any]] = [data, data["series"], *data["steps"]]
    table = draw(st.sampled_from(tables))
    key = draw(st.sampled_from(sorted(table)))
    action = draw(st.sampled_from(["keep", "delete", "replace"]))
    if action == "delete":
        del table[key]
    elif action == "replace":
        table[key] = draw(_json)
    return data


@FAST
@given(
    data=st.one_of(
        _valid_with_one_change(),
        _partial_table(_top_fields),
        st.dictionaries(st.text(max_size=6), _json),
    )
)
def test_arbitrary_plain_data_gives_a_valid_protocol_or_a_protocol_error(
    data: dict[str, Any],
) -> None:
    original = copy.deepcopy(data)
    try:
        protocol = protocol_from_mapping(data)
    except ProtocolError as error:
        assert error.problems, "a ProtocolError always says what is wrong"
        assert all(isinstance(p, str) and p for p in error.problems)
    else:
        assert isinstance(protocol, Protocol)
        assert validate_protocol(protocol) == []
        assert len(protocol.steps) == len(data["steps"])
    assert data == original  # the input is not modified


# ---------------------------------------------------------------------------------------------
# comfort_notes


def _warning(zone_id: str) -> str:
    warning = zone_catalog()[zone_id].placement_warning
    assert warning
    return warning


def test_left_and_right_zones_sharing_a_warning_give_one_note() -> None:
    steps = tuple(
        _step(zone)
        for zone in ("forehead_right", "forehead_left", "cheek_right", "eye_right", "eye_left")
    )
    notes = comfort_notes(_protocol(steps))
    assert notes == [
        f"Forehead, right and Forehead, left: {_warning('forehead_left')}",
        f"Eye area, right and Eye area, left: {_warning('eye_left')}",
    ]


def test_a_zone_visited_twice_is_named_once() -> None:
    steps = (_step("neck_left"), _step("cheek_left"), _step("neck_left"))
    assert comfort_notes(_protocol(steps)) == [f"Neck, left: {_warning('neck_left')}"]


def test_zones_without_warnings_give_no_notes() -> None:
    steps = (_step("cheek_right"), _step("cheek_left"), _step("jawline_left"))
    assert comfort_notes(_protocol(steps)) == []


def test_current_above_the_comfort_level_is_noted_with_its_step() -> None:
    steps = (_step("cheek_right", current_ua=500.0), _step("cheek_left", current_ua=600.0))
    assert comfort_notes(_protocol(steps)) == [
        "step 2 (cheek_left): 600 µA is above 500 µA, uncomfortable for many clients"
    ]


@pytest.mark.parametrize(
    ("factory", "warned_zones"),
    [
        (plugins.lifting.lifting_protocol, ["forehead", "neck"]),
        (plugins.toning.toning_protocol, ["eye", "upper_lip"]),
        # The neck first (Vodder's order), then the face from the jaw up.
        (plugins.circulation.circulation_protocol, ["neck", "eye", "forehead"]),
    ],
)
def test_built_in_protocols_get_one_note_per_placement_warning(
    factory: Any, warned_zones: list[str]
) -> None:
    protocol = factory()
    notes = comfort_notes(protocol)
    # The protocol's own warnings come first, as the author wrote them.
    assert notes[: len(protocol.warnings)] == list(protocol.warnings)
    notes = notes[len(protocol.warnings) :]
    assert len(notes) == len(warned_zones)
    for note, region in zip(notes, warned_zones, strict=True):
        zone_id = region if region == "upper_lip" else f"{region}_left"
        assert note.endswith(_warning(zone_id))


# ---------------------------------------------------------------------------------------------
# planned charge


def test_planned_charge_known_value() -> None:
    step = Step("cheek_left", _wave(300.0, ramp_s=2.0), 60.0, "Hold.")
    assert step.planned_charge_uc == pytest.approx(300 * 0.5 * 59.0)


@FAST
@given(
    shape=st.sampled_from(list(WaveShape)),
    current=st.integers(min_value=1, max_value=100).map(lambda k: 10.0 * k),
    duration=st.floats(min_value=10.0, max_value=600.0),
    ramp_fraction=st.floats(min_value=0.001, max_value=0.999),
)
def test_planned_charge_is_current_times_factor_times_time_less_half_the_ramp(
    shape: WaveShape, current: float, duration: float, ramp_fraction: float
) -> None:
    ramp = min(30.0, duration) * ramp_fraction
    wave = Waveform(shape, 10.0, current, Polarity.ALTERNATING, 2.0, ramp)
    step = Step("cheek_left", wave, duration, "Hold.")
    expected = current * shape.mean_abs_factor * (duration - ramp / 2)
    assert step.planned_charge_uc == pytest.approx(expected, rel=1e-12)


def test_protocol_planned_charge_and_duration_are_sums_over_steps() -> None:
    protocol = _protocol()
    assert protocol.duration_s == 180.0
    assert protocol.planned_charge_uc == pytest.approx(
        sum(step.planned_charge_uc for step in protocol.steps)
    )
    assert protocol.zones == ["cheek_right", "cheek_left", "jawline_right"]


# ---------------------------------------------------------------------------------------------
# The built-in protocol plugins

BUILT_IN: list[tuple[ModuleType, str]] = [
    (plugins.lifting, "lifting"),
    (plugins.toning, "toning"),
    (plugins.circulation, "circulation"),
]


def _built_in(module: ModuleType, protocol_id: str) -> Protocol:
    protocol: Protocol = getattr(module, f"{protocol_id}_protocol")()
    return protocol


built_in = pytest.mark.parametrize(
    ("module", "protocol_id"), BUILT_IN, ids=[i for _, i in BUILT_IN]
)


@built_in
def test_has_at_least_8_steps(module: ModuleType, protocol_id: str) -> None:
    assert len(_built_in(module, protocol_id).steps) >= 8


@built_in
def test_covers_both_sides_of_every_sided_region(module: ModuleType, protocol_id: str) -> None:
    catalog = zone_catalog()
    protocol = _built_in(module, protocol_id)
    visited = set(protocol.zones)
    sides = {catalog[z].side for z in visited}
    assert {Side.LEFT, Side.RIGHT} <= sides
    for region in {catalog[z].region for z in visited}:
        sided = {z for z in catalog if catalog[z].region == region and catalog[z].side != "center"}
        if sided:
            assert {f"{region}_left", f"{region}_right"} <= visited, region


@built_in
def test_every_step_is_valid(module: ModuleType, protocol_id: str) -> None:
    protocol = _built_in(module, protocol_id)
    assert protocol.id == protocol_id
    assert validate_protocol(protocol) == []
    for step in protocol.steps:
        assert step.waveform.problems() == [], step


@built_in
def test_total_duration_is_15_to_45_minutes(module: ModuleType, protocol_id: str) -> None:
    assert 15 * 60 <= _built_in(module, protocol_id).duration_s <= 45 * 60


@built_in
def test_currents_stay_within_the_comfort_level(module: ModuleType, protocol_id: str) -> None:
    protocol = _built_in(module, protocol_id)
    assert max(step.waveform.current_ua for step in protocol.steps) <= 500.0
    assert not any("µA is above" in note for note in comfort_notes(protocol))


@built_in
def test_module_docstring_explains_the_values(module: ModuleType, protocol_id: str) -> None:
    doc = " ".join((module.__doc__ or "").split())
    assert len(doc) > 300
    protocol = _built_in(module, protocol_id)
    # The numbers the docstring gives are the ones the protocol uses.
    assert f"{len(protocol.steps)} steps" in doc
    minutes = re.search(r"(\d+) min", doc)
    assert minutes is not None
    assert int(minutes.group(1)) == round(protocol.duration_s / 60)
    for frequency in {s.waveform.frequency_hz for s in protocol.steps}:
        assert f"{frequency:g} Hz" in doc
    for reversal in {s.waveform.reversal_interval_s for s in protocol.steps}:
        assert f"every {reversal:g} s" in doc
    for ramp in {s.waveform.ramp_s for s in protocol.steps}:
        assert f"{ramp:g} s ramp" in doc
    ranges = [
        (float(low), float(high or low)) for low, high in re.findall(r"(\d+)(?:–(\d+))? µA", doc)
    ]
    for step in protocol.steps:
        current = step.waveform.current_ua
        assert any(low <= current <= high for low, high in ranges), (step.zone, current)
    assert protocol.series.describe() in doc


@built_in
def test_declares_the_plugin_api_version(module: ModuleType, protocol_id: str) -> None:
    assert module.mc_console_api == "1.1"


@built_in
def test_register_protocols_hook_returns_the_protocol(module: ModuleType, protocol_id: str) -> None:
    assert hasattr(module.register_protocols, "mc_console_impl")  # marked with @hookimpl
    assert module.register_protocols() == [_built_in(module, protocol_id)]


@built_in
def test_plugin_host_accepts_the_plugin(module: ModuleType, protocol_id: str) -> None:
    host = PluginHost(blocked=())
    record = host.register(module, f"test-{protocol_id}")
    assert record.active, record.error
    host.collect()
    assert record.refused == []
    assert list(host.protocols) == [protocol_id]


def test_built_in_ids_are_distinct() -> None:
    ids = [_built_in(m, i).id for m, i in BUILT_IN]
    assert len(set(ids)) == 3


def test_lifting_uses_low_frequency_for_its_lifts_and_a_faster_pulse_for_the_neck_glide() -> None:
    """0.5 Hz pulses serve the hold; the neck is glided, not held, so its pulses are short
    (square still, so a machine that runs the lifts runs the neck)."""
    lifting = plugins.lifting.lifting_protocol()
    lifts = [s for s in lifting.steps if s.placement.motion is MotionKind.HOLD_AND_LIFT]
    glides = [s for s in lifting.steps if s.placement.motion is MotionKind.GLIDE]
    assert len(lifts) == 10 and all(step.waveform.frequency_hz <= 1.0 for step in lifts)
    assert [step.zone for step in glides] == ["neck_right", "neck_left"]
    assert all(step.waveform.frequency_hz == 10.0 for step in glides)
    assert {step.waveform.shape for step in lifting.steps} == {WaveShape.SQUARE}


def test_circulation_uses_a_higher_frequency_than_lifting() -> None:
    lifting = plugins.lifting.lifting_protocol()
    circulation = plugins.circulation.circulation_protocol()
    assert min(s.waveform.frequency_hz for s in circulation.steps) > max(
        s.waveform.frequency_hz for s in lifting.steps
    )


@pytest.mark.parametrize(
    "factory", [plugins.toning.toning_protocol, plugins.circulation.circulation_protocol]
)
def test_eye_area_steps_use_the_lowest_current(factory: Any) -> None:
    protocol = factory()
    eye = [s.waveform.current_ua for s in protocol.steps if s.zone.startswith("eye_")]
    others = [s.waveform.current_ua for s in protocol.steps if not s.zone.startswith("eye_")]
    assert eye, "the protocol works around the eyes"
    assert max(eye) <= min(others)


def test_lifting_keeps_off_the_eye_area() -> None:
    """Lifting's hold-and-lift is not for the eye area, so the eye rule has nothing to check."""
    assert not any(z.startswith("eye_") for z in plugins.lifting.lifting_protocol().zones)
