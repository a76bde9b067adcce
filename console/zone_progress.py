"""Which zones of a protocol are pending, active, done or skipped — what the face map colours.

Plain Python: computed from the protocol, the running step and the step deliveries, so that the
face map, the command line and tests agree on it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from console.engine.events import StepDelivery
from console.protocols import Protocol


class ZoneState(enum.StrEnum):
    """How a zone stands in the current treatment."""

    NOT_IN_PROTOCOL = "not in this protocol"
    PENDING = "pending"
    ACTIVE = "active"
    DONE = "done"
    SKIPPED = "skipped"  #: a step there was cut short or never reached in an ended session


def zone_states(
    protocol: Protocol | None,
    zone_ids: Iterable[str],
    active_step: int | None,
    deliveries: Iterable[StepDelivery],
    ended: bool,
) -> dict[str, ZoneState]:
    """State of every zone in ``zone_ids``.

    A zone is *done* when every step on it delivered its full time, *active* while its step runs,
    *skipped* when one of its steps was cut short (or, once the session ended, never ran), and
    *pending* otherwise.
    """
    states = dict.fromkeys(zone_ids, ZoneState.NOT_IN_PROTOCOL)
    if protocol is None:
        return states
    delivered = {d.index: d for d in deliveries}
    for zone in protocol.zones:
        indices = [i for i, step in enumerate(protocol.steps) if step.zone == zone]
        if active_step is not None and active_step in indices and not ended:
            states[zone] = ZoneState.ACTIVE
        elif any(i in delivered and not delivered[i].completed for i in indices):
            states[zone] = ZoneState.SKIPPED
        elif all(i in delivered and delivered[i].completed for i in indices):
            states[zone] = ZoneState.DONE
        elif ended:
            states[zone] = ZoneState.SKIPPED
        else:
            states[zone] = ZoneState.PENDING
    return states
