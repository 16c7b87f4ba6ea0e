"""The projections seen from outside: `thidua projections status`, `thidua projections rebuild`
(a progress bar, then the next version live) and the GraphQL field of their lag."""

# ruff: noqa: F811  (pytest fixtures, imported by name and requested by argument)

from __future__ import annotations

import asyncio
import signal
import subprocess

from typer.testing import CliRunner

from services.campaign.projections import PROJECTION
from services.gateway.cli import app as cli
from shared.projections import ensure_live
from tests.campaign.conftest import campaigns, clock, registry, seed_003, tree  # noqa: F401
from tests.gateway.test_serve import THIDUA, cli_env
from tests.registry.test_graphql import client, gql, tokens  # noqa: F401

LAG = "{ projections { name version state inline unitsBehind lagEvents lagSeconds } }"


def invoke(settings, *args: str):
    env = {"THIDUA_DATABASE_URL": settings.database_url, "THIDUA_LOG_JSON": "false"}
    return CliRunner().invoke(cli, list(args), env=env)


async def test_status_lists_each_projection_with_its_lag(campaigns, tree, owner, settings):
    await ensure_live(owner, [PROJECTION])
    result = await asyncio.to_thread(invoke, settings, "projections", "status")
    assert result.exit_code == 0, result.output
    assert "campaigns" in result.output and "live" in result.output


async def test_rebuild_makes_the_next_version_live(campaigns, tree, owner, settings):
    await seed_003(campaigns, tree.prov1)
    await ensure_live(owner, [PROJECTION])
    live = await owner.fetchval(
        "SELECT version FROM projection_versions WHERE name = 'campaigns' AND state = 'live'"
    )
    result = await asyncio.to_thread(invoke, settings, "projections", "rebuild", "campaigns")
    assert result.exit_code == 0, result.output
    assert f"campaigns: version {live + 1} is live" in result.output
    assert live + 1 == await owner.fetchval(
        "SELECT version FROM projection_versions WHERE name = 'campaigns' AND state = 'live'"
    )


async def test_rebuilding_an_unknown_projection_is_refused(settings):
    result = await asyncio.to_thread(invoke, settings, "projections", "rebuild", "nothing")
    assert result.exit_code == 2
    assert "NOT_FOUND" in result.output


async def test_rebuilding_the_registry_is_refused_and_names_the_registry_rebuild(settings, owner):
    # given the registry's projection, applied inline by its commands (its closure spans units)
    versions = "SELECT version, state FROM projection_versions WHERE name = 'registry' ORDER BY 1"
    before = await owner.fetch(versions)
    # when an operator asks to rebuild it as a projection of the runner
    result = await asyncio.to_thread(invoke, settings, "projections", "rebuild", "registry")
    # then it is refused with a stable code, naming the command that rebuilds it whole
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "PROJECTION_INLINE" in said and "thidua tenants rebuild" in said, said
    # and nothing was built beside the live version
    assert await owner.fetch(versions) == before


async def test_an_admin_or_an_auditor_reads_the_lag_and_an_officer_does_not(
    client, tokens, tree, owner
):
    await ensure_live(owner, [PROJECTION])
    for role in ("admin", "auditor"):
        answer = await gql(client, tokens, tree.prov1, [role], LAG)
        assert "errors" not in answer, answer
        (campaigns_lag,) = [p for p in answer["data"]["projections"] if p["name"] == "campaigns"]
        assert campaigns_lag["state"] == "live" and campaigns_lag["lagEvents"] >= 0
    refused = await gql(client, tokens, tree.prov1, ["officer"], LAG)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_a_projector_runs_alone_until_it_is_told_to_stop(settings, tmp_path):
    # given `thidua projector` started on the database
    env = cli_env(tmp_path, THIDUA_DATABASE_URL=settings.database_url)
    proc = subprocess.Popen([THIDUA, "projector"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while not any("projector running" in line for line in lines):
            line = proc.stderr.readline()
            assert line, "".join(lines)
            lines.append(line)
        # when it is told to stop (as a service manager does)
        proc.send_signal(signal.SIGTERM)
        # then it stops cleanly
        assert proc.wait(timeout=30) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
