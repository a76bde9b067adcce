"""The SCPI line machine's checks, section by section of ``docs/protocols/scpi.md``.

Lines are built and read with :mod:`device_drivers.scpi_protocol` (``seal``, ``LineDecoder``,
``parse_reply``...), so a check fails only where the machine and the spec disagree. The output
is turned on twice (the watchdog and the reconnect), each time at the machine's minimum current
for well under a second, and turned off again whatever happens.
"""

from __future__ import annotations

import time

import numpy as np

from console.api import Capabilities
from device_drivers import scpi_protocol as wire
from device_drivers.scpi_protocol import ErrorCode, Fault
from device_drivers.wire_check.link import Event, Link
from device_drivers.wire_check.runner import (
    AbortError,
    Bench,
    CheckError,
    Received,
    check_list,
    expect,
)

CHECKS, check = check_list()

#: How long a functional check waits for an answer (the spec's 100 ms is checked in section 7).
ANSWER_WAIT_S = 1.0
#: How long "no answer" is listened for: three times the spec's answer time.
SILENCE_WAIT_S = 0.3
#: The output is never on longer than this: the safety stop goes out by then.
MAX_ON_S = 0.9


class ScpiBench(Bench[str]):
    """The console's end of an SCPI machine: tagged commands out, checked line bodies in."""

    protocol = "scpi"
    spec = "docs/protocols/scpi.md"

    def __init__(self, link: Link) -> None:
        super().__init__(link)
        self.decoder = wire.LineDecoder()
        self.tag = 0
        self.caps: Capabilities | None = None

    # -- Bench -----------------------------------------------------------------------------------

    def decode(self, data: bytes) -> list[str]:
        return self.decoder.feed(data)

    def reset_decoder(self) -> None:
        self.decoder.reset()

    def output_off_bytes(self) -> bytes:
        return wire.seal(f"#{self.next_tag()} {wire.OUTPUT_OFF}")

    def describe(self, events: list[Event]) -> list[str]:
        return describe_lines(events)

    # -- commands --------------------------------------------------------------------------------

    def next_tag(self) -> str:
        """A fresh tag (1, 2, ... as the console counts; never one used in the last second)."""
        self.tag = self.tag % (wire.SEQ_MODULUS - 1) + 1
        return str(self.tag)

    def send(self, body: str) -> None:
        """One sealed line with ``body``."""
        self.link.write(wire.seal(body))

    def command(self, text: str, tag: str | None = None) -> str:
        """Send ``#tag text``; returns the tag as written."""
        tag = tag if tag is not None else self.next_tag()
        self.send(f"#{tag} {text}")
        return tag

    def answer(self, tag: str, timeout: float = ANSWER_WAIT_S) -> str | None:
        """The body of the answer under ``tag`` (as written), or None."""
        got = self.wait(lambda line: line.startswith(f"#{tag} "), timeout)
        return None if got is None else got.item

    def ask(self, text: str, tag: str | None = None) -> wire.Reply:
        """Send a command and parse its answer; fails the check if none comes or it is garbled."""
        tag = self.command(text, tag)
        line = self.answer(tag)
        expect(line is not None, f"no answer to '#{tag} {text}' within {ANSWER_WAIT_S:g} s")
        try:
            return wire.parse_reply(line)
        except wire.ScpiError as error:
            raise CheckError(f"'#{tag} {text}' answered with a malformed line: {error}") from None

    def ok(self, text: str) -> None:
        """Send a command that must be answered ``OK``."""
        reply = self.ask(text)
        expect(reply.ok and reply.value is None, f"'{text}' answered {_said(reply)}, not OK")

    def refused(self, text: str, code: int) -> wire.Reply:
        """Send a command that must be answered ``ERR <code>,...``."""
        reply = self.ask(text)
        expect(
            not reply.ok and reply.error_code == code,
            f"'{text}' answered {_said(reply)}, not ERR {code}",
        )
        return reply

    def next_error(self) -> wire.MachineError:
        """The oldest queued error (``SYST:ERR?``)."""
        reply = self.ask(wire.ERROR_QUERY)
        expect(reply.ok and reply.value, f"SYST:ERR? answered {_said(reply)}")
        try:
            return wire.parse_error(reply.value)
        except wire.ScpiError as error:
            raise CheckError(f"SYST:ERR? answered {reply.value!r}: {error}") from None

    def drain_errors(self) -> None:
        """Empty the error queue (at most the spec's 16 entries and an overflow)."""
        for _ in range(wire.ERROR_QUEUE_LENGTH + 2):
            if self.next_error().code == 0:
                return
        raise CheckError('SYST:ERR? never answered 0,"No error"')

    # -- the machine's capabilities --------------------------------------------------------------

    @property
    def capabilities(self) -> Capabilities:
        if self.caps is None:
            raise AbortError("the capabilities are unknown (section 4.1 failed)")
        return self.caps

    def lowest_current(self) -> float:
        """The machine's minimum current: the only one the checker turns the output on at."""
        low, _ = self.capabilities.current_ua
        return low if low > 0 else self.capabilities.current_step_ua

    def configure(self) -> None:
        """A waveform the machine states it can do: its first shape, a frequency in its range,
        a fixed polarity."""
        caps = self.capabilities
        shape = next(m for s, m in wire.SHAPE_MNEMONICS.items() if s in caps.waveforms)
        polarity = next(m for p, m in wire.POLARITY_MNEMONICS.items() if p in caps.polarities)
        self.ok(f"SOUR:FUNC {shape}")
        self.ok(f"SOUR:FREQ {wire.format_number(frequency_in_range(caps))}")
        if polarity == "ALT":
            self.ok("SOUR:POL:INT 2")
        self.ok(f"SOUR:POL {polarity}")
        self.ok("SOUR:RAMP 0")

    def heartbeats(self, received: list[Received[str]]) -> list[tuple[float, wire.Heartbeat]]:
        """The parsed ``!HB`` lines among ``received`` units, with their arrival times."""
        beats = []
        for unit in received:
            if unit.item.startswith("!HB "):
                try:
                    beats.append((unit.at, wire.parse_heartbeat(unit.item)))
                except wire.ScpiError as error:
                    raise CheckError(f"malformed heartbeat {unit.item!r}: {error}") from None
        return beats


