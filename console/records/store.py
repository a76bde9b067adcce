"""The client-record store: one SQLAlchemy database, migrated on open, written as things happen.

SQLite in the user's data folder by default (WAL, full sync: a commit survives a power cut), or
any SQLAlchemy URL, so that several treatment rooms share one PostgreSQL server. The SQLite file
and its folder are readable by their owner only. Nothing here logs client data.

Every method is one short transaction. Errors of the database itself (locked, read-only, full,
gone) surface as :class:`StoreUnavailableError`; wrong input as :class:`FieldError` naming the field.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import stat
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import selectinload, sessionmaker

from console.engine.events import SafetyEvent, SessionInfo, SessionSummary, StepDelivery
from console.records import audit
from console.records.engines import engine_for
from console.records.errors import (
    FieldError,
    RecordNotFoundError,
    RecordRejectedError,
    StoreUnavailableError,
)
from console.records.errors import (
    RecordError as RecordError,  # re-exported: callers name it through the store
)
from console.records.models import (
    Client,
    Consent,
    FollowUpPlan,
    Note,
    Practitioner,
    SafetyEventRecord,
    Screening,
    StepRecord,
    TreatmentSession,
    now_utc,
)
from console.records.names import MAX_NAME, composed, search_form, unprintable
from console.records.rows import (
    REACTION_SEVERITIES,
    ClientRecord,
    ClientSummary,
    EventRow,
    ExportedSession,
    FollowUpRow,
    NoteRow,
    ReactionRow,
    SavedFollowUp,
    ScreeningRow,
    SessionRow,
    StepRow,
)
from console.records.rows import (
    SessionFacts as SessionFacts,  # re-exported
)
from console.records.signed_in import SignedIn
from console.records.urls import check_url, driver_hint, server_of
from console.screening import Screening as ScreeningForm
from console.screening import ScreeningError, check_date_of_birth

log = logging.getLogger(__name__)

APP_NAME = "mc-console"
APP_AUTHOR = "Microcurrent Console"
DB_FILE = "records.sqlite3"
MAX_PHONE = 40
#: A running session's lease: how long it holds, and how often its console renews it.
LEASE_S = 30.0
LEASE_RENEW_S = 5.0
_PROCESS_TAG = uuid.uuid4().hex[:12]
#: How long a console waits for another one to finish migrating the same database.
MIGRATION_WAIT_S = 60.0
MIGRATION_RETRY_S = 0.2
#: The newest migration this console knows (the last script in ``migrations/versions``;
#: ``tests/test_records_store.py`` checks the two agree).
HEAD_REVISION = "0008"
#: The execution option that makes a SQLite transaction take the write lock at BEGIN.
_IMMEDIATE = "mc_begin_immediate"
#: Seconds a PostgreSQL server has to answer a new connection.
CONNECT_TIMEOUT_S = 5


def default_url() -> str:
    """SQLite in the user's data folder (created, owner-only)."""
    from platformdirs import user_data_dir

    folder = Path(user_data_dir(APP_NAME, APP_AUTHOR))
    return f"sqlite:///{folder / DB_FILE}"


# -- the store ---------------------------------------------------------------------------------


