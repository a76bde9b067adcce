"""The framed binary machine's checks, section by section of ``docs/protocols/framed.md``.

Frames are built and read with :mod:`device_drivers.framed_protocol` (``encode_frame``,
``FrameDecoder``, ``pack_*``/``unpack_*``); malformed frames are built by hand from the same
COBS and CRC. The output is turned on at 0 µA in the command checks, and at the machine's
minimum current for well under a second in the watchdog and reconnect checks; it is turned off
again whatever happens.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
from cobs import cobs

from console.api import Capabilities, Polarity, Waveform, WaveShape
from device_drivers import framed_protocol as fp
from device_drivers.crc16 import crc16_ccitt
from device_drivers.framed_protocol import FaultFlag, Frame, FrameType, NackReason
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

#: How long a functional check waits for an answer (the spec's 20 ms is checked in section 6).
ANSWER_WAIT_S = 1.0
#: How long "no answer" is listened for: ten times the spec's answer time.
SILENCE_WAIT_S = 0.2
#: The output is never on longer than this: the safety stop goes out by then.
MAX_ON_S = 0.9
_ANSWERS = (FrameType.ACK, FrameType.NACK)


class FramedBench(Bench[Frame]):
    """The console's end of a framed machine: commands out, checked frames in."""

    protocol = "framed"
    spec = "docs/protocols/framed.md"

    def __init__(self, link: Link) -> None:
        super().__init__(link)
        self.decoder = fp.FrameDecoder()
        self.seq = 0
        self._last_command_seq = -1
        self.caps: Capabilities | None = None

    # -- Bench -----------------------------------------------------------------------------------

    def decode(self, data: bytes) -> list[Frame]:
        return self.decoder.feed(data)

    def reset_decoder(self) -> None:
        self.decoder.reset()

    def output_off_bytes(self) -> bytes:
        return fp.encode_frame(Frame(FrameType.OUTPUT_OFF, self.next_seq()))

    def describe(self, events: list[Event]) -> list[str]:
        return describe_frames(events)

    # -- commands --------------------------------------------------------------------------------

    def next_seq(self) -> int:
        """The next seq, skipping the previous command's (section 6: seq alone is no retry)."""
        self.seq = (self.seq + 1) % 256
        if self.seq == self._last_command_seq:
            self.seq = (self.seq + 1) % 256
        return self.seq

    def send(self, frame_type: int, payload: bytes = b"", seq: int | None = None) -> int:
        """One frame (any type byte, so unknown types too); returns its seq."""
        seq = self.next_seq() if seq is None else seq
        if frame_type != FrameType.HEARTBEAT_REQUEST:
            self._last_command_seq = seq
        self.link.write(raw_frame(frame_type, seq, payload))
        return seq

    def send_together(self, frames: list[tuple[int, bytes]]) -> list[int]:
        """``(type, payload)`` frames in one write, so they arrive together; returns the seqs."""
        seqs = [self.next_seq() for _ in frames]
        self.link.write(
            b"".join(
                raw_frame(frame_type, seq, payload)
                for (frame_type, payload), seq in zip(frames, seqs, strict=True)
            )
        )
        self._last_command_seq = seqs[-1]
        return seqs

    def answer(self, seq: int, timeout: float = ANSWER_WAIT_S) -> Frame | None:
        """The ACK or NACK of ``seq``, or None."""
        got = self.wait(lambda f: f.type in _ANSWERS and f.seq == seq, timeout)
        return None if got is None else got.item

    def command(self, frame_type: int, payload: bytes = b"", seq: int | None = None) -> Frame:
        """Send a command, return its ACK or NACK (fails the check if neither comes)."""
        seq = self.send(frame_type, payload, seq)
        answer = self.answer(seq)
        expect(answer is not None, f"no ACK/NACK for {_name(frame_type)} seq {seq}")
        return answer

    def acked(self, frame_type: int, payload: bytes = b"") -> None:
        """Send a command that must be ACKed (with its seq in the payload too)."""
        answer = self.command(frame_type, payload)
        expect(
            answer.type is FrameType.ACK,
            f"{_name(frame_type)} answered {_said(answer)}, not ACK",
        )
        expect(
            answer.payload == bytes([answer.seq]),
            f"ACK payload {answer.payload.hex(' ')} is not its seq",
        )

    def nacked(self, frame_type: int, payload: bytes, reason: NackReason) -> str:
        """Send a command that must be NACKed for ``reason``; returns the NACK as said."""
        answer = self.command(frame_type, payload)
        expect(
            answer.type is FrameType.NACK and fp.unpack_nack(answer.payload).reason == reason,
            f"{_name(frame_type)} {payload.hex(' ')} answered {_said(answer)}, not NACK "
            f"{reason.name}",
        )
        nack = fp.unpack_nack(answer.payload)
        expect(nack.seq == answer.seq, f"NACK payload seq {nack.seq}, header seq {answer.seq}")
        return _said(answer)

    def reply(self, frame_type: int, reply_type: FrameType) -> Frame:
        """A query's reply (with the command's seq), which the ACK must follow at once."""
        seq = self.send(frame_type)
        got = self.wait(lambda f: f.seq == seq and f.type not in _UNSOLICITED, ANSWER_WAIT_S)
        expect(got is not None, f"no answer to {_name(frame_type)} seq {seq}")
        expect(
            got.item.type is reply_type,
            f"{_name(frame_type)} seq {seq} answered {_said(got.item)}, not {reply_type.name}",
        )
        self.pump(0.0)
        following = self.wait(lambda f: True, ANSWER_WAIT_S)
        expect(following is not None, f"no ACK after the {reply_type.name}")
        ack = following.item
        expect(
            ack.type is FrameType.ACK and ack.seq == seq and ack.payload == bytes([seq]),
            f"the {reply_type.name} is followed by {_said(ack)}, not ACK seq {seq}",
        )
        return got.item

    def status(self) -> fp.Status:
        """STATUS in answer to HEARTBEAT_REQUEST."""
        frame = self.reply(FrameType.HEARTBEAT_REQUEST, FrameType.STATUS)
        try:
            return fp.unpack_status(frame.payload)
        except fp.PayloadError as error:
            raise CheckError(f"STATUS {frame.payload.hex(' ')}: {error}") from None

    # -- the machine's capabilities --------------------------------------------------------------

    @property
    def capabilities(self) -> Capabilities:
        if self.caps is None:
            raise AbortError("the capabilities are unknown (GET_CAPABILITIES failed)")
        return self.caps

    def lowest_current(self) -> float:
        """The machine's minimum current: the only one the checker turns the output on at."""
        low, _ = self.capabilities.current_ua
        return low if low > 0 else self.capabilities.current_step_ua

    def waveform(self, polarity: Polarity | None = None, reversal_s: float = 2.0) -> bytes:
        """A SET_WAVEFORM payload the machine states it can do."""
        caps = self.capabilities
        shape = next(s for s in WaveShape if s in caps.waveforms)
        if polarity is None:
            polarity = next(p for p in Polarity if p in caps.polarities)
        low, high = caps.frequency_hz
        frequency = min(max(10.0, low), high)
        return fp.pack_waveform(Waveform(shape, frequency, 0.0, polarity, reversal_s))

    def heartbeats(self, received: list[Received[Frame]]) -> list[tuple[float, fp.Heartbeat]]:
        """The HEARTBEAT frames among ``received``, parsed, with their arrival times."""
        beats = []
        for unit in received:
            if unit.item.type is FrameType.HEARTBEAT:
                try:
                    beats.append((unit.at, fp.unpack_heartbeat(unit.item.payload)))
                except fp.PayloadError as error:
                    raise CheckError(f"HEARTBEAT {unit.item.payload.hex(' ')}: {error}") from None
        return beats


