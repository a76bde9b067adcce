"""Protocols side by side, for teaching: waveforms, zones and timings of lifting, toning, circulation.

Each column shows one protocol (the trainer picks which in its combo box): one period of every
distinct waveform it uses, the zones it visits in order on a small face, a timeline bar of its
steps coloured by region, and its figures (total time, current range, frequencies, recommended
series). The columns share their scales — µA on the waveform plots, minutes on the timelines — so
that what looks bigger *is* bigger.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from console.demonstration import one_period
from console.protocols import Protocol
from console.report import format_duration
from console.ui.facemap import face_point, fit_face_rect, paint_face
from console.waveforms import Polarity, Waveform
from console.zones import ZoneCatalog, zone_catalog

#: The protocols compared when the window opens (those installed, in this order).
DEFAULT_IDS = ("lifting", "toning", "circulation")
#: One colour a region, the same on the face and on the timeline; they differ in lightness too.
REGION_COLOURS = {
    "forehead": "#4e79a7",
    "brow": "#a0cbe8",
    "eye": "#9c755f",
    "cheek": "#f28e2b",
    "nasolabial": "#ffbe7d",
    "upper_lip": "#b07aa1",
    "jawline": "#59a14f",
    "chin": "#8cd17d",
    "neck": "#e15759",
}
OTHER_REGION = "#bab0ac"
WAVE_COLOUR = QtGui.QColor("#1f6fb2")


def region_colour(region: str) -> QtGui.QColor:
    """The colour of a region on the maps and timelines."""
    return QtGui.QColor(REGION_COLOURS.get(region, OTHER_REGION))


def distinct_waveforms(protocol: Protocol) -> list[Waveform]:
    """Every different waveform the protocol uses: by frequency, then shape, then current."""
    return sorted(
        dict.fromkeys(step.waveform for step in protocol.steps),
        key=lambda w: (w.frequency_hz, w.shape.value, w.current_ua),
    )


def describe_waveforms(protocol: Protocol) -> list[str]:
    """One line per shape and frequency: ``square 0.5 Hz · 200–400 µA · alternating every 3 s``."""
    groups: dict[tuple, list[Waveform]] = {}
    for waveform in distinct_waveforms(protocol):
        key = (
            waveform.shape,
            waveform.frequency_hz,
            waveform.polarity,
            waveform.reversal_interval_s,
        )
        groups.setdefault(key, []).append(waveform)
    lines = []
    for (shape, frequency, polarity, reversal), waveforms in groups.items():
        currents = sorted({w.current_ua for w in waveforms})
        current = (
            f"{currents[0]:g} µA" if len(currents) == 1 else f"{currents[0]:g}–{currents[-1]:g} µA"
        )
        turn = (
            f"alternating every {reversal:g} s"
            if polarity is Polarity.ALTERNATING
            else polarity.value
        )
        ramps = sorted({w.ramp_s for w in waveforms})
        ramp = f"ramp {ramps[0]:g} s" if len(ramps) == 1 else f"ramp {ramps[0]:g}–{ramps[-1]:g} s"
        lines.append(f"{shape.value} {frequency:g} Hz · {current} · {turn} · {ramp}")
    return lines


def protocol_facts(protocol: Protocol) -> list[tuple[str, str]]:
    """The figures a trainer compares, as (name, value) rows."""
    currents = [step.waveform.current_ua for step in protocol.steps]
    durations = [step.duration_s for step in protocol.steps]
    frequencies = sorted({step.waveform.frequency_hz for step in protocol.steps})
    shapes = list(dict.fromkeys(step.waveform.shape.value for step in protocol.steps))
    each = (
        format_duration(durations[0])
        if min(durations) == max(durations)
        else f"{format_duration(min(durations))}–{format_duration(max(durations))}"
    )
    return [
        ("Steps", f"{len(protocol.steps)} × {each}"),
        ("Current", f"{min(currents):g}–{max(currents):g} µA"),
        ("Frequency", ", ".join(f"{f:g} Hz" for f in frequencies)),
        ("Pulse", ", ".join(shapes)),
    ]


class ZoneOrderMap(QtWidgets.QWidget):
    """A small face with the protocol's zones coloured by region and numbered in visit order."""

    def __init__(self, catalog: ZoneCatalog | None = None) -> None:
        super().__init__()
        self.catalog = catalog or zone_catalog()
        self.protocol: Protocol | None = None
        self.setMinimumSize(120, 150)
        self.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding
        )

    def set_protocol(self, protocol: Protocol | None) -> None:
        """Show ``protocol``'s zones."""
        self.protocol = protocol
        self.update()

    def order(self) -> dict[str, list[int]]:
        """Step numbers (from 1) on each zone, in visit order."""
        numbers: dict[str, list[int]] = {}
        for number, step in enumerate(self.protocol.steps if self.protocol else (), start=1):
            numbers.setdefault(step.zone, []).append(number)
        return numbers

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802 - Qt names it
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        rect = fit_face_rect(QtCore.QRectF(self.rect()).adjusted(4, 4, -4, -4))
        paint_face(painter, rect, self.catalog)
        numbers = self.order()
        for zone in self.catalog.values():
            visited = zone.id in numbers
            if visited:
                fill = region_colour(zone.region)
                fill.setAlpha(215)
                painter.setPen(QtGui.QPen(QtGui.QColor("#37474f"), 1))
                painter.setBrush(fill)
            else:
                painter.setPen(QtGui.QPen(QtGui.QColor("#c9bbb0"), 1, QtCore.Qt.PenStyle.DotLine))
                painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            painter.drawPolygon(QtGui.QPolygonF([face_point(rect, p) for p in zone.polygon]))
        if self.protocol is None:
            painter.end()
            return
        # The order, as a thin line from zone to zone, under the numbers.
        centres = [
            face_point(rect, self.catalog[step.zone].label_at)
            for step in self.protocol.steps
            if step.zone in self.catalog
        ]
        line = QtGui.QColor("#17324a")
        line.setAlpha(90)
        painter.setPen(QtGui.QPen(line, 1.2, QtCore.Qt.PenStyle.DashLine))
        painter.drawPolyline(QtGui.QPolygonF(centres))
        radius = max(7.0, rect.width() / 30)
        font = QtGui.QFont(self.font())
        font.setPixelSize(int(radius * 1.15))
        font.setBold(True)
        painter.setFont(font)
        for zone_id, visits in numbers.items():
            if zone_id not in self.catalog:
                continue
            centre = face_point(rect, self.catalog[zone_id].label_at)
            text = "·".join(str(n) for n in visits)
            width = max(2 * radius, QtGui.QFontMetricsF(font).horizontalAdvance(text) + 6)
            badge = QtCore.QRectF(0, 0, width, 2 * radius)
            badge.moveCenter(centre)
            painter.setPen(QtGui.QPen(QtGui.QColor("#ffffff"), 1.5))
            painter.setBrush(QtGui.QColor("#17324a"))
            painter.drawRoundedRect(badge, radius, radius)
            painter.drawText(badge, QtCore.Qt.AlignmentFlag.AlignCenter, text)
        painter.end()


