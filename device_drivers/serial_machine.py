"""What every serial machine driver shares: the port, its reader thread, commands, time, samples.

A concrete driver (SCPI text, framed binary) supplies the wire protocol: how bytes become replies,
samples and heartbeats (:meth:`SerialMachineDriver._on_bytes`), and how a command is written
(:meth:`SerialMachineDriver._encode`). Everything else lives here, once:

* the port is opened with ``serial.serial_for_url`` (so tests use a pty, ``socket://`` or a custom
  URL) and owned by one reader thread; writes from other threads go through one lock;
* after opening, the driver waits for the machine's hello (opening a port may reset a machine);
* every command waits for its answer with a timeout, is retried a bounded number of times with
  the same sequence number (the machine answers a repeated one without applying it twice), and
  then fails with a :class:`DriverError` the operator can read;
* the machine's clock is mapped onto the console's clock from its heartbeats;
* a lost port (cable pulled) makes every later call raise, so the engine ends the session
  *interrupted* with what was delivered so far; the driver never turns the output on by itself.
"""

from __future__ import annotations

import abc
import contextlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
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

log = logging.getLogger(__name__)

#: Wall-clock seconds: how long a machine may take to say hello after the port opens.
HELLO_TIMEOUT_S = 2.0
#: Wall-clock seconds to wait for the answer to one command, and how often to try it.
ANSWER_TIMEOUT_S = 0.1
COMMAND_TRIES = 4  #: the first try and three retries
#: Wall-clock seconds between keep-alives; the machine turns output off after 0.5 s without one.
KEEPALIVE_S = 0.1
#: Wall-clock seconds a command may wait for its answer, however far behind the port's reader
#: is: past this the try counts as unanswered even if the reader never caught up.
ANSWER_GIVE_UP_S = 0.5
#: The machine's clock must keep pace with the console's within this fraction, judged after
#: this many seconds of machine time (an emulator started at another speed fails this).
PACE_TOLERANCE = 0.1
PACE_AFTER_S = 2.0
#: ...and at least this much wall time: on a fast clock (an emulator at ×50) two machine seconds
#: are 40 ms, and a few milliseconds a busy computer holds the emulator up would pass for a
#: wrong pace; over two wall seconds they are too little to matter.
PACE_AFTER_WALL_S = 2.0
#: Wall-clock seconds at the start from which the least delayed heartbeat anchors the pace, and
#: of the latest heartbeats from which the least delayed one tells it.
PACE_WINDOW_S = 1.0
PACE_RECENT_S = 2.0
#: The reader's read timeout: how quickly it notices a close.
READ_TIMEOUT_S = 0.05


@dataclass(slots=True)
class Answer:
    """A machine's answer to one command."""

    ok: bool
    value: str | bytes | None = None
    error: str | None = None


@dataclass(slots=True)
class _Waiter:
    event: threading.Event = field(default_factory=threading.Event)
    answer: Answer | None = None


