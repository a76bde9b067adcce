"""Writes a treatment into the records as it happens (safety rule 7: nothing is lost).

The session row is written *before* the output first turns on (:meth:`SessionRecorder.begin`,
called by whoever starts the engine). After that the recorder is an engine subscriber: each
finished step, each safety event and the end are queued and committed by the recorder's own
thread, so a slow or failing database never delays the engine or the other observers.

When the database fails (locked, read-only, full, drive removed), what could not be written stays
in memory, in order, and is retried; ``on_trouble`` is called once with a plain message so the
caller can stop the treatment safely and tell the user; ``on_recovered`` when writes go through
again.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from console.engine.events import (
    EngineEvent,
    SafetyEventRaised,
    SessionEnded,
    SessionInfo,
    StepEnded,
)
from console.records.store import RecordStore, StoreUnavailableError

log = logging.getLogger(__name__)

#: Seconds between retries while the database is unavailable.
RETRY_S = 1.0


@dataclass(frozen=True, slots=True)
class _Write:
    what: str  #: for messages: "step 3", "safety event", "session end"
    apply: Callable[[], None]


class SessionRecorder:
    """Records one engine session into a :class:`RecordStore` (see the module docstring)."""

    def __init__(
        self,
        store: RecordStore,
        practitioner: str,
        client_id: int | None = None,
        on_trouble: Callable[[str], None] | None = None,
        on_recovered: Callable[[], None] | None = None,
        retry_s: float = RETRY_S,
    ) -> None:
        self.store = store
        self.practitioner = practitioner
        self.client_id = client_id
        self.on_trouble = on_trouble
        self.on_recovered = on_recovered
        self.retry_s = retry_s
        self.session: SessionInfo | None = None
        self._session_start_s = 0.0
        self._queue: queue.Queue[_Write | None] = queue.Queue()
        self._closed = threading.Event()
        self._troubled = False
        self._unwritten = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="mc-recorder", daemon=True)
        self._thread.start()

    def begin(self, session: SessionInfo, session_start_s: float) -> None:
        """Write the session row now, before the output turns on. Raises
        :class:`StoreUnavailableError` if it cannot: then the treatment must not start."""
        self.store.begin_session(session, self.practitioner, self.client_id)
        self.session = session
        self._session_start_s = session_start_s

    # -- the engine subscriber -----------------------------------------------------------------

    def __call__(self, event: EngineEvent) -> None:
        session = self.session
        if session is None:
            return
        sid = session.session_id
        if isinstance(event, StepEnded):
            delivery = event.delivery
            self._put(f"step {delivery.index + 1}", lambda: self.store.add_step(sid, delivery))
        elif isinstance(event, SafetyEventRaised):
            safety, start = event.event, self._session_start_s
            self._put("a safety event", lambda: self.store.add_event(sid, safety, start))
        elif isinstance(event, SessionEnded):
            summary = event.summary
            self._put("the session's end", lambda: self.store.end_session(sid, summary))

    # -- state -----------------------------------------------------------------------------------

    @property
    def unwritten(self) -> int:
        """Writes waiting (in memory) for the database."""
        with self._lock:
            return self._unwritten

    @property
    def troubled(self) -> bool:
        """True while the database refuses writes."""
        return self._troubled

    def close(self, timeout: float = 5.0) -> bool:
        """Finish the writes (up to ``timeout`` s); True if everything reached the database."""
        self._queue.put(None)
        self._thread.join(timeout)
        self._closed.set()
        return self.unwritten == 0

    # -- the writer thread ---------------------------------------------------------------------

    def _put(self, what: str, apply: Callable[[], None]) -> None:
        with self._lock:
            self._unwritten += 1
        self._queue.put(_Write(what, apply))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            while True:
                try:
                    item.apply()
                except StoreUnavailableError as error:
                    self._trouble(f"Could not save {item.what}: {error}. It is kept and retried.")
                    if self._closed.wait(self.retry_s):
                        return  # closing: what is unwritten stays counted in ``unwritten``
                    continue
                except Exception:  # a bug must not silently drop the rest of the session
                    log.exception("recording %s failed", item.what)
                    self._trouble(f"Could not save {item.what} (an internal error).")
                    break
                with self._lock:
                    self._unwritten -= 1
                if self._troubled:
                    self._troubled = False
                    if self.on_recovered is not None:
                        self.on_recovered()
                break

    def _trouble(self, message: str) -> None:
        if self._troubled:
            return
        self._troubled = True
        log.warning("records: %s", message.split(":")[0])  # no client data in logs
        if self.on_trouble is not None:
            try:
                self.on_trouble(message)
            except Exception:
                log.exception("on_trouble callback failed")
