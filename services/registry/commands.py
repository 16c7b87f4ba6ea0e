"""The registry's commands: register, rename, move, merge, dissolve.

Each runs in one transaction that holds the registry's lock (the tree's rules span units, and
registry changes are rare), checks access and the rules against the read model, appends the
events to each affected unit's own log, and projects them before committing. A refused command
writes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import date
from typing import Any

import asyncpg

from services.registry import projections
from services.registry.domain import Unit, check_registration, unit_stream
from services.registry.rules import (
    UnitExists,
    UnitFacts,
    check_dissolve,
    check_merge,
    check_no_cycle,
    check_parent,
)
from shared import access
from shared.aggregates import Repository
from shared.auth import Principal
from shared.clock import today
from shared.db import cancelled_as_busy, set_reach
from shared.errors import NotFound
from shared.eventstore import StoredEvent, check_tenant
from shared.text import clean, search_key

_LOCK_KEY = 0x7468_6964_7561_0001  # registry writers queue here
Written = list[tuple[str, int]]


def _optional(text: str | None) -> str | None:
    cleaned = clean(text) if text is not None else ""
    return cleaned or None


class RegistryCommands:
    def __init__(self, pool: asyncpg.Pool, repository: Repository) -> None:
        self.pool = pool
        self.repository = repository
        self.store = repository.store

    @asynccontextmanager
    async def writing(
        self, connection: asyncpg.Connection | None = None, actor: Principal | None = None
    ) -> AsyncIterator[tuple[asyncpg.Connection, Written]]:
        """A registry command's transaction (on ``connection``, else one from the pool), and the
        list of (tenant, seq) it appends: followers of those logs hear of them once it has
        committed. Its reads are the actor's (row-level security); the registry's own facts
        come from the owner's functions, and the tree changes only through them
        (shared/migrations/0010_dated_reach.sql)."""
        written: Written = []
        with cancelled_as_busy():
            async with AsyncExitStack() as stack:
                conn = connection or await stack.enter_async_context(self.pool.acquire())
                async with conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
                    tenant = actor.tenant if actor is not None else ""
                    await set_reach(conn, tenant, access.reach_of(actor))
                    yield conn, written
        for tenant_id, seq in written:
            self.store.announce(tenant_id, seq)

    async def register(
        self,
        actor: Principal | None,
        *,
        unit_id: str,
        name: str,
        short_name: str | None = None,
        level: str,
        sector_type: str | None = None,
        members: int = 0,
        parent_id: str | None = None,
        effective_on: date | None = None,
    ) -> dict[str, Any]:
        """Register a unit under ``parent_id``, its id chosen by the caller.

        Ids are unique in the whole country, so UNIT_EXISTS tells of a unit the caller may not
        reach. It is therefore the last answer given: only to an admin of the parent, for a
        request right in every other respect (the input, the parent, the level). What it tells
        is that the id is taken, nothing of the unit that holds it: unit ids are codes, not
        secrets, and a client must learn that an id is taken to choose another."""
        check_tenant(unit_id)
        on = effective_on or today()
        name, short_name, sector_type = clean(name), _optional(short_name), _optional(sector_type)
        check_registration(name, short_name, level, sector_type, members, parent_id)
        async with self.writing(actor=actor) as (conn, written):
            if parent_id is not None:
                if actor is not None:
                    await access.require_registry_admin(conn, actor, parent_id, on, or_self=True)
                check_parent(unit_id, level, await _facts(conn, parent_id), on)
            elif actor is not None:
                raise access.Forbidden("Chỉ quản trị hệ thống tạo được đơn vị gốc.")
            if await _exists(conn, unit_id):
                raise UnitExists(unit_id, unit=unit_id)
            unit = Unit.register(
                unit_id=unit_id,
                name=name,
                short_name=short_name,
                level=level,
                sector_type=sector_type,
                members=members,
                parent_id=parent_id,
                effective_on=on,
            )
            await self._save(conn, written, actor, "RegisterUnit", [unit])
            return await unit_row(conn, unit_id)

    async def rename(
        self, actor: Principal | None, unit_id: str, name: str, short_name: str | None = None
    ) -> dict[str, Any]:
        async with self.writing(actor=actor) as (conn, written):
            await self._check_admin(conn, actor, unit_id, today())
            unit = await self._load(conn, unit_id)
            unit.rename(clean(name), _optional(short_name))
            await self._save(conn, written, actor, "RenameUnit", [unit])
            return await unit_row(conn, unit_id)

    async def move(
        self, actor: Principal | None, unit_id: str, to_parent: str, effective_on: date
    ) -> dict[str, Any]:
        async with self.writing(actor=actor) as (conn, written):
            await self._check_admin(conn, actor, unit_id, effective_on)
            if actor is not None:
                await access.require_registry_admin(
                    conn, actor, to_parent, effective_on, or_self=True
                )
            unit = await self._load(conn, unit_id)
            parent = await _facts(conn, to_parent)
            unit.move(to_parent, effective_on)
            check_no_cycle(unit_id, to_parent, await _ancestors(conn, to_parent, effective_on))
            check_parent(unit_id, unit.level, parent, effective_on)
            await self._save(conn, written, actor, "MoveUnit", [unit])
            return await unit_row(conn, unit_id)

    async def merge(
        self,
        actor: Principal | None,
        merged: Sequence[str],
        into: str,
        effective_on: date,
    ) -> dict[str, Any]:
        """Merge units into a survivor from a date: their active children move under the
        survivor, and their histories stay readable under it."""
        async with self.writing(actor=actor) as (conn, written):
            for unit_id in (*merged, into):
                await self._check_admin(conn, actor, unit_id, effective_on, or_self=unit_id == into)
            survivor_facts = await _facts(conn, into)
            facts = [await _facts(conn, unit_id) for unit_id in merged]
            check_merge(facts, survivor_facts, set(await _ancestors(conn, into, effective_on)))
            survivor = await self._load(conn, into)
            changed: list[Unit] = []
            for unit_id in merged:
                for child_id in await _active_children(conn, unit_id):
                    child = await self._load(conn, child_id)
                    child.move(into, effective_on, reason=f"merge:{unit_id}")
                    changed.append(child)
                unit = await self._load(conn, unit_id)
                unit.merge_into(into, effective_on)
                changed.append(unit)
            survivor.absorb(list(merged), effective_on)
            await self._save(conn, written, actor, "MergeUnits", [*changed, survivor])
            return await unit_row(conn, into)

    async def dissolve(
        self, actor: Principal | None, unit_id: str, effective_on: date, reason: str = ""
    ) -> dict[str, Any]:
        async with self.writing(actor=actor) as (conn, written):
            await self._check_admin(conn, actor, unit_id, effective_on)
            unit = await self._load(conn, unit_id)
            check_dissolve(unit_id, await _active_children(conn, unit_id))
            unit.dissolve(effective_on, clean(reason))
            await self._save(conn, written, actor, "DissolveUnit", [unit])
            return await unit_row(conn, unit_id)

    async def _check_admin(
        self,
        conn: asyncpg.Connection,
        actor: Principal | None,
        unit_id: str,
        on: date,
        *,
        or_self: bool = False,
    ) -> None:
        if actor is not None:
            await access.require_registry_admin(conn, actor, unit_id, on, or_self=or_self)
        elif not await _exists(conn, unit_id):
            raise NotFound(unit_id, id=unit_id)

    async def _load(self, conn: asyncpg.Connection, unit_id: str) -> Unit:
        """The unit's registry stream, whoever may read the rest of its log."""
        check_tenant(unit_id)
        rows = await conn.fetch("SELECT * FROM thidua_registry_events($1)", unit_id)
        unit = self.repository.fold(map(StoredEvent.from_row, rows), unit_id)
        assert isinstance(unit, Unit) and unit.id == unit_stream(unit_id)
        return unit

    async def _save(
        self,
        conn: asyncpg.Connection,
        written: Written,
        actor: Principal | None,
        command: str,
        units: list[Unit],
    ) -> None:
        meta = access.command_meta(actor, command)
        places: list[projections.Place] = []
        for unit in units:
            appended = await self.repository.save(unit.unit_id, unit, meta=meta, connection=conn)
            key = search_key(unit.name, unit.short_name)
            places.extend((unit.unit_id, seq, key) for seq in appended.seqs)
        await projections.apply_logged(conn, places)
        written.extend((tenant, seq) for tenant, seq, _ in places)


