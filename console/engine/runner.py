"""The treatment engine: a state machine that runs a protocol on a driver, step by step, safely.

States and transitions::

    IDLE --prepare()--> READY --start()--> RAMPING <--> RUNNING --last step done--> FINISHED
                                             |  ^            |
                     pause / contact lost    v  | resume()   |   stop()/emergency_stop()/trip -> ABORTED
                                            PAUSED ----------+   driver error / silence / hang -> INTERRUPTED

How the safety rules of docs/safety.md are kept:

1. *Hard limits*: :meth:`TreatmentEngine.prepare` checks every step against the hard limits and
   the machine's capabilities and refuses before anything is sent; the amplitude the engine sends
   is never above the step's setting.
2. *Ramp*: output always starts at 0 µA and the engine raises the setpoint each tick at the step's
   ramp rate — at start, at every step change, on resume and when the intensity goes up.
3. *Contact*: every block of samples is judged; an impedance outside the window turns the output off
   in that same tick and pauses; only :meth:`resume` (the operator) turns it back on, from zero.
4. *Watchdog*: silence from the machine for ``device_silence_s`` (clock time for the simulator,
   wall time for a machine on a port, even an emulator run faster), or a driver call that
   raises, ends the session INTERRUPTED with the output off. A separate watchdog thread catches an
   engine tick that hangs in a driver call for ``call_hang_s`` of wall time.
5. *Emergency stop*: :meth:`emergency_stop` turns the output off in the caller's thread, at once,
   from any state; no queue, no event loop in between.

The engine thread owns the driver; other threads only ever call ``stop_output`` on it. Output-raising
calls are fenced (:meth:`TreatmentEngine._may_drive`), checked before and after each call: a stop or
pause requested by another thread sets a latch that the engine thread itself never clears (only
the operator's resume clears a pause), so a stop that races with a ramp step always wins.
"""

from __future__ import annotations

import logging
import math
import queue
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from console.drivers import DeviceIdentity, Driver, DriverInfo, SampleBlock, Transport
from console.engine.clock import Clock
from console.engine.dispatch import EventDispatcher, HookNotifier, Subscriber
from console.engine.events import (
    EngineEvent,
    EngineState,
    PolarityReversed,
    Progress,
    SafetyEvent,
    SafetyEventRaised,
    SafetyKind,
    SessionEnded,
    SessionInfo,
    SessionStarted,
    SessionSummary,
    StateChanged,
    StepCheckpoint,
    StepDelivery,
    StepEnded,
    StepStarted,
)
from console.engine.measure import BlockStats, StepMeter
from console.engine.ringbuffer import SampleRing
from console.engine.safety import (
    ContactMonitor,
    ContactTrend,
    DeliveryMonitor,
    HangTimer,
    PreflightError,
    SafetyLimits,
    describe_ohm,
    over_current,
    preflight_problems,
)
from console.protocols import Protocol, Step
from console.screening import ScreeningResult
from console.waveforms import Polarity
from console.zones import zone_catalog

log = logging.getLogger(__name__)

#: Engine tick in clock seconds: how often samples are judged and the ramp advances. In real time
#: the safety loop reacts within 20 ms; faster than real time it ticks every 50 ms of *simulated*
#: time, so that a whole protocol simulates in seconds (per-tick cost is fixed, not per-sample).
DEFAULT_TICK_S = 0.02
#: A machine's output follows a new setpoint within this long; samples measured earlier than
#: this after a change may still show the previous setpoint.
SETTLE_S = 0.05
#: Wall-clock transit delay a machine on a port may add to its samples' time stamps.
PORT_DELAY_S = 0.05
FAST_TICK_S = 0.05
#: On a free-running clock (``--speed max``) the engine waits up to this long at once while a
#: step holds steady at its setting: nothing is decided between two of its ticks then, and the
#: samples are the same, so the treatment is the same as at any pace, only cheaper to compute.
STEADY_STRIDE_S = 1.0
#: Step and stride arithmetic on float seconds: a step this close to its end has ended.
_TIME_EPSILON_S = 1e-9
#: Wall seconds the console may fall behind the data of a machine that drives no current (an
#: emulator on a busy computer) before it gives up; a real machine gets its silence limit.
SIMULATION_LAG_S = 5.0
#: How often a Progress event is posted, in clock seconds.
PROGRESS_EVERY_S = 0.25
#: How often the running step's delivery so far is posted for the records, in clock seconds.
CHECKPOINT_EVERY_S = 5.0
#: At the end of a session, wall seconds at most spent reading samples still on their way.
MAX_DRAIN_WALL_S = 2.0
DRAIN_POLL_S = 0.005
#: Seconds of samples the ring buffer keeps (the scope's longest window plus margin).
RING_SECONDS = 40.0
#: The interpreter's thread switch interval while a session runs. CPython's default (5 ms) lets
#: a busy thread hold the interpreter that long before the emergency-stop, engine or watchdog
#: thread gets it; measured here: p99 stop latency 12 ms at 5 ms, 2.3 ms at 1 ms.
SWITCH_INTERVAL_S = 0.001


#: What the console says when it can no longer reach the machine: it has sent the stop, but only
#: the machine knows whether its output is off (safety rule 4).
CANNOT_CONFIRM_OFF = (
    "The console has sent the stop but cannot reach the machine to confirm that the output is "
    "off: lift the probes from the skin and switch the machine off at its power switch."
)
UNCONFIRMED_STOP = "stop sent, output state unknown"
UNCONFIRMED_ACTION = f"{UNCONFIRMED_STOP}, session interrupted"


class EngineError(RuntimeError):
    """A command that does not fit the engine's state (e.g. start before prepare)."""


@dataclass(frozen=True, slots=True)
class _ClosingStep:
    """A step that has ended on the clock, waiting for the last of its samples (those measured
    up to when its output went off: ``meter.off_since_s``)."""

    meter: StepMeter
    completed: bool


@dataclass(frozen=True, slots=True)
class _Command:
    name: str
    value: float = 0.0
    kind: SafetyKind | None = None
    text: str = ""


