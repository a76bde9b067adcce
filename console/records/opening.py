"""Opening the records at a start: the database, then what the last run left behind.

Every front end (the window, ``mc-console run``, the record commands) opens the records the same
way: the database is migrated if it must be, the local journals of sessions whose console
stopped before the database took everything are written in, and only then are sessions still
marked running whose console is gone marked interrupted (a journal may hold their true end).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from console.records.journal import ReplayReport, replay_journals
from console.records.store import RecordError, RecordStore, StoreUnavailableError


@dataclass
class OpenedRecords:
    """The store and what opening it recovered."""

    store: RecordStore
    replayed: ReplayReport = field(default_factory=ReplayReport)
    #: Sessions found running whose console is gone, now marked interrupted.
    interrupted: list[str] = field(default_factory=list)

    def messages(self) -> list[str]:
        """Sentences for the user about what was recovered (empty when nothing was)."""
        said = list(self.replayed.problems)
        if self.replayed.sessions:
            said.append(
                f"{len(self.replayed.sessions)} session(s) kept in the local journal were "
                "written into the records database."
            )
        if self.interrupted:
            said.append(
                f"{len(self.interrupted)} session(s) were still open when their console "
                "stopped (crash or power cut). They are now marked interrupted, with what was "
                "delivered up to their last checkpoint."
            )
        return said


def open_records(
    url: str | None, journal_folder: Path | None = None, *, create: bool = True
) -> OpenedRecords:
    """Open (and migrate) the records database at ``url``, replay the journals left for it and
    mark abandoned sessions interrupted. Raises ``StoreUnavailableError`` (or another
    :class:`RecordError`) when the database cannot be used. ``create``: a SQLite file that does
    not exist yet may be made (a console that records), in a folder that exists unless it is the
    default place; without it, it is refused (a command that only reads)."""
    try:
        store = RecordStore(url, create=create, make_folder=url is None)
    except OSError as error:  # its folder cannot be made (a file in the way, no permission)
        where = f" ({error.filename})" if error.filename else ""
        raise StoreUnavailableError(
            f"cannot open the records database{where}: {error.strerror or error}"
        ) from None
    except sqlite3.Error as error:  # the backup before a migration failed
        raise StoreUnavailableError(f"cannot back up the records database: {error}") from None
    try:
        replayed = replay_journals(store, journal_folder)
        interrupted = store.recover_interrupted()
    except (RecordError, OSError):
        store.close()
        raise
    return OpenedRecords(store, replayed, interrupted)