class RecordStore:
    """Clients, screenings, sessions and follow-ups in one database (see the module docstring)."""

    def __init__(
        self,
        url: str | None = None,
        *,
        migrate: bool = True,
        create: bool = True,
        make_folder: bool = True,
    ) -> None:
        """Open the database at ``url`` (default: SQLite in the user's data folder).

        ``create``: a SQLite file that does not exist is made, and with ``make_folder`` its
        folder too; without ``create``, a missing file is refused. See
        :mod:`console.records.urls` for what is refused and why."""
        self.url = url or default_url()
        check_url(
            self.url, create=create, make_folder=make_folder or url is None, default=url is None
        )
        self.is_sqlite = self.url.startswith("sqlite")
        self.path = _sqlite_path(self.url) if self.is_sqlite else None
        #: ``host:port`` of a database server, named when it cannot be reached.
        self.server = server_of(self.url)
        if self.path is not None:
            _private_folder(self.path.parent)
            _create_private(self.path)
        try:
            self.engine: Engine = engine_for(self.url, lambda: _new_engine(self.url))
        except ImportError as error:
            raise StoreUnavailableError(driver_hint(self.url, error)) from None
        except (SQLAlchemyError, ValueError) as error:
            raise StoreUnavailableError(
                f"cannot use the database {self.safe_url}: {error}"
            ) from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.backup_path: Path | None = None
        if migrate:
            self.migrate()
        if self.path is not None and self.path.exists():
            _private_file(self.path)

    @property
    def safe_url(self) -> str:
        """The URL without a password (for messages and logs)."""
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        """Release every connection (the engine itself is kept for this database's next
        opening: see :mod:`console.records.engines`)."""
        self.engine.dispose()

    # -- schema ------------------------------------------------------------------------------

    def schema_revision(self) -> str | None:
        """The migration the database is at (None for an empty one)."""
        with self._connect() as connection:
            return _revision_of(connection)

    @staticmethod
    def head_revision() -> str:
        """The newest migration this console knows."""
        return HEAD_REVISION

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema to ``revision``, all or nothing; an existing, older database is
        backed up first (once, however often a start fails).

        The whole upgrade is one transaction (SQLite and PostgreSQL both have transactional DDL),
        so a kill or a failure at any step leaves the database as it was. Consoles starting at
        the same moment take turns: each migrates under a lock (SQLite: ``BEGIN IMMEDIATE``;
        PostgreSQL: an advisory lock) and looks at the revision again once it holds it.
        """
        target = self.head_revision() if revision == "head" else revision
        deadline = time.monotonic() + MIGRATION_WAIT_S
        while True:
            try:
                # Read without the lock first: a start that has nothing to migrate never
                # waits for another console's writes.
                current = self.schema_revision()
                if current == target:
                    return
                self._refuse_newer(current)
                # Alembic is imported only now: a start with nothing to migrate (every start
                # but the first after an update) does not pay for it.
                from alembic import command

                with self._locked("migration", foreign_keys_off=True) as connection:
                    current = _revision_of(connection)
                    if current == target:
                        return  # another console migrated it while this one waited
                    self._refuse_newer(current)
                    if current is not None:
                        self.backup_path = self._backup_once(current, target)
                    config = _alembic_config()
                    config.attributes["connection"] = connection
                    command.upgrade(config, revision)
                break
            except (StoreUnavailableError, OperationalError) as error:
                # Another console is making the file WAL or migrating: wait our turn.
                cause = error if isinstance(error, OperationalError) else error.__cause__
                locked = isinstance(cause, OperationalError) and _is_locked(cause)
                if not locked or time.monotonic() > deadline:
                    if isinstance(error, StoreUnavailableError):
                        raise
                    raise StoreUnavailableError(
                        f"the database could not be migrated: {_reason(error)}"
                    ) from None
                time.sleep(MIGRATION_RETRY_S)
            except (SQLAlchemyError, OSError) as error:
                raise StoreUnavailableError(
                    f"the database could not be migrated (nothing was changed): {error}"
                ) from None
        log.info("records database migrated from %s to %s", current, target)

    @contextmanager
    def _locked(
        self, lock: str | None = None, *, foreign_keys_off: bool = False
    ) -> Iterator[Connection]:
        """A connection in a transaction that holds the write lock from its start on SQLite
        (``BEGIN IMMEDIATE``) and, with ``lock``, a PostgreSQL advisory lock of that name:
        consoles asking for the same lock take turns.

        ``foreign_keys_off`` (SQLite, for migrations): SQLite alters a table by copying it and
        dropping the original, and dropping ``clients`` with foreign keys enforced deletes, by
        cascade, every screening, session and note of every client. Enforcement is off for the
        transaction (it can only be switched between transactions), the keys are checked
        before the commit (a violation rolls everything back), and it is on again after."""
        with self.engine.connect() as connection:
            raw = None
            if self.is_sqlite:
                connection.execution_options(**{_IMMEDIATE: True})
                if foreign_keys_off:
                    raw = connection.connection.driver_connection
                    assert raw is not None
                    raw.execute("PRAGMA foreign_keys=OFF")
            try:
                with connection.begin():
                    if lock is not None and not self.is_sqlite:
                        connection.execute(
                            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": lock}
                        )
                    yield connection
                    if raw is not None:
                        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                        if broken:
                            raise RecordRejectedError(
                                f"the migration would leave {len(broken)} record(s) pointing "
                                "at nothing; nothing was changed"
                            )
            finally:
                if raw is not None:
                    raw.execute("PRAGMA foreign_keys=ON")

    def _refuse_newer(self, current: str | None) -> None:
        if current is not None and current not in _known_revisions():
            raise StoreUnavailableError(
                f"the records database was written by a newer console (schema {current}); this "
                f"console knows schemas up to {self.head_revision()}: update the console"
            )

    def _backup_once(self, current: str, target: str) -> Path:
        """The backup before migrating ``current`` → ``target``: the one an earlier, failed
        attempt made (nothing has changed since: the migration rolled back), else a new one."""
        label = f"before-migration-{current}-to-{target}"
        earlier = sorted(self._backup_folder().glob(f"{self._backup_stem()}.{label}.*"))
        return earlier[-1] if earlier else self.backup(label)

    def _backup_folder(self) -> Path:
        if self.path is not None:
            return self.path.parent
        from platformdirs import user_data_dir

        return Path(user_data_dir(APP_NAME, APP_AUTHOR))

    def _backup_stem(self) -> str:
        return self.path.stem if self.path is not None else "records-backup"

    def backup(self, label: str) -> Path:
        """A copy of every table, before anything changes them: the SQLite file itself (its
        online backup API), or, for another server, a JSON file of every row. Written
        owner-only under a temporary name and renamed when complete, so a backup that exists is
        whole."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        folder = self._backup_folder()
        _private_folder(folder)
        suffix = "sqlite3" if self.path is not None else "json"
        target = folder / f"{self._backup_stem()}.{label}.{stamp}.{suffix}"
        partial = folder / f".{target.name}.part"
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        try:
            if self.path is not None:
                source = sqlite3.connect(self.path)
                try:
                    copy = sqlite3.connect(partial)
                    with copy:
                        source.backup(copy)
                    copy.close()
                finally:
                    source.close()
            else:
                with self._connect() as connection:
                    tables = inspect(connection).get_table_names()
                    dump = {
                        table: [
                            dict(row._mapping)
                            for row in connection.execute(text(f'SELECT * FROM "{table}"'))
                        ]
                        for table in tables
                    }
                partial.write_text(json.dumps(dump, default=str))
            _private_file(partial)
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return target

    # -- practitioners and clients -----------------------------------------------------------

    def practitioner(self, name: str | SignedIn) -> int:
        """The id of the practitioner called ``name`` (created on first use), or a signed-in
        account's own practitioner: every method that records who did something takes either
        (typed names are what a console without accounts records, as before them)."""
        if isinstance(name, SignedIn):
            return name.practitioner_id
        name = _required("practitioner", name)
        for _attempt in range(2):
            try:
                with self._transaction() as db:
                    found = db.scalar(select(Practitioner.id).where(Practitioner.name == name))
                    if found is not None:
                        return int(found)
                    row = Practitioner(name=name)
                    db.add(row)
                    db.flush()
                    return int(row.id)
            except RecordRejectedError as error:
                if not isinstance(error.__cause__, IntegrityError):
                    raise
                # Another room added the same practitioner at the same moment: read theirs.
        raise RecordRejectedError(f"practitioner {name!r} could not be recorded")

    def add_client(
        self,
        name: str,
        practitioner: str | SignedIn,
        *,
        birth_year: int | None = None,
        date_of_birth: date | None = None,
        phone: str = "",
        email: str = "",
        goals: str = "",
    ) -> int:
        """A new client; returns their id. Every field is checked, each error names its field.

        ``date_of_birth`` is what the screening's age rule needs; ``birth_year`` alone (older
        callers) is kept, and follows from the date when both are given."""
        name = _required("name", name)
        if date_of_birth is not None:
            try:
                check_date_of_birth(date_of_birth)
            except ScreeningError as error:
                raise FieldError("date_of_birth", str(error)) from None
            if birth_year is not None and birth_year != date_of_birth.year:
                raise FieldError(
                    "birth_year",
                    f"birth year {birth_year} differs from the date of birth "
                    f"{date_of_birth.isoformat()}",
                )
            birth_year = date_of_birth.year
        if birth_year is not None and not (1900 <= birth_year <= datetime.now(UTC).year):
            raise FieldError("birth_year", f"birth year {birth_year} is not a plausible year")
        phone = phone.strip()
        if phone and not all(c.isdigit() or c in "+ -()/." for c in phone):
            raise FieldError("phone", f"phone {phone!r} holds characters a number does not")
        if len(phone) > MAX_PHONE:
            raise FieldError("phone", f"phone is longer than {MAX_PHONE} characters")
        email = email.strip()
        if email and ("@" not in email or email.startswith("@") or email.endswith("@")):
            raise FieldError("email", f"e-mail {email!r} is not an address")
        if len(email) > MAX_NAME:
            raise FieldError("email", f"e-mail is longer than {MAX_NAME} characters")
        practitioner_id = self.practitioner(practitioner)
        with self._transaction() as db:
            row = Client(
                name=name,
                search_name=_searchable(name),
                birth_year=birth_year,
                date_of_birth=date_of_birth,
                phone=phone,
                email=email,
                goals=goals.strip(),
                created_by_id=practitioner_id,
            )
            db.add(row)
            db.flush()
            _changed(db, practitioner, int(row.id), "client added")
            return int(row.id)

    def client_named(self, name: str, practitioner: str | SignedIn) -> int:
        """The id of the client called ``name`` (any case, any accents); added if there is
        none. Two consoles asking for the same new name at once get one client: the look-up
        and the insert run under a lock (SQLite: the write lock; PostgreSQL: an advisory lock
        on the name), while :meth:`add_client` still adds a namesake when a clinic has two."""
        name = _required("name", name)
        key = _searchable(name)
        practitioner_id = self.practitioner(practitioner)
        with self._transaction(lock=f"client:{key}") as db:
            found = db.scalars(
                select(Client.id).where(Client.search_name == key).order_by(Client.id)
            ).first()
            if found is not None:
                return int(found)
            row = Client(name=name, search_name=key, created_by_id=practitioner_id)
            db.add(row)
            db.flush()
            _changed(db, practitioner, int(row.id), "client added")
            return int(row.id)

    def search_clients(self, query: str = "", limit: int = 100) -> list[ClientSummary]:
        """Clients whose name contains ``query`` (any case), names starting with it first."""
        needle = search_form(query)
        with self._transaction() as db:
            statement = select(Client.id, Client.name, Client.birth_year, Client.date_of_birth)
            if needle:
                pattern = "%" + _like(needle) + "%"
                starts = _like(needle) + "%"
                statement = statement.where(Client.search_name.like(pattern, escape="\\")).order_by(
                    Client.search_name.like(starts, escape="\\").desc(), Client.search_name
                )
            else:
                statement = statement.order_by(Client.search_name)
            rows = db.execute(statement.limit(limit)).all()
            ids = [row.id for row in rows]
            visits = {
                client_id: (count, last)
                for client_id, count, last in db.execute(
                    select(
                        TreatmentSession.client_id,
                        func.count(TreatmentSession.id),
                        func.max(TreatmentSession.started_at),
                    )
                    .where(TreatmentSession.client_id.in_(ids))
                    .group_by(TreatmentSession.client_id)
                )
            }
        out = []
        for row in rows:
            count, last = visits.get(row.id, (0, None))
            if last is not None and last.tzinfo is None:
                last = last.replace(tzinfo=UTC)
            out.append(
                ClientSummary(row.id, row.name, row.birth_year, int(count), last, row.date_of_birth)
            )
        return out

    def client(self, client_id: int) -> ClientRecord:
        """Everything about one client."""
        with self._transaction() as db:
            row = _existing_client(
                db,
                client_id,
                selectinload(Client.screenings),
                selectinload(Client.sessions).selectinload(TreatmentSession.steps),
                selectinload(Client.sessions).selectinload(TreatmentSession.events),
                selectinload(Client.sessions).selectinload(TreatmentSession.practitioner),
                selectinload(Client.notes),
                selectinload(Client.follow_ups),
            )
            names = dict(db.execute(select(Practitioner.id, Practitioner.name)).all())
            notes_by_session: dict[str | None, list[NoteRow]] = {}
            for note in sorted(row.notes, key=lambda n: n.at, reverse=True):
                notes_by_session.setdefault(note.session_id, []).append(_note_row(note, names))
            return ClientRecord(
                id=row.id,
                name=row.name,
                birth_year=row.birth_year,
                date_of_birth=row.date_of_birth,
                phone=row.phone,
                email=row.email,
                goals=row.goals,
                created_at=row.created_at,
                screenings=tuple(
                    _screening_row(s, names)
                    for s in sorted(row.screenings, key=lambda s: s.at, reverse=True)
                ),
                sessions=tuple(
                    _session_row(s, row.name, tuple(notes_by_session.get(s.id, ())), s.goals)
                    for s in sorted(row.sessions, key=lambda s: s.started_at, reverse=True)
                ),
                notes=tuple(n for notes in notes_by_session.values() for n in notes),
                follow_ups=tuple(
                    sorted(
                        (_follow_up_row(f, names) for f in row.follow_ups),
                        key=lambda f: (f.day, f.due_at.timestamp() if f.due_at else 0.0),
                    )
                ),
            )

    def delete_client(self, client_id: int, confirm_name: str) -> None:
        """Delete a client and all their data. ``confirm_name`` must repeat their name."""
        with self._transaction() as db:
            row = _existing_client(db, client_id)
            if composed(confirm_name) != row.name:
                raise FieldError("confirm_name", "type the client's full name to confirm")
            db.delete(row)
            db.flush()
            audit.append(db, None, audit.DELETE, client_id, "client deleted with their records")

    def record_screening(
        self, client_id: int, screening: ScreeningForm, practitioner: str | SignedIn
    ) -> None:
        """Store a screening as answered: the question set's version, the answers with the
        dates given, the date of birth, the overrides and the decision. A client whose record
        has no date of birth yet takes the screening's (unless the record's birth year says
        otherwise: then the record is left as it is and the screening keeps what it was told)."""
        practitioner_id = self.practitioner(practitioner)
        result = screening.evaluate(screening.at.astimezone().date())  # as it was decided
        with self._transaction() as db:
            client = _existing_client(db, client_id)
            born = screening.date_of_birth
            if (
                born is not None
                and client.date_of_birth is None
                and client.birth_year in (None, born.year)
            ):
                client.date_of_birth = born
                client.birth_year = born.year
            db.add(
                Screening(
                    client_id=client_id,
                    practitioner_id=practitioner_id,
                    at=screening.at,
                    answers=dict(screening.answers),
                    overrides={k: o.reason for k, o in screening.overrides.items()},
                    cleared=result.cleared,
                    summary="cleared" if result.cleared else "; ".join(result.reasons()),
                    question_version=screening.version,
                    dates={k: d.isoformat() for k, d in screening.dates.items()},
                    date_of_birth=born,
                )
            )
            verdict = "cleared" if result.cleared else "not cleared"
            _changed(db, practitioner, client_id, f"screening recorded ({verdict})")

    def record_goals(
        self,
        client_id: int,
        goals: str,
        session_id: str | None = None,
        by: str | SignedIn | None = None,
    ) -> bool:
        """The client's goals as stated at a visit become their record's goals, and, with
        ``session_id``, that visit's session's (goals typed after the session started). Empty
        goals leave the records as they are (a visit where none were asked is not one where
        the client gave them up). True when the client's record changed."""
        goals = goals.strip()
        if not goals:
            return False
        with self._transaction() as db:
            client = _existing_client(db, client_id)
            session = db.get(TreatmentSession, session_id) if session_id else None
            # A session still on its way from the journal keeps the goals it began with.
            if session is not None and session.client_id == client_id:
                session.goals = goals
            if client.goals == goals:
                return False
            client.goals = goals
            _changed(db, by, client_id, "goals changed")
            return True

    def record_consent(
        self, client_id: int, practitioner: str | SignedIn, consent_text: str
    ) -> None:
        """Store the consent the client gave."""
        practitioner_id = self.practitioner(practitioner)
        with self._transaction() as db:
            db.add(Consent(client_id=client_id, practitioner_id=practitioner_id, text=consent_text))
            _changed(db, practitioner, client_id, "consent recorded")

    # -- sessions, as they happen ------------------------------------------------------------

    def begin_session(
        self,
        info: SessionInfo,
        practitioner: str | SignedIn,
        client_id: int | None,
        lease_owner: str | None = None,
        goals: str | None = None,
    ) -> None:
        """The session row, written before the output first turns on, with a lease held by
        ``lease_owner`` (see :meth:`renew_lease`) and the ``goals`` stated at its visit.
        Writing it again (a journal replayed) leaves the row as it is."""
        practitioner_id = self.practitioner(practitioner)
        with self._transaction() as db:
            if db.get(TreatmentSession, info.session_id) is not None:
                return
            db.add(
                TreatmentSession(
                    id=info.session_id,
                    client_id=client_id,
                    practitioner_id=practitioner_id,
                    protocol_id=info.protocol_id,
                    protocol_version=info.protocol_version,
                    protocol_name=info.protocol_name,
                    driver_id=info.driver_id,
                    machine_model=info.machine.model,
                    machine_serial=info.machine.serial,
                    machine_firmware=info.machine.firmware,
                    simulated=info.simulated,
                    started_at=info.started_at,
                    state="running",
                    lease_owner=lease_owner or this_console(),
                    lease_until=now_utc() + timedelta(seconds=LEASE_S),
                    goals=(goals or "").strip() or None,
                )
            )
            if client_id is not None:
                _changed(db, practitioner, client_id, f"treatment session {info.session_id[:8]}")

    def renew_lease(self, session_id: str, lease_owner: str) -> bool:
        """Extend the lease of a running session this console records; False if the session
        is no longer ours or has ended.

        A session another console marked ``interrupted`` while this one could not reach the
        database (its lease ran out) is taken back: it is running, and this console says so."""
        with self._transaction() as db:
            row = db.get(TreatmentSession, session_id)
            if row is None or row.lease_owner != lease_owner or row.ended_at is not None:
                return False
            if row.state not in ("running", "interrupted"):
                return False
            row.state = "running"
            row.reason = ""
            row.lease_until = now_utc() + timedelta(seconds=LEASE_S)
            return True

    def add_step(self, session_id: str, step: StepDelivery, final: bool = True) -> None:
        """One step: written as it ends (``final``), and before that as checkpoints of what it
        delivered so far. A write replaces the step's earlier one, never with less: a
        checkpoint replayed late leaves the step's end or a newer checkpoint as it is."""
        with self._transaction() as db:
            row = db.scalars(
                select(StepRecord).where(
                    StepRecord.session_id == session_id, StepRecord.step_index == step.index
                )
            ).first()
            if row is None:
                row = StepRecord(session_id=session_id, step_index=step.index)
                db.add(row)
            elif not final and (row.final is not False or row.actual_s > step.time_under_current_s):
                return
            row.final = final
            row.zone = step.zone
            row.planned_s = step.planned_s
            row.actual_s = step.time_under_current_s
            row.mean_current_ua = step.mean_current_ua
            row.charge_uc = step.charge_uc
            row.net_charge_uc = step.net_charge_uc
            row.mean_impedance_kohm = step.mean_impedance_kohm
            row.completed = step.completed

    def add_event(
        self,
        session_id: str,
        safety: SafetyEvent,
        session_start_s: float,
        ordinal: int | None = None,
    ) -> None:
        """One safety event, committed as it happens; ``ordinal`` (its place in the session,
        from 0) makes a second write of the same event (a journal replayed) a no-op."""
        with self._transaction() as db:
            if (
                ordinal is not None
                and db.scalars(
                    select(SafetyEventRecord.id).where(
                        SafetyEventRecord.session_id == session_id,
                        SafetyEventRecord.ordinal == ordinal,
                    )
                ).first()
            ):
                return
            db.add(
                SafetyEventRecord(
                    session_id=session_id,
                    at_s=safety.at_s - session_start_s,
                    kind=safety.kind.value,
                    message=safety.message,
                    action=safety.action,
                    step_index=safety.step_index,
                    ordinal=ordinal,
                )
            )

    def end_session(
        self, session_id: str, summary: SessionSummary, ended_at: datetime | None = None
    ) -> None:
        """The final state and why; ``ended_at`` is when it ended (default: now), kept exact
        however late the write reaches the database."""
        state = session_state(summary)
        self.end_session_as(session_id, state, summary.reason, ended_at or now_utc())

    def end_session_as(self, session_id: str, state: str, reason: str, ended_at: datetime) -> None:
        """The final ``state`` of a session, why, and when (see :func:`session_state`)."""
        with self._transaction() as db:
            row = db.get(TreatmentSession, session_id)
            if row is None:
                raise RecordNotFoundError(f"no session {session_id}")
            row.state = state
            row.reason = reason
            row.ended_at = ended_at
            row.lease_until = None

    def recover_interrupted(self) -> list[str]:
        """Sessions still ``running`` whose console is gone: marked ``interrupted``.

        A running session is left alone while its lease holds: another treatment room (another
        process or computer on the same database) is recording it now. A lease that has run
        out, or one held by a process of this computer that no longer exists, means the console
        died under the session. What it delivered up to its last committed step or checkpoint
        stays as it is.
        """
        now = now_utc()
        with self._transaction() as db:
            rows = db.scalars(
                select(TreatmentSession).where(TreatmentSession.state == "running")
            ).all()
            abandoned = [row for row in rows if _abandoned(row, now)]
            for row in abandoned:
                row.state = "interrupted"
                row.lease_until = None
                row.reason = (
                    "The console stopped during this session (crash or power cut); what was "
                    "delivered up to then is recorded."
                )
            return [row.id for row in abandoned]

    # -- follow-up ---------------------------------------------------------------------------

    def add_note(
        self,
        client_id: int,
        practitioner: str | SignedIn,
        reactions: Sequence[str | ReactionRow],
        note_text: str,
        session_id: str | None = None,
    ) -> None:
        """Reactions seen (e.g. redness, mild, faded within minutes; a bare name is kept as
        older consoles wrote it) and notes after a visit."""
        stored = _stored_reactions(reactions)
        practitioner_id = self.practitioner(practitioner)
        with self._transaction() as db:
            _existing_client(db, client_id)
            db.add(
                Note(
                    client_id=client_id,
                    session_id=session_id,
                    practitioner_id=practitioner_id,
                    reactions=stored,
                    text=note_text.strip(),
                )
            )
            _changed(db, practitioner, client_id, "note recorded")

    def plan_follow_up(
        self,
        client_id: int,
        practitioner: str | SignedIn,
        due: date | datetime,
        notes: str = "",
        session_id: str | None = None,
    ) -> None:
        """The next appointment: a day after today, or a moment in the future with its time
        zone."""
        due_at, due_on = _checked_due(due)
        practitioner_id = self.practitioner(practitioner)
        with self._transaction() as db:
            _existing_client(db, client_id)
            db.add(
                FollowUpPlan(
                    client_id=client_id,
                    session_id=session_id,
                    practitioner_id=practitioner_id,
                    due_at=due_at,
                    due_on=due_on,
                    notes=notes.strip(),
                )
            )
            _changed(db, practitioner, client_id, "appointment planned")

    def save_follow_up(
        self,
        client_id: int,
        practitioner: str | SignedIn,
        reactions: Sequence[str | ReactionRow],
        note_text: str,
        next_appointment: date | datetime | None,
        session_id: str | None = None,
        replacing: SavedFollowUp | None = None,
    ) -> SavedFollowUp:
        """A visit's follow-up, all or nothing: the reactions and notes, and the next
        appointment (None: none booked). ``replacing`` is what an earlier save of the same
        visit returned: its rows are updated (the appointment removed if none is booked now),
        so saving again corrects the follow-up instead of recording a second one."""
        stored = _stored_reactions(reactions)
        due = _checked_due(next_appointment) if next_appointment is not None else None
        practitioner_id = self.practitioner(practitioner)
        text = note_text.strip()
        with self._transaction() as db:
            _existing_client(db, client_id)
            note = db.get(Note, replacing.note_id) if replacing is not None else None
            if note is None or note.client_id != client_id:
                note = Note(client_id=client_id)
                db.add(note)
            note.session_id = session_id
            note.practitioner_id = practitioner_id
            note.reactions = stored
            note.text = text
            note.at = now_utc()
            plan = None
            if replacing is not None and replacing.plan_id is not None:
                plan = db.get(FollowUpPlan, replacing.plan_id)
                if plan is not None and plan.client_id != client_id:
                    plan = None
            if due is None:
                if plan is not None:
                    db.delete(plan)
                plan = None
            else:
                if plan is None:
                    plan = FollowUpPlan(client_id=client_id)
                    db.add(plan)
                plan.session_id = session_id
                plan.practitioner_id = practitioner_id
                plan.due_at, plan.due_on = due
                plan.notes = text
            db.flush()
            _changed(
                db,
                practitioner,
                client_id,
                "follow-up corrected" if replacing is not None else "follow-up recorded",
            )
            return SavedFollowUp(int(note.id), int(plan.id) if plan is not None else None)

    # -- reading sessions --------------------------------------------------------------------

    def sessions(self, client_query: str | None = None, limit: int = 200) -> list[SessionRow]:
        """Sessions, newest first, optionally of clients whose name contains ``client_query``
        (without their notes: :meth:`session` has them)."""
        return list(self.iter_sessions(client_query, limit))

    def iter_sessions(
        self, client_query: str | None = None, limit: int | None = None, batch: int = 1000
    ) -> Iterator[SessionRow]:
        """Sessions, newest first (ties in a fixed order), optionally of clients whose name
        contains ``client_query``, without their notes, read a batch at a time: any number of
        them in little memory. One read transaction, so a long read sees one consistent state
        and never holds a write lock."""
        events = SafetyEventRecord.__table__
        for connection, rows in self._session_pages(client_query, limit, batch):
            ids = [row.id for row in rows]
            step_rows: dict[str, list[StepRow]] = {}
            for step in _steps_of(connection, ids):
                step_rows.setdefault(step[0], []).append(StepRow._make(step[1:]))
            event_rows: dict[str, list[EventRow]] = {}
            for e in connection.execute(
                select(events).where(events.c.session_id.in_(ids)).order_by(events.c.id)
            ).all():
                event_rows.setdefault(e.session_id, []).append(_event_row(e))
            for row in rows:
                yield SessionRow(
                    *_session_facts(row),
                    steps=tuple(step_rows.get(row.id, ())),
                    events=tuple(event_rows.get(row.id, ())),
                )

    def iter_export(
        self, client_query: str | None = None, limit: int | None = None, batch: int = 1000
    ) -> Iterator[ExportedSession]:
        """What the CSV export writes of each session, newest first, streamed like
        :meth:`iter_sessions` but with the steps as the driver's plain tuples (see
        :class:`ExportedSession`): an export of 50,000 sessions makes no half a million step
        objects."""
        first = itemgetter(0)
        for connection, rows in self._session_pages(client_query, limit, batch):
            plain = _steps_of(connection, [row.id for row in rows])
            step_rows = {session_id: list(group) for session_id, group in groupby(plain, first)}
            del plain  # one batch's rows in memory at a time, not two
            for row in rows:
                yield ExportedSession(*_session_facts(row), steps=step_rows.get(row.id, ()))

    def _session_pages(
        self, client_query: str | None, limit: int | None, batch: int
    ) -> Iterator[tuple[Connection, list[Any]]]:
        """Session rows (with ``client_name`` and ``practitioner_name``), newest first, a page
        of ``batch`` at a time (keyset paging: each page starts where the last one ended), all
        in one read transaction."""
        sessions = TreatmentSession.__table__
        c = sessions.c
        query = (
            select(
                *(c[name] for name in _SESSION_COLUMNS),
                Client.name.label("client_name"),
                Practitioner.name.label("practitioner_name"),
            )
            .outerjoin(Client, Client.id == sessions.c.client_id)
            .outerjoin(Practitioner, Practitioner.id == sessions.c.practitioner_id)
            .order_by(sessions.c.started_at.desc(), sessions.c.id.desc())
        )
        if client_query:
            needle = "%" + _like(search_form(client_query)) + "%"
            query = query.where(Client.search_name.like(needle, escape="\\"))
        left = limit
        with self._connect() as connection, connection.begin():
            last: Any = None
            while left is None or left > 0:
                page = query.limit(batch if left is None else min(batch, left))
                if last is not None:
                    page = page.where(
                        (sessions.c.started_at < last.started_at)
                        | ((sessions.c.started_at == last.started_at) & (sessions.c.id < last.id))
                    )
                rows = connection.execute(page).all()
                if not rows:
                    return
                yield connection, rows
                last = rows[-1]
                if left is not None:
                    left -= len(rows)

    def session(self, session_id: str) -> SessionRow:
        """One session with its steps, events and notes."""
        with self._transaction() as db:
            row = db.get(
                TreatmentSession,
                session_id,
                options=_session_loads(),
            )
            if row is None:
                matches = db.scalars(
                    select(TreatmentSession.id).where(
                        TreatmentSession.id.like(f"{_like(session_id)}%", escape="\\")
                    )
                ).all()
                if len(matches) != 1:
                    raise RecordNotFoundError(f"no session {session_id!r}")
                row = db.get(TreatmentSession, matches[0], options=_session_loads())
                assert row is not None
            names = dict(db.execute(select(Practitioner.id, Practitioner.name)).all())
            notes = db.scalars(select(Note).where(Note.session_id == row.id)).all()
            return _session_row(
                row,
                row.client.name if row.client else "",
                tuple(_note_row(n, names) for n in sorted(notes, key=lambda n: n.at, reverse=True)),
                row.goals,
            )

    def charge_per_zone(self, client_id: int) -> list[tuple[datetime, dict[str, float]]]:
        """For the course chart: each session's start and its charge by zone, oldest first."""
        with self._transaction() as db:
            rows = db.execute(
                select(
                    TreatmentSession.id,
                    TreatmentSession.started_at,
                    StepRecord.zone,
                    StepRecord.charge_uc,
                )
                .join(StepRecord, StepRecord.session_id == TreatmentSession.id)
                .where(TreatmentSession.client_id == client_id)
                .order_by(TreatmentSession.started_at, StepRecord.step_index)
            ).all()
        course: dict[str, tuple[datetime, dict[str, float]]] = {}
        for session_id, started, zone, charge in rows:
            _, zones = course.setdefault(session_id, (started, {}))
            zones[zone] = zones.get(zone, 0.0) + charge
        return list(course.values())

    # -- plumbing ----------------------------------------------------------------------------

    @contextmanager
    def _transaction(self, lock: str | None = None) -> Iterator[OrmSession]:
        """One unit of work. On SQLite it takes the write lock at its start (``BEGIN
        IMMEDIATE``): a transaction that reads and then writes could otherwise fail at once with
        "database is locked" when another console wrote in between. With ``lock``, a
        PostgreSQL transaction is also held exclusively against every other console asking for
        the same lock."""
        try:
            # The transaction is the connection's (its BEGIN takes the lock); the ORM session
            # works inside it and is flushed before it commits.
            with self._locked(lock) as connection, self._sessions(bind=connection) as db:
                yield db
                db.flush()
        except (OperationalError, InterfaceError) as error:
            # The database is busy, read-only, full or gone: worth retrying later.
            raise StoreUnavailableError(_explain(error, self.path, self.server)) from error
        except DBAPIError as error:
            # The database refused this record (too long, a broken constraint): retrying the
            # same write will not help, so it is not reported as "unavailable".
            raise RecordRejectedError(
                f"the records database refused the record ({type(error.orig).__name__})"
            ) from error
        except SQLAlchemyError as error:
            raise StoreUnavailableError(f"the records database failed: {error}") from error

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        try:
            with self.engine.connect() as connection:
                yield connection
        except DBAPIError as error:
            raise StoreUnavailableError(_explain(error, self.path, self.server)) from error


