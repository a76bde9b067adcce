"""The records' commands of ``mc-console``: ``sessions`` (list and export) and ``report`` (PDF).

Each access is appended to the audit trail (:mod:`console.records.audit`) before anything of a
client is shown or reported as written: a listing is a view of each client in it, a CSV file an
export, a PDF a report. An access that cannot be audited is not made. Once the records have
accounts, both commands need ``--user`` (:mod:`console.records.cli_signin`).

``console/cli.py`` adds them with :func:`add_record_commands`. Each handler takes the parsed
arguments and the stream to print to, and returns the exit status: 0 done, 2 a usage error (bad
option, no such session, unreadable database, unwritable file), as for every other command.
Errors are one line on stderr starting ``mc-console: error:``, never a traceback: the store's errors
(:class:`RecordError` and its kinds) and the file system's (:class:`OSError`) are all caught.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from console.records.cli_signin import add_user_option, signed_in_for
from console.records.errors import (
    AccessRefusedError,
    FieldError,
    RecordError,
    RecordNotFoundError,
    StoreUnavailableError,
)
from console.records.signed_in import Permission, SignedIn
from console.report import format_table

if TYPE_CHECKING:  # the store loads SQLAlchemy: only when a command opens the records
    from console.records.rows import ExportedSession
    from console.records.store import RecordStore

EXIT_OK = 0
EXIT_USAGE = 2
#: A sign-in or a permission refused (see console.records.cli_rights).
EXIT_REFUSED = 4

DEFAULT_LIMIT = 50

#: Session ids are hex (uuid4). Checked before the store's prefix search, where "" is the
#: start of every id and would pick the only session there is.
SESSION_ID = re.compile(r"[0-9A-Za-z]{1,32}")


def add_record_commands(subparsers: Any) -> None:
    """Add ``sessions`` and ``report`` to the ``mc-console`` sub-commands (``accounts``,
    ``audit`` and ``client`` are added by :func:`console.records.cli_rights.add_rights_commands`)."""
    sessions = subparsers.add_parser(
        "sessions",
        help="list recorded sessions, newest first, and export them as CSV",
        description="List recorded sessions, newest first; optionally export them as CSV.",
    )
    sessions.add_argument(
        "--client", metavar="NAME", help="only clients whose name contains NAME (any case)"
    )
    _db_option(sessions)
    add_user_option(sessions)
    sessions.add_argument(
        "--csv", type=Path, metavar="PATH", help="also write the sessions to a CSV file"
    )
    sessions.add_argument(
        "--steps-csv",
        type=Path,
        metavar="PATH",
        help="also write every delivered step of those sessions to a CSV file",
    )
    sessions.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"at most N sessions (default {DEFAULT_LIMIT})",
    )
    # ``handler`` as well as ``func``: cli.main() dispatches on ``handler``.
    sessions.set_defaults(func=cmd_sessions, handler=cmd_sessions)

    report = subparsers.add_parser(
        "report",
        help="write a one-page PDF treatment report of a session",
        description="Write a one-page PDF treatment report of one recorded session.",
    )
    report.add_argument(
        "session_id", metavar="SESSION_ID", help="the session's id, or a unique start of it"
    )
    report.add_argument("--pdf", type=Path, required=True, metavar="PATH", help="PDF to write")
    _db_option(report)
    add_user_option(report)
    report.set_defaults(func=cmd_report, handler=cmd_report)


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="records database to read: sqlite:///PATH (an existing file) or "
        "postgresql+psycopg://USER@HOST/DATABASE (default: SQLite in the user's data folder)",
    )


def cmd_sessions(args: argparse.Namespace, out: TextIO) -> int:
    """``mc-console sessions``: the sessions as a table, and the CSV files asked for."""
    if args.limit < 1:
        return _error(f"--limit {args.limit} must be 1 or more", EXIT_USAGE)
    if args.db is None and args.csv is None and args.steps_csv is None and _nothing_recorded():
        # A fresh install: nothing is wrong, there is just nothing yet (no file to make).
        print("No sessions recorded on this computer yet.", file=out)
        return EXIT_OK
    from console.records.reports import export_csv

    try:
        store = _open(args.db)
        try:
            who = signed_in_for(store, args.user, Permission.READ_RECORDS)
            # One pass, streamed from the database: the table keeps a line per session, the
            # CSV files are written as the sessions come (any number, in little memory).
            table: list[list[str]] = []
            clients: dict[int, None] = {}
            sessions = _tabled(store.iter_export(args.client, limit=args.limit), table, clients)
            counts = export_csv(sessions, args.csv, args.steps_csv)
            _audit_listing(store, who, list(clients), args.csv, args.steps_csv)
        finally:
            store.close()
        _print_sessions(table, args.client, out)
        if args.csv is not None:
            print(f"wrote {_plural(counts[0], 'session')} to {args.csv}", file=out)
        if args.steps_csv is not None:
            print(f"wrote {_plural(counts[1], 'step')} to {args.steps_csv}", file=out)
    except AccessRefusedError as error:
        return _error(f"refused: {error}", EXIT_REFUSED)
    except (FieldError, StoreUnavailableError, RecordError, OSError) as error:
        return _error(str(error), EXIT_USAGE)
    return EXIT_OK


def _audit_listing(
    store: RecordStore,
    who: SignedIn | None,
    clients: list[int],
    *files: Path | None,
) -> None:
    """A view of each client listed, and an export of each when CSV files were written. If the
    trail cannot take it, the files are removed again and the error goes on: an access that
    cannot be audited is not made."""
    from console.records import audit

    written = [path for path in files if path is not None]
    try:
        audit.record(store, who, audit.VIEW, clients, "sessions listed")
        if written:
            audit.record(store, who, audit.EXPORT, clients, "sessions exported as CSV")
    except RecordError:
        for path in written:
            path.unlink(missing_ok=True)
        raise


def cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    """``mc-console report SESSION_ID --pdf PATH``: the session's one-page PDF report."""
    wanted = args.session_id.strip()
    if not SESSION_ID.fullmatch(wanted):
        return _error(
            f"{args.session_id!r} is not a session id (letters and digits, as 'sessions' shows)",
            EXIT_USAGE,
        )
    from console.records.reports import unprintable_note, write_session_pdf

    try:
        store = _open(args.db)
        try:
            who = signed_in_for(store, args.user, Permission.READ_RECORDS)
            session = store.session(wanted)
            client = store.client(session.client_id) if session.client_id is not None else None
            from console.records import audit

            # Audited before it is written: a report the trail cannot name is not made.
            audit.record(
                store, who, audit.REPORT, [session.client_id], f"session {session.id[:8]} (PDF)"
            )
        finally:
            store.close()
        missing = write_session_pdf(session, client, args.pdf)
    except AccessRefusedError as error:
        return _error(f"refused: {error}", EXIT_REFUSED)
    except RecordNotFoundError:
        return _error(
            f"no session {wanted!r} (give its id or a unique start of it; see 'sessions')",
            EXIT_USAGE,  # a wrong id is a usage error, as an unknown protocol is
        )
    except (FieldError, StoreUnavailableError, RecordError, OSError) as error:
        return _error(str(error), EXIT_USAGE)
    print(f"wrote {args.pdf}", file=out)
    if missing:
        print(f"note: {unprintable_note(missing)}", file=out)
    return EXIT_OK


