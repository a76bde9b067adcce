"""A clinic week without a restart (issue 19): sessions back to back in one window, with the
records on, faults in some and the machine reconnected between some; run it and read the figures.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/soak_week.py [--sessions 105]
    python tools/under_load.py --busy 2 -- .venv/bin/python benchmarks/soak_week.py

Each session is a new client's toning protocol on the simulated machine, its clock running
free (about 4 s a session). Every 7th session the probe lifts for 5 s (a contact loss, then
Resume), every 11th the machine stops answering (the session is interrupted and the machine
reconnected), and every 5th the machine is disconnected and connected again before the next.
Every 10 sessions it prints the process's resident memory, live threads, open files, and the
warnings Qt and the console's log reported. At the end it judges the goals, after a warm-up of
``--warm-up`` sessions: threads and open files flat, memory growth at most 0.2 MiB a session
(a least-squares slope over the remaining sessions), no warnings. Exit status 1 if one is missed.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore
from soak_figures import Tally, WarningCounter, private_environment

#: Qt's offscreen platform says this whenever a window is shown; it is the test platform's
#: limitation, not the console's, and is not counted.
BENIGN_QT = ("This plugin does not support propagateSizeHints()",)


class QtWarningCounter(WarningCounter):
    """Counts what Qt warns about too."""

    def qt_message(self, mode: QtCore.QtMsgType, _context: object, message: str) -> None:
        if mode != QtCore.QtMsgType.QtDebugMsg and not message.startswith(BENIGN_QT):
            self.note(f"Qt: {message}")


class Clinic:
    """The window, its machine and its records, and what one session does."""

    def __init__(self, scratch: Path) -> None:
        from console.engine.clock import SteppedClock
        from console.plugins import load_plugins
        from console.records.store import RecordStore
        from console.session import Console
        from console.ui.app import make_application
        from console.ui.main_window import MainWindow

        self.app = make_application([])
        self.console = Console(load_plugins())
        self.clock = SteppedClock()
        self.console.connect("simulator", clock=self.clock)
        settings = QtCore.QSettings(
            str(scratch / "settings.ini"), QtCore.QSettings.Format.IniFormat
        )
        self.store = RecordStore(f"sqlite:///{scratch / 'records.sqlite3'}")
        self.window = MainWindow(self.console, settings, self.store)
        self.window.resize(1440, 900)
        self.window.show_connection(self.console.connection)
        self.window.show()
        self._settle(0.2)

    def _settle(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents()
            time.sleep(0.005)
        # What deleteLater() left for the event loop: the window's own loop would do it.
        self.app.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)

    def _wait_for(self, condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.app.processEvents()
            if condition():
                return True
            time.sleep(0.005)
        return False

    def reconnect(self) -> None:
        """Disconnect the machine and connect it again (a new clock), as between clients."""
        from console.engine.clock import SteppedClock

        self.console.disconnect()
        self.clock = SteppedClock()
        self.console.connect("simulator", clock=self.clock)
        self.window.show_connection(self.console.connection)

    def session(self, number: int) -> str:
        """One client's visit up to the end of the application; returns how it ended."""
        from console.engine.events import EngineState
        from console.ui.app import prepare_demo_visit
        from device_drivers.simulator import SimFault

        window = self.window
        if number > 1:
            window.new_client()
        prepare_demo_visit(window, "toning")
        window.start_session()
        engine = window.engine
        if engine is None:
            raise RuntimeError(f"session {number} did not start: {window.alert.text()}")
        machine = self.console.driver
        start = self.clock.now()
        if number % 7 == 0:
            machine.schedule(SimFault.CONTACT_LOSS, at_s=start + 120.0, duration_s=5.0)
        if number % 11 == 0:
            machine.schedule(SimFault.DISCONNECT, at_s=start + 300.0)
        self.clock.release()
        resumed = False
        deadline = time.monotonic() + 120.0
        while not engine.state.terminal and time.monotonic() < deadline:
            self.app.processEvents()
            if engine.state is EngineState.PAUSED and not resumed:
                self._wait_for(lambda: self.clock.now() > start + 126.0, 10.0)
                window.resume()  # the probe is back: the practitioner resumes
                resumed = True
            time.sleep(0.005)
        if not engine.state.terminal:
            raise RuntimeError(f"session {number} did not end in 120 s")
        self._wait_for(lambda: window.visit.application is not None, 10.0)
        if engine.state is EngineState.INTERRUPTED:
            if window.controls.secure_button.isVisible():
                window.machine_secured()
            self.reconnect()
        elif number % 5 == 0:
            self.reconnect()
        self._settle(0.05)
        return engine.state.value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=105)
    parser.add_argument("--warm-up", type=int, default=10, help="sessions before judging")
    parser.add_argument("--every", type=int, default=10, help="print figures every N sessions")
    args = parser.parse_args(argv)
    if args.sessions <= args.warm_up + 1:
        parser.error("--sessions must exceed --warm-up by at least 2")
    counter = QtWarningCounter()
    logging.getLogger().addHandler(counter)
    QtCore.qInstallMessageHandler(counter.qt_message)
    ends: dict[str, int] = {}
    with private_environment() as scratch:
        clinic = Clinic(scratch)
        tally = Tally("session", args.warm_up, args.every, counter)
        tally.header()
        for number in range(1, args.sessions + 1):
            state = clinic.session(number)
            ends[state] = ends.get(state, 0) + 1
            tally.after(number, last=number == args.sessions)
        clinic.console.disconnect()
        clinic.store.close()
    print(f"sessions by end: {ends}")
    return 0 if tally.judge() else 1


if __name__ == "__main__":
    sys.exit(main())
