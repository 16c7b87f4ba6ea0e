"""The reporting projection: each unit's figures by year and by day, versioned by the moment the
log held them (shared/migrations/0057_reporting.sql), kept by the platform's runner.

A batch of a tenant's events is counted in three steps: the items its events touch and the
particulars of the persons its decisions award are read at once; each event sets its items anew
(services/reporting/figures.py), in log order, in memory; then the items and the figures'
differences are written, a few statements for the batch. A figure changed by an append becomes
a new version of its row from that append's recorded_at, the old one closed there; two changes
by one append (a command's events split over two batches) make one version.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

import asyncpg
import orjson

from services.reporting.figures import (
    COUNTED_EVENTS,
    PERSON_EVENTS,
    Change,
    Item,
    Particulars,
    changes_of,
    day_of,
    deltas,
    id_of,
    keys_of,
    particulars_of,
    persons_awarded,
)
from shared.aggregates import EventRegistry
from shared.clock import VIETNAM
from shared.eventstore import StoredEvent
from shared.projections import Projection
from shared.text import search_key

TABLES = (
    "report_year",
    "report_day",
    "report_items",
    "report_people",
    "good_practices",
    "report_requests",
    "reports",
    "report_sections",
)

# (unit, key, metric, dim) → {recorded_at: difference}, key a year or a day
Differences = dict[tuple[str, Any, str, str], dict[datetime, int]]


async def apply(conn: asyncpg.Connection, registry: EventRegistry, events: Sequence[StoredEvent]):
    """Count a batch of stored events, in log order, on ``conn`` (the runner's transaction)."""
    await _people(conn, [e for e in events if e.event_type in PERSON_EVENTS])
    await _practices(conn, events)
    await _reports(conn, events)
    counted = [e for e in events if e.event_type in COUNTED_EVENTS]
    if not counted:
        return
    items = await _items(conn, counted)
    people = await _particulars(conn, counted)
    changed: dict[tuple[str, str], Item] = {}
    years: Differences = defaultdict(lambda: defaultdict(int))
    days: Differences = defaultdict(lambda: defaultdict(int))
    for stored in counted:
        unit = stored.tenant_id
        mine = items[unit]
        stream = str(stored.stream_id)
        for change in changes_of(stored.event_type, stream, stored.data, mine, people):
            for day, metric, dim, value in deltas(mine.get(change.key), change):
                days[(unit, day, metric, dim)][stored.recorded_at] += value
                years[(unit, day.year, metric, dim)][stored.recorded_at] += value
            mine[change.key] = changed[(unit, change.key)] = _item(change)
    await _write_items(conn, changed)
    await _write_versions(conn, "report_year", "year", "integer", years)
    await _write_versions(conn, "report_day", "day", "date", days)


def _item(change: Change) -> Item:
    return Item(change.day, tuple(change.figures), dict(change.facts))


async def _people(conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
    latest: dict[str, Particulars] = {}
    for stored in events:
        found = particulars_of(stored.data)
        if found is not None:
            latest[str(stored.stream_id)] = found
    if latest:
        await conn.execute(
            "INSERT INTO report_people (person_id, woman, direct_worker) "
            "SELECT * FROM unnest($1::text[], $2::boolean[], $3::boolean[]) "
            "ON CONFLICT (person_id) DO UPDATE SET woman = EXCLUDED.woman, "
            "direct_worker = EXCLUDED.direct_worker",
            list(latest),
            [p.woman for p in latest.values()],
            [p.direct_worker for p in latest.values()],
        )


async def _practices(conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
    """The published good practices, and how many units replicated each."""
    presented = [e for e in events if e.event_type == "GoodPracticePresented"]
    if presented:
        await conn.execute(
            "INSERT INTO good_practices (practice_id, unit_id, name, description, presented_on, "
            "search_key) SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], "
            "$5::date[], $6::text[]) ON CONFLICT (practice_id) DO NOTHING",
            [e.stream_id for e in presented],
            [e.tenant_id for e in presented],
            [str(e.data["name"]) for e in presented],
            [str(e.data.get("description", "")) for e in presented],
            [day_of(e.data["presented_on"]) for e in presented],
            [search_key(str(e.data["name"])) for e in presented],
        )
    replicated = [e for e in events if e.event_type == "GoodPracticeReplicated"]
    if replicated:
        await conn.execute(
            "INSERT INTO good_practice_replications (practice_id, unit_id) "
            "SELECT * FROM unnest($1::uuid[], $2::text[]) ON CONFLICT DO NOTHING",
            [id_of(e.data["practice_id"]) for e in replicated],
            [e.tenant_id for e in replicated],
        )


async def _items(
    conn: asyncpg.Connection, events: Sequence[StoredEvent]
) -> defaultdict[str, dict[str, Item]]:
    """The items the events touch, by unit then key."""
    found: defaultdict[str, dict[str, Item]] = defaultdict(dict)
    wanted = {
        (e.tenant_id, key)
        for e in events
        for key in keys_of(e.event_type, str(e.stream_id), e.data)
    }
    if not wanted:
        return found
    units, keys = zip(*wanted, strict=True)
    rows = await conn.fetch(
        "SELECT i.unit_id, i.item, i.day, i.figures::text AS figures, i.facts::text AS facts "
        "FROM unnest($1::text[], $2::text[]) AS w (unit_id, item) "
        "JOIN report_items i ON i.unit_id = w.unit_id AND i.item = w.item",
        list(units),
        list(keys),
    )
    for r in rows:
        figures = tuple(tuple(f) for f in orjson.loads(r["figures"]))
        found[r["unit_id"]][r["item"]] = Item(r["day"], figures, orjson.loads(r["facts"]))
    return found


async def _particulars(
    conn: asyncpg.Connection, events: Sequence[StoredEvent]
) -> dict[str, Particulars]:
    persons = sorted({p for e in events for p in persons_awarded(e.event_type, e.data)})
    if not persons:
        return {}
    rows = await conn.fetch(
        "SELECT person_id, woman, direct_worker FROM report_people "
        "WHERE person_id = ANY ($1::text[])",
        persons,
    )
    return {r["person_id"]: Particulars(r["woman"], r["direct_worker"]) for r in rows}


async def _write_items(conn: asyncpg.Connection, changed: Mapping[tuple[str, str], Item]) -> None:
    if not changed:
        return
    await conn.execute(
        "INSERT INTO report_items (unit_id, item, day, figures, facts) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::jsonb[], $5::jsonb[]) "
        "ON CONFLICT (unit_id, item) DO UPDATE SET day = EXCLUDED.day, "
        "figures = EXCLUDED.figures, facts = EXCLUDED.facts",
        [u for u, _ in changed],
        [k for _, k in changed],
        [i.day for i in changed.values()],
        [orjson.dumps(i.figures).decode() for i in changed.values()],
        [orjson.dumps(i.facts).decode() for i in changed.values()],
    )


async def _write_versions(
    conn: asyncpg.Connection, table: str, grain: str, grain_type: str, differences: Differences
) -> None:
    """Each figure's new versions: the current row closed at the first append that changes it
    (or, set by that same append, changed in place), a row from each append on."""
    differences = {k: v for k, v in differences.items() if any(v.values())}
    if not differences:
        return
    keys = list(differences)
    columns = [list(c) for c in zip(*keys, strict=True)]
    current = {
        (r["unit_id"], r[grain], r["metric"], r["dim"]): (r["known_from"], r["value"])
        for r in await conn.fetch(
            f"SELECT t.unit_id, t.{grain}, t.metric, t.dim, t.known_from, t.value "
            f"FROM unnest($1::text[], $2::{grain_type}[], $3::text[], $4::text[]) "
            f"AS k (unit_id, {grain}, metric, dim) JOIN {table} t ON t.unit_id = k.unit_id "
            f"AND t.{grain} = k.{grain} AND t.metric = k.metric AND t.dim = k.dim "
            "AND t.known_to = 'infinity'",
            *columns,
        )
    }
    closed: list[tuple[Any, ...]] = []
    versions: list[tuple[Any, ...]] = []
    for key, by_moment in differences.items():
        now = current.get(key)
        # An append may carry an earlier recorded_at than the one before it in the log (its
        # moment is taken before it waits for the head): a version never starts before the one
        # it follows, or two would hold at once.
        floor = now[0] if now else None
        clamped: dict[datetime, int] = defaultdict(int)
        for at, value in by_moment.items():
            clamped[max(at, floor) if floor else at] += value
        by_moment = clamped
        moments = sorted(by_moment)
        for i, at in enumerate(moments):
            value = (now[1] if now else 0) + by_moment[at]
            if now is not None and now[0] != at:
                closed.append((*key, now[0], at))
            until = moments[i + 1] if i + 1 < len(moments) else None
            versions.append((*key, at, until, value))
            now = (at, value)
    await _close(conn, table, grain, grain_type, closed)
    await conn.execute(
        f"INSERT INTO {table} (unit_id, {grain}, metric, dim, known_from, known_to, value) "
        f"SELECT u, g, m, d, f, coalesce(t, 'infinity'), v FROM unnest($1::text[], "
        f"$2::{grain_type}[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], "
        "$7::bigint[]) AS x (u, g, m, d, f, t, v) "
        f"ON CONFLICT (unit_id, {grain}, metric, dim, known_from) DO UPDATE "
        "SET value = EXCLUDED.value, known_to = EXCLUDED.known_to",
        *[list(c) for c in zip(*versions, strict=True)],
    )


async def _close(
    conn: asyncpg.Connection, table: str, grain: str, grain_type: str, closed: Iterable[tuple]
) -> None:
    closed = list(closed)
    if not closed:
        return
    await conn.execute(
        f"UPDATE {table} t SET known_to = c.until FROM unnest($1::text[], $2::{grain_type}[], "
        "$3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[]) "
        f"AS c (unit_id, {grain}, metric, dim, known_from, until) "
        f"WHERE t.unit_id = c.unit_id AND t.{grain} = c.{grain} AND t.metric = c.metric "
        "AND t.dim = c.dim AND t.known_from = c.known_from",
        *[list(c) for c in zip(*closed, strict=True)],
    )


# --- the reports of a period ---------------------------------------------------------------------

REPORT_TYPES = (
    "ReportsRequested",
    "ReportsRequestedAgain",
    "ReportDrafted",
    "ReportSectionWritten",
    "ReportHeadingSet",
    "ReportSubmitted",
)


async def _reports(conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
    """The reports' own rows, event by event (a handful a day)."""
    for e in events:
        handler = _REPORT_HANDLERS.get(e.event_type)
        if handler is not None:
            await handler(conn, e, e.data)


async def _requested(conn: asyncpg.Connection, e: StoredEvent, d: Any) -> None:
    await conn.execute(
        "INSERT INTO report_requests (unit_id, first_year, last_year, due_on, note, requested_on, "
        "request_id) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        e.tenant_id,
        d["first_year"],
        d["last_year"],
        day_of(d["due_on"]),
        d.get("note", ""),
        e.recorded_at.astimezone(VIETNAM).date(),
        e.stream_id,
    )


async def _asked_again(conn: asyncpg.Connection, e: StoredEvent, d: Any) -> None:
    await conn.execute(
        "UPDATE report_requests SET due_on = $2, note = $3 WHERE request_id = $1",
        e.stream_id,
        day_of(d["due_on"]),
        d.get("note", ""),
    )


async def _drafted(conn: asyncpg.Connection, e: StoredEvent, d: Any) -> None:
    await conn.execute(
        "INSERT INTO reports (unit_id, report_id, first_year, last_year, number, place, version, "
        "drafted_on) VALUES ($1, $2, $3, $4, $5, $6, 0, $7) ON CONFLICT DO NOTHING",
        e.tenant_id,
        e.stream_id,
        d["first_year"],
        d["last_year"],
        d.get("number", ""),
        d.get("place", ""),
        day_of(d["drafted_on"]),
    )


async def _written(conn: asyncpg.Connection, e: StoredEvent, d: Any) -> None:
    await conn.execute(
        "INSERT INTO report_sections (unit_id, report_id, section, version, text, written_at) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        e.tenant_id,
        e.stream_id,
        d["section"],
        d["revision"],
        d["text"],
        e.recorded_at,
    )
    await _version(conn, e, d["revision"])


async def _heading_set(conn: asyncpg.Connection, e: StoredEvent, d: Any) -> None:
    await conn.execute(
        "UPDATE reports SET number = $2, place = $3 WHERE report_id = $1",
        e.stream_id,
        d["number"],
        d["place"],
    )
    await _version(conn, e, d["revision"])


async def _version(conn: asyncpg.Connection, e: StoredEvent, version: int) -> None:
    await conn.execute(
        "UPDATE reports SET version = greatest(version, $2) WHERE report_id = $1",
        e.stream_id,
        version,
    )


async def _submitted(conn: asyncpg.Connection, e: StoredEvent, d: Any) -> None:
    """What was sent: the latest version of each section then, and the heading then."""
    due = d.get("due_on")
    await conn.execute(
        "UPDATE report_sections s SET sent = true FROM (SELECT section, max(version) AS v "
        "FROM report_sections WHERE report_id = $1 AND version <= $2 GROUP BY section) l "
        "WHERE s.report_id = $1 AND s.section = l.section AND s.version = l.v",
        e.stream_id,
        d["revision"],
    )
    await conn.execute(
        "UPDATE reports SET submitted_version = $2, submitted_on = $3, submitted_at = $4, "
        "to_unit = $5, due_on = $6, late = $7, sent_number = number, sent_place = place, "
        "first_sent_on = coalesce(first_sent_on, $3), first_late = coalesce(first_late, $7) "
        "WHERE report_id = $1",
        e.stream_id,
        d["revision"],
        day_of(d["submitted_on"]),
        e.recorded_at,
        d["to_unit"],
        day_of(due) if due else None,
        bool(d.get("late")),
    )


_REPORT_HANDLERS = {
    "ReportsRequested": _requested,
    "ReportsRequestedAgain": _asked_again,
    "ReportDrafted": _drafted,
    "ReportSectionWritten": _written,
    "ReportHeadingSet": _heading_set,
    "ReportSubmitted": _submitted,
}


async def _one(conn: asyncpg.Connection, stored: StoredEvent, event: Any) -> None:
    await apply(conn, _no_registry(), [stored])


@cache
def _no_registry() -> EventRegistry:
    """Reporting decodes no event into another service's classes: it reads their data."""
    return EventRegistry()


PROJECTION = Projection(
    "reporting",
    1,
    _no_registry(),
    handlers=dict.fromkeys([*COUNTED_EVENTS, *PERSON_EVENTS, *REPORT_TYPES], _one),
    tables=TABLES,
    apply=apply,
)
