"""The SCPI line protocol (``device_drivers/scpi_protocol.py``): framing, decoding, parsing.

The decoder is checked against a reference written here from the rules of
``docs/protocols/scpi.md`` (split at newlines, then judge each line on its own, slowly and
plainly), on arbitrary byte streams cut into arbitrary chunks. Garbage between real lines must
never produce a line that was not sent; a flipped bit anywhere must not either. The batch
measurement parser must treat every line exactly as it treats that line alone.
"""

from __future__ import annotations

import contextlib
import functools
import math
import operator
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from console.drivers import Capabilities, DeviceIdentity
from console.waveforms import Polarity, Waveform, WaveShape
from device_drivers import scpi_protocol as scpi
from device_drivers.scpi_protocol import (
    Command,
    ErrorCode,
    Fault,
    Heartbeat,
    Hello,
    Keyword,
    LineDecoder,
    LineKind,
    MeasurementParser,
    Reply,
    SampleBatch,
    ScpiError,
)
from device_drivers.simulator import SIMULATOR_CAPABILITIES

FAST = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)

SPEC_CAPABILITIES = (
    "CURR 10,1000,10;FREQ 0.1,1000;SHAPE SQU,SIN,RAMP,BIP;POL POS,NEG,ALT;RATE 2000;COMPL 15"
)


# -- the reference: the written rules, one line at a time ------------------------------------


def reference_checksum(body: bytes) -> int:
    return functools.reduce(operator.xor, body, 0)


def reference_verdict(content: bytes) -> str | bytes:
    """A line's content (before ``\\n``) → its body if valid, else the reason it is dropped."""
    if len(content) > 255:
        return "too_long"
    if content.endswith(b"\r"):
        content = content[:-1]
    if any(byte < 0x20 or byte > 0x7E for byte in content):
        return "not_ascii"
    body, star, digits = content[:-3], content[-3:-2], content[-2:]
    if not body or star != b"*" or any(d not in b"0123456789ABCDEF" for d in digits):
        return "malformed"
    if b"*" in body and not (body.startswith(b"#") and _is_common_command(body.decode())):
        return "malformed"
    if reference_checksum(body) != int(digits, 16):
        return "checksum"
    return body


def _is_common_command(body: str) -> bool:
    tag, _, rest = body[1:].partition(" ")
    return 1 <= len(tag) <= 4 and tag.isdigit() and rest.startswith("*") and "*" not in rest[1:]


def reference_decode(stream: bytes) -> tuple[list[str], dict[str, int]]:
    """Bodies and drop counts for a whole stream (an unfinished last line counts if too long)."""
    *complete, unfinished = stream.split(b"\n")
    bodies: list[str] = []
    drops = dict.fromkeys(("checksum", "too_long", "not_ascii", "malformed"), 0)
    for content in complete:
        verdict = reference_verdict(content)
        if isinstance(verdict, bytes):
            bodies.append(verdict.decode("ascii"))
        else:
            drops[verdict] += 1
    if len(unfinished) > 255:
        drops["too_long"] += 1
    return bodies, drops


def decode_in_chunks(stream: bytes, cuts: list[int]) -> tuple[list[str], LineDecoder]:
    decoder = LineDecoder()
    bodies: list[str] = []
    previous = 0
    for cut in [*sorted({min(c, len(stream)) for c in cuts}), len(stream)]:
        bodies += decoder.feed(stream[previous:cut])
        previous = cut
    assert decoder.buffered_bytes <= 255
    return bodies, decoder


# -- strategies ------------------------------------------------------------------------------

printable_bodies = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="*"),
    min_size=1,
    max_size=80,
)
garbage = st.one_of(
    st.binary(max_size=40),
    st.sampled_from([b"\n", b"\r\n", b"\r", b"*", b"*00\n", b"A*41\n", b"\xff\xfe", b"x" * 300]),
)
chunk_cuts = st.lists(st.integers(min_value=0, max_value=3000), max_size=30)
segments = st.lists(
    st.one_of(
        printable_bodies.map(lambda body: ("line", body)), garbage.map(lambda g: ("junk", g))
    ),
    max_size=25,
)


def machine_lines(draw: st.DrawFn) -> list[str]:
    """Realistic machine bodies: measurements, heartbeats, answers, errors."""
    kinds = st.one_of(
        st.builds(
            scpi.format_measurement,
            st.integers(0, 10**9),
            st.integers(0, 10**12),
            st.floats(-1200, 1200),
            st.floats(-20, 20),
        ),
        st.builds(
            lambda t, on, f: scpi.format_heartbeat(Heartbeat(t, on, Fault(f))),
            st.integers(0, 10**12),
            st.booleans(),
            st.integers(0, 15),
        ),
        st.integers(0, 9999).map(lambda seq: f"#{seq} OK"),
        st.integers(0, 9999).map(lambda seq: f'#{seq} ERR -222,"Data out of range"'),
    )
    return draw(st.lists(kinds, min_size=1, max_size=12))


# -- checksum and seal -----------------------------------------------------------------------


def test_checksum_worked_example_of_the_spec() -> None:
    assert scpi.checksum(b"#1 OUTP ON") == 0x0D
    assert scpi.command(1, "OUTP ON") == b"#1 OUTP ON*0D\n"
    assert scpi.seal("!HB 1500000 OFF 0") == b"!HB 1500000 OFF 0*40\n"
    assert scpi.checksum(b"") == 0


