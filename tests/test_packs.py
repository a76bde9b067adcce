"""Protocol packs: TOML files that read back identical, broken files reported line by line, the
``packs`` plugin through a real host, and saving without ever leaving a file that does not load."""

from __future__ import annotations

import importlib.metadata
import math
import os
import re
import stat
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from console import cli, hookimpl
from console.charge import planned_charge
from console.hookspecs import PROJECT_NAME
from console.packs import (
    KINDS,
    PACKS_DIR_ENV,
    PackError,
    PackIssue,
    key_lines,
    load_pack,
    load_packs,
    packs_dir,
    parse_pack,
    protocol_to_toml,
    save_pack,
)
from console.plugin_settings import APP_AUTHOR, APP_NAME
from console.plugins import PluginHost
from console.protocols import (
    ID_ALPHABET,
    Protocol,
    ProtocolError,
    RecommendedSeries,
    Step,
    comfort_notes,
    validate_protocol,
)
from console.waveforms import Polarity, Waveform, WaveShape
from console.zones import zone_catalog
from plugins.circulation import circulation_protocol
from plugins.lifting import lifting_protocol
from plugins.toning import toning_protocol
from support import make_protocol

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "resources" / "packs" / "express-lift.toml"
BUILT_IN_PROTOCOLS = {"lifting", "toning", "circulation"}


@pytest.fixture
def own_packs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The trainer's packs folder, empty, as the console finds it through the environment."""
    folder = tmp_path / "own-packs"
    folder.mkdir()
    monkeypatch.setenv(PACKS_DIR_ENV, str(folder))
    return folder


def pack(**changes: str) -> str:
    """A valid three-step pack; ``changes`` replaces whole lines ``key = ...`` by their text,
    ``step3_current_ua="current_ua = 1200"`` only in the third step."""
    text = VALID_PACK
    for name, line in changes.items():
        step, _, key = name.partition("_") if name.startswith("step") else ("", "", name)
        lines = text.split("\n")
        wanted = int(step.removeprefix("step")) if step else 0
        seen = 0
        for index, old in enumerate(lines):
            seen += old == "[[steps]]"
            if old.startswith(f"{key} = ") and seen == wanted:
                lines[index] = line
                break
        else:
            raise AssertionError(f"no line {key} in step {wanted}")
        text = "\n".join(lines)
    return text


VALID_PACK = textwrap.dedent(
    """\
    # A trainer's pack.
    id = "cheek-express"
    name = "Cheek express"
    category = "lifting"
    description = "Cheeks only."
    version = "2"
    warnings = ["Gel first."]

    [series]
    sessions_per_week = 2
    sessions = 8
    maintenance_every_weeks = [4, 6]

    [[steps]]
    zone = "cheek_right"
    duration_s = 120
    technique = "Hold and lift."
    shape = "square"
    frequency_hz = 0.5
    current_ua = 300
    polarity = "alternating"
    reversal_interval_s = 2
    ramp_s = 1

    [[steps]]
    zone = "cheek_left"
    duration_s = 120
    technique = "Hold and lift."
    shape = "square"
    frequency_hz = 0.5
    current_ua = 300
    polarity = "alternating"
    reversal_interval_s = 2
    ramp_s = 1

    [[steps]]
    zone = "cheek_left"
    duration_s = 100
    technique = "Glide to the ear."
    shape = "sine"
    frequency_hz = 10
    current_ua = 200
    """
)


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line that starts with ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if line.startswith(needle)]
    return hits[occurrence - 1]


def pack_error(text: str, source: str = "my-pack.toml") -> PackError:
    with pytest.raises(PackError) as caught:
        parse_pack(text, source)
    error = caught.value
    assert isinstance(error, ProtocolError)
    assert error.kind in KINDS
    assert error.source == source
    return error


# -- round trip --------------------------------------------------------------------------------


