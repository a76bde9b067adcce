"""Closing the window during a session (issue 19): the output goes off first, then everything
is torn down in order, and no thread outlives what it posts to."""

from __future__ import annotations

import gc
import logging
import threading

import pytest
import shiboken6
from PySide6 import QtCore

from console.engine.events import EngineState
from console.ui.app import prepare_demo_visit

pytestmark = pytest.mark.timeout(60)


def test_quitting_during_a_session_stops_the_output_then_tears_down_cleanly(
    qtbot, stepped_window, caplog
) -> None:
    window = stepped_window
    caplog.set_level(logging.WARNING)
    prepare_demo_visit(window, "toning")
    window.start_session()
    window.clock.run_until(10.0)
    engine, machine = window.engine, window.console.driver
    assert machine.output_on
    window.close()  # "A session is running. Stop it and quit?" answered Yes
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10000)
    assert machine.output_on is False
    assert engine.state is EngineState.ABORTED
    assert window.console.connection is None  # the machine released
    assert [t.name for t in threading.enumerate()].count("mc-events") == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_a_window_destroyed_under_a_running_session_is_not_posted_to(tmp_path, caplog) -> None:
    """Torn down without closing (a crash handler, a test's teardown): the session's events
    have nowhere to go and are dropped quietly; the output still goes off."""
    from console.engine.clock import SteppedClock
    from console.plugins import load_plugins
    from console.session import Console
    from console.ui.app import make_application
    from console.ui.main_window import MainWindow

    make_application()
    caplog.set_level(logging.WARNING)
    console = Console(load_plugins())
    clock = SteppedClock()
    console.connect("simulator", clock=clock)
    settings = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow(console, settings)
    window.show_connection(console.connection)
    window.show()
    prepare_demo_visit(window, "toning")
    window.start_session()
    clock.run_until(10.0)
    engine, bridge = window.engine, window.bridge
    shiboken6.delete(window)
    gc.collect()
    assert not shiboken6.isValid(bridge)
    try:
        clock.run_until(14.0)  # the engine goes on posting Progress to a deleted bridge
        assert console.driver.output_on
    finally:
        engine.emergency_stop()
        clock.release()
        assert engine.wait(10)
        QtCore.QCoreApplication.processEvents()
        assert console.driver.output_on is False
        console.disconnect()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
