"""The treatment workflow: consultation → cleansing → application → moisturization → follow-up.

A :class:`Visit` holds everything recorded at each stage and decides which stage may be entered
next (and, when not, says why). It is plain Python: the UI's workflow panel shows it and sends the
operator's entries in; the records store (a later issue) saves it through :class:`VisitObserver`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from console.engine.events import EngineState, SessionSummary
from console.screening import Screening, ScreeningResult


class Stage(enum.IntEnum):
    """The five stages, in order."""

    CONSULTATION = 0
    CLEANSING = 1
    APPLICATION = 2
    MOISTURIZATION = 3
    FOLLOW_UP = 4

    @property
    def title(self) -> str:
        """``Follow-up`` etc., for the screen."""
        return _TITLES[self]


_TITLES = {
    Stage.CONSULTATION: "Consultation",
    Stage.CLEANSING: "Cleansing",
    Stage.APPLICATION: "Application",
    Stage.MOISTURIZATION: "Moisturization",
    Stage.FOLLOW_UP: "Follow-up",
}

#: What a professional does before the probes touch the skin: clean, oil-free skin conducts evenly.
CLEANSING_CHECKLIST = (
    "Make-up removed, eyes and lips included",
    "Skin cleansed and rinsed",
    "Skin toned / degreased so the gel makes even contact",
    "Jewellery and metal hair clips removed from the face and neck",
    "Conductive gel applied to the first zones",
)
#: After the current: remove gel, restore the skin barrier, look at the skin.
MOISTURIZATION_CHECKLIST = (
    "Remaining gel removed with a damp compress",
    "Serum applied",
    "Moisturiser applied",
    "Sun protection applied (day-time visit)",
    "Skin looked at under good light (redness, irritation)",
)


class Reaction(enum.StrEnum):
    """Reactions worth recording after microcurrent (redness is the common, expected one)."""

    REDNESS = "redness"
    TINGLING = "tingling"
    METALLIC_TASTE = "metallic taste"
    TWITCHING = "visible twitching"  #: the setting was too high
    IRRITATION = "irritation"
    HEADACHE = "headache"
    LIGHT_FLASHES = "light flashes"  #: current near the eyes: stay on the orbital bone


class ReactionSeverity(enum.StrEnum):
    """How strong a reaction was, as the practitioner judged it."""

    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class ReactionDuration(enum.StrEnum):
    """How long a reaction lasted, as far as the visit saw it."""

    DURING = "only during the treatment"
    MINUTES = "faded within minutes"
    HOURS = "lasted hours"
    STILL_PRESENT = "still present at the end of the visit"


@dataclass(frozen=True, slots=True)
class ObservedReaction:
    """One reaction seen at the visit: what, how strong, how long."""

    reaction: Reaction
    severity: ReactionSeverity
    duration: ReactionDuration

    def describe(self) -> str:
        """``redness — mild, faded within minutes``."""
        return f"{self.reaction.value} — {self.severity.value}, {self.duration.value}"


@dataclass
class Client:
    """Who is treated. ``reference`` is the records store's id, when there is one."""

    name: str
    goals: str = ""
    date_of_birth: date | None = None
    reference: str | None = None


@dataclass
class FollowUp:
    """What the operator records after the treatment (``recorded_at`` None: not yet; recorded
    with no reactions: none was seen). The next appointment is a day, or a moment (a
    ``datetime``) when a time was booked."""

    reactions: tuple[ObservedReaction, ...] = ()
    notes: str = ""
    next_appointment: date | None = None
    recorded_at: datetime | None = None

    @property
    def lingering(self) -> tuple[ObservedReaction, ...]:
        """The reactions still present when the client left."""
        return tuple(r for r in self.reactions if r.duration is ReactionDuration.STILL_PRESENT)


class WorkflowError(ValueError):
    """A stage cannot be entered yet, or an entry is invalid; the message says why."""


VisitObserver = Callable[["Visit", str], None]


