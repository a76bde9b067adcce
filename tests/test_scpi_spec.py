"""The SCPI machine, as a firmware engineer sees it: raw lines through a pty to the emulator,
each test naming the section of docs/protocols/scpi.md whose MUST or SHOULD it checks."""

from __future__ import annotations

import itertools
import os
import select
import time
from collections.abc import Iterator

import pytest

from console.engine.clock import RealClock
from device_drivers import firmware
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


def _turn_on(console: Wire, current: str = "10") -> None:
    """Output on at ``current`` µA: on at 0 (section 8.2), then the set point."""
    for tag, command in (("60", "SOUR:CURR 0"), ("61", "OUTP ON"), ("62", f"SOUR:CURR {current}")):
        assert console.ask(tag, command) == f"#{tag} OK"


def test_s1_the_stated_rate_fits_the_link_and_a_port_open_says_hello(console: Wire) -> None:
    """Section 1: a machine MUST NOT state a RATE its link cannot carry (41-byte lines at 921 600
    baud 8N1, 92 160 bytes/s); a port open is a reset: !HELLO (the fixture waited for it) and
    the output off."""
    capabilities = wire.parse_capabilities(console.ask("1", "SYST:CAP?")[3:])
    assert capabilities.sample_rate_hz * 41 <= 92_160
    assert any(line.startswith("!HELLO 1 ") for line in console.seen)
    assert console.ask("2", "OUTP?") == "#2 OFF"


def test_s3_2_a_repeat_is_answered_again_and_not_executed_again(console: Wire) -> None:
    """Section 3.2: the same tag and text within a second is a repeat: the remembered answer
    again, the command not executed again (SYST:ERR? takes one entry, not two)."""
    console.send("SYST:HEART")  # untagged: -100 queued, twice
    console.send("SYST:HEART")
    console.lines(0.2)
    first = console.ask("5", "SYST:ERR?")
    assert first == '#5 -100,"Command error"'
    assert console.ask("5", "SYST:ERR?") == first  # the console's retry
    assert console.ask("6", "SYST:ERR?") == '#6 -100,"Command error"'  # still there
    assert console.ask("7", "SYST:ERR?") == '#7 0,"No error"'


def test_s3_2_output_off_is_executed_every_time_even_under_a_repeated_tag(
    console: Wire, machine: EmulatorServer
) -> None:
    """Section 3.2: OUTP OFF is the exception: executed each time it arrives, so an output
    turned on between two 'OUTP OFF' under the same tag goes off at the second."""
    assert console.ask("9", "OUTP OFF") == "#9 OK"
    _turn_on(console)
    assert machine.firmware.machine.output_on
    assert console.ask("9", "OUTP OFF") == "#9 OK"
    assert not machine.firmware.machine.output_on
    assert console.ask("10", "OUTP?") == "#10 OFF"


def test_s4_beyond_the_capabilities_is_minus_222_and_an_exponent_is_accepted(
    console: Wire, machine: EmulatorServer
) -> None:
    """Section 4: refused with -222 beyond what the machine states, nothing changed; numbers
    with an exponent accepted; the *IDN? vendor never starts with ERR (nor can one be sent)."""
    assert console.ask("1", "SOUR:FREQ 1e1") == "#1 OK"
    assert machine.firmware.machine._waveform.frequency_hz == 10.0
    refused = console.ask("2", "SOUR:FREQ 2000")
    assert refused is not None and refused.startswith("#2 ERR -222,")
    assert machine.firmware.machine._waveform.frequency_hz == 10.0
    identity = console.ask("3", "*IDN?")
    assert identity is not None and not identity[3:].startswith("ERR")
    with pytest.raises(wire.ScpiError, match="ERR"):
        wire.format_identity(machine.firmware.identity, "ERRant Devices")


def test_s4_4_ramp_0_applies_each_set_point_as_it_comes(
    console: Wire, machine: EmulatorServer
) -> None:
    """Section 4.4: after SOUR:RAMP 0 a set point applies at once, no ramp in the machine."""
    assert console.ask("1", "SOUR:RAMP 0") == "#1 OK"
    _turn_on(console, "100")
    assert machine.firmware.machine.amplitude_ua == 100.0
    console.ask("2", "OUTP OFF")


