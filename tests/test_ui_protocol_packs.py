"""The protocol editor from the main window: a saved pack is offered beside the built-ins."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PySide6 import QtCore

from console.engine.clock import SteppedClock
from console.packs import packs_dir
from console.plugins import load_plugins
from console.session import Console
from console.ui.main_window import MainWindow

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def window(open_window):
    console = Console(load_plugins())
    console.connect("simulator", clock=SteppedClock())
    return open_window(console)


def _offered(window: MainWindow) -> list[str]:
    choice = window.workflow.application.choice
    return [choice.itemData(i) for i in range(choice.count())]


def test_a_pack_saved_in_the_editor_is_offered_at_once(qtbot, window) -> None:
    window.open_protocol_editor()
    editor = window._editor
    assert editor is not None and editor.isVisible()
    lifting = window.console.host.protocols["lifting"]
    editor.load_protocol(replace(lifting, id="gentle-lift", name="Gentle lift"))
    saved = editor.save()
    assert saved == packs_dir() / "gentle-lift.toml"
    assert "gentle-lift" in window.console.host.protocols
    assert "gentle-lift" in _offered(window)
    window.workflow.application.select("gentle-lift")
    assert window.workflow.application.protocol.steps == lifting.steps


def test_the_editor_checks_against_the_connected_machine(qtbot, window) -> None:
    host = window.console.host
    simulator = host.drivers["simulator"]
    narrow = replace(simulator.capabilities, frequency_hz=(0.1, 200.0))
    host.drivers["narrow"] = replace(simulator, id="narrow", capabilities=narrow)
    window.console.connect("narrow", clock=SteppedClock())
    window.show_connection(window.console.connection)
    window.open_protocol_editor()
    editor = window._editor
    toning = host.protocols["toning"]
    step = toning.steps[0]
    fast = replace(step, waveform=replace(step.waveform, frequency_hz=300.0))
    editor.load_protocol(replace(toning, id="fast-toning", steps=(fast, *toning.steps[1:])))
    assert editor.current_protocol() is None  # Save is off: the machine cannot do 300 Hz
    assert any("300 Hz" in problem for problem in editor.problems())
    window.console.connect("simulator", clock=SteppedClock())
    window.show_connection(window.console.connection)  # the open editor follows the machine
    assert editor.current_protocol() is not None


def test_reloading_reports_a_broken_pack_and_keeps_the_choice(window) -> None:
    window.workflow.application.select("toning")
    folder: Path = packs_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "broken.toml").write_text('id = "broken"\nname = "unclosed\n', encoding="utf-8")
    window.reload_protocols()
    assert window.workflow.application.protocol.id == "toning"
    assert window.alert.isVisible()
    assert "broken.toml, line 2" in window.alert.text()
    assert "broken" not in window.console.host.protocols


def test_escape_in_a_cell_of_the_editor_is_still_the_emergency_stop(qtbot, window) -> None:
    from console.engine.events import EngineState
    from console.protocol_draft import Column
    from console.ui.app import prepare_demo_visit

    prepare_demo_visit(window, "toning")
    window.start_session()
    engine = window.engine
    window.console.clock.run_until(5.0)
    qtbot.waitUntil(lambda: engine.state is EngineState.RUNNING, timeout=5000)
    window.open_protocol_editor()
    editor = window._editor
    editor.start_from("lifting")
    index = editor.model.index(4, Column.CURRENT)
    editor.table.setCurrentIndex(index)
    editor.table.edit(index)
    spin = editor.table.viewport().focusWidget() or editor.table.focusWidget()
    assert spin is not None
    qtbot.keyClick(spin, QtCore.Qt.Key.Key_Escape)
    assert window.console.driver.output_on is False  # off before the key press returned
    window.console.clock.release()
    qtbot.waitUntil(lambda: engine.state is EngineState.ABORTED, timeout=5000)
    assert editor.isVisible()  # Esc stops the treatment; it does not close the editor
    assert editor.model.steps[4].waveform.current_ua == 350  # and the cell is put back


def test_a_saved_pack_reaches_the_open_editor_and_comparison(window) -> None:
    window.open_protocol_editor()
    window.show_comparison()
    editor = window._editor
    lifting = window.console.host.protocols["lifting"]
    editor.load_protocol(replace(lifting, id="gentle-lift", name="Gentle lift"))
    editor.save()
    combo = editor.toolbar.start_from_combo
    assert "gentle-lift" in [combo.itemData(i) for i in range(combo.count())]
    comparison = window._comparison
    assert comparison is not None and comparison.isVisible()
    column = comparison.columns[0]
    assert "gentle-lift" in [column.choice.itemData(i) for i in range(column.choice.count())]


def test_after_a_disconnect_the_editor_checks_the_hard_limits_only(window) -> None:
    window.open_protocol_editor()
    assert window._editor.capabilities is not None
    window.disconnect_machine()
    assert window._editor.capabilities is None
