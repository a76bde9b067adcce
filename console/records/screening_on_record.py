"""A recorded client's screening of today, for a treatment started without the window.

Safety rule "screened before output" holds on the command line too: a machine that can deliver
current runs only for a client whose contraindication screening was recorded **today** (a
screening belongs to the visit: the consultation comes first at every one), asked with the
current question set, and still clearing the treatment when its answers are weighed again today
(a wait may have ended, or a date of birth made the client an adult since). Anything else is
refused with the reason and what to do.
"""

from __future__ import annotations

from datetime import date, datetime

from console.records.names import search_form
from console.records.store import ClientRecord, RecordStore, ScreeningRow
from console.screening import Override, Screening, ScreeningResult, question_version


class NotScreenedError(Exception):
    """The client has no screening on record that lets a real machine start; says why."""


def screening_on_record(
    store: RecordStore, client_name: str, today: date | None = None
) -> tuple[int, ScreeningResult]:
    """The client called ``client_name`` and their screening of ``today``, weighed again.

    Raises :class:`NotScreenedError` when there is no such client (one is never created here),
    when two clients have that name, when nothing was recorded today, when the questions have
    changed since, or when the screening does not clear the treatment.
    """
    today = today or date.today()
    record = _the_client(store, client_name)
    row = _todays_screening(record, today)
    if row.question_version != question_version():
        raise NotScreenedError(
            f"{record.name}'s screening of today was asked with question set "
            f"{row.question_version}, and the console now asks set {question_version()}: "
            "screen the client again in the window"
        )
    result = _as_asked(row, record).evaluate(today)
    if not result.cleared:
        raise NotScreenedError(
            f"{record.name}'s screening of today does not clear the treatment: "
            + "; ".join(result.reasons())
        )
    return record.id, result


def _the_client(store: RecordStore, client_name: str) -> ClientRecord:
    wanted = search_form(client_name)
    same_name = [c for c in store.search_clients(client_name) if search_form(c.name) == wanted]
    if not same_name:
        raise NotScreenedError(
            f"no client called {client_name!r} is in the records: a real machine treats only "
            "a client screened today; add and screen them in the window (Consultation) first"
        )
    if len(same_name) > 1:
        raise NotScreenedError(
            f"{len(same_name)} clients are called {client_name!r}: start this treatment from "
            "the window, where the right one can be chosen"
        )
    return store.client(same_name[0].id)


def _todays_screening(record: ClientRecord, today: date) -> ScreeningRow:
    rows = sorted(record.screenings, key=lambda row: row.at)
    todays = [row for row in rows if _local_day(row.at) == today]
    if todays:
        return todays[-1]
    last = f" (the last one was on {_local_day(rows[-1].at).isoformat()})" if rows else ""
    raise NotScreenedError(
        f"{record.name} has no screening recorded today{last}: a real machine treats only a "
        "client screened at this visit; screen them in the window (Consultation) first"
    )


def _as_asked(row: ScreeningRow, record: ClientRecord) -> Screening:
    """The recorded answers as a screening again (overrides by the practitioner who screened)."""
    return Screening(
        answers=dict(row.answers),
        overrides={
            item: Override(item, reason, row.practitioner) for item, reason in row.overrides.items()
        },
        screened_by=row.practitioner,
        at=row.at,
        dates=dict(row.dates),
        date_of_birth=row.date_of_birth or record.date_of_birth,
        version=row.question_version,
    )


def _local_day(moment: datetime) -> date:
    return moment.astimezone().date()
