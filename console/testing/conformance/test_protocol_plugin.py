"""Protocol plugin checks (``--protocol-plugin NAME``): one test per rule, once per protocol.

The plugin's ``register_protocols()`` is called directly, so a protocol the console would refuse
is still checked and every problem is named (the console itself refuses it with the same reasons:
``mc-console plugins``).

Placement warnings (``resources/face_zones.json``) are free text; the kit checks two simple
rules that follow from them and never reads more into the text than that:

* **Eye area**: a step on a zone of the ``eye`` region uses at most :data:`EYE_MAX_UA`.
* **Midline**: no step's technique tells the operator to work across the midline (one of
  :data:`CROSSING_PHRASES`, unless a negation such as "never" or "not" precedes it in the same
  clause). Zones are one side of the face or its centre; current goes between probes on one zone.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from console.protocols import MAX_SESSION_S, MAX_STEP_S, MIN_STEP_S, Protocol, validate_protocol
from console.testing.conformance.kit import ProtocolPluginUnderTest, fail
from console.zones import zone_catalog

Figure = Callable[[str], None]

#: Highest current a step on the eye area may use, µA.
EYE_MAX_UA = 200.0
#: Technique phrases that send current across the midline of the face or neck.
CROSSING_PHRASES = (
    "across the midline",
    "over the midline",
    "across the face",
    "across the forehead",
    "across the head",
    "across the throat",
    "across the neck",
    "temple to temple",
    "ear to ear",
    "one side to the other",
    "to the other side",
    "both sides at once",
)
_NEGATION = re.compile(r"\b(never|not|no|avoid|don't|do not|without)\b")


def crossing_phrase(technique: str) -> str | None:
    """The first phrase of :data:`CROSSING_PHRASES` the technique asks for (not negated)."""
    for clause in re.split(r"[.;:,!?]", technique.lower()):
        for phrase in CROSSING_PHRASES:
            at = clause.find(phrase)
            if at >= 0 and not _NEGATION.search(clause[:at]):
                return phrase
    return None


def _steps(protocol: Protocol) -> str:
    return f"protocol {protocol.id!r}"


def test_plugin_loads_and_registers_protocols(
    protocol_plugin: ProtocolPluginUnderTest, figure: Figure
) -> None:
    """The plugin loads, declares a supported API version and returns Protocol objects."""
    if protocol_plugin.problem:
        fail(
            f"{protocol_plugin.problem}. A protocol plugin declares mc_console_api and implements "
            "register_protocols() returning a list of console.protocols.Protocol (see "
            "console/hookspecs.py)"
        )
    figure(
        f"{protocol_plugin.name} ({protocol_plugin.origin}): "
        + ", ".join(protocol.id for protocol in protocol_plugin.protocols)
    )
    if protocol_plugin.refused:
        fail(
            "the console refused some of what the plugin registers: "
            + "; ".join(protocol_plugin.refused)
        )


def test_protocol_ids_are_unique(protocol_plugin: ProtocolPluginUnderTest) -> None:
    """No two protocols of the plugin share an id, and none takes another plugin's id."""
    counts = Counter(protocol.id for protocol in protocol_plugin.protocols)
    problems = [
        f"{count} protocols have the id {protocol_id!r}"
        for protocol_id, count in counts.items()
        if count > 1
    ]
    problems += [
        f"the id {protocol_id!r} is already registered by plugin {protocol_plugin.others[protocol_id]!r}"
        for protocol_id in counts
        if protocol_id in protocol_plugin.others
    ]
    if problems:
        fail(
            "; ".join(problems) + ". The console refuses a protocol whose id is taken (only the "
            "first registered keeps it): give each protocol its own id, e.g. prefixed with your "
            "company name"
        )


def test_steps_are_within_the_hard_limits(protocol: Protocol) -> None:
    """Every step's waveform is within the hard limits (current, frequency, ramp, reversal)."""
    problems = [
        f"step {number} ({step.zone}): {problem}"
        for number, step in enumerate(protocol.steps, start=1)
        for problem in step.waveform.problems()
    ]
    if problems:
        fail(
            f"{_steps(protocol)}: "
            + "; ".join(problems)
            + ". No protocol may go beyond the hard limits (console/waveforms.py); the console "
            "refuses the whole protocol"
        )


def test_zones_exist(protocol: Protocol) -> None:
    """Every step is on a zone of the console's face map."""
    zones = zone_catalog()
    unknown = [
        f"step {number}: {step.zone!r}"
        for number, step in enumerate(protocol.steps, start=1)
        if step.zone not in zones
    ]
    if unknown:
        fail(
            f"{_steps(protocol)} uses zones the console does not know ({', '.join(unknown)}); "
            f"use the ids of resources/face_zones.json: {', '.join(zones)}"
        )


