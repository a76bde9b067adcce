"""Driver for machines that speak the SCPI-style text protocol (``docs/protocols/scpi.md``).

Checksummed lines with sequence tags; measurements stream as ``!M`` lines, parsed many at a
time with numpy; heartbeats as ``!HB``. Only the wire is here: the port, reader thread,
retries, keep-alive and time mapping are the console's :class:`~console.api.StreamMachineDriver`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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
    Waveform,
)
from device_drivers import scpi_protocol as wire
from device_drivers.machine_faults import stopping_faults
from device_drivers.scpi_protocol import LineKind

#: The commands whose text never changes.
_FIXED = {
    "identify": wire.IDN_QUERY,
    "capabilities": wire.CAPABILITIES_QUERY,
    "output_on": wire.OUTPUT_ON,
    "output_off": wire.OUTPUT_OFF,
    "keepalive": wire.KEEPALIVE,
    "stream_on": wire.STREAM_ON,
}


class ScpiMachineDriver(StreamMachineDriver):
    """A machine on the SCPI-style text protocol."""

    kind = "SCPI machine"
    baudrate = 921_600
    sequence_modulus = wire.SEQ_MODULUS
    streams_from_boot = False
    command_labels = _FIXED

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.decoder = wire.LineDecoder()
        self.measurements = wire.MeasurementParser()
        #: Intact lines of no known kind, and known lines that did not parse.
        self.unknown_lines = 0
        self.bad_lines = 0
        #: The machine's last announced error (``!ERR``).
        self.last_machine_error = ""

    # -- commands ----------------------------------------------------------------------------

    def configure(self, waveform: Waveform) -> None:
        """Shape, frequency, reversal interval and polarity: one command each, sent together,
        each confirmed."""
        try:
            texts = wire.set_waveform_commands(waveform)
        except wire.ScpiError as error:
            raise DriverError(
                f"the SCPI machine cannot be told {waveform.describe()}: {error}"
            ) from None
        self.commands([("text", text, f"waveform ({text})") for text in texts])

    def set_amplitude(self, current_ua: float) -> None:
        """``SOUR:CURR``, after the protocol's own range check."""
        try:
            text = wire.set_current_command(float(current_ua))
        except wire.ScpiError as error:
            raise DriverError(
                f"the SCPI machine cannot be set to {current_ua:g} µA: {error}"
            ) from None
        self.command("amplitude", current_ua, label=text)

    def encode(self, seq: int, command: str, argument: Any = None) -> bytes:
        """One tagged, checksummed line (``text``: a command's text as it is)."""
        if command == "text":
            return wire.command(seq, str(argument))
        if command == "amplitude":
            return wire.command(seq, wire.set_current_command(float(argument)))
        return wire.command(seq, _FIXED[command])

    def parse_identity(self, value: str | bytes) -> DeviceIdentity:
        """``<vendor>,<model>,<serial>,<firmware>``."""
        return wire.parse_identity(_text(value))

    def parse_capabilities(self, value: str | bytes) -> Capabilities:
        """The ``SYST:CAP?`` value (section 4)."""
        return wire.parse_capabilities(_text(value))

    @property
    def samples_missing(self) -> int:
        """Samples the machine measured that never arrived (gaps in the sample index)."""
        return self.measurements.samples_missing

    def decoder_counts(self) -> dict[str, int]:
        """Bytes and lines the decoder dropped, by reason."""
        counts = {str(reason): n for reason, n in self.decoder.dropped_by_reason.items()}
        counts["malformed measurements"] = self.measurements.lines_dropped
        counts["unknown lines"] = self.unknown_lines
        return counts

    # -- lines from the machine ----------------------------------------------------------------

    def decode(self, data: bytes) -> Iterator[Message]:
        """The measurements in the bytes as one batch, then the other lines, as messages."""
        batch, others = self.decoder.feed_split(data, self.measurements)
        if len(batch):
            yield Samples(batch.machine_time_us, batch.current_ua, batch.voltage_v)
        for line in others:
            try:
                message = self._message(line)
            except (wire.ScpiError, DriverError):
                self.bad_lines += 1  # a well-sealed line that does not parse: count, go on
                continue
            if message is not None:
                yield message

    def _message(self, line: str) -> Message | None:
        kind = wire.classify(line)
        if kind is LineKind.REPLY:
            reply = wire.parse_reply(line)
            error = None if reply.ok else f"{reply.error_code} {reply.error_text}"
            return Answer(reply.seq, reply.ok, reply.value, error)
        if kind is LineKind.HEARTBEAT:
            beat = wire.parse_heartbeat(line)
            return Heartbeat(
                beat.machine_time_us, beat.output_on, stopping_faults(int(beat.faults))
            )
        if kind is LineKind.HELLO:
            return Hello(wire.parse_hello(line).emulator)
        if kind is LineKind.ERROR:
            code, text = wire.parse_async_error(line)
            self.last_machine_error = f"{code} {text}"
        else:
            self.unknown_lines += 1  # e.g. a fragment left by a corrupted line ending
        return None


def _text(value: str | bytes) -> str:
    return value.decode("ascii", "replace") if isinstance(value, bytes) else value
