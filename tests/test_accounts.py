"""Practitioner accounts: the first administrator, secrets and their rules, sign-in and roles,
refusals delayed and counted, the lockout, and the records naming the signed-in account."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from records_fixtures import OpenStore
from sqlalchemy import text

from console.records import accounts
from console.records.accounts import (
    FAILURES_BEFORE_LOCK,
    LOCK_S,
    REFUSAL_DELAY_S,
    AccountLockedError,
    PermissionRefusedError,
    SignInRefusedError,
)
from console.records.errors import FieldError
from console.records.models import now_utc
from console.records.recorder import SessionRecorder
from console.records.signed_in import Permission, Role, SignedIn
from console.records.store import RecordStore
from records_support import record_short_session

pytestmark = pytest.mark.timeout(120)

ADMIN_SECRET = "clinic-admin-2026"
PIN = "4821"


class Sleeps(list[float]):
    """Stands in for time.sleep: keeps the delays asked for, waits for none."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def store(store_url: str, open_store: OpenStore) -> RecordStore:
    return open_store(store_url)


@pytest.fixture
def admin(store: RecordStore) -> SignedIn:
    return accounts.create_administrator(store, "Dana Admin", ADMIN_SECRET)


@pytest.fixture
def ana(store: RecordStore, admin: SignedIn) -> SignedIn:
    accounts.create_account(store, admin, "Ana Sousa", Role.PRACTITIONER, PIN)
    return accounts.sign_in(store, "Ana Sousa", PIN, sleep=Sleeps())


def test_first_start_must_create_the_administrator(store: RecordStore) -> None:
    assert accounts.needs_administrator(store)
    assert not accounts.accounts_configured(store)

    who = accounts.create_administrator(store, "Dana Admin", ADMIN_SECRET)

    assert who.role is Role.ADMINISTRATOR and who.name == "Dana Admin"
    assert not accounts.needs_administrator(store)
    with pytest.raises(PermissionRefusedError, match="administrator already"):
        accounts.create_administrator(store, "Someone Else", ADMIN_SECRET)


@pytest.mark.parametrize(
    ("secret", "kind"),
    [("1234", "pin"), ("98765432", "pin"), ("longenough", "password"), ("ab cd ef!", "password")],
)
def test_pins_and_passwords_that_are_accepted(secret: str, kind: str) -> None:
    assert accounts.check_secret(secret) == kind


@pytest.mark.parametrize(
    ("secret", "rule"),
    [
        ("123", "at least 4 digits"),
        ("short1", "at least 8 characters"),
        ("", "may not be empty"),
        (" 12345", "start or end with a blank"),
        ("x" * 257, "at most 256 characters"),
        ("١٢٣٤", "at least 8 characters"),  # Arabic-Indic digits are not a keypad PIN
    ],
)
def test_secrets_that_break_a_rule_are_refused_saying_the_rule(secret: str, rule: str) -> None:
    with pytest.raises(FieldError, match=rule) as refused:
        accounts.check_secret(secret)
    assert refused.value.field == "secret"
    if secret.strip():
        assert secret.strip() not in str(refused.value)  # the secret is never in the message


def test_only_a_signed_in_administrator_makes_accounts(
    store: RecordStore, admin: SignedIn, ana: SignedIn
) -> None:
    with pytest.raises(PermissionRefusedError, match="only an administrator may manage"):
        accounts.create_account(store, ana, "Bo Trainer", Role.TRAINER, "5555")
    with pytest.raises(FieldError, match="not a role"):
        accounts.create_account(store, admin, "Bo Trainer", "owner", "5555")
    with pytest.raises(FieldError, match="already"):
        accounts.create_account(store, admin, "ANA SOUSA", Role.TRAINER, "5555")

    accounts.create_account(store, admin, "Bo Trainer", "trainer", "5555")
    names = [(a.name, a.role) for a in accounts.list_accounts(store, admin)]
    assert names == [
        ("Ana Sousa", Role.PRACTITIONER),
        ("Bo Trainer", Role.TRAINER),
        ("Dana Admin", Role.ADMINISTRATOR),
    ]


