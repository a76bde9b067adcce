"""Dynamic style states: a widget property that ``resources/style.qss`` reads (``mode``,
``level``, ``held``, ``invalid``...) takes effect only when the widget is polished again."""

from __future__ import annotations

from PySide6 import QtWidgets


def set_style_state(widget: QtWidgets.QWidget, name: str, value: object) -> None:
    """Set a dynamic property the style sheet reads, restyling the widget only when it changes."""
    if widget.property(name) != value:
        widget.setProperty(name, value)
        repolish(widget)


def repolish(widget: QtWidgets.QWidget) -> None:
    """Apply a dynamic property's style rules (Qt only reads them when a widget is polished)."""
    widget.style().unpolish(widget)
    widget.style().polish(widget)
