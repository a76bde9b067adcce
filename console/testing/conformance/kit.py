"""The machinery of the conformance kit: finding the driver, driving it safely, judging what it did.

Nothing here is a test. :func:`resolve_driver` turns ``--driver``/``--port``/``--driver-speed`` into
a :class:`DriverTarget`; a :class:`Bench` owns the clock, the emulator (``--port emulator``) and the
driver connections, and bounds every driver call in time as the engine does; the functions below
it judge samples and capabilities and word what they find for the vendor.
"""

from __future__ import annotations

import contextlib
import importlib
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn

import numpy as np
import pytest

from console.drivers import Capabilities, Driver, DriverError, DriverInfo, SampleBlock, Transport
from console.engine.clock import Clock, RealClock, ScaledClock
from console.engine.safety import SafetyLimits
from console.plugins import PluginHost, api_version_problem, load_plugins
from console.protocols import Protocol
from console.waveforms import (
    CURRENT_STEP_UA,
    HARD_MAX_CURRENT_UA,
    HARD_MAX_FREQUENCY_HZ,
    HARD_MIN_FREQUENCY_HZ,
    Polarity,
    Waveform,
    WaveShape,
)

#: The engine's safety thresholds (silence, hang, over-current): the kit judges by the same ones.
LIMITS = SafetyLimits()
#: Built-in serial drivers whose emulator ``--port emulator`` starts, by driver id.
EMULATED_PROTOCOLS = {"framed": "framed", "scpi": "scpi"}
#: Clock speed of a simulated machine when ``--driver-speed`` is not given.
DEFAULT_SIMULATED_SPEED = 10.0
#: Wall-clock bounds of the slow calls (``open`` may wait for a machine's hello).
OPEN_LIMIT_S = 10.0
CLOSE_LIMIT_S = 5.0
#: ``stop_output`` must return within this (median and worst of 20 calls), wall clock.
STOP_LIMIT_S = 0.020
#: Rounds of 20 ``stop_output`` calls the kit may try: a driver that waits misses in every
#: round, while a busy computer (another process taking the CPU for a moment) misses in one.
STOP_ROUNDS = 3
#: ``read_samples`` must return within this, wall clock...
READ_LIMIT_S = 0.005
#: ...in all but this share of the calls (a busy computer delays a call now and then; a driver
#: that waits for its port is slow in most), and never take this long.
READ_SLOW_SHARE = 0.02
READ_HANG_S = 0.1
#: The engine's interpreter switch interval during a session (see ``console.engine.runner``).
SWITCH_INTERVAL_S = 0.001
#: After a new setpoint, samples this much later show it (the engine's settle time plus the
#: transit delay a port may add), clock seconds.
SETTLE_S = 0.1
#: How late (clock seconds) samples may arrive after they were measured: a machine on a port
#: sends them in batches.
LATE_S = 0.25
#: The highest current the kit ever turns the output on with (edge settings go out with the
#: output off).
TEST_TOP_UA = 400.0
#: Frequency the kit runs the output at when the machine allows it.
TEST_FREQUENCY_HZ = 10.0


class KitUsageError(Exception):
    """The kit was started with options it cannot use; the message says which and why."""


# -- what to test ------------------------------------------------------------------------------


@dataclass
class DriverTarget:
    """The driver under test, as found from the command line."""

    spec: str  #: ``--driver`` as given
    factory: Callable[..., Driver]
    #: The registration as the plugin returned it (before the core clamps it); ``None`` for a
    #: bare ``module:factory``.
    info: DriverInfo | None
    port: str | None  #: ``--port`` as given (``emulator`` included)
    speed: float  #: clock speed (1.0: real time)
    plugin_name: str | None = None  #: the entry-point plugin that registered it
    #: What the console reported about that plugin (refused items, e.g. clamped capabilities).
    plugin_notes: list[str] = field(default_factory=list)

    @property
    def simulated(self) -> bool:
        """True when the registration says no current can reach a person."""
        return self.info is not None and self.info.simulated

    @property
    def has_port(self) -> bool:
        """True for a machine on a port (it finds one itself when ``--port`` is not given)."""
        if self.info is not None:
            return self.info.transport is not Transport.SIMULATED
        return self.port is not None

    @property
    def emulator_protocol(self) -> str | None:
        """The emulator to start for ``--port emulator``, else ``None``."""
        if self.port != "emulator":
            return None
        return EMULATED_PROTOCOLS.get(self.info.id if self.info is not None else "")


