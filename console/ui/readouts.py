"""The treatment's large readouts: the output (on or off, the current apart from the setting)
and the contact meter (the supervisor's thresholds drawn as coloured bands, a needle at the
reading).

They show :mod:`console.readings` values and decide nothing themselves. Their colours are set
here, by tone, so the readouts look the same in the main window and the chair view whatever
the application's style sheet does to ordinary labels.
"""

from __future__ import annotations

import math

from PySide6 import QtCore, QtGui, QtWidgets

from console.engine.safety import SafetyLimits
from console.readings import ContactReading, OutputReading, Tone

#: Background, border and text colours of a readout, by tone.
TONE_COLOURS: dict[Tone, tuple[str, str, str]] = {
    Tone.NEUTRAL: ("#eceff1", "#b0bec5", "#37474f"),
    Tone.OK: ("#e3f4e8", "#5cae74", "#1d5b2f"),
    Tone.WARNING: ("#fff1cc", "#e0a800", "#5c4100"),
    Tone.DANGER: ("#fde0e0", "#c62828", "#7f1212"),
}


def _frame_style(name: str, tone: Tone) -> str:
    """The readout's colours by tone, and its type sizes (set here: the application's style
    sheet sets every widget's font size, which a widget's own font cannot override)."""
    background, border, text = TONE_COLOURS[tone]
    return (
        f"QFrame#{name} {{ background: {background}; border: 2px solid {border}; "
        f"border-radius: 6px; }} QFrame#{name} QLabel {{ color: {text}; background: transparent; "
        "border: none; } "
        f'QFrame#{name} QLabel[readout="caption"] {{ font-size: 10pt; font-weight: bold; }} '
        f'QFrame#{name} QLabel[readout="large"] {{ font-size: 17pt; font-weight: bold; }} '
        f'QFrame#{name} QLabel[readout="words"] {{ font-size: 13pt; font-weight: bold; }}'
    )


def _caption(text: str) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text.upper())
    label.setProperty("readout", "caption")
    return label


def _large(label: QtWidgets.QLabel, role: str = "large") -> QtWidgets.QLabel:
    label.setProperty("readout", role)
    return label


class _ReadoutFrame(QtWidgets.QFrame):
    """A readout's frame: a caption with a right-aligned note on its first row, a fixed width
    and its own height (never squeezed or stretched, so nothing beside it moves), and colours
    by tone, restyled only when the tone changes."""

    def __init__(self, name: str, caption: str, note_name: str, width: int) -> None:
        super().__init__()
        self.setObjectName(name)
        self.caption = _caption(caption)
        self.note = QtWidgets.QLabel("")
        self.note.setObjectName(note_name)
        self.note.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        self.grid = QtWidgets.QGridLayout(self)
        self.grid.setHorizontalSpacing(10)
        self.grid.setVerticalSpacing(0)
        self.grid.addWidget(self.caption, 0, 0)
        self.grid.addWidget(self.note, 0, 1)
        self.grid.setColumnStretch(1, 1)
        self.setFixedWidth(width)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Fixed, QtWidgets.QSizePolicy.Policy.Fixed)
        self._tone: Tone | None = None

    def _set_tone(self, tone: Tone) -> None:
        if tone is not self._tone:
            self.setStyleSheet(_frame_style(self.objectName(), tone))
            self._tone = tone


