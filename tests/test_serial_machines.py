"""The serial machine drivers through their emulators, over a real pty (and TCP), on fast clocks.

Everything goes through pyserial and the wire protocol: the emulator serves the firmware over the
simulated skin on one end of a pseudo-terminal, the driver opens the other end with
``serial_for_url``. The clock runs faster than real time; an emulator says so in its hello, so the
engine allows it (a real machine would be refused).
"""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import pytest

from console.api import StreamMachineDriver
from console.drivers import DriverError, DriverInfo
from console.engine.clock import RealClock, ScaledClock, VirtualClock
from console.engine.events import EngineState, SafetyKind
from console.engine.runner import TreatmentEngine
from console.engine.safety import PreflightError
from console.plugins import load_plugins
from console.protocols import Protocol
from console.waveforms import Polarity, Waveform, WaveShape
from device_drivers import framed_plugin, scpi_plugin
from device_drivers.emulator import EmulatorServer, make_emulator
from device_drivers.firmware import Command, Op
from device_drivers.framed_driver import FramedMachineDriver
from device_drivers.scpi_driver import ScpiMachineDriver
from device_drivers.simulator import SimFault, SimulatedMachine
from device_drivers.simulator_plugin import register_drivers as simulator_drivers
from support import make_protocol

pytestmark = pytest.mark.timeout(120)

PROTOCOLS = {
    "framed": (FramedMachineDriver, framed_plugin.register_drivers()[0]),
    "scpi": (ScpiMachineDriver, scpi_plugin.register_drivers()[0]),
}


@dataclass
class Bench:
    """An emulated machine on a pty, its driver class and registration, on one clock."""

    protocol: str
    clock: ScaledClock
    server: EmulatorServer
    port: str
    driver_class: type[StreamMachineDriver]
    info: DriverInfo

    def driver(self) -> StreamMachineDriver:
        return self.driver_class(self.clock, port=self.port)

    def engine(self) -> tuple[TreatmentEngine, StreamMachineDriver]:
        driver = self.driver()
        return TreatmentEngine(driver, self.info, self.clock), driver


def bench(protocol: str, speed: float, sample_rate_hz: float | None = None) -> Iterator[Bench]:
    clock = ScaledClock(speed)
    server = make_emulator(protocol, clock, sample_rate_hz)
    port = server.open_pty()
    server.start()
    driver_class, info = PROTOCOLS[protocol]
    yield Bench(protocol, clock, server, port, driver_class, info)
    server.stop()


@pytest.fixture(params=sorted(PROTOCOLS))
def fast(request: pytest.FixtureRequest) -> Iterator[Bench]:
    """An emulated machine at ×20 (a 60 s protocol takes 3 s)."""
    yield from bench(request.param, 20.0)


def short_protocol() -> Protocol:
    return make_protocol(steps=3, duration_s=20.0, current_ua=300.0)


