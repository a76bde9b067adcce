"""What the engine tells the world: its states, safety events, per-step delivery and summaries.

These are plain frozen dataclasses so that the UI, the records store, the command line and plugin
hooks all receive the same facts, and so that they can be logged and saved as they happen.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from console.drivers import DeviceIdentity
from console.protocols import Step


class EngineState(enum.StrEnum):
    """The treatment engine's states (see ``console/engine/runner.py`` for the transitions)."""

    IDLE = "idle"  #: nothing loaded
    READY = "ready"  #: protocol loaded and checked, machine open, output off
    RAMPING = "ramping"  #: output on, current rising to the step's setting
    RUNNING = "running"  #: output on at the setting
    PAUSED = "paused"  #: output off, step clock stopped; resumes only on the operator's command
    FINISHED = "finished"  #: every step delivered
    ABORTED = "aborted"  #: stopped by the operator, an emergency stop or a safety trip
    INTERRUPTED = "interrupted"  #: the machine failed or went silent; output forced off

    @property
    def output_may_be_on(self) -> bool:
        """True in the states where the engine drives current."""
        return self in (EngineState.RAMPING, EngineState.RUNNING)

    @property
    def terminal(self) -> bool:
        """True once the session is over."""
        return self in (EngineState.FINISHED, EngineState.ABORTED, EngineState.INTERRUPTED)


class SafetyKind(enum.StrEnum):
    """Why the safety supervisor acted."""

    LIMIT_REFUSED = "limit_refused"  #: a setting outside hard limits or capabilities was refused
    CONTACT_LOST = "contact_lost"  #: impedance above the window: a probe lifted
    SHORT_CIRCUIT = "short_circuit"  #: impedance below the window: probes touching
    OVER_CURRENT = "over_current"  #: measured current above the setting
    DEVICE_FAULT = "device_fault"  #: the machine raised a fault flag (e.g. over-current trip)
    WATCHDOG = "watchdog"  #: no samples or heartbeat within the timeout
    DRIVER_ERROR = "driver_error"  #: a driver call raised
    EMERGENCY_STOP = "emergency_stop"  #: the operator pressed the emergency stop
    ZONE_LIMIT = "zone_limit"  #: a zone's limit (net charge) was reached; output off
    UNDER_DELIVERY = "under_delivery"  #: the machine cannot reach the setting (a warning)
    CONTACT_HIGH = "contact_high"  #: the load nears the contact window's top: re-apply gel
    GEL_REAPPLIED = "gel_reapplied"  #: the operator paused the output to re-apply gel
    OPERATOR_STOP = "operator_stop"  #: the operator ended the session early
    RECORDS_FAILURE = "records_failure"  #: the records could not be saved: the session was ended


@dataclass(frozen=True, slots=True)
class SafetyEvent:
    """One act of the safety supervisor: what happened, when, and what it did."""

    kind: SafetyKind
    at_s: float  #: clock time
    message: str  #: a sentence for the operator: what happened and what to do
    action: str  #: what the engine did: ``output off``, ``paused``, ``session aborted``...
    step_index: int | None = None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """Who, what and on which machine: given to every observer hook."""

    session_id: str
    protocol_id: str
    protocol_version: str
    protocol_name: str
    driver_id: str
    machine: DeviceIdentity
    simulated: bool
    started_at: datetime
    client_ref: str | None = None


@dataclass(frozen=True, slots=True)
class StepDelivery:
    """What was actually delivered in one step, measured from the samples."""

    index: int
    zone: str
    planned_s: float
    time_under_current_s: float
    mean_current_ua: float  #: mean of |i| while the output was on
    charge_uc: float  #: ∫|i| dt, microcoulombs
    mean_impedance_kohm: float | None  #: RMS voltage / RMS current; None if never measured
    completed: bool  #: the step ran its full time
    net_charge_uc: float = 0.0  #: ∫i dt (signed), microcoulombs: what is left one way


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """The end of a session: final state, why, and what was delivered."""

    state: EngineState
    reason: str
    steps: tuple[StepDelivery, ...]
    events: tuple[SafetyEvent, ...]
    elapsed_s: float
    started_at_s: float = 0.0  #: clock time the session started (event times are on that clock)

    @property
    def total_charge_uc(self) -> float:
        """Charge delivered over the whole session, µC."""
        return sum(step.charge_uc for step in self.steps)

    @property
    def total_net_charge_uc(self) -> float:
        """Signed charge over the whole session, µC."""
        return sum(step.net_charge_uc for step in self.steps)

    def zone_charges(self) -> dict[str, tuple[float, float]]:
        """Per zone, in the order first treated: (|charge|, net charge), µC."""
        zones: dict[str, tuple[float, float]] = {}
        for step in self.steps:
            total, net = zones.get(step.zone, (0.0, 0.0))
            zones[step.zone] = (total + step.charge_uc, net + step.net_charge_uc)
        return zones


@dataclass(frozen=True, slots=True)
class StateChanged:
    """Engine event: the state changed (``reason`` says why in operator words)."""

    state: EngineState
    previous: EngineState
    at_s: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class StepStarted:
    """Engine event: a new step began; the operator moves the probes (the tone cue)."""

    index: int
    step: Step
    at_s: float

    @property
    def zone(self) -> str:
        """The zone the probes go to now."""
        return self.step.zone


@dataclass(frozen=True, slots=True)
class StepEnded:
    """Engine event: a step ended (completed or cut short), with what it delivered."""

    delivery: StepDelivery
    at_s: float


@dataclass(frozen=True, slots=True)
class StepCheckpoint:
    """Engine event, every few seconds of treatment: what the running step has delivered so
    far (``delivery.completed`` is False), so a crash keeps it (safety rule 7)."""

    delivery: StepDelivery
    at_s: float


@dataclass(frozen=True, slots=True)
class PolarityReversed:
    """Engine event: an alternating waveform reversed (a scope marker)."""

    step_index: int
    at_s: float


@dataclass(frozen=True, slots=True)
class Progress:
    """Engine event, a few times a second: where the treatment is."""

    at_s: float
    step_index: int
    step_elapsed_s: float
    step_remaining_s: float
    session_remaining_s: float
    setpoint_ua: float
    target_ua: float
    impedance_kohm: float | None
    #: ``impedance_kohm`` was measured since the output last went on (False: a reading from
    #: before a pause or stop, shown as such; the probes may have moved since).
    contact_measured_now: bool = True


@dataclass(frozen=True, slots=True)
class SessionStarted:
    """Engine event: the session began (before the first output)."""

    session: SessionInfo


@dataclass(frozen=True, slots=True)
class SessionEnded:
    """Engine event: the session is over."""

    session: SessionInfo
    summary: SessionSummary


@dataclass(frozen=True, slots=True)
class SafetyEventRaised:
    """Engine event: the safety supervisor acted."""

    event: SafetyEvent


EngineEvent = (
    StateChanged
    | StepStarted
    | StepEnded
    | StepCheckpoint
    | PolarityReversed
    | Progress
    | SessionStarted
    | SessionEnded
    | SafetyEventRaised
)


@dataclass
class EventLog:
    """Every event in order (the CLI and tests keep one)."""

    events: list[EngineEvent] = field(default_factory=list)

    def __call__(self, event: EngineEvent) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list:
        """Events of one type, in order."""
        return [event for event in self.events if isinstance(event, kind)]
