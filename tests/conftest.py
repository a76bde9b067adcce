"""Shared fixtures: a virtual clock, the simulated machine, a small protocol, an engine factory."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from console.drivers import DriverInfo
from console.engine.clock import SteppedClock, VirtualClock
from console.engine.events import EventLog
from console.engine.runner import TreatmentEngine
from console.protocols import Protocol
from console.records.store import RecordStore
from device_drivers.simulator import SimulatedMachine
from device_drivers.simulator_plugin import register_drivers
from device_drivers.skin import SkinParameters
from support import make_protocol

__all__ = ["make_protocol"]

pytest_plugins = ["records_fixtures"]


@pytest.fixture(autouse=True)
def _no_plugin_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The developer's own plugins.json (Help ▸ Plugins…) must not change what tests load."""
    folder = tmp_path_factory.mktemp("plugin-settings")
    monkeypatch.setenv("MC_CONSOLE_PLUGIN_SETTINGS", str(folder / "plugins.json"))


@pytest.fixture(autouse=True)
def _no_own_packs(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The developer's own protocol packs must not change what tests load: an empty folder."""
    monkeypatch.setenv("MC_CONSOLE_PACKS_DIR", str(tmp_path_factory.mktemp("packs")))


@pytest.fixture(autouse=True)
def journal_dir(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The records' local journal folder: the test's own (never the developer's data folder)."""
    folder = tmp_path_factory.mktemp("journal")
    monkeypatch.setenv("MC_CONSOLE_JOURNAL_DIR", str(folder))
    return folder


@pytest.fixture(autouse=True)
def _no_leftover_windows() -> Iterator[None]:
    """Delete every window a test leaves behind (after pytest-qt has closed its own): a hidden
    window's timers (the scope's 40 fps) would otherwise keep running under every later test."""
    yield
    if "PySide6.QtWidgets" not in sys.modules:
        return  # this test never touched Qt
    from PySide6 import QtCore, QtWidgets

    app = QtWidgets.QApplication.instance()
    if app is None:
        return
    for widget in QtWidgets.QApplication.topLevelWidgets():
        widget.hide()  # not close(): no "session running?" question after the test
        widget.deleteLater()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RecordStore]:
    """An empty SQLite record store in the test's own folder; closed after the test."""
    records = RecordStore(f"sqlite:///{tmp_path}/records.sqlite3")
    yield records
    records.close()


@pytest.fixture
def stepped_clock() -> SteppedClock:
    """A virtual clock the test advances explicitly (see :class:`SteppedClock`)."""
    return SteppedClock()


@pytest.fixture
def clock() -> VirtualClock:
    """Time that moves only when the engine waits: exact and fast."""
    return VirtualClock()


@pytest.fixture
def simulator_info() -> DriverInfo:
    """The simulated machine's registration, as its plugin returns it."""
    return register_drivers()[0]


@pytest.fixture
def protocol() -> Protocol:
    """Three 20-second steps at 300 µA, 10 Hz square, alternating polarity."""
    return make_protocol()


EngineFactory = Callable[..., tuple[TreatmentEngine, SimulatedMachine, EventLog]]


@pytest.fixture
def make_engine(clock: VirtualClock, simulator_info: DriverInfo) -> Iterator[EngineFactory]:
    """Build an engine on a simulated machine and a virtual clock; closes them after the test."""
    engines: list[TreatmentEngine] = []

    def factory(
        engine_clock: VirtualClock | None = None,
        skin: SkinParameters | None = None,
        **engine_options: object,
    ) -> tuple[TreatmentEngine, SimulatedMachine, EventLog]:
        use_clock = engine_clock or clock
        machine = SimulatedMachine(use_clock, seed=7, skin=skin)
        engine = TreatmentEngine(machine, simulator_info, use_clock, **engine_options)  # type: ignore[arg-type]
        log = EventLog()
        engine.subscribe(log)
        engines.append(engine)
        return engine, machine, log

    yield factory
    for engine in engines:
        if isinstance(engine.clock, SteppedClock):
            engine.clock.release()
        engine.close()


@pytest.fixture
def dialogs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """The console's boxes (``console.ui.dialogs``), recorded as ``(title, text)`` instead of
    shown; questions are answered "Yes" at once. Tests that need a real box (the emergency stop
    over every dialog) put the real function back.
    """
    from console.ui import dialogs as boxes

    shown: list[tuple[str, str]] = []

    def record(answer: object) -> Callable[..., object]:
        def show(_parent: object, title: str, text: str, *_args: object, **_kw: object) -> object:
            shown.append((title, text))
            return answer

        return show

    def ask(_parent: object, title: str, text: str, on_yes: Callable[[], None], *_a, **_k) -> None:
        shown.append((title, text))
        on_yes()

    for name in ("inform", "warn", "tell_in"):
        monkeypatch.setattr(boxes, name, record(None))
    monkeypatch.setattr(boxes, "confirm_in", record(True))
    monkeypatch.setattr(boxes, "ask", ask)
    return shown


@pytest.fixture
def open_window(qtbot, tmp_path, dialogs):  # type: ignore[no-untyped-def]
    """Open the main window over a :class:`Console` (connected or not) and, if given, a records
    ``store``, with settings in a temporary file and boxes recorded in ``window.dialogs``. After the test, any running
    session is stopped (output off), a stepped clock released and the machine disconnected."""
    from PySide6 import QtCore

    from console.ui.app import make_application
    from console.ui.main_window import MainWindow

    windows = []

    def open_(console, size: tuple[int, int] = (1440, 900), store=None):  # type: ignore[no-untyped-def]
        make_application()
        settings = QtCore.QSettings(
            str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat
        )
        window = MainWindow(console, settings, store)
        qtbot.addWidget(window)
        window.resize(*size)
        if console.connection is not None:
            window.show_connection(console.connection)
        window.show()
        window.dialogs = dialogs
        windows.append(window)
        return window

    yield open_
    for window in windows:
        engine = window.engine
        if engine is not None and not engine.state.terminal:
            engine.emergency_stop()
        if isinstance(window.console.clock, SteppedClock):
            window.console.clock.release()
        if engine is not None:
            engine.wait(5)
        window.console.disconnect()


@pytest.fixture
def records_window(open_window, store):  # type: ignore[no-untyped-def]
    """The main window on the simulated machine with a stepped clock (``window.clock``) and
    the client records in ``store``."""
    from console.plugins import load_plugins
    from console.session import Console

    console = Console(load_plugins())
    clock = SteppedClock()
    console.connect("simulator", clock=clock)
    window = open_window(console, store=store)
    window.clock = clock
    return window


@pytest.fixture
def stepped_window(open_window):  # type: ignore[no-untyped-def]
    """The main window on the simulated machine with a stepped clock (``window.clock``), which
    the test advances with ``window.clock.run_until(t)``."""
    from console.plugins import load_plugins
    from console.session import Console

    console = Console(load_plugins())
    clock = SteppedClock()
    console.connect("simulator", clock=clock)
    window = open_window(console)
    window.clock = clock
    return window
