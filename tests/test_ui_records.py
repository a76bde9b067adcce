"""The main window keeps the visit in the records: session row first, steps as they end,
follow-up saved; a records database that fails stops the treatment (pytest-qt, offscreen)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from console.engine.clock import SteppedClock
from console.engine.events import EngineState, SafetyKind
from console.plugins import load_plugins
from console.records.store import RecordStore, StoreUnavailableError, session_state
from console.session import Console
from console.ui import dialogs as boxes
from console.ui.app import prepare_demo_visit
from console.workflow import Reaction, Stage

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def window(store: RecordStore, open_window):  # type: ignore[no-untyped-def]
    console = Console(load_plugins())
    clock = SteppedClock()
    console.connect("simulator", clock=clock)
    main = open_window(console, store=store)
    main.clock = clock
    return main


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
    visit.record_follow_up({Reaction.REDNESS}, "Mild redness, gone in 20 min", when)
    client = store.client(int(visit.client.reference))
    assert client.notes[0].reactions == ("redness",)
    assert client.notes[0].text == "Mild redness, gone in 20 min"
    assert client.follow_ups[0].due_at == when.replace(microsecond=when.microsecond)
    assert client.sessions[0].notes[0].text == "Mild redness, gone in 20 min"


def test_a_failing_database_stops_the_treatment_and_says_so(
    qtbot: Any, window, store, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    def full(*_args: object, **_kwargs: object) -> None:
        raise StoreUnavailableError("the records database cannot be written (disk full or removed)")

    prepare_demo_visit(window, "lifting")
    window.start_session()
    monkeypatch.setattr(store, "add_step", full)
    engine = window.engine
    window.clock.release()  # step 1's first checkpoint cannot be saved: the session stops there
    qtbot.waitUntil(lambda: engine.state.terminal, timeout=20000)
    # Stopped within the first step (its checkpoint failed) or right after it.
    assert len(engine.deliveries) <= 2 and not engine.deliveries[-1].completed
    assert engine.state is EngineState.ABORTED
    assert window.console.driver.output_on is False
    qtbot.waitUntil(lambda: "RECORDS" in window.alert.text(), timeout=5000)
    assert "disk full" in window.alert.text()
    # Ended for what it was: a records failure, never an operator's stop.
    (event,) = engine.safety_events
    assert event.kind is SafetyKind.RECORDS_FAILURE
    # The first write that failed: step 1's first checkpoint, 5 s into the treatment.
    assert event.message.startswith("The records could not be saved: Could not save step 1 ")
    assert "operator" not in event.message
    assert session_state(engine.summary()) == "interrupted"


def test_no_session_starts_when_the_session_row_cannot_be_written(
    window, store, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    def locked(*_args: object, **_kwargs: object) -> None:
        raise StoreUnavailableError("the records database is busy (locked by another program)")

    monkeypatch.setattr(store, "begin_session", locked)
    prepare_demo_visit(window, "toning")
    window.start_session()
    assert window.engine is None
    assert window.console.driver.output_on is False
    assert "cannot be recorded" in window.dialogs[-1][1]


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


def test_records_kept_in_memory_reach_the_database_after_the_session_ended(
    qtbot: Any, window, store, monkeypatch, dialogs
) -> None:  # type: ignore[no-untyped-def]
    released = threading.Event()
    real_add_step = store.add_step

    def full_until_released(session_id: str, step: object) -> None:
        if not released.is_set():
            raise StoreUnavailableError("the records database cannot be written (disk full)")
        real_add_step(session_id, step)  # type: ignore[arg-type]

    prepare_demo_visit(window, "lifting")
    window.start_session()
    monkeypatch.setattr(store, "add_step", full_until_released)
    engine = window.engine
    session_id = engine.session.session_id
    window.clock.release()
    qtbot.waitUntil(lambda: engine.state.terminal, timeout=20000)
    qtbot.waitUntil(lambda: "RECORDS" in window.alert.text(), timeout=5000)
    assert "while the console stays open" in window.alert.text()
    assert window.unsaved_records() >= 1
    # Quitting now would lose them: the window says so and stays open.
    window.close()
    assert dialogs and dialogs[-1][0] == "Records not saved yet"
    dialogs.clear()

    released.set()  # space freed: the writes go through, long after the session ended
    qtbot.waitUntil(lambda: window.unsaved_records() == 0, timeout=10000)
    row = store.session(session_id)
    assert row.steps and row.total_charge_uc > 0
    assert row.state == "interrupted"  # ended by the records failure, and said so
    assert row.events[-1].kind == "records_failure"
