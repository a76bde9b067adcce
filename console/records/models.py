"""The client-record tables (SQLAlchemy 2 declarative), as the migrations leave them.

Every record names the practitioner who made it. Times are stored in UTC. Deleting a client
deletes everything about them (``ON DELETE CASCADE`` and ORM cascades both, so a plain SQL
delete on PostgreSQL and an ORM delete on SQLite behave the same).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a stored time must carry its time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value if value.tzinfo else value.replace(tzinfo=UTC)


def now_utc() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """The records' declarative base."""


class Practitioner(Base):
    """An esthetician or trainer; every record names one."""

    __tablename__ = "practitioners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)


class Client(Base):
    """A person treated at the clinic."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    #: The name's search form (case-folded, no accents: console.records.names), indexed, for
    #: fast search on every backend; never cut short, so it is unbounded text.
    search_name: Mapped[str] = mapped_column(Text, index=True)
    #: The year alone: what clients recorded before revision 0006 have (and kept beside the
    #: full date for the client list).
    birth_year: Mapped[int | None] = mapped_column(Integer)
    #: The full date (revision 0006): the screening's age rule reads it.
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(120), default="")
    goals: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))

    screenings: Mapped[list[Screening]] = relationship(
        back_populates="client", cascade="all, delete-orphan", passive_deletes=True
    )
    consents: Mapped[list[Consent]] = relationship(
        back_populates="client", cascade="all, delete-orphan", passive_deletes=True
    )
    sessions: Mapped[list[TreatmentSession]] = relationship(
        back_populates="client", cascade="all, delete-orphan", passive_deletes=True
    )
    notes: Mapped[list[Note]] = relationship(
        back_populates="client", cascade="all, delete-orphan", passive_deletes=True
    )
    follow_ups: Mapped[list[FollowUpPlan]] = relationship(
        back_populates="client", cascade="all, delete-orphan", passive_deletes=True
    )


class Screening(Base):
    """One contraindication screening: every answer, the overrides with their reasons."""

    __tablename__ = "screenings"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)
    #: {contraindication id: true/false}
    answers: Mapped[dict[str, bool]] = mapped_column(JSON)
    #: {contraindication id: reason}, relative contraindications only
    overrides: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    cleared: Mapped[bool] = mapped_column(Boolean)
    summary: Mapped[str] = mapped_column(Text, default="")
    #: The version of the question set asked (revision 0006; None before it: version 1).
    question_version: Mapped[int | None] = mapped_column(Integer)
    #: {contraindication id: "YYYY-MM-DD"}, the dates given with time-limited yes answers.
    dates: Mapped[dict[str, str] | None] = mapped_column(JSON)
    #: The date of birth the age rule was applied to.
    date_of_birth: Mapped[date | None] = mapped_column(Date)

    client: Mapped[Client] = relationship(back_populates="screenings")


class Consent(Base):
    """The client's informed consent, as given."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)
    text: Mapped[str] = mapped_column(Text)

    client: Mapped[Client] = relationship(back_populates="consents")


