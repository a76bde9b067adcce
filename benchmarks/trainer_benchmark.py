"""Trainer-mode figures (issue 7): run it and read the numbers.

    .venv/bin/python benchmarks/trainer_benchmark.py [--seconds S]

1. The same treatment at every trainer speed: delivered charge against the as-fast-as-possible
   run (goal: within 1 %; the trainer clock makes it identical), and the pace actually achieved.
2. What a pace costs: CPU time of the engine, the simulated machine and skin per wall second at
   each speed, for the first minutes of lifting at 2 kS/s (goal: ×60 well under one core, so the
   window keeps its frame rate on a 2-core machine).
3. Holding time: CPU per wall second while the clock is held mid-session (goal: near zero).
"""

from __future__ import annotations

import argparse
import time

from console.engine.clock import TRAINER_SPEEDS, TrainerClock, VirtualClock
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="wall seconds per speed")
    args = parser.parse_args()
    host = load_plugins(blocked=())
    info = host.drivers["simulator"]
    charge_at_every_speed(info)
    cost_per_speed(info, host.protocols["lifting"], args.seconds)


if __name__ == "__main__":
    main()
