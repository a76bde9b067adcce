"""Treatment controls: start, pause/resume, stop, intensity, the emergency stop, and progress.

The buttons only *ask*: each emits a signal that the main window turns into an engine call. The
emergency stop is wired to the engine directly by the main window (no queue, no timer), and its
key (Esc) works from every state and every focus.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from console.engine.events import EngineState, Progress
from console.engine.safety import SafetyLimits
from console.readings import ContactReading, OutputReading
from console.report import format_duration
from console.ui.readouts import ContactMeter, OutputReadout


class ControlPanel(QtWidgets.QFrame):
    """The bar of treatment controls under the scope."""

    start_requested = QtCore.Signal()
    pause_requested = QtCore.Signal()
    resume_requested = QtCore.Signal()
    stop_requested = QtCore.Signal()
    emergency_stop_requested = QtCore.Signal()
    intensity_requested = QtCore.Signal(float)
    gel_requested = QtCore.Signal()
    secured = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("controlPanel")
        self._state = EngineState.IDLE

        self.start_button = QtWidgets.QPushButton("Start")
        self.start_button.setObjectName("startButton")
        self.start_button.setToolTip(
            "Start the protocol: the current ramps up from zero (Ctrl+Enter)"
        )
        self.pause_button = QtWidgets.QPushButton("Pause")
        self.pause_button.setToolTip("Pause: output off at once; resume ramps up from zero (Space)")
        self.stop_button = QtWidgets.QPushButton("Stop session")
        self.stop_button.setToolTip("End the session early, output off (Ctrl+.)")
        self.down_button = QtWidgets.QPushButton("− 10 µA")
        self.down_button.setToolTip("Lower the intensity by 10 µA, at once (-)")
        self.up_button = QtWidgets.QPushButton("+ 10 µA")
        self.up_button.setToolTip(
            "Raise the intensity by 10 µA, ramped, never above the step's setting (+)"
        )
        self.gel_button = QtWidgets.QPushButton("Re-apply gel")
        self.gel_button.setObjectName("gelButton")
        self.gel_button.setToolTip(
            "Output off while you re-apply gel; then resume: the current ramps up from zero (G)"
        )
        self.secure_button = QtWidgets.QPushButton("Probes lifted, machine switched off")
        self.secure_button.setObjectName("secureButton")
        self.secure_button.setToolTip(
            "The console could not confirm the output is off: record that you lifted both "
            "probes off the skin and switched the machine off at its power switch"
        )
        self.secure_button.hide()
        self.estop_button = QtWidgets.QPushButton("EMERGENCY\nSTOP")
        self.estop_button.setObjectName("emergencyStop")
        self.estop_button.setToolTip("Output off now, from any state (Esc)")
        self.estop_button.setMinimumSize(150, 72)
        self.estop_button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)

        self.start_button.clicked.connect(self.start_requested)
        self.pause_button.clicked.connect(self._pause_or_resume)
        self.stop_button.clicked.connect(self.stop_requested)
        self.down_button.clicked.connect(lambda: self.intensity_requested.emit(-10.0))
        self.up_button.clicked.connect(lambda: self.intensity_requested.emit(+10.0))
        self.gel_button.clicked.connect(self.gel_requested)
        self.secure_button.clicked.connect(self.secured)
        # pressed, not clicked: the stop happens on the press, not on the release.
        self.estop_button.pressed.connect(self.emergency_stop_requested)

        self.output = OutputReadout()
        self.contact = ContactMeter(SafetyLimits())
        self.step_label = QtWidgets.QLabel("Step —")
        self.step_progress = QtWidgets.QProgressBar()
        self.step_progress.setFormat("%p %")
        self.session_label = QtWidgets.QLabel("Session —")
        self.session_progress = QtWidgets.QProgressBar()
        self.session_progress.setFormat("%p %")

        buttons = QtWidgets.QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.stop_button):
            button.setMinimumHeight(40)
            buttons.addWidget(button)
        buttons.addSpacing(16)
        buttons.addWidget(self.down_button)
        buttons.addWidget(self.output)
        buttons.addWidget(self.up_button)
        buttons.addSpacing(16)
        buttons.addWidget(self.gel_button)
        buttons.addWidget(self.secure_button)
        progress = QtWidgets.QGridLayout()
        progress.addWidget(self.step_label, 0, 0)
        progress.addWidget(self.step_progress, 0, 1)
        progress.addWidget(self.session_label, 1, 0)
        progress.addWidget(self.session_progress, 1, 1)
        progress.setColumnStretch(1, 1)
        progress.addWidget(self.contact, 0, 2, 2, 1)
        left = QtWidgets.QVBoxLayout()
        left.addLayout(buttons)
        left.addLayout(progress)
        layout = QtWidgets.QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addSpacing(12)
        layout.addWidget(self.estop_button)
        self.set_state(EngineState.IDLE)

    def _pause_or_resume(self) -> None:
        if self._state is EngineState.PAUSED:
            self.resume_requested.emit()
        else:
            self.pause_requested.emit()

    def set_state(self, state: EngineState, can_start: bool = False) -> None:
        """Enable what makes sense in ``state``; the emergency stop is always enabled."""
        self._state = state
        treating = state.output_may_be_on
        self.start_button.setEnabled(state is EngineState.READY or (can_start and state.terminal))
        self.pause_button.setEnabled(treating or state is EngineState.PAUSED)
        self.pause_button.setText("Resume" if state is EngineState.PAUSED else "Pause")
        self.pause_button.setToolTip(
            "Resume: the current ramps up from zero (Space)"
            if state is EngineState.PAUSED
            else "Pause: output off at once; resume ramps up from zero (Space)"
        )
        self.stop_button.setEnabled(treating or state is EngineState.PAUSED)
        self.up_button.setEnabled(treating)
        self.down_button.setEnabled(treating)
        self.gel_button.setEnabled(treating or state is EngineState.PAUSED)
        self.estop_button.setEnabled(True)

    def show_progress(
        self, progress: Progress, step_duration_s: float, session_duration_s: float
    ) -> None:
        """Update bars and remaining times from a Progress event."""
        step_done = 1.0 - progress.step_remaining_s / step_duration_s if step_duration_s else 0.0
        session_done = (
            1.0 - progress.session_remaining_s / session_duration_s if session_duration_s else 0.0
        )
        self.step_progress.setValue(round(100 * min(max(step_done, 0.0), 1.0)))
        self.session_progress.setValue(round(100 * min(max(session_done, 0.0), 1.0)))
        self.step_label.setText(
            f"Step {progress.step_index + 1}: {format_duration(progress.step_remaining_s)} left"
        )
        self.session_label.setText(f"Session: {format_duration(progress.session_remaining_s)} left")

    def show_readings(self, output: OutputReading, contact: ContactReading | None) -> None:
        """The output and contact readouts (:mod:`console.readings` decides what they say)."""
        self.output.show_reading(output)
        self.contact.show_reading(contact)

    def reset_progress(self) -> None:
        """Clear the bars (a new session)."""
        self.step_progress.setValue(0)
        self.session_progress.setValue(0)
        self.step_label.setText("Step —")
        self.session_label.setText("Session —")
