"""The clinic console's main window: workflow, face map, live scope, controls, and the status bar.

A thin layer over :class:`console.session.Console` and the engine: it shows their state and sends
the operator's commands in. Decisions (limits, contact, watchdog, when a stage may start) are made
in the core; the emergency stop calls the engine directly from the key or button handler.
"""

from __future__ import annotations

import contextlib
import html
import itertools
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

from console import __version__
from console.client_reactions import ClientReactions, Reaction
from console.course import CourseStatus
from console.drivers import DriverInfo
from console.engine.events import (
    EngineEvent,
    EngineState,
    PolarityReversed,
    Progress,
    SafetyEventRaised,
    SafetyKind,
    SessionEnded,
    SessionSummary,
    StateChanged,
    StepEnded,
    StepStarted,
)
from console.engine.runner import TreatmentEngine
from console.engine.safety import PreflightError
from console.faults import FaultInjector, FaultSpec
from console.operator_actions import ActionLog, OperatorAction, machine_unreachable
from console.plugins import broken_packs
from console.protocols import Protocol
from console.readings import (
    STATE_WORDS,
    contact_reading,
    output_reading,
    safety_tone,
    safety_words,
    state_words,
)
from console.records.errors import RecordError
from console.report import format_duration, format_net_charge, zone_summary_rows
from console.scenarios import Scenario, outcome_of
from console.session import Connection, Console, ConsoleError
from console.ui import dialogs
from console.ui.app import prepare_demo_visit
from console.ui.bridge import EngineBridge
from console.ui.controls import ControlPanel
from console.ui.emergency import EmergencyKeyGuard
from console.ui.facemap import FaceMapWidget
from console.ui.idle_watch import LOCK_AFTER_CHOICES_MIN
from console.ui.machine_dialog import MachineChoice, MachineDialog
from console.ui.plugin_watch import PluginFailureNote
from console.ui.restyle import repolish, set_style_state
from console.ui.scope import Marker, MarkerKind, ScopeWidget
from console.ui.time_control import TimeControlBar
from console.ui.window_access import WindowAccess
from console.ui.window_start import FirstFrame
from console.ui.workflow_panel import WorkflowPanel, new_visit
from console.workflow import Stage, Visit
from console.zone_progress import zone_states
from console.zones import zone_catalog

# The records' modules load SQLAlchemy: imported when the records open. The views and tools
# not on the first screen (chair and projector views, editor, comparison, scenarios) are
# imported when first opened: the window comes up sooner.
if TYPE_CHECKING:
    from console.demonstration import Demonstration
    from console.records.recorder import RecordsTrouble, SessionRecorder
    from console.records.store import RecordStore
    from console.records.visit_archive import VisitArchive
    from console.ui.demo_view import DemonstrationView
    from console.ui.protocol_compare import ProtocolComparison
    from console.ui.protocol_editor import ProtocolEditor
    from console.ui.records_panel import RecordsPanel
    from console.ui.scenario_dialog import ScenarioDialog

log = logging.getLogger(__name__)

#: How often the progress bars and the contact label change at most (the engine reports more
#: often than a person reads, and a progress bar repaints at once on every value).
PROGRESS_SHOWN_HZ = 20.0


#: The chair view's smallest size: its type scales with the room it gets.
CHAIR_VIEW_MINIMUM = (360, 300)


def _chair_placeholder() -> QtWidgets.QWidget:
    """Holds the chair view's place in the treatment view until it is first shown, with its
    minimum size (a stacked page's minimum holds for the face map and scope too)."""
    placeholder = QtWidgets.QWidget()
    placeholder.setMinimumSize(*CHAIR_VIEW_MINIMUM)
    return placeholder


