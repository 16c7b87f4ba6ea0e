"""A rebuild of the reporting projection takes its groups of tenants side by side
(shared/projection_rebuild.py ``REBUILD_IN_FLIGHT``): what it makes is what the runner made,
event by event."""

from __future__ import annotations

import uuid
from datetime import date

from services.reporting.projections import PROJECTION
from shared import projection_rebuild
from tests.reporting.conftest import given, pledge, recognised

ROWS = {
    "report_changes": (
        "SELECT unit_id, day, metric, dim, known_at, sum(delta) FROM report_changes "
        "WHERE unit_id = ANY ($1::text[]) GROUP BY 1, 2, 3, 4, 5 HAVING sum(delta) <> 0 "
        "ORDER BY 1, 2, 3, 4, 5"
    ),
    "report_items": (
        "SELECT unit_id, item, day, figures, facts, known_at FROM report_items "
        "WHERE unit_id = ANY ($1::text[]) ORDER BY 1, 2"
    ),
    "report_item_versions": (
        "SELECT unit_id, item, known_at, day, figures, facts FROM report_item_versions "
        "WHERE unit_id = ANY ($1::text[]) ORDER BY 1, 2, 3"
    ),
}


async def rows_of(owner, units: list[str]) -> dict[str, list[tuple]]:
    return {t: [tuple(r) for r in await owner.fetch(q, units)] for t, q in ROWS.items()}


async def test_a_rebuild_taking_groups_side_by_side_makes_the_rows_the_runner_made(
    runtime, owner, tree, monkeypatch
):
    # Given pledges (one withdrawn), initiatives recognised and seminars in seven units' logs,
    # counted by the runner as they came
    units = [tree.tld, tree.prov1, tree.prov2, tree.upper1, tree.upper2, tree.upper3, tree.cs1]
    for i, unit in enumerate(units):
        withdrawn = await pledge(runtime, unit, date(2024, 1, 1 + i))
        await pledge(runtime, unit, date(2025, 3, 1 + i), "chien_si_thi_dua_co_so")
        await recognised(runtime, unit, 1_000_000 * (i + 1), date(2024, 2, 1 + i))
        await given(
            runtime,
            unit,
            "PledgeWithdrawn",
            withdrawn,
            2,
            campaign_id=uuid.uuid4(),
            reason="Chuyển",
        )
        await given(
            runtime,
            unit,
            "SeminarHeld",
            unit_id=unit,
            topic="Tọa đàm",
            held_on=date(2024, 5, 1),
            participants=10 + i,
        )
    live = await rows_of(owner, units)
    assert all(live.values())

    # When it is rebuilt a unit a group, an event of each a transaction, with the groups in
    # flight counted
    monkeypatch.setattr(projection_rebuild, "GROUP_TENANTS", 1)
    monkeypatch.setattr(projection_rebuild, "REBUILD_GROUP_TENANTS", 1)
    monkeypatch.setattr(projection_rebuild, "REBUILD_GROUP_EVENTS", 1)
    in_flight, most = 0, 0
    run_batches = projection_rebuild.run_batches

    async def counted(*args, **kwargs):
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        try:
            return await run_batches(*args, **kwargs)
        finally:
            in_flight -= 1

    monkeypatch.setattr(projection_rebuild, "run_batches", counted)
    await projection_rebuild.rebuild(owner, runtime.projector_pool, PROJECTION, batch_size=2)

    # Then its groups were in flight side by side, and it made the same rows
    assert most == projection_rebuild.REBUILD_IN_FLIGHT > 1
    assert await rows_of(owner, units) == live
