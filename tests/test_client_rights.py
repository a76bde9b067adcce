"""The client's rights: everything held about one client exported (JSON and PDF), and a client
erased with all their records, leaving only an audit entry that an erasure happened."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from records_fixtures import OpenStore
from sqlalchemy import text

from console.records import accounts, audit, reports
from console.records.client_rights import erase_client, export_client, the_client
from console.records.errors import (
    FieldError,
    PermissionRefusedError,
    RecordNotFoundError,
    StoreUnavailableError,
)
from console.records.signed_in import Role
from console.records.store import RecordStore
from console.screening import Screening
from records_support import record_short_session

pytestmark = pytest.mark.timeout(180)

MC_CONSOLE = str(Path(sys.executable).parent / "mc-console")
CLIENT = "Zoë Quintero-Falk"
NOTE = "slight redness on the left cheek, faded within minutes"
#: Whose each table's rows are (the client's id, through their session where needed).
OWNER = {
    "clients": "SELECT id FROM clients",
    "screenings": "SELECT client_id FROM screenings",
    "consents": "SELECT client_id FROM consents",
    "sessions": "SELECT client_id FROM sessions",
    "steps": "SELECT s.client_id FROM steps JOIN sessions s ON s.id = steps.session_id",
    "notes": "SELECT client_id FROM notes",
    "follow_ups": "SELECT client_id FROM follow_ups",
}
TABLES = tuple(OWNER)


@pytest.fixture
def store(store_url: str, open_store: OpenStore) -> RecordStore:
    return open_store(store_url)


def a_full_record(store: RecordStore, name: str = CLIENT, note: str = NOTE) -> tuple[int, str]:
    """A client with a screening, a consent, a session, a note and an appointment."""
    client_id = store.add_client(name, "Dana", date_of_birth=date(1980, 5, 17), phone="+1 555")
    store.record_screening(client_id, Screening.all_clear("Dana"), "Dana")
    store.record_consent(client_id, "Dana", "Consent given by the client")
    session_id = record_short_session(store, client_id, "Dana", steps=1, duration_s=10.0)
    store.add_note(client_id, "Dana", ["redness"], note, session_id)
    store.plan_follow_up(client_id, "Dana", date.today() + timedelta(days=7), "", session_id)
    return client_id, session_id


def test_an_export_holds_everything_about_the_client_and_is_audited(
    store: RecordStore, tmp_path: Path
) -> None:
    client_id, session_id = a_full_record(store)
    other_id, _ = a_full_record(store, "Someone Else", "another note")

    files = export_client(store, None, client_id, tmp_path)

    held = json.loads(files.json.read_text(encoding="utf-8"))
    assert held["format"] == "mc-console client export" and held["version"] == 1
    assert held["client"]["name"] == CLIENT
    assert held["client"]["date_of_birth"] == "1980-05-17"
    assert [c["text"] for c in held["consents"]] == ["Consent given by the client"]
    assert len(held["screenings"]) == 1 and held["screenings"][0]["cleared"] is True
    (session,) = held["sessions"]
    assert session["id"] == session_id and session["steps"][0]["zone"]
    assert session["notes"][0]["text"] == NOTE
    assert [n["text"] for n in held["notes"]] == [NOTE]
    assert len(held["appointments"]) == 1
    assert "Someone Else" not in files.json.read_text(encoding="utf-8")
    assert all(access["by"].endswith("(no account)") for access in held["accesses"])

    pdfs = [files.summary_pdf, *files.session_pdfs]
    assert len(files.session_pdfs) == 1 and session_id[:8] in files.session_pdfs[0].name
    for path in [files.json, *pdfs]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for path in pdfs:
        assert path.read_bytes().startswith(b"%PDF")
    # (the changes that made the records are in the trail too; the export is one entry)
    exports = [e for e in audit.entries(store) if e.action == audit.EXPORT]
    assert [(e.action, e.client_id) for e in exports] == [("export", client_id)]
    assert other_id not in {e.client_id for e in exports}


def test_an_export_into_no_folder_is_refused_and_not_audited(
    store: RecordStore, tmp_path: Path
) -> None:
    client_id = store.add_client(CLIENT, "Dana")
    with pytest.raises(FieldError, match="does not exist: create it first"):
        export_client(store, None, client_id, tmp_path / "missing")
    (tmp_path / "a-file").write_text("kept", encoding="utf-8")
    with pytest.raises(FieldError, match="is a file, not a folder"):
        export_client(store, None, client_id, tmp_path / "a-file")
    assert (tmp_path / "a-file").read_text(encoding="utf-8") == "kept"
    assert [e.action for e in audit.entries(store)] == [audit.CHANGE]  # the client added only


@pytest.mark.parametrize("failing", ["the audit trail", "a session's report"])
def test_an_export_cut_short_leaves_no_file(
    store: RecordStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    client_id, _ = a_full_record(store)

    def unavailable(*_args: object, **_kwargs: object) -> None:
        raise StoreUnavailableError("the records database is busy")

    def disk_full(*_args: object, **_kwargs: object) -> None:
        raise OSError("cannot write the PDF report: no space left on the device")

    if failing == "the audit trail":
        monkeypatch.setattr(audit, "record", unavailable)
    else:
        monkeypatch.setattr(reports, "write_session_pdf", disk_full)
    with pytest.raises((StoreUnavailableError, OSError)):
        export_client(store, None, client_id, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("client")) == []


def test_an_erasure_leaves_nothing_of_the_client_but_an_audit_entry(store: RecordStore) -> None:
    client_id, _ = a_full_record(store)
    other_id, other_session = a_full_record(store, "Someone Else", "another note")
    audit.record(store, None, audit.VIEW, [client_id], "record shown")

    with pytest.raises(FieldError, match="full name"):
        erase_client(store, None, client_id, "Zoe")
    assert store.client(client_id).name == CLIENT  # nothing erased

    erased = erase_client(store, None, client_id, "zoë quintero-falk")

    assert (erased.sessions, erased.screenings, erased.consents, erased.notes) == (1, 1, 1, 1)
    assert erased.appointments == 1
    with pytest.raises(RecordNotFoundError):
        store.client(client_id)
    with store.engine.connect() as connection:
        for table in TABLES:  # every row left belongs to the other client
            owners = connection.execute(text(OWNER[table])).scalars().all()
            assert owners and set(owners) == {other_id}, table
        dump = repr([connection.execute(text(f"SELECT * FROM {t}")).all() for t in TABLES])
    assert CLIENT not in dump and NOTE not in dump
    if store.path is not None:  # SQLite: not in the file's free pages either
        assert NOTE.encode() not in store.path.read_bytes()
    assert store.session(other_session).client_name == "Someone Else"  # the other one kept
    last = audit.entries(store)[-1]
    assert (last.action, last.client_id) == ("erase", client_id)
    assert CLIENT not in repr(audit.entries(store))
    assert audit.verify(store).intact


def test_with_accounts_only_the_administrator_exports_or_erases(
    store: RecordStore, tmp_path: Path
) -> None:
    client_id, _ = a_full_record(store)
    admin = accounts.create_administrator(store, "Dana Admin", "clinic-admin-2026")
    accounts.create_account(store, admin, "Ana Sousa", Role.PRACTITIONER, "4821")
    ana = accounts.sign_in(store, "Ana Sousa", "4821")

    for who in (None, ana):
        with pytest.raises(PermissionRefusedError):
            export_client(store, who, client_id, tmp_path)
        with pytest.raises(PermissionRefusedError):
            erase_client(store, who, client_id, CLIENT)
    assert not list(tmp_path.glob("client-*"))

    export_client(store, admin, client_id, tmp_path)
    erase_client(store, admin, client_id, CLIENT)
    exported, erased = audit.entries(store)[-2:]
    assert (exported.action, exported.actor, exported.role) == (
        "export",
        "Dana Admin",
        "administrator",
    )
    assert (erased.action, erased.actor, erased.client_id) == ("erase", "Dana Admin", client_id)


def test_namesakes_need_their_id_and_a_stranger_is_not_found(store: RecordStore) -> None:
    first = store.add_client(CLIENT, "Dana", birth_year=1980)
    second = store.add_client(CLIENT, "Dana", birth_year=1991)
    store.add_client("Zoë Quintero-Falkner", "Dana")  # contains the name: not the person

    with pytest.raises(FieldError, match=rf"2 clients are called .*ids {first} \(born 1980\), "):
        the_client(store, CLIENT)
    assert the_client(store, "ZOE QUINTERO-FALK", second).id == second
    with pytest.raises(RecordNotFoundError, match="no client called 'Nobody'"):
        the_client(store, "Nobody")


def _erase(url: str, *extra: str, given: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MC_CONSOLE, "client", "erase", CLIENT, *extra, "--db", url],
        input=given,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        start_new_session=True,
        check=False,
    )


def test_mc_console_client_erase_asks_for_the_name_first(
    sqlite_url: str, open_store: OpenStore
) -> None:
    store = open_store(sqlite_url)
    client_id = store.add_client(CLIENT, "Dana")

    for given, said in (("", "Nothing was erased."), ("Zoe\n", "nothing was erased")):
        refused = _erase(sqlite_url, given=given)
        assert refused.returncode == 1, refused.stderr
        assert said in refused.stdout and "cannot be undone" in refused.stdout
        assert store.client(client_id).name == CLIENT

    done = _erase(sqlite_url, given=f"{CLIENT}\n")
    assert done.returncode == 0, done.stderr
    assert f"erased client {client_id}: 0 sessions" in done.stdout
    with pytest.raises(RecordNotFoundError):
        store.client(client_id)
    gone = _erase(sqlite_url, "--yes", given="")
    assert gone.returncode == 2 and f"no client called {CLIENT!r}" in gone.stderr