_DELIMITER = b"\x00"
_UNSOLICITED = (FrameType.HELLO, FrameType.SAMPLES, FrameType.HEARTBEAT, FrameType.ERROR)


def raw_frame(frame_type: int, seq: int, payload: bytes = b"", crc_xor: int = 0) -> bytes:
    """A frame of any type byte (unknown ones too), its CRC XORed with ``crc_xor`` to break it."""
    head = bytes((frame_type, seq)) + payload
    crc = crc16_ccitt(head) ^ crc_xor
    return cobs.encode(head + crc.to_bytes(2, "little")) + b"\x00"


def _name(frame_type: int) -> str:
    try:
        return FrameType(frame_type).name
    except ValueError:
        return f"type 0x{frame_type:02x}"


def _said(frame: Frame) -> str:
    """A frame as the report says it: its type, seq and what its payload means."""
    if frame.type is FrameType.NACK:
        try:
            nack = fp.unpack_nack(frame.payload)
            reason = nack.reason.name if isinstance(nack.reason, NackReason) else nack.reason
            return f"NACK seq {frame.seq} {reason} {nack.text!r}"
        except fp.PayloadError:
            pass
    return f"{frame.type.name} seq {frame.seq} [{frame.payload[:24].hex(' ')}]"


# -- transcript -------------------------------------------------------------------------------


