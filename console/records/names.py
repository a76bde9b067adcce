"""People's names as the records keep and find them.

A name is stored as typed, in Unicode's composed form (NFC), so that "Zoë" typed on a keyboard
that composes and one that does not are the same name. It is found through its search form:
case-folded (ß → ss), without accents or other combining marks and without invisible joiners,
so "zoe", "ZOË" and "Zoë" find each other. Nothing is cut short: a name longer than the records
allow is refused with a message, never truncated into someone else's.
"""

from __future__ import annotations

import unicodedata

#: Longest name the records keep, in characters (after composing).
MAX_NAME = 120
#: Invisible characters that belong in names: the zero-width joiner (emoji sequences, Indic
#: scripts) and non-joiner (Persian, Kurdish...). Other invisible and control characters do not.
_JOINERS = frozenset({"\u200c", "\u200d"})


def composed(text: str) -> str:
    """``text`` in the composed form the records store (NFC), without surrounding blanks."""
    return unicodedata.normalize("NFC", text).strip()


def unprintable(text: str) -> list[str]:
    """The characters of ``text`` that do not print and do not belong in a name."""
    return [c for c in text if not c.isprintable() and c not in _JOINERS]


def search_form(text: str) -> str:
    """What a name is found by: case-folded, without accents, joiners or surrounding blanks."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = (
        c for c in decomposed if not unicodedata.combining(c) and unicodedata.category(c) != "Cf"
    )
    return unicodedata.normalize("NFC", "".join(kept)).strip()