def test_a_valid_pack_reads_as_its_protocol() -> None:
    protocol = parse_pack(VALID_PACK, "cheek-express.toml")
    assert protocol.id == "cheek-express"
    assert protocol.version == "2"
    assert protocol.warnings == ("Gel first.",)
    assert protocol.series == RecommendedSeries(2.0, 8, (4, 6))
    assert [step.zone for step in protocol.steps] == ["cheek_right", "cheek_left", "cheek_left"]
    assert protocol.steps[0].waveform == Waveform(
        WaveShape.SQUARE, 0.5, 300.0, Polarity.ALTERNATING, 2.0, 1.0
    )
    # Optional step fields take the documented defaults.
    assert protocol.steps[2].waveform.polarity is Polarity.ALTERNATING
    assert protocol.steps[2].waveform.reversal_interval_s == 2.0
    assert protocol.steps[2].waveform.ramp_s == 1.0


@pytest.mark.parametrize(
    "protocol",
    [lifting_protocol(), toning_protocol(), circulation_protocol(), make_protocol()],
    ids=["lifting", "toning", "circulation", "test-protocol"],
)
def test_built_in_protocols_read_back_identical(protocol: Protocol) -> None:
    text = protocol_to_toml(protocol)
    assert parse_pack(text, "x") == protocol
    assert text.startswith("# Microcurrent Console protocol pack")
    assert text.count("\n[[steps]]\n") == len(protocol.steps)
    assert text.count("\n[series]\n") == 1
    assert f"sessions = {protocol.series.sessions}\n" in text  # an int stays an int
    low, high = protocol.series.maintenance_every_weeks
    assert f"maintenance_every_weeks = [{low}, {high}]\n" in text


def test_the_pack_is_readable_step_by_step() -> None:
    text = protocol_to_toml(lifting_protocol())
    first_step = text.split("[[steps]]\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert [line.split(" = ")[0] for line in first_step] == [
        "zone",
        "duration_s",
        "technique",
        "shape",
        "frequency_hz",
        "current_ua",
        "polarity",
        "reversal_interval_s",
        "ramp_s",
        "placement",
    ]
    assert 'zone = "forehead_right"' in first_step
    assert (
        'placement = { probes = ["forehead_mid", "forehead_mid"], motion = "hold and lift", '
        'toward = "hairline" }'
    ) in first_step
    assert "frequency_hz = 0.5" in first_step
    assert "current_ua = 200" in first_step  # whole values without a trailing .0
    assert "# Step 1: Forehead, right\n[[steps]]" in text


AWKWARD = [
    'Say "hold"',
    "back\\slash \\n not a newline",
    "two\nlines\r\nand a tab\t",
    "triple \"\"\" quotes and ''' literal ones",
    "# not a comment\n[[steps]]\ncurrent_ua = 5000",
    "bell \x07 nul \x00 del \x7f escape \x1b",
    "accents é ü, µA, emoji 😀, CJK 顔, RTL שלום",
    "\\u0041 is not A",
]


@pytest.mark.parametrize("technique", AWKWARD)
def test_awkward_texts_read_back_identical(technique: str) -> None:
    base = make_protocol()
    steps = tuple(Step(s.zone, s.waveform, s.duration_s, technique) for s in base.steps)
    protocol = Protocol(
        id="awkward",
        name=technique,
        category=technique,
        description=technique,
        steps=steps,
        series=base.series,
        version=technique,
        warnings=(technique, technique),
    )
    assert validate_protocol(protocol) == []
    text = protocol_to_toml(protocol)
    assert parse_pack(text, "x") == protocol
    # One statement a line: a technique's newline or brackets never look like a key or a table.
    assert text.count("\n[[steps]]\n") == len(steps)


TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
AWKWARD_TEXT = st.lists(st.one_of(TEXT, st.sampled_from(AWKWARD)), max_size=3).map("".join)
SOME_TEXT = AWKWARD_TEXT.filter(lambda text: bool(text.strip()))


