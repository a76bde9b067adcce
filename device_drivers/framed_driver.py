"""Driver for machines that speak the framed binary protocol (``docs/protocols/framed.md``).

COBS-framed, CRC-16 checked frames with sequence numbers; commands are ACKed or NACKed, sample
batches arrive as packed int16 arrays (decoded with numpy), heartbeats every 100 ms. What all
serial drivers share (port, reader thread, retries, time mapping) is in
:mod:`device_drivers.serial_machine`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from console.drivers import Capabilities, DeviceIdentity, DriverError
from device_drivers import framed_protocol as wire
from device_drivers.framed_protocol import Frame, FrameType
from device_drivers.machine_faults import stopping_faults
from device_drivers.serial_machine import Answer, SerialMachineDriver

_Parsed = TypeVar("_Parsed")

#: Command name (see :meth:`SerialMachineDriver._encode`) → frame type.
_COMMANDS = {
    "identify": FrameType.IDENTIFY,
    "capabilities": FrameType.GET_CAPABILITIES,
    "waveform": FrameType.SET_WAVEFORM,
    "amplitude": FrameType.SET_AMPLITUDE,
    "output_on": FrameType.OUTPUT_ON,
    "output_off": FrameType.OUTPUT_OFF,
    "keepalive": FrameType.HEARTBEAT_REQUEST,
}


class FramedMachineDriver(SerialMachineDriver):
    """A machine on the framed binary protocol."""

    kind = "framed machine"
    baudrate = 921_600
    streams_from_boot = True
    sequence_modulus = 256

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.decoder = wire.FrameDecoder()
        # A reply's payload waits here until its ACK arrives (the reply comes first).
        self._replies: dict[int, bytes] = {}
        #: Samples the machine measured that never arrived (gaps in the sample index).
        self.samples_missing = 0
        self._next_index: int | None = None

    # -- commands ----------------------------------------------------------------------------

    def _encode(self, seq: int, command: str, argument: Any = None) -> bytes:
        frame_type = _COMMANDS[command]
        payload = b""
        if command == "waveform":
            payload = wire.pack_waveform(argument)
        elif command == "amplitude":
            payload = wire.pack_amplitude(self._on_step(float(argument)))
        return wire.encode_frame(Frame(frame_type, seq, payload))

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

    def _parse_identity(self, value: str | bytes | None) -> DeviceIdentity:
        return self._parse_reply(value, "IDENTITY", "identify", wire.unpack_identity)

    def _parse_capabilities(self, value: str | bytes | None) -> Capabilities:
        return self._parse_reply(
            value, "CAPABILITIES", "get capabilities", wire.unpack_capabilities
        )

    def _parse_reply(
        self,
        value: str | bytes | None,
        reply: str,
        command: str,
        unpack: Callable[[bytes], _Parsed],
    ) -> _Parsed:
        """A query's reply payload through ``unpack``; anything unexpected (no reply before the
        ACK, a payload that does not parse) is a DriverError saying what was expected and what
        came, never a TypeError from deep inside."""
        if not isinstance(value, bytes):
            came = "an ACK alone" if value is None else repr(value)
            raise DriverError(
                f"the {self.kind} answered '{command}' with {came}: expected {reply}, then ACK"
            )
        try:
            return unpack(value)
        except wire.PayloadError as error:
            raise DriverError(
                f"the {self.kind} answered '{command}' with a {reply} that does not parse "
                f"({error}); came: {value[:64].hex(' ')}{' …' if len(value) > 64 else ''}"
            ) from None

    def _decoder_counts(self) -> dict[str, int]:
        return {str(reason): count for reason, count in self.decoder.dropped_by_reason.items()}

    # -- bytes from the machine ----------------------------------------------------------------

    def _on_bytes(self, data: bytes) -> None:
        for frame in self.decoder.feed(data):
            try:
                self._on_frame(frame)
            except (wire.PayloadError, DriverError) as error:
                # A well-framed frame with a payload that does not parse: count it, go on.
                self.bad_payloads += 1
                self.last_bad_payload = f"{frame.type.name}: {error}"

    bad_payloads = 0
    last_bad_payload = ""

    def _on_frame(self, frame: Frame) -> None:
        kind = frame.type
        if kind is FrameType.SAMPLES:
            batch = wire.unpack_samples(frame.payload)
            n = len(batch)
            if self._next_index is not None:
                gap = (batch.first_index - self._next_index) % 2**32
                if gap < 2**31:  # a forward jump: samples lost; backwards: a restart
                    self.samples_missing += gap
            self._next_index = (batch.first_index + n) % 2**32
            machine_us = batch.t0_us + np.round(np.arange(n) * (1e6 / batch.rate_hz)).astype(
                np.int64
            )
            self._deliver_samples(machine_us, batch.current_ua, batch.voltage_v)
        elif kind is FrameType.HEARTBEAT:
            beat = wire.unpack_heartbeat(frame.payload)
            self._deliver_heartbeat(
                beat.machine_time_us, beat.output_on, stopping_faults(beat.faults)
            )
        elif kind is FrameType.STATUS:
            status = wire.unpack_status(frame.payload)
            self._deliver_heartbeat(
                status.machine_time_us, status.output_on, stopping_faults(status.faults)
            )
        elif kind in (FrameType.IDENTITY, FrameType.CAPABILITIES):
            self._replies[frame.seq] = frame.payload
        elif kind is FrameType.ACK:
            seq = wire.unpack_ack(frame.payload)
            self._deliver_answer(seq, Answer(True, self._replies.pop(seq, None)))
        elif kind is FrameType.NACK:
            nack = wire.unpack_nack(frame.payload)
            reason = getattr(nack.reason, "name", str(nack.reason)).lower().replace("_", " ")
            self._replies.pop(nack.seq, None)
            self._deliver_answer(
                nack.seq, Answer(False, error=f"{reason}: {nack.text}".rstrip(": "))
            )
        elif kind is FrameType.HELLO:
            self._deliver_hello(wire.unpack_hello(frame.payload).emulator)
        elif kind is FrameType.ERROR:
            report = wire.unpack_error(frame.payload)
            self.last_machine_error = f"{report.code}: {report.text}"
        else:
            # A console → machine type from the machine: not a reply to anything (section 9).
            raise DriverError(f"a {kind.name} frame is not one a machine sends")

    last_machine_error = ""
