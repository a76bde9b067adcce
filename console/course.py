"""Where a client is in a course of treatments, from their recorded sessions (no Qt here).

A course is the protocol's recommended series (``10 sessions, 2 a week, then maintenance…``).
Only sessions that delivered the whole protocol to a person count: one stopped, aborted or
interrupted (an over-current trip 5 s in) is not a session of the course, and neither is a
simulation or an emulated machine (no current reached anyone). Sessions closer together than the
series allows are pointed out: microcurrent is given with rest days between sessions, and a
session repeated by mistake a minute later must not pass unnoticed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol as Shaped

from console.protocols import Protocol

#: Sessions closer than this part of the series' spacing are too close (2 a week: 3.5 days
#: apart, too close under 1.75 days) …
TOO_CLOSE_PART = 0.5
#: … and always under a day.
TOO_CLOSE_AT_LEAST = timedelta(hours=24)


class CourseSession(Shaped):
    """What the course needs of a recorded session (``console.records.store.SessionRow``)."""

    protocol_id: str
    protocol_name: str
    started_at: datetime
    state: str
    simulated: bool


@dataclass(frozen=True, slots=True)
class CourseStatus:
    """A client's course of the protocol of their latest session."""

    text: str  #: one line for the client's record
    done: int = 0  #: sessions of the course delivered in full
    not_counted: int = 0  #: sessions of that protocol that did not finish
    warning: str | None = None  #: sessions too close together, said plainly


def course_status(
    sessions: Sequence[CourseSession], protocols: Mapping[str, Protocol]
) -> CourseStatus:
    """The course of the protocol the client had last (``sessions`` in any order)."""
    treated = [s for s in sessions if not s.simulated]
    if not treated:
        if sessions:  # only practice: say why it does not count, or it reads as a mistake
            return CourseStatus(
                "Course: no sessions on a real machine yet (simulated sessions do not count)."
            )
        return CourseStatus("Course: no sessions yet.")
    latest = max(treated, key=lambda s: s.started_at)
    protocol = protocols.get(latest.protocol_id)
    if protocol is None:
        return CourseStatus(
            f"Course: the last protocol, {latest.protocol_name}, is not installed on this "
            "console; its recommended series is unknown."
        )
    series = protocol.series
    same = [s for s in treated if s.protocol_id == latest.protocol_id]
    done = sorted((s for s in same if s.state == "finished"), key=lambda s: s.started_at)
    not_counted = len(same) - len(done)
    low, high = series.maintenance_every_weeks
    weeks = f"{low}" if low == high else f"{low}–{high}"
    if len(done) > series.sessions:
        text = (
            f"{protocol.name}: {len(done)} sessions — the course of {series.sessions} is "
            f"complete; maintenance every {weeks} weeks"
        )
    else:
        text = (
            f"{protocol.name}: {len(done)} of {series.sessions} sessions done "
            f"({series.sessions_per_week:g} a week), then maintenance every {weeks} weeks"
        )
    if not_counted:
        text += f"; {not_counted} that did not finish not counted"
    warning = _too_close(done, series.sessions_per_week)
    return CourseStatus(text, len(done), not_counted, warning)


def _too_close(done: Sequence[CourseSession], per_week: float) -> str | None:
    """A warning when the last two sessions of the course were closer than the series allows."""
    if len(done) < 2:
        return None
    spacing = timedelta(days=7 / per_week)
    shortest = max(spacing * TOO_CLOSE_PART, TOO_CLOSE_AT_LEAST)
    gap = done[-1].started_at - done[-2].started_at
    if gap >= shortest:
        return None
    return (
        f"The last two sessions were {_span(gap)} apart; this course spaces them "
        f"{_span(spacing)} apart ({per_week:g} a week). Leave the skin time to rest before the "
        "next session."
    )


def _span(gap: timedelta) -> str:
    """``3.5 days``, ``5 hours``, ``12 minutes``."""
    seconds = gap.total_seconds()
    if seconds >= 86400:
        return f"{seconds / 86400:.1f}".rstrip("0").rstrip(".") + " days"
    if seconds >= 3600:
        return f"{seconds / 3600:.0f} hours"
    return f"{max(1, round(seconds / 60))} minutes"
