"""An indicator's actual is the campaign's own figure (issue 13, point 6): kept on the indicator's
row by the campaign projection (services/campaign/actuals.py), counted as the campaign's unit
reads its facts, and the same for every reader who may see the campaign: the province, a unit
below it, a member. Two units' facts projected in parallel transactions both count, and a
rebuild gives the figures the live run gave."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date, datetime

from services.campaign.bulk import PledgeRow, register_pledges
from services.campaign.projections import PROJECTION, apply
from shared.clock import VIETNAM
from shared.projection_rebuild import begin, building_schema, rebuild
from shared.projections import add_checkpoints, run_batch
from tests.registry.test_graphql import gql

from .conftest import SEED_003, officer

TITLE = "Lao động tiên tiến"
INDICATORS = "query($id: ID!) { campaign(id: $id) { indicators { code actual } } }"


async def province_campaign(campaigns, tree, clock, unit: str | None = None) -> str:
    """The province's (or ``unit``'s) launched campaign of 2021: initiatives, works and pledges
    counted over its subtree ("sk", "ct" in money, "gu"), and a figure its units report
    ("lk")."""
    actor = officer(unit or tree.prov1)
    campaign_id = await campaigns.create(actor, **SEED_003)
    await campaigns.add_phase(
        actor, campaign_id, name="Đợt 1", starts=date(2021, 1, 1), ends=date(2021, 12, 31)
    )
    for code, measure, facts in (
        ("sk", "count", ["InitiativeRegistered"]),
        ("ct", "vnd", ["WorkRegistered"]),
        ("gu", "count", ["PledgeRegistered"]),
    ):
        await campaigns.add_indicator(
            actor,
            campaign_id,
            code=code,
            name=f"Chỉ tiêu {code}",
            measure=measure,
            target=10,
            source="computed",
            computed_from=facts,
        )
    await campaigns.add_indicator(
        actor, campaign_id, code="lk", name="Lượt kiểm tra", measure="count", target=100
    )
    await campaigns.launch(actor, campaign_id)
    clock.on = date(2021, 2, 10)
    return campaign_id


async def actuals_read_by(client, tokens, campaign_id, *readers) -> list[dict[str, int | None]]:
    """Each reader's (unit, roles) figures of the campaign, by code."""
    found = []
    for unit, roles in readers:
        body = await gql(client, tokens, unit, roles, INDICATORS, id=str(campaign_id))
        assert body.get("errors") is None, body
        found.append({i["code"]: i["actual"] for i in body["data"]["campaign"]["indicators"]})
    return found


def readers_of(tree):
    """The province, a grassroots unit below it, a district on another branch, a member."""
    return (
        (tree.prov1, ["officer"]),
        (tree.cs1, ["officer"]),
        (tree.upper2, ["officer"]),
        (tree.prov1, ["member"]),
    )


async def test_a_fact_recorded_below_shows_in_the_provinces_figure_for_every_reader(
    campaigns, tree, clock, client, tokens
):
    # Given the province's campaign counting initiatives over its subtree
    campaign_id = await province_campaign(campaigns, tree, clock)
    # When a grassroots unit two levels below registers an initiative
    await campaigns.register_initiative(
        officer(tree.cs1), title="Máy cắt tôn", authors=["Lê Văn Cường"], campaign_id=campaign_id
    )
    # Then the province, the unit itself, a district on another branch and a member of the
    # province all read the same figure: the province's own
    figures = await actuals_read_by(client, tokens, campaign_id, *readers_of(tree))
    assert [f["sk"] for f in figures] == [1, 1, 1, 1]


async def test_withdrawal_lowers_and_amendment_changes_the_figure(
    campaigns, tree, clock, client, tokens
):
    # Given works of 1 and 2 billion đồng registered in two units below the province
    campaign_id = await province_campaign(campaigns, tree, clock)
    upper = await campaigns.register_work(
        officer(tree.upper1), campaign_id, name="Nhà văn hóa", value_vnd=10**9
    )
    grassroots = await campaigns.register_work(
        officer(tree.cs1), campaign_id, name="Bếp ăn ca", value_vnd=2 * 10**9
    )
    initiative = await campaigns.register_initiative(
        officer(tree.cs1), title="Máy cắt tôn", authors=["Lê Văn Cường"], campaign_id=campaign_id
    )
    before = await actuals_read_by(client, tokens, campaign_id, *readers_of(tree))
    # When the grassroots work is amended to half a billion and the district's withdrawn, and
    # the initiative withdrawn
    await campaigns.amend_work(
        officer(tree.cs1), grassroots, {"value_vnd": 5 * 10**8}, "Quyết toán lại"
    )
    amended = await actuals_read_by(client, tokens, campaign_id, *readers_of(tree))
    await campaigns.withdraw_work(officer(tree.upper1), upper, "Hoãn")
    await campaigns.withdraw_initiative(officer(tree.cs1), initiative, "Trùng")
    after = await actuals_read_by(client, tokens, campaign_id, *readers_of(tree))
    # Then every reader reads each step's figure
    assert [(f["ct"], f["sk"]) for f in before] == [(3 * 10**9, 1)] * 4
    assert [(f["ct"], f["sk"]) for f in amended] == [(15 * 10**8, 1)] * 4
    assert [(f["ct"], f["sk"]) for f in after] == [(5 * 10**8, 0)] * 4