def frequency_in_range(caps: Capabilities) -> float:
    """10 Hz if the machine has it, else the nearest frequency it states."""
    if caps.frequency_choices_hz:
        return min(caps.frequency_choices_hz, key=lambda f: abs(f - 10.0))
    low, high = caps.frequency_hz
    return min(max(10.0, low), high)


def _said(reply: wire.Reply) -> str:
    """A reply as it read on the wire."""
    if not reply.ok:
        return f'ERR {reply.error_code},"{reply.error_text}"'
    return "OK" if reply.value is None else repr(reply.value)


# -- transcript -------------------------------------------------------------------------------


def describe_lines(events: list[Event]) -> list[str]:
    """The traffic as lines: ``+ms > line`` sent, ``+ms < line`` received; runs of ``!M``
    lines are counted, not listed, and long lines are cut."""
    out: list[str] = []
    partial = {True: b"", False: b""}
    measurements = 0
    start = events[0].at if events else 0.0
    for event in events:
        data = partial[event.sent] + event.data
        *lines, partial[event.sent] = data.split(b"\n")
        ms = round((event.at - start) * 1000)
        for raw in lines:
            if not event.sent and raw.startswith(b"!M "):
                measurements += 1
                continue
            if measurements:
                out.append(f"+{ms} ms < ({measurements} !M lines)")
                measurements = 0
            out.append(f"+{ms} ms {'>' if event.sent else '<'} {_show(raw)}")
    if measurements:
        out.append(f"< ({measurements} !M lines)")
    for sent, rest in partial.items():
        if rest:
            out.append(f"{'>' if sent else '<'} {_show(rest)} (no LF yet)")
    return out


def _show(raw: bytes, limit: int = 100) -> str:
    """A line's bytes, printable ASCII as it is, anything else as \\xNN; cut at ``limit``."""
    text = "".join(chr(b) if 0x20 <= b <= 0x7E else f"\\x{b:02x}" for b in raw[:limit])
    return text + (f"... ({len(raw)} bytes)" if len(raw) > limit else "")


# -- 5.1, 4, 4.1: the handshake ---------------------------------------------------------------


