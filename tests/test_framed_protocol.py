"""The binary framed protocol: COBS, CRC-16, the frame codec, the stream decoder, the payloads.

The decoder properties are the ones a serial link needs: any chunking of the stream gives the
same frames; arbitrary bytes never raise and never produce a frame that was not sent; garbage,
corrupted and lost bytes cost at most the frames they touch, and every dropped byte is counted.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from cobs import cobs
from hypothesis import given, settings
from hypothesis import strategies as st

from console.drivers import Capabilities, DeviceIdentity
from console.engine.clock import VirtualClock
from console.waveforms import Polarity, Waveform, WaveShape
from device_drivers import framed_protocol as fp
from device_drivers.crc16 import CRC16_CHECK, crc16_ccitt, crc16_ccitt_reference
from device_drivers.framed_driver import FramedMachineDriver
from device_drivers.framed_protocol import (
    MAX_ENCODED_FRAME_SIZE,
    MAX_PAYLOAD_SIZE,
    MAX_SAMPLES_PER_FRAME,
    DropReason,
    FaultFlag,
    Frame,
    FrameDecoder,
    FrameError,
    FrameType,
    NackReason,
    PayloadError,
    decode_frame,
    encode_frame,
    max_encoded_length,
)
from device_drivers.simulator import SIMULATOR_CAPABILITIES

# The COBS codec is the PyPI ``cobs`` package's (C); these properties hold it to the spec.
cobs_encode = cobs.encode
cobs_decode = cobs.decode
CobsError = cobs.DecodeError

# -- strategies and helpers -------------------------------------------------------------------

payloads = st.binary(max_size=MAX_PAYLOAD_SIZE)
frames = st.builds(Frame, st.sampled_from(FrameType), st.integers(0, 255), payloads)


def numbered_frames(max_size: int = 12) -> st.SearchStrategy[list[Frame]]:
    """Frames whose seq is their position, so every decoded frame says which one it was."""
    return st.lists(
        st.tuples(st.sampled_from(FrameType), st.binary(max_size=300)), max_size=max_size
    ).map(lambda items: [Frame(t, i, p) for i, (t, p) in enumerate(items)])


def feed_in_chunks(decoder: FrameDecoder, stream: bytes, cuts: list[int]) -> list[Frame]:
    """Feed ``stream`` split at ``cuts`` (any positions, any order, repeats allowed)."""
    out: list[Frame] = []
    start = 0
    for cut in [*sorted(cuts), len(stream)]:
        out += decoder.feed(stream[start:cut])
        start = cut
    return out


def cuts_for(data: st.DataObject, stream: bytes) -> list[int]:
    return data.draw(st.lists(st.integers(0, len(stream)), max_size=10), label="cuts")


def check_decoded(out: list[Frame], sent: list[Frame], intact: set[int]) -> None:
    """Every decoded frame is a sent one, in order, and every intact frame came out."""
    indices = []
    for frame in out:
        assert frame.seq < len(sent) and frame == sent[frame.seq], f"{frame} was never sent"
        indices.append(frame.seq)
    assert indices == sorted(set(indices)), "frames out of order or repeated"
    assert intact <= set(indices), f"lost intact frames {sorted(intact - set(indices))}"


def check_counters(decoder: FrameDecoder, stream: bytes, out: list[Frame]) -> None:
    """Every non-delimiter byte is in a delivered frame, counted as discarded, or pending."""
    assert decoder.frames_ok == len(out)
    assert decoder.frames_dropped == sum(decoder.dropped_by_reason.values())
    delivered = sum(len(encode_frame(frame)) - 1 for frame in out)
    nonzero = len(stream) - stream.count(0)
    assert delivered + decoder.bytes_discarded + decoder.pending_bytes == nonzero
    assert decoder.pending_bytes <= MAX_ENCODED_FRAME_SIZE


# -- COBS -------------------------------------------------------------------------------------

COBS_VECTORS = [  # the examples of Cheshire & Baker and Wikipedia
    (b"", b"\x01"),
    (b"\x00", b"\x01\x01"),
    (b"\x00\x00", b"\x01\x01\x01"),
    (b"\x00\x11\x00", b"\x01\x02\x11\x01"),
    (b"\x11\x22\x00\x33", b"\x03\x11\x22\x02\x33"),
    (b"\x11\x22\x33\x44", b"\x05\x11\x22\x33\x44"),
    (b"\x11\x00\x00\x00", b"\x02\x11\x01\x01\x01"),
    (bytes(range(1, 255)), b"\xff" + bytes(range(1, 255))),
    (bytes(range(0, 255)), b"\x01\xff" + bytes(range(1, 255))),
    (bytes(range(1, 256)), b"\xff" + bytes(range(1, 255)) + b"\x02\xff"),
    (bytes(range(2, 256)) + b"\x00", b"\xff" + bytes(range(2, 256)) + b"\x01\x01"),
    (bytes(range(3, 256)) + b"\x00\x01", b"\xfe" + bytes(range(3, 256)) + b"\x02\x01"),
]


@pytest.mark.parametrize(("raw", "encoded"), COBS_VECTORS)
def test_cobs_known_vectors(raw: bytes, encoded: bytes) -> None:
    assert cobs_encode(raw) == encoded
    assert cobs_decode(encoded) == raw


@given(st.binary(max_size=2000))
def test_cobs_round_trip_has_no_zero(data: bytes) -> None:
    encoded = cobs_encode(data)
    assert b"\x00" not in encoded
    assert len(encoded) <= max_encoded_length(len(data))
    assert cobs_decode(encoded) == data
    assert cobs_encode(bytearray(data)) == encoded  # encode_frame always passes bytes


@given(st.lists(st.sampled_from([b"\x00", b"\x01", b"\xff", b"\x07" * 100]), max_size=30))
def test_cobs_round_trip_long_runs_and_zeros(parts: list[bytes]) -> None:
    data = b"".join(parts)
    assert cobs_decode(cobs_encode(data)) == data


@pytest.mark.parametrize("bad", [b"\x00", b"\x01\x00", b"\x05\x01", b"\x02", b"\x03\x11"])
def test_cobs_decode_rejects_malformed(bad: bytes) -> None:
    with pytest.raises(CobsError):
        cobs_decode(bad)


def test_an_empty_run_is_not_a_frame() -> None:
    """The package decodes b"" to b""; the spec's decoder (and ours) calls it invalid COBS."""
    with pytest.raises(FrameError, match="bad_cobs"):
        decode_frame(b"")


