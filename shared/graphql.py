"""GraphQL scalars the services share."""

from __future__ import annotations

from typing import Any, NewType

import strawberry
from graphql import IntValueNode, StringValueNode

LIMIT = 10**15


def _parse(value: Any) -> int:
    if isinstance(value, str) and value.lstrip("-").isdigit():
        value = int(value)
    if type(value) is not int or abs(value) > LIMIT:
        raise ValueError(f"BigInt: an integer of at most {LIMIT} in magnitude, not {value!r}.")
    return value


def _literal(node: Any, _variables: Any = None) -> int:
    if isinstance(node, IntValueNode | StringValueNode):
        return _parse(int(node.value) if isinstance(node, IntValueNode) else node.value)
    raise ValueError("BigInt: an integer literal.")


BigInt = strawberry.scalar(
    NewType("BigInt", int),
    description="Số nguyên tới ±10^15 (tiền đồng, số lượng lớn): GraphQL Int chỉ tới 2^31. "
    "Trả về dạng số JSON; nhận số hoặc chuỗi chữ số.",
    serialize=int,
    parse_value=_parse,
    parse_literal=_literal,
)
