"""Protocol packs: protocols as TOML files a trainer writes without Python.

A pack is one protocol in one file, ``<id>.toml``: the top-level fields of the protocol, a
``[series]`` table and one ``[[steps]]`` table per step (the format is described field by field in
``docs/writing-a-protocol-plugin.md``, "Protocol packs (no Python)"). The console ships some in
``resources/packs/``; a trainer's live in :func:`packs_dir`. The built-in plugin ``packs`` loads
both, so a saved pack appears beside lifting, toning and circulation.

The rules are those of every protocol (:func:`console.protocols.protocol_from_mapping`); this
module adds what a file needs on top: each problem is reported with the line of the offending key,
a kind a program can tell apart, and a broken file never stops the others from loading.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from console.placement import Placement, placement_to_mapping
from console.plugin_settings import APP_AUTHOR, APP_NAME
from console.problems import ProblemKind, RuleProblem
from console.protocols import (
    SERIES_KEYS,
    Protocol,
    ProtocolError,
    checked,
    protocol_from_mapping,
)
from console.zones import zone_catalog

#: A folder of packs to use instead of the one in the user's data folder.
PACKS_DIR_ENV = "MC_CONSOLE_PACKS_DIR"
#: The packs shipped with the console: ``resources/packs/*.toml``.
SHIPPED_PACKS = "packs"
#: What :attr:`PackError.kind` can be.
KINDS = ("syntax", *(kind.value for kind in ProblemKind if kind is not ProblemKind.MACHINE))

TOP_FIELDS = ("id", "name", "category", "description", "version", "warnings", "series", "steps")
SERIES_FIELDS = SERIES_KEYS
STEP_FIELDS = (
    "zone",
    "duration_s",
    "technique",
    "shape",
    "frequency_hz",
    "current_ua",
    "polarity",
    "reversal_interval_s",
    "ramp_s",
    "placement",
)

_HEADER = """\
# Microcurrent Console protocol pack: one protocol, checked when the console starts.
# Fields and limits: docs/writing-a-protocol-plugin.md, "Protocol packs (no Python)".
# Units are in the names: _s seconds, _hz hertz, _ua microamperes.
"""


@dataclass(frozen=True, slots=True)
class PackIssue:
    """One problem of a pack: where (1-based line, ``None`` if the file could not be read),
    why, and its kind (one of :data:`KINDS`)."""

    line: int | None
    reason: str
    kind: str

    def __str__(self) -> str:
        return self.reason if self.line is None else f"line {self.line}: {self.reason}"


class PackError(ProtocolError):
    """A pack file is broken. ``str()`` names the file, the line and the reason::

        my-pack.toml, line 12: step 3 (cheek_left): current 1200 µA is above the hard limit ...

    ``issues`` holds every problem (``problems`` the same as sentences, as in
    :class:`ProtocolError`); ``line``, ``reason`` and ``kind`` are those of the first.
    """

    def __init__(self, source: str, issues: Sequence[PackIssue], protocol_id: str = "?") -> None:
        if not issues:
            raise ValueError("a PackError needs at least one issue")
        self.source = source
        self.issues = tuple(issues)
        super().__init__(protocol_id, [str(issue) for issue in self.issues])
        first = self.issues[0]
        self.line: int | None = first.line
        self.reason: str = first.reason
        self.kind: str = first.kind
        self.args = (str(self),)

    def __str__(self) -> str:
        joiner = ": " if self.issues[0].line is None else ", "
        return self.source + joiner + "; ".join(self.problems)


# -- reading -----------------------------------------------------------------------------------


def parse_pack(text: str, source: str) -> Protocol:
    """The protocol in the TOML ``text``; raises :class:`PackError` naming ``source``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line, reason = _syntax_position(str(error), text)
        raise PackError(source, [PackIssue(line, reason, "syntax")], _stem(source)) from None
    protocol_id = data.get("id") if isinstance(data.get("id"), str) else _stem(source)
    lines = key_lines(text)
    issues = _unknown_fields(data, lines)
    protocol: Protocol | None = None
    try:
        protocol = protocol_from_mapping(data)
    except ProtocolError as error:
        issues += [_locate(problem, lines) for problem in error.problems]
    if issues:
        issues.sort(key=lambda issue: issue.line or 0)  # a trainer fixes a file top to bottom
        raise PackError(source, issues, protocol_id)
    assert protocol is not None
    return protocol


def load_pack(path: Path) -> Protocol:
    """The protocol in the pack file ``path``; raises :class:`PackError` (source: the file name)
    for any problem, an unreadable file or one that is not UTF-8 included."""
    path = Path(path)
    return parse_pack(_read_text(path.name, path.read_bytes), path.name)


