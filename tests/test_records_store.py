"""The client-record store (``console/records/store.py``) and the session recorder, on SQLite and
on a private PostgreSQL server.

Every store test runs on both backends (``store_url``). The PostgreSQL server is a throw-away
cluster started once for the run (``postgres_url``, see ``records_support.postgres_server``);
without the server binaries those tests are skipped, with the reason in the summary. Between
tests its schema is dropped, so each test starts from an empty database, as on SQLite.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import platformdirs
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from records_fixtures import OpenStore
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from console.engine.events import SafetyEvent, SafetyKind, StepDelivery
from console.engine.runner import TreatmentEngine
from console.records.journal import decode
from console.records.models import Base
from console.records.recorder import RecordsTrouble, SessionRecorder
from console.records.store import (
    FieldError,
    ReactionRow,
    RecordNotFoundError,
    RecordStore,
    StoreUnavailableError,
    _alembic_config,
)
from console.screening import Screening as ScreeningForm
from device_drivers.simulator import SimulatedMachine
from records_support import (
    delivery,
    empty_postgres_database,
    gone_console,
    record_short_session,
    session_info,
    unprivileged,
    unprivileged_ids,
    wait_for,
)
from support import make_protocol

ROOT = Path(__file__).resolve().parent.parent
#: A lifting session at 60 times real time: its first 2-minute step ends 2 s in.
RUN = [sys.executable, "-m", "console.cli", "run", "--protocol", "lifting", "--speed", "60"]
#: The tables migration 0001 creates.
TABLES = {
    "practitioners",
    "clients",
    "screenings",
    "consents",
    "sessions",
    "steps",
    "safety_events",
    "notes",
    "follow_ups",
}

pytestmark = pytest.mark.timeout(90)


# -- helpers ---------------------------------------------------------------------------------------


def table_counts(store: RecordStore) -> dict[str, int]:
    """Rows in every table of the records, counted in plain SQL."""
    with store.engine.connect() as connection:
        return {
            table: int(connection.scalar(text(f'SELECT COUNT(*) FROM "{table}"')) or 0)
            for table in sorted(TABLES)
        }


def backup_files(store: RecordStore, data_dir: Path) -> list[Path]:
    """Every backup the store could have written (beside the SQLite file, or as JSON)."""
    found = sorted(data_dir.glob("records-backup.*")) if data_dir.exists() else []
    if store.path is not None:
        found += [p for p in store.path.parent.glob("*.sqlite3") if p != store.path]
    return found


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def populate_client(store: RecordStore, name: str) -> tuple[int, str]:
    """A client with something in every table: screening, consent, a session with steps and a
    safety event, two notes (one on the session) and a follow-up. Returns (client, session)."""
    client_id = store.add_client(name, "Dana", birth_year=1980, phone="+46 70 123 45 67")
    store.record_screening(client_id, ScreeningForm.all_clear("Dana"), "Dana")
    store.record_consent(client_id, "Dana", "I have read the information and consent.")
    session_id = record_short_session(store, client_id, "Dana", stop="stop", stop_at_s=30.0)
    store.add_note(client_id, "Dana", ["redness"], "Mild redness, gone in 10 min", session_id)
    store.add_note(client_id, "Dana", [], "Called to ask how she felt")
    store.plan_follow_up(
        client_id, "Dana", datetime.now(UTC) + timedelta(days=7), "next session", session_id
    )
    return client_id, session_id


#: What :func:`populate_client` writes, table by table.
ONE_CLIENT = {
    "clients": 1,
    "screenings": 1,
    "consents": 1,
    "sessions": 1,
    "steps": 2,  # the operator stopped in the second step
    "safety_events": 1,  # the operator stop
    "notes": 2,
    "follow_ups": 1,
    "practitioners": 0,  # practitioners stay
}


# -- schema, migrations, backups -----------------------------------------------------------------


def test_migrations_run_up_from_an_empty_database(store_url: str, open_store: OpenStore) -> None:
    store = open_store(store_url, migrate=False)
    assert store.schema_revision() is None
    assert not TABLES & set(inspect(store.engine).get_table_names())

    store.migrate()

    assert store.schema_revision() == RecordStore.head_revision() == "0008"
    assert store.backup_path is None  # an empty database has nothing to back up
    tables = TABLES | {"accounts", "audit_entries", "alembic_version"}  # 0008: accounts, trail
    assert set(inspect(store.engine).get_table_names()) == tables
    with store.engine.connect() as connection:
        # The migrated schema is exactly the models' (columns, types, indexes, foreign keys).
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    cascades = {
        (table, fk["referred_table"]): (fk.get("options") or {}).get("ondelete")
        for table in TABLES
        for fk in inspect(store.engine).get_foreign_keys(table)
    }
    assert cascades[("steps", "sessions")] == "CASCADE"
    assert cascades[("sessions", "clients")] == "CASCADE"
    assert cascades[("clients", "practitioners")] is None  # practitioners are never deleted


def test_opening_a_current_database_again_neither_migrates_nor_backs_up(
    store_url: str, open_store: OpenStore, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = open_store(store_url)
    client_id = first.add_client("Anna Berg", "Dana")
    first.close()
    upgrades: list[str] = []
    backups: list[str] = []
    from alembic import command

    real_upgrade, real_backup = command.upgrade, RecordStore.backup
    monkeypatch.setattr(
        command,
        "upgrade",
        lambda config, revision, **kw: (
            upgrades.append(revision) or real_upgrade(config, revision, **kw)
        ),
    )
    monkeypatch.setattr(
        RecordStore,
        "backup",
        lambda self, label: backups.append(label) or real_backup(self, label),
    )

    again = open_store(store_url)

    assert upgrades == []
    assert backups == []
    assert again.backup_path is None
    assert backup_files(again, data_dir) == []
    assert again.schema_revision() == RecordStore.head_revision()
    assert again.client(client_id).name == "Anna Berg"
    again.migrate()  # at head already: nothing to do
    assert upgrades == [] and backups == []


#: Migrates a database in a process that kills itself (SIGKILL, as a power cut would end it) just
#: before its Nth schema statement: argv = url, target revision, N.
KILL_DURING_MIGRATION = """
import os, signal, sys
from sqlalchemy import event
from console.records.store import RecordStore

url, target, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = RecordStore(url, migrate=False)
seen = [0]