def test_sign_in_finds_the_name_in_any_case_and_gives_the_role(
    store: RecordStore, ana: SignedIn
) -> None:
    who = accounts.sign_in(store, "  ana sousa ", PIN, sleep=Sleeps())
    assert (who.name, who.role, who.account_id) == ("Ana Sousa", Role.PRACTITIONER, ana.account_id)
    assert who.may(Permission.READ_RECORDS) and who.may(Permission.WRITE_RECORDS)
    for forbidden in (Permission.READ_AUDIT, Permission.CLIENT_RIGHTS, Permission.MANAGE_ACCOUNTS):
        assert not who.may(forbidden)
        with pytest.raises(PermissionRefusedError, match="only an administrator"):
            accounts.require(who, forbidden)
    with pytest.raises(PermissionRefusedError, match="sign in first"):
        accounts.require(None, Permission.READ_RECORDS)


def test_a_wrong_pin_is_refused_late_and_counted_and_a_right_one_clears_the_count(
    store: RecordStore, admin: SignedIn, ana: SignedIn
) -> None:
    sleeps = Sleeps()
    with pytest.raises(SignInRefusedError, match="the name or the PIN/password is not right"):
        accounts.sign_in(store, "Ana Sousa", "0000", sleep=sleeps)
    assert sleeps == [REFUSAL_DELAY_S]
    assert _attempts(store, admin, "Ana Sousa") == 1

    accounts.sign_in(store, "Ana Sousa", PIN, sleep=sleeps)
    assert sleeps == [REFUSAL_DELAY_S]  # a right secret is never delayed
    assert _attempts(store, admin, "Ana Sousa") == 0


def test_an_unknown_name_is_refused_in_the_same_words_and_as_late(store: RecordStore) -> None:
    accounts.create_administrator(store, "Dana Admin", ADMIN_SECRET)
    sleeps = Sleeps()
    with pytest.raises(SignInRefusedError) as unknown:
        accounts.sign_in(store, "Nobody", PIN, sleep=sleeps)
    with pytest.raises(SignInRefusedError) as wrong:
        accounts.sign_in(store, "Dana Admin", "wrong-password", sleep=sleeps)
    assert str(unknown.value) == str(wrong.value)
    assert sleeps == [REFUSAL_DELAY_S, REFUSAL_DELAY_S]


