"""Practitioner accounts: who may sign in to the records, with which role.

* **Secrets.** A PIN is all digits, at least :data:`MIN_PIN_DIGITS` of them; a password is
  anything else of at least :data:`MIN_PASSWORD_CHARS` characters. Only a salted Argon2id hash is
  kept (``argon2-cffi``, its default cost: RFC 9106's second recommended profile), never the
  secret itself, and nothing here prints or logs one.
* **Refusals.** A wrong name or secret is refused after :data:`REFUSAL_DELAY_S` seconds, with the
  same words whether the name exists or not (and an unknown name costs the same hashing time),
  so the sign-in reveals no names. Each refusal of an account is counted; at
  :data:`FAILURES_BEFORE_LOCK` in a row the account waits :data:`LOCK_S` seconds, during which
  even the right secret is refused, and then has its attempts again. An administrator can unlock
  it earlier. A successful sign-in sets the count back to 0.
* **First start.** A database with no account yet keeps today's behaviour (anyone at the
  computer may use the records; accesses are audited under the computer's user name). The first
  account made must be the administrator (:func:`create_administrator`), after which every
  further account is made by a signed-in administrator (:func:`create_account`).

Every sign-in, refusal and account change is appended to the audit trail. The refusals
(:class:`SignInRefusedError`, :class:`AccountLockedError`, :class:`PermissionRefusedError`) are
those of :mod:`console.records.errors`, re-exported here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session as OrmSession

from console.records import audit
from console.records.errors import AccountLockedError as AccountLockedError
from console.records.errors import FieldError
from console.records.errors import PermissionRefusedError as PermissionRefusedError
from console.records.errors import SignInRefusedError as SignInRefusedError
from console.records.models import Account, Practitioner, now_utc
from console.records.names import MAX_NAME, composed, search_form, unprintable
from console.records.signed_in import Permission, Role, SignedIn

if TYPE_CHECKING:
    from console.records.store import RecordStore

MIN_PIN_DIGITS = 4
MIN_PASSWORD_CHARS = 8
#: Longer secrets are refused: hashing megabytes would let anyone keep the computer busy.
MAX_SECRET_CHARS = 256
#: Refusals in a row that lock an account, and how long it then waits.
FAILURES_BEFORE_LOCK = 5
LOCK_S = 15 * 60
#: Every refused sign-in is answered this many seconds late (guessing at the keyboard or in a
#: script gets at most one try a second).
REFUSAL_DELAY_S = 1.0
#: What every refusal says, whichever part was wrong.
REFUSED = "the name or the PIN/password is not right"


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """An account as the administrator's list shows it (no hash)."""

    id: int
    name: str
    role: Role
    failed_attempts: int
    locked_until: datetime | None
    created_at: datetime
    disabled_at: datetime | None


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    """A hash to verify against for a name that has no account, so that an unknown name takes
    as long to refuse as a wrong secret."""
    return _hasher().hash("no account has this name")


def check_secret(secret: str) -> str:
    """The kind of ``secret`` ("pin" or "password"); a secret too short or too long is
    refused with a :class:`FieldError` saying the rule (never the secret)."""
    if not secret or secret != secret.strip():
        raise FieldError(
            "secret", "a PIN or password may not be empty or start or end with a blank"
        )
    if len(secret) > MAX_SECRET_CHARS:
        raise FieldError("secret", f"a password may have at most {MAX_SECRET_CHARS} characters")
    if secret.isascii() and secret.isdigit():
        if len(secret) < MIN_PIN_DIGITS:
            raise FieldError("secret", f"a PIN needs at least {MIN_PIN_DIGITS} digits")
        return "pin"
    if len(secret) < MIN_PASSWORD_CHARS:
        raise FieldError(
            "secret",
            f"a password needs at least {MIN_PASSWORD_CHARS} characters "
            f"(or give a PIN of {MIN_PIN_DIGITS} or more digits)",
        )
    return "password"


def accounts_configured(store: RecordStore) -> bool:
    """True once the records have an account: from then on they are used signed in."""
    with store._transaction() as db:
        return bool(db.scalar(select(func.count(Account.id))))


def needs_administrator(store: RecordStore) -> bool:
    """True when no account exists yet: the window and ``mc-console accounts`` must offer to
    create the administrator first (or go on without accounts, as before)."""
    return not accounts_configured(store)


