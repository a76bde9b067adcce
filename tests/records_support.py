"""Helpers for the client-record tests (imported as ``records_support``).

* :func:`postgres_server` starts a private, throw-away PostgreSQL cluster (initdb into a temporary
  folder, trust authentication on 127.0.0.1 only, a free port, its socket in that folder) and
  yields its SQLAlchemy URL; it raises :class:`PostgresUnavailableError` with the reason when
  the server binaries are missing or the server does not start. Run as root, the cluster is
  owned by the ``postgres`` OS user (PostgreSQL refuses to run as root).
* :func:`record_short_session` runs a short protocol on the simulated machine and records it
  through a :class:`~console.records.recorder.SessionRecorder`, exactly as a console does.
* :func:`unprivileged` drops the effective user for a moment, so that permission tests mean
  something when the suite runs as root (root writes through any file mode).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.drivers import DeviceIdentity
from console.engine.clock import SteppedClock, VirtualClock
from console.engine.events import EngineState, SessionInfo, StepDelivery
from console.engine.runner import TreatmentEngine
from console.records.recorder import SessionRecorder
from console.records.store import RecordStore
from device_drivers.simulator import SimulatedMachine
from device_drivers.simulator_plugin import register_drivers
from support import make_protocol

#: The database the private cluster creates for the tests.
TEST_DATABASE = "records_test"
#: The OS user that owns the cluster when the tests run as root.
CLUSTER_OWNER = "postgres"
#: The user a permission test becomes for a moment when the suite runs as root.
UNPRIVILEGED_USER = "nobody"

BeforeStart = Callable[[str, TreatmentEngine, SimulatedMachine], None]


# -- a private PostgreSQL server ----------------------------------------------------------------


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server could be started here; the message says why and what to install."""


def postgres_bindir() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl``: ``$PG_BINDIR``, the ``PATH``, or Debian's
    ``/usr/lib/postgresql/<version>/bin`` (newest first), where the server is not on the PATH."""
    candidates: list[Path] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted(
        (Path(v) for v in versions), key=lambda p: _version_key(p.parent.name), reverse=True
    )
    candidates += [Path("/usr/local/pgsql/bin")]
    for folder in candidates:
        if all(os.access(folder / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return folder
    raise PostgresUnavailableError(
        "the PostgreSQL server binaries (initdb, pg_ctl) are not installed "
        "(on Debian: apt-get install -y postgresql; or set PG_BINDIR)"
    )


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name)) or (0,)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _owner_command(command: list[str]) -> list[str]:
    """``command`` as the cluster's owner: as is for a normal user, through runuser for root."""
    if os.geteuid() != 0:
        return command
    try:
        pwd.getpwnam(CLUSTER_OWNER)
    except KeyError:
        raise PostgresUnavailableError(
            f"running as root, and there is no {CLUSTER_OWNER!r} OS user to own the cluster "
            "(PostgreSQL refuses to run as root; apt-get install -y postgresql creates it)"
        ) from None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PostgresUnavailableError("running as root, and runuser (util-linux) is missing")
    return [runuser, "-u", CLUSTER_OWNER, "--", *command]


def _run(command: list[str], cwd: Path, timeout: float = 60.0) -> None:
    try:
        done = subprocess.run(
            _owner_command(command),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PostgresUnavailableError(f"{Path(command[0]).name} failed: {error}") from None
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise PostgresUnavailableError(
            f"{Path(command[0]).name} exited with {done.returncode}: {' / '.join(output)}"
        )


def _log_tail(log: Path, lines: int = 5) -> str:
    try:
        return " / ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no server log)"


@contextlib.contextmanager
def postgres_cluster(hba: str, prefix: str = "mc-pg-") -> Iterator[tuple[Path, int]]:
    """A private PostgreSQL cluster with ``hba`` as its ``pg_hba.conf``, for the duration of
    the ``with`` block; yields its folder (its socket is there) and TCP port on 127.0.0.1, stops
    and deletes it after. Raises :class:`PostgresUnavailableError` (before yielding) when it
    cannot be started."""
    bindir = postgres_bindir()
    # Not under pytest's basetemp: that is private to root, and the cluster's owner must reach it.
    root = Path(tempfile.mkdtemp(prefix=prefix))
    data, log = root / "data", root / "server.log"
    started = False
    try:
        if os.geteuid() == 0:
            _owner_command([])  # raises when there is nobody to own the cluster
            owner = pwd.getpwnam(CLUSTER_OWNER)
            os.chown(root, owner.pw_uid, owner.pw_gid)
        os.chmod(root, 0o700)
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            cwd=root,
        )
        (data / "pg_hba.conf").write_text(hba, encoding="utf-8")
        last_error = ""
        for _attempt in range(3):  # another process may take the free port first
            port = free_port()
            options = (
                f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log)]
                _run([*pg_ctl, "-o", options, "-w", "-t", "30", "start"], cwd=root)
            except PostgresUnavailableError as error:
                last_error = f"{error}; server log: {_log_tail(log)}"
                continue
            started = True
            break
        if not started:
            raise PostgresUnavailableError(f"the PostgreSQL server did not start: {last_error}")
        yield root, port
    finally:
        if started:
            with contextlib.suppress(PostgresUnavailableError):
                _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], root)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def postgres_server(database: str = TEST_DATABASE) -> Iterator[str]:
    """A private PostgreSQL cluster for the duration of the ``with`` block; yields its URL
    (``postgresql+psycopg://postgres@127.0.0.1:PORT/<database>``), stops and deletes it after.

    Raises :class:`PostgresUnavailableError` (before yielding) when it cannot be started.
    """
    # Trust, but only on the loopback interface and this folder's socket.
    with postgres_cluster("local all all trust\nhost all all 127.0.0.1/32 trust\n") as (_, port):
        _create_database(port, database)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"