@dataclass
class Visit:
    """One client's visit through the five stages."""

    client: Client
    practitioner: str
    screening: Screening = field(default_factory=Screening)
    consent_by: str | None = None
    consent_at: datetime | None = None
    cleansing: dict[str, bool] = field(
        default_factory=lambda: dict.fromkeys(CLEANSING_CHECKLIST, False)
    )
    moisturization: dict[str, bool] = field(
        default_factory=lambda: dict.fromkeys(MOISTURIZATION_CHECKLIST, False)
    )
    application: SessionSummary | None = None
    follow_up: FollowUp = field(default_factory=FollowUp)
    stage: Stage = Stage.CONSULTATION
    observers: list[VisitObserver] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._sync_date_of_birth()

    # -- entries ---------------------------------------------------------------------------

    def give_date_of_birth(self, born: date | None) -> None:
        """The client's date of birth, which the screening's age rule reads (None: not given,
        which blocks). Refused in the future or implausibly long ago (``ScreeningError``)."""
        self.screening.give_date_of_birth(born)
        self.client.date_of_birth = born
        self._changed("date of birth")

    def record_consent(self, given_by: str) -> None:
        """The client consented to the treatment (after the screening was explained)."""
        if not given_by.strip():
            raise WorkflowError("consent must name who gave it")
        self.consent_by = given_by.strip()
        self.consent_at = datetime.now(UTC)
        self._changed("consent")

    def check(self, stage: Stage, item: str, done: bool = True) -> None:
        """Tick (or untick) an item of the cleansing or moisturization checklist."""
        checklist = self._checklist(stage)
        if item not in checklist:
            raise WorkflowError(f"{item!r} is not on the {stage.title.lower()} checklist")
        checklist[item] = done
        self._changed(f"{stage.name.lower()} checklist")

    def record_application(self, summary: SessionSummary) -> None:
        """The application stage's session ended (finished, aborted or interrupted). A new
        session after one that did not finish replaces it here (both stay in the records)."""
        self.application = summary
        self._changed("application")

    def record_follow_up(
        self,
        reactions: Iterable[ObservedReaction],
        notes: str,
        next_appointment: date | None,
    ) -> None:
        """Reactions seen, each with how strong and how long (none: an empty list), notes, and
        the next appointment: a day after today, or a moment in the future."""
        reactions = tuple(reactions)
        for entry in reactions:
            if not isinstance(entry, ObservedReaction):
                raise WorkflowError(
                    f"{entry!s}: record how strong the reaction was and how long it lasted"
                )
        kinds = [entry.reaction for entry in reactions]
        twice = sorted({k.value for k in kinds if kinds.count(k) > 1})
        if twice:
            raise WorkflowError(f"{', '.join(twice)} recorded twice")
        if isinstance(next_appointment, datetime):
            if next_appointment.tzinfo is None:
                raise WorkflowError(
                    "the next appointment needs a time zone (a local time is ambiguous)"
                )
            if next_appointment <= datetime.now(UTC):
                raise WorkflowError("the next appointment must be in the future")
        elif next_appointment is not None and next_appointment <= date.today():
            raise WorkflowError("the next appointment must be on a day after today")
        self.follow_up = FollowUp(
            tuple(sorted(reactions, key=lambda r: list(Reaction).index(r.reaction))),
            notes.strip(),
            next_appointment,
            datetime.now(UTC),
        )
        self._changed("follow-up")

    # -- rules -----------------------------------------------------------------------------

    @property
    def screening_result(self) -> ScreeningResult:
        """The current decision of the screening."""
        self._sync_date_of_birth()
        return self.screening.evaluate()

    def blockers(self, stage: Stage) -> list[str]:
        """Why ``stage`` cannot be entered now; empty when it can."""
        reasons: list[str] = []
        if stage >= Stage.CLEANSING:
            if not self.client.name.strip():
                reasons.append("the client's name is missing")
            reasons.extend(self.screening_result.reasons())
            if self.consent_by is None:
                reasons.append("the client's consent is not recorded")
        if stage >= Stage.APPLICATION:
            missing = [item for item, done in self.cleansing.items() if not done]
            if missing:
                reasons.append("cleansing not finished: " + "; ".join(missing))
        if stage >= Stage.MOISTURIZATION and self.application is None:
            reasons.append("the application stage has not run")
        if stage >= Stage.FOLLOW_UP:
            missing = [item for item, done in self.moisturization.items() if not done]
            if missing:
                reasons.append("moisturization not finished: " + "; ".join(missing))
        return reasons

    def go_to(self, stage: Stage) -> None:
        """Enter ``stage`` (forward only once the rules allow it; back to look is always allowed,
        except into Application once it has run to its end — a finished session is never re-run
        in the same visit, while one that was stopped may be followed by a new session)."""
        if (
            stage is Stage.APPLICATION
            and self.application_ended_cleanly
            and self.stage is not stage
        ):
            raise WorkflowError("the application stage has already run in this visit")
        if stage > self.stage:
            reasons = self.blockers(stage)
            if reasons:
                raise WorkflowError(f"{stage.title} cannot start: " + "; ".join(reasons))
        self.stage = stage
        self._changed("stage")

    @property
    def may_treat_again(self) -> bool:
        """True when the application ran and did not finish (a stop, an emergency stop, a
        trip, a machine failure): a new session for the same client may follow."""
        return self.application is not None and not self.application_ended_cleanly

    @property
    def application_ended_cleanly(self) -> bool:
        """True when the application ran to its end."""
        return self.application is not None and self.application.state is EngineState.FINISHED

    def _checklist(self, stage: Stage) -> dict[str, bool]:
        if stage is Stage.CLEANSING:
            return self.cleansing
        if stage is Stage.MOISTURIZATION:
            return self.moisturization
        raise WorkflowError(f"{stage.title} has no checklist")

    def _sync_date_of_birth(self) -> None:
        """A screening put in place without the date of birth takes the client's."""
        if self.screening.date_of_birth is None and self.client.date_of_birth is not None:
            self.screening.date_of_birth = self.client.date_of_birth

    def _changed(self, what: str) -> None:
        for observer in list(self.observers):
            observer(self, what)
