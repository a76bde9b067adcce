"""The professional override of a screening answer: the reason's minimum length is said before
anything is typed, counted while typing, and the button records only a valid override."""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6 import QtCore, QtWidgets

from console.screening import MIN_OVERRIDE_REASON, Contraindication
from console.ui.screening_form import TARGET_HEIGHT

#: Called with (reason, practitioner) when the override is recorded.
OnOverride = Callable[[str, str], None]


class OverrideDialog(QtWidgets.QDialog):
    """Ask why it is safe to treat despite one answer, and who decides.

    Not modal: the main window (and its emergency stop) stays usable behind it.
    """

    def __init__(
        self,
        item: Contraindication,
        practitioner: str,
        on_override: OnOverride,
        parent: QtWidgets.QWidget | None = None,
        wait_note: str = "",
    ) -> None:
        super().__init__(parent)
        self.item = item
        self._on_override = on_override
        self.setWindowTitle("Professional override")
        self.setWindowModality(QtCore.Qt.WindowModality.NonModal)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        question = QtWidgets.QLabel(f"<b>{html.escape(item.question)}</b>")
        question.setWordWrap(True)
        why = QtWidgets.QLabel(item.why + (f"\n{wait_note}" if wait_note else ""))
        why.setWordWrap(True)
        ask = QtWidgets.QLabel(
            "Why is it safe to treat this client? Your reason is kept on the client's record "
            f"with your name. Write at least {MIN_OVERRIDE_REASON} characters."
        )
        ask.setWordWrap(True)
        self.reason = QtWidgets.QPlainTextEdit()
        self.reason.setPlaceholderText("e.g. GP letter of 12 March: device cleared for facial use")
        self.reason.setTabChangesFocus(True)  # Tab goes on to the name, as in any form
        self.reason.setMinimumHeight(90)
        self.reason.setAccessibleName("Reason for the override")
        self.counter = QtWidgets.QLabel("")
        self.counter.setObjectName("formHint")
        self.practitioner = QtWidgets.QLineEdit(practitioner)
        self.practitioner.setPlaceholderText("Your name")
        self.practitioner.setMinimumHeight(TARGET_HEIGHT - 4)
        self.practitioner.setAccessibleName("Who decides")
        name_row = QtWidgets.QFormLayout()
        name_row.addRow("Decided by", self.practitioner)
        self.buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = self.buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Record override")
        for button in self.buttons.buttons():
            button.setMinimumHeight(TARGET_HEIGHT)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(question)
        layout.addWidget(why)
        layout.addSpacing(6)
        layout.addWidget(ask)
        layout.addWidget(self.reason)
        layout.addWidget(self.counter)
        layout.addLayout(name_row)
        layout.addWidget(self.buttons)
        self.reason.textChanged.connect(self._check)
        self.practitioner.textChanged.connect(self._check)
        self.resize(520, self.sizeHint().height())
        self._check()
        self.reason.setFocus()  # the reason is what is asked: type at once

    def _check(self) -> None:
        """Count the reason and say what is still missing; the button waits until nothing is."""
        count = len(self.reason.toPlainText().strip())
        missing = MIN_OVERRIDE_REASON - count
        if missing > 0:
            self.counter.setText(
                f"{count} of at least {MIN_OVERRIDE_REASON} characters — {missing} more needed."
            )
        else:
            self.counter.setText(f"{count} characters ✓")
        named = bool(self.practitioner.text().strip())
        if missing <= 0 and not named:
            self.counter.setText(f"{count} characters ✓ — now give your name.")
        self.ok.setEnabled(missing <= 0 and named)

    def accept(self) -> None:
        """Hand the reason and the name on, then close."""
        if not self.ok.isEnabled():
            return  # Enter in the name field with a short reason: nothing to record yet
        self._on_override(self.reason.toPlainText().strip(), self.practitioner.text().strip())
        super().accept()
