"""Appends per second: the event store beside its floor and its peer, measured in the same run.

    .venv/bin/pip install -e '.[test,bench]' && .venv/bin/python tests/perf/bench_store.py [SECONDS] [ROUNDS]

Every figure comes from the same PostgreSQL server (the embedded one, started here, or
THIDUA_BENCH_DATABASE_URL), with 16 writers:

- ours:  ``EventStore.append`` (canonical JSON, per-tenant head lock, hash chain; appends that
         arrive together share one statement and one commit: shared/groupcommit.py) with all 16
         writers in 1 tenant, and with 16 tenants writing at once (one writer each);
- floor: plain asyncpg inserts of the same rows into an equivalent table, same indexes, no chain
         and no lock, over 16 connections;
- peer:  the eventsourcing library's own PostgresApplicationRecorder (psycopg binary) over 16
         threads.

Targets (issue 2): at 16 tenants and 1 event per append, at least 10x the peer and at least 65%
of the floor. Everything runs on uvloop when it is installed, as the server does.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
import orjson

from shared.db import EmbeddedPostgres, create_pool, owner_connection
from shared.eventstore import EventStore, NewEvent
from shared.migrate import migrate
from shared.settings import Settings

WRITERS = 16
SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 3


def payload(i: int) -> dict:
    return {
        "campaign": "3f0a6c1e-1b2d-4e5f-8a9b-0c1d2e3f4a5b",
        "unit": "cdcs-dien-luc-ninh-binh",
        "content": "Thi đua lao động giỏi, lao động sáng tạo, chào mừng Đại hội Công đoàn các cấp",
        "target": 1200,
        "n": i,
    }


async def timed(writer, seconds: float) -> int:
    stop = time.monotonic() + seconds
    counts = await asyncio.gather(*(writer(w, stop) for w in range(WRITERS)))
    return sum(counts)


async def bench_ours(store: EventStore, per_append: int, tenants: int, seconds: float) -> float:
    run = uuid.uuid4().hex[:6]

    async def writer(w: int, stop: float) -> int:
        tenant = f"bench-{run}-{w % tenants}"
        stream, version, done = uuid.uuid4(), 0, 0
        while time.monotonic() < stop:
            events = [
                NewEvent(stream, version + k, "TargetRegistered", payload(version + k))
                for k in range(1, per_append + 1)
            ]
            await store.append(tenant, events, meta={"actor": f"writer-{w}"})
            version += per_append
            done += 1
        return done

    return await timed(writer, seconds) / seconds


async def bench_db_only(store: EventStore, url: str, per_append: int, seconds: float) -> float:
    """The append statement alone, payloads made in advance, on held connections: how much of
    ours is the database's share (the rest is the Python path: canonical JSON, pool, result)."""
    run = uuid.uuid4().hex[:6]
    conns = [await asyncpg.connect(url) for _ in range(WRITERS)]
    for conn in conns:
        await conn.execute("SET ROLE thidua_app")

    async def writer(w: int, stop: float) -> int:
        tenant, stream, version, done = f"dbonly-{run}-{w}", uuid.uuid4(), 0, 0
        while time.monotonic() < stop:
            events = [
                NewEvent(stream, version + k, "TargetRegistered", payload(version + k))
                for k in range(1, per_append + 1)
            ]
            payloads, _ = store._payloads(tenant, events, {"actor": f"writer-{w}"})
            await conns[w].fetch(
                "SELECT * FROM thidua_append($1, $2, NULL, NULL)", tenant, payloads
            )
            version += per_append
            done += 1
        return done

    try:
        return await timed(writer, seconds) / seconds
    finally:
        for c in conns:
            await c.close()


FLOOR_TABLE = """
CREATE TABLE IF NOT EXISTS floor_events (LIKE events INCLUDING DEFAULTS);
ALTER TABLE floor_events DROP CONSTRAINT IF EXISTS floor_events_pkey;
ALTER TABLE floor_events ADD PRIMARY KEY (tenant_id, seq);
CREATE UNIQUE INDEX IF NOT EXISTS floor_stream ON floor_events (tenant_id, stream_id, stream_version);
"""

FLOOR_INSERT = """
INSERT INTO floor_events (tenant_id, seq, stream_id, stream_version, event_type, schema_version,
                          data, meta, recorded_at, prev_hash, hash)
SELECT $1, s, $2, v, 'TargetRegistered', 1, d::jsonb, $5::jsonb, now(), $6, $6
  FROM unnest($3::bigint[], $4::int[], $7::text[]) AS u(s, v, d)
"""


async def bench_floor(url: str, per_append: int, tenants: int, seconds: float) -> float:
    conns = [await asyncpg.connect(url) for _ in range(WRITERS)]
    run = uuid.uuid4().hex[:6]
    fake_hash = os.urandom(32)
    meta = orjson.dumps({"actor": "writer"}).decode()

    async def writer(w: int, stop: float) -> int:
        conn, tenant = conns[w], f"floor-{run}-{w % tenants}"
        stream, version, done = uuid.uuid4(), 0, 0
        while time.monotonic() < stop:
            versions = list(range(version + 1, version + per_append + 1))
            seqs = [w * 10**9 + v for v in versions]  # unique without any lock or counter
            datas = [orjson.dumps(payload(v)).decode() for v in versions]
            await conn.execute(FLOOR_INSERT, tenant, stream, seqs, versions, meta, fake_hash, datas)
            version += per_append
            done += 1
        return done

    try:
        return await timed(writer, seconds) / seconds
    finally:
        for c in conns:
            await c.close()


