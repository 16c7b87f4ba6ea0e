"""Many tenants writing at once: every log stays gapless and verifiable, and a follower of the log
misses nothing, also when a slow writer commits after a faster one."""

from __future__ import annotations

import asyncio
import random
import time
import uuid

import asyncpg

from shared import audit
from shared.eventstore import EventStore, NewEvent
from shared.signal import CHANNEL, EVERY, LogSignal, follow

TENANTS = 16
SECONDS = 3.0


async def _writer(store: EventStore, tenant: str, stop_at: float, rng: random.Random) -> int:
    """Appends 1–5 events at a time until ``stop_at``; some appends are "slow": they append inside
    a transaction and hold it open before committing, while the fast writers queue behind."""
    stream, version, written = uuid.uuid4(), 0, 0
    while time.monotonic() < stop_at:
        size = rng.randint(1, 5)
        events = [
            NewEvent(stream, version + i, "ThingHappened", {"i": version + i})
            for i in range(1, size + 1)
        ]
        if rng.random() < 0.1:
            async with store.pool.acquire() as conn:
                async with conn.transaction():
                    appended = await store.append(tenant, events, connection=conn)
                    await asyncio.sleep(rng.uniform(0.005, 0.03))
                store.announce(tenant, appended.last_seq)
        else:
            await store.append(tenant, events)
        version += size
        written += size
    return written


async def _fast_writer(store: EventStore, tenant: str, stop_at: float) -> int:
    written = 0
    while time.monotonic() < stop_at:
        await store.append(tenant, [NewEvent(uuid.uuid4(), 1, "ThingHappened", {"fast": True})])
        written += 1
    return written


async def _follower(store, signal, tenant: str, seen: list[int]) -> None:
    async for event in follow(store, signal, tenant, batch_size=7, poll_interval_s=0.2):
        seen.append(event.seq)


async def _until(condition, within: float) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "followers did not catch up"
        await asyncio.sleep(0.01)


async def test_sixteen_tenants_appending_at_once_keep_gapless_verified_logs(runtime, owner):
    store, signal = runtime.store, runtime.signal
    tenants = [f"c-{uuid.uuid4().hex[:8]}-{i}" for i in range(TENANTS)]
    rng = random.Random(2026)
    stop_at = time.monotonic() + SECONDS

    totals: dict[str, int] = {}
    seen: dict[str, list[int]] = {t: [] for t in tenants}
    followers = [asyncio.create_task(_follower(store, signal, t, seen[t])) for t in tenants]

    async def write_tenant(tenant: str) -> None:
        # Two writers per tenant: one that is sometimes slow to commit, one always fast.
        counts = await asyncio.gather(
            _writer(store, tenant, stop_at, random.Random(rng.random())),
            _fast_writer(store, tenant, stop_at),
        )
        totals[tenant] = sum(counts)

    await asyncio.gather(*(write_tenant(t) for t in tenants))
    try:
        await _until(lambda: all(len(seen[t]) >= totals[t] for t in tenants), within=30)
    finally:
        for task in followers:
            task.cancel()

    grand_total = 0
    for tenant in tenants:
        total = totals[tenant]
        grand_total += total
        head = await store.head(tenant)
        assert head.seq == total
        seqs = await owner.fetch("SELECT seq FROM events WHERE tenant_id = $1 ORDER BY seq", tenant)
        assert [r["seq"] for r in seqs] == list(range(1, total + 1)), "a gap in the log"
        assert seen[tenant] == list(range(1, total + 1)), "the follower missed or reordered"
        verdict = await audit.verify_tenant(owner, tenant)
        assert verdict.ok, verdict.describe()
    print(f"{grand_total} events by {TENANTS} tenants")
    assert grand_total > TENANTS * 20  # the run really wrote concurrently


