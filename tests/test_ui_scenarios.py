"""Playing a training scenario in the window: the trainee handles it, the window debriefs it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from console.drivers import Transport
from console.engine.clock import TrainerClock
from console.engine.events import EngineState
from console.faults import FaultSpec
from console.operator_actions import OperatorAction
from console.plugins import load_plugins
from console.scenarios import Scenario, load_scenarios
from console.session import Console
from console.ui.app import make_application
from console.ui.scenario_dialog import ScenarioDialog, describe_scenario
from console.workflow import Stage
from device_drivers.skin import SkinParameters, SkinType
from support import make_protocol

pytestmark = pytest.mark.timeout(60)

#: Two 10-second steps: a probe lifts 3 s into the session for 2 s.
SHORT_LIFT = Scenario(
    id="short-lift",
    title="A probe lifts early",
    goal="Resume after contact loss.",
    trainee_action="Put the probe back on gelled skin, then resume.",
    protocol="test-protocol",
    faults=(FaultSpec("contact_loss", 3.0, 2.0),),
    contraindications=(),
    resume_after_s=None,
    expect_outcome="finished",
    expect_events=("contact_lost",),
    impedance_above_kohm=None,
    source="test",
)


@pytest.fixture
def window(open_window):
    host = load_plugins()
    host.protocols["test-protocol"] = make_protocol(steps=2, duration_s=10.0)
    host.protocols["long-protocol"] = make_protocol(
        steps=2, duration_s=480.0, current_ua=200.0, protocol_id="long-protocol"
    )
    host.drivers["bench"] = replace(
        host.drivers["simulator"], id="bench", simulated=False, transport=Transport.SERIAL
    )
    return open_window(Console(host))


def test_a_scenario_connects_the_simulator_and_prepares_its_client(window) -> None:
    window.console.connect("bench")  # a real machine is never used for a scenario
    window.show_connection(window.console.connection)
    assert window.play_scenario(SHORT_LIFT)
    assert window.console.connection.info.id == "simulator"
    assert isinstance(window.console.time_control, TrainerClock)
    assert window.time_control.isVisible()
    assert window.scenario is SHORT_LIFT
    assert window.scenario_label.isVisible()
    assert "A probe lifts early" in window.scenario_label.text()
    assert window.visit.stage is Stage.APPLICATION
    assert window.workflow.application.protocol.id == "test-protocol"


def test_the_trainee_resumes_after_the_probe_lift_and_the_debrief_says_so(qtbot, window) -> None:
    window.play_scenario(SHORT_LIFT)
    window.time_control.set_speed(30.0)
    window.start_session()
    engine = window.engine
    qtbot.waitUntil(lambda: engine.state is EngineState.PAUSED, timeout=10_000)
    assert engine.safety_events[-1].kind.value == "contact_lost"
    qtbot.waitUntil(lambda: window.console.clock.now() - engine.summary().started_at_s > 5.5)
    window.resume()  # the probe is back on the skin (the fault lasted 2 s)
    qtbot.waitUntil(lambda: engine.state.terminal, timeout=10_000)
    qtbot.waitUntil(lambda: "Scenario debrief" in window.alert.text(), timeout=5000)
    assert "played as designed" in window.alert.text()
    assert window.alert.property("level") == "ok"


def test_a_trainee_who_stops_instead_gets_the_difference(qtbot, window) -> None:
    window.play_scenario(SHORT_LIFT)
    window.time_control.set_speed(30.0)
    window.start_session()
    engine = window.engine
    qtbot.waitUntil(lambda: engine.state is EngineState.PAUSED, timeout=10_000)
    window.stop_session()
    qtbot.waitUntil(lambda: "Scenario debrief" in window.alert.text(), timeout=5000)
    assert "expected the session to end finished, it ended aborted" in window.alert.text()
    assert window.alert.property("level") == "warning"


def test_the_pacemaker_scenario_stops_at_consultation(window) -> None:
    scenarios, _ = load_scenarios()
    window.play_scenario(scenarios["pacemaker"])
    assert window.visit.stage is Stage.CONSULTATION
    yes, _no = window.workflow.consultation.answers["implanted_electronics"]
    assert yes.isChecked()
    assert window.alert.property("level") == "danger"
    window.start_session()
    assert window.engine is None  # the application stage is refused
    assert any("Application cannot start" in title for title, _ in window.dialogs)


def test_a_new_client_ends_the_scenario(window) -> None:
    window.play_scenario(SHORT_LIFT)
    window.new_client()
    assert window.scenario is None
    assert not window.scenario_label.isVisible()


def test_a_scenario_needing_a_missing_protocol_is_refused(window) -> None:
    assert not window.play_scenario(replace(SHORT_LIFT, protocol="no-such-protocol"))
    assert window.scenario is None
    assert "no-such-protocol" in window.dialogs[-1][1]


def test_the_picker_lists_every_scenario_and_broken_files_cannot_be_played(
    qtbot, tmp_path: Path
) -> None:
    make_application()
    (tmp_path / "broken.toml").write_text('title = "unclosed\n', encoding="utf-8")
    dialog = ScenarioDialog(tmp_path)
    qtbot.addWidget(dialog)
    shipped, _ = load_scenarios()
    titles = [dialog.list.item(i).text() for i in range(dialog.list.count())]
    assert [t for t in titles if not t.startswith("⚠")] == [s.title for s in shipped.values()]
    assert titles[-1] == "⚠ broken file: " + str(tmp_path / "broken.toml")
    dialog.list.setCurrentRow(len(titles) - 1)
    assert dialog.chosen() is None
    assert not dialog.play_button.isEnabled()
    assert "not valid TOML" in dialog.details.toPlainText()
    dialog.list.setCurrentRow(0)
    assert dialog.chosen() is not None and dialog.play_button.isEnabled()


def test_the_description_gives_the_goal_the_timeline_and_the_expectation() -> None:
    scenarios, _ = load_scenarios()
    text = describe_scenario(scenarios["probe-lift"])
    assert scenarios["probe-lift"].goal in text
    assert "at 4:10: contact loss for 8 s" in text
    assert "<i>finished</i>" in text and "contact lost" in text
    sensitive = describe_scenario(scenarios["sensitive-client"])
    assert (
        "muscles twitch visibly above 300 µA" in sensitive and "oily skin, 12 kΩ·cm²" in sensitive
    )
    assert "lower the intensity when the client twitches" in sensitive
    assert "client twitch" in sensitive
    pacemaker = describe_scenario(scenarios["pacemaker"])
    assert "The client answers yes to" in pacemaker and "Pacemaker" in pacemaker


SENSITIVE = replace(
    SHORT_LIFT,
    id="short-sensitive",
    title="A sensitive client",
    faults=(),
    skin=SkinParameters(skin_type=SkinType.OILY),
    twitch_above_ua=250.0,
    expect_events=(),
    expect_reactions=("twitch",),
    impedance_below_kohm=20.0,
)


def test_the_client_twitches_and_the_trainee_lowers_the_intensity(qtbot, window) -> None:
    window.play_scenario(SENSITIVE)
    machine = window.console.driver
    assert machine.skin.params.skin_type is SkinType.OILY  # the scenario client's own skin
    window.time_control.set_speed(30.0)
    window.start_session()
    engine = window.engine
    qtbot.waitUntil(
        lambda: "Client: The client's muscle twitches" in window.alert.text(), timeout=10_000
    )
    assert window.alert.property("level") == "warning"
    for _ in range(6):  # 300 µA (the test protocol's) down to 240 µA
        window.adjust_intensity(-10.0)
    qtbot.waitUntil(lambda: engine.state.terminal, timeout=10_000)
    qtbot.waitUntil(lambda: "Scenario debrief" in window.alert.text(), timeout=5000)
    assert "played as designed" in window.alert.text()
    assert "client twitch" in window.alert.text()


def test_a_scenario_visit_never_starts_on_a_real_machine(window) -> None:
    window.play_scenario(SHORT_LIFT)
    window.console.connect("bench")  # the trainer switched machines after choosing it
    window.show_connection(window.console.connection)
    window.start_session()
    assert window.engine is None
    assert window.dialogs[-1][0] == "The treatment cannot start"
    assert "simulated machine only" in window.dialogs[-1][1]


def test_no_scenario_while_a_machine_is_being_connected(window) -> None:
    window._connecting = True  # a connect worker is still opening a port
    assert not window.play_scenario(SHORT_LIFT)
    assert window.scenario is None
    assert window.console.connection is None


DRYING = replace(
    SHORT_LIFT,
    id="short-drying",
    title="Gel dries",
    trainee_action="Re-apply gel when asked, then resume.",
    faults=(FaultSpec("gel_dry", 1.0),),
    expect_events=("contact_high",),
    expect_actions=(OperatorAction.REAPPLY_GEL, OperatorAction.RESUME),
)


def test_the_trainee_reapplies_gel_with_the_button_and_the_debrief_sees_it(qtbot, window) -> None:
    window.play_scenario(replace(DRYING, protocol="long-protocol"))
    window.time_control.set_speed(120.0)
    window.start_session()
    engine = window.engine
    qtbot.waitUntil(lambda: "Contact is getting poor" in window.alert.text(), timeout=20_000)
    assert window.alert.property("level") == "warning"
    assert window.controls.gel_button.isEnabled()
    window.controls.gel_button.click()
    qtbot.waitUntil(lambda: engine.state is EngineState.PAUSED, timeout=5000)
    # The engine's state changes at once; its event reaches the window through the event loop.
    qtbot.waitUntil(lambda: "Re-applying gel" in window.alert.text(), timeout=5000)
    window.resume()
    qtbot.waitUntil(lambda: engine.state.terminal, timeout=20_000)
    qtbot.waitUntil(lambda: "Scenario debrief" in window.alert.text(), timeout=5000)
    assert "played as designed" in window.alert.text(), window.alert.text()


def test_after_a_disconnect_the_debrief_waits_for_the_probes_lifted_and_the_machine_off(
    qtbot, window
) -> None:
    scenario = replace(
        SHORT_LIFT,
        id="short-disconnect",
        faults=(FaultSpec("disconnect", 3.0),),
        expect_outcome="interrupted",
        expect_events=("watchdog",),
        expect_actions=(OperatorAction.SECURE_MACHINE,),
    )
    window.play_scenario(scenario)
    window.time_control.set_speed(5.0)
    window.start_session()
    engine = window.engine
    qtbot.waitUntil(lambda: engine.state.terminal, timeout=20_000)
    qtbot.waitUntil(lambda: window.controls.secure_button.isVisible(), timeout=5000)
    assert "Scenario debrief" not in window.alert.text()
    assert "switch the machine off at its power switch" in window.alert.text()
    machine = window.console.driver
    window.controls.secure_button.click()
    assert machine.switched_off and machine.skin.contact.value == "lifted"
    assert "Scenario debrief" in window.alert.text()
    assert "played as designed" in window.alert.text(), window.alert.text()
    assert not window.controls.secure_button.isVisible()
