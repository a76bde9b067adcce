"""Screening a professional would accept (issue 14, item 4): the items professionals ask about,
dates for time-limited answers and the waits counted from them, the age from the date of birth,
and the version of the question set kept with every screening record (migration 0006).

Covers ``console/screening.py``, ``resources/contraindications.json``, the visit's date of birth
(``console/workflow.py``), the store's screening record and migration 0006, and the
consultation page's date fields (``console/ui/consultation_page.py``).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, text

from console.records.store import RecordStore, _alembic_config
from console.screening import (
    ADULT_AGE,
    REASON_STARTS,
    Screening,
    ScreeningError,
    Severity,
    TimedAnswer,
    Wait,
    age_on,
    contraindications,
    question_version,
)
from console.workflow import Client, Visit
from records_support import record_short_session

TODAY = date(2026, 12, 3)  #: the day the rules are evaluated on, where a test fixes it
ADULT = date(1980, 1, 1)
GOOD_REASON = "Physician's written clearance seen and filed"
#: A time as SQLite holds it, for rows written in plain SQL.
AT = {"at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")}


def raw_items() -> dict[str, dict[str, Any]]:
    """The shipped questions, read independently of the module under test."""
    data = json.loads(
        resources.files("resources").joinpath("contraindications.json").read_text("utf-8")
    )
    return {item["id"]: item for item in data["contraindications"]}


def screened(**answers: bool | date) -> Screening:
    """An adult's screening, every question 'no' except those given: True, or the date of a
    yes to a question with a wait."""
    screening = Screening(answers=dict.fromkeys(contraindications(), False), date_of_birth=ADULT)
    for cid, answer in answers.items():
        if isinstance(answer, date):
            screening.answer(cid, True, answer)
        else:
            screening.answer(cid, answer)
    return screening


TIMED = [cid for cid, item in contraindications().items() if item.wait is not None]


# -- the new items -------------------------------------------------------------------------------

NEW_ITEMS = {
    # id: (severity, words the question must hold, words the reason must hold)
    "body_worn_devices": (Severity.RELATIVE, ("insulin pump", "glucose", "hearing aid"), "Remove"),
    "thread_lift": (Severity.RELATIVE, ("thread lift",), "clearance"),
    "cold_sore": (Severity.ABSOLUTE, ("cold sore", "herpes simplex"), "infectious"),
    "eczema_psoriasis": (Severity.RELATIVE, ("eczema", "psoriasis"), "work around"),
    "facial_injury": (Severity.RELATIVE, ("fracture", "head or neck injury"), "clearance"),
    "impaired_sensation": (Severity.ABSOLUTE, ("numbness", "could not feel or say"), "burn"),
    "breastfeeding": (Severity.RELATIVE, ("breastfeeding",), "not been studied"),
    "alcohol_or_drugs": (Severity.ABSOLUTE, ("alcohol or drugs today",), "today"),
    "braces_or_piercings": (Severity.RELATIVE, ("braces", "piercings"), "removed"),
    "isotretinoin": (Severity.RELATIVE, ("isotretinoin",), "6 months"),
}


@pytest.mark.parametrize("cid", sorted(NEW_ITEMS))
def test_every_new_item_is_asked_with_its_severity_and_reason(cid: str) -> None:
    severity, words, reason_word = NEW_ITEMS[cid]
    item = contraindications()[cid]
    assert item.severity is severity
    for word in words:
        assert word in item.question.lower()
    assert reason_word in item.why


@pytest.mark.parametrize("cid", sorted(NEW_ITEMS))
def test_every_new_item_answered_yes_blocks_as_its_severity_says(cid: str) -> None:
    item = contraindications()[cid]
    answer: bool | date = date.today() - timedelta(days=1) if item.wait else True
    result = screened(**{cid: answer}).evaluate()
    assert result.cleared is False
    if item.severity is Severity.ABSOLUTE:
        assert result.absolute == (item,)
        with pytest.raises(ScreeningError, match="cannot be overridden"):
            screened(**{cid: answer}).override(cid, GOOD_REASON, "Dr. Weber")
    else:
        assert result.relative_unresolved == (item,)
        screening = screened(**{cid: answer})
        screening.override(cid, GOOD_REASON, "Dr. Weber")
        assert screening.evaluate().cleared is True


def test_cochlear_implants_are_named_in_the_absolute_implanted_electronics_question() -> None:
    item = contraindications()["implanted_electronics"]
    assert item.severity is Severity.ABSOLUTE
    assert "cochlear implant" in item.question
    assert "Pacemaker" in item.question


def test_a_body_worn_device_is_relative_and_points_to_the_implanted_question() -> None:
    item = contraindications()["body_worn_devices"]
    assert item.severity is Severity.RELATIVE
    assert "implanted device is the absolute question" in item.why


def test_fillers_and_botulinum_toxin_wait_30_days_as_vendors_advise() -> None:
    item = contraindications()["fillers_or_botox"]
    assert "30 days" in item.question
    assert item.wait == Wait(days=30)
    assert raw_items()["fillers_or_botox"]["wait_days"] == 30
    assert "2 weeks" not in item.question


def test_the_waits_are_in_the_data_file_and_agree_with_the_questions() -> None:
    expected = {
        "recent_facial_surgery": ("wait_months", 6, "6 months"),
        "fillers_or_botox": ("wait_days", 30, "30 days"),
        "thread_lift": ("wait_months", 3, "3 months"),
        "retinoids": ("wait_days", 21, "3 weeks"),
        "isotretinoin": ("wait_months", 6, "6 months"),
        "facial_injury": ("wait_months", 3, "3 months"),
    }
    raw = raw_items()
    assert sorted(TIMED) == sorted(expected)
    for cid, (key, length, phrase) in expected.items():
        assert raw[cid][key] == length
        assert phrase in raw[cid]["question"]
        assert raw[cid]["event"], f"{cid} names the event its date is the date of"


def test_the_under_18_question_is_gone_the_age_comes_from_the_date_of_birth() -> None:
    assert "under_18" not in contraindications()
    assert not any("18" in item.question for item in contraindications().values())


def test_every_reason_starts_with_a_known_phrase_for_readers_that_split_a_summary() -> None:
    screening = Screening()
    screening.answer("epilepsy", True)
    screening.answer("metal_implants", True)
    screening.answer("fillers_or_botox", True)
    reasons = screening.evaluate().reasons()
    assert reasons
    assert all(reason.startswith(REASON_STARTS) for reason in reasons)


# -- dates and waits -----------------------------------------------------------------------------


def test_a_date_inside_the_wait_blocks_and_says_until_when() -> None:
    screening = screened(fillers_or_botox=date(2026, 11, 20))
    result = screening.evaluate(TODAY)
    item = contraindications()["fillers_or_botox"]
    assert result.cleared is False
    assert result.relative_unresolved == (item,)
    assert result.reasons() == [
        f"relative contraindication needs a professional override: {item.question} "
        "(fillers or botulinum toxin on 2026-11-20: wait until 2026-12-20, 17 days more)"
    ]


@pytest.mark.parametrize("cid", TIMED)
def test_every_time_limited_item_blocks_inside_its_wait_and_clears_after_it(cid: str) -> None:
    item = contraindications()[cid]
    assert item.wait is not None
    on = date(2026, 5, 31)
    end = item.wait.end(on)
    inside = screened(**{cid: on}).evaluate(end - timedelta(days=1))
    assert inside.cleared is False
    assert "1 day more" in inside.reasons()[0]
    assert inside.timed == (TimedAnswer(item, on, end),)

    over = screened(**{cid: on}).evaluate(end)
    assert over.cleared is True
    assert over.reasons() == []
    assert over.waited_out == (TimedAnswer(item, on, end),)
    # Said, not silently assumed:
    assert (
        f"{item.event} on 2026-05-31: the {item.wait.describe()} wait ended on "
        f"{end.isoformat()}, so it no longer blocks"
    ) in over.notes()


def test_a_wait_past_its_end_is_stated_in_the_result() -> None:
    result = screened(fillers_or_botox=date(2026, 10, 1)).evaluate(TODAY)
    assert result.cleared is True
    assert result.notes() == [
        "age 46 (born 1980-01-01)",
        "fillers or botulinum toxin on 2026-10-01: the 30-day wait ended on 2026-10-31, "
        "so it no longer blocks",
    ]


def test_a_wait_in_months_ends_on_the_same_day_of_the_month_or_the_month_s_last() -> None:
    assert Wait(months=6).end(date(2026, 5, 31)) == date(2026, 11, 30)
    assert Wait(months=6).end(date(2026, 8, 31)) == date(2027, 2, 28)
    assert Wait(months=6).end(date(2027, 8, 31)) == date(2028, 2, 29)
    assert Wait(months=3).end(date(2026, 11, 15)) == date(2027, 2, 15)
    assert Wait(days=30).end(date(2026, 11, 20)) == date(2026, 12, 20)
    assert (Wait(days=30).describe(), Wait(months=6).describe()) == ("30-day", "6-month")


def test_a_wait_in_months_counts_calendar_months_in_the_reason() -> None:
    item = contraindications()["facial_injury"]
    screening = screened(facial_injury=date(2026, 11, 1))
    result = screening.evaluate(TODAY)
    assert result.relative_unresolved == (item,)
    assert "injury on 2026-11-01: wait until 2027-02-01, 60 days more" in result.reasons()[0]


@pytest.mark.parametrize("cid", TIMED)
def test_a_yes_without_its_date_blocks_with_a_clear_reason(cid: str) -> None:
    item = contraindications()[cid]
    assert item.wait is not None
    screening = screened(**{cid: True})
    result = screening.evaluate()
    assert result.cleared is False
    assert result.undated == (item,)
    assert result.relative_unresolved == ()
    assert result.reasons() == [
        f"date needed: {item.question} — a yes needs the date of the {item.event}, from which "
        f"the {item.wait.describe()} wait is counted"
    ]
    with pytest.raises(ScreeningError, match=f"give the date of the {item.event} first"):
        screening.override(cid, GOOD_REASON, "Dr. Weber")
    screening.give_date(cid, date.today() - timedelta(days=1))
    assert screening.evaluate().undated == ()


@pytest.mark.parametrize("cid", TIMED)
def test_a_date_in_the_future_is_refused(cid: str) -> None:
    tomorrow = date.today() + timedelta(days=1)
    screening = screened()
    with pytest.raises(ScreeningError, match="is in the future: give the date it happened"):
        screening.answer(cid, True, tomorrow)
    assert cid not in screening.dates
    assert screening.answers[cid] is False  # the refused answer changed nothing
    screening.answer(cid, True)
    with pytest.raises(ScreeningError, match="in the future"):
        screening.give_date(cid, tomorrow)
    assert cid not in screening.dates
    screening.give_date(cid, date.today())  # today is not the future
    assert screening.dates[cid] == date.today()


def test_dates_go_with_yes_answers_to_questions_with_a_wait_only() -> None:
    screening = screened()
    yesterday = date.today() - timedelta(days=1)
    with pytest.raises(ScreeningError, match="asks for no date"):
        screening.answer("epilepsy", True, yesterday)
    with pytest.raises(ScreeningError, match="a date goes with a yes"):
        screening.answer("fillers_or_botox", False, yesterday)
    with pytest.raises(ScreeningError, match="answer yes before giving a date"):
        screening.give_date("fillers_or_botox", yesterday)


def test_answering_no_forgets_the_date_and_the_override() -> None:
    screening = screened(fillers_or_botox=date.today() - timedelta(days=3))
    screening.override("fillers_or_botox", GOOD_REASON, "Dr. Weber")
    screening.answer("fillers_or_botox", False)
    assert "fillers_or_botox" not in screening.dates
    assert "fillers_or_botox" not in screening.overrides
    assert screening.evaluate().cleared is True


# -- age from the date of birth ------------------------------------------------------------------


def test_a_client_under_18_by_date_of_birth_is_refused_with_their_age() -> None:
    screening = screened()
    screening.date_of_birth = date(2010, 5, 1)
    result = screening.evaluate(TODAY)
    assert result.cleared is False
    assert result.age == 16
    assert result.reasons() == [
        "the client is 16 (born 2010-05-01): professional microcurrent facials are for adults only"
    ]


def test_a_client_18_today_is_treated_and_the_day_before_is_not() -> None:
    birthday = TODAY.replace(year=TODAY.year - ADULT_AGE)
    screening = screened()
    screening.date_of_birth = birthday
    assert screening.evaluate(TODAY).cleared is True
    assert screening.evaluate(TODAY).age == 18
    day_before = screening.evaluate(TODAY - timedelta(days=1))
    assert day_before.cleared is False
    assert day_before.reasons()[0].startswith(f"the client is 17 (born {birthday.isoformat()})")


def test_a_missing_date_of_birth_blocks_with_a_clear_reason() -> None:
    screening = screened()
    screening.date_of_birth = None
    result = screening.evaluate()
    assert result.cleared is False
    assert result.reasons() == [
        "date of birth not given: a screening needs it, since only adults may be treated "
        "(18 or over)"
    ]


def test_someone_born_on_29_february_turns_a_year_older_on_1_march() -> None:
    born = date(2008, 2, 29)
    assert age_on(born, date(2026, 2, 28)) == 17
    assert age_on(born, date(2026, 3, 1)) == 18
    assert age_on(born, date(2028, 2, 29)) == 20


def test_a_date_of_birth_in_the_future_or_implausibly_long_ago_is_refused() -> None:
    screening = Screening()
    with pytest.raises(ScreeningError, match="is in the future"):
        screening.give_date_of_birth(date.today() + timedelta(days=1))
    with pytest.raises(ScreeningError, match="not plausible"):
        screening.give_date_of_birth(date(1890, 1, 1))
    assert screening.date_of_birth is None
    screening.give_date_of_birth(date(1990, 7, 14))
    assert screening.date_of_birth == date(1990, 7, 14)


def test_simulations_and_scenarios_screen_an_adult_without_a_real_client() -> None:
    """Training paths (scenarios, the demonstration visit, the command line's scenario run)
    build their screening with all_clear: an adult, every answer no."""
    result = Screening.all_clear("Trainer").evaluate()
    assert result.cleared is True
    assert result.age is not None and result.age >= ADULT_AGE


def test_the_visit_gives_the_date_of_birth_to_its_screening() -> None:
    visit = Visit(Client("Maria Rossi"), practitioner="Anna")
    for cid in contraindications():
        visit.screening.answer(cid, False)
    assert visit.screening_result.reasons()[0].startswith("date of birth not given")
    visit.give_date_of_birth(date(2011, 1, 2))
    assert visit.client.date_of_birth == date(2011, 1, 2)
    assert visit.screening_result.reasons()[0].startswith("the client is ")
    visit.give_date_of_birth(ADULT)
    assert visit.screening_result.cleared is True
    # A client known with a date of birth passes it to a new screening.
    known = Visit(Client("Ines Vidal", date_of_birth=ADULT), practitioner="Anna")
    assert known.screening.date_of_birth == ADULT
    known.screening = Screening()
    assert known.screening_result.date_of_birth == ADULT


# -- the record: version, dates, date of birth ---------------------------------------------------


def test_the_question_set_has_a_version_bumped_for_this_set() -> None:
    assert question_version() == 2
    assert Screening().version == 2


def test_the_screening_record_keeps_the_version_the_dates_and_the_date_of_birth(
    store: RecordStore,
) -> None:
    client_id = store.add_client("Nora Lind", "Dana")
    injected = date.today() - timedelta(days=40)
    screening = screened(fillers_or_botox=injected)
    screening.give_date_of_birth(date(1979, 9, 30))
    store.record_screening(client_id, screening, "Dana")

    record = store.client(client_id)
    (row,) = record.screenings
    assert row.question_version == 2
    assert row.dates == {"fillers_or_botox": injected}
    assert row.date_of_birth == date(1979, 9, 30)
    assert row.cleared is True  # 40 days: the 30-day wait is over
    # The client's record had no date of birth: it takes the screening's.
    assert (record.date_of_birth, record.birth_year, record.born) == (
        date(1979, 9, 30),
        1979,
        "1979-09-30",
    )


def test_a_screening_recorded_before_versions_were_kept_reads_as_version_1(
    store: RecordStore,
) -> None:
    client_id = store.add_client("Old Record", "Dana", birth_year=1970)
    store.record_screening(client_id, Screening.all_clear("Dana"), "Dana")
    with store.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE screenings SET question_version = NULL, dates = NULL, date_of_birth = NULL"
            )
        )
    (row,) = store.client(client_id).screenings
    assert (row.question_version, row.dates, row.date_of_birth) == (1, {}, None)


def test_a_client_recorded_with_the_year_only_is_still_read(store: RecordStore) -> None:
    client_id = store.add_client("Year Only", "Dana", birth_year=1968)
    record = store.client(client_id)
    assert (record.birth_year, record.date_of_birth, record.born) == (1968, None, "1968")
    # A screening's date of birth of another year leaves the record as it is.
    screening = Screening.all_clear("Dana", date_of_birth=date(1971, 2, 3))
    store.record_screening(client_id, screening, "Dana")
    record = store.client(client_id)
    assert (record.birth_year, record.date_of_birth) == (1968, None)
    assert record.screenings[0].date_of_birth == date(1971, 2, 3)


def test_a_new_client_with_a_full_date_of_birth(store: RecordStore) -> None:
    client_id = store.add_client("Full Date", "Dana", date_of_birth=date(1988, 12, 24))
    (summary,) = store.search_clients("Full Date")
    assert (summary.birth_year, summary.date_of_birth) == (1988, date(1988, 12, 24))
    assert store.client(client_id).born == "1988-12-24"


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"date_of_birth": date.today() + timedelta(days=2)}, "date_of_birth", "in the future"),
        ({"date_of_birth": date(1880, 1, 1)}, "date_of_birth", "not plausible"),
        (
            {"date_of_birth": date(1988, 12, 24), "birth_year": 1987},
            "birth_year",
            "differs from the date of birth",
        ),
    ],
    ids=["future", "implausible", "year-disagrees"],
)
def test_an_absurd_date_of_birth_is_a_field_error(
    store: RecordStore, kwargs: dict[str, Any], field: str, message: str
) -> None:
    from console.records.store import FieldError

    with pytest.raises(FieldError, match=message) as caught:
        store.add_client("Someone", "Dana", **kwargs)
    assert caught.value.field == field


# -- migration 0006 on SQLite --------------------------------------------------------------------


def _columns(store: RecordStore, table: str) -> set[str]:
    return {column["name"] for column in inspect(store.engine).get_columns(table)}


def _counts(store: RecordStore) -> dict[str, int]:
    tables = ("clients", "screenings", "consents", "sessions", "steps", "notes")
    with store.engine.connect() as connection:
        return {t: int(connection.scalar(text(f"SELECT COUNT(*) FROM {t}")) or 0) for t in tables}


def _downgrade(store: RecordStore, revision: str) -> None:
    with store._locked("migration") as connection:
        config = _alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


NEW_COLUMNS = {
    "clients": {"date_of_birth"},
    "screenings": {"question_version", "dates", "date_of_birth"},
}


def test_migration_0006_up_and_down_keeps_every_record(tmp_path: Path) -> None:
    store = RecordStore(f"sqlite:///{tmp_path / 'records.sqlite3'}", migrate=False)
    try:
        store.migrate("0005")
        for table, columns in NEW_COLUMNS.items():
            assert not columns & _columns(store, table)
        with store.engine.begin() as connection:  # a 0005 client with a screening and a note
            connection.execute(
                text("INSERT INTO practitioners (name, created_at) VALUES ('Dana', :at)"),
                AT,
            )
            connection.execute(
                text(
                    "INSERT INTO clients (name, search_name, birth_year, phone, email, goals, "
                    "created_at, created_by_id) VALUES ('Anna', 'anna', 1975, '', '', '', :at, 1)"
                ),
                AT,
            )
            connection.execute(
                text(
                    "INSERT INTO screenings (client_id, practitioner_id, at, answers, overrides, "
                    "cleared, summary) VALUES (1, 1, :at, '{\"epilepsy\": false}', '{}', 1, "
                    "'cleared')"
                ),
                AT,
            )
            connection.execute(
                text(
                    "INSERT INTO notes (client_id, practitioner_id, at, reactions, text) "
                    "VALUES (1, 1, :at, '[\"redness\"]', 'fine')"
                ),
                AT,
            )
        before = _counts(store)

        store.migrate()  # up to 0006 and on to the newest
        assert store.schema_revision() == RecordStore.head_revision()
        for table, columns in NEW_COLUMNS.items():
            assert columns <= _columns(store, table)
        assert _counts(store) == before
        (row,) = store.client(1).screenings
        assert row.question_version == 1  # asked before versions were kept
        session_id = record_short_session(store, 1, "Dana", stop="stop", stop_at_s=30.0)
        assert session_id
        with_session = _counts(store)

        _downgrade(store, "0005")  # and down again: the columns go, every record stays
        assert store.schema_revision() == "0005"
        for table, columns in NEW_COLUMNS.items():
            assert not columns & _columns(store, table)
        assert _counts(store) == with_session

        store.migrate()  # and up once more
        assert store.schema_revision() == RecordStore.head_revision()
        assert _counts(store) == with_session
    finally:
        store.close()


def test_an_upgrade_that_copies_the_clients_table_keeps_every_client_s_records(
    tmp_path: Path,
) -> None:
    """SQLite alters a table by copying it and dropping the original; dropping ``clients`` with
    foreign keys enforced deleted every screening, consent and session by cascade (migration
    0004 copies it). The store's migrations run with the keys checked before the commit."""
    store = RecordStore(f"sqlite:///{tmp_path / 'old.sqlite3'}", migrate=False)
    try:
        store.migrate("0003")
        with store.engine.begin() as connection:
            at = AT
            connection.execute(
                text("INSERT INTO practitioners (name, created_at) VALUES ('Dana', :at)"), at
            )
            connection.execute(
                text(
                    "INSERT INTO clients (name, search_name, phone, email, goals, created_at, "
                    "created_by_id) VALUES ('Anna', 'anna', '', '', '', :at, 1)"
                ),
                at,
            )
            connection.execute(
                text(
                    "INSERT INTO consents (client_id, practitioner_id, at, text) "
                    "VALUES (1, 1, :at, 'I consent')"
                ),
                at,
            )
        store.migrate()
        assert store.schema_revision() == RecordStore.head_revision()
        with store.engine.connect() as connection:
            assert connection.scalar(text("SELECT COUNT(*) FROM consents")) == 1
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1  # on again
    finally:
        store.close()


# -- the consultation page -----------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_the_consultation_asks_the_date_of_birth_and_the_dates_of_time_limited_answers(
    qtbot, tmp_path: Path
) -> None:
    from PySide6 import QtWidgets

    from console.ui.consultation_page import ConsultationPage
    from console.ui.workflow_panel import new_visit

    visit = new_visit("Anna Berg")
    page = ConsultationPage(visit)
    qtbot.addWidget(page)
    page.resize(1100, 1500)
    page.show()
    qtbot.waitExposed(page)
    page.name.setText("Maria Rossi")
    # Each question on its own: no button answers them all (nor comes back).
    buttons = [b.text().lower() for b in page.findChildren(QtWidgets.QPushButton)]
    assert not any("every" in t or "all" in t for t in buttons), buttons
    for _yes, no in page.answers.values():
        no.setChecked(True)
    assert "Date of birth not given" in page.verdict.text()
    assert not visit.screening_result.cleared

    page.date_of_birth.setText("2010-05-01")
    assert visit.client.date_of_birth == date(2010, 5, 1)
    age = age_on(date(2010, 5, 1), date.today())
    assert f"The client is {age} (born 2010-05-01)" in page.verdict.text()
    assert "Do not treat" in page.verdict.text()
    assert "under 18" in page.age.text()

    page.date_of_birth.setText("1984-03-09")
    assert visit.screening_result.cleared is True
    assert "Clear to treat" in page.verdict.text()

    when = page.dates["fillers_or_botox"]
    assert not when.isEnabled()
    page.answers["fillers_or_botox"][0].setChecked(True)  # yes
    assert when.isEnabled()
    assert "1 date still needed" in page.verdict.text()
    assert page.outcomes["fillers_or_botox"].text() == "needs a date"
    assert (
        "Type the date of the fillers or botulinum toxin as YYYY-MM-DD"
        in page.date_notes["fillers_or_botox"].text()
    )
    assert not page.override_buttons["fillers_or_botox"].isEnabled()  # no date, no override

    injected = date.today() - timedelta(days=13)
    when.setText(injected.isoformat())
    assert visit.screening.dates["fillers_or_botox"] == injected
    note = page.date_notes["fillers_or_botox"].text()
    assert f"on {injected.isoformat()}: wait until" in note and "17 days more" in note
    assert page.override_buttons["fillers_or_botox"].isEnabled()
    assert "Treat with care — Dermal fillers or botulinum toxin" in page.verdict.text()
    assert "17 days more" in page.verdict.text()
    until = (injected + timedelta(days=30)).isoformat()
    assert page.outcomes["fillers_or_botox"].text() == f"⚠ wait until {until}"

    retinoid_field = page.dates["retinoids"]
    page.answers["retinoids"][0].setChecked(True)
    retinoid_field.setText((date.today() - timedelta(days=60)).isoformat())
    assert "no longer blocks" in page.date_notes["retinoids"].text()
    assert page.outcomes["retinoids"].text() == "✓ wait over"
    page.grab().save(str(tmp_path / "consultation.png"))

    future = (date.today() + timedelta(days=3)).isoformat()
    when.setText(future)
    assert "fillers_or_botox" not in visit.screening.dates
    assert "in the future" in page.date_notes["fillers_or_botox"].text()

    page.answers["fillers_or_botox"][1].setChecked(True)  # no: the date goes
    assert when.text() == "" and not when.isEnabled()
    assert not page.date_notes["fillers_or_botox"].isVisible()
    assert visit.screening_result.cleared is True
