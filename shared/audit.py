"""Recomputing a tenant's hash chain from its stored rows (docs/audit.md says how, for anyone).

The walk goes up to the head as it stood when verification began, in seq order, and stops at the
first row that is wrong, naming it and what is wrong with it:

- ``missing``: a seq is absent (a row was deleted), or the log ends before the head says it does;
- ``reordered``: a row is intact but sits at another seq than the one it was written at;
- ``changed``: a row's stored fields no longer give the hash it was stored with, its
  ``prev_hash`` is not the hash of the row before it, or a row lies beyond the head.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import asyncpg
import orjson

from shared import canonical

_ROWS = (
    "SELECT seq, stream_id, stream_version, event_type, schema_version, data::text AS data, "
    "meta::text AS meta, recorded_at, prev_hash, hash FROM events "
    "WHERE tenant_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4"
)


_REORDER_WINDOW = 1000


@dataclass(frozen=True)
class Verdict:
    tenant_id: str
    ok: bool
    count: int
    head_seq: int
    head_hash: bytes
    bad_seq: int | None = None
    problem: str | None = None
    detail: str = ""

    def describe(self) -> str:
        if self.ok:
            return f"OK {self.tenant_id}: {self.count} events, head {self.head_hash.hex()}"
        return f"BROKEN {self.tenant_id} at seq {self.bad_seq}: {self.problem}: {self.detail}"


def content_bytes(tenant_id: str, row: Any) -> bytes:
    """The canonical content of a stored row, recomputed from its columns."""
    return canonical.dumps(
        canonical.content(
            tenant_id=tenant_id,
            stream_id=row["stream_id"],
            stream_version=row["stream_version"],
            event_type=row["event_type"],
            schema_version=row["schema_version"],
            data=orjson.loads(row["data"]),
            meta=orjson.loads(row["meta"]),
        )
    )


async def _rows(
    conn: asyncpg.Connection, tenant_id: str, head_seq: int, batch_size: int
) -> AsyncIterator[asyncpg.Record]:
    after = 0
    while True:
        batch = await conn.fetch(_ROWS, tenant_id, after, head_seq, batch_size)
        for row in batch:
            yield row
        if len(batch) < batch_size:
            return
        after = batch[-1]["seq"]


async def verify_tenant(
    conn: asyncpg.Connection, tenant_id: str, *, batch_size: int = 5000
) -> Verdict:
    """Recompute the chain up to the head, all in one snapshot of the database: appends that
    commit meanwhile are not seen, so any row beyond the head is a row that bypassed the head."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        return await _verify(conn, tenant_id, batch_size)


async def _verify(conn: asyncpg.Connection, tenant_id: str, batch_size: int) -> Verdict:
    head = await conn.fetchrow("SELECT seq, hash FROM tenant_heads WHERE tenant_id = $1", tenant_id)
    head_seq, head_hash = (
        (head["seq"], bytes(head["hash"])) if head else (0, canonical.GENESIS_HASH)
    )

    def broken(seq: int, problem: str, detail: str, count: int) -> Verdict:
        return Verdict(tenant_id, False, count, head_seq, head_hash, seq, problem, detail)

    prev, expected, count = canonical.GENESIS_HASH, 1, 0
    async for row in _rows(conn, tenant_id, head_seq, batch_size):
        seq = row["seq"]
        if seq != expected:
            return broken(
                expected, "missing", f"seq {expected}–{seq - 1} không còn trong log", count
            )
        stored_prev, stored_hash = bytes(row["prev_hash"]), bytes(row["hash"])
        try:
            body = content_bytes(tenant_id, row)
        except (TypeError, ValueError) as exc:  # orjson: nested past its depth, and the like
            detail = f"nội dung không viết lại được thành JSON chuẩn ({exc})"
            return broken(seq, "unreadable", detail, count)
        if canonical.chain(prev, seq, row["recorded_at"], body) != stored_hash:
            origin = _written_as(stored_prev, row["recorded_at"], body, stored_hash, seq, head_seq)
            if origin is not None:
                detail = f"seq {seq} giữ sự kiện vốn được ghi ở seq {origin}"
                return broken(seq, "reordered", detail, count)
            return broken(seq, "changed", "nội dung không còn khớp với hash đã lưu", count)
        if stored_prev != prev:
            return broken(seq, "changed", "prev_hash đã bị sửa", count)
        prev, expected, count = stored_hash, seq + 1, count + 1

    if count != head_seq:
        return broken(expected, "missing", f"log dừng ở seq {count}, đầu log ghi {head_seq}", count)
    if prev != head_hash:
        return broken(head_seq, "changed", "hash cuối không khớp hash đầu log", count)
    beyond = await conn.fetchval(
        "SELECT min(seq) FROM events WHERE tenant_id = $1 AND (seq > $2 OR seq < 1)",
        tenant_id,
        head_seq,
    )
    if beyond is not None:
        return broken(
            beyond, "changed", f"có dòng ngoài đầu log (seq {beyond}, đầu log {head_seq})", count
        )
    return Verdict(tenant_id, True, count, head_seq, head_hash)


def _written_as(
    prev: bytes, at: Any, body: bytes, stored_hash: bytes, seq: int, head_seq: int
) -> int | None:
    """The seq an intact row was first written at, if it has moved (searched near where it is:
    this runs only once something is already wrong)."""
    for candidate in range(max(1, seq - _REORDER_WINDOW), min(head_seq, seq + _REORDER_WINDOW) + 1):
        if candidate != seq and canonical.chain(prev, candidate, at, body) == stored_hash:
            return candidate
    return None


async def export_tenant(conn: asyncpg.Connection, tenant_id: str, out: BinaryIO) -> int:
    """Write a tenant's log up to its head as JSON lines: every stored field, bytes in hex,
    ``recorded_at`` in the canonical form. docs/audit.md shows how to verify such a file."""
    head = await conn.fetchval("SELECT seq FROM tenant_heads WHERE tenant_id = $1", tenant_id) or 0
    count = 0
    async for row in _rows(conn, tenant_id, head, 5000):
        line = {
            "tenant_id": tenant_id,
            "seq": row["seq"],
            "stream_id": str(row["stream_id"]),
            "stream_version": row["stream_version"],
            "event_type": row["event_type"],
            "schema_version": row["schema_version"],
            "data": orjson.loads(row["data"]),
            "meta": orjson.loads(row["meta"]),
            "recorded_at": canonical.format_recorded_at(row["recorded_at"]),
            "prev_hash": bytes(row["prev_hash"]).hex(),
            "hash": bytes(row["hash"]).hex(),
        }
        out.write(canonical.dumps(line) + b"\n")
        count += 1
    return count
