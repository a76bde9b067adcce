"""The administrator's accounts: who may sign in, with which role; add, unlock, disable.

Every change is made by the signed-in administrator through ``console.records.accounts`` (which
checks the role again and notes the change in the audit trail). Making an account hashes its
PIN or password, slow on purpose, so each change runs in a worker thread: the window, its scope
and its emergency stop stay live.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtWidgets

from console.ui.off_thread import OffThread
from console.ui.restyle import set_style_state

if TYPE_CHECKING:
    from console.records.signed_in import SignedIn
    from console.records.store import RecordStore


class AccountsDialog(QtWidgets.QDialog):
    """The accounts of ``store``, managed by the administrator ``by`` (non-modal)."""

    def __init__(
        self, store: RecordStore, by: SignedIn, parent: QtWidgets.QWidget | None = None
    ) -> None:
        from console.records.signed_in import Role

        super().__init__(parent)
        self.store = store
        self.by = by
        self.setWindowTitle("Accounts")
        self.setObjectName("accountsDialog")
        self.resize(760, 480)
        self._busy = False
        self._work = OffThread("mc-accounts", self)
        self._work.done.connect(self._finished)

        self.table = QtWidgets.QTreeWidget()
        self.table.setObjectName("accountsTable")
        self.table.setRootIsDecorated(False)
        self.table.setHeaderLabels(["Name", "Role", "State", "Refusals in a row", "Since"])
        self.name = QtWidgets.QLineEdit()
        self.name.setPlaceholderText("Full name, as the records show it")
        self.role = QtWidgets.QComboBox()
        for role in Role:
            self.role.addItem(role.value)
        self.secret = QtWidgets.QLineEdit()
        self.secret.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.repeat = QtWidgets.QLineEdit()
        self.repeat.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.add_button = QtWidgets.QPushButton("Add account")
        self.add_button.clicked.connect(self.add_account)
        self.unlock_button = QtWidgets.QPushButton("Unlock")
        self.unlock_button.setToolTip("Let a locked account try again now")
        self.unlock_button.clicked.connect(self.unlock_selected)
        self.disable_button = QtWidgets.QPushButton("Disable")
        self.disable_button.setToolTip("It can no longer sign in; its records keep its name")
        self.disable_button.clicked.connect(self.disable_selected)
        self.message = QtWidgets.QLabel(" ")
        self.message.setObjectName("accountsMessage")
        self.message.setWordWrap(True)

        form = QtWidgets.QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Role", self.role)
        form.addRow("PIN or password", self.secret)
        form.addRow("Repeat it", self.repeat)
        adding = QtWidgets.QGroupBox("New account")
        adding_layout = QtWidgets.QVBoxLayout(adding)
        adding_layout.addLayout(form)
        adding_layout.addWidget(self.add_button, 0, QtCore.Qt.AlignmentFlag.AlignRight)
        row_buttons = QtWidgets.QHBoxLayout()
        row_buttons.addStretch(1)
        row_buttons.addWidget(self.unlock_button)
        row_buttons.addWidget(self.disable_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(row_buttons)
        layout.addWidget(adding)
        layout.addWidget(self.message)
        self.reload()

    # -- reading -------------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the accounts again."""
        from console.records.accounts import list_accounts
        from console.records.errors import RecordError
        from console.records.models import now_utc

        try:
            accounts = list_accounts(self.store, self.by)
        except RecordError as error:
            self._say(f"The accounts cannot be read: {error}.", "danger")
            return
        now = now_utc()
        self.table.clear()
        for account in accounts:
            if account.disabled_at is not None:
                state = "disabled"
            elif account.locked_until is not None and account.locked_until > now:
                state = f"locked until {account.locked_until.astimezone():%H:%M}"
            else:
                state = "can sign in"
            item = QtWidgets.QTreeWidgetItem(
                [
                    account.name,
                    account.role.value,
                    state,
                    str(account.failed_attempts),
                    f"{account.created_at.astimezone():%Y-%m-%d}",
                ]
            )
            item.setData(0, QtCore.Qt.ItemDataRole.UserRole, account.name)
            self.table.addTopLevelItem(item)
        for column in range(self.table.columnCount()):
            self.table.resizeColumnToContents(column)

    def selected_name(self) -> str | None:
        """The account chosen in the list."""
        item = self.table.currentItem()
        return None if item is None else str(item.data(0, QtCore.Qt.ItemDataRole.UserRole))

    # -- changing ------------------------------------------------------------------------------

    def add_account(self) -> None:
        """Make the account typed in the form."""
        from console.records.accounts import create_account
        from console.records.signed_in import Role

        name, secret = self.name.text().strip(), self.secret.text()
        if secret != self.repeat.text():
            self._say("The two PINs/passwords differ: type them again.", "warning")
            self.secret.clear()
            self.repeat.clear()
            return
        role = Role(self.role.currentText())  # (Qt hands the item's data back as a str)

        def work() -> str:
            create_account(self.store, self.by, name, role, secret)
            return f"{name} can now sign in as {role.value}."

        self.secret.clear()
        self.repeat.clear()
        self._run(work)

    def unlock_selected(self) -> None:
        """Let the chosen account try again at once."""
        from console.records.accounts import unlock

        name = self.selected_name()
        if name is None:
            self._say("Choose an account in the list first.", "warning")
            return
        self._run(lambda: (unlock(self.store, self.by, name), f"{name} may sign in again.")[1])

    def disable_selected(self) -> None:
        """Stop the chosen account signing in (its records keep its name)."""
        from console.records.accounts import disable

        name = self.selected_name()
        if name is None:
            self._say("Choose an account in the list first.", "warning")
            return
        self._run(lambda: (disable(self.store, self.by, name), f"{name} is disabled.")[1])

    def _run(self, work: Callable[[], str]) -> None:
        if self._busy:
            return
        self._busy = True
        for button in (self.add_button, self.unlock_button, self.disable_button):
            button.setEnabled(False)
        self._say("Working…", "")
        self._work.run(work)

    def _finished(self, said: object, error: object) -> None:
        self._busy = False
        for button in (self.add_button, self.unlock_button, self.disable_button):
            button.setEnabled(True)
        if error is not None:
            self._say(f"Not done: {error}.", "danger")
            return
        self.name.clear()
        self._say(str(said), "ok")
        self.reload()

    def _say(self, text: str, level: str) -> None:
        self.message.setText(text)
        set_style_state(self.message, "level", level)
