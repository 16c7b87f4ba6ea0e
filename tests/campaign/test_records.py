"""Works for plaques (gắn biển) and initiatives (sáng kiến), and indicators computed from them:
given a launched campaign, when a unit records them, then these rows, totals and actuals, or
this error and nothing written."""

from __future__ import annotations

from datetime import date

from tests.registry.test_graphql import code_of, gql

from .conftest import officer, seed_003
from .test_commands import events_of, refused
from .test_graphql import CAMPAIGN, CREATE, LAUNCH, launched, plan_input

WORK = """mutation($c: ID!, $input: WorkInput!) { registerWork(campaignId: $c, input: $input) {
  id unitId name kind valueVnd completionDue status history } }"""
AMEND_WORK = """mutation($w: ID!, $ch: WorkChanges!, $r: String!) {
  amendWork(workId: $w, changes: $ch, reason: $r) { name valueVnd status history } }"""
WITHDRAW_WORK = """mutation($w: ID!, $r: String!) { withdrawWork(workId: $w, reason: $r) {
  status } }"""
WORKS = """query($c: ID, $u: ID, $sub: Boolean!, $all: Boolean!) {
  works(campaignId: $c, unitId: $u, subtree: $sub, includeWithdrawn: $all) {
    edges { node { id name status } } } }"""
INITIATIVE = """mutation($input: InitiativeInput!) { registerInitiative(input: $input) {
  id unitId title authors campaignId recognisedOn benefitVnd appliedAt } }"""
RECOGNISE = """mutation($i: ID!, $b: BigInt!, $a: [String!]!) {
  recogniseInitiative(initiativeId: $i, benefitVnd: $b, appliedAt: $a,
                      decision: "Quyết định số 12/QĐ-CĐ") {
    recognisedOn benefitVnd appliedAt decision } }"""
AMEND_RECOGNITION = """mutation($i: ID!, $b: BigInt!, $r: String!) {
  amendInitiativeRecognition(initiativeId: $i, benefitVnd: $b, appliedAt: ["Nhà máy A"],
                             reason: $r) { benefitVnd history } }"""
WITHDRAW_INITIATIVE = """mutation($i: ID!) {
  withdrawInitiative(initiativeId: $i, reason: "Trùng sáng kiến đã có") { status } }"""
INITIATIVES = """query($u: ID, $sub: Boolean!, $s: String, $y: Int, $rec: Boolean) {
  initiatives(unitId: $u, subtree: $sub, search: $s, year: $y, recognised: $rec) {
    count recognisedCount benefitVnd edges { node { title unitId benefitVnd } } } }"""


async def test_a_work_is_registered_amended_and_withdrawn_each_with_its_reason(
    client, tokens, tree, owner
):
    campaign_id = await launched(client, tokens, tree.prov1)
    work = {
        "name": "Trạm biến áp 110 kV Gián Khẩu",
        "kind": "WORK",
        "location": "Gia Viễn, Ninh Bình",
        "valueVnd": 48_000_000_000,
        "completionDue": "2021-08-31",
    }
    body = await gql(client, tokens, tree.upper1, ["officer"], WORK, c=campaign_id, input=work)
    registered = body["data"]["registerWork"]
    assert registered["valueVnd"] == 48_000_000_000  # beyond GraphQL's Int
    assert (registered["unitId"], registered["status"]) == (tree.upper1, "registered")

    amended = await gql(
        client,
        tokens,
        tree.upper1,
        ["officer"],
        AMEND_WORK,
        w=registered["id"],
        ch={"valueVnd": 52_000_000_000},
        r="Dự toán được duyệt lại",
    )
    work_now = amended["data"]["amendWork"]
    assert work_now["valueVnd"] == 52_000_000_000
    assert work_now["history"][0]["reason"] == "Dự toán được duyệt lại"
    nothing = await gql(
        client,
        tokens,
        tree.upper1,
        ["officer"],
        AMEND_WORK,
        w=registered["id"],
        ch={"valueVnd": 52_000_000_000},
        r="Lại",
    )
    assert code_of(nothing) == "WORK_INVALID"
    no_reason = await gql(
        client, tokens, tree.upper1, ["officer"], WITHDRAW_WORK, w=registered["id"], r=" "
    )
    assert code_of(no_reason) == "REASON_REQUIRED"
    out = await gql(
        client, tokens, tree.upper1, ["officer"], WITHDRAW_WORK, w=registered["id"], r="Hoãn"
    )
    assert out["data"]["withdrawWork"]["status"] == "withdrawn"
    assert await events_of(owner, tree.upper1) == [
        "UnitRegistered",
        "WorkRegistered",
        "WorkAmended",
        "WorkWithdrawn",
    ]
    again = await gql(
        client,
        tokens,
        tree.upper1,
        ["officer"],
        AMEND_WORK,
        w=registered["id"],
        ch={"name": "Khác"},
        r="Sửa",
    )
    assert code_of(again) == "WORK_WITHDRAWN"


