"""The search key of a name: what account look-ups compare, so case and accents never matter."""

from __future__ import annotations

import re
import unicodedata

from storage.text import clean

_SPACES = re.compile(r"\s+")


def name_key(name: str) -> str:
    """Lower-case, accent-free, single-spaced form of ``name`` ("Société Générale " -> "societe generale").

    Control characters never count: a name typed or stored with ESC or BEL in it finds the same key.
    """
    decomposed = unicodedata.normalize("NFKD", clean(name))
    without_marks = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", without_marks.casefold()).strip()
