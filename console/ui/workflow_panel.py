"""The treatment workflow panel: the five stages as a guided sequence over a :class:`Visit`.

Every rule lives in :class:`console.workflow.Visit` (who may enter which stage, and why not); this
panel shows the forms, sends the operator's entries in, and shows the reasons. A store (a later
issue) plugs in through ``Visit.observers``.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from console.course import CourseStatus
from console.protocols import Protocol, comfort_notes
from console.records.aftercare import AftercareSheet, aftercare_for_visit, write_aftercare_pdf
from console.records.reports import unprintable_note
from console.records.store import RecordError
from console.report import format_duration
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
from console.ui.restyle import repolish
from console.workflow import (
    CLEANSING_CHECKLIST,
    MOISTURIZATION_CHECKLIST,
    Client,
    ObservedReaction,
    Reaction,
    ReactionDuration,
    ReactionSeverity,
    Stage,
    Visit,
    WorkflowError,
)
from console.zones import zone_catalog

#: How a date is typed in the consultation's date fields.
DATE_PLACEHOLDER = "YYYY-MM-DD"
#: Accepts what may become a date while it is typed (digits and dashes, at most 10).
_DATE_TYPING = QtCore.QRegularExpression(r"[0-9]{0,4}(-[0-9]{0,2}(-[0-9]{0,2})?)?")


def parse_date(text: str) -> date | None:
    """``YYYY-MM-DD`` as a date; None for an empty field. Raises ValueError for anything else
    (a date half typed, or one that does not exist)."""
    text = text.strip()
    if not text:
        return None
    if len(text) != 10:
        raise ValueError(f"type the whole date as {DATE_PLACEHOLDER}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text} is not a date") from None


def date_field(placeholder: str = DATE_PLACEHOLDER) -> QtWidgets.QLineEdit:
    """A line edit for a date typed as ``YYYY-MM-DD``."""
    field = QtWidgets.QLineEdit()
    field.setPlaceholderText(placeholder)
    field.setValidator(QtGui.QRegularExpressionValidator(_DATE_TYPING, field))
    field.setMaxLength(10)
    metrics = field.fontMetrics()
    widest = max(metrics.horizontalAdvance(text) for text in ("0000-00-00", DATE_PLACEHOLDER))
    field.setFixedWidth(widest + 28)
    return field


def fill_with_scrolling(page: QtWidgets.QWidget, body: QtWidgets.QWidget) -> None:
    """Lay ``body`` out as the whole of ``page``, scrolling when the window is short."""
    scroll = QtWidgets.QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(body)
    layout = QtWidgets.QVBoxLayout(page)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(scroll)


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


class ChecklistPage(QtWidgets.QWidget):
    """A stage checklist (cleansing, moisturization)."""

    changed = QtCore.Signal()

    def __init__(self, visit: Visit, stage: Stage, items: tuple[str, ...], intro: str) -> None:
        super().__init__()
        self.visit, self.stage = visit, stage
        layout = QtWidgets.QVBoxLayout(self)
        heading = QtWidgets.QLabel(intro)
        heading.setWordWrap(True)
        layout.addWidget(heading)
        self.boxes: dict[str, QtWidgets.QCheckBox] = {}
        for item in items:
            box = QtWidgets.QCheckBox(item)
            box.toggled.connect(lambda done, it=item: self._tick(it, done))
            self.boxes[item] = box
            layout.addWidget(box)
        layout.addStretch(1)

    def _tick(self, item: str, done: bool) -> None:
        self.visit.check(self.stage, item, done)
        self.changed.emit()


class ApplicationPage(QtWidgets.QWidget):
    """Protocol choice and preview (steps, zones, total time) before the start."""

    protocol_chosen = QtCore.Signal(str)

    def __init__(self, protocols: dict[str, Protocol]) -> None:
        super().__init__()
        self.protocols = protocols
        self.choice = QtWidgets.QComboBox()
        self.choice.setToolTip("The protocol to run")
        self._fill_choice()
        self.choice.currentIndexChanged.connect(self._chosen)
        self.summary = QtWidgets.QLabel("")
        self.summary.setWordWrap(True)
        self.table = QtWidgets.QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels(["Zone", "Waveform", "µA", "Time", "Technique", ""])
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(True)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnHidden(5, True)
        self.notes = QtWidgets.QLabel("")
        self.notes.setWordWrap(True)
        self.notes.setObjectName("protocolNotes")
        layout = QtWidgets.QVBoxLayout(self)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Protocol"))
        row.addWidget(self.choice, 1)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.notes)
        if self.choice.count():
            self._chosen(self.choice.currentIndex())

    def _fill_choice(self) -> None:
        for protocol in sorted(self.protocols.values(), key=lambda p: p.name):
            self.choice.addItem(protocol.name, protocol.id)

    def reload(self) -> None:
        """List the protocols again (a pack was saved), keeping the choice if it still exists."""
        current = self.choice.currentData()
        self.choice.blockSignals(True)
        self.choice.clear()
        self._fill_choice()
        self.choice.blockSignals(False)
        index = self.choice.findData(current)
        self.choice.setCurrentIndex(max(index, 0))
        if self.choice.count():
            self._chosen(self.choice.currentIndex())  # the protocol itself may have changed

    def select(self, protocol_id: str) -> None:
        """Choose a protocol by id (remembered choices, tests)."""
        index = self.choice.findData(protocol_id)
        if index >= 0:
            self.choice.setCurrentIndex(index)

    @property
    def protocol(self) -> Protocol | None:
        """The chosen protocol."""
        return self.protocols.get(self.choice.currentData())

    def highlight_step(self, index: int | None) -> None:
        """Select the running step's row."""
        if index is None:
            self.table.clearSelection()
        else:
            self.table.selectRow(index)

    def _chosen(self, index: int) -> None:
        protocol = self.protocol
        if protocol is None:
            return
        zones = zone_catalog()
        self.summary.setText(
            f"<b>{protocol.name}</b> — {protocol.description}<br>"
            f"{len(protocol.steps)} steps on {len(protocol.zones)} zones, "
            f"{format_duration(protocol.duration_s)} in all. Series: {protocol.series.describe()}."
        )
        self.table.setRowCount(len(protocol.steps))
        for row, step in enumerate(protocol.steps):
            wf = step.waveform
            cells = [
                zones[step.zone].name if step.zone in zones else step.zone,
                f"{wf.shape.value} {wf.frequency_hz:g} Hz",
                f"{wf.current_ua:g}",
                format_duration(step.duration_s),
                step.technique,
            ]
            for column, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        notes = comfort_notes(protocol)
        self.notes.setText("<br>".join(f"⚠ {note}" for note in notes))
        self.protocol_chosen.emit(protocol.id)


