"""Running the checks and reporting them: PASSED/FAILED per spec section, with the bytes.

A protocol module lists its checks with :func:`check_list` and ``@check(section, title)``; each
check is a small function of a :class:`Bench` (the protocol's end of the wire) that raises
:class:`CheckError` saying what it expected and what came. The runner prints each result as it
goes, with the traffic of a failed check, and whatever happens (a failure, a bug, Ctrl-C) ends
by turning the machine's output off.
"""

from __future__ import annotations

import abc
import contextlib
import enum
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Generic, TypeVar

import serial

from device_drivers.wire_check.link import Event, Link

T = TypeVar("T")
#: Transcript lines shown for a failed check: the first few and the last many.
_HEAD_LINES, _TAIL_LINES = 12, 40


class CheckError(AssertionError):
    """The machine did not do what the section requires (the message says what came)."""


class AbortError(CheckError):
    """A failure after which the other checks cannot mean anything (the machine is mute)."""


class Outcome(enum.StrEnum):
    PASSED = "PASSED"
    FAILED = "FAILED"
    NOT_RUN = "NOT RUN"


@dataclass(frozen=True, slots=True)
class Check:
    """One required behaviour: the spec section it comes from, what it checks, how."""

    section: str
    title: str
    run: Callable[..., str | None]  #: returns an optional note for the report

    @property
    def name(self) -> str:
        return self.run.__name__


def check_list() -> tuple[list[Check], Callable[[str, str], Callable]]:
    """A protocol's list of checks, and the ``@check(section, title)`` decorator that fills it
    in the order the functions are defined (the order they run)."""
    checks: list[Check] = []

    def check(section: str, title: str) -> Callable:
        def register(function: Callable[..., str | None]) -> Callable[..., str | None]:
            checks.append(Check(section, title, function))
            return function

        return register

    return checks, check


def expect(condition: object, message: str) -> None:
    """Fail the check with ``message`` unless ``condition`` holds."""
    if not condition:
        raise CheckError(message)


@dataclass(slots=True)
class Result:
    check: Check
    outcome: Outcome
    message: str = ""
    transcript: list[str] = field(default_factory=list)
    aborts: bool = False  #: the checks after this one cannot mean anything


@dataclass(frozen=True, slots=True)
class Received(Generic[T]):
    """One decoded unit from the machine (a line body, a frame) and when it arrived."""

    at: float
    item: T


class Bench(abc.ABC, Generic[T]):
    """One protocol's end of the wire: sends units, decodes what arrives, keeps it in order."""

    protocol: str = ""
    spec: str = ""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.inbox: list[Received[T]] = []

    # -- what each protocol provides ------------------------------------------------------------

    @abc.abstractmethod
    def decode(self, data: bytes) -> list[T]:
        """The units ``data`` completes (the decoder keeps partial ones)."""

    @abc.abstractmethod
    def reset_decoder(self) -> None:
        """Forget a partial unit (the port was reopened)."""

    @abc.abstractmethod
    def output_off_bytes(self) -> bytes:
        """A complete command that turns the output off (the safety stop)."""

    @abc.abstractmethod
    def describe(self, events: list[Event]) -> list[str]:
        """The traffic of ``events`` as report lines (hex frames, or the lines)."""

    # -- reading ---------------------------------------------------------------------------------

    def pump(self, seconds: float) -> None:
        """Read and decode what arrives for ``seconds`` (at least one read)."""
        end = time.monotonic() + seconds
        while True:
            data = self.link.read()
            if data:
                now = time.monotonic()
                self.inbox += [Received(now, item) for item in self.decode(data)]
            if time.monotonic() >= end:
                return

    def wait(self, match: Callable[[T], bool], timeout: float) -> Received[T] | None:
        """The first unit from now on that ``match``es within ``timeout`` s, or None. It and
        the units before it are taken out of the inbox."""
        end = time.monotonic() + timeout
        while True:
            for index, received in enumerate(self.inbox):
                if match(received.item):
                    del self.inbox[: index + 1]
                    return received
            self.inbox.clear()
            if time.monotonic() >= end:
                return None
            self.pump(min(0.02, max(0.0, end - time.monotonic())))

    def collect(self, seconds: float) -> list[Received[T]]:
        """Everything in the inbox and what arrives within ``seconds``; the inbox is emptied."""
        self.pump(seconds)
        out, self.inbox = self.inbox, []
        return out

    def collect_until(
        self, enough: Callable[[list[Received[T]]], bool], timeout: float, linger: float
    ) -> list[Received[T]]:
        """:meth:`collect` until ``enough`` of it came (or ``timeout``), then ``linger`` more
        seconds, so that what should not come has its chance too."""
        got: list[Received[T]] = []
        deadline = time.monotonic() + timeout
        while not enough(got) and time.monotonic() < deadline:
            got += self.collect(0.02)
        return got + self.collect(linger)

    def reconnect(self, pause_s: float) -> float:
        """Close the port, wait ``pause_s`` (the machine sees it close), open it again; returns
        when it was opened."""
        closing = time.monotonic()
        self.link.close()
        # pyserial's socket close waits 0.3 s itself: the pause counts from the close's start.
        time.sleep(max(0.0, closing + pause_s - time.monotonic()))
        self.link.open()
        self.reset_decoder()
        self.inbox.clear()
        return self.link.opened_at

    @contextlib.contextmanager
    def output_guard(self) -> Iterator[None]:
        """Around anything that may turn the output on: output-off when it ends, however."""
        try:
            yield
        finally:
            self.stop_output()

    def stop_output(self) -> bool:
        """The safety stop: send output-off, never raising. False if it could not be sent."""
        try:
            if not self.link.is_open:
                self.link.open()
            self.link.write(self.output_off_bytes())
            self.pump(0.05)
            return True
        except Exception:  # noqa: BLE001 - the stop is best effort; the report says if it failed
            return False


