"""The machine picker's port and address field (pytest-qt, offscreen): what it refuses and says,
what it remembers for each driver, and a machine on the network connected from the window.

The network machine is the SCPI bench emulator listening on TCP, registered as a NETWORK driver
by a plugin of the test (the real SCPI driver behind it): the window opens ``socket://…``
exactly as a clinic's would.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6 import QtCore, QtWidgets
from serial.tools import list_ports
from serial.tools.list_ports_common import ListPortInfo

from console.api import DriverInfo, Transport, hookimpl
from console.engine.clock import RealClock, SteppedClock
from console.machine_address import address_problem
from console.plugins import PluginHost
from console.session import Console
from console.ui.app import make_application
from console.ui.machine_dialog import MachineDialog, remember_port, remembered_port
from console.ui.main_window import MainWindow
from device_drivers.emulator import make_emulator

pytestmark = pytest.mark.timeout(120)

NET_ID = "bench-net"


class NetworkBenchPlugin:
    """Registers the SCPI bench machine as a machine on the network (transport NETWORK)."""

    mc_console_api = "1.1"
    __version__ = "1.0.0"

    def __init__(self, scpi: DriverInfo) -> None:
        self.info = replace(
            scpi, id=NET_ID, name="SC bench on the network", transport=Transport.NETWORK
        )

    @hookimpl
    def register_drivers(self) -> list[DriverInfo]:
        return [self.info]


@pytest.fixture
def host() -> PluginHost:
    """The built-in plugins and the network bench."""
    plugins = PluginHost()
    plugins.load_entrypoints()
    plugins.collect()
    record = plugins.register(NetworkBenchPlugin(plugins.drivers["scpi"]), "bench-net")
    assert record.active, record.error
    plugins.collect()
    assert plugins.drivers[NET_ID].transport is Transport.NETWORK
    return plugins


@pytest.fixture
def settings(tmp_path: Path) -> QtCore.QSettings:
    return QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)


@pytest.fixture
def one_serial_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyserial sees one USB adapter (the real computer's ports must not matter)."""
    info = ListPortInfo("/dev/ttyUSB0")
    info.description = "USB serial"
    monkeypatch.setattr(list_ports, "comports", lambda *_a, **_k: [info])


def _dialog(
    qtbot: Any, host: PluginHost, settings: QtCore.QSettings, current: str
) -> MachineDialog:
    make_application()
    dialog = MachineDialog(host.drivers, current, settings=settings)
    qtbot.addWidget(dialog)
    return dialog


def _select(dialog: MachineDialog, driver_id: str) -> None:
    for row in range(dialog.list.count()):
        if dialog.list.item(row).data(QtCore.Qt.ItemDataRole.UserRole) == driver_id:
            dialog.list.setCurrentRow(row)
            return
    raise AssertionError(f"{driver_id} is not listed")


def _type(qtbot: Any, dialog: MachineDialog, text: str) -> None:
    editor = dialog.port.lineEdit()
    editor.selectAll()
    editor.del_()
    qtbot.keyClicks(editor, text)


def _press_connect(dialog: MachineDialog) -> None:
    dialog.findChild(QtWidgets.QDialogButtonBox).button(
        QtWidgets.QDialogButtonBox.StandardButton.Ok
    ).click()


# -- what is refused, in one sentence ------------------------------------------------------------


@pytest.mark.parametrize(
    ("transport", "port", "expected"),
    [
        (Transport.SERIAL, "/dev/ttyUSB0", None),
        (Transport.SERIAL, "COM3", None),
        (Transport.SERIAL, "socket://10.0.0.5:5025", None),
        (Transport.SERIAL, "rfc2217://[::1]:7000", None),
        (Transport.SERIAL, "acme-sim://?speed=60", None),  # a vendor's own scheme: its to judge
        (Transport.NETWORK, "socket://bench.clinic.lan:5025", None),
        (Transport.SERIAL, "", "Give the port of the"),
        (Transport.SERIAL, None, "Give the port of the"),
        (Transport.NETWORK, "  ", "Give the address of the"),
        (Transport.SERIAL, "/dev/tty USB0", "has a space in it"),
        (Transport.NETWORK, "10.0.0.5:5025", "for example socket://10.0.0.5:5025."),
        (Transport.NETWORK, "bench", "for example socket://bench:5025."),
        (Transport.NETWORK, "COM3", "for example socket://192.168.1.20:5025."),
        (Transport.NETWORK, "socket://bench", "has no port number after the host"),
        (Transport.NETWORK, "socket://bench:99999", "no valid port number (1 to 65535)"),
        (Transport.NETWORK, "socket://:5025", "names no host"),
        (Transport.SERIAL, "9pin://x", "does not start with a URL scheme"),
    ],
)
def test_an_address_is_refused_only_when_it_cannot_reach_the_machine(
    host: PluginHost, transport: Transport, port: str | None, expected: str | None
) -> None:
    info = replace(host.drivers["scpi"], transport=transport)
    problem = address_problem(info, port)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem
        assert problem.endswith(".") and "\n" not in problem  # one sentence


