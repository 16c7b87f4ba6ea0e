"""Who may read and do what: the one place the access rules live.

A caller (a ``Principal`` from a token, shared/auth.py) acts for one unit. Writes stay in the
caller's own unit, except the registry's, which the admins of a unit's ancestors make. Anything
out of reach answers "not found", never "forbidden", so no one learns what exists elsewhere.

What a caller reads (shared/migrations/0010_dated_reach.sql says the same, as policies):

- Role rule: a ``member`` reads its own unit's data only; every other role
  (``SUBTREE_READERS``) also reads below its unit; an ``auditor`` also reads the event history
  of the units below (and verifies the whole chain of a unit below it today).
- Dated reach: every row has the day it was recorded (Vietnamese calendar day): an event its
  ``recorded_at``; a row of the campaigns' read model its ``recorded_on``, the day of the event
  that made it. A unit reads below itself only through an edge of ``unit_closure`` that held on
  that day, ``valid_from <= day < valid_to``. Since no row is recorded after today, an edge
  that begins in the future grants nothing until its day; a former ancestor reads what was
  recorded while the edge held and nothing after; a merged or dissolved unit reads nothing
  recorded on or after the day it ended. The tree itself (``units``, ``unit_parents``,
  ``unit_closure``) is read as of today.
- A launched campaign is also read by every unit that is or was below its unit on a day from
  its launch to today: it is addressed to them.

The same reach is the database's second wall: ``scope`` opens a transaction with the caller's
unit and reach set locally, and row-level security filters every row by them, so a query that
forgets its filter still sees nothing it should not.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from datetime import date
from enum import Enum
from typing import Any

import asyncpg

from shared.auth import Principal, Unauthenticated
from shared.clock import today
from shared.db import cancelled_as_busy, set_reach
from shared.errors import DomainError, NotFound, UnitInactive


class Forbidden(DomainError):
    code = "FORBIDDEN"
    message_vi = "Vai trò của bạn không được làm việc này."


class Relation(Enum):
    SELF = "self"
    # Below through an edge that has begun (it may have ended since): what was recorded while
    # it held stays readable after a move or a merge, row by row (see the module's docstring).
    DESCENDANT = "descendant"
    OTHER = "other"  # parent, sibling, cousin, unrelated, or below only from a future day


SUBTREE_READERS = frozenset({"officer", "approver", "council", "auditor", "admin"})


def reach_of(principal: Principal | None) -> str:
    """The reach row-level security gives a caller (``thidua.reach``): 'unit', 'subtree' or
    'audit'."""
    if principal is None or not principal.roles & SUBTREE_READERS:
        return "unit"
    return "audit" if principal.has("auditor") else "subtree"


@asynccontextmanager
async def scope(
    pool: asyncpg.Pool, principal: Principal | None
) -> AsyncIterator[asyncpg.Connection]:
    """A transaction whose reads row-level security limits to the caller's reach (no principal:
    nothing at all). Everything a request does runs on this one connection: one that waited for
    a second while holding it could, with enough others doing the same, wait for ever.

    Its checkout waits as long as the pool allows (shared/db.py, THIDUA_POOL_ACQUIRE_TIMEOUT_S),
    and a statement cancelled by the server's statement_timeout answers SERVICE_BUSY too."""
    tenant = principal.tenant if principal is not None else ""
    with cancelled_as_busy():
        async with pool.acquire() as conn:
            await catch_up(conn)
            await conn.execute(_begin_with_reach(tenant, reach_of(principal)))
            try:
                yield conn
            except BaseException:
                await _end(conn, "ROLLBACK")
                raise
            await _end(conn, "COMMIT")


def _begin_with_reach(tenant: str, reach: str) -> str:
    """The transaction opened and the reach set in one round trip (a simple query, so its
    values are literals, escaped here: a unit id from a verified token, a reach of ours)."""
    if "\x00" in tenant:
        raise ValueError("a unit id has no NUL")
    literal = "E'" + tenant.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return (
        f"BEGIN; SELECT set_config('thidua.tenant', {literal}, true), "
        f"set_config('thidua.reach', '{reach}', true)"
    )


async def _end(conn: asyncpg.Connection, how: str) -> None:
    """COMMIT or ROLLBACK; a connection that cannot end its transaction (its task cancelled
    mid-statement) is closed, never handed back inside it."""
    try:
        await conn.execute(how)
    except BaseException:
        conn.terminate()
        raise