@st.composite
def steps(draw: st.DrawFn) -> Step:
    """A step that keeps every rule: its zone's limits, whole periods in each polarity phase
    and, for monophasic pulses that alternate, whole polarity cycles in the step."""
    zone = zone_catalog()[draw(st.sampled_from(list(zone_catalog())))]
    limits = zone.limits
    shape = draw(st.sampled_from(WaveShape))
    frequency = draw(st.sampled_from([0.5, 1.0, 2.0, 10.0, 40.0, 160.0, 1000.0]))
    polarities = [Polarity.ALTERNATING]
    if limits.monophasic_dc or shape is WaveShape.BIPHASIC:
        polarities += [Polarity.POSITIVE, Polarity.NEGATIVE]
    polarity = draw(st.sampled_from(polarities))
    fewest = math.ceil(0.5 * frequency)  # periods in the shortest phase (0.5 s)
    interval = draw(st.integers(fewest, fewest + 20)) / frequency
    direct = polarity is not Polarity.ALTERNATING and shape is not WaveShape.BIPHASIC
    if polarity is Polarity.ALTERNATING and shape is not WaveShape.BIPHASIC:
        cycle = 2 * interval
        most = max(1, math.floor(60.0 / cycle))
        duration = draw(st.integers(min(most, math.ceil(10.0 / cycle)), most)) * cycle
    else:
        duration = draw(st.floats(10.0, 60.0))
    # Direct current is bounded by the zone's net charge: at most 50 µA for at most 60 s.
    top = 5 if direct else int(limits.max_current_ua // 10)
    waveform = Waveform(
        shape=shape,
        frequency_hz=frequency,
        current_ua=draw(st.integers(1, top)) * 10.0,
        polarity=polarity,
        reversal_interval_s=interval,
        ramp_s=draw(st.floats(1.0, min(30.0, duration), exclude_max=True)),
    )
    return Step(zone.id, waveform, duration, draw(SOME_TEXT))


@st.composite
def protocols(draw: st.DrawFn) -> Protocol:
    low = draw(st.integers(1, 26))
    return Protocol(
        id=draw(st.text("".join(sorted(ID_ALPHABET)), min_size=1, max_size=20)),
        name=draw(SOME_TEXT),
        category=draw(AWKWARD_TEXT),
        description=draw(AWKWARD_TEXT),
        steps=tuple(draw(st.lists(steps(), min_size=1, max_size=8))),
        series=RecommendedSeries(
            sessions_per_week=draw(st.floats(0.0, 7.0, exclude_min=True)),
            sessions=draw(st.integers(1, 52)),
            maintenance_every_weeks=(low, draw(st.integers(low, 26))),
        ),
        version=draw(AWKWARD_TEXT),
        warnings=tuple(draw(st.lists(AWKWARD_TEXT, max_size=3))),
    )


def within_zone_totals(protocol: Protocol) -> bool:
    """Random steps may pile more time or net charge on one zone than a session allows."""
    catalog = zone_catalog()
    time_on: dict[str, float] = {}
    net: dict[str, float] = {}
    for step in protocol.steps:
        time_on[step.zone] = time_on.get(step.zone, 0.0) + step.duration_s
        net[step.zone] = (
            net.get(step.zone, 0.0) + planned_charge(step.waveform, step.duration_s).net_uc
        )
    return all(
        time_on[zone] <= catalog[zone].limits.max_session_s
        and abs(net[zone]) <= catalog[zone].limits.max_net_charge_uc
        for zone in time_on
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(protocols())
def test_every_valid_protocol_reads_back_identical(protocol: Protocol) -> None:
    assume(within_zone_totals(protocol))
    assert validate_protocol(protocol) == []
    assert parse_pack(protocol_to_toml(protocol), "x") == protocol


# -- broken packs ------------------------------------------------------------------------------


def test_an_unclosed_string_is_a_syntax_error_on_its_line() -> None:
    text = pack(step2_technique='technique = "Hold and lift.')
    error = pack_error(text)
    assert error.kind == "syntax"
    assert error.line == line_of(text, "technique = ", 2) == 28
    assert str(error).startswith("my-pack.toml, line 28: not valid TOML: ")
    assert error.protocol_id == "my-pack"


def test_toml_that_ends_too_early_points_at_the_last_line() -> None:
    text = pack(step3_current_ua="current_ua = [200,") + "\n\n"
    error = pack_error(text)
    assert error.kind == "syntax"
    assert error.line == len(text.rstrip().splitlines())
    assert "at the end of the file" in error.reason


def test_an_unknown_zone_names_its_line() -> None:
    text = pack(step2_zone='zone = "cheek_lfet"')
    error = pack_error(text)
    assert error.kind == "unknown_zone"
    assert error.line == line_of(text, "zone = ", 2) == 26
    assert error.reason.startswith("step 2 (cheek_lfet): unknown zone 'cheek_lfet'; known zones: ")
    assert error.protocol_id == "cheek-express"


def test_a_current_above_the_hard_limit_names_the_line_of_that_step_s_current() -> None:
    text = pack(step3_current_ua="current_ua = 1200")
    error = pack_error(text)
    assert error.kind == "over_limit"
    assert error.line == line_of(text, "current_ua = ", 3) == 42
    assert str(error) == (
        "my-pack.toml, line 42: step 3 (cheek_left): current 1200 µA is above the hard limit "
        "of 1000 µA (microcurrent stays under 1 mA)"
    )
    assert error.problems == [f"line 42: {error.reason}"]


def test_a_frequency_beyond_the_hard_limits_is_over_limit() -> None:
    text = pack(step1_frequency_hz="frequency_hz = 5000")
    error = pack_error(text)
    assert (error.kind, error.line) == ("over_limit", line_of(text, "frequency_hz = "))


def test_a_missing_top_level_field_is_on_line_1() -> None:
    text = VALID_PACK.replace('description = "Cheeks only."\n', "")
    error = pack_error(text)
    assert (error.kind, error.line) == ("missing_field", 1)
    assert str(error) == "my-pack.toml, line 1: missing field 'description'"


def test_a_missing_step_field_is_on_that_step_s_header() -> None:
    text = VALID_PACK.replace('duration_s = 100\ntechnique = "Glide to the ear."\n', "")
    error = pack_error(text)
    assert error.kind == "missing_field"
    assert error.line == line_of(text, "[[steps]]", 3) == 36
    assert error.reason == "step 3: missing field(s) 'duration_s', 'technique'"


def test_a_missing_series_field_is_on_the_series_header() -> None:
    text = VALID_PACK.replace("sessions = 8\n", "")
    error = pack_error(text)
    assert (error.kind, error.line) == ("missing_field", line_of(text, "[series]"))
    assert error.reason == "series: missing field 'sessions'"


@pytest.mark.parametrize(
    ("change", "key", "reason"),
    [
        ({"step1_current_ua": 'current_ua = "300"'}, "current_ua", "step 1: current_ua must be"),
        ({"step2_shape": 'shape = "triangle"'}, "shape", "step 2: shape 'triangle' is not one"),
        ({"step1_current_ua": "current_ua = 305"}, "current_ua", "step 1 (cheek_right): current"),
        ({"step1_duration_s": "duration_s = 5"}, "duration_s", "step 1 (cheek_right): duration"),
        ({"step1_ramp_s": "ramp_s = 40"}, "ramp_s", "step 1 (cheek_right): ramp-up 40.0 s"),
        ({"step1_technique": 'technique = "  "'}, "technique", "step 1 (cheek_right): technique"),
        ({"sessions": "sessions = 60"}, "sessions", "series: 60 sessions is not 1–52"),
        ({"name": 'name = " "'}, "name", "name is empty"),
        ({"id": 'id = "Cheek Express"'}, "id", "id 'Cheek Express' must be"),
    ],
)
def test_other_problems_are_invalid_and_point_at_their_key(
    change: dict[str, str], key: str, reason: str
) -> None:
    text = pack(**change)
    error = pack_error(text)
    assert error.kind == "invalid"
    assert error.reason.startswith(reason)
    (changed,) = change.values()
    assert error.line == text.splitlines().index(changed) + 1
    assert text.splitlines()[error.line - 1].startswith(f"{key} = ")


def test_a_ramp_not_shorter_than_its_step_points_at_the_ramp() -> None:
    text = pack(step1_duration_s="duration_s = 16", step1_ramp_s="ramp_s = 20")
    error = pack_error(text)
    assert (error.kind, error.line) == ("invalid", line_of(text, "ramp_s = 20"))
    assert error.reason == "step 1 (cheek_right): ramp-up 20 s is not shorter than the step"


def test_a_misspelt_field_is_reported_instead_of_silently_defaulting() -> None:
    text = pack(step3_current_ua='current_ua = 200\npolarty = "positive"')
    error = pack_error(text)
    assert (error.kind, error.line) == ("invalid", line_of(text, "polarty"))
    assert error.reason.startswith("step 3 (cheek_left): unknown field 'polarty'; known fields: ")


def test_several_problems_are_all_listed_each_with_its_line_top_to_bottom() -> None:
    text = pack(
        step1_duration_s="duration_s = 5",
        step2_zone='zone = "ear"',
        step3_current_ua="current_ua = 1200",
        sessions="sessions = 0",
    )
    error = pack_error(text)
    expected = [
        (line_of(text, "sessions = "), "invalid", "series: 0 sessions is not 1–52"),
        (line_of(text, "duration_s = 5"), "invalid", "step 1 (cheek_right): duration 5.0 s"),
        (line_of(text, 'zone = "ear"'), "unknown_zone", "step 2 (ear): unknown zone 'ear'"),
        (line_of(text, "current_ua = 1200"), "over_limit", "step 3 (cheek_left): current 1200"),
    ]
    assert [(i.line, i.kind) for i in error.issues] == [(line, kind) for line, kind, _ in expected]
    for issue, (_line, _kind, start) in zip(error.issues, expected, strict=True):
        assert issue.reason.startswith(start)
    assert error.problems == [str(issue) for issue in error.issues]
    assert all(
        p.startswith(f"line {i.line}: ") for p, i in zip(error.problems, error.issues, strict=True)
    )
    assert (error.line, error.kind, error.reason) == (
        expected[0][0],
        expected[0][1],
        error.issues[0].reason,
    )
    assert str(error) == "my-pack.toml, " + "; ".join(error.problems)
    assert "\n" not in str(error)  # one line in mc-console plugins


def test_key_lines_survive_multi_line_strings_arrays_comments_and_dotted_keys() -> None:
    text = textwrap.dedent(
        '''\
        id = "x" # [[steps]]
        warnings = [
            "current_ua = 1",   # not a key
            """[[steps]]
        zone = "eye_left"
        """,
        ]
        series.sessions = 3

        [[steps]]
        technique = """Hold.
        current_ua = 9000
        [series]"""
        "current_ua" = 1200
        [[ steps ]]
        notes = \'\'\'a
        b\'\'\'
        zone = { nested = "x" }
        '''
    )
    lines = key_lines(text)
    assert lines[("id",)] == 1
    assert lines[("warnings",)] == 2
    assert lines[("series",)] == lines[("series", "sessions")] == 8
    assert lines[("steps", 1)] == 10
    assert lines[("steps", 1, "technique")] == 11
    assert lines[("steps", 1, "current_ua")] == 14
    assert lines[("steps", 2)] == 15
    assert lines[("steps", 2, "zone")] == 18
    assert ("steps", 3) not in lines
    assert ("steps", 2, "nested") not in lines


def test_a_broken_pack_error_is_refused_without_issues() -> None:
    with pytest.raises(ValueError, match="at least one issue"):
        PackError("x.toml", [])
    error = PackError("x.toml", [PackIssue(None, "cannot read the file: gone", "invalid")])
    assert str(error) == "x.toml: cannot read the file: gone"
    assert error.line is None


# -- files -------------------------------------------------------------------------------------


def test_load_pack_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cheeks.toml"
    path.write_text(pack(step3_current_ua="current_ua = 1200"), encoding="utf-8")
    with pytest.raises(PackError) as caught:
        load_pack(path)
    error = caught.value
    assert error.source == "cheeks.toml"
    assert str(error).startswith("cheeks.toml, line 42: step 3 (cheek_left): current 1200 µA")


def test_a_file_that_is_not_utf8_is_a_syntax_error_on_the_line_of_the_bad_byte(
    tmp_path: Path,
) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(VALID_PACK.replace("Cheeks only.", "Joues grâce").encode("latin-1"))
    with pytest.raises(PackError) as caught:
        load_pack(path)
    error = caught.value
    assert (error.kind, error.line) == ("syntax", line_of(VALID_PACK, "description"))
    assert str(error) == ("latin1.toml, line 5: not UTF-8 text (byte 0xe2); save the file as UTF-8")


def test_an_unreadable_file_is_reported_without_a_line(tmp_path: Path) -> None:
    path = tmp_path / "folder.toml"
    path.mkdir()  # reading a folder fails on every system, even as root
    with pytest.raises(PackError) as caught:
        load_pack(path)
    error = caught.value
    assert (error.kind, error.line, error.source) == ("invalid", None, "folder.toml")
    assert str(error).startswith("folder.toml: cannot read the file: ")


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID_PACK.encode("utf-8"))
    assert load_pack(path) == parse_pack(VALID_PACK, "x")


def test_packs_dir_comes_from_the_environment_or_the_user_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PACKS_DIR_ENV, str(tmp_path / "clinic"))
    assert packs_dir() == tmp_path / "clinic"
    monkeypatch.delenv(PACKS_DIR_ENV)
    from platformdirs import user_data_dir

    assert packs_dir() == Path(user_data_dir(APP_NAME, APP_AUTHOR)) / "packs"
    assert APP_NAME == "mc-console"