class StepTimeline(QtWidgets.QWidget):
    """A bar of the protocol's steps: width ∝ duration on a scale shared by the columns."""

    def __init__(self) -> None:
        super().__init__()
        self.protocol: Protocol | None = None
        self.scale_s = 1.0  #: the time the full width stands for
        self.setMinimumHeight(54)
        self.setMouseTracking(True)
        self.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed
        )

    def set_protocol(self, protocol: Protocol | None, scale_s: float) -> None:
        """Show ``protocol``; the whole width is ``scale_s`` seconds."""
        self.protocol = protocol
        self.scale_s = max(scale_s, 1.0)
        self.update()

    def _bar(self) -> QtCore.QRectF:
        return QtCore.QRectF(2, 2, self.width() - 4, 30)

    def step_rects(self) -> list[QtCore.QRectF]:
        """The rectangle of each step (tests check widths are proportional to durations)."""
        if self.protocol is None:
            return []
        bar = self._bar()
        rects = []
        x = bar.left()
        for step in self.protocol.steps:
            width = bar.width() * step.duration_s / self.scale_s
            rects.append(QtCore.QRectF(x, bar.top(), width, bar.height()))
            x += width
        return rects

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802 - Qt names it
        if self.protocol is None:
            return
        for number, (rect, step) in enumerate(
            zip(self.step_rects(), self.protocol.steps, strict=True), start=1
        ):
            if rect.contains(event.position()):
                zone = zone_catalog().get(step.zone)
                self.setToolTip(
                    f"Step {number}: {zone.name if zone else step.zone}, "
                    f"{format_duration(step.duration_s)}\n{step.waveform.describe()}\n"
                    f"{step.technique}"
                )
                return
        self.setToolTip("")

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802 - Qt names it
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        bar = self._bar()
        painter.setPen(QtGui.QPen(QtGui.QColor("#cfd8dc"), 1, QtCore.Qt.PenStyle.DashLine))
        painter.setBrush(QtGui.QColor("#f5f7f8"))
        painter.drawRoundedRect(bar, 4, 4)
        catalog = zone_catalog()
        if self.protocol is not None:
            painter.setPen(QtGui.QPen(QtGui.QColor("#ffffff"), 1.5))
            for rect, step in zip(self.step_rects(), self.protocol.steps, strict=True):
                zone = catalog.get(step.zone)
                painter.setBrush(region_colour(zone.region if zone else ""))
                painter.drawRect(rect)
        # Minute ticks on the shared scale.
        painter.setPen(QtGui.QColor("#4a5a64"))
        font = QtGui.QFont(self.font())
        font.setPixelSize(12)
        painter.setFont(font)
        step_min = 5 if self.scale_s > 20 * 60 else 2
        minute = 0
        while minute * 60 <= self.scale_s + 1:
            x = bar.left() + bar.width() * minute * 60 / self.scale_s
            painter.drawLine(
                QtCore.QPointF(x, bar.bottom() + 1), QtCore.QPointF(x, bar.bottom() + 5)
            )
            label = QtCore.QRectF(x - 30, bar.bottom() + 5, 60, 16)
            if label.right() > self.width():
                label.moveRight(self.width())
            if label.left() < 0:
                label.moveLeft(0)
            align = QtCore.Qt.AlignmentFlag.AlignHCenter
            painter.drawText(label, align | QtCore.Qt.AlignmentFlag.AlignTop, f"{minute} min")
            minute += step_min
        painter.end()


