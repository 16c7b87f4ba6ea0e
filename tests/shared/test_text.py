"""Vietnamese text: NFC when stored, a diacritic-free key for search."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.text import REMEMBERED_WORD_CHARS, _bare, _remembered, clean, grouped, search_key

VOWELS = "aăâeêioôơuưy"
TONES = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]  # huyền sắc hỏi ngã nặng


def test_every_vietnamese_vowel_with_every_tone_loses_its_marks():
    for vowel in VOWELS + VOWELS.upper():
        for tone in TONES:
            letter = unicodedata.normalize("NFC", vowel + tone)
            assert search_key(letter) == unicodedata.normalize("NFD", vowel)[0].casefold()


@pytest.mark.parametrize(
    ("texts", "key"),
    [
        (("Công đoàn Điện lực", "CĐĐL"), "cong doan dien luc cddl"),
        (("  Liên đoàn   Lao động\ttỉnh  ", None), "lien doan lao dong tinh"),
        (("Trường THPT Nguyễn Huệ",), "truong thpt nguyen hue"),
        (("DN FDI",), "dn fdi"),
        ((None, ""), ""),
    ],
)
def test_search_keys(texts, key):
    assert search_key(*texts) == key


def test_a_key_is_the_same_for_text_typed_composed_or_decomposed():
    composed = "Nghệ An"
    assert search_key(unicodedata.normalize("NFD", composed)) == search_key(composed)


def test_clean_composes_and_squeezes_whitespace():
    assert clean(unicodedata.normalize("NFD", "  Hà   Nội ")) == "Hà Nội"
    assert clean(" plain\t ascii \n") == "plain ascii"
    assert unicodedata.is_normalized("NFC", clean(unicodedata.normalize("NFD", "Quảng Trị")))


def whole_text_key(*texts: str | None) -> str:
    """The key as it was first made, over the whole text at once: the word-by-word key must
    not differ from it on any text."""
    joined = " ".join(t for t in texts if t)
    bare = unicodedata.normalize("NFD", joined).translate(_bare())
    return " ".join(bare.casefold().split())


# Vietnamese letters composed and decomposed, their tone marks alone, đ, whitespace of every
# kind, letters that change under casefold (ß, İ), and anything else Unicode has.
PIECES = st.one_of(
    st.sampled_from(list("aăâeêioôơuưyđĐ") + TONES[1:] + [" ", "\t", "\u00a0", "\u2003", "ß", "İ"]),
    st.sampled_from(["Nguyễn", "THỊ", "Điện", "lực", "P000123"]),
    st.characters(),
)


@given(st.lists(st.one_of(st.none(), st.lists(PIECES, max_size=12).map("".join)), max_size=3))
def test_the_key_made_word_by_word_is_the_key_of_the_whole_text(texts):
    composed = [unicodedata.normalize("NFC", t) if t else t for t in texts]
    for given_texts in (texts, composed):
        assert search_key(*given_texts) == whole_text_key(*given_texts)


def test_a_long_word_is_made_bare_but_not_remembered():
    """A client's search of 20,000-letter words would otherwise hold the memory for good."""
    before = _remembered.cache_info().currsize
    long_word = "Đ" * (REMEMBERED_WORD_CHARS + 1) + "ưỜng"
    assert search_key(long_word) == "d" * (REMEMBERED_WORD_CHARS + 1) + "uong"
    assert _remembered.cache_info().currsize == before
    search_key("Trường")
    assert _remembered.cache_info().currsize <= before + 1


def test_numbers_are_grouped_by_dots_as_vietnamese_writes_them():
    assert [grouped(n) for n in (0, 999, 1_000, 4_194_304, 1_152_330_000)] == [
        "0",
        "999",
        "1.000",
        "4.194.304",
        "1.152.330.000",
    ]
