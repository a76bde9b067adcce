"""The fastest pace the command line accepts plays the whole protocol with flat memory (issue 15:
``--speed 10000`` once grew to 24 GB, hung, or ended at clock 4:08:12 on a 17:40 protocol)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import pytest

from console.engine.clock import MAX_SPEED

pytestmark = pytest.mark.timeout(180)

#: Far above what a run needs (about 70 MiB resident) and far below what the runaway took.
ADDRESS_SPACE_LIMIT = 3 * 1024**3


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))


def test_the_highest_accepted_speed_plays_the_whole_protocol() -> None:
    speed = f"{MAX_SPEED:g}"
    done = subprocess.run(
        [sys.executable, "-m", "console.cli", "run", "--protocol", "toning", "--speed", speed],
        capture_output=True,
        text=True,
        timeout=150,
        preexec_fn=_limited,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert "Session finished: every step delivered" in done.stdout
    total = next(line for line in done.stdout.splitlines() if line.startswith("TOTAL"))
    assert total.split()[1] == "17:40"  # the protocol's own length, not a runaway clock
