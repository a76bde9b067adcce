"""Trainer-mode figures (issue 7): run it and read the numbers.

    .venv/bin/python benchmarks/trainer_benchmark.py [--seconds S]

1. The same treatment at every trainer speed: delivered charge against the as-fast-as-possible
   run (goal: within 1 %; the trainer clock makes it identical), and the pace actually achieved.
2. What a pace costs: CPU time of the engine, the simulated machine and skin per wall second at
   each speed, for the first minutes of lifting at 2 kS/s (goal: ×60 well under one core, so the
   window keeps its frame rate on a 2-core machine).
3. Holding time: CPU per wall second while the clock is held mid-session (goal: near zero).
4. The fastest paces from the command line: ``mc-console run --protocol toning`` at ×1,000,
   ×10,000 (the highest accepted) and ``max``, each in a fresh process: wall time and peak memory
   (goal: the same memory at every pace, and every pace ends in seconds: a fixed pace moves
   the clock tick by tick, so it takes a few times longer than ``max``, which skips ahead while
   a step holds steady).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

from console.engine.clock import MAX_SPEED, TRAINER_SPEEDS, TrainerClock, VirtualClock
from console.engine.events import EngineState
from console.engine.runner import TreatmentEngine
from console.plugins import load_plugins
from console.protocols import Protocol, RecommendedSeries, Step, checked
from console.waveforms import Polarity, Waveform, WaveShape
from device_drivers.simulator import SimulatedMachine


def short_protocol() -> Protocol:
    """One 10-second biphasic step with a ramp and polarity reversals."""
    waveform = Waveform(WaveShape.BIPHASIC, 10.0, 400.0, Polarity.ALTERNATING, 2.0, 2.0)
    return checked(
        Protocol(
            id="bench",
            name="Benchmark",
            category="toning",
            description="One step.",
            steps=(Step("cheek_left", waveform, 10.0, "Hold still."),),
            series=RecommendedSeries(1, 1, (4, 6)),
        )
    )


def charge_at_every_speed(driver_info) -> None:  # type: ignore[no-untyped-def]
    """Figure 1."""
    protocol = short_protocol()

    def run(clock) -> tuple[float, float]:  # type: ignore[no-untyped-def]
        engine = TreatmentEngine(SimulatedMachine(clock, seed=7), driver_info, clock)
        engine.prepare(protocol)
        started = time.monotonic()
        summary = engine.run(timeout=120)
        engine.close()
        assert summary.state is EngineState.FINISHED
        return summary.total_charge_uc, time.monotonic() - started

    reference, _ = run(VirtualClock())
    print("1. Delivered charge of a 10 s step at each speed (reference: as fast as possible)")
    print(f"   reference {reference:,.3f} µC")
    for speed in TRAINER_SPEEDS:
        charge, wall = run(TrainerClock(speed))
        print(
            f"   ×{speed:<4g} {charge:,.3f} µC  difference {100 * (charge - reference) / reference:+.4f} %"
            f"  wall {wall:5.2f} s  achieved pace ×{protocol.duration_s / wall:.2f}"
        )


def cost_per_speed(driver_info, protocol: Protocol, seconds: float) -> None:  # type: ignore[no-untyped-def]
    """Figures 2 and 3."""
    print(f"\n2. CPU per wall second, lifting at 2 kS/s, {seconds:g} wall s per speed")
    for speed in TRAINER_SPEEDS:
        clock = TrainerClock(speed)
        engine = TreatmentEngine(SimulatedMachine(clock, seed=3), driver_info, clock)
        engine.prepare(protocol)
        engine.start()
        cpu0, wall0 = time.process_time(), time.monotonic()
        time.sleep(seconds)
        cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0)
        simulated = clock.now()
        if speed == TRAINER_SPEEDS[-1]:
            clock.pause()
            time.sleep(0.2)
            cpu1, wall1 = time.process_time(), time.monotonic()
            time.sleep(seconds)
            held = (time.process_time() - cpu1) / (time.monotonic() - wall1)
        engine.emergency_stop()
        engine.wait(5)
        engine.close()
        print(
            f"   ×{speed:<4g} {100 * cpu:5.1f} % of a core, {simulated:6.1f} simulated s "
            f"in {seconds:g} s (pace ×{simulated / seconds:.1f})"
        )
    print(f"\n3. Time held mid-session: {100 * held:.2f} % of a core")


def run_measured(argv: list[str]) -> tuple[int, float, float, str]:
    """Run ``argv``; its exit status, wall seconds, peak resident MiB and last line of output."""
    with tempfile.TemporaryFile("w+") as output:
        started = time.monotonic()
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own peak, not all children's
        wall = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        lines = output.read().strip().splitlines() or ["(no output)"]
    return process.returncode, wall, usage.ru_maxrss / 1024, lines[-1]


def fastest_paces() -> None:
    print("\n4. mc-console run --protocol toning (17:40) at the fastest paces, a process each")
    for speed in ("1000", f"{MAX_SPEED:g}", "max"):
        argv = [sys.executable, "-m", "console.cli", "run", "--protocol", "toning"]
        status, wall, peak_mib, last = run_measured([*argv, "--speed", speed])
        print(f"   --speed {speed:>5}: {wall:5.1f} s, peak {peak_mib:6.1f} MiB, exit {status}")
        if status != 0:
            print(f"      {last}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="wall seconds per speed")
    args = parser.parse_args()
    host = load_plugins(blocked=())
    info = host.drivers["simulator"]
    charge_at_every_speed(info)
    cost_per_speed(info, host.protocols["lifting"], args.seconds)
    fastest_paces()


if __name__ == "__main__":
    main()
