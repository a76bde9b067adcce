"""Every unexpected answer from a machine is a DriverError saying what was expected and what came.

Through the emulators on a pty, with the emulated machine's answer to one command replaced:
an OK where a query's value was expected, a value that does not parse, a value (or a reply
payload) where a plain OK was expected — on opening, which then lets the port go, and during a
session, for the SCPI and the framed machine alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from console.api import DriverError, Polarity, ScaledClock, StreamMachineDriver, Waveform, WaveShape
from device_drivers import framed_protocol as framed_wire
from device_drivers import scpi_protocol as scpi_wire
from device_drivers.emulator import EmulatorServer, make_emulator
from device_drivers.firmware import Command, Op, Reply
from device_drivers.framed_driver import FramedMachineDriver
from device_drivers.framed_protocol import Frame, FrameType
from device_drivers.scpi_driver import ScpiMachineDriver

pytestmark = pytest.mark.timeout(60)

DRIVERS: dict[str, type[StreamMachineDriver]] = {
    "framed": FramedMachineDriver,
    "scpi": ScpiMachineDriver,
}
SQUARE = Waveform(WaveShape.SQUARE, 10.0, 0.0, Polarity.ALTERNATING, 2.0)

#: What a machine answers in place of its honest answer: bytes for the command's seq.
Liar = Callable[[int], bytes]


@dataclass
class Machine:
    """An emulated machine on a pty whose answer to one kind of command can be replaced."""

    protocol: str
    server: EmulatorServer
    clock: ScaledClock

    def driver(self) -> StreamMachineDriver:
        return DRIVERS[self.protocol](self.clock, port=self.server.port)

    def answer_instead(self, op: Op, liar: Liar) -> None:
        adapter = self.server.adapter
        honest = adapter.answer

        def answer(command: Command, reply: Reply) -> bytes:
            return liar(command.seq) if command.op is op else honest(command, reply)

        adapter.answer = answer  # type: ignore[method-assign]


def machine(protocol: str) -> Iterator[Machine]:
    clock = ScaledClock(1.0)
    server = make_emulator(protocol, clock, sample_rate_hz=200.0)
    server.open_pty()
    server.start()
    yield Machine(protocol, server, clock)
    server.stop()


@pytest.fixture
def scpi() -> Iterator[Machine]:
    yield from machine("scpi")


@pytest.fixture
def framed() -> Iterator[Machine]:
    yield from machine("framed")


def scpi_says(body: str) -> Liar:
    return lambda seq: scpi_wire.seal(f"#{seq} {body}")


def framed_says(reply: FrameType | None, payload: bytes = b"") -> Liar:
    """A reply frame of type ``reply`` with ``payload`` (none: nothing), then the ACK."""

    def frames(seq: int) -> bytes:
        ack = framed_wire.encode_frame(Frame(FrameType.ACK, seq, framed_wire.pack_ack(seq)))
        if reply is None:
            return ack
        return framed_wire.encode_frame(Frame(reply, seq, payload)) + ack

    return frames


def refused_on_open(bench: Machine) -> str:
    """The DriverError's words when opening; the port must be free afterwards."""
    driver = bench.driver()
    with pytest.raises(DriverError) as refused:
        driver.open()
    return str(refused.value)


def reopens(bench: Machine) -> None:
    """With honest answers again the machine opens: the failed open let the port go."""
    bench.server.adapter.answer = type(bench.server.adapter).answer.__get__(bench.server.adapter)
    driver = bench.driver()
    driver.open()
    driver.close()


# -- the SCPI machine ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "body", "words"),
    [
        (Op.IDENTIFY, "OK", "answered '*IDN?' with OK and no value: expected its identity"),
        (Op.CAPABILITIES, "OK", "answered 'SYST:CAP?' with OK and no value: expected its cap"),
        (
            Op.CAPABILITIES,
            "CURR 0,banana",
            "answered 'SYST:CAP?' with 'CURR 0,banana', which does not read as its capabilities: ",
        ),
        (
            Op.IDENTIFY,
            "ACME",
            "answered '*IDN?' with 'ACME', which does not read as its identity (model",
        ),
        (Op.OUTPUT_OFF, "42", "answered 'OUTP OFF' with '42': expected OK"),
        (Op.STREAM_ON, "ON", "answered 'MEAS:STR ON' with 'ON': expected OK"),
    ],
)
def test_scpi_nonsense_while_opening_is_a_clear_error_and_frees_the_port(
    scpi: Machine, op: Op, body: str, words: str
) -> None:
    scpi.answer_instead(op, scpi_says(body))
    said = refused_on_open(scpi)
    assert words in said, said
    reopens(scpi)


@pytest.mark.parametrize(
    ("op", "call", "words"),
    [
        (
            Op.AMPLITUDE,
            lambda driver: driver.set_amplitude(100.0),
            "answered 'SOUR:CURR 100' with '100': expected OK",
        ),
        (
            Op.WAVEFORM,
            lambda driver: driver.configure(SQUARE),
            "answered 'waveform (SOUR:FUNC SQU)' with 'SQU': expected OK",
        ),
        (Op.OUTPUT_ON, lambda driver: driver.start_output(), "answered 'OUTP ON' with '1'"),
    ],
)
def test_scpi_a_value_where_ok_was_expected_during_a_session(
    scpi: Machine, op: Op, call: Callable[[StreamMachineDriver], None], words: str
) -> None:
    values = {Op.AMPLITUDE: "100", Op.WAVEFORM: "SQU", Op.OUTPUT_ON: "1"}
    driver = scpi.driver()
    driver.open()
    try:
        driver.configure(SQUARE)
        driver.set_amplitude(0.0)
        scpi.answer_instead(op, scpi_says(values[op]))
        with pytest.raises(DriverError) as refused:
            call(driver)
        assert words in str(refused.value)
    finally:
        driver.close()


# -- the framed machine ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "liar", "words"),
    [
        (
            Op.IDENTIFY,
            framed_says(None),
            "answered 'IDENTIFY' with OK and no value: expected its identity",
        ),
        (
            Op.IDENTIFY,
            framed_says(FrameType.IDENTITY, b"\xff\xfe"),
            "answered 'IDENTIFY' with the bytes ff fe, which does not read as its identity",
        ),
        (
            Op.CAPABILITIES,
            framed_says(FrameType.CAPABILITIES, bytes(22)),
            "answered 'GET_CAPABILITIES' with the bytes 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
            "00 00 00 00 00, which does not read as its capabilities: the current step is 0",
        ),
        (
            Op.OUTPUT_OFF,
            framed_says(FrameType.IDENTITY, b"MC"),
            "answered 'OUTPUT_OFF' with the bytes 4d 43: expected OK",
        ),
    ],
)
def test_framed_nonsense_while_opening_is_a_clear_error_and_frees_the_port(
    framed: Machine, op: Op, liar: Liar, words: str
) -> None:
    framed.answer_instead(op, liar)
    said = refused_on_open(framed)
    assert words in said, said
    reopens(framed)


def test_framed_a_reply_payload_where_ok_was_expected_during_a_session(framed: Machine) -> None:
    driver = framed.driver()
    driver.open()
    try:
        framed.answer_instead(Op.AMPLITUDE, framed_says(FrameType.CAPABILITIES, b"\x01\x02"))
        with pytest.raises(DriverError, match="answered 'SET_AMPLITUDE' with the bytes 01 02: "):
            driver.set_amplitude(100.0)
    finally:
        driver.close()
