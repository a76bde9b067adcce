"""A real machine on the command line treats only a client screened today (issue 15): the
recorded screening is found, weighed again, and anything short of a clearance is refused with
the reason and what to do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from records_fixtures import OpenStore

from console.engine.clock import RealClock
from console.records.screening_on_record import NotScreenedError, screening_on_record
from console.screening import Screening
from device_drivers import framed_protocol as wire
from device_drivers.emulator import make_emulator

pytestmark = pytest.mark.timeout(120)


def _screened(store, name: str, at: datetime | None = None, **yes: bool) -> int:  # type: ignore[no-untyped-def]
    client_id = store.client_named(name, "Dana")
    screening = Screening.all_clear("Dana")
    for item, applies in yes.items():
        screening.answer(item, applies)
    if at is not None:
        screening.at = at
    store.record_screening(client_id, screening, "Dana")
    return client_id


def test_todays_cleared_screening_lets_the_treatment_start(
    sqlite_url: str, open_store: OpenStore
) -> None:
    store = open_store(sqlite_url)
    client_id = _screened(store, "Ana Núñez")
    found, result = screening_on_record(store, "ana nunez")  # any case, any accents
    assert found == client_id and result.cleared


@pytest.mark.parametrize(
    ("prepare", "words"),
    [
        (lambda store: None, "no client called 'Ana Núñez' is in the records"),
        (
            lambda store: _screened(store, "Ana Núñez", datetime.now(UTC) - timedelta(days=3)),
            f"has no screening recorded today (the last one was on "
            f"{(date.today() - timedelta(days=3)).isoformat()})",
        ),
        (
            lambda store: _screened(store, "Ana Núñez", implanted_electronics=True),
            "does not clear the treatment: absolute contraindication",
        ),
        (
            lambda store: [store.add_client("Ana Núñez", "Dana") for _ in range(2)],
            "2 clients are called 'Ana Núñez'",
        ),
    ],
    ids=["unknown", "days-ago", "contraindicated", "namesakes"],
)
def test_anything_short_of_todays_clearance_is_refused_with_the_reason(
    sqlite_url: str,
    open_store: OpenStore,
    prepare,
    words: str,  # type: ignore[no-untyped-def]
) -> None:
    store = open_store(sqlite_url)
    prepare(store)
    with pytest.raises(NotScreenedError) as refused:
        screening_on_record(store, "Ana Núñez")
    assert words in str(refused.value)
    assert len(store.search_clients("Ana")) <= 2  # nobody was added by looking


def test_a_screening_asked_with_other_questions_is_refused(
    sqlite_url: str, open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(sqlite_url)
    _screened(store, "Ana Núñez")
    import console.records.screening_on_record as module

    monkeypatch.setattr(module, "question_version", lambda: 99)
    with pytest.raises(NotScreenedError, match="now asks set 99: screen the client again"):
        screening_on_record(store, "Ana Núñez")


# -- through mc-console, on a machine that says it is real ---------------------------------------


@pytest.fixture
def real_machine() -> str:
    """The framed emulator, saying in its hello that it is hardware: a pty path."""
    server = make_emulator("framed", RealClock())
    hello = wire.encode_frame(wire.Frame(wire.FrameType.HELLO, 1, wire.pack_hello(emulator=False)))
    server.adapter.hello = lambda: hello  # type: ignore[method-assign]
    port = server.open_pty()
    server.start()
    yield port
    assert not server.firmware.machine.output_on
    server.stop()


def _mc_console(*argv: str) -> list[str]:
    return [sys.executable, "-m", "console.cli", *argv]


def test_a_real_machine_without_a_client_is_refused_before_any_output(real_machine: str) -> None:
    done = subprocess.run(
        _mc_console("run", "--driver", "framed", "--port", real_machine, "--protocol", "toning"),
        capture_output=True, text=True, timeout=60, env=os.environ.copy(),
    )  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "a real machine needs a completed contraindication screening" in done.stderr
    assert "give --client NAME" in done.stderr


def test_a_client_screened_today_is_treated_on_a_real_machine(
    real_machine: str, sqlite_url: str, open_store: OpenStore, tmp_path: Path
) -> None:
    _screened(open_store(sqlite_url), "Ana Núñez")
    argv = ["run", "--driver", "framed", "--port", real_machine, "--protocol", "toning"]
    argv += ["--db", sqlite_url, "--client", "Ana Núñez", "--practitioner", "Dana"]
    log = tmp_path / "run.txt"
    with log.open("w") as sink:
        process = subprocess.Popen(
            _mc_console(*argv), stdout=sink, stderr=subprocess.STDOUT, env=os.environ.copy()
        )
        try:
            deadline = time.monotonic() + 30
            while "step 1/" not in log.read_text() and time.monotonic() < deadline:
                assert process.poll() is None, log.read_text()
                time.sleep(0.1)
            process.send_signal(signal.SIGTERM)  # the practitioner ends it: output off first
            assert process.wait(30) == 143
        finally:
            if process.poll() is None:
                process.kill()
    said = log.read_text()
    assert "Screening: Ana Núñez, recorded today, clears the treatment." in said
    assert "REAL MACHINE" in said
    assert "output off" in said


def test_with_accounts_a_real_machine_run_signs_in_once_before_reading_the_screening(
    real_machine: str, sqlite_url: str, open_store: OpenStore, tmp_path: Path
) -> None:
    """Issue 20: nothing of the client is read before the account signs in; the read is a view
    in the audit trail; a wrong PIN is refused (exit 4) before any output."""
    from console.records import audit
    from console.records.accounts import create_administrator

    store = open_store(sqlite_url)
    create_administrator(store, "Dana", "482916")
    client_id = _screened(store, "Ana Núñez")
    argv = ["run", "--driver", "framed", "--port", real_machine, "--protocol", "toning"]
    argv += ["--db", sqlite_url, "--client", "Ana Núñez"]

    nobody = subprocess.run(
        _mc_console(*argv), capture_output=True, text=True, timeout=60, env=os.environ.copy()
    )
    assert nobody.returncode == 2 and "give --user NAME" in nobody.stderr
    wrong = subprocess.run(
        _mc_console(*argv, "--user", "Dana"),
        input="000000\n", capture_output=True, text=True, timeout=60, env=os.environ.copy(),
    )  # fmt: skip
    assert wrong.returncode == 4, wrong.stderr
    assert "refused" in wrong.stderr and "Traceback" not in wrong.stderr
    assert "Screening:" not in wrong.stdout
    views = [e for e in audit.entries(store) if e.action == audit.VIEW]
    assert views == []  # refused: nothing read

    log = tmp_path / "run.txt"
    with log.open("w") as sink:
        process = subprocess.Popen(
            _mc_console(*argv, "--user", "Dana"),
            stdin=subprocess.PIPE, stdout=sink, stderr=subprocess.STDOUT, text=True,
            env=os.environ.copy(),
        )  # fmt: skip
        try:
            assert process.stdin is not None
            process.stdin.write("482916\n")  # asked once: read and recorded as Dana
            process.stdin.close()
            deadline = time.monotonic() + 30
            while "step 1/" not in log.read_text() and time.monotonic() < deadline:
                assert process.poll() is None, log.read_text()
                time.sleep(0.1)
            process.send_signal(signal.SIGTERM)
            assert process.wait(30) == 143
        finally:
            if process.poll() is None:
                process.kill()
    (view,) = [e for e in audit.entries(store) if e.action == audit.VIEW]
    assert (view.actor, view.client_id, view.detail) == (
        "Dana",
        client_id,
        "screening read for a run",
    )
    sessions = [e for e in audit.entries(store) if e.detail.startswith("treatment session")]
    assert [(e.actor, e.client_id) for e in sessions] == [("Dana", client_id)]
    assert sum(e.action == audit.SIGN_IN for e in audit.entries(store)) == 1  # signed in once