def run_checks(bench: Bench, checks: list[Check], out: IO[str]) -> list[Result]:
    """Run ``checks`` in order against ``bench``, printing each result; always end with the
    output off (also on Ctrl-C or a bug in a check)."""
    results: list[Result] = []
    aborted = ""
    try:
        for item in checks:
            if aborted:
                result = Result(item, Outcome.NOT_RUN, aborted)
            else:
                result = _run_one(bench, item)
                if result.aborts:
                    aborted = f"not run: §{item.section} failed ({result.message.splitlines()[0]})"
            results.append(result)
            _print_result(result, out)
    finally:
        stopped = bench.stop_output()
        bench.link.close()
        print(_summary(results, len(checks), stopped), file=out, flush=True)
    return results


def _run_one(bench: Bench, item: Check) -> Result:
    mark = bench.link.mark()
    try:
        note = item.run(bench)
    except CheckError as failure:
        return _failed(bench, item, str(failure), mark, isinstance(failure, AbortError))
    except (serial.SerialException, OSError) as error:
        return _failed(bench, item, f"the port failed: {error}", mark, True)
    except Exception as error:  # noqa: BLE001 - a checker bug must not hide the other checks
        return _failed(bench, item, f"the checker itself failed: {error!r}", mark, False)
    return Result(item, Outcome.PASSED, note or "")


def _failed(bench: Bench, item: Check, message: str, mark: int, aborts: bool) -> Result:
    with contextlib.suppress(serial.SerialException, OSError):
        bench.pump(0.0)  # what was on its way belongs to this check's transcript
    transcript = _shorten(bench.describe(bench.link.since(mark)))
    return Result(item, Outcome.FAILED, message, transcript, aborts)


def _shorten(lines: list[str]) -> list[str]:
    if len(lines) <= _HEAD_LINES + _TAIL_LINES:
        return lines
    left_out = len(lines) - _HEAD_LINES - _TAIL_LINES
    return [*lines[:_HEAD_LINES], f"... {left_out} more ...", *lines[-_TAIL_LINES:]]


def _print_result(result: Result, out: IO[str]) -> None:
    section = f"§{result.check.section}"
    head = f"{result.outcome.value:<7} {section:<6} {result.check.title}"
    print(head, file=out, flush=True)
    for line in _body(result):
        print(f"{'':15}{line}", file=out, flush=True)


def _body(result: Result) -> Iterator[str]:
    if result.message:
        yield from result.message.splitlines()
    if result.transcript:
        yield "traffic (ms from the check's start; > sent, < received):"
        yield from (f"  {line}" for line in result.transcript)


def _summary(results: list[Result], total: int, stopped: bool) -> str:
    passed = sum(r.outcome is Outcome.PASSED for r in results)
    failed = sum(r.outcome is Outcome.FAILED for r in results)
    not_run = total - passed - failed
    parts = [f"{passed} passed", f"{failed} failed"] + ([f"{not_run} not run"] if not_run else [])
    verdict = "ALL PASSED" if passed == total else "NOT CONFORMING"
    safety = (
        "output-off sent at the end."
        if stopped
        else "COULD NOT SEND OUTPUT-OFF: check the machine's output yourself."
    )
    return f"{verdict}: {total} checks, {', '.join(parts)}; {safety}"


def all_passed(results: list[Result], total: int) -> bool:
    """True when every one of ``total`` checks ran and passed."""
    return len(results) == total and all(r.outcome is Outcome.PASSED for r in results)


def offsets(events: list[Event]) -> Iterator[tuple[int, Event]]:
    """Each event with its time in ms from the first one."""
    start = events[0].at if events else 0.0
    for event in events:
        yield round((event.at - start) * 1000), event
