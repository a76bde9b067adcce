"""The SCPI machine, as a firmware engineer sees it: raw lines through a pty to the emulator,
each test naming the section of docs/protocols/scpi.md whose MUST or SHOULD it checks."""

from __future__ import annotations

import os
import select
import time
from collections.abc import Iterator

import pytest

from console.engine.clock import RealClock
from device_drivers import scpi_protocol as wire
from device_drivers.emulator import EmulatorServer, make_emulator

pytestmark = pytest.mark.timeout(60)


class Wire:
    """The console's end of the pty: send bodies, read checked line bodies."""

    def __init__(self, port: str) -> None:
        self.fd = os.open(port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        self.decoder = wire.LineDecoder()
        self.seen: list[str] = []

    def send(self, body: str) -> None:
        os.write(self.fd, wire.seal(body))

    def send_raw(self, data: bytes) -> None:
        os.write(self.fd, data)

    def lines(self, seconds: float) -> list[str]:
        """Every line body that arrives within ``seconds`` (measurements and heartbeats too)."""
        got: list[str] = []
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    got += self.decoder.feed(os.read(self.fd, 65536))
                except BlockingIOError:
                    continue
        self.seen += got
        return got

    def answer(self, tag: str, seconds: float = 1.0) -> str | None:
        """The answer carrying ``tag`` (as written) within ``seconds``, or None."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for line in self.lines(0.05):
                if line.startswith(f"#{tag} "):
                    return line
        return None

    def ask(self, tag: str, command: str) -> str | None:
        self.send(f"#{tag} {command}")
        return self.answer(tag)

    def close(self) -> None:
        os.close(self.fd)


@pytest.fixture
def machine() -> Iterator[EmulatorServer]:
    server = make_emulator("scpi", RealClock(), sample_rate_hz=200.0)
    server.open_pty()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def console(machine: EmulatorServer) -> Iterator[Wire]:
    line = Wire(machine.port)
    assert any(body.startswith("!HELLO 1 EMU") for body in line.lines(0.6))
    yield line
    line.close()


def _next_error(console: Wire, tag: str) -> str | None:
    return console.ask(tag, "SYST:ERR?")


def test_s2_1_and_s2_3_a_body_over_251_characters_is_dropped_unanswered(console: Wire) -> None:
    body = "#1 SYST:HEART " + "X" * (wire.MAX_BODY_BYTES + 1 - len("#1 SYST:HEART "))
    raw = body.encode() + b"*" + f"{wire.checksum(body.encode()):02X}".encode() + b"\n"
    console.send_raw(raw)
    assert console.answer("1", 0.4) is None
    assert _next_error(console, "2") == '#2 0,"No error"'  # dropped, not queued (2.3)


def test_s3_1_the_answer_carries_the_tag_exactly_as_written(console: Wire) -> None:
    assert console.ask("0007", "OUTP?") == "#0007 OFF"


@pytest.mark.parametrize("body", ["SYST:HEART", "#12345 OUTP?", "# 5 OUTP?"])
def test_s3_1_and_s3_4_a_line_without_a_readable_tag_queues_minus_100(
    console: Wire, body: str
) -> None:
    console.send(body)
    assert not [line for line in console.lines(0.3) if line.startswith("#")]  # no answer
    assert _next_error(console, "8") == '#8 -100,"Command error"'


def test_s5_4_and_s6_an_overlong_line_is_announced_and_queued_as_minus_363(
    console: Wire,
) -> None:
    console.send_raw(b"#1 " + b"X" * 300 + b"\n")
    lines = console.lines(0.5)
    assert '!ERR -363,"Input buffer overrun"' in lines
    assert _next_error(console, "2") == '#2 -363,"Input buffer overrun"'


@pytest.mark.parametrize(("setting", "delivered"), [("37.5", 30.0), ("5", 0.0), ("300", 300.0)])
def test_s4_3_the_set_point_is_rounded_down_to_the_step_and_zero_below_the_minimum(
    console: Wire, machine: EmulatorServer, setting: str, delivered: float
) -> None:
    assert console.ask("1", f"SOUR:CURR {setting}") == "#1 OK"
    assert machine.firmware.machine.amplitude_ua == delivered


def test_s4_3_and_s6_a_set_point_above_the_maximum_is_refused_with_the_standard_text(
    console: Wire, machine: EmulatorServer
) -> None:
    assert console.ask("1", "SOUR:CURR 100") == "#1 OK"
    refused = console.ask("2", "SOUR:CURR 1000.5")
    assert refused is not None and refused.startswith('#2 ERR -222,"Data out of range')
    assert machine.firmware.machine.amplitude_ua == 100.0  # refusing changes nothing (4)


def test_s5_3_a_measurement_that_rounds_to_zero_is_written_without_a_sign(
    console: Wire,
) -> None:
    assert console.ask("1", "MEAS:STR ON") == "#1 OK"
    measurements = [line for line in console.lines(1.0) if line.startswith("!M ")]
    assert len(measurements) > 50
    fields = [field for line in measurements for field in line.split()[3:]]
    assert not [field for field in fields if field.startswith("-") and float(field) == 0.0]


def test_s8_1_a_port_open_empties_the_error_queue(machine: EmulatorServer) -> None:
    first = Wire(machine.port)
    first.lines(0.3)
    first.send("SYST:HEART")  # untagged: -100 waits in the queue
    first.lines(0.2)
    first.close()
    deadline = time.monotonic() + 5
    while machine.console_connected and time.monotonic() < deadline:
        time.sleep(0.01)
    again = Wire(machine.port)
    try:
        assert any(body.startswith("!HELLO") for body in again.lines(0.6))
        assert again.ask("1", "SYST:ERR?") == '#1 0,"No error"'
    finally:
        again.close()


def test_s3_1_answers_and_refusals_arriving_together_go_out_in_order(console: Wire) -> None:
    """Section 3.1: every command line is answered exactly once, in the order received; the
    refused ones (-113, -104, -222) among the accepted ones in one read keep their turn."""
    texts = ["SYST:HEART", "FOO:BAR", "OUTP?", "SOUR:FREQ ten", "SYST:HEART", "SOUR:CURR 1000.5"]
    tags = [str(20 + i) for i in range(len(texts))]
    console.send_raw(b"".join(wire.seal(f"#{t} {x}") for t, x in zip(tags, texts, strict=True)))
    answers: list[str] = []
    end = time.monotonic() + 5.0
    while len(answers) < len(tags) and time.monotonic() < end:
        answers += [line for line in console.lines(0.05) if line.startswith("#")]
    answers += [line for line in console.lines(0.1) if line.startswith("#")]
    assert [line.split(" ", 1)[0][1:] for line in answers] == tags
    assert [line.split(" ", 2)[1] for line in answers] == ["OK", "ERR", "OFF", "ERR", "OK", "ERR"]


def test_s3_1_and_s3_4_minus_100_is_queued_in_its_turn(console: Wire) -> None:
    """Sections 3.1 and 3.4: a line without a tag queues -100 when it comes, not before the
    commands received ahead of it: a SYST:ERR? sent before it in the same read sees an empty
    queue, one sent after it sees the -100."""
    console.send_raw(
        wire.seal("#1 SYST:ERR?") + wire.seal("SYST:HEART") + wire.seal("#2 SYST:ERR?")
    )
    answers: list[str] = []
    end = time.monotonic() + 5.0
    while len(answers) < 2 and time.monotonic() < end:
        answers += [line for line in console.lines(0.05) if line.startswith("#")]
    assert answers == ['#1 0,"No error"', '#2 -100,"Command error"']
