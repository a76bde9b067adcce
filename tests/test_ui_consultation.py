"""The consultation page as a practitioner uses it (pytest-qt, offscreen): the screening's verdict
at the top and on every question's row, messages only once they apply, requirements said before
input, and hands-busy use (Tab, Space, large targets)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from PySide6 import QtCore, QtWidgets

from console.screening import MIN_OVERRIDE_REASON, Screening, contraindications
from console.ui.app import make_application
from console.ui.consultation_page import ConsultationPage
from console.ui.screening_form import QUESTION_GROUPS, grouped_questions, row_outcome
from console.ui.workflow_panel import WorkflowPanel, new_visit, stage_message
from console.workflow import CLEANSING_CHECKLIST, Stage, Visit

TOTAL = len(contraindications())


@pytest.fixture
def panel(qtbot) -> Iterator[WorkflowPanel]:  # type: ignore[no-untyped-def]
    """The workflow panel over a new client's visit, themed and shown at a clinic size."""
    make_application()
    workflow = WorkflowPanel(new_visit("Anna Berg"), {})
    qtbot.addWidget(workflow)
    workflow.resize(700, 760)
    workflow.show()
    qtbot.waitExposed(workflow)
    yield workflow


def _fill_client(page: ConsultationPage) -> None:
    page.name.setText("Maria Rossi")
    page.date_of_birth.setText("1984-03-09")


def _answer_all_no(page: ConsultationPage) -> None:
    for _yes, no in page.answers.values():
        no.setChecked(True)


def _outcomes(page: ConsultationPage) -> set[str]:
    return {label.text() for label in page.outcomes.values()}


@pytest.mark.timeout(60)
def test_a_new_client_is_greeted_calmly_not_with_a_list(panel: WorkflowPanel) -> None:
    page = panel.consultation
    assert panel.blockers.text() == f"Before Cleansing: answer the screening (0 of {TOTAL})."
    assert panel.blockers.property("level") == "info"
    assert "Screening not complete — 0 of" in page.verdict.text()
    assert page.verdict.property("level") == "info"
    assert _outcomes(page) == {""}  # no question says anything before it is asked
    assert not page.name_error.isVisible()
    # Requirements said before anything is typed: the date's format, and consent needs a name.
    assert "YYYY-MM-DD" in page.age.text() and page.age.isVisible()
    assert page.date_of_birth.placeholderText() == "YYYY-MM-DD"
    assert not page.consent.isEnabled()
    assert "name" in page.consent_note.text()


@pytest.mark.timeout(60)
def test_the_verdict_sits_above_the_page_and_the_screening_is_not_a_nested_scroll(
    panel: WorkflowPanel,
) -> None:
    page = panel.consultation
    body = page.scroll.widget()
    assert not body.isAncestorOf(page.verdict)  # stays in view while the page scrolls
    assert page.verdict.geometry().top() < page.scroll.geometry().top()
    # One scroll area: the page's. The questions are not boxed in a scroll area of their own.
    assert body.findChildren(QtWidgets.QScrollArea) == []
    # Grouped by topic, every shipped question in a group of its own choosing.
    placed = [cid for _title, ids in QUESTION_GROUPS for cid in ids]
    assert sorted(placed) == sorted(contraindications())
    assert [title for title, _ in grouped_questions()] == [t for t, _ in QUESTION_GROUPS]
    headings = [w.text() for w in body.findChildren(QtWidgets.QLabel, "screeningGroup")]
    assert headings == [t for t, _ in QUESTION_GROUPS]


