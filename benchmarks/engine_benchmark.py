"""Engine figures for the core issue: run it and read the numbers.

    .venv/bin/python benchmarks/engine_benchmark.py [--quick]

1. A whole lifting protocol on the simulated machine at 2 kS/s, as fast as the engine can
   (``--speed max``; goal: at most 0.5 s of wall time on the 2-core machine), and the same run
   tick by tick as on a paced clock: the delivered charge must agree.
2. Emergency stop: from the press (an event that wakes a waiting UI thread) to the driver's
   ``stop_output`` call, while the engine runs in real time and another thread keeps the
   interpreter busy (goal: p99 under 20 ms).
3. Memory over a 60-minute session: resident memory and Python allocations every 10 simulated
   minutes (goal: flat — the ring buffer is bounded).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import threading
import time
import tracemalloc
from pathlib import Path

from console.engine.clock import RealClock, VirtualClock
from console.engine.events import EngineState, Progress
from console.engine.runner import TreatmentEngine
from console.plugins import load_plugins
from console.protocols import Protocol, RecommendedSeries, Step
from device_drivers.simulator import SimulatedMachine


def rss_mib() -> float:
    """Resident set size of this process now, MiB (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 2**20


class _TickByTickClock(VirtualClock):
    """Unpaced virtual time on which the engine keeps its normal tick (as on a paced clock)."""

    free_running = False


def _run_whole(protocol: Protocol, driver_info, clock: VirtualClock, seed: int):
    machine = SimulatedMachine(clock, sample_rate_hz=2000, seed=seed)
    engine = TreatmentEngine(machine, driver_info, clock)
    engine.prepare(protocol)
    started = time.perf_counter()
    summary = engine.run(timeout=120)
    wall = time.perf_counter() - started
    assert summary.state is EngineState.FINISHED, summary.reason
    engine.close()
    return wall, sum(step.charge_uc for step in summary.steps), engine.ring.total_written


def whole_protocol(protocol: Protocol, driver_info, runs: int) -> None:
    """Figure 1: ``--speed max`` (strides while steady) against the same run tick by tick."""
    simulated = protocol.duration_s
    print(
        f"1. whole '{protocol.id}' protocol: {len(protocol.steps)} steps, {simulated / 60:.1f} min"
    )
    charges = {}
    for label, make_clock, goal in (
        ("--speed max", VirtualClock, "  goal <= 0.5 s"),
        ("tick by tick", _TickByTickClock, ""),
    ):
        walls = []
        for run in range(runs):
            wall, charge, samples = _run_whole(protocol, driver_info, make_clock(), seed=run)
            walls.append(wall)
            charges[label] = charge
        best, median = min(walls), statistics.median(walls)
        print(
            f"   {label:<13} {samples:,} samples at 2 kS/s; wall best {best:.2f} s, median "
            f"{median:.2f} s over {runs} runs ({simulated / median:,.0f}x real time, "
            f"{samples / median / 1e6:.2f} M samples/s){goal}"
        )
    a, b = charges.values()
    print(
        f"   charge {a:,.1f} µC at max, {b:,.1f} µC tick by tick "
        f"(differ by {abs(a - b) / b * 100:.4f} %)  goal: the same treatment"
    )


class _StopTimer(SimulatedMachine):
    """Records when stop_output is entered."""

    stop_called_at: float | None = None

    def stop_output(self) -> None:
        if self.stop_called_at is None:
            self.stop_called_at = time.perf_counter()
        super().stop_output()


def _ui_thread(engine: TreatmentEngine, pressed: threading.Event) -> None:
    """A UI thread: it sleeps until the operator presses the button, then asks for the stop."""
    pressed.wait()
    engine.emergency_stop()


def emergency_stop_latency(protocol: Protocol, driver_info, trials: int) -> None:
    """Figure 2."""
    busy_stop = threading.Event()

    def keep_interpreter_busy() -> None:
        x = 0
        while not busy_stop.is_set():
            for i in range(10_000):
                x += i * i

    busy = threading.Thread(target=keep_interpreter_busy, daemon=True)
    busy.start()
    latencies = []
    try:
        for _ in range(trials):
            clock = RealClock()
            machine = _StopTimer(clock)
            engine = TreatmentEngine(machine, driver_info, clock)
            engine.prepare(protocol)
            engine.start()
            time.sleep(0.03)  # treating: ramping up
            machine.stop_called_at = None
            pressed = threading.Event()
            ui = threading.Thread(target=_ui_thread, args=(engine, pressed))
            ui.start()
            time.sleep(0.005)
            # The press: from here the UI thread must win the interpreter back from the busy
            # thread (and the engine thread) before it can act; all of that counts.
            requested = time.perf_counter()
            pressed.set()
            ui.join()
            engine.wait(5)
            assert machine.stop_called_at is not None and engine.state is EngineState.ABORTED
            latencies.append((machine.stop_called_at - requested) * 1000)
            engine.close()
    finally:
        busy_stop.set()
        busy.join()
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"2. emergency stop -> driver stop_output, {trials} trials with a busy thread: "
        f"p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {latencies[-1]:.3f} ms  goal p99 < 20 ms"
    )