def resolve_driver(spec: str, port: str | None, speed: float | None) -> DriverTarget:
    """Find the driver ``spec`` names: a registered id, ``module:factory`` or ``module:INFO``.

    Raises :class:`KitUsageError` with the reason (unknown id, import failure, bad speed...).
    """
    target = _from_module(spec, port) if ":" in spec else _from_registry(spec, port)
    if port == "emulator" and target.emulator_protocol is None:
        raise KitUsageError(
            f"--port emulator starts the built-in emulator of the {' and '.join(EMULATED_PROTOCOLS)} "
            f"drivers only; give the port your machine is on for {spec!r}"
        )
    if speed is not None and not speed > 0:
        raise KitUsageError(f"--driver-speed must be positive, got {speed:g}")
    if speed is not None and speed != 1.0 and target.info is not None and not target.simulated:
        raise KitUsageError(
            f"{spec!r} is not registered as simulated (DriverInfo.simulated=False), so it runs in "
            "real time only: drop --driver-speed"
        )
    if speed is None:
        speed = DEFAULT_SIMULATED_SPEED if target.simulated else 1.0
    target.speed = speed
    return target


def _from_module(spec: str, port: str | None) -> DriverTarget:
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 - any import failure is the vendor's to see
        raise KitUsageError(
            f"--driver {spec}: cannot import {module_name!r}: {type(error).__name__}: {error}"
        ) from None
    found = getattr(module, attribute, None)
    if isinstance(found, DriverInfo):
        return DriverTarget(spec, found.factory, found, port, 1.0)
    if callable(found):
        return DriverTarget(spec, found, None, port, 1.0)
    raise KitUsageError(
        f"--driver {spec}: {module_name} has no factory or DriverInfo named {attribute!r}"
    )


def _from_registry(driver_id: str, port: str | None) -> DriverTarget:
    host = load_plugins()
    if driver_id not in host.drivers:
        known = ", ".join(sorted(host.drivers)) or "none"
        failures = "".join(
            f"; plugin {record.name!r} did not load: {record.error}" for record in host.failures
        )
        raise KitUsageError(
            f"no driver {driver_id!r} is registered through the mc_console entry points "
            f"(registered: {known}){failures}. Install your plugin (pip install -e .) or give "
            "--driver module:factory"
        )
    owner = _owner_of(host, "drivers", driver_id)
    raw = host.drivers[driver_id]
    notes: list[str] = []
    if owner is not None:
        notes = [note for note in host.records[owner].refused if f"driver {driver_id!r}" in note]
        plugin = host.pm.get_plugin(owner)
        hook = getattr(plugin, "register_drivers", None)
        with contextlib.suppress(Exception):  # the host already reported a raising hook
            for info in hook() if hook is not None else ():
                if isinstance(info, DriverInfo) and info.id == driver_id:
                    raw = info  # as declared, before the core clamped it
    return DriverTarget(driver_id, raw.factory, raw, port, 1.0, owner, notes)


def _owner_of(host: PluginHost, kind: str, item_id: str) -> str | None:
    for name, record in host.records.items():
        if item_id in getattr(record, kind):
            return name
    return None


# -- running the driver ------------------------------------------------------------------------


def fail(message: str) -> NoReturn:
    """Fail the check with ``message`` alone (no traceback: the message is for the vendor)."""
    raise pytest.fail.Exception(message, pytrace=False) from None


class DriverHang(pytest.fail.Exception):
    """A driver call did not return within its bound: the check fails with this message.

    Like every pytest outcome it is not an :class:`Exception`, so ``except Exception`` around a
    driver call never swallows it.
    """


def call_bounded(what: str, function: Callable[..., Any], *args: Any, limit_s: float) -> Any:
    """``function(*args)`` on a worker thread, as the engine calls a driver; raise its exception.

    Raises :class:`DriverHang` when it has not returned within ``limit_s`` wall seconds (the call
    is abandoned on its daemon thread).
    """
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            outcome["value"] = function(*args)
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
            outcome["error"] = error
        finally:
            done.set()

    threading.Thread(target=run, name=f"conformance {what}", daemon=True).start()
    if not done.wait(limit_s):
        raise DriverHang(
            f"{what} did not return within {limit_s:g} s. The console treats a driver call that "
            f"takes {LIMITS.call_hang_s:g} s as a hung machine and ends the session interrupted: "
            "wait for the machine with a timeout and raise DriverError when it does not answer",
            pytrace=False,
        ) from None
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


