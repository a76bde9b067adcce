"""The consultation stage: the client, goals, the contraindication screening and consent.

The screening's verdict stays in view above the page as it scrolls, and every question shows its
own outcome on its row. Nothing is flagged before it applies: an unanswered question is marked
only once a later one is answered or the practitioner tries to go on.
"""

from __future__ import annotations

import contextlib
import html
from datetime import date

from PySide6 import QtCore, QtWidgets

from console.screening import (
    ADULT_AGE,
    ScreeningError,
    age_on,
    check_date_of_birth,
    contraindications,
)
from console.ui import dialogs
from console.ui.form_fields import DATE_PLACEHOLDER, date_field, parse_date
from console.ui.override_dialog import OverrideDialog
from console.ui.restyle import repolish
from console.ui.screening_form import (
    TARGET_HEIGHT,
    BigCheckBox,
    QuestionRow,
    VerdictBanner,
    fit_date_field,
    grouped_questions,
    row_outcome,
    summarise,
)
from console.workflow import Visit, WorkflowError

#: Said beside the date of birth before anything is typed.
BIRTH_HINT = f"Type as {DATE_PLACEHOLDER}, e.g. 1984-03-09"


class ConsultationPage(QtWidgets.QWidget):
    """Client, date of birth, goals, the contraindication screening with the dates of
    time-limited answers and overrides, and consent."""

    changed = QtCore.Signal()

    def __init__(self, visit: Visit, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.visit = visit
        # Its screening's look is in resources/style.qss, under this name: a sheet of its own
        # would make Qt restyle every widget of the page as the window is put together.
        self.setObjectName("consultationPage")
        #: The practitioner tried to go on: every missing answer is marked, not only skipped ones.
        self.asked_to_go_on = False
        self.override_dialog: OverrideDialog | None = None
        self._date_problems: dict[str, str] = {}

        self.name = QtWidgets.QLineEdit(visit.client.name)
        self.name.setPlaceholderText("First and last name")
        self.name.setToolTip("The client's name, as on their record")
        self.name_error = QtWidgets.QLabel("")
        self.name_error.setObjectName("fieldError")
        self.name_error.hide()
        self.date_of_birth = fit_date_field(date_field())
        self.date_of_birth.setToolTip(
            f"The client's date of birth, as {DATE_PLACEHOLDER}: only adults ({ADULT_AGE} or "
            "over) are treated"
        )
        self.date_of_birth.setAccessibleName("Date of birth")
        self.age = QtWidgets.QLabel(BIRTH_HINT)
        self.age.setObjectName("clientAge")
        self.age.setWordWrap(True)  # a narrow panel (1280 px screens) wraps, never scrolls sideways
        self.age.setProperty("level", "info")
        born_row = QtWidgets.QHBoxLayout()
        born_row.addWidget(self.date_of_birth)
        born_row.addWidget(self.age, 1)
        self.goals = QtWidgets.QPlainTextEdit(visit.client.goals)
        self.goals.setPlaceholderText("e.g. lift the jawline, soften nasolabial folds")
        self.goals.setTabChangesFocus(True)  # Tab moves on to the next field, as in any form
        self.goals.setFixedHeight(2 * self.goals.fontMetrics().lineSpacing() + 16)
        self.practitioner = QtWidgets.QLineEdit(visit.practitioner)
        self.practitioner.setPlaceholderText("Who screens and treats")
        for field in (self.name, self.date_of_birth, self.practitioner):
            field.setMinimumHeight(TARGET_HEIGHT - 4)
        # Two columns where they fit: the client's details take little height, the screening
        # below has the rest of the page.
        form = QtWidgets.QGridLayout()
        form.setHorizontalSpacing(8)
        form.setVerticalSpacing(6)
        form.addWidget(_label("Client", self.name), 0, 0)
        form.addWidget(self.name, 0, 1)
        form.addWidget(_label("Practitioner", self.practitioner), 0, 2)
        form.addWidget(self.practitioner, 0, 3)
        form.addWidget(self.name_error, 1, 1, 1, 3)
        form.addWidget(_label("Date of birth", self.date_of_birth), 2, 0)
        form.addLayout(born_row, 2, 1, 1, 3)
        form.addWidget(_label("Goals", self.goals), 3, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        form.addWidget(self.goals, 3, 1, 1, 3)
        form.setColumnStretch(1, 3)
        form.setColumnStretch(3, 2)

        screening_box = QtWidgets.QGroupBox("Health screening — ask the client every question")
        questions = QtWidgets.QVBoxLayout(screening_box)
        questions.setSpacing(2)
        self.rows: dict[str, QuestionRow] = {}
        for title, items in grouped_questions():
            heading = QtWidgets.QLabel(title)
            heading.setObjectName("screeningGroup")
            heading.setWordWrap(True)
            questions.addWidget(heading)
            for item in items:
                row = QuestionRow(item)
                row.answered.connect(self._answer)
                row.date_typed.connect(self._date_typed)
                row.override_requested.connect(self._override)
                self.rows[item.id] = row
                questions.addWidget(row)
        # The question order of the rows; "skipped" means unanswered above an answered one.
        self._order = list(self.rows)
        self.answers = {cid: (row.yes, row.no) for cid, row in self.rows.items()}
        self.outcomes = {cid: row.outcome for cid, row in self.rows.items()}
        self.dates = {cid: row.date for cid, row in self.rows.items() if row.date is not None}
        self.date_notes = {
            cid: row.date_note for cid, row in self.rows.items() if row.date_note is not None
        }
        self.override_buttons = {
            cid: row.override_button
            for cid, row in self.rows.items()
            if row.override_button is not None
        }
        # No "answered no to everything" button: each question is asked and answered on its
        # own, so none is skipped by one click.

        self.consent = BigCheckBox("The client consents, the risks explained")
        self.consent.setToolTip(
            "Tick once the treatment and its risks were explained and the client agrees"
        )
        self.consent.toggled.connect(self._consent)
        self.consent_note = QtWidgets.QLabel("")
        self.consent_note.setObjectName("formHint")
        self.consent_note.setWordWrap(True)

        # The verdict sits above the scrolling page: it stays in view while the questions are
        # answered further down.
        self.verdict = VerdictBanner()

        body = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(body)
        column.addLayout(form)
        column.addWidget(screening_box)
        column.addWidget(self.consent)
        column.addWidget(self.consent_note)
        column.addStretch(1)
        self.scroll = QtWidgets.QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(body)
        self.scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.verdict)
        layout.addWidget(self.scroll, 1)
        # Tab follows the eye: the client's row (name, practitioner), then the date of birth.
        QtWidgets.QWidget.setTabOrder(self.name, self.practitioner)
        QtWidgets.QWidget.setTabOrder(self.practitioner, self.date_of_birth)
        QtWidgets.QWidget.setTabOrder(self.date_of_birth, self.goals)

        self.name.textChanged.connect(self._client_changed)
        self.goals.textChanged.connect(self._client_changed)
        self.practitioner.textChanged.connect(self._client_changed)
        self.date_of_birth.textChanged.connect(self._date_of_birth_typed)
        if visit.client.date_of_birth is not None:
            self.date_of_birth.setText(visit.client.date_of_birth.isoformat())
        self.refresh()

    def set_date_of_birth(self, born: date | None, year_only: int | None = None) -> None:
        """Fill the date of birth in (a client of the records); ``year_only``: their record
        has the birth year alone, which the hint mentions so the full date is asked."""
        self.date_of_birth.setPlaceholderText(DATE_PLACEHOLDER)
        self.date_of_birth.setText(born.isoformat() if born else "")
        self._date_of_birth_typed()
        if born is None and year_only:
            self.age.setText(f"{BIRTH_HINT} (the record has {year_only} only)")

    def point_out_missing(self) -> None:
        """The practitioner tried to go on: mark every missing answer and take them to the
        first thing still needed."""
        self.asked_to_go_on = True
        self.refresh()
        target = self._first_missing()
        if target is not None:
            self.scroll.ensureWidgetVisible(target, 0, 80)
            target.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)

    def _first_missing(self) -> QtWidgets.QWidget | None:
        result = self.visit.screening_result
        if not self.visit.client.name:
            return self.name
        if result.date_of_birth is None or result.age_problem:
            return self.date_of_birth
        for cid in self._order:
            row = self.rows[cid]
            if self.visit.screening.answers.get(cid) is None:
                return row.yes
            if any(c.id == cid for c in result.undated) and row.date is not None:
                return row.date
            if any(c.id == cid for c in result.relative_unresolved):
                return row.override_button
        return self.consent if self.visit.consent_by is None else None

    def _client_changed(self) -> None:
        self.visit.client.name = self.name.text().strip()
        self.visit.client.goals = self.goals.toPlainText().strip()
        self.visit.practitioner = self.practitioner.text().strip()
        # Said once a name was typed and cleared, not to a new, empty form.
        self.name_error.setVisible(not self.visit.client.name and self.name.isModified())
        self.name_error.setText("Enter the client's name.")
        self.refresh()
        self.changed.emit()

    def _date_of_birth_typed(self) -> None:
        text = self.date_of_birth.text()
        problem = ""
        try:
            born = parse_date(text)
            if born is not None:
                check_date_of_birth(born)
        except (ValueError, ScreeningError) as error:
            born, problem = None, str(error)
        self.visit.give_date_of_birth(born)
        if problem and len(text.strip()) == 10:
            self.age.setText(problem[:1].upper() + problem[1:] + ".")
            self.age.setProperty("level", "danger")
        elif born is None:
            self.age.setText(BIRTH_HINT)
            self.age.setProperty("level", "info")
        else:
            age = age_on(born, date.today())
            adult = age >= ADULT_AGE
            self.age.setText(
                f"{age} years" if adult else f"{age} years — under {ADULT_AGE}: not treated"
            )
            self.age.setProperty("level", "ok" if adult else "danger")
        repolish(self.age)
        self.refresh()
        self.changed.emit()

    def _answer(self, contraindication_id: str, applies: bool) -> None:
        self.visit.screening.answer(contraindication_id, applies)
        row = self.rows[contraindication_id]
        when = row.date
        if when is not None:
            if applies:
                row.show_detail(True)
                self._date_typed(contraindication_id)  # a date typed before stays
                when.setFocus()
                self.scroll.ensureWidgetVisible(row.detail)
                return
            when.blockSignals(True)
            when.clear()
            when.blockSignals(False)
            self._date_problems.pop(contraindication_id, None)
        self.refresh()
        self.changed.emit()

    def _date_typed(self, contraindication_id: str) -> None:
        when = self.dates[contraindication_id]
        try:
            on = parse_date(when.text())
            self.visit.screening.give_date(contraindication_id, on)
            problem = ""
        except (ValueError, ScreeningError) as error:
            self.visit.screening.give_date(contraindication_id, None)
            problem = str(error)
        # A half-typed date is not a problem yet: only a whole one that is wrong.
        if problem and len(when.text().strip()) == 10:
            self._date_problems[contraindication_id] = problem
        else:
            self._date_problems.pop(contraindication_id, None)
        self.refresh()
        self.changed.emit()

    def _override(self, contraindication_id: str) -> None:
        item = contraindications()[contraindication_id]
        if contraindication_id in self.visit.screening.overrides:
            override = self.visit.screening.overrides[contraindication_id]
            dialogs.inform(
                self,
                "Override recorded",
                f"{item.question}\n\nOverridden by {override.practitioner}: {override.reason}\n\n"
                "To take it back, answer the question again.",
            )
            return
        timed = self.visit.screening_result.timed_answer(contraindication_id)
        if self.override_dialog is not None:
            self.override_dialog.close()
        self.override_dialog = OverrideDialog(
            item,
            self.visit.practitioner,
            lambda reason, who: self._record_override(contraindication_id, reason, who),
            self,
            wait_note=(
                _sentence(timed.describe(self.visit.screening_result.today)) + "."
                if timed is not None
                else ""
            ),
        )
        self.override_dialog.destroyed.connect(self._forget_dialog)
        self.override_dialog.show()
        self.override_dialog.raise_()
        self.override_dialog.activateWindow()

    def _forget_dialog(self) -> None:
        self.override_dialog = None

    def _record_override(self, contraindication_id: str, reason: str, practitioner: str) -> None:
        try:
            self.visit.screening.override(contraindication_id, reason, practitioner)
        except ScreeningError as error:
            dialogs.warn(self, "Override not recorded", str(error))
            return
        self.refresh()
        self.changed.emit()

    def _consent(self, given: bool) -> None:
        if given:
            # No name yet: refused; the box is unticked again below, and the note says why.
            with contextlib.suppress(WorkflowError):
                self.visit.record_consent(self.visit.client.name or "")
        else:
            self.visit.consent_by = None
            self.visit.consent_at = None
        self.refresh()
        self.changed.emit()

    def refresh(self) -> None:
        """Show the screening's verdict, each question's outcome and each wait."""
        screening = self.visit.screening
        result = self.visit.screening_result
        answered_at = [i for i, cid in enumerate(self._order) if cid in screening.answers]
        last_answered = max(answered_at, default=-1)
        blocking = {c.id for c in result.relative_unresolved}
        for index, cid in enumerate(self._order):
            row = self.rows[cid]
            text, level = row_outcome(
                row.item,
                screening,
                result,
                flag_unanswered=self.asked_to_go_on or index < last_answered,
                date_problem=self._date_problems.get(cid, ""),
            )
            row.show_outcome(text, level)
            applies = screening.answers.get(cid) is True
            row.show_detail(applies)
            if row.yes.isChecked() != applies or row.no.isChecked() != (
                screening.answers.get(cid) is False
            ):
                self._show_answer(row, screening.answers.get(cid))
            if row.override_button is not None:
                overridden = cid in screening.overrides
                row.override_button.setEnabled(cid in blocking or overridden)
                row.override_button.setText("Overridden ✓" if overridden else "Override…")
            if row.date_note is not None:
                self._show_wait(cid, row.date_note)
        self._show_verdict()
        self._show_consent()

    def _show_answer(self, row: QuestionRow, answer: bool | None) -> None:
        """The buttons follow the visit's answers (a screening put in place by a scenario)."""
        row.group.setExclusive(False)
        for button, on in ((row.yes, answer is True), (row.no, answer is False)):
            button.blockSignals(True)
            button.setChecked(on)
            button.blockSignals(False)
        row.group.setExclusive(True)

    def _show_verdict(self) -> None:
        verdict = summarise(self.visit.screening_result)
        mark = {"danger": "✖ ", "warning": "⚠ ", "ok": "✓ "}.get(verdict.level, "")
        lines = "".join(
            f"<div style='margin-top:3px'>{html.escape(x)}</div>" for x in verdict.lines
        )
        self.verdict.setText(
            f"<div style='font-size:large'><b>{mark}{html.escape(verdict.head)}</b></div>{lines}"
        )
        self.verdict.setProperty("level", verdict.level)
        repolish(self.verdict)

    def _show_consent(self) -> None:
        """The box follows the visit; while there is no name to record the consent in, it
        waits, and says so before it is pressed."""
        named = bool(self.visit.client.name)
        given = self.visit.consent_by is not None
        if self.consent.isChecked() != given:
            self.consent.blockSignals(True)
            self.consent.setChecked(given)
            self.consent.blockSignals(False)
        self.consent.setEnabled(named or given)
        if given:
            self.consent_note.setText(f"Consent recorded for {self.visit.consent_by}.")
        elif not named:
            self.consent_note.setText("Enter the client's name above first: consent is theirs.")
        else:
            self.consent_note.setText("")

    def _show_wait(self, cid: str, note: QtWidgets.QLabel) -> None:
        """Under a time-limited question: how to type the date, the wait counted from it, or
        what is wrong with it."""
        if self.visit.screening.answers.get(cid) is not True:
            note.hide()
            return
        result = self.visit.screening_result
        timed = result.timed_answer(cid)
        item = contraindications()[cid]
        problem = self._date_problems.get(cid, "")
        wait = item.wait.describe() if item.wait else ""
        if problem:
            text, level = f"⚠ {_sentence(problem)}.", "danger"
        elif timed is None:
            text, level = (
                f"Type the date of the {item.event} as {DATE_PLACEHOLDER}: the {wait} wait is "
                "counted from it.",
                "info",
            )
        elif timed.over(result.today):
            text, level = f"✓ {_sentence(timed.describe(result.today))}.", "ok"
        else:
            text, level = f"⚠ {_sentence(timed.describe(result.today))}.", "warning"
        note.setText(text)
        note.setProperty("level", level)
        repolish(note)
        note.show()


def _label(text: str, buddy: QtWidgets.QWidget) -> QtWidgets.QLabel:
    """A field's name, which also gives it focus when clicked through its mnemonic."""
    label = QtWidgets.QLabel(text)
    label.setBuddy(buddy)
    return label


def _sentence(text: str) -> str:
    """``text`` with a capital first letter."""
    return text[:1].upper() + text[1:]
