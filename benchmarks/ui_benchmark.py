"""Scope and window figures for the console issue: run it (offscreen is fine) and read the numbers.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/ui_benchmark.py [--quick]

1. The live console: the main window runs a toning session in real time on the simulated machine
   at 20 kS/s with a 10 s scope window. Frames the scope drew per second, the process's CPU use
   (all threads: engine, device, GUI) in cores, and the age of the newest drawn sample when its
   frame finished painting (goal: >= 30 fps, < 1 core, p95 < 100 ms). The age is measured from
   the sample's own timestamp, so it also counts the time the sample waited inside the machine
   before the engine read it: an upper bound of "from the driver to the screen".
2. The same redraw loop as fast as it goes, on the same data and the same plot size: the console's
   scope widget against bare pyqtgraph (two linked plots, clip-to-view and peak downsampling, as
   pyqtgraph's own examples do it). The console's rate as a ratio of bare pyqtgraph's (goal >= 0.8).
3. Start-up, side by side: a bare PySide6 + pyqtgraph window showing one plot, and ``mc-console``
   (its window up with the simulated machine connected), each started in a fresh process until
   shown (its first frame painted); medians of a few runs and their ratio (goal: the console <=
   1.3x the bare window); and when the console's scope has its plots and its records are open
   too (both wait until the window is up: the records open in a worker thread, the plots import
   pyqtgraph; no session starts before the records are open). ``MC_CONSOLE_STARTUP_PROBE`` makes the console print a line
   at each and quit; times run from the start of the process to the line. The processes get
   compiled bytecode (a cache of their own), as an installed application has, even where
   ``PYTHONDONTWRITEBYTECODE`` is set, and a first, uncounted run of each warms it (and makes
   the records database, so the counted runs migrate nothing, as every start but the first).

   ``--start-up`` runs figure 3 alone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from console.drivers import SampleBlock
from console.engine.clock import RealClock
from console.engine.ringbuffer import SampleRing
from console.plugins import load_plugins
from console.session import Console
from console.ui.app import make_application, prepare_demo_visit
from console.ui.main_window import MainWindow
from console.ui.scope import ScopeWidget

RATE_HZ = 20_000
WINDOW_S = 10


class PaintTimer(QtCore.QObject):
    """Paints a plot's viewport itself, then records when that frame was finished."""

    def __init__(self, view: pg.GraphicsView, on_painted) -> None:  # type: ignore[no-untyped-def]
        super().__init__(view)
        self._view = view
        self._on_painted = on_painted
        view.viewport().installEventFilter(self)

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802
        if event.type() == QtCore.QEvent.Type.Paint:
            self._view.viewportEvent(event)
            self._on_painted()
            return True
        return False


class PaintCounter(QtCore.QObject):
    """Counts paint events of a widget (proof that a loop really painted every frame)."""

    def __init__(self, widget: QtWidgets.QWidget) -> None:
        super().__init__(widget)
        self.paints = 0
        widget.installEventFilter(self)

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802
        if event.type() == QtCore.QEvent.Type.Paint:
            self.paints += 1
        return False


def open_window(console: Console, protocol_id: str) -> MainWindow:
    """The 1440×900 main window over ``console`` (connected), with settings of its own and a
    demonstration client at the application stage of ``protocol_id``."""
    settings = QtCore.QSettings(
        str(Path(tempfile.mkdtemp()) / "bench.ini"), QtCore.QSettings.Format.IniFormat
    )
    window = MainWindow(console, settings)
    window.resize(1440, 900)
    window.show_connection(console.connection)
    window.show()
    prepare_demo_visit(window, protocol_id)
    return window