def test_s5_1_no_hello_after_the_first_command(console: Wire) -> None:
    """Section 5.1: the hello MAY repeat until the first command, MUST NOT after it."""
    assert console.ask("1", "SYST:HEART") == "#1 OK"
    console.lines(0.05)  # a hello already on its way when the command arrived
    assert not [line for line in console.lines(0.7) if line.startswith("!HELLO")]


def test_s5_2_heartbeats_every_100_ms_rising_time_reserved_bits_zero(console: Wire) -> None:
    """Section 5.2: !HB every 100 ms (±10 ms on the machine's clock), machine time never
    going back (no wrap), fault flags within bits 0-3."""
    beats = [wire.parse_heartbeat(x) for x in console.lines(1.2) if x.startswith("!HB ")]
    assert len(beats) >= 8
    times = [beat.machine_time_us for beat in beats]
    gaps = [after - before for before, after in itertools.pairwise(times)]
    assert all(gap > 0 for gap in gaps)
    assert 90_000 <= sorted(gaps)[len(gaps) // 2] <= 110_000
    assert all(int(beat.faults) & ~0xF == 0 for beat in beats)


def test_s8_4_an_over_current_trip_turns_off_and_latches_until_outp_off(
    console: Wire, machine: EmulatorServer
) -> None:
    """Section 8.4: a trip turns the output off, sets the set point to 0, latches
    OVER_CURRENT_TRIP, says !ERR 301; OUTP ON is refused with 301 until OUTP OFF is answered.
    The margin (SHOULD: at most 20 % + 20 µA) is the firmware's."""
    assert firmware.TRIP_FACTOR <= 1.2 and firmware.TRIP_MARGIN_UA <= 20.0
    _turn_on(console, "100")  # 160 µA measured with the fault: above 100 × 1.2 + 20
    console.lines(0.1)
    machine.inject("over_current")
    lines: list[str] = []
    end = time.monotonic() + 3.0  # the next stream of samples trips it: at once, unless busy
    while not any(x.startswith('!ERR 301,"Over-current trip') for x in lines):
        assert time.monotonic() < end, lines
        lines += console.lines(0.05)
    assert not machine.firmware.machine.output_on
    assert machine.firmware.machine.amplitude_ua == 0.0
    refused = console.ask("1", "OUTP ON")
    assert refused is not None and refused.startswith("#1 ERR 301,")
    assert console.ask("2", "OUTP OFF") == "#2 OK"
    beats = [wire.parse_heartbeat(x) for x in console.lines(0.3) if x.startswith("!HB ")]
    assert beats and not beats[-1].faults & wire.Fault.OVER_CURRENT_TRIP


def test_s8_6_nothing_above_1000_ua_is_taken(console: Wire, machine: EmulatorServer) -> None:
    """Section 8.6: whatever the commands say, no set point above 1000 µA: refused (-222)
    and the set point left where it was."""
    assert console.ask("1", "SOUR:CURR 1000") == "#1 OK"
    for tag, value in (("2", "1000.5"), ("3", "1e4"), ("4", "65535")):
        refused = console.ask(tag, f"SOUR:CURR {value}")
        assert refused is not None and refused.startswith(f"#{tag} ERR -222,")
        assert machine.firmware.machine.amplitude_ua == 1000.0


def test_s5_4_and_s3_4_minus_363_is_queued_when_the_overlong_line_comes(console: Wire) -> None:
    """Sections 5.4 and 3.4: an overlong line's -363 is queued in its turn: a SYST:ERR? sent
    before it in the same read sees an empty queue, one sent after it the -363."""
    console.send_raw(
        wire.seal("#1 SYST:ERR?") + b"#9 " + b"X" * 300 + b"\n" + wire.seal("#2 SYST:ERR?")
    )
    answers: list[str] = []
    end = time.monotonic() + 5.0
    while len(answers) < 2 and time.monotonic() < end:
        answers += [line for line in console.lines(0.05) if line.startswith("#")]
    assert answers == ['#1 0,"No error"', '#2 -363,"Input buffer overrun"']
