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
