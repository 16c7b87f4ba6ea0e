"""GraphQL scalars the services share."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Mapping
from typing import Any, NewType, TypeVar

import strawberry
from graphql import GraphQLError, IntValueNode, StringValueNode, ValueNode
from strawberry.scalars import is_scalar
from strawberry.types.arguments import InputContext
from strawberry.types.base import StrawberryList, StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition

from shared.errors import NotFound

_Input = TypeVar("_Input")

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


def planned_input(cls: type[_Input]) -> type[_Input]:
    """A bulk command's input type, built by a plan made once: Strawberry builds each value
    field by field, resolving every field's type and name again for each one, and 10,000
    nominees in one ``addNominees`` spent 0.8 s there. Values graphql-core has already coerced
    (scalars, enums, lists of them) are taken as they are; any other field goes through
    Strawberry's own conversion. tests/shared/test_planned_input.py holds it to Strawberry's."""
    definition = cls.__strawberry_definition__
    plan: list[tuple[str, str, Any, str]] = []

    def make_plan(context: InputContext) -> None:
        steps = []
        for f in definition.fields:
            type_ = f.resolve_type(type_definition=definition)
            name = context.config.name_converter.from_field(f)
            steps.append((name, f.python_name, type_, _how(type_, context.scalar_registry)))
        plan[:] = steps  # whole or not at all: a plan half made would be taken as made

    def from_input(type_: type, value: Mapping[str, Any], context: InputContext) -> Any:
        if not plan:
            make_plan(context)
        kwargs = dict(defaults)
        for name, python_name, field_type, how in plan:
            if name in value:
                given = value[name]
                if given is None or how == "as-is":
                    kwargs[python_name] = given
                elif how == "list" or (type(given) is list and not given):
                    # A copy, as Strawberry's own; an empty list (a default, most rows of a bulk)
                    # has nothing to convert: 60 ms of 10,000 nominees' earlierTitles.
                    kwargs[python_name] = list(given)
                else:
                    kwargs[python_name] = context.convert(given, field_type, name)
        return type_(**kwargs)

    # Strawberry's implicit None for input fields without a default (the document has them).
    defaults = {
        f.python_name: None
        for f in definition.fields
        if f.default_value is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    definition.from_input = from_input
    return cls


def _how(type_: Any, registry: Any) -> str:
    inner = type_.of_type if isinstance(type_, StrawberryOptional) else type_
    if _leaf(inner, registry):
        return "as-is"
    if isinstance(inner, StrawberryList):
        element = inner.of_type
        element = element.of_type if isinstance(element, StrawberryOptional) else element
        if _leaf(element, registry):
            return "list"
    return "convert"


def _leaf(type_: Any, registry: Any) -> bool:
    return (
        is_scalar(type_, registry)
        or isinstance(type_, StrawberryEnumDefinition)
        or has_enum_definition(type_)
    )


def client_uuid(value: str) -> uuid.UUID:
    """An id from a client (a campaign's, a proposal's, …): anything that is not one is simply
    not found."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(str(value)[:64], id=str(value)[:64]) from None
