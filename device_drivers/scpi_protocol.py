"""The SCPI-style line protocol of one family of microcurrent machines: framing, commands, parsing.

Pure protocol, no I/O: the serial driver and the machine emulator both build on this module, so
what the console sends and what the emulator accepts come from one definition. The wire format is
specified in ``docs/protocols/scpi.md``; in short:

* a line is printable ASCII ending in ``*HH\\n`` (``HH``: XOR of the bytes before the ``*``, two
  uppercase hex digits; a ``\\r`` before the ``\\n`` is tolerated), at most 256 bytes in all;
* the console sends ``#<seq> <COMMAND>``; the machine answers ``#<seq> OK``,
  ``#<seq> ERR <code>,"<text>"`` or ``#<seq> <value>``;
* the machine also sends ``!HELLO``, ``!HB`` (heartbeat), ``!M`` (one measurement) and ``!ERR``.

The hot path is streaming: 2000 ``!M`` lines a second. :class:`LineDecoder` verifies framing and
checksums for a whole chunk at once with numpy (one XOR reduction per line), and
:func:`parse_measurements` converts many lines to arrays in a few numpy calls; the driver's
:meth:`LineDecoder.feed_split` does both for a read without making a string of each line.
"""

from __future__ import annotations

import enum
import math
import numbers
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

import numpy as np

from console.api import (
    HARD_MAX_CURRENT_UA,
    HARD_MAX_FREQUENCY_HZ,
    HARD_MIN_FREQUENCY_HZ,
    MAX_RAMP_S,
    MIN_REVERSAL_INTERVAL_S,
    Capabilities,
    DeviceIdentity,
    Polarity,
    Waveform,
    WaveShape,
)

# The same fault bits as every serial machine (re-exported for this protocol's users).
from device_drivers.machine_faults import FaultFlag as Fault
from device_drivers.machine_faults import fault_names as fault_names

# -- constants -------------------------------------------------------------------------------

#: Version announced in ``!HELLO``; a console refuses versions it does not know.
PROTOCOL_VERSION: Final = 1
#: Longest line on the wire, terminator included.
MAX_LINE_BYTES: Final = 256
#: Sequence tags run 0..9999 and wrap.
SEQ_MODULUS: Final = 10_000
#: The machine sends ``!HELLO`` within this many seconds of the port opening.
HELLO_TIMEOUT_S: Final = 2.0
#: The machine sends ``!HB`` this often.
HEARTBEAT_INTERVAL_S: Final = 0.1
#: The machine answers a command within this many seconds.
ANSWER_TIMEOUT_S: Final = 0.1
#: The console sends an unanswered command again (same seq, same bytes) at most this many times.
COMMAND_RETRIES: Final = 3
#: After this long without a valid command line the machine turns its output off.
KEEPALIVE_TIMEOUT_S: Final = 0.5
#: The console sends some command (``SYST:HEART`` when it has nothing else) at least this often.
KEEPALIVE_INTERVAL_S: Final = 0.2
#: The machine remembers at least this many recent commands, for this long, to spot repeats.
REPEAT_MEMORY: Final = 16
REPEAT_WINDOW_S: Final = 1.0
#: The machine's error queue holds at least this many entries.
ERROR_QUEUE_LENGTH: Final = 16
#: Longest polarity reversal interval the protocol carries (``SOUR:POL:INT``).
MAX_REVERSAL_INTERVAL_S: Final = 3600.0
#: Longest field of the ``*IDN?`` answer.
MAX_IDENTITY_FIELD: Final = 64
#: ``!HB`` fault flags are a 16-bit field.
MAX_FAULT_FLAGS: Final = 0xFFFF

# A line's content (everything before "\n", an optional "\r" included) is at most this long.
_MAX_CONTENT = MAX_LINE_BYTES - 1
# A body is what remains without "*HH" and the optional "\r": room for both, always.
MAX_BODY_BYTES: Final = MAX_LINE_BYTES - 5

SHAPE_MNEMONICS: Final[dict[WaveShape, str]] = {
    WaveShape.SQUARE: "SQU",
    WaveShape.SINE: "SIN",
    WaveShape.RAMPED: "RAMP",
    WaveShape.BIPHASIC: "BIP",
}
POLARITY_MNEMONICS: Final[dict[Polarity, str]] = {
    Polarity.POSITIVE: "POS",
    Polarity.NEGATIVE: "NEG",
    Polarity.ALTERNATING: "ALT",
}
_SHAPE_BY_MNEMONIC = {m: s for s, m in SHAPE_MNEMONICS.items()}
_POLARITY_BY_MNEMONIC = {m: p for p, m in POLARITY_MNEMONICS.items()}


class Keyword(enum.StrEnum):
    """Every command header, in the short upper-case form the console sends."""

    IDN = "*IDN?"
    CAPABILITIES = "SYST:CAP?"
    FUNCTION = "SOUR:FUNC"
    FREQUENCY = "SOUR:FREQ"
    CURRENT = "SOUR:CURR"
    POLARITY = "SOUR:POL"
    REVERSAL_INTERVAL = "SOUR:POL:INT"
    RAMP = "SOUR:RAMP"
    OUTPUT = "OUTP"
    OUTPUT_QUERY = "OUTP?"
    STREAM = "MEAS:STR"
    ERROR_QUERY = "SYST:ERR?"
    HEARTBEAT = "SYST:HEART"


# Complete commands without an argument, ready for command().
IDN_QUERY: Final = Keyword.IDN.value
CAPABILITIES_QUERY: Final = Keyword.CAPABILITIES.value
OUTPUT_QUERY: Final = Keyword.OUTPUT_QUERY.value
ERROR_QUERY: Final = Keyword.ERROR_QUERY.value
KEEPALIVE: Final = Keyword.HEARTBEAT.value
OUTPUT_ON: Final = "OUTP ON"
OUTPUT_OFF: Final = "OUTP OFF"
STREAM_ON: Final = "MEAS:STR ON"
STREAM_OFF: Final = "MEAS:STR OFF"


class ErrorCode(enum.IntEnum):
    """Error codes in ``ERR`` answers, ``!ERR`` lines and the ``SYST:ERR?`` queue."""

    NO_ERROR = 0
    COMMAND_ERROR = -100
    DATA_TYPE_ERROR = -104
    PARAMETER_NOT_ALLOWED = -108
    MISSING_PARAMETER = -109
    UNDEFINED_HEADER = -113
    EXECUTION_ERROR = -200
    SETTINGS_CONFLICT = -221
    DATA_OUT_OF_RANGE = -222
    ILLEGAL_PARAMETER_VALUE = -224
    QUEUE_OVERFLOW = -350
    INPUT_BUFFER_OVERRUN = -363
    OVER_CURRENT_TRIP = 301
    CONTACT_OPEN = 302
    KEEPALIVE_TIMEOUT = 303
    HARDWARE_FAULT = 304


