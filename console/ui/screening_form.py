"""The screening as a practitioner reads it: questions in groups, each with its own outcome on its
row, and one verdict for the whole screening.

The rules stay in :mod:`console.screening`; this module only words them. :func:`summarise` and
:func:`row_outcome` are plain functions of a :class:`~console.screening.Screening` and its
:class:`~console.screening.ScreeningResult`, so what the page says can be tested without a window.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtCore, QtWidgets

from console.screening import (
    ADULT_AGE,
    Contraindication,
    Screening,
    ScreeningResult,
    Severity,
    contraindications,
)
from console.ui.form_fields import DATE_PLACEHOLDER, date_field

#: The questions as a practitioner asks them: by topic, so the client is not bounced between
#: devices, illnesses and last week's injections. Every shipped question is in one group (a test
#: checks); a question added to the set later and not placed here lands in "Other questions".
QUESTION_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Implants and devices",
        ("implanted_electronics", "body_worn_devices", "metal_implants", "braces_or_piercings"),
    ),
    (
        "Health",
        (
            "pregnancy",
            "breastfeeding",
            "epilepsy",
            "heart_condition",
            "thrombosis",
            "haemophilia",
            "active_cancer",
            "impaired_sensation",
            "alcohol_or_drugs",
        ),
    ),
    (
        "The skin of the face today",
        ("open_wounds", "cold_sore", "eczema_psoriasis", "skin_sensitivity"),
    ),
    (
        "Recent treatments and injuries — a yes asks for the date",
        (
            "fillers_or_botox",
            "thread_lift",
            "recent_facial_surgery",
            "retinoids",
            "isotretinoin",
            "facial_injury",
        ),
    ),
)
OTHER_GROUP = "Other questions"

#: Gloved fingers need targets of about 9 mm: 36 px on a clinic screen.
TARGET_HEIGHT = 36


def grouped_questions() -> list[tuple[str, list[Contraindication]]]:
    """The shipped questions in their groups, in the order they are asked on the page."""
    items = contraindications()
    placed: set[str] = set()
    groups: list[tuple[str, list[Contraindication]]] = []
    for title, ids in QUESTION_GROUPS:
        members = [items[cid] for cid in ids if cid in items]
        placed.update(c.id for c in members)
        if members:
            groups.append((title, members))
    rest = [item for cid, item in items.items() if cid not in placed]
    if rest:
        groups.append((OTHER_GROUP, rest))
    return groups


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the screening says as a whole: a level (``info``, ``ok``, ``warning``, ``danger``),
    a one-line head and a few detail lines."""

    level: str
    head: str
    lines: tuple[str, ...] = ()


def short(item: Contraindication) -> str:
    """The question without its question mark, to name it inside a sentence."""
    return item.question.rstrip("?").strip()


