"""canonical.normalise: the values an event may carry, made canonical or refused by path."""

from __future__ import annotations

import enum
import unicodedata
from collections import OrderedDict
from types import MappingProxyType

import pytest

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
