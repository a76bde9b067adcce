"""The framed binary machine's side of its wire protocol, for the emulator.

Translates COBS/CRC frames (``docs/protocols/framed.md``) into firmware commands and the
firmware's answers and telemetry back into frames. A query's reply (IDENTITY, CAPABILITIES,
STATUS) carries the seq of the command it answers, then an ACK; a refusal is a NACK.
"""

from __future__ import annotations

from device_drivers import framed_protocol as wire
from device_drivers.emulator import WireAdapter
from device_drivers.firmware import Command, Firmware, Op, Reply, Telemetry
from device_drivers.framed_protocol import Frame, FrameType, NackReason

_OPS = {
    FrameType.IDENTIFY: Op.IDENTIFY,
    FrameType.GET_CAPABILITIES: Op.CAPABILITIES,
    FrameType.SET_WAVEFORM: Op.WAVEFORM,
    FrameType.SET_AMPLITUDE: Op.AMPLITUDE,
    FrameType.OUTPUT_ON: Op.OUTPUT_ON,
    FrameType.OUTPUT_OFF: Op.OUTPUT_OFF,
    FrameType.HEARTBEAT_REQUEST: Op.KEEPALIVE,
}
#: Firmware error codes (SCPI-style numbers) as NACK reasons.
_REASONS = {
    -222: NackReason.OUT_OF_RANGE,
    -221: NackReason.BUSY,
    301: NackReason.FAULT_ACTIVE,
    303: NackReason.FAULT_ACTIVE,
    -100: NackReason.UNKNOWN_COMMAND,
}
#: The firmware's events as this machine's ERROR codes (machine-specific, one byte).
_ERROR_CODES = {301: 1, 303: 3}


class FramedAdapter(WireAdapter):
    """Frames in, commands out; answers and telemetry in, frames out."""

    default_rate_hz = 2000.0
    streams_from_boot = True
    batch_samples = 200  # 18 + 4 × 200 bytes of payload: well inside the 1024-byte body

    def __init__(self, firmware: Firmware) -> None:
        self.firmware = firmware
        self.decoder = wire.FrameDecoder()
        self._refusals: list[bytes] = []
        self._out_seq = 0

    def feed(self, data: bytes) -> list[Command]:
        commands = []
        for frame in self.decoder.feed(data):
            op = _OPS.get(frame.type)
            if op is None:
                self._refusals.append(
                    self._nack(frame.seq, NackReason.UNKNOWN_COMMAND, frame.type.name)
                )
                continue
            try:
                argument = None
                if op is Op.WAVEFORM:
                    argument = wire.unpack_waveform(frame.payload)
                elif op is Op.AMPLITUDE:
                    argument = wire.unpack_amplitude(frame.payload)
            except wire.PayloadError as error:
                self._refusals.append(self._nack(frame.seq, NackReason.BAD_PAYLOAD, str(error)))
                continue
            commands.append(Command(frame.seq, op, argument))
        return commands

    def link_opened(self) -> None:
        self.decoder = wire.FrameDecoder()
        self._refusals.clear()

    def take_refusals(self) -> bytes:
        """NACKs for frames that never became commands (unknown type, bad payload)."""
        out, self._refusals = b"".join(self._refusals), []
        return out

    def hello(self) -> bytes:
        return self._frame(FrameType.HELLO, wire.pack_hello(emulator=True))

    def answer(self, command: Command, reply: Reply) -> bytes:
        if not reply.ok:
            reason = _REASONS.get(reply.error_code, NackReason.BUSY)
            return self._nack(command.seq, reason, reply.error)
        parts = []
        if command.op is Op.IDENTIFY:
            parts.append(
                wire.encode_frame(
                    Frame(FrameType.IDENTITY, command.seq, wire.pack_identity(reply.value))
                )
            )
        elif command.op is Op.CAPABILITIES:
            parts.append(
                wire.encode_frame(
                    Frame(FrameType.CAPABILITIES, command.seq, wire.pack_capabilities(reply.value))
                )
            )
        elif command.op is Op.KEEPALIVE:
            firmware = self.firmware
            status = wire.pack_status(
                int(firmware.machine_us(firmware.clock.now())),
                firmware.machine.output_on,
                int(firmware.faults),
                firmware.machine.amplitude_ua,
            )
            parts.append(wire.encode_frame(Frame(FrameType.STATUS, command.seq, status)))
        parts.append(
            wire.encode_frame(Frame(FrameType.ACK, command.seq, wire.pack_ack(command.seq)))
        )
        return b"".join(parts)

    def samples(self, telemetry: Telemetry, start: int, stop: int, rate_hz: int) -> bytes:
        payload = wire.pack_samples(
            (telemetry.first_index + start) & 0xFFFFFFFF,
            int(telemetry.machine_us[start]),
            rate_hz,
            telemetry.current_ua[start:stop],
            telemetry.voltage_v[start:stop],
        )
        return self._frame(FrameType.SAMPLES, payload)

    def heartbeat(self, machine_us: int, telemetry: Telemetry) -> bytes:
        errors = b"".join(
            self._frame(FrameType.ERROR, wire.pack_error(_ERROR_CODES.get(code, 0), text))
            for code, text in self.firmware.take_announcements()
        )
        return errors + self._frame(
            FrameType.HEARTBEAT,
            wire.pack_heartbeat(machine_us, telemetry.output_on, telemetry.faults),
        )

    def _frame(self, frame_type: FrameType, payload: bytes) -> bytes:
        # Unsolicited frames carry the machine's own running seq.
        self._out_seq = (self._out_seq + 1) % 256
        return wire.encode_frame(Frame(frame_type, self._out_seq, payload))

    @staticmethod
    def _nack(seq: int, reason: NackReason, text: str) -> bytes:
        return wire.encode_frame(
            Frame(FrameType.NACK, seq, wire.pack_nack(seq, reason, text[:200]))
        )
