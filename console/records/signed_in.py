"""Who is signed in to the records, and what each role may do.

Plain data, without SQLAlchemy: the window keeps a :class:`SignedIn` from its sign-in screen and
hands it to the core (the store names the account's practitioner on everything it records, the
audit trail names the account on every access), before the database layer is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    """What an account is for (stored by value in ``accounts.role``)."""

    PRACTITIONER = "practitioner"
    TRAINER = "trainer"
    ADMINISTRATOR = "administrator"


class Permission(StrEnum):
    """What a role may be allowed to do with the records."""

    #: See a client's record, list sessions, print a session's report, export sessions as CSV.
    READ_RECORDS = "read the client records"
    #: Record clients, screenings, sessions, notes and appointments.
    WRITE_RECORDS = "record clients, screenings, sessions and notes"
    #: Read the audit trail and check its chain.
    READ_AUDIT = "read the audit trail"
    #: Export everything about one client, and erase a client (the client's rights).
    CLIENT_RIGHTS = "export or erase a client's records"
    #: Create, unlock and disable accounts.
    MANAGE_ACCOUNTS = "manage accounts"


#: Practitioners and trainers both treat clients (a trainer's supervised practice is treatment
#: too); only the clinic's administrator sees the trail, acts on a client's rights and manages
#: accounts, so that whoever reviews the accesses is not only reviewing themselves.
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PRACTITIONER: frozenset({Permission.READ_RECORDS, Permission.WRITE_RECORDS}),
    Role.TRAINER: frozenset({Permission.READ_RECORDS, Permission.WRITE_RECORDS}),
    Role.ADMINISTRATOR: frozenset(Permission),
}


@dataclass(frozen=True, slots=True)
class SignedIn:
    """An account that has signed in: made only by :func:`console.records.accounts.sign_in`
    (and by the first administrator's creation), never from typed text."""

    account_id: int
    #: The account's name, as the records show it (its practitioner row has the same name).
    name: str
    role: Role
    #: The ``practitioners`` row every record made by this account names.
    practitioner_id: int
    #: When the sign-in happened (UTC).
    at: datetime

    def may(self, permission: Permission) -> bool:
        """True when this account's role allows ``permission``."""
        return permission in PERMISSIONS[self.role]

    def __str__(self) -> str:
        return f"{self.name} ({self.role.value})"


def allowed(who: SignedIn | None, permission: Permission, accounts_on: bool) -> bool:
    """Whether ``permission`` is offered: to everyone when the records have no accounts (they
    are used as before accounts), else only to a signed-in account whose role allows it."""
    return not accounts_on or (who is not None and who.may(permission))
