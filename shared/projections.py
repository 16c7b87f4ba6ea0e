"""Projections with checkpoints: read models kept from the log, each event applied exactly once.

A :class:`Projection` is a name, a version, handlers by event type and its own tables. Its rows
and its checkpoint (projection_checkpoints: name, version, tenant, last seq; migration 0018) are
written in one transaction, so a crash between the two cannot happen: a batch is applied whole
or not at all. The log's seq is per tenant, so is the checkpoint.

The :class:`ProjectionRunner` applies every non-inline projection: for the tenants whose heads
are past their checkpoints (up to :data:`GROUP_TENANTS` at a time) it locks their checkpoint rows
(``FOR UPDATE SKIP LOCKED``: several processes share the tenants without being told how), reads
up to ``batch_size`` events of the projection's types after each, applies them, and advances the
checkpoints, all in one transaction (:func:`run_batches`; committed without waiting for its
flush, which loses nothing: see there); when a tenant's batch was not full, to the head read at
its start, so a tenant whose newer events concern other projections reads as caught up. It is
woken by the log signal and polls as the fallback. It connects as ``thidua_projector``
(shared/db.py ``create_projector_pool``).

An inline projection (the registry's, whose rows are the reach of every read) is applied by the
command that appends its events, in that transaction, through :func:`apply_inline`.

Which version of a projection is live is the database's word (projection_versions), not the
code's: a rebuild (shared/projection_rebuild.py) builds version N+1 beside the live one and
swaps it in, and every runner follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache, cached_property
from typing import Any

import asyncpg
import structlog

from shared.aggregates import EventRegistry
from shared.eventstore import EVENT_COLUMNS, RecentEvents, StoredEvent
from shared.signal import EVERY, LogSignal

log = structlog.get_logger(__name__)

Handler = Callable[[asyncpg.Connection, StoredEvent, Any], Awaitable[None]]
BatchApply = Callable[[asyncpg.Connection, EventRegistry, Sequence[StoredEvent]], Awaitable[Any]]

LIVE_SCHEMA = "public"
LAG_SAMPLES = 4096
# Tenants whose batches the runner applies in one transaction: enough for every writer of a
# busy moment, few enough that a failure retried tenant by tenant stays cheap.
GROUP_TENANTS = 64
# A command waiting for its position asks the checkpoint table this long after it began waiting
# (then ever less often): a projector in another process may have applied it.
FIRST_POLL_S = 0.05
# Rounds of the runner in flight at once (see ProjectionRunner._run).
ROUNDS_AT_ONCE = 2
# A survey of every tenant waits at least this many times its own last length after the one
# before (ProjectionRunner._take_grown): an idle server spends at most about 1/20 surveying.
FULL_SURVEY_SPACING = 20
FULL_SURVEY_MOST_S = 30.0  # ...and no more than this (a round that caught much up was long)

# The same, but data and meta left out where this process keeps them (k: its span of the
# tenant's seqs; none, no span): turning 5 MB of stored JSON back into text is most of a read.
# Of those the projection counts in the database (InDatabase: $9 at their stream's first
# version, $10 at its second), only their place.
_IN_DATABASE = (
    "(CASE stream_version WHEN 1 THEN event_type = ANY ($9::text[]) "
    "WHEN 2 THEN event_type = ANY ($10::text[]) ELSE false END)"
)
_KEPT_OR_READ = (
    f"tenant_id, seq, {_IN_DATABASE} AS in_database, stream_version, event_type, "
    f"CASE WHEN NOT {_IN_DATABASE} THEN stream_id END AS stream_id, schema_version, "
    f"CASE WHEN {_IN_DATABASE} OR seq BETWEEN k.lo AND k.hi THEN NULL "
    "ELSE data::text END AS data, "
    f"CASE WHEN {_IN_DATABASE} OR seq BETWEEN k.lo AND k.hi THEN NULL ELSE meta::text END "
    f"AS meta, recorded_at, CASE WHEN NOT {_IN_DATABASE} THEN prev_hash END AS prev_hash, "
    f"CASE WHEN NOT {_IN_DATABASE} THEN hash END AS hash"
)


@cache  # asked at every batch: two texts
def _batch_rows(recorded: bool) -> str:
    """A tenant's batch (the lateral read of ``run_batches``) as this process needs it: each
    event the projection applies here, and of those left to the database (InDatabase) only the
    last, standing for them all with their first seq, their count and (``recorded``: for the
    lag) their recorded times. Read row by row, they were most of what a rebuild decoded here.
    Every row carries the batch's count of events."""
    times = (  # on the row standing for them alone: the others' would each carry all of them
        "CASE WHEN x.in_database THEN array_agg(x.recorded_at) FILTER (WHERE x.in_database) "
        "OVER () END"
        if recorded
        else "NULL::timestamptz[]"
    )
    return (
        "SELECT y.* FROM (SELECT x.*, count(*) OVER () AS batch_events, "
        "min(x.seq) FILTER (WHERE x.in_database) OVER () AS in_database_first, "
        "max(x.seq) FILTER (WHERE x.in_database) OVER () AS in_database_last, "
        f"{times} AS in_database_recorded "
        f"FROM (SELECT {_KEPT_OR_READ} FROM events "
        "WHERE tenant_id = t.tenant_id AND seq > t.last_seq AND seq <= t.head "
        "AND event_type = ANY ($4::text[]) ORDER BY seq LIMIT $5) AS x) AS y "
        "WHERE NOT y.in_database OR y.seq = y.in_database_last"
    )