def test_too_many_refusals_lock_the_account_until_the_wait_is_over(
    store: RecordStore,
    admin: SignedIn,
    ana: SignedIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sleeps = Sleeps()
    for _ in range(FAILURES_BEFORE_LOCK - 1):
        with pytest.raises(SignInRefusedError) as refused:
            accounts.sign_in(store, "Ana Sousa", "0000", sleep=sleeps)
        assert not isinstance(refused.value, AccountLockedError)
    with pytest.raises(AccountLockedError, match="locked until") as locked:
        accounts.sign_in(store, "Ana Sousa", "0000", sleep=sleeps)
    until = locked.value.until
    assert timedelta(seconds=LOCK_S - 60) < until - now_utc() <= timedelta(seconds=LOCK_S)

    # While it waits, even the right PIN is refused (and still answered late).
    with pytest.raises(AccountLockedError):
        accounts.sign_in(store, "Ana Sousa", PIN, sleep=sleeps)
    assert sleeps == [REFUSAL_DELAY_S] * (FAILURES_BEFORE_LOCK + 1)

    later = until + timedelta(seconds=1)
    monkeypatch.setattr(accounts, "now_utc", lambda: later)
    assert accounts.sign_in(store, "Ana Sousa", PIN, sleep=sleeps).name == "Ana Sousa"


def test_an_administrator_unlocks_a_locked_account(
    store: RecordStore, admin: SignedIn, ana: SignedIn
) -> None:
    for _ in range(FAILURES_BEFORE_LOCK):
        with pytest.raises(SignInRefusedError):
            accounts.sign_in(store, "Ana Sousa", "0000", sleep=Sleeps())
    with pytest.raises(PermissionRefusedError):
        accounts.unlock(store, ana, "Ana Sousa")

    accounts.unlock(store, admin, "ana sousa")

    assert accounts.sign_in(store, "Ana Sousa", PIN, sleep=Sleeps()).name == "Ana Sousa"


def test_a_disabled_account_cannot_sign_in_and_the_last_administrator_stays(
    store: RecordStore, admin: SignedIn, ana: SignedIn
) -> None:
    with pytest.raises(PermissionRefusedError, match="only administrator"):
        accounts.disable(store, admin, "Dana Admin")

    accounts.disable(store, admin, "Ana Sousa")

    with pytest.raises(SignInRefusedError, match="not right"):
        accounts.sign_in(store, "Ana Sousa", PIN, sleep=Sleeps())


def test_only_an_argon2id_hash_is_kept(store: RecordStore, ana: SignedIn) -> None:
    with store.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM accounts")).all()
    dumped = repr(rows)
    assert PIN not in dumped and ADMIN_SECRET not in dumped
    assert all(row.secret_hash.startswith("$argon2id$") for row in rows)


def test_records_name_the_signed_in_account(store: RecordStore, ana: SignedIn) -> None:
    client_id = store.add_client("Zoë Client", ana)
    store.add_note(client_id, ana, ["redness"], "faded in minutes")
    session_id = record_short_session(store, client_id, ana, steps=1, duration_s=10.0)  # type: ignore[arg-type]

    record = store.client(client_id)
    assert record.notes[0].practitioner == "Ana Sousa"
    assert store.session(session_id).practitioner == "Ana Sousa"
    recorder = SessionRecorder(store, ana)
    try:
        assert recorder.practitioner == "Ana Sousa"  # what its journal names
    finally:
        recorder.close(5.0)


def test_an_account_continues_the_history_of_its_typed_name(store: RecordStore) -> None:
    # Before accounts: a name typed freely, as the window does today.
    client_id = store.add_client("Zoë Client", "Ana Sousa")
    admin = accounts.create_administrator(store, "Dana Admin", ADMIN_SECRET)
    accounts.create_account(store, admin, "Ana Sousa", Role.PRACTITIONER, PIN)
    ana = accounts.sign_in(store, "Ana Sousa", PIN, sleep=Sleeps())

    assert ana.practitioner_id == store.practitioner("Ana Sousa")
    store.add_note(client_id, ana, [], "second visit")
    assert {n.practitioner for n in store.client(client_id).notes} == {"Ana Sousa"}


def _attempts(store: RecordStore, admin: SignedIn, name: str) -> int:
    (found,) = [a for a in accounts.list_accounts(store, admin) if a.name == name]
    return found.failed_attempts


def test_mc_console_accounts_makes_and_manages_accounts_headless(
    sqlite_url: str,
    open_store: OpenStore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from console import cli

    open_store(sqlite_url)  # the records exist, without accounts

    def mc(*argv: str, given: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(given))  # a script's input: no terminal
        status = cli.main([*argv, "--db", sqlite_url])
        out, err = capsys.readouterr()
        return status, out, err

    too_short = mc("accounts", "create-administrator", "Dana Admin", given="pass\n")
    assert too_short[0] == 2 and "at least 8 characters" in too_short[2]
    assert mc("accounts", "create-administrator", "Dana Admin", given=f"{ADMIN_SECRET}\n")[0] == 0
    again = mc("accounts", "create-administrator", "Eve", given=f"{ADMIN_SECRET}\n")
    assert again[0] == 4 and "administrator already" in again[2]

    admin = ("--user", "Dana Admin")
    added = mc(
        "accounts",
        "add",
        "Ana Sousa",
        "--role",
        "trainer",
        *admin,
        given=f"{ADMIN_SECRET}\n{PIN}\n",
    )
    assert added[0] == 0 and "added the account Ana Sousa (trainer)" in added[1]
    not_admin = mc("accounts", "list", "--user", "Ana Sousa", given=f"{PIN}\n")
    assert not_admin[0] == 4 and "only an administrator may manage accounts" in not_admin[2]
    assert mc("accounts", "disable", "Ana Sousa", *admin, given=f"{ADMIN_SECRET}\n")[0] == 0
    assert mc("accounts", "unlock", "Ana Sousa", *admin, given=f"{ADMIN_SECRET}\n")[0] == 0
    status, listed, _ = mc("accounts", "list", *admin, given=f"{ADMIN_SECRET}\n")
    assert status == 0
    assert [line.split()[-3:] for line in listed.splitlines()[2:]] == [
        ["trainer", "disabled", "0"],
        ["administrator", "active", "0"],
    ]
    no_secret = mc("accounts", "list", *admin, given="")
    assert no_secret[0] == 2 and "no PIN or password was given" in no_secret[2]
    for output in (too_short, again, added, not_admin, listed, no_secret):
        assert ADMIN_SECRET not in "".join(map(str, output)) and PIN not in "".join(
            map(str, output)
        )