#: The standard text of each code (what the emulator sends; a machine may say more).
ERROR_TEXT: Final[dict[ErrorCode, str]] = {
    ErrorCode.NO_ERROR: "No error",
    ErrorCode.COMMAND_ERROR: "Command error",
    ErrorCode.DATA_TYPE_ERROR: "Data type error",
    ErrorCode.PARAMETER_NOT_ALLOWED: "Parameter not allowed",
    ErrorCode.MISSING_PARAMETER: "Missing parameter",
    ErrorCode.UNDEFINED_HEADER: "Undefined header",
    ErrorCode.EXECUTION_ERROR: "Execution error",
    ErrorCode.SETTINGS_CONFLICT: "Settings conflict",
    ErrorCode.DATA_OUT_OF_RANGE: "Data out of range",
    ErrorCode.ILLEGAL_PARAMETER_VALUE: "Illegal parameter value",
    ErrorCode.QUEUE_OVERFLOW: "Queue overflow",
    ErrorCode.INPUT_BUFFER_OVERRUN: "Input buffer overrun",
    ErrorCode.OVER_CURRENT_TRIP: "Over-current trip",
    ErrorCode.CONTACT_OPEN: "Contact open",
    ErrorCode.KEEPALIVE_TIMEOUT: "Keep-alive timeout",
    ErrorCode.HARDWARE_FAULT: "Hardware fault",
}


#: The fault flags of a healthy machine.
NO_FAULTS: Final = Fault(0)


