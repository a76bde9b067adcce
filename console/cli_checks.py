"""Checks of what a user gave ``mc-console`` that argparse cannot make: input that would
otherwise be ignored without a word (a port the simulator does not use, a fault after the
protocol's end) is refused with one sentence saying what to do instead, exit status 2."""

from __future__ import annotations

from pathlib import Path

from console.faults import FaultSpec
from console.plugins import PluginHost, load_plugins
from console.protocols import Protocol
from console.report import format_duration

#: Example URLs for the records database, given when one is not a URL.
DB_URL_EXAMPLES = "sqlite:////home/you/records.db or postgresql+psycopg://clinic@db-host/records"


class UsageError(Exception):
    """A mistake in what the user asked for; printed as one line, exit status 2."""

    status = 2


class RefusedError(UsageError):
    """A sign-in or a permission refused; printed as one line, exit status 4 (as the records'
    own commands)."""

    status = 4


def check_db_url(url: str | None) -> None:
    """``--db`` must at least read as a database URL (else SQLAlchemy's 45-line traceback)."""
    if url is None:
        return
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from console.records.urls import safe

    try:
        make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise UsageError(  # safe(): never the password a URL may hold
            f"--db {safe(url)!r} is not a database URL; give one such as {DB_URL_EXAMPLES}"
        ) from None


def check_window_driver(driver_id: str, *, screenshot: bool) -> None:
    """The window's ``--driver`` must be a known driver; ``--screenshot`` pictures the
    simulated machine only. Checked before Qt starts, so nothing opens for a mistake."""
    host = load_plugins()
    info = host.drivers.get(driver_id)
    if info is None:
        known = ", ".join(sorted(host.drivers)) or "none (is the package installed?)"
        raise UsageError(f"unknown driver {driver_id!r}; known drivers: {known}")
    if screenshot and not info.simulated:
        raise UsageError(
            f"--screenshot pictures the simulated machine, not {driver_id!r}; leave out --driver"
        )


def check_port(host: PluginHost, driver_id: str, port: str | None) -> None:
    """A ``--port`` for a driver that uses none would be ignored: refuse it."""
    info = host.drivers[driver_id]
    if port is not None and info.simulated:
        raise UsageError(
            f"the {driver_id} driver uses no port, so --port {port} would be ignored; "
            "leave it out, or give the --driver of the machine on that port"
        )


def check_scenario_protocol(protocol_id: str | None, scenario_id: str, own: str) -> None:
    """A scenario plays its own protocol: a different ``--protocol`` would be ignored."""
    if protocol_id is not None and protocol_id != own:
        raise UsageError(
            f"scenario {scenario_id!r} plays the {own} protocol, not {protocol_id}; "
            "leave out --protocol (or give --protocol alone to run it without the scenario)"
        )


def check_fault_times(faults: list[FaultSpec], protocol: Protocol) -> None:
    """A fault planned at or after the protocol's end would never play."""
    length = format_duration(protocol.duration_s)
    for fault in faults:
        if fault.at_s >= protocol.duration_s:
            raise UsageError(
                f"--inject {fault.name}@{fault.at_s:g} ({format_duration(fault.at_s)}) comes after "
                "the end of "
                f"{protocol.id} ({length}), so it would never play; give a time under {length}"
            )


def check_scenarios_dir(folder: str | None) -> Path | None:
    """``--scenarios-dir`` as a folder that exists (else its scenarios would silently be
    missing)."""
    if folder is None:
        return None
    path = Path(folder)
    if not path.is_dir():
        raise UsageError(
            f"--scenarios-dir {folder} is not a folder; give the folder of your own scenario files"
        )
    return path
