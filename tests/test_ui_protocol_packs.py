"""The protocol editor from the main window: a saved pack is offered beside the built-ins."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

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
