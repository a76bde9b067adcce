"""The plugin host: built-ins through entry points, and isolation of every kind of faulty plugin.

Vendor plugins are simulated two ways, as the host meets them: as modules written to a temporary
directory and offered through a patched ``importlib.metadata.entry_points`` (so ``ep.load()`` really
imports them), and as plugin objects handed to :meth:`PluginHost.register`, the API tests use.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from console import hookimpl, hookspecs
from console.drivers import Capabilities, DriverInfo, Transport
from console.engine.clock import VirtualClock
from console.engine.events import EngineState
from console.hookspecs import PLUGIN_API_VERSION, PROJECT_NAME
from console.plugins import (
    DISABLE_ENV,
    TRACE_ENV,
    PluginHost,
    PluginRecord,
    api_version_problem,
    load_plugins,
)
from console.protocols import Protocol, RecommendedSeries, Step, validate_protocol
from console.waveforms import Polarity, Waveform, WaveShape
from device_drivers.simulator import SimulatedMachine
from support import BUILT_IN_DRIVERS, make_protocol

BUILT_IN_PROTOCOLS = {"lifting", "toning", "circulation"}
BUILT_IN_PLUGINS = {*BUILT_IN_DRIVERS, *BUILT_IN_PROTOCOLS, "packs"}
OBSERVER_HOOKS = ("session_started", "step_started", "safety_event", "session_ended")


@pytest.fixture(autouse=True)
def _no_plugin_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own MC_CONSOLE_DISABLE / MC_CONSOLE_TRACE must not change these tests."""
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    monkeypatch.delenv(TRACE_ENV, raising=False)


# -- plugin objects registered in code ---------------------------------------------------------


def driver_info(
    driver_id: str, *, max_current_ua: float = 600.0, vendor: str = "Acme"
) -> DriverInfo:
    """A driver registration for a made-up machine (its factory builds a simulated one)."""
    return DriverInfo(
        id=driver_id,
        name=f"{vendor} {driver_id}",
        vendor=vendor,
        model=driver_id.upper(),
        transport=Transport.SERIAL,
        capabilities=Capabilities(
            channels=1,
            current_ua=(10.0, max_current_ua),
            current_step_ua=10.0,
            frequency_hz=(0.5, 400.0),
            waveforms=frozenset({WaveShape.SQUARE}),
            polarities=frozenset(Polarity),
            sample_rate_hz=1_000.0,
            compliance_v=12.0,
        ),
        factory=lambda clock, **_: SimulatedMachine(clock),
    )


class Offering:
    """A plugin object that offers drivers and protocols, and counts the observer calls it gets."""

    def __init__(
        self,
        drivers: list[DriverInfo] | None = None,
        protocols: list[Protocol] | None = None,
        api: str | None = PLUGIN_API_VERSION,
    ) -> None:
        if api is not None:
            self.mc_console_api = api
        self._drivers = drivers or []
        self._protocols = protocols or []

    @hookimpl
    def register_drivers(self) -> list[DriverInfo]:
        return self._drivers

    @hookimpl
    def register_protocols(self) -> list[Protocol]:
        return self._protocols


class Listener:
    """Records every observer call it receives, with its arguments."""

    mc_console_api = PLUGIN_API_VERSION

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    @hookimpl
    def session_started(self, session: Any) -> None:
        self.calls.append(("session_started", {"session": session}))

    @hookimpl
    def step_started(self, session: Any, index: int, step: Any) -> None:
        self.calls.append(("step_started", {"session": session, "index": index, "step": step}))

    @hookimpl
    def safety_event(self, session: Any, event: Any) -> None:
        self.calls.append(("safety_event", {"session": session, "event": event}))

    @hookimpl
    def session_ended(self, session: Any, summary: Any) -> None:
        self.calls.append(("session_ended", {"session": session, "summary": summary}))


class Crasher:
    """Raises in every observer hook."""

    mc_console_api = PLUGIN_API_VERSION

    def __init__(self) -> None:
        self.calls = 0

    def _crash(self) -> None:
        self.calls += 1
        raise RuntimeError("observer bug")

    @hookimpl
    def session_started(self, session: Any) -> None:
        self._crash()

    @hookimpl
    def step_started(self, session: Any, index: int, step: Any) -> None:
        self._crash()

    @hookimpl
    def safety_event(self, session: Any, event: Any) -> None:
        self._crash()

    @hookimpl
    def session_ended(self, session: Any, summary: Any) -> None:
        self._crash()


