"""Fixtures of the client-record tests (a pytest plugin, loaded by ``conftest.py``): a private
PostgreSQL server, an empty database of each kind, the user's data folder, store factories."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import platformdirs
import pytest

from console.records.store import RecordStore
from records_support import PostgresUnavailableError, empty_postgres_database, postgres_server

#: ``open_store(url, migrate=True)``.
OpenStore = Callable[..., RecordStore]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A private PostgreSQL server for the whole run (skips every PostgreSQL test if none)."""
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(postgres_server())
        except PostgresUnavailableError as error:
            reason = f"PostgreSQL record-store tests skipped: {error}"
            print(reason, file=sys.stderr)
            pytest.skip(reason)
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a new SQLite file, or the PostgreSQL test database with no tables."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'records' / 'records.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    empty_postgres_database(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A new SQLite file (for what only SQLite has: file modes, a read-only file)."""
    return f"sqlite:///{tmp_path / 'records' / 'records.sqlite3'}"


@pytest.fixture(autouse=True)
def data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The user's data folder (JSON backups of a server's tables go there): a temporary one."""
    folder = tmp_path / "user-data"
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda *_args, **_kw: str(folder))
    return folder


@pytest.fixture
def open_store() -> Iterator[OpenStore]:
    """``open_store(url, migrate=True)``: a RecordStore, closed after the test."""
    stores: list[RecordStore] = []

    def factory(url: str, migrate: bool = True) -> RecordStore:
        store = RecordStore(url, migrate=migrate)
        stores.append(store)
        return store

    yield factory
    for store in stores:
        store.close()
