"""The window's side of the audit trail and the client's rights (issue 20): each kind of access
made in the window appends an entry naming who; only an administrator sees the trail, exports
or erases a client once the records have accounts; the trail's check finds a broken chain."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from PySide6 import QtWidgets

from console.records import audit
from console.records.accounts import create_account, create_administrator
from console.ui import dialogs as boxes
from console.ui.audit_view import AuditTrailDialog

pytestmark = pytest.mark.timeout(120)

PIN = "482916"


def _sign_in(qtbot, window, store, name: str, secret: str) -> None:  # type: ignore[no-untyped-def]
    window.access.attach(store)
    page = window.access._page
    page.name.setText(name)
    page.secret.setText(secret)
    page.submit()
    qtbot.waitUntil(lambda: not window.access.shown, timeout=15_000)


def _short_session(qtbot, window, client: str) -> int:  # type: ignore[no-untyped-def]
    """A toning session for ``client``, stopped after 3 s and recorded; the client's id."""
    from console.ui.app import prepare_demo_visit

    assert prepare_demo_visit(window, "toning", client=client)
    window.start_session()
    engine = window.engine
    window.clock.run_until(3.0)
    window.stop_session()
    qtbot.waitUntil(lambda: engine.state.terminal, timeout=10_000)
    qtbot.waitUntil(lambda: window.archive.session_id is not None, timeout=10_000)
    return int(window.visit.client.reference)


def _entries(store, action: str):  # type: ignore[no-untyped-def]
    return [e for e in audit.entries(store) if e.action == action]


def test_viewing_a_client_in_the_window_is_in_the_trail_under_the_signed_in_account(
    qtbot, records_window, store
) -> None:
    anna = create_administrator(store, "Anna Berg", PIN)
    client = store.add_client("Eva Fors", anna, birth_year=1980)
    window = records_window
    _sign_in(qtbot, window, store, "Anna Berg", PIN)
    window.toggle_clients()
    assert window.records.select_client(client)
    views = _entries(store, audit.VIEW)
    assert [(e.actor, e.role, e.client_id) for e in views] == [
        ("Anna Berg", "administrator", client)
    ]
    assert views[0].workstation == audit.workstation()
    assert "Eva" not in views[0].detail  # the trail never holds a client's data


def test_without_accounts_the_trail_names_the_computers_user(qtbot, records_window, store) -> None:
    client = store.add_client("Eva Fors", "Maria Keller", birth_year=1980)
    window = records_window
    window.toggle_clients()
    assert window.records.select_client(client)
    (view,) = _entries(store, audit.VIEW)
    assert view.role == audit.NO_ACCOUNT and view.actor == audit.actor_of(None)[0]
    assert window.trail_action.isVisible()  # open as the records are, without accounts


def test_a_practitioner_neither_sees_the_trail_nor_exports_nor_erases(
    qtbot, records_window, store
) -> None:
    anna = create_administrator(store, "Anna Berg", PIN)
    create_account(store, anna, "Chris Dahl", "practitioner", "73519")
    client = store.add_client("Eva Fors", anna, birth_year=1980)
    window = records_window
    _sign_in(qtbot, window, store, "Chris Dahl", "73519")
    window.toggle_clients()
    assert window.records.select_client(client)
    panel = window.records
    assert not panel.trail_button.isVisibleTo(panel)
    assert not panel.export_button.isVisibleTo(panel)
    assert not panel.delete_button.isVisibleTo(panel)
    assert not window.trail_action.isVisible() and not window.accounts_action.isVisible()
    window.show_audit_trail()  # by its shortcut: nothing opens
    assert not any(
        isinstance(w, AuditTrailDialog) for w in QtWidgets.QApplication.topLevelWidgets()
    )


def test_an_administrator_exports_and_erases_a_client_from_the_window(
    qtbot, records_window, store, tmp_path: Path, monkeypatch
) -> None:
    anna = create_administrator(store, "Anna Berg", PIN)
    client = store.add_client("Eva Fors", anna, birth_year=1980)
    window = records_window
    _sign_in(qtbot, window, store, "Anna Berg", PIN)
    window.toggle_clients()
    panel = window.records
    assert panel.select_client(client)
    assert panel.export_button.isVisibleTo(panel) and panel.delete_button.isVisibleTo(panel)

    folder = tmp_path / "for-eva"
    folder.mkdir()
    monkeypatch.setattr(boxes, "choose_folder", lambda _p, _t, _s, on_chosen: on_chosen(folder))
    panel.export_client()
    assert "exported" in panel.banner.text(), panel.banner.text()
    written = sorted(p.name for p in folder.iterdir())
    assert f"client-{client}.json" in written and f"client-{client}-record.pdf" in written
    assert "Eva Fors" in (folder / f"client-{client}.json").read_text(encoding="utf-8")
    assert [e.client_id for e in _entries(store, audit.EXPORT)] == [client]

    monkeypatch.setattr(boxes, "ask_text", lambda _p, _t, _l, on_text, **_k: on_text("Eva Fors"))
    panel.delete_client()
    assert store.search_clients("Eva") == []
    (erased,) = _entries(store, audit.ERASE)
    assert erased.client_id == client and erased.actor == "Anna Berg"
    assert all("Eva" not in e.detail for e in audit.entries(store))


