"""Contraindication screening: the questions as data, and the rule that decides who may be treated.

An *absolute* contraindication blocks the application stage, and nothing can override it. A
*relative* one blocks until a professional records an override with a reason. An unanswered
question blocks too: the screening is complete only when every question has an answer.

Some conditions pass: a question with a *wait* (surgery, injections, a thread lift, retinoids,
an injury…) asks for the date when answered yes, and the wait is counted from it. Inside the
wait the answer blocks like any yes (and says until when); once the wait is over it no longer
blocks, and the result says so. A yes without its date blocks, and a date in the future is
refused.

The client's age comes from the date of birth, never from a question: a screening without a
date of birth blocks, and a client under :data:`ADULT_AGE` is refused with their age.

The set of questions has a version (``version`` in the resource); every screening keeps the
version it was asked with, so a record can be read against the questions actually asked.
"""

from __future__ import annotations

import calendar
import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from importlib import resources

CONTRAINDICATIONS_RESOURCE = "contraindications.json"
#: An override reason shorter than this is not a reason.
MIN_OVERRIDE_REASON = 10
#: Professional microcurrent facials are offered to adults only (device makers' age limit).
ADULT_AGE = 18
#: A date of birth this long ago is a typing error, not a client.
OLDEST_AGE = 120
#: What :meth:`Screening.all_clear` gives as the date of birth: a simulated or training client
#: is an adult without a record of their own.
TRAINING_CLIENT_BIRTH = date(1985, 6, 15)
#: Every reason :meth:`ScreeningResult.reasons` gives starts with one of these (a stored summary
#: joins reasons with "; ", which a reason may itself hold: readers split before these).
REASON_STARTS = (
    "the client is ",
    "date of birth not given",
    "absolute contraindication",
    "relative contraindication",
    "date needed",
    "not answered",
)


class Severity(enum.StrEnum):
    """How a contraindication weighs."""

    ABSOLUTE = "absolute"
    RELATIVE = "relative"


@dataclass(frozen=True, slots=True)
class Wait:
    """How long after its date a time-limited condition stops counting: days or months."""

    days: int = 0
    months: int = 0

    def end(self, on: date) -> date:
        """The first day the condition no longer counts (a month end clamps: 31 Aug + 6
        months is 28 or 29 February)."""
        if self.months:
            month = on.month - 1 + self.months
            year, month = on.year + month // 12, month % 12 + 1
            on = date(year, month, min(on.day, calendar.monthrange(year, month)[1]))
        return on + timedelta(days=self.days)

    def describe(self) -> str:
        """``30-day`` or ``6-month``, as in "the 30-day wait"."""
        return f"{self.months}-month" if self.months else f"{self.days}-day"


@dataclass(frozen=True, slots=True)
class Contraindication:
    """One screening question and what a 'yes' means (and, for a passing condition, how long
    after which event it stops counting)."""

    id: str
    severity: Severity
    question: str
    why: str
    wait: Wait | None = None
    #: What the date of a 'yes' is the date of ("fillers or botulinum toxin", "injury").
    event: str = ""


@dataclass(frozen=True, slots=True)
class Override:
    """A professional's recorded decision to treat despite a relative contraindication."""

    contraindication_id: str
    reason: str
    practitioner: str
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


class ScreeningError(ValueError):
    """A screening answer or override is malformed (unknown question, empty reason, a date in
    the future...)."""


@dataclass(frozen=True, slots=True)
class TimedAnswer:
    """A 'yes' to a question with a wait, with its date: until when it counts."""

    item: Contraindication
    on: date
    until: date

    def days_left(self, today: date) -> int:
        """Days until the wait is over (0 or less: over)."""
        return (self.until - today).days

    def over(self, today: date) -> bool:
        """True once the wait has run out: the answer no longer blocks."""
        return self.days_left(today) <= 0

    def describe(self, today: date) -> str:
        """``fillers or botulinum toxin on 2026-11-20: wait until 2026-12-20, 17 days more``,
        or, once over, that the wait ended and the answer no longer blocks."""
        head = f"{self.item.event} on {self.on.isoformat()}"
        left = self.days_left(today)
        if left > 0:
            return f"{head}: wait until {self.until.isoformat()}, {_days(left)} more"
        assert self.item.wait is not None
        return (
            f"{head}: the {self.item.wait.describe()} wait ended on "
            f"{self.until.isoformat()}, so it no longer blocks"
        )


