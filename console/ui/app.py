"""Starting the graphical console, and its screenshot mode for documentation and checks."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from console.engine.clock import SteppedClock
from console.plugin_settings import read_plugin_settings
from console.plugins import load_plugins
from console.screening import Screening
from console.session import Console, ConsoleError
from console.workflow import CLEANSING_CHECKLIST, Stage

log = logging.getLogger(__name__)

ORGANISATION = "Microcurrent Console"
APPLICATION = "mc-console"
#: Said, with exit status 2, when the window is asked for where there is no screen.
NO_DISPLAY = (
    "there is no display to show the window on: run mc-console in a desktop session, or here "
    "with 'xvfb-run mc-console', or take a picture without one with "
    "'mc-console --screenshot shot.png'"
)

#: How long, after its first frame, the window waits for its machine's connection before it
#: opens its records and builds its scope's plots anyway (see ``console.ui.window_start``).
RECORDS_WAIT_MS = 250
_ONCE = QtCore.Qt.ConnectionType.SingleShotConnection


#: The system libraries Qt's X11 platform plugin needs that a minimal Linux may lack (Debian's
#: and Ubuntu's package names).
X11_PACKAGES = (
    "libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 "
    "libxkbcommon-x11-0"
)


def x11_problem() -> str | None:
    """Why the window cannot open on this X11 display, said with exit status 2; None if it can
    (or the window opens elsewhere). Qt's X11 plugin is loaded here first: where a library it
    needs is missing, Qt would abort naming one of them (often not the one missing) and suggest
    reinstalling the application."""
    if sys.platform != "linux" or not os.environ.get("DISPLAY"):
        return None
    if os.environ.get("QT_QPA_PLATFORM", "xcb") != "xcb" or os.environ.get("WAYLAND_DISPLAY"):
        return None  # drawn by another plugin (Qt may choose Wayland when both are named)
    import ctypes

    plugins = QtCore.QLibraryInfo.path(QtCore.QLibraryInfo.LibraryPath.PluginsPath)
    plugin = Path(plugins) / "platforms" / "libqxcb.so"
    if not plugin.exists():
        return None  # another build of Qt: it says for itself what it lacks
    try:
        ctypes.CDLL(str(plugin))
    except OSError as error:
        missing = str(error).split(":")[0].strip() if ".so" in str(error) else str(error)
        return (
            f"the window cannot open on the X11 display {os.environ['DISPLAY']}: Qt's X11 "
            f"plugin needs {missing}, which is not installed; install Qt's X11 libraries "
            f"(Debian and Ubuntu: 'sudo apt-get install {X11_PACKAGES}'), or take a picture "
            "without a screen with 'mc-console --screenshot shot.png'"
        )
    return None


def display_available() -> bool:
    """False on Linux and other X11/Wayland systems when nothing says where to draw (no
    ``DISPLAY``, no ``WAYLAND_DISPLAY``, no ``QT_QPA_PLATFORM``): Qt would abort there with a
    message about xcb libraries instead of saying so. Windows and macOS always have a screen."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return True  # the user chose where Qt draws (offscreen, vnc, eglfs…)
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def make_application(
    argv: list[str] | None = None, *, style_sheet: bool = True
) -> QtWidgets.QApplication:
    """The QApplication with the clinic theme (reused if one exists, as under pytest-qt).

    ``style_sheet=False`` leaves the style sheet to :func:`apply_style_sheet`, for a caller that
    builds its window first: Qt re-applies an application style sheet to every widget moved
    into a new parent, so building the main window under the sheet styles most widgets several
    times (some 0.15 s at start-up); applied once afterwards, it styles each once and the window
    looks the same to the pixel."""
    app = QtWidgets.QApplication.instance()
    if app is None:
        QtWidgets.QApplication.setHighDpiScaleFactorRoundingPolicy(
            QtCore.Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
        )
        app = QtWidgets.QApplication(argv or sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setStyle(ClinicStyle())
    if style_sheet:
        apply_style_sheet(app)  # type: ignore[arg-type]
    return app  # type: ignore[return-value]


def apply_style_sheet(app: QtWidgets.QApplication) -> None:
    """Give ``app`` the clinic's style sheet (``resources/style.qss``)."""
    folder = resources.files("resources")
    style = folder.joinpath("style.qss").read_text(encoding="utf-8")
    # The sheet names its arrow images relative to its own folder, wherever it is installed.
    app.setStyleSheet(style.replace("@resources@", Path(str(folder)).as_posix()))


#: The accent of resources/style.qss (the start button, the stage stepper, the step cue).
_ACCENT = QtGui.QColor("#1f6fb2")
_ACCENT_EDGE = QtGui.QColor("#185a91")
_EDGE = QtGui.QColor("#546e7a")  # an unchecked box's edge: 4.5:1 on white, visible with gloves
_DISABLED = QtGui.QColor("#b0bec5")


class ClinicStyle(QtWidgets.QProxyStyle):
    """Fusion, with tick boxes and choices a practitioner reads at a glance from the chair.

    Fusion draws a checked box as a thin dark tick on white and a chosen radio as a small dot: at
    arm's length both look like the unchecked ones. Here a checked box is filled with the accent
    and carries a white tick, a chosen radio is an accent ring around an accent dot, and an
    unchecked one has a dark 2 px edge. The size comes from resources/style.qss (``::indicator``).
    """

    def __init__(self) -> None:
        super().__init__("Fusion")

    def drawPrimitive(  # noqa: N802 (Qt's name)
        self,
        element: QtWidgets.QStyle.PrimitiveElement,
        option: QtWidgets.QStyleOption,
        painter: QtGui.QPainter,
        widget: QtWidgets.QWidget | None = None,
    ) -> None:
        """Draw check and radio indicators in the clinic's way; everything else as Fusion."""
        kind = QtWidgets.QStyle.PrimitiveElement
        if element in (kind.PE_IndicatorCheckBox, kind.PE_IndicatorItemViewItemCheck):
            _draw_check(option, painter)
        elif element is kind.PE_IndicatorRadioButton:
            _draw_radio(option, painter)
        else:
            super().drawPrimitive(element, option, painter, widget)


def _indicator_colours(option: QtWidgets.QStyleOption) -> tuple[QtGui.QColor, QtGui.QColor, bool]:
    """The edge and fill of an indicator, and whether it is on."""
    state = QtWidgets.QStyle.StateFlag
    enabled = bool(option.state & state.State_Enabled)
    on = bool(option.state & (state.State_On | state.State_NoChange))
    if not enabled:
        return _DISABLED, (_DISABLED if on else QtGui.QColor("#f1f3f4")), on
    if on:
        return _ACCENT_EDGE, _ACCENT, on
    hover = bool(option.state & state.State_MouseOver)
    return (_ACCENT if hover else _EDGE), QtGui.QColor("#eaf2f8" if hover else "#ffffff"), on


def _indicator_rect(option: QtWidgets.QStyleOption) -> QtCore.QRectF:
    """The indicator's square, centred, inset by half the 2 px edge."""
    rect = QtCore.QRectF(option.rect)
    side = min(rect.width(), rect.height())
    square = QtCore.QRectF(0, 0, side, side)
    square.moveCenter(rect.center())
    return square.adjusted(1, 1, -1, -1)


def _draw_check(option: QtWidgets.QStyleOption, painter: QtGui.QPainter) -> None:
    edge, fill, on = _indicator_colours(option)
    box = _indicator_rect(option)
    painter.save()
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    painter.setPen(QtGui.QPen(edge, 2))
    painter.setBrush(fill)
    painter.drawRoundedRect(box, 3, 3)
    if on:
        side = box.width()
        pen = QtGui.QPen(QtGui.QColor("#ffffff"), max(2.0, side / 8))
        pen.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(QtCore.Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        x, y = box.left(), box.top()
        if option.state & QtWidgets.QStyle.StateFlag.State_NoChange:  # partly checked: a dash
            painter.drawLine(
                QtCore.QPointF(x + 0.25 * side, y + 0.5 * side),
                QtCore.QPointF(x + 0.75 * side, y + 0.5 * side),
            )
        else:
            painter.drawPolyline(
                [
                    QtCore.QPointF(x + 0.22 * side, y + 0.52 * side),
                    QtCore.QPointF(x + 0.42 * side, y + 0.72 * side),
                    QtCore.QPointF(x + 0.78 * side, y + 0.30 * side),
                ]
            )
    painter.restore()


def _draw_radio(option: QtWidgets.QStyleOption, painter: QtGui.QPainter) -> None:
    edge, fill, on = _indicator_colours(option)
    ring = _indicator_rect(option)
    painter.save()
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    painter.setPen(QtGui.QPen(fill if on else edge, 2))
    painter.setBrush(QtGui.QColor("#ffffff") if on else fill)
    painter.drawEllipse(ring)
    if on:
        painter.setPen(QtCore.Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        inset = ring.width() * 0.25
        painter.drawEllipse(ring.adjusted(inset, inset, -inset, -inset))
    painter.restore()


def run_gui(
    driver_id: str | None = None, speed: float | None = None, db_url: str | None = None
) -> int:
    """``mc-console`` with no command: the main window, on the simulated machine by default,
    recording into the records database (the SQLite file in the user's data folder by default).

    The window is shown first and the records are opened just after (the database layer takes a
    while to load); until they are open no session may start, so nothing goes unrecorded."""
    from console.ui import dialogs
    from console.ui.machine_dialog import MachineChoice, remembered_port
    from console.ui.main_window import MainWindow
    from console.ui.window_start import WindowStart

    if not display_available():
        print(f"mc-console: error: {NO_DISPLAY}", file=sys.stderr)
        return 2
    problem = x11_problem()
    if problem is not None:
        print(f"mc-console: error: {problem}", file=sys.stderr)
        return 2
    app = make_application(style_sheet=False)  # styled once the window is built (see there)
    plugin_settings = read_plugin_settings()
    host = load_plugins(blocked=plugin_settings.disabled)
    plugins_problem = plugin_settings.warning
    if not host.drivers and plugin_settings.disabled:
        # The console must always have a driver: settings that leave none (edited by hand, or
        # the one driver plugin left enabled failed today) are set aside for this start.
        host = load_plugins(blocked=())
        plugins_problem = (
            f"The plugin settings ({plugin_settings.path}) leave no plugin that provides a "
            "machine driver, so they are ignored for this start: every plugin is loaded. "
            "Check Help ▸ Plugins…"
        )
    console = Console(host)
    window = MainWindow(console, QtCore.QSettings(), guard_keys_when_painted=False)
    apply_style_sheet(app)
    chosen = driver_id or console.default_driver_id()
    # What takes a while and no session needs yet waits until the window is up (first frame
    # painted, machine connected, or RECORDS_WAIT_MS after the frame if connecting takes
    # longer, as a real machine's may): the Esc guard starts seeing every event, the scope's
    # plots are built (pyqtgraph takes about 0.2 s to import), then the records open in a worker
    # thread (loading the database layer would take the interpreter from the window and the
    # connection; after the plots, so the two imports do not slow each other and the window
    # is held the shortest time). Until the records are open no session may start; a session
    # that starts first installs the guard and builds the plots itself.
    start = WindowStart(window, RECORDS_WAIT_MS, connecting=chosen is not None)
    opening = RecordsOpening(window, db_url)
    start.when_up(window.emergency_keys.install)  # Esc stops, in every window (before a session)
    start.when_up(window.scope.build_plots)
    start.when_up(opening.start)
    _report_start_when_ready(window, start, app)
    window.show()
    if plugins_problem:
        dialogs.warn(window, "Plugin settings", plugins_problem)
    if chosen is not None:
        # A machine on a port or the network: where it was last connected from the picker.
        port = remembered_port(window.settings, chosen)
        window.connect_machine(MachineChoice(chosen, port, speed or 1.0))
    code = app.exec()
    console.disconnect()
    opening.finish()
    if window.store is not None:
        window.store.close()
    delete_now(app, window)
    return int(code)


def delete_now(app: QtWidgets.QApplication, window: QtWidgets.QWidget) -> None:
    """Delete ``window`` and everything in it (the scope's pyqtgraph items) now, while Python
    runs: left to the interpreter's exit, PySide destroys them after its teardown has begun,
    and the items' Python overrides, called from their destructors then, crash the process."""
    window.deleteLater()
    app.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)


class RecordsOpening(QtCore.QObject):
    """Opens the window's records in a worker thread and hands them to the window on its own
    thread; until then the window starts no session (``records_opening``)."""

    done = QtCore.Signal(object)  # OpenedRecords, or the exception that stopped them

    def __init__(self, window: Any, db_url: str | None) -> None:  # a MainWindow
        super().__init__(window)
        self._window = window
        self._db_url = db_url
        self._result: object = None
        window.records_opening = True
        self.done.connect(self._deliver)  # queued: emitted from the worker thread
        self._thread = threading.Thread(target=self._open, name="mc-records-open", daemon=True)

    def start(self) -> None:
        """Begin opening (the window should be shown first); later calls do nothing."""
        if self._thread.ident is None:
            self._thread.start()

    def finish(self, timeout_s: float = 30.0) -> None:
        """At the end of the window: wait for an opening still under way and close what it
        opened if the window never took it."""
        if self._thread.ident is None:
            return  # never begun (the window closed at once)
        self._thread.join(timeout_s)
        if self._window.store is None and hasattr(self._result, "store"):
            self._result.store.close()  # type: ignore[attr-defined]

    def _open(self) -> None:
        try:
            from console.records.opening import open_records

            self._result = open_records(self._db_url)
        except Exception as error:  # noqa: BLE001 (any failure is said; the window never waits)
            self._result = error
        self.done.emit(self._result)

    def _deliver(self, result: object) -> None:
        records_opened(self._window, result)


def open_window_records(window: Any, db_url: str | None) -> None:  # a MainWindow
    """Open the records for ``window`` now, on this thread, and attach them (see
    :func:`records_opened`)."""
    from console.records.opening import open_records

    try:
        result: object = open_records(db_url)
    except Exception as error:  # noqa: BLE001 (said, as from the worker thread)
        result = error
    records_opened(window, result)


def records_opened(window: Any, result: object) -> None:
    """Attach the opened records to ``window``; a database that cannot be used is said at once
    (on stderr and in a box) and the window stays up without records, starting no session."""
    from console.records.errors import RecordError
    from console.ui import dialogs

    if isinstance(result, BaseException):
        if isinstance(result, RecordError):
            problem = str(result)
        else:  # not foreseen: said by its kind, never as a traceback in the clinic's face
            log.error("opening the records failed", exc_info=result)
            problem = (
                f"the records database could not be opened ({type(result).__name__}: {result})"
            )
        window.records_problem = problem
        window.records_opening = False
        print(f"mc-console: records unavailable: {problem}", file=sys.stderr, flush=True)
        dialogs.warn(
            window,
            "Records unavailable",
            f"{problem}\n\nSessions cannot be recorded, so none can start until the records "
            "database is available (start again with a working --db).",
        )
        return
    window.attach_records(result.store)  # type: ignore[attr-defined]
    offered = str(window.settings.value("accounts_offered", "false")).lower() == "true"
    if not window.access.accounts_on and not offered and not window.visit.client.name:
        # The first start with records: offer to make the administrator ("Not now" keeps the
        # records open to whoever uses this computer, as a trainer's may be). Asked once, and
        # never over a visit already begun; the Account menu keeps the offer.
        window.settings.setValue("accounts_offered", True)
        window.access.offer_first_administrator()
    recovered = result.messages()  # type: ignore[attr-defined]
    if recovered:
        dialogs.inform(window, "Records recovered", "\n\n".join(recovered))


#: Set by ``benchmarks/ui_benchmark.py`` (not a user option): the window prints
#: ``mc-console: ready`` once its first frame is painted and its machine connected, then
#: ``mc-console: scope ready`` once the scope's plots are built and ``mc-console: records open``
#: once its records are open too (or known unavailable), then quits (the caller times it).
STARTUP_PROBE = "MC_CONSOLE_STARTUP_PROBE"


def _report_start_when_ready(window: Any, start: Any, app: QtWidgets.QApplication) -> None:
    """Under :data:`STARTUP_PROBE`: say when the window is up and connected, when its scope's
    plots are built, when its records are open, and quit."""
    if not os.environ.get(STARTUP_PROBE):
        return

    def records_open() -> None:
        if window.records_opening:
            QtCore.QTimer.singleShot(5, records_open)
            return
        print("mc-console: records open", flush=True)
        app.quit()

    def scope_ready() -> None:
        if not window.scope.plots_built:
            QtCore.QTimer.singleShot(5, scope_ready)
            return
        print("mc-console: scope ready", flush=True)
        records_open()

    def ready() -> None:
        print("mc-console: ready", flush=True)
        scope_ready()

    start.up_and_connected.connect(ready, type=_ONCE)


def take_screenshot(
    path: Path,
    protocol_id: str,
    after_s: float,
    size: tuple[int, int] = (1440, 900),
    driver_id: str | None = None,
) -> int:
    """Run ``protocol_id`` on a simulated machine (``driver_id``, default the first one) for
    ``after_s`` treatment seconds on a fast clock, then write a PNG of the main window. Works
    offscreen. Returns an exit status: 2, with one line on stderr, for a driver that is unknown
    or not simulated (a real machine cannot run on the picture's stepped clock)."""
    from console.ui.main_window import MainWindow

    if not display_available() or x11_problem() is not None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a picture needs no screen
    app = make_application()
    host = load_plugins(blocked=())  # the same picture whatever this computer disabled
    if protocol_id not in host.protocols:
        known = ", ".join(sorted(host.protocols)) or "none"
        print(
            f"mc-console: error: unknown protocol {protocol_id!r}; known: {known}", file=sys.stderr
        )
        return 2
    console = Console(host)
    driver = driver_id or console.default_driver_id()
    if driver is None or driver not in host.drivers:
        known = ", ".join(sorted(host.drivers)) or "none"
        print(f"mc-console: error: unknown driver {driver!r}; known: {known}", file=sys.stderr)
        return 2
    if not host.drivers[driver].simulated:
        print(
            f"mc-console: error: --screenshot pictures a simulated machine, and {driver!r} is "
            "not one; leave out --driver or give a simulated machine's",
            file=sys.stderr,
        )
        return 2
    clock = SteppedClock()
    try:
        console.connect(driver, clock=clock)
    except ConsoleError as error:
        print(f"mc-console: error: {error}", file=sys.stderr)
        return 2
    settings = QtCore.QSettings(
        str(Path(QtCore.QDir.tempPath()) / "mc-console-screenshot.ini"),
        QtCore.QSettings.Format.IniFormat,
    )
    window = MainWindow(console, settings)
    window.resize(*size)
    window.show_connection(console.connection)
    window.show()
    prepare_demo_visit(window, protocol_id)
    if after_s > 0:
        window.start_session()
        engine = window.engine
        if engine is None:
            print("mc-console: error: the session did not start", file=sys.stderr)
            return 1
        # If the protocol ends before after_s, the picture shows its end.
        with contextlib.suppress(TimeoutError):
            clock.run_until(after_s, timeout=60)
        _settle(app, 0.6)
        window.scope.refresh(force=True)
    _settle(app, 0.2)
    image = window.grab()
    path.parent.mkdir(parents=True, exist_ok=True)
    ok = image.save(str(path), "PNG")
    if window.engine is not None and not window.engine.state.terminal:
        window.engine.emergency_stop()
        clock.release()
        window.engine.wait(5)
    console.disconnect()
    window.close()
    delete_now(app, window)
    if not ok:
        print(f"mc-console: error: could not write {path}", file=sys.stderr)
        return 1
    print(f"wrote {path} ({image.width()}x{image.height()})")
    return 0


def prepare_demo_visit(  # type: ignore[no-untyped-def]
    window,
    protocol_id: str,
    client: str = "Demo client (simulation)",
    conditions: tuple[str, ...] = (),
) -> bool:
    """A screened, consented, cleansed demonstration client, at the application stage.

    ``conditions``: contraindications the client answers yes to (a training scenario's); an
    absolute one keeps the visit at consultation, where the trainee sees why. Returns True if the
    visit reached the application stage.
    """
    consultation = window.workflow.consultation
    consultation.name.setText(client)
    consultation.goals.setPlainText("Lift the jawline and cheeks")
    if not consultation.practitioner.isReadOnly():  # (signed in: the account is the practitioner)
        consultation.practitioner.setText("Trainer")
    window.visit.screening = Screening.all_clear("Trainer")  # an adult, every answer no
    consultation.set_date_of_birth(window.visit.screening.date_of_birth)
    for condition, (yes, no) in consultation.answers.items():
        (yes if condition in conditions else no).setChecked(True)
    consultation.consent.setChecked(True)
    for item in CLEANSING_CHECKLIST:
        window.workflow.cleansing.boxes[item].setChecked(True)
    window.workflow.application.select(protocol_id)
    return bool(window.workflow.go_to(Stage.APPLICATION))


def _settle(app: QtWidgets.QApplication, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.01)
