"""A projection built beside the live one under a name of its own, which the test session's
runner does not run: a test catches it up as it says, then compares its rows with the live."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from shared.db import owner_connection
from shared.projection_rebuild import begin, building_schema
from shared.projections import Projection, Target


@asynccontextmanager
async def built_beside(database_url: str, projection: Projection) -> AsyncIterator[Target]:
    """Version N+1 of ``projection``, begun in its own schema; gone afterwards."""
    async with owner_connection(database_url) as owner:
        target = await begin(owner, projection)
        yield target
        await owner.execute(f"DROP SCHEMA IF EXISTS {building_schema(projection)} CASCADE")
        for table in ("projection_checkpoints", "projection_versions"):
            await owner.execute(f"DELETE FROM {table} WHERE name = $1", projection.name)