def describe_frames(events: list[Event]) -> list[str]:
    """The traffic as frames in hex, delimiter included, each with what it is; runs of SAMPLES
    frames are counted, not listed, and long runs of bytes are cut."""
    out: list[str] = []
    partial = {True: b"", False: b""}
    samples = 0
    start = events[0].at if events else 0.0
    for event in events:
        *runs, partial[event.sent] = (partial[event.sent] + event.data).split(b"\x00")
        ms = round((event.at - start) * 1000)
        for run in runs:
            label = _label(run)
            if not event.sent and label.startswith("SAMPLES"):
                samples += 1
                continue
            if samples:
                out.append(f"+{ms} ms < ({samples} SAMPLES frames)")
                samples = 0
            wire_bytes = _hex(run + _DELIMITER)
            out.append(f"+{ms} ms {'>' if event.sent else '<'} {wire_bytes}  {label}")
    if samples:
        out.append(f"< ({samples} SAMPLES frames)")
    for sent, rest in partial.items():
        if rest:
            out.append(f"{'>' if sent else '<'} {_hex(rest)}  (no 0x00 yet)")
    return out


def _label(run: bytes) -> str:
    if not run:
        return "(empty: a flush)"
    try:
        frame = fp.decode_frame(run)
    except fp.FrameError as error:
        return str(error)
    return _said(frame)


def _hex(data: bytes, limit: int = 40) -> str:
    shown = data[:limit].hex(" ")
    return shown + (f" ... ({len(data)} bytes)" if len(data) > limit else "")


# -- 7 and 5: the handshake -----------------------------------------------------------------------


@check("7", "HELLO (version 1) within 2 s of the port opening")
def hello_after_opening(bench: FramedBench) -> str:
    bench.link.write(b"\x00")  # section 7: the console MAY flush the machine's receiver
    left = bench.link.opened_at + fp.HELLO_TIMEOUT_S - time.monotonic()
    got = bench.wait(lambda f: f.type is FrameType.HELLO, max(left, 0.0))
    expect(got is not None, "no HELLO within 2 s of opening the port")
    payload = got.item.payload
    expect(len(payload) == 2, f"HELLO payload is {len(payload)} bytes, not 2")
    expect(payload[0] == fp.PROTOCOL_VERSION, f"protocol version {payload[0]}, not 1")
    expect(not payload[1] & 0xFE, f"reserved HELLO flag bits set: 0x{payload[1]:02x}")
    after = (got.at - bench.link.opened_at) * 1000
    return f"{after:.0f} ms after opening ({'emulator' if payload[1] & 1 else 'real machine'})"


@check("7", "OUTPUT_OFF, the connect sequence's first command, is ACKed")
def output_off_first(bench: FramedBench) -> None:
    seq = bench.send(FrameType.OUTPUT_OFF)
    answer = bench.answer(seq, 2 * ANSWER_WAIT_S)
    if answer is None:
        raise AbortError(f"no answer to OUTPUT_OFF seq {seq}: the machine does not answer")
    expect(answer.type is FrameType.ACK, f"OUTPUT_OFF answered {_said(answer)}")


@check("5", "IDENTIFY: IDENTITY (three fields) with the command's seq, then its ACK")
def identify(bench: FramedBench) -> str:
    frame = bench.reply(FrameType.IDENTIFY, FrameType.IDENTITY)
    try:
        identity = fp.unpack_identity(frame.payload)
    except fp.PayloadError as error:
        raise CheckError(str(error)) from None
    return f"{identity.model} / {identity.serial} / {identity.firmware}"