@check("5.1", "!HELLO 1 within 2 s of the port opening")
def hello_after_opening(bench: ScpiBench) -> str:
    left = bench.link.opened_at + wire.HELLO_TIMEOUT_S - time.monotonic()
    got = bench.wait(lambda line: line.startswith("!HELLO"), max(left, 0.0))
    expect(got is not None, "no !HELLO line within 2 s of opening the port")
    try:
        hello = wire.parse_hello(got.item)
    except wire.ScpiError as error:
        raise CheckError(str(error)) from None
    expect(hello.version == wire.PROTOCOL_VERSION, f"protocol version {hello.version}, not 1")
    after = (got.at - bench.link.opened_at) * 1000
    return f"{got.item!r} {after:.0f} ms after opening ({'emulator' if hello.emulator else 'HW'})"


@check("4", "*IDN? answers <vendor>,<model>,<serial>,<firmware>")
def identify(bench: ScpiBench) -> str:
    tag = bench.command(wire.IDN_QUERY)
    line = bench.answer(tag, 2 * ANSWER_WAIT_S)
    if line is None:
        raise AbortError(f"no answer to '#{tag} *IDN?': the machine does not answer")
    reply = wire.parse_reply(line)
    expect(reply.ok and reply.value, f"*IDN? answered {_said(reply)}")
    try:
        vendor, identity = wire.parse_idn(reply.value)
        written = wire.format_identity(identity, vendor)  # the field rules of section 4
    except wire.ScpiError as error:
        raise CheckError(f"*IDN? answered {reply.value!r}: {error}") from None
    expect(written == reply.value, f"*IDN? fields have spaces around them: {reply.value!r}")
    return reply.value


@check("4.1", "SYST:CAP? states every required key, consistently")
def capabilities(bench: ScpiBench) -> str:
    reply = bench.ask(wire.CAPABILITIES_QUERY)
    expect(reply.ok and reply.value, f"SYST:CAP? answered {_said(reply)}")
    try:
        caps = wire.parse_capabilities(reply.value)
    except wire.ScpiError as error:
        raise AbortError(f"SYST:CAP? answered {reply.value!r}: {error}") from None
    low, high = caps.current_ua
    if not 0 <= low <= high <= 1000:
        raise AbortError(f"CURR {low:g},{high:g} is outside the protocol's 0-1000 uA")
    bench.caps = caps
    return reply.value


@check("1", "OUTP OFF right after identifying is answered OK")
def output_off_first(bench: ScpiBench) -> None:
    bench.ok(wire.OUTPUT_OFF)


@check("5.1", "no !HELLO after the first command")
def no_hello_after_a_command(bench: ScpiBench) -> None:
    bench.ok(wire.KEEPALIVE)
    hellos = [u.item for u in bench.collect(0.6) if u.item.startswith("!HELLO")]
    expect(not hellos, f"{len(hellos)} !HELLO line(s) after a command: {hellos[:1]}")


@check("5.2", "!HB every 100 ms with the output state and defined flags only")
def heartbeats(bench: ScpiBench) -> str:
    bench.ok(wire.KEEPALIVE)
    beats = bench.heartbeats(bench.collect(1.05))
    expect(len(beats) >= 8, f"{len(beats)} !HB lines in 1.05 s, not about 10")
    times = np.array([beat.machine_time_us for _, beat in beats])
    expect(np.all(np.diff(times) > 0), f"machine time does not increase: {times.tolist()}")
    mean_ms = float(np.mean(np.diff(times))) / 1000
    expect(90 <= mean_ms <= 110, f"!HB every {mean_ms:.1f} ms of machine time, not 100 +-10")
    flags = {int(beat.faults) for _, beat in beats}
    expect(all(f < 16 for f in flags), f"reserved fault bits set: {sorted(flags)}")
    expect(not any(beat.output_on for _, beat in beats), "!HB says ON; the output is off")
    return f"{len(beats)} beats, {mean_ms:.1f} ms apart (machine time)"


# -- 4: each command with a valid argument ------------------------------------------------------


@check("4", "each setting command with a valid argument is answered OK")
def each_setting(bench: ScpiBench) -> str:
    caps = bench.capabilities
    bench.configure()
    bench.ok(f"SOUR:CURR {wire.format_number(bench.lowest_current())}")  # the output is off
    bench.ok("SOUR:CURR 0")
    for polarity, mnemonic in wire.POLARITY_MNEMONICS.items():
        if polarity in caps.polarities:
            bench.ok(f"SOUR:POL {mnemonic}")
    bench.ok("SOUR:POL:INT 0.5")
    bench.ok("SOUR:RAMP 0")
    bench.ok(wire.KEEPALIVE)
    bench.ok(wire.OUTPUT_OFF)
    return "SOUR:FUNC, SOUR:FREQ, SOUR:CURR, SOUR:POL, SOUR:POL:INT, SOUR:RAMP, SYST:HEART, OUTP"


