"""Sizes for gloved hands and a practitioner ~60 cm from the screen, measured on the real window.

The main window (offscreen, the clinic style sheet) at 1440 × 900 and 1280 × 800: every control a
hand presses is at least 34 px tall (≈ 9 mm at 96 dpi), tick and choice indicators at least 20 px,
body text 12 pt, and the running step is the one marked row of the application stage's steps.
"""

from __future__ import annotations

import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from console.ui.app import prepare_demo_visit
from console.ui.application_page import NOW_MARK, ApplicationPage
from console.ui.main_window import MainWindow
from console.workflow import CLEANSING_CHECKLIST, MOISTURIZATION_CHECKLIST, Stage

TARGET_PX = 34  # ≈ 9 mm at 96 dpi: a gloved fingertip
INDICATOR_PX = 20

#: The kinds of control a practitioner presses or types in.
PRESSED = (
    QtWidgets.QAbstractButton,
    QtWidgets.QComboBox,
    QtWidgets.QLineEdit,
    QtWidgets.QAbstractSpinBox,
)


def _settle(qtbot, window: MainWindow) -> None:
    """Let the layouts and the style sheet's polish reach every widget."""
    QtWidgets.QApplication.processEvents()
    qtbot.wait(50)


def _targets(window: MainWindow) -> list[QtWidgets.QWidget]:
    """The enabled controls the practitioner can see now (not a combo or spin box's own line
    edit, which is part of its control and measured with it)."""
    found: list[QtWidgets.QWidget] = []
    for kind in PRESSED:
        for widget in window.findChildren(kind):
            if not (widget.isVisible() and widget.isEnabled()):
                continue
            if isinstance(widget, QtWidgets.QLineEdit) and isinstance(
                widget.parent(), QtWidgets.QComboBox | QtWidgets.QAbstractSpinBox
            ):
                continue
            found.append(widget)
    return found


def _too_small(window: MainWindow) -> list[str]:
    return [
        f"{type(w).__name__} {w.objectName() or getattr(w, 'text', lambda: '')()!r}: {w.height()} px"
        for w in _targets(window)
        if w.height() < TARGET_PX
    ]


def _indicator(button: QtWidgets.QAbstractButton) -> QtCore.QRect:
    """The drawn indicator of a check box or radio button, as the style lays it out."""
    option = QtWidgets.QStyleOptionButton()
    button.initStyleOption(option)  # type: ignore[attr-defined]
    element = (
        QtWidgets.QStyle.SubElement.SE_CheckBoxIndicator
        if isinstance(button, QtWidgets.QCheckBox)
        else QtWidgets.QStyle.SubElement.SE_RadioButtonIndicator
    )
    return button.style().subElementRect(element, option, button)


def _visit_every_stage(qtbot, window: MainWindow) -> list[tuple[str, list[str]]]:
    """Each stage page in turn (a ready visit, a short run, then its end): what is too small."""
    seen: list[tuple[str, list[str]]] = []
    _settle(qtbot, window)
    seen.append(("consultation, empty", _too_small(window)))
    assert prepare_demo_visit(window, "lifting")
    for stage in (Stage.CONSULTATION, Stage.CLEANSING, Stage.APPLICATION):
        window.workflow.go_to(stage)
        _settle(qtbot, window)
        seen.append((stage.title, _too_small(window)))
    window.start_session()
    window.clock.run_until(5.0)
    qtbot.waitUntil(lambda: window.engine.step_index >= 0, timeout=5000)
    _settle(qtbot, window)
    seen.append(("application, running", _too_small(window)))
    window.engine.emergency_stop()
    window.clock.release()
    window.engine.wait(5)
    _settle(qtbot, window)
    for stage in (Stage.MOISTURIZATION, Stage.FOLLOW_UP):
        if stage is Stage.FOLLOW_UP:
            for box in window.workflow.moisturization.boxes.values():
                box.setChecked(True)
        window.workflow.go_to(stage)
        _settle(qtbot, window)
        seen.append((stage.title, _too_small(window)))
    return seen