@check("5", "GET_CAPABILITIES: 22 bytes within the hard limits, then its ACK")
def capabilities(bench: FramedBench) -> str:
    frame = bench.reply(FrameType.GET_CAPABILITIES, FrameType.CAPABILITIES)
    try:
        caps = fp.unpack_capabilities(frame.payload)
    except fp.PayloadError as error:
        raise AbortError(f"CAPABILITIES {frame.payload.hex(' ')}: {error}") from None
    if caps.current_ua[1] > 1000:
        raise AbortError(f"current_max {caps.current_ua[1]:g} uA is above the 1000 uA hard limit")
    bench.caps = caps
    (i_low, i_high), (f_low, f_high) = caps.current_ua, caps.frequency_hz
    return (
        f"{i_low:g}-{i_high:g} uA step {caps.current_step_ua:g}, {f_low:g}-{f_high:g} Hz, "
        f"{caps.sample_rate_hz:g} S/s, {caps.compliance_v:g} V"
    )


@check("5", "OUTPUT_ON before any SET_WAVEFORM since the port opened: NACK BUSY")
def output_on_before_waveform(bench: FramedBench) -> str:
    with bench.output_guard():  # the amplitude is 0 after a port open: on at most at 0 uA
        return bench.nacked(FrameType.OUTPUT_ON, b"", NackReason.BUSY)


@check("5", "HEARTBEAT every 100 ms, 11 bytes, output off, defined flags only")
def heartbeats(bench: FramedBench) -> str:
    beats = bench.heartbeats(bench.collect(1.05))
    expect(len(beats) >= 8, f"{len(beats)} HEARTBEATs in 1.05 s, not about 10")
    times = np.array([beat.machine_time_us for _, beat in beats])
    expect(np.all(np.diff(times) > 0), f"machine time does not increase: {times.tolist()}")
    mean_ms = float(np.mean(np.diff(times))) / 1000
    expect(90 <= mean_ms <= 110, f"HEARTBEAT every {mean_ms:.1f} ms of machine time, not 100")
    flags = {beat.faults for _, beat in beats}
    expect(all(f < 16 for f in flags), f"reserved fault bits set: {sorted(flags)}")
    expect(not any(beat.output_on for _, beat in beats), "HEARTBEAT says on; the output is off")
    return f"{len(beats)} beats, {mean_ms:.1f} ms apart (machine time)"


@check("5", "SAMPLES stream continuously: consecutive first_index, t0 at the stated rate")
def samples(bench: FramedBench) -> str:
    rate = bench.capabilities.sample_rate_hz
    frames = [u for u in bench.collect(0.6) if u.item.type is FrameType.SAMPLES]
    expect(len(frames) >= 3, f"{len(frames)} SAMPLES frames in 0.6 s")
    try:
        batches = [fp.unpack_samples(u.item.payload) for u in frames]
    except fp.PayloadError as error:
        raise CheckError(f"SAMPLES: {error}") from None
    for before, after in itertools.pairwise(batches):
        expect(
            after.first_index == (before.first_index + len(before)) % 2**32,
            f"first_index {after.first_index} after {before.first_index} + {len(before)}",
        )
        expect(
            abs(after.t0_us - before.t0_us - len(before) * 1e6 / before.rate_hz) <= 1,
            f"t0 {after.t0_us} after {before.t0_us} + {len(before)} samples",
        )
    expect(all(b.rate_hz == rate for b in batches), f"rate_hz is not the stated {rate:g}")
    gaps = np.diff([u.at for u in frames])
    mean_ms = float(np.mean(gaps)) * 1000
    expect(mean_ms <= 20, f"SAMPLES frames {mean_ms:.0f} ms apart on average, not at most 20")
    return f"{sum(map(len, batches))} samples in {len(frames)} frames, {mean_ms:.1f} ms apart"


# -- 5: each command with a valid payload ----------------------------------------------------------


