"""Aftercare (issue 14, item 5): reactions recorded with how strong and how long, kept in the
records (older notes with names only still read), shown in the session report; and the client's
aftercare sheet — what to expect, what to avoid for a day, when to call, the next appointment and
the course — as a one-page PDF made from the follow-up stage.

Covers ``console/workflow.py`` (reactions), ``console/records/store.py`` (notes),
``console/records/reports.py``, ``console/records/aftercare.py``,
``console/records/visit_archive.py`` and the follow-up page (``console/ui/followup_page.py``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import text

from console.course import CourseStatus
from console.protocols import RecommendedSeries
from console.records.aftercare import (
    AFTERCARE_TITLE,
    CALL_AFTER_HOURS,
    AftercareSheet,
    aftercare_for_visit,
    aftercare_html,
    course_after_visit,
    suggested_next_appointment,
    write_aftercare_pdf,
)
from console.records.reports import write_session_pdf
from console.records.store import FieldError, ReactionRow, RecordStore
from console.records.visit_archive import VisitArchive
from console.screening import Screening
from console.workflow import (
    Client,
    ObservedReaction,
    Reaction,
    ReactionDuration,
    ReactionSeverity,
    Visit,
)
from records_support import record_short_session
from support import make_protocol

#: The PDFs need a QApplication (the widget test does, not the plain QGuiApplication a report
#: makes for a headless caller): pytest-qt's, made first.
pytestmark = pytest.mark.usefixtures("qapp")

REDNESS = ObservedReaction(Reaction.REDNESS, ReactionSeverity.MILD, ReactionDuration.MINUTES)
IRRITATION = ObservedReaction(
    Reaction.IRRITATION, ReactionSeverity.MODERATE, ReactionDuration.STILL_PRESENT
)


def pdf_text(path: Path) -> tuple[int, str]:
    """(pages, text of every page) with whitespace collapsed."""
    reader = PdfReader(path)
    found = " ".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), re.sub(r"\s+", " ", unicodedata.normalize("NFKC", found))


def followed_up_visit(reactions: list[ObservedReaction], when: datetime | None = None) -> Visit:
    visit = Visit(Client("Élodie Martin"), practitioner="Dana Weber")
    visit.screening = Screening.all_clear("Dana Weber")
    visit.record_follow_up(reactions, "Redness on the right cheek", when)
    return visit


# -- reactions in the records --------------------------------------------------------------------


def test_reactions_are_kept_with_their_severity_and_duration(store: RecordStore) -> None:
    client_id = store.add_client("Nora Lind", "Dana")
    store.add_note(
        client_id,
        "Dana",
        [
            ReactionRow("tingling", "mild", "only during the treatment"),
            ReactionRow("redness", "moderate", "still present at the end of the visit"),
        ],
        "Red along the jaw when she left",
    )
    (note,) = store.client(client_id).notes
    assert note.reactions == (
        ReactionRow("redness", "moderate", "still present at the end of the visit"),
        ReactionRow("tingling", "mild", "only during the treatment"),
    )
    assert [r.describe() for r in note.reactions] == [
        "redness — moderate, still present at the end of the visit",
        "tingling — mild, only during the treatment",
    ]


def test_notes_recorded_with_reaction_names_only_are_still_read(store: RecordStore) -> None:
    client_id = store.add_client("Old Note", "Dana")
    store.add_note(client_id, "Dana", ["redness"], "as an older console wrote it")
    with store.engine.begin() as connection:  # and exactly as it is in an older database
        connection.execute(text("""UPDATE notes SET reactions = '["redness", "tingling"]'"""))
    (note,) = store.client(client_id).notes
    assert note.reactions == (ReactionRow("redness"), ReactionRow("tingling"))
    assert note.reactions[0].describe() == "redness"


def test_a_reaction_of_an_unknown_severity_is_refused(store: RecordStore) -> None:
    client_id = store.add_client("Some One", "Dana")
    with pytest.raises(FieldError, match="severity 'awful' is not one of mild, moderate"):
        store.add_note(client_id, "Dana", [ReactionRow("redness", "awful", "lasted hours")], "")
    assert store.client(client_id).notes == ()


def test_the_visit_archive_writes_what_the_follow_up_recorded(store: RecordStore) -> None:
    archive = VisitArchive(store)
    visit = Visit(Client("Ines Vidal"), practitioner="Dana")
    archive.follow(visit)
    visit.client.reference = str(archive.client_id(visit))
    visit.record_follow_up([REDNESS, IRRITATION], "fine otherwise", None)
    (note,) = store.client(int(visit.client.reference)).notes
    assert [r.describe() for r in note.reactions] == [
        "irritation — moderate, still present at the end of the visit",
        "redness — mild, faded within minutes",
    ]


def test_the_session_report_shows_how_strong_and_how_long(
    store: RecordStore, tmp_path: Path
) -> None:
    client_id = store.add_client("Report Client", "Dana")
    session_id = record_short_session(store, client_id, "Dana")
    store.add_note(
        client_id,
        "Dana",
        [ReactionRow("redness", "mild", "faded within minutes")],
        "Gone before she left",
        session_id,
    )
    client = store.client(client_id)
    path = tmp_path / "report.pdf"
    write_session_pdf(client.sessions[0], client, path)
    _pages, found = pdf_text(path)
    assert "Reactions seen:" in found
    assert "Redness — mild, faded within minutes" in found
    assert "Notes: Gone before she left" in found


# -- the course, this visit counted --------------------------------------------------------------


def test_the_course_counts_this_visit_s_session_before_its_end_reaches_the_records(
    store: RecordStore,
) -> None:
    protocol = make_protocol()
    client_id = store.add_client("Course Client", "Dana")
    session_id = record_short_session(store, client_id, "Dana")
    row = replace(store.client(client_id).sessions[0], simulated=False)
    start = row.started_at
    earlier = [
        replace(row, id=f"earlier{n}", started_at=start - timedelta(days=4 * n), state="finished")
        for n in (1, 2)
    ]
    running = replace(row, id=session_id, state="running")
    protocols = {protocol.id: protocol}

    cleanly = course_after_visit([running, *earlier], protocols, session_id, True)
    assert (cleanly.done, cleanly.not_counted) == (3, 0)
    assert "3 of" in cleanly.text
    stopped = course_after_visit([running, *earlier], protocols, session_id, False)
    assert (stopped.done, stopped.not_counted) == (2, 1)
    # Another session still running is not this visit's: it is left as it is.
    other = course_after_visit([running, *earlier], protocols, "someone-else", True)
    assert other.done == 2


# -- the aftercare sheet -------------------------------------------------------------------------


def test_the_sheet_of_a_visit_carries_its_reactions_appointment_and_course() -> None:
    when = datetime.now(UTC) + timedelta(days=7)
    visit = followed_up_visit([REDNESS, IRRITATION], when)
    course = CourseStatus("Lifting: 3 of 10 sessions done (2 a week)", 3)
    sheet = aftercare_for_visit(visit, make_protocol(), course)
    assert sheet == AftercareSheet(
        client="Élodie Martin",
        treated_at=visit.follow_up.recorded_at,
        practitioner="Dana Weber",
        protocol="Test protocol",
        reactions=(
            "redness — mild, faded within minutes",
            "irritation — moderate, still present at the end of the visit",
        ),
        lingering=("irritation",),
        next_appointment=when,
        course="Lifting: 3 of 10 sessions done (2 a week)",
    )


def test_the_aftercare_pdf_is_one_page_with_the_advice_the_appointment_and_the_course(
    tmp_path: Path,
) -> None:
    when = (datetime.now() + timedelta(days=7)).replace(hour=14, minute=30).astimezone(UTC)
    visit = followed_up_visit([REDNESS, IRRITATION], when)
    course = CourseStatus(
        "Lifting: 3 of 10 sessions done (2 a week), then maintenance every 4–6 weeks", 3
    )
    sheet = aftercare_for_visit(visit, make_protocol(), course, contact="+49 30 5550142")
    path = tmp_path / "aftercare.pdf"
    assert write_aftercare_pdf(sheet, path) == []
    assert path.read_bytes().startswith(b"%PDF-")
    assert PdfReader(path).metadata.title == AFTERCARE_TITLE

    pages, found = pdf_text(path)
    assert pages == 1
    for expected in (
        AFTERCARE_TITLE,
        "For Élodie Martin",
        "with Dana Weber",
        # what to expect
        "What to expect",
        "Some redness or warmth where the probes worked is common and usually fades within a "
        "few hours.",
        # what to avoid for the next day
        "For the next 24 hours, please avoid",
        "Heavy exercise, saunas, steam rooms",
        "retinoids (retinol, tretinoin), exfoliating acids (AHA, BHA) and scrubs",
        "sunscreen of SPF 30 or higher",
        # when to call
        "Please contact us if you notice",
        f"lasts longer than {CALL_AFTER_HOURS} hours",
        "Blisters, a burn mark",
        "call your local emergency number",
        "Contact: +49 30 5550142",
        # this visit
        "Redness — mild, faded within minutes.",
        "Irritation — moderate, still present at the end of the visit.",
        "Still there when you left: irritation.",
        # next appointment and course
        "Your next appointment",
        when.astimezone().strftime("%A %d %B %Y at 14:30"),
        "Your course",
        "Lifting: 3 of 10 sessions done (2 a week), then maintenance every 4–6 weeks.",
        "it does not replace a doctor's advice",
    ):
        assert expected in found, expected
    # Modest: no promise of a result.
    for claim in ("guarantee", "will lift", "permanent", "cure"):
        assert claim not in found.lower()


def test_a_sheet_without_reactions_appointment_or_course_says_so(tmp_path: Path) -> None:
    sheet = aftercare_for_visit(followed_up_visit([]), None)
    markup = aftercare_html(sheet)
    assert "No reaction was seen during or after your treatment." in markup
    assert "Not booked yet: please contact us to book your next session." in markup
    assert "Your course" not in markup
    assert "Clinic phone: ____" in markup  # a line to write the number on
    path = tmp_path / "plain.pdf"
    write_aftercare_pdf(sheet, path)
    assert pdf_text(path)[0] == 1


def test_a_severe_reaction_still_present_asks_the_client_to_call_today() -> None:
    severe = ObservedReaction(
        Reaction.REDNESS, ReactionSeverity.SEVERE, ReactionDuration.STILL_PRESENT
    )
    sheet = aftercare_for_visit(followed_up_visit([severe]), None)
    assert sheet.lingering_severe is True
    markup = aftercare_html(sheet)
    assert "Please contact us today if it has not eased within a few hours" in markup
    assert "It should fade within hours" not in markup


def test_recorded_text_is_escaped_in_the_sheet() -> None:
    visit = followed_up_visit([])
    visit.client.name = "<b>Ann & Co</b>"
    markup = aftercare_html(aftercare_for_visit(visit, None))
    assert "&lt;b&gt;Ann &amp; Co&lt;/b&gt;" in markup
    assert "<b>Ann" not in markup


def test_an_unwritable_path_is_a_plain_error(tmp_path: Path) -> None:
    sheet = aftercare_for_visit(followed_up_visit([]), None)
    with pytest.raises(OSError, match="cannot write the aftercare sheet"):
        write_aftercare_pdf(sheet, tmp_path / "no-such-folder" / "a.pdf")


# -- the follow-up page --------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_the_follow_up_page_records_reactions_and_makes_the_aftercare_sheet(
    qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6 import QtCore

    from console.ui import dialogs
    from console.ui.followup_page import FollowUpPage

    visit = Visit(Client("Maria Rossi"), practitioner="Anna Berg")
    page = FollowUpPage(visit)
    qtbot.addWidget(page)
    page.resize(900, 640)
    page.show()
    qtbot.waitExposed(page)
    page.show_course(make_protocol())
    page.course_provider = lambda: CourseStatus("Test protocol: 4 of 10 sessions done", 4)
    assert not page.aftercare_button.isEnabled()

    box = page.reactions[Reaction.REDNESS]
    assert not page.severities[Reaction.REDNESS].isEnabled()
    box.setChecked(True)
    assert page.severities[Reaction.REDNESS].isEnabled()
    assert page.durations[Reaction.REDNESS].isEnabled()
    qtbot.mouseClick(page.save_button, QtCore.Qt.MouseButton.LeftButton)
    assert page.message.text() == (
        "Redness: choose how strong it was and how long it lasted. Nothing was saved."
    )
    assert visit.follow_up.recorded_at is None

    page.severities[Reaction.REDNESS].setCurrentIndex(
        page.severities[Reaction.REDNESS].findData(ReactionSeverity.MODERATE)
    )
    page.durations[Reaction.REDNESS].setCurrentIndex(
        page.durations[Reaction.REDNESS].findData(ReactionDuration.STILL_PRESENT)
    )
    page.notes.setPlainText("Redness along the jaw line.")
    qtbot.mouseClick(page.save_button, QtCore.Qt.MouseButton.LeftButton)
    assert page.message.text().startswith("✓ Follow-up saved at")
    assert [r.describe() for r in visit.follow_up.reactions] == [
        "redness — moderate, still present at the end of the visit"
    ]
    assert page.aftercare_button.isEnabled()
    page.grab().save(str(tmp_path / "follow-up.png"))

    target = tmp_path / "aftercare.pdf"
    monkeypatch.setattr(dialogs, "choose_save_file", lambda *a, **_k: a[-1](target))
    qtbot.mouseClick(page.aftercare_button, QtCore.Qt.MouseButton.LeftButton)
    assert page.message.text() == f"✓ Aftercare sheet saved to {target}."
    pages, found = pdf_text(target)
    assert pages == 1
    assert "For Maria Rossi" in found
    assert "Still there when you left: redness." in found
    assert "Test protocol: 4 of 10 sessions done." in found
    day = visit.follow_up.next_appointment
    assert day == page.appointment_day and day is not None  # a day, as the page offered it
    assert f"{day:%A} {day.day} {day:%B %Y}" in found


# -- the next appointment's day ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("per_week", "days"),
    [(2, 4), (1, 7), (3, 2), (0.5, 14), (7, 1)],
)
def test_the_suggested_appointment_follows_the_course_s_spacing(per_week: float, days: int) -> None:
    today = date(2026, 3, 2)
    series = RecommendedSeries(per_week, 10, (4, 6))
    assert suggested_next_appointment(series, today) == today + timedelta(days=days)
    halfway = CourseStatus("5 of 10", 5)
    assert suggested_next_appointment(series, today, halfway) == today + timedelta(days=days)


def test_after_the_whole_course_the_suggestion_is_the_first_maintenance_visit() -> None:
    today = date(2026, 3, 2)
    series = RecommendedSeries(2, 10, (4, 6))
    done = CourseStatus("10 of 10", 10)
    assert suggested_next_appointment(series, today, done) == today + timedelta(weeks=4)


def test_an_appointment_day_is_printed_without_a_time(tmp_path: Path) -> None:
    day = date.today() + timedelta(days=4)
    visit = followed_up_visit([], None)
    visit.record_follow_up([], "", day)
    sheet = aftercare_for_visit(visit, make_protocol())
    path = tmp_path / "aftercare.pdf"
    write_aftercare_pdf(sheet, path)
    _pages, found = pdf_text(path)
    assert f"{day:%A} {day.day} {day:%B %Y}" in found
    assert f"{day.day} {day:%B %Y} at" not in found


def test_a_printed_aftercare_sheet_is_in_the_audit_trail_or_not_written(
    qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 20: the sheet is a report of the client's treatment; the window notes it in the
    trail first, and a trail that cannot take it means no sheet."""
    from datetime import datetime

    from console.ui import dialogs
    from console.ui.followup_page import FollowUpPage

    visit = Visit(Client("Maria Rossi"), practitioner="Anna Berg")
    visit.follow_up.recorded_at = datetime.now().astimezone()
    page = FollowUpPage(visit)
    qtbot.addWidget(page)
    page.show_course(make_protocol())
    noted: list[str] = []
    answer = [False]

    def auditor(detail: str) -> bool:
        noted.append(detail)
        return answer[0]

    page.report_auditor = auditor
    target = tmp_path / "aftercare.pdf"
    monkeypatch.setattr(dialogs, "choose_save_file", lambda *a, **_k: a[-1](target))
    page.save_aftercare()
    assert noted == ["aftercare sheet"] and not target.exists()
    answer[0] = True
    page.save_aftercare()
    assert noted == ["aftercare sheet"] * 2 and target.read_bytes().startswith(b"%PDF")
