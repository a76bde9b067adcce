"""The framed binary machine's side of its wire protocol, for the emulator.

Translates COBS/CRC frames (``docs/protocols/framed.md``) into firmware commands and the
firmware's answers and telemetry back into frames. A query's reply (IDENTITY, CAPABILITIES,
STATUS) carries the seq of the command it answers, then an ACK; a refusal is a NACK.

Where the shared firmware is looser than this protocol's spec, the adapter holds the line
itself: it refuses what the spec refuses before the firmware sees it (payload lengths, the
500 ms reversal interval, amplitudes off the current step), sends a HEARTBEAT at once when the
state changes unbidden, sets the amplitude to 0 after console silence with the output off, and
counts SAMPLES from boot.
"""

from __future__ import annotations

from console.api import Polarity, Waveform
from device_drivers import framed_protocol as wire
from device_drivers.emulator import WireAdapter
from device_drivers.firmware import Command, Firmware, Op, Refusal, Reply, Telemetry
from device_drivers.framed_protocol import Frame, FrameType, NackReason, UnknownFrame

_OPS = {
    FrameType.IDENTIFY: Op.IDENTIFY,
    FrameType.GET_CAPABILITIES: Op.CAPABILITIES,
    FrameType.SET_WAVEFORM: Op.WAVEFORM,
    FrameType.SET_AMPLITUDE: Op.AMPLITUDE,
    FrameType.OUTPUT_ON: Op.OUTPUT_ON,
    FrameType.OUTPUT_OFF: Op.OUTPUT_OFF,
    FrameType.HEARTBEAT_REQUEST: Op.KEEPALIVE,
}
#: Commands whose payload is empty (section 5): anything else is BAD_PAYLOAD. OUTPUT_OFF is not
#: here: it is carried out whatever its payload (sections 5 and 8.7).
_NO_PAYLOAD = frozenset(
    {
        FrameType.IDENTIFY,
        FrameType.GET_CAPABILITIES,
        FrameType.OUTPUT_ON,
        FrameType.HEARTBEAT_REQUEST,
    }
)
#: The hard limits of section 1, in wire units.
MIN_REVERSAL_MS = 500
MAX_AMPLITUDE_WIRE = 10_000  # 1000 µA in 0.1 µA
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


class RefusedError(Exception):
    """A command the spec refuses before the firmware sees it: the NACK's reason and text."""

    def __init__(self, reason: NackReason, text: str) -> None:
        super().__init__(text)
        self.reason = reason


