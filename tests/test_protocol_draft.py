"""The protocol editor's plain-data side (no Qt): a pack's fields as rows, unset cells, and which
cell or field each validation sentence is about."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from console.drivers import Capabilities
from console.packs import STEP_FIELDS, PackError, protocol_to_toml
from console.problems import RuleProblem
from console.protocol_draft import (
    PLACEHOLDER,
    STEP_FIELD,
    Column,
    Draft,
    Problem,
    StepRow,
    Unset,
    check,
    draft_from_mapping,
    format_step_duration,
    locate,
    parse_duration,
    read_draft,
    row_from_mapping,
    row_with,
)
from console.protocols import validate_protocol
from console.waveforms import Polarity, WaveShape
from console.zones import zone_catalog
from plugins.circulation import circulation_protocol
from plugins.lifting import lifting_protocol
from plugins.toning import toning_protocol


def pack_data(protocol=None) -> dict:
    """A pack's TOML data, as tomllib reads the file the console writes."""
    return tomllib.loads(protocol_to_toml(protocol or toning_protocol()))


def test_the_module_does_not_need_qt() -> None:
    code = "import sys, console.protocol_draft; print(any('PySide6' in m for m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_every_step_field_of_a_pack_has_its_column() -> None:
    assert sorted(STEP_FIELD.values()) == sorted(STEP_FIELDS)
    assert set(STEP_FIELD) == set(Column)


@pytest.mark.parametrize("make", [lifting_protocol, toning_protocol, circulation_protocol])
def test_a_valid_pack_reads_as_its_protocol_with_nothing_unset(make) -> None:
    protocol = make()
    assert draft_from_mapping(pack_data(protocol)) == Draft.of(protocol)


def test_a_step_keeps_an_unknown_zone_and_an_over_limit_current_as_they_are() -> None:
    raw = pack_data()["steps"][0] | {"zone": "ear_left", "current_ua": 1200}
    row = row_from_mapping(raw)
    assert row.unset == {}
    assert (row.step.zone, row.step.waveform.current_ua) == ("ear_left", 1200.0)


def test_a_missing_or_wrong_step_field_is_an_unset_cell_holding_its_placeholder() -> None:
    raw = pack_data()["steps"][1]
    del raw["current_ua"], raw["polarity"]  # polarity is optional: it takes its default
    raw |= {"shape": "triangle", "duration_s": "2:00", "frequency_hz": float("inf")}
    row = row_from_mapping(raw)
    assert row.unset == {
        Column.CURRENT: Unset(None),
        Column.SHAPE: Unset("triangle"),
        Column.DURATION: Unset("2:00"),
        Column.FREQUENCY: Unset(float("inf")),
    }
    assert row.step.waveform.current_ua == PLACEHOLDER[Column.CURRENT]
    assert row.step.duration_s == PLACEHOLDER[Column.DURATION]
    assert row.step.waveform.polarity is Polarity.ALTERNATING
    where = f"step 2 ({raw['zone']})"
    assert [sentence for _column, sentence in row.problems(2)] == [
        f"{where}: shape 'triangle' is not one of square, sine, ramped, biphasic",
        f"{where}: frequency_hz must be a finite number, got inf",
        f"{where}: missing field 'current_ua'",
        f"{where}: duration_s must be a number, got '2:00'",
    ]
    assert Unset("2:00").text == "2:00" and Unset().text == "" and Unset(True).text == "true"


def test_a_value_typed_into_an_unset_cell_sets_it_and_unset_puts_it_back() -> None:
    row = row_from_mapping({k: v for k, v in pack_data()["steps"][0].items() if k != "zone"})
    assert row.unset == {Column.ZONE: Unset()}
    assert row.step.zone == "?"  # the sentences about the row still read "step N (?)"
    fixed = row_with(row, Column.ZONE, "chin")
    assert fixed.unset == {} and fixed.step.zone == "chin"
    assert row_with(fixed, Column.ZONE, Unset()) == row
    with pytest.raises(ValueError):
        row_with(row, Column.CURRENT, "a lot")
    assert row_with(row, Column.DURATION, "1:30").step.duration_s == 90.0


def test_header_fields_show_what_the_file_has_and_a_missing_number_is_zero() -> None:
    data = pack_data()
    del data["name"], data["series"]["sessions"]
    data |= {"version": 2, "warnings": "one note"}
    data["series"]["maintenance_every_weeks"] = [4]
    protocol = draft_from_mapping(data).protocol
    assert (protocol.name, protocol.version, protocol.warnings) == ("", "2", ("one note",))
    assert protocol.series.sessions == 0
    assert protocol.series.maintenance_every_weeks == (0, 0)
    assert protocol.series.sessions_per_week == toning_protocol().series.sessions_per_week


