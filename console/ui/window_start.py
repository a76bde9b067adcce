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

#: How long a window that Qt never paints is waited for before it counts as painted anyway.
UNPAINTED_WAIT_MS = 1500


class FirstFrame(QtCore.QObject):
    """Calls ``action`` once, when ``window``'s first frame is on screen: Qt paints the whole
    window while it handles the window's ``UpdateRequest``, so what is queued then runs after
    the frame. A window never painted (started minimized, on a screen that is off) gets its
    ``action`` after ``UNPAINTED_WAIT_MS`` all the same. Only ``window``'s own events are
    looked at, never the application's."""

    def __init__(self, window: QtCore.QObject, action: Callable[[], object]) -> None:
        super().__init__(window)
        self._window = window
        self._action: Callable[[], object] | None = action
        window.installEventFilter(self)
        QtCore.QTimer.singleShot(UNPAINTED_WAIT_MS, self, self._run)

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802
        """Queue the action behind the frame being painted."""
        if watched is self._window and event.type() == QtCore.QEvent.Type.UpdateRequest:
            self._window.removeEventFilter(self)
            QtCore.QTimer.singleShot(0, self, self._run)
        return False

    def _run(self) -> None:
        action, self._action = self._action, None
        if action is not None:
            self._window.removeEventFilter(self)
            action()


class WindowStart(QtCore.QObject):
    """Follows a starting main window: its first frame painted (:class:`FirstFrame`), its
    machine's connection settled (connected or refused; ``window.connected``).

    ``up`` is emitted once both have happened (or once ``wait_ms`` has passed after the first
    frame without a connection: a real machine may take seconds); ``up_and_connected`` once the
    frame is painted and the connection settled, however long it takes."""

    up = QtCore.Signal()
    up_and_connected = QtCore.Signal()

    def __init__(self, window: Any, wait_ms: int, connecting: bool) -> None:  # a MainWindow
        super().__init__(window)
        self._wait_ms = wait_ms
        self._painted = False
        self._connected = not connecting
        self._up = False
        once = QtCore.Qt.ConnectionType.SingleShotConnection
        window.connected.connect(self._on_connected, type=once)
        FirstFrame(window, self._on_painted)

    def when_up(self, action: Callable[[], object]) -> None:
        """Run ``action`` once the window is up (at once if it is)."""
        if self._up:
            action()
        else:
            self.up.connect(action, type=QtCore.Qt.ConnectionType.SingleShotConnection)

    def _on_painted(self) -> None:
        self._painted = True
        if self._connected:
            self._settle()
        else:
            QtCore.QTimer.singleShot(self._wait_ms, self, self._declare_up)

    def _on_connected(self, _result: object) -> None:
        self._connected = True
        if self._painted:
            # Queued behind the window's own handling of the connection.
            QtCore.QTimer.singleShot(0, self, self._settle)

    def _settle(self) -> None:
        self.up_and_connected.emit()
        self._declare_up()

    def _declare_up(self) -> None:
        if not self._up:
            self._up = True
            self.up.emit()
