"""Run a command while other processes keep every CPU busy: a slow computer must never be a
reason for a safety event or a failed test.

    python tools/under_load.py [--busy N] -- COMMAND [ARGS...]

Starts ``N`` busy processes (default: one per CPU) at normal priority, runs ``COMMAND``, stops
them, and exits with the command's status. For example, the timing-sensitive tests::

    python tools/under_load.py -- .venv/bin/python -m pytest tests/test_serial_machines.py \\
        tests/test_conformance_kit.py tests/test_session_assembly.py tests/test_time_control.py
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time


def _spin() -> None:
    """Burn one CPU until terminated."""
    value = 0
    while True:
        value = (value * 1_103_515_245 + 12_345) % 2**31


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--busy", type=int, default=os.cpu_count() or 2, help="busy processes (default: CPUs)"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    if args.busy < 0:
        parser.error("--busy must be zero or more")
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.busy)]
    for spinner in spinners:
        spinner.start()
    started = time.monotonic()
    try:
        print(f"under_load: {args.busy} busy processes beside: {' '.join(command)}", flush=True)
        status = subprocess.call(command)
    finally:
        for spinner in spinners:
            spinner.terminate()
        for spinner in spinners:
            spinner.join(5)
    load = os.getloadavg()[0]
    print(f"under_load: exit {status} after {time.monotonic() - started:.0f} s; load {load:.1f}")
    return status


if __name__ == "__main__":
    sys.exit(main())