class OutputReadout(_ReadoutFrame):
    """The output: ``ON 185 µA`` or ``OFF`` in large type, the step's setting apart above."""

    def __init__(self) -> None:
        # Fixed width: the buttons beside it never move when the reading changes.
        super().__init__("outputReadout", "Output", "outputSetting", 250)
        self.setting = self.note
        self.headline = _large(QtWidgets.QLabel("OFF"))
        self.headline.setObjectName("outputHeadline")
        self.current = _large(QtWidgets.QLabel(""))
        self.current.setObjectName("outputCurrent")
        self.current.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        self.grid.setContentsMargins(10, 2, 10, 2)
        self.grid.addWidget(self.headline, 1, 0)
        self.grid.addWidget(self.current, 1, 1)
        self.setToolTip("What the machine's output is doing now, and the step's setting")
        self._reading: OutputReading | None = None
        self.show_reading(OutputReading(False, "Off", "", "", Tone.NEUTRAL))

    @property
    def reading(self) -> OutputReading | None:
        """The reading shown."""
        return self._reading

    def show_reading(self, reading: OutputReading) -> None:
        """Show ``reading`` (restyled only when its tone changes)."""
        if reading == self._reading:
            return
        self._set_tone(reading.tone)
        self._reading = reading
        self.headline.setText(reading.headline.upper())
        # A space, not nothing: an empty label is shorter, and the readout must not change size.
        self.current.setText(reading.current or " ")
        self.setting.setText(reading.setting or " ")
        self.setProperty("output", "on" if reading.on else "off")

    def text(self) -> str:
        """What the readout says, as one line (``OUTPUT ON · 185 µA · setting 200 µA``)."""
        parts = (f"OUTPUT {self.headline.text()}", self.current.text(), self.setting.text())
        return " · ".join(part for part in parts if part.strip())


#: The meter's bands, left to right: (name, share of the bar's width, tone).
_BANDS = (
    ("short", 0.12, Tone.DANGER),
    ("good", 0.58, Tone.OK),
    ("poor", 0.12, Tone.WARNING),
    ("lost", 0.18, Tone.DANGER),
)
#: The impedances at the bar's two ends (the bands between come from the safety limits).
_LOWEST_OHM = 50.0
_HIGHEST_OHM = 500_000.0


class ContactBar(QtWidgets.QWidget):
    """The contact scale: short | good | poor | lost, with a needle at the reading.

    Each band takes a fixed share of the width and is logarithmic inside, so the narrow
    "poor" band (50–60 kΩ by default) is as easy to see as the wide good one.
    """

    def __init__(self, limits: SafetyLimits, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.limits = limits
        self.impedance_ohm: float | None = None
        self.live = False
        self.setMinimumHeight(22)
        self.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed
        )

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt names it
        return QtCore.QSize(240, 22)

    def edges(self) -> list[float]:
        """The band edges in ohms, lowest first."""
        limits = self.limits
        return [
            _LOWEST_OHM,
            limits.contact_min_ohm,
            limits.contact_high_ohm,
            limits.contact_max_ohm,
            _HIGHEST_OHM,
        ]

    def position(self, impedance_ohm: float) -> float:
        """Where ``impedance_ohm`` sits on the bar, 0 (left) to 1 (right)."""
        edges = self.edges()
        value = (
            min(max(impedance_ohm, edges[0]), edges[-1])
            if math.isfinite(impedance_ohm)
            else edges[-1]
        )
        start = 0.0
        for (_, share, _), low, high in zip(_BANDS, edges, edges[1:], strict=True):
            if value <= high:
                fraction = math.log(value / low) / math.log(high / low) if high > low else 0.0
                return start + share * min(max(fraction, 0.0), 1.0)
            start += share
        return 1.0

    def set_needle(self, impedance_ohm: float | None, live: bool) -> None:
        """Put the needle at ``impedance_ohm``; a reading not live is drawn hollow and grey."""
        if (impedance_ohm, live) != (self.impedance_ohm, self.live):
            self.impedance_ohm, self.live = impedance_ohm, live
            self.update()

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802 - Qt names it
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        bar = QtCore.QRectF(self.rect()).adjusted(1, 6, -1, -4)
        x = bar.left()
        for _, share, tone in _BANDS:
            width = bar.width() * share
            _, border, _ = TONE_COLOURS[tone]
            colour = QtGui.QColor(border)
            colour.setAlpha(110 if self.live or self.impedance_ohm is None else 60)
            painter.fillRect(QtCore.QRectF(x, bar.top(), width, bar.height()), colour)
            x += width
        painter.setPen(QtGui.QPen(QtGui.QColor("#78909c"), 1))
        painter.drawRect(bar)
        if self.impedance_ohm is None:
            return
        # Inside the bar by the needle's half width: at either end it is drawn whole.
        at = bar.left() + bar.width() * self.position(self.impedance_ohm)
        at = min(max(at, bar.left() + 6), bar.right() - 6)
        needle = QtGui.QPolygonF(
            [
                QtCore.QPointF(at - 6, 0),
                QtCore.QPointF(at + 6, 0),
                QtCore.QPointF(at, 8),
            ]
        )
        colour = QtGui.QColor("#17324a" if self.live else "#90a4ae")
        painter.setPen(QtGui.QPen(colour, 2))
        painter.setBrush(colour if self.live else QtCore.Qt.BrushStyle.NoBrush)
        painter.drawPolygon(needle)
        painter.drawLine(QtCore.QPointF(at, 8), QtCore.QPointF(at, bar.bottom() + 2))


