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
import time
from collections.abc import Callable
from dataclasses import dataclass

from console.engine.events import (
    EngineEvent,
    SafetyEventRaised,
    SessionEnded,
    SessionInfo,
    SessionSummary,
    StepCheckpoint,
    StepDelivery,
    StepEnded,
)
from console.records.store import (
    LEASE_RENEW_S,
    RecordStore,
    StoreUnavailableError,
    this_console,
)

log = logging.getLogger(__name__)

#: Seconds between retries while the database is unavailable.
RETRY_S = 1.0


@dataclass(frozen=True, slots=True)
class _Write:
    what: str  #: for messages: "step 3", "safety event", "session end"
    apply: Callable[[], object]  #: returns False when it had nothing left to write


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
        renew_s: float = LEASE_RENEW_S,
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
        self._lease_owner = this_console()
        self._ended = False
        self._checkpoints: dict[int, StepDelivery] = {}
        self._queued_checkpoints: set[int] = set()
        self.renew_s = renew_s
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="mc-recorder", daemon=True)
        self._thread.start()

    def begin(self, session: SessionInfo, session_start_s: float) -> None:
        """Write the session row now, before the output turns on, with this console's lease on
        it (renewed by the recorder's thread until the session ends, so that another console
        on the same database never takes it for abandoned). Raises
        :class:`StoreUnavailableError` if it cannot: then the treatment must not start."""
        self.store.begin_session(session, self.practitioner, self.client_id, self._lease_owner)
        self.session = session
        self._session_start_s = session_start_s

    # -- the engine subscriber -----------------------------------------------------------------

    def __call__(self, event: EngineEvent) -> None:
        session = self.session
        if session is None:
            return
        sid = session.session_id
        if isinstance(event, StepCheckpoint):
            self._checkpoint(sid, event.delivery)
        elif isinstance(event, StepEnded):
            delivery = event.delivery
            with self._lock:
                self._checkpoints.pop(delivery.index, None)  # the step's end supersedes them
            self._put(f"step {delivery.index + 1}", lambda: self.store.add_step(sid, delivery))
        elif isinstance(event, SafetyEventRaised):
            safety, start = event.event, self._session_start_s
            self._put("a safety event", lambda: self.store.add_event(sid, safety, start))
        elif isinstance(event, SessionEnded):
            summary = event.summary
            self._put("the session's end", lambda: self._end(sid, summary))

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

    def finish_in_background(self) -> None:
        """The session has ended: the recorder's thread goes on until every write has reached
        the database, retrying for as long as this process runs (while the database is back in
        a minute or an hour), then ends. :attr:`unwritten` says what still waits."""
        self._queue.put(None)

    @property
    def finished(self) -> bool:
        """True once the thread has ended (every write done, or :meth:`close` gave up)."""
        return not self._thread.is_alive()

    def close(self, timeout: float = 5.0) -> bool:
        """Finish the writes (up to ``timeout`` s); True if everything reached the database."""
        self._queue.put(None)
        self._thread.join(timeout)
        self._closed.set()
        return self.unwritten == 0

    # -- the writer thread ---------------------------------------------------------------------

    def _put(self, what: str, apply: Callable[[], object]) -> None:
        with self._lock:
            self._unwritten += 1
        self._queue.put(_Write(what, apply))

    def _checkpoint(self, session_id: str, delivery: StepDelivery) -> None:
        """Queue what the running step delivered so far; while a write of it waits, a newer
        checkpoint replaces what it will write (a slow database writes the latest, not all)."""
        index = delivery.index
        with self._lock:
            self._checkpoints[index] = delivery
            if index in self._queued_checkpoints:
                return
            self._queued_checkpoints.add(index)
        self._put(f"step {index + 1} so far", lambda: self._write_checkpoint(session_id, index))

    def _write_checkpoint(self, session_id: str, index: int) -> bool:
        with self._lock:
            self._queued_checkpoints.discard(index)
            delivery = self._checkpoints.pop(index, None)
        if delivery is None:
            return False  # the step has ended: its final write supersedes the checkpoint
        try:
            self.store.add_step(session_id, delivery)
        except StoreUnavailableError:
            with self._lock:  # retried: with the newest checkpoint, if one came meanwhile
                self._checkpoints.setdefault(index, delivery)
                self._queued_checkpoints.add(index)
            raise
        return True

    def _end(self, session_id: str, summary: SessionSummary) -> None:
        self.store.end_session(session_id, summary)
        self._ended = True

    def _renew_lease(self) -> None:
        """Tell the other consoles this session is still recorded (nothing to do once it
        ended; a database that cannot be reached now is tried again at the next renewal)."""
        session = self.session
        if session is None or self._ended:
            return
        try:
            self.store.renew_lease(session.session_id, self._lease_owner)
        except StoreUnavailableError:
            log.debug("lease not renewed: records database unavailable")

    def _run(self) -> None:
        renewed_at = time.monotonic()
        while True:
            # The lease is renewed on time however busy the queue is.
            due = renewed_at + self.renew_s - time.monotonic()
            if due <= 0:
                self._renew_lease()
                renewed_at = time.monotonic()
                continue
            try:
                item = self._queue.get(timeout=due)
            except queue.Empty:
                continue
            if item is None:
                return
            while True:
                try:
                    wrote = item.apply() is not False
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
                if self._troubled and wrote:  # only a write that reached the database proves it
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
