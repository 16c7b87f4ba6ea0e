"""The registry's writer is the owner's function that applies logged registry events
(shared/migrations/0010_dated_reach.sql): it builds the tree the Python projection would, it
applies only events that are in the log, each once, and the application cannot write the tree."""

from __future__ import annotations

from datetime import date

import asyncpg
import pytest

from services.registry.projections import _load, closure_rows


async def closure_of(conn: asyncpg.Connection, prefix: str) -> set[tuple]:
    rows = await conn.fetch(
        "SELECT ancestor, descendant, depth, valid_from, valid_to FROM unit_closure "
        "WHERE descendant LIKE $1",
        prefix + "-%",
    )
    return {tuple(r) for r in rows}


async def test_the_function_builds_the_tree_the_python_projection_would(registry, tree, owner):
    # Given moves, a merge and a dissolution, each applied by the registry's function
    await registry.move(None, tree.cs1, tree.upper2, date(2025, 1, 1))
    await registry.move(None, tree.upper3, tree.prov1, date(2025, 1, 15))
    await registry.merge(None, [tree.upper1], tree.upper2, date(2025, 2, 1))
    await registry.move(None, tree.upper3, tree.prov2, date(2025, 6, 1))
    await registry.dissolve(None, tree.cs1, date(2025, 3, 1), "giải thể")
    # When the Python projection computes the closure from the same parents and lives
    units = [
        r["tenant_id"]
        for r in await owner.fetch(
            "SELECT tenant_id FROM units WHERE tenant_id LIKE $1", tree.prefix + "-%"
        )
    ]
    life, intervals = await _load(owner, set(units))
    expected = set(closure_rows(sorted(units), life, intervals, {}))
    # Then both agree, span by span
    assert await closure_of(owner, tree.prefix) == expected
    assert (tree.prov1, tree.upper3, 1, date(2025, 1, 15), date(2025, 6, 1)) in expected


async def test_only_logged_events_are_applied_each_once(runtime, registry, tree, owner):
    seq = await owner.fetchval(
        "SELECT seq FROM events WHERE tenant_id = $1 AND event_type = 'UnitRegistered'", tree.cs1
    )
    async with runtime.pool.acquire() as conn:
        # An event applied already is refused (its version is not the next)
        with pytest.raises(asyncpg.PostgresError, match="not the next"):
            await conn.execute(
                "SELECT thidua_registry_apply_known($1, $2, $3)", [tree.cs1], [seq], ["x"]
            )
        # A place with no registry event in the log changes nothing
        applied = await conn.fetchval(
            "SELECT thidua_registry_apply_known($1, $2, $3)", [tree.cs1], [seq + 99], ["x"]
        )
        # and the application reaches the tree through that function only (0061: it dates the
        # tree's rows by the log, whatever the caller set)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("SELECT thidua_registry_apply($1, $2, $3)", [tree.cs1], [seq], ["x"])
    assert applied == 0
    assert await closure_of(owner, tree.prefix)  # the tree is still there