@given(st.binary(max_size=600))
def test_cobs_decode_raises_only_cobs_error(data: bytes) -> None:
    with contextlib.suppress(CobsError):
        cobs_decode(data)


# -- CRC --------------------------------------------------------------------------------------


def test_crc_check_value() -> None:
    assert crc16_ccitt(b"123456789") == CRC16_CHECK == 0x29B1
    assert crc16_ccitt_reference(b"123456789") == 0x29B1
    assert crc16_ccitt(b"") == 0xFFFF


def test_crc_accepts_memoryviews() -> None:
    data = bytes(range(200))
    strided = memoryview(data)[::2]
    assert crc16_ccitt(memoryview(data)) == crc16_ccitt(data)
    assert crc16_ccitt(strided) == crc16_ccitt(data[::2]) == crc16_ccitt_reference(strided)
    samples = np.arange(-50, 50, dtype="<i2")
    assert crc16_ccitt(memoryview(samples)) == crc16_ccitt(samples.tobytes())


@given(st.binary(max_size=300), st.binary(max_size=300), st.integers(0, 0xFFFF))
def test_crc_fast_matches_reference_and_chains(a: bytes, b: bytes, init: int) -> None:
    assert crc16_ccitt(a + b, init) == crc16_ccitt_reference(a + b, init)
    assert crc16_ccitt(b, crc16_ccitt(a, init)) == crc16_ccitt(a + b, init)


# -- frames -----------------------------------------------------------------------------------


@given(frames)
def test_frame_round_trip(frame: Frame) -> None:
    wire = encode_frame(frame)
    assert wire.endswith(b"\x00") and wire.count(0) == 1
    assert len(wire) <= MAX_ENCODED_FRAME_SIZE + 1
    assert decode_frame(wire) == frame


@given(st.lists(frames, max_size=8), st.data())
def test_stream_round_trip_any_chunking(sent: list[Frame], data: st.DataObject) -> None:
    stream = b"".join(map(encode_frame, sent))
    decoder = FrameDecoder()
    out = feed_in_chunks(decoder, stream, cuts_for(data, stream))
    assert out == sent
    assert decoder.frames_dropped == decoder.bytes_discarded == decoder.pending_bytes == 0
    check_counters(decoder, stream, out)


