"""The reporting projection: each unit's figures as changes by day, each known from the moment
the log held it (shared/migrations/0058_reporting_changes.sql), kept by the platform's runner.

A batch of events is counted in three steps: the items its events touch and the particulars of
the persons its decisions award are read at once; each event sets its items anew
(services/reporting/figures.py), in log order, in memory; then the items and the figures'
changes are written, a statement each for the batch: the changes are only ever added, a row per
append, unit, day and figure, so a figure as the log held it at a moment is the sum of
its changes known by then.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import cache, partial
from typing import Any

import asyncpg
import orjson

from services.reporting.figures import (
    COUNTED_EVENTS,
    INITIATIVE_BENEFIT,
    INITIATIVES,
    MADE,
    PERSON_EVENTS,
    Change,
    Item,
    Particulars,
    authored_deltas,
    changes_of,
    day_of,
    deltas,
    id_of,
    keys_of,
    particulars_of,
    persons_awarded,
)
from services.reporting.rollups import keep_rollups
from shared.aggregates import EventRegistry
from shared.clock import VIETNAM
from shared.db import insert_rows, lock_key
from shared.eventstore import StoredEvent
from shared.projections import InDatabase, Projection
from shared.text import search_key

# The kept roll-ups first: a rebuild's swap locks the tables in this order, and a reader of a
# large subtree reads its roll-up before its changes (the other order would deadlock them).
TABLES = (
    "report_rollups",
    "report_changes",
    # before the items: the typical individuals read it, then the items (migration 0078)
    "report_authored",
    "report_items",
    "report_item_versions",
    "report_people",
    "good_practices",
    "report_requests",
    "reports",
    "report_sections",
    "report_versions_since",
    "report_years",
)

# The items whose every state is kept with the moment the log held it (migration 0066): the
# typical individuals and collectives of a period, and the deadlines of a year, are read as the
# log held them at a moment from these items, not from figures.
VERSIONED = (
    "initiative:",
    "award:",
    "campaign:",
    "registration:",
    "review:",
    "appraisal:",
    "proposal:",
    "progress:",
)
_COUNTED_TYPES, _PERSON_TYPES = frozenset(COUNTED_EVENTS), frozenset(PERSON_EVENTS)
# (unit, item, known at) → the item then
Versions = dict[tuple[str, str, datetime], Item]

# (unit, day, metric, dim, known at) → the change
Changes = dict[tuple[str, date, str, str, datetime], int]
# (unit, item, person, day, known at) → the change to an author's [initiatives, benefit]
Authored = dict[tuple[str, str, str, date, datetime], list[int]]
AUTHORED_COLUMNS = (
    ("unit_id", "text"),
    ("item", "text"),
    ("person", "text"),
    ("day", "date"),
    ("known_at", "timestamptz"),
    ("initiatives", "bigint"),
    ("benefit", "bigint"),
)
CHANGE_COLUMNS = (
    ("unit_id", "text"),
    ("day", "date"),
    ("metric", "text"),
    ("dim", "text"),
    ("known_at", "timestamptz"),
    ("delta", "bigint"),
)


async def apply(conn: asyncpg.Connection, registry: EventRegistry, events: Sequence[StoredEvent]):
    """Count a batch of stored events, in log order, on ``conn`` (the runner's transaction)."""
    await _people(conn, [e for e in events if e.event_type in _PERSON_TYPES])
    await _practices(conn, events)
    await _reports(conn, events)
    counted = [e for e in events if e.event_type in _COUNTED_TYPES]
    if not counted:
        return
    items, known = await _items(conn, counted)
    people = await _particulars(conn, counted)
    changed: dict[tuple[str, str], Item] = {}
    changes: Changes = defaultdict(int)
    shares: Authored = defaultdict(lambda: [0, 0])
    versions: Versions = {}
    for stored in counted:
        unit = stored.tenant_id
        mine = items[unit]
        stream = str(stored.stream_id)
        made = list(changes_of(stored.event_type, stream, stored.data, mine, people))
        # An append may carry an earlier recorded_at than the one before it in the log (its
        # moment is taken before it waits for the head): an item's change is never known before
        # its previous one, or a moment between them would see the second alone; and an
        # append's changes are all known at one moment, or a moment could see half of it.
        at = stored.recorded_at
        for change in made:
            before = known.get((unit, change.key))
            if before is not None and before > at:
                at = before
        for change in made:
            for day, metric, dim, value in deltas(mine.get(change.key), change):
                changes[(unit, day, metric, dim, at)] += value
            if change.key.startswith("initiative:"):
                for person, day, n, benefit in authored_deltas(mine.get(change.key), change):
                    share = shares[(unit, change.key, person, day, at)]
                    share[0] += n
                    share[1] += benefit
            mine[change.key] = changed[(unit, change.key)] = _item(change)
            known[(unit, change.key)] = at
            if change.key.startswith(VERSIONED):
                versions[(unit, change.key, at)] = mine[change.key]
    await _write_items(conn, changed, known)
    await _write_versions(conn, versions)
    await _write_changes(conn, changes)
    await _write_authored(conn, shares)
    await _write_years(conn, changes)


# The years changes are dated in, for the keeper's older terms (migration 0067): a year already
# there is not written again, so no lock is taken but on a year new to the union. A batch may
# write its years in two statements (its events here, then those left to the database), so
# whoever writes a new year first takes one lock for them all, after every other lock of its
# batch: two batches writing each other's new years in the two statements would deadlock.
def _new_years(years: str) -> str:
    """The statement's end (after "WITH" or a CTE's comma) that writes ``years``, a query."""
    return (
        f"new_years AS MATERIALIZED (SELECT y.year FROM ({years}) AS y (year) "
        "WHERE NOT EXISTS (SELECT 1 FROM report_years r WHERE r.year = y.year)) "
        "INSERT INTO report_years SELECT n.year FROM new_years n CROSS JOIN LATERAL "
        # (naming n.year keeps the lock inside the loop over new years: none, no lock)
        f"(SELECT pg_advisory_xact_lock({_YEARS_LOCK}) WHERE n.year IS NOT NULL) AS one_writer "
        "ORDER BY n.year ON CONFLICT DO NOTHING"
    )


_YEARS_LOCK = lock_key("report_years")

# The items a stream's first event makes that the runner leaves to the database: the made items
# (figures.MADE) but the good practices, whose own rows are written from their data here
# (_practices), counted there; and an initiative registered, which counts nothing until it is
# recognised. Their items and versions are not written: no reader asks for them (four rows of
# five a rebuild wrote), and an event that later sets one anew (a withdrawal; an initiative's
# recognition not straight after its registration) reads it as changes_of makes it from its
# stream's first event (_made_items).
IN_DATABASE = (
    "PledgeRegistered",
    "WorkRegistered",
    "SeminarHeld",
    "InspectionRecorded",
    "InitiativeRegistered",
)
# And at their stream's second version: an initiative recognised straight after its
# registration (the Initiative aggregate is made by InitiativeRegistered), one event in ten of a
# rebuild and most of what it still counted here. Its item and version are written there
# (_RECOGNISED), as changes_of makes them from the two events; an event of the same batch after
# it reads the item from the two events in the log (_made_items), as it does a first event's,
# and one of a later batch reads the item stored.
SECONDS = ("InitiativeRecognised",)
# their items' kinds (the key's prefix)
_LEFT_ITEMS = frozenset(keys_of(t, "", {})[0].split(":")[0] for t in IN_DATABASE)
# Versions are read by moments: these items have none until an event sets them anew, so none
# may be read before then (a test holds every kind left here to it). The typical individuals
# (the only reader of initiatives' versions) read recognised ones only.
UNREAD_UNTIL_SET_ANEW = ("initiative:",)


def _day(data: str, name: str) -> str:
    """SQL: a date of an event's data (``day_of``), by a field's ``name`` (an SQL text)."""
    return f"coalesce({data} -> {name} ->> '_data_', {data} ->> {name})::date"


def _strings(value: str, pick: str) -> str:
    """SQL: of the elements ``a`` of a JSON list (``figures._listed``), the strings ``pick``
    finds in them, in their order."""
    return (
        f"coalesce((SELECT jsonb_agg({pick} ORDER BY n) FROM jsonb_array_elements(CASE WHEN "
        f"jsonb_typeof({value}) = 'array' THEN {value} END) WITH ORDINALITY AS x (a, n) "
        f"WHERE jsonb_typeof({pick}) = 'string'), '[]'::jsonb)"
    )


# an author's, of a register (a name alone has none): '' is none
_PERSON_ID = "nullif(a -> 'person_id', '\"\"'::jsonb)"

# A recognition after its registration (SECONDS), as changes_of makes its initiative's item:
# the registration's facts (figures.py, InitiativeRegistered), then _initiative's. $9, $10: the
# two figures' metrics. Known from its moment, never before its registration's (see ``apply``).
_RECOGNISED = f"""
recognised AS MATERIALIZED (
  SELECT e.tenant_id AS unit_id, 'initiative:' || e.stream_id::text AS item,
         {_day("e.data", "'recognised_on'")} AS day,
         coalesce((e.data ->> 'benefit_vnd')::bigint, 0) AS benefit,
         greatest(e.recorded_at, r.recorded_at) AS known_at,
         CASE WHEN r.data IS NULL THEN '{{}}'::jsonb ELSE jsonb_build_object(
           'authors', {_strings("r.data -> 'authors'", _PERSON_ID)},
           'title', coalesce(r.data ->> 'title', '')) END
         || jsonb_build_object('benefit', coalesce((e.data ->> 'benefit_vnd')::bigint, 0),
              'applied_at', {_strings("e.data -> 'applied_at'", "a")})
         AS facts
    FROM span b
    JOIN events e ON e.tenant_id = b.tenant_id AND e.seq BETWEEN b.first_seq AND b.last_seq
    LEFT JOIN events r ON r.tenant_id = e.tenant_id AND r.stream_id = e.stream_id
         AND r.stream_version = 1 AND r.event_type = 'InitiativeRegistered'
   WHERE e.stream_version = 2 AND e.event_type = 'InitiativeRecognised'
), recognised_figures AS (
  SELECT *, jsonb_build_array(jsonb_build_array($9::text, '', 1),
                              jsonb_build_array($10::text, '', benefit)) AS figures
    FROM recognised
), recognised_item AS (
  -- an event of the batch after it, applied before, has set it anew since: that one stands
  INSERT INTO report_items (unit_id, item, day, figures, facts, known_at)
  SELECT unit_id, item, day, figures, facts, known_at FROM recognised_figures
  ON CONFLICT (unit_id, item) DO NOTHING
), recognised_version AS (
  INSERT INTO report_item_versions (unit_id, item, known_at, day, figures, facts)
  SELECT unit_id, item, known_at, day, figures, facts FROM recognised_figures
  ON CONFLICT (unit_id, item, known_at) DO NOTHING
), recognised_authors AS (
  -- figures.authored: each author's share of it
  INSERT INTO report_authored (unit_id, item, person, day, known_at, initiatives, benefit)
  SELECT r.unit_id, r.item, a.person, r.day, r.known_at, 1, r.benefit
    FROM recognised r CROSS JOIN LATERAL jsonb_array_elements_text(r.facts -> 'authors') AS a (person)
)"""

# A batch's events left to the database: its made items, each counted by its declared rule
# ($4–$8, a row per figure), as ``apply`` would for its event, which is its stream's first
# (version 1), so no item was there before it; and its recognitions (_RECOGNISED). Their
# changes are written a row per unit, day, figure and moment.
_COUNT_MADE = f"""
WITH span AS (
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS b (tenant_id, first_seq, last_seq)
), rule AS (
  SELECT * FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
      AS r (event_type, day_field, metric, dim_field, number_field)
), {_RECOGNISED}, counted AS (
  SELECT e.tenant_id AS unit_id, {_day("e.data", "r.day_field")} AS day,
         r.metric, coalesce(e.data ->> r.dim_field, '') AS dim,
         CASE WHEN r.number_field IS NULL THEN 1
              ELSE coalesce((e.data ->> r.number_field)::bigint, 0) END AS value,
         e.recorded_at
    FROM span b
    JOIN events e ON e.tenant_id = b.tenant_id AND e.seq BETWEEN b.first_seq AND b.last_seq
    JOIN rule r ON r.event_type = e.event_type
   WHERE e.stream_version = 1
  UNION ALL SELECT unit_id, day, $9::text, '', 1, known_at FROM recognised
  UNION ALL SELECT unit_id, day, $10::text, '', benefit, known_at FROM recognised
), changes AS (
  INSERT INTO report_changes (unit_id, day, metric, dim, known_at, delta)
  SELECT unit_id, day, metric, dim, recorded_at, sum(value) FROM counted
   GROUP BY unit_id, day, metric, dim, recorded_at HAVING sum(value) <> 0
  RETURNING extract(year FROM day)::integer AS year
), """ + _new_years("SELECT DISTINCT year FROM changes")


@cache
def _made_rules() -> tuple[list[Any], ...]:
    rules = [
        (t, MADE[t].day, c.metric, c.dim, c.number)
        for t in IN_DATABASE
        if t in MADE
        for c in MADE[t].figures
    ]
    return tuple(list(column) for column in zip(*rules, strict=True))


async def count_made(
    conn: asyncpg.Connection, tenants: list[str], firsts: list[int], lasts: list[int]
) -> None:
    """Count the made items of each tenant's span of a batch in the database: their events'
    data never leaves it (a rebuild of pledges spent most of its time reading and decoding
    them here)."""
    await conn.execute(
        _COUNT_MADE, tenants, firsts, lasts, *_made_rules(), INITIATIVES, INITIATIVE_BENEFIT
    )


def _item(change: Change) -> Item:
    return Item(change.day, tuple(change.figures), dict(change.facts))


async def _write_versions(conn: asyncpg.Connection, versions: Versions) -> None:
    """Each state an item had, from its moment: a later batch's change known at the same moment
    (its recorded time was earlier: see ``apply``) is the state from then."""
    if not versions:
        return
    await conn.execute(
        "INSERT INTO report_item_versions (unit_id, item, known_at, day, figures, facts) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::date[], "
        "$5::jsonb[], $6::jsonb[]) ON CONFLICT (unit_id, item, known_at) DO UPDATE SET "
        "day = EXCLUDED.day, figures = EXCLUDED.figures, facts = EXCLUDED.facts",
        [u for u, _, _ in versions],
        [k for _, k, _ in versions],
        [at for _, _, at in versions],
        [i.day for i in versions.values()],
        [orjson.dumps(i.figures).decode() for i in versions.values()],
        [orjson.dumps(i.facts).decode() for i in versions.values()],
    )


async def _write_changes(conn: asyncpg.Connection, changes: Changes) -> None:
    records = [(*key, value) for key, value in changes.items() if value]
    await insert_rows(conn, "report_changes", CHANGE_COLUMNS, records)


async def _write_authored(conn: asyncpg.Connection, shares: Authored) -> None:
    records = [(*key, n, benefit) for key, (n, benefit) in shares.items() if n or benefit]
    await insert_rows(conn, "report_authored", AUTHORED_COLUMNS, records)


async def _write_years(conn: asyncpg.Connection, changes: Changes) -> None:
    years = sorted({day.year for (_, day, _, _, _), value in changes.items() if value})
    if years:
        await conn.execute("WITH " + _new_years("SELECT unnest($1::integer[])"), years)


async def _people(conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
    latest: dict[str, Particulars] = {}
    for stored in events:
        found = particulars_of(stored.data)
        if found is not None:
            latest[str(stored.stream_id)] = found
    if latest:
        # in one order: another transaction may write some of them too (a person who moved
        # between units; a rebuild's groups in flight at once), and the other order deadlocks
        latest = dict(sorted(latest.items()))
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
) -> tuple[defaultdict[str, dict[str, Item]], dict[tuple[str, str], datetime]]:
    """The items the events touch, by unit then key, and when each last changed. An item
    named after the event's own stream is not looked for at the stream's first event (version
    1: unique in its unit's log): no event before it could have written it, and a rebuild's
    lookups were mostly of such items (a pledge's, a work's)."""
    found: defaultdict[str, dict[str, Item]] = defaultdict(dict)
    known: dict[tuple[str, str], datetime] = {}
    wanted = set()
    for e in events:
        stream = str(e.stream_id)
        for key in keys_of(e.event_type, stream, e.data):
            if e.stream_version != 1 or key.split(":", 2)[1] != stream:
                wanted.add((e.tenant_id, key))
    if not wanted:
        return found, known
    await _stored_items(conn, wanted, found, known)
    made = {(u, k) for u, k in wanted if k not in found[u] and k.split(":")[0] in _LEFT_ITEMS}
    if made:
        await _made_items(conn, made, found, known)
    return found, known


async def _stored_items(
    conn: asyncpg.Connection,
    wanted: set[tuple[str, str]],
    found: defaultdict[str, dict[str, Item]],
    known: dict[tuple[str, str], datetime],
) -> None:
    units, keys = zip(*wanted, strict=True)
    rows = await conn.fetch(
        "SELECT i.unit_id, i.item, i.day, i.figures::text AS figures, i.facts::text AS facts, "
        "i.known_at FROM unnest($1::text[], $2::text[]) AS w (unit_id, item) "
        "JOIN report_items i ON i.unit_id = w.unit_id AND i.item = w.item",
        list(units),
        list(keys),
    )
    for r in rows:
        figures = tuple(tuple(f) for f in orjson.loads(r["figures"]))
        found[r["unit_id"]][r["item"]] = Item(r["day"], figures, orjson.loads(r["facts"]))
        if r["known_at"] is not None:
            known[(r["unit_id"], r["item"])] = r["known_at"]


async def _made_items(
    conn: asyncpg.Connection,
    made: set[tuple[str, str]],
    found: defaultdict[str, dict[str, Item]],
    known: dict[tuple[str, str], datetime],
) -> None:
    """Items left to the database and not stored since (their events after those left there
    are of this batch), as changes_of makes them from their stream's events left there, in
    order: its first, and a second of SECONDS; known from the latest one's moment."""
    units, streams = zip(*((u, k.split(":")[1]) for u, k in made), strict=True)
    rows = await conn.fetch(
        "SELECT e.tenant_id, e.stream_id, e.event_type, e.data::text AS data, e.recorded_at "
        "FROM unnest($1::text[], $2::uuid[]) AS w (tenant_id, stream_id) JOIN events e "
        "ON e.tenant_id = w.tenant_id AND e.stream_id = w.stream_id "
        "AND e.stream_version IN (1, 2) WHERE e.event_type = ANY (CASE e.stream_version "
        "WHEN 1 THEN $3::text[] ELSE $4::text[] END) "
        "ORDER BY e.tenant_id, e.stream_id, e.stream_version",
        list(units),
        list(streams),
        list(IN_DATABASE),
        list(SECONDS),
    )
    for r in rows:
        unit, stream, data = r["tenant_id"], str(r["stream_id"]), orjson.loads(r["data"])
        mine = found[unit]
        for change in changes_of(r["event_type"], stream, data, mine, {}):
            if (unit, change.key) in made:
                mine[change.key] = _item(change)
                before = known.get((unit, change.key))
                at = r["recorded_at"] if before is None else max(before, r["recorded_at"])
                known[(unit, change.key)] = at


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


async def _write_items(
    conn: asyncpg.Connection,
    changed: Mapping[tuple[str, str], Item],
    known: Mapping[tuple[str, str], datetime],
) -> None:
    if not changed:
        return
    await conn.execute(
        "INSERT INTO report_items (unit_id, item, day, figures, facts, known_at) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::jsonb[], $5::jsonb[], "
        "$6::timestamptz[]) ON CONFLICT (unit_id, item) DO UPDATE SET day = EXCLUDED.day, "
        "figures = EXCLUDED.figures, facts = EXCLUDED.facts, known_at = EXCLUDED.known_at",
        [u for u, _ in changed],
        [k for _, k in changed],
        [i.day for i in changed.values()],
        [orjson.dumps(i.figures).decode() for i in changed.values()],
        [orjson.dumps(i.facts).decode() for i in changed.values()],
        [known[key] for key in changed],
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
        "request_id, dues) VALUES ($1, $2, $3, $4, $5, $6, $7, "
        "jsonb_build_array(jsonb_build_object('at', $8::timestamptz, 'due', $4::date))) "
        "ON CONFLICT DO NOTHING",
        e.tenant_id,
        d["first_year"],
        d["last_year"],
        day_of(d["due_on"]),
        d.get("note", ""),
        e.recorded_at.astimezone(VIETNAM).date(),
        e.stream_id,
        e.recorded_at,
    )


async def _asked_again(conn: asyncpg.Connection, e: StoredEvent, d: Any) -> None:
    await conn.execute(
        "UPDATE report_requests SET due_on = $2::date, note = $3, dues = dues || "
        "jsonb_build_array(jsonb_build_object('at', $4::timestamptz, 'due', $2::date)) "
        "WHERE request_id = $1",
        e.stream_id,
        day_of(d["due_on"]),
        d.get("note", ""),
        e.recorded_at,
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
        "first_sent_on = coalesce(first_sent_on, $3), first_late = coalesce(first_late, $7), "
        "first_sent_at = coalesce(first_sent_at, $4), "
        "figures = $8::jsonb WHERE report_id = $1",
        e.stream_id,
        d["revision"],
        day_of(d["submitted_on"]),
        e.recorded_at,
        d["to_unit"],
        day_of(due) if due else None,
        bool(d.get("late")),
        None if d.get("figures") is None else orjson.dumps(d["figures"]).decode(),
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
    in_database=InDatabase(IN_DATABASE, count_made, SECONDS),
    indexed_last=("report_changes", "report_authored", "report_items", "report_item_versions"),
    # a rebuild's new version starts its roll-ups afresh: kept ready again, after any keeper
    # at work, two at a time (the rebuild has the machine; a server's keeper reads one at a
    # time beside its users)
    swapped=partial(keep_rollups, wait=True, at_once=2),
)