def create_administrator(store: RecordStore, name: str, secret: str) -> SignedIn:
    """The first account, an administrator, signed in at once. Refused once any account
    exists (the next administrators are made by one: :func:`create_account`)."""
    kind = check_secret(secret)
    name = _checked_name(name)
    digest = _hasher().hash(secret)
    with store._transaction(lock="accounts") as db:
        if db.scalar(select(func.count(Account.id))):
            raise PermissionRefusedError(
                "this records database has its administrator already; an administrator adds "
                "further accounts"
            )
        row = _new_account(db, name, Role.ADMINISTRATOR, digest, kind, created_by=None)
        who = _signed_in(row)
        audit.append(db, who, audit.ACCOUNT, detail=f"first administrator {name} created")
        return who


def create_account(
    store: RecordStore, by: SignedIn, name: str, role: Role | str, secret: str
) -> int:
    """A new account made by the administrator ``by``; returns its id."""
    require(by, Permission.MANAGE_ACCOUNTS)
    try:
        role = Role(role)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise FieldError("role", f"{role!r} is not a role: give one of {roles}") from None
    kind = check_secret(secret)
    name = _checked_name(name)
    digest = _hasher().hash(secret)
    with store._transaction(lock="accounts") as db:
        row = _new_account(db, name, role, digest, kind, created_by=by.account_id)
        audit.append(db, by, audit.ACCOUNT, detail=f"account {name} ({role.value}) created")
        return int(row.id)


