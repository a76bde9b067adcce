"""The visit recorded whole (issue 18, part 5): the goals typed at the consultation, the reactions
and notes of the follow-up and the appointment's day reach the client's page and the session's
PDF; saving the follow-up again corrects it; a stopped session may be followed by a new one for
the same client; the follow-up page works with gloves on (pytest-qt, offscreen)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from PySide6 import QtCore, QtWidgets

from console.engine.events import EngineState
from console.plugins import load_plugins
from console.records.reports import write_session_pdf
from console.records.store import RecordStore
from console.ui.app import prepare_demo_visit
from console.ui.followup_page import NO_REACTION, TARGET_PX, FollowUpPage
from console.workflow import (
    MOISTURIZATION_CHECKLIST,
    Client,
    Reaction,
    Stage,
    Visit,
)

pytestmark = pytest.mark.timeout(60)

GOALS = "Lift the jawline and cheeks"


@pytest.fixture
def window(records_window):  # type: ignore[no-untyped-def]
    return records_window


def pdf_text(path: Path) -> str:
    text = " ".join(page.extract_text() for page in PdfReader(path).pages)
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text))


def treat_in_full(qtbot: Any, window, protocol: str = "toning") -> None:  # type: ignore[no-untyped-def]
    """The visit at application: the whole protocol delivered."""
    window.start_session()
    engine = window.engine
    assert engine is not None
    window.clock.release()
    qtbot.waitUntil(lambda: window.visit.application is not None, timeout=30000)
    assert engine.state is EngineState.FINISHED


def to_follow_up(window) -> FollowUpPage:  # type: ignore[no-untyped-def]
    for item in MOISTURIZATION_CHECKLIST:
        window.workflow.moisturization.boxes[item].setChecked(True)
    assert window.workflow.go_to(Stage.MOISTURIZATION)
    assert window.workflow.go_to(Stage.FOLLOW_UP)
    page = window.workflow.follow_up
    assert window.workflow.pages.currentWidget() is page
    return page


def tick(page: FollowUpPage, reaction: Reaction, severity: int, duration: int) -> None:
    page.reactions[reaction].setChecked(True)
    page.severities[reaction].setCurrentIndex(severity)
    page.durations[reaction].setCurrentIndex(duration)


def client_page_text(window, client_id: int) -> str:  # type: ignore[no-untyped-def]
    panel = window.records
    assert panel is not None
    panel.refresh()
    assert panel.select_client(client_id)
    return panel.goals_label.text() + "\n" + panel.visits.toPlainText()


# -- goals ------------------------------------------------------------------------------------------


def test_goals_typed_at_the_consultation_are_kept_shown_and_printed(
    qtbot: Any, window, store: RecordStore, tmp_path: Path
) -> None:
    assert prepare_demo_visit(window, "toning")
    treat_in_full(qtbot, window)
    client_id = int(window.visit.client.reference)
    record = store.client(client_id)
    assert record.goals == GOALS
    assert record.sessions[0].goals == GOALS
    shown = client_page_text(window, client_id)
    assert f"Goals: {GOALS}" in shown  # the client's goals, at the top of the page
    assert re.search(rf"Goals: {GOALS}", window.records.visits.toPlainText())  # and the visit's

    qtbot.waitUntil(lambda: store.session(window.archive.session_id).state == "finished")
    session = store.session(window.archive.session_id)
    path = tmp_path / "report.pdf"
    write_session_pdf(session, store.client(client_id), path)
    assert f"Goals {GOALS}" in pdf_text(path)


def test_a_later_visit_s_goals_update_the_client_while_the_earlier_visit_keeps_its_own(
    qtbot: Any, window, store: RecordStore
) -> None:
    assert prepare_demo_visit(window, "toning", client="Anna Keller")
    treat_in_full(qtbot, window)
    client_id = int(window.visit.client.reference)
    first = window.archive.session_id

    # The next visit starts from the client's page: the goals on record are filled in.
    window.records.select_client(client_id)
    window.start_visit_for(client_id, "Anna Keller")
    assert window.workflow.consultation.goals.toPlainText() == GOALS
    assert prepare_demo_visit(window, "toning", client="Anna Keller")
    window.workflow.consultation.goals.setPlainText("Soften the nasolabial folds")
    treat_in_full(qtbot, window)

    record = store.client(client_id)
    assert record.goals == "Soften the nasolabial folds"
    by_id = {s.id: s for s in record.sessions}
    assert by_id[first].goals == GOALS
    assert by_id[window.archive.session_id].goals == "Soften the nasolabial folds"
    shown = client_page_text(window, client_id)
    assert "Goals: Soften the nasolabial folds" in shown and f"Goals: {GOALS}" in shown


def test_goals_typed_after_the_session_began_are_kept_with_the_follow_up(
    qtbot: Any, window, store: RecordStore
) -> None:
    assert prepare_demo_visit(window, "toning")
    window.workflow.consultation.goals.setPlainText("")
    treat_in_full(qtbot, window)
    client_id = int(window.visit.client.reference)
    assert store.client(client_id).goals == ""
    window.workflow.consultation.goals.setPlainText("Brighter skin before the wedding")
    page = to_follow_up(window)
    page.no_reaction.setChecked(True)
    qtbot.mouseClick(page.save_button, QtCore.Qt.MouseButton.LeftButton)
    record = store.client(client_id)
    assert record.goals == "Brighter skin before the wedding"
    assert record.sessions[0].goals == "Brighter skin before the wedding"


def test_empty_goals_at_a_visit_leave_the_client_s_goals_as_they_are(store: RecordStore) -> None:
    client_id = store.add_client("Berta Lang", "Dana", goals="Even skin tone")
    assert store.record_goals(client_id, "  ") is False
    assert store.client(client_id).goals == "Even skin tone"
    assert store.record_goals(client_id, " Firmer jawline ") is True
    assert store.client(client_id).goals == "Firmer jawline"


# -- the follow-up on the client's page and in the PDF ----------------------------------------------


def test_reactions_notes_and_the_appointment_day_reach_the_client_page_and_the_pdf(
    qtbot: Any, window, store: RecordStore, tmp_path: Path
) -> None:
    assert prepare_demo_visit(window, "toning")
    treat_in_full(qtbot, window)
    page = to_follow_up(window)
    tick(page, Reaction.REDNESS, 1, 2)  # mild, faded within minutes
    tick(page, Reaction.TINGLING, 2, 1)  # moderate, only during the treatment
    page.notes.setPlainText("Redness on the left cheek, gone before she left.")
    day = date.today() + timedelta(days=10)
    page.next_appointment.setDate(QtCore.QDate(day))
    qtbot.mouseClick(page.save_button, QtCore.Qt.MouseButton.LeftButton)
    assert page.message.text().startswith("✓ Follow-up saved at")
    assert page.message.property("level") == "ok"

    client_id = int(window.visit.client.reference)
    (plan,) = store.client(client_id).follow_ups
    assert plan.due_on == day and plan.due_at is None  # a day, not a moment
    shown = client_page_text(window, client_id)
    assert "Redness — mild, faded within minutes" in shown
    assert "Tingling — moderate, only during the treatment" in shown
    assert "Notes: Redness on the left cheek, gone before she left." in shown
    assert f"Next appointment: {day:%A} {day.day} {day:%B %Y}" in shown
    assert f"next appointment {day:%A}" in window.records.details_label.text()

    path = tmp_path / "report.pdf"
    write_session_pdf(store.session(window.archive.session_id), store.client(client_id), path)
    text = pdf_text(path)
    assert "Redness — mild, faded within minutes" in text
    assert "Tingling — moderate, only during the treatment" in text
    assert "Notes: Redness on the left cheek, gone before she left." in text
    assert f"Next appointment: {day:%A} {day.day} {day:%B %Y}" in text


def test_saving_the_follow_up_again_updates_it_instead_of_adding_another(
    qtbot: Any, window, store: RecordStore
) -> None:
    assert prepare_demo_visit(window, "toning")
    treat_in_full(qtbot, window)
    page = to_follow_up(window)
    tick(page, Reaction.REDNESS, 1, 2)
    page.notes.setPlainText("First words")
    qtbot.mouseClick(page.save_button, QtCore.Qt.MouseButton.LeftButton)
    client_id = int(window.visit.client.reference)
    assert len(store.client(client_id).notes) == 1

    page.no_reaction.setChecked(True)  # on second thought: it was the gel's coolness
    page.notes.setPlainText("Corrected: no redness")
    page.not_booked.setChecked(True)  # and she will call to book
    qtbot.mouseClick(page.save_button, QtCore.Qt.MouseButton.LeftButton)
    assert page.message.text().startswith("✓ Follow-up updated at")
    record = store.client(client_id)
    (note,) = record.notes
    assert note.text == "Corrected: no redness" and note.reactions == ()
    assert note.session_id == window.archive.session_id
    assert record.follow_ups == ()  # the appointment booked first is withdrawn
    assert "Reactions: none seen" in client_page_text(window, client_id)


def test_a_refused_save_says_so_in_red_and_records_nothing(
    qtbot: Any, window, store: RecordStore
) -> None:
    assert prepare_demo_visit(window, "toning")
    treat_in_full(qtbot, window)
    page = to_follow_up(window)
    qtbot.mouseClick(page.save_button, QtCore.Qt.MouseButton.LeftButton)  # nothing chosen
    assert f"or “{NO_REACTION}”" in page.message.text()
    assert "Nothing was saved" in page.message.text()
    assert page.message.property("level") == "danger"
    page.reactions[Reaction.REDNESS].setChecked(True)
    qtbot.mouseClick(page.save_button, QtCore.Qt.MouseButton.LeftButton)
    assert "Redness: choose how strong it was and how long it lasted" in page.message.text()
    assert window.visit.follow_up.recorded_at is None
    assert store.client(int(window.visit.client.reference)).notes == ()


# -- the follow-up page itself ------------------------------------------------------------------------


def page_alone(qtbot: Any) -> FollowUpPage:
    page = FollowUpPage(Visit(Client("Clara Vogt"), "Dana"))
    qtbot.addWidget(page)
    page.resize(1000, 800)
    page.show()
    qtbot.waitExposed(page)
    return page


def test_no_reaction_and_a_reaction_exclude_each_other(qtbot: Any) -> None:
    page = page_alone(qtbot)
    tick(page, Reaction.REDNESS, 1, 1)
    page.reactions[Reaction.HEADACHE].setChecked(True)
    page.no_reaction.setChecked(True)
    assert not any(box.isChecked() for box in page.reactions.values())
    assert not page.severities[Reaction.REDNESS].isEnabled()
    page.reactions[Reaction.TINGLING].setChecked(True)
    assert not page.no_reaction.isChecked()
    assert page.severities[Reaction.TINGLING].isEnabled()


def test_the_next_appointment_is_a_day_from_the_course_never_in_the_past(
    qtbot: Any,
) -> None:
    page = page_alone(qtbot)
    assert isinstance(page.next_appointment, QtWidgets.QDateEdit)
    assert page.next_appointment.calendarPopup()
    tomorrow = date.today() + timedelta(days=1)
    assert page.next_appointment.minimumDate().toPython() == tomorrow
    page.next_appointment.setDate(QtCore.QDate(date.today() - timedelta(days=3)))
    assert page.appointment_day == tomorrow  # clamped: no past day can be chosen

    fresh = page_alone(qtbot)
    lifting = load_plugins().protocols["lifting"]  # a course of 2 a week
    assert lifting.series.sessions_per_week == 2
    fresh.show_course(lifting)
    assert fresh.appointment_day == date.today() + timedelta(days=4)
    assert "In 4 days, " in fresh.appointment_hint.text()
    assert "2 a week" in fresh.appointment_hint.text()
    # A day the operator picked is not moved by a later suggestion.
    fresh.next_appointment.setDate(QtCore.QDate(date.today() + timedelta(days=9)))
    fresh.show_course(lifting)
    assert fresh.appointment_day == date.today() + timedelta(days=9)
    fresh.not_booked.setChecked(True)
    assert fresh.appointment_day is None and not fresh.next_appointment.isEnabled()


def test_hands_busy_tab_moves_on_from_the_notes_and_targets_are_large(qtbot: Any) -> None:
    page = page_alone(qtbot)
    assert page.notes.tabChangesFocus()
    page.notes.setFocus()
    qtbot.waitUntil(page.notes.hasFocus)
    qtbot.keyClick(page.notes, QtCore.Qt.Key.Key_Tab)
    assert "\t" not in page.notes.toPlainText()
    assert not page.notes.hasFocus()
    targets: list[QtWidgets.QWidget] = [
        page.no_reaction,
        page.not_booked,
        page.next_appointment,
        page.save_button,
        page.aftercare_button,
        *page.reactions.values(),
        *page.severities.values(),
        *page.durations.values(),
    ]
    small = [w.accessibleName() or w.objectName() or type(w).__name__ for w in targets]
    small = [name for w, name in zip(targets, small, strict=True) if w.height() < TARGET_PX - 2]
    assert not small, small
    # A press on a tick box's row, off its box and text, still ticks it (gloves land wide).
    box = page.reactions[Reaction.IRRITATION]
    corner = QtCore.QPoint(box.width() - 2, box.height() - 2)
    qtbot.mouseClick(box, QtCore.Qt.MouseButton.LeftButton, pos=corner)
    assert box.isChecked()


# -- a new session after a stop ---------------------------------------------------------------------


def test_after_an_emergency_stop_the_same_client_may_be_treated_again(
    qtbot: Any, window, store: RecordStore
) -> None:
    assert prepare_demo_visit(window, "toning", client="Dora Brandt")
    window.start_session()
    first_engine = window.engine
    assert first_engine is not None
    window.clock.run_until(3.0)
    qtbot.waitUntil(lambda: first_engine.step_index >= 0, timeout=5000)
    window.emergency_stop()
    qtbot.waitUntil(lambda: window.visit.application is not None, timeout=5000)
    assert window.visit.may_treat_again
    first = window.archive.session_id
    qtbot.waitUntil(lambda: window.controls.start_button.isEnabled(), timeout=5000)

    window.start_session()  # asks first; the recorded boxes answer Yes
    assert window.dialogs[-1][0] == "New session"
    assert "stays in the records" in window.dialogs[-1][1]
    second_engine = window.engine
    assert second_engine is not first_engine and second_engine is not None
    assert window.archive.session_id != first
    window.clock.release()
    qtbot.waitUntil(lambda: second_engine.state is EngineState.FINISHED, timeout=30000)
    qtbot.waitUntil(lambda: window.visit.application_ended_cleanly, timeout=5000)

    client_id = int(window.visit.client.reference)
    qtbot.waitUntil(
        lambda: {s.state for s in store.client(client_id).sessions} == {"aborted", "finished"},
        timeout=5000,
    )
    record = store.client(client_id)
    assert len(record.sessions) == 2
    assert len(record.screenings) == 1  # one screening for the visit's two sessions
    # A finished session is not run twice in one visit.
    window.start_session()
    assert window.dialogs[-1][0] == "Already treated"
    assert window.engine is second_engine
