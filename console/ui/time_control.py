"""The trainer's time control: pace ×1 … ×60, pause time, single step, and the simulated clock.

A thin view over :class:`~console.engine.clock.TrainerClock`: the clock decides, this bar only
sends the trainer's choices and shows where simulated time is. It exists only while the simulated
machine is connected (a real machine runs in real time and has no time to control).
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from console.engine.clock import TRAINER_SPEEDS, TrainerClock
from console.ui.restyle import repolish

#: How much simulated time one press of Step plays.
STEP_S = 1.0


def format_clock(seconds: float) -> str:
    """``MM:SS.s`` (or ``H:MM:SS``) of simulated time."""
    tenths = round(max(0.0, seconds) * 10)  # rounded first: 59.96 s reads 01:00.0, not 00:60.0
    if tenths >= 36_000:
        hours, rest = divmod(tenths // 10, 3600)
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    minutes, rest = divmod(tenths, 600)
    return f"{minutes:02d}:{rest // 10:02d}.{rest % 10}"


class TimeControlBar(QtWidgets.QFrame):
    """Speed buttons, pause/run time, single step and a readout of simulated time."""

    #: Emitted after the trainer changed the pace or held/released time (the window updates its
    #: banner and the demonstration view).
    changed = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timeControl")
        self._clock: TrainerClock | None = None
        self._origin_s = 0.0
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        layout.setSpacing(4)
        title = QtWidgets.QLabel("Simulated time")
        title.setObjectName("timeControlTitle")
        layout.addWidget(title)
        self.readout = QtWidgets.QLabel(format_clock(0.0))
        self.readout.setObjectName("timeReadout")
        self.readout.setToolTip("Simulated time since the session started")
        self.readout.setMinimumWidth(self.readout.fontMetrics().horizontalAdvance("00:00.0 ") + 8)
        layout.addWidget(self.readout)
        self.pause_button = QtWidgets.QToolButton()
        self.pause_button.setObjectName("timePause")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip(
            "Hold simulated time to explain (Ctrl+Space). The treatment is not paused: the "
            "machine, the skin and the timers all wait. Emergency stop still works at once."
        )
        self.pause_button.toggled.connect(self._pause_toggled)
        layout.addWidget(self.pause_button)
        self.step_button = QtWidgets.QToolButton()
        self.step_button.setObjectName("timeStep")
        self.step_button.setText(f"Step +{STEP_S:g} s")
        self.step_button.setToolTip(
            f"Play {STEP_S:g} s of simulated time, then hold again (Ctrl+Shift+Space)"
        )
        self.step_button.clicked.connect(self.single_step)
        layout.addWidget(self.step_button)
        self.speed_group = QtWidgets.QButtonGroup(self)
        self.speed_group.setExclusive(True)
        for speed in TRAINER_SPEEDS:
            button = QtWidgets.QToolButton()
            button.setObjectName("timeSpeed")
            button.setCheckable(True)
            button.setText("real time" if speed == 1 else f"×{speed:g}")
            button.setToolTip(
                "Play the simulation in real time"
                if speed == 1
                else f"Play {speed:g} simulated seconds every second (Ctrl+] / Ctrl+[ to change)"
            )
            self.speed_group.addButton(button)
            button.setProperty("speed", speed)
            layout.addWidget(button)
        self.speed_group.buttonClicked.connect(
            lambda button: self.set_speed(float(button.property("speed")))
        )
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self.refresh)
        self.bind(None)

    # -- binding ---------------------------------------------------------------------------

    def bind(self, clock: TrainerClock | None) -> None:
        """Control ``clock``; ``None`` (a real machine, or none) hides the bar."""
        self._clock = clock
        self.setVisible(clock is not None)
        if clock is None:
            self._timer.stop()
            return
        self._origin_s = clock.now()
        self._timer.start()
        self.refresh()

    @property
    def clock(self) -> TrainerClock | None:
        """The clock under control, if any."""
        return self._clock

    def set_origin(self, origin_s: float) -> None:
        """Count the readout from ``origin_s`` (a session's start)."""
        self._origin_s = origin_s
        self.refresh()

    # -- the trainer's commands ------------------------------------------------------------

    def set_speed(self, speed: float) -> None:
        """Play at ``speed`` (one of the trainer speeds) from now on."""
        if self._clock is None:
            return
        self._clock.set_speed(speed)
        self.refresh()
        self.changed.emit()

    def faster(self) -> None:
        """The next speed up (no change at ×60)."""
        self._shift_speed(+1)

    def slower(self) -> None:
        """The next speed down (no change at real time)."""
        self._shift_speed(-1)

    def toggle_time(self) -> None:
        """Hold simulated time, or let it run again."""
        if self._clock is not None:
            self._hold(not self._clock.paused)

    def single_step(self) -> None:
        """While time is held: play one step of simulated time and hold again."""
        if self._clock is None or not self._clock.paused:
            return
        self._clock.step(STEP_S)
        self.refresh()

    def _shift_speed(self, direction: int) -> None:
        if self._clock is None:
            return
        speeds = list(TRAINER_SPEEDS)
        nearest = min(range(len(speeds)), key=lambda i: abs(speeds[i] - self._clock.speed))  # type: ignore[union-attr]
        index = min(max(nearest + direction, 0), len(speeds) - 1)
        self.set_speed(speeds[index])

    def _pause_toggled(self, held: bool) -> None:
        if self._clock is not None:
            self._hold(held)

    def _hold(self, held: bool) -> None:
        """Tell the clock; :meth:`refresh` shows it and announces the change."""
        assert self._clock is not None
        if held:
            self._clock.pause()
        else:
            self._clock.resume()
        self.refresh()

    # -- showing ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Show the clock's time, pace and held state (the clock may hold itself after a step)."""
        clock = self._clock
        if clock is None:
            return
        self.readout.setText(format_clock(clock.now() - self._origin_s))
        held = clock.paused
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(held)
        self.pause_button.blockSignals(False)
        self.pause_button.setText("▶ Run time" if held else "❚❚ Hold time")
        self.step_button.setEnabled(held)
        for button in self.speed_group.buttons():
            button.setChecked(abs(float(button.property("speed")) - clock.speed) < 1e-9)
        if self.property("held") != held:  # restyle only on a change (this runs 10 times a second)
            self.setProperty("held", held)
            repolish(self)
            self.changed.emit()  # held or running again (also when a single step ends)

    def describe(self) -> str:
        """``time held`` / ``×10 speed`` / ``real time`` for banners."""
        clock = self._clock
        if clock is None:
            return ""
        if clock.paused:
            return "time held"
        return "real time" if clock.speed == 1 else f"×{clock.speed:g} speed"

    def hideEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802 - Qt's name
        self._timer.stop()
        super().hideEvent(event)

    def showEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802 - Qt's name
        if self._clock is not None:
            self._timer.start()
        super().showEvent(event)
