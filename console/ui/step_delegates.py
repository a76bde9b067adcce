"""The editors of the steps table's cells: a combo box for a choice, a number box with its unit,
a line for a duration or a technique. Every change is committed as it is typed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from console.placement import CELL_FORMAT
from console.protocol_draft import (
    CLINICAL_FREQUENCIES_HZ,
    Column,
    format_step_duration,
    parse_duration,
)
from console.ui.step_table import CELL_ROLE, PROBLEM_FRAME, PROBLEM_ROLE
from console.waveforms import CURRENT_STEP_UA, Polarity, WaveShape
from console.zones import ZoneCatalog


class NumberSpin(QtWidgets.QDoubleSpinBox):
    """A spin box that writes 0.5 and 1200 rather than 0.50 and 1200.00."""

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt names it
        text = super().textFromValue(value)
        point = self.locale().decimalPoint()
        return text.rstrip("0").rstrip(point) if point in text else text


class FrequencySpin(NumberSpin):
    """Up/down step through fixed frequencies (a clinical unit's, or the machine's own)."""

    def __init__(self, choices: Iterable[float], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.choices = tuple(sorted(choices))

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt names it
        value = self.value()
        higher = [f for f in self.choices if f > value + 1e-9]
        lower = [f for f in self.choices if f < value - 1e-9]
        if steps > 0 and higher:
            self.setValue(higher[min(steps, len(higher)) - 1])
        elif steps < 0 and lower:
            self.setValue(lower[max(steps, -len(lower))])

    def stepEnabled(self) -> QtWidgets.QAbstractSpinBox.StepEnabledFlag:  # noqa: N802
        flag = QtWidgets.QAbstractSpinBox.StepEnabledFlag
        value = self.value()
        enabled = flag.StepNone
        if any(f > value + 1e-9 for f in self.choices):
            enabled |= flag.StepUpEnabled
        if any(f < value - 1e-9 for f in self.choices):
            enabled |= flag.StepDownEnabled
        return enabled


class StepDelegate(QtWidgets.QStyledItemDelegate):
    """The editor of each step cell. Every change is committed at once, so the table, the
    problems and the preview follow the trainer's typing, not only the end of an edit."""

    def __init__(self, catalog: ZoneCatalog, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.frequency_choices: tuple[float, ...] = CLINICAL_FREQUENCIES_HZ
        #: What each open editor's cell held when it opened: Esc puts it back, since every
        #: keystroke was already committed.
        self._originals: dict[QtWidgets.QWidget, tuple[QtCore.QPersistentModelIndex, Any]] = {}

    def createEditor(  # noqa: N802 - Qt names it
        self,
        parent: QtWidgets.QWidget,
        option: QtWidgets.QStyleOptionViewItem,
        index: QtCore.QModelIndex,
    ) -> QtWidgets.QWidget:
        editor = self._make_editor(parent, index)
        original = index.data(CELL_ROLE)  # an unset cell too, which EditRole cannot say
        self._originals[editor] = (QtCore.QPersistentModelIndex(index), original)
        return editor

    def destroyEditor(  # noqa: N802 - Qt names it
        self, editor: QtWidgets.QWidget, index: QtCore.QModelIndex
    ) -> None:
        self._originals.pop(editor, None)
        super().destroyEditor(editor, index)

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802
        if (
            event.type() == QtCore.QEvent.Type.ShortcutOverride
            and event.key() == QtCore.Qt.Key.Key_Escape
            and watched in self._originals
        ):
            # Esc is the application's emergency stop, from any focus. Qt's item editors claim
            # it to cancel the edit, which would swallow the stop: put the cell back and close
            # the editor here, and leave the key to the shortcut.
            cell, original = self._originals[watched]
            if cell.isValid():
                cell.model().setData(cell.model().index(cell.row(), cell.column()), original)
            assert isinstance(watched, QtWidgets.QWidget)
            self.closeEditor.emit(watched, QtWidgets.QAbstractItemDelegate.EndEditHint.NoHint)
            return False
        return super().eventFilter(watched, event)

    def _make_editor(
        self, parent: QtWidgets.QWidget, index: QtCore.QModelIndex
    ) -> QtWidgets.QWidget:
        column = Column(index.column())
        if column in (Column.ZONE, Column.SHAPE, Column.POLARITY):
            combo = QtWidgets.QComboBox(parent)
            if column is Column.ZONE:
                for zone in self.catalog.values():
                    combo.addItem(("⚠ " if zone.placement_warning else "") + zone.name, zone.id)
                    if zone.placement_warning:
                        combo.setItemData(
                            combo.count() - 1,
                            zone.placement_warning,
                            QtCore.Qt.ItemDataRole.ToolTipRole,
                        )
            else:
                for member in WaveShape if column is Column.SHAPE else Polarity:
                    combo.addItem(member.value, member.value)
            combo.currentIndexChanged.connect(lambda _i, e=combo: self.commitData.emit(e))
            return combo
        if column in (Column.DURATION, Column.TECHNIQUE, Column.PLACEMENT):
            line = QtWidgets.QLineEdit(parent)
            if column is Column.PLACEMENT:
                line.setPlaceholderText(CELL_FORMAT)
                line.setToolTip(
                    "Landmarks: " + ", ".join(self.catalog.landmarks) + " (add _left or _right "
                    "to name a side)"
                )
            if column is Column.DURATION:
                line.setValidator(
                    QtGui.QRegularExpressionValidator(QtCore.QRegularExpression(r"[0-9:.]*"), line)
                )
                line.setPlaceholderText("m:ss")
            line.textEdited.connect(lambda _t, e=line: self.commitData.emit(e))
            return line
        spin: NumberSpin
        if column is Column.FREQUENCY:
            spin = FrequencySpin(self.frequency_choices, parent)
            spin.setDecimals(2)
            spin.setRange(0.0, 100_000.0)
            spin.setSuffix(" Hz")
        elif column is Column.CURRENT:
            spin = NumberSpin(parent)
            spin.setDecimals(0)
            spin.setRange(
                0.0, 9_990.0
            )  # beyond the hard limit on purpose: it is flagged, not hidden
            spin.setSingleStep(CURRENT_STEP_UA)
            spin.setSuffix(" µA")
        else:
            spin = NumberSpin(parent)
            spin.setDecimals(1)
            spin.setRange(0.0, 3_600.0)
            spin.setSingleStep(0.5)
            spin.setSuffix(" s")
        spin.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        spin.setKeyboardTracking(True)
        spin.valueChanged.connect(lambda _v, e=spin: self.commitData.emit(e))
        return spin

    def setEditorData(  # noqa: N802 - Qt names it
        self, editor: QtWidgets.QWidget, index: QtCore.QModelIndex
    ) -> None:
        # Called again whenever the model changes (after each committed keystroke, too): an
        # editor that already says the model's value is left alone, so the cursor stays put.
        value = index.data(QtCore.Qt.ItemDataRole.EditRole)
        column = Column(index.column())
        blocker = QtCore.QSignalBlocker(editor)
        try:
            if isinstance(editor, QtWidgets.QComboBox):
                if editor.currentData() != value:
                    found = editor.findData(value)
                    if found < 0:  # a file's unknown zone or shape: shown as it is, flagged red
                        editor.addItem(str(value), value)
                        found = editor.count() - 1
                    editor.setCurrentIndex(found)
            elif isinstance(editor, QtWidgets.QDoubleSpinBox):
                if not _same_in_spin(editor, value):
                    editor.setValue(value)
            elif isinstance(editor, QtWidgets.QLineEdit):
                if column is Column.DURATION and not isinstance(value, str):
                    if parse_duration(editor.text()) != value:
                        editor.setText(format_step_duration(value))
                elif editor.text() != value:
                    editor.setText(value)
        finally:
            blocker.unblock()

    def setModelData(  # noqa: N802 - Qt names it
        self,
        editor: QtWidgets.QWidget,
        model: QtCore.QAbstractItemModel,
        index: QtCore.QModelIndex,
    ) -> None:
        if isinstance(editor, QtWidgets.QComboBox):
            model.setData(index, editor.currentData())
        elif isinstance(editor, QtWidgets.QDoubleSpinBox):
            # Opening and closing an editor must not round a stored 0.125 Hz to 0.13.
            if not _same_in_spin(editor, index.data(QtCore.Qt.ItemDataRole.EditRole)):
                model.setData(index, editor.value())
        elif isinstance(editor, QtWidgets.QLineEdit):
            if Column(index.column()) is Column.DURATION:
                seconds = parse_duration(editor.text())
                if seconds is not None:
                    model.setData(index, seconds)
            else:
                model.setData(index, editor.text())

    def initStyleOption(  # noqa: N802 - Qt names it
        self, option: QtWidgets.QStyleOptionViewItem, index: QtCore.QModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        if index.column() == Column.ZONE:
            # "Nasolabial fold, right" and "..., left" must stay apart when the column is narrow.
            option.textElideMode = QtCore.Qt.TextElideMode.ElideMiddle

    def paint(
        self,
        painter: QtGui.QPainter,
        option: QtWidgets.QStyleOptionViewItem,
        index: QtCore.QModelIndex,
    ) -> None:
        super().paint(painter, option, index)
        if index.data(PROBLEM_ROLE):
            # A frame as well as the red fill: the selection colour hides a fill, not a frame.
            painter.save()
            painter.setPen(QtGui.QPen(PROBLEM_FRAME, 2))
            painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            painter.drawRect(QtCore.QRectF(option.rect).adjusted(1, 1, -1, -1))
            painter.restore()

    def updateEditorGeometry(  # noqa: N802 - Qt names it
        self,
        editor: QtWidgets.QWidget,
        option: QtWidgets.QStyleOptionViewItem,
        index: QtCore.QModelIndex,
    ) -> None:
        # Combo and spin boxes need a little more width than a narrow column gives them.
        rect = QtCore.QRect(option.rect)
        rect.setWidth(max(rect.width(), editor.minimumSizeHint().width()))
        editor.setGeometry(rect)


def _same_in_spin(spin: QtWidgets.QDoubleSpinBox, value: Any) -> bool:
    """True when ``value`` shows as the spin box's value at its number of decimals."""
    try:
        return abs(spin.value() - float(value)) < 0.5 * 10 ** -spin.decimals()
    except (TypeError, ValueError):
        return False
