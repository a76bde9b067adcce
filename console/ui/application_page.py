"""The application stage: the protocol choice and its steps, zones and notes; during the
treatment, the running step marked in the steps."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from console.protocols import Protocol, comfort_notes
from console.report import format_duration
from console.zones import zone_catalog

#: Rows the steps table always has room for: the running step, the ones around it.
MIN_ROWS_SHOWN = 4
NOW_MARK = "▶"  # the running step's row header, beside the row's colour (not colour alone)


class _NowRowDelegate(QtWidgets.QStyledItemDelegate):
    """Paints the running step's row bold on the "now" colours, whatever the selection.

    The user's own selection (a click, the arrow keys) keeps the ordinary selection colour on the
    other rows; on the running row it shows as an outline, so the "now" colours never move.
    """

    def __init__(self, table: StepsTable) -> None:
        super().__init__(table)
        self.table = table

    def initStyleOption(  # noqa: N802 (Qt's name)
        self, option: QtWidgets.QStyleOptionViewItem, index: QtCore.QModelIndex
    ) -> None:
        """Bold "now" colours on the running row; the selection is drawn by :meth:`paint`."""
        super().initStyleOption(option, index)
        if index.row() != self.table.now_row:
            return
        option.font.setBold(True)
        option.backgroundBrush = QtGui.QBrush(self.table.nowBackground)
        for role in (QtGui.QPalette.ColorRole.Text, QtGui.QPalette.ColorRole.HighlightedText):
            option.palette.setColor(role, self.table.nowForeground)
        option.state &= ~QtWidgets.QStyle.StateFlag.State_Selected

    def paint(
        self,
        painter: QtGui.QPainter,
        option: QtWidgets.QStyleOptionViewItem,
        index: QtCore.QModelIndex,
    ) -> None:
        """The cell, and on the running row the user's selection as an outline."""
        super().paint(painter, option, index)
        selected = option.state & QtWidgets.QStyle.StateFlag.State_Selected
        if index.row() == self.table.now_row and selected:
            painter.save()
            pen = QtGui.QPen(self.table.nowSelectionEdge, 3)
            painter.setPen(pen)
            painter.drawLine(option.rect.topLeft(), option.rect.topRight())
            painter.drawLine(option.rect.bottomLeft(), option.rect.bottomRight())
            painter.restore()

    def sizeHint(  # noqa: N802 (Qt's name)
        self, option: QtWidgets.QStyleOptionViewItem, index: QtCore.QModelIndex
    ) -> QtCore.QSize:
        """Measured in bold: a column fits its text whichever row is running."""
        bold = QtWidgets.QStyleOptionViewItem(option)
        bold.font = QtGui.QFont(option.font)
        bold.font.setBold(True)
        return super().sizeHint(bold, index)