def test_the_trail_dialog_lists_a_clients_accesses_and_finds_a_broken_chain(
    qtbot, records_window, store, tmp_path: Path
) -> None:
    anna = create_administrator(store, "Anna Berg", PIN)
    client = store.add_client("Eva Fors", anna, birth_year=1980)
    window = records_window
    _sign_in(qtbot, window, store, "Anna Berg", PIN)
    window.toggle_clients()
    assert window.records.select_client(client)
    window.records.show_trail()
    dialog = window.records.audit_dialog
    assert dialog is not None and dialog.isVisible()
    rows = [dialog.table.topLevelItem(i).text(4) for i in range(dialog.table.topLevelItemCount())]
    assert rows == ["changed", "viewed"]  # the client added, then shown
    dialog.check_button.click()
    assert "whole" in dialog.chain.text() and dialog.chain.property("level") == "ok"

    # Someone with the database file rewrites who made entry 2 (the triggers dropped first).
    path = Path(str(store.engine.url.database))
    raw = sqlite3.connect(path)
    raw.execute("DROP TRIGGER audit_entries_no_update")
    raw.execute("UPDATE audit_entries SET actor = 'somebody else' WHERE id = 2")
    raw.commit()
    raw.close()
    dialog.check_button.click()
    assert "BROKEN at entry 2" in dialog.chain.text()
    assert dialog.chain.property("level") == "danger"


def test_reports_and_session_exports_from_the_window_are_in_the_trail(
    qtbot, records_window, store, tmp_path: Path, monkeypatch
) -> None:

    window = records_window
    client = _short_session(qtbot, window, "Eva Fors")

    monkeypatch.setattr(
        boxes, "choose_save_file", lambda _p, _t, name, _f, on_chosen: on_chosen(tmp_path / name)
    )
    window.save_session_report()
    assert [e.client_id for e in _entries(store, audit.REPORT)] == [client]
    window.export_sessions()
    assert (tmp_path / "sessions.csv").exists()
    assert [e.client_id for e in _entries(store, audit.EXPORT)] == [client]


def test_the_administrator_adds_unlocks_and_disables_accounts_in_the_window(
    qtbot, records_window, store
) -> None:
    from console.records.accounts import FAILURES_BEFORE_LOCK, SignInRefusedError, sign_in

    create_administrator(store, "Anna Berg", PIN)
    window = records_window
    _sign_in(qtbot, window, store, "Anna Berg", PIN)
    assert window.accounts_action.isVisible()
    window.accounts_action.trigger()
    dialog = window.accounts_dialog
    assert dialog.isVisible() and dialog.table.topLevelItemCount() == 1

    dialog.name.setText("Chris Dahl")
    dialog.role.setCurrentIndex(dialog.role.findText("practitioner"))
    dialog.secret.setText("73519")
    dialog.repeat.setText("73510")
    dialog.add_account()
    assert "differ" in dialog.message.text() and dialog.table.topLevelItemCount() == 1
    dialog.secret.setText("73519")
    dialog.repeat.setText("73519")
    dialog.add_account()
    qtbot.waitUntil(lambda: not dialog._busy, timeout=15_000)
    assert "Chris Dahl can now sign in as practitioner" in dialog.message.text()
    names = [dialog.table.topLevelItem(i).text(0) for i in range(dialog.table.topLevelItemCount())]
    assert names == ["Anna Berg", "Chris Dahl"]

    for _ in range(FAILURES_BEFORE_LOCK):  # Chris mistypes until the account waits
        with pytest.raises(SignInRefusedError):
            sign_in(store, "Chris Dahl", "00000", sleep=lambda _s: None)
    dialog.reload()
    chris = dialog.table.topLevelItem(1)
    assert chris.text(2).startswith("locked until")
    dialog.table.setCurrentItem(chris)
    dialog.unlock_selected()
    qtbot.waitUntil(lambda: not dialog._busy, timeout=15_000)
    assert dialog.table.topLevelItem(1).text(2) == "can sign in"
    assert sign_in(store, "Chris Dahl", "73519").name == "Chris Dahl"

    dialog.table.setCurrentItem(dialog.table.topLevelItem(1))
    dialog.disable_selected()
    qtbot.waitUntil(lambda: not dialog._busy, timeout=15_000)
    assert dialog.table.topLevelItem(1).text(2) == "disabled"
    with pytest.raises(SignInRefusedError):
        sign_in(store, "Chris Dahl", "73519", sleep=lambda _s: None)

    dialog.table.setCurrentItem(dialog.table.topLevelItem(0))  # the only administrator
    dialog.disable_selected()
    qtbot.waitUntil(lambda: not dialog._busy, timeout=15_000)
    assert "only administrator" in dialog.message.text()


def test_a_signed_in_visit_records_its_changes_under_the_account(
    qtbot, records_window, store
) -> None:

    create_administrator(store, "Anna Berg", PIN)
    window = records_window
    _sign_in(qtbot, window, store, "Anna Berg", PIN)
    client = _short_session(qtbot, window, "Eva Fors")
    changes = [e for e in audit.entries(store) if e.action == audit.CHANGE]
    assert [e.detail.split(" (")[0].rstrip() for e in changes][:4] == [
        "client added",
        "goals changed",
        "screening recorded",
        "consent recorded",
    ]
    assert any(e.detail.startswith("treatment session") for e in changes)
    assert {(e.actor, e.role, e.client_id) for e in changes} == {
        ("Anna Berg", "administrator", client)
    }