def _nothing_recorded() -> bool:
    """True when this computer's own records database (the default) does not exist yet."""
    from console.records.store import default_url

    return not Path(default_url().removeprefix("sqlite:///")).exists()


def _open(url: str | None) -> RecordStore:
    """The store, with the journals left for it written in and sessions a crash left
    ``running`` marked ``interrupted`` (said on stderr, so the table stays clean)."""
    from console.records.opening import open_records

    # Reading only: a database that is not there is refused, never made empty.
    opened = open_records(url, create=False)
    for message in opened.messages():
        print(f"mc-console: {message}", file=sys.stderr)
    return opened.store


def _tabled(
    sessions: Iterator[ExportedSession], table: list[list[str]], clients: dict[int, None]
) -> Iterator[ExportedSession]:
    """Pass ``sessions`` on, keeping each one's line of the table and its client (in order)."""
    for row in sessions:
        if row.client_id is not None:
            clients[row.client_id] = None
        table.append(
            [
                row.id[:8],
                _local(row.started_at),
                row.client_name or "—",
                row.protocol_name,
                row.state,
                str(len(row.steps)),
                f"{row.total_charge_uc:,.1f}",
            ]
        )
        yield row


def _print_sessions(table: list[list[str]], client: str | None, out: TextIO) -> None:
    if not table:
        who = f" for clients matching {client!r}" if client else ""
        print(f"No sessions recorded{who}.", file=out)
        return
    print(
        format_table(
            ["id", "started", "client", "protocol", "state", "steps", "charge µC"],
            table,
            right_align={5, 6},
        ),
        file=out,
    )


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _error(message: str, status: int) -> int:
    # One line whatever the message: the promise is a single line, never a traceback.
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    print(f"mc-console: error: {first}", file=sys.stderr)
    return status
