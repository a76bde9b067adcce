"""Disabling plugins across starts: the settings file, the plugin manager dialog, and the host.

The settings module is tested on files in a temporary folder; the dialog (pytest-qt, offscreen)
over a host loaded from the real entry points, with made-up vendor plugins registered in code;
and end to end: a plugin disabled in the settings is blocked by ``load_plugins`` and listed as
blocked by ``mc-console plugins`` in a subprocess that gets the settings file through
``MC_CONSOLE_PLUGIN_SETTINGS``. A screenshot goes to ``test-artifacts/plugin-manager.png``.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from platformdirs import user_config_dir
from PySide6 import QtCore

from console import hookimpl
from console.hookspecs import PLUGIN_API_VERSION
from console.plugin_settings import (
    SETTINGS_ENV,
    LastDriverPluginError,
    disabled_plugins,
    read_plugin_settings,
    set_plugin_disabled,
    settings_path,
)
from console.plugins import DISABLE_ENV, TRACE_ENV, PluginHost, load_plugins
from console.ui.app import make_application
from console.ui.plugin_manager import (
    NAME,
    NEXT_START,
    STATUS,
    PluginManagerDialog,
    plain_reason,
)
from support import BUILT_IN_DRIVERS

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
BUILT_IN_PROTOCOLS = ("lifting", "toning", "circulation")
BUILT_IN_PLUGINS = (*BUILT_IN_DRIVERS, *BUILT_IN_PROTOCOLS, "packs")
OWN_VERSION = importlib.metadata.version("microcurrent-console")
CHECKED = QtCore.Qt.CheckState.Checked
UNCHECKED = QtCore.Qt.CheckState.Unchecked
WINDOWS = sys.platform == "win32"


@pytest.fixture(autouse=True)
def _own_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The developer's own plugins.json and MC_CONSOLE_DISABLE must not change these tests."""
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    monkeypatch.delenv(TRACE_ENV, raising=False)
    path = tmp_path_factory.mktemp("default-settings") / "plugins.json"
    monkeypatch.setenv(SETTINGS_ENV, str(path))
    return path


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A settings file that does not exist yet, in a folder that does not exist yet."""
    return tmp_path / "config" / "plugins.json"


# -- made-up plugins ---------------------------------------------------------------------------


class CrashingDriverPlugin:
    """A vendor's driver plugin whose ``register_drivers`` raises (a missing vendor library)."""

    mc_console_api = PLUGIN_API_VERSION
    __version__ = "2.3.4"

    @hookimpl
    def register_drivers(self) -> list[Any]:
        raise RuntimeError("serial adapter library missing: no module named 'ftd2xx'")


class FutureProtocolPack:
    """A protocol pack written for a plugin API this console does not speak."""

    mc_console_api = "2.0"
    __version__ = "0.9"

    @hookimpl
    def register_protocols(self) -> list[Any]:
        return []


def built_in_host(
    *, blocked: set[str] | None = None, vendor: dict[str, Any] | None = None, **in_code: object
) -> PluginHost:
    """The installed plugins (minus ``blocked``), plus ``vendor`` plugins as if installed from
    the package acme-stim, and plugins registered ``in_code``."""
    host = PluginHost(blocked=blocked)
    host.load_entrypoints()
    for name, plugin in (vendor or {}).items():
        host.register(plugin, name, origin=f"acme-stim {plugin.__version__}")
    for name, plugin in in_code.items():
        host.register(plugin, name)
    host.collect()
    return host


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- the settings file -------------------------------------------------------------------------


def test_no_file_means_nothing_is_disabled(path: Path) -> None:
    assert disabled_plugins(path) == set()
    settings = read_plugin_settings(path)
    assert settings.disabled == frozenset()
    assert settings.warning is None
    assert settings.path == path
    assert not path.exists()  # reading never creates the file