@event.listens_for(store.engine, "before_cursor_execute")
def _kill(conn, cursor, statement, params, context, executemany):
    if statement.lstrip().upper().startswith(("CREATE", "ALTER", "DROP")):
        seen[0] += 1
        if seen[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

store.migrate(target)
print("finished without reaching statement", kill_at, "of", seen[0])
"""

#: Opens (and so migrates) a database at a given wall time: argv = url, time.time() to start at.
START_AT = """
import sys, time
from console.records.store import RecordStore

url, at = sys.argv[1], float(sys.argv[2])
while time.time() < at:
    time.sleep(0.001)
RecordStore(url).close()
"""


def _two_at_once(script: str, url: str, tmp_path: Path) -> None:
    """Run ``script`` in two processes that start its work at the same wall time (argv: url,
    the moment); both must succeed."""
    at = time.time() + 2.0
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, url, repr(at)],
            env=_subprocess_env(tmp_path / "xdg"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for process in processes:
        _out, err = process.communicate(timeout=90)
        assert process.returncode == 0, err


def _subprocess_env(xdg: Path) -> dict[str, str]:
    """The console's modules from this tree; JSON backups of a server in ``xdg``."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "XDG_DATA_HOME": str(xdg)}


def _migration_backups(store: RecordStore, xdg: Path, label: str) -> list[Path]:
    folder = store.path.parent if store.path is not None else xdg / "mc-console"
    return sorted(p for p in folder.glob(f"*.{label}.*") if not p.name.startswith("."))


@pytest.mark.parametrize("kill_at", [1, 6, 14])
def test_a_first_migration_killed_at_any_statement_leaves_nothing_behind(
    store_url: str, open_store: OpenStore, tmp_path: Path, kill_at: int
) -> None:
    killed = subprocess.run(
        [sys.executable, "-c", KILL_DURING_MIGRATION, store_url, "head", str(kill_at)],
        env=_subprocess_env(tmp_path / "xdg"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    if store_url.startswith("sqlite:///"):  # owner-only from the first byte, not after migrating
        database = Path(store_url.removeprefix("sqlite:///"))
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            assert not path.exists() or mode(path) == 0o600, path.name
    probe = open_store(store_url, migrate=False)
    assert probe.schema_revision() is None
    assert not TABLES & set(inspect(probe.engine).get_table_names())  # rolled back, all of it
    probe.close()

    store = open_store(store_url)  # the next start migrates as if nothing had happened
    assert store.schema_revision() == RecordStore.head_revision()
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert store.client(store.add_client("Anna Berg", "Dana")).name == "Anna Berg"


def test_an_upgrade_killed_twice_keeps_the_data_and_one_backup(
    store_url: str, open_store: OpenStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    xdg = tmp_path / "xdg"
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda *_a, **_k: str(xdg / "mc-console"))
    old = open_store(store_url, migrate=False)
    old.migrate("0001")
    # Written as a 0001 console wrote it: the models of today have columns 0001 lacks.
    practitioner_id = old.practitioner("Dana")
    with old.engine.begin() as connection:
        client_id = connection.execute(
            text(
                "INSERT INTO clients (name, search_name, phone, email, goals, created_at, "
                "created_by_id) VALUES ('Anna Berg', 'anna berg', '', '', '', :at, :by) "
                "RETURNING id"
            ),
            {"at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"), "by": practitioner_id},
        ).scalar_one()
    old.close()
    for _attempt in range(2):  # two starts killed in the middle of the upgrade from 0001
        killed = subprocess.run(
            [sys.executable, "-c", KILL_DURING_MIGRATION, store_url, "head", "1"],
            env=_subprocess_env(xdg),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    label = f"before-migration-0001-to-{RecordStore.head_revision()}"
    probe = open_store(store_url, migrate=False)
    assert probe.schema_revision() == "0001"
    assert len(_migration_backups(probe, xdg, label)) == 1
    probe.close()

    store = open_store(store_url)
    assert store.schema_revision() == RecordStore.head_revision() == "0008"
    assert store.client(client_id).name == "Anna Berg"
    (backup,) = _migration_backups(store, xdg, label)
    assert store.backup_path == backup
    assert mode(backup) == 0o600


@pytest.mark.timeout(180)
def test_two_consoles_starting_together_on_a_new_database_both_start(
    store_url: str, open_store: OpenStore, tmp_path: Path
) -> None:
    for round_number in range(5):
        if store_url.startswith("sqlite"):
            url = store_url.replace("records.sqlite3", f"round{round_number}.sqlite3")
        else:
            empty_postgres_database(store_url)
            url = store_url
        _two_at_once(START_AT, url, tmp_path)
        store = open_store(url)
        assert store.schema_revision() == RecordStore.head_revision()
        store.close()


def test_a_database_from_a_newer_console_is_refused_plainly(
    store_url: str, open_store: OpenStore, data_dir: Path
) -> None:
    store = open_store(store_url)
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    store.close()
    with pytest.raises(StoreUnavailableError, match="newer"):
        open_store(store_url)
    assert backup_files(store, data_dir) == []


def test_backup_writes_a_copy_of_every_row(
    store_url: str, open_store: OpenStore, data_dir: Path
) -> None:
    store = open_store(store_url)
    populate_client(store, "Anna Berg")
    store.add_client("Bo Ek", "Eve", phone="0701234567")

    path = store.backup("manual")

    assert path.exists()
    assert mode(path) == 0o600
    if store.path is not None:  # SQLite: a SQLite file beside the database
        assert path.parent == store.path.parent
        assert path.suffix == ".sqlite3" and "manual" in path.name
        copies = []
        for database in (store.path, path):
            connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
            try:
                tables = [
                    name
                    for (name,) in connection.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                    )
                ]
                copies.append(
                    {t: sorted(connection.execute(f'SELECT * FROM "{t}"')) for t in tables}
                )
            finally:
                connection.close()
        original, copy = copies
        assert set(copy) == TABLES | {"accounts", "audit_entries", "alembic_version"}
        assert copy == original
        assert [row[1] for row in copy["clients"]] == ["Anna Berg", "Bo Ek"]
    else:  # another server: every table as JSON in the user's data folder
        assert path.parent == data_dir
        assert mode(data_dir) == 0o700
        dump = json.loads(path.read_text())
        assert set(dump) == TABLES | {"accounts", "audit_entries", "alembic_version"}
        counts = table_counts(store)
        assert {table: len(dump[table]) for table in TABLES} == counts
        assert sorted(row["name"] for row in dump["clients"]) == ["Anna Berg", "Bo Ek"]
        assert dump["alembic_version"] == [{"version_num": RecordStore.head_revision()}]
        assert sorted(row["name"] for row in dump["practitioners"]) == ["Dana", "Eve"]


def test_the_sqlite_file_and_its_folder_are_private(sqlite_url: str, open_store: OpenStore) -> None:
    old_umask = os.umask(0o022)  # what most desktops have: new files readable by everyone
    try:
        store = open_store(sqlite_url)
        store.add_client("Anna Berg", "Dana")
        backup = store.backup("manual")
    finally:
        os.umask(old_umask)
    assert store.path is not None
    assert mode(store.path.parent) == 0o700
    assert mode(store.path) == 0o600
    for companion in (Path(f"{store.path}-wal"), Path(f"{store.path}-shm")):
        if companion.exists():
            assert mode(companion) == 0o600, companion.name
    assert mode(backup) == 0o600


# -- clients ---------------------------------------------------------------------------------------

FIELD_CASES = [
    pytest.param({"name": ""}, "name", id="empty-name"),
    pytest.param({"name": "   "}, "name", id="blank-name"),
    pytest.param({"name": "A" * 121}, "name", id="over-long-name"),
    pytest.param({"name": "Anna\x00Berg"}, "name", id="unprintable-name"),
    pytest.param({"birth_year": 1850}, "birth_year", id="birth-year-1850"),
    pytest.param({"birth_year": 2999}, "birth_year", id="birth-year-2999"),
    pytest.param({"phone": "call me maybe"}, "phone", id="phone-with-letters"),
    pytest.param({"email": "anna.example.com"}, "email", id="email-without-at"),
    pytest.param({"email": "@example.com"}, "email", id="email-without-user"),
    pytest.param({"email": "anna@"}, "email", id="email-without-domain"),
    pytest.param({"practitioner": ""}, "practitioner", id="empty-practitioner"),
    pytest.param({"practitioner": "D" * 121}, "practitioner", id="over-long-practitioner"),
]


@pytest.mark.parametrize(("fields", "field"), FIELD_CASES)
def test_every_field_is_checked_and_the_error_names_it(
    store_url: str, open_store: OpenStore, fields: dict[str, object], field: str
) -> None:
    store = open_store(store_url)
    arguments: dict[str, object] = {"name": "Anna Berg", "practitioner": "Dana", **fields}
    name, practitioner = arguments.pop("name"), arguments.pop("practitioner")

    with pytest.raises(FieldError) as error:
        store.add_client(name, practitioner, **arguments)  # type: ignore[arg-type]

    assert error.value.field == field
    assert str(error.value)  # a sentence for the label beside the field
    assert table_counts(store)["clients"] == 0


def test_the_limits_themselves_are_accepted(store_url: str, open_store: OpenStore) -> None:
    store = open_store(store_url)
    this_year = datetime.now(UTC).year
    first = store.add_client("A" * 120, "D" * 120, birth_year=1900)
    second = store.add_client(
        "Zoë O'Brien-Łukasz", "Dana", birth_year=this_year, phone="+46 (0)70-123 45.67"
    )
    third = store.add_client("  Bo Ek  ", "Dana", email="  bo@example.com ")
    assert store.client(first).name == "A" * 120
    assert store.client(second).phone == "+46 (0)70-123 45.67"
    assert (store.client(third).name, store.client(third).email) == ("Bo Ek", "bo@example.com")


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"phone": "1" * 41}, "phone"), ({"email": "anna@" + "e" * 120 + ".com"}, "email")],
    ids=["phone", "email"],
)
def test_a_value_too_long_for_its_column_is_a_field_error(
    store_url: str, open_store: OpenStore, fields: dict[str, str], field: str
) -> None:
    store = open_store(store_url)
    with pytest.raises(FieldError) as error:
        store.add_client("Anna Berg", "Dana", **fields)
    assert error.value.field == field


