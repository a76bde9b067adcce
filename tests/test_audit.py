"""The audit trail: entries chained by SHA-256, refused updates and deletes, appends from two
rooms at once, a hand-broken chain found by ``mc-console audit --verify``, and an entry for each
kind of access made through the command line (the real ``mc-console``, in a subprocess)."""

from __future__ import annotations

import itertools
import os
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from records_fixtures import OpenStore
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from console.records import accounts, audit
from console.records.signed_in import Role
from console.records.store import RecordStore

pytestmark = pytest.mark.timeout(180)

MC_CONSOLE = str(Path(sys.executable).parent / "mc-console")
ROOT = Path(__file__).resolve().parent.parent
CLIENT = "Zoë Quintero-Falk"


def mc_console(*argv: str, given: str = "") -> subprocess.CompletedProcess[str]:
    """The installed ``mc-console ARGV``, ``given`` on its standard input; in a session of its
    own, so that no terminal is there to ask a secret at (it reads standard input)."""
    return subprocess.run(
        [MC_CONSOLE, *argv],
        cwd=ROOT,
        input=given,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        start_new_session=True,
        check=False,
    )


@pytest.fixture
def store(store_url: str, open_store: OpenStore) -> RecordStore:
    return open_store(store_url)


def test_each_entry_points_at_the_one_before_and_the_chain_verifies(store: RecordStore) -> None:
    client_id = store.add_client(CLIENT, "Dana")
    audit.record(store, None, audit.VIEW, [client_id], "record shown")
    audit.record(store, None, audit.REPORT, [client_id], "session 1a2b3c4d (PDF)")
    audit.record(store, None, audit.EXPORT, [client_id, None], "sessions exported as CSV")

    trail = audit.entries(store)
    assert [(e.id, e.action, e.client_id) for e in trail] == [
        (1, "change", client_id),  # the client added (in the same transaction as the row)
        (2, "view", client_id),
        (3, "report", client_id),
        (4, "export", client_id),
        (5, "export", None),
    ]
    assert trail[0].previous_hash == audit.GENESIS
    for before, entry in itertools.pairwise(trail):
        assert entry.previous_hash == before.entry_hash
    first = trail[1]
    assert first.role == audit.NO_ACCOUNT and first.actor.endswith("(no account)")
    assert first.workstation == audit.workstation() and first.at.tzinfo is not None
    assert first.entry_hash == audit.hash_of(
        first.id,
        first.at,
        first.actor,
        first.role,
        first.action,
        first.client_id,
        first.detail,
        first.workstation,
        first.previous_hash,
    )
    assert CLIENT not in repr(trail)  # clients by id only

    found = audit.verify(store)
    assert (found.intact, found.entries, found.head_hash) == (True, 5, trail[-1].entry_hash)
    assert [e.id for e in audit.entries(store, [client_id], limit=2)] == [3, 4]


def test_a_listing_of_thousands_of_clients_is_chained_in_one_batch(store: RecordStore) -> None:
    audit.record(store, None, audit.SIGN_IN)
    made = audit.record(store, None, audit.VIEW, range(1, 2001), "sessions listed")

    assert [e.id for e in made] == list(range(2, 2002))
    assert made[0].previous_hash == audit.entries(store, limit=2002)[0].entry_hash
    found = audit.verify(store)
    assert (found.intact, found.entries, found.head_hash) == (True, 2001, made[-1].entry_hash)


def test_the_database_refuses_to_change_or_delete_an_entry(store: RecordStore) -> None:
    audit.record(store, None, audit.VIEW, [1], "record shown")
    statements = ["UPDATE audit_entries SET detail = 'nothing'", "DELETE FROM audit_entries"]
    if not store.is_sqlite:  # SQLite has no TRUNCATE; PostgreSQL's is not a row operation
        statements.append("TRUNCATE audit_entries")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as connection:
            connection.execute(text(statement))
    assert audit.verify(store).intact and len(audit.entries(store)) == 1