def packs_dir() -> Path:
    """The trainer's packs folder: ``$MC_CONSOLE_PACKS_DIR`` if set, else ``packs`` in the
    user's data folder (``platformdirs.user_data_dir("mc-console", "Microcurrent Console")``)."""
    override = os.environ.get(PACKS_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, APP_AUTHOR)) / "packs"


def load_packs(folder: Path | None = None) -> tuple[list[Protocol], list[PackError]]:
    """Every pack shipped in ``resources/packs/``, then every ``*.toml`` in ``folder`` (default
    :func:`packs_dir`; a missing folder is fine), each folder in file-name order.

    Returns the valid protocols and one :class:`PackError` per broken file; a broken file never
    stops the others. A pack in ``folder`` with the id of a shipped one replaces it (the editor
    saves an edited shipped pack there); of two packs with one id in the same folder the first
    (by file name) is kept and the second reported.
    """
    folder = packs_dir() if folder is None else Path(folder)
    errors: list[PackError] = []
    files = [("shipped", name, read) for name, read in _shipped_files()]
    files += [("own", name, read) for name, read in _folder_files(folder, errors)]
    found: dict[str, tuple[Protocol, str, str]] = {}  # id -> (protocol, folder label, file name)
    for label, name, read in files:
        try:
            text = _read_text(name, read)
            protocol = parse_pack(text, name)
        except PackError as error:
            errors.append(error)
            continue
        earlier = found.get(protocol.id)
        if earlier is not None and earlier[1] == label:
            reason = f"id {protocol.id!r} is already used by the pack {earlier[2]}"
            line = key_lines(text).get(("id",), 1)
            errors.append(PackError(name, [PackIssue(line, reason, "invalid")], protocol.id))
            continue
        found[protocol.id] = (protocol, label, name)
    return [protocol for protocol, _label, _name in found.values()], errors


Reader = Callable[[], bytes]


def _shipped_files() -> list[tuple[str, Reader]]:
    shipped = resources.files("resources").joinpath(SHIPPED_PACKS)
    if not shipped.is_dir():
        return []
    return [
        (entry.name, entry.read_bytes)
        for entry in sorted(shipped.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".toml")
    ]


def _folder_files(folder: Path, errors: list[PackError]) -> list[tuple[str, Reader]]:
    """The pack files of ``folder``, read later one by one, so one bad file stays one error."""
    try:
        if not folder.is_dir():
            return []
        return [(path.name, path.read_bytes) for path in sorted(folder.glob("*.toml"))]
    except OSError as error:
        reason = f"cannot list the packs folder: {error.strerror or error}"
        errors.append(PackError(str(folder), [PackIssue(None, reason, "invalid")]))
        return []


def _read_text(name: str, read: Reader) -> str:
    """The text of a pack file; :class:`PackError` if it cannot be read or is not UTF-8."""
    stem = _stem(name)
    try:
        raw = read()
    except OSError as error:
        reason = f"cannot read the file: {error.strerror or error}"
        raise PackError(name, [PackIssue(None, reason, "invalid")], stem) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        reason = f"not UTF-8 text (byte 0x{raw[error.start]:02x}); save the file as UTF-8"
        raise PackError(name, [PackIssue(line, reason, "syntax")], stem) from None
    # Some Windows editors start UTF-8 files with a byte-order mark, which TOML does not allow.
    return text.removeprefix("\ufeff")


# -- writing -----------------------------------------------------------------------------------


def protocol_to_toml(protocol: Protocol) -> str:
    """``protocol`` as a readable pack; :func:`parse_pack` reads it back equal.

    Raises :class:`ProtocolError` for text TOML cannot hold (a lone UTF-16 surrogate).
    """
    zones = zone_catalog()
    series = protocol.series
    out = [
        _HEADER,
        f"id = {_string(protocol.id)}",
        f"name = {_string(protocol.name)}",
        f"category = {_string(protocol.category)}",
        f"description = {_string(protocol.description)}",
        f"version = {_string(protocol.version)}",
    ]
    if protocol.warnings:
        out += ["warnings = [", *(f"    {_string(w)}," for w in protocol.warnings), "]"]
    else:
        out.append("warnings = []")
    low, high = series.maintenance_every_weeks
    out += [
        "",
        "# The recommended course.",
        "[series]",
        f"sessions_per_week = {_float(series.sessions_per_week)}",
        f"sessions = {_int(series.sessions)}",
        f"maintenance_every_weeks = [{_int(low)}, {_int(high)}]",
    ]
    for number, step in enumerate(protocol.steps, start=1):
        wf = step.waveform
        zone = zones.get(step.zone) if isinstance(step.zone, str) else None
        out += [
            "",
            f"# Step {number}" + (f": {zone.name}" if zone is not None else ""),
            "[[steps]]",
            f"zone = {_string(step.zone)}",
            f"duration_s = {_float(step.duration_s)}",
            f"technique = {_string(step.technique)}",
            f"shape = {_string(wf.shape.value)}",
            f"frequency_hz = {_float(wf.frequency_hz)}",
            f"current_ua = {_float(wf.current_ua)}",
            f"polarity = {_string(wf.polarity.value)}",
            f"reversal_interval_s = {_float(wf.reversal_interval_s)}",
            f"ramp_s = {_float(wf.ramp_s)}",
        ]
        if step.placement is not None:
            out.append(f"placement = {_inline_placement(step.placement)}")
    text = "\n".join(out) + "\n"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ProtocolError(
            protocol.id, ["a text contains a lone surrogate character, which a file cannot hold"]
        ) from None
    return text


