"""The application around the treatment (pytest-qt, offscreen): machine picker, About, actions and
shortcuts, remembered settings, the face map's zone details, a machine lost mid-session, the
workflow up to Follow-up, pause/resume with Space, and a failing observer plugin.

Modal message boxes are recorded instead of shown (a modal ``exec`` would block an offscreen test
forever); the simulated machine runs on a :class:`SteppedClock` the tests advance explicitly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import serial
from PySide6 import QtCore, QtGui, QtWidgets
from serial.tools import list_ports
from serial.tools.list_ports_common import ListPortInfo

from console import __version__, hookimpl
from console.drivers import Capabilities, Driver, DriverError, DriverInfo, Transport
from console.engine.clock import SteppedClock
from console.engine.events import EngineState, SafetyKind
from console.plugins import PluginHost
from console.protocols import Step
from console.session import Console
from console.ui.app import make_application, prepare_demo_visit
from console.ui.machine_dialog import MachineDialog
from console.ui.main_window import MainWindow
from console.waveforms import Polarity, WaveShape
from console.workflow import MOISTURIZATION_CHECKLIST, Reaction, Stage
from console.zone_progress import ZoneState
from device_drivers.simulator import SIMULATOR_CAPABILITIES, SimFault

Shown = list[tuple[str, str]]

ACME_CAPABILITIES = Capabilities(
    channels=1,
    current_ua=(20.0, 600.0),
    current_step_ua=10.0,
    frequency_hz=(0.5, 400.0),
    waveforms=frozenset({WaveShape.SQUARE, WaveShape.SINE}),
    polarities=frozenset(Polarity),
    sample_rate_hz=1000.0,
    compliance_v=12.0,
)
FAKE_PORTS = (("/dev/ttyUSB0", "Acme S2 USB serial"), ("/dev/ttyACM3", "FTDI FT232R"))


@dataclass
class AcmeSerialPlugin:
    """A vendor's driver plugin for a machine on a serial port; its factory fails like a bad port."""

    error: Exception
    mc_console_api: str = "1.0"
    __version__: str = "2.3.4"
    ports_tried: list[str | None] = field(default_factory=list)

    @hookimpl
    def register_drivers(self) -> list[DriverInfo]:
        return [
            DriverInfo(
                id="acme-s2",
                name="Acme S2",
                vendor="Acme Aesthetics",
                model="S2",
                transport=Transport.SERIAL,
                capabilities=ACME_CAPABILITIES,
                factory=self.make_driver,
                description="A (fake) clinic stimulator on a USB serial adapter.",
            )
        ]

    def make_driver(self, clock: Any = None, port: str | None = None, **_: Any) -> Driver:
        self.ports_tried.append(port)
        raise self.error


class FailingObserver:
    """An observer plugin whose ``step_started`` hook raises every time it is called."""

    mc_console_api = "1.0"
    __version__ = "0.0.1"

    def __init__(self) -> None:
        self.calls: list[int] = []

    @hookimpl
    def step_started(self, session: Any, index: int, step: Step) -> None:
        self.calls.append(index)
        raise RuntimeError(f"observer bug at step {index + 1}")


@pytest.fixture
def fake_ports(monkeypatch: pytest.MonkeyPatch) -> list[ListPortInfo]:
    """What ``serial.tools.list_ports.comports`` reports (the test may change the list)."""
    ports: list[ListPortInfo] = []
    for device, description in FAKE_PORTS:
        info = ListPortInfo(device)
        info.description = description
        ports.append(info)
    monkeypatch.setattr(list_ports, "comports", lambda *_a, **_k: list(ports))
    return ports


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    return tmp_path / "settings.ini"


WindowFactory = Callable[..., MainWindow]


