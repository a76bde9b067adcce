"""The protocol being edited, as plain data: table rows, what a pack file says, and where each
problem points.

The protocol editor (:mod:`console.ui.protocol_editor`) shows a :class:`Draft`: a protocol whose
steps are table rows (:class:`StepRow`). A row may have *unset* cells, when a pack is opened with a
field missing or of the wrong kind: the file's text is shown there and the cell is marked until the
trainer types a value. Nothing here knows about Qt, and nothing here is a rule of its own: the
rules are :func:`console.protocols.validate_protocol` and :func:`console.drivers.capability_problems`;
:func:`check` asks them and says which cell or header field each of their sentences is about.
"""

from __future__ import annotations

import enum
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from console.drivers import Capabilities, capability_problems
from console.packs import SERIES_FIELDS, TOP_FIELDS, PackError, PackIssue, load_pack
from console.placement import Placement, parse_placement, placement_from_mapping
from console.problems import RuleProblem
from console.protocols import Protocol, RecommendedSeries, Step, validate_protocol
from console.report import format_duration
from console.waveforms import Polarity, Waveform, WaveShape
from console.zones import ZoneCatalog

CATEGORIES = ("lifting", "toning", "circulation", "other")
#: The fixed frequencies clinical units offer (docs/safety.md, sources): the frequency
#: editor's up/down keys step through these, or through the machine's own choices.
CLINICAL_FREQUENCIES_HZ = (0.5, 2.0, 5.0, 10.0, 20.0, 40.0, 80.0, 100.0, 160.0, 200.0, 1000.0)
#: What "Add step" starts from in an empty table: a gentle lifting step on the first zone.
DEFAULT_STEP = Step(
    zone="forehead_right",
    waveform=Waveform(WaveShape.SQUARE, 0.5, 200.0, Polarity.ALTERNATING, 3.0, 2.0),
    duration_s=120.0,
    technique="",
)
BLANK_PROTOCOL = Protocol(
    id="",
    name="",
    category="lifting",
    description="",
    steps=(),
    series=RecommendedSeries(sessions_per_week=2, sessions=10, maintenance_every_weeks=(4, 6)),
    version="1",
)


class Column(enum.IntEnum):
    """The columns of the steps table."""

    ZONE = 0
    SHAPE = 1
    FREQUENCY = 2
    CURRENT = 3
    POLARITY = 4
    REVERSAL = 5
    RAMP = 6
    DURATION = 7
    PLACEMENT = 8
    TECHNIQUE = 9


#: The pack field (:data:`console.packs.STEP_FIELDS`) each column holds.
STEP_FIELD: dict[Column, str] = {
    Column.ZONE: "zone",
    Column.SHAPE: "shape",
    Column.FREQUENCY: "frequency_hz",
    Column.CURRENT: "current_ua",
    Column.POLARITY: "polarity",
    Column.REVERSAL: "reversal_interval_s",
    Column.RAMP: "ramp_s",
    Column.DURATION: "duration_s",
    Column.PLACEMENT: "placement",
    Column.TECHNIQUE: "technique",
}
#: A pack may leave these out; it then gets the Waveform's defaults, as console.protocols reads it.
OPTIONAL: dict[Column, Any] = {
    **{
        column: spec.default
        for spec in fields(Waveform)
        for column, name in STEP_FIELD.items()
        if spec.name == name and spec.default is not MISSING
    },
    Column.PLACEMENT: None,  # allowed, with a note that nothing checks or draws the probes
}
#: What an unset cell holds in its row's step. Never shown and never saved (validation
#: sentences about it are dropped); a missing duration or current is 0, adding nothing to the
#: totals.
PLACEHOLDER: dict[Column, Any] = {
    Column.ZONE: "?",
    Column.SHAPE: WaveShape.SQUARE,
    Column.FREQUENCY: 0.0,
    Column.CURRENT: 0.0,
    Column.DURATION: 0.0,
    Column.TECHNIQUE: "",
    **OPTIONAL,
}
_TEXT_COLUMNS = (Column.ZONE, Column.TECHNIQUE)
_CHOICES: dict[Column, type[enum.StrEnum]] = {Column.SHAPE: WaveShape, Column.POLARITY: Polarity}


# -- durations ---------------------------------------------------------------------------------


