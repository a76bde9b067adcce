"""Generate ``docs/hook-reference.md`` from the signatures and docstrings of ``console/hookspecs.py``.

::

    python tools/hook_reference.py            # (re)write docs/hook-reference.md
    python tools/hook_reference.py --check    # exit 1 if docs/hook-reference.md is out of date

The hookspecs module is the plugin author's manual; this page is the same text, rendered for
readers who browse the documentation instead of the source. Each hook gets its exact signature,
whether it is ``firstresult`` or ``historic`` (read from pluggy's marker), and its whole
docstring; the module docstring comes first. The reStructuredText the docstrings use (roles,
``::`` literal blocks, field lists, simple tables) is turned into Markdown; the words are not
changed. The output depends only on ``console/hookspecs.py``, so ``--check`` can run in CI.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import inspect
import re
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "docs" / "hook-reference.md"
GENERATOR = "tools/hook_reference.py"

_ROLE = re.compile(r":(?:class|func|meth|data|attr|mod|exc|obj):`(~?)([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")
_FIELD = re.compile(r"^:(param|return|returns|raises|type|rtype)(?: ([^:]+))?:\s*(.*)$")
_TABLE_BORDER = re.compile(r"^=+(?: +=+)+$")


def load_hookspecs() -> ModuleType:
    """Import ``console.hookspecs`` (from this checkout when the console is not installed)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import console.hookspecs

    return console.hookspecs


def hook_functions(module: ModuleType) -> list[Callable[..., Any]]:
    """The module's hook specifications, in the order the file defines them."""
    marker = f"{module.PROJECT_NAME}_spec"
    hooks = [
        obj
        for _, obj in inspect.getmembers(module, inspect.isfunction)
        if obj.__module__ == module.__name__ and hasattr(obj, marker)
    ]
    return sorted(hooks, key=lambda f: f.__code__.co_firstlineno)


def signature_text(func: Callable[..., Any]) -> str:
    """``def name(arg: Type, ...) -> Return`` with the annotations as the source writes them."""

    def annotation(value: Any) -> str:
        return value if isinstance(value, str) else inspect.formatannotation(value)

    params = []
    for param in inspect.signature(func).parameters.values():
        text = param.name
        if param.annotation is not inspect.Parameter.empty:
            text += f": {annotation(param.annotation)}"
        if param.default is not inspect.Parameter.empty:
            text += f" = {param.default!r}"
        params.append(text)
    result = inspect.signature(func).return_annotation
    returns = "" if result is inspect.Signature.empty else f" -> {annotation(result)}"
    return f"def {func.__name__}({', '.join(params)}){returns}: ..."


def imported_names(module: ModuleType) -> dict[str, str]:
    """Every name the module imports (``TYPE_CHECKING`` ones too), mapped to its module."""
    tree = ast.parse(inspect.getsource(module))
    return {
        alias.asname or alias.name: node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }


def types_line(func: Callable[..., Any], names: dict[str, str]) -> str:
    """``Types: `SessionInfo` (console.engine.events), ...`` for the names a signature uses."""
    used = dict.fromkeys(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", signature_text(func)))
    found = [f"`{name}` ({names[name]})" for name in used if name in names]
    return f"Types: {', '.join(found)}." if found else ""


def hook_flags(module: ModuleType, func: Callable[..., Any]) -> dict[str, Any]:
    """pluggy's options for this hookspec (``firstresult``, ``historic``, ...)."""
    return dict(getattr(func, f"{module.PROJECT_NAME}_spec"))


def rst_to_markdown(text: str) -> str:
    """The reStructuredText of a docstring as Markdown (roles, literal blocks, fields, tables)."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if _TABLE_BORDER.match(line.strip()):
            i = _table(lines, i, out)
            continue
        field = _FIELD.match(line)
        if field:
            i = _field(lines, i, field, out)
            continue
        if line.rstrip().endswith("::"):
            i = _literal_block(lines, i, out)
            continue
        out.append(_inline(line))
        i += 1
    return "\n".join(out).strip() + "\n"


def _inline(text: str) -> str:
    text = _ROLE.sub(
        lambda m: f"``{m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2)}``", text
    )
    return _LITERAL.sub(r"`\1`", text)


def _indented_block(lines: list[str], start: int) -> tuple[list[str], int]:
    """Lines from ``start`` that are indented or blank (a block's body), and the next index."""
    end = start
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith(" ")):
        end += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end], end


def _literal_block(lines: list[str], i: int, out: list[str]) -> int:
    intro = lines[i].rstrip()[:-2].rstrip()
    if intro:
        out.append(_inline(intro) + ":")
    j = i + 1
    while j < len(lines) and not lines[j].strip():
        j += 1
    body, end = _indented_block(lines, j)
    code = textwrap.dedent("\n".join(body))
    language = "toml" if code.lstrip().startswith("[") else "python"
    out.extend(["", f"```{language}", code, "```"])
    return end


