"""The client's rights over their records: a copy of everything held about them, and erasure.

* :func:`export_client` writes, into a folder, everything the records hold about one client: a
  machine-readable JSON file (the record, every consent, screening, session with its steps,
  safety events and notes, every note and appointment, and who accessed the record when, from
  the audit trail) and readable PDFs: a summary of the record, and each session's treatment
  report made by the same code as ``mc-console report``. The right of access and to data
  portability (GDPR Art. 15 and 20).
* :func:`erase_client` deletes the client with their screenings, consents, sessions, notes and
  appointments, in one transaction with an audit entry that says an erasure happened, by whom
  and when, and nothing else (no name, no detail): the right to erasure (GDPR Art. 17). On
  SQLite the freed pages are overwritten (``secure_delete``) and the write-ahead log emptied, so
  the erased text does not linger in the file.

Both need the administrator when the records have accounts (:mod:`console.records.accounts`);
both are audited.
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text

from console import __version__
from console.records import audit
from console.records.accounts import accounts_configured, require
from console.records.errors import FieldError, RecordNotFoundError
from console.records.models import Client as ClientModel
from console.records.models import Consent, FollowUpPlan, Note, Practitioner, Screening
from console.records.models import TreatmentSession as SessionModel
from console.records.names import composed, search_form
from console.records.rows import ClientRecord, ClientSummary
from console.records.signed_in import Permission, SignedIn

if TYPE_CHECKING:
    from console.records.store import RecordStore

#: The JSON file's format, named in the file itself so that a reader knows what it holds.
EXPORT_FORMAT = "mc-console client export"
EXPORT_VERSION = 1
#: The title of the readable summary.
SUMMARY_TITLE = "Client record"


@dataclass(frozen=True, slots=True)
class ExportedFiles:
    """What :func:`export_client` wrote: the JSON file, the summary PDF, one PDF per session,
    and the characters no font could print (written as codes, see ``unprintable_note``)."""

    json: Path
    summary_pdf: Path
    session_pdfs: tuple[Path, ...]
    unprintable: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Erased:
    """What :func:`erase_client` deleted, counted (said to the user; never kept)."""

    sessions: int
    screenings: int
    consents: int
    notes: int
    appointments: int


def clients_named(store: RecordStore, name: str) -> list[ClientSummary]:
    """The clients whose name is ``name`` (any case, any accents): not a part of it, since
    exporting or erasing must be about exactly the person meant."""
    key = search_form(composed(name))
    if not key:
        raise FieldError("name", "give the client's name")
    return [c for c in store.search_clients(name, limit=10_000) if search_form(c.name) == key]


def the_client(store: RecordStore, name: str, client_id: int | None = None) -> ClientSummary:
    """The one client called ``name`` (``client_id`` picks one of namesakes); a name that
    matches nobody, or several people without an id, is refused saying what to give."""
    found = clients_named(store, name)
    if client_id is not None:
        found = [c for c in found if c.id == client_id]
    if not found:
        which = f" with id {client_id}" if client_id is not None else ""
        raise RecordNotFoundError(f"no client called {name!r}{which} (see 'sessions --client')")
    if len(found) > 1:
        ids = ", ".join(f"{c.id} (born {c.date_of_birth or c.birth_year or '?'})" for c in found)
        raise FieldError("name", f"{len(found)} clients are called {name!r}: ids {ids}; give --id")
    return found[0]


def export_client(
    store: RecordStore, who: SignedIn | None, client_id: int, folder: Path
) -> ExportedFiles:
    """Write everything held about the client ``client_id`` into ``folder`` (which must exist)
    and audit it. Files are owner-only; each appears whole or not at all."""
    _allowed(store, who)
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise FieldError("out", f"{folder} is a file, not a folder: give a folder with --out")
    if not folder.is_dir():
        raise FieldError("out", f"the folder {folder} does not exist: create it first")
    record = store.client(client_id)
    consents = _consents(store, client_id)
    accesses = audit.entries(store, [client_id])
    stem = f"client-{client_id}"
    data = _export_document(record, consents, accesses, who)
    from console.records.reports import write_session_pdf  # Qt, only when a PDF is made

    # All the files or none: an export cut short (a full disk) or that the trail cannot name
    # takes away what it wrote, so no copy of the record is left that the trail does not show.
    written: list[Path] = []
    missing: list[str] = []
    try:
        json_path = folder / f"{stem}.json"
        written.append(json_path)
        _write_private(json_path, json.dumps(data, ensure_ascii=False, indent=2).encode() + b"\n")
        summary = folder / f"{stem}-record.pdf"
        written.append(summary)
        missing += _write_summary_pdf(record, consents, summary)
        for session in sorted(record.sessions, key=lambda s: s.started_at):
            path = folder / f"{stem}-session-{session.started_at:%Y%m%d}-{session.id[:8]}.pdf"
            written.append(path)
            missing += write_session_pdf(session, record, path)
        audit.record(
            store,
            who,
            audit.EXPORT,
            [client_id],
            f"everything held exported (JSON, {len(written) - 1} PDF file(s))",
        )
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return ExportedFiles(json_path, summary, tuple(written[2:]), tuple(dict.fromkeys(missing)))


def erase_client(
    store: RecordStore, who: SignedIn | None, client_id: int, confirm_name: str
) -> Erased:
    """Delete the client ``client_id`` and everything recorded about them; ``confirm_name``
    must repeat their name. The audit entry saying so is written in the same transaction (an
    erasure is never done without its entry, nor its entry without the erasure)."""
    _allowed(store, who)
    with store._transaction(lock=f"erase:{client_id}") as db:
        row = db.get(ClientModel, client_id)
        if row is None:
            raise RecordNotFoundError(f"no client with id {client_id}")
        if search_form(composed(confirm_name)) != search_form(row.name):
            raise FieldError("confirm_name", "type the client's full name to confirm the erasure")
        counts = Erased(
            sessions=_count(db, SessionModel, client_id),
            screenings=_count(db, Screening, client_id),
            consents=_count(db, Consent, client_id),
            notes=_count(db, Note, client_id),
            appointments=_count(db, FollowUpPlan, client_id),
        )
        if store.is_sqlite:
            # Deleted rows are overwritten with zeros, not merely marked free in the file.
            db.execute(text("PRAGMA secure_delete = ON"))
        db.delete(row)
        db.flush()
        audit.append(db, who, audit.ERASE, client_id, "client erased with all their records")
    if store.is_sqlite:
        # Copy the write-ahead log into the file and empty it: the old pages go with it.
        with store._connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return counts


# -- helpers ------------------------------------------------------------------------------------


def _allowed(store: RecordStore, who: SignedIn | None) -> None:
    """With accounts, only the administrator acts on a client's rights; without, anyone at
    the computer (as every other use of the records), audited under the computer's user."""
    if who is not None or accounts_configured(store):
        require(who, Permission.CLIENT_RIGHTS)


