"""Training scenarios: the shipped ones play to their end headless with the events they promise;
broken scenario files each get their own clear error and do not stop the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from console import cli
from console.engine.clock import VirtualClock
from console.plugins import load_plugins
from console.scenarios import OUTCOMES, ScenarioError, load_scenarios, parse_scenario
from console.simulation import ClientSkin, SimulatedFault
from device_drivers.simulator import SimulatedMachine
from device_drivers.skin import SkinType
from support import make_protocol

SHIPPED = [
    "calm-session",
    "disconnect",
    "drying-gel",
    "over-current",
    "pacemaker",
    "probe-lift",
    "sensitive-client",
]

pytestmark = pytest.mark.timeout(120)


def test_six_scenarios_are_shipped_and_valid() -> None:
    scenarios, problems = load_scenarios()
    assert problems == []
    assert sorted(scenarios) == SHIPPED
    covered = {s.expect_outcome for s in scenarios.values()} | {
        event for s in scenarios.values() for event in s.expect_events
    }
    # contact loss, disconnect (watchdog), over-current, a contraindication, a calm session
    assert {"contact_lost", "watchdog", "over_current", "refused", "finished"} <= covered
    assert scenarios["drying-gel"].faults[0].name == "gel_dry"
    assert scenarios["pacemaker"].contraindications == ("implanted_electronics",)


@pytest.mark.parametrize("scenario_id", SHIPPED)
def test_each_shipped_scenario_plays_as_designed(
    scenario_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli.main(["run", "--scenario", scenario_id, "--speed", "max"])
    out = capsys.readouterr().out
    assert "Teaching goal:" in out
    assert "Events the trainee had to handle:" in out
    assert out.rstrip().endswith("played as designed (outcome: " + _outcome(scenario_id) + ").")
    assert status == 0


def _outcome(scenario_id: str) -> str:
    scenarios, _ = load_scenarios()
    return scenarios[scenario_id].expect_outcome


def test_a_scenario_that_does_not_play_as_designed_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "calm-session.toml").write_text(
        'title = "Promises a contact loss that never comes"\ngoal = "g"\ntrainee_action = "t"\nprotocol = "toning"\n'
        '[expect]\noutcome = "finished"\nevents = ["contact_lost"]\n'
    )
    status = cli.main(
        ["run", "--scenario", "calm-session", "--speed", "max", "--scenarios-dir", str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert status == 1
    assert (
        "did NOT play as designed: expected safety events that did not happen: contact_lost" in out
    )


BROKEN = {
    "bad-toml": ('title = "x\ngoal = "y"\n', "not valid TOML", "line 1"),
    "missing": (
        'title = "x"\ngoal = "y"\ntrainee_action = "z"\n[expect]\n',
        "missing field 'protocol'",
        "",
    ),
    "unknown-fault": (
        'title = "x"\ngoal = "y"\ntrainee_action = "z"\nprotocol = "toning"\nfaults = ["probe_fell@10"]\n[expect]\n',
        "unknown fault 'probe_fell'",
        "contact_loss",
    ),
    "bad-time": (
        'title = "x"\ngoal = "y"\ntrainee_action = "z"\nprotocol = "toning"\nfaults = ["contact_loss@soon"]\n[expect]\n',
        "is not a time",
        "",
    ),
    "unknown-condition": (
        'title = "x"\ngoal = "y"\ntrainee_action = "z"\nprotocol = "toning"\ncontraindications = ["flu"]\n[expect]\n',
        "unknown contraindication 'flu'",
        "implanted_electronics",
    ),
    "bad-outcome": (
        'title = "x"\ngoal = "y"\ntrainee_action = "z"\nprotocol = "toning"\n[expect]\noutcome = "great"\n',
        "expect.outcome 'great' is not one of " + ", ".join(OUTCOMES),
        "",
    ),
    "bad-event": (
        'title = "x"\ngoal = "y"\ntrainee_action = "z"\nprotocol = "toning"\n[expect]\nevents = ["sparks"]\n',
        "expect.events: 'sparks' is not a safety event",
        "",
    ),
    "unknown-client-field": (
        'title = "x"\ngoal = "y"\ntrainee_action = "z"\nprotocol = "toning"\n[client]\nfreckles = 3\n[expect]\n',
        "client.freckles is not a client field",
        "twitch_above_ua",
    ),
    "twitch-out-of-range": (
        'title = "x"\ngoal = "y"\ntrainee_action = "z"\nprotocol = "toning"\n[client]\ntwitch_above_ua = 2000\n[expect]\n',
        "client.twitch_above_ua must be a number from 10 to 1000, got 2000",
        "",
    ),
    "unknown-reaction": (
        'title = "x"\ngoal = "y"\ntrainee_action = "z"\nprotocol = "toning"\n[expect]\nreactions = ["giggle"]\n',
        "expect.reactions: 'giggle' is not a client reaction (twitch)",
        "",
    ),
    "twitch-without-threshold": (
        'title = "x"\ngoal = "y"\ntrainee_action = "z"\nprotocol = "toning"\n[expect]\nreactions = ["twitch"]\n',
        "client.twitch_above_ua is not set",
        "",
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_each_broken_scenario_gets_its_own_clear_error(name: str) -> None:
    text, reason, detail = BROKEN[name]
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(text, name, f"{name}.toml")
    message = str(refused.value)
    assert message.startswith(f"{name}.toml: ")
    assert reason in message and detail in message


def test_a_broken_file_does_not_stop_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.toml").write_text(BROKEN["unknown-fault"][0])
    (tmp_path / "mine.toml").write_text(
        'title = "Mine"\ngoal = "g"\ntrainee_action = "t"\nprotocol = "circulation"\n[expect]\n'
    )
    scenarios, problems = load_scenarios(tmp_path)
    assert "mine" in scenarios and set(SHIPPED) <= set(scenarios)
    assert len(problems) == 1 and "broken.toml" in problems[0]
    status = cli.main(["scenarios", "--scenarios-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 1
    assert "mine" in out and "broken scenario file:" in out


def test_an_unknown_scenario_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["run", "--scenario", "nosuch", "--speed", "max"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.strip().startswith("mc-console: error: unknown scenario 'nosuch'; known scenarios:")


def test_the_sensitive_client_has_her_own_skin_and_threshold() -> None:
    scenarios, _ = load_scenarios()
    sensitive = scenarios["sensitive-client"]
    assert sensitive.twitch_above_ua == 300.0
    assert sensitive.skin is not None and sensitive.skin.skin_type is SkinType.OILY
    assert sensitive.expect_reactions == ("twitch",)
    assert scenarios["calm-session"].skin is None
    assert scenarios["calm-session"].client_reactions(make_protocol()) is None


def test_the_scripted_operator_lowers_a_twitching_current_to_the_threshold(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = cli.main(["run", "--scenario", "sensitive-client", "--speed", "max"])
    out = capsys.readouterr().out
    assert status == 0
    # She twitches once, on the first zone above her threshold: from then on no zone runs
    # above the level the trainee chose, and zones set lower keep their own setting.
    assert out.count("CLIENT: The client's muscle twitches visibly") == 1
    table = out.split("zone ", 1)[1]
    rows = {
        line[:24].strip(): line.split()
        for line in table.splitlines()
        if line.startswith(("Cheek", "Jawline"))
    }
    # Square pulses at 50 % duty: the mean |i| is half the peak. Lowered to 300 µA peak.
    for zone in ("Cheek, right", "Cheek, left", "Jawline, right", "Jawline, left"):
        mean_ua = float(rows[zone][-4].replace(",", ""))
        assert 140 <= mean_ua <= 151, (zone, mean_ua)


def test_a_scenario_expecting_a_twitch_that_nobody_lowers_does_not_pass() -> None:
    scenarios, _ = load_scenarios()
    sensitive = scenarios["sensitive-client"]
    reactions = sensitive.client_reactions(make_protocol(current_ua=400.0))
    assert reactions is not None
    problems = sensitive.judge("finished", None, None)
    assert "the client's reactions were not watched" in problems
    assert "expected the client to react (twitch), they did not" in sensitive.judge(
        "finished", None, reactions
    )


def test_the_list_names_the_client_reactions_a_scenario_expects(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["scenarios"]) == 0
    row = next(
        line for line in capsys.readouterr().out.splitlines() if line.startswith("sensitive")
    )
    assert "client twitch" in row


# -- what a scenario gives the simulated machine -----------------------------------------------


CLIENT_SCENARIO = (
    'title = "x"\ngoal = "y"\ntrainee_action = "z"\nprotocol = "toning"\n'
    'faults = ["gel_dry@10"]\n[client]\nskin_type = "dry"\nskin_resistance_ohm_cm2 = 45000\n'
    "[expect]\n"
)


def test_a_scenario_client_s_skin_reaches_the_simulated_machine_through_its_factory() -> None:
    """The scenario's ClientSkin is the simulator plugin's ``skin`` option; the console knows
    the simulator only as a registered driver."""
    scenario = parse_scenario(CLIENT_SCENARIO, "dry", "dry.toml")
    assert scenario.skin == ClientSkin(SkinType.DRY, 45_000.0)
    info = next(info for info in load_plugins().drivers.values() if info.simulated)
    machine = info.factory(clock=VirtualClock(), skin=scenario.skin)
    assert isinstance(machine, SimulatedMachine)
    assert machine.skin.params.skin_type is SkinType.DRY
    assert machine.skin.params.soaked_ohm_cm2 == 45_000.0
    assert scenario.skin.describe() == "dry skin, 45 kΩ·cm² once the gel has soaked in"


def test_the_faults_a_scenario_plans_are_the_simulated_machine_s() -> None:
    machine = SimulatedMachine(VirtualClock())
    assert machine.fault_names == tuple(fault.value for fault in SimulatedFault)


def test_a_client_skin_outside_the_published_range_is_refused_in_one_sentence() -> None:
    with pytest.raises(
        ValueError, match=r"^a skin resistance of 5000 Ω·cm² is outside the published"
    ):
        ClientSkin(SkinType.OILY, 5_000.0)
    assert ClientSkin(SkinType.OILY).soaked_ohm_cm2 == 12_000.0
