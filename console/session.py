"""Connecting a machine and running sessions on it: the one assembly every front end uses.

A :class:`Console` owns the plugin host, the clock and at most one connected machine. It is the
only place that chooses the clock, connects a machine, makes a fresh
:class:`~console.engine.runner.TreatmentEngine` for each session, and starts it (the record's row
first, then the planned faults, then the output). ``mc-console run``, the window, the training
scenarios and the screenshots all go through it, so they share one clock policy:

* the simulated machine runs on simulated time that moves only when the engine waits
  (:class:`TrainerClock`, paced to ×N of the wall; :class:`VirtualClock` for "as fast as
  possible"), so a treatment is the same sequence of ticks and samples whatever the computer is
  doing;
* a real machine runs on the wall clock, always (safety rule 6);
* an emulator of a machine on a port runs at the pace it was started with, and only after its
  hello has said that it drives no current.

No Qt here: the main window calls these methods from a worker thread when they may block
(opening a serial port), and shows what they return.
"""

from __future__ import annotations

import logging
import threading
import typing
from collections.abc import Sequence
from dataclasses import dataclass

from console.drivers import (
    Capabilities,
    DeviceIdentity,
    DeviceStatus,
    Driver,
    DriverError,
    DriverInfo,
    SampleBlock,
)
from console.engine.clock import Clock, RealClock, ScaledClock, TrainerClock, VirtualClock
from console.engine.dispatch import Subscriber
from console.engine.events import EngineEvent, EngineState, SessionInfo
from console.engine.runner import TreatmentEngine
from console.engine.safety import SafetyLimits
from console.faults import FaultInjector, FaultSpec, SimulatedClient
from console.plugins import PluginHost
from console.protocols import Protocol
from console.screening import ScreeningResult
from console.waveforms import Waveform

log = logging.getLogger(__name__)

#: How long opening and identifying a machine may take (a machine may reset when its port opens
#: and greet a few seconds later). A driver that takes longer is reported, never waited for.
CONNECT_TIMEOUT_S = 15.0


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
        but real time is refused for a real machine, and allowed for an emulator only once its
        hello has said that it drives no current.
        """
        with self._lock:
            self.disconnect()
            info = self.host.drivers.get(driver_id)
            if info is None:
                known = ", ".join(sorted(self.host.drivers)) or "none"
                raise ConsoleError(f"unknown machine driver {driver_id!r}; known: {known}")
            if clock is None:
                clock = self._clock_for(info, speed)
            driver, identity = _open_and_identify(info, clock=clock, port=port, **options)
            # Faster than real time only for an emulator that said so in its hello.
            emulated = getattr(driver, "emulated", False) is True
            if not info.simulated and not clock.follows_wall_time and not emulated:
                _close_quietly(driver)
                raise ConsoleError(
                    "time control is for the simulated machine and emulators only: "
                    f"{identity.model} is a real machine and runs in real time"
                )
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

    def start_session(
        self,
        engine: TreatmentEngine,
        *,
        recorder: SessionRecorderLike | None = None,
        faults: Sequence[FaultSpec] = (),
    ) -> float:
        """Start a prepared session: its record's row first (before any output; raises what the
        recorder raises if it cannot be written, and then nothing starts), then ``faults``
        planned from now on the simulated machine, then the output. Returns the start time on
        the console's clock."""
        with self._lock:
            if engine is not self.engine:
                raise ConsoleError("this session was not prepared on the connected machine")
            if faults and not isinstance(self._driver, FaultInjector):
                raise ConsoleError("faults can be played by the simulated machine only")
            start = self.clock.now()
            if recorder is not None:
                assert engine.session is not None
                recorder.begin(engine.session, start)
                engine.subscribe(recorder)
            if isinstance(self._driver, SimulatedClient):
                self._driver.new_client()  # the client lies down; the probes are gelled
            for fault in faults:
                assert isinstance(self._driver, FaultInjector)
                self._driver.schedule_fault(fault.name, start + fault.at_s, fault.duration_s)
            engine.start()
            return start

    def reapply_gel(self, engine: TreatmentEngine) -> None:
        """The operator re-applies gel: the session pauses (output off) and records it; the
        simulated client's skin gets the fresh gel (on a client, the practitioner's hands do)."""
        engine.reapply_gel()
        # No lock: an engine's subscriber may call this while another thread holds the lock
        # waiting for that engine's events to be delivered.
        driver = self._driver if engine is self.engine else None
        if isinstance(driver, SimulatedClient):
            driver.apply_gel()

    @property
    def simulated_client(self) -> SimulatedClient | None:
        """The simulated machine's client, when the connected machine simulates one."""
        driver = self._driver
        return driver if isinstance(driver, SimulatedClient) else None

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
            if speed == 0:
                raise ConsoleError(
                    "as fast as possible is for the simulated machine only: a machine on a port "
                    "keeps its own time"
                )
            try:
                # An emulator keeps the pace it was started with; connect() checks its hello.
                return ScaledClock(speed)
            except ValueError as error:
                raise ConsoleError(str(error)) from None
        if speed == 0:
            return VirtualClock()
        try:
            # Even at real time the simulator gets the trainer's clock, so that the trainer can
            # pause time, single-step or speed up in the middle of a demonstration, and so that
            # its time moves only with the engine's ticks: a busy computer slows the pace, never
            # the treatment.
            return TrainerClock(1.0 if speed is None else speed)
        except ValueError as error:
            raise ConsoleError(str(error)) from None