class MainWindow(QtWidgets.QMainWindow):
    """The console window. ``console`` must already have its plugins loaded."""

    connected = QtCore.Signal(object)  # Connection or ConsoleError, from the connect worker
    records_trouble = QtCore.Signal(str, str)  # message, level; from the recorder's thread
    records_recovered = QtCore.Signal()  # from the recorder's thread
    client_reacted = QtCore.Signal(object)  # a scenario client's Reaction, from the event thread

    def __init__(
        self,
        console: Console,
        settings: QtCore.QSettings,
        store: RecordStore | None = None,
        *,
        guard_keys_when_painted: bool = True,
    ) -> None:
        """``guard_keys_when_painted=False`` leaves the Esc guard's installation to the caller
        (``run_gui`` installs it once the window is up and connected); a session's start
        installs it in any case."""
        super().__init__()
        self.console = console
        self.settings = settings
        self.store: RecordStore | None = None
        self.archive: VisitArchive | None = None
        #: The records are being opened (just after the window is shown): no session may start.
        self.records_opening = False
        self.recorder: SessionRecorder | None = None
        #: Why the records cannot be written, if they cannot: then no session may start.
        self.records_problem: str | None = None
        self._records_message = ""  # a records failure stays visible under later alerts
        self._records_level = "warning"
        #: Recorders of ended sessions still writing (their database was unavailable).
        self._finishing_recorders: list[SessionRecorder] = []
        self._quit_unsaved_confirmed = False
        self.records_trouble.connect(self._on_records_trouble)
        self.records_recovered.connect(self._on_records_recovered)
        self.engine: TreatmentEngine | None = None
        self.session_protocol: Protocol | None = None
        self.bridge = EngineBridge(self)
        self.bridge.event.connect(self._on_engine_event)
        self.connected.connect(self._on_connected)
        self.setWindowTitle("Microcurrent Console")

        practitioner = str(settings.value("practitioner", ""))
        self.visit: Visit = new_visit(practitioner)
        self.workflow = self._visit_workflow()
        self.workflow.consultation.practitioner.textChanged.connect(
            lambda text: self.settings.setValue("practitioner", text)
        )
        self.face_map = FaceMapWidget()
        self.face_map.zone_clicked.connect(self.show_zone)
        self.scope = ScopeWidget()
        self.scope.set_window(float(settings.value("scope_window", 5)))
        self.scope.window_choice.currentIndexChanged.connect(
            lambda _: self.settings.setValue("scope_window", self.scope.window_s)
        )
        self.controls = ControlPanel()
        self.controls.start_requested.connect(self.start_session)
        self.controls.pause_requested.connect(self.pause)
        self.controls.resume_requested.connect(self.resume)
        self.controls.stop_requested.connect(self.stop_session)
        self.controls.emergency_stop_requested.connect(self.emergency_stop)
        self.controls.intensity_requested.connect(self.adjust_intensity)
        self.controls.gel_requested.connect(self.reapply_gel)
        self.controls.secured.connect(self.machine_secured)

        self.banner = QtWidgets.QLabel("")
        self.banner.setObjectName("modeBanner")
        self.banner.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.banner.setWordWrap(
            True
        )  # shares its row with the time control; never widens the window
        self.banner.setMinimumWidth(240)
        self.alert = QtWidgets.QLabel(" ")  # one line tall when hidden (see below)
        self.alert.setObjectName("alertBanner")
        self.alert.setWordWrap(True)
        self.alert.hide()
        self.time_control = TimeControlBar()
        self.time_control.changed.connect(lambda: self._update_banner(self.console.connection))
        #: The training scenario this visit plays (Simulation ▸ Training scenario…), if any.
        self.scenario: Scenario | None = None
        #: What the trainee did in the scenario's session (judged at its debrief).
        self.action_log: ActionLog | None = None
        self._connecting = False  # a connect worker is opening a machine
        self.client_reactions: ClientReactions | None = None
        self.client_reacted.connect(self._on_client_reaction)
        self._editor: ProtocolEditor | None = None
        self.demo_view: DemonstrationView | None = None
        self._session_origin_s = 0.0  # the session's start on the clock (scope and views)
        self._comparison: ProtocolComparison | None = None
        self._scenario_picker: ScenarioDialog | None = None
        self._quit_confirmed = False  # "stop the session and quit?" was answered Yes
        self._split_placed = False  # the forms' and the treatment view's widths, set at show
        self.scenario_label = QtWidgets.QLabel("")
        self.scenario_label.setObjectName("scenarioBanner")
        self.scenario_label.setWordWrap(True)
        self.scenario_label.hide()
        self.cue = QtWidgets.QLabel(" ")
        self.cue.setObjectName("stepCue")
        self.cue.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.cue.setWordWrap(True)  # a long technique wraps; it never widens the window
        self.cue.hide()

        right = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        right.addWidget(self.face_map)
        right.addWidget(self.scope)
        right.setStretchFactor(0, 2)
        right.setStretchFactor(1, 3)
        #: What the chair view shows (the session's events followed from the start), made when
        #: a session starts or the view is first shown; the view itself is built when first
        #: shown (see ``chair_view``).
        self._chair_demo: Demonstration | None = None
        self._chair_view: DemonstrationView | None = None
        self.treatment_view = QtWidgets.QStackedWidget()
        self.treatment_view.addWidget(right)
        self.treatment_view.addWidget(_chair_placeholder())
        self.splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.workflow)
        self.splitter.addWidget(self.treatment_view)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 5)
        central = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(central)
        layout.setContentsMargins(8, 4, 8, 4)
        top = QtWidgets.QHBoxLayout()
        top.setSpacing(6)
        top.addWidget(self.banner, 1)
        top.addWidget(self.time_control)
        layout.addLayout(top)
        layout.addWidget(self.scenario_label)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.cue)
        layout.addWidget(self.alert)
        layout.addWidget(self.controls)
        # Treatment and Clients share the window as tabs (a dock would not fit a 1440 px screen).
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.tabs.addTab(central, "Treatment")
        self.tabs.tabBar().setVisible(False)  # shown once there is a second tab
        #: Sign-in and the lock (records with accounts): a page in front of the tabs.
        self.access = WindowAccess(self, self.tabs, settings, self.emergency_stop)
        self.access.changed.connect(self._access_changed)
        self._visit_account: int | None = None  # the account that began this visit
        self.setCentralWidget(self.access.stack)

        self.machine_label = QtWidgets.QLabel("No machine")
        self.state_label = QtWidgets.QLabel(state_words(EngineState.IDLE)[0])
        self.state_label.setObjectName("stateLabel")
        status = self.statusBar()
        widest = max(STATE_WORDS.values(), key=self.state_label.fontMetrics().horizontalAdvance)
        self.state_label.setMinimumWidth(
            self.state_label.fontMetrics().horizontalAdvance(widest + " (engine: interrupted)")
        )
        status.addWidget(self.machine_label, 1)
        #: Names the plugins that failed (at start or in a session), linked to Help ▸ Plugins….
        self.plugin_note = PluginFailureNote(console.host, self.show_plugins, self)
        status.addPermanentWidget(self.plugin_note)
        status.addPermanentWidget(self.state_label)
        #: Show kΩ, µC and the engine's state names beside the plain words (View menu).
        self.engineering_figures = _as_bool(settings.value("engineering_figures", False))
        self.controls.contact.set_show_figures(self.engineering_figures)

        self._latest_progress: Progress | None = None
        self._progress_timer = QtCore.QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(round(1000 / PROGRESS_SHOWN_HZ))
        self._progress_timer.timeout.connect(self._show_latest_progress)
        self.records: RecordsPanel | None = None
        if store is not None:
            self.attach_records(store)
        self._build_actions()
        self._access_changed()
        self._protocol_chosen(
            self.workflow.application.protocol.id if self.workflow.application.protocol else ""
        )
        self._update_banner(None)
        self._sync_controls()
        if _as_bool(settings.value("chair_view", False)):
            self.set_chair_view(True)
        self.workflow.focus_first_field()  # the client's name: type at once
        geometry = settings.value("geometry")
        if isinstance(geometry, QtCore.QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1440, 900)
        #: Esc in any window of the application, modal or not, is the emergency stop. Installed
        #: once the window's first frame is painted (see ``EmergencyKeyGuard.install``), or when
        #: a session starts if that comes first: an application-wide filter sees every event,
        #: and no output can be on before a session.
        self.emergency_keys = EmergencyKeyGuard(self.emergency_stop, self, install=False)
        if guard_keys_when_painted:
            FirstFrame(self, self.emergency_keys.install)

    def _visit_workflow(self) -> WorkflowPanel:
        """The stage pages for ``self.visit``, on the remembered protocol from the start (its
        steps are laid out once), wired to this window."""
        workflow = WorkflowPanel(
            self.visit, self.console.host.protocols, str(self.settings.value("protocol", "lifting"))
        )
        workflow.course_provider = self._visit_course  # for the aftercare sheet
        workflow.report_auditor = self._audit_aftercare
        workflow.application.protocol_chosen.connect(self._protocol_chosen)
        workflow.stage_changed.connect(self._stage_changed)
        return workflow

    def attach_records(self, store: RecordStore) -> None:
        """Record this window's visits and sessions in ``store`` from now on, and show its
        clients (the window may be built before its records are open; see ``run_gui``)."""
        from console.records.visit_archive import VisitArchive

        self.store = store
        self.archive = VisitArchive(store, self._records_error, lambda: self.access.signed_in)
        self.archive.follow(self.visit)
        self.records_opening = False
        self._build_records(store)
        self.access.attach(store)

    def _build_records(self, store: RecordStore) -> None:
        """The client records, in a dock beside the treatment (File ▸ Clients, Ctrl+K)."""
        from console.ui.records_panel import RecordsPanel

        self.records = RecordsPanel(
            store,
            self.console.host.protocols,
            lambda: (
                self.access.practitioner()
                or self.visit.practitioner
                or self.workflow.consultation.practitioner.text()
            ),
            signed_in=lambda: self.access.signed_in,
        )
        self.records.start_session_requested.connect(self.start_visit_for)
        self.records.session_activated.connect(self.show_session_record)
        self.tabs.addTab(self.records, "Clients")
        self.tabs.tabBar().setVisible(True)

    def save_session_report(self) -> None:
        """The PDF treatment report of the session chosen in Clients, or of this visit's."""
        if self.store is None:
            return
        from console.records.reports import unprintable_note, write_session_pdf

        on_clients = self.records is not None and self.tabs.currentWidget() is self.records
        session_id = (self.records.selected_session if on_clients and self.records else None) or (
            self.archive.session_id if self.archive is not None else None
        )
        if not session_id:
            dialogs.inform(
                self, "Session report", "Choose a session in Clients, or run one in this visit."
            )
            return
        try:
            session = self.store.session(session_id)
            client = self.store.client(session.client_id) if session.client_id else None
        except RecordError as error:
            dialogs.warn(self, "Session report", str(error))
            return
        suggested = f"treatment-{session.started_at.astimezone():%Y-%m-%d}-{session.id[:8]}.pdf"

        def write(path: Path) -> None:
            if not self.audit_access("report", [session.client_id], f"session {session.id[:8]}"):
                return  # an access the trail cannot hold is not made
            try:
                missing = write_session_pdf(session, client, path)
            except OSError as error:
                dialogs.warn(self, "Session report", str(error))
                return
            if missing:
                self._show_alert(f"Report saved: {path}. {unprintable_note(missing)}", "warning")
            else:
                self._show_alert(f"Report saved: {path}", "ok")

        dialogs.choose_save_file(self, "Save the session report", suggested, "PDF (*.pdf)", write)

    def export_sessions(self) -> None:
        """Every session and every step, as two CSV files."""
        if self.store is None:
            return
        from console.records.reports import export_csv

        store = self.store

        def export(target: Path) -> None:
            steps_path = target.with_name(f"{target.stem}-steps{target.suffix or '.csv'}")
            clients: dict[int | None, None] = {}

            def noted(rows):  # type: ignore[no-untyped-def]
                for row in rows:
                    clients[row.client_id] = None
                    yield row

            try:
                count, steps = export_csv(noted(store.iter_export()), target, steps_path)
            except (RecordError, OSError) as error:
                dialogs.warn(self, "Export sessions", str(error))
                return
            if not self.audit_access("export", list(clients) or [None], "sessions exported as CSV"):
                with contextlib.suppress(OSError):  # never a file the trail does not know of
                    target.unlink()
                    steps_path.unlink()
                return
            self._show_alert(
                f"Exported {count} sessions to {target} and {steps} steps to {steps_path}", "ok"
            )

        dialogs.choose_save_file(self, "Export sessions", "sessions.csv", "CSV (*.csv)", export)

    def audit_access(self, action: str, client_ids: list[int | None], detail: str = "") -> bool:
        """Append an access to the records' audit trail (who: the signed-in account, or the
        computer's user without accounts). False, said in a box, if the trail cannot take it:
        the caller then does not make the access."""
        if self.store is None:
            return True
        from console.records import audit

        try:
            audit.record(self.store, self.access.signed_in, action, client_ids, detail)
        except RecordError as error:
            dialogs.warn(
                self,
                "Audit trail unavailable",
                f"This access cannot be noted in the audit trail, so it is not made: {error}",
            )
            return False
        return True

    def _audit_aftercare(self, detail: str) -> bool:
        """A client's aftercare sheet printed: a report, in the trail (records only)."""
        reference = self.visit.client.reference
        return self.audit_access("report", [int(reference) if reference else None], detail)

    def toggle_clients(self) -> None:
        """Between the Clients tab and the treatment."""
        if self.records is None:
            return
        showing = self.tabs.currentWidget() is self.records
        self.tabs.setCurrentIndex(0 if showing else self.tabs.indexOf(self.records))
        if not showing:
            self.records.refresh()

    def _visit_course(self) -> CourseStatus | None:
        """The visit's client's course, this session counted (None without records)."""
        if self.archive is None:
            return None
        return self.archive.course(self.visit, self.console.host.protocols)

    def start_visit_for(self, client_id: int, name: str) -> None:
        """A new visit for a client of the records (from the Clients panel)."""
        if self._treating():
            dialogs.inform(
                self, "Session running", "Stop the session before starting a new client."
            )
            return
        self.new_client()
        self.visit.client.name = name
        self.visit.client.reference = str(client_id)
        self.workflow.consultation.name.setText(name)
        record = self.records.current_client if self.records is not None else None
        if record is not None and record.id == client_id:
            # The screening's age rule reads the date of birth; a record with the year only
            # says so, and the full date is asked.
            self.workflow.consultation.set_date_of_birth(record.date_of_birth, record.birth_year)
            # The goals on record, to confirm or change at this consultation.
            self.workflow.consultation.goals.setPlainText(record.goals)
        self.workflow.go_to(Stage.CONSULTATION)
        self.tabs.setCurrentIndex(0)

    def show_session_record(self, session_id: str) -> None:
        """A recorded session: what was delivered, zone by zone, and its events."""
        if self.store is None:
            return
        try:
            row = self.store.session(session_id)
        except RecordError as error:
            dialogs.warn(self, "Session record", str(error))
            return
        if not self.audit_access("view", [row.client_id], f"session {row.id[:8]}"):
            return
        zones = zone_catalog()
        lines = [
            f"<b>{row.protocol_name}</b> for {row.client_name or 'no client'} — {row.state}",
            f"{row.started_at.astimezone():%Y-%m-%d %H:%M} · {row.machine} · by {row.practitioner}",
            "<table cellspacing=6><tr><th>Zone</th><th>time</th><th>µA</th><th>µC</th>"
            "<th>net µC</th></tr>",
        ]
        for step in row.steps:
            name = zones[step.zone].name if step.zone in zones else step.zone
            net = "—" if step.net_charge_uc is None else format_net_charge(step.net_charge_uc)
            lines.append(
                f"<tr><td>{name}</td><td>{step.actual_s:.0f} s</td>"
                f"<td>{step.mean_current_ua:.0f}</td><td>{step.charge_uc:,.0f}</td>"
                f"<td>{net}</td></tr>"
            )
        lines.append("</table>")
        lines += [f"⚠ {event.message}" for event in row.events]
        dialogs.inform(self, "Session record", "<br>".join(lines))

    # -- actions and shortcuts -------------------------------------------------------------

    def _build_actions(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        self._action(file_menu, "&New client", "Ctrl+N", self.new_client, "Start a new visit")
        if self.records is not None:
            self._action(
                file_menu,
                "&Clients",
                "Ctrl+K",
                self.toggle_clients,
                "Find a client, their history and course; start their session",
            )
            self._action(
                file_menu,
                "Save session &report (PDF)…",
                "Ctrl+P",
                self.save_session_report,
                "One-page report of this visit's session, or of the session chosen in Clients",
            )
            self._action(
                file_menu,
                "&Export sessions (CSV)…",
                "Ctrl+Shift+E",
                self.export_sessions,
                "Every recorded session and step, as CSV files for a spreadsheet",
            )
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", "Ctrl+Q", self.close, "Output off and quit")
        machine_menu = menu.addMenu("&Machine")
        self._action(
            machine_menu, "&Connect…", "Ctrl+M", self.choose_machine, "Choose and connect a machine"
        )
        self._action(
            machine_menu,
            "&Disconnect",
            "Ctrl+Shift+M",
            self.disconnect_machine,
            "Output off, release the machine",
        )
        treatment = menu.addMenu("&Treatment")
        self._action(treatment, "&Start", "Ctrl+Return", self.start_session, "Start the protocol")
        # Enabled only while a session runs or is paused (see _sync_controls): otherwise Space
        # ticks the focused box or presses the focused button, as in any form.
        self.pause_action = self._action(
            treatment, "&Pause / resume", "Space", self.toggle_pause, "Output off / ramp back up"
        )
        self._action(
            treatment, "S&top session", "Ctrl+.", self.stop_session, "End the session early"
        )
        self._action(
            treatment, "&Intensity up", "+", lambda: self.adjust_intensity(10.0), "+10 µA, ramped"
        )
        self._action(
            treatment,
            "Intensity &down",
            "-",
            lambda: self.adjust_intensity(-10.0),
            "−10 µA, at once",
        )
        self._action(
            treatment,
            "Re-apply &gel",
            "G",
            self.reapply_gel,
            "Output off while you re-apply gel; resume ramps up from zero",
        )
        treatment.addSeparator()
        estop = self._action(
            treatment, "&EMERGENCY STOP", "Esc", self.emergency_stop, "Output off now"
        )
        # The key itself is claimed for every window, modal boxes included, by the emergency key
        # guard (console/ui/emergency.py); the action shows it in the menu and in F1.
        estop.setShortcutContext(QtCore.Qt.ShortcutContext.ApplicationShortcut)
        self._action(
            treatment, "&Next stage", "Ctrl+Right", self.workflow.next_stage, "Next workflow stage"
        )
        protocols = menu.addMenu("&Protocols")
        self._action(
            protocols,
            "Protocol &editor…",
            "Ctrl+E",
            self.open_protocol_editor,
            "Write or change a protocol pack (TOML) without Python, checked as you type",
        )
        self._action(
            protocols,
            "&Compare protocols",
            "Ctrl+Shift+C",
            self.show_comparison,
            "Lifting, toning and circulation side by side: waveforms, zones, timings",
        )
        self._action(
            protocols,
            "&Reload protocols",
            "F5",
            self.reload_protocols,
            "Read the protocol packs folder again (after editing a pack outside the console)",
        )
        simulation = menu.addMenu("Si&mulation")
        self.time_actions = [
            self._action(
                simulation,
                "&Hold / run time",
                "Ctrl+Space",
                self.time_control.toggle_time,
                "Hold simulated time to explain; the treatment waits with it",
            ),
            self._action(
                simulation,
                "&Step one second",
                "Ctrl+Shift+Space",
                self.time_control.single_step,
                "Play one simulated second, then hold again",
            ),
            self._action(
                simulation, "&Faster", "Ctrl+]", self.time_control.faster, "Next speed up (×60 max)"
            ),
            self._action(
                simulation, "S&lower", "Ctrl+[", self.time_control.slower, "Next speed down"
            ),
        ]
        simulation.addSeparator()
        self._action(
            simulation,
            "Training &scenario…",
            "F8",
            self.choose_scenario,
            "Play a training scenario (faults, client, teaching goal) on the simulated machine",
        )
        view = menu.addMenu("&View")
        self._action(
            view,
            "&Demonstration view",
            "F9",
            self.show_demonstration,
            "A large-type window for a projector: probe path, protocol and measured current",
        )
        figures = self._action(
            view,
            "&Engineering figures",
            "Ctrl+Shift+F",
            lambda: self.set_engineering_figures(not self.engineering_figures),
            "Show kΩ, µC and the engine's states beside the plain readings",
        )
        figures.setCheckable(True)
        figures.setChecked(self.engineering_figures)
        self.chair_action = self._action(
            view,
            "&Chair view",
            "F10",
            lambda: self.set_chair_view(not self.chair_view_shown),
            "Large step, time left, current and contact, and the probe path, readable from "
            "the treatment chair, in place of the face map and scope",
        )
        self.chair_action.setCheckable(True)
        view.addSeparator()
        self._action(
            view,
            "&Freeze scope",
            "F",
            lambda: self.scope.set_frozen(not self.scope.frozen),
            "Hold the scope picture",
        )
        for index, seconds in enumerate((2, 5, 10, 30), start=1):
            self._action(
                view,
                f"Scope window {seconds} s",
                f"Ctrl+{index}",
                lambda s=seconds: self.scope.set_window(s),
                f"Show the last {seconds} s on the scope",
            )
        self._build_account_menu(menu)
        help_menu = menu.addMenu("&Help")
        self._action(help_menu, "&Keyboard shortcuts", "F1", self.show_shortcuts, "Every shortcut")
        self._action(
            help_menu,
            "&Plugins…",
            "Ctrl+Shift+P",
            self.show_plugins,
            "Every plugin and its status; disable one from the next start",
        )
        self._action(help_menu, "&About", "Shift+F1", self.show_about, "Version and loaded plugins")

    def _build_account_menu(self, menu: QtWidgets.QMenuBar) -> None:
        """Account: lock, sign out, the automatic lock's delay, and setting up accounts."""
        account = menu.addMenu("&Account")
        self.lock_action = self._action(
            account, "&Lock now", "Ctrl+L", self.access.lock, "Lock the window until you sign in"
        )
        self.sign_out_action = self._action(
            account,
            "&Sign out",
            "Ctrl+Shift+L",
            self.sign_out,
            "Sign out; the next practitioner signs in",
        )
        account.addSeparator()
        self.set_up_accounts_action = self._action(
            account,
            "Set up &accounts (create the administrator)…",
            "Ctrl+Alt+A",
            self.access.offer_first_administrator,
            "Protect the records: practitioners sign in, every access is audited",
        )
        self.lock_delay_action = self._action(
            account,
            "Lock when &idle…",
            "Ctrl+Alt+L",
            self.choose_lock_delay,
            "How long the console waits without a touch before it locks",
        )
        account.addSeparator()
        self.accounts_action = self._action(
            account,
            "A&ccounts…",
            "Ctrl+Alt+C",
            self.show_accounts,
            "Add practitioners' accounts, unlock or disable one (administrator)",
        )
        self.trail_action = self._action(
            account,
            "Audit &trail…",
            "Ctrl+Alt+T",
            self.show_audit_trail,
            "Every access to the records, and a check of the trail's chain (administrator)",
        )
        self._sync_account_actions()

    def _sync_account_actions(self) -> None:
        from console.records.signed_in import Permission, allowed

        who = self.access.signed_in
        self.lock_action.setEnabled(who is not None)
        self.sign_out_action.setEnabled(who is not None)
        self.set_up_accounts_action.setVisible(
            self.store is not None and not self.access.accounts_on
        )
        self.accounts_action.setVisible(
            who is not None and who.may(Permission.MANAGE_ACCOUNTS) and self.store is not None
        )
        # Without accounts the trail is open to whoever uses the records, as the records are.
        self.trail_action.setVisible(
            self.store is not None and allowed(who, Permission.READ_AUDIT, self.access.accounts_on)
        )
        if self.records is not None:
            self.records.set_access(self.access.accounts_on)

    def show_accounts(self) -> None:
        """The administrator's accounts dialog."""
        from console.records.signed_in import Permission

        who = self.access.signed_in
        if self.store is None or who is None or not who.may(Permission.MANAGE_ACCOUNTS):
            return
        from console.ui.accounts_dialog import AccountsDialog

        dialog = AccountsDialog(self.store, who, self)
        dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.accounts_dialog = dialog

    def show_audit_trail(self) -> None:
        """The whole audit trail (its newest entries) and the chain's check."""
        if self.store is None or not self.trail_action.isVisible():
            return
        from console.ui.audit_view import AuditTrailDialog

        dialog = AuditTrailDialog(self.store, None, "Audit trail", self)
        dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.audit_dialog = dialog

    def choose_lock_delay(self) -> None:
        """Ask how long the console may sit untouched before it locks (kept per computer)."""
        words = {m: ("Never" if m == 0 else f"After {m} min") for m in LOCK_AFTER_CHOICES_MIN}
        box = QtWidgets.QInputDialog(self)
        box.setWindowTitle("Lock when idle")
        box.setLabelText(
            "Lock the console when nobody has touched it for (a running treatment goes on "
            "behind the lock, and Esc still stops it):"
        )
        box.setComboBoxItems(list(words.values()))
        box.setTextValue(words[self.access.lock_after_min])
        box.textValueSelected.connect(
            lambda text: self.access.set_lock_after(
                next(m for m, said in words.items() if said == text)
            )
        )
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # not exec(): the window, its scope and its stop stay live
        self._lock_delay_box = box

    def sign_out(self) -> None:
        """Sign out (not while a treatment runs: lock the window instead)."""
        if self._treating():
            dialogs.inform(
                self,
                "Session running",
                "Stop the session before signing out, or lock the window (Ctrl+L): the "
                "treatment goes on behind the lock.",
            )
            return
        self.access.sign_out()

    def _access_changed(self) -> None:
        """After a sign-in, sign-out, lock or unlock: the practitioner, the actions, the visit."""
        if not hasattr(self, "lock_action"):
            return  # records attached while the window is built: done once its menus are
        who = self.access.signed_in
        if (
            who is not None
            and self._visit_account not in (None, who.account_id)
            and not self._treating()
        ):
            self.new_client()  # the next practitioner never sees the last one's client
        self._visit_account = who.account_id if who is not None else self._visit_account
        self._apply_account_to_visit()
        self._sync_account_actions()
        self._sync_controls()  # (and keeps every action off behind the page)
        self._show_treatment_on_access_page()

    def _apply_account_to_visit(self) -> None:
        """With accounts, the practitioner is the signed-in account (not typed)."""
        who = self.access.signed_in
        field = self.workflow.consultation.practitioner
        if who is not None:
            field.setText(who.name)
            field.setToolTip("The signed-in account (Account ▸ Sign out to change)")
        field.setReadOnly(self.access.accounts_on)

    def _show_treatment_on_access_page(self) -> None:
        """The lock page shows a running treatment's state and the stop (never a client)."""
        if not self._treating() or self.engine is None:
            self.access.show_treatment(None)
            return
        words, _tone = state_words(self.engine.state)
        protocol = self.session_protocol.name if self.session_protocol is not None else ""
        left = ""
        progress = self._latest_progress
        if progress is not None:
            left = f" · {format_duration(progress.session_remaining_s)} left"
        self.access.show_treatment(f"{words}: {protocol}{left}")

    def _action(
        self, menu: QtWidgets.QMenu, text: str, shortcut: str, slot, tip: str
    ) -> QtGui.QAction:  # type: ignore[no-untyped-def]
        action = QtGui.QAction(text, self)
        if shortcut:
            action.setShortcut(QtGui.QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.setToolTip(f"{tip} ({shortcut})" if shortcut else tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)
        return action

    # -- machine ---------------------------------------------------------------------------

    def connect_machine(self, choice: MachineChoice) -> None:
        """Connect in a worker thread (opening a port may take seconds); the UI stays live."""
        self.machine_label.setText(f"Connecting to {choice.driver_id}…")
        self._connecting = True
        speed = choice.speed if choice.speed != 1 else None

        def work() -> None:
            try:
                result: object = self.console.connect(choice.driver_id, choice.port, speed)
            except ConsoleError as error:
                result = error
            self.connected.emit(result)

        threading.Thread(target=work, name="mc-connect", daemon=True).start()

    def show_connection(self, connection: Connection | None) -> None:
        """Show a machine that is already connected (or none)."""
        self._on_connected(connection if connection is not None else ConsoleError("no machine"))

    def _on_connected(self, result: object) -> None:
        self._connecting = False
        if isinstance(result, ConsoleError):
            self.machine_label.setText("No machine connected")
            dialogs.warn(self, "Machine not connected", str(result))
            self._update_banner(None)
        else:
            assert isinstance(result, Connection)
            self.settings.setValue("driver", result.info.id)
            self.time_control.bind(self.console.time_control)
            if self._editor is not None:  # its checks follow the machine now connected
                self._editor.set_machine(result.info.capabilities, result.identity.model)
            self._update_banner(result)
        self._sync_controls()

    def choose_machine(self) -> None:
        """Show the machine picker."""
        if self._treating():
            dialogs.inform(self, "Session running", "Stop the session before changing the machine.")
            return
        current = self.console.connection.info.id if self.console.connection else None
        dialog = MachineDialog(self.console.host.drivers, current, self, settings=self.settings)
        if dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted:
            choice = dialog.choice()
            if choice is not None:
                self.connect_machine(choice)

    def disconnect_machine(self) -> None:
        """Output off and release the machine (asks first while a session runs)."""
        if self._treating():
            dialogs.ask(
                self,
                "Session running",
                "A session is running. Stop it (output off, the session is kept as stopped) "
                "and disconnect the machine?",
                self._stop_and_disconnect,
            )
            return
        self._release_machine()

    def _stop_and_disconnect(self) -> None:
        self.stop_session()
        self._release_machine()

    def _release_machine(self) -> None:
        # The engine stays referenced: its session-ended event, still on its way through the
        # bridge, records what was delivered in this visit.
        self.console.disconnect()
        if self._editor is not None:  # nothing to check against but the hard limits
            self._editor.set_machine(None)
        self._update_banner(None)
        self._sync_controls()

    def _update_banner(self, connection: Connection | None) -> None:
        for action in self.time_actions:
            action.setEnabled(self.time_control.clock is not None)
        if connection is None:
            self.time_control.bind(None)
            self.banner.setText("No machine connected — Machine ▸ Connect (Ctrl+M)")
            self.banner.setProperty("mode", "none")
            self.machine_label.setText("No machine connected")
        elif connection.info.simulated:
            pace = self.time_control.describe()
            if not pace:  # a clock of the caller's (screenshots): say its pace if it has one
                speed = getattr(self.console.clock, "speed", None)
                pace = f"×{speed:g} speed" if speed and speed != 1 else ""
            self.banner.setText(
                "SIMULATION — simulated machine and skin; no current reaches anyone"
                + (f" — {pace}" if pace else "")
            )
            self.banner.setProperty("mode", "simulation")
        elif getattr(self.console.driver, "emulated", False) is True:
            self.banner.setText(
                f"EMULATED MACHINE — {connection.identity.model} on {connection.port}; "
                "it said it drives no current (simulated skin)"
            )
            self.banner.setProperty("mode", "simulation")
        else:
            self.banner.setText(
                f"REAL MACHINE — {connection.info.vendor} {connection.identity.model}"
            )
            self.banner.setProperty("mode", "real")
        if connection is not None:
            ident = connection.identity
            port = f" on {connection.port}" if connection.port else ""
            self.machine_label.setText(
                f"Machine: {ident.model} · serial {ident.serial} · firmware {ident.firmware}{port} · connected"
            )
        repolish(self.banner)
        self._follow_in_demonstration()

    # -- session ---------------------------------------------------------------------------

    def start_session(self, *, again: bool = False) -> None:
        """Start the chosen protocol for this visit's client (Application stage). After a
        session that did not finish, a new one for the same client is asked for first
        (``again``: it was)."""
        protocol = self.workflow.application.protocol
        if protocol is None or self.access.shown:
            return  # (behind the sign-in or lock page nothing starts)
        if self.console.connection is None:
            dialogs.warn(self, "No machine", "Connect a machine first (Ctrl+M).")
            return
        if self.visit.stage is not Stage.APPLICATION and not self.workflow.go_to(Stage.APPLICATION):
            dialogs.warn(self, "Application cannot start", self.workflow.blockers.text())
            return
        self.controls.secure_button.hide()
        if self._treating():
            return
        if self.records_problem:
            dialogs.warn(
                self,
                "The treatment cannot start",
                f"The records database is unavailable, so the session could not be kept: "
                f"{self.records_problem}",
            )
            return
        if self.records_opening:  # only a click queued before the records opened gets here
            dialogs.inform(
                self,
                "The treatment cannot start yet",
                "The records database is still opening; start again in a moment.",
            )
            return
        if self.visit.application_ended_cleanly or (
            self.visit.application is not None and self.scenario is not None
        ):
            dialogs.inform(
                self,
                "Already treated",
                "This visit's application has run. Start a new client (Ctrl+N) for another session.",
            )
            return
        if self.visit.may_treat_again and not again:
            dialogs.ask(
                self,
                "New session",
                f"The last session did not finish; it stays in the records as it ended. Start "
                f"a new session of {protocol.name} for {self.visit.client.name}?",
                lambda: self.start_session(again=True),
            )
            return
        self.emergency_keys.install()  # Esc stops, in every window, before output can be on
        connection = self.console.connection
        if self.scenario is not None and not connection.info.simulated:
            dialogs.warn(
                self,
                "The treatment cannot start",
                "A training scenario plays on the simulated machine only; start a new client "
                "(Ctrl+N) to treat on this machine.",
            )
            return
        try:
            engine = self.console.new_session(
                protocol,
                self.visit.screening_result,
                client_ref=self.visit.client.reference or self.visit.client.name,
                subscribers=(self.bridge.post,),
            )
        except (PreflightError, ConsoleError) as error:
            dialogs.warn(self, "The treatment cannot start", str(error))
            return
        if self.archive is not None:
            try:
                # Client, screening and consent now; the session row before output is on.
                self.recorder = self.archive.before_treatment(
                    self.visit,
                    engine,
                    self._records_trouble_from_thread,
                    self._records_recovered_from_thread,
                )
            except RecordError as error:
                engine.close()
                dialogs.warn(
                    self,
                    "The treatment cannot start",
                    f"The session cannot be recorded, so it does not start: {error}",
                )
                return
        self.engine = engine
        self._records_message = ""
        self.session_protocol = protocol
        self.controls.reset_progress()
        self._latest_progress = None
        self.scope.attach(engine.ring, engine.capabilities.sample_rate_hz, self.console.clock.now())
        self._session_origin_s = self.console.clock.now()
        self.time_control.set_origin(self._session_origin_s)
        self._follow_in_demonstration()
        self.scope.set_fixed_ranges(
            1.2 * max(step.waveform.current_ua for step in protocol.steps),
            engine.capabilities.compliance_v,
        )
        self.controls.contact.set_limits(engine.limits)
        self._refresh_readouts()
        self.alert.hide()
        try:
            self.console.start_session(
                engine, recorder=self.recorder, faults=self._scenario_faults()
            )
        except (RecordError, ConsoleError) as error:
            engine.close()
            self.engine = None
            if self.recorder is not None:
                self.recorder.close(0)
                self.recorder = None
            dialogs.warn(
                self,
                "The treatment cannot start",
                f"The session cannot be recorded, so it does not start: {error}"
                if isinstance(error, RecordError)
                else str(error),
            )
        self._sync_controls()

    def _records_trouble_from_thread(self, trouble: RecordsTrouble) -> None:
        """The records have trouble: say so, and when neither the database nor the local
        journal can keep them, stop the treatment (output off).

        Called on the recorder's thread; the engine's stop is thread-safe, the UI goes through
        a queued signal."""
        if not trouble.must_stop:
            with contextlib.suppress(RuntimeError):  # the window is gone; its recorder writes on
                self.records_trouble.emit(f"RECORDS: {trouble.message}", "warning")
            return
        engine = self.engine
        if engine is not None and not engine.state.terminal:
            engine.stop(
                SafetyKind.RECORDS_FAILURE,
                f"The records could not be saved: {trouble.message} Output is off; the session "
                "was ended so that nothing goes unrecorded.",
            )
        with contextlib.suppress(RuntimeError):
            self.records_trouble.emit(
                f"RECORDS: {trouble.message} The session was stopped (output off); what it "
                "delivered is held in memory and saved as soon as the database is back, while "
                "the console stays open.",
                "danger",
            )

    def _records_recovered_from_thread(self) -> None:
        with contextlib.suppress(RuntimeError):  # the window is gone; its recorder writes on
            self.records_recovered.emit()

    def _on_records_trouble(self, message: str, level: str) -> None:
        self._records_message = message
        self._records_level = level
        self._show_alert(message, level)

    def _on_records_recovered(self) -> None:
        if not self._records_message:
            return
        self._records_message = ""
        self._show_alert(
            "RECORDS: the records database takes writes again; what the local journal kept is "
            "being written in.",
            "ok",
        )

    def _records_error(self, message: str) -> None:
        self._show_alert(message, "danger")

    def emergency_stop(self) -> None:
        """Output off now — directly on the engine (and the machine), no queue in between."""
        if self.engine is not None:
            self.engine.emergency_stop()
        elif self.console.driver is not None:
            self.console.driver.stop_output()
        self._show_alert("EMERGENCY STOP — output is off.", "danger")
        self._refresh_readouts()  # now, not at the engine's next event

    def pause(self) -> None:
        """Output off; resume ramps from zero."""
        if self.engine is not None:
            self.engine.pause()
            self._refresh_readouts()  # off now, not at the engine's next event

    def resume(self) -> None:
        """The operator's resume after a pause or a contact loss."""
        if self.engine is not None and self.engine.state is EngineState.PAUSED:
            self.alert.hide()
            self.engine.resume()

    def toggle_pause(self) -> None:
        """Space: pause when treating, resume when paused."""
        if self.engine is None:
            return
        if self.engine.state is EngineState.PAUSED:
            self.resume()
        elif self.engine.state.output_may_be_on:
            self.pause()

    def stop_session(self) -> None:
        """End the session early."""
        if self.engine is not None and not self.engine.state.terminal:
            self.engine.stop()
            self._refresh_readouts()

    def adjust_intensity(self, delta_ua: float) -> None:
        """± intensity within the step's setting (always ramped up)."""
        if self.engine is not None and self.engine.state.output_may_be_on:
            self.engine.adjust_intensity(delta_ua)

    def reapply_gel(self) -> None:
        """G: output off and paused while the operator re-applies gel (recorded)."""
        engine = self.engine
        if engine is not None and (
            engine.state.output_may_be_on or engine.state is EngineState.PAUSED
        ):
            self.console.reapply_gel(engine)
            self._refresh_readouts()

    def machine_secured(self) -> None:
        """The operator lifted the probes and switched off a machine the console cannot reach."""
        self.controls.secure_button.hide()
        client = self.console.simulated_client
        if client is not None:
            client.lift_probes()
            client.switch_off()
        at_s = self.console.clock.now()
        if self.action_log is not None:
            self.action_log.record(
                OperatorAction.SECURE_MACHINE, at_s, "probes lifted, machine switched off"
            )
        summary = self.engine.summary() if self.engine is not None else None
        if self.scenario is not None and summary is not None:
            self._debrief(summary)
        else:
            self._show_alert(
                "Recorded: probes lifted, machine switched off. Check the cable and the machine "
                "before reconnecting it.",
                "warning",
            )

    def _treating(self) -> bool:
        return (
            self.engine is not None
            and not self.engine.state.terminal
            and self.engine.state is not EngineState.READY
        )

    # -- engine events (GUI thread) --------------------------------------------------------

    def _on_engine_event(self, event: EngineEvent) -> None:
        engine = self.engine
        if engine is None:
            return
        if self._chair_view is None and self._chair_demo is not None:
            self._chair_demo.on_event(event)  # the view is not built yet: its model follows
        for view in self._followers():
            view.on_engine_event(event)
        if isinstance(event, StateChanged):
            self._show_state(event.state)
            if event.state is EngineState.PAUSED and not self.alert.isVisible():
                self._show_alert(
                    "Paused — output is off. Press Resume (Space) to ramp back up.", "warning"
                )
            self._sync_controls()
            self._refresh_readouts()
        elif isinstance(event, StepStarted):
            self.scope.add_marker(Marker(event.at_s, MarkerKind.STEP, f"step {event.index + 1}"))
            self.workflow.application.highlight_step(event.index)
            self._refresh_map()
            zone = zone_catalog().get(event.zone)
            self._cue(
                f"Move the probes: {zone.name if zone else event.zone} — {event.step.technique}"
            )
        elif isinstance(event, StepEnded):
            self._refresh_map()
        elif isinstance(event, PolarityReversed):
            self.scope.add_marker(Marker(event.at_s, MarkerKind.REVERSAL, "polarity reversed"))
        elif isinstance(event, SafetyEventRaised):
            safety = event.event
            self.scope.add_marker(Marker(safety.at_s, MarkerKind.SAFETY, safety.kind.value))
            text = safety.message if self.engineering_figures else safety_words(safety)
            self._show_alert(text, safety_tone(safety.kind).value)
            self.alert.setToolTip(safety.message)  # the engine's words, with its figures
        elif isinstance(event, Progress):
            # Progress comes four times a clock second: 240 a wall second at ×60. The bars and
            # labels show the newest at most PROGRESS_SHOWN_HZ times a second.
            self._latest_progress = event
            if not self._progress_timer.isActive():
                self._progress_timer.start()
        elif isinstance(event, SessionEnded):
            if self.recorder is not None:
                # It keeps retrying until every record is in the database, however long that
                # takes while the console runs; what waits is safe in the local journal (a
                # record the journal could not take either is warned about at quitting).
                self.recorder.finish_in_background()
                self._finishing_recorders.append(self.recorder)
                self.recorder = None
            self.visit.record_application(event.summary)
            self.controls.secure_button.setVisible(machine_unreachable(event.summary))
            self.cue.hide()  # no step to place the probes for any more
            self.workflow.application.highlight_step(None)
            self._refresh_readouts()
            if self.records is not None:
                self.records.refresh()
            self._refresh_map()
            self.workflow.follow_up.show_course(self.session_protocol)
            self.workflow.refresh()
            self._sync_controls()
            state = event.summary.state
            if self.scenario is not None:
                self._debrief(event.summary)
            elif state is EngineState.FINISHED:
                summary = event.summary
                figures = (
                    f" ({summary.total_charge_uc:,.0f} µC delivered, net "
                    f"{format_net_charge(summary.total_net_charge_uc)} µC)"
                    if self.engineering_figures
                    else ""
                )
                self._show_alert(
                    f"Application finished: every zone treated{figures}. The output is off. "
                    "Go on to moisturization (Ctrl+Right).",
                    "ok",
                )
            elif self.visit.may_treat_again and not machine_unreachable(event.summary):
                # What stopped it is on screen already; say what can be done next.
                said = self.alert.text().strip() if self.alert.isVisible() else ""
                name = self.visit.client.name or "the client"
                self._show_alert(
                    (f"{said} " if said else "")
                    + f"The output is off. To go on treating {name}, press Start (Ctrl+Enter): "
                    "a new session is recorded; this one stays as it ended.",
                    str(self.alert.property("level") or "warning") if said else "warning",
                )

    def _show_latest_progress(self) -> None:
        event, engine = self._latest_progress, self.engine
        if event is None or engine is None:
            return
        step = self.session_protocol.steps[event.step_index] if self.session_protocol else None
        if step is not None and self.session_protocol is not None:
            self.controls.show_progress(event, step.duration_s, self.session_protocol.duration_s)
        self._refresh_readouts()
        self._show_treatment_on_access_page()

    def _refresh_readouts(self) -> None:
        """The output readout, the contact meter and the scope's output-off mark, from what
        the engine and the machine are doing now (called on every state change, every shown
        progress, and at once after an emergency stop)."""
        engine = self.engine
        if engine is None:
            self.controls.show_readings(output_reading(False, None, None), None)
            self.scope.set_output_on(False)
            return
        state = engine.state
        target = self._latest_progress.target_ua if self._latest_progress is not None else None
        unreachable = state.terminal and self.controls.secure_button.isVisible()
        output_on = engine.output_on
        output = output_reading(output_on, engine.setpoint_ua, target, unreachable)
        contact = contact_reading(
            engine.contact_ohm, engine.contact_measured_now, output_on, engine.limits
        )
        self.controls.show_readings(output, contact)
        self.scope.set_output_on(output.on)

    def _show_state(self, state: EngineState) -> None:
        """The status line's treatment state, in plain words (the engine's name with figures)."""
        words, tone = state_words(state)
        if self.engineering_figures:
            words = f"{words} (engine: {state.value})"
        self.state_label.setText(words)
        set_style_state(self.state_label, "tone", tone.value)
        self._show_treatment_on_access_page()

    def set_engineering_figures(self, show: bool) -> None:
        """Show kΩ, µC and the engine's state names beside the plain words (View menu)."""
        self.engineering_figures = show
        self.settings.setValue("engineering_figures", show)
        self.controls.contact.set_show_figures(show)
        if self._chair_view is not None:  # one built later takes the setting then
            self._chair_view.show_figures = show
            self._chair_view.tick()
        self._show_state(self.engine.state if self.engine is not None else EngineState.IDLE)

    def _refresh_map(self) -> None:
        engine = self.engine
        protocol = self.session_protocol or self.workflow.application.protocol
        if engine is None:
            states = zone_states(protocol, self.face_map.catalog, None, (), ended=False)
            self.face_map.set_states(states)
            return
        active = engine.step_index if engine.step_index >= 0 else None
        ended = engine.state.terminal
        states = zone_states(protocol, self.face_map.catalog, active, engine.deliveries, ended)
        technique = protocol.steps[active].technique if protocol and active is not None else ""
        self.face_map.set_states(states, technique)

    def _cue(self, text: str) -> None:
        """The operator's cue at a step change: a tone and a visual flash."""
        QtWidgets.QApplication.beep()
        self.cue.setText(text)
        self.cue.show()  # until the next step's cue or the session's end

    def _show_alert(self, text: str, level: str) -> None:
        if self._records_message and self._records_message not in text:
            text = f"{text}\n{self._records_message}"
            if self._records_level == "danger" or level == "ok":
                level = self._records_level
        self.alert.setText(text)
        self.alert.setProperty("level", level)
        repolish(self.alert)
        self.alert.show()

    def _sync_controls(self) -> None:
        state = self.engine.state if self.engine is not None else EngineState.IDLE
        can_start = (
            self.console.connection is not None
            and self.visit.stage is Stage.APPLICATION
            and not self.visit.application_ended_cleanly
            and not self._treating()
        )
        self.controls.set_state(state, can_start=can_start)
        self._reserve_message_space(self.visit.stage is Stage.APPLICATION or self._treating())
        self.pause_action.setEnabled(state.output_may_be_on or state is EngineState.PAUSED)
        if state is EngineState.IDLE and can_start:
            self.controls.start_button.setEnabled(True)
        if self.engine is None:
            self._show_state(EngineState.IDLE)
        self.access.keep_covered()  # behind the sign-in or lock page, every action stays off

    def _reserve_message_space(self, reserve: bool) -> None:
        """At the application stage and during a session the cue and the alert keep their
        place when hidden, so the scope and the controls never jump as messages come and go;
        on the other stages the forms get that room."""
        for banner in (self.cue, self.alert):
            policy = banner.sizePolicy()
            if policy.retainSizeWhenHidden() != reserve:
                policy.setRetainSizeWhenHidden(reserve)
                banner.setSizePolicy(policy)

    # -- workflow --------------------------------------------------------------------------

    def _protocol_chosen(self, protocol_id: str) -> None:
        if protocol_id:
            self.settings.setValue("protocol", protocol_id)
        if not self._treating():
            self.session_protocol = None
            self.engine = None if self.engine is None or self.engine.state.terminal else self.engine
            self._refresh_map()
            self._follow_in_demonstration()

    def _stage_changed(self, stage: int) -> None:
        if (
            stage > Stage.APPLICATION
            and self.alert.isVisible()
            and self.alert.property("level") == "ok"
        ):
            self.alert.hide()  # "application finished, go on to ..." has been done
        self._sync_controls()

    def new_client(self) -> None:
        """Start a new visit (the previous one's session must be over)."""
        if self._treating():
            dialogs.inform(
                self, "Session running", "Stop the session before starting a new client."
            )
            return
        practitioner = self.visit.practitioner
        self._end_scenario()
        self.visit = new_visit(practitioner)
        if self.archive is not None:
            self.archive.follow(self.visit)
        old = self.workflow
        self.workflow = self._visit_workflow()
        sizes = self.splitter.sizes()
        self.splitter.replaceWidget(0, self.workflow)
        self.splitter.setSizes(sizes)  # the new visit's pages take the old ones' place exactly
        old.deleteLater()
        self.workflow.focus_first_field()
        self.engine = None
        self.session_protocol = None
        self.alert.hide()
        self.controls.reset_progress()
        self._latest_progress = None
        self.scope.detach()
        self.cue.hide()
        self._refresh_map()
        self._refresh_readouts()
        self._sync_controls()

    # -- demonstration -------------------------------------------------------------------

    def show_demonstration(self) -> None:
        """The projector window; it follows this window's protocol, session and clock."""
        if self.demo_view is None:
            from console.ui.demo_view import DemonstrationView

            self.demo_view = DemonstrationView(self)
            self.demo_view.setWindowTitle("Microcurrent Console — demonstration")
            self.demo_view.resize(1280, 720)
        self._follow_in_demonstration()
        self.demo_view.show()
        self.demo_view.raise_()

    @property
    def chair_view(self) -> DemonstrationView:
        """The chair view: the projector view's large step, time, current and contact tiles
        and probe path in place of the face map and scope, readable from the treatment chair
        (View ▸ Chair view, F10). Built on first use, from the session followed so far."""
        if self._chair_view is None:
            self._chair_view = self._build_chair_view()
        return self._chair_view

    def _build_chair_view(self) -> DemonstrationView:
        """The chair view in its placeholder's place, showing what it would have shown had it
        been built with the window."""
        from console.ui.demo_view import DemonstrationView

        view = DemonstrationView(window=False, demo=self._chair_model())
        view.setObjectName("chairView")
        # Its type scales with the room it gets: it must not widen the window (a stacked page's
        # own minimum would hold for the face map and scope too, even while hidden).
        view.setMinimumSize(*CHAIR_VIEW_MINIMUM)
        view.show_figures = self.engineering_figures
        current = self.treatment_view.currentIndex()
        placeholder = self.treatment_view.widget(1)
        self.treatment_view.insertWidget(1, view)
        self.treatment_view.removeWidget(placeholder)
        placeholder.deleteLater()
        self.treatment_view.setCurrentIndex(current)
        self._follow_in(view)
        return view

    def set_chair_view(self, on: bool) -> None:
        """Show the chair view's large tiles in place of the face map and scope (F10)."""
        if on:
            self.chair_view  # noqa: B018 (built before it is shown)
        self.settings.setValue("chair_view", on)
        self.treatment_view.setCurrentIndex(1 if on else 0)
        self.chair_action.setChecked(on)
        self._follow_in_demonstration()

    @property
    def chair_view_shown(self) -> bool:
        """True while the chair view stands in for the face map and scope."""
        return self.treatment_view.currentIndex() == 1

    def _followers(self) -> list[DemonstrationView]:
        """The views that follow the session: the chair view once built, and the projector's
        if open."""
        return [view for view in (self._chair_view, self.demo_view) if view is not None]

    def _chair_model(self) -> Demonstration:
        """The chair view's model, made on first need (its module loads in some 20 ms that
        the window's start-up does without)."""
        if self._chair_demo is None:
            from console.demonstration import Demonstration

            self._chair_demo = Demonstration()
        return self._chair_demo

    def _follow_in_demonstration(self) -> None:
        if self._chair_view is None and (self.engine is not None or self._chair_demo is not None):
            # Its model alone, as the view would set it: it follows every session from its start.
            protocol = self.session_protocol or self.workflow.application.protocol
            model = self._chair_model()
            if model.protocol is not protocol:
                model.set_protocol(protocol)
        for view in self._followers():
            self._follow_in(view)

    def _follow_in(self, view: DemonstrationView) -> None:
        view.set_clock(self.console.clock if self.console.connection is not None else None)
        protocol = self.session_protocol or self.workflow.application.protocol
        if view.demo.protocol is not protocol:  # setting it anew would forget the session shown
            view.set_protocol(protocol)
        engine = self.engine
        if engine is not None and not engine.state.terminal:
            view.attach(engine.ring, engine.capabilities.sample_rate_hz, self._session_origin_s)
        connection = self.console.connection
        if connection is None:
            view.set_simulation_label("")
        elif connection.info.simulated:
            pace = self.time_control.describe()
            view.set_simulation_label(
                "SIMULATION" + (f" — {pace}" if pace else "") + " — no current reaches anyone"
            )
        elif getattr(self.console.driver, "emulated", False) is True:
            view.set_simulation_label("EMULATED MACHINE — no current reaches anyone")
        else:
            view.set_simulation_label("")

    def show_comparison(self) -> None:
        """Lifting, toning and circulation side by side (any installed protocol per column)."""
        if self._comparison is None:
            from console.ui.protocol_compare import ProtocolComparison

            self._comparison = ProtocolComparison(self.console.host.protocols)
            self._comparison.setWindowFlag(QtCore.Qt.WindowType.Window)
            self._comparison.setParent(self, QtCore.Qt.WindowType.Window)
            self._comparison.setWindowTitle("Compare protocols")
            self._comparison.resize(1440, 860)
        self._comparison.show()
        self._comparison.raise_()

    # -- protocols ---------------------------------------------------------------------------

    def open_protocol_editor(self) -> None:
        """The protocol editor, checking against the connected machine (if any)."""
        if self._editor is None:
            from console.ui.protocol_editor import ProtocolEditor

            connection = self.console.connection
            self._editor = ProtocolEditor(
                self.console.host.protocols,
                capabilities=connection.info.capabilities if connection is not None else None,
                machine_name=connection.identity.model if connection is not None else "",
                # A window of its own: the boxes it shows are modal to it alone, never to the
                # main window and its emergency stop button.
                parent=None,
            )
            self._editor.pack_saved.connect(lambda _path, _protocol: self.reload_protocols())
            self._editor.finished.connect(self._editor_closed)
        self._editor.show()
        self._editor.raise_()
        self._editor.activateWindow()

    def _editor_closed(self) -> None:
        if self._editor is not None:
            self._editor.deleteLater()
            self._editor = None

    def reload_protocols(self) -> None:
        """Collect every plugin's protocols again, so a saved pack is offered at once."""
        self.console.host.collect()
        self.workflow.application.reload()
        if self._editor is not None:
            self._editor.set_installed(self.console.host.protocols)
        if self._comparison is not None:  # it copied the protocols: open it anew
            was_open = self._comparison.isVisible()
            self._comparison.close()
            self._comparison.deleteLater()
            self._comparison = None
            if was_open:
                self.show_comparison()
        broken = broken_packs(self.console.host)
        if broken:
            self._show_alert(
                "Some protocol packs are broken and were not loaded: " + "; ".join(broken),
                "warning",
            )

    # -- training scenarios ----------------------------------------------------------------

    def choose_scenario(self) -> None:
        """Show the scenario picker and play the one chosen."""
        if self._scenario_picker is not None:
            self._scenario_picker.raise_()
            self._scenario_picker.activateWindow()
            return
        folder = str(self.settings.value("scenarios_dir", "") or "")
        from console.ui.scenario_dialog import ScenarioDialog

        dialog = ScenarioDialog(Path(folder) if folder else None, self)
        dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)

        def finished(result: int) -> None:
            self._scenario_picker = None
            if dialog.folder is not None:
                self.settings.setValue("scenarios_dir", str(dialog.folder))
            scenario = dialog.chosen()
            if result == QtWidgets.QDialog.DialogCode.Accepted and scenario is not None:
                self.play_scenario(scenario)  # refuses while a session runs

        dialog.finished.connect(finished)
        self._scenario_picker = dialog
        dialog.show()  # not modal: the emergency stop button stays within reach

    def play_scenario(self, scenario: Scenario) -> bool:
        """A new visit for ``scenario``'s client on the simulated machine, ready to start.

        The faults are scheduled when the trainee presses Start; the trainee handles what
        happens (there is no scripted operator here), and the end of the session is debriefed
        against what the scenario expects. Returns False if it cannot be played.
        """
        if self._treating() or self._connecting:
            dialogs.inform(
                self,
                "Scenario cannot play now",
                "Stop the session, or wait for the machine being connected, before playing "
                "a scenario.",
            )
            return False
        if scenario.protocol not in self.console.host.protocols:
            dialogs.warn(
                self,
                "Scenario cannot play",
                f"The scenario needs the protocol {scenario.protocol!r}, which is not installed.",
            )
            return False
        # A fresh simulated machine for every scenario: its client's skin, no earlier faults.
        if not self._connect_simulator(scenario):
            return False
        self.new_client()
        self.scenario = scenario
        self.scenario_label.setText(f"Training scenario: {scenario.title} — {scenario.goal}")
        self.scenario_label.show()
        reached = prepare_demo_visit(
            self,
            scenario.protocol,
            client=f"Scenario client — {scenario.title}",
            conditions=scenario.contraindications,
        )
        if not reached:
            self._show_alert(
                "Consultation: the screening found a reason not to treat. Read the verdict "
                "before anything else.",
                "danger",
            )
        return True

    def _end_scenario(self) -> None:
        self.scenario = None
        self.client_reactions = None
        self.action_log = None
        self.scenario_label.hide()

    def _connect_simulator(self, scenario: Scenario) -> bool:
        """Connect the simulated machine at once (it opens no port, so this does not block),
        with the scenario client's skin, at the pace the trainer had chosen."""
        driver = next((i.id for i in self.console.host.drivers.values() if i.simulated), None)
        if driver is None:
            dialogs.warn(self, "Scenario cannot play", "No simulated machine driver is installed.")
            return False
        control = self.console.time_control
        speed = control.speed if control is not None else None
        options = {"skin": scenario.skin} if scenario.skin is not None else {}
        try:
            connection = self.console.connect(driver, speed=speed, **options)
        except ConsoleError as error:
            dialogs.warn(self, "Scenario cannot play", str(error))
            return False
        self._on_connected(connection)
        return True

    def _scenario_faults(self) -> tuple[FaultSpec, ...]:
        """The playing scenario's faults (the console plans them from Start), after its client's
        reactions and the trainee's actions are watched."""
        if self.scenario is None or not isinstance(self.console.driver, FaultInjector):
            return ()
        assert self.engine is not None and self.session_protocol is not None
        self.action_log = ActionLog()
        self.engine.subscribe(self.action_log)
        self.client_reactions = self.scenario.client_reactions(
            self.session_protocol, self.client_reacted.emit
        )
        if self.client_reactions is not None:
            self.engine.subscribe(self.client_reactions)
        return tuple(self.scenario.faults)

    def _on_client_reaction(self, reaction: Reaction) -> None:
        """What the trainee would see on the client: shown as a warning and a scope marker."""
        self.scope.add_marker(Marker(reaction.at_s, MarkerKind.SAFETY, f"client {reaction.kind}"))
        self._show_alert(f"Client: {reaction.message}", "warning")

    def _debrief(self, summary: SessionSummary) -> None:
        """Tell the trainer how the session compares with what the scenario expects."""
        assert self.scenario is not None
        outcome = outcome_of(summary)
        waiting_for_hands = (
            OperatorAction.SECURE_MACHINE in self.scenario.expect_actions
            and self.action_log is not None
            and not self.action_log.did(OperatorAction.SECURE_MACHINE)
            and self.controls.secure_button.isVisible()
        )
        if waiting_for_hands:
            # The debrief follows the trainee's "Probes lifted, machine switched off".
            self._show_alert(
                "The console cannot reach the machine, so it cannot confirm the output is off. "
                "Lift both probes off the skin, switch the machine off at its power switch, then "
                "press “Probes lifted, machine switched off”.",
                "danger",
            )
            return
        problems = self.scenario.judge(outcome, summary, self.client_reactions, self.action_log)
        if problems:
            self._show_alert(
                f"Scenario debrief — {self.scenario.title}: " + "; ".join(problems) + ".",
                "warning",
            )
            return
        reactions = self.client_reactions.reactions if self.client_reactions else []
        met = [e.kind.value.replace("_", " ") for e in summary.events]
        met += [f"client {r.kind}" for r in reactions]
        self._show_alert(
            f"Scenario debrief — {self.scenario.title}: played as designed "
            f"({outcome}; {', '.join(met) or 'no events'}).",
            "ok",
        )

    def show_zone(self, zone_id: str) -> None:
        """What the protocol plans for a zone and what was delivered there."""
        zone = zone_catalog()[zone_id]
        protocol = self.session_protocol or self.workflow.application.protocol
        lines = [f"<b>{zone.name}</b>"]
        if zone.placement_warning:
            lines.append(f"⚠ {zone.placement_warning}")
        if protocol is not None:
            for index, step in enumerate(protocol.steps):
                if step.zone != zone_id:
                    continue
                lines.append(
                    f"Step {index + 1}: {step.waveform.describe()}, {format_duration(step.duration_s)} — {step.technique}"
                )
                delivered = [
                    d for d in (self.engine.deliveries if self.engine else []) if d.index == index
                ]
                for d in delivered:
                    figures = ""
                    if self.engineering_figures:
                        impedance = (
                            f", {d.mean_impedance_kohm:.1f} kΩ" if d.mean_impedance_kohm else ""
                        )
                        figures = (
                            f" ({d.mean_current_ua:.0f} µA mean, {d.charge_uc:,.0f} µC, net "
                            f"{format_net_charge(d.net_charge_uc)} µC{impedance})"
                        )
                    lines.append(
                        f"&nbsp;&nbsp;treated {format_duration(d.time_under_current_s)} of "
                        f"{format_duration(step.duration_s)}"
                        + ("" if d.completed else ", cut short")
                        + figures
                    )
        if len(lines) == 1 + bool(zone.placement_warning):
            lines.append("Not part of the chosen protocol.")
        dialogs.inform(self, zone.name, "<br>".join(lines))

    # -- help ------------------------------------------------------------------------------

    def show_about(self) -> None:
        """Version and every loaded plugin."""
        rows = []
        for record in self.console.host.records.values():
            status = (
                "blocked"
                if record.blocked
                else ("failed: " + record.error if record.error else "active")
            )
            rows.append(
                f"<tr><td>{record.name}</td><td>{record.version or '-'}</td><td>{record.origin}</td><td>{status}</td></tr>"
            )
        dialogs.inform(
            self,
            "About Microcurrent Console",
            f"<h3>Microcurrent Console {__version__}</h3>"
            "<p>The operator's console for in-clinic microcurrent treatments. The machine's own "
            "hardware limits remain the last line of defence.</p>"
            "<table cellspacing=6><tr><th align=left>Plugin</th><th align=left>Version</th>"
            "<th align=left>Origin</th><th align=left>Status</th></tr>"
            + "".join(rows)
            + "</table>",
        )

    def show_plugins(self) -> None:
        """The plugin manager: what each plugin offers, failures, disabling from the next start."""
        from console.ui.plugin_manager import PluginManagerDialog

        dialog = PluginManagerDialog(self.console.host, parent=self)
        dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()  # not modal: the emergency stop button stays within reach

    def show_shortcuts(self) -> None:
        """Every action and its key, in two columns so the box fits an 800 px screen."""
        cells = [
            f"<td>{html.escape(a.text().replace('&', ''))}</td>"
            f"<td><b>{html.escape(a.shortcut().toString())}</b></td>"
            for a in self.actions()
            if not a.shortcut().isEmpty()
        ]
        half = (len(cells) + 1) // 2
        rows = [
            "<tr>" + left + '<td width="24"></td>' + right + "</tr>"
            for left, right in itertools.zip_longest(cells[:half], cells[half:], fillvalue="")
        ]
        dialogs.inform(
            self, "Keyboard shortcuts", "<table cellspacing=4>" + "".join(rows) + "</table>"
        )

    # -- window ----------------------------------------------------------------------------

    def showEvent(self, event: QtGui.QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if not self._split_placed:
            # Once, at the first show: the forms nearly half the width, the face map and scope
            # the rest (the sizes the panes ask for would leave the forms squeezed).
            self._split_placed = True
            total = sum(self.splitter.sizes()) or self.width()
            self.splitter.setSizes([round(total * 0.45), total - round(total * 0.45)])

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if self._treating() and not self._quit_confirmed:
            event.ignore()
            dialogs.ask(
                self,
                "Session running",
                "A session is running. Stop it (output off) and quit?",
                self._quit_after_stop,
            )
            return
        unsaved = self.unsaved_records()
        if unsaved and not self._quit_unsaved_confirmed:
            event.ignore()
            dialogs.ask(
                self,
                "Records not saved yet",
                f"{unsaved} record(s) of the last session are neither in the database nor in "
                "the local journal (neither could be written). They are saved as soon as the "
                "database can be written, while the console stays open; quitting now loses "
                "them. Quit anyway?",
                self._quit_losing_records,
            )
            return
        for tool in (self._editor, self.demo_view, self._comparison):
            if tool is not None and tool.isVisible() and not tool.close():
                event.ignore()  # the editor kept its unsaved changes: the console stays open
                return
        self.settings.setValue("geometry", self.saveGeometry())
        self.console.disconnect()
        for recorder in (self.recorder, *self._finishing_recorders):
            if recorder is not None:
                recorder.close(0.2)  # what waits stays in the journal for the next start
        event.accept()

    def unsaved_records(self) -> int:
        """Records of ended sessions that quitting would lose: not in the database, and not in
        the local journal either (what the journal holds is written in at the next start)."""
        self._finishing_recorders = [r for r in self._finishing_recorders if not r.finished]
        return sum(recorder.unjournaled for recorder in self._finishing_recorders)

    def _quit_losing_records(self) -> None:
        self._quit_unsaved_confirmed = True
        QtCore.QTimer.singleShot(0, self.close)

    def _quit_after_stop(self) -> None:
        self._quit_confirmed = True
        self.stop_session()
        # Not from inside the question's handler of a close event: Qt ignores a nested close.
        QtCore.QTimer.singleShot(0, self.close)

    def summary_rows(self) -> list[list[str]]:
        """Per-zone rows of the last session (for tests and reports)."""
        return zone_summary_rows(self.engine.summary()) if self.engine else []


def _as_bool(value: object) -> bool:
    """A boolean setting as QSettings gives it back (``"true"`` from an ini file)."""
    if isinstance(value, str):
        return value.lower() in ("true", "1", "yes")
    return bool(value)


def driver_label(info: DriverInfo) -> str:
    """``Simulated machine (simulation)`` etc."""
    return f"{info.name} ({'simulation' if info.simulated else info.transport.value})"
