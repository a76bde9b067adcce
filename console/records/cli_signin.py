"""Signing in on the command line: ``--user NAME``, the PIN or password read without echo.

A records database without accounts is used as before (nobody signs in; the audit trail names
the computer's user). Once it has accounts, every command that reads or changes client records
needs ``--user`` and the account's secret: at a terminal it is asked with :func:`getpass.getpass`
(nothing echoed), from a script it is the first line of standard input. A secret is never an
argument (it would show in the process list and the shell's history) and never printed.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

from console.records.errors import FieldError
from console.records.signed_in import Permission, SignedIn

if TYPE_CHECKING:
    from console.records.store import RecordStore


class SecretUnavailableError(FieldError):
    """No secret could be read (standard input closed)."""


def add_user_option(parser: argparse.ArgumentParser) -> None:
    """``--user NAME``: the account to sign in as (asked only when the records have accounts)."""
    parser.add_argument(
        "--user",
        metavar="NAME",
        default=None,
        help="sign in as this account (needed once the records have accounts); the PIN or "
        "password is asked at the terminal, or read from the first line of standard input",
    )


def read_secret(prompt: str) -> str:
    """A secret: asked without echo at a terminal, else one line of standard input."""
    if sys.stdin is not None and sys.stdin.isatty():
        return getpass.getpass(prompt)
    line = sys.stdin.readline() if sys.stdin is not None else ""
    if not line:
        raise SecretUnavailableError("secret", "no PIN or password was given on standard input")
    return line.rstrip("\r\n")


def read_line(prompt: str) -> str | None:
    """One answer typed (the prompt on stderr, so standard output stays clean); None at the
    end of the input."""
    if sys.stdin is not None and sys.stdin.isatty():
        print(prompt, end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline() if sys.stdin is not None else ""
    return line.rstrip("\r\n") if line else None


def signed_in_for(store: RecordStore, user: str | None, permission: Permission) -> SignedIn | None:
    """Who does this command: None for records without accounts (as before them), else the
    ``--user`` account signed in and allowed ``permission``. Refusals raise the errors of
    :mod:`console.records.accounts`; a missing ``--user`` is a :class:`FieldError`."""
    # Imported here: the command line is built without SQLAlchemy (it starts faster).
    from console.records.accounts import accounts_configured, require, sign_in

    if not accounts_configured(store):
        if user:
            raise FieldError(
                "user",
                "these records have no accounts yet, so nobody signs in: leave out --user, or "
                "create the administrator with 'mc-console accounts create-administrator NAME'",
            )
        return None
    if not user:
        raise FieldError(
            "user",
            "these records have accounts: give --user NAME (the PIN or password is asked)",
        )
    who = sign_in(store, user, read_secret(f"PIN or password for {user}: "))
    require(who, permission)
    return who