def test_a_name_that_grows_when_case_folded_is_stored(
    store_url: str, open_store: OpenStore, request: pytest.FixtureRequest
) -> None:
    store = open_store(store_url)
    name = "Strauß " + "ß" * 113  # 120 characters; 233 once case-folded
    client_id = store.add_client(name, "Dana")
    assert [c.id for c in store.search_clients("strauss")] == [client_id]


def test_search_is_case_insensitive_by_substring_with_names_starting_with_it_first(
    store_url: str, open_store: OpenStore
) -> None:
    store = open_store(store_url)
    names = [
        "Anna Berg",
        "Bergström Eva",
        "Hanna Lind",
        "JOANNA Smith",
        "Annika Ek",
        "Bob Anderson",
        "100% Natural",
        "1000 Natural",
        "under_score",
        "underXscore",
        "Back\\slash",
        "Backslash",
    ]
    ids = {name: store.add_client(name, "Dana") for name in names}
    session_id = record_short_session(store, ids["Anna Berg"], "Dana", steps=1)

    def found(query: str) -> list[str]:
        return [client.name for client in store.search_clients(query)]

    assert found("anna") == ["Anna Berg", "Hanna Lind", "JOANNA Smith"]
    assert found("ANNA") == found("anna") == found("  aNNa ")
    # Names starting with the query first (each group alphabetical), then the others.
    assert found("berg") == ["Bergström Eva", "Anna Berg"]
    assert found("an") == ["Anna Berg", "Annika Ek", "Bob Anderson", "Hanna Lind", "JOANNA Smith"]
    # LIKE's wildcards and its escape character are plain characters in a query.
    assert found("0%") == ["100% Natural"]
    assert found("%") == ["100% Natural"]
    assert found("r_s") == ["under_score"]
    assert found("_") == ["under_score"]
    assert found("k\\s") == ["Back\\slash"]
    assert found("nobody") == []
    assert found("") == sorted(names, key=str.casefold)
    assert len(store.search_clients("", limit=3)) == 3

    (anna,) = store.search_clients("anna berg")
    assert anna.sessions == 1
    assert anna.last_visit == store.session(session_id).started_at
    assert anna.last_visit is not None and anna.last_visit.tzinfo is not None
    assert store.search_clients("hanna")[0].sessions == 0


def test_names_are_composed_and_found_without_case_or_accents(
    store_url: str, open_store: OpenStore
) -> None:
    store = open_store(store_url)
    decomposed = "Zoe\u0308 Berg"  # e + combining diaeresis, as some keyboards type it
    client_id = store.add_client(decomposed, "Dana")
    assert store.client(client_id).name == "Zo\u00eb Berg"  # stored composed (NFC)
    for query in ("zoë", "Zoe\u0308", "ZOË", "zoe berg", "  ZOE "):
        assert [c.id for c in store.search_clients(query)] == [client_id], query
    assert store.client_named("ZOË BERG", "Dana") == client_id  # the same person
    assert [s for s in store.sessions(client_query="zoe")] == []


