"""The ``mc-console`` command line (``console/cli.py``), run in-process through ``main(argv)``.

Exit codes: 0 finished, 1 not finished, 2 a usage error (one line on stderr, no traceback),
130 Ctrl-C. Treatment runs use ``--speed max`` (a virtual clock) so each takes a second or two.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from console import cli
from console.engine.runner import TreatmentEngine
from console.plugins import load_plugins
from console.protocols import Protocol
from console.report import format_duration
from console.zones import zone_catalog
from support import BUILT_IN_DRIVERS

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL_PLUGINS = ["circulation", "lifting", "toning"]
#: Every protocol installed: the plugins' own and the shipped protocol pack.
PROTOCOL_IDS = ["circulation", "express-lift", "lifting", "toning"]
FAULTS = "contact_loss, short_circuit, disconnect, driver_error, over_current, stall, gel_dry, polarity_stuck"

Run = tuple[int, str, str]

# A run that never ends (a pause nobody ends) must fail the test, not hang the suite.
pytestmark = pytest.mark.timeout(60)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    """``main(argv)`` in-process: (exit status, stdout, stderr)."""
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def protocol(protocol_id: str) -> Protocol:
    return load_plugins().protocols[protocol_id]


def table_rows(text: str, header_start: str) -> list[list[str]]:
    """The rows of the fixed-width table whose header line starts with ``header_start``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    assert set(lines[start + 1].replace(" ", "")) == {"-"}, "a rule under the header"
    rows = []
    for line in lines[start + 2 :]:
        if not line.strip() or line.endswith(":") or line.startswith("Safety events"):
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


def summary_table(text: str) -> dict[str, list[str]]:
    """The per-zone summary of ``run``: zone name -> [duration, mean µA, charge µC, net µC,
    mean kΩ]."""
    header = next(line for line in text.splitlines() if line.startswith("zone "))
    assert re.split(r"\s{2,}", header.strip()) == [
        "zone",
        "duration",
        "mean µA",
        "charge µC",
        "net µC",
        "mean kΩ",
    ]
    return {row[0]: row[1:] for row in table_rows(text, "zone ")}


def number(cell: str) -> float:
    return float(cell.replace(",", ""))


def signed(cell: str) -> float:
    """A net-charge cell: ``+12.3``, ``−45.0`` (true minus) or ``0.0``."""
    return number(cell.replace("−", "-"))


def assert_one_error_line(err: str, expected: str) -> None:
    assert err.splitlines() == [f"mc-console: error: {expected}"]
    assert "Traceback" not in err


# -- plugins and protocols ---------------------------------------------------------------------


