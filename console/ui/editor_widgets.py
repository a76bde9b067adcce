"""Small helpers the protocol editor's parts share: style states, one-line labels, actions."""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtGui, QtWidgets

from console.ui.restyle import repolish, set_style_state

__all__ = ["elastic", "make_action", "repolish", "set_style_state"]


def elastic(label: QtWidgets.QLabel) -> None:
    """A one-line label that never widens the dialog: long text is cut, and the tooltip (or the
    list it summarises) holds all of it."""
    label.setSizePolicy(
        QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred
    )


def make_action(
    parent: QtWidgets.QWidget,
    text: str,
    slot: Callable[[], object],
    shortcut: QtGui.QKeySequence | QtGui.QKeySequence.StandardKey | str | None = None,
    tip: str = "",
    icon: QtWidgets.QStyle.StandardPixmap | None = None,
) -> QtGui.QAction:
    """An action calling ``slot``; its tooltip names the shortcut; ``parent`` gives its icon's
    style. Keep a reference to it (an attribute): it belongs to Python, not to ``parent``.

    An action that is a child of the widget holding its toolbar can be deleted half-way through
    that widget's destructor, after the toolbar, and then removes itself from the dying toolbar
    (a segmentation fault seen when the protocol editor was deleted)."""
    action = QtGui.QAction(text)
    if icon is not None:
        action.setIcon(parent.style().standardIcon(icon))
    if shortcut is not None:
        action.setShortcut(QtGui.QKeySequence(shortcut))
        tip = f"{tip} ({action.shortcut().toString(QtGui.QKeySequence.SequenceFormat.NativeText)})"
    action.setToolTip(tip.strip())
    action.triggered.connect(lambda _checked=False: slot())
    return action
