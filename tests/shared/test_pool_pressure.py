"""Many more commands than pooled connections: every one finishes, none waits without end, and
a snapshot is used only while it matches its stream's events.

Given a pool of POOL connections, when 4 × POOL commands load existing aggregates at once, then
all of them succeed: a command does everything on the one connection it holds, so commands
cannot wait on each other for a second one. The ``asyncio.wait_for`` bounds are liveness bounds
(the old code never finished), not timing assertions.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date

import pytest

from services.campaign.commands import commands_of
from services.gateway.runtime import Runtime
from services.registry.commands import commands_of as registry_commands_of
from shared import access, aggregates
from shared.aggregates import Repository
from shared.commands import Attempt, Pipeline
from shared.db import ServiceBusy
from shared.eventstore import NewEvent
from shared.settings import Settings
from tests.registry.conftest import Tree, principal, registry, tree  # noqa: F401  (fixtures)
from tests.shared.sample_domain import Notebook, build_registry

POOL = 4
LIVENESS_S = 60


async def started(settings: Settings, **changes) -> Runtime:
    return await Runtime.start(settings.model_copy(update={"pool_min_size": 1, **changes}))


@pytest.fixture
async def small(settings: Settings) -> AsyncIterator[Runtime]:
    """A second runtime on the session's database, with a pool of POOL connections (and a
    checkout bound long enough that, however slow the machine, only a hang exceeds it)."""
    runtime = await started(settings, pool_max_size=POOL, pool_acquire_timeout_s=LIVENESS_S)
    try:
        yield runtime
    finally:
        await runtime.close()


async def test_four_times_the_pool_of_commands_on_existing_initiatives_all_finish(
    runtime,
    small,
    tree,  # noqa: F811  (the fixture)
    owner,
):
    # Given 4 × POOL initiatives of one grassroots unit
    officer = principal(tree.cs1, "officer")
    setup = commands_of(runtime)
    ids = [
        await setup.register_initiative(officer, title=f"Sáng kiến số {n}", authors=["Lê Văn An"])
        for n in range(4 * POOL)
    ]
    commands = commands_of(small)

    async def recognise(initiative_id: uuid.UUID) -> None:
        await commands.recognise_initiative(
            officer, initiative_id, benefit_vnd=50_000_000, applied_at=["Phân xưởng 1"]
        )

    # When each is recognised at once, on the small pool
    await asyncio.wait_for(asyncio.gather(*map(recognise, ids)), LIVENESS_S)

    # Then every one was, and the pool serves the next request as before
    recognised = await owner.fetchval(
        "SELECT count(*) FROM campaign_initiatives WHERE tenant_id = $1 AND benefit_vnd > 0",
        tree.cs1,
    )
    assert recognised == 4 * POOL
    async with access.scope(small.pool, officer) as conn:
        assert await conn.fetchval("SELECT count(*) FROM campaign_initiatives") == 4 * POOL


async def test_four_times_the_pool_of_registry_commands_all_finish(
    registry,  # noqa: F811  (the fixture)
    small,
    tree,  # noqa: F811
    owner,
):
    # Given 4 × POOL grassroots units under one upper unit
    units = [f"{tree.prefix}-cs-{n}" for n in range(4 * POOL)]
    for unit_id in units:
        await registry.register(
            None,
            unit_id=unit_id,
            name=f"Công đoàn cơ sở số {unit_id[-2:]}",
            level="grassroots",
            sector_type="DN nhà nước",
            parent_id=tree.upper1,
            effective_on=date(2024, 1, 1),
        )
    commands = registry_commands_of(small)
    admin = principal(tree.upper1, "admin")

    # When each is renamed at once, on the small pool (registry writers also queue on a lock)
    renames = (commands.rename(admin, u, f"CĐCS đổi tên {u[-2:]}") for u in units)
    await asyncio.wait_for(asyncio.gather(*renames), LIVENESS_S)

    # Then every rename is in the read model
    renamed = await owner.fetchval(
        "SELECT count(*) FROM units WHERE tenant_id = ANY($1::text[]) AND name LIKE 'CĐCS đổi%'",
        units,
    )
    assert renamed == 4 * POOL


async def test_a_request_that_finds_no_free_connection_in_time_is_refused_as_busy(settings):
    # Given a pool of one connection, held by a request
    runtime = await started(settings, pool_max_size=1, pool_acquire_timeout_s=0.2)
    try:
        async with access.scope(runtime.pool, None):
            # When another request needs a connection
            with pytest.raises(ServiceBusy) as refused:
                await asyncio.wait_for(access.scope(runtime.pool, None).__aenter__(), LIVENESS_S)
        # Then it is refused with a code a client can retry on, and nothing stays stuck
        assert (refused.value.code, refused.value.http_status) == ("SERVICE_BUSY", 503)
        assert refused.value.message.startswith("Máy chủ đang bận, vui lòng thử lại sau.")
        async with access.scope(runtime.pool, None) as conn:
            assert await conn.fetchval("SELECT 1") == 1
    finally:
        await runtime.close()


async def test_a_statement_past_the_statement_timeout_is_cancelled_and_answers_busy(settings):
    runtime = await started(settings, pool_max_size=2, statement_timeout_s=0.1)
    try:
        with pytest.raises(ServiceBusy):
            async with access.scope(runtime.pool, None) as conn:
                await asyncio.wait_for(conn.execute("SELECT pg_sleep(30)"), LIVENESS_S)
        async with access.scope(runtime.pool, None) as conn:
            assert await conn.fetchval("SELECT 1") == 1
    finally:
        await runtime.close()


async def test_appends_that_find_no_free_connection_fail_as_busy_and_later_ones_succeed(
    settings, tenant
):
    # Given a pool whose one connection is held
    runtime = await started(settings, pool_max_size=1, pool_acquire_timeout_s=0.2)
    try:
        store = runtime.store
        appends = [
            store.append(f"{tenant}-{n}", [NewEvent(uuid.uuid4(), 1, "Opened", {})])
            for n in range(3)
        ]
        async with runtime.pool.acquire():
            # When appends arrive together (one batch for the group commit)
            answers = await asyncio.wait_for(
                asyncio.gather(*appends, return_exceptions=True), LIVENESS_S
            )
        # Then each is refused as busy, none waits for good, and the next append goes in
        assert [type(a) for a in answers] == [ServiceBusy] * 3
        appended = await store.append(tenant, [NewEvent(uuid.uuid4(), 1, "Opened", {})])
        assert appended.seqs == [1]
    finally:
        await runtime.close()


# --- snapshots, checked against the log --------------------------------------------------------
# Loads and saves run as a command's do: in a transaction scoped to the unit (row-level security
# lets it read its own log, snapshots and idempotency keys).


@pytest.fixture
def repo(store) -> Repository:
    return Repository(store, build_registry(), snapshot_every=5)


def as_unit(store, tenant: str):
    return access.scope(store.pool, principal(tenant, "officer"))


async def notebook_with_a_snapshot(repo: Repository, tenant: str) -> Notebook:
    notebook = Notebook(title="Sổ tay", owner=uuid.uuid4(), opened_on=date(2025, 1, 15))
    for n in range(6):
        notebook.write(f"ghi chú {n}", points=1)
    async with as_unit(repo.store, tenant) as conn:
        await repo.save(tenant, notebook, connection=conn)  # version 7: a snapshot at 7
    return notebook


TAMPERING = {
    "state edited": "UPDATE snapshots SET state = jsonb_set(state, '{points}', '1000')",
    "version moved": "UPDATE snapshots SET stream_version = 3",
    "version beyond the log": "UPDATE snapshots SET stream_version = 9",
    "digest cleared": "UPDATE snapshots SET digest = ''::bytea",
}


@pytest.mark.parametrize("tampering", TAMPERING)
async def test_a_snapshot_that_does_not_match_its_streams_events_is_ignored_and_counted(
    repo, store, owner, tenant, tampering
):
    # Given an aggregate whose snapshot was then changed behind the application's back
    notebook = await notebook_with_a_snapshot(repo, tenant)
    assert await owner.fetchval("SELECT count(*) FROM snapshots WHERE tenant_id = $1", tenant) == 1
    await owner.execute(TAMPERING[tampering] + " WHERE tenant_id = $1", tenant)
    ignored = aggregates.snapshot_stats.ignored

    # When a command of the unit loads it
    async with as_unit(store, tenant) as conn:
        loaded = await repo.get(tenant, notebook.id, connection=conn)

    # Then it is what the log says, and the ignored snapshot is counted
    assert (loaded.version, loaded.points, loaded.notes) == (7, 6, notebook.notes)
    assert aggregates.snapshot_stats.ignored == ignored + 1


async def test_an_untouched_snapshot_loads_without_being_counted(repo, store, tenant):
    notebook = await notebook_with_a_snapshot(repo, tenant)
    ignored = aggregates.snapshot_stats.ignored
    async with as_unit(store, tenant) as conn:
        loaded = await repo.get(tenant, notebook.id, connection=conn)
    assert (loaded.version, loaded.points) == (7, 6)
    assert aggregates.snapshot_stats.ignored == ignored


# --- a command on its caller's connection (shared/commands.py run_in_transaction) ---------------


async def test_a_command_on_the_callers_connection_decides_a_conflict_again_in_its_transaction(
    repo, store, tenant
):
    # Given a notebook, and a caller that holds one scoped connection in a transaction
    notebook = Notebook(title="Sổ tay", owner=uuid.uuid4(), opened_on=date(2025, 1, 15))
    async with as_unit(store, tenant) as conn:
        await repo.save(tenant, notebook, connection=conn)
    notebooks = Pipeline(store.pool, store, retries=3, check_cache=True).service(build_registry())
    attempts = 0

    async def write_a_note(attempt: Attempt) -> None:
        nonlocal attempts
        attempts += 1
        loaded = await attempt.get(notebook.id)
        if attempts == 1:  # someone else writes between our load and our save
            async with as_unit(store, tenant) as theirs:
                other = await repo.get(tenant, notebook.id, connection=theirs)
                other.write("người khác ghi trước")
                await repo.save(tenant, other, connection=theirs)
        loaded.write("ghi chú của tôi")
        attempt.save(loaded)

    # When a command runs on that connection and meets a conflict
    async with as_unit(store, tenant) as conn:
        await notebooks.run_in_transaction(
            principal(tenant, "officer"), "WriteNote", write_a_note, connection=conn
        )

    # Then the conflict was decided again in the same transaction, which then committed
    assert attempts == 2
    async with as_unit(store, tenant) as conn:
        final = await repo.get(tenant, notebook.id, connection=conn)
    assert final.notes == ["người khác ghi trước", "ghi chú của tôi"]
