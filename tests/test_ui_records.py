"""The main window keeps the visit in the records: session row first, steps as they end,
follow-up saved; a records database that fails leaves the records in the local journal, and
only when the journal fails too does the treatment stop (pytest-qt, offscreen)."""

from __future__ import annotations

import errno
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from console.engine.events import EngineState, SafetyKind
from console.records.journal import JournalError, SessionJournal
from console.records.opening import open_records
from console.records.store import (
    ReactionRow,
    RecordStore,
    StoreUnavailableError,
    session_state,
)
from console.ui import dialogs as boxes
from console.ui.app import prepare_demo_visit
from console.workflow import (
    ObservedReaction,
    Reaction,
    ReactionDuration,
    ReactionSeverity,
    Stage,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def window(records_window):  # type: ignore[no-untyped-def]
    return records_window


def test_a_session_is_recorded_before_output_and_as_it_goes(qtbot: Any, window, store) -> None:  # type: ignore[no-untyped-def]
    prepare_demo_visit(window, "toning")
    window.start_session()
    engine = window.engine
    assert engine is not None
    # The row exists as soon as the session starts, before the first step is done.
    (row,) = store.sessions()
    assert row.state == "running" and row.client_name == "Demo client (simulation)"
    assert row.practitioner == "Trainer" and row.steps == ()
    first_two = sum(step.duration_s for step in engine.protocol.steps[:2])
    window.clock.run_until(first_two + 5.0)
    qtbot.waitUntil(lambda: len(store.sessions()[0].steps) == 2, timeout=5000)
    window.clock.release()
    qtbot.waitUntil(lambda: engine.state is EngineState.FINISHED, timeout=20000)
    qtbot.waitUntil(lambda: store.sessions()[0].state == "finished", timeout=5000)
    (done,) = store.sessions()
    assert len(done.steps) == len(engine.protocol.steps)
    assert done.total_charge_uc == pytest.approx(engine.summary().total_charge_uc)
    client = store.client(int(window.visit.client.reference))
    assert client.screenings[0].cleared is True


def test_follow_up_is_saved_in_the_records(qtbot: Any, window, store) -> None:  # type: ignore[no-untyped-def]
    prepare_demo_visit(window, "circulation")
    window.start_session()
    window.clock.release()
    qtbot.waitUntil(lambda: window.visit.application is not None, timeout=20000)
    visit = window.visit
    for item in visit.moisturization:
        visit.check(Stage.MOISTURIZATION, item)
    when = datetime.now(UTC) + timedelta(days=14)
    redness = ObservedReaction(Reaction.REDNESS, ReactionSeverity.MILD, ReactionDuration.MINUTES)
    visit.record_follow_up([redness], "Mild redness, gone in 20 min", when)
    client = store.client(int(visit.client.reference))
    assert client.notes[0].reactions == (ReactionRow("redness", "mild", "faded within minutes"),)
    assert client.notes[0].reactions[0].describe() == "redness — mild, faded within minutes"
    assert client.notes[0].text == "Mild redness, gone in 20 min"
    assert client.follow_ups[0].due_at == when.replace(microsecond=when.microsecond)
    assert client.sessions[0].notes[0].text == "Mild redness, gone in 20 min"


def _database_full(store: RecordStore, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """From now on the database takes no step, event or end (a full disk) until the returned
    event is set (space freed)."""
    freed = threading.Event()

    def refusing(real):  # type: ignore[no-untyped-def]
        def write(*args: object, **kwargs: object) -> object:
            if not freed.is_set():
                raise StoreUnavailableError(
                    "the records database cannot be written (disk full or removed)"
                )
            return real(*args, **kwargs)

        return write

    for name in ("add_step", "add_event", "end_session_as", "renew_lease"):
        monkeypatch.setattr(store, name, refusing(getattr(store, name)))
    return freed


def _journal_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local journal's disk is full as well."""

    def full(_journal: object, _entry: object) -> None:
        raise JournalError(errno.ENOSPC, "the disk holding the journal is full")

    monkeypatch.setattr(SessionJournal, "append", full)


def test_a_full_database_does_not_stop_the_treatment_the_journal_keeps_everything(
    qtbot: Any, window, store, monkeypatch, journal_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    prepare_demo_visit(window, "lifting")
    window.start_session()
    freed = _database_full(store, monkeypatch)
    engine = window.engine
    session_id = engine.session.session_id
    window.clock.release()
    qtbot.waitUntil(lambda: engine.state.terminal, timeout=30000)
    # The treatment ran to its end: the records were safe in the journal all along.
    assert engine.state is EngineState.FINISHED and not engine.safety_events
    qtbot.waitUntil(lambda: "RECORDS" in window.alert.text(), timeout=5000)
    alert = window.alert.text()
    assert "disk full" in alert and "The treatment goes on" in alert and "local journal" in alert
    assert window.alert.property("level") == "warning"
    assert store.session(session_id).steps == ()
    assert window.unsaved_records() == 0  # nothing quitting would lose: all journaled
    assert [p.suffix for p in journal_dir.iterdir()] == [".journal"]

    freed.set()  # space freed, after the session ended: the window writes it all in
    qtbot.waitUntil(lambda: store.session(session_id).state == "finished", timeout=10000)
    row = store.session(session_id)
    assert len(row.steps) == len(engine.protocol.steps)
    assert row.total_charge_uc == pytest.approx(engine.summary().total_charge_uc)
    qtbot.waitUntil(lambda: not list(journal_dir.iterdir()), timeout=5000)
    qtbot.waitUntil(lambda: "takes writes again" in window.alert.text(), timeout=5000)


def test_records_the_database_never_took_are_written_in_at_the_next_start(
    qtbot: Any, window, store, monkeypatch, journal_dir: Path, dialogs
) -> None:  # type: ignore[no-untyped-def]
    prepare_demo_visit(window, "toning")
    window.start_session()
    _database_full(store, monkeypatch)
    engine = window.engine
    session_id = engine.session.session_id
    window.clock.release()
    qtbot.waitUntil(lambda: engine.state.terminal, timeout=30000)
    qtbot.waitUntil(lambda: "RECORDS" in window.alert.text(), timeout=5000)
    qtbot.waitUntil(lambda: window.recorder is None, timeout=5000)  # the session's end shown
    window.close()  # the clinic closes for the night with the disk still full
    assert not any(title == "Records not saved yet" for title, _ in dialogs)
    assert not window.isVisible()
    # The next morning, the disk has space again: the next start (a new store) writes it in.

    opened = open_records(store.url)  # the next start
    try:
        assert opened.replayed.sessions == [session_id]
        row = opened.store.session(session_id)
        assert row.state == "finished"
        assert len(row.steps) == len(engine.protocol.steps)
        assert row.total_charge_uc == pytest.approx(engine.summary().total_charge_uc)
        assert "written into the records database" in " ".join(opened.messages())
        assert not list(journal_dir.iterdir())
    finally:
        opened.store.close()


def test_the_treatment_stops_when_neither_the_database_nor_the_journal_can_be_written(
    qtbot: Any, window, store, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    prepare_demo_visit(window, "lifting")
    window.start_session()
    _database_full(store, monkeypatch)
    _journal_full(monkeypatch)
    engine = window.engine
    window.clock.release()  # step 1's first checkpoint can be kept nowhere: it stops there
    qtbot.waitUntil(lambda: engine.state.terminal, timeout=20000)
    assert len(engine.deliveries) <= 2 and not engine.deliveries[-1].completed
    assert engine.state is EngineState.ABORTED
    assert window.console.driver.output_on is False
    qtbot.waitUntil(lambda: "RECORDS" in window.alert.text(), timeout=5000)
    assert "disk full" in window.alert.text() and "journal is full" in window.alert.text()
    assert window.alert.property("level") == "danger"
    # Ended for what it was: a records failure, never an operator's stop.
    (event,) = engine.safety_events
    assert event.kind is SafetyKind.RECORDS_FAILURE
    assert event.message.startswith("The records could not be saved: Neither the records database")
    assert "operator" not in event.message
    assert session_state(engine.summary()) == "interrupted"


def test_no_session_starts_when_neither_the_database_nor_the_journal_can_take_its_row(
    window, store, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    def locked(*_args: object, **_kwargs: object) -> None:
        raise StoreUnavailableError("the records database is busy (locked by another program)")

    monkeypatch.setattr(store, "begin_session", locked)
    _journal_full(monkeypatch)
    prepare_demo_visit(window, "toning")
    window.start_session()
    assert window.engine is None
    assert window.console.driver.output_on is False
    message = window.dialogs[-1][1]
    assert "cannot be recorded" in message and "busy" in message and "journal" in message


def test_a_session_starts_on_a_locked_database_and_its_row_follows(
    qtbot: Any, window, store, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Another program holds the database for longer than the busy timeout (here: until
    released): the session starts from the journal, and its row lands when the lock goes."""
    released = threading.Event()
    real_begin = store.begin_session

    def locked_until_released(*args: object, **kwargs: object) -> None:
        if not released.is_set():
            raise StoreUnavailableError("the records database is busy (locked by another program)")
        real_begin(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "begin_session", locked_until_released)
    prepare_demo_visit(window, "toning")
    window.start_session()
    engine = window.engine
    assert engine is not None and not engine.state.terminal
    window.clock.run_until(14.0)  # 14 s of treatment with the database locked
    assert engine.safety_events == () or all(
        e.kind is not SafetyKind.RECORDS_FAILURE for e in engine.safety_events
    )
    assert store.sessions() == []
    released.set()
    qtbot.waitUntil(lambda: len(store.sessions()) == 1, timeout=10000)
    window.clock.release()
    qtbot.waitUntil(lambda: engine.state.terminal, timeout=30000)
    qtbot.waitUntil(lambda: store.sessions()[0].state == "finished", timeout=10000)


def test_the_visit_report_and_the_csv_export_are_saved(
    qtbot: Any, window, store, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from pypdf import PdfReader

    prepare_demo_visit(window, "toning")
    window.start_session()
    window.clock.release()
    qtbot.waitUntil(
        lambda: store.sessions() and store.sessions()[0].state == "finished", timeout=20000
    )
    targets = iter([str(tmp_path / "report.pdf"), str(tmp_path / "all.csv")])
    monkeypatch.setattr(boxes, "choose_save_file", lambda *a, **_k: a[-1](Path(next(targets))))
    window.save_session_report()
    text = " ".join(PdfReader(tmp_path / "report.pdf").pages[0].extract_text().split())
    assert "Demo client (simulation)" in text and "Toning" in text
    window.export_sessions()
    assert (tmp_path / "all.csv").read_text().count("\n") == 2  # header and the one session
    assert (tmp_path / "all-steps.csv").read_text().count("\n") == 1 + 12
    assert "Exported 1 sessions" in window.alert.text()


def test_records_held_in_memory_reach_the_database_after_the_session_ended(
    qtbot: Any, window, store, monkeypatch, dialogs
) -> None:  # type: ignore[no-untyped-def]
    prepare_demo_visit(window, "lifting")
    window.start_session()
    freed = _database_full(store, monkeypatch)
    _journal_full(monkeypatch)
    engine = window.engine
    session_id = engine.session.session_id
    window.clock.release()
    qtbot.waitUntil(lambda: engine.state.terminal, timeout=20000)
    # The window has taken the session's end (its recorder now finishes in the background):
    # the records trouble may have reached it earlier, through its own signal.
    qtbot.waitUntil(lambda: window.visit.application is not None, timeout=5000)
    qtbot.waitUntil(lambda: "RECORDS" in window.alert.text(), timeout=5000)
    assert "while the console stays open" in window.alert.text()
    assert window.unsaved_records() >= 1
    # Quitting now would lose them (the journal could not take them): the window says so,
    # and the practitioner answers "No".
    monkeypatch.setattr(
        boxes, "ask", lambda _p, title, text, _yes, *_a, **_k: dialogs.append((title, text))
    )
    window.close()
    assert dialogs and dialogs[-1][0] == "Records not saved yet"
    assert window.isVisible()

    freed.set()  # space freed: the writes go through, long after the session ended
    qtbot.waitUntil(lambda: window.unsaved_records() == 0, timeout=10000)
    row = store.session(session_id)
    assert row.steps and row.total_charge_uc > 0
    assert row.state == "interrupted"  # ended by the records failure, and said so
    assert row.events[-1].kind == "records_failure"
