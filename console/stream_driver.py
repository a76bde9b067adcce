"""A driver base class for machines that stream: the plumbing once, so a vendor writes the wire.

Most stimulators on a serial port or a network socket talk the same way: the console sends
numbered commands and waits for their answers, and the machine streams samples and heartbeats on
its own. :class:`StreamMachineDriver` does everything around the wire protocol — the port, the
reader thread, the sample buffer, the status, the keep-alive, the output-off repeat, time limits
on every call, mapping the machine's clock onto the console's — and a vendor's driver adds only
how its bytes look (see the class docstring).
"""

from __future__ import annotations

import abc
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

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
from console.machine_clock import PACE_TOLERANCE, MachineClock

log = logging.getLogger(__name__)

_Parsed = TypeVar("_Parsed")

#: The reader's read timeout: how quickly it notices a close.
READ_TIMEOUT_S = 0.05
#: Wall-clock seconds one write may block (a port that takes nothing is a lost port).
WRITE_TIMEOUT_S = 0.5
#: Wall-clock seconds :meth:`StreamMachineDriver.close` waits for each of its threads.
JOIN_TIMEOUT_S = 1.0
#: An emulator's stated speed and the console clock's may differ by this fraction.
SPEED_TOLERANCE = 0.01

#: The commands whose answer carries a value, and what that value must be.
QUERIES: Mapping[str, str] = {
    "identify": "its identity (model, serial number, firmware)",
    "capabilities": "its capabilities",
}


# -- what a vendor's decoder yields ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """The machine's answer to the command numbered ``seq``.

    ``ok`` with ``value`` ``None`` is a plain OK; a query's answer carries its ``value`` (text or
    bytes, as the wire has it); a refusal has ``ok`` False and ``error`` in the machine's words.
    """

    seq: int
    ok: bool
    value: str | bytes | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The machine's state at ``machine_us`` (µs since it booted): output, faults that stop it."""

    machine_us: int
    output_on: bool
    faults: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Samples:
    """Measurements stamped with the machine's clock (µs since boot), oldest first."""

    machine_us: np.ndarray
    current_ua: np.ndarray
    voltage_v: np.ndarray


@dataclass(frozen=True, slots=True)
class Hello:
    """The machine announced itself (it booted, or its port opened).

    ``emulated``: an emulator, which drives no current (a fast clock is then allowed).
    ``speed``: the emulator's machine seconds per wall second, if it says.
    """

    emulated: bool
    speed: float | None = None


#: One thing a vendor's :meth:`StreamMachineDriver.decode` found in the bytes.
Message = Answer | Heartbeat | Samples | Hello


@dataclass(slots=True)
class _Waiter:
    event: threading.Event = field(default_factory=threading.Event)
    answer: Answer | None = None


