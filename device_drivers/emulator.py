"""Emulators of the two serial machines, over a pty or TCP, with wire faults on demand.

    python -m device_drivers.emulator --protocol {scpi,framed} --pty        # prints the port path
    python -m device_drivers.emulator --protocol framed --tcp 7001         # socket://localhost:7001

The first line printed is the port to give the console (``mc-console run --driver framed
--port PATH``). The emulator serves until stopped (Ctrl-C). It runs the shared
:class:`~device_drivers.firmware.Firmware` over the simulated machine and skin; the wire protocol
only translates. Faults a test or a trainer can inject (``--inject NAME@SECONDS`` on the command
line, or the methods of :class:`EmulatorServer`):

``cable_pull``   the connection drops (the port reports an I/O error to the console)
``garbage``      random bytes in the stream to the console
``drop``         bytes lost on the way to the console
``slow``         answers 300 ms late (beyond the console's answer timeout once)
``reboot``       the machine restarts: output off, a new hello, machine time from zero
``over_current`` the measured current jumps above the setting; the firmware trips

Each time a console opens the port is a port open, as both specs define it: output off, the
half-received input of the last console forgotten, and a hello (repeated until the console's
first command, since opening a port may flush it). Over TCP that is an accepted connection; on
a pty, the end the console opens hangs up (``POLLHUP`` on ours) while nobody holds it, as DTR
falls when a USB port closes, and stops hanging up when a console opens it.
"""

from __future__ import annotations

import abc
import argparse
import contextlib
import logging
import os
import random
import select
import signal
import socket
import sys
import threading
import time
import tty
from dataclasses import dataclass, field

from console.api import Clock, ScaledClock, parse_fault_spec
from device_drivers.firmware import (
    CONSOLE_SILENCE_S,
    Command,
    Firmware,
    Refusal,
    Reply,
    Telemetry,
)

log = logging.getLogger(__name__)

#: Wall-clock periods of the machine's unsolicited traffic.
HEARTBEAT_EVERY_S = 0.1
SAMPLES_EVERY_S = 0.005
#: How late a "slow" answer comes, wall-clock seconds.
SLOW_ANSWER_S = 0.3
#: Until a console's first command, the hello is repeated this often (wall-clock seconds).
HELLO_EVERY_S = 0.25

WIRE_FAULTS = ("cable_pull", "garbage", "drop", "slow", "reboot", "over_current")


class WireAdapter(abc.ABC):
    """One wire protocol, the machine's side: bytes in → commands, answers and telemetry → bytes."""

    #: The machine's model as its identity reports it.
    model: str
    #: Largest number of samples one batch carries.
    batch_samples: int = 200
    #: Whether the machine streams samples from power-on, unasked.
    streams_from_boot: bool = False
    #: Set by :meth:`feed`: its input held something valid (a command, or a frame or line the
    #: machine refused whole). Any valid input keeps the machine's watchdog quiet (both specs).
    heard: bool = False

    @abc.abstractmethod
    def feed(self, data: bytes) -> list[Command | Refusal]:
        """The commands in ``data`` (any chunking) and the refusals of what could not become
        one, in the order they were received, so that the answers go out in that order;
        malformed input is dropped, never raised."""

    @abc.abstractmethod
    def link_opened(self) -> None:
        """A console connected: forget the half-received input and unsent answers of the last."""

    @abc.abstractmethod
    def hello(self) -> bytes:
        """The boot announcement (marks the machine as an emulator)."""

    @abc.abstractmethod
    def answer(self, command: Command, reply: Reply) -> bytes:
        """The bytes that answer ``command``."""

    @abc.abstractmethod
    def samples(self, telemetry: Telemetry, start: int, stop: int, rate_hz: int) -> bytes:
        """Samples ``start:stop`` of ``telemetry`` as one batch."""

    @abc.abstractmethod
    def heartbeat(self, machine_us: int, telemetry: Telemetry) -> bytes:
        """The periodic heartbeat / status."""


@dataclass
class _Pending:
    due: float
    data: bytes


