"""The command line of accounts, the audit trail and the client's rights.

``mc-console accounts create-administrator NAME`` makes the first account (a new clinic, or
records used without accounts until now); ``accounts add|list|unlock|disable`` are for a
signed-in administrator. ``mc-console audit`` lists the trail (``--client NAME``) and checks its
chain (``--verify``). ``mc-console client export NAME --out DIR`` and ``client erase NAME`` act
on a client's rights. Secrets are never arguments: see :mod:`console.records.cli_signin`.

Exit status: 0 done; 1 an erasure not confirmed (nothing erased); 2 a usage error (as every
command); 3 ``audit --verify`` found the chain broken (the first broken entry is named); 4 a
sign-in or a permission refused. Errors are one line on stderr, never a traceback, and never
hold a secret.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from console.records.cli_commands import EXIT_OK, EXIT_USAGE, _db_option, _error, _open, _plural
from console.records.cli_signin import add_user_option, read_line, read_secret, signed_in_for
from console.records.errors import AccessRefusedError, FieldError, RecordError
from console.records.signed_in import Permission, Role
from console.report import format_table

if TYPE_CHECKING:
    from console.records.store import RecordStore

EXIT_NOT_CONFIRMED = 1
EXIT_BROKEN_TRAIL = 3
EXIT_REFUSED = 4


def add_rights_commands(subparsers: Any) -> None:
    """Add ``accounts``, ``audit`` and ``client`` to the ``mc-console`` sub-commands."""
    _add_accounts(subparsers)

    trail = subparsers.add_parser(
        "audit",
        help="list the audit trail of the records, and check that it is intact",
        description="List who accessed the client records, when, from where (oldest first); "
        "--verify checks the hash chain: exit 0 intact, 3 broken (the first broken entry is "
        "named). Needs the administrator once the records have accounts.",
    )
    trail.add_argument("--client", metavar="NAME", help="only accesses to clients called NAME")
    trail.add_argument("--verify", action="store_true", help="check the whole chain")
    trail.add_argument("--limit", type=int, metavar="N", help="only the newest N entries")
    add_user_option(trail)
    _db_option(trail)
    trail.set_defaults(func=cmd_audit, handler=cmd_audit)

    client = subparsers.add_parser(
        "client",
        help="a client's rights: export everything held about them, or erase them",
        description="Export everything held about one client (JSON and PDF), or erase them "
        "with all their records. Needs the administrator once the records have accounts.",
    )
    actions = client.add_subparsers(dest="client_action", metavar="ACTION", required=True)
    export = actions.add_parser(
        "export", help="write everything held about a client into a folder (JSON and PDF)"
    )
    export.add_argument("name", metavar="NAME", help="the client's full name (any case)")
    export.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to fill")
    erase = actions.add_parser(
        "erase", help="erase a client with their sessions, screenings and notes"
    )
    erase.add_argument("name", metavar="NAME", help="the client's full name (any case)")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    for parser in (export, erase):
        parser.add_argument("--id", type=int, metavar="N", help="which of namesakes (see the list)")
        add_user_option(parser)
        _db_option(parser)
    export.set_defaults(func=cmd_client_export, handler=cmd_client_export)
    erase.set_defaults(func=cmd_client_erase, handler=cmd_client_erase)


def _add_accounts(subparsers: Any) -> None:
    accounts = subparsers.add_parser(
        "accounts",
        help="create the administrator, add, list, unlock or disable accounts",
        description="Practitioner accounts of the records. The first is the administrator; "
        "the others are made by a signed-in administrator (--user). PINs and passwords are "
        "asked (or read from standard input), never given as arguments.",
    )
    actions = accounts.add_subparsers(dest="accounts_action", metavar="ACTION", required=True)
    first = actions.add_parser(
        "create-administrator", help="the first account, when the records have none"
    )
    first.add_argument("name", metavar="NAME")
    add = actions.add_parser("add", help="a new account (administrator only)")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    listed = actions.add_parser("list", help="every account (administrator only)")
    unlock = actions.add_parser("unlock", help="let a locked account try again now")
    unlock.add_argument("name", metavar="NAME")
    disable = actions.add_parser("disable", help="an account that may no longer sign in")
    disable.add_argument("name", metavar="NAME")
    for parser in (first, add, listed, unlock, disable):
        _db_option(parser)
    for parser in (add, listed, unlock, disable):
        add_user_option(parser)
    first.set_defaults(func=cmd_create_administrator, handler=cmd_create_administrator)
    for parser in (add, listed, unlock, disable):
        parser.set_defaults(func=cmd_accounts, handler=cmd_accounts)


# -- accounts -----------------------------------------------------------------------------------


def cmd_create_administrator(args: argparse.Namespace, out: TextIO) -> int:
    """``mc-console accounts create-administrator NAME``: the first account."""
    from console.records.accounts import create_administrator, needs_administrator

    def act(store: RecordStore) -> int:
        if not needs_administrator(store):
            return _error(
                "these records have an administrator already; sign in as one and use "
                "'accounts add NAME --role administrator --user YOU'",
                EXIT_REFUSED,
            )
        secret = _new_secret(args.name)
        who = create_administrator(store, args.name, secret)
        print(
            f"created the administrator {who.name}; these records are now used signed in",
            file=out,
        )
        return EXIT_OK

    return _with_store(args.db, act, create=True)


def cmd_accounts(args: argparse.Namespace, out: TextIO) -> int:
    """``mc-console accounts add|list|unlock|disable``, for a signed-in administrator."""
    from console.records import accounts

    def act(store: RecordStore) -> int:
        if not accounts.accounts_configured(store):
            return _error(
                "these records have no accounts yet: create the administrator first with "
                "'mc-console accounts create-administrator NAME'",
                EXIT_USAGE,
            )
        who = signed_in_for(store, args.user, Permission.MANAGE_ACCOUNTS)
        assert who is not None  # accounts exist: signed in or refused
        action = args.accounts_action
        if action == "add":
            accounts.create_account(store, who, args.name, args.role, _new_secret(args.name))
            print(f"added the account {args.name} ({args.role})", file=out)
        elif action == "unlock":
            accounts.unlock(store, who, args.name)
            print(f"{args.name} may sign in again now", file=out)
        elif action == "disable":
            accounts.disable(store, who, args.name)
            print(f"{args.name} may no longer sign in (their records keep their name)", file=out)
        else:
            rows = [
                [
                    a.name,
                    a.role.value,
                    "disabled" if a.disabled_at else ("locked" if a.locked_until else "active"),
                    str(a.failed_attempts),
                ]
                for a in accounts.list_accounts(store, who)
            ]
            print(format_table(["name", "role", "state", "refused"], rows), file=out)
        return EXIT_OK

    return _with_store(args.db, act)


def _new_secret(name: str) -> str:
    """A new account's secret: asked twice at a terminal, else one line of standard input;
    checked against the rules before anything is made."""
    from console.records.accounts import check_secret

    secret = read_secret(f"New PIN or password for {name}: ")
    check_secret(secret)
    terminal = sys.stdin is not None and sys.stdin.isatty()
    if terminal and read_secret("The same again: ") != secret:
        raise FieldError("secret", "the two entries differ; nothing was changed")
    return secret


# -- the audit trail ----------------------------------------------------------------------------


def cmd_audit(args: argparse.Namespace, out: TextIO) -> int:
    """``mc-console audit [--client NAME] [--verify]``: the trail, and its chain checked."""
    if args.limit is not None and args.limit < 1:
        return _error(f"--limit {args.limit} must be 1 or more", EXIT_USAGE)
    from console.records import audit
    from console.records.client_rights import clients_named

    def act(store: RecordStore) -> int:
        signed_in_for(store, args.user, Permission.READ_AUDIT)
        ids = None
        if args.client is not None:
            ids = [c.id for c in clients_named(store, args.client)]
            if not ids:
                return _error(
                    f"no client called {args.client!r} (an erased client's entries are "
                    "listed under their id in the whole trail)",
                    EXIT_USAGE,
                )
        rows = [
            [
                str(e.id),
                e.at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                e.actor,
                e.role,
                e.action,
                "" if e.client_id is None else str(e.client_id),
                e.workstation,
                e.detail,
            ]
            for e in audit.entries(store, ids, args.limit)
        ]
        if rows:
            headers = ["#", "when", "who", "role", "action", "client", "workstation", "detail"]
            print(format_table(headers, rows, right_align={0, 5}), file=out)
        else:
            print("No entries in the audit trail.", file=out)
        if not args.verify:
            return EXIT_OK
        found = audit.verify(store)
        if found.broken is not None:
            print(
                f"mc-console: audit trail BROKEN at entry {found.broken.entry_id}: "
                f"{found.broken.reason}",
                file=sys.stderr,
            )
            return EXIT_BROKEN_TRAIL
        count = "1 entry" if found.entries == 1 else f"{found.entries} entries"
        print(f"audit trail intact: {count}, last hash {found.head_hash}", file=out)
        return EXIT_OK

    return _with_store(args.db, act)


# -- the client's rights ------------------------------------------------------------------------


def cmd_client_export(args: argparse.Namespace, out: TextIO) -> int:
    """``mc-console client export NAME --out DIR``: everything held about the client."""
    from console.records.client_rights import export_client, the_client
    from console.records.reports import unprintable_note

    def act(store: RecordStore) -> int:
        who = signed_in_for(store, args.user, Permission.CLIENT_RIGHTS)
        client = the_client(store, args.name, args.id)
        files = export_client(store, who, client.id, args.out)
        print(f"wrote {files.json}", file=out)
        print(f"wrote {files.summary_pdf}", file=out)
        for path in files.session_pdfs:
            print(f"wrote {path}", file=out)
        if files.unprintable:
            print(f"note: {unprintable_note(list(files.unprintable))}", file=out)
        return EXIT_OK

    return _with_store(args.db, act)


def cmd_client_erase(args: argparse.Namespace, out: TextIO) -> int:
    """``mc-console client erase NAME [--yes]``: the client and all their records, gone."""
    from console.records.client_rights import erase_client, the_client

    def act(store: RecordStore) -> int:
        who = signed_in_for(store, args.user, Permission.CLIENT_RIGHTS)
        client = the_client(store, args.name, args.id)
        confirm = client.name
        if not args.yes:
            print(
                f"Erase {client.name} (client {client.id}) with every session, screening, "
                "consent, note and appointment recorded about them? This cannot be undone.",
                file=out,
                flush=True,
            )
            typed = read_line("Type the client's name to confirm: ")
            if typed is None or not typed.strip():
                print("Nothing was erased.", file=out)
                return EXIT_NOT_CONFIRMED
            confirm = typed
        try:
            erased = erase_client(store, who, client.id, confirm)
        except FieldError as error:
            if error.field != "confirm_name":
                raise
            print(f"{error}; nothing was erased.", file=out)
            return EXIT_NOT_CONFIRMED
        print(
            f"erased client {client.id}: {_plural(erased.sessions, 'session')}, "
            f"{_plural(erased.screenings, 'screening')}, {_plural(erased.consents, 'consent')}, "
            f"{_plural(erased.notes, 'note')}, {_plural(erased.appointments, 'appointment')} "
            "(the audit trail keeps that an erasure happened, not what was erased)",
            file=out,
        )
        return EXIT_OK

    return _with_store(args.db, act)


# -- plumbing -----------------------------------------------------------------------------------


def _with_store(url: str | None, act: Any, *, create: bool = False) -> int:
    """Open the records, run ``act(store)``, close them; every error a user can cause (a
    refusal, a wrong name, a database that cannot be used, a file that cannot be written) is
    one line on stderr with its exit status."""
    try:
        if create:
            from console.records.opening import open_records

            opened = open_records(url, create=True)
            for message in opened.messages():
                print(f"mc-console: {message}", file=sys.stderr)
            store = opened.store
        else:
            store = _open(url)
        try:
            return int(act(store))
        finally:
            store.close()
    except AccessRefusedError as error:
        return _error(f"refused: {error}", EXIT_REFUSED)
    except (RecordError, OSError) as error:  # a wrong name, an unusable database or folder
        return _error(str(error), EXIT_USAGE)
