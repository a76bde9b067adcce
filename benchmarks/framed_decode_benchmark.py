"""Decode throughput of the framed protocol: run it and read the numbers.

    .venv/bin/python benchmarks/framed_decode_benchmark.py [--samples N] [--chunk BYTES]

A stream of SAMPLES frames of 160 samples each (~2 M samples by default) is encoded once, then
timed through what the serial driver does with it: ``FrameDecoder.feed`` on chunks of the size a
serial read returns, and ``unpack_samples`` on every frame. Goal: at least 10,000,000 samples/s on
one core on every stream (issue 16: what PyPI ``cobs`` in C, ``binascii.crc_hqx`` and numpy
give). A machine at 20 kS/s, the fastest the console supports, needs 0.2 % of that.

Two signals: a noisy 300 µA square wave at 2 kS/s (half the samples near zero, so the bodies
hold many 0x00 bytes, as real streams do), and the worst case for COBS, all-zero samples (every
body byte a zero: one COBS group per byte).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from device_drivers.framed_protocol import (
    Frame,
    FrameDecoder,
    FrameType,
    encode_frame,
    pack_samples,
    unpack_samples,
)

GOAL_SAMPLES_PER_S = 10_000_000
SAMPLES_PER_FRAME = 160
RATE_HZ = 2000


def square_wave(total: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A 1 Hz, 300 µA square wave with measurement noise, through a 20 kΩ load."""
    rng = np.random.default_rng(seed)
    t = np.arange(total) / RATE_HZ
    current = np.where((t % 1.0) < 0.5, 300.0, 0.0) + rng.normal(0.0, 0.3, total)
    return current, current * 0.02  # µA × 20 kΩ = mV; / 1000 → V


def encode_stream(current: np.ndarray, voltage: np.ndarray) -> bytes:
    """The wire bytes of ``current``/``voltage`` as consecutive SAMPLES frames."""
    wires = []
    for k, start in enumerate(range(0, len(current), SAMPLES_PER_FRAME)):
        end = start + SAMPLES_PER_FRAME
        payload = pack_samples(
            start, start * 1_000_000 // RATE_HZ, RATE_HZ, current[start:end], voltage[start:end]
        )
        wires.append(encode_frame(Frame(FrameType.SAMPLES, k % 256, payload)))
    return b"".join(wires)


def decode(stream: bytes, chunk: int) -> tuple[int, float, FrameDecoder]:
    """Feed ``stream`` in ``chunk``-byte reads and unpack every frame: samples and seconds."""
    reads = [stream[i : i + chunk] for i in range(0, len(stream), chunk)]
    decoder = FrameDecoder()
    samples = 0
    started = time.perf_counter()
    for read in reads:
        for frame in decoder.feed(read):
            samples += len(unpack_samples(frame.payload))
    return samples, time.perf_counter() - started, decoder


def report(name: str, stream: bytes, chunk: int, runs: int) -> None:
    """Best of ``runs`` decodes of ``stream``."""
    best = None
    for _ in range(runs):
        samples, seconds, decoder = decode(stream, chunk)
        best = seconds if best is None else min(best, seconds)
    assert decoder.frames_dropped == 0, decoder.dropped_by_reason
    rate = samples / best
    verdict = "ok" if rate >= GOAL_SAMPLES_PER_S else "BELOW GOAL"
    print(
        f"{name}: {samples:,} samples in {decoder.frames_ok:,} frames, "
        f"{len(stream) / 2**20:.1f} MiB, best {best:.3f} s → {rate:,.0f} samples/s "
        f"({len(stream) / best / 2**20:.0f} MiB/s)  goal ≥ {GOAL_SAMPLES_PER_S:,}  {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2_000_000, help="samples per stream")
    parser.add_argument("--chunk", type=int, default=4096, help="bytes per feed() call")
    parser.add_argument("--runs", type=int, default=3, help="decodes per stream (best is kept)")
    args = parser.parse_args()
    current, voltage = square_wave(args.samples)
    report("square wave 300 µA ", encode_stream(current, voltage), args.chunk, args.runs)
    zeros = np.zeros(args.samples)
    report("all-zero (worst)   ", encode_stream(zeros, zeros), args.chunk, args.runs)


if __name__ == "__main__":
    main()
