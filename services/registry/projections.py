"""The registry's read model: ``units`` (each unit now), ``unit_parents`` (whose child over which
days) and ``unit_closure`` (ancestor, descendant, depth over a span of days).

``PROJECTION`` is the registry's inline projection (shared/projections.py): its rows are the
reach of every read and the tree's rules read them, so they must never lag. The registry's
commands and the importer apply it in the transaction that appends the events
(``apply_inline``), through the owner's function ``thidua_registry_apply_known``, which takes
the places of registry events already in the log (shared/migrations/0010_dated_reach.sql; 0023
builds a batch's registrations set-based, a level of the new tree at a time; 0061 dates the
tree's rows by the events' recorded times): the application itself may not write these
tables. The Python below does the same work for an operator on the owner's
connection: ``rebuild`` replays every log.

``units.parent_id`` is the parent as of today: a move dated in the future leaves it for its day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from itertools import groupby
from typing import Any

import asyncpg

from services.registry.domain import DISSOLVED, MERGED, REGISTRY_EVENTS, Unit
from shared.aggregates import EventRegistry
from shared.db import insert_rows
from shared.eventstore import StoredEvent
from shared.projections import Projection
from shared.text import search_key

REGISTRY_EVENT_TYPES = (
    "UnitRegistered",
    "UnitRenamed",
    "UnitMoved",
    "UnitMerged",
    "UnitsAbsorbed",
    "UnitDissolved",
)

# (ancestor, descendant, depth, valid_from, valid_to); valid_to None: still so.
ClosureRow = tuple[str, str, int, date, date | None]


# Every writer of the registry's tables queues here: its rules span the tree.
WRITERS_LOCK = 0x7468_6964_7561_0001

# Where a registry event is in the log (tenant, seq), and the search key of its unit's name
# (shared/text.py; the one field the database cannot derive itself).
Place = tuple[str, int, str]


async def apply_logged(conn: asyncpg.Connection, places: Sequence[Place]) -> None:
    """Apply registry events already appended (on ``conn``, in their transaction), in order;
    the tree's rows they write are known from the time the log recorded each (0061)."""
    if places:
        tenants, seqs, keys = (list(column) for column in zip(*places, strict=True))
        await conn.execute(
            "SELECT thidua_registry_apply_known($1::text[], $2::bigint[], $3::text[])",
            tenants,
            seqs,
            keys,
        )


# Events whose data carries the unit's name: the others leave the search key as it is.
_NAMING = frozenset({"UnitRegistered", "UnitRenamed"})


def place_of(stored: StoredEvent) -> Place:
    named = stored.event_type in _NAMING
    key = search_key(stored.data["name"], stored.data.get("short_name")) if named else ""
    return stored.tenant_id, stored.seq, key


async def _apply_logged_events(
    conn: asyncpg.Connection, registry: EventRegistry, events: Sequence[StoredEvent]
) -> None:
    """The projection's batch: one call of the owner's function, the closure rewritten once for
    each recorded time (a merge's events are recorded one log after another: the rows each
    changes are known from its own time, as a rebuild replays them)."""
    await apply_logged(conn, [place_of(e) for e in events])
    # The campaigns' figures counting new units above them (migration 0022).
    founded = [e.tenant_id for e in events if e.event_type == "UnitRegistered"]
    if founded:
        await conn.execute("SELECT thidua_units_founded($1::text[])", founded)


async def _apply_one(conn: asyncpg.Connection, stored: StoredEvent, event: Any) -> None:
    await apply_logged(conn, [place_of(stored)])


async def apply(conn: asyncpg.Connection, registry: EventRegistry, events: Sequence[StoredEvent]):
    """Project stored registry events, in log order, on ``conn`` (the owner's)."""
    touched: set[str] = set()
    for stored in events:
        if stored.event_type not in REGISTRY_EVENT_TYPES:
            continue
        domain_event = registry.decode(stored)
        handler = _HANDLERS[stored.event_type]
        if await handler(conn, stored.tenant_id, stored.stream_version, domain_event):
            touched.add(stored.tenant_id)
    if touched:
        await recompute_closure(conn, touched)


