"""A GraphQL query reads on one scoped connection (shared/access.py ``SharedScope``): the reach
is set once, for the request's one caller; a field that fails does not spoil the others; the
connection goes back when the request ends."""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from datetime import date, timedelta

import httpx
import pytest

from services.gateway.app import create_app
from services.registry.commands import commands_of
from shared import access
from shared.access import SharedScope
from shared.auth import Principal, TokenService
from shared.db import create_pool, transaction

SINCE = date(2024, 1, 1)
HOUR = timedelta(hours=1)
PAGE = "query($other: ID!) { me { unit { name } } other: unit(id: $other) { name } version }"


def principal(tenant: str, *roles: str) -> Principal:
    return Principal(subject="tester", tenant=tenant, roles=frozenset(roles))


@pytest.fixture
async def two_units(runtime) -> tuple[str, str]:
    """Two national units of trees of their own: neither reads the other."""
    registry = commands_of(runtime)
    units = (f"a{uuid.uuid4().hex[:8]}-tld", f"b{uuid.uuid4().hex[:8]}-tld")
    for unit in units:
        await registry.register(
            None, unit_id=unit, name=f"Đơn vị {unit}", level="national", effective_on=SINCE
        )
    return units


@pytest.fixture
async def client(settings, runtime):
    transport = httpx.ASGITransport(app=create_app(settings, runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_every_use_of_one_request_reads_on_one_transaction_as_its_caller(runtime, tenant):
    # given a shared scope for one caller, on a pool of its own (the application's lends
    # connections to the server's background work too, the roll-ups' keeper among them, so its
    # idle count moves by itself: CI once saw 8 of 12)
    pool = await create_pool(await runtime.database.app_url(), runtime.settings)
    try:
        shared = SharedScope(pool, principal(tenant, "officer"))
        free_before = pool.get_idle_size()
        # when three resolvers read through it at once
        sql = (
            "SELECT txid_current(), current_setting('thidua.tenant'), "
            "current_setting('thidua.reach')"
        )

        async def read() -> tuple:
            async with shared.use() as conn:
                return tuple(await conn.fetchrow(sql))

        seen = await asyncio.gather(read(), read(), read())
        # then one transaction served them all, with the caller's unit and reach
        assert len(set(seen)) == 1
        assert seen[0][1:] == (tenant, "subtree")
        assert pool.get_idle_size() < pool.get_size()  # (held until the request ends)
        # and the connection goes back when the request ends
        await shared.close()
        assert pool.get_idle_size() >= free_before
        assert pool.get_idle_size() == pool.get_size()
    finally:
        await pool.close()


async def test_a_use_that_fails_ends_its_transaction_and_the_next_opens_a_fresh_one(
    runtime, tenant
):
    shared = SharedScope(runtime.pool, principal(tenant, "member"))
    async with shared.use() as conn:
        first = await conn.fetchval("SELECT txid_current()")
    # given a use whose statement fails (its transaction is aborted)
    with pytest.raises(Exception, match="division by zero"):
        async with shared.use() as conn:
            await conn.fetchval("SELECT 1 / 0")
    # when the next resolver reads
    async with shared.use() as conn:
        second = await conn.fetchval("SELECT txid_current()")
        reach = await conn.fetchval("SELECT current_setting('thidua.reach')")
    await shared.close()
    # then it reads in a new transaction, still as the same caller
    assert second != first
    assert reach == "unit"


async def test_a_query_of_several_fields_reads_each_as_its_own_caller_only(
    client, settings, two_units
):
    tokens = TokenService.from_settings(settings)
    a, b = two_units

    async def page(me: str, other: str) -> dict:
        token = tokens.issue(tenant=me, roles=["officer"], subject=f"t@{me}", ttl=HOUR)
        answer = await client.post(
            "/graphql",
            json={"query": PAGE, "variables": {"other": other}},
            headers={"Authorization": f"Bearer {token}"},
        )
        return answer.json()

    # when both units ask for their page and for the other unit, many times at once
    answers = await asyncio.gather(*(page(a, b) if i % 2 else page(b, a) for i in range(20)))
    # then each saw its own unit and not the other, and the out-of-reach field (NOT_FOUND,
    # answered null) did not spoil the fields after it
    for i, answer in enumerate(answers):
        me = a if i % 2 else b
        assert "errors" not in answer
        assert answer["data"]["me"]["unit"]["name"] == f"Đơn vị {me}"
        assert answer["data"]["other"] is None


@pytest.mark.parametrize("tenant", ["o'brien", "back\\slash", "'; RESET thidua.reach; --", "Đ"])
async def test_a_scope_sets_the_callers_unit_exactly_whatever_its_characters(runtime, tenant):
    # the transaction and the reach are opened in one simple query, with the unit as a literal
    async with access.scope(runtime.pool, principal(tenant, "officer")) as conn:
        assert await conn.fetchval("SELECT current_setting('thidua.tenant')") == tenant
        assert await conn.fetchval("SELECT current_setting('thidua.reach')") == "subtree"
        assert conn.is_in_transaction()
    # and the connection goes back outside it, its settings gone with the transaction
    async with runtime.pool.acquire() as conn:
        assert not conn.is_in_transaction()


async def test_a_savepoint_inside_a_scope_undoes_only_its_own_work(runtime):
    async def probe(conn, value: str | None = None) -> str:
        if value is not None:
            await conn.execute("SELECT set_config('thidua.probe', $1, true)", value)
        return await conn.fetchval("SELECT current_setting('thidua.probe', true)")

    async with access.scope(runtime.pool, principal("tld", "officer")) as conn:
        await probe(conn, "1")
        with pytest.raises(ZeroDivisionError):
            async with transaction(conn):
                await probe(conn, "2")
                raise ZeroDivisionError
        assert await probe(conn) == "1"
        async with transaction(conn):
            await probe(conn, "3")
        assert await probe(conn) == "3"
        assert conn.is_in_transaction()


asking: contextvars.ContextVar[bool] = contextvars.ContextVar("asking", default=False)


async def test_an_auditors_page_holds_one_connection_at_a_time(
    client, settings, runtime, two_units, monkeypatch
):
    """The audit fields read on the request's shared connection; verification, which reads as
    the unit on a connection of its own, gives the shared one back first. A request holding
    one connection while it waits for a second could, with enough of them, wait for ever."""
    unit, _ = two_units
    pool = runtime.pool
    held = {"now": 0, "most": 0}
    acquire = type(pool).acquire

    class Counted:
        def __init__(self, checkout) -> None:
            self.checkout = checkout

        async def __aenter__(self):
            conn = await self.checkout.__aenter__()
            self.mine = asking.get()  # not the log signal's NOTIFY of an earlier test, say
            if self.mine:
                held["now"] += 1
                held["most"] = max(held["most"], held["now"])
            return conn

        async def __aexit__(self, *exc):
            if self.mine:
                held["now"] -= 1
            return await self.checkout.__aexit__(*exc)

    monkeypatch.setattr(pool, "acquire", lambda **kw: Counted(acquire(pool, **kw)))
    token = TokenService.from_settings(settings).issue(
        tenant=unit, roles=["auditor"], subject="kiem-toan", ttl=HOUR
    )
    query = (
        "query($u: ID!) { me { unit { name } } auditLog(unitId: $u, first: 5) { seq } "
        "verification(unitId: $u) { ok } }"
    )
    asking.set(True)  # the request's tasks inherit it
    answer = await client.post(
        "/graphql",
        json={"query": query, "variables": {"u": unit}},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = answer.json()
    assert "errors" not in body, body
    assert body["data"]["verification"]["ok"] is True and body["data"]["auditLog"]
    assert held["most"] == 1