def sign_in(
    store: RecordStore,
    name: str,
    secret: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> SignedIn:
    """The account called ``name`` (any case, any accents), signed in; a refusal raises
    :class:`SignInRefusedError` (:class:`AccountLockedError` for a locked account) after
    :data:`REFUSAL_DELAY_S` seconds, and is counted and audited."""
    login = search_form(composed(name))
    with store._transaction() as db:
        row = db.scalars(select(Account).where(Account.login == login)).first()
        known = row is not None and row.disabled_at is None
        account_id = row.id if known and row is not None else None
        stored = row.secret_hash if known and row is not None else _decoy_hash()
        locked_until = row.locked_until if known and row is not None else None
    now = now_utc()
    if account_id is not None and locked_until is not None and locked_until > now:
        _refused(store, account_id, "locked account")
        sleep(REFUSAL_DELAY_S)
        raise AccountLockedError(_locked_message(locked_until), locked_until)
    # Hashing is slow on purpose: done outside any transaction, so no room waits for it.
    right = _verifies(stored, secret) and account_id is not None
    if not right:
        until = _refused(store, account_id, "wrong PIN/password or unknown name")
        sleep(REFUSAL_DELAY_S)
        if until is not None:
            raise AccountLockedError(f"{REFUSED}; {_locked_message(until)}", until)
        raise SignInRefusedError(REFUSED)
    rehash = _hasher().check_needs_rehash(stored)
    new_hash = _hasher().hash(secret) if rehash else None
    with store._transaction(lock="accounts") as db:
        row = db.get(Account, account_id)
        if row is None or row.disabled_at is not None:  # disabled meanwhile
            raise SignInRefusedError(REFUSED)
        row.failed_attempts = 0
        row.locked_until = None
        if new_hash is not None:
            row.secret_hash = new_hash
        who = _signed_in(row)
        audit.append(db, who, audit.SIGN_IN)
        return who


def require(who: SignedIn | None, permission: Permission) -> None:
    """Refuse (:class:`PermissionRefusedError`) unless ``who`` may do ``permission``.
    ``None`` (no account: a clinic that has none) is refused too: callers that allow use
    without accounts check :func:`accounts_configured` first."""
    if who is None:
        raise PermissionRefusedError(f"sign in first: only a signed-in account may {permission}")
    if not who.may(permission):
        raise PermissionRefusedError(
            f"{who.name} is signed in as {who.role.value}; only an administrator may {permission}"
        )


def unlock(store: RecordStore, by: SignedIn, name: str) -> None:
    """An administrator lets a locked account try again at once (its count back to 0)."""
    require(by, Permission.MANAGE_ACCOUNTS)
    with store._transaction(lock="accounts") as db:
        row = _account_named(db, name)
        row.failed_attempts = 0
        row.locked_until = None
        audit.append(db, by, audit.ACCOUNT, detail=f"account {row.name} unlocked")


def disable(store: RecordStore, by: SignedIn, name: str) -> None:
    """An administrator disables an account (it can no longer sign in; its records keep its
    name). The last administrator that can sign in cannot be disabled."""
    require(by, Permission.MANAGE_ACCOUNTS)
    with store._transaction(lock="accounts") as db:
        row = _account_named(db, name)
        if row.disabled_at is not None:
            return
        if row.role == Role.ADMINISTRATOR.value:
            others = db.scalar(
                select(func.count(Account.id)).where(
                    Account.role == Role.ADMINISTRATOR.value,
                    Account.disabled_at.is_(None),
                    Account.id != row.id,
                )
            )
            if not others:
                raise PermissionRefusedError(
                    f"{row.name} is the only administrator: add another before disabling it"
                )
        row.disabled_at = now_utc()
        audit.append(db, by, audit.ACCOUNT, detail=f"account {row.name} disabled")


def list_accounts(store: RecordStore, by: SignedIn) -> list[AccountSummary]:
    """Every account, by name (for an administrator)."""
    require(by, Permission.MANAGE_ACCOUNTS)
    with store._transaction() as db:
        rows = db.scalars(select(Account).order_by(Account.login)).all()
        return [
            AccountSummary(
                row.id,
                row.name,
                Role(row.role),
                row.failed_attempts,
                row.locked_until,
                row.created_at,
                row.disabled_at,
            )
            for row in rows
        ]


# -- helpers ------------------------------------------------------------------------------------


def _checked_name(name: str) -> str:
    name = composed(name)
    if not name:
        raise FieldError("name", "an account needs a name")
    if len(name) > MAX_NAME:
        raise FieldError("name", f"an account's name may have at most {MAX_NAME} characters")
    if unprintable(name):
        raise FieldError("name", "an account's name may not hold characters that do not print")
    return name


def _new_account(
    db: OrmSession, name: str, role: Role, digest: str, kind: str, created_by: int | None
) -> Account:
    login = search_form(name)
    if db.scalar(select(Account.id).where(Account.login == login)) is not None:
        raise FieldError("name", f"there is an account called {name!r} already")
    # The practitioner of the same name (a clinic's records from before accounts name people
    # as they were typed): the account's records continue that history.
    practitioner = db.scalar(select(Practitioner).where(Practitioner.name == name))
    if practitioner is None:
        practitioner = Practitioner(name=name)
        db.add(practitioner)
        db.flush()
    row = Account(
        name=name,
        login=login,
        role=role.value,
        secret_hash=digest,
        secret_kind=kind,
        failed_attempts=0,
        practitioner_id=practitioner.id,
        created_by_id=created_by,
    )
    db.add(row)
    db.flush()
    return row


def _account_named(db: OrmSession, name: str) -> Account:
    row = db.scalars(select(Account).where(Account.login == search_form(composed(name)))).first()
    if row is None:
        raise FieldError("name", f"there is no account called {name!r}")
    return row


def _signed_in(row: Account) -> SignedIn:
    return SignedIn(row.id, row.name, Role(row.role), row.practitioner_id, now_utc())


def _verifies(stored: str, secret: str) -> bool:
    try:
        return bool(_hasher().verify(stored, secret))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _refused(store: RecordStore, account_id: int | None, why: str) -> datetime | None:
    """Count a refusal of ``account_id`` (locking it at the limit) and audit it; returns
    until when the account is now locked (None: not locked by this refusal)."""
    until: datetime | None = None
    with store._transaction(lock="accounts") as db:
        row = db.get(Account, account_id) if account_id is not None else None
        if row is not None and (row.locked_until is None or row.locked_until <= now_utc()):
            row.failed_attempts += 1
            if row.failed_attempts >= FAILURES_BEFORE_LOCK:
                until = now_utc() + timedelta(seconds=LOCK_S)
                row.locked_until = until
                row.failed_attempts = 0  # a fresh set of attempts once the wait is over
        # The typed name is not kept: it may be a secret typed in the wrong field.
        actor = (row.name if row is not None else "(unknown name)", audit.NO_ACCOUNT)
        detail = f"sign-in refused: {why}" + (" (account locked)" if until else "")
        audit.append(db, None, audit.REFUSED, detail=detail, actor=actor)
    return until


def _locked_message(until: datetime) -> str:
    local = until.astimezone().strftime("%H:%M")
    return (
        f"this account is locked until {local} after {FAILURES_BEFORE_LOCK} refused attempts "
        "in a row; an administrator can unlock it"
    )