@pytest.fixture
def make_window(qtbot: Any, settings_path: Path, dialogs: Shown) -> Iterator[WindowFactory]:
    """Build main windows over the simulator on a stepped clock, with extra plugins if given.

    Each window gets ``clock`` (its SteppedClock) and ``dialogs`` (the recorded message boxes).
    """
    made: list[tuple[Console, SteppedClock]] = []

    def factory(extra_plugins: dict[str, object] | None = None, resize: bool = True) -> MainWindow:
        make_application()
        host = PluginHost()
        host.load_entrypoints()
        for name, plugin in (extra_plugins or {}).items():
            record = host.register(plugin, name)
            assert record.active, record.error
        host.collect()
        console = Console(host)
        clock = SteppedClock()
        console.connect("simulator", clock=clock)
        settings = QtCore.QSettings(str(settings_path), QtCore.QSettings.Format.IniFormat)
        main = MainWindow(console, settings)
        qtbot.addWidget(main)
        if resize:
            main.resize(1440, 900)
        main.show_connection(console.connection)
        main.show()
        # Window shortcuts need an active window; offscreen, activation arrives as an event.
        main.activateWindow()
        qtbot.waitUntil(main.isActiveWindow, timeout=2000)
        main.clock = clock  # type: ignore[attr-defined]
        main.dialogs = dialogs  # type: ignore[attr-defined]
        made.append((console, clock))
        return main

    yield factory
    for console, clock in made:
        clock.release()
        console.disconnect()


@pytest.fixture
def window(make_window: WindowFactory) -> MainWindow:
    return make_window()


def _advance(qtbot: Any, window: MainWindow, t: float) -> None:
    """Let the treatment run to t seconds and the UI receive the engine's events."""
    window.clock.run_until(t)  # type: ignore[attr-defined]
    engine = window.engine
    assert engine is not None
    qtbot.waitUntil(lambda: engine.step_index >= 0, timeout=5000)
    qtbot.wait(150)  # queued signals from the event thread


def _action(window: MainWindow, text: str) -> QtGui.QAction:
    """The window's action whose menu text (without the & mnemonics) is ``text``."""
    found = [a for a in window.actions() if a.text().replace("&", "") == text]
    assert len(found) == 1, f"expected one action {text!r}, found {len(found)}"
    return found[0]


def _accept_machine_dialog(
    monkeypatch: pytest.MonkeyPatch,
    driver_id: str,
    port: str | None = None,
    speed: float | None = None,
) -> list[MachineDialog]:
    """Make ``MachineDialog.exec`` pick ``driver_id`` (port, speed) and accept, without a modal."""
    seen: list[MachineDialog] = []

    def exec_(dialog: MachineDialog) -> QtWidgets.QDialog.DialogCode:
        seen.append(dialog)
        _select_driver(dialog, driver_id)
        if port is not None:
            index = dialog.port.findData(port)
            assert index >= 0, f"{port} is not offered by the dialog"
            dialog.port.setCurrentIndex(index)
        if speed is not None:
            dialog.speed.setCurrentIndex(dialog.speed.findData(speed))
        return QtWidgets.QDialog.DialogCode.Accepted

    monkeypatch.setattr(MachineDialog, "exec", exec_)
    return seen


def _select_driver(dialog: MachineDialog, driver_id: str) -> None:
    for row in range(dialog.list.count()):
        if dialog.list.item(row).data(QtCore.Qt.ItemDataRole.UserRole) == driver_id:
            dialog.list.setCurrentRow(row)
            return
    raise AssertionError(f"{driver_id} is not listed")


# -- 1. the machine picker --------------------------------------------------------------------


def _machine_dialog(qtbot: Any, current: str) -> MachineDialog:
    """The picker over the built-in plugins plus the fake serial machine (ports are faked)."""
    make_application()
    host = PluginHost()
    host.load_entrypoints()
    host.register(AcmeSerialPlugin(DriverError("unused")), "acme")
    host.collect()
    assert {"simulator", "acme-s2"} <= set(host.drivers)
    dialog = MachineDialog(host.drivers, current)
    qtbot.addWidget(dialog)
    return dialog


