"""Projections with checkpoints (shared/projections.py): the runner applies each event once,
across a killed runner and between runners sharing the tenants; read-your-writes waits for it;
its status shows the lag; its role writes any unit's rows while the application's still reads
only its reach.

The runner under test is checked against the live campaign projection: it builds the campaign
projection, under a name of its own (``BESIDE``, which the test session's own runner does not
run, so no other runner takes its batches), into the tables of a version being built beside the
live ones, and those rows must equal the live rows.
"""

# ruff: noqa: F811  (pytest fixtures, imported by name and requested by argument)

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections import Counter
from datetime import date

import asyncpg
import pytest

from services.campaign.bulk import PledgeRow, register_pledges
from services.campaign.projections import PROJECTION, TABLES, apply
from shared import access
from shared.db import create_projector_pool
from shared.eventstore import StoredEvent
from shared.projection_rebuild import building_schema, catch_up
from shared.projections import (
    CheckpointPositions,
    Projection,
    ProjectionRunner,
    Target,
    add_checkpoints,
    apply_inline,
    projection_status,
    run_batch,
    tenants_behind,
)
from tests.campaign.conftest import (  # noqa: F401  (fixtures)
    campaigns,
    clock,
    officer,
    registry,
    seed_003,
    tree,
)
from tests.registry.conftest import principal
from tests.shared.beside import built_beside

BESIDE = dataclasses.replace(PROJECTION, name="campaigns_beside")
SCHEMA = building_schema(BESIDE)


async def rows_of(conn, schema: str, tenants: list[str]) -> dict[str, str]:
    found = {}
    for table in TABLES:
        rows = await conn.fetch(
            f"SELECT * FROM {schema}.{table} WHERE tenant_id = ANY ($1::text[])", tenants
        )
        found[table] = repr(sorted(tuple(r.values()) for r in rows))
    return found


async def write_campaigns(campaigns, tree, clock) -> list[str]:
    """A province's campaign, an upper unit's registration, report and 120 pledges, a grassroots
    unit's initiative: the tenants written."""
    province = await seed_003(campaigns, tree.prov1)
    upper = officer(tree.upper1)
    clock.on = date(2021, 2, 10)
    await campaigns.register(upper, province, contents=["Phát huy sáng kiến, sáng tạo"])
    await campaigns.report_progress(upper, province, 1, {"cdcs-moi": 3})
    pledges = [
        PledgeRow(row=n, subject="", name=f"Nguyễn Văn {n}", title="Lao động tiên tiến")
        for n in range(1, 121)
    ]
    await register_pledges(campaigns, upper, province, pledges, max_rows=1000)
    await campaigns.register_initiative(
        officer(tree.cs1), title="Máy cắt tôn", authors=["Lê Văn Cường"], campaign_id=province
    )
    return [tree.prov1, tree.upper1, tree.cs1]


@pytest.fixture(scope="module")
async def beside(database_url) -> Target:
    """Version N+1 of the campaign projection, being built in its own schema for this module's
    tests (each catches it up from where the last one left it); gone afterwards."""
    async with built_beside(database_url, BESIDE) as target:
        yield target


@pytest.fixture
async def projector_pool(runtime):
    pool = await create_projector_pool(runtime.url, runtime.settings)
    yield pool
    await pool.close()


async def settle(runner: ProjectionRunner, target: Target) -> None:
    """Rounds until no tenant is behind (one another runner held is taken up next round)."""
    for _ in range(1000):
        await runner.run_once()
        async with runner.pool.acquire() as conn:
            if not await tenants_behind(conn, target):
                return
    raise AssertionError("the runner never caught up")


async def test_the_runner_builds_the_rows_the_commands_wrote(
    campaigns, tree, clock, owner, beside, projector_pool
):
    # given campaigns, registrations, reports, pledges and an initiative written by commands
    tenants = await write_campaigns(campaigns, tree, clock)
    # when the runner applies the campaign projection, 50 events a batch, beside the live tables
    runner = ProjectionRunner(projector_pool, None, [BESIDE], batch_size=50, building_only=True)
    await settle(runner, beside)
    # then its rows are the rows the commands wrote, and its checkpoints are at the heads
    assert await rows_of(owner, SCHEMA, tenants) == await rows_of(owner, "public", tenants)
    behind = await owner.fetchval(
        "SELECT count(*) FROM projection_checkpoints c JOIN tenant_heads h USING (tenant_id) "
        "WHERE c.name = 'campaigns' AND c.version = $1 AND c.last_seq <> h.seq",
        beside.version,
    )
    assert behind == 0