async def test_works_are_read_by_their_unit_and_those_above_only(client, tokens, tree, elsewhere):
    campaign_id = await launched(client, tokens, tree.prov1)
    work = {"name": "Nhà văn hóa công nhân", "kind": "PRODUCT"}
    await gql(client, tokens, tree.cs1, ["officer"], WORK, c=campaign_id, input=work)

    async def seen(reader: str, unit: str, subtree: bool):
        body = await gql(
            client,
            tokens,
            reader,
            ["officer"],
            WORKS,
            c=campaign_id,
            u=unit,
            sub=subtree,
            all=False,
        )
        works = body["data"]["works"]
        return None if works is None else len(works["edges"])

    assert await seen(tree.cs1, tree.cs1, False) == 1
    assert await seen(tree.upper1, tree.cs1, False) == 1
    assert await seen(tree.prov1, tree.prov1, True) == 1
    assert await seen(tree.upper2, tree.cs1, False) is None
    assert await seen(tree.upper3, tree.upper3, True) == 0
    assert await seen(elsewhere, tree.cs1, False) is None
    assert await seen(tree.cs1, tree.upper1, False) is None


async def test_a_work_needs_a_launched_campaign_of_its_own_unit_or_above(campaigns, tree, owner):
    draft = await seed_003(campaigns, tree.prov1, launch=False)
    await refused(
        "CAMPAIGN_NOT_LAUNCHED",
        owner,
        tree.prov1,
        campaigns.register_work(officer(tree.prov1), draft, name="Cầu Non Nước"),
    )
    below = await seed_003(campaigns, tree.upper1)
    await refused(
        "NOT_FOUND",
        owner,
        tree.prov1,
        campaigns.register_work(officer(tree.prov1), below, name="Cầu Non Nước"),
    )
    await refused(
        "WORK_INVALID",
        owner,
        tree.cs1,
        campaigns.register_work(officer(tree.cs1), below, name="Cầu", value_vnd=-1),
    )


async def test_initiatives_are_recognised_with_benefit_and_totalled_over_the_subtree(
    client, tokens, tree, owner
):
    campaign_id = await launched(client, tokens, tree.prov1)
    ids = {}
    for unit, title, benefit in [
        (tree.cs1, "Cải tiến máy cắt tôn tự động", 90_000_000),
        (tree.upper1, "Số hóa sổ theo dõi đoàn viên", 35_000_000),
        (tree.upper2, "Quy trình kiểm tra an toàn điện", 0),
        (tree.upper3, "Tiết kiệm nhiên liệu lò hơi", 500_000_000),
    ]:
        body = await gql(
            client,
            tokens,
            unit,
            ["officer"],
            INITIATIVE,
            input={
                "title": title,
                "authors": ["Nguyễn Văn An"],
                # upper3 stands under the other province: the campaign is not above it
                "campaignId": None if unit == tree.upper3 else campaign_id,
            },
        )
        ids[unit] = body["data"]["registerInitiative"]["id"]
        if benefit:
            recognised = await gql(
                client,
                tokens,
                unit,
                ["officer"],
                RECOGNISE,
                i=ids[unit],
                b=benefit,
                a=["Phân xưởng 1", "Phân xưởng 2"],
            )
            assert recognised["data"]["recogniseInitiative"]["benefitVnd"] == benefit

    twice = await gql(client, tokens, tree.cs1, ["officer"], RECOGNISE, i=ids[tree.cs1], b=1, a=[])
    assert code_of(twice) == "INITIATIVE_ALREADY_RECOGNISED"
    not_yet = await gql(
        client,
        tokens,
        tree.upper2,
        ["officer"],
        AMEND_RECOGNITION,
        i=ids[tree.upper2],
        b=1,
        r="Tính lại",
    )
    assert code_of(not_yet) == "INITIATIVE_NOT_RECOGNISED"
    amended = await gql(
        client,
        tokens,
        tree.upper1,
        ["officer"],
        AMEND_RECOGNITION,
        i=ids[tree.upper1],
        b=40_000_000,
        r="Hội đồng tính lại giá trị làm lợi",
    )
    assert amended["data"]["amendInitiativeRecognition"]["benefitVnd"] == 40_000_000
    not_theirs = await gql(
        client, tokens, tree.upper1, ["officer"], WITHDRAW_INITIATIVE, i=ids[tree.cs1]
    )
    assert code_of(not_theirs) == "NOT_FOUND"

    async def totals(reader: str, unit: str | None = None, **filters):
        body = await gql(
            client, tokens, reader, ["officer"], INITIATIVES, u=unit, sub=True, **filters
        )
        page = body["data"]["initiatives"]
        return (
            None if page is None else (page["count"], page["recognisedCount"], page["benefitVnd"])
        )

    assert await totals(tree.prov1) == (3, 2, 130_000_000)  # upper1, upper2 and cs1
    assert await totals(tree.prov1, rec=False) == (1, 0, 0)
    assert await totals(tree.prov1, s="may cat ton") == (1, 1, 90_000_000)
    assert await totals(tree.prov1, y=date.today().year + 5) == (0, 0, 0)
    assert await totals(tree.upper1) == (2, 2, 130_000_000)
    assert await totals(tree.tld) == (4, 3, 630_000_000)
    assert await totals(tree.upper2, tree.upper1) is None  # a sibling
    assert await totals(tree.cs1, tree.upper1) is None  # a child
    assert await totals(tree.upper3, tree.cs1) is None  # a cousin

    out = await gql(client, tokens, tree.cs1, ["officer"], WITHDRAW_INITIATIVE, i=ids[tree.cs1])
    assert out["data"]["withdrawInitiative"]["status"] == "withdrawn"
    assert await totals(tree.prov1) == (2, 1, 40_000_000)
    assert await events_of(owner, tree.cs1) == [
        "UnitRegistered",
        "PersonRegistered",  # the author, made for the name: it is sealed with their key
        "InitiativeRegistered",
        "InitiativeRecognised",
        "InitiativeWithdrawn",
    ]


