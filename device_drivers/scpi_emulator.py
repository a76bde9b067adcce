"""The SCPI text machine's side of its wire protocol, for the emulator.

Checksummed, tagged lines (``docs/protocols/scpi.md``) in; firmware commands out. The waveform
arrives as several commands (shape, frequency, reversal interval, polarity): each is applied
to the machine as the whole waveform it makes with the settings already there, so the firmware
checks every one against the capabilities and refuses what it cannot do.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

import numpy as np

from console.api import Polarity, Waveform, WaveShape
from device_drivers import scpi_protocol as wire
from device_drivers.emulator import WireAdapter
from device_drivers.firmware import Command, Firmware, Op, Refusal, Reply, Telemetry
from device_drivers.scpi_protocol import ErrorCode, Keyword

VENDOR = "Microcurrent Console"
#: The waveform settings after a reset or a port open (section 8.1: the machine's defaults).
DEFAULT_WAVEFORM = Waveform(WaveShape.SQUARE, 1.0, 0.0, Polarity.ALTERNATING, 2.0)

_SHAPES = {mnemonic: shape for shape, mnemonic in wire.SHAPE_MNEMONICS.items()}
_POLARITIES = {mnemonic: polarity for polarity, mnemonic in wire.POLARITY_MNEMONICS.items()}
_SIMPLE = {
    Keyword.IDN: Op.IDENTIFY,
    Keyword.CAPABILITIES: Op.CAPABILITIES,
    Keyword.OUTPUT_QUERY: Op.OUTPUT_QUERY,
    Keyword.ERROR_QUERY: Op.ERROR_QUERY,
    Keyword.HEARTBEAT: Op.KEEPALIVE,
}


#: A command line's tag as written (section 3.1: 1 to 4 digits), to answer it the same way.
_TAG = re.compile(r"#(\d{1,4})(?= |\Z)")


def _plain(text: str) -> str:
    """Error text as the protocol carries it: printable ASCII, no '*' (the checksum mark)."""
    text = text.replace("µ", "u").replace("–", "-").replace("*", "x")
    return "".join(c for c in text if c.isascii() and c.isprintable())[:120]


def _error_text(code: int, detail: str = "") -> str:
    """The standard text of ``code`` (section 6), with the firmware's detail after it."""
    try:
        standard = wire.ERROR_TEXT[ErrorCode(code)]
    except ValueError:
        standard = "Error"
    detail = _plain(detail)
    if detail.lower().startswith(standard.lower()):  # the firmware said it too
        detail = detail[len(standard) :].lstrip(" :;,-")
    return f"{standard}; {detail}"[:200] if detail else standard


def delivered_current(setting_ua: float, step_ua: float, minimum_ua: float) -> float:
    """What the machine delivers for a set point (section 4.3): rounded down to its step, and
    0 below its minimum; never more than the set point."""
    delivered = math.floor(setting_ua / step_ua + 1e-9) * step_ua
    delivered = min(delivered, setting_ua)
    return 0.0 if delivered < minimum_ua else float(delivered)


