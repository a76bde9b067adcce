"""Keeps a visit of the workflow in the records: the client and their goals, screening, consent,
sessions, follow-up.

The window (or any other front end) calls :meth:`VisitArchive.before_treatment` just before the
engine starts: it writes the client's goals, the screening and the consent, and returns the
recorder that :meth:`console.session.Console.start_session` begins (the session row, which keeps
the goals of its visit) before the output is on. A visit whose session was stopped may start a
new one: each is its own session record, and the screening and consent are written once.
Follow-up entries reach the records through the visit's observer hook; saving the follow-up
again updates the visit's follow-up rather than adding another. No Qt here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from console.course import CourseStatus
from console.engine.runner import TreatmentEngine
from console.protocols import Protocol
from console.records.aftercare import course_after_visit
from console.records.recorder import RecordsTrouble, SessionRecorder
from console.records.signed_in import SignedIn
from console.records.store import ReactionRow, RecordError, RecordStore, SavedFollowUp
from console.screening import Screening
from console.workflow import Visit


class VisitArchive:
    """Writes one :class:`Visit` into a :class:`RecordStore` as it goes."""

    def __init__(
        self,
        store: RecordStore,
        on_error: Callable[[str], None] | None = None,
        signed_in: Callable[[], SignedIn | None] = lambda: None,
    ) -> None:
        self.store = store
        #: The account signed in to the window (None: records without accounts, where the
        #: visit's typed practitioner is named).
        self.signed_in = signed_in
        #: Told when a follow-up entry could not be saved (the visit itself keeps it).
        self.on_error = on_error
        self._visit: Visit | None = None
        self._consent_saved = False
        self._screening_saved: tuple[object, ...] | None = None
        #: The visit's follow-up in the records, once saved (a later save updates it).
        self.follow_up_saved: SavedFollowUp | None = None
        #: The visit's latest session (after a stop, a new session replaces it here).
        self.session_id: str | None = None

    def follow(self, visit: Visit) -> None:
        """Start following a new visit (its follow-up entries are saved as they are made)."""
        self._visit = visit
        self._consent_saved = False
        self._screening_saved = None
        self.follow_up_saved = None
        self.session_id = None
        visit.observers.append(self._changed)

    def client_id(self, visit: Visit) -> int:
        """The record of the visit's client (found by name, or created), kept on the visit."""
        if visit.client.reference is None:
            client_id = self.store.client_named(visit.client.name, self._who(visit))
            visit.client.reference = str(client_id)
        return int(visit.client.reference)

    def before_treatment(
        self,
        visit: Visit,
        engine: TreatmentEngine,
        on_trouble: Callable[[RecordsTrouble], None],
        on_recovered: Callable[[], None] | None = None,
    ) -> SessionRecorder:
        """Client goals, screening and consent, written now, and the recorder of the session,
        whose row :meth:`console.session.Console.start_session` writes before the output is on
        (with the visit's goals). The screening is written again for a second session of the
        visit only if it changed in between. Raises
        :class:`~console.records.store.StoreUnavailableError` (or ``FieldError``) if they cannot
        be written: the treatment must then not start."""
        assert engine.session is not None, "prepare the engine first"
        client_id = self.client_id(visit)
        who = self._who(visit)
        self.store.record_goals(client_id, visit.client.goals, by=who)
        answered = _answered(visit.screening)
        if answered != self._screening_saved:
            self.store.record_screening(client_id, visit.screening, who)
            self._screening_saved = answered
        if visit.consent_by and not self._consent_saved:
            self.store.record_consent(client_id, who, f"Consent given by {visit.consent_by}")
            self._consent_saved = True
        recorder = SessionRecorder(
            self.store,
            who,
            client_id,
            on_trouble,
            on_recovered,
            goals=visit.client.goals or None,
        )
        self.session_id = engine.session.session_id
        return recorder

    def course(self, visit: Visit, protocols: Mapping[str, Protocol]) -> CourseStatus | None:
        """The course of the visit's client, this visit's session counted as it ended (its
        end may still be on its way to the database). None for a visit with no client record;
        raises :class:`RecordError` when the records cannot be read."""
        if visit.client.reference is None:
            return None
        record = self.store.client(int(visit.client.reference))
        return course_after_visit(
            record.sessions,
            protocols,
            self.session_id if visit is self._visit else None,
            visit.application_ended_cleanly,
        )

    def _who(self, visit: Visit) -> str | SignedIn:
        """Who the records name on what this visit writes: the signed-in account, else the
        practitioner typed at the consultation."""
        return self.signed_in() or visit.practitioner

    def _changed(self, visit: Visit, what: str) -> None:
        if what != "follow-up" or visit is not self._visit or visit.client.reference is None:
            return
        follow_up = visit.follow_up
        client_id = int(visit.client.reference)
        reactions = [
            ReactionRow(r.reaction.value, r.severity.value, r.duration.value)
            for r in follow_up.reactions
        ]
        try:
            # Goals typed or changed after the session started are the visit's too.
            who = self._who(visit)
            self.store.record_goals(client_id, visit.client.goals, self.session_id, by=who)
            self.follow_up_saved = self.store.save_follow_up(
                client_id,
                who,
                reactions,
                follow_up.notes,
                follow_up.next_appointment,
                self.session_id,
                replacing=self.follow_up_saved,
            )
        except RecordError as error:
            if self.on_error is not None:
                self.on_error(f"The follow-up could not be saved in the records: {error}")


def _answered(screening: Screening) -> tuple[object, ...]:
    """What a screening says (its answers, dates, overrides and date of birth): two sessions of
    one visit share one screening record unless this changed between them."""
    return (
        screening.version,
        tuple(sorted(screening.answers.items())),
        tuple(sorted(screening.dates.items())),
        tuple(sorted((key, o.reason) for key, o in screening.overrides.items())),
        screening.date_of_birth,
    )