def test_disabling_and_enabling_round_trip(path: Path) -> None:
    """Disabled names survive a restart (a new read); enabling one removes only that one."""
    set_plugin_disabled("toning", True, path, driver_plugins=BUILT_IN_DRIVERS)
    set_plugin_disabled("circulation", True, path, driver_plugins=BUILT_IN_DRIVERS)
    set_plugin_disabled("toning", True, path, driver_plugins=BUILT_IN_DRIVERS)  # no duplicate
    assert disabled_plugins(path) == {"toning", "circulation"}
    set_plugin_disabled("circulation", False, path)
    set_plugin_disabled("never-disabled", False, path)
    assert disabled_plugins(path) == {"toning"}
    assert json.loads(path.read_text(encoding="utf-8")) == {"disabled": ["toning"], "version": 1}


def test_keys_a_newer_console_wrote_are_kept(path: Path) -> None:
    write(path, json.dumps({"version": 1, "disabled": ["lifting"], "pinned": {"acme": "2.x"}}))
    set_plugin_disabled("toning", True, path, driver_plugins=BUILT_IN_DRIVERS)
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "version": 1,
        "disabled": ["lifting", "toning"],
        "pinned": {"acme": "2.x"},
    }


@pytest.mark.skipif(WINDOWS, reason="POSIX file modes")
def test_the_file_is_owner_only(path: Path) -> None:
    """0600 for the file and 0700 for the folder it creates, whatever the umask allows others."""
    old_umask = os.umask(0o022)
    try:
        set_plugin_disabled("toning", True, path, driver_plugins=BUILT_IN_DRIVERS)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    # An existing file that someone made readable by all is owner-only again after a change.
    path.chmod(0o644)
    set_plugin_disabled("lifting", True, path, driver_plugins=BUILT_IN_DRIVERS)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["plugins.json"]  # no temporary left


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{not json", "is not valid JSON (Expecting property name enclosed in double quotes"),
        (b"", "is not valid JSON (Expecting value at line 1, column 1)"),
        (b'["toning"]', 'holds a JSON list where an object such as {"disabled": ["toning"]}'),
        (b'{"disabled": "toning"}', '"disabled" is a JSON string where a list of plugin names'),
        (b'{"disabled": ["ton\xffing"]}', "is not UTF-8 text"),
    ],
)
def test_a_corrupt_file_is_reported_and_treated_as_empty(
    path: Path, content: bytes, problem: str, caplog: pytest.LogCaptureFixture
) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="console.plugin_settings"):
        assert disabled_plugins(path) == set()
    settings = read_plugin_settings(path)
    assert settings.disabled == frozenset()
    assert settings.warning is not None
    assert str(path) in settings.warning
    assert problem in settings.warning
    assert settings.warning.endswith("it is ignored and no plugin is disabled by it.")
    assert [record.getMessage() for record in caplog.records] == [settings.warning]


def test_entries_that_are_not_names_are_ignored_with_a_warning(path: Path) -> None:
    write(path, json.dumps({"disabled": ["toning", 3, None, " ", " lifting "]}))
    settings = read_plugin_settings(path)
    assert settings.disabled == {"toning", "lifting"}
    assert settings.warning == (
        f'In the plugin settings file {path}, these entries of "disabled" are not plugin '
        'names and are ignored: 3, null, " ".'
    )


def test_an_unreadable_file_is_reported_not_raised(tmp_path: Path) -> None:
    """A folder where the file should be: a warning that says why, and nothing disabled."""
    folder = tmp_path / "plugins.json"
    folder.mkdir()
    settings = read_plugin_settings(folder)
    assert settings.disabled == frozenset()
    assert settings.warning is not None
    assert settings.warning.startswith(f"The plugin settings file {folder} cannot be read (")


def test_saving_over_a_corrupt_file_keeps_its_content_beside_it(path: Path) -> None:
    write(path, '{"disabled": ["toning",')
    set_plugin_disabled("lifting", True, path, driver_plugins=BUILT_IN_DRIVERS)
    assert disabled_plugins(path) == {"lifting"}
    kept = path.with_name("plugins.json.corrupt")
    assert kept.read_text(encoding="utf-8") == '{"disabled": ["toning",'


