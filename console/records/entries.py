"""A session's records as journal entries: plain JSON data, written to the database the same way
whether it happens at once or when a journal is replayed after a crash or an outage.

Every entry is idempotent: the session row is created once, a step is keyed by its index (a
later checkpoint or its end replaces an earlier one), a safety event by its place in the
session, the end by the session. Replaying a journal whose entries partly reached the database
already therefore writes each record exactly once. Times are taken when the entry is made, never
when it is written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from console.drivers import DeviceIdentity
from console.engine.events import (
    SafetyEvent,
    SafetyKind,
    SessionInfo,
    SessionSummary,
    StepDelivery,
)
from console.records.signed_in import SignedIn
from console.records.store import (
    RecordNotFoundError,
    RecordRejectedError,
    RecordStore,
    session_state,
)

Entry = dict[str, Any]


def begin_entry(
    info: SessionInfo,
    practitioner: str,
    client_id: int | None,
    lease_owner: str,
    goals: str | None = None,
) -> Entry:
    """The session row (written before the output first turns on), with the goals stated at
    its visit."""
    return {
        "op": "begin",
        "session": info.session_id,
        "protocol_id": info.protocol_id,
        "protocol_version": info.protocol_version,
        "protocol_name": info.protocol_name,
        "driver_id": info.driver_id,
        "machine": [info.machine.model, info.machine.serial, info.machine.firmware],
        "simulated": info.simulated,
        "started_at": info.started_at.isoformat(),
        "practitioner": practitioner,
        "client_id": client_id,
        "lease_owner": lease_owner,
        "goals": goals,
    }


def step_entry(session_id: str, step: StepDelivery, final: bool) -> Entry:
    """A step: a checkpoint of what it delivered so far, or (``final``) its end, whether it
    ran its full time (``completed``) or not."""
    return {
        "op": "step",
        "session": session_id,
        "final": final,
        "index": step.index,
        "zone": step.zone,
        "planned_s": step.planned_s,
        "time_under_current_s": step.time_under_current_s,
        "mean_current_ua": step.mean_current_ua,
        "charge_uc": step.charge_uc,
        "net_charge_uc": step.net_charge_uc,
        "mean_impedance_kohm": step.mean_impedance_kohm,
        "completed": step.completed,
    }


def event_entry(
    session_id: str, ordinal: int, safety: SafetyEvent, session_start_s: float
) -> Entry:
    """A safety event, the ``ordinal``-th of its session (from 0)."""
    return {
        "op": "event",
        "session": session_id,
        "ordinal": ordinal,
        "at_s": safety.at_s - session_start_s,
        "kind": safety.kind.value,
        "message": safety.message,
        "action": safety.action,
        "step_index": safety.step_index,
    }


def end_entry(session_id: str, summary: SessionSummary, ended_at: datetime) -> Entry:
    """The session's final state, why, and when it ended."""
    return {
        "op": "end",
        "session": session_id,
        "state": session_state(summary),
        "reason": summary.reason,
        "ended_at": ended_at.isoformat(),
    }


def describe(entry: Entry) -> str:
    """For messages: "step 3", "a safety event", "the session's end"…"""
    op = entry.get("op")
    if op == "step":
        step = int(entry["index"]) + 1
        return f"step {step}" if entry.get("final") else f"what step {step} has delivered so far"
    return {
        "begin": "the session's start",
        "event": "a safety event",
        "end": "the session's end",
    }.get(str(op), "a record")


def apply_entry(store: RecordStore, entry: Entry, who: SignedIn | None = None) -> None:
    """Write ``entry`` into ``store`` (idempotently). Raises ``StoreUnavailableError`` when the
    database cannot be written now, :class:`RecordRejectedError` for an entry it never will take
    (malformed, or about a client deleted meanwhile)."""
    try:
        op = entry["op"]
        session_id = str(entry["session"])
        if op == "begin":
            model, serial, firmware = entry["machine"]
            info = SessionInfo(
                session_id=session_id,
                protocol_id=entry["protocol_id"],
                protocol_version=entry["protocol_version"],
                protocol_name=entry["protocol_name"],
                driver_id=entry["driver_id"],
                machine=DeviceIdentity(model, serial, firmware),
                simulated=bool(entry["simulated"]),
                started_at=datetime.fromisoformat(entry["started_at"]),
            )
            store.begin_session(
                info,
                # The account signed in, when the entry comes live from its console (a journal
                # replayed later has only the name it kept).
                who
                if who is not None and who.name == entry["practitioner"]
                else entry["practitioner"],
                entry["client_id"],
                entry["lease_owner"],
                entry.get("goals"),  # absent from journals written before goals were kept
            )
        elif op == "step":
            store.add_step(session_id, _step(entry), final=bool(entry["final"]))
        elif op == "event":
            safety = SafetyEvent(
                kind=SafetyKind(entry["kind"]),
                at_s=float(entry["at_s"]),
                message=entry["message"],
                action=entry["action"],
                step_index=entry["step_index"],
            )
            store.add_event(session_id, safety, 0.0, int(entry["ordinal"]))
        elif op == "end":
            store.end_session_as(
                session_id,
                entry["state"],
                entry["reason"],
                datetime.fromisoformat(entry["ended_at"]),
            )
        else:
            raise RecordRejectedError(f"unknown journal entry {op!r}")
    except RecordNotFoundError as error:  # its session was deleted with its client meanwhile
        raise RecordRejectedError(str(error)) from None
    except (KeyError, TypeError, ValueError) as error:
        raise RecordRejectedError(f"a malformed journal entry ({error})") from None


def _step(entry: Entry) -> StepDelivery:
    return StepDelivery(
        index=int(entry["index"]),
        zone=entry["zone"],
        planned_s=float(entry["planned_s"]),
        time_under_current_s=float(entry["time_under_current_s"]),
        mean_current_ua=float(entry["mean_current_ua"]),
        charge_uc=float(entry["charge_uc"]),
        mean_impedance_kohm=entry["mean_impedance_kohm"],
        completed=bool(entry["completed"]),
        net_charge_uc=float(entry["net_charge_uc"]),
    )
