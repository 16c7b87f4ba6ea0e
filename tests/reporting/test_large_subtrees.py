"""A large subtree's typical individuals and collectives and its deadline compliance (migration
0068): read through statements planned for many members, they answer as a small one's do, now
and as of a moment; and the collectives are ranked by benefit, then initiatives, then id."""

from __future__ import annotations

from datetime import date

from services.campaign.commands import commands_of as campaign_commands_of
from tests.campaign.conftest import Clock
from tests.registry.conftest import principal
from tests.reporting.conftest import campaign, gql, recognised, registered, report_settings
from tests.reporting.test_exemplars_as_of import caught_up

READS = """query ($u: ID, $at: DateTime) {
  exemplars(unitId: $u, firstYear: 2020, lastYear: 2025, asOf: $at) {
    personId initiatives benefitVnd appliedAt }
  exemplaryUnits(unitId: $u, firstYear: 2024, first: 3, asOf: $at) {
    unitId campaignsLaunched participants initiatives benefitVnd }
  compliance(unitId: $u, year: 2024, asOf: $at) { kind onTime late missing pending } }"""


async def test_a_large_subtree_answers_as_a_small_one_now_and_as_of_a_moment(
    runtime, owner, tree, client, tokens
):
    # Given Hoa Lư's initiative by two authors recognised (90 million), upper2's and upper3's
    # initiatives of the same benefit (a tie, broken by id), and the province's campaign of
    # 2024 that upper1 registered with; then a moment
    campaigns = campaign_commands_of(runtime, Clock(date(2024, 5, 2)))
    officer = principal(tree.cs1, "officer")
    big = await campaigns.register_initiative(
        officer, title="Máy cắt tự động", authors=["Nguyễn Thị Lan", "Trần Văn Minh"]
    )
    await campaigns.recognise_initiative(
        officer, big, benefit_vnd=90_000_000, applied_at=["Phân xưởng 1"]
    )
    for unit in (tree.upper3, tree.upper2):
        await recognised(runtime, unit, 10_000_000, date(2024, 6, 1))
    launched = await campaign(runtime, tree.prov1, 2024)
    await registered(runtime, tree.upper1, launched, tree.prov1, date(2024, 3, 1), late=False)
    moment = await caught_up(
        runtime, owner, tree.cs1, tree.upper1, tree.upper2, tree.upper3, tree.prov1
    )
    # and after it, a second initiative of Trần Văn Minh's, upper2's second, and upper2
    # registering late
    small = await campaigns.register_initiative(
        officer, title="Sổ tay số", authors=["Trần Văn Minh"]
    )
    await campaigns.recognise_initiative(
        officer, small, benefit_vnd=30_000_000, applied_at=["Phòng kỹ thuật"]
    )
    await recognised(runtime, tree.upper2, 5_000_000, date(2024, 9, 1))
    await registered(runtime, tree.upper2, launched, tree.prov1, date(2024, 4, 1), late=True)
    await caught_up(runtime, owner, tree.upper2, tree.prov1)

    async def reads(at):
        answers = {}
        for many_units in (10**6, 0):  # small; every subtree taken as large
            async with report_settings(owner, many_units=many_units):
                body = await gql(
                    client,
                    tokens,
                    tree.tld,
                    ["officer"],
                    READS,
                    u=tree.tld,
                    at=at and at.isoformat(),
                )
            assert "errors" not in body, body
            answers[many_units] = body["data"]
        # Then both ways answer the same
        assert answers[0] == answers[10**6], at
        return answers[0]

    then, now = await reads(moment), await reads(None)
    # and the collectives are ranked by benefit, then initiatives, then id
    tie = sorted([tree.upper2, tree.upper3])
    assert [(u["unitId"], u["initiatives"], u["benefitVnd"]) for u in then["exemplaryUnits"]] == [
        (tree.cs1, 1, 90_000_000),
        (tie[0], 1, 10_000_000),
        (tie[1], 1, 10_000_000),
    ]
    assert [(u["unitId"], u["initiatives"], u["benefitVnd"]) for u in now["exemplaryUnits"]] == [
        (tree.cs1, 2, 120_000_000),
        (tree.upper2, 2, 15_000_000),
        (tree.upper3, 1, 10_000_000),
    ]
    # and the two authors are the typical individuals: then with one initiative each; now
    # Trần Văn Minh with two first
    assert [(e["initiatives"], e["benefitVnd"]) for e in then["exemplars"]] == [
        (1, 90_000_000),
        (1, 90_000_000),
    ]
    assert [(e["initiatives"], e["benefitVnd"]) for e in now["exemplars"]] == [
        (2, 120_000_000),
        (1, 90_000_000),
    ]
    # and one registration on time then (upper2 missing); now one on time, one late
    kinds = {c["kind"]: c for c in then["compliance"]}
    assert (kinds["registrations"]["onTime"], kinds["registrations"]["late"]) == (1, 0)
    kinds = {c["kind"]: c for c in now["compliance"]}
    assert (kinds["registrations"]["onTime"], kinds["registrations"]["late"]) == (1, 1)


async def test_a_large_subtree_outside_the_readers_reach_is_none(
    runtime, owner, tree, client, tokens
):
    async with report_settings(owner, many_units=0):
        body = await gql(client, tokens, tree.upper2, ["officer"], READS, u=tree.prov1, at=None)
    assert "errors" not in body, body
    assert body["data"] == {"exemplars": None, "exemplaryUnits": None, "compliance": None}


async def test_the_collectives_of_a_time_before_the_unit_stood_are_none(
    runtime, owner, tree, client, tokens
):
    # the test tree's units came into being in 2024: nothing stood on the last day of 2020
    query = """query ($u: ID) { exemplaryUnits(unitId: $u, firstYear: 2020) { unitId } }"""
    for many_units in (10**6, 0):
        async with report_settings(owner, many_units=many_units):
            body = await gql(client, tokens, tree.tld, ["officer"], query, u=tree.tld)
        assert body["data"]["exemplaryUnits"] is None, many_units


async def test_each_statement_names_the_members_function_the_plan_is_told_of(owner):
    # thidua_report_members_for swaps that name for thidua_report_members_many (0068): a
    # statement that no longer names it as such would be planned for a few members always
    for function in ("thidua_report_exemplars", "thidua_report_compliance"):
        text = await owner.fetchval(
            "SELECT pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.proname = $1", function
        )
        assert text.count("public.thidua_report_members(") == 1, function
        assert "thidua_report_members_for(q," in text, function