@pytest.mark.timeout(60)
def test_the_verdict_and_each_row_follow_the_answers(panel: WorkflowPanel) -> None:
    page = panel.consultation
    _fill_client(page)
    first, second, third = list(page.rows)[:3]
    page.answers[first][1].setChecked(True)
    assert page.outcomes[first].text() == "✓ no"
    assert f"1 of {TOTAL} answered" in page.verdict.text()
    # A question left behind is marked once a later one is answered; later ones are not.
    page.answers[third][1].setChecked(True)
    assert page.outcomes[second].text() == "not answered"
    assert page.rows[second].property("outcome") == "missing"
    assert page.outcomes[list(page.rows)[3]].text() == ""

    _answer_all_no(page)
    assert "Clear to treat" in page.verdict.text()
    assert page.verdict.property("level") == "ok"
    assert _outcomes(page) == {"✓ no"}

    page.answers["pregnancy"][0].setChecked(True)
    assert "Do not treat — Pregnant, or could be pregnant" in page.verdict.text()
    assert page.verdict.property("level") == "danger"
    assert page.outcomes["pregnancy"].text() == "✖ do not treat"
    assert page.rows["pregnancy"].property("outcome") == "danger"
    assert panel.blockers.property("level") == "danger"
    assert "do not treat — Pregnant" in panel.blockers.text()

    page.answers["pregnancy"][1].setChecked(True)
    page.answers["body_worn_devices"][0].setChecked(True)  # relative: needs a decision
    assert "Treat with care — Insulin pump" in page.verdict.text()
    assert page.verdict.property("level") == "warning"
    assert page.outcomes["body_worn_devices"].text() == "⚠ your decision"
    assert page.override_buttons["body_worn_devices"].isVisible()
    assert page.override_buttons["body_worn_devices"].isEnabled()


@pytest.mark.timeout(60)
def test_a_time_limited_yes_asks_its_date_then_says_until_when(panel: WorkflowPanel) -> None:
    page = panel.consultation
    _fill_client(page)
    _answer_all_no(page)
    field = page.dates["thread_lift"]
    assert not field.isVisible()  # no date field before a yes
    page.answers["thread_lift"][0].setChecked(True)
    assert field.isVisible() and field.isEnabled()
    assert page.outcomes["thread_lift"].text() == "needs a date"
    note = page.date_notes["thread_lift"].text()
    assert "as YYYY-MM-DD" in note and "3-month wait" in note  # format before typing
    field.setText("2026-0")  # half typed: no complaint yet
    assert page.outcomes["thread_lift"].text() == "needs a date"
    on = date.today() - timedelta(days=10)
    field.setText(on.isoformat())
    until = visit_until(page.visit, "thread_lift")
    assert page.outcomes["thread_lift"].text() == f"⚠ wait until {until.isoformat()}"
    assert f"Wait until {until.isoformat()}" in page.verdict.text()
    field.setText((date.today() + timedelta(days=2)).isoformat())
    assert page.outcomes["thread_lift"].text() == "⚠ check the date"
    assert "in the future" in page.date_notes["thread_lift"].text()


def visit_until(visit: Visit, cid: str) -> date:
    timed = visit.screening_result.timed_answer(cid)
    assert timed is not None
    return timed.until


@pytest.mark.timeout(60)
def test_the_stage_bar_names_needs_once_few_or_once_the_user_tries(
    qtbot, panel: WorkflowPanel
) -> None:
    page = panel.consultation
    assert not panel.go_to(Stage.CLEANSING)  # tried on an empty form
    text = panel.blockers.text()
    assert text.startswith("Cleansing cannot start yet — still needed: the client's name")
    assert f"{TOTAL} unanswered questions" in text and "(marked on the page)" in text
    assert len(text) < 200  # counted, not a list of every question
    assert panel.blockers.property("level") == "warning"
    assert _outcomes(page) == {"not answered"}
    assert page.verdict.property("level") == "info"
    qtbot.waitUntil(lambda: QtWidgets.QApplication.focusWidget() is page.name, timeout=2000)

    _fill_client(page)
    _answer_all_no(page)
    assert panel.blockers.text() == (
        "Cleansing cannot start yet — still needed: the client's consent (marked on the page)."
    )
    page.consent.setChecked(True)
    assert panel.blockers.text().startswith("Ready for Cleansing")
    assert panel.next_button.isEnabled()
    assert panel.go_to(Stage.CLEANSING)
    assert panel.blockers.text() == "Before Application: tick the cleansing checklist (0 of 5)."
    for item in CLEANSING_CHECKLIST[:3]:
        panel.cleansing.boxes[item].setChecked(True)
    assert panel.blockers.text() == (
        f"Before Application: cleansing not finished: {'; '.join(CLEANSING_CHECKLIST[3:])}."
    )


