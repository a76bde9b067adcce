"""The machine picker: registered drivers with their capabilities, the machine's port or
network address (remembered per driver), simulation speed."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtCore, QtWidgets

from console.drivers import DriverInfo, Transport
from console.engine.clock import TRAINER_SPEEDS as SPEEDS
from console.machine_address import address_examples, address_problem, needs_address

#: The QSettings group under which the last port or address used with each driver is kept.
PORTS_GROUP = "machine_ports"


@dataclass(frozen=True, slots=True)
class MachineChoice:
    """What the operator picked."""

    driver_id: str
    port: str | None
    speed: float


def remembered_port(settings: QtCore.QSettings | None, driver_id: str) -> str | None:
    """The port or address last connected with ``driver_id`` from the picker, if any."""
    if settings is None:
        return None
    value = settings.value(f"{PORTS_GROUP}/{driver_id}", "")
    return str(value).strip() or None


def remember_port(settings: QtCore.QSettings, driver_id: str, port: str) -> None:
    """Keep ``port`` as the one to offer next time ``driver_id`` is picked."""
    settings.setValue(f"{PORTS_GROUP}/{driver_id}", port)


def serial_ports() -> list[tuple[str, str]]:
    """(device, description) of the serial ports pyserial sees; empty when there are none."""
    try:
        from serial.tools import list_ports
    except ImportError:  # pragma: no cover - pyserial is a dependency
        return []
    return [(port.device, port.description or port.device) for port in list_ports.comports()]


class MachineDialog(QtWidgets.QDialog):
    """Choose a driver, with the port or network address of a real machine (or an emulator) and
    a speed for the simulator.

    ``settings`` keeps the port or address last used with each driver: it is offered again when
    that driver is picked, and saved when Connect is pressed with an address that passes
    :func:`console.machine_address.address_problem`. One that does not is said under the field
    and the dialog stays open with everything as typed.
    """

    def __init__(
        self,
        drivers: dict[str, DriverInfo],
        current: str | None,
        parent: QtWidgets.QWidget | None = None,
        settings: QtCore.QSettings | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Connect a machine")
        self.drivers = drivers
        self.settings = settings
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
        self.port.editTextChanged.connect(lambda _text: self._say_port_problem(None))
        self.port_label = QtWidgets.QLabel("Port")
        self.port_error = QtWidgets.QLabel("")
        self.port_error.setObjectName("fieldError")
        self.port_error.setWordWrap(True)
        self.port_error.hide()
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
        form.addRow(self.port_label, port_row)
        form.addRow("", self.port_error)
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
        self.list.currentItemChanged.connect(self._driver_changed)
        self._fill_ports()
        self._driver_changed()
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

    def _driver_changed(self, *_: object) -> None:
        info = self._selected()
        self._say_port_problem(None)
        if info is None:
            self.details.setText("No driver plugins are installed.")
            return
        self.details.setText(
            f"<b>{info.name}</b> ({info.transport.value})<br>{info.description}<br>"
            f"Capabilities: {info.capabilities.describe()}"
        )
        # Every machine but a simulated one is somewhere: a serial device, a USB port, or a
        # network address (a machine on the network, or a serial machine behind a server).
        wanted = needs_address(info)
        on_cable = info.transport in (Transport.SERIAL, Transport.USB)
        self.port.setEnabled(wanted)
        self.refresh_ports.setEnabled(wanted and on_cable)
        self.port_label.setText("Address" if info.transport is Transport.NETWORK else "Port")
        examples = address_examples(info)
        self.port.lineEdit().setPlaceholderText(examples if wanted else "")
        self.port.setToolTip(
            f"Where the {info.name} is, for example {examples}" if wanted else "Not used"
        )
        if wanted:
            self._offer_port(info)
        self.speed.setEnabled(info.simulated)
        if not info.simulated:
            self.speed.setCurrentIndex(0)

    def _offer_port(self, info: DriverInfo) -> None:
        """Put the port last used with ``info`` in the field. A driver never connected gets the
        first device pyserial sees (a machine on a cable) or an empty field (on the network),
        never the port of the driver picked before: that is another machine's."""
        port = remembered_port(self.settings, info.id)
        if port is None:
            on_network = info.transport is Transport.NETWORK
            self.port.setCurrentIndex(-1 if on_network or not self.port.count() else 0)
            if self.port.currentIndex() < 0:
                self.port.setEditText("")
            return
        index = self.port.findData(port)
        if index >= 0:
            self.port.setCurrentIndex(index)
        else:
            self.port.setCurrentIndex(-1)
            self.port.setEditText(port)

    def _say_port_problem(self, problem: str | None) -> None:
        self.port_error.setText(problem or "")
        self.port_error.setVisible(bool(problem))

    def port_problem(self) -> str | None:
        """Why the port or address in the field cannot reach the selected machine, or ``None``."""
        info = self._selected()
        return None if info is None else address_problem(info, self._typed_port())

    def accept(self) -> None:
        """Connect: only with a port or address that may reach the machine (else say why under
        the field and keep the dialog open as it is); remember it for this driver."""
        info = self._selected()
        problem = self.port_problem()
        if problem is not None:
            self._say_port_problem(problem)
            self.port.setFocus()
            return
        port = self._typed_port()
        if info is not None and needs_address(info) and port and self.settings is not None:
            remember_port(self.settings, info.id, port)
        super().accept()

    def choice(self) -> MachineChoice | None:
        """The operator's pick, once accepted."""
        info = self._selected()
        if info is None:
            return None
        port = self._typed_port()
        return MachineChoice(
            driver_id=info.id,
            port=port if needs_address(info) else None,
            speed=float(self.speed.currentData()) if info.simulated else 1.0,
        )
