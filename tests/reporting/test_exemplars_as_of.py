"""The typical individuals and collectives of a period as the log held them at a moment
(migration 0066): each initiative and award as it was known then, over the tree as known then,
live and after a rebuild."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.campaign.commands import commands_of as campaign_commands_of
from services.reporting.projections import PROJECTION
from shared.access import scope
from shared.projection_rebuild import rebuild
from tests.campaign.conftest import Clock
from tests.registry.conftest import principal
from tests.reporting.conftest import given, gql, recognised, settled
from tests.reporting.test_figures import decision_data, recipient

EXEMPLARS = """query ($u: ID, $at: DateTime) {
  exemplars(unitId: $u, firstYear: 2020, lastYear: 2025, asOf: $at) {
    personId name initiatives benefitVnd appliedAt bangLaoDongSangTao } }"""
COLLECTIVES = """query ($u: ID, $at: DateTime) {
  exemplaryUnits(unitId: $u, firstYear: 2024, asOf: $at) {
    unitId initiatives benefitVnd prizes } }"""
COMPLIANCE = """query ($unit: ID, $year: Int!, $at: DateTime) {
  compliance(unitId: $unit, year: $year, asOf: $at) { kind onTime late missing pending } }"""


async def caught_up(runtime, owner, *units: str) -> datetime:
    """Every projection past each unit's head: then a moment after all their events."""
    for unit in units:
        head = await owner.fetchval("SELECT seq FROM tenant_heads WHERE tenant_id = $1", unit)
        await settled(runtime, unit, head)
    return datetime.now(UTC)


async def exemplars(client, tokens, reader: str, unit: str, at: datetime | None):
    body = await gql(
        client, tokens, reader, ["officer"], EXEMPLARS, u=unit, at=at and at.isoformat()
    )
    assert "errors" not in body, body
    found = body["data"]["exemplars"]
    if found is None:
        return None
    return sorted(
        (e["name"], e["initiatives"], e["benefitVnd"], e["appliedAt"], e["bangLaoDongSangTao"])
        for e in found
    )


def revoked(item_id: str) -> dict:
    return dict(
        item_id=item_id,
        ground="false_declaration",
        reason="Khai man",
        recovered_cash_vnd=0,
        recovered_items=[],
        revoked_on=date(2025, 3, 1),
    )


async def test_the_typical_individuals_as_of_a_moment_are_those_the_log_held_then(
    runtime, registry, owner, tree, client, tokens
):
    campaigns = campaign_commands_of(runtime, Clock(date(2024, 5, 2)))
    officer = principal(tree.cs1, "officer")
    nothing_yet = await caught_up(runtime, owner, tree.cs1)
    # Given two initiatives of Hoa Lư: one recognised (90 million), then a moment
    big = await campaigns.register_initiative(
        officer, title="Máy cắt tự động", authors=["Nguyễn Thị Lan", "Trần Văn Minh"]
    )
    small = await campaigns.register_initiative(
        officer, title="Sổ tay số", authors=["Trần Văn Minh"]
    )
    await campaigns.recognise_initiative(
        officer, big, benefit_vnd=90_000_000, applied_at=["Phân xưởng 1"]
    )
    recognised = await caught_up(runtime, owner, tree.cs1)
    # and its recognition amended to 120 million and the other recognised, then a moment
    await campaigns.amend_recognition(
        officer,
        big,
        benefit_vnd=120_000_000,
        applied_at=["Phân xưởng 1", "Phân xưởng 2"],
        reason="Tính lại",
    )
    await campaigns.recognise_initiative(
        officer, small, benefit_vnd=30_000_000, applied_at=["Phòng kỹ thuật"]
    )
    amended = await caught_up(runtime, owner, tree.cs1)
    found = await gql(client, tokens, tree.upper1, ["officer"], EXEMPLARS, u=tree.upper1)
    minh = next(e["personId"] for e in found["data"]["exemplars"] if e["initiatives"] == 2)
    # and Trần Văn Minh's Bằng Lao động sáng tạo decided by upper1, then a moment
    bang = recipient(f"person:{minh}", "bang_lao_dong_sang_tao", 10_000_000)
    decision = await given(
        runtime, tree.upper1, "DecisionIssued", **decision_data(tree.upper1, 3, [bang])
    )
    honoured = await caught_up(runtime, owner, tree.cs1, tree.upper1)
    # and then his award revoked, a moment, the small initiative withdrawn, and Hoa Lư moved
    # under the other province, dated before all of it
    await given(runtime, tree.upper1, "AwardRevoked", decision, 2, **revoked(bang["item_id"]))
    revocation = await caught_up(runtime, owner, tree.cs1, tree.upper1)
    await campaigns.withdraw_initiative(officer, small, "Trùng lặp")
    await registry.move(None, tree.cs1, tree.upper3, date(2024, 1, 2))
    await caught_up(runtime, owner, tree.cs1, tree.upper1)

    lan, minh_ = "Nguyễn Thị Lan", "Trần Văn Minh"
    expected = {
        nothing_yet: {},
        recognised: {
            lan: (1, 90_000_000, ["Phân xưởng 1"], False),
            minh_: (1, 90_000_000, ["Phân xưởng 1"], False),
        },
        amended: {
            lan: (1, 120_000_000, ["Phân xưởng 1; Phân xưởng 2"], False),
            minh_: (2, 150_000_000, ["Phân xưởng 1; Phân xưởng 2", "Phòng kỹ thuật"], False),
        },
        honoured: {
            lan: (1, 120_000_000, ["Phân xưởng 1; Phân xưởng 2"], False),
            minh_: (2, 150_000_000, ["Phân xưởng 1; Phân xưởng 2", "Phòng kỹ thuật"], True),
        },
        revocation: {
            lan: (1, 120_000_000, ["Phân xưởng 1; Phân xưởng 2"], False),
            minh_: (2, 150_000_000, ["Phân xưởng 1; Phân xưởng 2", "Phòng kỹ thuật"], False),
        },
    }

    async def answers():
        # When the first province asks as of each moment: Hoa Lư stood under it then; its
        # names it no longer reads (Hoa Lư is not below it today)
        then = {at: await exemplars(client, tokens, tree.prov1, tree.prov1, at) for at in expected}
        now = await exemplars(client, tokens, tree.prov1, tree.prov1, None)
        mine = await exemplars(client, tokens, tree.cs1, tree.cs1, None)
        return then, now, mine

    for rebuilt in (False, True):
        if rebuilt:  # and so again once rebuilt from the log
            await rebuild(owner, runtime.projector_pool, PROJECTION, batch_size=128)
        then, now, mine = await answers()
        # Then each moment answers what the log held then
        for at, want in expected.items():
            assert [e[1:] for e in then[at]] == sorted(want.values()), (rebuilt, at)
            assert {e[0] for e in then[at]} <= {"(không đọc được)"}
        # and today the first province has none, and Hoa Lư has the amended one alone
        assert now == []
        assert mine == [
            (lan, 1, 120_000_000, ["Phân xưởng 1; Phân xưởng 2"], False),
            (minh_, 1, 120_000_000, ["Phân xưởng 1; Phân xưởng 2"], False),
        ]

    # and a sibling reads none of it at any moment
    assert await exemplars(client, tokens, tree.upper2, tree.upper1, recognised) is None
    # and of reporting's versions a unit reads only those of the awards it reads in the
    # awards' register: the province, upper1's decision; upper2, a sibling, none of it
    award = f"award:{decision}:{bang['item_id']}"
    for unit, seen in ((tree.prov1, True), (tree.upper2, False)):
        async with scope(runtime.pool, principal(unit, "officer")) as conn:
            items = {r["item"] for r in await conn.fetch("SELECT item FROM report_item_versions")}
        assert all(i.startswith("award:") for i in items), unit
        assert (award in items) is seen, unit


