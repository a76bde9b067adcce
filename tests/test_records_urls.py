"""Records databases a newcomer gets wrong, as the real ``mc-console`` says them (issue 15, item
6): a SQLite file that is not there (refused by the commands that only read, never made empty),
a folder that is not there or is a file, a PostgreSQL server that does not answer (named, with
its reason, never the password), a kind of database that is not supported, a driver that is
not installed, and the window given a database it cannot use."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from console.records.errors import StoreUnavailableError
from console.records.store import RecordStore
from console.records.urls import check_url

pytestmark = pytest.mark.timeout(120)

MC_CONSOLE = Path(sys.executable).with_name("mc-console")
PASSWORD = "s3cret-pw"


def mc_console(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed ``mc-console`` entry point, in the test's environment (settings, journal)."""
    return subprocess.run(
        [str(MC_CONSOLE), *args],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, **env},
    )


def one_error(result: subprocess.CompletedProcess[str], *wanted: str) -> str:
    """Exit status 2 and one ``mc-console: error:`` line holding each of ``wanted``."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mc-console: error: "), result.stderr
    for text in wanted:
        assert text in lines[0], (text, lines[0])
    assert PASSWORD not in result.stderr + result.stdout
    return lines[0]


def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connection refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- SQLite: files and folders -------------------------------------------------------------------


@pytest.mark.parametrize("command", [["sessions"], ["report", "abc123", "--pdf", "r.pdf"]])
def test_reading_a_database_that_does_not_exist_is_refused_and_nothing_is_made(
    tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "no" / "such" / "records.sqlite3"
    result = mc_console(*command, "--db", f"sqlite:///{missing}")
    one_error(result, f"there is no records database at {missing}", "check --db")
    assert not (tmp_path / "no").exists()

    beside = tmp_path / "records.sqlite3"  # its folder exists: still not made
    one_error(mc_console(*command, "--db", f"sqlite:///{beside}"), str(beside))
    assert not beside.exists()


def test_reading_the_default_database_before_anything_was_recorded_says_so(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    # Listing: nothing is wrong on a fresh install, there is just nothing yet.
    listed = mc_console("sessions", XDG_DATA_HOME=str(data), HOME=str(tmp_path))
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == "No sessions recorded on this computer yet."
    # Asking for one session: that one cannot be there.
    result = mc_console(
        "report",
        "deadbeef",
        "--pdf",
        str(tmp_path / "r.pdf"),
        XDG_DATA_HOME=str(data),
        HOME=str(tmp_path),
    )
    one_error(result, "nothing has been recorded on this computer yet", "give --db")
    assert not (data / "mc-console" / "records.sqlite3").exists()


def test_a_run_does_not_make_a_folder_typed_in_db(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "records.sqlite3"
    result = mc_console(
        "run", "--protocol", "toning", "--speed", "600", "--db", f"sqlite:///{missing}"
    )
    one_error(result, f"the folder {missing.parent} for the records database does not exist")
    assert not missing.parent.exists()


def test_a_run_makes_a_new_database_in_a_folder_that_exists(tmp_path: Path) -> None:
    database = tmp_path / "records.sqlite3"
    result = mc_console(
        "run", "--protocol", "toning", "--speed", "600", "--db", f"sqlite:///{database}"
    )
    assert result.returncode == 0, result.stderr
    assert database.exists()
    listed = mc_console("sessions", "--db", f"sqlite:///{database}")
    assert listed.returncode == 0 and "toning" in listed.stdout.lower(), listed


def test_a_file_where_the_folder_should_be_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "usb-stick"
    blocker.write_text("a file, not a folder")
    for command in (["sessions"], ["run", "--protocol", "toning", "--speed", "600"]):
        result = mc_console(*command, "--db", f"sqlite:///{blocker}/records.sqlite3")
        line = one_error(result, f"{blocker} is a file, not a folder")
        assert "drive removed" not in line


def test_a_folder_given_as_the_database_is_named(tmp_path: Path) -> None:
    one_error(mc_console("sessions", "--db", f"sqlite:///{tmp_path}"), "is a folder, not")


# -- servers, kinds and drivers ------------------------------------------------------------------


def test_a_postgresql_server_that_refuses_is_named_with_its_reason(tmp_path: Path) -> None:
    port = free_port()
    url = f"postgresql+psycopg://clinic:{PASSWORD}@127.0.0.1:{port}/records"
    for command in (["sessions"], ["run", "--protocol", "toning", "--speed", "600"]):
        line = one_error(mc_console(*command, "--db", url), f"127.0.0.1:{port}", "refused")
        assert "OperationalError" not in line


def test_an_unknown_postgresql_host_is_named() -> None:
    url = f"postgresql+psycopg://clinic:{PASSWORD}@nohost.invalid/records"
    one_error(mc_console("sessions", "--db", url), "nohost.invalid:5432", "cannot be reached")


def test_an_unsupported_kind_of_database_says_which_are() -> None:
    result = mc_console("sessions", "--db", f"mysql://clinic:{PASSWORD}@localhost/records")
    line = one_error(result, "SQLite or PostgreSQL", "not mysql")
    assert "MySQLdb" not in line


def test_a_missing_driver_says_what_to_install() -> None:
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("psycopg2 is installed here")
    url = f"postgresql+psycopg2://clinic:{PASSWORD}@127.0.0.1:{free_port()}/records"
    one_error(mc_console("sessions", "--db", url), "psycopg2 is not installed", "pip install")


# -- the window ----------------------------------------------------------------------------------


def test_the_window_says_at_once_that_its_database_cannot_be_used(tmp_path: Path) -> None:
    """With a database it cannot use, the window comes up without records and says why on
    stderr at the start (and in a box); the probe quits it once it is up and connected."""
    missing = tmp_path / "typo" / "records.sqlite3"
    result = mc_console(
        "--db", f"sqlite:///{missing}", MC_CONSOLE_STARTUP_PROBE="1", QT_QPA_PLATFORM="offscreen"
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "mc-console: ready" in result.stdout
    said = [line for line in result.stderr.splitlines() if "records unavailable" in line]
    assert said == [
        f"mc-console: records unavailable: the folder {missing.parent} for the records "
        "database does not exist: create it first, or correct --db"
    ]
    assert not missing.parent.exists()


# -- the check itself ----------------------------------------------------------------------------


def test_the_default_folder_is_made_but_a_typed_one_is_not(tmp_path: Path) -> None:
    typed = f"sqlite:///{tmp_path / 'typed' / 'records.sqlite3'}"
    with pytest.raises(StoreUnavailableError, match="does not exist"):
        check_url(typed, create=True, make_folder=False)
    check_url(typed, create=True, make_folder=True)  # the default place, or a program's own
    store = RecordStore(typed)  # the store's own API still makes its folder
    store.close()
    assert (tmp_path / "typed" / "records.sqlite3").exists()


def test_a_url_that_does_not_parse_never_shows_its_password() -> None:
    with pytest.raises(StoreUnavailableError) as error:
        check_url(f"postgresql://clinic:{PASSWORD}@host:notaport/records", create=False)
    assert PASSWORD not in str(error.value)
    assert "is not a database URL" in str(error.value)
