"""How ``mc-console`` ends when it is told to: signals and a closed output, never a traceback.

- SIGINT (Ctrl-C), SIGTERM and SIGHUP during a run turn the output off first, then say so and
  end with ``128 + signal number``, as shells report a process a signal ended: 130, 143, 129.
  A second signal after the first is ignored: it must not interrupt the stop, nor the summary
  and the records that follow it (the command ends with them).
- A closed standard output (``mc-console … | head -1``) is handled as Python's documentation
  recommends for SIGPIPE: what is left to print is dropped, and the command exits quietly with
  141 (128 + SIGPIPE), the status a shell shows for a program the closed pipe ended. A run whose
  output is closed stops its session (output off) first: nobody reads its cues any more.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import TextIO

EXIT_BROKEN_PIPE = 128 + 13  # SIGPIPE
#: The signals that end a run: Ctrl-C, a polite kill (service managers, ``kill``), and a hang-up
#: (the terminal or the SSH connection went away).
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
#: Errors a write to a reader that went away gives: a closed pipe, a hung-up terminal.
_GONE = {errno.EPIPE, errno.EIO}


class StopSignal(BaseException):
    """A stop signal arrived during a run (a BaseException, as KeyboardInterrupt is, so no
    ``except Exception`` on the way swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        """The signal's name, as a user knows it: ``Ctrl-C``, ``SIGTERM``, ``SIGHUP``."""
        if self.signum == signal.SIGINT:
            return "Ctrl-C"
        return signal.Signals(self.signum).name

    @property
    def exit_status(self) -> int:
        """``128 + signal number``, as shells report it."""
        return 128 + self.signum


@contextmanager
def stop_signals() -> Iterator[None]:
    """Within: the first stop signal raises :class:`StopSignal` in the main thread, and from
    then on stop signals are ignored, to the end of the command (the stop it started, the
    summary and the records must run to their end). Left without a signal, the previous
    handlers are back."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (and Python sends signals only there)
        return
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    arrived: list[int] = []

    def first(signum: int, frame: FrameType | None) -> None:
        arrived.append(signum)
        for each in STOP_SIGNALS:
            signal.signal(each, signal.SIG_IGN)  # by the kernel: none is left pending
        raise StopSignal(signum)

    for signum in STOP_SIGNALS:
        signal.signal(signum, first)
    try:
        yield
    finally:
        # Not after a signal: a second one Python has noted but not yet handled would then
        # meet the old handler, and end the process with a KeyboardInterrupt at its exit.
        for signum, handler in previous.items() if not arrived else ():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


class GuardedStream:
    """Standard output that notes when its reader has gone (``| head``) instead of raising in
    whichever thread prints next; what is printed after that is dropped."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        """Write ``text``, or drop it once the reader has gone."""
        if not self.broken:
            try:
                return self._stream.write(text)
            except OSError as error:
                self._gone(error)
        return len(text)

    def flush(self) -> None:
        """Flush, noting a reader that has gone."""
        if not self.broken:
            try:
                self._stream.flush()
            except OSError as error:
                self._gone(error)

    def isatty(self) -> bool:
        """Whether the output is a terminal (for the live line of a run)."""
        return not self.broken and self._stream.isatty()

    def _gone(self, error: OSError) -> None:
        if error.errno not in _GONE:
            raise error
        self.broken = True

    def finish(self) -> None:
        """Flush what is left; once the reader has gone, point the descriptor at /dev/null so
        that Python's own flush at exit does not complain (the documented SIGPIPE recipe)."""
        self.flush()
        if self.broken:
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, self._stream.fileno())
                os.close(devnull)
            except (OSError, ValueError):  # not a real file (a test's StringIO)
                pass


def say(text: str) -> None:
    """One line on stderr, even if stderr has gone too (a hung-up terminal)."""
    with suppress(OSError):
        print(text, file=sys.stderr, flush=True)
