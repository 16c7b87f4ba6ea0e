"""Rebuilding a projection without downtime (shared/projection_rebuild.py): version N+1 is built
beside the live tables while commands keep writing, then swapped in; readers never meet empty
tables, and the tables keep their reach."""

# ruff: noqa: F811  (pytest fixtures, imported by name and requested by argument)

from __future__ import annotations

import asyncio
import uuid
from contextlib import suppress

from services.campaign.projections import PROJECTION, TABLES
from shared import access
from shared.eventstore import StoredEvent
from shared.projection_rebuild import begin, rebuild
from shared.projections import Projection, ProjectionRunner, ensure_live
from tests.campaign.conftest import (  # noqa: F401  (fixtures)
    campaigns,
    clock,
    officer,
    registry,
    seed_003,
    tree,
)
from tests.registry.conftest import principal
from tests.shared.test_projections import rows_of, write_campaigns

POLICIES = (
    "SELECT tablename, policyname, cmd, roles::text, qual, with_check FROM pg_policies "
    "WHERE schemaname = 'public' ORDER BY tablename, policyname"
)
NAMING = """
CREATE TABLE test_naming_campaigns (campaign_id uuid);
ALTER TABLE test_naming_campaigns ENABLE ROW LEVEL SECURITY;
CREATE POLICY naming_campaigns ON test_naming_campaigns FOR SELECT TO thidua_app USING (
    EXISTS (SELECT 1 FROM campaigns c WHERE c.campaign_id = test_naming_campaigns.campaign_id));
"""
GRANTS = (
    "SELECT table_name, grantee, privilege_type FROM information_schema.role_table_grants "
    "WHERE table_schema = 'public' AND table_name = ANY ($1::text[]) ORDER BY 1, 2, 3"
)


async def replay(owner, tenants: list[str]) -> None:
    """The tenants' rows as a replay of their logs from the start makes them (as the owner)."""
    for table in TABLES:
        await owner.execute(f"DELETE FROM {table} WHERE tenant_id = ANY ($1::text[])", tenants)
    rows = await owner.fetch(
        "SELECT tenant_id, seq, stream_id, stream_version, event_type, schema_version, "
        "data::text AS data, meta::text AS meta, recorded_at, prev_hash, hash FROM events "
        "WHERE tenant_id = ANY ($1::text[]) AND event_type = ANY ($2::text[]) "
        "ORDER BY tenant_id, seq",
        tenants,
        PROJECTION.event_types,
    )
    await PROJECTION.project(owner, [StoredEvent.from_row(r) for r in rows])


async def test_a_rebuild_while_commands_write_swaps_in_the_rows_of_a_fresh_rebuild(
    campaigns, tree, clock, owner, runtime
):
    # given campaigns written, and the tables' policies and grants
    tenants = await write_campaigns(campaigns, tree, clock)
    province = await owner.fetchval(
        "SELECT campaign_id FROM campaigns WHERE tenant_id = $1", tree.prov1
    )
    # (and a table of another service whose policy names a campaign table)
    await owner.execute(NAMING)
    policies = [tuple(r) for r in await owner.fetch(POLICIES)]
    grants = [tuple(r) for r in await owner.fetch(GRANTS, list(TABLES))]
    await ensure_live(owner, [PROJECTION])
    live = await owner.fetchval(
        "SELECT version FROM projection_versions WHERE name = 'campaigns' AND state = 'live'"
    )
    writing = True
    written = 0
    wrote = asyncio.Event()
    seen: list[tuple[int, int]] = []

    async def write() -> None:
        nonlocal written
        while writing:
            await campaigns.register_initiative(
                officer(tree.cs1),
                title=f"Sáng kiến {written}",
                authors=["Lê Văn Cường"],
                campaign_id=province,
            )
            written += 1
            wrote.set()

    async def until_written(count: int) -> None:
        while written < count:
            wrote.clear()
            await asyncio.wait(
                [tasks[0], asyncio.ensure_future(wrote.wait())], return_when="FIRST_COMPLETED"
            )
            if tasks[0].done():
                tasks[0].result()  # the writer failed: say why

    async def read() -> None:
        while writing:
            async with access.scope(runtime.pool, principal(tree.prov1, "officer")) as app:
                seen.append(
                    (
                        await app.fetchval(
                            "SELECT count(*) FROM campaigns WHERE campaign_id = $1", province
                        ),
                        await app.fetchval(
                            "SELECT count(*) FROM campaign_pledges WHERE campaign_id = $1",
                            province,
                        ),
                    )
                )

    tasks = [asyncio.ensure_future(write()), asyncio.ensure_future(read())]
    progress: list[tuple[int, int]] = []
    try:
        # when the projection is rebuilt while a unit keeps recording initiatives
        await until_written(3)
        before = written
        done = await rebuild(
            owner,
            runtime.projector_pool,
            PROJECTION,
            batch_size=50,
            progress=lambda *p: progress.append(p),
        )
        await until_written(before + 3)  # and after the swap
    finally:
        writing = False
        for task in tasks:
            with suppress(asyncio.CancelledError):
                await task
    # then no reader ever saw the campaign or its pledges missing
    assert seen and all(row == (1, 120) for row in seen), set(seen)
    # and the build passed every event the logs held when it began (the swap applied the rest)
    assert 0 < before < written and progress and progress[-1][0] >= progress[0][1]
    # and version N+1 is live, N retired, nothing left beside
    assert done.version == live + 1
    states = dict(
        await owner.fetch("SELECT version, state FROM projection_versions WHERE name = 'campaigns'")
    )
    assert states[live] == "retired" and states[done.version] == "live"
    assert not await owner.fetchval(
        "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'thidua_next%' "
        "OR nspname = 'thidua_retired' AND EXISTS (SELECT 1 FROM pg_class "
        "WHERE relnamespace = pg_namespace.oid)"
    )
    # and the tables keep every policy and grant they had (those naming them included)
    assert [tuple(r) for r in await owner.fetch(POLICIES)] == policies
    assert [tuple(r) for r in await owner.fetch(GRANTS, list(TABLES))] == grants
    assert await owner.fetchval(
        "SELECT count(*) FROM pg_depend d JOIN pg_policy p ON p.oid = d.objid "
        "WHERE p.polname = 'naming_campaigns' AND d.refobjid = 'public.campaigns'::regclass"
    )
    await owner.execute("DROP TABLE test_naming_campaigns")
    # and their rows are the rows of a fresh rebuild from the logs
    rows = await rows_of(owner, "public", tenants)
    assert f"Sáng kiến {written - 1}" in rows["campaign_initiatives"]
    tx = owner.transaction()
    await tx.start()
    try:
        await replay(owner, tenants)
        assert await rows_of(owner, "public", tenants) == rows
    finally:
        await tx.rollback()