class SharedScope:
    """One GraphQL query's reads on one :func:`scope`: the first resolver that reads checks the
    connection out and sets the caller's reach; the others reuse it, one at a time (resolvers
    run concurrently, a connection runs one statement at a time); :meth:`close` gives it back
    when the request ends. Checking out, opening a transaction and setting the reach once per
    request instead of once per field is most of what a page of small fields costs.

    The reach is the one principal's the request was made for, fixed at creation. A resolver
    whose block raises ends the transaction (rolled back, so an aborted one never serves the
    next field) and the next resolver opens a fresh one. Queries only: a mutation's commands
    take connections of their own (shared/commands.py), and a request holding one while waiting
    for a second could, with enough others doing the same, wait for ever."""

    def __init__(self, pool: asyncpg.Pool, principal: Principal | None) -> None:
        self.pool = pool
        self.principal = principal
        self._lock = asyncio.Lock()
        self._held = AsyncExitStack()
        self._conn: asyncpg.Connection | None = None

    @asynccontextmanager
    async def use(self) -> AsyncIterator[asyncpg.Connection]:
        with cancelled_as_busy():
            async with self._lock:
                if self._conn is None:
                    self._conn = await self._held.enter_async_context(
                        scope(self.pool, self.principal)
                    )
                try:
                    yield self._conn
                except BaseException as exc:
                    await self._end(exc)
                    raise

    @asynccontextmanager
    async def set_aside(self) -> AsyncIterator[None]:
        """No connection held, and none taken by this request's other fields, until it ends."""
        async with self._lock:
            await self._end(None)
            yield

    async def close(self) -> None:
        """The end of the request: the transaction commits, the connection goes back."""
        async with self._lock:
            await self._end(None)

    async def _end(self, exc: BaseException | None) -> None:
        held, self._held, self._conn = self._held, AsyncExitStack(), None
        await held.__aexit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)


def reading(info: Any) -> AbstractAsyncContextManager[asyncpg.Connection]:
    """The scoped connection a GraphQL resolver reads on: its request's :class:`SharedScope`
    (``info.context["reads"]``, a query's), else a :func:`scope` of its own."""
    principal = principal_of(info)
    shared = info.context.get("reads")
    if shared is None:
        return scope(info.context["runtime"].pool, principal)
    if shared.principal is not principal:
        raise RuntimeError("a request's shared scope reads for its own caller only")
    return shared.use()


async def fetch(info: Any, sql: str, *args: Any) -> list[Any]:
    """A resolver's read: the rows of ``sql`` on the connection :func:`reading` gives it."""
    async with reading(info) as conn:
        return await conn.fetch(sql, *args)


async def fetch_one(info: Any, sql: str, key: Any) -> Any:
    """The one row ``sql`` finds for ``key`` in the caller's reach; none is NotFound (an id out
    of reach reads as one that does not exist)."""
    rows = await fetch(info, sql, key)
    if not rows:
        raise NotFound(str(key)[:64], id=str(key)[:64])
    return rows[0]


@asynccontextmanager
async def reads_set_aside(info: Any) -> AsyncIterator[None]:
    """For a resolver that takes a connection of its own (:func:`as_unit`): the request's
    shared connection is given back first, and the request's other fields wait meanwhile (they
    open another after), so that a request never holds one connection while waiting for a
    second."""
    shared = info.context.get("reads")
    if shared is None:
        yield
        return
    async with shared.set_aside():
        yield


# units.parent_id is the tree as of today: a move dated in the future changes it on its day, when
# the first request of that day in this process brings the day's moves in (the registry's
# function, shared/migrations/0010_dated_reach.sql; any process may, they all agree).
_tree_as_of: date | None = None


async def catch_up(conn: asyncpg.Connection) -> None:
    """The tree's moves due today applied, once a day, before a request's transaction (every
    command's, shared/commands.py): a statement of its own, so the units it moves are locked
    only while it runs, not for as long as the request that happened to come first."""
    global _tree_as_of
    day = today()
    if day != _tree_as_of:
        await conn.execute("SELECT thidua_registry_catch_up()")
        _tree_as_of = day