def wait_for(condition, timeout: float = 10.0, state=None) -> None:  # type: ignore[no-untyped-def]
    """Until ``condition()``; on a timeout the message says ``state()`` (what the engine was
    doing), so a rare failure on a busy computer tells its own story."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            seen = f": {state()}" if state is not None else ""
            raise AssertionError(f"condition not met in time{seen}")
        time.sleep(0.005)


def running(engine: TreatmentEngine) -> None:
    """Wait until the engine drives at its setting; say why not if it never does."""
    wait_for(
        lambda: engine.state is EngineState.RUNNING,
        state=lambda: f"{engine.state.value}, {engine.summary().reason or 'no reason given'}",
    )


# -- the whole protocol --------------------------------------------------------------------------


#: The machine's sample rate for whole protocols at ×50: 20,000 samples a wall second on the
#: wire (ten times a real machine's at 2,000 S/s), which the emulator and the driver, sharing
#: this process, still keep up with on a busy computer; at 2,000 S/s the emulator alone fell
#: up to a second behind under two busy processes, and the driver rightly reported a machine
#: that did not answer. The lifting protocol's fastest waveform (10 Hz) has 40 samples a cycle.
WHOLE_PROTOCOL_RATE_HZ = 400.0


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_whole_lifting_records_exactly_what_the_machine_delivered(protocol: str) -> None:
    """A whole lifting protocol over the wire at ×50: every step as long as on the simulated
    machine, and the charge recorded exactly what the machine itself delivered.

    The dose per step is compared with the machine's own account, not with a run on the
    simulator: at ×50 every millisecond a command spends in a busy computer is 50 ms of the
    machine's time at the old setting (0.4 s late at a step's start is 20 s of a 2-minute step
    at zero), so a busy computer changes what is delivered. What must hold at any load is that
    the record says what was delivered, and when (issue 13: records that never lie)."""
    lifting = load_plugins().protocols["lifting"]
    reference_clock = VirtualClock()
    reference = TreatmentEngine(
        SimulatedMachine(reference_clock, seed=1), simulator_drivers()[0], reference_clock
    )
    reference.prepare(lifting)
    expected = reference.run(timeout=60)
    reference.close()

    for machine in bench(protocol, 50.0, WHOLE_PROTOCOL_RATE_HZ):
        delivered = _machine_account(machine.server)
        engine, driver = machine.engine()
        engine.prepare(lifting)
        assert engine.simulated, "the emulator announced itself: no current can reach anyone"
        summary = engine.run(timeout=90)
        engine.close()
        assert summary.state is EngineState.FINISHED, summary.reason
        assert len(summary.steps) == len(expected.steps) == 12
        for index, (got, want) in enumerate(zip(summary.steps, expected.steps, strict=True)):
            assert got.zone == want.zone
            # No sample of one step counted in another, however late it reached the console.
            # The first step's output goes on, and the last's off, when the machine takes the
            # command: later by the command's trip through a busy computer, times 50.
            ends = index in (0, len(expected.steps) - 1)
            assert got.time_under_current_s == pytest.approx(
                want.time_under_current_s, abs=2.5 if ends else 0.5
            )
        assert summary.total_charge_uc == pytest.approx(delivered(), rel=5e-4)
        counts = driver.decoder_counts()
        assert sum(counts.values()) == 0, counts  # a clean line drops nothing
        assert machine.server.bytes_unsent == 0


def _machine_account(server: EmulatorServer) -> Callable[[], float]:
    """Watch everything the emulated machine measures; the returned function gives the charge
    it delivered so far, µC (the noise while its output is off adds well under 0.01 %)."""
    firmware = server.firmware
    telemetry = firmware.telemetry
    total = [0.0]

    def counted():  # type: ignore[no-untyped-def]
        report = telemetry()
        total[0] += float(np.abs(report.current_ua).sum())
        return report

    firmware.telemetry = counted
    return lambda: total[0] / firmware.sample_rate_hz


# -- faults during a session ---------------------------------------------------------------------


def test_cable_pulled_mid_step_interrupts_and_keeps_the_dose(fast: Bench) -> None:
    engine, _ = fast.engine()
    engine.prepare(short_protocol())
    engine.start()
    wait_for(lambda: engine.state is EngineState.RUNNING and fast.clock.now() > 8.0)
    fast.server.inject("cable_pull")
    assert engine.wait(10)
    summary = engine.summary()
    engine.close()
    assert summary.state is EngineState.INTERRUPTED
    assert summary.events[-1].kind in (SafetyKind.DRIVER_ERROR, SafetyKind.WATCHDOG)
    assert "lost" in summary.events[-1].message or "not answered" in summary.events[-1].message
    first = summary.steps[0]
    assert not first.completed and first.charge_uc > 0  # what was delivered is kept
    # The machine turned its own output off when the console went quiet.
    wait_for(lambda: not fast.server.firmware.machine.output_on, timeout=2.0)


def test_over_current_trip_stops_the_engine_and_is_recorded(fast: Bench) -> None:
    engine, _ = fast.engine()
    engine.prepare(short_protocol())
    engine.start()
    running(engine)
    fast.server.inject("over_current")
    assert engine.wait(10)
    summary = engine.summary()
    engine.close()
    assert summary.state is EngineState.ABORTED
    assert summary.events[-1].kind in (SafetyKind.DEVICE_FAULT, SafetyKind.OVER_CURRENT)
    assert not fast.server.firmware.machine.output_on


def test_a_reboot_mid_session_ends_it_and_the_output_stays_off(fast: Bench) -> None:
    engine, _ = fast.engine()
    engine.prepare(short_protocol())
    engine.start()
    running(engine)
    fast.server.inject("reboot")
    assert engine.wait(10)
    summary = engine.summary()
    assert summary.state in (EngineState.ABORTED, EngineState.INTERRUPTED)
    assert "restarted" in summary.reason
    time.sleep(0.3)  # the driver keeps its keep-alive going; it must never turn output on
    assert not fast.server.firmware.machine.output_on
    engine.close()


def test_garbage_and_lost_bytes_are_survived_and_counted(fast: Bench) -> None:
    engine, driver = fast.engine()
    engine.prepare(short_protocol())
    engine.start()
    running(engine)
    for _ in range(5):
        fast.server.inject("garbage")
        fast.server.inject("drop")
        time.sleep(0.05)
    assert engine.wait(20)
    summary = engine.summary()
    engine.close()
    assert summary.state is EngineState.FINISHED, summary.reason
    assert sum(driver.decoder_counts().values()) > 0


# -- commands ------------------------------------------------------------------------------------


def test_a_slow_answer_is_retried_and_applied_once(fast: Bench) -> None:
    driver = fast.driver()
    driver.open()
    applied_before = fast.server.commands_seen
    fast.server.inject("slow")
    driver.set_amplitude(120.0)
    assert fast.server.firmware.machine.amplitude_ua == 120.0
    assert fast.server.commands_seen - applied_before >= 2  # the retry reached the machine
    assert fast.server.firmware.errors == []
    driver.close()


def test_a_refused_setting_gives_a_clear_error(fast: Bench) -> None:
    fast.server.firmware.capabilities = replace(
        fast.server.firmware.capabilities, frequency_hz=(0.1, 100.0)
    )
    driver = fast.driver()
    driver.open()
    driver.configure(Waveform(WaveShape.SINE, 40.0, 100.0))
    with pytest.raises(
        DriverError, match=r"refused '(SET_WAVEFORM|waveform \(SOUR:FREQ 500\))'.*500 Hz"
    ):
        driver.configure(Waveform(WaveShape.SINE, 500.0, 100.0))
    driver.close()


def test_a_machine_that_never_answers_fails_after_bounded_retries() -> None:
    master, slave = os.openpty()
    try:
        driver = FramedMachineDriver(RealClock(), port=os.ttyname(slave))
        driver.hello_timeout_s = 0.2
        started = time.monotonic()
        with pytest.raises(DriverError, match=r"did not answer 'IDENTIFY' after 4 tries"):
            driver.open()
        assert time.monotonic() - started < 2.0
        # A failed open holds nothing: no reader thread, no port (it used to keep both).
        assert not [t for t in threading.enumerate() if t.name.startswith(driver.kind)]
        driver.close()
    finally:
        os.close(master)
        os.close(slave)


def test_narrower_capabilities_are_refused_before_anything_is_sent(fast: Bench) -> None:
    fast.server.firmware.capabilities = replace(
        fast.server.firmware.capabilities, current_ua=(10.0, 200.0)
    )
    lifting = load_plugins().protocols["lifting"]
    engine, _ = fast.engine()
    with pytest.raises(PreflightError) as refused:
        engine.prepare(lifting)
    assert "step 5 (cheek_right)" in str(refused.value)
    assert "350" in str(refused.value)
    assert fast.server.firmware.machine.amplitude_ua == 0.0
    assert not fast.server.firmware.machine.output_on
    engine.close()


def test_a_second_open_of_the_same_port_fails_clearly(fast: Bench) -> None:
    first = fast.driver()
    first.open()
    second = fast.driver()
    with pytest.raises(DriverError, match=r"cannot open .*"):
        second.open()
    first.close()


def test_a_real_machine_refuses_a_fast_clock() -> None:
    for machine in bench("framed", 20.0):
        # The same firmware, but its hello says it is hardware that can drive current.
        machine.server.adapter.hello = _hardware_hello  # type: ignore[method-assign]
        engine, _ = machine.engine()
        with pytest.raises(PreflightError, match="real machine runs in real time"):
            engine.prepare(short_protocol())
        assert not machine.server.firmware.machine.output_on
        engine.close()


def _hardware_hello() -> bytes:
    from device_drivers import framed_protocol as wire

    return wire.encode_frame(wire.Frame(wire.FrameType.HELLO, 1, wire.pack_hello(emulator=False)))


# -- the emulator on its own ---------------------------------------------------------------------


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_the_emulator_command_prints_its_port_and_serves(
    protocol: str, tmp_path: pathlib.Path
) -> None:
    # The emulator's stderr goes to a file (a pipe nobody reads could fill and stall it) and
    # into any failure's message, with its exit status: a rare failure tells its own story.
    stderr_path = tmp_path / "emulator-stderr.txt"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "device_drivers.emulator", "--protocol", protocol, "--pty"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )

    def story() -> str:
        return f"emulator exit status {process.poll()}; its stderr:\n{stderr_path.read_text()}"

    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        assert port.startswith("/dev/"), story()
        driver = PROTOCOLS[protocol][0](RealClock(), port=port)
        try:
            driver.open()
            assert "emulator" in driver.identify().model
            wait_for(lambda: len(driver.read_samples()) > 0, timeout=5.0)
        except (AssertionError, DriverError) as error:
            raise AssertionError(f"{error}\n{story()}") from error
        finally:
            driver.close()
    finally:
        process.terminate()
        try:
            status = process.wait(20)  # generous: a busy computer slows a process's exit
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
            raise AssertionError(
                f"the emulator did not exit within 20 s of SIGTERM; {story()}"
            ) from None
    assert status == 0, story()


def test_the_emulator_serves_tcp_for_socket_urls() -> None:
    clock = RealClock()
    server = make_emulator("framed", clock)
    url = server.listen_tcp(0)
    server.start()
    try:
        driver = FramedMachineDriver(clock, port=url)
        driver.open()
        assert driver.identify().serial == "FX7-EMU-0001"
        driver.close()
    finally:
        server.stop()


def _careless_console(port: str, data: bytes) -> None:
    """A console that opens the port, sends half a command and goes away."""
    if port.startswith("socket://"):
        host, number = port.removeprefix("socket://").rsplit(":", 1)
        with socket.create_connection((host, int(number)), timeout=5) as connection:
            connection.sendall(data)
            time.sleep(0.2)  # long enough for the machine to see it come and go
        return
    fd = os.open(port, os.O_RDWR | os.O_NOCTTY)
    try:
        os.write(fd, data)
        time.sleep(0.2)
    finally:
        os.close(fd)


@pytest.mark.parametrize("transport", ["pty", "tcp"])
@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_every_console_that_opens_the_port_gets_its_own_hello(
    protocol: str, transport: str
) -> None:
    """Consoles one after another on one emulator: each is greeted, none inherits the last."""
    clock = RealClock()
    # A low sample rate: this is about greetings, and the emulator shares this process's CPU.
    server = make_emulator(protocol, clock, sample_rate_hz=200.0)
    url = server.listen_tcp(0) if transport == "tcp" else server.open_pty()
    server.start()
    driver_class = PROTOCOLS[protocol][0]
    try:
        _careless_console(url, b"#0001 SYST:CAP" if protocol == "scpi" else b"\x07\x02\x01\x05")
        wait_for(lambda: server.connections == 1 and not server.console_connected, timeout=5.0)
        for attempt in range(6):
            driver = driver_class(clock, port=url)
            driver.open()
            try:
                assert driver.emulated, f"console {attempt + 2} got no hello"
                assert driver.identify().serial.endswith("EMU-0001")
                driver.configure(Waveform(WaveShape.SQUARE, 10.0, 0.0, Polarity.ALTERNATING, 2.0))
                driver.start_output()
                driver.set_amplitude(100.0)
            finally:
                driver.close()
            # The machine sees each console go before the next comes, as a person restarting
            # the console always gives it time to.
            wait_for(lambda: not server.console_connected, timeout=5.0)
        assert server.connections == 7
    finally:
        server.stop()


def test_a_port_open_turns_the_output_off_and_forgets_the_last_consoles_commands() -> None:
    firmware = make_emulator("framed", VirtualClock()).firmware
    on = Command(3, Op.OUTPUT_ON)
    square = Waveform(WaveShape.SQUARE, 10.0, 0.0, Polarity.ALTERNATING, 2.0)
    setup = (Command(1, Op.WAVEFORM, square), Command(2, Op.AMPLITUDE, 0.0))
    for command in (*setup, on, Command(4, Op.AMPLITUDE, 150.0)):
        assert firmware.execute(command).ok
    assert firmware.machine.output_on and firmware.machine.amplitude_ua == 150.0
    firmware.port_opened()
    assert not firmware.machine.output_on and firmware.machine.amplitude_ua == 0.0
    # The next console's seq 3 is a new command, not a retry of the last console's.
    assert all(firmware.execute(command).ok for command in setup)
    assert firmware.execute(on).ok
    assert firmware.machine.output_on


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_a_port_open_streams_as_after_a_reset(protocol: str) -> None:
    """The SCPI machine streams only once asked again; the framed one always streams."""
    firmware = make_emulator(protocol, VirtualClock()).firmware
    assert firmware.execute(Command(1, Op.STREAM_ON)).ok
    firmware.port_opened()
    assert firmware.streaming is (protocol == "framed")


def test_an_emulator_at_another_speed_is_caught() -> None:
    """Emulator in real time, console at ×20: samples would land at the wrong times."""
    server = make_emulator("framed", RealClock())
    port = server.open_pty()
    server.start()
    try:
        clock = ScaledClock(20.0)
        engine = TreatmentEngine(
            FramedMachineDriver(clock, port=port), PROTOCOLS["framed"][1], clock
        )
        engine.prepare(short_protocol())
        summary = engine.run(timeout=30)
        engine.close()
        assert summary.state is EngineState.ABORTED
        assert "clock runs at" in summary.reason and "same speed" in summary.reason
    finally:
        server.stop()


def test_machines_are_found_by_their_usb_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    from serial.tools import list_ports_common

    from device_drivers import ports

    def port(device: str, vid: int | None, pid: int | None) -> list_ports_common.ListPortInfo:
        info = list_ports_common.ListPortInfo(device)
        info.vid, info.pid = vid, pid
        return info

    found = [port("/dev/ttyACM0", 0x1209, 0x4D43), port("/dev/ttyUSB0", 0x0403, 0x6001)]
    monkeypatch.setattr(ports.list_ports, "comports", lambda: found)
    assert ports.discover_port("framed machine", framed_plugin.USB_IDS) == "/dev/ttyACM0"
    with pytest.raises(DriverError, match=r"no SCPI machine found on USB \(looked for 1209:4D44\)"):
        ports.discover_port("SCPI machine", scpi_plugin.USB_IDS)
    found.append(port("/dev/ttyACM1", 0x1209, 0x4D43))
    with pytest.raises(DriverError, match="several framed machines found"):
        ports.discover_port("framed machine", framed_plugin.USB_IDS)


# -- the safety rules, as on the simulated machine -------------------------------------------------


def test_contact_loss_pauses_at_once_and_resumes_only_on_command_with_a_ramp(fast: Bench) -> None:
    engine, _ = fast.engine()
    engine.prepare(short_protocol())
    engine.start()
    running(engine)
    machine = fast.server.firmware.machine
    machine.inject(SimFault.CONTACT_LOSS)
    wait_for(lambda: engine.state is EngineState.PAUSED, timeout=5.0)
    wait_for(lambda: not machine.output_on, timeout=2.0)
    assert engine.safety_events[-1].kind is SafetyKind.CONTACT_LOST
    machine.clear(SimFault.CONTACT_LOSS)
    time.sleep(0.3)  # 6 s at ×20: nobody resumed, so it stays paused
    assert engine.state is EngineState.PAUSED and not machine.output_on
    engine.resume()
    wait_for(lambda: machine.output_on, timeout=5.0)
    # The firmware takes OUTPUT_ON only at 0 µA: had the engine not restarted from zero, the
    # machine would have refused and the session would not finish.
    assert engine.wait(20)
    assert engine.summary().state is EngineState.FINISHED
    engine.close()


def test_emergency_stop_reaches_the_machine_at_once(fast: Bench) -> None:
    engine, _ = fast.engine()
    engine.prepare(short_protocol())
    engine.start()
    running(engine)
    machine = fast.server.firmware.machine
    assert machine.output_on
    pressed = time.monotonic()
    engine.emergency_stop()
    wait_for(lambda: not machine.output_on, timeout=1.0)
    assert time.monotonic() - pressed < 0.1  # through the port, in wall time
    assert engine.wait(5)
    assert engine.summary().state is EngineState.ABORTED
    engine.close()