def _count(db: Any, model: Any, client_id: int) -> int:
    return int(db.scalar(select(func.count(model.id)).where(model.client_id == client_id)) or 0)


def _consents(store: RecordStore, client_id: int) -> list[dict[str, Any]]:
    with store._transaction() as db:
        rows = db.execute(
            select(Consent.at, Practitioner.name, Consent.text)
            .join(Practitioner, Practitioner.id == Consent.practitioner_id)
            .where(Consent.client_id == client_id)
            .order_by(Consent.at)
        ).all()
    return [{"at": _plain(at), "practitioner": by, "text": words} for at, by, words in rows]


def _export_document(
    record: ClientRecord,
    consents: list[dict[str, Any]],
    accesses: Sequence[audit.AuditRecord],
    who: SignedIn | None,
) -> dict[str, Any]:
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": _plain(datetime.now(UTC)),
        "exported_by": audit.actor_of(who)[0],
        "console_version": __version__,
        "client": {
            "id": record.id,
            "name": record.name,
            "date_of_birth": _plain(record.date_of_birth),
            "birth_year": record.birth_year,
            "phone": record.phone,
            "email": record.email,
            "goals": record.goals,
            "created_at": _plain(record.created_at),
        },
        "consents": consents,
        "screenings": _plain(record.screenings),
        "sessions": _plain(record.sessions),
        "notes": _plain(record.notes),
        "appointments": _plain(record.follow_ups),
        "accesses": [
            {
                "at": _plain(entry.at),
                "by": entry.actor,
                "role": entry.role,
                "action": entry.action,
                "detail": entry.detail,
                "workstation": entry.workstation,
            }
            for entry in accesses
        ],
    }