@FAST
@given(st.binary(max_size=300), st.binary(max_size=300))
def test_checksum_is_the_xor_of_all_bytes(first: bytes, second: bytes) -> None:
    assert scpi.checksum(first) == reference_checksum(first)
    assert scpi.checksum(first + second) == scpi.checksum(first) ^ scpi.checksum(second)


@FAST
@given(printable_bodies)
def test_seal_round_trips_through_the_decoder(body: str) -> None:
    line = scpi.seal(body)
    assert line == body.encode() + f"*{reference_checksum(body.encode()):02X}\n".encode()
    decoder = LineDecoder()
    assert decoder.feed(line) == [body]
    assert decoder.feed(line[:-1] + b"\r\n") == [body]  # a CR before the LF is tolerated
    assert (decoder.lines_ok, decoder.lines_dropped) == (2, 0)


@FAST
@given(st.lists(printable_bodies, max_size=30))
def test_seal_lines_equals_sealing_one_by_one(bodies: list[str]) -> None:
    assert scpi.seal_lines(bodies) == b"".join(scpi.seal(body) for body in bodies)


@pytest.mark.parametrize(
    "body",
    [
        "",
        "é",
        "a\nb",
        "tab\there",
        "x*y",
        "!M 1*2",
        "#1 OK *IDN?*",
        "x" * (scpi.MAX_BODY_BYTES + 1),
    ],
)
def test_seal_refuses_what_the_decoder_would_drop(body: str) -> None:
    with pytest.raises(ScpiError):
        scpi.seal(body)
    with pytest.raises(ScpiError):
        scpi.seal_lines(["ok", body])


def test_longest_body_fits_a_line_even_with_cr() -> None:
    body = "x" * scpi.MAX_BODY_BYTES
    line = scpi.seal(body)[:-1] + b"\r\n"
    assert len(line) == scpi.MAX_LINE_BYTES
    assert LineDecoder().feed(line) == [body]


def test_commands_carry_a_wrapping_sequence_tag() -> None:
    assert scpi.command(9999, scpi.IDN_QUERY) == scpi.seal("#9999 *IDN?")
    assert LineDecoder().feed(scpi.command(42, "*IDN?")) == ["#42 *IDN?"]
    assert scpi.next_seq(9999) == 0 and scpi.next_seq(0) == 1
    for bad in (-1, 10_000, 1.5, True):
        with pytest.raises(ScpiError):
            scpi.command(bad, "OUTP OFF")  # type: ignore[arg-type]


# -- the line decoder ------------------------------------------------------------------------


@FAST
@given(segments, chunk_cuts)
def test_decoder_equals_the_reference_on_any_stream_and_chunking(
    parts: list[tuple[str, object]], cuts: list[int]
) -> None:
    stream = b"".join(scpi.seal(p) if kind == "line" else p for kind, p in parts)  # type: ignore[arg-type]
    bodies, decoder = decode_in_chunks(stream, cuts)
    expected, drops = reference_decode(stream)
    assert bodies == expected
    assert decoder.dropped_by_reason == drops
    assert decoder.lines_ok == len(expected)
    assert decoder.lines_dropped == sum(drops.values())


@FAST
@given(st.binary(max_size=2000), chunk_cuts)
def test_decoder_never_raises_on_arbitrary_bytes(stream: bytes, cuts: list[int]) -> None:
    bodies, decoder = decode_in_chunks(stream, cuts)
    assert bodies == reference_decode(stream)[0]
    if stream.endswith(b"\n"):  # every newline ends exactly one counted line
        assert decoder.lines_ok + decoder.lines_dropped == stream.count(b"\n")


@FAST
@given(st.lists(st.tuples(garbage, printable_bodies), max_size=15), chunk_cuts)
def test_garbage_between_lines_never_yields_a_line_that_was_not_sent(
    pairs: list[tuple[bytes, str]], cuts: list[int]
) -> None:
    # Garbage ended by a newline cannot touch the next line: every sent line comes out, in
    # order, and nothing else (unless the garbage happens to hold a well-sealed line itself).
    stream = b""
    for junk, body in pairs:
        pieces = (junk + b"\n").split(b"\n")[:-1]
        assume(not any(isinstance(reference_verdict(piece), bytes) for piece in pieces))
        stream += junk + b"\n" + scpi.seal(body)
    bodies, decoder = decode_in_chunks(stream, cuts)
    assert bodies == [body for _, body in pairs]
    assert decoder.lines_dropped == sum((junk + b"\n").count(b"\n") for junk, _ in pairs)


def test_decoder_resynchronises_at_the_next_newline() -> None:
    decoder = LineDecoder()
    first, second = scpi.seal("#1 OK"), scpi.seal("#2 OK")
    # Garbage without a newline spoils the line it runs into, and only that one.
    assert decoder.feed(b"\x00\xffnoise" + first + second) == ["#2 OK"]
    assert decoder.dropped_by_reason["not_ascii"] == 1
    assert decoder.feed(b"half a li") == []
    assert decoder.feed(b"ne\n" + first) == ["#1 OK"]
    assert decoder.dropped_by_reason["malformed"] == 1