async def test_an_as_of_before_the_versions_are_whole_is_refused(
    runtime, owner, tree, client, tokens
):
    # Given a database migrated with items (0066): their states before the migration unknown
    before = await caught_up(runtime, owner, tree.cs1)
    await owner.execute("INSERT INTO report_versions_since VALUES (now())")
    try:
        # When the typical individuals, collectives or the deadlines are asked as of before it
        for query, args in (
            (EXEMPLARS, {"u": tree.prov1}),
            (COLLECTIVES, {"u": tree.prov1}),
            (COMPLIANCE, {"unit": tree.prov1, "year": 2024}),
        ):
            body = await gql(
                client, tokens, tree.prov1, ["officer"], query, at=before.isoformat(), **args
            )
            # Then it is refused, saying what to do; today's is answered
            assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT", body
            assert "thidua reports rebuild" in body["errors"][0]["message"]
            now = await gql(client, tokens, tree.prov1, ["officer"], query, at=None, **args)
            assert "errors" not in now, now
    finally:
        await owner.execute("DELETE FROM report_versions_since")


async def test_the_typical_collectives_as_of_a_moment_have_the_prizes_that_stood_then(
    runtime, owner, tree, client, tokens
):
    # Given Hoa Lư's initiative of 2024 and a collective prize by upper1, then a moment
    await recognised(runtime, tree.cs1, 50_000_000, date(2024, 6, 1), "Xưởng")
    before = await caught_up(runtime, owner, tree.cs1, tree.upper1)
    prize = recipient(f"unit:{tree.cs1}", "tap_the_lao_dong_xuat_sac", 3_510_000)
    decision = await given(
        runtime, tree.upper1, "DecisionIssued", **decision_data(tree.upper1, 8, [prize])
    )
    awarded = await caught_up(runtime, owner, tree.cs1, tree.upper1)
    # When the prize is revoked and another initiative recognised after the moment
    await given(runtime, tree.upper1, "AwardRevoked", decision, 2, **revoked(prize["item_id"]))
    revocation = await caught_up(runtime, owner, tree.cs1, tree.upper1)
    await recognised(runtime, tree.cs1, 20_000_000, date(2024, 9, 1), "Kho")

    async def hoa_lu(at: datetime | None):
        body = await gql(
            client,
            tokens,
            tree.prov1,
            ["officer"],
            COLLECTIVES,
            u=tree.prov1,
            at=at and at.isoformat(),
        )
        assert "errors" not in body, body
        found = {u["unitId"]: u for u in body["data"]["exemplaryUnits"]}
        u = found[tree.cs1]
        return u["initiatives"], u["benefitVnd"], len(u["prizes"])

    # Then before the decision: its initiative, no prize; at the moment: the prize; after its
    # revocation, none; now: two initiatives, the prize revoked
    assert await hoa_lu(before) == (1, 50_000_000, 0)
    assert await hoa_lu(awarded) == (1, 50_000_000, 1)
    assert await hoa_lu(revocation) == (1, 50_000_000, 0)
    assert await hoa_lu(None) == (2, 70_000_000, 0)
    # and a sibling reads none of it
    body = await gql(
        client, tokens, tree.upper2, ["officer"], COLLECTIVES, u=tree.prov1, at=awarded.isoformat()
    )
    assert body["data"]["exemplaryUnits"] is None
