"""The page that stands in for the whole window while nobody is signed in or the window is locked.

It shows nothing about any client: only who may unlock, a name and PIN/password form, and —
whenever a treatment is running — the emergency stop and the session's progress (a lock never
interrupts a treatment, and the stop must stay in reach). The check of the secret runs in a
worker thread (hashing is slow on purpose and a refusal is answered late), so the window, its
scope and its emergency stop stay live meanwhile.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from PySide6 import QtCore, QtWidgets

from console.ui.off_thread import OffThread
from console.ui.restyle import set_style_state


class AccessMode(enum.Enum):
    """Why the page is shown."""

    #: Accounts exist and nobody is signed in (start, or after signing out).
    SIGN_IN = "sign in"
    #: Someone is signed in and the window locked (idle, or on demand): their account unlocks.
    UNLOCK = "unlock"
    #: The clinic makes its first account, the administrator.
    FIRST_ADMINISTRATOR = "first administrator"


#: ``check(name, secret)`` returns what the window keeps (a ``SignedIn``) or raises an exception
#: whose text is shown (a refusal, a locked account, a records failure). It runs off the GUI
#: thread.
Check = Callable[[str, str], object]


class AccessPage(QtWidgets.QWidget):
    """Sign in, unlock, or create the first administrator; with the emergency stop while a
    treatment runs.

    Signals: ``granted(object)`` with what ``check`` returned, on the GUI thread;
    ``emergency_stop_requested()``; ``cancelled()`` (only offered for the first administrator).
    """

    granted = QtCore.Signal(object)
    emergency_stop_requested = QtCore.Signal()
    cancelled = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("accessPage")
        self.mode = AccessMode.SIGN_IN
        self._check: Check | None = None
        self._busy = False
        self._checking = OffThread("mc-sign-in", self)
        self._checking.done.connect(self._on_answer)

        self.title = QtWidgets.QLabel("")
        self.title.setObjectName("accessTitle")
        self.title.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.explanation = QtWidgets.QLabel("")
        self.explanation.setWordWrap(True)
        self.explanation.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.name = QtWidgets.QLineEdit()
        self.name.setObjectName("accessName")
        self.name.setMaxLength(120)
        self.secret = QtWidgets.QLineEdit()
        self.secret.setObjectName("accessSecret")
        self.secret.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.secret.setMaxLength(256)
        self.repeat = QtWidgets.QLineEdit()
        self.repeat.setObjectName("accessRepeat")
        self.repeat.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.repeat.setMaxLength(256)
        self.message = QtWidgets.QLabel(" ")
        self.message.setObjectName("accessMessage")
        self.message.setWordWrap(True)
        self.message.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.go = QtWidgets.QPushButton("")
        self.go.setObjectName("startButton")  # the accent button of the clinic style
        self.go.setDefault(True)
        self.go.clicked.connect(self.submit)
        self.cancel = QtWidgets.QPushButton("Not now")
        self.cancel.clicked.connect(self.cancelled.emit)
        for field in (self.name, self.secret, self.repeat):
            field.returnPressed.connect(self.submit)

        form = QtWidgets.QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("PIN or password", self.secret)
        self._repeat_label = QtWidgets.QLabel("Repeat it")
        form.addRow(self._repeat_label, self.repeat)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel)
        buttons.addWidget(self.go)

        card = QtWidgets.QFrame()
        card.setObjectName("accessCard")
        card.setMaximumWidth(520)
        inner = QtWidgets.QVBoxLayout(card)
        inner.addWidget(self.title)
        inner.addWidget(self.explanation)
        inner.addLayout(form)
        inner.addWidget(self.message)
        inner.addLayout(buttons)

        # While a treatment runs: its progress and the stop, above the form.
        self.treatment = QtWidgets.QLabel("")
        self.treatment.setObjectName("accessTreatment")
        self.treatment.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.treatment.setWordWrap(True)
        self.stop = QtWidgets.QPushButton("EMERGENCY STOP (Esc)")
        self.stop.setObjectName("emergencyStop")
        self.stop.setMinimumHeight(64)
        self.stop.clicked.connect(self.emergency_stop_requested.emit)
        self.treatment_box = QtWidgets.QWidget()
        running = QtWidgets.QVBoxLayout(self.treatment_box)
        running.setContentsMargins(0, 0, 0, 0)
        running.addWidget(self.treatment)
        running.addWidget(self.stop)
        self.treatment_box.setMaximumWidth(520)
        self.treatment_box.hide()

        layout = QtWidgets.QVBoxLayout(self)
        layout.addStretch(1)
        for part in (self.treatment_box, card):
            row = QtWidgets.QHBoxLayout()
            row.addStretch(1)
            row.addWidget(part, 3)
            row.addStretch(1)
            layout.addLayout(row)
        layout.addStretch(2)

    # -- what the page asks for --------------------------------------------------------------

    def ask(self, mode: AccessMode, check: Check, name: str = "") -> None:
        """Show the form for ``mode``; ``check`` judges what is typed. ``name`` is filled in
        (and fixed, when unlocking: only the signed-in account unlocks its window)."""
        self.mode = mode
        self._check = check
        self._busy = False
        self.secret.clear()
        self.repeat.clear()
        self.name.setText(name)
        self.name.setReadOnly(mode is AccessMode.UNLOCK)
        first = mode is AccessMode.FIRST_ADMINISTRATOR
        self._repeat_label.setVisible(first)
        self.repeat.setVisible(first)
        self.cancel.setVisible(first)
        if mode is AccessMode.SIGN_IN:
            self.title.setText("Sign in")
            self.explanation.setText(
                "The records hold clients' health information: sign in with your own account."
            )
            self.go.setText("Sign in")
        elif mode is AccessMode.UNLOCK:
            self.title.setText("Locked")
            self.explanation.setText(
                f"The console is locked. {name} unlocks it with their PIN or password "
                "(a running treatment goes on; Esc still stops it)."
            )
            self.go.setText("Unlock")
        else:
            self.title.setText("Create the administrator")
            self.explanation.setText(
                "Accounts protect the clients' records: each practitioner signs in, and every "
                "access is kept in the audit trail. The first account is the clinic's "
                "administrator, who adds the others. Choose a PIN of 4 or more digits or a "
                "password of 8 or more characters."
            )
            self.go.setText("Create and sign in")
        self._say("", "")
        self._enable(True)
        (self.secret if name else self.name).setFocus()

    def show_treatment(self, text: str | None) -> None:
        """While a treatment runs, ``text`` says how it goes (no client's name) and the stop
        is shown; ``None`` hides both."""
        self.treatment_box.setVisible(text is not None)
        if text is not None:
            self.treatment.setText(text)

    # -- checking ------------------------------------------------------------------------------

    def submit(self) -> None:
        """Check what was typed (in a worker thread); the answer comes back as ``granted`` or as
        a message on the page."""
        if self._busy or self._check is None:
            return
        name, secret = self.name.text().strip(), self.secret.text()
        if not name:
            self._say("Type your name.", "warning")
            self.name.setFocus()
            return
        if not secret:
            self._say("Type your PIN or password.", "warning")
            self.secret.setFocus()
            return
        if self.mode is AccessMode.FIRST_ADMINISTRATOR and secret != self.repeat.text():
            self._say("The two PINs/passwords differ: type them again.", "warning")
            self.secret.clear()
            self.repeat.clear()
            self.secret.setFocus()
            return
        self._busy = True
        self._enable(False)
        self._say("Checking…", "")
        check = self._check
        self._checking.run(lambda: check(name, secret))

    def _on_answer(self, result: object, error: object) -> None:
        self._busy = False
        self._enable(True)
        self.secret.clear()
        self.repeat.clear()
        if error is not None:
            text = str(error) or type(error).__name__
            self._say(text[0].upper() + text[1:] + ("" if text.endswith(".") else "."), "danger")
            self.secret.setFocus()
            return
        self._say("", "")
        self.granted.emit(result)

    def _enable(self, on: bool) -> None:
        for widget in (self.secret, self.repeat, self.go):
            widget.setEnabled(on)
        self.name.setEnabled(on)

    def _say(self, text: str, level: str) -> None:
        self.message.setText(text or " ")
        set_style_state(self.message, "level", level)
