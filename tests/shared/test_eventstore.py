"""The event store, as a specification: given a log, when an append, then these rows (or this error,
and nothing written)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import asyncpg
import orjson
import pytest

from shared import canonical
from shared.errors import (
    ConcurrencyConflict,
    EventTooLarge,
    IdempotencyKeyReused,
    InvalidEventData,
    InvalidTenant,
    TooManyEvents,
)
from shared.eventstore import EventStore, NewEvent


def ev(stream: uuid.UUID, version: int, event_type: str = "ThingHappened", **data) -> NewEvent:
    return NewEvent(stream, version, event_type, data or {"n": version})


async def count(store: EventStore, tenant: str) -> int:
    # As the tenant: the log is under row-level security (shared/migrations/0010_dated_reach.sql)
    async with store.reading(tenant) as conn:
        return await conn.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", tenant)


async def test_first_append_starts_the_log_at_seq_1_chained_to_genesis(store, tenant):
    stream = uuid.uuid4()
    appended = await store.append(tenant, [ev(stream, 1), ev(stream, 2)], meta={"actor": "u1"})

    assert appended.seqs == [1, 2]
    log = await store.read_log(tenant)
    assert [e.seq for e in log] == [1, 2]
    assert log[0].prev_hash == canonical.GENESIS_HASH
    assert log[1].prev_hash == log[0].hash
    assert log[0].meta == {"actor": "u1"}
    head = await store.head(tenant)
    assert (head.seq, head.hash) == (2, log[1].hash)


async def test_the_database_hash_is_the_documented_python_hash(store, tenant):
    stream = uuid.uuid4()
    await store.append(tenant, [ev(stream, 1, title="Thi đua “Lao động giỏi”", n=-7)])
    [stored] = await store.read_log(tenant)

    body = canonical.dumps(
        canonical.content(
            tenant_id=tenant,
            stream_id=stream,
            stream_version=1,
            event_type="ThingHappened",
            schema_version=1,
            data={"title": "Thi đua “Lao động giỏi”", "n": -7},
            meta={},
        )
    )
    assert canonical.chain(canonical.GENESIS_HASH, 1, stored.recorded_at, body) == stored.hash


async def test_text_is_stored_in_nfc(store, tenant):
    decomposed = "Lao đ\u00f4\u0323ng tiên tiến"  # ộ written as ô + combining dot below
    await store.append(tenant, [ev(uuid.uuid4(), 1, name=decomposed)])
    [stored] = await store.read_log(tenant)
    assert stored.data["name"] == "Lao động tiên tiến"
    assert len(stored.data["name"]) == len("Lao động tiên tiến")


async def test_a_taken_stream_version_is_a_concurrency_conflict_and_writes_nothing(store, tenant):
    stream = uuid.uuid4()
    await store.append(tenant, [ev(stream, 1)])

    with pytest.raises(ConcurrencyConflict) as caught:
        await store.append(tenant, [ev(stream, 1, n=99)])
    assert caught.value.code == "CONCURRENCY_CONFLICT"
    assert await count(store, tenant) == 1
    assert (await store.head(tenant)).seq == 1


async def test_a_version_that_skips_ahead_of_the_stream_is_a_conflict(store, tenant):
    stream = uuid.uuid4()
    await store.append(tenant, [ev(stream, 1)])
    with pytest.raises(ConcurrencyConflict):
        await store.append(tenant, [ev(stream, 3)])
    with pytest.raises(ConcurrencyConflict):
        await store.append(tenant, [ev(uuid.uuid4(), 2)])  # a new stream starts at 1
    assert await count(store, tenant) == 1


async def test_fifty_concurrent_appends_at_the_same_version_one_wins(store, tenant):
    stream = uuid.uuid4()
    await store.append(tenant, [ev(stream, 1)])

    async def attempt(i: int):
        try:
            return await store.append(tenant, [ev(stream, 2, writer=i)])
        except ConcurrencyConflict as exc:
            return exc

    outcomes = await asyncio.gather(*(attempt(i) for i in range(50)))

    winners = [o for o in outcomes if not isinstance(o, ConcurrencyConflict)]
    assert len(winners) == 1
    assert sum(isinstance(o, ConcurrencyConflict) for o in outcomes) == 49
    log = await store.read_log(tenant)
    assert [e.seq for e in log] == [1, 2]
    assert log[1].seq == winners[0].last_seq
    assert len(await store.read_stream(tenant, stream)) == 2  # nothing lost, nothing duplicated


async def test_an_append_that_fails_half_way_writes_nothing(store, tenant):
    taken = uuid.uuid4()
    await store.append(tenant, [ev(taken, 1)])
    before = await store.head(tenant)
    fresh = uuid.uuid4()

    # The first two events are fine; the third collides with a stored version.
    with pytest.raises(ConcurrencyConflict):
        await store.append(tenant, [ev(fresh, 1), ev(fresh, 2), ev(taken, 1)])

    assert await count(store, tenant) == 1
    assert await store.head(tenant) == before
    assert await store.read_stream(tenant, fresh) == []


async def test_an_append_inside_a_transaction_that_rolls_back_leaves_no_trace(store, tenant):
    async with store.pool.acquire() as conn:
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await store.append(tenant, [ev(uuid.uuid4(), 1)], connection=conn)
                raise RuntimeError("the command failed after appending")
    assert await count(store, tenant) == 0
    await store.append(tenant, [ev(uuid.uuid4(), 1)])
    assert [e.seq for e in await store.read_log(tenant)] == [1]  # no gap left behind


async def test_a_repeated_idempotency_key_writes_one_set_of_events(store, tenant):
    first = await store.append(tenant, [ev(uuid.uuid4(), 1, x=1)], idempotency_key="req-42")
    again = await store.append(tenant, [ev(uuid.uuid4(), 1, x=1)], idempotency_key="req-42")

    assert not first.replayed and again.replayed
    assert again.seqs == first.seqs and again.hashes == first.hashes
    assert await count(store, tenant) == 1
    [stored] = await store.read_log(tenant)
    assert stored.meta["idempotency_key"] == "req-42"


async def test_concurrent_requests_with_one_idempotency_key_write_once(store, tenant):
    results = await asyncio.gather(
        *(store.append(tenant, [ev(uuid.uuid4(), 1, x=1)], idempotency_key="k") for _ in range(10))
    )
    assert sum(not r.replayed for r in results) == 1
    assert {tuple(r.seqs) for r in results} == {(1,)}
    assert await count(store, tenant) == 1


async def test_an_idempotency_key_reused_for_another_request_is_refused(store, tenant):
    await store.append(tenant, [ev(uuid.uuid4(), 1, x=1)], idempotency_key="k1")
    with pytest.raises(IdempotencyKeyReused) as caught:
        await store.append(tenant, [ev(uuid.uuid4(), 1, x=2)], idempotency_key="k1")
    assert caught.value.code == "IDEMPOTENCY_KEY_REUSED"
    assert await count(store, tenant) == 1


async def test_idempotency_keys_are_per_tenant(store, tenant):
    other = tenant + "-b"
    await store.append(tenant, [ev(uuid.uuid4(), 1, x=1)], idempotency_key="same")
    second = await store.append(other, [ev(uuid.uuid4(), 1, x=1)], idempotency_key="same")
    assert not second.replayed
    assert await count(store, other) == 1


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"when": date(2025, 1, 1)}, "$[0].data.when"),
        ({"ratio": 0.15}, "$[0].data.ratio"),
        ({"nested": [{"s": {1, 2}}]}, "$[0].data.nested[0].s"),
        ({"nul": "a\x00b"}, "$[0].data.nul"),
        ({"big": 2**70}, "$[0].data.big"),
        ({1: "non-string key"}, "$[0].data"),
        ({"lone": "\ud800"}, "$[0].data.lone"),
    ],
)
async def test_data_that_is_not_canonical_json_is_refused_and_nothing_written(
    store, tenant, data, path
):
    with pytest.raises(InvalidEventData) as caught:
        await store.append(tenant, [NewEvent(uuid.uuid4(), 1, "ThingHappened", data)])
    assert caught.value.code == "EVENT_DATA_INVALID"
    assert caught.value.context["path"] == path
    assert await count(store, tenant) == 0
    assert (await store.head(tenant)).seq == 0


async def test_an_event_over_the_size_limit_is_refused_and_nothing_written(store, tenant):
    limit = store.max_event_bytes
    fits = "x" * (limit - 400)
    await store.append(tenant, [ev(uuid.uuid4(), 1, text=fits)])

    with pytest.raises(EventTooLarge) as caught:
        await store.append(tenant, [ev(uuid.uuid4(), 1), ev(uuid.uuid4(), 1, text="y" * limit)])
    assert caught.value.code == "EVENT_TOO_LARGE"
    assert caught.value.context["limit"] == limit == 256 * 1024
    assert await count(store, tenant) == 1


@pytest.mark.parametrize(
    "bad", ["", "has space", "x" * 65, "-leading", "đơn-vị", None, "trailing\n", "a\x00"]
)
async def test_a_malformed_tenant_id_is_refused(store, bad):
    with pytest.raises(InvalidTenant):
        await store.append(bad, [ev(uuid.uuid4(), 1)])


@pytest.mark.parametrize(
    "event",
    [
        NewEvent(uuid.uuid4(), 1, "lowercase", {}),
        NewEvent(uuid.uuid4(), 1, "Has Space", {}),
        NewEvent("not-a-uuid", 1, "ThingHappened", {}),  # type: ignore[arg-type]
        NewEvent(["unhashable"], 1, "ThingHappened", {}),  # type: ignore[arg-type]
        NewEvent(uuid.uuid4(), 0, "ThingHappened", {}),
        NewEvent(uuid.uuid4(), 1, "ThingHappened", {}, schema_version=0),
        NewEvent(uuid.uuid4(), 1, "ThingHappened", ["not", "an", "object"]),  # type: ignore[arg-type]
    ],
)
async def test_malformed_events_are_refused(store, tenant, event):
    with pytest.raises(InvalidEventData):
        await store.append(tenant, [event])
    assert await count(store, tenant) == 0


async def test_versions_within_one_append_must_be_consecutive(store, tenant):
    stream = uuid.uuid4()
    with pytest.raises(InvalidEventData):
        await store.append(tenant, [ev(stream, 1), ev(stream, 3)])
    assert await count(store, tenant) == 0


async def test_too_many_events_in_one_append_are_refused(store, tenant):
    stream = uuid.uuid4()
    events = [ev(stream, v) for v in range(1, store.max_events_per_append + 2)]
    with pytest.raises(TooManyEvents):
        await store.append(tenant, events)
    assert await count(store, tenant) == 0


async def test_an_empty_append_is_refused(store, tenant):
    with pytest.raises(InvalidEventData):
        await store.append(tenant, [])


async def test_read_a_stream_up_to_a_version_or_a_moment(store, tenant):
    stream, other = uuid.uuid4(), uuid.uuid4()
    first = await store.append(tenant, [ev(stream, 1), ev(other, 1)])
    await asyncio.sleep(0.01)
    await store.append(tenant, [ev(stream, 2), ev(stream, 3)])

    assert [e.stream_version for e in await store.read_stream(tenant, stream)] == [1, 2, 3]
    assert [e.stream_version for e in await store.read_stream(tenant, stream, to_version=2)] == [
        1,
        2,
    ]
    after_1 = await store.read_stream(tenant, stream, after_version=1)
    assert [e.stream_version for e in after_1] == [2, 3]
    at_first = await store.read_stream(tenant, stream, until=first.recorded_at)
    assert [e.stream_version for e in at_first] == [1]
    before_all = first.recorded_at - timedelta(seconds=1)
    assert await store.read_stream(tenant, stream, until=before_all) == []


async def test_a_stream_is_read_only_within_its_tenant(store, tenant):
    stream = uuid.uuid4()
    await store.append(tenant, [ev(stream, 1)])
    assert await store.read_stream(tenant + "-other", stream) == []
    assert await store.read_log(tenant + "-other") == []


async def test_the_log_is_read_in_batches_after_a_seq(store, tenant):
    for v in range(1, 8):
        await store.append(tenant, [ev(uuid.uuid4(), 1, i=v)])
    assert [e.seq for e in await store.read_log(tenant, after_seq=3, limit=2)] == [4, 5]
    seqs = [e.seq async for e in store.iter_log(tenant, after_seq=1, batch_size=2)]
    assert seqs == [2, 3, 4, 5, 6, 7]


async def test_the_application_role_cannot_write_log_rows_except_by_appending(store, tenant):
    await store.append(tenant, [ev(uuid.uuid4(), 1)])
    async with store.pool.acquire() as conn:
        assert await conn.fetchval("SELECT current_user") == "thidua_app"
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(
                "INSERT INTO events SELECT tenant_id, 2, stream_id, 2, event_type, schema_version, "
                "data, meta, recorded_at, hash, hash FROM events WHERE tenant_id = $1",
                tenant,
            )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE tenant_heads SET seq = 0 WHERE tenant_id = $1", tenant)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE events SET data = '{}' WHERE tenant_id = $1", tenant)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM events WHERE tenant_id = $1", tenant)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("TRUNCATE events")
    assert await count(store, tenant) == 1


async def test_even_the_owner_cannot_update_or_delete_events_without_disabling_triggers(
    store, owner, tenant
):
    await store.append(tenant, [ev(uuid.uuid4(), 1)])
    for statement in (
        "UPDATE events SET data = '{}' WHERE tenant_id = $1",
        "DELETE FROM events WHERE tenant_id = $1",
    ):
        with pytest.raises(asyncpg.PostgresError, match="append-only") as caught:
            await owner.execute(statement, tenant)
        assert caught.value.sqlstate == "TD100"
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await owner.execute("TRUNCATE events")
    assert await count(store, tenant) == 1


async def test_the_application_role_cannot_reset_itself_back_to_the_owner(store):
    async with store.pool.acquire() as conn:
        await conn.execute("RESET ROLE")
        assert await conn.fetchval("SELECT current_user") == "thidua_app"
        assert await conn.fetchval("SELECT session_user") == "thidua_app"


async def test_the_application_role_cannot_shadow_our_tables_with_temporary_ones(store):
    async with store.pool.acquire() as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TEMP TABLE tenant_heads (tenant_id text, seq bigint)")


async def test_a_temporary_table_in_the_session_does_not_divert_appends(store, owner, tenant):
    await owner.execute(
        "CREATE TEMP TABLE tenant_heads (tenant_id text PRIMARY KEY, seq bigint, hash bytea, "
        "updated_at timestamptz)"
    )
    await owner.execute("INSERT INTO tenant_heads VALUES ($1, 99, '\\xdeadbeef', now())", tenant)
    payloads, _ = store._payloads(tenant, [ev(uuid.uuid4(), 1)], {})
    rows = await owner.fetch("SELECT * FROM thidua_append($1, $2, NULL, NULL)", tenant, payloads)
    assert [r["out_seq"] for r in rows] == [1]
    assert (await store.head(tenant)).seq == 1


@pytest.mark.parametrize(
    "forge",
    [
        lambda doc: {**doc, "extra": 1},
        lambda doc: {**doc, "stream_id": doc["stream_id"].upper()},
        lambda doc: {**doc, "tenant_id": "someone-else"},
        lambda doc: {k: v for k, v in doc.items() if k != "meta"},
    ],
)
async def test_a_payload_that_is_not_a_canonical_event_is_refused_by_the_database(
    store, tenant, forge
):
    """Whoever calls thidua_append directly cannot store a row that could never verify."""
    [payload], _ = store._payloads(tenant, [ev(uuid.uuid4(), 1)], {})
    forged = canonical.dumps(forge(orjson.loads(payload))).decode()
    async with store.pool.acquire() as conn:
        with pytest.raises(asyncpg.PostgresError) as caught:
            await conn.fetch("SELECT * FROM thidua_append($1, $2, NULL, NULL)", tenant, [forged])
    assert caught.value.sqlstate == "TD003"
    assert await count(store, tenant) == 0


async def test_each_streams_events_stand_together_in_an_append(store, tenant):
    a, b = uuid.uuid4(), uuid.uuid4()
    with pytest.raises(InvalidEventData, match="liền nhau"):
        await store.append(tenant, [ev(a, 1), ev(b, 1), ev(a, 2)])
    appended = await store.append(tenant, [ev(a, 1), ev(a, 2), ev(b, 1)])
    assert appended.seqs == [1, 2, 3]
    await store.append(tenant, [ev(b, 2), ev(a, 3), ev(a, 4)])  # continuing both is fine
    assert [e.stream_version for e in await store.read_stream(tenant, a)] == [1, 2, 3, 4]


@pytest.mark.parametrize("field", ["stream_version", "schema_version"])
async def test_versions_beyond_32_bits_are_refused_before_the_database(store, tenant, field):
    event = ev(uuid.uuid4(), 1)
    big = NewEvent(**{**{f: getattr(event, f) for f in event.__slots__}, field: 2**31})
    with pytest.raises(InvalidEventData):
        await store.append(tenant, [big])


async def test_two_spellings_of_one_key_are_refused_not_merged(store, tenant):
    composed, decomposed = "Việt", "Vie\u0323\u0302t"
    with pytest.raises(InvalidEventData, match="NFC"):
        await store.append(tenant, [ev(uuid.uuid4(), 1, **{composed: 1, decomposed: 2})])
    assert await count(store, tenant) == 0


async def test_a_conflict_names_the_streams_of_the_append(store, tenant):
    taken, fresh = uuid.uuid4(), uuid.uuid4()
    await store.append(tenant, [ev(taken, 1)])
    with pytest.raises(ConcurrencyConflict) as caught:
        await store.append(tenant, [ev(fresh, 1), ev(taken, 1)])
    assert caught.value.context["streams"] == sorted([str(taken), str(fresh)])


async def test_many_new_logs_open_at_once_and_chain_like_any_append(store, owner, tenant):
    from shared import audit

    tenants = [f"{tenant}-{i}" for i in range(3)]
    opened = await store.open_logs([(t, ev(uuid.uuid4(), 1, i=i)) for i, t in enumerate(tenants)])
    assert opened == 3
    for t in tenants:
        verdict = await audit.verify_tenant(owner, t)
        assert verdict.ok and verdict.count == 1
    # The next append continues each chain.
    appended = await store.append(tenants[0], [ev(uuid.uuid4(), 1)])
    assert appended.seqs == [2]


async def test_opening_a_log_that_is_already_open_opens_none(store, tenant):
    await store.append(tenant, [ev(uuid.uuid4(), 1)])
    fresh = f"{tenant}-new"
    with pytest.raises(ConcurrencyConflict):
        await store.open_logs([(fresh, ev(uuid.uuid4(), 1)), (tenant, ev(uuid.uuid4(), 1))])
    assert await count(store, fresh) == 0
    assert await count(store, tenant) == 1
    with pytest.raises(InvalidEventData):
        await store.open_logs([(fresh, ev(uuid.uuid4(), 2))])
    assert await count(store, fresh) == 0
