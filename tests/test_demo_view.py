"""The trainer's demonstration view and the protocol comparison (pytest-qt, offscreen).

The ideal trace must be the waveform functions' own values (ramp and reversals included), the
animation must follow the session clock and nothing else, engine events must move the view to
the right step, and the comparison must show the protocols side by side on shared scales.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from console.demonstration import Demonstration, Stage, ideal_current, one_period
from console.drivers import SampleBlock
from console.engine.clock import SteppedClock
from console.engine.events import EngineState, Progress, StateChanged, StepStarted
from console.engine.ringbuffer import SampleRing
from console.probe_paths import motion_for_step
from console.protocols import Protocol
from console.report import format_duration
from console.ui.app import make_application
from console.ui.bridge import EngineBridge
from console.ui.demo_view import DemonstrationView
from console.ui.protocol_compare import ProtocolComparison
from console.waveforms import WaveShape, polarity_sign, sampled_pulse, unit_pulse
from console.zone_progress import ZoneState
from plugins.circulation import circulation_protocol
from plugins.lifting import lifting_protocol
from plugins.toning import toning_protocol
from support import make_protocol


class FakeClock:
    """A session clock the test sets by hand."""

    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def now(self) -> float:
        return self.t


@pytest.fixture
def view(qtbot) -> DemonstrationView:
    make_application()
    demo = DemonstrationView()
    qtbot.addWidget(demo)
    demo.resize(1280, 720)
    return demo


def _expected(waveform, since: np.ndarray, rate: float) -> np.ndarray:
    """The ideal written out from the waveform functions, as the simulated machine uses them."""
    pulse = sampled_pulse(
        waveform.shape, since * waveform.frequency_hz, waveform.frequency_hz / rate
    )
    sign = polarity_sign(waveform.polarity, waveform.reversal_interval_s, since)
    ramp = np.clip(since / waveform.ramp_s, 0.0, 1.0)
    return waveform.current_ua * ramp * sign * pulse


@pytest.mark.parametrize(
    ("shape", "frequency_hz"), [(WaveShape.SQUARE, 5.0), (WaveShape.BIPHASIC, 10.0)]
)
def test_ideal_trace_is_the_waveform_functions_ramp_and_reversals_included(
    view: DemonstrationView, shape: WaveShape, frequency_hz: float
) -> None:
    protocol = make_protocol(shape=shape, frequency_hz=frequency_hz, ramp_s=1.5)
    waveform = protocol.steps[0].waveform
    rate = 400.0
    start = 50.0
    view.set_protocol(protocol)
    view.on_engine_event(StepStarted(0, protocol.steps[0], start))
    ring = SampleRing(4000)
    # Samples from before the step, through the ramp, past the first reversal (2 s).
    t = start - 0.5 + np.arange(1400) / rate
    ring.append(SampleBlock(t, np.zeros_like(t), np.zeros_like(t)))
    view.attach(ring, rate, origin_s=0.0)

    since = t - start
    expected = np.where(since >= 0, _expected(waveform, since, rate), 0.0)
    got = view.demo.ideal.current_at(t, rate)
    np.testing.assert_allclose(got, expected, atol=1e-9)
    assert got[since < 0].max() == 0.0  # nothing before the output starts
    assert np.abs(got[(since > 0) & (since < 1.5)]).max() < waveform.current_ua  # still ramping
    full = (since > 1.5) & (since < 2.0)
    assert got[full].max() == pytest.approx(waveform.current_ua)  # at the setting
    reversed_ = (since > 2.0) & (since < 3.4)
    if shape is WaveShape.SQUARE:  # monophasic: the reversal makes the pulses negative
        assert got[full].min() == pytest.approx(0.0, abs=1e-6)
        assert got[reversed_].min() == pytest.approx(-waveform.current_ua)
        assert got[reversed_].max() == pytest.approx(0.0, abs=1e-6)

    # The widget draws exactly these values over the newest window of samples.
    xs, ys = view.waveforms.ideal_curve.getData()
    window = view.pulse_window_s()
    scale, _unit = view.pulse_time_unit()
    shown = slice(-(int(window * rate) + 1), None)  # the newest window of samples
    assert len(ys) == len(t[shown])
    np.testing.assert_allclose(ys, expected[shown], atol=1e-9)
    np.testing.assert_allclose(xs, (t[shown] - t[-1]) * scale)


def test_the_ramp_starts_again_at_a_resume_and_the_output_is_off_while_paused() -> None:
    protocol = make_protocol(shape=WaveShape.SQUARE, frequency_hz=10.0, ramp_s=2.0)
    waveform = protocol.steps[0].waveform
    demo = Demonstration(protocol)
    demo.on_event(StepStarted(0, protocol.steps[0], 10.0))
    demo.on_event(StateChanged(EngineState.RAMPING, EngineState.READY, 10.0))
    demo.on_event(StateChanged(EngineState.PAUSED, EngineState.RUNNING, 14.0))
    demo.on_event(StateChanged(EngineState.RAMPING, EngineState.PAUSED, 20.0))
    paused = np.linspace(14.0, 19.99, 50)
    assert not demo.ideal.current_at(paused).any()
    after = 20.0 + np.linspace(0.0, 3.0, 301)
    np.testing.assert_allclose(
        demo.ideal.current_at(after), ideal_current(waveform, after - 20.0), atol=1e-9
    )
    assert ideal_current(waveform, np.array([0.5]))[0] == pytest.approx(0.25 * 300.0)


def test_one_period_uses_the_pulse_function() -> None:
    waveform = circulation_protocol().steps[0].waveform
    t, current = one_period(waveform, points=64)
    assert t[-1] == pytest.approx(1.0 / waveform.frequency_hz, rel=1e-6)
    np.testing.assert_allclose(
        current, waveform.current_ua * unit_pulse(waveform.shape, t * waveform.frequency_hz)
    )


def test_probes_follow_the_clock_and_nothing_else(view: DemonstrationView, qtbot) -> None:
    clock = FakeClock(3.0)
    view.set_clock(clock)
    view.set_protocol(lifting_protocol())
    view.tick()
    at_three = view.face_map.probe_positions()
    qtbot.wait(60)  # wall time passes; the clock does not
    view.tick()
    view.tick()
    assert view.face_map.probe_positions() == at_three  # a held clock holds the probes
    clock.t = 1.5
    view.tick()
    assert view.face_map.probe_positions() != at_three
    clock.t = 3.0
    view.tick()
    assert view.face_map.probe_positions() == at_three  # same clock time, same place


def test_probe_phase_follows_the_step_time_and_stops_while_paused() -> None:
    protocol = lifting_protocol()
    step = protocol.steps[4]
    motion = motion_for_step(step)
    demo = Demonstration(protocol)
    demo.on_event(StepStarted(4, step, 100.0))
    demo.on_event(StateChanged(EngineState.RAMPING, EngineState.RUNNING, 100.0))
    progress = Progress(100.25, 4, 0.25, step.duration_s - 0.25, 1000.0, 10.0, 350.0, 9.0)
    demo.on_event(progress)
    assert demo.probe_phase(100.5) == pytest.approx(motion.phase_at(0.5))
    # A ×10 clock covers ten times the clock seconds in the same wall time: ten times the phase.
    slow = demo.probe_phase(100.26) - demo.probe_phase(100.25)
    fast = demo.probe_phase(100.35) - demo.probe_phase(100.25)
    assert fast == pytest.approx(10 * slow)
    demo.on_event(StateChanged(EngineState.PAUSED, EngineState.RUNNING, 100.6))
    held = demo.probe_phase(100.6)
    assert demo.probe_phase(130.0) == pytest.approx(held) == pytest.approx(motion.phase_at(0.6))
    assert demo.stage is Stage.PAUSED and demo.step_remaining_s(130.0) == pytest.approx(
        step.duration_s - 0.6
    )


def test_opened_in_the_middle_of_a_session_it_takes_up_the_running_step() -> None:
    protocol = lifting_protocol()
    step = protocol.steps[6]
    demo = Demonstration(protocol)
    assert demo.waiting
    at_full = step.waveform.current_ua
    demo.on_event(Progress(500.0, 6, 40.0, step.duration_s - 40.0, 900.0, at_full, at_full, 7.0))
    assert demo.running and demo.stage is Stage.RUNNING
    assert demo.step is step
    assert demo.step_remaining_s(501.0) == pytest.approx(step.duration_s - 41.0)
    # The ideal restarts with the step (40 s ago): past its ramp, at the step's current.
    times = np.linspace(500.0, 502.0, 4001)
    assert np.max(np.abs(demo.ideal.current_at(times, 2000.0))) == pytest.approx(at_full)


def test_before_a_session_the_first_step_is_shown_waiting(view: DemonstrationView) -> None:
    protocol = toning_protocol()
    view.set_protocol(protocol)
    assert view.header.text() == "Toning · step 1 of 12"
    assert view.zone_label.text() == "Brow, right"
    assert view.technique_label.text() == protocol.steps[0].technique
    assert "brow → forehead, short strokes" in view.motion_label.text()
    assert view.stage_label.text() == Stage.WAITING.value
    assert view.face_map.states["brow_right"] is ZoneState.ACTIVE
    _, ideal = view.waveforms.ideal_curve.getData()
    assert ideal is not None and np.abs(ideal).max() == pytest.approx(150.0)


def test_engine_events_move_the_view_to_the_step(view: DemonstrationView) -> None:
    protocol = lifting_protocol()
    view.set_clock(FakeClock(500.0))
    view.set_protocol(protocol)
    view.on_engine_event(StepStarted(4, protocol.steps[4], 480.0))
    view.on_engine_event(StateChanged(EngineState.RAMPING, EngineState.RUNNING, 480.0))
    view.on_engine_event(Progress(499.75, 4, 19.75, 130.25, 1000.0, 350.0, 350.0, 8.2))
    assert view.header.text() == "Lifting · step 5 of 12"
    assert view.zone_label.text() == "Cheek, right"
    assert "cheekbone → temple, hold and lift" in view.motion_label.text()
    assert view.face_map.states["cheek_right"] is ZoneState.ACTIVE
    assert view.face_map.states["forehead_right"] is ZoneState.DONE
    assert view.face_map.states["neck_left"] is ZoneState.PENDING
    assert view.face_map.motion == motion_for_step(protocol.steps[4])
    assert view.step_time.value.text() == "2:12"  # 152 s − 20 s (the clock is at 500)
    assert view.current_tile.value.text() == "350 µA"
    assert view.contact_tile.value.text() == "Good"
    assert view.contact_tile.note.text() == "8.2 kΩ"
    assert view.session_label.text() == "Session 8:20 / 26:08"
    view.on_engine_event(StateChanged(EngineState.PAUSED, EngineState.RUNNING, 500.0))
    assert view.stage_label.text() == "Output paused"
    assert view.current_tile.note.text() == "output off"
    # With the output off the contact is not measured: the last reading is shown as old.
    assert view.contact_tile.value.text() == "—"
    assert view.contact_tile.note.text() == "last reading: good · 8.2 kΩ"
    # The machine is lost: the view must not claim to know the output is off.
    view.on_engine_event(StateChanged(EngineState.INTERRUPTED, EngineState.PAUSED, 501.0))
    assert view.stage_label.text() == "Session interrupted"
    assert view.current_tile.value.text() == "?"
    assert view.current_tile.note.text() == "not confirmed: switch the machine off"


@pytest.mark.timeout(60)
def test_a_real_session_drives_the_view(view: DemonstrationView, qtbot, make_engine) -> None:
    clock = SteppedClock()
    engine, _machine, _log = make_engine(clock)
    protocol = make_protocol(steps=3, duration_s=20.0, frequency_hz=5.0)
    bridge = EngineBridge()
    bridge.event.connect(view.on_engine_event)
    engine.subscribe(bridge.post)
    view.set_clock(clock)
    view.set_protocol(protocol)
    engine.prepare(protocol)
    view.attach(engine.ring, engine.capabilities.sample_rate_hz, clock.now())
    engine.start()
    clock.run_until(26.0)
    qtbot.waitUntil(lambda: view.demo.step_index == 1 and view.demo.running, timeout=5000)
    qtbot.wait(100)
    view.tick()
    assert view.zone_label.text() == "Cheek, right"
    assert view.header.text() == "Test protocol · step 2 of 3"
    # After the ramp, the measured current follows the protocol's ideal closely.
    block = engine.ring.latest(int(0.6 * engine.capabilities.sample_rate_hz))
    ideal = view.demo.ideal.current_at(block.t, engine.capabilities.sample_rate_hz)
    error = np.abs(block.current_ua - ideal).mean()
    assert error < 0.05 * protocol.steps[1].waveform.current_ua
    _xs, drawn = view.waveforms.measured_curve.getData()
    assert drawn is not None and np.abs(drawn).max() > 250.0


class RunningClock:
    """A session clock that runs with the wall clock."""

    def now(self) -> float:
        return time.monotonic()


def test_animation_timer_runs_only_while_shown(view: DemonstrationView, qtbot) -> None:
    view.set_clock(RunningClock())
    view.set_protocol(lifting_protocol())
    assert not view.animating
    view.show()
    qtbot.waitExposed(view)
    assert view.animating
    frames = view.frames
    qtbot.waitUntil(lambda: view.frames >= frames + 3, timeout=2000)
    view.hide()
    assert not view.animating
    view.show()
    assert view.animating


def test_while_time_is_held_no_frame_is_drawn(view: DemonstrationView, qtbot) -> None:
    clock = FakeClock(10.0)
    view.set_clock(clock)
    view.set_protocol(lifting_protocol())
    view.show()
    qtbot.waitExposed(view)
    qtbot.wait(100)
    frames = view.frames
    qtbot.wait(200)  # six timer ticks on a held clock
    assert view.frames == frames
    clock.t = 10.5
    qtbot.waitUntil(lambda: view.frames == frames + 1, timeout=1000)


def test_simulation_banner_and_full_screen_key(view: DemonstrationView, qtbot) -> None:
    view.set_simulation_label("SIMULATION ×10")
    assert view.banner.isVisibleTo(view) and view.banner.text() == "SIMULATION ×10"
    view.set_simulation_label("")
    assert not view.banner.isVisibleTo(view)
    view.show()
    qtbot.waitExposed(view)
    view.toggle_full_screen()
    assert view.windowState() & QtCore.Qt.WindowState.WindowFullScreen
    view.toggle_full_screen()
    assert not view.windowState() & QtCore.Qt.WindowState.WindowFullScreen


def test_esc_is_left_to_the_emergency_stop(view: DemonstrationView, qtbot) -> None:
    """The main window's Esc (an application-wide shortcut) must fire while the view has focus."""
    main = QtWidgets.QMainWindow()
    qtbot.addWidget(main)
    stops: list[bool] = []
    estop = QtGui.QAction("EMERGENCY STOP", main)
    estop.setShortcut(QtGui.QKeySequence("Esc"))
    estop.setShortcutContext(QtCore.Qt.ShortcutContext.ApplicationShortcut)
    estop.triggered.connect(lambda: stops.append(True))
    main.addAction(estop)
    main.show()
    view.show()
    view.activateWindow()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is view, timeout=3000)
    qtbot.keyClick(view, QtCore.Qt.Key.Key_Escape)
    assert stops == [True]
    for child in view.findChildren(QtWidgets.QWidget):  # whichever part has the focus
        if child.isVisible():
            qtbot.keyClick(child, QtCore.Qt.Key.Key_Escape)
    assert len(stops) == 1 + sum(1 for c in view.findChildren(QtWidgets.QWidget) if c.isVisible())
    assert view.isVisible()
    assert not any(
        shortcut.key().matches(QtGui.QKeySequence("Esc"))
        == QtGui.QKeySequence.SequenceMatch.ExactMatch
        for shortcut in view.findChildren(QtGui.QShortcut)
    )