class MachineClock:
    """Maps the machine's time (µs since its boot) onto the console's clock.

    Every heartbeat gives ``console_now - machine_time``: the true offset plus the delay before
    the console read it (the wire, and the reader's turn on a busy computer). The smallest value
    seen is the best estimate (delays are never negative). A machine time that jumps backwards
    means the machine restarted: the estimate starts again.

    The pace (machine seconds per console second) is judged from heartbeats whose delay is known
    to be small against the time they span: the reader tells how long a heartbeat can have
    waited for it, and one held up by a busy computer is left out instead of making the machine
    look slow.
    """

    def __init__(self, wall: Callable[[], float] = time.monotonic) -> None:
        self._wall = wall
        self._offset_s: float | None = None
        self._last_machine_us = -1
        # The first second of wall time: its least delayed heartbeat anchors the pace.
        self._first_wall: float | None = None
        #: machine, offset, delay, console now, wall
        self._base: tuple[float, float, float, float, float] | None = None
        self._slopes: deque[tuple[float, float]] = (
            deque()
        )  # (wall, offset slope) of late heartbeats
        #: Machine seconds per console second, once two seconds have passed.
        self.pace: float | None = None

    def observe(
        self, machine_us: int, console_now_s: float, delay_bound_s: float | None = None
    ) -> bool:
        """Feed one heartbeat; returns True if the machine's clock went backwards (a restart).

        ``delay_bound_s``: console seconds the heartbeat can at most have waited before it was
        read (``None``: unknown, taken as none).
        """
        restarted = machine_us < self._last_machine_us
        if restarted:
            self._offset_s = None
            self._first_wall = None
            self._base = None
            self._slopes.clear()
            self.pace = None
        self._last_machine_us = machine_us
        machine_s = machine_us / 1e6
        offset = console_now_s - machine_s
        if self._offset_s is None or offset < self._offset_s:
            self._offset_s = offset
        self._judge_pace(machine_s, offset, delay_bound_s or 0.0, console_now_s)
        return restarted

    def _judge_pace(self, machine_s: float, offset: float, delay_s: float, now_s: float) -> None:
        wall = self._wall()
        if self._first_wall is None:
            self._first_wall = wall
        if wall - self._first_wall <= PACE_WINDOW_S:
            if self._base is None or offset < self._base[1]:
                self._base = (machine_s, offset, delay_s, now_s, wall)
            return
        assert self._base is not None
        base_machine_s, base_offset, base_delay_s, base_now_s, base_wall = self._base
        span_s = now_s - base_now_s
        if span_s < PACE_AFTER_S or wall - base_wall < PACE_AFTER_WALL_S:
            return
        if machine_s <= base_machine_s:
            return
        if base_delay_s + delay_s > PACE_TOLERANCE / 2 * span_s:
            return  # this heartbeat may have waited too long to tell the pace
        # offset = machine × (1/pace − 1) + constant: its slope gives the pace. A delay only
        # ever raises a slope, so the least slope of the last few seconds is the best estimate
        # (heartbeats held up on the machine's side of the port are passed over too).
        self._slopes.append((wall, (offset - base_offset) / (machine_s - base_machine_s)))
        while self._slopes[0][0] < wall - PACE_RECENT_S:
            self._slopes.popleft()
        slope = min(entry[1] for entry in self._slopes)
        self.pace = 1.0 / (1.0 + slope) if slope > -1.0 else math.inf

    @property
    def synchronised(self) -> bool:
        """True once one heartbeat has been seen."""
        return self._offset_s is not None

    def to_console(self, machine_us: np.ndarray) -> np.ndarray:
        """Console-clock seconds for machine-time microseconds."""
        if self._offset_s is None:
            raise DriverError("the machine's clock is not known yet (no heartbeat)")
        return machine_us.astype(np.float64) / 1e6 + self._offset_s


