"""The engine-to-GUI bridge: every event in order, stale progress reports dropped."""

from __future__ import annotations

import threading

from console.engine.events import EngineState, Progress, StateChanged
from console.ui.app import make_application
from console.ui.bridge import EngineBridge


def progress(at_s: float) -> Progress:
    return Progress(at_s, 0, at_s, 10.0, 10.0, 100.0, 100.0, 5.0)


def state(at_s: float) -> StateChanged:
    return StateChanged(EngineState.RUNNING, EngineState.RAMPING, at_s, "test")


def test_a_backlog_of_progress_collapses_and_the_order_is_kept(qtbot) -> None:
    make_application()
    bridge = EngineBridge()
    seen: list[object] = []
    bridge.event.connect(seen.append)
    posted: list[object] = []

    def engine_thread() -> None:  # the GUI takes nothing while this runs
        for i in range(1000):
            event = state(i / 4) if i % 100 == 99 else progress(i / 4)
            posted.append(event)
            bridge.post(event)

    worker = threading.Thread(target=engine_thread)
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: bool(seen) and seen[-1] is posted[-1], timeout=2000)
    qtbot.wait(50)  # nothing stale arrives after the newest
    assert seen[-1] is posted[-1]
    # Every state change arrives, in order; progress arrives only newer than what came before.
    assert [e for e in seen if isinstance(e, StateChanged)] == [
        e for e in posted if isinstance(e, StateChanged)
    ]
    times = [e.at_s for e in seen]
    assert times == sorted(times)
    assert len(seen) < 100
    assert bridge.progress_coalesced > 800
    # The report just before each state change still reaches the GUI before that change.
    for index, event in enumerate(posted):
        if isinstance(event, StateChanged):
            assert seen[seen.index(event) - 1] is posted[index - 1]


def test_a_gui_that_keeps_up_gets_every_report(qtbot) -> None:
    make_application()
    bridge = EngineBridge()
    seen: list[object] = []
    bridge.event.connect(seen.append)
    for i in range(20):
        bridge.post(progress(float(i)))
        qtbot.waitUntil(lambda i=i: len(seen) == i + 1, timeout=1000)
    assert [e.at_s for e in seen] == [float(i) for i in range(20)]
    assert bridge.progress_coalesced == 0
