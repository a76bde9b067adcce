"""The follow-up stage: reactions, notes, the next appointment and the aftercare sheet."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from console.course import CourseStatus
from console.protocols import Protocol
from console.records.aftercare import (
    AftercareSheet,
    aftercare_for_visit,
    suggested_next_appointment,
    write_aftercare_pdf,
)
from console.records.errors import RecordError
from console.records.reports import unprintable_note
from console.ui import dialogs
from console.ui.restyle import repolish
from console.workflow import (
    ObservedReaction,
    Reaction,
    ReactionDuration,
    ReactionSeverity,
    Visit,
    WorkflowError,
)

#: What a reaction's combo boxes show before a choice is made (saving then asks for one).
SEVERITY_PROMPT = "How strong?"
DURATION_PROMPT = "How long?"
NO_REACTION = "No reaction seen"
#: The smallest height of anything pressed on this page (about 9 mm on a clinic screen: a
#: gloved fingertip), px.
TARGET_PX = 36
#: Without a protocol's series, the next appointment is offered this many days ahead.
DEFAULT_NEXT_DAYS = 7
DATE_FORMAT = "ddd d MMM yyyy"

#: The page's own rules: large tick boxes and list rows for gloved hands, and the save message
#: green when it reports success, red only for a problem (``resources/style.qss`` styles the
#: rest of the window).
FOLLOW_UP_CSS = f"""
QCheckBox::indicator {{ width: 22px; height: 22px; }}
QComboBox QAbstractItemView::item {{ min-height: {TARGET_PX}px; }}
QLabel#followUpMessage {{ padding: 6px 10px; border-radius: 4px; }}
QLabel#followUpMessage[level="ok"] {{
    background: #e3f4e8; color: #1d5b2f; border: 1px solid #5cae74;
}}
QLabel#followUpMessage[level="danger"] {{
    background: #fde0e0; color: #7f1212; border: 1px solid #c62828; font-weight: bold;
}}
QLabel#followUpMessage[level=""] {{ background: transparent; border: none; }}
QLabel#appointmentHint, QLabel#reactionHint {{ color: #5f6b73; }}
"""


class TargetCheckBox(QtWidgets.QCheckBox):
    """A tick box that answers a press anywhere on it, not only on its box and text (with
    gloves, a press lands a few millimetres off)."""

    def hitButton(self, pos: QtCore.QPoint) -> bool:  # noqa: N802 - Qt's name
        return self.rect().contains(pos)


class FollowUpPage(QtWidgets.QWidget):
    """Reactions with how strong and how long (or, exclusively, none seen), notes, the day of
    the next appointment, and the client's aftercare sheet.

    Saving again replaces what was saved (the records keep one follow-up per visit).
    ``course_provider`` (set by the window when there are records) gives the client's course
    for the aftercare sheet and the suggested appointment; without it the sheet leaves the
    course out."""

    saved = QtCore.Signal()

    def __init__(self, visit: Visit) -> None:
        super().__init__()
        self.visit = visit
        self.protocol: Protocol | None = None
        self.course_provider: Callable[[], CourseStatus | None] | None = None
        #: Notes a printed sheet in the records' audit trail (set by the window when there are
        #: records); False when the trail cannot take it: the sheet is then not written.
        self.report_auditor: Callable[[str], bool] | None = None
        self._date_chosen = False  # the operator picked a day: a suggestion no longer moves it
        self.setStyleSheet(FOLLOW_UP_CSS)
        body_widget = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(body_widget)
        reactions_box = QtWidgets.QGroupBox("Reactions seen during or after the treatment")
        grid = QtWidgets.QGridLayout(reactions_box)
        grid.setVerticalSpacing(4)
        hint = QtWidgets.QLabel(
            f"Tick each reaction seen, then how strong and how long; or “{NO_REACTION}”."
        )
        hint.setObjectName("reactionHint")
        hint.setWordWrap(True)
        grid.addWidget(hint, 0, 0, 1, 4)
        self.no_reaction = TargetCheckBox(NO_REACTION)
        self.no_reaction.setMinimumHeight(TARGET_PX)
        self.no_reaction.setToolTip("Nothing was seen: clears any reaction ticked")
        self.no_reaction.toggled.connect(self._none_toggled)
        grid.addWidget(self.no_reaction, 1, 0, 1, 3)
        self.reactions: dict[Reaction, QtWidgets.QCheckBox] = {}
        self.severities: dict[Reaction, QtWidgets.QComboBox] = {}
        self.durations: dict[Reaction, QtWidgets.QComboBox] = {}
        for row, reaction in enumerate(Reaction, start=2):
            box = TargetCheckBox(reaction.value.capitalize())
            box.setMinimumHeight(TARGET_PX)
            severity = QtWidgets.QComboBox()
            severity.addItem(SEVERITY_PROMPT, None)
            for level in ReactionSeverity:
                severity.addItem(level.value.capitalize(), level)
            duration = QtWidgets.QComboBox()
            duration.addItem(DURATION_PROMPT, None)
            for length in ReactionDuration:
                duration.addItem(length.value.capitalize(), length)
            for combo in (severity, duration):
                # They may narrow with the pane (the longest choice shows whole in the list):
                # the page never scrolls sideways, so it must never be wider than its pane.
                combo.setSizeAdjustPolicy(
                    QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
                )
                combo.setMinimumContentsLength(9)
                combo.setSizePolicy(
                    QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed
                )
                combo.setEnabled(False)
                combo.setMinimumHeight(TARGET_PX)
                combo.setView(QtWidgets.QListView())  # item rows follow FOLLOW_UP_CSS
                combo.setAccessibleName(f"{reaction.value}: {combo.itemText(0).lower()}")
            box.toggled.connect(lambda on, s=severity, d=duration: self._reaction_toggled(on, s, d))
            self.reactions[reaction] = box
            self.severities[reaction] = severity
            self.durations[reaction] = duration
            grid.addWidget(box, row, 0)
            grid.addWidget(severity, row, 1)
            grid.addWidget(duration, row, 2)
        grid.setColumnStretch(1, 2)  # the choices take the room there is, the longer one more
        grid.setColumnStretch(2, 3)
        self.notes = QtWidgets.QPlainTextEdit()
        self.notes.setPlaceholderText("e.g. mild redness on the left cheek, gone after 10 minutes")
        self.notes.setTabChangesFocus(True)  # Tab moves on, as in every other field
        self.notes.setMinimumHeight(3 * TARGET_PX)
        self.notes.setMaximumHeight(4 * TARGET_PX)  # the appointment stays near, not scrolled off
        self.next_appointment = QtWidgets.QDateEdit()
        self.next_appointment.setCalendarPopup(True)
        self.next_appointment.setDisplayFormat(DATE_FORMAT)
        self.next_appointment.setMinimumHeight(TARGET_PX)
        self.next_appointment.setMinimumWidth(180)
        self.next_appointment.setAccessibleName("Next appointment, day")
        self.next_appointment.setToolTip("The day of the next session (the calendar opens with ▾)")
        self.next_appointment.calendarWidget().setMinimumSize(340, 260)
        self.not_booked = TargetCheckBox("Not booked yet")
        self.not_booked.setMinimumHeight(TARGET_PX)
        self.not_booked.setToolTip("The client will call to book; the aftercare sheet says so")
        self.not_booked.toggled.connect(self._booking_toggled)
        self.appointment_hint = QtWidgets.QLabel("")
        self.appointment_hint.setObjectName("appointmentHint")
        self.appointment_hint.setWordWrap(True)
        picker = QtWidgets.QHBoxLayout()
        picker.addWidget(self.next_appointment)
        picker.addWidget(self.not_booked)
        picker.addStretch(1)
        appointment = QtWidgets.QVBoxLayout()
        appointment.setSpacing(2)
        appointment.addLayout(picker)
        appointment.addWidget(self.appointment_hint)
        self._set_day(date.today() + timedelta(days=DEFAULT_NEXT_DAYS))
        self.next_appointment.dateChanged.connect(self._day_changed)
        self.course = QtWidgets.QLabel("")
        self.course.setWordWrap(True)
        self.message = QtWidgets.QLabel("")
        self.message.setObjectName("followUpMessage")
        self.message.setWordWrap(True)
        self.message.setProperty("level", "")
        self.message.setAccessibleName("Follow-up message")
        # One line's room from the start: the buttons do not move when a message appears.
        self.message.setMinimumHeight(self.message.fontMetrics().height() + 16)
        self.save_button = QtWidgets.QPushButton("Save follow-up")
        self.save_button.setMinimumHeight(TARGET_PX)
        self.save_button.clicked.connect(self._save)
        self.aftercare_button = QtWidgets.QPushButton("Aftercare sheet (PDF)…")
        self.aftercare_button.setMinimumHeight(TARGET_PX)
        self.aftercare_button.setToolTip(
            "What to expect, what to avoid for a day, when to call, the next appointment and "
            "the course: one page to print or send (save the follow-up first)"
        )
        self.aftercare_button.setEnabled(False)
        self.aftercare_button.clicked.connect(self.save_aftercare)
        form = QtWidgets.QFormLayout()
        form.addRow("Notes", self.notes)
        form.addRow("Next appointment", appointment)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.aftercare_button)
        buttons.addStretch(1)
        layout.addWidget(reactions_box)
        layout.addLayout(form)
        layout.addWidget(self.course)
        layout.addStretch(1)
        # The form scrolls (the window keeps its small minimum height); saving and what it
        # says stay in view below it, whatever is scrolled.
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(body_widget)
        page = QtWidgets.QVBoxLayout(self)
        page.setContentsMargins(0, 0, 0, 0)
        page.addWidget(scroll, 1)
        page.addWidget(self.message)
        page.addLayout(buttons)

    # -- the course and the appointment -------------------------------------------------------

    def show_course(self, protocol: Protocol | None) -> None:
        """The recommended series of the protocol that ran, and the day it suggests for the
        next appointment (unless a day was already picked)."""
        self.protocol = protocol
        if protocol is None:
            return
        self.course.setText(f"Course: {protocol.series.describe()}.")
        if not self._date_chosen:
            self._set_day(
                suggested_next_appointment(protocol.series, date.today(), self._read_course())
            )
        self._show_hint()

    @property
    def appointment_day(self) -> date | None:
        """The day chosen for the next appointment (None: not booked yet)."""
        if self.not_booked.isChecked():
            return None
        return self.next_appointment.date().toPython()

    def _read_course(self) -> CourseStatus | None:
        if self.course_provider is None:
            return None
        try:
            return self.course_provider()
        except RecordError:
            return None  # the suggestion and the sheet go without it; the records say why

    def _set_day(self, day: date) -> None:
        """Show ``day`` (no earlier than tomorrow) without taking it for the operator's pick."""
        tomorrow = date.today() + timedelta(days=1)
        self.next_appointment.blockSignals(True)
        self.next_appointment.setMinimumDate(QtCore.QDate(tomorrow))
        self.next_appointment.setDate(QtCore.QDate(max(day, tomorrow)))
        self.next_appointment.blockSignals(False)
        self._show_hint()

    def _day_changed(self, _day: QtCore.QDate) -> None:
        # The page's own changes are made with signals blocked: this is the operator's pick.
        self._date_chosen = True
        self._show_hint()

    def _booking_toggled(self, not_booked: bool) -> None:
        self.next_appointment.setEnabled(not not_booked)
        self._show_hint()

    def _show_hint(self) -> None:
        day = self.appointment_day
        if day is None:
            self.appointment_hint.setText("No appointment: the client will call to book.")
            return
        days = (day - date.today()).days
        when = "Tomorrow" if days == 1 else f"In {days} days"
        series = self.protocol.series if self.protocol is not None else None
        pace = f" (the course: {series.sessions_per_week:g} a week)" if series is not None else ""
        self.appointment_hint.setText(f"{when}, {day:%A}{pace}.")

    def showEvent(self, event: QtGui.QShowEvent) -> None:  # noqa: N802 - Qt's name
        """A page left open overnight: today is not a choice, whatever it was when built."""
        tomorrow = date.today() + timedelta(days=1)
        if self.next_appointment.minimumDate().toPython() < tomorrow:
            self._set_day(max(self.next_appointment.date().toPython(), tomorrow))
        super().showEvent(event)

    # -- reactions ------------------------------------------------------------------------------

    def _none_toggled(self, on: bool) -> None:
        """“No reaction seen” and a reaction seen exclude each other."""
        if on:
            for box in self.reactions.values():
                box.setChecked(False)

    def _reaction_toggled(
        self, on: bool, severity: QtWidgets.QComboBox, duration: QtWidgets.QComboBox
    ) -> None:
        severity.setEnabled(on)
        duration.setEnabled(on)
        if on:
            self.no_reaction.setChecked(False)

    def chosen_reactions(self) -> list[ObservedReaction]:
        """The ticked reactions with their severity and duration (empty: “No reaction seen”);
        raises WorkflowError when neither is ticked, or naming a ticked reaction whose strength
        or length is not chosen."""
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
        if not chosen and not self.no_reaction.isChecked():
            # An empty form is not a record that nothing was seen.
            raise WorkflowError(f"Tick each reaction seen, or “{NO_REACTION}”")
        return chosen

    # -- saving ---------------------------------------------------------------------------------

    def _say(self, text: str, level: str) -> None:
        self.message.setText(text)
        self.message.setProperty("level", level)
        repolish(self.message)

    def _save(self) -> None:
        again = self.visit.follow_up.recorded_at is not None
        try:
            self.visit.record_follow_up(
                self.chosen_reactions(), self.notes.toPlainText(), self.appointment_day
            )
        except WorkflowError as error:
            text = str(error)
            self._say(text[:1].upper() + text[1:] + ". Nothing was saved.", "danger")
            return
        at = datetime.now().strftime("%H:%M")
        self._say(
            f"✓ Follow-up updated at {at} (it replaces the one saved before)."
            if again
            else f"✓ Follow-up saved at {at}.",
            "ok",
        )
        self.aftercare_button.setEnabled(True)
        self.saved.emit()

    def aftercare_sheet(self) -> AftercareSheet:
        """The aftercare sheet of the saved follow-up (the course read now, if it can be)."""
        return aftercare_for_visit(self.visit, self.protocol, self._read_course())

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
        if self.report_auditor is not None and not self.report_auditor("aftercare sheet"):
            return
        try:
            missing = write_aftercare_pdf(sheet, path)
        except OSError as error:
            dialogs.warn(self, "Aftercare sheet not saved", str(error))
            return
        self._say(f"✓ Aftercare sheet saved to {path}.", "ok")
        if missing:
            dialogs.inform(self, "Aftercare sheet", unprintable_note(missing))