class TreatmentSession(Base):
    """One application stage: written before the output first turns on, closed at its end.

    ``state`` is ``running`` until the end is written; a ``running`` row found when the console
    starts is a session a crash or power cut cut short, and becomes ``interrupted``.
    """

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    protocol_id: Mapped[str] = mapped_column(String(64))
    protocol_version: Mapped[str] = mapped_column(String(32))
    protocol_name: Mapped[str] = mapped_column(String(120))
    driver_id: Mapped[str] = mapped_column(String(64))
    machine_model: Mapped[str] = mapped_column(String(120))
    machine_serial: Mapped[str] = mapped_column(String(120))
    machine_firmware: Mapped[str] = mapped_column(String(120))
    simulated: Mapped[bool] = mapped_column(Boolean)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(16), default="running", index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    #: The console process recording a running session, and until when it vouches that it is
    #: alive (renewed every few seconds); None for sessions recorded before leases.
    lease_owner: Mapped[str | None] = mapped_column(String(160))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: The client's goals as stated at the consultation of this session's visit (revision
    #: 0007; None for sessions recorded before it, or when no goals were stated).
    goals: Mapped[str | None] = mapped_column(Text)

    client: Mapped[Client | None] = relationship(back_populates="sessions")
    practitioner: Mapped[Practitioner] = relationship()
    steps: Mapped[list[StepRecord]] = relationship(
        back_populates="session",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="StepRecord.step_index",
    )
    events: Mapped[list[SafetyEventRecord]] = relationship(
        back_populates="session",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="SafetyEventRecord.id",
    )


class StepRecord(Base):
    """What one step delivered, measured from the samples."""

    __tablename__ = "steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    step_index: Mapped[int] = mapped_column(Integer)
    zone: Mapped[str] = mapped_column(String(64))
    planned_s: Mapped[float] = mapped_column(Float)
    actual_s: Mapped[float] = mapped_column(Float)
    mean_current_ua: Mapped[float] = mapped_column(Float)
    charge_uc: Mapped[float] = mapped_column(Float)
    #: ∫i dt (signed), µC; None for sessions recorded before the console measured it.
    net_charge_uc: Mapped[float | None] = mapped_column(Float)
    mean_impedance_kohm: Mapped[float | None] = mapped_column(Float)
    completed: Mapped[bool] = mapped_column(Boolean)
    #: False while the row is a checkpoint of a step in progress; None (before revision 0005)
    #: and True: the step's end.
    final: Mapped[bool | None] = mapped_column(Boolean)

    session: Mapped[TreatmentSession] = relationship(back_populates="steps")


class SafetyEventRecord(Base):
    """One act of the safety supervisor during a session."""

    __tablename__ = "safety_events"
    __table_args__ = (
        UniqueConstraint("session_id", "ordinal", name="uq_safety_events_session_ordinal"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    at_s: Mapped[float] = mapped_column(Float)  #: seconds since the session started
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    step_index: Mapped[int | None] = mapped_column(Integer)
    #: the event's place in its session (0, 1, …): a replayed journal writes it once
    ordinal: Mapped[int | None] = mapped_column(Integer)

    session: Mapped[TreatmentSession] = relationship(back_populates="events")


class Note(Base):
    """Follow-up notes: reactions seen (e.g. redness) and free text."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[str | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)
    #: Names (notes recorded before severities were kept), or {kind, severity, duration}.
    reactions: Mapped[list[str | dict[str, str]]] = mapped_column(JSON, default=list)
    text: Mapped[str] = mapped_column(Text, default="")

    client: Mapped[Client] = relationship(back_populates="notes")


class FollowUpPlan(Base):
    """The next appointment planned for a client: the day booked (``due_on``, revision 0007),
    or, for appointments booked before it, a moment (``due_at``). One of the two is set."""

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[str | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    due_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")

    client: Mapped[Client] = relationship(back_populates="follow_ups")


Index("ix_sessions_client_started", TreatmentSession.client_id, TreatmentSession.started_at)


class Account(Base):
    """A person who signs in to the records (revision 0008): a practitioner, a trainer or the
    clinic's administrator. The records they make name their :class:`Practitioner` row (the one
    of the same name), so a clinic's history from before accounts keeps its names.

    Only a salted Argon2id hash of the PIN or password is kept; ``failed_attempts`` counts
    refusals since the last sign-in, and ``locked_until`` is when an account locked by too many
    of them may try again."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    #: The name's search form (console.records.names): two accounts may not differ only in
    #: case or accents, or one could sign in as the other by mistake.
    login: Mapped[str] = mapped_column(String(480), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(Text)
    #: "pin" or "password": which rule the secret was checked against.
    secret_kind: Mapped[str] = mapped_column(String(8))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now_utc)
    #: None when the account was the first one (the administrator made at first start).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AuditEntry(Base):
    """One access to the records (revision 0008): who, when (UTC), what, which client (by id
    only: no name, no detail of the record), from which workstation.

    Append-only (the database refuses to update or delete a row); each entry carries the
    SHA-256 of the one before it and its own hash over a canonical encoding of its fields
    (console.records.audit), so a changed, removed or inserted entry breaks the chain.
    ``client_id`` is deliberately not a foreign key: an erased client's entries stay."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(160))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    client_id: Mapped[int | None] = mapped_column(Integer, index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    workstation: Mapped[str] = mapped_column(String(255))
    previous_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)