def parse_duration(text: str) -> float | None:
    """Seconds from ``m:ss``, ``h:mm:ss`` or plain seconds (``90``, ``90.5``); None if unreadable."""
    parts = text.strip().split(":")
    if len(parts) > 3 or not all(re.fullmatch(r"\d+(\.\d*)?|\.\d+", part) for part in parts):
        return None
    if any("." in part for part in parts[:-1]):
        return None
    *whole, last = parts
    seconds = float(last)
    if (whole and seconds >= 60) or (len(whole) == 2 and int(whole[1]) >= 60):
        return None
    total = seconds
    for power, part in enumerate(reversed(whole), start=1):
        total += int(part) * 60**power
    return total


def format_step_duration(seconds: float) -> str:
    """``2:30``; a fraction of a second is kept (``1:30.5``) so the table never hides it."""
    if not math.isfinite(seconds):
        return f"{seconds!r}"
    if float(seconds).is_integer():
        return format_duration(seconds)
    # To the millisecond, rounded before splitting so that 59.9996 s never reads "0:60".
    minutes, rest = divmod(round(seconds, 3), 60)
    whole, fraction = f"{rest:06.3f}".rstrip("0").split(".")
    return f"{int(minutes)}:{whole}" + (f".{fraction}" if fraction else "")


# -- rows --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Unset:
    """A cell a pack gave no usable value: ``raw`` is what the file said (None: nothing)."""

    raw: Any = None

    @property
    def text(self) -> str:
        """The file's value as the cell shows it (empty for a missing field)."""
        return _text_of(self.raw)


@dataclass(frozen=True, slots=True)
class StepRow:
    """One row of the steps table: a step, and its cells that are unset (see :class:`Unset`).

    An unset cell's value in ``step`` is its :data:`PLACEHOLDER`.
    """

    step: Step
    unset: Mapping[Column, Unset] = field(default_factory=dict)

    def problems(self, number: int) -> list[tuple[Column, str]]:
        """What is wrong with each unset cell, as sentences about step ``number``."""
        where = f"step {number} ({self.step.zone})"
        found = []
        for column, cell in sorted(self.unset.items()):
            name = STEP_FIELD[column]
            if cell.raw is None:
                reason = f"missing field {name!r}"
            elif column is Column.PLACEMENT:
                reason = _placement_reason(cell.raw)
            elif column in _CHOICES:
                choices = ", ".join(member.value for member in _CHOICES[column])
                reason = f"{name} {cell.raw!r} is not one of {choices}"
            else:
                kind = "text" if column in _TEXT_COLUMNS else "a number"
                if isinstance(cell.raw, float):  # inf or nan: TOML has them, a cell does not
                    kind = "a finite number"
                reason = f"{name} must be {kind}, got {cell.raw!r}"
            found.append((column, f"{where}: {reason}"))
        return found


def _placement_reason(raw: Any) -> str:
    """Why a pack's or a cell's placement cannot be read."""
    try:
        if isinstance(raw, str):
            parse_placement(raw)
        else:
            placement_from_mapping(raw)
    except ValueError as bad:
        return str(bad)
    return f"placement {raw!r} cannot be read"


def with_value(step: Step, column: Column, value: Any) -> Step:
    """``step`` with one cell changed; ValueError when ``value`` is not of the cell's kind."""
    wf = step.waveform
    if column is Column.PLACEMENT:
        if isinstance(value, str):
            value = parse_placement(value)
        elif isinstance(value, Mapping):
            value = placement_from_mapping(value)
        if value is not None and not isinstance(value, Placement):
            raise ValueError(f"{value!r} is not a placement")
        return replace(step, placement=value)
    if column is Column.ZONE:
        return replace(step, zone=str(value))
    if column is Column.TECHNIQUE:
        return replace(step, technique=str(value))
    if column is Column.DURATION:
        seconds = parse_duration(value) if isinstance(value, str) else _number(value)
        if seconds is None:
            raise ValueError(f"{value!r} is not a duration")
        return replace(step, duration_s=seconds)
    changes: dict[str, Any] = {
        Column.SHAPE: lambda: {"shape": WaveShape(value)},
        Column.POLARITY: lambda: {"polarity": Polarity(value)},
        Column.FREQUENCY: lambda: {"frequency_hz": _number(value)},
        Column.CURRENT: lambda: {"current_ua": _number(value)},
        Column.REVERSAL: lambda: {"reversal_interval_s": _number(value)},
        Column.RAMP: lambda: {"ramp_s": _number(value)},
    }[column]()
    return replace(step, waveform=replace(wf, **changes))