def this_console() -> str:
    """Who holds a lease: this computer, this process and a random tag (a reused process id on
    the same computer is then still told apart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_PROCESS_TAG}"


def _abandoned(row: TreatmentSession, now: datetime) -> bool:
    """True when nobody records this running session any more."""
    if row.lease_owner is None or row.lease_until is None:
        return True  # recorded before leases, or its console let go of it
    if row.lease_until < now:
        return True
    host, _, rest = row.lease_owner.partition(":")
    pid, _, tag = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another computer: only its lease can tell
    if int(pid) == os.getpid():
        return tag != _PROCESS_TAG  # this process id, but an earlier process's tag
    return not _process_exists(int(pid))


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is just not ours
    return True


def session_state(summary: SessionSummary) -> str:
    """The record's state: finished, stopped (by the operator), aborted (a trip or an
    emergency stop) or interrupted (the machine or the console failed, its records included)."""
    if summary.state.value != "aborted":
        return summary.state.value
    last = summary.events[-1].kind.value if summary.events else ""
    if last == "records_failure":
        return "interrupted"
    return "stopped" if last == "operator_stop" else "aborted"


def _session_loads() -> list[Any]:
    """What a :class:`SessionRow` reads besides the session row itself, loaded up front."""
    return [
        selectinload(TreatmentSession.steps),
        selectinload(TreatmentSession.events),
        selectinload(TreatmentSession.client),
        selectinload(TreatmentSession.practitioner),
    ]


def _existing_client(db: OrmSession, client_id: int, *options: Any) -> Client:
    """The client row, or :class:`RecordNotFoundError`."""
    row = db.get(Client, client_id, options=list(options))
    if row is None:
        raise RecordNotFoundError(f"no client with id {client_id}")
    return row


def _session_row(
    row: TreatmentSession, client_name: str, notes: tuple[NoteRow, ...], goals: str | None = None
) -> SessionRow:
    return SessionRow(
        id=row.id,
        client_id=row.client_id,
        client_name=client_name,
        practitioner=row.practitioner.name if row.practitioner else "",
        protocol_id=row.protocol_id,
        protocol_version=row.protocol_version,
        protocol_name=row.protocol_name,
        machine=_machine(row.machine_model, row.machine_serial, row.machine_firmware),
        simulated=row.simulated,
        started_at=row.started_at,
        ended_at=row.ended_at,
        state=row.state,
        reason=row.reason,
        steps=tuple(_step_row(s) for s in row.steps),
        events=tuple(_event_row(e) for e in row.events),
        notes=notes,
        goals=goals or "",
    )


def _step_row(s: StepRecord) -> StepRow:
    return StepRow(
        s.step_index,
        s.zone,
        s.planned_s,
        s.actual_s,
        s.mean_current_ua,
        s.charge_uc,
        s.mean_impedance_kohm,
        s.completed,
        s.net_charge_uc,
    )


#: What a session row gives :class:`SessionRow` and :class:`ExportedSession` (not its lease).
_SESSION_COLUMNS = (
    "id",
    "client_id",
    "practitioner_id",
    "protocol_id",
    "protocol_version",
    "protocol_name",
    "machine_model",
    "machine_serial",
    "machine_firmware",
    "simulated",
    "started_at",
    "ended_at",
    "state",
    "reason",
)


def _session_facts(row: Any) -> tuple[Any, ...]:
    """A session's own fields in :class:`SessionFacts`' order (positional: an export makes
    50,000), from a row of :meth:`RecordStore._session_pages`."""
    return (
        row.id,
        row.client_id,
        row.client_name or "",
        row.practitioner_name or "",
        row.protocol_id,
        row.protocol_version,
        row.protocol_name,
        _machine(row.machine_model, row.machine_serial, row.machine_firmware),
        row.simulated,
        row.started_at,
        row.ended_at,
        row.state,
        row.reason,
    )


def _steps_of(connection: Connection, session_ids: list[str]) -> list[tuple[Any, ...]]:
    """The steps of these sessions as the driver's plain tuples (the session id, then
    :class:`StepRow`'s fields), by session and step, in the connection's transaction.

    For hundreds of thousands of rows of numbers and text, SQLAlchemy's row objects, compiling
    a statement per batch and an ``ORDER BY`` the database sorts would each cost about as much
    as the query: the statement is compiled once per batch size and the rows sorted here."""
    params: Any
    binary: dict[str, bool] = {}
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        # One array parameter instead of a thousand (the server parses and plans it in a
        # fraction of the time), and numbers in binary rather than parsed from text.
        sql, params, binary = _PG_STEPS_SQL, {"ids": session_ids}, {"binary": True}
    else:
        sql, names = _steps_statement(connection.dialect, len(session_ids))
        values = dict(zip(names, session_ids, strict=True))
        params = [values[name] for name in names] if connection.dialect.positional else values
    cursor = connection.connection.cursor(**binary)
    try:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    rows.sort(key=itemgetter(0, 1))  # nearly sorted already: linear
    return rows


#: :func:`_steps_of` on PostgreSQL (psycopg): the ids as one array.
_PG_STEPS_SQL = (
    "SELECT session_id, step_index, zone, planned_s, actual_s, mean_current_ua, charge_uc, "
    "mean_impedance_kohm, completed, net_charge_uc FROM steps WHERE session_id = ANY(%(ids)s)"
)


@lru_cache(maxsize=16)
def _steps_statement(dialect: Any, count: int) -> tuple[str, tuple[str, ...]]:
    """The SQL of :func:`_steps_of` for ``count`` sessions, and its parameters' names in order."""
    c = StepRecord.__table__.c
    names = tuple(f"s{n}" for n in range(count))
    statement = select(
        c.session_id,
        c.step_index,
        c.zone,
        c.planned_s,
        c.actual_s,
        c.mean_current_ua,
        c.charge_uc,
        c.mean_impedance_kohm,
        c.completed,
        c.net_charge_uc,
    ).where(c.session_id.in_([bindparam(name) for name in names]))
    compiled = statement.compile(dialect=dialect)
    order = tuple(compiled.positiontup) if compiled.positional else names
    return str(compiled), order


