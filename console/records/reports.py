"""Reports from the client records: a one-page PDF per session, and CSV exports.

The PDF is laid out by Qt itself (``QTextDocument`` rendering simple HTML onto a ``QPdfWriter``),
so the console needs no other PDF library. Qt is imported only when a PDF is made: the CSV
exports and the command line that lists sessions stay headless and Qt-free, like the store.

Every piece of recorded text (names, reasons, notes) is HTML-escaped before it reaches the
layout, and every CSV text cell is guarded against spreadsheet formula injection.
Files are written to a temporary file beside the target and then renamed over it, so a failed
write never leaves a half-written report behind; they are readable by their owner only, like
the records database they come from.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import html
import io
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from math import isfinite
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TextIO

from console.records.glyphs import code_of, font_advice, spelled_out, unprintable
from console.records.rows import (
    ClientRecord,
    EventRow,
    ExportedSession,
    FollowUpRow,
    NoteRow,
    ScreeningRow,
    SessionRow,
    StepRow,
)
from console.report import format_duration, format_net_charge
from console.screening import age_on, contraindications, question_version
from console.zones import zone_catalog

if TYPE_CHECKING:
    from PySide6 import QtGui

REPORT_TITLE = "Microcurrent treatment report"

#: The A4 page: margins (mm) and the resolution the layout is computed at (dots per inch).
PAGE_MARGIN_MM = 16.0
PDF_DPI = 300

#: Base font sizes (pt) tried in turn until the report fits one page.
FONT_SIZES_PT = (9.5, 9.0, 8.5, 8.0, 7.5, 7.0)

#: CSV cells starting with one of these are formulas to a spreadsheet (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

SESSION_COLUMNS = (
    "session_id",
    "client",
    "practitioner",
    "protocol_id",
    "protocol_version",
    "machine",
    "simulated",
    "started_at",
    "ended_at",
    "state",
    "reason",
    "total_charge_uc",
    "net_charge_uc",
    "steps",
)

STEP_COLUMNS = (
    "session_id",
    "client",
    "step",
    "zone_id",
    "zone_name",
    "planned_s",
    "actual_s",
    "mean_current_ua",
    "charge_uc",
    "net_charge_uc",
    "mean_impedance_kohm",
    "completed",
)


# -- PDF ----------------------------------------------------------------------------------------


def write_session_pdf(session: SessionRow, client: ClientRecord | None, path: Path) -> list[str]:
    """Write a one-page A4 treatment report of ``session`` to ``path`` (PDF).

    ``client`` adds the birth year and the latest screening before the session; without one the
    report says no client was recorded (or names the session's client, if it has a name).
    Returns the characters no font on this computer can print: the report writes them as
    ``[U+738B]`` codes and says so (see :func:`unprintable_note`). Raises :class:`OSError`
    with a plain message when ``path`` cannot be written.
    """
    path = Path(path)
    generated_at = datetime.now(UTC)
    _ensure_gui_application()  # fonts are looked up through Qt
    missing = unprintable(_report_html(session, client, FONT_SIZES_PT[0], []))
    pdf = render_one_page_pdf(
        lambda size: _report_html(session, client, size, missing),
        _footer_html(session, generated_at),
        REPORT_TITLE,
    )
    _write_atomically(path, pdf, what="the PDF report")
    return missing


def unprintable_note(missing: list[str]) -> str:
    """What to tell the user when a report could not print some characters."""
    codes = " ".join(code_of(char) for char in missing[:12])
    more = f" and {len(missing) - 12} more" if len(missing) > 12 else ""
    return (
        f"{len(missing)} character(s) of this report have no font on this computer, so the "
        f"report writes them as codes: {codes}{more}. Install {font_advice(missing)} and save "
        "the report again to print them."
    )


def render_one_page_pdf(markup: Callable[[float], str], footer: str, title: str) -> bytes:
    """Lay a document out on one A4 page and return the PDF file's bytes: ``markup(size)`` is
    its HTML at a base font size in points (tried from :data:`FONT_SIZES_PT` down until it
    fits), ``footer`` sits at the bottom of the page. The session report and the client's
    aftercare sheet are both made by it."""
    from PySide6 import QtCore, QtGui

    _ensure_gui_application()
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    writer = QtGui.QPdfWriter(buffer)
    writer.setResolution(PDF_DPI)
    writer.setTitle(title)
    writer.setCreator("Microcurrent Console")
    writer.setPageLayout(
        QtGui.QPageLayout(
            QtGui.QPageSize(QtGui.QPageSize.PageSizeId.A4),
            QtGui.QPageLayout.Orientation.Portrait,
            QtCore.QMarginsF(PAGE_MARGIN_MM, PAGE_MARGIN_MM, PAGE_MARGIN_MM, PAGE_MARGIN_MM),
            QtGui.QPageLayout.Unit.Millimeter,
        )
    )
    page = writer.pageLayout().paintRectPixels(PDF_DPI)
    width, height = float(page.width()), float(page.height())

    footer_doc = _document(writer, footer, FONT_SIZES_PT[-1], width)
    footer_h = footer_doc.size().height()
    room = height - footer_h - PDF_DPI * 0.1  # a little air above the footer

    # Shrink the type until everything fits; a pathological session (hundreds of events)
    # that still does not fit is scaled down as a whole, so the report stays one page.
    for size in FONT_SIZES_PT:
        doc = _document(writer, markup(size), size, width)
        if doc.size().height() <= room:
            break
    scale = _fitting_scale(doc, width, room)

    painter = QtGui.QPainter()
    if not painter.begin(writer):
        raise OSError("Qt could not start the PDF writer")
    try:
        painter.save()
        painter.scale(scale, scale)
        doc.drawContents(painter)
        painter.restore()
        painter.translate(0, height - footer_h)
        footer_doc.drawContents(painter)
    finally:
        painter.end()
    buffer.close()
    return bytes(buffer.data().data())


def _fitting_scale(doc: QtGui.QTextDocument, width: float, room: float) -> float:
    """The largest scale (at most 1) at which ``doc``, laid out ``width / scale`` wide, is no
    taller than ``room`` once scaled. A wider layout wraps less, so this is bisected."""

    def fits(scale: float) -> bool:
        doc.setTextWidth(width / scale)
        return doc.size().height() * scale <= room

    if fits(1.0):
        return 1.0
    low, high = 0.05, 1.0
    for _ in range(14):
        middle = (low + high) / 2
        if fits(middle):
            low = middle
        else:
            high = middle
    fits(low)  # leave the document laid out at the scale returned
    return low


_APP: object | None = None  # the application made for a headless caller, kept alive


def _ensure_gui_application() -> None:
    """Qt lays text out only inside a (Gui) application: make one for headless callers."""
    from PySide6 import QtGui

    global _APP
    if QtGui.QGuiApplication.instance() is None:
        # A PDF needs no screen: on a headless server the default platform would abort.
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        _APP = QtGui.QGuiApplication([])


def _document(
    writer: QtGui.QPdfWriter, markup: str, base_pt: float, width: float
) -> QtGui.QTextDocument:
    from PySide6 import QtGui

    doc = QtGui.QTextDocument()
    # Lay out in the writer's dots, so point sizes come out as points on paper.
    doc.documentLayout().setPaintDevice(writer)
    font = QtGui.QFont()
    font.setFamilies(["Helvetica", "Arial", "DejaVu Sans", "Liberation Sans"])
    font.setStyleHint(QtGui.QFont.StyleHint.SansSerif)
    font.setPointSizeF(base_pt)
    # No ligatures: "fi" stays two letters, so the PDF's text can be searched and copied.
    for feature in ("liga", "clig"):
        tag = QtGui.QFont.Tag.fromString(feature)
        if tag is not None:
            font.setFeature(tag, 0)
    doc.setDefaultFont(font)
    doc.setDocumentMargin(0)
    doc.setDefaultStyleSheet(_css(base_pt))
    doc.setHtml(markup)
    doc.setTextWidth(width)
    return doc


def _css(pt: float) -> str:
    return f"""
        body {{ color: #1d2329; }}
        h1 {{ font-size: {pt * 1.9:.1f}pt; font-weight: 600; color: #0f3d57;
              margin-top: 0; margin-bottom: 0; }}
        h2 {{ font-size: {pt * 1.18:.1f}pt; font-weight: 600; color: #0f3d57;
              margin-top: {pt * 1.6:.0f}px; margin-bottom: {pt * 0.5:.0f}px; }}
        p {{ margin-top: 0; margin-bottom: {pt * 0.3:.0f}px; }}
        ul {{ margin-top: 0; margin-bottom: 0; margin-left: {pt * 1.5:.0f}px; }}
        .sub {{ color: #5b6770; }}
        .muted {{ color: #5b6770; }}
        .flag {{ color: #ffffff; background-color: #b3261e; font-weight: 600; }}
        .ok {{ color: #1b6e37; font-weight: 600; }}
        .warn {{ color: #b3261e; font-weight: 600; }}
        table.grid {{ border-collapse: collapse; border-style: none; }}
        table.grid th {{ background-color: #e6eef3; color: #0f3d57; font-weight: 600;
                         border-bottom: 1px solid #9fb3c0; }}
        table.grid td {{ border-bottom: 1px solid #dde3e7; }}
        table.grid tr.total td {{ font-weight: 600; border-top: 1px solid #9fb3c0;
                                  border-bottom: none; background-color: #f3f6f8; }}
        table.facts td.key {{ color: #5b6770; }}
        .cut {{ color: #b3261e; font-weight: 600; }}
        .result {{ padding-left: {pt * 1.4:.0f}px; }}
    """


def _report_html(
    session: SessionRow, client: ClientRecord | None, pt: float, missing: list[str]
) -> str:
    """The report's markup; characters in ``missing`` written as codes, and said so."""
    parts = [_header_html(session)]
    if missing:
        parts.append(
            '<p class="warn">Characters that no font on this computer has are written as '
            f"codes here: {html.escape(' '.join(code_of(char) for char in missing))}.</p>"
        )
    parts.append(_facts_html(session, client))
    if client is not None:
        parts.append(_screening_html(session, client))
    parts.append(_steps_html(session.steps))
    parts.append(_events_html(session.events))
    parts.append(_notes_html(_visit_notes(session, client), _visit_appointments(session, client)))
    return spelled_out("<html><body>" + "\n".join(parts) + "</body></html>", missing)


def _header_html(session: SessionRow) -> str:
    e = html.escape
    state_class = "ok" if session.state == "finished" else "warn"
    flag = ""
    if session.simulated:
        # The row does not keep the driver id: the simulator names itself in its model.
        word = "SIMULATION" if "simulat" in session.machine.casefold() else "EMULATED MACHINE"
        flag = (
            '<table width="100%" cellpadding="4" cellspacing="0"><tr>'
            f'<td class="flag">&nbsp;{e(word)} — no current was delivered to a person</td>'
            "</tr></table>"
        )
    return (
        '<table width="100%" cellspacing="0" cellpadding="0"><tr>'
        f"<td><h1>{e(REPORT_TITLE)}</h1>"
        f'<p class="sub">Treatment record · session {e(session.id[:8])}</p></td>'
        f'<td align="right" valign="bottom"><p class="sub">Final state</p>'
        f'<p class="{state_class}">{e(session.state.upper())}</p></td>'
        "</tr></table>"
        '<hr style="background-color:#0f3d57" />' + flag
    )


def _facts_html(session: SessionRow, client: ClientRecord | None) -> str:
    e = html.escape
    if client is not None:
        who = e(client.name)
        if client.born:
            who += f' <span class="muted">(born {e(client.born)})</span>'
    elif session.client_name:
        who = e(session.client_name)
    else:
        who = '<span class="muted">no client recorded</span>'
    ended = _local(session.ended_at) if session.ended_at else "—"
    duration = (
        format_duration((session.ended_at - session.started_at).total_seconds())
        if session.ended_at
        else "—"
    )
    machine = e(session.machine)
    if session.simulated:
        machine += ' <span class="warn">(simulated)</span>'
    rows = [
        ("Client", who, "Practitioner", e(session.practitioner) or "—"),
        (
            "Protocol",
            f"{e(session.protocol_name)} "
            f'<span class="muted">({e(session.protocol_id)} v{e(session.protocol_version)})</span>',
            "Machine",
            machine,
        ),
        ("Started", e(_local(session.started_at)), "Ended", e(ended)),
        ("Duration", e(duration), "Final state", f"<b>{e(session.state)}</b>"),
    ]
    cells = "".join(
        f'<tr><td class="key" width="13%">{k1}</td><td width="37%">{v1}</td>'
        f'<td class="key" width="13%">{k2}</td><td width="37%">{v2}</td></tr>'
        for k1, v1, k2, v2 in rows
    )
    reason = session.reason.strip() or "—"
    cells += f'<tr><td class="key">Reason</td><td colspan="3">{e(reason)}</td></tr>'
    cells += (
        f'<tr><td class="key">Goals</td><td colspan="3">{_goals_cell(session, client)}</td></tr>'
    )
    return f'<table class="facts" width="100%" cellspacing="0" cellpadding="2">{cells}</table>'


def _screening_html(session: SessionRow, client: ClientRecord) -> str:
    e = html.escape
    screening = latest_screening(client, session.started_at)
    if screening is None:
        return '<h2>Screening</h2><p class="muted">No screening recorded before this session.</p>'
    head = f"Screened {e(_local(screening.at))} by {e(screening.practitioner)}"
    head += f' <span class="muted">(questions v{screening.question_version})</span>: '
    if screening.cleared:
        head += '<span class="ok">cleared</span>'
        reasons = ""
    else:
        head += '<span class="warn">not cleared</span>'
        items = [r for r in screening.summary.split("; ") if r.strip()] or ["(no reason recorded)"]
        reasons = "<ul>" + "".join(f"<li>{e(r)}</li>" for r in items) + "</ul>"
    overrides = ""
    if screening.overrides:
        questions = contraindications()
        items = [
            f"<li>{e(questions[key].question if key in questions else key)} — "
            f"<i>overridden:</i> {e(reason)}</li>"
            for key, reason in sorted(screening.overrides.items())
        ]
        overrides = "<p>Professional overrides:</p><ul>" + "".join(items) + "</ul>"
    return f"<h2>Screening</h2><p>{head}</p>{reasons}{_screening_facts(screening)}{overrides}"


def _screening_facts(screening: ScreeningRow) -> str:
    """The age the screening confirmed and the dates of time-limited answers, with the end of
    each wait (read against the questions only if they are the set the screening was asked)."""
    e = html.escape
    screened_on = screening.at.astimezone().date()
    facts = []
    if screening.date_of_birth is not None:
        age = age_on(screening.date_of_birth, screened_on)
        facts.append(f"Date of birth {screening.date_of_birth.isoformat()} (age {age} then)")
    questions = contraindications() if screening.question_version == question_version() else {}
    for key, on in sorted(screening.dates.items(), key=lambda kv: kv[1]):
        item = questions.get(key)
        if item is None or item.wait is None:
            facts.append(f"{key.replace('_', ' ')} on {on.isoformat()}")
            continue
        until = item.wait.end(on)
        state = "over" if until <= screened_on else "not over"
        facts.append(
            f"{item.event.capitalize()} on {on.isoformat()}: {item.wait.describe()} wait until "
            f"{until.isoformat()} ({state} at the screening)"
        )
    if not facts:
        return ""
    return "<ul>" + "".join(f"<li>{e(fact)}</li>" for fact in facts) + "</ul>"


def _steps_html(steps: Sequence[StepRow]) -> str:
    e = html.escape
    if not steps:
        return '<h2>Delivery by zone</h2><p class="muted">No step was delivered.</p>'
    zones = zone_catalog()
    headers = (
        ("#", "right"),
        ("Zone", "left"),
        ("Planned", "right"),
        ("Actual", "right"),
        ("Mean µA", "right"),
        ("Charge µC", "right"),
        ("Net µC", "right"),
        ("Mean kΩ", "right"),
        ("Result", "left"),
    )
    head = "".join(f'<th align="{align}">{e(name)}</th>' for name, align in headers[:-1])
    head += '<th align="left" class="result">Result</th>'
    body = []
    for step in steps:
        name = zones[step.zone].name if step.zone in zones else step.zone
        result = "completed" if step.completed else '<span class="cut">cut short</span>'
        cells = (
            str(step.index + 1),
            e(name),
            format_duration(step.planned_s),
            format_duration(step.actual_s),
            f"{step.mean_current_ua:.0f}",
            f"{step.charge_uc:,.1f}",
            _net(step.net_charge_uc),
            _kohm(step.mean_impedance_kohm),
        )
        body.append(
            "<tr>"
            + "".join(
                f'<td align="{align}">{cell}</td>'
                for cell, (_, align) in zip(cells, headers, strict=False)
            )
            + f'<td class="result">{result}</td></tr>'
        )
    totals = _totals(steps)
    completed = sum(step.completed for step in steps)
    body.append(
        '<tr class="total"><td></td><td>Total</td>'
        f'<td align="right">{format_duration(totals.planned_s)}</td>'
        f'<td align="right">{format_duration(totals.actual_s)}</td>'
        f'<td align="right">{totals.mean_current_ua:.0f}</td>'
        f'<td align="right">{totals.charge_uc:,.1f}</td>'
        f'<td align="right">{_net(totals.net_charge_uc)}</td>'
        f'<td align="right">{_kohm(totals.mean_impedance_kohm)}</td>'
        f'<td class="result">{completed} of {len(steps)} completed</td></tr>'
    )
    return (
        "<h2>Delivery by zone</h2>"
        '<table class="grid" width="100%" cellspacing="0" cellpadding="3">'
        f"<thead><tr>{head}</tr></thead>{''.join(body)}</table>"
    )


@dataclass(frozen=True, slots=True)
class _Totals:
    planned_s: float
    actual_s: float
    charge_uc: float
    net_charge_uc: float | None
    mean_current_ua: float
    mean_impedance_kohm: float | None


def _totals(steps: Sequence[StepRow]) -> _Totals:
    """Sums over the steps; mean current is charge over time under current and mean impedance
    is weighted by time under current, as the command line's summary computes them."""
    actual = sum(step.actual_s for step in steps)
    charge = sum(step.charge_uc for step in steps)
    weighted = [
        (step.mean_impedance_kohm, step.actual_s)
        for step in steps
        if step.mean_impedance_kohm is not None and math.isfinite(step.mean_impedance_kohm)
    ]
    weight = sum(w for _, w in weighted)
    return _Totals(
        planned_s=sum(step.planned_s for step in steps),
        actual_s=actual,
        charge_uc=charge,
        net_charge_uc=(
            None
            if any(step.net_charge_uc is None for step in steps)
            else sum(step.net_charge_uc or 0.0 for step in steps)
        ),
        mean_current_ua=charge / actual if actual else 0.0,
        mean_impedance_kohm=sum(k * w for k, w in weighted) / weight if weight else None,
    )


def _events_html(events: Sequence[EventRow]) -> str:
    e = html.escape
    if not events:
        return '<h2>Safety events</h2><p class="muted">None.</p>'
    rows = "".join(
        f'<tr><td align="right">{format_duration(ev.at_s)}</td>'
        f"<td>{e(ev.kind.replace('_', ' '))}</td><td>{e(ev.message)}</td>"
        f'<td class="muted">{e(ev.action)}</td></tr>'
        for ev in events
    )
    return (
        "<h2>Safety events</h2>"
        '<table class="grid" width="100%" cellspacing="0" cellpadding="3"><thead><tr>'
        '<th align="right" width="7%">Time</th><th align="left" width="15%">Kind</th>'
        '<th align="left">Message</th><th align="left" width="16%">Action</th>'
        f"</tr></thead>{rows}</table>"
    )


def _goals_cell(session: SessionRow, client: ClientRecord | None) -> str:
    """The goals stated at this session's visit; for a session recorded before visits kept
    them, the client's goals on record, said as such."""
    e = html.escape
    if session.goals:
        return e(session.goals).replace("\n", "<br />")
    if client is not None and client.goals:
        return (
            e(client.goals).replace("\n", "<br />")
            + ' <span class="muted">(the client\'s goals on record; none kept with this '
            "session)</span>"
        )
    return '<span class="muted">none stated</span>'


def _notes_html(notes: Sequence[NoteRow], appointments: Sequence[FollowUpRow] = ()) -> str:
    """The follow-up of the visit: each note's reactions (how strong, how long) and text, and
    the next appointment booked at it."""
    e = html.escape
    booked = "".join(
        f"<p><b>Next appointment:</b> {e(plan.describe())}</p>" for plan in appointments
    )
    if not notes:
        return (
            '<h2>Follow-up of the visit</h2><p class="muted">No follow-up recorded for this '
            "visit.</p>" + booked
        )
    items = []
    for note in sorted(notes, key=lambda n: n.at):
        reactions = [r for r in note.reactions if r.kind]
        head = f'<span class="muted">{e(_local(note.at))}, {e(note.practitioner)}</span> — '
        if reactions:
            listed = "".join(f"<li>{e(reaction_text(r.describe()))}</li>" for r in reactions)
            items.append(f"<p>{head}<b>Reactions seen:</b></p><ul>{listed}</ul>")
        else:
            items.append(f"<p>{head}<b>Reactions:</b> none seen</p>")
        if note.text:
            text = e(note.text).replace("\n", "<br />")
            items.append(f"<p><b>Notes:</b> {text}</p>")
    return "<h2>Follow-up of the visit</h2>" + "".join(items) + booked


def reaction_text(described: str) -> str:
    """A reaction as a sentence starts it: ``Redness — mild, faded within minutes``."""
    return described[:1].upper() + described[1:]


def _footer_html(session: SessionRow, generated_at: datetime) -> str:
    e = html.escape
    return (
        '<hr style="background-color:#9fb3c0" />'
        '<table width="100%" cellspacing="0" cellpadding="0"><tr>'
        f'<td class="muted">Generated {e(_local(generated_at, seconds=True))} by Microcurrent '
        "Console</td>"
        f'<td class="muted" align="right">Session {e(session.id)}</td>'
        "</tr></table>"
    )


def latest_screening(client: ClientRecord, before: datetime) -> ScreeningRow | None:
    """The client's newest screening made no later than ``before`` (None if there is none)."""
    earlier = [s for s in client.screenings if s.at <= before]
    return max(earlier, key=lambda s: s.at) if earlier else None


def _visit_notes(session: SessionRow, client: ClientRecord | None) -> tuple[NoteRow, ...]:
    # ``RecordStore.sessions()`` leaves notes out; the client's record carries them.
    if session.notes or client is None:
        return session.notes
    for row in client.sessions:
        if row.id == session.id:
            return row.notes
    return ()


def _visit_appointments(
    session: SessionRow, client: ClientRecord | None
) -> tuple[FollowUpRow, ...]:
    """The appointments booked at this session's visit."""
    if client is None:
        return ()
    return tuple(plan for plan in client.follow_ups if plan.session_id == session.id)


def _kohm(value: float | None) -> str:
    return f"{value:.1f}" if value is not None and math.isfinite(value) else "—"


def _net(value: float | None) -> str:
    """Signed net charge for the report; "—" for a step recorded before it was measured."""
    return "—" if value is None else format_net_charge(value)


def _optional(value: float | None) -> str:
    """A CSV number that may be unknown (an older record): empty, never a made-up zero."""
    return "" if value is None else f"{value:.3f}"


def _local(moment: datetime, *, seconds: bool = False) -> str:
    """A stored (UTC) time in the computer's time zone, with the zone's name."""
    local = moment.astimezone()
    return local.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z").strip()


# -- CSV ------------------------------------------------------------------------------------------


def export_csv(
    sessions: Iterable[ExportedSession],
    sessions_path: Path | None = None,
    steps_path: Path | None = None,
) -> tuple[int, int]:
    """Write one CSV row per session to ``sessions_path`` and one per delivered step to
    ``steps_path`` (either may be None), in one pass over ``sessions``: give it
    :meth:`~console.records.store.RecordStore.iter_export` and any number of sessions is
    exported in little memory (sessions already read: :meth:`ExportedSession.of`). Returns
    (sessions, steps) written.

    UTF-8 with a header row; times ISO-8601 in UTC; ``step`` counts from 1;
    ``mean_impedance_kohm`` is empty when it was never measured; text cells a spreadsheet would
    run as formulas are neutralised. Each file appears whole or not at all.
    """
    zone_cells = _ZoneCells()
    counts = [0, 0]
    with (
        _written_atomically(sessions_path, SESSION_COLUMNS) as session_file,
        _written_atomically(steps_path, STEP_COLUMNS) as step_file,
    ):
        session_rows = csv.writer(session_file) if session_file is not None else None
        for session in sessions:
            if session_rows is not None:
                session_rows.writerow(_session_cells(session))
                counts[0] += 1
            if step_file is not None and session.steps:
                # Hundreds of thousands of lines: formatted directly (numbers never need
                # quoting; the text cells are quoted once per session or zone).
                head = f"{session.id},{_csv_cell(session.client_name)},"
                step_file.write(
                    "".join(
                        f"{head}{index + 1},{zone_cells[zone]},{planned:.3f},{actual:.3f},"
                        f"{current:.3f},{charge:.3f},"
                        f"{'' if net is None else format(net, '.3f')},"
                        f"{f'{impedance:.3f}' if impedance is not None and isfinite(impedance) else ''},"
                        f"{'true' if completed else 'false'}\r\n"
                        for (
                            _session_id,
                            index,
                            zone,
                            planned,
                            actual,
                            current,
                            charge,
                            impedance,
                            completed,
                            net,
                        ) in session.steps
                    )
                )
                counts[1] += len(session.steps)
    return counts[0], counts[1]


def export_sessions_csv(sessions: Iterable[SessionRow], path: Path) -> int:
    """The sessions' CSV alone of sessions already read (see :func:`export_csv`); returns the
    rows written."""
    return export_csv(map(ExportedSession.of, sessions), sessions_path=path)[0]


def export_steps_csv(sessions: Iterable[SessionRow], path: Path) -> int:
    """The steps' CSV alone of sessions already read (see :func:`export_csv`); returns the rows
    written."""
    return export_csv(map(ExportedSession.of, sessions), steps_path=path)[1]


def _session_cells(session: ExportedSession) -> tuple[str, ...]:
    return (
        session.id,
        _text(session.client_name),
        _text(session.practitioner),
        _text(session.protocol_id),
        _text(session.protocol_version),
        _text(session.machine),
        _bool(session.simulated),
        _iso_utc(session.started_at),
        _iso_utc(session.ended_at),
        _text(session.state),
        _text(session.reason),
        f"{session.total_charge_uc:.3f}",
        _optional(session.total_net_charge_uc),
        str(len(session.steps)),
    )


class _ZoneCells(dict[str, str]):
    """``zone_id,zone name`` as CSV cells, made once per zone."""

    def __init__(self) -> None:
        super().__init__()
        self._names = {zone_id: zone.name for zone_id, zone in zone_catalog().items()}

    def __missing__(self, zone: str) -> str:
        cells = f"{_csv_cell(zone)},{_csv_cell(self._names.get(zone, zone))}"
        self[zone] = cells
        return cells


def _csv_cell(value: str) -> str:
    """One text cell as :mod:`csv` writes it (formulas neutralised, quoted when needed)."""
    cell = _text(value)
    if any(special in cell for special in _NEEDS_QUOTES):
        return '"' + cell.replace('"', '""') + '"'
    return cell


_NEEDS_QUOTES = (",", '"', "\r", "\n")


def neutralise_formula(cell: str) -> str:
    """``cell`` with a leading apostrophe if a spreadsheet would read it as a formula."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _text(value: str) -> str:
    return neutralise_formula(value or "")


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _iso_utc(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# -- files ----------------------------------------------------------------------------------------


#: A temporary file of an earlier write older than this was left by a process that died.
STALE_PART_S = 60.0


def _remove_stale_parts(path: Path) -> None:
    """Delete what earlier writes of ``path`` killed half-way left behind: hidden ``.part``
    files that may hold a whole report (client data) nobody will ever rename."""
    now = time.time()
    for part in path.parent.glob(f".{glob.escape(path.name)}.*.part"):
        try:
            if now - part.stat().st_mtime > STALE_PART_S:
                part.unlink()
        except OSError:
            continue  # gone already, or not ours to remove


def _write_atomically(path: Path, data: bytes, *, what: str) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``
    (owner-only from its first byte: ``mkstemp`` creates it 0600)."""
    with _atomic_file(path, what) as file:
        file.write(data)


@contextlib.contextmanager
def _written_atomically(path: Path | None, header: Sequence[str]) -> Iterator[TextIO | None]:
    """A UTF-8 text file for CSV lines into ``path``, its header written (None for no file);
    the file appears whole when the block ends, or not at all."""
    if path is None:
        yield None
        return
    with _atomic_file(Path(path), "the CSV file") as file:
        text = io.TextIOWrapper(file, encoding="utf-8", newline="")
        csv.writer(text).writerow(header)
        yield text
        text.flush()
        text.detach()


@contextlib.contextmanager
def _atomic_file(path: Path, what: str) -> Iterator[BinaryIO]:
    """A binary file that becomes ``path`` when the block ends without an error: written as a
    hidden temporary file beside it (owner-only from its first byte: ``mkstemp`` makes it
    0600), flushed to the disk, then renamed over ``path``. On an error the temporary file is
    removed and :class:`OSError` says what could not be written where."""
    try:
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a folder")
        _remove_stale_parts(path)
        handle, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".part", dir=path.parent
        )
    except OSError as error:
        raise OSError(f"cannot write {what} to {path}: {_why(error)}") from error
    try:
        with os.fdopen(handle, "wb", buffering=1 << 20) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise OSError(f"cannot write {what} to {path}: {_why(error)}") from error
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _why(error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return "the folder does not exist"
    if isinstance(error, IsADirectoryError):
        return "it is a folder"
    if isinstance(error, PermissionError):
        return "permission denied"
    return error.strerror or str(error)
