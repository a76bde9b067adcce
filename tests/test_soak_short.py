"""A clinic day in miniature (issue 19): sessions back to back in the window, a new client
each time, headless runs one after another, and machines connected and closed again must not
leave threads or open files behind. The week-long versions, with memory figures, are
benchmarks/ territory (soak_week.py, soak_headless.py); these run in the suite."""

from __future__ import annotations

import contextlib
import io
import os
import threading
from pathlib import Path

import pytest
from PySide6 import QtCore

from console import cli
from console.testing.conformance.kit import Bench, resolve_driver
from console.ui.app import prepare_demo_visit

pytestmark = pytest.mark.timeout(180)

SESSIONS = 4


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def _run_one(qtbot, window, first: bool) -> None:  # type: ignore[no-untyped-def]
    if not first:
        window.new_client()
    prepare_demo_visit(window, "toning")
    window.start_session()
    engine = window.engine
    window.clock.release()  # the stepped clock runs free: the protocol plays to its end
    qtbot.waitUntil(lambda: engine.state.terminal, timeout=60000)
    qtbot.waitUntil(lambda: window.visit.application is not None, timeout=10000)
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files in /proc")
def test_sessions_back_to_back_leave_no_threads_or_files_behind(qtbot, stepped_window) -> None:
    window = stepped_window
    _run_one(qtbot, window, first=True)  # warm-up: lazily started helpers, caches
    threads, files = threading.active_count(), _open_files()
    for _ in range(SESSIONS):
        _run_one(qtbot, window, first=False)
    # Every session's event thread ends with its session (they used to pile up, one each).
    qtbot.waitUntil(lambda: threading.active_count() <= threads, timeout=5000)
    assert [t.name for t in threading.enumerate()].count("mc-events") == 0
    assert _open_files() <= files


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files in /proc")
def test_headless_runs_one_after_another_leave_no_threads_or_files_behind(tmp_path: Path) -> None:
    records = f"sqlite:///{tmp_path / 'records.sqlite3'}"

    def run(number: int) -> None:
        argv = ["run", "--protocol", "toning", "--speed", "max", "--db", records]
        argv += ["--client", f"Client {number}"]
        if number % 2:  # every other one loses its machine and ends interrupted
            argv += ["--inject", "disconnect@5:00"]
        with contextlib.redirect_stdout(io.StringIO()) as said:
            status = cli.main(argv)
        expected = cli.EXIT_NOT_FINISHED if number % 2 else cli.EXIT_FINISHED
        assert status == expected, said.getvalue()[-2000:]

    run(0)  # warm-up: the plugins, the records schema
    threads, files = threading.active_count(), _open_files()
    for number in range(1, SESSIONS + 1):
        run(number)
    assert threading.active_count() <= threads
    assert _open_files() <= files


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files in /proc")
@pytest.mark.parametrize("driver_id", ["simulator", "framed", "scpi"])
def test_machines_opened_and_closed_again_leave_no_threads_or_files_behind(driver_id: str) -> None:
    """The conformance kit's open/close, as its checks do it (emulators on a pty each)."""
    port = None if driver_id == "simulator" else "emulator"

    def connect_twice() -> None:
        bench = Bench(resolve_driver(driver_id, port, None))
        try:
            bench.shared().identify()
            bench.open(bench.fresh())
        finally:
            bench.close()

    connect_twice()  # warm-up
    threads, files = threading.active_count(), _open_files()
    for _ in range(SESSIONS):
        connect_twice()
    assert threading.active_count() <= threads
    assert _open_files() <= files