def test_a_folder_with_one_good_and_several_broken_packs(own_packs: Path) -> None:
    (own_packs / "b-good.toml").write_text(VALID_PACK, encoding="utf-8")
    (own_packs / "a-syntax.toml").write_text('id = "oops\n', encoding="utf-8")
    (own_packs / "c-zone.toml").write_text(pack(step1_zone='zone = "ear"'), encoding="utf-8")
    (own_packs / "d-limit.toml").write_text(
        pack(step3_current_ua="current_ua = 1200"), encoding="utf-8"
    )
    (own_packs / "e-latin1.toml").write_bytes("id = 'é'".encode("latin-1"))
    (own_packs / "notes.txt").write_text("not a pack", encoding="utf-8")
    protocols, errors = load_packs()
    assert [p.id for p in protocols] == ["express-lift", "cheek-express"]  # shipped first
    assert [(e.source, e.kind, e.line) for e in errors] == [
        ("a-syntax.toml", "syntax", 1),
        ("c-zone.toml", "unknown_zone", 15),
        ("d-limit.toml", "over_limit", 42),
        ("e-latin1.toml", "syntax", 1),
    ]


def test_a_missing_folder_is_fine_and_the_file_name_need_not_match_the_id(tmp_path: Path) -> None:
    protocols, errors = load_packs(tmp_path / "nowhere")
    assert ([p.id for p in protocols], errors) == (["express-lift"], [])
    (tmp_path / "whatever.toml").write_text(VALID_PACK, encoding="utf-8")
    protocols, errors = load_packs(tmp_path)
    assert ([p.id for p in protocols], errors) == (["express-lift", "cheek-express"], [])