class Bench:
    """The driver under test on its clock, with the emulator if asked; closes all on :meth:`close`.

    One *shared* connection serves the checks that leave the machine as they found it; a check
    that must close the machine (or open it a second time) gets a fresh one.
    """

    def __init__(self, target: DriverTarget) -> None:
        self.target = target
        self.clock: Clock = RealClock() if target.speed == 1.0 else ScaledClock(target.speed)
        self._emulators: list[Any] = []
        self._drivers: list[Driver] = []
        self._shared: Driver | None = None
        self._open_failure: str | None = None
        self.open_s: float | None = None
        self._switch_interval = sys.getswitchinterval()
        # As the engine does during a session: other threads give way to a stop within 1 ms.
        sys.setswitchinterval(min(self._switch_interval, SWITCH_INTERVAL_S))
        self.port = self._new_port() if target.emulator_protocol else target.port

    # -- connections -------------------------------------------------------------------------

    def make(self, port: str | None = None) -> Driver:
        """A new, unopened driver from the factory (``clock`` and ``port`` as the console gives)."""
        try:
            driver = self.target.factory(clock=self.clock, port=port or self.port)
        except Exception as error:  # noqa: BLE001 - reported, whatever it is
            fail(
                f"the factory raised {type(error).__name__}: {error}. The console calls "
                "factory(clock=..., port=...); it must accept (and ignore) options it does not "
                "use and must not open the port yet"
            )
        if not isinstance(driver, Driver):
            fail(f"the factory returned {type(driver).__name__}, not a console.drivers.Driver")
        self._drivers.append(driver)
        return driver

    def open(self, driver: Driver) -> float:
        """Open ``driver`` within :data:`OPEN_LIMIT_S`; returns the wall seconds it took."""
        started = time.monotonic()
        call_bounded("open()", driver.open, limit_s=OPEN_LIMIT_S)
        return time.monotonic() - started

    def shared(self) -> Driver:
        """The shared, open connection (opened on first use; a failed open is not retried)."""
        if self._open_failure is not None:
            fail(self._open_failure)
        if self._shared is None:
            driver = self.make()
            try:
                self.open_s = self.open(driver)
            except DriverHang as hang:
                self._open_failure = hang.msg
                raise
            except Exception as error:  # noqa: BLE001 - every check needs an open machine
                self._open_failure = f"open() raised {type(error).__name__}: {error}" + (
                    ""
                    if isinstance(error, DriverError)
                    else " (raise DriverError with a sentence the operator can act on)"
                )
                fail(self._open_failure)
            self._shared = driver
        return self._shared

    def release_shared(self) -> None:
        """Close the shared connection (the next :meth:`shared` opens a new one)."""
        driver, self._shared = self._shared, None
        if driver is not None:
            with contextlib.suppress(Exception, DriverHang):
                call_bounded("close()", driver.close, limit_s=CLOSE_LIMIT_S)

    def fresh(self) -> Driver:
        """A new, unopened driver that may be opened while nothing else holds its machine.

        With the emulator it gets an emulated machine of its own; otherwise the shared
        connection is closed first.
        """
        if self.target.emulator_protocol:
            return self.make(self._new_port())
        self.release_shared()
        return self.make()

    def _new_port(self) -> str:
        from device_drivers.emulator import make_emulator

        protocol = self.target.emulator_protocol
        assert protocol is not None
        server = make_emulator(protocol, self.clock)
        port = server.open_pty()
        server.start()
        self._emulators.append(server)
        return port

    def close(self) -> None:
        """Close every connection, stop the emulators, restore the switch interval."""
        for driver in self._drivers:
            with contextlib.suppress(Exception, DriverHang):
                call_bounded("close()", driver.close, limit_s=CLOSE_LIMIT_S)
        for server in self._emulators:
            server.stop()
        sys.setswitchinterval(self._switch_interval)

    # -- time --------------------------------------------------------------------------------

    def now(self) -> float:
        """The console clock's reading."""
        return self.clock.now()

    def wait(self, clock_s: float) -> None:
        """Let ``clock_s`` seconds of clock time pass."""
        self.clock.wait_until(self.clock.now() + clock_s)

    @property
    def silence_limit_s(self) -> float:
        """The engine's silence watchdog on this clock (clock seconds)."""
        return LIMITS.device_silence_s * max(1.0, self.target.speed)


