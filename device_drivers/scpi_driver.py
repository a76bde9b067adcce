"""Driver for machines that speak the SCPI-style text protocol (``docs/protocols/scpi.md``).

Checksummed lines with sequence tags; measurements stream as ``!M`` lines, parsed many at a
time with numpy; heartbeats as ``!HB``. What all serial drivers share (port, reader thread,
retries, time mapping) is in :mod:`device_drivers.serial_machine`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from console.drivers import Capabilities, DeviceIdentity, DriverError
from console.waveforms import Waveform
from device_drivers import scpi_protocol as wire
from device_drivers.machine_faults import stopping_faults
from device_drivers.scpi_protocol import LineKind
from device_drivers.serial_machine import Answer, SerialMachineDriver

_T = TypeVar("_T")

_FIXED = {
    "identify": wire.IDN_QUERY,
    "capabilities": wire.CAPABILITIES_QUERY,
    "output_on": wire.OUTPUT_ON,
    "output_off": wire.OUTPUT_OFF,
    "keepalive": wire.KEEPALIVE,
    "stream_on": wire.STREAM_ON,
}


class ScpiMachineDriver(SerialMachineDriver):
    """A machine on the SCPI-style text protocol."""

    kind = "SCPI machine"
    baudrate = 921_600
    sequence_modulus = wire.SEQ_MODULUS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.decoder = wire.LineDecoder()
        self.measurements = wire.MeasurementParser()
        self.unknown_lines = 0
        self.bad_lines = 0
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
        self._commands([("raw", text, f"waveform ({text})") for text in texts])

    def set_amplitude(self, current_ua: float) -> None:
        try:
            wire.set_current_command(float(current_ua))  # the protocol's own range check
        except wire.ScpiError as error:
            raise DriverError(
                f"the SCPI machine cannot be set to {current_ua:g} µA: {error}"
            ) from None
        super().set_amplitude(current_ua)

    def _encode(self, seq: int, command: str, argument: Any = None) -> bytes:
        if command == "raw":
            return wire.command(seq, str(argument))
        if command == "amplitude":
            return wire.command(seq, wire.set_current_command(float(argument)))
        return wire.command(seq, _FIXED[command])

    def _parse_identity(self, value: str | bytes | None) -> DeviceIdentity:
        expected = "<vendor>,<model>,<serial>,<firmware>"
        return self._parse_value(value, wire.IDN_QUERY, expected, wire.parse_identity)

    def _parse_capabilities(self, value: str | bytes | None) -> Capabilities:
        expected = "its capabilities"
        return self._parse_value(value, wire.CAPABILITIES_QUERY, expected, wire.parse_capabilities)

    def _parse_value(
        self, value: str | bytes | None, query: str, expected: str, parse: Callable[[str], _T]
    ) -> _T:
        """A query's value through ``parse``; anything unexpected (OK for a value, a value that
        does not parse) is a DriverError saying what was expected and what came."""
        if value is None:
            raise DriverError(
                f"the SCPI machine answered {query} with OK, not {expected} (docs/protocols/"
                "scpi.md section 4)"
            )
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
        try:
            return parse(text)
        except (wire.ScpiError, ValueError) as error:
            raise DriverError(
                f"the SCPI machine answered {query} with {text[:80]!r}, not {expected}: {error}"
            ) from None

    @property
    def samples_missing(self) -> int:
        """Samples the machine measured that never arrived (gaps in the sample index)."""
        return self.measurements.samples_missing

    def _decoder_counts(self) -> dict[str, int]:
        counts = {str(reason): n for reason, n in self.decoder.dropped_by_reason.items()}
        counts["malformed measurements"] = self.measurements.lines_dropped
        counts["unknown lines"] = self.unknown_lines
        return counts

    # -- lines from the machine ----------------------------------------------------------------

    def _on_bytes(self, data: bytes) -> None:
        measurements, others = wire.split_measurements(self.decoder.feed(data))
        if measurements:
            batch = self.measurements.parse(measurements)
            self._deliver_samples(batch.machine_time_us, batch.current_ua, batch.voltage_v)
        for line in others:
            try:
                self._on_line(line)
            except (wire.ScpiError, DriverError):
                self.bad_lines += 1  # a well-sealed line that does not parse: count, go on

    def _on_line(self, line: str) -> None:
        kind = wire.classify(line)
        if kind is LineKind.REPLY:
            reply = wire.parse_reply(line)
            error = None if reply.ok else f"{reply.error_code} {reply.error_text}"
            self._deliver_answer(reply.seq, Answer(reply.ok, reply.value, error))
        elif kind is LineKind.HEARTBEAT:
            beat = wire.parse_heartbeat(line)
            self._deliver_heartbeat(
                beat.machine_time_us, beat.output_on, stopping_faults(int(beat.faults))
            )
        elif kind is LineKind.HELLO:
            self._deliver_hello(wire.parse_hello(line).emulator)
        elif kind is LineKind.ERROR:
            code, text = wire.parse_async_error(line)
            self.last_machine_error = f"{code} {text}"
        else:
            self.unknown_lines += 1  # e.g. a fragment left by a corrupted line ending