class StepsTable(QtWidgets.QTableWidget):
    """The protocol's steps, with the running step ("now") marked apart from the selection.

    The "now" row is set by the treatment only (:meth:`set_now_row`); clicking a row selects it
    and leaves the marker where it is. Its colours come from resources/style.qss
    (``qproperty-nowBackground`` and friends on ``QTableWidget#applicationSteps``).
    """

    def __init__(self, columns: int) -> None:
        super().__init__(0, columns)
        self.setObjectName("applicationSteps")
        self._now_row: int | None = None
        self._now_background = QtGui.QColor("#1f6fb2")
        self._now_foreground = QtGui.QColor("#ffffff")
        self._now_selection_edge = QtGui.QColor("#ffcf66")
        self.setItemDelegate(_NowRowDelegate(self))

    def _get_now_background(self) -> QtGui.QColor:
        return self._now_background

    def _set_now_background(self, colour: QtGui.QColor) -> None:
        self._now_background = QtGui.QColor(colour)
        self.viewport().update()

    def _get_now_foreground(self) -> QtGui.QColor:
        return self._now_foreground

    def _set_now_foreground(self, colour: QtGui.QColor) -> None:
        self._now_foreground = QtGui.QColor(colour)
        self.viewport().update()

    def _get_now_selection_edge(self) -> QtGui.QColor:
        return self._now_selection_edge

    def _set_now_selection_edge(self, colour: QtGui.QColor) -> None:
        self._now_selection_edge = QtGui.QColor(colour)
        self.viewport().update()

    #: The running row's background (QSS: ``qproperty-nowBackground``).
    nowBackground = QtCore.Property(QtGui.QColor, _get_now_background, _set_now_background)  # noqa: N815 (named as QSS writes it)
    #: The running row's text (QSS: ``qproperty-nowForeground``).
    nowForeground = QtCore.Property(QtGui.QColor, _get_now_foreground, _set_now_foreground)  # noqa: N815
    #: The outline of the running row when the user has selected it too.
    nowSelectionEdge = QtCore.Property(  # noqa: N815
        QtGui.QColor, _get_now_selection_edge, _set_now_selection_edge
    )

    @property
    def now_row(self) -> int | None:
        """The running step's row, or None between treatments."""
        return self._now_row

    def set_now_row(self, row: int | None) -> None:
        """Mark ``row`` as the running step (None: no step runs) and bring it into view."""
        if row is not None and not 0 <= row < self.rowCount():
            row = None
        self._now_row = row
        self._label_rows()
        self.viewport().update()
        if row is not None:
            # The next step too, when it fits: the practitioner sees where the probes go next.
            if row + 1 < self.rowCount():
                self.scrollTo(self.model().index(row + 1, 0))
            self.scrollTo(self.model().index(row, 0))

    def show_rows(self, rows: int) -> None:
        """Keep room for the header and ``rows`` rows (fewer if the protocol has fewer)."""
        shown = min(rows, max(self.rowCount(), 1))
        height = self.horizontalHeader().sizeHint().height() + 2 * self.frameWidth()
        height += shown * self.verticalHeader().defaultSectionSize()
        if self.horizontalScrollBar().isVisible():
            height += self.horizontalScrollBar().sizeHint().height()
        self.setMinimumHeight(height)

    def setRowCount(self, rows: int) -> None:  # noqa: N802 (Qt's name)
        """New rows: the marker goes (another protocol's steps) until the treatment sets it."""
        super().setRowCount(rows)
        self._now_row = None
        self._label_rows()

    def _label_rows(self) -> None:
        """Row numbers, with the marker on the running row's; the header is always wide enough
        for a marked number, so moving the marker never shifts the columns."""
        for row in range(self.rowCount()):
            now = row == self._now_row
            item = QtWidgets.QTableWidgetItem(f"{NOW_MARK} {row + 1}" if now else str(row + 1))
            item.setToolTip(f"Step {row + 1}: running now" if now else f"Step {row + 1}")
            font = item.font()
            font.setBold(now)
            item.setFont(font)
            self.setVerticalHeaderItem(row, item)
        header = self.verticalHeader()
        header.ensurePolished()
        bold = QtGui.QFont(header.font())
        bold.setBold(True)
        widest = QtGui.QFontMetrics(bold).horizontalAdvance(f"{NOW_MARK} {max(self.rowCount(), 1)}")
        header.setMinimumWidth(widest + 16)