async def _exists(conn: asyncpg.Connection, unit_id: str) -> bool:
    # The log, not only the read model: a unit id is taken for good once its log is open.
    return unit_id in await conn.fetchval("SELECT thidua_units_taken($1)", [unit_id])


async def _facts(conn: asyncpg.Connection, unit_id: str) -> UnitFacts:
    row = await conn.fetchrow(
        "SELECT tenant_id, level, status, since, parent_id FROM thidua_registry_units($1)",
        [unit_id],
    )
    if row is None:
        raise NotFound(unit_id, id=unit_id)
    return UnitFacts(row["tenant_id"], row["level"], row["status"], row["since"], row["parent_id"])


async def _ancestors(conn: asyncpg.Connection, unit_id: str, on: date) -> list[str]:
    return list(await conn.fetchval("SELECT thidua_registry_ancestors($1, $2)", unit_id, on))


async def _active_children(conn: asyncpg.Connection, unit_id: str) -> list[str]:
    return list(await conn.fetchval("SELECT thidua_registry_children($1)", unit_id))


UNIT_COLUMNS = (
    "tenant_id, name, short_name, level, sector_type, members, parent_id, status, merged_into, "
    "since, ended_on, version"
)


async def unit_row(conn: asyncpg.Connection, unit_id: str) -> dict[str, Any]:
    row = await conn.fetchrow(f"SELECT {UNIT_COLUMNS} FROM thidua_registry_units($1)", [unit_id])
    if row is None:
        raise NotFound(unit_id, id=unit_id)
    return dict(row)
