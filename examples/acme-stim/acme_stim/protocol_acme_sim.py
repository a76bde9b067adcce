"""pyserial URL handler for ``acme-sim://``: an Acme S2 emulated in memory, behind a serial port.

::

    serial.serial_for_url("acme-sim://")                       # real time
    serial.serial_for_url("acme-sim://?speed=60&load_kohm=8")  # 60x, 8 kΩ between the probes

Options (URL query):

``speed``      machine seconds per wall second (default 1). The console must run at the same
               speed (``mc-console run ... --speed 60``); the driver refuses a mismatch.
``load_kohm``  the skin between the probes, kΩ (default 8). Above the console's contact window
               (60 kΩ) the console sees a lifted probe and pauses.
``serial``     the serial number the machine reports (default ``S2-SIM-0001``).

Like a real port, an emulated machine takes one connection at a time: opening ``acme-sim://``
again while it is open fails. ``acme-sim://bench2`` is another machine.

pyserial looks for the handler of a ``NAME://`` URL as module ``protocol_NAME`` in the packages
listed in ``serial.protocol_handler_packages``; ``acme_stim/__init__.py`` adds itself there when
the package is imported (the plugin imports it), so the URL works wherever the driver runs.
The machine boots when the port opens, like a USB machine that resets on connect.
"""

from __future__ import annotations

import math
import threading
import time
import urllib.parse
from typing import Any

from serial.serialutil import PortNotOpenError, SerialBase, SerialException, to_bytes

from acme_stim.machine import AcmeS2Machine

#: How often, in wall seconds, the emulated machine runs (measures, heartbeats, watchdog).
TICK_S = 0.005
#: Bytes the port buffers toward the console; beyond that the machine's output is lost (overrun).
RX_BUFFER_BYTES = 4 << 20

#: Emulated machines with a connection open, by name (the URL without its options): like a
#: real port, one machine takes one connection at a time.
_in_use: set[str] = set()
_in_use_lock = threading.Lock()


class Serial(SerialBase):
    """A serial port with an emulated Acme S2 on the other end."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._cond = threading.Condition()
        self._rx = bytearray()
        self._machine: AcmeS2Machine | None = None
        self._thread: threading.Thread | None = None
        self._running = False
        self._booted_at = 0.0
        self.speed = 1.0
        self.load_ohm = 8_000.0
        self.serial_number = "S2-SIM-0001"
        self.overruns = 0
        self._name = ""
        super().__init__(*args, **kwargs)

    # -- pyserial's port interface ---------------------------------------------------------

    def open(self) -> None:
        """Boot the emulated machine and start its clock."""
        if self.is_open:
            raise SerialException("Port is already open.")
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        self._from_url(str(self.port))
        with _in_use_lock:
            if self._name in _in_use:
                raise SerialException(
                    f"{self.port} is busy: another connection has this emulated machine open"
                )
            _in_use.add(self._name)
        self._machine = AcmeS2Machine(
            self.serial_number, emulated=True, link_scale=self.speed, load_ohm=self.load_ohm
        )
        with self._cond:
            self._rx.clear()
            self._booted_at = time.monotonic()
            self._machine.boot()
            self._collect()
            self._running = True
        self.is_open = True
        self._thread = threading.Thread(target=self._run, name="acme-sim", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Power the emulated machine off (its output with it)."""
        with self._cond:
            self._running = False
            self._cond.notify_all()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(1.0)
        if self.is_open:
            with _in_use_lock:
                _in_use.discard(self._name)
        self.is_open = False

    def read(self, size: int = 1) -> bytes:
        """Up to ``size`` bytes; waits up to the port's timeout for the first one."""
        if not self.is_open:
            raise PortNotOpenError()
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        with self._cond:
            while not self._rx and self._running:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._cond.wait(remaining)
            data = bytes(self._rx[:size])
            del self._rx[:size]
        return data

    def write(self, data: Any) -> int:
        """Hand bytes to the machine, which answers at once (as fast firmware would)."""
        if not self.is_open or not self._running:
            raise PortNotOpenError()
        payload = to_bytes(data)
        with self._cond:
            assert self._machine is not None
            self._machine.receive(payload, self._now())
            self._collect()
        return len(payload)

    @property
    def in_waiting(self) -> int:
        """Bytes waiting to be read."""
        if not self.is_open:
            raise PortNotOpenError()
        with self._cond:
            return len(self._rx)

    def reset_input_buffer(self) -> None:
        """Discard what the machine sent and nobody read yet."""
        with self._cond:
            self._rx.clear()

    def reset_output_buffer(self) -> None:
        """Nothing waits on the way to the machine: writes are delivered at once."""

    def cancel_read(self) -> None:
        """Wake a blocked read."""
        with self._cond:
            self._cond.notify_all()

    def _reconfigure_port(self) -> None:
        """Baud rate and framing mean nothing in memory."""

    def _update_dtr_state(self) -> None:
        """No modem lines."""

    def _update_rts_state(self) -> None:
        """No modem lines."""

    def _update_break_state(self) -> None:
        """No break condition."""

    # -- the emulation ---------------------------------------------------------------------

    def _from_url(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("acme-sim", "acme_sim"):
            raise SerialException(f"expected an acme-sim:// URL, got {url!r}")
        self._name = parts.netloc + parts.path  # acme-sim://bench2 is another machine
        try:
            for option, values in urllib.parse.parse_qs(parts.query, strict_parsing=False).items():
                value = values[-1]
                if option == "speed":
                    self.speed = _positive(value, option)
                elif option == "load_kohm":
                    self.load_ohm = _positive(value, option) * 1000.0
                elif option == "serial":
                    self.serial_number = value
                else:
                    raise ValueError(f"unknown option {option!r} (speed, load_kohm, serial)")
        except ValueError as error:
            raise SerialException(f"{url}: {error}") from None

    def _now(self) -> float:
        """Machine time: seconds since boot, at the emulator's speed."""
        return (time.monotonic() - self._booted_at) * self.speed

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._running:
                    return
                assert self._machine is not None
                self._machine.advance(self._now())
                self._collect()
            time.sleep(TICK_S)

    def _collect(self) -> None:
        """Move the machine's output into the port's receive buffer (lock held)."""
        assert self._machine is not None
        data = self._machine.take_output()
        if not data:
            return
        if len(self._rx) + len(data) > RX_BUFFER_BYTES:
            self.overruns += 1  # nobody is reading: the bytes are lost, as on a real UART
            return
        self._rx += data
        self._cond.notify_all()


def _positive(text: str, option: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{option}={text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{option}={text!r} must be a positive number")
    return value
