"""What a simulated client shows that no machine measures: a muscle twitching under the probes.

In a clinic the operator's eyes catch it: visible twitching means the current is too high for
this client, and the operator lowers the intensity (docs/safety.md, sources). A training
scenario gives its simulated client a threshold; :class:`ClientReactions` watches the engine's
progress and says when the client twitches, when it stops, and whether the trainee lowered the
intensity. No Qt and no engine internals: it is an engine subscriber like any other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from console.engine.events import EngineEvent, Progress, StepStarted
from console.protocols import Protocol
from console.zones import zone_catalog

#: The reaction kinds a scenario can expect.
REACTIONS = ("twitch",)


@dataclass(frozen=True, slots=True)
class Reaction:
    """The client reacted: ``kind`` (see :data:`REACTIONS`) at clock time ``at_s``."""

    kind: str
    at_s: float
    step_index: int
    zone: str
    current_ua: float
    #: What the current was heading for (the step's setting with the operator's intensity change).
    target_ua: float
    message: str


class ClientReactions:
    """Engine subscriber: a simulated client who twitches above ``twitch_above_ua``.

    ``on_reaction`` is called (on the engine's event thread) once when a twitch starts; it is
    called again only after the current has come down to the threshold and gone above it again.
    """

    def __init__(
        self,
        protocol: Protocol,
        twitch_above_ua: float,
        on_reaction: Callable[[Reaction], None] | None = None,
    ) -> None:
        self.protocol = protocol
        self.twitch_above_ua = float(twitch_above_ua)
        self.on_reaction = on_reaction
        self.reactions: list[Reaction] = []
        #: The trainee turned the intensity below a step's setting after the client twitched.
        self.lowered_after_twitch = False
        self._twitching = False
        self._lock = threading.Lock()

    @property
    def twitching(self) -> bool:
        """True while the current is above the client's threshold."""
        return self._twitching

    def __call__(self, event: EngineEvent) -> None:
        if isinstance(event, StepStarted):
            self._twitching = False  # a new zone: the probes have moved
            return
        if not isinstance(event, Progress):
            return
        step = self.protocol.steps[event.step_index]
        reaction = None
        with self._lock:
            if self.reactions and event.target_ua < step.waveform.current_ua:
                self.lowered_after_twitch = True
            above = event.setpoint_ua > self.twitch_above_ua
            if above and not self._twitching:
                zone = zone_catalog().get(step.zone)
                where = zone.name if zone is not None else step.zone
                reaction = Reaction(
                    kind="twitch",
                    at_s=event.at_s,
                    step_index=event.step_index,
                    zone=step.zone,
                    current_ua=event.setpoint_ua,
                    target_ua=event.target_ua,
                    message=(
                        f"The client's muscle twitches visibly under the probes ({where}, "
                        f"{event.setpoint_ua:.0f} µA): the current is too high for this client. "
                        "Lower the intensity until it stops."
                    ),
                )
                self.reactions.append(reaction)
            self._twitching = above
        if reaction is not None and self.on_reaction is not None:
            self.on_reaction(reaction)

    def judge(self, expected: tuple[str, ...]) -> list[str]:
        """What did not happen of the ``expected`` reactions, or was not handled."""
        seen = {reaction.kind for reaction in self.reactions}
        problems = [
            f"expected the client to react ({kind}), they did not"
            for kind in expected
            if kind not in seen
        ]
        if "twitch" in seen and not self.lowered_after_twitch:
            problems.append("the client twitched and the intensity was never lowered")
        return problems