def must(what: str, function: Callable[..., Any], *args: Any, limit_s: float | None = None) -> Any:
    """A call a check needs in order to get to what it checks; fail clearly if it does not work."""
    try:
        return call_bounded(what, function, *args, limit_s=limit_s or LIMITS.call_hang_s)
    except Exception as error:  # noqa: BLE001 - any failure here stops the check
        fail(f"{what} failed while preparing this check: {type(error).__name__}: {error}")


# -- capabilities ------------------------------------------------------------------------------


def overreach(caps: Capabilities) -> list[str]:
    """Every way ``caps`` goes beyond the hard limits (what the core would clamp), as sentences."""
    found: list[str] = []
    low, high = caps.current_ua
    if high > HARD_MAX_CURRENT_UA:
        found.append(
            f"maximum current {high:g} µA is above the hard limit of {HARD_MAX_CURRENT_UA:g} µA"
        )
    if low < 0:
        found.append(f"minimum current {low:g} µA is negative")
    if low > high:
        found.append(f"minimum current {low:g} µA is above the maximum {high:g} µA")
    f_low, f_high = caps.frequency_hz
    if f_low < HARD_MIN_FREQUENCY_HZ:
        found.append(
            f"minimum frequency {f_low:g} Hz is below the hard limit of {HARD_MIN_FREQUENCY_HZ:g} Hz"
        )
    if f_high > HARD_MAX_FREQUENCY_HZ:
        found.append(
            f"maximum frequency {f_high:g} Hz is above the hard limit of {HARD_MAX_FREQUENCY_HZ:g} Hz"
        )
    if f_low > f_high:
        found.append(f"minimum frequency {f_low:g} Hz is above the maximum {f_high:g} Hz")
    outside = [
        f
        for f in caps.frequency_choices_hz
        if not HARD_MIN_FREQUENCY_HZ <= f <= HARD_MAX_FREQUENCY_HZ
    ]
    if outside:
        found.append(
            "frequency choices "
            + ", ".join(f"{f:g}" for f in outside)
            + f" Hz are outside {HARD_MIN_FREQUENCY_HZ:g}–{HARD_MAX_FREQUENCY_HZ:g} Hz"
        )
    if caps.current_step_ua < 1.0:
        found.append(f"current step {caps.current_step_ua:g} µA is finer than 1 µA")
    if not caps.waveforms:
        found.append("no waveform is declared")
    if not caps.polarities:
        found.append("no polarity is declared")
    if not caps.sample_rate_hz > 0:
        found.append(f"sample rate {caps.sample_rate_hz:g} S/s is not positive")
    if not found and caps.clamped() != caps:
        found.append("the core would clamp them to the hard limits")
    return found


def wider_than(stated: Capabilities, registered: Capabilities) -> list[str]:
    """Every way the connected machine's capabilities are wider than its registration's."""
    found: list[str] = []
    if stated.current_ua[1] > registered.current_ua[1]:
        found.append(
            f"maximum current {stated.current_ua[1]:g} µA > registered {registered.current_ua[1]:g} µA"
        )
    if stated.current_ua[0] < registered.current_ua[0]:
        found.append(
            f"minimum current {stated.current_ua[0]:g} µA < registered {registered.current_ua[0]:g} µA"
        )
    if stated.frequency_hz[1] > registered.frequency_hz[1]:
        found.append(
            f"maximum frequency {stated.frequency_hz[1]:g} Hz > registered "
            f"{registered.frequency_hz[1]:g} Hz"
        )
    if stated.frequency_hz[0] < registered.frequency_hz[0]:
        found.append(
            f"minimum frequency {stated.frequency_hz[0]:g} Hz < registered "
            f"{registered.frequency_hz[0]:g} Hz"
        )
    extra_shapes = sorted(shape.value for shape in stated.waveforms - registered.waveforms)
    if extra_shapes:
        found.append(f"waveforms {', '.join(extra_shapes)} are not in the registration")
    extra_polarities = sorted(p.value for p in stated.polarities - registered.polarities)
    if extra_polarities:
        found.append(f"polarities {', '.join(extra_polarities)} are not in the registration")
    return found


def current_step(caps: Capabilities) -> float:
    """The step the core sends currents in: the machine's, never finer than 10 µA."""
    return max(caps.clamped().current_step_ua, CURRENT_STEP_UA)


