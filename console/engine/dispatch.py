"""Delivers engine events to observers on a thread of their own.

The engine's safety loop only puts events on a queue; this thread hands them, in order, to the
subscribers (UI bridge, records store, command line) and to the plugins' observer hooks. A slow or
failing observer therefore never delays a safety decision.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from console.engine.events import (
    EngineEvent,
    SafetyEventRaised,
    SessionEnded,
    SessionStarted,
    StepStarted,
)

log = logging.getLogger(__name__)

Subscriber = Callable[[EngineEvent], None]
#: Called with (hook name, keyword arguments) for the events plugins observe.
HookNotifier = Callable[..., None]

_STOP = object()


class EventDispatcher:
    """A queue and a daemon thread that calls subscribers in event order."""

    def __init__(self, notify_hook: HookNotifier | None = None) -> None:
        self._subscribers: list[Subscriber] = []
        self._notify_hook = notify_hook
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="mc-events", daemon=True)
        self._started = False
        self._session = None

    def subscribe(self, subscriber: Subscriber) -> None:
        """Add a callable that receives every event (on the dispatcher thread)."""
        self._subscribers.append(subscriber)

    def start(self) -> None:
        """Start the delivery thread (idempotent)."""
        if not self._started:
            self._started = True
            self._thread.start()

    def post(self, event: EngineEvent) -> None:
        """Queue an event; never blocks."""
        self._queue.put(event)

    def finish(self) -> None:
        """No more events will come: the thread delivers what is queued, then ends (without
        waiting for it here, so the engine's own thread never blocks on a slow subscriber)."""
        if self._started:
            self._queue.put(_STOP)

    def close(self, timeout: float | None = None) -> None:
        """Deliver what is queued, then stop the thread."""
        if self._started:
            self._queue.put(_STOP)
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            if event is _STOP:
                return
            for subscriber in list(self._subscribers):
                try:
                    subscriber(event)  # type: ignore[arg-type]
                except Exception:  # an observer's bug is logged, not fatal
                    log.exception("event subscriber %s failed", _describe(subscriber))
            if self._notify_hook is not None:
                self._notify_plugins(event)  # type: ignore[arg-type]

    def _notify_plugins(self, event: EngineEvent) -> None:
        notify = self._notify_hook
        assert notify is not None
        if isinstance(event, SessionStarted):
            self._session = event.session
            notify("session_started", session=event.session)
        elif isinstance(event, StepStarted) and self._session is not None:
            notify("step_started", session=self._session, index=event.index, step=event.step)
        elif isinstance(event, SafetyEventRaised) and self._session is not None:
            notify("safety_event", session=self._session, event=event.event)
        elif isinstance(event, SessionEnded):
            notify("session_ended", session=event.session, summary=event.summary)


def _describe(subscriber: Subscriber) -> str:
    """A subscriber's name for the log, without calling its repr (a bound method of a deleted
    Qt object raises there, and the log line would be lost with the error it reports)."""
    name = getattr(subscriber, "__qualname__", None) or type(subscriber).__qualname__
    return str(name)