@pytest.mark.timeout(60)
def test_machine_dialog_lists_drivers_with_capabilities_and_serial_ports(
    qtbot: Any, fake_ports: list[ListPortInfo]
) -> None:
    dialog = _machine_dialog(qtbot, "simulator")

    labels = {
        dialog.list.item(row).data(QtCore.Qt.ItemDataRole.UserRole): dialog.list.item(row).text()
        for row in range(dialog.list.count())
    }
    assert set(labels) == set(dialog.drivers)  # every registered driver is listed
    assert {"simulator", "acme-s2"} <= set(labels)
    assert "MC Simulator S-1" in labels["simulator"] and "[simulation]" in labels["simulator"]
    assert "Acme Aesthetics S2" in labels["acme-s2"] and "simulation" not in labels["acme-s2"]

    # The current machine is preselected, with its capabilities spelled out.
    assert dialog.list.currentItem().data(QtCore.Qt.ItemDataRole.UserRole) == "simulator"
    details = dialog.details.text()
    assert "10–1000 µA" in details
    assert "0.1–1000 Hz" in details
    for shape in SIMULATOR_CAPABILITIES.waveforms:
        assert shape.value in details
    assert "2000 S/s" in details
    assert not dialog.port.isEnabled()  # the simulator is on no port
    assert dialog.speed.isEnabled()
    choice = dialog.choice()
    assert choice is not None and choice.driver_id == "simulator" and choice.port is None

    # The serial machine: its own capabilities, and the ports pyserial sees.
    _select_driver(dialog, "acme-s2")
    details = dialog.details.text()
    assert "Acme S2" in details and "serial" in details
    assert "20–600 µA" in details and "0.5–400 Hz" in details and "1000 S/s" in details
    assert "sine/square" in details and "biphasic" not in details
    assert dialog.port.isEnabled() and dialog.refresh_ports.isEnabled()
    assert not dialog.speed.isEnabled()
    offered = [dialog.port.itemData(i) for i in range(dialog.port.count())]
    assert offered == [device for device, _ in FAKE_PORTS]
    assert dialog.port.itemText(1) == "/dev/ttyACM3 — FTDI FT232R"
    dialog.port.setCurrentIndex(1)
    choice = dialog.choice()
    assert choice is not None
    assert (choice.driver_id, choice.port, choice.speed) == ("acme-s2", "/dev/ttyACM3", 1.0)

    # A port plugged in later shows after "Refresh ports".
    late = ListPortInfo("/dev/ttyUSB7")
    late.description = "CH340"
    fake_ports.append(late)
    qtbot.mouseClick(dialog.refresh_ports, QtCore.Qt.MouseButton.LeftButton)
    offered = [dialog.port.itemData(i) for i in range(dialog.port.count())]
    assert "/dev/ttyUSB7" in offered


@pytest.mark.timeout(60)
def test_refresh_ports_keeps_the_chosen_port(qtbot: Any, fake_ports: list[ListPortInfo]) -> None:
    dialog = _machine_dialog(qtbot, "acme-s2")
    dialog.port.setCurrentIndex(1)
    assert dialog.choice().port == "/dev/ttyACM3"  # type: ignore[union-attr]
    qtbot.mouseClick(dialog.refresh_ports, QtCore.Qt.MouseButton.LeftButton)
    assert dialog.port.currentText().startswith("/dev/ttyACM3")  # what the operator sees
    assert dialog.choice().port == "/dev/ttyACM3"  # type: ignore[union-attr]


