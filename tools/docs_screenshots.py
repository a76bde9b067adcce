"""Make the pictures in docs/images/: every stage of a visit in the real main window.

    .venv/bin/python tools/docs_screenshots.py [--out docs/images]

Each picture is the real :class:`MainWindow` (1440x900 unless said otherwise) on the simulated
machine, with a stepped clock the script moves on, so a picture shows the same treatment second
every time. Settings, records (SQLite) and the records' journal go to a temporary folder; nothing
of the developer's own (settings, plugins, packs, records) is read or written. Works without a
display (``QT_QPA_PLATFORM=offscreen``, which the script sets when no display is named).

What stays out of our hands: the dates the console itself takes from the calendar (a client's
age, the suggested next appointment, a session's date and time on the client's page).

Pictures made (``--list`` prints them):

- ``stage-consultation-new.png``: a new client's consultation, untouched.
- ``stage-consultation-do-not-treat.png``: partly answered, an absolute contraindication.
- ``stage-cleansing.png``, ``stage-application-running.png`` (lifting, 8 s in),
  ``stage-application-contact-lost.png`` (a probe lifted at 20 s: paused, output off),
  ``stage-chair-view.png`` (View ▸ Chair view during the session), ``stage-moisturization.png``,
  ``stage-follow-up.png`` and ``stage-follow-up-appointment.png`` (a reaction, notes and the
  next appointment, saved; the form scrolled to its top, then to its end),
  ``stage-application-stopped.png`` (toning after an emergency stop: Start treats again).
- ``console-lifting.png``, ``console-toning.png``, ``console-clients.png``,
  ``demonstration-view.png`` (1920x1080), ``protocol-comparison.png`` (1600x900),
  ``protocol-editor.png`` (1280x800).
- ``account-sign-in.png``, ``account-locked.png`` (a toning session running behind the lock)
  and ``audit-trail.png`` (a client's trail, the chain checked): records with accounts.

- ``console-emulated-scpi.png``: circulation on the SCPI machine's emulator, on a pty in real
  time (its traces differ a little from run to run), 4 s into the session.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: The main window's size in every picture of it (the README's screen).
WINDOW_SIZE = (1440, 900)
#: The simulated machine's noise seed: the same scope traces every run.
SEED = 1
PRACTITIONER = "Dana Meier"
CLIENT = "Anna Berger"
CLIENT_BORN = date(1978, 5, 14)
CLIENT_GOALS = "Firmer jawline; lift the cheeks before a wedding in June"
TONING_CLIENT = "Clara Vogt"
SCREENED_OUT = "Maria Lopez"
FOLLOW_UP_NOTES = (
    "Mild redness on both cheeks after the cheek steps, gone before she left. "
    "Asked to drink water and skip retinol tonight."
)

PICTURES = (
    "stage-consultation-new.png",
    "stage-consultation-do-not-treat.png",
    "stage-cleansing.png",
    "stage-application-running.png",
    "stage-application-contact-lost.png",
    "stage-chair-view.png",
    "stage-moisturization.png",
    "stage-follow-up.png",
    "stage-follow-up-appointment.png",
    "stage-application-stopped.png",
    "console-lifting.png",
    "console-toning.png",
    "console-clients.png",
    "demonstration-view.png",
    "protocol-comparison.png",
    "protocol-editor.png",
    "account-sign-in.png",
    "account-locked.png",
    "audit-trail.png",
    "console-emulated-scpi.png",
)


class Shooter:
    """Opens main windows on the simulated machine and saves pictures of them."""

    def __init__(self, out: Path, scratch: Path) -> None:
        from console.ui.app import make_application

        self.out = out
        self.scratch = scratch
        self.app = make_application(["docs_screenshots"])
        self.written: list[Path] = []
        self._cleanups: list[Callable[[], None]] = []
        self._windows = 0

    # -- windows ---------------------------------------------------------------------------

    def window(self, with_records: bool = True):  # type: ignore[no-untyped-def]
        """A new main window on a freshly connected simulated machine with a stepped clock
        (``window.clock``), its own settings file and, if ``with_records``, its own SQLite
        records (``window.store``)."""
        from PySide6 import QtCore

        from console.engine.clock import SteppedClock
        from console.plugins import load_plugins
        from console.records.store import RecordStore
        from console.session import Console
        from console.ui.main_window import MainWindow

        self._windows += 1
        folder = self.scratch / f"window-{self._windows}"
        folder.mkdir()
        console = Console(load_plugins(blocked=()))
        clock = SteppedClock()
        console.connect("simulator", clock=clock, seed=SEED)
        settings = QtCore.QSettings(str(folder / "settings.ini"), QtCore.QSettings.Format.IniFormat)
        store = RecordStore(f"sqlite:///{folder / 'records.sqlite3'}") if with_records else None
        window = MainWindow(console, settings, store)
        window.resize(*WINDOW_SIZE)
        window.show_connection(console.connection)
        window.show()
        window.clock = clock
        window.store = store

        def close() -> None:
            engine = window.engine
            if engine is not None and not engine.state.terminal:
                engine.emergency_stop()
            clock.release()
            if engine is not None:
                engine.wait(5)
            for view in (window.demo_view, window._comparison, window._editor):
                if view is not None:
                    view.hide()
            window.hide()  # not close(): no "a session is running" question
            console.disconnect()
            window.deleteLater()
            self.settle(0.1)
            if store is not None:
                store.close()

        self._cleanups.append(close)
        self.settle(0.3)
        return window

    def close_all(self) -> None:
        while self._cleanups:
            self._cleanups.pop()()

    # -- time and pictures -------------------------------------------------------------------

    def settle(self, seconds: float = 0.4) -> None:
        """Let Qt deliver what is queued (engine events, the readouts' timer, layouts)."""
        from PySide6 import QtCore

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.01)

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            self.settle(0.05)

    def run_to(self, window, session_s: float) -> None:  # type: ignore[no-untyped-def]
        """Run the session to ``session_s`` seconds after its start and show it."""
        window.clock.run_until(window._session_origin_s + session_s, timeout=120)
        self.settle(0.5)
        window._refresh_readouts()
        window.scope.refresh(force=True)
        self.settle(0.2)

    def shoot(self, widget, name: str) -> None:  # type: ignore[no-untyped-def]
        """Save a PNG of ``widget`` (a window) as ``name`` in the output folder."""
        self.settle(0.3)
        image = widget.grab()
        path = self.out / name
        if not image.save(str(path), "PNG"):
            raise RuntimeError(f"could not write {path}")
        self.written.append(path)
        print(f"wrote {path} ({image.width()}x{image.height()})")