@check("4", "OUTP? answers OFF with the output off")
def output_query(bench: ScpiBench) -> None:
    reply = bench.ask(wire.OUTPUT_QUERY)
    expect(reply.ok and reply.value == "OFF", f"OUTP? answered {_said(reply)}, not 'OFF'")


@check("4", "a number with an exponent is accepted (1e1)")
def exponent(bench: ScpiBench) -> None:
    bench.ok(f"SOUR:FREQ {frequency_in_range(bench.capabilities):g}e0")
    bench.ok("SOUR:RAMP 0e1")


@check("3.1", "headers and mnemonics are case-insensitive")
def case_insensitive(bench: ScpiBench) -> None:
    caps = bench.capabilities
    shape = next(m for s, m in wire.SHAPE_MNEMONICS.items() if s in caps.waveforms)
    bench.ok(f"sour:func {shape.lower()}")
    bench.ok("Syst:Heart")


@check("5.3", "MEAS:STR ON streams consecutive !M lines at RATE; MEAS:STR OFF stops them")
def measurement_stream(bench: ScpiBench) -> str:
    rate = bench.capabilities.sample_rate_hz
    bench.ok(wire.STREAM_ON)
    lines = [u.item for u in bench.collect(0.5) if u.item.startswith("!M ")]
    tag = bench.command(wire.STREAM_OFF)
    expect(bench.answer(tag) is not None, "no answer to MEAS:STR OFF")
    after = [u for u in bench.collect(0.3) if u.item.startswith("!M ")]
    expect(len(lines) >= rate * 0.25, f"{len(lines)} !M lines in 0.5 s at RATE {rate:g}")
    batch = wire.parse_measurements(lines)
    expect(len(batch) == len(lines), f"{len(lines) - len(batch)} !M lines do not parse")
    steps = np.diff(batch.index)
    expect(np.all(steps == 1), f"the index is not consecutive: steps {sorted(set(steps))}")
    per_sample = float(batch.machine_time_us[-1] - batch.machine_time_us[0]) / (len(batch) - 1)
    expected = 1e6 / rate
    expect(
        abs(per_sample - expected) <= 0.02 * expected,
        f"{per_sample:.1f} us of machine time per sample, not {expected:.1f} (RATE {rate:g})",
    )
    late = [u for u in after if u.at - after[0].at > 0.05] if after else []
    expect(not late, f"{len(late)} !M lines came more than 50 ms after MEAS:STR OFF's OK")
    return f"{len(lines)} lines in 0.5 s, {per_sample:.0f} us apart"


# -- 3: tags, answers, the error queue -----------------------------------------------------------


@check("3.4", 'SYST:ERR? on an empty queue answers 0,"No error"')
def empty_queue(bench: ScpiBench) -> None:
    bench.drain_errors()
    error = bench.next_error()
    expect(error.code == 0, f"SYST:ERR? answered {error} after the queue was emptied")


@check("3.1", "the answer carries the tag exactly as written (#0007)")
def tag_as_written(bench: ScpiBench) -> None:
    tag = f"{int(bench.next_tag()) % 1000:04d}"  # leading zeros, and not a tag used lately
    bench.command(wire.OUTPUT_QUERY, tag)
    got = bench.wait(lambda line: line.startswith("#"), ANSWER_WAIT_S)
    expect(got is not None, f"no answer to '#{tag} OUTP?'")
    expect(got.item == f"#{tag} OFF", f"'#{tag} OUTP?' answered {got.item!r}, not '#{tag} OFF'")


@check("3.1", "tags 0 and 9999 are answered")
def tag_range(bench: ScpiBench) -> None:
    for tag in ("9999", "0"):
        reply = bench.ask(wire.KEEPALIVE, tag)
        expect(reply.ok, f"'#{tag} SYST:HEART' answered {_said(reply)}")


