"""Aftercare advice for the client, as a one-page PDF to print or send after the visit.

What to expect, what to avoid for the next day, when to call the clinic, the reactions seen at
the visit, the next appointment and where the client is in their course. The advice is the
conventional aftercare of a microcurrent facial, kept modest: it promises no result and
describes no reaction as harmless that should be looked at. It is laid out by the same machinery
as the session report (:func:`console.records.reports.render_one_page_pdf`); Qt is imported only
when a PDF is made.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from console.course import CourseStatus, course_status
from console.protocols import Protocol, RecommendedSeries
from console.records.glyphs import unprintable
from console.records.reports import (
    _ensure_gui_application,
    _local,
    _write_atomically,
    render_one_page_pdf,
)
from console.records.rows import SessionRow
from console.workflow import ReactionSeverity, Visit

AFTERCARE_TITLE = "After your microcurrent facial"
#: A reaction lasting longer than this (hours) is a reason to call the clinic.
CALL_AFTER_HOURS = 24
#: For how long after the treatment the "avoid" list holds (hours).
AVOID_FOR_HOURS = 24

EXPECT = (
    "Some redness or warmth where the probes worked is common and usually fades within a few "
    "hours.",
    "A light tingling, a metallic taste or brief flashes of light can happen during the "
    "treatment; they stop when the current stops.",
    "Skin can feel slightly tight or dry for the rest of the day.",
    "Results differ from person to person and build up over a course of sessions.",
)
AVOID = (
    "Heavy exercise, saunas, steam rooms and very hot baths or showers.",
    "Strong skincare on the face: retinoids (retinol, tretinoin), exfoliating acids (AHA, BHA) "
    "and scrubs.",
    "Other facial treatments such as peels, waxing or laser.",
    "Rubbing or pressing the treated skin.",
)
CARE = (
    "Cleanse gently with lukewarm water and use your usual moisturiser.",
    "Protect your skin from the sun: sunscreen of SPF 30 or higher when you go out.",
)
CALL_IF = (
    f"Redness, warmth, swelling or irritation that lasts longer than {CALL_AFTER_HOURS} hours.",
    "Blisters, a burn mark, or skin that is raw or weeping.",
    "A rash or itching that spreads.",
    "A headache, twitching or discomfort that does not settle.",
    "Anything else about your skin that worries you.",
)
URGENT = (
    "If you have swelling of the lips, tongue or throat, or trouble breathing, get medical help "
    "at once: call your local emergency number."
)


@dataclass(frozen=True, slots=True)
class AftercareSheet:
    """What the client's aftercare sheet says about their visit."""

    client: str
    treated_at: datetime
    practitioner: str
    protocol: str | None
    #: The reactions seen, described (``redness — mild, faded within minutes``).
    reactions: tuple[str, ...]
    #: The reactions still present when the client left.
    lingering: tuple[str, ...]
    #: A day, or a moment (``datetime``) for an appointment booked with a time.
    next_appointment: date | None
    #: Where the client is in their course (None: not known, e.g. no records).
    course: str | None
    #: How to reach the clinic (empty: a line to write it on).
    contact: str = ""
    #: A reaction still present when the client left was judged severe.
    lingering_severe: bool = False


def aftercare_for_visit(
    visit: Visit,
    protocol: Protocol | None,
    course: CourseStatus | None = None,
    contact: str = "",
) -> AftercareSheet:
    """The sheet of a visit whose follow-up was recorded."""
    follow_up = visit.follow_up
    return AftercareSheet(
        client=visit.client.name,
        treated_at=follow_up.recorded_at or datetime.now(UTC),
        practitioner=visit.practitioner,
        protocol=protocol.name if protocol is not None else None,
        reactions=tuple(r.describe() for r in follow_up.reactions),
        lingering=tuple(r.reaction.value for r in follow_up.lingering),
        next_appointment=follow_up.next_appointment,
        course=course.text if course is not None else None,
        contact=contact,
        lingering_severe=any(r.severity is ReactionSeverity.SEVERE for r in follow_up.lingering),
    )


def suggested_next_appointment(
    series: RecommendedSeries, today: date, course: CourseStatus | None = None
) -> date:
    """The day a course brings the client back: the series' spacing after ``today`` (2 a week:
    in 4 days, 1 a week: in 7), or its maintenance interval once the course is complete
    (``course`` counts the sessions done). Never today or earlier."""
    if course is not None and course.done >= series.sessions:
        days = 7 * series.maintenance_every_weeks[0]
    else:
        days = round(7 / series.sessions_per_week)
    return today + timedelta(days=max(1, days))


