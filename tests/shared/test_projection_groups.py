"""The runner applies the batches of many tenants in one transaction (shared/projections.py
``run_batches``): sixteen writers' single events cost one projector commit, not sixteen; a
tenant whose batch fails is retried alone, and the others still advance."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import date

import pytest

from shared import projections
from shared.aggregates import Repository
from shared.db import create_projector_pool
from shared.eventstore import NewEvent
from shared.projections import Projection, ProjectionRunner, ensure_live, survey, targets_of
from tests.shared.sample_domain import Notebook, build_registry

WRITERS = 6
NOTES = 2


class Broken(Exception):
    pass


@pytest.fixture
async def projector_pool(runtime):
    pool = await create_projector_pool(runtime.url, runtime.settings)
    yield pool
    await pool.close()


def notebook_projection(applied: list[tuple[int, list[tuple[str, int]]]], broken: set[str]):
    """A projection of notebooks that keeps no rows: it notes which transaction applied which
    events, and fails on a tenant of ``broken``."""

    async def apply(conn, registry, events) -> None:
        if any(e.tenant_id in broken for e in events):
            raise Broken("this tenant's events cannot be applied")
        applied.append(
            (await conn.fetchval("SELECT txid_current()"), [(e.tenant_id, e.seq) for e in events])
        )

    async def nothing(conn, stored, event) -> None:
        return None

    registry = build_registry()
    handlers = {"NotebookOpened": nothing, "NoteWritten": nothing}
    name = f"test_groups_{uuid.uuid4().hex[:8]}"
    return Projection(name, 1, registry, handlers=handlers, tables=(), apply=apply)


async def caught_up(runner: ProjectionRunner) -> None:
    while await runner.run_once():
        pass


async def write_notebooks(runtime) -> dict[str, int]:
    """Notebooks with notes in tenants of their own: each tenant's head."""
    repository = Repository(runtime.store, build_registry())
    heads = {}
    prefix = f"g{uuid.uuid4().hex[:8]}"
    for n in range(WRITERS):
        tenant = f"{prefix}-{n}"
        notebook = Notebook(title="Sổ tay", owner=uuid.uuid4(), opened_on=date(2026, 1, 1))
        for i in range(NOTES):
            notebook.write(f"Ghi chép {i}")
        heads[tenant] = (await repository.save(tenant, notebook)).last_seq
    return heads


async def checkpoints(pool, projection: Projection, tenants) -> dict[str, int]:
    rows = await pool.fetch(
        "SELECT tenant_id, last_seq FROM projection_checkpoints WHERE name = $1 AND version = 1 "
        "AND tenant_id = ANY ($2::text[])",
        projection.name,
        list(tenants),
    )
    return {r["tenant_id"]: r["last_seq"] for r in rows}


async def test_one_transaction_applies_every_waiting_tenants_batch_with_its_checkpoint(
    runtime, projector_pool
):
    applied: list[tuple[int, list[tuple[str, int]]]] = []
    projection = notebook_projection(applied, broken=set())
    runner = ProjectionRunner(projector_pool, None, [projection], batch_size=100)
    async with projector_pool.acquire() as conn:
        await ensure_live(conn, [projection])
    await caught_up(runner)  # what other tests wrote before
    applied.clear()
    # given six writers' notebooks, each in its own tenant, none projected yet
    heads = await write_notebooks(runtime)
    # when the runner runs a round
    await runner.run_once()
    # then one transaction applied every one of their events, in each tenant's order
    assert len(applied) == 1
    [(_, events)] = applied
    assert {tenant for tenant, _ in events} == set(heads)
    assert len(events) == WRITERS * (1 + NOTES)
    assert events == sorted(events)
    # and every checkpoint is at its tenant's head
    assert await checkpoints(projector_pool, projection, heads) == heads


async def test_a_tenant_whose_batch_fails_holds_back_no_other(runtime, projector_pool):
    applied: list[tuple[int, list[tuple[str, int]]]] = []
    broken: set[str] = set()
    projection = notebook_projection(applied, broken)
    runner = ProjectionRunner(projector_pool, None, [projection], batch_size=100)
    async with projector_pool.acquire() as conn:
        await ensure_live(conn, [projection])
    await caught_up(runner)
    # given six tenants' events, one of which the projection cannot apply
    heads = await write_notebooks(runtime)
    bad = sorted(heads)[2]
    broken.add(bad)
    # when the runner runs a round
    await runner.run_once()
    # then the others are applied up to their heads, and none of the bad one's events is
    after = await checkpoints(projector_pool, projection, heads)
    assert {t: s for t, s in after.items() if t != bad} == {
        t: s for t, s in heads.items() if t != bad
    }
    assert after[bad] == 0
    # and once it can be applied, the next round applies it, once
    broken.clear()
    applied.clear()
    await runner.run_once()
    assert await checkpoints(projector_pool, projection, heads) == heads
    assert [tenant for _, events in applied for tenant, _ in events] == [bad] * (1 + NOTES)