@check("3.1", "every command is answered exactly once, in the order received, refusals too")
def answered_once_in_order(bench: ScpiBench) -> None:
    # Refused commands among accepted ones, all in one write: each answered in its turn.
    texts = [
        wire.KEEPALIVE,
        "FOO:BAR",
        wire.OUTPUT_QUERY,
        "SOUR:FREQ ten",
        wire.KEEPALIVE,
        "SOUR:CURR 1000.5",
        wire.OUTPUT_QUERY,
    ]
    tags = [bench.next_tag() for _ in texts]
    bench.link.write(b"".join(wire.seal(f"#{t} {x}") for t, x in zip(tags, texts, strict=True)))

    def answered(received: list[Received[str]]) -> list[str]:
        return [u.item.split(" ", 1)[0][1:] for u in received if u.item.startswith("#")]

    got = bench.collect_until(lambda r: len(answered(r)) >= len(tags), ANSWER_WAIT_S, 0.1)
    answers = answered(got)
    expect(answers == tags, f"answers under tags {answers}, sent {tags}")


def _refusal(bench: ScpiBench, text: str, code: int) -> str:
    reply = bench.refused(text, code)
    return f'ERR {reply.error_code},"{reply.error_text}"'


@check("6", "unknown header: ERR -113")
def unknown_header(bench: ScpiBench) -> str:
    return _refusal(bench, "FOO:BAR", ErrorCode.UNDEFINED_HEADER)


@check("6", "missing argument: ERR -109")
def missing_argument(bench: ScpiBench) -> str:
    return _refusal(bench, "SOUR:CURR", ErrorCode.MISSING_PARAMETER)


@check("6", "argument to a command that takes none: ERR -108")
def argument_not_allowed(bench: ScpiBench) -> str:
    return _refusal(bench, "SYST:HEART 1", ErrorCode.PARAMETER_NOT_ALLOWED)


@check("6", "not a number: ERR -104")
def not_a_number(bench: ScpiBench) -> str:
    return _refusal(bench, "SOUR:FREQ ten", ErrorCode.DATA_TYPE_ERROR)


@check("6", "not one of the choices: ERR -224")
def not_a_choice(bench: ScpiBench) -> str:
    return _refusal(bench, "SOUR:FUNC TRI", ErrorCode.ILLEGAL_PARAMETER_VALUE)


@check("4", "outside the protocol's range: ERR -222 (SOUR:FREQ 2000, SOUR:CURR 1000.5)")
def out_of_protocol_range(bench: ScpiBench) -> str:
    _refusal(bench, "SOUR:FREQ 2000", ErrorCode.DATA_OUT_OF_RANGE)
    _refusal(bench, "SOUR:POL:INT 0.1", ErrorCode.DATA_OUT_OF_RANGE)
    return _refusal(bench, "SOUR:CURR 1000.5", ErrorCode.DATA_OUT_OF_RANGE)


@check("4.3", "a set point above the machine's maximum: ERR -222, not clipped")
def above_machine_maximum(bench: ScpiBench) -> str:
    caps = bench.capabilities
    above = min(caps.current_ua[1] + caps.current_step_ua, 1000.5)
    return _refusal(bench, f"SOUR:CURR {wire.format_number(above)}", ErrorCode.DATA_OUT_OF_RANGE)


@check("8.2", "OUTP ON with a set point other than 0: ERR -221, the output stays off")
def output_on_needs_zero(bench: ScpiBench) -> str:
    bench.configure()
    with bench.output_guard():  # should the machine turn on after all: minimum current, at once off
        bench.ok(f"SOUR:CURR {wire.format_number(bench.lowest_current())}")
        said = _refusal(bench, wire.OUTPUT_ON, ErrorCode.SETTINGS_CONFLICT)
        reply = bench.ask(wire.OUTPUT_QUERY)
        expect(reply.value == "OFF", f"OUTP? answered {_said(reply)} after the refusal")
    bench.ok("SOUR:CURR 0")
    return said


@check("3.4", "errors answered under a tag are not queued")
def answered_errors_not_queued(bench: ScpiBench) -> None:
    bench.drain_errors()
    bench.refused("FOO:BAR", ErrorCode.UNDEFINED_HEADER)
    error = bench.next_error()
    expect(error.code == 0, f"SYST:ERR? answered {error} after an answered -113")