async def test_a_caught_up_runner_refreshes_the_statistics_of_tables_it_filled(
    campaigns, tree, clock, owner, beside, projector_pool
):
    # given more events than the runner's threshold for refreshing statistics
    await write_campaigns(campaigns, tree, clock)
    runner = ProjectionRunner(
        projector_pool, None, [BESIDE], batch_size=50, building_only=True, analyze_after=100
    )
    # when it has applied them and caught up
    await settle(runner, beside)
    # then the planner knows how many rows its tables hold (ANALYZE ran; never analysed: -1)
    for table in ("campaign_pledges", "campaigns"):
        known = await owner.fetchval(
            "SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)", f"{SCHEMA}.{table}"
        )
        rows = await owner.fetchval(f"SELECT count(*) FROM {SCHEMA}.{table}")
        assert known == rows > 0


async def test_a_runner_lets_its_tenants_go_before_it_refreshes_their_statistics(
    campaigns, tree, clock, beside, projector_pool
):
    # given a runner that caught the tenants up and is refreshing its tables' statistics (an
    # ANALYZE of large tables: here held until the test lets it go)
    await write_campaigns(campaigns, tree, clock)
    runner = ProjectionRunner(projector_pool, None, [BESIDE], batch_size=50, building_only=True)
    analysing, let_go = asyncio.Event(), asyncio.Event()

    async def slow_refresh(target, applied):
        if not analysing.is_set():  # the first round's; the next one's is quick
            analysing.set()
            await let_go.wait()

    runner._refresh_statistics = slow_refresh
    first = asyncio.create_task(runner.run_once())
    try:
        await asyncio.wait_for(analysing.wait(), 60)
        # when a unit writes again and the next round runs
        await campaigns.register_initiative(
            officer(tree.cs1), title="Máy uốn tôn", authors=["Lê Văn Cường"]
        )
        await asyncio.wait_for(runner.run_once(), 60)
        # then its new event is applied while the first round is still refreshing
        async with projector_pool.acquire() as conn:
            assert await tenants_behind(conn, beside) == []
        assert not first.done()
    finally:
        let_go.set()
        await asyncio.wait_for(first, 60)


async def test_a_refresh_of_statistics_skips_a_table_another_session_holds(
    campaigns, tree, clock, owner, beside, projector_pool
):
    # given events to apply, and a session holding one of the projection's tables (as a VACUUM
    # would) so that an ANALYZE of it would wait
    await write_campaigns(campaigns, tree, clock)
    runner = ProjectionRunner(
        projector_pool, None, [BESIDE], batch_size=50, building_only=True, analyze_after=1
    )
    async with owner.transaction():
        await owner.execute(f"LOCK TABLE {SCHEMA}.campaigns IN SHARE UPDATE EXCLUSIVE MODE")
        # when the runner applies them and refreshes the statistics, then its round ends
        # while the table is still held (the table skipped), the tenants caught up
        await asyncio.wait_for(runner.run_once(), 60)
        async with projector_pool.acquire() as conn:
            assert await tenants_behind(conn, beside) == []
    # and the tables it could analyse, it did
    known = await owner.fetchval(
        "SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)", f"{SCHEMA}.campaign_pledges"
    )
    assert known > 0


def stalling(on_call: int, stall):
    """The campaign projection, whose ``on_call``-th batch applies its events and then stalls
    (``stall(conn)``) before the checkpoint is written."""
    calls = Counter()

    async def apply_then_stall(conn, registry, events):
        await apply(conn, registry, events)
        calls["n"] += 1
        if calls["n"] == on_call:
            await stall(conn)

    return dataclasses.replace(BESIDE, apply=apply_then_stall)