def test_stage_messages_for_a_screened_client_without_consent() -> None:
    visit = new_visit("Anna Berg")
    visit.client.name = "Maria Rossi"
    visit.screening = Screening.all_clear("Anna Berg")
    assert stage_message(visit, Stage.CLEANSING) == (
        "Before Cleansing: the client's consent.",
        "info",
    )
    visit.screening.answers.pop("epilepsy")
    visit.screening.answer("fillers_or_botox", True)
    assert stage_message(visit, Stage.CLEANSING)[0] == (
        f"Before Cleansing: answer the screening ({TOTAL - 1} of {TOTAL})."
    )
    assert stage_message(visit, Stage.CLEANSING, tried=True)[0] == (
        "Cleansing cannot start yet — still needed: 1 unanswered question, 1 date and the "
        "client's consent (marked on the page)."
    )


@pytest.mark.timeout(60)
def test_the_override_says_its_minimum_first_counts_and_records_only_when_valid(
    qtbot, panel: WorkflowPanel
) -> None:
    page = panel.consultation
    _fill_client(page)
    _answer_all_no(page)
    page.answers["skin_sensitivity"][0].setChecked(True)
    qtbot.mouseClick(page.override_buttons["skin_sensitivity"], QtCore.Qt.MouseButton.LeftButton)
    dialog = page.override_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.windowModality() is QtCore.Qt.WindowModality.NonModal  # the stop stays reachable
    said = " ".join(label.text() for label in dialog.findChildren(QtWidgets.QLabel))
    assert f"at least {MIN_OVERRIDE_REASON} characters" in said  # before anything is typed
    assert not dialog.ok.isEnabled()
    assert dialog.practitioner.text() == "Anna Berg"
    dialog.reason.setPlainText("Patch test")  # 10 characters
    assert dialog.counter.text().startswith("10 characters ✓")
    assert dialog.ok.isEnabled()
    dialog.reason.setPlainText("GP ok")
    assert (
        dialog.counter.text() == f"5 of at least {MIN_OVERRIDE_REASON} characters — 5 more needed."
    )
    assert not dialog.ok.isEnabled()
    dialog.reason.setPlainText("Patch test on 1 March: no reaction")
    dialog.practitioner.clear()
    assert not dialog.ok.isEnabled() and "name" in dialog.counter.text()
    dialog.practitioner.setText("Dr. Senior")
    qtbot.mouseClick(dialog.ok, QtCore.Qt.MouseButton.LeftButton)
    override = page.visit.screening.overrides["skin_sensitivity"]
    assert (override.practitioner, override.reason) == (
        "Dr. Senior",
        "Patch test on 1 March: no reaction",
    )
    assert page.outcomes["skin_sensitivity"].text() == "✓ overridden"
    assert "Clear to treat, with care" in page.verdict.text()


