"""Smaller holes of issue 12 in the campaign rules, as specifications: which campaign a campaign
may carry out, what an actual may be, what a unit may register, and who sees a registration."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from services.campaign.domain import Registration
from services.campaign.projections import build_registry
from shared import migrate
from shared.db import owner_connection
from shared.eventstore import StoredEvent
from tests.conftest import GOLDEN, fresh_database
from tests.registry.test_graphql import code_of, gql
from tests.shared.test_golden import golden_rows

from .conftest import SEED_003, officer, seed_003
from .test_commands import events_of, refused
from .test_graphql import ADD_PHASE, CREATE, LAUNCH, launched, plan_input

FIRST, SECOND = SEED_003["contents"]
PICKED = plan_input()["contents"]  # the contents of a campaign made by `launched`

# --- a campaign carries out only a launched campaign of an ancestor --------------------------


async def test_a_campaign_cannot_carry_out_a_campaign_of_a_unit_below(client, tokens, tree, owner):
    below = await launched(client, tokens, tree.upper1)  # the province reads it, stands above it
    before = await events_of(owner, tree.prov1)
    body = await gql(
        client,
        tokens,
        tree.prov1,
        ["officer"],
        CREATE,
        input=plan_input() | {"parentCampaignId": below},
    )
    assert code_of(body) == "NOT_FOUND"
    assert await events_of(owner, tree.prov1) == before


# (whose campaign, launched?) → what creating a campaign of cs1 that carries it out answers.
CARRY_OUT = {
    "grandparent, launched": ("prov1", True, None),
    "parent, launched": ("upper1", True, None),
    "parent, draft": ("upper1", False, "NOT_FOUND"),
    "own, launched": ("cs1", True, "NOT_FOUND"),
    "parent's sibling, launched": ("upper2", True, "NOT_FOUND"),
    "other province, launched": ("prov2", True, "NOT_FOUND"),
}


@pytest.mark.parametrize("case", CARRY_OUT)
async def test_only_a_launched_campaign_of_an_ancestor_is_carried_out(campaigns, tree, owner, case):
    unit, launch, code = CARRY_OUT[case]
    parent = await seed_003(campaigns, getattr(tree, unit), launch=launch)
    command = campaigns.create(officer(tree.cs1), **(SEED_003 | {"parent_campaign": parent}))
    if code is None:
        await command
        assert await events_of(owner, tree.cs1) == ["UnitRegistered", "CampaignCreated"]
    else:
        await refused(code, owner, tree.cs1, command)


async def test_a_concluded_campaign_of_an_ancestor_is_not_carried_out(
    campaigns, tree, owner, clock
):
    parent = await seed_003(campaigns, tree.prov1)
    clock.on = date(2022, 1, 3)
    await campaigns.conclude(officer(tree.prov1), parent, "Báo cáo tổng kết", {})
    await refused(
        "CAMPAIGN_CONCLUDED",
        owner,
        tree.upper1,
        campaigns.create(officer(tree.upper1), **(SEED_003 | {"parent_campaign": parent})),
    )


# --- an actual obeys its indicator's measure -----------------------------------------------

ADD_PERCENT = """mutation($c: ID!) { addIndicator(campaignId: $c, input: {
  code: "tot", name: "Đơn vị xếp loại tốt", measure: PERCENT, target: 85, scope: OWN }) { id } }"""
REPORT = """mutation($c: ID!, $code: String!, $v: BigInt!) {
  reportProgress(campaignId: $c, phase: 1, actuals: [{code: $code, value: $v}]) }"""
INDICATORS = "query($id: ID!) { campaign(id: $id) { indicators { code actual achievement } } }"


async def percent_campaign(client, tokens, unit: str) -> str:
    """A launched campaign of ``unit`` with one phase and one indicator: "tot", 85 %."""
    body = await gql(client, tokens, unit, ["officer"], CREATE, input=plan_input())
    campaign_id = body["data"]["createCampaign"]["id"]
    start = date.fromisoformat(plan_input()["periodStart"])
    end = start + timedelta(days=100)
    phase = {"c": campaign_id, "s": start.isoformat(), "e": end.isoformat()}
    for query, variables in ((ADD_PHASE, phase), (ADD_PERCENT, {"c": campaign_id})):
        assert (await gql(client, tokens, unit, ["officer"], query, **variables)).get(
            "errors"
        ) is None
    await gql(client, tokens, unit, ["officer"], LAUNCH, c=campaign_id)
    return campaign_id


async def test_a_percent_actual_over_100_is_refused_and_shows_no_achievement(
    client, tokens, tree, owner
):
    campaign_id = await percent_campaign(client, tokens, tree.prov1)
    before = await events_of(owner, tree.prov1)
    body = await gql(
        client, tokens, tree.prov1, ["officer"], REPORT, c=campaign_id, code="tot", v=120
    )
    assert code_of(body) == "INDICATOR_PERCENT_OVER_100"
    assert "120" in body["errors"][0]["message"]
    assert await events_of(owner, tree.prov1) == before
    shown = await gql(client, tokens, tree.prov1, ["officer"], INDICATORS, id=campaign_id)
    assert shown["data"]["campaign"]["indicators"] == [
        {"code": "tot", "actual": None, "achievement": None}
    ]


async def test_a_percent_actual_of_100_is_the_most_there_is(client, tokens, tree):
    campaign_id = await percent_campaign(client, tokens, tree.prov1)
    body = await gql(
        client, tokens, tree.prov1, ["officer"], REPORT, c=campaign_id, code="tot", v=100
    )
    assert body.get("errors") is None, body
    shown = await gql(client, tokens, tree.prov1, ["officer"], INDICATORS, id=campaign_id)
    assert shown["data"]["campaign"]["indicators"] == [
        {"code": "tot", "actual": 100, "achievement": 117.6}
    ]


@pytest.mark.parametrize("code", ["tot", "sang-kien"])
async def test_a_negative_actual_is_refused_whatever_the_measure(client, tokens, tree, owner, code):
    make = percent_campaign if code == "tot" else launched  # "sang-kien": a count
    campaign_id = await make(client, tokens, tree.prov1)
    body = await gql(
        client, tokens, tree.upper1, ["officer"], REPORT, c=campaign_id, code=code, v=-1
    )
    assert code_of(body) == "INDICATOR_INVALID"
    assert await events_of(owner, tree.upper1) == ["UnitRegistered"]


# --- a unit picks contents from the campaign's, and marks its own ---------------------------

PICK = """mutation($c: ID!, $contents: [String!]!) {
  registerForCampaign(campaignId: $c, contents: $contents) { id } }"""
REGISTER = """mutation($c: ID!, $contents: [String!]!, $own: [String!]) {
  registerForCampaign(campaignId: $c, contents: $contents, ownContents: $own) { id } }"""
MINE = "{ myRegistrations { campaignId contents ownContents } }"
STATUSES = "query($id: ID!) { campaign(id: $id) { childRegistrations { edges { node { unitId status } } } } }"
CHILDREN = """query($id: ID!) { campaign(id: $id) {
  childRegistrations { edges { node { unitId status contents ownContents direct } } } } }"""


async def test_a_content_not_among_the_campaigns_is_refused_by_name(client, tokens, tree, owner):
    campaign_id = await launched(client, tokens, tree.prov1)
    body = await gql(
        client,
        tokens,
        tree.upper1,
        ["officer"],
        PICK,
        c=campaign_id,
        contents=[PICKED[0], "Thi đua bán hàng"],
    )
    assert code_of(body) == "CONTENT_UNKNOWN"
    assert "Thi đua bán hàng" in body["errors"][0]["message"]
    assert await events_of(owner, tree.upper1) == ["UnitRegistered"]


async def test_a_units_own_contents_are_kept_apart_and_shown_as_its_own(client, tokens, tree):
    campaign_id = await launched(client, tokens, tree.prov1)
    own = ["Thi đua an toàn điện"]
    body = await gql(
        client,
        tokens,
        tree.upper1,
        ["officer"],
        REGISTER,
        c=campaign_id,
        contents=PICKED[:1],
        own=own,
    )
    assert body.get("errors") is None, body
    mine = (await gql(client, tokens, tree.upper1, ["officer"], MINE))["data"]["myRegistrations"]
    assert mine == [{"campaignId": campaign_id, "contents": PICKED[:1], "ownContents": own}]
    seen = (await gql(client, tokens, tree.prov1, ["officer"], CHILDREN, id=campaign_id))["data"]
    assert {"unitId": tree.upper1, "status": "ON_TIME", "contents": PICKED[:1]} | {
        "ownContents": own,
        "direct": True,
    } in [e["node"] for e in seen["campaign"]["childRegistrations"]["edges"]]


async def test_a_campaigns_content_is_not_registered_as_ones_own(client, tokens, tree, owner):
    campaign_id = await launched(client, tokens, tree.prov1)
    body = await gql(
        client,
        tokens,
        tree.upper1,
        ["officer"],
        REGISTER,
        c=campaign_id,
        contents=[],
        own=PICKED[:1],
    )
    assert code_of(body) == "CAMPAIGN_INVALID"
    assert await events_of(owner, tree.upper1) == ["UnitRegistered"]


async def test_own_contents_count_towards_the_minimum(campaigns, tree, owner):
    campaign_id = await campaigns.create(officer(tree.prov1), **(SEED_003 | {"min_contents": 2}))
    await campaigns.launch(officer(tree.prov1), campaign_id)
    await refused(
        "REGISTRATION_TOO_FEW_CONTENTS",
        owner,
        tree.upper1,
        campaigns.register(officer(tree.upper1), campaign_id, contents=[FIRST]),
    )
    await campaigns.register(
        officer(tree.upper1), campaign_id, contents=[FIRST], own_contents=["Nội dung đặc thù"]
    )
    assert await stored_contents(owner, tree.upper1) == ([FIRST], ["Nội dung đặc thù"])


async def test_an_amendment_picks_from_the_campaigns_contents_too(campaigns, tree, owner):
    campaign_id = await seed_003(campaigns, tree.prov1)
    actor = officer(tree.upper1)
    await campaigns.register(actor, campaign_id, contents=[FIRST])
    amend = campaigns.amend_registration(
        actor, campaign_id, plan="", contents=[FIRST, "Khác"], targets={}, reason="Bổ sung"
    )
    await refused("CONTENT_UNKNOWN", owner, tree.upper1, amend)
    await campaigns.amend_registration(
        actor,
        campaign_id,
        plan="",
        contents=[SECOND],
        own_contents=["Khác"],
        targets={},
        reason="Bổ sung",
    )
    registration = await campaigns.repository.get(
        tree.upper1, Registration.create_id(campaign_id, tree.upper1)
    )
    assert (registration.contents, registration.own_contents) == ([SECOND], ["Khác"])


def test_registrations_stored_before_own_contents_existed_read_as_none_of_their_own():
    registry = build_registry()
    rows = golden_rows(GOLDEN / "campaign_events.jsonl")
    old = [r for r in rows if r["event_type"] in ("RegistrationSubmitted", "RegistrationAmended")]
    assert {r["schema_version"] for r in old} == {1}
    for row in old:
        event = registry.decode(stored(row))
        assert event.own_contents == [] and event.contents


def stored(row: dict) -> StoredEvent:
    return StoredEvent(
        tenant_id=row["tenant_id"],
        seq=row["seq"],
        stream_id=UUID(row["stream_id"]),
        stream_version=row["stream_version"],
        event_type=row["event_type"],
        schema_version=row["schema_version"],
        data=row["data"],
        meta=row["meta"],
        recorded_at=datetime.fromisoformat(row["recorded_at"]),
        prev_hash=b"",
        hash=b"",
    )


# --- own contents have a column of their own ---------------------------------------------------

AMEND = """mutation($c: ID!, $contents: [String!]!, $own: [String!], $r: String!) {
  amendRegistration(campaignId: $c, contents: $contents, ownContents: $own, reason: $r) {
    id } }"""


async def stored_contents(owner, unit: str) -> tuple[list[str], list[str]]:
    """What the read model holds for ``unit``'s one registration: picked, own."""
    row = await owner.fetchrow(
        "SELECT contents::text AS contents, own_contents::text AS own_contents "
        "FROM campaign_registrations WHERE tenant_id = $1",
        unit,
    )
    return json.loads(row["contents"]), json.loads(row["own_contents"])