class ProtocolColumn(QtWidgets.QFrame):
    """One protocol in the comparison, with its chooser."""

    chosen = QtCore.Signal(str)

    def __init__(self, protocols: Mapping[str, Protocol], protocol_id: str) -> None:
        super().__init__()
        self.setObjectName("compareColumn")
        self.protocols = protocols
        self.protocol: Protocol | None = None
        self.choice = QtWidgets.QComboBox()
        self.choice.setToolTip("Choose the protocol for this column")
        for pid, protocol in protocols.items():
            self.choice.addItem(f"{protocol.name} ({pid})", pid)
        self.name = QtWidgets.QLabel("")
        self.name.setObjectName("compareName")
        self.category = QtWidgets.QLabel("")
        self.category.setObjectName("compareCategory")
        self.description = QtWidgets.QLabel("")
        self.description.setObjectName("compareDescription")
        self.description.setWordWrap(True)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setObjectName("compareWaveforms")
        self.plot.setMinimumHeight(110)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        for side in ("left", "bottom"):
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.plot.setLabel("left", "µA")
        self.plot.setLabel("bottom", "one period (ms)")
        self.curves: list[pg.PlotDataItem] = []
        self.wave_legend = QtWidgets.QLabel("")
        self.wave_legend.setObjectName("compareWaveLegend")
        self.wave_legend.setWordWrap(True)
        self.map = ZoneOrderMap()
        self.total = QtWidgets.QLabel("")
        self.total.setObjectName("compareTotal")
        self.facts = QtWidgets.QLabel("")
        self.facts.setObjectName("compareFacts")
        self.facts.setWordWrap(True)
        self.facts.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)
        self.course = QtWidgets.QLabel("")
        self.course.setObjectName("compareFacts")
        self.course.setWordWrap(True)
        self.timeline = StepTimeline()

        title = QtWidgets.QHBoxLayout()
        title.addWidget(self.name)
        title.addWidget(self.category, 0, QtCore.Qt.AlignmentFlag.AlignVCenter)
        title.addStretch(1)
        figures = QtWidgets.QVBoxLayout()
        figures.addWidget(self.total)
        figures.addWidget(self.facts, 1)
        middle = QtWidgets.QHBoxLayout()
        middle.addWidget(self.map, 1)
        middle.addLayout(figures, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(5)
        layout.addWidget(self.choice)
        layout.addLayout(title)
        layout.addWidget(self.description)
        layout.addWidget(_section("Waveforms — one period of each"))
        layout.addWidget(self.plot, 3)
        layout.addWidget(self.wave_legend)
        layout.addWidget(_section("Zones in order, and the figures"))
        layout.addLayout(middle, 4)
        layout.addWidget(self.course)
        layout.addWidget(_section("Timeline of the steps"))
        layout.addWidget(self.timeline)
        self.choice.currentIndexChanged.connect(self._on_choice)
        self.select(protocol_id)

    def select(self, protocol_id: str) -> None:
        """Show the protocol with this id."""
        index = self.choice.findData(protocol_id)
        if index >= 0 and index != self.choice.currentIndex():
            self.choice.setCurrentIndex(index)  # _on_choice shows it
        elif index >= 0:
            self._show(self.protocols[protocol_id])

    def _on_choice(self, index: int) -> None:
        protocol_id = self.choice.itemData(index)
        if protocol_id in self.protocols:
            self._show(self.protocols[protocol_id])
            self.chosen.emit(protocol_id)

    def _show(self, protocol: Protocol) -> None:
        self.protocol = protocol
        self.name.setText(protocol.name)
        self.category.setText(protocol.category)
        self.description.setText(protocol.description)
        self.total.setText(f"Total {format_duration(protocol.duration_s)}")
        rows = "".join(
            f"<tr><td style='padding-right:8px'><b>{name}</b></td><td>{value}</td></tr>"
            for name, value in protocol_facts(protocol)
        )
        self.facts.setText(f"<table cellspacing=2>{rows}</table>")
        self.course.setText(f"<b>Course</b>&nbsp; {protocol.series.describe()}")
        self.wave_legend.setText("<br>".join(describe_waveforms(protocol)))
        self.map.set_protocol(protocol)
        self._draw_waveforms(protocol)

    def _draw_waveforms(self, protocol: Protocol) -> None:
        for curve in self.curves:
            self.plot.removeItem(curve)
        self.curves = []
        waveforms = distinct_waveforms(protocol)
        top = max(w.current_ua for w in waveforms)
        for waveform in waveforms:
            t, current = one_period(waveform)
            colour = QtGui.QColor(WAVE_COLOUR)
            # Lower currents lighter: the curves stack without a legend per line.
            colour.setAlpha(int(90 + 165 * waveform.current_ua / top))
            self.curves.append(
                self.plot.plot(t * 1000.0, current, pen=pg.mkPen(colour, width=2), antialias=True)
            )
        periods = {1000.0 / w.frequency_hz for w in waveforms}
        self.plot.setXRange(0, max(periods), padding=0.02)

    def set_scales(self, current_ua: float, time_s: float) -> None:
        """The µA range (±) and timeline span shared with the other columns."""
        self.plot.setYRange(-current_ua, current_ua, padding=0.05)
        self.timeline.set_protocol(self.protocol, time_s)


def _section(text: str) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    label.setObjectName("compareSection")
    return label


class ProtocolComparison(QtWidgets.QWidget):
    """Columns comparing protocols (default lifting, toning and circulation) on shared scales."""

    def __init__(
        self, protocols: Mapping[str, Protocol], parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("protocolComparison")
        self.setWindowTitle("Microcurrent Console — compare protocols")
        self.protocols = dict(protocols)
        chosen = [pid for pid in DEFAULT_IDS if pid in self.protocols]
        chosen += [pid for pid in self.protocols if pid not in chosen]
        self.columns: list[ProtocolColumn] = []
        row = QtWidgets.QHBoxLayout()
        row.setSpacing(12)
        for protocol_id in chosen[:3]:
            column = ProtocolColumn(self.protocols, protocol_id)
            column.chosen.connect(lambda _pid: self._rescale())
            self.columns.append(column)
            row.addWidget(column, 1)
        heading = QtWidgets.QLabel(
            "Compare protocols: the columns share their scales (µA and minutes)"
        )
        heading.setObjectName("compareSection")
        self.region_legend = QtWidgets.QLabel(self._legend_text())
        self.region_legend.setObjectName("compareRegionLegend")
        self.region_legend.setWordWrap(True)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.addWidget(heading)
        if not self.columns:
            empty = QtWidgets.QLabel("No protocols are installed.")
            layout.addWidget(empty, 1)
        layout.addLayout(row, 1)
        layout.addWidget(self.region_legend)
        self._rescale()
        self.resize(1600, 900)

    def set_column(self, index: int, protocol_id: str) -> None:
        """Show ``protocol_id`` in column ``index`` (as its combo box does)."""
        self.columns[index].select(protocol_id)
        self._rescale()

    def shown(self) -> list[Protocol]:
        """The protocols in the columns, left to right."""
        return [column.protocol for column in self.columns if column.protocol is not None]

    def _rescale(self) -> None:
        shown = self.shown()
        if not shown:
            return
        top = max(step.waveform.current_ua for protocol in shown for step in protocol.steps)
        longest = max(protocol.duration_s for protocol in shown)
        for column in self.columns:
            column.set_scales(top, longest)

    @staticmethod
    def _legend_text() -> str:
        catalog = zone_catalog()
        names = {zone.region: zone.name.split(",")[0] for zone in catalog.values()}
        swatches = [
            f'<span style="color:{colour}">■</span>&nbsp;{names.get(region, region)}'
            for region, colour in REGION_COLOURS.items()
        ]
        return "Regions: " + " &nbsp;&nbsp; ".join(swatches)
