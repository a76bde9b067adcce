"""The consultation stage: the client, goals, the contraindication screening and consent."""

from __future__ import annotations

import html
from datetime import date

from PySide6 import QtCore, QtWidgets

from console.screening import (
    ADULT_AGE,
    MIN_OVERRIDE_REASON,
    ScreeningError,
    ScreeningResult,
    Severity,
    age_on,
    check_date_of_birth,
    contraindications,
)
from console.ui import dialogs
from console.ui.form_fields import DATE_PLACEHOLDER, date_field, fill_with_scrolling, parse_date
from console.ui.restyle import repolish
from console.workflow import (
    Visit,
    WorkflowError,
)


class ConsultationPage(QtWidgets.QWidget):
    """Client, date of birth, goals, the contraindication screening with the dates of
    time-limited answers and overrides, and consent."""

    changed = QtCore.Signal()

    def __init__(self, visit: Visit, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.visit = visit
        self.name = QtWidgets.QLineEdit(visit.client.name)
        self.name.setPlaceholderText("First and last name")
        self.name.setToolTip("The client's name, as on their record")
        self.name_error = QtWidgets.QLabel("")
        self.name_error.setObjectName("fieldError")
        self.date_of_birth = date_field()
        self.date_of_birth.setToolTip(
            f"The client's date of birth: the screening refuses anyone under {ADULT_AGE}"
        )
        self.date_of_birth.setAccessibleName("Date of birth")
        self.age = QtWidgets.QLabel("")
        self.age.setObjectName("clientAge")
        born_row = QtWidgets.QHBoxLayout()
        born_row.addWidget(self.date_of_birth)
        born_row.addWidget(self.age, 1)
        self.goals = QtWidgets.QPlainTextEdit(visit.client.goals)
        self.goals.setPlaceholderText("e.g. lift the jawline, soften nasolabial folds")
        self.goals.setMaximumHeight(60)
        self.practitioner = QtWidgets.QLineEdit(visit.practitioner)
        self.practitioner.setPlaceholderText("Who screens and treats")
        form = QtWidgets.QFormLayout()
        form.addRow("Client", self.name)
        form.addRow("", self.name_error)
        form.addRow("Date of birth", born_row)
        form.addRow("Goals", self.goals)
        form.addRow("Practitioner", self.practitioner)

        screening_box = QtWidgets.QGroupBox("Contraindication screening — ask every question")
        grid = QtWidgets.QGridLayout(screening_box)
        grid.setVerticalSpacing(6)
        self.answers: dict[str, tuple[QtWidgets.QRadioButton, QtWidgets.QRadioButton]] = {}
        self.dates: dict[str, QtWidgets.QLineEdit] = {}
        self.date_notes: dict[str, QtWidgets.QLabel] = {}
        self.override_buttons: dict[str, QtWidgets.QPushButton] = {}
        row = 0
        for item in contraindications().values():
            question = QtWidgets.QLabel(item.question)
            question.setWordWrap(True)
            question.setToolTip(item.why)
            severity = QtWidgets.QLabel(
                "absolute" if item.severity is Severity.ABSOLUTE else "relative"
            )
            severity.setObjectName(f"severity_{item.severity.value}")
            yes, no = QtWidgets.QRadioButton("Yes"), QtWidgets.QRadioButton("No")
            group = QtWidgets.QButtonGroup(self)
            group.addButton(yes)
            group.addButton(no)
            yes.toggled.connect(lambda checked, cid=item.id: checked and self._answer(cid, True))
            no.toggled.connect(lambda checked, cid=item.id: checked and self._answer(cid, False))
            self.answers[item.id] = (yes, no)
            grid.addWidget(question, row, 0)
            grid.addWidget(severity, row, 1)
            grid.addWidget(yes, row, 2)
            grid.addWidget(no, row, 3)
            if item.wait is not None:
                when = date_field()
                when.setEnabled(False)
                when.setToolTip(
                    f"With a yes: the date of the {item.event}. The {item.wait.describe()} "
                    "wait is counted from it."
                )
                when.setAccessibleName(f"Date of the {item.event}")
                when.textChanged.connect(lambda _text, cid=item.id: self._date_typed(cid))
                self.dates[item.id] = when
                grid.addWidget(when, row, 4)
                note = QtWidgets.QLabel("")
                note.setObjectName("waitNote")
                note.setWordWrap(True)
                note.hide()
                self.date_notes[item.id] = note
                grid.addWidget(note, row + 1, 0, 1, 6)
            if item.severity is Severity.RELATIVE:
                button = QtWidgets.QPushButton("Override…")
                button.setToolTip("Record a professional decision to treat anyway, with the reason")
                button.setEnabled(False)
                button.clicked.connect(lambda _=False, cid=item.id: self._override(cid))
                self.override_buttons[item.id] = button
                grid.addWidget(button, row, 5)
            row += 2 if item.wait is not None else 1
        # No "answered no to everything" button: each question is asked and answered on its
        # own, so none is skipped by one click.
        grid.setColumnStretch(0, 1)

        self.consent = QtWidgets.QCheckBox(
            "The client consents, after the treatment and its risks were explained"
        )
        self.consent.toggled.connect(self._consent)
        self.verdict = QtWidgets.QLabel("")
        self.verdict.setObjectName("screeningVerdict")
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(QtCore.Qt.TextFormat.RichText)

        scroll_body = QtWidgets.QWidget()
        body = QtWidgets.QVBoxLayout(scroll_body)
        body.addLayout(form)
        body.addWidget(screening_box)
        body.addWidget(self.consent)
        body.addWidget(self.verdict)
        body.addStretch(1)
        fill_with_scrolling(self, scroll_body)

        self.name.textChanged.connect(self._client_changed)
        self.goals.textChanged.connect(self._client_changed)
        self.practitioner.textChanged.connect(self._client_changed)
        self.date_of_birth.textChanged.connect(self._date_of_birth_typed)
        if visit.client.date_of_birth is not None:
            self.date_of_birth.setText(visit.client.date_of_birth.isoformat())
        self.refresh()

    def set_date_of_birth(self, born: date | None, year_only: int | None = None) -> None:
        """Fill the date of birth in (a client of the records); ``year_only``: their record
        has the birth year alone, which the placeholder mentions so the full date is asked."""
        self.date_of_birth.setPlaceholderText(
            f"{DATE_PLACEHOLDER} (records: {year_only} only)"
            if born is None and year_only
            else DATE_PLACEHOLDER
        )
        if born is None and year_only:
            self.date_of_birth.setMinimumWidth(
                self.date_of_birth.fontMetrics().horizontalAdvance(
                    self.date_of_birth.placeholderText()
                )
                + 24
            )
        self.date_of_birth.setText(born.isoformat() if born else "")
        self._date_of_birth_typed()

    def _client_changed(self) -> None:
        self.visit.client.name = self.name.text().strip()
        self.visit.client.goals = self.goals.toPlainText().strip()
        self.visit.practitioner = self.practitioner.text().strip()
        self.name_error.setText("" if self.visit.client.name else "Enter the client's name.")
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
            self.age.setText("Needed: the screening confirms the client is an adult.")
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
        when = self.dates.get(contraindication_id)
        if when is not None:
            when.setEnabled(applies)
            if applies:
                self._date_typed(contraindication_id)  # a date typed before stays
                when.setFocus()
                return
            when.blockSignals(True)
            when.clear()
            when.blockSignals(False)
        self.refresh()
        self.changed.emit()

    def _date_typed(self, contraindication_id: str) -> None:
        when = self.dates[contraindication_id]
        note = self.date_notes[contraindication_id]
        try:
            on = parse_date(when.text())
            self.visit.screening.give_date(contraindication_id, on)
            problem = ""
        except (ValueError, ScreeningError) as error:
            self.visit.screening.give_date(contraindication_id, None)
            problem = str(error)
        note.setProperty("problem", bool(problem) and len(when.text().strip()) == 10)
        note.setToolTip(problem)
        self.refresh()
        self.changed.emit()

    def _override(self, contraindication_id: str) -> None:
        item = contraindications()[contraindication_id]
        dialogs.ask_text(
            self,
            "Professional override",
            f"{item.question}\n\n{item.why}\n\nWhy is it safe to treat this client? It is "
            f"recorded with your name (at least {MIN_OVERRIDE_REASON} characters).",
            lambda reason: self._record_override(contraindication_id, reason),
            multiline=True,
            minimum_length=MIN_OVERRIDE_REASON,
            accept_text="Record override",
        )

    def _record_override(self, contraindication_id: str, reason: str) -> None:
        try:
            self.visit.screening.override(contraindication_id, reason, self.visit.practitioner)
        except ScreeningError as error:
            dialogs.warn(self, "Override not recorded", str(error))
            return
        self.refresh()
        self.changed.emit()

    def _consent(self, given: bool) -> None:
        if given:
            try:
                self.visit.record_consent(self.visit.client.name or "")
            except WorkflowError as error:
                self.consent.blockSignals(True)
                self.consent.setChecked(False)
                self.consent.blockSignals(False)
                self.verdict.setText(
                    f"Consent not recorded: {error} (enter the client's name first)"
                )
                return
        else:
            self.visit.consent_by = None
            self.visit.consent_at = None
        self.refresh()
        self.changed.emit()

    def refresh(self) -> None:
        """Show the screening's decision, and each time-limited answer's wait."""
        result = self.visit.screening_result
        blocking = {c.id for c in result.relative_unresolved}
        for cid, button in self.override_buttons.items():
            overridden = cid in self.visit.screening.overrides
            button.setEnabled(cid in blocking or overridden)
            button.setText("Overridden ✓" if overridden else "Override…")
        for cid, note in self.date_notes.items():
            self._show_wait(cid, note, result)
        e = html.escape
        reasons = result.reasons()
        notes = result.notes()
        if result.absolute or (result.age_problem and result.date_of_birth is not None):
            head, level = "Do not treat", "danger"
        elif result.relative_unresolved:
            head, level = "Needs a professional override before treatment", "warning"
        elif reasons:
            head, level = "Screening not complete", "info"
        else:
            overridden = (
                f" ({len(result.relative_overridden)} override(s) recorded)"
                if result.relative_overridden
                else ""
            )
            head, level = f"Screening clear: treatment may go ahead{overridden}", "ok"
        unanswered = [r for r in reasons if r.startswith("not answered")]
        shown = [r for r in reasons if not r.startswith("not answered")]
        if unanswered:
            shown.append(f"{len(unanswered)} question(s) not answered yet")
        lines = [e(_sentence(r)) for r in shown] + [e(_sentence(n)) for n in notes]
        self.verdict.setText(
            f"<b>{e(head)}.</b>"
            + (
                "<ul style='margin-left:-24px'>" + "".join(f"<li>{x}</li>" for x in lines) + "</ul>"
                if lines
                else ""
            )
        )
        self.verdict.setProperty("level", level)
        repolish(self.verdict)

    def _show_wait(self, cid: str, note: QtWidgets.QLabel, result: ScreeningResult) -> None:
        """Under a time-limited question: the wait counted from its date, or what is missing."""
        if self.visit.screening.answers.get(cid) is not True:
            note.hide()
            return
        timed = result.timed_answer(cid)
        item = contraindications()[cid]
        if note.property("problem"):
            text, level = f"⚠ {note.toolTip()[:1].upper()}{note.toolTip()[1:]}.", "danger"
        elif timed is None:
            text, level = f"Give the date of the {item.event} ({DATE_PLACEHOLDER}).", "info"
        elif timed.over(result.today):
            text, level = f"✓ {_sentence(timed.describe(result.today))}.", "ok"
        else:
            text, level = f"⚠ {_sentence(timed.describe(result.today))}.", "warning"
        note.setText(text)
        note.setProperty("level", level)
        repolish(note)
        note.show()


def _sentence(text: str) -> str:
    """``text`` with a capital first letter."""
    return text[:1].upper() + text[1:]
