"""The local write-ahead journal: its file format, its reserved space, replay after a crash or an
outage (each record written once), and whole sessions through a full disk and a server that
goes down and comes back — with no record lost in any of them."""

from __future__ import annotations

import json
import stat
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from records_fixtures import OpenStore

from console.engine.events import EngineState, SafetyEvent, SafetyKind, SessionSummary
from console.records.entries import begin_entry, end_entry, event_entry, step_entry
from console.records.journal import (
    RESERVE_BYTES,
    JournalError,
    SessionJournal,
    decode,
    encode,
    replay_journals,
    target_of,
)
from console.records.opening import open_records
from console.records.recorder import RecordsTrouble, SessionRecorder
from console.records.store import RecordStore
from records_support import (
    DISK_FILLER,
    FlakyServer,
    delivery,
    gone_console,
    on_a_small_disk,
    record_short_session,
    session_info,
    wait_for,
)

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.timeout(120)


# -- the file format ------------------------------------------------------------------------------


def test_an_entry_is_one_ascii_line_with_its_crc_and_reads_back_exactly() -> None:
    entry = {"op": "event", "message": "Zoë's \u202eprobe\n lifted", "at_s": 12.5, "n": None}
    line = encode(entry)
    assert line.endswith(b"\n") and line.count(b"\n") == 1 and line.isascii()
    assert decode(line + encode({"op": "end"})) == ([entry, {"op": "end"}], False)


