"""The campaigns' read model is derived: rebuilt from the logs beside the live tables and swapped
in (shared/projection_rebuild.py, the one way to rebuild), it comes back row for row as the
runner wrote it (the bulk pledge path included)."""

from __future__ import annotations

import asyncio
from datetime import date

from typer.testing import CliRunner

from services.campaign.bulk import PledgeRow, register_pledges
from services.campaign.projections import PROJECTION, TABLES
from services.gateway.cli import app as cli
from shared.projection_rebuild import rebuild

from .conftest import officer, seed_003


async def rows_of(owner, tenants: list[str]) -> dict[str, list]:
    snapshot = {}
    for table in TABLES:
        rows = await owner.fetch(
            f"SELECT * FROM {table} WHERE tenant_id = ANY ($1::text[])", tenants
        )
        snapshot[table] = sorted(tuple(r.values()) for r in rows).__repr__()
    return snapshot


async def test_a_rebuild_replays_the_logs_into_the_same_rows(
    campaigns, tree, owner, clock, runtime
):
    # Given campaigns, a registration, a report, a bulk pledge, works and initiatives
    province = await seed_003(campaigns, tree.prov1)
    own = await seed_003(campaigns, tree.upper1)
    upper = officer(tree.upper1)
    await campaigns.amend(upper, own, {"theme": "Đoàn kết, sáng tạo"}, "Theo chỉ đạo")
    clock.on = date(2021, 2, 10)
    await campaigns.register(upper, province, contents=["Phát huy sáng kiến, sáng tạo"])
    await campaigns.report_progress(upper, province, 1, {"cdcs-moi": 3})
    rows = [
        PledgeRow(row=n, subject="", name=f"Nguyễn Văn {n}", title="Lao động tiên tiến")
        for n in range(1, 301)
    ]
    await register_pledges(campaigns, upper, province, rows, max_rows=1000)
    work = await campaigns.register_work(upper, province, name="Nhà văn hóa", value_vnd=10**10)
    await campaigns.withdraw_work(upper, work, "Hoãn")
    initiative = await campaigns.register_initiative(
        officer(tree.cs1), title="Máy cắt tôn", authors=["Lê Văn Cường"], campaign_id=province
    )
    await campaigns.recognise_initiative(
        officer(tree.cs1), initiative, benefit_vnd=90_000_000, applied_at=["Xưởng 1"]
    )
    tenants = [tree.prov1, tree.upper1, tree.cs1]
    before = await rows_of(owner, tenants)
    assert before["campaign_pledges"].count("Nguyễn Văn") == 300

    # When the campaigns' projection is rebuilt beside the live tables and swapped in
    live = await rebuild(owner, runtime.projector_pool, PROJECTION, batch_size=128)

    # Then the new live tables hold the same rows
    assert live.version > PROJECTION.version
    assert await rows_of(owner, tenants) == before


async def test_thidua_campaigns_rebuild_replays_every_log_and_changes_no_row(
    campaigns, tree, owner, settings
):
    province = await seed_003(campaigns, tree.prov1)
    await campaigns.register(
        officer(tree.upper1), province, contents=["Phát huy sáng kiến, sáng tạo"]
    )
    tenants = [tree.prov1, tree.upper1]
    before = await rows_of(owner, tenants)
    env = {"THIDUA_DATABASE_URL": settings.database_url, "THIDUA_LOG_JSON": "false"}
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["campaigns", "rebuild"], env=env)
    assert result.exit_code == 0, result.output
    assert "campaigns: version" in result.output and "is live" in result.output
    assert await rows_of(owner, tenants) == before
