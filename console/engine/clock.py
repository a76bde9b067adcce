"""Clocks: the same protocol runs in real time, faster than real time, or as fast as possible.

The engine and the simulated machine share one clock. Every time in the engine is a reading of
that clock, in seconds; nothing in the engine calls ``time.monotonic`` directly.
"""

from __future__ import annotations

import abc
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
