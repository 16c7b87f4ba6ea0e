"""Campaigns through GraphQL: a province launches, its units register and report, and each query
shows a unit only what is within its reach."""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta

import pytest

from services.gateway.schema import build_schema
from shared.clock import today
from tests.registry.conftest import principal
from tests.registry.test_graphql import code_of, gql

from .conftest import seed_003

CAMPAIGN_FIELDS = """id unitId name status registrationDue parentCampaignId
  phases { number name starts ends reportDue }
  indicators { code target actual achievement }
  childRegistrations { edges { node { unitId status contents } } }
  amendments { reason }"""

CREATE = f"""mutation($input: CampaignInput!) {{ createCampaign(input: $input) {{ {CAMPAIGN_FIELDS} }} }}"""
ADD_PHASE = """mutation($c: ID!, $s: Date!, $e: Date!) {
  addPhase(campaignId: $c, name: "Đợt 1", starts: $s, ends: $e) { id } }"""
ADD_INDICATOR = """mutation($c: ID!) { addIndicator(campaignId: $c, input: {
  code: "sang-kien", name: "Sáng kiến được công nhận", measure: COUNT, target: 1200 }) { id } }"""
LAUNCH = "mutation($c: ID!) { launchCampaign(campaignId: $c) { status } }"
REGISTER = """mutation($c: ID!, $contents: [String!]!) {
  registerForCampaign(campaignId: $c, contents: $contents, targets: [{code: "sang-kien", value: 40}]) { id } }"""
REPORT = """mutation($c: ID!) { reportProgress(campaignId: $c, phase: 1,
  actuals: [{code: "sang-kien", value: 300}]) }"""
CAMPAIGN = f"query($id: ID!) {{ campaign(id: $id) {{ {CAMPAIGN_FIELDS} }} }}"
CAMPAIGNS = "query($s: String) { campaigns(search: $s) { id unitId status } }"
MINE = "{ myRegistrations { campaignId unitId contents targets late status } }"


def plan_input(name: str = "Thi đua lao động giỏi, lao động sáng tạo") -> dict:
    start = today() - timedelta(days=10)
    return {
        "name": name,
        "theme": "Tận dụng cơ hội, vượt mọi khó khăn",
        "kind": "YEARLY",
        "periodStart": start.isoformat(),
        "periodEnd": (start + timedelta(days=300)).isoformat(),
        "contents": ["Phát huy sáng kiến", "Chăm lo đời sống đoàn viên"],
        "registrationDue": (start + timedelta(days=40)).isoformat(),
        "reportDays": 5,
        "minContents": 1,
    }


async def launched(client, tokens, unit: str) -> str:
    body = await gql(client, tokens, unit, ["officer"], CREATE, input=plan_input())
    campaign_id = body["data"]["createCampaign"]["id"]
    start = date.fromisoformat(plan_input()["periodStart"])
    await gql(
        client,
        tokens,
        unit,
        ["officer"],
        ADD_PHASE,
        c=campaign_id,
        s=start.isoformat(),
        e=(start + timedelta(days=100)).isoformat(),
    )
    await gql(client, tokens, unit, ["officer"], ADD_INDICATOR, c=campaign_id)
    body = await gql(client, tokens, unit, ["officer"], LAUNCH, c=campaign_id)
    assert body["data"]["launchCampaign"]["status"] == "launched"
    return campaign_id