@dataclass(frozen=True, slots=True)
class ScreeningResult:
    """The decision: may the application stage start, and if not, why not."""

    absolute: tuple[Contraindication, ...]
    relative_unresolved: tuple[Contraindication, ...]
    relative_overridden: tuple[tuple[Contraindication, Override], ...]
    unanswered: tuple[Contraindication, ...]
    #: Answered yes to a question with a wait, without the date the wait is counted from.
    undated: tuple[Contraindication, ...] = ()
    #: Every dated yes to a question with a wait, inside its wait or past it.
    timed: tuple[TimedAnswer, ...] = ()
    date_of_birth: date | None = None
    #: Age in whole years on ``today`` (None without a date of birth).
    age: int | None = None
    today: date = field(default_factory=date.today)

    @property
    def age_problem(self) -> str | None:
        """Why the client's age stops the treatment (None: an adult by date of birth)."""
        if self.date_of_birth is None:
            return (
                "date of birth not given: a screening needs it, since only adults may be "
                f"treated ({ADULT_AGE} or over)"
            )
        if self.age is not None and self.age < ADULT_AGE:
            return (
                f"the client is {self.age} (born {self.date_of_birth.isoformat()}): "
                "professional microcurrent facials are for adults only"
            )
        return None

    @property
    def waited_out(self) -> tuple[TimedAnswer, ...]:
        """The dated yes answers whose wait is over: they no longer block."""
        return tuple(t for t in self.timed if t.over(self.today))

    @property
    def cleared(self) -> bool:
        """True when treatment may start."""
        return not (
            self.absolute
            or self.relative_unresolved
            or self.unanswered
            or self.undated
            or self.age_problem
        )

    def timed_answer(self, contraindication_id: str) -> TimedAnswer | None:
        """The dated answer to ``contraindication_id``, if it has one."""
        return next((t for t in self.timed if t.item.id == contraindication_id), None)

    def reasons(self) -> list[str]:
        """Why treatment may not start, one sentence each; empty when cleared."""
        reasons = [self.age_problem] if self.age_problem else []
        reasons += [
            f"absolute contraindication: {c.question} — {c.why}{self._wait_note(c)}"
            for c in self.absolute
        ]
        reasons += [
            f"relative contraindication needs a professional override: {c.question}"
            f"{self._wait_note(c)}"
            for c in self.relative_unresolved
        ]
        reasons += [
            f"date needed: {c.question} — a yes needs the date of the {c.event}, from which "
            f"the {c.wait.describe() if c.wait else ''} wait is counted"
            for c in self.undated
        ]
        reasons += [f"not answered: {c.question}" for c in self.unanswered]
        return reasons

    def notes(self) -> list[str]:
        """What the decision rests on besides the blocks: the age, and every wait that is over
        (so "no longer blocks" is said, not silently assumed)."""
        notes = []
        if self.date_of_birth is not None and self.age_problem is None:
            notes.append(f"age {self.age} (born {self.date_of_birth.isoformat()})")
        notes += [t.describe(self.today) for t in self.waited_out]
        return notes

    def _wait_note(self, item: Contraindication) -> str:
        timed = self.timed_answer(item.id)
        return f" ({timed.describe(self.today)})" if timed is not None else ""