def test_long_names_are_never_cut_short_into_someone_else(
    store_url: str, open_store: OpenStore
) -> None:
    store = open_store(store_url)
    first = store.client_named("ß" * 60 + "x", "Dana")  # casefolds to 121 characters
    second = store.client_named("ß" * 60 + "y", "Dana")
    assert first != second
    assert store.client(second).name == "ß" * 60 + "y"
    with pytest.raises(FieldError, match=r"name is longer than 120 characters \(121\)"):
        store.add_client("a" * 121, "Dana")


@pytest.mark.parametrize(
    "name",
    [
        "Dana \U0001f469\u200d\u2695\ufe0f",  # woman health worker: an emoji ZWJ sequence
        "\u0645\u06cc\u200c\u0646\u0627",  # a Persian name with a zero-width non-joiner
        "\u0915\u094d\u200d\u0937",  # Devanagari with a zero-width joiner
    ],
)
def test_names_with_joiners_are_accepted(store_url: str, open_store: OpenStore, name: str) -> None:
    store = open_store(store_url)
    client_id = store.add_client(name, "Dana")
    assert store.client(client_id).name == unicodedata.normalize("NFC", name)
    assert [c.id for c in store.search_clients(name)] == [client_id]


def test_invisible_control_characters_are_refused_by_code(
    store_url: str, open_store: OpenStore
) -> None:
    store = open_store(store_url)
    with pytest.raises(FieldError, match=r"characters that do not print \(U\+0007, U\+202E\)"):
        store.add_client("Anna\x07 \u202eBerg", "Dana")


#: Looks up ten new names at given moments (argv: url, first moment), as a second room would.
SAME_NEW_NAMES = """
import sys, time
from console.records.store import RecordStore

store = RecordStore(sys.argv[1])
start = float(sys.argv[2])
for number in range(10):
    while time.time() < start + 0.25 * number:
        time.sleep(0.0005)
    store.client_named(f"Race Client {number}", "Room")
store.close()
"""


@pytest.mark.timeout(120)
def test_two_rooms_adding_the_same_new_client_at_once_make_one_client(
    store_url: str, open_store: OpenStore, tmp_path: Path
) -> None:
    open_store(store_url).close()  # migrated once, before the race
    _two_at_once(SAME_NEW_NAMES, store_url, tmp_path)
    store = open_store(store_url)
    for number in range(10):
        assert len(store.search_clients(f"Race Client {number}")) == 1, number


# -- sessions --------------------------------------------------------------------------------------


def test_a_recorded_session_has_its_row_before_the_output_turns_on(
    store_url: str, open_store: OpenStore
) -> None:
    store = open_store(store_url)
    client_id = store.add_client("Anna Berg", "Dana")
    seen: list[str] = []

    def before_start(session_id: str, engine: TreatmentEngine, machine: SimulatedMachine) -> None:
        row = store.session(session_id)
        assert row.state == "running"
        assert (row.client_id, row.practitioner) == (client_id, "Dana")
        assert row.steps == () and row.events == () and row.ended_at is None
        assert machine.output_on is False
        assert engine.state.value == "ready"
        seen.append(session_id)

    session_id = record_short_session(store, client_id, "Dana", before_start=before_start)

    assert seen == [session_id]
    row = store.session(session_id)
    assert row.state == "finished"
    assert row.ended_at is not None and row.ended_at >= row.started_at
    assert row.simulated and row.protocol_id == "test-protocol"
    assert [(s.index, s.zone, s.completed) for s in row.steps] == [
        (0, "cheek_left", True),
        (1, "cheek_right", True),
        (2, "cheek_left", True),
    ]
    planned = make_protocol(steps=3, duration_s=20.0).steps
    for step, plan in zip(row.steps, planned, strict=True):
        assert step.planned_s == 20.0
        assert step.actual_s == pytest.approx(20.0, abs=0.2)
        assert step.charge_uc == pytest.approx(plan.planned_charge_uc, rel=0.03)
        assert step.mean_current_ua == pytest.approx(
            300.0 * plan.waveform.shape.mean_abs_factor, rel=0.05
        )
        assert step.mean_impedance_kohm is not None and step.mean_impedance_kohm > 0
    assert row.events == ()
    assert [s.id for s in store.client(client_id).sessions] == [session_id]
    assert [s.id for s in store.sessions("anna")] == [session_id]
    ((_, zones),) = store.charge_per_zone(client_id)
    assert zones == pytest.approx(
        {
            "cheek_left": row.steps[0].charge_uc + row.steps[2].charge_uc,
            "cheek_right": row.steps[1].charge_uc,
        }
    )


@pytest.mark.parametrize(
    ("how", "state", "event"),
    [("stop", "stopped", "operator_stop"), ("emergency_stop", "aborted", "emergency_stop")],
)
def test_a_session_ended_early_records_how_it_ended(
    store_url: str, open_store: OpenStore, how: str, state: str, event: str
) -> None:
    store = open_store(store_url)
    client_id = store.add_client("Anna Berg", "Dana")

    session_id = record_short_session(store, client_id, "Dana", stop=how, stop_at_s=30.0)

    row = store.session(session_id)
    assert row.state == state
    assert row.reason
    assert row.ended_at is not None
    assert [(s.index, s.completed) for s in row.steps] == [(0, True), (1, False)]
    assert row.steps[1].actual_s == pytest.approx(10.0, abs=0.3)
    assert [e.kind for e in row.events] == [event]
    assert row.events[0].at_s == pytest.approx(30.0, abs=0.2)  # seconds into the session
    assert row.total_charge_uc > 0


def test_recover_interrupted_keeps_the_steps_of_a_session_cut_short(
    store_url: str, open_store: OpenStore
) -> None:
    store = open_store(store_url)
    client_id = store.add_client("Anna Berg", "Dana")
    finished = record_short_session(store, client_id, "Dana", steps=1)
    gone = gone_console()  # the console that recorded them has died
    store.begin_session(session_info("a" * 32), "Dana", client_id, gone)
    store.add_step("a" * 32, delivery(0, 5000.0))
    store.add_step("a" * 32, delivery(1, 4000.0))
    store.begin_session(session_info("b" * 32), "Dana", None, gone)  # cut short at once

    assert sorted(store.recover_interrupted()) == ["a" * 32, "b" * 32]

    cut_short = store.session("a" * 32)
    assert cut_short.state == "interrupted"
    assert cut_short.reason
    assert [s.charge_uc for s in cut_short.steps] == [5000.0, 4000.0]
    assert cut_short.total_charge_uc == 9000.0
    assert store.session("b" * 32).state == "interrupted"
    assert store.session(finished).state == "finished"
    assert store.recover_interrupted() == []  # nothing is left running


