"""Protocols: ordered steps on facial zones, with validation that names every problem.

A protocol is what a protocol plugin contributes (or, later, a data file): lifting, toning,
circulation. It is validated when it is built, so a broken protocol never reaches the engine.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from console.charge import planned_charge
from console.placement import Placement, placement_from_mapping, placement_problems
from console.problems import ProblemKind, RuleProblem
from console.waveforms import (
    COMFORT_CURRENT_UA,
    HARD_MAX_CURRENT_UA,
    Polarity,
    Waveform,
    WaveShape,
)
from console.zones import Zone, ZoneCatalog, zone_catalog

#: Practice: 1–4 minutes a zone. Shorter or longer than these is an error, not a style.
MIN_STEP_S = 10.0
MAX_STEP_S = 10 * 60.0
#: A professional session is 20–60 minutes; above this a protocol is refused.
MAX_SESSION_S = 90 * 60.0
#: Protocol ids are used on the command line and as registry keys.
ID_ALPHABET = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")


class ProtocolError(ValueError):
    """A protocol is invalid. ``problems`` lists every problem (sentences that also say which
    step and fields they are about, :class:`~console.problems.RuleProblem`); ``str()`` joins
    them."""

    def __init__(self, protocol_id: str, problems: list[str]) -> None:
        self.protocol_id = protocol_id
        self.problems = problems
        super().__init__(
            f"protocol {protocol_id!r} is invalid: " + "; ".join(problems)
            if len(problems) == 1
            else f"protocol {protocol_id!r} has {len(problems)} problems:\n  - "
            + "\n  - ".join(problems)
        )


@dataclass(frozen=True, slots=True)
class Step:
    """One zone of a protocol: where, what waveform, how long, and what the hands do.

    ``technique`` is the operator's cue; ``placement`` is where the probes go as data (the two
    landmarks, the movement and where it goes), checked against the keep-out rules and drawn on
    the face map. A step without one is allowed, with a note that nothing checks or shows where
    the current flows.
    """

    zone: str
    waveform: Waveform
    duration_s: float
    technique: str
    placement: Placement | None = None

    @property
    def planned_charge_uc(self) -> float:
        """Charge the step delivers if it runs undisturbed (the ramp counts at half current), µC."""
        wf = self.waveform
        at_full = max(self.duration_s - wf.ramp_s, 0.0) + min(wf.ramp_s, self.duration_s) / 2
        return wf.current_ua * wf.shape.mean_abs_factor * at_full


@dataclass(frozen=True, slots=True)
class RecommendedSeries:
    """How a course of this protocol is usually prescribed."""

    sessions_per_week: float
    sessions: int
    maintenance_every_weeks: tuple[int, int]

    def describe(self) -> str:
        """``10 sessions, 2 a week, then maintenance every 4–6 weeks``."""
        low, high = self.maintenance_every_weeks
        weeks = f"{low}" if low == high else f"{low}–{high}"
        return (
            f"{self.sessions} sessions, {self.sessions_per_week:g} a week, "
            f"then maintenance every {weeks} weeks"
        )


@dataclass(frozen=True, slots=True)
class Protocol:
    """An ordered list of steps with its purpose and recommended series."""

    id: str
    name: str
    category: str
    description: str
    steps: tuple[Step, ...]
    series: RecommendedSeries
    version: str = "1"
    warnings: tuple[str, ...] = field(default=())

    @property
    def duration_s(self) -> float:
        """Planned time of the application stage."""
        return sum(step.duration_s for step in self.steps)

    @property
    def zones(self) -> list[str]:
        """Zones in the order the protocol visits them (a zone visited twice appears once)."""
        return list(dict.fromkeys(step.zone for step in self.steps))

    @property
    def planned_charge_uc(self) -> float:
        """Total planned charge of an undisturbed run, µC."""
        return sum(step.planned_charge_uc for step in self.steps)


def validate_protocol(protocol: Protocol, zones: ZoneCatalog | None = None) -> list[RuleProblem]:
    """Every problem with ``protocol``, each naming its step and fields; empty if valid.

    The hard limits (safety rule 1), the zones' own rules (rule 8) and charge balance (rule 9)
    are all checked here; the engine calls this again before it sends anything, so a protocol a
    plugin builds by hand cannot get past them.
    """
    zones = zones if zones is not None else zone_catalog()
    found: list[RuleProblem] = []
    if not protocol.id or not set(protocol.id) <= ID_ALPHABET:
        found.append(
            RuleProblem(
                f"id {protocol.id!r} must be non-empty lowercase letters, digits, '-', '_' or '.'",
                fields=("id",),
            )
        )
    if not protocol.name.strip():
        found.append(RuleProblem("name is empty", fields=("name",)))
    if not protocol.steps:
        found.append(RuleProblem("has no steps", fields=("steps",)))
    for number, step in enumerate(protocol.steps, start=1):
        found.extend(problem.in_step(number, step.zone) for problem in _step_problems(step, zones))
    found.extend(_zone_totals(protocol, zones))
    if protocol.steps and protocol.duration_s > MAX_SESSION_S:
        found.append(
            RuleProblem(
                f"total time {protocol.duration_s / 60:.0f} min exceeds "
                f"{MAX_SESSION_S / 60:.0f} min",
                fields=("steps",),
            )
        )
    found.extend(_series_problems(protocol.series))
    return found


def _step_problems(step: Step, zones: ZoneCatalog) -> list[RuleProblem]:
    """The problems of one step on its own (its zone's per-session totals come later)."""
    waveform_problems = step.waveform.problems()
    found = list(waveform_problems)
    zone = zones.get(step.zone)
    if zone is None:
        found.insert(
            0,
            RuleProblem(
                f"unknown zone {step.zone!r}; known zones: {', '.join(zones)}",
                fields=("zone",),
                kind=ProblemKind.UNKNOWN_ZONE,
            ),
        )
    duration_ok = _duration_ok(step)
    if not duration_ok:
        found.append(
            RuleProblem(
                f"duration {step.duration_s!r} s is outside {MIN_STEP_S:g}–{MAX_STEP_S:g} s",
                fields=("duration_s",),
            )
        )
    elif step.waveform.ramp_s >= step.duration_s:
        found.append(
            RuleProblem(
                f"ramp-up {step.waveform.ramp_s:g} s is not shorter than the step",
                fields=("ramp_s", "duration_s"),
            )
        )
    if not step.technique.strip():
        found.append(
            RuleProblem(
                "technique is empty (tell the operator what the hands do)", fields=("technique",)
            )
        )
    if zone is not None:
        found.extend(_zone_rule_problems(step, zone))
        if step.placement is not None:
            found.extend(placement_problems(step.placement, zone, zones))
    if duration_ok and not waveform_problems:
        found.extend(_balance_problems(step))
    return found


def _zone_rule_problems(step: Step, zone: Zone) -> list[RuleProblem]:
    limits = zone.limits
    waveform = step.waveform
    found = []
    # Above the hard limit, that limit's sentence says it all.
    if _finite(waveform.current_ua) and (
        limits.max_current_ua < waveform.current_ua <= HARD_MAX_CURRENT_UA
    ):
        found.append(
            RuleProblem(
                f"current {waveform.current_ua:g} µA is above the {limits.max_current_ua:g} µA "
                f"allowed on {zone.name} (zone rule)",
                fields=("current_ua",),
                kind=ProblemKind.ZONE_RULE,
            )
        )
    if waveform.leaves_direct_current and not limits.monophasic_dc:
        found.append(
            RuleProblem(
                f"{waveform.polarity.value} {waveform.shape.value} pulses never reverse, and "
                f"{zone.name} allows no direct current (zone rule): alternate the polarity or "
                "use biphasic pulses",
                fields=("polarity",),
                kind=ProblemKind.ZONE_RULE,
            )
        )
    return found


def _balance_problems(step: Step) -> list[RuleProblem]:
    """A step that claims balance (it reverses) must give both polarities the same time.

    Whole periods in each phase are a rule of the waveform; this adds whole polarity cycles in
    the step. What is left is the ramp's first phase, small and bounded by the zone's net-charge
    limit (see :func:`_zone_totals`)."""
    waveform = step.waveform
    if waveform.leaves_direct_current:
        return []  # direct current by intent: bounded by the zone's net-charge limit
    if waveform.polarity is Polarity.ALTERNATING and waveform.shape is not WaveShape.BIPHASIC:
        cycle_s = 2 * waveform.reversal_interval_s
        if not _is_whole(step.duration_s / cycle_s):
            return [
                RuleProblem(
                    f"duration {step.duration_s:g} s is not a whole number of polarity cycles "
                    f"({cycle_s:g} s: one positive and one negative phase of "
                    f"{waveform.reversal_interval_s:g} s), so one polarity gets more time and "
                    f"charge than the other (make it {_nearest_multiple(step.duration_s, cycle_s)})",
                    fields=("duration_s",),
                    kind=ProblemKind.CHARGE_BALANCE,
                )
            ]
    return []


def _zone_totals(protocol: Protocol, zones: ZoneCatalog) -> list[RuleProblem]:
    """Per-session limits of each zone: time spent there and net charge left there."""
    found = []
    time_on: dict[str, float] = {}
    net_uc: dict[str, float] = {}
    reported: set[tuple[str, str]] = set()
    for number, step in enumerate(protocol.steps, start=1):
        zone = zones.get(step.zone)
        if zone is None or not _duration_ok(step) or step.waveform.problems():
            continue  # that step's own problems are listed; its totals would only repeat them
        limits = zone.limits
        time_on[zone.id] = time_on.get(zone.id, 0.0) + step.duration_s
        net_uc[zone.id] = (
            net_uc.get(zone.id, 0.0) + planned_charge(step.waveform, step.duration_s).net_uc
        )
        if time_on[zone.id] > limits.max_session_s and (zone.id, "time") not in reported:
            reported.add((zone.id, "time"))
            found.append(
                RuleProblem(
                    f"{time_on[zone.id] / 60:g} min on {zone.name} by this step is more than the "
                    f"{limits.max_session_s / 60:g} min a session may spend there (zone rule)",
                    fields=("duration_s",),
                    kind=ProblemKind.ZONE_RULE,
                ).in_step(number, step.zone)
            )
        if abs(net_uc[zone.id]) > limits.max_net_charge_uc and (zone.id, "net") not in reported:
            reported.add((zone.id, "net"))
            found.append(
                RuleProblem(
                    f"net charge on {zone.name} reaches {abs(net_uc[zone.id]):.0f} µC by this "
                    f"step, above the zone's limit of {limits.max_net_charge_uc:g} µC (charge "
                    "balance rule)",
                    fields=("polarity",) if step.waveform.leaves_direct_current else ("ramp_s",),
                    kind=ProblemKind.CHARGE_BALANCE,
                ).in_step(number, step.zone)
            )
    return found


def _series_problems(series: RecommendedSeries) -> list[RuleProblem]:
    found = []
    if not (0 < series.sessions_per_week <= 7):
        found.append(
            RuleProblem(
                f"series: {series.sessions_per_week!r} sessions a week is not 0–7",
                fields=("sessions_per_week",),
            )
        )
    if not (isinstance(series.sessions, int) and 1 <= series.sessions <= 52):
        found.append(
            RuleProblem(f"series: {series.sessions!r} sessions is not 1–52", fields=("sessions",))
        )
    low, high = series.maintenance_every_weeks
    if not (1 <= low <= high <= 26):
        found.append(
            RuleProblem(
                f"series: maintenance every {low}–{high} weeks is not a range within 1–26",
                fields=("maintenance_every_weeks",),
            )
        )
    return found


def _duration_ok(step: Step) -> bool:
    """The step's duration is a finite number within the step limits."""
    return isinstance(step.duration_s, int | float) and (
        math.isfinite(step.duration_s) and MIN_STEP_S <= step.duration_s <= MAX_STEP_S
    )


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _is_whole(value: float) -> bool:
    return value >= 1 - 1e-9 and abs(value - round(value)) < 1e-9


def _nearest_multiple(value: float, unit: float) -> str:
    low = max(1, math.floor(value / unit)) * unit
    high = math.ceil(value / unit) * unit
    return f"{low:g} s" if low == high else f"{low:g} s or {high:g} s"


def comfort_notes(protocol: Protocol) -> list[str]:
    """Advice (not errors): the protocol's own warnings, steps above the usual comfort level,
    zones with placement warnings."""
    zones = zone_catalog()
    notes: list[str] = list(protocol.warnings)  # the protocol author's own advice first
    for number, step in enumerate(protocol.steps, start=1):
        if step.waveform.current_ua > COMFORT_CURRENT_UA:
            notes.append(
                f"step {number} ({step.zone}): {step.waveform.current_ua:g} µA is above "
                f"{COMFORT_CURRENT_UA:g} µA, uncomfortable for many clients"
            )
    # One note per warning text: left and right zones usually share theirs.
    zones_by_warning: dict[str, list[str]] = {}
    for zone_id in protocol.zones:
        zone = zones.get(zone_id)
        if zone is not None and zone.placement_warning:
            zones_by_warning.setdefault(zone.placement_warning, []).append(zone.name)
    for warning, names in zones_by_warning.items():
        notes.append(f"{' and '.join(names)}: {warning}")
    unplaced = [number for number, step in enumerate(protocol.steps, 1) if step.placement is None]
    if unplaced:
        which = (
            "every step"
            if len(unplaced) == len(protocol.steps)
            else ("step " + ", ".join(map(str, unplaced)))
        )
        notes.append(
            f"{which}: no probe placement given, so nothing checks where the current flows "
            "(midline, eyes, front of the neck) and the face map shows no probe path; add a "
            "placement to each step"
        )
    return notes


def checked(protocol: Protocol) -> Protocol:
    """Return ``protocol`` if valid, else raise :class:`ProtocolError` listing every problem."""
    problems = validate_protocol(protocol)
    if problems:
        raise ProtocolError(protocol.id, problems)
    return protocol


# ---------------------------------------------------------------------------------------------
# Building protocols from plain data (dicts from TOML/JSON packs, or hypothesis in tests).


def protocol_from_mapping(data: Mapping[str, Any]) -> Protocol:
    """Build and validate a protocol from plain data; raises :class:`ProtocolError`.

    Expected keys: ``id``, ``name``, ``category``, ``description``, optional ``version``,
    ``series`` (``sessions_per_week``, ``sessions``, ``maintenance_every_weeks`` [low, high])
    and ``steps``: each with ``zone``, ``duration_s``, ``technique`` and the waveform fields
    ``shape``, ``frequency_hz``, ``current_ua``, ``polarity``, ``reversal_interval_s``, ``ramp_s``;
    optional ``warnings``: a list of texts shown with the protocol. Every problem names the
    step and field it is about (:class:`~console.problems.RuleProblem`).
    """
    protocol_id = str(data.get("id", "?"))
    problems: list[RuleProblem] = [
        RuleProblem(f"missing field {key!r}", fields=(key,), kind=ProblemKind.MISSING_FIELD)
        for key in ("id", "name", "category", "description", "steps", "series")
        if key not in data
    ]
    if problems:
        raise ProtocolError(protocol_id, problems)
    steps = []
    raw_steps = data["steps"]
    if not isinstance(raw_steps, list | tuple):
        problems.append(RuleProblem("steps must be a list", fields=("steps",)))
        raw_steps = ()
    for number, raw in enumerate(raw_steps, start=1):
        step = _step_from_mapping(raw, number, problems)
        if step is not None:
            steps.append(step)
    series = _series_from_mapping(data["series"], problems)
    texts: dict[str, str] = {}
    for key in ("name", "category", "description", "version"):
        text = _field(problems, key, _text, data.get(key, "1"))
        if text is not None:
            texts[key] = text
    warnings = data.get("warnings", [])
    if not isinstance(warnings, list | tuple) or not all(isinstance(w, str) for w in warnings):
        problems.append(
            RuleProblem(f"warnings must be a list of texts, got {warnings!r}", fields=("warnings",))
        )
    if problems:
        raise ProtocolError(protocol_id, problems)
    assert series is not None
    return checked(
        Protocol(
            id=protocol_id,
            name=texts["name"],
            category=texts["category"],
            description=texts["description"],
            version=texts["version"],
            steps=tuple(steps),
            series=series,
            warnings=tuple(warnings),
        )
    )


_STEP_REQUIRED = ("zone", "duration_s", "technique", "shape", "frequency_hz", "current_ua")


def _step_from_mapping(raw: Any, number: int, problems: list[RuleProblem]) -> Step | None:
    if not isinstance(raw, Mapping):
        problems.append(RuleProblem(f"step {number} must be a table of fields", step=number))
        return None
    missing = tuple(key for key in _STEP_REQUIRED if key not in raw)
    if missing:
        problems.append(
            RuleProblem(
                f"step {number}: missing field(s) {', '.join(map(repr, missing))}",
                fields=missing,
                kind=ProblemKind.MISSING_FIELD,
                step=number,
            )
        )
        return None
    found: list[RuleProblem] = []
    values = {
        "shape": _field(found, "shape", _choice, raw["shape"], WaveShape),
        "polarity": _field(
            found, "polarity", _choice, raw.get("polarity", Polarity.ALTERNATING.value), Polarity
        ),
        "frequency_hz": _field(found, "frequency_hz", _number, raw["frequency_hz"]),
        "current_ua": _field(found, "current_ua", _number, raw["current_ua"]),
        "reversal_interval_s": _field(
            found, "reversal_interval_s", _number, raw.get("reversal_interval_s", 2.0)
        ),
        "ramp_s": _field(found, "ramp_s", _number, raw.get("ramp_s", 1.0)),
        "zone": _field(found, "zone", _text, raw["zone"]),
        "duration_s": _field(found, "duration_s", _number, raw["duration_s"]),
        "technique": _field(found, "technique", _text, raw["technique"]),
        "placement": (
            _field(found, "placement", _placement, raw["placement"]) if "placement" in raw else None
        ),
    }
    if found:
        problems.extend(
            RuleProblem(
                f"step {number}: {problem}", fields=problem.fields, kind=problem.kind, step=number
            )
            for problem in found
        )
        return None
    return Step(
        zone=values["zone"],
        waveform=Waveform(
            shape=values["shape"],
            frequency_hz=values["frequency_hz"],
            current_ua=values["current_ua"],
            polarity=values["polarity"],
            reversal_interval_s=values["reversal_interval_s"],
            ramp_s=values["ramp_s"],
        ),
        duration_s=values["duration_s"],
        technique=values["technique"],
        placement=values["placement"],
    )


def _series_from_mapping(raw: Any, problems: list[RuleProblem]) -> RecommendedSeries | None:
    if not isinstance(raw, Mapping):
        problems.append(RuleProblem("series must be a table of fields", fields=("series",)))
        return None
    missing = [key for key in SERIES_KEYS if key not in raw]
    for key in missing:
        problems.append(
            RuleProblem(
                f"series: missing field {key!r}", fields=(key,), kind=ProblemKind.MISSING_FIELD
            )
        )
    if missing:
        return None
    found: list[RuleProblem] = []
    per_week = _field(found, "sessions_per_week", _number, raw["sessions_per_week"])
    sessions = _field(found, "sessions", _whole, raw["sessions"])
    weeks = _field(found, "maintenance_every_weeks", _week_range, raw["maintenance_every_weeks"])
    problems.extend(problem.prefixed("series: ") for problem in found)
    if found:
        return None
    return RecommendedSeries(
        sessions_per_week=per_week, sessions=sessions, maintenance_every_weeks=weeks
    )


#: The fields of a protocol's ``series`` table.
SERIES_KEYS = ("sessions_per_week", "sessions", "maintenance_every_weeks")


def _placement(value: Any, name: str) -> Placement:
    return placement_from_mapping(value, name)


def _field(problems: list[RuleProblem], name: str, convert: Any, value: Any, *more: Any) -> Any:
    """``convert(value, name, *more)``, or None with the problem noted against field ``name``."""
    try:
        return convert(value, name, *more)
    except ValueError as bad:
        problems.append(RuleProblem(str(bad), fields=(name,)))
        return None


def _choice(value: Any, name: str, kind: type[enum.StrEnum]) -> Any:
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise ValueError(f"{name} {value!r} is not one of {choices}") from None


def _week_range(value: Any, name: str) -> tuple[int, int]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"{name} must be [low, high] weeks, got {value!r}")
    return (_whole(value[0], name), _whole(value[1], name))


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        return float(value)
    except OverflowError:  # an integer beyond float range, as JSON allows
        raise ValueError(f"{name} {value} is too large") from None


def _whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text, got {value!r}")
    return value