async def test_the_launching_unit_sees_registrations_actuals_and_achievement(client, tokens, tree):
    campaign_id = await launched(client, tokens, tree.prov1)
    body = await gql(
        client,
        tokens,
        tree.upper1,
        ["officer"],
        REGISTER,
        c=campaign_id,
        contents=["Phát huy sáng kiến"],
    )
    assert body.get("errors") is None, body
    body = await gql(client, tokens, tree.upper1, ["officer"], REPORT, c=campaign_id)
    assert body["data"]["reportProgress"] is False

    detail = (await gql(client, tokens, tree.prov1, ["officer"], CAMPAIGN, id=campaign_id))["data"][
        "campaign"
    ]
    assert detail["indicators"] == [
        {"code": "sang-kien", "target": 1200, "actual": 300, "achievement": 25.0}
    ]
    statuses = {
        c["unitId"]: c["status"] for c in [e["node"] for e in detail["childRegistrations"]["edges"]]
    }
    assert statuses == {tree.upper1: "ON_TIME", tree.upper2: "NOT_YET"}
    assert detail["phases"][0]["reportDue"] is not None

    mine = (await gql(client, tokens, tree.upper1, ["member"], MINE))["data"]["myRegistrations"]
    assert [(m["campaignId"], m["targets"]) for m in mine] == [(campaign_id, {"sang-kien": 40})]


async def test_a_rule_violation_answers_its_code_and_writes_nothing(client, tokens, tree, owner):
    campaign_id = await launched(client, tokens, tree.prov1)
    before = await owner.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", tree.prov1)
    body = await gql(client, tokens, tree.prov1, ["officer"], LAUNCH, c=campaign_id)
    assert code_of(body) == "CAMPAIGN_ALREADY_LAUNCHED"
    bad = plan_input() | {"periodEnd": "2000-01-01"}
    assert (
        code_of(await gql(client, tokens, tree.prov1, ["officer"], CREATE, input=bad))
        == "DATE_ORDER"
    )
    assert (
        await owner.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", tree.prov1)
        == before
    )


# Who sees a launched campaign of prov1 (tree of tests/registry/conftest.py).
VISIBILITY = {
    "prov1": True,  # its own
    "upper1": True,  # a child: its ancestor's launched campaign
    "cs1": True,  # a grandchild
    "tld": True,  # the parent: a descendant's campaign
    "prov2": False,  # a sibling
    "upper3": False,  # a cousin
}


@pytest.mark.parametrize(("viewer", "sees"), VISIBILITY.items())
async def test_campaign_and_campaigns_show_only_what_is_within_reach(
    client, tokens, tree, viewer, sees
):
    campaign_id = await launched(client, tokens, tree.prov1)
    unit = getattr(tree, viewer)
    detail = (await gql(client, tokens, unit, ["officer"], CAMPAIGN, id=campaign_id))["data"][
        "campaign"
    ]
    assert (detail is not None) is sees
    listed = (await gql(client, tokens, unit, ["officer"], CAMPAIGNS))["data"]["campaigns"]
    assert (campaign_id in {c["id"] for c in listed}) is sees


async def test_a_draft_is_seen_by_its_own_unit_and_those_above_not_below(client, tokens, tree):
    body = await gql(client, tokens, tree.prov1, ["officer"], CREATE, input=plan_input())
    campaign_id = body["data"]["createCampaign"]["id"]
    for viewer, sees in (("prov1", True), ("tld", True), ("upper1", False), ("cs1", False)):
        detail = (
            await gql(client, tokens, getattr(tree, viewer), ["officer"], CAMPAIGN, id=campaign_id)
        )["data"]["campaign"]
        assert (detail is not None) is sees, viewer


async def test_registrations_are_read_by_the_registering_unit_and_the_launching_unit_only(
    client, tokens, tree
):
    campaign_id = await launched(client, tokens, tree.prov1)
    picked = ["Phát huy sáng kiến"]
    body = await gql(
        client, tokens, tree.upper1, ["officer"], REGISTER, c=campaign_id, contents=picked
    )
    assert body.get("errors") is None, body
    # A sibling sees the campaign (same parent) but not upper1's registration.
    mine = (await gql(client, tokens, tree.upper2, ["officer"], MINE))["data"]["myRegistrations"]
    assert mine == []
    detail = (await gql(client, tokens, tree.upper2, ["officer"], CAMPAIGN, id=campaign_id))[
        "data"
    ]["campaign"]
    assert detail["childRegistrations"]["edges"] == []  # only the launching unit sees them
    cousin = (await gql(client, tokens, tree.upper3, ["officer"], MINE))["data"]["myRegistrations"]
    assert cousin == []