@pytest.mark.timeout(60)
def test_a_typed_port_url_is_what_gets_opened(qtbot: Any, fake_ports: list[ListPortInfo]) -> None:
    dialog = _machine_dialog(qtbot, "acme-s2")
    assert dialog.port.currentIndex() == 0
    editor = dialog.port.lineEdit()
    editor.selectAll()
    qtbot.keyClicks(editor, "socket://10.0.0.5:4000")
    assert dialog.port.currentText() == "socket://10.0.0.5:4000"
    assert dialog.choice().port == "socket://10.0.0.5:4000"  # type: ignore[union-attr]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "error",
    [
        serial.SerialException("could not open port /dev/ttyUSB0: [Errno 2] No such file"),
        DriverError("the machine did not say hello within 2 s; is it switched on?"),
    ],
    ids=["serial-exception", "driver-error"],
)
def test_connect_failure_is_reported_in_plain_words_and_stays_disconnected(
    qtbot: Any,
    make_window: WindowFactory,
    monkeypatch: pytest.MonkeyPatch,
    fake_ports: list[ListPortInfo],
    error: Exception,
) -> None:
    acme = AcmeSerialPlugin(error)
    window = make_window({"acme": acme})
    _action(window, "Disconnect").trigger()
    assert window.console.connection is None
    assert window.machine_label.text() == "No machine connected"

    seen = _accept_machine_dialog(monkeypatch, "acme-s2", port="/dev/ttyUSB0")
    _action(window, "Connect…").trigger()
    assert len(seen) == 1
    qtbot.waitUntil(lambda: bool(window.dialogs), timeout=5000)  # type: ignore[attr-defined]

    title, text = window.dialogs[-1]  # type: ignore[attr-defined]
    assert acme.ports_tried == ["/dev/ttyUSB0"]
    assert title == "Machine not connected"
    assert "Acme S2" in text
    assert str(error) in text
    assert "Traceback" not in text and 'File "' not in text and "\n" not in text
    assert window.console.connection is None and window.console.driver is None
    assert window.machine_label.text() == "No machine connected"
    assert window.banner.text().startswith("No machine connected")
    assert not window.controls.start_button.isEnabled()


@pytest.mark.timeout(60)
def test_connect_and_disconnect_update_the_machine_label(
    qtbot: Any, window: MainWindow, monkeypatch: pytest.MonkeyPatch, fake_ports: list[ListPortInfo]
) -> None:
    assert window.machine_label.text().startswith("Machine: MC Simulator S-1")
    assert "serial SIM-000001" in window.machine_label.text()
    _action(window, "Disconnect").trigger()
    assert window.console.connection is None
    assert window.machine_label.text() == "No machine connected"
    assert "SIMULATION" not in window.banner.text()

    seen = _accept_machine_dialog(monkeypatch, "simulator", speed=10.0)
    window.choose_machine()
    assert len(seen) == 1
    qtbot.waitUntil(lambda: window.machine_label.text().startswith("Machine:"), timeout=5000)
    assert window.machine_label.text().endswith("· connected")
    assert "MC Simulator S-1" in window.machine_label.text()
    assert window.console.connection is not None
    assert window.console.connection.info.id == "simulator"
    assert "SIMULATION" in window.banner.text() and "×10 speed" in window.banner.text()
    assert window.settings.value("driver") == "simulator"
    assert not window.dialogs  # type: ignore[attr-defined]


# -- 2. About ----------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_about_lists_loaded_plugins_and_their_versions(
    qtbot: Any, make_window: WindowFactory
) -> None:
    acme = AcmeSerialPlugin(DriverError("unused"))
    window = make_window({"acme": acme})
    qtbot.keyClick(window, QtCore.Qt.Key.Key_F1, QtCore.Qt.KeyboardModifier.ShiftModifier)
    assert len(window.dialogs) == 1  # type: ignore[attr-defined]
    title, text = window.dialogs[0]  # type: ignore[attr-defined]
    assert title == "About Microcurrent Console"
    assert __version__ in text
    records = window.console.host.records
    assert {"simulator", "lifting", "toning", "circulation", "acme"} <= set(records)
    for record in records.values():
        assert record.version, f"{record.name} has no version"
        assert f"<td>{record.name}</td><td>{record.version}</td>" in text
    assert "<td>acme</td><td>2.3.4</td><td>registered in code</td><td>active</td>" in text


# -- 3. actions and shortcuts ------------------------------------------------------------------


