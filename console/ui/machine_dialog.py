"""The machine picker: registered drivers with their capabilities, serial ports, simulation speed."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtCore, QtWidgets

from console.drivers import DriverInfo, Transport
from console.engine.clock import TRAINER_SPEEDS as SPEEDS


@dataclass(frozen=True, slots=True)
class MachineChoice:
    """What the operator picked."""

    driver_id: str
    port: str | None
    speed: float


def serial_ports() -> list[tuple[str, str]]:
    """(device, description) of the serial ports pyserial sees; empty when there are none."""
    try:
        from serial.tools import list_ports
    except ImportError:  # pragma: no cover - pyserial is a dependency
        return []
    return [(port.device, port.description or port.device) for port in list_ports.comports()]


class MachineDialog(QtWidgets.QDialog):
    """Choose a driver (and a port for a machine on a port, a speed for the simulator)."""

    def __init__(
        self,
        drivers: dict[str, DriverInfo],
        current: str | None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Connect a machine")
        self.drivers = drivers
        self.list = QtWidgets.QListWidget()
        for info in drivers.values():
            label = f"{info.name} — {info.vendor} {info.model}"
            if info.simulated:
                label += "  [simulation]"
            item = QtWidgets.QListWidgetItem(label)
            item.setData(QtCore.Qt.ItemDataRole.UserRole, info.id)
            self.list.addItem(item)
            if info.id == current:
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)
        self.details = QtWidgets.QLabel("")
        self.details.setWordWrap(True)
        self.port = QtWidgets.QComboBox()
        self.port.setEditable(True)
        self.port.setToolTip("Serial port or pyserial URL (e.g. /dev/ttyUSB0, socket://host:port)")
        self.refresh_ports = QtWidgets.QPushButton("Refresh ports")
        self.refresh_ports.clicked.connect(self._fill_ports)
        self.speed = QtWidgets.QComboBox()
        for speed in SPEEDS:
            self.speed.addItem("real time" if speed == 1 else f"×{speed:g}", speed)
        self.speed.setToolTip("Simulation only: play the treatment faster than real time")
        form = QtWidgets.QFormLayout()
        port_row = QtWidgets.QHBoxLayout()
        port_row.addWidget(self.port, 1)
        port_row.addWidget(self.refresh_ports)
        form.addRow("Port", port_row)
        form.addRow("Speed", self.speed)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok).setText("Connect")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(QtWidgets.QLabel("Machines from the installed driver plugins:"))
        layout.addWidget(self.list, 1)
        layout.addWidget(self.details)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.list.currentItemChanged.connect(self._show_details)
        self._fill_ports()
        self._show_details()
        self.resize(560, 420)

    def _fill_ports(self) -> None:
        chosen = self._typed_port()
        self.port.clear()
        for device, description in serial_ports():
            self.port.addItem(f"{device} — {description}", device)
        if chosen:
            index = self.port.findData(chosen)
            if index >= 0:
                self.port.setCurrentIndex(index)  # the same device, still there
            else:
                self.port.setEditText(chosen)  # a typed URL, or a device now gone

    def _typed_port(self) -> str | None:
        """The port as the operator sees it: a listed device, or whatever they typed."""
        text = self.port.currentText().strip()
        index = self.port.currentIndex()
        if index >= 0 and text == self.port.itemText(index):
            return str(self.port.itemData(index))
        return text.split(" — ")[0].strip() or None

    def _selected(self) -> DriverInfo | None:
        item = self.list.currentItem()
        return (
            None if item is None else self.drivers.get(item.data(QtCore.Qt.ItemDataRole.UserRole))
        )

    def _show_details(self, *_: object) -> None:
        info = self._selected()
        if info is None:
            self.details.setText("No driver plugins are installed.")
            return
        self.details.setText(
            f"<b>{info.name}</b> ({info.transport.value})<br>{info.description}<br>"
            f"Capabilities: {info.capabilities.describe()}"
        )
        on_port = info.transport in (Transport.SERIAL, Transport.USB)
        self.port.setEnabled(on_port)
        self.refresh_ports.setEnabled(on_port)
        self.speed.setEnabled(info.simulated)
        if not info.simulated:
            self.speed.setCurrentIndex(0)

    def choice(self) -> MachineChoice | None:
        """The operator's pick, once accepted."""
        info = self._selected()
        if info is None:
            return None
        port = self._typed_port()
        return MachineChoice(
            driver_id=info.id,
            port=port if self.port.isEnabled() else None,
            speed=float(self.speed.currentData()) if info.simulated else 1.0,
        )
