"""The audit trail, as an administrator reads it: one client's accesses or the whole trail, and
a check of its hash chain.

The trail names clients by id only (it outlives an erasure); the dialog shows who, when, what,
from which workstation, and the detail each access left. Checking the chain reads every entry
and says where it first breaks, or how many entries it holds and the newest entry's hash (to
note down and compare with later: removing the newest entries together is what a chain alone
cannot show).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6 import QtCore, QtWidgets

from console.ui.restyle import set_style_state

if TYPE_CHECKING:
    from console.records.audit import AuditRecord
    from console.records.store import RecordStore

#: The newest entries shown of the whole trail (a client's trail is shown whole).
WHOLE_TRAIL_SHOWN = 1000

#: How each kind of access reads in the table.
ACTION_WORDS = {
    "view": "viewed",
    "report": "report printed",
    "export": "exported",
    "change": "changed",
    "delete": "deleted",
    "erase": "ERASED",
    "sign-in": "signed in",
    "refused": "sign-in refused",
    "account": "account",
}


class AuditTrailDialog(QtWidgets.QDialog):
    """The trail of ``client_id`` (None: the whole trail, newest :data:`WHOLE_TRAIL_SHOWN`),
    non-modal, with a button that checks the chain."""

    def __init__(
        self,
        store: RecordStore,
        client_id: int | None,
        title: str,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.client_id = client_id
        self.setWindowTitle(title)
        self.setObjectName("auditTrail")
        self.resize(980, 560)
        self.summary = QtWidgets.QLabel("")
        self.summary.setWordWrap(True)
        self.table = QtWidgets.QTreeWidget()
        self.table.setObjectName("auditTable")
        self.table.setRootIsDecorated(False)
        self.table.setUniformRowHeights(True)
        self.table.setHeaderLabels(
            ["#", "When", "Who", "Role", "Access", "Client", "Workstation", "Detail"]
        )
        self.table.setAccessibleName("Audit trail entries, oldest first")
        self.chain = QtWidgets.QLabel(" ")
        self.chain.setObjectName("auditChain")
        self.chain.setWordWrap(True)
        self.chain.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.check_button = QtWidgets.QPushButton("Check the chain")
        self.check_button.setToolTip(
            "Read every entry of the trail and check each follows from the one before"
        )
        self.check_button.clicked.connect(self.check_chain)
        close = QtWidgets.QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.chain, 1)
        buttons.addWidget(close)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.reload()

    def reload(self) -> None:
        """Read the entries again."""
        from console.records import audit
        from console.records.errors import RecordError

        try:
            if self.client_id is None:
                found = audit.entries(self.store, None, limit=WHOLE_TRAIL_SHOWN)
            else:
                found = audit.entries(self.store, [self.client_id])
        except RecordError as error:
            self.summary.setText(f"The audit trail cannot be read: {error}")
            set_style_state(self.summary, "level", "danger")
            return
        self._fill(found)

    def _fill(self, found: list[AuditRecord]) -> None:
        self.table.clear()
        for entry in found:
            row = QtWidgets.QTreeWidgetItem(
                [
                    str(entry.id),
                    f"{entry.at.astimezone():%Y-%m-%d %H:%M:%S}",
                    entry.actor,
                    entry.role,
                    ACTION_WORDS.get(entry.action, entry.action),
                    "—" if entry.client_id is None else str(entry.client_id),
                    entry.workstation,
                    entry.detail,
                ]
            )
            row.setToolTip(7, entry.detail)
            self.table.addTopLevelItem(row)
        for column in range(self.table.columnCount() - 1):
            self.table.resizeColumnToContents(column)
        if self.client_id is None:
            whose = (
                f"The newest {len(found)} entries of the whole trail"
                if len(found) >= WHOLE_TRAIL_SHOWN
                else f"The whole trail: {len(found)} entries"
            )
        else:
            whose = f"Every access to client {self.client_id}'s records: {len(found)} entries"
        self.summary.setText(f"{whose}, oldest first. Times are this computer's.")
        set_style_state(self.summary, "level", "")

    def check_chain(self) -> None:
        """Walk the whole chain and say whether it is whole (and where it breaks if not)."""
        from console.records import audit
        from console.records.errors import RecordError

        try:
            found = audit.verify(self.store)
        except RecordError as error:
            self.chain.setText(f"The chain cannot be checked: {error}")
            set_style_state(self.chain, "level", "danger")
            return
        if found.broken is None:
            self.chain.setText(
                f"The chain is whole: {found.entries} entries; the newest entry's hash is "
                f"{found.head_hash} (note it down to compare with later)."
            )
            set_style_state(self.chain, "level", "ok")
        else:
            self.chain.setText(
                f"The chain is BROKEN at entry {found.broken.entry_id}: {found.broken.reason}. "
                "The trail has been changed outside the console: keep this computer as it is "
                "and tell the clinic's administrator."
            )
            set_style_state(self.chain, "level", "danger")
