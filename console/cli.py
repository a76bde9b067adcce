"""The ``mc-console`` command line: list plugins and protocols, and run a treatment headless.

Every error a user can cause (unknown protocol, bad fault spec, a step outside the machine's
range) ends with one sentence on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from console import __version__
from console.cli_checks import (
    RefusedError,
    UsageError,
    check_db_url,
    check_fault_times,
    check_port,
    check_scenario_protocol,
    check_scenarios_dir,
    check_window_driver,
)
from console.cli_signals import EXIT_BROKEN_PIPE, GuardedStream, StopSignal, say, stop_signals
from console.client_reactions import ClientReactions, Reaction
from console.drivers import DriverError
from console.engine.clock import MAX_SPEED
from console.engine.events import (
    EngineEvent,
    EngineState,
    Progress,
    SafetyEventRaised,
    SafetyKind,
    SessionSummary,
    StateChanged,
    StepStarted,
)
from console.engine.runner import TreatmentEngine
from console.engine.safety import PreflightError
from console.faults import FaultInjector, FaultSpec, parse_fault_spec
from console.operator_actions import ActionLog, OperatorAction, ScriptedOperator
from console.plugin_failures import failures_since, installed_failures, remember_failures
from console.plugin_settings import read_plugin_settings
from console.plugins import PluginHost, broken_packs, load_plugins
from console.protocols import Protocol, comfort_notes
from console.records.cli_commands import add_record_commands
from console.records.cli_rights import add_rights_commands
from console.records.cli_signin import add_user_option
from console.records.errors import StoreUnavailableError
from console.report import (
    ZONE_SUMMARY_HEADERS,
    format_duration,
    format_table,
    zone_summary_rows,
)
from console.scenarios import ACTION_EVENTS, Scenario, load_scenarios, outcome_of
from console.screening import ScreeningResult
from console.session import Console, ConsoleError
from console.zones import zone_catalog

EXIT_FINISHED = 0
EXIT_NOT_FINISHED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED_BY_USER = 130  # 128 + SIGINT; SIGTERM and SIGHUP end a run with 143 and 129
#: The slowest ``--speed``: ten times slower than real time is slow enough to explain a step;
#: slower, a 17-minute protocol would take days.
MIN_SPEED = 0.1
#: Seconds a run waits at its end for records the database has not taken (they are safe in the
#: local journal meanwhile).
RECORDS_GRACE_S = 3.0

if TYPE_CHECKING:
    from console.records.recorder import SessionRecorder
    from console.records.signed_in import SignedIn
    from console.records.store import RecordStore


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mc-console``: its exit status (see the README's list)."""
    out = GuardedStream(sys.stdout)
    try:
        status = _main(argv, out)
    except KeyboardInterrupt:  # Ctrl-C outside a run (a run handles its own): nothing is on
        say("mc-console: interrupted (Ctrl-C).")
        status = EXIT_INTERRUPTED_BY_USER
    except StopSignal as signalled:  # between a run's steps: it has turned the output off
        say(f"mc-console: {signalled.name}: stopped, output off.")
        status = signalled.exit_status
    out.finish()
    return EXIT_BROKEN_PIPE if out.broken else status


def _main(argv: Sequence[str] | None, out: GuardedStream) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.ERROR,
        format="mc-console: %(levelname)s: %(message)s",
    )
    try:
        check_db_url(getattr(args, "db", None) or args.gui_db)
        if args.command is None:
            return _window(args)
        handler = getattr(args, "handler", None) or args.func  # record commands set ``func``
        return int(handler(args, out))
    except UsageError as error:
        print(f"mc-console: error: {error}", file=sys.stderr)
        return error.status