def test_a_trainer_s_pack_replaces_the_shipped_one_with_its_id(tmp_path: Path) -> None:
    edited = SHIPPED.read_text(encoding="utf-8").replace('version = "1.0"', 'version = "1.1"')
    (tmp_path / "express-lift.toml").write_text(edited, encoding="utf-8")
    protocols, errors = load_packs(tmp_path)
    assert errors == []
    assert [(p.id, p.version) for p in protocols] == [("express-lift", "1.1")]


def test_two_packs_with_one_id_in_a_folder_keep_the_first(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(VALID_PACK, encoding="utf-8")
    (tmp_path / "b.toml").write_text(pack(version='version = "3"'), encoding="utf-8")
    protocols, errors = load_packs(tmp_path)
    assert [(p.id, p.version) for p in protocols] == [
        ("express-lift", "1.0"),
        ("cheek-express", "2"),
    ]
    (error,) = errors
    assert str(error) == "b.toml, line 2: id 'cheek-express' is already used by the pack a.toml"


# -- saving ------------------------------------------------------------------------------------


def test_save_pack_creates_the_folder_and_writes_a_pack_that_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "lifting.toml"
    assert save_pack(lifting_protocol(), path) == path
    assert load_pack(path) == lifting_protocol()
    assert [p.name for p in path.parent.iterdir()] == ["lifting.toml"]  # no temporary left
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    changed = make_protocol(protocol_id="lifting", current_ua=500.0)
    save_pack(changed, path)  # replaces the file
    assert load_pack(path) == changed


def test_save_pack_refuses_an_invalid_protocol_and_writes_nothing(tmp_path: Path) -> None:
    base = make_protocol()
    step = base.steps[0]
    over = Step(step.zone, step.waveform.with_current(1200.0), step.duration_s, step.technique)
    invalid = Protocol("bad", "Bad", "lifting", "", (over, *base.steps[1:]), base.series, "1", ())
    with pytest.raises(ProtocolError) as caught:
        save_pack(invalid, tmp_path / "packs" / "bad.toml")
    assert not isinstance(caught.value, PackError)
    assert "current 1200 µA is above the hard limit" in str(caught.value)
    assert not (tmp_path / "packs").exists()


def test_save_pack_refuses_what_a_pack_could_not_load_back(tmp_path: Path) -> None:
    """The model lets maintenance weeks be 4.5; a pack needs whole weeks: nothing is saved."""
    base = make_protocol()
    series = RecommendedSeries(2, 10, (4.5, 6))  # type: ignore[arg-type]
    odd = Protocol("odd", "Odd", "lifting", "", base.steps, series, "1", ())
    assert validate_protocol(odd) == []
    (tmp_path / "odd.toml").write_text("kept", encoding="utf-8")
    with pytest.raises(PackError) as caught:
        save_pack(odd, tmp_path / "odd.toml")
    error = caught.value
    assert "maintenance_every_weeks must be a whole number" in str(error)
    assert (tmp_path / "odd.toml").read_text(encoding="utf-8") == "kept"
    assert [p.name for p in tmp_path.iterdir()] == ["odd.toml"]


def test_a_lone_surrogate_cannot_be_written() -> None:
    base = make_protocol()
    step = base.steps[0]
    odd = Protocol(
        "odd", "Odd", "x", "", (Step(step.zone, step.waveform, 20, "hold \ud800"),), base.series
    )
    with pytest.raises(ProtocolError, match="lone surrogate"):
        protocol_to_toml(odd)


# -- the shipped pack --------------------------------------------------------------------------


def test_the_shipped_express_lift_pack_is_valid_and_sensible() -> None:
    protocol = load_pack(SHIPPED)
    assert protocol.id == SHIPPED.stem == "express-lift"
    assert protocol.id not in BUILT_IN_PROTOCOLS
    assert validate_protocol(protocol) == []
    assert 12 * 60 <= protocol.duration_s <= 16 * 60
    assert {step.zone.rsplit("_", 1)[0] for step in protocol.steps} == {"brow", "cheek", "jawline"}
    for step in protocol.steps:
        wf = step.waveform
        assert (wf.shape, wf.frequency_hz, wf.polarity) == (
            WaveShape.SQUARE,
            0.5,
            Polarity.ALTERNATING,
        )
        assert (wf.reversal_interval_s, wf.ramp_s) == (2.0, 1.0)
        assert 250 <= wf.current_ua <= 350
        assert step.technique.strip()
    assert comfort_notes(protocol) == list(protocol.warnings)  # nothing above 500 µA
    assert SHIPPED.read_text(encoding="utf-8").count("\n# ") >= 10  # well commented


def test_the_shipped_packs_are_package_data() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "packs/*.toml" in config["tool"]["setuptools"]["package-data"]["resources"]


# -- the packs plugin --------------------------------------------------------------------------


def test_packs_is_a_built_in_entry_point() -> None:
    declared = {ep.name: ep.value for ep in importlib.metadata.entry_points(group=PROJECT_NAME)}
    assert declared["packs"] == "plugins.packs"


def test_the_plugin_shows_packs_beside_the_built_ins_and_broken_files_as_refused(
    own_packs: Path,
) -> None:
    (own_packs / "cheek-express.toml").write_text(VALID_PACK, encoding="utf-8")
    broken = pack(step3_current_ua="current_ua = 1200")
    (own_packs / "broken.toml").write_text(broken, encoding="utf-8")
    (own_packs / "typo.toml").write_text('id = "typo\n', encoding="utf-8")
    impostor = SHIPPED.read_text(encoding="utf-8").replace('id = "express-lift"', 'id = "toning"')
    (own_packs / "toning.toml").write_text(impostor, encoding="utf-8")
    host = PluginHost()
    host.load_entrypoints()
    host.collect()
    record = host.records["packs"]
    assert record.active
    assert record.origin == "built-in"
    assert record.protocols == ["express-lift", "cheek-express"]
    assert set(host.protocols) >= {*BUILT_IN_PROTOCOLS, "express-lift", "cheek-express"}
    assert host.protocols["cheek-express"] == parse_pack(VALID_PACK, "x")
    # A pack never takes an installed plugin's id, although "packs" sorts before "toning".
    assert host.records["toning"].protocols == ["toning"]
    assert len(host.protocols["toning"].steps) == 12
    assert record.refused == [
        "protocol 'toning': id already registered by plugin 'toning'",
        "protocol pack: broken.toml, line 42: step 3 (cheek_left): current 1200 µA is above "
        "the hard limit of 1000 µA (microcurrent stays under 1 mA)",
        "protocol pack: typo.toml, line 1: not valid TOML: Illegal character '\\n' (column 11)",
    ]
    assert all(host.records[name].refused == [] for name in BUILT_IN_PROTOCOLS)


class FileReadingPlugin:
    """A vendor plugin that reads protocols from files and returns a ProtocolError for one."""

    mc_console_api = "1.0"

    @hookimpl
    def register_protocols(self) -> list[Any]:
        return [
            ProtocolError("sculpt", ["sculpt.json: step 2: missing field(s) 'zone'"]),
            make_protocol(protocol_id="sculpt-neck"),
        ]


def test_the_host_lists_a_returned_protocol_error_and_registers_the_rest() -> None:
    host = PluginHost()
    record = host.register(FileReadingPlugin(), "acme")
    host.collect()
    assert record.active
    assert record.protocols == ["sculpt-neck"]
    assert record.refused == [
        "protocol pack: protocol 'sculpt' is invalid: sculpt.json: step 2: missing field(s) 'zone'"
    ]


def test_mc_console_shows_the_pack_and_the_broken_file_with_its_line(
    own_packs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (own_packs / "broken.toml").write_text(pack(step2_zone='zone = "ear"'), encoding="utf-8")
    assert cli.main(["protocols"]) == 0
    listed = capsys.readouterr().out
    rows = [re.split(r"\s{2,}", line.strip()) for line in listed.splitlines()]
    assert ["express-lift", "Express lift", "lifting", "6", "14:08"] in [r[:5] for r in rows]
    assert cli.main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "\n  packs: protocol pack: broken.toml, line 26: step 2 (ear): unknown zone 'ear'" in out
    row = next(line for line in out.splitlines() if line.startswith("packs "))
    assert row.split() == ["packs", "0.1.0", "built-in", "1.1", "active", "-", "express-lift"]


def test_tests_never_see_the_developer_s_own_packs() -> None:
    """conftest points MC_CONSOLE_PACKS_DIR at an empty folder of its own for every test."""
    folder = Path(os.environ[PACKS_DIR_ENV])
    assert packs_dir() == folder
    assert list(folder.iterdir()) == []
    assert [p.id for p in load_packs()[0]] == ["express-lift"]