def test_the_simulator_needs_no_address(host: PluginHost) -> None:
    assert address_problem(host.drivers["simulator"], None) is None


# -- the picker ------------------------------------------------------------------------------------


def test_a_network_machine_gets_an_address_field_and_a_bad_address_keeps_the_dialog_open(
    qtbot: Any, host: PluginHost, settings: QtCore.QSettings, one_serial_port: None
) -> None:
    dialog = _dialog(qtbot, host, settings, NET_ID)
    assert dialog.port.isEnabled() and not dialog.refresh_ports.isEnabled()
    assert dialog.port_label.text() == "Address"
    assert dialog.port.currentText() == ""  # no serial device offered for a network machine
    assert "socket://" in dialog.port.lineEdit().placeholderText()
    dialog.show()

    _press_connect(dialog)  # nothing typed
    assert dialog.result() != QtWidgets.QDialog.DialogCode.Accepted and dialog.isVisible()
    assert dialog.port_error.isVisible()
    assert dialog.port_error.text().startswith("Give the address of the SC bench on the network")

    _type(qtbot, dialog, "10.0.0.5:5025")
    assert not dialog.port_error.isVisible()  # typing clears the old complaint
    _press_connect(dialog)
    assert dialog.isVisible() and "socket://10.0.0.5:5025" in dialog.port_error.text()
    assert dialog.port.currentText() == "10.0.0.5:5025"  # what was typed is kept
    assert remembered_port(settings, NET_ID) is None  # nothing saved for a refused address

    _type(qtbot, dialog, "socket://10.0.0.5:5025")
    _press_connect(dialog)
    assert dialog.result() == QtWidgets.QDialog.DialogCode.Accepted
    choice = dialog.choice()
    assert choice is not None and (choice.driver_id, choice.port) == (
        NET_ID,
        "socket://10.0.0.5:5025",
    )
    assert remembered_port(settings, NET_ID) == "socket://10.0.0.5:5025"


def test_each_driver_offers_the_port_it_was_last_connected_on(
    qtbot: Any, host: PluginHost, settings: QtCore.QSettings, one_serial_port: None
) -> None:
    remember_port(settings, NET_ID, "socket://bench.clinic.lan:5025")
    remember_port(settings, "scpi", "/dev/ttyACM7")
    dialog = _dialog(qtbot, host, settings, "simulator")
    assert not dialog.port.isEnabled() and dialog.choice().port is None  # type: ignore[union-attr]

    _select(dialog, NET_ID)
    assert dialog.port.currentText() == "socket://bench.clinic.lan:5025"
    _select(dialog, "scpi")
    assert dialog.port_label.text() == "Port" and dialog.refresh_ports.isEnabled()
    assert dialog.choice().port == "/dev/ttyACM7"  # type: ignore[union-attr]
    _select(dialog, "framed")  # never connected: the first device pyserial sees
    assert dialog.choice().port == "/dev/ttyUSB0"  # type: ignore[union-attr]
    _select(dialog, NET_ID)
    assert dialog.choice().port == "socket://bench.clinic.lan:5025"  # type: ignore[union-attr]


# -- the window ------------------------------------------------------------------------------------


def test_the_window_connects_a_network_machine_at_the_address_typed_in_the_picker(
    qtbot: Any,
    host: PluginHost,
    settings: QtCore.QSettings,
    monkeypatch: pytest.MonkeyPatch,
    dialogs: list[tuple[str, str]],
) -> None:
    server = make_emulator("scpi", RealClock(), sample_rate_hz=200.0)
    url = server.listen_tcp(0)
    server.start()
    make_application()
    console = Console(host)
    clock = SteppedClock()
    console.connect("simulator", clock=clock)
    window = MainWindow(console, settings)
    qtbot.addWidget(window)
    window.show_connection(console.connection)
    seen: list[MachineDialog] = []

    def exec_(dialog: MachineDialog) -> int:
        """The operator picks the network machine, types its address and presses Connect."""
        seen.append(dialog)
        _select(dialog, NET_ID)
        _type(qtbot, dialog, url)
        _press_connect(dialog)
        return dialog.result()

    monkeypatch.setattr(MachineDialog, "exec", exec_)
    try:
        window.choose_machine()
        assert len(seen) == 1
        qtbot.waitUntil(
            lambda: console.connection is not None and console.connection.info.id == NET_ID,
            timeout=20000,
        )
        assert console.connection is not None
        assert console.connection.port == url
        assert "SC-2" in console.connection.identity.model
        qtbot.waitUntil(lambda: window.machine_label.text().startswith("Machine:"), timeout=5000)
        assert not dialogs, dialogs
        # Remembered for the next time: in the picker, and at the window's next start.
        assert remembered_port(window.settings, NET_ID) == url
    finally:
        clock.release()
        console.disconnect()
        server.stop()
