"""The window comes up before what no session needs yet (issue 15, start-up): the scope's plots
(pyqtgraph) are built once the window's first frame is painted and its machine connected, and
whatever needs them first builds them; the real ``mc-console`` shows its window without having
imported pyqtgraph (pytest-qt, offscreen)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6 import QtCore, QtWidgets

from console.engine.events import EngineState
from console.ui.app import prepare_demo_visit
from console.ui.scope import Marker, MarkerKind, ScopeWidget
from console.ui.window_start import WindowStart

pytestmark = pytest.mark.timeout(60)


class _Window(QtWidgets.QWidget):
    """Enough of a main window for :class:`WindowStart`: a ``connected`` signal."""

    connected = QtCore.Signal(object)


def _starting(qtbot: Any, wait_ms: int) -> tuple[_Window, list[str]]:
    """A window not yet shown whose machine is connecting, and what its start says, in order."""
    window = _Window()
    qtbot.addWidget(window)
    start = WindowStart(window, wait_ms=wait_ms, connecting=True)
    said: list[str] = []
    start.up.connect(lambda: said.append("up"))
    start.up_and_connected.connect(lambda: said.append("up and connected"))
    return window, said


def test_up_once_painted_and_connected(qtbot: Any) -> None:
    window, said = _starting(qtbot, wait_ms=10_000)
    window.show()
    qtbot.wait(100)  # painted, but the machine is still connecting
    assert said == []
    window.connected.emit(object())
    qtbot.waitUntil(lambda: said == ["up and connected", "up"], timeout=2000)


def test_connected_before_the_first_frame_waits_for_the_frame(qtbot: Any) -> None:
    window, said = _starting(qtbot, wait_ms=10_000)
    window.connected.emit(object())
    qtbot.wait(50)
    assert said == []  # not shown yet
    window.show()
    qtbot.waitUntil(lambda: said == ["up and connected", "up"], timeout=2000)


def test_a_slow_machine_does_not_hold_the_window_back(qtbot: Any) -> None:
    window, said = _starting(qtbot, wait_ms=50)
    window.show()
    qtbot.waitUntil(lambda: said == ["up"], timeout=2000)
    window.connected.emit(object())  # seconds later, a real machine answers
    qtbot.waitUntil(lambda: said == ["up", "up and connected"], timeout=2000)


def test_without_a_machine_the_first_frame_is_enough(qtbot: Any) -> None:
    window = _Window()
    qtbot.addWidget(window)
    start = WindowStart(window, wait_ms=10_000, connecting=False)
    ran: list[str] = []
    start.when_up(lambda: ran.append("first"))
    window.show()
    qtbot.waitUntil(lambda: ran == ["first"], timeout=2000)
    start.when_up(lambda: ran.append("late"))  # asked once up: at once
    assert ran == ["first", "late"]


def test_a_window_never_painted_is_up_after_a_while(qtbot: Any) -> None:
    window, said = _starting(qtbot, wait_ms=10)  # never shown: no frame will come
    window.connected.emit(object())
    qtbot.waitUntil(lambda: said == ["up and connected", "up"], timeout=5000)


def test_the_scope_waits_for_its_plots_and_keeps_what_it_was_told(qtbot: Any) -> None:
    scope = ScopeWidget()
    qtbot.addWidget(scope)
    scope.set_window(10)
    scope.set_fixed_ranges(300.0, 12.0)
    scope.set_output_on(False)
    scope.add_marker(Marker(1.0, MarkerKind.STEP, "step 1"))
    scope.show()
    assert not scope.plots_built
    assert scope.visible_markers() == []  # nothing drawn yet
    built: list[bool] = []
    scope.plots_ready.connect(lambda: built.append(True))
    scope.build_plots()
    scope.build_plots()  # once only
    assert built == [True] and scope.plots_built
    assert scope.window_s == 10.0
    # Output off with a session's ranges: the fixed ±300 µA range (and 5 % padding of its span),
    # set before the plots were.
    low, high = scope._view.current_plot.viewRange()[1]  # type: ignore[union-attr]
    assert low == pytest.approx(-330.0) and high == pytest.approx(330.0)
    assert scope.output_off_mark.isHidden()  # no session attached: no mark


def test_a_session_builds_the_plots_it_draws_on(qtbot: Any, stepped_window) -> None:  # type: ignore[no-untyped-def]
    window = stepped_window
    assert not window.scope.plots_built  # the fixture's window, as a test builds it
    prepare_demo_visit(window, "toning")
    window.start_session()
    engine = window.engine
    assert engine is not None and window.scope.plots_built
    window.clock.run_until(window.clock.now() + 3.0)
    qtbot.waitUntil(lambda: window.scope.frames_drawn > 0, timeout=5000)
    engine.emergency_stop()
    assert engine.wait(5) and engine.state is EngineState.ABORTED


def _probed_start_env(home: Path) -> dict[str, str]:
    """The environment of a real ``mc-console`` start under the start-up probe, offscreen, as a
    fresh user whose settings, plugins and records live under ``home``."""
    return {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "MC_CONSOLE_STARTUP_PROBE": "1",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
    }


#: Modules a start on the simulated machine has no use for before its window is up.
NOT_LOADED_AT_READY = (
    "pyqtgraph",  # the scope's plots: built once the window is up
    "sqlalchemy",  # the records: opened in a worker thread once the window is up
    "console.stream_driver",  # the serial machines' base: loaded by their factories
    "device_drivers.framed_driver",
    "device_drivers.scpi_driver",
    "console.records.rows",  # the record commands' own
    "console.records.reports",
)


def test_mc_console_shows_its_window_before_importing_pyqtgraph(tmp_path: Path) -> None:
    """The real entry point, under the start-up probe: at "ready" (first frame painted, machine
    connected) none of :data:`NOT_LOADED_AT_READY` is loaded; the scope's plots follow, then
    the records."""
    probe = (
        "import sys\n"
        "import builtins\n"
        "_print = builtins.print\n"
        f"_watched = {NOT_LOADED_AT_READY!r}\n"
        "def _said(*args, **kwargs):\n"
        "    if args and args[0] == 'mc-console: ready':\n"
        "        loaded = [name for name in _watched if name in sys.modules]\n"
        "        _print('loaded at ready:', loaded, flush=True)\n"
        "    _print(*args, **kwargs)\n"
        "builtins.print = _said\n"
        "from console.cli import main\n"
        "sys.exit(main([]))\n"
    )
    env = _probed_start_env(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=50
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith(("mc-console", "load"))]
    assert lines == [
        "loaded at ready: []",
        "mc-console: ready",
        "mc-console: scope ready",
        "mc-console: records open",
    ], done.stdout + done.stderr


def test_the_esc_guard_is_on_once_the_window_is_painted(qtbot: Any, stepped_window) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: stepped_window.emergency_keys.installed, timeout=5000)


def test_a_session_started_before_the_guard_is_on_turns_it_on(
    qtbot: Any,
    tmp_path: Path,
    dialogs,  # type: ignore[no-untyped-def]
) -> None:
    """``run_gui`` installs the guard once the window is up; a session that starts before
    (nothing in the window can, but code may) installs it first, and Esc stops it."""
    from console.engine.clock import SteppedClock
    from console.plugins import load_plugins
    from console.session import Console
    from console.ui.main_window import MainWindow

    console = Console(load_plugins())
    clock = SteppedClock()
    console.connect("simulator", clock=clock)
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow(console, settings, guard_keys_when_painted=False)
    qtbot.addWidget(window)
    window.show_connection(console.connection)
    window.show()
    window.dialogs = dialogs
    try:
        qtbot.wait(200)  # painted: still not guarding, as run_gui leaves it to itself
        assert not window.emergency_keys.installed
        prepare_demo_visit(window, "toning")
        window.start_session()
        engine = window.engine
        assert engine is not None and window.emergency_keys.installed
        clock.run_until(clock.now() + 2.0)
        qtbot.keyClick(window.workflow, QtCore.Qt.Key.Key_Escape)
        assert engine.wait(5) and engine.state is EngineState.ABORTED
    finally:
        if window.engine is not None and not window.engine.state.terminal:
            window.engine.emergency_stop()
        clock.release()
        console.disconnect()


@pytest.mark.parametrize(("given", "used"), [(None, "1"), ("4", "4")])
def test_numpy_gets_one_blas_thread_unless_the_user_says(given: str | None, used: str) -> None:
    """OpenBLAS's worker threads spin at import; the console needs none of them."""
    env = {name: value for name, value in os.environ.items() if name != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    code = "import os, console, numpy; print(os.environ['OPENBLAS_NUM_THREADS'])"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == used


def test_the_window_ends_cleanly_every_time(tmp_path: Path) -> None:
    """Up, scope built, records open, quit: exit status 0 each time. (The window's pyqtgraph
    items left to the interpreter's exit crashed about one exit in two.)"""
    env = _probed_start_env(tmp_path)
    script = Path(sys.executable).with_name("mc-console")
    for _run in range(5):
        done = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=50)
        assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
        assert "mc-console: records open" in done.stdout
