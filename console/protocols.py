"""Protocols: ordered steps on facial zones, with validation that names every problem.

A protocol is what a protocol plugin contributes (or, later, a data file): lifting, toning,
circulation. It is validated when it is built, so a broken protocol never reaches the engine.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from console.waveforms import COMFORT_CURRENT_UA, Polarity, Waveform, WaveShape
from console.zones import ZoneCatalog, zone_catalog

#: Practice: 1–4 minutes a zone. Shorter or longer than these is an error, not a style.
MIN_STEP_S = 10.0
MAX_STEP_S = 10 * 60.0
#: A professional session is 20–60 minutes; above this a protocol is refused.
MAX_SESSION_S = 90 * 60.0
#: Protocol ids are used on the command line and as registry keys.
ID_ALPHABET = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")


class ProtocolError(ValueError):
    """A protocol is invalid. ``problems`` lists every sentence; ``str()`` joins them."""

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
    """One zone of a protocol: where, what waveform, how long, and what the hands do."""

    zone: str
    waveform: Waveform
    duration_s: float
    technique: str

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


def validate_protocol(protocol: Protocol, zones: ZoneCatalog | None = None) -> list[str]:
    """Every problem with ``protocol`` as a sentence that names the step and field; empty if valid."""
    zones = zones if zones is not None else zone_catalog()
    found: list[str] = []
    if not protocol.id or not set(protocol.id) <= ID_ALPHABET:
        found.append(
            f"id {protocol.id!r} must be non-empty lowercase letters, digits, '-', '_' or '.'"
        )
    if not protocol.name.strip():
        found.append("name is empty")
    if not protocol.steps:
        found.append("has no steps")
    for number, step in enumerate(protocol.steps, start=1):
        where = f"step {number} ({step.zone})"
        if step.zone not in zones:
            found.append(f"{where}: unknown zone {step.zone!r}; known zones: {', '.join(zones)}")
        found.extend(f"{where}: {problem}" for problem in step.waveform.problems())
        if not isinstance(step.duration_s, int | float) or not (
            math.isfinite(step.duration_s) and MIN_STEP_S <= step.duration_s <= MAX_STEP_S
        ):
            found.append(
                f"{where}: duration {step.duration_s!r} s is outside "
                f"{MIN_STEP_S:g}–{MAX_STEP_S:g} s"
            )
        elif step.waveform.ramp_s >= step.duration_s:
            found.append(
                f"{where}: ramp-up {step.waveform.ramp_s:g} s is not shorter than the step"
            )
        if not step.technique.strip():
            found.append(f"{where}: technique is empty (tell the operator what the hands do)")
    if protocol.steps and protocol.duration_s > MAX_SESSION_S:
        found.append(
            f"total time {protocol.duration_s / 60:.0f} min exceeds {MAX_SESSION_S / 60:.0f} min"
        )
    series = protocol.series
    if not (0 < series.sessions_per_week <= 7):
        found.append(f"series: {series.sessions_per_week!r} sessions a week is not 0–7")
    if not (isinstance(series.sessions, int) and 1 <= series.sessions <= 52):
        found.append(f"series: {series.sessions!r} sessions is not 1–52")
    low, high = series.maintenance_every_weeks
    if not (1 <= low <= high <= 26):
        found.append(f"series: maintenance every {low}–{high} weeks is not a range within 1–26")
    return found


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
    optional ``warnings``: a list of texts shown with the protocol.
    """
    protocol_id = str(data.get("id", "?"))
    problems: list[str] = []
    for key in ("id", "name", "category", "description", "steps", "series"):
        if key not in data:
            problems.append(f"missing field {key!r}")
    if problems:
        raise ProtocolError(protocol_id, problems)
    steps = []
    for number, raw in enumerate(_as_list(data["steps"], "steps", problems), start=1):
        step = _step_from_mapping(raw, f"step {number}", problems)
        if step is not None:
            steps.append(step)
    series = _series_from_mapping(data["series"], problems)
    texts: dict[str, str] = {}
    for key in ("name", "category", "description", "version"):
        try:
            texts[key] = _text(data.get(key, "1"), key)
        except ValueError as bad:
            problems.append(str(bad))
    warnings = data.get("warnings", [])
    if not isinstance(warnings, list | tuple) or not all(isinstance(w, str) for w in warnings):
        problems.append(f"warnings must be a list of texts, got {warnings!r}")
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


def _as_list(value: Any, where: str, problems: list[str]) -> Iterable[Any]:
    if isinstance(value, list | tuple):
        return value
    problems.append(f"{where} must be a list")
    return ()


def _step_from_mapping(raw: Any, where: str, problems: list[str]) -> Step | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{where} must be a table of fields")
        return None
    missing = [
        key
        for key in ("zone", "duration_s", "technique", "shape", "frequency_hz", "current_ua")
        if key not in raw
    ]
    if missing:
        problems.append(f"{where}: missing field(s) {', '.join(map(repr, missing))}")
        return None
    try:
        waveform = Waveform(
            shape=WaveShape(raw["shape"]),
            frequency_hz=_number(raw["frequency_hz"], "frequency_hz"),
            current_ua=_number(raw["current_ua"], "current_ua"),
            polarity=Polarity(raw.get("polarity", Polarity.ALTERNATING.value)),
            reversal_interval_s=_number(raw.get("reversal_interval_s", 2.0), "reversal_interval_s"),
            ramp_s=_number(raw.get("ramp_s", 1.0), "ramp_s"),
        )
        return Step(
            zone=_text(raw["zone"], "zone"),
            waveform=waveform,
            duration_s=_number(raw["duration_s"], "duration_s"),
            technique=_text(raw["technique"], "technique"),
        )
    except ValueError as bad:
        problems.append(f"{where}: {bad}")
        return None


def _series_from_mapping(raw: Any, problems: list[str]) -> RecommendedSeries | None:
    if not isinstance(raw, Mapping):
        problems.append("series must be a table of fields")
        return None
    try:
        weeks = raw["maintenance_every_weeks"]
        if not isinstance(weeks, list | tuple) or len(weeks) != 2:
            raise ValueError(f"maintenance_every_weeks must be [low, high] weeks, got {weeks!r}")
        low, high = weeks
        return RecommendedSeries(
            sessions_per_week=_number(raw["sessions_per_week"], "sessions_per_week"),
            sessions=_whole(raw["sessions"], "sessions"),
            maintenance_every_weeks=(
                _whole(low, "maintenance_every_weeks"),
                _whole(high, "maintenance_every_weeks"),
            ),
        )
    except KeyError as missing:
        problems.append(f"series: missing field {missing}")
    except ValueError as bad:
        problems.append(f"series: {bad}")
    return None


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