def test_an_overlong_line_is_dropped_early_and_counted_once() -> None:
    decoder = LineDecoder()
    for _ in range(100):  # 100 kB without a newline: memory stays bounded
        assert decoder.feed(b"y" * 1000) == []
        assert decoder.buffered_bytes <= 255
    assert decoder.feed(b"end of it\n" + scpi.seal("#3 OK")) == ["#3 OK"]
    assert decoder.dropped_by_reason == {
        "checksum": 0,
        "too_long": 1,
        "not_ascii": 0,
        "malformed": 0,
    }
    # Over-long inside one chunk, too.
    assert decoder.feed(b"z" * 400 + b"\n" + scpi.seal("#4 OK")) == ["#4 OK"]
    assert decoder.dropped_by_reason["too_long"] == 2


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"#1 OK*0d\n", "malformed"),  # lower-case hex
        (b"#1 OK*0\n", "malformed"),
        (b"#1 OK\n", "malformed"),
        (b"*00\n", "malformed"),  # empty body
        (b"\n", "malformed"),
        (b"\r\n", "malformed"),
        (b"#1 O*K*00\n", "malformed"),  # '*' inside a body
        (b"#1 OK*00\n", "checksum"),
        (b"#1 OK\r*45\n", "not_ascii"),
        (b"#1 \xd6K*00\n", "not_ascii"),
    ],
)
def test_drop_reasons(line: bytes, reason: str) -> None:
    decoder = LineDecoder()
    assert decoder.feed(line) == []
    assert decoder.dropped_by_reason[reason] == 1 and decoder.lines_dropped == 1


def _bodies_with_small_checksums() -> list[str]:
    """Bodies whose checksum is 00..09, the lines a flipped newline could merge with the next.

    (``!M`` lines never have one: the high nibbles of their fixed characters XOR to 6, and
    digits, '.' and '-' only move that to 4, 5 or 7. Short answers such as ``#12 OK`` do.)
    """
    exposed = [f"#{seq} OK" for seq in range(100) if scpi.checksum(f"#{seq} OK".encode()) < 10]
    assert len(exposed) >= 3
    return [
        exposed[0],
        scpi.format_measurement(7, 3500, 300.0, 1.5),
        exposed[1],
        "#17 *IDN?",
        exposed[2],
        '#3 ERR -222,"Data out of range"',
        "!HB 99 ON 2",
    ]


def assert_in_order_subset(decoded: list[str], sent: list[str], at_most_lost: int) -> None:
    position = 0
    for body in decoded:
        assert body in sent[position:], f"{body!r} was never sent (or out of order)"
        position = sent.index(body, position) + 1
    assert len(sent) - len(decoded) <= at_most_lost


def test_every_single_bit_flip_is_caught() -> None:
    # Exhaustive: each bit of each byte. A flip inside a line drops that line; a flip of a
    # newline into '*' would merge two lines into one that passes the XOR check when the
    # first checksum is 00..09 — the "no '*' inside a body" rule catches exactly that.
    sent = _bodies_with_small_checksums()
    stream = b"".join(scpi.seal(body) for body in sent)
    for position in range(len(stream)):
        for bit in range(8):
            corrupted = bytearray(stream)
            corrupted[position] ^= 1 << bit
            decoded = LineDecoder().feed(bytes(corrupted))
            assert_in_order_subset(decoded, sent, at_most_lost=2)
            assert len(decoded) < len(sent)


@FAST
@given(st.data())
def test_a_flipped_bit_never_forges_a_line(data: st.DataObject) -> None:
    sent = machine_lines(data.draw)
    stream = bytearray(scpi.seal_lines(sent))
    position = data.draw(st.integers(0, len(stream) - 1))
    stream[position] ^= 1 << data.draw(st.integers(0, 7))
    decoded = LineDecoder().feed(bytes(stream))
    assert_in_order_subset(decoded, sent, at_most_lost=2)


# -- measurements ----------------------------------------------------------------------------

sample_rows = st.lists(
    st.tuples(
        st.integers(0, 2**40),
        st.integers(0, 2**50),
        st.floats(-1500, 1500, allow_nan=False),
        st.floats(-30, 30, allow_nan=False),
    ),
    max_size=60,
)


@FAST
@given(sample_rows)
def test_measurements_round_trip_within_formatting_precision(rows: list[tuple]) -> None:
    lines = [scpi.format_measurement(*row) for row in rows]
    decoder = LineDecoder()
    batch = scpi.parse_measurements(decoder.feed(scpi.seal_lines(lines)))
    assert batch.dropped == 0 and len(batch) == len(rows)
    assert batch.index.dtype == np.int64 and batch.machine_time_us.dtype == np.int64
    assert batch.current_ua.dtype == np.float64 and batch.voltage_v.dtype == np.float64
    if rows:
        index, time_us, current, voltage = (np.array(column) for column in zip(*rows, strict=True))
        assert np.array_equal(batch.index, index)
        assert np.array_equal(batch.machine_time_us, time_us)
        assert np.allclose(batch.current_ua, current, rtol=0, atol=0.05 + 1e-9)
        assert np.allclose(batch.voltage_v, voltage, rtol=0, atol=0.0005 + 1e-9)
    assert scpi.format_measurements(batch) == lines


