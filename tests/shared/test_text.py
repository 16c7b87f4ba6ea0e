"""Vietnamese text: NFC when stored, a diacritic-free key for search."""

from __future__ import annotations

import unicodedata

import pytest

from shared.text import clean, search_key

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