def test_byte_at_a_time_and_largest_frame() -> None:
    # 1020 bytes without a zero: the longest possible COBS encoding of a body.
    biggest = Frame(FrameType.SAMPLES, 255, b"\xff" * MAX_PAYLOAD_SIZE)
    sent = [Frame(FrameType.OUTPUT_ON, 0), biggest, Frame(FrameType.ACK, 1, b"\x00")]
    stream = b"".join(map(encode_frame, sent))
    assert len(encode_frame(biggest)) == MAX_ENCODED_FRAME_SIZE + 1
    decoder = FrameDecoder()
    out = [frame for i in range(len(stream)) for frame in decoder.feed(stream[i : i + 1])]
    assert out == sent


@pytest.mark.parametrize(
    "frame",
    [
        Frame(FrameType.ACK, 256),
        Frame(FrameType.ACK, -1),
        Frame(0x99, 0),  # type: ignore[arg-type]
        Frame(FrameType.SAMPLES, 0, bytes(MAX_PAYLOAD_SIZE + 1)),
    ],
)
def test_encode_frame_rejects(frame: Frame) -> None:
    with pytest.raises(FrameError):
        encode_frame(frame)


def test_decode_frame_names_the_reason() -> None:
    with pytest.raises(FrameError, match="bad_crc"):
        decode_frame(cobs_encode(b"\x22\x07\x00\x00") + b"\x00")


SPEC = Path(__file__).resolve().parents[1] / "docs" / "protocols" / "framed.md"
_SPEC_ROW = re.compile(
    r"^\| (\d+) \| (?:C→M|M→C) \| (\w+) \| (0x[0-9a-f]{2}) \|.*\| `([0-9a-f ]+)` \|$"
)


def _session_frames() -> list[Frame]:
    """The frames of the worked example in the specification (section 11), built by the code."""
    t = FrameType
    square = Waveform(WaveShape.SQUARE, 10.0, 0.0, Polarity.ALTERNATING, 2.0)
    identity = DeviceIdentity("MC-7", "A123", "1.4.0")
    two = (np.array([20.0, -12.5]), np.array([0.4, -0.25]))
    return [
        Frame(t.HELLO, 0x01, fp.pack_hello(1)),
        Frame(t.OUTPUT_OFF, 0x01),
        Frame(t.ACK, 0x01, fp.pack_ack(0x01)),
        Frame(t.IDENTIFY, 0x02),
        Frame(t.IDENTITY, 0x02, fp.pack_identity(identity)),
        Frame(t.ACK, 0x02, fp.pack_ack(0x02)),
        Frame(t.GET_CAPABILITIES, 0x03),
        Frame(t.CAPABILITIES, 0x03, fp.pack_capabilities(SIMULATOR_CAPABILITIES)),
        Frame(t.ACK, 0x03, fp.pack_ack(0x03)),
        Frame(t.SET_AMPLITUDE, 0x04, fp.pack_amplitude(0.0)),
        Frame(t.ACK, 0x04, fp.pack_ack(0x04)),
        Frame(t.SET_WAVEFORM, 0x05, fp.pack_waveform(square)),
        Frame(t.ACK, 0x05, fp.pack_ack(0x05)),
        Frame(t.OUTPUT_ON, 0x06),
        Frame(t.ACK, 0x06, fp.pack_ack(0x06)),
        Frame(t.HEARTBEAT, 0x02, fp.pack_heartbeat(1_500_000, True, 0)),
        Frame(t.SET_AMPLITUDE, 0x07, fp.pack_amplitude(20.0)),
        Frame(t.ACK, 0x07, fp.pack_ack(0x07)),
        Frame(t.SAMPLES, 0x03, fp.pack_samples(4000, 2_000_000, 2000, *two)),
        Frame(t.HEARTBEAT_REQUEST, 0x08),
        Frame(t.STATUS, 0x08, fp.pack_status(2_050_000, True, 0, 20.0)),
        Frame(t.ACK, 0x08, fp.pack_ack(0x08)),
        Frame(t.SET_AMPLITUDE, 0x09, fp.pack_amplitude(1200.0)),
        Frame(t.NACK, 0x09, fp.pack_nack(0x09, NackReason.OUT_OF_RANGE, "max 1000 uA")),
        Frame(t.OUTPUT_OFF, 0x0A),
        Frame(t.ACK, 0x0A, fp.pack_ack(0x0A)),
    ]