class TreatmentEngine:
    """Runs one treatment session at a time on one driver.

    Construct it with an *unopened* driver; :meth:`prepare` opens, identifies and checks;
    :meth:`start` runs the protocol on the engine's own thread; :meth:`wait` blocks until the
    session has ended and every event has been delivered.
    """

    def __init__(
        self,
        driver: Driver,
        driver_info: DriverInfo,
        clock: Clock,
        *,
        limits: SafetyLimits | None = None,
        tick_s: float | None = None,
        notify_hook: HookNotifier | None = None,
    ) -> None:
        self.driver = driver
        self.driver_info = driver_info
        self.clock = clock
        self.limits = limits or SafetyLimits()
        self.tick_s = tick_s or (DEFAULT_TICK_S if clock.follows_wall_time else FAST_TICK_S)
        self.state = EngineState.IDLE
        self.protocol: Protocol | None = None
        self.session: SessionInfo | None = None
        self.identity: DeviceIdentity | None = None
        self.capabilities = driver_info.capabilities.clamped()
        rate = self.capabilities.sample_rate_hz
        self.ring = SampleRing(int(rate * RING_SECONDS))
        self.deliveries: list[StepDelivery] = []
        self.safety_events: list[SafetyEvent] = []
        self.end_reason = ""
        self._dispatcher = EventDispatcher(notify_hook)
        self._commands: queue.SimpleQueue[_Command] = queue.SimpleQueue()
        self._state_lock = threading.RLock()
        self._output_allowed = threading.Event()  # engine thread: output may be on in this step
        self._halted = threading.Event()  # any thread: the session is ending; never cleared
        self._hold = threading.Event()  # any thread: operator pause; cleared only by resume
        self._paused_at_s = 0.0
        #: No current can reach a person: the simulated machine, or an emulator (known after
        #: prepare() has identified the machine).
        self.simulated = driver_info.simulated
        # A machine on a port talks in wall time whatever the clock's pace (an emulator run
        # faster than real time): its silence is judged in wall seconds. The simulator lives
        # on the clock, so its silence is judged in clock seconds.
        pace = (
            getattr(clock, "speed", 1.0)
            if driver_info.transport is not Transport.SIMULATED
            else 1.0
        )
        self._pace = max(1.0, pace)
        self._silence_limit_s = self.limits.device_silence_s * self._pace
        # How far the driver's reader may lag behind the clock: for a real machine no more than
        # it may be silent (a busy computer stops the output: nothing is judged meanwhile);
        # for a machine that drives no current, seconds (set once prepare() knows).
        self._lag_limit_s = self._silence_limit_s
        # Samples from a port carry the machine's time mapped onto ours, uncertain by the
        # transit delay: judge them against every setpoint of that span too.
        port_delay = 0.0 if driver_info.transport is Transport.SIMULATED else PORT_DELAY_S
        self._judge_span_s = SETTLE_S + port_delay * self._pace
        self._resume_after_s: float | None = None
        self._max_pause_s: float | None = None
        self._wake = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._watchdog: threading.Thread | None = None
        self._tick_started_wall: float | None = None
        self._opened = False
        self._started_clock_s = 0.0
        # Step bookkeeping (engine thread only).
        self._step_index = -1
        self._step_elapsed_s = 0.0
        self._meter: StepMeter | None = None
        self._delivering_now = False
        # Steps that ended on the clock while samples of their last moments were still on
        # their way from the machine (a port, a busy computer): those samples are theirs.
        self._closing: list[_ClosingStep] = []
        self._sampled_until_s = -math.inf  # the newest sample time read from the driver
        self._setpoint_ua = 0.0
        # (clock time, setpoint) at every change: samples are judged against the setpoints in
        # force when they were measured, on the machine's time: a higher setting from when it
        # was decided, a lower one from when the machine acknowledged it (the call returned).
        # A fast clock or a busy computer moves the clock between the two; a machine on a port
        # also reports its samples a little later.
        self._setpoints: deque[tuple[float, float]] = deque([(0.0, 0.0)], maxlen=4096)
        # The client's tolerance, set by the operator's intensity changes: no zone runs above
        # it; a zone whose own setting is lower runs at its setting (None: no limit set).
        self._intensity_ceiling_ua: float | None = None
        self._delivering = False
        self._last_heard_s = 0.0
        self._last_tick_s = 0.0
        self._awaited_change_s: float | None = None  # a scheduled machine change a stride ends at
        self._next_progress_s = 0.0
        self._next_checkpoint_s = 0.0
        self._reversals_seen = 0
        self._reversal_origin_s = 0.0  # step time of the last configure (a new polarity cycle)
        self._contact = ContactMonitor(self.limits, rate)
        self._contact_trend = ContactTrend(self.limits)
        self._delivery = DeliveryMonitor(self.limits, self.capabilities.compliance_v)
        self._under_delivery_told = False  # announced in this step (once, until it recovers)

    # -- observers -------------------------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> None:
        """Receive every :data:`EngineEvent` on the event thread (not the engine thread)."""
        self._dispatcher.subscribe(subscriber)

    # -- lifecycle -------------------------------------------------------------------------

    def prepare(
        self,
        protocol: Protocol,
        screening: ScreeningResult | None = None,
        client_ref: str | None = None,
    ) -> None:
        """Open the machine, identify it, and check the protocol; state becomes READY.

        Raises :class:`PreflightError` with every reason when the treatment may not start; in that
        case nothing has been sent to the machine beyond opening and identifying it.
        """
        if self.state is not EngineState.IDLE:
            raise EngineError(f"prepare() needs an idle engine; it is {self.state.value}")
        # Whether current can reach a person is known for sure only once the machine has said
        # who it is (an emulator says so in its hello); until then those rules wait.
        problems = preflight_problems(
            protocol, self.driver_info.simulated or None, self.capabilities, self.clock, screening
        )
        if problems:
            raise PreflightError(problems)
        if not self._opened:
            self.driver.open()
            self._opened = True
        self.identity = self.driver.identify()
        self.simulated = (
            self.driver_info.simulated or getattr(self.driver, "emulated", False) is True
        )
        # The connected machine may state narrower capabilities than its registration.
        stated = getattr(self.driver, "capabilities", self.capabilities).clamped()
        problems = preflight_problems(protocol, self.simulated, stated, self.clock, screening)
        if problems:
            raise PreflightError(problems)
        self.capabilities = stated
        if self.simulated:
            self._lag_limit_s = max(self._silence_limit_s, SIMULATION_LAG_S * self._pace)
        self.protocol = protocol
        self.session = SessionInfo(
            session_id=uuid.uuid4().hex,
            protocol_id=protocol.id,
            protocol_version=protocol.version,
            protocol_name=protocol.name,
            driver_id=self.driver_info.id,
            machine=self.identity,
            simulated=self.simulated,
            started_at=datetime.now(UTC),
            client_ref=client_ref,
        )
        self._set_state(EngineState.READY, "protocol checked, machine ready")

    def start(self) -> None:
        """Start the session on the engine thread (output ramps up from zero)."""
        if self.state is not EngineState.READY:
            raise EngineError(f"start() needs a ready engine; it is {self.state.value}")
        if sys.getswitchinterval() > SWITCH_INTERVAL_S:
            sys.setswitchinterval(SWITCH_INTERVAL_S)
        self._dispatcher.start()
        self._thread = threading.Thread(target=self._run, name="mc-engine", daemon=True)
        self._watchdog = threading.Thread(target=self._watch, name="mc-watchdog", daemon=True)
        self._thread.start()
        self._watchdog.start()

    def run(self, timeout: float | None = None) -> SessionSummary:
        """Start and wait: the whole session, blocking. Returns the summary."""
        self.start()
        if not self.wait(timeout):
            self.emergency_stop()
            raise TimeoutError("the treatment did not end within the timeout; output stopped")
        return self.summary()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the session ended and its events were delivered; False on timeout."""
        if not self._done.wait(timeout):
            return False
        self._dispatcher.close(timeout)
        return True

    def close(self) -> None:
        """Turn the output off (ending a session still under way) and release the machine."""
        if self.state is not EngineState.IDLE and not self.state.terminal:
            self.emergency_stop()
            self.wait(2.0)
        self._safe_off()
        if self._opened:
            try:
                self.driver.close()
            except Exception:  # closing must not raise at shutdown
                log.exception("driver close failed")
            self._opened = False

    # -- operator commands (any thread) ----------------------------------------------------

    def emergency_stop(self) -> None:
        """Output off now, from any state, in the caller's thread; the session ends ABORTED."""
        self._halted.set()
        self._safe_off()
        self._commands.put(_Command("estop"))
        self._wake.set()
        if self._thread is None or not self._thread.is_alive():
            # No engine thread (never started, or already over): settle the state right here.
            with self._state_lock:
                if not self.state.terminal and self.state is not EngineState.IDLE:
                    self._end(
                        EngineState.ABORTED,
                        self._safety(
                            SafetyKind.EMERGENCY_STOP, "Emergency stop pressed.", "output off"
                        ),
                    )

    def pause(self) -> None:
        """Output off now; the step clock stops until :meth:`resume`."""
        self._hold_now()
        self._commands.put(_Command("pause"))
        self._wake.set()

    def _hold_now(self) -> None:
        """Output off in the caller's thread, held off until the engine thread pauses."""
        if self.state.output_may_be_on:
            self._hold.set()
            self._safe_off()

    def resume(self) -> None:
        """Turn the output back on after a pause, ramping up from zero (the operator's decision)."""
        self._commands.put(_Command("resume"))
        self._wake.set()

    def stop(self, kind: SafetyKind = SafetyKind.OPERATOR_STOP, message: str | None = None) -> None:
        """End the session early (output off, state ABORTED): at the operator's request, or
        for the reason ``kind`` and ``message`` give (the records could not be saved), so the
        record says what really ended it."""
        self._halted.set()
        self._safe_off()
        self._commands.put(_Command("stop", kind=kind, text=message or ""))
        self._wake.set()

    def set_pause_policy(self, resume_after_s: float | None, max_pause_s: float | None) -> None:
        """Standing orders for pauses, applied on the engine's own clock (exact at any speed).

        ``max_pause_s``: a pause nobody ends within this long stops the session (always safe).
        ``resume_after_s``: a trainer's scripted operator resumes after this long. Only on the
        simulated machine: on a client, resuming after contact loss is the practitioner's
        decision, taken when they see the probes back in place (safety rule 3).
        """
        if resume_after_s is not None and not self.simulated:
            raise PreflightError(
                ["a scripted resume is for the simulated machine only; on a real machine the "
                 "practitioner resumes"]
            )  # fmt: skip
        self._resume_after_s = resume_after_s
        self._max_pause_s = max_pause_s

    def adjust_intensity(self, delta_ua: float) -> None:
        """Lower (negative) or raise the current from what the running step delivers now.

        A lower current is the client's limit from then on: no later zone runs above it, while
        a zone whose own setting is lower keeps its setting (a limit, not an offset). Never
        above a step's setting; a rise always ramps.
        """
        self._commands.put(_Command("intensity", float(delta_ua)))
        self._wake.set()

    def reapply_gel(self) -> None:
        """The operator re-applies gel: the output goes off now (the probes leave the skin) and
        the session pauses until :meth:`resume`, which ramps up from zero. Recorded in the
        session's log; while already paused (after a contact loss) only recorded."""
        self._hold_now()
        self._commands.put(_Command("gel"))
        self._wake.set()

    # -- read-only views -------------------------------------------------------------------

    @property
    def step_index(self) -> int:
        """Index of the running step (-1 before the first)."""
        return self._step_index

    @property
    def setpoint_ua(self) -> float:
        """The amplitude the engine last sent."""
        return self._setpoint_ua

    @property
    def contact_ohm(self) -> float | None:
        """Latest impedance measured while driving (None before any)."""
        return self._contact.impedance_ohm

    @property
    def output_on(self) -> bool:
        """The engine drives current now: ramping or running, and no pause, stop or contact
        fault has turned the output off (those take effect in the caller's thread at once,
        before the state changes in the engine's)."""
        return self.state.output_may_be_on and self._may_drive()

    @property
    def contact_measured_now(self) -> bool:
        """The output is on and :attr:`contact_ohm` was measured since it went on: the contact
        as it is now (False: paused, stopped, or not measured yet since the output went on)."""
        return self.output_on and self._contact.reading_is_current

    def summary(self) -> SessionSummary:
        """What happened so far (the final summary once the session ended)."""
        return SessionSummary(
            state=self.state,
            reason=self.end_reason,
            steps=tuple(self.deliveries),
            events=tuple(self.safety_events),
            elapsed_s=max(0.0, self._last_tick_s - self._started_clock_s),
            started_at_s=self._started_clock_s,
        )

    # -- engine thread ---------------------------------------------------------------------

    def _run(self) -> None:
        assert self.protocol is not None and self.session is not None
        try:
            now = self.clock.now()
            self._started_clock_s = self._last_tick_s = now
            self._last_heard_s = now
            self._post(SessionStarted(self.session))
            self._begin_step(0, now)
            next_tick = now
            while not self.state.terminal:
                # Cleared before the tick, not after: a stop or pause that arrives during the
                # tick keeps the wake set, so the wait below returns at once even on a held clock.
                self._wake.clear()
                self._tick_started_wall = time.monotonic()
                self._tick()
                self._tick_started_wall = None
                if self.state.terminal:
                    break
                next_tick += self._stride_s()
                self.clock.wait_until(next_tick, self._wake)
                if self.clock.now() > next_tick + 10 * self.tick_s:
                    next_tick = self.clock.now()  # fell behind (a slow machine): do not burst
        except Exception as exc:  # any failure ends with the output off
            self._halted.set()
            self._safe_off()
            kind = SafetyKind.DRIVER_ERROR
            with self._state_lock:
                if not self.state.terminal:
                    self._end(
                        EngineState.INTERRUPTED,
                        self._safety(
                            kind,
                            f"The machine reported an error: {exc}. {CANNOT_CONFIRM_OFF} "
                            "Check the machine and its cable before starting again.",
                            UNCONFIRMED_ACTION,
                        ),
                    )
            log.debug("engine stopped by exception", exc_info=True)
        finally:
            self._tick_started_wall = None
            self._safe_off()
            self._done.set()
            # The session's last event (SessionEnded) is queued: its delivery thread ends once
            # it has been delivered, so no thread outlives its session.
            self._dispatcher.finish()

    def _tick(self) -> None:
        now = self.clock.now()
        dt = max(0.0, now - self._last_tick_s)
        self._last_tick_s = now
        self._handle_commands(now)
        if self.state is EngineState.PAUSED:
            self._apply_pause_policy(now)
        if self.state.terminal:
            return
        block = self.driver.read_samples()
        status = self.driver.status()
        if self.state.terminal:  # the watchdog thread acted while we were in a driver call
            return
        self._last_heard_s = max(self._last_heard_s, status.last_heard_s)
        if len(block):
            self._last_heard_s = max(self._last_heard_s, float(block.t[-1]))
        self.ring.append(block)
        stats = BlockStats.of(block, rail_v=self._delivery.rail_v)
        self._meter_block(block, stats)
        self._settle_closing_steps(now)
        if status.faults:
            self._trip(
                EngineState.ABORTED,
                SafetyKind.DEVICE_FAULT,
                f"The machine reported a fault: {', '.join(status.faults)}. Output is off.",
                now,
            )
            return
        # Silence is judged up to where the driver has listened; how far it lags is judged
        # apart, so a console held up by a busy computer is not taken for a silent machine.
        listened = now if status.listened_s is None else min(now, status.listened_s)
        if listened - self._last_heard_s > self._silence_limit_s:
            self._trip(
                EngineState.INTERRUPTED,
                SafetyKind.WATCHDOG,
                f"The machine has not answered for {listened - self._last_heard_s:.1f} s "
                f"(cable pulled or machine off); the session is interrupted. {CANNOT_CONFIRM_OFF}",
                now,
                confirmed=False,
            )
            return
        if now - listened > self._lag_limit_s:
            self._trip(
                EngineState.INTERRUPTED,
                SafetyKind.WATCHDOG,
                f"The console has fallen {now - listened:.1f} s behind the machine's data (the "
                "computer is too busy to follow it). Output is off; the session is interrupted.",
                now,
            )
            return
        if self._delivering and self._judge(stats, float(block.t[0]) if len(block) else now, now):
            return
        if self._delivering and self._zone_net_reached(now):
            return
        self._watch_delivery(stats, now)
        if self.state.output_may_be_on:
            self._advance_step(dt, now)
            if self.state.terminal:
                return
        if now >= self._next_progress_s:
            self._next_progress_s = now + PROGRESS_EVERY_S
            self._post_progress(now)
        if self._meter is not None and now >= self._next_checkpoint_s:
            self._next_checkpoint_s = now + CHECKPOINT_EVERY_S
            self._post(StepCheckpoint(self._meter.delivery(completed=False), now))

    def _judge(self, stats: BlockStats, measured_from: float, now: float) -> bool:
        """Safety judgement of a block sampled while delivering; True if it stopped the output."""
        setting = self._setting_since(measured_from - self._judge_span_s)
        if over_current(stats, setting, self.limits):
            self._trip(
                EngineState.ABORTED,
                SafetyKind.OVER_CURRENT,
                f"Measured {stats.peak_abs_current_ua:.0f} µA while the setting was {setting:.0f} µA. "
                "Output is off; have the machine checked before further use.",
                now,
            )
            return True
        problem = self._contact.feed(stats)
        if problem is None:
            if self._contact_trend.feed(self._contact.impedance_ohm, now):
                self._ask_for_gel(now)
            return False
        kind, ohm = problem
        self._output_allowed.clear()
        self._safe_off()
        self._delivering = False
        if kind == "open":
            event = self._safety(
                SafetyKind.CONTACT_LOST,
                f"Contact lost ({describe_ohm(ohm)}): a probe has lifted or the gel has dried. "
                "Output is off. Put both probes back on gelled skin, then resume.",
                "output off, paused",
                now,
            )
        else:
            event = self._safety(
                SafetyKind.SHORT_CIRCUIT,
                f"Short circuit ({describe_ohm(ohm)}): the probes are touching each other. "
                "Output is off. Separate the probes, then resume.",
                "output off, paused",
                now,
            )
        self._set_state(EngineState.PAUSED, event.message)
        return True

    def _ask_for_gel(self, now: float) -> None:
        """The contact is getting poor: ask for gel before it is lost (the output goes on)."""
        assert self._contact.impedance_ohm is not None
        self._safety(
            SafetyKind.CONTACT_HIGH,
            f"Contact is getting poor on {self._zone_name()} "
            f"({describe_ohm(self._contact.impedance_ohm)}, lost "
            f"above {describe_ohm(self.limits.contact_max_ohm)}): the gel is drying, or the skin "
            "has not taken it up yet. Re-apply gel now (the output pauses while you do); the "
            "output goes on meanwhile.",
            "warning, output continues",
            now,
        )

    def _zone_net_reached(self, now: float) -> bool:
        """Safety rule 9: the signed charge left on the step's zone, measured, stays under the
        zone's limit; reaching it ends the session with the output off."""
        if self._meter is None:
            return False
        zone = zone_catalog().get(self._meter.zone)
        if zone is None:
            return False
        net = self._zone_net_uc(zone.id)
        limit = zone.limits.max_net_charge_uc
        if abs(net) <= limit:
            return False
        direction = "positive" if net > 0 else "negative"
        self._trip(
            EngineState.ABORTED,
            SafetyKind.ZONE_LIMIT,
            f"Net charge on {zone.name} reached {abs(net):,.0f} µC {direction}, above the zone's "
            f"limit of {limit:,.0f} µC (charge balance rule): the current is not balancing "
            "under the probes. Output is off; have the machine's polarity reversal checked "
            "before further use.",
            now,
        )
        return True

    def _watch_delivery(self, stats: BlockStats, now: float) -> None:
        """Safety rule 10: a machine held at its compliance voltage for seconds delivers less
        than its setting; the operator is told once (and again if it comes back), the output
        continues."""
        steady = self.state is EngineState.RUNNING and self._delivering
        if not steady or self._setpoint_ua != self._setting_since(now - self._judge_span_s):
            self._delivery.reset()  # only a steady setting is judged
            return
        at_rail = self._delivery.feed(stats)
        if at_rail is None:
            return
        if at_rail < self.limits.under_delivery_clear_fraction:
            self._under_delivery_told = False
        elif at_rail >= self.limits.under_delivery_fraction and not self._under_delivery_told:
            self._under_delivery_told = True
            self._safety(
                SafetyKind.UNDER_DELIVERY,
                f"Under-delivery on {self._zone_name()}: the machine is at its "
                f"{self.capabilities.compliance_v:g} V limit for {at_rail:.0%} of the pulse time "
                f"and cannot push the set {self._setpoint_ua:.0f} µA through the skin (gel drying "
                "or a probe lifting at its edge), so the client receives less than planned. "
                "Re-apply gel and press both probes flat on the skin; the output continues.",
                "warning, output continues",
                now,
            )

    def _setting_since(self, since: float) -> float:
        """The highest setpoint in force at any time from ``since`` until now."""
        highest = self._setpoint_ua
        for at, value in reversed(self._setpoints):
            highest = max(highest, value)
            if at <= since:
                break  # this one was in force at ``since``; older ones were not
        return highest

    def _note_setpoint(self, at: float) -> None:
        """The setpoint is in force from ``at`` on the clock (kept in time order)."""
        self._setpoints.append((max(at, self._setpoints[-1][0]), self._setpoint_ua))

    def _advance_step(self, dt: float, now: float) -> None:
        assert self.protocol is not None
        step = self.protocol.steps[self._step_index]
        self._step_elapsed_s += dt
        ending = self._step_elapsed_s >= step.duration_s - _TIME_EPSILON_S
        self._post_reversals(step, now, ending)
        if ending:
            if self._step_index + 1 < len(self.protocol.steps):
                self._end_step(completed=True, now=now)
                self._begin_step(self._step_index + 1, now)
                return
            # The last step: its output is on until the machine has taken the stop, and what
            # it measured up to then is counted, however late it arrives.
            self._halted.set()
            self._safe_off()
            self._delivering = False
            self._end_step(completed=True, now=now)
            try:
                self._count_samples_in_flight()
            except Exception:  # the record keeps what arrived; the session still ends
                log.debug("samples in flight not read", exc_info=True)
            with self._state_lock:
                self._end(EngineState.FINISHED, None, "every step delivered")
            return
        target = self._target_ua(step)
        if self._setpoint_ua < target:
            rate = step.waveform.current_ua / step.waveform.ramp_s
            self._send_amplitude(min(target, self._setpoint_ua + rate * dt), now)
        elif self._setpoint_ua > target:
            self._send_amplitude(target, now)  # going down is immediate
        if self.state is EngineState.RAMPING and self._setpoint_ua >= target:
            self._set_state(EngineState.RUNNING, "at the step's setting")
        elif self.state is EngineState.RUNNING and self._setpoint_ua < target:
            self._set_state(EngineState.RAMPING, "intensity going up")

    def _stride_s(self) -> float:
        """Clock seconds until the next tick: the tick, or longer while nothing can change.

        Longer only on a free-running clock, while the step runs steady at its setting, the
        machine is heard and no command waits; never past the step's end or its next polarity
        reversal, and a change the machine has scheduled is approached and followed tick by tick,
        so every decision falls on the same clock time as at any pace.
        """
        if self._awaited_change_s is not None and (
            self._last_tick_s >= self._awaited_change_s - _TIME_EPSILON_S
        ):
            self._awaited_change_s = None
            return self.tick_s  # the machine has just changed: judge it one tick later, as ever
        if not (
            self.clock.free_running
            and self.state is EngineState.RUNNING
            and self._delivering
            and self._last_tick_s - self._last_heard_s < self.tick_s / 2  # heard up to now
            and self._commands.empty()
            and not self._wake.is_set()
        ):
            return self.tick_s
        assert self.protocol is not None
        step = self.protocol.steps[self._step_index]
        horizon = min(STEADY_STRIDE_S, step.duration_s - self._step_elapsed_s)
        waveform = step.waveform
        if waveform.polarity is Polarity.ALTERNATING:
            since = self._step_elapsed_s - self._reversal_origin_s
            interval = waveform.reversal_interval_s
            next_reversal = (math.floor(since / interval + _TIME_EPSILON_S) + 1) * interval
            horizon = min(horizon, next_reversal - since)
        # The zone's net charge may grow at most at the full mean current (a machine whose
        # polarity no longer reverses): never stride past where that could reach its limit.
        horizon = min(horizon, self._time_to_zone_net_limit_s(step) - self.tick_s)
        change = self.driver.next_scheduled_change_s()
        if change is not None:  # approach it tick by tick, as at any pace
            horizon = min(horizon, change - self.tick_s - self._last_tick_s)
            self._awaited_change_s = change
        # Whole ticks: every tick falls on the same clock time as when paced.
        return self.tick_s * max(1, math.floor(horizon / self.tick_s + _TIME_EPSILON_S))

    def _zone_net_uc(self, zone_id: str) -> float:
        """Net (signed) charge the zone has received so far this session, µC (rule 9): its
        ended steps, and the running step's measurement up to now."""
        ended = sum(d.net_charge_uc for d in self.deliveries if d.zone == zone_id)
        ended += sum(c.meter.net_charge_uc for c in self._closing if c.meter.zone == zone_id)
        meter = self._meter
        return ended + (meter.net_charge_uc if meter is not None and meter.zone == zone_id else 0.0)

    def _time_to_zone_net_limit_s(self, step: Step) -> float:
        """Clock seconds the step's zone needs, at the fastest, to reach its net-charge limit."""
        zone = zone_catalog().get(step.zone)
        if zone is None or self._meter is None:
            return math.inf
        net = abs(self._zone_net_uc(zone.id))
        fastest_ua = self._setpoint_ua * step.waveform.shape.mean_abs_factor
        if fastest_ua <= 0:
            return math.inf
        return max(0.0, zone.limits.max_net_charge_uc - net) / fastest_ua

    def _begin_step(self, index: int, now: float) -> None:
        assert self.protocol is not None
        step = self.protocol.steps[index]
        self._step_index = index
        self._step_elapsed_s = 0.0
        self._reversals_seen = 0
        self._under_delivery_told = False
        self._next_checkpoint_s = now + CHECKPOINT_EVERY_S
        self._meter = StepMeter(
            index, step.zone, step.duration_s, 1.0 / self.capabilities.sample_rate_hz
        )
        if self._delivering:  # the output stays on from the previous step
            self._meter.output_on(now)
        self._post(StepStarted(index, step, now))
        self._start_output(step, now, "ramping up")

    def _start_output(self, step: Step, now: float, why: str) -> None:
        """Zero, configure, turn on, and let the ramp bring the current up."""
        self._setpoint_ua = 0.0
        self._contact.reset()
        self._contact.forget_reading()
        self._contact_trend.reset()
        self._delivery.reset()
        self.driver.set_amplitude(0.0)
        self._note_setpoint(self.clock.now())  # lower: in force once the machine took it
        self.driver.configure(step.waveform)
        # A machine starts its polarity cycle anew when it is configured: count from here.
        self._reversal_origin_s = self._step_elapsed_s
        self._reversals_seen = 0
        self._output_allowed.set()
        asked_s = self.clock.now()
        if self._drive(self.driver.start_output):
            # The machine may be on from the moment it was asked (its answer comes later).
            if self._meter is not None:
                self._meter.output_on(asked_s)
            self._delivering = True
            self._set_state(EngineState.RAMPING, why)

    def _end_step(self, completed: bool, now: float, settle: bool = False) -> None:
        """The running step has ended at ``now``. It is recorded once the samples measured up
        to then have arrived (at once from the simulator; a port's may lag behind the clock),
        or, with ``settle``, now, with what has arrived."""
        if self._meter is not None:
            self._meter.output_off(now)  # a step's output ends with the step
            self._closing.append(_ClosingStep(self._meter, completed))
            self._meter = None
        self._settle_closing_steps(now, everything=settle)

    @property
    def _delivering(self) -> bool:
        """The output is on for the running step (engine thread)."""
        return self._delivering_now

    @_delivering.setter
    def _delivering(self, on: bool) -> None:
        # Each time the output goes on or off opens or closes a window of the step's meter:
        # the samples measured inside are the step's, whenever they arrive.
        self._delivering_now = on
        meter = self._meter
        if meter is not None:
            (meter.output_on if on else meter.output_off)(self.clock.now())

    def _meter_block(self, block: SampleBlock, stats: BlockStats) -> None:
        """Count a block towards the step each sample was measured in, by the windows its
        output was on: a step that has already ended on the clock still gets its late
        samples, and samples from before the output went on count for nothing."""
        if not len(block):
            return
        self._sampled_until_s = max(self._sampled_until_s, float(block.t[-1]))
        meters = [closing.meter for closing in self._closing]
        if self._meter is not None:
            meters.append(self._meter)
        for meter in meters:
            for start, stop in meter.slices(block.t):
                whole = start == 0 and stop == len(block)
                meter.add(stats if whole else self._stats_of(block, start, stop))

    def _stats_of(self, block: SampleBlock, start: int, stop: int) -> BlockStats:
        part = SampleBlock(
            block.t[start:stop], block.current_ua[start:stop], block.voltage_v[start:stop]
        )
        return BlockStats.of(part, rail_v=self._delivery.rail_v)

    def _settle_closing_steps(self, now: float, everything: bool = False) -> None:
        """Record the ended steps whose samples have all arrived (or that waited longer than
        the driver may lag), in order."""
        while self._closing:
            closing = self._closing[0]
            until_s = closing.meter.off_since_s
            late = now >= until_s + self._lag_limit_s
            if not (everything or late or self._sampled_up_to(until_s)):
                return
            self._closing.pop(0)
            delivery = closing.meter.delivery(closing.completed)
            self.deliveries.append(delivery)
            self._post(StepEnded(delivery, now))

    def _count_samples_in_flight(self) -> None:
        """The session is over (output off): read what the machine measured while the output
        was on that is still on its way, so its last step is recorded whole. Bounded by how
        far the driver may lag; nothing to wait for from the simulator."""
        give_up_wall = time.monotonic() + min(self._lag_limit_s / self._pace, MAX_DRAIN_WALL_S)
        until_s = max((closing.meter.off_since_s for closing in self._closing), default=-math.inf)
        while self._closing and not self._sampled_up_to(until_s):
            if time.monotonic() > give_up_wall:
                return
            block = self.driver.read_samples()
            if len(block):
                self.ring.append(block)
                self._meter_block(block, BlockStats.of(block, rail_v=self._delivery.rail_v))
            else:
                time.sleep(DRAIN_POLL_S)

    def _sampled_up_to(self, until_s: float) -> bool:
        """The driver has delivered the samples measured up to ``until_s`` (within a sample
        and a half: the machine's sampling grid and the clock's do not line up)."""
        period = 1.0 / self.capabilities.sample_rate_hz
        return self._sampled_until_s >= until_s - 1.5 * period

    def _send_amplitude(self, value_ua: float, now: float) -> None:
        value_ua = min(value_ua, self.capabilities.current_ua[1])
        rising = value_ua > self._setpoint_ua
        if self._drive(self.driver.set_amplitude, value_ua):
            self._setpoint_ua = value_ua
            # A higher setting may be measured from the moment it was decided; a lower one is
            # in force only once the machine has taken it, when the call returned (a driver
            # returns once its machine has acknowledged the setting).
            self._note_setpoint(now if rising else self.clock.now())

    def _target_ua(self, step: Step) -> float:
        """The step's setting under the client's limit the operator set, never above the
        zone's limit (rule 8, checked before start; held here too)."""
        floor = self.capabilities.current_ua[0]
        target = step.waveform.current_ua
        if self._intensity_ceiling_ua is not None:
            target = max(floor, min(target, self._intensity_ceiling_ua))
        zone = zone_catalog().get(step.zone)
        return min(target, zone.limits.max_current_ua) if zone is not None else target

    def _may_drive(self) -> bool:
        return (
            self._output_allowed.is_set() and not self._halted.is_set() and not self._hold.is_set()
        )

    def _drive(self, call: Callable[..., None], *args: float) -> bool:
        """Make an output-raising driver call unless a stop is latched (checked after, too)."""
        if not self._may_drive():
            return False
        call(*args)
        if not self._may_drive():
            self._safe_off()
            return False
        return True

    def _handle_commands(self, now: float) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            if self.state.terminal:
                continue
            if command.name == "estop":
                self._trip(
                    EngineState.ABORTED, SafetyKind.EMERGENCY_STOP, "Emergency stop pressed.", now
                )
            elif command.name == "stop":
                self._trip(
                    EngineState.ABORTED,
                    command.kind or SafetyKind.OPERATOR_STOP,
                    command.text or "Session stopped by the operator.",
                    now,
                )
            elif command.name == "pause" and self.state.output_may_be_on:
                self._pause_output("paused by the operator")
            elif command.name == "resume" and self.state is EngineState.PAUSED:
                assert self.protocol is not None
                self._hold.clear()
                self._start_output(
                    self.protocol.steps[self._step_index], now, "resumed: ramping up"
                )
            elif command.name == "intensity":
                self._change_intensity(command.value)
            elif command.name == "gel":
                self._pause_for_gel(now)

    def _apply_pause_policy(self, now: float) -> None:
        paused_for = now - self._paused_at_s
        if self._resume_after_s is not None and paused_for >= self._resume_after_s:
            assert self.protocol is not None
            self._hold.clear()
            self._start_output(
                self.protocol.steps[self._step_index],
                now,
                f"resumed by the scripted operator after {paused_for:.0f} s: ramping up",
            )
        elif self._max_pause_s is not None and paused_for >= self._max_pause_s:
            self._trip(
                EngineState.ABORTED,
                SafetyKind.OPERATOR_STOP,
                f"Paused for {paused_for:.0f} s with nobody resuming: session stopped.",
                now,
            )

    def _change_intensity(self, delta_ua: float) -> None:
        if self.protocol is None or self._step_index < 0:
            return
        step = self.protocol.steps[self._step_index]
        floor = self.capabilities.current_ua[0]
        if delta_ua < 0:
            # Lower from what runs now: that is what the client feels.
            self._intensity_ceiling_ua = max(floor, self._target_ua(step) + delta_ua)
        elif self._intensity_ceiling_ua is not None:
            # A raise lifts the limit itself (in a zone set below it, the zone is unchanged).
            raised = self._intensity_ceiling_ua + delta_ua
            highest = max(s.waveform.current_ua for s in self.protocol.steps)
            self._intensity_ceiling_ua = None if raised >= highest else raised

    def _pause_for_gel(self, now: float) -> None:
        """The operator's gel: output off and paused (or, already paused, only recorded)."""
        if self.protocol is None or self._step_index < 0 or self.state is EngineState.READY:
            return
        if self.state.output_may_be_on:
            event = self._safety(
                SafetyKind.GEL_REAPPLIED,
                f"Re-applying gel on {self._zone_name()}: output off. Put both probes back on "
                "the freshly gelled skin, then resume; the current ramps up from zero.",
                "output off, paused",
                now,
            )
            self._pause_output(event.message)
        else:
            self._safety(
                SafetyKind.GEL_REAPPLIED,
                f"Gel re-applied on {self._zone_name()} while the output was off.",
                "recorded",
                now,
            )
        self._contact_trend.told = False

    def _pause_output(self, reason: str) -> None:
        """Output off and held; the session waits in PAUSED for the operator (engine thread)."""
        self._hold.set()
        self._safe_off()
        self._delivering = False
        self._set_state(EngineState.PAUSED, reason)

    def _zone_name(self) -> str:
        """The running step's zone, as the operator reads it."""
        assert self.protocol is not None
        step = self.protocol.steps[self._step_index]
        zone = zone_catalog().get(step.zone)
        return zone.name if zone is not None else step.zone

    def _trip(
        self,
        state: EngineState,
        kind: SafetyKind,
        message: str,
        now: float,
        confirmed: bool = True,
    ) -> None:
        """Output off, record the event, end the session in ``state``. ``confirmed``: the
        machine can still be reached, so the stop is known to have arrived."""
        self._halted.set()
        self._safe_off()
        self._delivering = False
        stopped = "output off" if confirmed else UNCONFIRMED_STOP
        action = f"{stopped}, session {state.value}"
        with self._state_lock:
            if self.state.terminal:
                return
            self._end(state, self._safety(kind, message, action, now))

    def _end(self, state: EngineState, event: SafetyEvent | None, reason: str = "") -> None:
        """Enter a terminal state (caller holds ``_state_lock``)."""
        self._end_step(completed=False, now=self.clock.now(), settle=True)
        self.end_reason = reason or (event.message if event else state.value)
        self._set_state(state, self.end_reason)
        if self.session is not None:
            self._post(SessionEnded(self.session, self.summary()))

    def _safety(
        self, kind: SafetyKind, message: str, action: str, now: float | None = None
    ) -> SafetyEvent:
        event = SafetyEvent(
            kind=kind,
            at_s=self.clock.now() if now is None else now,
            message=message,
            action=action,
            step_index=self._step_index if self._step_index >= 0 else None,
        )
        self.safety_events.append(event)
        self._post(SafetyEventRaised(event))
        return event

    def _set_state(self, state: EngineState, reason: str = "") -> None:
        with self._state_lock:
            previous, self.state = self.state, state
        if previous is not state:
            now = self.clock.now()
            if state is EngineState.PAUSED:
                self._paused_at_s = now
            self._post(StateChanged(state, previous, now, reason))

    def _safe_off(self) -> None:
        """stop_output, swallowing errors: used on every path that must end with the output off."""
        try:
            self.driver.stop_output()
        except Exception:  # keep going: the state still records the stop
            log.exception("driver stop_output failed")

    def _post(self, event: EngineEvent) -> None:
        self._dispatcher.post(event)

    def _post_progress(self, now: float) -> None:
        if self.protocol is None or self._step_index < 0:
            return
        step = self.protocol.steps[self._step_index]
        remaining_step = max(0.0, step.duration_s - self._step_elapsed_s)
        later = sum(s.duration_s for s in self.protocol.steps[self._step_index + 1 :])
        self._post(
            Progress(
                at_s=now,
                step_index=self._step_index,
                step_elapsed_s=self._step_elapsed_s,
                step_remaining_s=remaining_step,
                session_remaining_s=remaining_step + later,
                setpoint_ua=self._setpoint_ua,
                target_ua=self._target_ua(step),
                impedance_kohm=_kohm(self._contact.impedance_ohm),
                contact_measured_now=self.contact_measured_now,
            )
        )

    def _post_reversals(self, step: Step, now: float, ending: bool) -> None:
        """Markers for the reversals since the last tick; one at the very end of a step is none."""
        waveform = step.waveform
        if waveform.polarity is not Polarity.ALTERNATING:
            return
        interval = waveform.reversal_interval_s
        if ending:  # the reversals strictly before the step's end
            cycle_s = step.duration_s - self._reversal_origin_s
            reversals = math.ceil(cycle_s / interval - _TIME_EPSILON_S) - 1
        else:  # float seconds summed tick by tick may land a hair before a reversal: it counts
            since = self._step_elapsed_s - self._reversal_origin_s
            reversals = math.floor(since / interval + _TIME_EPSILON_S)
        while self._reversals_seen < reversals:
            self._reversals_seen += 1
            self._post(PolarityReversed(self._step_index, now))

    # -- watchdog thread -------------------------------------------------------------------

    def _watch(self) -> None:
        """Wall-clock watchdog: a tick stuck in a driver call too long interrupts the session
        (timed by :class:`HangTimer`, so a computer too busy to run the console is not taken for
        a machine that hangs)."""
        period = min(0.05, self.limits.call_hang_s / 4)
        timer = HangTimer(period, time.monotonic())
        while not self._done.wait(period):
            if timer.look(time.monotonic(), self._tick_started_wall) < self.limits.call_hang_s:
                continue
            self._halted.set()
            # Output off first. The hung call may hold a lock stop_output needs, so the stop runs
            # on a thread of its own and the watchdog does not wait long for it.
            stopper = threading.Thread(target=self._safe_off, name="mc-watchdog-stop", daemon=True)
            stopper.start()
            stopper.join(0.1)
            with self._state_lock:
                if not self.state.terminal:
                    self._end(
                        EngineState.INTERRUPTED,
                        self._safety(
                            SafetyKind.WATCHDOG,
                            f"The machine stopped responding (a call hung for over "
                            f"{self.limits.call_hang_s:g} s); the session is interrupted. "
                            f"{CANNOT_CONFIRM_OFF} Check the machine and its cable.",
                            UNCONFIRMED_ACTION,
                        ),
                    )
            self._done.set()  # the session is over even if the engine thread never returns
            return


def _kohm(ohm: float | None) -> float | None:
    return None if ohm is None or math.isinf(ohm) else ohm / 1000.0
