"""The checker's end of the wire: a port opened with pyserial, every byte kept for the report."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import serial

#: The baud rate both specs recommend (USB CDC ignores it).
DEFAULT_BAUD = 921_600
#: How long one read waits for more bytes: short, so answers are timed to about 10 ms.
_READ_TIMEOUT_S = 0.01


class LinkError(Exception):
    """The port cannot be opened (a usage error: no such port, busy, not a serial URL)."""


@dataclass(frozen=True, slots=True)
class Event:
    """Bytes that went one way at one moment (``time.monotonic()``)."""

    sent: bool
    at: float
    data: bytes


class Link:
    """A port or socket (any ``serial.serial_for_url`` URL) with a transcript of its traffic."""

    def __init__(self, url: str, baudrate: int = DEFAULT_BAUD) -> None:
        self.url = url
        self.baudrate = baudrate
        self.events: list[Event] = []
        self.opened_at = 0.0
        self._port: serial.SerialBase | None = None

    def open(self) -> None:
        """Open the port, exclusively where pyserial supports it; :class:`LinkError` if not."""
        try:
            self._port = _open(self.url, self.baudrate)
        except (serial.SerialException, ValueError, OSError) as error:
            raise LinkError(f"cannot open {self.url}: {_one_line(error)}") from None
        self.opened_at = time.monotonic()

    @property
    def is_open(self) -> bool:
        return self._port is not None

    def close(self) -> None:
        """Close the port (the machine sees DTR fall, or the connection end)."""
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()  # a port that already went away

    def write(self, data: bytes) -> None:
        """Send ``data`` as it is, and keep it for the report."""
        if self._port is None:
            raise serial.SerialException("the port is closed")
        self.events.append(Event(True, time.monotonic(), bytes(data)))
        self._port.write(data)
        self._port.flush()

    def read(self) -> bytes:
        """Whatever arrives within about 10 ms (often nothing); kept for the report."""
        if self._port is None:
            raise serial.SerialException("the port is closed")
        data = self._port.read(1)  # returns as soon as a byte comes, or after 10 ms
        if data:
            # A device says how much more it holds; a socket only "something" (1): read what
            # comes within the timeout then.
            waiting = self._port.in_waiting
            if waiting:
                data += self._port.read(waiting if waiting > 1 else 65536)
        if data:
            self.events.append(Event(False, time.monotonic(), bytes(data)))
        return bytes(data)

    def last_sent_at(self) -> float:
        """When the latest bytes were sent (0.0 if none yet)."""
        return next((e.at for e in reversed(self.events) if e.sent), 0.0)

    def mark(self) -> int:
        """A position in the transcript, for :meth:`since`."""
        return len(self.events)

    def since(self, mark: int) -> list[Event]:
        """The traffic from ``mark`` on."""
        return self.events[mark:]


def _open(url: str, baudrate: int) -> serial.SerialBase:
    try:
        return serial.serial_for_url(
            url, baudrate=baudrate, timeout=_READ_TIMEOUT_S, write_timeout=1.0, exclusive=True
        )
    except ValueError as error:
        if "exclusive" not in str(error):
            raise
    # This platform's ports cannot be locked (Windows locks them anyway).
    return serial.serial_for_url(url, baudrate=baudrate, timeout=_READ_TIMEOUT_S, write_timeout=1.0)


def _one_line(error: BaseException) -> str:
    """An exception's message on one line, without pyserial's repetition of the path."""
    text = " ".join(str(error).split())
    return text.rstrip(".") or type(error).__name__