#: What a reaction's combo boxes show before a choice is made (saving then asks for one).
SEVERITY_PROMPT = "How strong?"
DURATION_PROMPT = "How long?"


class FollowUpPage(QtWidgets.QWidget):
    """Reactions with how strong and how long, notes, the next appointment, and the client's
    aftercare sheet.

    ``course_provider`` (set by the window when there are records) gives the client's course
    for the aftercare sheet; without it the sheet leaves the course out."""

    saved = QtCore.Signal()

    def __init__(self, visit: Visit) -> None:
        super().__init__()
        self.visit = visit
        self.protocol: Protocol | None = None
        self.course_provider: Callable[[], CourseStatus | None] | None = None
        body_widget = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(body_widget)
        reactions_box = QtWidgets.QGroupBox(
            "Reactions seen during or after the treatment — tick each, then how strong and how long"
        )
        grid = QtWidgets.QGridLayout(reactions_box)
        grid.setColumnStretch(3, 1)
        self.reactions: dict[Reaction, QtWidgets.QCheckBox] = {}
        self.severities: dict[Reaction, QtWidgets.QComboBox] = {}
        self.durations: dict[Reaction, QtWidgets.QComboBox] = {}
        for row, reaction in enumerate(Reaction):
            box = QtWidgets.QCheckBox(reaction.value.capitalize())
            severity = QtWidgets.QComboBox()
            severity.addItem(SEVERITY_PROMPT, None)
            for level in ReactionSeverity:
                severity.addItem(level.value.capitalize(), level)
            duration = QtWidgets.QComboBox()
            duration.addItem(DURATION_PROMPT, None)
            for length in ReactionDuration:
                duration.addItem(length.value.capitalize(), length)
            for combo in (severity, duration):
                combo.setEnabled(False)
                combo.setAccessibleName(f"{reaction.value}: {combo.itemText(0).lower()}")
            box.toggled.connect(
                lambda on, s=severity, d=duration: (s.setEnabled(on), d.setEnabled(on))
            )
            self.reactions[reaction] = box
            self.severities[reaction] = severity
            self.durations[reaction] = duration
            grid.addWidget(box, row, 0)
            grid.addWidget(severity, row, 1)
            grid.addWidget(duration, row, 2)
        none_note = QtWidgets.QLabel("Nothing ticked: no reaction was seen.")
        none_note.setObjectName("reactionHint")
        grid.addWidget(none_note, len(Reaction), 0, 1, 4)
        self.notes = QtWidgets.QPlainTextEdit()
        self.notes.setPlaceholderText("e.g. mild redness on the left cheek, gone after 10 minutes")
        self.next_appointment = QtWidgets.QDateTimeEdit(
            QtCore.QDateTime.currentDateTime().addDays(7)
        )
        self.next_appointment.setCalendarPopup(True)
        self.next_appointment.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.course = QtWidgets.QLabel("")
        self.course.setWordWrap(True)
        self.message = QtWidgets.QLabel("")
        self.message.setObjectName("followUpMessage")
        self.message.setWordWrap(True)
        self.save_button = QtWidgets.QPushButton("Save follow-up")
        self.save_button.clicked.connect(self._save)
        self.aftercare_button = QtWidgets.QPushButton("Aftercare sheet for the client (PDF)…")
        self.aftercare_button.setToolTip(
            "What to expect, what to avoid for a day, when to call, the next appointment and "
            "the course: one page to print or send (save the follow-up first)"
        )
        self.aftercare_button.setEnabled(False)
        self.aftercare_button.clicked.connect(self.save_aftercare)
        form = QtWidgets.QFormLayout()
        form.addRow("Notes", self.notes)
        form.addRow("Next appointment", self.next_appointment)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.aftercare_button)
        layout.addWidget(reactions_box)
        layout.addLayout(form)
        layout.addWidget(self.course)
        layout.addLayout(buttons)
        layout.addStretch(1)
        # Scrolling, like the consultation: the window keeps its small minimum height.
        fill_with_scrolling(self, body_widget)

    def show_course(self, protocol: Protocol | None) -> None:
        """The recommended series of the protocol that ran."""
        self.protocol = protocol
        if protocol is not None:
            self.course.setText(f"Course: {protocol.series.describe()}.")

    def chosen_reactions(self) -> list[ObservedReaction]:
        """The ticked reactions with their severity and duration; raises WorkflowError naming
        a ticked reaction whose strength or length is not chosen."""
        chosen = []
        for reaction, box in self.reactions.items():
            if not box.isChecked():
                continue
            severity = self.severities[reaction].currentData()
            duration = self.durations[reaction].currentData()
            if severity is None or duration is None:
                raise WorkflowError(
                    f"{reaction.value.capitalize()}: choose how strong it was and how long it "
                    "lasted"
                )
            # Qt hands item data back as plain strings: the enums again.
            chosen.append(
                ObservedReaction(reaction, ReactionSeverity(severity), ReactionDuration(duration))
            )
        return chosen

    def _say(self, text: str, level: str) -> None:
        self.message.setText(text)
        self.message.setProperty("level", level)
        repolish(self.message)

    def _save(self) -> None:
        when = self.next_appointment.dateTime().toPython().astimezone(UTC)
        try:
            self.visit.record_follow_up(self.chosen_reactions(), self.notes.toPlainText(), when)
        except WorkflowError as error:
            self._say(str(error), "danger")
            return
        self._say(f"Saved at {datetime.now().strftime('%H:%M')}.", "ok")
        self.aftercare_button.setEnabled(True)
        self.saved.emit()

    def aftercare_sheet(self) -> AftercareSheet:
        """The aftercare sheet of the saved follow-up (the course read now, if it can be)."""
        course = None
        if self.course_provider is not None:
            try:
                course = self.course_provider()
            except RecordError:
                course = None  # the sheet goes without the course; the records say why elsewhere
        return aftercare_for_visit(self.visit, self.protocol, course)

    def save_aftercare(self) -> None:
        """Ask where, and write the client's aftercare sheet there."""
        if self.visit.follow_up.recorded_at is None:
            self._say("Save the follow-up first: the sheet gives its appointment.", "danger")
            return
        sheet = self.aftercare_sheet()
        day = sheet.treated_at.astimezone().strftime("%Y-%m-%d")
        name = "-".join(sheet.client.split()) or "client"
        dialogs.choose_save_file(
            self,
            "Save the aftercare sheet",
            f"aftercare-{name}-{day}.pdf",
            "PDF (*.pdf)",
            lambda path: self._write_aftercare(sheet, path),
        )

    def _write_aftercare(self, sheet: AftercareSheet, path: Path) -> None:
        try:
            missing = write_aftercare_pdf(sheet, path)
        except OSError as error:
            dialogs.warn(self, "Aftercare sheet not saved", str(error))
            return
        self._say(f"Aftercare sheet saved to {path}.", "ok")
        if missing:
            dialogs.inform(self, "Aftercare sheet", unprintable_note(missing))


