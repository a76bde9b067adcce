"""The application stage before the start: the protocol choice and its steps, zones and notes."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from console.protocols import Protocol, comfort_notes
from console.report import format_duration
from console.zones import zone_catalog


class ApplicationPage(QtWidgets.QWidget):
    """Protocol choice and preview (steps, zones, total time) before the start."""

    protocol_chosen = QtCore.Signal(str)

    def __init__(self, protocols: dict[str, Protocol]) -> None:
        super().__init__()
        self.protocols = protocols
        self.choice = QtWidgets.QComboBox()
        self.choice.setToolTip("The protocol to run")
        self._fill_choice()
        self.choice.currentIndexChanged.connect(self._chosen)
        self.summary = QtWidgets.QLabel("")
        self.summary.setWordWrap(True)
        self.table = QtWidgets.QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels(["Zone", "Waveform", "µA", "Time", "Technique", ""])
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(True)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnHidden(5, True)
        self.notes = QtWidgets.QLabel("")
        self.notes.setWordWrap(True)
        self.notes.setObjectName("protocolNotes")
        layout = QtWidgets.QVBoxLayout(self)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Protocol"))
        row.addWidget(self.choice, 1)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.notes)
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
        """Select the running step's row."""
        if index is None:
            self.table.clearSelection()
        else:
            self.table.selectRow(index)

    def _chosen(self, index: int) -> None:
        protocol = self.protocol
        if protocol is None:
            return
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
        notes = comfort_notes(protocol)
        self.notes.setText("<br>".join(f"⚠ {note}" for note in notes))
        self.protocol_chosen.emit(protocol.id)
