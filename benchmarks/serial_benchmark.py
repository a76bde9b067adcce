"""Serial streaming figures for the real-machines issue: run it and read the numbers.

    .venv/bin/python benchmarks/serial_benchmark.py [--seconds 10]

For each wire protocol, an emulator runs in its own process (as a machine would: its own CPU)
and streams 20 kS/s through a pty; the driver reads it in this process, as the console does.
Printed: the CPU time of the driver's reader thread as a share of one core (goal < 25 %), the
samples received against the samples the machine measured in that time, and what the decoder
dropped (goal: nothing dropped). The decode-only speeds are in framed_decode_benchmark.py and
scpi_decode_benchmark.py.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from console.api import StreamMachineDriver
from console.engine.clock import RealClock
from device_drivers.framed_driver import FramedMachineDriver
from device_drivers.scpi_driver import ScpiMachineDriver

RATE_HZ = 20_000
DRIVERS: dict[str, type[StreamMachineDriver]] = {
    "framed": FramedMachineDriver,
    "scpi": ScpiMachineDriver,
}


def thread_cpu_s(native_id: int) -> float:
    """User + system CPU seconds of one thread of this process (Linux /proc)."""
    stat = Path(f"/proc/self/task/{native_id}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def stream(protocol: str, seconds: float) -> None:
    emulator = subprocess.Popen(
        [sys.executable, "-m", "device_drivers.emulator", "--protocol", protocol, "--pty",
         "--sample-rate", str(RATE_HZ)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert emulator.stdout is not None
        port = emulator.stdout.readline().strip()
        driver = DRIVERS[protocol](RealClock(), port=port)
        driver.open()
        assert driver.capabilities.sample_rate_hz == RATE_HZ, driver.capabilities
        reader = driver._reader
        assert reader is not None and reader.native_id is not None
        driver.read_samples()  # start counting from here
        times = []
        cpu0, wall0 = thread_cpu_s(reader.native_id), time.perf_counter()
        while time.perf_counter() - wall0 < seconds:
            time.sleep(0.02)  # the engine's tick
            block = driver.read_samples()
            if len(block):
                times.append(block.t)
        cpu, wall = thread_cpu_s(reader.native_id) - cpu0, time.perf_counter() - wall0
        received = sum(len(t) for t in times)
        missing = driver.samples_missing  # gaps in the machine's own sample index
        drops = {k: v for k, v in driver.decoder_counts().items() if v}
        driver.close()
    finally:
        emulator.terminate()
        emulator.wait(5)
    print(
        f"{protocol:>6}: reader thread {100 * cpu / wall:4.1f} % of a core (goal < 25 %), "
        f"{received / wall:,.0f} samples/s; {received:,} received, {missing:,} missing "
        f"(goal 0), decoder drops: {drops or 'none'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(f"streaming {RATE_HZ // 1000} kS/s through a pty for {args.seconds:g} s")
    for protocol in DRIVERS:
        stream(protocol, args.seconds)


if __name__ == "__main__":
    main()
