"""Form fields the stage pages share: dates typed as ``YYYY-MM-DD`` and a scrolling page body."""

from __future__ import annotations

from datetime import date

from PySide6 import QtCore, QtGui, QtWidgets

#: How a date is typed in the consultation's date fields.
DATE_PLACEHOLDER = "YYYY-MM-DD"
#: Accepts what may become a date while it is typed (digits and dashes, at most 10).
_DATE_TYPING = QtCore.QRegularExpression(r"[0-9]{0,4}(-[0-9]{0,2}(-[0-9]{0,2})?)?")


def parse_date(text: str) -> date | None:
    """``YYYY-MM-DD`` as a date; None for an empty field. Raises ValueError for anything else
    (a date half typed, or one that does not exist)."""
    text = text.strip()
    if not text:
        return None
    if len(text) != 10:
        raise ValueError(f"type the whole date as {DATE_PLACEHOLDER}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text} is not a date") from None


def date_field(placeholder: str = DATE_PLACEHOLDER) -> QtWidgets.QLineEdit:
    """A line edit for a date typed as ``YYYY-MM-DD``."""
    field = QtWidgets.QLineEdit()
    field.setPlaceholderText(placeholder)
    field.setValidator(QtGui.QRegularExpressionValidator(_DATE_TYPING, field))
    field.setMaxLength(10)
    metrics = field.fontMetrics()
    widest = max(metrics.horizontalAdvance(text) for text in ("0000-00-00", DATE_PLACEHOLDER))
    field.setFixedWidth(widest + 28)
    return field


def fill_with_scrolling(page: QtWidgets.QWidget, body: QtWidgets.QWidget) -> None:
    """Lay ``body`` out as the whole of ``page``, scrolling when the window is short."""
    scroll = QtWidgets.QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(body)
    layout = QtWidgets.QVBoxLayout(page)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(scroll)