def _window(args: argparse.Namespace) -> int:
    """``mc-console`` with no command: the window, or ``--screenshot``'s picture of it. A wrong
    ``--driver`` is refused here, before any window opens."""
    if args.gui_driver is not None:
        check_window_driver(args.gui_driver, screenshot=bool(args.screenshot))
    from console.ui.app import run_gui, take_screenshot

    if args.screenshot:
        after = 60.0 if args.after is None else args.after
        if after < 0:
            raise UsageError("--after must be zero or more seconds")
        return take_screenshot(
            Path(args.screenshot), args.gui_protocol or "lifting", after, driver_id=args.gui_driver
        )
    given = [
        flag
        for flag, value in (("--protocol", args.gui_protocol), ("--after", args.after))
        if value is not None
    ]
    if given:
        # Silently opening the window without them would look like they were honoured.
        raise UsageError(
            f"{' and '.join(given)} only go with --screenshot (in the window, choose the "
            "protocol at the application stage); for a headless treatment use "
            "'mc-console run --protocol ID'"
        )
    return run_gui(args.gui_driver, db_url=args.gui_db)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mc-console",
        description="Microcurrent Console: run microcurrent facial treatments, "
        "on a real machine or the simulated one.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log plugin loading and hooks")
    parser.add_argument(
        "--screenshot",
        metavar="PATH",
        help="run a protocol on the simulated machine on a fast clock, save a PNG of the window, exit",
    )
    parser.add_argument(
        "--protocol",
        dest="gui_protocol",
        metavar="ID",
        help="with --screenshot: the protocol to show (default lifting)",
    )
    parser.add_argument(
        "--after",
        type=float,
        metavar="SECONDS",
        help="with --screenshot: treatment seconds to run before the picture (default 60)",
    )
    parser.add_argument(
        "--db",
        dest="gui_db",
        metavar="URL",
        help="records database: sqlite:///PATH or postgresql://USER@HOST/DB (keep the password "
        "out of the URL: ~/.pgpass or PGPASSWORD); default: SQLite in your data folder",
    )
    parser.add_argument(
        "--driver",
        dest="gui_driver",
        metavar="ID",
        help="machine to connect at start (at the port last used with it in the machine "
        "picker); with --screenshot, the simulated machine to picture",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    plugins = commands.add_parser("plugins", help="list plugins, what they register, and failures")
    plugins.set_defaults(handler=cmd_plugins)

    protocols = commands.add_parser("protocols", help="list protocols, or show one")
    protocols.add_argument("action", nargs="?", choices=["show"], help="show one protocol")
    protocols.add_argument("protocol_id", nargs="?", metavar="ID", help="protocol to show")
    protocols.set_defaults(handler=cmd_protocols)

    run = commands.add_parser(
        "run", help="run a whole treatment headless and print what it delivered"
    )
    run.add_argument(
        "--protocol", metavar="ID", help="protocol id (see 'protocols'); a scenario names its own"
    )
    run.add_argument(
        "--driver", default="simulator", metavar="ID", help="driver id (default: simulator)"
    )
    run.add_argument("--port", help="serial port or pyserial URL, for machines on a port")
    run.add_argument(
        "--speed",
        default="1",
        metavar="FACTOR",
        help="clock speed for the simulated machine: 1 = real time, 60 = a minute a second, "
        f"'max' = as fast as the computer can; at least {MIN_SPEED:g} (ten times slower than "
        "real time) (default 1)",
    )
    run.add_argument(
        "--inject",
        action="append",
        default=[],
        metavar="FAULT@SECONDS[+DURATION]",
        help="simulate a fault, e.g. contact_loss@90+5 or disconnect@12:30 (repeatable)",
    )
    run.add_argument(
        "--resume-after",
        type=float,
        default=None,
        metavar="SECONDS",
        help="after a pause (e.g. contact lost), resume by itself this many treatment seconds "
        "later, as an operator would once the probe is back (default: ask on a terminal)",
    )
    run.add_argument(
        "--max-pause",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="stop the session when it has stayed paused this many treatment seconds with "
        "nobody resuming it (default 120; at --speed 60, two seconds of wall time)",
    )
    run.add_argument(
        "--reapply-gel",
        action="store_true",
        help="when the console says the contact is getting poor, re-apply gel as an operator "
        "would (output paused 15 s, then resumed); simulated machine only. On a terminal, "
        "type g and Enter to re-apply gel yourself",
    )
    run.add_argument(
        "--leave-out",
        action="append",
        default=[],
        metavar="ACTION",
        help="with --scenario: the scripted trainee forgets this action, to show what happens "
        f"without it ({', '.join(a.value for a in OperatorAction)}; repeatable)",
    )
    run.add_argument("--sample-rate", type=float, default=None, metavar="HZ", help="simulator S/s")
    run.add_argument(
        "--seed", type=int, default=None, help="simulator noise seed (repeatable runs)"
    )
    run.add_argument(
        "--scenario",
        metavar="ID",
        help="play a training scenario (its protocol, faults and client); see 'scenarios'",
    )
    run.add_argument(
        "--scenarios-dir", metavar="DIR", help="a folder of the trainer's own scenario files"
    )
    run.add_argument(
        "--db",
        metavar="URL",
        help="record the session in this records database (SQLAlchemy URL; default with "
        "--client: the SQLite file in your data folder)",
    )
    run.add_argument("--client", metavar="NAME", help="record the session for this client")
    run.add_argument(
        "--practitioner", default="", metavar="NAME", help="who runs it (named in the record)"
    )
    add_user_option(run)  # the account that records it, once the records have accounts
    run.set_defaults(handler=cmd_run)
    scenarios = commands.add_parser("scenarios", help="list the training scenarios")
    scenarios.add_argument(
        "--scenarios-dir",
        metavar="DIR",
        help="also list the scenario files (TOML) in this folder of the trainer's own",
    )
    scenarios.set_defaults(handler=cmd_scenarios)
    add_record_commands(commands)  # sessions, report
    add_rights_commands(commands)  # accounts, audit, client
    return parser


# -- plugins -----------------------------------------------------------------------------------


def cmd_plugins(args: argparse.Namespace, out: TextIO) -> int:
    """``mc-console plugins``."""
    settings = read_plugin_settings()
    if settings.warning:
        print(f"mc-console: warning: {settings.warning}", file=sys.stderr)
    host = load_plugins(blocked=settings.disabled)
    earlier = installed_failures(host)
    failed_earlier = {failure.name for failure in earlier}
    rows = []
    for record in host.records.values():
        status = "blocked" if record.blocked else ("FAILED" if record.error else "active")
        if status == "active" and record.name in failed_earlier:
            status = "active (FAILED in a session)"
        rows.append(
            [
                record.name,
                record.version or "-",
                record.origin,
                record.api_version or "-",
                status,
                ", ".join(record.drivers) or "-",
                ", ".join(record.protocols) or "-",
            ]
        )
    print(
        format_table(
            ["plugin", "version", "origin", "API", "status", "drivers", "protocols"], rows
        ),
        file=out,
    )
    problems = [(r.name, r.error) for r in host.records.values() if r.error]
    refused = [(r.name, item) for r in host.records.values() for item in r.refused]
    if problems:
        print("\nFailed plugins:", file=out)
        for name, reason in problems:
            print(f"  {name}: {reason}", file=out)
    if earlier:
        # Observer hooks run only during sessions, so their failures were met by another run.
        print("\nFailed during a session (switched off for the rest of that run):", file=out)
        for failure in earlier:
            when = failure.at.replace("T", " ")
            print(f"  {failure.name} {failure.version}, {when}: {failure.reason}", file=out)
    if refused:
        print("\nRefused or adjusted items:", file=out)
        for name, item in refused:
            print(f"  {name}: {item}", file=out)
    if settings.disabled:
        print(
            f"\nDisabled in {settings.path} (Help ▸ Plugins… in the console): "
            + ", ".join(sorted(settings.disabled)),
            file=out,
        )
    if host.drivers:
        print("\nDrivers:", file=out)
        for info in host.drivers.values():
            kind = "simulated" if info.simulated else info.transport.value
            print(
                f"  {info.id}: {info.vendor} {info.model} ({kind}); {info.capabilities.describe()}",
                file=out,
            )
    return EXIT_FINISHED


# -- protocols ---------------------------------------------------------------------------------


def cmd_protocols(args: argparse.Namespace, out: TextIO) -> int:
    """``mc-console protocols [show ID]``."""
    host = load_plugins()
    _note_failures(host)
    if args.action == "show" or args.protocol_id:
        if not args.protocol_id:
            raise UsageError("'protocols show' needs a protocol id")
        _print_protocol(_protocol(host, args.protocol_id), out)
        return EXIT_FINISHED
    rows = [
        [
            p.id,
            p.name,
            p.category,
            str(len(p.steps)),
            format_duration(p.duration_s),
            p.series.describe(),
        ]
        for p in sorted(host.protocols.values(), key=lambda p: p.id)
    ]
    print(
        format_table(["id", "name", "category", "steps", "time", "recommended series"], rows),
        file=out,
    )
    return EXIT_FINISHED


def _print_protocol(protocol: Protocol, out: TextIO) -> None:
    zones = zone_catalog()
    print(f"{protocol.name}  [{protocol.id} v{protocol.version}, {protocol.category}]", file=out)
    print(protocol.description, file=out)
    rows = []
    for number, step in enumerate(protocol.steps, start=1):
        wf = step.waveform
        polarity = (
            f"alt/{wf.reversal_interval_s:g}s"
            if wf.polarity.value == "alternating"
            else wf.polarity.value
        )
        rows.append(
            [
                str(number),
                zones[step.zone].name if step.zone in zones else step.zone,
                wf.shape.value,
                f"{wf.frequency_hz:g}",
                f"{wf.current_ua:g}",
                polarity,
                f"{wf.ramp_s:g}",
                format_duration(step.duration_s),
                step.technique,
            ]
        )
    print(
        format_table(
            ["#", "zone", "wave", "Hz", "µA", "polarity", "ramp s", "time", "technique"],
            rows,
            right_align={0, 3, 4, 6, 7},
            wrap={8: 48},
        ),
        file=out,
    )
    print(
        f"Total {format_duration(protocol.duration_s)}, planned charge "
        f"{protocol.planned_charge_uc:,.0f} µC. Series: {protocol.series.describe()}.",
        file=out,
    )
    notes = comfort_notes(protocol)
    if notes:
        print("Notes:", file=out)
        for note in notes:
            print(f"  - {note}", file=out)


# -- run ---------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    """``mc-console run``: a whole treatment, headless."""
    if args.resume_after is not None and not args.resume_after >= 0:
        raise UsageError(f"--resume-after {args.resume_after:g} must be zero or more seconds")
    if not args.max_pause > 0:
        raise UsageError(f"--max-pause {args.max_pause:g} must be above 0 seconds")
    scenario = _scenario(args) if args.scenario else None
    if scenario is None and not args.protocol:
        raise UsageError("give --protocol ID (or --scenario ID)")
    if scenario is not None:
        check_scenario_protocol(args.protocol, scenario.id, scenario.protocol)
    args.leave_out = _actions_left_out(args.leave_out, scenario)
    host = load_plugins()
    _note_failures(host)
    protocol = _protocol(host, args.protocol or scenario.protocol)  # type: ignore[union-attr]
    if args.driver not in host.drivers:
        known = ", ".join(sorted(host.drivers)) or "none (is the package installed?)"
        raise UsageError(f"unknown driver {args.driver!r}; known drivers: {known}")
    check_port(host, args.driver, args.port)
    speed = _speed(args.speed)
    options: dict[str, object] = {}
    if args.sample_rate is not None:
        options["sample_rate_hz"] = args.sample_rate
    if args.seed is not None:
        options["seed"] = args.seed
    if scenario is not None and scenario.skin is not None:
        options["skin"] = scenario.skin
    console = Console(host)
    try:
        console.connect(args.driver, args.port, speed, **options)
    except ConsoleError as error:
        raise UsageError(str(error)) from None
    started_failed = {record.name for record in host.failures}
    try:
        return _run_connected(args, console, protocol, scenario, out)
    finally:
        console.disconnect()  # the session's events (plugin hooks too) were delivered by now
        _note_session_failures(host, started_failed)


def _run_connected(
    args: argparse.Namespace,
    console: Console,
    protocol: Protocol,
    scenario: Scenario | None,
    out: TextIO,
) -> int:
    """The treatment on the machine ``console`` has connected, to its end."""
    assert console.connection is not None
    info = console.connection.info
    faults = _faults(args.inject, console.driver)
    check_fault_times(faults, protocol)
    if scenario is not None:
        if not isinstance(console.driver, FaultInjector):
            raise UsageError("a scenario plays on the simulated machine")
        faults += list(scenario.faults)
        print(
            f"Scenario: {scenario.title}\nTeaching goal: {scenario.goal}\n"
            f"The trainee must: {scenario.trainee_action}",
            file=out,
        )
        for action in sorted(args.leave_out):
            print(f"  The scripted trainee forgets to {action.describe}.", file=out)
        if args.resume_after is None and OperatorAction.RESUME not in args.leave_out:
            args.resume_after = scenario.resume_after_s
    orders = _operator_orders(args, console, scenario)
    printer = ProgressPrinter(out, protocol, live=out.isatty())
    try:
        engine = console.new_session(
            protocol,
            scenario.screening().evaluate() if scenario else _screening(args, console, out),
            subscribers=(printer,),
        )
    except PreflightError as error:
        if scenario is not None:
            print(f"The application stage is refused: {error}", file=out)
            return _judge_scenario(scenario, "refused", None, out, None)
        raise UsageError(str(error)) from None
    except (ConsoleError, DriverError) as error:
        raise UsageError(f"could not connect to {info.name}: {error}") from None
    actions = ActionLog()
    engine.subscribe(actions)
    scripted = ScriptedOperator(
        orders,
        reapply_gel=lambda: console.reapply_gel(engine),
        resume=engine.resume,
        adjust_intensity=engine.adjust_intensity,
        client=console.simulated_client,
        log=actions,
        say=lambda text: print(f"  {text}", file=out, flush=True),
    )
    engine.subscribe(scripted)
    reactions = _watch_client(scenario, protocol, engine, scripted, out) if scenario else None
    assert engine.identity is not None
    recorder = _recorder(args, engine, out)
    mode = (
        "SIMULATION"
        if info.simulated
        else "EMULATED MACHINE (no current)"
        if engine.simulated
        else "REAL MACHINE"
    )
    print(
        f"{mode}: {engine.identity.describe()} — {protocol.name}, {len(protocol.steps)} steps, "
        f"{format_duration(protocol.duration_s)} at speed {args.speed}",
        file=out,
    )
    try:
        operator = HeadlessOperator(console, engine, args.resume_after, args.max_pause, out)
    except PreflightError as error:
        raise UsageError(f"--resume-after: {error}") from None
    for fault in faults:
        print(f"  planned fault: {fault.describe()}", file=out)
    with stop_signals():  # from here a signal turns the output off before anything else
        try:
            console.start_session(engine, recorder=recorder, faults=faults)
        except StoreUnavailableError as error:
            if recorder is not None:
                recorder.close(0)
                recorder.store.close()
            raise UsageError(
                f"the session cannot be recorded, so it does not start: {error}"
            ) from None
        signalled = _attend(engine, operator, out)
        if signalled is not None:
            printer.finish()
            what = "emergency stop" if signalled.signum == signal.SIGINT else "session stopped"
            print(f"\n{signalled.name}: {what}, output off.", file=out, flush=True)
            engine.wait(5.0)
        engine.close()
        if recorder is not None:
            _finish_records(recorder, out)
    summary = engine.summary()
    printer.finish()
    _print_summary(summary, out)
    if recorder is not None and recorder.session is not None:
        _say_recorded(recorder.session.session_id, out)
    if signalled is not None:
        return signalled.exit_status
    if scenario is not None:
        return _judge_scenario(scenario, outcome_of(summary), summary, out, reactions, actions)
    return EXIT_FINISHED if summary.state is EngineState.FINISHED else EXIT_NOT_FINISHED


def _attend(engine: TreatmentEngine, operator: HeadlessOperator, out: TextIO) -> StopSignal | None:
    """Wait for the session's end, answering the operator at the terminal; end it early (output
    off first) on a stop signal, or when nobody reads the output any more (``| head``).
    Returns the signal that stopped it, if one did."""
    try:
        while not engine.wait(0.05):
            operator.poll()
            if getattr(out, "broken", False):
                engine.stop(
                    SafetyKind.OPERATOR_STOP,
                    "The output of mc-console run was closed (its reader went away), so the "
                    "session was stopped. Output is off.",
                )
                say("mc-console: the output was closed, so the session was stopped (output off).")
                engine.wait(5.0)
                return None
    except KeyboardInterrupt:  # where no handler could be set (not the main thread)
        engine.emergency_stop()
        return StopSignal(signal.SIGINT)
    except StopSignal as signalled:
        if signalled.signum == signal.SIGINT:
            engine.emergency_stop()  # output off first, then everything else
        else:
            engine.stop(
                SafetyKind.OPERATOR_STOP,
                f"Stopped by {signalled.name}: mc-console was asked to end. Output is off.",
            )
        return signalled
    return None


def _say_recorded(session_id: str, out: TextIO) -> None:
    """The recorded session's id, and how to make its report (ids are found by their start)."""
    short = session_id[:8]
    print(
        f"Recorded as session {short} (a PDF report: mc-console report {short} --pdf FILE, "
        "with the same --db if you gave one).",
        file=out,
    )


def _actions_left_out(names: list[str], scenario: Scenario | None) -> frozenset[OperatorAction]:
    """``--leave-out`` checked: known actions, and only with a scenario that expects them."""
    if not names:
        return frozenset()
    if scenario is None:
        raise UsageError("--leave-out is for a training scenario (give --scenario ID)")
    left_out = set()
    for name in names:
        try:
            left_out.add(OperatorAction(name))
        except ValueError:
            known = ", ".join(a.value for a in OperatorAction)
            raise UsageError(f"--leave-out {name!r} is not an action; actions: {known}") from None
    strays = sorted(a.value for a in left_out if a not in scenario.expect_actions)
    if strays:
        expected = ", ".join(a.value for a in scenario.expect_actions) or "none"
        raise UsageError(
            f"--leave-out {', '.join(strays)}: the scenario does not expect it (its actions: "
            f"{expected})"
        )
    return frozenset(left_out)


def _scenario(args: argparse.Namespace) -> Scenario:
    scenarios, problems = load_scenarios(check_scenarios_dir(args.scenarios_dir))
    for problem in problems:
        print(f"mc-console: warning: scenario skipped: {problem}", file=sys.stderr)
    scenario = scenarios.get(args.scenario)
    if scenario is None:
        known = ", ".join(sorted(scenarios)) or "none"
        raise UsageError(f"unknown scenario {args.scenario!r}; known scenarios: {known}")
    return scenario


def _operator_orders(
    args: argparse.Namespace, console: Console, scenario: Scenario | None
) -> frozenset[OperatorAction]:
    """What the scripted operator does: a scenario's expected actions (less those left out),
    or re-applying gel when asked with ``--reapply-gel``."""
    if scenario is not None:
        return frozenset(scenario.expect_actions) - args.leave_out
    if not args.reapply_gel:
        return frozenset()
    if console.simulated_client is None:
        raise UsageError(
            "--reapply-gel is for the simulated machine: on a client, the practitioner re-applies "
            "gel (type g and Enter on a terminal to record it)"
        )
    return frozenset({OperatorAction.REAPPLY_GEL, OperatorAction.RESUME})


def _watch_client(
    scenario: Scenario,
    protocol: Protocol,
    engine: TreatmentEngine,
    scripted: ScriptedOperator,
    out: TextIO,
) -> ClientReactions | None:
    """The scenario client's reactions, and the scripted operator's answer to a twitch: lower
    the intensity to the client's threshold at once (what the trainee should do)."""

    def twitched(reaction: Reaction) -> None:
        print(f"  CLIENT: {reaction.message}", file=out, flush=True)
        assert scenario.twitch_above_ua is not None
        scripted.client_twitched(reaction.current_ua, reaction.target_ua, scenario.twitch_above_ua)

    reactions = scenario.client_reactions(protocol, twitched)
    if reactions is not None:
        engine.subscribe(reactions)
    return reactions


def _judge_scenario(
    scenario: Scenario,
    outcome: str,
    summary: SessionSummary | None,
    out: TextIO,
    reactions: ClientReactions | None = None,
    actions: ActionLog | None = None,
) -> int:
    """The events the trainee had to handle, what they did, and whether the scenario played
    as designed."""
    start = summary.started_at_s if summary else 0.0
    handled = [
        (event.at_s, f"{event.kind.value}: {event.message}")
        for event in (summary.events if summary else ())
        if event.kind.value not in ACTION_EVENTS  # the trainee's own actions, listed below
    ] + [
        (r.at_s, f"client {r.kind}: {r.message}")
        for r in (reactions.reactions if reactions else [])
    ]
    print("\nEvents the trainee had to handle:", file=out)
    for at_s, text in sorted(handled, key=lambda item: item[0]):
        print(f"  [{format_duration(at_s - start)}] {text}", file=out)
    if not handled:
        print("  none" if outcome != "refused" else "  the refusal at consultation", file=out)
    if actions is not None and actions.taken:
        print("What the trainee did:", file=out)
        for taken in actions.taken:
            detail = f" ({taken.detail})" if taken.detail else ""
            print(
                f"  [{format_duration(taken.at_s - start)}] {taken.action.describe}{detail}",
                file=out,
            )
    problems = scenario.judge(outcome, summary, reactions, actions)
    if problems:
        print("Scenario did NOT play as designed: " + "; ".join(problems), file=out)
        return EXIT_NOT_FINISHED
    print(f"Scenario played as designed (outcome: {outcome}).", file=out)
    return EXIT_FINISHED


def cmd_scenarios(args: argparse.Namespace, out: TextIO) -> int:
    """``mc-console scenarios``: the training scenarios, and any file that is broken."""
    scenarios, problems = load_scenarios(check_scenarios_dir(args.scenarios_dir))
    rows = [
        [
            s.id,
            s.protocol,
            s.expect_outcome,
            ", ".join([*s.expect_events, *(f"client {r}" for r in s.expect_reactions)]) or "-",
            s.title,
        ]
        for s in scenarios.values()
    ]
    print(format_table(["id", "protocol", "outcome", "events", "title"], rows), file=out)
    for problem in problems:
        print(f"broken scenario file: {problem}", file=out)
    return EXIT_FINISHED if not problems else EXIT_NOT_FINISHED


class HeadlessOperator:
    """The operator at a terminal during a headless session.

    The engine never resumes by itself (safety rule 3). On a terminal the user presses Enter to
    resume a pause, and types ``g`` and Enter to re-apply gel (the output pauses while they do).
    The standing orders — ``--resume-after`` (a trainer's scripted operator, simulated machine
    only) and ``--max-pause`` (a pause nobody ends stops the session, so a headless run never
    waits forever) — are given to the engine, which applies them on its own clock: exact at any
    speed, where polling from here would lag by many simulated seconds.
    """

    def __init__(
        self,
        console: Console,
        engine: TreatmentEngine,
        resume_after_s: float | None,
        max_pause_s: float,
        out: TextIO,
    ) -> None:
        self.console = console
        self.engine = engine
        self.out = out
        self.interactive = sys.stdin is not None and sys.stdin.isatty()
        self._prompted = False
        engine.set_pause_policy(resume_after_s, max_pause_s)
        if self.interactive:
            print("  Type g and Enter to re-apply gel; Ctrl-C stops the output.", file=out)

    def poll(self) -> None:
        """Called a few times a second from the main thread: a line typed is an action."""
        paused = self.engine.state is EngineState.PAUSED
        if not paused:
            self._prompted = False
        elif self.interactive and not self._prompted:
            print(
                "  Press Enter to resume (ramps up from zero), g and Enter to re-apply gel, or "
                "Ctrl-C for an emergency stop.",
                file=self.out,
                flush=True,
            )
            self._prompted = True
        line = self._line_typed() if self.interactive else None
        if line is None:
            return
        if line.strip().lower() == "g":
            self.console.reapply_gel(self.engine)
        elif paused and not line.strip():
            self.engine.resume()

    @staticmethod
    def _line_typed() -> str | None:
        import select

        readable, _, _ = select.select([sys.stdin], [], [], 0)
        return sys.stdin.readline() if readable else None


def _recorder(args: argparse.Namespace, engine: TreatmentEngine, out: TextIO):  # type: ignore[no-untyped-def]
    """A recorder into the records database when ``--db`` or ``--client`` asks for one."""
    if args.db is None and not args.client:
        return None
    from console.records.opening import open_records
    from console.records.recorder import RecordsTrouble, SessionRecorder
    from console.records.store import FieldError, RecordError

    practitioner = args.practitioner.strip() or "headless run"
    try:
        opened = open_records(args.db)
        for message in opened.messages():
            print(f"RECORDS: {message}", file=out)
    except (RecordError, FieldError) as error:
        raise UsageError(f"records database: {error}") from None
    store = opened.store
    try:
        # Signed in already to read a real machine's screening (None: records without accounts)
        who = getattr(args, "signed_in", None)
        if (args.client or args.user) and not hasattr(args, "signed_in"):
            who = _sign_in_for_run(store, args)  # with accounts, a client's session needs one
        recorded_as = who or practitioner
        # (the session's row, written as it begins, puts its change in the audit trail)
        client_id = store.client_named(args.client, recorded_as) if args.client else None
    except (RecordError, FieldError) as error:
        store.close()
        raise UsageError(f"records database: {error}") from None
    except UsageError:  # a sign-in refused
        store.close()
        raise

    def trouble(trouble: RecordsTrouble) -> None:
        if not trouble.must_stop:
            print(f"RECORDS: {trouble.message}", file=out, flush=True)
            return
        # Safety rule 7 cannot be kept: end the treatment (output off) and say why.
        print(
            f"RECORDS: {trouble.message} Stopping the session (output off).", file=out, flush=True
        )
        engine.stop(
            SafetyKind.RECORDS_FAILURE,
            f"The records could not be saved: {trouble.message} Output is off; the session "
            "was ended so that nothing goes unrecorded.",
        )

    def recovered() -> None:
        print("RECORDS: the records database takes writes again.", file=out, flush=True)

    return SessionRecorder(
        store, recorded_as, client_id, on_trouble=trouble, on_recovered=recovered
    )


def _screening(args: argparse.Namespace, console: Console, out: TextIO) -> ScreeningResult | None:
    """For a machine that can deliver current: the ``--client``'s screening recorded today
    (safety rule: screened before output), or a usage error saying what is missing. None for
    the simulator and an emulator, which deliver no current."""
    assert console.connection is not None
    if console.connection.info.simulated or getattr(console.driver, "emulated", False) is True:
        return None
    if not args.client:
        raise UsageError(
            "a real machine needs a completed contraindication screening: screen the client "
            "in the window (Consultation), then give --client NAME to treat them with this "
            "command today"
        )
    from console.records.screening_on_record import NotScreenedError, screening_on_record
    from console.records.store import RecordError, RecordStore

    try:
        # Only read here: the journals are written in, once, when the recorder opens them.
        store = RecordStore(args.db, create=False)
    except (RecordError, OSError) as error:
        raise UsageError(f"records database: {error}") from None
    try:
        # With accounts, nothing of the client is read before the account has signed in (once:
        # the recorder reuses it), and the read is in the audit trail.
        args.signed_in = _sign_in_for_run(store, args)
        client_id, result = screening_on_record(store, args.client)
        from console.records import audit

        audit.record(store, args.signed_in, audit.VIEW, [client_id], "screening read for a run")
    except NotScreenedError as error:
        raise UsageError(str(error)) from None
    except RecordError as error:
        raise UsageError(f"records database: {error}") from None
    finally:
        store.close()
    print(f"Screening: {args.client}, recorded today, clears the treatment.", file=out)
    return result


def _sign_in_for_run(store: RecordStore, args: argparse.Namespace) -> SignedIn | None:
    """The ``--user`` account signed in to record (None: records without accounts). A refusal
    is said in one line with exit status 4."""
    from console.records.cli_signin import signed_in_for
    from console.records.errors import AccessRefusedError, FieldError
    from console.records.signed_in import Permission

    try:
        return signed_in_for(store, args.user, Permission.WRITE_RECORDS)
    except AccessRefusedError as error:
        raise RefusedError(f"refused: {error}") from None
    except FieldError as error:
        raise UsageError(str(error)) from None


def _finish_records(recorder: SessionRecorder, out: TextIO) -> None:
    """Give the database a few seconds for what is left, then say where anything unwritten
    is: in the journal (written in at the next start) or, if that failed too, lost. The
    database is let go either way (a process running many sessions keeps no connections)."""
    written = recorder.close(RECORDS_GRACE_S)
    recorder.store.close()
    if written:
        return
    kept = recorder.unwritten - recorder.unjournaled
    if kept and recorder.journal_path is not None:
        print(
            f"RECORDS: {kept} record(s) of this session are not in the records database yet. "
            f"They are kept in the local journal ({recorder.journal_path}) and written into the "
            "database the next time mc-console opens it (any command with the same --db).",
            file=out,
        )
    if recorder.unjournaled:
        print(
            f"WARNING: {recorder.unjournaled} record(s) of this session could not be saved "
            "(neither the records database nor the local journal could be written).",
            file=out,
        )


def _speed(speed: str) -> float:
    """``--speed``: a pace (1 = real time) or ``max`` (0: as fast as the computer can). The
    clock it makes is the console's choice (:meth:`Console.connect`), as in the window."""
    if speed == "max":
        return 0.0
    try:
        factor = float(speed)
    except ValueError:
        raise UsageError(f"--speed {speed!r} is not a number or 'max'") from None
    if not MIN_SPEED <= factor <= MAX_SPEED:
        raise UsageError(f"--speed {speed!r} must be from {MIN_SPEED:g} to {MAX_SPEED:g}, or 'max'")
    return factor


def _faults(specs: list[str], driver: object) -> list[FaultSpec]:
    if not specs:
        return []
    if not isinstance(driver, FaultInjector):
        raise UsageError("--inject needs a simulated machine; this driver cannot simulate faults")
    try:
        return [parse_fault_spec(spec, driver.fault_names) for spec in specs]
    except ValueError as error:
        raise UsageError(str(error)) from None


def _protocol(host: PluginHost, protocol_id: str) -> Protocol:
    protocol = host.protocols.get(protocol_id)
    if protocol is None:
        known = ", ".join(sorted(host.protocols)) or "none (is the package installed?)"
        raise UsageError(f"unknown protocol {protocol_id!r}; known protocols: {known}")
    return protocol


def _note_failures(host: PluginHost) -> None:
    failed = host.failures
    if failed:
        names = ", ".join(record.name for record in failed)
        print(
            f"mc-console: note: {len(failed)} plugin(s) disabled ({names}); "
            "see 'mc-console plugins'",
            file=sys.stderr,
        )
    for problem in broken_packs(host):  # a trainer's file: say what to fix, and where
        print(f"mc-console: warning: protocol pack skipped: {problem}", file=sys.stderr)


def _note_session_failures(host: PluginHost, known: set[str]) -> None:
    """Say (and remember for 'mc-console plugins') each plugin switched off during the run."""
    failed = failures_since(host, known)
    for record in failed:
        print(
            f"mc-console: warning: plugin {record.name} was switched off during the session "
            f"({record.error}); see 'mc-console plugins'",
            file=sys.stderr,
        )
    remember_failures(failed)


def _print_summary(summary: SessionSummary, out: TextIO) -> None:
    print(f"\nSession {summary.state.value}: {summary.reason}", file=out)
    rows = zone_summary_rows(summary)
    print(
        format_table(ZONE_SUMMARY_HEADERS, rows, right_align={1, 2, 3, 4, 5}),
        file=out,
    )
    if summary.events:
        print("Safety events:", file=out)
        for event in summary.events:
            at = format_duration(event.at_s - summary.started_at_s)
            print(f"  [{at}] {event.kind.value}: {event.message}", file=out)
    else:
        print("Safety events: none", file=out)


class ProgressPrinter:
    """Prints step changes and safety events as they happen, plus a live line on a terminal."""

    def __init__(self, out: TextIO, protocol: Protocol, live: bool) -> None:
        self.out = out
        self.protocol = protocol
        self.live = live
        self.zones = zone_catalog()
        self._origin: float | None = None
        self._live_shown = False

    def __call__(self, event: EngineEvent) -> None:
        if isinstance(event, StepStarted):
            self._line(
                event.at_s,
                f"step {event.index + 1}/{len(self.protocol.steps)} "
                f"{self._zone(event.zone)}: {event.step.technique}",
            )
        elif isinstance(event, SafetyEventRaised):
            self._line(event.event.at_s, f"SAFETY {event.event.kind.value}: {event.event.message}")
        elif isinstance(event, StateChanged) and event.state is EngineState.PAUSED:
            self._line(event.at_s, f"paused: {event.reason}")
        elif isinstance(event, StateChanged) and event.previous is EngineState.PAUSED:
            self._line(event.at_s, event.reason)
        elif isinstance(event, Progress) and self.live:
            impedance = f"{event.impedance_kohm:.1f} kΩ" if event.impedance_kohm else "—"
            text = (
                f"\r  {event.setpoint_ua:5.0f}/{event.target_ua:.0f} µA  contact {impedance:>9}  "
                f"step left {format_duration(event.step_remaining_s)}  "
                f"session left {format_duration(event.session_remaining_s)}"
            )
            self.out.write(text)
            self.out.flush()
            self._live_shown = True

    def finish(self) -> None:
        """End the live line."""
        if self._live_shown:
            self.out.write("\n")
            self._live_shown = False

    def _line(self, at_s: float, text: str) -> None:
        if self._origin is None:
            self._origin = at_s
        self.finish()
        print(f"[{format_duration(at_s - self._origin)}] {text}", file=self.out, flush=True)

    def _zone(self, zone_id: str) -> str:
        zone = self.zones.get(zone_id)
        return zone.name if zone else zone_id


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
