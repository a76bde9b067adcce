"""Fixtures of the conformance kit: the driver under test on its bench, the protocols under test.

The command-line options are registered by :mod:`console.testing.conformance.plugin` (pytest must
know them before it imports this file). Without ``--driver`` the driver checks skip, without
``--protocol-plugin`` the protocol checks skip, each with a message saying how to run the kit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from console.drivers import Capabilities, Driver
from console.protocols import Protocol
from console.testing.conformance.kit import (
    LATE_S,
    Bench,
    DriverTarget,
    KitUsageError,
    ProtocolPluginUnderTest,
    StreamRun,
    load_protocol_plugin,
    must,
    probe_waveform,
    resolve_driver,
    rising_levels,
    stream_for,
)
from console.testing.conformance.plugin import FIGURE_KEY, RUN_HINT

_PLUGIN_KEY = pytest.StashKey[ProtocolPluginUnderTest | None]()

#: Clock seconds of streaming the sample, heartbeat and read checks judge: a 1 s window that
#: starts 0.1 s in, and :data:`~console.testing.conformance.kit.LATE_S` for its last samples.
STREAM_S = 1.1 + LATE_S


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the driver checks without ``--driver`` and the protocol checks without
    ``--protocol-plugin`` (one line each in the summary, saying how to run the kit)."""
    here = Path(__file__).parent
    wanted = {
        "test_driver.py": ("--driver", "no --driver given"),
        "test_protocol_plugin.py": ("--protocol-plugin", "no --protocol-plugin given"),
    }
    for item in items:
        if item.path.parent != here or item.path.name not in wanted:
            continue
        option, missing = wanted[item.path.name]
        if not _option(config, option):
            item.add_marker(pytest.mark.skip(reason=f"{missing}: {RUN_HINT}"))


def _option(config: pytest.Config, name: str) -> object:
    """An option's value; ``None`` when the kit's plugin was not loaded (options unknown)."""
    return config.getoption(name, default=None)


# -- drivers -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def driver_target(pytestconfig: pytest.Config) -> DriverTarget:
    """The driver named by ``--driver`` (skips the driver checks when none is given)."""
    spec = _option(pytestconfig, "--driver")
    if not spec:
        pytest.skip(f"no --driver given: {RUN_HINT}")
    port = _option(pytestconfig, "--port")
    speed = _option(pytestconfig, "--driver-speed")
    try:
        return resolve_driver(
            str(spec), str(port) if port else None, float(speed) if speed else None
        )
    except KitUsageError as error:
        pytest.exit(str(error), returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.fixture(scope="session")
def bench(driver_target: DriverTarget) -> Iterator[Bench]:
    """The driver's clock, emulator (``--port emulator``) and connections, closed at the end."""
    bench = Bench(driver_target)
    try:
        yield bench
    finally:
        bench.close()


@pytest.fixture
def machine(bench: Bench) -> Iterator[Driver]:
    """The shared open connection; its output is turned off after each check."""
    driver = bench.shared()
    yield driver
    with contextlib.suppress(Exception):
        driver.stop_output()


@pytest.fixture
def caps(machine: Driver) -> Capabilities:
    """The capabilities the connected machine states (its ``capabilities`` after ``open()``)."""
    stated = getattr(machine, "capabilities", None)
    if not isinstance(stated, Capabilities):
        pytest.fail(
            "after open() the driver has no `capabilities` (a console.drivers.Capabilities): set "
            "it to what the connected machine states; the core checks every step against it",
            pytrace=False,
        )
    return stated


@pytest.fixture(scope="session")
def streaming(bench: Bench) -> StreamRun:
    """About a second of streaming with the output on at the lowest test level, judged by several
    checks (timestamps, rate, heartbeat, read times). Collected once."""
    driver = bench.shared()
    stated: Capabilities = driver.capabilities
    level = rising_levels(stated)[0]
    must("configure()", driver.configure, probe_waveform(stated, level))
    must("set_amplitude(0)", driver.set_amplitude, 0.0)
    must("start_output()", driver.start_output)
    try:
        must(f"set_amplitude({level:g})", driver.set_amplitude, level)
        return stream_for(bench, driver, STREAM_S, level)
    finally:
        with contextlib.suppress(Exception):
            driver.stop_output()


@pytest.fixture
def figure(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record a measured figure; the kit prints them all at the end of the run."""

    def add(text: str) -> None:
        request.node.user_properties.append((FIGURE_KEY, text))

    return add


# -- protocol plugins --------------------------------------------------------------------------


def _plugin_under_test(config: pytest.Config) -> ProtocolPluginUnderTest | None:
    if _PLUGIN_KEY not in config.stash:
        name = _option(config, "--protocol-plugin")
        config.stash[_PLUGIN_KEY] = load_protocol_plugin(str(name)) if name else None
    return config.stash[_PLUGIN_KEY]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each protocol check once per protocol the plugin registers (ids: protocol ids)."""
    if "protocol" not in metafunc.fixturenames:
        return
    plugin = _plugin_under_test(metafunc.config)
    if plugin is None or not plugin.protocols:
        metafunc.parametrize("protocol", [None], ids=["no-protocols"], indirect=True)
        return
    metafunc.parametrize(
        "protocol",
        plugin.protocols,
        ids=[protocol.id or "(empty id)" for protocol in plugin.protocols],
        indirect=True,
    )


@pytest.fixture(scope="session")
def protocol_plugin(pytestconfig: pytest.Config) -> ProtocolPluginUnderTest:
    """The plugin named by ``--protocol-plugin`` (skips the protocol checks when none is given)."""
    plugin = _plugin_under_test(pytestconfig)
    if plugin is None:
        pytest.skip(f"no --protocol-plugin given: {RUN_HINT}")
    return plugin


@pytest.fixture
def protocol(request: pytest.FixtureRequest, protocol_plugin: ProtocolPluginUnderTest) -> Protocol:
    """One protocol of the plugin (skips when there is none: the plugin check says why)."""
    if request.param is None:
        pytest.skip(
            "nothing to check: "
            f"{protocol_plugin.problem or 'the plugin registers no protocols'} "
            "(see test_plugin_loads_and_registers_protocols)"
        )
    return request.param