#: Records ten live sessions from another process and keeps their leases until stdin closes.
LIVE_SESSIONS = """
import sys
from datetime import UTC, datetime
from console.drivers import DeviceIdentity
from console.engine.events import SessionInfo
from console.records.recorder import SessionRecorder
from console.records.store import RecordStore

store = RecordStore(sys.argv[1])
recorders = []
for number in range(10):
    recorder = SessionRecorder(store, "Room 2", renew_s=0.2)
    recorder.begin(
        SessionInfo(
            f"{number:032d}", "test-protocol", "1", "Test", "simulator",
            DeviceIdentity("Simulated machine", "SIM-2", "1.0"), True, datetime.now(UTC),
        ),
        0.0,
    )
    recorders.append(recorder)
print("ready", flush=True)
sys.stdin.read()
"""


def test_another_room_s_live_sessions_stay_running_until_its_console_dies(
    store_url: str, open_store: OpenStore, tmp_path: Path
) -> None:
    store = open_store(store_url)
    room_two = subprocess.Popen(
        [sys.executable, "-c", LIVE_SESSIONS, store_url],
        env=_subprocess_env(tmp_path / "xdg"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert room_two.stdout is not None and room_two.stdout.readline() == "ready\n"
        live = [f"{number:032d}" for number in range(10)]
        for _start in range(3):  # this room's console starts three times meanwhile
            assert store.recover_interrupted() == []
            time.sleep(0.3)
        assert {store.session(sid).state for sid in live} == {"running"}
    finally:
        room_two.kill()
        room_two.wait(10)
    # Its console is gone (killed): the next start on this computer recovers them at once.
    assert sorted(store.recover_interrupted()) == live
    assert {store.session(sid).state for sid in live} == {"interrupted"}


def test_a_lease_from_another_computer_holds_until_it_runs_out(
    store_url: str, open_store: OpenStore
) -> None:
    store = open_store(store_url)
    store.begin_session(session_info("c" * 32), "Dana", None, "room-3-pc:4242:tag")
    store.begin_session(session_info("d" * 32), "Dana", None, "room-4-pc:4242:tag")
    with store.engine.begin() as connection:  # room 4's console stopped renewing a minute ago
        connection.execute(
            text("UPDATE sessions SET lease_until = :past WHERE id = :sid"),
            {"past": datetime.now(UTC) - timedelta(minutes=1), "sid": "d" * 32},
        )
    assert store.recover_interrupted() == ["d" * 32]
    assert store.session("c" * 32).state == "running"
    # Room 4's console was alive after all (it could not reach the database): its next
    # renewal takes the session back, running.
    assert store.renew_lease("d" * 32, "room-4-pc:4242:tag")
    assert (store.session("d" * 32).state, store.session("d" * 32).reason) == ("running", "")
    assert store.renew_lease("c" * 32, "room-3-pc:4242:tag")
    assert not store.renew_lease("c" * 32, "someone-else:1:x")


def test_the_recorder_renews_its_lease_while_the_session_runs(
    store_url: str, open_store: OpenStore
) -> None:
    store = open_store(store_url)
    recorder = SessionRecorder(store, "Dana", renew_s=0.05)
    recorder.begin(session_info("e" * 32), 0.0)

    def lease_until() -> datetime:
        with store.engine.connect() as connection:
            value = connection.execute(
                text("SELECT lease_until FROM sessions WHERE id = :sid"), {"sid": "e" * 32}
            ).scalar_one()
        return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))

    first = lease_until()
    wait_for(lambda: lease_until() > first, timeout=5, what="a renewed lease")
    recorder.close(5)


# -- deleting a client -----------------------------------------------------------------------------


def test_deleting_a_client_needs_their_exact_name_and_removes_everything_about_them(
    store_url: str, open_store: OpenStore
) -> None:
    store = open_store(store_url)
    anna, anna_session = populate_client(store, "Anna Berg")
    bo, bo_session = populate_client(store, "Bo Ek")
    anonymous = record_short_session(store, None, "Dana", steps=1)  # a training run
    before = table_counts(store)
    assert before == {
        table: 2 * ONE_CLIENT[table] + {"sessions": 1, "steps": 1, "practitioners": 1}.get(table, 0)
        for table in TABLES
    }

    for wrong in ("anna berg", "Anna", "Anna  Berg", ""):
        with pytest.raises(FieldError) as error:
            store.delete_client(anna, wrong)
        assert error.value.field == "confirm_name"
    with pytest.raises(RecordNotFoundError):
        store.delete_client(anna + bo + 1000, "Anna Berg")
    assert table_counts(store) == before

    store.delete_client(anna, " Anna Berg ")

    assert table_counts(store) == {t: before[t] - ONE_CLIENT[t] for t in TABLES}
    with pytest.raises(RecordNotFoundError):
        store.client(anna)
    with pytest.raises(RecordNotFoundError):
        store.session(anna_session)
    assert [c.name for c in store.search_clients("")] == ["Bo Ek"]
    kept = store.client(bo)
    assert [s.id for s in kept.sessions] == [bo_session]
    assert len(kept.sessions[0].steps) == 2 and len(kept.sessions[0].events) == 1
    assert (len(kept.notes), len(kept.screenings), len(kept.follow_ups)) == (2, 1, 1)
    assert store.session(anonymous).client_id is None


def test_a_plain_sql_delete_of_a_client_cascades_to_every_table(
    store_url: str, open_store: OpenStore
) -> None:
    store = open_store(store_url)
    anna, anna_session = populate_client(store, "Anna Berg")
    populate_client(store, "Bo Ek")
    before = table_counts(store)

    with store.engine.begin() as connection:  # no ORM: only the database's ON DELETE CASCADE
        connection.execute(text("DELETE FROM clients WHERE id = :id"), {"id": anna})

    assert table_counts(store) == {t: before[t] - ONE_CLIENT[t] for t in TABLES}
    with store.engine.connect() as connection:
        for table in ("steps", "safety_events", "notes", "follow_ups"):
            left = connection.scalar(
                text(f'SELECT COUNT(*) FROM "{table}" WHERE session_id = :sid'),
                {"sid": anna_session},
            )
            assert left == 0, table


# -- follow-ups ------------------------------------------------------------------------------------


