"""Stored history, committed once, replayed by today's code: names, shapes and hashes hold."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import orjson
import pytest

from shared import audit
from shared.aggregates import Repository
from shared.db import owner_connection
from shared.signal import CHANNEL
from tests.conftest import GOLDEN
from tests.shared.sample_domain import Notebook, build_registry
from tests.shared.test_audit import standalone_verifier

TENANT = "golden-notebooks"
DIARY = UUID("83cd1eab-7f02-4a72-9d98-7e398c7ecb28")
INITIATIVES = UUID("6d584605-bcf4-478e-bcb6-ac9b0ec313ad")


def golden_rows(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


async def insert_golden(database_url: str, rows: list[dict]) -> list[dict]:
    """A golden file's rows inserted as they were stored (hashes and all), once per session, by
    the owner: the application role cannot write log rows except through thidua_append. Then
    the log's followers are told it grew, as another process's appends tell them
    (shared/signal.py): else the runner finds it at its next survey of every tenant, up to 30 s
    later, and a test waiting for its projection (20 s) failed now and then."""
    tenant = rows[0]["tenant_id"]
    async with owner_connection(database_url) as conn:
        async with conn.transaction():
            await _insert_once(conn, tenant, rows)
        grown = orjson.dumps({tenant: rows[-1]["seq"]}).decode()
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, grown)
    return rows


async def _insert_once(conn, tenant: str, rows: list[dict]) -> None:
    if await conn.fetchval("SELECT 1 FROM tenant_heads WHERE tenant_id = $1", tenant):
        return  # (once per session: the file's tenant is there already)
    await conn.executemany(
        """INSERT INTO events (tenant_id, seq, stream_id, stream_version, event_type,
               schema_version, data, meta, recorded_at, prev_hash, hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11)""",
        [
            (
                r["tenant_id"],
                r["seq"],
                UUID(r["stream_id"]),
                r["stream_version"],
                r["event_type"],
                r["schema_version"],
                orjson.dumps(r["data"]).decode(),
                orjson.dumps(r["meta"]).decode(),
                datetime.fromisoformat(r["recorded_at"].replace("Z", "+00:00")),
                bytes.fromhex(r["prev_hash"]),
                bytes.fromhex(r["hash"]),
            )
            for r in rows
        ],
    )
    await conn.execute(
        "INSERT INTO tenant_heads (tenant_id, seq, hash) VALUES ($1, $2, $3)",
        tenant,
        rows[-1]["seq"],
        bytes.fromhex(rows[-1]["hash"]),
    )


@asynccontextmanager
async def projected_again(owner, runtime, tenant: str, rows: list[dict], tables, key=None):
    """The golden log projected again by today's code inside a transaction rolled back after:
    the runner's own projection of it first finished (so nothing is written again under the
    test), ``tables`` emptied for the tenant, the one ``key`` (key id, key) the file's author
    kept put back (a golden file holds none). The caller applies the events on ``owner``."""
    assert await runtime.projections.wait_for(tenant, len(rows), 30)
    tx = owner.transaction()
    await tx.start()
    try:
        for table in tables:
            await owner.execute(f"DELETE FROM {table} WHERE tenant_id = $1", tenant)
        if key is not None:
            await owner.execute(
                "INSERT INTO person_keys (key_id, tenant_id, key) VALUES ($1, $2, $3) "
                "ON CONFLICT DO NOTHING",
                key[0],
                tenant,
                key[1],
            )
        yield
    finally:
        await tx.rollback()


@pytest.fixture(scope="module")
async def golden(database_url):
    return await insert_golden(database_url, golden_rows(GOLDEN / "events.jsonl"))


async def test_the_golden_chain_verifies_in_the_product_and_standalone(golden, owner):
    verdict = await audit.verify_tenant(owner, TENANT)
    assert verdict.ok, verdict.describe()
    assert verdict.count == len(golden) == 7
    lines = (GOLDEN / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert standalone_verifier()(lines) == f"OK 7 events, head {golden[-1]['hash']}"


async def test_the_golden_aggregates_rebuild_with_todays_code(golden, store):
    repo = Repository(store, build_registry(), snapshot_every=0)

    diary = await repo.get(TENANT, DIARY)
    assert isinstance(diary, Notebook)
    assert diary.title == "Sổ tay thi đua – CĐCS Công ty Điện lực"
    assert diary.owner == UUID("5f0c2a9e-3b1d-4c6a-9e2f-7a8b9c0d1e2f")
    assert diary.opened_on == date(2025, 1, 15)
    # The first note was stored at schema v1 as "body"; the upcaster makes it today's shape.
    assert diary.notes == ["Đăng ký giao ước thi đua với LĐLĐ tỉnh", "Sơ kết đợt 1 (01/01–30/6)"]
    assert diary.points == 5
    assert diary.benefit == Decimal("120000000")
    assert diary.version == 5

    initiatives = await repo.get(TENANT, INITIATIVES)
    assert initiatives.notes == ["Sáng kiến tiết kiệm điện, làm lợi 80 triệu đồng"]
    assert initiatives.points == 10


async def test_every_golden_event_name_is_still_registered(golden, store):
    registry = build_registry()
    for event in await store.read_log(TENANT):
        registry.decode(event)  # raises UnknownEventType for a name that went missing
