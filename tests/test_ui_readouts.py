"""The window's readouts never contradict the machine: the output readout, the contact meter and
the scope's "output off" mark follow the simulated machine through pause, contact loss, re-gel
and emergency stop (pytest-qt, offscreen, stepped clock)."""

from __future__ import annotations

import pytest
from PySide6 import QtCore

from console.engine.events import EngineState
from console.engine.safety import ContactQuality
from console.readings import Tone
from console.ui.app import prepare_demo_visit
from device_drivers.simulator import SimFault

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def window(stepped_window):
    return stepped_window


def _run_to(qtbot, window, t: float) -> None:
    """Let the treatment run to clock time ``t`` and the window show it."""
    window.clock.run_until(t)
    qtbot.wait(120)  # queued engine events, and the progress timer
    window._show_latest_progress()


def _agrees_with_the_machine(window) -> None:
    """The output readout and the scope say what the machine does, right now."""
    machine_on = window.console.driver.output_on
    reading = window.controls.output.reading
    assert reading is not None
    assert reading.on is machine_on, (reading, machine_on)
    assert ("OUTPUT ON" in window.controls.output.text()) is machine_on
    assert window.scope.output_on is machine_on
    assert window.scope.output_off_mark.isHidden() is machine_on


def test_readouts_follow_the_machine_through_pause_loss_gel_and_stop(qtbot, window) -> None:
    prepare_demo_visit(window, "lifting")
    window.start_session()
    engine, machine = window.engine, window.console.driver
    meter = window.controls.contact

    _run_to(qtbot, window, 6.0)
    assert machine.output_on
    _agrees_with_the_machine(window)
    assert meter.reading is not None and meter.reading.measured_now
    assert meter.reading.quality is ContactQuality.GOOD and meter.reading.tone is Tone.OK
    assert "setting 200 µA" in window.controls.output.text()

    # Pause: off at once, before the engine's thread has said anything.
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    assert machine.output_on is False
    _agrees_with_the_machine(window)
    assert "setting 200 µA" in window.controls.output.text()  # the setting, apart
    assert not meter.reading.measured_now and meter.reading.tone is Tone.NEUTRAL
    qtbot.waitUntil(lambda: engine.state is EngineState.PAUSED, timeout=5000)
    window.resume()
    _run_to(qtbot, window, 14.0)
    _agrees_with_the_machine(window)
    assert meter.reading.measured_now and meter.reading.quality is ContactQuality.GOOD

    # A probe lifts: red, output off; the meter does not keep claiming "lost" once off.
    machine.schedule(SimFault.CONTACT_LOSS, at_s=16.0)
    _run_to(qtbot, window, 17.0)
    qtbot.waitUntil(lambda: engine.state is EngineState.PAUSED, timeout=5000)
    window._refresh_readouts()
    assert machine.output_on is False
    _agrees_with_the_machine(window)
    assert window.alert.property("level") == "danger"
    assert "Contact lost" in window.alert.text()
    assert meter.reading.detail == "last reading: lost"
    assert meter.reading.tone is Tone.NEUTRAL and not meter.reading.measured_now
    # Probes back on: contact reads good again as soon as the output is back on.
    machine.clear(SimFault.CONTACT_LOSS)
    window.resume()
    _run_to(qtbot, window, 24.0)
    _agrees_with_the_machine(window)
    assert meter.reading.measured_now and meter.reading.quality is ContactQuality.GOOD
    assert meter.reading.tone is Tone.OK

    # Re-apply gel: off at once, and said so.
    window.reapply_gel()
    assert machine.output_on is False
    _agrees_with_the_machine(window)
    qtbot.waitUntil(lambda: engine.state is EngineState.PAUSED, timeout=5000)
    window.resume()
    _run_to(qtbot, window, 32.0)
    _agrees_with_the_machine(window)
    assert machine.output_on

    # Emergency stop: off before the handler returned, and every readout says so at once.
    window.emergency_stop()
    assert machine.output_on is False
    _agrees_with_the_machine(window)
    assert window.controls.output.reading.headline == "Off"
    window.clock.release()
    qtbot.waitUntil(lambda: engine.state is EngineState.ABORTED, timeout=5000)
    qtbot.waitUntil(lambda: "Stopped" in window.state_label.text(), timeout=5000)
    _agrees_with_the_machine(window)
    assert not window.cue.isVisible()  # no step to place the probes for
    # What stopped it stays said, with what can be done next.
    qtbot.waitUntil(lambda: "press Start" in window.alert.text(), timeout=5000)
    assert "Emergency stop" in window.alert.text() or "EMERGENCY STOP" in window.alert.text()
    assert window.alert.property("level") == "danger"