@check("5", "HEARTBEAT_REQUEST: STATUS (13 bytes) with the command's seq, then its ACK")
def status(bench: FramedBench) -> str:
    state = bench.status()
    expect(not state.output_on, "STATUS says the output is on")
    return f"output off, faults {state.faults}, amplitude {state.amplitude_ua:g} uA"


@check("5", "SET_WAVEFORM and SET_AMPLITUDE with valid payloads are ACKed and applied")
def settings(bench: FramedBench) -> str:
    bench.acked(FrameType.SET_WAVEFORM, bench.waveform())
    if Polarity.ALTERNATING in bench.capabilities.polarities:
        bench.acked(FrameType.SET_WAVEFORM, bench.waveform(Polarity.ALTERNATING, 0.5))
    low = bench.lowest_current()
    for current in (0.0, low, 0.0):
        bench.acked(FrameType.SET_AMPLITUDE, fp.pack_amplitude(current))
        shown = bench.status().amplitude_ua
        expect(shown == current, f"STATUS shows {shown:g} uA after SET_AMPLITUDE {current:g}")
    return f"amplitudes 0, {low:g}, 0 uA"


@check("5", "OUTPUT_ON (at 0 uA) is ACKed, also when on; OUTPUT_OFF turns it off")
def output_on_and_off(bench: FramedBench) -> None:
    with bench.output_guard():
        bench.acked(FrameType.SET_AMPLITUDE, fp.pack_amplitude(0.0))
        bench.acked(FrameType.SET_WAVEFORM, bench.waveform())
        bench.acked(FrameType.OUTPUT_ON)
        bench.acked(FrameType.OUTPUT_ON)
        expect(bench.status().output_on, "STATUS says off after OUTPUT_ON's ACK")
        bench.acked(FrameType.OUTPUT_OFF)
        state = bench.status()
        expect(not state.output_on, "STATUS says on after OUTPUT_OFF's ACK")


@check("8.7", "OUTPUT_OFF with a payload is still carried out and ACKed")
def output_off_with_payload(bench: FramedBench) -> None:
    bench.acked(FrameType.OUTPUT_OFF, b"\xde\xad")


# -- 3, 5, 9: NACK reasons --------------------------------------------------------------------------


@check("3", "a valid frame of an unknown type: NACK UNKNOWN_COMMAND")
def unknown_type(bench: FramedBench) -> str:
    return bench.nacked(0x7E, b"", NackReason.UNKNOWN_COMMAND)


@check("9", "a machine -> console type sent to the machine: NACK UNKNOWN_COMMAND")
def machine_type_to_machine(bench: FramedBench) -> str:
    for frame_type in (FrameType.ACK, FrameType.SAMPLES, FrameType.HELLO):
        said = bench.nacked(frame_type, b"\x01", NackReason.UNKNOWN_COMMAND)
    return said


@check("5", "a payload on a command without one: NACK BAD_PAYLOAD")
def payload_on_payloadless(bench: FramedBench) -> str:
    bench.acked(FrameType.SET_AMPLITUDE, fp.pack_amplitude(0.0))
    with bench.output_guard():  # OUTPUT_ON among them: at 0 uA, should it be carried out
        for frame_type in (
            FrameType.IDENTIFY,
            FrameType.GET_CAPABILITIES,
            FrameType.OUTPUT_ON,
            FrameType.HEARTBEAT_REQUEST,
        ):
            said = bench.nacked(frame_type, b"\x00\x01", NackReason.BAD_PAYLOAD)
        expect(not bench.status().output_on, "the refused OUTPUT_ON turned the output on")
    return said


@check("5", "SET_WAVEFORM / SET_AMPLITUDE of the wrong length or undefined codes: BAD_PAYLOAD")
def malformed_settings(bench: FramedBench) -> str:
    good = bench.waveform()
    for payload in (good[:9], good + b"\x00", b"\x04" + good[1:], good[:5] + b"\x03" + good[6:]):
        bench.nacked(FrameType.SET_WAVEFORM, payload, NackReason.BAD_PAYLOAD)
    return bench.nacked(FrameType.SET_AMPLITUDE, b"\x00\x00\x00", NackReason.BAD_PAYLOAD)