def plain_list(items: list[str]) -> str:
    """``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _count(count: int, thing: str) -> str:
    return f"{count} {thing}{'' if count == 1 else 's'}"


def screening_needs(result: ScreeningResult) -> list[str]:
    """What the screening still needs before a verdict, counted, never listed question by
    question (each question says it on its own row): ``["3 unanswered questions", "the date of
    birth", "2 dates", "your decision on 1 answer"]``."""
    needs = []
    if result.unanswered:
        needs.append(_count(len(result.unanswered), "unanswered question"))
    if result.date_of_birth is None:
        needs.append("the date of birth")
    if result.undated:
        needs.append(_count(len(result.undated), "date"))
    if result.relative_unresolved:
        needs.append(f"your decision on {_count(len(result.relative_unresolved), 'answer')}")
    return needs


def summarise(result: ScreeningResult) -> Verdict:
    """The verdict for the whole screening, in a head and at most two short lines: do not treat
    (which answer, why), not complete (how far), treat with care (which answer, which wait) or
    clear to treat. The details are on the questions' own rows."""
    total = len(contraindications())
    answered = total - len(result.unanswered)
    born = result.date_of_birth
    under_age = born is not None and result.age_problem is not None
    if result.absolute or under_age:
        lines = []
        if born is not None and under_age:
            lines.append(
                f"The client is {result.age} (born {born.isoformat()}): "
                f"microcurrent facials are for adults only ({ADULT_AGE} or over)."
            )
        if len(result.absolute) == 1 and not under_age:
            # The head names the answer; the line says why it rules the treatment out.
            head = f"Do not treat — {short(result.absolute[0])}"
            return Verdict("danger", head, (result.absolute[0].why,))
        lines += [f"{short(item)}: {item.why}" for item in result.absolute]
        if under_age and not result.absolute:
            head = f"Do not treat — the client is under {ADULT_AGE}"
        else:
            head = f"Do not treat — {len(lines)} reasons rule the treatment out"
        if len(lines) > 2:
            lines[1:] = [f"…and {len(lines) - 1} more, marked ✖ on the questions below."]
        return Verdict("danger", head, tuple(lines))

    needs = screening_needs(result)
    if result.unanswered:
        head = f"Screening not complete — {answered} of {total} answered"
        # The date of birth is asked at the top of the form: not repeated while questions remain.
        rest = [n for n in needs[1:] if n != "the date of birth"]
        return Verdict("info", head, (f"Also still needed: {plain_list(rest)}.",) if rest else ())
    if result.date_of_birth is None or result.undated:
        lines = []
        if result.date_of_birth is None:
            lines.append(
                f"Date of birth not given yet — only adults ({ADULT_AGE} or over) are treated."
            )
        if result.undated:
            lines.append(
                "A yes marked “needs a date”: type when it happened, the wait counts from it."
            )
        return Verdict(
            "info", f"Screening not complete — {plain_list(needs)} still needed", tuple(lines)
        )
    if result.relative_unresolved:
        if len(result.relative_unresolved) == 1:
            item = result.relative_unresolved[0]
            timed = result.timed_answer(item.id)
            head = f"Treat with care — {short(item)}"
            if timed is not None:
                line = (
                    f"Wait until {timed.until.isoformat()} "
                    f"({_count(timed.days_left(result.today), 'day')} more), or record your "
                    "professional decision: Override… on the question."
                )
            else:
                line = "Treat only after your professional decision: Override… on the question."
            return Verdict("warning", head, (line,))
        head = f"Treat with care — {len(result.relative_unresolved)} answers need your decision"
        line = "Wait, or record your professional decision: Override… on each question marked ⚠."
        return Verdict("warning", head, (line,))
    with_care = [f"overridden: {short(item)}" for item, _ in result.relative_overridden] + [
        f"wait over: {t.item.event}" for t in result.waited_out
    ]
    if not with_care:
        return Verdict("ok", "Clear to treat")
    return Verdict("ok", "Clear to treat, with care", (_sentence(plain_list(with_care)) + ".",))


def row_outcome(
    item: Contraindication,
    screening: Screening,
    result: ScreeningResult,
    *,
    flag_unanswered: bool = False,
    date_problem: str = "",
) -> tuple[str, str]:
    """One question's own outcome, as ``(text, level)``: ``✓ no``, ``✖ do not treat``,
    ``⚠ wait until <date>``, ``needs a date``… An unanswered question says nothing unless
    ``flag_unanswered`` (it was skipped, or the practitioner tried to go on)."""
    answer = screening.answers.get(item.id)
    if answer is None:
        return ("not answered", "missing") if flag_unanswered else ("", "none")
    if not answer:
        return "✓ no", "ok"
    timed = result.timed_answer(item.id)
    if item.wait is not None and timed is None:
        return ("⚠ check the date", "warning") if date_problem else ("needs a date", "warning")
    if timed is not None and timed.over(result.today):
        return "✓ wait over", "ok"
    if item.severity is Severity.ABSOLUTE:
        return "✖ do not treat", "danger"
    if item.id in screening.overrides:
        return "✓ overridden", "ok"
    if timed is not None:
        return f"⚠ wait until {timed.until.isoformat()}", "warning"
    return "⚠ your decision", "warning"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


class _FitDateWidth(QtCore.QObject):
    """Keeps a date field as wide as ``YYYY-MM-DD`` at the font the theme gives it (the theme's
    font arrives after the field is made, and a clipped placeholder hides the format)."""

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802
        if isinstance(watched, QtWidgets.QLineEdit) and event.type() in (
            QtCore.QEvent.Type.FontChange,
            QtCore.QEvent.Type.Polish,
        ):
            metrics = watched.fontMetrics()
            text = max(("0000-00-00", watched.placeholderText()), key=metrics.horizontalAdvance)
            watched.setFixedWidth(metrics.horizontalAdvance(text) + 28)
        return False


def fit_date_field(field: QtWidgets.QLineEdit) -> QtWidgets.QLineEdit:
    """``field``, kept wide enough for its date at any font size."""
    fitter = _FitDateWidth(field)
    field.installEventFilter(fitter)
    return field


class VerdictBanner(QtWidgets.QLabel):
    """The screening's verdict: always room for its head and three lines (the most a verdict
    says), at whatever font the theme gives it, so the page below does not jump as it changes."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("screeningVerdict")
        self.setWordWrap(True)
        self.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.setAccessibleName("Screening verdict")
        self._fit()

    def changeEvent(self, event: QtCore.QEvent) -> None:  # noqa: N802 (Qt's name)
        """Refit when the theme changes the font."""
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.FontChange:
            self._fit()

    def _fit(self) -> None:
        self.setMinimumHeight(int(4.8 * self.fontMetrics().lineSpacing()) + 12)


class AnswerButton(QtWidgets.QRadioButton):
    """A Yes/No answer as a gloved hand needs it: a 36 px box that answers wherever it is
    pressed (a plain radio button reacts only on its small circle and its text)."""

    def __init__(self, text: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setObjectName("answer")
        self.setMinimumHeight(TARGET_HEIGHT)
        self.setMinimumWidth(76)
        self.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)

    def hitButton(self, pos: QtCore.QPoint) -> bool:  # noqa: N802 (Qt's name)
        """The whole box is the target."""
        return self.rect().contains(pos)


class BigCheckBox(QtWidgets.QCheckBox):
    """A tick box that reacts anywhere on its row, at least 36 px tall."""

    def __init__(self, text: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setObjectName("bigCheck")
        self.setMinimumHeight(TARGET_HEIGHT)
        self.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)

    def hitButton(self, pos: QtCore.QPoint) -> bool:  # noqa: N802 (Qt's name)
        """The whole row is the target."""
        return self.rect().contains(pos)


class QuestionRow(QtWidgets.QFrame):
    """One screening question: its text, Yes and No, its outcome beside them, and, under a yes,
    the date a wait is counted from and the override button."""

    answered = QtCore.Signal(str, bool)
    date_typed = QtCore.Signal(str)
    override_requested = QtCore.Signal(str)

    def __init__(self, item: Contraindication, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.item = item
        self.setObjectName("screeningRow")
        meaning = (
            "A yes means: do not treat."
            if item.severity is Severity.ABSOLUTE
            else "A yes means: treat only after your professional decision (Override…)."
        )
        self.question = QtWidgets.QLabel(item.question)
        self.question.setWordWrap(True)
        self.question.setToolTip(f"{item.why}\n{meaning}")
        self.yes, self.no = AnswerButton("Yes"), AnswerButton("No")
        for button, word in ((self.yes, "Yes"), (self.no, "No")):
            button.setAccessibleName(f"{word}: {item.question}")
            button.setToolTip(meaning if button is self.yes else "The condition does not apply")
        self.group = QtWidgets.QButtonGroup(self)
        self.group.addButton(self.yes)
        self.group.addButton(self.no)
        self.yes.toggled.connect(lambda on: on and self.answered.emit(item.id, True))
        self.no.toggled.connect(lambda on: on and self.answered.emit(item.id, False))
        self.outcome = QtWidgets.QLabel("")
        self.outcome.setObjectName("screeningOutcome")
        self.outcome.setWordWrap(True)
        # Fixed: an outcome appearing must not shift the answers sideways.
        self.outcome.setFixedWidth(
            self.outcome.fontMetrics().horizontalAdvance("⚠ wait until 0000") + 8
        )
        self.outcome.setAccessibleName(f"Outcome: {item.question}")

        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(6, 3, 6, 3)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(4)
        grid.addWidget(self.question, 0, 0)
        grid.addWidget(self.yes, 0, 1)
        grid.addWidget(self.no, 0, 2)
        grid.addWidget(self.outcome, 0, 3)
        grid.setColumnStretch(0, 1)

        self.date: QtWidgets.QLineEdit | None = None
        self.date_note: QtWidgets.QLabel | None = None
        self.override_button: QtWidgets.QPushButton | None = None
        self.detail = QtWidgets.QWidget()
        detail = QtWidgets.QGridLayout(self.detail)
        detail.setContentsMargins(12, 0, 0, 2)
        detail.setHorizontalSpacing(8)
        if item.wait is not None:
            label = QtWidgets.QLabel(f"Date of the {item.event}:")
            label.setWordWrap(True)
            self.date = fit_date_field(date_field())
            self.date.setMinimumHeight(TARGET_HEIGHT - 4)
            self.date.setEnabled(False)
            self.date.setAccessibleName(f"Date of the {item.event}")
            self.date.setToolTip(
                f"The date of the {item.event}, as {DATE_PLACEHOLDER}. The "
                f"{item.wait.describe()} wait is counted from it."
            )
            self.date.textChanged.connect(lambda _text: self.date_typed.emit(item.id))
            label.setBuddy(self.date)
            self.date_note = QtWidgets.QLabel("")
            self.date_note.setObjectName("waitNote")
            self.date_note.setWordWrap(True)
            self.date_note.hide()
            detail.addWidget(label, 0, 0)
            detail.addWidget(self.date, 0, 1)
            detail.addWidget(self.date_note, 1, 0, 1, 4)
        if item.severity is Severity.RELATIVE:
            self.override_button = QtWidgets.QPushButton("Override…")
            self.override_button.setMinimumHeight(TARGET_HEIGHT)
            self.override_button.setToolTip(
                "Record your professional decision to treat anyway, with the reason"
            )
            self.override_button.setEnabled(False)
            self.override_button.clicked.connect(lambda: self.override_requested.emit(item.id))
            detail.addWidget(self.override_button, 0, 3)
        detail.setColumnStretch(2, 1)
        self.detail.hide()
        grid.addWidget(self.detail, 1, 0, 1, 4)

    def show_outcome(self, text: str, level: str) -> None:
        """The question's own verdict, and the row's colour to match."""
        self.outcome.setText(text)
        self.outcome.setProperty("level", level)
        self.setProperty("outcome", level)
        for widget in (self, self.outcome):
            widget.style().unpolish(widget)
            widget.style().polish(widget)

    def show_detail(self, shown: bool) -> None:
        """Under a yes: the date field and the override button (if the question has them)."""
        has_detail = self.date is not None or self.override_button is not None
        self.detail.setVisible(shown and has_detail)
        if self.date is not None:
            self.date.setEnabled(shown)
