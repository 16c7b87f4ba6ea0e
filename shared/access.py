"""Who may read and do what: the one place the access rules live.

A caller (a ``Principal`` from a token, shared/auth.py) acts for one unit. Reads reach the
caller's own unit and, for every role but ``member``, the units that are or were below it;
auditors also read those units' event history and its verification. Writes stay in the caller's
own unit, except the registry's, which the admins of a unit's ancestors make. Anything out of
reach answers "not found", never "forbidden", so no one learns what exists elsewhere.

The same reach is the database's second wall: ``scope`` opens a transaction with the caller's
unit set locally, and row-level security filters every read-model row by it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from enum import Enum
from typing import Any

import asyncpg

from shared.auth import Principal, Unauthenticated
from shared.errors import DomainError, NotFound, UnitInactive


class Forbidden(DomainError):
    code = "FORBIDDEN"
    message_vi = "Vai trò của bạn không được làm việc này."


class Relation(Enum):
    SELF = "self"
    DESCENDANT = "descendant"  # at any time: history stays readable after a move or a merge
    OTHER = "other"  # parent, sibling, cousin, unrelated: nothing internal is readable


SUBTREE_READERS = frozenset({"officer", "approver", "council", "auditor", "admin"})


@asynccontextmanager
async def scope(
    pool: asyncpg.Pool, principal: Principal | None
) -> AsyncIterator[asyncpg.Connection]:
    """A transaction whose reads row-level security limits to the caller's reach (no principal:
    nothing at all)."""
    async with pool.acquire() as conn, conn.transaction():
        tenant = principal.tenant if principal is not None else ""
        await conn.execute("SELECT set_config('thidua.tenant', $1, true)", tenant)
        yield conn


async def relation(conn: asyncpg.Connection, principal: Principal, unit_id: str) -> Relation:
    if unit_id == principal.tenant:
        return Relation.SELF
    below = await conn.fetchval(
        "SELECT 1 FROM unit_closure WHERE ancestor = $1 AND descendant = $2 AND depth > 0 LIMIT 1",
        principal.tenant,
        unit_id,
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


async def require_auditable(conn: asyncpg.Connection, principal: Principal, unit_id: str) -> None:
    rel = await relation(conn, principal, unit_id)
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
    """The caller's unit is in the registry and active: a merged or dissolved unit, or a token
    for a unit never registered, gives no command."""
    status = await conn.fetchval("SELECT status FROM units WHERE tenant_id = $1", principal.tenant)
    if status is None:
        raise NotFound(principal.tenant, id=principal.tenant)
    if status != "active":
        raise UnitInactive(principal.tenant, unit=principal.tenant, status=status)


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