@pytest.mark.timeout(60)
def test_hands_busy_tab_space_and_large_targets(qtbot, panel: WorkflowPanel) -> None:
    page = panel.consultation
    panel.activateWindow()
    qtbot.waitUntil(lambda: panel.isActiveWindow(), timeout=2000)
    # Tab in Goals moves on instead of typing a tab.
    page.goals.setFocus()
    qtbot.keyClick(page.goals, QtCore.Qt.Key.Key_Tab)
    assert "\t" not in page.goals.toPlainText()
    assert QtWidgets.QApplication.focusWidget() is not page.goals
    # Space chooses a focused answer, and ticks a focused box.
    yes, no = page.answers["epilepsy"]
    no.setFocus()
    qtbot.keyClick(no, QtCore.Qt.Key.Key_Space)
    assert no.isChecked() and page.visit.screening.answers["epilepsy"] is False
    page.name.setText("Maria Rossi")
    page.consent.setFocus()
    qtbot.keyClick(page.consent, QtCore.Qt.Key.Key_Space)
    assert page.consent.isChecked() and page.visit.consent_by == "Maria Rossi"
    # Gloved hands: tall targets that answer wherever they are pressed, not only on the dot.
    for button in (yes, no, page.consent):
        assert button.height() >= 34, button.text()
    corner = QtCore.QPoint(yes.width() - 3, yes.height() - 3)
    qtbot.mouseClick(yes, QtCore.Qt.MouseButton.LeftButton, pos=corner)
    assert yes.isChecked() and page.visit.screening.answers["epilepsy"] is True
    qtbot.mouseClick(
        page.consent,
        QtCore.Qt.MouseButton.LeftButton,
        pos=QtCore.QPoint(page.consent.width() - 3, 3),
    )
    assert not page.consent.isChecked() and page.visit.consent_by is None


@pytest.mark.timeout(60)
def test_a_screening_put_in_place_shows_on_the_buttons(panel: WorkflowPanel) -> None:
    """A scenario or a demonstration puts a whole screening in place: the rows follow it."""
    page = panel.consultation
    page.visit.screening = Screening.all_clear("Trainer")
    page.refresh()
    assert all(no.isChecked() and not yes.isChecked() for yes, no in page.answers.values())
    assert _outcomes(page) == {"✓ no"}


def test_row_outcomes_in_words() -> None:
    items = contraindications()
    screening = Screening.all_clear("Anna Berg")
    screening.answers.pop("epilepsy")
    result = screening.evaluate()
    assert row_outcome(items["epilepsy"], screening, result) == ("", "none")
    assert row_outcome(items["epilepsy"], screening, result, flag_unanswered=True) == (
        "not answered",
        "missing",
    )
    screening.answer("retinoids", True, date.today() - timedelta(days=40))
    result = screening.evaluate()
    assert row_outcome(items["retinoids"], screening, result) == ("✓ wait over", "ok")


@pytest.mark.timeout(60)
def test_a_narrow_panel_keeps_every_stage_and_question_without_sideways_scrolling(
    qtbot, panel: WorkflowPanel
) -> None:
    """On a 1280 px screen the panel gets under 600 px: the stepper shortens its names and the
    form wraps rather than scrolling sideways."""
    panel.resize(600, 760)
    qtbot.waitUntil(lambda: panel.width() == 600, timeout=2000)
    assert panel.minimumSizeHint().width() <= 600
    assert [b.text() for b in panel.stage_buttons][:2] == ["1 Consult", "2 Cleanse"]
    page = panel.consultation
    page.answers["fillers_or_botox"][0].setChecked(True)  # the widest row: date and override
    qtbot.wait(50)
    assert not page.scroll.horizontalScrollBar().isVisible()
    panel.resize(900, 760)
    qtbot.waitUntil(lambda: panel.stage_buttons[0].text() == "1 Consultation", timeout=2000)


def test_the_verdict_keeps_its_height_so_the_questions_do_not_jump(qtbot, panel) -> None:
    page = panel.consultation
    heights = []

    def settle() -> None:
        qtbot.wait(20)
        heights.append(page.verdict.height())

    settle()  # untouched: "not complete — 0 of N answered"
    _fill_client(page)
    _answer_all_no(page)
    settle()  # clear to treat
    page.answers["pregnancy"][0].setChecked(True)
    settle()  # do not treat, with its reason
    page.answers["pregnancy"][1].setChecked(True)
    page.answers["body_worn_devices"][0].setChecked(True)
    settle()  # treat with care, with what to do
    assert len(set(heights)) == 1, heights