class ContactMeter(_ReadoutFrame):
    """The probes' contact: the reading in plain words above the scale, red when lost.

    ``show_figures`` adds the measured impedance (the engineering figure) to the caption line.
    """

    def __init__(self, limits: SafetyLimits) -> None:
        super().__init__("contactMeter", "Contact", "contactDetail", 330)
        self.detail = self.note
        self.words = _large(QtWidgets.QLabel("—"), "words")
        self.words.setObjectName("contactWords")
        self.bar = ContactBar(limits)
        self.grid.setContentsMargins(10, 2, 10, 4)
        self.grid.addWidget(self.words, 1, 0, 1, 2)
        self.grid.addWidget(self.bar, 2, 0, 1, 2)
        self.show_figures = False
        self._reading: ContactReading | None = None
        self.set_limits(limits)
        self.show_reading(None)

    def set_limits(self, limits: SafetyLimits) -> None:
        """The supervisor's thresholds, drawn as the scale's bands."""
        self.bar.limits = limits
        self.bar.update()
        self.setToolTip(
            "Contact between the probes and the skin, measured while current flows.\n"
            f"Good: {_ohm(limits.contact_min_ohm)} to {_ohm(limits.contact_high_ohm)}. "
            f"Poor (re-apply gel): up to {_ohm(limits.contact_max_ohm)}.\n"
            f"Lost (probe lifted, output stops): above {_ohm(limits.contact_max_ohm)}. "
            f"Probes touching (output stops): below {_ohm(limits.contact_min_ohm)}."
        )

    @property
    def reading(self) -> ContactReading | None:
        """The reading shown (None: no session)."""
        return self._reading

    def show_reading(self, reading: ContactReading | None) -> None:
        """Show ``reading``; None: no session, nothing measured."""
        if reading == self._reading and reading is not None:
            return
        self._reading = reading
        tone = reading.tone if reading is not None else Tone.NEUTRAL
        self._set_tone(tone)
        self.words.setText(reading.words if reading is not None else "No treatment running")
        self._show_detail()
        self.bar.set_needle(
            reading.impedance_ohm if reading is not None else None,
            reading.measured_now if reading is not None else False,
        )
        self.setProperty("tone", tone.value)

    def set_show_figures(self, show: bool) -> None:
        """Show or hide the engineering figure (kΩ)."""
        self.show_figures = show
        self._show_detail()

    def _show_detail(self) -> None:
        reading = self._reading
        parts = [reading.detail] if reading is not None and reading.detail else []
        if reading is not None and self.show_figures and reading.figure:
            parts.append(reading.figure)
        self.detail.setText(" · ".join(parts) or " ")  # a space keeps the line's height

    def text(self) -> str:
        """What the meter says, as one line (tests, accessibility)."""
        return " · ".join(part for part in (self.words.text(), self.detail.text()) if part.strip())


def _ohm(value: float) -> str:
    return f"{value / 1000:g} kΩ" if value >= 1000 else f"{value:g} Ω"
