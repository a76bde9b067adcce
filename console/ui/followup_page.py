"""The follow-up stage: reactions, notes, the next appointment and the aftercare sheet."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from console.course import CourseStatus
from console.protocols import Protocol
from console.records.aftercare import AftercareSheet, aftercare_for_visit, write_aftercare_pdf
from console.records.reports import unprintable_note
from console.records.store import RecordError
from console.ui import dialogs
from console.ui.form_fields import fill_with_scrolling
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
