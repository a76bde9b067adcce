"""What a trainer's demonstration shows, decided from the engine's events and a clock (no Qt).

The demonstration view draws; this module decides: which step is shown (the session's, or the
chosen protocol's first one while waiting), how far into it the treatment is, where the probes
are in their movement, what the protocol commands (the *ideal* current, computed with the very
functions the simulated machine uses) and how the contact stands.

Every time here is a reading of the session's clock (``clock.now()``, the engine's event times),
never wall time: when a trainer pauses the clock the probes stop, at ×10 they move ten times as
fast. Between two Progress events (four a second of clock time) the step time is carried on from
the clock while the output is on, so the animation is smooth at any speed.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from console.engine.events import (
    EngineEvent,
    EngineState,
    Progress,
    SafetyEventRaised,
    SafetyKind,
    SessionEnded,
    SessionStarted,
    StateChanged,
    StepStarted,
)
from console.engine.safety import ContactQuality, SafetyLimits, contact_quality
from console.probe_paths import ProbeMotion, motion_for_step
from console.protocols import Protocol, Step
from console.waveforms import Waveform, polarity_sign, sampled_pulse, unit_pulse
from console.zone_progress import ZoneState

#: The step time is carried on from the clock for at most this long after the last Progress
#: event: if events stop coming (a stalled engine), the animation stops instead of running on.
MAX_CARRY_S = 1.0
#: Output (re)starts remembered for the ideal trace: enough for the longest scope window.
MAX_SEGMENTS = 64


def ideal_current(
    waveform: Waveform, since_start_s: np.ndarray, sample_rate_hz: float | None = None
) -> np.ndarray:
    """The protocol's current (µA) at times since the output started: ramp × polarity × pulse.

    With ``sample_rate_hz`` each value is what an integrating front end measures over the
    sample interval before it (:func:`console.waveforms.sampled_pulse`, as the simulated machine
    produces its samples); without, the instantaneous pulse (:func:`unit_pulse`). Times before
    the start are zero.
    """
    t = np.asarray(since_start_s, dtype=np.float64)
    phase = t * waveform.frequency_hz
    if sample_rate_hz:
        pulse = sampled_pulse(waveform.shape, phase, waveform.frequency_hz / sample_rate_hz)
    else:
        pulse = unit_pulse(waveform.shape, phase)
    ramp = np.clip(t / waveform.ramp_s, 0.0, 1.0)
    sign = polarity_sign(waveform.polarity, waveform.reversal_interval_s, t)
    return np.where(t >= 0.0, waveform.current_ua * ramp * sign * pulse, 0.0)


def one_period(waveform: Waveform, points: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """One period of the pulse at full current and starting polarity: (seconds, µA)."""
    phase = np.linspace(0.0, 1.0, points, endpoint=False)
    # A sample exactly at the end closes the drawing; the pulse repeats, so it equals the start.
    phase = np.append(phase, 1.0 - 1e-9)
    sign = polarity_sign(waveform.polarity, waveform.reversal_interval_s, np.zeros(1))[0]
    current = waveform.current_ua * sign * unit_pulse(waveform.shape, phase)
    return phase / waveform.frequency_hz, current


def step_envelope(step: Step, points: int = 1200) -> tuple[np.ndarray, np.ndarray]:
    """The step's peak current over its whole duration, signed by polarity: (seconds, µA).

    This is what the protocol does at the scale of the step: the ramp, and the reversals.
    Points fall on the reversal times, so each polarity block has square edges.
    """
    waveform = step.waveform
    t = np.linspace(0.0, step.duration_s, points)
    if waveform.polarity.value == "alternating":
        edges = np.arange(
            waveform.reversal_interval_s, step.duration_s, waveform.reversal_interval_s
        )
        t = np.sort(np.concatenate((t, edges - 1e-6, edges)))
    ramp = np.clip(t / waveform.ramp_s, 0.0, 1.0)
    sign = polarity_sign(waveform.polarity, waveform.reversal_interval_s, t)
    return t, waveform.current_ua * ramp * sign


@dataclass(frozen=True, slots=True)
class OutputSegment:
    """The output on with ``waveform`` from ``start_s`` (clock time) until ``end_s``."""

    start_s: float
    waveform: Waveform
    end_s: float = math.inf


class IdealTimeline:
    """The protocol's commanded current over clock time, from the output's starts and stops.

    The engine configures the waveform at every step start and every resume, and the current
    then ramps from zero; while paused the output is off. So the ideal is, piece by piece,
    :func:`ideal_current` since the latest (re)start, and zero where the output is off.
    """

    def __init__(self) -> None:
        self._segments: deque[OutputSegment] = deque(maxlen=MAX_SEGMENTS)

    @property
    def segments(self) -> tuple[OutputSegment, ...]:
        """Every remembered segment, oldest first."""
        return tuple(self._segments)

    def start(self, at_s: float, waveform: Waveform) -> None:
        """The output (re)started with ``waveform`` at clock time ``at_s``."""
        self.stop(at_s)
        self._segments.append(OutputSegment(at_s, waveform))

    def stop(self, at_s: float) -> None:
        """The output went off at ``at_s``."""
        if self._segments and math.isinf(self._segments[-1].end_s):
            last = self._segments.pop()
            self._segments.append(
                OutputSegment(last.start_s, last.waveform, max(at_s, last.start_s))
            )

    def clear(self) -> None:
        """Forget every segment (a new session)."""
        self._segments.clear()

    def current_at(self, t: np.ndarray, sample_rate_hz: float | None = None) -> np.ndarray:
        """The ideal current (µA) at clock times ``t``."""
        t = np.asarray(t, dtype=np.float64)
        result = np.zeros_like(t)
        for segment in self._segments:
            inside = (t >= segment.start_s) & (t < segment.end_s)
            if inside.any():
                result[inside] = ideal_current(
                    segment.waveform, t[inside] - segment.start_s, sample_rate_hz
                )
        return result


def contact_quality_kohm(
    impedance_kohm: float | None, limits: SafetyLimits | None = None
) -> ContactQuality:
    """:func:`console.engine.safety.contact_quality` of a reading in kΩ, as Progress reports it."""
    ohm = None if impedance_kohm is None else impedance_kohm * 1000.0
    return contact_quality(ohm, limits or SafetyLimits())


class Stage(enum.StrEnum):
    """Where the demonstration is, in the words the view prints."""

    WAITING = "Waiting to start"
    RAMPING = "Ramping up"
    RUNNING = "Treating"
    PAUSED = "Output paused"
    FINISHED = "Session finished"
    STOPPED = "Session stopped"
    INTERRUPTED = "Session interrupted"


_STAGE_OF_STATE = {
    EngineState.IDLE: Stage.WAITING,
    EngineState.READY: Stage.WAITING,
    EngineState.RAMPING: Stage.RAMPING,
    EngineState.RUNNING: Stage.RUNNING,
    EngineState.PAUSED: Stage.PAUSED,
    EngineState.FINISHED: Stage.FINISHED,
    EngineState.ABORTED: Stage.STOPPED,
    EngineState.INTERRUPTED: Stage.INTERRUPTED,
}


class Demonstration:
    """Follows one session's events (or waits for one) and answers what to show at a clock time."""

    def __init__(self, protocol: Protocol | None = None) -> None:
        self.protocol: Protocol | None = None
        self.ideal = IdealTimeline()
        self.limits = SafetyLimits()
        self.set_protocol(protocol)

    # -- inputs ----------------------------------------------------------------------------

    def set_protocol(self, protocol: Protocol | None) -> None:
        """The protocol to show; while no session runs, its first step is shown, waiting."""
        self.protocol = protocol
        self._reset()

    def _reset(self) -> None:
        self.stage = Stage.WAITING
        self.step_index = 0
        self._event_step: Step | None = None
        self._elapsed_s = 0.0  # step time at clock time _stamp_s
        self._stamp_s = 0.0
        self.setpoint_ua = 0.0
        self.target_ua: float | None = None
        self.impedance_kohm: float | None = None
        self.contact_measured_now = False  #: the reading is the contact now, not an old one
        self.contact = ContactQuality.UNKNOWN
        self.alert = ""
        self.ideal.clear()

    def on_event(self, event: EngineEvent) -> None:
        """Take one engine event (in the order the engine posted them)."""
        if isinstance(event, SessionStarted):
            self._reset()
        elif isinstance(event, StepStarted):
            if self.stage in (Stage.FINISHED, Stage.STOPPED, Stage.INTERRUPTED):
                self._reset()  # a new session without its SessionStarted (joined late)
            self.step_index = event.index
            self._event_step = event.step
            self._elapsed_s, self._stamp_s = 0.0, event.at_s
            self.setpoint_ua = 0.0
            self.target_ua = event.step.waveform.current_ua
            self.ideal.start(event.at_s, event.step.waveform)
            if self.stage is Stage.WAITING:
                self.stage = Stage.RAMPING
        elif isinstance(event, StateChanged):
            self._state_changed(event)
        elif isinstance(event, Progress):
            if event.step_index != self.step_index:
                self.step_index = event.step_index
                self._event_step = None
            if self.stage is Stage.WAITING:
                self._join(event)
            self._elapsed_s, self._stamp_s = event.step_elapsed_s, event.at_s
            self.setpoint_ua = event.setpoint_ua
            self.target_ua = event.target_ua
            self.impedance_kohm = event.impedance_kohm
            self.contact_measured_now = event.contact_measured_now
            self.contact = contact_quality_kohm(event.impedance_kohm, self.limits)
            if self.contact is ContactQuality.GOOD and self.stage in (Stage.RAMPING, Stage.RUNNING):
                self.alert = ""
        elif isinstance(event, SafetyEventRaised):
            safety = event.event
            self.alert = safety.message
            if safety.kind in (SafetyKind.CONTACT_LOST, SafetyKind.SHORT_CIRCUIT):
                self.contact_measured_now = False  # the output went off with it
            if safety.kind is SafetyKind.CONTACT_LOST:
                self.contact = ContactQuality.LOST
            elif safety.kind is SafetyKind.SHORT_CIRCUIT:
                self.contact = ContactQuality.SHORT
        elif isinstance(event, SessionEnded):
            self.stage = _STAGE_OF_STATE.get(event.summary.state, Stage.STOPPED)
            self.ideal.stop(event.summary.started_at_s + event.summary.elapsed_s)

    def _join(self, event: Progress) -> None:
        """Opened in the middle of a session: take it up from this report. The waveform's
        cycle is taken to have started with the step (exact unless the step was paused)."""
        self.stage = Stage.RUNNING if event.setpoint_ua >= event.target_ua else Stage.RAMPING
        step = self.step
        if step is not None:
            self.ideal.start(event.at_s - event.step_elapsed_s, step.waveform)

    def _state_changed(self, event: StateChanged) -> None:
        stage = _STAGE_OF_STATE[event.state]
        was_on = self.stage in (Stage.RAMPING, Stage.RUNNING)
        if event.state is EngineState.READY:
            return  # a session being prepared: keep showing the waiting step
        if was_on and stage not in (Stage.RAMPING, Stage.RUNNING):
            # Output off: the step time stops where it was.
            self._elapsed_s = self.step_elapsed_s(event.at_s)
            self._stamp_s = event.at_s
            self.ideal.stop(event.at_s)
            self.contact_measured_now = False
        elif event.previous is EngineState.PAUSED and stage is Stage.RAMPING:
            # The engine configures the waveform again on resume: the ramp starts from zero.
            self._stamp_s = event.at_s
            self.contact_measured_now = False  # until the first reading of the new ramp
            step = self.step
            if step is not None:
                self.ideal.start(event.at_s, step.waveform)
        self.stage = stage

    # -- what to show ----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while a session's output is on (ramping or at its setting)."""
        return self.stage in (Stage.RAMPING, Stage.RUNNING)

    @property
    def waiting(self) -> bool:
        """True before a session starts."""
        return self.stage is Stage.WAITING

    @property
    def step(self) -> Step | None:
        """The step shown: the running one (as the engine announced it), or the protocol's
        first while waiting."""
        if self._event_step is not None:
            return self._event_step
        if self.protocol is not None and 0 <= self.step_index < len(self.protocol.steps):
            return self.protocol.steps[self.step_index]
        return None

    @property
    def step_count(self) -> int:
        """Steps in the protocol (0 when only events are known)."""
        return len(self.protocol.steps) if self.protocol is not None else 0

    @property
    def motion(self) -> ProbeMotion | None:
        """How the probes move in the shown step."""
        step = self.step
        return motion_for_step(step) if step is not None else None

    def step_elapsed_s(self, now: float) -> float:
        """Seconds of the shown step delivered at clock time ``now``."""
        elapsed = self._elapsed_s
        if self.running:
            elapsed += min(max(now - self._stamp_s, 0.0), MAX_CARRY_S)
        step = self.step
        return min(elapsed, step.duration_s) if step is not None else elapsed

    def step_remaining_s(self, now: float) -> float:
        """Seconds left in the shown step."""
        step = self.step
        return max(step.duration_s - self.step_elapsed_s(now), 0.0) if step is not None else 0.0

    @property
    def session_total_s(self) -> float:
        """Planned time of the whole application."""
        return self.protocol.duration_s if self.protocol is not None else 0.0

    def session_elapsed_s(self, now: float) -> float:
        """Planned time of the steps before this one plus this step's elapsed time."""
        if self.protocol is None:
            return self.step_elapsed_s(now)
        before = sum(step.duration_s for step in self.protocol.steps[: self.step_index])
        if self.stage is Stage.FINISHED:
            return self.session_total_s
        return before + self.step_elapsed_s(now)

    def probe_phase(self, now: float) -> float:
        """Where the probes are in their movement (fraction of a period) at clock time ``now``.

        During a session it follows the step's delivered time (still while paused); before one,
        the clock itself, so a running trainer clock shows the movement and a paused one holds it.
        """
        motion = self.motion
        if motion is None:
            return 0.0
        seconds = now if self.waiting else self.step_elapsed_s(now)
        return motion.phase_at(seconds)

    def zone_states(self, zone_ids: Iterable[str]) -> dict[str, ZoneState]:
        """Zones of the protocol: done before the shown step, active for it, pending after."""
        states = dict.fromkeys(zone_ids, ZoneState.NOT_IN_PROTOCOL)
        steps = self.protocol.steps if self.protocol is not None else ()
        for index, step in enumerate(steps):
            if step.zone not in states:
                continue
            finished = self.stage is Stage.FINISHED or index < self.step_index
            state = ZoneState.DONE if finished else ZoneState.PENDING
            # A zone is done only when every step on it is.
            if state is ZoneState.PENDING or states[step.zone] is ZoneState.NOT_IN_PROTOCOL:
                states[step.zone] = state
        shown = self.step
        if shown is not None and shown.zone in states and self.stage is not Stage.FINISHED:
            states[shown.zone] = ZoneState.ACTIVE
        return states
