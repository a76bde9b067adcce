"""Training scenarios: a protocol, a timeline of machine and skin faults, and what should happen.

Scenarios are TOML files: the shipped ones in ``resources/scenarios/``, a trainer's in any folder.
Each names the protocol, the faults the simulated machine plays (``NAME@MM:SS[+DURATION]``), the
contraindications the client has, what the trainee must do (``trainee_action``, in words), how
long the scripted operator takes to resume a pause (``resume_after_s``), an optional
``[client]`` table (``skin_type``: oily, normal or dry; ``skin_resistance_ohm_cm2``, inside the
published 10 kΩ–1 MΩ per cm²; ``twitch_above_ua``, the current above which the client's muscles
twitch visibly), and what must happen: the outcome, the safety events (exactly these: any other
is a failure), the client's reactions and the trainee's actions (``expect.actions``, checked
against what the operator did). A broken file is reported with its name, the line where TOML
says so, and the reason; it never stops the other scenarios from loading.

Reading a scenario needs no simulator: the client's skin and the fault names are those of
:mod:`console.simulation`, which the simulated machine (a plugin) plays.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from console.client_reactions import REACTIONS, ClientReactions, Reaction
from console.engine.events import EngineState, SafetyKind, SessionSummary
from console.faults import FaultSpec, parse_fault_spec
from console.operator_actions import ActionLog, OperatorAction
from console.protocols import Protocol
from console.screening import Screening, contraindications
from console.simulation import PUBLISHED_1HZ_OHM_CM2, ClientSkin, SimulatedFault, SkinType

#: Numeric fields of a scenario's ``[client]`` table, with the range each must lie in.
CLIENT_FIELDS: dict[str, tuple[float, float]] = {
    "skin_resistance_ohm_cm2": PUBLISHED_1HZ_OHM_CM2,
    "twitch_above_ua": (10.0, 1000.0),
}
#: Fields of earlier versions of the format, with what replaced them.
RETIRED_CLIENT_FIELDS = {
    "gel_resistance_ohm": "skin_type (oily, normal, dry) or skin_resistance_ohm_cm2",
    "tissue_resistance_ohm": "skin_type (oily, normal, dry) or skin_resistance_ohm_cm2",
}
#: Safety events that record the operator's own actions, not something that went wrong.
ACTION_EVENTS = frozenset({SafetyKind.GEL_REAPPLIED.value})

#: Outcomes a scenario can expect: an engine end state, or "refused" (it never started).
OUTCOMES = ("finished", "aborted", "interrupted", "refused")


class ScenarioError(ValueError):
    """A scenario file is malformed; the message names the file (and line) and the reason."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """One training scenario (see the module docstring)."""

    id: str
    title: str
    goal: str
    #: What the trainee must do, in words (shown before the scenario plays).
    trainee_action: str
    protocol: str
    faults: tuple[FaultSpec, ...]
    contraindications: tuple[str, ...]
    resume_after_s: float | None
    expect_outcome: str
    expect_events: tuple[str, ...]
    impedance_above_kohm: float | None
    source: str
    #: The simulated client's skin, given to the simulated machine's factory as its ``skin``
    #: option (None: the simulator's usual gel-coated skin).
    skin: ClientSkin | None = None
    #: The client's muscles twitch visibly above this current (None: they never do).
    twitch_above_ua: float | None = None
    expect_reactions: tuple[str, ...] = ()
    impedance_below_kohm: float | None = None
    #: What the operator must have done (checked against the :class:`ActionLog`).
    expect_actions: tuple[OperatorAction, ...] = ()

    def client_reactions(
        self, protocol: Protocol, on_reaction: Callable[[Reaction], None] | None = None
    ) -> ClientReactions | None:
        """The simulated client's reactions to watch during ``protocol`` (None if it has none)."""
        if self.twitch_above_ua is None:
            return None
        return ClientReactions(protocol, self.twitch_above_ua, on_reaction)

    def screening(self) -> Screening:
        """The client's screening: every question answered, yes for the scenario's conditions."""
        screening = Screening.all_clear("scenario")
        for item in self.contraindications:
            screening.answer(item, True)
        return screening

    def judge(
        self,
        outcome: str,
        summary: SessionSummary | None,
        reactions: ClientReactions | None = None,
        actions: ActionLog | None = None,
    ) -> list[str]:
        """What did not go as the scenario promises (empty when it did)."""
        problems = []
        if outcome != self.expect_outcome:
            problems.append(
                f"expected the session to end {self.expect_outcome}, it ended {outcome}"
            )
        seen = {event.kind.value for event in summary.events} if summary else set()
        missing = [kind for kind in self.expect_events if kind not in seen]
        if missing:
            problems.append(f"expected safety events that did not happen: {', '.join(missing)}")
        unexpected = sorted(seen - set(self.expect_events) - ACTION_EVENTS)
        if unexpected:
            problems.append(f"safety events the scenario does not expect: {', '.join(unexpected)}")
        if actions is not None:
            problems += actions.judge(self.expect_actions)
        elif self.expect_actions:
            problems.append("the operator's actions were not watched")
        if self.impedance_above_kohm is not None:
            highest = max(
                (s.mean_impedance_kohm or 0.0 for s in summary.steps) if summary else [0.0],
                default=0.0,
            )
            if highest <= self.impedance_above_kohm:
                problems.append(
                    f"expected the load to rise above {self.impedance_above_kohm:g} kΩ, "
                    f"its highest step mean was {highest:.1f} kΩ"
                )
        if self.impedance_below_kohm is not None:
            means = [s.mean_impedance_kohm for s in summary.steps] if summary else []
            highest = max((m for m in means if m is not None), default=None)
            if highest is None or highest >= self.impedance_below_kohm:
                problems.append(
                    f"expected the load to stay below {self.impedance_below_kohm:g} kΩ, "
                    + (
                        "no step was measured"
                        if highest is None
                        else f"a step mean was {highest:.1f} kΩ"
                    )
                )
        if reactions is not None:
            problems += reactions.judge(self.expect_reactions)
        elif self.expect_reactions:
            problems.append("the client's reactions were not watched")
        return problems


