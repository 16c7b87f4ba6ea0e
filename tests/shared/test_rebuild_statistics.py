"""A rebuild refreshes its building tables' statistics as they grow (shared/projection_rebuild.py
``_Statistics``): at once, so that nothing is planned as empty, then each time they have grown
twice as large, not every few seconds (each refresh reads a sample of every table)."""

from __future__ import annotations

import uuid

import pytest

from shared import projection_rebuild
from shared.db import create_projector_pool
from shared.projections import Projection, Target
from tests.shared.sample_domain import build_registry


@pytest.fixture
async def projector_pool(runtime):
    pool = await create_projector_pool(runtime.url, runtime.settings)
    yield pool
    await pool.close()


async def test_statistics_are_refreshed_once_the_tables_have_grown_twice_as_large(
    runtime, owner, projector_pool, monkeypatch
):
    # Given a building table, never analysed, and no wait between refreshes
    schema, table = f"test_stats_{uuid.uuid4().hex[:8]}", "grown"
    await owner.execute(f"CREATE SCHEMA {schema}; CREATE TABLE {schema}.{table} (n integer)")
    projection = Projection("test_stats", 1, build_registry(), handlers={}, tables=(table,))
    statistics = projection_rebuild._Statistics(
        projector_pool, Target(projection, 2, "building", schema)
    )
    monkeypatch.setattr(projection_rebuild, "ANALYZE_EVERY_S", 0.0)

    async def rows_known() -> float:
        return await owner.fetchval(
            "SELECT reltuples FROM pg_class WHERE oid = $1::regclass", f"{schema}.{table}"
        )

    async def applied(events: int, rows: int) -> None:
        await owner.execute(f"INSERT INTO {schema}.{table} SELECT generate_series(1, $1)", rows)
        await statistics.after(events)

    try:
        assert await rows_known() == -1  # never analysed
        # When the first 5,000 events are applied: analysed
        await applied(5000, 10)
        assert await rows_known() == 10
        # then not after 4,000 more, but once 5,000 more make the tables twice as large
        await applied(4000, 10)
        assert await rows_known() == 10
        await applied(1000, 10)
        assert await rows_known() == 30
        # and next after 10,000 more, not 5,000
        await applied(9000, 10)
        assert await rows_known() == 30
        await applied(1000, 10)
        assert await rows_known() == 50
    finally:
        await owner.execute(f"DROP SCHEMA {schema} CASCADE")
