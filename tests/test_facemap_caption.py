"""The face map's caption shows its whole text (the step's placement warning is safety text),
in smaller type when the map is short, with the face above it."""

from __future__ import annotations

import pytest
from PySide6 import QtCore, QtGui

from console.plugins import load_plugins
from console.ui.facemap import FaceMapWidget
from console.zone_progress import ZoneState


@pytest.mark.timeout(60)
@pytest.mark.parametrize("size", [(330, 520), (300, 420), (260, 320)])
def test_every_steps_warning_fits_under_the_face(qtbot, size: tuple[int, int]) -> None:
    face = FaceMapWidget()
    qtbot.addWidget(face)
    face.resize(*size)
    checked = 0
    for protocol in load_plugins().protocols.values():
        for step in protocol.steps:
            if not face.catalog[step.zone].placement_warning:
                continue
            face.set_states({step.zone: ZoneState.ACTIVE}, step.technique)
            font, _ = face.caption_layout()
            face_rect = face._face_rect()
            room = QtCore.QRectF(8, face_rect.bottom() + 6, face.width() - 16, 0)
            room.setBottom(face.height() - 2)
            needed = QtGui.QFontMetricsF(font).boundingRect(
                QtCore.QRectF(0, 0, room.width(), 100_000),
                FaceMapWidget._CAPTION_FLAGS,
                face.caption_text(),
            )
            assert needed.height() <= room.height() + 0.5, (step.zone, size, font.pointSizeF())
            assert face_rect.height() > 0.4 * face.height()  # the face stays the larger part
            checked += 1
    assert checked > 5