def test_worked_example_of_the_specification() -> None:
    """Every row of the specification's example session, byte for byte, both ways."""
    rows = [m.groups() for m in map(_SPEC_ROW.match, SPEC.read_text().splitlines()) if m]
    expected = _session_frames()
    assert [int(number) for number, *_ in rows] == list(range(1, len(expected) + 1))
    decoder = FrameDecoder()
    for (_, name, seq, wire), frame in zip(rows, expected, strict=True):
        assert (name, int(seq, 16)) == (frame.type.name, frame.seq)
        assert encode_frame(frame).hex(" ") == wire
        assert decoder.feed(bytes.fromhex(wire)) == [frame]
    # Section 10: the step-by-step encoding.
    assert "wire = 03 20 05 03 10 27 01 04 02 d0 07 01 03 c9 e5 00" in SPEC.read_text()


# -- the decoder against garbage, corruption and loss -----------------------------------------


@settings(max_examples=200)
@given(st.lists(st.binary(max_size=200), max_size=10))
def test_arbitrary_bytes_never_raise_and_are_counted(chunks: list[bytes]) -> None:
    decoder = FrameDecoder()
    out = [frame for chunk in chunks for frame in decoder.feed(chunk)]
    check_counters(decoder, b"".join(chunks), out)


@settings(max_examples=200)
@given(numbered_frames(), st.lists(st.binary(max_size=60), min_size=13, max_size=13), st.data())
def test_garbage_between_frames_costs_only_the_frames_it_touches(
    sent: list[Frame], garbage: list[bytes], data: st.DataObject
) -> None:
    stream = bytearray()
    intact = set()
    for i, frame in enumerate(sent):
        stream += garbage[i]
        # A frame is untouched if a 0x00 (or the start of the stream) comes right before it.
        if not stream or stream[-1] == 0:
            intact.add(i)
        stream += encode_frame(frame)
    stream += garbage[-1]
    decoder = FrameDecoder()
    out = feed_in_chunks(decoder, bytes(stream), cuts_for(data, bytes(stream)))
    check_decoded(out, sent, intact)
    check_counters(decoder, bytes(stream), out)


@settings(max_examples=200)
@given(numbered_frames(), st.data())
def test_lost_bytes_cost_only_the_frames_they_touch(sent: list[Frame], data: st.DataObject) -> None:
    wires = [encode_frame(frame) for frame in sent]
    stream = b"".join(wires)
    lost = data.draw(st.sets(st.integers(0, max(len(stream) - 1, 0)), max_size=8), label="lost")
    lost = {i for i in lost if i < len(stream)}
    intact = set()
    start = 0
    for i, wire in enumerate(wires):
        end = start + len(wire)
        # Intact: none of its bytes lost, nor the delimiter that ends the frame before it.
        if not lost & set(range(max(start - 1, 0), end)):
            intact.add(i)
        start = end
    damaged = bytes(b for i, b in enumerate(stream) if i not in lost)
    decoder = FrameDecoder()
    out = feed_in_chunks(decoder, damaged, cuts_for(data, damaged))
    check_decoded(out, sent, intact)
    check_counters(decoder, damaged, out)


def test_resynchronises_after_garbage() -> None:
    frame = Frame(FrameType.HEARTBEAT, 3, fp.pack_heartbeat(1, False, 0))
    decoder = FrameDecoder()
    assert decoder.feed(b"\x13\x37" * 100) == []
    assert decoder.feed(b"\xaa\x00" + encode_frame(frame)) == [frame]
    assert decoder.frames_dropped == 1 and decoder.bytes_discarded == 201
    # A port opened mid-frame: the tail of the previous frame is dropped, the next one is not.
    wire = encode_frame(frame)
    assert FrameDecoder().feed(wire[5:] + wire) == [frame]


def test_garbage_without_zero_is_bounded() -> None:
    decoder = FrameDecoder()
    for _ in range(1000):
        assert decoder.feed(b"\x55" * 1000) == []
        assert decoder.pending_bytes <= MAX_ENCODED_FRAME_SIZE
    assert decoder.bytes_discarded + decoder.pending_bytes == 1_000_000
    assert decoder.pending_bytes == 0  # overflowed: discarding until the next 0x00
    assert decoder.dropped_by_reason == {**dict.fromkeys(DropReason, 0), "too_long": 1}
    frame = Frame(FrameType.OUTPUT_OFF, 9)
    assert decoder.feed(b"\x55\x00" + encode_frame(frame)) == [frame]
    assert decoder.bytes_discarded == 1_000_001 and decoder.frames_dropped == 1


