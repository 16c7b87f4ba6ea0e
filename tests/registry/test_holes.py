"""registerUnit as an oracle (issue 12): a unit id is unique in the whole country, so "taken" is
the one answer that tells of units out of the caller's reach. It is given last, only to a
request right in every other respect; a wrong request gets the same answer whether its id is
taken or free."""

from __future__ import annotations

import pytest

from services.gateway.schema import build_schema
from tests.registry.test_graphql import client, code_of, elsewhere, gql, tokens  # noqa: F401

REGISTER = """mutation($input: RegisterUnitInput!) { registerUnit(input: $input) { id } }"""

# What is wrong with a request from prov1's admin, and the answer, whichever id it names.
WRONG = {
    "empty name": ({"name": ""}, "UNIT_INVALID"),
    "negative members": ({"members": -1}, "UNIT_INVALID"),
    "grassroots without sector": ({"sectorType": None}, "UNIT_INVALID"),
    "upper with a sector": ({"level": "UPPER"}, "UNIT_INVALID"),
    "a level beside its parent": (
        {"level": "PROVINCIAL", "sectorType": None},
        "UNIT_LEVEL_NESTING",
    ),
}


def unit_input(tree, unit_id: str, **changes) -> dict:
    valid = {
        "id": unit_id,
        "name": "Công đoàn cơ sở Công ty Điện lực",
        "level": "GRASSROOTS",
        "sectorType": "DN nhà nước",
        "members": 50,
        "parentId": tree.prov1,
    }
    return valid | changes


async def events_in(owner, tenant: str) -> int:
    return await owner.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", tenant)


@pytest.mark.parametrize("wrong", WRONG)
async def test_a_wrong_request_gets_the_same_answer_for_a_taken_id_and_a_free_one(
    client,  # noqa: F811
    tokens,  # noqa: F811
    tree,
    elsewhere,  # noqa: F811
    owner,
    wrong,
):
    changes, code = WRONG[wrong]
    free = f"{tree.prefix}-new"
    for unit_id in (tree.upper3, elsewhere, free):  # another province's, another tree's, free
        before = await events_in(owner, unit_id)
        body = await gql(
            client,
            tokens,
            tree.prov1,
            ["admin"],
            REGISTER,
            input=unit_input(tree, unit_id, **changes),
        )
        assert code_of(body) == code, (unit_id, body)
        assert await events_in(owner, unit_id) == before


async def test_a_right_request_for_a_taken_id_is_told_only_that_it_is_taken(
    client,  # noqa: F811
    tokens,  # noqa: F811
    tree,
    elsewhere,  # noqa: F811
    owner,
):
    before = await events_in(owner, elsewhere)
    body = await gql(
        client, tokens, tree.prov1, ["admin"], REGISTER, input=unit_input(tree, elsewhere)
    )
    assert code_of(body) == "UNIT_EXISTS"
    assert await events_in(owner, elsewhere) == before
    message = body["errors"][0]["message"]
    assert "Khác" not in message and "national" not in message  # nothing of the holder
    free = await gql(
        client,
        tokens,
        tree.prov1,
        ["admin"],
        REGISTER,
        input=unit_input(tree, f"{tree.prefix}-new"),
    )
    assert free.get("errors") is None, free


async def test_a_caller_who_may_not_register_there_is_not_told_whether_an_id_is_taken(
    client,  # noqa: F811
    tokens,  # noqa: F811
    tree,
    elsewhere,  # noqa: F811
):
    for unit_id in (elsewhere, f"{tree.prefix}-new"):
        body = await gql(
            client, tokens, tree.prov1, ["officer"], REGISTER, input=unit_input(tree, unit_id)
        )
        assert code_of(body) == "FORBIDDEN"


def test_the_mutation_says_what_a_chosen_id_reveals(settings):
    sdl = build_schema(settings).as_str()
    described = sdl[: sdl.index("registerUnit(")].rsplit('"""', 2)[-2]
    assert "UNIT_EXISTS" in described and "chỉ cho biết mã đã có người dùng" in described


CREATE_CAMPAIGN = """mutation { createCampaign(input: {name: "Thi đua sớm", kind: YEARLY,
  periodStart: "2026-01-01", periodEnd: "2026-12-31"}) { id } }"""


async def test_a_unit_registered_from_a_later_day_gives_no_command_before_it(
    client,  # noqa: F811
    tokens,  # noqa: F811
    tree,
    owner,
):
    # Given a unit registered under prov1 from next year (what it wrote before then, no edge
    # would ever show its parent),
    future = f"{tree.prefix}-future"
    body = await gql(
        client,
        tokens,
        tree.prov1,
        ["admin"],
        REGISTER,
        input=unit_input(tree, future, effectiveOn="2099-01-01"),
    )
    assert body.get("errors") is None, body
    before = await events_in(owner, future)
    # when its officer gives a command today, then it is refused and nothing is written.
    body = await gql(client, tokens, future, ["officer"], CREATE_CAMPAIGN)
    assert code_of(body) == "UNIT_INACTIVE"
    assert await events_in(owner, future) == before