def observer_arguments(hook_name: str) -> dict[str, Any]:
    """Keyword arguments the dispatcher passes to ``hook_name`` (sentinel values will do)."""
    arguments: dict[str, dict[str, Any]] = {
        "session_started": {"session": "S"},
        "step_started": {"session": "S", "index": 3, "step": "STEP"},
        "safety_event": {"session": "S", "event": "EVENT"},
        "session_ended": {"session": "S", "summary": "SUMMARY"},
    }
    return arguments[hook_name]


def invalid_protocol() -> Protocol:
    """Unknown zone, 5 mA, no technique: three problems, none of them fixed by the console."""
    return Protocol(
        id="bad-pack",
        name="Bad pack",
        category="lifting",
        description="Invalid on purpose.",
        steps=(
            Step(
                zone="ear_lobe",
                waveform=Waveform(WaveShape.SQUARE, 10.0, 5_000.0, Polarity.POSITIVE, 2.0, 1.0),
                duration_s=60.0,
                technique="   ",
            ),
        ),
        series=RecommendedSeries(2, 10, (4, 6)),
    )


# -- plugin modules offered through entry points -----------------------------------------------


@dataclass
class FakeEntryPoint:
    """An entry point of a vendor's distribution; ``load()`` imports as the real one does."""

    name: str
    value: str
    dist: Any = None
    group: str = PROJECT_NAME

    def load(self) -> Any:
        return importlib.metadata.EntryPoint(self.name, self.value, self.group).load()


class RaisingEntryPoint(FakeEntryPoint):
    """An entry point whose ``load()`` itself fails (a broken installation)."""

    def load(self) -> Any:
        raise OSError("the wheel's files are missing")


def vendor_dist(name: str = "Acme_Stim", version: str = "2.1.0") -> SimpleNamespace:
    """What ``ep.dist`` offers: metadata with a name (spelled as an installer may) and a version."""
    return SimpleNamespace(metadata={"Name": name}, version=version)


@pytest.fixture
def write_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., str]]:
    """Write a plugin module under a unique importable name; returns the module name."""
    monkeypatch.syspath_prepend(str(tmp_path))
    written: list[str] = []

    def write(source: str) -> str:
        name = f"vendor_plugin_{tmp_path.name.replace('-', '_')}_{len(written)}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        written.append(name)
        return name

    yield write
    for name in written:
        sys.modules.pop(name, None)