def _protocols() -> dict[str, Protocol]:
    return {p.id: p for p in (circulation_protocol(), toning_protocol(), lifting_protocol())}


def test_comparison_shows_the_three_protocols_with_their_total_times(qtbot) -> None:
    make_application()
    protocols = _protocols()
    compare = ProtocolComparison(protocols)
    qtbot.addWidget(compare)
    compare.resize(1600, 900)
    compare.show()
    qtbot.waitExposed(compare)
    assert [column.protocol.id for column in compare.columns] == [
        "lifting",
        "toning",
        "circulation",
    ]
    for column in compare.columns:
        protocol = column.protocol
        assert column.name.text() == protocol.name
        assert column.total.text() == f"Total {format_duration(protocol.duration_s)}"
        assert len(column.curves) == len({step.waveform for step in protocol.steps})
        assert column.map.order()[protocol.steps[0].zone] == [1]
    # The same µA scale in every column; the longest protocol fills its timeline.
    ranges = {tuple(column.plot.getViewBox().viewRange()[1]) for column in compare.columns}
    assert len(ranges) == 1
    widths = [sum(r.width() for r in column.timeline.step_rects()) for column in compare.columns]
    longest = max(p.duration_s for p in protocols.values())
    for column, width in zip(compare.columns, widths, strict=True):
        full = column.timeline.width() - 4
        assert width == pytest.approx(full * column.protocol.duration_s / longest, rel=1e-6)
    lifting_rects = compare.columns[0].timeline.step_rects()
    assert lifting_rects[4].width() / lifting_rects[0].width() == pytest.approx(152 / 120)


def test_comparison_columns_can_be_changed(qtbot) -> None:
    make_application()
    compare = ProtocolComparison(_protocols())
    qtbot.addWidget(compare)
    before = compare.columns[0].plot.getViewBox().viewRange()[1]
    compare.columns[0].choice.setCurrentIndex(compare.columns[0].choice.findData("circulation"))
    assert compare.columns[0].protocol.id == "circulation"
    assert compare.columns[0].total.text() == "Total 19:00"
    # Without lifting's 400 µA, the shared scale shrinks to toning's 250 µA.
    after = compare.columns[0].plot.getViewBox().viewRange()[1]
    assert after[1] < before[1]
    assert {tuple(c.plot.getViewBox().viewRange()[1]) for c in compare.columns} == {tuple(after)}
    compare.set_column(2, "lifting")
    assert [c.protocol.id for c in compare.columns] == ["circulation", "toning", "lifting"]
