"""The driver base class for stream machines, on a tiny fake wire over a pty.

A fake machine serves one end of a pseudo-terminal from a thread of its own; a driver written
the way a vendor would (only ``encode``, ``decode`` and the two parsers) opens the other end.
What is checked is what the base class promises: its threads start with ``open()`` and end with
``close()`` or a failed ``open()``, which also let the port go; ``open()`` and every command are
time-limited and say what timed out; output-off is repeated until a heartbeat confirms it;
keep-alives flow; samples carry the time they were measured, and the first ``read_samples()``
after ``open()`` holds nothing from before.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import tty
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import serial

from console.api import (
    Answer,
    Capabilities,
    DeviceIdentity,
    DriverError,
    Heartbeat,
    Hello,
    Message,
    Polarity,
    RealClock,
    Samples,
    StreamMachineDriver,
    WaveShape,
)

pytestmark = pytest.mark.timeout(60)

CAPABILITIES = Capabilities(
    channels=1,
    current_ua=(10.0, 500.0),
    current_step_ua=10.0,
    frequency_hz=(0.5, 100.0),
    waveforms=frozenset({WaveShape.SQUARE}),
    polarities=frozenset(Polarity),
    sample_rate_hz=200.0,
    compliance_v=12.0,
)
#: Generous wall-clock slack for time limits: a busy computer may be slow, never wrong.
SLACK_S = 2.0


class FakeWireDriver(StreamMachineDriver):
    """A vendor's driver for the fake machine: the wire and nothing else.

    Console → machine: ``<seq> <COMMAND> [argument]``. Machine → console: ``A <seq> OK [value]``
    or ``A <seq> ERR <text>``; ``H <µs> <0|1>``; ``S <µs> <µA> <V>``; ``HELLO [EMU] [speed=x]``.
    """

    kind = "fake machine"
    answer_timeout_s = 0.05
    answer_give_up_s = 0.2
    keepalive_s = 0.05

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._partial = b""

    def encode(self, seq: int, command: str, argument: Any = None) -> bytes:
        text = f"{seq} {command.upper()}" + ("" if argument is None else f" {argument}")
        return (text + "\n").encode()

    def decode(self, data: bytes) -> Iterator[Message]:
        *lines, self._partial = (self._partial + data).split(b"\n")
        for line in lines:
            kind, *words = line.decode().split()
            if kind == "BOOM":
                raise RuntimeError("a decoder bug")
            if kind == "A":
                ok = words[1] == "OK"
                value = " ".join(words[2:]) or None
                yield Answer(int(words[0]), ok, value if ok else None, None if ok else value)
            elif kind == "H":
                yield Heartbeat(int(words[0]), words[1] == "1")
            elif kind == "S":
                yield Samples(
                    np.array([int(words[0])]), np.array([float(words[1])]), np.array([0.0])
                )
            elif kind == "HELLO":
                speeds = [float(w[6:]) for w in words if w.startswith("speed=")]
                yield Hello("EMU" in words, speeds[0] if speeds else None)

    def parse_identity(self, value: str | bytes) -> DeviceIdentity:
        model, serial_number, firmware = str(value).split(",")
        return DeviceIdentity(model, serial_number, firmware)

    def parse_capabilities(self, value: str | bytes) -> Capabilities:
        if value != "CAPS":
            raise ValueError(f"unknown capabilities {value!r}")
        return CAPABILITIES


class FakeMachine:
    """The machine's end of a pty: answers, heartbeats every 20 ms, samples at 200 S/s.

    ``answers``: what it answers a command (a function of the command word and argument
    returning the answer's text after ``A <seq>``, or ``None`` for silence).
    """

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.port = os.ttyname(slave)
        # Not kept open: while nobody holds that end the master hangs up, which is how the
        # machine sees a console open the port (and reset, as a USB machine does).
        os.close(slave)
        self._poll = select.poll()
        self._poll.register(self.master, select.POLLIN)
        self.booted = time.monotonic()
        self.output_on = False
        self.hello = "HELLO EMU"
        self.heartbeats = True
        self.ignore_offs = 0  #: output-off commands to ignore before obeying one
        self.sample_delay_s = 0.0  #: samples go out this long after they are measured
        self.received: list[tuple[float, str]] = []  #: (wall time, command word)
        self.answers: Callable[[str, str], str | None] = self._honest
        self._stop = threading.Event()
        self._greeted = False  # a console holds the port
        self._heard = False  # it sent a command
        self._thread = threading.Thread(target=self._run, name="fake-machine", daemon=True)
        self._thread.start()

    def count(self, word: str) -> int:
        return sum(1 for _, seen in self.received if seen == word)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        with contextlib.suppress(OSError):  # already closed by a test that pulled the cable
            os.close(self.master)

    def _honest(self, word: str, argument: str) -> str | None:
        if word == "IDENTIFY":
            return "OK Fake,F-1,1.0"
        if word == "CAPABILITIES":
            return "OK CAPS"
        if word == "OUTPUT_ON":
            self.output_on = True
        elif word == "OUTPUT_OFF":
            if self.ignore_offs:
                self.ignore_offs -= 1
            else:
                self.output_on = False
        return "OK"

    def _now_us(self) -> int:
        return round((time.monotonic() - self.booted) * 1e6)

    def _send(self, text: str) -> None:
        with contextlib.suppress(OSError):  # nobody reads: the console is gone
            os.write(self.master, (text + "\n").encode())

    def _run(self) -> None:
        partial = b""
        next_beat = next_sample = next_hello = time.monotonic()
        pending: list[tuple[float, str]] = []  # samples waiting for their delay
        while not self._stop.is_set():
            events = self._poll.poll(2)
            if any(mask & select.POLLHUP for _, mask in events):
                self._greeted, self._heard, partial = False, False, b""  # nobody holds the port
                pending.clear()
                time.sleep(0.005)
                continue
            if not self._greeted:  # a console opened the port: the machine resets
                self._greeted, self.output_on = True, False
            now = time.monotonic()
            if self.hello and not self._heard and now >= next_hello:
                self._send(self.hello)  # repeated until the first command (opening flushes)
                next_hello = now + 0.05
            if events:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    return
                self._heard = True
                *lines, partial = (partial + data).split(b"\n")
                for line in lines:
                    seq, word, *argument = line.decode().split(maxsplit=2)
                    self.received.append((time.monotonic(), word))
                    answer = self.answers(word, " ".join(argument))
                    if answer is not None:
                        self._send(f"A {seq} {answer}")
            now = time.monotonic()
            while next_sample <= now:
                measured = round((next_sample - self.booted) * 1e6)
                current = 100.0 if self.output_on else 0.0
                pending.append((next_sample + self.sample_delay_s, f"S {measured} {current}"))
                next_sample += 1 / CAPABILITIES.sample_rate_hz
            while pending and pending[0][0] <= now and self._greeted:
                self._send(pending.pop(0)[1])
            if now >= next_beat and self._greeted and self.heartbeats:
                self._send(f"H {self._now_us()} {int(self.output_on)}")
                next_beat = now + 0.02


@pytest.fixture
def machine() -> Iterator[FakeMachine]:
    fake = FakeMachine()
    yield fake
    fake.stop()


def driver_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(FakeWireDriver.kind)]


def wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def assert_released(port: str) -> None:
    """No thread of the driver is left, and the port opens again (it was let go)."""
    wait_for(lambda: not driver_threads(), JOIN_S)
    again = serial.serial_for_url(port, exclusive=True)
    again.close()


JOIN_S = 2.0


# -- lifecycle -------------------------------------------------------------------------------


def test_open_starts_the_reader_and_keepalive_and_close_ends_them(machine: FakeMachine) -> None:
    driver = FakeWireDriver(RealClock(), port=machine.port)
    assert not driver_threads()
    driver.open()
    try:
        names = sorted(t.name for t in driver_threads())
        assert names == ["fake machine-keepalive", "fake machine-reader"]
        assert driver.identify() == DeviceIdentity("Fake", "F-1", "1.0")
        assert driver.capabilities == CAPABILITIES
        assert driver.emulated is True
        with pytest.raises(DriverError, match="cannot open"):
            FakeWireDriver(RealClock(), port=machine.port).open()  # one console per machine
    finally:
        driver.close()
    assert_released(machine.port)
    driver.close()  # idempotent
    driver.stop_output()  # and still never raises
    with pytest.raises(DriverError, match="not open"):
        driver.read_samples()


def test_a_port_is_required_and_the_message_says_how_to_write_one() -> None:
    with pytest.raises(DriverError, match=r"the fake machine needs a port \(for example"):
        FakeWireDriver(RealClock(), port=None)


def test_a_decoder_that_raises_loses_one_read_not_the_reader(machine: FakeMachine) -> None:
    driver = FakeWireDriver(RealClock(), port=machine.port)
    driver.open()
    try:
        machine._send("BOOM")
        time.sleep(0.1)
        driver.set_amplitude(100.0)  # the reader still hands answers over
        assert [t.name for t in driver_threads() if t.name.endswith("reader")]
    finally:
        driver.close()


# -- time limits -----------------------------------------------------------------------------


def test_open_is_time_limited_and_says_what_it_waited_for(machine: FakeMachine) -> None:
    machine.answers = lambda word, argument: None  # a machine that never answers
    driver = FakeWireDriver(RealClock(), port=machine.port)
    driver.open_timeout_s = 0.5
    driver.command_tries = 50  # alone, 2.5 s of retries: the open's own limit comes first
    started = time.monotonic()
    with pytest.raises(DriverError) as failed:
        driver.open()
    assert time.monotonic() - started < driver.open_timeout_s + SLACK_S
    assert "took longer than 0.5 s" in str(failed.value)
    assert "no answer to 'identify'" in str(failed.value)
    assert_released(machine.port)


def test_a_port_that_hangs_on_opening_cannot_hold_open_and_is_closed_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()
    closed = threading.Event()

    class HangingPort:
        def close(self) -> None:
            closed.set()

    def hanging_open(*args: Any, **kwargs: Any) -> HangingPort:
        release.wait(10)
        return HangingPort()

    monkeypatch.setattr(serial, "serial_for_url", hanging_open)
    driver = FakeWireDriver(RealClock(), port="socket://192.0.2.1:4000")
    driver.open_timeout_s = 0.3
    started = time.monotonic()
    with pytest.raises(DriverError, match=r"took longer than 0.3 s: the port .* did not open"):
        driver.open()
    assert time.monotonic() - started < driver.open_timeout_s + SLACK_S
    release.set()  # the port opens after all, too late: it is closed at once
    assert closed.wait(5)
    assert not driver_threads()


def test_a_machine_without_heartbeats_fails_open_and_is_let_go(machine: FakeMachine) -> None:
    machine.heartbeats = False
    driver = FakeWireDriver(RealClock(), port=machine.port)
    driver.hello_timeout_s = 0.3
    with pytest.raises(DriverError, match=r"fake machine on .* sends no heartbeat"):
        driver.open()
    assert_released(machine.port)


def test_every_command_is_time_limited_and_names_the_command(machine: FakeMachine) -> None:
    driver = FakeWireDriver(RealClock(), port=machine.port)
    driver.open()
    try:
        machine.answers = lambda word, argument: None  # it goes silent
        started = time.monotonic()
        with pytest.raises(DriverError, match=r"did not answer 'amplitude' after 4 tries"):
            driver.set_amplitude(100.0)
        limit = driver.command_tries * driver.answer_give_up_s
        assert time.monotonic() - started < limit + SLACK_S
        assert machine.count("AMPLITUDE") == 4  # each try reached the machine
    finally:
        driver.close()
    assert_released(machine.port)


def test_an_emulator_at_another_speed_is_refused_on_open(machine: FakeMachine) -> None:
    machine.hello = "HELLO EMU speed=20"
    driver = FakeWireDriver(RealClock(), port=machine.port)
    with pytest.raises(DriverError, match=r"runs at 20x real time but the console at 1x"):
        driver.open()
    assert_released(machine.port)


# -- the output ------------------------------------------------------------------------------


def test_output_off_is_repeated_until_a_heartbeat_confirms_it(machine: FakeMachine) -> None:
    driver = FakeWireDriver(RealClock(), port=machine.port)
    driver.open()
    try:
        driver.start_output()
        assert machine.output_on
        machine.ignore_offs = 3  # the first three are lost on the way
        offs = machine.count("OUTPUT_OFF")
        driver.stop_output()
        wait_for(lambda: not machine.output_on)
        assert machine.count("OUTPUT_OFF") - offs == 4
        wait_for(lambda: not driver.status().output_on)
        # A repeat decided on before the heartbeat said off may still be on its way.
        time.sleep(0.2)
        settled = machine.count("OUTPUT_OFF")
        time.sleep(10 * driver.keepalive_s)
        assert machine.count("OUTPUT_OFF") == settled  # confirmed: no more repeats
    finally:
        driver.close()


def test_a_stop_that_crosses_a_start_wins(machine: FakeMachine) -> None:
    class Crossing(FakeWireDriver):
        def encode(self, seq: int, command: str, argument: Any = None) -> bytes:
            if command == "output_on":
                self.stop_output()  # the emergency stop, just before OUTPUT_ON goes out
            return super().encode(seq, command, argument)

    driver = Crossing(RealClock(), port=machine.port)
    driver.open()
    try:
        driver.start_output()
        wait_for(lambda: not machine.output_on, 1.0)
        assert [w for _, w in machine.received if w.startswith("OUTPUT")][-3:] == [
            "OUTPUT_OFF",
            "OUTPUT_ON",
            "OUTPUT_OFF",
        ]
    finally:
        driver.close()


def test_keepalives_flow_from_open_to_close(machine: FakeMachine) -> None:
    driver = FakeWireDriver(RealClock(), port=machine.port)
    driver.open()
    opened = time.monotonic()
    time.sleep(0.5)
    driver.close()
    closed = time.monotonic()
    beats = [at for at, word in machine.received if word == "KEEPALIVE"]
    assert len(beats) >= 3  # every 50 ms: 10 on an idle computer
    assert all(opened - 0.1 <= at <= closed for at in beats)
    time.sleep(0.2)
    assert machine.count("KEEPALIVE") == len(beats)  # none after close


# -- samples ---------------------------------------------------------------------------------


def test_the_first_read_after_open_holds_only_what_was_measured_since(
    machine: FakeMachine,
) -> None:
    machine.sample_delay_s = 0.1  # measured before open() returned, arriving after it
    clock = RealClock()
    driver = FakeWireDriver(clock, port=machine.port)
    driver.clock_settle_s = 0.2  # open() listens to the stream for 0.2 s before it returns
    driver.open()
    try:
        opened_s = clock.now()
        time.sleep(0.2)
        first = driver.read_samples()
        assert len(first) > 0
        # Samples streamed all through open(), and came on after it: none is in the first read.
        assert float(first.t[0]) >= opened_s - 0.01
    finally:
        driver.close()


def test_samples_carry_the_time_they_were_measured_not_when_they_came(
    machine: FakeMachine,
) -> None:
    """Samples that reach the console late keep their own time: those measured before the
    output went on stay before it, where the console's dose meter does not count them."""
    machine.sample_delay_s = 0.2
    clock = RealClock()
    driver = FakeWireDriver(clock, port=machine.port)
    driver.open()
    try:
        time.sleep(0.3)
        driver.read_samples()
        started_s = clock.now()
        driver.start_output()
        time.sleep(0.1)
        arrived = driver.read_samples()  # all came after the start
        assert len(arrived) > 0
        before = arrived.t < started_s
        assert before.any(), "samples measured before the start, delivered after it"
        assert np.all(arrived.current_ua[before] == 0.0)
        assert np.all(np.diff(arrived.t) > 0)
    finally:
        driver.close()


# -- a lost connection -----------------------------------------------------------------------


def test_a_pulled_cable_makes_every_call_raise_and_close_releases(machine: FakeMachine) -> None:
    driver = FakeWireDriver(RealClock(), port=machine.port)
    driver.open()
    machine.stop()  # both ends of the pty go: the cable is out
    wait_for(lambda: driver._lost is not None)
    for call in (driver.read_samples, driver.status, lambda: driver.set_amplitude(10.0)):
        with pytest.raises(DriverError, match="was lost"):
            call()
    driver.stop_output()  # never raises
    driver.close()
    wait_for(lambda: not driver_threads(), JOIN_S)
