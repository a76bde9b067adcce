"""Database credentials outside the URL, and never printed.

A PostgreSQL URL without a password connects with libpq's standard places (``PGPASSWORD``, the
password file, a service of the service file), tried against a private server that asks for a
SCRAM password; a password given in a URL anyway never reaches any output or log line, whatever
makes the connection fail (no server, a wrong password, no such database, a URL that does not
parse), through the real ``mc-console`` and in-process with every logger at DEBUG."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.records.errors import MASK, RecordError, StoreUnavailableError, keep_secret, redact
from console.records.store import RecordStore
from console.records.urls import _masked, parse, safe
from records_support import (
    PostgresUnavailableError,
    free_port,
    postgres_cluster,
)

pytestmark = pytest.mark.timeout(180)

MC_CONSOLE = str(Path(sys.executable).parent / "mc-console")
ROLE = "clinic"
PASSWORD = "Wr0ng-Or-Right-7f3a"  # the right one; the tests also try WRONG
WRONG = "Not-The-Password-91c2"
DATABASE = "records"


@contextlib.contextmanager
def password_server() -> Iterator[int]:
    """A private PostgreSQL cluster that asks every TCP client for a SCRAM password (the role
    ``clinic`` with :data:`PASSWORD` owns the database ``records``); yields its port."""
    # The socket in the cluster's folder stays trusted (to set the role up); TCP needs the
    # password.
    hba = "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
    with postgres_cluster(hba, prefix="mc-pg-scram-") as (root, port):
        import psycopg

        with psycopg.connect(
            host=str(root), port=port, user="postgres", dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
            connection.execute(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
        yield port


@pytest.fixture(scope="module")
def scram_port() -> Iterator[int]:
    try:
        with password_server() as port:
            yield port
    except PostgresUnavailableError as error:
        pytest.skip(f"no PostgreSQL server for the credential tests: {error}")


@pytest.fixture(autouse=True)
def no_libpq_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No password from the developer's own environment or files: only what a test gives."""
    for name in ("PGPASSWORD", "PGSERVICE", "PGUSER", "PGHOST", "PGPORT", "PGDATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    monkeypatch.setenv("PGSERVICEFILE", str(tmp_path / "no-pg_service.conf"))


def private_file(path: Path, content: str) -> Path:
    """``content`` in an owner-only file (libpq ignores a password file others can read)."""
    path.write_text(content, encoding="utf-8")
    path.chmod(0o600)
    return path


# -- passwords from libpq's standard places -----------------------------------------------------


def test_a_url_without_a_password_uses_the_password_file(
    scram_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"postgresql+psycopg://{ROLE}@127.0.0.1:{scram_port}/{DATABASE}"
    with pytest.raises(StoreUnavailableError, match="asks for a password and none was found"):
        RecordStore(url).close()  # no password anywhere: refused, in words

    passfile = private_file(
        tmp_path / "pgpass", f"127.0.0.1:{scram_port}:{DATABASE}:{ROLE}:{PASSWORD}\n"
    )
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    store = RecordStore(url)
    try:
        assert store.schema_revision() == store.head_revision()
        assert PASSWORD not in store.safe_url
    finally:
        store.close()


def test_a_url_without_a_password_uses_pgpassword(
    scram_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    store = RecordStore(f"postgresql+psycopg://{ROLE}@127.0.0.1:{scram_port}/{DATABASE}")
    try:
        assert store.schema_revision() == store.head_revision()
    finally:
        store.close()


def test_a_service_of_the_service_file_names_the_server_and_the_password(
    scram_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = private_file(
        tmp_path / "pg_service.conf",
        f"[clinic]\nhost=127.0.0.1\nport={scram_port}\ndbname={DATABASE}\nuser={ROLE}\n"
        f"password={PASSWORD}\n",
    )
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    store = RecordStore("postgresql+psycopg:///?service=clinic")
    try:
        assert store.schema_revision() == store.head_revision()
    finally:
        store.close()


# -- a password in a URL is never said -----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://{ROLE}:{PASSWORD}@db-host/records",
        f"postgresql+psycopg://{ROLE}:{PASSWORD}@db-host:port/records",  # the port: not a number
        f"postgresql+psycopg//{ROLE}:{PASSWORD}@db-host/records",  # "//" without its ":"
        f"{ROLE}:{PASSWORD}@db-host/records",  # no scheme at all
    ],
)
def test_urls_are_shown_without_their_password(url: str) -> None:
    assert PASSWORD not in safe(url) and PASSWORD not in _masked(url)
    assert MASK in _masked(url)
    with contextlib.suppress(StoreUnavailableError):
        parse(url)
    assert redact(f"it was {PASSWORD}") == f"it was {MASK}"


def test_every_record_error_masks_a_remembered_password() -> None:
    keep_secret("p@ss w0rd!")
    error = StoreUnavailableError("the server said: password p@ss w0rd! (p%40ss%20w0rd%21)")
    assert str(error) == f"the server said: password {MASK} ({MASK})"
    assert isinstance(error, RecordError)
    keep_secret("ab")  # too short to mask: it would garble every message
    assert redact("tab") == "tab"


def failing_urls(port: int, closed: int) -> dict[str, str]:
    """URLs holding a password, each failing differently."""
    return {
        "wrong password": f"postgresql+psycopg://{ROLE}:{WRONG}@127.0.0.1:{port}/{DATABASE}",
        "no such database": f"postgresql+psycopg://{ROLE}:{PASSWORD}@127.0.0.1:{port}/nowhere",
        "no server": f"postgresql+psycopg://{ROLE}:{WRONG}@127.0.0.1:{closed}/{DATABASE}",
        "not a port": f"postgresql+psycopg://{ROLE}:{WRONG}@127.0.0.1:port/{DATABASE}",
        "not a URL": f"postgresql+psycopg//{ROLE}:{WRONG}@127.0.0.1/{DATABASE}",
    }


@pytest.mark.parametrize(
    "why", ["wrong password", "no such database", "no server", "not a port", "not a URL"]
)
def test_no_output_of_a_failing_connection_holds_the_password(scram_port: int, why: str) -> None:
    url = failing_urls(scram_port, free_port())[why]
    said = []
    for argv in (
        ["-v", "sessions", "--db", url],
        ["-v", "audit", "--verify", "--db", url],
        ["-v", "run", "--protocol", "lifting", "--speed", "max", "--db", url],
    ):
        done = subprocess.run(
            [MC_CONSOLE, *argv],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
            check=False,
        )
        assert done.returncode == 2, (argv, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        said.append(done.stdout + done.stderr)
    for text in said:
        for line in text.splitlines():
            assert PASSWORD not in line and WRONG not in line, line
    assert any(line.startswith("mc-console: error: ") for line in said[0].splitlines())


def test_no_log_record_or_traceback_of_a_failing_connection_holds_the_password(
    scram_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for why, url in failing_urls(scram_port, free_port()).items():
        with pytest.raises(RecordError) as failed:
            RecordStore(url, create=False).close()
        lines = [str(failed.value), *traceback.format_exception(failed.value)]
        lines += [caplog.handler.format(record) for record in caplog.records]
        for line in lines:
            assert PASSWORD not in line and WRONG not in line, (why, line)
