"""The time-control bar in the main window: there for the simulated machine, absent for a real one."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6 import QtGui

from console.drivers import Transport
from console.engine.clock import TrainerClock
from console.engine.events import EngineState
from console.plugins import load_plugins
from console.session import Console
from console.ui.app import make_application, prepare_demo_visit
from console.ui.main_window import MainWindow
from console.ui.time_control import TimeControlBar, format_clock


@pytest.fixture
def window(open_window):
    console = Console(load_plugins())
    console.connect("simulator", speed=10)
    return open_window(console)


def _press(qtbot, window: MainWindow, sequence: str) -> None:
    """Trigger the window action bound to ``sequence`` as the keyboard would."""
    key = QtGui.QKeySequence(sequence)
    actions = [a for a in window.actions() if a.shortcut() == key]
    assert len(actions) == 1, sequence
    actions[0].trigger()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "00:00.0"),
        (75.25, "01:15.2"),
        (59.96, "01:00.0"),
        (3599.97, "1:00:00"),
        (3725, "1:02:05"),
        (-3, "00:00.0"),
    ],
)
def test_simulated_time_readout(seconds, text) -> None:
    assert format_clock(seconds) == text


@pytest.mark.timeout(60)
def test_the_bar_controls_the_simulators_clock(qtbot, window) -> None:
    bar = window.time_control
    clock = window.console.time_control
    assert isinstance(clock, TrainerClock) and bar.clock is clock
    assert bar.isVisible()
    assert "×10 speed" in window.banner.text()
    checked = [b.text() for b in bar.speed_group.buttons() if b.isChecked()]
    assert checked == ["×10"]
    next(b for b in bar.speed_group.buttons() if b.text() == "×30").click()
    assert clock.speed == 30.0
    assert "×30 speed" in window.banner.text()
    _press(qtbot, window, "Ctrl+]")
    assert clock.speed == 60.0
    _press(qtbot, window, "Ctrl+]")
    assert clock.speed == 60.0  # the fastest stays the fastest
    for _ in range(6):
        _press(qtbot, window, "Ctrl+[")
    assert clock.speed == 1.0
    assert "SIMULATION" in window.banner.text()


@pytest.mark.timeout(60)
def test_holding_time_holds_the_session_and_a_step_plays_one_second(qtbot, window) -> None:
    prepare_demo_visit(window, "toning")
    window.start_session()
    engine = window.engine
    clock = window.console.time_control
    qtbot.waitUntil(lambda: clock.now() > 2.0, timeout=5000)
    _press(qtbot, window, "Ctrl+Shift+Space")  # a single step is for held time only
    qtbot.wait(300)  # three simulated seconds: a step taken now would have held time
    assert not clock.paused
    _press(qtbot, window, "Ctrl+Space")
    assert clock.paused
    assert window.time_control.pause_button.isChecked()
    assert window.time_control.step_button.isEnabled()
    assert "time held" in window.banner.text()
    held_at = clock.now()
    qtbot.wait(300)  # three simulated seconds at ×10, had time run
    assert clock.now() == held_at
    assert engine.state is EngineState.RUNNING
    qtbot.wait(100)  # the last Progress event before the hold reaches the window
    remaining_before = window.controls.step_label.text()
    _press(qtbot, window, "Ctrl+Shift+Space")
    qtbot.waitUntil(lambda: clock.paused, timeout=3000)
    assert clock.now() == pytest.approx(held_at + 1.0)
    qtbot.waitUntil(lambda: window.controls.step_label.text() != remaining_before, timeout=3000)
    window.time_control.refresh()
    assert window.time_control.readout.text() == format_clock(
        clock.now() - window.time_control._origin_s
    )
    window.time_control.pause_button.click()  # run time again
    assert not clock.paused
    qtbot.waitUntil(lambda: clock.now() > held_at + 2.0, timeout=3000)
    assert "time held" not in window.banner.text()


@pytest.mark.timeout(60)
def test_emergency_stop_works_while_time_is_held(qtbot, window) -> None:
    prepare_demo_visit(window, "lifting")
    window.start_session()
    engine = window.engine
    qtbot.waitUntil(lambda: engine.state is EngineState.RUNNING, timeout=5000)
    window.time_control.toggle_time()
    assert window.console.time_control.paused
    window.emergency_stop()
    assert window.console.driver.output_on is False
    qtbot.waitUntil(lambda: engine.state is EngineState.ABORTED, timeout=2000)


@pytest.mark.timeout(60)
def test_no_time_control_for_a_real_machine(open_window) -> None:
    host = load_plugins()
    simulator = host.drivers["simulator"]
    # The simulated machine dressed as a real one: the window must treat it as real.
    host.drivers["bench"] = replace(
        simulator, id="bench", simulated=False, transport=Transport.SERIAL
    )
    console = Console(host)
    console.connect("bench")
    main = open_window(console)
    assert console.time_control is None
    assert main.time_control.clock is None
    assert not main.time_control.isVisible()
    assert all(not action.isEnabled() for action in main.time_actions)
    assert "REAL MACHINE" in main.banner.text()


def test_a_bar_without_a_clock_ignores_commands(qtbot) -> None:
    make_application()
    bar = TimeControlBar()
    qtbot.addWidget(bar)
    bar.faster()
    bar.single_step()
    bar.toggle_time()
    bar.set_speed(5.0)
    assert bar.clock is None
    assert bar.describe() == ""
