"""An observer plugin that fails is shown to the user, not only in ``-v``'s log: the window's
status bar names it (pytest-qt, offscreen) and links to the plugin manager, ``mc-console run``
says so on stderr, and ``mc-console plugins`` — a later run — lists it with when and why.

The command-line tests run the installed ``mc-console`` on an observer plugin "installed" the
way pip installs one: a ``.dist-info`` folder with its entry point, on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6 import QtCore, QtWidgets

from console.api import hookimpl
from console.engine.clock import SteppedClock
from console.plugin_failures import (
    failures_path,
    installed_failures,
    read_failures,
    remember_failures,
)
from console.plugins import PluginHost, PluginRecord
from console.session import Console
from console.ui.app import make_application, prepare_demo_visit
from console.ui.main_window import MainWindow
from console.ui.plugin_manager import STATUS, PluginManagerDialog

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).with_name("mc-console")
ENTRY = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "console.cli"]

OBSERVER_MODULE = '''
"""An observer plugin with a bug in {hook}."""
from console.api import hookimpl

mc_console_api = "1.1"
__version__ = "{version}"


@hookimpl
def {hook}({args}):
    raise RuntimeError("observer bug in {hook}")
'''
HOOK_ARGS = {"session_started": "session", "session_ended": "session, summary"}


def install_observer(site: Path, hook: str, version: str = "0.0.1") -> None:
    """``flaky-obs`` (entry point ``flaky``) in ``site``, as pip would install it."""
    site.mkdir(parents=True, exist_ok=True)
    (site / "flaky_obs.py").write_text(
        OBSERVER_MODULE.format(hook=hook, args=HOOK_ARGS[hook], version=version), encoding="utf-8"
    )
    for old in site.glob("flaky_obs-*.dist-info"):
        for file in old.iterdir():
            file.unlink()
        old.rmdir()
    info = site / f"flaky_obs-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: flaky-obs\nVersion: {version}\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text("[mc_console]\nflaky = flaky_obs\n", encoding="utf-8")


def mc_console(site: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """The installed ``mc-console ARGV`` with the plugins in ``site`` installed too."""
    return subprocess.run(
        [*ENTRY, *argv],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(site), "QT_QPA_PLATFORM": "offscreen"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=90,
    )


# -- remembering -------------------------------------------------------------------------------


def _record(name: str, version: str, error: str | None) -> PluginRecord:
    return PluginRecord(name, "flaky-obs " + version, version, error=error)


def test_failures_are_remembered_one_per_plugin_and_only_for_the_installed_version(
    tmp_path: Path,
) -> None:
    path = tmp_path / "plugin-failures.json"
    remember_failures(
        [
            _record("flaky", "1.0", "raised in step_started: KeyError: 'x'"),
            _record("ok", "1", None),
        ],
        path,
        now=datetime(2026, 12, 3, 9, 15, 0),
    )
    remember_failures(
        [_record("flaky", "1.0", "raised in session_ended: ValueError: y")],
        path,
        now=datetime(2026, 12, 3, 10, 0, 0),
    )
    failures = read_failures(path)
    assert [(f.name, f.reason, f.at) for f in failures] == [
        ("flaky", "raised in session_ended: ValueError: y", "2026-12-03T10:00:00")
    ]  # the latest failure of each plugin; a plugin without an error is not written

    host = PluginHost()
    host.records["flaky"] = _record("flaky", "1.0", None)
    assert [f.name for f in installed_failures(host, path)] == ["flaky"]
    host.records["flaky"] = _record("flaky", "1.1", None)  # updated since: not its failure
    assert installed_failures(host, path) == []
    del host.records["flaky"]  # uninstalled
    assert installed_failures(host, path) == []


def test_an_unusable_failures_file_is_treated_as_empty_and_never_raises(tmp_path: Path) -> None:
    path = tmp_path / "plugin-failures.json"
    path.write_text("{not json", encoding="utf-8")
    assert read_failures(path) == []
    path.write_text(json.dumps({"failures": [{"name": "x"}]}), encoding="utf-8")
    assert read_failures(path) == []
    blocked = tmp_path / "a-file"
    blocked.write_text("", encoding="utf-8")
    remember_failures([_record("flaky", "1", "raised")], blocked / "plugin-failures.json")


def test_the_failures_file_sits_beside_the_plugin_settings() -> None:
    assert failures_path().parent == Path(os.environ["MC_CONSOLE_PLUGIN_SETTINGS"]).parent


# -- the window --------------------------------------------------------------------------------


class FailingStepObserver:
    """An observer whose ``step_started`` raises."""

    mc_console_api = "1.1"
    __version__ = "0.0.2"

    @hookimpl
    def step_started(self, session: Any, index: int, step: Any) -> None:
        raise RuntimeError(f"observer bug at step {index + 1}")


class BrokenAtStart:
    """A plugin refused at start: it implements a hook the console does not have."""

    mc_console_api = "1.1"

    @hookimpl
    def session_paused(self, session: Any) -> None:  # not a hook of this console
        """Never called."""


def _window(
    qtbot: Any, tmp_path: Path, extra: dict[str, object]
) -> tuple[MainWindow, SteppedClock]:
    make_application()
    host = PluginHost()
    host.load_entrypoints()
    for name, plugin in extra.items():
        host.register(plugin, name)
    host.collect()
    console = Console(host)
    clock = SteppedClock()
    console.connect("simulator", clock=clock)
    settings = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow(console, settings)
    qtbot.addWidget(window)
    window.show_connection(console.connection)
    window.show()
    return window, clock


def test_an_observer_failing_in_a_session_is_named_in_the_status_bar_and_remembered(
    qtbot: Any, tmp_path: Path, dialogs: list[tuple[str, str]]
) -> None:
    window, clock = _window(qtbot, tmp_path, {"step-logger": FailingStepObserver()})
    try:
        assert window.plugin_note.isHidden()  # every plugin works: nothing said
        prepare_demo_visit(window, "toning")
        window.start_session()
        clock.run_until(5.0)
        qtbot.waitUntil(lambda: window.plugin_note.isVisible(), timeout=10000)
        text = window.plugin_note.text()
        assert "step-logger" in text and "failed and is switched off" in text
        assert "Help ▸ Plugins…" in text
        assert "observer bug at step 1" in window.plugin_note.toolTip()
        assert window.statusBar().isAncestorOf(window.plugin_note)
        engine = window.engine
        assert engine is not None and engine.state.output_may_be_on  # the session goes on

        [failure] = read_failures()
        assert (failure.name, failure.version) == ("step-logger", "0.0.2")
        assert failure.reason == "raised in step_started: RuntimeError: observer bug at step 1"

        window.plugin_note.linkActivated.emit("plugins")  # the operator follows the link
        managers = [
            w
            for w in QtWidgets.QApplication.topLevelWidgets()
            if isinstance(w, PluginManagerDialog)
        ]
        assert managers and managers[-1].isVisible()
        managers[-1].select("step-logger")
        assert "observer bug at step 1" in managers[-1].details.toPlainText()
    finally:
        if window.engine is not None:
            window.engine.emergency_stop()
        clock.release()
        window.console.disconnect()


def test_a_plugin_refused_at_start_is_named_too(
    qtbot: Any, tmp_path: Path, dialogs: list[tuple[str, str]]
) -> None:
    window, clock = _window(qtbot, tmp_path, {"paused-logger": BrokenAtStart()})
    try:
        assert window.plugin_note.isVisible()
        assert "paused-logger" in window.plugin_note.text()
        assert read_failures() == []  # 'mc-console plugins' finds these by loading the plugins
    finally:
        clock.release()
        window.console.disconnect()


# -- the command line --------------------------------------------------------------------------


@pytest.mark.parametrize("hook", ["session_started", "session_ended"])
def test_run_says_which_observer_failed_and_plugins_lists_it_afterwards(
    tmp_path: Path, hook: str
) -> None:
    site = tmp_path / "site"
    install_observer(site, hook)

    before = mc_console(site, "plugins")
    assert before.returncode == 0, before.stderr
    assert "Failed during a session" not in before.stdout

    run = mc_console(site, "run", "--protocol", "express-lift", "--speed", "max")
    assert run.returncode == 0, run.stderr
    assert "TOTAL" in run.stdout  # the treatment went on to its end
    warning = (
        f"mc-console: warning: plugin flaky was switched off during the session (raised in "
        f"{hook}: RuntimeError: observer bug in {hook}); see 'mc-console plugins'"
    )
    assert warning in run.stderr.splitlines()

    after = mc_console(site, "plugins")
    assert after.returncode == 0, after.stderr
    row = next(line for line in after.stdout.splitlines() if line.startswith("flaky "))
    assert "active (FAILED in a session)" in row
    lines = after.stdout.splitlines()
    heading = lines.index("Failed during a session (switched off for the rest of that run):")
    entry = lines[heading + 1]
    assert entry.startswith("  flaky 0.0.1, 20") and entry.endswith(
        f"raised in {hook}: RuntimeError: observer bug in {hook}"
    )

    install_observer(site, hook, version="0.0.2")  # the vendor's fix, installed
    fixed = mc_console(site, "plugins")
    assert "Failed during a session" not in fixed.stdout
    assert "FAILED" not in fixed.stdout


class FailingStartObserver:
    """An observer whose ``session_started`` raises."""

    mc_console_api = "1.1"
    __version__ = "3.1.0"

    @hookimpl
    def session_started(self, session: Any) -> None:
        raise RuntimeError("no network share")


def test_the_plugin_manager_shows_an_earlier_failure_and_one_met_while_it_is_open(
    qtbot: Any, tmp_path: Path
) -> None:
    make_application()
    host = PluginHost()
    host.load_entrypoints()
    host.register(FailingStepObserver(), "step-logger")
    host.register(FailingStartObserver(), "share-logger")
    host.collect()
    settings = tmp_path / "plugins.json"
    remember_failures(
        [PluginRecord("step-logger", "x", "0.0.2", error="raised in step_started: KeyError: 3")],
        settings.with_name("plugin-failures.json"),
        now=datetime(2026, 12, 1, 17, 5, 9),
    )
    dialog = PluginManagerDialog(host, settings_path=settings)
    qtbot.addWidget(dialog)
    assert dialog.status_text("step-logger") == "active (failed in a session)"
    dialog.select("step-logger")
    details = dialog.details.toPlainText()
    assert "It failed during a session on 2026-12-01 at 17:05:09" in details
    assert "raised in step_started: KeyError: 3" in details

    dialog.select("share-logger")
    assert dialog.status_text("share-logger") == "active"
    host.notify("session_started", session=None)  # a session starts beside the open dialog
    row = dialog.items["share-logger"]
    qtbot.waitUntil(lambda: dialog.items["share-logger"].text(STATUS) == "FAILED", timeout=5000)
    assert row is not dialog.items["share-logger"]  # the list was filled again
    qtbot.waitUntil(lambda: "no network share" in dialog.details.toPlainText(), timeout=5000)
    assert dialog.current_name() == "share-logger"  # the selection is kept
