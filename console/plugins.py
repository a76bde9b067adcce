"""The plugin manager: loads plugins from entry points, isolates faulty ones, collects what they offer.

It follows pytest's and datasette's way with pluggy — one hookspec module, entry points in one
group — with two additions a clinic needs: every hook implementation is called on its own, so a
plugin that raises is disabled and reported while the others keep working; and nothing a plugin
returns is trusted (ids must be unique, capabilities are clamped, protocols are validated).

Hooks are called in pluggy's own order: the plugin registered last first (LIFO), ``tryfirst``
implementations before the others and ``trylast`` ones after them. Because each implementation is
called on its own, hook wrappers (``wrapper=True``, ``hookwrapper=True``) — which run around the
other plugins' implementations — are refused when the plugin registers. Who owns a driver or
protocol id does not depend on that order: the plugin registered first keeps it (built-ins are
registered before vendors' plugins), and a protocol pack never takes an installed plugin's id.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any

import pluggy

from console import hookspecs
from console.drivers import DriverInfo
from console.hookspecs import PLUGIN_API_VERSION, PROJECT_NAME
from console.plugin_settings import disabled_plugins
from console.protocols import Protocol, ProtocolError, validate_protocol

log = logging.getLogger(__name__)

#: Comma-separated entry-point names that are not loaded.
DISABLE_ENV = "MC_CONSOLE_DISABLE"
#: Set to 1 to log every hook call at INFO level.
TRACE_ENV = "MC_CONSOLE_TRACE"
#: This distribution; its plugins are listed as built-in and registered first.
OWN_DISTRIBUTION = "microcurrent-console"
#: The built-in plugin that reads the clinic's protocol packs (TOML files). Its protocols are
#: claimed after every installed plugin's, so a pack never takes an installed protocol's id.
PACKS_PLUGIN = "packs"


@dataclass
class PluginRecord:
    """What the console knows about one plugin, for ``mc-console plugins`` and the About box."""

    name: str
    origin: str  #: ``built-in``, a distribution ``name version``, or ``registered in code``
    version: str
    api_version: str | None = None
    hooks: list[str] = field(default_factory=list)
    drivers: list[str] = field(default_factory=list)
    protocols: list[str] = field(default_factory=list)
    #: Items this plugin offered that were refused (duplicate id, invalid protocol...), and why.
    refused: list[str] = field(default_factory=list)
    #: Why the plugin is disabled; ``None`` while it is active.
    error: str | None = None
    blocked: bool = False

    @property
    def active(self) -> bool:
        """True while the plugin is loaded and has not failed."""
        return self.error is None and not self.blocked


#: How a broken protocol file a plugin returned is listed among its refused items.
BROKEN_PACK = "protocol pack: "


def broken_packs(host: PluginHost) -> list[str]:
    """Every protocol file a plugin could not read, as ``file, line N: reason``."""
    return [
        item.removeprefix(BROKEN_PACK)
        for record in host.records.values()
        for item in record.refused
        if item.startswith(BROKEN_PACK)
    ]


class PluginHost:
    """Owns the pluggy manager and the registries of drivers and protocols.

    Typical use::

        host = PluginHost()
        host.load_entrypoints()   # built-ins first, then vendors'; failures are recorded
        host.collect()            # asks every plugin for drivers and protocols
        host.drivers["simulator"].factory(clock=clock)
    """

    def __init__(self, blocked: Iterable[str] | None = None) -> None:
        self.pm = pluggy.PluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        env_blocked = os.environ.get(DISABLE_ENV, "")
        self.blocked = {n.strip() for n in env_blocked.split(",") if n.strip()} | set(blocked or ())
        self.records: dict[str, PluginRecord] = {}
        self.drivers: dict[str, DriverInfo] = {}
        self.protocols: dict[str, Protocol] = {}
        self._owner: dict[tuple[str, str], str] = {}  # (kind, id) -> plugin name
        # Plugin name -> when it registered: a contested id goes to the earliest.
        self._registered: dict[str, int] = {}
        self._registrations = 0
        self._trace = os.environ.get(TRACE_ENV, "") not in ("", "0")
        self._lock = threading.RLock()

    # -- loading ---------------------------------------------------------------------------

    def load_entrypoints(self, group: str = PROJECT_NAME) -> None:
        """Load every plugin declared in the entry-point ``group``, built-ins first.

        A plugin that cannot be imported or registered is recorded with its reason and skipped.
        """
        found = importlib.metadata.entry_points(group=group)
        by_distribution: dict[int, tuple[str, str]] = {}  # one metadata parse per distribution
        facts: dict[int, tuple[str, str]] = {}
        for ep in found:
            key = id(getattr(ep, "dist", None))
            if key not in by_distribution:
                by_distribution[key] = _distribution_of(ep)
            facts[id(ep)] = by_distribution[key]
        entry_points = sorted(found, key=lambda ep: (facts[id(ep)][0] != OWN_DISTRIBUTION, ep.name))
        for ep in entry_points:
            dist_name, dist_version = facts[id(ep)]
            origin = (
                "built-in"
                if dist_name == OWN_DISTRIBUTION
                else f"{dist_name} {dist_version}".strip()
            )
            if ep.name in self.records:
                self._fail(
                    PluginRecord(ep.name, origin, dist_version),
                    f"another plugin is already registered as {ep.name!r}",
                )
                continue
            if ep.name in self.blocked:
                self.records[ep.name] = PluginRecord(ep.name, origin, dist_version, blocked=True)
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # noqa: BLE001 - any import failure disables the plugin
                self._fail(
                    PluginRecord(ep.name, origin, dist_version),
                    f"failed to import {ep.value!r}: {type(exc).__name__}: {exc}",
                )
                continue
            self.register(plugin, ep.name, origin=origin, version=dist_version)

    def register(
        self, plugin: object, name: str, *, origin: str = "registered in code", version: str = ""
    ) -> PluginRecord:
        """Register one plugin object (module or instance) after checking its API version.

        Used for entry points and by tests. The returned record says whether it was accepted.
        """
        with self._lock:
            record = PluginRecord(name, origin, version or _module_version(plugin))
            record.api_version = getattr(plugin, "mc_console_api", None)
            if name in self.blocked:
                record.blocked = True
                self.records[name] = record
                return record
            problem = api_version_problem(record.api_version)
            if problem:
                return self._fail(record, problem)
            try:
                self.pm.register(plugin, name=name)
            except Exception as exc:  # noqa: BLE001 - pluggy validation and plugin code alike
                return self._fail(record, f"could not be registered: {exc}")
            callers = self.pm.get_hookcallers(plugin) or []
            unknown = [caller.name for caller in callers if not caller.has_spec()]
            if unknown:
                self.pm.unregister(plugin)
                return self._fail(
                    record,
                    f"implements unknown hook(s) {', '.join(unknown)}; "
                    f"see the hook reference (docs/hook-reference.md)",
                )
            wrappers = _wrapper_hooks(plugin, callers)
            if wrappers:
                self.pm.unregister(plugin)
                return self._fail(
                    record,
                    f"could not be registered: plugin {name!r} implements "
                    f"{', '.join(wrappers)} as a hook wrapper, which this console does not "
                    f"support (it calls each plugin's hooks on its own, so that one plugin's "
                    f"failure cannot stop another's); drop wrapper=True or hookwrapper=True",
                )
            record.hooks = sorted(caller.name for caller in callers)
            self.records[name] = record
            self._registrations += 1
            self._registered[name] = self._registrations
            return record

    def unregister(self, name: str) -> None:
        """Remove a plugin and everything it registered (tests use this in their teardown)."""
        with self._lock:
            plugin = self.pm.get_plugin(name)
            if plugin is not None:
                self.pm.unregister(plugin)
            self._forget_items(name)
            self.records.pop(name, None)
            self._registered.pop(name, None)

    # -- collecting ------------------------------------------------------------------------

    def collect(self) -> None:
        """Ask every active plugin for its drivers and protocols, and register what is valid.

        Calling it again starts from scratch (a plugin never competes with its own earlier ids).
        """
        self.drivers.clear()
        self.protocols.clear()
        self._owner.clear()
        for record in self.records.values():
            record.drivers.clear()
            record.protocols.clear()
            record.refused.clear()
        # Every plugin is asked in pluggy's order; the ids are then claimed in registration
        # order, so which plugin keeps a contested id never depends on tryfirst or trylast.
        for plugin_name, items in self._in_registration_order(self._call_each("register_drivers")):
            self._add_drivers(plugin_name, items)
        offered = self._in_registration_order(self._call_each("register_protocols"))
        for plugin_name, items in offered:
            if plugin_name != PACKS_PLUGIN:
                self._add_protocols(plugin_name, items)
        # The clinic's packs last: a pack never takes the id of an installed plugin's protocol
        # (it is refused, naming the owner), whenever the packs plugin registered.
        for plugin_name, items in offered:
            if plugin_name == PACKS_PLUGIN:
                self._add_protocols(plugin_name, items)

    def _in_registration_order(self, results: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
        """``results`` of a hook call, the plugin registered first first."""
        return sorted(results, key=lambda result: self._registered.get(result[0], 0))

    def _add_drivers(self, plugin_name: str, items: Any) -> None:
        record = self.records[plugin_name]
        if not isinstance(items, list | tuple):
            self._disable(
                plugin_name, f"register_drivers returned {type(items).__name__}, not a list"
            )
            return
        for info in items:
            if not isinstance(info, DriverInfo):
                record.refused.append(f"driver {info!r}: not a DriverInfo")
                continue
            if not self._claim("driver", info.id, plugin_name):
                continue
            clamped = info.capabilities.clamped()
            if clamped != info.capabilities:
                record.refused.append(
                    f"driver {info.id!r}: declared capabilities beyond the hard limits were clamped "
                    f"({info.capabilities.current_ua[1]:g} µA → {clamped.current_ua[1]:g} µA max)"
                )
                info = replace(info, capabilities=clamped)
            self.drivers[info.id] = info
            record.drivers.append(info.id)

    def _add_protocols(self, plugin_name: str, items: Any) -> None:
        record = self.records[plugin_name]
        if not isinstance(items, list | tuple):
            self._disable(
                plugin_name, f"register_protocols returned {type(items).__name__}, not a list"
            )
            return
        for protocol in items:
            if isinstance(protocol, ProtocolError):
                # A file-reading plugin's broken file: shown to the clinic, the rest still count.
                record.refused.append(f"{BROKEN_PACK}{protocol}")
                continue
            if not isinstance(protocol, Protocol):
                record.refused.append(f"protocol {protocol!r}: not a Protocol")
                continue
            problems = validate_protocol(protocol)
            if problems:
                record.refused.append(f"protocol {protocol.id!r}: " + "; ".join(problems))
                continue
            if not self._claim("protocol", protocol.id, plugin_name):
                continue
            self.protocols[protocol.id] = protocol
            record.protocols.append(protocol.id)

    def _claim(self, kind: str, item_id: str, plugin_name: str) -> bool:
        owner = self._owner.get((kind, item_id))
        if owner is not None:
            self.records[plugin_name].refused.append(
                f"{kind} {item_id!r}: id already registered by plugin {owner!r}"
            )
            return False
        self._owner[(kind, item_id)] = plugin_name
        return True

    # -- calling hooks in isolation --------------------------------------------------------

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call an observer hook on every plugin; one that raises is disabled, the rest go on."""
        for _ in self._call_each(hook_name, **kwargs):
            pass

    def _call_each(self, hook_name: str, **kwargs: Any) -> Iterable[tuple[str, Any]]:
        """Call each implementation of ``hook_name`` on its own, in pluggy's calling order."""
        caller = getattr(self.pm.hook, hook_name)
        # pluggy keeps its implementations as trylast, plain, tryfirst (each in registration
        # order) and calls them from the end of that list: reversed is exactly its order. The
        # copy matters: a plugin that raises is unregistered while we walk.
        for impl in reversed(list(caller.get_hookimpls())):
            plugin_name = impl.plugin_name
            if self._trace:
                log.info("hook %s -> %s", hook_name, plugin_name)
            try:
                result = impl.function(*(kwargs[arg] for arg in impl.argnames))
            except Exception as exc:  # noqa: BLE001 - a plugin's bug must not stop the console
                self._disable(plugin_name, f"raised in {hook_name}: {type(exc).__name__}: {exc}")
                continue
            yield plugin_name, result

    # -- failure bookkeeping ---------------------------------------------------------------

    def _fail(self, record: PluginRecord, reason: str) -> PluginRecord:
        record.error = reason
        self.records.setdefault(record.name, record)
        if self.records[record.name] is not record:
            # A second plugin under a taken name: keep both visible.
            self.records[f"{record.name} (duplicate)"] = record
        log.warning("plugin %s disabled: %s", record.name, reason)
        return record

    def _disable(self, plugin_name: str, reason: str) -> None:
        with self._lock:
            plugin = self.pm.get_plugin(plugin_name)
            if plugin is not None:
                self.pm.unregister(plugin)
            self._forget_items(plugin_name)
            record = self.records.get(plugin_name)
            if record is not None:
                record.error = reason
            log.warning("plugin %s disabled: %s", plugin_name, reason)

    def _forget_items(self, plugin_name: str) -> None:
        for (kind, item_id), owner in list(self._owner.items()):
            if owner != plugin_name:
                continue
            del self._owner[(kind, item_id)]
            registry: dict[str, Any] = self.drivers if kind == "driver" else self.protocols
            registry.pop(item_id, None)
        record = self.records.get(plugin_name)
        if record is not None:
            record.drivers.clear()
            record.protocols.clear()

    @property
    def failures(self) -> list[PluginRecord]:
        """Plugins that were refused or disabled, with their reasons."""
        return [record for record in self.records.values() if record.error]


