"""The simulated client's twitch: once per episode, re-armed when the current comes down."""

from __future__ import annotations

from console.client_reactions import ClientReactions, Reaction
from console.engine.events import Progress, StepStarted
from support import make_protocol

PROTOCOL = make_protocol(steps=2, current_ua=400.0)


def progress(at_s: float, setpoint_ua: float, target_ua: float = 400.0, step: int = 0) -> Progress:
    return Progress(at_s, step, at_s, 20.0 - at_s, 40.0 - at_s, setpoint_ua, target_ua, 5.0)


def test_a_twitch_is_told_once_per_episode_with_where_and_how_much() -> None:
    told: list[Reaction] = []
    client = ClientReactions(PROTOCOL, 300.0, told.append)
    for at, setpoint in [(0.25, 100.0), (0.5, 300.0), (0.75, 320.0), (1.0, 400.0), (1.25, 400.0)]:
        client(progress(at, setpoint))
    assert len(told) == 1
    twitch = told[0]
    assert (twitch.kind, twitch.at_s, twitch.current_ua, twitch.target_ua) == (
        "twitch",
        0.75,
        320.0,
        400.0,
    )
    assert twitch.zone == "cheek_left" and "Cheek, left" in twitch.message
    assert client.twitching


def test_the_current_coming_down_ends_the_episode_and_counts_as_lowered() -> None:
    client = ClientReactions(PROTOCOL, 300.0)
    client(progress(1.0, 400.0))
    assert not client.lowered_after_twitch
    client(progress(1.25, 300.0, target_ua=300.0))
    assert not client.twitching and client.lowered_after_twitch
    client(progress(1.5, 310.0, target_ua=310.0))  # raised again: a second episode
    assert len(client.reactions) == 2
    assert client.judge(("twitch",)) == []


def test_a_new_step_moves_the_probes_and_a_twitch_there_is_a_new_one() -> None:
    client = ClientReactions(PROTOCOL, 300.0)
    client(progress(1.0, 400.0))
    client(StepStarted(1, PROTOCOL.steps[1], 20.0))
    client(progress(20.5, 350.0, step=1))
    assert [r.zone for r in client.reactions] == ["cheek_left", "cheek_right"]


def test_twitching_that_nobody_lowers_is_a_problem_and_no_twitch_is_one_too() -> None:
    client = ClientReactions(PROTOCOL, 300.0)
    assert client.judge(("twitch",)) == ["expected the client to react (twitch), they did not"]
    client(progress(1.0, 400.0))
    client(progress(2.0, 400.0))
    assert client.judge(("twitch",)) == ["the client twitched and the intensity was never lowered"]


def test_at_the_threshold_there_is_no_twitch() -> None:
    client = ClientReactions(PROTOCOL, 300.0)
    client(progress(1.0, 300.0, target_ua=300.0))
    assert client.reactions == [] and not client.twitching
