"""Every section of a wire-protocol spec that says MUST or SHOULD has a test that names it.

The specs in ``docs/protocols/`` use the RFC 2119 key words. For each spec, this test finds the
numbered sections whose text holds a MUST, MUST NOT, SHOULD or SHOULD NOT (a subsection without
a number of its own, such as a frame type's, counts as its numbered parent), and the sections the
spec's tests name: ``test_s3_2_...`` or ``test_s5_s8_2_...`` in a test's name (section 3.2;
sections 5 and 8.2), "Section 3.2" or "Sections 1, 5 and 8.2" in its docstring. A section with
a requirement and no test naming it fails, listed with its first requirement, so the test table
cannot fall behind the spec. The change log and the wire checker's chapter describe; they are
not requirements.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Each spec and the test files that check it.
SPECS = {
    "docs/protocols/scpi.md": "test_scpi*.py",
    "docs/protocols/framed.md": "test_framed*.py",
}

_HEADING = re.compile(r"(#{1,6}) +(\S.*)")
_NUMBERED = re.compile(r"(\d+(?:\.\d+)*)\.? ")
_KEY_WORD = re.compile(r"\b(MUST|SHOULD)\b")
_NOT_REQUIREMENTS = re.compile(r"change log|wire checker", re.IGNORECASE)
_NAME_SECTION = re.compile(r"(?:^|_)s(\d+(?:_\d+)?)(?=_|$)")
_DOC_SECTIONS = re.compile(r"\bSections? +(\d+(?:\.\d+)*(?:(?:, *| and | */ *)\d+(?:\.\d+)*)*)")


def required_sections(spec: str) -> dict[str, str]:
    """Numbered section → its first line with a key word (the definition of the key words
    themselves, before the first numbered section, does not count)."""
    sections: dict[str, str] = {}
    current: str | None = None
    numbered_at: dict[int, str | None] = {}  # heading level → the section open there
    fenced = False
    for line in spec.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        heading = None if fenced else _HEADING.fullmatch(line.strip())
        if heading:
            level, title = len(heading.group(1)), heading.group(2)
            numbered = _NUMBERED.match(title)
            numbered_at = {lv: sec for lv, sec in numbered_at.items() if lv < level}
            if _NOT_REQUIREMENTS.search(title):
                numbered_at[level] = None  # and what is under it
            elif numbered:
                numbered_at[level] = numbered.group(1)
            # An unnumbered heading (a frame type's) belongs to the numbered one above it;
            # an unnumbered chapter (level 1 or 2) to none.
            elif level <= 2:
                numbered_at[level] = None
            current = numbered_at[max(numbered_at)] if numbered_at else None
            continue
        if current is not None and not fenced and _KEY_WORD.search(line):
            sections.setdefault(current, line.strip())
    return sections


def named_sections(test_source: str) -> set[str]:
    """The sections the tests in ``test_source`` name, by name or docstring."""
    named: set[str] = set()
    for node in ast.walk(ast.parse(test_source)):
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            for match in _NAME_SECTION.finditer(node.name.removeprefix("test")):
                named.add(match.group(1).replace("_", "."))
            for match in _DOC_SECTIONS.finditer(ast.get_docstring(node) or ""):
                named.update(re.findall(r"\d+(?:\.\d+)*", match.group(1)))
    return named


@pytest.mark.parametrize("spec_path", sorted(SPECS))
def test_every_section_with_a_must_or_should_has_a_test_naming_it(spec_path: str) -> None:
    required = required_sections((ROOT / spec_path).read_text(encoding="utf-8"))
    named: set[str] = set()
    for test_file in sorted((ROOT / "tests").glob(SPECS[spec_path])):
        named |= named_sections(test_file.read_text(encoding="utf-8"))
    missing = {section: line for section, line in required.items() if section not in named}
    assert required, f"{spec_path}: no MUST or SHOULD found: the parser no longer reads it"
    assert not missing, f"{spec_path}: sections with a MUST/SHOULD and no test naming them: " + (
        "; ".join(f"§{section}: {line!r}" for section, line in sorted(missing.items()))
    )


def test_the_parser_finds_sections_key_words_and_names() -> None:
    spec = "\n".join(
        [
            "# A spec",
            "The key words MUST and SHOULD mean what RFC 2119 says.",
            "## 1 Physical",
            "A machine MUST do this.",
            "### 1.2 Detail",
            "```",
            "MUST inside a fence is an example",
            "```",
            "### 0x10 FRAME (under 1)",
            "It SHOULD do that.",
            "## 2. Lines",
            "Nothing required here, only must in lower case.",
            "## 12. Change log",
            "* The machine MUST now do this (a change, not a requirement).",
            "## Checking a machine: the wire checker",
            "A firmware engineer MUST read this.",
        ]
    )
    assert required_sections(spec) == {"1": "A machine MUST do this."}
    source = '''
def test_s3_2_repeat() -> None:
    """Sections 1, 5 and 8.2 / 7."""
def test_s5_s8_2_limits() -> None: ...
def test_samples_are_not_section_5() -> None: ...
def helper_s9() -> None: ...
'''
    assert named_sections(source) == {"3.2", "1", "5", "8.2", "7"}
