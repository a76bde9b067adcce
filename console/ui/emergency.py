"""Esc is the emergency stop in every window of the application, modal or not.

A shortcut is not enough: Qt does not fire a window's shortcuts while a modal box blocks that
window, and a box, a menu or a cell editor takes Esc for itself (to close or to cancel). The guard
is an event filter on the application, which sees every key before any widget does:

* it claims Esc from the shortcut system (``ShortcutOverride`` accepted), so no widget's or
  action's shortcut can take it, and lets the widgets see that claim (a table cell puts back
  what it held, see ``StepDelegate``);
* on the key press it calls the stop at once, in the GUI thread that delivered the key, and
  swallows the key, so Esc never closes a box or cancels anything: it only stops.

The stop itself (:meth:`MainWindow.emergency_stop`) goes straight to the engine and the machine,
which turn the output off in the caller's thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtWidgets

ESCAPE = QtCore.Qt.Key.Key_Escape
# Looked up once: the filter sees every event of the application (tens of thousands while the
# window is built and styled, every repaint of the scope), and a Qt enum lookup is not free.
_SHORTCUT_OVERRIDE = QtCore.QEvent.Type.ShortcutOverride
_KEY_PRESS = QtCore.QEvent.Type.KeyPress


class EmergencyKeyGuard(QtCore.QObject):
    """Calls ``stop`` on every Esc pressed in any window of the application.

    It removes itself from the application when it is deleted (with its parent, the main
    window), so a closed window's stop is never called.
    """

    def __init__(
        self,
        stop: Callable[[], None],
        parent: QtCore.QObject | None = None,
        *,
        install: bool = True,
    ) -> None:
        super().__init__(parent)
        self._stop = stop
        self._installed = False
        if QtWidgets.QApplication.instance() is None:
            raise RuntimeError("the emergency key guard needs a QApplication")
        if install:
            self.install()

    def install(self) -> None:
        """Start guarding (later calls do nothing). The main window does this once it is up
        (its first frame painted, see ``console.ui.window_start``), or when a session starts if
        that comes first: the first events an application-wide Python filter sees make PySide
        create the Python types of every Qt class (some 30 ms), which need not delay the
        window's first frame, before which no output can be on."""
        if not self._installed:
            self._installed = True
            app = QtWidgets.QApplication.instance()
            assert app is not None
            app.installEventFilter(self)

    @property
    def installed(self) -> bool:
        """True once the guard sees the application's keys."""
        return self._installed

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802
        kind = event.type()
        if kind == _SHORTCUT_OVERRIDE and event.key() == ESCAPE:  # type: ignore[attr-defined]
            event.accept()  # ours: no shortcut, no box's Esc button takes it
            return False  # the widget still sees it (a cell editor puts its value back)
        if kind == _KEY_PRESS and event.key() == ESCAPE:  # type: ignore[attr-defined]
            self._stop()
            popup = QtWidgets.QApplication.activePopupWidget()
            if popup is not None:  # an open menu would hide the alert that says output is off
                popup.close()
            return True
        return False
