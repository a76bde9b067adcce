"""The local write-ahead journal: a session's records are durable on this computer first.

Each session being recorded has one journal file in the data folder
(``<user data>/journal/<session id>.journal``, or ``$MC_CONSOLE_JOURNAL_DIR``): owner-only,
append-only, every entry flushed to the disk (``fdatasync``) before the database is even tried.
When the database refuses a write (full, locked, server down), the entry waits in the journal;
the recorder keeps retrying, and if the console stops first, the next start replays the journal
into the database (:func:`replay_journals`). A journal is deleted only once every entry of an
ended session is in the database.

Space is reserved when the session begins (1 MiB, about three hours of checkpoints) and
grown a reservation at a time, so a disk that fills up during the treatment does not stop the
journal: the reserved space is already the journal's.

The file is one line per entry: compact JSON, a space and the CRC-32 of the JSON in hex. A
power cut can tear only the last line, which fails its CRC and is ignored (it was never
acknowledged). The owner holds an exclusive lock on the file while recording, so a replay from
another console process never touches a live session's journal.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Environment variable naming the journal folder (tests, portable installs).
JOURNAL_DIR_ENV = "MC_CONSOLE_JOURNAL_DIR"
#: Bytes reserved on the disk at a time.
RESERVE_BYTES = 1 << 20
#: Version of the file format (the header line's ``journal`` field).
FORMAT = 1
SUFFIX = ".journal"

Entry = dict[str, Any]


class JournalError(OSError):
    """The journal cannot be written (its folder or its disk)."""


def journal_folder() -> Path:
    """Where journals live: ``$MC_CONSOLE_JOURNAL_DIR``, else ``journal`` in the data folder."""
    configured = os.environ.get(JOURNAL_DIR_ENV)
    if configured:
        return Path(configured)
    from platformdirs import user_data_dir

    from console.records.store import APP_AUTHOR, APP_NAME

    return Path(user_data_dir(APP_NAME, APP_AUTHOR)) / "journal"


def encode(entry: Entry) -> bytes:
    """One line: compact ASCII JSON, a space, its CRC-32 in hex, a newline."""
    body = json.dumps(entry, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()
    return body + b" %08x\n" % zlib.crc32(body)


def decode(data: bytes) -> tuple[list[Entry], bool]:
    """The entries of a journal file's bytes, and whether a torn or damaged tail was cut off
    (the reserved, never-written space after the last entry is zeros and is not damage)."""
    entries: list[Entry] = []
    for line in data.split(b"\n"):
        if not line.strip(b"\0"):
            return entries, False  # the end of what was written
        body, _, crc = line.rpartition(b" ")
        try:
            if int(crc, 16) != zlib.crc32(body):
                return entries, True
            entry = json.loads(body)
        except ValueError:
            return entries, True
        if not isinstance(entry, dict):
            return entries, True
        entries.append(entry)
    return entries, False


class SessionJournal:
    """The journal file of one session, owned (locked) by the recorder writing it."""

    def __init__(self, path: Path, fd: int, end: int, reserved: int) -> None:
        self.path = path
        self._fd: int | None = fd
        self._end = end
        self._reserved = reserved

    @classmethod
    def create(cls, session_id: str, target: str, owner: str, folder: Path | None = None):  # type: ignore[no-untyped-def]
        """A new journal for ``session_id`` whose entries belong to the database ``target``
        (see :func:`target_of`), with its first reservation made. Raises :class:`JournalError`."""
        folder = folder or journal_folder()
        path = folder / f"{session_id}{SUFFIX}"
        try:
            _private_folder(folder)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | _BINARY, 0o600)
        except OSError as error:
            raise JournalError(error.errno, _say(error, path)) from None
        journal = cls(path, fd, 0, 0)
        try:
            if not _lock(fd):  # nobody else has it yet: this cannot fail but on odd file systems
                raise OSError(errno.EAGAIN, "the journal is locked by another process")
            journal._reserve(RESERVE_BYTES)
            journal.append(
                {"journal": FORMAT, "session": session_id, "target": target, "owner": owner}
            )
            _sync_folder(folder)
        except OSError as error:
            journal.close()
            path.unlink(missing_ok=True)
            raise JournalError(error.errno, _say(error, path)) from None
        return journal

    def append(self, entry: Entry) -> None:
        """Write ``entry`` and flush it to the disk. Raises :class:`JournalError`."""
        if self._fd is None:
            raise JournalError(errno.EBADF, f"the journal {self.path} is closed")
        line = encode(entry)
        try:
            while self._end + len(line) > self._reserved:
                self._reserve(RESERVE_BYTES)
            written = os.pwrite(self._fd, line, self._end)
            if written != len(line):
                raise OSError(errno.ENOSPC, "short write")
            _flush(self._fd)
        except OSError as error:
            raise JournalError(error.errno, _say(error, self.path)) from None
        self._end += len(line)

    def discard(self) -> None:
        """Everything is in the database: the journal is deleted."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError as error:
            log.warning("journal not removed: %s", error.strerror)
        self.close()

    def close(self) -> None:
        """Let go of the file (kept on the disk for a later replay, unless discarded)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _reserve(self, more: int) -> None:
        assert self._fd is not None
        _allocate(self._fd, self._reserved, more)
        self._reserved += more


# -- replay ----------------------------------------------------------------------------------------


@dataclass
class ReplayReport:
    """What :func:`replay_journals` did."""

    sessions: list[str] = field(default_factory=list)  #: sessions whose journal was replayed
    set_aside: list[Path] = field(default_factory=list)  #: journals the database rejects
    problems: list[str] = field(default_factory=list)  #: one sentence each, for the user


def replay_journals(store: Any, folder: Path | None = None) -> ReplayReport:
    """Write into ``store`` what journals of dead or finished recorders hold for it, oldest
    first, and delete each journal once all of it is in. A journal a live recorder holds is
    left alone; one for another database is left for that database; one whose entries the
    database rejects outright (its client was deleted meanwhile) is renamed ``.rejected`` and
    reported, never deleted."""
    from console.records.entries import apply_entry
    from console.records.store import RecordRejectedError, StoreUnavailableError

    report = ReplayReport()
    folder = folder or journal_folder()
    target = target_of(store)
    for path, fd in _unowned_journals(folder):
        try:
            entries, torn = decode(_read_all(fd))
            header = entries[0] if entries else {}
            if header.get("target") != target:
                continue  # another database's journal (or an empty file from a failed create)
            if torn:
                report.problems.append(
                    f"The end of the journal {path.name} was damaged (power cut while writing); "
                    "everything before it was saved."
                )
            try:
                for entry in entries[1:]:
                    apply_entry(store, entry)
            except StoreUnavailableError as error:
                report.problems.append(
                    f"The records database cannot take the journal {path.name} yet ({error}); "
                    "it is kept and replayed at the next start."
                )
                break  # the database is down: the other journals wait as well
            except RecordRejectedError as error:
                aside = path.with_suffix(".rejected")
                os.replace(path, aside)
                report.set_aside.append(aside)
                report.problems.append(
                    f"The records database rejects the journal {path.name} ({error}); it is "
                    f"kept as {aside} for the clinic's administrator."
                )
                continue
            report.sessions.append(str(header.get("session", path.stem)))
            path.unlink(missing_ok=True)
        finally:
            os.close(fd)
    return report


def target_of(store: Any) -> str:
    """Which database a journal's entries belong to: the SQLite file's full path, or the URL
    without its password."""
    if store.path is not None:
        return f"sqlite:{Path(store.path).resolve()}"
    return str(store.safe_url)


def _unowned_journals(folder: Path) -> Iterator[tuple[Path, int]]:
    """Journal files no live recorder holds, oldest first, each open and locked (the caller
    closes the descriptor)."""
    if not folder.is_dir():
        return
    paths = sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: _mtime(p))
    for path in paths:
        try:
            fd = os.open(path, os.O_RDWR | _BINARY)
        except OSError:
            continue  # gone meanwhile (its recorder finished)
        if not _lock(fd) or os.fstat(fd).st_nlink == 0:
            os.close(fd)  # a live recorder's, or deleted between listing and opening
            continue
        yield path, fd


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _read_all(fd: int) -> bytes:
    chunks = []
    offset = 0
    while chunk := os.pread(fd, 1 << 20, offset):
        chunks.append(chunk)
        offset += len(chunk)
        if chunk.endswith(b"\0" * min(len(chunk), 4096)):
            break  # the reserved, unwritten space: nothing more to read
    return b"".join(chunks)


# -- the file system, portably -------------------------------------------------------------------

_BINARY = getattr(os, "O_BINARY", 0)


def _lock(fd: int) -> bool:
    """An exclusive, non-blocking lock held until the descriptor is closed (the process dying
    closes it, so a crashed recorder's journal is free at once)."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _allocate(fd: int, offset: int, length: int) -> None:
    """Reserve disk blocks for ``offset .. offset + length`` (zeros where nothing was written)."""
    if hasattr(os, "posix_fallocate"):
        os.posix_fallocate(fd, offset, length)
        return
    zeros = b"\0" * 65536
    for start in range(offset, offset + length, len(zeros)):
        os.pwrite(fd, zeros[: min(len(zeros), offset + length - start)], start)
    os.fsync(fd)


def _flush(fd: int) -> None:
    (getattr(os, "fdatasync", None) or os.fsync)(fd)


def _sync_folder(folder: Path) -> None:
    """Make the new file's name durable too (POSIX; Windows has no folder descriptors)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _private_folder(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix":
        os.chmod(folder, 0o700)


def _say(error: OSError, path: Path) -> str:
    """The reason in words a clinic understands."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return f"the disk holding the journal {path} is full"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"the journal {path} cannot be written (permission denied or read-only)"
    return f"the journal {path} cannot be written ({error.strerror or error})"
