"""One assembly for every front end: the console connects, chooses the clock, starts the session.

``mc-console run`` goes through :class:`console.session.Console` as the window does, so a
simulated treatment runs on simulated time at every pace and is the same treatment whatever the
computer is doing.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from dataclasses import replace

import pytest

import console.session as session_module
from console.drivers import DriverError
from console.engine.clock import TrainerClock, VirtualClock
from console.engine.events import EngineState
from console.faults import FaultSpec
from console.plugins import PluginHost, load_plugins
from console.records.store import StoreUnavailableError
from console.session import Console, ConsoleError
from support import make_protocol


@pytest.fixture
def console() -> Console:
    made = Console(load_plugins())
    yield made
    made.disconnect()


@pytest.mark.parametrize(
    ("speed", "clock"), [(None, TrainerClock), (60, TrainerClock), (0, VirtualClock)]
)
def test_the_simulator_always_runs_on_simulated_time(console: Console, speed, clock) -> None:
    console.connect("simulator", speed=speed)
    assert type(console.clock) is clock
    assert not console.clock.follows_wall_time


def _host_with(simulator_info, factory) -> PluginHost:  # type: ignore[no-untyped-def]
    host = PluginHost(blocked=())
    info = replace(simulator_info, id="bench", factory=factory)
    host.drivers[info.id] = info
    return host


@pytest.mark.timeout(30)
def test_a_driver_that_hangs_in_open_is_reported_not_waited_for(
    simulator_info, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session_module, "CONNECT_TIMEOUT_S", 0.3)
    released = threading.Event()
    closed: list[bool] = []

    def factory(**options: object) -> object:
        machine = simulator_info.factory(**options)
        machine.open = lambda: released.wait(20)  # a vendor's driver stuck on its port
        original_close = machine.close
        machine.close = lambda: (closed.append(True), original_close())
        return machine

    console = Console(_host_with(simulator_info, factory))
    with pytest.raises(ConsoleError, match=r"did not answer within 0\.3 s"):
        console.connect("bench")
    released.set()
    assert console.connection is None and closed == [True]


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (DriverError("no hello from the machine"), "could not connect to .*no hello"),
        (ZeroDivisionError("vendor bug"), "failed while connecting: ZeroDivisionError"),
    ],
)
def test_a_driver_that_fails_to_identify_is_closed_and_explained(
    simulator_info, error: Exception, message: str
) -> None:
    closed: list[bool] = []

    def factory(**options: object) -> object:
        machine = simulator_info.factory(**options)

        def identify() -> object:
            raise error

        machine.identify = identify
        machine.close = lambda: closed.append(True)
        return machine

    console = Console(_host_with(simulator_info, factory))
    with pytest.raises(ConsoleError, match=message):
        console.connect("bench")
    assert closed == [True] and console.connection is None


class _Recorder:
    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.began: list[float] = []
        self.events: list[object] = []

    def begin(self, session, session_start_s: float) -> None:  # type: ignore[no-untyped-def]
        if self.fail:
            raise StoreUnavailableError("the disk is full")
        self.began.append(session_start_s)

    def __call__(self, event: object) -> None:
        self.events.append(event)


@pytest.mark.timeout(30)
def test_start_session_writes_the_row_first_plans_faults_from_the_start(console: Console) -> None:
    console.connect("simulator", speed=0)
    engine = console.new_session(make_protocol(steps=1, duration_s=10.0), None)
    engine.set_pause_policy(resume_after_s=1.0, max_pause_s=60.0)
    recorder = _Recorder(fail=False)
    start = console.start_session(
        engine, recorder=recorder, faults=[FaultSpec("contact_loss", 4.0, None)]
    )
    assert engine.wait(10)
    assert recorder.began == [start] and recorder.events  # subscribed before the output
    event = engine.safety_events[0]
    assert event.kind.value == "contact_lost"
    assert event.at_s - start == pytest.approx(4.0, abs=0.06)  # one tick


@pytest.mark.timeout(30)
def test_a_session_whose_row_cannot_be_written_never_starts(console: Console) -> None:
    console.connect("simulator", speed=0)
    engine = console.new_session(make_protocol(steps=1, duration_s=10.0), None)
    with pytest.raises(StoreUnavailableError):
        console.start_session(engine, recorder=_Recorder(fail=True))
    assert engine.state is EngineState.READY
    assert console.driver.output_on is False


def _total_charge(output: str) -> float:
    match = re.search(r"^TOTAL\s+\S+\s+\S+\s+([\d,.]+)", output, re.MULTILINE)
    assert match, output
    return float(match.group(1).replace(",", ""))


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_command_line_gives_the_same_treatment_at_every_speed() -> None:
    """×1000 raised a false over-current trip at a step change in 5 of 5 runs (wall-time clock);
    on simulated time it is the same treatment as ×60 and as fast as possible."""
    charges = {}
    for speed in ("max", "1000", "300"):
        done = subprocess.run(
            [sys.executable, "-m", "console.cli", "run", "--protocol", "toning", "--speed", speed],
            capture_output=True,
            text=True,
            timeout=100,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Safety events: none" in done.stdout
        charges[speed] = _total_charge(done.stdout)
    assert charges["1000"] == pytest.approx(charges["max"], rel=1e-3)
    assert charges["300"] == pytest.approx(charges["max"], rel=1e-3)