def _menu_actions(window: MainWindow) -> list[QtGui.QAction]:
    actions = []
    for top in window.menuBar().actions():
        menu = top.menu()
        assert menu is not None
        actions += [a for a in menu.actions() if not a.isSeparator() and a.isVisible()]
    return actions


@pytest.mark.timeout(60)
def test_emergency_stop_is_esc_everywhere_and_pause_is_space(
    qtbot: Any, window: MainWindow
) -> None:
    actions = _menu_actions(window)
    assert len(actions) >= 15
    estop = _action(window, "EMERGENCY STOP")
    assert estop in actions
    assert estop.shortcut() == QtGui.QKeySequence(QtCore.Qt.Key.Key_Escape)
    assert estop.shortcutContext() is QtCore.Qt.ShortcutContext.ApplicationShortcut
    pause = _action(window, "Pause / resume")
    assert pause in actions
    assert pause.shortcut() == QtGui.QKeySequence(QtCore.Qt.Key.Key_Space)
    # The shortcuts list (F1) shows both keys.
    qtbot.keyClick(window, QtCore.Qt.Key.Key_F1)
    title, text = window.dialogs[-1]  # type: ignore[attr-defined]
    assert title == "Keyboard shortcuts"
    assert "<td>EMERGENCY STOP</td><td><b>Esc</b></td>" in text
    assert "<td>Pause / resume</td><td><b>Space</b></td>" in text


def _tip_problems(action: QtGui.QAction) -> list[str]:
    name = action.text().replace("&", "")
    shortcut = action.shortcut().toString()
    problems = []
    if action.shortcut().isEmpty():
        problems.append(f"{name}: no keyboard shortcut")
    # A tooltip that only repeats the shortcut, e.g. " (Ctrl+1)", explains nothing.
    tooltip = action.toolTip().replace(f"({shortcut})", "").strip() if shortcut else ""
    if not action.statusTip().strip() and not tooltip:
        problems.append(f"{name}: no tooltip or status tip")
    return problems


@pytest.mark.timeout(60)
def test_every_menu_action_has_a_shortcut_and_a_tip(window: MainWindow) -> None:
    actions = _menu_actions(window)
    assert {a.text().replace("&", "") for a in actions} >= {
        "New client",
        "Quit",
        "Connect…",
        "Disconnect",
        "Start",
        "Stop session",
        "Freeze scope",
        "Scope window 30 s",
        "Keyboard shortcuts",
        "About",
    }
    problems = [problem for a in actions for problem in _tip_problems(a)]
    assert problems == []
    keys = [a.shortcut().toString() for a in actions]
    assert len(keys) == len(set(keys)), f"a key is bound twice: {sorted(keys)}"


# -- 4. settings -------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_geometry_and_protocol_are_remembered(
    qtbot: Any, make_window: WindowFactory, settings_path: Path
) -> None:
    first = make_window()
    assert first.workflow.application.protocol is not None
    assert first.workflow.application.protocol.id == "lifting"  # the default
    choice = first.workflow.application.choice
    choice.setCurrentIndex(choice.findData("toning"))  # as the operator picks it
    # The offscreen screen is 800×800 and the window is wider than that at its minimum, so
    # restoreGeometry() clamps the width; the height (different from the 900 px default) is kept.
    first.resize(first.width(), 760)
    qtbot.wait(50)
    assert first.height() == 760
    assert first.close()
    first.settings.sync()
    assert settings_path.exists()
    stored = QtCore.QSettings(str(settings_path), QtCore.QSettings.Format.IniFormat)
    assert stored.value("protocol") == "toning"
    assert isinstance(stored.value("geometry"), QtCore.QByteArray)

    second = make_window(resize=False)
    protocol = second.workflow.application.protocol
    assert protocol is not None and protocol.id == "toning"
    assert second.workflow.application.choice.currentText() == "Toning"
    assert second.height() == 760
    # The face map shows the remembered protocol's zones.
    assert second.face_map.states["upper_lip"] is ZoneState.PENDING
    assert second.face_map.states["forehead_right"] is ZoneState.NOT_IN_PROTOCOL


