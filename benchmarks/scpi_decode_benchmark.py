"""SCPI stream decode speed: run it and read the numbers.

    .venv/bin/python benchmarks/scpi_decode_benchmark.py [--quick] [--samples N] [--chunk BYTES]

1. The driver's receive path on one core: bytes in ~4 KB chunks → ``LineDecoder.feed_split``
   (checks every line, splits the measurements from the rest and parses them in one), on a
   realistic stream (2 kS/s of ``!M`` lines with a heartbeat every 100 ms and an answer now and
   then), and on a noisy one (a flipped bit every ~50 lines: drops and the exact per-line
   fallback must not collapse the rate).
   Goal: at least 1,000,000 samples/s on each — 500x the 2 kS/s a machine streams (issue 16).
2. The same stream through the three separate steps (``feed`` → ``split_measurements`` →
   ``MeasurementParser.parse``, what the emulator and the wire checker use), and the stages.
3. Ways to verify one line's checksum, per line, against the vectorised per-chunk XOR the decoder
   uses — why the decoder works on whole chunks.
"""

from __future__ import annotations

import argparse
import functools
import operator
import statistics
import time
from collections.abc import Callable

import numpy as np

from device_drivers import scpi_protocol as scpi

GOAL_SAMPLES_PER_S = 1_000_000
SAMPLE_RATE_HZ = 2_000


