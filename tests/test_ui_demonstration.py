"""The demonstration view and the protocol comparison, opened from the main window."""

from __future__ import annotations

import pytest

from console.ui.app import prepare_demo_visit

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def window(stepped_window):
    return stepped_window


def test_the_demonstration_follows_the_chosen_protocol_and_the_session(qtbot, window) -> None:
    prepare_demo_visit(window, "toning")
    window.show_demonstration()
    view = window.demo_view
    assert view is not None and view.isVisible() and view.isWindow()
    assert view.demo.protocol.id == "toning"
    assert view.demo.waiting
    assert "SIMULATION" in view.banner.text()
    window.start_session()
    toning = window.session_protocol
    second = toning.steps[0].duration_s + 5.0
    window.clock.run_until(second)
    qtbot.waitUntil(lambda: view.demo.step_index == 1, timeout=5000)
    assert view.demo.running
    assert view.now() == window.console.clock.now()  # it reads the session's own clock
    window.scope.set_window(2)  # the banner is updated, the session shown is not forgotten
    window._update_banner(window.console.connection)
    assert view.demo.step_index == 1 and view.demo.running


def test_choosing_another_protocol_shows_it_while_no_session_runs(window) -> None:
    window.show_demonstration()
    window.workflow.application.select("circulation")
    assert window.demo_view.demo.protocol.id == "circulation"


def test_the_comparison_opens_as_its_own_window_with_the_three_protocols(window) -> None:
    window.show_comparison()
    comparison = window._comparison
    assert comparison is not None and comparison.isWindow() and comparison.isVisible()
    assert [p.id for p in comparison.shown()] == ["lifting", "toning", "circulation"]