def test_the_last_driver_plugin_cannot_be_disabled(path: Path) -> None:
    """Two of three driver plugins may go; the third is refused, saying why, and nothing is saved."""
    set_plugin_disabled("framed", True, path, driver_plugins=BUILT_IN_DRIVERS)
    set_plugin_disabled("scpi", True, path, driver_plugins=BUILT_IN_DRIVERS)
    before = path.read_bytes()
    with pytest.raises(LastDriverPluginError) as refused:
        set_plugin_disabled("simulator", True, path, driver_plugins=BUILT_IN_DRIVERS)
    assert isinstance(refused.value, ValueError)
    assert str(refused.value) == (
        "'simulator' is the last plugin that provides a machine driver, so it cannot be "
        "disabled: the console must always keep at least one driver. Enable another driver "
        "plugin first."
    )
    assert path.read_bytes() == before
    # Plugins without a driver can still go, and enabling a driver plugin frees the simulator.
    set_plugin_disabled("toning", True, path, driver_plugins=BUILT_IN_DRIVERS)
    set_plugin_disabled("scpi", False, path)
    set_plugin_disabled("simulator", True, path, driver_plugins=BUILT_IN_DRIVERS)
    assert disabled_plugins(path) == {"framed", "simulator", "toning"}


def test_a_console_with_a_single_driver_plugin_keeps_it(path: Path) -> None:
    with pytest.raises(ValueError, match="last plugin that provides a machine driver"):
        set_plugin_disabled("simulator", True, path, driver_plugins=["simulator"])
    assert not path.exists()


def test_disabling_needs_the_driver_plugins(path: Path) -> None:
    """The safety check cannot be skipped by forgetting the argument."""
    with pytest.raises(TypeError, match="needs driver_plugins="):
        set_plugin_disabled("toning", True, path)
    with pytest.raises(ValueError, match="non-empty string"):
        set_plugin_disabled("  ", True, path, driver_plugins=BUILT_IN_DRIVERS)
    assert not path.exists()


def test_an_unwritable_location_raises_os_error(tmp_path: Path) -> None:
    blocker = write(tmp_path / "not-a-folder", "")
    with pytest.raises(OSError):
        set_plugin_disabled(
            "toning", True, blocker / "plugins.json", driver_plugins=BUILT_IN_DRIVERS
        )


def test_the_settings_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The user's config folder by default; MC_CONSOLE_PLUGIN_SETTINGS overrides it."""
    monkeypatch.delenv(SETTINGS_ENV)
    expected = Path(user_config_dir("mc-console", "Microcurrent Console")) / "plugins.json"
    assert settings_path() == expected
    monkeypatch.setenv(SETTINGS_ENV, str(tmp_path / "central.json"))
    assert settings_path() == tmp_path / "central.json"
    set_plugin_disabled("toning", True, driver_plugins=BUILT_IN_DRIVERS)
    assert disabled_plugins() == {"toning"}
    assert json.loads((tmp_path / "central.json").read_text(encoding="utf-8"))["disabled"] == [
        "toning"
    ]


# -- the dialog --------------------------------------------------------------------------------


@pytest.fixture
def open_dialog(qtbot: Any, path: Path):  # type: ignore[no-untyped-def]
    """Build and show a plugin manager over ``host`` (shown with ``show()``: never modal here)."""

    def factory(host: PluginHost, settings: Path = path) -> PluginManagerDialog:
        make_application()  # the shipped clinic style sheet
        dialog = PluginManagerDialog(host, settings)
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        return dialog

    return factory


def texts(dialog: PluginManagerDialog, name: str) -> list[str]:
    item = dialog.items[name]
    return [item.text(column) for column in range(dialog.tree.columnCount())]


