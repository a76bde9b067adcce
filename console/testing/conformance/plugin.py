"""The kit's command-line options, report header and figures summary (a pytest plugin).

pytest parses the command line before it imports a ``conftest.py`` inside a ``--pyargs``
package, so the options live here, in a plugin loaded early: with ``-p
console.testing.conformance.plugin`` (or through a ``pytest11`` entry point). This module imports
nothing from the console, so loading it costs nothing in other test runs.
"""

from __future__ import annotations

import pytest

#: The name this module is loaded under with ``-p``.
PLUGIN_NAME = "console.testing.conformance.plugin"
#: The key under which tests record the figures the summary prints.
FIGURE_KEY = "conformance figure"

RUN_HINT = (
    "run the conformance kit as: pytest -p console.testing.conformance.plugin --pyargs "
    "console.testing.conformance --driver NAME [--port PORT] (NAME: a driver id registered "
    "through the mc_console entry points, or module:factory), or with --protocol-plugin NAME; "
    "see docs/conformance.md"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--driver``, ``--port``, ``--driver-speed`` and ``--protocol-plugin``."""
    group = parser.getgroup("mc_console conformance", "Microcurrent Console conformance kit")
    group.addoption(
        "--driver",
        metavar="NAME",
        default=None,
        help="driver to check: an id registered through the mc_console entry points, or "
        "module:factory for a factory not yet registered",
    )
    group.addoption(
        "--port",
        metavar="PORT",
        default=None,
        help="the machine's port (device or pyserial URL); 'emulator' starts the built-in "
        "emulator on a pty (framed and scpi drivers only)",
    )
    group.addoption(
        "--driver-speed",
        metavar="FACTOR",
        type=float,
        default=None,
        help="clock speed for a simulated machine (default 10); a real machine always runs in "
        "real time",
    )
    group.addoption(
        "--protocol-plugin",
        metavar="NAME",
        default=None,
        help="protocol plugin to check: its entry-point name (or an importable module)",
    )


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say what the kit is checking, at the top of the run."""
    driver = config.getoption("--driver")
    plugin = config.getoption("--protocol-plugin")
    if not driver and not plugin:
        return []
    lines = []
    if driver:
        port = config.getoption("--port") or "(none given)"
        lines.append(f"mc_console conformance: driver {driver}, port {port}")
    if plugin:
        lines.append(f"mc_console conformance: protocol plugin {plugin}")
    return lines


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures the checks measured (stop_output times, sample counts...)."""
    figures: list[tuple[str, str]] = []
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue  # the setup and teardown reports carry the same properties
            for key, value in getattr(report, "user_properties", ()):
                if key == FIGURE_KEY:
                    name = getattr(report, "nodeid", "").rsplit("::", 1)[-1]
                    figures.append((name, str(value)))
    if not figures:
        return
    terminalreporter.section("mc_console conformance figures")
    for name, value in figures:
        terminalreporter.write_line(f"{name}: {value}")