def outcome_of(summary: SessionSummary) -> str:
    """The scenario outcome of an engine summary."""
    return {
        EngineState.FINISHED: "finished",
        EngineState.ABORTED: "aborted",
        EngineState.INTERRUPTED: "interrupted",
    }.get(summary.state, summary.state.value)


def parse_scenario(text: str, scenario_id: str, source: str) -> Scenario:
    """A scenario from TOML text; raises :class:`ScenarioError` naming ``source`` and the reason."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{source}: not valid TOML: {error}") from None
    problems: list[str] = []
    for key in ("title", "goal", "trainee_action", "protocol", "expect"):
        if key not in data:
            hint = (
                ' (what the trainee must do, in words, e.g. "Re-apply gel when the console asks")'
                if key == "trainee_action"
                else ""
            )
            problems.append(f"missing field {key!r}{hint}")
    if problems:
        raise ScenarioError(f"{source}: " + "; ".join(problems))
    for key in ("title", "goal", "trainee_action", "protocol"):
        if not isinstance(data[key], str) or not data[key].strip():
            problems.append(f"{key} must be non-empty text")
    faults = []
    for spec in _list(data, "faults", problems):
        try:
            faults.append(parse_fault_spec(str(spec), tuple(f.value for f in SimulatedFault)))
        except ValueError as error:
            problems.append(str(error))
    known = contraindications()
    conditions = [str(c) for c in _list(data, "contraindications", problems)]
    problems += [
        f"unknown contraindication {c!r}; known: {', '.join(known)}"
        for c in conditions
        if c not in known
    ]
    resume = data.get("resume_after_s")
    if resume is not None and (
        isinstance(resume, bool) or not isinstance(resume, int | float) or resume < 0
    ):
        problems.append(f"resume_after_s must be zero or more seconds, got {resume!r}")
    client = data.get("client", {})
    client_values: dict[str, float] = {}
    skin_type = SkinType.NORMAL
    if not isinstance(client, Mapping):
        problems.append("client must be a table")
    else:
        for key, value in client.items():
            if key in RETIRED_CLIENT_FIELDS:
                problems.append(
                    f"client.{key} is no longer a client field; use {RETIRED_CLIENT_FIELDS[key]}"
                )
                continue
            if key == "skin_type":
                try:
                    skin_type = SkinType(value)
                except ValueError:
                    known_types = ", ".join(t.value for t in SkinType)
                    problems.append(f"client.skin_type must be one of {known_types}, got {value!r}")
                continue
            if key not in CLIENT_FIELDS:
                fields = ", ".join(["skin_type", *CLIENT_FIELDS])
                problems.append(f"client.{key} is not a client field ({fields})")
                continue
            low, high = CLIENT_FIELDS[key]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (low <= value <= high)
            ):
                problems.append(
                    f"client.{key} must be a number from {low:g} to {high:g}, got {value!r}"
                )
            else:
                client_values[key] = float(value)
    expect = data["expect"]
    outcome, events, impedance, below, reactions = "finished", [], None, None, []
    actions: list[OperatorAction] = []
    if not isinstance(expect, Mapping):
        problems.append("expect must be a table")
    else:
        outcome = expect.get("outcome", "finished")
        if outcome not in OUTCOMES:
            problems.append(f"expect.outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
        kinds = {k.value for k in SafetyKind}
        events = [str(e) for e in _list(expect, "events", problems)]
        problems += [
            f"expect.events: {e!r} is not a safety event ({', '.join(sorted(kinds))})"
            for e in events
            if e not in kinds
        ]
        impedance = expect.get("impedance_above_kohm")
        if impedance is not None and (
            isinstance(impedance, bool) or not isinstance(impedance, int | float)
        ):
            problems.append(f"expect.impedance_above_kohm must be a number, got {impedance!r}")
        below = expect.get("impedance_below_kohm")
        if below is not None and (isinstance(below, bool) or not isinstance(below, int | float)):
            problems.append(f"expect.impedance_below_kohm must be a number, got {below!r}")
        reactions = [str(r) for r in _list(expect, "reactions", problems)]
        problems += [
            f"expect.reactions: {r!r} is not a client reaction ({', '.join(REACTIONS)})"
            for r in reactions
            if r not in REACTIONS
        ]
        if "twitch" in reactions and "twitch_above_ua" not in client_values:
            problems.append("expect.reactions has 'twitch' but client.twitch_above_ua is not set")
        for raw in _list(expect, "actions", problems):
            try:
                actions.append(OperatorAction(str(raw)))
            except ValueError:
                known_actions = ", ".join(a.value for a in OperatorAction)
                problems.append(f"expect.actions: {raw!r} is not an action ({known_actions})")
    if problems:
        raise ScenarioError(f"{source}: " + "; ".join(problems))
    return Scenario(
        id=scenario_id,
        title=data["title"].strip(),
        goal=data["goal"].strip(),
        trainee_action=data["trainee_action"].strip(),
        protocol=data["protocol"].strip(),
        faults=tuple(faults),
        contraindications=tuple(conditions),
        resume_after_s=None if resume is None else float(resume),
        expect_outcome=outcome,
        expect_events=tuple(events),
        impedance_above_kohm=None if impedance is None else float(impedance),
        source=source,
        skin=_skin(skin_type, client_values) if client else None,
        twitch_above_ua=client_values.get("twitch_above_ua"),
        expect_reactions=tuple(reactions),
        impedance_below_kohm=None if below is None else float(below),
        expect_actions=tuple(actions),
    )


def _skin(skin_type: SkinType, client: Mapping[str, float]) -> ClientSkin:
    """The scenario client's skin."""
    return ClientSkin(
        skin_type=skin_type, stratum_corneum_ohm_cm2=client.get("skin_resistance_ohm_cm2")
    )


def load_scenarios(folder: Path | None = None) -> tuple[dict[str, Scenario], list[str]]:
    """The shipped scenarios and those in ``folder``: (scenarios by id, problems of broken files).

    A trainer's file with the id of a shipped one replaces it.
    """
    scenarios: dict[str, Scenario] = {}
    problems: list[str] = []
    shipped = resources.files("resources").joinpath("scenarios")
    files: list[tuple[str, str, str]] = [
        (
            entry.name.removesuffix(".toml"),
            entry.read_text(encoding="utf-8"),
            f"scenarios/{entry.name}",
        )
        for entry in sorted(shipped.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".toml")
    ]
    if folder is not None:
        files += [
            (path.stem, path.read_text(encoding="utf-8"), str(path))
            for path in sorted(Path(folder).glob("*.toml"))
        ]
    for scenario_id, text, source in files:
        try:
            scenarios[scenario_id] = parse_scenario(text, scenario_id, source)
        except ScenarioError as error:
            problems.append(str(error))
    return scenarios, problems


def _list(data: Mapping[str, Any], key: str, problems: list[str]) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        problems.append(f"{key} must be a list")
        return []
    return value