def test_the_dialog_lists_the_built_ins_with_versions_and_origins(open_dialog: Any) -> None:
    dialog = open_dialog(built_in_host())
    assert dialog.windowTitle() == "Plugins"
    assert list(dialog.items) == sorted(BUILT_IN_PLUGINS)
    registers = {
        "simulator": "driver simulator",
        "framed": "driver framed",
        "scpi": "driver scpi",
        "lifting": "protocol lifting",
        "toning": "protocol toning",
        "circulation": "protocol circulation",
        "packs": "protocol express-lift",
    }
    for name in BUILT_IN_PLUGINS:
        hooks = "register_drivers" if name in BUILT_IN_DRIVERS else "register_protocols"
        assert texts(dialog, name) == [
            name,
            OWN_VERSION,
            "built-in",
            PLUGIN_API_VERSION,
            hooks,
            registers[name],
            "active",
        ]
        assert dialog.items[name].checkState(NAME) == CHECKED
    dialog.select("simulator")
    details = dialog.details.toPlainText()
    assert "simulator — active" in details
    assert f"Version {OWN_VERSION}" in " ".join(details.split())
    assert dialog.toggle.text() == "Disable from the next start"


def test_a_failed_plugin_shows_its_error_in_plain_words_and_in_full(open_dialog: Any) -> None:
    host = built_in_host(
        vendor={"acme_s2": CrashingDriverPlugin()}, future_pack=FutureProtocolPack()
    )
    dialog = open_dialog(host)
    error = "raised in register_drivers: RuntimeError: serial adapter library missing: no module named 'ftd2xx'"
    assert host.records["acme_s2"].error == error
    assert texts(dialog, "acme_s2") == [
        "acme_s2",
        "2.3.4",
        "package acme-stim 2.3.4",
        PLUGIN_API_VERSION,
        "register_drivers",
        "—",
        "FAILED",
    ]
    assert dialog.items["acme_s2"].toolTip(STATUS) == error
    dialog.select("acme_s2")
    details = " ".join(dialog.details.toPlainText().split())
    assert (
        "This plugin failed and is switched off. It went wrong while the console was using it"
        in details
    )
    assert f"What the console reported: {error}" in details
    assert texts(dialog, "future_pack") == ["future_pack", "0.9", "code", "2.0", "—", "—", "FAILED"]
    dialog.select("future_pack")
    details = " ".join(dialog.details.toPlainText().split())
    assert "It was made for a different version of the console." in details
    assert (
        f"was written for plugin API 2.0, but this console speaks {PLUGIN_API_VERSION}" in details
    )


def test_unticking_a_plugin_saves_it_for_the_next_start(open_dialog: Any, path: Path) -> None:
    host = built_in_host()
    dialog = open_dialog(host)
    dialog.items["toning"].setCheckState(NAME, UNCHECKED)  # as a click on the box does
    assert disabled_plugins(path) == {"toning"}
    assert texts(dialog, "toning")[-1] == "active — disabled from next start"
    assert dialog.banner.isVisible()
    assert dialog.banner.property("level") == "warning"
    assert NEXT_START in dialog.banner.text()
    assert dialog.banner.text().startswith("Saved: toning will be disabled.")
    assert "toning" in host.protocols  # nothing is unloaded mid-session
    dialog.select("toning")
    assert dialog.toggle.text() == "Enable from the next start"
    assert f"Changed: this {NEXT_START}" in dialog.details.toPlainText()
    dialog.toggle.click()
    assert disabled_plugins(path) == set()
    assert dialog.items["toning"].checkState(NAME) == CHECKED
    assert texts(dialog, "toning")[-1] == "active"


def test_space_ticks_and_unticks_the_selected_plugin(
    open_dialog: Any, path: Path, qtbot: Any
) -> None:
    """The keyboard way: select a plugin, Space to untick it (saved), Space again to tick it."""
    dialog = open_dialog(built_in_host())
    dialog.select("lifting")
    dialog.tree.setFocus()
    qtbot.keyClick(dialog.tree.viewport(), QtCore.Qt.Key.Key_Space)
    assert disabled_plugins(path) == {"lifting"}
    qtbot.keyClick(dialog.tree.viewport(), QtCore.Qt.Key.Key_Space)
    assert disabled_plugins(path) == set()