async def _registered(conn, unit_id: str, version: int, e: Any) -> bool:
    await conn.execute(
        "INSERT INTO units (tenant_id, name, short_name, level, sector_type, members, parent_id, "
        "since, search_key, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        unit_id,
        e.name,
        e.short_name,
        e.level,
        e.sector_type,
        e.members,
        e.parent_id,
        e.effective_on,
        search_key(e.name, e.short_name),
        version,
    )
    if e.parent_id is not None:
        await conn.execute(
            "INSERT INTO unit_parents (tenant_id, parent_id, valid_from) VALUES ($1, $2, $3)",
            unit_id,
            e.parent_id,
            e.effective_on,
        )
    return True


async def _renamed(conn, unit_id: str, version: int, e: Any) -> bool:
    await conn.execute(
        "UPDATE units SET name = $2, short_name = $3, search_key = $4, version = $5 "
        "WHERE tenant_id = $1",
        unit_id,
        e.name,
        e.short_name,
        search_key(e.name, e.short_name),
        version,
    )
    return False


async def _change_parent(conn, unit_id: str, parent: str, kind: str, on: date) -> None:
    await conn.execute(
        "UPDATE unit_parents SET valid_to = $2 WHERE tenant_id = $1 AND valid_to IS NULL",
        unit_id,
        on,
    )
    await conn.execute(
        "INSERT INTO unit_parents (tenant_id, parent_id, kind, valid_from) VALUES ($1, $2, $3, $4)",
        unit_id,
        parent,
        kind,
        on,
    )


# units.parent_id is the parent as of today: one from a future day waits for its day, when
# thidua_registry_catch_up (shared/migrations/0010_dated_reach.sql) brings it in. $2: the new
# parent, $4: from when.
_PARENT_AS_OF_TODAY = "CASE WHEN $4 <= thidua_today() THEN $2 ELSE parent_id END"


async def _moved(conn, unit_id: str, version: int, e: Any) -> bool:
    await _change_parent(conn, unit_id, e.to_parent, "child", e.effective_on)
    await conn.execute(
        f"UPDATE units SET parent_id = {_PARENT_AS_OF_TODAY}, version = $3 WHERE tenant_id = $1",
        unit_id,
        e.to_parent,
        version,
        e.effective_on,
    )
    return True


async def _merged(conn, unit_id: str, version: int, e: Any) -> bool:
    await _change_parent(conn, unit_id, e.into, "merged", e.effective_on)
    await conn.execute(
        f"UPDATE units SET parent_id = {_PARENT_AS_OF_TODAY}, merged_into = $2, status = $3, "
        "ended_on = $4, version = $5 WHERE tenant_id = $1",
        unit_id,
        e.into,
        MERGED,
        e.effective_on,
        version,
    )
    return True


async def _absorbed(conn, unit_id: str, version: int, e: Any) -> bool:
    await conn.execute("UPDATE units SET version = $2 WHERE tenant_id = $1", unit_id, version)
    return False


async def _dissolved(conn, unit_id: str, version: int, e: Any) -> bool:
    await conn.execute(
        "UPDATE unit_parents SET valid_to = $2 WHERE tenant_id = $1 AND valid_to IS NULL",
        unit_id,
        e.effective_on,
    )
    await conn.execute(
        "UPDATE units SET status = $2, ended_on = $3, version = $4 WHERE tenant_id = $1",
        unit_id,
        DISSOLVED,
        e.effective_on,
        version,
    )
    return True


_HANDLERS = {
    "UnitRegistered": _registered,
    "UnitRenamed": _renamed,
    "UnitMoved": _moved,
    "UnitMerged": _merged,
    "UnitsAbsorbed": _absorbed,
    "UnitDissolved": _dissolved,
}


@dataclass(frozen=True, slots=True)
class Interval:
    parent_id: str
    valid_from: date
    valid_to: date | None


