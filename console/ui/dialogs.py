"""Dialog boxes that never stand between the operator and the emergency stop.

A modal box blocks every other window of the application: while one is open, the main window's
EMERGENCY STOP button cannot be clicked. So the console's boxes keep two rules:

* Boxes shown over the main window or its panels (information, warnings, questions, file
  choosers, typed confirmations) are **not modal**. A question answers through a callback; the
  main window stays live behind it.
* A tool window that needs a synchronous answer (the protocol editor asking before it replaces
  a file) is a window of its own, without a parent, and its boxes are modal to it alone
  (``Qt.WindowModal``): they block that tool window and nothing else.

Esc is handled apart, for every window, modal or not, by
:class:`console.ui.emergency.EmergencyKeyGuard`.

Tests replace :func:`inform`, :func:`ask` and the choosers through this module's attributes
(``dialogs.inform``), so call them that way rather than importing the names.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from pathlib import Path

from PySide6 import QtCore, QtWidgets

NON_MODAL = QtCore.Qt.WindowModality.NonModal


class Level(Enum):
    """How much a box matters: its icon."""

    INFORMATION = "information"
    WARNING = "warning"
    CRITICAL = "critical"


_ICONS = {
    Level.INFORMATION: QtWidgets.QMessageBox.Icon.Information,
    Level.WARNING: QtWidgets.QMessageBox.Icon.Warning,
    Level.CRITICAL: QtWidgets.QMessageBox.Icon.Critical,
}


def _show(box: QtWidgets.QDialog) -> None:
    box.setWindowModality(NON_MODAL)
    box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
    box.show()
    box.raise_()
    box.activateWindow()


def _message(
    parent: QtWidgets.QWidget | None, level: Level, title: str, text: str
) -> QtWidgets.QMessageBox:
    """A message box with OK (plain or rich text)."""
    box = QtWidgets.QMessageBox(_ICONS[level], title, text, QtWidgets.QMessageBox.StandardButton.Ok)
    box.setParent(parent, box.windowFlags())
    box.setTextFormat(QtCore.Qt.TextFormat.AutoText)
    return box


def _question(parent: QtWidgets.QWidget | None, title: str, text: str) -> QtWidgets.QMessageBox:
    """A Yes/No box whose default answer is No."""
    buttons = QtWidgets.QMessageBox.StandardButton
    box = QtWidgets.QMessageBox(
        QtWidgets.QMessageBox.Icon.Question, title, text, buttons.Yes | buttons.No
    )
    box.setParent(parent, box.windowFlags())
    box.setDefaultButton(buttons.No)
    return box


def inform(
    parent: QtWidgets.QWidget | None, title: str, text: str, level: Level = Level.INFORMATION
) -> QtWidgets.QMessageBox:
    """Show ``text`` (plain or rich) in a box that does not block any other window."""
    box = _message(parent, level, title, text)
    _show(box)
    return box


def warn(parent: QtWidgets.QWidget | None, title: str, text: str) -> QtWidgets.QMessageBox:
    """A warning that does not block any other window."""
    return inform(parent, title, text, Level.WARNING)


def ask(
    parent: QtWidgets.QWidget | None,
    title: str,
    text: str,
    on_yes: Callable[[], None],
    on_no: Callable[[], None] | None = None,
) -> QtWidgets.QMessageBox:
    """A Yes/No question that does not block any other window; No is the default answer.

    ``on_yes`` runs when Yes is chosen; ``on_no`` (if given) when the box is answered No or
    closed. Either may find the world changed since the question was asked (the session may
    have ended): check again there, not here.
    """
    box = _question(parent, title, text)
    yes = box.button(QtWidgets.QMessageBox.StandardButton.Yes)

    def answered(button: QtWidgets.QAbstractButton) -> None:
        if button is yes:
            on_yes()
        elif on_no is not None:
            on_no()

    box.buttonClicked.connect(answered)
    _show(box)
    return box


def ask_text(
    parent: QtWidgets.QWidget | None,
    title: str,
    label: str,
    on_text: Callable[[str], None],
    *,
    multiline: bool = False,
    minimum_length: int = 0,
    accept_text: str = "OK",
) -> QtWidgets.QInputDialog:
    """Ask for a text without blocking any other window; ``on_text`` gets it on OK.

    With ``minimum_length`` the OK button stays off until that many characters (not counting
    spaces at the ends) are typed, so the requirement is met before, not refused after.
    """
    dialog = QtWidgets.QInputDialog(parent)
    dialog.setWindowTitle(title)
    dialog.setLabelText(label)
    dialog.setOkButtonText(accept_text)
    if multiline:
        dialog.setOption(QtWidgets.QInputDialog.InputDialogOption.UsePlainTextEditForTextInput)
    dialog.textValueSelected.connect(on_text)
    if minimum_length:

        def check(text: str) -> None:
            box = dialog.findChild(QtWidgets.QDialogButtonBox)
            ok = box.button(QtWidgets.QDialogButtonBox.StandardButton.Ok) if box else None
            if ok is not None:
                ok.setEnabled(len(text.strip()) >= minimum_length)

        dialog.textValueChanged.connect(check)
        QtCore.QTimer.singleShot(0, lambda: check(dialog.textValue()))
    _show(dialog)
    return dialog


def choose_save_file(
    parent: QtWidgets.QWidget | None,
    title: str,
    suggested: str,
    name_filter: str,
    on_chosen: Callable[[Path], None],
) -> QtWidgets.QFileDialog:
    """Where to save a file, without blocking any other window; ``on_chosen`` gets the path."""
    dialog = _file_dialog(parent, title, suggested, name_filter)
    dialog.setAcceptMode(QtWidgets.QFileDialog.AcceptMode.AcceptSave)
    dialog.fileSelected.connect(lambda name: on_chosen(Path(name)))
    _show(dialog)
    return dialog


def choose_folder(
    parent: QtWidgets.QWidget | None,
    title: str,
    start: str,
    on_chosen: Callable[[Path], None],
) -> QtWidgets.QFileDialog:
    """A folder, without blocking any other window; ``on_chosen`` gets it."""
    dialog = _file_dialog(parent, title, start, "")
    dialog.setFileMode(QtWidgets.QFileDialog.FileMode.Directory)
    dialog.setOption(QtWidgets.QFileDialog.Option.ShowDirsOnly)
    dialog.fileSelected.connect(lambda name: on_chosen(Path(name)))
    _show(dialog)
    return dialog


def _file_dialog(
    parent: QtWidgets.QWidget | None, title: str, start: str, name_filter: str
) -> QtWidgets.QFileDialog:
    dialog = QtWidgets.QFileDialog(parent, title, start, name_filter)
    # Qt's own dialog, not the desktop's: a native one is a separate program's window that
    # neither the emergency key guard nor the tests can see into.
    dialog.setOption(QtWidgets.QFileDialog.Option.DontUseNativeDialog)
    return dialog


# -- boxes modal to one tool window (synchronous) ----------------------------------------------


def _modal_to(tool_window: QtWidgets.QWidget, dialog: QtWidgets.QDialog) -> int:
    """Run ``dialog`` modal to ``tool_window`` alone; refuses a tool window with a parent,
    whose window modality would block the main window too."""
    if tool_window.window().parentWidget() is not None:
        raise ValueError(
            f"{type(tool_window).__name__} has a parent window: a box modal to it would block "
            "the main window and its emergency stop button"
        )
    dialog.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
    return dialog.exec()


def confirm_in(tool_window: QtWidgets.QWidget, title: str, text: str) -> bool:
    """Yes/No, modal to ``tool_window`` only (a window without a parent); No is the default."""
    box = _question(tool_window, title, text)
    try:
        return _modal_to(tool_window, box) == QtWidgets.QMessageBox.StandardButton.Yes
    finally:
        box.deleteLater()


def tell_in(
    tool_window: QtWidgets.QWidget, title: str, text: str, level: Level = Level.WARNING
) -> None:
    """A message modal to ``tool_window`` only (a window without a parent)."""
    box = _message(tool_window, level, title, text)
    try:
        _modal_to(tool_window, box)
    finally:
        box.deleteLater()


def pick_file_in(
    tool_window: QtWidgets.QWidget, title: str, start: str, name_filter: str, *, save: bool
) -> Path | None:
    """A file to open (or to save with ``save``), modal to ``tool_window`` only."""
    dialog = _file_dialog(tool_window, title, start, name_filter)
    if save:
        dialog.setAcceptMode(QtWidgets.QFileDialog.AcceptMode.AcceptSave)
    else:
        dialog.setFileMode(QtWidgets.QFileDialog.FileMode.ExistingFile)
    try:
        if _modal_to(tool_window, dialog) != QtWidgets.QDialog.DialogCode.Accepted:
            return None
        files = dialog.selectedFiles()
        return Path(files[0]) if files else None
    finally:
        dialog.deleteLater()