@pytest.fixture
def offer_entry_points(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Add entry points to the installed ones in the ``mc_console`` group."""

    def offer(*extra: Any) -> None:
        installed = importlib.metadata.entry_points

        def entry_points(**params: Any) -> Any:
            found = list(installed(**params))
            if params.get("group") == PROJECT_NAME:
                found.extend(extra)
            return found

        monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)

    return offer


GOOD_DRIVER_MODULE = """
    from console import hookimpl
    from console.drivers import Capabilities, DriverInfo, Transport
    from console.waveforms import Polarity, WaveShape
    from device_drivers.simulator import SimulatedMachine

    mc_console_api = "1.0"
    __version__ = "2.1.0"

    @hookimpl
    def register_drivers():
        return [
            DriverInfo(
                id="acme-s2",
                name="Acme S2",
                vendor="Acme",
                model="S2",
                transport=Transport.SERIAL,
                capabilities=Capabilities(
                    1, (10.0, 600.0), 10.0, (0.5, 400.0), frozenset(WaveShape),
                    frozenset(Polarity), 1000.0, 12.0,
                ),
                factory=lambda clock, **_: SimulatedMachine(clock),
            )
        ]
"""


# -- built-ins ---------------------------------------------------------------------------------


def test_built_ins_are_declared_as_entry_points() -> None:
    """The project's own plugins are found the way a vendor's are: in the mc_console group."""
    declared = {ep.name: ep.value for ep in importlib.metadata.entry_points(group=PROJECT_NAME)}
    assert declared["simulator"] == "device_drivers.simulator_plugin"
    assert declared["framed"] == "device_drivers.framed_plugin"
    assert declared["lifting"] == "plugins.lifting"
    assert declared["toning"] == "plugins.toning"
    assert declared["circulation"] == "plugins.circulation"


def test_collecting_again_registers_the_same_items_and_nothing_is_refused() -> None:
    """The window collects again after a pack is saved: no plugin competes with itself."""
    host = load_plugins()
    drivers, protocols = dict(host.drivers), dict(host.protocols)
    protocols_dict = host.protocols
    host.collect()
    assert host.drivers == drivers
    assert host.protocols == protocols
    assert host.protocols is protocols_dict  # views holding the registry see the new items
    assert all(record.refused == [] for record in host.records.values())


def test_load_plugins_registers_the_built_in_driver_and_protocols() -> None:
    """The simulator driver and the three protocols load, from built-in, active plugins."""
    host = load_plugins()
    assert host.failures == []
    assert set(host.drivers) == set(BUILT_IN_DRIVERS)
    assert set(host.protocols) >= BUILT_IN_PROTOCOLS
    for name in BUILT_IN_PLUGINS:
        record = host.records[name]
        assert record.active, record
        assert record.origin == "built-in"
        assert record.api_version == PLUGIN_API_VERSION
        assert record.refused == []
    assert host.records["simulator"].drivers == ["simulator"]
    assert host.records["simulator"].hooks == ["register_drivers"]
    for protocol_id in BUILT_IN_PROTOCOLS:
        assert host.records[protocol_id].protocols == [protocol_id]
        assert host.protocols[protocol_id].id == protocol_id
    info = host.drivers["simulator"]
    assert info.simulated
    machine = info.factory(clock=VirtualClock(), port="/dev/ttyUSB0", unused_option=1)
    assert isinstance(machine, SimulatedMachine)


# -- isolation ---------------------------------------------------------------------------------


def test_a_module_raising_in_register_protocols_is_disabled_and_the_others_keep_working(
    write_module: Callable[..., str], offer_entry_points: Callable[..., None]
) -> None:
    """The failing plugin is reported with its reason and loses what it had registered."""
    broken = write_module(
        GOOD_DRIVER_MODULE
        + """
    @hookimpl
    def register_protocols():
        raise RuntimeError("protocol pack is corrupt")
    """
    )
    offer_entry_points(FakeEntryPoint("acme_broken", broken, vendor_dist()))
    host = load_plugins()

    record = host.records["acme_broken"]
    assert not record.active
    assert record.error == "raised in register_protocols: RuntimeError: protocol pack is corrupt"
    assert [failure.name for failure in host.failures] == ["acme_broken"]
    # Disabled means disabled: its driver, registered before the protocols hook ran, is gone too.
    assert "acme-s2" not in host.drivers
    assert record.drivers == []
    assert host.pm.get_plugin("acme_broken") is None
    # Everyone else is untouched.
    assert set(host.drivers) == set(BUILT_IN_DRIVERS)
    assert set(host.protocols) >= BUILT_IN_PROTOCOLS
    assert all(host.records[name].active for name in BUILT_IN_PLUGINS)


def test_a_working_vendor_module_loads_with_its_distribution_as_origin(
    write_module: Callable[..., str], offer_entry_points: Callable[..., None]
) -> None:
    """A vendor module through an entry point: registered after the built-ins, origin named."""
    offer_entry_points(FakeEntryPoint("acme", write_module(GOOD_DRIVER_MODULE), vendor_dist()))
    host = load_plugins()
    assert host.failures == []
    record = host.records["acme"]
    assert record.origin == "acme-stim 2.1.0"  # the distribution name, normalised
    assert record.version == "2.1.0"
    assert record.drivers == ["acme-s2"]
    assert set(host.drivers) == {*BUILT_IN_DRIVERS, "acme-s2"}
    assert list(host.records)[: len(BUILT_IN_PLUGINS)] == sorted(BUILT_IN_PLUGINS)


def test_a_module_that_fails_to_import_is_reported(
    write_module: Callable[..., str], offer_entry_points: Callable[..., None]
) -> None:
    """An import error disables that plugin with the module and the exception; others load."""
    broken = write_module("import acme_vendor_sdk_that_is_not_installed\n")
    offer_entry_points(FakeEntryPoint("acme_sdk", broken, vendor_dist()))
    host = load_plugins()
    record = host.records["acme_sdk"]
    assert not record.active
    assert record.error is not None
    assert record.error.startswith(f"failed to import {broken!r}: ModuleNotFoundError")
    assert "acme_vendor_sdk_that_is_not_installed" in record.error
    assert record.origin == "acme-stim 2.1.0"
    assert set(host.drivers) == set(BUILT_IN_DRIVERS)
    assert set(host.protocols) >= BUILT_IN_PROTOCOLS


def test_an_entry_point_whose_load_raises_is_reported(
    offer_entry_points: Callable[..., None],
) -> None:
    """Any exception from ep.load() is caught and recorded, not only ImportError."""
    offer_entry_points(RaisingEntryPoint("acme_gone", "acme_gone.plugin"))
    host = load_plugins()
    record = host.records["acme_gone"]
    assert record.error == (
        "failed to import 'acme_gone.plugin': OSError: the wheel's files are missing"
    )
    assert "unknown distribution" in record.origin  # no distribution metadata at all
    assert [failure.name for failure in host.failures] == ["acme_gone"]
    assert set(host.drivers) == set(BUILT_IN_DRIVERS)


def test_two_entry_points_with_the_same_name_keep_the_first(
    write_module: Callable[..., str], offer_entry_points: Callable[..., None]
) -> None:
    """A vendor entry point named like a built-in is refused; both stay visible."""
    offer_entry_points(FakeEntryPoint("simulator", write_module(GOOD_DRIVER_MODULE), vendor_dist()))
    host = load_plugins()
    assert host.records["simulator"].origin == "built-in"
    assert host.records["simulator"].active
    duplicate = host.records["simulator (duplicate)"]
    assert duplicate.error == "another plugin is already registered as 'simulator'"
    assert duplicate.origin == "acme-stim 2.1.0"
    assert "acme-s2" not in host.drivers


def test_a_plugin_raising_in_register_drivers_is_disabled() -> None:
    """The same isolation for the drivers hook; its valid protocols are not collected either."""

    class BrokenDrivers(Offering):
        @hookimpl
        def register_drivers(self) -> list[DriverInfo]:
            raise KeyError("port")

    host = PluginHost()
    host.load_entrypoints()
    record = host.register(
        BrokenDrivers(protocols=[make_protocol(protocol_id="acme-lift")]), "acme"
    )
    host.collect()
    assert record.error == "raised in register_drivers: KeyError: 'port'"
    assert "acme-lift" not in host.protocols
    assert set(host.drivers) == set(BUILT_IN_DRIVERS)
    assert set(host.protocols) >= BUILT_IN_PROTOCOLS


@pytest.mark.parametrize(
    ("returned", "reason"),
    [({"id": "acme"}, "returned dict, not a list"), (None, "returned NoneType, not a list")],
)
def test_a_plugin_returning_something_other_than_a_list_is_disabled(
    returned: Any, reason: str
) -> None:
    """register_drivers must return a list; anything else disables the plugin with the type."""

    class Odd(Offering):
        @hookimpl
        def register_drivers(self) -> Any:
            return returned

    host = PluginHost()
    record = host.register(Odd(), "odd")
    host.collect()
    assert record.error == f"register_drivers {reason}"


def test_items_of_the_wrong_type_are_refused_one_by_one() -> None:
    """A non-DriverInfo or non-Protocol item is refused; the good items of the list register."""
    host = PluginHost()
    offering = Offering(
        drivers=["acme-s2", driver_info("acme-s3")],  # type: ignore[list-item]
        protocols=[{"id": "x"}, make_protocol(protocol_id="acme-lift")],  # type: ignore[list-item]
    )
    record = host.register(offering, "acme")
    host.collect()
    assert record.active
    assert record.refused == [
        "driver 'acme-s2': not a DriverInfo",
        "protocol {'id': 'x'}: not a Protocol",
    ]
    assert set(host.drivers) == {"acme-s3"}
    assert set(host.protocols) == {"acme-lift"}


def test_unknown_hooks_and_bad_hook_signatures_are_refused() -> None:
    """A misspelt hook or a wrong argument name is caught at registration, with the reason."""

    class Misspelt:
        mc_console_api = PLUGIN_API_VERSION

        @hookimpl
        def register_driver(self) -> list[DriverInfo]:
            return []

    class WrongArgument:
        mc_console_api = PLUGIN_API_VERSION

        @hookimpl
        def session_started(self, sesion: Any) -> None:
            pass

    host = PluginHost()
    misspelt = host.register(Misspelt(), "misspelt")
    wrong = host.register(WrongArgument(), "wrong")
    assert misspelt.error is not None
    assert "unknown hook(s) register_driver" in misspelt.error
    assert wrong.error is not None
    assert wrong.error.startswith("could not be registered")
    assert "sesion" in wrong.error
    assert host.pm.get_plugin("misspelt") is None
    assert host.pm.get_plugin("wrong") is None


def test_a_second_plugin_under_a_taken_name_is_refused() -> None:
    """Registering in code under a name already in use fails without touching the first."""
    host = PluginHost()
    first = host.register(Offering(drivers=[driver_info("acme-s2")]), "acme")
    second = host.register(Offering(drivers=[driver_info("acme-s3")]), "acme")
    host.collect()
    assert first.active
    assert second.error is not None
    assert second.error.startswith("could not be registered")
    assert host.records["acme"] is first
    assert host.records["acme (duplicate)"] is second
    assert set(host.drivers) == {"acme-s2"}


# -- unique ids --------------------------------------------------------------------------------


def test_a_duplicate_driver_id_is_refused_naming_the_id_and_both_plugins() -> None:
    """A vendor's 'simulator' loses to the built-in; the rest of the vendor's list registers."""
    host = PluginHost()
    host.load_entrypoints()
    vendor = host.register(
        Offering(drivers=[driver_info("simulator"), driver_info("acme-s2")]), "acme"
    )
    host.collect()
    assert host.drivers["simulator"].vendor == "Microcurrent Console"
    assert host.drivers["acme-s2"].vendor == "Acme"
    assert vendor.active
    assert vendor.drivers == ["acme-s2"]
    (refusal,) = vendor.refused
    assert refusal == "driver 'simulator': id already registered by plugin 'simulator'"
    # As 'mc-console plugins' prints it, the line names both plugins and the id.
    assert f"{vendor.name}: {refusal}" == (
        "acme: driver 'simulator': id already registered by plugin 'simulator'"
    )


def test_a_duplicate_protocol_id_is_refused_naming_the_id_and_both_plugins() -> None:
    """Two plugins offering 'eye-lift': the first registered keeps it, the second is told who."""
    host = PluginHost()
    first_protocol = make_protocol(protocol_id="eye-lift", current_ua=200.0)
    second_protocol = make_protocol(protocol_id="eye-lift", current_ua=400.0)
    first = host.register(Offering(protocols=[first_protocol]), "clinic_pack")
    second = host.register(
        Offering(protocols=[second_protocol, make_protocol(protocol_id="neck-lift")]),
        "acme_pack",
    )
    host.collect()
    assert host.protocols["eye-lift"] is first_protocol
    assert first.protocols == ["eye-lift"]
    assert second.protocols == ["neck-lift"]
    assert second.refused == ["protocol 'eye-lift': id already registered by plugin 'clinic_pack'"]
    assert first.refused == []


def test_a_built_in_protocol_id_cannot_be_taken_over() -> None:
    """A vendor offering a protocol called 'lifting' does not replace the built-in one."""
    host = PluginHost()
    host.load_entrypoints()
    impostor = make_protocol(protocol_id="lifting")
    vendor = host.register(Offering(protocols=[impostor]), "acme")
    host.collect()
    assert host.protocols["lifting"] is not impostor
    assert vendor.refused == ["protocol 'lifting': id already registered by plugin 'lifting'"]


# -- API version -------------------------------------------------------------------------------


@pytest.mark.parametrize("declared", ["2.0", "1.2", "0.9", "3.7"])
def test_an_incompatible_api_version_is_refused_with_both_versions_named(declared: str) -> None:
    """Another major version, or a newer minor one, is refused before any hook is called."""
    host = PluginHost()
    record = host.register(Offering(drivers=[driver_info("acme-s2")], api=declared), "acme")
    host.collect()
    assert not record.active
    assert record.api_version == declared
    assert record.error is not None
    assert f"was written for plugin API {declared}" in record.error
    assert f"this console speaks {PLUGIN_API_VERSION}" in record.error
    assert "install a version of the plugin made for API 1.x" in record.error
    assert host.pm.get_plugin("acme") is None
    assert host.drivers == {}
    assert host.failures == [record]


@pytest.mark.parametrize("declared", ["1", "1.0.0", "one", "", "1.x"])
def test_a_malformed_api_version_is_refused(declared: str) -> None:
    """Anything but MAJOR.MINOR is refused, showing what was declared and what is expected."""
    record = PluginHost().register(Offering(api=declared), "acme")
    assert record.error == (
        f"declares mc_console_api = {declared!r}; expected 'MAJOR.MINOR' such as '1.1'"
    )


def test_a_missing_api_version_is_refused_as_documented() -> None:
    """No mc_console_api: refused (the hookspecs require it), naming the console's version."""
    host = PluginHost()
    record = host.register(Offering(drivers=[driver_info("acme-s2")], api=None), "acme")
    host.collect()
    assert record.api_version is None
    assert record.error == (
        "does not declare mc_console_api (the plugin-API version it was written for); "
        "this console speaks 1.1"
    )
    assert host.drivers == {}


def test_a_missing_api_version_in_a_module_is_refused(
    write_module: Callable[..., str], offer_entry_points: Callable[..., None]
) -> None:
    """The same through an entry point: the module is imported, then refused."""
    source = GOOD_DRIVER_MODULE.replace('mc_console_api = "1.0"', "")
    offer_entry_points(FakeEntryPoint("acme_old", write_module(source), vendor_dist()))
    host = load_plugins()
    record = host.records["acme_old"]
    assert record.error is not None
    assert record.error.startswith("does not declare mc_console_api")
    assert "acme-s2" not in host.drivers


@pytest.mark.parametrize("declared", ["1.0", PLUGIN_API_VERSION])
def test_the_console_s_own_api_version_is_accepted(declared: str) -> None:
    """The current version passes the check."""
    assert api_version_problem(declared) is None
    assert PluginHost().register(Offering(api=declared), "acme").active


# -- safety: clamping and validation -----------------------------------------------------------


def test_capabilities_above_the_hard_limits_are_clamped_and_noted() -> None:
    """A driver claiming 5 mA and 50 kHz is registered at 1000 µA and 1000 Hz, with a note."""
    over = driver_info("acme-x", max_current_ua=5_000.0)
    over = replace(over, capabilities=replace(over.capabilities, frequency_hz=(0.01, 50_000.0)))
    within = driver_info("acme-s2")
    host = PluginHost()
    record = host.register(Offering(drivers=[over, within]), "acme")
    host.collect()
    assert record.active
    assert record.drivers == ["acme-x", "acme-s2"]
    clamped = host.drivers["acme-x"].capabilities
    assert clamped.current_ua == (10.0, 1_000.0)
    assert clamped.frequency_hz == (0.1, 1_000.0)
    assert host.drivers["acme-s2"].capabilities == within.capabilities
    assert record.refused == [
        "driver 'acme-x': declared capabilities beyond the hard limits were clamped "
        "(5000 µA → 1000 µA max)"
    ]


def test_an_invalid_protocol_is_refused_with_every_problem_listed() -> None:
    """Unknown zone, above the hard limit, no technique: all three named; the valid one registers."""
    host = PluginHost()
    good = make_protocol(protocol_id="acme-lift")
    record = host.register(Offering(protocols=[invalid_protocol(), good]), "acme")
    host.collect()
    assert record.active
    assert set(host.protocols) == {"acme-lift"}
    (refusal,) = record.refused
    assert refusal.startswith("protocol 'bad-pack': ")
    assert "step 1 (ear_lobe): unknown zone 'ear_lobe'" in refusal
    assert "step 1 (ear_lobe): current 5000 µA is above the hard limit of 1000 µA" in refusal
    assert "step 1 (ear_lobe): technique is empty" in refusal
    assert refusal.count("step 1 (ear_lobe): ") == 3
    assert refusal == "protocol 'bad-pack': " + "; ".join(validate_protocol(invalid_protocol()))


# -- blocking by name --------------------------------------------------------------------------


def test_mc_console_disable_blocks_plugins_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """MC_CONSOLE_DISABLE=toning, simulator: both are listed as blocked and contribute nothing."""
    monkeypatch.setenv(DISABLE_ENV, "toning, simulator")
    host = load_plugins()
    assert "simulator" not in host.drivers
    assert "toning" not in host.protocols
    assert {"lifting", "circulation"} <= set(host.protocols)
    for name in ("toning", "simulator"):
        record = host.records[name]
        assert record.blocked
        assert not record.active
        assert record.error is None
        assert host.pm.get_plugin(name) is None
    assert host.failures == []  # blocked on purpose is not a failure


def test_a_blocked_entry_point_is_not_even_imported(
    write_module: Callable[..., str],
    offer_entry_points: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Blocking is how a clinic gets past a plugin that crashes on import: it is never loaded."""
    broken = write_module("raise SystemError('crashes on import')\n")
    offer_entry_points(FakeEntryPoint("acme_crash", broken, vendor_dist()))
    monkeypatch.setenv(DISABLE_ENV, "acme_crash")
    host = load_plugins()
    assert broken not in sys.modules
    record = host.records["acme_crash"]
    assert record.blocked
    assert record.error is None
    assert record.origin == "acme-stim 2.1.0"
    assert host.failures == []


def test_mc_console_disable_also_blocks_plugins_registered_in_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same names are refused through register(), and the blocked= argument adds to them."""
    monkeypatch.setenv(DISABLE_ENV, "acme")
    host = PluginHost(blocked=["clinic"])
    assert host.blocked == {"acme", "clinic"}
    for name in ("acme", "clinic"):
        record = host.register(Offering(drivers=[driver_info(f"{name}-1")]), name)
        assert record.blocked
    other = host.register(Offering(drivers=[driver_info("other-1")]), "other")
    host.collect()
    assert other.active
    assert set(host.drivers) == {"other-1"}


# -- the manual --------------------------------------------------------------------------------


def hookspec_functions() -> dict[str, Callable[..., Any]]:
    """Every function in console/hookspecs.py marked as a hookspec."""
    marker = f"{PROJECT_NAME}_spec"
    return {
        name: function
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(function, marker)
    }


def test_the_hookspecs_are_the_hooks_the_host_knows() -> None:
    """Six hooks: two registries and four observers, all known to the plugin manager."""
    specs = hookspec_functions()
    assert set(specs) == {"register_drivers", "register_protocols", *OBSERVER_HOOKS}
    host = PluginHost()
    for name in specs:
        assert getattr(host.pm.hook, name).has_spec()


@pytest.mark.parametrize("name", sorted(hookspec_functions()))
def test_every_hookspec_is_documented_for_plugin_authors(name: str) -> None:
    """Each hook's docstring (the plugin author's manual) is more than 100 characters."""
    doc = inspect.getdoc(hookspec_functions()[name])
    assert doc is not None
    assert len(doc) > 100, f"{name}: {doc!r}"


def test_the_hookspecs_module_explains_the_rules() -> None:
    """The module docstring states the version, isolation and blocking rules it enforces."""
    doc = hookspecs.__doc__ or ""
    for phrase in ("mc_console_api", "Isolation", "Unique ids", "clamped", "MC_CONSOLE_DISABLE"):
        assert phrase in doc


# -- observers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("hook_name", OBSERVER_HOOKS)
def test_an_observer_that_raises_does_not_stop_the_others(hook_name: str) -> None:
    """Plugins registered before and after the failing one all get the call, every time."""
    host = PluginHost()
    early, late, crasher = Listener(), Listener(), Crasher()
    host.register(early, "early")
    crashing = host.register(crasher, "crasher")
    host.register(late, "late")
    arguments = observer_arguments(hook_name)

    host.notify(hook_name, **arguments)
    host.notify(hook_name, **arguments)

    assert early.calls == [(hook_name, arguments)] * 2
    assert late.calls == [(hook_name, arguments)] * 2
    assert crasher.calls == 1  # disabled after the first failure, never called again
    assert crashing.error == f"raised in {hook_name}: RuntimeError: observer bug"
    assert host.failures == [crashing]
    for other in OBSERVER_HOOKS:
        host.notify(other, **observer_arguments(other))
    assert crasher.calls == 1
    assert [name for name, _ in late.calls][2:] == list(OBSERVER_HOOKS)


def test_a_raising_observer_does_not_disturb_a_treatment(make_engine: Callable[..., Any]) -> None:
    """Through the engine's dispatcher: the session finishes and the other observer sees it all."""
    host = load_plugins()
    listener, crasher = Listener(), Crasher()
    crashing = host.register(crasher, "crasher")
    host.register(listener, "listener")
    engine, _, _ = make_engine(notify_hook=host.notify)
    engine.prepare(make_protocol(steps=2, duration_s=10.0))
    summary = engine.run(timeout=30)
    assert summary.state is EngineState.FINISHED
    assert [name for name, _ in listener.calls] == [
        "session_started",
        "step_started",
        "step_started",
        "session_ended",
    ]
    assert [call["index"] for name, call in listener.calls if name == "step_started"] == [0, 1]
    assert crasher.calls == 1
    assert crashing.error is not None
    assert crashing.error.startswith("raised in session_started: RuntimeError")
    assert isinstance(host.records["listener"], PluginRecord)
    assert host.records["listener"].active
