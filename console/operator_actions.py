"""What the operator did during a session, and a scripted operator that does it for a trainer.

A training scenario teaches an action (re-apply gel when the contact gets poor, lower the
intensity when the client twitches, lift the probes and switch the machine off when it stops
answering). :class:`ActionLog` records the actions the trainee took, read from the engine's
events (the same in the window and headless) or told directly for what happens after a session
(securing a machine that no longer answers). :class:`ScriptedOperator` stands in for the trainee
in a headless run and takes the actions it is told to, so that ``mc-console run --scenario``
shows the lesson played right; leaving one out shows what happens without it.

No Qt: both are engine subscribers like any other.
"""

from __future__ import annotations

import enum
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from console.engine.events import (
    EngineEvent,
    EngineState,
    Progress,
    SafetyEventRaised,
    SafetyKind,
    SessionEnded,
    SessionSummary,
    StateChanged,
    StepStarted,
)
from console.engine.runner import UNCONFIRMED_STOP
from console.faults import SimulatedClient
from console.waveforms import CURRENT_STEP_UA

#: Seconds the scripted operator takes to re-apply gel before resuming.
GEL_TIME_S = 15.0


def machine_unreachable(summary: SessionSummary) -> bool:
    """The session ended with a stop the machine could not confirm: only the operator's hands
    (probes off the skin, the machine's power switch) make sure the output is off."""
    return any(e.action.startswith(UNCONFIRMED_STOP) for e in summary.events)


class OperatorAction(enum.StrEnum):
    """An action a scenario can expect of the trainee."""

    REAPPLY_GEL = "reapply_gel"
    LOWER_INTENSITY = "lower_intensity"
    RESUME = "resume"
    SECURE_MACHINE = "secure_machine"

    @property
    def describe(self) -> str:
        """The action in the trainee's words."""
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    OperatorAction.REAPPLY_GEL: "re-apply gel when the contact gets poor",
    OperatorAction.LOWER_INTENSITY: "lower the intensity when the client twitches",
    OperatorAction.RESUME: "put the probes back and resume",
    OperatorAction.SECURE_MACHINE: (
        "lift the probes and switch the machine off when it stops answering"
    ),
}


@dataclass(frozen=True, slots=True)
class ActionTaken:
    """The operator took ``action`` at clock time ``at_s``."""

    action: OperatorAction
    at_s: float
    detail: str = ""


class ActionLog:
    """Engine subscriber: the operator's actions in one session, in order. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._taken: list[ActionTaken] = []
        self._step_target: float | None = None

    @property
    def taken(self) -> list[ActionTaken]:
        """Every action so far."""
        with self._lock:
            return list(self._taken)

    def did(self, action: OperatorAction) -> bool:
        """True if the operator took ``action`` at least once."""
        return any(taken.action is action for taken in self.taken)

    def record(self, action: OperatorAction, at_s: float, detail: str = "") -> None:
        """An action the engine does not see (the machine secured after the session)."""
        with self._lock:
            self._taken.append(ActionTaken(action, at_s, detail))

    def __call__(self, event: EngineEvent) -> None:
        if isinstance(event, SafetyEventRaised) and event.event.kind is SafetyKind.GEL_REAPPLIED:
            self.record(OperatorAction.REAPPLY_GEL, event.event.at_s, event.event.message)
        elif (
            isinstance(event, StateChanged)
            and event.previous is EngineState.PAUSED
            and event.state is EngineState.RAMPING
        ):
            self.record(OperatorAction.RESUME, event.at_s, event.reason)
        elif isinstance(event, StepStarted):
            self._step_target = None
        elif isinstance(event, Progress):
            before, self._step_target = self._step_target, event.target_ua
            if before is not None and event.target_ua < before:
                self.record(
                    OperatorAction.LOWER_INTENSITY,
                    event.at_s,
                    f"from {before:.0f} to {event.target_ua:.0f} µA",
                )

    def judge(self, expected: Iterable[OperatorAction]) -> list[str]:
        """What the trainee was expected to do and did not (empty when they did it all)."""
        return [
            f"the trainee did not {action.describe}" for action in expected if not self.did(action)
        ]


class ScriptedOperator:
    """Engine subscriber that takes a scenario's expected actions in a headless run.

    ``orders``: the actions it takes. Re-applying gel answers the console's "contact is getting
    poor" prompt and, with :attr:`OperatorAction.RESUME` in its orders, resumes after
    :data:`GEL_TIME_S` on the engine's clock; securing the machine
    answers a session interrupted by a machine that no longer answers (the console cannot know
    its output is off), on the simulated client. Lowering the intensity answers the client's
    twitch: call :meth:`client_twitched`.
    """

    def __init__(
        self,
        orders: Iterable[OperatorAction],
        reapply_gel: Callable[[], None],
        resume: Callable[[], None],
        adjust_intensity: Callable[[float], None],
        client: SimulatedClient | None,
        log: ActionLog,
        say: Callable[[str], None] = lambda _text: None,
    ) -> None:
        self.orders = frozenset(orders)
        self._reapply_gel = reapply_gel
        self._resume = resume
        self._adjust_intensity = adjust_intensity
        self._client = client
        self.log = log
        self._say = say
        self._gelled_at: float | None = None

    def __call__(self, event: EngineEvent) -> None:
        if isinstance(event, SafetyEventRaised):
            safety = event.event
            if safety.kind is SafetyKind.CONTACT_HIGH and OperatorAction.REAPPLY_GEL in self.orders:
                self._say("OPERATOR: re-applies gel (output paused meanwhile).")
                self._gelled_at = safety.at_s
                self._reapply_gel()
        elif isinstance(event, Progress) and self._gelled_at is not None:
            if event.at_s - self._gelled_at >= GEL_TIME_S:
                self._gelled_at = None
                if OperatorAction.RESUME in self.orders:
                    self._say("OPERATOR: probes back on the freshly gelled skin; resumes.")
                    self._resume()
        elif isinstance(event, SessionEnded):
            self._gelled_at = None
            if machine_unreachable(event.summary) and OperatorAction.SECURE_MACHINE in self.orders:
                self._secure_machine(event)

    def client_twitched(self, current_ua: float, target_ua: float, threshold_ua: float) -> None:
        """The client twitches: lower the intensity to just under her threshold at once."""
        if OperatorAction.LOWER_INTENSITY not in self.orders:
            return
        excess = max(current_ua, target_ua) - threshold_ua
        steps = math.ceil(excess / CURRENT_STEP_UA - 1e-9)
        if steps > 0:
            self._adjust_intensity(-steps * CURRENT_STEP_UA)

    def _secure_machine(self, event: SessionEnded) -> None:
        at_s = event.summary.started_at_s + event.summary.elapsed_s
        if self._client is not None:
            self._client.lift_probes()
            self._client.switch_off()
        self.log.record(OperatorAction.SECURE_MACHINE, at_s, "probes lifted, machine switched off")
        self._say("OPERATOR: lifts both probes off the skin and switches the machine off.")
