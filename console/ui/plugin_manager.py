"""The plugin manager (Help ▸ Plugins…): every plugin, what it offers, and switching one off.

Each plugin is listed with its version, where it comes from (built-in, an installed package, or
registered in code), the plugin-API version it declares, the hooks it implements, what it
registers and its status: active, disabled, or FAILED with the reason in plain words (and the
technical message in full once selected). A plugin that failed during an earlier session (and
was switched off for the rest of that run) says so too, with when and why
(:mod:`console.plugin_failures`); the list follows failures met while it is open.

Unticking a plugin disables it **from the next start**: the choice is saved at once through
:mod:`console.plugin_settings`, but a plugin cannot be unloaded safely from a running console, so
it keeps working until the console is restarted. The last plugin that provides a driver cannot be
disabled (the console must always have one).
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from console import plugin_settings
from console.plugin_failures import FAILURES_FILE, RuntimeFailure, installed_failures
from console.plugin_settings import LastDriverPluginError, read_plugin_settings, set_plugin_disabled
from console.plugins import DISABLE_ENV, PluginHost, PluginRecord
from console.ui.restyle import repolish

#: Column order of the plugin list.
COLUMNS = ("Plugin", "Version", "Origin", "API", "Hooks", "Registers", "Status")
NAME, VERSION, ORIGIN, API, HOOKS, REGISTERS, STATUS = range(len(COLUMNS))
NEXT_START = "takes effect at the next start"
#: How often an open plugin manager looks for plugins that failed since it was filled.
REFRESH_MS = 500

_COLOURS = {  # the theme's text colours for meaning (resources/style.qss)
    "failed": "#a11d1d",
    "pending": "#7a5400",
    "disabled": "#5f6b73",
    "active": "#1d5b2f",
}
_STYLE = """
QTreeWidget#pluginList, QTextBrowser#pluginDetails {
    background: #ffffff; border: 1px solid #cfd8dc; border-radius: 4px;
}
QTreeWidget#pluginList::item { padding: 3px 8px 3px 2px; }
QLabel#pluginIntro, QLabel#pluginSettingsPath { color: #4a5a64; }
"""


def origin_text(record: PluginRecord) -> str:
    """Where a plugin comes from, in the three words an operator needs."""
    if record.origin == "built-in":
        return "built-in"
    if record.origin == "registered in code":
        return "code"
    return f"package {record.origin}"


def plain_reason(error: str) -> str:
    """What a plugin's failure means for the clinic, and what to do about it."""
    if error.startswith("failed to import"):
        return (
            "Its program files could not be loaded (a file or a package it needs is missing or "
            "broken). Reinstall or update the plugin, or ask its vendor."
        )
    if "mc_console_api" in error or error.startswith("was written for plugin API"):
        return (
            "It was made for a different version of the console. Install the version of the "
            "plugin made for this console."
        )
    if error.startswith("raised in") or "returned" in error:
        return (
            "It went wrong while the console was using it, so the console switched it off and "
            "carried on without it. Report this to the plugin's vendor."
        )
    if error.startswith(("implements unknown hook", "could not be registered")):
        return (
            "It does not fit this console's plugin interface (a mistake in the plugin). "
            "Report this to the plugin's vendor."
        )
    if error.startswith("another plugin is already registered"):
        return (
            "Two installed plugins use the same name, and only the first one is loaded. "
            "Uninstall one of them."
        )
    return "The console could not use it and switched it off."


def registers_text(record: PluginRecord) -> str:
    """The drivers and protocols a plugin registered, or a dash."""
    parts = []
    if record.drivers:
        parts.append(f"driver{'s' if len(record.drivers) > 1 else ''} {', '.join(record.drivers)}")
    if record.protocols:
        plural = "s" if len(record.protocols) > 1 else ""
        parts.append(f"protocol{plural} {', '.join(record.protocols)}")
    return "; ".join(parts) or "—"