@pytest.mark.timeout(60)
def test_the_window_fits_a_1440_by_900_screen(window: MainWindow) -> None:
    hint = window.minimumSizeHint()
    assert hint.width() <= 1440 and hint.height() <= 900
    window.resize(1440, 900)
    assert window.width() == 1440


# -- 5. face map zone details ------------------------------------------------------------------


def _click_zone(qtbot: Any, window: MainWindow, zone_id: str) -> tuple[str, str]:
    before = len(window.dialogs)  # type: ignore[attr-defined]
    point = window.face_map.zone_centre(zone_id).toPoint()
    qtbot.mouseClick(window.face_map, QtCore.Qt.MouseButton.LeftButton, pos=point)
    assert len(window.dialogs) == before + 1, f"clicking {zone_id} showed nothing"  # type: ignore[attr-defined]
    return window.dialogs[-1]  # type: ignore[attr-defined]


@pytest.mark.timeout(60)
def test_clicking_a_zone_shows_its_steps_and_what_was_delivered(
    qtbot: Any, window: MainWindow
) -> None:
    prepare_demo_visit(window, "toning")
    protocol = window.workflow.application.protocol
    assert protocol is not None and protocol.steps[0].zone == "brow_right"
    window.start_session()
    first = protocol.steps[0]
    _advance(qtbot, window, first.duration_s + 5.0)  # into step 2
    engine = window.engine
    assert engine is not None and engine.step_index == 1
    delivery = engine.deliveries[0]
    assert delivery.zone == "brow_right" and delivery.completed

    title, text = _click_zone(qtbot, window, "brow_right")
    assert title == "Brow, right"
    assert f"Step 1: {first.waveform.describe()}, 1:20 — {first.technique}" in text
    assert "treated 1:20 of 1:20" in text
    assert "µC" not in text  # the figures are one click away
    window.set_engineering_figures(True)
    _, text = _click_zone(qtbot, window, "brow_right")
    assert f"{delivery.mean_current_ua:.0f} µA mean" in text
    assert f"{delivery.charge_uc:,.0f} µC" in text
    assert "cut short" not in text

    title, text = _click_zone(qtbot, window, "brow_left")  # the running step: nothing yet
    assert title == "Brow, left"
    assert "Step 2:" in text and "delivered" not in text

    title, text = _click_zone(qtbot, window, "forehead_left")
    assert title == "Forehead, left"
    assert "Not part of the chosen protocol." in text and "Step" not in text


# -- 6. the machine disconnects mid-session ----------------------------------------------------


@pytest.mark.timeout(60)
def test_machine_lost_mid_session_interrupts_and_the_window_keeps_working(
    qtbot: Any, window: MainWindow
) -> None:
    prepare_demo_visit(window, "toning")
    window.start_session()
    _advance(qtbot, window, 3.0)
    machine = window.console.driver
    engine = window.engine
    assert machine is not None and engine is not None
    assert machine.output_on
    machine.schedule(SimFault.DISCONNECT, at_s=4.0)  # type: ignore[attr-defined]
    window.clock.release()  # type: ignore[attr-defined]
    assert engine.wait(10)
    assert engine.state is EngineState.INTERRUPTED
    assert engine.safety_events[-1].kind is SafetyKind.WATCHDOG
    assert window.console.driver is machine  # still "connected": the operator decides
    # The host's stop cannot reach a machine over a pulled cable: its own firmware watchdog turns
    # the output off 0.5 s after the last command it received (at 4.0 s).
    window.clock.advance(0.1)  # type: ignore[attr-defined]
    assert window.clock.now() <= 4.7  # type: ignore[attr-defined]
    assert machine.output_on is False

    qtbot.waitUntil(lambda: "Interrupted" in window.state_label.text(), timeout=5000)
    qtbot.waitUntil(lambda: window.visit.application is not None, timeout=5000)
    assert window.alert.isVisible()
    assert "has not answered" in window.alert.text()
    assert "cable pulled" in window.alert.text()
    assert window.alert.property("level") == "danger"
    assert window.visit.application.state is EngineState.INTERRUPTED

    # The window still works: stop is enabled and harmless, and the workflow goes on.
    assert window.controls.estop_button.isEnabled()
    assert not window.controls.pause_button.isEnabled()
    qtbot.mouseClick(window.controls.estop_button, QtCore.Qt.MouseButton.LeftButton)
    assert "EMERGENCY STOP" in window.alert.text()
    assert engine.state is EngineState.INTERRUPTED  # the record of what happened is kept
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)  # nothing to pause: no error
    assert window.workflow.next_button.isEnabled()