def _plain(value: Any) -> Any:
    """``value`` as JSON takes it: records as objects with named fields, times in ISO 8601."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):  # a NamedTuple (StepRow)
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def _write_private(path: Path, data: bytes) -> None:
    """``data`` into ``path``: written owner-only beside it, then renamed over it."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_summary_pdf(
    record: ClientRecord, consents: list[dict[str, Any]], path: Path
) -> list[str]:
    """The record's readable summary (one page, laid out by the session report's code)."""
    from console.records.glyphs import unprintable
    from console.records.reports import _write_atomically, render_one_page_pdf

    stamp = datetime.now(UTC).astimezone().strftime("%Y-%m-%d %H:%M")
    pdf = render_one_page_pdf(
        lambda _size: _summary_html(record, consents),
        f"<p class='muted'>Everything the records hold about this client, exported {stamp} "
        f"by Microcurrent Console {html.escape(__version__)}; each session's report "
        "follows in its own file.</p>",
        SUMMARY_TITLE,
    )
    _write_atomically(path, pdf, what="the client's record (PDF)")
    # Looked up once Qt is up (the renderer started it): fonts are Qt's to find.
    return unprintable(_summary_html(record, consents))


def _summary_html(record: ClientRecord, consents: list[dict[str, Any]]) -> str:
    e = html.escape

    def local(moment: datetime | None) -> str:
        return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else ""

    def table(headers: Sequence[str], rows: Sequence[Sequence[str]], empty: str) -> str:
        if not rows:
            return f"<p>{e(empty)}</p>"
        head = "".join(f"<th align='left'>{e(h)}</th>" for h in headers)
        body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows)
        return f"<table cellspacing='0' cellpadding='3' width='100%'><tr>{head}</tr>{body}</table>"

    parts = [
        f"<h1>{e(SUMMARY_TITLE)}: {e(record.name)}</h1>",
        table(
            ["Client id", "Born", "Phone", "E-mail", "Recorded since"],
            [[str(record.id), record.born, record.phone, record.email, local(record.created_at)]],
            "",
        ),
        f"<h2>Goals</h2><p>{e(record.goals) or 'None stated.'}</p>",
        "<h2>Consents</h2>",
        table(
            ["Given", "Recorded by", "Text"],
            [[c["at"][:16].replace("T", " "), c["practitioner"], c["text"]] for c in consents],
            "No consent recorded.",
        ),
        "<h2>Screenings</h2>",
        table(
            ["Screened", "By", "Outcome"],
            [[local(s.at), s.practitioner, s.summary] for s in record.screenings],
            "No screening recorded.",
        ),
        "<h2>Sessions</h2>",
        table(
            ["Started", "Protocol", "By", "State", "Charge µC"],
            [
                [
                    local(s.started_at),
                    s.protocol_name,
                    s.practitioner,
                    s.state,
                    f"{s.total_charge_uc:,.1f}",
                ]
                for s in record.sessions
            ],
            "No session recorded.",
        ),
        "<h2>Notes</h2>",
        table(
            ["When", "By", "Reactions", "Notes"],
            [
                [local(n.at), n.practitioner, ", ".join(r.describe() for r in n.reactions), n.text]
                for n in record.notes
            ],
            "No notes recorded.",
        ),
        "<h2>Appointments</h2>",
        table(
            ["Day", "Booked by", "Notes"],
            [[f.describe(), f.practitioner, f.notes] for f in record.follow_ups],
            "No appointment booked.",
        ),
    ]
    return "".join(parts)