async def test_own_contents_land_in_their_own_column_and_contents_holds_the_picked_alone(
    client, tokens, tree, owner
):
    campaign_id = await launched(client, tokens, tree.prov1)
    body = await gql(
        client,
        tokens,
        tree.upper1,
        ["officer"],
        REGISTER,
        c=campaign_id,
        contents=PICKED[:1],
        own=["Thi đua an toàn điện"],
    )
    assert body.get("errors") is None, body
    assert await stored_contents(owner, tree.upper1) == (PICKED[:1], ["Thi đua an toàn điện"])

    own = ["Thi đua tiết kiệm", "Thi đua an toàn điện"]
    body = await gql(
        client,
        tokens,
        tree.upper1,
        ["officer"],
        AMEND,
        c=campaign_id,
        contents=PICKED[::-1],
        own=own,
        r="Bổ sung nội dung",
    )
    assert body.get("errors") is None, body
    assert await stored_contents(owner, tree.upper1) == (PICKED[::-1], own)
    mine = (await gql(client, tokens, tree.upper1, ["officer"], MINE))["data"]["myRegistrations"]
    assert mine == [{"campaignId": campaign_id, "contents": PICKED[::-1], "ownContents": own}]


INTERIM = [FIRST, {"own": "Nội dung đặc thù"}, SECOND, {"own": "Thi đua tiết kiệm"}]