def live_console(seconds: float) -> None:
    """Figure 1."""
    app = make_application()
    console = Console(load_plugins())
    # The wall clock a real machine runs on: the trainer's clock (the simulator's default) moves
    # in engine ticks, which would hide the latency this figure is about.
    console.connect("simulator", clock=RealClock(), sample_rate_hz=RATE_HZ)
    window = open_window(console, "toning")
    window.start_session()
    assert window.engine is not None, "the session did not start"
    window.scope.set_window(WINDOW_S)
    ages_ms: list[float] = []
    scope = window.scope

    def painted() -> None:
        if scope.last_sample_t is not None:
            ages_ms.append((console.clock.now() - scope.last_sample_t) * 1000)

    PaintTimer(scope.plots, painted)
    _spin(app, 2.0)  # let the ring fill a little and the first frames settle
    frames0, ages_ms[:] = scope.frames_drawn, []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    _spin(app, seconds)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    frames = scope.frames_drawn - frames0
    window.engine.emergency_stop()
    window.engine.wait(5)
    samples_seen = window.engine.ring.total_written
    console.disconnect()
    window.close()
    p95 = float(np.percentile(ages_ms, 95)) if ages_ms else float("nan")
    print(f"1. live console, toning at {RATE_HZ // 1000} kS/s, {WINDOW_S} s window, {wall:.0f} s:")
    print(
        f"   {frames / wall:.1f} frames/s (goal >= 30), CPU {cpu / wall:.2f} cores (goal < 1), "
        f"{samples_seen:,} samples in the ring's lifetime"
    )
    print(
        f"   newest sample's age when its frame was painted: p50 {statistics.median(ages_ms):.0f} ms,"
        f" p95 {p95:.0f} ms, max {max(ages_ms):.0f} ms over {len(ages_ms)} paints (goal p95 < 100)"
    )


def _spin(app: QtWidgets.QApplication, seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 5)
        time.sleep(0.001)


def synthetic_stream(seconds: float) -> SampleBlock:
    """A measured-looking 10 Hz biphasic current and its load voltage, with noise."""
    t = np.arange(int(seconds * RATE_HZ)) / RATE_HZ
    phase = (t * 10.0) % 1.0
    current = np.where(phase < 0.5, 250.0, -250.0)
    current += np.random.default_rng(1).normal(0, 2.0, t.shape)
    return SampleBlock(t, current, current * 0.0065)


def max_rate(frames: int) -> None:
    """Figure 2."""
    app = make_application()
    size = (560, 560)
    per_frame = RATE_HZ // 30  # new samples between frames, as at 30 fps
    stream = synthetic_stream(WINDOW_S + frames / 30 + 1)

    def block(start: int, stop: int) -> SampleBlock:
        return SampleBlock(
            stream.t[start:stop], stream.current_ua[start:stop], stream.voltage_v[start:stop]
        )

    # The console's scope widget, fed through its ring buffer as in a session.
    scope = ScopeWidget()
    scope.build_plots()  # as the window does once it is up
    scope._timer.stop()  # we drive the frames
    scope.resize(*size)
    scope.show()
    app.processEvents()  # exposed, so that repaint() paints
    counter = PaintCounter(scope.plots.viewport())
    ring = SampleRing(RATE_HZ * 40)
    ring.append(block(0, WINDOW_S * RATE_HZ))
    scope.attach(ring, RATE_HZ, 0.0)
    scope.set_window(WINDOW_S)
    cursor = WINDOW_S * RATE_HZ
    started = time.perf_counter()
    for _ in range(frames):
        ring.append(block(cursor, cursor + per_frame))
        cursor += per_frame
        scope.refresh(force=True)
        scope.plots.viewport().repaint()
    console_fps = frames / (time.perf_counter() - started)
    assert counter.paints >= frames, f"the console loop painted {counter.paints} of {frames} frames"
    scope.close()

    # Bare pyqtgraph: the same data, the same window, the same size, no console around it.
    bare = pg.GraphicsLayoutWidget()
    bare.resize(size[0], size[1] - 30)
    top, bottom = bare.addPlot(row=0, col=0), bare.addPlot(row=1, col=0)
    bottom.setXLink(top)
    curves = []
    for plot in (top, bottom):
        plot.setClipToView(True)
        plot.setDownsampling(auto=True, mode="peak")
        curves.append(plot.plot(pen=pg.mkPen("#1f5fa8", width=1)))
    bare.show()
    app.processEvents()
    counter = PaintCounter(bare.viewport())
    cursor = WINDOW_S * RATE_HZ
    started = time.perf_counter()
    for _ in range(frames):
        cursor += per_frame
        window = slice(cursor - WINDOW_S * RATE_HZ, cursor)
        t = stream.t[window]
        curves[0].setData(t, stream.current_ua[window], skipFiniteCheck=True)
        curves[1].setData(t, stream.voltage_v[window], skipFiniteCheck=True)
        top.setXRange(t[0], t[-1], padding=0)
        bare.viewport().repaint()
    bare_fps = frames / (time.perf_counter() - started)
    assert counter.paints >= frames, f"the bare loop painted {counter.paints} of {frames} frames"
    bare.close()
    print(
        f"2. redraw loop as fast as it goes, {WINDOW_S} s at {RATE_HZ // 1000} kS/s, {frames} frames:"
    )
    print(
        f"   console scope {console_fps:.0f} fps, bare pyqtgraph {bare_fps:.0f} fps, "
        f"ratio {console_fps / bare_fps:.2f} (goal >= 0.8)"
    )


