"""Plugin failures met while the console ran, remembered for ``mc-console plugins`` (no Qt here).

A plugin that raises in a hook while the console runs — an observer in ``session_started``,
``step_started``, ``safety_event`` or ``session_ended`` — is switched off for the rest of that
run, and the treatment goes on (:class:`console.plugins.PluginHost`). The window says so in its
status bar and ``mc-console run`` on stderr; both also write it here, so that ``mc-console
plugins``, run later in another process, still shows it: the plugin, its version, when, and what
it raised. The latest failure of each plugin is kept; one of a version no longer installed is
not shown (the plugin was updated or removed since).

The file is ``plugin-failures.json`` beside the plugin settings file
(:func:`console.plugin_settings.settings_path`, so :envvar:`MC_CONSOLE_PLUGIN_SETTINGS` moves
both). Reading and writing never raise: a file that cannot be used is logged and treated as
empty, because remembering a failure must never become a failure of the console.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from console.plugin_settings import settings_path
from console.plugins import PluginHost, PluginRecord

log = logging.getLogger(__name__)

FAILURES_FILE = "plugin-failures.json"
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class RuntimeFailure:
    """A plugin switched off while the console ran."""

    name: str
    version: str
    #: What the console recorded, e.g. ``raised in step_started: RuntimeError: ...``.
    reason: str
    #: When it was noticed: local time, ISO 8601 to the second.
    at: str


def failures_path() -> Path:
    """The failures file, beside the plugin settings file."""
    return settings_path().with_name(FAILURES_FILE)


def read_failures(path: Path | None = None) -> list[RuntimeFailure]:
    """Every remembered failure, oldest first; empty if there is no usable file."""
    target = path if path is not None else failures_path()
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
        entries = data["failures"]
        return [
            RuntimeFailure(str(e["name"]), str(e["version"]), str(e["reason"]), str(e["at"]))
            for e in entries
        ]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as error:
        log.warning("plugin failures file %s ignored: %s", target, error)
        return []


def remember_failures(
    records: Iterable[PluginRecord], path: Path | None = None, now: datetime | None = None
) -> None:
    """Write the failures of ``records`` (each replacing its plugin's earlier one)."""
    target = path if path is not None else failures_path()
    at = (now or datetime.now()).isoformat(timespec="seconds")
    fresh = [
        RuntimeFailure(record.name, record.version or "", record.error, at)
        for record in records
        if record.error
    ]
    if not fresh:
        return
    names = {failure.name for failure in fresh}
    kept = [failure for failure in read_failures(target) if failure.name not in names]
    payload = {"version": FORMAT_VERSION, "failures": [asdict(f) for f in kept + fresh]}
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written whole and renamed over the old file: a crash never leaves half a file.
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".plugin-failures-")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(payload, out, indent=2)
        os.replace(temporary, target)
    except OSError as error:
        log.warning("plugin failures could not be saved to %s: %s", target, error)


def installed_failures(host: PluginHost, path: Path | None = None) -> list[RuntimeFailure]:
    """The remembered failures of plugins installed now in the same version, newest first."""
    current = []
    for failure in read_failures(path):
        record = host.records.get(failure.name)
        if record is not None and (record.version or "") == failure.version:
            current.append(failure)
    return sorted(current, key=lambda failure: failure.at, reverse=True)


def failures_since(host: PluginHost, known: set[str]) -> list[PluginRecord]:
    """Plugins of ``host`` that failed and are not in ``known`` (names); adds them to it."""
    new = [record for record in list(host.records.values()) if record.error]
    new = [record for record in new if record.name not in known]
    known.update(record.name for record in new)
    return new