class ScpiAdapter(WireAdapter):
    """Lines in, commands out; answers and telemetry in, lines out."""

    default_rate_hz = 2000.0
    #: Commands a retry is recognised among (the spec's 3.2: the last 16).
    repeat_memory = 16
    batch_samples = 400  # lines per write: 2 kS/s in five or so writes a second per 100 ms

    def __init__(self, firmware: Firmware) -> None:
        self.firmware = firmware
        self.decoder = wire.LineDecoder()
        # The waveform the settings so far make; a command applies it with its one change.
        self._staged = DEFAULT_WAVEFORM
        self._before: dict[int, Waveform] = {}
        self._tags: dict[int, str] = {}  #: each tag as the console wrote it, by its number

    def feed(self, data: bytes) -> list[Command | Refusal]:
        received: list[Command | Refusal] = []
        self.heard = False
        # A line at a time, so that an overlong line's -363 takes its place among the answers
        # (sections 5.4 and 6: announced and queued when it comes, before the lines after it).
        *whole, tail = data.split(b"\n")
        for piece in [line + b"\n" for line in whole] + [tail]:
            overlong_before = self.decoder.dropped_by_reason[wire.DropReason.TOO_LONG]
            lines = self.decoder.feed(piece)
            overlong = self.decoder.dropped_by_reason[wire.DropReason.TOO_LONG] - overlong_before
            received += [Refusal(queued_error=(-363, _error_text(-363)), announced=True)] * overlong
            self.heard = self.heard or bool(lines)  # any intact line keeps the watchdog quiet
            received += [self._received(line) for line in lines]
        return received

    def _received(self, line: str) -> Command | Refusal:
        """The command of an intact line, or the refusal that answers it (3.1, 3.4)."""
        tag = _TAG.match(line)
        if tag is not None:
            self._tags[int(tag.group(1))] = tag.group(1)
        try:
            return self._command(wire.parse_command(line))
        except wire.ScpiError as error:
            if error.seq is None:
                # Nobody can be answered without a tag: the error waits in the queue.
                return Refusal(queued_error=(-100, _error_text(-100)))
            reply = wire.Reply(
                error.seq, False, None, int(error.code), _error_text(error.code, str(error))
            )
            return Refusal(wire.seal(self._as_tagged(wire.format_reply(reply), error.seq)))

    def _as_tagged(self, body: str, seq: int) -> str:
        """``body`` under the tag exactly as the console wrote it (``#0007``, not ``#7``)."""
        written = self._tags.get(seq)
        number = f"#{seq}"
        if written is None or written == str(seq) or not body.startswith(number):
            return body
        return f"#{written}{body[len(number) :]}"

    def _command(self, parsed: wire.Command) -> Command:
        keyword, seq = parsed.keyword, parsed.seq
        if keyword in _SIMPLE:
            return Command(seq, _SIMPLE[keyword])
        if keyword is Keyword.CURRENT:
            caps = self.firmware.capabilities
            setting = parsed.number
            if setting > caps.current_ua[1]:
                return Command(seq, Op.AMPLITUDE, setting)  # refused whole (-222), not clipped
            delivered = delivered_current(setting, caps.current_step_ua, caps.current_ua[0])
            return Command(seq, Op.AMPLITUDE, delivered)
        if keyword is Keyword.RAMP:
            return Command(seq, Op.RAMP, parsed.number)
        if keyword is Keyword.OUTPUT:
            return Command(seq, Op.OUTPUT_ON if parsed.argument == "ON" else Op.OUTPUT_OFF)
        if keyword is Keyword.STREAM:
            return Command(seq, Op.STREAM_ON if parsed.argument == "ON" else Op.STREAM_OFF)
        staged = self._staged
        if keyword is Keyword.FUNCTION:
            staged = replace(staged, shape=_SHAPES[str(parsed.argument)])
        elif keyword is Keyword.FREQUENCY:
            staged = replace(staged, frequency_hz=parsed.number)
        elif keyword is Keyword.POLARITY:
            staged = replace(staged, polarity=_POLARITIES[str(parsed.argument)])
        elif keyword is Keyword.REVERSAL_INTERVAL:
            staged = replace(staged, reversal_interval_s=parsed.number)
        else:
            raise wire.ScpiError(f"{keyword} is not handled", ErrorCode.UNDEFINED_HEADER, seq)
        # Pipelined settings build on each other: the next one starts from this one. Should the
        # machine refuse it, the settings go back to what they were (see answer()).
        self._before[seq] = self._staged
        self._staged = staged
        return Command(seq, Op.WAVEFORM, staged)

    def link_opened(self) -> None:
        self.decoder = wire.LineDecoder()
        self._tags.clear()
        # Section 8.1: after the port opens, the error queue is empty and the latches clear.
        self.firmware.forget_errors_and_latches()

    def hello(self) -> bytes:
        # Section 8.1: after a reset or a port open, the waveform settings are the defaults.
        self._staged = DEFAULT_WAVEFORM
        self._before.clear()
        self.firmware.default_waveform(DEFAULT_WAVEFORM)
        return wire.seal(wire.format_hello(wire.Hello(wire.PROTOCOL_VERSION, emulator=True)))

    def answer(self, command: Command, reply: Reply) -> bytes:
        if command.op is Op.WAVEFORM:
            before = self._before.pop(command.seq, None)
            if not reply.ok and before is not None and self._staged == command.argument:
                self._staged = before  # refused: the machine keeps its previous settings
        if not reply.ok:
            text = wire.format_reply(
                wire.Reply(
                    command.seq,
                    False,
                    None,
                    reply.error_code,
                    _error_text(reply.error_code, reply.error),
                )
            )
            return wire.seal(self._as_tagged(text, command.seq))
        value: str | None = None
        if command.op is Op.IDENTIFY:
            value = wire.format_identity(reply.value, VENDOR)
        elif command.op is Op.CAPABILITIES:
            value = wire.format_capabilities(reply.value)
        elif command.op is Op.OUTPUT_QUERY:
            value = "ON" if reply.value else "OFF"
        elif command.op is Op.ERROR_QUERY:
            code, text = reply.value
            value = wire.format_error(code, _error_text(code, text))
        return wire.seal(
            self._as_tagged(wire.format_reply(wire.Reply(command.seq, True, value)), command.seq)
        )

    def samples(self, telemetry: Telemetry, start: int, stop: int, rate_hz: int) -> bytes:
        batch = wire.SampleBatch(
            index=np.arange(telemetry.first_index + start, telemetry.first_index + stop),
            machine_time_us=telemetry.machine_us[start:stop],
            current_ua=telemetry.current_ua[start:stop],
            voltage_v=telemetry.voltage_v[start:stop],
        )
        return wire.seal_lines(wire.format_measurements(batch))

    def heartbeat(self, machine_us: int, telemetry: Telemetry) -> bytes:
        lines = [
            wire.format_async_error(code, _error_text(code, text))
            for code, text in self.firmware.take_announcements()
        ]
        lines.append(
            wire.format_heartbeat(
                wire.Heartbeat(machine_us, telemetry.output_on, wire.Fault(telemetry.faults))
            )
        )
        return wire.seal_lines(lines)