def probe_frequency(caps: Capabilities) -> float:
    """The frequency nearest :data:`TEST_FREQUENCY_HZ` the machine states it can do."""
    caps = caps.clamped()
    if caps.frequency_choices_hz:
        return min(caps.frequency_choices_hz, key=lambda f: abs(f - TEST_FREQUENCY_HZ))
    low, high = caps.frequency_hz
    return min(max(TEST_FREQUENCY_HZ, low), high)


def probe_waveform(caps: Capabilities, current_ua: float | None = None) -> Waveform:
    """A waveform the machine declares: square, positive, near 10 Hz when it has them."""
    order = (WaveShape.SQUARE, WaveShape.SINE, WaveShape.RAMPED, WaveShape.BIPHASIC)
    shape = next((s for s in order if s in caps.waveforms), WaveShape.SQUARE)
    polarity = next(
        (
            p
            for p in (Polarity.POSITIVE, Polarity.NEGATIVE, Polarity.ALTERNATING)
            if p in caps.polarities
        ),
        Polarity.POSITIVE,
    )
    current = current_ua if current_ua is not None else rising_levels(caps)[0]
    return Waveform(shape, probe_frequency(caps), current, polarity, 2.0, 1.0)


def describe_probe(waveform: Waveform) -> str:
    """``square 10 Hz positive`` (the kit sets the amplitude itself; no ramp applies)."""
    return f"{waveform.shape.value} {waveform.frequency_hz:g} Hz {waveform.polarity.value}"


def rising_levels(caps: Capabilities) -> list[float]:
    """Four rising setpoints up to min(max current, 400 µA), in the machine's current steps."""
    low, high = caps.clamped().current_ua
    step = current_step(caps)
    top = min(high, TEST_TOP_UA)
    levels = sorted(
        {max(low, step * max(1, round(top * quarter / 4 / step))) for quarter in (1, 2, 3, 4)}
    )
    return [level for level in levels if level <= high] or [max(low, step)]


def ceiling_ua(setpoint_ua: float) -> float:
    """The most the engine lets a measured current be before it trips for over-current."""
    return setpoint_ua * LIMITS.over_current_factor + LIMITS.over_current_margin_ua


# -- samples -----------------------------------------------------------------------------------


def count_pulses(current_ua: np.ndarray, setpoint_ua: float, shape: WaveShape) -> int:
    """Rising edges of the pulses in ``current_ua`` (with hysteresis, so noise is not an edge)."""
    if shape is WaveShape.BIPHASIC:
        signal, high, low = current_ua, 0.5 * setpoint_ua, -0.5 * setpoint_ua
    else:
        signal, high, low = np.abs(current_ua), 0.5 * setpoint_ua, 0.25 * setpoint_ua
    if len(signal) == 0:
        return 0
    on = bool(signal[0] > high)
    edges = 0
    for value in signal[1:]:
        if not on and value > high:
            on = True
            edges += 1
        elif on and value < low:
            on = False
    return edges


@dataclass
class StreamRun:
    """What one second or so of streaming showed: samples, read times, heartbeats."""

    start_s: float  #: clock time when collection began (after draining)
    end_s: float
    blocks: list[SampleBlock]
    read_s: list[float]  #: wall time of every read_samples() call
    burst_read_s: list[float]  #: ... of back-to-back calls after the run (mostly empty)
    heard: list[tuple[float, float]]  #: (clock time, status().last_heard_s) at each poll
    setpoint_ua: float
    error: str | None = None

    @property
    def t(self) -> np.ndarray:
        """Every timestamp, in the order they arrived."""
        return SampleBlock.joined(self.blocks).t


def stream_for(
    bench: Bench, driver: Driver, seconds: float, setpoint_ua: float, poll_s: float = 0.005
) -> StreamRun:
    """Read samples and status for ``seconds`` of clock time (the output is as the caller left it)."""
    with contextlib.suppress(Exception):
        driver.read_samples()  # drain what came before
    run = StreamRun(bench.now(), 0.0, [], [], [], [], setpoint_ua)
    what = "read_samples()"
    try:
        while bench.now() < run.start_s + seconds:
            what = "read_samples()"
            started = time.perf_counter()
            block = driver.read_samples()
            run.read_s.append(time.perf_counter() - started)
            if len(block):
                run.blocks.append(block)
            what = "status()"
            status = driver.status()
            run.heard.append((bench.now(), float(status.last_heard_s)))
            time.sleep(poll_s)
        run.end_s = bench.now()
        what = "read_samples()"
        for _ in range(50):
            started = time.perf_counter()
            block = driver.read_samples()
            run.burst_read_s.append(time.perf_counter() - started)
            if len(block):
                run.blocks.append(block)
    except Exception as error:  # noqa: BLE001 - every check that reads the run reports it
        run.end_s = bench.now()
        run.error = f"{what} raised {type(error).__name__} while streaming: {error}"
    return run