def _event_row(e: Any) -> EventRow:
    """A safety event from its ORM object or its table row."""
    return EventRow(e.at_s, e.kind, e.message, e.action)


def _machine(model: str, serial: str, firmware: str) -> str:
    return f"{model} (serial {serial}, firmware {firmware})"


def _screening_row(row: Screening, names: dict[int, str]) -> ScreeningRow:
    return ScreeningRow(
        row.at,
        names.get(row.practitioner_id, "?"),
        row.cleared,
        row.summary,
        dict(row.answers),
        dict(row.overrides),
        question_version=row.question_version or 1,  # NULL: recorded before versions (set 1)
        dates={k: date.fromisoformat(v) for k, v in (row.dates or {}).items()},
        date_of_birth=row.date_of_birth,
    )


def _note_row(note: Note, names: dict[int, str]) -> NoteRow:
    return NoteRow(
        note.at,
        names.get(note.practitioner_id, "?"),
        tuple(ReactionRow.read(r) for r in note.reactions or ()),
        note.text,
        note.session_id,
    )


def _follow_up_row(plan: FollowUpPlan, names: dict[int, str]) -> FollowUpRow:
    return FollowUpRow(
        plan.due_at,
        names.get(plan.practitioner_id, "?"),
        plan.notes,
        due_on=plan.due_on,
        session_id=plan.session_id,
    )


