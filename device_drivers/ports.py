"""Finding serial machines by their USB vendor and product ids (pyserial's ``list_ports``)."""

from __future__ import annotations

from collections.abc import Iterable

from serial.tools import list_ports

from console.api import DriverError

UsbId = tuple[int, int]


def matching_ports(usb_ids: Iterable[UsbId]) -> list[str]:
    """Devices (``/dev/ttyACM0``, ``COM3``) whose USB VID:PID is one of ``usb_ids``."""
    wanted = set(usb_ids)
    return sorted(port.device for port in list_ports.comports() if (port.vid, port.pid) in wanted)


def discover_port(kind: str, usb_ids: Iterable[UsbId]) -> str:
    """The one port a ``kind`` machine is on; a clear error for none or several."""
    ids = list(usb_ids)
    found = matching_ports(ids)
    described = ", ".join(f"{vid:04X}:{pid:04X}" for vid, pid in ids)
    if not found:
        raise DriverError(
            f"no {kind} found on USB (looked for {described}); connect it, or give its port"
        )
    if len(found) > 1:
        raise DriverError(f"several {kind}s found ({', '.join(found)}); choose one port")
    return found[0]
