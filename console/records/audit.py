"""The audit trail: who looked at, printed, exported, changed or erased which client's records.

Every entry says who (the signed-in account, or, in a clinic without accounts, the computer's
user), when (UTC), what (:data:`ACTIONS`), which client (by id only: never a name or anything of
the record, so the trail may outlive an erasure) and from which workstation (the host name).

The trail is tamper-evident: entries are numbered 1, 2, 3… and each carries the SHA-256 of the
one before (:data:`GENESIS` for the first) and its own hash over a canonical encoding of all its
fields (:func:`canonical`). Changing, removing or inserting an entry breaks the chain at that
point, and :func:`verify` names the first entry where it breaks. The database also refuses to
update or delete an entry (triggers, revision 0008). What a chain alone cannot show is the newest
entries removed together: :func:`verify` gives the count and the last hash, which an
administrator can note down to compare with later.

Appends from several consoles take turns (the SQLite write lock; a PostgreSQL advisory lock),
so the numbering and the chain stay whole.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session as OrmSession

from console.records.models import AuditEntry, now_utc
from console.records.signed_in import SignedIn

if TYPE_CHECKING:
    from console.records.store import RecordStore

#: The previous hash of the first entry.
GENESIS = "0" * 64
#: The kinds of access the trail records.
VIEW = "view"  # a client's record (or their sessions) shown
REPORT = "report"  # a session's report printed or saved as PDF
EXPORT = "export"  # records written to a file (CSV, the client's own export)
CHANGE = "change"  # something recorded or changed about a client
DELETE = "delete"  # a record deleted
ERASE = "erase"  # a client erased with everything about them (the right to erasure)
SIGN_IN = "sign-in"
REFUSED = "refused"  # a sign-in refused (wrong secret, unknown name, locked account)
ACCOUNT = "account"  # an account created, unlocked or disabled
ACTIONS = (VIEW, REPORT, EXPORT, CHANGE, DELETE, ERASE, SIGN_IN, REFUSED, ACCOUNT)
#: The role written for an access made without an account (a clinic that has none yet).
NO_ACCOUNT = "none"
#: The PostgreSQL advisory lock appends take turns on.
_LOCK = "mc_console_audit"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One entry of the trail, as read back."""

    id: int
    at: datetime
    actor: str
    role: str
    action: str
    client_id: int | None
    detail: str
    workstation: str
    previous_hash: str
    entry_hash: str


@dataclass(frozen=True, slots=True)
class BrokenLink:
    """Where the chain breaks: the first entry that does not follow from the ones before."""

    entry_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class Verification:
    """What :func:`verify` found: how many entries it read, the last entry's hash (to note
    down and compare with later), and the first broken link (None: the chain is whole)."""

    entries: int
    head_hash: str
    broken: BrokenLink | None

    @property
    def intact(self) -> bool:
        """True when every entry follows from the one before."""
        return self.broken is None


def workstation() -> str:
    """This computer's host name, as the trail names it."""
    return socket.gethostname() or "unknown host"


def actor_of(who: SignedIn | None) -> tuple[str, str]:
    """(actor, role) for an entry: the account, or the computer's user when there is none."""
    if who is not None:
        return who.name, who.role.value
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no user name in the environment nor the password database
        uid = getattr(os, "getuid", None)  # POSIX only; Windows always has a user name
        user = f"uid {uid()}" if uid is not None else "unknown user"
    return f"{user} (no account)", NO_ACCOUNT