async def test_a_follower_waits_for_a_slow_writer_rather_than_skipping_its_seq(runtime, tenant):
    store, signal = runtime.store, runtime.signal
    seen: list[int] = []
    follower = asyncio.create_task(_follower(store, signal, tenant, seen))

    async with store.pool.acquire() as slow:
        transaction = slow.transaction()
        await transaction.start()
        await store.append(
            tenant, [NewEvent(uuid.uuid4(), 1, "ThingHappened", {})], connection=slow
        )
        # A faster writer now queues behind the slow one's lock: it cannot take seq 1, nor
        # commit seq 2 before seq 1 is committed.
        fast = asyncio.create_task(
            store.append(tenant, [NewEvent(uuid.uuid4(), 1, "ThingHappened", {})])
        )
        await asyncio.sleep(0.3)
        assert not fast.done()
        assert seen == []
        await transaction.commit()
    await fast
    try:
        await _until(lambda: len(seen) >= 2, within=5)
    finally:
        follower.cancel()
    assert seen == [1, 2]


async def test_another_process_is_woken_by_a_coalesced_notify_not_by_polling(runtime, tenant):
    """A second signal on its own connection stands in for another process: it learns of the
    appends through one NOTIFY per interval, well before its poll interval would have passed."""
    other = LogSignal(runtime.pool, interval_s=0.005)
    await other.listen(runtime.url)
    notifies: list[str] = []
    counter = await asyncpg.connect(runtime.url)
    await counter.add_listener(CHANNEL, lambda *args: notifies.append(args[-1]))
    try:
        seen: list[int] = []

        async def follow_elsewhere():
            async for event in follow(runtime.store, other, tenant, poll_interval_s=30):
                seen.append(event.seq)

        follower = asyncio.create_task(follow_elsewhere())
        await asyncio.sleep(0.1)  # the follower has read the empty log and waits
        started = time.monotonic()
        for _ in range(20):
            await runtime.store.append(tenant, [NewEvent(uuid.uuid4(), 1, "ThingHappened", {})])
        await _until(lambda: len(seen) == 20, within=5)
        assert time.monotonic() - started < 5  # long before the 30 s poll
        assert seen == list(range(1, 21))
        assert 1 <= len(notifies) < 20  # coalesced: fewer notifications than appends
        assert tenant in notifies[-1]  # naming the tenants that grew, with their last seq
        follower.cancel()
    finally:
        await counter.close()
        await other.aclose()


async def test_a_subscriber_learns_which_tenants_grew_here_and_in_another_process(runtime, tenant):
    """The projection runner surveys only the tenants the signal names: those appended in this
    process at once, those of another process from its NOTIFY; a notification that names none
    (its payload too long) says that something grew, which is every tenant."""
    other = LogSignal(runtime.pool, interval_s=0.005)
    await other.listen(runtime.url)
    here: set[str] = set()
    elsewhere: set[str] = set()
    also: set[str] = set()  # an equal set of a second subscriber: each keeps its own
    try:
        with runtime.signal.subscription(here), other.subscription(elsewhere):
            with other.subscription(also):
                await runtime.store.append(tenant, [NewEvent(uuid.uuid4(), 1, "ThingHappened", {})])
                assert here == {tenant}
                await _until(lambda: tenant in elsewhere, within=5)
            assert also == {tenant}
            other._on_notify(None, 0, CHANNEL, "{}")
            assert EVERY in elsewhere and EVERY not in also
    finally:
        await other.aclose()


async def test_a_process_is_not_woken_again_by_the_echo_of_its_own_notification(runtime, tenant):
    """An append wakes this process's followers at once; the NOTIFY it sends for the others
    comes back to its own listener, and waking them again for it would cost a round that finds
    nothing to do. Another process is still woken by it."""
    other = LogSignal(runtime.pool, interval_s=0.005)
    await other.listen(runtime.url)
    notifies: list[str] = []
    counter = await asyncpg.connect(runtime.url)
    await counter.add_listener(CHANNEL, lambda *args: notifies.append(args[-1]))
    here: set[str] = set()
    elsewhere: set[str] = set()
    try:
        with runtime.signal.subscription(here), other.subscription(elsewhere):
            await runtime.store.append(tenant, [NewEvent(uuid.uuid4(), 1, "ThingHappened", {})])
            assert here == {tenant}
            here.clear()
            await _until(lambda: tenant in elsewhere and notifies, within=5)
            await asyncio.sleep(0.2)  # every listener has had the notification by now
            assert here == set()
            # and the same words from another backend (another process) do wake it
            await counter.execute("SELECT pg_notify($1, $2)", CHANNEL, notifies[-1])
            await _until(lambda: tenant in here, within=5)
    finally:
        await counter.close()
        await other.aclose()