def _inline_placement(placement: Placement) -> str:
    """``{ probes = ["cheekbone", "temple"], motion = "hold and lift", toward = "temple" }``."""
    table = placement_to_mapping(placement)
    fields = [
        "probes = [" + ", ".join(_string(key) for key in table["probes"]) + "]",
        f"motion = {_string(table['motion'])}",
    ]
    if "toward" in table:
        fields.append(f"toward = {_string(table['toward'])}")
    return "{ " + ", ".join(fields) + " }"


def save_pack(protocol: Protocol, path: Path) -> Path:
    """Write ``protocol`` to the pack file ``path`` atomically, creating its folder; returns it.

    An invalid protocol raises :class:`ProtocolError` and nothing is written; so does one whose
    file would not load back (a :class:`PackError`), which the model allows but a pack does not
    (maintenance weeks that are not whole numbers, for instance).
    """
    checked(protocol)
    path = Path(path)
    text = protocol_to_toml(protocol)
    parse_pack(text, path.name)  # never leave a file behind that the console would refuse
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        mode = 0o644  # a pack is no secret; mkstemp alone would make it owner-only
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(text.encode("utf-8"))
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = ['"']
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char < " " or char == "\x7f":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _float(value: float) -> str:
    """A TOML number that reads back equal: whole values without ``.0`` for readability (the
    reader makes every one of these fields a float again), others ``repr``-exact."""
    number = float(value)
    if number != number:
        return "nan"
    if number in (float("inf"), float("-inf")):
        return "inf" if number > 0 else "-inf"
    if number.is_integer() and abs(number) < 2**53:
        return str(int(number))
    return repr(number)


def _int(value: int) -> str:
    # The model holds whole numbers here; anything else is written as it is, and save_pack's
    # read-back check refuses it rather than saving a pack that does not load.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else _float(value)


# -- lines of keys -----------------------------------------------------------------------------

KeyPath = tuple[str | int, ...]


def key_lines(text: str) -> dict[KeyPath, int]:
    """The 1-based line of every table header and key of the TOML ``text``.

    Paths: ``("id",)``, ``("series",)`` for the ``[series]`` header, ``("series", "sessions")``,
    ``("steps", 3)`` for the third ``[[steps]]`` header, ``("steps", 3, "current_ua")``. Keys
    inside inline tables and arrays are not recorded: their statement's line stands for them.
    Meant for text :mod:`tomllib` accepted; anything else gives a partial answer.
    """
    found: dict[KeyPath, int] = {}
    table: KeyPath = ()
    tables_seen: dict[KeyPath, int] = {}
    i, line, end = 0, 1, len(text)
    while i < end:
        char = text[i]
        if char in " \t\r":
            i += 1
        elif char == "\n":
            line, i = line + 1, i + 1
        elif char == "#":
            i = _line_end(text, i)
        elif char == "[":
            array = text.startswith("[[", i)
            close = text.find("]]" if array else "]", i)
            if close < 0:
                break
            name = _key_path(text[i + (2 if array else 1) : close])
            if array:
                tables_seen[name] = tables_seen.get(name, 0) + 1
                table = (*name, tables_seen[name])
            else:
                table = name
            found.setdefault(table, line)
            i = close + (2 if array else 1)
        else:
            equals = _skip(text, i, stop="=")
            if equals >= end or text[equals] != "=":  # not a key line: TOML refused it anyway
                i = equals
                continue
            key = _key_path(text[i:equals])
            for depth in range(1, len(key) + 1):
                found.setdefault((*table, *key[:depth]), line)
            i, line = _skip_value(text, equals + 1, line)
    return found


def _key_path(raw: str) -> tuple[str, ...]:
    """``a."b.c" . d`` -> ``("a", "b.c", "d")``."""
    parts, current, quote = [], "", ""
    for char in raw:
        if quote:
            if char == quote:
                quote = ""
            else:
                current += char
        elif char in "\"'":
            quote = char
        elif char == ".":
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return tuple(parts)


