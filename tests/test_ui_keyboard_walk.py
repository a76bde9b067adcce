"""A whole visit for a new client with the keyboard alone (issue 18: hands busy, gloves on).

The practitioner's hands are the test's: every key goes to whatever has the focus, as on a real
keyboard, and the test only looks at the screen to decide which key to press next (what a
person reads before typing). Tab moves through each form, Space answers and ticks, typing fills
fields, and the window's keys move between stages and start the treatment.
"""

from __future__ import annotations

import pytest
from PySide6 import QtCore, QtWidgets

from console.engine.events import EngineState
from console.ui.screening_form import AnswerButton
from console.workflow import Stage

pytestmark = pytest.mark.timeout(120)

Key = QtCore.Qt.Key
CTRL = QtCore.Qt.KeyboardModifier.ControlModifier
#: More Tab presses than any page has stops: a page the keyboard cannot finish fails the test.
MAX_TABS = 400


@pytest.fixture
def window(stepped_window):
    return stepped_window


def focused(qtbot) -> QtWidgets.QWidget:
    widget = QtWidgets.QApplication.focusWidget()
    assert widget is not None, "nothing has the keyboard focus"
    return widget


def press(qtbot, key: Key, modifier=QtCore.Qt.KeyboardModifier.NoModifier) -> None:
    """One key, to whatever has the focus."""
    qtbot.keyClick(focused(qtbot), key, modifier)


def type_text(qtbot, text: str) -> None:
    qtbot.keyClicks(focused(qtbot), text)


def tab_until(qtbot, wanted, what: str) -> QtWidgets.QWidget:
    """Tab until ``wanted(widget)`` holds for the focused widget."""
    for _ in range(MAX_TABS):
        widget = QtWidgets.QApplication.focusWidget()
        if widget is not None and wanted(widget):
            return widget
        press(qtbot, Key.Key_Tab)
    raise AssertionError(f"Tab never reached {what}")


def test_a_whole_visit_with_the_keyboard_alone(qtbot, window) -> None:
    window.activateWindow()
    window.raise_()
    with qtbot.waitActive(window, timeout=5000):
        pass
    if QtWidgets.QApplication.focusWidget() is None:
        # No widget has asked for the focus yet: Tab into the window, as a person would.
        qtbot.keyClick(window, Key.Key_Tab)
    qtbot.waitUntil(lambda: QtWidgets.QApplication.focusWidget() is not None, timeout=5000)
    visit = window.visit
    page = window.workflow.consultation

    # Consultation: the client's details, typed.
    tab_until(qtbot, lambda w: w is page.name, "the client's name")
    type_text(qtbot, "Kay Board")
    tab_until(qtbot, lambda w: w is page.practitioner, "the practitioner")
    type_text(qtbot, "Pat Tischner")
    tab_until(qtbot, lambda w: w is page.date_of_birth, "the date of birth")
    type_text(qtbot, "1984-03-09")
    tab_until(qtbot, lambda w: w is page.goals, "the goals")
    type_text(qtbot, "Lift the jawline")
    press(qtbot, Key.Key_Tab)  # Tab leaves the goals box instead of typing a tab
    assert page.goals.toPlainText() == "Lift the jawline"

    # Every screening question answered "No": Tab to its answers, Space on "No".
    answered = 0
    for _ in range(MAX_TABS):
        widget = focused(qtbot)
        if widget is page.consent:
            break
        if isinstance(widget, AnswerButton) and not (
            widget.isChecked() or widget.group().checkedButton() is not None
        ):
            if widget.text() == "Yes":
                press(qtbot, Key.Key_Right)  # within the pair, to "No"
            if focused(qtbot).text() == "No":
                press(qtbot, Key.Key_Space)
                answered += 1
        press(qtbot, Key.Key_Tab)
    else:
        raise AssertionError("Tab never reached the consent")
    result = visit.screening_result
    assert not result.unanswered, [c.question for c in result.unanswered]
    assert answered == len(page.rows) if hasattr(page, "rows") else answered > 10
    assert result.age_problem is None and not result.absolute
    press(qtbot, Key.Key_Space)  # consent
    assert page.consent.isChecked()

    # Cleansing: each item ticked with Space.
    press(qtbot, Key.Key_Right, CTRL)
    assert visit.stage is Stage.CLEANSING, window.workflow.blockers.text()
    cleansing = window.workflow.cleansing
    for box in cleansing.boxes.values():
        tab_until(qtbot, lambda w, b=box: w is b, box.text())
        press(qtbot, Key.Key_Space)
    assert all(box.isChecked() for box in cleansing.boxes.values())

    # Application: start with Ctrl+Enter, let the protocol run to its end.
    press(qtbot, Key.Key_Right, CTRL)
    assert visit.stage is Stage.APPLICATION, window.workflow.blockers.text()
    press(qtbot, Key.Key_Return, CTRL)
    engine = window.engine
    assert engine is not None, window.dialogs
    window.clock.release()  # the stepped clock runs free: the protocol plays to its end
    qtbot.waitUntil(lambda: engine.state is EngineState.FINISHED, timeout=30000)
    qtbot.waitUntil(lambda: visit.application is not None, timeout=5000)

    # Moisturization: ticked with Space.
    press(qtbot, Key.Key_Right, CTRL)
    assert visit.stage is Stage.MOISTURIZATION, window.workflow.blockers.text()
    moisturization = window.workflow.moisturization
    for box in moisturization.boxes.values():
        tab_until(qtbot, lambda w, b=box: w is b, box.text())
        press(qtbot, Key.Key_Space)

    # Follow-up: "No reaction seen", a note, saved.
    press(qtbot, Key.Key_Right, CTRL)
    assert visit.stage is Stage.FOLLOW_UP, window.workflow.blockers.text()
    follow_up = window.workflow.follow_up
    tab_until(qtbot, lambda w: w is follow_up.no_reaction, "'No reaction seen'")
    press(qtbot, Key.Key_Space)
    tab_until(qtbot, lambda w: w is follow_up.notes, "the notes")
    type_text(qtbot, "Comfortable throughout.")
    press(qtbot, Key.Key_Tab)
    assert follow_up.notes.toPlainText() == "Comfortable throughout."
    tab_until(qtbot, lambda w: w is follow_up.save_button, "Save follow-up")
    press(qtbot, Key.Key_Space)
    assert visit.follow_up.recorded_at is not None, follow_up.message.text()
    assert visit.follow_up.notes == "Comfortable throughout."
    assert visit.client.goals == "Lift the jawline"