@check("8.2", "settings outside the capabilities or hard limits: NACK OUT_OF_RANGE, unchanged")
def out_of_range(bench: FramedBench) -> str:
    caps = bench.capabilities
    low, step = bench.lowest_current(), caps.current_step_ua
    bench.acked(FrameType.SET_AMPLITUDE, fp.pack_amplitude(low))  # the output is off
    amplitudes = [1200.0, min(caps.current_ua[1] + step, 6553.5)]
    if step >= 0.2:
        amplitudes.append(low + round(step * 5) / 10)  # half a step (in 0.1 uA): off the step
    for current in amplitudes:
        said = bench.nacked(
            FrameType.SET_AMPLITUDE, fp.pack_amplitude(current), NackReason.OUT_OF_RANGE
        )
    shown = bench.status().amplitude_ua
    expect(shown == low, f"STATUS shows {shown:g} uA after refused amplitudes, not {low:g}")
    bench.acked(FrameType.SET_AMPLITUDE, fp.pack_amplitude(0.0))
    shape = next(s for s in WaveShape if s in caps.waveforms)
    polarity = next(p for p in Polarity if p in caps.polarities)
    for frequency in (0.05, 1000.5):
        waveform = Waveform(shape, frequency, 0.0, polarity, 2.0)
        bench.nacked(FrameType.SET_WAVEFORM, fp.pack_waveform(waveform), NackReason.OUT_OF_RANGE)
    if Polarity.ALTERNATING in caps.polarities:
        fast = Waveform(shape, 10.0, 0.0, Polarity.ALTERNATING, 0.499)
        bench.nacked(FrameType.SET_WAVEFORM, fp.pack_waveform(fast), NackReason.OUT_OF_RANGE)
    return said


# -- 6: duplicates and answer time ------------------------------------------------------------------


@check("6", "a retry (same seq and CRC) is answered again; same seq, new CRC is a new command")
def duplicates(bench: FramedBench) -> None:
    seq = bench.send(FrameType.IDENTIFY)
    expect(bench.answer(seq) is not None, "IDENTIFY not answered")
    bench.send(FrameType.IDENTIFY, seq=seq)  # the retry
    again = bench.wait(lambda f: f.seq == seq and f.type not in _UNSOLICITED, ANSWER_WAIT_S)
    expect(
        again is not None and again.item.type is FrameType.IDENTITY,
        "a retried IDENTIFY is not answered with IDENTITY again",
    )
    expect(bench.answer(seq) is not None, "a retried IDENTIFY is not ACKed again")
    low = bench.lowest_current()
    seq = bench.send(FrameType.SET_AMPLITUDE, fp.pack_amplitude(low))
    expect(bench.answer(seq) is not None, "SET_AMPLITUDE not answered")
    bench.status()  # a keep-alive in between must not hide the retry
    bench.send(FrameType.SET_AMPLITUDE, fp.pack_amplitude(low), seq=seq)
    answer = bench.answer(seq)
    expect(answer is not None and answer.type is FrameType.ACK, "the retry was not ACKed again")
    bench.send(FrameType.SET_AMPLITUDE, fp.pack_amplitude(0.0), seq=seq)  # same seq, new CRC
    answer = bench.answer(seq)
    expect(answer is not None and answer.type is FrameType.ACK, "SET_AMPLITUDE 0 not ACKed")
    shown = bench.status().amplitude_ua
    expect(shown == 0.0, f"same seq with another CRC was taken for a retry: {shown:g} uA")


@check("6", "answers in the order received, refusals among accepted commands too")
def answered_in_order(bench: FramedBench) -> None:
    # The console sends keep-alives and OUTPUT_OFF beside its commands: several frames may
    # arrive together, and each is answered in its turn, NACKs included.
    frames = [
        (FrameType.HEARTBEAT_REQUEST, b""),
        (0x7E, b""),  # an unknown type: NACK UNKNOWN_COMMAND
        (FrameType.IDENTIFY, b""),
        (FrameType.GET_CAPABILITIES, b"\x00"),  # a payload on a command without: BAD_PAYLOAD
        (FrameType.HEARTBEAT_REQUEST, b""),
        (FrameType.SET_AMPLITUDE, fp.pack_amplitude(1200.0)),  # OUT_OF_RANGE
        (FrameType.OUTPUT_OFF, b""),
    ]
    seqs = bench.send_together(frames)

    def answered(received: list[Received[Frame]]) -> list[int]:
        return [u.item.seq for u in received if u.item.type in _ANSWERS]

    got = bench.collect_until(lambda r: len(answered(r)) >= len(seqs), ANSWER_WAIT_S, 0.1)
    answers = answered(got)
    expect(answers == seqs, f"ACK/NACK seqs {answers}, sent {seqs}")


