"""The trainer's demonstration view: a window for the classroom projector.

Large type (step, zone, technique, time left, current, contact), a big face map on which the probes
move along the step's path (arrow, moving probes, trail), and the protocol's ideal current drawn
with the measured one. It decides nothing: :class:`console.demonstration.Demonstration` follows
the engine's events and says what to show; :mod:`console.probe_paths` says where the hands go.

Everything it animates follows the session's clock (``clock.now()``), never wall time, so a paused
trainer clock holds the picture and a ×10 clock plays it ten times as fast. F11 toggles full
screen; Esc is deliberately left alone: it is the application's emergency stop.
"""

from __future__ import annotations

import math
from typing import Protocol as Interface

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from console.demonstration import (
    Demonstration,
    Stage,
    ideal_current,
    step_envelope,
)
from console.engine.events import EngineEvent
from console.engine.ringbuffer import SampleRing
from console.engine.safety import ContactQuality
from console.probe_paths import ProbeMotion
from console.protocols import Protocol
from console.readings import contact_reading
from console.report import format_duration
from console.ui.decimate import min_max_decimate
from console.ui.facemap import (
    ZONE_FILL,
    FaceMapWidget,
    face_point,
    fit_face_rect,
    paint_face,
)
from console.ui.plot_style import pyqtgraph as configured_pyqtgraph
from console.ui.restyle import repolish
from console.zone_progress import ZoneState
from console.zones import Point, zone_catalog

#: Animation frames a second (of wall time; the *phase* comes from the session clock).
FRAME_HZ = 30.0
#: Colours of the overlay: the protocol in orange, the measurement in the scope's blue.
IDEAL_COLOUR = "#d35400"
MEASURED_COLOUR = "#1f6fb2"
ROUTE_COLOUR = QtGui.QColor("#17324a")
PROBE_COLOUR = QtGui.QColor("#8e1b1b")
#: Type sizes in pixels at 1920×1080; they scale with the window (down to 1280×720 and below).
FONT_PX = {
    "demoBanner": 34,
    "demoHeader": 30,
    "demoStage": 30,
    "demoSessionTime": 30,
    "demoZone": 66,
    "demoTechnique": 36,
    "demoMotion": 32,
    "demoWarning": 24,
    "demoTileCaption": 22,
    "demoTileValue": 54,
    "demoTileNote": 22,
    "demoAlert": 26,
}


class Clock(Interface):
    """Anything with the session clock's reading, in seconds."""

    def now(self) -> float: ...


# ---------------------------------------------------------------------------------------------
# The face map with the moving probes


