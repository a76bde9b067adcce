"""When the main window is up, and what it does then.

The window is shown first, with what a practitioner needs at once (the consultation, the face
map, the controls, the emergency stop). What takes a while and is not needed before a session
(opening the records database, importing pyqtgraph for the scope's plots) waits until the
window's first frame is on screen and its machine is connected, so that neither delays them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6 import QtCore

#: How long a window that Qt never paints is waited for before it counts as up anyway.
UNPAINTED_WAIT_MS = 1500


class WindowStart(QtCore.QObject):
    """Follows a starting main window: its first frame painted, its machine's connection
    settled (connected or refused; ``window.connected``).

    ``up`` is emitted once both have happened (or once ``wait_ms`` has passed after the first
    frame without a connection: a real machine may take seconds); ``up_and_connected`` once the
    frame is painted and the connection settled, however long it takes."""

    up = QtCore.Signal()
    up_and_connected = QtCore.Signal()

    def __init__(self, window: Any, wait_ms: int, connecting: bool) -> None:  # a MainWindow
        super().__init__(window)
        self._window = window
        self._wait_ms = wait_ms
        self._painted = False
        self._connected = not connecting
        self._up = False
        once = QtCore.Qt.ConnectionType.SingleShotConnection
        window.connected.connect(self._on_connected, type=once)
        window.installEventFilter(self)
        # A window that is never painted (started minimized, on a screen that is off) is up
        # all the same after a while: its records must open.
        QtCore.QTimer.singleShot(UNPAINTED_WAIT_MS, self._on_painted)

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802
        """The window's first frame: Qt paints the whole window while it handles this event,
        so what is queued now runs once the frame is on screen."""
        if watched is self._window and event.type() == QtCore.QEvent.Type.UpdateRequest:
            self._window.removeEventFilter(self)
            QtCore.QTimer.singleShot(0, self._on_painted)
        return False

    def when_up(self, action: Callable[[], object]) -> None:
        """Run ``action`` once the window is up (at once if it is)."""
        if self._up:
            action()
        else:
            self.up.connect(action, type=QtCore.Qt.ConnectionType.SingleShotConnection)

    def _on_painted(self) -> None:
        if self._painted:
            return
        self._painted = True
        self._window.removeEventFilter(self)
        if self._connected:
            self._settle()
        else:
            QtCore.QTimer.singleShot(self._wait_ms, self._declare_up)

    def _on_connected(self, _result: object) -> None:
        self._connected = True
        if self._painted:
            # Queued behind the window's own handling of the connection.
            QtCore.QTimer.singleShot(0, self._settle)

    def _settle(self) -> None:
        self.up_and_connected.emit()
        self._declare_up()

    def _declare_up(self) -> None:
        if not self._up:
            self._up = True
            self.up.emit()