@check("3.1", "a line without a readable tag is not answered; -100 is queued")
def untagged_queues_minus_100(bench: ScpiBench) -> str:
    bench.drain_errors()
    for body in ("SYST:HEART", "#12345 OUTP?", "# 5 OUTP?"):
        bench.send(body)
        answers = [u.item for u in bench.collect(SILENCE_WAIT_S) if u.item.startswith("#")]
        expect(not answers, f"{body!r} was answered: {answers[:1]}")
        error = bench.next_error()
        expect(error.code == -100, f"after {body!r} SYST:ERR? answered {error}, not -100")
    return "SYST:HEART, #12345 OUTP?, # 5 OUTP?"


@check("3.2", "a repeated tag and text is answered again, not executed again")
def repeat_not_executed(bench: ScpiBench) -> None:
    bench.drain_errors()
    bench.send("SYST:HEART")  # two -100 entries in the queue
    bench.send("SYST:HEART")
    bench.pump(0.1)
    tag = bench.next_tag()
    first = bench.ask(wire.ERROR_QUERY, tag)
    again = bench.ask(wire.ERROR_QUERY, tag)  # the console's retry: same tag, same bytes
    expect(again == first, f"the repeat answered {_said(again)}, the first {_said(first)}")
    second = bench.next_error()
    expect(second.code == -100, f"the repeat took an entry from the queue: next is {second}")
    last = bench.next_error()
    expect(last.code == 0, f"the queue should now be empty, SYST:ERR? answered {last}")


@check("3.2", "OUTP OFF repeated under the same tag is carried out every time")
def output_off_repeated(bench: ScpiBench) -> str:
    tag = bench.next_tag()
    with bench.output_guard():
        reply = bench.ask(wire.OUTPUT_OFF, tag)
        expect(reply.ok and reply.value is None, f"'#{tag} OUTP OFF' answered {_said(reply)}")
        bench.ok("SOUR:CURR 0")
        bench.configure()
        bench.ok(wire.OUTPUT_ON)
        on_at = bench.link.last_sent_at()
        bench.ok(f"SOUR:CURR {wire.format_number(bench.lowest_current())}")
        # The same bytes again within the second a repeat is remembered: a retry to any other
        # command, but OUTP OFF must turn the output off all the same. Its answer is waited
        # for only until the output has been on MAX_ON_S (then the guard turns it off).
        bench.command(wire.OUTPUT_OFF, tag)
        line = bench.answer(tag, max(on_at + MAX_ON_S - time.monotonic(), 0.0))
        expect(line == f"#{tag} OK", f"the repeated '#{tag} OUTP OFF' answered {line!r}, not OK")
        state = bench.ask(wire.OUTPUT_QUERY)
        expect(
            state.value == "OFF",
            f"OUTP? answered {_said(state)} after the repeated '#{tag} OUTP OFF': it was taken "
            "for a retry and not carried out",
        )
    bench.ok("SOUR:CURR 0")
    return f"'#{tag} OUTP OFF' twice, the output off after the second"


# -- 2: malformed lines -------------------------------------------------------------------------


def _dropped(bench: ScpiBench, raw: bytes, tag: str) -> None:
    """``raw`` (meant as ``#tag ...``) is not answered; the next good line is."""
    bench.link.write(raw)
    good = bench.next_tag()
    bench.send(f"#{good} {wire.KEEPALIVE}")
    answered = [u.item for u in bench.collect(SILENCE_WAIT_S) if u.item.startswith("#")]
    bad = [line for line in answered if line.startswith(f"#{tag} ")]
    expect(not bad, f"the dropped line was answered: {bad[:1]}")
    expect(f"#{good} OK" in answered, f"the next line '#{good} SYST:HEART' was not answered OK")


def _line(body: str, checksum: str | None = None, end: bytes = b"\n") -> bytes:
    raw = body.encode("latin-1")
    digits = checksum if checksum is not None else f"{wire.checksum(raw):02X}"
    return raw + b"*" + digits.encode() + end


@check("2.3", "a wrong checksum: dropped, not answered")
def wrong_checksum(bench: ScpiBench) -> None:
    tag = bench.next_tag()
    body = f"#{tag} OUTP?"
    wrong = f"{wire.checksum(body.encode()) ^ 0x01:02X}"
    _dropped(bench, _line(body, wrong), tag)


