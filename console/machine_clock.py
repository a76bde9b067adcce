"""The machine's clock mapped onto the console's: where a streamed sample belongs in time.

A stream machine stamps its samples and heartbeats with its own clock (microseconds since it
booted). :class:`MachineClock` turns those stamps into console-clock seconds, so that every
sample carries the moment it was *measured*, however late it reached the console, and judges
whether the machine's clock keeps pace with the console's (an emulator started at another speed
would place every sample at the wrong time).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from console.drivers import DriverError

#: The machine's clock must keep pace with the console's within this fraction, judged after
#: this many seconds of machine time (an emulator started at another speed fails this).
PACE_TOLERANCE = 0.1
PACE_AFTER_S = 2.0
#: ...and at least this much wall time: on a fast clock (an emulator at ×50) two machine seconds
#: are 40 ms, and a few milliseconds a busy computer holds the emulator up would pass for a
#: wrong pace; over two wall seconds they are too little to matter.
PACE_AFTER_WALL_S = 2.0
#: Wall-clock seconds at the start from which the least delayed heartbeat anchors the pace, and
#: of the latest heartbeats from which the least delayed one tells it.
PACE_WINDOW_S = 1.0
PACE_RECENT_S = 2.0


class MachineClock:
    """Maps the machine's time (µs since its boot) onto the console's clock.

    Every heartbeat gives ``console_now - machine_time``: the true offset plus the delay before
    the console read it (the wire, and the reader's turn on a busy computer). The smallest value
    seen is the best estimate (delays are never negative). A machine time that jumps backwards
    means the machine restarted: the estimate starts again. :meth:`freeze` stops refining it, so
    that sample times rise at exactly the machine's rate from then on.

    The pace (machine seconds per console second) is judged from heartbeats whose delay is known
    to be small against the time they span: the reader tells how long a heartbeat can have
    waited for it, and one held up by a busy computer is left out instead of making the machine
    look slow.
    """

    def __init__(self, wall: Callable[[], float] = time.monotonic) -> None:
        self._wall = wall
        self._offset_s: float | None = None
        self._frozen = False
        self._last_machine_us = -1
        # The first second of wall time: its least delayed heartbeat anchors the pace.
        self._first_wall: float | None = None
        #: machine, offset, delay, console now, wall
        self._base: tuple[float, float, float, float, float] | None = None
        #: (wall, offset slope) of late heartbeats
        self._slopes: deque[tuple[float, float]] = deque()
        #: Machine seconds per console second, once two seconds have passed.
        self.pace: float | None = None

    def observe(
        self, machine_us: int, console_now_s: float, delay_bound_s: float | None = None
    ) -> bool:
        """Feed one heartbeat; returns True if the machine's clock went backwards (a restart).

        ``delay_bound_s``: console seconds the heartbeat can at most have waited before it was
        read (``None``: unknown, taken as none).
        """
        restarted = machine_us < self._last_machine_us
        if restarted:
            self._offset_s = None
            self._frozen = False
            self._first_wall = None
            self._base = None
            self._slopes.clear()
            self.pace = None
        self._last_machine_us = machine_us
        machine_s = machine_us / 1e6
        offset = console_now_s - machine_s
        if self._offset_s is None or (offset < self._offset_s and not self._frozen):
            self._offset_s = offset
        self._judge_pace(machine_s, offset, delay_bound_s or 0.0, console_now_s)
        return restarted

    def freeze(self) -> None:
        """Keep the present offset from now on (until the machine restarts)."""
        self._frozen = self._offset_s is not None

    def _judge_pace(self, machine_s: float, offset: float, delay_s: float, now_s: float) -> None:
        wall = self._wall()
        if self._first_wall is None:
            self._first_wall = wall
        if wall - self._first_wall <= PACE_WINDOW_S:
            if self._base is None or offset < self._base[1]:
                self._base = (machine_s, offset, delay_s, now_s, wall)
            return
        assert self._base is not None
        base_machine_s, base_offset, base_delay_s, base_now_s, base_wall = self._base
        span_s = now_s - base_now_s
        if span_s < PACE_AFTER_S or wall - base_wall < PACE_AFTER_WALL_S:
            return
        if machine_s <= base_machine_s:
            return
        if base_delay_s + delay_s > PACE_TOLERANCE / 2 * span_s:
            return  # this heartbeat may have waited too long to tell the pace
        # offset = machine × (1/pace − 1) + constant: its slope gives the pace. A delay only
        # ever raises a slope, so the least slope of the last few seconds is the best estimate
        # (heartbeats held up on the machine's side of the port are passed over too).
        self._slopes.append((wall, (offset - base_offset) / (machine_s - base_machine_s)))
        while self._slopes[0][0] < wall - PACE_RECENT_S:
            self._slopes.popleft()
        slope = min(entry[1] for entry in self._slopes)
        self.pace = 1.0 / (1.0 + slope) if slope > -1.0 else math.inf

    @property
    def synchronised(self) -> bool:
        """True once one heartbeat has been seen."""
        return self._offset_s is not None

    def to_console(self, machine_us: np.ndarray) -> np.ndarray:
        """Console-clock seconds for machine-time microseconds."""
        if self._offset_s is None:
            raise DriverError("the machine's clock is not known yet (no heartbeat)")
        return machine_us.astype(np.float64) / 1e6 + self._offset_s