def test_a_plugin_disabled_at_this_start_can_be_enabled_again(open_dialog: Any, path: Path) -> None:
    set_plugin_disabled("toning", True, path, driver_plugins=BUILT_IN_DRIVERS)
    set_plugin_disabled("acme_gone", True, path, driver_plugins=BUILT_IN_DRIVERS)
    dialog = open_dialog(built_in_host(blocked=disabled_plugins(path)))
    assert texts(dialog, "toning")[:3] == ["toning", OWN_VERSION, "built-in"]
    assert texts(dialog, "toning")[3:] == ["—", "not loaded", "—", "disabled"]
    assert dialog.items["toning"].checkState(NAME) == UNCHECKED
    assert texts(dialog, "acme_gone")[-1] == "disabled (not installed)"
    dialog.select("toning")
    dialog.toggle.click()
    assert texts(dialog, "toning")[-1] == "disabled — enabled from next start"
    dialog.items["acme_gone"].setCheckState(NAME, CHECKED)
    assert disabled_plugins(path) == set()


def test_the_dialog_refuses_to_disable_the_last_driver_plugin(open_dialog: Any, path: Path) -> None:
    dialog = open_dialog(built_in_host(blocked={"framed", "scpi"}))
    assert dialog.driver_plugins == ["simulator"]
    dialog.items["simulator"].setCheckState(NAME, UNCHECKED)
    assert dialog.banner.property("level") == "danger"
    assert "'simulator' is the last plugin that provides a machine driver" in dialog.banner.text()
    assert dialog.items["simulator"].checkState(NAME) == CHECKED
    assert texts(dialog, "simulator")[-1] == "active"
    assert not path.exists()


def test_a_failure_to_save_is_shown_and_changes_nothing(open_dialog: Any, tmp_path: Path) -> None:
    blocker = write(tmp_path / "not-a-folder", "")
    dialog = open_dialog(built_in_host(), blocker / "plugins.json")
    dialog.items["toning"].setCheckState(NAME, UNCHECKED)
    assert dialog.banner.property("level") == "danger"
    assert dialog.banner.text().startswith(f"The change could not be saved to {blocker}")
    assert dialog.banner.text().endswith("nothing was changed.")
    assert dialog.items["toning"].checkState(NAME) == CHECKED
    assert dialog.disabled == set()


def test_the_dialog_says_when_the_settings_file_is_corrupt(open_dialog: Any, path: Path) -> None:
    write(path, "{not json")
    dialog = open_dialog(built_in_host())
    assert dialog.banner.isVisible()
    assert dialog.banner.property("level") == "warning"
    assert "is not valid JSON" in dialog.banner.text()
    assert dialog.banner.text().endswith("Changing a plugin here saves a new file.")


def test_a_plugin_blocked_by_the_environment_is_not_the_dialog_s_to_enable(
    open_dialog: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DISABLE_ENV, "circulation")
    dialog = open_dialog(built_in_host())
    assert texts(dialog, "circulation")[-1] == "disabled by MC_CONSOLE_DISABLE"
    assert not dialog.items["circulation"].flags() & QtCore.Qt.ItemFlag.ItemIsUserCheckable
    dialog.select("circulation")
    assert not dialog.toggle.isEnabled()
    assert "Disabled by the MC_CONSOLE_DISABLE environment variable" in dialog.details.toPlainText()


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (
            "failed to import 'acme.plugin': ModuleNotFoundError: No module named 'acme'",
            "could not be loaded",
        ),
        ("does not declare mc_console_api (the plugin-API version ...", "different version"),
        (
            "declares mc_console_api = '1'; expected 'MAJOR.MINOR' such as '1.1'",
            "different version",
        ),
        ("was written for plugin API 2.0, but this console speaks 1.0; ...", "different version"),
        ("raised in session_started: RuntimeError: observer bug", "switched it off"),
        ("register_drivers returned dict, not a list", "switched it off"),
        (
            "implements unknown hook(s) register_driver; see the hook reference (docs/hook-reference.md)",
            "plugin interface",
        ),
        ("could not be registered: bad hookimpl", "plugin interface"),
        ("another plugin is already registered as 'acme'", "same name"),
        ("something new", "could not use it"),
    ],
)
def test_every_kind_of_failure_has_plain_words(error: str, words: str) -> None:
    assert words in plain_reason(error)