def test_placement_warnings_are_respected(protocol: Protocol) -> None:
    """Eye-area steps stay at or under 200 µA; no technique works across the midline."""
    zones = zone_catalog()
    problems = []
    for number, step in enumerate(protocol.steps, start=1):
        zone = zones.get(step.zone)
        if zone is not None and zone.region == "eye" and step.waveform.current_ua > EYE_MAX_UA:
            problems.append(
                f"step {number} ({step.zone}) uses {step.waveform.current_ua:g} µA on the eye area, "
                f"above {EYE_MAX_UA:g} µA (the zone's warning: {zone.placement_warning or 'none'})"
            )
        phrase = crossing_phrase(step.technique)
        if phrase is not None:
            warning = zone.placement_warning if zone is not None else None
            problems.append(
                f"step {number} ({step.zone}): the technique says {phrase!r}: current must not "
                "cross the midline; keep both probes on one side of the face"
                + (f" (the zone's warning: {warning})" if warning else "")
            )
    if problems:
        fail(
            f"{_steps(protocol)}: "
            + "; ".join(problems)
            + ". The console shows each zone's placement warning beside the technique: the "
            "technique must not ask for what the warning forbids"
        )


def test_every_step_says_where_the_probes_go(protocol: Protocol) -> None:
    """Every step has a placement (two landmarks, the movement and where it goes): the console
    checks it against the keep-out rules and the face map draws it; a step without one runs with
    a note that nothing checks where its current flows."""
    missing = [
        f"step {number} ({step.zone})"
        for number, step in enumerate(protocol.steps, start=1)
        if step.placement is None
    ]
    if missing:
        fail(
            f"{_steps(protocol)}: {', '.join(missing)} give no placement; add "
            "Step(..., placement=Placement((probe, probe), MotionKind..., toward=landmark)) "
            "(docs/writing-a-protocol-plugin.md, section 4, Placement). "
            "console.probe_paths.suggested_placement(zone, technique) proposes one to check"
        )


def test_durations_are_sensible(protocol: Protocol) -> None:
    """Every step lasts 10–600 s and the whole session at most 90 minutes."""
    problems = [
        f"step {number} ({step.zone}) lasts {step.duration_s!r} s"
        for number, step in enumerate(protocol.steps, start=1)
        if not (
            isinstance(step.duration_s, int | float) and MIN_STEP_S <= step.duration_s <= MAX_STEP_S
        )
    ]
    if not protocol.steps:
        problems.append("it has no steps")
    elif protocol.duration_s > MAX_SESSION_S:
        problems.append(
            f"the session lasts {protocol.duration_s / 60:.0f} min, more than "
            f"{MAX_SESSION_S / 60:.0f} min"
        )
    if problems:
        fail(
            f"{_steps(protocol)}: "
            + "; ".join(problems)
            + f". A step is {MIN_STEP_S:g}–{MAX_STEP_S:g} s on one zone (practice: 1–4 minutes), "
            f"a session at most {MAX_SESSION_S / 60:.0f} minutes"
        )


def test_recommended_series_is_stated(protocol: Protocol) -> None:
    """The protocol states a recommended course: sessions a week, how many, maintenance."""
    series = protocol.series
    problems = []
    sessions_per_week = getattr(series, "sessions_per_week", None)
    sessions = getattr(series, "sessions", None)
    maintenance = getattr(series, "maintenance_every_weeks", None)
    if not (isinstance(sessions_per_week, int | float) and 0 < sessions_per_week <= 7):
        problems.append(f"{sessions_per_week!r} sessions a week (give more than 0, at most 7)")
    if not (isinstance(sessions, int) and 1 <= sessions <= 52):
        problems.append(f"{sessions!r} sessions is not a whole number within 1–52")
    if not (
        isinstance(maintenance, tuple)
        and len(maintenance) == 2
        and all(isinstance(weeks, int) for weeks in maintenance)
        and 1 <= maintenance[0] <= maintenance[1] <= 26
    ):
        problems.append(f"maintenance every {maintenance!r} weeks is not a range within 1–26")
    if problems:
        fail(
            f"{_steps(protocol)}: its recommended series is incomplete: "
            + "; ".join(problems)
            + ". State it with console.protocols.RecommendedSeries(sessions_per_week, sessions, "
            "(low, high) weeks between maintenance sessions): operators plan the course from it"
        )


def test_console_accepts_the_protocol(protocol: Protocol) -> None:
    """``console.protocols.validate_protocol`` finds nothing: the console will offer it."""
    problems = validate_protocol(protocol)
    if problems:
        fail(
            f"the console refuses {_steps(protocol)}: "
            + "; ".join(problems)
            + " (console.protocols.validate_protocol)"
        )
