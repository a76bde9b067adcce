"""Which characters this computer can print: a report never shows an empty box silently.

A PDF can only show a character some installed font has a glyph for. Names and notes may be in
any script (Chinese, Persian, emoji…); Qt falls back from font to font, and where none has the
character it would draw an empty box (and the PDF's text would lose it). :func:`unprintable`
finds those characters first, so the report can write them as ``[U+738B]`` codes, say so on
the page and tell the user which font to install.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

#: Unicode categories that need a glyph of their own (letters, digits, punctuation, symbols).
#: Marks, joiners and variation selectors are drawn with the character they belong to.
_DRAWN = ("L", "N", "P", "S")


def unprintable(text: str) -> list[str]:
    """The distinct characters of ``text`` that no installed font can draw, in order of
    first appearance. Needs a Qt (Gui) application."""
    missing: list[str] = []
    for char in dict.fromkeys(text):
        if char.isascii() or not unicodedata.category(char).startswith(_DRAWN):
            continue
        if not _drawable(char):
            missing.append(char)
    return missing


def spelled_out(text: str, missing: list[str]) -> str:
    """``text`` with each ``missing`` character written as its code, ``[U+738B]``."""
    if not missing:
        return text
    gone = set(missing)
    return "".join(code_of(char) if char in gone else char for char in text)


def code_of(char: str) -> str:
    """``[U+738B]``: how a character no font has is written on the report."""
    return f"[U+{ord(char):04X}]"


def font_advice(missing: list[str]) -> str:
    """Which free font families would print ``missing`` (Noto covers every script)."""
    scripts = {_script_of(char) for char in missing}
    fonts = []
    if "cjk" in scripts:
        fonts.append("Noto Sans CJK")
    if "emoji" in scripts:
        fonts.append("Noto Emoji")
    if "other" in scripts or not fonts:
        fonts.append("the Noto Sans font of that script")
    return " and ".join(fonts)


@lru_cache(maxsize=4096)
def _drawable(char: str) -> bool:

    code = ord(char)
    return any(metrics.inFontUcs4(code) for metrics in _all_fonts())


@lru_cache(maxsize=1)
def _all_fonts() -> tuple[object, ...]:
    """Metrics of one regular font of every installed family (what Qt's fallback can use)."""
    from PySide6 import QtGui

    return tuple(
        QtGui.QFontMetricsF(QtGui.QFont(family)) for family in QtGui.QFontDatabase.families()
    )


def _script_of(char: str) -> str:
    name = unicodedata.name(char, "")
    if name.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "IDEOGRAPHIC", "BOPOMOFO")):
        return "cjk"
    if unicodedata.category(char) == "So" and ord(char) >= 0x1F000:
        return "emoji"
    return "other"