def _body(ftype: int, seq: int, payload: bytes, crc_delta: int = 0) -> bytes:
    head = bytes((ftype, seq)) + payload
    return head + ((crc16_ccitt(head) ^ crc_delta) & 0xFFFF).to_bytes(2, "little")


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (b"\x05\x01\x00", DropReason.BAD_COBS),
        (cobs_encode(b"\x22\x07\x6c") + b"\x00", DropReason.TOO_SHORT),
        (cobs_encode(_body(0x22, 7, b"", crc_delta=1)) + b"\x00", DropReason.BAD_CRC),
        (cobs_encode(_body(0x99, 7, b"")) + b"\x00", DropReason.UNKNOWN_TYPE),
        (cobs_encode(_body(0x40, 7, bytes(MAX_PAYLOAD_SIZE + 1))) + b"\x00", DropReason.TOO_LONG),
        (b"\x01" * (MAX_ENCODED_FRAME_SIZE + 1) + b"\x00", DropReason.TOO_LONG),
    ],
)
def test_each_drop_reason_is_counted(wire: bytes, reason: DropReason) -> None:
    good = Frame(FrameType.ACK, 1, b"\x07")
    decoder = FrameDecoder()
    assert decoder.feed(wire + encode_frame(good)) == [good]
    assert decoder.dropped_by_reason[reason] == 1 == decoder.frames_dropped
    assert decoder.bytes_discarded == len(wire) - 1


def test_empty_runs_are_ignored() -> None:
    frame = Frame(FrameType.OUTPUT_ON, 1)
    decoder = FrameDecoder()
    assert decoder.feed(b"\x00\x00" + encode_frame(frame) + b"\x00") == [frame]
    assert decoder.frames_dropped == 0