async def test_a_reported_figure_summed_over_the_subtree_is_the_same_for_every_reader(
    campaigns, tree, clock, client, tokens
):
    # Given the province's campaign, no report yet
    campaign_id = await province_campaign(campaigns, tree, clock)
    unreported = await actuals_read_by(client, tokens, campaign_id, *readers_of(tree))
    # When two districts register and report 3 and 4
    for unit, figure in ((tree.upper1, 3), (tree.upper2, 4)):
        await campaigns.register(officer(unit), campaign_id, contents=[SEED_003["contents"][0]])
        await campaigns.report_progress(officer(unit), campaign_id, 1, {"lk": figure})
    # Then every reader, either district included, reads the sum: 7 (none before any report)
    reported = await actuals_read_by(
        client, tokens, campaign_id, *readers_of(tree), (tree.upper1, ["officer"])
    )
    assert [f["lk"] for f in unreported] == [None] * 4
    assert [f["lk"] for f in reported] == [7] * 5


async def test_a_district_moved_to_another_province_takes_its_facts_of_the_days_since(
    campaigns, tree, clock, registry, owner
):
    # Given both provinces' campaigns, and an initiative recorded today in a grassroots unit
    # of a district of the first
    first = await province_campaign(campaigns, tree, clock)
    second = await province_campaign(campaigns, tree, clock, tree.prov2)
    await campaigns.register_initiative(
        officer(tree.cs1), title="Máy cắt tôn", authors=["Lê Văn Cường"]
    )
    before = [(await figures(owner, c))["sk"] for c in (first, second)]
    # When the district moves to the second province from today
    await registry.move(None, tree.upper1, tree.prov2, datetime.now(VIETNAM).date())
    # Then the initiative, recorded on a day the district is under the second province,
    # counts there and no longer in the first (what each province itself reads)
    after = [(await figures(owner, c))["sk"] for c in (first, second)]
    assert before == [1, 0]
    assert after == [0, 1]


async def test_a_unit_founded_below_counts_in_the_figure_of_new_units(
    campaigns, tree, registry, owner
):
    # Given the province's campaign of 2024 counting the units founded below it
    actor = officer(tree.prov1)
    plan = {**SEED_003, "period_start": date(2024, 1, 1), "period_end": date(2024, 12, 31)}
    campaign_id = await campaigns.create(actor, **{**plan, "registration_due": date(2024, 3, 1)})
    await campaigns.add_indicator(
        actor,
        campaign_id,
        code="moi",
        name="Thành lập CĐCS mới",
        measure="count",
        target=5,
        source="computed",
        computed_from=["UnitRegistered"],
    )
    before = await figures(owner, campaign_id)
    # When a grassroots union is founded under one of its districts in June 2024
    await registry.register(
        None,
        unit_id=f"{tree.prefix}-cs-new",
        name="Công đoàn cơ sở Công ty May Mới",
        level="grassroots",
        sector_type="DN tư nhân",
        parent_id=tree.upper1,
        effective_on=date(2024, 6, 1),
    )
    # Then the province's figure counts it beside the three units below it founded on the
    # tree's first day (2024-01-01: two districts and a grassroots union)
    assert before == {"moi": 3}
    assert await figures(owner, campaign_id) == {"moi": 4}


