"""The registry's commands: register, rename, move, merge, dissolve.

Each runs through the command pipeline in one transaction (shared/commands.py
``run_in_transaction``) that holds the registry's lock: the tree's rules (no cycle, the parent's
level, the nesting limit) span units, so they are checked under it on rows no other registry
command is changing, and registry changes are rare. The decision checks access and the rules
against the read model, the events go to each affected unit's own log (logs in tenant order),
the registry's inline projection applies them before the commit, and the answer is the unit's
row read after that. A refused command writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg

from services.registry.domain import Unit, check_registration, unit_stream
from services.registry.projections import PROJECTION, WRITERS_LOCK
from services.registry.rules import (
    UnitExists,
    UnitFacts,
    check_dissolve,
    check_merge,
    check_no_cycle,
    check_parent,
)
from shared import access
from shared.auth import Principal
from shared.clock import today
from shared.commands import Attempt, Commands, Decide
from shared.errors import NotFound
from shared.eventstore import StoredEvent, check_tenant
from shared.projections import apply_inline
from shared.text import clean


def _optional(text: str | None) -> str | None:
    cleaned = clean(text) if text is not None else ""
    return cleaned or None


async def project(conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
    """The registry's inline projection, on the command's connection, in its transaction."""
    await apply_inline(conn, PROJECTION, events)


def commands_of(runtime: Any) -> RegistryCommands:
    """The registry commands of a running Thi đua, built from its one command pipeline
    (services.gateway.runtime.Runtime.pipeline), as GraphQL, the CLI and the demo use them."""
    return RegistryCommands(runtime.pipeline.service(PROJECTION.registry))


class RegistryCommands:
    def __init__(self, commands: Commands) -> None:
        self.commands = commands
        self.repository = commands.repository
        self.store = commands.store

    async def run(
        self,
        actor: Principal | None,
        command: str,
        unit_id: str,
        decide: Decide[str],
        *,
        idempotency_key: str | None = None,
        input: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``decide`` under the registry's lock, its units' events appended and projected;
        the answer is ``unit_id``'s row (the unit whose log holds the idempotency key)."""
        return await self.commands.run_in_transaction(
            actor,
            command,
            decide,
            tenant_id=unit_id,
            project=project,
            lock=WRITERS_LOCK,
            respond=_row_of_answer,
            idempotency_key=idempotency_key,
            input=input,
        )

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
        idempotency_key: str | None = None,
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
        input = {
            "unit_id": unit_id,
            "name": name,
            "short_name": short_name,
            "level": level,
            "sector_type": sector_type,
            "members": members,
            "parent_id": parent_id,
            "effective_on": on,
        }

        async def decide(attempt: Attempt) -> str:
            conn = attempt.conn
            if parent_id is not None:
                if actor is not None:
                    await access.require_registry_admin(conn, actor, parent_id, on, or_self=True)
                check_parent(unit_id, level, await _facts(conn, parent_id), on)
            elif actor is not None:
                raise access.Forbidden("Chỉ quản trị hệ thống tạo được đơn vị gốc.")
            if await _exists(conn, unit_id):
                raise UnitExists(unit_id, unit=unit_id)
            unit = Unit.register(**input)
            attempt.save(unit, tenant_id=unit_id)
            return unit_id

        return await self.run(
            actor, "RegisterUnit", unit_id, decide, idempotency_key=idempotency_key, input=input
        )

    async def rename(
        self,
        actor: Principal | None,
        unit_id: str,
        name: str,
        short_name: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        name, short_name = clean(name), _optional(short_name)

        async def decide(attempt: Attempt) -> str:
            await _check_admin(attempt.conn, actor, unit_id, today())
            unit = await self._load(attempt, unit_id)
            unit.rename(name, short_name)
            return unit_id

        input = {"unit_id": unit_id, "name": name, "short_name": short_name}
        return await self.run(
            actor, "RenameUnit", unit_id, decide, idempotency_key=idempotency_key, input=input
        )

    async def move(
        self,
        actor: Principal | None,
        unit_id: str,
        to_parent: str,
        effective_on: date,
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        async def decide(attempt: Attempt) -> str:
            conn = attempt.conn
            await _check_admin(conn, actor, unit_id, effective_on)
            if actor is not None:
                await access.require_registry_admin(
                    conn, actor, to_parent, effective_on, or_self=True
                )
            unit = await self._load(attempt, unit_id)
            parent = await _facts(conn, to_parent)
            unit.move(to_parent, effective_on)
            check_no_cycle(unit_id, to_parent, await _ancestors(conn, to_parent, effective_on))
            check_parent(unit_id, unit.level, parent, effective_on)
            return unit_id

        input = {"unit_id": unit_id, "to_parent": to_parent, "effective_on": effective_on}
        return await self.run(
            actor, "MoveUnit", unit_id, decide, idempotency_key=idempotency_key, input=input
        )

    async def merge(
        self,
        actor: Principal | None,
        merged: Sequence[str],
        into: str,
        effective_on: date,
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Merge units into a survivor from a date: their active children move under the
        survivor, and their histories stay readable under it."""

        async def decide(attempt: Attempt) -> str:
            conn = attempt.conn
            for unit_id in (*merged, into):
                await _check_admin(conn, actor, unit_id, effective_on, or_self=unit_id == into)
            survivor_facts = await _facts(conn, into)
            facts = [await _facts(conn, unit_id) for unit_id in merged]
            check_merge(facts, survivor_facts, set(await _ancestors(conn, into, effective_on)))
            survivor = await self._load(attempt, into)
            for unit_id in merged:
                for child_id in await _active_children(conn, unit_id):
                    child = await self._load(attempt, child_id)
                    child.move(into, effective_on, reason=f"merge:{unit_id}")
                unit = await self._load(attempt, unit_id)
                unit.merge_into(into, effective_on)
            survivor.absorb(list(merged), effective_on)
            return into

        input = {"merged": list(merged), "into": into, "effective_on": effective_on}
        return await self.run(
            actor, "MergeUnits", into, decide, idempotency_key=idempotency_key, input=input
        )

    async def dissolve(
        self,
        actor: Principal | None,
        unit_id: str,
        effective_on: date,
        reason: str = "",
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        reason = clean(reason)

        async def decide(attempt: Attempt) -> str:
            conn = attempt.conn
            await _check_admin(conn, actor, unit_id, effective_on)
            unit = await self._load(attempt, unit_id)
            check_dissolve(unit_id, await _active_children(conn, unit_id))
            unit.dissolve(effective_on, reason)
            return unit_id

        input = {"unit_id": unit_id, "effective_on": effective_on, "reason": reason}
        return await self.run(
            actor, "DissolveUnit", unit_id, decide, idempotency_key=idempotency_key, input=input
        )

    async def _load(self, attempt: Attempt, unit_id: str) -> Unit:
        """The unit's registry stream, whoever may read the rest of its log, saved to its own
        log once the decision is made (a unit loaded and left unchanged appends nothing)."""
        check_tenant(unit_id)
        rows = await attempt.conn.fetch("SELECT * FROM thidua_registry_events($1)", unit_id)
        unit = self.repository.fold(map(StoredEvent.from_row, rows), unit_id)
        assert isinstance(unit, Unit) and unit.id == unit_stream(unit_id)
        attempt.save(unit, tenant_id=unit_id)
        return unit


async def _check_admin(
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


async def _row_of_answer(conn: asyncpg.Connection, unit_id: str) -> dict[str, Any]:
    return await unit_row(conn, unit_id)


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
