"""The protocol editor (pytest-qt, offscreen): a trainer's pack from table to TOML file and back.

Cells are edited through the table's own editors, as a trainer types, and checked while the editor
is still open: validation is live. Message boxes and file dialogs are patched (``dialogs``).
"""

from __future__ import annotations

import re
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pytest
from PySide6 import QtCore, QtWidgets

from console.drivers import Capabilities
from console.packs import load_pack, protocol_to_toml, save_pack
from console.protocols import Protocol
from console.ui import dialogs as boxes
from console.ui.app import make_application
from console.ui.protocol_editor import (
    PROBLEM_BACKGROUND,
    TECHNIQUE_MIN_WIDTH,
    Column,
    ProtocolEditor,
    parse_duration,
)
from console.waveforms import Polarity, WaveShape
from console.zone_progress import ZoneState
from plugins.circulation import circulation_protocol
from plugins.lifting import lifting_protocol
from plugins.toning import toning_protocol

Role = QtCore.Qt.ItemDataRole


@pytest.fixture
def installed() -> dict[str, Protocol]:
    return {p.id: p for p in (lifting_protocol(), toning_protocol(), circulation_protocol())}


@pytest.fixture
def packs_folder(tmp_path: Path) -> Path:
    return tmp_path / "packs"


@pytest.fixture
def make_editor(qtbot, dialogs, installed, packs_folder):
    make_application()  # the clinic style sheet: the editor is measured as it is shown
    editors: list[ProtocolEditor] = []

    def make(capabilities: Capabilities | None = None, machine_name: str = "") -> ProtocolEditor:
        editor = ProtocolEditor(installed, capabilities, machine_name, packs_folder)
        qtbot.addWidget(editor)
        editor.show()
        editor.activateWindow()
        qtbot.waitActive(editor)
        editors.append(editor)
        return editor

    yield make
    for editor in editors:
        editor.close()  # while message boxes are still patched: closing an edited editor asks


@pytest.fixture
def editor(make_editor) -> ProtocolEditor:
    editor = make_editor()
    assert editor.start_from("lifting")
    return editor


def cell_editor(editor: ProtocolEditor, row: int, column: Column) -> QtWidgets.QWidget:
    """Open the table's editor on a cell, as a double-click does, and return it."""
    index = editor.model.index(row, column)
    editor.table.setCurrentIndex(index)
    editor.table.edit(index)
    viewport = editor.table.viewport()
    for kind in (QtWidgets.QComboBox, QtWidgets.QDoubleSpinBox, QtWidgets.QLineEdit):
        found = [widget for widget in viewport.findChildren(kind) if widget.isVisible()]
        if found:
            return found[0]
    raise AssertionError(f"no editor opened on row {row}, column {column.name}")


def type_into(qtbot, widget: QtWidgets.QWidget, text: str) -> None:
    """Replace the editor's text by typing ``text``, key by key."""
    widget.selectAll()
    if text:
        qtbot.keyClicks(widget, text)
    else:
        qtbot.keyClick(widget, QtCore.Qt.Key.Key_Backspace)


def listed(editor: ProtocolEditor) -> list[str]:
    return [editor.problem_list.item(i).text() for i in range(editor.problem_list.count())]


def test_lifting_saves_to_the_packs_folder_and_loads_back_identical(
    qtbot, editor, packs_folder
) -> None:
    assert editor.problems() == []
    assert editor.save_button.isEnabled()
    # The id belongs to the lifting plugin: a pack with it would be refused. Advice, not an error.
    assert any("belongs to the installed protocol 'Lifting'" in note for note in editor.advice())
    assert "belongs to the installed 'Lifting'" in editor.header_message.text()
    with qtbot.waitSignal(editor.pack_saved) as saved:
        path = editor.save()
    assert path == packs_folder / "lifting.toml"
    assert load_pack(path) == lifting_protocol()
    assert saved.args == [path, lifting_protocol()]
    assert not editor.dirty