class SessionRecorderLike(typing.Protocol):
    """What :meth:`Console.start_session` needs of a recorder (``SessionRecorder``)."""

    def begin(self, session: SessionInfo, session_start_s: float) -> None:
        """Write the session's row (before the output is on); raise if it cannot be."""

    def __call__(self, event: EngineEvent) -> None:
        """Record an engine event."""


def _open_and_identify(info: DriverInfo, **options: object) -> tuple[Driver, DeviceIdentity]:
    """Make the driver (``info.factory(**options)``), ``open()`` and ``identify()`` it,
    time-limited: a driver that hangs is reported, not waited for (its worker thread is left
    behind; the driver is asked to close). Every failure becomes one :class:`ConsoleError`."""
    made: list[Driver] = []
    outcome: list[object] = []

    def work() -> None:
        try:
            made.append(info.factory(**options))
            made[0].open()
            outcome.append(made[0].identify())
        except Exception as error:  # noqa: BLE001 - raised again in the caller's thread
            outcome.append(error)

    worker = threading.Thread(target=work, name=f"mc-connect-{info.id}", daemon=True)
    worker.start()
    worker.join(CONNECT_TIMEOUT_S)
    if worker.is_alive():
        if made:
            _close_quietly(made[0])
        raise ConsoleError(
            f"the {info.name} did not answer within {CONNECT_TIMEOUT_S:g} s of opening: check "
            "that it is switched on and on this port"
        )
    result = outcome[0]
    if isinstance(result, DeviceIdentity):
        return made[0], result
    if made:
        _close_quietly(made[0])
    if isinstance(result, DriverError):
        raise ConsoleError(f"could not connect to {info.name}: {result}") from None
    assert isinstance(result, BaseException)
    log.error("driver %s failed to connect", info.id, exc_info=result)
    raise ConsoleError(
        f"the {info.name} driver failed while connecting: {type(result).__name__}: {result}"
    ) from None


def _close_quietly(driver: Driver) -> None:
    try:
        driver.close()
    except Exception:  # the connection failed already; closing must not hide why
        log.exception("driver close failed")


class _SharedDriver(Driver):
    """The connected driver lent to one engine: the engine's ``close`` does not disconnect it.

    Every session makes a new engine; the machine stays connected between sessions until the
    operator disconnects it.
    """

    def __init__(self, driver: Driver) -> None:
        self._driver = driver

    @property
    def capabilities(self) -> Capabilities:  # type: ignore[override]
        """What the connected machine states (known once it has identified itself)."""
        return self._driver.capabilities

    @property
    def emulated(self) -> bool:
        """True when the machine said in its hello that it drives no current (an emulator)."""
        return getattr(self._driver, "emulated", False) is True

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

    def next_scheduled_change_s(self) -> float | None:
        return self._driver.next_scheduled_change_s()
