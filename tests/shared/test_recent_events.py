"""The projection runner reads the events this process appended lately from memory
(shared/eventstore.py ``RecentEvents``), not from the log, which would turn their stored JSON
back into text: the same events, by their hashes; an append rolled back, whose seqs another
writer took, is read from the log."""

from __future__ import annotations

import uuid

import orjson
import pytest

from shared.db import create_projector_pool
from shared.eventstore import EventStore, NewEvent, RecentEvents
from shared.projections import Projection, ProjectionRunner, ensure_live
from tests.shared.sample_domain import build_registry


def text(n: int, size: int = 10) -> str:
    return orjson.dumps({"data": {"n": n, "x": "ă" * size}, "meta": {"actor": "t"}}).decode()


def kept(tenant: str, first: int, count: int, budget: int = 10_000) -> RecentEvents:
    recent = RecentEvents(budget)
    seqs = list(range(first, first + count))
    recent.add(tenant, seqs, [bytes([s]) for s in seqs], [text(s) for s in seqs])
    return recent


def test_an_event_is_taken_with_its_hash_and_not_with_another():
    recent = kept("a", 5, 3)
    assert recent.span("a") == (5, 7) and recent.span("b") is None
    assert recent.take("a", 6, bytes([6]))["data"]["n"] == 6
    assert recent.take("a", 6, bytes([9])) is None  # the log holds another event there
    assert recent.take("a", 8, bytes([8])) is None and recent.take("b", 6, bytes([6])) is None


def test_the_next_append_extends_the_run_and_one_past_a_gap_starts_another():
    recent = kept("a", 5, 3)
    recent.add("a", [8, 9], [bytes([8]), bytes([9])], [text(8), text(9)])
    assert recent.span("a") == (5, 9)
    recent.add("a", [20], [bytes([20])], [text(20)])  # another writer appended 10-19
    assert recent.span("a") == (20, 20) and recent.take("a", 9, bytes([9])) is None


def test_seqs_taken_again_after_a_rollback_replace_what_was_kept_from_there():
    recent = kept("a", 5, 5)
    recent.add("a", [7], [b"new"], [text(70)])
    assert recent.span("a") == (5, 7)
    assert recent.take("a", 7, b"new")["data"]["n"] == 70
    assert recent.take("a", 6, bytes([6]))["data"]["n"] == 6


def test_past_its_budget_the_oldest_tenants_go_first_then_the_oldest_events():
    probe = RecentEvents(10**9)
    probe.add("x", [1], [b"1"], [text(1, 100)])
    one = probe.size  # what one such event costs to keep
    recent = RecentEvents(10 * one)
    recent.add("old", [1, 2], [b"1", b"2"], [text(1, 100), text(2, 100)])
    hashes, texts = [bytes([s]) for s in range(1, 9)], [text(s, 100) for s in range(1, 9)]
    recent.add("new", list(range(1, 9)), hashes, texts)
    assert recent.span("old") == (1, 2) and recent.size == 10 * one
    recent.add("new", [9], [bytes([9])], [text(9, 100)])
    assert recent.span("old") is None and recent.span("new") == (1, 9)
    recent.add("new", [10, 11], [bytes([10]), bytes([11])], [text(10, 100), text(11, 100)])
    first, last = recent.span("new")
    assert last == 11 and first > 1 and recent.size <= 10 * one
    assert recent.take("new", 11, bytes([11]))["data"]["n"] == 11

    # An append larger than the whole budget is not kept, and pushes nothing out
    recent.add("big", list(range(1, 12)), [b"b"] * 11, [text(s, 100) for s in range(1, 12)])
    assert recent.span("big") is None and recent.span("new") == (first, 11)


@pytest.fixture
async def projector_pool(runtime):
    pool = await create_projector_pool(runtime.url, runtime.settings)
    yield pool
    await pool.close()


def recording(seen: list[tuple[str, int, dict, dict]]) -> Projection:
    """A projection that keeps no rows: it notes each event it is given, with its data."""

    async def apply(conn, registry, events) -> None:
        seen.extend((e.tenant_id, e.seq, e.data, e.meta) for e in events)

    async def nothing(conn, stored, event) -> None:
        return None

    name = f"test_recent_{uuid.uuid4().hex[:8]}"
    handlers = {"NoteTaken": nothing}
    return Projection(name, 1, build_registry(), handlers=handlers, tables=(), apply=apply)


async def logged(pool, tenant: str) -> list[tuple[str, int, dict, dict]]:
    rows = await pool.fetch(
        "SELECT seq, data::text AS data, meta::text AS meta FROM events WHERE tenant_id = $1 "
        "AND event_type = 'NoteTaken' ORDER BY seq",
        tenant,
    )
    return [(tenant, r["seq"], orjson.loads(r["data"]), orjson.loads(r["meta"])) for r in rows]


def notes(stream: uuid.UUID, first: int, *texts: str) -> list[NewEvent]:
    return [
        NewEvent(stream, first + k, "NoteTaken", {"text": t, "n": first + k})
        for k, t in enumerate(texts)
    ]


async def projected(projector_pool, recent: RecentEvents, tenant: str) -> list:
    """What a new projection's runner, given ``recent``, applied of the tenant's events."""
    seen: list = []
    projection = recording(seen)
    async with projector_pool.acquire() as conn:
        await ensure_live(conn, [projection])
    runner = ProjectionRunner(projector_pool, None, [projection], batch_size=100, recent=recent)
    while await runner.run_once():
        pass
    return [s for s in seen if s[0] == tenant]


async def test_the_runner_reads_what_this_process_appended_from_memory(
    runtime, projector_pool, owner
):
    # Given notes appended by a store that keeps what it appends
    store = EventStore(runtime.pool, recent=RecentEvents(10**6))
    tenant, stream = f"r-{uuid.uuid4().hex[:8]}", uuid.uuid4()
    await store.append(tenant, notes(stream, 1, "Ghi chép một", "Hai"), meta={"actor": "a"})
    await store.append(tenant, notes(stream, 3, "Ba"), meta={"actor": "b"})

    # When its runner projects them
    mine = await projected(projector_pool, store.recent, tenant)

    # Then it was given the log's events, data and meta alike, read from memory
    assert mine == await logged(owner, tenant)
    assert [s[2]["text"] for s in mine] == ["Ghi chép một", "Hai", "Ba"]
    assert store.recent.taken == 3


async def test_an_append_rolled_back_and_its_seq_taken_by_another_writer_is_read_from_the_log(
    runtime, projector_pool, owner
):
    # Given an append of this process rolled back, after its events were kept
    store = EventStore(runtime.pool, recent=RecentEvents(10**6))
    tenant, stream = f"r-{uuid.uuid4().hex[:8]}", uuid.uuid4()
    await store.append(tenant, notes(stream, 1, "Một"), meta={"actor": "a"})
    async with runtime.pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await store.append(tenant, notes(stream, 2, "Bị hủy"), meta={"actor": "a"}, connection=conn)
        await transaction.rollback()
    # ...and the same seq then taken by another process's writer (a store of its own)
    await EventStore(runtime.pool).append(tenant, notes(stream, 2, "Của nơi khác"), meta={})

    # When this process's runner projects them
    mine = await projected(projector_pool, store.recent, tenant)

    # Then the second event is the log's, not the one rolled back
    assert mine == await logged(owner, tenant)
    assert [s[2]["text"] for s in mine] == ["Một", "Của nơi khác"]
    assert store.recent.taken == 1  # the first, kept with the log's hash