def bench_peer(url: str, per_append: int, seconds: float) -> float:
    from eventsourcing.persistence import StoredEvent
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    parts = urlsplit(url)
    host = parse_qs(parts.query).get("host", [parts.hostname or "localhost"])[0]
    datastore = PostgresDatastore(
        dbname=parts.path.lstrip("/"),
        host=host,
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or "",
        pool_size=WRITERS,
    )
    recorder = PostgresApplicationRecorder(datastore, events_table_name="peer_events")
    recorder.create_table()
    counts = [0] * WRITERS
    stop = time.monotonic() + seconds

    def writer(w: int) -> None:
        stream, version = uuid.uuid4(), 0
        while time.monotonic() < stop:
            events = [
                StoredEvent(
                    originator_id=stream,
                    originator_version=version + k,
                    topic="bench:TargetRegistered",
                    state=orjson.dumps(payload(version + k)),
                )
                for k in range(1, per_append + 1)
            ]
            recorder.insert_events(events)
            version += per_append
            counts[w] += 1

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    datastore.close()
    return sum(counts) / seconds


async def main() -> None:
    given = os.environ.get("THIDUA_BENCH_DATABASE_URL")
    embedded = None
    if given:
        url = given
    else:
        embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="thidua-bench-")), "delete")
        url = embedded.start()
        from shared.db import ensure_database

        await ensure_database(embedded.admin_url(), "thidua")
    try:
        async with owner_connection(url) as conn:
            await migrate(conn)
            await conn.execute(FLOOR_TABLE)
        settings = Settings(database_url=url, pool_min_size=WRITERS, pool_max_size=WRITERS)
        pool = await create_pool(url, settings)
        store = EventStore(pool)
        print(
            f"PostgreSQL at {url}; {WRITERS} writers; {ROUNDS} rounds of {SECONDS:.0f} s per "
            "figure, the figures of a round measured one after the other\n"
        )
        rounds: dict[tuple[str, int, int], list[float]] = {}
        db_only: dict[int, list[float]] = {}
        for _ in range(ROUNDS):
            # Round by round, so that the machine's drift during the run (the figures here
            # swing by up to 30%) falls on every figure alike, not on whichever came last.
            for per_append in (1, 10):
                figures = {
                    ("floor", per_append, WRITERS): await bench_floor(
                        url, per_append, WRITERS, SECONDS
                    ),
                    ("peer", per_append, WRITERS): await asyncio.to_thread(
                        bench_peer, url, per_append, SECONDS
                    ),
                }
                for tenants in (1, WRITERS):
                    figures["ours", per_append, tenants] = await bench_ours(
                        store, per_append, tenants, SECONDS
                    )
                for key, rate in figures.items():
                    rounds.setdefault(key, []).append(rate)
                rate = await bench_db_only(store, url, per_append, SECONDS)
                db_only.setdefault(per_append, []).append(rate)
        await pool.close()
    finally:
        if embedded is not None:
            embedded.stop()

    def median(key: tuple[str, int, int]) -> float:
        return statistics.median(rounds[key])

    print(
        "| events/append | tenants | ours appends/s | ours events/s | floor appends/s "
        "| ours/floor | peer appends/s | ours/peer |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for per_append in (1, 10):
        floor, peer = median(("floor", per_append, WRITERS)), median(("peer", per_append, WRITERS))
        for tenants in (1, WRITERS):
            ours = median(("ours", per_append, tenants))
            print(
                f"| {per_append} | {tenants} | {ours:,.0f} | {ours * per_append:,.0f} "
                f"| {floor:,.0f} | {ours / floor:.0%} | {peer:,.0f} | {ours / peer:.1f}x |"
            )
    print(f"\n(medians of {ROUNDS} rounds)")
    print("\nThe database's share (thidua_append alone, 16 tenants, payloads made in advance):")
    for per_append, rates in db_only.items():
        print(f"  {per_append} event(s)/append: {statistics.median(rates):,.0f} appends/s")
    ours_r = rounds["ours", 1, WRITERS]
    floor_r, peer_r = rounds["floor", 1, WRITERS], rounds["peer", 1, WRITERS]
    by_round = ", ".join(
        f"{o / p:.1f}x peer & {o / f:.0%} of floor"
        for o, f, p in zip(ours_r, floor_r, peer_r, strict=True)
    )
    ours, floor, peer = map(statistics.median, (ours_r, floor_r, peer_r))
    verdict = "met" if ours >= 10 * peer and ours >= 0.65 * floor else "NOT met"
    print(
        f"\nTarget at {WRITERS} tenants, 1 event/append (>= 10x peer, >= 65% of floor): {verdict} "
        f"({ours / peer:.1f}x peer, {ours / floor:.0%} of floor; round by round: {by_round})"
    )


if __name__ == "__main__":
    try:  # the loop `thidua serve` runs on (uvicorn picks uvloop when it is installed)
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
