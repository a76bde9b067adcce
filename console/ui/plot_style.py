"""pyqtgraph, set up the console's way once, for every plot in the console.

Importing pyqtgraph takes about 0.2 s (it touches every Qt class): the window imports it once it
is up (see :meth:`console.ui.scope.ScopeWidget.build_plots`), not before. Every plot asks here, so
whichever is built first, all of them draw on white with dark text and no antialiasing (pyqtgraph's
advice for fast live plots).
"""

from __future__ import annotations

from types import ModuleType

_configured = False


def pyqtgraph() -> ModuleType:
    """The pyqtgraph module, configured for the console (imported on the first call)."""
    global _configured
    import pyqtgraph as pg

    if not _configured:
        pg.setConfigOptions(antialias=False, useOpenGL=False, background="w", foreground="#333")
        _configured = True
    return pg
