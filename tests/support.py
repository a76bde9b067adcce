"""Test helpers shared by several test modules (imported as ``support``)."""

from __future__ import annotations

import math
import threading

from console.engine.clock import VirtualClock
from console.protocols import Protocol, RecommendedSeries, Step, checked
from console.waveforms import Polarity, Waveform, WaveShape


class GatedClock(VirtualClock):
    """A virtual clock the test holds back: the engine may run only up to ``limit``.

    ``run_until(t)`` lets simulated time advance to ``t`` and returns once the engine thread is
    blocked waiting beyond it, so a test can inspect the engine at an exact simulated moment.
    A ``wake`` event (emergency stop, pause...) still lets the engine tick at the current time.
    """

    def __init__(self) -> None:
        super().__init__()
        self._limit = 0.0
        self._waiting_for: float | None = None
        self._cond = threading.Condition()

    def wait_until(self, t: float, wake: threading.Event | None = None) -> None:
        with self._cond:
            while t > self._limit and not (wake is not None and wake.is_set()):
                self._waiting_for = t
                self._cond.notify_all()
                self._cond.wait(0.01)
            self._waiting_for = None
            if t <= self._limit and t > self._now:
                self._now = t

    def run_until(self, t: float, timeout: float = 10.0) -> None:
        """Let time advance to ``t``; return when the engine waits for a later time."""
        with self._cond:
            self._limit = t
            self._cond.notify_all()
            finished = self._cond.wait_for(
                lambda: self._waiting_for is not None and self._waiting_for > t, timeout
            )
        if not finished:
            raise TimeoutError(f"the engine did not reach t={t} s within {timeout} s")

    def release(self) -> None:
        """Let time run freely (to finish a session)."""
        with self._cond:
            self._limit = math.inf
            self._cond.notify_all()


def make_protocol(
    steps: int = 3,
    duration_s: float = 20.0,
    current_ua: float = 300.0,
    shape: WaveShape = WaveShape.SQUARE,
    frequency_hz: float = 10.0,
    ramp_s: float = 1.0,
    polarity: Polarity = Polarity.ALTERNATING,
    protocol_id: str = "test-protocol",
) -> Protocol:
    """A small valid protocol alternating both cheeks."""
    zones = ["cheek_left", "cheek_right"]
    return checked(
        Protocol(
            id=protocol_id,
            name="Test protocol",
            category="lifting",
            description="A short protocol for tests.",
            steps=tuple(
                Step(
                    zone=zones[i % 2],
                    waveform=Waveform(shape, frequency_hz, current_ua, polarity, 2.0, ramp_s),
                    duration_s=duration_s,
                    technique="Hold both probes still.",
                )
                for i in range(steps)
            ),
            series=RecommendedSeries(2, 10, (4, 6)),
        )
    )
