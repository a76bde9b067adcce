"""Record-store figures: run it and read the numbers.

    .venv/bin/python benchmarks/records_benchmark.py [--quick] [--pg URL | --pg private]

1. Saving as a session runs: one step and one safety event, each its own committed transaction
   on the SQLite file (WAL, full sync), as the recorder writes them (goal: p95 under 20 ms).
2. Searching a full clinic: 10,000 clients with 100,000 sessions (bulk-inserted; no steps),
   ``search_clients`` for a few queries (goal: p95 under 100 ms).

3. Exporting a clinic's history: 50,000 sessions of 12 steps each (600,000 step rows) to the
   sessions and steps CSV files, as ``mc-console sessions --csv --steps-csv`` and the window's
   export do, in a process of its own (goals: at most 5 s, peak memory at most 100 MB).

With ``--pg URL`` the same runs on that PostgreSQL server, in a schema of its own that is dropped
afterwards (nothing else in the database is touched). ``--pg private`` starts a throw-away
server as the tests do (``tests/records_support.py``); it runs with fsync off, so its write
figures are a lower bound.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from console.drivers import DeviceIdentity
from console.engine.events import SafetyEvent, SafetyKind, SessionInfo, StepDelivery
from console.records.models import Client, SafetyEventRecord, StepRecord, TreatmentSession
from console.records.store import RecordStore

SAVE_GOAL_MS = 20.0
SEARCH_GOAL_MS = 100.0
EXPORT_GOAL_S = 5.0
EXPORT_MEMORY_GOAL_MB = 100.0
QUERIES = ["anna", "berg", "son", "a", "lindqvist 4", "zz-nobody"]
FIRST = [
    "Anna",
    "Eva",
    "Maria",
    "Karin",
    "Sara",
    "Lena",
    "Emma",
    "Ida",
    "Hanna",
    "Julia",
    "Elin",
    "Nora",
    "Alice",
    "Maja",
    "Lisa",
    "Ella",
]
LAST = [
    "Andersson",
    "Berg",
    "Bergström",
    "Carlsson",
    "Ek",
    "Eriksson",
    "Hansson",
    "Johansson",
    "Karlsson",
    "Larsson",
    "Lind",
    "Lindqvist",
    "Nilsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Åberg",
    "Öberg",
    "Nyström",
    "Holm",
]


def percentiles(samples_s: list[float]) -> tuple[float, float]:
    """(median, p95) in milliseconds."""
    ms = sorted(s * 1000.0 for s in samples_s)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return statistics.median(ms), p95


def report(label: str, samples_s: list[float], goal_ms: float) -> bool:
    median, p95 = percentiles(samples_s)
    ok = p95 < goal_ms
    print(
        f"  {label:<34} median {median:7.2f} ms   p95 {p95:7.2f} ms   "
        f"(n={len(samples_s)}, goal p95 < {goal_ms:g} ms: {'ok' if ok else 'MISSED'})"
    )
    return ok


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def session_info() -> SessionInfo:
    return SessionInfo(
        session_id=uuid.uuid4().hex,
        protocol_id="lifting",
        protocol_version="1.0",
        protocol_name="Lifting",
        driver_id="simulator",
        machine=DeviceIdentity("Simulated machine", "SIM-000001", "1.0"),
        simulated=True,
        started_at=datetime.now(UTC),
    )


def save_figures(store: RecordStore, count: int) -> bool:
    """Figure 1: a step and an event, each committed alone, ``count`` times."""
    client_id = store.add_client("Benchmark Client", "Dana")
    info = session_info()
    store.begin_session(info, "Dana", client_id)
    steps, events = [], []
    for index in range(count):
        step = StepDelivery(index, "cheek_left", 120.0, 120.0, 350.0, 42000.0, 11.5, True)
        event = SafetyEvent(
            SafetyKind.CONTACT_LOST, 60.0 + index, "Contact lost: probe lifted.", "paused", index
        )
        steps.append(timed(lambda step=step: store.add_step(info.session_id, step)))
        events.append(timed(lambda event=event: store.add_event(info.session_id, event, 0.0)))
    ok = report("save one step", steps, SAVE_GOAL_MS)
    return report("save one safety event", events, SAVE_GOAL_MS) and ok


def session_row(
    session_id: str,
    client_id: int,
    practitioner_id: int,
    started_at: datetime,
    ended_at: datetime | None,
    reason: str,
) -> dict[str, object]:
    """A finished lifting session on the simulator, as a row of the sessions table."""
    return {
        "id": session_id,
        "client_id": client_id,
        "practitioner_id": practitioner_id,
        "protocol_id": "lifting",
        "protocol_version": "1.0",
        "protocol_name": "Lifting",
        "driver_id": "simulator",
        "machine_model": "Simulated machine",
        "machine_serial": "SIM-000001",
        "machine_firmware": "1.0",
        "simulated": True,
        "started_at": started_at,
        "ended_at": ended_at,
        "state": "finished",
        "reason": reason,
    }


def fill(store: RecordStore, clients: int, sessions: int, seed: int = 1) -> float:
    """``clients`` clients and ``sessions`` sessions, bulk-inserted (SQLAlchemy core
    executemany, in chunks, one transaction). Returns the seconds it took."""
    rng = random.Random(seed)
    practitioner_id = store.practitioner("Dana")
    now = datetime.now(UTC)
    start = time.perf_counter()
    with store.engine.begin() as connection:
        first_id = (connection.scalar(select(Client.id).order_by(Client.id.desc())) or 0) + 1
        names = [
            f"{rng.choice(FIRST)} {rng.choice(LAST)} {n}" if n % 3 == 0 else
            f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            for n in range(clients)
        ]  # fmt: skip
        rows = [
            {
                "id": first_id + n,
                "name": name,
                "search_name": name.casefold(),
                "birth_year": rng.randint(1940, 2005),
                "phone": f"+46 70 {rng.randint(1000000, 9999999)}",
                "email": "",
                "goals": "",
                "created_at": now - timedelta(days=rng.randint(0, 1500)),
                "created_by_id": practitioner_id,
            }
            for n, name in enumerate(names)
        ]
        for chunk in range(0, len(rows), 5000):
            connection.execute(insert(Client.__table__), rows[chunk : chunk + 5000])
        batch: list[dict[str, object]] = []
        for _ in range(sessions):
            started = now - timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60))
            batch.append(
                session_row(
                    uuid.UUID(int=rng.getrandbits(128)).hex,
                    first_id + rng.randrange(clients),
                    practitioner_id,
                    started,
                    ended_at=None,
                    reason="",
                )
            )
            if len(batch) == 10000:
                connection.execute(insert(TreatmentSession.__table__), batch)
                batch = []
        if batch:
            connection.execute(insert(TreatmentSession.__table__), batch)
    with store.engine.begin() as connection:
        connection.execute(text("ANALYZE"))  # fresh planner statistics, as a live clinic has
    return time.perf_counter() - start


def fill_history(store: RecordStore, sessions: int, steps: int, seed: int = 2) -> float:
    """``sessions`` finished sessions of ``steps`` steps each and a safety event in every tenth,
    for 500 clients, bulk-inserted. Returns the seconds it took."""
    rng = random.Random(seed)
    practitioner_id = store.practitioner("Dana")
    clients = [
        store.add_client(f"{rng.choice(FIRST)} {rng.choice(LAST)} {n}", "Dana") for n in range(500)
    ]
    now = datetime.now(UTC)
    zones = [
        "forehead_right",
        "forehead_left",
        "cheek_right",
        "cheek_left",
        "jawline_right",
        "chin",
    ]
    start = time.perf_counter()
    with store.engine.begin() as connection:
        for chunk in range(0, sessions, 5000):
            rows, step_rows, event_rows = [], [], []
            for n in range(chunk, min(sessions, chunk + 5000)):
                session_id = uuid.UUID(int=rng.getrandbits(128)).hex
                started = now - timedelta(minutes=n * 30)
                rows.append(
                    session_row(
                        session_id,
                        rng.choice(clients),
                        practitioner_id,
                        started,
                        ended_at=started + timedelta(minutes=20),
                        reason="every step delivered",
                    )
                )
                for index in range(steps):
                    charge = rng.uniform(8000.0, 30000.0)
                    step_rows.append(
                        {
                            "session_id": session_id,
                            "step_index": index,
                            "zone": zones[index % len(zones)],
                            "planned_s": 100.0,
                            "actual_s": 100.0,
                            "mean_current_ua": charge / 100.0,
                            "charge_uc": charge,
                            "net_charge_uc": rng.uniform(-20.0, 20.0),
                            "mean_impedance_kohm": rng.uniform(20.0, 80.0),
                            "completed": True,
                            "final": True,
                        }
                    )
                if n % 10 == 0:
                    event_rows.append(
                        {
                            "session_id": session_id,
                            "at_s": 42.0,
                            "kind": "contact_lost",
                            "message": "Contact lost: probe lifted.",
                            "action": "paused",
                            "step_index": 0,
                            "ordinal": 0,
                        }
                    )
            connection.execute(insert(TreatmentSession.__table__), rows)
            connection.execute(insert(StepRecord.__table__), step_rows)
            connection.execute(insert(SafetyEventRecord.__table__), event_rows)
    return time.perf_counter() - start


#: The export, in a process of its own so its peak memory is its own.
EXPORT_CHILD = """
import sys, time
from pathlib import Path
from console.records.reports import export_csv
from console.records.store import RecordStore