def test_an_edited_copy_under_its_own_id_round_trips_exactly(qtbot, editor, packs_folder) -> None:
    type_into(qtbot, editor.id_edit, "lifting-gentle")
    type_into(qtbot, editor.name_edit, "Gentle lifting")
    type_into(qtbot, cell_editor(editor, 0, Column.CURRENT), "150")
    type_into(qtbot, cell_editor(editor, 0, Column.DURATION), "1:28")  # 22 polarity cycles
    shape = cell_editor(editor, 1, Column.SHAPE)
    shape.setCurrentIndex(shape.findData(WaveShape.BIPHASIC.value))
    assert editor.dirty
    assert not any("belongs to" in note for note in editor.advice())

    with qtbot.waitSignal(editor.pack_saved) as saved:
        path = editor.save()
    assert path == packs_folder / "lifting-gentle.toml"
    loaded = load_pack(path)
    assert loaded == editor.current_protocol() == saved.args[1]
    first, second = loaded.steps[:2]
    assert (loaded.id, loaded.name) == ("lifting-gentle", "Gentle lifting")
    assert (first.waveform.current_ua, first.duration_s) == (150.0, 88.0)
    assert second.waveform.shape is WaveShape.BIPHASIC
    assert loaded.steps[2:] == lifting_protocol().steps[2:]


def test_an_over_limit_current_marks_its_cell_lists_the_problem_and_disables_save(
    qtbot, editor
) -> None:
    spin = cell_editor(editor, 4, Column.CURRENT)
    type_into(qtbot, spin, "1200")  # the editor is still open: validation follows the typing

    marked = editor.model.cell_problems(4, Column.CURRENT)
    assert len(marked) == 1
    assert "step 5 (cheek_right): current 1200 µA is above the hard limit" in marked[0]
    index = editor.model.index(4, Column.CURRENT)
    assert index.data(Role.BackgroundRole) == PROBLEM_BACKGROUND
    assert marked[0] in index.data(Role.ToolTipRole)
    assert editor.model.cell_problems(4, Column.FREQUENCY) == []
    assert editor.model.headerData(4, QtCore.Qt.Orientation.Vertical).startswith("✖")
    assert editor.problems() == marked
    assert any(marked[0] in text for text in listed(editor))
    assert "1 problem" in editor.problem_summary.text()
    assert not editor.save_button.isEnabled()
    assert not editor.save_action.isEnabled()
    assert editor.current_protocol() is None

    qtbot.keyClick(spin, QtCore.Qt.Key.Key_Return)  # done typing: the editor closes
    editor.table.setCurrentIndex(editor.model.index(0, Column.ZONE))
    editor.problem_list.itemActivated.emit(editor.problem_list.item(0))  # Enter on the problem
    assert editor.table.currentIndex() == index  # ...goes to its cell
    spin = cell_editor(editor, 4, Column.CURRENT)
    type_into(qtbot, spin, "350")
    assert editor.problems() == []
    assert editor.model.cell_problems(4, Column.CURRENT) == []
    assert index.data(Role.BackgroundRole) is None
    assert editor.save_button.isEnabled()
    assert editor.current_protocol() == lifting_protocol()


def test_escape_puts_back_what_the_cell_held_before_editing(qtbot, editor) -> None:
    spin = cell_editor(editor, 4, Column.CURRENT)
    type_into(qtbot, spin, "900")
    assert editor.model.steps[4].waveform.current_ua == 900
    qtbot.keyClick(spin, QtCore.Qt.Key.Key_Escape)
    assert editor.model.steps[4].waveform.current_ua == 350


def test_comfort_notes_are_advice_and_do_not_stop_a_save(qtbot, editor) -> None:
    type_into(qtbot, cell_editor(editor, 4, Column.CURRENT), "600")
    assert editor.problems() == []
    assert editor.save_button.isEnabled()
    note = "step 5 (cheek_right): 600 µA is above 500 µA, uncomfortable for many clients"
    assert note in editor.advice()
    assert any(note in text and text.startswith("⚠") for text in listed(editor))


