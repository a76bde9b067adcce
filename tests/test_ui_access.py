"""The window's sign-in, lock and first administrator (issue 20): nothing about a client behind
the page, a running treatment untouched by the lock, the emergency stop on it."""

from __future__ import annotations

import pytest
from PySide6 import QtCore, QtWidgets

from console.records.accounts import REFUSED, create_account, create_administrator
from console.ui.access_page import AccessMode
from console.ui.app import prepare_demo_visit

pytestmark = pytest.mark.timeout(120)

PIN = "482916"


def _submit(qtbot, window, name: str, secret: str, repeat: str | None = None) -> None:  # type: ignore[no-untyped-def]
    page = window.access._page
    page.name.setText(name)
    page.secret.setText(secret)
    if repeat is not None:
        page.repeat.setText(repeat)
    page.submit()
    qtbot.waitUntil(lambda: not page._busy, timeout=15_000)


def _export_action(window):  # type: ignore[no-untyped-def]
    return next(a for a in window.actions() if a.text().startswith("&Export sessions"))


def test_records_without_accounts_are_used_as_before_and_offer_to_set_them_up(
    records_window,
) -> None:
    window = records_window
    assert not window.access.accounts_on and not window.access.shown
    assert window.set_up_accounts_action.isVisible()
    assert not window.lock_action.isEnabled()  # nobody to lock for
    assert not window.workflow.consultation.practitioner.isReadOnly()
    assert window.access.lock() is False


def test_the_first_administrator_is_created_from_the_window_and_signed_in(
    qtbot, records_window, store
) -> None:
    window = records_window
    window.set_up_accounts_action.trigger()
    assert window.access.shown and window.access._page.mode is AccessMode.FIRST_ADMINISTRATOR
    _submit(qtbot, window, "Anna Berg", PIN, repeat="482917")
    assert "differ" in window.access._page.message.text()
    assert window.access.shown and window.access.signed_in is None
    _submit(qtbot, window, "Anna Berg", "12", repeat="12")
    assert "4 or more digits" in window.access._page.message.text() or "at least" in (
        window.access._page.message.text()
    )
    _submit(qtbot, window, "Anna Berg", PIN, repeat=PIN)
    assert not window.access.shown
    assert window.access.signed_in is not None and window.access.signed_in.name == "Anna Berg"
    assert window.access.signed_in.role.value == "administrator"
    field = window.workflow.consultation.practitioner
    assert field.text() == "Anna Berg" and field.isReadOnly()
    assert window.visit.practitioner == "Anna Berg"
    assert not window.set_up_accounts_action.isVisible() and window.lock_action.isEnabled()


def test_records_with_accounts_show_nothing_until_someone_signs_in(
    qtbot, open_window, store
) -> None:
    from console.plugins import load_plugins
    from console.session import Console

    create_administrator(store, "Anna Berg", PIN)
    window = open_window(Console(load_plugins()), store=store)
    assert window.access.shown and window.access._page.mode is AccessMode.SIGN_IN
    assert window.centralWidget().currentWidget() is window.access._page
    assert not window.tabs.isVisible()  # no client, no list of clients behind the page
    assert not _export_action(window).isEnabled()  # not even by its shortcut
    _submit(qtbot, window, "Anna Berg", "000000")
    assert window.access.shown and REFUSED[1:] in window.access._page.message.text()
    _submit(qtbot, window, "anna berg", PIN)  # any case
    assert not window.access.shown and window.tabs.isVisible()
    assert _export_action(window).isEnabled()


def test_the_idle_lock_leaves_a_running_treatment_alone_and_keeps_the_stop(
    qtbot, records_window, store
) -> None:
    window = records_window
    create_administrator(store, "Anna Berg", PIN)
    window.access.attach(store)  # records that now have accounts
    _submit(qtbot, window, "Anna Berg", PIN)
    assert prepare_demo_visit(window, "toning")
    helper = QtWidgets.QMessageBox(window)  # a box about the client, open when the lock comes
    helper.setWindowFlag(QtCore.Qt.WindowType.Window)
    helper.show()
    window.start_session()
    engine = window.engine
    assert engine is not None
    window.clock.run_until(5.0)
    qtbot.waitUntil(lambda: engine.output_on, timeout=10_000)

    window.access.idle.set_limit(0.05)
    qtbot.waitUntil(lambda: window.access.shown, timeout=10_000)  # idle: locked
    page = window.access._page
    assert page.mode is AccessMode.UNLOCK and page.name.isReadOnly()
    assert not helper.isVisible()  # hidden while locked
    assert page.treatment_box.isVisibleTo(page) and "Toning" in page.treatment.text()
    window.clock.run_until(10.0)
    assert engine.output_on and not engine.state.terminal  # the lock changed nothing

    QtCore.QCoreApplication.processEvents()
    page.stop.click()  # the emergency stop on the lock page
    assert not engine.output_on
    qtbot.waitUntil(lambda: engine.state.terminal, timeout=10_000)
    assert window.access.shown  # still locked: stopping needs nobody's PIN, unlocking does

    _submit(qtbot, window, "Anna Berg", "999999")
    assert window.access.shown
    _submit(qtbot, window, "Anna Berg", PIN)
    assert not window.access.shown and helper.isVisible()


