"""The role rule on the campaigns' read paths: a ``member`` reads its own unit's data only, even
of the province; every other role also reads below (shared/access.py). Through GraphQL, where the
finding was made, and as raw SQL under the caller's scope, where row-level security alone
answers."""

from __future__ import annotations

from shared import access
from tests.registry.conftest import principal
from tests.registry.test_graphql import gql

from .test_graphql import CAMPAIGN, CAMPAIGNS, CREATE, REGISTER, REPORT, launched, plan_input

INITIATIVES = """query($u: ID, $sub: Boolean!) {
  initiatives(unitId: $u, subtree: $sub) { count edges { node { unitId title } } } }"""
REGISTER_INITIATIVE = """mutation { registerInitiative(input: {
  title: "Cải tiến quy trình kiểm tra công tơ", authors: ["Nguyễn Văn An"] }) { id } }"""
INDICATORS = "query($id: ID!) { campaign(id: $id) { indicators { code actual } } }"


async def draft_of(client, tokens, unit: str) -> str:
    body = await gql(client, tokens, unit, ["officer"], CREATE, input=plan_input())
    return body["data"]["createCampaign"]["id"]


async def test_a_member_of_the_province_reads_no_draft_of_a_unit_below(client, tokens, tree):
    # Given a draft of a district (upper1) below the province
    draft = await draft_of(client, tokens, tree.upper1)
    # When a member of the province asks for it, by id and in the list
    one = await gql(client, tokens, tree.prov1, ["member"], CAMPAIGN, id=draft)
    listed = await gql(client, tokens, tree.prov1, ["member"], CAMPAIGNS)
    # Then it is not there, as for a unit out of reach; an officer of the province sees it
    assert one["data"]["campaign"] is None
    assert draft not in {c["id"] for c in listed["data"]["campaigns"]}
    officer = await gql(client, tokens, tree.prov1, ["officer"], CAMPAIGN, id=draft)
    assert officer["data"]["campaign"]["id"] == draft


async def test_a_member_and_an_officer_read_the_campaigns_own_actual(client, tokens, tree):
    # Given the province's campaign, to which a district reported 300
    campaign_id = await launched(client, tokens, tree.prov1)
    await gql(client, tokens, tree.upper1, ["officer"], REGISTER, c=campaign_id, contents=["A"])
    await gql(client, tokens, tree.upper1, ["officer"], REPORT, c=campaign_id)
    # When an officer and a member of the province read the indicator's actual
    officer = await gql(client, tokens, tree.prov1, ["officer"], INDICATORS, id=campaign_id)
    member = await gql(client, tokens, tree.prov1, ["member"], INDICATORS, id=campaign_id)
    # Then both read the campaign's own figure (issue 13, point 6), the district's report in it;
    # the member still reads none of the district's rows (the tests below)
    assert officer["data"]["campaign"]["indicators"] == [{"code": "sang-kien", "actual": 300}]
    assert member["data"]["campaign"]["indicators"] == [{"code": "sang-kien", "actual": 300}]


async def test_a_member_reads_the_records_of_its_own_unit_only(client, tokens, tree):
    # Given an initiative of the district, one of the province's units
    body = await gql(client, tokens, tree.upper1, ["officer"], REGISTER_INITIATIVE)
    assert body.get("errors") is None, body
    # When a member of the province lists its subtree's initiatives, or the district's
    own = await gql(client, tokens, tree.prov1, ["member"], INITIATIVES, u=None, sub=True)
    below = await gql(client, tokens, tree.prov1, ["member"], INITIATIVES, u=tree.upper1, sub=False)
    # Then it sees none of them; an officer sees the district's
    assert own["data"]["initiatives"]["count"] == 0
    assert below["data"]["initiatives"] is None
    officer = await gql(client, tokens, tree.prov1, ["officer"], INITIATIVES, u=None, sub=True)
    assert [e["node"]["unitId"] for e in officer["data"]["initiatives"]["edges"]] == [tree.upper1]


async def test_row_level_security_gives_a_member_its_own_rows_only(runtime, client, tokens, tree):
    # Given a draft, a registration and an initiative of the district
    campaign_id = await launched(client, tokens, tree.prov1)
    await draft_of(client, tokens, tree.upper1)
    await gql(client, tokens, tree.upper1, ["officer"], REGISTER, c=campaign_id, contents=["A"])
    await gql(client, tokens, tree.upper1, ["officer"], REPORT, c=campaign_id)
    await gql(client, tokens, tree.upper1, ["officer"], REGISTER_INITIATIVE)
    tables = ("campaigns", "campaign_registrations", "campaign_progress", "campaign_initiatives")
    tables += ("units", "unit_parents", "events")
    # When a query under a member of the province's scope forgets every filter but the unit
    member = principal(tree.prov1, "member")
    counts = {}
    async with access.scope(runtime.pool, member) as conn:
        for table in tables:
            counts[table] = await conn.fetchval(
                f"SELECT count(*) FROM {table} WHERE tenant_id = $1", tree.upper1
            )
        edges = await conn.fetchval(
            "SELECT count(*) FROM unit_closure WHERE ancestor = $1 AND depth > 0", tree.prov1
        )
        own = await conn.fetchval("SELECT count(*) FROM campaigns WHERE tenant_id = $1", tree.prov1)
    # Then row-level security alone hides the district's rows and the edges below, and shows
    # the province's own
    assert counts == dict.fromkeys(tables, 0)
    assert edges == 0
    assert own == 1
    async with access.scope(runtime.pool, principal(tree.prov1, "officer")) as conn:
        seen = await conn.fetchval(
            "SELECT count(*) FROM campaign_progress WHERE tenant_id = $1", tree.upper1
        )
    assert seen == 1
