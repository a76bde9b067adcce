"""The live waveform scope: measured current and load voltage on a shared, rolling time axis.

It reads the engine's ring buffer on its own timer (30 Hz by default) and never calls the engine
or the machine: a slow frame can only make the picture late, never the treatment. Drawing follows
pyqtgraph's advice for fast plots: float64 x values, pen width 1, no antialiasing, finite data
(``skipFiniteCheck``), and min/max decimation to about two points per pixel column.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from console.engine.ringbuffer import SampleRing
from console.ui.decimate import min_max_decimate
from console.ui.plot_style import pyqtgraph

#: Rolling windows the operator can choose, seconds.
WINDOWS_S = (2, 5, 10, 30)
DEFAULT_WINDOW_S = 5
#: Markers older than the longest window are forgotten.
MAX_MARKERS = 400

CURRENT_COLOUR = "#1f6fb2"
VOLTAGE_COLOUR = "#2e8b57"


class MarkerKind(enum.StrEnum):
    """What a vertical marker on the scope stands for."""

    STEP = "step"
    REVERSAL = "reversal"
    SAFETY = "safety"


#: How each kind of marker is drawn: (colour, width, dashed).
_MARKER_LOOKS = {
    MarkerKind.STEP: ("#355c7d", 1, False),
    MarkerKind.REVERSAL: ("#9aa5b1", 1, True),
    MarkerKind.SAFETY: ("#c0392b", 2, False),
}


@dataclass(frozen=True, slots=True)
class Marker:
    """A moment worth a line on the scope (clock seconds)."""

    at_s: float
    kind: MarkerKind
    text: str = ""


class _Plots:
    """The scope's pyqtgraph half: the two linked plots, their curves, the cursor line and the
    output-off mark. Made by :meth:`ScopeWidget.build_plots` (importing pyqtgraph takes 0.2 s)."""

    def __init__(self, owner: ScopeWidget) -> None:
        pg = pyqtgraph()
        self.widget = pg.GraphicsLayoutWidget()
        self.current_plot = self.widget.addPlot(row=0, col=0)
        self.voltage_plot = self.widget.addPlot(row=1, col=0)
        self.voltage_plot.setXLink(self.current_plot)
        for plot, label, unit in (
            (self.current_plot, "Current", "µA"),
            (self.voltage_plot, "Load", "V"),
        ):
            axis = plot.getAxis("left")
            axis.setLabel(f"{label} ({unit})")
            # The value axis changes only when the range does (the time axis scrolls every
            # frame): draw it and its grid lines once into a pixmap and reuse that.
            axis.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
            # Clinicians read µA and V as labelled: no "(x0.001)" rescaling of the ticks.
            axis.enableAutoSIPrefix(False)
            plot.getAxis("bottom").enableAutoSIPrefix(False)
            # Grid on major and minor ticks only: the third (finest) level of semi-transparent
            # lines tripled the time of a frame and adds nothing a clinician reads.
            for side in ("left", "bottom"):
                plot.getAxis(side).setStyle(maxTickLevel=1)
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.setMenuEnabled(False)
        self.voltage_plot.setLabel("bottom", "Treatment time (s)")
        self.current_plot.getAxis("bottom").setStyle(showValues=False)
        self.current_curve = self.current_plot.plot(pen=pg.mkPen(CURRENT_COLOUR, width=1))
        self.voltage_curve = self.voltage_plot.plot(pen=pg.mkPen(VOLTAGE_COLOUR, width=1))
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#888", width=1))
        self.current_plot.addItem(self.cursor, ignoreBounds=True)
        self.cursor.hide()
        self.marker_items: list[Any] = []  # pg.InfiniteLine, reused from frame to frame
        dash = QtCore.Qt.PenStyle.DashLine
        self.marker_pens = {
            kind: pg.mkPen(colour, width=width, **({"style": dash} if dashed else {}))
            for kind, (colour, width, dashed) in _MARKER_LOOKS.items()
        }
        self._pg = pg
        self.widget.scene().sigMouseMoved.connect(owner._mouse_moved)

        # Over the plots while the output is off: what is drawn then is the machine's noise
        # around zero, and says so instead of being zoomed into a wild-looking signal.
        self.output_off_mark = QtWidgets.QLabel("OUTPUT OFF", self.widget)
        self.output_off_mark.setObjectName("scopeOutputOff")
        self.output_off_mark.setStyleSheet(
            "QLabel#scopeOutputOff { background: rgba(236, 239, 241, 215); color: #37474f; "
            "border: 2px solid #90a4ae; border-radius: 6px; padding: 6px 18px; "
            "font-size: 16pt; font-weight: bold; }"
        )
        self.output_off_mark.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.output_off_mark.hide()
        self.widget.installEventFilter(owner)

    def marker_line(self) -> Any:
        """One more marker line on the current plot (a pg.InfiniteLine), kept for reuse."""
        item = self._pg.InfiniteLine(angle=90, movable=False)
        self.current_plot.addItem(item, ignoreBounds=True)
        self.marker_items.append(item)
        return item


class ScopeWidget(QtWidgets.QWidget):
    """Two linked plots, a window chooser, freeze, auto/fixed range and a cursor readout.

    The plots are built by :meth:`build_plots`: the window calls it once it is up and its machine
    connected, and anything that needs them (a session attaching, a test reading them) builds
    them first. Until then their place is a blank plate of the plots' white, so the window comes
    up without waiting 0.2 s for pyqtgraph to import."""

    #: The plots now exist (emitted once, by :meth:`build_plots`).
    plots_ready = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None, refresh_hz: float = 40.0) -> None:
        super().__init__(parent)
        self._ring: SampleRing | None = None
        self._origin_s = 0.0
        self._sample_rate_hz = 2000.0
        self._window_s = float(DEFAULT_WINDOW_S)
        self._frozen = False
        self._markers: deque[Marker] = deque(maxlen=MAX_MARKERS)
        self._fixed_ranges: tuple[float, float] | None = None
        self._output_on = False
        self._view: _Plots | None = None
        self.frames_drawn = 0
        self.last_sample_t: float | None = None  #: clock time of the newest sample drawn

        self.window_choice = QtWidgets.QComboBox()
        self.window_choice.addItems([f"{w} s" for w in WINDOWS_S])
        self.window_choice.setCurrentIndex(WINDOWS_S.index(DEFAULT_WINDOW_S))
        self.window_choice.setToolTip("Width of the rolling time window")
        self.window_choice.currentIndexChanged.connect(lambda i: self.set_window(WINDOWS_S[i]))
        self.freeze_button = QtWidgets.QPushButton("Freeze view")
        self.freeze_button.setCheckable(True)
        self.freeze_button.setToolTip(
            "Hold the picture still to look closely; the treatment goes on (F)"
        )
        self.freeze_button.toggled.connect(self.set_frozen)
        self.auto_range = QtWidgets.QCheckBox("Auto range")
        self.auto_range.setChecked(True)
        self.auto_range.setToolTip(
            "Follow the signal; off: fixed to the step's current and the machine's voltage"
        )
        self.auto_range.toggled.connect(self._apply_ranges)
        self.readout = QtWidgets.QLabel("—")
        self.readout.setObjectName("scopeReadout")
        # May shrink with the window (the tooltip and the cursor line still show the values).
        self.readout.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred
        )
        self.readout.setToolTip("Values under the mouse pointer")

        bar = QtWidgets.QHBoxLayout()
        bar.addWidget(QtWidgets.QLabel("Window"))
        bar.addWidget(self.window_choice)
        bar.addWidget(self.freeze_button)
        bar.addWidget(self.auto_range)
        bar.addStretch(1)
        bar.addWidget(self.readout)

        self._plate = QtWidgets.QWidget()  # where the plots go, until they are built
        self._plate.setObjectName("scopePlate")
        self._plate.setAutoFillBackground(True)
        palette = self._plate.palette()
        palette.setColor(QtGui.QPalette.ColorRole.Window, QtGui.QColor("white"))
        self._plate.setPalette(palette)
        self._layout = QtWidgets.QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addLayout(bar)
        self._layout.addWidget(self._plate, 1)

        # 40 fps target so that timer jitter never takes the scope below 30 fps.
        self._timer = QtCore.QTimer(self)
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._timer.setInterval(max(1, int(1000 / refresh_hz)))
        self._timer.timeout.connect(self.refresh)
        self._timer.start()

    # -- the plots -------------------------------------------------------------------------

    def build_plots(self) -> None:
        """Build the plots in place of the blank plate (imports pyqtgraph); later calls do
        nothing."""
        if self._view is not None:
            return
        self._view = _Plots(self)
        self._layout.replaceWidget(self._plate, self._view.widget)
        self._plate.hide()
        self._plate.deleteLater()
        self._apply_ranges()
        self._show_output_off_mark()
        self.plots_ready.emit()

    @property
    def plots_built(self) -> bool:
        """True once :meth:`build_plots` has run."""
        return self._view is not None

    def _plots(self) -> _Plots:
        self.build_plots()
        assert self._view is not None
        return self._view

    @property
    def plots(self) -> Any:
        """The plots' pyqtgraph.GraphicsLayoutWidget (built on first use)."""
        return self._plots().widget

    @property
    def current_curve(self) -> Any:
        """The measured current's pyqtgraph.PlotDataItem (built on first use)."""
        return self._plots().current_curve

    @property
    def output_off_mark(self) -> QtWidgets.QLabel:
        """The "OUTPUT OFF" label over the plots (built on first use)."""
        return self._plots().output_off_mark

    # -- data source -----------------------------------------------------------------------

    def attach(self, ring: SampleRing, sample_rate_hz: float, origin_s: float) -> None:
        """Show ``ring`` (the engine's samples); times are drawn relative to ``origin_s``."""
        self.build_plots()
        self._ring = ring
        self._output_on = False
        self._sample_rate_hz = sample_rate_hz
        self._origin_s = origin_s
        self._markers.clear()
        self.refresh()

    def detach(self) -> None:
        """Stop reading (the last picture stays)."""
        self._ring = None

    def add_marker(self, marker: Marker) -> None:
        """Draw a vertical line at ``marker.at_s`` (step change, polarity reversal, safety event)."""
        self._markers.append(marker)

    # -- view controls ---------------------------------------------------------------------

    def set_window(self, seconds: float) -> None:
        """Choose the rolling window (2, 5, 10 or 30 s)."""
        self._window_s = float(seconds)
        index = WINDOWS_S.index(int(seconds)) if int(seconds) in WINDOWS_S else -1
        if index >= 0 and self.window_choice.currentIndex() != index:
            self.window_choice.setCurrentIndex(index)
        self.refresh(force=True)

    @property
    def window_s(self) -> float:
        """The rolling window, seconds."""
        return self._window_s

    def set_frozen(self, frozen: bool) -> None:
        """Hold the picture (the engine keeps running and recording)."""
        self._frozen = frozen
        if self.freeze_button.isChecked() != frozen:
            self.freeze_button.setChecked(frozen)
        self.freeze_button.setText("Resume view" if frozen else "Freeze view")

    @property
    def frozen(self) -> bool:
        """True while the view is held."""
        return self._frozen

    def set_fixed_ranges(self, current_ua: float, voltage_v: float) -> None:
        """The y ranges used when auto range is off: ±current, ±voltage."""
        self._fixed_ranges = (current_ua, voltage_v)
        self._apply_ranges()

    def set_output_on(self, on: bool) -> None:
        """Mark the picture "output off" (and hold the ranges fixed) while no current is driven."""
        changed = on != self._output_on
        self._output_on = on
        self._show_output_off_mark()
        if changed:
            self._apply_ranges()

    @property
    def output_on(self) -> bool:
        """False while the scope marks the output as off."""
        return self._output_on

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802
        view = self._view
        if (
            view is not None
            and watched is view.widget
            and event.type() == QtCore.QEvent.Type.Resize
        ):
            self._place_output_off_mark(view)
        return False

    def _show_output_off_mark(self) -> None:
        view = self._view
        if view is None:
            return  # shown when the plots are built, if it should be then
        show_mark = not self._output_on and self._ring is not None
        if show_mark == view.output_off_mark.isHidden():
            view.output_off_mark.setVisible(show_mark)
            self._place_output_off_mark(view)

    @staticmethod
    def _place_output_off_mark(view: _Plots) -> None:
        mark = view.output_off_mark
        mark.adjustSize()
        mark.move((view.widget.width() - mark.width()) // 2, 12)
        mark.raise_()

    def _apply_ranges(self) -> None:
        view = self._view
        if view is None:
            return  # applied when the plots are built
        # With the output off, auto range would zoom onto a few µA of noise: hold the
        # treatment's fixed ranges instead (when a session has given them).
        auto = self.auto_range.isChecked() and self._output_on
        if auto or self._fixed_ranges is None:
            view.current_plot.enableAutoRange(axis="y")
            view.voltage_plot.enableAutoRange(axis="y")
            return
        current, voltage = self._fixed_ranges
        view.current_plot.setYRange(-current, current, padding=0.05)
        view.voltage_plot.setYRange(-voltage, voltage, padding=0.05)

    # -- drawing ---------------------------------------------------------------------------

    def refresh(self, force: bool = False) -> None:
        """Redraw from the ring buffer (called by the timer)."""
        ring = self._ring
        if ring is None or (self._frozen and not force):
            return
        block = ring.latest(int(self._window_s * self._sample_rate_hz))
        if len(block) == 0:
            return
        view = self._plots()
        x = block.t - self._origin_s
        buckets = max(200, int(view.widget.width()))
        xc, current = min_max_decimate(x, block.current_ua, buckets)
        xv, voltage = min_max_decimate(x, block.voltage_v, buckets)
        view.current_curve.setData(xc, current, skipFiniteCheck=True)
        view.voltage_curve.setData(xv, voltage, skipFiniteCheck=True)
        end = float(x[-1])
        view.current_plot.setXRange(end - self._window_s, end, padding=0)
        self._draw_markers(view, end - self._window_s, end)
        self.last_sample_t = float(block.t[-1])
        self.frames_drawn += 1

    def _draw_markers(self, view: _Plots, start: float, end: float) -> None:
        visible = [m for m in self._markers if start <= m.at_s - self._origin_s <= end]
        while len(view.marker_items) < len(visible):
            view.marker_line()
        for item, marker in zip(view.marker_items, visible, strict=False):
            item.setPos(marker.at_s - self._origin_s)
            item.setPen(view.marker_pens[marker.kind])
            item.setToolTip(marker.text or marker.kind.value)
            item.show()
        for item in view.marker_items[len(visible) :]:
            item.hide()

    def visible_markers(self) -> list[Marker]:
        """Markers inside the current window (for tests and the readout)."""
        if self._view is None:
            return []
        data = self._view.current_curve.getData()[0]
        if data is None or len(data) == 0:
            return []
        end = float(data[-1])
        return [m for m in self._markers if end - self._window_s <= m.at_s - self._origin_s <= end]

    def _mouse_moved(self, position: QtCore.QPointF) -> None:
        view = self._view
        if view is None:
            return
        plot = None
        for candidate in (view.current_plot, view.voltage_plot):
            if candidate.sceneBoundingRect().contains(position):
                plot = candidate
        if plot is None:
            view.cursor.hide()
            return
        x = plot.vb.mapSceneToView(position).x()
        xs, current = view.current_curve.getData()
        _, voltage = view.voltage_curve.getData()
        if xs is None or len(xs) == 0:
            return
        index = int(np.clip(np.searchsorted(xs, x), 0, len(xs) - 1))
        view.cursor.setPos(xs[index])
        view.cursor.show()
        volt_text = (
            f"{voltage[index]:.2f} V" if voltage is not None and len(voltage) > index else ""
        )
        self.readout.setText(f"t {xs[index]:.3f} s   {current[index]:.0f} µA   {volt_text}")