class ApplicationPage(QtWidgets.QWidget):
    """Protocol choice and preview (steps, zones, total time) before the start."""

    protocol_chosen = QtCore.Signal(str)

    def __init__(self, protocols: dict[str, Protocol], protocol_id: str | None = None) -> None:
        """``protocol_id``: the protocol chosen at first (the first by name if None or gone)."""
        super().__init__()
        self.protocols = protocols
        self._shown_id: str | None = None  # the protocol whose steps the table shows
        self.choice = QtWidgets.QComboBox()
        self.choice.setToolTip("The protocol to run")
        self._fill_choice()
        self.choice.setCurrentIndex(max(self.choice.findData(protocol_id), 0))
        self.choice.currentIndexChanged.connect(self._chosen)
        self.summary = QtWidgets.QLabel("")
        self.summary.setWordWrap(True)
        self.table = StepsTable(6)
        self.table.setHorizontalHeaderLabels(["Zone", "Waveform", "µA", "Time", "Technique", ""])
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        # One row at a time: the user's look at a step, never a pile of highlighted rows.
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        # Its "select all" corner is a tiny target that does nothing useful here.
        self.table.setCornerButtonEnabled(False)
        self.table.verticalHeader().setVisible(True)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnHidden(5, True)
        self.notes = QtWidgets.QLabel("")
        self.notes.setWordWrap(True)
        self.notes.setObjectName("protocolNotes")
        # The description and the placement notes scroll below the steps: at 12 pt on a 800 px
        # tall screen they would otherwise squeeze the steps to one row, or be cut off.
        about = QtWidgets.QWidget()
        about_layout = QtWidgets.QVBoxLayout(about)
        about_layout.setContentsMargins(0, 0, 4, 0)
        about_layout.addWidget(self.summary)
        about_layout.addWidget(self.notes)
        about_layout.addStretch(1)
        self.about = QtWidgets.QScrollArea()
        self.about.setObjectName("protocolAbout")
        self.about.setWidget(about)
        self.about.setWidgetResizable(True)
        self.about.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.about.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Protocol"))
        row.addWidget(self.choice, 1)
        layout.addLayout(row)
        layout.addWidget(self.table, 3)
        layout.addWidget(self.about, 2)
        if self.choice.count():
            self._chosen(self.choice.currentIndex())

    def _fill_choice(self) -> None:
        for protocol in sorted(self.protocols.values(), key=lambda p: p.name):
            self.choice.addItem(protocol.name, protocol.id)

    def reload(self) -> None:
        """List the protocols again (a pack was saved), keeping the choice if it still exists."""
        current = self.choice.currentData()
        self.choice.blockSignals(True)
        self.choice.clear()
        self._fill_choice()
        self.choice.blockSignals(False)
        index = self.choice.findData(current)
        self.choice.setCurrentIndex(max(index, 0))
        if self.choice.count():
            self._chosen(self.choice.currentIndex())  # the protocol itself may have changed

    def select(self, protocol_id: str) -> None:
        """Choose a protocol by id (remembered choices, tests)."""
        index = self.choice.findData(protocol_id)
        if index >= 0:
            self.choice.setCurrentIndex(index)

    @property
    def protocol(self) -> Protocol | None:
        """The chosen protocol."""
        return self.protocols.get(self.choice.currentData())

    def highlight_step(self, index: int | None) -> None:
        """Mark the running step's row as the one "now" row (None: no step runs), in view.

        The user's selection is left alone, and the marker does not follow it.
        """
        self.table.set_now_row(index)

    def _chosen(self, index: int) -> None:
        protocol = self.protocol
        if protocol is None:
            return
        # The same protocol listed again (a pack was saved) keeps its running step marked.
        keep = self.table.now_row if protocol.id == self._shown_id else None
        self._shown_id = protocol.id
        zones = zone_catalog()
        self.summary.setText(
            f"<b>{protocol.name}</b> — {protocol.description}<br>"
            f"{len(protocol.steps)} steps on {len(protocol.zones)} zones, "
            f"{format_duration(protocol.duration_s)} in all. Series: {protocol.series.describe()}."
        )
        self.table.setRowCount(len(protocol.steps))
        for row, step in enumerate(protocol.steps):
            wf = step.waveform
            cells = [
                zones[step.zone].name if step.zone in zones else step.zone,
                f"{wf.shape.value} {wf.frequency_hz:g} Hz",
                f"{wf.current_ua:g}",
                format_duration(step.duration_s),
                step.technique,
            ]
            for column, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.show_rows(MIN_ROWS_SHOWN)
        if keep is not None:
            self.table.set_now_row(keep)
        notes = comfort_notes(protocol)
        self.notes.setText("<br>".join(f"⚠ {note}" for note in notes))
        self.protocol_chosen.emit(protocol.id)
