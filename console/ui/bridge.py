"""Carries engine events from the event thread into the GUI thread as a Qt signal.

The engine never touches Qt. Its dispatcher thread calls :meth:`EngineBridge.post`; the signal is
delivered through Qt's queued connection into the GUI thread, where widgets update. A frozen GUI
delays only this delivery, never the engine's safety decisions.
"""

from __future__ import annotations

from PySide6 import QtCore

from console.engine.events import EngineEvent


class EngineBridge(QtCore.QObject):
    """A QObject living in the GUI thread; ``event`` fires there for every engine event."""

    event = QtCore.Signal(object)

    def post(self, event: EngineEvent) -> None:
        """Called from the engine's event thread."""
        self.event.emit(event)