def canonical(
    entry_id: int,
    at: datetime,
    actor: str,
    role: str,
    action: str,
    client_id: int | None,
    detail: str,
    workstation_name: str,
    previous_hash: str,
) -> bytes:
    """The bytes an entry's hash is taken over: its fields as JSON with sorted keys, no blanks,
    UTF-8, the time in UTC to the microsecond (what every backend gives back unchanged)."""
    fields = {
        "action": action,
        "actor": actor,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "client_id": client_id,
        "detail": detail,
        "id": entry_id,
        "previous_hash": previous_hash,
        "role": role,
        "workstation": workstation_name,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def hash_of(*fields: Any) -> str:
    """The SHA-256 (hex) of :func:`canonical` of ``fields``."""
    return hashlib.sha256(canonical(*fields)).hexdigest()


def append(
    db: OrmSession,
    who: SignedIn | None,
    action: str,
    client_id: int | None = None,
    detail: str = "",
    *,
    actor: tuple[str, str] | None = None,
) -> AuditRecord:
    """Append one entry inside the caller's transaction (so that the access and its entry are
    committed together, or neither). ``actor`` overrides who is named (a refused sign-in has
    no account). ``detail`` must hold no client data: the trail outlives an erasure."""
    (entry,) = append_many(db, who, action, [client_id], detail, actor=actor)
    return entry


def append_many(
    db: OrmSession,
    who: SignedIn | None,
    action: str,
    client_ids: Iterable[int | None],
    detail: str = "",
    *,
    actor: tuple[str, str] | None = None,
) -> list[AuditRecord]:
    """One entry per client of ``client_ids``, chained in order, inside the caller's
    transaction: the chain's end is read once and the entries go in as one batch (a listing
    of thousands of clients costs one round trip, not thousands)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    wanted = list(client_ids)
    if not wanted:
        return []
    if db.get_bind().dialect.name == "postgresql":
        # Held to the end of the transaction: appends from every room take turns here.
        db.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": _LOCK})
    last = db.execute(
        select(AuditEntry.id, AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1)
    ).first()
    entry_id, previous = (0, GENESIS) if last is None else (last.id, last.entry_hash)
    name, role = actor or actor_of(who)
    at = now_utc()
    place = workstation()
    made = []
    for client_id in wanted:
        entry_id += 1
        digest = hash_of(entry_id, at, name, role, action, client_id, detail, place, previous)
        made.append(
            AuditRecord(
                entry_id, at, name, role, action, client_id, detail, place, previous, digest
            )
        )
        previous = digest
    db.execute(insert(AuditEntry), [_row(entry) for entry in made])
    return made


def _row(entry: AuditRecord) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at,
        "actor": entry.actor,
        "role": entry.role,
        "action": entry.action,
        "client_id": entry.client_id,
        "detail": entry.detail,
        "workstation": entry.workstation,
        "previous_hash": entry.previous_hash,
        "entry_hash": entry.entry_hash,
    }


def record(
    store: RecordStore,
    who: SignedIn | None,
    action: str,
    client_ids: Iterable[int | None] = (None,),
    detail: str = "",
) -> list[AuditRecord]:
    """Append one entry per client of ``client_ids`` (in one transaction): what the window and
    the command line call after each access they make."""
    with store._transaction() as db:
        return append_many(db, who, action, client_ids, detail)


def entries(
    store: RecordStore, client_ids: Iterable[int] | None = None, limit: int | None = None
) -> list[AuditRecord]:
    """The trail, oldest first (the newest ``limit`` entries when given), of ``client_ids``
    only when given."""
    statement = select(AuditEntry).order_by(AuditEntry.id.desc())
    if client_ids is not None:
        statement = statement.where(AuditEntry.client_id.in_(list(client_ids)))
    if limit is not None:
        statement = statement.limit(limit)
    with store._transaction() as db:
        rows = db.scalars(statement).all()
        return [_record(row) for row in reversed(rows)]


def verify(store: RecordStore) -> Verification:
    """Walk the whole chain, oldest first, and say where it first breaks (if it does)."""
    count = 0
    previous = GENESIS
    expected_id = 1
    with store._connect() as connection:
        table = AuditEntry.__table__
        rows = connection.execution_options(yield_per=1000).execute(
            select(table).order_by(table.c.id)
        )
        for row in rows:
            count += 1
            broken = _check(row, expected_id, previous)
            if broken is not None:
                return Verification(count, previous, broken)
            previous = row.entry_hash
            expected_id = row.id + 1
    return Verification(count, previous, None)


def _check(row: Any, expected_id: int, previous: str) -> BrokenLink | None:
    """Why ``row`` does not follow from the entry before it (None: it does)."""
    if row.id != expected_id:
        return BrokenLink(
            row.id, f"entry {expected_id} is missing (the entry before this one is gone)"
        )
    if row.previous_hash != previous:
        return BrokenLink(row.id, "it does not point at the entry before it")
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
    digest = hash_of(
        row.id,
        at,
        row.actor,
        row.role,
        row.action,
        row.client_id,
        row.detail,
        row.workstation,
        row.previous_hash,
    )
    if digest != row.entry_hash:
        return BrokenLink(row.id, "its content was changed after it was written")
    return None


def _record(row: AuditEntry) -> AuditRecord:
    return AuditRecord(
        row.id,
        row.at,
        row.actor,
        row.role,
        row.action,
        row.client_id,
        row.detail,
        row.workstation,
        row.previous_hash,
        row.entry_hash,
    )
