"""Trainer-mode window figures (issue 7): run it (offscreen is fine) and read the numbers.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/trainer_ui_benchmark.py [--seconds S]

The main window (1440×900) runs lifting on the simulated machine at each trainer speed, alone and
with the demonstration view open at 1920×1080 (a projector). For each: the pace actually kept
(goal: the chosen one), the scope's and the demonstration's frames per second (goal: >= 20 with
both windows up to ×10), and the whole process's CPU in cores (engine, machine, GUI).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore

from console.plugins import load_plugins
from console.session import Console
from console.ui.app import make_application
from ui_benchmark import open_window  # the sibling script (its folder is on sys.path)

SPEEDS = (1.0, 10.0, 60.0)


def measure(speed: float, demonstration: bool, seconds: float) -> str:
    """One run: a session started, one second to settle, then ``seconds`` measured."""
    app = make_application()
    console = Console(load_plugins(blocked=()))
    console.connect("simulator", speed=speed)
    window = open_window(console, "lifting")
    if demonstration:
        window.show_demonstration()
        assert window.demo_view is not None
        window.demo_view.resize(1920, 1080)
    window.start_session()
    start: dict[str, float] = {}
    result: list[str] = []

    def demo_frames() -> int:
        return window.demo_view.frames if window.demo_view is not None else 0

    def begin() -> None:
        start.update(
            cpu=time.process_time(),
            wall=time.monotonic(),
            sim=console.clock.now(),
            scope=window.scope.frames_drawn,
            demo=demo_frames(),
        )

    def end() -> None:
        wall = time.monotonic() - start["wall"]
        cpu = (time.process_time() - start["cpu"]) / wall
        pace = (console.clock.now() - start["sim"]) / wall
        scope = (window.scope.frames_drawn - start["scope"]) / wall
        demo = (demo_frames() - start["demo"]) / wall
        shown = f", demonstration {demo:4.1f} fps" if demonstration else ""
        result.append(
            f"   ×{speed:<3g} {'with' if demonstration else 'without'} the demonstration view: "
            f"pace ×{pace:.1f}, scope {scope:4.1f} fps{shown}, CPU {cpu:.2f} cores"
        )
        assert window.engine is not None
        window.engine.emergency_stop()
        window.engine.wait(5)
        app.quit()

    QtCore.QTimer.singleShot(1000, begin)
    QtCore.QTimer.singleShot(int(1000 * (1 + seconds)), end)
    app.exec()
    if window.demo_view is not None:
        window.demo_view.close()
    window.close()
    console.disconnect()
    return result[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured wall seconds per run")
    args = parser.parse_args()
    print("Main window 1440×900, lifting at 2 kS/s; demonstration view 1920×1080")
    for demonstration in (False, True):
        for speed in SPEEDS:
            print(measure(speed, demonstration, args.seconds), flush=True)


if __name__ == "__main__":
    main()
