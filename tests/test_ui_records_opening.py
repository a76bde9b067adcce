"""The window is shown before its records are open (issue 15, start-up): ``run_gui`` opens them
on the next turn of the event loop. Until then no session may start; once they are open a
session is recorded as before; a database that cannot be used is said at once and the window
stays up without records (pytest-qt, offscreen)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from console.engine.events import EngineState
from console.records.opening import open_records
from console.ui.app import RecordsOpening, open_window_records, prepare_demo_visit

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def opening_window(stepped_window):  # type: ignore[no-untyped-def]
    """The main window as ``run_gui`` shows it: no records yet, the records opening."""
    stepped_window.records_opening = True
    return stepped_window


def test_no_session_starts_while_the_records_are_opening(opening_window) -> None:  # type: ignore[no-untyped-def]
    window = opening_window
    prepare_demo_visit(window, "toning")
    window.start_session()
    assert window.engine is None
    assert window.dialogs[-1][0] == "The treatment cannot start yet"
    assert window.console.connection is not None  # the machine is untouched


def test_after_the_deferred_opening_a_session_is_recorded(
    qtbot: Any,
    opening_window,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    window = opening_window
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    prepare_demo_visit(window, "toning")  # the visit began before the records were open
    open_window_records(window, url)
    assert not window.records_opening and window.records_problem is None
    assert window.store is not None and window.records is not None
    window.start_session()
    engine = window.engine
    assert engine is not None
    window.clock.release()
    qtbot.waitUntil(lambda: engine.state is EngineState.FINISHED, timeout=20000)
    qtbot.waitUntil(lambda: window.store.sessions()[0].state == "finished", timeout=5000)
    window.store.close()
    reopened = open_records(url, create=False).store  # what the next start reads
    try:
        (row,) = reopened.sessions()
        assert row.client_name == "Demo client (simulation)"
        assert len(row.steps) == len(engine.protocol.steps)
    finally:
        reopened.close()


def test_a_database_that_cannot_be_used_is_said_at_once(
    opening_window,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    window = opening_window
    missing = tmp_path / "typo" / "records.sqlite3"
    open_window_records(window, f"sqlite:///{missing}")
    assert not window.records_opening and window.store is None
    assert "does not exist" in (window.records_problem or "")
    assert window.dialogs[-1][0] == "Records unavailable"
    assert capsys.readouterr().err.startswith("mc-console: records unavailable: the folder ")
    prepare_demo_visit(window, "toning")
    window.start_session()  # refused: it could not be recorded
    assert window.engine is None
    assert window.dialogs[-1][0] == "The treatment cannot start"


def test_the_records_open_in_a_worker_thread_and_reach_the_window(
    qtbot: Any,
    opening_window,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    """``run_gui``'s way: opened off the window's thread, handed over on it."""
    window = opening_window
    opening = RecordsOpening(window, f"sqlite:///{tmp_path / 'records.sqlite3'}")
    opening.start()
    opening.start()  # the connection and the fallback timer both ask: opened once
    qtbot.waitUntil(lambda: window.store is not None, timeout=20000)
    assert not window.records_opening and window.records_problem is None
    opening.finish()
    assert window.store.sessions() == []  # open, and still the window's after finish()


def test_a_records_failure_in_the_worker_thread_is_said_in_the_window(
    qtbot: Any,
    opening_window,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    window = opening_window
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    opening = RecordsOpening(window, f"sqlite:///{blocker}/records.sqlite3")
    opening.start()
    qtbot.waitUntil(lambda: not window.records_opening, timeout=20000)
    opening.finish()
    assert window.store is None
    assert (
        window.records_problem is not None and "is a file, not a folder" in window.records_problem
    )
    assert window.dialogs[-1][0] == "Records unavailable"