def _stored_reactions(reactions: Sequence[str | ReactionRow]) -> list[str | dict[str, str]]:
    """Reactions checked and in the ``notes.reactions`` JSON's form, by kind."""
    rows = [r if isinstance(r, ReactionRow) else ReactionRow(str(r)) for r in reactions]
    for row in rows:
        if not row.kind.strip():
            raise FieldError("reactions", "a reaction needs its name")
        if row.severity is not None and row.severity not in REACTION_SEVERITIES:
            raise FieldError(
                "reactions",
                f"{row.kind}: severity {row.severity!r} is not one of "
                + ", ".join(REACTION_SEVERITIES),
            )
    return [r.stored() for r in sorted(rows, key=lambda r: r.kind)]


def _checked_due(due: date | datetime) -> tuple[datetime | None, date | None]:
    """An appointment as (moment, day): a moment in the future with its time zone, or a day
    after today (the console's today); anything else is a :class:`FieldError`."""
    if isinstance(due, datetime):
        if due.tzinfo is None:
            raise FieldError("due_at", "the appointment needs a time zone")
        if due <= now_utc():
            raise FieldError("due_at", "the next appointment must be in the future")
        return due, None
    if not isinstance(due, date):
        raise FieldError("due_on", f"{due!r} is not a day")
    if due <= date.today():
        raise FieldError("due_on", "the next appointment must be on a day after today")
    return None, due


