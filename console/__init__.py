"""Microcurrent Console: a plugin-based console for in-clinic microcurrent facial treatments.

Plugin authors import two names from here::

    from console import hookimpl, PLUGIN_API_VERSION

and declare, at module level, ``mc_console_api = "1.0"`` (the plugin-API version they wrote for).
"""

from console.hookspecs import PLUGIN_API_VERSION, PROJECT_NAME, hookimpl

__all__ = ["PLUGIN_API_VERSION", "PROJECT_NAME", "hookimpl"]
__version__ = "0.1.0"
