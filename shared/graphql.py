"""GraphQL scalars the services share."""

from __future__ import annotations

import re
from typing import Any, NewType

import strawberry
from graphql import GraphQLError, IntValueNode, StringValueNode, ValueNode

# ±10^15 đồng: above any target or benefit a unit reports (the country's yearly GDP is about
# 10^16), exact as a JSON number in every client (JavaScript's doubles are exact to 2^53 ≈ 9·10^15)
# and in a spreadsheet cell (15 significant digits), where exports of these figures will land.
LIMIT = 10**15
# ASCII digits only (str.isdigit also accepts "١٢" and "²"), and few enough that int() is cheap.
_INTEGER = re.compile(r"-?[0-9]{1,16}")
_SHOWN_CHARS = 40


def invalid_bigint(value: Any, node: ValueNode | None = None) -> GraphQLError:
    """A client's error: graphql-core shows a GraphQLError raised by a scalar as it is (with its
    code), where any other exception would be wrapped and then masked as INTERNAL."""
    shown = repr(value)
    if len(shown) > _SHOWN_CHARS:
        shown = shown[:_SHOWN_CHARS] + "…"
    return GraphQLError(
        f"BigInt: cần một số nguyên trong khoảng ±10^15 (số hoặc chuỗi chữ số), không phải {shown}.",
        node,
        extensions={"code": "INVALID_INPUT"},
    )


def _from_text(text: str) -> int | None:
    return int(text) if _INTEGER.fullmatch(text) else None


def _parse(value: Any, node: ValueNode | None = None) -> int:
    number = _from_text(value) if isinstance(value, str) else value
    if type(number) is not int or abs(number) > LIMIT:  # bool is an int subclass: refused too
        raise invalid_bigint(value, node)
    return number


def _literal(node: ValueNode, _variables: Any = None) -> int:
    if isinstance(node, IntValueNode | StringValueNode):
        number = _from_text(node.value)
        if number is not None:
            return _parse(number, node)
    raise invalid_bigint(getattr(node, "value", node.kind), node)


BigInt = NewType("BigInt", int)

# The schema's own scalars, for its StrawberryConfig(scalar_map=...) (services/gateway/schema.py).
SCALARS = {
    BigInt: strawberry.scalar(
        name="BigInt",
        description="Số nguyên tới ±10^15 (tiền đồng, số lượng lớn): GraphQL Int chỉ tới 2^31. "
        "Trả về dạng số JSON; nhận số hoặc chuỗi chữ số.",
        serialize=int,
        parse_value=_parse,
        parse_literal=_literal,
    )
}
