"""What the soak benchmarks measure and how they judge it (issue 19).

A soak repeats one thing (a session, a run, a connection) and, after each, reads the process's
resident memory, live threads and open files; it counts what the log warns about. After a
warm-up, the goals are: threads and open files flat, memory growth at most
:data:`RSS_GOAL_MIB` per repetition (a least-squares slope), and no warnings.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

#: The goal for memory after warm-up, MiB per repetition.
RSS_GOAL_MIB = 0.2


def resident_mib() -> float:
    """The process's resident memory (Linux /proc)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def open_files() -> int:
    """File descriptors the process holds."""
    return len(os.listdir("/proc/self/fd"))


class WarningCounter(logging.Handler):
    """Counts what the console's log warns about (and keeps the first few)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        self.first: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.note(f"log {record.levelname} {record.name}: {record.getMessage()}")

    def note(self, text: str) -> None:
        """Count one warning from any source."""
        self.count += 1
        if len(self.first) < 5:
            self.first.append(text)


@contextlib.contextmanager
def private_environment() -> Iterator[Path]:
    """Everything the console would keep of its own (settings, packs, journal, records, the
    user's data folder) in a temporary folder."""
    import platformdirs

    with tempfile.TemporaryDirectory(prefix="mc-soak-") as name:
        scratch = Path(name)
        os.environ["MC_CONSOLE_PLUGIN_SETTINGS"] = str(scratch / "plugins.json")
        os.environ["MC_CONSOLE_PACKS_DIR"] = str(scratch / "packs")
        os.environ["MC_CONSOLE_JOURNAL_DIR"] = str(scratch / "journal")
        (scratch / "packs").mkdir()
        (scratch / "journal").mkdir()
        data = scratch / "user-data"
        platformdirs.user_data_dir = lambda *_args, **_kw: str(data)  # type: ignore[assignment]
        yield scratch


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs."""
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    num = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    den = sum((x - mean_x) ** 2 for x in xs)
    return num / den if den else 0.0


@dataclass
class Tally:
    """The figures of one soak: a row after each repetition, printed every ``every``."""

    unit: str  #: what is repeated ("session", "run", "connection")
    warm_up: int
    every: int
    warnings: WarningCounter
    rows: list[tuple[int, float, int, int]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def header(self) -> None:
        """Print the column heads."""
        print(f"{self.unit:>10}  wall s  RSS MiB  threads  open files  warnings", flush=True)

    def after(self, number: int, last: bool = False) -> None:
        """Read the figures after repetition ``number``; print them every ``every`` and last."""
        row = (number, resident_mib(), threading.active_count(), open_files())
        self.rows.append(row)
        if number % self.every == 0 or last:
            _, rss, threads, files = row
            print(
                f"{number:10d}  {time.monotonic() - self.started:6.0f}  {rss:7.1f}  {threads:7d}"
                f"  {files:10d}  {self.warnings.count:8d}",
                flush=True,
            )

    def judge(self, judge_memory: bool = True) -> bool:
        """Print the verdict on the rows after warm-up; True when every goal is met (memory's
        only when ``judge_memory``: some repetitions grow for reasons outside the console)."""
        after = [row for row in self.rows if row[0] > self.warm_up]
        if len(after) < 2:
            raise ValueError(f"need at least 2 {self.unit}s after the warm-up of {self.warm_up}")
        growth = slope([float(row[0]) for row in after], [row[1] for row in after])
        threads = sorted({row[2] for row in after})
        files = sorted({row[3] for row in after})
        print(
            f"after {self.warm_up} warm-up {self.unit}s: RSS {growth:+.3f} MiB/{self.unit} "
            f"({f'goal <= {RSS_GOAL_MIB}' if judge_memory else 'not judged'}), threads {threads[0]}-{threads[-1]}, open files "
            f"{files[0]}-{files[-1]}, warnings {self.warnings.count}"
        )
        for text in self.warnings.first:
            print(f"  first warnings: {text}")
        ok = (
            (growth <= RSS_GOAL_MIB or not judge_memory)
            and len(threads) == 1
            and len(files) == 1
            and self.warnings.count == 0
        )
        print("goals met" if ok else "GOALS MISSED", flush=True)
        return ok
