"""Each figure of a unit's year on a hand-made case: the campaign service's stored history (the
golden file) counted, and a decision's awards with their recipients' particulars."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg
import pytest

from tests.campaign.test_golden import FILE as CAMPAIGN_GOLDEN
from tests.campaign.test_golden import TENANT as GOLDEN_UNIT
from tests.reporting.conftest import given, gql, recognised, settled, submitted
from tests.shared.test_golden import golden_rows, insert_golden

YEAR = """
query ($unit: ID, $first: Int!, $last: Int) {
  summary(unitId: $unit, firstYear: $first, lastYear: $last) {
    years {
      year campaignsLaunched campaignsCarriedOut registrationsOnTime registrationsLate
      phaseReviewsOnTime phaseReviewsLate conclusionsOnTime conclusionsLate
      pledges pledgesByTitle { key value } works initiatives initiativeBenefitVnd
      proposals proposalsByKind { key value } decisions awardedPersons awardedCollectives
      awardedDirectWorkers directWorkerShare awardedWomen womenShare awardedUnrecorded cashVnd
      byAward { award awardName persons collectives cashVnd }
    }
  }
}
"""


async def years_of(client, tokens, reader, unit, first, last=None):
    body = await gql(client, tokens, reader, ["officer"], YEAR, unit=unit, first=first, last=last)
    assert "errors" not in body, body
    return {y["year"]: y for y in body["data"]["summary"]["years"]}


@pytest.fixture(scope="module")
async def golden(database_url):
    return await insert_golden(database_url, golden_rows(CAMPAIGN_GOLDEN))


async def test_the_campaign_golden_history_counts_what_stands(golden, runtime, client, tokens):
    await settled(runtime, GOLDEN_UNIT, golden[-1]["seq"])
    years = await years_of(client, tokens, GOLDEN_UNIT, None, 2021, 2022)
    y2021, y2022 = years[2021], years[2022]
    # its own campaign, launched for the province's: carried out
    assert (y2021["campaignsLaunched"], y2021["campaignsCarriedOut"]) == (1, 1)
    # registered on time, then withdrawn: counts nothing
    assert (y2021["registrationsOnTime"], y2021["registrationsLate"]) == (0, 0)
    # two pledges, Nguyễn Văn An's withdrawn
    assert y2021["pledges"] == 1
    assert y2021["pledgesByTitle"] == [{"key": "tap_the_lao_dong_xuat_sac", "value": 1}]
    assert y2021["works"] == 0  # registered, then withdrawn
    # one initiative recognised (benefit amended 90 → 95 million), the other withdrawn
    assert (y2021["initiatives"], y2021["initiativeBenefitVnd"]) == (1, 95_000_000)
    assert (y2021["phaseReviewsOnTime"], y2021["phaseReviewsLate"]) == (1, 0)
    assert (y2021["conclusionsOnTime"], y2021["conclusionsLate"]) == (0, 0)
    assert (y2022["conclusionsOnTime"], y2022["conclusionsLate"]) == (0, 1)  # 10 January, late


def recipient(who: str, award: str, cash: int) -> dict:
    proposal = str(uuid.uuid4())
    nominee = str(uuid.uuid4())
    return {
        "item_id": f"{proposal}:{nominee}",
        "proposal_id": proposal,
        "proposer": "x",
        "nominee_id": nominee,
        "who": who,
        "subject": "person" if who.startswith("person:") else "collective",
        "award": award,
        "kind": "regular",
        "cash_vnd": cash,
        "multiple_hundredths": 30,
        "year": 2024,
        "topic": "",
    }


def decision_data(unit: str, number: int, recipients: list[dict]) -> dict:
    """A DecisionIssued of ``unit`` on 20 December 2024, as stored, listing ``recipients``."""
    return dict(
        unit_id=unit,
        unit_name="CĐ",
        year=2024,
        number=number,
        code=f"{number}/QĐ-CĐ",
        title="Khen thưởng năm 2024",
        decided_on=date(2024, 12, 20),
        signer="Chủ tịch",
        council_session=None,
        rule_set_version="999/2024",
        base_salary_vnd=2_340_000,
        recipients=recipients,
    )


async def grassroots(registry, *placed: tuple[str, str]) -> None:
    """Grassroots unions registered under their parents, (unit, parent) each."""
    from tests.registry.conftest import SINCE

    for unit, parent in placed:
        await registry.register(
            None,
            unit_id=unit,
            name=f"Công đoàn cơ sở {unit}",
            level="grassroots",
            sector_type="DN nhà nước",
            parent_id=parent,
            effective_on=SINCE,
        )


async def person(runtime, unit: str, gender: str, direct_worker: bool) -> uuid.UUID:
    return await given(
        runtime,
        unit,
        "PersonRegistered",
        unit_id=unit,
        staff_number=uuid.uuid4().hex[:6],
        key_id=uuid.uuid4(),
        sealed="v1.x",
        gender=gender,
        ethnic_minority=False,
        post="Công nhân",
        direct_worker=direct_worker,
        cadre="none",
        cadre_since=None,
        employed_since=None,
        registered_on=date(2024, 1, 2),
    )


async def test_a_decisions_awards_count_by_award_with_women_and_direct_workers(
    runtime, tree, client, tokens
):
    woman = await person(runtime, tree.cs1, "female", True)
    man = await person(runtime, tree.cs1, "male", False)
    items = [
        recipient(f"person:{woman}", "lao_dong_tien_tien", 702_000),
        recipient(f"person:{man}", "lao_dong_tien_tien", 702_000),
        recipient(f"person:{uuid.uuid4()}", "chien_si_thi_dua_co_so", 2_340_000),
        recipient(f"unit:{tree.cs1}", "tap_the_lao_dong_tien_tien", 1_872_000),
    ]
    decision = await given(
        runtime, tree.upper1, "DecisionIssued", **decision_data(tree.upper1, 1, items[:3])
    )
    await given(runtime, tree.upper1, "DecisionRecipientsListed", decision, 2, recipients=items[3:])

    y = (await years_of(client, tokens, tree.prov1, tree.upper1, 2024))[2024]
    assert y["decisions"] == 1
    assert (y["awardedPersons"], y["awardedCollectives"]) == (3, 1)
    assert (y["awardedWomen"], y["awardedDirectWorkers"], y["awardedUnrecorded"]) == (1, 1, 1)
    assert (y["womenShare"], y["directWorkerShare"]) == (33.3, 33.3)
    assert y["cashVnd"] == 702_000 * 2 + 2_340_000 + 1_872_000
    ldtt = next(a for a in y["byAward"] if a["award"] == "lao_dong_tien_tien")
    assert (ldtt["persons"], ldtt["collectives"], ldtt["cashVnd"]) == (2, 0, 1_404_000)

    await given(
        runtime,
        tree.upper1,
        "AwardRevoked",
        decision,
        3,
        item_id=items[0]["item_id"],
        ground="false_declaration",
        reason="Khai man",
        recovered_cash_vnd=702_000,
        recovered_items=[],
        revoked_on=date(2025, 3, 1),
    )
    y = (await years_of(client, tokens, tree.prov1, tree.upper1, 2024))[2024]
    assert (y["awardedPersons"], y["awardedWomen"], y["awardedDirectWorkers"]) == (2, 0, 0)
    assert y["cashVnd"] == 702_000 + 2_340_000 + 1_872_000


async def test_a_proposal_counts_once_by_kind_though_resubmitted_after_a_return(
    runtime, tree, client, tokens
):
    proposal = await given(
        runtime,
        tree.cs1,
        "ProposalDrafted",
        unit_id=tree.cs1,
        title="Đề nghị khen năm 2024",
        kind="regular",
        topic="",
        year=2024,
        drafted_on=date(2024, 12, 1),
    )
    for version, round_ in ((2, 1), (3, 2)):
        await submitted(
            runtime,
            tree.cs1,
            tree.upper1,
            date(2024, 12, 2 + version),
            date(2024, 12, 20),
            proposal,
            version,
            round_=round_,
        )
    y = (await years_of(client, tokens, tree.prov1, tree.upper1, 2024))[2024]
    assert (y["proposals"], y["proposalsByKind"]) == (1, [{"key": "regular", "value": 1}])


async def test_the_typical_individuals_are_the_authors_of_recognised_initiatives(
    runtime, tree, client, tokens
):
    from datetime import date as day

    from services.campaign.commands import commands_of as campaign_commands_of
    from tests.campaign.conftest import Clock
    from tests.registry.conftest import principal

    clock = Clock(day(2024, 5, 2))
    campaigns = campaign_commands_of(runtime, clock)
    officer = principal(tree.cs1, "officer")
    big = await campaigns.register_initiative(
        officer, title="Máy cắt tự động", authors=["Nguyễn Thị Lan", "Trần Văn Minh"]
    )
    small = await campaigns.register_initiative(
        officer, title="Sổ tay số", authors=["Trần Văn Minh"]
    )
    await campaigns.recognise_initiative(
        officer, big, benefit_vnd=90_000_000, applied_at=["Phân xưởng 1"]
    )
    await campaigns.recognise_initiative(
        officer, small, benefit_vnd=30_000_000, applied_at=["Phòng kỹ thuật"]
    )
    query = """query ($u: ID) { exemplars(unitId: $u, firstYear: 2020, lastYear: 2025) {
      name unitId initiatives benefitVnd appliedAt initiativeTitles bangLaoDongSangTao } }"""
    body = await gql(client, tokens, tree.upper1, ["officer"], query, u=tree.upper1)
    assert "errors" not in body, body
    assert [
        (e["name"], e["initiatives"], e["benefitVnd"], e["appliedAt"], e["initiativeTitles"])
        for e in body["data"]["exemplars"]
    ] == [
        (
            "Trần Văn Minh",
            2,
            120_000_000,
            ["Phân xưởng 1", "Phòng kỹ thuật"],
            ["Máy cắt tự động", "Sổ tay số"],
        ),
        ("Nguyễn Thị Lan", 1, 90_000_000, ["Phân xưởng 1"], ["Máy cắt tự động"]),
    ]
    assert {e["unitId"] for e in body["data"]["exemplars"]} == {tree.cs1}
    sibling = await gql(client, tokens, tree.upper2, ["officer"], query, u=tree.upper1)
    assert sibling["data"]["exemplars"] is None


async def test_the_typical_individuals_tied_are_ranked_by_id_and_their_places_said_once(
    runtime, tree, client, tokens
):
    from datetime import date as day

    from services.campaign.commands import commands_of as campaign_commands_of
    from tests.campaign.conftest import Clock
    from tests.registry.conftest import principal

    campaigns = campaign_commands_of(runtime, Clock(day(2024, 5, 2)))
    officer = principal(tree.cs1, "officer")
    # Given Lan and Minh tied at 100 million (an initiative together, and one each: Minh's
    # applied at the same workshop, Lan's nowhere yet), and An with 10 million
    recognitions = (
        (["Nguyễn Thị Lan", "Trần Văn Minh"], 60_000_000, ["Xưởng 1"]),
        (["Trần Văn Minh"], 40_000_000, ["Xưởng 1"]),
        (["Nguyễn Thị Lan"], 40_000_000, []),
        (["Lê Văn An"], 10_000_000, ["Kho"]),
    )
    for i, (authors, benefit, places) in enumerate(recognitions):
        initiative = await campaigns.register_initiative(
            officer, title=f"Sáng kiến {i}", authors=authors
        )
        await campaigns.recognise_initiative(
            officer, initiative, benefit_vnd=benefit, applied_at=places
        )
    query = """query ($u: ID, $n: Int!) { exemplars(unitId: $u, firstYear: 2024, first: $n) {
      personId name initiatives benefitVnd appliedAt } }"""
    # When the first two are asked, and all
    two, every = [
        (await gql(client, tokens, tree.upper1, ["officer"], query, u=tree.upper1, n=n))["data"]
        for n in (2, 20)
    ]
    # Then the two tied come first, by their ids, each workshop said once
    tied = sorted(
        [
            ("Nguyễn Thị Lan", 2, 100_000_000, ["Xưởng 1"]),
            ("Trần Văn Minh", 2, 100_000_000, ["Xưởng 1"]),
        ],
        key=lambda e: next(x["personId"] for x in every["exemplars"] if x["name"] == e[0]),
    )
    rows = [
        (e["name"], e["initiatives"], e["benefitVnd"], e["appliedAt"]) for e in every["exemplars"]
    ]
    assert rows == [*tied, ("Lê Văn An", 1, 10_000_000, ["Kho"])]
    assert [e["name"] for e in two["exemplars"]] == [e[0] for e in tied]
    assert [e["personId"] for e in every["exemplars"][:2]] == sorted(
        e["personId"] for e in every["exemplars"][:2]
    )


async def test_a_merged_units_typical_individuals_count_under_its_survivor(
    runtime, registry, tree, client, tokens
):
    from datetime import date as day

    from services.campaign.commands import commands_of as campaign_commands_of
    from tests.campaign.conftest import Clock
    from tests.registry.conftest import principal

    # Given an initiative recognised in Hoa Lư in 2024, under the first province
    clock = Clock(day(2024, 5, 2))
    campaigns = campaign_commands_of(runtime, clock)
    officer = principal(tree.cs1, "officer")
    stream = await campaigns.register_initiative(
        officer, title="Máy cắt tự động", authors=["Trần Văn Minh"]
    )
    await campaigns.recognise_initiative(
        officer, stream, benefit_vnd=90_000_000, applied_at=["Phân xưởng 1"]
    )
    # When Hoa Lư is merged on 1 January 2025 into a grassroots union of the second province
    survivor = f"{tree.prefix}-cs9"
    await grassroots(registry, (survivor, tree.upper3))
    await registry.merge(None, [tree.cs1], survivor, day(2025, 1, 1))
    query = """query ($u: ID) { exemplars(unitId: $u, firstYear: 2020, lastYear: 2025) {
      name initiatives benefitVnd } }"""
    # Then its author is among the survivor's province's typical individuals of 2020-2025
    # (its history is the survivor's), and still among the first province's (as it stood),
    # which no longer reads the person's name (Hoa Lư is not below it today)
    for province, name in ((tree.prov2, "Trần Văn Minh"), (tree.prov1, "(không đọc được)")):
        body = await gql(client, tokens, province, ["officer"], query, u=province)
        assert "errors" not in body, body
        assert body["data"]["exemplars"] == [
            {"name": name, "initiatives": 1, "benefitVnd": 90_000_000}
        ], province


async def test_a_typical_collective_carries_the_history_of_the_units_merged_into_it(
    runtime, registry, owner, tree, client, tokens
):
    from datetime import UTC, datetime

    from tests.reporting.conftest import pledge, report_settings

    # Given a grassroots union of the second province with an initiative of its own in 2025,
    # and Hoa Lư (the first's) with one in 2024 and a pledge, and an older union merged into
    # Hoa Lư in February 2024 with one of January
    survivor, older = f"{tree.prefix}-cs9", f"{tree.prefix}-cs8"
    await grassroots(registry, (survivor, tree.upper3), (older, tree.upper1))
    await recognised(runtime, survivor, 10_000_000, date(2025, 3, 1))
    await recognised(runtime, tree.cs1, 90_000_000, date(2024, 6, 1))
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    await recognised(runtime, older, 5_000_000, date(2024, 1, 15))
    await registry.merge(None, [older], tree.cs1, date(2024, 2, 1))
    before = datetime.now(UTC).isoformat()
    # When Hoa Lư is merged on 1 January 2025 into the second province's union
    await registry.merge(None, [tree.cs1], survivor, date(2025, 1, 1))
    query = """query ($u: ID, $at: DateTime) {
      exemplaryUnits(unitId: $u, firstYear: 2020, lastYear: 2025, asOf: $at) {
        unitId participants initiatives benefitVnd } }"""
    # Then the survivor ranks with what both did before their merges, as its summary counts it
    # (a large subtree's scores are summed another way: both)
    for many_units in (10**6, 0):
        async with report_settings(owner, many_units=many_units):
            body = await gql(client, tokens, tree.prov2, ["officer"], query, u=tree.prov2)
        assert "errors" not in body, body
        assert body["data"]["exemplaryUnits"][0] == {
            "unitId": survivor,
            "participants": 1,
            "initiatives": 3,
            "benefitVnd": 105_000_000,
        }, many_units
    # and the union's 2024, before that merge's day: Hoa Lư on its own with the older union's
    # history, and the survivor without it (once, not twice)
    body = await gql(
        client,
        tokens,
        tree.tld,
        ["officer"],
        query.replace("firstYear: 2020, lastYear: 2025", "firstYear: 2024"),
        u=tree.tld,
    )
    ranked = {u["unitId"]: u["benefitVnd"] for u in body["data"]["exemplaryUnits"]}
    assert (ranked[tree.cs1], ranked[survivor]) == (95_000_000, 0), body
    # and as the log held it before that merge: its own, while Hoa Lư ranked in the first
    # province with the older union's history
    body = await gql(client, tokens, tree.prov2, ["officer"], query, u=tree.prov2, at=before)
    assert body["data"]["exemplaryUnits"][0]["benefitVnd"] == 10_000_000, body
    body = await gql(client, tokens, tree.prov1, ["officer"], query, u=tree.prov1, at=before)
    hoa_lu = next(u for u in body["data"]["exemplaryUnits"] if u["unitId"] == tree.cs1)
    assert (hoa_lu["initiatives"], hoa_lu["benefitVnd"]) == (2, 95_000_000), body


async def test_the_typical_collectives_rank_the_units_below_by_their_initiatives_benefit(
    runtime, tree, client, tokens
):
    from tests.reporting.conftest import pledge

    for unit, benefit in ((tree.cs1, 50_000_000), (tree.upper2, 10_000_000)):
        await recognised(runtime, unit, benefit, date(2024, 6, 1))
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    prize = recipient(f"unit:{tree.cs1}", "tap_the_lao_dong_xuat_sac", 3_510_000)
    await given(runtime, tree.upper1, "DecisionIssued", **decision_data(tree.upper1, 7, [prize]))
    query = """query ($u: ID) { exemplaryUnits(unitId: $u, firstYear: 2024) {
      unitId participants initiatives benefitVnd prizes } }"""
    body = await gql(client, tokens, tree.prov1, ["officer"], query, u=tree.prov1)
    assert "errors" not in body, body
    ranked = body["data"]["exemplaryUnits"]
    assert [(u["unitId"], u["initiatives"], u["benefitVnd"]) for u in ranked[:2]] == [
        (tree.cs1, 1, 50_000_000),
        (tree.upper2, 1, 10_000_000),
    ]
    assert ranked[0]["participants"] == 1 and len(ranked[0]["prizes"]) == 1
    assert tree.prov1 not in {u["unitId"] for u in ranked}
    sibling = await gql(client, tokens, tree.upper2, ["officer"], query, u=tree.prov1)
    assert sibling["data"]["exemplaryUnits"] is None


async def test_a_members_token_reads_no_typical_individuals_or_collectives_below(
    runtime, owner, tree, client, tokens
):
    # they name the units and people below, each with their own figures: a member reads its
    # own unit's data only (its summary's totals, not the breakdown)
    await recognised(runtime, tree.cs1, 40_000_000, date(2024, 6, 1))
    query = """query ($u: ID) {
      exemplaryUnits(unitId: $u, firstYear: 2024) { unitId benefitVnd }
      exemplars(unitId: $u, firstYear: 2024) { personId benefitVnd }
      summary(unitId: $u, firstYear: 2024) { total { initiativeBenefitVnd } } }"""
    officer = await gql(client, tokens, tree.prov1, ["officer"], query, u=tree.prov1)
    assert "errors" not in officer, officer
    assert [u["unitId"] for u in officer["data"]["exemplaryUnits"]][:1] == [tree.cs1]
    assert officer["data"]["exemplars"] is not None
    member = await gql(client, tokens, tree.prov1, ["member"], query, u=tree.prov1)
    assert "errors" not in member, member
    assert member["data"]["exemplaryUnits"] is None
    assert member["data"]["exemplars"] is None
    assert member["data"]["summary"]["total"] == officer["data"]["summary"]["total"]  # the totals
    # and the database's own wall: the functions the two wrap are not the application's
    async with owner.transaction():
        await owner.execute("SET LOCAL ROLE thidua_app")
        for call in (
            "thidua_report_ranked_units('x', 2024, 2024, '{}', 1, NULL)",
            "thidua_report_exemplars('x', 2024, 2024, 1, NULL)",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with owner.transaction():
                    await owner.fetch(f"SELECT * FROM {call}")


async def test_a_typical_collective_shows_how_many_indicators_of_its_campaigns_were_met(
    runtime, tree, client, tokens
):
    from datetime import date as day

    from services.campaign.commands import commands_of as campaign_commands_of
    from tests.campaign.conftest import SEED_003, Clock
    from tests.registry.conftest import principal

    # Given Hoa Lư's campaign launched in 2024 with three indicators: one reported at its
    # target, one short of it, one nobody reported
    clock = Clock(day(2024, 1, 20))
    campaigns = campaign_commands_of(runtime, clock)
    officer = principal(tree.cs1, "officer")
    year = dict(period_start=day(2024, 1, 1), period_end=day(2024, 12, 31))
    campaign = await campaigns.create(
        officer, **{**SEED_003, **year, "registration_due": day(2024, 2, 20)}
    )
    await campaigns.add_phase(
        officer, campaign, name="Đợt 1", starts=day(2024, 1, 1), ends=day(2024, 12, 31)
    )
    for code, target in (("a", 5), ("b", 10), ("c", 1)):
        await campaigns.add_indicator(
            officer, campaign, code=code, name=f"Chỉ tiêu {code}", measure="count", target=target
        )
    await campaigns.launch(officer, campaign)
    await campaigns.report_progress(officer, campaign, 1, {"a": 5, "b": 3})
    query = """query ($u: ID, $y: Int!) { exemplaryUnits(unitId: $u, firstYear: $y) {
      unitId campaignsLaunched indicators indicatorsMet } }"""

    async def collectives(year: int) -> dict[str, tuple[int, int, int]]:
        body = await gql(client, tokens, tree.prov1, ["officer"], query, u=tree.prov1, y=year)
        assert "errors" not in body, body
        return {
            u["unitId"]: (u["campaignsLaunched"], u["indicators"], u["indicatorsMet"])
            for u in body["data"]["exemplaryUnits"]
        }

    # Then its 2024 says one campaign, three indicators, one met; 2025 none
    assert (await collectives(2024))[tree.cs1] == (1, 3, 1)
    assert (await collectives(2025))[tree.cs1] == (0, 0, 0)


async def test_a_typical_collective_carries_the_prizes_and_campaigns_of_the_units_merged_into_it(
    runtime, registry, owner, tree, client, tokens
):
    from datetime import UTC, datetime

    from services.campaign.commands import commands_of as campaign_commands_of
    from tests.campaign.conftest import SEED_003, Clock
    from tests.registry.conftest import principal

    # Given an older union of the first province, with a campaign launched in January 2024 (one
    # indicator, reported at its target) and a collective prize decided on 20 January, then a
    # second prize decided the day after the merge below
    older = f"{tree.prefix}-cs8"
    await grassroots(registry, (older, tree.upper1))
    campaigns = campaign_commands_of(runtime, Clock(date(2024, 1, 10)))
    officer = principal(older, "officer")
    year = dict(period_start=date(2024, 1, 1), period_end=date(2024, 12, 31))
    campaign = await campaigns.create(
        officer, **{**SEED_003, **year, "registration_due": date(2024, 2, 20)}
    )
    await campaigns.add_phase(
        officer, campaign, name="Đợt 1", starts=date(2024, 1, 1), ends=date(2024, 12, 31)
    )
    await campaigns.add_indicator(
        officer, campaign, code="a", name="Chỉ tiêu a", measure="count", target=2
    )
    await campaigns.launch(officer, campaign)
    await campaigns.report_progress(officer, campaign, 1, {"a": 2})
    head = await owner.fetchval("SELECT seq FROM tenant_heads WHERE tenant_id = $1", older)
    await settled(runtime, older, head)  # the campaign's figures, by its projection's runner
    for number, award, day in (
        (3, "tap_the_lao_dong_xuat_sac", date(2024, 1, 20)),
        (4, "tap_the_lao_dong_tien_tien", date(2024, 2, 2)),
    ):
        prize = recipient(f"unit:{older}", award, 3_510_000)
        data = {**decision_data(tree.upper1, number, [prize]), "decided_on": day}
        await given(runtime, tree.upper1, "DecisionIssued", **data)
    await recognised(runtime, older, 5_000_000, date(2024, 1, 15))
    before = datetime.now(UTC).isoformat()
    # When it is merged into Hoa Lư on 1 February 2024
    await registry.merge(None, [older], tree.cs1, date(2024, 2, 1))
    query = """query ($u: ID, $at: DateTime) {
      exemplaryUnits(unitId: $u, firstYear: 2024, asOf: $at) {
        unitId benefitVnd prizes indicators indicatorsMet } }"""

    async def ranked(at=None) -> dict[str, tuple]:
        body = await gql(client, tokens, tree.prov1, ["officer"], query, u=tree.prov1, at=at)
        assert "errors" not in body, body
        return {
            u["unitId"]: (u["benefitVnd"], u["prizes"], u["indicators"], u["indicatorsMet"])
            for u in body["data"]["exemplaryUnits"]
        }

    # Then Hoa Lư's row carries the older union's campaign and its prize of before the merge,
    # beside its initiative's benefit, and the older union is no longer ranked on its own (its
    # campaign's indicator is not met by now: the campaign counts what was recorded before its
    # unit ended, and the progress was recorded today, after the merge's day)
    now = await ranked()
    assert now[tree.cs1] == (5_000_000, ["Tập thể lao động xuất sắc"], 1, 0), now
    assert older not in now
    # and as the log held it before the merge: the older union on its own, with both prizes
    # (the indicators as now)
    then = await ranked(before)
    assert then[older][1:] == (
        ["Tập thể lao động tiên tiến", "Tập thể lao động xuất sắc"],
        1,
        0,
    ), then
    assert then[tree.cs1] == (0, [], 0, 0), then


async def test_a_survivor_carries_prizes_down_a_chain_of_merges_within_its_readers_reach(
    runtime, registry, tree, client, tokens
):

    # Given an older union of the first province with two collective prizes of January 2024:
    # one decided by its district (the first province's), one by the national unit
    older, survivor = f"{tree.prefix}-cs8", f"{tree.prefix}-cs9"
    await grassroots(registry, (older, tree.upper1), (survivor, tree.upper3))
    for decider, number, award in (
        (tree.upper1, 5, "tap_the_lao_dong_xuat_sac"),
        (tree.tld, 6, "bang_khen_tld"),
    ):
        prize = recipient(f"unit:{older}", award, 3_510_000)
        data = {**decision_data(decider, number, [prize]), "decided_on": date(2024, 1, 20)}
        await given(runtime, decider, "DecisionIssued", **data)
    await recognised(runtime, older, 5_000_000, date(2024, 1, 15))
    # When it is merged into Hoa Lư, and Hoa Lư into a union of the second province
    await registry.merge(None, [older], tree.cs1, date(2024, 2, 1))
    await registry.merge(None, [tree.cs1], survivor, date(2025, 1, 1))
    query = """query ($u: ID) { exemplaryUnits(unitId: $u, firstYear: 2020, lastYear: 2025) {
      unitId benefitVnd prizes } }"""
    body = await gql(client, tokens, tree.prov2, ["officer"], query, u=tree.prov2)
    assert "errors" not in body, body
    ranked = {u["unitId"]: (u["benefitVnd"], u["prizes"]) for u in body["data"]["exemplaryUnits"]}
    # Then the survivor carries the older union's history down the chain: its benefit, and the
    # national unit's prize, which the second province reads; not the first province's
    # district's, which it does not (an award is read within the reader's reach)
    assert ranked[survivor] == (
        5_000_000,
        ["Bằng khen của Ban Chấp hành Tổng Liên đoàn Lao động Việt Nam"],
    ), ranked