@dataclass
class EmulatorServer:
    """Serves one emulated machine on a byte stream (a pty master or a TCP connection)."""

    adapter: WireAdapter
    firmware: Firmware
    garbage_seed: int = 1
    _fd: int | None = None
    _sock: socket.socket | None = None
    _listener: socket.socket | None = None
    _outbox: list[_Pending] = field(default_factory=list)
    _drop_bytes: int = 0
    _slow_answers: int = 0
    _pulled: bool = False
    _pull_requested: bool = False

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._stop_requested = False  #: set by a signal handler: a plain flag, no lock
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._random = random.Random(self.garbage_seed)
        self.port = ""
        self.commands_seen = 0  #: over the emulator's life, every console's
        self.bytes_unsent = 0
        self.connections = 0  #: consoles that opened the port (the pty or a TCP connection)
        self._pty_poll: select.poll | None = None
        self._pty_console = False  #: a console holds the pty's other end open
        self._link: socket.socket | None = None  #: the connection the loop last served
        self._link_commands = 0  #: commands from the console on the current connection

    # -- endpoints ---------------------------------------------------------------------------

    def open_pty(self) -> str:
        """Create a pseudo-terminal pair; returns the path the console opens."""
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line discipline: bytes pass as they are
        os.set_blocking(master, False)
        self._fd = master
        self.port = os.ttyname(slave)
        # Not kept open: with nobody holding that end the master hangs up, which is how the
        # machine sees a console open and close the port (as DTR on a USB port).
        os.close(slave)
        self._pty_poll = select.poll()
        self._pty_poll.register(master, select.POLLIN)
        return self.port

    def listen_tcp(self, port: int, host: str = "127.0.0.1") -> str:
        """Listen on TCP; returns the ``socket://`` URL the console opens."""
        listener = socket.create_server((host, port))
        self._listener = listener
        self.port = f"socket://{host}:{listener.getsockname()[1]}"
        return self.port

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.serve, name="emulator", daemon=True)
        self._thread.start()

    def request_stop(self, *_signal: object) -> None:
        """Ask the serving loop to end (it looks every few ms). Safe in a signal handler: it
        takes no lock and raises nothing."""
        self._stop_requested = True

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` or :meth:`request_stop` was called."""
        return self._stop_requested or self._stop.is_set()

    def stop(self) -> None:
        """Stop serving and release the endpoint."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        self._close_endpoint()

    @property
    def console_connected(self) -> bool:
        """True while a console holds the port open, as the machine last looked."""
        return self._pty_console if self._fd is not None else self._sock is not None

    # -- faults ------------------------------------------------------------------------------

    def inject(self, name: str) -> None:
        """Start the wire fault ``name`` (one of :data:`WIRE_FAULTS`) now."""
        if name not in WIRE_FAULTS:
            raise ValueError(f"unknown emulator fault {name!r}; known: {', '.join(WIRE_FAULTS)}")
        with self._lock:
            if name == "cable_pull":
                # The serving thread pulls it: it alone owns the endpoint it is reading.
                self._pull_requested = True
            elif name == "garbage":
                self._outbox.append(_Pending(0.0, self._random.randbytes(64)))
            elif name == "drop":
                self._drop_bytes += 37
            elif name == "slow":
                self._slow_answers += 1
            elif name == "reboot":
                self.firmware.boot()
                self._outbox.append(_Pending(0.0, self.adapter.hello()))
            elif name == "over_current":
                self.firmware.trip_over_current()

    # -- the loop ----------------------------------------------------------------------------

    def serve(self) -> None:
        """Read commands, answer them, stream telemetry; until :meth:`stop`."""
        if self._listener is not None:
            self._accept()
        last_heard = time.monotonic()
        next_heartbeat = next_samples = next_hello = time.monotonic()
        while not self.stopping:
            if self._pull_requested and not self._pulled:
                self._pulled = True
                self._close_endpoint()
            if self._port_opened_since_last_look():
                self._link_opened()
                last_heard = next_hello = time.monotonic()
            fd = self._readable_fd()
            if fd is None:
                # The cable is out (or the console hung up): the machine runs on, unheard,
                # and its watchdog turns the output off.
                self._stop.wait(0.005)
            else:
                # Sleep until the next batch is due (a command wakes it at once): fewer
                # wake-ups leave a busy computer's scheduler readier to run it on time.
                wait = min(max(next_samples - time.monotonic(), 0.0), SAMPLES_EVERY_S)
                try:
                    ready, _, _ = select.select([fd], [], [], wait)
                except (OSError, ValueError):  # the endpoint went away under us
                    ready, data = [], None
                else:
                    data = self._read(fd) if ready else b""
                if data is None:
                    self._hang_up()
                elif data:
                    received = self.adapter.feed(data)
                    if received or self.adapter.heard:  # valid input, not noise
                        last_heard = time.monotonic()
                    # Each answered in its turn (both specs: answers in the order received).
                    for item in received:
                        if isinstance(item, Refusal):
                            self._refuse(item)
                            continue
                        self.commands_seen += 1
                        self._link_commands += 1
                        try:
                            self._answer(item)
                        except Exception:
                            log.exception("emulator: answering %s failed", item)
            now = time.monotonic()
            if self._link_commands == 0 and now >= next_hello:
                # Until a console talks, say hello now and then: opening a port flushes what
                # was sent before, and the console waits for a hello before its first command.
                next_hello = now + HELLO_EVERY_S
                self._send(self.adapter.hello())
            if now - last_heard > CONSOLE_SILENCE_S and self.firmware.console_silent():
                # The watchdog turned the output off: say so at once, not at the next beat.
                next_samples = next_heartbeat = now
            if now >= next_samples:
                next_samples = now + SAMPLES_EVERY_S
                try:
                    self._stream(now >= next_heartbeat)
                except Exception:  # an emulator bug must show, not silence the machine
                    log.exception("emulator: streaming failed")
                if now >= next_heartbeat:
                    next_heartbeat = now + HEARTBEAT_EVERY_S
            self._flush(now)

    def _port_opened_since_last_look(self) -> bool:
        """True once each time a console opens the port (a new TCP connection, the pty held)."""
        if self._sock is not None:
            return self._sock is not self._link
        if self._pty_poll is None or self._fd is None:
            return False
        events = self._pty_poll.poll(0)
        held = not any(mask & select.POLLHUP for _, mask in events)
        opened = held and not self._pty_console
        self._pty_console = held
        return opened

    def _link_opened(self) -> None:
        """A console opened the port: the machine's "port open" (both specs, section 1).

        As after a reboot as far as the output is concerned, and a hello at once (then now and
        then until the console's first command), so each console starts from the same state
        whatever the one before it left behind.
        """
        self._link = self._sock
        self.connections += 1
        self._link_commands = 0
        self.firmware.port_opened()
        with self._lock:
            self.adapter.link_opened()
            self._outbox.clear()  # late answers were for the console that left

    def _answer(self, command: Command) -> None:
        reply = self.firmware.execute(command)
        data = self.adapter.answer(command, reply)
        delay = 0.0
        with self._lock:
            if self._slow_answers:
                self._slow_answers -= 1
                delay = SLOW_ANSWER_S
        if delay:
            with self._lock:
                self._outbox.append(_Pending(time.monotonic() + delay, data))
        else:
            self._send(data)

    def _refuse(self, refusal: Refusal) -> None:
        if refusal.queued_error is not None:
            if refusal.announced:
                self.firmware.announce(*refusal.queued_error)
            else:
                self.firmware.queue_error(*refusal.queued_error)
        if refusal.answer:
            self._send(refusal.answer)

    def _stream(self, with_heartbeat: bool) -> None:
        telemetry = self.firmware.telemetry()
        rate = int(self.firmware.sample_rate_hz)
        parts = []
        if self.firmware.streaming:
            count = len(telemetry.machine_us)
            for start in range(0, count, self.adapter.batch_samples):
                stop = min(start + self.adapter.batch_samples, count)
                parts.append(self.adapter.samples(telemetry, start, stop, rate))
        if with_heartbeat:
            now_us = int(self.firmware.machine_us(self.firmware.clock.now()))
            parts.append(self.adapter.heartbeat(now_us, telemetry))
        if parts:
            self._send(b"".join(parts))

    def _flush(self, now: float) -> None:
        with self._lock:
            due = [p for p in self._outbox if p.due <= now]
            self._outbox = [p for p in self._outbox if p.due > now]
        for pending in due:
            self._send(pending.data)

    def _send(self, data: bytes) -> None:
        if self._pulled:
            return  # nothing reaches a console through a pulled cable
        if self._fd is not None and not self._pty_console:
            return  # nobody holds the port: the bytes would wait for the next console
        with self._lock:
            if self._drop_bytes and data:
                # Lose bytes from the middle of the stream, as a noisy line does.
                cut = min(self._drop_bytes, len(data) // 2)
                self._drop_bytes -= cut
                middle = len(data) // 2
                data = data[: middle - cut // 2] + data[middle + (cut - cut // 2) :]
        try:
            if self._fd is not None:
                # Before a console has talked nobody drains the port: drop at once. After, a
                # slow reader (a busy computer) is waited for, as USB flow control would.
                patience = 1.0 if self.commands_seen else 0.0
                self.bytes_unsent += _write_all(self._fd, data, patience)
            elif self._sock is not None:
                self._sock.sendall(data)
        except OSError:  # the console went away
            if self._sock is not None:
                self._hang_up()
            else:
                self._pulled = True

    # -- endpoint plumbing -------------------------------------------------------------------

    def _hang_up(self) -> None:
        """The console closed a TCP connection: wait for the next one (the machine stays up)."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
        if self._listener is not None and not self._pulled:
            threading.Thread(target=self._accept, name="emulator-accept", daemon=True).start()
        elif self._fd is not None and not self._pulled:
            self._pulled = True
            self._close_endpoint()

    def _accept(self) -> None:
        listener = self._listener
        assert listener is not None
        listener.settimeout(0.2)
        while not self.stopping:
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed: the emulator is stopping
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = connection
            return

    def _readable_fd(self) -> int | None:
        if self._fd is not None:
            return self._fd if self._pty_console else None  # nobody there: nothing to read
        if self._sock is not None:
            return self._sock.fileno()
        return None

    def _read(self, fd: int) -> bytes | None:
        try:
            if self._sock is not None:
                data = self._sock.recv(65536)
                return data if data else None  # empty: the console closed the connection
            return os.read(fd, 65536)
        except BlockingIOError:
            return b""
        except OSError:
            if self._fd is not None and not self._pulled:
                return b""  # the console closed the pty just now: the next look sees it gone
            return None

    def _close_endpoint(self) -> None:
        for closer in (
            lambda: os.close(self._fd) if self._fd is not None else None,
            lambda: self._sock.close() if self._sock is not None else None,
            lambda: self._listener.close() if self._listener is not None else None,
        ):
            with contextlib.suppress(OSError):
                closer()
        self._fd = self._sock = self._listener = None
        self._pty_poll = None


def _write_all(fd: int, data: bytes, patience_s: float) -> int:
    """Write ``data``; returns how many bytes were lost because nobody read the port.

    Like a UART with nobody listening, the machine does not wait for a reader for ever: what
    the port cannot take within ``patience_s`` in all is lost. (A pty whose console has just
    closed it may report itself writable while refusing every byte: only the deadline ends
    that, so the machine never spins there and a stop is heard.)
    """
    view = memoryview(data)
    deadline = time.monotonic() + patience_s
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0:
                return len(view)
            select.select([], [fd], [], min(left, 0.01))
            time.sleep(0.0005)  # if select says writable at once, do not spin on it
            continue
        if written == 0:  # taken nothing, refused nothing: as a full buffer
            if time.monotonic() >= deadline:
                return len(view)
            time.sleep(0.0005)
        view = view[written:]
    return 0


def make_emulator(
    protocol: str, clock: Clock, sample_rate_hz: float | None = None, seed: int = 1
) -> EmulatorServer:
    """An emulator of the ``scpi`` or ``framed`` machine on ``clock`` (not yet serving)."""
    if protocol == "scpi":
        from device_drivers.scpi_emulator import ScpiAdapter as Adapter

        defaults = ("MC Bench SC-2 (emulator)", "SC2-EMU-0001", "2.4.1-emu")
    elif protocol == "framed":
        from device_drivers.framed_emulator import FramedAdapter as Adapter

        defaults = ("MC Pro FX-7 (emulator)", "FX7-EMU-0001", "7.0.3-emu")
    else:
        raise ValueError(f"unknown protocol {protocol!r}; use scpi or framed")
    firmware = Firmware(
        clock,
        *defaults,
        sample_rate_hz=sample_rate_hz or Adapter.default_rate_hz,
        seed=seed,
        streams_from_boot=Adapter.streams_from_boot,
        repeat_memory=Adapter.repeat_memory,
    )
    return EmulatorServer(Adapter(firmware), firmware)


def main(argv: list[str] | None = None) -> int:
    """``python -m device_drivers.emulator``: serve one emulated machine until stopped."""
    parser = argparse.ArgumentParser(
        prog="python -m device_drivers.emulator", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--protocol", choices=("scpi", "framed"), required=True)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--pty", action="store_true", help="serve on a new pseudo-terminal")
    where.add_argument("--tcp", type=int, metavar="PORT", help="serve on TCP (0: any free port)")
    parser.add_argument(
        "--speed", type=float, default=1.0, help="machine time factor (emulator only)"
    )
    parser.add_argument("--sample-rate", type=float, default=None, metavar="HZ")
    parser.add_argument(
        "--inject", action="append", default=[], metavar="FAULT@SECONDS",
        help=f"wire fault after SECONDS of wall time: {', '.join(WIRE_FAULTS)}",
    )  # fmt: skip
    args = parser.parse_args(argv)
    schedule = []
    for spec in args.inject:
        try:
            fault = parse_fault_spec(spec, WIRE_FAULTS)
        except ValueError as error:
            parser.error(str(error))
        schedule.append((fault.at_s, fault.name))
    server = make_emulator(args.protocol, ScaledClock(args.speed), args.sample_rate)
    # SIGTERM and Ctrl-C only ask the serving loop to stop, which it sees within a few ms. A
    # handler must not take a lock (setting the loop's Event deadlocked when the signal came
    # while the loop held the Event's lock in its own wait: 1 exit in 10 hung under load), nor
    # raise: an exception thrown into the middle of the loop's Condition.wait can leave its
    # lock released twice, and the emulator then dies of a RuntimeError with exit status 1.
    # Installed before the port is printed, so no signal finds the default handler.
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, server.request_stop)
    port = server.open_pty() if args.pty else server.listen_tcp(args.tcp)
    print(port, flush=True)
    for at, name in schedule:
        timer = threading.Timer(at, server.inject, args=(name,))
        timer.daemon = True
        timer.start()
    try:
        server.serve()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
