"""Microcurrent Console: a plugin-based console for in-clinic microcurrent facial treatments.

Plugin authors import everything they use from :mod:`console.api`, the public plugin API::

    from console.api import Driver, DriverInfo, hookimpl

and declare, at module level, ``mc_console_api = "1.1"`` (the plugin-API version they wrote for).
Every other module of this package is the console's own and may change in any release; what the
API promises, and its changelog, are in ``docs/plugin-api.md``. The two names below stay here for
plugins written for API 1.0.
"""

import os

# numpy's OpenBLAS starts a worker thread per core at import, each spinning for some 0.1 s of CPU
# before it sleeps. The console's arrays are a few thousand samples: it never needs more than
# one thread, and on a two-core clinic computer the spinning takes time from the window and the
# treatment engine. (Set before numpy is imported; a value the user set is kept.)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from console.hookspecs import PLUGIN_API_VERSION, PROJECT_NAME, hookimpl

__all__ = ["PLUGIN_API_VERSION", "PROJECT_NAME", "hookimpl"]
__version__ = "0.1.0"
