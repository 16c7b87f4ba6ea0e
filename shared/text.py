"""Vietnamese text: stored in NFC with its diacritics, searched without them.

PostgreSQL here has no ``unaccent`` (DESIGN.md), so the diacritic-free key is made in Python and
stored beside the text.
"""

from __future__ import annotations

import unicodedata


def clean(text: str) -> str:
    """NFC, surrounding whitespace dropped, inner runs of whitespace made one space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def search_key(*texts: str | None) -> str:
    """Lower case, no diacritics, đ→d: "Công đoàn Điện lực" → "cong doan dien luc"."""
    joined = " ".join(t for t in texts if t)
    decomposed = unicodedata.normalize("NFD", joined.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())