async def test_two_units_facts_projected_in_parallel_transactions_both_count(
    campaigns, tree, clock, runtime, owner
):
    # Given the province's campaign and an initiative in each of two units below it, the live
    # runner stopped, and a version of the projection built beside the live one with the
    # province's log applied
    campaign_id = await province_campaign(campaigns, tree, clock)
    for unit in (tree.cs1, tree.upper2):
        await campaigns.register_initiative(
            officer(unit), title=f"Sáng kiến {unit}", authors=["Lê Văn Cường"]
        )
    await runtime.projections.stop()
    try:
        target = await begin(owner, PROJECTION)
        pool = runtime.projector_pool
        async with pool.acquire() as first, pool.acquire() as second:
            await add_checkpoints(first, target)
            await run_batch(first, target, tree.prov1, 1000)
            # When the two units' batches run at once: the first has counted the province's
            # figure and holds its transaction open while the second counts it too
            counted, go_on = asyncio.Event(), asyncio.Event()

            async def apply_then_hold(conn, registry, events):
                await apply(conn, registry, events)
                counted.set()
                await go_on.wait()

            held = dataclasses.replace(target, projection=held_projection(apply_then_hold))
            one = asyncio.create_task(run_batch(first, held, tree.cs1, 1000))
            await asyncio.wait_for(counted.wait(), 60)
            two = asyncio.create_task(run_batch(second, target, tree.upper2, 1000))
            try:
                await waiting_for_a_lock(owner, second.get_server_pid())
            finally:
                go_on.set()
            await asyncio.gather(one, two)
        # Then the province's figure counts both
        actual = await owner.fetchval(
            f"SELECT actual FROM {building_schema(PROJECTION)}.campaign_indicators "
            "WHERE campaign_id = $1 AND code = 'sk'",
            campaign_id,
        )
        assert actual == 2
    finally:
        await owner.execute(f"DROP SCHEMA IF EXISTS {building_schema(PROJECTION)} CASCADE")
        await owner.execute(
            "DELETE FROM projection_versions WHERE name = 'campaigns' AND state = 'building'"
        )
        await runtime.projections.start()  # the session's runner, for the tests after this one


def held_projection(apply_fn):
    return dataclasses.replace(PROJECTION, apply=apply_fn)


async def waiting_for_a_lock(owner, pid: int) -> None:
    """Returns once backend ``pid`` waits for a lock (the province's figure, held by the other
    transaction); fails if it never does."""
    for _ in range(2000):
        waiting = await owner.fetchval(
            "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid
        )
        if waiting:
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the second transaction never waited for the first one's lock")


async def test_a_rebuild_gives_the_figures_of_the_live_run(campaigns, tree, clock, runtime, owner):
    # Given figures kept live: initiatives (one withdrawn), works, a report, and 1,200 pledges
    # of a district in one call (counted into the figure batch by batch), one withdrawn
    campaign_id = await province_campaign(campaigns, tree, clock)
    for unit in (tree.cs1, tree.upper1, tree.upper2):
        initiative = await campaigns.register_initiative(
            officer(unit), title=f"Sáng kiến {unit}", authors=["Lê Văn Cường"]
        )
        await campaigns.register_work(officer(unit), campaign_id, name="Nhà", value_vnd=10**8)
    await campaigns.withdraw_initiative(officer(tree.upper2), initiative, "Trùng")
    await campaigns.register(
        officer(tree.upper1), campaign_id, contents=["Phát huy sáng kiến, sáng tạo"]
    )
    await campaigns.report_progress(officer(tree.upper1), campaign_id, 1, {"lk": 9})
    rows = [PledgeRow(row=n, subject="", name=f"Nguyễn Văn {n}", title=TITLE) for n in range(1200)]
    await register_pledges(campaigns, officer(tree.upper1), campaign_id, rows, max_rows=2000)
    pledged = await figures(owner, campaign_id)
    pledge = await owner.fetchval(
        "SELECT pledge_id FROM campaign_pledges WHERE tenant_id = $1 LIMIT 1", tree.upper1
    )
    await campaigns.withdraw_pledge(officer(tree.upper1), pledge, "Chuyển công tác")
    live = await figures(owner, campaign_id)
    # When the campaigns' projection is rebuilt beside the live tables and swapped in
    await rebuild(owner, runtime.projector_pool, PROJECTION, batch_size=7)
    # Then every figure is what the live run kept
    assert pledged["gu"] == 1200
    assert live == {"sk": 2, "ct": 3 * 10**8, "gu": 1199, "lk": 9}
    assert await figures(owner, campaign_id) == live


async def figures(owner, campaign_id) -> dict[str, int | None]:
    rows = await owner.fetch(
        "SELECT code, actual FROM campaign_indicators WHERE campaign_id = $1", campaign_id
    )
    return {r["code"]: r["actual"] for r in rows}
