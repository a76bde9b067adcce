"""The Acme S2 driver: Microcurrent Console's :class:`~console.drivers.Driver` over the S2 line protocol.

The port is opened with pyserial's ``serial_for_url``, so the same code drives the machine on
``/dev/ttyUSB0`` or ``COM3``, through ``socket://host:port``, or the in-memory emulator at
``acme-sim://`` (see :mod:`acme_stim.protocol_acme_sim`).

Threads (the console's contract, ``console/drivers.py``):

* the engine thread calls every method except :meth:`AcmeS2Driver.stop_output`;
* a reader thread owns the port's input: answers go to the command waiting for them, samples
  and heartbeats into state that :meth:`~AcmeS2Driver.read_samples` and
  :meth:`~AcmeS2Driver.status` hand over without blocking;
* a keep-alive thread pings the machine (its watchdog turns the output off after 1 s without a
  command) and repeats ``OUT 0`` while a heartbeat still shows the output on after a stop;
* :meth:`~AcmeS2Driver.stop_output` may be called from any thread: it writes ``OUT 0`` and
  returns without waiting for an answer, and never raises.

Time: the machine numbers its samples (``n / 500`` s since it booted). The offset to the
console's clock is the smallest ``console now - machine time`` seen while opening (transit
delays are never negative), then fixed, so timestamps rise at exactly the sample rate; the
heartbeats then check that the machine's clock keeps pace with the console's.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import serial
from console.drivers import (
    Capabilities,
    DeviceIdentity,
    DeviceStatus,
    Driver,
    DriverError,
    SampleBlock,
)
from console.engine.clock import Clock
from console.waveforms import Polarity, Waveform, WaveShape

log = logging.getLogger(__name__)

BAUDRATE = 115_200
#: Wall seconds: the hello after opening, one answer, the keep-alive period, the time sync.
HELLO_TIMEOUT_S = 2.0
ANSWER_TIMEOUT_S = 0.25
KEEPALIVE_S = 0.2
SYNC_S = 0.2
READ_TIMEOUT_S = 0.05
#: The machine's clock may run this much faster or slower than the console's (judged over 1 s).
PACE_TOLERANCE = 0.1
#: Fault codes of the machine's heartbeat, in the operator's words.
MACHINE_FAULTS = {
    "watchdog": "the machine's watchdog turned the output off (no command from the console for 1 s)"
}


@dataclass(slots=True)
class _Waiter:
    event: threading.Event = field(default_factory=threading.Event)
    ok: bool = False
    value: str = ""


class AcmeS2Driver(Driver):
    """One Acme S2 on one port."""

    def __init__(self, clock: Clock, port: str, capabilities: Capabilities) -> None:
        self.clock = clock
        self.port = port
        #: What the registration states; replaced by the machine's own answer to ``CAP?``.
        self.capabilities = capabilities
        #: True when the machine's hello says it is an emulator (no current reaches anyone).
        self.emulated = False
        self.samples_missing = 0
        self.bad_lines = 0
        self._serial: serial.SerialBase | None = None
        self._write_lock = threading.Lock()
        self._lock = threading.Lock()  # state shared with the reader thread; never held long
        self._waiters: dict[int, _Waiter] = {}
        self._tag = 0
        self._hello = threading.Event()
        self._hello_words: list[str] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lost: str | None = None
        self._identity: DeviceIdentity | None = None
        self._rate_hz = capabilities.sample_rate_hz
        self._opened = False  # open() finished: samples are kept, a new hello is a restart
        self._offset_s: float | None = None  # console time minus machine time
        self._first_beat: tuple[float, float, float] | None = None  # machine s, console s, wall s
        self._next_index: int | None = None
        self._blocks: list[SampleBlock] = []
        self._last_heard_s = 0.0
        self._output_on = False
        self._machine_faults: tuple[str, ...] = ()
        self._driver_faults: tuple[str, ...] = ()
        self._want_off = True
        self._off_requests = 0

    # -- Driver interface ------------------------------------------------------------------

    def open(self) -> None:
        """Open the port, wait for the hello, read identity and capabilities, sync the clocks."""
        try:
            self._serial = serial.serial_for_url(
                self.port,
                baudrate=BAUDRATE,
                timeout=READ_TIMEOUT_S,
                write_timeout=0.5,
                exclusive=True,  # one connection per machine: a second console is refused
            )
        except (serial.SerialException, ValueError, OSError) as error:
            raise DriverError(
                f"cannot open the Acme S2 port {self.port}: {_plain(error)}"
            ) from None
        self._stop.clear()
        self._hello.clear()
        self._lost, self._opened, self._offset_s, self._first_beat = None, False, None, None
        self._next_index, self._driver_faults, self._blocks = None, (), []
        self._start_thread(self._read_loop, "acme-s2-reader")
        try:
            if not self._hello.wait(HELLO_TIMEOUT_S):
                log.info("Acme S2 on %s: no hello (it may not reset on open)", self.port)
            identity = _identity(self._request("IDN?"))
            self.capabilities = _capabilities(self._request("CAP?"))
            self._rate_hz = self.capabilities.sample_rate_hz
            self._request("OUT 0")
            self._check_speed()
            time.sleep(SYNC_S)  # heartbeats and samples arrive; the smallest delay wins
            with self._lock:
                if self._offset_s is None:
                    raise DriverError(f"the Acme S2 on {self.port} sends no heartbeat or samples")
                self._identity = identity
                self._opened = True
        except DriverError:
            self.close()
            raise
        self._start_thread(self._keepalive_loop, "acme-s2-keepalive")

    def close(self) -> None:
        """Output off, threads stopped, port released. Idempotent."""
        port, self._serial = self._serial, None
        if port is None:
            return
        if self._lost is None:
            with contextlib.suppress(serial.SerialException, OSError):
                port.write(f"{self._next_tag()} OUT 0\n".encode())
        self._stop.set()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(1.0)
        self._threads.clear()
        with contextlib.suppress(serial.SerialException, OSError):
            port.close()

    def identify(self) -> DeviceIdentity:
        """Model, serial number and firmware, as the machine said on open."""
        self._check_connected()
        if self._identity is None:
            raise DriverError("the Acme S2 has not been identified (open it first)")
        return self._identity

    def configure(self, waveform: Waveform) -> None:
        """Shape, frequency, polarity and reversal interval; the amplitude is left alone."""
        self._request(
            f"WAVE {waveform.shape.value} {waveform.frequency_hz:.6g} "
            f"{waveform.polarity.value} {waveform.reversal_interval_s:.6g}"
        )

    def set_amplitude(self, current_ua: float) -> None:
        """The peak current, now; rounded down to the machine's 0.1 µA, never up."""
        self._request(f"AMP {math.floor(current_ua * 10 + 1e-6) / 10:.1f}")

    def start_output(self) -> None:
        """Output on at the present amplitude (a stop that raced with it still wins)."""
        stops = self._off_requests
        self._want_off = False
        self._request("OUT 1")
        if self._off_requests != stops:
            self.stop_output()

    def stop_output(self) -> None:
        """Output off now, from any thread: one write, no wait, never raises."""
        self._want_off = True
        self._off_requests += 1
        if self._serial is None or self._lost is not None:
            return  # no port: nothing can be on (the machine's watchdog sees to a lost one)
        try:
            self._write(f"{self._next_tag()} OUT 0\n")
        except DriverError:
            log.warning("Acme S2: the output-off write failed on %s", self.port)

    def read_samples(self) -> SampleBlock:
        """Every sample since the last call, on the console's clock; never blocks."""
        self._check_connected()
        with self._lock:
            blocks, self._blocks = self._blocks, []
        return SampleBlock.joined(blocks)

    def status(self) -> DeviceStatus:
        """When the machine was last heard, its output state, its and the driver's faults."""
        self._check_connected()
        with self._lock:
            faults = (*self._machine_faults, *self._driver_faults)
            return DeviceStatus(self._last_heard_s, self._output_on, faults)

    # -- commands --------------------------------------------------------------------------

    def _request(self, text: str) -> str:
        """Send one command and wait for its answer; a refusal or silence is a DriverError."""
        self._check_connected()
        tag, waiter = self._next_tag(), _Waiter()
        with self._lock:
            self._waiters[tag] = waiter
        try:
            self._write(f"{tag} {text}\n")
            answered = waiter.event.wait(ANSWER_TIMEOUT_S)
            self._check_connected()
            if not answered:
                raise DriverError(
                    f"the Acme S2 did not answer '{text}' within {ANSWER_TIMEOUT_S} s"
                )
        finally:
            with self._lock:
                self._waiters.pop(tag, None)
        if not waiter.ok:
            raise DriverError(f"the Acme S2 refused '{text}': {waiter.value}")
        return waiter.value

    def _check_speed(self) -> None:
        """An emulator must run at the console's speed, or every timestamp would be wrong."""
        words = dict(word.split("=", 1) for word in self._hello_words if "=" in word)
        console_speed = getattr(self.clock, "speed", None)
        try:
            machine_speed = float(words["speed"])
        except (KeyError, ValueError):
            return  # no speed stated: the heartbeats' pace check still applies
        if not self.emulated or not console_speed:
            return
        if abs(machine_speed / console_speed - 1.0) > 0.01:
            raise DriverError(
                f"the emulated Acme S2 runs at {machine_speed:g}x real time but the console at "
                f"{console_speed:g}x; give both the same speed, for example "
                f"--port 'acme-sim://?speed={console_speed:g}' --speed {console_speed:g}"
            )

    def _next_tag(self) -> int:
        with self._lock:
            self._tag = self._tag % 9999 + 1
            return self._tag

    def _write(self, text: str) -> None:
        port = self._serial
        if port is None:
            raise DriverError("the Acme S2 is not open")
        try:
            with self._write_lock:
                port.write(text.encode("ascii"))
        except (serial.SerialException, OSError) as error:
            self._connection_lost(error)
            raise DriverError(self._lost or "write failed") from None

    def _check_connected(self) -> None:
        if self._lost is not None:
            raise DriverError(self._lost)
        if self._serial is None:
            raise DriverError("the Acme S2 is not open")

    # -- threads ---------------------------------------------------------------------------

    def _start_thread(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _read_loop(self) -> None:
        port = self._serial
        assert port is not None
        pending = b""
        while not self._stop.is_set():
            try:
                data = port.read(max(1, port.in_waiting))
            except (serial.SerialException, OSError, TypeError) as error:
                if not self._stop.is_set():
                    self._connection_lost(error)
                return
            *lines, pending = (pending + data).split(b"\n")
            for raw in lines:
                try:
                    self._on_line(raw.decode("ascii", "replace").strip())
                except (ValueError, IndexError):
                    self.bad_lines += 1  # noise on the line: count it, keep reading
            if len(pending) > 4096:
                pending = b""

    def _keepalive_loop(self) -> None:
        while not self._stop.wait(KEEPALIVE_S):
            try:
                self._write(f"{self._next_tag()} PING\n")
                if self._want_off and self._output_on:
                    self._write(f"{self._next_tag()} OUT 0\n")  # the stop is not confirmed yet
            except DriverError:
                return

    # -- lines from the machine ------------------------------------------------------------

    def _on_line(self, line: str) -> None:
        if not line:
            return
        now = self.clock.now()
        kind, _, rest = line.partition(" ")
        if kind == "D":
            self._on_samples(rest, now)
        elif kind == "S":
            self._on_heartbeat(rest.split(), now)
        elif kind == "HELLO":
            self._on_hello(rest.split())
        elif kind.isdigit():
            verdict, _, value = rest.partition(" ")
            with self._lock:
                waiter = self._waiters.get(int(kind))
            if waiter is not None:  # no waiter: a keep-alive's or a stop's answer
                waiter.ok, waiter.value = verdict == "OK", value
                waiter.event.set()
        with self._lock:
            self._last_heard_s = max(self._last_heard_s, now)

    def _on_samples(self, text: str, now: float) -> None:
        first, _, values_text = text.partition(" ")
        values = np.array(values_text.split(), dtype=np.float64)
        if len(values) == 0 or len(values) % 2:
            raise ValueError("a sample line needs current and voltage pairs")
        index = int(first) + np.arange(len(values) // 2)
        machine_s = index / self._rate_hz
        with self._lock:
            self._observe_offset(float(machine_s[-1]), now)
            if not self._opened or self._offset_s is None:
                return  # before the clocks are synced the samples cannot be placed in time
            expected = self._next_index
            if expected is not None and index[0] < expected:
                return  # a repeat: already delivered
            if expected is not None and index[0] > expected:
                self.samples_missing += int(index[0] - expected)
            self._next_index = int(index[-1]) + 1
            self._blocks.append(SampleBlock(machine_s + self._offset_s, values[0::2], values[1::2]))

    def _on_heartbeat(self, words: list[str], now: float) -> None:
        machine_s, output_on, codes = int(words[0]) / 1e6, words[1] == "1", words[2]
        faults = tuple(
            MACHINE_FAULTS.get(code, f"machine fault {code}")
            for code in codes.split(",")
            if code != "-"
        )
        with self._lock:
            self._observe_offset(machine_s, now)
            self._output_on = output_on
            self._machine_faults = faults
            if self._first_beat is None:
                self._first_beat = (machine_s, now, time.monotonic())
                return
            first_machine_s, first_now, first_wall = self._first_beat
            if time.monotonic() - first_wall >= 1.0 and now > first_now:
                pace = (machine_s - first_machine_s) / (now - first_now)
                if abs(pace - 1.0) > PACE_TOLERANCE:
                    self._driver_fault(
                        f"the machine's clock runs at {pace:.2f}x the console's (an emulator "
                        "and the console must run at the same speed)"
                    )

    def _on_hello(self, words: list[str]) -> None:
        with self._lock:
            if self._opened:
                # The machine restarted under us (power, cable): its output is off.
                self._output_on = False
                self._driver_fault("the machine restarted during the session; its output is off")
                return
            self._hello_words = words
            self.emulated = "EMULATOR" in words
        self._hello.set()

    def _observe_offset(self, machine_s: float, now: float) -> None:
        """Refine the clock offset while opening (lock held); fixed once open."""
        if not self._opened and (self._offset_s is None or now - machine_s < self._offset_s):
            self._offset_s = now - machine_s

    def _driver_fault(self, fault: str) -> None:
        if fault not in self._driver_faults:
            self._driver_faults = (*self._driver_faults, fault)

    def _connection_lost(self, error: BaseException) -> None:
        if self._lost is None:
            self._lost = (
                f"the connection to the Acme S2 on {self.port} was lost ({_plain(error)}): "
                "cable pulled or machine off"
            )
            log.warning("%s", self._lost)
        with self._lock:
            waiters = list(self._waiters.values())
        for waiter in waiters:
            waiter.event.set()  # wake the caller: it sees the loss and raises


def _identity(answer: str) -> DeviceIdentity:
    words = answer.split()
    if len(words) != 3 or words[0] != "ACME-S2":
        raise DriverError(f"this is not an Acme S2 (it says {answer!r})")
    return DeviceIdentity(model="Acme S2", serial=words[1], firmware=words[2])


def _capabilities(answer: str) -> Capabilities:
    """``I=10,600,10 F=0.5,200 W=square,... P=... R=500 V=12`` as Capabilities."""
    try:
        fields = dict(word.split("=", 1) for word in answer.split())
        i_min, i_max, i_step = (float(v) for v in fields["I"].split(","))
        f_min, f_max = (float(v) for v in fields["F"].split(","))
        known_shapes = {shape.value for shape in WaveShape}
        return Capabilities(
            channels=1,
            current_ua=(i_min, i_max),
            current_step_ua=i_step,
            frequency_hz=(f_min, f_max),
            # A shape the console does not know is one it never asks for.
            waveforms=frozenset(WaveShape(w) for w in fields["W"].split(",") if w in known_shapes),
            polarities=frozenset(Polarity(p) for p in fields["P"].split(",")),
            sample_rate_hz=float(fields["R"]),
            compliance_v=float(fields["V"]),
        )
    except (KeyError, ValueError) as error:
        raise DriverError(
            f"the Acme S2 stated capabilities this driver cannot read ({answer!r}: {error})"
        ) from None


def _plain(error: BaseException) -> str:
    """An OS or pyserial error without the ``[Errno N]`` clutter."""
    return re.sub(r"\[Errno -?\d+\] ", "", str(error)).strip() or type(error).__name__