async def test_migration_13_moves_own_contents_stored_the_interim_way_into_their_column(
    server_url, monkeypatch
):
    url = await fresh_database(server_url, migrated=False)
    before_13 = [m for m in migrate.available() if m.version < 13]
    async with owner_connection(url) as conn:
        with monkeypatch.context() as m:
            m.setattr(migrate, "available", lambda: before_13)
            await migrate.migrate(conn)
        for unit, contents in (("interim", INTERIM), ("plain", [FIRST])):
            await conn.execute(
                "INSERT INTO campaign_registrations (tenant_id, campaign_id, campaign_unit, plan, "
                "contents, targets, registered_on, late, status, version) "
                "VALUES ($1, $2, 'prov', '', $3::jsonb, '{}', $4, false, 'registered', 1)",
                unit,
                uuid4(),
                json.dumps(contents),
                date(2021, 2, 1),
            )
        applied = await migrate.migrate(conn)
        assert applied[0].version == 13
        assert await stored_contents(conn, "interim") == (
            [FIRST, SECOND],
            ["Nội dung đặc thù", "Thi đua tiết kiệm"],
        )
        assert await stored_contents(conn, "plain") == ([FIRST], [])


# --- the launching unit sees every registration made with its campaign ------------------------


async def test_a_grassroots_registration_with_the_provinces_campaign_is_seen_by_the_province(
    client, tokens, tree
):
    campaign_id = await launched(client, tokens, tree.prov1)
    body = await gql(client, tokens, tree.cs1, ["officer"], PICK, c=campaign_id, contents=PICKED)
    assert body.get("errors") is None, body
    seen = (await gql(client, tokens, tree.prov1, ["officer"], STATUSES, id=campaign_id))["data"]
    assert {
        r["unitId"]: r["status"]
        for r in [e["node"] for e in seen["campaign"]["childRegistrations"]["edges"]]
    } == {
        tree.upper1: "NOT_YET",
        tree.upper2: "NOT_YET",
        tree.cs1: "ON_TIME",
    }
    seen = (await gql(client, tokens, tree.prov1, ["officer"], CHILDREN, id=campaign_id))["data"]
    direct = {
        r["unitId"]: r["direct"]
        for r in [e["node"] for e in seen["campaign"]["childRegistrations"]["edges"]]
    }
    assert direct == {tree.upper1: True, tree.upper2: True, tree.cs1: False}