#: Figure 3's bare window: what any PySide6 + pyqtgraph application pays to show one plot. It
#: says "ready" once its first frame is painted, as the console does (Qt paints a window while
#: it handles the window's UpdateRequest; what is queued then runs after the frame).
BARE_WINDOW = """
import sys
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets
app = QtWidgets.QApplication(sys.argv[:1])
plot = pg.PlotWidget()
plot.plot([0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 0.0, 1.0])
class FirstFrame(QtCore.QObject):
    def eventFilter(self, watched, event):
        if event.type() == QtCore.QEvent.Type.UpdateRequest:
            plot.removeEventFilter(self)
            QtCore.QTimer.singleShot(0, lambda: (print("ready", flush=True), app.quit()))
        return False
first_frame = FirstFrame()
plot.installEventFilter(first_frame)
plot.show()
app.exec()
"""


def _console_command() -> list[str]:
    """The installed ``mc-console`` beside this Python, else the module."""
    script = Path(sys.executable).with_name("mc-console")
    return [str(script)] if script.exists() else [sys.executable, "-m", "console.cli"]


def _times_until(command: list[str], env: dict[str, str], marks: tuple[str, ...]) -> list[float]:
    """Seconds from starting ``command`` to each of its lines holding ``marks``, in order."""
    started = time.perf_counter()
    times: list[float] = []
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            if marks[len(times)] in line:
                times.append(time.perf_counter() - started)
                if len(times) == len(marks):
                    break
        process.wait(30)
    if len(times) < len(marks):
        raise RuntimeError(f"{command[0]} ended before saying {marks[len(times)]!r}")
    return times


def start_up(runs: int) -> None:
    """Figure 3."""
    with tempfile.TemporaryDirectory() as folder:
        env = {
            name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"
        }
        env.update(
            QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
            PYTHONPYCACHEPREFIX=str(Path(folder) / "bytecode"),
            HOME=folder,  # the console's settings, plugins and records: a fresh user's
            XDG_CONFIG_HOME=str(Path(folder) / "config"),
            XDG_DATA_HOME=str(Path(folder) / "data"),
            MC_CONSOLE_STARTUP_PROBE="1",
        )
        bare_run = ([sys.executable, "-c", BARE_WINDOW], env, ("ready",))
        console_run = (
            _console_command(),
            env,
            ("mc-console: ready", "mc-console: scope ready", "mc-console: records open"),
        )
        for run in (bare_run, console_run):  # warm up, uncounted
            _times_until(*run)
        bare, console, scope, records = [], [], [], []
        for _ in range(runs):  # alternated: a busy moment of the machine hits both alike
            bare.append(_times_until(*bare_run)[0])
            shown, plotted, opened = _times_until(*console_run)
            console.append(shown)
            scope.append(plotted)
            records.append(opened)
    bare_s, console_s = statistics.median(bare), statistics.median(console)
    print(f"3. start-up until shown, median of {runs} fresh processes each:")
    print(
        f"   bare PySide6 + pyqtgraph window {bare_s:.2f} s, mc-console up with the simulator "
        f"connected {console_s:.2f} s, ratio {console_s / bare_s:.2f} (goal <= 1.3); its "
        f"scope's plots built at {statistics.median(scope):.2f} s, its records open at "
        f"{statistics.median(records):.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument("--start-up", action="store_true", help="figure 3 only")
    args = parser.parse_args()
    if not args.start_up:
        live_console(5.0 if args.quick else 15.0)
        max_rate(60 if args.quick else 300)
    start_up(3 if args.quick else 7)


if __name__ == "__main__":
    main()