def test_check_says_what_an_unset_cell_lacks_and_not_what_its_placeholder_breaks() -> None:
    data = pack_data()
    del data["steps"][1]["current_ua"], data["steps"][1]["technique"]
    data["name"] = ""
    data["series"]["sessions"] = 60
    draft = draft_from_mapping(data)
    zone = data["steps"][1]["zone"]
    assert check(draft, zone_catalog()) == [
        Problem("name is empty", fields=("name",)),
        Problem(f"step 2 ({zone}): missing field 'current_ua'", 1, (Column.CURRENT,)),
        Problem(f"step 2 ({zone}): missing field 'technique'", 1, (Column.TECHNIQUE,)),
        Problem("series: 60 sessions is not 1–52", fields=("sessions",)),
    ]


def test_a_machine_limit_is_listed_after_the_rules_and_only_for_cells_they_leave_alone() -> None:
    caps = Capabilities(
        channels=1,
        current_ua=(10.0, 400.0),
        current_step_ua=10.0,
        frequency_hz=(0.1, 200.0),
        waveforms=frozenset({WaveShape.SQUARE}),
        polarities=frozenset(Polarity),
        sample_rate_hz=2000.0,
        compliance_v=20.0,
    )
    lifting = lifting_protocol()
    first, second, *rest = lifting.steps
    steps = (
        replace(first, waveform=replace(first.waveform, current_ua=1200.0)),  # the hard limit
        # Within the cheek's 600 µA but beyond the machine's 400 µA:
        replace(
            second,
            zone="cheek_left",
            waveform=replace(second.waveform, current_ua=500.0),
            placement=lifting.steps[5].placement,  # the cheek's
        ),
        *rest,
    )
    rows = [StepRow(step) for step in steps]
    rows[2] = row_with(rows[2], Column.SHAPE, Unset("triangle"))  # no "no square" sentence
    found = check(Draft(replace(lifting, steps=steps), tuple(rows)), zone_catalog(), caps, "Demo")
    assert [(p.row, p.columns) for p in found] == [
        (0, (Column.CURRENT,)),
        (2, (Column.SHAPE,)),
        (1, (Column.CURRENT,)),
    ]
    assert found[-1].sentence == (
        "step 2 (cheek_left) on Demo: current 500 µA is outside the machine's 10–400 µA"
    )


def test_problems_point_at_their_cells_and_fields_by_structure_not_wording() -> None:
    ramp = locate(
        RuleProblem("anything at all", fields=("ramp_s", "duration_s"), step=3), step_count=12
    )
    assert (ramp.row, ramp.columns) == (2, (Column.RAMP, Column.DURATION))
    assert locate(RuleProblem("current", fields=("current_ua",), step=13), 12).row is None
    weekly = locate(RuleProblem("reworded freely", fields=("sessions_per_week",)), 12)
    assert (weekly.row, weekly.fields) == (None, ("sessions_per_week",))
    # What validate_protocol itself says about a broken protocol lands on the right cells.
    lifting = lifting_protocol()
    broken = replace(
        lifting,
        steps=(
            replace(lifting.steps[0], duration_s=122.0),
            replace(lifting.steps[1], waveform=replace(lifting.steps[1].waveform, ramp_s=0.2)),
            *lifting.steps[2:],
        ),
        series=replace(lifting.series, maintenance_every_weeks=(8, 6)),
    )
    located = [locate(problem, len(broken.steps)) for problem in validate_protocol(broken)]
    assert [(p.row, p.columns, p.fields) for p in located] == [
        (0, (Column.DURATION,), ()),
        (1, (Column.RAMP,), ()),
        (None, (), ("maintenance_every_weeks",)),
    ]


def test_reading_a_pack_file(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(protocol_to_toml(toning_protocol()), encoding="utf-8")
    assert read_draft(good) == (Draft.of(toning_protocol()), None)

    broken = tmp_path / "broken.toml"
    broken.write_text(good.read_text().replace('zone = "brow_right"', 'zone = "ear"'))
    draft, problems = read_draft(broken)
    assert draft.protocol.steps[0].zone == "ear"
    assert problems is not None and problems.kind == "unknown_zone" and problems.line

    broken.write_text("id = \n", encoding="utf-8")
    with pytest.raises(PackError) as refused:
        read_draft(broken)
    assert refused.value.kind == "syntax"
    with pytest.raises(PackError) as unreadable:
        read_draft(tmp_path / "missing.toml")
    assert unreadable.value.line is None


@pytest.mark.parametrize("seconds", [10.0, 90.5, 150.0, 599.0, 3723.0])
def test_a_step_duration_reads_back_as_written(seconds: float) -> None:
    assert parse_duration(format_step_duration(seconds)) == seconds


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(90.0, "1:30"), (90.5, "1:30.5"), (90.04, "1:30.04"), (75.125, "1:15.125"), (59.9996, "1:00")],
)
def test_a_duration_shows_its_fraction_and_never_reads_sixty_seconds(seconds, text) -> None:
    assert format_step_duration(seconds) == text
