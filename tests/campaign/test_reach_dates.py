"""Dated reach (shared/access.py): a unit reaches another only through tree edges valid on the day
a row was recorded; the tree itself is read as of today; the log is under row-level security
like the read models, and no setting a session can flip widens it.

The tree is tests/registry/conftest.py's (every edge from 2024-01-01); moves and merges are made
through GraphQL by the national admin, in the past or the future; rows are recorded today by the
database's clock, and a row "recorded earlier" is one whose recorded_on the owner set back."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from shared import access
from shared.clock import today
from tests.registry.conftest import principal
from tests.registry.test_graphql import code_of, gql

from .test_graphql import REGISTER, launched

MOVE = """mutation($id: ID!, $p: ID!, $on: Date!) {
  moveUnit(id: $id, parentId: $p, effectiveOn: $on) { id parentId } }"""
MERGE = """mutation($a: ID!, $b: ID!, $on: Date!) {
  mergeUnits(ids: [$a], into: $b, effectiveOn: $on) { id } }"""
DISSOLVE = """mutation($id: ID!, $on: Date!) {
  dissolveUnit(id: $id, effectiveOn: $on, reason: "Doanh nghiệp giải thể") { status } }"""
PARENT = "query($id: ID!) { unit(id: $id) { parentId } }"
CHILDREN = "query($p: ID) { units(parentId: $p) { edges { node { id } } } }"
AUDIT_LOG = "query($id: ID!) { auditLog(unitId: $id, first: 500) { eventType data } }"
VERIFY = "query($id: ID!) { verification(unitId: $id) { ok } }"
INITIATIVES = """query($u: ID) {
  initiatives(unitId: $u, subtree: false) { edges { node { title } } } }"""
REGISTER_INITIATIVE = """mutation($t: String!) {
  registerInitiative(input: {title: $t, authors: ["Trần Thị Bình"]}) { id } }"""
RECOGNISE = """mutation($id: ID!) { recogniseInitiative(initiativeId: $id, benefitVnd: 1000000,
  appliedAt: ["Phân xưởng"], decision: "Quyết định số 12/QĐ-CĐ") { recognisedOn } }"""
DRAFT = """mutation($input: CampaignInput!) { createCampaign(input: $input) { id } }"""
CAMPAIGNS = "{ campaigns { id } }"


async def move(client, tokens, tree, unit: str, parent: str, on) -> dict:
    body = await gql(
        client, tokens, tree.tld, ["admin"], MOVE, id=unit, p=parent, on=on.isoformat()
    )
    assert body.get("errors") is None, body
    return body["data"]["moveUnit"]


async def initiative(client, tokens, unit: str, title: str) -> None:
    body = await gql(client, tokens, unit, ["officer"], REGISTER_INITIATIVE, t=title)
    assert body.get("errors") is None, body


async def titles(client, tokens, viewer: str, unit: str) -> list[str] | None:
    body = await gql(client, tokens, viewer, ["officer"], INITIATIVES, u=unit)
    page = body["data"]["initiatives"]
    return None if page is None else sorted(e["node"]["title"] for e in page["edges"])


def children(body) -> set[str]:
    return {e["node"]["id"] for e in body["data"]["units"]["edges"]}


async def test_a_move_dated_next_year_grants_nothing_today(runtime, client, tokens, tree):
    # Given a grassroots union with an initiative, moved under upper2 from next year
    await initiative(client, tokens, tree.cs1, "Sáng kiến trước khi chuyển")
    moved = await move(client, tokens, tree, tree.cs1, tree.upper2, today() + timedelta(days=365))
    # Then today its parent is still upper1, for itself and for both parents
    assert moved == {"id": tree.cs1, "parentId": tree.upper1}
    for viewer in (tree.cs1, tree.upper1, tree.upper2):
        body = await gql(client, tokens, viewer, ["officer"], PARENT, id=tree.cs1)
        assert (body["data"]["unit"] or {}).get("parentId") in (tree.upper1, None)
    listed = await gql(client, tokens, tree.upper2, ["officer"], CHILDREN, p=tree.upper2)
    assert tree.cs1 not in children(listed)
    # And the future parent reads none of its records, its log, or its rows
    assert await titles(client, tokens, tree.upper2, tree.cs1) is None
    body = await gql(client, tokens, tree.upper2, ["auditor"], AUDIT_LOG, id=tree.cs1)
    assert code_of(body) == "NOT_FOUND"
    async with access.scope(runtime.pool, principal(tree.upper2, "auditor")) as conn:
        for table in ("events", "units", "campaign_initiatives"):
            count = await conn.fetchval(
                f"SELECT count(*) FROM {table} WHERE tenant_id = $1", tree.cs1
            )
            assert count == 0, table
    # While the present parent still does
    assert await titles(client, tokens, tree.upper1, tree.cs1) == ["Sáng kiến trước khi chuyển"]


async def test_a_move_dated_in_the_future_takes_effect_on_its_day(
    runtime, client, tokens, tree, owner, monkeypatch
):
    # Given a move of cs1 under upper2 dated tomorrow
    await move(client, tokens, tree, tree.cs1, tree.upper2, today() + timedelta(days=1))
    # When its day comes (the owner moves the edges' dates one day back, as time would)
    for table in ("unit_parents", "unit_closure"):
        await owner.execute(
            f"UPDATE {table} SET valid_from = valid_from - 1 WHERE valid_from = $1",
            today() + timedelta(days=1),
        )
        column = "tenant_id" if table == "unit_parents" else "descendant"
        await owner.execute(
            f"UPDATE {table} SET valid_to = valid_to - 1 WHERE valid_to = $1 AND {column} = $2",
            today() + timedelta(days=1),
            tree.cs1,
        )
    monkeypatch.setattr(access, "_tree_as_of", today() - timedelta(days=1))  # a new day begins
    # Then the day's first request brings the move in on its own statement: even one that fails
    # (rolled back) leaves it made, and does not hold the moved units for its own length.
    with pytest.raises(RuntimeError):
        async with access.scope(runtime.pool, principal(tree.upper2, "officer")):
            raise RuntimeError("the request fails")
    assert await owner.fetchval("SELECT parent_id FROM units WHERE tenant_id = $1", tree.cs1) == (
        tree.upper2
    )
    # And the requests of the day see the new parent
    for _ in range(2):
        body = await gql(client, tokens, tree.upper2, ["officer"], PARENT, id=tree.cs1)
        assert body["data"]["unit"] == {"parentId": tree.upper2}
    listed = await gql(client, tokens, tree.upper2, ["officer"], CHILDREN, p=tree.upper2)
    assert tree.cs1 in children(listed)


async def test_a_former_parent_reads_what_was_recorded_before_the_move_and_nothing_after(
    client, tokens, tree, owner
):
    # Given an initiative of cs1 recorded 30 days ago, under upper1
    await initiative(client, tokens, tree.cs1, "Cũ")
    await owner.execute(
        "UPDATE campaign_initiatives SET recorded_on = recorded_on - 30 WHERE tenant_id = $1",
        tree.cs1,
    )
    # When cs1 moved under upper2 ten days ago, and recorded another one today
    await move(client, tokens, tree, tree.cs1, tree.upper2, today() - timedelta(days=10))
    await initiative(client, tokens, tree.cs1, "Mới")
    # Then the former parent reads the old one only, the new parent the new one only, and the
    # province, above both all along, reads both
    assert await titles(client, tokens, tree.upper1, tree.cs1) == ["Cũ"]
    assert await titles(client, tokens, tree.upper2, tree.cs1) == ["Mới"]
    assert await titles(client, tokens, tree.prov1, tree.cs1) == ["Cũ", "Mới"]
    # And the former parent's auditor reads none of cs1's events recorded since the move (all
    # of them here: they were recorded today), the new parent's all of them
    former = await gql(client, tokens, tree.upper1, ["auditor"], AUDIT_LOG, id=tree.cs1)
    assert former["data"]["auditLog"] == []
    new = await gql(client, tokens, tree.upper2, ["auditor"], AUDIT_LOG, id=tree.cs1)
    assert "InitiativeRegistered" in {e["eventType"] for e in new["data"]["auditLog"]}
    # And only a unit above it today verifies its whole chain (whose length tells of every event)
    former = await gql(client, tokens, tree.upper1, ["auditor"], VERIFY, id=tree.cs1)
    assert code_of(former) == "NOT_FOUND"
    new = await gql(client, tokens, tree.upper2, ["auditor"], VERIFY, id=tree.cs1)
    assert new["data"]["verification"]["ok"] is True


async def test_a_change_made_after_the_move_is_not_read_by_the_former_parent(
    client, tokens, tree, owner
):
    # Given an initiative of cs1 recorded 30 days ago, under upper1, and cs1 moved under upper2
    # ten days ago
    await initiative(client, tokens, tree.cs1, "Cũ")
    await owner.execute(
        "UPDATE campaign_initiatives SET recorded_on = recorded_on - 30 WHERE tenant_id = $1",
        tree.cs1,
    )
    await move(client, tokens, tree, tree.cs1, tree.upper2, today() - timedelta(days=10))
    assert await titles(client, tokens, tree.upper1, tree.cs1) == ["Cũ"]
    # When cs1's initiative is recognised today (a fact recorded after the move)
    initiative_id = await owner.fetchval(
        "SELECT initiative_id FROM campaign_initiatives WHERE tenant_id = $1", tree.cs1
    )
    body = await gql(client, tokens, tree.cs1, ["officer"], RECOGNISE, id=str(initiative_id))
    assert body.get("errors") is None, body
    # Then the former parent no longer reads the row (it would show what happened after the
    # move); the new parent does
    assert await titles(client, tokens, tree.upper1, tree.cs1) == []
    assert await titles(client, tokens, tree.upper2, tree.cs1) == ["Cũ"]


async def test_a_merged_units_token_reads_nothing_recorded_after_the_merge(client, tokens, tree):
    # Given upper1 merged into upper2 ten days ago (its child cs1 moved with it)
    body = await gql(
        client,
        tokens,
        tree.tld,
        ["admin"],
        MERGE,
        a=tree.upper1,
        b=tree.upper2,
        on=(today() - timedelta(days=10)).isoformat(),
    )
    assert body.get("errors") is None, body
    # When its former child drafts a campaign today
    start = today()
    draft = {
        "name": "Thi đua sau sáp nhập",
        "theme": "Đoàn kết",
        "kind": "YEARLY",
        "periodStart": start.isoformat(),
        "periodEnd": (start + timedelta(days=200)).isoformat(),
        "contents": ["Nội dung một"],
    }
    body = await gql(client, tokens, tree.cs1, ["officer"], DRAFT, input=draft)
    campaign_id = body["data"]["createCampaign"]["id"]
    # Then the merged unit's officer does not list it; the surviving unit's does
    merged = await gql(client, tokens, tree.upper1, ["officer"], CAMPAIGNS)
    assert campaign_id not in {c["id"] for c in merged["data"]["campaigns"]}
    survivor = await gql(client, tokens, tree.upper2, ["officer"], CAMPAIGNS)
    assert campaign_id in {c["id"] for c in survivor["data"]["campaigns"]}


async def test_the_log_is_under_row_level_security_by_reach(runtime, registry, tree):
    # Given two grassroots unions under upper1
    await registry.register(
        None,
        unit_id=tree.cs2,
        name="Công đoàn cơ sở Điện lực Kim Sơn",
        level="grassroots",
        sector_type="DN nhà nước",
        parent_id=tree.upper1,
    )
    raw = "SELECT data->>'name' FROM events WHERE tenant_id = $1"
    # When a query under cs1's scope reads its sibling's log with nothing but the tenant's id
    async with access.scope(runtime.pool, principal(tree.cs1, "officer", "auditor")) as conn:
        sibling = await conn.fetch(raw, tree.cs2)
        own = await conn.fetch(raw, tree.cs1)
    # Then it reads nothing of the sibling's, and its own log
    assert sibling == []
    assert [r[0] for r in own] == ["Công đoàn cơ sở Điện lực Hoa Lư"]
    # And above them, an auditor reads the log below, an officer (no auditor) does not
    async with access.scope(runtime.pool, principal(tree.upper1, "auditor")) as conn:
        assert len(await conn.fetch(raw, tree.cs2)) == 1
    async with access.scope(runtime.pool, principal(tree.upper1, "officer")) as conn:
        assert await conn.fetch(raw, tree.cs2) == []


async def test_setting_the_registry_writer_flag_grants_nothing(runtime, tree):
    # Given a query under cs1's scope that sets the flag the registry's writer once used
    async with access.scope(runtime.pool, principal(tree.cs1, "officer")) as conn:
        await conn.execute("SELECT set_config('thidua.registry_writer', 'on', true)")
        # Then it still reads nothing of its parent's or its sibling's rows, nor their logs
        for table in ("units", "unit_parents", "events"):
            count = await conn.fetchval(
                f"SELECT count(*) FROM {table} WHERE tenant_id = ANY ($1::text[])",
                [tree.upper1, tree.upper2, tree.prov1],
            )
            assert count == 0, table
        # And it cannot write the tree
        before = await conn.fetchval("SELECT count(*) FROM units")
        try:
            await conn.execute("UPDATE units SET name = 'x' WHERE tenant_id = $1", tree.cs1)
            changed = await conn.fetchval("SELECT count(*) FROM units WHERE name = 'x'")
        except Exception as exc:  # refused outright: no privilege
            changed = type(exc).__name__
        assert changed in (0, "InsufficientPrivilegeError")
        assert before == 1


async def test_a_dissolved_units_token_reads_no_campaign_launched_after_its_end(
    client, tokens, tree
):
    # Given cs1 dissolved ten days ago
    body = await gql(
        client,
        tokens,
        tree.tld,
        ["admin"],
        DISSOLVE,
        id=tree.cs1,
        on=(today() - timedelta(days=10)).isoformat(),
    )
    assert body.get("errors") is None, body
    # When its province launches a campaign today
    campaign_id = await launched(client, tokens, tree.prov1)
    # Then the dissolved unit's token does not see it; a unit still below does
    gone = await gql(client, tokens, tree.cs1, ["officer"], CAMPAIGNS)
    assert campaign_id not in {c["id"] for c in gone["data"]["campaigns"]}
    alive = await gql(client, tokens, tree.upper2, ["member"], CAMPAIGNS)
    assert campaign_id in {c["id"] for c in alive["data"]["campaigns"]}


async def test_a_unit_moved_away_no_longer_registers_with_its_former_parents_campaign(
    client, tokens, tree, owner
):
    # Given upper1's campaign launched a month ago, and cs1 moved from under upper1 to upper2
    # ten days ago (it still reads the campaign: it was below upper1 when it was launched)
    campaign_id = await launched(client, tokens, tree.upper1)
    await owner.execute(
        "UPDATE campaigns SET launched_on = launched_on - 30 WHERE campaign_id = $1",
        uuid.UUID(campaign_id),
    )
    await move(client, tokens, tree, tree.cs1, tree.upper2, today() - timedelta(days=10))
    # When cs1 registers with it
    body = await gql(
        client,
        tokens,
        tree.cs1,
        ["officer"],
        REGISTER,
        c=campaign_id,
        contents=["Phát huy sáng kiến"],
    )
    # Then it is not a campaign of a unit above it any more
    assert code_of(body) == "NOT_FOUND"
    seen = await gql(client, tokens, tree.cs1, ["officer"], CAMPAIGNS)
    assert campaign_id in {c["id"] for c in seen["data"]["campaigns"]}


async def test_a_merged_unit_gains_no_campaigns_above_through_its_merge(
    client, tokens, tree, owner
):
    # Given upper2's campaign, launched a month ago,
    campaign_id = await launched(client, tokens, tree.upper2)
    await owner.execute(
        "UPDATE campaigns SET launched_on = $2, recorded_on = $2 WHERE campaign_id = $1::uuid",
        campaign_id,
        today() - timedelta(days=30),
    )
    # when upper1 is merged into upper2 ten days ago (which puts it under upper2 from its end),
    body = await gql(
        client,
        tokens,
        tree.tld,
        ["admin"],
        MERGE,
        a=tree.upper1,
        b=tree.upper2,
        on=(today() - timedelta(days=10)).isoformat(),
    )
    assert body.get("errors") is None, body
    # then the merged unit's token does not list it: an ended unit gains no new reach.
    merged = await gql(client, tokens, tree.upper1, ["officer"], CAMPAIGNS)
    assert campaign_id not in {c["id"] for c in merged["data"]["campaigns"]}
    survivor = await gql(client, tokens, tree.upper2, ["officer"], CAMPAIGNS)
    assert campaign_id in {c["id"] for c in survivor["data"]["campaigns"]}


async def test_a_merged_units_whole_log_still_verifies(client, tokens, tree):
    # Given upper1 merged into upper2 ten days ago: its UnitMerged is recorded after its end
    body = await gql(
        client,
        tokens,
        tree.tld,
        ["admin"],
        MERGE,
        a=tree.upper1,
        b=tree.upper2,
        on=(today() - timedelta(days=10)).isoformat(),
    )
    assert body.get("errors") is None, body
    # Then an auditor above it verifies its whole chain as intact (it read the log short of
    # its head, and said rows were missing)
    verdict = await gql(client, tokens, tree.tld, ["auditor"], VERIFY, id=tree.upper1)
    assert verdict["data"]["verification"]["ok"] is True, verdict
