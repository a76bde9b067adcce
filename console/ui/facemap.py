"""The facial-zone map: a vector face drawn from ``resources/face_zones.json``, zones coloured by state.

It scales with the window (the geometry is in unit coordinates), shows the active zone with the
technique of the running step, marks zones that carry a placement warning, and reports clicks so
the main window can show what a zone's steps planned and delivered.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from console.zone_progress import ZoneState
from console.zones import Point, Zone, ZoneCatalog, zone_catalog

#: Fill colours by zone state (calm, distinguishable also for common colour-vision deficiencies:
#: they differ in lightness as well as hue, and the active zone also gets a thick outline).
ZONE_FILL = {
    ZoneState.NOT_IN_PROTOCOL: QtGui.QColor(0, 0, 0, 0),
    ZoneState.PENDING: QtGui.QColor("#bcd7ee"),
    ZoneState.ACTIVE: QtGui.QColor("#f2a93b"),
    ZoneState.DONE: QtGui.QColor("#7cc48f"),
    ZoneState.SKIPPED: QtGui.QColor("#e58f8f"),
}
SKIN = QtGui.QColor("#f6e7dc")
OUTLINE = QtGui.QColor("#8a6f5e")
WARNING = QtGui.QColor("#b3261e")
#: Features drawn filled (the rest are line drawings).
FEATURE_FILL = {"hair": QtGui.QColor("#dcc6b0"), "irises": QtGui.QColor("#9b8576")}


# Face drawing shared by every map of the face (this one, the demonstration's, the comparison's)


def face_point(rect: QtCore.QRectF, point: Point) -> QtCore.QPointF:
    """Widget coordinates of a face-unit point inside the face rectangle ``rect``."""
    return QtCore.QPointF(
        rect.left() + point[0] * rect.width(), rect.top() + point[1] * rect.height()
    )


def fit_face_rect(area: QtCore.QRectF) -> QtCore.QRectF:
    """The largest 0.8:1 face rectangle centred in ``area``."""
    height = min(area.height(), area.width() / 0.8)
    width = 0.8 * height
    return QtCore.QRectF(
        area.left() + (area.width() - width) / 2,
        area.top() + (area.height() - height) / 2,
        width,
        height,
    )


def paint_face(
    painter: QtGui.QPainter, rect: QtCore.QRectF, catalog: ZoneCatalog, scale: float | None = None
) -> None:
    """Skin, outline and features (hair, brows, eyes, nose, mouth, ears) in the face rectangle
    ``rect``; line widths grow with ``scale`` (by default with the face's size)."""
    geometry = catalog.geometry
    scale = max(rect.width() / 400.0, 0.6) if scale is None else scale
    painter.setPen(QtGui.QPen(OUTLINE, 2 * scale))
    painter.setBrush(SKIN)
    painter.drawPolygon(QtGui.QPolygonF([face_point(rect, p) for p in geometry.outline]))
    painter.setPen(QtGui.QPen(OUTLINE, 1.2 * scale))
    for name, shapes in geometry.features.items():
        fill = FEATURE_FILL.get(name)
        painter.setBrush(fill if fill is not None else QtCore.Qt.BrushStyle.NoBrush)
        for shape in shapes:
            painter.drawPolygon(QtGui.QPolygonF([face_point(rect, p) for p in shape]))


class FaceMapWidget(QtWidgets.QWidget):
    """Draws the face and its zones; emits ``zone_clicked(zone_id)``."""

    zone_clicked = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None, catalog: ZoneCatalog | None = None):
        super().__init__(parent)
        self.catalog = catalog or zone_catalog()
        self.states: dict[str, ZoneState] = dict.fromkeys(self.catalog, ZoneState.NOT_IN_PROTOCOL)
        self.active_technique = ""
        self.setMinimumSize(260, 320)
        self.setMouseTracking(True)
        self.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding
        )
        self.setToolTip("Click a zone to see its steps and what was delivered there")

    def set_states(self, states: dict[str, ZoneState], technique: str = "") -> None:
        """New zone states (and the active step's technique) to draw."""
        self.states = {zone: states.get(zone, ZoneState.NOT_IN_PROTOCOL) for zone in self.catalog}
        self.active_technique = technique
        self.update()

    @property
    def active_zone(self) -> str | None:
        """The zone the probes should be on now."""
        return next((z for z, s in self.states.items() if s is ZoneState.ACTIVE), None)

    # -- geometry --------------------------------------------------------------------------

    def caption_text(self) -> str:
        """The words under the face: the step now and its placement warning, or the legend."""
        active = self.active_zone
        if active is None:
            return "Zones of the chosen protocol are shaded; ⚠ marks a placement warning."
        zone = self.catalog[active]
        text = f"Now: {zone.name} — {self.active_technique}"
        if zone.placement_warning:
            text += f"\n⚠ {zone.placement_warning}"
        return text

    #: The caption may take at most this share of the widget's height; its type shrinks first.
    CAPTION_SHARE = 0.45
    _CAPTION_FLAGS = QtCore.Qt.TextFlag.TextWordWrap | QtCore.Qt.AlignmentFlag.AlignHCenter

    def caption_layout(self) -> tuple[QtGui.QFont, float]:
        """The caption's font and height: the whole text always shows (a placement warning is
        safety text), in smaller type when the widget is short, never under 8 pt."""
        font = QtGui.QFont(self.font())
        width = max(40, self.width() - 16)
        limit = self.height() * self.CAPTION_SHARE
        text = self.caption_text()
        while True:
            metrics = QtGui.QFontMetricsF(font)
            needed = metrics.boundingRect(
                QtCore.QRectF(0, 0, width, 100_000), self._CAPTION_FLAGS, text
            ).height()
            needed = max(needed, 3.2 * metrics.height()) + 4
            if needed <= limit or font.pointSizeF() <= 8.0:
                return font, needed
            font.setPointSizeF(max(8.0, font.pointSizeF() - 0.5))

    def _face_rect(self) -> QtCore.QRectF:
        """The largest 0.8:1 rectangle in the widget, above the caption."""
        _, caption = self.caption_layout()
        available = QtCore.QRectF(self.rect()).adjusted(8, 8, -8, -8 - caption)
        rect = fit_face_rect(available)
        rect.moveTop(available.top())  # the face at the top, the caption right under it
        return rect

    def _polygon(
        self, points: tuple[tuple[float, float], ...], rect: QtCore.QRectF
    ) -> QtGui.QPolygonF:
        return QtGui.QPolygonF([face_point(rect, point) for point in points])

    def zone_at(self, point: QtCore.QPointF) -> Zone | None:
        """The zone under a widget point, if any."""
        rect = self._face_rect()
        for zone in self.catalog.values():
            if self._polygon(zone.polygon, rect).containsPoint(
                point, QtCore.Qt.FillRule.OddEvenFill
            ):
                return zone
        return None

    def zone_centre(self, zone_id: str) -> QtCore.QPointF:
        """Widget coordinates of a zone's label point (tests click there)."""
        return face_point(self._face_rect(), self.catalog[zone_id].label_at)

    # -- events ----------------------------------------------------------------------------

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802 - Qt names it
        zone = self.zone_at(event.position())
        if zone is not None:
            self.zone_clicked.emit(zone.id)

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802 - Qt names it
        zone = self.zone_at(event.position())
        if zone is None:
            self.setToolTip("Click a zone to see its steps and what was delivered there")
            return
        text = f"{zone.name}: {self.states.get(zone.id, ZoneState.NOT_IN_PROTOCOL).value}"
        if zone.placement_warning:
            text += f"\n⚠ {zone.placement_warning}"
        self.setToolTip(text)

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802 - Qt names it
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        rect = self._face_rect()
        paint_face(painter, rect, self.catalog, scale=1.0)

        label_font = QtGui.QFont(self.font())
        label_font.setPointSizeF(max(7.0, rect.height() / 60))
        painter.setFont(label_font)
        for zone in self.catalog.values():
            state = self.states.get(zone.id, ZoneState.NOT_IN_PROTOCOL)
            polygon = self._polygon(zone.polygon, rect)
            if state is ZoneState.NOT_IN_PROTOCOL:
                pen = QtGui.QPen(QtGui.QColor("#b9a89b"), 1, QtCore.Qt.PenStyle.DotLine)
            elif state is ZoneState.ACTIVE:
                pen = QtGui.QPen(QtGui.QColor("#8a4b00"), 3)
            else:
                pen = QtGui.QPen(QtGui.QColor("#5b6770"), 1)
            painter.setPen(pen)
            fill = QtGui.QColor(ZONE_FILL[state])
            if state is not ZoneState.NOT_IN_PROTOCOL:
                fill.setAlpha(215)
            painter.setBrush(fill)
            painter.drawPolygon(polygon)
            if zone.placement_warning and state is not ZoneState.NOT_IN_PROTOCOL:
                centre = self.zone_centre(zone.id)
                painter.setPen(QtGui.QPen(WARNING))
                painter.drawText(
                    QtCore.QRectF(centre.x() - 10, centre.y() - 22, 20, 16),
                    QtCore.Qt.AlignmentFlag.AlignCenter,
                    "⚠",
                )

        painter.setPen(QtGui.QColor("#333"))
        caption = QtCore.QRectF(
            8, rect.bottom() + 6, self.width() - 16, self.height() - rect.bottom() - 8
        )
        caption_font, _ = self.caption_layout()
        painter.setFont(caption_font)
        painter.drawText(caption, self._CAPTION_FLAGS, self.caption_text())
        painter.end()
