"""Built-in driver plugin: machines that speak the framed binary protocol over serial.

The wire protocol is specified in ``docs/protocols/framed.md``; the emulator of such a machine is
``python -m device_drivers.emulator --protocol framed --pty``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from console.api import Capabilities, Clock, DriverInfo, Polarity, Transport, WaveShape, hookimpl
from device_drivers.ports import discover_port

if TYPE_CHECKING:
    from device_drivers.framed_driver import FramedMachineDriver

mc_console_api = "1.1"

#: USB ids the machine enumerates with (pid.codes test VID; a vendor puts its own here).
USB_IDS = ((0x1209, 0x4D43),)

#: What the registration states before a machine is connected; the machine's own
#: CAPABILITIES frame replaces it once connected (it may be narrower, never wider).
NOMINAL_CAPABILITIES = Capabilities(
    channels=1,
    current_ua=(10.0, 1000.0),
    current_step_ua=10.0,
    frequency_hz=(0.1, 1000.0),
    waveforms=frozenset(WaveShape),
    polarities=frozenset(Polarity),
    sample_rate_hz=2000.0,
    compliance_v=15.0,
)


def make_framed_driver(clock: Clock, port: str | None = None, **_: Any) -> FramedMachineDriver:
    """Factory: the driver on ``port`` (a device, or a pyserial URL); found by USB id if None.
    The driver's module is imported here, when a machine is connected, not when the console
    starts."""
    from device_drivers.framed_driver import FramedMachineDriver

    return FramedMachineDriver(clock, port=port or discover_port("framed machine", USB_IDS))


@hookimpl
def register_drivers() -> list[DriverInfo]:
    """The framed-protocol machine driver."""
    return [
        DriverInfo(
            id="framed",
            name="Framed-protocol machine",
            vendor="Microcurrent Console",
            model="FX series (binary framed protocol)",
            transport=Transport.SERIAL,
            capabilities=NOMINAL_CAPABILITIES,
            factory=make_framed_driver,
            description=(
                "Professional stimulators on USB-serial or RS-232 speaking the binary framed "
                "protocol (COBS, CRC-16, ACK/NACK), 921600 baud. Streams 2 kS/s."
            ),
            extra={"usb_ids": USB_IDS},
        )
    ]
