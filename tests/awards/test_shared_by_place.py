"""Migration 0047: the levels above read a proposal's nominees and documents placed before its
last submission, by their place, not by a flag on each row. A database migrated before it keeps
what each row's flag said: what was sent is read above, what was added during a correction is
not, until the proposal is sent again."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from shared import migrate as migrate_module
from shared.db import APP_ROLE, owner_connection
from tests.conftest import fresh_database

UPPER, UNIT = "upper-0047", "cs-0047"
PLACE = 65_536  # services/awards/projections.py PLACES_PER_EVENT


async def migrate_until(conn: asyncpg.Connection, last: int, monkeypatch) -> None:
    """The real migrate(), as if the migrations after ``last`` were not written yet."""
    every = migrate_module.available()
    with monkeypatch.context() as patched:
        patched.setattr(
            migrate_module, "available", lambda: [m for m in every if m.version <= last]
        )
        await migrate_module.migrate(conn)


async def proposal(conn, *, shared: bool, nominees: dict[str, tuple[int, bool]], documents):
    pid = uuid.uuid4()
    await conn.execute(
        "INSERT INTO proposals (tenant_id, proposal_id, title, kind, topic, year, status, "
        "drafted_on, to_unit, submitted_on, shared, recorded_on, version) VALUES ($1, $2, "
        "'Đề nghị', 'regular', '', 2025, $3, $5, $4, $5, $6, $5, 1)",
        UNIT,
        pid,
        "submitted" if shared else "draft",
        UPPER if shared else None,
        date(2025, 3, 2),
        shared,
    )
    for nominee, (seq, flagged) in nominees.items():
        await conn.execute(
            "INSERT INTO proposal_nominees (tenant_id, proposal_id, nominee_id, subject, who, "
            "award, summary, basis, findings, added_seq, shared) VALUES ($1, $2, $3, 'person', "
            "'person:x', 'lao_dong_tien_tien', '', '{}', '[]', $4, $5)",
            UNIT,
            pid,
            nominee,
            seq * PLACE,
            flagged,
        )
    for sha, flagged in documents.items():
        await conn.execute(
            "INSERT INTO proposal_documents (tenant_id, proposal_id, sha256, kind, name, size, "
            "media_type, attached_on, shared) VALUES ($1, $2, $3, 'memo', 'a.pdf', 1, "
            "'application/pdf', '2025-03-01', $4)",
            UNIT,
            pid,
            sha,
            flagged,
        )
    return pid


async def read_above(conn, pid) -> tuple[set[str], set[str]]:
    async with conn.transaction():
        await conn.execute(f"SET LOCAL ROLE {APP_ROLE}")
        await conn.execute("SELECT set_config('thidua.tenant', $1, true)", UPPER)
        await conn.execute("SELECT set_config('thidua.reach', 'subtree', true)")
        nominees = await conn.fetch(
            "SELECT nominee_id FROM proposal_nominees WHERE proposal_id = $1", pid
        )
        documents = await conn.fetch(
            "SELECT sha256 FROM proposal_documents WHERE proposal_id = $1", pid
        )
    return {r["nominee_id"] for r in nominees}, {r["sha256"] for r in documents}


async def test_what_each_flag_said_is_what_the_level_above_reads_after_0047(
    server_url, monkeypatch
):
    url = await fresh_database(server_url, migrated=False)
    async with owner_connection(url) as conn:
        await migrate_until(conn, 46, monkeypatch)
        corrected = await proposal(
            conn,
            shared=True,
            nominees={"sent-1": (10, True), "sent-2": (10, True), "new": (30, False)},
            documents={"a" * 64: True, "b" * 64: False},
        )
        sent = await proposal(
            conn, shared=True, nominees={"n": (12, True)}, documents={"c" * 64: True}
        )
        empty = await proposal(conn, shared=True, nominees={}, documents={"d" * 64: True})
        # Every nominee sent was removed, and those added since are not sent yet.
        replaced = await proposal(conn, shared=True, nominees={"new": (20, False)}, documents={})
        draft = await proposal(
            conn, shared=False, nominees={"d": (14, False)}, documents={"e" * 64: False}
        )
        before = {p: await read_above(conn, p) for p in (corrected, sent, empty, replaced, draft)}
        assert [m.version for m in await migrate_module.migrate(conn)][:1] == [47]
        after = {p: await read_above(conn, p) for p in (corrected, sent, empty, replaced, draft)}
    assert after == before
    assert after[corrected] == ({"sent-1", "sent-2"}, {"a" * 64})
    assert after[sent] == ({"n"}, {"c" * 64})
    assert after[empty] == (set(), {"d" * 64})
    assert after[replaced] == (set(), set())
    assert after[draft] == (set(), set())
