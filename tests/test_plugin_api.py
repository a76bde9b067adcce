"""The public plugin API: one module, the only way plugins reach the console, documented in full.

The import rules are read from the source (``ast``), so a lazy import inside a function counts as
much as one at the top of a module.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import console.api as api
from console.hookspecs import PLUGIN_API_VERSION

ROOT = Path(__file__).resolve().parents[1]
#: Where plugins live: the built-in ones, the machines' drivers, the example vendor package.
PLUGIN_TREES = ("plugins", "device_drivers", "examples")
#: What a plugin may import from the console: the API, and the conformance kit for its tests.
PUBLIC_MODULES = ("console.api", "console.testing")
#: Packages of plugins, which the console's core never imports.
PLUGIN_PACKAGES = ("plugins", "device_drivers")
PLUGIN_API_DOC = ROOT / "docs" / "plugin-api.md"


def python_files(*trees: str) -> Iterator[Path]:
    """Every Python module under the given folders of the repository."""
    for tree in trees:
        yield from sorted((ROOT / tree).rglob("*.py"))


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every absolute import in ``path``. ``from console import x`` gives
    ``console.x`` (x may be a module, ``from console import drivers``, or a name)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "console":
                for alias in node.names:
                    yield node.lineno, f"console.{alias.name}"
            else:
                yield node.lineno, node.module


def is_public(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in PUBLIC_MODULES)


def plugin_import_problems(path: Path) -> list[str]:
    """This plugin module's imports of the console that do not go through the public API."""
    where = path.relative_to(ROOT)
    return [
        f"{where}:{line}: imports {module}"
        for line, module in imported_modules(path)
        if module.split(".")[0] == "console" and not is_public(module)
    ]


def core_import_problems(path: Path) -> list[str]:
    """This core module's imports of a plugin package."""
    where = path.relative_to(ROOT)
    return [
        f"{where}:{line}: imports {module}"
        for line, module in imported_modules(path)
        if module.split(".")[0] in PLUGIN_PACKAGES
    ]


def test_plugins_import_the_console_only_through_console_api() -> None:
    problems = [p for path in python_files(*PLUGIN_TREES) for p in plugin_import_problems(path)]
    assert problems == [], "plugins must import from console.api only:\n" + "\n".join(problems)


def test_the_core_never_imports_a_plugin() -> None:
    """The conformance kit (console.testing) may start the console's own emulators; nothing
    else in the console depends on a plugin package."""
    core = [
        path
        for path in python_files("console")
        if "testing" not in path.relative_to(ROOT / "console").parts
    ]
    problems = [p for path in core for p in core_import_problems(path)]
    assert problems == [], "the core must not import plugins:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from console.api import Driver\n", []),
        ("from console.testing.conformance import kit\n", []),
        ("from console.drivers import Driver\n", ["x.py:1: imports console.drivers"]),
        ("from console import drivers\n", ["x.py:1: imports console.drivers"]),
        ("import console.engine.clock\n", ["x.py:1: imports console.engine.clock"]),
        (
            "def f():\n    from console.faults import FaultSpec\n",
            ["x.py:2: imports console.faults"],
        ),
        ("from console import hookimpl\n", ["x.py:1: imports console.hookimpl"]),
        ("from consolex import y\nimport numpy\n", []),
    ],
)
def test_the_import_rule_sees_every_way_of_importing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, expected: list[str]
) -> None:
    """The checker itself: top-level, ``from console import module``, lazy imports."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    module = tmp_path / "x.py"
    module.write_text(source, encoding="utf-8")
    assert plugin_import_problems(module) == expected


def test_the_core_rule_sees_a_lazy_import_of_a_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    module = tmp_path / "core.py"
    module.write_text("def f():\n    from device_drivers.skin import SkinType\n", encoding="utf-8")
    assert core_import_problems(module) == ["core.py:2: imports device_drivers.skin"]


def test_every_public_name_is_there() -> None:
    missing = [name for name in api.__all__ if not hasattr(api, name)]
    assert missing == []
    assert len(set(api.__all__)) == len(api.__all__)


def documented_names() -> set[str]:
    """The names the table of docs/plugin-api.md lists as public."""
    text = PLUGIN_API_DOC.read_text(encoding="utf-8")
    table = text.split("| group | names |", 1)[1].split("\n\n", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("|") and "---" not in line]
    return {name for row in rows for name in re.findall(r"`(\w+)`", row.split("|")[2])}


def test_the_api_page_lists_exactly_the_public_names() -> None:
    """A name made public is documented, and the page promises nothing the API lacks."""
    documented = documented_names()
    assert sorted(set(api.__all__) - documented) == [], "public but not in docs/plugin-api.md"
    assert sorted(documented - set(api.__all__)) == [], "in docs/plugin-api.md but not public"


def test_the_api_page_states_this_version_and_has_its_changelog() -> None:
    text = PLUGIN_API_DOC.read_text(encoding="utf-8")
    assert f"this console's is **{PLUGIN_API_VERSION}**" in text
    assert f"\n### {PLUGIN_API_VERSION}\n" in text
    assert api.PLUGIN_API_VERSION == PLUGIN_API_VERSION


def test_the_built_in_plugins_declare_the_version_that_has_console_api() -> None:
    """A plugin importing console.api needs 1.1 or later: declaring 1.0 would let a 1.0 console
    load it, and fail on the import."""
    declared = {}
    for path in python_files(*PLUGIN_TREES):
        match = re.search(
            r'^mc_console_api = "(\d+)\.(\d+)"', path.read_text(encoding="utf-8"), re.M
        )
        if match:
            declared[path.relative_to(ROOT).as_posix()] = (int(match[1]), int(match[2]))
    assert len(declared) >= 8
    too_old = {path: version for path, version in declared.items() if version < (1, 1)}
    assert too_old == {}