async def test_the_direct_children_alone_are_listed_on_request(client, tokens, tree):
    campaign_id = await launched(client, tokens, tree.prov1)
    await gql(client, tokens, tree.cs1, ["officer"], PICK, c=campaign_id, contents=PICKED)
    direct_only = STATUSES.replace("childRegistrations", "childRegistrations(subtree: false)")
    seen = (await gql(client, tokens, tree.prov1, ["officer"], direct_only, id=campaign_id))["data"]
    listed = {
        r["unitId"] for r in [e["node"] for e in seen["campaign"]["childRegistrations"]["edges"]]
    }
    assert listed == {tree.upper1, tree.upper2}


LIST_REGISTRATIONS = "{ campaigns { id childRegistrations { edges { node { unitId status } } } } }"


async def test_a_list_of_campaigns_gets_each_its_own_registrations(client, tokens, tree):
    first = await launched(client, tokens, tree.prov1)
    second = await launched(client, tokens, tree.prov1)
    await gql(client, tokens, tree.cs1, ["officer"], PICK, c=first, contents=PICKED)
    await gql(client, tokens, tree.upper2, ["officer"], PICK, c=second, contents=PICKED)
    listed = (await gql(client, tokens, tree.prov1, ["officer"], LIST_REGISTRATIONS))["data"]
    registered = {
        c["id"]: {
            r["unitId"]
            for r in [e["node"] for e in c["childRegistrations"]["edges"]]
            if r["status"] != "NOT_YET"
        }
        for c in listed["campaigns"]
    }
    assert registered[first] == {tree.cs1} and registered[second] == {tree.upper2}


async def test_a_registration_below_is_not_shown_to_a_unit_in_between(client, tokens, tree):
    campaign_id = await launched(client, tokens, tree.prov1)
    await gql(client, tokens, tree.cs1, ["officer"], PICK, c=campaign_id, contents=PICKED)
    seen = (await gql(client, tokens, tree.upper1, ["officer"], STATUSES, id=campaign_id))["data"]
    assert (
        seen["campaign"]["childRegistrations"]["edges"] == []
    )  # only the launching unit sees them
