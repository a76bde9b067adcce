"""Driver for machines that speak the framed binary protocol (``docs/protocols/framed.md``).

COBS-framed, CRC-16 checked frames with sequence numbers; commands are ACKed or NACKed, sample
batches arrive as packed int16 arrays (decoded with numpy), heartbeats every 100 ms. Only the
wire is here: the port, reader thread, retries, keep-alive and time mapping are the console's
:class:`~console.api.StreamMachineDriver`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from console.api import (
    Answer,
    Capabilities,
    DeviceIdentity,
    DriverError,
    Heartbeat,
    Hello,
    Message,
    Samples,
    StreamMachineDriver,
)
from device_drivers import framed_protocol as wire
from device_drivers.framed_protocol import Frame, FrameType
from device_drivers.machine_faults import stopping_faults

#: Command name (see :meth:`StreamMachineDriver.encode`) → frame type.
_COMMANDS = {
    "identify": FrameType.IDENTIFY,
    "capabilities": FrameType.GET_CAPABILITIES,
    "waveform": FrameType.SET_WAVEFORM,
    "amplitude": FrameType.SET_AMPLITUDE,
    "output_on": FrameType.OUTPUT_ON,
    "output_off": FrameType.OUTPUT_OFF,
    "keepalive": FrameType.HEARTBEAT_REQUEST,
}
#: In messages, a command is called by its frame type, as the spec and the wire checker do.
_LABELS = {command: frame.name for command, frame in _COMMANDS.items()}


class FramedMachineDriver(StreamMachineDriver):
    """A machine on the framed binary protocol."""

    kind = "framed machine"
    baudrate = 921_600
    streams_from_boot = True
    sequence_modulus = 256
    command_labels = _LABELS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.decoder = wire.FrameDecoder()
        # A reply's payload waits here until its ACK arrives (the reply comes first).
        self._replies: dict[int, bytes] = {}
        #: Samples the machine measured that never arrived (gaps in the sample index).
        self.samples_missing = 0
        self._next_index: int | None = None
        #: Well-framed frames whose payload did not parse, and the last one's reason.
        self.bad_payloads = 0
        self.last_bad_payload = ""
        #: The machine's last ERROR report.
        self.last_machine_error = ""
        #: The protocol version a machine's HELLO gave, when it is not the one spoken here.
        self.unspoken_version: int | None = None

    # -- commands ----------------------------------------------------------------------------

    def encode(self, seq: int, command: str, argument: Any = None) -> bytes:
        """One command frame; SET_AMPLITUDE rounded down to the machine's current step.

        A machine whose HELLO gave another protocol version is refused (spec section 5, HELLO):
        nothing but OUTPUT_OFF is sent to it, since it may read version 1's frames otherwise."""
        if self.unspoken_version is not None and command != "output_off":
            raise DriverError(
                f"the {self.kind} on {self.port_url} speaks version {self.unspoken_version} of "
                f"the framed protocol and this console speaks version {wire.PROTOCOL_VERSION}: "
                "use a console whose framed driver speaks its version, or the machine's "
                f"firmware for version {wire.PROTOCOL_VERSION}"
            )
        payload = b""
        if command == "waveform":
            payload = wire.pack_waveform(argument)
        elif command == "amplitude":
            payload = wire.pack_amplitude(self._on_step(float(argument)))
        return wire.encode_frame(Frame(_COMMANDS[command], seq, payload))

    def _on_step(self, current_ua: float) -> float:
        """``current_ua`` rounded *down* to the machine's current step: the machine refuses a
        setpoint off its step (spec section 5) and the console's ramp passes between steps;
        down, so that the console never delivers more than it asked for."""
        caps = getattr(self, "capabilities", None)
        if caps is None or current_ua <= 0.0:
            return current_ua
        step = max(round(caps.current_step_ua * 10), 1)  # 0.1 µA wire units
        wire_units = math.floor(current_ua * 10 + 1e-6)
        return (wire_units - wire_units % step) / 10

    def parse_identity(self, value: str | bytes) -> DeviceIdentity:
        """The IDENTITY reply's payload."""
        return wire.unpack_identity(_payload(value))

    def parse_capabilities(self, value: str | bytes) -> Capabilities:
        """The CAPABILITIES reply's payload."""
        return wire.unpack_capabilities(_payload(value))

    def decoder_counts(self) -> dict[str, int]:
        """Bytes and frames the decoder dropped, by reason."""
        return {str(reason): count for reason, count in self.decoder.dropped_by_reason.items()}

    # -- bytes from the machine ----------------------------------------------------------------

    def decode(self, data: bytes) -> Iterator[Message]:
        """Frames in the bytes, as messages; a frame whose payload does not parse is counted."""
        for frame in self.decoder.feed(data):
            try:
                message = self._message(frame)
            except (wire.PayloadError, DriverError) as error:
                self.bad_payloads += 1
                self.last_bad_payload = f"{frame.type.name}: {error}"
                continue
            if message is not None:
                yield message

    def _message(self, frame: Frame) -> Message | None:
        kind = frame.type
        if kind is FrameType.SAMPLES:
            return self._samples(frame.payload)
        if kind is FrameType.HEARTBEAT:
            beat = wire.unpack_heartbeat(frame.payload)
            return Heartbeat(beat.machine_time_us, beat.output_on, stopping_faults(beat.faults))
        if kind is FrameType.STATUS:
            state = wire.unpack_status(frame.payload)
            return Heartbeat(state.machine_time_us, state.output_on, stopping_faults(state.faults))
        if kind in (FrameType.IDENTITY, FrameType.CAPABILITIES):
            self._replies[frame.seq] = frame.payload
            return None
        if kind is FrameType.ACK:
            seq = wire.unpack_ack(frame.payload)
            return Answer(seq, True, self._replies.pop(seq, None))
        if kind is FrameType.NACK:
            nack = wire.unpack_nack(frame.payload)
            reason = getattr(nack.reason, "name", str(nack.reason)).lower().replace("_", " ")
            self._replies.pop(nack.seq, None)
            return Answer(nack.seq, False, error=f"{reason}: {nack.text}".rstrip(": "))
        if kind is FrameType.HELLO:
            hello = wire.unpack_hello(frame.payload)
            if hello.protocol_version != wire.PROTOCOL_VERSION:
                self.unspoken_version = hello.protocol_version
            return Hello(hello.emulator)
        if kind is FrameType.ERROR:
            report = wire.unpack_error(frame.payload)
            self.last_machine_error = f"{report.code}: {report.text}"
            return None
        # A console → machine type from the machine: not a reply to anything (section 9).
        raise DriverError(f"a {kind.name} frame is not one a machine sends")

    def _samples(self, payload: bytes) -> Samples:
        batch = wire.unpack_samples(payload)
        n = len(batch)
        if self._next_index is not None:
            gap = (batch.first_index - self._next_index) % 2**32
            if gap < 2**31:  # a forward jump: samples lost; backwards: a restart
                self.samples_missing += gap
        self._next_index = (batch.first_index + n) % 2**32
        offsets = np.round(np.arange(n) * (1e6 / batch.rate_hz)).astype(np.int64)
        return Samples(batch.t0_us + offsets, batch.current_ua, batch.voltage_v)


def _payload(value: str | bytes) -> bytes:
    if not isinstance(value, bytes):
        raise wire.PayloadError(f"a reply payload is bytes, not {type(value).__name__}")
    return value