MALFORMED_MEASUREMENTS = [
    "!M 1 2 3.0",  # a field short
    "!M 1 2 3.0 4.000 5",  # a field over
    "!M -1 2 3.0 4.000",  # negative index
    "!M 1 -2 3.0 4.000",  # negative time
    "!M 1.5 2 3.0 4.000",  # fractional index
    "!M 1 2 nan 4.000",
    "!M 1 2 3.0 inf",
    "!M 1 2 1e999 4.000",
    "!M 1_000 2 3.0 4.000",
    "!M 99999999999999999999 2 3.0 4.000",  # beyond int64
    "!M 1 2 3,0 4.000",
    "!M 1 2 x 4.000",
    "!M 1 2 3.0 4.000 !M",
    "!M1 2 3.0 4.000 5",
    "!HB 1 ON 0",
    "1 2 3.0 4.000 !M",
    "",
    "!M 1 2\n3.0 4.000",
    "!M 1 2 3.0 4.٣",
]


def test_malformed_measurements_are_dropped_and_counted() -> None:
    good = [scpi.format_measurement(i, 500 * i, 10.0 * i, 0.5) for i in range(5)]
    lines = good[:2] + MALFORMED_MEASUREMENTS + good[2:]
    batch = scpi.parse_measurements(lines)
    assert batch.dropped == len(MALFORMED_MEASUREMENTS)
    assert batch.index.tolist() == [0, 1, 2, 3, 4]
    assert batch.current_ua.tolist() == [0.0, 10.0, 20.0, 30.0, 40.0]
    for line in MALFORMED_MEASUREMENTS:
        assert scpi.parse_measurements([line]).dropped == 1


def test_lines_whose_tokens_only_align_when_joined_are_still_dropped() -> None:
    # Each line is malformed alone; joined, their tokens would line up into two samples.
    assert len(scpi.parse_measurements(["!M 1 2", "3 4\n!M 5 6 7 8"])) == 0
    assert len(scpi.parse_measurements(["!M 1 2 3", "4 !M 5 6 7 8"])) == 0


token = st.one_of(
    st.sampled_from(["!M", "1", "0", "-1", "2.5", "nan", "1e3", "_", "!M1", "", "x", "+4"]),
    st.integers(-5, 10**20).map(str),
)
separator = st.sampled_from([" ", "  ", "\t", "\n", ""])


@FAST
@given(
    st.lists(
        st.lists(st.tuples(token, separator), max_size=7).map(
            lambda pairs: "".join(t + s for t, s in pairs)
        )
        | sample_rows.map(
            lambda rows: scpi.format_measurement(*rows[0]) if rows else "!M 0 0 0.0 0.000"
        ),
        max_size=30,
    )
)
def test_a_line_fares_the_same_in_a_batch_as_alone(lines: list[str]) -> None:
    batch = scpi.parse_measurements(lines)
    alone = [scpi.parse_measurements([line]) for line in lines]
    assert batch.dropped == sum(b.dropped for b in alone)
    assert batch.index.tolist() == [i for b in alone for i in b.index.tolist()]
    assert batch.machine_time_us.tolist() == [t for b in alone for t in b.machine_time_us.tolist()]
    assert batch.current_ua.tolist() == [c for b in alone for c in b.current_ua.tolist()]
    assert batch.voltage_v.tolist() == [v for b in alone for v in b.voltage_v.tolist()]
    assert len(batch) + batch.dropped == len(lines)


def test_measurement_parser_counts_missing_samples_and_restarts() -> None:
    parser = MeasurementParser()
    line = lambda i: scpi.format_measurement(i, 500 * i, 1.0, 1.0)  # noqa: E731
    parser.parse([line(i) for i in (10, 11, 12, 15)])  # 13, 14 lost
    parser.parse([line(i) for i in (16, 20)] + ["!M garbage"])  # 17..19 lost
    parser.parse([line(i) for i in (0, 1)])  # the machine restarted: no loss counted
    assert parser.samples_missing == 5
    assert parser.samples_ok == 8 and parser.lines_dropped == 1
    assert len(parser.parse([])) == 0


def test_split_measurements_keeps_order_within_each_kind() -> None:
    lines = ["!M 1 1 1.0 1.000", "!HB 5 ON 0", "#3 OK", "!M 2 2 1.0 1.000", "!MX"]
    assert scpi.split_measurements(lines) == (
        ["!M 1 1 1.0 1.000", "!M 2 2 1.0 1.000"],
        ["!HB 5 ON 0", "#3 OK", "!MX"],
    )
    assert [scpi.classify(line) for line in lines] == [
        LineKind.MEASUREMENT,
        LineKind.HEARTBEAT,
        LineKind.REPLY,
        LineKind.MEASUREMENT,
        LineKind.UNKNOWN,
    ]


def _steps_and_feed_split(stream: bytes, cuts: list[int]) -> tuple[list[tuple], list[tuple]]:
    """Per ``feed`` call, what the three steps give and what ``feed_split`` gives, with the
    counts of both decoders and parsers at the end."""
    decoders = LineDecoder(), LineDecoder()
    parsers = MeasurementParser(), MeasurementParser()
    steps: list[tuple] = []
    together: list[tuple] = []
    previous = 0
    for cut in [*sorted({min(c, len(stream)) for c in cuts}), len(stream)]:
        chunk, previous = stream[previous:cut], cut
        measurements, others = scpi.split_measurements(decoders[0].feed(chunk))
        batches = (parsers[0].parse(measurements), *decoders[1].feed_split(chunk, parsers[1]))
        for out, batch, rest in ((steps, batches[0], others), (together, *batches[1:])):
            columns = (batch.index, batch.machine_time_us, batch.current_ua, batch.voltage_v)
            # tolist() keeps -0.0 apart from 0.0 through repr; dtypes must agree too.
            out.append(
                ([c.dtype.str for c in columns], repr([c.tolist() for c in columns]),
                 batch.dropped, rest)
            )  # fmt: skip
    for out, decoder, parser in (
        (steps, decoders[0], parsers[0]),
        (together, decoders[1], parsers[1]),
    ):
        out.append((decoder.lines_ok, decoder.dropped_by_reason, vars(parser)))
    return steps, together