@check("6", "answers within 20 ms (median of 10; none later than the console's 400 ms)")
def answer_time(bench: FramedBench) -> str:
    delays = []
    for _ in range(10):
        seq = bench.send(FrameType.OUTPUT_OFF)
        sent = bench.link.last_sent_at()
        got = bench.wait(lambda f, seq=seq: f.type in _ANSWERS and f.seq == seq, 0.5)
        expect(got is not None, f"OUTPUT_OFF seq {seq} not answered within 400 ms")
        delays.append(got.at - sent)
    median, longest = float(np.median(delays)) * 1000, max(delays) * 1000
    expect(median <= 20, f"answers take {median:.0f} ms (median), not at most 20")
    expect(longest <= 400, f"an answer took {longest:.0f} ms: the console gives up at 400")
    return f"median {median:.1f} ms, longest {longest:.1f} ms"


# -- 3: malformed input --------------------------------------------------------------------------------


def _dropped(bench: FramedBench, bad: bytes, seq: int | None = None) -> None:
    """``bad`` gets no ACK/NACK (for ``seq``, or at all); the next frame is answered."""
    bench.link.write(bad)
    bench.pump(SILENCE_WAIT_S)
    answers = [u.item for u in bench.collect(0.0) if u.item.type in _ANSWERS]
    if seq is not None:
        answers = [f for f in answers if f.seq == seq]
    expect(not answers, f"dropped input was answered: {[_said(f) for f in answers]}")
    after = bench.command(FrameType.HEARTBEAT_REQUEST)
    expect(after.type is FrameType.ACK, f"the next frame was answered {_said(after)}")


@check("3", "empty runs (0x00 0x00) are ignored")
def empty_runs(bench: FramedBench) -> None:
    _dropped(bench, b"\x00\x00\x00")


@check("3", "a bad CRC: dropped silently, no NACK")
def bad_crc(bench: FramedBench) -> None:
    seq = bench.next_seq()
    _dropped(bench, raw_frame(FrameType.OUTPUT_OFF, seq, crc_xor=0x0001), seq)


@check("3", "invalid COBS: dropped silently")
def bad_cobs(bench: FramedBench) -> None:
    _dropped(bench, b"\x05\x23\x01\x00")  # a code byte reaching past the delimiter


@check("3", "a body shorter than 4 bytes: dropped silently")
def too_short(bench: FramedBench) -> None:
    _dropped(bench, cobs.encode(b"\x23\x01\x9b") + b"\x00")


@check("3", "a body longer than 1024 bytes, good CRC: dropped silently")
def body_too_long(bench: FramedBench) -> None:
    seq = bench.next_seq()
    _dropped(bench, raw_frame(FrameType.SET_AMPLITUDE, seq, b"\x01" * 1021), seq)


@check("3", "more than 1029 bytes without 0x00: discarded up to the next 0x00")
def too_long_run(bench: FramedBench) -> None:
    _dropped(bench, b"\x55" * 3000 + b"\x00")


@check("3", "garbage costs only the frames it touches")
def garbage(bench: FramedBench) -> None:
    noise = bytes((i * 97 + 13) % 256 for i in range(600))
    _dropped(bench, noise + b"\x00")


# -- 8: safety -----------------------------------------------------------------------------------------


@check("8.4", "500 ms of silence with the output off: amplitude 0, no WATCHDOG")
def silence_output_off(bench: FramedBench) -> None:
    bench.acked(FrameType.SET_AMPLITUDE, fp.pack_amplitude(bench.lowest_current()))
    bench.pump(0.8)
    state = bench.status()
    expect(state.amplitude_ua == 0.0, f"STATUS shows {state.amplitude_ua:g} uA after silence")
    expect(not state.output_on, "STATUS shows the output on")
    expect(not state.faults & FaultFlag.WATCHDOG, "WATCHDOG set with the output off")