@pytest.mark.timeout(60)
def test_disconnecting_during_a_session_keeps_the_record_of_it(
    qtbot: Any, window: MainWindow
) -> None:
    prepare_demo_visit(window, "toning")
    window.start_session()
    _advance(qtbot, window, 10.0)
    engine = window.engine
    assert engine is not None
    machine = window.console.driver
    assert machine is not None
    _action(window, "Disconnect").trigger()
    qtbot.wait(200)
    if window.console.connection is not None:  # refused while treating: the session goes on
        assert window.engine is engine and not engine.state.terminal
    else:  # ended: output off, and the visit keeps what was delivered
        assert engine.state.terminal and machine.output_on is False
        assert window.visit.application is not None, "the session's delivery was lost"
        assert window.visit.application.steps[0].time_under_current_s > 5.0


# -- 7. the workflow to Follow-up --------------------------------------------------------------


@pytest.mark.timeout(60)
def test_workflow_reaches_follow_up_and_records_reaction_and_appointment(
    qtbot: Any, window: MainWindow
) -> None:
    prepare_demo_visit(window, "toning")
    workflow = window.workflow
    assert not workflow.next_button.isEnabled()  # no application yet
    assert "application stage has not run" in workflow.blockers.text()
    window.start_session()
    _advance(qtbot, window, 10.0)
    qtbot.mouseClick(window.controls.stop_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.visit.application is not None, timeout=5000)
    assert window.visit.application.state is EngineState.ABORTED
    assert workflow.follow_up.course.text().startswith("Course: ")

    qtbot.mouseClick(workflow.next_button, QtCore.Qt.MouseButton.LeftButton)
    assert window.visit.stage is Stage.MOISTURIZATION
    assert workflow.pages.currentWidget() is workflow.moisturization
    for item in MOISTURIZATION_CHECKLIST[:-1]:
        workflow.moisturization.boxes[item].setChecked(True)
    assert not workflow.next_button.isEnabled()
    assert "moisturization not finished" in workflow.blockers.text()
    assert MOISTURIZATION_CHECKLIST[-1] in workflow.blockers.text()
    workflow.moisturization.boxes[MOISTURIZATION_CHECKLIST[-1]].setChecked(True)
    assert all(window.visit.moisturization.values())
    assert workflow.next_button.isEnabled()
    qtbot.mouseClick(workflow.next_button, QtCore.Qt.MouseButton.LeftButton)
    assert window.visit.stage is Stage.FOLLOW_UP
    page = workflow.follow_up
    assert workflow.pages.currentWidget() is page

    # A reaction is recorded with how strong and how long: ticked alone, it is asked for.
    page.reactions[Reaction.REDNESS].setChecked(True)
    assert page.severities[Reaction.REDNESS].isEnabled()
    qtbot.mouseClick(page.save_button, QtCore.Qt.MouseButton.LeftButton)
    assert "Redness: choose how strong it was and how long it lasted" in page.message.text()
    page.severities[Reaction.REDNESS].setCurrentIndex(1)  # mild
    page.durations[Reaction.REDNESS].setCurrentIndex(2)  # faded within minutes
    # The next appointment is a day, and a day in the past cannot even be chosen.
    page.next_appointment.setDate(QtCore.QDate.currentDate().addDays(-1))
    assert page.next_appointment.date() == QtCore.QDate.currentDate().addDays(1)
    assert window.visit.follow_up.recorded_at is None
    assert not page.aftercare_button.isEnabled()

    page.next_appointment.setDate(QtCore.QDate.currentDate().addDays(14))
    page.notes.setPlainText("  Mild redness on the right brow, gone after 10 minutes.  ")
    qtbot.mouseClick(page.save_button, QtCore.Qt.MouseButton.LeftButton)
    assert page.message.text().startswith("✓ Follow-up saved at")
    follow_up = window.visit.follow_up
    assert [r.describe() for r in follow_up.reactions] == ["redness — mild, faded within minutes"]
    assert page.aftercare_button.isEnabled()
    assert follow_up.notes == "Mild redness on the right brow, gone after 10 minutes."
    assert follow_up.next_appointment == QtCore.QDate.currentDate().addDays(14).toPython()


