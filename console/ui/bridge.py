"""Carries engine events from the event thread into the GUI thread as a Qt signal.

The engine never touches Qt. Its dispatcher thread calls :meth:`EngineBridge.post`; the signal is
delivered through Qt's queued connection into the GUI thread, where widgets update. A frozen GUI
delays only this delivery, never the engine's safety decisions.

Progress reports are the one kind that a newer one makes stale: four a clock second, so 240 a wall
second at ×60. While one is still waiting for the GUI thread, a newer one replaces it instead of
queueing behind it, so a fast simulation or a busy GUI never builds a backlog. Every other event
is delivered, in order.
"""

from __future__ import annotations

import threading

import shiboken6
from PySide6 import QtCore

from console.engine.events import EngineEvent, Progress


class EngineBridge(QtCore.QObject):
    """A QObject living in the GUI thread; ``event`` fires there for every engine event (and
    for the newest of Progress reports that came faster than the GUI took them)."""

    event = QtCore.Signal(object)
    _progress_ready = QtCore.Signal(int)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._pending: Progress | None = None
        # Bumped whenever a waiting Progress is sent ahead of another event: a ready signal from
        # before that has nothing left to deliver (what it announced went out in order).
        self._generation = 0
        #: Progress reports replaced by a newer one before the GUI took them (for benchmarks).
        self.progress_coalesced = 0
        self._progress_ready.connect(
            self._deliver_progress, QtCore.Qt.ConnectionType.QueuedConnection
        )

    def post(self, event: EngineEvent) -> None:
        """Called from the engine's event thread. Once the window (and this bridge with it)
        has been destroyed, the events have nowhere to go and are dropped."""
        try:
            self._post(event)
        except RuntimeError:  # the C++ object is gone (shiboken: "already deleted")
            if shiboken6.isValid(self):
                raise

    def _post(self, event: EngineEvent) -> None:
        if isinstance(event, Progress):
            with self._lock:
                announce = self._pending is None
                if not announce:
                    self.progress_coalesced += 1
                self._pending = event
                generation = self._generation
            if announce:
                self._progress_ready.emit(generation)
            return
        with self._lock:
            pending, self._pending = self._pending, None
            self._generation += 1
        if pending is not None:
            self.event.emit(pending)  # the order of events is kept
        self.event.emit(event)

    def _deliver_progress(self, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return
            pending, self._pending = self._pending, None
        if pending is not None:
            self.event.emit(pending)
