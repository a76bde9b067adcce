"""The plugin host honours pluggy's semantics: LIFO, tryfirst and trylast, no hook wrappers.

Each ordering rule is checked twice: against what pluggy documents, and against a plain
``pluggy.PluginManager`` given the same plugins, so the host cannot drift from pluggy's own order.
Which plugin owns a contested id is a rule of its own, tested here whatever the call order.
"""

from __future__ import annotations

from typing import Any

import pluggy
import pytest

import plugins.packs
from console import hookspecs
from console.api import PLUGIN_API_VERSION, PROJECT_NAME, Protocol, hookimpl
from console.plugins import PACKS_PLUGIN, PluginHost
from support import make_protocol

SESSION = object()


def observer(name: str, log: list[str], **options: bool) -> object:
    """A plugin whose session_started hook, marked with ``options``, appends ``name`` to ``log``."""

    class Observer:
        mc_console_api = PLUGIN_API_VERSION

        @hookimpl(**options)
        def session_started(self, session: Any) -> None:
            assert session is SESSION
            log.append(name)

    return Observer()


def host_order(plugins: list[tuple[str, dict[str, bool]]]) -> list[str]:
    """The order the host calls ``session_started`` of plugins registered in the given order."""
    log: list[str] = []
    host = PluginHost()
    for name, options in plugins:
        assert host.register(observer(name, log, **options), name).active
    host.notify("session_started", session=SESSION)
    return log


def pluggy_order(plugins: list[tuple[str, dict[str, bool]]]) -> list[str]:
    """The order a plain pluggy manager calls the same plugins registered in the same order."""
    log: list[str] = []
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for name, options in plugins:
        pm.register(observer(name, log, **options), name=name)
    pm.hook.session_started(session=SESSION)
    return log


PLAIN: dict[str, bool] = {}
FIRST = {"tryfirst": True}
LAST = {"trylast": True}


def test_the_plugin_registered_last_is_called_first() -> None:
    plugins = [("a", PLAIN), ("b", PLAIN), ("c", PLAIN)]
    assert host_order(plugins) == ["c", "b", "a"]
    assert host_order(plugins) == pluggy_order(plugins)


def test_tryfirst_is_called_before_the_others_and_trylast_after_them() -> None:
    """Registered first, a tryfirst plugin still runs first; registered last, trylast still last."""
    plugins = [("early", FIRST), ("a", PLAIN), ("b", PLAIN), ("late", LAST)]
    assert host_order(plugins) == ["early", "b", "a", "late"]
    plugins = [("late", LAST), ("a", PLAIN), ("early", FIRST), ("b", PLAIN)]
    assert host_order(plugins) == ["early", "b", "a", "late"]


@pytest.mark.parametrize(
    "plugins",
    [
        [("a", FIRST), ("b", FIRST), ("c", PLAIN)],
        [("a", LAST), ("b", LAST), ("c", LAST)],
        [("a", PLAIN), ("b", LAST), ("c", FIRST), ("d", PLAIN), ("e", LAST), ("f", FIRST)],
    ],
    ids=["two-tryfirst", "all-trylast", "mixed"],
)
def test_the_host_calls_in_exactly_pluggys_order(
    plugins: list[tuple[str, dict[str, bool]]],
) -> None:
    """Among equals (two tryfirst, two trylast) LIFO holds too, as in pluggy."""
    assert host_order(plugins) == pluggy_order(plugins)


def test_a_plugin_that_raises_is_disabled_and_the_others_keep_pluggys_order() -> None:
    log: list[str] = []

    class Raising:
        mc_console_api = PLUGIN_API_VERSION
        calls = 0

        @hookimpl
        def session_started(self, session: Any) -> None:
            Raising.calls += 1
            raise RuntimeError("observer bug")

    host = PluginHost()
    host.register(observer("a", log), "a")
    raising = host.register(Raising(), "raising")
    host.register(observer("b", log, trylast=True), "b")
    host.register(observer("c", log), "c")
    host.notify("session_started", session=SESSION)
    assert log == ["c", "a", "b"]
    assert raising.error == "raised in session_started: RuntimeError: observer bug"
    assert host.pm.get_plugin("raising") is None
    host.notify("session_started", session=SESSION)
    assert log == ["c", "a", "b", "c", "a", "b"]
    assert Raising.calls == 1


# -- hook wrappers -----------------------------------------------------------------------------


class NewStyleWrapper:
    """Wraps the other plugins' session_started (pluggy's ``wrapper=True``)."""

    mc_console_api = PLUGIN_API_VERSION

    def __init__(self) -> None:
        self.calls: list[str] = []

    @hookimpl(wrapper=True)
    def session_started(self, session: Any) -> Any:
        self.calls.append("before")
        result = yield
        self.calls.append("after")
        return result

    @hookimpl
    def register_protocols(self) -> list[Protocol]:
        self.calls.append("register_protocols")
        return [make_protocol(protocol_id="wrapped")]