@check("2.3", "checksum digits in lower case: dropped")
def lower_case_checksum(bench: ScpiBench) -> None:
    # A checksum of digits only reads the same in either case: take the next tag until it has
    # a letter (a trailing space is no help: "q" and "Q" can both give digits, 0x71 and 0x51).
    while True:
        tag = bench.next_tag()
        body = f"#{tag} SYST:HEART"
        digits = f"{wire.checksum(body.encode()):02x}"
        if digits != digits.upper():
            break
    _dropped(bench, _line(body, digits), tag)


@check("2.3", "a byte that is not printable ASCII: dropped")
def not_printable(bench: ScpiBench) -> None:
    tag = bench.next_tag()
    _dropped(bench, _line(f"#{tag} OUTP?\x01"), tag)


@check("2.1", "a '*' inside the body: dropped")
def star_in_body(bench: ScpiBench) -> None:
    tag = bench.next_tag()
    _dropped(bench, _line(f"#{tag} SOUR:CURR 1*2"), tag)


@check("2.3", "a body over 251 characters: dropped, not queued")
def body_too_long(bench: ScpiBench) -> None:
    bench.drain_errors()
    tag = bench.next_tag()
    head = f"#{tag} SYST:HEART "
    _dropped(bench, _line(head + "X" * (wire.MAX_BODY_BYTES + 1 - len(head))), tag)
    error = bench.next_error()
    expect(error.code == 0, f"SYST:ERR? answered {error} after a dropped line")


@check("2.3", "garbage is dropped and the next line is read")
def garbage(bench: ScpiBench) -> None:
    noise = bytes(range(0x80, 0x100)) + b"\x00\x07#*" + bytes(range(0x0B, 0x20))
    _dropped(bench, noise + b"\n", "garbage")


@check("2.1", "one CR before the LF is accepted")
def cr_before_lf(bench: ScpiBench) -> None:
    tag = bench.next_tag()
    bench.link.write(_line(f"#{tag} {wire.KEEPALIVE}", end=b"\r\n"))
    line = bench.answer(tag)
    expect(line == f"#{tag} OK", f"a line ending CR LF answered {line!r}, not '#{tag} OK'")


@check("5.4", "a line over 256 bytes: dropped, !ERR -363 sent and queued")
def overlong_line(bench: ScpiBench) -> None:
    bench.drain_errors()
    tag = bench.next_tag()
    bench.link.write(f"#{tag} ".encode() + b"X" * 300 + b"\n")
    good = bench.next_tag()
    bench.send(f"#{good} {wire.KEEPALIVE}")
    lines = [u.item for u in bench.collect(0.5)]
    expect(not [x for x in lines if x.startswith(f"#{tag} ")], "the overlong line was answered")
    expect(f"#{good} OK" in lines, "the line after the overlong one was not answered OK")
    announced = [x for x in lines if x.startswith("!ERR ")]
    expect(
        any(wire.parse_async_error(x).code == -363 for x in announced),
        f"no !ERR -363 within 0.5 s (got {announced or 'no !ERR'})",
    )
    error = bench.next_error()
    expect(error.code == -363, f"SYST:ERR? answered {error}, not -363")


# -- 7: timing -------------------------------------------------------------------------------------


@check("7", "answers within 100 ms (median of 10; none later than the console's 400 ms)")
def answer_time(bench: ScpiBench) -> str:
    delays = []
    for _ in range(10):
        tag = bench.command(wire.KEEPALIVE)
        sent = bench.link.last_sent_at()
        got = bench.wait(lambda line, tag=tag: line.startswith(f"#{tag} "), 0.5)
        expect(got is not None, f"'#{tag} SYST:HEART' not answered within 400 ms")
        delays.append(got.at - sent)
    median, longest = float(np.median(delays)) * 1000, max(delays) * 1000
    expect(median <= 100, f"answers take {median:.0f} ms (median), not at most 100")
    expect(longest <= 400, f"an answer took {longest:.0f} ms: the console gives up at 400")
    return f"median {median:.0f} ms, longest {longest:.0f} ms"


# -- 8: safety ---------------------------------------------------------------------------------------


def _turn_on_at_minimum(bench: ScpiBench) -> float:
    """Output on, then the minimum current (the machine's own rule: on at 0, then raise); returns
    when the output was turned on."""
    bench.ok(wire.OUTPUT_OFF)
    bench.ok("SOUR:CURR 0")
    bench.configure()
    bench.ok(wire.OUTPUT_ON)
    on_at = bench.link.last_sent_at()
    bench.ok(f"SOUR:CURR {wire.format_number(bench.lowest_current())}")
    return on_at