def _wrapper_hooks(plugin: object, callers: Iterable[pluggy.HookCaller]) -> list[str]:
    """The hooks ``plugin`` implements as a wrapper (new style or old style), sorted."""
    return sorted(
        caller.name
        for caller in callers
        for impl in caller.get_hookimpls()
        if impl.plugin is plugin and (impl.wrapper or impl.hookwrapper)
    )


def api_version_problem(declared: object) -> str | None:
    """Why a plugin declaring ``mc_console_api = declared`` cannot load; ``None`` if it can."""
    ours_major, ours_minor = (int(part) for part in PLUGIN_API_VERSION.split("."))
    if declared is None:
        return (
            f"does not declare mc_console_api (the plugin-API version it was written for); "
            f"this console speaks {PLUGIN_API_VERSION}"
        )
    try:
        major, minor = (int(part) for part in str(declared).split("."))
    except ValueError:
        return f"declares mc_console_api = {declared!r}; expected 'MAJOR.MINOR' such as {PLUGIN_API_VERSION!r}"
    if major != ours_major or minor > ours_minor:
        return (
            f"was written for plugin API {major}.{minor}, but this console speaks "
            f"{PLUGIN_API_VERSION}; install a version of the plugin made for API {ours_major}.x"
        )
    return None


def load_plugins(blocked: Iterable[str] | None = None) -> PluginHost:
    """A host with every installed plugin loaded and collected: what the CLI and the UI use.

    ``blocked`` defaults to the plugins the clinic disabled (Help ▸ Plugins…, saved by
    :mod:`console.plugin_settings`); ``MC_CONSOLE_DISABLE`` blocks more in either case.
    """
    host = PluginHost(blocked=disabled_plugins() if blocked is None else blocked)
    host.load_entrypoints()
    host.collect()
    return host


def _distribution_of(ep: importlib.metadata.EntryPoint) -> tuple[str, str]:
    """The normalised name and the version of the distribution that declares ``ep``. Both are
    read from one parse of its metadata (each ``dist.metadata`` parses the file anew, and a
    start reads every plugin's)."""
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "unknown distribution", ""
    metadata = dist.metadata
    # Installers spell the name with '-', '_' or '.'; compare the normalised form (PEP 503).
    version = metadata.get("Version") or getattr(dist, "version", "")  # (read, not parsed again)
    return re.sub(r"[-_.]+", "-", metadata["Name"]).lower(), str(version or "")


def _module_version(plugin: object) -> str:
    version = getattr(plugin, "__version__", "")
    if not version and isinstance(plugin, ModuleType):
        version = getattr(plugin, "VERSION", "")
    return str(version)