@pytest.mark.parametrize("kill", ["cancel the task", "terminate its connection"])
async def test_a_runner_killed_mid_batch_leaves_nothing_and_its_successor_applies_each_event_once(
    campaigns, tree, clock, owner, beside, projector_pool, kill
):
    tenants = await write_campaigns(campaigns, tree, clock)
    inside = asyncio.Event()
    pids: list[int] = []

    async def stall(conn):
        pids.append(conn.get_server_pid())
        inside.set()
        await conn.execute("SELECT pg_sleep(30)")

    # given a runner inside its third batch of a tenant, rows written, checkpoint not yet
    doomed = dataclasses.replace(beside, projection=stalling(3, stall))
    async with projector_pool.acquire() as conn:
        await add_checkpoints(conn, beside)
        for _ in range(2):
            assert await run_batch(conn, doomed, tree.upper1, 5)
    checkpoint = await owner.fetchval(
        "SELECT last_seq FROM projection_checkpoints WHERE name = 'campaigns' AND version = $1 "
        "AND tenant_id = $2",
        beside.version,
        tree.upper1,
    )

    async def third_batch():
        async with projector_pool.acquire() as conn:
            await run_batch(conn, doomed, tree.upper1, 5)

    task = asyncio.ensure_future(third_batch())
    await asyncio.wait_for(inside.wait(), 10)
    # when it is killed there
    if kill == "cancel the task":
        task.cancel()
    else:
        await owner.execute("SELECT pg_terminate_backend($1)", pids[0])
    with pytest.raises((asyncio.CancelledError, asyncpg.PostgresError, asyncpg.InterfaceError)):
        await task
    # then its batch left no row and did not move the checkpoint
    assert checkpoint == await owner.fetchval(
        "SELECT last_seq FROM projection_checkpoints WHERE name = 'campaigns' AND version = $1 "
        "AND tenant_id = $2",
        beside.version,
        tree.upper1,
    )
    # and a runner started after it ends with the rows a full rebuild gives
    runner = ProjectionRunner(projector_pool, None, [BESIDE], batch_size=100, building_only=True)
    await settle(runner, beside)
    assert await rows_of(owner, SCHEMA, tenants) == await rows_of(owner, "public", tenants)


async def test_two_runners_sharing_the_tenants_apply_each_event_once(
    campaigns, tree, clock, owner, beside, runtime
):
    tenants = await write_campaigns(campaigns, tree, clock)
    applied: Counter[tuple[str, int]] = Counter()

    async def counted(conn, registry, events):
        applied.update((e.tenant_id, e.seq) for e in events)
        await apply(conn, registry, events)

    projection = dataclasses.replace(BESIDE, apply=counted)
    pools = [await create_projector_pool(runtime.url, runtime.settings) for _ in range(2)]
    try:
        runners = [
            ProjectionRunner(pool, None, [projection], batch_size=3, building_only=True)
            for pool in pools
        ]
        # when both run at once over the same tenants
        await asyncio.gather(*(settle(r, beside) for r in runners))
    finally:
        for pool in pools:
            await pool.close()
    # then no event was applied twice, and the rows are the commands' rows
    assert applied and max(applied.values()) == 1
    assert await rows_of(owner, SCHEMA, tenants) == await rows_of(owner, "public", tenants)


def marker_projection() -> Projection:
    """A live projection of its own (no table): its checkpoints say how far it has come."""

    async def nothing(conn, stored, event) -> None:
        return None

    return Projection(
        f"test_{uuid.uuid4().hex[:8]}",
        1,
        PROJECTION.registry,
        handlers={"CampaignCreated": nothing},
        tables=(),
    )


async def test_wait_for_returns_once_projected_and_times_out_when_no_runner_runs(
    campaigns, tree, runtime, projector_pool
):
    projection = marker_projection()
    runner = ProjectionRunner(
        projector_pool, runtime.signal, [projection], poll_interval_s=0.2, batch_size=10
    )
    await runner.start()
    elsewhere = CheckpointPositions(projector_pool, [projection.name], poll_interval_s=0.05)
    try:
        # given a runner in this process: a command's position is projected, and waited for
        await seed_003(campaigns, tree.prov1, launch=False)
        head = (await runtime.store.head(tree.prov1)).seq
        assert await runner.wait_for(tree.prov1, head, timeout=10)
        assert await elsewhere.wait_for(tree.prov1, head, timeout=10)
    finally:
        await runner.stop()
    # when no runner runs, a new position is never passed: the wait gives up
    await seed_003(campaigns, tree.prov1, launch=False)
    head = (await runtime.store.head(tree.prov1)).seq
    assert not await elsewhere.wait_for(tree.prov1, head, timeout=0.3)
    assert not await runner.wait_for(tree.prov1, head, timeout=0.3)
    # and once a runner runs again (as another process's would), the poll sees it
    await runner.start()
    try:
        assert await elsewhere.wait_for(tree.prov1, head, timeout=10)
    finally:
        await runner.stop()


