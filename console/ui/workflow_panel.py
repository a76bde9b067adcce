"""The treatment workflow panel: the five stages as a guided sequence over a :class:`Visit`.

Every rule lives in :class:`console.workflow.Visit` (who may enter which stage, and why not); this
panel shows the forms, sends the operator's entries in, and shows the reasons. A store (a later
issue) plugs in through ``Visit.observers``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

from console.course import CourseStatus
from console.protocols import Protocol
from console.screening import ADULT_AGE, REASON_STARTS, contraindications
from console.ui.application_page import ApplicationPage
from console.ui.consultation_page import ConsultationPage
from console.ui.restyle import repolish
from console.ui.screening_form import plain_list, screening_needs, short
from console.workflow import (
    CLEANSING_CHECKLIST,
    MOISTURIZATION_CHECKLIST,
    Client,
    Stage,
    Visit,
    WorkflowError,
)

if TYPE_CHECKING:  # the last stage's page is built (and its module imported) when first shown
    from console.ui.followup_page import FollowUpPage


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

    def __init__(
        self, visit: Visit, protocols: dict[str, Protocol], protocol_id: str | None = None
    ) -> None:
        """``protocol_id``: the protocol chosen at first (the first by name if None or gone)."""
        super().__init__()
        self.visit = visit
        self.stepper = QtWidgets.QHBoxLayout()
        self.stage_buttons: list[QtWidgets.QToolButton] = []
        for stage in Stage:
            button = QtWidgets.QToolButton()
            button.setText(_stage_label(stage))
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
        self.application = ApplicationPage(protocols, protocol_id)
        self.moisturization = ChecklistPage(
            visit,
            Stage.MOISTURIZATION,
            MOISTURIZATION_CHECKLIST,
            "After the current: remove the gel and restore the skin barrier. Note any redness.",
        )
        #: Gives the client's course to the follow-up page's aftercare sheet (set by the window
        #: when there are records; handed to the page when it is built).
        self._course_provider: Callable[[], CourseStatus | None] | None = None
        #: Notes a printed aftercare sheet in the audit trail (set by the window with records).
        self._report_auditor: Callable[[str], bool] | None = None
        self._follow_up: FollowUpPage | None = None  # built when first shown (``follow_up``)
        self.pages = QtWidgets.QStackedWidget()
        for page in (
            self.consultation,
            self.cleansing,
            self.application,
            self.moisturization,
            QtWidgets.QWidget(),  # the follow-up page's place
        ):
            self.pages.addWidget(page)
        self.blockers = QtWidgets.QLabel("")
        self.blockers.setObjectName("stageBlockers")
        self.blockers.setWordWrap(True)
        # Room for two lines from the start: a message appearing does not move the page.
        self.blockers.setMinimumHeight(2 * self.blockers.fontMetrics().lineSpacing() + 4)
        #: The stage the practitioner tried to enter and could not (its needs are listed in
        #: full until the stage changes).
        self._tried: Stage | None = None
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
        self._fit_stepper()

    @property
    def follow_up(self) -> FollowUpPage:
        """The follow-up stage's page, built on first use: nobody reaches it before a session,
        and it is a large form."""
        if self._follow_up is None:
            self._follow_up = self._build_follow_up()
        return self._follow_up

    def _build_follow_up(self) -> FollowUpPage:
        """The follow-up page in its placeholder's place, as it would be had it been built with
        the panel."""
        from console.ui.followup_page import FollowUpPage

        page = FollowUpPage(self.visit)
        page.course_provider = self._course_provider
        page.report_auditor = self._report_auditor
        index = int(Stage.FOLLOW_UP)
        placeholder = self.pages.widget(index)
        current = self.pages.currentIndex()
        self.pages.insertWidget(index, page)
        self.pages.removeWidget(placeholder)
        placeholder.deleteLater()
        self.pages.setCurrentIndex(current)
        return page

    @property
    def course_provider(self) -> Callable[[], CourseStatus | None] | None:
        """The client's course for the aftercare sheet (see :class:`FollowUpPage`)."""
        return self._course_provider

    @course_provider.setter
    def course_provider(self, provider: Callable[[], CourseStatus | None] | None) -> None:
        self._course_provider = provider
        if self._follow_up is not None:
            self._follow_up.course_provider = provider

    @property
    def report_auditor(self) -> Callable[[str], bool] | None:
        """Notes a printed aftercare sheet in the audit trail (see :class:`FollowUpPage`)."""
        return self._report_auditor

    @report_auditor.setter
    def report_auditor(self, auditor: Callable[[str], bool] | None) -> None:
        self._report_auditor = auditor
        if self._follow_up is not None:
            self._follow_up.report_auditor = auditor

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        """Stage names in full when they fit, short when the panel is narrow (a 1280 px
        screen): the stepper must not make the window wider than the screen."""
        super().resizeEvent(event)
        self._fit_stepper()

    def _fit_stepper(self) -> None:
        metrics = self.stage_buttons[0].fontMetrics()
        # What a button adds around its text (padding, frame), measured on the one shown.
        extra = max(
            b.sizeHint().width() - metrics.horizontalAdvance(b.text()) for b in self.stage_buttons
        )
        spacing = self.stepper.spacing() * (len(self.stage_buttons) - 1)
        full = sum(metrics.horizontalAdvance(_stage_label(s)) + extra for s in Stage)
        short_form = full + spacing > self.width()
        for stage, button in zip(Stage, self.stage_buttons, strict=True):
            button.setText(_stage_label(stage, short_form))
            button.setMinimumWidth(metrics.horizontalAdvance(_stage_label(stage, True)) + extra)

    def go_to(self, stage: Stage) -> bool:
        """Enter ``stage`` if the visit allows it; otherwise show why. Returns success."""
        try:
            self.visit.go_to(stage)
        except WorkflowError:
            self._tried = stage
            if self.visit.stage is Stage.CONSULTATION:
                self.consultation.point_out_missing()
            self.refresh()
            return False
        self._tried = None
        self.refresh()
        self.focus_first_field()
        self.stage_changed.emit(int(stage))
        return True

    def focus_first_field(self) -> None:
        """Put the keyboard focus on the current page's first field, so a practitioner who
        arrives on a page (Ctrl+Right, a new client) can type or tick at once."""
        page = self.pages.currentWidget()
        widget = page.nextInFocusChain()
        while widget is not page and widget is not None:
            if (
                page.isAncestorOf(widget)
                and widget.isVisibleTo(page)
                and widget.isEnabled()
                and widget.focusPolicy() & QtCore.Qt.FocusPolicy.TabFocus
                and not isinstance(widget, QtWidgets.QAbstractScrollArea | QtWidgets.QScrollBar)
            ):
                widget.setFocus(QtCore.Qt.FocusReason.TabFocusReason)
                return
            widget = widget.nextInFocusChain()

    def next_stage(self) -> None:
        """Advance one stage."""
        if self.visit.stage < Stage.FOLLOW_UP:
            self.go_to(Stage(self.visit.stage + 1))

    def refresh(self) -> None:
        """Stepper state, the page, and what the next stage still needs."""
        current = self.visit.stage
        if current is Stage.FOLLOW_UP:
            self.follow_up  # noqa: B018 (built before it is shown)
        self.pages.setCurrentIndex(int(current))
        if self._tried is not None and self._tried <= current:
            self._tried = None  # reached: what it needed is history
        for stage, button in zip(Stage, self.stage_buttons, strict=True):
            button.setChecked(stage is current)
            blocked = stage > current and bool(self.visit.blockers(stage))
            button.setToolTip(
                stage_message(self.visit, stage, tried=True)[0] if blocked else stage.title
            )
            button.setProperty("blocked", blocked)
            repolish(button)
        if current < Stage.FOLLOW_UP:
            upcoming = Stage(current + 1)
            tried = self._tried is not None and self._tried >= upcoming
            text, level = stage_message(self.visit, self._tried if tried else upcoming, tried)
            self.next_button.setEnabled(not self.visit.blockers(upcoming))
        else:
            text, level = "", "info"
            self.next_button.setEnabled(False)
        self.blockers.setText(text)
        self.blockers.setProperty("level", level)
        repolish(self.blockers)

    def reset(self, visit: Visit) -> None:
        """Start over with a new visit (new client)."""
        self.visit = visit
        for page in (self.consultation, self.cleansing, self.moisturization, self._follow_up):
            if page is not None:  # the follow-up page, if not built yet, takes it when it is
                page.visit = visit
        self._tried = None
        self.consultation.asked_to_go_on = False
        self.consultation.refresh()
        self.refresh()


