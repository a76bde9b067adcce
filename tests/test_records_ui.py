"""The client records panel over a real SQLite store seeded with clients, screenings and sessions
(pytest-qt, offscreen). A screenshot is written to ``test-artifacts/records-panel.png``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from console.drivers import DeviceIdentity
from console.engine.events import (
    EngineState,
    SafetyEvent,
    SafetyKind,
    SessionInfo,
    SessionSummary,
    StepDelivery,
)
from console.protocols import Protocol
from console.records.store import RecordStore, StoreUnavailableError
from console.screening import Screening, contraindications
from console.ui import dialogs as boxes
from console.ui.app import make_application
from console.ui.records_panel import STATE_COLOURS, RecordsPanel, local_time
from console.zones import zone_catalog
from plugins.lifting import lifting_protocol
from support import make_protocol

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PRACTITIONER = "Maria Keller"
MACHINE = DeviceIdentity("MC Pro 2", "MP2-00417", "2.3.1")
UNREACHABLE = "the records database cannot be reached (drive removed or server down)"

# -- seeding the store ----------------------------------------------------------------------------


def record_session(
    store: RecordStore,
    client_id: int,
    protocol: Protocol,
    started_at: datetime,
    *,
    steps: int | None = None,
    stop: SafetyKind | None = None,
    simulated: bool = False,
    scale: float = 1.0,
) -> str:
    """A session as the recorder writes it: the row, each step as it ends, then the end.

    ``stop`` ends it early after ``steps`` steps (the last one cut short) with that event.
    """
    session_id = uuid.uuid4().hex
    info = SessionInfo(
        session_id=session_id,
        protocol_id=protocol.id,
        protocol_version=protocol.version,
        protocol_name=protocol.name,
        driver_id="simulator" if simulated else "framed",
        machine=MACHINE,
        simulated=simulated,
        started_at=started_at,
    )
    store.begin_session(info, PRACTITIONER, client_id)
    count = len(protocol.steps) if steps is None else steps
    deliveries = []
    for index, step in enumerate(protocol.steps[:count]):
        completed = stop is None or index < count - 1
        seconds = step.duration_s if completed else step.duration_s * 0.4
        # Deterministic variety: zones and sessions differ a little, as on real skin.
        charge = step.planned_charge_uc * scale * (seconds / step.duration_s)
        charge *= 1.0 + 0.04 * ((index * 7) % 5) - 0.05
        delivery = StepDelivery(
            index=index,
            zone=step.zone,
            planned_s=step.duration_s,
            time_under_current_s=seconds,
            mean_current_ua=step.waveform.current_ua * 0.97,
            charge_uc=round(charge, 1),
            mean_impedance_kohm=38.0 + index,
            completed=completed,
        )
        store.add_step(session_id, delivery)
        deliveries.append(delivery)
    events: tuple[SafetyEvent, ...] = ()
    state = EngineState.FINISHED
    reason = "every step delivered"
    if stop is not None:
        state = EngineState.ABORTED
        reason = f"{stop.value.replace('_', ' ')} during step {count}"
        events = (SafetyEvent(stop, 600.0, reason, "output off, session ended", count - 1),)
    store.end_session(
        session_id,
        SessionSummary(state, reason, tuple(deliveries), events, elapsed_s=900.0),
    )
    return session_id


@pytest.fixture
def protocols() -> dict[str, Protocol]:
    return {p.id: p for p in (lifting_protocol(), make_protocol())}


@pytest.fixture
def seeded(store: RecordStore, protocols: dict[str, Protocol]) -> dict[str, int]:
    """Anna: two screenings and four lifting sessions; Bernd: one aborted session; Carla: new."""
    now = datetime.now(UTC).replace(microsecond=0)
    anna = store.add_client(
        "Anna Berger",
        PRACTITIONER,
        birth_year=1978,
        phone="+49 30 5550142",
        email="anna.berger@example.org",
        goals="Lift the jawline and soften the nasolabial folds before a wedding in June.",
    )
    bernd = store.add_client("Bernd Anders", PRACTITIONER, birth_year=1965)
    carla = store.add_client("Carla Andersen", PRACTITIONER)

    born = date(1978, 3, 2)
    first = Screening(
        answers=dict.fromkeys(contraindications(), False),
        at=now - timedelta(30),
        date_of_birth=born,
    )
    # Injected two days before that screening: inside the 30-day wait.
    first.answer("fillers_or_botox", True, (now - timedelta(32)).date())
    store.record_screening(anna, first, PRACTITIONER)
    second = Screening(
        answers=dict.fromkeys(contraindications(), False),
        at=now - timedelta(22),
        date_of_birth=born,
    )
    second.answer("metal_implants", True)
    second.override(
        "metal_implants", "Two dental implants only; probes kept on the cheekbone.", PRACTITIONER
    )
    store.record_screening(anna, second, PRACTITIONER)

    lifting = protocols["lifting"]
    starts = [now - timedelta(days=d, hours=h) for d, h in ((21, 2), (17, 3), (14, 1), (10, 2))]
    record_session(store, anna, lifting, starts[0], scale=0.92)
    record_session(store, anna, lifting, starts[1], scale=0.97)
    record_session(store, anna, lifting, starts[2], steps=7, stop=SafetyKind.OPERATOR_STOP)
    record_session(store, anna, lifting, starts[3], scale=1.02)

    store.record_screening(bernd, Screening.all_clear(), PRACTITIONER)
    record_session(
        store,
        bernd,
        protocols["test-protocol"],
        now - timedelta(days=3),
        steps=2,
        stop=SafetyKind.OVER_CURRENT,
        simulated=True,
    )
    return {"anna": anna, "bernd": bernd, "carla": carla}


@pytest.fixture
def panel(qtbot, store, protocols, seeded) -> RecordsPanel:
    make_application()  # the clinic style sheet, as in the console
    widget = RecordsPanel(store, protocols, lambda: PRACTITIONER)
    qtbot.addWidget(widget)
    widget.resize(1360, 820)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def listed(panel: RecordsPanel) -> list[str]:
    return [
        panel.client_list.topLevelItem(row).text(0)
        for row in range(panel.client_list.topLevelItemCount())
    ]


def timeline_rows(panel: RecordsPanel) -> list[list[str]]:
    tree = panel.timeline
    return [
        [tree.topLevelItem(row).text(column) for column in range(tree.columnCount())]
        for row in range(tree.topLevelItemCount())
    ]


# -- the list -------------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_search_filters_the_list_as_you_type(qtbot, panel, store) -> None:
    assert listed(panel) == ["Anna Berger", "Bernd Anders", "Carla Andersen"]
    anna = store.search_clients("Anna")[0]
    row = panel.client_list.topLevelItem(0)
    assert [row.text(c) for c in range(4)] == [
        "Anna Berger",
        "1978-03-02",  # the full date, from her screening
        "4",
        local_time(anna.last_visit),
    ]
    assert panel.client_list.topLevelItem(1).text(1) == "1965"  # recorded with the year only
    assert panel.client_list.topLevelItem(2).text(1) == "—"  # no date of birth given
    assert panel.client_list.topLevelItem(2).text(3) == "—"  # never treated

    qtbot.keyClicks(panel.search, "and")
    assert len(listed(panel)) == 3  # debounced: no query per key
    qtbot.waitUntil(lambda: listed(panel) == ["Bernd Anders", "Carla Andersen"], timeout=3000)
    assert "2 clients" in panel.list_caption.text()

    panel.search.clear()
    qtbot.keyClicks(panel.search, "ZZZ")
    qtbot.waitUntil(lambda: listed(panel) == [], timeout=3000)
    assert "No client matches “ZZZ”" in panel.list_caption.text()
    dialog = panel.new_client()  # what was looked for and not found is the new name
    assert dialog.name.text() == "ZZZ"
    dialog.reject()
    panel.search.clear()
    qtbot.keyClicks(panel.search, "carla")
    qtbot.keyClick(panel.search, QtCore.Qt.Key.Key_Return)  # Enter: search now, open the first
    assert listed(panel) == ["Carla Andersen"]
    assert panel.name_label.text() == "Carla Andersen"


# -- the client page ------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_selecting_a_client_shows_screenings_and_the_session_timeline(
    qtbot, panel, store, seeded
) -> None:
    assert panel.pages.currentWidget() is panel.placeholder
    assert not panel.start_button.isVisible()
    item = panel.client_list.topLevelItem(0)
    rect = panel.client_list.visualItemRect(item)
    qtbot.mouseClick(
        panel.client_list.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=rect.center()
    )
    qtbot.waitUntil(lambda: panel.pages.currentWidget() is panel.client_page, timeout=3000)
    record = store.client(seeded["anna"])
    assert panel.name_label.text() == "Anna Berger"
    assert "Born 1978-03-02" in panel.details_label.text()  # the screening gave the full date
    assert "anna.berger@example.org" in panel.details_label.text()
    assert "wedding" in panel.goals_label.text()

    history = panel.screenings.toPlainText()
    newest, oldest = record.screenings
    assert history.index(local_time(newest.at)) < history.index(local_time(oldest.at))
    assert "Cleared" in history and "Not cleared" in history
    assert "relative contraindication needs a professional override" in history
    assert contraindications()["fillers_or_botox"].question in history
    injected = (datetime.now(UTC).replace(microsecond=0) - timedelta(32)).date()
    assert f"fillers or botulinum toxin on {injected.isoformat()}: wait until " in history
    assert "(questions v2)" in history
    assert f"Override — {contraindications()['metal_implants'].question}" in history
    assert "Two dental implants only; probes kept on the cheekbone." in history
    assert PRACTITIONER in history

    rows = timeline_rows(panel)
    assert [row[0] for row in rows] == [local_time(s.started_at) for s in record.sessions]
    assert [row[2] for row in rows] == ["Finished", "Stopped", "Finished", "Finished"]
    assert {row[1] for row in rows} == {"Lifting"}
    assert [row[3] for row in rows] == [f"{s.total_charge_uc:,.0f} µC" for s in record.sessions]
    assert [row[4] for row in rows] == ["12 of 12", "7 of 12", "12 of 12", "12 of 12"]
    colours = [panel.timeline.topLevelItem(r).foreground(2).color().name() for r in range(4)]
    assert colours == [STATE_COLOURS[s] for s in ("finished", "stopped", "finished", "finished")]
    assert "cut short" in panel.timeline.topLevelItem(1).toolTip(2)

    stopped = panel.timeline.topLevelItem(1)
    centre = panel.timeline.visualItemRect(stopped).center()
    with qtbot.waitSignal(panel.session_activated, timeout=3000) as opened:
        # What a mouse sends for a double click: a click, then the double-click event (Qt 6's
        # mouseDClick alone sends no press, and item views want the press first).
        qtbot.mouseClick(panel.timeline.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=centre)
        qtbot.mouseDClick(panel.timeline.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=centre)
    assert opened.args == [record.sessions[1].id]

    panel.select_client(seeded["bernd"])
    rows = timeline_rows(panel)
    assert rows[0][1] == "Test protocol (simulated)"
    assert rows[0][2] == "Aborted"
    assert panel.timeline.topLevelItem(0).foreground(2).color().name() == STATE_COLOURS["aborted"]

    panel.select_client(seeded["carla"])
    assert timeline_rows(panel) == []
    assert "No screening recorded yet" in panel.screenings.toPlainText()


@pytest.mark.timeout(60)
def test_chart_has_one_curve_per_zone_with_the_stored_charges(panel, store, seeded) -> None:
    panel.select_client(seeded["anna"])
    course = store.charge_per_zone(seeded["anna"])
    assert len(course) == 4
    zones = {zone for _, charges in course for zone in charges}
    assert set(panel.zone_curves) == zones
    assert len(panel.plot.listDataItems()) == len(zones) == 12
    for zone, curve in panel.zone_curves.items():
        expected = [(n, c[zone]) for n, (_, c) in enumerate(course, start=1) if zone in c]
        x, y = curve.getData()
        np.testing.assert_array_equal(x, [n for n, _ in expected])
        np.testing.assert_allclose(y, [charge for _, charge in expected])
        assert curve.opts["symbol"] is not None  # markers on every session
    # Session 3 stopped after 7 steps: the neck was not treated that time.
    x, _ = panel.zone_curves["neck_left"].getData()
    assert list(x) == [1, 2, 4]
    names = {label.text for _, label in panel.legend.items}
    assert names == {zone_catalog()[zone].name for zone in zones}
    assert panel.chart_stack.currentWidget() is panel.chart

    panel.select_client(seeded["carla"])
    assert panel.zone_curves == {}
    assert panel.chart_stack.currentWidget() is panel.chart_empty
    assert "No charge delivered yet" in panel.chart_empty.text()

    panel.select_client(seeded["anna"])  # drawn again: the legend stays beside the plot
    legend = panel.legend.mapRectToScene(panel.legend.boundingRect())
    plot = panel.plot.mapRectToScene(panel.plot.boundingRect())
    assert legend.left() >= plot.right() - 1
    assert len(panel.legend.items) == 12


@pytest.mark.timeout(60)
def test_course_progress_follows_the_latest_protocol(qtbot, store, seeded, protocols) -> None:
    panel = RecordsPanel(store, protocols, lambda: PRACTITIONER)
    qtbot.addWidget(panel)
    panel.select_client(seeded["anna"])
    # Four lifting sessions, the third stopped after 7 of 12 steps: three of the course.
    assert panel.course_label.text() == (
        "Lifting: 3 of 10 sessions done (2 a week), then maintenance every 4–6 weeks; "
        "1 that did not finish not counted"
    )
    record_session(store, seeded["anna"], protocols["test-protocol"], datetime.now(UTC))
    panel.refresh()
    # The newest session's protocol sets the course; only its sessions count.
    assert panel.course_label.text().startswith("Test protocol: 1 of 10 sessions done (2 a week)")
    panel.select_client(seeded["carla"])
    assert panel.course_label.text() == "Course: no sessions yet."

    # Bernd's only session was a simulation: no current reached him, no course yet.
    panel.select_client(seeded["bernd"])
    assert panel.course_label.text() == (
        "Course: no sessions on a real machine yet (simulated sessions do not count)."
    )

    unknown = RecordsPanel(store, {}, lambda: PRACTITIONER)
    qtbot.addWidget(unknown)
    unknown.select_client(seeded["anna"])
    assert "not installed" in unknown.course_label.text()


# -- adding and deleting --------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_new_client_dialog_shows_errors_beside_their_fields_and_keeps_the_entry(
    qtbot, panel, store
) -> None:
    qtbot.mouseClick(panel.new_button, QtCore.Qt.MouseButton.LeftButton)
    dialog = panel.new_client_dialog
    assert dialog is not None
    qtbot.waitExposed(dialog)
    assert dialog.practitioner.text() == PRACTITIONER
    qtbot.keyClicks(dialog.date_of_birth, "1985-04-12")
    qtbot.keyClicks(dialog.phone, "+49 171 5550199")
    qtbot.keyClicks(dialog.email, "dora@example.org")
    qtbot.keyClicks(dialog.goals, "Brighter skin tone")

    qtbot.mouseClick(dialog.add_button, QtCore.Qt.MouseButton.LeftButton)
    error = dialog.errors["name"]
    assert error.isVisible()
    assert error.text().lower() == "name is empty"
    # Beside its field: right under the name box, not under another one.
    name_box = dialog.name.geometry()
    at = error.mapTo(dialog, QtCore.QPoint(0, 0))
    below = dialog.name.mapTo(dialog, QtCore.QPoint(0, name_box.height()))
    assert 0 <= at.y() - below.y() < 12 and at.x() == below.x()
    assert not any(label.isVisible() for field, label in dialog.errors.items() if field != "name")
    assert dialog.isVisible()
    assert (dialog.date_of_birth.text(), dialog.phone.text(), dialog.email.text()) == (
        "1985-04-12",
        "+49 171 5550199",
        "dora@example.org",
    )
    assert dialog.goals.toPlainText() == "Brighter skin tone"
    assert len(store.search_clients()) == 3

    qtbot.keyClicks(dialog.name, "Dora Fischer")
    dialog.email.setText("dora@")
    qtbot.mouseClick(dialog.add_button, QtCore.Qt.MouseButton.LeftButton)
    assert not dialog.errors["name"].isVisible()
    assert dialog.errors["email"].isVisible()
    assert "is not an address" in dialog.errors["email"].text()

    dialog.email.setText("dora@example.org")
    with qtbot.waitSignal(panel.client_added, timeout=3000) as added:
        qtbot.mouseClick(dialog.add_button, QtCore.Qt.MouseButton.LeftButton)
    client = store.client(added.args[0])
    assert (client.name, client.date_of_birth, client.birth_year, client.phone, client.goals) == (
        "Dora Fischer",
        date(1985, 4, 12),
        1985,
        "+49 171 5550199",
        "Brighter skin tone",
    )
    qtbot.waitUntil(lambda: panel.new_client_dialog is None, timeout=3000)
    assert "Dora Fischer" in listed(panel)
    assert panel.current_client is not None and panel.current_client.id == client.id
    assert panel.name_label.text() == "Dora Fischer"


@pytest.mark.timeout(60)
def test_delete_asks_for_the_typed_name_and_a_wrong_name_deletes_nothing(
    qtbot, panel, store, seeded, monkeypatch
) -> None:
    prompts: list[str] = []
    answer: list[tuple[str, bool]] = [("Bernd", True)]

    def ask_text(_parent: object, _title: str, label: str, on_text, *_args: object, **_kw: object):
        prompts.append(label)
        typed, ok = answer[0]
        if ok:
            on_text(typed)

    monkeypatch.setattr(boxes, "ask_text", ask_text)
    panel.select_client(seeded["bernd"])
    deleted: list[int] = []
    panel.client_deleted.connect(deleted.append)

    qtbot.mouseClick(panel.delete_button, QtCore.Qt.MouseButton.LeftButton)
    assert "Bernd Anders" in prompts[-1] and "cannot be undone" in prompts[-1]
    assert "1 session" in prompts[-1]
    assert store.client(seeded["bernd"]).name == "Bernd Anders"
    assert panel.banner.isVisible() and "nothing was erased" in panel.banner.text()
    assert deleted == []

    answer[0] = ("Bernd Anders", False)  # Cancel, even with the right name typed
    panel.delete_client()
    assert len(store.search_clients("Bernd")) == 1

    answer[0] = (" Bernd Anders ", True)
    panel.delete_client()
    assert store.search_clients("Bernd") == []
    assert store.sessions("Bernd") == []
    assert deleted == [seeded["bernd"]]
    assert "Bernd Anders" not in listed(panel)
    assert panel.pages.currentWidget() is panel.placeholder
    assert "erased" in panel.banner.text()


@pytest.mark.timeout(60)
def test_store_unavailable_shows_the_banner_and_the_panel_keeps_working(
    qtbot, panel, store, seeded, monkeypatch
) -> None:
    def unreachable(*_args: object, **_kw: object) -> None:
        raise StoreUnavailableError(UNREACHABLE)

    with monkeypatch.context() as patch:
        patch.setattr(store, "search_clients", unreachable)
        qtbot.keyClicks(panel.search, "Anna")
        qtbot.waitUntil(panel.banner.isVisible, timeout=3000)
        assert "could not load the client list" in panel.banner.text()
        assert UNREACHABLE in panel.banner.text()
        assert panel.retry_button.isVisible()
        assert len(listed(panel)) == 3  # the last list stays
        panel.select_client(seeded["anna"])  # other calls still go through
        assert panel.name_label.text() == "Anna Berger"
        panel.refresh()
        assert panel.banner.isVisible()

    qtbot.mouseClick(panel.retry_button, QtCore.Qt.MouseButton.LeftButton)
    assert not panel.banner.isVisible()
    assert listed(panel) == ["Anna Berger"]

    with monkeypatch.context() as patch:
        patch.setattr(store, "client", unreachable)
        panel.select_client(seeded["bernd"])
        assert panel.banner.isVisible() and "could not load the client" in panel.banner.text()
        assert panel.name_label.text() == "Anna Berger"  # the page shown stays
    with monkeypatch.context() as patch:
        patch.setattr(store, "charge_per_zone", unreachable)
        panel.select_client(seeded["anna"])
        assert "charge per zone" in panel.banner.text()
        assert panel.chart_stack.currentWidget() is panel.chart_empty
        assert timeline_rows(panel)  # the rest of the page is there
    panel.refresh()
    assert not panel.banner.isVisible()
    assert panel.chart_stack.currentWidget() is panel.chart


@pytest.mark.timeout(60)
def test_start_session_is_requested_with_the_client_id_and_name(qtbot, panel, seeded) -> None:
    panel.select_client(seeded["anna"])
    assert panel.start_button.isVisible()
    with qtbot.waitSignal(panel.start_session_requested, timeout=3000) as requested:
        qtbot.mouseClick(panel.start_button, QtCore.Qt.MouseButton.LeftButton)
    assert requested.args == [seeded["anna"], "Anna Berger"]


def _snapshot(widget: QtWidgets.QWidget, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    assert widget.grab().save(str(ARTIFACTS / f"{name}.png"))


@pytest.mark.timeout(60)
def test_screenshots(qtbot, panel, seeded, monkeypatch) -> None:
    make_application()  # the shipped clinic style sheet
    _snapshot(panel, "records-panel-empty")
    panel.select_client(seeded["anna"])
    qtbot.wait(50)  # let the layouts and the chart settle
    _snapshot(panel, "records-panel")

    panel.new_client()
    dialog = panel.new_client_dialog
    qtbot.waitExposed(dialog)
    dialog.phone.setText("+49 171 5550199")
    dialog.submit()
    _snapshot(dialog, "records-new-client")
    dialog.reject()

    def unreachable(*_args: object) -> None:
        raise StoreUnavailableError(UNREACHABLE)

    monkeypatch.setattr(panel.store, "search_clients", unreachable)
    panel.refresh()
    _snapshot(panel, "records-panel-unavailable")
