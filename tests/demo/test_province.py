"""A province of many upper-level units for the benchmarks: its units hang under the demo's
national unit, each registers with the province's campaign, and the province's campaign list
shows them all; loading is idempotent and grows with the count asked for."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from typer.testing import CliRunner

from services.demo import show
from services.demo.plans import NATIONAL
from services.demo.province import load_province
from services.gateway.cli import app as cli
from tests.registry.test_graphql import client, gql, tokens  # noqa: F401  (fixtures)

PROVINCE = "ldld-tinh-mau"


@pytest.fixture(scope="module")
async def province(runtime):
    prefix = f"prov-{uuid.uuid4().hex[:6]}-"
    return prefix, await load_province(runtime, 30, prefix=prefix)


async def test_every_unit_hangs_under_the_province_and_registers(province, owner):
    prefix, summary = province
    assert summary.province == prefix + PROVINCE
    below = await owner.fetch(
        "SELECT u.level, c.depth FROM unit_closure c JOIN units u ON u.tenant_id = c.descendant "
        "WHERE c.ancestor = $1 AND c.depth > 0",
        summary.province,
    )
    assert [(r["level"], r["depth"]) for r in below] == [("upper", 1)] * 30
    parent = await owner.fetchval(
        "SELECT parent_id FROM units WHERE tenant_id = $1", summary.province
    )
    assert parent == prefix + NATIONAL
    rows = await owner.fetch(
        "SELECT r.late, u.parent_id FROM campaign_registrations r "
        "JOIN units u ON u.tenant_id = r.tenant_id WHERE r.campaign_id = $1",
        summary.campaign_id,
    )
    assert len(rows) == summary.registered == summary.units == 30
    assert {r["parent_id"] for r in rows} == {summary.province}
    # every tenth registers after the due date, and is marked late
    assert sum(r["late"] for r in rows) == summary.late == 3
    assert summary.written == {"units": 32, "registrations": 30}  # with national and province


async def test_the_provinces_campaign_list_shows_every_child_registration(
    province,
    client,  # noqa: F811
    tokens,  # noqa: F811
):
    _, summary = province
    body = await gql(client, tokens, summary.province, ["officer"], show.EXAMPLE_QUERY)
    assert "errors" not in body, body
    [campaign] = [c for c in body["data"]["campaigns"] if c["unitId"] == summary.province]
    statuses = [r["status"] for r in [e["node"] for e in campaign["childRegistrations"]["edges"]]]
    assert sorted(set(statuses)) == ["LATE", "ON_TIME"]
    assert (statuses.count("ON_TIME"), statuses.count("LATE")) == (27, 3)
    assert len(campaign["phases"]) == 2 and len(campaign["indicators"]) == 3


async def test_loading_again_writes_nothing_and_a_larger_count_adds_the_missing(
    province, runtime, owner
):
    prefix, first = province
    events = "SELECT count(*) FROM events WHERE tenant_id LIKE $1"
    before = await owner.fetchval(events, prefix + "%")
    again = await load_province(runtime, 30, prefix=prefix)
    assert again.written == {"units": 0, "registrations": 0}
    assert await owner.fetchval(events, prefix + "%") == before
    assert again.campaign_id == first.campaign_id

    grown = await load_province(runtime, 35, prefix=prefix)
    assert grown.written == {"units": 5, "registrations": 5}
    assert (grown.units, grown.registered, grown.late) == (35, 35, 3)


async def test_the_command_loads_a_province_beside_the_demo(owner, cli_env):
    runner = CliRunner()
    result = await asyncio.to_thread(
        runner.invoke, cli, ["demo", "--province-units", "12"], env=cli_env
    )
    assert result.exit_code == 0, result.output
    assert f"Province {PROVINCE}: 12 upper-level units, 12 registered" in result.output
    registered = await owner.fetchval(
        "SELECT count(*) FROM campaign_registrations r JOIN units u ON u.tenant_id = r.tenant_id "
        "WHERE u.parent_id = $1",
        PROVINCE,
    )
    assert registered == 12