def status(field):  # kB; the peak (VmHWM) is this process's own, from its exec on
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])

store = RecordStore(sys.argv[1], migrate=False)
before = status("VmRSS")
start = time.perf_counter()
sessions, steps = export_csv(store.iter_export(), Path(sys.argv[2]), Path(sys.argv[3]))
seconds = time.perf_counter() - start
print(sessions, steps, seconds, before / 1024, status("VmHWM") / 1024)
"""


def export_figures(url: str, folder: Path) -> bool:
    """Figure 3: both CSV files of every session, in a child process."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", EXPORT_CHILD, url, str(folder / "s.csv"), str(folder / "t.csv")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
        check=True,
    )
    sessions, steps, seconds, before, peak = done.stdout.split()
    megabytes = (folder / "s.csv").stat().st_size / 1e6 + (folder / "t.csv").stat().st_size / 1e6
    ok = float(seconds) <= EXPORT_GOAL_S and float(peak) <= EXPORT_MEMORY_GOAL_MB
    print(
        f"  export {int(sessions):,} sessions and {int(steps):,} steps ({megabytes:.0f} MB of "
        f"CSV): {float(seconds):.2f} s (goal {EXPORT_GOAL_S:g} s), peak memory "
        f"{float(peak):.0f} MB, {float(before):.0f} MB of it before the export (goal "
        f"{EXPORT_MEMORY_GOAL_MB:g} MB)  {'ok' if ok else 'MISSED'}"
    )
    return ok