def test_plugins_lists_the_simulator_and_the_three_protocol_plugins(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run_cli(capsys, "plugins")
    assert status == cli.EXIT_FINISHED == 0
    assert err == ""
    rows = table_rows(out, "plugin ")
    assert re.split(r"\s{2,}", out.splitlines()[0]) == [
        "plugin",
        "version",
        "origin",
        "API",
        "status",
        "drivers",
        "protocols",
    ]
    by_name = {row[0]: row for row in rows}
    assert sorted(by_name) == sorted([*BUILT_IN_DRIVERS, *PROTOCOL_PLUGINS, "packs"])
    assert by_name["simulator"] == [
        "simulator",
        "0.1.0",
        "built-in",
        "1.1",
        "active",
        "simulator",
        "-",
    ]
    for name in PROTOCOL_PLUGINS:
        assert by_name[name] == [name, "0.1.0", "built-in", "1.1", "active", "-", name]
    assert by_name["packs"] == ["packs", "0.1.0", "built-in", "1.1", "active", "-", "express-lift"]
    assert "Failed plugins" not in out
    drivers = out.split("\nDrivers:\n", 1)[1]
    assert "\n  simulator: Microcurrent Console MC Simulator S-1 (simulated); " in "\n" + drivers
    assert "\n  framed: Microcurrent Console FX series (binary framed protocol) (serial); " in (
        "\n" + drivers
    )
    assert "10–1000 µA" in drivers


def test_protocols_lists_every_protocol_with_steps_time_and_series(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run_cli(capsys, "protocols")
    assert status == 0
    assert err == ""
    rows = table_rows(out, "id ")
    assert [row[0] for row in rows] == PROTOCOL_IDS
    for row in rows:
        expected = protocol(row[0])
        assert row == [
            expected.id,
            expected.name,
            expected.category,
            str(len(expected.steps)),
            format_duration(expected.duration_s),
            expected.series.describe(),
        ]
    assert {row[4] for row in rows} == {"19:00", "26:08", "17:40", "14:08"}


def test_protocols_show_lifting_prints_the_step_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run_cli(capsys, "protocols", "show", "lifting")
    assert status == 0
    assert err == ""
    lifting = protocol("lifting")
    lines = out.splitlines()
    assert lines[0] == f"Lifting  [lifting v{lifting.version}, lifting]"
    assert lines[1] == lifting.description
    header = re.split(r"\s{2,}", lines[2].strip())
    assert header == ["#", "zone", "wave", "Hz", "µA", "polarity", "ramp s", "time", "technique"]
    # Numbered rows only (wrapped technique lines continue the row above).
    numbered = [row for row in table_rows(out, " #  zone") if row[0].isdigit()]
    assert [int(row[0]) for row in numbered] == list(range(1, len(lifting.steps) + 1))
    zones = zone_catalog()
    for row, step in zip(numbered, lifting.steps, strict=True):
        wf = step.waveform
        assert row[1:8] == [
            zones[step.zone].name,
            wf.shape.value,
            f"{wf.frequency_hz:g}",
            f"{wf.current_ua:g}",
            f"alt/{wf.reversal_interval_s:g}s",
            f"{wf.ramp_s:g}",
            format_duration(step.duration_s),
        ]
        assert step.technique.startswith(row[8])
    assert (
        f"Total {format_duration(lifting.duration_s)}, planned charge "
        f"{lifting.planned_charge_uc:,.0f} µC." in out
    )
    assert "Neck, right and Neck, left: Side of the neck only" in out


def test_protocols_show_nosuch_fails_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(capsys, "protocols", "show", "nosuch")
    assert status == cli.EXIT_USAGE == 2
    assert out == ""
    assert_one_error_line(
        err,
        "unknown protocol 'nosuch'; known protocols: circulation, express-lift, lifting, toning",
    )


def test_protocols_show_without_an_id_fails_with_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run_cli(capsys, "protocols", "show")
    assert status == 2
    assert out == ""
    assert_one_error_line(err, "'protocols show' needs a protocol id")


# -- run ---------------------------------------------------------------------------------------


def test_run_toning_finishes_and_prints_a_per_zone_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run_cli(capsys, "run", "--protocol", "toning", "--speed", "max")
    assert status == cli.EXIT_FINISHED == 0
    assert err == ""
    toning = protocol("toning")
    assert out.startswith("SIMULATION: MC Simulator S-1")
    assert f"Toning, 12 steps, {format_duration(toning.duration_s)} at speed max" in out
    assert out.count("] step ") == len(toning.steps)
    assert "[0:00] step 1/12 Brow, right: " in out
    assert "\nSession finished: every step delivered\n" in out
    assert out.rstrip().endswith("Safety events: none")

    table = summary_table(out)
    zones = zone_catalog()
    assert list(table) == [zones[step.zone].name for step in toning.steps] + ["TOTAL"]
    for step in toning.steps:
        duration, mean_ua, charge_uc, net_uc, kohm = table[zones[step.zone].name]
        assert duration == format_duration(step.duration_s)
        assert number(charge_uc) == pytest.approx(step.planned_charge_uc, rel=0.02)
        assert abs(signed(net_uc)) <= 0.01 * number(charge_uc)  # biphasic: balanced
        assert number(mean_ua) == pytest.approx(step.planned_charge_uc / step.duration_s, rel=0.03)
        assert 20.0 < number(kohm) < 50.0  # two gelled probes on normal skin (Rosell 1988)
    total = table["TOTAL"]
    assert total[0] == format_duration(toning.duration_s)
    assert number(total[2]) == pytest.approx(toning.planned_charge_uc, rel=0.02)
    assert abs(signed(total[3])) <= 0.01 * number(total[2])


def test_contact_loss_without_an_operator_stops_after_max_pause(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run_cli(
        capsys,
        "run",
        "--protocol",
        "lifting",
        "--speed",
        "max",
        "--inject",
        "contact_loss@30",
        "--max-pause",
        "20",
    )
    assert status == cli.EXIT_NOT_FINISHED == 1
    assert err == ""
    assert "  planned fault: contact_loss at 30 s\n" in out
    assert "[0:30] SAFETY contact_lost: Contact lost" in out
    assert "[0:30] paused: Contact lost" in out
    # The engine applies --max-pause on its own clock: exact even at --speed max.
    assert "[0:50] SAFETY operator_stop: Paused for 20 s with nobody resuming" in out
    assert "resumed by the scripted operator" not in out
    assert "\nSession aborted: Paused for 20 s with nobody resuming: session stopped.\n" in out
    table = summary_table(out)
    assert list(table) == ["Forehead, right (cut short)", "TOTAL"]
    assert table["Forehead, right (cut short)"][0] == "0:30"
    safety = out.split("Safety events:\n", 1)[1]
    assert "] contact_lost: " in safety and "] operator_stop: " in safety


def test_contact_loss_with_resume_after_finishes(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(
        capsys,
        "run",
        "--protocol",
        "lifting",
        "--speed",
        "max",
        "--inject",
        "contact_loss@30+5",
        "--resume-after",
        "10",
    )
    assert status == 0
    assert err == ""
    assert "  planned fault: contact_loss at 30 s for 5 s\n" in out
    assert "[0:30] SAFETY contact_lost: " in out
    assert out.count("resumed by the scripted operator") == 1
    assert "[0:40] resumed by the scripted operator after 10 s: ramping up\n" in out
    assert "[2:10] step 2/12 " in out  # 30 s + 10 s paused + the remaining 90 s: exact
    assert "nobody resuming" not in out
    assert "\nSession finished: every step delivered\n" in out
    table = summary_table(out)
    assert "Forehead, right" in table  # delivered in full after the resume
    assert not any("cut short" in zone for zone in table)
    assert table["Forehead, right"][0] == "2:00"
    safety = out.split("Safety events:\n", 1)[1]
    assert [line.split("] ", 1)[1].split(":")[0] for line in safety.splitlines()] == [
        "contact_lost"
    ]


def test_a_disconnect_interrupts_the_session(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(
        capsys, "run", "--protocol", "toning", "--speed", "max", "--inject", "disconnect@20"
    )
    assert status == cli.EXIT_NOT_FINISHED
    assert status != 0
    assert err == ""
    assert "  planned fault: disconnect at 20 s\n" in out
    assert "\nSession interrupted: " in out
    assert "the session is interrupted" in out
    assert "SAFETY watchdog: The machine has not answered" in out
    # The console cannot reach the machine: it must not claim to know the output is off.
    watchdog = next(line for line in out.splitlines() if "SAFETY watchdog" in line)
    assert "cannot reach the machine to confirm that the output is off" in watchdog
    assert "lift the probes from the skin and switch the machine off" in watchdog
    assert "Output is off" not in watchdog
    table = summary_table(out)
    assert list(table) == ["Brow, right (cut short)", "TOTAL"]
    assert table["Brow, right (cut short)"][0] == "0:20"


def test_ctrl_c_is_an_emergency_stop_with_exit_130(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = TreatmentEngine.wait
    interrupted: list[bool] = []

    def wait_then_ctrl_c(self: TreatmentEngine, timeout: float | None = None) -> bool:
        if not interrupted:
            interrupted.append(True)
            raise KeyboardInterrupt
        return original(self, timeout)

    monkeypatch.setattr(TreatmentEngine, "wait", wait_then_ctrl_c)
    status, out, err = run_cli(capsys, "run", "--protocol", "toning", "--speed", "max")
    assert interrupted == [True]
    assert status == cli.EXIT_INTERRUPTED_BY_USER == 130
    assert err == ""
    assert "\nCtrl-C: emergency stop, output off.\n" in out
    assert "\nSession aborted: " in out
    assert "emergency_stop: " in out.split("Safety events:", 1)[1]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["run", "--protocol", "toning", "--speed", "max", "--inject", "bogus@1"],
            f"unknown fault 'bogus' in 'bogus@1'; known faults: {FAULTS}",
        ),
        (
            ["run", "--protocol", "nosuch", "--speed", "max"],
            "unknown protocol 'nosuch'; known protocols: circulation, express-lift, lifting, toning",
        ),
        (
            ["run", "--protocol", "toning", "--speed", "max", "--inject", "contact_loss"],
            "fault 'contact_loss' does not parse; write NAME@SECONDS or "
            "NAME@SECONDS+DURATION, e.g. contact_loss@90+5; faults: contact_loss, short_circuit, disconnect, "
            "driver_error, over_current, stall, gel_dry, polarity_stuck",
        ),
        (
            ["run", "--protocol", "toning", "--speed", "max", "--inject", "contact_loss@-1"],
            "fault 'contact_loss@-1': time '-1' must be zero or more seconds",
        ),
        (
            ["run", "--protocol", "toning", "--speed", "fast"],
            "--speed 'fast' is not a number or 'max'",
        ),
        (
            ["run", "--protocol", "toning", "--speed", "0"],
            "--speed '0' must be from 0.1 to 10000, or 'max'",
        ),
        (
            ["run", "--protocol", "toning", "--speed", "max", "--max-pause", "0"],
            "--max-pause 0 must be above 0 seconds",
        ),
        (
            ["run", "--protocol", "toning", "--speed", "max", "--resume-after", "-1"],
            "--resume-after -1 must be zero or more seconds",
        ),
        (
            ["run", "--protocol", "toning", "--speed", "max", "--driver", "nope"],
            "unknown driver 'nope'; known drivers: " + ", ".join(BUILT_IN_DRIVERS),
        ),
    ],
    ids=[
        "bogus-fault",
        "unknown-protocol",
        "fault-without-at",
        "negative-fault-time",
        "speed-word",
        "speed-zero",
        "max-pause-zero",
        "negative-resume",
        "unknown-driver",
    ],
)
def test_run_usage_errors_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, out, err = run_cli(capsys, *argv)
    assert status == cli.EXIT_USAGE
    assert out == ""  # refused before anything was sent or printed
    assert_one_error_line(err, message)


def test_run_without_a_protocol_or_scenario_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = cli.main(["run", "--speed", "max"])
    assert status == 2
    err = capsys.readouterr().err
    assert err == "mc-console: error: give --protocol ID (or --scenario ID)\n"


BOGUS_FAULT_ARGV = ["run", "--protocol", "toning", "--speed", "max", "--inject", "bogus@1"]


def test_module_entry_point_reports_a_bad_fault_in_one_line() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    completed = subprocess.run(
        [sys.executable, "-m", "console.cli", *BOGUS_FAULT_ARGV],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.splitlines() == [
        f"mc-console: error: unknown fault 'bogus' in 'bogus@1'; known faults: {FAULTS}"
    ]
    assert "Traceback" not in completed.stderr


def test_a_broken_protocol_pack_is_named_with_its_line_and_the_rest_are_listed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "broken.toml").write_text('id = "broken"\nname = "unclosed\n', encoding="utf-8")
    monkeypatch.setenv("MC_CONSOLE_PACKS_DIR", str(tmp_path))
    status, out, err = run_cli(capsys, "protocols")
    assert status == 0
    assert err.startswith(
        "mc-console: warning: protocol pack skipped: broken.toml, line 2: not valid TOML"
    )
    assert [row[0] for row in table_rows(out, "id ")] == PROTOCOL_IDS


def _files_held_under(folder: Path) -> list[str]:
    """The files under ``folder`` this process holds open."""
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed while we looked
            continue
        if target.startswith(str(folder)):
            held.append(target)
    return held


def test_a_recorded_run_lets_its_records_database_go(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """One process running session after session (a trainer's script) keeps no connection."""
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    for number in range(2):
        status, _out, err = run_cli(
            capsys, "run", "--protocol", "toning", "--speed", "max",
            "--db", url, "--client", f"Client {number}",
        )  # fmt: skip
        assert status == cli.EXIT_FINISHED, err
        assert _files_held_under(tmp_path) == []
    status, out, _err = run_cli(capsys, "sessions", "--db", url)
    assert status == 0 and "Client 0" in out and "Client 1" in out