class ProbeMapWidget(FaceMapWidget):
    """The face map drawn large, with the current step's probe path and the moving probes."""

    #: How much of a period the trail behind the probes covers.
    TRAIL = 0.14
    TRAIL_POINTS = 28

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("demoFaceMap")
        self.setMinimumSize(200, 250)
        # A picture for the class, not a control: no click-through to zone details here.
        self.setMouseTracking(False)
        self.setToolTip("")
        self.motion: ProbeMotion | None = None
        self.phase = 0.0

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802 - Qt names it
        event.ignore()

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802 - Qt names it
        event.ignore()

    def set_motion(self, motion: ProbeMotion | None, phase: float) -> None:
        """The step's movement and where the probes are in it; repaints when anything changed."""
        if motion is self.motion and math.isclose(phase, self.phase, abs_tol=1e-9):
            return
        self.motion = motion
        self.phase = phase
        self.update()

    def _face_rect(self) -> QtCore.QRectF:
        """The whole widget (no caption: the demonstration prints the step in large type)."""
        return fit_face_rect(QtCore.QRectF(self.rect()).adjusted(6, 6, -6, -6))

    def probe_positions(self) -> tuple[QtCore.QPointF, QtCore.QPointF] | None:
        """Widget coordinates of both probes now (what the paint draws; tests read it)."""
        if self.motion is None:
            return None
        rect = self._face_rect()
        first, second = self.motion.probes_at(self.phase)
        return face_point(rect, first), face_point(rect, second)

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802 - Qt names it
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        rect = self._face_rect()
        paint_face(painter, rect, self.catalog)
        self._paint_zones(painter, rect)
        if self.motion is not None:
            self._paint_motion(painter, rect, self.motion)
        painter.end()

    def _paint_zones(self, painter: QtGui.QPainter, rect: QtCore.QRectF) -> None:
        scale = rect.width() / 400.0
        for zone in self.catalog.values():
            state = self.states.get(zone.id, ZoneState.NOT_IN_PROTOCOL)
            if state is ZoneState.NOT_IN_PROTOCOL:
                pen = QtGui.QPen(QtGui.QColor("#b9a89b"), 1, QtCore.Qt.PenStyle.DotLine)
            elif state is ZoneState.ACTIVE:
                pen = QtGui.QPen(QtGui.QColor("#8a4b00"), 3 * scale)
            else:
                pen = QtGui.QPen(QtGui.QColor("#5b6770"), 1)
            fill = QtGui.QColor(ZONE_FILL[state])
            if state is ZoneState.ACTIVE:
                fill.setAlpha(190)
            elif state is not ZoneState.NOT_IN_PROTOCOL:
                fill.setAlpha(110)  # the active zone must stand out from a distance
            painter.setPen(pen)
            painter.setBrush(fill)
            painter.drawPolygon(QtGui.QPolygonF([face_point(rect, p) for p in zone.polygon]))

    def _paint_motion(
        self, painter: QtGui.QPainter, rect: QtCore.QRectF, motion: ProbeMotion
    ) -> None:
        scale = rect.width() / 400.0
        sides = [False, True] if motion.mirrored else [False]
        for mirror in sides:
            self._paint_route(painter, rect, motion, mirror, scale)
        self._paint_trail(painter, rect, motion, scale)
        self._paint_probes(painter, rect, motion, scale)
        self._paint_target_label(painter, rect, motion, scale)

    @staticmethod
    def _mirrored(point: Point, mirror: bool) -> Point:
        return (1.0 - point[0], point[1]) if mirror else point

    def _paint_route(
        self,
        painter: QtGui.QPainter,
        rect: QtCore.QRectF,
        motion: ProbeMotion,
        mirror: bool,
        scale: float,
    ) -> None:
        def polygon(points: tuple[Point, ...]) -> QtGui.QPolygonF:
            return QtGui.QPolygonF([face_point(rect, self._mirrored(p, mirror)) for p in points])

        route_colour = QtGui.QColor(ROUTE_COLOUR)
        if len(motion.route) > 1 and len(motion.strokes) != 1:
            # Strokes, circles or pinches along a way: the way itself, dashed and light.
            route_colour.setAlpha(120)
            pen = QtGui.QPen(route_colour, 2.0 * scale, QtCore.Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            painter.drawPolyline(polygon(motion.route))
        route_colour.setAlpha(235)
        for stroke in motion.strokes:
            if len(stroke) == 1:
                centre = face_point(rect, self._mirrored(stroke[0], mirror))
                painter.setPen(QtGui.QPen(route_colour, 2.0 * scale, QtCore.Qt.PenStyle.DotLine))
                painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
                painter.drawEllipse(centre, 9 * scale, 9 * scale)
                continue
            width = (3.2 if len(motion.strokes) == 1 else 2.4) * scale
            painter.setPen(
                QtGui.QPen(
                    route_colour,
                    width,
                    QtCore.Qt.PenStyle.SolidLine,
                    QtCore.Qt.PenCapStyle.RoundCap,
                    QtCore.Qt.PenJoinStyle.RoundJoin,
                )
            )
            painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            painter.drawPolyline(polygon(stroke))
            head = (10 if len(motion.strokes) == 1 else 6) * scale
            self._arrow_head(painter, polygon(stroke), head, route_colour)

    @staticmethod
    def _arrow_head(
        painter: QtGui.QPainter, line: QtGui.QPolygonF, size: float, colour: QtGui.QColor
    ) -> None:
        tip = line[line.size() - 1]
        # Direction from a point a little way back along the line, so small curls do not skew it.
        back = line[0]
        for index in range(line.size() - 2, -1, -1):
            candidate = line[index]
            if math.hypot(tip.x() - candidate.x(), tip.y() - candidate.y()) >= size:
                back = candidate
                break
        angle = math.atan2(tip.y() - back.y(), tip.x() - back.x())
        left = QtCore.QPointF(
            tip.x() - size * math.cos(angle - 0.45), tip.y() - size * math.sin(angle - 0.45)
        )
        right = QtCore.QPointF(
            tip.x() - size * math.cos(angle + 0.45), tip.y() - size * math.sin(angle + 0.45)
        )
        painter.setPen(QtCore.Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawPolygon(QtGui.QPolygonF([tip, left, right]))

    def _paint_trail(
        self, painter: QtGui.QPainter, rect: QtCore.QRectF, motion: ProbeMotion, scale: float
    ) -> None:
        painter.setPen(QtCore.Qt.PenStyle.NoPen)
        for index in range(self.TRAIL_POINTS, 0, -1):
            past = self.phase - self.TRAIL * index / self.TRAIL_POINTS
            if not motion.on_skin(past):
                continue
            strength = 1.0 - index / (self.TRAIL_POINTS + 1)
            colour = QtGui.QColor(PROBE_COLOUR)
            colour.setAlpha(int(150 * strength))
            painter.setBrush(colour)
            radius = (2.0 + 3.5 * strength) * scale
            for probe in motion.probes_at(past):
                painter.drawEllipse(face_point(rect, probe), radius, radius)

    def _paint_probes(
        self, painter: QtGui.QPainter, rect: QtCore.QRectF, motion: ProbeMotion, scale: float
    ) -> None:
        on_skin = motion.on_skin(self.phase)
        radius = 9.0 * scale
        for probe in motion.probes_at(self.phase):
            centre = face_point(rect, probe)
            if on_skin:
                painter.setPen(QtGui.QPen(QtGui.QColor("#ffffff"), 2.5 * scale))
                painter.setBrush(PROBE_COLOUR)
            else:
                # Lifted and carried back: hollow, so the class sees it is off the skin.
                painter.setPen(QtGui.QPen(PROBE_COLOUR, 2.5 * scale, QtCore.Qt.PenStyle.DashLine))
                painter.setBrush(QtGui.QColor(255, 255, 255, 150))
            painter.drawEllipse(centre, radius, radius)

    def _paint_target_label(
        self, painter: QtGui.QPainter, rect: QtCore.QRectF, motion: ProbeMotion, scale: float
    ) -> None:
        if not motion.toward or len(motion.route) < 2:
            return
        # Label the tip of the last movement on the skin (a stroke's, or the whole route's).
        last = motion.strokes[-1] if len(motion.strokes[-1]) > 1 else motion.route
        end = face_point(rect, last[-1])
        dx, dy = motion.facing
        font = QtGui.QFont(self.font())
        font.setPixelSize(max(11, int(15 * scale)))
        font.setBold(True)
        painter.setFont(font)
        text = motion.toward
        metrics = QtGui.QFontMetricsF(font)
        box = metrics.boundingRect(text).adjusted(-6, -3, 6, 3)
        # Beyond the arrow's tip, in the direction it points, so it never covers the path.
        norm = math.hypot(dx, dy) or 1.0
        reach = math.hypot(box.width() / 2, box.height() / 2) + 6 * scale
        box.moveCenter(QtCore.QPointF(end.x() + dx / norm * reach, end.y() + dy / norm * reach))
        bounds = QtCore.QRectF(self.rect()).adjusted(2, 2, -2, -2)
        box.moveLeft(min(max(box.left(), bounds.left()), bounds.right() - box.width()))
        box.moveTop(min(max(box.top(), bounds.top()), bounds.bottom() - box.height()))
        painter.setPen(QtGui.QPen(ROUTE_COLOUR, 1.2))
        painter.setBrush(QtGui.QColor(255, 255, 255, 225))
        painter.drawRoundedRect(box, 5, 5)
        painter.drawText(box, QtCore.Qt.AlignmentFlag.AlignCenter, text)


# ---------------------------------------------------------------------------------------------
# The current plots


class WaveformPanel(QtWidgets.QWidget):
    """Two plots: a few periods of the protocol's current over the measured one, and the whole
    step's ramp and polarity reversals with a marker at the present moment."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        configured_pyqtgraph()  # the console's plot settings, whichever plot came first
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setObjectName("demoPlots")
        self.plots.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # nothing to type into here
        self.pulse_plot = self.plots.addPlot(row=0, col=0)
        self.step_plot = self.plots.addPlot(row=0, col=1)
        self.plots.ci.layout.setColumnStretchFactor(0, 3)
        self.plots.ci.layout.setColumnStretchFactor(1, 2)
        for plot in (self.pulse_plot, self.step_plot):
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.setMenuEnabled(False)
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.enableAutoSIPrefix(False)
                axis.setStyle(maxTickLevel=1)
                # These ranges change only with the step: draw the axis and its grid once into
                # a pixmap and reuse it, instead of painting every tick label at 30 fps.
                axis.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.pulse_plot.setClipToView(True)
        ideal_fill = QtGui.QColor(IDEAL_COLOUR)
        ideal_fill.setAlpha(55)
        self.ideal_curve = self.pulse_plot.plot(
            pen=pg.mkPen(IDEAL_COLOUR, width=1), fillLevel=0.0, brush=ideal_fill
        )
        self.measured_curve = self.pulse_plot.plot(pen=pg.mkPen(MEASURED_COLOUR, width=1))
        self.envelope_curve = self.step_plot.plot(
            pen=pg.mkPen(IDEAL_COLOUR, width=1), fillLevel=0.0, brush=ideal_fill
        )
        self.now_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#17324a", width=2))
        self.step_plot.addItem(self.now_line, ignoreBounds=True)
        # The legend is a line of type above the plots: inside a plot it would hide the trace.
        self.legend = QtWidgets.QLabel(
            f'<span style="color:{IDEAL_COLOUR}">▬▬</span> Protocol (ideal)'
            f'&nbsp;&nbsp;&nbsp;<span style="color:{MEASURED_COLOUR}">▬▬</span> Measured'
        )
        self.legend.setObjectName("demoLegend")
        self.caption = QtWidgets.QLabel("")
        self.caption.setObjectName("demoWaveCaption")
        self.caption.setWordWrap(True)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.legend)
        layout.addWidget(self.plots, 1)
        layout.addWidget(self.caption)
        self._font_px = 16
        self.time_unit = "s"
        self.apply_font(16)

    def set_time_unit(self, unit: str) -> None:
        """The pulse plot's time axis label (``s`` or ``ms``)."""
        self.time_unit = unit
        self.pulse_plot.setLabel(
            "bottom", f"Time before now ({unit})", **{"font-size": f"{self._font_px}px"}
        )

    def apply_font(self, px: int) -> None:
        """Axis, title and legend type for the projector (pixels)."""
        self._font_px = px
        font = QtGui.QFont()
        font.setPixelSize(px)
        for plot in (self.pulse_plot, self.step_plot):
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setStyle(tickFont=font, tickTextOffset=max(3, px // 3))
                axis.label.setFont(font)
            plot.titleLabel.item.setFont(font)
        self.pulse_plot.getAxis("left").setWidth(int(px * 3.4))
        self.step_plot.getAxis("left").setWidth(int(px * 3.4))
        for plot in (self.pulse_plot, self.step_plot):
            plot.getAxis("bottom").setHeight(int(px * 2.6))
        self.pulse_plot.setTitle("Current: protocol and measured", size=f"{px}px", bold=True)
        self.step_plot.setTitle("The whole step: ramp and polarity", size=f"{px}px", bold=True)
        self.pulse_plot.setLabel("left", "µA", **{"font-size": f"{px}px"})
        self.set_time_unit(self.time_unit)
        self.step_plot.setLabel("left", "µA", **{"font-size": f"{px}px"})
        self.step_plot.setLabel("bottom", "Step time (s)", **{"font-size": f"{px}px"})
        for label in (self.legend, self.caption):
            label.setStyleSheet(f"font-size: {px}px;")


# ---------------------------------------------------------------------------------------------
# The window


class DemonstrationView(QtWidgets.QWidget):
    """The trainer's projector window. Feed it the main window's engine events and ring buffer.

    It is a top-level window even with a parent (so the trainer can move it to the projector);
    F11 toggles full screen. It never takes Esc, the application's emergency stop.
    """

    def __init__(
        self,
        parent: QtWidgets.QWidget | None = None,
        window: bool = True,
        demo: Demonstration | None = None,
    ) -> None:
        """``window``: a window of its own (the projector's); False: a pane inside another
        window (the main window's chair view), without its own banner or full-screen key.
        ``demo``: the session's events followed so far (a view built after the session began
        shows what one built before it would)."""
        super().__init__(
            parent, QtCore.Qt.WindowType.Window if window else QtCore.Qt.WindowType.Widget
        )
        self.setObjectName("demonstrationView")
        self._own_window = window
        #: Show the contact's kΩ on its tile (the projector's, for teaching; the chair view
        #: follows the main window's View ▸ Engineering figures).
        self.show_figures = window
        self.setWindowTitle("Microcurrent Console — demonstration")
        self.catalog = zone_catalog()
        self.demo = demo if demo is not None else Demonstration()
        self._clock: Clock | None = None
        self._ring: SampleRing | None = None
        self._sample_rate_hz = 2000.0
        self._origin_s = 0.0
        self._shown_step: object = None  # the step whose envelope and ranges are drawn
        self._shown_key: tuple = ()  # what the step's texts were drawn from
        self.frames = 0  #: animation frames drawn (tests, benchmarks)
        self._drawn: tuple = ()  # (clock reading, samples written, step shown) of the last frame

        self.banner = self._label("demoBanner", "", align=QtCore.Qt.AlignmentFlag.AlignCenter)
        self.banner.hide()
        self.header = self._label("demoHeader", "")
        self.stage_label = self._label("demoStage", "", align=QtCore.Qt.AlignmentFlag.AlignCenter)
        self.session_label = self._label(
            "demoSessionTime", "", align=QtCore.Qt.AlignmentFlag.AlignRight
        )
        self.zone_label = self._label("demoZone", "")
        self.technique_label = self._label("demoTechnique", "", wrap=True)
        self.motion_label = self._label("demoMotion", "", wrap=True)
        self.warning_label = self._label("demoWarning", "", wrap=True)
        self.alert_label = self._label("demoAlert", "", wrap=True)
        self.alert_label.hide()
        self.step_time = _Tile("Step time left")
        self.current_tile = _Tile("Current")
        self.contact_tile = _Tile("Contact")
        self.face_map = ProbeMapWidget()
        self.waveforms = WaveformPanel()

        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.stage_label)
        top.addSpacing(16)
        top.addWidget(self.session_label)
        tiles = QtWidgets.QHBoxLayout()
        tiles.setSpacing(14)
        for tile in (self.step_time, self.current_tile, self.contact_tile):
            tiles.addWidget(tile, 1)
        text = QtWidgets.QVBoxLayout()
        text.setSpacing(6)
        text.addWidget(self.zone_label)
        text.addWidget(self.technique_label)
        text.addWidget(self.motion_label)
        text.addWidget(self.warning_label)
        text.addSpacing(6)
        text.addLayout(tiles)
        text.addSpacing(6)
        text.addWidget(self.waveforms, 1)
        if not window:
            # At the chair the practitioner reads the step, time, current and contact; the
            # protocol-against-measurement plots are for teaching (the projector's window).
            self.waveforms.hide()
            text.addStretch(1)
        body = QtWidgets.QHBoxLayout()
        body.setSpacing(18)
        body.addWidget(self.face_map, 5)
        body.addLayout(text, 8)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(18, 12, 18, 12)
        layout.setSpacing(8)
        layout.addWidget(self.banner)
        layout.addLayout(top)
        layout.addLayout(body, 1)
        layout.addWidget(self.alert_label)

        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(int(1000 / FRAME_HZ))
        self._timer.timeout.connect(self.tick)
        if window:
            self._full_screen = QtGui.QShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_F11), self)
            self._full_screen.activated.connect(self.toggle_full_screen)
            self.resize(1280, 720)
        self._apply_type_sizes()
        self._show_step()

    @staticmethod
    def _label(
        name: str,
        text: str,
        wrap: bool = False,
        align: QtCore.Qt.AlignmentFlag = QtCore.Qt.AlignmentFlag.AlignLeft,
    ) -> QtWidgets.QLabel:
        label = QtWidgets.QLabel(text)
        label.setObjectName(name)
        label.setWordWrap(wrap)
        label.setAlignment(align | QtCore.Qt.AlignmentFlag.AlignVCenter)
        return label

    # -- public API ------------------------------------------------------------------------

    def set_clock(self, clock: Clock | None) -> None:
        """The session clock every animation phase is read from."""
        self._clock = clock
        self.tick()

    def set_protocol(self, protocol: Protocol | None) -> None:
        """The protocol to show (its first step, waiting, until a session starts)."""
        self.demo.set_protocol(protocol)
        self._show_step()

    def attach(self, ring: SampleRing, sample_rate_hz: float, origin_s: float) -> None:
        """Draw the measured current from ``ring`` (the scope's signature: ``origin_s`` is the
        session's start on the clock; the pulse plot counts back from the newest sample)."""
        self._ring = ring
        self._sample_rate_hz = sample_rate_hz
        self._origin_s = origin_s
        self.refresh_plot()

    def detach(self) -> None:
        """Stop reading the ring (the last picture stays)."""
        self._ring = None

    def on_engine_event(self, event: EngineEvent) -> None:
        """One of the engine's events, on the GUI thread, in order."""
        self.demo.on_event(event)
        # Progress comes four times a clock second (240 a wall second at ×60): redraw the step's
        # texts only when something they show changed; the times follow on the next frame.
        key = self._step_key()
        if key != self._shown_key:
            self._show_step()

    def set_simulation_label(self, text: str) -> None:
        """The simulation banner (``SIMULATION — ×10 speed — no current reaches anyone``); empty
        text hides it (a real machine)."""
        self.banner.setText(text)
        # A pane inside the main window shares that window's banner.
        self.banner.setVisible(bool(text) and self._own_window)

    def toggle_full_screen(self) -> None:
        """F11: full screen on the screen the window is on, and back."""
        self.setWindowState(self.windowState() ^ QtCore.Qt.WindowState.WindowFullScreen)

    @property
    def animating(self) -> bool:
        """True while the animation timer runs (only while the window is shown)."""
        return self._timer.isActive()

    def now(self) -> float:
        """The session clock's reading (0 before a clock is set); the trainer's clock gives its
        smooth reading between engine ticks, so the probes glide at real time too."""
        if self._clock is None:
            return 0.0
        smooth = getattr(self._clock, "display_now", None)
        return smooth() if smooth is not None else self._clock.now()

    # -- Qt events -------------------------------------------------------------------------

    def showEvent(self, event: QtGui.QShowEvent) -> None:  # noqa: N802 - Qt names it
        super().showEvent(event)
        self._timer.start()
        self.tick()

    def hideEvent(self, event: QtGui.QHideEvent) -> None:  # noqa: N802 - Qt names it
        self._timer.stop()
        super().hideEvent(event)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 - Qt names it
        super().resizeEvent(event)
        self._apply_type_sizes()

    def _apply_type_sizes(self) -> None:
        """Type that scales with the window: readable from the back of a room at 1920×1080,
        and from the treatment chair in the main window's chair view."""
        width, height = (1920.0, 1080.0) if self._own_window else (1100.0, 620.0)
        factor = max(0.45, min(self.width() / width, self.height() / height))
        rules = "\n".join(
            f"QLabel#{name} {{ font-size: {max(11, round(px * factor))}px; }}"
            for name, px in FONT_PX.items()
        )
        if rules == self.styleSheet():
            return  # a style sheet repolishes every child: only when the sizes change
        self.setStyleSheet(rules)
        self.waveforms.apply_font(max(11, round(19 * factor)))

    # -- drawing ---------------------------------------------------------------------------

    def tick(self) -> None:
        """One animation frame: probes, times and plots at the clock's present reading."""
        now = self.now()
        ring = self._ring
        drawn = (now, ring.total_written if ring is not None else -1, self._shown_key)
        if drawn == self._drawn:
            return  # time held, nothing new: the picture on screen is still right
        self._drawn = drawn
        self.face_map.set_motion(self.demo.motion, self.demo.probe_phase(now))
        self._show_times(now)
        self.refresh_plot()
        self.frames += 1

    def _step_key(self) -> tuple:
        demo = self.demo
        return (id(demo.step), demo.step_index, demo.stage, demo.alert, demo.contact)

    def _show_step(self) -> None:
        """Everything that changes with the step or the session's state."""
        self._shown_key = self._step_key()
        demo = self.demo
        step = demo.step
        protocol = demo.protocol
        if step is None:
            self.header.setText("No protocol chosen")
            self.zone_label.setText("Choose a protocol in the console")
            for label in (self.technique_label, self.motion_label, self.warning_label):
                label.setText("")
            self.face_map.set_states({})
            self.face_map.set_motion(None, 0.0)
            self.stage_label.setText("")
            return
        name = protocol.name if protocol is not None else "Session"
        count = f" of {demo.step_count}" if demo.step_count else ""
        self.header.setText(f"{name} · step {demo.step_index + 1}{count}")
        zone = self.catalog.get(step.zone)
        self.zone_label.setText(zone.name if zone is not None else step.zone)
        self.technique_label.setText(step.technique)
        motion = demo.motion
        self.motion_label.setText(
            f"➜ {motion.describe()}"
            if motion is not None
            else "No probe placement in this step: follow the technique; the path is not drawn."
        )
        warning = zone.placement_warning if zone is not None else None
        self.warning_label.setText(f"⚠ {warning}" if warning else "")
        self.warning_label.setVisible(bool(warning))
        self.stage_label.setText(demo.stage.value)
        if self.stage_label.property("stage") != demo.stage.name.lower():
            self.stage_label.setProperty("stage", demo.stage.name.lower())
            repolish(self.stage_label)
        self.alert_label.setText(demo.alert)
        self.alert_label.setVisible(bool(demo.alert))
        self.face_map.set_states(demo.zone_states(self.catalog))
        self.face_map.set_motion(motion, demo.probe_phase(self.now()))
        if step is not self._shown_step:
            self._shown_step = step
            self._draw_step_plots()
            self.refresh_plot()
        self.waveforms.caption.setText(
            f"Protocol: {step.waveform.describe()} · {format_duration(step.duration_s)} in this zone"
        )
        self._show_times(self.now())

    def _show_times(self, now: float) -> None:
        demo = self.demo
        step = demo.step
        if step is None:
            return
        self.step_time.show_value(
            format_duration(demo.step_remaining_s(now)), f"of {format_duration(step.duration_s)}"
        )
        self.session_label.setText(
            f"Session {format_duration(demo.session_elapsed_s(now))} / "
            f"{format_duration(demo.session_total_s)}"
        )
        planned = step.waveform.current_ua
        if demo.waiting:
            self.current_tile.show_value(f"{planned:.0f} µA", "planned peak")
        else:
            target = demo.target_ua if demo.target_ua is not None else planned
            note = "ramping up" if demo.stage is Stage.RAMPING else f"of {target:.0f} µA"
            if not demo.running:
                note = "output off"
            value = demo.setpoint_ua if demo.running else 0.0
            if demo.stage is Stage.INTERRUPTED:
                # The console lost the machine: it cannot know what the output does now.
                self.current_tile.show_value("?", "not confirmed: switch the machine off")
            else:
                self.current_tile.show_value(f"{value:.0f} µA", note)
        # The same reading as the main window's meter: an old one (the output off) is shown
        # as old, never as the contact now.
        ohm = demo.impedance_kohm * 1000.0 if demo.impedance_kohm is not None else None
        if ohm is None and demo.contact is ContactQuality.LOST:
            ohm = math.inf  # a loss the safety event reported before any progress did
        reading = contact_reading(ohm, demo.contact_measured_now, demo.running, demo.limits)
        figure = reading.figure if self.show_figures else ""
        detail = " · ".join(part for part in (reading.detail, figure) if part)
        if reading.measured_now:
            detail = figure or "measured now"
        quality = reading.quality.name.lower() if reading.measured_now else ""
        self.contact_tile.show_value(reading.short, detail or "no reading yet", quality=quality)
        self.waveforms.now_line.setPos(demo.step_elapsed_s(now))

    def _draw_step_plots(self) -> None:
        step = self.demo.step
        if step is None:
            return
        t, envelope = step_envelope(step)
        self.waveforms.envelope_curve.setData(t, envelope, skipFiniteCheck=True)
        top = 1.15 * step.waveform.current_ua
        for plot in (self.waveforms.pulse_plot, self.waveforms.step_plot):
            plot.setYRange(-top, top, padding=0)
        self.waveforms.step_plot.setXRange(0, step.duration_s, padding=0.01)

    def pulse_window_s(self) -> float:
        """Width of the pulse plot: three periods of the step's waveform, 0.15 s to 6 s."""
        step = self.demo.step
        if step is None:
            return 1.0
        return min(max(3.0 / step.waveform.frequency_hz, 0.15), 6.0)

    def pulse_time_unit(self) -> tuple[float, str]:
        """Scale and unit of the pulse plot's time axis: ms for windows under a second."""
        return (1000.0, "ms") if self.pulse_window_s() < 1.0 else (1.0, "s")

    def refresh_plot(self) -> None:
        """The pulse plot, newest sample at 0 (earlier times to the left, as on a chart
        recorder): the ring's samples and the ideal at the same times. Before any sample, the
        ideal alone once its ramp is done: what the class is about to see."""
        step = self.demo.step
        if step is None:
            return
        window = self.pulse_window_s()
        scale, unit = self.pulse_time_unit()
        panel = self.waveforms
        if panel.time_unit != unit:
            panel.set_time_unit(unit)
        panel.pulse_plot.setXRange(-window * scale, 0.0, padding=0)
        buckets = max(200, int(panel.plots.width() * 0.6))
        block = self._ring.latest(int(window * self._sample_rate_hz) + 1) if self._ring else None
        if block is not None and len(block) > 1:
            ideal = self.demo.ideal.current_at(block.t, self._sample_rate_hz)
            x = (block.t - block.t[-1]) * scale
            xm, measured = min_max_decimate(x, block.current_ua, buckets)
            xi, ideal_shown = min_max_decimate(x, ideal, buckets)
            panel.measured_curve.setData(xm, measured, skipFiniteCheck=True)
            panel.ideal_curve.setData(xi, ideal_shown, skipFiniteCheck=True)
            return
        t = self.ideal_preview_times(window)
        panel.ideal_curve.setData(
            (t - t[-1]) * scale, ideal_current(step.waveform, t), skipFiniteCheck=True
        )
        panel.measured_curve.setData([], [])

    def ideal_preview_times(self, window: float) -> np.ndarray:
        """Step times shown before any sample: one window starting when the ramp ends."""
        step = self.demo.step
        ramp = step.waveform.ramp_s if step is not None else 0.0
        return np.linspace(ramp, ramp + window, 1200)


class _Tile(QtWidgets.QFrame):
    """A caption over a big value and a note: ``Step time left / 1:42 / of 2:30``."""

    def __init__(self, caption: str) -> None:
        super().__init__()
        self.setObjectName("demoTile")
        self.caption = QtWidgets.QLabel(caption)
        self.caption.setObjectName("demoTileCaption")
        self.value = QtWidgets.QLabel("—")
        self.value.setObjectName("demoTileValue")
        self.note = QtWidgets.QLabel("")
        self.note.setObjectName("demoTileNote")
        self.note.setWordWrap(True)  # "last reading: good · 30.7 kΩ" in a narrow tile
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(14, 8, 14, 8)
        layout.setSpacing(0)
        layout.addWidget(self.caption)
        layout.addWidget(self.value)
        layout.addWidget(self.note)

    def show_value(self, value: str, note: str, quality: str = "") -> None:
        """New value and note (only touches the labels when they change: 30 times a second)."""
        if self.value.text() != value:
            self.value.setText(value)
        if self.note.text() != note:
            self.note.setText(note)
        if self.property("quality") != quality:
            self.setProperty("quality", quality)
            repolish(self)
            repolish(self.value)
