"""Clocks: the same protocol runs in real time, faster than real time, or as fast as possible.

The engine and the simulated machine share one clock. Every time in the engine is a reading of
that clock, in seconds; nothing in the engine calls ``time.monotonic`` directly.
"""

from __future__ import annotations

import abc
import math
import threading
import time


class Clock(abc.ABC):
    """Seconds since the clock started; ``wait_until`` blocks (or jumps) to a later reading."""

    #: True when readings follow the wall clock (so real hardware may be driven by it).
    follows_wall_time: bool = True

    @abc.abstractmethod
    def now(self) -> float:
        """Current reading in seconds."""

    @abc.abstractmethod
    def wait_until(self, t: float, wake: threading.Event | None = None) -> None:
        """Return once ``now() >= t``, or earlier if ``wake`` is set."""


class ScaledClock(Clock):
    """Wall time multiplied by ``speed``: 1.0 is real time, 60.0 plays a minute a second."""

    def __init__(self, speed: float = 1.0) -> None:
        if not speed > 0:
            raise ValueError(f"clock speed must be positive, got {speed!r}")
        self.speed = float(speed)
        self.follows_wall_time = self.speed == 1.0
        self._origin = time.monotonic()

    def now(self) -> float:
        return (time.monotonic() - self._origin) * self.speed

    def wait_until(self, t: float, wake: threading.Event | None = None) -> None:
        delay = (t - self.now()) / self.speed
        if delay <= 0:
            return
        if wake is None:
            time.sleep(delay)
        else:
            wake.wait(delay)


class RealClock(ScaledClock):
    """Real time: the only clock a real machine is ever driven with."""

    def __init__(self) -> None:
        super().__init__(1.0)


class VirtualClock(Clock):
    """Time that moves only when someone waits: a whole protocol runs as fast as the CPU allows.

    Each ``wait_until`` jumps straight to its target, so simulated samples and engine ticks stay in
    lockstep. Tests use it for exact, repeatable timing.
    """

    follows_wall_time = False

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def wait_until(self, t: float, wake: threading.Event | None = None) -> None:
        with self._lock:
            if t > self._now:
                self._now = float(t)

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (tests use this to step a driver without an engine)."""
        self.wait_until(self._now + seconds)


class SteppedClock(VirtualClock):
    """Virtual time that advances only as far as it is allowed to: pause, single-step, hold.

    The engine may run up to :attr:`limit`; ``run_until(t)`` raises the limit and returns once the
    engine waits for a time beyond it, so the caller sees the engine at an exact simulated moment
    (screenshots, tests, a trainer's single step). A ``wake`` event (emergency stop, pause) still
    lets the engine tick at the current time, so a held clock never delays a stop.
    """

    def __init__(self, start: float = 0.0) -> None:
        super().__init__(start)
        self._limit = float(start)
        self._waiting_for: float | None = None
        self._cond = threading.Condition()

    @property
    def limit(self) -> float:
        """How far time may advance now."""
        return self._limit

    def wait_until(self, t: float, wake: threading.Event | None = None) -> None:
        with self._cond:
            while t > self._limit and not (wake is not None and wake.is_set()):
                self._waiting_for = t
                self._cond.notify_all()
                self._cond.wait(0.01)
            self._waiting_for = None
            if self._now < t <= self._limit:
                self._now = float(t)

    def run_until(self, t: float, timeout: float = 10.0) -> None:
        """Let time advance to ``t``; return when the engine waits for a later time.

        Raises TimeoutError if nothing reaches ``t`` within ``timeout`` wall seconds (for example
        because the session ended before ``t``).
        """
        with self._cond:
            self._limit = max(self._limit, float(t))
            self._cond.notify_all()
            reached = self._cond.wait_for(
                lambda: self._waiting_for is not None and self._waiting_for > t, timeout
            )
        if not reached:
            raise TimeoutError(f"nothing waited beyond t={t:g} s within {timeout:g} s")

    def release(self) -> None:
        """Let time run freely from now on."""
        with self._cond:
            self._limit = math.inf
            self._cond.notify_all()