# -- 8. pause and resume with Space ------------------------------------------------------------


def _step_current(window: MainWindow) -> float:
    """The running step's current setting."""
    protocol = window.session_protocol
    engine = window.engine
    assert protocol is not None and engine is not None
    return protocol.steps[engine.step_index].waveform.current_ua


@pytest.mark.timeout(60)
def test_space_pauses_and_resumes_the_session(qtbot: Any, window: MainWindow) -> None:
    prepare_demo_visit(window, "toning")
    window.start_session()
    _advance(qtbot, window, 5.0)
    engine = window.engine
    machine = window.console.driver
    assert engine is not None and machine is not None
    assert engine.state is EngineState.RUNNING and machine.output_on

    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    assert machine.output_on is False  # off before the key handler returned
    qtbot.waitUntil(lambda: engine.state is EngineState.PAUSED, timeout=5000)
    qtbot.waitUntil(lambda: window.controls.pause_button.text() == "Resume", timeout=5000)
    assert "Paused" in window.alert.text() and window.alert.isVisible()
    assert "Paused" in window.state_label.text()
    elapsed = engine.summary().elapsed_s

    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: engine.state is EngineState.RAMPING, timeout=5000)
    assert not window.alert.isVisible()
    assert engine.setpoint_ua == 0.0  # resume ramps up from zero
    _advance(qtbot, window, 5.0 + 3.0)
    qtbot.waitUntil(lambda: engine.state is EngineState.RUNNING, timeout=5000)
    assert machine.output_on
    assert engine.setpoint_ua == pytest.approx(_step_current(window))
    assert engine.summary().elapsed_s > elapsed
    qtbot.waitUntil(lambda: window.controls.pause_button.text() == "Pause", timeout=5000)


# -- 9. a failing observer plugin --------------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_plugin_that_raises_in_step_started_is_disabled_and_the_session_goes_on(
    qtbot: Any, window: MainWindow
) -> None:
    observer = FailingObserver()
    record = window.console.host.register(observer, "flaky-observer")
    assert record.active and record.hooks == ["step_started"]
    prepare_demo_visit(window, "toning")
    protocol = window.workflow.application.protocol
    assert protocol is not None
    window.start_session()
    engine = window.engine
    assert engine is not None
    _advance(qtbot, window, protocol.steps[0].duration_s + 5.0)
    qtbot.waitUntil(lambda: record.error is not None, timeout=5000)

    assert engine.step_index == 1
    assert engine.state.output_may_be_on
    assert engine.deliveries[0].completed
    qtbot.waitUntil(lambda: window.face_map.active_zone == protocol.steps[1].zone, timeout=5000)
    assert observer.calls == [0]  # disabled after the first failure, never called again
    assert not record.active
    assert "raised in step_started" in record.error and "observer bug at step 1" in record.error
    assert record in window.console.host.failures

    _action(window, "About").trigger()
    _title, text = window.dialogs[-1]  # type: ignore[attr-defined]
    assert "<td>flaky-observer</td><td>0.0.1</td>" in text
    assert "failed: raised in step_started" in text
