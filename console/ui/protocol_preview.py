"""The "Preview" box of the protocol editor: total time and charge, the face map of the zones the
protocol visits (the selected step's zone lit), and the machine the protocol is checked against."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6 import QtCore, QtWidgets

from console.drivers import Capabilities
from console.protocols import Protocol, Step
from console.report import format_duration
from console.ui.editor_widgets import set_style_state
from console.ui.facemap import FaceMapWidget
from console.waveforms import HARD_MAX_CURRENT_UA, HARD_MAX_FREQUENCY_HZ, HARD_MIN_FREQUENCY_HZ
from console.zone_progress import ZoneState
from console.zones import ZoneCatalog


class ProtocolPreview(QtWidgets.QGroupBox):
    """What the protocol adds up to and where it goes; ``face_map.zone_clicked`` says which zone
    the trainer clicked."""

    def __init__(self, catalog: ZoneCatalog, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Preview", parent)
        self.setObjectName("protocolPreview")
        self.catalog = catalog
        self.face_map = FaceMapWidget(catalog=catalog)
        self.face_map.setMinimumSize(200, 260)
        self.face_map.installEventFilter(self)
        self.total_label = QtWidgets.QLabel("")
        self.total_label.setObjectName("protocolTotal")
        self.total_label.setToolTip("Planned time of the application stage")
        self.totals_detail = QtWidgets.QLabel("")
        self.totals_detail.setObjectName("protocolTotals")
        self.totals_detail.setWordWrap(True)
        self.machine_label = QtWidgets.QLabel("")
        self.machine_label.setObjectName("machineCheck")
        self.machine_label.setWordWrap(True)
        total_row = QtWidgets.QVBoxLayout()
        total_row.setSpacing(0)
        total_row.addWidget(self.total_label)
        total_row.addWidget(self.totals_detail)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        layout.addLayout(total_row)
        layout.addWidget(self.face_map, 1)
        layout.addStretch(0)  # only what the face map, at its tallest, leaves
        layout.addWidget(self.machine_label)

    def show_totals(self, protocol: Protocol, too_long: bool) -> None:
        """Total time (red when ``too_long``), steps, zones and planned charge."""
        steps = len(protocol.steps)
        self.total_label.setText(format_duration(protocol.duration_s))
        if bool(self.total_label.property("invalid")) != too_long:
            set_style_state(self.total_label, "invalid", too_long)
        self.totals_detail.setText(
            f"{steps} step{'s' if steps != 1 else ''} on {len(protocol.zones)} zones · "
            f"{protocol.planned_charge_uc:,.0f} µC planned charge"
        )

    def show_machine(self, capabilities: Capabilities | None, machine_name: str = "") -> None:
        """Which limits the protocol is checked against: a machine's, or the hard limits."""
        if capabilities is None:
            self.machine_label.setText("No machine connected: checked against the hard limits.")
            self.machine_label.setToolTip(
                f"Current at most {HARD_MAX_CURRENT_UA:g} µA, frequency "
                f"{HARD_MIN_FREQUENCY_HZ:g}–{HARD_MAX_FREQUENCY_HZ:g} Hz. Connect a machine to "
                "check against what it can do as well."
            )
            return
        name = machine_name or "the connected machine"
        caps = capabilities.clamped()
        frequencies = (
            ", ".join(f"{f:g}" for f in caps.frequency_choices_hz)
            if caps.frequency_choices_hz
            else f"{caps.frequency_hz[0]:g}–{caps.frequency_hz[1]:g}"
        )
        self.machine_label.setText(
            f"Checked against {name}: {caps.current_ua[0]:g}–{caps.current_ua[1]:g} µA, "
            f"{frequencies} Hz."
        )
        self.machine_label.setToolTip(f"{name}: {caps.describe()}")

    def show_steps(self, steps: Sequence[Step], row: int) -> None:
        """Shade the zones of ``steps`` and light the zone of step ``row`` (-1: none)."""
        states = {
            zone: ZoneState.PENDING for zone in {s.zone for s in steps} if zone in self.catalog
        }
        technique = ""
        if 0 <= row < len(steps) and steps[row].zone in self.catalog:
            states[steps[row].zone] = ZoneState.ACTIVE
            technique = steps[row].technique or "(no technique yet)"
        self.face_map.set_states(states, technique)
        self._fit_face_map()

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802
        if event.type() == QtCore.QEvent.Type.Resize and watched is self.face_map:
            self._fit_face_map()
        return super().eventFilter(watched, event)

    def _fit_face_map(self) -> None:
        """Make the map as tall as the face and its whole caption (the selected zone, its
        technique and placement warning) need, and no taller. FaceMapWidget keeps three lines
        for its caption and cuts a longer one, which a narrow preview often has."""
        face_map = self.face_map
        active = face_map.active_zone
        if active is None:
            text = "Zones of the chosen protocol are shaded; ⚠ marks a placement warning."
        else:
            zone = self.catalog[active]
            text = f"Now: {zone.name} — {face_map.active_technique}"
            if zone.placement_warning:
                text += f"\n⚠ {zone.placement_warning}"
        metrics = face_map.fontMetrics()
        flags = QtCore.Qt.TextFlag.TextWordWrap | QtCore.Qt.AlignmentFlag.AlignHCenter
        bounds = metrics.boundingRect(
            QtCore.QRect(0, 0, face_map.width() - 16, 10_000), flags, text
        )
        caption = max(bounds.height(), 3.2 * metrics.height())
        height = int((face_map.width() - 16) / 0.8 + caption + 30)
        if face_map.maximumHeight() != height:
            face_map.setMaximumHeight(max(height, face_map.minimumHeight()))
