"""``mc-console`` as a newcomer meets it (issue 15), through the real entry point in a subprocess.

Each mistake gets one sentence on stderr saying what was wrong and what to do, exit status 2;
nothing ends in a traceback: signals during a run (output off first, then a line saying so,
then 128 + the signal's number), a closed output (``| head``: quiet, 141), a bad ``--db``.
Runs use ``--speed max`` (about a second each) except where a signal needs a run to catch.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
#: The installed ``mc-console`` script (what a user runs); the module where there is none.
SCRIPT = Path(sys.executable).with_name("mc-console")
ENTRY = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "console.cli"]

pytestmark = pytest.mark.timeout(120)


def mc(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``mc-console ARGV`` in a subprocess with this test's environment (its own settings and
    journal folders, offscreen Qt)."""
    return subprocess.run(
        [*ENTRY, *argv],
        cwd=ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_refused(done: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit 2, nothing on stdout, one ``mc-console: error:`` line on stderr naming ``words``."""
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mc-console: error: "), done.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


# -- item 2: the README's own example plays what it says ----------------------------------------


def readme_command(start: str) -> list[str]:
    """The README's command line that starts with ``start``, as words (its comment dropped)."""
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith(start):
            return shlex.split(line.split("#")[0])
    raise AssertionError(f"the README has no command starting {start!r}")


def test_the_readme_fault_example_plays_the_disconnect() -> None:
    argv = readme_command("mc-console run --protocol lifting --speed 60 --inject contact_loss")
    assert "--resume-after" in argv, "without it the contact loss stops the session at 3:30"
    speed = argv.index("--speed")
    argv[speed + 1] = "max"  # the same session, in a second
    done = mc(*argv[1:])
    assert "Traceback" not in done.stderr
    assert "contact_lost" in done.stdout
    assert "resumed by the scripted operator" in done.stdout
    assert "watchdog: The machine has not answered" in done.stdout  # the disconnect at 12:30
    assert "Session interrupted" in done.stdout
    assert done.returncode == 1  # a session that did not finish, as the README says


def test_the_readme_explains_resume_after_and_max_pause() -> None:
    text = README.read_text(encoding="utf-8")
    assert "--resume-after SECONDS" in text and "--max-pause SECONDS" in text


# -- item 5: input that used to be ignored is refused -----------------------------------------------


def test_an_unknown_window_driver_is_refused_before_any_window() -> None:
    assert_refused(mc("--driver", "nosuch"), "unknown driver 'nosuch'", "simulator")


def test_a_screenshot_with_an_unknown_driver_is_refused(tmp_path: Path) -> None:
    picture = tmp_path / "x.png"
    assert_refused(mc("--driver", "nosuch", "--screenshot", str(picture)), "unknown driver")
    assert not picture.exists()


def test_a_screenshot_of_a_real_machine_driver_is_refused(tmp_path: Path) -> None:
    done = mc("--driver", "scpi", "--screenshot", str(tmp_path / "x.png"))
    assert_refused(done, "simulated machine", "leave out --driver")


@pytest.mark.parametrize(
    "flags", [("--protocol", "toning"), ("--after", "30"), ("--protocol", "toning", "--after", "5")]
)
def test_screenshot_options_without_a_screenshot_are_refused(flags: tuple[str, ...]) -> None:
    done = mc(*flags)  # the window would open and quietly ignore them
    assert_refused(done, "only go with --screenshot", "mc-console run --protocol")


def test_a_port_for_the_simulator_is_refused() -> None:
    done = mc("run", "--protocol", "toning", "--port", "/dev/ttyNOPE", "--speed", "max")
    assert_refused(done, "uses no port", "/dev/ttyNOPE", "leave it out")


def test_a_scenario_refuses_another_protocol() -> None:
    done = mc("run", "--scenario", "probe-lift", "--protocol", "toning", "--speed", "max")
    assert_refused(done, "'probe-lift' plays the lifting protocol, not toning", "leave out")


def test_a_scenario_takes_its_own_protocol_named_again() -> None:
    done = mc("run", "--scenario", "probe-lift", "--protocol", "lifting", "--speed", "max")
    assert "Traceback" not in done.stderr
    assert done.returncode != 2, done.stderr


def test_a_fault_after_the_protocols_end_is_refused() -> None:
    done = mc("run", "--protocol", "toning", "--speed", "max", "--inject", "contact_loss@3000")
    assert_refused(done, "contact_loss@3000", "after the end of toning (17:40)", "under 17:40")


def test_a_missing_scenarios_folder_is_refused() -> None:
    assert_refused(
        mc("scenarios", "--scenarios-dir", "/nonexistent-dir"), "/nonexistent-dir is not a folder"
    )


@pytest.mark.parametrize("speed", ["0.0001", "0.09", "0"])
def test_a_speed_below_a_tenth_is_refused(speed: str) -> None:
    done = mc("run", "--protocol", "toning", "--speed", speed)
    assert_refused(done, f"--speed '{speed}' must be from 0.1 to")


def test_the_speed_help_states_its_lower_bound() -> None:
    assert "at least 0.1" in " ".join(mc("run", "--help").stdout.split())


# -- item 4: no tracebacks -----------------------------------------------------------------------


def test_a_db_that_is_not_a_url_is_one_sentence_with_an_example() -> None:
    done = mc("sessions", "--db", "notaurl")
    assert_refused(done, "'notaurl' is not a database URL", "sqlite:///")


def test_a_run_with_a_db_that_is_not_a_url_is_refused_before_it_starts() -> None:
    done = mc("run", "--protocol", "toning", "--speed", "max", "--db", "notaurl")
    assert_refused(done, "not a database URL")


@pytest.mark.parametrize(
    "argv",
    [["plugins"], ["protocols", "show", "lifting"], ["protocols"], ["scenarios"]],
    ids=" ".join,
)
def test_a_closed_output_ends_a_listing_quietly(argv: list[str]) -> None:
    done = closed_output(*argv)
    assert (done.returncode, done.stderr) == (141, "")


def test_a_run_whose_output_is_closed_stops_its_session_and_says_so() -> None:
    done = closed_output("run", "--protocol", "lifting", "--speed", "max")
    assert done.returncode == 141
    assert done.stderr.splitlines() == [
        "mc-console: the output was closed, so the session was stopped (output off)."
    ]


def _spawn(*argv: str, start_new_session: bool = False) -> subprocess.Popen[str]:
    """``mc-console ARGV`` started with its output and errors on pipes, no input."""
    return subprocess.Popen(
        [*ENTRY, *argv],
        cwd=ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=start_new_session,
    )


def closed_output(*argv: str) -> subprocess.CompletedProcess[str]:
    """``mc-console ARGV | head -0``: the reader of its output gone before the first line."""
    process = _spawn(*argv)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    err = process.stderr.read()
    return subprocess.CompletedProcess(process.args, process.wait(timeout=60), "", err)


def run_then_signal(*signals: signal.Signals) -> tuple[int, str, str]:
    """A toning run in real time, sent ``signals`` (a few ms apart) once its first step is on:
    (exit status, stdout, stderr)."""
    # In its own process group: the signals reach it alone.
    process = _spawn("run", "--protocol", "toning", "--speed", "1", start_new_session=True)
    assert process.stdout is not None
    try:
        seen = []
        for line in process.stdout:
            seen.append(line)
            if "step 1/" in line:
                break
        else:
            raise AssertionError(f"the run did not start: {''.join(seen)}")
        time.sleep(0.5)  # the output is on, ramping up
        for each in signals:
            os.kill(process.pid, each)
            time.sleep(0.01)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, "".join(seen) + out, err


def test_ctrl_c_twice_stops_the_output_once_without_a_traceback() -> None:
    status, out, err = run_then_signal(signal.SIGINT, signal.SIGINT)
    assert "Traceback" not in err and err == "", err
    assert status == 130
    assert "Ctrl-C: emergency stop, output off." in out
    assert "Session aborted: Emergency stop pressed." in out
    assert out.rstrip().endswith("emergency_stop: Emergency stop pressed.")


@pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)], ids=["TERM", "HUP"]
)
def test_a_stop_signal_turns_the_output_off_and_says_so(
    signum: signal.Signals, status: int
) -> None:
    code, out, err = run_then_signal(signum)
    assert "Traceback" not in err and err == "", err
    assert code == status
    assert f"{signum.name}: session stopped, output off." in out
    assert f"Session aborted: Stopped by {signum.name}" in out