def test_esc_on_the_lock_page_stops_the_treatment(qtbot, records_window, store) -> None:
    window = records_window
    create_administrator(store, "Anna Berg", PIN)
    window.access.attach(store)
    _submit(qtbot, window, "Anna Berg", PIN)
    assert prepare_demo_visit(window, "toning")
    window.start_session()
    engine = window.engine
    window.clock.run_until(5.0)
    qtbot.waitUntil(lambda: engine.output_on, timeout=10_000)
    window.lock_action.trigger()
    assert window.access.shown
    qtbot.keyClick(window.access._page.secret, QtCore.Qt.Key.Key_Escape)
    assert not engine.output_on


def test_signing_out_is_refused_during_a_treatment_and_the_next_account_gets_a_new_visit(
    qtbot, records_window, store
) -> None:
    window = records_window
    anna = create_administrator(store, "Anna Berg", PIN)
    create_account(store, anna, "Chris Dahl", "practitioner", "73519")
    window.access.attach(store)
    _submit(qtbot, window, "Anna Berg", PIN)
    assert prepare_demo_visit(window, "toning", client="Eva Fors")
    window.start_session()
    engine = window.engine
    window.clock.run_until(5.0)
    qtbot.waitUntil(lambda: engine.output_on, timeout=10_000)
    window.sign_out()
    assert window.access.signed_in is not None and not window.access.shown
    assert any("Stop the session before signing out" in text for _t, text in window.dialogs)
    window.stop_session()
    qtbot.waitUntil(lambda: engine.state.terminal, timeout=10_000)

    window.sign_out_action.trigger()
    assert window.access.shown and window.access.signed_in is None
    _submit(qtbot, window, "Chris Dahl", "73519")
    assert window.access.signed_in is not None and window.access.signed_in.name == "Chris Dahl"
    consultation = window.workflow.consultation
    assert consultation.name.text() == ""  # Anna's client is not shown to Chris
    assert consultation.practitioner.text() == "Chris Dahl"


def test_the_idle_delay_is_chosen_in_the_window_and_remembered(
    qtbot, records_window, store
) -> None:
    window = records_window
    create_administrator(store, "Anna Berg", PIN)
    window.access.attach(store)
    _submit(qtbot, window, "Anna Berg", PIN)
    assert window.access.idle.limit_s == 5 * 60  # the default
    window.lock_delay_action.trigger()
    box = window._lock_delay_box
    assert box.isVisible() and box.textValue() == "After 5 min"
    assert (
        not box.isModal() or box.windowModality() is not QtCore.Qt.WindowModality.ApplicationModal
    )
    box.setTextValue("After 10 min")
    box.accept()
    assert window.access.idle.limit_s == 10 * 60
    assert int(window.settings.value("lock_after_min")) == 10
    window.access.set_lock_after(0)
    assert window.access.idle.limit_s is None  # never
    with pytest.raises(ValueError):
        window.access.set_lock_after(7)


def test_the_first_start_with_records_offers_the_administrator_once(
    qtbot, open_window, store
) -> None:
    from console.plugins import load_plugins
    from console.records.opening import OpenedRecords
    from console.session import Console
    from console.ui.app import records_opened

    window = open_window(Console(load_plugins()))
    records_opened(window, OpenedRecords(store))
    assert window.access.shown and window.access._page.mode is AccessMode.FIRST_ADMINISTRATOR
    window.access._page.cancel.click()  # "Not now": the records as before, open
    assert not window.access.shown and not window.access.accounts_on
    assert window.set_up_accounts_action.isVisible()  # the offer stays in the Account menu

    second = open_window(Console(load_plugins()))  # the same computer's settings
    records_opened(second, OpenedRecords(store))
    assert not second.access.shown