class SerialMachineDriver(Driver, abc.ABC):
    """A :class:`Driver` for a machine on a serial port; subclasses speak its wire protocol."""

    #: Used in messages: ``SCPI machine``, ``framed machine``.
    kind = "serial machine"
    baudrate = 921_600
    #: True for machines that stream samples without being asked (no ``stream_on`` command).
    streams_from_boot = False
    #: Wall-clock seconds to wait for the machine's hello (and its first heartbeat) on open.
    hello_timeout_s = HELLO_TIMEOUT_S

    def __init__(self, clock: Clock, port: str | None = None, **_: Any) -> None:
        if not port:
            raise DriverError(f"the {self.kind} needs a port (for example /dev/ttyUSB0)")
        self.clock = clock
        self.port_url = port
        self.capabilities: Capabilities  # set by open()
        self.machine_clock = MachineClock()
        self.emulated = False
        self._serial: serial.SerialBase | None = None
        self._write_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._waiters: dict[int, _Waiter] = {}
        self._seq = 0
        self._hello = threading.Event()
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None
        self._keepalive: threading.Thread | None = None
        self._lost: str | None = None
        self._chunks: list[SampleBlock] = []
        self._identity: DeviceIdentity | None = None
        self._last_heard_s = 0.0
        self._output_on = False
        self._faults: tuple[str, ...] = ()
        self._want_off = True
        self._off_requests = 0  #: counts stop_output calls: no retry outlives one
        self.bytes_received = 0
        # Up to when the reader has decoded everything the port held (wall and console clock):
        # an answer is overdue only once the reader has listened past its timeout.
        self._listened_wall = time.monotonic()
        self._listened_s: float | None = None
        self._listened = threading.Condition()

    # -- the wire protocol, in subclasses ----------------------------------------------------

    @abc.abstractmethod
    def _on_bytes(self, data: bytes) -> None:
        """Decode bytes from the port; call the ``_deliver_*`` methods with what they hold."""

    @abc.abstractmethod
    def _encode(self, seq: int, command: str, argument: Any = None) -> bytes:
        """The bytes of one command. ``command`` is one of: ``identify``, ``capabilities``,
        ``waveform`` (argument: a Waveform), ``amplitude`` (µA), ``output_on``, ``output_off``,
        ``keepalive``, ``stream_on``."""

    @abc.abstractmethod
    def _parse_identity(self, value: str | bytes | None) -> DeviceIdentity:
        """The identity from the answer to ``identify``."""

    @abc.abstractmethod
    def _parse_capabilities(self, value: str | bytes | None) -> Capabilities:
        """The capabilities from the answer to ``capabilities``."""

    def _decoder_counts(self) -> dict[str, int]:
        """What the decoder dropped, by reason (for diagnostics); subclasses override."""
        return {}

    # -- what subclasses call from _on_bytes ---------------------------------------------------

    def _deliver_answer(self, seq: int, answer: Answer) -> None:
        with self._state_lock:
            waiter = self._waiters.get(seq)
        if waiter is not None:
            waiter.answer = answer
            waiter.event.set()

    def _deliver_hello(self, emulated: bool) -> None:
        self.emulated = emulated
        if self._hello.is_set() and self._identity is not None:
            # A hello after identification: the machine restarted under us. Its output is off.
            with self._state_lock:
                self._output_on = False
                self._faults = ("machine restarted during the session",)
        self._hello.set()

    def _deliver_heartbeat(self, machine_us: int, output_on: bool, faults: tuple[str, ...]) -> None:
        now = self.clock.now()
        # It reached the port after the reader's previous look at it, at the earliest.
        listened_s = self._listened_s
        waited_at_most = None if listened_s is None else max(0.0, now - listened_s)
        restarted = self.machine_clock.observe(machine_us, now, waited_at_most)
        pace = self.machine_clock.pace
        if pace is not None and abs(pace - 1.0) > PACE_TOLERANCE:
            # Samples would be placed at the wrong times and doses mismeasured: stop.
            faults = (
                *faults,
                f"the machine's clock runs at {pace:.2f}x the console's "
                "(an emulator and the console must run at the same speed)",
            )
        with self._state_lock:
            self._last_heard_s = now
            self._output_on = output_on
            if restarted and self._identity is not None:
                faults = (*faults, "machine restarted during the session")
            if faults:
                self._faults = tuple(dict.fromkeys((*self._faults, *faults)))

    def _deliver_samples(
        self, machine_us: np.ndarray, current_ua: np.ndarray, voltage_v: np.ndarray
    ) -> None:
        if len(machine_us) == 0 or not self.machine_clock.synchronised:
            return  # before the first heartbeat the samples cannot be placed in time
        block = SampleBlock(self.machine_clock.to_console(machine_us), current_ua, voltage_v)
        with self._state_lock:
            self._chunks.append(block)
            self._last_heard_s = max(self._last_heard_s, self.clock.now())

    # -- Driver interface ----------------------------------------------------------------------

    def open(self) -> None:
        try:
            self._serial = serial.serial_for_url(
                self.port_url,
                baudrate=self.baudrate,
                timeout=READ_TIMEOUT_S,
                write_timeout=0.5,
                exclusive=True,
            )
        except (serial.SerialException, ValueError, OSError) as error:
            raise DriverError(f"cannot open {self.port_url}: {_plain(error)}") from None
        self._stop.clear()
        self._reader = threading.Thread(
            target=self._read_loop, name=f"{self.kind}-reader", daemon=True
        )
        self._reader.start()
        if not self._hello.wait(self.hello_timeout_s):
            # Not every machine resets when its port opens; ask it anyway.
            log.info(
                "%s on %s: no hello within %.1f s", self.kind, self.port_url, self.hello_timeout_s
            )
        self._identity = None
        try:
            identity = self._parse_identity(self._command("identify"))
            self.capabilities = self._parse_capabilities(self._command("capabilities"))
            self._command("output_off")
            if not self.streams_from_boot:
                self._command("stream_on")
        except BaseException:
            self.close()  # a failed open leaves no reader thread and no port held
            raise
        self._identity = identity
        self._keepalive = threading.Thread(
            target=self._keepalive_loop, name=f"{self.kind}-keepalive", daemon=True
        )
        self._keepalive.start()
        deadline = time.monotonic() + self.hello_timeout_s
        while not self.machine_clock.synchronised and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self.machine_clock.synchronised:
            self.close()
            raise DriverError(f"the {self.kind} on {self.port_url} sends no heartbeat")

    def close(self) -> None:
        if self._serial is None:
            return
        if self._lost is None:
            # Closing must not fail; the machine's own watchdog turns the output off anyway.
            with contextlib.suppress(DriverError):
                self._write(self._encode(self._next_seq(), "output_off"))
        self._stop.set()
        for thread in (self._keepalive, self._reader):
            if thread is not None and thread is not threading.current_thread():
                thread.join(1.0)
        try:
            self._serial.close()
        except (serial.SerialException, OSError):
            log.debug("closing %s failed", self.port_url, exc_info=True)
        self._serial = None

    def identify(self) -> DeviceIdentity:
        self._check_connected()
        if self._identity is None:
            raise DriverError(f"the {self.kind} has not been identified (open it first)")
        return self._identity

    def configure(self, waveform: Any) -> None:
        self._command("waveform", waveform)

    def set_amplitude(self, current_ua: float) -> None:
        self._command("amplitude", current_ua)

    def start_output(self) -> None:
        self._want_off = False
        self._command("output_on")

    def stop_output(self) -> None:
        # Fast and never raising: write OFF now; the keep-alive loop repeats it until a
        # heartbeat confirms the output is off. A lost port is off by the machine's watchdog.
        self._want_off = True
        self._off_requests += 1
        if self._serial is None or self._lost is not None:
            return
        try:
            self._write(self._encode(self._next_seq(), "output_off"))
        except DriverError:
            log.warning("output-off write failed on %s", self.port_url)

    def read_samples(self) -> SampleBlock:
        self._check_connected()
        with self._state_lock:
            chunks, self._chunks = self._chunks, []
        return SampleBlock.joined(chunks)

    def status(self) -> DeviceStatus:
        self._check_connected()
        with self._state_lock:
            return DeviceStatus(
                self._last_heard_s, self._output_on, self._faults, listened_s=self._listened_s
            )

    # -- internals ---------------------------------------------------------------------------

    def _check_connected(self) -> None:
        if self._lost is not None:
            raise DriverError(self._lost)
        if self._serial is None:
            raise DriverError(f"the {self.kind} is not open")

    def _next_seq(self) -> int:
        with self._state_lock:
            self._seq = (self._seq + 1) % self.sequence_modulus
            return self._seq

    #: Sequence numbers wrap at this value (set by the wire protocol).
    sequence_modulus = 256

    def _command(
        self, command: str, argument: Any = None, label: str | None = None
    ) -> str | bytes | None:
        """Send one command and wait for its answer, retrying with the same sequence number.

        ``label`` names the command in error messages (default: ``command``).
        """
        return self._commands([(command, argument, label or command)])[0]

    def _commands(self, batch: list[tuple[str, Any, str]]) -> list[str | bytes | None]:
        """Send ``(command, argument, label)`` items in one write and wait for every answer.

        Pipelined, so a waveform that takes several commands costs one round trip. Items not
        answered in time are sent again, in their order, with their own sequence numbers (the
        machine answers a repeat without applying it twice), up to :data:`COMMAND_TRIES` times.
        """
        self._check_connected()
        pending = []
        for command, argument, label in batch:
            seq = self._next_seq()
            waiter = _Waiter()
            with self._state_lock:
                self._waiters[seq] = waiter
            pending.append((seq, waiter, self._encode(seq, command, argument), command, label))
        off_requests = self._off_requests
        try:
            unanswered = pending
            for attempt in range(COMMAND_TRIES):
                if attempt and self._off_requests != off_requests:
                    for _, _, _, command, label in unanswered:
                        if command != "output_off":
                            # An output-off went out while we waited: resending an older
                            # command now (it may be OUTPUT_ON) could undo it at the machine.
                            raise DriverError(
                                f"'{label}' was not confirmed before the output was turned off"
                            )
                self._write(b"".join(item[2] for item in unanswered))
                self._wait_for_answers([item[1] for item in unanswered])
                self._check_connected()
                unanswered = [item for item in unanswered if not item[1].event.is_set()]
                if not unanswered:
                    break
            else:
                label = unanswered[0][4]
                raise DriverError(
                    f"the {self.kind} did not answer '{label}' after {COMMAND_TRIES} tries"
                )
        finally:
            with self._state_lock:
                for seq, *_ in pending:
                    self._waiters.pop(seq, None)
        values = []
        for _, waiter, _, _, label in pending:
            answer = waiter.answer
            assert answer is not None
            if not answer.ok:
                raise DriverError(f"the {self.kind} refused '{label}': {answer.error}")
            values.append(answer.value)
        return values

    def _wait_for_answers(self, waiters: list[_Waiter]) -> None:
        """Until every waiter is answered, or the reader has listened :data:`ANSWER_TIMEOUT_S`
        past now without hearing them all (at most :data:`ANSWER_GIVE_UP_S` of wall time).

        A reader still working through a backlog (a busy computer) has not heard what the
        machine sent meanwhile, so its delay is not held against the machine.
        """
        sent = time.monotonic()
        overdue = sent + ANSWER_TIMEOUT_S
        give_up = sent + ANSWER_GIVE_UP_S
        for waiter in waiters:
            while not waiter.event.is_set():
                now = time.monotonic()
                if now >= give_up or (now >= overdue and self._listened_wall >= overdue):
                    return
                with self._listened:
                    if not waiter.event.is_set():
                        self._listened.wait(min(max(overdue, now + 0.005), give_up) - now)

    def _write(self, data: bytes) -> None:
        port = self._serial
        if port is None:
            raise DriverError(f"the {self.kind} is not open")
        try:
            with self._write_lock:
                port.write(data)
        except (serial.SerialException, OSError) as error:
            self._connection_lost(error)
            raise DriverError(self._lost or "write failed") from None

    def _read_loop(self) -> None:
        port = self._serial
        assert port is not None
        while not self._stop.is_set():
            # Everything the port held when it was asked is read and decoded below: from then
            # on the reader has listened up to this moment.
            asked_wall, asked_s = time.monotonic(), self.clock.now()
            try:
                data = port.read(max(1, port.in_waiting))
            except (serial.SerialException, OSError, TypeError) as error:
                # TypeError: pyserial's posix read after a concurrent close.
                if not self._stop.is_set():
                    self._connection_lost(error)
                return
            if data:
                self.bytes_received += len(data)
                try:
                    self._on_bytes(data)
                except Exception:  # a decoder bug must not kill the port's only reader
                    log.exception("%s decoder failed on %d bytes", self.kind, len(data))
            else:  # listened through a whole read timeout and heard nothing
                asked_wall, asked_s = time.monotonic(), self.clock.now()
            with self._listened:
                self._listened_wall, self._listened_s = asked_wall, asked_s
                self._listened.notify_all()

    def _keepalive_loop(self) -> None:
        while not self._stop.wait(KEEPALIVE_S):
            if self._lost is not None:
                return
            try:
                self._write(self._encode(self._next_seq(), "keepalive"))
                with self._state_lock:
                    still_on = self._output_on
                if self._want_off and still_on:
                    self._write(self._encode(self._next_seq(), "output_off"))
            except DriverError:
                return

    def _connection_lost(self, error: BaseException) -> None:
        if self._lost is None:
            self._lost = (
                f"the connection to the {self.kind} on {self.port_url} was lost "
                f"({_plain(error)}): cable pulled or machine off"
            )
            log.warning("%s", self._lost)
        for waiter in list(self._waiters.values()):
            waiter.event.set()  # wake callers: they see the loss and raise
        with self._listened:
            self._listened.notify_all()


def _plain(error: BaseException) -> str:
    """An OS or pyserial error in words, without the errno clutter."""
    text = str(error).strip() or type(error).__name__
    return text.split("] ", 1)[-1] if text.startswith("[Errno") else text