async def test_a_round_over_many_new_tenants_passes_them_all_with_fresh_statistics(
    runtime, projector_pool, monkeypatch
):
    # a projection none of whose events the notebooks are: every tenant is new to it, and none
    # has anything for it to apply (an import's units, for the campaigns' projection)
    applied: list[tuple[int, list[tuple[str, int]]]] = []
    projection = notebook_projection(applied, broken=set())
    projection = Projection(
        projection.name, 1, projection.registry, handlers={"NothingHappened": None}, tables=()
    )
    runner = ProjectionRunner(projector_pool, None, [projection], batch_size=100)
    heads = await write_notebooks(runtime)
    monkeypatch.setattr("shared.projections.ANALYZE_PAST", 3)
    async with projector_pool.acquire() as conn:
        await ensure_live(conn, [projection])
    analyzed = await _analyze_count(projector_pool)
    # when one round runs
    assert await runner.run_once() == 0
    # then every checkpoint is at its tenant's head, passed without a batch each
    assert await checkpoints(projector_pool, projection, heads) == heads
    assert applied == []
    # and the table's statistics were taken again after the rows the round added (the next
    # round is planned for their number, not for the few there were before). Counted by the
    # server's own tally of ANALYZE runs: the estimate itself moves with the other tests'
    # runners, which add and retire checkpoints of their own meanwhile.
    assert await _analyze_count(projector_pool) > analyzed


async def _analyze_count(pool) -> int:
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        return await conn.fetchval(
            "SELECT analyze_count FROM pg_stat_all_tables "
            "WHERE relid = 'projection_checkpoints'::regclass"
        )


async def test_a_round_for_the_tenants_that_grew_leaves_the_others_to_the_full_survey(
    runtime, projector_pool
):
    applied: list[tuple[int, list[tuple[str, int]]]] = []
    projection = notebook_projection(applied, broken=set())
    runner = ProjectionRunner(projector_pool, None, [projection], batch_size=100)
    async with projector_pool.acquire() as conn:
        await ensure_live(conn, [projection])
    await caught_up(runner)
    # given six tenants' new events, of which the signal named one
    heads = await write_notebooks(runtime)
    named = sorted(heads)[0]
    # when a round runs for the tenant named
    await runner.run_once({named})
    # then that tenant is applied to its head, and no other is touched
    after = await checkpoints(projector_pool, projection, heads)
    assert after[named] == heads[named]
    assert all(after.get(t, 0) == 0 for t in heads if t != named)
    # and the next full survey applies the rest
    await runner.run_once()
    assert await checkpoints(projector_pool, projection, heads) == heads


async def test_an_append_while_its_tenant_is_being_applied_is_applied_without_the_poll(
    runtime, projector_pool
):
    """A round reads a tenant's head, then applies up to it. An append meanwhile wakes a second
    round, which finds the tenant held by the first; once the first is done the tenant is
    surveyed again, rather than left for the full survey of the next poll interval."""
    tenant = f"held-{uuid.uuid4().hex[:8]}"
    hold = {"on": False}
    holding, go_on = asyncio.Event(), asyncio.Event()

    async def apply(conn, registry, events) -> None:
        if hold["on"] and any(e.tenant_id == tenant for e in events):
            hold["on"] = False
            holding.set()
            await go_on.wait()

    async def nothing(conn, stored, event) -> None:
        return None

    registry = build_registry()
    handlers = {"NotebookOpened": nothing, "NoteWritten": nothing}
    projection = Projection(
        f"test_held_{uuid.uuid4().hex[:8]}", 1, registry, handlers=handlers, tables=(), apply=apply
    )
    async with projector_pool.acquire() as conn:
        await ensure_live(conn, [projection])
    # a poll interval far longer than the test: only the signal and the runner's own
    # bookkeeping can bring the new events in
    runner = ProjectionRunner(
        projector_pool, runtime.signal, [projection], batch_size=100, poll_interval_s=600
    )
    repository = Repository(runtime.store, build_registry())

    async def opened() -> int:
        notebook = Notebook(title="Sổ tay", owner=uuid.uuid4(), opened_on=date(2026, 1, 1))
        return (await repository.save(tenant, notebook)).last_seq

    first = await opened()
    await runner.start()
    try:
        assert await runner.wait_for(tenant, first, 30)
        # given a round applying the tenant's next event, held in the middle of its batch
        hold["on"] = True
        await opened()
        await asyncio.wait_for(holding.wait(), 30)
        # when another event is appended meanwhile, and the round is let go
        last = await opened()
        await asyncio.sleep(0.2)  # the append's own round has run and found the tenant held
        go_on.set()
        # then the last event is applied too, long before any poll
        assert await runner.wait_for(tenant, last, 30)
    finally:
        go_on.set()
        await runner.stop()


def test_a_round_for_many_grown_tenants_surveys_them_all(projector_pool, monkeypatch):
    # the narrowed survey's generic plan expects a few tenants: past the bound, a full one
    monkeypatch.setattr("shared.projections.GROWN_AT_MOST", 3)
    runner = ProjectionRunner(projector_pool, object(), [], batch_size=100, poll_interval_s=600)
    runner._surveyed_all = time.monotonic()
    runner._grown.clear()
    runner._grown.update({"a", "b", "c"})
    assert runner._take_grown() == {"a", "b", "c"}
    runner._grown.update({"a", "b", "c", "d"})
    assert runner._take_grown() is None