def _skip(text: str, i: int, stop: str) -> int:
    """Index of the first ``stop`` character at or after ``i`` outside quotes (or the end)."""
    quote = ""
    while i < len(text):
        char = text[i]
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == stop or char == "\n":
            return i
        i += 1
    return i


def _skip_value(text: str, i: int, line: int) -> tuple[int, int]:
    """Skip a value (strings, arrays and inline tables over several lines included) to the end
    of its statement; returns the index after it and the line there."""
    depth, end = 0, len(text)
    while i < end:
        char = text[i]
        if char == "\n":
            line, i = line + 1, i + 1
            if depth == 0:
                return i, line
        elif text.startswith('"""', i) or text.startswith("'''", i):
            close = _string_end(text, i + 3, text[i] * 3)
            line += text.count("\n", i, close)
            i = close
        elif char in "\"'":
            i = _string_end(text, i + 1, char)
        elif char == "#":
            i = _line_end(text, i)
        else:
            depth += (char in "[{") - (char in "]}")
            i += 1
    return i, line


def _string_end(text: str, i: int, quote: str) -> int:
    """Index just after the string whose content starts at ``i`` and ends with ``quote``."""
    basic = quote[0] == '"'
    while i < len(text):
        if basic and text[i] == "\\":
            i += 2
        elif text.startswith(quote, i):
            i += len(quote)
            if len(quote) == 3:  # up to two quotes may end the content: """a"""" is 'a"'
                extra = 0
                while extra < 2 and text.startswith(quote[0], i):
                    i, extra = i + 1, extra + 1
            return i
        else:
            i += 1
    return i


def _line_end(text: str, i: int) -> int:
    newline = text.find("\n", i)
    return len(text) if newline < 0 else newline


# -- problems to lines -------------------------------------------------------------------------


def _locate(problem: str, lines: dict[KeyPath, int]) -> PackIssue:
    """A problem of :mod:`console.protocols` with the line of the key it is about and its kind:
    read from what the problem says it is about (its step and fields), never from its words."""
    if not isinstance(problem, RuleProblem):
        return PackIssue(1, problem, ProblemKind.INVALID.value)
    field = problem.fields[0] if problem.fields else None
    path: KeyPath
    if problem.step is not None:
        path = ("steps", problem.step, field) if field else ("steps", problem.step)
    elif field in SERIES_FIELDS:
        path = ("series", field)
    elif field is not None:
        path = (field,)
    else:
        path = ()
    return PackIssue(_line(lines, path), problem, problem.kind.value)


def _line(lines: dict[KeyPath, int], path: KeyPath) -> int:
    """The line of ``path``, else of the nearest table or key that holds it, else 1."""
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return 1


def _unknown_fields(data: Mapping[str, Any], lines: dict[KeyPath, int]) -> list[PackIssue]:
    """Keys the format does not know: a misspelt optional field would otherwise silently fall
    back to its default (``polarty = "positive"`` would run alternating)."""
    issues = [_unknown(key, (key,), "", TOP_FIELDS, lines) for key in data if key not in TOP_FIELDS]
    series = data.get("series")
    if isinstance(series, dict):
        issues += [
            _unknown(key, ("series", key), "series: ", SERIES_FIELDS, lines)
            for key in series
            if key not in SERIES_FIELDS
        ]
    steps = data.get("steps")
    for number, step in enumerate(steps if isinstance(steps, list) else [], start=1):
        if isinstance(step, dict):
            where = f"step {number}" + (f" ({step['zone']})" if "zone" in step else "")
            issues += [
                _unknown(key, ("steps", number, key), f"{where}: ", STEP_FIELDS, lines)
                for key in step
                if key not in STEP_FIELDS
            ]
    return issues


def _unknown(
    key: str, path: KeyPath, where: str, known: Sequence[str], lines: dict[KeyPath, int]
) -> PackIssue:
    reason = f"{where}unknown field {key!r}; known fields: {', '.join(known)}"
    return PackIssue(_line(lines, path), reason, "invalid")


def _syntax_position(message: str, text: str) -> tuple[int, str]:
    """(line, reason) from a :class:`tomllib.TOMLDecodeError` message."""
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if found:
        what = message[: found.start()]
        return int(found.group(1)), f"not valid TOML: {what} (column {found.group(2)})"
    what = re.sub(r"\s*\(at end of document\)$", "", message)
    last = max(1, len(text.rstrip().splitlines()))
    return last, f"not valid TOML: {what} (at the end of the file)"


def _stem(source: str) -> str:
    return Path(source).stem or "?"
