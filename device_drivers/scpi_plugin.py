"""Built-in driver plugin: machines that speak the SCPI-style text protocol over serial.

The wire protocol is specified in ``docs/protocols/scpi.md``; the emulator of such a machine is
``python -m device_drivers.emulator --protocol scpi --pty``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from console.api import Clock, DriverInfo, Transport, hookimpl
from device_drivers.framed_plugin import NOMINAL_CAPABILITIES
from device_drivers.ports import discover_port

if TYPE_CHECKING:
    from device_drivers.scpi_driver import ScpiMachineDriver

mc_console_api = "1.1"

#: USB ids the machine enumerates with (pid.codes test VID; a vendor puts its own here).
USB_IDS = ((0x1209, 0x4D44),)


def make_scpi_driver(clock: Clock, port: str | None = None, **_: Any) -> ScpiMachineDriver:
    """Factory: the driver on ``port`` (a device, or a pyserial URL); found by USB id if None.
    The driver's module is imported here, when a machine is connected, not when the console
    starts."""
    from device_drivers.scpi_driver import ScpiMachineDriver

    return ScpiMachineDriver(clock, port=port or discover_port("SCPI machine", USB_IDS))


@hookimpl
def register_drivers() -> list[DriverInfo]:
    """The SCPI-protocol machine driver."""
    return [
        DriverInfo(
            id="scpi",
            name="SCPI-protocol machine",
            vendor="Microcurrent Console",
            model="SC series (SCPI text protocol)",
            transport=Transport.SERIAL,
            capabilities=NOMINAL_CAPABILITIES,
            factory=make_scpi_driver,
            description=(
                "Bench and clinic stimulators on USB-serial or RS-232 speaking the SCPI-style "
                "text protocol (checksummed, tagged lines), 921600 baud. Streams 2 kS/s."
            ),
            extra={"usb_ids": USB_IDS},
        )
    ]