def test_engineering_figures_are_one_click_away(qtbot, window) -> None:
    prepare_demo_visit(window, "toning")
    window.start_session()
    _run_to(qtbot, window, 6.0)
    meter = window.controls.contact
    assert "kΩ" not in meter.text()
    assert "engine" not in window.state_label.text()
    action = next(a for a in window.menuBar().actions() if a.text() == "&View")
    figures = next(a for a in action.menu().actions() if "Engineering figures" in a.text())
    figures.trigger()
    assert window.engineering_figures
    assert "kΩ" in meter.text()
    assert "(engine: running)" in window.state_label.text()
    assert window.settings.value("engineering_figures") in (True, "true")
    figures.trigger()
    assert "kΩ" not in meter.text()


def test_the_step_cue_stays_for_the_whole_step(qtbot, window) -> None:
    prepare_demo_visit(window, "lifting")
    window.start_session()
    _run_to(qtbot, window, 3.0)
    assert window.cue.isVisible() and "Forehead, right" in window.cue.text()
    _run_to(qtbot, window, 60.0)  # long after the old 4-second flash
    assert window.cue.isVisible() and "Forehead, right" in window.cue.text()


def test_messages_coming_and_going_do_not_move_the_treatment_view(qtbot, window) -> None:
    prepare_demo_visit(window, "lifting")
    window.show()
    qtbot.wait(50)
    before = window.scope.geometry(), window.controls.geometry()
    window.start_session()
    _run_to(qtbot, window, 5.0)
    window._show_alert("A message that comes and goes", "warning")
    qtbot.wait(50)
    assert (window.scope.geometry(), window.controls.geometry()) == before
    window.alert.hide()
    qtbot.wait(50)
    assert (window.scope.geometry(), window.controls.geometry()) == before


def test_the_chair_view_shows_the_session_in_large_type(qtbot, window) -> None:
    """F10 puts the projector view's tiles in place of the face map and scope, in clinic
    use too; it says what the meter says, and is remembered."""
    prepare_demo_visit(window, "lifting")
    assert not window.chair_view_shown
    qtbot.keyClick(window, QtCore.Qt.Key.Key_F10)
    assert window.chair_view_shown and window.chair_view.isVisible()
    assert not window.scope.isVisible()
    assert window.settings.value("chair_view") in (True, "true")
    window.start_session()
    _run_to(qtbot, window, 6.0)
    view = window.chair_view
    view.tick()
    assert view.zone_label.text() == "Forehead, right"
    assert view.current_tile.value.text() == "200 µA"
    assert view.contact_tile.value.text() == "Good"
    assert not view.banner.isVisible()  # the window's own banner says SIMULATION
    window.pause()
    qtbot.waitUntil(lambda: window.engine.state is EngineState.PAUSED, timeout=5000)
    qtbot.wait(50)
    view.tick()
    assert view.current_tile.note.text() == "output off"
    assert view.contact_tile.value.text() == "—"  # not measured, as on the meter
    assert window.controls.contact.reading.tone is Tone.NEUTRAL
    window.set_chair_view(False)
    assert window.scope.isVisible() and not window.chair_view.isVisible()


def test_the_zone_box_speaks_plainly_with_figures_one_click_away(qtbot, window, dialogs) -> None:
    prepare_demo_visit(window, "lifting")
    window.start_session()
    _run_to(qtbot, window, 130.0)  # the first zone done, the second begun
    window.show_zone("forehead_right")
    _, text = dialogs[-1]
    assert "treated 2:00 of 2:00" in text
    assert "µC" not in text and "kΩ" not in text
    window.set_engineering_figures(True)
    window.show_zone("forehead_right")
    _, text = dialogs[-1]
    assert "µC" in text and "kΩ" in text
