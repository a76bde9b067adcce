"""How evenly the framed emulator spaces its SAMPLES batches: run it and read the numbers.

    .venv/bin/python benchmarks/emulator_pacing_benchmark.py [--seconds 30]
    .venv/bin/python tools/under_load.py --busy 2 -- \\
        .venv/bin/python benchmarks/emulator_pacing_benchmark.py

The emulator (``python -m device_drivers.emulator`` as a firmware engineer runs it, in a process
of its own, at 2 kS/s) serves a pty; this process reads it as a console would, sending a
keep-alive every 100 ms. Two figures, since a busy computer delays both sides:

1. when the emulator sent each batch (its own clock, taken in its process): the machine's part,
   which the spec bounds at 20 ms (docs/protocols/framed.md, section 5, SAMPLES);
2. when each batch arrived here: what a console on the same busy computer sees.

Also the largest batch: after a delay the emulator owes more samples, and sends them at once in
full frames (up to 200 samples), never in late small ones.
"""

from __future__ import annotations

import argparse
import atexit
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GOAL_MS = 20.0


def child(report: str, emulator_args: list[str]) -> int:
    """The emulator, with the time of each batch it sends written to ``report`` at exit."""
    from device_drivers import emulator

    sent: list[float] = []
    stream = emulator.EmulatorServer._stream

    def timed(self: emulator.EmulatorServer, with_heartbeat: bool) -> None:
        sent.append(time.monotonic())
        stream(self, with_heartbeat)

    emulator.EmulatorServer._stream = timed  # type: ignore[method-assign]
    atexit.register(lambda: Path(report).write_text("\n".join(map(repr, sent))))
    return emulator.main(emulator_args)


def gaps_line(name: str, times: list[float]) -> str:
    gaps = np.diff(np.asarray(times)) * 1000
    late = int(np.count_nonzero(gaps > GOAL_MS))
    return (
        f"   {name}: {len(times):,} batches, gaps median {np.median(gaps):.1f} ms, "
        f"p99 {np.percentile(gaps, 99):.1f} ms, longest {gaps.max():.1f} ms; "
        f"{late} over {GOAL_MS:.0f} ms ({late / max(len(gaps), 1):.2%})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--child", metavar="REPORT", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.child:
        return child(args.child, rest)

    sys.path.insert(0, str(ROOT))
    from device_drivers import framed_protocol as fp

    report = Path(os.environ.get("TMPDIR", "/tmp")) / f"emulator-pacing-{os.getpid()}.txt"
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", str(report), "--protocol", "framed", "--pty"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    port = process.stdout.readline().strip()
    fd = os.open(port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    decoder = fp.FrameDecoder()
    arrived: list[float] = []
    largest = 0
    seq, next_keepalive = 0, 0.0
    end = time.monotonic() + args.seconds
    try:
        while (now := time.monotonic()) < end:
            if now >= next_keepalive:  # the console is alive: nothing changes state
                seq = (seq + 1) % 256
                os.write(fd, fp.encode_frame(fp.Frame(fp.FrameType.HEARTBEAT_REQUEST, seq)))
                next_keepalive = now + 0.1
            ready, _, _ = select.select([fd], [], [], 0.01)
            if not ready:
                continue
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                continue
            at = time.monotonic()
            for frame in decoder.feed(data):
                if frame.type is fp.FrameType.SAMPLES:
                    arrived.append(at)
                    largest = max(largest, int.from_bytes(frame.payload[16:18], "little"))
    finally:
        os.close(fd)
        process.terminate()
        process.wait(20)
    sent = [float(line) for line in report.read_text().split()]
    report.unlink()
    print(f"framed emulator at 2 kS/s for {args.seconds:g} s (goal: batches at most 20 ms apart)")
    print(gaps_line("1. sent by the emulator", sent[1:]))
    print(gaps_line("2. arrived here       ", arrived))
    print(f"   largest batch {largest} samples (at most 200 a frame)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