def _create_database(port: int, database: str) -> None:
    try:
        import psycopg
    except ImportError as error:
        raise PostgresUnavailableError(f"psycopg is not installed: {error}") from None
    try:
        with psycopg.connect(
            host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
    except psycopg.Error as error:
        raise PostgresUnavailableError(f"could not create the test database: {error}") from None


def empty_postgres_database(url: str) -> None:
    """Drop every table (and type, sequence...) of the test database: a fresh, empty schema."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("SET lock_timeout = '10s'"))
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


# -- a server that goes down and comes back ------------------------------------------------------


class FlakyServer:
    """A TCP relay in front of a database server that the test takes down and brings back up,
    as a server restart or a pulled network cable looks to a console: while down, every open
    connection is cut and new ones are refused (the port is closed).

    Use ``url`` (the server's URL with the relay's port) in place of the server's."""

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        server = make_url(url)
        self._target = (server.host or "127.0.0.1", int(server.port or 5432))
        self.port = free_port()
        self.url = server.set(port=self.port).render_as_string(hide_password=False)
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.up()

    def up(self) -> None:
        """Accept connections again."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        """Cut every connection and refuse new ones."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):  # wakes the accept() that is waiting on it
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        """Down for good."""
        self.down()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # taken down
            try:
                server = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


# -- a disk that fills up -------------------------------------------------------------------------

#: Size of the small disk :func:`on_a_small_disk` mounts.
SMALL_DISK = "8m"


def on_a_small_disk(
    disk: Path, script: str, *args: str, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """Run the Python ``script`` (with ``args``) where ``disk`` is a small, empty disk of its own
    (a tmpfs of :data:`SMALL_DISK`, in a private mount namespace, so no root is needed and
    nothing outside sees it). The script fills and frees it as the test needs: a real full disk
    for SQLite and the journal alike. Everything on it is gone when the script ends, so the
    script checks what it must and prints it. Skips the test where mounting is not allowed."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("util-linux's unshare is needed for the full-disk tests")
    disk.mkdir(parents=True, exist_ok=True)
    mount_then_run = 'mount -t tmpfs -o size="$0",mode=0700 tmpfs "$1" && shift && exec "$@"'
    command = [unshare, "-rm", "sh", "-c", mount_then_run, SMALL_DISK, str(disk)]
    command += [sys.executable, "-c", script, *args]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if result.returncode != 0 and result.stderr.startswith(("unshare:", "mount:")):
        pytest.skip(f"no private disk can be mounted here: {result.stderr.strip()}")
    return result


#: Python for :func:`on_a_small_disk` scripts: ``fill(disk)`` takes every free byte of the disk
#: (as another program's download would), ``free(disk)`` gives it back.
DISK_FILLER = textwrap.dedent(
    """
    import errno, os

    def fill(disk):
        with open(os.path.join(disk, "filler.bin"), "wb", buffering=0) as filler:
            block = b"x" * 65536
            try:
                while True:
                    filler.write(block)
            except OSError as error:
                assert error.errno == errno.ENOSPC, error
            block = b"x" * 512
            try:
                while True:
                    filler.write(block)
            except OSError:
                pass

    def free(disk):
        os.remove(os.path.join(disk, "filler.bin"))
    """
)


# -- records without an engine -------------------------------------------------------------------


def wait_for(condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what or condition}")
        time.sleep(0.01)


def session_info(session_id: str) -> SessionInfo:
    """A session as the engine describes it, for writing rows without running an engine."""
    return SessionInfo(
        session_id=session_id,
        protocol_id="test-protocol",
        protocol_version="1",
        protocol_name="Test protocol",
        driver_id="simulator",
        machine=DeviceIdentity("Simulated machine", "SIM-000001", "1.0"),
        simulated=True,
        started_at=datetime.now(UTC),
    )


def delivery(
    index: int, charge_uc: float, *, seconds: float = 20.0, completed: bool = True
) -> StepDelivery:
    """What a 20 s step delivered (``seconds`` of it, for a checkpoint or a step cut short)."""
    return StepDelivery(
        index=index,
        zone="cheek_left",
        planned_s=20.0,
        time_under_current_s=seconds,
        mean_current_ua=charge_uc / seconds,
        charge_uc=charge_uc,
        mean_impedance_kohm=12.0,
        completed=completed,
    )


# -- a recorded session --------------------------------------------------------------------------


def record_short_session(
    store: RecordStore,
    client_id: int | None,
    practitioner: str,
    *,
    steps: int = 3,
    duration_s: float = 20.0,
    stop: str | None = None,
    stop_at_s: float = 30.0,
    before_start: BeforeStart | None = None,
    recorder: SessionRecorder | None = None,
    close_recorder: bool = True,
) -> str:
    """Run a short protocol (``steps`` steps of ``duration_s``) on the simulated machine,
    recorded as the console records it, and return the session id.

    ``stop`` is ``None`` (the protocol runs to its end), ``"stop"`` (the operator ends it at
    ``stop_at_s``) or ``"emergency_stop"``. ``before_start`` is called with the session id, the
    engine and the machine after the session row was written and before the output may turn on.
    Pass a ``recorder`` to watch it (and ``close_recorder=False`` to close it yourself).
    """
    if stop not in (None, "stop", "emergency_stop"):
        raise ValueError(f"stop must be None, 'stop' or 'emergency_stop', not {stop!r}")
    clock: VirtualClock = VirtualClock() if stop is None else SteppedClock()
    machine = SimulatedMachine(clock, seed=7)
    engine = TreatmentEngine(machine, register_drivers()[0], clock)
    recorder = recorder or SessionRecorder(store, practitioner, client_id, retry_s=0.02)
    written = True
    try:
        engine.prepare(make_protocol(steps=steps, duration_s=duration_s))
        assert engine.session is not None
        session_id = engine.session.session_id
        recorder.begin(engine.session, clock.now())  # the row exists before the output is on
        if before_start is not None:
            before_start(session_id, engine, machine)
        engine.subscribe(recorder)
        if stop is None:
            engine.run(timeout=60)
        else:
            assert isinstance(clock, SteppedClock)
            engine.start()
            try:
                clock.run_until(stop_at_s)
                getattr(engine, stop)()
                if not engine.wait(10):
                    raise TimeoutError(f"the engine did not end after {stop}()")
            finally:
                clock.release()
        assert engine.state.terminal, engine.state
        engine.wait(10)  # every event handed to the recorder
    finally:
        if engine.state is not EngineState.IDLE and not engine.state.terminal:
            engine.emergency_stop()
        engine.close()
        if close_recorder:
            written = recorder.close(10.0)
    if close_recorder and not written:
        raise AssertionError(f"{recorder.unwritten} record(s) did not reach the database")
    return session_id


# -- permissions -----------------------------------------------------------------------------------


def unprivileged_ids() -> tuple[int, int]:
    """(uid, gid) the permission tests run as: this user, or ``nobody`` when run as root."""
    if os.geteuid() != 0:
        return os.geteuid(), os.getegid()
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    return user.pw_uid, user.pw_gid


@contextlib.contextmanager
def unprivileged() -> Iterator[None]:
    """Run the block as an ordinary user: file modes bind root only in name.

    As root, the effective user and groups become ``nobody`` for the block (the whole process:
    keep it short, and import what it needs before). As anyone else, nothing changes.
    """
    if os.geteuid() != 0:
        yield
        return
    import pytest

    try:
        uid, gid = unprivileged_ids()
    except KeyError:
        pytest.skip(f"running as root, and there is no {UNPRIVILEGED_USER!r} user to become")
    groups = os.getgroups()
    try:
        os.setgroups([gid])
        os.setegid(gid)
        os.seteuid(uid)
    except OSError as error:
        _become_root(groups)
        pytest.skip(f"running as root, and cannot become {UNPRIVILEGED_USER!r}: {error}")
    try:
        yield
    finally:
        _become_root(groups)


def _become_root(groups: list[int]) -> None:
    os.seteuid(0)
    os.setegid(0)
    os.setgroups(groups)


def gone_console() -> str:
    """A session lease owner on this computer whose process has ended (a crashed console)."""
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return f"{socket.gethostname()}:{int(ended.stdout)}:ended"