# -- the visit, stage by stage ---------------------------------------------------------------


def fill_client(window, name: str, born: date, goals: str) -> None:  # type: ignore[no-untyped-def]
    """Type the client's details at the consultation."""
    page = window.workflow.consultation
    page.name.setText(name)
    page.practitioner.setText(PRACTITIONER)
    page.set_date_of_birth(born)
    page.goals.setPlainText(goals)


def answer(window, answers: dict[str, bool]) -> None:  # type: ignore[no-untyped-def]
    """Press Yes or No on screening questions, in the form's order."""
    page = window.workflow.consultation
    for cid, applies in answers.items():
        yes, no = page.answers[cid]
        (yes if applies else no).click()


def consultation_pictures(shots: Shooter) -> None:
    """A new client's empty consultation, then one partly answered that rules treatment out."""
    window = shots.window()
    window.workflow.consultation.scroll.verticalScrollBar().setValue(0)
    shots.shoot(window, "stage-consultation-new.png")

    fill_client(window, SCREENED_OUT, date(1990, 2, 11), "Soften the lines around the eyes")
    page = window.workflow.consultation
    order = list(page.rows)  # the form's order, group by group
    # The questions down to epilepsy answered, which is an absolute contraindication: the
    # verdict above the form and the question's own row say so.
    answered = order[: order.index("epilepsy") + 1]
    answer(window, {cid: cid == "epilepsy" for cid in answered})
    shots.settle(0.2)
    page.scroll.ensureWidgetVisible(page.rows["epilepsy"], 0, 40)
    shots.shoot(window, "stage-consultation-do-not-treat.png")


