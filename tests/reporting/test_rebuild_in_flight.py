"""A rebuild of the reporting projection takes its groups of tenants side by side
(shared/projection_rebuild.py ``REBUILD_IN_FLIGHT``): what it makes is what the runner made,
event by event."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import asyncpg
import pytest

from services.reporting.projections import PROJECTION
from shared import projection_rebuild
from tests.reporting.conftest import given, pledge, recognised
from tests.reporting.test_recognised_in_database import AMENDED, FULL, RECOGNISED

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
    "report_authored": (
        "SELECT unit_id, item, person, day, known_at, sum(initiatives), sum(benefit) "
        "FROM report_authored WHERE unit_id = ANY ($1::text[]) GROUP BY 1, 2, 3, 4, 5 "
        "HAVING sum(initiatives) <> 0 OR sum(benefit) <> 0 ORDER BY 1, 2, 3, 4, 5"
    ),
}


async def rows_of(owner, units: list[str]) -> dict[str, list[tuple]]:
    return {t: [tuple(r) for r in await owner.fetch(q, units)] for t, q in ROWS.items()}


async def indexes(owner, schema: str = "public") -> set[tuple[str, str]]:
    rows = await owner.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 "
        "AND tablename = ANY ($2::text[])",
        schema,
        list(PROJECTION.tables),
    )
    return {(r["indexname"], r["indexdef"].replace(f" {schema}.", " public.")) for r in rows}


async def written(runtime, tree) -> list[str]:
    """Pledges (one withdrawn), initiatives recognised (one of an author registered, then
    amended) and seminars in seven units' logs, counted by the runner as they came; the
    units."""
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
        authored = await given(runtime, unit, "InitiativeRegistered", **FULL)
        await given(runtime, unit, "InitiativeRecognised", authored, 2, **RECOGNISED)
        await given(runtime, unit, "InitiativeRecognitionAmended", authored, 3, **AMENDED)
        await given(
            runtime,
            unit,
            "SeminarHeld",
            unit_id=unit,
            topic="Tọa đàm",
            held_on=date(2024, 5, 1),
            participants=10 + i,
        )
    return units


def batches_watched(monkeypatch, before=None) -> dict[str, int]:
    """A unit a group and an event of each a transaction; the rebuild's transactions counted
    (``calls``, and ``most`` in flight at once), ``before(call)`` run ahead of each."""
    monkeypatch.setattr(projection_rebuild, "GROUP_TENANTS", 1)
    monkeypatch.setattr(projection_rebuild, "REBUILD_GROUP_TENANTS", 1)
    monkeypatch.setattr(projection_rebuild, "REBUILD_GROUP_EVENTS", 1)
    seen = {"calls": 0, "in_flight": 0, "most": 0}
    run_batches = projection_rebuild.run_batches

    async def watched(*args, **kwargs):
        seen["calls"] += 1
        if before is not None:
            before(seen["calls"])
        seen["in_flight"] += 1
        seen["most"] = max(seen["most"], seen["in_flight"])
        try:
            return await run_batches(*args, **kwargs)
        finally:
            seen["in_flight"] -= 1

    monkeypatch.setattr(projection_rebuild, "run_batches", watched)
    return seen


async def test_a_rebuild_taking_groups_side_by_side_makes_the_rows_the_runner_made(
    runtime, owner, tree, monkeypatch
):
    # Given seven units' figures, counted by the runner
    units = await written(runtime, tree)
    live, indexed = await rows_of(owner, units), await indexes(owner)
    assert all(live.values())
    # When it is rebuilt a unit a group, an event of each a transaction
    seen = batches_watched(monkeypatch)
    await projection_rebuild.rebuild(owner, runtime.projector_pool, PROJECTION, batch_size=2)
    # Then its groups were in flight side by side, and it made the same rows, with every index
    # (those built once it had caught up among them)
    assert seen["most"] == projection_rebuild.REBUILD_IN_FLIGHT > 1
    assert await rows_of(owner, units) == live
    assert PROJECTION.indexed_last and await indexes(owner) == indexed


async def test_a_rebuild_taking_many_units_a_group_makes_the_rows_the_runner_made(
    runtime, owner, tree, monkeypatch
):
    # Given seven units' figures, counted by the runner a unit at a time
    units = await written(runtime, tree)
    live, indexed = await rows_of(owner, units), await indexes(owner)
    built: list[set[tuple[str, str]]] = []
    swap = projection_rebuild.swap

    async def watched(conn, target, **kwargs):
        built.append(await indexes(owner, target.schema))
        return await swap(conn, target, **kwargs)

    monkeypatch.setattr(projection_rebuild, "swap", watched)
    # When it is rebuilt as it is by default (every unit of the test database in a group: the
    # statement counting the made items in the database spans many units at once)
    await projection_rebuild.rebuild(owner, runtime.projector_pool, PROJECTION)
    # Then it made the same rows, and every index was there before the swap
    assert await rows_of(owner, units) == live
    assert built == [indexed]


async def test_a_group_that_deadlocked_is_taken_again(runtime, owner, tree, monkeypatch):
    # Given seven units' figures, counted by the runner
    units = await written(runtime, tree)
    live = await rows_of(owner, units)

    # When a transaction of the rebuild deadlocks with the other worker's (rolled back: nothing
    # of it applied)
    def deadlock(call: int) -> None:
        if call == 3:
            raise asyncpg.DeadlockDetectedError("deadlock detected")

    seen = batches_watched(monkeypatch, deadlock)
    await projection_rebuild.rebuild(owner, runtime.projector_pool, PROJECTION, batch_size=2)
    # Then it was taken again, and the rows are the runner's
    assert seen["calls"] > 3
    assert await rows_of(owner, units) == live


async def test_a_worker_that_fails_stops_the_other_and_its_error_is_the_rebuilds(
    runtime, owner, tree, monkeypatch
):
    # Given seven units' figures, counted by the runner
    units = await written(runtime, tree)
    live = await rows_of(owner, units)

    # When a transaction of the rebuild fails
    def failing(call: int) -> None:
        if call == 3:
            raise RuntimeError("the database went away")

    seen = batches_watched(monkeypatch, failing)
    with pytest.raises(RuntimeError, match="went away"):
        await projection_rebuild.rebuild(owner, runtime.projector_pool, PROJECTION, batch_size=2)
    # Then the rebuild fails with its error, and the other worker takes no group after it
    calls = seen["calls"]
    await asyncio.sleep(0.5)
    assert seen["calls"] == calls
    # and the rebuild run again resumes and makes the runner's rows
    monkeypatch.undo()
    await projection_rebuild.rebuild(owner, runtime.projector_pool, PROJECTION, batch_size=2)
    assert await rows_of(owner, units) == live