def _searchable(name: str) -> str:
    """The indexed search form of a name (see :mod:`console.records.names`): never cut short."""
    return search_form(name)


def _like(text: str) -> str:
    """``text`` with LIKE's wildcards made literal (escape character ``\\``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _required(field: str, value: str) -> str:
    value = composed(value or "")
    label = field.replace("_", " ")
    if not value:
        raise FieldError(field, f"{label} is empty")
    if len(value) > MAX_NAME:
        raise FieldError(field, f"{label} is longer than {MAX_NAME} characters ({len(value)})")
    hidden = unprintable(value)
    if hidden:
        codes = ", ".join(f"U+{ord(c):04X}" for c in dict.fromkeys(hidden))
        raise FieldError(field, f"{label} holds characters that do not print ({codes})")
    return value


def _explain(error: DBAPIError, path: Path | None = None, server: str | None = None) -> str:
    """A database failure in words a clinic understands (no client data in it); ``path`` is
    the SQLite file, looked at to tell a permission problem from a drive that is gone;
    ``server`` the database server's ``host:port``, named when it cannot be reached."""
    original = str(error.orig).lower()
    if "no password supplied" in original:
        return (
            "the records database server asks for a password and none was found: put it in "
            "the password file (~/.pgpass or PGPASSFILE), a service (PGSERVICEFILE) or "
            "PGPASSWORD, not in --db"
        )
    if server is not None and _unreachable(original):
        return (
            f"the records database server {server} cannot be reached "
            f"({_server_reason(str(error.orig))}): check the host and port in --db and that "
            "PostgreSQL runs there"
        )
    if "permission denied" in original or "authentication failed" in original:
        return "the records database refused access (permission denied): check its user and rights"
    if "unable to open" in original and path is not None and _denied(path):
        return f"the records database cannot be opened: permission denied on {path}"
    if "locked" in original or "busy" in original:
        return "the records database is busy (locked by another program); it will be retried"
    if "readonly" in original or "read-only" in original:
        return "the records database is read-only; check the file's permissions"
    if "disk" in original and ("full" in original or "i/o" in original):
        return "the records database cannot be written (disk full or removed)"
    if "unable to open" in original or "could not connect" in original or "connection" in original:
        return "the records database cannot be reached (drive removed or server down)"
    return f"the records database failed ({type(error.orig).__name__})"