COMPUTED = """mutation($c: ID!, $input: IndicatorInput!) {
  addIndicator(campaignId: $c, input: $input) { id } }"""


async def test_a_computed_indicator_counts_and_sums_recognised_initiatives_below(
    client, tokens, tree
):
    body = await gql(client, tokens, tree.prov1, ["officer"], CREATE, input=plan_input())
    campaign_id = body["data"]["createCampaign"]["id"]
    for code, measure, facts, target in [
        ("sang-kien", "COUNT", ["InitiativeRecognised"], 1200),
        ("lam-loi", "VND", ["InitiativeRecognised"], 10_000_000_000),
        ("cong-trinh", "COUNT", ["WorkRegistered"], 10),
    ]:
        added = await gql(
            client,
            tokens,
            tree.prov1,
            ["officer"],
            COMPUTED,
            c=campaign_id,
            input={
                "code": code,
                "name": code,
                "measure": measure,
                "target": target,
                "source": "COMPUTED",
                "computedFrom": facts,
            },
        )
        assert "errors" not in added, added
    for facts, measure in [
        (["UnitMoved"], "COUNT"),
        (["WorkRegistered"], "PERCENT"),
        (["PledgeRegistered"], "VND"),
    ]:
        refused_body = await gql(
            client,
            tokens,
            tree.prov1,
            ["officer"],
            COMPUTED,
            c=campaign_id,
            input={
                "code": "x",
                "name": "x",
                "measure": measure,
                "target": 1,
                "source": "COMPUTED",
                "computedFrom": facts,
            },
        )
        assert code_of(refused_body) == "INDICATOR_INVALID"
    await gql(client, tokens, tree.prov1, ["officer"], LAUNCH, c=campaign_id)

    for unit, benefit in [(tree.cs1, 90_000_000), (tree.upper1, 35_000_000)]:
        body = await gql(
            client,
            tokens,
            unit,
            ["officer"],
            INITIATIVE,
            input={"title": f"Sáng kiến của {unit}", "authors": ["Lê Thị Hoa"]},
        )
        iid = body["data"]["registerInitiative"]["id"]
        await gql(client, tokens, unit, ["officer"], RECOGNISE, i=iid, b=benefit, a=[])
    body = await gql(
        client,
        tokens,
        tree.upper3,
        ["officer"],
        INITIATIVE,
        input={"title": "Ở tỉnh khác", "authors": ["Lê Thị Hoa"]},
    )
    iid = body["data"]["registerInitiative"]["id"]
    await gql(client, tokens, tree.upper3, ["officer"], RECOGNISE, i=iid, b=7, a=[])
    await gql(
        client,
        tokens,
        tree.cs1,
        ["officer"],
        WORK,
        c=campaign_id,
        input={"name": "Nhà văn hóa công nhân"},
    )

    detail = await gql(client, tokens, tree.prov1, ["officer"], CAMPAIGN, id=campaign_id)
    actuals = {
        i["code"]: (i["actual"], i["achievement"]) for i in detail["data"]["campaign"]["indicators"]
    }
    assert actuals == {
        "sang-kien": (2, 0.2),
        "lam-loi": (125_000_000, 1.2),
        "cong-trinh": (1, 10.0),
    }
