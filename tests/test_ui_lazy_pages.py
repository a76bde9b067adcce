"""Pages nobody sees on the first screen (the chair view, the follow-up form) are built when first
shown, so the window comes up sooner: built late, they show what they would have shown had they
been built with the window, and the emergency stop never depends on them (pytest-qt, offscreen,
stepped clock)."""

from __future__ import annotations

import pytest
from PySide6 import QtCore

from console.engine.events import EngineState
from console.ui.app import prepare_demo_visit
from console.ui.workflow_panel import WorkflowPanel
from console.workflow import Stage

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def window(stepped_window):  # type: ignore[no-untyped-def]
    return stepped_window


def _run_to(qtbot, window, t: float) -> None:  # type: ignore[no-untyped-def]
    """Let the treatment run to clock time ``t`` and the window take its events."""
    window.clock.run_until(t)
    qtbot.wait(120)


def test_a_new_window_has_not_built_its_hidden_pages(window) -> None:  # type: ignore[no-untyped-def]
    assert window._chair_view is None
    assert window.workflow._follow_up is None
    assert window.treatment_view.count() == 2  # the chair view's place is kept
    assert window.workflow.pages.count() == len(Stage)


def test_esc_stops_the_output_before_any_hidden_page_was_built(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    assert prepare_demo_visit(window, "toning")
    window.start_session()
    _run_to(qtbot, window, 6.0)
    assert window.console.driver.output_on
    assert window._chair_view is None and window.workflow._follow_up is None
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Escape)
    assert window.console.driver.output_on is False  # at once, in the key's handler
    assert window._chair_view is None
    qtbot.waitUntil(lambda: window.engine.state is EngineState.ABORTED, timeout=5000)


def test_a_chair_view_opened_mid_session_shows_the_session_so_far(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    window.set_engineering_figures(True)
    assert prepare_demo_visit(window, "lifting")
    window.start_session()
    _run_to(qtbot, window, 130.0)  # the first zone done, the second begun
    assert window._chair_view is None
    qtbot.keyClick(window, QtCore.Qt.Key.Key_F10)
    view = window.chair_view
    assert window.chair_view_shown and view.isVisible() and not window.scope.isVisible()
    assert view.demo is window._chair_demo  # the model that followed every event
    view.tick()
    protocol = window.session_protocol
    assert view.header.text() == f"{protocol.name} · step 2 of {len(protocol.steps)}"
    assert view.zone_label.text() == window.face_map.catalog[protocol.steps[1].zone].name
    assert view.current_tile.value.text() == "200 µA"
    assert view.show_figures  # the window's View ▸ Engineering figures, taken when built
    assert view.minimumSize() == QtCore.QSize(360, 300)
    window.set_chair_view(False)
    assert window.scope.isVisible() and not view.isVisible()
    window.set_chair_view(True)
    assert window.chair_view is view  # built once


def test_the_follow_up_page_built_late_takes_the_visit_and_course(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    panel: WorkflowPanel = window.workflow
    assert panel.course_provider is not None  # set by the window, kept for the page
    page = panel.follow_up
    assert panel.pages.widget(int(Stage.FOLLOW_UP)) is page
    assert page.visit is window.visit
    assert page.course_provider is panel.course_provider
    assert panel.pages.currentIndex() == int(Stage.CONSULTATION)  # building shows nothing
    assert panel.follow_up is page  # built once
