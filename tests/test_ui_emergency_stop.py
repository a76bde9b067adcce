"""The emergency stop works from every box and window the console can show during a treatment.

Each case runs a session on the simulated machine (output on), opens one box or window for real
(not the recording stand-ins of the ``dialogs`` fixture), and then either presses Esc in that box
or clicks the main window's EMERGENCY STOP button. Keys and clicks go through the platform
(``QTest`` on the ``QWindow``), as a person's would: Qt applies window modality there, so a box
that blocked the main window would make the click miss, as it did before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest

from console.engine.clock import SteppedClock
from console.engine.events import EngineState, SafetyKind
from console.plugins import load_plugins
from console.records.store import RecordStore
from console.session import Console
from console.ui import dialogs as boxes
from console.ui.app import prepare_demo_visit
from console.ui.main_window import MainWindow

#: The real boxes, taken before any fixture replaces them with recorders.
REAL_BOXES = {
    name: getattr(boxes, name)
    for name in (
        "inform",
        "warn",
        "ask",
        "ask_text",
        "choose_save_file",
        "choose_folder",
        "confirm_in",
        "tell_in",
        "pick_file_in",
    )
}


@pytest.fixture
def window(
    store: RecordStore, open_window, monkeypatch: pytest.MonkeyPatch, qtbot: Any
) -> MainWindow:
    """The main window with records, a treatment running on the simulated machine (output on),
    and the real boxes."""
    for name, function in REAL_BOXES.items():
        monkeypatch.setattr(boxes, name, function)
    console = Console(load_plugins())
    clock = SteppedClock()
    console.connect("simulator", clock=clock)
    main = open_window(console, store=store)
    QTest.qWaitForWindowExposed(main)
    assert prepare_demo_visit(main, "toning")
    main.start_session()
    clock.run_until(6.0)
    qtbot.waitUntil(lambda: main.engine is not None and main.engine.step_index >= 0, timeout=5000)
    assert console.driver.output_on
    main.clock = clock
    return main


def _visible_windows() -> set[QtWidgets.QWidget]:
    return {w for w in QtWidgets.QApplication.topLevelWidgets() if w.isVisible()}


def _opened_by(window: MainWindow, open_it: Callable[[MainWindow], object]) -> QtWidgets.QWidget:
    """Run ``open_it`` and return the new window it showed (the newest, if several)."""
    before = _visible_windows()
    open_it(window)
    QtWidgets.QApplication.processEvents()
    new = [w for w in _visible_windows() - before if w is not window]
    assert new, "nothing was opened"
    popup = QtWidgets.QApplication.activePopupWidget()
    return popup if popup is not None else new[-1]


def _esc_in(widget: QtWidgets.QWidget) -> None:
    """Esc, delivered by the platform to the window holding ``widget``."""
    handle = widget.window().windowHandle()
    assert handle is not None
    QTest.keyClick(handle, QtCore.Qt.Key.Key_Escape)


def _platform_click(button: QtWidgets.QAbstractButton) -> None:
    """A left click on ``button`` delivered by the platform to its window (modality applies)."""
    top = button.window()
    handle = top.windowHandle()
    assert handle is not None
    at = button.mapTo(top, button.rect().center())
    left, none = QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier
    QTest.mousePress(handle, left, none, at)
    QTest.mouseRelease(handle, left, none, at)


def _client_id(window: MainWindow) -> int:
    return int(window.visit.client.reference)


def _menu(window: MainWindow) -> None:
    treatment = next(a.menu() for a in window.menuBar().actions() if "Treatment" in a.text())
    treatment.popup(window.mapToGlobal(QtCore.QPoint(40, 40)))


#: Every box and window a person can open during a running treatment, by what opens it.
OPENERS: dict[str, Callable[[MainWindow], object]] = {
    "zone information (a click on the face map)": lambda w: w.show_zone("cheek_left"),
    "keyboard shortcuts (F1)": lambda w: w.show_shortcuts(),
    "about (Shift+F1)": lambda w: w.show_about(),
    "plugin manager": lambda w: w.show_plugins(),
    "session record (Clients)": lambda w: w.show_session_record(w.archive.session_id),
    "save the session report": lambda w: w.save_session_report(),
    "export sessions": lambda w: w.export_sessions(),
    "new client form (Clients)": lambda w: w.records.new_client(),
    "delete client confirmation (Clients)": lambda w: (
        w.records.select_client(_client_id(w)),
        w.records.delete_client(),
    ),
    "protocol editor": lambda w: w.open_protocol_editor(),
    "protocol comparison": lambda w: w.show_comparison(),
    "demonstration view": lambda w: w.show_demonstration(),
    "training scenario picker": lambda w: w.choose_scenario(),
    "scenario picker's folder chooser": lambda w: (
        w.choose_scenario(),
        w._scenario_picker._choose_folder(),
    ),
    "machine picker (refused while treating)": lambda w: w.choose_machine(),
    "new visit for a client (refused while treating)": lambda w: w.start_visit_for(1, "Anna"),
    "disconnect question": lambda w: w.disconnect_machine(),
    "quit question": lambda w: w.close(),
    "an open menu": _menu,
}


def _assert_stopped(qtbot: Any, window: MainWindow) -> None:
    machine = window.console.driver
    assert machine.output_on is False  # off before the key or click handler returned
    window.clock.release()
    qtbot.waitUntil(lambda: window.engine.state is EngineState.ABORTED, timeout=5000)
    assert window.engine.safety_events[-1].kind is SafetyKind.EMERGENCY_STOP


@pytest.mark.timeout(60)
@pytest.mark.parametrize("opener", OPENERS, ids=list(OPENERS))
def test_esc_in_any_box_stops_the_output_and_leaves_the_box_open(
    qtbot: Any, window: MainWindow, opener: str
) -> None:
    opened = _opened_by(window, OPENERS[opener])
    _esc_in(opened)
    _assert_stopped(qtbot, window)
    if not isinstance(opened, QtWidgets.QMenu):
        assert opened.isVisible(), "Esc is the emergency stop only: it closes nothing"
    assert "emergency stop" in window.alert.text().lower()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("opener", OPENERS, ids=list(OPENERS))
def test_the_stop_button_is_never_blocked_by_a_box(
    qtbot: Any, window: MainWindow, opener: str
) -> None:
    opened = _opened_by(window, OPENERS[opener])
    if isinstance(opened, QtWidgets.QMenu):
        opened.close()  # a click outside an open menu only closes the menu, on every platform
    _platform_click(window.controls.estop_button)
    _assert_stopped(qtbot, window)


@pytest.mark.timeout(60)
def test_boxes_shown_during_a_treatment_are_not_modal(window: MainWindow) -> None:
    for name, open_it in OPENERS.items():
        try:
            opened = _opened_by(window, open_it)
        except AssertionError as error:
            raise AssertionError(f"{name}: {error}") from None
        if isinstance(opened, QtWidgets.QMenu):
            opened.close()
            continue
        modality = opened.windowModality()
        assert modality is QtCore.Qt.WindowModality.NonModal, f"{name}: {modality}"
        opened.hide()
    assert window.console.driver.output_on  # opening all of them stopped nothing


@pytest.mark.timeout(60)
@pytest.mark.parametrize("key_or_click", ["esc", "click"])
def test_a_box_modal_to_the_editor_leaves_the_main_window_reachable(
    qtbot: Any, window: MainWindow, key_or_click: str
) -> None:
    window.open_protocol_editor()
    editor = window._editor
    assert editor is not None and editor.parentWidget() is None
    editor.start_from("toning")
    editor.name_edit.setText("Toning, changed")  # unsaved: a new protocol asks first
    seen: dict[str, object] = {}

    def inside_the_question() -> None:
        box = QtWidgets.QApplication.activeModalWidget()
        seen["box"] = box.windowTitle() if box is not None else None
        if key_or_click == "esc":
            _esc_in(box)
        else:
            _platform_click(window.controls.estop_button)
        seen["output_on"] = window.console.driver.output_on
        seen["still_open"] = box.isVisible()
        box.done(QtWidgets.QMessageBox.StandardButton.No)

    QtCore.QTimer.singleShot(100, inside_the_question)
    assert editor.new_protocol() is False  # answered No, after the stop
    assert seen == {"box": "Discard changes?", "output_on": False, "still_open": True}
    _assert_stopped(qtbot, window)
    editor.hide()  # closing the window after the test would ask about the changes again


@pytest.mark.timeout(60)
def test_esc_in_a_modal_machine_picker_stops_and_does_not_close_it(qtbot: Any, window) -> None:
    """The machine picker is modal (nothing may start while a machine is chosen); it cannot be
    opened during a treatment, but the output of a machine connected before stays stoppable."""
    window.emergency_stop()
    window.clock.release()
    qtbot.waitUntil(lambda: window.engine.state.terminal, timeout=5000)
    stops: list[int] = []
    window.console.driver.stop_output = lambda: stops.append(1)  # type: ignore[method-assign]
    seen: dict[str, object] = {}

    def inside_the_picker() -> None:
        picker = QtWidgets.QApplication.activeModalWidget()
        seen["title"] = picker.windowTitle()
        _esc_in(picker)
        seen["still_open"] = picker.isVisible()
        picker.reject()

    QtCore.QTimer.singleShot(100, inside_the_picker)
    window.choose_machine()
    assert seen["still_open"] is True and stops == [1]
