"""The protocol editor's file toolbar: New, Open pack, Start from an installed protocol, Save and
Save as."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6 import QtCore, QtGui, QtWidgets

from console.protocols import Protocol
from console.ui.editor_widgets import make_action


class EditorToolbar(QtWidgets.QToolBar):
    """The file commands, calling the slots given; ``start_from_chosen(id)`` when the trainer
    picks an installed protocol to copy."""

    start_from_chosen = QtCore.Signal(str)

    def __init__(
        self,
        installed: Iterable[Protocol],
        *,
        new: Callable[[], object],
        open_pack: Callable[[], object],
        save: Callable[[], object],
        save_as: Callable[[], object],
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__("File", parent)
        self.setObjectName("editorToolbar")
        pixmap = QtWidgets.QStyle.StandardPixmap
        self.new_action = make_action(
            self,
            "New",
            new,
            QtGui.QKeySequence.StandardKey.New,
            "Start an empty protocol",
            pixmap.SP_FileIcon,
        )
        self.open_action = make_action(
            self,
            "Open pack…",
            open_pack,
            QtGui.QKeySequence.StandardKey.Open,
            "Open a protocol pack (.toml) to edit it",
            pixmap.SP_DialogOpenButton,
        )
        self.save_action = make_action(
            self,
            "Save",
            save,
            QtGui.QKeySequence.StandardKey.Save,
            "Save the pack into the packs folder as <id>.toml",
            pixmap.SP_DialogSaveButton,
        )
        self.save_as_action = make_action(
            self,
            "Save as…",
            save_as,
            "Ctrl+Shift+S",
            "Save the pack to a file of your choice",
        )
        self.start_from_combo = QtWidgets.QComboBox()
        self.start_from_combo.setObjectName("startFromCombo")
        self.start_from_combo.setToolTip(
            "Copy an installed protocol into the editor to start from it"
        )
        self.set_installed(installed)
        self.start_from_combo.activated.connect(self._start_from_chosen)

        self.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setIconSize(QtCore.QSize(16, 16))
        self.addAction(self.new_action)
        self.addAction(self.open_action)
        self.addWidget(self.start_from_combo)
        self.addSeparator()
        self.addAction(self.save_action)
        self.addAction(self.save_as_action)

    def set_installed(self, installed: Iterable[Protocol]) -> None:
        """List these installed protocols to start from (after a pack was saved or reloaded)."""
        self.start_from_combo.clear()
        self.start_from_combo.addItem("Start from installed protocol…", None)
        for protocol in sorted(installed, key=lambda p: p.name.lower()):
            self.start_from_combo.addItem(f"{protocol.name} ({protocol.id})", protocol.id)

    def _start_from_chosen(self, index: int) -> None:
        protocol_id = self.start_from_combo.itemData(index)
        self.start_from_combo.setCurrentIndex(0)  # the combo is a command, not a state
        if protocol_id:
            self.start_from_chosen.emit(protocol_id)