def test_a_torn_or_damaged_line_ends_the_reading_and_is_reported() -> None:
    first, second = encode({"op": "begin"}), encode({"op": "step", "index": 0})
    reserved = b"\0" * 4096
    assert decode(first + second + reserved) == (
        [{"op": "begin"}, {"op": "step", "index": 0}],
        False,
    )
    torn = first + second[: len(second) // 2] + reserved  # a power cut in the middle of a write
    assert decode(torn) == ([{"op": "begin"}], True)
    flipped = bytearray(first + second)
    flipped[len(first) + 3] ^= 0x01  # one bit of the second entry changed on the disk
    assert decode(bytes(flipped)) == ([{"op": "begin"}], True)


# -- the journal file -----------------------------------------------------------------------------


def test_a_journal_is_owner_only_and_has_its_space_reserved_from_the_start(
    journal_dir: Path,
) -> None:
    journal = SessionJournal.create("a" * 32, "sqlite:/x", "me:1:t", journal_dir / "new")
    try:
        info = journal.path.stat()
        assert stat.S_IMODE(info.st_mode) == 0o600
        assert stat.S_IMODE(journal.path.parent.stat().st_mode) == 0o700
        assert info.st_size >= RESERVE_BYTES
        assert info.st_blocks * 512 >= RESERVE_BYTES  # allocated on the disk, not a sparse hole
        entries, torn = decode(journal.path.read_bytes())
        assert entries == [
            {"journal": 1, "session": "a" * 32, "target": "sqlite:/x", "owner": "me:1:t"}
        ]
        assert not torn
    finally:
        journal.discard()
    assert not journal.path.exists()


def test_the_journal_grows_a_reservation_at_a_time(journal_dir: Path) -> None:
    journal = SessionJournal.create("b" * 32, "sqlite:/x", "me:1:t", journal_dir)
    try:
        filler = "x" * 1000
        for n in range(2500):  # about 2.5 MB of entries: two more reservations
            journal.append({"op": "step", "n": n, "filler": filler})
        assert journal.path.stat().st_size == 3 * RESERVE_BYTES
        entries, torn = decode(journal.path.read_bytes())
        assert [e["n"] for e in entries[1:]] == list(range(2500)) and not torn
    finally:
        journal.close()


def test_a_journal_keeps_taking_entries_after_the_disk_filled_up(tmp_path: Path) -> None:
    """The reserved space is the journal's: a disk that fills up during the treatment does not
    stop it (a real full disk: a small one of its own, filled by another file)."""
    script = DISK_FILLER + textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from console.records.journal import JournalError, SessionJournal, decode
        disk = sys.argv[1]
        journal = SessionJournal.create("c" * 32, "sqlite:/x", "me:1:t", Path(disk, "journal"))
        fill(disk)
        try:
            Path(disk, "other.bin").write_bytes(b"0" * 8192)
        except OSError as error:
            print("other file refused:", error.strerror)
        for n in range(500):
            journal.append({"op": "step", "n": n, "pad": "p" * 200})
        entries, _ = decode(journal.path.read_bytes())
        print("entries", len(entries) - 1)
        try:  # beyond the reservation, the full disk is said as such
            for n in range(10000):
                journal.append({"op": "step", "n": n, "pad": "p" * 200})
        except JournalError as error:
            print("then:", error.strerror)
        """
    )
    disk = tmp_path / "disk"
    result = on_a_small_disk(disk, script, str(disk))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "other file refused: No space left on device"
    assert lines[1] == "entries 500"
    assert lines[2].startswith("then: the disk holding the journal ") and lines[2].endswith(
        "is full"
    )


def test_a_journal_that_cannot_be_created_says_why(tmp_path: Path) -> None:
    in_the_way = tmp_path / "journal"
    in_the_way.write_text("not a folder")
    with pytest.raises(JournalError, match="cannot be written"):
        SessionJournal.create("d" * 32, "sqlite:/x", "me:1:t", in_the_way)


# -- replay ---------------------------------------------------------------------------------------


def _crashed_journal(store: RecordStore, folder: Path, session_id: str, *, end: bool) -> list[dict]:
    """The journal a console leaves when it dies (``end`` False) or quits with the database
    down (``end`` True): the session's start, a checkpoint, a safety event, the step's end,
    a later checkpoint of step 2 and, with ``end``, the session's end."""
    client_id = store.add_client("Mara Lindqvist", "Dana")
    info = session_info(session_id)
    safety = SafetyEvent(SafetyKind.CONTACT_LOST, 130.0, "Contact lost on Cheek.", "paused", 0)
    summary = SessionSummary(EngineState.FINISHED, "every step delivered", (), (), 300.0)
    entries = [
        begin_entry(info, "Dana", client_id, gone_console()),
        step_entry(session_id, delivery(0, 1500.0, seconds=8.0, completed=False), final=False),
        event_entry(session_id, 0, safety, 100.0),
        step_entry(session_id, delivery(0, 4000.0), final=True),
        step_entry(session_id, delivery(1, 2100.0, seconds=10.0, completed=False), final=False),
    ]
    if end:
        entries.append(end_entry(session_id, summary, datetime(2026, 12, 3, 9, 30, tzinfo=UTC)))
    journal = SessionJournal.create(session_id, target_of(store), gone_console(), folder)
    for entry in entries:
        journal.append(entry)
    journal.close()  # the process died: its lock is gone, the file stays
    return entries


def test_a_dead_consoles_journal_is_written_in_at_the_next_start(
    store_url: str, open_store: OpenStore, journal_dir: Path
) -> None:
    store = open_store(store_url)
    _crashed_journal(store, journal_dir, "e" * 32, end=False)
    store.close()

    opened = open_records(store_url)
    try:
        assert opened.replayed.sessions == ["e" * 32]
        assert opened.interrupted == ["e" * 32]  # after the replay: its console is gone
        row = opened.store.session("e" * 32)
        assert row.state == "interrupted" and row.client_name == "Mara Lindqvist"
        # Step 1 ended; step 2 as far as its last checkpoint went.
        assert [(s.index, s.charge_uc, s.completed) for s in row.steps] == [
            (0, 4000.0, True),
            (1, 2100.0, False),
        ]
        assert [(e.kind, e.at_s) for e in row.events] == [("contact_lost", 30.0)]
        assert list(journal_dir.iterdir()) == []
    finally:
        opened.store.close()


def test_a_journal_replayed_over_what_the_database_has_writes_each_record_once(
    store_url: str, open_store: OpenStore, journal_dir: Path
) -> None:
    store = open_store(store_url)
    entries = _crashed_journal(store, journal_dir, "f" * 32, end=True)
    # The database took the start, the event and step 1's end before it went away, and a
    # checkpoint of step 2 newer than the journal's last one.
    from console.records.entries import apply_entry

    for entry in (entries[0], entries[2], entries[3]):
        apply_entry(store, entry)
    store.add_step("f" * 32, delivery(1, 2500.0, seconds=12.0, completed=False), final=False)

    for _attempt in range(2):  # a second replay (a crash during the first) changes nothing
        report = replay_journals(store, journal_dir)
        row = store.session("f" * 32)
        assert row.state == "finished" and row.reason == "every step delivered"
        assert row.ended_at == datetime(2026, 12, 3, 9, 30, tzinfo=UTC)  # when it ended
        assert len(row.events) == 1
        # Step 1's end is not overwritten by its earlier checkpoint, nor step 2's newer
        # checkpoint by an older one.
        assert [(s.index, s.charge_uc) for s in row.steps] == [(0, 4000.0), (1, 2500.0)]
        _crashed_journal_again = SessionJournal.create(
            "f" * 32, target_of(store), gone_console(), journal_dir
        )
        for entry in entries:
            _crashed_journal_again.append(entry)
        _crashed_journal_again.close()
    assert report.sessions == ["f" * 32]


def test_a_live_recorders_journal_and_another_databases_are_left_alone(
    store_url: str, open_store: OpenStore, journal_dir: Path, tmp_path: Path
) -> None:
    store = open_store(store_url)
    live = SessionJournal.create("1" * 32, target_of(store), "me:1:t", journal_dir)
    live.append(begin_entry(session_info("1" * 32), "Dana", None, "me:1:t"))
    other = SessionJournal.create("2" * 32, "sqlite:/elsewhere/records.sqlite3", "x", journal_dir)
    other.append(begin_entry(session_info("2" * 32), "Dana", None, gone_console()))
    other.close()

    report = replay_journals(store, journal_dir)
    assert report.sessions == [] and store.sessions() == []
    assert live.path.exists() and other.path.exists()

    live.close()  # its console ended (or died): now it is replayed
    assert replay_journals(store, journal_dir).sessions == ["1" * 32]
    assert not live.path.exists() and other.path.exists()


def test_a_journal_the_database_rejects_is_set_aside_for_the_administrator(
    store_url: str, open_store: OpenStore, journal_dir: Path
) -> None:
    store = open_store(store_url)
    journal = SessionJournal.create("3" * 32, target_of(store), gone_console(), journal_dir)
    journal.append(begin_entry(session_info("3" * 32), "Dana", 999, gone_console()))  # no client
    journal.close()

    report = replay_journals(store, journal_dir)
    (aside,) = report.set_aside
    assert aside.suffix == ".rejected" and aside.exists()
    assert "rejects the journal" in report.problems[0] and str(aside) in report.problems[0]
    assert replay_journals(store, journal_dir).set_aside == []  # not tried again at each start


# -- whole sessions through an outage ------------------------------------------------------------


@pytest.fixture
def flaky_server(postgres_url: str) -> FlakyServer:
    from records_support import empty_postgres_database

    empty_postgres_database(postgres_url)
    server = FlakyServer(postgres_url)
    yield server
    server.close()


def _session_while_the_server_restarts(
    store: RecordStore, recorder: SessionRecorder, server: FlakyServer
) -> str:
    """A short session whose row is written, then the server goes down for all the rest."""
    return record_short_session(
        store,
        None,
        "Dana",
        recorder=recorder,
        close_recorder=False,
        before_start=lambda *_: server.down(),
    )


def test_a_server_down_during_the_session_and_back_after_it_ended_loses_nothing(
    flaky_server: FlakyServer, journal_dir: Path
) -> None:
    store = RecordStore(flaky_server.url)
    troubles: list[RecordsTrouble] = []
    recorder = SessionRecorder(store, "Dana", on_trouble=troubles.append, retry_s=0.05)
    try:
        session_id = _session_while_the_server_restarts(store, recorder, flaky_server)
        recorder.finish_in_background()
        wait_for(
            lambda: recorder.troubled and recorder.unwritten >= 4 and recorder.unjournaled == 0,
            what="every record refused by the database and kept in the journal",
        )
        assert len(troubles) == 1 and not troubles[0].must_stop

        flaky_server.up()  # the server is back, after the session ended
        wait_for(lambda: recorder.finished, what="the recorder to write everything", timeout=20)
        assert recorder.unwritten == 0
        row = store.session(session_id)
        assert row.state == "finished" and [s.index for s in row.steps] == [0, 1, 2]
        assert all(s.completed for s in row.steps)
        assert list(journal_dir.iterdir()) == []
    finally:
        recorder.close(0.5)
        store.close()


def test_a_server_down_until_the_console_quit_is_written_in_at_the_next_start(
    flaky_server: FlakyServer, journal_dir: Path
) -> None:
    store = RecordStore(flaky_server.url)
    recorder = SessionRecorder(store, "Dana", retry_s=0.05)
    session_id = _session_while_the_server_restarts(store, recorder, flaky_server)
    assert not recorder.close(0.5)  # the console quits with the server still down
    assert recorder.unjournaled == 0 and recorder.unwritten >= 4
    store.close()

    flaky_server.up()
    opened = open_records(flaky_server.url)  # the next start
    try:
        assert opened.replayed.sessions == [session_id]
        row = opened.store.session(session_id)
        assert row.state == "finished" and [s.index for s in row.steps] == [0, 1, 2]
        assert list(journal_dir.iterdir()) == []
    finally:
        opened.store.close()


# -- the command line with a full disk -----------------------------------------------------------

#: ``mc-console`` whose disk fills up as soon as the session row is written, and is freed
#: ``FREE_AFTER`` seconds later (never if negative). Arguments: disk, FREE_AFTER, then
#: mc-console's own.
CONSOLE_ON_A_DISK_THAT_FILLS = DISK_FILLER + textwrap.dedent(
    """
    import sys, threading
    from console.records import recorder
    from console.cli import main

    disk, free_after = sys.argv[1], float(sys.argv[2])
    begin = recorder.SessionRecorder.begin

    def begin_then_fill(self, *args, **kwargs):
        begin(self, *args, **kwargs)
        fill(disk)
        if free_after >= 0:
            threading.Timer(free_after, free, (disk,)).start()

    recorder.SessionRecorder.begin = begin_then_fill
    sys.exit(main(sys.argv[3:]))
    """
)

#: On a small disk of its own (argument 1): the records and journal there; a toning session
#: run by :data:`CONSOLE_ON_A_DISK_THAT_FILLS` (its script's path and FREE_AFTER: arguments 2
#: and 3); what the journal folder holds; then, the next morning with space again,
#: ``mc-console sessions`` (the next start); then what the database holds. One JSON line each.
FULL_DISK_DAY = DISK_FILLER + textwrap.dedent(
    """
    import json, os, subprocess, sys
    from console.records.store import RecordStore

    disk, console_script, free_after = sys.argv[1:4]
    url = f"sqlite:///{disk}/records.sqlite3"
    journal = os.path.join(disk, "journal")
    os.environ["MC_CONSOLE_JOURNAL_DIR"] = journal

    def report(name, command):
        done = subprocess.run(command, capture_output=True, text=True)
        print(json.dumps([name, done.returncode, done.stdout, done.stderr]))

    report("run", [sys.executable, console_script, disk, free_after, "run", "--protocol",
                   "toning", "--speed", "200", "--db", url, "--client", "Mara Lindqvist",
                   "--practitioner", "Dana"])
    modes = [oct(os.stat(os.path.join(journal, f)).st_mode & 0o777) for f in os.listdir(journal)]
    print(json.dumps(["journal", modes]))
    if os.path.exists(os.path.join(disk, "filler.bin")):
        free(disk)
    report("sessions", [sys.executable, "-m", "console.cli", "sessions", "--db", url])
    store = RecordStore(url)
    rows = [[r.state, len(r.steps), all(s.completed for s in r.steps), r.client_name]
            for r in store.sessions()]
    print(json.dumps(["records", rows, os.listdir(journal)]))
    """
)


def _full_disk_day(tmp_path: Path, free_after_s: float) -> dict[str, list]:
    """Run :data:`FULL_DISK_DAY`: what each step printed, by its name."""
    console_script = tmp_path / "console_on_a_disk_that_fills.py"
    console_script.write_text(CONSOLE_ON_A_DISK_THAT_FILLS)
    disk = tmp_path / "disk"
    result = on_a_small_disk(disk, FULL_DISK_DAY, str(disk), str(console_script), str(free_after_s))
    assert result.returncode == 0, result.stdout + result.stderr
    return {step[0]: step[1:] for step in map(json.loads, result.stdout.splitlines())}


def test_the_command_line_on_a_full_disk_finishes_and_the_next_start_writes_the_records(
    tmp_path: Path,
) -> None:
    steps = _full_disk_day(tmp_path, -1)
    status, out, err = steps["run"]
    assert status == 0, out + err
    assert "RECORDS: The records database cannot be written" in out
    assert "full" in out  # the database's own reason
    assert "The treatment goes on" in out and "Stopping the session" not in out
    assert "kept in the local journal" in out and "the next time mc-console opens it" in out
    assert steps["journal"] == [["0o600"]]  # one journal, owner-only

    status, out, err = steps["sessions"]
    assert status == 0, err
    assert "1 session(s) kept in the local journal were written" in err
    assert "finished" in out
    rows, journal_left = steps["records"]
    assert rows == [["finished", 12, True, "Mara Lindqvist"]]
    assert journal_left == []


def test_the_command_line_writes_everything_when_space_is_freed_during_the_session(
    tmp_path: Path,
) -> None:
    steps = _full_disk_day(tmp_path, 2.0)
    status, out, err = steps["run"]
    assert status == 0, out + err
    assert "RECORDS: The records database cannot be written" in out
    assert "RECORDS: the records database takes writes again." in out
    assert "kept in the local journal (" not in out
    assert steps["journal"] == [[]]  # all of it reached the database before the run ended
    rows, _journal_left = steps["records"]
    assert rows == [["finished", 12, True, "Mara Lindqvist"]]