def make_stream(samples: int, seed: int = 1, corrupt_every: int = 0) -> bytes:
    """``samples`` measurement lines as a machine sends them after 2 h of uptime, plus a
    heartbeat every 200 samples (100 ms) and an answer every 1000; optionally corrupted."""
    rng = np.random.default_rng(seed)
    start = 2 * 3600 * SAMPLE_RATE_HZ
    index = np.arange(start, start + samples, dtype=np.int64)
    batch = scpi.SampleBatch(
        index,
        index * (1_000_000 // SAMPLE_RATE_HZ) + 137,
        np.round(rng.normal(300.0, 40.0, samples), 1),
        np.round(rng.normal(2.0, 0.3, samples), 3),
    )
    bodies = scpi.format_measurements(batch)
    lines: list[str] = []
    for i, body in enumerate(bodies):
        if i % 200 == 0:
            lines.append(scpi.format_heartbeat(scpi.Heartbeat(int(batch.machine_time_us[i]), True)))
        if i % 1000 == 500:
            lines.append(f"#{i % scpi.SEQ_MODULUS} OK")
        lines.append(body)
    stream = bytearray(scpi.seal_lines(lines))
    if corrupt_every:
        # Flip one bit in every n-th line's region (roughly; lines are ~40 bytes).
        for position in range(17, len(stream), 40 * corrupt_every):
            stream[position] ^= 0x04
    return bytes(stream)


def chunked(stream: bytes, size: int) -> list[bytes]:
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def receive(chunks: list[bytes]) -> tuple[int, scpi.LineDecoder, scpi.MeasurementParser]:
    """The driver's receive path; returns the samples decoded."""
    decoder = scpi.LineDecoder()
    parser = scpi.MeasurementParser()
    samples = 0
    for chunk in chunks:
        batch, _others = decoder.feed_split(chunk, parser)
        samples += len(batch)
    return samples, decoder, parser


def receive_in_steps(
    chunks: list[bytes],
) -> tuple[int, scpi.LineDecoder, scpi.MeasurementParser]:
    """The same in three separate steps; returns the samples decoded."""
    decoder = scpi.LineDecoder()
    parser = scpi.MeasurementParser()
    samples = 0
    for chunk in chunks:
        measurements, _others = scpi.split_measurements(decoder.feed(chunk))
        samples += len(parser.parse(measurements))
    return samples, decoder, parser


def best_of(runs: int, action: Callable[[], object]) -> tuple[float, float]:
    """Best and median wall time of ``runs`` calls."""
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        walls.append(time.perf_counter() - started)
    return min(walls), statistics.median(walls)


def whole_path(samples: int, chunk: int, runs: int) -> bool:
    """Figure 1; True when both streams meet the goal."""
    met = True
    print(f"1. bytes → LineDecoder.feed_split, {chunk}-byte chunks")
    for name, corrupt_every in (("clean", 0), ("noisy", 50)):
        stream = make_stream(samples, corrupt_every=corrupt_every)
        chunks = chunked(stream, chunk)
        decoded, decoder, parser = receive(chunks)
        if not corrupt_every:
            assert decoded == samples and decoder.lines_dropped == 0
            assert parser.samples_missing == 0
        best, median = best_of(runs, lambda chunks=chunks: receive(chunks))
        rate = decoded / median
        verdict = "OK" if rate >= GOAL_SAMPLES_PER_S else "BELOW GOAL"
        met = met and rate >= GOAL_SAMPLES_PER_S
        print(
            f"   {name} stream, {decoded:,} samples ({len(stream) / 1e6:.1f} MB): "
            f"median {rate:,.0f} samples/s, best {decoded / best:,.0f} samples/s  "
            f"goal >= {GOAL_SAMPLES_PER_S:,} samples/s: {verdict}"
        )
        if corrupt_every:
            print(
                f"   (dropped {decoder.dropped_by_reason}, {parser.lines_dropped} malformed "
                f"measurements, {parser.samples_missing:,} samples missing)"
            )
        else:
            print(
                f"   = {len(stream) / median / 1e6:.1f} MB/s; one core spends "
                f"{SAMPLE_RATE_HZ / rate * 100:.2f} % of its time on a 2 kS/s stream"
            )
    return met


def stages(samples: int, chunk: int, runs: int) -> None:
    """Figure 2."""
    stream = make_stream(samples)
    chunks = chunked(stream, chunk)
    in_steps = best_of(runs, lambda: receive_in_steps(chunks))[1]
    decoder_only = best_of(runs, lambda: [scpi.LineDecoder().feed(c) for c in chunks])[1]
    decoder = scpi.LineDecoder()
    batches = [scpi.split_measurements(decoder.feed(c))[0] for c in chunks]
    parse_only = best_of(runs, lambda: [scpi.parse_measurements(b) for b in batches])[1]
    print("2. the three steps (median)")
    print(f"   feed → split_measurements → parse: {samples / in_steps:,.0f} samples/s")
    print(f"   LineDecoder.feed alone:            {samples / decoder_only:,.0f} lines/s")
    print(f"   parse_measurements alone:          {samples / parse_only:,.0f} samples/s")


def checksum_options(lines: int) -> None:
    """Figure 3."""
    stream = make_stream(lines)
    contents = stream.split(b"\n")[:-1]
    bodies = [line[:-3] for line in contents]

    def loop(body: bytes) -> int:
        value = 0
        for byte in body:
            value ^= byte
        return value

    options: dict[str, Callable[[], object]] = {
        "python loop per line": lambda: [loop(b) for b in bodies],
        "functools.reduce per line": lambda: [functools.reduce(operator.xor, b, 0) for b in bodies],
        "numpy xor.reduce per line": lambda: [
            np.bitwise_xor.reduce(np.frombuffer(b, np.uint8)) for b in bodies
        ],
        "LineDecoder (xor.reduceat per chunk, all checks)": lambda: [
            scpi.LineDecoder().feed(c) for c in chunked(stream, 4096)
        ],
    }
    print(f"3. checksum verification, {len(bodies):,} lines (median of 3)")
    for name, action in options.items():
        median = best_of(3, action)[1]
        print(f"   {name:<48} {len(bodies) / median:>12,.0f} lines/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and runs")
    parser.add_argument("--samples", type=int, default=400_000)
    parser.add_argument("--chunk", type=int, default=4096, help="bytes per feed() call")
    args = parser.parse_args()
    samples = 50_000 if args.quick else args.samples
    runs = 3 if args.quick else 7
    met = whole_path(samples, args.chunk, runs)
    stages(samples, args.chunk, runs)
    checksum_options(min(samples, 50_000))
    raise SystemExit(0 if met else 1)


if __name__ == "__main__":
    main()