async def test_a_rebuild_beside_a_running_runner_leaves_each_event_applied_once(
    campaigns, tree, owner, runtime
):
    # given a live projection of its own table, kept by a runner while campaigns are created
    table = f"test_marks_{uuid.uuid4().hex[:8]}"
    await owner.execute(
        f"CREATE TABLE {table} (tenant_id text, seq bigint, PRIMARY KEY (tenant_id, seq))"
    )
    await owner.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO thidua_projector")

    async def mark(conn, stored, event) -> None:
        await conn.execute(f"INSERT INTO {table} VALUES ($1, $2)", stored.tenant_id, stored.seq)

    marked = ("CampaignCreated", "PhaseAdded")
    projection = Projection(
        table, 1, PROJECTION.registry, handlers=dict.fromkeys(marked, mark), tables=(table,)
    )
    runner = ProjectionRunner(runtime.projector_pool, runtime.signal, [projection], batch_size=5)
    await runner.start()
    created = 0

    async def create() -> None:
        nonlocal created
        while created < 12:
            await seed_003(campaigns, tree.prov1, launch=False)
            created += 1

    writer = asyncio.ensure_future(create())
    try:
        # when its next version is built and swapped in meanwhile
        done = await rebuild(owner, runtime.projector_pool, projection, batch_size=5)
        await writer
        head = (await runtime.store.head(tree.prov1)).seq
        # then the runner follows the new version, and every event is in the table once
        assert await runner.wait_for(tree.prov1, head, timeout=30)
    finally:
        writer.cancel()
        await runner.stop()
    assert done.version == 2
    expected = await owner.fetch(
        "SELECT e.tenant_id, e.seq FROM events e JOIN tenant_heads h USING (tenant_id) "
        "WHERE e.event_type = ANY ($1::text[]) AND e.seq <= h.seq ORDER BY 1, 2",
        list(marked),
    )
    assert await owner.fetch(f"SELECT tenant_id, seq FROM {table} ORDER BY 1, 2") == expected
    assert sum(1 for r in expected if r["tenant_id"] == tree.prov1) == 12 * 3
    await owner.execute(f"DROP TABLE {table}")


async def test_a_version_being_built_is_behind_by_design_and_never_counted_as_lag(
    campaigns, tree, owner, runtime
):
    # Given a live projection of its own table, and events it has not seen
    table = f"test_marks_{uuid.uuid4().hex[:8]}"
    await owner.execute(f"CREATE TABLE {table} (tenant_id text, seq bigint)")
    await owner.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO thidua_projector")

    async def mark(conn, stored, event) -> None:
        await conn.execute(f"INSERT INTO {table} VALUES ($1, $2)", stored.tenant_id, stored.seq)

    projection = Projection(
        table, 1, PROJECTION.registry, handlers={"CampaignCreated": mark}, tables=(table,)
    )
    async with runtime.projector_pool.acquire() as conn:
        await ensure_live(conn, [projection])
    await seed_003(campaigns, tree.prov1, launch=False)
    # When its next version is built by a runner of building versions only
    await begin(owner, projection)
    runner = ProjectionRunner(
        runtime.projector_pool, None, [projection], batch_size=50, building_only=True
    )
    while await runner.run_once():
        pass
    # Then it applied the log from the start, and measured no lag
    assert runner.applied > 0
    assert runner.p99_lag(projection.name) is None
