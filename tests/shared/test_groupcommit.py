"""Group commit: appends that arrive together share one statement and one commit, and each still
gets its own seqs, its own chain links and its own answer."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import asyncpg
import pytest

from shared import audit
from shared.errors import ConcurrencyConflict
from shared.eventstore import EventStore, NewEvent


def one(stream: uuid.UUID, version: int, **data) -> list[NewEvent]:
    return [NewEvent(stream, version, "ThingHappened", data or {"v": version})]


async def test_appends_arriving_together_commit_in_one_batch_and_each_chain_verifies(
    store: EventStore, owner, tenant
):
    tenants = [f"{tenant}-{i:02d}" for i in range(12)]
    before = store.group.stats.batched
    streams = {t: uuid.uuid4() for t in tenants}
    for version in range(1, 6):
        results = await asyncio.gather(
            *(store.append(t, one(streams[t], version)) for t in tenants)
        )
        assert [r.seqs for r in results] == [[version]] * len(tenants)
    assert store.group.stats.batched - before >= len(tenants)  # not one by one
    for t in tenants:
        verdict = await audit.verify_tenant(owner, t)
        assert verdict.ok and verdict.count == 5


async def test_several_appends_of_one_tenant_in_a_batch_take_consecutive_seqs(
    store: EventStore, owner, tenant
):
    results = await asyncio.gather(
        *(store.append(tenant, one(uuid.uuid4(), 1, n=n)) for n in range(20))
    )
    assert sorted(r.last_seq for r in results) == list(range(1, 21))
    rows = await owner.fetch(
        "SELECT seq, recorded_at FROM events WHERE tenant_id = $1 ORDER BY seq", tenant
    )
    assert [r["seq"] for r in rows] == list(range(1, 21))
    assert len({r["recorded_at"] for r in rows}) < 20  # some did share a commit
    assert (await audit.verify_tenant(owner, tenant)).ok


async def test_many_tenants_arriving_together_split_into_two_statements_at_a_tenant_edge(
    store: EventStore, owner, tenant
):
    # Two statements side by side: one executes while the other waits for its flush.
    tenants = [f"{tenant}-{i}" for i in range(8)]
    before = store.group.stats.batches
    await asyncio.gather(
        *(store.append(t, one(uuid.uuid4(), 1, n=n)) for t in tenants for n in range(2))
    )
    assert store.group.stats.batches - before == 2
    # Each statement commits in its own transaction; the clock could give both one microsecond.
    rows = await owner.fetch(
        "SELECT tenant_id, xmin::text AS tx FROM events WHERE tenant_id = ANY ($1)", tenants
    )
    statements = {}
    for row in rows:
        statements.setdefault(row["tenant_id"], set()).add(row["tx"])
    assert all(len(txs) == 1 for txs in statements.values())  # never split
    assert len(set().union(*statements.values())) == 2


async def test_one_tenants_appends_arriving_together_stay_in_one_statement(
    store: EventStore, tenant
):
    # Split, they would only queue on the tenant's head lock.
    before = store.group.stats.batches
    await asyncio.gather(*(store.append(tenant, one(uuid.uuid4(), 1, n=n)) for n in range(10)))
    assert store.group.stats.batches - before == 1


async def test_a_statement_keeps_its_connection_while_appends_keep_coming(
    store: EventStore, owner, tenant
):
    tenants = [f"{tenant}-{i:02d}" for i in range(16)]
    before = dataclasses.replace(store.group.stats)

    async def writer(t: str) -> None:
        stream = uuid.uuid4()
        for version in range(1, 21):
            await store.append(t, one(stream, version))

    await asyncio.gather(*(writer(t) for t in tenants))
    batches = store.group.stats.batches - before.batches
    checkouts = store.group.stats.checkouts - before.checkouts
    assert batches >= 20
    assert checkouts * 4 <= batches  # not a checkout a batch
    for t in tenants:
        assert (await audit.verify_tenant(owner, t)).count == 20


async def test_a_refused_append_fails_alone_and_the_rest_of_its_batch_is_written(
    store: EventStore, owner, tenant
):
    taken = uuid.uuid4()
    await store.append(tenant, one(taken, 1))
    retried = store.group.stats.retried
    others = [f"{tenant}-ok{i}" for i in range(6)]
    outcomes = await asyncio.gather(
        *(store.append(t, one(uuid.uuid4(), 1)) for t in others),
        store.append(tenant, one(taken, 1)),  # version 1 is taken: a conflict
        store.append(tenant, one(uuid.uuid4(), 3)),  # a stream that has no version 2
        return_exceptions=True,
    )
    assert all(not isinstance(o, BaseException) for o in outcomes[:6])
    assert isinstance(outcomes[6], ConcurrencyConflict)
    assert isinstance(outcomes[7], ConcurrencyConflict)
    assert store.group.stats.retried > retried
    assert await owner.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", tenant) == 1
    for t in others:
        assert (await audit.verify_tenant(owner, t)).count == 1


@pytest.mark.parametrize(
    ("tenants", "counts", "why"),
    [
        (["b", "a"], [1, 1], "tenants out of order"),
        (["a", "b"], [1], "fewer counts than appends"),
        (["a", "b"], [2, 1], "counts that do not add up"),
        (["a", "b"], [0, 2], "an append with no events"),
    ],
)
async def test_the_batch_function_refuses_a_malformed_batch_and_writes_nothing(
    store: EventStore, owner, tenant, tenants, counts, why
):
    named = [f"{tenant}-{t}" for t in tenants]
    payloads = []
    for t in sorted(set(named)):
        [payload], _ = store._payloads(t, one(uuid.uuid4(), 1), {})
        payloads.append(payload)
    with pytest.raises(asyncpg.PostgresError) as caught:
        await store.pool.fetch(
            "SELECT * FROM thidua_append_batch($1, $2, $3)", named, counts, payloads
        )
    assert caught.value.sqlstate == "TD003", why
    assert (
        await owner.fetchval("SELECT count(*) FROM events WHERE tenant_id LIKE $1", tenant + "-%")
        == 0
    )


async def test_the_batch_function_refuses_an_event_named_for_another_tenant(
    store: EventStore, owner, tenant
):
    [payload], _ = store._payloads(f"{tenant}-other", one(uuid.uuid4(), 1), {})
    with pytest.raises(asyncpg.PostgresError) as caught:
        await store.pool.fetch(
            "SELECT * FROM thidua_append_batch($1, $2, $3)", [tenant], [1], [payload]
        )
    assert caught.value.sqlstate == "TD003"
    assert await owner.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", tenant) == 0


async def test_the_batch_function_refuses_a_stream_that_skips_ahead_and_writes_nothing(
    store: EventStore, owner, tenant
):
    stream = uuid.uuid4()
    await store.append(tenant, one(stream, 1))
    other = f"{tenant}-other"

    def payload(t: str, version: int, s: uuid.UUID) -> str:
        [text], _ = store._payloads(t, one(s, version), {})
        return text

    batch = "SELECT * FROM thidua_append_batch($1, $2, $3)"
    with pytest.raises(asyncpg.PostgresError) as caught:
        await store.pool.fetch(
            batch, [tenant, other], [1, 1], [payload(tenant, 3, stream), payload(other, 1, stream)]
        )
    assert caught.value.sqlstate == "TD001"
    assert await owner.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", other) == 0
    assert (await store.head(tenant)).seq == 1

    row = await store.pool.fetchrow(
        batch, [tenant, other], [1, 1], [payload(tenant, 2, stream), payload(other, 1, stream)]
    )
    assert row["out_seqs"] == [2, 1]
    assert (await audit.verify_tenant(owner, tenant)).count == 2