def _unreachable(message: str) -> bool:
    """True when a server's message says the connection itself failed (not a refusal of it)."""
    words = ("connection", "could not connect", "resolve", "translate host", "timeout", "timed out")
    refused = "authentication" in message or "password" in message
    return any(word in message for word in words) and not refused


def _server_reason(message: str) -> str:
    """The server driver's own reason, shortened: ``Connection refused``, ``Name or service not
    known``, ``timeout expired`` (the driver's message names no password)."""
    first = message.strip().splitlines()[0] if message.strip() else "no answer"
    reason = first.rsplit("failed: ", 1)[-1].rsplit("]", 1)[-1].strip(" :")
    return (reason or first)[:1].lower() + (reason or first)[1:]


def _denied(path: Path) -> bool:
    """True when the file (or, for a new file, its folder) exists but may not be used by us."""
    effective = os.access in os.supports_effective_ids  # judged as the process acts, not starts
    if path.exists():
        return not os.access(path, os.R_OK | os.W_OK, effective_ids=effective)
    return path.parent.exists() and not os.access(
        path.parent, os.W_OK | os.X_OK, effective_ids=effective
    )


def _revision_of(connection: Connection) -> str | None:
    """What Alembic's version table says (None: no table, an empty database), read without
    Alembic."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {
        script.revision
        for script in ScriptDirectory.from_config(_alembic_config()).walk_revisions()
    }


def _sqlite_begin(connection: Connection) -> None:
    """Open every transaction explicitly, DDL included; a migration takes the write lock at once
    (``BEGIN IMMEDIATE``) so that two consoles starting together take turns."""
    immediate = connection.get_execution_options().get(_IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _is_locked(error: OperationalError) -> bool:
    return "locked" in str(error.orig).lower() or "busy" in str(error.orig).lower()


def _reason(error: SQLAlchemyError) -> str:
    return str(getattr(error, "orig", None) or error)


def _alembic_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("console.records") / "migrations")
    )
    return config


def _new_engine(url: str) -> Engine:
    engine = create_engine(url, **_engine_options(url))
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # A short busy timeout: a locked database must not hold the recorder (it retries).
        return {"connect_args": {"timeout": 2.0}}
    options: dict[str, Any] = {"pool_pre_ping": True, "pool_size": 2, "max_overflow": 2}
    if "psycopg" in url.split("://", 1)[0] or url.startswith("postgresql://"):
        # A server that does not answer (a firewall, a host switched off) is said in seconds,
        # not after the system's TCP timeout of minutes.
        options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
    return options


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # SQLAlchemy, not the sqlite3 module, opens the transactions (see _sqlite_begin): the module
    # would run DDL outside any transaction, so a migration killed half-way stayed half-done.
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA synchronous=FULL")  # a commit survives a power cut
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_path(url: str) -> Path | None:
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None  # in memory, or a URI the caller manages itself
    return Path(database).expanduser().resolve()


def _private_folder(folder: Path) -> None:
    """Create the folder owner-only; a folder that already exists is left as its owner set it."""
    if folder.exists():
        return
    try:
        folder.mkdir(parents=True, mode=0o700)
        if os.name == "posix":
            os.chmod(folder, stat.S_IRWXU)  # mkdir's mode is filtered by the umask
    except FileExistsError:
        return  # another console created it at the same moment
    except OSError as error:
        raise StoreUnavailableError(f"cannot create the records folder: {error.strerror}") from None


def _create_private(path: Path) -> None:
    """A new database file owner-only from its first byte (SQLite gives its journal files the
    same mode); an existing one is left to :func:`_private_file`."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return
    except OSError as error:
        raise StoreUnavailableError(
            f"cannot create the records database {path}: {error.strerror}"
        ) from None


def _private_file(path: Path) -> None:
    """Take group and other permissions off the database files (never add any)."""
    if os.name != "posix":
        return
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            mode = stat.S_IMODE(candidate.stat().st_mode)
            if mode & 0o077:
                os.chmod(candidate, mode & ~0o077)
        except FileNotFoundError:
            continue
        except OSError as error:
            raise StoreUnavailableError(
                f"cannot protect the records file: {error.strerror}"
            ) from None


def _changed(
    db: OrmSession, practitioner: str | SignedIn | None, client_id: int, what: str
) -> None:
    """The audit trail's entry for a change to a client's records, in the change's own
    transaction (both are kept, or neither). A signed-in account is named as who; a typed
    practitioner (records without accounts) is named in the detail, the computer's user as who.
    Nothing of the client goes into the entry: only their id."""
    if isinstance(practitioner, SignedIn):
        audit.append(db, practitioner, audit.CHANGE, client_id, what)
        return
    typed = f" (practitioner: {practitioner})" if practitioner else ""
    audit.append(db, None, audit.CHANGE, client_id, f"{what}{typed}")