class StreamMachineDriver(Driver, abc.ABC):
    """A :class:`~console.api.Driver` for a machine that answers commands and streams.

    **What a vendor writes** (the wire, nothing else):

    * :meth:`encode` — the bytes of one numbered command. The commands are ``identify``,
      ``capabilities``, ``waveform`` (argument: a :class:`~console.api.Waveform`),
      ``amplitude`` (µA), ``output_on``, ``output_off``, ``keepalive`` and, for a machine that
      streams only when asked (``streams_from_boot = False``), ``stream_on``.
    * :meth:`decode` — bytes from the port (any split: keep partial messages yourself) into
      :class:`Answer`, :class:`Heartbeat`, :class:`Samples` and :class:`Hello`. Catch your
      protocol's errors there and count what you drop; an exception loses only that read.
    * :meth:`parse_identity` and :meth:`parse_capabilities` — a query's value into a
      :class:`~console.api.DeviceIdentity` and :class:`~console.api.Capabilities`.
      Raise anything on a value you cannot read: it becomes a :class:`DriverError` saying what
      was expected and what came.
    * Class attributes: ``kind`` (``"Acme S2"``: said in every message), ``baudrate``,
      ``sequence_modulus`` (command numbers run 0 … modulus − 1), ``command_labels`` (the
      machine's names for the commands, for messages), and the timing below if the machine
      needs other values. A machine that takes a waveform in several commands overrides
      :meth:`configure` and sends them with :meth:`commands` (any command name your
      :meth:`encode` knows; each must be answered with a plain OK).

    **What the base guarantees:**

    * The port is any pyserial URL: a device (``/dev/ttyUSB0``, ``COM3``), ``socket://host:port``
      for a network machine, ``loop://`` or a vendor's own URL in tests. It is opened
      exclusively and read by one reader thread; writes from any thread go through one lock.
    * Every call is time-limited. :meth:`open` returns or raises within ``open_timeout_s``
      (the port's opening included) with a :class:`DriverError` that says what it was waiting
      for; a command waits ``answer_timeout_s`` for its answer (counted from when the reader
      has listened that long, so a busy computer is not taken for a silent machine; never more
      than ``answer_give_up_s``) and is sent again with the same number, ``command_tries``
      times in all; the machine must answer a repeated number without applying it twice.
    * Any unexpected answer is a :class:`DriverError` saying what was expected and what came:
      a refusal, no answer, a value where OK was expected, an OK where a query's value was
      expected, a value that does not parse.
    * On every failure of :meth:`open`, and on :meth:`close`, the reader and keep-alive threads
      are stopped and the port is released.
    * :meth:`stop_output` writes ``output_off`` at once from any thread, never waits and never
      raises; the keep-alive thread repeats it every ``keepalive_s`` while a heartbeat still
      shows the output on. A stop that crosses :meth:`start_output` wins. The driver never
      turns the output on by itself.
    * The keep-alive thread sends ``keepalive`` every ``keepalive_s`` from the end of
      :meth:`open` to :meth:`close`, so the machine's watchdog stays quiet while the console is.
    * Samples carry the time the machine measured them (its clock mapped onto the console's by
      :class:`~console.api.MachineClock`), never the time they arrived. Samples are
      delivered with the output on or off; the console counts as time under current only those
      measured while it had the output on, so samples measured before ``output_on`` and after
      ``output_off`` never add to a dose, however late they arrive. The first
      :meth:`read_samples` after :meth:`open` returns what was measured since :meth:`open`
      returned, nothing from before.
    * A heartbeat's faults stay in :meth:`status` until the next :meth:`open`; a hello after
      :meth:`open` means the machine restarted (its output is off): a fault as well. An
      emulator whose hello states a speed other than the console clock's is refused on
      :meth:`open`, and a machine clock that runs at another pace is reported as a fault.
    * A lost port (cable pulled, machine off) makes every later call raise, so the engine ends
      the session *interrupted* with what was delivered so far.
    """

    #: The machine in messages to the operator: ``the {kind} did not answer ...``.
    kind: ClassVar[str] = "machine"
    baudrate: ClassVar[int] = 115_200
    #: Command numbers wrap at this value.
    sequence_modulus: ClassVar[int] = 256
    #: False for a machine that streams only after ``stream_on``.
    streams_from_boot: ClassVar[bool] = True
    #: The machine's own name of a command (``{"identify": "*IDN?"}``), used in messages.
    command_labels: ClassVar[Mapping[str, str]] = {}
    #: Said when no port is given: how this machine's port is written.
    port_hint: ClassVar[str] = "for example /dev/ttyUSB0, COM3 or socket://host:port"

    #: Wall-clock seconds :meth:`open` may take in all.
    open_timeout_s: float = 8.0
    #: Wall-clock seconds to wait for the machine's hello, and then for its first heartbeat.
    hello_timeout_s: float = 2.0
    #: Wall-clock seconds the reader listens for an answer before the command is sent again.
    answer_timeout_s: float = 0.1
    #: Wall-clock seconds after which a try is unanswered however far behind the reader is.
    answer_give_up_s: float = 0.5
    command_tries: int = 4  #: the first try and the retries
    #: Wall-clock seconds between keep-alives (and output-off repeats).
    keepalive_s: float = 0.1
    #: ``None``: the clock offset is refined for as long as the connection lasts (the least
    #: delayed heartbeat wins). Seconds: refined that long in :meth:`open`, then fixed, so
    #: sample times rise at exactly the machine's rate.
    clock_settle_s: float | None = None

    def __init__(self, clock: Clock, port: str | None = None, **_: Any) -> None:
        if not port:
            raise DriverError(f"the {self.kind} needs a port ({self.port_hint})")
        self.clock = clock
        self.port_url = port
        self.capabilities: Capabilities  # stated by the machine in open()
        self.machine_clock = MachineClock()
        #: True once the machine's hello said it is an emulator (no current reaches anyone).
        self.emulated = False
        self.bytes_received = 0
        self._serial: serial.SerialBase | None = None
        self._write_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._waiters: dict[int, _Waiter] = {}
        self._seq = 0
        self._hello = threading.Event()
        self._hello_speed: float | None = None
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None
        self._keepalive: threading.Thread | None = None
        self._lost: str | None = None
        self._chunks: list[SampleBlock] = []
        self._keep_from_s: float | None = None  # samples before this are not returned
        self._identity: DeviceIdentity | None = None
        self._last_heard_s = 0.0
        self._output_on = False
        self._faults: tuple[str, ...] = ()
        self._want_off = True
        self._off_requests = 0  #: counts stop_output calls: no retry outlives one
        # Up to when the reader has decoded everything the port held (wall and console clock):
        # an answer is overdue only once the reader has listened past its timeout.
        self._listened_wall = time.monotonic()
        self._listened_s: float | None = None
        self._listened = threading.Condition()

    # -- the wire, written by the vendor -------------------------------------------------------

    @abc.abstractmethod
    def encode(self, seq: int, command: str, argument: Any = None) -> bytes:
        """The bytes of command ``command`` numbered ``seq`` (see the class docstring)."""

    @abc.abstractmethod
    def decode(self, data: bytes) -> Iterable[Message]:
        """What the bytes just read hold, in the order they came; partial messages wait."""

    @abc.abstractmethod
    def parse_identity(self, value: str | bytes) -> DeviceIdentity:
        """The identity in the value answering ``identify``."""

    @abc.abstractmethod
    def parse_capabilities(self, value: str | bytes) -> Capabilities:
        """The capabilities in the value answering ``capabilities``."""

    def decoder_counts(self) -> dict[str, int]:
        """What the decoder dropped, by reason (for diagnostics); override to report it."""
        return {}

    # -- Driver interface ----------------------------------------------------------------------

    def open(self) -> None:
        """Open the port, hear the hello, identify the machine, read its capabilities, turn its
        output off, start the stream and the keep-alive and place its clock: all within
        ``open_timeout_s``, or a :class:`DriverError` with nothing left held."""
        deadline = time.monotonic() + self.open_timeout_s
        if self._serial is not None:
            raise DriverError(f"the {self.kind} on {self.port_url} is open already")
        self._forget_connection()
        self._serial = self._open_port(deadline)
        self._stop.clear()
        self._reader = threading.Thread(
            target=self._read_loop, name=f"{self.kind}-reader", daemon=True
        )
        self._reader.start()
        try:
            self._handshake(deadline)
        except BaseException:
            self.close()  # a failed open leaves no thread and no port held
            raise

    def close(self) -> None:
        """Output off (best effort), threads stopped, port released. Idempotent."""
        port = self._serial
        if port is None:
            return
        if self._lost is None:
            # Closing must not fail; the machine's own watchdog turns the output off anyway.
            try:
                self._write(self.encode(self._next_seq(), "output_off"))
            except Exception:
                log.warning("output-off on close failed on %s", self.port_url, exc_info=True)
        self._stop.set()
        for thread in (self._keepalive, self._reader):
            if thread is not None and thread is not threading.current_thread():
                thread.join(JOIN_TIMEOUT_S)
        try:
            port.close()
        except (serial.SerialException, OSError):
            log.debug("closing %s failed", self.port_url, exc_info=True)
        self._serial = None

    def identify(self) -> DeviceIdentity:
        """Model, serial number and firmware, as the machine stated them on :meth:`open`."""
        self._check_connected()
        if self._identity is None:
            raise DriverError(f"the {self.kind} has not been identified (open it first)")
        return self._identity

    def configure(self, waveform: Any) -> None:
        """Send the waveform (one ``waveform`` command) and wait for the machine to take it."""
        self.command("waveform", waveform)

    def set_amplitude(self, current_ua: float) -> None:
        """Send the set point (one ``amplitude`` command) and wait for the machine to take it."""
        self.command("amplitude", current_ua)

    def start_output(self) -> None:
        """Output on; a :meth:`stop_output` that crosses this call still wins."""
        stops = self._off_requests
        self._want_off = False
        try:
            self.command("output_on")
        finally:
            if self._off_requests != stops:
                self.stop_output()  # the stop may have reached the machine before the start

    def stop_output(self) -> None:
        """Write output-off now, from any thread; the keep-alive repeats it until confirmed."""
        self._want_off = True
        self._off_requests += 1
        if self._serial is None or self._lost is not None:
            return  # nothing open is on; a lost machine's watchdog turns its output off
        try:
            self._write(self.encode(self._next_seq(), "output_off"))
        except Exception:  # noqa: BLE001 - never raises: the keep-alive repeats it
            log.warning("output-off write failed on %s", self.port_url)

    def read_samples(self) -> SampleBlock:
        """Every sample since the previous call (since :meth:`open` for the first); no wait."""
        self._check_connected()
        with self._state_lock:
            chunks, self._chunks = self._chunks, []
        return SampleBlock.joined(chunks)

    def status(self) -> DeviceStatus:
        """The latest heartbeat, the faults seen since :meth:`open`, how far the reader got."""
        self._check_connected()
        with self._state_lock:
            return DeviceStatus(
                self._last_heard_s, self._output_on, self._faults, listened_s=self._listened_s
            )

    # -- commands, for vendors whose settings take several ---------------------------------------

    def command(self, command: str, argument: Any = None, *, label: str | None = None) -> Any:
        """Send one command, wait for its answer and return its value (``None`` for an OK).

        ``label`` names it in messages (default: ``command_labels`` or the command's name).
        """
        return self.commands([(command, argument, label)])[0]

    def commands(self, batch: Sequence[tuple[str, Any, str | None]]) -> list[Any]:
        """Send ``(command, argument, label)`` items in one write and wait for every answer.

        Pipelined, so a waveform that takes several commands costs one round trip; each is
        confirmed, or the first problem is a :class:`DriverError`.
        """
        return self._exchange(batch, deadline=None)

    # -- opening -------------------------------------------------------------------------------

    def _forget_connection(self) -> None:
        """A new connection starts with nothing from an earlier one."""
        self.machine_clock = MachineClock()
        self.emulated = False
        self._hello.clear()
        self._hello_speed = None
        self._lost = None
        self._identity = None
        self._keepalive = None
        with self._state_lock:
            self._waiters.clear()
            self._chunks = []
            self._keep_from_s = None
            self._output_on = False
            self._faults = ()
            self._want_off = True
            self._listened_s = None

    def _open_port(self, deadline: float) -> serial.SerialBase:
        """The port, opened in a helper thread so that a port (or a network) that hangs cannot
        hold :meth:`open` past its deadline; one that opens too late is closed at once."""
        outcome: dict[str, Any] = {}
        done = threading.Event()
        lock = threading.Lock()

        def opener() -> None:
            try:
                port = serial.serial_for_url(
                    self.port_url,
                    baudrate=self.baudrate,
                    timeout=READ_TIMEOUT_S,
                    write_timeout=WRITE_TIMEOUT_S,
                    exclusive=True,  # one connection per machine: a second console is refused
                )
            except BaseException as error:  # noqa: BLE001 - handed to the caller
                port, outcome["error"] = None, error
            with lock:
                if "abandoned" in outcome and port is not None:
                    with contextlib.suppress(Exception):
                        port.close()
                outcome["port"] = port
                done.set()

        threading.Thread(target=opener, name=f"{self.kind}-opener", daemon=True).start()
        done.wait(max(0.0, deadline - time.monotonic()))
        with lock:
            if not done.is_set():
                outcome["abandoned"] = True
                raise self._open_timed_out(f"the port {self.port_url} did not open")
        error = outcome.get("error")
        if error is not None:
            if isinstance(error, serial.SerialException | ValueError | OSError):
                raise DriverError(f"cannot open {self.port_url}: {_plain(error)}") from None
            raise error
        port: serial.SerialBase = outcome["port"]
        return port

    def _handshake(self, deadline: float) -> None:
        if not self._hello.wait(min(self.hello_timeout_s, _left(deadline))):
            # Not every machine resets when its port opens; ask it anyway.
            log.info("%s on %s: no hello", self.kind, self.port_url)
        identity = self._query("identify", self.parse_identity, deadline)
        capabilities = self._query("capabilities", self.parse_capabilities, deadline)
        self.capabilities = capabilities
        self._exchange([("output_off", None, None)], deadline)
        if not self.streams_from_boot:
            self._exchange([("stream_on", None, None)], deadline)
        self._check_speed()
        self._identity = identity
        self._keepalive = threading.Thread(
            target=self._keepalive_loop, name=f"{self.kind}-keepalive", daemon=True
        )
        self._keepalive.start()
        waited = min(self.hello_timeout_s, _left(deadline))
        if not _wait_for(lambda: self.machine_clock.synchronised, waited):
            if _left(deadline) <= 0.0:
                raise self._open_timed_out("no heartbeat came")
            raise DriverError(f"the {self.kind} on {self.port_url} sends no heartbeat")
        if self.clock_settle_s:
            self._stop.wait(min(self.clock_settle_s, _left(deadline)))
            self.machine_clock.freeze()
        with self._state_lock:
            self._chunks = []
            self._keep_from_s = self.clock.now()

    def _query(self, command: str, parse: Callable[[Any], _Parsed], deadline: float) -> _Parsed:
        """A query's value through ``parse``; a value it cannot read is a DriverError saying
        what was expected and what came."""
        label = self._label(command, None)
        value = self._exchange([(command, None, label)], deadline)[0]
        try:
            return parse(value)
        except DriverError:
            raise
        except Exception as error:  # noqa: BLE001 - whatever the parser raises, said plainly
            raise DriverError(
                f"the {self.kind} answered '{label}' with {_came(value)}, which does not read "
                f"as {QUERIES[command]}: {_plain(error)}"
            ) from None

    def _check_speed(self) -> None:
        """An emulator must run at the console clock's speed, or every time would be wrong."""
        console_speed = getattr(self.clock, "speed", None)
        machine_speed = self._hello_speed
        if not self.emulated or machine_speed is None or not console_speed:
            return  # unstated: the heartbeats' pace check still applies
        if abs(machine_speed / console_speed - 1.0) > SPEED_TOLERANCE:
            raise DriverError(
                f"the emulated {self.kind} runs at {machine_speed:g}x real time but the console "
                f"at {console_speed:g}x; give both the same speed (the emulator's own speed "
                "option and the console's --speed)"
            )

    def _open_timed_out(self, what: str) -> DriverError:
        return DriverError(
            f"opening the {self.kind} on {self.port_url} took longer than "
            f"{self.open_timeout_s:g} s: {what}"
        )

    # -- commands ------------------------------------------------------------------------------

    def _label(self, command: str, label: str | None) -> str:
        return label or self.command_labels.get(command, command)

    def _next_seq(self) -> int:
        with self._state_lock:
            self._seq = (self._seq + 1) % self.sequence_modulus
            return self._seq

    def _exchange(
        self, batch: Sequence[tuple[str, Any, str | None]], deadline: float | None
    ) -> list[Any]:
        """Send the batch and wait for every answer, retrying what is unanswered with its own
        number, up to ``command_tries`` times (and not past ``deadline``)."""
        self._check_connected()
        pending = []
        for command, argument, label in batch:
            seq, label = self._next_seq(), self._label(command, label)
            try:
                encoded = self.encode(seq, command, argument)
            except DriverError:
                raise
            except Exception as error:  # noqa: BLE001 - the encoder's own complaint, in words
                raise DriverError(
                    f"the {self.kind} cannot be sent '{label}' ({argument!r}): {_plain(error)}"
                ) from None
            pending.append((seq, _Waiter(), encoded, command, label))
        off_requests = self._off_requests
        started = time.monotonic()
        try:
            with self._state_lock:
                self._waiters.update((item[0], item[1]) for item in pending)
            unanswered = pending
            for attempt in range(self.command_tries):
                if attempt and self._off_requests != off_requests:
                    for _, _, _, command, label in unanswered:
                        if command != "output_off":
                            # An output-off went out while we waited: resending an older
                            # command now (it may be output_on) could undo it at the machine.
                            raise DriverError(
                                f"'{label}' was not confirmed before the output was turned off"
                            )
                if deadline is not None and time.monotonic() >= deadline:
                    raise self._open_timed_out(f"no answer to '{unanswered[0][4]}'")
                self._write(b"".join(item[2] for item in unanswered))
                self._wait_for_answers([item[1] for item in unanswered], deadline)
                self._check_connected()
                unanswered = [item for item in unanswered if not item[1].event.is_set()]
                if not unanswered:
                    break
            else:
                raise DriverError(
                    f"the {self.kind} did not answer '{unanswered[0][4]}' after "
                    f"{self.command_tries} tries ({time.monotonic() - started:.1f} s)"
                )
        finally:
            with self._state_lock:
                for seq, *_ in pending:
                    self._waiters.pop(seq, None)
        values = []
        for _, waiter, _, command, label in pending:
            answer = waiter.answer
            assert answer is not None
            if not answer.ok:
                raise DriverError(f"the {self.kind} refused '{label}': {answer.error}")
            values.append(self._expected_value(command, label, answer.value))
        return values

    def _expected_value(self, command: str, label: str, value: str | bytes | None) -> Any:
        """A query's value, or ``None`` for a plain OK; anything else is a DriverError."""
        value = value or None  # an empty value is a plain OK
        if command in QUERIES and value is None:
            raise DriverError(
                f"the {self.kind} answered '{label}' with OK and no value: expected "
                f"{QUERIES[command]}"
            )
        if command not in QUERIES and value is not None:
            raise DriverError(
                f"the {self.kind} answered '{label}' with {_came(value)}: expected OK"
            )
        return value

    def _wait_for_answers(self, waiters: list[_Waiter], deadline: float | None = None) -> None:
        """Until every waiter is answered, or the reader has listened ``answer_timeout_s`` past
        now without hearing them all (at most ``answer_give_up_s``, and never past
        ``deadline``).

        A reader still working through a backlog (a busy computer) has not heard what the
        machine sent meanwhile, so its delay is not held against the machine.
        """
        sent = time.monotonic()
        overdue = sent + self.answer_timeout_s
        give_up = sent + self.answer_give_up_s
        if deadline is not None:
            give_up = min(give_up, deadline)
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

    def _check_connected(self) -> None:
        if self._lost is not None:
            raise DriverError(self._lost)
        if self._serial is None:
            raise DriverError(f"the {self.kind} is not open")

    # -- the threads ---------------------------------------------------------------------------

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
                    for message in self.decode(data):
                        self._take(message)
                except Exception:  # a decoder bug must not kill the port's only reader
                    log.exception("%s decoder failed on %d bytes", self.kind, len(data))
            else:  # listened through a whole read timeout and heard nothing
                asked_wall, asked_s = time.monotonic(), self.clock.now()
            with self._listened:
                self._listened_wall, self._listened_s = asked_wall, asked_s
                self._listened.notify_all()

    def _keepalive_loop(self) -> None:
        while not self._stop.wait(self.keepalive_s):
            if self._lost is not None:
                return
            try:
                self._write(self.encode(self._next_seq(), "keepalive"))
                with self._state_lock:
                    still_on = self._output_on
                if self._want_off and still_on:
                    # The stop is not confirmed by a heartbeat yet: say it again.
                    self._write(self.encode(self._next_seq(), "output_off"))
            except DriverError:
                return

    def _connection_lost(self, error: BaseException) -> None:
        if self._lost is None:
            self._lost = (
                f"the connection to the {self.kind} on {self.port_url} was lost "
                f"({_plain(error)}): cable pulled or machine off"
            )
            log.warning("%s", self._lost)
        with self._state_lock:
            waiters = list(self._waiters.values())
        for waiter in waiters:
            waiter.event.set()  # wake callers: they see the loss and raise
        with self._listened:
            self._listened.notify_all()

    # -- what the decoder found ----------------------------------------------------------------

    def _take(self, message: Message) -> None:
        if isinstance(message, Samples):
            self._take_samples(message)
        elif isinstance(message, Heartbeat):
            self._take_heartbeat(message)
        elif isinstance(message, Answer):
            with self._state_lock:
                waiter = self._waiters.get(message.seq)
            if waiter is not None:  # none: a keep-alive's or a stop's answer
                waiter.answer = message
                waiter.event.set()
        elif isinstance(message, Hello):
            self._take_hello(message)
        else:
            raise TypeError(f"decode() yielded {message!r}, not an Answer, Heartbeat, ...")

    def _take_hello(self, hello: Hello) -> None:
        self.emulated = hello.emulated
        if self._hello.is_set() and self._identity is not None:
            # A hello after identification: the machine restarted under us. Its output is off.
            with self._state_lock:
                self._output_on = False
                self._add_faults(("machine restarted during the session",))
        else:
            self._hello_speed = hello.speed
        self._hello.set()

    def _take_heartbeat(self, beat: Heartbeat) -> None:
        now = self.clock.now()
        # It reached the port after the reader's previous look at it, at the earliest.
        listened_s = self._listened_s
        waited_at_most = None if listened_s is None else max(0.0, now - listened_s)
        restarted = self.machine_clock.observe(beat.machine_us, now, waited_at_most)
        faults = beat.faults
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
            self._output_on = beat.output_on
            if restarted and self._identity is not None:
                faults = (*faults, "machine restarted during the session")
            self._add_faults(faults)

    def _add_faults(self, faults: tuple[str, ...]) -> None:
        """Faults seen stay (state lock held)."""
        if faults:
            self._faults = tuple(dict.fromkeys((*self._faults, *faults)))

    def _take_samples(self, samples: Samples) -> None:
        if len(samples.machine_us) == 0 or not self.machine_clock.synchronised:
            return  # before the first heartbeat the samples cannot be placed in time
        keep_from = self._keep_from_s
        if keep_from is None:
            return  # measured while opening
        t = self.machine_clock.to_console(samples.machine_us)
        current, voltage = samples.current_ua, samples.voltage_v
        if t[0] < keep_from:
            first = int(np.searchsorted(t, keep_from, side="left"))
            if first >= len(t):
                return
            t, current, voltage = t[first:], current[first:], voltage[first:]
        block = SampleBlock(t, current, voltage)
        with self._state_lock:
            self._chunks.append(block)
            self._last_heard_s = max(self._last_heard_s, self.clock.now())


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    """Poll ``condition`` every 10 ms for up to ``timeout_s``; its last value."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def _came(value: str | bytes | None) -> str:
    """An answer's value as it can be shown: text quoted, bytes in hex, both cut short."""
    if value is None:
        return "OK and no value"
    if isinstance(value, bytes):
        shown = value[:64].hex(" ")
        return f"the bytes {shown}{' …' if len(value) > 64 else ''}"
    return repr(value[:80]) + (" …" if len(value) > 80 else "")


def _plain(error: BaseException) -> str:
    """An OS or pyserial error in words, without the errno clutter."""
    text = str(error).strip() or type(error).__name__
    return text.split("] ", 1)[-1] if text.startswith("[Errno") else text