# -- item 7: the recorded session's id; help not cut --------------------------------------------


def test_a_recorded_run_prints_its_session_id_and_the_report_command(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/records.db"
    done = mc("run", "--protocol", "toning", "--speed", "max", "--client", "Ada Test", "--db", db)
    assert done.returncode == 0, done.stderr
    found = re.search(
        r"Recorded as session ([0-9a-f]{8}) \(.*mc-console report \1 --pdf", done.stdout
    )
    assert found, done.stdout
    pdf = tmp_path / "report.pdf"
    assert mc("report", found[1], "--pdf", str(pdf), "--db", db).returncode == 0
    assert pdf.exists()
    # An unknown session is a usage error (exit 2), as an unknown protocol is.
    unknown = mc("report", "deadbeef", "--pdf", str(tmp_path / "r.pdf"), "--db", db)
    assert_refused(unknown, "no session 'deadbeef'", "see 'sessions'")


def test_scenarios_help_is_a_whole_sentence() -> None:
    text = " ".join(mc("scenarios", "--help").stdout.split())
    assert "a folder of the trainer's own scenario files" in text or (
        "folder of the trainer's own" in text and "scenario files" in text
    )


# -- item 8: CI lints even when the tests fail ------------------------------------------------------


def test_ci_runs_the_readme_test_command() -> None:
    command = "QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest"
    assert command in README.read_text(encoding="utf-8")
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("tests", "lint", "failed"),
    [(1, 0, "tests"), (0, 1, "ruff-check ruff-format"), (0, 0, "")],
    ids=["tests-fail", "lint-fails", "all-pass"],
)
def test_ci_lints_even_when_the_tests_fail(
    tmp_path: Path, tests: int, lint: int, failed: str
) -> None:
    """``.ci/run`` in a copy of the checkout's layout, with a stand-in python3, pytest and ruff
    that log their calls and fail as told."""
    (tmp_path / ".ci").mkdir()
    ci = tmp_path / ".ci" / "run"
    ci.write_text((ROOT / ".ci" / "run").read_text(encoding="utf-8"), encoding="utf-8")
    tools = tmp_path / "tools-on-path"
    tools.mkdir()
    log = tmp_path / "calls.log"
    venv = tmp_path / ".venv" / "bin"
    stand_ins = {
        tools / "initdb": "exit 0",  # PostgreSQL "installed": no apt-get from a test
        tools / "python3": f"mkdir -p {venv}\nexit 0",
        venv / "pip": "exit 0",
        venv / "python": f'echo "pytest $*" >> {log}\nexit {tests}',
        venv / "ruff": f'echo "ruff $*" >> {log}\nexit {lint}',
    }
    venv.mkdir(parents=True)
    for path, body in stand_ins.items():
        path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
        path.chmod(0o755)
    done = subprocess.run(
        ["bash", str(ci)],
        env={**os.environ, "PATH": f"{tools}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    calls = log.read_text(encoding="utf-8").splitlines()
    assert [call.split()[:2] for call in calls] == [
        ["pytest", "-m"],
        ["ruff", "check"],
        ["ruff", "format"],
    ], calls
    assert (done.returncode != 0) == bool(failed), done.stdout + done.stderr
    if failed:
        assert f"CI failed: {failed}" in done.stdout