@dataclass(frozen=True)
class InDatabase:
    """Events a projection counts in the database with one statement over a batch, never read
    into this process: its ``event_types`` at their stream's first version (each makes
    something no earlier event touched, so it is counted from its own data alone), and its
    ``seconds`` at their stream's second version (each sets anew what the first, left there
    too, made: counted from the two events' data). The runner calls ``apply(conn, tenants,
    first seqs, last seqs)``, each tenant's span of such events in the batch, in the batch's
    transaction once it has applied the batch's other events (in log order): those take their
    locks first, and one of them that reads what a left event makes reads it from the log, as
    the left events make it, not from what ``apply`` writes."""

    event_types: tuple[str, ...]
    apply: Callable[[asyncpg.Connection, list[str], list[int], list[int]], Awaitable[None]]
    seconds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Projection:
    """A read model kept from the log. ``apply``, when given, applies a batch itself (the
    campaigns' batches a run of pledges into one statement); else each event goes to its
    handler. ``inline``: applied by its command (:func:`apply_inline`), not by the runner."""

    name: str
    version: int
    registry: EventRegistry
    handlers: Mapping[str, Handler]
    tables: tuple[str, ...]
    apply: BatchApply | None = None
    inline: bool = False
    # What a version needs once a rebuild has swapped it in, given the app's pool (reporting:
    # its large subtrees' roll-ups, which start afresh, read again and kept).
    swapped: Callable[[asyncpg.Pool], Awaitable[object]] | None = None
    in_database: InDatabase | None = None
    # Tables whose secondary indexes a rebuild builds once its version has caught up: the
    # projection's own writes never read by them, and kept up row by row they cost most of the
    # database's share of a rebuild (shared/projection_rebuild.py).
    indexed_last: tuple[str, ...] = ()

    @cached_property
    def event_types(self) -> list[str]:
        return sorted(self.handlers)

    async def project(self, conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
        if not events:
            return
        if self.apply is not None:
            await self.apply(conn, self.registry, events)
            return
        for stored in events:
            handler = self.handlers.get(stored.event_type)
            if handler is not None:
                await handler(conn, stored, self.registry.decode(stored))


@dataclass(frozen=True)
class Target:
    """A projection as one of its versions: the live one writes the tables in ``public``, a
    building one those of its own schema."""

    projection: Projection
    version: int
    state: str
    schema: str = LIVE_SCHEMA

    @property
    def name(self) -> str:
        return self.projection.name


@dataclass(frozen=True)
class Batch:
    tenant_id: str
    last_seq: int
    applied: int
    full: bool
    recorded_at: tuple[datetime, ...] = field(repr=False, default=())


# --- one batch ---------------------------------------------------------------------------------


async def run_batch(
    conn: asyncpg.Connection, target: Target, tenant_id: str, batch_size: int, *, wait: bool = False
) -> Batch | None:
    """Apply the next batch of ``tenant_id``'s events to ``target`` in one transaction, with its
    checkpoint. None when the checkpoint row is taken by another runner (``wait``: wait for it
    instead) or already at the head."""
    batches = await run_batches(conn, target, [tenant_id], batch_size, wait=wait)
    return batches[0] if batches else None


async def run_batches(
    conn: asyncpg.Connection,
    target: Target,
    tenant_ids: Sequence[str],
    batch_size: int,
    *,
    wait: bool = False,
    recent: RecentEvents | None = None,
    lag: bool = True,
) -> list[Batch]:
    """The next batch of each of ``tenant_ids`` (up to ``batch_size`` events each), applied to
    ``target`` in ONE transaction with their checkpoints: sixteen writers' single events cost
    one transaction of the runner, not sixteen. Tenants whose checkpoint row another runner
    holds (``wait``: waited for, in tenant order) or that are at their head are left out.

    The transaction commits with ``synchronous_commit`` off: it holds nothing but rebuildable
    rows and the checkpoints that say how far they go, written together. A crash may lose the
    last such commits, rows and checkpoints together, never one without the other, and the
    runner applies those events again from the log: each event is still applied exactly once.
    The events themselves were durable before any command answered (the append's own commit is
    synchronous), and a commit is visible to every reader as soon as it returns, so read your
    own writes holds as well.

    ``recent``: the events this process appended lately; those it keeps are read from it, not
    from the log (only their place and hash are). ``lag``: each event's recorded time kept on
    its batch, for the runner's lag (a rebuild measures none)."""
    lock = "FOR UPDATE OF c" if wait else "FOR UPDATE OF c SKIP LOCKED"
    in_database = target.projection.in_database
    kept = [(t, *span) for t in tenant_ids if recent and (span := recent.span(t))]
    async with conn.transaction():
        # One round trip: the checkpoints taken, each with its batch of events (or none), and
        # the commit mode set. The version's state and schema as they are now, not as the
        # runner last saw them: a swap may have made a building version live (its tables now
        # in public) or retired one.
        rows = await conn.fetch(
            "SELECT t.tenant_id AS taken, t.head, t.schema_name, e.* "
            "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS unflushed, "
            "(SELECT c.tenant_id, c.last_seq, h.seq AS head, v.schema_name "
            "FROM projection_checkpoints c "
            "JOIN tenant_heads h ON h.tenant_id = c.tenant_id "
            "JOIN projection_versions v ON v.name = c.name AND v.version = c.version "
            "AND v.state <> 'retired' "
            "WHERE c.name = $1 AND c.version = $2 AND c.tenant_id = ANY ($3::text[]) "
            f"AND c.last_seq < h.seq ORDER BY c.tenant_id {lock}) AS t "
            "LEFT JOIN unnest($6::text[], $7::bigint[], $8::bigint[]) AS k (tenant_id, lo, hi) "
            "ON k.tenant_id = t.tenant_id "
            f"LEFT JOIN LATERAL ({_batch_rows(lag)}) AS e ON true "
            "ORDER BY t.tenant_id, e.seq",
            target.name,
            target.version,
            list(tenant_ids),
            target.projection.event_types,
            batch_size,
            [k[0] for k in kept],
            [k[1] for k in kept],
            [k[2] for k in kept],
            list(in_database.event_types) if in_database else [],
            list(in_database.seconds) if in_database else [],
        )
        if not rows:
            return []
        taken = list({r["taken"]: r for r in rows}.values())
        read = [r for r in rows if r["seq"] is not None]
        events = await _events_of(conn, [r for r in read if not r["in_database"]], recent)
        schema = taken[0]["schema_name"]
        if schema != LIVE_SCHEMA:
            await conn.execute(
                "SELECT set_config('search_path', quote_ident($1) || ', public', true)", schema
            )
        await target.projection.project(conn, events)
        if in_database:
            await _apply_in_database(conn, in_database, [r for r in read if r["in_database"]])
        batches = _batches(taken, read, batch_size)
        await conn.execute(
            "UPDATE projection_checkpoints c SET last_seq = b.last, updated_at = now() "
            "FROM unnest($3::text[], $4::bigint[]) AS b (tenant, last) "
            "WHERE c.name = $1 AND c.version = $2 AND c.tenant_id = b.tenant",
            target.name,
            target.version,
            [b.tenant_id for b in batches],
            [b.last_seq for b in batches],
        )
    return batches


async def _events_of(
    conn: asyncpg.Connection, rows: list[asyncpg.Record], recent: RecentEvents | None
) -> list[StoredEvent]:
    """The batch's events: those whose data the query left out (``recent`` keeps them) from
    there, any it no longer keeps, or keeps with another hash, read from the log after all."""
    metas: dict[str, Any] = {}
    events: list[StoredEvent | None] = []
    missing: dict[str, list[int]] = {}
    for row in rows:
        if row["data"] is not None:
            events.append(StoredEvent.from_row(row, metas))
            continue
        content = recent.take(row["tenant_id"], row["seq"], row["hash"]) if recent else None
        if content is None:
            missing.setdefault(row["tenant_id"], []).append(len(events))
            events.append(None)
        else:
            events.append(StoredEvent.from_row(row, data=content["data"], meta=content["meta"]))
    for tenant_id, at in missing.items():
        read = {
            r["seq"]: r
            for r in await conn.fetch(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE tenant_id = $1 "
                "AND seq = ANY ($2::bigint[])",
                tenant_id,
                [rows[i]["seq"] for i in at],
            )
        }
        for i in at:
            events[i] = StoredEvent.from_row(read[rows[i]["seq"]], metas)
    return [e for e in events if e is not None]


async def _apply_in_database(
    conn: asyncpg.Connection, in_database: InDatabase, rows: Sequence[asyncpg.Record]
) -> None:
    """``rows``: a row a tenant, standing for its batch's events left to the database."""
    if rows:
        await in_database.apply(
            conn,
            [r["tenant_id"] for r in rows],
            [r["in_database_first"] for r in rows],
            [r["seq"] for r in rows],
        )


def _batches(
    taken: Sequence[asyncpg.Record], read: Sequence[asyncpg.Record], batch_size: int
) -> list[Batch]:
    """Each tenant's batch: a full one ends at its last event (more may follow), any other at
    the head read at the start, so newer events of other projections leave no lag behind."""
    by_tenant: dict[str, list[asyncpg.Record]] = {t["taken"]: [] for t in taken}
    for row in read:
        by_tenant[row["tenant_id"]].append(row)
    batches = []
    for row in taken:
        mine = by_tenant[row["taken"]]
        applied = mine[0]["batch_events"] if mine else 0
        full = applied == batch_size
        last = mine[-1]["seq"] if full else row["head"]  # the batch's last event: read or left
        recorded = [e["recorded_at"] for e in mine if not e["in_database"]]
        for e in mine:
            if e["in_database"] and e["in_database_recorded"] is not None:
                recorded += e["in_database_recorded"]
        batches.append(Batch(row["taken"], last, applied, full, tuple(recorded)))
    return batches


# A projection that has caught up after at least this many events has its tables' statistics
# refreshed (thidua_analyze_tables, 0042): autovacuum comes round a minute or more later, and
# meanwhile the planner takes the new rows for none.
ANALYZE_AFTER_EVENTS = 5_000
# ...at most once in this many seconds per projection: a rebuild catches groups of tenants up
# one after another, and would otherwise analyse its growing tables after every few of them.
ANALYZE_EVERY_S = 10.0

# A round for more tenants than this surveys every tenant: the narrowed survey's generic plan
# expects a few (20,000 of them took 8.5 s against 0.3 s for all 130,000).
GROWN_AT_MOST = 500

# A survey that moved or found this many checkpoints (an import's tenants, say) refreshes the
# table's statistics, or the next survey is planned for the few rows they knew (0024).
ANALYZE_PAST = 1000


# Parameters: $1 the projection's name, $2 the version, $3 its event types; with ``grown``, $4
# the tenants to look at (those whose logs the signal said grew: a round after an append reads
# those tenants' rows, not every checkpoint of the union's 130,000 units).
def _missing(grown: bool) -> str:
    only = "h.tenant_id = ANY ($4::text[]) AND " if grown else ""
    return (
        f"SELECT $1, $2, h.tenant_id FROM tenant_heads h WHERE {only}NOT EXISTS ("
        "SELECT 1 FROM projection_checkpoints c WHERE c.name = $1 AND c.version = $2 "
        "AND c.tenant_id = h.tenant_id)"
    )


def _behind_of(grown: bool) -> str:
    """The checkpoints behind their heads (alias c, the head h)."""
    only = "AND c.tenant_id = ANY ($4::text[]) " if grown else ""
    return (
        "FROM projection_checkpoints c JOIN tenant_heads h ON h.tenant_id = c.tenant_id "
        f"WHERE c.name = $1 AND c.version = $2 {only}AND c.last_seq < h.seq"
    )


def _add(grown: bool) -> str:
    return (
        f"INSERT INTO projection_checkpoints (name, version, tenant_id) {_missing(grown)} "
        "ON CONFLICT DO NOTHING"
    )


def _unconcerned(grown: bool) -> str:
    return (
        f"SELECT c.tenant_id, h.seq {_behind_of(grown)} AND NOT EXISTS ("
        "SELECT 1 FROM events e WHERE e.tenant_id = c.tenant_id AND e.seq > c.last_seq "
        "AND e.seq <= h.seq AND e.event_type = ANY ($3::text[])) "
        "FOR UPDATE OF c SKIP LOCKED"
    )


# The tenants as an array, not a join: just after an import the planner's statistics still
# say the checkpoints are few, and a join it plans on that is quadratic (minutes at 30,000).
def _pass(free: str) -> str:
    return (
        "UPDATE projection_checkpoints c SET last_seq = greatest(c.last_seq, h.seq), "
        "updated_at = now() FROM tenant_heads h WHERE c.name = $1 AND c.version = $2 "
        f"AND c.tenant_id = ANY (ARRAY (SELECT tenant_id FROM {free})) "
        "AND h.tenant_id = c.tenant_id RETURNING c.tenant_id, c.last_seq"
    )


def _numbered(sql: str, target: int, grown_at: int) -> str:
    """A target's part of the survey with its own parameters: $1–$3 (name, version, event
    types) become the target's three, $4 (the tenants that grew) the one they share."""

    def renumbered(found: re.Match[str]) -> str:
        number = int(found.group(1))
        return f"${grown_at if number == 4 else 3 * target + number}"

    return re.sub(r"\$([1-4])\b", renumbered, sql)


@cache  # asked at every round: the same few texts (with or without the tenants, by target count)
def _survey_sql(grown: bool, targets: int) -> str:
    """The three parts of a survey (checkpoints added, passed, behind) of every target, in one
    statement: the runner's round asks it while commands wait for it, and a round trip a
    target was most of the round. Parameters: each target's name, version and event types,
    then, with ``grown``, the tenants to look at. Rows: the target's index first."""
    ctes, selects = [], []
    grown_at = 3 * targets + 1
    for i in range(targets):
        added, free, passed = f"added_{i}", f"free_{i}", f"passed_{i}"
        ctes += [
            f"{added} AS ({_add(grown)} RETURNING tenant_id)",
            f"{free} AS ({_unconcerned(grown)})",
            f"{passed} AS ({_pass(free)})",
        ]
        selects += [
            f"SELECT {i} AS target, tenant_id, last_seq, true AS passed, false AS added, "
            f"last_seq AS head FROM {passed}",
            f"SELECT {i}, c.tenant_id, c.last_seq, false, false, h.seq {_behind_of(grown)} "
            f"AND NOT EXISTS (SELECT 1 FROM {passed} p WHERE p.tenant_id = c.tenant_id)",
            f"SELECT {i}, a.tenant_id, 0, false, true, h.seq FROM {added} a "
            "JOIN tenant_heads h ON h.tenant_id = a.tenant_id",
        ]
        ctes[-3:] = [_numbered(c, i, grown_at) for c in ctes[-3:]]
        selects[-3:] = [_numbered(c, i, grown_at) for c in selects[-3:]]
    return f"WITH {', '.join(ctes)} {' UNION ALL '.join(selects)}"


async def add_checkpoints(conn: asyncpg.Connection, target: Target) -> None:
    """A checkpoint row at 0 for every tenant that has none yet (a log opened since)."""
    await conn.execute(_add(grown=False), target.name, target.version)


async def pass_unconcerned(conn: asyncpg.Connection, target: Target) -> list[tuple[str, int]]:
    """In one statement, move to its head every checkpoint whose new events are none of the
    projection's (a registry event, for the campaigns'), unless a runner holds it: a batch
    each would cost a transaction per tenant for nothing. Only forward (a runner may have
    gone further since this statement's snapshot). The tenants moved, and where to."""
    rows = await conn.fetch(
        f"WITH free AS ({_unconcerned(grown=False)}) {_pass('free')}",
        target.name,
        target.version,
        target.projection.event_types,
    )
    return [(r["tenant_id"], r["last_seq"]) for r in rows]


async def tenants_behind(conn: asyncpg.Connection, target: Target) -> list[str]:
    rows = await conn.fetch(
        f"SELECT c.tenant_id {_behind_of(grown=False)} ORDER BY c.tenant_id",
        target.name,
        target.version,
    )
    return [r["tenant_id"] for r in rows]


async def survey(
    conn: asyncpg.Connection, targets: Sequence[Target], grown: Collection[str] | None = None
) -> list[tuple[list[tuple[str, int]], list[tuple[str, int]]]]:
    """:func:`add_checkpoints`, :func:`pass_unconcerned` and :func:`tenants_behind` of every
    target in one round trip: for each target, the checkpoints moved to their heads, and the
    tenants behind (with their heads). Past :data:`ANALYZE_PAST` rows the statistics are
    refreshed, and new tenants surveyed again, so that an import's units are passed here
    rather than a batch each. ``grown``: those tenants only (None: every tenant)."""
    if not targets:
        return []
    sql = _survey_sql(grown is not None, len(targets))
    arguments: list[Any] = [
        value
        for target in targets
        for value in (target.name, target.version, target.projection.event_types)
    ]
    if grown is not None:
        arguments.append(sorted(grown))
    rows = await conn.fetch(sql, *arguments)
    passed = [r for r in rows if r["passed"]]
    added = sum(r["added"] for r in rows)
    if len(passed) + added >= ANALYZE_PAST:  # rows written, not merely behind
        await conn.execute("SELECT thidua_analyze_checkpoints()")
        if added:  # new tenants, most with nothing to apply: passed now, not a batch each
            rows = await conn.fetch(sql, *arguments)
            passed += [r for r in rows if r["passed"]]
    return [
        (
            [(r["tenant_id"], r["last_seq"]) for r in passed if r["target"] == i],
            sorted(
                (r["tenant_id"], r["head"]) for r in rows if r["target"] == i and not r["passed"]
            ),
        )
        for i in range(len(targets))
    ]


async def ensure_live(conn: asyncpg.Connection, projections: Iterable[Projection]) -> None:
    """A projection never seen before is live at its code's version (its tables exist)."""
    for projection in projections:
        await conn.execute(
            "INSERT INTO projection_versions (name, version, state) SELECT $1, $2, 'live' "
            "WHERE NOT EXISTS (SELECT 1 FROM projection_versions WHERE name = $1 "
            "AND state = 'live') ON CONFLICT DO NOTHING",
            projection.name,
            projection.version,
        )


async def targets_of(
    conn: asyncpg.Connection, projections: Iterable[Projection], *, building_only: bool = False
) -> list[Target]:
    by_name = {p.name: p for p in projections}
    rows = await conn.fetch(
        "SELECT name, version, state, schema_name FROM projection_versions "
        "WHERE name = ANY ($1::text[]) AND state = ANY ($2::text[]) ORDER BY name, version",
        list(by_name),
        ["building"] if building_only else ["building", "live"],
    )
    return [Target(by_name[r["name"]], r["version"], r["state"], r["schema_name"]) for r in rows]


# --- the runner --------------------------------------------------------------------------------


class LagMeter:
    """Time from an event's recording to the commit of its projection: the last samples, kept
    in memory, for a p99."""

    def __init__(self, size: int = LAG_SAMPLES) -> None:
        self.samples: deque[float] = deque(maxlen=size)

    def record(self, committed: float, recorded: Iterable[datetime]) -> None:
        self.samples.extend(max(0.0, committed - at.timestamp()) for at in recorded)

    def percentile(self, p: float) -> float | None:
        if not self.samples:
            return None
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


class ProjectionRunner:
    """Runs ``projections`` (their live versions and any building beside them) in a background
    task; ``building_only``: only versions being built (a rebuild's own catch-up)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        signal: LogSignal | None,
        projections: Sequence[Projection],
        *,
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
        building_only: bool = False,
        analyze_after: int = ANALYZE_AFTER_EVENTS,
        recent: RecentEvents | None = None,
    ) -> None:
        self.pool = pool
        self.recent = recent
        self.analyze_after = analyze_after
        # Events applied since each target's tables were last analysed, when that was, and
        # those in progress.
        self._unanalyzed: dict[tuple[str, int], int] = {}
        self._analyzed_at: dict[tuple[str, int], float] = {}
        self._analyzing: set[tuple[str, int]] = set()
        self.signal = signal
        self.projections = [p for p in projections if not p.inline]
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.building_only = building_only
        self.lags: defaultdict[str, LagMeter] = defaultdict(LagMeter)  # by projection
        self.applied = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._woken = asyncio.Event()
        self._progress = asyncio.Event()
        self._live: dict[str, int] = {}
        self._positions: dict[tuple[str, int], dict[str, int]] = {}
        self._poller = CheckpointPositions(pool, [p.name for p in self.projections])
        # The tenants whose logs grew since the last round began (the signal adds them): a
        # round surveys those alone, and every tenant once a poll interval (and when woken, or
        # told that something grew but not where).
        self._grown: set[str] = {EVERY}
        self._surveyed_all = 0.0
        self._full_survey_s = 0.0  # how long the last round over every tenant took
        # (projection, version, tenant) being applied by a round: the head its survey saw
        self._held: dict[tuple[str, int, str], int] = {}
        self._surveying = asyncio.Lock()
        self._recheck: set[tuple[str, int, str]] = set()  # found behind while held

    async def start(self) -> None:
        """Start the background task (none while there is nothing to run: every append would
        wake it for nothing)."""
        if self._task is not None or not self.projections:
            return
        if not self.building_only:
            async with self.pool.acquire() as conn:
                await ensure_live(conn, self.projections)
        self._stopping.clear()
        # Its first round looks at every tenant: what was appended while it was stopped woke
        # nobody, and the next survey of every tenant may be seconds away (FULL_SURVEY_SPACING).
        self._grown.add(EVERY)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="projections")

    async def stop(self) -> None:
        """Stop after the batches in flight have committed."""
        if self._task is None:
            return
        self._stopping.set()
        self._woken.set()
        task, self._task = self._task, None
        with contextlib.suppress(asyncio.CancelledError):
            await task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        """A round whenever woken (an append, :meth:`wake`) or the poll interval passes, up to
        :data:`ROUNDS_AT_ONCE` at a time: an append made while a round runs starts the next at
        once instead of waiting for it to end (their batches never overlap: each takes the
        checkpoints the other does not hold). Stops after the rounds in flight have ended."""
        subscription = (
            self.signal.subscription(self._grown)
            if self.signal is not None
            else contextlib.nullcontext()
        )
        rounds: set[asyncio.Task[None]] = set()
        with subscription as signalled:
            try:
                await self._rounds(signalled, rounds)
            finally:
                await asyncio.gather(*rounds)

    async def _rounds(
        self, signalled: asyncio.Event | None, rounds: set[asyncio.Task[None]]
    ) -> None:
        while not self._stopping.is_set():
            if len(rounds) >= ROUNDS_AT_ONCE:
                woken = asyncio.ensure_future(self._woken.wait())
                try:
                    await asyncio.wait([*rounds, woken], return_when="FIRST_COMPLETED")
                finally:
                    woken.cancel()
                continue
            if signalled is not None:
                signalled.clear()  # before reading: a wake-up during the round is not lost
            self._woken.clear()
            task = asyncio.get_running_loop().create_task(self._round(self._take_grown()))
            rounds.add(task)
            task.add_done_callback(rounds.discard)
            await self._sleep(signalled)

    def _take_grown(self) -> set[str] | None:
        """The tenants the next round surveys (None: all), and the set emptied for the next."""
        now = time.monotonic()
        grown = set(self._grown)
        self._grown.clear()
        # The survey of every tenant is the fallback for a wake-up lost: at least a poll
        # interval apart, and at least FULL_SURVEY_SPACING of its own last length (a union of
        # 130,000 units took 0.3 s a survey a projection: every second, a core of an idle server)
        spacing = max(
            self.poll_interval_s, min(FULL_SURVEY_SPACING * self._full_survey_s, FULL_SURVEY_MOST_S)
        )
        if (
            self.signal is None
            or EVERY in grown
            or len(grown) > GROWN_AT_MOST
            or now - self._surveyed_all >= spacing
        ):
            self._surveyed_all = now
            return None
        return grown

    async def _round(self, grown: set[str] | None) -> None:
        started = time.monotonic()
        try:
            await self.run_once(grown)
        except Exception as exc:  # the database away, a pool busy: poll again later
            log.warning("projection_round_failed", error=repr(exc))
        if grown is None:
            self._full_survey_s = time.monotonic() - started

    async def _sleep(self, signalled: asyncio.Event | None) -> None:
        waits = [asyncio.ensure_future(self._woken.wait())]
        if signalled is not None:
            waits.append(asyncio.ensure_future(signalled.wait()))
        try:
            await asyncio.wait(waits, timeout=self.poll_interval_s, return_when="FIRST_COMPLETED")
        finally:
            for waiting in waits:
                waiting.cancel()

    def wake(self) -> None:
        self._grown.add(EVERY)
        self._woken.set()

    async def run_once(self, grown: Collection[str] | None = None) -> int:
        """One round over every target and every tenant behind (of ``grown`` only, if given),
        each caught up to its head as read then (what arrives meanwhile wakes the next round);
        how many events it applied."""
        async with self.pool.acquire() as conn:
            targets = await targets_of(conn, self.projections, building_only=self.building_only)
            behind: list[tuple[Target, str, int]] = []
            # One survey at a time: the checkpoints a survey passes stay locked to its end, and
            # a round's batch meanwhile would skip a tenant it found behind (SKIP LOCKED) and
            # leave its new event to the next survey of every tenant.
            async with self._surveying:
                surveyed = await survey(conn, targets, grown)
            for target, (passed, waiting) in zip(targets, surveyed, strict=True):
                for tenant_id, seq in passed:
                    self._passed_to(target, tenant_id, seq)
                behind += [(target, t, head) for t, head in waiting]
        self._live = {t.name: t.version for t in targets if t.state == "live"}
        limit = asyncio.Semaphore(max(1, self.pool.get_max_size()))
        groups = []
        for target in targets:
            tenants = self._hold(
                target, [(tenant, head) for t, tenant, head in behind if t is target]
            )
            groups += [
                (target, tenants[i : i + GROUP_TENANTS])
                for i in range(0, len(tenants), GROUP_TENANTS)
            ]
        applied = await asyncio.gather(*(self._catch_up(limit, t, g) for t, g in groups))
        return sum(applied)

    def _hold(self, target: Target, tenants: list[tuple[str, int]]) -> list[str]:
        """The tenants this round applies (of those behind, with their heads): those no other
        round of this runner is applying. One that is, at a head past the one that round saw
        (it may have read the head before the append that woke this one), is surveyed again
        once that round is done: else its new events would wait for the next full survey."""
        free = []
        for tenant, head in tenants:
            key = (target.name, target.version, tenant)
            if key not in self._held:
                self._held[key] = head
                free.append(tenant)
            elif head > self._held[key]:
                self._recheck.add(key)
        return free

    async def _catch_up(self, limit: asyncio.Semaphore, target: Target, tenants: list[str]) -> int:
        keys = {(target.name, target.version, tenant) for tenant in tenants}
        try:
            async with limit:
                applied = await self._apply(target, tenants)
        finally:
            for key in keys:
                del self._held[key]
            again = keys & self._recheck
            if again:
                self._recheck -= again
                self._grown.update(tenant for _, _, tenant in again)
                self._woken.set()
        # After the tenants are let go: an ANALYZE of large tables (or one waiting for a lock)
        # must not keep the next round from the events a command appended meanwhile.
        if applied and not self._stopping.is_set():
            await self._refresh_statistics(target, applied)
        return applied

    async def _apply(self, target: Target, tenants: list[str]) -> int:
        """Batches of a group of tenants, each round one transaction for all of them, until
        they are caught up, another runner has them, or the runner stops; how many events were
        applied. A round that fails is done again tenant by tenant, so that one tenant's
        failure does not hold the others back."""
        applied = 0
        while tenants and not self._stopping.is_set():
            try:
                async with self.pool.acquire() as conn:
                    batches = await run_batches(
                        conn, target, tenants, self.batch_size, recent=self.recent
                    )
            except Exception as exc:
                if len(tenants) > 1:
                    return applied + sum([await self._apply(target, [t]) for t in tenants])
                log.exception(
                    "projection_batch_failed",
                    projection=target.name,
                    version=target.version,
                    tenant=tenants[0],
                    error=str(exc),
                )
                break
            for batch in batches:
                self._committed(target, batch)
                applied += batch.applied
            tenants = [b.tenant_id for b in batches if b.full]
        return applied

    async def _refresh_statistics(self, target: Target, applied: int) -> None:
        """After a round's batches: the target's tables analysed if enough was applied since they
        last were (a table another session holds is skipped, 0054)."""
        key = (target.name, target.version)
        self._unanalyzed[key] = self._unanalyzed.get(key, 0) + applied
        recent = time.monotonic() - self._analyzed_at.get(key, -ANALYZE_EVERY_S) < ANALYZE_EVERY_S
        if self._unanalyzed[key] < self.analyze_after or key in self._analyzing or recent:
            return
        self._analyzing.add(key)
        self._unanalyzed[key] = 0
        self._analyzed_at[key] = time.monotonic()
        try:
            async with self.pool.acquire() as conn:
                await conn.execute(
                    "SELECT thidua_analyze_tables($1, $2::text[])",
                    target.schema,
                    list(target.projection.tables),
                )
        except Exception as exc:  # statistics are a help, never the runner's failure
            log.warning("projection_analyze_failed", projection=target.name, error=str(exc))
        finally:
            self._analyzing.discard(key)

    def _committed(self, target: Target, batch: Batch) -> None:
        if target.state == "live":  # a version being built is behind by design: not a lag
            self.lags[target.name].record(time.time(), batch.recorded_at)
        self.applied += batch.applied
        self._passed_to(target, batch.tenant_id, batch.last_seq)

    def _passed_to(self, target: Target, tenant_id: str, seq: int) -> None:
        # Only forward: two rounds in flight may report in either order.
        positions = self._positions.setdefault((target.name, target.version), {})
        positions[tenant_id] = max(seq, positions.get(tenant_id, 0))
        self._progress.set()
        self._progress = asyncio.Event()

    def _passed(self, tenant_id: str, seq: int) -> bool:
        if len(self._live) < len(self.projections):
            return False
        return all(
            self._positions.get((name, version), {}).get(tenant_id, 0) >= seq
            for name, version in self._live.items()
        )

    async def wait_for(self, tenant_id: str, seq: int, timeout: float) -> bool:  # noqa: ASYNC109
        """Whether every live projection has passed ``seq`` of ``tenant_id``'s log within
        ``timeout`` seconds: woken by this runner's commits, and asking the checkpoint table
        (another process's projector may have applied it) :data:`FIRST_POLL_S` after the start,
        then at growing intervals up to the poll interval, however often this runner commits.
        Not at once: this runner usually gets there first, and sixteen writers' polls would
        each take a connection of the runner's small pool while it works."""
        if not self.projections:
            return True
        start = time.monotonic()
        deadline, pause = start + timeout, FIRST_POLL_S
        next_poll = start + pause
        while True:
            progress = self._progress  # before looking: a commit in between still wakes us
            if self._passed(tenant_id, seq):
                return True
            now = time.monotonic()
            if now >= deadline:
                return False
            if now >= next_poll:
                # A pool too busy to ask, the database away a moment: not yet.
                with contextlib.suppress(TimeoutError, OSError, asyncpg.PostgresError):
                    if await self._poller.passed(tenant_id, seq):
                        return True
                pause = min(pause * 2, self.poll_interval_s)
                next_poll = time.monotonic() + pause
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(deadline, next_poll) - now):
                    await progress.wait()

    async def status(self) -> list[ProjectionStatus]:
        async with self.pool.acquire() as conn:
            found = await projection_status(conn, self.projections)
        return [s.with_measured(self.p99_lag(s.name)) for s in found]

    def p99_lag(self, name: str) -> float | None:
        """The p99 lag this runner measured of one projection's batches (None: none yet)."""
        meter = self.lags.get(name)
        return meter.percentile(99) if meter is not None else None


class CheckpointPositions:
    """Read your writes where no runner runs in this process: polls the checkpoint table."""

    def __init__(
        self, pool: asyncpg.Pool, names: Sequence[str], *, poll_interval_s: float = 1.0
    ) -> None:
        self.pool = pool
        self.names = list(names)
        self.poll_interval_s = poll_interval_s

    async def passed(self, tenant_id: str, seq: int) -> bool:
        if not self.names:
            return True
        count = await self.pool.fetchval(
            "SELECT count(*) FROM projection_versions v JOIN projection_checkpoints c "
            "ON c.name = v.name AND c.version = v.version AND c.tenant_id = $1 "
            "WHERE v.name = ANY ($2::text[]) AND v.state = 'live' AND c.last_seq >= $3",
            tenant_id,
            self.names,
            seq,
        )
        return count == len(self.names)

    async def wait_for(self, tenant_id: str, seq: int, timeout: float) -> bool:  # noqa: ASYNC109
        """Polls quickly at first (a projector elsewhere is usually a few milliseconds behind),
        then at most every ``poll_interval_s``."""
        deadline = time.monotonic() + timeout
        pause = 0.005
        while not await self.passed(tenant_id, seq):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            await asyncio.sleep(min(pause, remaining))
            pause = min(pause * 2, self.poll_interval_s)
        return True


# --- inline ------------------------------------------------------------------------------------


async def apply_inline(
    conn: asyncpg.Connection, projection: Projection, events: Sequence[StoredEvent]
) -> None:
    """Apply ``events`` (just appended, on ``conn``, in the command's transaction) to an inline
    projection and advance its live checkpoint there: both commit with the events or neither."""
    relevant = [e for e in events if e.event_type in projection.handlers]
    await projection.project(conn, relevant)
    last: dict[str, int] = {}
    for stored in relevant:
        last[stored.tenant_id] = max(stored.seq, last.get(stored.tenant_id, 0))
    if last:  # one call for every tenant: an import opens tens of thousands of logs at once
        await conn.execute(
            "SELECT thidua_advance_inline_many($1, $2, $3, $4)",
            projection.name,
            projection.version,
            list(last),
            list(last.values()),
        )


# --- status ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    version: int
    state: str
    schema: str
    tenants: int
    tenants_behind: int
    lag_events: int
    lag_seconds: float
    applied_events: int  # sum of the checkpoints: how far the version has come
    head_events: int  # sum of the heads: where it is going
    inline: bool = False
    p99_lag_seconds: float | None = None  # measured by this process's runner

    def with_measured(self, p99: float | None) -> ProjectionStatus:
        return replace(self, p99_lag_seconds=p99)


_STATUS = """
SELECT v.name, v.version, v.state, v.schema_name,
       count(h.tenant_id) AS tenants,
       count(*) FILTER (WHERE coalesce(c.last_seq, 0) < h.seq) AS behind,
       coalesce(max(h.seq - least(coalesce(c.last_seq, 0), h.seq)), 0) AS lag_events,
       min(e.recorded_at) AS oldest,
       coalesce(sum(least(coalesce(c.last_seq, 0), h.seq)), 0) AS applied,
       coalesce(sum(h.seq), 0) AS heads
  FROM projection_versions v
  LEFT JOIN tenant_heads h ON true
  LEFT JOIN projection_checkpoints c
         ON c.name = v.name AND c.version = v.version AND c.tenant_id = h.tenant_id
  LEFT JOIN events e
         ON e.tenant_id = h.tenant_id AND e.seq = coalesce(c.last_seq, 0) + 1
        AND e.seq <= h.seq
 WHERE v.name = ANY ($1::text[]) AND v.state <> 'retired'
 GROUP BY v.name, v.version, v.state, v.schema_name
 ORDER BY v.name, v.version
"""


async def projection_status(
    conn: asyncpg.Connection, projections: Sequence[Projection]
) -> list[ProjectionStatus]:
    """Each projection's live and building versions: how many tenants are behind, by how many
    events at most, and since when (the oldest event not yet applied). An inline projection is
    applied with its events: it is never behind, whatever its checkpoint says about the log's
    other events."""
    inline = {p.name for p in projections if p.inline}
    rows = await conn.fetch(_STATUS, [p.name for p in projections])
    now = datetime.now(UTC)
    found = []
    for r in rows:
        is_inline = r["name"] in inline and r["state"] == "live"
        oldest = r["oldest"]
        found.append(
            ProjectionStatus(
                name=r["name"],
                version=r["version"],
                state=r["state"],
                schema=r["schema_name"],
                tenants=r["tenants"],
                tenants_behind=0 if is_inline else r["behind"],
                lag_events=0 if is_inline else r["lag_events"],
                lag_seconds=0.0
                if is_inline or oldest is None
                else max(0.0, (now - oldest).total_seconds()),
                applied_events=r["applied"],
                head_events=r["heads"],
                inline=is_inline,
            )
        )
    return found
