"""The list under the protocol editor's table: every problem in plain words, then the advice,
with a one-line summary above it."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6 import QtCore, QtWidgets

from console.ui.editor_widgets import elastic, set_style_state
from console.ui.step_table import ADVICE_TEXT, PROBLEM_TEXT


class ProblemPanel(QtWidgets.QWidget):
    """Problems (✖) and advice (⚠); ``activated(n)`` when the trainer picks the n-th problem
    (double-click or Enter), to go to where it is."""

    activated = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QtWidgets.QLabel("")
        self.summary.setObjectName("problemSummary")
        elastic(self.summary)
        self.list = QtWidgets.QListWidget()
        self.list.setObjectName("problemList")
        self.list.setWordWrap(True)
        self.list.setUniformItemSizes(False)
        self.list.setToolTip("Double-click or press Enter on a problem to go to it")
        self.list.setMinimumHeight(70)
        self.list.itemActivated.connect(lambda item: self.activated.emit(self.list.row(item)))
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(3)
        layout.addWidget(self.summary)
        layout.addWidget(self.list, 1)

    def show_problems(self, problems: Sequence[str], advice: Sequence[str]) -> None:
        """List ``problems`` (which stop a save), then ``advice`` (which does not)."""
        self.list.clear()
        for sentence in problems:
            item = QtWidgets.QListWidgetItem(f"✖  {sentence}")
            item.setForeground(PROBLEM_TEXT)
            item.setToolTip(sentence)
            self.list.addItem(item)
        for note in advice:
            item = QtWidgets.QListWidgetItem(f"⚠  {note}")
            item.setForeground(ADVICE_TEXT)
            item.setToolTip("Advice: it does not stop the pack from being saved")
            self.list.addItem(item)
        count = len(problems)
        if count:
            text = f"{count} problem{'s' if count != 1 else ''} — Save is off until they are fixed"
            level = "danger"
        else:
            text = "No problems: the pack can be saved"
            level = "ok"
        if advice:
            text += f" · {len(advice)} note{'s' if len(advice) != 1 else ''} of advice"
        self.summary.setText(text)
        set_style_state(self.summary, "level", level)