def test_appends_from_two_rooms_at_once_keep_one_whole_chain(
    store_url: str, open_store: OpenStore
) -> None:
    rooms = [open_store(store_url), open_store(store_url)]
    failures: list[BaseException] = []

    def room(store: RecordStore, number: int) -> None:
        try:
            for i in range(12):
                audit.record(store, None, audit.VIEW, [number], f"view {i}")
        except BaseException as error:  # noqa: BLE001 (reported by the test thread)
            failures.append(error)

    threads = [threading.Thread(target=room, args=(rooms[n % 2], n)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures
    found = audit.verify(rooms[0])
    assert (found.intact, found.entries) == (True, 48)
    assert [e.id for e in audit.entries(rooms[1])] == list(range(1, 49))


def _break(path: Path, how: str) -> None:
    """Tamper with the trail as someone with the file would: triggers dropped first."""
    db = sqlite3.connect(path)
    try:
        db.execute("DROP TRIGGER audit_entries_no_update")
        db.execute("DROP TRIGGER audit_entries_no_delete")
        if how == "changed":
            db.execute("UPDATE audit_entries SET actor = 'somebody else' WHERE id = 2")
        elif how == "removed":
            db.execute("DELETE FROM audit_entries WHERE id = 2")
        elif how == "rehashed":
            # Entry 2 changed and given a hash that fits its new content: entry 3 still
            # points at the old one.
            row = db.execute("SELECT * FROM audit_entries WHERE id = 2").fetchone()
            columns = [c[0] for c in db.execute("SELECT * FROM audit_entries").description]
            entry = dict(zip(columns, row, strict=True))
            moment = datetime.fromisoformat(entry["at"])
            digest = audit.hash_of(
                2,
                moment if moment.tzinfo else moment.replace(tzinfo=UTC),
                "somebody else",
                entry["role"],
                entry["action"],
                entry["client_id"],
                entry["detail"],
                entry["workstation"],
                entry["previous_hash"],
            )
            db.execute(
                "UPDATE audit_entries SET actor = 'somebody else', entry_hash = ? WHERE id = 2",
                (digest,),
            )
        db.commit()
    finally:
        db.close()


@pytest.mark.parametrize(
    ("how", "entry", "reason"),
    [
        ("changed", 2, "content was changed"),
        ("removed", 3, "entry 2 is missing"),
        ("rehashed", 3, "does not point at the entry before it"),
    ],
)
def test_audit_verify_names_the_first_broken_entry(
    sqlite_url: str, open_store: OpenStore, how: str, entry: int, reason: str
) -> None:
    store = open_store(sqlite_url)
    for i in range(4):
        audit.record(store, None, audit.VIEW, [i + 1], "record shown")
    assert store.path is not None
    intact = mc_console("audit", "--verify", "--db", sqlite_url)
    assert intact.returncode == 0, intact.stderr
    assert "audit trail intact: 4 entries" in intact.stdout

    _break(store.path, how)

    broken = mc_console("audit", "--verify", "--db", sqlite_url)
    assert broken.returncode == 3, broken.stderr
    assert f"audit trail BROKEN at entry {entry}: " in broken.stderr
    assert reason in broken.stderr


def test_every_kind_of_access_through_the_command_line_is_audited(
    sqlite_url: str, tmp_path: Path
) -> None:
    (tmp_path / "records").mkdir()
    run = mc_console(
        "run", "--protocol", "lifting", "--speed", "max", "--client", CLIENT, "--db", sqlite_url
    )
    assert run.returncode == 0, run.stderr
    session_id = run.stdout.rsplit("Recorded as session ", 1)[1][:8]
    steps = [
        ("sessions", "--db", sqlite_url),
        ("sessions", "--csv", str(tmp_path / "s.csv"), "--db", sqlite_url),
        ("report", session_id, "--pdf", str(tmp_path / "r.pdf"), "--db", sqlite_url),
        ("client", "export", CLIENT.upper(), "--out", str(tmp_path), "--db", sqlite_url),
        ("client", "erase", CLIENT, "--yes", "--db", sqlite_url),
    ]
    for argv in steps:
        done = mc_console(*argv)
        assert done.returncode == 0, (argv, done.stderr)

    listed = mc_console("audit", "--verify", "--db", sqlite_url)
    assert listed.returncode == 0, listed.stderr
    assert "audit trail intact" in listed.stdout
    store = RecordStore(sqlite_url, create=False)
    try:
        trail = audit.entries(store)
    finally:
        store.close()
    assert [(e.action, e.client_id) for e in trail] == [
        ("change", 1),  # run --client: the client added,
        ("change", 1),  # and a session recorded for them
        ("view", 1),  # sessions
        ("view", 1),  # sessions --csv: listed,
        ("export", 1),  # and exported
        ("report", 1),
        ("export", 1),  # client export
        ("erase", 1),
    ]
    assert {e.role for e in trail} == {audit.NO_ACCOUNT}
    # Nothing of the erased client is left anywhere in the database, the trail included.
    assert CLIENT.encode() not in Path(sqlite_url.removeprefix("sqlite:///")).read_bytes()
    assert CLIENT not in listed.stdout


def test_with_accounts_the_command_line_signs_in_and_names_the_account(
    sqlite_url: str, open_store: OpenStore
) -> None:
    store = open_store(sqlite_url)
    admin = accounts.create_administrator(store, "Dana Admin", "clinic-admin-2026")
    accounts.create_account(store, admin, "Ana Sousa", Role.PRACTITIONER, "4821")
    store.add_client(CLIENT, "Ana Sousa")

    nobody = mc_console("sessions", "--db", sqlite_url)
    assert nobody.returncode == 2 and "give --user NAME" in nobody.stderr
    listed = mc_console("sessions", "--user", "ana sousa", "--db", sqlite_url, given="4821\n")
    assert listed.returncode == 0, listed.stderr
    wrong = mc_console("sessions", "--user", "Ana Sousa", "--db", sqlite_url, given="1111\n")
    assert wrong.returncode == 4
    assert wrong.stderr.strip() == (
        "mc-console: error: refused: the name or the PIN/password is not right"
    )
    not_hers = mc_console("audit", "--user", "Ana Sousa", "--db", sqlite_url, given="4821\n")
    assert not_hers.returncode == 4 and "only an administrator may read the audit" in (
        not_hers.stderr
    )

    treat = ["run", "--protocol", "lifting", "--speed", "max", "--client", CLIENT]
    unsigned = mc_console(*treat, "--practitioner", "Anyone", "--db", sqlite_url)
    assert unsigned.returncode == 2 and "give --user NAME" in unsigned.stderr
    treated = mc_console(*treat, "--user", "Ana Sousa", "--db", sqlite_url, given="4821\n")
    assert treated.returncode == 0, treated.stderr
    (session,) = store.sessions()
    assert session.practitioner == "Ana Sousa"

    trail = mc_console(
        "audit", "--user", "Dana Admin", "--db", sqlite_url, given="clinic-admin-2026\n"
    )
    assert trail.returncode == 0, trail.stderr
    lines = trail.stdout.splitlines()
    assert any(
        "Ana Sousa" in line and "practitioner" in line and " sign-in " in line for line in lines
    )
    assert any(" refused " in line for line in lines)
    assert any("Ana Sousa" in line and " change " in line for line in lines)
    for secret in ("4821", "1111", "clinic-admin-2026"):
        for output in (nobody, listed, wrong, not_hers, unsigned, treated, trail):
            assert secret not in output.stdout + output.stderr


def test_without_a_user_name_the_trail_names_the_user_id(monkeypatch: pytest.MonkeyPatch) -> None:
    def nameless() -> str:
        raise OSError("no user name")

    monkeypatch.setattr(audit.getpass, "getuser", nameless)
    assert audit.actor_of(None) == (f"uid {os.getuid()} (no account)", audit.NO_ACCOUNT)