def course_after_visit(
    sessions: Sequence[SessionRow],
    protocols: Mapping[str, Protocol],
    session_id: str | None,
    ended_cleanly: bool,
) -> CourseStatus:
    """The client's course including this visit's session, whose end the records may not hold
    yet (its recorder writes in the background): a row of ``session_id`` still ``running`` counts
    as finished when the visit's application ended cleanly, and as stopped otherwise."""
    rows = [
        replace(row, state="finished" if ended_cleanly else "stopped")
        if row.id == session_id and row.state == "running"
        else row
        for row in sessions
    ]
    return course_status(rows, protocols)


def aftercare_html(sheet: AftercareSheet, pt: float = 10.0) -> str:
    """The sheet's markup at a base font size of ``pt``."""
    e = html.escape
    parts = [
        '<table width="100%" cellspacing="0" cellpadding="0"><tr>'
        f"<td><h1>{e(AFTERCARE_TITLE)}</h1>"
        f'<p class="sub">For {e(sheet.client)} · {e(_local(sheet.treated_at))}'
        + (f" · {e(sheet.protocol)}" if sheet.protocol else "")
        + f" · with {e(sheet.practitioner)}</p></td></tr></table>"
        '<hr style="background-color:#0f3d57" />'
    ]
    parts.append("<h2>What to expect</h2>" + _list(EXPECT))
    parts.append(f"<h2>For the next {AVOID_FOR_HOURS} hours, please avoid</h2>" + _list(AVOID))
    parts.append("<h2>Looking after your skin</h2>" + _list(CARE))
    parts.append("<h2>Your treatment today</h2>" + _today_html(sheet))
    parts.append(
        "<h2>Please contact us if you notice</h2>"
        + _list(CALL_IF)
        + f'<p class="warn">{e(URGENT)}</p>'
        + _contact_html(sheet)
    )
    parts.append("<h2>Your next appointment</h2>" + _next_html(sheet))
    if sheet.course:
        parts.append(f"<h2>Your course</h2><p>{e(sheet.course.rstrip('.'))}.</p>")
    return "<html><body>" + "\n".join(parts) + "</body></html>"


def write_aftercare_pdf(sheet: AftercareSheet, path: Path) -> list[str]:
    """Write the client's aftercare sheet to ``path`` (one A4 page, PDF). Returns the
    characters no font on this computer can print (written as codes, as in the session
    report). Raises :class:`OSError` with a plain message when ``path`` cannot be written."""
    from console.records.glyphs import spelled_out

    path = Path(path)
    _ensure_gui_application()  # fonts are looked up through Qt
    missing = unprintable(aftercare_html(sheet))
    footer = (
        '<hr style="background-color:#9fb3c0" />'
        f'<p class="muted">Printed {html.escape(_local(datetime.now(UTC)))} · general '
        "aftercare advice after a microcurrent facial; it does not replace a doctor's advice.</p>"
    )
    pdf = render_one_page_pdf(
        lambda size: spelled_out(aftercare_html(sheet, size), missing), footer, AFTERCARE_TITLE
    )
    _write_atomically(path, pdf, what="the aftercare sheet")
    return missing


def _today_html(sheet: AftercareSheet) -> str:
    e = html.escape
    if not sheet.reactions:
        return "<p>No reaction was seen during or after your treatment.</p>"
    text = "<p>Seen at your visit:</p>" + _list(tuple(_capital(r) + "." for r in sheet.reactions))
    if sheet.lingering_severe:
        what = ", ".join(sheet.lingering)
        text += (
            f"<p><b>Still there when you left: {e(what)}.</b> Please contact us today if it "
            "has not eased within a few hours, and at once if it gets worse.</p>"
        )
    elif sheet.lingering:
        what = ", ".join(sheet.lingering)
        text += (
            f"<p><b>Still there when you left: {e(what)}.</b> It should fade within hours; "
            f"please contact us if it lasts longer than {CALL_AFTER_HOURS} hours or gets "
            "worse.</p>"
        )
    return text


def _contact_html(sheet: AftercareSheet) -> str:
    e = html.escape
    who = f"Your practitioner: <b>{e(sheet.practitioner)}</b>" if sheet.practitioner else ""
    reach = (
        f"Contact: <b>{e(sheet.contact)}</b>"
        if sheet.contact
        else "Clinic phone: ________________________________"
    )
    return f"<p>{who}{' · ' if who else ''}{reach}</p>"


def _next_html(sheet: AftercareSheet) -> str:
    if sheet.next_appointment is None:
        return "<p>Not booked yet: please contact us to book your next session.</p>"
    if isinstance(sheet.next_appointment, datetime):
        when = sheet.next_appointment.astimezone().strftime("%A %d %B %Y at %H:%M")
    else:
        day = sheet.next_appointment
        when = f"{day:%A} {day.day} {day:%B %Y}"
    return f"<p><b>{html.escape(when)}</b></p>"


def _list(items: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(item)}</li>" for item in items) + "</ul>"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
