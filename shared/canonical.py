"""The canonical bytes of a stored event and the hash chain over them (docs/audit.md is the spec).

An event's *content* is the JSON object

    {"data": …, "event_type": …, "meta": …, "schema_version": …,
     "stream_id": …, "stream_version": …, "tenant_id": …}

written canonically: keys sorted by Unicode code point, no whitespace, UTF-8 (no \\u escapes
except for `"`, `\\` and control characters), integers only (no fractions or exponents), text in
NFC. The chain then links each event to the one before it in its tenant's log:

    canonical(event) = f"{seq}\\n{recorded_at:%Y-%m-%dT%H:%M:%S.%fZ}\\n".encode() + content
    hash             = sha256(prev_hash + canonical(event))        # prev_hash of seq 1: 32 zero bytes

PostgreSQL computes the same thing inside the append (migrations/0001_event_store.sql); the two
must agree byte for byte, and tests hold them to it. The append also writes the canonical text
of the fields it parsed and stores (migrations/0009_hardened_functions.sql) and refuses a payload
that differs from it (a key twice, keys out of order, another spelling of a number or a string):
what is hashed is exactly what ``thidua verify`` reads back.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

from shared.errors import InvalidEventData

GENESIS_HASH = bytes(32)
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


def normalise(value: Any, path: str = "$") -> Any:
    """A copy of a JSON value with text in NFC; anything not canonical JSON is refused.

    Floats are refused because a float does not survive every JSON reader byte for byte: money is
    an integer number of đồng, and a fraction travels as a decimal string. A value that is
    already canonical comes back as it is, not copied.
    """
    if is_canonical(value):
        return value
    return _normalise(value, (path,))


def is_canonical(value: Any) -> bool:
    """Whether a value is canonical JSON as it stands, in the exact built-in types (anything
    else, subclasses included, is for :func:`normalise` to convert or refuse). Most events are:
    checking is a third of the cost of copying, and an append's critical path runs through it."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not _plain_text(key):
                return False
            kind = type(item)
            if kind is str:
                if not _plain_text(item):
                    return False
            elif kind is int:
                if not _INT_MIN <= item <= _INT_MAX:
                    return False
            elif kind is dict or kind is list:
                if not is_canonical(item):
                    return False
            elif item is not None and kind is not bool:
                return False
        return True
    if kind is list:
        return all(is_canonical(item) for item in value)
    if kind is str:
        return _plain_text(value)
    if kind is int:
        return _INT_MIN <= value <= _INT_MAX
    return value is None or kind is bool


def _plain_text(value: str) -> bool:
    if value.isascii():
        return "\x00" not in value
    if "\x00" in value or not unicodedata.is_normalized("NFC", value):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# Where a value sits, as a chain of (parent, key) pairs: spelled out only in an error, since
# formatting a path string for every value would cost more than the checks themselves.
_Where = tuple[Any, ...]


def _spell(where: _Where) -> str:
    parts: list[str] = []
    while len(where) == 2:
        where, key = where
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    return where[0] + "".join(reversed(parts))


def _normalise(value: Any, where: _Where) -> Any:
    # The exact built-in types first: an ABC isinstance check costs more than the rest of the
    # work on a typical event; subclasses (and other mappings and sequences) take the long way.
    kind = type(value)
    if kind is str:
        return _text(value, where)
    if kind is int:
        return _integer(value, where)
    if kind is dict:
        return _mapping(value, where)
    if kind is list:
        return [_normalise(item, (where, i)) for i, item in enumerate(value)]
    if value is None or kind is bool:
        return value
    if isinstance(value, str):
        return _text(value, where)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return _integer(value, where)
    if isinstance(value, Mapping):
        return _mapping(value, where)
    if isinstance(value, list | tuple):
        return [_normalise(item, (where, i)) for i, item in enumerate(value)]
    name = kind.__name__
    path = _spell(where)
    raise InvalidEventData(f"{path}: kiểu {name} không có dạng JSON chuẩn.", path=path, kind=name)


def _integer(value: int, where: _Where) -> int:
    if not _INT_MIN <= value <= _INT_MAX:
        path = _spell(where)
        raise InvalidEventData(f"{path}: số nguyên vượt phạm vi 64 bit.", path=path)
    return value


def _mapping(value: Mapping[Any, Any], where: _Where) -> dict[str, Any]:
    out = {}
    for key, item in value.items():
        if not isinstance(key, str):
            path = _spell(where)
            raise InvalidEventData(f"{path}: khóa phải là chuỗi.", path=path)
        nfc_key = _text(key, where)
        if nfc_key in out:  # two spellings of one key: keeping either would lose the other
            path = _spell(where)
            raise InvalidEventData(
                f"{path}: khóa {nfc_key!r} lặp lại sau chuẩn hóa NFC.", path=path
            )
        out[nfc_key] = _normalise(item, (where, key))
    return out


def _text(value: str, where: _Where) -> str:
    if "\x00" in value:
        path = _spell(where)
        raise InvalidEventData(f"{path}: chuỗi chứa ký tự NUL.", path=path)
    if value.isascii():  # the common case: nothing to compose, nothing that could not encode
        return value
    if not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        path = _spell(where)
        raise InvalidEventData(f"{path}: chuỗi không phải UTF-8 hợp lệ.", path=path) from None
    return value


def dumps(value: Any) -> bytes:
    """Canonical JSON bytes of an already normalised value."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def content(
    *,
    tenant_id: str,
    stream_id: UUID,
    stream_version: int,
    event_type: str,
    schema_version: int,
    data: Any,
    meta: Any,
) -> dict[str, Any]:
    return {
        "data": data,
        "event_type": event_type,
        "meta": meta,
        "schema_version": schema_version,
        "stream_id": str(stream_id),
        "stream_version": stream_version,
        "tenant_id": tenant_id,
    }


def format_recorded_at(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def chain(prev_hash: bytes, seq: int, recorded_at: datetime, content_bytes: bytes) -> bytes:
    header = f"{seq}\n{format_recorded_at(recorded_at)}\n".encode()
    return hashlib.sha256(prev_hash + header + content_bytes).digest()
