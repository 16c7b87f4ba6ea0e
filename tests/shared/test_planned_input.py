"""shared/graphql.py ``planned_input``: a bulk command's input, built by a plan made once, is the
value Strawberry's own field-by-field conversion builds, for every shape the client may send
(fields given, left out, null; lists of scalars and of inputs; enums; dates)."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import coerce_input_value
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.types.arguments import convert_argument

from services.awards.schema import PersonInput
from services.awards.schema_proposals import NomineeInput
from services.campaign.schema_records import PledgeRowInput
from services.gateway.schema import build_schema
from shared.settings import Settings

SCHEMA = build_schema(Settings(jwt_secret="x" * 32))
TEXT = st.text(max_size=8)
IDS = st.uuids().map(str)
DATES = st.dates().map(lambda d: d.isoformat())


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def fields(required: dict[str, Any], optional_: dict[str, Any]) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(required, optional=optional_)


NOMINEES = fields(
    {"subject": st.sampled_from(["PERSON", "COLLECTIVE"]), "award": TEXT},
    {
        "personId": optional(IDS),
        "unitId": optional(TEXT),
        "summary": TEXT,
        "campaignId": optional(IDS),
        "initiatives": st.lists(IDS, max_size=3),
        "earlierTitles": st.lists(
            st.fixed_dictionaries({"award": TEXT, "year": st.integers(2000, 2030)}), max_size=2
        ),
        "idempotencyKey": optional(TEXT),
    },
)
PEOPLE = fields(
    {"fullName": TEXT, "gender": st.sampled_from(["MALE", "FEMALE"])},
    {
        "staffNumber": TEXT,
        "birthYear": optional(st.integers(1950, 2010)),
        "contacts": st.lists(TEXT, max_size=3),
        "ethnicMinority": st.booleans(),
        "post": TEXT,
        "directWorker": st.booleans(),
        "cadre": st.sampled_from(["NONE", "FULL_TIME", "PART_TIME"]),
        "cadreSince": optional(DATES),
        "employedSince": optional(DATES),
        "idempotencyKey": optional(TEXT),
    },
)
PLEDGES = fields(
    {"name": TEXT, "title": TEXT},
    {"subject": optional(st.sampled_from(["PERSON", "COLLECTIVE"])), "ref": TEXT},
)


def both(cls: type, value: dict[str, Any]) -> tuple[Any, Any]:
    """The value as the planned input builds it, and as Strawberry builds it without the plan."""
    definition = cls.__strawberry_definition__
    graphql_type = SCHEMA._schema.get_type(definition.name)
    coerced = coerce_input_value(value, graphql_type)
    registry, config = SCHEMA.schema_converter.scalar_registry, SCHEMA.config
    planned = convert_argument(coerced, cls, registry, config)
    hook, definition.from_input = definition.from_input, None
    try:
        plain = convert_argument(coerced, cls, registry, config)
    finally:
        definition.from_input = hook
    return planned, plain


@pytest.mark.parametrize(
    ("cls", "values"),
    [(NomineeInput, NOMINEES), (PersonInput, PEOPLE), (PledgeRowInput, PLEDGES)],
    ids=["NomineeInput", "PersonInput", "PledgeRowInput"],
)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_the_planned_input_is_strawberrys_own(cls, values, data):
    value = data.draw(values)
    planned, plain = both(cls, value)
    assert planned == plain
    assert type(planned) is type(plain)
    # Lists are the input's own copies, as Strawberry makes them
    for name, item in vars(planned).items():
        if isinstance(item, list) and item:
            assert item is not getattr(plain, name)


def test_the_plan_is_in_force_on_the_bulk_inputs():
    for cls in (NomineeInput, PersonInput, PledgeRowInput):
        assert cls.__strawberry_definition__.from_input is not None
