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
    #: True when nothing paces or holds the clock: every wait jumps straight to its target, so
    #: the engine may wait longer at once while nothing changes (``--speed max``).
    free_running: bool = False

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
    free_running = True

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
    (screenshots and tests; a trainer holds and steps time with :class:`TrainerClock`). A
    ``wake`` event (emergency stop, pause) still lets the engine tick at the current time, so a
    held clock never delays a stop.
    """

    free_running = False  # held and released by its owner, who expects the engine's own ticks

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


#: The fastest pace a clock may be given, in simulated seconds per wall second. Simulated time
#: moves by engine ticks, so a pace this high costs no more memory than any other: it only
#: stops pacing sooner.
MAX_SPEED = 10_000.0
#: The paces a trainer can choose (1 = real time).
TRAINER_SPEEDS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
#: How often a waiting engine looks at its wake event, in wall seconds (a held clock must never
#: delay an emergency stop's bookkeeping; the output itself is turned off by the caller at once).
_POLL_S = 0.005
#: A waiter this far behind its wall-clock due time (a busy CPU at ×60) is not allowed to burst:
#: the pace is re-anchored and simulated time simply runs a little slower for a moment.
_BEHIND_S = 0.1


class TrainerClock(Clock):
    """Simulated time a trainer steers: a pace (×1 … ×60), pause, and single steps.

    Time moves only when the engine waits, straight to the time it waits for (as
    :class:`VirtualClock`), but no sooner than the chosen pace allows in wall time. So a
    session is the same sequence of engine ticks and samples at every pace — the delivered
    charge does not depend on the speed — and a paused clock holds everything that follows
    simulated time: the simulated machine's samples, the engine's step timers, the scope and the
    animations. A ``wake`` event (emergency stop, operator pause) still returns a waiter at
    once at the current time, so a held clock never holds a safety decision.

    Only the simulated machine may run on this clock: it does not follow wall time, so the
    console and the engine's preflight refuse it for a real machine.
    """

    follows_wall_time = False

    def __init__(self, speed: float = 1.0, start: float = 0.0) -> None:
        self._check(speed)
        self._cond = threading.Condition()
        self._now = float(start)
        self._speed = float(speed)
        self._paused = False
        self._hold_at: float | None = None  # a single step pauses again here
        self._target: float | None = None  # where a waiting engine's time is heading
        self._anchor_wall = time.monotonic()
        self._anchor_sim = self._now

    # -- readings ----------------------------------------------------------------------------

    def now(self) -> float:
        return self._now

    def display_now(self) -> float:
        """For views only: simulated time between two engine ticks, as the pace carries it.

        :meth:`now` moves in the engine's ticks (50 ms of simulated time), which an animation
        shows as steps at real time; this reading moves smoothly, never past the time the engine
        is waiting for, and stands still while time is held.
        """
        with self._cond:
            target = self._target
            if self._paused or target is None:
                return self._now
            estimate = self._anchor_sim + (time.monotonic() - self._anchor_wall) * self._speed
            return min(max(self._now, estimate), target)

    @property
    def speed(self) -> float:
        """The chosen pace: simulated seconds per wall second."""
        return self._speed

    @property
    def paused(self) -> bool:
        """True while time is held (paused, or a single step has reached its end)."""
        return self._paused

    # -- the trainer's controls --------------------------------------------------------------

    def set_speed(self, speed: float) -> None:
        """Change the pace from now on (no jump in simulated time)."""
        self._check(speed)
        with self._cond:
            self._rebase()
            self._speed = float(speed)
            self._cond.notify_all()

    def pause(self) -> None:
        """Hold simulated time where it is."""
        with self._cond:
            self._paused = True
            self._hold_at = None
            self._cond.notify_all()

    def resume(self) -> None:
        """Let time run again at the chosen pace."""
        with self._cond:
            self._paused = False
            self._hold_at = None
            self._rebase()
            self._cond.notify_all()

    def step(self, seconds: float = 1.0) -> float:
        """Play ``seconds`` more of simulated time at the chosen pace, then hold; returns the time
        at which it will hold again."""
        if not (math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"a single step must be a positive number of seconds, got {seconds!r}")
        with self._cond:
            self._hold_at = self._now + seconds
            self._paused = False
            self._rebase()
            self._cond.notify_all()
            return self._hold_at

    # -- the engine's side -------------------------------------------------------------------

    def wait_until(self, t: float, wake: threading.Event | None = None) -> None:
        with self._cond:
            while self._now < t:
                if wake is not None and wake.is_set():
                    self._target = None
                    return
                if self._paused:
                    self._cond.wait(_POLL_S)
                    continue
                target = t if self._hold_at is None else min(t, self._hold_at)
                self._target = target
                delay = self._anchor_wall + (target - self._anchor_sim) / self._speed
                delay -= time.monotonic()
                if delay > 0:
                    self._cond.wait(min(delay, _POLL_S))
                    continue
                if delay < -_BEHIND_S:
                    self._anchor_wall = time.monotonic()
                    self._anchor_sim = target
                self._now = max(self._now, target)
                self._target = None
                if self._hold_at is not None and self._now >= self._hold_at:
                    self._paused = True
                    self._hold_at = None
                self._cond.notify_all()

    def wait_for_pause(self, timeout: float = 10.0) -> bool:
        """Block until time is held (after :meth:`step`); False on timeout (tests, scripts)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._paused, timeout)

    def _rebase(self) -> None:
        self._anchor_wall = time.monotonic()
        self._anchor_sim = self._now

    @staticmethod
    def _check(speed: float) -> None:
        if not (isinstance(speed, int | float) and math.isfinite(speed) and 0 < speed <= MAX_SPEED):
            raise ValueError(
                f"clock speed must be above 0 and at most {MAX_SPEED:g}, got {speed!r}"
            )
