"""The wire checker (``python -m device_drivers.wire_check``) against the emulators.

It passes every check against both emulators (pty, and TCP), fails naming the right section
against an emulator patched to deviate, and runs as a command: exit 0 on a conforming machine,
2 with one sentence for a port that does not exist.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from console.engine.clock import RealClock
from device_drivers.emulator import EmulatorServer, make_emulator
from device_drivers.firmware import Command, Op, Refusal, Reply
from device_drivers.framed_protocol import NackReason
from device_drivers.wire_check import framed, scpi
from device_drivers.wire_check.link import Link
from device_drivers.wire_check.runner import Outcome, Result, run_checks

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[1]
#: A low sample rate: the checks are about answers, and the emulator shares a busy CPU.
RATE_HZ = 200.0
MODULES = {"scpi": scpi, "framed": framed}
BENCHES = {"scpi": scpi.ScpiBench, "framed": framed.FramedBench}
#: Emulator deviations from its spec that the checker finds (reported in issue 16).
#: Checks an emulator is known to fail, by (protocol, check): none at present.
KNOWN_DEVIATIONS: dict[tuple[str, str], str] = {}


def start_emulator(protocol: str, tcp: bool = False) -> EmulatorServer:
    server = make_emulator(protocol, RealClock(), sample_rate_hz=RATE_HZ)
    if tcp:
        server.listen_tcp(0)
    else:
        server.open_pty()
    server.start()
    return server


def check_machine(protocol: str, port: str) -> tuple[list[Result], str]:
    """Run every check of ``protocol`` against ``port``; the results and the printed report."""
    link = Link(port)
    link.open()
    out = io.StringIO()
    results = run_checks(BENCHES[protocol](link), MODULES[protocol].CHECKS, out)
    return results, out.getvalue()


def _run_on_a_pty(protocol: str) -> tuple[dict[str, Result], str]:
    """One checker run against a fresh emulator on a pty: results by check name, the report."""
    server = start_emulator(protocol)
    try:
        results, report = check_machine(protocol, server.port)
    finally:
        server.stop()
    return {r.check.name: r for r in results}, report


@pytest.fixture(scope="module")
def scpi_run() -> tuple[dict[str, Result], str]:
    return _run_on_a_pty("scpi")


@pytest.fixture(scope="module")
def framed_run() -> tuple[dict[str, Result], str]:
    return _run_on_a_pty("framed")


def _cases() -> list:
    cases = []
    for protocol, module in MODULES.items():
        for item in module.CHECKS:
            marks = []
            reason = KNOWN_DEVIATIONS.get((protocol, item.name))
            if reason:
                marks.append(pytest.mark.xfail(strict=True, reason=reason))
            cases.append(
                pytest.param(protocol, item.name, marks=marks, id=f"{protocol}-{item.name}")
            )
    return cases


@pytest.mark.parametrize(("protocol", "name"), _cases())
def test_every_check_passes_against_the_emulator_on_a_pty(
    request: pytest.FixtureRequest, protocol: str, name: str
) -> None:
    results, report = request.getfixturevalue(f"{protocol}_run")
    result = results[name]
    assert result.outcome is Outcome.PASSED, report


@pytest.mark.parametrize("protocol", ["scpi", "framed"])
def test_the_report_names_each_section_and_ends_with_the_output_off(
    request: pytest.FixtureRequest, protocol: str
) -> None:
    results, report = request.getfixturevalue(f"{protocol}_run")
    for result in results.values():
        assert f"§{result.check.section}" in report and result.check.title in report
    assert report.rstrip().endswith("output-off sent at the end.")


def test_scpi_passes_every_check_over_tcp() -> None:
    server = start_emulator("scpi", tcp=True)
    try:
        results, report = check_machine("scpi", server.port)
    finally:
        server.stop()
    assert all(r.outcome is Outcome.PASSED for r in results), report
    assert len(results) == len(scpi.CHECKS)
    assert "ALL PASSED" in report


def test_framed_over_tcp_fails_only_on_the_known_deviation() -> None:
    server = start_emulator("framed", tcp=True)
    try:
        results, report = check_machine("framed", server.port)
    finally:
        server.stop()
    failed = {r.check.name for r in results if r.outcome is not Outcome.PASSED}
    assert failed == {name for proto, name in KNOWN_DEVIATIONS if proto == "framed"}, report


def failed_lines(report: str) -> list[str]:
    return [line for line in report.splitlines() if line.startswith("FAILED")]


def test_scpi_tags_answered_without_their_leading_zeros_fail_section_3_1() -> None:
    server = start_emulator("scpi")
    server.adapter._as_tagged = lambda body, seq: body  # "#0007 OUTP?" answered "#7 OFF"
    try:
        _results, report = check_machine("scpi", server.port)
    finally:
        server.stop()
    failed = failed_lines(report)
    assert failed == ["FAILED  §3.1   the answer carries the tag exactly as written (#0007)"], (
        report
    )
    written = re.search(r"'#(00\d\d) OUTP\?' answered '#(\d+) OFF', not '#00\d\d OFF'", report)
    assert written is not None and int(written[1]) == int(written[2]), report
    tag, number = written[1], written[2]
    assert f"> #{tag} OUTP?*" in report and f"< #{number} OFF*" in report  # the lines, both ways


def test_framed_unknown_types_never_nacked_fail_sections_3_and_9() -> None:
    server = start_emulator("framed")
    nack = server.adapter._nack

    def no_unknown_command(seq: int, reason: NackReason, text: str) -> bytes:
        return b"" if reason is NackReason.UNKNOWN_COMMAND else nack(seq, reason, text)

    server.adapter._nack = no_unknown_command
    try:
        _results, report = check_machine("framed", server.port)
    finally:
        server.stop()
    failed = failed_lines(report)
    assert "FAILED  §3     a valid frame of an unknown type: NACK UNKNOWN_COMMAND" in failed
    assert any(line.startswith("FAILED  §9 ") for line in failed), report
    assert "no ACK/NACK for type 0x7e" in report
    assert "> 05 7e" in report  # the frame sent, in hex with its delimiter


@pytest.mark.parametrize(
    ("protocol", "failure"),
    [
        ("scpi", "FAILED  §3.1   every command is answered exactly once, in the order received, "
                 "refusals too"),
        ("framed", "FAILED  §6     answers in the order received, refusals among accepted "
                   "commands too"),
    ],
)  # fmt: skip
def test_refusals_answered_after_the_commands_fail_the_order_check(
    protocol: str, failure: str
) -> None:
    """An emulator that answers what it refused after what it accepted (as it once did) fails
    the order check, and only that one."""
    server = start_emulator(protocol)
    feed = server.adapter.feed

    def refusals_last(data: bytes) -> list:
        return sorted(feed(data), key=lambda item: isinstance(item, Refusal))

    server.adapter.feed = refusals_last  # type: ignore[method-assign]
    try:
        _results, report = check_machine(protocol, server.port)
    finally:
        server.stop()
    assert failed_lines(report) == [failure], report


def test_scpi_output_off_taken_for_a_retry_fails_section_3_2() -> None:
    """A machine that answers a repeated 'OUTP OFF' from its memory without carrying it out
    (the §3.2 exception missed) fails the §3.2 check, with what OUTP? said."""
    server = start_emulator("scpi")
    firmware = server.firmware
    answered: dict[Command, Reply] = {}
    execute = firmware.execute

    def remembers_output_off(command: Command) -> Reply:
        if command.op is Op.OUTPUT_OFF and command in answered:
            return answered[command]  # taken for a retry: the output stays on
        answered[command] = reply = execute(command)
        return reply

    firmware.execute = remembers_output_off  # type: ignore[method-assign]
    try:
        _results, report = check_machine("scpi", server.port)
    finally:
        server.stop()
    failed = failed_lines(report)
    assert "FAILED  §3.2   OUTP OFF repeated under the same tag is carried out every time" in failed
    assert "taken for a retry and not carried out" in report
    assert not firmware.machine.output_on  # the checker turned it off in the end


def test_the_command_passes_against_the_emulator_command() -> None:
    emulator = subprocess.Popen(
        [sys.executable, "-m", "device_drivers.emulator", "--protocol", "scpi", "--pty"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert emulator.stdout is not None
        port = emulator.stdout.readline().strip()
        checker = subprocess.run(
            [
                sys.executable,
                "-m",
                "device_drivers.wire_check",
                "--protocol",
                "scpi",
                "--port",
                port,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=100,
        )
    finally:
        emulator.terminate()
        emulator.wait(10)
    assert checker.returncode == 0, checker.stdout + checker.stderr
    lines = checker.stdout.splitlines()
    assert lines[0] == f"wire check: scpi machine on {port}, against docs/protocols/scpi.md"
    assert "PASSED  §8.3   500 ms without a command" in checker.stdout
    assert lines[-1].startswith(f"ALL PASSED: {len(scpi.CHECKS)} checks, ")
    assert not failed_lines(checker.stdout)


def test_a_port_that_does_not_exist_is_a_usage_error_in_one_sentence() -> None:
    checker = subprocess.run(
        [
            sys.executable,
            "-m",
            "device_drivers.wire_check",
            "--protocol",
            "framed",
            "--port",
            "/dev/no-such-port",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checker.returncode == 2
    assert checker.stdout == ""
    assert checker.stderr.count("\n") == 1 and "Traceback" not in checker.stderr
    assert checker.stderr.startswith("wire_check: cannot open /dev/no-such-port")


def test_help_states_the_safety_rule() -> None:
    checker = subprocess.run(
        [sys.executable, "-m", "device_drivers.wire_check", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checker.returncode == 0
    text = " ".join(checker.stdout.split())
    assert "minimum current" in text and "output-off" in text and "Ctrl-C" in text
