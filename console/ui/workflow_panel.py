"""The treatment workflow panel: the five stages as a guided sequence over a :class:`Visit`.

Every rule lives in :class:`console.workflow.Visit` (who may enter which stage, and why not); this
panel shows the forms, sends the operator's entries in, and shows the reasons. A store (a later
issue) plugs in through ``Visit.observers``.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from console.protocols import Protocol
from console.ui.application_page import ApplicationPage
from console.ui.consultation_page import ConsultationPage
from console.ui.followup_page import FollowUpPage
from console.ui.restyle import repolish
from console.workflow import (
    CLEANSING_CHECKLIST,
    MOISTURIZATION_CHECKLIST,
    Client,
    Stage,
    Visit,
    WorkflowError,
)


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
