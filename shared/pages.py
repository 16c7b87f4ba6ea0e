"""The one page style of every list that can grow: ``first`` (at most a page's limit) and
``after`` (the ``pageInfo.endCursor`` of the page before). A cursor is the sort key of the last
row sent, opaque to the client (base64 of a JSON array of strings), so the next page starts
right after it however many rows were added or removed meanwhile, unlike an offset."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Generic, TypeVar

import orjson
import strawberry

from shared.errors import InvalidInput

# A sort key of a date, a 500-character name (4 bytes a character at most in UTF-8) and ids,
# in base64, with room: a longer cursor is no page's.
MAX_CURSOR_CHARS = 8_192


T = TypeVar("T")


@strawberry.type(description="Trang tiếp theo: truyền after = endCursor.")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    """A row of a page with its cursor (named by its node in the schema: ``UnitEdge``...)."""

    cursor: str
    node: T


def checked_first(first: int, limit: int) -> int:
    if not 1 <= first <= limit:
        raise InvalidInput(f"first phải từ 1 đến {limit}.")
    return first


def cursor_of(*key: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode()


def position_of(cursor: str | None, arity: int) -> tuple[str, ...] | None:
    """The sort key a cursor carries (``arity`` strings), or None for the first page; anything
    else a client sends is INVALID_INPUT."""
    if cursor is None:
        return None
    try:
        if len(cursor) <= MAX_CURSOR_CHARS:
            key = orjson.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
            if (
                isinstance(key, list)
                and len(key) == arity
                and all(isinstance(part, str) and "\x00" not in part for part in key)
            ):
                return tuple(key)
    except (ValueError, TypeError, binascii.Error, UnicodeEncodeError):
        pass
    raise InvalidInput("Con trỏ trang (after) không hợp lệ.")


def edges_of(
    rows: Sequence[Any],
    first: int,
    key: Callable[[Any], tuple[str, ...]],
    node: Callable[[Any], T],
) -> list[Edge[T]]:
    """The page's edges: the first ``first`` rows, each with the cursor of its sort ``key``."""
    return [Edge(cursor=cursor_of(*key(row)), node=node(row)) for row in rows[:first]]


def next_page(rows: Sequence[object], first: int, edges: Sequence[Edge[Any]]) -> PageInfo:
    """Rows were read ``first + 1`` at most: one more than sent says a next page exists."""
    return PageInfo(has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None)


# Each part as PostgreSQL reads it: Python accepts more spellings ('urn:uuid:…', week dates)
# than the database does, so the part handed on is the one Python wrote back.
_CANONICAL = {
    "text": str,
    "date": lambda part: date.fromisoformat(part).isoformat(),
    "uuid": lambda part: str(uuid.UUID(part)),
    "bigint": lambda part: str(_bigint(part)),
}


def _bigint(part: str) -> int:
    if not part.isascii() or not part.isdigit() or len(part) > 18:
        raise ValueError(part)
    return int(part)


def typed_position(cursor: str | None, types: Sequence[str]) -> tuple[str, ...] | None:
    """:func:`position_of` for a sort key of these SQL types ('text', 'date', 'uuid', 'bigint'
    (a position in a log, never negative)), each part
    checked and written canonically here: a cursor the database could not read is
    INVALID_INPUT, not an error of its."""
    position = position_of(cursor, len(types))
    if position is None:
        return None
    try:
        return tuple(_CANONICAL[kind](part) for part, kind in zip(position, types, strict=True))
    except ValueError:
        raise InvalidInput("Con trỏ trang (after) không hợp lệ.") from None


def past_cursor(key: str, types: Sequence[str], first: int, *, given: bool) -> str:
    """The SQL condition "past the cursor" on the sort key ``key`` (a row of columns), its
    parameters numbered from ``first`` (the position's parts, as text). Without a cursor
    (``given`` false) it still names them, typed, so the parameters stay the same: a statement
    for each case, not ``$n IS NULL OR …``, which a generic plan cannot serve from an index."""
    if not given:
        return " AND ".join(f"${first + i}::text IS NULL" for i in range(len(types)))
    params = [
        f"${first + i}::text" + ("" if t == "text" else f"::{t}") for i, t in enumerate(types)
    ]
    return f"({key}) > ({', '.join(params)})"


def position_parameters(position: tuple[str, ...] | None, types: Sequence[str]) -> tuple:
    """The cursor's parts as the statement's parameters (nulls for the first page)."""
    return position if position is not None else (None,) * len(types)
