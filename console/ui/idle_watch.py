"""Noticing that nobody has touched the console for a while (the automatic lock).

An event filter on the application notes the time of every key, click, wheel turn and touch in
any of its windows; a one-second timer compares it with the limit. Mouse movement alone does not
count: a cursor nudged by a trolley is not someone at the keyboard. The filter only stores a
time, so it costs nothing while a treatment paints its scope.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6 import QtCore, QtWidgets

#: Minutes of no input after which the window locks, offered in the Account menu; 0 = never.
LOCK_AFTER_CHOICES_MIN = (1, 2, 5, 10, 15, 30, 0)
DEFAULT_LOCK_AFTER_MIN = 5

_INPUT = frozenset(
    {
        QtCore.QEvent.Type.KeyPress,
        QtCore.QEvent.Type.MouseButtonPress,
        QtCore.QEvent.Type.MouseButtonDblClick,
        QtCore.QEvent.Type.Wheel,
        QtCore.QEvent.Type.TouchBegin,
        QtCore.QEvent.Type.TabletPress,
    }
)


class IdleWatch(QtCore.QObject):
    """Calls ``on_idle`` once each time the application has had no input for ``limit_s``
    seconds (``None``: never). ``clock`` is the monotonic time (tests pass their own)."""

    def __init__(
        self,
        on_idle: Callable[[], None],
        parent: QtCore.QObject | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        check_every_ms: int = 1000,
    ) -> None:
        super().__init__(parent)
        self._on_idle = on_idle
        self._clock = clock
        self.limit_s: float | None = None
        self.last_input = clock()
        self._fired = False
        app = QtWidgets.QApplication.instance()
        if app is None:
            raise RuntimeError("the idle watch needs a QApplication")
        app.installEventFilter(self)
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(check_every_ms)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    def set_limit(self, limit_s: float | None) -> None:
        """Lock after ``limit_s`` seconds without input (``None`` or 0: never); counts anew."""
        self.limit_s = limit_s or None
        self.touched()

    def touched(self) -> None:
        """Someone used the console now (also called when the window is unlocked)."""
        self.last_input = self._clock()
        self._fired = False

    @property
    def idle_s(self) -> float:
        """Seconds since the last input."""
        return self._clock() - self.last_input

    def check(self) -> None:
        """Call ``on_idle`` if the limit has passed since the last input (once per idle spell)."""
        if self.limit_s is not None and not self._fired and self.idle_s >= self.limit_s:
            self._fired = True
            self._on_idle()

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802
        if event.type() in _INPUT:
            self.last_input = self._clock()
            self._fired = False
        return False