@dataclass
class Screening:
    """A client's answers (``True`` = yes, the condition applies), the dates of time-limited
    ones, the date of birth, and any overrides."""

    answers: dict[str, bool] = field(default_factory=dict)
    overrides: dict[str, Override] = field(default_factory=dict)
    screened_by: str = ""
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: {contraindication id: the date of its event}, for yes answers to questions with a wait.
    dates: dict[str, date] = field(default_factory=dict)
    date_of_birth: date | None = None
    #: The version of the question set this screening is asked with.
    version: int = field(default_factory=lambda: question_version())

    def answer(self, contraindication_id: str, applies: bool, on: date | None = None) -> None:
        """Record one answer (and, for a yes to a question with a wait, its date); unknown ids
        and dates in the future are refused. A 'no' forgets the date and any override."""
        item = _known(contraindication_id)
        if not applies and on is not None:
            raise ScreeningError(f"a date goes with a yes, not a no ({item.question!r})")
        if on is not None:
            self._check_date(item, on)
        self.answers[contraindication_id] = bool(applies)
        if not applies:
            self.dates.pop(contraindication_id, None)
            self.overrides.pop(contraindication_id, None)
        elif on is not None:
            self.dates[contraindication_id] = on

    def give_date(self, contraindication_id: str, on: date | None) -> None:
        """The date of a yes answer's event (None: not known yet, which blocks)."""
        item = _known(contraindication_id)
        if on is None:
            self.dates.pop(contraindication_id, None)
            return
        if self.answers.get(contraindication_id) is not True:
            raise ScreeningError(f"answer yes before giving a date ({item.question!r})")
        self._check_date(item, on)
        self.dates[contraindication_id] = on

    def give_date_of_birth(self, born: date | None, today: date | None = None) -> None:
        """The client's date of birth (None: not given, which blocks); refused in the future
        or more than :data:`OLDEST_AGE` years ago."""
        if born is not None:
            check_date_of_birth(born, today)
        self.date_of_birth = born

    def override(self, contraindication_id: str, reason: str, practitioner: str) -> None:
        """Record a professional override of a *relative* contraindication, with its reason."""
        item = _known(contraindication_id)
        if item.severity is Severity.ABSOLUTE:
            raise ScreeningError(
                f"{item.question!r} is an absolute contraindication and cannot be overridden"
            )
        if item.wait is not None and self.answers.get(item.id) and item.id not in self.dates:
            raise ScreeningError(
                f"give the date of the {item.event} first: the {item.wait.describe()} wait "
                "is counted from it"
            )
        if len(reason.strip()) < MIN_OVERRIDE_REASON:
            raise ScreeningError(
                f"an override needs a reason of at least {MIN_OVERRIDE_REASON} characters"
            )
        if not practitioner.strip():
            raise ScreeningError("an override must name the practitioner who made it")
        self.overrides[contraindication_id] = Override(
            contraindication_id, reason.strip(), practitioner.strip()
        )

    def evaluate(self, today: date | None = None) -> ScreeningResult:
        """Apply the rule to the current answers, on ``today`` (the computer's date if None)."""
        today = today or date.today()
        absolute, unresolved, overridden, unanswered, undated, timed = [], [], [], [], [], []
        for item in contraindications().values():
            answer = self.answers.get(item.id)
            if answer is None:
                unanswered.append(item)
                continue
            if not answer:
                continue
            if item.wait is not None:
                on = self.dates.get(item.id)
                if on is None:
                    undated.append(item)
                    continue
                dated = TimedAnswer(item, on, item.wait.end(on))
                timed.append(dated)
                if dated.over(today):
                    continue
            if item.severity is Severity.ABSOLUTE:
                absolute.append(item)
            elif item.id in self.overrides:
                overridden.append((item, self.overrides[item.id]))
            else:
                unresolved.append(item)
        born = self.date_of_birth
        return ScreeningResult(
            tuple(absolute),
            tuple(unresolved),
            tuple(overridden),
            tuple(unanswered),
            undated=tuple(undated),
            timed=tuple(timed),
            date_of_birth=born,
            age=age_on(born, today) if born is not None else None,
            today=today,
        )

    @classmethod
    def all_clear(cls, screened_by: str = "", date_of_birth: date | None = None) -> Screening:
        """A screening where every question was answered 'no', of an adult (for simulations,
        training scenarios and tests: a real client's screening asks every question)."""
        return cls(
            answers=dict.fromkeys(contraindications(), False),
            screened_by=screened_by,
            date_of_birth=date_of_birth or TRAINING_CLIENT_BIRTH,
        )

    def _check_date(self, item: Contraindication, on: date, today: date | None = None) -> None:
        if item.wait is None:
            raise ScreeningError(f"{item.question!r} asks for no date")
        if on > (today or date.today()):
            raise ScreeningError(
                f"the date of the {item.event} ({on.isoformat()}) is in the future: give the "
                "date it happened"
            )


def age_on(born: date, today: date) -> int:
    """Age in whole years on ``today`` (someone born on 29 February turns a year older on
    1 March in other years)."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def check_date_of_birth(born: date, today: date | None = None) -> None:
    """Refuse a date of birth in the future or more than :data:`OLDEST_AGE` years ago."""
    today = today or date.today()
    if born > today:
        raise ScreeningError(f"the date of birth {born.isoformat()} is in the future")
    if age_on(born, today) > OLDEST_AGE:
        raise ScreeningError(f"the date of birth {born.isoformat()} is not plausible")


def question_version() -> int:
    """The version of the shipped question set."""
    return _question_set()[0]


@cache
def contraindications() -> Mapping[str, Contraindication]:
    """The shipped screening questions by id, in the order they are asked."""
    return _question_set()[1]


@cache
def _question_set() -> tuple[int, Mapping[str, Contraindication]]:
    text = (
        resources.files("resources")
        .joinpath(CONTRAINDICATIONS_RESOURCE)
        .read_text(encoding="utf-8")
    )
    data = json.loads(text)
    items = {}
    for raw in data["contraindications"]:
        days, months = int(raw.get("wait_days", 0)), int(raw.get("wait_months", 0))
        items[raw["id"]] = Contraindication(
            id=raw["id"],
            severity=Severity(raw["severity"]),
            question=raw["question"],
            why=raw["why"],
            wait=Wait(days, months) if days or months else None,
            event=raw.get("event", ""),
        )
    return int(data.get("version", 1)), items


def _known(contraindication_id: str) -> Contraindication:
    try:
        return contraindications()[contraindication_id]
    except KeyError:
        raise ScreeningError(f"unknown screening question {contraindication_id!r}") from None


def _days(count: int) -> str:
    return f"{count} day{'' if count == 1 else 's'}"
