"""``mc-console --screenshot --driver ID`` pictures the machine it is given (it used to picture
the first simulated machine whatever ``--driver`` said), and a driver it cannot use is refused in
one line with exit status 2, before any picture is written.

The installed ``mc-console`` runs in a subprocess with a second simulated machine "installed" as
pip installs a plugin: a ``.dist-info`` folder with its entry point, on ``PYTHONPATH``. Its
factory leaves a mark, so the test knows which machine the picture was taken on.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.ui.app import take_screenshot

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).with_name("mc-console")
ENTRY = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "console.cli"]

SECOND_SIMULATOR = '''
"""A second simulated machine (a trainer's): the simulator under another id, leaving a mark."""
import os
from dataclasses import replace

from console.api import hookimpl
from device_drivers import simulator_plugin

mc_console_api = "1.1"


def make_driver(**options):
    with open(os.environ["SECOND_SIM_MARK"], "a", encoding="utf-8") as mark:
        mark.write("opened\\n")
    return simulator_plugin.make_simulator(**options)


@hookimpl
def register_drivers():
    builtin = simulator_plugin.register_drivers()[0]
    return [replace(builtin, id="trainer-sim", name="Trainer's simulator", factory=make_driver)]
'''


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A folder holding the installed second simulator."""
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "trainer_sim.py").write_text(SECOND_SIMULATOR, encoding="utf-8")
    info = folder / "trainer_sim-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: trainer-sim\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[mc_console]\ntrainer_sim = trainer_sim\n", encoding="utf-8"
    )
    return folder


def screenshot(site: Path, mark: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """The installed ``mc-console --screenshot ... ARGV`` with the second simulator installed."""
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "SECOND_SIM_MARK": str(mark),
        "QT_QPA_PLATFORM": "offscreen",
    }
    return subprocess.run(
        [*ENTRY, *argv],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=150,
    )


def test_the_picture_is_taken_on_the_driver_given(site: Path, tmp_path: Path) -> None:
    mark, png = tmp_path / "mark", tmp_path / "shot.png"
    done = screenshot(
        site, mark, "--screenshot", str(png), "--driver", "trainer-sim", "--after", "5"
    )
    assert done.returncode == 0, done.stderr
    assert mark.read_text(encoding="utf-8") == "opened\n"
    assert png.stat().st_size > 10_000
    assert f"wrote {png} (1440x900)" in done.stdout

    mark.unlink()
    default = screenshot(site, mark, "--screenshot", str(png), "--after", "0")
    assert default.returncode == 0, default.stderr
    assert not mark.exists()  # without --driver: the built-in simulator


@pytest.mark.parametrize(
    ("driver", "said"),
    [
        ("scpi", "--screenshot pictures the simulated machine, not 'scpi'; leave out --driver"),
        ("no-such-machine", "unknown driver 'no-such-machine'; known drivers: "),
    ],
)
def test_a_driver_that_cannot_be_pictured_is_refused_in_one_line(
    site: Path, tmp_path: Path, driver: str, said: str
) -> None:
    mark, png = tmp_path / "mark", tmp_path / "shot.png"
    done = screenshot(site, mark, "--screenshot", str(png), "--driver", driver)
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("mc-console: error: ") and said in line
    assert "trainer-sim" in line or driver == "scpi"  # the installed machines are named
    assert not png.exists() and not mark.exists() and done.stdout == ""


def test_take_screenshot_itself_refuses_a_real_machine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / "shot.png"
    assert take_screenshot(png, "lifting", 0, driver_id="scpi") == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "mc-console: error: --screenshot pictures a simulated machine, and 'scpi' is not one; "
        "leave out --driver or give a simulated machine's"
    )
    assert take_screenshot(png, "lifting", 0, driver_id="gone") == 2
    assert "unknown driver 'gone'; known: " in capsys.readouterr().err
    assert not png.exists()
