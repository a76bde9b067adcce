"""Reports from the client records: the one-page PDF, the CSV exports and their CLI commands.

A real session is recorded: a short protocol runs on the simulated machine (virtual clock, so it
takes well under a second) with a contact loss the scripted operator resumes after, and each step,
safety event and the end are written to a SQLite store in ``tmp_path``, as the recorder does.
PDFs are read back as text with pypdf. Tests that make a PDF ask for pytest-qt's ``qapp``, so the
report finds a QApplication (the widget tests need one, not the plain QGuiApplication the report
would otherwise create for the rest of the process).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import time
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from console.engine.events import EngineState, SessionSummary
from console.records.cli_commands import add_record_commands
from console.records.reports import (
    export_csv,
    export_sessions_csv,
    export_steps_csv,
    latest_screening,
    neutralise_formula,
    write_session_pdf,
)
from console.records.store import (
    ClientRecord,
    EventRow,
    NoteRow,
    ReactionRow,
    RecordStore,
    ScreeningRow,
    SessionRow,
    StepRow,
)
from console.screening import Screening
from console.zones import zone_catalog
from device_drivers.simulator import SimFault
from records_support import gone_console
from support import make_protocol

CLIENT = "Élodie Martin"
OTHER_CLIENT = "Bruno Stone"
PRACTITIONER = "Anna Berg"
OVERRIDE_REASON = "Stopped tretinoin 20 days ago; skin intact on inspection."
NOTE = "Mild redness on both cheeks, gone after 15 minutes."

pytestmark = pytest.mark.timeout(60)


@dataclass(frozen=True)
class Recorded:
    """What the ``recorded`` fixture put in the store."""

    store: RecordStore
    url: str
    client_id: int
    session_id: str
    summary: SessionSummary
    interrupted_id: str  #: the other client's session, left ``running`` as a crash leaves it


@pytest.fixture
def recorded(tmp_path: Path, make_engine, clock) -> Recorded:
    url = f"sqlite:///{tmp_path}/r.sqlite3"
    store = RecordStore(url)
    client_id = store.add_client(CLIENT, PRACTITIONER, birth_year=1984)
    screening = Screening.all_clear(PRACTITIONER)
    screening.at = datetime.now(UTC) - timedelta(minutes=5)
    screening.answer("retinoids", True, date.today() - timedelta(days=20))
    screening.override("retinoids", OVERRIDE_REASON, PRACTITIONER)
    store.record_screening(client_id, screening, PRACTITIONER)

    engine, machine, _ = make_engine()
    engine.prepare(make_protocol(steps=3, duration_s=10), screening.evaluate())
    assert engine.session is not None
    store.begin_session(engine.session, PRACTITIONER, client_id)
    machine.schedule(SimFault.CONTACT_LOSS, at_s=clock.now() + 4.0, duration_s=0.5)
    engine.set_pause_policy(resume_after_s=1.0, max_pause_s=60.0)
    summary = engine.run(timeout=30)
    session_id = engine.session.session_id
    for step in summary.steps:
        store.add_step(session_id, step)
    for event in summary.events:
        store.add_event(session_id, event, summary.started_at_s)
    store.end_session(session_id, summary)
    store.add_note(client_id, PRACTITIONER, ["redness"], NOTE, session_id=session_id)
    assert summary.state is EngineState.FINISHED and summary.events, "a fault, then the end"

    # A later session of another client that never ended (the console crashed during it).
    other_id = store.add_client(OTHER_CLIENT, PRACTITIONER)
    crashed = replace(
        engine.session,
        session_id="f" * 32,
        started_at=engine.session.started_at + timedelta(minutes=30),
    )
    store.begin_session(crashed, PRACTITIONER, other_id, gone_console())
    yield Recorded(store, url, client_id, session_id, summary, crashed.session_id)
    store.close()


def pdf_text(path: Path) -> tuple[int, str]:
    """(pages, text of every page) with ligatures unfolded and whitespace collapsed."""
    reader = PdfReader(path)
    text = " ".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text))


def placed_text(path: Path) -> list[tuple[str, float]]:
    """Each run of text on page 1 with its height above the page's bottom edge (points).

    Text drawn off the page is still in the file (and in ``pdf_text``): only positions tell
    whether the report really fits.
    """
    runs: list[tuple[str, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        if text.strip():
            # The height of the text matrix's origin, through the current transform.
            height = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
            runs.append((re.sub(r"\s+", " ", text).strip(), height))

    PdfReader(path).pages[0].extract_text(visitor_text=visit)
    return runs


# -- the PDF -------------------------------------------------------------------------------------


def test_pdf_is_one_page_with_client_protocol_zones_screening_events_and_notes(
    qapp, recorded: Recorded, tmp_path: Path
) -> None:
    session = recorded.store.session(recorded.session_id)
    client = recorded.store.client(recorded.client_id)
    path = tmp_path / "report.pdf"
    write_session_pdf(session, client, path)

    assert path.read_bytes().startswith(b"%PDF-")
    pages, text = pdf_text(path)
    assert pages == 1
    assert "Microcurrent treatment report" in text
    assert f"{CLIENT} (born 1984)" in text
    assert "Test protocol (test-protocol v" in text
    assert "SIMULATION" in text
    assert PRACTITIONER in text
    zones = zone_catalog()
    for step in session.steps:
        assert zones[step.zone].name in text
    assert f"{len(session.steps)} of {len(session.steps)} completed" in text
    assert "contact lost" in text  # the fault the simulated machine raised
    assert "redness" in text and NOTE in text
    assert OVERRIDE_REASON in text and "cleared" in text
    assert session.id in text  # the footer names the whole session id


def test_pdf_of_a_busy_twelve_step_session_fits_one_page(qapp, tmp_path: Path) -> None:
    # Twelve zones, overrides, ten safety events and a long note: more than fits at the
    # largest type, so the report must shrink it, not cut the end off or spill onto page 2.
    zones = list(zone_catalog().values())[:12]
    assert len(zones) == 12
    start = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
    session = synthetic_session(
        client_id=7,
        client_name=CLIENT,
        steps=tuple(
            StepRow(i, zone.id, 60.0, 60.0 if i != 7 else 31.4, 299.0, 17_940.0, 42.5, i != 7)
            for i, zone in enumerate(zones)
        ),
        events=tuple(
            EventRow(
                120.0 + 30 * i,
                "contact_lost",
                "Contact lost: the impedance rose above 200 kΩ. Put both probes back on the "
                "skin, then resume.",
                "output off, paused",
            )
            for i in range(10)
        ),
        notes=(
            NoteRow(
                start + timedelta(minutes=20),
                PRACTITIONER,
                (ReactionRow("redness", "mild", "faded within minutes"), ReactionRow("tingling")),
                "Redness on the jaw line, gone after a quarter of an hour. " * 4 + "Last words.",
            ),
        ),
    )
    overrides = {
        "retinoids": OVERRIDE_REASON,
        "fillers_or_botox": "Botox in the forehead five months ago; forehead zones avoided.",
    }
    client = ClientRecord(
        id=7,
        name=CLIENT,
        birth_year=1984,
        phone="",
        email="",
        goals="",
        created_at=start - timedelta(days=30),
        screenings=(
            ScreeningRow(
                start - timedelta(minutes=9), PRACTITIONER, True, "cleared", {}, overrides
            ),
        ),
        sessions=(session,),
        notes=session.notes,
        follow_ups=(),
    )
    path = tmp_path / "twelve.pdf"
    write_session_pdf(session, client, path)

    pages, text = pdf_text(path)
    assert pages == 1
    for zone in zones:
        assert zone.name in text
    assert "cut short" in text and "11 of 12 completed" in text
    assert text.count("contact lost") == 10
    assert OVERRIDE_REASON in text
    assert "Last words." in text
    assert "Reactions seen:" in text
    assert "Redness — mild, faded within minutes" in text and "Tingling" in text
    runs = placed_text(path)
    footer_y = next(y for run, y in runs if run.startswith("Generated"))
    body_bottom = min(y for run, y in runs if run.endswith("Last words."))
    page_height = float(PdfReader(path).pages[0].mediabox.height)
    assert all(0 < y < page_height for _, y in runs), "nothing drawn off the page"
    assert body_bottom > footer_y + 10, "the body ends above the footer"


def test_pdf_of_hundreds_of_events_is_scaled_onto_one_page(qapp, tmp_path: Path) -> None:
    events = tuple(EventRow(float(i), "short_circuit", f"event {i}", "paused") for i in range(200))
    path = tmp_path / "many.pdf"
    write_session_pdf(synthetic_session(events=events), None, path)

    pages, text = pdf_text(path)
    assert pages == 1
    assert "event 0 " in text and "event 199 " in text
    runs = placed_text(path)
    footer_y = next(y for run, y in runs if run.startswith("Generated"))
    assert min(y for run, y in runs if run.startswith("event 199")) > footer_y
    assert all(y > 0 for _, y in runs)


def test_pdf_without_a_client_says_so(qapp, tmp_path: Path) -> None:
    path = tmp_path / "anonymous.pdf"
    write_session_pdf(synthetic_session(simulated=False, machine="MC-7 (serial A1)"), None, path)
    _, text = pdf_text(path)
    assert "no client recorded" in text
    assert "Screening" not in text
    assert "SIMULATION" not in text and "EMULATED" not in text


def test_pdf_shows_recorded_text_as_text_not_markup(qapp, tmp_path: Path) -> None:
    session = synthetic_session(
        client_name="<b>Ann</b> & <i>Co</i>", reason="stopped <script>x</script>"
    )
    path = tmp_path / "escaped.pdf"
    write_session_pdf(session, None, path)
    _, text = pdf_text(path)
    assert "<b>Ann</b> & <i>Co</i>" in text
    assert "stopped <script>x</script>" in text


def test_pdf_to_a_missing_folder_raises_a_clear_oserror_and_leaves_nothing(
    qapp, tmp_path: Path
) -> None:
    target = tmp_path / "no-such-folder" / "report.pdf"
    with pytest.raises(OSError, match=r"cannot write the PDF report to .*report\.pdf"):
        write_session_pdf(synthetic_session(), None, target)
    assert not target.parent.exists()

    with pytest.raises(OSError, match="it is a folder"):
        write_session_pdf(synthetic_session(), None, tmp_path)
    assert list(tmp_path.iterdir()) == [], "no temporary file left behind"


def test_latest_screening_is_the_newest_before_the_session(recorded: Recorded) -> None:
    client = recorded.store.client(recorded.client_id)
    session = recorded.store.session(recorded.session_id)
    found = latest_screening(client, session.started_at)
    assert found is not None and found.overrides == {"retinoids": OVERRIDE_REASON}
    assert latest_screening(client, found.at - timedelta(seconds=1)) is None


# -- CSV -----------------------------------------------------------------------------------------


def test_sessions_csv_round_trips(recorded: Recorded, tmp_path: Path) -> None:
    sessions = recorded.store.sessions(CLIENT)
    path = tmp_path / "sessions.csv"
    assert export_sessions_csv(sessions, path) == 1

    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 1
    row = rows[0]
    session = sessions[0]
    assert row["session_id"] == recorded.session_id
    assert row["client"] == CLIENT  # UTF-8 intact
    assert row["practitioner"] == PRACTITIONER
    protocol = make_protocol()
    assert (row["protocol_id"], row["protocol_version"]) == (protocol.id, protocol.version)
    assert row["machine"].startswith("MC Simulator S-1")
    assert row["simulated"] == "true"
    assert row["started_at"].endswith("Z") and row["ended_at"].endswith("Z")
    started = datetime.fromisoformat(row["started_at"])
    assert abs(started - session.started_at) < timedelta(seconds=1)
    assert datetime.fromisoformat(row["ended_at"]) >= started
    assert row["state"] == "finished"
    assert float(row["total_charge_uc"]) == pytest.approx(recorded.summary.total_charge_uc, 1e-3)
    assert int(row["steps"]) == len(recorded.summary.steps) == 3


def test_steps_csv_round_trips(recorded: Recorded, tmp_path: Path) -> None:
    sessions = recorded.store.sessions()  # both clients; the crashed session has no step
    path = tmp_path / "steps.csv"
    assert export_steps_csv(sessions, path) == 3

    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    zones = zone_catalog()
    assert [int(row["step"]) for row in rows] == [1, 2, 3]
    for row, step in zip(rows, recorded.summary.steps, strict=True):
        assert row["session_id"] == recorded.session_id
        assert row["client"] == CLIENT
        assert row["zone_id"] == step.zone
        assert row["zone_name"] == zones[step.zone].name
        assert float(row["planned_s"]) == pytest.approx(step.planned_s)
        assert float(row["actual_s"]) == pytest.approx(step.time_under_current_s, abs=1e-3)
        assert float(row["mean_current_ua"]) == pytest.approx(step.mean_current_ua, abs=1e-3)
        assert float(row["charge_uc"]) == pytest.approx(step.charge_uc, abs=1e-3)
        assert step.mean_impedance_kohm is not None
        assert float(row["mean_impedance_kohm"]) == pytest.approx(
            step.mean_impedance_kohm, abs=1e-3
        )
        assert row["completed"] == "true"


def test_csv_neutralises_formulas_in_every_text_cell(tmp_path: Path) -> None:
    session = synthetic_session(
        client_name='=HYPERLINK("http://x")',
        practitioner="@SUM(A1:A9)",
        reason="-2+3",
        protocol_version="+1",
        machine="\t=cmd",
    )
    path = tmp_path / "evil.csv"
    export_sessions_csv([session], path)
    export_steps_csv([session], tmp_path / "evil-steps.csv")
    with path.open(encoding="utf-8", newline="") as file:
        row = next(csv.DictReader(file))
    assert row["client"] == '\'=HYPERLINK("http://x")'
    assert row["practitioner"] == "'@SUM(A1:A9)"
    assert row["reason"] == "'-2+3"
    assert row["protocol_version"] == "'+1"
    assert row["machine"] == "'\t=cmd"
    assert row["protocol_id"] == "lifting"  # ordinary text untouched
    with (tmp_path / "evil-steps.csv").open(encoding="utf-8", newline="") as file:
        assert {r["client"] for r in csv.DictReader(file)} == {'\'=HYPERLINK("http://x")'}


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("a=b", "a=b"), ("", "")],
)
def test_neutralise_formula(cell: str, expected: str) -> None:
    assert neutralise_formula(cell) == expected


# -- the command line ----------------------------------------------------------------------------


#: What opening the records says on stderr when it recovered something (not an error).
RECOVERY_NOTE = re.compile(r"^mc-console: \d+ session\(s\) (were still open|kept in the local)")


def run(
    argv: list[str], capsys: pytest.CaptureFixture[str], notes: list[str] | None = None
) -> tuple[int, str, str]:
    """Parse ``argv`` with the record commands and run the chosen one: (status, out, err),
    with the recovery notes of opening the records moved from err into ``notes``."""
    parser = argparse.ArgumentParser(prog="mc-console")
    add_record_commands(parser.add_subparsers())
    args = parser.parse_args(argv)
    out = io.StringIO()
    status = args.func(args, out)
    err_lines = capsys.readouterr().err.splitlines(keepends=True)
    if notes is not None:
        notes.extend(line.strip() for line in err_lines if RECOVERY_NOTE.match(line))
    err = "".join(line for line in err_lines if not RECOVERY_NOTE.match(line))
    return status, out.getvalue(), err


def assert_one_error_line(err: str, contains: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("mc-console: error: ")
    assert contains in lines[0]


def table_rows(out: str) -> list[list[str]]:
    lines = out.splitlines()
    assert re.split(r"\s{2,}", lines[0].strip()) == [
        "id",
        "started",
        "client",
        "protocol",
        "state",
        "steps",
        "charge µC",
    ]
    assert set(lines[1].replace(" ", "")) == {"-"}
    return [re.split(r"\s{2,}", line.strip()) for line in lines[2:] if line.strip()]


def test_sessions_lists_newest_first_and_marks_a_crashed_session_interrupted(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    notes: list[str] = []
    status, out, err = run(["sessions", "--db", recorded.url], capsys, notes)
    assert (status, err) == (0, "")
    assert notes == [
        "mc-console: 1 session(s) were still open when their console stopped (crash or power "
        "cut). They are now marked interrupted, with what was delivered up to their last "
        "checkpoint."
    ]
    rows = table_rows(out)
    assert [row[0] for row in rows] == [recorded.interrupted_id[:8], recorded.session_id[:8]]
    crashed, done = rows
    assert crashed[2:5] == [OTHER_CLIENT, "Test protocol", "interrupted"]
    session = recorded.store.session(recorded.session_id)
    assert done == [
        recorded.session_id[:8],
        session.started_at.astimezone().strftime("%Y-%m-%d %H:%M"),
        CLIENT,
        "Test protocol",
        "finished",
        "3",
        f"{recorded.summary.total_charge_uc:,.1f}",
    ]


def test_sessions_client_filter_and_limit(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(["sessions", "--db", recorded.url, "--client", "MARTIN"], capsys)
    assert status == 0
    assert [row[2] for row in table_rows(out)] == [CLIENT]

    status, out, _ = run(["sessions", "--db", recorded.url, "--limit", "1"], capsys)
    assert [row[2] for row in table_rows(out)] == [OTHER_CLIENT]

    status, out, _ = run(["sessions", "--db", recorded.url, "--client", "nobody"], capsys)
    assert (status, out) == (0, "No sessions recorded for clients matching 'nobody'.\n")


def test_sessions_writes_both_csv_files_and_says_so(
    recorded: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sessions_csv, steps_csv = tmp_path / "s.csv", tmp_path / "st.csv"
    status, out, err = run(
        [
            *("sessions", "--db", recorded.url),
            *("--csv", str(sessions_csv), "--steps-csv", str(steps_csv)),
        ],
        capsys,
    )
    assert (status, err) == (0, "")
    assert f"wrote 2 sessions to {sessions_csv}" in out
    assert f"wrote 3 steps to {steps_csv}" in out
    with sessions_csv.open(encoding="utf-8", newline="") as file:
        assert len(list(csv.DictReader(file))) == 2
    with steps_csv.open(encoding="utf-8", newline="") as file:
        assert len(list(csv.DictReader(file))) == 3


def test_report_by_id_prefix_writes_the_pdf(
    qapp, recorded: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "visit.pdf"
    status, out, err = run(
        ["report", recorded.session_id[:8], "--pdf", str(path), "--db", recorded.url], capsys
    )
    assert (status, out, err) == (0, f"wrote {path}\n", "")
    pages, text = pdf_text(path)
    assert pages == 1
    assert CLIENT in text and "redness" in text and OVERRIDE_REASON in text


def test_report_of_an_unknown_session_exits_2_with_one_line(
    recorded: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "x.pdf"
    status, out, err = run(["report", "0123abcd", "--pdf", str(path), "--db", recorded.url], capsys)
    assert (status, out) == (2, "")
    assert_one_error_line(err, "no session '0123abcd'")
    assert not path.exists()


@pytest.mark.parametrize("session_id", ["", "%", "a_b", "../x"])
def test_report_refuses_what_is_not_a_session_id(
    recorded: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str], session_id: str
) -> None:
    # "%" would otherwise match every session through the store's prefix search.
    status, _, err = run(
        ["report", session_id, "--pdf", str(tmp_path / "x.pdf"), "--db", recorded.url], capsys
    )
    assert status == 2
    assert_one_error_line(err, "is not a session id")


def test_report_to_an_unwritable_path_exits_2_with_a_clear_line(
    qapp, recorded: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "missing" / "visit.pdf"
    status, out, err = run(
        ["report", recorded.session_id, "--pdf", str(path), "--db", recorded.url], capsys
    )
    assert (status, out) == (2, "")
    assert_one_error_line(err, f"cannot write the PDF report to {path}: the folder does not exist")


def test_sessions_with_a_bad_limit_or_an_unusable_database_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(["sessions", "--limit", "0", "--db", "sqlite://"], capsys)
    assert status == 2
    assert_one_error_line(err, "--limit 0 must be 1 or more")

    status, _, err = run(["sessions", "--db", "nosuchdialect://x"], capsys)
    assert status == 2
    assert_one_error_line(err, "cannot use the database")

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    status, _, err = run(["sessions", "--db", f"sqlite:///{blocker}/r.sqlite3"], capsys)
    assert status == 2
    assert_one_error_line(err, "records database")


# -- helpers -------------------------------------------------------------------------------------


def synthetic_session(**changes: object) -> SessionRow:
    """A finished session with one step, built directly (no store, no engine)."""
    started = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
    base = SessionRow(
        id="0123456789abcdef0123456789abcdef",
        client_id=None,
        client_name="",
        practitioner=PRACTITIONER,
        protocol_id="lifting",
        protocol_version="1.0",
        protocol_name="Lifting",
        machine="MC Simulator S-1 (serial SIM-1, firmware sim-1.0)",
        simulated=True,
        started_at=started,
        ended_at=started + timedelta(minutes=13),
        state="finished",
        reason="every step delivered",
        steps=(StepRow(0, "cheek_left", 60.0, 60.0, 300.0, 18_000.0, 40.0, True),),
        events=(),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_report_write_killed_half_way_leaves_no_client_data_behind(
    qapp, recorded: Recorded, tmp_path: Path
) -> None:
    path = tmp_path / "visit.pdf"
    # What a write killed before its rename leaves: a hidden temporary file, the whole report.
    stale = tmp_path / ".visit.pdf.k1ll3d.part"
    stale.write_bytes(b"%PDF- a report nobody renamed")
    old = time.time() - 600
    os.utime(stale, (old, old))
    fresh = tmp_path / ".visit.pdf.wr1t1ng.part"  # another write, still running right now
    fresh.write_bytes(b"%PDF-")
    session = recorded.store.session(recorded.session_id)
    write_session_pdf(session, recorded.store.client(recorded.client_id), path)
    assert path.exists() and (path.stat().st_mode & 0o777) == 0o600
    assert not stale.exists()
    assert fresh.exists()


# -- characters no font has ---------------------------------------------------------------------


@pytest.fixture
def only_dejavu(monkeypatch: pytest.MonkeyPatch) -> None:
    """A computer whose only fonts are DejaVu (Latin, Greek, Cyrillic, Arabic, no CJK, no emoji),
    as a clinic PC without extra fonts: the same answer whatever this machine has installed."""
    from PySide6 import QtGui

    from console.records import glyphs

    glyphs._drawable.cache_clear()
    monkeypatch.setattr(
        glyphs, "_all_fonts", lambda: (QtGui.QFontMetricsF(QtGui.QFont("DejaVu Sans")),)
    )
    yield
    glyphs._drawable.cache_clear()


def _report_with_note(
    recorded: Recorded, note: str, target: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """``mc-console report`` of the recorded session after a visit note saying ``note``."""
    recorded.store.add_note(recorded.client_id, PRACTITIONER, [], note, recorded.session_id)
    argv = ["report", recorded.session_id[:8], "--pdf", str(target), "--db", recorded.url]
    return run(argv, capsys)


def test_a_name_no_font_can_print_is_written_as_codes_and_said_on_the_page_and_to_the_user(
    recorded: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str], only_dejavu: None
) -> None:
    target = tmp_path / "visit.pdf"
    status, out, err = _report_with_note(recorded, "王小明 liked it 🙂", target, capsys)
    assert (status, err) == (0, "")
    note = out.splitlines()[1]
    assert note.startswith("note: 4 character(s) of this report have no font on this computer")
    assert "[U+738B] [U+5C0F] [U+660E] [U+1F642]" in note
    assert "Install Noto Sans CJK and Noto Emoji" in note
    _pages, text = pdf_text(target)
    # Nothing is an empty box and nothing silently vanishes from the PDF's text.
    assert "[U+738B][U+5C0F][U+660E] liked it [U+1F642]" in text
    assert "Characters that no font on this computer has are written as codes here" in text
    assert CLIENT in text  # everything a font has is printed as it is


def test_a_report_every_character_of_which_has_a_font_says_nothing_more(
    recorded: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str], only_dejavu: None
) -> None:
    target = tmp_path / "visit.pdf"
    status, out, _err = _report_with_note(recorded, "Zoë Ångström, مریم", target, capsys)
    assert status == 0 and out.splitlines() == [f"wrote {target}"]
    _pages, text = pdf_text(target)
    assert "Zoë Ångström" in text and "[U+" not in text and "no font" not in text


def test_the_streamed_export_writes_what_the_sessions_read_in_full_give(
    recorded: Recorded, tmp_path: Path
) -> None:
    """The window and ``sessions --csv`` stream from the database (``iter_export``); the files
    are byte for byte those of the sessions read in full."""
    store = recorded.store
    streamed = export_csv(store.iter_export(batch=1), tmp_path / "a.csv", tmp_path / "a-s.csv")
    assert streamed == (2, 3)
    listed = store.sessions()
    assert export_sessions_csv(listed, tmp_path / "b.csv") == 2
    assert export_steps_csv(listed, tmp_path / "b-s.csv") == 3
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a-s.csv").read_bytes() == (tmp_path / "b-s.csv").read_bytes()
    assert (tmp_path / "a.csv").stat().st_mode & 0o777 == 0o600
