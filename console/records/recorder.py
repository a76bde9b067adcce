"""Writes a treatment into the records as it happens (safety rule 7: nothing is lost).

Every record of a session goes first into the session's local journal
(:mod:`console.records.journal`: append-only, flushed to the disk) and then into the database.
The session row is written *before* the output first turns on (:meth:`SessionRecorder.begin`,
called by whoever starts the engine). After that the recorder is an engine subscriber: each
checkpoint and end of a step, each safety event and the session's end are journaled and
committed by the recorder's own thread, so a slow or failing database never delays the engine
or the other observers.

When the database refuses writes (locked, read-only, full, server down), the records wait in
the journal, in order, and are retried; the treatment goes on. Only when neither the database
nor the journal can be written does ``on_trouble`` ask for the treatment to stop
(:attr:`RecordsTrouble.must_stop`). If the console stops before the database is back, the next
start writes the journal in (:func:`console.records.journal.replay_journals`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from console.engine.events import (
    EngineEvent,
    SafetyEventRaised,
    SessionEnded,
    SessionInfo,
    StepCheckpoint,
    StepDelivery,
    StepEnded,
)
from console.records.entries import (
    Entry,
    apply_entry,
    begin_entry,
    describe,
    end_entry,
    event_entry,
    step_entry,
)
from console.records.journal import JournalError, SessionJournal, target_of
from console.records.signed_in import SignedIn
from console.records.store import (
    LEASE_RENEW_S,
    RecordRejectedError,
    RecordStore,
    StoreUnavailableError,
    this_console,
)

log = logging.getLogger(__name__)

#: Seconds between retries while the database is unavailable.
RETRY_S = 1.0


@dataclass(frozen=True, slots=True)
class RecordsTrouble:
    """What went wrong with the records, in a sentence for the operator."""

    message: str
    #: Neither the database nor the journal can keep the records: stop the treatment.
    must_stop: bool


@dataclass(slots=True)
class _Pending:
    entry: Entry
    journaled: bool


class SessionRecorder:
    """Records one engine session into a :class:`RecordStore` through a local journal (see the
    module docstring)."""

    def __init__(
        self,
        store: RecordStore,
        practitioner: str | SignedIn,
        client_id: int | None = None,
        on_trouble: Callable[[RecordsTrouble], None] | None = None,
        on_recovered: Callable[[], None] | None = None,
        retry_s: float = RETRY_S,
        renew_s: float = LEASE_RENEW_S,
        journal_folder: Path | None = None,
        goals: str | None = None,
    ) -> None:
        self.store = store
        #: The client's goals as stated at the visit, kept on the session row.
        self.goals = goals
        # The journal keeps the name: a signed-in account's practitioner row has its name.
        self.practitioner = (
            practitioner.name if isinstance(practitioner, SignedIn) else practitioner
        )
        #: The account, named in the audit trail when the session's row is written live.
        self.signed_in = practitioner if isinstance(practitioner, SignedIn) else None
        self.client_id = client_id
        self.on_trouble = on_trouble
        self.on_recovered = on_recovered
        self.retry_s = retry_s
        self.renew_s = renew_s
        self.journal_folder = journal_folder
        self.session: SessionInfo | None = None
        self.journal: SessionJournal | None = None
        #: The journal file (kept after the recorder let go of it, for messages).
        self.journal_path: Path | None = None
        #: Why the journal cannot be written (None while it can).
        self.journal_problem: str | None = None
        self._session_start_s = 0.0
        self._lease_owner = this_console()
        self._events_seen = 0
        self._ended = False
        self._lock = threading.Lock()  # the counters and checkpoints
        self._queue: queue.Queue[_Pending | int | None] = queue.Queue()
        self._unwritten = 0
        self._unjournaled = 0
        self._checkpoints: dict[int, StepDelivery] = {}
        self._queued_checkpoints: set[int] = set()
        # Between the two threads (under ``_ready``): what waits for the database, in order.
        self._ready = threading.Condition()
        self._pending: list[_Pending] = []
        self._writing = False  # the first of _pending is being written
        self._input_done = False
        self._closing = False
        self._kept_for_review = False  # the database refused a record for good
        self._database_problem: str | None = None
        self._reported: set[str] = set()
        # Journaling never waits for the database: a server that takes minutes to time out
        # holds only the writer.
        self._journaler = threading.Thread(
            target=self._journal_queued, name="mc-recorder-journal", daemon=True
        )
        self._writer = threading.Thread(
            target=self._write_queued, name="mc-recorder-db", daemon=True
        )
        self._journaler.start()
        self._writer.start()

    def begin(self, session: SessionInfo, session_start_s: float) -> None:
        """Journal the session row and write it, before the output turns on, with this
        console's lease on it (renewed every few seconds until the session ends, so another
        console on the same database never takes it for abandoned). If the database cannot
        take it now, the journal keeps it and the treatment may start. Raises
        :class:`StoreUnavailableError` when neither can: then the treatment must not start."""
        entry = begin_entry(
            session, self.practitioner, self.client_id, self._lease_owner, self.goals
        )
        journaled = self._open_journal(session.session_id)
        journaled = journaled and self._journal(entry)
        try:
            apply_entry(self.store, entry, self.signed_in)
        except RecordRejectedError:
            self._close_journal(discard=True)  # the session does not start: nothing to keep
            raise
        except StoreUnavailableError as error:
            if not journaled:
                self._close_journal(discard=True)
                raise StoreUnavailableError(
                    f"{error}; and {self.journal_problem or 'the journal failed'}"
                ) from None
            self._database_problem = str(error)
            self._count(+1, journaled=True)
            with self._ready:
                self._pending.append(_Pending(entry, journaled=True))
                self._ready.notify_all()
            self._report_database_trouble(entry)
        self.session = session
        self._session_start_s = session_start_s

    # -- the engine subscriber -----------------------------------------------------------------

    def __call__(self, event: EngineEvent) -> None:
        session = self.session
        if session is None:
            return
        sid = session.session_id
        if isinstance(event, StepCheckpoint):
            self._checkpoint(event.delivery)
        elif isinstance(event, StepEnded):
            with self._lock:
                self._checkpoints.pop(event.delivery.index, None)  # its end supersedes them
            self._put(step_entry(sid, event.delivery, final=True))
        elif isinstance(event, SafetyEventRaised):
            ordinal, self._events_seen = self._events_seen, self._events_seen + 1
            self._put(event_entry(sid, ordinal, event.event, self._session_start_s))
        elif isinstance(event, SessionEnded):
            self._put(end_entry(sid, event.summary, datetime.now(UTC)))

    # -- state -----------------------------------------------------------------------------------

    @property
    def unwritten(self) -> int:
        """Records not in the database yet (kept in the journal, or in memory)."""
        with self._lock:
            return self._unwritten

    @property
    def unjournaled(self) -> int:
        """Of :attr:`unwritten`, those only in memory (the journal could not take them): the
        ones a crash or quitting now would lose."""
        with self._lock:
            return self._unjournaled

    @property
    def troubled(self) -> bool:
        """True while the database refuses writes."""
        return self._database_problem is not None

    def finish_in_background(self) -> None:
        """The session has ended: the recorder goes on until every record is in the database
        (retrying for as long as this process runs), deletes the journal, then ends."""
        self._queue.put(None)

    @property
    def finished(self) -> bool:
        """True once the recorder has ended (every write done, or :meth:`close` let go)."""
        return not self._writer.is_alive()

    def close(self, timeout: float = 5.0) -> bool:
        """Finish the writes (up to ``timeout`` s), then let go: what is still unwritten stays
        in the journal for the next start. True if everything reached the database."""
        self._queue.put(None)
        self._writer.join(timeout)
        with self._ready:
            self._closing = True
            self._ready.notify_all()
        # Between two writes it ends at once; one stuck on a server that does not answer is
        # left behind (a daemon thread: the journal keeps what it was writing).
        self._journaler.join(1.0)
        self._writer.join(1.0)
        return self.unwritten == 0

    # -- queueing (the engine's dispatch thread) ------------------------------------------------

    def _put(self, entry: Entry) -> None:
        self._count(+1, journaled=False)
        self._queue.put(_Pending(entry, journaled=False))

    def _checkpoint(self, delivery: StepDelivery) -> None:
        """Queue what the running step delivered so far; while one waits, a newer checkpoint
        replaces what it will write (a slow disk gets the latest, not all)."""
        index = delivery.index
        with self._lock:
            self._checkpoints[index] = delivery
            if index in self._queued_checkpoints:
                return
            self._queued_checkpoints.add(index)
        self._count(+1, journaled=False)
        self._queue.put(index)

    def _count(self, change: int, journaled: bool) -> None:
        with self._lock:
            self._unwritten += change
            if not journaled:
                self._unjournaled += change

    # -- the journaling thread: every record durable on this computer first ------------------

    def _journal_queued(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                with self._ready:
                    self._input_done = True
                    self._ready.notify_all()
                return
            pending = self._take(item)
            if pending is not None:
                with self._ready:
                    self._line_up(pending)
                    self._ready.notify_all()

    def _take(self, item: _Pending | int) -> _Pending | None:
        """Journal a queued record (None for a checkpoint its step's end superseded)."""
        if isinstance(item, int):  # a checkpoint of step ``item``: its latest state
            with self._lock:
                self._queued_checkpoints.discard(item)
                delivery = self._checkpoints.pop(item, None)
            if delivery is None or self.session is None:
                self._count(-1, journaled=False)
                return None
            item = _Pending(step_entry(self.session.session_id, delivery, final=False), False)
        if not item.journaled and self._journal(item.entry):
            item.journaled = True
            with self._lock:
                self._unjournaled -= 1
        return item

    def _line_up(self, item: _Pending) -> None:
        """Add to what the database must take; a checkpoint replaces a waiting one of its step
        (the journal has both; the database needs the newest). Under ``_ready``."""
        entry = item.entry
        if entry["op"] == "step" and not entry["final"]:
            first = 1 if self._writing else 0
            for position in range(first, len(self._pending)):
                waiting = self._pending[position]
                same = waiting.entry["op"] == "step" and waiting.entry["index"] == entry["index"]
                if same and not waiting.entry["final"] and waiting.journaled == item.journaled:
                    self._pending[position] = item
                    self._count(-1, journaled=item.journaled)
                    return
        self._pending.append(item)

    # -- the writing thread: into the database, in order, retried --------------------------------

    def _write_queued(self) -> None:
        renewed_at = retry_at = time.monotonic()
        while True:
            with self._ready:
                while True:
                    now = time.monotonic()
                    if self._closing and self._input_done:
                        self._close_journal(discard=False)  # replayed at the next start
                        return
                    if self._input_done and not self._pending:
                        self._close_journal(discard=not self._kept_for_review)
                        return
                    if now >= renewed_at + self.renew_s or (self._pending and now >= retry_at):
                        break
                    wake = renewed_at + self.renew_s
                    if self._pending:
                        wake = min(wake, retry_at)
                    self._ready.wait(max(0.0, wake - now))
            if time.monotonic() >= renewed_at + self.renew_s:
                self._renew_lease()
                renewed_at = time.monotonic()
            if not self._write_pending():
                retry_at = time.monotonic() + self.retry_s

    def _write_pending(self) -> bool:
        """Write what waits, in order; False when the database refused (retried later)."""
        while True:
            with self._ready:
                if not self._pending:
                    return True
                item = self._pending[0]
                self._writing = True
                in_memory_only = any(not waiting.journaled for waiting in self._pending)
            try:
                written = self._write(item, in_memory_only)
            finally:
                with self._ready:
                    self._writing = False
            if not written:
                return False
            with self._ready:
                self._pending.pop(0)
            self._count(-1, journaled=item.journaled)

    def _write(self, item: _Pending, in_memory_only: bool) -> bool:
        """One record into the database: True when it is done with (written, or refused for
        good and kept in the journal), False to retry it later."""
        entry = item.entry
        try:
            apply_entry(self.store, entry, self.signed_in)
        except StoreUnavailableError as error:
            self._database_problem = str(error)
            if in_memory_only:
                self._report(
                    "both",
                    f"Neither the records database ({error}) nor the local journal "
                    f"({self.journal_problem}) can keep {describe(entry)}. It is held in memory "
                    "and retried.",
                    must_stop=True,
                )
            else:
                self._report_database_trouble(entry)
            return False
        except RecordRejectedError as error:
            # Retrying the same write cannot help: the journal keeps it (not deleted) for the
            # clinic's administrator, and the records after it go on.
            self._kept_for_review = True
            log.error("records: %s refused: %s", describe(entry), error)
            self._report(
                "rejected",
                f"The records database refused {describe(entry)} ({error}); it is kept in the "
                "local journal for the clinic's administrator.",
                must_stop=not item.journaled,
            )
            return True
        except Exception:  # a bug must not silently hold back the rest of the session
            self._kept_for_review = True
            log.exception("recording %s failed", describe(entry))
            self._report(
                "internal",
                f"Could not save {describe(entry)} (an internal error); it is kept in the local "
                "journal.",
                must_stop=not item.journaled,
            )
            return True
        if entry["op"] == "end":
            self._ended = True
        if self._database_problem is not None:
            self._recovered()
        return True

    def _recovered(self) -> None:
        self._database_problem = None
        if self._reported & {"database", "both"}:
            self._reported -= {"database", "both"}
            log.info("records: the database takes writes again")
            if self.on_recovered is not None:
                try:
                    self.on_recovered()
                except Exception:
                    log.exception("on_recovered callback failed")

    def _renew_lease(self) -> None:
        """Tell the other consoles this session is still recorded (nothing to do once it
        ended; a database that cannot be reached now is tried again at the next renewal)."""
        session = self.session
        if session is None or self._ended:
            return
        try:
            self.store.renew_lease(session.session_id, self._lease_owner)
        except (StoreUnavailableError, RecordRejectedError):
            log.debug("lease not renewed: records database unavailable")

    # -- the journal -----------------------------------------------------------------------------

    def _open_journal(self, session_id: str) -> bool:
        try:
            self.journal = SessionJournal.create(
                session_id, target_of(self.store), self._lease_owner, self.journal_folder
            )
        except JournalError as error:
            self._journal_failed(error)
            return False
        self.journal_path = self.journal.path
        return True

    def _journal(self, entry: Entry) -> bool:
        """Append ``entry`` to the journal; False if there is none or it failed (said once;
        nothing more goes in after a failure, so the journal never has a gap)."""
        if self.journal is None or self.journal_problem is not None:
            return False
        try:
            self.journal.append(entry)
        except JournalError as error:
            self._journal_failed(error)
            return False
        return True

    def _journal_failed(self, error: JournalError) -> None:
        self.journal_problem = error.strerror or str(error)
        self._report(
            "journal",
            f"The local journal cannot be written: {self.journal_problem}. The records go "
            "straight to the database; a crash now could lose what it has not taken yet.",
            must_stop=False,
        )

    def _close_journal(self, discard: bool) -> None:
        """Delete the journal when ``discard`` (all of it is in the database), else leave it
        for the next start's replay."""
        journal, self.journal = self.journal, None
        if journal is None:
            return
        if discard and not self._pending:
            journal.discard()
        else:
            journal.close()

    # -- telling the user ------------------------------------------------------------------------

    def _report_database_trouble(self, entry: Entry) -> None:
        reason = self._database_problem or "the records database cannot be written"
        self._report(
            "database",
            f"{reason[:1].upper()}{reason[1:]}. The treatment goes on: {describe(entry)} and "
            "everything after it are kept in the local journal on this computer and written to "
            "the database as soon as it can take them.",
            must_stop=False,
        )

    def _report(self, kind: str, message: str, must_stop: bool) -> None:
        """Tell ``on_trouble`` once per kind of trouble (again only after a recovery)."""
        if kind in self._reported:
            return
        self._reported.add(kind)
        log.warning("records: %s", kind)  # no client data in logs
        if self.on_trouble is not None:
            try:
                self.on_trouble(RecordsTrouble(message, must_stop))
            except Exception:
                log.exception("on_trouble callback failed")
