"""The "Steps" box of the protocol editor: the steps table, its row commands and its caption.

The table's columns keep their natural widths and the technique takes what is left; on a narrow
screen the zone column gives way first. The rows are added, copied, deleted and moved from the
keyboard as well as the small toolbar above the table.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from console.placement import format_placement
from console.probe_paths import suggested_placement
from console.protocol_draft import DEFAULT_STEP, Column, StepRow, row_with
from console.ui.editor_widgets import make_action
from console.ui.step_delegates import StepDelegate
from console.ui.step_table import COLUMN_SAMPLES, HEADERS, StepsModel
from console.zones import ZoneCatalog

#: Narrower than this, the technique column makes the table scroll sideways instead.
TECHNIQUE_MIN_WIDTH = 100
#: On a narrow screen the zone column gives way first (its names are cut in the middle, so
#: "..., right" and "..., left" stay apart), down to this, to leave the technique this much.
ZONE_MIN_WIDTH = 120
TECHNIQUE_COMFORT_WIDTH = 160


class StepsPanel(QtWidgets.QGroupBox):
    """The steps table (``table``, ``model``, ``delegate``) with its row actions."""

    def __init__(self, catalog: ZoneCatalog, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Steps", parent)
        self.setObjectName("stepsBox")
        self._natural_widths: dict[Column, int] = {}
        self.model = StepsModel(catalog, self)
        self.delegate = StepDelegate(catalog, self)
        self._build_actions()
        self._build_table()

        row_bar = QtWidgets.QToolBar("Steps")
        row_bar.setObjectName("stepsToolbar")
        row_bar.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextOnly)
        for action in (
            self.add_action,
            self.duplicate_action,
            self.delete_action,
            self.up_action,
            self.down_action,
            self.fill_placements_action,
        ):
            row_bar.addAction(action)
            self.table.addAction(action)
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
        # Delete only when the table itself has the focus: in a cell editor it deletes text.
        self.delete_action.setShortcutContext(QtCore.Qt.ShortcutContext.WidgetShortcut)
        self.caption = QtWidgets.QLabel("")
        self.caption.setObjectName("listCaption")
        top = QtWidgets.QHBoxLayout()
        top.addWidget(row_bar)
        top.addStretch(1)
        top.addWidget(self.caption)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)

    def _build_actions(self) -> None:
        self.add_action = make_action(
            self, "Add step", self.add_step, "Ins", "Add a step after the selected one"
        )
        self.duplicate_action = make_action(
            self, "Duplicate", self.duplicate_step, "Ctrl+D", "Copy the selected step below it"
        )
        self.delete_action = make_action(
            self,
            "Delete",
            self.delete_steps,
            QtGui.QKeySequence.StandardKey.Delete,
            "Delete the selected steps",
        )
        self.up_action = make_action(
            self, "Move up", lambda: self.move_step(-1), "Ctrl+Up", "Move the selected step up"
        )
        self.down_action = make_action(
            self,
            "Move down",
            lambda: self.move_step(1),
            "Ctrl+Down",
            "Move the selected step down",
        )
        self.fill_placements_action = make_action(
            self,
            "Fill placements",
            self.fill_placements,
            "Ctrl+Shift+P",
            "Give each step without a placement the one its technique describes (check each)",
        )

    def _build_table(self) -> None:
        self.table = QtWidgets.QTableView()
        self.table.setObjectName("stepTable")
        self.table.setModel(self.model)
        self.table.setItemDelegate(self.delegate)
        self.table.setEditTriggers(
            QtWidgets.QAbstractItemView.EditTrigger.DoubleClicked
            | QtWidgets.QAbstractItemView.EditTrigger.EditKeyPressed
            | QtWidgets.QAbstractItemView.EditTrigger.AnyKeyPressed
            | QtWidgets.QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(QtCore.Qt.TextElideMode.ElideRight)
        self.table.setToolTip("")
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(
            QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter
        )
        header.setHighlightSections(False)
        self.table.ensurePolished()  # the style sheet's font, not the default one, is measured
        metrics = self.table.fontMetrics()
        bold = QtGui.QFont(self.table.font())
        bold.setBold(True)  # style.qss sets the titles in bold
        title_metrics = QtGui.QFontMetrics(bold)
        for column, sample in COLUMN_SAMPLES.items():
            title = HEADERS[column][0]
            width = max(metrics.horizontalAdvance(sample), title_metrics.horizontalAdvance(title))
            self._natural_widths[column] = width + 12
            header.resizeSection(column, width + 12)
        header.setMinimumSectionSize(40)
        # The technique column fills the table but never gets too narrow to read: below that the
        # table scrolls sideways, see _fit_columns.
        header.sectionResized.connect(self._fit_columns)
        self.table.viewport().installEventFilter(self)
        vertical = self.table.verticalHeader()
        vertical.setDefaultSectionSize(metrics.height() + 12)
        vertical.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.table.selectionModel().currentChanged.connect(self.update_row_actions)
        self.model.modelReset.connect(self.update_row_actions)
        self.model.steps_changed.connect(self.update_row_actions)

    # -- rows --------------------------------------------------------------------------------

    def current_row(self) -> int:
        """The row of the current cell, or -1."""
        index = self.table.currentIndex()
        return index.row() if index.isValid() else -1

    def add_step(self) -> None:
        """A new step after the selected one, with its settings and an empty technique."""
        row, rows = self.current_row(), self.model.rows
        template = rows[row] if row >= 0 else (rows[-1] if rows else None)
        new = (
            row_with(template, Column.TECHNIQUE, "")
            if template is not None
            else StepRow(DEFAULT_STEP)
        )
        at = row + 1 if row >= 0 else len(rows)
        self.model.insert_row(at, new)
        self.focus_cell(at, Column.ZONE)

    def fill_placements(self) -> int:
        """Fill each step that has no placement with the one read from its technique, for the
        trainer to check; returns how many were filled. A step whose text gives nothing that
        keeps the keep-out rules is left empty."""
        filled = 0
        for number, row in enumerate(self.model.rows):
            if row.step.placement is not None or Column.PLACEMENT in row.unset:
                continue
            suggestion = suggested_placement(row.step.zone, row.step.technique, self.model.catalog)
            if suggestion is None:
                continue
            index = self.model.index(number, Column.PLACEMENT)
            self.model.setData(index, format_placement(suggestion))
            filled += 1
        left = sum(row.step.placement is None for row in self.model.rows)
        self.caption.setText(
            f"{filled} placement{'s' if filled != 1 else ''} filled from the techniques: check "
            "each one" + (f"; {left} still without one" if left else "")
        )
        return filled

    def duplicate_step(self) -> None:
        """A copy of the selected step just below it."""
        row = self.current_row()
        if row < 0:
            return
        self.model.insert_row(row + 1, self.model.rows[row])
        self.focus_cell(row + 1, Column(self.table.currentIndex().column()))

    def delete_steps(self) -> None:
        """Delete the selected steps (every row with a selected cell)."""
        rows = {index.row() for index in self.table.selectionModel().selectedIndexes()}
        row = self.current_row()
        if not rows and row >= 0:
            rows = {row}
        if not rows:
            return
        column = max(self.table.currentIndex().column(), 0)
        self.model.remove_steps(rows)
        if self.model.rowCount():
            self.focus_cell(min(min(rows), self.model.rowCount() - 1), Column(column))

    def move_step(self, delta: int) -> None:
        """Move the selected step one place up (-1) or down (+1)."""
        row = self.current_row()
        column = Column(max(self.table.currentIndex().column(), 0))
        if self.model.move_step(row, delta):
            self.focus_cell(row + delta, column)

    def focus_cell(self, row: int, column: Column) -> None:
        """Make a cell the current one, and the only one selected, and show it."""
        index = self.model.index(row, column)
        # Select only this cell: the view would add it to the selection while Ctrl is held
        # (Ctrl+D, Ctrl+Down), and the next Delete would take both rows.
        self.table.selectionModel().setCurrentIndex(
            index, QtCore.QItemSelectionModel.SelectionFlag.ClearAndSelect
        )
        self.table.scrollTo(index)
        self.table.setFocus()

    def update_row_actions(self, *_: object) -> None:
        """Enable what makes sense for the current row."""
        row, count = self.current_row(), self.model.rowCount()
        for action in (self.duplicate_action, self.delete_action):
            action.setEnabled(row >= 0)
        self.up_action.setEnabled(row > 0)
        self.down_action.setEnabled(0 <= row < count - 1)

    # -- column widths -----------------------------------------------------------------------

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802
        if event.type() == QtCore.QEvent.Type.Resize and watched is self.table.viewport():
            self._fit_columns()
        return super().eventFilter(watched, event)

    def _fit_columns(self, section: int = -1, *_: object) -> None:
        """Give the technique what the other columns leave; called with the section a trainer
        resized, or -1 when the table itself changed size."""
        if section == Column.TECHNIQUE:
            return  # our own resize below
        header = self.table.horizontalHeader()
        viewport = self.table.viewport().width()
        if section == -1:
            rest = sum(self._natural_widths.get(c, 0) for c in Column if c > Column.ZONE)
            zone = viewport - rest - TECHNIQUE_COMFORT_WIDTH
            header.resizeSection(
                Column.ZONE, max(ZONE_MIN_WIDTH, min(self._natural_widths[Column.ZONE], zone))
            )
        others = sum(header.sectionSize(c) for c in Column if c is not Column.TECHNIQUE)
        width = max(TECHNIQUE_MIN_WIDTH, viewport - others)
        if header.sectionSize(Column.TECHNIQUE) != width:
            header.resizeSection(Column.TECHNIQUE, width)