@pytest.mark.timeout(60)
@pytest.mark.parametrize("size", [(1440, 900), (1280, 800)])
def test_every_control_on_every_stage_is_a_gloved_target(qtbot, open_window, size) -> None:
    from console.engine.clock import SteppedClock
    from console.plugins import load_plugins
    from console.session import Console

    console = Console(load_plugins())
    clock = SteppedClock()
    console.connect("simulator", clock=clock)
    window = open_window(console, size=size)
    window.clock = clock
    problems = [(stage, small) for stage, small in _visit_every_stage(qtbot, window) if small]
    assert problems == []


@pytest.mark.timeout(60)
def test_the_treatment_controls_are_34_px_tall(qtbot, stepped_window) -> None:
    window = stepped_window
    prepare_demo_visit(window, "lifting")
    window.start_session()
    window.clock.run_until(3.0)
    qtbot.waitUntil(lambda: window.controls.up_button.isEnabled(), timeout=5000)
    _settle(qtbot, window)
    controls = window.controls
    for button in (controls.down_button, controls.up_button, controls.gel_button):
        assert button.height() >= TARGET_PX, button.text()  # "± 10 µA" was 29 px
    for button in window.workflow.stage_buttons:
        assert button.height() >= TARGET_PX, button.text()  # the stage stepper was 32 px
    assert window.workflow.application.choice.height() >= TARGET_PX  # 27 px before


@pytest.mark.timeout(60)
def test_tick_boxes_and_choices_have_large_indicators_and_rows(qtbot, stepped_window) -> None:
    window = stepped_window
    _settle(qtbot, window)
    consultation = window.workflow.consultation
    yes, no = next(iter(consultation.answers.values()))
    buttons: list[QtWidgets.QAbstractButton] = [yes, no, consultation.consent]
    buttons += [window.workflow.cleansing.boxes[item] for item in CLEANSING_CHECKLIST]
    buttons += [window.workflow.moisturization.boxes[item] for item in MOISTURIZATION_CHECKLIST]
    for button in buttons:
        button.ensurePolished()
        indicator = _indicator(button)
        assert min(indicator.width(), indicator.height()) >= INDICATOR_PX, button.text()  # was 14
        assert button.sizeHint().height() >= TARGET_PX, button.text()


@pytest.mark.timeout(60)
def test_a_checked_box_looks_unlike_an_unchecked_one(qtbot) -> None:
    """The checked state is a filled accent box, not a thin tick on white: its indicator's
    centre is the accent colour, an unchecked one's is white."""
    from console.ui.app import make_application

    make_application()
    colours = []
    for checked in (False, True):
        box = QtWidgets.QCheckBox("Serum applied")
        qtbot.addWidget(box)
        box.setChecked(checked)
        box.show()
        QtWidgets.QApplication.processEvents()
        image = box.grab().toImage()
        rect = _indicator(box)
        # a point inside the box, clear of the tick's strokes
        colours.append(QtGui.QColor(image.pixel(rect.left() + 5, rect.top() + 5)))
    unchecked, checked_colour = colours
    assert unchecked.lightness() > 240
    assert checked_colour.blue() > 150 and checked_colour.red() < 80  # the accent, #1f6fb2


@pytest.mark.timeout(60)
def test_body_text_is_12_pt_and_the_readouts_larger(qtbot, stepped_window) -> None:
    window = stepped_window
    _settle(qtbot, window)
    name = window.workflow.consultation.name
    assert name.font().pointSizeF() == pytest.approx(12.0)  # was 10.5
    assert window.controls.step_label.font().pointSizeF() > 12.0  # step time left
    assert window.controls.session_label.font().pointSizeF() > 12.0
    window.cue.ensurePolished()
    assert window.cue.font().pointSizeF() > 12.0


@pytest.mark.timeout(60)
def test_the_window_fits_1440_by_900_at_12_pt(qtbot, stepped_window) -> None:
    window = stepped_window
    _settle(qtbot, window)
    hint = window.minimumSizeHint()
    assert hint.width() <= 1440 and hint.height() <= 900


@pytest.mark.timeout(60)
def test_the_window_fits_1280_by_800_at_12_pt(qtbot, stepped_window) -> None:
    window = stepped_window
    _settle(qtbot, window)
    hint = window.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 800
    window.set_chair_view(True)  # the chair view's large type scales: it never widens it
    _settle(qtbot, window)
    hint = window.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 800