def test_plan_follow_up_refuses_past_and_naive_times(store_url: str, open_store: OpenStore) -> None:
    store = open_store(store_url)
    client_id = store.add_client("Anna Berg", "Dana")
    now = datetime.now(UTC)
    for due in (now - timedelta(days=1), now - timedelta(seconds=1)):
        with pytest.raises(FieldError) as error:
            store.plan_follow_up(client_id, "Dana", due)
        assert error.value.field == "due_at"
    with pytest.raises(FieldError) as error:
        store.plan_follow_up(client_id, "Dana", datetime.now() + timedelta(days=7))
    assert error.value.field == "due_at"
    assert "zone" in str(error.value)
    assert table_counts(store)["follow_ups"] == 0

    stockholm = timezone(timedelta(hours=2))
    due = datetime(now.year + 1, 6, 1, 14, 30, tzinfo=stockholm)
    store.plan_follow_up(client_id, "Dana", due, "  second session  ")

    (planned,) = store.client(client_id).follow_ups
    assert planned.due_at == due
    assert planned.due_at.utcoffset() == timedelta(0)  # stored and read back in UTC
    assert (planned.practitioner, planned.notes) == ("Dana", "second session")


def test_an_appointment_is_booked_for_a_day_after_today(
    store_url: str, open_store: OpenStore
) -> None:
    store = open_store(store_url)
    client_id = store.add_client("Anna Berg", "Dana")
    for day in (date.today(), date.today() - timedelta(days=1)):
        with pytest.raises(FieldError, match="a day after today") as error:
            store.plan_follow_up(client_id, "Dana", day)
        assert error.value.field == "due_on"
    assert table_counts(store)["follow_ups"] == 0
    day = date.today() + timedelta(days=4)
    store.plan_follow_up(client_id, "Dana", day)
    (planned,) = store.client(client_id).follow_ups
    assert (planned.due_on, planned.due_at, planned.day) == (day, None, day)
    assert planned.upcoming()
    assert planned.describe() == f"{day:%A} {day.day} {day:%B %Y}"


def test_saving_a_visit_s_follow_up_again_updates_it(store_url: str, open_store: OpenStore) -> None:
    store = open_store(store_url)
    client_id = store.add_client("Anna Berg", "Dana")
    session_id = record_short_session(store, client_id, "Dana")
    day = date.today() + timedelta(days=4)
    first = store.save_follow_up(
        client_id,
        "Dana",
        [ReactionRow("redness", "mild", "faded within minutes")],
        "first",
        day,
        session_id,
    )
    assert first.plan_id is not None
    later = day + timedelta(days=3)
    second = store.save_follow_up(
        client_id, "Dana", [], " corrected ", later, session_id, replacing=first
    )
    assert second == first  # the same rows, updated
    record = store.client(client_id)
    (note,) = record.notes
    assert (note.text, note.reactions, note.session_id) == ("corrected", (), session_id)
    (plan,) = record.follow_ups
    assert (plan.day, plan.session_id) == (later, session_id)
    assert record.sessions[0].notes == (note,)

    # No appointment any more: the one booked is withdrawn; the note stays.
    third = store.save_follow_up(client_id, "Dana", [], "will call", None, session_id, second)
    assert third.note_id == first.note_id and third.plan_id is None
    assert store.client(client_id).follow_ups == ()
    # A refused save changes nothing.
    with pytest.raises(FieldError):
        store.save_follow_up(
            client_id, "Dana", [ReactionRow("redness", "awful")], "x", None, session_id, third
        )
    with pytest.raises(FieldError):
        store.save_follow_up(client_id, "Dana", [], "x", date.today(), session_id, third)
    assert [n.text for n in store.client(client_id).notes] == ["will call"]


def test_a_session_keeps_the_goals_of_its_visit(store_url: str, open_store: OpenStore) -> None:
    store = open_store(store_url)
    client_id = store.add_client("Anna Berg", "Dana")
    recorder = SessionRecorder(store, "Dana", client_id, goals="  Lift the jawline ")
    session_id = record_short_session(store, client_id, "Dana", recorder=recorder)
    plain = record_short_session(store, client_id, "Dana")
    assert store.session(session_id).goals == "Lift the jawline"
    assert store.session(plain).goals == ""
    by_id = {s.id: s for s in store.client(client_id).sessions}
    assert (by_id[session_id].goals, by_id[plain].goals) == ("Lift the jawline", "")