def row_with(row: StepRow, column: Column, value: Any) -> StepRow:
    """``row`` with one cell set to ``value`` (an :class:`Unset` unsets it); ValueError when
    ``value`` is not of the cell's kind."""
    if column is Column.PLACEMENT and isinstance(value, str | Mapping):
        try:  # a placement the trainer is still typing is kept, marked, not thrown away
            with_value(row.step, column, value)
        except ValueError:
            value = Unset(value)
    if isinstance(value, Unset):
        step = with_value(row.step, column, PLACEHOLDER[column])
        return StepRow(step, {**row.unset, column: value})
    step = with_value(row.step, column, value)
    return StepRow(step, {c: cell for c, cell in row.unset.items() if c is not column})


def _number(value: Any) -> float:
    """A finite float from a number or its text; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("not a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


# -- a pack's fields, as they are --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Draft:
    """What the editor shows: a protocol and its steps as rows (``protocol.steps`` are the rows'
    steps, placeholders included)."""

    protocol: Protocol
    rows: tuple[StepRow, ...]

    @classmethod
    def of(cls, protocol: Protocol) -> Draft:
        """A protocol with nothing unset."""
        return cls(protocol, tuple(StepRow(step) for step in protocol.steps))


def read_draft(path: Path) -> tuple[Draft, PackError | None]:
    """The pack file ``path`` to edit, and its problems (None when it loads as it is).

    A pack with problems is read field by field as it is (:func:`draft_from_mapping`). Raises
    :class:`PackError` when there is nothing to show: the file cannot be read or is not TOML.
    """
    path = Path(path)
    try:
        return Draft.of(load_pack(path)), None
    except PackError as error:
        if any(issue.kind == "syntax" or issue.line is None for issue in error.issues):
            raise
        problems = error
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeError, tomllib.TOMLDecodeError) as error:  # changed since load_pack
        reason = f"cannot read the file again: {error}"
        raise PackError(path.name, [PackIssue(None, reason, "invalid")], path.stem) from None
    return draft_from_mapping(data), problems


def draft_from_mapping(data: Mapping[str, Any]) -> Draft:
    """The fields of a pack (its TOML data) as the editor shows them, whether valid or not.

    Texts are kept as typed, numbers as they are (a 1200 µA step stays 1200, for the rules to
    mark). A step field that is missing or not of its kind becomes an :class:`Unset` cell; a
    missing optional one gets its default, as :func:`console.packs.load_pack` reads it. A header
    field that is not a text shows its value as text; a series number that is missing or not a
    number is 0, which the rules refuse. Fields the format does not know are left out.
    """
    # Keyed by console.packs' own names: a field renamed there fails here at once.
    top = {name: data.get(name) for name in TOP_FIELDS}
    series_data = top["series"] if isinstance(top["series"], Mapping) else {}
    series = {name: series_data.get(name) for name in SERIES_FIELDS}
    weeks = series["maintenance_every_weeks"]
    low, high = weeks if isinstance(weeks, list) and len(weeks) == 2 else (None, None)
    steps = top["steps"] if isinstance(top["steps"], list) else []
    rows = tuple(row_from_mapping(raw) for raw in steps if isinstance(raw, Mapping))
    warnings = top["warnings"] if isinstance(top["warnings"], list) else [top["warnings"]]
    protocol = Protocol(
        id=_text_of(top["id"]),
        name=_text_of(top["name"]),
        category=_text_of(top["category"]),
        description=_text_of(top["description"]),
        steps=tuple(row.step for row in rows),
        series=RecommendedSeries(
            sessions_per_week=_amount(series["sessions_per_week"]),
            sessions=_count(series["sessions"]),
            maintenance_every_weeks=(_count(low), _count(high)),
        ),
        version="1" if top["version"] is None else _text_of(top["version"]),
        warnings=tuple(_text_of(w) for w in warnings if w is not None),
    )
    return Draft(protocol, rows)


_PLACEHOLDER_ROW = StepRow(
    Step(
        zone=PLACEHOLDER[Column.ZONE],
        waveform=Waveform(
            shape=PLACEHOLDER[Column.SHAPE],
            frequency_hz=PLACEHOLDER[Column.FREQUENCY],
            current_ua=PLACEHOLDER[Column.CURRENT],
        ),
        duration_s=PLACEHOLDER[Column.DURATION],
        technique=PLACEHOLDER[Column.TECHNIQUE],
    ),
    {column: Unset() for column in Column},
)


def row_from_mapping(raw: Mapping[str, Any]) -> StepRow:
    """One ``[[steps]]`` table of a pack as a row (see :func:`draft_from_mapping`)."""
    row = _PLACEHOLDER_ROW
    for column, name in STEP_FIELD.items():
        if name not in raw:
            row = row_with(row, column, OPTIONAL.get(column, Unset()))
            continue
        try:
            row = row_with(row, column, _as_kind(column, raw[name]))
        except (TypeError, ValueError, OverflowError):
            row = row_with(row, column, Unset(raw[name]))
    return row


def _as_kind(column: Column, value: Any) -> Any:
    """A file's value if it is of the column's kind (as strictly as a pack reads it); else
    ValueError. A number is kept as it is, however far outside the limits."""
    if column is Column.PLACEMENT:
        return placement_from_mapping(value)
    if column in _TEXT_COLUMNS:
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not text")
        return value
    if column in _CHOICES:
        return _CHOICES[column](value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a number")
    return float(value)


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _amount(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# -- where each problem points ------------------------------------------------------------------

#: The column of each pack field a problem can be about.
FIELD_COLUMN: dict[str, Column] = {field: column for column, field in STEP_FIELD.items()}
#: Header fields whose problems validate_protocol lists before the steps' (the rest come after).
_FIRST_FIELDS = ("id", "name", "steps")


@dataclass(frozen=True, slots=True)
class Problem:
    """A problem sentence and what it is about: cells of the step in ``row`` (0-based), header
    fields (named as in a pack: ``id``, ``sessions``, ...; ``steps`` for the table), or neither
    (the protocol as a whole)."""

    sentence: str
    row: int | None = None
    columns: tuple[Column, ...] = ()
    fields: tuple[str, ...] = ()


def columns_of(problem: RuleProblem) -> tuple[Column, ...]:
    """The cells a problem of a step is about, from the fields it names."""
    return tuple(FIELD_COLUMN[field] for field in problem.fields if field in FIELD_COLUMN)


def locate(problem: RuleProblem, step_count: int) -> Problem:
    """A problem of :func:`~console.protocols.validate_protocol` with the cells or header
    fields it is about (read from the problem's own ``step`` and ``fields``)."""
    if problem.step is not None and 0 < problem.step <= step_count:
        return Problem(problem, problem.step - 1, columns_of(problem))
    if problem.step is not None:
        return Problem(problem)
    return Problem(problem, fields=problem.fields)


def check(
    draft: Draft,
    catalog: ZoneCatalog,
    capabilities: Capabilities | None = None,
    machine_name: str = "",
) -> list[Problem]:
    """Every problem of ``draft``, in reading order: the protocol rules and the unset cells,
    then what the machine (``capabilities``, if one is connected) cannot do beyond them."""
    rows = draft.rows
    found = []
    for rule_problem in validate_protocol(draft.protocol, catalog):
        problem = locate(rule_problem, len(rows))
        if problem.row is not None and set(problem.columns) & set(rows[problem.row].unset):
            continue  # about a placeholder: the unset cell's own sentence says what is wrong
        found.append(problem)
    for index, row in enumerate(rows):
        found += [Problem(s, index, (column,)) for column, s in row.problems(index + 1)]
    found.sort(key=_reading_order)
    # A machine's limit on a cell the hard limits already refuse says nothing new: fixing
    # the first brings the second back if it still applies.
    marked = {(p.row, column) for p in found for column in p.columns}
    machine = [
        problem
        for problem in machine_problems(draft.protocol, capabilities, machine_name)
        if not any((problem.row, column) in marked for column in problem.columns)
    ]
    return found + machine


def machine_problems(
    protocol: Protocol, capabilities: Capabilities | None, machine_name: str = ""
) -> list[Problem]:
    """What the connected machine cannot do, beyond the hard limits (listed already)."""
    if capabilities is None:
        return []
    machine = machine_name or "the connected machine"
    found = []
    for row, step in enumerate(protocol.steps):
        hard = set(step.waveform.problems())
        for problem in capability_problems(step.waveform, capabilities):
            if problem not in hard:
                sentence = f"step {row + 1} ({step.zone}) on {machine}: {problem}"
                found.append(Problem(sentence, row, columns_of(problem)))
    return found


def _reading_order(problem: Problem) -> tuple[int, int]:
    """validate_protocol's order: id, name and steps; each step's cells; the rest."""
    if problem.row is not None:
        return (1, problem.row)
    return (0, 0) if set(problem.fields) & set(_FIRST_FIELDS) else (2, 0)