async def test_status_shows_the_lag_and_its_end(campaigns, tree, projector_pool):
    projection = marker_projection()
    runner = ProjectionRunner(projector_pool, None, [projection], batch_size=50)
    await runner.run_once()  # every tenant so far
    await seed_003(campaigns, tree.prov1, launch=False)
    async with projector_pool.acquire() as conn:
        # given events nobody projected yet
        from shared.projections import ensure_live

        await ensure_live(conn, [projection])
        (before,) = await projection_status(conn, [projection])
    assert before.state == "live" and before.version == 1
    assert before.tenants_behind >= 1 and before.lag_events >= 1 and before.lag_seconds > 0
    # when the runner has caught up
    while await runner.run_once():
        pass
    (after,) = await runner.status()
    # then nothing is behind, and the lag it measured is there, its own projection's
    assert (after.tenants_behind, after.lag_events, after.lag_seconds) == (0, 0, 0.0)
    assert after.p99_lag_seconds is not None
    assert runner.p99_lag(projection.name) == after.p99_lag_seconds
    assert runner.p99_lag("a projection it never applied") is None


async def test_the_projector_writes_any_units_rows_and_the_application_still_reads_only_its_reach(
    tree, runtime, projector_pool, owner
):
    work = uuid.uuid4()
    insert = (
        "INSERT INTO campaign_works (tenant_id, work_id, campaign_id, campaign_unit, name, kind, "
        "description, location, registered_on, status, version) VALUES "
        "($1, $2, $3, $4, 'Nhà văn hóa', 'work', '', '', $5, 'registered', 1)"
    )
    count = "SELECT count(*) FROM campaign_works WHERE work_id = $1"
    try:
        async with projector_pool.acquire() as conn:
            # when the projector, on behalf of no unit, writes a row of upper2
            await conn.execute(
                insert, tree.upper2, work, uuid.uuid4(), tree.prov1, date(2021, 3, 1)
            )
            # (it still cannot append to any log)
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("SELECT thidua_append('x', '{}', NULL, NULL)")
        # then upper2's parent reads it, its sibling does not, and may not write it either
        async with access.scope(runtime.pool, principal(tree.prov1, "officer")) as app:
            assert await app.fetchval(count, work) == 1
        async with access.scope(runtime.pool, principal(tree.upper1, "officer")) as app:
            assert await app.fetchval(count, work) == 0
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await app.execute(
                    insert, tree.upper2, uuid.uuid4(), uuid.uuid4(), tree.prov1, date(2021, 3, 1)
                )
    finally:
        await owner.execute("DELETE FROM campaign_works WHERE work_id = $1", work)


async def test_a_command_advances_an_inline_checkpoint_and_no_other(
    campaigns, tree, runtime, owner
):
    # given a command's events, and an inline projection of them named as the registry's
    await seed_003(campaigns, tree.upper1, launch=False)
    rows = await owner.fetch(
        "SELECT tenant_id, seq, stream_id, stream_version, event_type, schema_version, "
        "data::text AS data, meta::text AS meta, recorded_at, prev_hash, hash FROM events "
        "WHERE tenant_id = $1 ORDER BY seq",
        tree.upper1,
    )
    events = [StoredEvent.from_row(r) for r in rows]
    inline = dataclasses.replace(marker_projection(), name="registry", inline=True)
    # when the application applies them inline, in the unit's own transaction
    async with access.scope(runtime.pool, principal(tree.upper1, "officer")) as app:
        await apply_inline(app, inline, events)
    # then the live checkpoint is at the last of them
    last = max(e.seq for e in events if e.event_type == "CampaignCreated")
    assert last == await owner.fetchval(
        "SELECT c.last_seq FROM projection_checkpoints c JOIN projection_versions v "
        "USING (name, version) WHERE c.name = 'registry' AND v.state = 'live' "
        "AND c.tenant_id = $1",
        tree.upper1,
    )
    # and the application can move no checkpoint past the head, nor any other projection's
    refused = [
        (
            "SELECT thidua_advance_inline('registry', 1, $1, $2)",
            "past the head",
            events[-1].seq + 1,
        ),
        ("SELECT thidua_advance_inline('campaigns', 1, $1, $2)", "not applied inline", 1),
        ("UPDATE projection_checkpoints SET last_seq = $2 WHERE tenant_id = $1", "denied", 1),
    ]
    for statement, why, seq in refused:
        async with access.scope(runtime.pool, principal(tree.upper1, "officer")) as app:
            with pytest.raises(asyncpg.PostgresError, match=why):
                await app.execute(statement, tree.upper1, seq)


async def test_catch_up_reports_progress_up_to_the_heads(campaigns, tree, clock, beside, runtime):
    await write_campaigns(campaigns, tree, clock)
    seen: list[tuple[int, int]] = []
    await catch_up(
        runtime.projector_pool, beside, batch_size=50, progress=lambda *p: seen.append(p)
    )
    assert seen[-1][0] == seen[-1][1] > 0