unusual_measurements = st.builds(
    lambda fields, gaps: "!M" + "".join(g + f for f, g in zip(fields, gaps[: len(fields)], strict=True)),
    st.lists(
        st.sampled_from(
            ["7", "007", "-0.0", "0.000", "-12.5", "1e3", "+4", "1_0", "inf", "nan", "1.",
             ".5", "-", "1.2.3", "12345678901234567890", "9" * 16, "-9999999999999.9",
             "2.5", "x", "!M"]
        )
        | st.integers(0, 10**17).map(str),
        min_size=3,
        max_size=5,
    ),
    st.lists(st.sampled_from([" ", " ", " ", "  "]), min_size=5, max_size=5),
)  # fmt: skip


@FAST
@given(
    st.lists(
        st.one_of(
            st.composite(machine_lines)(),
            st.lists(unusual_measurements, min_size=1, max_size=4),
            st.lists(sample_rows.map(lambda rows: [scpi.format_measurement(*r) for r in rows])),
        ),
        max_size=6,
    ).map(lambda groups: [line for group in groups for line in _flatten(group)]),
    st.lists(garbage, max_size=3),
    st.booleans(),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 7)), max_size=4),
    chunk_cuts,
)
def test_feed_split_gives_what_the_three_steps_give(
    lines: list[str],
    junk: list[bytes],
    crlf: bool,
    flips: list[tuple[int, int]],
    cuts: list[int],
) -> None:
    """The driver's one-call receive path (``feed_split``) is exact: for any stream, chunking,
    noise and unusual measurement form, the same samples (to the bit, -0.0 included), the same
    other lines and the same counts as ``feed`` → ``split_measurements`` → ``parse``."""
    sealed = [scpi.seal(line) for line in lines if not scpi._body_problem(line)]
    if crlf:
        sealed = [line[:-1] + b"\r\n" for line in sealed]
    stream = bytearray(
        b"".join(sealed[: len(sealed) // 2]) + b"".join(junk) + b"".join(sealed[len(sealed) // 2 :])
    )
    for position, bit in flips:
        if stream:
            stream[position % len(stream)] ^= 1 << bit
    steps, together = _steps_and_feed_split(bytes(stream), cuts)
    assert together == steps


def _flatten(group: object) -> list[str]:
    if isinstance(group, str):
        return [group]
    return [line for item in group for line in _flatten(item)]  # type: ignore[attr-defined]


def test_feed_split_on_the_benchmark_streams_clean_and_noisy() -> None:
    """Long realistic streams (heartbeats, answers; and one with a flipped bit every ~50
    lines) in 4 KB reads: feed_split equals the three steps, chunk by chunk."""
    rng = np.random.default_rng(7)
    for corrupt in (False, True):
        index = np.arange(20_000, dtype=np.int64) + 14_400_000
        batch = scpi.SampleBatch(
            index,
            index * 500 + 137,
            np.round(rng.normal(0.0, 300.0, index.size), 1),
            np.round(rng.normal(0.0, 2.0, index.size), 3),
        )
        lines = scpi.format_measurements(batch)
        for i in range(0, len(lines), 200):
            lines.insert(i, scpi.format_heartbeat(Heartbeat(int(batch.machine_time_us[0]), True)))
        stream = bytearray(scpi.seal_lines(lines))
        if corrupt:
            for position in range(17, len(stream), 40 * 50):
                stream[position] ^= 0x04
        steps, together = _steps_and_feed_split(bytes(stream), list(range(0, len(stream), 4096)))
        assert together == steps
        assert steps[-1][0] > 19_000


# -- capabilities, identity, waveform commands -----------------------------------------------


def test_spec_capabilities_are_the_simulators() -> None:
    assert scpi.parse_capabilities(SPEC_CAPABILITIES) == SIMULATOR_CAPABILITIES
    assert scpi.format_capabilities(SIMULATOR_CAPABILITIES) == SPEC_CAPABILITIES


nice_floats = st.floats(0.1, 5000, allow_nan=False).map(lambda x: round(x, 3))


@FAST
@given(
    st.integers(1, 8),
    st.tuples(nice_floats, nice_floats).map(sorted),
    nice_floats,
    st.tuples(nice_floats, nice_floats).map(sorted),
    st.frozensets(st.sampled_from(list(WaveShape)), min_size=1),
    st.frozensets(st.sampled_from(list(Polarity)), min_size=1),
    nice_floats,
    nice_floats,
    st.lists(nice_floats, max_size=5).map(tuple),
)
def test_capabilities_round_trip(
    channels, current, step, frequency, shapes, polarities, rate, compliance, choices
) -> None:
    caps = Capabilities(
        channels=channels,
        current_ua=tuple(current),
        current_step_ua=step,
        frequency_hz=tuple(frequency),
        waveforms=shapes,
        polarities=polarities,
        sample_rate_hz=rate,
        compliance_v=compliance,
        frequency_choices_hz=choices,
    )
    text = scpi.format_capabilities(caps)
    assert scpi.parse_capabilities(text) == caps
    assert scpi.parse_capabilities(scpi.parse_reply(f"#1 {text}").value or "") == caps


def test_capabilities_tolerate_the_future_and_refuse_the_incomplete() -> None:
    newer = "CURR 10,600,10;FREQ 0.1,1000;SHAPE SQU,TRI;POL POS,ALT,XYZ;RATE 1000;COMPL 12;WIFI 1"
    caps = scpi.parse_capabilities(newer)
    assert caps.waveforms == {WaveShape.SQUARE} and caps.polarities == {
        Polarity.POSITIVE,
        Polarity.ALTERNATING,
    }
    assert caps.current_ua == (10.0, 600.0) and caps.channels == 1
    broken = [
        "",
        SPEC_CAPABILITIES.replace("RATE 2000;", ""),
        SPEC_CAPABILITIES.replace("CURR 10,1000,10", "CURR 10,1000"),
        SPEC_CAPABILITIES.replace("CURR 10,1000,10", "CURR 1000,10,10"),
        SPEC_CAPABILITIES.replace("FREQ 0.1,1000", "FREQ 0.1,nan"),
        SPEC_CAPABILITIES.replace("SHAPE SQU,SIN,RAMP,BIP", "SHAPE TRI"),
        SPEC_CAPABILITIES + ";RATE 10",
        SPEC_CAPABILITIES + ";CHAN 1.5",
        SPEC_CAPABILITIES + ";;",
    ]
    for text in broken:
        with pytest.raises(ScpiError):
            scpi.parse_capabilities(text)


@FAST
@given(st.text(max_size=120))
def test_parsers_raise_only_scpi_errors(text: str) -> None:
    for parse in (
        scpi.parse_capabilities,
        scpi.parse_identity,
        scpi.parse_reply,
        scpi.parse_command,
        scpi.parse_heartbeat,
        scpi.parse_hello,
        scpi.parse_async_error,
        scpi.parse_error,
        scpi.parse_number,
    ):
        with contextlib.suppress(ScpiError):
            parse(text)
    scpi.parse_measurements([text])


identity_fields = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=",*"),
    min_size=1,
    max_size=20,
)