def lifting_visit(shots: Shooter) -> None:
    """Anna Berger's whole visit with lifting: cleansing, the running application, a probe
    lifted, the chair view, moisturization, the follow-up and her page in Clients; the
    demonstration view, the comparison and the editor on the way."""
    from PySide6 import QtWidgets

    from console.engine.events import EngineState
    from console.workflow import CLEANSING_CHECKLIST, MOISTURIZATION_CHECKLIST, Reaction, Stage
    from device_drivers.simulator import SimFault

    window = shots.window()
    fill_client(window, CLIENT, CLIENT_BORN, CLIENT_GOALS)
    answer(window, dict.fromkeys(window.workflow.consultation.answers, False))
    window.workflow.consultation.consent.click()
    if not window.workflow.go_to(Stage.CLEANSING):
        raise RuntimeError(f"the consultation did not clear: {window.workflow.blockers.text()}")
    boxes = window.workflow.cleansing.boxes
    for item in CLEANSING_CHECKLIST[: len(CLEANSING_CHECKLIST) // 2 + 1]:
        boxes[item].click()
    shots.shoot(window, "stage-cleansing.png")
    for item in CLEANSING_CHECKLIST:
        if not boxes[item].isChecked():
            boxes[item].click()
    window.workflow.application.select("lifting")
    if not window.workflow.go_to(Stage.APPLICATION):
        raise RuntimeError(f"cleansing did not clear: {window.workflow.blockers.text()}")

    window.start_session()
    if window.engine is None:
        raise RuntimeError("the lifting session did not start")
    engine, machine = window.engine, window.console.driver
    shots.run_to(window, 8.0)
    shots.shoot(window, "stage-application-running.png")

    # A probe lifts at 20 s: the output goes off, the session pauses, the alert is red.
    machine.schedule(SimFault.CONTACT_LOSS, at_s=window._session_origin_s + 20.0)
    shots.run_to(window, 21.0)
    shots.wait_for(lambda: engine.state is EngineState.PAUSED, "the pause after the contact loss")
    shots.settle(0.5)
    window._refresh_readouts()
    shots.shoot(window, "stage-application-contact-lost.png")

    # Probes back on, resumed (a ramp from zero), then the chair view for a while.
    machine.clear(SimFault.CONTACT_LOSS)
    window.resume()
    shots.run_to(window, 45.0)
    window.set_chair_view(True)
    shots.run_to(window, 50.0)
    shots.shoot(window, "stage-chair-view.png")
    window.set_chair_view(False)

    shots.run_to(window, 417.0)  # step 4, brow left: a reversal in the scope's window
    shots.shoot(window, "console-lifting.png")

    shots.run_to(window, 1100.0)  # step 9, jawline right
    window.show_demonstration()
    view = window.demo_view
    view.resize(1920, 1080)
    shots.settle(0.5)
    shots.run_to(window, 1101.0)
    shots.shoot(view, "demonstration-view.png")
    view.hide()

    window.show_comparison()
    window._comparison.resize(1600, 900)
    shots.shoot(window._comparison, "protocol-comparison.png")
    window._comparison.hide()

    # The rest of the session, as fast as the computer goes.
    window.clock.release()
    shots.wait_for(lambda: window.visit.application is not None, "the end of the session")
    shots.settle(0.5)

    if not window.workflow.go_to(Stage.MOISTURIZATION):
        raise RuntimeError(f"application did not clear: {window.workflow.blockers.text()}")
    boxes = window.workflow.moisturization.boxes
    for item in MOISTURIZATION_CHECKLIST[:2]:
        boxes[item].click()
    shots.shoot(window, "stage-moisturization.png")
    for item in MOISTURIZATION_CHECKLIST:
        if not boxes[item].isChecked():
            boxes[item].click()
    if not window.workflow.go_to(Stage.FOLLOW_UP):
        raise RuntimeError(f"moisturization did not clear: {window.workflow.blockers.text()}")

    page = window.workflow.follow_up
    page.reactions[Reaction.REDNESS].click()
    page.severities[Reaction.REDNESS].setCurrentIndex(1)  # mild
    page.durations[Reaction.REDNESS].setCurrentIndex(2)  # faded within minutes
    page.notes.setPlainText(FOLLOW_UP_NOTES)
    page.save_button.click()
    shots.settle(0.3)
    # The form scrolls: first its reactions, then its notes and the next appointment.
    form = page.findChild(QtWidgets.QScrollArea).verticalScrollBar()
    form.setValue(form.minimum())
    shots.shoot(window, "stage-follow-up.png")
    form.setValue(form.maximum())
    shots.shoot(window, "stage-follow-up-appointment.png")

    window.toggle_clients()
    records = window.records
    records.refresh()
    records.select_client(int(window.visit.client.reference))
    shots.settle(0.5)
    shots.shoot(window, "console-clients.png")


def toning_visit(shots: Shooter) -> None:
    """Toning on the eye area, then an emergency stop: Start treats the same client again."""
    from console.ui.app import prepare_demo_visit

    window = shots.window()
    if not prepare_demo_visit(window, "toning", client=TONING_CLIENT):
        raise RuntimeError("the toning visit did not reach the application stage")
    window.workflow.consultation.practitioner.setText(PRACTITIONER)
    window.workflow.consultation.goals.setPlainText("Brighter, firmer skin around the eyes")
    window.start_session()
    if window.engine is None:
        raise RuntimeError("the toning session did not start")
    shots.run_to(window, 200.0)  # step 3, eye area right
    shots.shoot(window, "console-toning.png")

    engine = window.engine
    window.emergency_stop()
    window.clock.release()
    shots.wait_for(lambda: engine.state.terminal, "the emergency stop")
    shots.wait_for(lambda: "Start" in window.alert.text(), "the alert after the stop", 10)
    shots.settle(0.5)
    shots.shoot(window, "stage-application-stopped.png")


def editor_picture(shots: Shooter) -> None:
    """The protocol editor on lifting, one current over the hard limit."""
    from console.ui.protocol_editor import Column, ProtocolEditor

    window = shots.window(with_records=False)
    connection = window.console.connection
    editor = ProtocolEditor(
        window.console.host.protocols,
        connection.info.capabilities,
        connection.identity.model,
        shots.scratch / "packs",
    )
    editor.resize(1280, 800)
    editor.show()
    if not editor.start_from("lifting"):
        raise RuntimeError("the editor did not open lifting")
    # A pack of its own, so that the only problem shown is the current typed too high.
    editor.header.id_edit.setText("lifting-gentle")
    editor.header.name_edit.setText("Gentle lifting")
    editor.model.setData(editor.model.index(4, Column.CURRENT), 1200.0)
    editor.table.setCurrentIndex(editor.model.index(4, Column.CURRENT))
    shots.shoot(editor, "protocol-editor.png")
    editor.hide()
    editor.deleteLater()


def access_pictures(shots: Shooter) -> None:
    """Records with accounts: the sign-in page, the lock during a treatment (its progress and
    the stop, nothing of the client), and the administrator's audit trail of a client."""
    from console.records.accounts import create_account, create_administrator
    from console.ui.app import prepare_demo_visit

    window = shots.window()
    store = window.store
    admin = create_administrator(store, "Maria Keller", "clinic-admin-2026")
    create_account(store, admin, "Jonas Weber", "practitioner", "731954")
    window.access.attach(store)
    shots.shoot(window, "account-sign-in.png")

    page = window.access._page
    page.name.setText("Maria Keller")
    page.secret.setText("clinic-admin-2026")
    page.submit()
    shots.wait_for(lambda: not window.access.shown, "the sign-in")
    if not prepare_demo_visit(window, "toning", client=TONING_CLIENT):
        raise RuntimeError("the toning visit did not reach the application stage")
    window.start_session()
    if window.engine is None:
        raise RuntimeError("the toning session did not start")
    shots.run_to(window, 95.0)
    window.access.lock()
    shots.settle(0.3)
    shots.shoot(window, "account-locked.png")

    page.secret.setText("clinic-admin-2026")
    page.submit()
    shots.wait_for(lambda: not window.access.shown, "the unlock")
    engine = window.engine
    window.stop_session()
    window.clock.release()
    shots.wait_for(lambda: engine.state.terminal, "the stop")
    shots.wait_for(lambda: window.archive.session_id is not None, "the session's record")
    client = int(window.visit.client.reference)
    window.toggle_clients()
    window.records.select_client(client)
    window.audit_access("report", [client], f"session {window.archive.session_id[:8]}")
    window.records.select_client(client)
    window.records.show_trail()
    dialog = window.records.audit_dialog
    dialog.check_chain()
    shots.shoot(dialog, "audit-trail.png")
    dialog.close()


def emulated_scpi_picture(shots: Shooter) -> None:
    """Circulation on the SCPI machine's emulator through a pty: a machine on a port, in real
    time, that says in its hello that it drives no current."""
    from PySide6 import QtCore

    from console.engine.clock import RealClock
    from console.plugins import load_plugins
    from console.session import Console
    from console.ui.app import prepare_demo_visit
    from console.ui.main_window import MainWindow
    from device_drivers.emulator import make_emulator

    server = make_emulator("scpi", RealClock())
    port = server.open_pty()
    server.start()
    console = Console(load_plugins(blocked=()))
    window = None
    try:
        console.connect("scpi", port=port)
        settings = QtCore.QSettings(
            str(shots.scratch / "scpi-settings.ini"), QtCore.QSettings.Format.IniFormat
        )
        window = MainWindow(console, settings)
        window.resize(*WINDOW_SIZE)
        window.show_connection(console.connection)
        window.show()
        if not prepare_demo_visit(window, "circulation", client=CLIENT):
            raise RuntimeError("the circulation visit did not reach the application stage")
        window.workflow.consultation.practitioner.setText(PRACTITIONER)
        window.start_session()
        engine = window.engine
        if engine is None:
            raise RuntimeError("the circulation session did not start")
        shots.wait_for(lambda: engine.clock.now() - window._session_origin_s >= 4.0, "4 s")
        window._refresh_readouts()
        window.scope.refresh(force=True)
        shots.shoot(window, "console-emulated-scpi.png")
        window.stop_session()
        shots.wait_for(lambda: engine.state.terminal, "the stop")
    finally:
        if window is not None:
            if window.engine is not None and not window.engine.state.terminal:
                window.engine.emergency_stop()
            window.hide()
            window.deleteLater()
        console.disconnect()
        server.stop()
        shots.settle(0.1)


@contextlib.contextmanager
def private_environment() -> Iterator[Path]:
    """A temporary folder for everything the console would keep of its own: plugin settings,
    protocol packs, the records' journal and the user's data folder."""
    import platformdirs

    with tempfile.TemporaryDirectory(prefix="mc-docs-screenshots-") as name:
        scratch = Path(name)
        for variable, path in (
            ("MC_CONSOLE_PLUGIN_SETTINGS", scratch / "plugins.json"),
            ("MC_CONSOLE_PACKS_DIR", scratch / "packs"),
            ("MC_CONSOLE_JOURNAL_DIR", scratch / "journal"),
        ):
            os.environ[variable] = str(path)
        (scratch / "packs").mkdir()
        (scratch / "journal").mkdir()
        data = scratch / "user-data"
        platformdirs.user_data_dir = lambda *_args, **_kw: str(data)  # type: ignore[assignment]
        yield scratch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--list", action="store_true", help="print the pictures' names and stop")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(PICTURES))
        return 0
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    args.out.mkdir(parents=True, exist_ok=True)
    with private_environment() as scratch:
        shots = Shooter(args.out, scratch)
        try:
            consultation_pictures(shots)
            lifting_visit(shots)
            toning_visit(shots)
            editor_picture(shots)
            access_pictures(shots)
            emulated_scpi_picture(shots)
        finally:
            shots.close_all()
    missing = [name for name in PICTURES if args.out / name not in shots.written]
    if missing:
        print(f"not written: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