class FramedAdapter(WireAdapter):
    """Frames in, commands out; answers and telemetry in, frames out."""

    default_rate_hz = 2000.0
    #: Commands a retry is recognised among (the spec's section 6: the last one).
    repeat_memory = 1
    streams_from_boot = True
    batch_samples = 200  # 18 + 4 × 200 bytes of payload: well inside the 1024-byte body

    def __init__(self, firmware: Firmware) -> None:
        self.firmware = firmware
        self.decoder = wire.FrameDecoder()
        self._out_seq = 0
        #: Output state and faults as the console last learnt them (a HEARTBEAT, STATUS or a
        #: command's answer): a change from this it did not cause goes out at once (§5, §8.3).
        self._reported: tuple[bool, int] = (False, 0)

    # -- bytes in ----------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Command | Refusal]:
        received: list[Command | Refusal] = []
        frames = self.decoder.feed_all(data)
        self.heard = bool(frames)  # any valid frame, any type (section 7)
        for frame in frames:
            if isinstance(frame, UnknownFrame):
                # Sections 3.4 and 9: a valid frame of a type the machine does not know.
                text = f"unknown frame type 0x{frame.type:02x}"
                received.append(Refusal(self._nack(frame.seq, NackReason.UNKNOWN_COMMAND, text)))
                continue
            try:
                received.append(self._command(frame))
            except RefusedError as refusal:
                received.append(Refusal(self._nack(frame.seq, refusal.reason, str(refusal))))
        return received

    def _command(self, frame: Frame) -> Command:
        """The firmware command of ``frame``, or :class:`RefusedError` with the spec's NACK."""
        op = _OPS.get(frame.type)
        if op is None:  # a machine → console type (section 9)
            raise RefusedError(NackReason.UNKNOWN_COMMAND, f"{frame.type.name} is not a command")
        if frame.type in _NO_PAYLOAD and frame.payload:
            raise RefusedError(
                NackReason.BAD_PAYLOAD,
                f"{frame.type.name} takes no payload, got {len(frame.payload)} bytes",
            )
        try:
            if op is Op.WAVEFORM:
                return Command(frame.seq, op, self._waveform(frame.payload))
            if op is Op.AMPLITUDE:
                return Command(frame.seq, op, self._amplitude(frame.payload))
        except wire.PayloadError as error:
            raise RefusedError(NackReason.BAD_PAYLOAD, str(error)) from None
        return Command(frame.seq, op)

    @staticmethod
    def _waveform(payload: bytes) -> Waveform:
        """SET_WAVEFORM's waveform; alternating below 500 ms is OUT_OF_RANGE (§5, §8.2)."""
        waveform = wire.unpack_waveform(payload)
        reversal_ms = int.from_bytes(payload[6:10], "little")
        if waveform.polarity is Polarity.ALTERNATING and reversal_ms < MIN_REVERSAL_MS:
            raise RefusedError(
                NackReason.OUT_OF_RANGE,
                f"reversal interval {reversal_ms} ms is below {MIN_REVERSAL_MS} ms",
            )
        return waveform

    def _amplitude(self, payload: bytes) -> float:
        """SET_AMPLITUDE's current in µA; off the machine's step, or a non-zero current below
        its minimum, is OUT_OF_RANGE (section 5), checked in exact wire units."""
        current_ua = wire.unpack_amplitude(payload)
        raw = int.from_bytes(payload, "little")
        caps = self.firmware.capabilities
        step = round(caps.current_step_ua * 10)
        low = round(caps.current_ua[0] * 10)
        if raw > MAX_AMPLITUDE_WIRE:
            raise RefusedError(NackReason.OUT_OF_RANGE, f"{current_ua:g} uA: max 1000 uA")
        if raw and raw % step:
            raise RefusedError(
                NackReason.OUT_OF_RANGE,
                f"{current_ua:g} uA is not a multiple of the {step / 10:g} uA step",
            )
        if 0 < raw < low:
            raise RefusedError(
                NackReason.OUT_OF_RANGE, f"{current_ua:g} uA is below {low / 10:g} uA"
            )
        return current_ua

    def link_opened(self) -> None:
        self.decoder = wire.FrameDecoder()

    # -- bytes out ---------------------------------------------------------------------------

    def hello(self) -> bytes:
        return self._frame(FrameType.HELLO, wire.pack_hello(emulator=True))

    def answer(self, command: Command, reply: Reply) -> bytes:
        # What a command changed, its answer tells: no out-of-schedule HEARTBEAT for it.
        self._reported = (self.firmware.machine.output_on, int(self.firmware.faults))
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
        # first_index counts from boot, as t0 does (section 5, SAMPLES).
        payload = wire.pack_samples(
            (telemetry.first_index + start) & 0xFFFFFFFF,
            int(telemetry.machine_us[start]),
            rate_hz,
            telemetry.current_ua[start:stop],
            telemetry.voltage_v[start:stop],
        )
        out = self._frame(FrameType.SAMPLES, payload)
        if stop == len(telemetry.machine_us):
            out += self._unbidden(telemetry)
        return out

    def heartbeat(self, machine_us: int, telemetry: Telemetry) -> bytes:
        self._reported = (telemetry.output_on, telemetry.faults)
        errors = b"".join(
            self._frame(FrameType.ERROR, wire.pack_error(_ERROR_CODES.get(code, 0), text))
            for code, text in self.firmware.take_announcements()
        )
        return errors + self._frame(
            FrameType.HEARTBEAT,
            wire.pack_heartbeat(machine_us, telemetry.output_on, telemetry.faults),
        )

    def _unbidden(self, telemetry: Telemetry) -> bytes:
        """A HEARTBEAT now if the output or a fault changed since the console last learnt it
        (a trip, contact, the watchdog): "at once", in the same send as the samples that
        showed it (sections 5 and 8.3), not at the next 100 ms beat."""
        if (telemetry.output_on, telemetry.faults) == self._reported:
            return b""
        now_us = int(self.firmware.machine_us(self.firmware.clock.now()))
        return self.heartbeat(now_us, telemetry)

    def _frame(self, frame_type: FrameType, payload: bytes) -> bytes:
        # Unsolicited frames carry the machine's own running seq.
        self._out_seq = (self._out_seq + 1) % 256
        return wire.encode_frame(Frame(frame_type, self._out_seq, payload))

    @staticmethod
    def _nack(seq: int, reason: NackReason, text: str) -> bytes:
        return wire.encode_frame(
            Frame(FrameType.NACK, seq, wire.pack_nack(seq, reason, text[:200]))
        )