@given(frames, st.data())
def test_single_bit_flip_in_the_body_is_caught_by_the_crc(
    frame: Frame, data: st.DataObject
) -> None:
    body = bytearray(_body(frame.type, frame.seq, frame.payload))
    bit = data.draw(st.integers(0, 8 * len(body) - 1), label="bit")
    body[bit // 8] ^= 1 << (bit % 8)
    decoder = FrameDecoder()
    assert decoder.feed(cobs_encode(bytes(body)) + b"\x00") == []
    assert decoder.dropped_by_reason[DropReason.BAD_CRC] == 1 == decoder.frames_dropped


@pytest.mark.parametrize(
    "frame",
    [
        Frame(
            FrameType.SET_WAVEFORM,
            5,
            fp.pack_waveform(Waveform(WaveShape.SINE, 0.5, 0.0, Polarity.ALTERNATING, 1.0)),
        ),
        Frame(FrameType.SAMPLES, 200, fp.pack_samples(7, 8, 2000, np.zeros(30), np.ones(30))),
        Frame(FrameType.IDENTITY, 1, b"M" * 300),  # a full 0xFF group
    ],
)
def test_every_single_bit_flip_on_the_wire_is_dropped(frame: Frame) -> None:
    """Flips anywhere, COBS code bytes and delimiter included; the frames around survive."""
    before, after = Frame(FrameType.ACK, 1, b"\x01"), Frame(FrameType.ACK, 2, b"\x02")
    wire = encode_frame(frame)
    for bit in range(8 * len(wire)):
        flipped = bytearray(wire)
        flipped[bit // 8] ^= 1 << (bit % 8)
        stream = encode_frame(before) + bytes(flipped) + encode_frame(after) + encode_frame(before)
        decoder = FrameDecoder()
        out = decoder.feed(stream)
        # Flipping the delimiter merges the frame with the next one: both are lost.
        expected = [before, after, before] if bit < 8 * (len(wire) - 1) else [before, before]
        assert out == expected, f"bit {bit}"
        assert decoder.frames_dropped >= 1


# -- payloads ---------------------------------------------------------------------------------

u64 = st.integers(0, 2**64 - 1)
u32 = st.integers(0, 2**32 - 1)
u16 = st.integers(0, 2**16 - 1)
u8 = st.integers(0, 255)
text = st.text(max_size=40)


@given(u8, st.booleans())
def test_hello_round_trip(version: int, emulator: bool) -> None:
    hello = fp.unpack_hello(fp.pack_hello(version, emulator=emulator))
    assert hello == fp.Hello(version, emulator)
    assert fp.unpack_hello(b"\x01\xff").emulator  # reserved bits are ignored
    assert fp.pack_hello() == bytes((fp.PROTOCOL_VERSION, 0))


@given(*(st.text(max_size=30).filter(lambda s: "\x1f" not in s) for _ in range(3)))
def test_identity_round_trip(model: str, serial: str, firmware: str) -> None:
    identity = DeviceIdentity(model, serial, firmware)
    assert fp.unpack_identity(fp.pack_identity(identity)) == identity


def test_identity_errors() -> None:
    with pytest.raises(PayloadError, match="separator"):
        fp.pack_identity(DeviceIdentity("a\x1fb", "1", "2"))
    with pytest.raises(PayloadError, match="3 fields"):
        fp.unpack_identity(b"model\x1fserial")
    with pytest.raises(PayloadError, match="UTF-8"):
        fp.unpack_identity("Modèle\x1f1\x1f2".encode()[:4])


def test_capabilities_round_trip_of_the_simulator() -> None:
    wire = fp.pack_capabilities(SIMULATOR_CAPABILITIES)
    assert len(wire) == 22
    assert fp.unpack_capabilities(wire) == SIMULATOR_CAPABILITIES


@given(
    st.tuples(u16, u16).map(sorted),
    st.integers(1, 2**16 - 1),
    st.tuples(u32, u32).map(sorted),
    st.frozensets(st.sampled_from(WaveShape)),
    st.frozensets(st.sampled_from(Polarity)),
    st.integers(1, 2**32 - 1),
    u16,
)
def test_capabilities_round_trip(current, step, frequency, shapes, polarities, rate, mv) -> None:
    caps = Capabilities(
        channels=1,
        current_ua=(current[0] / 10, current[1] / 10),
        current_step_ua=step / 10,
        frequency_hz=(frequency[0] / 1000, frequency[1] / 1000),
        waveforms=shapes,
        polarities=polarities,
        sample_rate_hz=float(rate),
        compliance_v=mv / 1000,
    )
    assert fp.unpack_capabilities(fp.pack_capabilities(caps)) == caps


def test_capabilities_errors() -> None:
    caps = SIMULATOR_CAPABILITIES
    for bad in (
        replace(caps, channels=2),
        replace(caps, frequency_choices_hz=(1.0, 2.0)),
        replace(caps, current_ua=(10.0, 7000.0)),
        replace(caps, compliance_v=float("nan")),
    ):
        with pytest.raises(PayloadError):
            fp.pack_capabilities(bad)
    good = fp.pack_capabilities(caps)
    for index, value in [(14, 0x10), (15, 0x08), (1, 0xFF)]:  # shape bit 4, polarity bit 3, min>max
        with pytest.raises(PayloadError):
            fp.unpack_capabilities(good[:index] + bytes((value,)) + good[index + 1 :])
    with pytest.raises(PayloadError, match="step"):
        fp.unpack_capabilities(good[:4] + b"\x00\x00" + good[6:])


@given(
    st.sampled_from(WaveShape),
    st.integers(1, 2**32 - 1),
    st.sampled_from(Polarity),
    u32,
)
def test_waveform_round_trip(shape, frequency_mhz, polarity, reversal_ms) -> None:
    waveform = Waveform(shape, frequency_mhz / 1000, 0.0, polarity, reversal_ms / 1000)
    assert fp.unpack_waveform(fp.pack_waveform(waveform.with_current(300.0))) == waveform


def test_waveform_errors() -> None:
    good = fp.pack_waveform(Waveform(WaveShape.SINE, 1.0, 100.0))
    with pytest.raises(PayloadError, match="shape code 4"):
        fp.unpack_waveform(b"\x04" + good[1:])
    with pytest.raises(PayloadError, match="polarity code 3"):
        fp.unpack_waveform(good[:5] + b"\x03" + good[6:])
    with pytest.raises(PayloadError):
        fp.pack_waveform(Waveform(WaveShape.SINE, float("inf"), 100.0))
    with pytest.raises(PayloadError):
        fp.pack_waveform(Waveform(WaveShape.SINE, 1.0, 100.0, reversal_interval_s=-1.0))


@given(u16)
def test_amplitude_round_trip(tenths: int) -> None:
    assert fp.unpack_amplitude(fp.pack_amplitude(tenths / 10)) == tenths / 10


@pytest.mark.parametrize("bad", [-1.0, 6553.6, float("nan"), "300"])
def test_amplitude_rejects(bad: object) -> None:
    with pytest.raises(PayloadError):
        fp.pack_amplitude(bad)  # type: ignore[arg-type]


@given(u8, st.sampled_from([*NackReason, 0, 77]), text)
def test_ack_and_nack_round_trip(seq: int, reason: int, words: str) -> None:
    assert fp.unpack_ack(fp.pack_ack(seq)) == seq
    nack = fp.unpack_nack(fp.pack_nack(seq, reason, words))
    assert nack == fp.Nack(seq, reason, words)
    assert isinstance(nack.reason, NackReason) == (reason in set(NackReason))


def test_long_texts_are_cut_to_fit_a_frame() -> None:
    payload = fp.pack_nack(1, NackReason.BUSY, "é" * 2000)
    assert len(payload) <= MAX_PAYLOAD_SIZE
    assert fp.unpack_nack(payload).text == "é" * ((MAX_PAYLOAD_SIZE - 2) // 2)
    assert encode_frame(Frame(FrameType.ERROR, 0, fp.pack_error(9, "x" * 5000)))
    assert fp.unpack_nack(b"\x01\x02\xff").text == "\ufffd"


@given(u8, text)
def test_error_round_trip(code: int, words: str) -> None:
    assert fp.unpack_error(fp.pack_error(code, words)) == fp.ErrorReport(code, words)


@given(u64, st.booleans(), u16, u16)
def test_heartbeat_and_status_round_trip(time_us, on, faults, tenths) -> None:
    assert fp.unpack_heartbeat(fp.pack_heartbeat(time_us, on, faults)) == fp.Heartbeat(
        time_us, on, faults
    )
    status = fp.unpack_status(fp.pack_status(time_us, on, faults, tenths / 10))
    assert status == fp.Status(time_us, on, faults, tenths / 10)


def test_heartbeat_errors_and_fault_names() -> None:
    with pytest.raises(PayloadError, match="0 or 1"):
        fp.unpack_heartbeat(fp.pack_heartbeat(1, True, 0)[:8] + b"\x02\x00\x00")
    with pytest.raises(PayloadError):
        fp.pack_heartbeat(-1, True, 0)
    with pytest.raises(PayloadError):
        fp.pack_heartbeat(1, True, 0x10000)
    flags = FaultFlag.OVER_CURRENT_TRIP | FaultFlag.WATCHDOG | 0x0100
    assert fp.fault_names(flags) == ("over-current trip", "watchdog", "fault bit 0x0100")
    assert fp.fault_names(0) == ()


@given(
    u32,
    u64,
    st.integers(1, 2**32 - 1),
    st.lists(st.integers(-32768, 32767), max_size=MAX_SAMPLES_PER_FRAME),
    st.data(),
)
def test_samples_round_trip(first, t0, rate, currents, data: st.DataObject) -> None:
    volts = data.draw(
        st.lists(st.integers(-32768, 32767), min_size=len(currents), max_size=len(currents))
    )
    current_ua = np.array(currents, dtype=np.float64) / 20
    voltage_v = np.array(volts, dtype=np.float64) / 1000
    batch = fp.unpack_samples(fp.pack_samples(first, t0, rate, current_ua, voltage_v))
    assert (batch.first_index, batch.t0_us, batch.rate_hz, len(batch)) == (
        first,
        t0,
        rate,
        len(currents),
    )
    assert batch.current_ua.dtype == batch.voltage_v.dtype == np.float64
    np.testing.assert_array_equal(batch.current_ua, current_ua)
    np.testing.assert_array_equal(batch.voltage_v, voltage_v)


def test_samples_round_and_clip() -> None:
    payload = fp.pack_samples(
        0, 0, 2000, np.array([0.024, 0.026, 5000.0, -5000.0]), np.array([1e-4, 6e-4, 40.0, -40.0])
    )
    batch = fp.unpack_samples(payload)
    np.testing.assert_array_equal(batch.current_ua, [0.0, 0.05, 1638.35, -1638.4])
    np.testing.assert_array_equal(batch.voltage_v, [0.0, 0.001, 32.767, -32.768])


@pytest.mark.parametrize(
    "args",
    [
        (0, 0, 2000, np.zeros(MAX_SAMPLES_PER_FRAME + 1), np.zeros(MAX_SAMPLES_PER_FRAME + 1)),
        (0, 0, 2000, np.zeros(3), np.zeros(4)),
        (0, 0, 2000, np.zeros((2, 2)), np.zeros((2, 2))),
        (0, 0, 2000, np.array([np.nan]), np.zeros(1)),
        (0, 0, 0, np.zeros(1), np.zeros(1)),
        (2**32, 0, 2000, np.zeros(1), np.zeros(1)),
        (0, -1, 2000, np.zeros(1), np.zeros(1)),
        (0, 0, 2000.5, np.zeros(1), np.zeros(1)),
    ],
)
def test_pack_samples_rejects(args: tuple) -> None:
    with pytest.raises(PayloadError):
        fp.pack_samples(*args)


def test_a_full_samples_frame_fits() -> None:
    n = MAX_SAMPLES_PER_FRAME
    payload = fp.pack_samples(1, 2, 3, np.full(n, 1000.0), np.full(n, 15.0))
    frame = Frame(FrameType.SAMPLES, 0, payload)
    assert FrameDecoder().feed(encode_frame(frame)) == [frame]


VALID_PAYLOADS = {
    fp.unpack_hello: fp.pack_hello(1),
    fp.unpack_identity: fp.pack_identity(DeviceIdentity("MC-7", "SN1", "2.1")),
    fp.unpack_capabilities: fp.pack_capabilities(SIMULATOR_CAPABILITIES),
    fp.unpack_waveform: fp.pack_waveform(Waveform(WaveShape.BIPHASIC, 160.0, 10.0)),
    fp.unpack_amplitude: fp.pack_amplitude(120.0),
    fp.unpack_ack: fp.pack_ack(4),
    fp.unpack_nack: fp.pack_nack(4, NackReason.BUSY, "busy"),
    fp.unpack_error: fp.pack_error(3, "overheat"),
    fp.unpack_heartbeat: fp.pack_heartbeat(10, False, 2),
    fp.unpack_status: fp.pack_status(10, True, 0, 250.0),
    fp.unpack_samples: fp.pack_samples(0, 0, 2000, np.ones(5), np.ones(5)),
}
#: Payloads whose length is fixed or stated: any truncation is detected.
FIXED_LENGTH = [
    f for f in VALID_PAYLOADS if f not in (fp.unpack_identity, fp.unpack_nack, fp.unpack_error)
]


@pytest.mark.parametrize("unpack", FIXED_LENGTH, ids=lambda f: f.__name__)
def test_truncated_or_padded_payloads_raise(unpack) -> None:
    payload = VALID_PAYLOADS[unpack]
    unpack(payload)
    for size in range(len(payload)):
        with pytest.raises(PayloadError):
            unpack(payload[:size])
    with pytest.raises(PayloadError):
        unpack(payload + b"\x00")


@pytest.mark.parametrize(
    ("unpack", "minimum"), [(fp.unpack_nack, 2), (fp.unpack_error, 1), (fp.unpack_identity, 0)]
)
def test_truncated_text_payloads_raise(unpack, minimum: int) -> None:
    for size in range(minimum):
        with pytest.raises(PayloadError):
            unpack(VALID_PAYLOADS[unpack][:size])
    if unpack is fp.unpack_identity:  # no length field: a cut shows when it takes a separator
        with pytest.raises(PayloadError):
            unpack(VALID_PAYLOADS[unpack][:6])


@pytest.mark.parametrize("unpack", list(VALID_PAYLOADS), ids=lambda f: f.__name__)
@given(payload=st.binary(max_size=64))
def test_unpack_raises_only_payload_error(unpack, payload: bytes) -> None:
    with contextlib.suppress(PayloadError):
        unpack(payload)


# -- the driver's decoder (unexpected answers: tests/test_stream_driver_answers.py) -------------


def _driver() -> FramedMachineDriver:
    return FramedMachineDriver(VirtualClock(), port="/dev/null-not-opened")


def test_a_console_frame_from_the_machine_is_counted_not_raised() -> None:
    driver = _driver()
    assert list(driver.decode(encode_frame(Frame(FrameType.OUTPUT_ON, 3)))) == []
    assert driver.bad_payloads == 1 and "not one a machine sends" in driver.last_bad_payload
