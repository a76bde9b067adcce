"""A records database opened again in one process reuses its engine (issue 19): a new engine,
with its own dialect, for every opening pinned about 0.3 MiB a session in SQLAlchemy's caches."""

from __future__ import annotations

from pathlib import Path

from console.records import engines
from console.records.store import RecordStore


def test_the_same_database_opened_again_gets_the_same_engine(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    first = RecordStore(url)
    first.add_client("Ana Núñez", "Dana")
    first.close()
    second = RecordStore(url)
    try:
        assert second.engine is first.engine
        assert [c.name for c in second.search_clients("Ana")] == ["Ana Núñez"]
    finally:
        second.close()


def test_only_the_most_recent_databases_keep_an_engine(tmp_path: Path) -> None:
    urls = [
        f"sqlite:///{tmp_path / f'records-{n}.sqlite3'}" for n in range(engines.KEPT_ENGINES + 2)
    ]
    made = []
    for url in urls:
        store = RecordStore(url)
        made.append(store.engine)
        store.close()
    kept = dict(engines._engines)
    assert list(kept)[-engines.KEPT_ENGINES :] == urls[-engines.KEPT_ENGINES :]
    assert urls[0] not in kept  # pushed out (and disposed), so a new one is made next time
    again = RecordStore(urls[0])
    try:
        assert again.engine is not made[0]
    finally:
        again.close()
