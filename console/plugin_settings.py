"""Which plugins the clinic disabled, remembered across starts (no Qt here).

The list lives in a tiny JSON file, ``plugins.json`` in the user's config folder
(``platformdirs.user_config_dir("mc-console", "Microcurrent Console")``), readable and writable
by its owner only::

    {"disabled": ["toning"], "version": 1}

:envvar:`MC_CONSOLE_PLUGIN_SETTINGS` names another file instead: for tests, and for clinics that
manage their settings centrally.

Rules:

* A disabled plugin is blocked at the next start, exactly like one named in
  ``MC_CONSOLE_DISABLE``: it is not even imported. Nothing changes in a running console — plugins
  cannot be unloaded safely mid-session.
* A missing file means nothing is disabled. A file that cannot be read or is not what it should
  be is reported (logged by :func:`disabled_plugins`, returned by :func:`read_plugin_settings`)
  and treated as empty: a broken settings file never stops the console from starting.
* Any plugin may be disabled, built-in ones included, except the last one that registers a
  driver: without a driver the console can drive no machine, not even the simulated one.
  :func:`set_plugin_disabled` refuses that with :class:`LastDriverPluginError`.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Path of the settings file to use instead of the one in the user's config folder.
SETTINGS_ENV = "MC_CONSOLE_PLUGIN_SETTINGS"
#: ``platformdirs`` names of the application (the same as the records database's).
APP_NAME = "mc-console"
APP_AUTHOR = "Microcurrent Console"
SETTINGS_FILE = "plugins.json"
#: Written into the file; a reader ignores keys it does not know and keeps them on writing.
FORMAT_VERSION = 1


class LastDriverPluginError(ValueError):
    """Disabling this plugin would leave the console without any driver."""


@dataclass(frozen=True, slots=True)
class PluginSettings:
    """What the settings file says, and why it was ignored if it was."""

    path: Path
    disabled: frozenset[str]
    #: A sentence for the user when the file could not be used (it is then treated as empty).
    warning: str | None = None


def settings_path() -> Path:
    """The settings file: ``$MC_CONSOLE_PLUGIN_SETTINGS`` if set, else ``plugins.json`` in the
    user's config folder."""
    override = os.environ.get(SETTINGS_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME, APP_AUTHOR)) / SETTINGS_FILE


def read_plugin_settings(path: Path | None = None) -> PluginSettings:
    """Read the settings file; never raises. A problem is returned in ``warning``."""
    target = path if path is not None else settings_path()
    disabled, _data, warning, _corrupt = _load(target)
    return PluginSettings(target, frozenset(disabled), warning)


def disabled_plugins(path: Path | None = None) -> set[str]:
    """Names of the plugins the clinic disabled; empty when there is no (usable) file.

    A file that cannot be used is logged as a warning and treated as empty.
    """
    settings = read_plugin_settings(path)
    if settings.warning:
        log.warning("%s", settings.warning)
    return set(settings.disabled)


def set_plugin_disabled(
    name: str,
    disabled: bool,
    path: Path | None = None,
    *,
    driver_plugins: Iterable[str] | None = None,
) -> None:
    """Disable (or enable again) the plugin ``name`` from the next start, and save it.

    ``driver_plugins`` names the plugins that register at least one driver (for a running
    console: ``[r.name for r in host.records.values() if r.drivers]``). It is required to
    disable a plugin: disabling the last of them that is not disabled already raises
    :class:`LastDriverPluginError` (a :class:`ValueError`) and saves nothing.

    The file is written atomically, owner-only (0600), in a folder created owner-only (0700).
    A corrupt file is replaced, its content first kept beside it as ``plugins.json.corrupt``.
    Raises :class:`ValueError` for an empty name and :class:`OSError` if the file cannot be
    written.
    """
    name = name.strip() if isinstance(name, str) else name
    if not isinstance(name, str) or not name:
        raise ValueError(f"a plugin name must be a non-empty string, not {name!r}")
    target = path if path is not None else settings_path()
    current, data, _warning, corrupt = _load(target)
    if disabled:
        if driver_plugins is None:
            raise TypeError(
                "set_plugin_disabled(..., disabled=True) needs driver_plugins=: the plugins "
                "that register a driver, so that the last one is never disabled"
            )
        drivers = set(driver_plugins)
        if name in drivers and not drivers - current - {name}:
            raise LastDriverPluginError(
                f"{name!r} is the last plugin that provides a machine driver, so it cannot be "
                "disabled: the console must always keep at least one driver. Enable another "
                "driver plugin first."
            )
        wanted = current | {name}
    else:
        wanted = current - {name}
    if wanted == current and not corrupt and target.exists():
        return
    if corrupt:
        kept = target.with_name(target.name + ".corrupt")
        with suppress(OSError):
            kept.write_bytes(target.read_bytes())
            os.chmod(kept, 0o600)
            log.warning("the unreadable plugin settings were kept as %s", kept)
    data = {**data, "version": FORMAT_VERSION, "disabled": sorted(wanted)}
    _write(target, data)


# -- the file ----------------------------------------------------------------------------------


def _load(path: Path) -> tuple[set[str], dict[str, Any], str | None, bool]:
    """(disabled names, the whole JSON object, a warning, whether the content is corrupt)."""
    ignored = "it is ignored and no plugin is disabled by it"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return set(), {}, None, False
    except OSError as error:
        reason = error.strerror or str(error)
        return (
            set(),
            {},
            f"The plugin settings file {path} cannot be read ({reason}); {ignored}.",
            False,
        )
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return set(), {}, f"The plugin settings file {path} is not UTF-8 text; {ignored}.", True
    except json.JSONDecodeError as error:
        return (
            set(),
            {},
            f"The plugin settings file {path} is not valid JSON "
            f"({error.msg} at line {error.lineno}, column {error.colno}); {ignored}.",
            True,
        )
    if not isinstance(data, dict):
        return (
            set(),
            {},
            f"The plugin settings file {path} holds a JSON {_json_kind(data)} where an object "
            f'such as {{"disabled": ["toning"]}} is expected; {ignored}.',
            True,
        )
    names = data.get("disabled", [])
    if not isinstance(names, list):
        return (
            set(),
            {},
            f'In the plugin settings file {path}, "disabled" is a JSON {_json_kind(names)} '
            f"where a list of plugin names is expected; {ignored}.",
            True,
        )
    disabled = {n.strip() for n in names if isinstance(n, str) and n.strip()}
    others = [n for n in names if not (isinstance(n, str) and n.strip())]
    warning = None
    if others:
        shown = ", ".join(json.dumps(n) for n in others)
        warning = (
            f'In the plugin settings file {path}, these entries of "disabled" are not plugin '
            f"names and are ignored: {shown}."
        )
    return disabled, data, warning, False


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    # mkstemp creates the file 0600; replacing the old file keeps a reader from ever seeing half.
    handle, temporary = tempfile.mkstemp(prefix=".plugins-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return "object"