def test_a_frequency_beyond_the_machine_is_a_problem_on_that_machine_only(make_editor) -> None:
    caps = Capabilities(
        channels=1,
        current_ua=(10.0, 500.0),
        current_step_ua=10.0,
        frequency_hz=(0.1, 200.0),
        waveforms=frozenset(WaveShape),
        polarities=frozenset(Polarity),
        sample_rate_hz=2000.0,
        compliance_v=20.0,
    )
    on_machine = make_editor(caps, "Demo 200")
    without = make_editor()
    for editor in (on_machine, without):
        editor.start_from("lifting")
        assert editor.model.setData(editor.model.index(0, Column.FREQUENCY), 300.0)

    sentence = (
        "step 1 (forehead_right) on Demo 200: frequency 300 Hz is outside the machine's 0.1–200 Hz"
    )
    assert on_machine.problems() == [sentence]
    assert on_machine.model.cell_problems(0, Column.FREQUENCY) == [sentence]
    assert not on_machine.save_button.isEnabled()
    assert "Demo 200" in on_machine.machine_label.text()
    assert without.problems() == []
    assert without.save_button.isEnabled()

    # Above the hard limit as well as the machine's: said once, by the hard limit.
    on_machine.model.setData(on_machine.model.index(0, Column.FREQUENCY), 0.5)
    on_machine.model.setData(on_machine.model.index(1, Column.CURRENT), 1200.0)
    assert len(on_machine.problems()) == 1
    assert "above the hard limit" in on_machine.problems()[0]
    # Above the zone's limit as well: said once, by the zone rule.
    on_machine.model.setData(on_machine.model.index(1, Column.CURRENT), 800.0)
    assert on_machine.problems() == [
        "step 2 (forehead_left): current 800 µA is above the 400 µA allowed on Forehead, left "
        "(zone rule)"
    ]
    assert on_machine.model.cell_problems(1, Column.CURRENT) == on_machine.problems()
    on_machine.model.setData(on_machine.model.index(1, Column.CURRENT), 200.0)
    on_machine.model.setData(on_machine.model.index(4, Column.CURRENT), 550.0)  # cheek: 600
    assert on_machine.problems() == [
        "step 5 (cheek_right) on Demo 200: current 550 µA is outside the machine's 10–500 µA"
    ]

    on_machine.set_machine(None)  # the machine was disconnected: the hard limits only
    assert on_machine.problems() == []


def test_an_empty_technique_and_an_unknown_zone_are_marked(qtbot, editor) -> None:
    line = cell_editor(editor, 2, Column.TECHNIQUE)
    type_into(qtbot, line, "")
    empty = "step 3 (brow_right): technique is empty (tell the operator what the hands do)"
    assert editor.problems() == [empty]
    assert editor.model.cell_problems(2, Column.TECHNIQUE) == [empty]
    type_into(qtbot, line, "   ")  # blanks are no technique either
    assert editor.problems() == [empty]
    type_into(qtbot, line, "Lift the tail of the brow and hold.")
    assert editor.problems() == []

    steps = lifting_protocol().steps
    editor.load_protocol(
        replace(lifting_protocol(), steps=(replace(steps[0], zone="ear_left"), *steps[1:]))
    )
    assert "unknown zone 'ear_left'" in editor.model.cell_problems(0, Column.ZONE)[0]
    assert editor.model.index(0, Column.ZONE).data() == "ear_left"
    zone = cell_editor(editor, 0, Column.ZONE)
    zone.setCurrentIndex(zone.findData("forehead_right"))
    assert editor.problems() == []
    assert editor.model.index(0, Column.ZONE).data() == "Forehead, right"