def _overlap(
    a_from: date, a_to: date | None, b_from: date, b_to: date | None
) -> tuple[date, date | None] | None:
    lo = max(a_from, b_from)
    hi = a_to if b_to is None else b_to if a_to is None else min(a_to, b_to)
    return (lo, hi) if hi is None or lo < hi else None


def closure_rows(
    units: Iterable[str],
    life: dict[str, tuple[date, date | None]],
    intervals: dict[str, list[Interval]],
    known: dict[str, list[ClosureRow]],
) -> list[ClosureRow]:
    """Closure rows of ``units``, from their parent intervals and their lives; ``known`` gives
    the (correct, stored) rows of parents outside ``units``, keyed by descendant."""
    memo: dict[str, list[ClosureRow]] = {}

    def rows_of(unit: str, seen: frozenset[str]) -> list[ClosureRow]:
        if unit in memo:
            return memo[unit]
        if unit not in life:
            return known.get(unit, [])
        if unit in seen:  # the rules refuse cycles; this only stops a corrupt model looping
            return []
        since, end = life[unit]
        rows: list[ClosureRow] = [(unit, unit, 0, since, end)]
        for interval in intervals.get(unit, ()):
            for ancestor, _, depth, a_from, a_to in rows_of(interval.parent_id, seen | {unit}):
                span = _overlap(interval.valid_from, interval.valid_to, a_from, a_to)
                if span is not None:
                    rows.append((ancestor, unit, depth + 1, span[0], span[1]))
        memo[unit] = _coalesce(rows)
        return memo[unit]

    out: list[ClosureRow] = []
    for unit in units:
        out.extend(rows_of(unit, frozenset()))
    return out


def _coalesce(rows: list[ClosureRow]) -> list[ClosureRow]:
    """Join back-to-back spans of the same ancestor at the same depth (a move within a province
    leaves the province an ancestor throughout)."""
    by_key: dict[tuple[str, int], list[tuple[date, date | None]]] = defaultdict(list)
    for ancestor, _, depth, start, end in rows:
        by_key[(ancestor, depth)].append((start, end))
    unit = rows[0][1]
    out: list[ClosureRow] = []
    for (ancestor, depth), spans in by_key.items():
        spans.sort()
        start, end = spans[0]
        for s, e in spans[1:]:
            if end is not None and s == end:
                end = e
            else:
                out.append((ancestor, unit, depth, start, end))
                start, end = s, e
        out.append((ancestor, unit, depth, start, end))
    return out


async def recompute_closure(conn: asyncpg.Connection, roots: set[str]) -> None:
    """Rewrite the closure rows of ``roots`` and of every unit that ever stood below them."""
    below = await conn.fetch(
        "SELECT DISTINCT descendant FROM unit_closure WHERE ancestor = ANY($1::text[])",
        list(roots),
    )
    scope = set(roots) | {r["descendant"] for r in below}
    life, intervals = await _load(conn, scope)
    outside = {i.parent_id for ivs in intervals.values() for i in ivs} - scope
    known: dict[str, list[ClosureRow]] = defaultdict(list)
    for r in await conn.fetch(
        "SELECT ancestor, descendant, depth, valid_from, valid_to FROM unit_closure "
        "WHERE descendant = ANY($1::text[])",
        list(outside),
    ):
        known[r["descendant"]].append(tuple(r))  # type: ignore[arg-type]
    rows = closure_rows(sorted(scope), life, intervals, known)
    await conn.execute("DELETE FROM unit_closure WHERE descendant = ANY($1::text[])", list(scope))
    await insert_closure(conn, rows)


