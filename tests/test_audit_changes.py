"""Every change to a client's records is in the audit trail, in the change's own transaction,
naming the signed-in account (or, without accounts, the computer's user and the practitioner
typed), and never anything of the client but their id (issue 20)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from console.drivers import DeviceIdentity
from console.engine.events import SessionInfo
from console.records import audit
from console.records.accounts import create_administrator
from console.records.entries import apply_entry, begin_entry
from console.records.errors import StoreUnavailableError
from console.records.models import now_utc
from console.screening import Screening

PIN = "482916"


def _changes(store):  # type: ignore[no-untyped-def]
    return [e for e in audit.entries(store) if e.action in (audit.CHANGE, audit.DELETE)]


def _session(session_id: str = "5e55104-0000-4000-8000-000000000001") -> SessionInfo:
    return SessionInfo(
        session_id=session_id,
        protocol_id="toning",
        protocol_version="1",
        protocol_name="Toning",
        driver_id="simulator",
        machine=DeviceIdentity("MC Simulator S-1", "SIM-1", "sim-1.0"),
        simulated=True,
        started_at=now_utc(),
    )


def test_each_change_of_a_signed_in_account_names_it(store) -> None:  # type: ignore[no-untyped-def]
    anna = create_administrator(store, "Anna Berg", PIN)
    client = store.add_client("Eva Fors", anna, birth_year=1980)
    store.record_screening(client, Screening.all_clear(), anna)
    store.record_consent(client, anna, "Consent given by Eva Fors")
    assert store.record_goals(client, "Lift the jawline", by=anna)
    assert not store.record_goals(client, "Lift the jawline", by=anna)  # no change: no entry
    store.begin_session(_session(), anna, client)
    store.begin_session(_session(), anna, client)  # written again (a replay): one entry
    store.add_note(client, anna, ["redness"], "faded in minutes")
    store.plan_follow_up(client, anna, date.today() + timedelta(days=7))
    saved = store.save_follow_up(client, anna, [], "fine", None)
    store.save_follow_up(client, anna, [], "fine, corrected", None, replacing=saved)
    changes = _changes(store)
    assert [e.detail for e in changes] == [
        "client added",
        "screening recorded (cleared)",
        "consent recorded",
        "goals changed",
        "treatment session 5e55104-",
        "note recorded",
        "appointment planned",
        "follow-up recorded",
        "follow-up corrected",
    ]
    assert {(e.actor, e.role, e.client_id) for e in changes} == {
        ("Anna Berg", "administrator", client)
    }
    assert all("Eva" not in e.detail and "jawline" not in e.detail for e in changes)
    assert audit.verify(store).intact


def test_without_accounts_the_typed_practitioner_is_in_the_detail(store) -> None:  # type: ignore[no-untyped-def]
    client = store.client_named("Eva Fors", "Maria Keller")
    store.client_named("eva fors", "Maria Keller")  # found, not added: no entry
    store.delete_client(client, "Eva Fors")
    added, deleted = _changes(store)
    assert added.action == audit.CHANGE and added.role == audit.NO_ACCOUNT
    assert added.actor == audit.actor_of(None)[0]
    assert added.detail == "client added (practitioner: Maria Keller)"
    assert (deleted.action, deleted.client_id) == (audit.DELETE, client)


def test_a_change_whose_entry_cannot_be_written_is_not_made(store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def refuse(*_args: object, **_kw: object) -> None:
        raise StoreUnavailableError("the audit trail cannot be written")

    client = store.add_client("Eva Fors", "Maria Keller")
    monkeypatch.setattr(audit, "append", refuse)
    with pytest.raises(StoreUnavailableError):
        store.record_screening(client, Screening.all_clear(), "Maria Keller")
    monkeypatch.undo()
    assert not store.client(client).screenings  # all or nothing


def test_a_live_session_names_the_account_and_a_replayed_journal_the_name(store) -> None:  # type: ignore[no-untyped-def]
    anna = create_administrator(store, "Anna Berg", PIN)
    client = store.add_client("Eva Fors", anna)
    live = begin_entry(_session(), anna.name, client, "room-1", None)
    apply_entry(store, live, anna)
    replayed = begin_entry(
        _session("5e55104-0000-4000-8000-000000000002"), anna.name, client, "room-1", None
    )
    apply_entry(store, replayed)  # from a journal, later: no account at hand
    first, second = [e for e in _changes(store) if e.detail.startswith("treatment session")]
    assert (first.actor, first.role) == ("Anna Berg", "administrator")
    assert second.role == audit.NO_ACCOUNT and "practitioner: Anna Berg" in second.detail
