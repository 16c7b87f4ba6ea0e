"""The registry's rules read the tree (no cycle, the parent's level and status, no active
children), so registry commands decide under the registry's lock on rows no other registry
command is changing: of two commands at the same moment whose effects together break a rule,
one succeeds and the other is refused with its code, and nothing else is written.

The ``asyncio.wait_for`` bounds are liveness bounds (a hang fails), not timing assertions.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from shared.errors import DomainError
from tests.registry.test_graphql import client, gql, tokens  # noqa: F401

from .conftest import SINCE

LIVENESS_S = 60
ON = date(2025, 1, 1)


async def registry_events(owner, *units: str) -> int:
    return await owner.fetchval(
        "SELECT count(*) FROM events WHERE tenant_id = ANY ($1::text[]) AND event_type LIKE 'Unit%'",
        list(units),
    )


async def at_the_same_moment(**commands) -> dict[str, BaseException | object]:
    """Run the commands at once; what each answered or raised, by name."""
    answers = await asyncio.wait_for(
        asyncio.gather(*commands.values(), return_exceptions=True), LIVENESS_S
    )
    return dict(zip(commands, answers, strict=True))


def outcome(answers: dict[str, BaseException | object]) -> tuple[list[str], dict[str, str]]:
    won = [name for name, a in answers.items() if not isinstance(a, BaseException)]
    refused = {name: a.code for name, a in answers.items() if isinstance(a, DomainError)}
    return won, refused


async def test_a_move_under_a_unit_racing_its_dissolution_lets_exactly_one_through(
    registry, tree, owner
):
    # Given a grassroots unit, and an upper unit with no children of its own
    before = await registry_events(owner, tree.cs1, tree.upper2)

    # When the grassroots unit is moved under it at the moment it is dissolved
    answers = await at_the_same_moment(
        move=registry.move(None, tree.cs1, tree.upper2, ON),
        dissolve=registry.dissolve(None, tree.upper2, ON, "giải thể"),
    )

    # Then exactly one succeeds; the other is refused for what the first did
    won, refused = outcome(answers)
    assert len(won) == 1, answers
    expected = {"move": "UNIT_INACTIVE", "dissolve": "UNIT_HAS_CHILDREN"}
    [loser] = refused
    assert refused == {loser: expected[loser]}
    # and only the winner's event is in the logs, and in the read model
    assert await registry_events(owner, tree.cs1, tree.upper2) == before + 1
    parent, status = await owner.fetchrow(
        "SELECT (SELECT parent_id FROM units WHERE tenant_id = $1), "
        "(SELECT status FROM units WHERE tenant_id = $2)",
        tree.cs1,
        tree.upper2,
    )
    if won == ["move"]:
        assert (parent, status) == (tree.upper2, "active")
    else:
        assert (parent, status) == (tree.upper1, "dissolved")


async def test_a_registration_under_a_unit_racing_its_dissolution_lets_exactly_one_through(
    registry, tree, owner
):
    # Given an upper unit with no children
    before = await registry_events(owner, tree.upper2)

    # When a grassroots unit is registered under it at the moment it is dissolved
    answers = await at_the_same_moment(
        register=registry.register(
            None,
            unit_id=tree.cs7,
            name="Công đoàn cơ sở mới",
            level="grassroots",
            sector_type="DN tư nhân",
            parent_id=tree.upper2,
            effective_on=ON + timedelta(days=1),
        ),
        dissolve=registry.dissolve(None, tree.upper2, ON, "giải thể"),
    )

    # Then exactly one succeeds, the other is refused with its code, nothing else is written
    won, refused = outcome(answers)
    assert len(won) == 1, answers
    expected = {"register": "UNIT_INACTIVE", "dissolve": "UNIT_HAS_CHILDREN"}
    [loser] = refused
    assert refused == {loser: expected[loser]}
    registered = await registry_events(owner, tree.cs7)
    dissolved = await registry_events(owner, tree.upper2) - before
    assert (registered, dissolved) == ((1, 0) if won == ["register"] else (0, 1))


async def test_a_move_racing_a_move_that_would_close_a_cycle_lets_exactly_one_through(
    registry, tree, owner
):
    # Given upper3 under prov2. Levels rank strictly, so of two moves that would together make a
    # cycle, one is refused by the level rule on its own; the cycle rule must then see the tree
    # as the other move left it, never as it was before.
    before = await registry_events(owner, tree.upper3, tree.prov1)

    # When upper3 moves under prov1 at the moment prov1 is moved under upper3
    answers = await at_the_same_moment(
        move=registry.move(None, tree.upper3, tree.prov1, ON),
        closing=registry.move(None, tree.prov1, tree.upper3, ON),
    )

    # Then the valid move goes through; the other is refused: a cycle once the first has moved
    # upper3 under prov1, a provincial unit under an upper one if it came first
    won, refused = outcome(answers)
    assert won == ["move"]
    assert refused["closing"] in {"UNIT_CYCLE", "UNIT_LEVEL_NESTING"}
    # and only the move is written
    assert await registry_events(owner, tree.upper3, tree.prov1) == before + 1
    assert (
        await owner.fetchval("SELECT parent_id FROM units WHERE tenant_id = $1", tree.prov1)
        == tree.tld
    )


async def test_a_registration_repeated_with_its_idempotency_key_answers_alike_and_writes_once(
    client,  # noqa: F811  (the fixture)
    tokens,  # noqa: F811
    tree,
    owner,
):
    # Given a registerUnit request sent with an Idempotency-Key header
    register = (
        "mutation($i: RegisterUnitInput!) { registerUnit(input: $i) { id name parentId version } }"
    )
    new = {
        "id": tree.cs6,
        "name": "CĐCS Công ty May Hoa Lư",
        "level": "GRASSROOTS",
        "parentId": tree.upper2,
        "sectorType": "DN tư nhân",
        "effectiveOn": SINCE.isoformat(),
    }
    token = tokens.issue(tenant=tree.prov1, roles=["admin"], subject="s", ttl=timedelta(minutes=5))

    async def send(key: str, unit: dict) -> dict:
        response = await client.post(
            "/graphql",
            json={"query": register, "variables": {"i": unit}},
            # as bytes: a client may send any (a non-ASCII key, UTF-8 encoded)
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key.encode()},
        )
        assert response.status_code == 200, response.text
        return response.json()

    # When it is sent again with the same key (a client that lost the first answer)
    first = await send("dang-ky-cs6", new)
    again = await send("dang-ky-cs6", new)

    # Then both answers are the same, the unit's log holds one registration
    assert first == again
    assert first["data"]["registerUnit"] == {
        "id": tree.cs6,
        "name": "CĐCS Công ty May Hoa Lư",
        "parentId": tree.upper2,
        "version": 1,
    }
    assert await registry_events(owner, tree.cs6) == 1
    # and the same key with another input is refused, writing nothing
    other = await send("dang-ky-cs6", {**new, "name": "Tên khác"})
    assert other["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await registry_events(owner, tree.cs6) == 1
    # and a key the store could not keep is the client's error, refused before anything runs
    for bad in ("k" * 201, "khóa-có-dấu", "two words"):
        refused = await send(bad, {**new, "id": tree.cs6 + "-x"})
        assert refused["errors"][0]["extensions"]["code"] == "INVALID_INPUT", refused
        assert "Idempotency-Key" in refused["errors"][0]["message"]
    assert await registry_events(owner, tree.cs6 + "-x") == 0
    # while without a key, a repeat is told the id is taken
    body = await gql(client, tokens, tree.prov1, ["admin"], register, i=new)
    assert body["errors"][0]["extensions"]["code"] == "UNIT_EXISTS"
