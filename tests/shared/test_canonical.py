"""canonical.normalise: the values an event may carry, made canonical or refused by path."""

from __future__ import annotations

import enum
import unicodedata
from collections import OrderedDict
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import canonical
from shared.errors import InvalidEventData

DECOMPOSED = unicodedata.normalize("NFD", "Thi đua lao động giỏi")


def test_text_and_keys_are_composed_to_nfc_at_every_depth():
    value = {DECOMPOSED: [{"tên": DECOMPOSED}], "n": 1, "ok": True, "none": None}
    out = canonical.normalise(value)
    composed = unicodedata.normalize("NFC", DECOMPOSED)
    assert out == {composed: [{"tên": composed}], "n": 1, "ok": True, "none": None}
    assert canonical.dumps(out) == canonical.dumps(canonical.normalise(out))


class Level(enum.IntEnum):
    HIGH = 3


class Name(str):
    pass


def test_subclasses_and_other_mappings_and_sequences_give_the_built_in_form():
    given = OrderedDict(a=MappingProxyType({"b": (1, Level.HIGH)}), c=Name(DECOMPOSED))
    plain = {"a": {"b": [1, 3]}, "c": unicodedata.normalize("NFC", DECOMPOSED)}
    assert canonical.dumps(canonical.normalise(given)) == canonical.dumps(plain)


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"a": [1, 2.5]}, "$.a[1]"),
        ({"a": {"b": 2**63}}, "$.a.b"),
        ({"a": "x\x00y"}, "$.a"),
        ({"a": {1: "x"}}, "$.a"),
        ({"a": {"é": 1, "e\u0301": 2}}, "$.a"),
        ({"a": {1, 2}}, "$.a"),
    ],
)
def test_what_is_not_canonical_json_is_refused_with_its_path(value, path):
    with pytest.raises(InvalidEventData) as caught:
        canonical.normalise(value)
    assert caught.value.context["path"] == path


@pytest.mark.parametrize(
    "value",
    [
        {"a": 2.5},
        {"a": 2**63},
        {"a": "x\x00y"},
        {1: "x"},
        {"a": DECOMPOSED},
        {DECOMPOSED: 1},
        {"a": "\ud800"},
        {"a": (1, 2)},
        {"a": Name("x")},
        {"a": Level.HIGH},
        OrderedDict(a=1),
    ],
)
def test_a_value_that_is_not_canonical_as_it_stands_is_not_called_canonical(value):
    assert not canonical.is_canonical(value)


def test_a_canonical_value_comes_back_as_it_is_and_another_as_a_canonical_copy():
    plain = {"tên": unicodedata.normalize("NFC", DECOMPOSED), "n": [1, None, True]}
    assert canonical.is_canonical(plain)
    assert canonical.normalise(plain) is plain
    decomposed = {"tên": DECOMPOSED}
    out = canonical.normalise(decomposed)
    assert out is not decomposed and out == {"tên": plain["tên"]}
    assert decomposed == {"tên": DECOMPOSED}  # the caller's value is left alone


JSON_LIKE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def spec_canonical(value) -> bool:
    """The rules of docs/audit.md, spelled out plainly: the oracle for the fast check."""
    if value is None or type(value) is bool:
        return True
    if type(value) is int:
        return -(2**63) <= value < 2**63
    if type(value) is str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return "\x00" not in value and unicodedata.normalize("NFC", value) == value
    if type(value) is list:
        return all(spec_canonical(item) for item in value)
    if type(value) is dict:
        return all(
            type(k) is str and spec_canonical(k) and spec_canonical(v) for k, v in value.items()
        )
    return False


@settings(max_examples=300, deadline=None)
@given(JSON_LIKE)
def test_normalising_anything_gives_a_canonical_value_or_a_refusal(value):
    assert canonical.is_canonical(value) == spec_canonical(value)
    try:
        out = canonical.normalise(value)
    except InvalidEventData:
        assert not spec_canonical(value)
        return
    assert spec_canonical(out)
    if spec_canonical(value):
        assert out is value