def _turn_on_at_minimum(bench: FramedBench) -> float:
    """Waveform, 0 uA, output on, then the machine's minimum; returns when it was turned on."""
    bench.acked(FrameType.SET_AMPLITUDE, fp.pack_amplitude(0.0))
    bench.acked(FrameType.SET_WAVEFORM, bench.waveform())
    bench.acked(FrameType.OUTPUT_ON)
    on_at = bench.link.last_sent_at()
    bench.acked(FrameType.SET_AMPLITUDE, fp.pack_amplitude(bench.lowest_current()))
    return on_at


def _first_off(bench: FramedBench, deadline: float) -> tuple[float, fp.Heartbeat] | None:
    """The first HEARTBEAT showing the output off before ``deadline``."""
    while time.monotonic() < deadline:
        bench.pump(0.02)
        for at, beat in bench.heartbeats(bench.collect(0.0)):
            if not beat.output_on:
                return at, beat
    return None


@check("8.4", "500 ms of silence with the output on: off, 0 uA, WATCHDOG until OUTPUT_OFF")
def keepalive_watchdog(bench: FramedBench) -> str:
    with bench.output_guard():
        on_at = _turn_on_at_minimum(bench)
        quiet_from = bench.link.last_sent_at()
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
        expect(beat.faults & FaultFlag.WATCHDOG, f"HEARTBEAT off with faults {beat.faults}, no 8")
        state = bench.status()
        expect(state.amplitude_ua == 0.0, f"STATUS shows {state.amplitude_ua:g} uA, not 0")
        expect(state.faults & FaultFlag.WATCHDOG, "STATUS does not show WATCHDOG")
        bench.nacked(FrameType.OUTPUT_ON, b"", NackReason.FAULT_ACTIVE)
        bench.acked(FrameType.OUTPUT_OFF)
        expect(not bench.status().faults & FaultFlag.WATCHDOG, "WATCHDOG set after OUTPUT_OFF")
    return f"off after {silence_ms:.0f} ms of silence"


@check("2", "close and reopen: HELLO within 2 s, output off (by the port open), amplitude 0")
def reconnect(bench: FramedBench) -> str:
    with bench.output_guard():
        on_at = _turn_on_at_minimum(bench)
        opened = bench.reconnect(0.25)
        bench.link.write(b"\x00")
        hello_at, state, stopped = None, None, False
        while time.monotonic() < opened + fp.HELLO_TIMEOUT_S and state is None:
            if not stopped and time.monotonic() > on_at + MAX_ON_S:
                stopped = bench.stop_output()  # the output may still be on: not any longer
            bench.pump(0.02)
            for unit in bench.collect(0.0):
                if unit.item.type is FrameType.HELLO and hello_at is None:
                    hello_at = unit.at
                elif hello_at is not None and unit.item.type is FrameType.HEARTBEAT:
                    state = fp.unpack_heartbeat(unit.item.payload)
                    break
    expect(hello_at is not None, "no HELLO within 2 s of reopening the port")
    expect(state is not None, "no HEARTBEAT after the HELLO")
    expect(not stopped, "the checker had to turn the output off: the port open did not")
    expect(not state.output_on, "the first HEARTBEAT after the HELLO shows the output on")
    expect(
        not state.faults & FaultFlag.WATCHDOG,
        "the watchdog turned the output off, not the port open (WATCHDOG is set)",
    )
    amplitude = bench.status().amplitude_ua
    expect(amplitude == 0.0, f"STATUS shows {amplitude:g} uA after the port open, not 0")
    return f"hello {(hello_at - opened) * 1000:.0f} ms after reopening"


@check("8.1", "after the reconnect no waveform is set: OUTPUT_ON is NACK BUSY")
def no_waveform_after_reconnect(bench: FramedBench) -> str:
    with bench.output_guard():  # the amplitude is 0 after the port open
        return bench.nacked(FrameType.OUTPUT_ON, b"", NackReason.BUSY)
