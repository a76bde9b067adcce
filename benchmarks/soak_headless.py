"""The headless clinic week (issue 19): many runs, connections and conformance-kit runs in one
process, with the figures every few and a verdict at the end of each part.

    .venv/bin/python benchmarks/soak_headless.py [--runs 120] [--connections 60] [--kit-rounds 2]
    python tools/under_load.py --busy 2 -- .venv/bin/python benchmarks/soak_headless.py

1. **Runs.** ``mc-console run`` through its entry function (``console.cli.main``), 120 one
   after another: a new client's toning protocol on the simulated machine at ``--speed max``,
   recorded in one SQLite records database. Every 7th loses contact for 5 s (resumed 10 s later), every
   11th loses its machine (the run ends interrupted, exit status 1).
2. **Connections.** The conformance kit's own open/close (its ``Bench``), in turn for the
   simulated machine, the framed and SCPI emulators on a new pty each (in this process, as the
   kit runs them), and the framed and SCPI emulators over TCP (one emulator process each,
   consoles coming and going): open, identify, read, close, open a fresh driver, close.
3. **Kit runs.** The whole conformance kit, in process, for the simulator and both emulators.
   pytest itself keeps something of every in-process run (its plugins, collected modules), so
   here only threads and open files are judged; memory is printed.

Goals for 1 and 2 after a warm-up: threads and open files flat, memory growth at most 0.2 MiB a
repetition, no warnings in the log. Exit status 1 if one is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from soak_figures import Tally, WarningCounter, private_environment

#: The drivers each connection cycles through: (driver id, port or "tcp" for the TCP emulator).
CONNECTION_TARGETS = (
    ("simulator", None),
    ("framed", "emulator"),
    ("scpi", "emulator"),
    ("framed", "tcp"),
    ("scpi", "tcp"),
)
ROOT = Path(__file__).resolve().parent.parent
KIT_TARGETS = (("simulator", None), ("framed", "emulator"), ("scpi", "emulator"))
#: Repetitions before judging, per part.
RUN_WARM_UP = 10
CONNECTION_WARM_UP = 10


def one_run(number: int, records_url: str) -> None:
    """One headless run; raises RuntimeError (with its output) when it ends unexpectedly."""
    from console import cli

    args = ["run", "--protocol", "toning", "--speed", "max", "--seed", str(number)]
    args += ["--db", records_url, "--client", f"Soak client {number:03d}"]
    args += ["--practitioner", "Soak bench"]
    expected = cli.EXIT_FINISHED
    if number % 7 == 0:
        args += ["--inject", "contact_loss@2:00+5", "--resume-after", "10"]
    if number % 11 == 0:
        args += ["--inject", "disconnect@5:00"]
        expected = cli.EXIT_NOT_FINISHED
    said = io.StringIO()
    with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
        code = cli.main(args)
    if code != expected:
        raise RuntimeError(
            f"run {number} ended with status {code}, expected {expected}:\n"
            + "\n".join(said.getvalue().splitlines()[-15:])
        )


@contextlib.contextmanager
def tcp_emulators() -> Iterator[dict[str, str]]:
    """One framed and one SCPI emulator on TCP for the whole part, each in its own process as
    a machine on the network is: their socket URLs."""
    processes = {
        protocol: subprocess.Popen(
            [sys.executable, "-m", "device_drivers.emulator", "--protocol", protocol, "--tcp", "0"],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for protocol in ("framed", "scpi")
    }
    try:
        urls = {}
        for protocol, process in processes.items():
            assert process.stdout is not None
            urls[protocol] = process.stdout.readline().strip()  # its first line is its URL
        yield urls
    finally:
        for process in processes.values():
            process.terminate()
            process.wait(10)


def one_connection(driver_id: str, port: str | None) -> None:
    """Open, use and close a machine twice through the kit's bench, as its checks do."""
    import pytest

    from console.testing.conformance.kit import Bench, resolve_driver

    bench = Bench(resolve_driver(driver_id, port, None))
    try:
        machine = bench.shared()
        machine.identify()
        bench.wait(0.05)
        machine.read_samples()
        second = bench.fresh()
        bench.open(second)
        second.identify()
    except pytest.fail.Exception as failure:  # the kit's way of saying what went wrong
        raise RuntimeError(f"{driver_id} on {port}: {failure.msg}") from None
    finally:
        bench.close()


def one_kit_run(driver_id: str, port: str | None) -> None:
    """The whole conformance kit for one driver, in this process."""
    from console.testing.conformance.__main__ import main as kit

    args = ["-q", "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    args += ["--driver", driver_id] + (["--port", port] if port else [])
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        code = kit(args)
    if code != 0:
        raise RuntimeError(
            f"the kit on {driver_id} exited {code}:\n"
            + "\n".join(said.getvalue().splitlines()[-15:])
        )


def soak(
    title: str, tally: Tally, count: int, step: Callable[[int], None], judge_memory: bool = True
) -> bool:
    """Repeat ``step`` ``count`` times with figures; returns whether the goals were met."""
    print(f"\n{title}", flush=True)
    tally.header()
    for number in range(1, count + 1):
        step(number)
        tally.after(number, last=number == count)
    return tally.judge(judge_memory=judge_memory)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=120)
    parser.add_argument("--connections", type=int, default=60)
    parser.add_argument("--kit-rounds", type=int, default=2, help="whole kit runs per driver")
    parser.add_argument("--every", type=int, default=10, help="print figures every N")
    args = parser.parse_args(argv)
    at_least_for = {
        "runs": RUN_WARM_UP + 2,
        "connections": CONNECTION_WARM_UP + 2,
        "kit_rounds": 2,
    }
    for name, at_least in at_least_for.items():
        if getattr(args, name) < at_least:
            parser.error(f"--{name.replace('_', '-')} must be at least {at_least}")
    counter = WarningCounter()
    logging.getLogger().addHandler(counter)
    results = []
    with private_environment() as scratch:
        records = f"sqlite:///{Path(scratch) / 'records.sqlite3'}"
        results.append(
            soak(
                "1. mc-console run, one after another",
                Tally("run", RUN_WARM_UP, args.every, counter),
                args.runs,
                lambda number: one_run(number, records),
            )
        )
        with tcp_emulators() as urls:

            def connection(number: int) -> None:
                driver_id, port = CONNECTION_TARGETS[(number - 1) % len(CONNECTION_TARGETS)]
                one_connection(driver_id, urls[driver_id] if port == "tcp" else port)

            results.append(
                soak(
                    "2. the kit's open and close, machine after machine",
                    Tally("connection", CONNECTION_WARM_UP, args.every, counter),
                    args.connections,
                    connection,
                )
            )

        def kit_run(number: int) -> None:
            one_kit_run(*KIT_TARGETS[(number - 1) % len(KIT_TARGETS)])

        results.append(
            soak(
                "3. the whole conformance kit, in process",
                Tally("kit run", len(KIT_TARGETS), len(KIT_TARGETS), counter),
                args.kit_rounds * len(KIT_TARGETS),
                kit_run,
                judge_memory=False,
            )
        )
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
