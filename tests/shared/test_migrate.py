"""Migrations: applied once, in order, safely from several processes, and never silently edited."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from shared import migrate
from shared.db import owner_connection
from shared.errors import MigrationError
from tests.conftest import fresh_database


async def test_migrating_twice_applies_once(server_url):
    url = await fresh_database(server_url, migrated=False)
    async with owner_connection(url) as conn:
        first = await migrate.migrate(conn)
        second = await migrate.migrate(conn)
        assert [m.version for m in first] == [m.version for m in migrate.available()]
        assert second == []
        assert await migrate.pending(conn) == []
        recorded = await conn.fetchval("SELECT count(*) FROM schema_migrations")
        assert recorded == len(migrate.available())


async def test_two_processes_migrating_at_once_apply_each_migration_once(server_url):
    url = await fresh_database(server_url, migrated=False)
    connections = [await asyncpg.connect(url) for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrate.migrate(c) for c in connections))
        applied = sorted(m.version for result in results for m in result)
        assert applied == [m.version for m in migrate.available()]
        rows = await connections[0].fetch("SELECT version FROM schema_migrations")
        assert len(rows) == len(migrate.available())
    finally:
        for c in connections:
            await c.close()


async def test_an_applied_migration_that_was_edited_is_refused(server_url):
    url = await fresh_database(server_url)
    async with owner_connection(url) as conn:
        await conn.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
        with pytest.raises(MigrationError) as caught:
            await migrate.migrate(conn)
        assert caught.value.code == "MIGRATION_FAILED"
        assert "0001_event_store" in caught.value.message


def test_migrations_are_numbered_without_gaps():
    versions = [m.version for m in migrate.available()]
    assert versions == list(range(1, len(versions) + 1))
