"""Slow work (hashing a PIN, a records call) off the GUI thread, its outcome back on it.

The window, its scope and its emergency stop stay live while the work runs: the result or the
exception comes back through a queued signal, on the thread that owns the receiver.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6 import QtCore


class OffThread(QtCore.QObject):
    """Runs work in a daemon thread; ``done(result, error)`` is emitted on the owner's thread
    with what the work returned (``error`` None) or the exception it raised (``result`` None).
    """

    done = QtCore.Signal(object, object)

    def __init__(self, name: str, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._name = name

    def run(self, work: Callable[[], object]) -> None:
        """Start ``work`` now; its outcome arrives as ``done``."""

        def body() -> None:
            try:
                result = work()
            except Exception as error:  # noqa: BLE001 (every failure is the caller's to say)
                self.done.emit(None, error)
                return
            self.done.emit(result, None)

        threading.Thread(target=body, name=self._name, daemon=True).start()
