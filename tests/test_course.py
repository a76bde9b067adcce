"""A client's course of treatments: only sessions delivered in full to a person count, and
sessions closer together than the series allows are pointed out (issue 14, aftercare)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from console.course import course_status
from console.plugins import load_plugins

START = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Session:
    protocol_id: str
    started_at: datetime
    state: str = "finished"
    simulated: bool = False
    protocol_name: str = "Lifting"


@pytest.fixture(scope="module")
def protocols():  # type: ignore[no-untyped-def]
    return load_plugins().protocols


def lifting(days: float, state: str = "finished", simulated: bool = False) -> Session:
    return Session("lifting", START + timedelta(days=days), state, simulated)


def test_a_session_that_did_not_finish_is_not_a_session_of_the_course(protocols) -> None:  # type: ignore[no-untyped-def]
    sessions = [lifting(0), lifting(3.5), lifting(7, "aborted"), lifting(10.5, "stopped")]
    status = course_status(sessions, protocols)
    assert (status.done, status.not_counted) == (2, 2)
    assert status.text == (
        "Lifting: 2 of 10 sessions done (2 a week), then maintenance every 4–6 weeks; "
        "2 that did not finish not counted"
    )
    assert status.warning is None


def test_a_simulation_is_never_a_session_of_the_course(protocols) -> None:  # type: ignore[no-untyped-def]
    status = course_status([lifting(0), lifting(4, simulated=True)], protocols)
    assert status.done == 1 and status.text.startswith("Lifting: 1 of 10 sessions done")
    only_training = course_status([lifting(0, simulated=True)], protocols)
    assert only_training.text == (
        "Course: no sessions on a real machine yet (simulated sessions do not count)."
    )
    assert course_status([], protocols).text == "Course: no sessions yet."


def test_sessions_closer_than_the_series_allows_are_pointed_out(protocols) -> None:  # type: ignore[no-untyped-def]
    twice = course_status([lifting(0), lifting(0 + 1 / 1440)], protocols)  # a minute apart
    assert twice.warning == (
        "The last two sessions were 1 minutes apart; this course spaces them 3.5 days apart "
        "(2 a week). Leave the skin time to rest before the next session."
    )
    assert course_status([lifting(0), lifting(1.5)], protocols).warning is not None  # < 1.75 d
    assert course_status([lifting(0), lifting(2)], protocols).warning is None  # Mon → Wed
    # Only the course's own sessions are compared: a trip the day after does not count.
    tripped = course_status([lifting(0), lifting(1, "aborted")], protocols)
    assert tripped.warning is None


def test_a_course_beyond_its_series_is_complete(protocols) -> None:  # type: ignore[no-untyped-def]
    status = course_status([lifting(3.5 * n) for n in range(11)], protocols)
    assert status.text == (
        "Lifting: 11 sessions — the course of 10 is complete; maintenance every 4–6 weeks"
    )


def test_the_latest_protocol_sets_the_course_and_an_unknown_one_is_said(protocols) -> None:  # type: ignore[no-untyped-def]
    sessions = [lifting(0), Session("toning", START + timedelta(days=4), protocol_name="Toning")]
    assert course_status(sessions, protocols).text.startswith("Toning: 1 of")
    gone = [Session("retired", START, protocol_name="Retired pack")]
    assert "Retired pack, is not installed" in course_status(gone, protocols).text