def _downgrade(store: RecordStore, revision: str) -> None:
    from alembic import command

    with store._locked("migration", foreign_keys_off=True) as connection:
        config = _alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_migration_0007_keeps_every_record_up_and_down(
    store_url: str, open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Visits' goals and appointment days: nothing recorded before is lost or changed, and an
    appointment booked for a day survives a downgrade as that day at noon UTC."""
    import console.records.store as store_module

    store = open_store(store_url, migrate=False)
    store.migrate("0006")
    # A 0006 console kept no audit trail (revision 0008 brought it).
    monkeypatch.setattr(store_module, "_changed", lambda *_args: None)
    client_id = store.add_client("Anna Berg", "Dana", goals="Lift the jawline")
    session_id = "0006" + "0" * 28
    started = datetime.now(UTC) - timedelta(hours=1)
    booked = datetime(date.today().year + 1, 6, 1, 14, 30, tzinfo=UTC)
    with store.engine.begin() as connection:  # as a 0006 console wrote them
        connection.execute(
            text(
                "INSERT INTO sessions (id, client_id, practitioner_id, protocol_id, "
                "protocol_version, protocol_name, driver_id, machine_model, machine_serial, "
                "machine_firmware, simulated, started_at, ended_at, state, reason) VALUES "
                "(:id, :c, 1, 'lifting', '1.1', 'Lifting', 'simulator', 'S-1', '1', 'sim', "
                ":f, :at, :at, 'finished', 'every step delivered')"
            ),
            {"id": session_id, "c": client_id, "at": started, "f": True},
        )
        connection.execute(
            text(
                "INSERT INTO steps (session_id, step_index, zone, planned_s, actual_s, "
                "mean_current_ua, charge_uc, completed) VALUES "
                "(:id, 0, 'cheek_left', 60, 60, 200, 12000, :t)"
            ),
            {"id": session_id, "t": True},
        )
        connection.execute(
            text(
                "INSERT INTO follow_ups (client_id, session_id, practitioner_id, due_at, notes) "
                "VALUES (:c, :s, 1, :due, 'second session')"
            ),
            {"c": client_id, "s": session_id, "due": booked},
        )
    store.add_note(client_id, "Dana", ["redness"], "fine", session_id)
    before = table_counts(store)
    monkeypatch.undo()

    store.migrate()
    assert store.schema_revision() == RecordStore.head_revision() == "0008"
    assert table_counts(store) == before
    record = store.client(client_id)
    (plan,) = record.follow_ups
    assert (plan.due_at, plan.due_on) == (booked, None)  # not rewritten
    assert record.goals == "Lift the jawline" and record.sessions[0].goals == ""
    assert record.sessions[0].steps[0].charge_uc == 12000
    assert [n.text for n in record.notes] == ["fine"]
    day = date.today() + timedelta(days=4)
    store.plan_follow_up(client_id, "Dana", day)

    _downgrade(store, "0006")
    assert store.schema_revision() == "0006"
    assert table_counts(store) == {**before, "follow_ups": 2}
    with store.engine.connect() as connection:
        kept = sorted(
            str(due)[:16] for (due,) in connection.execute(text("SELECT due_at FROM follow_ups"))
        )
    assert kept == sorted([str(booked.replace(tzinfo=None))[:16], f"{day} 12:00"])

    store.migrate()
    assert store.schema_revision() == "0008"
    assert len(store.client(client_id).follow_ups) == 2


# -- an unavailable database -----------------------------------------------------------------------


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temporary folder the unprivileged user can reach (pytest's own is private to us)."""
    folder = Path(tempfile.mkdtemp(prefix="mc-records-"))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _read_only_database(folder: Path) -> tuple[str, Path]:
    """A records file with one client, owned by the unprivileged user, mode 0400."""
    path = folder / "records" / "records.sqlite3"
    url = f"sqlite:///{path}"
    store = RecordStore(url)  # imports everything the unprivileged part needs, as root
    store.add_client("Anna Berg", "Dana")
    store.close()
    uid, gid = unprivileged_ids()
    for item in (path.parent, *path.parent.iterdir()):
        os.chown(item, uid, gid)
    for item in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if item.exists():
            os.chmod(item, 0o400)
    return url, path


def test_a_read_only_database_file_is_unavailable_with_a_plain_message(
    shared_tmp: Path,
) -> None:
    url, _path = _read_only_database(shared_tmp)
    with unprivileged():
        store = RecordStore(url)
        try:
            assert [c.name for c in store.search_clients("")] == ["Anna Berg"]  # reads work
            with pytest.raises(StoreUnavailableError) as error:
                store.add_client("Bo Ek", "Dana")
            with pytest.raises(StoreUnavailableError):
                store.begin_session(session_info("c" * 32), "Dana", None)
        finally:
            store.close()
    message = str(error.value)
    assert "read-only" in message
    for internal in ("sqlite3", "INSERT", "Traceback", "Bo Ek", "[SQL"):
        assert internal not in message


def test_opening_the_store_leaves_a_read_only_file_read_only(shared_tmp: Path) -> None:
    url, path = _read_only_database(shared_tmp)
    with unprivileged():
        RecordStore(url).close()
    assert mode(path) == 0o400


def test_a_database_we_may_not_open_says_permission_denied_not_drive_removed(
    shared_tmp: Path,
) -> None:
    folder = shared_tmp / "locked-away"
    folder.mkdir()
    RecordStore(f"sqlite:///{folder / 'records.sqlite3'}").close()
    os.chmod(folder / "records.sqlite3", 0o000)
    try:
        with unprivileged(), pytest.raises(StoreUnavailableError) as error:
            RecordStore(f"sqlite:///{folder / 'records.sqlite3'}")
    finally:
        os.chmod(folder / "records.sqlite3", 0o600)
    assert "permission denied" in str(error.value)
    assert "drive removed" not in str(error.value)


def test_a_store_in_a_read_only_folder_is_unavailable(shared_tmp: Path) -> None:
    folder = shared_tmp / "read-only"
    folder.mkdir()
    if os.geteuid() != 0:
        os.chmod(folder, 0o500)  # our own folder, read-only
    else:
        os.chmod(folder, 0o555)  # root's, and we will be nobody
    try:
        with unprivileged(), pytest.raises(StoreUnavailableError):
            RecordStore(f"sqlite:///{folder / 'records.sqlite3'}").add_client("Anna", "Dana")
    finally:
        os.chmod(folder, 0o700)


# -- the recorder when the database fails -------------------------------------------------------


def test_the_recorder_journals_every_record_while_the_database_refuses_then_writes_them_in_order(
    store_url: str, open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(store_url)
    client_id = store.add_client("Anna Berg", "Dana")
    released = threading.Event()
    refused: list[int] = []
    written: list[tuple[str, object]] = []
    real_add_step, real_end = store.add_step, store.end_session_as

    def add_step(session_id: str, step: StepDelivery, final: bool = True) -> None:
        if not released.is_set():
            refused.append(step.index)
            raise StoreUnavailableError("the records database is read-only; check permissions")
        real_add_step(session_id, step, final)
        written.append(("step", step.index) if final else ("checkpoint", step.index))

    def end_session_as(*args: object) -> None:
        real_end(*args)  # type: ignore[arg-type]
        written.append(("end", None))

    monkeypatch.setattr(store, "add_step", add_step)
    monkeypatch.setattr(store, "end_session_as", end_session_as)
    troubles: list[RecordsTrouble] = []
    recovered: list[int] = []
    recorder = SessionRecorder(
        store,
        "Dana",
        client_id,
        on_trouble=troubles.append,
        on_recovered=lambda: recovered.append(len(written)),
        retry_s=0.01,
    )
    try:
        session_id = record_short_session(
            store, client_id, "Dana", recorder=recorder, close_recorder=False
        )
        wait_for(lambda: len(refused) >= 3, what="the recorder to retry a few times")

        assert recorder.troubled
        assert set(refused) == {0}  # the first step is retried; nothing overtakes it
        assert len(troubles) == 1, troubles  # once, however many retries
        assert not troubles[0].must_stop  # the journal keeps everything: the treatment goes on
        assert "step 1" in troubles[0].message and "read-only" in troubles[0].message
        assert "local journal" in troubles[0].message
        assert recovered == []
        row = store.session(session_id)
        assert (row.state, row.steps) == ("running", ())
        # Everything is on the disk already, in order: the start, each step's checkpoints and
        # end, the session's end.
        assert recorder.unjournaled == 0 and recorder.unwritten >= 4
        assert recorder.journal_path is not None
        entries, torn = decode(recorder.journal_path.read_bytes())
        assert not torn
        assert entries[0]["journal"] == 1 and entries[0]["session"] == session_id
        ops = [(e["op"], e.get("index"), e.get("final")) for e in entries[1:]]
        assert ops[0] == ("begin", None, None) and ops[-1] == ("end", None, None)
        finals = [index for op, index, final in ops if op == "step" and final]
        assert finals == [0, 1, 2]
        assert stat.S_IMODE(recorder.journal_path.stat().st_mode) == 0o600

        released.set()
        assert recorder.close(10.0)
    finally:
        released.set()
        recorder.close(1.0)

    assert recorder.unwritten == 0 and not recorder.troubled
    assert [w for w in written if w[0] != "checkpoint"] == [
        ("step", 0),
        ("step", 1),
        ("step", 2),
        ("end", None),
    ]
    assert recovered == [1]  # on_recovered once, right after the first write that went through
    assert len(troubles) == 1
    assert not recorder.journal_path.exists()  # all of it is in the database
    row = store.session(session_id)
    assert row.state == "finished"
    assert [s.index for s in row.steps] == [0, 1, 2]


# -- a console killed mid-session -----------------------------------------------------------------


@functools.cache
def run_help() -> str:
    done = subprocess.run(
        [sys.executable, "-m", "console.cli", "run", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    return done.stdout + done.stderr


def _finished_steps(url: str, client: str, completed: bool = True) -> tuple[str, str, int] | None:
    """(session id, state, steps) of the client's session once it has a step: finished ones,
    or with ``completed=False`` only a checkpoint of the step in progress."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT s.id, s.state, COUNT(st.id) FROM sessions s "
                    "JOIN clients c ON c.id = s.client_id "
                    "JOIN steps st ON st.session_id = s.id "
                    "WHERE c.name = :client AND st.completed = :completed "
                    "GROUP BY s.id, s.state"
                ),
                {"client": client, "completed": completed},
            ).first()
    except SQLAlchemyError:  # not created yet, or busy migrating
        return None
    finally:
        engine.dispose()
    return (str(row[0]), str(row[1]), int(row[2])) if row else None


def _kill_a_run_once(
    store_url: str, open_store: OpenStore, tmp_path: Path, client: str, completed: bool
) -> tuple[tuple[str, str, int], int]:
    """Start a recorded lifting run at ×60 for ``client`` and SIGKILL it as soon as it has a
    step row (finished, or with ``completed=False`` a checkpoint); returns what was seen then
    and the process's return code."""
    missing = [o for o in ("--db", "--client", "--practitioner") if o not in run_help()]
    if missing:
        pytest.skip(f"'mc-console run' has no {', '.join(missing)} option yet")
    open_store(store_url).add_client(client, "Dana")  # whether run finds or creates the client
    output = tmp_path / "run-output.txt"
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg"), "QT_QPA_PLATFORM": "offscreen"}
    with output.open("w") as sink:
        process = subprocess.Popen(
            [*RUN, "--db", store_url, "--client", client, "--practitioner", "Dana"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30.0
        seen = None
        while seen is None:
            assert process.poll() is None, f"run ended early:\n{output.read_text()}"
            assert time.monotonic() < deadline, f"no step row in 30 s:\n{output.read_text()}"
            time.sleep(0.05)
            seen = _finished_steps(store_url, client, completed)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    return seen, process.returncode


def test_a_run_killed_inside_its_first_step_keeps_what_it_delivered(
    store_url: str, open_store: OpenStore, tmp_path: Path
) -> None:
    (session_id, state, _), returncode = _kill_a_run_once(
        store_url, open_store, tmp_path, "Checkpoint Test", completed=False
    )
    assert state == "running" and returncode == -signal.SIGKILL
    store = open_store(store_url)
    assert store.recover_interrupted() == [session_id]
    row = store.session(session_id)
    assert row.state == "interrupted"
    partial = [step for step in row.steps if not step.completed]
    assert len(partial) == 1 and partial[0].index == len(row.steps) - 1
    # At least one 5 s checkpoint of treatment, with the charge of those seconds.
    assert partial[0].actual_s >= 5.0
    assert partial[0].charge_uc > 5.0 * 50.0  # 200 µA square pulses, 100 µA on average
    assert partial[0].net_charge_uc is not None


def test_a_killed_run_leaves_an_interrupted_session_with_its_finished_steps(
    store_url: str, open_store: OpenStore, tmp_path: Path
) -> None:
    client = "Crash Test"
    seen, returncode = _kill_a_run_once(store_url, open_store, tmp_path, client, completed=True)
    assert returncode == -signal.SIGKILL
    session_id, state, steps = seen
    assert state == "running"  # killed in the middle of the session

    store = open_store(store_url)
    assert store.recover_interrupted() == [session_id]

    row = store.session(session_id)
    assert row.state == "interrupted"
    assert row.client_name == client and row.practitioner == "Dana"
    assert row.protocol_id == "lifting"
    assert row.ended_at is None
    finished = [step for step in row.steps if step.completed]
    assert len(finished) >= steps >= 1
    assert [step.index for step in finished] == list(range(len(finished)))
    # At most the step in progress is a checkpoint (what it delivered up to its last one).
    assert len(row.steps) - len(finished) <= 1
    assert row.total_charge_uc > 0


def test_the_console_knows_its_newest_migration_without_reading_the_scripts() -> None:
    from alembic.script import ScriptDirectory

    from console.records.store import HEAD_REVISION, _alembic_config

    assert ScriptDirectory.from_config(_alembic_config()).get_current_head() == HEAD_REVISION


def test_a_start_with_nothing_to_migrate_does_not_load_alembic(sqlite_url: str) -> None:
    """Alembic costs a command-line start about half a second: only a migration pays it."""
    RecordStore(sqlite_url).close()  # the first start migrates
    script = (
        "import sys\n"
        "from console.records.store import RecordStore\n"
        f"RecordStore({sqlite_url!r}).close()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr


def test_sessions_stream_in_batches_exactly_as_they_are_listed(
    store_url: str, open_store: OpenStore
) -> None:
    """An export reads the sessions a batch at a time (newest first; ties on the start time
    in a fixed order): the same sessions, steps and events as the listing, none twice."""
    store = open_store(store_url)
    anna = store.add_client("Anna Berg", "Dana")
    eva = store.add_client("Eva Lind", "Dana")
    moment = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    for n in range(23):
        started = moment - timedelta(hours=n // 3)  # three sessions share each start time
        info = replace(session_info(f"{n:032x}"), started_at=started)
        store.begin_session(info, "Dana", anna if n % 2 else eva)
        for index in range(n % 4):
            store.add_step(info.session_id, delivery(index, 1000.0 + n))
        if n % 5 == 0:
            store.add_event(
                info.session_id, SafetyEvent(SafetyKind.CONTACT_LOST, 3.0, "m", "a"), 0.0, 0
            )

    listed = store.sessions(limit=100)
    assert list(store.iter_sessions(batch=4)) == [replace(row, notes=()) for row in listed]
    assert [row.id for row in store.iter_sessions(limit=7, batch=3)] == [r.id for r in listed[:7]]
    annas = [row.id for row in store.iter_sessions("anna", batch=2)]
    assert annas == [row.id for row in store.sessions("anna")] and len(annas) == 11
