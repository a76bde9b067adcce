"""The "Protocol" box of the protocol editor: id, name, category, version, description, warnings
and the recommended series, each field marked when the rules find it wrong."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from PySide6 import QtCore, QtGui, QtWidgets

from console.protocol_draft import CATEGORIES
from console.protocols import Protocol, RecommendedSeries, Step
from console.ui.editor_widgets import elastic, set_style_state
from console.ui.step_delegates import NumberSpin


class ProtocolHeader(QtWidgets.QGroupBox):
    """The protocol's own fields. ``changed`` is emitted on every edit."""

    changed = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Protocol", parent)
        self.setObjectName("protocolHeader")
        self._base_tooltips: dict[QtWidgets.QWidget, str] = {}
        self.id_edit = QtWidgets.QLineEdit()
        self.id_edit.setPlaceholderText("e.g. jaw-lift")
        self.id_edit.setToolTip(
            "Lowercase letters, digits, '-', '_' or '.'; the pack is saved as <id>.toml"
        )
        self.name_edit = QtWidgets.QLineEdit()
        self.name_edit.setPlaceholderText("What the operator picks, e.g. Jawline lift")
        self.name_edit.setToolTip("The protocol's name in the console")
        self.category = QtWidgets.QComboBox()
        self.category.setEditable(True)
        self.category.addItems(CATEGORIES)
        self.category.setToolTip("Lifting, toning, circulation, other — or type your own")
        self.version_edit = QtWidgets.QLineEdit()
        self.version_edit.setToolTip("Raise it when you change a pack clinics already use")
        self.version_edit.setMaximumWidth(70)
        self.description = QtWidgets.QPlainTextEdit()
        self.description.setPlaceholderText("What the protocol is for and how it works")
        self.description.setTabChangesFocus(True)
        self.warnings = QtWidgets.QPlainTextEdit()
        self.warnings.setPlaceholderText("Advice shown with the protocol, one per line")
        self.warnings.setToolTip("Shown to the operator with the protocol, one note a line")
        self.warnings.setTabChangesFocus(True)
        for text_box in (self.description, self.warnings):
            text_box.ensurePolished()
            # Three whole lines, and no scroll bar until there is a fourth: QPlainTextEdit wants
            # the text plus three document margins and a pixel (frameWidth has the QSS padding).
            text_box.document().setDocumentMargin(1)
            text_box.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            line = math.ceil(QtGui.QFontMetricsF(text_box.font()).lineSpacing())
            viewport = 3 * line + 3 + 2
            text_box.setFixedHeight(viewport + 2 * text_box.frameWidth())
        self.per_week = NumberSpin()
        # The boxes go beyond what the rules allow, so that a pack's value is shown and flagged,
        # never clamped into a valid one (99 at most: two digits keep the boxes narrow); 0 stands
        # for a value the pack does not give.
        self.per_week.setRange(0.0, 99.0)
        self.per_week.setDecimals(2)
        self.per_week.setSingleStep(0.5)
        self.per_week.setToolTip("Sessions a week during the course")
        self.sessions = QtWidgets.QSpinBox()
        self.sessions.setRange(0, 99)
        self.sessions.setToolTip("Sessions in the course (1–52)")
        self.maintenance_low = QtWidgets.QSpinBox()
        self.maintenance_high = QtWidgets.QSpinBox()
        for spin in (self.maintenance_low, self.maintenance_high):
            spin.setRange(0, 99)
            spin.setToolTip("Maintenance every low–high weeks after the course (1–26)")
        self.header_message = QtWidgets.QLabel("")
        self.header_message.setObjectName("headerMessage")
        self.header_message.setMinimumHeight(self.header_message.fontMetrics().height())
        elastic(self.header_message)
        self.header_message.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.TextSelectableByMouse
        )

        def label(text: str, buddy: QtWidgets.QWidget) -> QtWidgets.QLabel:
            caption = QtWidgets.QLabel(text)
            caption.setBuddy(buddy)
            return caption

        series = QtWidgets.QHBoxLayout()
        series.setSpacing(6)
        for item in (
            self.per_week,
            "a week ·",
            self.sessions,
            "sessions; maintenance every",
            self.maintenance_low,
            "–",
            self.maintenance_high,
            "weeks",
        ):
            series.addWidget(QtWidgets.QLabel(item) if isinstance(item, str) else item)
        series.addStretch(1)

        grid = QtWidgets.QGridLayout(self)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(4)
        grid.addWidget(label("&Id", self.id_edit), 0, 0)
        grid.addWidget(self.id_edit, 0, 1)
        grid.addWidget(label("&Name", self.name_edit), 0, 2)
        grid.addWidget(self.name_edit, 0, 3)
        grid.addWidget(label("Ca&tegory", self.category), 0, 4)
        grid.addWidget(self.category, 0, 5)
        grid.addWidget(label("&Version", self.version_edit), 0, 6)
        grid.addWidget(self.version_edit, 0, 7)
        grid.addWidget(self.header_message, 1, 1, 1, 7)
        grid.addWidget(label("&Description", self.description), 2, 0)
        grid.addWidget(self.description, 2, 1, 1, 3)
        grid.addWidget(label("&Warnings", self.warnings), 2, 4)
        grid.addWidget(self.warnings, 2, 5, 1, 3)
        grid.addWidget(label("Se&ries", self.per_week), 3, 0)
        grid.addLayout(series, 3, 1, 1, 7)
        grid.setColumnStretch(1, 2)
        grid.setColumnStretch(3, 3)
        grid.setColumnStretch(5, 2)
        for widget in (
            self.id_edit,
            self.name_edit,
            self.category,
            self.version_edit,
            self.per_week,
            self.sessions,
            self.maintenance_low,
            self.maintenance_high,
        ):
            self._base_tooltips[widget] = widget.toolTip()

        for edit in (self.id_edit, self.name_edit, self.version_edit):
            edit.textChanged.connect(self._emit_changed)
        self.category.currentTextChanged.connect(self._emit_changed)
        self.description.textChanged.connect(self._emit_changed)
        self.warnings.textChanged.connect(self._emit_changed)
        self.per_week.valueChanged.connect(self._emit_changed)
        for spin in (self.sessions, self.maintenance_low, self.maintenance_high):
            spin.valueChanged.connect(self._emit_changed)

        #: The header fields a problem can be about (RuleProblem.fields, as in a pack).
        self._widgets: dict[str, list[QtWidgets.QWidget]] = {
            "id": [self.id_edit],
            "name": [self.name_edit],
            "sessions_per_week": [self.per_week],
            "sessions": [self.sessions],
            "maintenance_every_weeks": [self.maintenance_low, self.maintenance_high],
        }

    def _emit_changed(self, *_: object) -> None:
        self.changed.emit()

    def show_protocol(self, protocol: Protocol) -> None:
        """Fill the fields from ``protocol`` (its steps are not shown here)."""
        self.id_edit.setText(protocol.id)
        self.name_edit.setText(protocol.name)
        self.category.setCurrentText(protocol.category)
        self.version_edit.setText(protocol.version)
        self.description.setPlainText(protocol.description)
        self.warnings.setPlainText("\n".join(protocol.warnings))
        series = protocol.series
        self.per_week.setValue(series.sessions_per_week)
        self.sessions.setValue(series.sessions)
        self.maintenance_low.setValue(series.maintenance_every_weeks[0])
        self.maintenance_high.setValue(series.maintenance_every_weeks[1])

    def protocol(self, steps: Sequence[Step]) -> Protocol:
        """What the fields say now, with ``steps``, valid or not."""
        warnings = tuple(line.strip() for line in self.warnings.toPlainText().splitlines())
        return Protocol(
            id=self.id_edit.text().strip(),
            name=self.name_edit.text().strip(),
            category=self.category.currentText().strip(),
            description=self.description.toPlainText().strip(),
            steps=tuple(steps),
            series=RecommendedSeries(
                sessions_per_week=self.per_week.value(),
                sessions=self.sessions.value(),
                maintenance_every_weeks=(
                    self.maintenance_low.value(),
                    self.maintenance_high.value(),
                ),
            ),
            version=self.version_edit.text().strip(),
            warnings=tuple(line for line in warnings if line),
        )

    def widgets_of(self, field: str) -> list[QtWidgets.QWidget]:
        """The widgets of a field named as in a pack (``id``, ``sessions``, ...)."""
        return list(self._widgets.get(field, ()))

    def mark_fields(self, fields: Mapping[QtWidgets.QWidget, list[str]]) -> list[str]:
        """Mark each field with its problems (in its tooltip, and red); returns the sentences of
        the marked fields, in the order of the fields."""
        for widget, base in self._base_tooltips.items():
            sentences = fields.get(widget, [])
            widget.setToolTip("\n".join(sentences) if sentences else base)
            if bool(widget.property("invalid")) != bool(sentences):
                set_style_state(widget, "invalid", bool(sentences))
        return [s for widget in self._base_tooltips for s in fields.get(widget, [])]

    def show_message(self, text: str, tooltip: str, level: str) -> None:
        """The line under the name: the fields' problems, a warning, or where Save writes."""
        self.header_message.setText(text)
        self.header_message.setToolTip(tooltip)
        set_style_state(self.header_message, "level", level)