def backwards_steps(t: np.ndarray) -> list[int]:
    """Indexes ``i`` where ``t[i + 1] <= t[i]``."""
    return [int(i) for i in np.flatnonzero(np.diff(t) <= 0.0)]


def describe_times(values_s: list[float]) -> str:
    """``median 0.04 ms, max 0.3 ms over 20 calls``."""
    if not values_s:
        return "no calls"
    return (
        f"median {statistics.median(values_s) * 1e3:.3f} ms, max {max(values_s) * 1e3:.3f} ms "
        f"over {len(values_s)} calls"
    )


# -- protocol plugins --------------------------------------------------------------------------


@dataclass
class ProtocolPluginUnderTest:
    """A protocol plugin's own list (before the console validated it) and its neighbours' ids."""

    name: str
    origin: str
    protocols: list[Protocol]
    #: Why the plugin cannot be checked (failed to load, no hook, hook raised); None if it can.
    problem: str | None
    #: Protocol ids other installed plugins register, by id → plugin name.
    others: dict[str, str]
    #: Items the console refused from this plugin, with its reasons.
    refused: list[str]


def load_protocol_plugin(name: str) -> ProtocolPluginUnderTest:
    """The plugin registered as ``name`` in the entry points, else the module ``name``."""
    host = load_plugins()
    others: dict[str, str] = {}
    for other in host.records:
        if other != name:
            for protocol_id in _raw_protocol_ids(host, other):
                others.setdefault(protocol_id, other)
    record = host.records.get(name)
    if record is None:
        try:
            plugin: Any = importlib.import_module(name)
        except Exception as error:  # noqa: BLE001 - reported as the reason
            known = ", ".join(sorted(host.records)) or "none"
            return ProtocolPluginUnderTest(
                name,
                "not found",
                [],
                f"no plugin {name!r} in the mc_console entry points (installed: {known}) and no "
                f"importable module of that name ({type(error).__name__}: {error})",
                others,
                [],
            )
        origin, refused = f"module {name}", []
        problem = api_version_problem(getattr(plugin, "mc_console_api", None))
    else:
        plugin = host.pm.get_plugin(name)
        origin, refused, problem = record.origin, list(record.refused), record.error
        if record.blocked:
            problem = f"plugin {name!r} is blocked (MC_CONSOLE_DISABLE)"
    if problem is not None:
        return ProtocolPluginUnderTest(
            name, origin, [], f"plugin {name!r} {problem}", others, refused
        )
    hook = getattr(plugin, "register_protocols", None)
    if hook is None:
        return ProtocolPluginUnderTest(
            name,
            origin,
            [],
            f"plugin {name!r} does not implement register_protocols",
            others,
            refused,
        )
    try:
        items = list(hook())
    except Exception as error:  # noqa: BLE001 - reported as the reason
        return ProtocolPluginUnderTest(
            name,
            origin,
            [],
            f"register_protocols() raised {type(error).__name__}: {error}",
            others,
            refused,
        )
    bad = [repr(item) for item in items if not isinstance(item, Protocol)]
    protocols = [item for item in items if isinstance(item, Protocol)]
    problem = (
        f"register_protocols() returned items that are not console.protocols.Protocol: {', '.join(bad)}"
        if bad
        else None
        if protocols
        else "register_protocols() returned no protocols"
    )
    return ProtocolPluginUnderTest(name, origin, protocols, problem, others, refused)


def _raw_protocol_ids(host: PluginHost, plugin_name: str) -> Iterator[str]:
    plugin = host.pm.get_plugin(plugin_name)
    hook = getattr(plugin, "register_protocols", None)
    if hook is None:
        return
    try:
        items = list(hook())
    except Exception:  # noqa: BLE001 - the host reports that plugin; ids then unknown
        return
    for item in items:
        if isinstance(item, Protocol):
            yield item.id
