"""The console's boxes (``console.ui.dialogs``): never modal to the main window, answers by callback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6 import QtCore, QtWidgets

from console.ui import dialogs
from console.ui.app import make_application


@pytest.fixture
def parent(qtbot: Any) -> QtWidgets.QWidget:
    make_application()
    widget = QtWidgets.QWidget()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def _button(box: QtWidgets.QDialog, which: QtWidgets.QDialogButtonBox.StandardButton):
    buttons = box.findChild(QtWidgets.QDialogButtonBox)
    assert buttons is not None
    return buttons.button(which)


@pytest.mark.timeout(30)
def test_inform_shows_a_box_that_blocks_nothing(parent: QtWidgets.QWidget) -> None:
    box = dialogs.inform(parent, "Zone", "<b>Cheek</b>")
    assert box.isVisible()
    assert box.windowModality() is QtCore.Qt.WindowModality.NonModal
    assert box.text() == "<b>Cheek</b>" and box.windowTitle() == "Zone"
    assert QtWidgets.QApplication.activeModalWidget() is None


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("answer", "expected"), [("yes", ["yes"]), ("no", ["no"])])
def test_ask_calls_back_with_the_answer_and_no_is_the_default(
    qtbot: Any, parent: QtWidgets.QWidget, answer: str, expected: list[str]
) -> None:
    said: list[str] = []
    box = dialogs.ask(
        parent, "Quit?", "Stop and quit?", lambda: said.append("yes"), lambda: said.append("no")
    )
    assert box.windowModality() is QtCore.Qt.WindowModality.NonModal
    assert box.defaultButton() is box.button(QtWidgets.QMessageBox.StandardButton.No)
    assert said == []  # nothing before the answer
    which = (
        QtWidgets.QMessageBox.StandardButton.Yes
        if answer == "yes"
        else QtWidgets.QMessageBox.StandardButton.No
    )
    qtbot.mouseClick(box.button(which), QtCore.Qt.MouseButton.LeftButton)
    assert said == expected


@pytest.mark.timeout(30)
def test_ask_text_keeps_ok_off_until_the_minimum_is_typed(
    qtbot: Any, parent: QtWidgets.QWidget
) -> None:
    got: list[str] = []
    dialog = dialogs.ask_text(
        parent,
        "Override",
        "Why? (at least 10 characters)",
        got.append,
        multiline=True,
        minimum_length=10,
    )
    qtbot.waitUntil(
        lambda: not _button(dialog, QtWidgets.QDialogButtonBox.StandardButton.Ok).isEnabled(),
        timeout=2000,
    )
    dialog.setTextValue("   short   ")
    assert not _button(dialog, QtWidgets.QDialogButtonBox.StandardButton.Ok).isEnabled()
    dialog.setTextValue("Cleared by her cardiologist in writing")
    ok = _button(dialog, QtWidgets.QDialogButtonBox.StandardButton.Ok)
    assert ok.isEnabled()
    qtbot.mouseClick(ok, QtCore.Qt.MouseButton.LeftButton)
    assert got == ["Cleared by her cardiologist in writing"]


@pytest.mark.timeout(30)
def test_choose_save_file_is_qts_own_dialog_and_calls_back_with_the_path(
    parent: QtWidgets.QWidget, tmp_path: Path
) -> None:
    chosen: list[Path] = []
    dialog = dialogs.choose_save_file(
        parent, "Save", str(tmp_path / "a.pdf"), "PDF (*.pdf)", chosen.append
    )
    assert dialog.testOption(QtWidgets.QFileDialog.Option.DontUseNativeDialog)
    assert dialog.windowModality() is QtCore.Qt.WindowModality.NonModal
    dialog.selectFile(str(tmp_path / "report.pdf"))
    dialog.accept()
    assert chosen == [tmp_path / "report.pdf"]


@pytest.mark.timeout(30)
def test_a_box_modal_to_a_tool_window_with_a_parent_is_refused(parent: QtWidgets.QWidget) -> None:
    tool = QtWidgets.QDialog(parent)  # its window modality would block ``parent`` too
    with pytest.raises(ValueError, match="has a parent window"):
        dialogs.confirm_in(tool, "Replace?", "Replace the file?")