@FAST
@given(identity_fields, identity_fields, identity_fields, identity_fields)
def test_identity_round_trip(vendor: str, model: str, serial: str, firmware: str) -> None:
    assume(not vendor.startswith("ERR"))
    identity = DeviceIdentity(model, serial, firmware)
    text = scpi.format_identity(identity, vendor)
    assert text == f"{vendor},{model},{serial},{firmware}"
    assert scpi.parse_identity(text) == identity
    assert scpi.parse_idn(text) == (vendor, identity)
    assert scpi.parse_reply(f"#5 {text}") == Reply(5, True, text)


@pytest.mark.parametrize("text", ["", "a,b,c", "a,b,c,d,e", "a,,c,d", "a, ,c,d"])
def test_malformed_identity(text: str) -> None:
    with pytest.raises(ScpiError):
        scpi.parse_identity(text)


@pytest.mark.parametrize(
    ("vendor", "model"),
    [("Acme", "M,1"), ("Acme", "M*1"), ("ERR Medical", "M1"), ("Acme", ""), ("Acme", "M" * 65)],
)
def test_identity_that_cannot_be_sent(vendor: str, model: str) -> None:
    with pytest.raises(ScpiError):
        scpi.format_identity(DeviceIdentity(model, "S1", "1.0"), vendor)


waveforms = st.builds(
    Waveform,
    shape=st.sampled_from(list(WaveShape)),
    frequency_hz=st.floats(0.1, 1000),
    current_ua=st.integers(1, 100).map(lambda n: 10.0 * n),
    polarity=st.sampled_from(list(Polarity)),
    reversal_interval_s=st.floats(0.5, 3600),
)


@FAST
@given(waveforms)
def test_waveform_commands_round_trip_through_the_machines_parser(waveform: Waveform) -> None:
    texts = scpi.set_waveform_commands(waveform)
    received = [
        scpi.parse_command(body)
        for body in LineDecoder().feed(
            b"".join(scpi.command(seq, text) for seq, text in enumerate(texts))
        )
    ]
    assert [c.seq for c in received] == list(range(len(texts)))
    by_keyword = {c.keyword: c for c in received}
    shape = {v: k for k, v in scpi.SHAPE_MNEMONICS.items()}[by_keyword[Keyword.FUNCTION].argument]
    polarity = {v: k for k, v in scpi.POLARITY_MNEMONICS.items()}[
        by_keyword[Keyword.POLARITY].argument
    ]
    assert (shape, polarity) == (waveform.shape, waveform.polarity)
    assert by_keyword[Keyword.FREQUENCY].number == waveform.frequency_hz
    assert by_keyword[Keyword.RAMP].number == 0.0
    assert Keyword.CURRENT not in by_keyword  # configure() never changes the amplitude
    keywords = [c.keyword for c in received]
    if waveform.polarity is Polarity.ALTERNATING:
        assert by_keyword[Keyword.REVERSAL_INTERVAL].number == waveform.reversal_interval_s
        assert keywords.index(Keyword.REVERSAL_INTERVAL) < keywords.index(Keyword.POLARITY)
    else:
        assert Keyword.REVERSAL_INTERVAL not in by_keyword


