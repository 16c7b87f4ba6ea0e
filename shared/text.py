"""Vietnamese text: stored in NFC with its diacritics, searched without them.

PostgreSQL here has no ``unaccent`` (DESIGN.md), so the diacritic-free key is made in Python and
stored beside the text.

A search term is at most :data:`MAX_SEARCH_CHARS` long (TEXT_TOO_LONG): every search goes
through :func:`like_escaped`, which refuses a longer one. Other text is bounded where requests
come in (services/gateway/limits.py).
"""

from __future__ import annotations

import sys
import unicodedata
from functools import cache, lru_cache

from shared.errors import CONTROL_CHARACTERS, DomainError, InvalidInput

MAX_SEARCH_CHARS = 200


class TextTooLong(DomainError):
    code = "TEXT_TOO_LONG"
    message_vi = "Văn bản dài quá mức cho phép."


# Control characters no text of ours holds (C0, DEL and C1): NUL above all (PostgreSQL's text
# cannot, and a NUL sealed out of the database's sight would stop the projection that opens it);
# tab and line breaks are the paragraphs' (clean_paragraphs) and are cleaned away elsewhere.
_CONTROL = CONTROL_CHARACTERS


def has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


def clean(text: str) -> str:
    """NFC, surrounding whitespace dropped, inner runs of whitespace made one space."""
    if text.isascii():  # nothing to compose (an import cleans every field of every line)
        return " ".join(text.split())
    return " ".join(unicodedata.normalize("NFC", text).split())


def clean_paragraphs(text: str) -> str:
    """:func:`clean` for text written in paragraphs (objectives, reports, descriptions): each line
    cleaned, the line breaks kept, at most one blank line between paragraphs."""
    lines = [clean(line) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept).strip("\n")


@cache
def _bare() -> dict[int, str | None]:
    """Every combining mark dropped, đ made d: one C-level pass per text (a national import keys
    130,000 names). Built on first use: it takes a walk over all of Unicode."""
    marks = (code for code in range(sys.maxunicode + 1) if unicodedata.combining(chr(code)))
    return dict.fromkeys(marks) | {ord("đ"): "d", ord("Đ"): "D"}


def ascii_folded(text: str) -> str:
    """``text`` without its diacritics, đ made d, case kept: "Tổng hợp" → "Tong hop"."""
    return unicodedata.normalize("NFD", text).translate(_bare())


def search_key(*texts: str | None) -> str:
    """Lower case, no diacritics, đ→d: "Công đoàn Điện lực" → "cong doan dien luc". Word by
    word: names share their words (Nguyễn, Thị, Văn), each made bare once and remembered, and
    a word in plain ASCII (a staff number) only lower-cased. A bulk pledge's 100,000 keys: 0.5 s
    to 0.16."""
    words = []
    for word in " ".join(t for t in texts if t).split():
        if word.isascii():
            bare = word.casefold()
        elif len(word) <= REMEMBERED_WORD_CHARS:
            bare = _remembered(word)
        else:  # remembered, a client's 20,000-letter words would hold the memory for good
            bare = _bare_word(word)
        if bare:  # a "word" of combining marks alone is nothing
            words.append(bare)
    return " ".join(words)


REMEMBERED_WORD_CHARS = 32  # a Vietnamese syllable is at most 7 letters, a word of a name one


def _bare_word(word: str) -> str:
    return unicodedata.normalize("NFD", word).translate(_bare()).casefold()


_remembered = lru_cache(maxsize=1 << 16)(_bare_word)  # at most 65,536 × 32 letters


def like_escaped(key: str | None) -> str | None:
    """``key`` for ``LIKE '%' || key || '%'``: its own ``%``, ``_`` and ``\\`` match themselves.
    A key longer than :data:`MAX_SEARCH_CHARS` is refused (TextTooLong)."""
    if key is None:
        return None
    if len(key) > MAX_SEARCH_CHARS:
        raise TextTooLong(f"Từ khóa tìm kiếm tối đa {MAX_SEARCH_CHARS} ký tự.")
    if "\x00" in key:  # PostgreSQL text cannot hold it (the query fails): no stored text has it
        raise InvalidInput("Từ khóa tìm kiếm chứa ký tự NUL.")
    return key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def grouped(number: int) -> str:
    """A number as Vietnamese writes it, its thousands grouped by dots: 4.194.304."""
    return f"{number:,}".replace(",", ".")