class WorkflowPanel(QtWidgets.QWidget):
    """The stage stepper and the stage pages."""

    stage_changed = QtCore.Signal(int)

    def __init__(self, visit: Visit, protocols: dict[str, Protocol]) -> None:
        super().__init__()
        self.visit = visit
        self.stepper = QtWidgets.QHBoxLayout()
        self.stage_buttons: list[QtWidgets.QToolButton] = []
        for stage in Stage:
            button = QtWidgets.QToolButton()
            button.setText(f"{stage.value + 1} {stage.title}")
            button.setCheckable(True)
            button.setObjectName("stageButton")
            button.clicked.connect(lambda _=False, s=stage: self.go_to(s))
            self.stage_buttons.append(button)
            self.stepper.addWidget(button)
        self.consultation = ConsultationPage(visit)
        self.cleansing = ChecklistPage(
            visit,
            Stage.CLEANSING,
            CLEANSING_CHECKLIST,
            "Prepare the skin: clean, oil-free skin and an even layer of gel let the current flow evenly.",
        )
        self.application = ApplicationPage(protocols)
        self.moisturization = ChecklistPage(
            visit,
            Stage.MOISTURIZATION,
            MOISTURIZATION_CHECKLIST,
            "After the current: remove the gel and restore the skin barrier. Note any redness.",
        )
        self.follow_up = FollowUpPage(visit)
        self.pages = QtWidgets.QStackedWidget()
        for page in (
            self.consultation,
            self.cleansing,
            self.application,
            self.moisturization,
            self.follow_up,
        ):
            self.pages.addWidget(page)
        self.blockers = QtWidgets.QLabel("")
        self.blockers.setObjectName("stageBlockers")
        self.blockers.setWordWrap(True)
        self.next_button = QtWidgets.QPushButton("Next stage →")
        self.next_button.setToolTip("Go to the next stage when its conditions are met (Ctrl+Right)")
        self.next_button.clicked.connect(self.next_stage)
        bottom = QtWidgets.QHBoxLayout()
        bottom.addWidget(self.blockers, 1)
        bottom.addWidget(self.next_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(self.stepper)
        layout.addWidget(self.pages, 1)
        layout.addLayout(bottom)
        for page in (self.consultation, self.cleansing, self.moisturization):
            page.changed.connect(self.refresh)
        self.refresh()

    def go_to(self, stage: Stage) -> bool:
        """Enter ``stage`` if the visit allows it; otherwise show why. Returns success."""
        try:
            self.visit.go_to(stage)
        except WorkflowError as error:
            self.blockers.setText(str(error))
            self.refresh(keep_message=True)
            return False
        self.refresh()
        self.stage_changed.emit(int(stage))
        return True

    def next_stage(self) -> None:
        """Advance one stage."""
        if self.visit.stage < Stage.FOLLOW_UP:
            self.go_to(Stage(self.visit.stage + 1))

    def refresh(self, keep_message: bool = False) -> None:
        """Stepper state, the page, and what blocks the next stage."""
        current = self.visit.stage
        self.pages.setCurrentIndex(int(current))
        for stage, button in zip(Stage, self.stage_buttons, strict=True):
            button.setChecked(stage is current)
            reasons = self.visit.blockers(stage) if stage > current else []
            button.setToolTip("\n".join(reasons) if reasons else stage.title)
            button.setProperty("blocked", bool(reasons))
            repolish(button)
        if not keep_message:
            if current < Stage.FOLLOW_UP:
                upcoming = Stage(current + 1)
                reasons = self.visit.blockers(upcoming)
                self.blockers.setText(
                    f"Before {upcoming.title}: " + "; ".join(reasons) if reasons else ""
                )
                self.next_button.setEnabled(not reasons)
            else:
                self.blockers.setText("")
                self.next_button.setEnabled(False)

    def reset(self, visit: Visit) -> None:
        """Start over with a new visit (new client)."""
        self.visit = visit
        for page in (self.consultation, self.cleansing, self.moisturization, self.follow_up):
            page.visit = visit
        self.refresh()


def new_visit(practitioner: str) -> Visit:
    """An empty visit for ``practitioner``."""
    return Visit(client=Client(name=""), practitioner=practitioner)
