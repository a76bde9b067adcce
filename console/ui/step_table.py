"""The steps table's model: one row per step, one column per field, wrong cells marked.

Column titles, units and tooltips live here too; the cells' editors are in
:mod:`console.ui.step_delegates`, the table view and its row commands in :mod:`console.ui.steps_panel`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6 import QtCore, QtGui

from console.placement import CELL_FORMAT, format_placement
from console.probe_paths import suggested_placement
from console.protocol_draft import Column, StepRow, Unset, format_step_duration, row_with
from console.protocols import Step
from console.waveforms import (
    CURRENT_STEP_UA,
    HARD_MAX_CURRENT_UA,
    HARD_MAX_FREQUENCY_HZ,
    HARD_MIN_FREQUENCY_HZ,
    MAX_RAMP_S,
    MIN_REVERSAL_INTERVAL_S,
    Polarity,
)
from console.zones import ZoneCatalog

#: Item views cannot take per-cell colours from QSS; these are style.qss's danger and advice tones.
PROBLEM_BACKGROUND = QtGui.QColor("#fde0e0")
PROBLEM_TEXT = QtGui.QColor("#7f1212")
ADVICE_TEXT = QtGui.QColor("#7a5400")
MUTED_TEXT = QtGui.QColor("#6b7b84")
PROBLEM_FRAME = QtGui.QColor("#c62828")
#: Model role: True for a cell with a problem (the delegate frames it, selected or not).
PROBLEM_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1
#: Model role: the cell as stored, an :class:`~console.protocol_draft.Unset` included; setting it
#: back (as EditRole) restores the cell exactly, which is what Esc in a cell editor does.
CELL_ROLE = QtCore.Qt.ItemDataRole.UserRole + 2

#: Column titles and their tooltips (the cells carry the units).
HEADERS: dict[Column, tuple[str, str]] = {
    Column.ZONE: ("Zone", "Where the probes go"),
    Column.SHAPE: ("Shape", "Pulse shape: square, sine, ramped or biphasic"),
    Column.FREQUENCY: (
        "Freq.",
        f"{HARD_MIN_FREQUENCY_HZ:g}–{HARD_MAX_FREQUENCY_HZ:g} Hz; ↑/↓ step through the "
        "frequencies clinical machines offer",
    ),
    Column.CURRENT: (
        "Current",
        f"Peak current, in steps of {CURRENT_STEP_UA:g} µA, never above "
        f"{HARD_MAX_CURRENT_UA:g} µA; above 500 µA many clients find it uncomfortable",
    ),
    Column.POLARITY: ("Polarity", "Positive, negative, or alternating to spare the electrodes"),
    Column.REVERSAL: (
        "Rev.",
        f"Polarity reversal: how often alternating polarity reverses (at least {MIN_REVERSAL_INTERVAL_S:g} s)",
    ),
    Column.RAMP: ("Ramp", f"Ramp-up from zero, above 0 and at most {MAX_RAMP_S:g} s"),
    Column.DURATION: ("Time", "Time on the zone: m:ss or seconds (practice: 1–4 min)"),
    Column.PLACEMENT: (
        "Placement",
        f"Where the probes sit and go: {CELL_FORMAT}; checked against the keep-out rules "
        "(midline of the head, eyes, front of the neck) and drawn on the face map",
    ),
    Column.TECHNIQUE: ("Technique", "What the hands do: the operator reads it at each step"),
}
#: Widest content a column should show whole (the zone's longest name, the longest polarity).
COLUMN_SAMPLES = {
    Column.ZONE: "Nasolabial fold, right",
    Column.SHAPE: "biphasic",
    Column.FREQUENCY: "1000 Hz",
    Column.CURRENT: "1000 µA",
    Column.POLARITY: "alternating",
    Column.REVERSAL: "10 s",
    Column.RAMP: "10 s",
    Column.DURATION: "10:00",
    Column.PLACEMENT: "cheekbone, cheekbone · hold and lift → temple",
}
UNITS = {Column.FREQUENCY: "Hz", Column.CURRENT: "µA", Column.REVERSAL: "s", Column.RAMP: "s"}
NUMBER_COLUMNS = (Column.FREQUENCY, Column.CURRENT, Column.REVERSAL, Column.RAMP, Column.DURATION)


class StepsModel(QtCore.QAbstractTableModel):
    """The steps being edited and the problems found in each cell.

    Rows are :class:`~console.protocol_draft.StepRow`: well-typed steps (an edit that is not a
    number is refused), whose cells may be unset when a pack gave no usable value (the file's
    text is shown). Whether values are allowed is the validation's business, shown through
    :meth:`set_problems` as a red cell with the sentences in its tooltip.
    """

    steps_changed = QtCore.Signal()

    def __init__(self, catalog: ZoneCatalog, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self._rows: list[StepRow] = []
        self._cells: dict[tuple[int, Column], list[str]] = {}
        self._row_problems: dict[int, list[str]] = {}

    @property
    def rows(self) -> tuple[StepRow, ...]:
        """The rows in table order."""
        return tuple(self._rows)

    @property
    def steps(self) -> tuple[Step, ...]:
        """The steps in table order (an unset cell holds its placeholder)."""
        return tuple(row.step for row in self._rows)

    def set_steps(self, steps: Iterable[Step]) -> None:
        """Replace every row."""
        self.set_rows(StepRow(step) for step in steps)

    def set_rows(self, rows: Iterable[StepRow]) -> None:
        """Replace every row, unset cells included."""
        self.beginResetModel()
        self._rows = list(rows)
        self._cells, self._row_problems = {}, {}
        self.endResetModel()
        self.steps_changed.emit()

    def cell_problems(self, row: int, column: Column) -> list[str]:
        """The sentences that mark a cell (empty when it is fine)."""
        return list(self._cells.get((row, Column(column)), ()))

    def set_problems(
        self, cells: dict[tuple[int, Column], list[str]], rows: dict[int, list[str]]
    ) -> None:
        """Mark cells (and rows, in the row header) with their problems."""
        if cells == self._cells and rows == self._row_problems:
            return
        self._cells, self._row_problems = cells, rows
        if self._rows:
            roles = [
                QtCore.Qt.ItemDataRole.BackgroundRole,
                QtCore.Qt.ItemDataRole.ForegroundRole,
                QtCore.Qt.ItemDataRole.ToolTipRole,
            ]
            last = self.index(len(self._rows) - 1, len(Column) - 1)
            self.dataChanged.emit(self.index(0, 0), last, roles)
            self.headerDataChanged.emit(QtCore.Qt.Orientation.Vertical, 0, len(self._rows) - 1)

    # -- rows --------------------------------------------------------------------------------

    def insert_step(self, row: int, step: Step) -> None:
        """Insert ``step`` so that it becomes row ``row``."""
        self.insert_row(row, StepRow(step))

    def insert_row(self, row: int, step_row: StepRow) -> None:
        """Insert ``step_row`` (unset cells included) so that it becomes row ``row``."""
        row = max(0, min(row, len(self._rows)))
        self.beginInsertRows(QtCore.QModelIndex(), row, row)
        self._rows.insert(row, step_row)
        self.endInsertRows()
        self.steps_changed.emit()

    def remove_steps(self, rows: Iterable[int]) -> None:
        """Remove the given rows."""
        for row in sorted(set(rows), reverse=True):
            if 0 <= row < len(self._rows):
                self.beginRemoveRows(QtCore.QModelIndex(), row, row)
                del self._rows[row]
                self.endRemoveRows()
        self.steps_changed.emit()

    def move_step(self, row: int, delta: int) -> bool:
        """Move row ``row`` one place up (``delta=-1``) or down (``+1``); False at an end."""
        target = row + delta
        if delta not in (-1, 1) or not (
            0 <= row < len(self._rows) and 0 <= target < len(self._rows)
        ):
            return False
        # Qt's destination is the row the moved one is inserted *before*, counted before the move.
        destination = target + 1 if delta > 0 else target
        self.beginMoveRows(QtCore.QModelIndex(), row, row, QtCore.QModelIndex(), destination)
        self._rows[row], self._rows[target] = self._rows[target], self._rows[row]
        self.endMoveRows()
        self.steps_changed.emit()
        return True

    # -- Qt's model interface -----------------------------------------------------------------

    def rowCount(self, parent: QtCore.QModelIndex | None = None) -> int:  # noqa: N802 - Qt names it
        return 0 if parent is not None and parent.isValid() else len(self._rows)

    def columnCount(self, parent: QtCore.QModelIndex | None = None) -> int:  # noqa: N802
        return 0 if parent is not None and parent.isValid() else len(Column)

    def flags(self, index: QtCore.QModelIndex) -> QtCore.Qt.ItemFlag:
        if not index.isValid():
            return QtCore.Qt.ItemFlag.NoItemFlags
        return (
            QtCore.Qt.ItemFlag.ItemIsEnabled
            | QtCore.Qt.ItemFlag.ItemIsSelectable
            | QtCore.Qt.ItemFlag.ItemIsEditable
        )

    def data(
        self, index: QtCore.QModelIndex, role: int = QtCore.Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        step = row.step
        column = Column(index.column())
        problems = self._cells.get((index.row(), column))
        Role = QtCore.Qt.ItemDataRole  # noqa: N806 - a Qt enum, aliased for the lines below
        if role == Role.DisplayRole:
            return self._display(row, column)
        if role == Role.EditRole:
            return self._edit_value(row, column)
        if role == CELL_ROLE:
            return row.unset.get(column, _typed_value(step, column))
        if role == Role.ToolTipRole:
            return "\n".join(problems) if problems else self._tooltip(row, column)
        if role == PROBLEM_ROLE:
            return bool(problems)
        if role == Role.BackgroundRole and problems:
            return PROBLEM_BACKGROUND
        if role == Role.ForegroundRole:
            if problems:
                return PROBLEM_TEXT
            if column is Column.REVERSAL and step.waveform.polarity is not Polarity.ALTERNATING:
                return MUTED_TEXT
        if role == Role.TextAlignmentRole and column in NUMBER_COLUMNS:
            return int(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        return None

    def setData(  # noqa: N802 - Qt names it
        self, index: QtCore.QModelIndex, value: Any, role: int = QtCore.Qt.ItemDataRole.EditRole
    ) -> bool:
        if role != QtCore.Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        row = self._rows[index.row()]
        column = Column(index.column())
        if (
            column in row.unset
            and not isinstance(value, Unset)
            and value == self._edit_value(row, column)
        ):
            return True  # an editor closed on an unset cell without a new value: still unset
        try:
            changed = row_with(row, column, value)
        except (TypeError, ValueError):
            return False  # not a number / not a duration: the cell keeps its value
        if changed != row:
            self._rows[index.row()] = changed
            self.dataChanged.emit(index, index)
            self.steps_changed.emit()
        return True

    def headerData(  # noqa: N802 - Qt names it
        self,
        section: int,
        orientation: QtCore.Qt.Orientation,
        role: int = QtCore.Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        Role = QtCore.Qt.ItemDataRole  # noqa: N806
        if orientation == QtCore.Qt.Orientation.Horizontal:
            if role == Role.DisplayRole:
                return HEADERS[Column(section)][0]
            if role == Role.ToolTipRole:
                return HEADERS[Column(section)][1]
            return None
        problems = self._row_problems.get(section)
        if role == Role.DisplayRole:
            return f"✖ {section + 1}" if problems else str(section + 1)
        if role == Role.ToolTipRole:
            return "\n".join(problems) if problems else f"Step {section + 1}"
        if role == Role.ForegroundRole and problems:
            return PROBLEM_TEXT
        return None

    # -- cell texts ---------------------------------------------------------------------------

    def _display(self, row: StepRow, column: Column) -> str:
        if column in row.unset:
            return row.unset[column].text
        step = row.step
        if column is Column.ZONE:
            zone = self.catalog.get(step.zone)
            return zone.name if zone is not None else step.zone
        if column is Column.REVERSAL and step.waveform.polarity is not Polarity.ALTERNATING:
            return "—"  # only alternating polarity reverses; the value is kept for the file
        if column is Column.DURATION:
            return format_step_duration(step.duration_s)
        value = _typed_value(step, column)
        unit = UNITS.get(column)
        return f"{value:g} {unit}" if unit else str(value)

    @staticmethod
    def _edit_value(row: StepRow, column: Column) -> Any:
        """What the cell's editor starts from: the value, or for an unset cell its text (0 in a
        number box, which cannot be empty)."""
        if column in row.unset:
            return 0.0 if column in UNITS else row.unset[column].text
        return _typed_value(row.step, column)

    def _tooltip(self, row: StepRow, column: Column) -> str:
        step = row.step
        if column in row.unset:
            return HEADERS[column][1]
        if column is Column.ZONE:
            zone = self.catalog.get(step.zone)
            if zone is not None and zone.placement_warning:
                return f"{zone.name}\n⚠ {zone.placement_warning}"
            return zone.name if zone is not None else step.zone
        if column is Column.TECHNIQUE and step.technique:
            return step.technique
        if column is Column.PLACEMENT:
            if step.placement is not None:
                return step.placement.describe(self.catalog)
            suggestion = suggested_placement(step.zone, step.technique, self.catalog)
            if suggestion is not None:
                return (
                    "No placement: nothing checks or draws where the probes go.\n"
                    f"From the technique: {format_placement(suggestion)} "
                    "(Fill placements, Ctrl+Shift+P)"
                )
            return "No placement: nothing checks or draws where the probes go."
        if column is Column.REVERSAL and step.waveform.polarity is not Polarity.ALTERNATING:
            return (
                f"Only alternating polarity reverses; {step.waveform.reversal_interval_s:g} s is "
                "kept in the pack"
            )
        return HEADERS[column][1]


def _typed_value(step: Step, column: Column) -> Any:
    """The value of one cell of ``step``, as its editor takes it."""
    wf = step.waveform
    return {
        Column.ZONE: step.zone,
        Column.SHAPE: wf.shape.value,
        Column.FREQUENCY: wf.frequency_hz,
        Column.CURRENT: wf.current_ua,
        Column.POLARITY: wf.polarity.value,
        Column.REVERSAL: wf.reversal_interval_s,
        Column.RAMP: wf.ramp_s,
        Column.DURATION: step.duration_s,
        Column.PLACEMENT: format_placement(step.placement),
        Column.TECHNIQUE: step.technique,
    }[column]