async def _load(
    conn: asyncpg.Connection, scope: set[str]
) -> tuple[dict[str, tuple[date, date | None]], dict[str, list[Interval]]]:
    life = {
        r["tenant_id"]: (r["since"], r["ended_on"] if r["status"] == DISSOLVED else None)
        for r in await conn.fetch(
            "SELECT tenant_id, since, ended_on, status FROM units WHERE tenant_id = ANY($1::text[])",
            list(scope),
        )
    }
    intervals: dict[str, list[Interval]] = defaultdict(list)
    for r in await conn.fetch(
        "SELECT tenant_id, parent_id, valid_from, valid_to FROM unit_parents "
        "WHERE tenant_id = ANY($1::text[]) ORDER BY tenant_id, valid_from",
        list(scope),
    ):
        intervals[r["tenant_id"]].append(Interval(r["parent_id"], r["valid_from"], r["valid_to"]))
    return life, intervals


CLOSURE_COLUMNS = (
    ("ancestor", "text"),
    ("descendant", "text"),
    ("depth", "int"),
    ("valid_from", "date"),
    ("valid_to", "date"),
)


async def insert_closure(conn: asyncpg.Connection, rows: list[ClosureRow]) -> None:
    # Sorted by descendant, as the second index is; the first one gets each unit's self row in
    # order too, and its few hundred ancestors stay in the cache.
    rows = sorted(rows, key=_by_descendant)
    await insert_rows(conn, "unit_closure", CLOSURE_COLUMNS, rows)


def _by_descendant(row: ClosureRow) -> tuple[str, int]:
    return row[1], row[2]


async def rebuild(conn: asyncpg.Connection, registry: EventRegistry, batch: int = 5000) -> int:
    """Empty the read model and replay every unit's registry events (on the owner's connection,
    in one transaction). Registry commands are serialized, so the order they were recorded in is
    their order; the rebuild holds their lock, so none writes meanwhile."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", WRITERS_LOCK)
        return await _replay_all(conn, registry, batch)


async def _replay_all(conn: asyncpg.Connection, registry: EventRegistry, batch: int) -> int:
    # The tree's past as known (0061) is replayed too: each event's rows known from its time
    # (the rows deleted first are not kept aside: known from always... to always).
    await conn.execute(
        "SELECT set_config('thidua.known_at', '-infinity', true); "
        "DELETE FROM unit_closure; DELETE FROM unit_parents; DELETE FROM units; "
        "DELETE FROM unit_closure_known; DELETE FROM unit_parents_known"
    )
    count = 0
    cursor_at: tuple[Any, ...] | None = None
    while True:
        rows = await conn.fetch(
            "SELECT tenant_id, seq, stream_id, stream_version, event_type, schema_version, "
            "data::text AS data, meta::text AS meta, recorded_at, prev_hash, hash FROM events "
            "WHERE event_type = ANY($1::text[]) AND ($2::timestamptz IS NULL OR "
            "(recorded_at, tenant_id, seq) > ($2, $3, $4)) "
            "ORDER BY recorded_at, tenant_id, seq LIMIT $5",
            list(REGISTRY_EVENT_TYPES),
            *(cursor_at or (None, None, None)),
            batch,
        )
        if not rows:
            # (what the transaction writes after the replay is known from its own start)
            await conn.execute("SELECT set_config('thidua.known_at', '', true)")
            return count
        for at, same in groupby(map(StoredEvent.from_row, rows), key=lambda e: e.recorded_at):
            await conn.execute("SELECT set_config('thidua.known_at', $1, true)", at.isoformat())
            await apply(conn, registry, list(same))
        count += len(rows)
        last = rows[-1]
        cursor_at = (last["recorded_at"], last["tenant_id"], last["seq"])


@cache
def build_registry() -> EventRegistry:
    """The registry's event names (one shared instance: it is never changed once built)."""
    registry = EventRegistry()
    registry.register(Unit, *REGISTRY_EVENTS)
    return registry


# Named "registry": only it may advance its checkpoint from the application's role
# (thidua_advance_inline, shared/migrations/0018_projections.sql).
PROJECTION = Projection(
    "registry",
    1,
    build_registry(),
    handlers=dict.fromkeys(REGISTRY_EVENT_TYPES, _apply_one),
    tables=("units", "unit_parents", "unit_closure"),
    apply=_apply_logged_events,
    inline=True,
)