class PluginManagerDialog(QtWidgets.QDialog):
    """Lists every plugin of ``host`` and saves which ones to disable from the next start.

    ``settings_path`` is the plugin settings file (default:
    :func:`console.plugin_settings.settings_path`).
    """

    def __init__(
        self,
        host: PluginHost,
        settings_path: Path | None = None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Plugins")
        self.setObjectName("pluginManager")
        self.setStyleSheet(_STYLE)
        self.host = host
        self.settings_path = (
            settings_path if settings_path is not None else plugin_settings.settings_path()
        )
        saved = read_plugin_settings(self.settings_path)
        #: Plugins disabled in the settings file, as saved.
        self.disabled: set[str] = set(saved.disabled)
        #: Plugins blocked by the MC_CONSOLE_DISABLE environment variable (not ours to enable).
        self.env_blocked = {
            n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()
        }
        self._filling = False
        #: Failures of installed plugins during earlier sessions, by plugin name.
        self.earlier: dict[str, RuntimeFailure] = {
            failure.name: failure
            for failure in installed_failures(host, self.settings_path.with_name(FAILURES_FILE))
        }
        self._seen_errors = self._errors()

        intro = QtWidgets.QLabel(
            "Plugins give the console its machine drivers and treatment protocols. Untick a "
            f"plugin to disable it; the change is saved at once and {NEXT_START} of the console "
            "(a plugin cannot be unloaded while the console runs)."
        )
        intro.setObjectName("pluginIntro")
        intro.setWordWrap(True)
        self.banner = QtWidgets.QLabel("")
        self.banner.setObjectName("alertBanner")
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.hide()

        self.tree = QtWidgets.QTreeWidget()
        self.tree.setObjectName("pluginList")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(False)
        self.tree.setAllColumnsShowFocus(True)
        self.tree.setWordWrap(False)
        self.tree.setTextElideMode(QtCore.Qt.TextElideMode.ElideRight)
        self.tree.setToolTip("Untick a plugin to disable it from the next start")
        header = self.tree.header()
        header.setStretchLastSection(False)
        for column in (NAME, VERSION, ORIGIN, API):
            header.setSectionResizeMode(column, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        # Hooks stretch (and elide, the whole list is in the tooltip and the details below);
        # what a plugin registers is what the operator looks for, so it is never cut.
        header.setSectionResizeMode(HOOKS, QtWidgets.QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(REGISTERS, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(STATUS, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.items: dict[str, QtWidgets.QTreeWidgetItem] = {}
        self._fill()
        self.tree.itemChanged.connect(self._item_changed)
        self.tree.currentItemChanged.connect(lambda *_: self._show_details())

        self.details = QtWidgets.QTextBrowser()
        self.details.setObjectName("pluginDetails")
        self.details.setOpenLinks(False)
        self.toggle = QtWidgets.QPushButton("Disable from the next start")
        self.toggle.setObjectName("pluginToggle")
        self.toggle.clicked.connect(self._toggle_current)
        path_label = QtWidgets.QLabel(f"Saved in {self.settings_path}")
        path_label.setObjectName("pluginSettingsPath")
        path_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        path_label.setWordWrap(True)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        splitter.addWidget(self.tree)
        splitter.addWidget(self.details)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([250, 250])
        bottom = QtWidgets.QHBoxLayout()
        bottom.addWidget(self.toggle)
        bottom.addWidget(path_label, 1)
        bottom.addWidget(buttons)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)
        layout.addLayout(bottom)

        if saved.warning:
            self._say(f"{saved.warning} Changing a plugin here saves a new file.", level="warning")
        if self.tree.topLevelItemCount():
            self.tree.setCurrentItem(self.tree.topLevelItem(0))
        self.resize(1040, 640)
        # An observer may fail while the dialog is open (a session runs beside it).
        self._refresh_timer = QtCore.QTimer(self)
        self._refresh_timer.setInterval(REFRESH_MS)
        self._refresh_timer.timeout.connect(self.refresh)
        self._refresh_timer.start()

    def _errors(self) -> dict[str, str | None]:
        return {name: record.error for name, record in list(self.host.records.items())}

    def refresh(self) -> None:
        """Show plugins that failed since the list was filled (the selection is kept)."""
        errors = self._errors()
        if errors == self._seen_errors:
            return
        self._seen_errors = errors
        selected = self.current_name()
        self._fill()
        if selected in self.items:
            self.select(selected)
        self._show_details()

    # -- what the dialog shows -------------------------------------------------------------

    @property
    def driver_plugins(self) -> list[str]:
        """Plugins that registered at least one driver in this session."""
        return [record.name for record in self.host.records.values() if record.drivers]

    def status_text(self, name: str) -> str:
        """The status column of plugin ``name``: now, and from the next start if it differs."""
        record = self.host.records.get(name)
        disabled_next = name in self.disabled or name in self.env_blocked
        if record is None:
            return "disabled (not installed)"
        if record.error:
            return "FAILED — disabled from next start" if name in self.disabled else "FAILED"
        if name in self.earlier and not record.blocked and not disabled_next:
            return "active (failed in a session)"
        if record.blocked:
            if name in self.env_blocked:
                return f"disabled by {DISABLE_ENV}"
            return "disabled" if disabled_next else "disabled — enabled from next start"
        return "active — disabled from next start" if disabled_next else "active"

    def _fill(self) -> None:
        self._filling = True
        try:
            self.tree.clear()
            self.items.clear()
            names = list(self.host.records) + sorted(self.disabled - set(self.host.records))
            for name in names:
                item = QtWidgets.QTreeWidgetItem([name] + [""] * (len(COLUMNS) - 1))
                item.setData(NAME, QtCore.Qt.ItemDataRole.UserRole, name)
                self.tree.addTopLevelItem(item)
                self.items[name] = item
                self._update_item(name)
        finally:
            self._filling = False

    def _update_item(self, name: str) -> None:
        item = self.items[name]
        record = self.host.records.get(name)
        was_filling, self._filling = self._filling, True
        try:
            if record is not None:
                loaded = not record.blocked
                item.setText(VERSION, record.version or "—")
                item.setText(ORIGIN, origin_text(record))
                item.setText(API, record.api_version or "—")
                item.setText(HOOKS, ", ".join(record.hooks) or ("—" if loaded else "not loaded"))
                item.setText(REGISTERS, registers_text(record))
                item.setToolTip(ORIGIN, record.origin)
                item.setToolTip(HOOKS, "\n".join(record.hooks))
            else:
                for column in (VERSION, ORIGIN, API, HOOKS, REGISTERS):
                    item.setText(column, "—")
            status = self.status_text(name)
            item.setText(STATUS, status)
            item.setToolTip(STATUS, record.error if record is not None and record.error else status)
            kind = (
                "failed"
                if status.startswith("FAILED")
                else "pending"
                if "next start" in status
                else "disabled"
                if status.startswith("disabled")
                else "active"
            )
            item.setForeground(STATUS, QtGui.QBrush(QtGui.QColor(_COLOURS[kind])))
            font = item.font(STATUS)
            font.setBold(kind in ("failed", "pending"))
            item.setFont(STATUS, font)
            flags = item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable
            if not self._can_toggle(name):
                flags &= ~QtCore.Qt.ItemFlag.ItemIsUserCheckable
            item.setFlags(flags)
            off = name in self.disabled or name in self.env_blocked
            item.setCheckState(
                NAME, QtCore.Qt.CheckState.Unchecked if off else QtCore.Qt.CheckState.Checked
            )
        finally:
            self._filling = was_filling

    def _can_toggle(self, name: str) -> bool:
        # An environment block is the administrator's, and a "(duplicate)" record has no name
        # of its own to block: neither is this dialog's to change.
        return name not in self.env_blocked and not name.endswith(" (duplicate)")

    def _show_details(self) -> None:
        name = self.current_name()
        if name is None:
            self.details.clear()
            self.toggle.setEnabled(False)
            return
        record = self.host.records.get(name)
        self.toggle.setEnabled(self._can_toggle(name))
        self.toggle.setText(
            "Enable from the next start" if name in self.disabled else "Disable from the next start"
        )
        self.details.setHtml(self._details_html(name, record))

    def _details_html(self, name: str, record: PluginRecord | None) -> str:
        e = html.escape
        status = self.status_text(name)
        parts = [f"<h3 style='margin:0'>{e(name)} <small>— {e(status)}</small></h3>"]
        if record is None:
            parts.append(
                "<p>This plugin is disabled in the settings but is not installed (any more). "
                "Enabling it only removes it from the settings.</p>"
            )
            return "".join(parts)
        if record.error:
            parts.append(
                f"<p style='color:{_COLOURS['failed']}'><b>This plugin failed and is switched "
                f"off.</b> {e(plain_reason(record.error))}</p>"
                f"<p><b>What the console reported:</b> {e(record.error)}</p>"
            )
        elif name in self.earlier and not record.blocked:
            failure = self.earlier[name]
            parts.append(
                f"<p style='color:{_COLOURS['failed']}'><b>It failed during a session on "
                f"{e(failure.at.replace('T', ' at '))}</b> and was switched off for the rest of "
                "that run; it has worked since the console started again. "
                f"{e(plain_reason(failure.reason))}</p>"
                f"<p><b>What the console reported then:</b> {e(failure.reason)}</p>"
            )
        elif record.blocked and name in self.env_blocked:
            parts.append(
                f"<p>Disabled by the {DISABLE_ENV} environment variable; only whoever set it "
                "can enable it again.</p>"
            )
        elif record.blocked:
            parts.append("<p>Disabled: it was not loaded at this start.</p>")
        if "next start" in status:
            parts.append(
                f"<p style='color:{_COLOURS['pending']}'><b>Changed: this {NEXT_START} of the "
                "console.</b></p>"
            )
        rows = [
            ("Version", record.version or "—"),
            ("Origin", record.origin),
            ("Plugin API", record.api_version or "—"),
            ("Hooks", ", ".join(record.hooks) or ("not loaded" if record.blocked else "none")),
            ("Drivers", ", ".join(record.drivers) or "none"),
            ("Protocols", ", ".join(record.protocols) or "none"),
        ]
        parts.append("<table cellspacing=0 cellpadding=2>")
        parts += [
            f"<tr><td style='padding-right:14px'><b>{e(k)}</b></td><td>{e(v)}</td></tr>"
            for k, v in rows
        ]
        parts.append("</table>")
        if record.refused:
            parts.append("<p><b>Refused or adjusted:</b></p><ul>")
            parts += [f"<li>{e(item)}</li>" for item in record.refused]
            parts.append("</ul>")
        return "".join(parts)

    def current_name(self) -> str | None:
        """The selected plugin's name."""
        item = self.tree.currentItem()
        return None if item is None else str(item.data(NAME, QtCore.Qt.ItemDataRole.UserRole))

    def select(self, name: str) -> None:
        """Select plugin ``name`` (its details show below the list)."""
        self.tree.setCurrentItem(self.items[name])

    # -- changing ---------------------------------------------------------------------------

    def set_disabled(self, name: str, disabled: bool) -> bool:
        """Save that ``name`` is disabled (or enabled) from the next start; False if refused.

        A refusal (the last driver plugin) or a file that cannot be written is shown in the
        dialog's banner, and the list keeps the saved state.
        """
        try:
            set_plugin_disabled(
                name, disabled, self.settings_path, driver_plugins=self.driver_plugins
            )
        except LastDriverPluginError as error:
            self._say(str(error), level="danger")
            ok = False
        except OSError as error:
            reason = error.strerror or str(error)
            self._say(
                f"The change could not be saved to {self.settings_path} ({reason}); "
                "nothing was changed.",
                level="danger",
            )
            ok = False
        else:
            if disabled:
                self.disabled.add(name)
            else:
                self.disabled.discard(name)
            what = "disabled" if disabled else "enabled"
            self._say(
                f"Saved: {name} will be {what}. This {NEXT_START} of the console; "
                "until then, every plugin keeps working as it is now.",
                level="warning",
            )
            ok = True
        self._update_item(name)
        if name == self.current_name():
            self._show_details()
        return ok

    def _item_changed(self, item: QtWidgets.QTreeWidgetItem, column: int) -> None:
        if self._filling or column != NAME:
            return
        name = str(item.data(NAME, QtCore.Qt.ItemDataRole.UserRole))
        wants_disabled = item.checkState(NAME) == QtCore.Qt.CheckState.Unchecked
        if wants_disabled != (name in self.disabled):
            self.set_disabled(name, wants_disabled)

    def _toggle_current(self) -> None:
        name = self.current_name()
        if name is not None:
            self.set_disabled(name, name not in self.disabled)

    def _say(self, text: str, level: str) -> None:
        self.banner.setText(text)
        self.banner.setProperty("level", level)
        repolish(self.banner)
        self.banner.show()
