"""``mc-console`` where there is no display (issue 15, item 7): the window says so in one sentence
with how to run instead (exit 2), and ``--screenshot`` draws offscreen by itself, as the README
promises. Run as the real entry point with DISPLAY, WAYLAND_DISPLAY and QT_QPA_PLATFORM removed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.ui.app import NO_DISPLAY, display_available

pytestmark = pytest.mark.timeout(120)

MC_CONSOLE = Path(sys.executable).with_name("mc-console")
DISPLAY_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


def headless(*args: str) -> subprocess.CompletedProcess[str]:
    """``mc-console ARGS`` with nothing saying where to draw (the test's settings kept)."""
    env = {name: value for name, value in os.environ.items() if name not in DISPLAY_VARIABLES}
    return subprocess.run(
        [str(MC_CONSOLE), *args], capture_output=True, text=True, timeout=90, env=env
    )


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="always a screen there")
def test_the_window_without_a_display_says_so_and_how_to_run() -> None:
    result = headless()
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr == f"mc-console: error: {NO_DISPLAY}\n"
    assert "xcb" not in result.stderr and "Reinstalling" not in result.stderr
    assert "xvfb-run mc-console" in NO_DISPLAY and "--screenshot" in NO_DISPLAY
    assert result.stdout == ""


def test_a_screenshot_needs_no_display(tmp_path: Path) -> None:
    picture = tmp_path / "shot.png"
    result = headless("--screenshot", str(picture), "--after", "0")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "xcb" not in result.stderr
    assert result.stdout.startswith(f"wrote {picture} (")
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="always a screen there")
def test_what_counts_as_a_display(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in DISPLAY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert not display_available()
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert display_available()
    monkeypatch.delenv("WAYLAND_DISPLAY")
    monkeypatch.setenv("DISPLAY", ":0")
    assert display_available()
    monkeypatch.delenv("DISPLAY")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # the user chose where Qt draws
    assert display_available()


MISSING = "libxcb-icccm.so.4: cannot open shared object file: No such file or directory"
#: ``mc-console ARGS`` on an X11 display whose Qt plugin cannot load: ctypes is made to fail as
#: the dynamic loader does where a library the plugin needs is not installed.
ON_BROKEN_X11 = (
    "import ctypes, sys\n"
    "class _Missing:\n"
    "    def __init__(self, name, *args, **kwargs):\n"
    f"        raise OSError({MISSING!r})\n"
    "ctypes.CDLL = _Missing\n"
    "from console.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def on_broken_x11(*args: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if name not in DISPLAY_VARIABLES}
    env["DISPLAY"] = ":97"
    return subprocess.run(
        [sys.executable, "-c", ON_BROKEN_X11, *args],
        capture_output=True, text=True, timeout=90, env=env,
    )  # fmt: skip


@pytest.mark.skipif(sys.platform != "linux", reason="X11 plugins are Linux's")
def test_a_missing_x11_library_is_named_with_how_to_install_it() -> None:
    result = on_broken_x11()
    assert result.returncode == 2, (result.stdout, result.stderr)
    (line,) = result.stderr.splitlines()
    assert line.startswith("mc-console: error: the window cannot open on the X11 display :97")
    assert "needs libxcb-icccm.so.4, which is not installed" in line
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4" in line
    assert "--screenshot" in line and "Reinstalling" not in line


@pytest.mark.skipif(sys.platform != "linux", reason="X11 plugins are Linux's")
def test_a_screenshot_on_a_broken_x11_is_drawn_offscreen(tmp_path: Path) -> None:
    picture = tmp_path / "shot.png"
    result = on_broken_x11("--screenshot", str(picture), "--after", "0")
    assert result.returncode == 0, result.stderr
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.skipif(sys.platform != "linux", reason="X11 plugins are Linux's")
def test_the_x11_check_looks_only_where_the_window_would_open_on_x11(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ctypes

    from console.ui.app import x11_problem

    def missing(*_args: object, **_kwargs: object) -> None:
        raise OSError(MISSING)

    for name in DISPLAY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(ctypes, "CDLL", missing)
    assert x11_problem() is None  # no display named: said by NO_DISPLAY instead
    monkeypatch.setenv("DISPLAY", ":0")
    assert "libxcb-icccm.so.4" in (x11_problem() or "")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    assert "libxcb-icccm.so.4" in (x11_problem() or "")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert x11_problem() is None
    monkeypatch.delenv("QT_QPA_PLATFORM")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")  # Qt may draw with Wayland
    assert x11_problem() is None
    monkeypatch.delenv("WAYLAND_DISPLAY")
    monkeypatch.setattr(ctypes, "CDLL", lambda *_args, **_kwargs: None)  # it loads
    assert x11_problem() is None