def _field(lines: list[str], i: int, match: re.Match[str], out: list[str]) -> int:
    kind, name, first = match.groups()
    body, end = _indented_block(lines, i + 1)
    words = " ".join([first, *(part.strip() for part in body if part.strip())]).strip()
    if kind in ("return", "returns"):
        label = "Returns"
    elif kind == "raises":
        label = f"Raises `{name.strip()}`" if name else "Raises"
    else:
        label = f"`{name.strip()}`" if name else kind
    out.append(f"- {label}: {_inline(words)}")
    return end


def _table(lines: list[str], i: int, out: list[str]) -> int:
    """A simple table: with a header, a Markdown table; without, a list of ``first — rest``."""
    border = lines[i]
    starts = [m.start() for m in re.finditer(r"=+", border)]
    sections: list[list[list[str]]] = [[]]
    j = i + 1
    while j < len(lines) and len(sections) < 3:
        if _TABLE_BORDER.match(lines[j].strip()):
            sections.append([])
            j += 1
            if not (j < len(lines) and lines[j].strip() and len(sections) == 2):
                break
            continue
        cells = [lines[j][a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        if sections[-1] and not cells[0]:
            previous = sections[-1][-1]
            sections[-1][-1] = [f"{p} {c}".strip() for p, c in zip(previous, cells, strict=True)]
        else:
            sections[-1].append(cells)
        j += 1
    header, rows = (sections[0], sections[1]) if len(sections) > 2 else ([], sections[0])
    if header:
        out.append("| " + " | ".join(_inline(c) for c in header[0]) + " |")
        out.append("|" + "---|" * len(header[0]))
        out.extend("| " + " | ".join(_inline(c) for c in row) + " |" for row in rows)
    else:
        out.extend(f"- {_inline(row[0])} — {_inline(' '.join(row[1:]))}" for row in rows)
    return j


def _flag_sentence(flags: dict[str, Any]) -> str:
    first = (
        "**firstresult** — the first non-`None` result ends the call"
        if flags.get("firstresult")
        else "not firstresult — every plugin's implementation is called"
    )
    historic = (
        "**historic** — a plugin registered later is called with the earlier calls' arguments"
        if flags.get("historic")
        else "not historic — only plugins loaded at the time are called"
    )
    return f"*{first}; {historic}.*"


def render(module: ModuleType) -> str:
    """The whole Markdown page."""
    hooks = hook_functions(module)
    parts = [
        "# Hook reference",
        "",
        f"<!-- Generated by {GENERATOR} from console/hookspecs.py: do not edit by hand. Change the",
        f"     docstrings there and run `python {GENERATOR}`; CI runs it with --check. -->",
        "",
        f"Plugin API version **{module.PLUGIN_API_VERSION}** (`mc_console_api`); entry-point group "
        f"and hook marker project `{module.PROJECT_NAME}`. Import the marker, and everything else "
        "a plugin uses, from `console.api` (see `docs/plugin-api.md`). An implementation may accept fewer arguments than the "
        "specification, by name, never others. The guides in `docs/` show whole plugins.",
        "",
        "| hook | what it is for | firstresult | historic |",
        "|---|---|---|---|",
    ]
    for func in hooks:
        flags = hook_flags(module, func)
        summary = _inline((inspect.getdoc(func) or "").splitlines()[0])
        parts.append(
            f"| [`{func.__name__}`](#{func.__name__}) | {summary} | "
            f"{'yes' if flags.get('firstresult') else 'no'} | "
            f"{'yes' if flags.get('historic') else 'no'} |"
        )
    parts += ["", "## The plugin contract", "", rst_to_markdown(inspect.getdoc(module) or "")]
    parts += ["## Hooks", ""]
    names = imported_names(module)
    for func in hooks:
        types = types_line(func, names)
        parts += [
            f"### {func.__name__}",
            "",
            "```python",
            "@hookimpl",
            signature_text(func),
            "```",
            "",
            _flag_sentence(hook_flags(module, func)),
            "",
            *([types, ""] if types else []),
            rst_to_markdown(inspect.getdoc(func) or "(no docstring)"),
        ]
    return "\n".join(parts).rstrip() + "\n"


def _diff(old: str, new: str, path: Path) -> Iterator[str]:
    return difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        f"{path} (committed)",
        f"{path} (from console/hookspecs.py)",
    )


def main(argv: list[str] | None = None) -> int:
    """Write the page, or with ``--check`` compare it with the file and exit 1 on a difference."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="do not write; exit 1 if the file is out of date"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"the page (default {DEFAULT_OUTPUT.relative_to(ROOT)})",
    )
    args = parser.parse_args(argv)
    page = render(load_hookspecs())
    output: Path = args.output
    if args.check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current == page:
            return 0
        print(
            f"{output} is out of date with console/hookspecs.py; run: python {GENERATOR}",
            file=sys.stderr,
        )
        sys.stderr.writelines(list(_diff(current, page, output))[:60])
        return 1
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(page, encoding="utf-8", newline="\n")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