@pytest.mark.parametrize(
    "waveform",
    [
        Waveform(WaveShape.SQUARE, 0.05, 100.0),
        Waveform(WaveShape.SQUARE, math.nan, 100.0),
        Waveform(WaveShape.SINE, 10.0, 100.0, Polarity.ALTERNATING, reversal_interval_s=0.2),
    ],
)
def test_waveform_the_protocol_cannot_carry(waveform: Waveform) -> None:
    with pytest.raises(ScpiError):
        scpi.set_waveform_commands(waveform)


@FAST
@given(st.floats(0, 1000))
def test_current_is_sent_rounded_down_to_a_tenth(current: float) -> None:
    sent = scpi.parse_command(f"#1 {scpi.set_current_command(current)}").number
    assert current - 0.1 < sent <= current + 1e-6
    assert sent * 10 == pytest.approx(round(sent * 10))


def test_current_outside_the_protocol() -> None:
    for bad in (-0.1, 1000.1, math.nan, math.inf):
        with pytest.raises(ScpiError):
            scpi.set_current_command(bad)
    assert scpi.set_current_command(0) == "SOUR:CURR 0"
    assert scpi.set_current_command(299.99) == "SOUR:CURR 299.9"


# -- replies and commands --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("#12 OK", Reply(12, True)),
        ("#0 ON", Reply(0, True, "ON")),
        ('#9999 0,"No error"', Reply(9999, True, '0,"No error"')),
        ('#7 ERR -222,"Data out of range"', Reply(7, False, None, -222, "Data out of range")),
        ('#7 ERR 301,"Trip ""A"", latched"', Reply(7, False, None, 301, 'Trip "A", latched')),
        ("#3 OK Medical,M1,S1,1.0", Reply(3, True, "OK Medical,M1,S1,1.0")),
    ],
)
def test_parse_reply(line: str, reply: Reply) -> None:
    assert scpi.parse_reply(line) == reply
    assert scpi.parse_reply(scpi.format_reply(reply)) == reply


@pytest.mark.parametrize(
    "line",
    [
        "",
        "#",
        "# OK",
        "#12",
        "#12 ",
        "#12345 OK",
        "12 OK",
        "#x OK",
        "#12 ERR",
        "#12 ERR 5",
        '#12 ERR -222,"open',
        "#12 ERROR",
        "!HB 1 ON 0",
    ],
)
def test_malformed_reply(line: str) -> None:
    with pytest.raises(ScpiError):
        scpi.parse_reply(line)


def test_a_query_value_that_reads_as_ok_or_err_cannot_be_sent() -> None:
    for value in ("OK", "ERR 5", " "):
        with pytest.raises(ScpiError):
            scpi.format_reply(Reply(1, True, value))
    with pytest.raises(ScpiError):
        scpi.format_reply(Reply(1, False))


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("#1 *IDN?", Command(1, Keyword.IDN)),
        ("#2 syst:cap?", Command(2, Keyword.CAPABILITIES)),
        ("#3 SOUR:FUNC bip", Command(3, Keyword.FUNCTION, "BIP")),
        ("#4 SOUR:FREQ 0.1", Command(4, Keyword.FREQUENCY, "0.1")),
        ("#5 SOUR:CURR 300", Command(5, Keyword.CURRENT, "300")),
        ("#6 SOUR:POL alt", Command(6, Keyword.POLARITY, "ALT")),
        ("#7 SOUR:POL:INT 2.5", Command(7, Keyword.REVERSAL_INTERVAL, "2.5")),
        ("#8 SOUR:RAMP 0", Command(8, Keyword.RAMP, "0")),
        ("#9 OUTP on", Command(9, Keyword.OUTPUT, "ON")),
        ("#10 OUTP?", Command(10, Keyword.OUTPUT_QUERY)),
        ("#11 MEAS:STR OFF", Command(11, Keyword.STREAM, "OFF")),
        ("#12 SYST:ERR?", Command(12, Keyword.ERROR_QUERY)),
        ("#13 SYST:HEART", Command(13, Keyword.HEARTBEAT)),
        ("#14  OUTP   OFF ", Command(14, Keyword.OUTPUT, "OFF")),
    ],
)
def test_parse_command(line: str, command: Command) -> None:
    assert scpi.parse_command(line) == command
    assert scpi.parse_command(f"#{command.seq} {command.text()}") == command


