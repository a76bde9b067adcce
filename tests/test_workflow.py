"""The visit workflow (``console/workflow.py``) and the face map's zone states (``zone_progress``).

A visit goes consultation → cleansing → application → moisturization → follow-up, and may only
move forward when nothing blocks the next stage; each blocker is a sentence for the operator.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from console.engine.clock import SteppedClock
from console.engine.events import EngineState, EventLog, SessionSummary, StepDelivery
from console.engine.runner import TreatmentEngine
from console.protocols import Protocol, RecommendedSeries, Step, checked
from console.screening import Screening, contraindications
from console.waveforms import Polarity, Waveform, WaveShape
from console.workflow import (
    CLEANSING_CHECKLIST,
    MOISTURIZATION_CHECKLIST,
    Client,
    ObservedReaction,
    Reaction,
    ReactionDuration,
    ReactionSeverity,
    Stage,
    Visit,
    WorkflowError,
)
from console.zone_progress import ZoneState, zone_states
from console.zones import zone_catalog
from device_drivers.simulator import SimulatedMachine
from support import make_protocol

#: The common, expected reaction, as a practitioner records it.
REDNESS = ObservedReaction(Reaction.REDNESS, ReactionSeverity.MILD, ReactionDuration.MINUTES)

EngineFactory = Callable[..., tuple[TreatmentEngine, SimulatedMachine, EventLog]]


def summary(state: EngineState = EngineState.FINISHED) -> SessionSummary:
    """A one-step session summary, as the engine hands it to the application stage."""
    delivery = StepDelivery(
        0,
        "cheek_left",
        20.0,
        20.0 if state is EngineState.FINISHED else 8.0,
        300.0,
        6000.0,
        7.5,
        state is EngineState.FINISHED,
    )
    return SessionSummary(state, "test", (delivery,), (), delivery.time_under_current_s)


def consulted_visit() -> Visit:
    """A named client, screened clear, consent recorded: ready for cleansing."""
    visit = Visit(Client("Maria Rossi", goals="firmer jawline"), practitioner="Anna")
    visit.screening = Screening.all_clear(screened_by="Anna")
    visit.record_consent("Maria Rossi")
    return visit


def cleansed_visit() -> Visit:
    visit = consulted_visit()
    visit.go_to(Stage.CLEANSING)
    for item in CLEANSING_CHECKLIST:
        visit.check(Stage.CLEANSING, item)
    return visit


def applied_visit() -> Visit:
    visit = cleansed_visit()
    visit.go_to(Stage.APPLICATION)
    visit.record_application(summary())
    return visit


def future(days: int = 14) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


# -- stages ------------------------------------------------------------------------------------


def test_the_five_stages_in_order_with_titles() -> None:
    assert list(Stage) == [
        Stage.CONSULTATION,
        Stage.CLEANSING,
        Stage.APPLICATION,
        Stage.MOISTURIZATION,
        Stage.FOLLOW_UP,
    ]
    assert [stage.value for stage in Stage] == [0, 1, 2, 3, 4]
    assert [stage.title for stage in Stage] == [
        "Consultation",
        "Cleansing",
        "Application",
        "Moisturization",
        "Follow-up",
    ]
    assert Stage.CONSULTATION < Stage.CLEANSING < Stage.APPLICATION
    assert Stage.APPLICATION < Stage.MOISTURIZATION < Stage.FOLLOW_UP


def test_a_new_visit_starts_at_consultation_with_nothing_recorded() -> None:
    visit = Visit(Client("Maria Rossi"), practitioner="Anna")
    assert visit.stage is Stage.CONSULTATION
    assert visit.blockers(Stage.CONSULTATION) == []
    assert visit.consent_by is None and visit.application is None
    assert visit.cleansing == dict.fromkeys(CLEANSING_CHECKLIST, False)
    assert visit.moisturization == dict.fromkeys(MOISTURIZATION_CHECKLIST, False)
    assert visit.follow_up.reactions == ()
    assert visit.follow_up.recorded_at is None


def test_walk_through_all_five_stages() -> None:
    visit = applied_visit()
    visit.go_to(Stage.MOISTURIZATION)
    for item in MOISTURIZATION_CHECKLIST:
        visit.check(Stage.MOISTURIZATION, item)
    visit.go_to(Stage.FOLLOW_UP)
    assert visit.stage is Stage.FOLLOW_UP
    assert all(visit.blockers(stage) == [] for stage in Stage)


# -- blockers ----------------------------------------------------------------------------------


def test_cleansing_blocked_on_an_empty_visit_lists_name_screening_and_consent() -> None:
    visit = Visit(Client("   "), practitioner="Anna")
    reasons = visit.blockers(Stage.CLEANSING)
    assert reasons[0] == "the client's name is missing"
    assert reasons[-1] == "the client's consent is not recorded"
    assert reasons[1].startswith("date of birth not given")
    unanswered = reasons[2:-1]
    assert len(unanswered) == len(contraindications())
    assert all(reason.startswith("not answered: ") for reason in unanswered)


def test_go_to_a_blocked_stage_raises_with_every_reason_and_stays() -> None:
    visit = Visit(Client(""), practitioner="Anna")
    with pytest.raises(WorkflowError) as caught:
        visit.go_to(Stage.CLEANSING)
    message = str(caught.value)
    assert message.startswith("Cleansing cannot start: the client's name is missing; ")
    assert "not answered: Pacemaker" in message
    assert message.endswith("the client's consent is not recorded")
    assert visit.stage is Stage.CONSULTATION


def test_missing_consent_alone_blocks_cleansing() -> None:
    visit = Visit(Client("Maria Rossi"), practitioner="Anna")
    visit.screening = Screening.all_clear()
    assert visit.blockers(Stage.CLEANSING) == ["the client's consent is not recorded"]
    visit.record_consent("  Maria Rossi ")
    assert visit.consent_by == "Maria Rossi"
    assert visit.consent_at is not None and visit.consent_at.tzinfo is not None
    assert visit.blockers(Stage.CLEANSING) == []


def test_consent_must_name_who_gave_it() -> None:
    visit = Visit(Client("Maria Rossi"), practitioner="Anna")
    with pytest.raises(WorkflowError, match="consent must name who gave it"):
        visit.record_consent("  ")
    assert visit.consent_by is None


def test_an_absolute_contraindication_blocks_with_the_screening_reason() -> None:
    visit = consulted_visit()
    visit.screening.answer("implanted_electronics", True)
    item = contraindications()["implanted_electronics"]
    assert visit.blockers(Stage.CLEANSING) == [
        f"absolute contraindication: {item.question} — {item.why}"
    ]
    with pytest.raises(WorkflowError, match="Cleansing cannot start: absolute contraindication"):
        visit.go_to(Stage.CLEANSING)
    assert visit.stage is Stage.CONSULTATION


def test_a_relative_contraindication_blocks_until_overridden() -> None:
    visit = consulted_visit()
    visit.screening.answer("metal_implants", True)
    assert visit.blockers(Stage.CLEANSING) == [
        "relative contraindication needs a professional override: "
        + contraindications()["metal_implants"].question
    ]
    visit.screening.override("metal_implants", "Dental implant; probes kept off the jaw", "Anna")
    visit.go_to(Stage.CLEANSING)
    assert visit.stage is Stage.CLEANSING


def test_application_blocked_until_the_cleansing_checklist_is_done() -> None:
    visit = consulted_visit()
    visit.go_to(Stage.CLEANSING)
    assert visit.blockers(Stage.APPLICATION) == [
        "cleansing not finished: " + "; ".join(CLEANSING_CHECKLIST)
    ]
    for item in CLEANSING_CHECKLIST[:-1]:
        visit.check(Stage.CLEANSING, item)
    assert visit.blockers(Stage.APPLICATION) == [
        f"cleansing not finished: {CLEANSING_CHECKLIST[-1]}"
    ]
    with pytest.raises(WorkflowError, match="Application cannot start: cleansing not finished"):
        visit.go_to(Stage.APPLICATION)
    assert visit.stage is Stage.CLEANSING
    visit.check(Stage.CLEANSING, CLEANSING_CHECKLIST[-1])
    visit.go_to(Stage.APPLICATION)
    assert visit.stage is Stage.APPLICATION


def test_unticking_an_item_blocks_again() -> None:
    visit = cleansed_visit()
    visit.check(Stage.CLEANSING, CLEANSING_CHECKLIST[1], done=False)
    assert visit.blockers(Stage.APPLICATION) == [
        f"cleansing not finished: {CLEANSING_CHECKLIST[1]}"
    ]


def test_moisturization_blocked_until_the_application_ran() -> None:
    visit = cleansed_visit()
    visit.go_to(Stage.APPLICATION)
    assert visit.blockers(Stage.MOISTURIZATION) == ["the application stage has not run"]
    with pytest.raises(WorkflowError, match="Moisturization cannot start: the application"):
        visit.go_to(Stage.MOISTURIZATION)
    visit.record_application(summary())
    visit.go_to(Stage.MOISTURIZATION)
    assert visit.stage is Stage.MOISTURIZATION


def test_follow_up_blocked_until_the_moisturization_checklist_is_done() -> None:
    visit = applied_visit()
    visit.go_to(Stage.MOISTURIZATION)
    assert visit.blockers(Stage.FOLLOW_UP) == [
        "moisturization not finished: " + "; ".join(MOISTURIZATION_CHECKLIST)
    ]
    with pytest.raises(WorkflowError, match="Follow-up cannot start: moisturization not"):
        visit.go_to(Stage.FOLLOW_UP)
    assert visit.stage is Stage.MOISTURIZATION


def test_skipping_ahead_collects_the_blockers_of_every_stage_in_between() -> None:
    visit = consulted_visit()
    reasons = visit.blockers(Stage.FOLLOW_UP)
    assert reasons == [
        "cleansing not finished: " + "; ".join(CLEANSING_CHECKLIST),
        "the application stage has not run",
        "moisturization not finished: " + "; ".join(MOISTURIZATION_CHECKLIST),
    ]
    with pytest.raises(WorkflowError):
        visit.go_to(Stage.APPLICATION)
    assert visit.stage is Stage.CONSULTATION


def test_checklist_entries_are_checked() -> None:
    visit = consulted_visit()
    with pytest.raises(WorkflowError, match="'Shaved' is not on the cleansing checklist"):
        visit.check(Stage.CLEANSING, "Shaved")
    with pytest.raises(WorkflowError, match="Application has no checklist"):
        visit.check(Stage.APPLICATION, CLEANSING_CHECKLIST[0])
    with pytest.raises(WorkflowError, match="not on the moisturization checklist"):
        visit.check(Stage.MOISTURIZATION, CLEANSING_CHECKLIST[0])
    assert not any(visit.cleansing.values())


def test_going_back_is_allowed_but_application_never_runs_twice() -> None:
    visit = applied_visit()
    visit.go_to(Stage.MOISTURIZATION)
    visit.go_to(Stage.CONSULTATION)
    assert visit.stage is Stage.CONSULTATION
    with pytest.raises(WorkflowError, match="already run in this visit"):
        visit.go_to(Stage.APPLICATION)
    assert visit.stage is Stage.CONSULTATION
    visit.go_to(Stage.MOISTURIZATION)
    assert visit.stage is Stage.MOISTURIZATION


def test_staying_in_application_after_it_ran_is_allowed() -> None:
    visit = applied_visit()
    visit.go_to(Stage.APPLICATION)
    assert visit.stage is Stage.APPLICATION


@pytest.mark.parametrize(
    ("state", "clean"),
    [
        (EngineState.FINISHED, True),
        (EngineState.ABORTED, False),
        (EngineState.INTERRUPTED, False),
    ],
)
def test_application_ended_cleanly_only_when_finished(state: EngineState, clean: bool) -> None:
    visit = cleansed_visit()
    assert visit.application_ended_cleanly is False
    visit.go_to(Stage.APPLICATION)
    visit.record_application(summary(state))
    assert visit.application_ended_cleanly is clean
    # An aborted application still counts as run: moisturization may follow.
    assert visit.blockers(Stage.MOISTURIZATION) == []


# -- follow-up ---------------------------------------------------------------------------------


def test_redness_and_the_next_appointment_are_recorded() -> None:
    visit = applied_visit()
    when = future()
    visit.record_follow_up([REDNESS], "  Mild redness, gone after 20 min \n", when)
    assert visit.follow_up.reactions == (REDNESS,)
    assert visit.follow_up.notes == "Mild redness, gone after 20 min"
    assert visit.follow_up.next_appointment == when
    assert visit.follow_up.recorded_at is not None


def test_several_reactions_are_recorded_and_copied() -> None:
    visit = applied_visit()
    tingling = ObservedReaction(Reaction.TINGLING, ReactionSeverity.MILD, ReactionDuration.DURING)
    taste = ObservedReaction(
        Reaction.METALLIC_TASTE, ReactionSeverity.MILD, ReactionDuration.DURING
    )
    reactions = [taste, tingling]
    visit.record_follow_up(reactions, "", None)
    reactions.append(REDNESS)
    assert visit.follow_up.reactions == (tingling, taste)  # in the list's order
    assert visit.follow_up.next_appointment is None


def test_a_reaction_without_its_severity_and_duration_is_refused() -> None:
    visit = applied_visit()
    with pytest.raises(WorkflowError, match="record how strong the reaction was and how long"):
        visit.record_follow_up([Reaction.REDNESS], "", None)  # type: ignore[list-item]
    assert visit.follow_up.recorded_at is None


def test_the_same_reaction_twice_is_refused() -> None:
    visit = applied_visit()
    stronger = ObservedReaction(
        Reaction.REDNESS, ReactionSeverity.MODERATE, ReactionDuration.STILL_PRESENT
    )
    with pytest.raises(WorkflowError, match="redness recorded twice"):
        visit.record_follow_up([REDNESS, stronger], "", None)


def test_no_reaction_is_recorded_as_an_empty_list() -> None:
    visit = applied_visit()
    visit.record_follow_up([], "fine", None)
    assert visit.follow_up.reactions == ()
    assert visit.follow_up.recorded_at is not None


def test_a_reaction_still_present_at_the_end_is_told_apart() -> None:
    visit = applied_visit()
    lasting = ObservedReaction(
        Reaction.IRRITATION, ReactionSeverity.MODERATE, ReactionDuration.STILL_PRESENT
    )
    visit.record_follow_up([REDNESS, lasting], "", None)
    assert visit.follow_up.lingering == (lasting,)
    assert lasting.describe() == "irritation — moderate, still present at the end of the visit"


def test_a_next_appointment_in_the_past_is_refused() -> None:
    visit = applied_visit()
    visit.record_follow_up([], "fine", future())
    with pytest.raises(WorkflowError, match="must be in the future"):
        visit.record_follow_up([REDNESS], "later", datetime.now(UTC) - timedelta(hours=1))
    assert visit.follow_up.reactions == ()
    assert visit.follow_up.notes == "fine"


def test_a_next_appointment_without_a_time_zone_is_refused_clearly() -> None:
    visit = applied_visit()
    naive = datetime.now() + timedelta(days=7)  # naive on purpose
    with pytest.raises(WorkflowError, match="needs a time zone"):
        visit.record_follow_up([], "fine", naive)
    assert visit.follow_up.notes == ""  # nothing recorded from the refused entry


def test_reaction_values_read_as_words() -> None:
    assert Reaction.REDNESS.value == "redness"
    assert Reaction.TWITCHING.value == "visible twitching"
    assert Reaction.LIGHT_FLASHES.value == "light flashes"


def test_observers_hear_every_change() -> None:
    heard: list[tuple[Stage, str]] = []
    visit = Visit(Client("Maria Rossi"), practitioner="Anna")
    visit.observers.append(lambda v, what: heard.append((v.stage, what)))
    visit.screening = Screening.all_clear()
    visit.record_consent("Maria Rossi")
    visit.go_to(Stage.CLEANSING)
    visit.check(Stage.CLEANSING, CLEANSING_CHECKLIST[0])
    visit.record_follow_up([REDNESS], "", None)
    with pytest.raises(WorkflowError):
        visit.go_to(Stage.APPLICATION)
    assert heard == [
        (Stage.CONSULTATION, "consent"),
        (Stage.CLEANSING, "stage"),
        (Stage.CLEANSING, "cleansing checklist"),
        (Stage.CLEANSING, "follow-up"),
    ]


# -- zone states -------------------------------------------------------------------------------

ZONES = ("forehead_right", "cheek_left", "cheek_right", "cheek_left")


def four_step_protocol(duration_s: float = 10.0) -> Protocol:
    """Forehead, left cheek, right cheek, then the left cheek again."""
    waveform = Waveform(WaveShape.SQUARE, 10.0, 200.0, Polarity.ALTERNATING, 2.5, 1.0)
    return checked(
        Protocol(
            id="zones-test",
            name="Zones test",
            category="lifting",
            description="Four steps, one zone visited twice.",
            steps=tuple(
                Step(zone=zone, waveform=waveform, duration_s=duration_s, technique="Hold.")
                for zone in ZONES
            ),
            series=RecommendedSeries(2, 10, (4, 6)),
        )
    )


def delivered(index: int, completed: bool = True) -> StepDelivery:
    time_on = 10.0 if completed else 4.0
    return StepDelivery(index, ZONES[index], 10.0, time_on, 190.0, 190.0 * time_on, 7.0, completed)


def others(states: dict[str, ZoneState]) -> set[ZoneState]:
    """The states of the zones the protocol never visits."""
    return {state for zone, state in states.items() if zone not in ZONES}


def test_no_protocol_means_every_zone_is_not_in_protocol() -> None:
    states = zone_states(None, zone_catalog(), None, (), ended=False)
    assert list(states) == list(zone_catalog())
    assert set(states.values()) == {ZoneState.NOT_IN_PROTOCOL}


def test_before_the_start_protocol_zones_are_pending() -> None:
    states = zone_states(four_step_protocol(), zone_catalog(), None, (), ended=False)
    assert list(states) == list(zone_catalog())
    assert states["forehead_right"] is ZoneState.PENDING
    assert states["cheek_left"] is ZoneState.PENDING
    assert states["cheek_right"] is ZoneState.PENDING
    assert others(states) == {ZoneState.NOT_IN_PROTOCOL}
    assert states["forehead_left"] is ZoneState.NOT_IN_PROTOCOL


def test_in_progress_done_active_and_pending() -> None:
    states = zone_states(four_step_protocol(), zone_catalog(), 1, [delivered(0)], ended=False)
    assert states["forehead_right"] is ZoneState.DONE
    assert states["cheek_left"] is ZoneState.ACTIVE
    assert states["cheek_right"] is ZoneState.PENDING
    assert others(states) == {ZoneState.NOT_IN_PROTOCOL}


def test_a_zone_visited_twice_is_pending_between_visits_and_done_after_both() -> None:
    protocol = four_step_protocol()
    between = zone_states(protocol, zone_catalog(), 2, [delivered(0), delivered(1)], False)
    assert between["cheek_left"] is ZoneState.PENDING
    assert between["cheek_right"] is ZoneState.ACTIVE
    second = zone_states(
        protocol, zone_catalog(), 3, [delivered(0), delivered(1), delivered(2)], False
    )
    assert second["cheek_left"] is ZoneState.ACTIVE
    assert second["cheek_right"] is ZoneState.DONE
    finished = zone_states(protocol, zone_catalog(), 3, [delivered(i) for i in range(4)], True)
    assert {finished[zone] for zone in ZONES} == {ZoneState.DONE}
    assert others(finished) == {ZoneState.NOT_IN_PROTOCOL}


def test_a_step_cut_short_marks_its_zone_skipped_while_the_session_goes_on() -> None:
    deliveries = [delivered(0, completed=False)]
    states = zone_states(four_step_protocol(), zone_catalog(), 1, deliveries, ended=False)
    assert states["forehead_right"] is ZoneState.SKIPPED
    assert states["cheek_left"] is ZoneState.ACTIVE
    assert states["cheek_right"] is ZoneState.PENDING


def test_when_the_session_ended_early_unreached_zones_are_skipped() -> None:
    deliveries = [delivered(0), delivered(1, completed=False)]
    states = zone_states(four_step_protocol(), zone_catalog(), 1, deliveries, ended=True)
    assert states["forehead_right"] is ZoneState.DONE
    assert states["cheek_left"] is ZoneState.SKIPPED  # cut short, and never active once ended
    assert states["cheek_right"] is ZoneState.SKIPPED  # never reached
    assert others(states) == {ZoneState.NOT_IN_PROTOCOL}


def test_zone_states_follow_a_running_engine(
    stepped_clock: SteppedClock, make_engine: EngineFactory
) -> None:
    engine, _, _ = make_engine(engine_clock=stepped_clock)
    protocol = four_step_protocol(duration_s=10.0)
    engine.prepare(protocol)
    engine.start()

    def now_states() -> dict[str, ZoneState]:
        active = engine.step_index if engine.step_index >= 0 else None
        return zone_states(
            protocol, zone_catalog(), active, engine.deliveries, engine.state.terminal
        )

    stepped_clock.run_until(15.0)  # in step 2 (left cheek)
    assert engine.step_index == 1
    states = now_states()
    assert [states[zone] for zone in ZONES[:3]] == [
        ZoneState.DONE,
        ZoneState.ACTIVE,
        ZoneState.PENDING,
    ]
    stepped_clock.run_until(25.0)  # in step 3 (right cheek); left cheek waits for step 4
    states = now_states()
    assert states["cheek_left"] is ZoneState.PENDING
    assert states["cheek_right"] is ZoneState.ACTIVE

    engine.stop()
    stepped_clock.release()
    assert engine.wait(10.0)
    states = now_states()
    assert engine.state is EngineState.ABORTED
    assert states["forehead_right"] is ZoneState.DONE
    assert states["cheek_right"] is ZoneState.SKIPPED
    assert states["cheek_left"] is ZoneState.SKIPPED
    assert others(states) == {ZoneState.NOT_IN_PROTOCOL}


def test_a_finished_engine_run_marks_every_zone_done(make_engine: EngineFactory) -> None:
    engine, _, _ = make_engine()
    protocol = make_protocol(steps=2, duration_s=10.0)
    engine.prepare(protocol)
    run = engine.run(timeout=30)
    assert run.state is EngineState.FINISHED
    states = zone_states(protocol, zone_catalog(), engine.step_index, run.steps, ended=True)
    assert states["cheek_left"] is ZoneState.DONE
    assert states["cheek_right"] is ZoneState.DONE
    visit = cleansed_visit()
    visit.go_to(Stage.APPLICATION)
    visit.record_application(run)
    assert visit.application_ended_cleanly is True