def memory_over_an_hour(driver_info) -> None:
    """Figure 3."""
    step = Step("cheek_left", _template_waveform(), 180.0, "Hold both probes still.")
    steps = tuple(
        Step("cheek_left" if i % 2 == 0 else "cheek_right", step.waveform, 180.0, step.technique)
        for i in range(20)
    )
    hour = Protocol(
        id="hour",
        name="Sixty minutes",
        category="benchmark",
        description="Twenty 3-minute steps.",
        steps=steps,
        series=RecommendedSeries(1, 10, (4, 6)),
    )
    clock = VirtualClock()
    machine = SimulatedMachine(clock, sample_rate_hz=2000)
    engine = TreatmentEngine(machine, driver_info, clock)
    marks: list[tuple[float, float, float]] = []
    next_mark = [0.0]
    origin = [None]

    def sample_memory(event) -> None:
        if not isinstance(event, Progress):
            return
        if origin[0] is None:
            origin[0] = event.at_s
        minutes = (event.at_s - origin[0]) / 60
        if minutes >= next_mark[0]:
            current, _ = tracemalloc.get_traced_memory()
            marks.append((minutes, rss_mib(), current / 2**20))
            next_mark[0] += 10

    engine.subscribe(sample_memory)
    gc.collect()
    tracemalloc.start()
    engine.prepare(hour)
    summary = engine.run(timeout=600)
    tracemalloc.stop()
    assert summary.state is EngineState.FINISHED
    print(
        f"3. memory over a {hour.duration_s / 60:.0f}-minute session "
        f"(ring buffer {engine.ring.capacity:,} samples):"
    )
    for minutes, rss, traced in marks:
        print(f"   t={minutes:4.0f} min  RSS {rss:7.1f} MiB  Python allocations {traced:6.2f} MiB")
    growth = marks[-1][2] - marks[1][2] if len(marks) > 2 else float("nan")
    print(f"   growth of Python allocations from 10 to 60 min: {growth:+.2f} MiB  goal: flat")


def _template_waveform():
    from console.waveforms import Polarity, Waveform, WaveShape

    return Waveform(WaveShape.SQUARE, 0.5, 300.0, Polarity.ALTERNATING, 2.0, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    args = parser.parse_args()
    host = load_plugins()
    driver_info = host.drivers["simulator"]
    lifting = host.protocols["lifting"]
    whole_protocol(lifting, driver_info, runs=1 if args.quick else 5)
    emergency_stop_latency(lifting, driver_info, trials=20 if args.quick else 200)
    memory_over_an_hour(driver_info)


if __name__ == "__main__":
    main()