async def test_an_id_out_of_reach_or_malformed_is_not_found(client, tokens, tree):
    campaign_id = await launched(client, tokens, tree.prov2)
    assert (
        code_of(
            await gql(
                client, tokens, tree.upper1, ["officer"], REGISTER, c=campaign_id, contents=["A"]
            )
        )
        == "NOT_FOUND"
    )
    assert (
        code_of(
            await gql(
                client,
                tokens,
                tree.upper1,
                ["officer"],
                REGISTER,
                c="không-phải-id",
                contents=["A"],
            )
        )
        == "NOT_FOUND"
    )
    assert (await gql(client, tokens, tree.upper1, ["officer"], CAMPAIGN, id="x"))["data"][
        "campaign"
    ] is None


async def test_search_without_diacritics_finds_the_campaign(client, tokens, tree):
    name = unicodedata.normalize("NFD", f"Phong trào Xanh Sạch Đẹp {tree.prefix}")
    await gql(client, tokens, tree.prov1, ["officer"], CREATE, input=plan_input(name))
    found = (
        await gql(
            client, tokens, tree.prov1, ["officer"], CAMPAIGNS, s=f"xanh sach dep {tree.prefix}"
        )
    )["data"]["campaigns"]
    assert len(found) == 1


CARRIED = "query($id: ID!) { campaign(id: $id) { carriedOutBy { id unitId parentCampaignId } } }"
LIST_NESTED = "{ campaigns { id phases { number } indicators { code } } }"


async def test_a_campaign_below_that_carries_it_out_is_followed_by_those_who_can_see_it(
    client, tokens, tree
):
    upper = await launched(client, tokens, tree.prov1)
    body = await gql(
        client,
        tokens,
        tree.upper1,
        ["officer"],
        CREATE,
        input=plan_input() | {"parentCampaignId": upper},
    )
    own = body["data"]["createCampaign"]
    assert own["parentCampaignId"] == upper
    seen = await gql(client, tokens, tree.prov1, ["officer"], CARRIED, id=upper)
    assert seen["data"]["campaign"]["carriedOutBy"] == [
        {"id": own["id"], "unitId": tree.upper1, "parentCampaignId": upper}
    ]
    # upper1's campaign is a draft of a sibling: upper2 sees prov1's campaign, not the link.
    sibling = await gql(client, tokens, tree.upper2, ["officer"], CARRIED, id=upper)
    assert sibling["data"]["campaign"]["carriedOutBy"] == []


async def test_a_list_of_campaigns_gets_each_its_own_phases_and_indicators(client, tokens, tree):
    launched_id = await launched(client, tokens, tree.prov1)
    body = await gql(client, tokens, tree.prov1, ["officer"], CREATE, input=plan_input())
    draft_id = body["data"]["createCampaign"]["id"]
    listed = (await gql(client, tokens, tree.prov1, ["officer"], LIST_NESTED))["data"]["campaigns"]
    by_id = {c["id"]: c for c in listed}
    assert by_id[launched_id]["phases"] == [{"number": 1}]
    assert by_id[launched_id]["indicators"] == [{"code": "sang-kien"}]
    assert by_id[draft_id]["phases"] == [] and by_id[draft_id]["indicators"] == []


async def test_a_requests_dataloaders_are_dropped_once_it_has_run(
    settings, runtime, tree, campaigns
):
    await seed_003(campaigns, tree.prov1)
    context = {"runtime": runtime, "principal": principal(tree.prov1, "officer")}
    result = await build_schema(settings).execute(
        "{ campaigns { id phases { number } indicators { code } } }", context_value=context
    )
    assert result.errors is None
    assert not [key for key in context if key.endswith("_loaders")]