def search_figures(store: RecordStore, repeats: int) -> bool:
    """Figure 2: ``search_clients`` for each query, ``repeats`` times."""
    ok = True
    for query in QUERIES:
        found = store.search_clients(query)  # warm the caches once
        samples = [timed(lambda query=query: store.search_clients(query)) for _ in range(repeats)]
        ok = report(f"search {query!r} ({len(found)} shown)", samples, SEARCH_GOAL_MS) and ok
    return ok


def run(label: str, url: str, args: argparse.Namespace) -> bool:
    print(f"\n{label}")
    store = RecordStore(url)
    try:
        ok = save_figures(store, args.saves)
        seconds = fill(store, args.clients, args.sessions)
        print(
            f"  filled {args.clients:,} clients and {args.sessions:,} sessions in {seconds:.1f} s"
        )
        ok = search_figures(store, args.repeats) and ok
    finally:
        store.close()
    with own_records(url) as history:
        store = RecordStore(history)
        try:
            seconds = fill_history(store, args.export_sessions, 12)
            print(f"  filled {args.export_sessions:,} sessions of 12 steps in {seconds:.1f} s")
        finally:
            store.close()
        with tempfile.TemporaryDirectory(prefix="mc-export-bench-") as folder:
            return export_figures(history, Path(folder)) and ok


@contextlib.contextmanager
def own_records(url: str) -> Iterator[str]:
    """A second, empty database of the same kind as ``url`` (a new file; a new schema)."""
    if url.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="mc-history-") as folder:
            yield f"sqlite:///{Path(folder) / 'history.sqlite3'}"
        return
    with own_schema(url.split("?")[0]) as scoped:
        yield scoped


@contextlib.contextmanager
def own_schema(url: str) -> Iterator[str]:
    """``url`` with a search path to a new schema of its own, dropped afterwards."""
    schema = f"mc_records_benchmark_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextlib.contextmanager
def postgres(target: str) -> Iterator[str]:
    if target != "private":
        with own_schema(target) as url:
            yield url
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from records_support import postgres_server

    with postgres_server("records_benchmark") as url, own_schema(url) as scoped:
        yield scoped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the rows and samples")
    parser.add_argument("--pg", metavar="URL", help="also on this PostgreSQL server ('private')")
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--saves", type=int, default=200, help="steps and events to save")
    parser.add_argument("--repeats", type=int, default=30, help="searches per query")
    parser.add_argument(
        "--export-sessions", type=int, default=50_000, help="sessions of 12 steps to export"
    )
    args = parser.parse_args()
    if args.quick:
        args.clients, args.sessions = args.clients // 10, args.sessions // 10
        args.saves, args.repeats = max(20, args.saves // 10), max(5, args.repeats // 3)
        args.export_sessions //= 10
    ok = True
    with tempfile.TemporaryDirectory(prefix="mc-records-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'records' / 'records.sqlite3'}"
        ok = run(f"SQLite ({url})", url, args) and ok
    if args.pg:
        with postgres(args.pg) as url:
            label = (
                "PostgreSQL (private server, fsync off)" if args.pg == "private" else "PostgreSQL"
            )
            ok = (
                run(f"{label} ({make_url(url).render_as_string(hide_password=True)})", url, args)
                and ok
            )
    print("\nall goals met" if ok else "\nsome goals MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
