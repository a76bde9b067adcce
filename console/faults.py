"""Fault injection specs for simulated machines: ``NAME@SECONDS`` or ``NAME@SECONDS+DURATION``.

A driver that can simulate faults offers ``fault_names`` and ``schedule(fault, at_s, duration_s)``
(:class:`FaultInjector`); the command line and the trainer's scenarios use this to plan faults on
the session's timeline. Real machines do not offer it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

_SPEC = re.compile(r"^\s*(?P<name>[a-z_]+)\s*@\s*(?P<at>[^+\s]+)\s*(?:\+\s*(?P<dur>\S+))?\s*$")


@runtime_checkable
class FaultInjector(Protocol):
    """A driver that can be told to misbehave at a given clock time."""

    fault_names: tuple[str, ...]

    def schedule_fault(self, name: str, at_s: float, duration_s: float | None = None) -> None:
        """Start fault ``name`` at clock time ``at_s``; end it ``duration_s`` later if given."""


@runtime_checkable
class SimulatedClient(Protocol):
    """A simulated machine whose simulated client feels what the operator's hands do.

    On a real machine these happen on the client, out of the console's reach; the simulator
    needs to be told, so its skin and machine answer as a real client's and machine would.
    """

    def new_client(self) -> None:
        """A new client under the probes: fresh gel on skin that has not soaked it up yet."""

    def apply_gel(self) -> None:
        """The operator puts fresh gel on the probes now."""

    def lift_probes(self) -> None:
        """The operator takes both probes off the skin."""

    def switch_off(self) -> None:
        """The operator switches the machine off at its power switch."""


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """One planned fault, relative to the start of the session."""

    name: str
    at_s: float
    duration_s: float | None = None

    def describe(self) -> str:
        """``contact_loss at 30 s for 5 s``."""
        lasting = f" for {self.duration_s:g} s" if self.duration_s is not None else ""
        return f"{self.name} at {self.at_s:g} s{lasting}"


def parse_fault_spec(text: str, known: tuple[str, ...] | None = None) -> FaultSpec:
    """Parse ``NAME@SECONDS[+DURATION]``; ``SECONDS`` may also be ``MM:SS``.

    Raises ValueError with a message that says what is wrong and what would be right.
    """
    match = _SPEC.match(text)
    if not match:
        names = f"; faults: {', '.join(known)}" if known else ""
        raise ValueError(
            f"fault {text!r} does not parse; write NAME@SECONDS or NAME@SECONDS+DURATION, "
            f"e.g. contact_loss@90+5{names}"
        )
    name = match["name"]
    if known is not None and name not in known:
        raise ValueError(f"unknown fault {name!r} in {text!r}; known faults: {', '.join(known)}")
    at_s = _seconds(match["at"], text)
    duration = _seconds(match["dur"], text) if match["dur"] is not None else None
    if duration is not None and duration <= 0:
        raise ValueError(f"fault {text!r}: the duration must be above 0 s")
    return FaultSpec(name, at_s, duration)


def _seconds(raw: str, text: str) -> float:
    try:
        if ":" in raw:
            minutes, seconds = raw.split(":")
            if minutes.startswith("-"):
                raise ValueError(f"fault {text!r}: time {raw!r} must be zero or more seconds")
            if not minutes.isdigit() or not seconds.replace(".", "", 1).isdigit():
                raise ValueError(raw)
            if float(seconds) >= 60:
                raise ValueError(f"fault {text!r}: {raw!r} has {seconds} seconds; MM:SS needs 0–59")
            value = int(minutes) * 60 + float(seconds)
        else:
            value = float(raw)
    except ValueError as bad:
        if str(bad).startswith("fault "):
            raise
        raise ValueError(f"fault {text!r}: {raw!r} is not a time (seconds or MM:SS)") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"fault {text!r}: time {raw!r} must be zero or more seconds")
    return value
