"""The client records panel: find a client, see their screenings, sessions and course, act on them.

A view over :class:`console.records.store.RecordStore`. The store decides what is valid and keeps
the data; this panel lists and shows it, checks the shape of what the operator types (a date of
birth is a date) and sends it in. Every store call goes through :meth:`RecordsPanel._call`, so a
database that cannot be reached (drive removed, server down, file locked) becomes a banner inside
the panel, never an exception in the Qt event loop: the panel keeps working, and Retry reloads.

Times are stored in UTC and shown in the console's local time.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from console.course import course_status
from console.protocols import Protocol
from console.records.errors import (
    AccessRefusedError,
    FieldError,
    RecordNotFoundError,
    StoreUnavailableError,
)
from console.records.reports import reaction_text
from console.records.rows import (
    ClientRecord,
    ClientSummary,
    FollowUpRow,
    NoteRow,
    ScreeningRow,
    SessionRow,
)
from console.screening import REASON_STARTS, contraindications, question_version
from console.ui import dialogs
from console.ui.plot_style import pyqtgraph as configured_pyqtgraph
from console.ui.restyle import repolish
from console.zones import Side, zone_catalog

if TYPE_CHECKING:  # the store loads SQLAlchemy; the panel only calls it
    from console.records.signed_in import SignedIn
    from console.records.store import RecordStore
    from console.ui.audit_view import AuditTrailDialog

T = TypeVar("T")

#: Typing in the search box reloads the list this long after the last key (one query, not ten).
SEARCH_DEBOUNCE_MS = 150
#: How many clients the list shows at most; the caption says when there are more.
LIST_LIMIT = 100
TIME_FORMAT = "%Y-%m-%d %H:%M"
DATE_FORMAT = "%Y-%m-%d"
#: With more sessions than this, the chart labels every n-th session only.
MAX_SESSION_TICKS = 20

#: The store's session states, as the timeline says them.
STATE_TEXT = {
    "finished": "Finished",
    "stopped": "Stopped",
    "aborted": "Aborted",
    "interrupted": "Interrupted",
    "running": "In progress",
}
#: Item views cannot be styled per item by QSS, so the timeline's state colours live here, taken
#: from style.qss's palette: green = done, slate = the operator's decision, red = a safety stop,
#: amber = the machine or console failed.
STATE_COLOURS = {
    "finished": "#1d5b2f",
    "stopped": "#35505e",
    "aborted": "#a11d1d",
    "interrupted": "#7a5400",
    "running": "#185a91",
}
#: One colour per face region (Okabe-Ito based, distinguishable with colour-blindness); the
#: client's left and right of a region share it and differ in line style and marker.
REGION_COLOURS = (
    "#1f6fb2",
    "#d55e00",
    "#009e73",
    "#cc79a7",
    "#e69f00",
    "#56b4e9",
    "#7f5fa8",
    "#8c564b",
    "#4d4d4d",
)
_SIDE_STYLE = {
    Side.LEFT: (QtCore.Qt.PenStyle.SolidLine, "o"),
    Side.RIGHT: (QtCore.Qt.PenStyle.DashLine, "s"),
    Side.CENTER: (QtCore.Qt.PenStyle.SolidLine, "d"),
}
#: The screening history is rich text; its classes are styled here (QSS does not reach into a
#: QTextDocument).
SCREENING_CSS = """
p { margin: 0 0 2px 0; }
ul { margin: 0 0 10px 0; }
.cleared { color: #1d5b2f; font-weight: bold; }
.blocked { color: #a11d1d; font-weight: bold; }
.override { color: #7a5400; }
.muted { color: #5f6b73; }
"""
#: The visits' record is rich text too: one block per session, the chosen one tinted.
VISITS_CSS = """
p { margin: 0 0 2px 0; }
ul { margin: 0 0 2px 0; }
.muted { color: #5f6b73; }
.label { color: #35505e; font-weight: bold; }
"""
#: The tint of the visit chosen in the timeline.
CHOSEN_VISIT = "#e6f0f8"

#: Where one screening reason ends and the next begins in a stored summary (reasons themselves may
#: hold "; ", so the split is on the phrases console.screening starts them with).
_REASON_SPLIT = re.compile("; (?=" + "|".join(re.escape(start) for start in REASON_STARTS) + ")")


class _Unavailable:
    """What :meth:`RecordsPanel._call` returns when the store could not answer."""


UNAVAILABLE = _Unavailable()


def local_time(moment: datetime, fmt: str = TIME_FORMAT) -> str:
    """A stored (UTC) time in the console's local time."""
    return moment.astimezone().strftime(fmt)


# -- the new-client form --------------------------------------------------------------------------


class NewClientDialog(QtWidgets.QDialog):
    """Name, date of birth, phone, e-mail, goals and practitioner of a new client.

    "Add client" sends the form to the store. Each :class:`FieldError` appears in red under the
    field it names and the dialog stays open with everything typed; on success ``client_id`` holds
    the new client's id and the dialog is accepted.
    """

    FIELDS = ("name", "date_of_birth", "phone", "email", "goals", "practitioner")

    def __init__(
        self,
        store: RecordStore,
        practitioner: str = "",
        name: str = "",
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.client_id: int | None = None
        self.setWindowTitle("New client")
        self.setObjectName("newClientDialog")
        self.setMinimumWidth(460)

        self.name = QtWidgets.QLineEdit(name)
        self.name.setPlaceholderText("First and last name")
        self.name.setMaxLength(120)
        self.date_of_birth = QtWidgets.QLineEdit()
        self.date_of_birth.setPlaceholderText("YYYY-MM-DD")
        self.date_of_birth.setToolTip(
            "The full date: the screening needs it to confirm the client is an adult "
            "(it can also be given at their first consultation)"
        )
        self.date_of_birth.setValidator(
            QtGui.QRegularExpressionValidator(
                QtCore.QRegularExpression(r"[0-9]{0,4}(-[0-9]{0,2}(-[0-9]{0,2})?)?"),
                self.date_of_birth,
            )
        )
        self.date_of_birth.setMaxLength(10)
        self.date_of_birth.setMaximumWidth(160)
        self.phone = QtWidgets.QLineEdit()
        self.phone.setPlaceholderText("optional")
        self.phone.setMaxLength(40)
        self.email = QtWidgets.QLineEdit()
        self.email.setPlaceholderText("optional")
        self.email.setMaxLength(120)
        self.goals = QtWidgets.QPlainTextEdit()
        self.goals.setPlaceholderText("e.g. lift the jawline, soften nasolabial folds")
        self.goals.setFixedHeight(72)
        self.goals.setTabChangesFocus(True)
        self.practitioner = QtWidgets.QLineEdit(practitioner)
        self.practitioner.setPlaceholderText("Who records this client")
        self.practitioner.setMaxLength(120)

        self.errors: dict[str, QtWidgets.QLabel] = {}
        self.message = QtWidgets.QLabel("")
        self.message.setObjectName("fieldError")
        self.message.setWordWrap(True)
        self.message.hide()
        form = QtWidgets.QFormLayout()
        form.setLabelAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        editors: dict[str, QtWidgets.QWidget] = {
            "name": self.name,
            "date_of_birth": self.date_of_birth,
            "phone": self.phone,
            "email": self.email,
            "goals": self.goals,
            "practitioner": self.practitioner,
        }
        captions = {
            "name": "Name",
            "date_of_birth": "Date of birth",
            "phone": "Phone",
            "email": "E-mail",
            "goals": "Goals",
            "practitioner": "Practitioner",
        }
        for field in self.FIELDS:
            form.addRow(captions[field], self._with_error(field, editors[field]))

        self.buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        self.add_button = self.buttons.addButton(
            "Add client", QtWidgets.QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.add_button.setObjectName("primaryButton")
        self.add_button.setDefault(True)
        # Accepting is the store's decision: the button submits, the dialog closes on success only.
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def _with_error(self, field: str, editor: QtWidgets.QWidget) -> QtWidgets.QWidget:
        """The editor with its (hidden until needed) error label right under it."""
        box = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(editor)
        error = QtWidgets.QLabel("")
        error.setObjectName("fieldError")
        error.setWordWrap(True)
        error.hide()
        column.addWidget(error)
        self.errors[field] = error
        return box

    def show_error(self, field: str, message: str) -> None:
        """Show ``message`` under ``field`` (or above the buttons if no field has that name)."""
        text = message[:1].upper() + message[1:]
        label = self.errors.get(field, self.message)
        label.setText(text)
        label.show()

    def clear_errors(self) -> None:
        """Hide every error message."""
        for label in (*self.errors.values(), self.message):
            label.setText("")
            label.hide()

    def submit(self) -> bool:
        """Send the form to the store; True when the client was added (the dialog accepts)."""
        self.clear_errors()
        born_text = self.date_of_birth.text().strip()
        born: date | None = None
        if born_text:
            try:
                born = date.fromisoformat(born_text) if len(born_text) == 10 else None
            except ValueError:
                born = None
            if born is None:
                self.show_error(
                    "date_of_birth", "the date of birth must be a date such as 1978-03-02"
                )
                return False
        try:
            self.client_id = self.store.add_client(
                self.name.text(),
                self.practitioner.text(),
                date_of_birth=born,
                phone=self.phone.text(),
                email=self.email.text(),
                goals=self.goals.toPlainText(),
            )
        except FieldError as error:
            self.show_error(error.field, str(error))
            editor = getattr(self, error.field, None)
            if isinstance(editor, QtWidgets.QWidget):
                editor.setFocus()
            return False
        except StoreUnavailableError as error:
            self.show_error(
                "", f"The client was not added: {error}. What you typed is kept; try again."
            )
            return False
        self.accept()
        return True


# -- the panel ------------------------------------------------------------------------------------


class RecordsPanel(QtWidgets.QWidget):
    """Client list with live search, and the chosen client's page (see the module docstring).

    ``protocols`` gives the recommended series for the course text; ``practitioner`` is asked for
    the name to put in the new-client form.
    """

    #: A session in the timeline was double-clicked (or Enter pressed on it): its id.
    session_activated = QtCore.Signal(str)
    #: "Start a session for this client": client id and name.
    start_session_requested = QtCore.Signal(int, str)
    #: A client was added through the panel: their id.
    client_added = QtCore.Signal(int)
    #: A client was deleted through the panel: their former id.
    client_deleted = QtCore.Signal(int)

    def __init__(
        self,
        store: RecordStore,
        protocols: dict[str, Protocol],
        practitioner: Callable[[], str | SignedIn],
        parent: QtWidgets.QWidget | None = None,
        *,
        signed_in: Callable[[], SignedIn | None] = lambda: None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("recordsPanel")
        self.store = store
        self.protocols = protocols
        self.practitioner = practitioner
        #: The signed-in account (None without accounts): named on every access it makes.
        self.signed_in = signed_in
        #: The client's rights and the trail are the administrator's (anyone's without accounts).
        self.accounts_on = False
        self.audit_dialog: AuditTrailDialog | None = None
        self.new_client_dialog: NewClientDialog | None = None
        self.zone_curves: dict[str, pg.PlotDataItem] = {}
        self._client: ClientRecord | None = None
        self._summaries: list[ClientSummary] = []

        # Banner: store trouble (and the outcome of a delete) inside the panel, not in a modal box.
        self.banner_frame = QtWidgets.QFrame()
        self.banner_frame.setObjectName("recordsBanner")
        self.banner = QtWidgets.QLabel("")
        self.banner.setObjectName("recordsBannerText")
        self.banner.setWordWrap(True)
        self.retry_button = QtWidgets.QPushButton("Retry")
        self.retry_button.setToolTip("Reload the client list and the open client")
        self.retry_button.clicked.connect(self.refresh)
        self.dismiss_button = QtWidgets.QPushButton("Dismiss")
        self.dismiss_button.clicked.connect(self.hide_banner)
        banner_row = QtWidgets.QHBoxLayout(self.banner_frame)
        banner_row.setContentsMargins(10, 6, 6, 6)
        banner_row.addWidget(self.banner, 1)
        banner_row.addWidget(self.retry_button)
        banner_row.addWidget(self.dismiss_button)
        self.banner_frame.hide()

        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self._build_list_side())
        self.pages = QtWidgets.QStackedWidget()
        self.placeholder = QtWidgets.QLabel(
            "Choose a client on the left to see their screenings, sessions and course,\n"
            "or add a new client."
        )
        self.placeholder.setObjectName("recordsPlaceholder")
        self.placeholder.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.client_page = self._build_client_page()
        self.pages.addWidget(self.placeholder)
        self.pages.addWidget(self.client_page)
        splitter.addWidget(self.pages)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([480, 900])

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.banner_frame)
        layout.addWidget(splitter, 1)

        self._search_timer = QtCore.QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DEBOUNCE_MS)
        self._search_timer.timeout.connect(self._run_search)
        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        self.refresh()

    # -- building ----------------------------------------------------------------------------

    def _build_list_side(self) -> QtWidgets.QWidget:
        side = QtWidgets.QWidget()
        # Room for a full name beside born, sessions and last visit at 12 pt.
        side.setMinimumWidth(440)
        self.search = QtWidgets.QLineEdit()
        self.search.setObjectName("clientSearch")
        self.search.setPlaceholderText("Search clients by name…")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip(
            "Type part of a name; the list follows as you type. Enter opens the first client."
        )
        self.search.setAccessibleName("Search clients")
        self.search.returnPressed.connect(self._open_first_match)
        self.client_list = QtWidgets.QTreeWidget()
        self.client_list.setObjectName("clientList")
        self.client_list.setAccessibleName("Clients")
        self.client_list.setHeaderLabels(["Name", "Born", "Sessions", "Last visit"])
        self.client_list.setRootIsDecorated(False)
        self.client_list.setUniformRowHeights(True)
        self.client_list.setAlternatingRowColors(True)
        self.client_list.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.client_list.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        header = self.client_list.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.client_list.currentItemChanged.connect(self._current_client_changed)
        self.list_caption = QtWidgets.QLabel("")
        self.list_caption.setObjectName("listCaption")
        self.list_caption.setWordWrap(True)
        self.new_button = QtWidgets.QPushButton("New client…")
        self.new_button.setObjectName("newClientButton")
        self.new_button.setToolTip("Add a client to the records")
        self.new_button.clicked.connect(self.new_client)
        layout = QtWidgets.QVBoxLayout(side)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.client_list, 1)
        bottom = QtWidgets.QHBoxLayout()
        bottom.addWidget(self.list_caption, 1)
        bottom.addWidget(self.new_button)
        layout.addLayout(bottom)
        return side

    def _build_client_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        self.name_label = QtWidgets.QLabel("")
        self.name_label.setObjectName("clientName")
        self.name_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_label = QtWidgets.QLabel("")
        self.details_label.setObjectName("clientDetails")
        self.details_label.setWordWrap(True)
        self.details_label.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.goals_label = QtWidgets.QLabel("")
        self.goals_label.setObjectName("clientGoals")
        self.goals_label.setWordWrap(True)
        self.course_label = QtWidgets.QLabel("")
        self.course_label.setObjectName("courseProgress")
        self.course_label.setWordWrap(True)
        self.start_button = QtWidgets.QPushButton("Start a session for this client")
        self.start_button.setObjectName("startForClientButton")
        self.start_button.setToolTip("Open a new visit for this client in the treatment workflow")
        self.start_button.clicked.connect(self.request_session)
        self.delete_button = QtWidgets.QPushButton("Erase client…")
        self.delete_button.setObjectName("deleteClientButton")
        self.delete_button.setToolTip(
            "The client's right to erasure: erase them and everything recorded about them "
            "(asks for their name; the audit trail keeps only that an erasure happened)"
        )
        self.delete_button.clicked.connect(self.delete_client)
        self.export_button = QtWidgets.QPushButton("Export client's data…")
        self.export_button.setObjectName("exportClientButton")
        self.export_button.setToolTip(
            "The client's right of access: everything held about them, as a readable PDF and "
            "a machine-readable JSON file, into a folder you choose"
        )
        self.export_button.clicked.connect(self.export_client)
        self.trail_button = QtWidgets.QPushButton("Audit trail…")
        self.trail_button.setObjectName("clientTrailButton")
        self.trail_button.setToolTip("Who looked at, printed, exported or changed this record")
        self.trail_button.clicked.connect(self.show_trail)

        heading = QtWidgets.QVBoxLayout()
        heading.setSpacing(2)
        heading.addWidget(self.name_label)
        heading.addWidget(self.details_label)
        heading.addWidget(self.goals_label)
        actions = QtWidgets.QVBoxLayout()
        actions.addWidget(self.start_button)
        for button in (self.trail_button, self.export_button, self.delete_button):
            actions.addWidget(button, 0, QtCore.Qt.AlignmentFlag.AlignRight)
        actions.addStretch(1)
        top = QtWidgets.QHBoxLayout()
        top.addLayout(heading, 1)
        top.addLayout(actions)

        self.timeline = QtWidgets.QTreeWidget()
        self.timeline.setObjectName("sessionTimeline")
        self.timeline.setAccessibleName("Sessions of this client, newest first")
        self.timeline.setHeaderLabels(["Date", "Protocol", "State", "Charge", "Steps"])
        self.timeline.setRootIsDecorated(False)
        self.timeline.setUniformRowHeights(True)
        self.timeline.setAlternatingRowColors(True)
        self.timeline.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.timeline.setToolTip("Double-click a session (or press Enter) to open it")
        header = self.timeline.header()
        header.setStretchLastSection(False)
        for column in range(5):
            header.setSectionResizeMode(
                column,
                QtWidgets.QHeaderView.ResizeMode.Stretch
                if column == 1
                else QtWidgets.QHeaderView.ResizeMode.ResizeToContents,
            )
        self.timeline.itemDoubleClicked.connect(lambda item, _column: self._activate(item))
        enter = QtGui.QShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_Return), self.timeline)
        enter.setContext(QtCore.Qt.ShortcutContext.WidgetShortcut)
        enter.activated.connect(lambda: self._activate(self.timeline.currentItem()))
        self.timeline.currentItemChanged.connect(lambda _item, _previous: self._show_visits())
        sessions_box = QtWidgets.QGroupBox("Sessions")
        QtWidgets.QVBoxLayout(sessions_box).addWidget(self.timeline)

        self.visits = QtWidgets.QTextBrowser()
        self.visits.setObjectName("visitRecord")
        self.visits.setAccessibleName("Goals, reactions and notes of each visit, newest first")
        self.visits.setOpenLinks(False)
        self.visits.document().setDefaultStyleSheet(VISITS_CSS)
        visits_box = QtWidgets.QGroupBox("Each visit: goals, reactions, notes, next appointment")
        QtWidgets.QVBoxLayout(visits_box).addWidget(self.visits)
        treatments = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        treatments.setChildrenCollapsible(False)
        treatments.addWidget(sessions_box)
        treatments.addWidget(visits_box)
        treatments.setSizes([150, 330])

        self.screenings = QtWidgets.QTextBrowser()
        self.screenings.setObjectName("screeningHistory")
        self.screenings.setOpenLinks(False)
        self.screenings.document().setDefaultStyleSheet(SCREENING_CSS)
        screenings_box = QtWidgets.QGroupBox("Screening history")
        QtWidgets.QVBoxLayout(screenings_box).addWidget(self.screenings)

        configured_pyqtgraph()  # the console's plot settings, whichever plot came first
        self.chart = pg.GraphicsLayoutWidget()
        self.chart.setObjectName("courseChart")
        self.chart.setBackground("w")
        self.chart.setMinimumHeight(220)
        self.plot = self.chart.addPlot(row=0, col=0)
        self.plot.setMouseEnabled(x=False, y=False)  # a record to read, not to pan by accident
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.showGrid(x=False, y=True, alpha=0.15)
        self.plot.setLabel("bottom", "Session")
        self.plot.setLabel("left", "Charge (µC)")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        # A fixed width: the axis learns its tick labels' width only when painted, and a redrawn
        # chart would otherwise put the title over six-digit ticks for a frame or more.
        self.plot.getAxis("left").setWidth(76)
        # The legend sits beside the plot: a lifting course has twelve zones, and inside the
        # plot their names would cover the lines. Two columns put a region's right and left
        # zones (the catalog lists them in pairs) on one row.
        self.legend = pg.LegendItem(
            verSpacing=-6, horSpacing=12, labelTextColor="#1f2a33", labelTextSize="9pt"
        )
        self.legend.setColumnCount(2)
        self.legend.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Fixed, QtWidgets.QSizePolicy.Policy.Fixed
        )  # as tall as its rows, at the top: not spread over the plot's height
        self.chart.addItem(self.legend, row=0, col=1)
        self.chart.ci.layout.setAlignment(
            self.legend, QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft
        )
        self.chart_empty = QtWidgets.QLabel("")
        self.chart_empty.setObjectName("recordsPlaceholder")
        self.chart_empty.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.chart_stack = QtWidgets.QStackedWidget()
        self.chart_stack.addWidget(self.chart_empty)
        self.chart_stack.addWidget(self.chart)
        chart_box = QtWidgets.QGroupBox("Charge per zone across the course")
        QtWidgets.QVBoxLayout(chart_box).addWidget(self.chart_stack)

        upper = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        upper.setChildrenCollapsible(False)
        upper.addWidget(treatments)
        upper.addWidget(screenings_box)
        upper.setStretchFactor(0, 3)
        upper.setStretchFactor(1, 2)
        body = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        body.setChildrenCollapsible(False)
        body.addWidget(upper)
        body.addWidget(chart_box)
        # Initial heights in pixels (the splitter starts from them); growth goes mostly to the
        # sessions and visits, which is what is read at a client's next visit.
        body.setSizes([520, 260])
        body.setStretchFactor(0, 3)
        body.setStretchFactor(1, 2)

        layout = QtWidgets.QVBoxLayout(page)
        layout.setContentsMargins(8, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.course_label)
        layout.addWidget(body, 1)
        return page

    # -- public --------------------------------------------------------------------------------

    @property
    def current_client(self) -> ClientRecord | None:
        """The client whose page is shown (as last loaded)."""
        return self._client

    def refresh(self) -> None:
        """Reload the client list and the open client's page from the store."""
        self._new_attempt()
        self._reload_list()
        if self._client is not None:
            self._show_client(self._client.id)

    def select_client(self, client_id: int) -> bool:
        """Show ``client_id``'s page (and select them in the list if listed). False if the
        store could not load them."""
        self._new_attempt()
        item = self._list_item(client_id)
        if item is not None and self.client_list.currentItem() is not item:
            self.client_list.setCurrentItem(item)  # loads the page through the signal
            return self._client is not None and self._client.id == client_id
        return self._show_client(client_id)

    def new_client(self) -> NewClientDialog:
        """Open the new-client form (not modal: the emergency stop stays within reach); added
        clients are selected.

        What was searched for and not found fills the name in.
        """
        if self.new_client_dialog is not None:
            self.new_client_dialog.raise_()
            return self.new_client_dialog
        typed = self.search.text().strip()
        name = typed if typed and not self._summaries else ""
        dialog = NewClientDialog(self.store, self.practitioner() or "", name, self)
        dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._client_was_added(dialog.client_id))
        dialog.finished.connect(self._dialog_closed)
        self.new_client_dialog = dialog
        dialog.show()
        return dialog

    def delete_client(self) -> None:
        """Delete the open client after their name is typed to confirm (the store checks it)."""
        record = self._client
        if record is None:
            return
        what = (
            _counted(len(record.sessions), "session")
            + ", "
            + _counted(len(record.screenings), "screening")
        )
        dialogs.ask_text(
            self,
            "Delete client",
            f"Delete {record.name} and everything recorded about them ({what}, notes and "
            "appointments)?\nThis cannot be undone.\n\n"
            f"Type the client's full name — {record.name} — to confirm:",
            lambda typed: self._delete_confirmed(record, typed),
            accept_text="Delete",
        )

    def _delete_confirmed(self, record: ClientRecord, typed: str) -> None:
        from console.records.client_rights import erase_client

        self._new_attempt()
        try:
            result = self._call(
                "erase the client", erase_client, self.store, self.signed_in(), record.id, typed
            )
        except FieldError:
            self.show_notice(
                f"The name typed does not match “{record.name}”; nothing was erased.", "warning"
            )
            return
        except AccessRefusedError as error:
            self.show_notice(f"Nothing was erased: {error}.", "warning")
            return
        except RecordNotFoundError:
            result = None  # already gone (erased in another room): the same outcome
        if isinstance(result, _Unavailable):
            return
        self._client = None
        self.pages.setCurrentWidget(self.placeholder)
        self._reload_list()
        self.show_notice(
            f"{record.name} and all their records were erased; the audit trail notes that an "
            "erasure happened, and nothing of them.",
            "ok",
        )
        self.client_deleted.emit(record.id)

    def set_access(self, accounts_on: bool) -> None:
        """Follow the window's sign-in: the client's rights and the trail are offered to an
        administrator only once the records have accounts."""
        self.accounts_on = accounts_on
        self._sync_rights()

    def _sync_rights(self) -> None:
        from console.records.signed_in import Permission, allowed

        who = self.signed_in()
        rights = allowed(who, Permission.CLIENT_RIGHTS, self.accounts_on)
        for button in (self.export_button, self.delete_button):
            button.setVisible(rights)
        self.trail_button.setVisible(allowed(who, Permission.READ_AUDIT, self.accounts_on))

    def export_client(self) -> None:
        """The open client's right of access: everything held about them into a folder."""
        record = self._client
        if record is None:
            return
        dialogs.choose_folder(
            self,
            f"Export everything held about {record.name}",
            str(Path.home()),
            lambda folder: self._export_into(record, folder),
        )

    def _export_into(self, record: ClientRecord, folder: Path) -> None:
        from console.records.client_rights import export_client

        self._new_attempt()
        try:
            files = self._call(
                "export the client",
                export_client,
                self.store,
                self.signed_in(),
                record.id,
                folder,
            )
        except (FieldError, AccessRefusedError, RecordNotFoundError, OSError) as error:
            self.show_notice(f"Nothing was exported: {error}.", "warning")
            return
        if isinstance(files, _Unavailable):
            return
        note = (
            f" ({', '.join(files.unprintable)} could not be printed)" if files.unprintable else ""
        )
        self.show_notice(
            f"Everything held about {record.name} was exported to {folder}: "
            f"{files.json.name}, {files.summary_pdf.name} and {len(files.session_pdfs)} session "
            f"report(s){note}. The files are readable by your account only.",
            "ok",
        )

    def show_trail(self) -> None:
        """The open client's audit trail (an administrator's view)."""
        record = self._client
        if record is None:
            return
        from console.ui.audit_view import AuditTrailDialog

        if self.audit_dialog is not None:
            self.audit_dialog.close()
        self.audit_dialog = AuditTrailDialog(
            self.store, record.id, f"Audit trail — client {record.id}", self
        )
        self.audit_dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        self.audit_dialog.destroyed.connect(lambda: setattr(self, "audit_dialog", None))
        self.audit_dialog.show()

    def request_session(self) -> None:
        """Ask the window to start a visit for the open client."""
        if self._client is not None:
            self.start_session_requested.emit(self._client.id, self._client.name)

    def show_notice(self, text: str, level: str = "info") -> None:
        """A message in the panel's banner; ``level`` is info, ok, warning or danger."""
        self.banner.setText(text)
        self.banner_frame.setProperty("level", level)
        self.retry_button.setVisible(False)
        self._repolish(self.banner_frame)
        self.banner_frame.show()

    def hide_banner(self) -> None:
        """Hide the banner."""
        self.banner_frame.hide()

    # -- the store, guarded --------------------------------------------------------------------

    def _call(self, what: str, method: Callable[..., T], *args: object) -> T | _Unavailable:
        """``method(*args)``; a database that cannot be reached shows the banner instead."""
        try:
            return method(*args)
        except StoreUnavailableError as error:
            self._show_store_error(what, str(error))
            return UNAVAILABLE

    def _show_store_error(self, what: str, reason: str) -> None:
        self.banner.setText(
            f"Client records unavailable — could not {what}: {reason}. Nothing was changed. "
            "Check the drive or the network connection, then press Retry."
        )
        # Amber, not red: nothing is in danger, but nothing can be recorded until it is back.
        self.banner_frame.setProperty("level", "warning")
        self.retry_button.setVisible(True)
        self._repolish(self.banner_frame)
        self.banner_frame.show()

    def _new_attempt(self) -> None:
        """The operator acts again: the banner's old news goes (a store error that still holds
        comes back with this attempt)."""
        self.hide_banner()

    # -- the list ------------------------------------------------------------------------------

    def _run_search(self) -> None:
        self._new_attempt()
        self._reload_list()

    def _reload_list(self) -> None:
        query = self.search.text()
        found = self._call("load the client list", self.store.search_clients, query, LIST_LIMIT)
        if isinstance(found, _Unavailable):
            return
        self._summaries = found
        selected = self._client.id if self._client is not None else None
        # Rebuilding the rows must not reload the open client's page once per row.
        self.client_list.blockSignals(True)
        try:
            self.client_list.clear()
            for summary in found:
                item = QtWidgets.QTreeWidgetItem(
                    [
                        summary.name,
                        _born(summary.date_of_birth, summary.birth_year) or "—",
                        str(summary.sessions),
                        local_time(summary.last_visit) if summary.last_visit else "—",
                    ]
                )
                item.setData(0, QtCore.Qt.ItemDataRole.UserRole, summary.id)
                item.setToolTip(0, summary.name)
                for column in (1, 2):
                    item.setTextAlignment(column, QtCore.Qt.AlignmentFlag.AlignCenter)
                self.client_list.addTopLevelItem(item)
                if summary.id == selected:
                    self.client_list.setCurrentItem(item)
        finally:
            self.client_list.blockSignals(False)
        self.list_caption.setText(_list_caption(query.strip(), len(found)))

    def _list_item(self, client_id: int) -> QtWidgets.QTreeWidgetItem | None:
        for row in range(self.client_list.topLevelItemCount()):
            item = self.client_list.topLevelItem(row)
            if item.data(0, QtCore.Qt.ItemDataRole.UserRole) == client_id:
                return item
        return None

    def _current_client_changed(
        self,
        current: QtWidgets.QTreeWidgetItem | None,
        _previous: QtWidgets.QTreeWidgetItem | None,
    ) -> None:
        if current is None:
            return
        self._new_attempt()
        self._show_client(int(current.data(0, QtCore.Qt.ItemDataRole.UserRole)))

    # -- the client page -----------------------------------------------------------------------

    def _show_client(self, client_id: int) -> bool:
        from console.records import audit

        try:
            record = self._call("load the client", self.store.client, client_id)
        except RecordNotFoundError:
            self._client = None
            self.pages.setCurrentWidget(self.placeholder)
            self._reload_list()
            self.show_notice(
                "That client is no longer in the records (deleted elsewhere?).", "warning"
            )
            return False
        if isinstance(record, _Unavailable):
            return False
        noted = self._call(
            "note the view in the audit trail",
            audit.record,
            self.store,
            self.signed_in(),
            audit.VIEW,
            [client_id],
        )
        if isinstance(noted, _Unavailable):
            return False  # a view the trail cannot hold is not shown
        self._client = record
        self._sync_rights()
        self._show_details(record)
        self._show_screenings(record.screenings)
        self._show_sessions(record.sessions)
        self._show_visits()
        status = course_status(record.sessions, self.protocols)
        self.course_label.setText(
            status.text if status.warning is None else f"{status.text}\n⚠ {status.warning}"
        )
        self.course_label.setProperty("level", "warning" if status.warning else "")
        repolish(self.course_label)
        course = self._call("load the charge per zone", self.store.charge_per_zone, client_id)
        if isinstance(course, _Unavailable):
            self._show_chart(record.sessions, [], "The charge per zone could not be loaded.")
        else:
            self._show_chart(record.sessions, course)
        self.pages.setCurrentWidget(self.client_page)
        return True

    def _show_details(self, record: ClientRecord) -> None:
        self.name_label.setText(record.name)
        parts = [f"Born {record.born}" if record.born else "Date of birth not given"]
        parts += [part for part in (record.phone, record.email) if part]
        parts.append(f"client since {local_time(record.created_at, DATE_FORMAT)}")
        upcoming = [f for f in record.follow_ups if f.upcoming()]
        if upcoming:
            parts.append(f"next appointment {upcoming[0].describe()}")
        self.details_label.setText(" · ".join(parts))
        self.goals_label.setText(f"Goals: {record.goals}" if record.goals else "")
        self.goals_label.setVisible(bool(record.goals))

    def _show_screenings(self, screenings: Sequence[ScreeningRow]) -> None:
        if not screenings:
            self.screenings.setHtml("<p class='muted'>No screening recorded yet.</p>")
            return
        questions = contraindications()
        version = question_version()
        blocks = []
        for row in screenings:
            verdict = (
                "<span class='cleared'>Cleared</span>"
                if row.cleared
                else "<span class='blocked'>Not cleared</span>"
            )
            lines = []
            if not row.cleared:
                lines += [html.escape(reason) for reason in _REASON_SPLIT.split(row.summary)]
            for cid, on in sorted(row.dates.items()):
                item = questions.get(cid) if row.question_version == version else None
                event = item.event if item is not None else cid.replace("_", " ")
                lines.append(
                    f"<span class='muted'>{html.escape(event.capitalize())} on {on.isoformat()}</span>"
                )
            for cid, reason in row.overrides.items():
                item = questions.get(cid)
                question = item.question if item else cid.replace("_", " ")
                lines.append(
                    f"<span class='override'>Override — {html.escape(question)}</span> "
                    f"“{html.escape(reason)}”"
                )
            items = "".join(f"<li>{line}</li>" for line in lines)
            asked = f" <span class='muted'>(questions v{row.question_version})</span>"
            blocks.append(
                f"<p><b>{local_time(row.at)}</b> · {html.escape(row.practitioner)} — {verdict}"
                f"{asked}</p>" + (f"<ul>{items}</ul>" if items else "<p></p>")
            )
        self.screenings.setHtml("".join(blocks))

    def _show_sessions(self, sessions: Sequence[SessionRow]) -> None:
        self.timeline.clear()
        for session in sessions:
            protocol = self.protocols.get(session.protocol_id)
            delivered = len(session.steps)
            steps = (
                f"{delivered} of {len(protocol.steps)}"
                if protocol is not None and protocol.version == session.protocol_version
                else str(delivered)
            )
            name = session.protocol_name + (" (simulated)" if session.simulated else "")
            item = QtWidgets.QTreeWidgetItem(
                [
                    local_time(session.started_at),
                    name,
                    STATE_TEXT.get(session.state, session.state.capitalize()),
                    f"{session.total_charge_uc:,.0f} µC",
                    steps,
                ]
            )
            item.setData(0, QtCore.Qt.ItemDataRole.UserRole, session.id)
            colour = QtGui.QColor(STATE_COLOURS.get(session.state, "#1f2a33"))
            item.setForeground(2, QtGui.QBrush(colour))
            bold = item.font(2)
            bold.setBold(True)
            item.setFont(2, bold)
            item.setTextAlignment(3, QtCore.Qt.AlignmentFlag.AlignRight)
            item.setTextAlignment(4, QtCore.Qt.AlignmentFlag.AlignCenter)
            cut_short = sum(not step.completed for step in session.steps)
            tip = [f"{session.practitioner} on {session.machine}"]
            if cut_short:
                tip.append(f"{cut_short} step(s) cut short")
            if session.reason:
                tip.append(session.reason)
            for column in range(5):
                item.setToolTip(column, "\n".join(tip))
            self.timeline.addTopLevelItem(item)

    def _show_visits(self) -> None:
        """Each session's visit, newest first: its goals, the reactions seen (how strong, how
        long), the notes and the appointment booked; the session chosen in the timeline is
        tinted and scrolled to."""
        record = self._client
        if record is None:
            self.visits.clear()
            return
        chosen = self.selected_session
        blocks = [
            _visit_html(
                session,
                tuple(p for p in record.follow_ups if p.session_id == session.id),
                session.id == chosen,
            )
            for session in record.sessions
        ]
        loose = [n for n in record.notes if n.session_id is None]
        if loose:
            blocks.append(_loose_notes_html(loose))
        if not blocks:
            blocks.append("<p class='muted'>No visit recorded yet.</p>")
        scroll = self.visits.verticalScrollBar().value()
        self.visits.setHtml("".join(blocks))
        if chosen:
            self.visits.scrollToAnchor(_anchor(chosen))
        else:
            self.visits.verticalScrollBar().setValue(scroll)

    # -- the chart -----------------------------------------------------------------------------

    def _show_chart(
        self,
        sessions: Sequence[SessionRow],
        course: Sequence[tuple[datetime, dict[str, float]]],
        empty_text: str = "No charge delivered yet — the chart fills in as sessions are recorded.",
    ) -> None:
        self.plot.clear()
        self.legend.clear()
        self.zone_curves = {}
        if not course:
            self.chart_empty.setText(empty_text)
            self.chart_stack.setCurrentWidget(self.chart_empty)
            return
        numbers = _session_numbers(sessions, [started for started, _ in course])
        catalog = zone_catalog()
        present = {zone for _, zones in course for zone in zones}
        order = [zone for zone in catalog if zone in present] + sorted(present - set(catalog))
        regions = catalog.regions()
        top = 0.0
        for index, zone_id in enumerate(order):
            points = [
                (number, zones[zone_id])
                for number, (_, zones) in zip(numbers, course, strict=True)
                if zone_id in zones
            ]
            x = np.array([p[0] for p in points], dtype=float)
            y = np.array([p[1] for p in points], dtype=float)
            top = max(top, float(y.max()))
            zone = catalog.get(zone_id)
            if zone is not None:
                colour = REGION_COLOURS[regions.index(zone.region) % len(REGION_COLOURS)]
                line, symbol = _SIDE_STYLE[zone.side]
                name = zone.name
            else:
                colour = REGION_COLOURS[index % len(REGION_COLOURS)]
                line, symbol = QtCore.Qt.PenStyle.DotLine, "t"
                name = zone_id
            curve = self.plot.plot(
                x,
                y,
                pen=pg.mkPen(colour, width=2, style=line),
                symbol=symbol,
                symbolSize=7,
                symbolBrush=colour,
                symbolPen=pg.mkPen("w", width=1),
            )
            self.zone_curves[zone_id] = curve
            self.legend.addItem(curve, name)
        # LegendItem moves itself to (0, 0) as entries come (it expects to be anchored, not laid
        # out): lay the chart out again so that the legend is back beside the plot.
        layout = self.chart.ci.layout
        layout.invalidate()
        layout.activate()
        last = max(numbers)
        step = max(1, -(-last // MAX_SESSION_TICKS))  # ceil: at most ~20 labels
        ticks = [(n, str(n)) for n in range(1, last + 1) if (n - 1) % step == 0]
        self.plot.getAxis("bottom").setTicks([ticks, []])
        self.plot.setXRange(0.6, last + 0.4, padding=0)
        self.plot.setYRange(0, top * 1.1 if top > 0 else 1.0, padding=0)
        self.chart_stack.setCurrentWidget(self.chart)

    # -- plumbing ------------------------------------------------------------------------------

    @property
    def selected_session(self) -> str | None:
        """The id of the session selected in the timeline, if any."""
        item = self.timeline.currentItem()
        return None if item is None else str(item.data(0, QtCore.Qt.ItemDataRole.UserRole))

    def _activate(self, item: QtWidgets.QTreeWidgetItem | None) -> None:
        if item is not None:
            self.session_activated.emit(str(item.data(0, QtCore.Qt.ItemDataRole.UserRole)))

    def _open_first_match(self) -> None:
        """Enter in the search box: run the search now and open the first client found."""
        self._search_timer.stop()
        self._run_search()
        first = self.client_list.topLevelItem(0)
        if first is not None:
            self.client_list.setCurrentItem(first)
            self.client_list.setFocus()

    def _client_was_added(self, client_id: int | None) -> None:
        if client_id is None:
            return
        # Clear the search so the new client is in the list, then open their page.
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self._search_timer.stop()
        self._reload_list()
        self.select_client(client_id)
        self.client_added.emit(client_id)

    def _dialog_closed(self, _result: int) -> None:
        self.new_client_dialog = None

    def _repolish(self, frame: QtWidgets.QWidget) -> None:
        # The banner's text is styled by its frame's level too (a descendant selector), and Qt
        # re-evaluates only the widget that is polished.
        for widget in (frame, self.banner):
            repolish(widget)


def _anchor(session_id: str) -> str:
    return f"visit-{session_id}"


def _visit_html(session: SessionRow, appointments: Sequence[FollowUpRow], chosen: bool) -> str:
    """One session's visit as a block of the visits' record."""
    e = html.escape
    state = STATE_TEXT.get(session.state, session.state.capitalize())
    colour = STATE_COLOURS.get(session.state, "#1f2a33")
    name = session.protocol_name + (" (simulated)" if session.simulated else "")
    lines = [
        f"<p><b>{local_time(session.started_at)}</b> · {e(name)} · "
        f"<span style='color:{colour}; font-weight:bold'>{e(state)}</span></p>"
    ]
    items = []
    if session.goals:
        items.append(f"<span class='label'>Goals:</span> {_text_html(session.goals)}")
    for note in sorted(session.notes, key=lambda n: n.at):
        items.extend(_note_items(note))
    if not session.notes:
        items.append("<span class='muted'>No follow-up recorded with this session.</span>")
    items.extend(
        f"<span class='label'>Next appointment:</span> {e(plan.describe())}"
        for plan in appointments
    )
    lines.append("<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>")
    tint = f" bgcolor='{CHOSEN_VISIT}'" if chosen else ""
    return (
        f"<a name='{_anchor(session.id)}'></a>"
        f"<table width='100%' cellspacing='0' cellpadding='4'{tint}><tr><td>"
        + "".join(lines)
        + "</td></tr></table>"
    )


def _note_items(note: NoteRow) -> list[str]:
    """A follow-up note as list items: the reactions seen (or none), then the notes."""
    e = html.escape
    reactions = [r for r in note.reactions if r.kind]
    by = f"<span class='muted'>({local_time(note.at)}, {e(note.practitioner)})</span>"
    if reactions:
        listed = "".join(f"<li>{e(reaction_text(r.describe()))}</li>" for r in reactions)
        items = [f"<span class='label'>Reactions seen:</span> {by}<ul>{listed}</ul>"]
    else:
        items = [f"<span class='label'>Reactions:</span> none seen {by}"]
    if note.text:
        items.append(f"<span class='label'>Notes:</span> {_text_html(note.text)}")
    return items


def _loose_notes_html(notes: Sequence[NoteRow]) -> str:
    """Notes made outside a visit (e.g. a call the next day), newest first."""
    items = [item for note in notes for item in _note_items(note)]
    return (
        "<p><b>Notes outside a session</b></p><ul>"
        + "".join(f"<li>{item}</li>" for item in items)
        + "</ul>"
    )


def _text_html(text: str) -> str:
    return html.escape(text).replace("\n", "<br />")


def _session_numbers(sessions: Sequence[SessionRow], starts: Sequence[datetime]) -> list[int]:
    """Each charted session's number in the client's course (1 = first), matched on its start:
    a session that delivered nothing keeps its number, so the chart and the timeline agree."""
    oldest_first = [s.started_at for s in reversed(sessions)]
    numbers: list[int] = []
    cursor = 0
    for started in starts:
        position = next(
            (i for i in range(cursor, len(oldest_first)) if oldest_first[i] == started), None
        )
        if position is None:  # not in the loaded record (written meanwhile): count on
            numbers.append((numbers[-1] if numbers else 0) + 1)
            continue
        numbers.append(position + 1)
        cursor = position + 1
    return numbers


def _born(date_of_birth: date | None, birth_year: int | None) -> str:
    """The full date of birth, or the year for a client recorded with the year only."""
    if date_of_birth is not None:
        return date_of_birth.isoformat()
    return str(birth_year) if birth_year else ""


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _list_caption(query: str, found: int) -> str:
    if found == 0:
        return (
            f"No client matches “{query}”. Add them with New client…"
            if query
            else "No clients yet. Add one with New client…"
        )
    more = " (the first shown; type more of the name)" if found >= LIST_LIMIT else ""
    if query:
        return f"{_counted(found, 'client')} matching “{query}”{more}"
    return f"{_counted(found, 'client')}{more}"