@pytest.mark.timeout(60)
@pytest.mark.parametrize("size", [(1440, 900), (1280, 800)])
def test_the_steps_table_shows_its_columns_and_several_rows(qtbot, stepped_window, size) -> None:
    window = stepped_window
    window.resize(*size)
    prepare_demo_visit(window, "lifting")
    _settle(qtbot, window)
    table = window.workflow.application.table
    header = table.horizontalHeader()
    for column in range(5):  # zone, waveform, µA, time, technique
        assert not table.isColumnHidden(column)
        left = header.sectionViewportPosition(column)
        assert 0 <= left < table.viewport().width(), header.model().headerData(
            column, QtCore.Qt.Orientation.Horizontal
        )
    for column in range(4):  # the short columns are not cut (the technique may be elided)
        assert header.sectionSize(column) >= table.sizeHintForColumn(column)
    rows_shown = table.viewport().height() // table.rowHeight(0)
    assert rows_shown >= 4


def _marked_rows(table: QtWidgets.QTableWidget) -> list[int]:
    return [
        row
        for row in range(table.rowCount())
        if table.verticalHeaderItem(row).text().startswith(NOW_MARK)
    ]


@pytest.mark.timeout(60)
def test_one_running_row_after_several_steps_apart_from_the_selection(
    qtbot, stepped_window
) -> None:
    window = stepped_window
    window.resize(1280, 800)
    prepare_demo_visit(window, "lifting")
    page: ApplicationPage = window.workflow.application
    table = page.table
    protocol = page.protocol
    window.start_session()
    elapsed = 0.0
    for step in range(5):
        window.clock.run_until(elapsed + 2.0)
        qtbot.waitUntil(lambda s=step: table.now_row == s, timeout=5000)
        _settle(qtbot, window)
        assert _marked_rows(table) == [step]
        assert table.selectionModel().selectedRows() == []  # no pile of highlighted rows
        # The running row is in view.
        rect = table.visualRect(table.model().index(step, 0))
        assert table.viewport().rect().contains(rect), step
        elapsed += protocol.steps[step].duration_s
    # The practitioner clicks another row: it is selected, the marker stays on the running step.
    qtbot.mouseClick(
        table.viewport(),
        QtCore.Qt.MouseButton.LeftButton,
        pos=table.visualRect(table.model().index(3, 1)).center(),
    )
    assert [index.row() for index in table.selectionModel().selectedRows()] == [3]
    assert table.now_row == 4 and _marked_rows(table) == [4]
    # The running row is drawn in the "now" colours, the clicked one in the selection's.
    _settle(qtbot, window)
    image = table.viewport().grab().toImage()
    now_centre = table.visualRect(table.model().index(4, 3)).topLeft() + QtCore.QPoint(3, 3)
    clicked_centre = table.visualRect(table.model().index(3, 3)).topLeft() + QtCore.QPoint(3, 3)
    now_colour = QtGui.QColor(image.pixel(now_centre))
    clicked_colour = QtGui.QColor(image.pixel(clicked_centre))
    assert now_colour == table.nowBackground
    assert clicked_colour != now_colour
    assert clicked_colour.lightness() > now_colour.lightness() + 60  # pale selection, dark "now"
    # The next step moves the marker, and only the marker.
    window.clock.run_until(elapsed + 2.0)
    qtbot.waitUntil(lambda: table.now_row == 5, timeout=5000)
    assert _marked_rows(table) == [5]
    assert [index.row() for index in table.selectionModel().selectedRows()] == [3]


@pytest.mark.timeout(60)
def test_no_step_marked_before_a_treatment_and_after_clearing(qtbot, stepped_window) -> None:
    window = stepped_window
    page: ApplicationPage = window.workflow.application
    assert page.table.now_row is None and _marked_rows(page.table) == []
    page.highlight_step(2)
    assert _marked_rows(page.table) == [2]
    page.reload()  # the same protocol listed again (a pack was saved): the marker stays
    assert _marked_rows(page.table) == [2]
    page.highlight_step(None)
    assert page.table.now_row is None and _marked_rows(page.table) == []
    page.highlight_step(2)
    page.select("toning")  # another protocol's steps: nothing of it is running
    assert page.table.now_row is None and _marked_rows(page.table) == []