def test_screenshot(open_dialog: Any, path: Path, qtbot: Any) -> None:
    """The dialog as a clinic sees it after unticking toning, a failed vendor plugin selected."""
    dialog = open_dialog(
        built_in_host(vendor={"acme_s2": CrashingDriverPlugin()}, future_pack=FutureProtocolPack())
    )
    dialog.items["toning"].setCheckState(NAME, UNCHECKED)
    dialog.select("acme_s2")
    qtbot.wait(50)  # let the layouts settle
    ARTIFACTS.mkdir(exist_ok=True)
    image = dialog.grab()
    assert image.width() >= 900
    assert image.save(str(ARTIFACTS / "plugin-manager.png"))
    # Nothing that matters is cut: every column's text fits, except the elided hook names.
    tree = dialog.tree
    metrics = tree.fontMetrics()
    for item in dialog.items.values():
        for column in (0, 1, 2, 3, 5, 6):
            assert metrics.horizontalAdvance(item.text(column)) < tree.columnWidth(column)


# -- end to end --------------------------------------------------------------------------------


def test_a_disabled_plugin_is_blocked_at_the_next_start(path: Path) -> None:
    set_plugin_disabled("toning", True, path, driver_plugins=BUILT_IN_DRIVERS)
    host = load_plugins(blocked=disabled_plugins(path))
    assert "toning" not in host.protocols
    assert {"lifting", "circulation"} <= set(host.protocols)
    record = host.records["toning"]
    assert record.blocked
    assert not record.active
    assert record.error is None
    assert host.failures == []


def test_load_plugins_reads_the_settings_by_default(
    monkeypatch: pytest.MonkeyPatch, path: Path
) -> None:
    """What the CLI and the GUI call: the clinic's settings apply without being passed in."""
    monkeypatch.setenv(SETTINGS_ENV, str(path))
    set_plugin_disabled("toning", True, driver_plugins=BUILT_IN_DRIVERS)
    host = load_plugins()
    assert host.records["toning"].blocked
    assert "toning" not in host.protocols
    assert load_plugins(blocked=()).records["toning"].active  # an explicit list wins


def test_mc_console_plugins_lists_a_disabled_plugin_as_blocked(path: Path) -> None:
    set_plugin_disabled("toning", True, path, driver_plugins=BUILT_IN_DRIVERS)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", SETTINGS_ENV: str(path)}
    env.pop(DISABLE_ENV, None)
    completed = subprocess.run(
        [sys.executable, "-m", "console.cli", "plugins"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    rows = {
        line.split()[0]: line.split()
        for line in completed.stdout.splitlines()
        if line.split() and line.split()[0] in BUILT_IN_PLUGINS
    }
    assert set(rows) == set(BUILT_IN_PLUGINS)
    assert rows["toning"][:5] == ["toning", OWN_VERSION, "built-in", "-", "blocked"]
    assert rows["lifting"][4] == "active"
    assert "Traceback" not in completed.stderr


def test_help_plugins_opens_the_manager_over_the_console_s_plugins(
    qtbot: Any, tmp_path: Path, dialogs: list[tuple[str, str]], _own_settings: Path
) -> None:
    """Help ▸ Plugins… (Ctrl+Shift+P) shows the running console's plugins, without blocking."""
    from console.session import Console
    from console.ui.main_window import MainWindow

    make_application()
    console = Console(built_in_host(vendor={"acme_s2": CrashingDriverPlugin()}))
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow(console, settings)
    qtbot.addWidget(window)
    (action,) = [a for a in window.actions() if a.text() == "&Plugins…"]
    assert action.shortcut().toString() == "Ctrl+Shift+P"
    action.trigger()
    dialog = window.findChild(PluginManagerDialog)
    assert dialog is not None
    qtbot.waitExposed(dialog)
    assert dialog.host is console.host
    assert dialog.settings_path == _own_settings  # MC_CONSOLE_PLUGIN_SETTINGS
    assert texts(dialog, "acme_s2")[-1] == "FAILED"
    dialog.items["lifting"].setCheckState(NAME, UNCHECKED)
    assert disabled_plugins() == {"lifting"}
    dialog.reject()
    qtbot.waitUntil(lambda: window.findChild(PluginManagerDialog) is None, timeout=2000)
    assert dialogs == []
