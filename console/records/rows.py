"""What the record store hands out: plain data, no ORM objects, and nothing of the database
layer, so that the window can build its records views before SQLAlchemy is loaded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

# -- what the store hands out (plain data, no ORM objects outside a transaction) ---------------


@dataclass(frozen=True, slots=True)
class ClientSummary:
    """A row of the client list."""

    id: int
    name: str
    birth_year: int | None
    sessions: int
    last_visit: datetime | None
    #: The full date, for clients recorded with one (revision 0006 on).
    date_of_birth: date | None = None


class StepRow(NamedTuple):
    """One delivered step (a named tuple: an export makes hundreds of thousands)."""

    index: int
    zone: str
    planned_s: float
    actual_s: float
    mean_current_ua: float
    charge_uc: float
    mean_impedance_kohm: float | None
    completed: bool
    #: Signed charge, µC; None for a step recorded before the console measured it.
    net_charge_uc: float | None = None


@dataclass(frozen=True, slots=True)
class EventRow:
    """One safety event, ``at_s`` after the session started."""

    at_s: float
    kind: str
    message: str
    action: str


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """What a session row itself says: who, what, on which machine, when, how it ended."""

    id: str
    client_id: int | None
    client_name: str
    practitioner: str
    protocol_id: str
    protocol_version: str
    protocol_name: str
    machine: str
    simulated: bool
    started_at: datetime
    ended_at: datetime | None
    state: str
    reason: str


@dataclass(frozen=True, slots=True)
class SessionRow(SessionFacts):
    """One session with everything delivered in it."""

    steps: tuple[StepRow, ...]
    events: tuple[EventRow, ...]
    notes: tuple[NoteRow, ...] = ()
    #: The client's goals as stated at this session's visit (empty: none stated, or a session
    #: recorded before visits kept them). Read with the client's record and :meth:`RecordStore.session`.
    goals: str = ""

    @property
    def total_charge_uc(self) -> float:
        """Charge over the whole session, µC."""
        return sum(step.charge_uc for step in self.steps)

    @property
    def total_net_charge_uc(self) -> float | None:
        """Signed charge over the whole session, µC; None if a step lacks it (an old record)."""
        nets = [step.net_charge_uc for step in self.steps]
        return None if any(net is None for net in nets) else sum(nets)  # type: ignore[misc]


#: Where the charges are in an exported step's tuple (the session id, then StepRow's fields).
_STEP_CHARGE = 1 + StepRow._fields.index("charge_uc")
_STEP_NET = 1 + StepRow._fields.index("net_charge_uc")


@dataclass(frozen=True, slots=True)
class ExportedSession(SessionFacts):
    """What the CSV export writes of a session (:meth:`RecordStore.iter_export`): its own
    facts and its steps as plain tuples, each the session's id followed by :class:`StepRow`'s
    fields in their order."""

    steps: Sequence[tuple[Any, ...]]

    @property
    def total_charge_uc(self) -> float:
        """Charge over the whole session, µC."""
        return sum(step[_STEP_CHARGE] for step in self.steps)

    @property
    def total_net_charge_uc(self) -> float | None:
        """Signed charge over the whole session, µC; None if a step lacks it (an old record)."""
        nets = [step[_STEP_NET] for step in self.steps]
        return None if None in nets else sum(nets)

    @classmethod
    def of(cls, row: SessionRow) -> ExportedSession:
        """A session already read in full, for the export."""
        facts = {field.name: getattr(row, field.name) for field in fields(SessionFacts)}
        return cls(**facts, steps=[(row.id, *step) for step in row.steps])


#: How strong a recorded reaction may be (``console.workflow.ReactionSeverity``'s values).
REACTION_SEVERITIES = ("mild", "moderate", "severe")


@dataclass(frozen=True, slots=True)
class ReactionRow:
    """A reaction recorded at a visit: what, how strong and how long (the last two None for
    notes recorded before they were kept, whose reactions are names only)."""

    kind: str
    severity: str | None = None
    duration: str | None = None

    def describe(self) -> str:
        """``redness — mild, faded within minutes``, or ``redness`` for an older record."""
        detail = ", ".join(part for part in (self.severity, self.duration) if part)
        return f"{self.kind} — {detail}" if detail else self.kind

    def stored(self) -> str | dict[str, str]:
        """As the ``notes.reactions`` JSON keeps it: a name alone, or kind, severity and
        duration."""
        if self.severity is None and self.duration is None:
            return self.kind
        return {"kind": self.kind, "severity": self.severity or "", "duration": self.duration or ""}

    @classmethod
    def read(cls, stored: object) -> ReactionRow:
        """From the JSON: a name (older notes) or the structured entry."""
        if isinstance(stored, dict):
            return cls(
                str(stored.get("kind", "")),
                str(stored["severity"]) if stored.get("severity") else None,
                str(stored["duration"]) if stored.get("duration") else None,
            )
        return cls(str(stored))


@dataclass(frozen=True, slots=True)
class NoteRow:
    """Follow-up notes of a visit."""

    at: datetime
    practitioner: str
    reactions: tuple[ReactionRow, ...]
    text: str
    #: The session of the visit it follows (None: a note made outside a visit).
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class ScreeningRow:
    """One screening as recorded."""

    at: datetime
    practitioner: str
    cleared: bool
    summary: str
    answers: dict[str, bool]
    overrides: dict[str, str]
    #: The version of the question set asked (screenings recorded before versions were kept
    #: were all asked from version 1).
    question_version: int = 1
    #: The dates given with time-limited yes answers, by question.
    dates: dict[str, date] = field(default_factory=dict)
    #: The date of birth the age rule was applied to (None: not given, or an older record).
    date_of_birth: date | None = None


@dataclass(frozen=True, slots=True)
class FollowUpRow:
    """A planned appointment: a day (``due_on``) or, booked before days were kept, a moment
    (``due_at``)."""

    due_at: datetime | None
    practitioner: str
    notes: str
    due_on: date | None = None
    #: The session of the visit that booked it (None: booked outside a visit).
    session_id: str | None = None

    @property
    def day(self) -> date:
        """The day of the appointment, in the console's time zone for a booked moment."""
        if self.due_on is not None:
            return self.due_on
        assert self.due_at is not None, "an appointment has a day or a moment"
        return self.due_at.astimezone().date()

    def describe(self) -> str:
        """``Thursday 5 March 2026``, with ``at 14:00`` for an appointment booked with a time."""
        text = f"{self.day:%A} {self.day.day} {self.day:%B %Y}"
        if self.due_on is None and self.due_at is not None:
            text += f" at {self.due_at.astimezone():%H:%M}"
        return text

    def upcoming(self, now: datetime | None = None) -> bool:
        """True when the appointment is still ahead (a day: today or later)."""
        now = now or datetime.now(UTC)
        if self.due_on is None and self.due_at is not None:
            return self.due_at > now
        return self.day >= now.astimezone().date()


@dataclass(frozen=True, slots=True)
class SavedFollowUp:
    """Where a visit's follow-up is in the records: its note, and its appointment if one was
    booked. Given back to :meth:`RecordStore.save_follow_up`, the next save of the same visit
    updates these rows instead of adding a second follow-up."""

    note_id: int
    plan_id: int | None


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """Everything about one client, newest first."""

    id: int
    name: str
    birth_year: int | None
    phone: str
    email: str
    goals: str
    created_at: datetime
    screenings: tuple[ScreeningRow, ...]
    sessions: tuple[SessionRow, ...]
    notes: tuple[NoteRow, ...]
    follow_ups: tuple[FollowUpRow, ...]
    #: The full date of birth (None: not given, or only the year, for clients recorded before).
    date_of_birth: date | None = None

    @property
    def born(self) -> str:
        """``1978-03-02``, or ``1978`` for a client whose record has the year only; empty if
        neither was given."""
        if self.date_of_birth is not None:
            return self.date_of_birth.isoformat()
        return str(self.birth_year) if self.birth_year is not None else ""
