"""The main window over a simulated machine on a stepped clock (pytest-qt, offscreen).

Screenshots of the main states are written to ``test-artifacts/`` for people to look at.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from console.engine.events import EngineState, SafetyKind
from console.engine.safety import ContactQuality
from console.ui.app import prepare_demo_visit
from console.ui.decimate import min_max_decimate
from console.ui.main_window import MainWindow
from console.workflow import Stage
from console.zone_progress import ZoneState
from device_drivers.simulator import SimFault

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def window(stepped_window):
    return stepped_window


def _snapshot(window: MainWindow, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    window.scope.refresh(force=True)
    window.grab().save(str(ARTIFACTS / f"{name}.png"))


def _advance(qtbot, window: MainWindow, t: float) -> None:
    """Let the treatment run to t seconds and the UI receive the engine's events."""
    window.clock.run_until(t)
    engine = window.engine
    qtbot.waitUntil(lambda: engine.step_index >= 0, timeout=5000)
    qtbot.wait(150)  # queued signals from the event thread


@pytest.mark.timeout(60)
def test_simulation_banner_and_machine_in_status_bar(window) -> None:
    assert "SIMULATION" in window.banner.text()
    assert "MC Simulator S-1" in window.machine_label.text()
    assert "connected" in window.machine_label.text()


@pytest.mark.timeout(60)
def test_lifting_session_advances_the_zone_map(qtbot, window) -> None:
    prepare_demo_visit(window, "lifting")
    protocol = window.workflow.application.protocol
    window.start_session()
    assert window.engine is not None
    _advance(qtbot, window, 5.0)
    first_zone = protocol.steps[0].zone
    assert window.face_map.states[first_zone] is ZoneState.ACTIVE
    assert window.face_map.active_zone == first_zone
    _snapshot(window, "running")
    end_of_second = protocol.steps[0].duration_s + protocol.steps[1].duration_s / 2
    _advance(qtbot, window, end_of_second)
    second_zone = protocol.steps[1].zone
    qtbot.waitUntil(lambda: window.face_map.active_zone == second_zone, timeout=5000)
    if second_zone != first_zone:
        assert window.face_map.states[first_zone] is ZoneState.DONE
    assert "Move the probes" in window.cue.text()


@pytest.mark.timeout(60)
def test_escape_stops_output_and_the_ui_shows_it(qtbot, window) -> None:
    prepare_demo_visit(window, "toning")
    window.start_session()
    _advance(qtbot, window, 8.0)
    machine = window.console.driver
    assert machine.output_on
    qtbot.keyClick(window.workflow, QtCore.Qt.Key.Key_Escape)
    assert machine.output_on is False  # off before the key handler returned
    window.clock.release()
    qtbot.waitUntil(lambda: window.engine.state is EngineState.ABORTED, timeout=5000)
    qtbot.waitUntil(lambda: "Stopped" in window.state_label.text(), timeout=5000)
    assert "OUTPUT OFF" in window.controls.output.text()
    assert "EMERGENCY STOP" in window.alert.text() or "Emergency stop" in window.alert.text()
    assert not window.controls.pause_button.isEnabled()
    assert window.controls.estop_button.isEnabled()
    assert window.engine.safety_events[-1].kind is SafetyKind.EMERGENCY_STOP
    _snapshot(window, "emergency-stop")


@pytest.mark.timeout(60)
def test_contact_loss_shows_pause_banner_and_waits_for_the_user(qtbot, window) -> None:
    prepare_demo_visit(window, "circulation")
    window.start_session()
    machine = window.console.driver
    machine.schedule(SimFault.CONTACT_LOSS, at_s=6.0)
    _advance(qtbot, window, 7.0)
    qtbot.waitUntil(lambda: window.engine.state is EngineState.PAUSED, timeout=5000)
    qtbot.waitUntil(lambda: window.alert.isVisible(), timeout=5000)
    assert "Contact lost" in window.alert.text()
    assert machine.output_on is False
    assert window.controls.pause_button.text() == "Resume"
    _snapshot(window, "contact-lost")
    machine.clear(SimFault.CONTACT_LOSS)
    window.clock.run_until(40.0)
    qtbot.wait(100)
    assert window.engine.state is EngineState.PAUSED  # nobody pressed resume
    qtbot.mouseClick(window.controls.pause_button, QtCore.Qt.MouseButton.LeftButton)
    window.clock.run_until(45.0)
    qtbot.waitUntil(lambda: window.engine.state is EngineState.RUNNING, timeout=5000)


@pytest.mark.timeout(60)
def test_absolute_contraindication_blocks_application(qtbot, window) -> None:
    page = window.workflow.consultation
    page.name.setText("A. Client")
    page.practitioner.setText("B. Practitioner")
    page.date_of_birth.setText("1979-04-02")
    # Each question is answered on its own: no button answers them all at once.
    buttons = [button.text() for button in page.findChildren(QtWidgets.QPushButton)]
    assert not any("every question" in text for text in buttons)
    for contraindication_id, (_yes, no) in page.answers.items():
        if contraindication_id != "implanted_electronics":
            no.setChecked(True)
    page.answers["implanted_electronics"][0].setChecked(True)
    page.consent.setChecked(True)
    assert "do not treat — pacemaker" in page.verdict.text().lower()
    assert page.outcomes["implanted_electronics"].text() == "✖ do not treat"
    assert not window.workflow.go_to(Stage.CLEANSING)
    assert window.visit.stage is Stage.CONSULTATION
    assert "Pacemaker" in window.workflow.blockers.text()
    window.start_session()  # the Start path refuses too, and says why
    assert window.engine is None
    assert window.dialogs, "refusing to start must tell the user why"
    assert "Pacemaker" in window.dialogs[-1][1]
    assert not window.workflow.next_button.isEnabled()
    _snapshot(window, "contraindication")


@pytest.mark.timeout(60)
def test_scope_curves_hold_the_engine_samples(qtbot, window) -> None:
    prepare_demo_visit(window, "lifting")
    window.start_session()
    _advance(qtbot, window, 3.0)
    window.scope.set_window(2)
    window.scope.refresh(force=True)
    samples = window.engine.ring.latest(int(2 * window.engine.capabilities.sample_rate_hz))
    x, y = window.scope.current_curve.getData()
    origin = window.scope._origin_s
    buckets = max(200, int(window.scope.plots.width()))
    expected_x, expected_y = min_max_decimate(samples.t - origin, samples.current_ua, buckets)
    np.testing.assert_array_equal(x, expected_x)
    np.testing.assert_array_equal(y, expected_y)
    assert np.abs(y).max() == pytest.approx(np.abs(samples.current_ua).max())


@pytest.mark.timeout(60)
def test_touching_probes_read_as_a_short_not_as_a_lifted_probe(qtbot, window) -> None:
    prepare_demo_visit(window, "toning")
    window.start_session()
    machine = window.console.driver
    machine.schedule(SimFault.SHORT_CIRCUIT, at_s=6.0)
    _advance(qtbot, window, 7.0)
    qtbot.waitUntil(lambda: window.engine.state is EngineState.PAUSED, timeout=5000)
    meter = window.controls.contact
    qtbot.waitUntil(lambda: "probes touching" in meter.text(), timeout=5000)
    assert meter.reading is not None and meter.reading.quality is ContactQuality.SHORT
    assert not meter.reading.measured_now  # the output is off: an old reading, said so
    assert "probes are touching" in window.alert.text()
    assert window.alert.property("level") == "danger"