def test_total_time_and_charge_follow_the_durations(qtbot, editor) -> None:
    assert editor.total_label.text() == "26:08"
    line = cell_editor(editor, 0, Column.DURATION)
    type_into(qtbot, line, "3:00")
    assert editor.total_label.text() == "27:08"
    type_into(qtbot, line, "92")
    assert editor.total_label.text() == "25:40"
    charge = editor.build_protocol().planned_charge_uc
    assert "12 steps" in editor.totals_detail.text()
    assert f"{charge:,.0f} µC" in editor.totals_detail.text()

    type_into(qtbot, line, "5")
    assert "step 1 (forehead_right): duration 5.0 s is outside 10–600 s" in (
        editor.model.cell_problems(0, Column.DURATION)
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2:30", 150.0),
        ("90", 90.0),
        ("90.5", 90.5),
        ("1:30.5", 90.5),
        ("1:02:03", 3723.0),
        ("1:75", None),
        ("1.5:00", None),
        ("", None),
        ("two", None),
        ("1:2:3:4", None),
    ],
)
def test_durations_read_as_minutes_and_seconds_or_seconds(text, seconds) -> None:
    assert parse_duration(text) == seconds


def test_rows_are_added_duplicated_deleted_and_moved_from_the_keyboard(qtbot, editor) -> None:
    steps = list(lifting_protocol().steps)
    editor.table.setCurrentIndex(editor.model.index(1, Column.ZONE))
    editor.table.setFocus()
    qtbot.keyClick(editor.table, QtCore.Qt.Key.Key_Insert)
    assert len(editor.model.steps) == 13
    added = editor.model.steps[2]
    assert (added.zone, added.waveform, added.technique) == (steps[1].zone, steps[1].waveform, "")
    assert editor.model.cell_problems(2, Column.TECHNIQUE)  # the new step asks for its technique
    assert editor.table.currentIndex().row() == 2

    qtbot.keyClick(editor.table, QtCore.Qt.Key.Key_Delete)
    assert list(editor.model.steps) == steps

    editor.table.setCurrentIndex(editor.model.index(0, Column.CURRENT))
    qtbot.keyClick(editor.table, QtCore.Qt.Key.Key_D, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert list(editor.model.steps) == [steps[0], *steps]
    assert editor.table.currentIndex().row() == 1
    editor.delete_action.trigger()
    assert list(editor.model.steps) == steps

    editor.table.setCurrentIndex(editor.model.index(0, Column.ZONE))
    assert not editor.up_action.isEnabled()
    qtbot.keyClick(editor.table, QtCore.Qt.Key.Key_Down, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert list(editor.model.steps) == [steps[1], steps[0], *steps[2:]]
    assert editor.table.currentIndex().row() == 1
    editor.up_action.trigger()
    assert list(editor.model.steps) == steps
    editor.table.setCurrentIndex(editor.model.index(len(steps) - 1, Column.ZONE))
    assert not editor.down_action.isEnabled()
    assert editor.total_label.text() == "26:08"


def broken_pack(
    folder: Path, protocol: Protocol, step: int, key: str, text: str | None
) -> tuple[Path, int]:
    """``protocol`` as a pack file whose step ``step`` (1-based) says ``key = text`` instead
    (``None``: has no ``key``); returns the file and the line changed."""
    lines = protocol_to_toml(protocol).splitlines()
    first = [n for n, row in enumerate(lines) if row == "[[steps]]"][step - 1]
    n = next(n for n in range(first, len(lines)) if lines[n].startswith(f"{key} ="))
    if text is None:
        del lines[n]
    else:
        lines[n] = f"{key} = {text}"
    path = folder / "broken.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, n + 1


def open_from_dialog(editor: ProtocolEditor, path: Path, monkeypatch) -> None:
    monkeypatch.setattr(boxes, "pick_file_in", lambda *_a, **_k: path)
    editor.open_action.trigger()


def test_a_pack_that_is_not_toml_is_refused_with_its_line_and_the_content_is_kept(
    editor, dialogs, tmp_path, monkeypatch
) -> None:
    before = editor.build_protocol()
    broken = tmp_path / "broken.toml"
    broken.write_text('id = "x"\nname = \n', encoding="utf-8")
    open_from_dialog(editor, broken, monkeypatch)
    title, message = dialogs[-1]
    assert title == "Cannot open the pack"
    assert "broken.toml" in message
    assert "line 2" in message and "not valid TOML" in message
    assert editor.build_protocol() == before
    assert editor.path is None

    assert not editor.open_pack(tmp_path / "missing.toml")  # cannot be read: refused as well
    assert "missing.toml" in dialogs[-1][1] and "cannot read the file" in dialogs[-1][1]
    assert editor.build_protocol() == before


def test_a_pack_with_an_unknown_zone_opens_marked_and_saves_once_fixed(
    qtbot, editor, dialogs, tmp_path, packs_folder, monkeypatch
) -> None:
    toning = toning_protocol()
    path, line = broken_pack(tmp_path, toning, 1, "zone", '"ear_left"')
    open_from_dialog(editor, path, monkeypatch)
    assert dialogs == []  # opened, not refused
    assert editor.path == path
    zone = editor.model.index(0, Column.ZONE)
    assert zone.data() == "ear_left"  # as the trainer typed it
    assert zone.data(Role.BackgroundRole) == PROBLEM_BACKGROUND
    assert "unknown zone 'ear_left'" in editor.model.cell_problems(0, Column.ZONE)[0]
    assert len(editor.problems()) == 1
    assert f"line {line}: step 1 (ear_left): unknown zone" in editor.status.text()
    assert not editor.save_button.isEnabled()
    assert editor.build_protocol().steps[1:] == toning.steps[1:]  # the rest as in the file

    combo = cell_editor(editor, 0, Column.ZONE)
    combo.setCurrentIndex(combo.findData(toning.steps[0].zone))
    assert editor.problems() == []
    with qtbot.waitSignal(editor.pack_saved) as saved:
        path = editor.save()
    assert path == packs_folder / "toning.toml"
    assert load_pack(path) == editor.current_protocol() == saved.args[1] == toning


def test_a_pack_with_a_missing_step_field_opens_with_that_cell_empty_and_marked(
    qtbot, editor, dialogs, tmp_path, packs_folder
) -> None:
    toning = replace(toning_protocol(), id="toning-fix")
    path, _line = broken_pack(tmp_path, toning, 2, "current_ua", None)
    second = [n for n, row in enumerate(path.read_text().splitlines(), 1) if row == "[[steps]]"][1]
    assert editor.open_pack(path)
    assert dialogs == []
    current = editor.model.index(1, Column.CURRENT)
    assert current.data() == ""
    assert editor.model.cell_problems(1, Column.CURRENT) == [
        f"step 2 ({toning.steps[1].zone}): missing field 'current_ua'"
    ]
    assert editor.problems() == editor.model.cell_problems(1, Column.CURRENT)
    assert f"line {second}: step 2: missing field(s) 'current_ua'" in editor.status.text()
    assert editor.current_protocol() is None

    spin = cell_editor(editor, 1, Column.CURRENT)
    type_into(qtbot, spin, "900")
    assert current.data() == "900 µA"
    qtbot.keyClick(spin, QtCore.Qt.Key.Key_Escape)  # Esc puts back what the file had: nothing
    assert current.data() == ""
    assert editor.model.cell_problems(1, Column.CURRENT)

    spin = cell_editor(editor, 1, Column.CURRENT)
    type_into(qtbot, spin, str(int(toning.steps[1].waveform.current_ua)))
    qtbot.keyClick(spin, QtCore.Qt.Key.Key_Return)
    assert editor.problems() == []
    assert editor.save() == packs_folder / "toning-fix.toml"
    assert load_pack(packs_folder / "toning-fix.toml") == editor.current_protocol() == toning


def test_a_pack_with_1200_microamps_opens_with_the_current_shown_and_marked(
    qtbot, editor, dialogs, tmp_path
) -> None:
    toning = replace(toning_protocol(), id="toning-fix")
    path, line = broken_pack(tmp_path, toning, 1, "current_ua", "1200")
    assert editor.open_pack(path)
    assert dialogs == []
    current = editor.model.index(0, Column.CURRENT)
    assert current.data() == "1200 µA"
    sentence = f"step 1 ({toning.steps[0].zone}): current 1200 µA is above the hard limit"
    assert sentence in editor.model.cell_problems(0, Column.CURRENT)[0]
    assert f"line {line}: {sentence}" in editor.status.text()
    assert not editor.save_button.isEnabled()

    type_into(qtbot, cell_editor(editor, 0, Column.CURRENT), "200")
    assert editor.problems() == []
    saved = editor.save()
    fixed = replace(
        toning,
        steps=(
            replace(toning.steps[0], waveform=toning.steps[0].waveform.with_current(200.0)),
            *toning.steps[1:],
        ),
    )
    assert load_pack(saved) == editor.current_protocol() == fixed


def test_a_pack_with_wrong_header_fields_shows_them_as_they_are(
    qtbot, editor, tmp_path, packs_folder
) -> None:
    text = protocol_to_toml(replace(toning_protocol(), id="toning-fix"))
    text = re.sub(r"^version = .*$", "version = 2", text, flags=re.MULTILINE)  # not a text
    text = re.sub(r"^sessions = .*$", "sessions = 60", text, flags=re.MULTILINE)  # above 52
    text = re.sub(r"^name = .*\n", "", text, flags=re.MULTILINE)  # missing
    path = tmp_path / "header.toml"
    path.write_text(text, encoding="utf-8")
    assert editor.open_pack(path)
    assert editor.name_edit.text() == ""
    assert editor.name_edit.property("invalid") is True
    assert editor.version_edit.text() == "2"
    assert editor.sessions.value() == 60  # not clamped to a valid 52: shown and marked
    assert editor.sessions.property("invalid") is True
    assert "line 1: missing field 'name'" in editor.status.toolTip()

    qtbot.keyClicks(editor.name_edit, "Toning")
    editor.sessions.setValue(10)
    assert editor.problems() == []
    saved = editor.save()
    assert load_pack(saved) == editor.current_protocol()
    assert (load_pack(saved).version, load_pack(saved).series.sessions) == ("2", 10)


def test_a_pack_opens_for_editing(editor) -> None:
    shipped = Path(str(resources.files("resources").joinpath("packs", "express-lift.toml")))
    assert editor.open_pack(shipped)
    assert editor.current_protocol() == load_pack(shipped)
    assert editor.path == shipped
    assert "express-lift.toml" in editor.windowTitle()
    assert editor.advice()[0] != ""  # the pack's own warnings are shown as advice
    assert not any("belongs to" in note for note in editor.advice())


def test_the_face_map_previews_the_visited_zones_and_the_selected_step(qtbot, editor) -> None:
    steps = lifting_protocol().steps
    editor.table.setCurrentIndex(editor.model.index(4, Column.TECHNIQUE))
    face_map = editor.face_map
    assert face_map.active_zone == "cheek_right"
    assert face_map.active_technique == steps[4].technique
    assert face_map.states["cheek_left"] is ZoneState.PENDING
    assert face_map.states["chin"] is ZoneState.NOT_IN_PROTOCOL
    editor.table.setCurrentIndex(editor.model.index(0, Column.ZONE))
    assert face_map.active_zone == "forehead_right"
    assert face_map.catalog["forehead_right"].placement_warning  # drawn in the map's caption

    qtbot.mouseClick(
        face_map,
        QtCore.Qt.MouseButton.LeftButton,
        pos=face_map.zone_centre("jawline_left").toPoint(),
    )
    assert editor.table.currentIndex().row() == 9
    qtbot.mouseClick(
        face_map, QtCore.Qt.MouseButton.LeftButton, pos=face_map.zone_centre("chin").toPoint()
    )
    assert editor.table.currentIndex().row() == 9
    assert "No step on Chin" in editor.status.text()


def test_saving_asks_before_replacing_another_file(make_editor, packs_folder, monkeypatch) -> None:
    editor = make_editor()
    editor.start_from("toning")
    editor.id_edit.setText("toning-b")
    other = save_pack(
        replace(circulation_protocol(), id="toning-b"), packs_folder / "toning-b.toml"
    )
    asked: list[str] = []
    answer = [False]

    def confirm_in(_window, title, _text):
        asked.append(title)
        return answer[0]

    monkeypatch.setattr(boxes, "confirm_in", confirm_in)
    assert editor.save() is None
    assert asked == ["Replace the pack?"]
    assert load_pack(other).name == circulation_protocol().name

    answer[0] = True
    assert editor.save() == other
    assert load_pack(other) == replace(toning_protocol(), id="toning-b")
    editor.description.setPlainText("Toning, second version.")
    assert editor.save() == other  # its own file now: saved without asking again
    assert len(asked) == 2


def test_save_as_writes_where_the_trainer_chooses(qtbot, editor, tmp_path, monkeypatch) -> None:
    chosen = tmp_path / "elsewhere" / "my-lift"
    monkeypatch.setattr(boxes, "pick_file_in", lambda *_a, **_k: chosen)
    with qtbot.waitSignal(editor.pack_saved) as saved:
        editor.save_as_action.trigger()
    assert saved.args[0] == chosen.with_name("my-lift.toml")
    assert load_pack(saved.args[0]) == lifting_protocol()


def test_header_problems_are_marked_next_to_their_fields(qtbot, editor) -> None:
    editor.name_edit.clear()
    assert editor.problems() == ["name is empty"]
    assert editor.name_edit.property("invalid") is True
    assert "name is empty" in editor.header_message.text()
    assert not editor.save_button.isEnabled()
    qtbot.keyClicks(editor.name_edit, "Lifting")
    assert editor.problems() == []
    assert editor.name_edit.property("invalid") is False

    editor.id_edit.setText("Lift Me")
    assert editor.problems()[0].startswith("id 'Lift Me' must be")
    assert editor.id_edit.property("invalid") is True
    editor.maintenance_low.setValue(8)
    assert "series: maintenance every 8–6 weeks is not a range within 1–26" in editor.problems()
    assert editor.maintenance_high.property("invalid") is True


def test_new_starts_empty_after_asking_and_start_from_copies_a_protocol(editor, dialogs) -> None:
    editor.id_edit.setText("changed")
    assert editor.new_protocol()
    assert dialogs[-1][0] == "Discard changes?"
    assert editor.model.steps == ()
    assert "has no steps" in editor.problems()
    assert not editor.save_button.isEnabled()
    editor.add_step()
    assert len(editor.model.steps) == 1

    combo = editor.start_from_combo
    combo.activated.emit(combo.findData("toning"))
    assert editor.build_protocol() == toning_protocol()
    assert combo.currentIndex() == 0


def test_the_editor_fits_a_1024_by_700_screen(editor) -> None:
    hint = editor.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 700
    editor.resize(1024, 700)
    editor.table.setCurrentIndex(editor.model.index(0, Column.ZONE))  # the longest caption
    QtWidgets.QApplication.processEvents()
    header = editor.table.horizontalHeader()
    assert header.sectionSize(Column.TECHNIQUE) >= TECHNIQUE_MIN_WIDTH
    # The map is as tall as its caption needs: the forehead's placement warning is not cut.
    assert editor.face_map.height() >= editor.face_map.maximumHeight()