class OldStyleWrapper:
    """The same with pluggy's older ``hookwrapper=True``."""

    mc_console_api = PLUGIN_API_VERSION

    def __init__(self) -> None:
        self.calls: list[str] = []

    @hookimpl(hookwrapper=True)
    def session_ended(self, session: Any, summary: Any) -> Any:
        self.calls.append("before")
        yield
        self.calls.append("after")


@pytest.mark.parametrize(
    ("wrapper", "hook", "flag"),
    [
        (NewStyleWrapper, "session_started", "wrapper=True"),
        (OldStyleWrapper, "session_ended", "hookwrapper=True"),
    ],
)
def test_a_hook_wrapper_is_refused_at_registration_naming_the_plugin(
    wrapper: type, hook: str, flag: str
) -> None:
    log: list[str] = []
    host = PluginHost()
    host.register(observer("a", log), "a")
    plugin = wrapper()
    record = host.register(plugin, "acme_wrap")
    assert not record.active
    assert record.error is not None
    assert record.error.startswith(
        f"could not be registered: plugin 'acme_wrap' implements {hook} as a hook wrapper"
    )
    assert flag in record.error
    assert host.failures == [record]
    # Nothing of it stays registered: none of its hooks, wrapper or not, is ever called.
    assert host.pm.get_plugin("acme_wrap") is None
    host.collect()
    host.notify("session_started", session=SESSION)
    host.notify("session_ended", session=SESSION, summary=None)
    assert plugin.calls == []
    assert "wrapped" not in host.protocols
    assert log == ["a"]
    # The others carry on, and a plugin registered afterwards is called as usual.
    host.register(observer("b", log), "b")
    host.notify("session_started", session=SESSION)
    assert log == ["a", "b", "a"]


def test_a_plain_plugin_is_not_taken_for_a_wrapper() -> None:
    assert PluginHost().register(observer("a", [], tryfirst=True), "a").active


# -- who owns an id ----------------------------------------------------------------------------


class Offering:
    """Offers one protocol under ``protocol_id``, with its hook marked ``options``."""

    mc_console_api = PLUGIN_API_VERSION

    def __init__(self, protocol_id: str, **options: bool) -> None:
        protocol = make_protocol(protocol_id=protocol_id)

        @hookimpl(**options)
        def register_protocols() -> list[Protocol]:
            return [protocol]

        self.register_protocols = register_protocols
        self.protocol = protocol


@pytest.mark.parametrize(
    ("first_options", "second_options"),
    [(PLAIN, PLAIN), (PLAIN, FIRST), (LAST, FIRST), (LAST, PLAIN)],
    ids=["plain", "second-tryfirst", "first-trylast-second-tryfirst", "first-trylast"],
)
def test_a_contested_id_goes_to_the_plugin_registered_first_whatever_the_order(
    first_options: dict[str, bool], second_options: dict[str, bool]
) -> None:
    """The second plugin is called first in most of these cases; it still does not take the id."""
    host = PluginHost()
    first = Offering("sculpt", **first_options)
    host.register(first, "acme")
    host.register(Offering("sculpt", **second_options), "zeta")
    host.collect()
    assert host.protocols["sculpt"] is first.protocol
    assert host.records["acme"].protocols == ["sculpt"]
    assert host.records["zeta"].refused == [
        "protocol 'sculpt': id already registered by plugin 'acme'"
    ]


def test_a_pack_never_takes_an_installed_protocol_s_id_even_registered_first() -> None:
    """The packs plugin registered before a vendor (first-come would give it the id): the
    vendor's protocol is kept and the pack is refused, naming the owner; other packs load."""
    host = PluginHost()
    packs = host.register(plugins.packs, PACKS_PLUGIN)
    vendor = Offering("express-lift", trylast=True)
    host.register(vendor, "acme")
    host.collect()
    assert host.protocols["express-lift"] is vendor.protocol
    assert host.records["acme"].protocols == ["express-lift"]
    assert packs.protocols == []
    assert packs.refused == ["protocol 'express-lift': id already registered by plugin 'acme'"]


def test_a_pack_whose_id_nobody_installed_is_registered() -> None:
    host = PluginHost()
    packs = host.register(plugins.packs, PACKS_PLUGIN)
    host.register(Offering("sculpt"), "acme")
    host.collect()
    assert packs.protocols == ["express-lift"]
    assert packs.refused == []
    assert sorted(host.protocols) == ["express-lift", "sculpt"]


def test_the_packs_plugin_asks_for_no_special_order() -> None:
    """The rule lives in the host: the packs plugin's hook is a plain one."""
    host = PluginHost()
    host.register(plugins.packs, PACKS_PLUGIN)
    (impl,) = host.pm.hook.register_protocols.get_hookimpls()
    assert (impl.tryfirst, impl.trylast, impl.wrapper, impl.hookwrapper) == (
        False,
        False,
        False,
        False,
    )
