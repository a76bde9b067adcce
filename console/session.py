"""Connecting a machine and running sessions on it: the glue the command line and the UI share.

A :class:`Console` owns the plugin host, the clock and at most one connected machine. It makes a
fresh :class:`~console.engine.runner.TreatmentEngine` for each session and never lets a real
machine run on a simulation clock (safety rule 6). No Qt here: the main window calls these methods
from a worker thread when they may block (opening a serial port), and shows what they return.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from console.drivers import (
    DeviceIdentity,
    DeviceStatus,
    Driver,
    DriverError,
    DriverInfo,
    SampleBlock,
)
from console.engine.clock import Clock, RealClock, TrainerClock, VirtualClock
from console.engine.dispatch import Subscriber
from console.engine.events import EngineState
from console.engine.runner import TreatmentEngine
from console.engine.safety import SafetyLimits
from console.plugins import PluginHost
from console.protocols import Protocol
from console.screening import ScreeningResult
from console.waveforms import Waveform

log = logging.getLogger(__name__)


class ConsoleError(RuntimeError):
    """Something the operator asked for cannot be done; the message says what and why."""


@dataclass(frozen=True, slots=True)
class Connection:
    """A connected machine."""

    info: DriverInfo
    identity: DeviceIdentity
    port: str | None


class Console:
    """The application's core object: plugins, the chosen machine, and the current session."""

    def __init__(self, host: PluginHost, limits: SafetyLimits | None = None) -> None:
        self.host = host
        self.limits = limits or SafetyLimits()
        self.clock: Clock = RealClock()
        self.connection: Connection | None = None
        self.engine: TreatmentEngine | None = None
        self._driver: Driver | None = None
        self._lock = threading.RLock()

    # -- machines --------------------------------------------------------------------------

    def default_driver_id(self) -> str | None:
        """The simulated machine when no real one is configured (the first simulated driver)."""
        for info in self.host.drivers.values():
            if info.simulated:
                return info.id
        return next(iter(self.host.drivers), None)

    def connect(
        self,
        driver_id: str,
        port: str | None = None,
        speed: float | None = None,
        clock: Clock | None = None,
        **options: object,
    ) -> Connection:
        """Open the machine ``driver_id`` (on ``port``) and identify it.

        ``speed`` is the simulation clock factor (``None`` or 1 = real time, ``0`` = as fast as
        possible), or ``clock`` a clock of the caller's (a stepped clock for screenshots); anything
        but real time is refused for a real machine.
        """
        with self._lock:
            self.disconnect()
            info = self.host.drivers.get(driver_id)
            if info is None:
                known = ", ".join(sorted(self.host.drivers)) or "none"
                raise ConsoleError(f"unknown machine driver {driver_id!r}; known: {known}")
            if clock is None:
                clock = self._clock_for(info, speed)
            elif not info.simulated and not clock.follows_wall_time:
                raise ConsoleError(
                    "time control is for the simulated machine only: a real machine runs in real time"
                )
            try:
                driver = info.factory(clock=clock, port=port, **options)
                driver.open()
                identity = driver.identify()
            except DriverError as error:
                raise ConsoleError(f"could not connect to {info.name}: {error}") from None
            except Exception as error:  # a vendor's bug becomes a clear message
                log.exception("driver %s failed to connect", driver_id)
                raise ConsoleError(
                    f"the {info.name} driver failed while connecting: {type(error).__name__}: {error}"
                ) from None
            self.clock = clock
            self._driver = driver
            self.connection = Connection(info, identity, port)
            return self.connection

    def disconnect(self) -> None:
        """End any session (output off) and release the machine."""
        with self._lock:
            if self.engine is not None:
                self.engine.close()
                self.engine = None
            if self._driver is not None:
                try:
                    self._driver.close()
                except Exception:  # closing must not fail the disconnect
                    log.exception("driver close failed")
            self._driver = None
            self.connection = None

    @property
    def driver(self) -> Driver | None:
        """The connected machine's driver (the simulator exposes fault injection here)."""
        return self._driver

    # -- sessions --------------------------------------------------------------------------

    def new_session(
        self,
        protocol: Protocol,
        screening: ScreeningResult | None,
        client_ref: str | None = None,
        subscribers: tuple[Subscriber, ...] = (),
    ) -> TreatmentEngine:
        """A prepared engine (state READY) for ``protocol`` on the connected machine.

        Raises :class:`~console.engine.safety.PreflightError` with every reason it may not start.
        """
        with self._lock:
            if self.connection is None or self._driver is None:
                raise ConsoleError("no machine is connected")
            if self.engine is not None and not self.engine.state.terminal:
                if self.engine.state is not EngineState.READY:
                    raise ConsoleError("a session is still running on this machine")
                self.engine.close()
            engine = TreatmentEngine(
                _SharedDriver(self._driver),
                self.connection.info,
                self.clock,
                limits=self.limits,
                notify_hook=self.host.notify,
            )
            for subscriber in subscribers:
                engine.subscribe(subscriber)
            engine.prepare(protocol, screening, client_ref)
            self.engine = engine
            return engine

    @property
    def time_control(self) -> TrainerClock | None:
        """The trainer's clock (pace, pause, single step) while the simulated machine is
        connected; ``None`` for a real machine, which only ever runs in real time."""
        if self.connection is None or not self.connection.info.simulated:
            return None
        return self.clock if isinstance(self.clock, TrainerClock) else None

    def _clock_for(self, info: DriverInfo, speed: float | None) -> Clock:
        if not info.simulated:
            if speed is None or speed == 1:
                return RealClock()
            raise ConsoleError(
                "time control is for the simulated machine only: a real machine runs in real time"
            )
        if speed == 0:
            return VirtualClock()
        try:
            # Even at real time the simulator gets the trainer's clock, so that the trainer can
            # pause time, single-step or speed up in the middle of a demonstration.
            return TrainerClock(1.0 if speed is None else speed)
        except ValueError as error:
            raise ConsoleError(str(error)) from None


class _SharedDriver(Driver):
    """The connected driver lent to one engine: the engine's ``close`` does not disconnect it.

    Every session makes a new engine; the machine stays connected between sessions until the
    operator disconnects it.
    """

    def __init__(self, driver: Driver) -> None:
        self._driver = driver
        self.capabilities = driver.capabilities

    def open(self) -> None:
        """Already open (the console connected it)."""

    def close(self) -> None:
        """Output off; the connection stays."""
        self._driver.stop_output()

    def identify(self) -> DeviceIdentity:
        return self._driver.identify()

    def configure(self, waveform: Waveform) -> None:
        self._driver.configure(waveform)

    def set_amplitude(self, current_ua: float) -> None:
        self._driver.set_amplitude(current_ua)

    def start_output(self) -> None:
        self._driver.start_output()

    def stop_output(self) -> None:
        self._driver.stop_output()

    def read_samples(self) -> SampleBlock:
        return self._driver.read_samples()

    def status(self) -> DeviceStatus:
        return self._driver.status()