@pytest.mark.parametrize(
    ("line", "code", "seq"),
    [
        ("OUTP ON", ErrorCode.COMMAND_ERROR, None),
        ("#12345 OUTP ON", ErrorCode.COMMAND_ERROR, None),
        ("#5", ErrorCode.COMMAND_ERROR, 5),
        ("#5 VOLT 3", ErrorCode.UNDEFINED_HEADER, 5),
        ("#5 SOUR:CURR", ErrorCode.MISSING_PARAMETER, 5),
        ("#5 OUTP? ON", ErrorCode.PARAMETER_NOT_ALLOWED, 5),
        ("#5 SOUR:CURR lots", ErrorCode.DATA_TYPE_ERROR, 5),
        ("#5 SOUR:CURR nan", ErrorCode.DATA_TYPE_ERROR, 5),
        ("#5 SOUR:CURR 1001", ErrorCode.DATA_OUT_OF_RANGE, 5),
        ("#5 SOUR:CURR -1", ErrorCode.DATA_OUT_OF_RANGE, 5),
        ("#5 SOUR:FREQ 0.01", ErrorCode.DATA_OUT_OF_RANGE, 5),
        ("#5 SOUR:POL:INT 0.1", ErrorCode.DATA_OUT_OF_RANGE, 5),
        ("#5 SOUR:RAMP 31", ErrorCode.DATA_OUT_OF_RANGE, 5),
        ("#5 SOUR:FUNC TRI", ErrorCode.ILLEGAL_PARAMETER_VALUE, 5),
        ("#5 OUTP MAYBE", ErrorCode.ILLEGAL_PARAMETER_VALUE, 5),
    ],
)
def test_malformed_command_says_which_error_to_answer(
    line: str, code: int, seq: int | None
) -> None:
    with pytest.raises(ScpiError) as caught:
        scpi.parse_command(line)
    assert (caught.value.code, caught.value.seq) == (code, seq)
    if seq is not None:  # the emulator can still answer under the right tag
        answer = scpi.format_reply(Reply(seq, False, None, caught.value.code, None))
        assert scpi.parse_reply(answer).error_code == code


# -- unsolicited lines -----------------------------------------------------------------------


def test_heartbeat_hello_and_async_errors_round_trip() -> None:
    beat = Heartbeat(1_500_000, True, Fault.OVER_CURRENT_TRIP | Fault.WATCHDOG)
    assert scpi.format_heartbeat(beat) == "!HB 1500000 ON 9"
    assert scpi.parse_heartbeat("!HB 1500000 ON 9") == beat
    assert scpi.parse_heartbeat("!HB 0 OFF 0") == Heartbeat(0, False, Fault(0))
    assert scpi.parse_hello("!HELLO 1 EMU") == Hello(1, True)
    assert scpi.parse_hello(scpi.format_hello(Hello(scpi.PROTOCOL_VERSION, False))) == Hello(
        1, False
    )
    line = scpi.format_async_error(ErrorCode.OVER_CURRENT_TRIP)
    assert line == '!ERR 301,"Over-current trip"'
    assert scpi.parse_async_error(line) == (301, "Over-current trip")
    assert scpi.format_error(0) == '0,"No error"'


@pytest.mark.parametrize(
    "line",
    [
        "!HB",
        "!HB 1 ON",
        "!HB -1 ON 0",
        "!HB 1 on 0",
        "!HB 1 ON 65536",
        "!HB 1 ON 0 7",
        "!HB x ON 0",
    ],
)
def test_malformed_heartbeat(line: str) -> None:
    with pytest.raises(ScpiError):
        scpi.parse_heartbeat(line)


@pytest.mark.parametrize(
    "line", ["!HELLO", "!HELLO 1", "!HELLO x HW", "!HELLO 1 SIM", "HELLO 1 HW"]
)
def test_malformed_hello(line: str) -> None:
    with pytest.raises(ScpiError):
        scpi.parse_hello(line)


def test_fault_names() -> None:
    assert scpi.fault_names(0) == ()
    assert scpi.fault_names(Fault.OVER_CURRENT_TRIP | Fault.CONTACT_OPEN) == (
        "over-current trip",
        "contact open",
    )
    assert scpi.fault_names(4 | 8 | 32) == (
        "hardware fault",
        "watchdog",
        "fault bit 0x0020",
    )


def test_sample_batch_empty() -> None:
    batch = SampleBatch.empty()
    assert len(batch) == 0 and batch.index.dtype == np.int64
    assert len(scpi.parse_measurements([])) == 0


def test_every_line_shown_in_the_specification_is_correctly_sealed() -> None:
    spec = Path(__file__).resolve().parent.parent / "docs" / "protocols" / "scpi.md"
    in_code, shown = False, []
    for text in spec.read_text(encoding="utf-8").splitlines():
        if text.startswith("```"):
            in_code = not in_code
            continue
        match = re.match(r"(?:[<>] )?([#!].*?\*[0-9A-F]{2})(?:\s{2,}.*)?$", text)
        if in_code and match:
            shown.append(match.group(1))
    assert len(shown) >= 40
    decoder = LineDecoder()
    bodies = decoder.feed(b"".join(line.encode() + b"\n" for line in shown))
    assert decoder.lines_dropped == 0, decoder.dropped_by_reason
    assert bodies == [line[:-3] for line in shown]
    # ... and each parses as what it claims to be.
    for body in bodies:
        kind = scpi.classify(body)
        if kind is LineKind.REPLY:
            (scpi.parse_reply if not _is_console_line(body) else scpi.parse_command)(body)
        elif kind is LineKind.MEASUREMENT:
            assert scpi.parse_measurements([body]).dropped == 0
        elif kind is LineKind.HEARTBEAT:
            scpi.parse_heartbeat(body)
        elif kind is LineKind.HELLO:
            scpi.parse_hello(body)
        else:
            assert kind is LineKind.ERROR
            scpi.parse_async_error(body)


def _is_console_line(body: str) -> bool:
    header = body.split(" ")[1].upper() if " " in body else ""
    return header in {keyword.value for keyword in Keyword}