def _first_off(bench: ScpiBench, deadline: float) -> tuple[float, wire.Heartbeat] | None:
    """The first ``!HB`` showing the output off before ``deadline``; other lines stay in view."""
    seen: list = []
    while time.monotonic() < deadline:
        bench.pump(0.02)
        seen += bench.inbox
        bench.inbox = []
        for at, beat in bench.heartbeats(seen):
            if not beat.output_on:
                bench.inbox = seen
                return at, beat
    bench.inbox = seen
    return None


@check("8.3", "500 ms without a command: output off, WATCHDOG, !ERR 303; OUTP OFF clears it")
def keepalive_watchdog(bench: ScpiBench) -> str:
    bench.drain_errors()
    with bench.output_guard():
        on_at = _turn_on_at_minimum(bench)
        quiet_from = bench.link.last_sent_at()  # the last command line: silence from here
        off = _first_off(bench, on_at + MAX_ON_S)
        if off is None:
            bench.stop_output()
            raise CheckError(
                f"the output was still on {MAX_ON_S * 1000:.0f} ms after it was turned on "
                f"({(time.monotonic() - quiet_from) * 1000:.0f} ms of silence); the checker "
                "turned it off"
            )
        at, beat = off
        silence_ms = (at - quiet_from) * 1000
        expect(silence_ms >= 450, f"the output went off after {silence_ms:.0f} ms, before 500")
        expect(beat.faults & Fault.WATCHDOG, f"!HB shows OFF with flags {int(beat.faults)}, no 8")
        lines = [u.item for u in bench.collect(0.2)]
        announced = [wire.parse_async_error(x).code for x in lines if x.startswith("!ERR ")]
        expect(303 in announced, f"no !ERR 303 (announced: {announced})")
        refused = bench.ask(wire.OUTPUT_ON)
        expect(
            not refused.ok and refused.error_code == 303,
            f"OUTP ON while latched answered {_said(refused)}, not ERR 303",
        )
        queued = bench.next_error()
        expect(queued.code == 303, f"SYST:ERR? answered {queued}, not the queued 303")
        tag = bench.command(wire.OUTPUT_OFF)
        expect(bench.answer(tag) == f"#{tag} OK", "OUTP OFF was not answered OK")
        beats = bench.heartbeats(bench.collect(0.25))
        expect(beats, "no !HB within 250 ms of OUTP OFF")
        expect(not beats[-1][1].faults & Fault.WATCHDOG, "WATCHDOG still set after OUTP OFF's OK")
    return f"off after {silence_ms:.0f} ms of silence"


@check("8.1", "close and reopen: !HELLO within 2 s, output off, no latch, empty queue")
def reconnect(bench: ScpiBench) -> str:
    bench.send("SYST:HEART")  # untagged: a -100 in the queue, which the port open must empty
    with bench.output_guard():
        on_at = _turn_on_at_minimum(bench)
        opened = bench.reconnect(0.25)
        hello_at, state, stopped = None, None, False
        while time.monotonic() < opened + wire.HELLO_TIMEOUT_S and state is None:
            if not stopped and time.monotonic() > on_at + MAX_ON_S:
                stopped = bench.stop_output()  # the output may still be on: not any longer
            bench.pump(0.02)
            for unit in bench.collect(0.0):
                if unit.item.startswith("!HELLO") and hello_at is None:
                    hello_at = unit.at
                elif hello_at is not None and unit.item.startswith("!HB "):
                    state = wire.parse_heartbeat(unit.item)
                    break
    expect(hello_at is not None, "no !HELLO within 2 s of reopening the port")
    expect(state is not None, "no !HB after the !HELLO")
    expect(not stopped, "the checker had to turn the output off: the port open did not")
    expect(not state.output_on, "the first !HB after the hello shows the output ON")
    latched = state.faults & (Fault.WATCHDOG | Fault.OVER_CURRENT_TRIP)
    expect(not latched, f"the first !HB after the hello shows latched flags {int(latched)}")
    reply = bench.ask(wire.OUTPUT_QUERY)
    expect(reply.value == "OFF", f"OUTP? answered {_said(reply)} after reopening")
    error = bench.next_error()
    expect(error.code == 0, f"the error queue was not emptied by the port open: {error}")
    return f"hello {(hello_at - opened) * 1000:.0f} ms after reopening"