async def test_one_survey_serves_every_projection_of_a_round_each_by_its_own_event_types(
    runtime, projector_pool
):
    """A round surveys all its projections in one statement: each is told of its own tenants
    behind, and a projection none of whose events arrived is passed to the heads unapplied."""
    counted: list[tuple[int, list[tuple[str, int]]]] = []
    concerned = notebook_projection(counted, broken=set())
    skipped: list[tuple[str, int]] = []

    async def never(conn, registry, events) -> None:
        skipped.extend((e.tenant_id, e.seq) for e in events)

    async def nothing(conn, stored, event) -> None:
        return None

    unconcerned = Projection(
        f"test_unconcerned_{uuid.uuid4().hex[:8]}",
        1,
        build_registry(),
        handlers={"NotebookShelved": nothing},
        tables=(),
        apply=never,
    )
    runner = ProjectionRunner(projector_pool, None, [concerned, unconcerned], batch_size=100)
    async with projector_pool.acquire() as conn:
        await ensure_live(conn, [concerned, unconcerned])
    before = await write_notebooks(runtime)
    await caught_up(runner)
    counted.clear()
    # given new events in six tenants both follow, of a kind one projection reads and not the
    # other
    heads = {
        tenant: (
            await runtime.store.append(tenant, [NewEvent(uuid.uuid4(), 1, "NoteWritten", {})])
        ).last_seq
        for tenant in before
    }
    # when they are surveyed, in one statement for both
    async with projector_pool.acquire() as conn:
        targets = await targets_of(conn, [concerned, unconcerned])
        by_name = dict(
            zip([t.name for t in targets], await survey(conn, targets, set(heads)), strict=True)
        )
    # then the first is told its tenants are behind, to their heads, and passes none; the second
    # is passed to the heads, and nothing of it is behind
    assert by_name[concerned.name] == ([], sorted(heads.items()))
    assert sorted(by_name[unconcerned.name][0]) == sorted(heads.items())
    assert by_name[unconcerned.name][1] == []
    assert await checkpoints(projector_pool, unconcerned, heads) == heads
    # and a round applies every event to the first, none to the second
    await runner.run_once(set(heads))
    assert sorted(pair for _, pairs in counted for pair in pairs) == sorted(heads.items())
    assert skipped == []
    assert await checkpoints(projector_pool, concerned, heads) == heads


async def test_a_round_surveys_only_once_another_rounds_survey_is_done(runtime, projector_pool):
    """The checkpoints a survey passes stay locked to its end: a second round's batch meanwhile
    would skip a tenant it found behind and leave its new event to a survey of every tenant.
    The runner's rounds take their surveys in turn."""
    counted: list[tuple[int, list[tuple[str, int]]]] = []
    projection = notebook_projection(counted, broken=set())
    runner = ProjectionRunner(projector_pool, None, [projection], batch_size=100)
    async with projector_pool.acquire() as conn:
        await ensure_live(conn, [projection])
    in_flight, most = 0, 0
    surveyed = projections.survey

    async def watched(conn, targets, grown=None):
        nonlocal in_flight, most
        if projection.name not in [t.name for t in targets]:  # the server's own runner
            return await surveyed(conn, targets, grown)
        in_flight += 1
        most = max(most, in_flight)
        try:
            await asyncio.sleep(0.05)
            return await surveyed(conn, targets, grown)
        finally:
            in_flight -= 1

    heads = await write_notebooks(runtime)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(projections, "survey", watched)
        await asyncio.gather(runner.run_once(set(heads)), runner.run_once(set(heads)))
    assert most == 1
    await caught_up(runner)
    assert await checkpoints(projector_pool, projection, heads) == heads


async def test_a_restarted_runner_looks_at_every_tenant_first(runtime, projector_pool):
    """What was appended while a runner was stopped woke nobody; its first round after a start
    surveys every tenant, not only those a signal names (the next survey of every tenant of a
    large union is up to 30 s away)."""
    counted: list[tuple[int, list[tuple[str, int]]]] = []
    projection = notebook_projection(counted, broken=set())
    async with projector_pool.acquire() as conn:
        await ensure_live(conn, [projection])
    runner = ProjectionRunner(
        projector_pool, runtime.signal, [projection], batch_size=100, poll_interval_s=600
    )
    # given a runner that ran, surveyed every tenant a moment ago (which took it 10 s), and
    # stopped
    await runner.start()
    for _ in range(500):
        if runner._surveyed_all:
            break
        await asyncio.sleep(0.01)
    await runner.stop()
    runner._surveyed_all, runner._full_survey_s = time.monotonic(), 10.0
    # when notebooks are written while it is stopped, and it starts again
    heads = await write_notebooks(runtime)
    await runner.start()
    try:
        # then their events are applied at once
        for _ in range(500):
            if await checkpoints(projector_pool, projection, heads) == heads:
                break
            await asyncio.sleep(0.01)
        assert await checkpoints(projector_pool, projection, heads) == heads
    finally:
        await runner.stop()
