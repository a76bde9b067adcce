"""A clinic day in miniature (issue 19): sessions back to back in the window, a new client
each time, must not leave threads or open files behind. The week-long version, with memory
figures, is benchmarks/ territory; this one runs in the suite."""

from __future__ import annotations

import os
import threading

import pytest
from PySide6 import QtCore

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
