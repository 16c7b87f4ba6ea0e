"""The served app under more requests than it has connections: given a small pool, when a burst
of commands arrives (or every connection is taken), then each request answers (done, or
SERVICE_BUSY having written nothing), and once the burst is over the app is ready and answers
queries without a restart. ``asyncio.wait_for`` bounds are liveness bounds, not timings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from uuid import UUID

import httpx

from services.campaign.commands import commands_of
from services.gateway.app import create_app
from services.gateway.runtime import Runtime
from shared.auth import TokenService
from shared.settings import Settings
from tests.registry.conftest import Tree, principal, registry, tree  # noqa: F401  (fixtures)

POOL = 4
LIVENESS_S = 60
RECOGNISE = """mutation($i: ID!) {
  recogniseInitiative(initiativeId: $i, benefitVnd: 20000000, appliedAt: ["Tổ sản xuất 2"]) {
    benefitVnd } }"""
COUNT = "query($u: ID) { initiatives(unitId: $u, subtree: false) { count recognisedCount } }"


@asynccontextmanager
async def served(settings: Settings, acquire_timeout_s: float) -> AsyncIterator[tuple]:
    """The app on a runtime of its own with a pool of POOL connections: (runtime, client)."""
    changes = {
        "pool_min_size": 1,
        "pool_max_size": POOL,
        "pool_acquire_timeout_s": acquire_timeout_s,
    }
    runtime = await Runtime.start(settings.model_copy(update=changes))
    try:
        transport = httpx.ASGITransport(app=create_app(settings, runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield runtime, client
    finally:
        await runtime.close()


async def initiatives_of(runtime: Runtime, unit: str, count: int) -> list[UUID]:
    commands = commands_of(runtime)
    officer = principal(unit, "officer")
    return [
        await commands.register_initiative(officer, title=f"Sáng kiến {n}", authors=["Trần Thị B"])
        for n in range(count)
    ]


async def post(client: httpx.AsyncClient, token: str, query: str, **variables) -> httpx.Response:
    return await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )


def code_of(response: httpx.Response) -> str | None:
    errors = response.json().get("errors") or []
    return errors[0]["extensions"]["code"] if errors else None


async def ready_and_answering(client: httpx.AsyncClient, token: str, unit: str) -> dict:
    ready = await client.get("/ready")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}
    answer = await post(client, token, COUNT, u=unit)
    assert answer.status_code == 200 and code_of(answer) is None, answer.text
    return answer.json()["data"]["initiatives"]


def officer_token(settings: Settings, unit: str) -> str:
    return TokenService.from_settings(settings).issue(
        tenant=unit, roles=["officer"], subject="can-bo", ttl=timedelta(minutes=5)
    )


async def test_four_times_the_pool_of_mutations_all_succeed_and_the_app_stays_ready(
    runtime,
    settings,
    tree,  # noqa: F811  (the fixture)
):
    ids = await initiatives_of(runtime, tree.cs1, 4 * POOL)
    token = officer_token(settings, tree.cs1)
    # A checkout bound that only a hang exceeds, however slow the machine.
    async with served(settings, LIVENESS_S) as (_, client):
        burst = (post(client, token, RECOGNISE, i=str(i)) for i in ids)
        answers = await asyncio.wait_for(asyncio.gather(*burst), LIVENESS_S)

        assert [(a.status_code, code_of(a)) for a in answers] == [(200, None)] * len(ids)
        counts = await ready_and_answering(client, token, tree.cs1)
    assert counts == {"count": 4 * POOL, "recognisedCount": 4 * POOL}


async def test_with_every_connection_taken_requests_answer_busy_and_then_serve_again(
    runtime,
    settings,
    tree,  # noqa: F811
):
    ids = await initiatives_of(runtime, tree.cs1, 4 * POOL)
    token = officer_token(settings, tree.cs1)
    async with served(settings, 0.5) as (small, client):
        # Given every connection of the pool held elsewhere (a burst that has not ended)
        held = [await small.pool.acquire() for _ in range(POOL)]
        try:
            # When the burst's requests arrive, then each is refused as busy: none hangs
            burst = (post(client, token, RECOGNISE, i=str(i)) for i in ids)
            answers = await asyncio.wait_for(asyncio.gather(*burst), LIVENESS_S)
            assert {code_of(a) for a in answers} == {"SERVICE_BUSY"}
            assert {a.status_code for a in answers} <= {200, 503}
            assert (await client.get("/ready")).status_code == 503
        finally:
            for conn in held:
                await small.pool.release(conn)

        # Then, the burst over, the app is ready again, nothing was written, and commands
        # succeed
        counts = await ready_and_answering(client, token, tree.cs1)
        assert counts == {"count": 4 * POOL, "recognisedCount": 0}
        for initiative_id in ids:  # one by one: this pool's checkout bound is short
            answer = await post(client, token, RECOGNISE, i=str(initiative_id))
            assert code_of(answer) is None, answer.text