#: A checklist with at most this many items left names them; with more it counts them.
FEW = 2


def stage_message(visit: Visit, stage: Stage, tried: bool = False) -> tuple[str, str]:
    """What ``stage`` still needs, short and calm, as ``(text, level)``.

    An untouched form hears how far it is ("answer the screening (0 of 23)"), not a list of every
    question; needs are counted ("2 dates"), the page marks which; a checklist's items are named
    once few are left, or once the practitioner ``tried`` to enter the stage. A "do not treat" is
    said at once. The rules are :meth:`Visit.blockers`'; this only words them.
    """
    reasons = visit.blockers(stage)
    if not reasons:
        return f"Ready for {stage.title}: Next stage (Ctrl+Right).", "ok"
    result = visit.screening_result
    under_age = result.date_of_birth is not None and result.age_problem is not None
    if result.absolute or under_age:
        ruled_out = [short(item) for item in result.absolute]
        if under_age:
            ruled_out.insert(0, f"the client is under {ADULT_AGE} ({result.age})")
        return f"{stage.title} cannot start: do not treat — {'; '.join(ruled_out)}.", "danger"
    opening = (
        f"{stage.title} cannot start yet — still needed: " if tried else f"Before {stage.title}: "
    )
    total = len(contraindications())
    if result.unanswered and not tried:
        answered = total - len(result.unanswered)
        return f"{opening}answer the screening ({answered} of {total}).", "info"
    needs: list[str] = []
    for reason in reasons:
        if reason.startswith(REASON_STARTS):
            if not any(n in needs for n in screening_needs(result)):
                needs += screening_needs(result)
            continue
        if reason in _SHORT:
            needs.append(_SHORT[reason])
            continue
        checklist, _, items = reason.partition(" not finished: ")
        missing = items.split("; ") if items else []
        if checklist in ("cleansing", "moisturization") and len(missing) > FEW and not tried:
            ticked = len(_checklist(visit, checklist)) - len(missing)
            needs.append(f"tick the {checklist} checklist ({ticked} of {ticked + len(missing)})")
            continue
        needs.append(reason)
    marked = " (marked on the page)" if tried and visit.stage is Stage.CONSULTATION else ""
    text = opening + ("; ".join(needs) if any(";" in n for n in needs) else plain_list(needs))
    return text + marked + ".", ("warning" if tried else "info")


#: Stage names for a narrow stepper (the full name is in the button's tooltip).
_SHORT_TITLES = {
    Stage.CONSULTATION: "Consult",
    Stage.CLEANSING: "Cleanse",
    Stage.APPLICATION: "Apply",
    Stage.MOISTURIZATION: "Moisturize",
    Stage.FOLLOW_UP: "Follow-up",
}


def _stage_label(stage: Stage, short_form: bool = False) -> str:
    return f"{stage.value + 1} {_SHORT_TITLES[stage] if short_form else stage.title}"


#: The workflow's own reasons, as the short needs the bar lists.
_SHORT = {
    "the client's name is missing": "the client's name",
    "the client's consent is not recorded": "the client's consent",
}


def _checklist(visit: Visit, name: str) -> dict[str, bool]:
    return visit.cleansing if name == "cleansing" else visit.moisturization


def new_visit(practitioner: str) -> Visit:
    """An empty visit for ``practitioner``."""
    return Visit(client=Client(name=""), practitioner=practitioner)
