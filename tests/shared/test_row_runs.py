"""Rows stored a part at a time (shared/db.py ``RowRuns``, ``row_runs``): what a projection
relies on when one of its statements is in flight and the block fails or is cancelled."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from shared.db import RowRuns, row_runs

COLUMNS = (("id", "integer"), ("note", "text"))


@pytest.fixture
async def slow_table(owner: asyncpg.Connection) -> str:
    """A table whose every insert statement takes 0.3 s (a trigger sleeps once per statement)."""
    name = f"slow_{uuid.uuid4().hex[:8]}"
    await owner.execute(
        f"CREATE TABLE {name} (id integer PRIMARY KEY, note text);"
        f"CREATE FUNCTION {name}_sleep() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_sleep(0.3); RETURN NULL; END $$;"
        f"CREATE TRIGGER {name}_sleep AFTER INSERT ON {name} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {name}_sleep()"
    )
    yield name
    await owner.execute(f"DROP TABLE {name}; DROP FUNCTION {name}_sleep()")


async def test_a_block_that_ends_writes_every_row(owner, slow_table):
    rows = [(n, f"dòng {n}") for n in range(2 * RowRuns.PART + 7)]
    async with owner.transaction(), row_runs(owner, slow_table, COLUMNS) as runs:
        await runs.extend(iter(rows))
    stored = await owner.fetch(f"SELECT id, note FROM {slow_table} ORDER BY id")
    assert [tuple(r) for r in stored] == rows
    assert runs.secured is False  # no row-level security here: the parts go by COPY


async def test_rows_go_by_insert_where_row_level_security_applies(owner, slow_table):
    """The application's role inserts under row-level security, where PostgreSQL refuses COPY:
    the same parts go by INSERT."""
    role = f"r_{uuid.uuid4().hex[:8]}"
    await owner.execute(
        f"CREATE ROLE {role}; GRANT ALL ON {slow_table} TO {role};"
        f"ALTER TABLE {slow_table} ENABLE ROW LEVEL SECURITY;"
        f"CREATE POLICY everyone ON {slow_table} TO {role} USING (true) WITH CHECK (true)"
    )
    try:
        async with owner.transaction():
            await owner.execute(f"SET LOCAL ROLE {role}")
            async with row_runs(owner, slow_table, COLUMNS) as runs:
                await runs.extend((n, "x") for n in range(RowRuns.PART + 1))
        assert runs.secured is True
        assert await owner.fetchval(f"SELECT count(*) FROM {slow_table}") == RowRuns.PART + 1
    finally:
        await owner.execute(
            f"DROP POLICY everyone ON {slow_table}; DROP OWNED BY {role}; DROP ROLE {role}"
        )


async def test_a_block_cancelled_twice_while_a_part_is_stored_leaves_the_connection_usable(
    database_url, slow_table
):
    """Given a part in flight, when the block is cancelled, and cancelled again while it waits
    for that part, then the cancellation comes out, nothing is stored, and the connection rolls
    back and answers the next statement (a ROLLBACK sent while the part ran would have failed
    with "another operation is in progress")."""
    conn = await asyncpg.connect(database_url)
    try:
        part_sent = asyncio.Event()

        async def write() -> None:
            async with conn.transaction(), row_runs(conn, slow_table, COLUMNS) as runs:
                # A full part is sent, and in flight.
                await runs.extend((n, "x") for n in range(RowRuns.PART))
                assert runs.pending is not None and not runs.pending.done()
                part_sent.set()
                await asyncio.sleep(10)

        task = asyncio.create_task(write())
        await part_sent.wait()
        task.cancel()
        await asyncio.sleep(0.05)  # the block now waits for the part in flight
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not conn.is_in_transaction()
        assert await conn.fetchval(f"SELECT count(*) FROM {slow_table}") == 0
    finally:
        await conn.close()


async def test_a_failed_part_fails_the_block_and_stores_nothing(owner, slow_table):
    rows = [(n, "x") for n in range(RowRuns.PART)] + [(0, "the same id again")]
    with pytest.raises(asyncpg.UniqueViolationError):
        async with owner.transaction(), row_runs(owner, slow_table, COLUMNS) as runs:
            await runs.extend(iter(rows))
    assert await owner.fetchval(f"SELECT count(*) FROM {slow_table}") == 0
