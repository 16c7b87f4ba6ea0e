"""The campaign read model has one writer, the projection runner
(shared/migrations/0020_campaigns_by_the_runner.sql): the application's role reads it under
row-level security and writes none of it, not even its own unit's rows."""

from __future__ import annotations

import asyncpg
import pytest

from services.campaign.projections import TABLES
from shared import access

from .conftest import officer, seed_003


async def test_the_application_may_not_write_campaign_rows_even_its_own(campaigns, tree, runtime):
    # Given a unit's own draft campaign, which the unit reads
    campaign_id = await seed_003(campaigns, tree.upper1, launch=False)
    async with access.scope(runtime.pool, officer(tree.upper1)) as app:
        assert await app.fetchval("SELECT name FROM campaigns WHERE campaign_id = $1", campaign_id)

    # When the application, as that unit, writes or empties a row of each campaign table
    for table in TABLES:
        for statement in (
            f"UPDATE {table} SET tenant_id = tenant_id WHERE tenant_id = $1",
            f"DELETE FROM {table} WHERE tenant_id = $1",
        ):
            # Then it is refused
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with access.scope(runtime.pool, officer(tree.upper1)) as app:
                    await app.execute(statement, tree.upper1)

    # And the campaign is still there as the runner wrote it
    async with access.scope(runtime.pool, officer(tree.upper1)) as app:
        assert (
            await app.fetchval("SELECT status FROM campaigns WHERE campaign_id = $1", campaign_id)
            == "draft"
        )
