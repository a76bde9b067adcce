"""``python -m console.testing.conformance [pytest options] --driver NAME [--port PORT]``.

The same as ``pytest -p console.testing.conformance.plugin --pyargs console.testing.conformance``
followed by the arguments given: a command line that works without any pytest configuration.
"""

from __future__ import annotations

import sys

import pytest

#: Not imported from the plugin: pytest must import it itself, to load it as a plugin.
PLUGIN_NAME = "console.testing.conformance.plugin"


def main(argv: list[str] | None = None) -> int:
    """Run the kit with ``argv`` (default: the command line) and return pytest's exit code."""
    args = sys.argv[1:] if argv is None else argv
    return int(pytest.main(["-p", PLUGIN_NAME, "--pyargs", "console.testing.conformance", *args]))


if __name__ == "__main__":
    sys.exit(main())