@asynccontextmanager
async def as_unit(pool: asyncpg.Pool, unit_id: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection that reads as ``unit_id`` itself (its own rows, and all of its log, even
    what was recorded from its end on: reach 'log', migration 0017), for work
    done for a unit rather than for a caller: verifying a log a caller may audit, reading a log
    to follow it. Session settings, not a transaction, so the work may open its own (and they
    are reset before the connection goes back: the pool does not reset sessions)."""
    with cancelled_as_busy():
        async with pool.acquire() as conn:
            await set_reach(conn, unit_id, "log", local=False)
            try:
                yield conn
            finally:
                await _reset_or_end(conn)


async def _reset_or_end(conn: asyncpg.Connection) -> None:
    """A connection that cannot be reset (its task was cancelled mid-query) is ended, never
    handed back still reading as the unit."""
    try:
        await conn.execute("RESET thidua.tenant; RESET thidua.reach")
    except BaseException:
        conn.terminate()
        raise


async def relation(
    conn: asyncpg.Connection, principal: Principal, unit_id: str, *, now: bool = False
) -> Relation:
    """How ``unit_id`` stands to the caller's unit: below through an edge that has begun, or
    (``now``) one that holds today."""
    if unit_id == principal.tenant:
        return Relation.SELF
    day = today()
    below = await conn.fetchval(
        "SELECT 1 FROM unit_closure WHERE ancestor = $1 AND descendant = $2 AND depth > 0 "
        "AND valid_from <= $3 AND (NOT $4 OR valid_to IS NULL OR valid_to > $3) LIMIT 1",
        principal.tenant,
        unit_id,
        day,
        now,
    )
    return Relation.DESCENDANT if below else Relation.OTHER


def may_read_unit(principal: Principal, rel: Relation) -> bool:
    if rel is Relation.SELF:
        return True
    return rel is Relation.DESCENDANT and bool(principal.roles & SUBTREE_READERS)


def may_audit(principal: Principal, rel: Relation) -> bool:
    return rel is not Relation.OTHER and principal.has("auditor")


async def require_readable(conn: asyncpg.Connection, principal: Principal, unit_id: str) -> None:
    if not may_read_unit(principal, await relation(conn, principal, unit_id)):
        raise NotFound(unit_id, id=unit_id)


async def require_auditable(
    conn: asyncpg.Connection, principal: Principal, unit_id: str, *, whole_log: bool = False
) -> None:
    """The caller audits ``unit_id``: its events are then filtered row by row by their day;
    ``whole_log`` (verifying the whole chain, whose count and head tell of every event) asks
    for a unit below the caller today."""
    rel = await relation(conn, principal, unit_id, now=whole_log)
    if may_audit(principal, rel):
        return
    if may_read_unit(principal, rel):
        raise Forbidden("Cần vai trò kiểm tra (auditor).")
    raise NotFound(unit_id, id=unit_id)


async def require_registry_admin(
    conn: asyncpg.Connection, principal: Principal, unit_id: str, on: date, *, or_self: bool
) -> None:
    """The caller is an admin of a unit above ``unit_id`` on ``on`` (or of ``unit_id`` itself,
    with ``or_self``: registering a unit under one's own)."""
    rel = await relation(conn, principal, unit_id)
    if not may_read_unit(principal, rel):
        raise NotFound(unit_id, id=unit_id)
    above = await conn.fetchval(
        "SELECT 1 FROM unit_closure WHERE ancestor = $1 AND descendant = $2 AND depth >= $3 "
        "AND valid_from <= $4 AND (valid_to IS NULL OR valid_to > $4) LIMIT 1",
        principal.tenant,
        unit_id,
        0 if or_self else 1,
        on,
    )
    if not (above and principal.has("admin")):
        raise Forbidden("Chỉ quản trị viên của đơn vị cấp trên được thay đổi danh mục đơn vị.")


def principal_of(info: Any) -> Principal:
    """The caller of a GraphQL resolver (``info.context["principal"]``); none: Unauthenticated."""
    principal = info.context.get("principal")
    if principal is None:
        raise Unauthenticated()
    return principal


async def require_active_unit(conn: asyncpg.Connection, principal: Principal) -> None:
    """The caller's unit is in the registry and active: a merged or dissolved unit, a unit
    registered from a later day (what it wrote before then no edge would ever show its parent),
    or a token for a unit never registered, gives no command."""
    row = await conn.fetchrow(
        "SELECT status, since FROM units WHERE tenant_id = $1", principal.tenant
    )
    if row is None:
        raise NotFound(principal.tenant, id=principal.tenant)
    if row["status"] != "active":
        raise UnitInactive(principal.tenant, unit=principal.tenant, status=row["status"])
    if row["since"] > today():
        raise UnitInactive(
            f"Đơn vị hoạt động từ {row['since'].isoformat()}.",
            unit=principal.tenant,
            status="not_yet",
        )


def may_write(principal: Principal, tenant: str) -> bool:
    """Ordinary commands write only in the caller's own unit."""
    return principal.tenant == tenant


def command_meta(actor: Principal | None, command: str) -> dict[str, Any]:
    """The ``meta`` of a command's events: which command, who gave it, in which unit."""
    meta: dict[str, Any] = {"command": command}
    if actor is None:
        meta["actor"] = "system"
    else:
        meta.update(actor=actor.subject, actor_tenant=actor.tenant, roles=sorted(actor.roles))
    return meta
