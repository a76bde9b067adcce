"""The window's word on failed plugins: a status-bar note naming them, with a link to the plugin
manager (Help ▸ Plugins…), where each failure is explained.

A plugin fails at start (it cannot be imported, or was made for another console) or while the
console runs (an observer hook raised during a session: the host switches it off and the
treatment goes on, on the event thread). The host keeps the reasons; this watch looks at them a
few times a second on the window's thread — a plugin's failure is never urgent enough to be
pushed across threads, and looking costs microseconds — and keeps the note up to date. Failures
met while running are also remembered for ``mc-console plugins``
(:mod:`console.plugin_failures`).
"""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6 import QtCore, QtWidgets

from console.plugin_failures import failures_since, remember_failures
from console.plugins import PluginHost

#: How often the host's failures are looked at.
WATCH_INTERVAL_MS = 500
#: The link in the note that opens the plugin manager.
DETAILS_LINK = "plugins"


class PluginFailureNote(QtWidgets.QLabel):
    """A permanent status-bar label: empty while every plugin works, else which failed.

    ``open_details`` is called when the operator follows the note's link.
    """

    def __init__(
        self,
        host: PluginHost,
        open_details: Callable[[], None],
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("pluginFailureNote")
        self.host = host
        self.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.linkActivated.connect(lambda _link: open_details())
        #: Names of the failed plugins, in the order they failed.
        self.failed: list[str] = []
        # Failures at start are the host's own report ('mc-console plugins' finds them again
        # by loading the plugins); only those met while running need remembering.
        self._known: set[str] = set()
        self.failed = [record.name for record in failures_since(host, self._known)]
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(WATCH_INTERVAL_MS)
        self._timer.timeout.connect(self.check)
        self._timer.start()
        self._show()

    def check(self) -> None:
        """Look for plugins that failed since the last look; say and remember them."""
        new = failures_since(self.host, self._known)
        if not new:
            return
        self.failed += [record.name for record in new]
        remember_failures(new)
        self._show()

    def _show(self) -> None:
        self.setVisible(bool(self.failed))
        if not self.failed:
            self.setText("")
            return
        names = ", ".join(html.escape(name) for name in self.failed)
        what = (
            f"Plugin <b>{names}</b> failed and is switched off"
            if len(self.failed) == 1
            else f"{len(self.failed)} plugins failed and are switched off: <b>{names}</b>"
        )
        self.setText(
            f"<span style='color:#a11d1d'>⚠ {what}</span> — "
            f"<a href='{DETAILS_LINK}'>details (Help ▸ Plugins…)</a>"
        )
        tips = [
            f"{name}: {self.host.records[name].error}"
            for name in self.failed
            if name in self.host.records and self.host.records[name].error
        ]
        self.setToolTip("\n".join(tips))
