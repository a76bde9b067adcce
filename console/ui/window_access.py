"""Who may use the window: sign-in, the lock (idle or on demand), signing out, and the first
administrator, over the records' accounts (``console.records.accounts``).

Records without accounts are used as before them (anyone at the computer; the trail names the
computer's user). Once the records have an account, nothing about a client shows until someone
signs in: the :class:`~console.ui.access_page.AccessPage` stands in for the window's pages,
every window action is disabled (no export, report or client list behind the lock) and the
application's other windows are hidden until the account comes back. A treatment is never
touched by any of this: its engine runs in its own threads, and the lock page shows its
progress and the emergency stop (Esc stays the stop everywhere).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

from console.ui.idle_watch import DEFAULT_LOCK_AFTER_MIN, LOCK_AFTER_CHOICES_MIN, IdleWatch

if TYPE_CHECKING:
    from console.records.signed_in import SignedIn
    from console.records.store import RecordStore
    from console.ui.access_page import AccessMode, AccessPage


class WindowAccess(QtCore.QObject):
    """The access state of one main window (``window``, whose pages are ``pages``).

    ``changed`` is emitted after every sign-in, unlock, lock and sign-out."""

    changed = QtCore.Signal()

    def __init__(
        self,
        window: QtWidgets.QMainWindow,
        pages: QtWidgets.QWidget,
        settings: QtCore.QSettings,
        emergency_stop: Callable[[], None],
    ) -> None:
        super().__init__(window)
        self._window = window
        self._settings = settings
        self._emergency_stop = emergency_stop
        #: The window's own pages; the access page is put in front of them.
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(pages)
        self._pages = pages
        #: The account signed in (None: nobody, or records without accounts).
        self.signed_in: SignedIn | None = None
        #: The records have accounts: the window is used signed in.
        self.accounts_on = False
        self.store: RecordStore | None = None
        self._page: AccessPage | None = None
        self._disabled_actions: list[QtGui.QAction] = []
        self._hidden_windows: list[QtWidgets.QWidget] = []
        self._title = window.windowTitle()
        #: Watches for input once the records have accounts (without, nothing ever locks).
        self.idle: IdleWatch | None = None

    # -- state ---------------------------------------------------------------------------------

    @property
    def shown(self) -> bool:
        """True while the access page stands in for the window (locked or nobody signed in)."""
        return self._page is not None and self.stack.currentWidget() is self._page

    @property
    def lock_after_min(self) -> int:
        """Minutes without input before the window locks (0: never), kept in the settings."""
        try:
            minutes = int(self._settings.value("lock_after_min", DEFAULT_LOCK_AFTER_MIN))
        except (TypeError, ValueError):
            minutes = DEFAULT_LOCK_AFTER_MIN
        return minutes if minutes in LOCK_AFTER_CHOICES_MIN else DEFAULT_LOCK_AFTER_MIN

    def set_lock_after(self, minutes: int) -> None:
        """Lock after ``minutes`` without input (0: never)."""
        if minutes not in LOCK_AFTER_CHOICES_MIN:
            raise ValueError(f"lock after {minutes} min is not offered")
        self._settings.setValue("lock_after_min", minutes)
        if self.idle is not None:
            self.idle.set_limit(60 * minutes)

    def practitioner(self) -> str | SignedIn | None:
        """Who the records name on what this window records: the signed-in account, or None
        (records without accounts take the typed practitioner)."""
        return self.signed_in

    # -- records -------------------------------------------------------------------------------

    def attach(self, store: RecordStore) -> None:
        """The window's records are open: if they have accounts, ask who is there."""
        from console.records.accounts import accounts_configured

        self.store = store
        self.accounts_on = accounts_configured(store)
        if self.accounts_on:
            self._watch_idle()
            if self.signed_in is None:
                self.ask_sign_in()
        self.changed.emit()

    def ask_sign_in(self) -> None:
        """Show the sign-in form (nobody is signed in)."""
        from console.ui.access_page import AccessMode

        store = self._store()

        def check(name: str, secret: str) -> object:
            from console.records.accounts import sign_in

            return sign_in(store, name, secret)

        self._show(AccessMode.SIGN_IN, check, "")

    def offer_first_administrator(self) -> None:
        """Show the form that makes the clinic's first account, the administrator ("Not now"
        keeps the records without accounts)."""
        from console.ui.access_page import AccessMode

        store = self._store()
        if self.accounts_on:
            return

        def check(name: str, secret: str) -> object:
            from console.records.accounts import create_administrator

            return create_administrator(store, name, secret)

        self._show(AccessMode.FIRST_ADMINISTRATOR, check, "")

    def lock(self) -> bool:
        """Lock the window now (only a signed-in account's window locks); True if it did."""
        from console.ui.access_page import AccessMode

        who = self.signed_in
        if who is None or self.shown:
            return False
        store = self._store()

        def check(name: str, secret: str) -> object:
            from console.records.accounts import sign_in

            return sign_in(store, who.name, secret)

        self._show(AccessMode.UNLOCK, check, who.name)
        return True

    def sign_out(self) -> None:
        """Forget the signed-in account and ask for the next one."""
        if self.signed_in is None:
            return
        self.signed_in = None
        self.ask_sign_in()
        self.changed.emit()

    def show_treatment(self, text: str | None) -> None:
        """What the access page says of a running treatment (None: none runs)."""
        if self._page is not None:
            self._page.show_treatment(text)

    # -- the page ------------------------------------------------------------------------------

    def _store(self) -> RecordStore:
        if self.store is None:
            raise RuntimeError("accounts need the records to be open")
        return self.store

    def _access_page(self) -> AccessPage:
        if self._page is None:
            from console.ui.access_page import AccessPage

            self._page = AccessPage()
            self._page.granted.connect(self._granted)
            self._page.cancelled.connect(self._leave)
            self._page.emergency_stop_requested.connect(self._emergency_stop)
            self.stack.addWidget(self._page)
        return self._page

    def _show(self, mode: AccessMode, check: Callable[[str, str], object], name: str) -> None:
        from console.ui.access_page import AccessMode

        page = self._access_page()
        page.ask(mode, check, name)
        if not self.shown:
            self._cover()
        self.stack.setCurrentWidget(page)
        suffix = {
            AccessMode.UNLOCK: "locked",
            AccessMode.SIGN_IN: "sign in",
            AccessMode.FIRST_ADMINISTRATOR: "accounts",
        }[mode]
        self._window.setWindowTitle(f"{self._title} — {suffix}")
        page.setFocus()

    def _granted(self, who: object) -> None:
        from console.records.signed_in import SignedIn

        assert isinstance(who, SignedIn)
        self.signed_in = who
        self.accounts_on = True
        self._watch_idle()
        self._leave()
        self.changed.emit()

    def _leave(self) -> None:
        """Back to the window's pages, as they were."""
        self.stack.setCurrentWidget(self._pages)
        self._window.setWindowTitle(self._title)
        for action in self._disabled_actions:
            action.setEnabled(True)
        self._disabled_actions = []
        for other in self._hidden_windows:
            other.show()
        self._hidden_windows = []
        if self.idle is not None:
            self.idle.touched()

    def _cover(self) -> None:
        """Nothing behind the page may be reached: the window's actions (their shortcuts
        too) and the application's other windows."""
        self._title = self._window.windowTitle()
        self._disable_actions()
        self._hidden_windows = [
            other
            for other in QtWidgets.QApplication.topLevelWidgets()
            if other is not self._window and other.isVisible() and other.isWindow()
        ]
        for other in self._hidden_windows:
            other.hide()

    def _watch_idle(self) -> None:
        if self.idle is None:
            self.idle = IdleWatch(self._on_idle, self)
            self.idle.set_limit(60 * self.lock_after_min)

    def keep_covered(self) -> None:
        """While the page is shown, disable any action enabled since (the window's menus built
        after the page, a state change that enabled one): all come back when it goes."""
        if self.shown:
            self._disable_actions()

    def _disable_actions(self) -> None:
        """Every enabled action of the window off, kept to be put back on when the page goes."""
        for action in self._window.findChildren(QtGui.QAction):
            if action.isEnabled() and not action.isSeparator():
                action.setEnabled(False)
                self._disabled_actions.append(action)

    def _on_idle(self) -> None:
        if self.accounts_on and self.signed_in is not None:
            self.lock()