class ScpiError(ValueError):
    """Malformed protocol text, or a value the protocol cannot carry.

    ``code`` is the SCPI error code a machine answers with (see :class:`ErrorCode`); ``seq`` is
    the sequence tag of the offending command when it could be read, so the emulator can answer
    ``#<seq> ERR <code>,"<text>"`` even for a command it could not parse.
    """

    def __init__(
        self, message: str, code: int = ErrorCode.COMMAND_ERROR, seq: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = int(code)
        self.seq = seq


# -- framing ---------------------------------------------------------------------------------

_SUFFIX = [f"*{value:02X}\n" for value in range(256)]
# Hex digit value of each byte, 255 for anything that is not 0-9 or A-F (lower case is invalid).
_HEX_VALUE = np.full(256, 255, dtype=np.uint8)
for _digit in b"0123456789ABCDEF":
    _HEX_VALUE[_digit] = int(chr(_digit), 16)
_NL, _CR, _STAR = 0x0A, 0x0D, 0x2A
_BANG, _M, _SPACE = 0x21, 0x4D, 0x20
_PRINTABLE = bytes(range(0x20, 0x7F))
_ZERO_START = np.zeros(1, dtype=np.intp)
# The one place a body may hold a "*": a common command right after the sequence tag.
_COMMON_COMMAND = re.compile(r"#\d{1,4} \*[^*]*\Z")


def checksum(body: bytes) -> int:
    """XOR of all bytes of ``body`` (the part of a line before ``*``)."""
    value = 0
    for byte in body:  # a plain loop beats functools.reduce and numpy for one short line
        value ^= byte
    return value


def _body_problem(body: str) -> str | None:
    """Why ``body`` cannot be sent as a line, or None. The decoder drops exactly these."""
    if not body:
        return "a line needs a body"
    if len(body) > MAX_BODY_BYTES:
        return f"a body is at most {MAX_BODY_BYTES} characters, this one has {len(body)}"
    if not (body.isascii() and body.isprintable()):
        return f"a body is printable ASCII only: {body!r}"
    if "*" in body and not _COMMON_COMMAND.match(body):
        return f"'*' is reserved for the checksum (and common commands such as *IDN?): {body!r}"
    return None


def seal(body: str) -> bytes:
    """``body`` as a complete line: ``body*HH\\n``. Raises :class:`ScpiError` for a bad body."""
    problem = _body_problem(body)
    if problem:
        raise ScpiError(problem)
    raw = body.encode("ascii")
    return raw + _SUFFIX[checksum(raw)].encode("ascii")


def seal_lines(bodies: Sequence[str]) -> bytes:
    """Many bodies as lines, checksums computed for all at once (the emulator's 2 kS/s stream)."""
    if not bodies:
        return b""
    for body in bodies:
        problem = _body_problem(body)
        if problem:
            raise ScpiError(problem)
    raw = np.frombuffer(("\n".join(bodies) + "\n").encode("ascii"), dtype=np.uint8)
    starts = np.empty(len(bodies), dtype=np.intp)
    starts[0] = 0
    starts[1:] = np.flatnonzero(raw == _NL)[:-1] + 1
    sums = (np.bitwise_xor.reduceat(raw, starts) ^ _NL).tolist()  # each segment ends in "\n"
    return "".join(
        [body + _SUFFIX[value] for body, value in zip(bodies, sums, strict=True)]
    ).encode("ascii")


def next_seq(seq: int) -> int:
    """The sequence tag after ``seq`` (wraps at :data:`SEQ_MODULUS`)."""
    return (seq + 1) % SEQ_MODULUS


def _check_seq(seq: int) -> None:
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < SEQ_MODULUS:
        raise ScpiError(f"a sequence tag is an integer 0..{SEQ_MODULUS - 1}, not {seq!r}")


def command(seq: int, text: str) -> bytes:
    """The line that sends command ``text`` with tag ``seq``: ``#seq text*HH\\n``."""
    _check_seq(seq)
    return seal(f"#{seq} {text}")


class DropReason(enum.StrEnum):
    """Why :class:`LineDecoder` dropped a line."""

    CHECKSUM = "checksum"  #: well-formed ``*HH`` that does not match the body
    TOO_LONG = "too_long"  #: more than MAX_LINE_BYTES before the newline
    NOT_ASCII = "not_ascii"  #: a byte outside printable ASCII (control characters included)
    #: no ``*HH`` suffix, an empty body or one over MAX_BODY_BYTES, or a ``*`` inside the body
    MALFORMED = "malformed"


class LineDecoder:
    """Bytes from the port in, checksum-valid line bodies out; one instance per port.

    :meth:`feed` takes any chunking (a line may arrive one byte at a time or many lines at
    once), never raises, and keeps at most one partial line. Whatever it cannot vouch for is
    dropped and counted: after garbage it resynchronises at the next ``\\n``; an over-long line is
    discarded as soon as it is too long (bounded memory) and the rest of it up to its ``\\n`` is
    skipped. Every ``\\n`` received ends exactly one line, counted in :attr:`lines_ok` or
    :attr:`lines_dropped`. Not thread-safe: the port's reader thread owns its decoder.
    """

    def __init__(self) -> None:
        self._pending = b""
        self._skipping = False  # inside an over-long line: discard up to its newline
        self.lines_ok = 0
        self.lines_dropped = 0
        self.dropped_by_reason: dict[str, int] = {reason.value: 0 for reason in DropReason}

    @property
    def buffered_bytes(self) -> int:
        """Bytes of a partial line held for the next :meth:`feed` (never above 255)."""
        return len(self._pending)

    def reset(self) -> None:
        """Forget a partial line (after reopening the port); the counts stay."""
        self._pending = b""
        self._skipping = False

    def feed(self, data: bytes | bytearray | memoryview) -> list[str]:
        """Every line completed by ``data`` that is valid, as its body (without ``*HH``)."""
        block = self._complete_lines(data)
        if not block:
            return []
        _raw, starts, body_ends, good, text = self._verify(block)
        bounds = zip(starts[good].tolist(), body_ends[good].tolist(), strict=True)
        return [text[s:e] for s, e in bounds]

    def feed_split(
        self, data: bytes | bytearray | memoryview, parser: MeasurementParser
    ) -> tuple[SampleBatch, list[str]]:
        """:meth:`feed`, :func:`split_measurements` and ``parser.parse`` in one, for streaming.

        Returns the measurements of the valid lines completed by ``data`` as one batch (counted
        by ``parser`` as its :meth:`~MeasurementParser.parse` would) and the bodies of the other
        valid lines, each in arrival order; the same as the three steps give, faster. No
        measurement line becomes a ``str`` of its own: the runs of them are split into fields
        straight from the chunk's text (see :func:`_parse_text`).
        """
        block = self._complete_lines(data)
        if not block:
            return parser.count(SampleBatch.empty()), []
        raw, starts, body_ends, good, text = self._verify(block)
        lines = starts.size
        if good.all() and text.count("\n!M ") + text.startswith("!M ") == lines:
            # The usual case: every line a valid measurement line, the block their text.
            return parser.count(_parse_text(text, lines)), []
        # (A short bad last line may end before starts + 2, hence the clip.)
        top = raw.size - 1
        is_measurement = good & (
            (raw[starts] == _BANG)
            & (raw[np.minimum(starts + 1, top)] == _M)
            & (raw[np.minimum(starts + 2, top)] == _SPACE)
        )
        # The few lines that are not measurements (a heartbeat, an answer, a dropped line)
        # cut the text into runs of measurement lines, each one slice.
        others: list[str] = []
        runs: list[str] = []
        run_from = 0
        excluded = np.flatnonzero(~is_measurement).tolist()
        for i in excluded:
            if good[i]:
                others.append(text[starts[i] : body_ends[i]])
            if i > run_from:
                runs.append(text[starts[run_from] : starts[i]])
            run_from = i + 1
        if run_from < lines:
            runs.append(text[starts[run_from] :])
        count = lines - len(excluded)
        if not count:
            return parser.count(SampleBatch.empty()), others
        return parser.count(_parse_text("".join(runs), count)), others

    def _complete_lines(self, data: bytes | bytearray | memoryview) -> bytes:
        """The complete lines ``data`` finishes (with the held partial line before them, the
        end of an over-long line skipped); what follows the last newline is held."""
        if not data:
            return b""
        data = bytes(data)
        cut = data.rfind(b"\n")
        if cut < 0:
            self._keep(data)
            return b""
        block, tail = data[: cut + 1], data[cut + 1 :]
        if self._skipping:
            block = block[block.index(b"\n") + 1 :]  # the end of the over-long line
            self._skipping = False
        elif self._pending:
            block = self._pending + block
        self._pending = b""
        self._keep(tail)
        return block

    def _keep(self, partial: bytes) -> None:
        if self._skipping or not partial:
            return
        self._pending += partial
        if len(self._pending) > _MAX_CONTENT:
            self._pending = b""
            self._skipping = True
            self._count_drops(DropReason.TOO_LONG, 1)

    def _count_drops(self, reason: DropReason, count: int) -> None:
        if count:
            self.dropped_by_reason[reason.value] += count
            self.lines_dropped += count

    def _verify(self, block: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
        """Verify every line of ``block`` (which ends with a newline) at once, with numpy; count
        the drops. Returns the bytes as uint8, each line's start and body end (before ``*HH``),
        which lines are valid, and the block as text (for slicing out bodies).

        A handful of array passes over the chunk instead of a Python loop over its bytes:
        ``reduceat`` gives each line's XOR (the checksum, once the suffix is XORed back out),
        and whole-chunk counts of unprintable bytes and stars show when a clean chunk needs no
        per-line counting at all (the usual case).
        """
        raw = np.frombuffer(block, dtype=np.uint8)
        newlines = np.flatnonzero(raw == _NL)
        lines = newlines.size
        starts = np.concatenate((_ZERO_START, newlines[:-1] + 1))
        raw_length = newlines - starts
        if _CR in block:
            has_cr = (raw_length > 0) & (raw[newlines - 1] == _CR)
            ends = newlines - has_cr
            line_end_xor = np.where(has_cr, _STAR ^ _CR ^ _NL, _STAR ^ _NL)
            carriage_returns = int(np.count_nonzero(has_cr))
        else:  # the usual case: no "\r" anywhere, every line ends at its "\n"
            ends, line_end_xor, carriage_returns = newlines, _STAR ^ _NL, 0
            has_cr = None
        length = ends - starts

        if raw.size >= 3:
            # A line shorter than "*HH" reads bytes of the line before (or, wrapping, of the
            # chunk's end) here: harmless, "length >= 4" below drops it all the same.
            star_at, high_byte, low_byte = ends - 3, raw[ends - 2], raw[ends - 1]
        else:
            star_at = np.maximum(ends - 3, 0)
            high_byte = raw[np.maximum(ends - 2, 0)]
            low_byte = raw[np.maximum(ends - 1, 0)]
        high, low = _HEX_VALUE[high_byte], _HEX_VALUE[low_byte]
        framed = (
            (length >= 4)
            & (length - 3 <= MAX_BODY_BYTES)  # the grammar's longest body (section 2.1)
            & (raw[star_at] == _STAR)
            & ((high | low) < 16)
        )
        # Each line's XOR covers "*HH", the optional "\r" and the "\n": XOR them back out.
        body_xor = np.bitwise_xor.reduceat(raw, starts) ^ high_byte ^ low_byte ^ line_end_xor
        matches = body_xor == ((high << 4) | low)

        # Whole-chunk counts first: a clean chunk needs no per-line counting.
        if len(block.translate(None, _PRINTABLE)) == lines + carriage_returns:
            not_printable = None  # only the line ends
        else:
            # Per line with its "\r\n" (never more than one "\r" before the "\n": another
            # one counts as unprintable), which are unprintable but allowed.
            allowed = 1 if has_cr is None else 1 + has_cr
            not_printable = _per_line((raw < 0x20) | (raw > 0x7E), starts) > allowed
        too_long = raw_length > _MAX_CONTENT
        text = block.decode("latin-1")  # every kept line is ASCII; latin-1 never fails
        good = framed & matches
        if not_printable is None and block.count(b"*") == lines and good.all():
            # Every line framed, its checksum right, one "*" each (its own), none too long
            # (a framed line's body is at most 251 bytes), all printable: the usual case.
            self.lines_ok += lines
            return raw, starts, ends - 3, good, text
        if not_printable is None:
            not_printable = np.zeros(lines, dtype=bool)
        if block.count(b"*") == np.count_nonzero(framed):
            extra_stars = np.zeros(lines, dtype=bool)  # one per framed line: its own
        else:
            extra_stars = _per_line(raw == _STAR, starts) > 1

        not_ascii = ~too_long & not_printable
        candidate = ~too_long & ~not_ascii & framed
        malformed = ~too_long & ~not_ascii & ~framed
        extra_stars &= candidate
        if extra_stars.any():
            # A "*" inside a body is allowed only in "#<seq> *CMD" (rare: commands only).
            for i in np.flatnonzero(extra_stars).tolist():
                if not _COMMON_COMMAND.match(text, int(starts[i]), int(ends[i]) - 3):
                    candidate[i] = False
                    malformed[i] = True
        bad_checksum = candidate & ~matches
        good = candidate & matches

        self._count_drops(DropReason.TOO_LONG, int(np.count_nonzero(too_long)))
        self._count_drops(DropReason.NOT_ASCII, int(np.count_nonzero(not_ascii)))
        self._count_drops(DropReason.MALFORMED, int(np.count_nonzero(malformed)))
        self._count_drops(DropReason.CHECKSUM, int(np.count_nonzero(bad_checksum)))
        self.lines_ok += int(np.count_nonzero(good))
        return raw, starts, ends - 3, good, text


def _per_line(mask: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """How many True values of ``mask`` lie in each line (from its start to the next one's)."""
    return np.add.reduceat(mask.view(np.uint8), starts, dtype=np.intp)


# -- numbers ---------------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")


def format_number(value: float) -> str:
    """A finite number as the protocol writes it: ``10``, ``0.1``, ``2.5`` (shortest exact form)."""
    value = float(value)
    if not math.isfinite(value):
        raise ScpiError(f"the protocol carries finite numbers only, not {value!r}")
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def parse_number(text: str) -> float:
    """A decimal number (``10``, ``0.1``, ``-2.5``, ``1e3``); anything else is a ScpiError."""
    text = text.strip()
    if not _NUMBER.match(text):
        raise ScpiError(f"not a number: {text!r}", ErrorCode.DATA_TYPE_ERROR)
    value = float(text)
    if not math.isfinite(value):
        raise ScpiError(f"number out of range: {text!r}", ErrorCode.DATA_OUT_OF_RANGE)
    return value


# -- commands the console sends --------------------------------------------------------------


def set_waveform_commands(waveform: Waveform) -> list[str]:
    """The commands that configure ``waveform``'s shape, frequency and polarity, in order.

    The amplitude is not among them (the engine sets it with :func:`set_current_command`), and
    the machine's own ramp is set to 0 because the console ramps in software. The reversal
    interval is sent only for alternating polarity, and before the polarity, so the machine
    never alternates with a stale interval.
    """
    if waveform.shape not in SHAPE_MNEMONICS:
        raise ScpiError(f"the protocol has no waveform {waveform.shape!r}")
    if waveform.polarity not in POLARITY_MNEMONICS:
        raise ScpiError(f"the protocol has no polarity {waveform.polarity!r}")
    frequency = _in_range(
        "frequency", waveform.frequency_hz, HARD_MIN_FREQUENCY_HZ, HARD_MAX_FREQUENCY_HZ, "Hz"
    )
    commands = [
        f"{Keyword.FUNCTION} {SHAPE_MNEMONICS[waveform.shape]}",
        f"{Keyword.FREQUENCY} {format_number(frequency)}",
    ]
    if waveform.polarity is Polarity.ALTERNATING:
        interval = _in_range(
            "reversal interval",
            waveform.reversal_interval_s,
            MIN_REVERSAL_INTERVAL_S,
            MAX_REVERSAL_INTERVAL_S,
            "s",
        )
        commands.append(f"{Keyword.REVERSAL_INTERVAL} {format_number(interval)}")
    commands.append(f"{Keyword.POLARITY} {POLARITY_MNEMONICS[waveform.polarity]}")
    commands.append(set_ramp_command(0.0))
    return commands


def set_current_command(current_ua: float) -> str:
    """``SOUR:CURR <µA>``, rounded *down* to 0.1 µA (the protocol's resolution; never above)."""
    value = _in_range("current", current_ua, 0.0, HARD_MAX_CURRENT_UA, "µA")
    # The epsilon keeps 0.3 (stored as 0.29999...) at 0.3 instead of flooring it to 0.2; it can
    # raise a value by at most 1e-7 µA, far below the resolution.
    tenths = math.floor(value * 10.0 + 1e-6) / 10.0
    return f"{Keyword.CURRENT} {format_number(tenths)}"


def set_ramp_command(ramp_s: float = 0.0) -> str:
    """``SOUR:RAMP <s>``: the machine's own ramp; the console sends 0 (it ramps in software)."""
    return f"{Keyword.RAMP} {format_number(_in_range('ramp', ramp_s, 0.0, MAX_RAMP_S, 's'))}"


def output_command(on: bool) -> str:
    """``OUTP ON`` or ``OUTP OFF``."""
    return OUTPUT_ON if on else OUTPUT_OFF


def stream_command(on: bool) -> str:
    """``MEAS:STR ON`` or ``MEAS:STR OFF`` (start or stop the ``!M`` stream)."""
    return STREAM_ON if on else STREAM_OFF


def _in_range(name: str, value: float, low: float, high: float, unit: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)  # numpy scalars included
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise ScpiError(
            f"{name} {value!r} {unit} is outside {low:g}–{high:g} {unit}",
            ErrorCode.DATA_OUT_OF_RANGE,
        )
    return float(value)


# -- commands the machine receives (the emulator's side) -------------------------------------


class _Argument(NamedTuple):
    choices: tuple[str, ...] = ()  # an enumerated argument
    low: float | None = None  # or a number in [low, high]
    high: float | None = None


_ON_OFF = _Argument(choices=("ON", "OFF"))
#: What each header takes: None for no argument.
_ARGUMENTS: dict[Keyword, _Argument | None] = {
    Keyword.IDN: None,
    Keyword.CAPABILITIES: None,
    Keyword.FUNCTION: _Argument(choices=tuple(SHAPE_MNEMONICS.values())),
    Keyword.FREQUENCY: _Argument(low=HARD_MIN_FREQUENCY_HZ, high=HARD_MAX_FREQUENCY_HZ),
    Keyword.CURRENT: _Argument(low=0.0, high=HARD_MAX_CURRENT_UA),
    Keyword.POLARITY: _Argument(choices=tuple(POLARITY_MNEMONICS.values())),
    Keyword.REVERSAL_INTERVAL: _Argument(low=MIN_REVERSAL_INTERVAL_S, high=MAX_REVERSAL_INTERVAL_S),
    Keyword.RAMP: _Argument(low=0.0, high=MAX_RAMP_S),
    Keyword.OUTPUT: _ON_OFF,
    Keyword.OUTPUT_QUERY: None,
    Keyword.STREAM: _ON_OFF,
    Keyword.ERROR_QUERY: None,
    Keyword.HEARTBEAT: None,
}
_COMMAND_LINE = re.compile(r"#(\d{1,4})(?: +(\S+)(?: +(.*?))?)? *\Z")


@dataclass(frozen=True, slots=True)
class Command:
    """A command as the machine received it: tag, canonical header, normalised argument.

    ``argument`` is None for commands without one, an upper-case mnemonic (``SQU``, ``ON``) for
    enumerated arguments, and the number as sent for numeric ones (see :attr:`number`).
    """

    seq: int
    keyword: Keyword
    argument: str | None = None

    @property
    def number(self) -> float:
        """The numeric argument as a float."""
        if self.argument is None:
            raise ScpiError(
                f"{self.keyword} has no argument", ErrorCode.MISSING_PARAMETER, self.seq
            )
        return parse_number(self.argument)

    def text(self) -> str:
        """The command as the console writes it (without the tag)."""
        return self.keyword.value if self.argument is None else f"{self.keyword} {self.argument}"


def parse_command(line: str) -> Command:
    """Parse a command body (``#12 SOUR:CURR 300``); headers and mnemonics are case-insensitive.

    Raises :class:`ScpiError` with the code to answer (``-113`` unknown header, ``-109`` missing
    argument, ``-108`` unexpected argument, ``-104`` not a number, ``-224`` not a choice,
    ``-222`` out of the protocol's range) and, when the tag could be read, its ``seq``.
    """
    match = _COMMAND_LINE.match(line)
    if match is None:
        raise ScpiError(f"not a tagged command: {line!r}")
    seq = int(match.group(1))
    header, argument = match.group(2), match.group(3)
    if header is None:
        raise ScpiError(f"no command after the tag: {line!r}", seq=seq)
    try:
        keyword = Keyword(header.upper())
    except ValueError:
        raise ScpiError(
            f"unknown command {header!r}", ErrorCode.UNDEFINED_HEADER, seq=seq
        ) from None
    spec = _ARGUMENTS[keyword]
    if not argument:
        if spec is not None:
            raise ScpiError(f"{keyword} needs an argument", ErrorCode.MISSING_PARAMETER, seq)
        return Command(seq, keyword)
    if spec is None:
        raise ScpiError(f"{keyword} takes no argument", ErrorCode.PARAMETER_NOT_ALLOWED, seq)
    if spec.choices:
        choice = argument.upper()
        if choice not in spec.choices:
            raise ScpiError(
                f"{keyword} takes {'|'.join(spec.choices)}, not {argument!r}",
                ErrorCode.ILLEGAL_PARAMETER_VALUE,
                seq,
            )
        return Command(seq, keyword, choice)
    try:
        value = parse_number(argument)
    except ScpiError as error:
        raise ScpiError(str(error), error.code, seq) from None
    assert spec.low is not None and spec.high is not None
    if not spec.low <= value <= spec.high:
        raise ScpiError(
            f"{keyword} {argument} is outside {spec.low:g}..{spec.high:g}",
            ErrorCode.DATA_OUT_OF_RANGE,
            seq,
        )
    return Command(seq, keyword, argument)


# -- replies ---------------------------------------------------------------------------------


class MachineError(NamedTuple):
    """An error as the machine states it: code and text."""

    code: int
    text: str


_ERROR_BODY = re.compile(r'([+-]?\d{1,6}),"((?:[^"]|"")*)"\Z')


def format_error(code: int, text: str | None = None) -> str:
    """``<code>,"<text>"`` (the text of :data:`ERROR_TEXT` when omitted; quotes doubled)."""
    if text is None:
        try:
            text = ERROR_TEXT[ErrorCode(code)]
        except ValueError:
            text = "Error"
    if "*" in text or not (text.isascii() and text.isprintable()):
        raise ScpiError(f"an error text is printable ASCII without '*': {text!r}")
    return f'{int(code)},"{text.replace(chr(34), chr(34) * 2)}"'


def parse_error(text: str) -> MachineError:
    """Parse ``<code>,"<text>"`` (a ``SYST:ERR?`` value, or the tail of ``ERR`` / ``!ERR``)."""
    match = _ERROR_BODY.match(text)
    if match is None:
        raise ScpiError(f'not <code>,"<text>": {text!r}')
    return MachineError(int(match.group(1)), match.group(2).replace('""', '"'))


@dataclass(frozen=True, slots=True)
class Reply:
    """The machine's answer to the command tagged ``seq``.

    ``ok`` with ``value`` None is ``OK``; ``ok`` with a value answers a query; not ``ok``
    carries ``error_code`` and ``error_text``.
    """

    seq: int
    ok: bool
    value: str | None = None
    error_code: int | None = None
    error_text: str | None = None


_REPLY_LINE = re.compile(r"#(\d{1,4}) (.+)\Z")


def format_reply(reply: Reply) -> str:
    """The body of the machine's answer line (the emulator's side)."""
    _check_seq(reply.seq)
    if not reply.ok:
        if reply.error_code is None:
            raise ScpiError("an error reply needs an error code")
        return f"#{reply.seq} ERR {format_error(reply.error_code, reply.error_text)}"
    if reply.value is None:
        return f"#{reply.seq} OK"
    if reply.value == "OK" or reply.value.startswith("ERR") or not reply.value.strip():
        raise ScpiError(f"a query value cannot be empty or read as OK/ERR: {reply.value!r}")
    return f"#{reply.seq} {reply.value}"


def parse_reply(line: str) -> Reply:
    """Parse ``#<seq> OK``, ``#<seq> ERR <code>,"<text>"`` or ``#<seq> <value>``.

    A value that starts with ``ERR`` but is not a well-formed error is refused rather than
    taken for a value: a garbled refusal must never read as success.
    """
    match = _REPLY_LINE.match(line)
    if match is None:
        raise ScpiError(f"not a tagged answer: {line!r}")
    seq, rest = int(match.group(1)), match.group(2)
    if rest == "OK":
        return Reply(seq, True)
    if rest.startswith("ERR"):
        if not rest.startswith("ERR "):
            raise ScpiError(f"malformed error answer: {line!r}", seq=seq)
        try:
            code, text = parse_error(rest[4:])
        except ScpiError:
            raise ScpiError(f"malformed error answer: {line!r}", seq=seq) from None
        return Reply(seq, False, None, code, text)
    return Reply(seq, True, rest)


# -- identity and capabilities ---------------------------------------------------------------


def format_identity(identity: DeviceIdentity, vendor: str) -> str:
    """The ``*IDN?`` value: ``<vendor>,<model>,<serial>,<firmware>``."""
    fields = (vendor, identity.model, identity.serial, identity.firmware)
    for field in fields:
        if (
            not 1 <= len(field) <= MAX_IDENTITY_FIELD
            or field != field.strip()
            or "," in field
            or "*" in field
            or not (field.isascii() and field.isprintable())
        ):
            raise ScpiError(
                f"an identity field is 1-{MAX_IDENTITY_FIELD} printable ASCII characters "
                f"without ',' or '*': {field!r}"
            )
    if vendor.startswith("ERR"):
        raise ScpiError(
            f"a vendor name cannot start with ERR (it would read as an error): {vendor!r}"
        )
    return ",".join(fields)


def parse_idn(text: str) -> tuple[str, DeviceIdentity]:
    """The vendor and the identity from an ``*IDN?`` value."""
    fields = [field.strip() for field in text.split(",")]
    if len(fields) != 4 or not all(fields):
        raise ScpiError(f"*IDN? answers <vendor>,<model>,<serial>,<firmware>, not {text!r}")
    vendor, model, serial, firmware = fields
    return vendor, DeviceIdentity(model=model, serial=serial, firmware=firmware)


def parse_identity(text: str) -> DeviceIdentity:
    """The identity from an ``*IDN?`` value (the vendor is :func:`parse_idn`'s; DeviceIdentity
    has no field for it, and the driver's registration names the vendor)."""
    return parse_idn(text)[1]


def format_capabilities(caps: Capabilities) -> str:
    """The ``SYST:CAP?`` value, e.g.
    ``CURR 10,1000,10;FREQ 0.1,1000;SHAPE SQU,SIN,RAMP,BIP;POL POS,NEG,ALT;RATE 2000;COMPL 15``.

    ``FREQ:LIST`` (fixed frequencies) and ``CHAN`` (channels) follow only when they differ from
    the defaults (any frequency in range, one channel).
    """
    items = [
        "CURR " + ",".join(map(format_number, (*caps.current_ua, caps.current_step_ua))),
        "FREQ " + ",".join(map(format_number, caps.frequency_hz)),
    ]
    if caps.frequency_choices_hz:
        items.append("FREQ:LIST " + ",".join(map(format_number, caps.frequency_choices_hz)))
    shapes = [m for shape, m in SHAPE_MNEMONICS.items() if shape in caps.waveforms]
    polarities = [m for polarity, m in POLARITY_MNEMONICS.items() if polarity in caps.polarities]
    items += [
        "SHAPE " + ",".join(shapes),
        "POL " + ",".join(polarities),
        f"RATE {format_number(caps.sample_rate_hz)}",
        f"COMPL {format_number(caps.compliance_v)}",
    ]
    if caps.channels != 1:
        items.append(f"CHAN {caps.channels}")
    return ";".join(items)


def parse_capabilities(text: str) -> Capabilities:
    """:class:`Capabilities` from a ``SYST:CAP?`` value.

    Unknown items and unknown mnemonics in ``SHAPE``/``POL`` are ignored (a newer machine may
    offer more); a missing or inconsistent required item is a :class:`ScpiError`.
    """
    items: dict[str, list[str]] = {}
    for item in text.split(";"):
        key, _, values = item.strip().partition(" ")
        if not key or not values.strip():
            raise ScpiError(f"capability item without values: {item!r} in {text!r}")
        if key.upper() in items:
            raise ScpiError(f"capability {key} given twice in {text!r}")
        items[key.upper()] = [v.strip() for v in values.split(",")]

    def numbers(key: str, count: int | None = None) -> list[float]:
        if key not in items:
            raise ScpiError(f"capabilities without {key}: {text!r}")
        values = [parse_number(v) for v in items[key]]
        if count is not None and len(values) != count:
            raise ScpiError(f"capability {key} has {count} values, not {len(values)}: {text!r}")
        return values

    current_low, current_high, step = numbers("CURR", 3)
    frequency_low, frequency_high = numbers("FREQ", 2)
    (rate,) = numbers("RATE", 1)
    (compliance,) = numbers("COMPL", 1)
    choices = tuple(numbers("FREQ:LIST")) if "FREQ:LIST" in items else ()
    (channels,) = numbers("CHAN", 1) if "CHAN" in items else (1.0,)
    if not 0 <= current_low <= current_high or step <= 0:
        raise ScpiError(f"capability CURR needs 0 <= min <= max and step > 0: {text!r}")
    if not 0 < frequency_low <= frequency_high:
        raise ScpiError(f"capability FREQ needs 0 < min <= max: {text!r}")
    if rate <= 0 or compliance <= 0 or not channels.is_integer() or channels < 1:
        raise ScpiError(f"RATE and COMPL must be above 0, CHAN a whole number >= 1: {text!r}")
    for key in ("SHAPE", "POL"):
        if key not in items:
            raise ScpiError(f"capabilities without {key}: {text!r}")
    shapes = frozenset(
        _SHAPE_BY_MNEMONIC[m.upper()] for m in items["SHAPE"] if m.upper() in _SHAPE_BY_MNEMONIC
    )
    polarities = frozenset(
        _POLARITY_BY_MNEMONIC[m.upper()] for m in items["POL"] if m.upper() in _POLARITY_BY_MNEMONIC
    )
    if not shapes or not polarities:
        raise ScpiError(f"capabilities name no waveform or no polarity the console knows: {text!r}")
    return Capabilities(
        channels=int(channels),
        current_ua=(current_low, current_high),
        current_step_ua=step,
        frequency_hz=(frequency_low, frequency_high),
        waveforms=shapes,
        polarities=polarities,
        sample_rate_hz=rate,
        compliance_v=compliance,
        frequency_choices_hz=choices,
    )


# -- unsolicited machine lines ---------------------------------------------------------------


class LineKind(enum.Enum):
    """What a line from the machine is, by its prefix."""

    REPLY = "#"
    MEASUREMENT = "!M "
    HEARTBEAT = "!HB "
    HELLO = "!HELLO "
    ERROR = "!ERR "
    UNKNOWN = ""


def classify(line: str) -> LineKind:
    """The kind of a machine line (unknown kinds are for the caller to count and ignore)."""
    if line.startswith("#"):
        return LineKind.REPLY
    for kind in (LineKind.MEASUREMENT, LineKind.HEARTBEAT, LineKind.HELLO, LineKind.ERROR):
        if line.startswith(kind.value):
            return kind
    return LineKind.UNKNOWN


def split_measurements(lines: Iterable[str]) -> tuple[list[str], list[str]]:
    """``(measurement lines, all other lines)``, each in arrival order.

    Measurements go to :func:`parse_measurements` as one batch; the others one by one.
    """
    lines = list(lines)
    measurements = [line for line in lines if line.startswith("!M ")]
    if len(measurements) == len(lines):  # the usual case while streaming
        return measurements, []
    return measurements, [line for line in lines if not line.startswith("!M ")]


@dataclass(frozen=True, slots=True)
class Hello:
    """``!HELLO <version> <EMU|HW>``: the machine (re)started or the port was opened."""

    version: int
    emulator: bool


_HELLO_LINE = re.compile(r"!HELLO (\d{1,4}) (EMU|HW)\Z")


def format_hello(hello: Hello) -> str:
    """The body of a hello line."""
    return f"!HELLO {int(hello.version)} {'EMU' if hello.emulator else 'HW'}"


def parse_hello(line: str) -> Hello:
    """Parse ``!HELLO 1 HW``."""
    match = _HELLO_LINE.match(line)
    if match is None:
        raise ScpiError(f"not !HELLO <version> <EMU|HW>: {line!r}")
    return Hello(int(match.group(1)), match.group(2) == "EMU")


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """``!HB <machine time µs> <ON|OFF> <fault flags>``, every 100 ms."""

    machine_time_us: int
    output_on: bool
    faults: Fault = NO_FAULTS


_HEARTBEAT_LINE = re.compile(r"!HB (\d{1,18}) (ON|OFF) (\d{1,5})\Z")


def format_heartbeat(heartbeat: Heartbeat) -> str:
    """The body of a heartbeat line."""
    if not 0 <= heartbeat.machine_time_us < 10**18 or not 0 <= heartbeat.faults <= MAX_FAULT_FLAGS:
        raise ScpiError(f"heartbeat fields out of range: {heartbeat!r}")
    state = "ON" if heartbeat.output_on else "OFF"
    return f"!HB {int(heartbeat.machine_time_us)} {state} {int(heartbeat.faults)}"


def parse_heartbeat(line: str) -> Heartbeat:
    """Parse ``!HB 1234567 ON 0``."""
    match = _HEARTBEAT_LINE.match(line)
    if match is None:
        raise ScpiError(f"not !HB <time µs> <ON|OFF> <faults>: {line!r}")
    flags = int(match.group(3))
    if flags > MAX_FAULT_FLAGS:
        raise ScpiError(f"fault flags above {MAX_FAULT_FLAGS}: {line!r}")
    return Heartbeat(int(match.group(1)), match.group(2) == "ON", Fault(flags))


def format_async_error(code: int, text: str | None = None) -> str:
    """The body of an asynchronous error line: ``!ERR 301,"Over-current trip"``."""
    return f"!ERR {format_error(code, text)}"


def parse_async_error(line: str) -> MachineError:
    """Parse ``!ERR <code>,"<text>"``."""
    if not line.startswith("!ERR "):
        raise ScpiError(f"not !ERR <code>,<text>: {line!r}")
    return parse_error(line[5:])


# -- measurements ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SampleBatch:
    """Measurements parsed from many ``!M`` lines, as arrays, in arrival order.

    ``index`` and ``machine_time_us`` are int64, ``current_ua`` and ``voltage_v`` float64;
    ``dropped`` counts the lines that were not well-formed measurements.
    """

    index: np.ndarray
    machine_time_us: np.ndarray
    current_ua: np.ndarray
    voltage_v: np.ndarray
    dropped: int = 0

    def __len__(self) -> int:
        return int(self.index.shape[0])

    @staticmethod
    def empty(dropped: int = 0) -> SampleBatch:
        """A batch with no samples."""
        ints = np.empty(0, dtype=np.int64)
        floats = np.empty(0, dtype=np.float64)
        return SampleBatch(ints, ints, floats, floats, dropped)


def format_measurement(
    index: int, machine_time_us: int, current_ua: float, voltage_v: float
) -> str:
    """The body of one measurement line: ``!M 1200 600000 300.0 1.234``."""
    return f"!M {int(index)} {int(machine_time_us)} {_fixed(current_ua, 1)} {_fixed(voltage_v, 3)}"


def format_measurements(batch: SampleBatch) -> list[str]:
    """The bodies of many measurement lines (the emulator's stream)."""
    return [
        f"!M {i} {t} {_fixed(c, 1)} {_fixed(v, 3)}"
        for i, t, c, v in zip(
            batch.index.tolist(),
            batch.machine_time_us.tolist(),
            batch.current_ua.tolist(),
            batch.voltage_v.tolist(),
            strict=True,
        )
    ]


def _fixed(value: float, places: int) -> str:
    """``value`` with ``places`` decimals; one that rounds to zero is "0.0", never "-0.0"
    (section 5.3)."""
    text = f"{value:.{places}f}"
    if text[0] == "-" and not text.strip("-0."):
        return text[1:]
    return text


_Columns = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _parse_block(lines: Sequence[str]) -> _Columns | None:
    """Columns of ``lines`` if *every* line is a well-formed measurement, else None.

    Each check is on the joined text, yet holds exactly when it holds for every line alone,
    so a line's fate never depends on its neighbours:
    ``!M`` occurs exactly once per line, at its start (two counts); every line has five
    tokens (the ``!M`` tokens fall on every fifth position); numbers convert as Python's
    ``int``/``float`` do.
    """
    n = len(lines)
    text = "\n".join(lines)
    if not text.isascii():
        return None
    # No line holds a newline of its own, so every "\n!M " below starts one of the lines.
    if text.count("\n") != n - 1 or ("\n" + text).count("\n!M ") != n:
        return None
    return _columns(text, n, 5)


def _columns(text: str, n: int, per_line: int) -> _Columns | None:
    """The four numbers of ``n`` measurement lines in ``text`` (each starting ``!M ``, with
    ``per_line`` tokens when well-formed: 5, or 6 with the checksum), or None if any line is
    not well-formed."""
    if text.count("!M") != n or "_" in text:  # int() would accept "1_000"; the protocol not
        return None
    tokens = text.split()
    if len(tokens) != per_line * n or tokens[0::per_line].count("!M") != n:
        return None
    try:
        return (
            np.array(tokens[1::per_line], dtype=np.int64),
            np.array(tokens[2::per_line], dtype=np.int64),
            np.fromiter(map(float, tokens[3::per_line]), np.float64, n),
            np.fromiter(map(float, tokens[4::per_line]), np.float64, n),
        )
    except (ValueError, OverflowError):
        return None


def _parse_text(text: str, n: int) -> SampleBatch:
    """The measurements of ``text``: ``n`` valid lines, each ``!M ...*HH`` and its line end,
    as the receive path has them (no line sliced out); exactly what :func:`parse_measurements`
    gives for their bodies.

    The ``*`` becomes a space, so the checksum is a sixth token of each line: one split of the
    whole text, then one conversion per column. Numbers straight from the bytes with numpy
    (digits as 64-bit words) were measured slower: 85 µs against 40 µs for a 4 KB chunk,
    numpy's cost per call outweighing Python's per number at 100 lines a read.
    """
    columns = _columns(text.replace("*", " "), n, 6)
    if columns is None:  # some line is unusual: each one on its own, as the spec says
        return parse_measurements([line[:-3] for line in text.splitlines()])
    columns, dropped = _valid(columns)
    return SampleBatch(*columns, dropped=dropped)


def _valid(columns: _Columns) -> tuple[_Columns, int]:
    """``columns`` without the samples no machine can send (negative counts, non-finite
    values), and how many those were."""
    index, time_us, current, voltage = columns
    valid = (index >= 0) & (time_us >= 0) & np.isfinite(current) & np.isfinite(voltage)
    if valid.all():
        return columns, 0
    kept = (index[valid], time_us[valid], current[valid], voltage[valid])
    return kept, int(valid.size - np.count_nonzero(valid))


def _parse_all(lines: Sequence[str], parts: list[_Columns]) -> int:
    """Parse ``lines`` into ``parts``; returns how many were dropped.

    A batch that fails is halved until the bad lines are alone: a few bad lines among many
    cost a few extra vectorised passes, not a slow per-line parse of everything.
    """
    columns = _parse_block(lines)
    if columns is None:
        if len(lines) == 1:
            return 1
        middle = len(lines) // 2
        return _parse_all(lines[:middle], parts) + _parse_all(lines[middle:], parts)
    kept, dropped = _valid(columns)
    parts.append(kept)
    return dropped


def parse_measurements(lines: Sequence[str]) -> SampleBatch:
    """Turn many ``!M <index> <time µs> <current µA> <load V>`` line bodies into arrays.

    Never raises on bad content: lines that are not exactly that (five tokens, integers >= 0,
    finite decimals) are dropped and counted in :attr:`SampleBatch.dropped`.
    """
    if not lines:
        return SampleBatch.empty()
    parts: list[_Columns] = []
    dropped = _parse_all(list(lines), parts)
    if not parts:
        return SampleBatch.empty(dropped)
    if len(parts) == 1:
        return SampleBatch(*parts[0], dropped=dropped)
    return SampleBatch(*(np.concatenate(column) for column in zip(*parts, strict=True)), dropped)


class MeasurementParser:
    """:func:`parse_measurements` with running counts, one per stream.

    Besides malformed lines it counts samples *missing* from the stream (a jump in the sample
    index: lines lost to checksum errors or overruns). An index going backwards means the
    machine restarted, and counting starts again from there.
    """

    def __init__(self) -> None:
        self.samples_ok = 0
        self.lines_dropped = 0
        self.samples_missing = 0
        self._last_index: int | None = None

    def parse(self, lines: Sequence[str]) -> SampleBatch:
        """Parse one batch and update the counts."""
        return self.count(parse_measurements(lines))

    def count(self, batch: SampleBatch) -> SampleBatch:
        """Update the counts with ``batch``, parsed elsewhere (:meth:`LineDecoder.feed_split`);
        returns it."""
        self.samples_ok += len(batch)
        self.lines_dropped += batch.dropped
        if not len(batch):
            return batch
        index = batch.index
        first, last = int(index[0]), int(index[-1])
        previous = first - 1 if self._last_index is None else self._last_index
        self._last_index = last
        if first > previous and (index.size == 1 or bool((index[1:] > index[:-1]).all())):
            # Rising all the way (the usual case): what is missing is what the span lacks.
            self.samples_missing += last - previous - index.size
            return batch
        steps = np.diff(index, prepend=previous)
        self.samples_missing += int(steps[steps > 1].sum() - np.count_nonzero(steps > 1))
        return batch
