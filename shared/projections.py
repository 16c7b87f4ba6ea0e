"""Projections with checkpoints: read models kept from the log, each event applied exactly once.

A :class:`Projection` is a name, a version, handlers by event type and its own tables. Its rows
and its checkpoint (projection_checkpoints: name, version, tenant, last seq; migration 0018) are
written in one transaction, so a crash between the two cannot happen: a batch is applied whole
or not at all. The log's seq is per tenant, so is the checkpoint.

The :class:`ProjectionRunner` applies every non-inline projection: for each tenant whose head is
past the checkpoint it locks the checkpoint row (``FOR UPDATE SKIP LOCKED``: several processes
share the tenants without being told how), reads up to ``batch_size`` events of the projection's
types after it, applies them, and advances the checkpoint; when the batch was not full, to the
head read at its start, so a tenant whose newer events concern other projections reads as caught
up. It is woken by the log signal and polls as the fallback. It connects as
``thidua_projector`` (shared/db.py ``create_projector_pool``).

An inline projection (the registry's, whose rows are the reach of every read) is applied by the
command that appends its events, in that transaction, through :func:`apply_inline`.

Which version of a projection is live is the database's word (projection_versions), not the
code's: a rebuild (shared/projection_rebuild.py) builds version N+1 beside the live one and
swaps it in, and every runner follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import asyncpg
import structlog

from shared.aggregates import EventRegistry
from shared.eventstore import StoredEvent
from shared.signal import LogSignal

log = structlog.get_logger(__name__)

Handler = Callable[[asyncpg.Connection, StoredEvent, Any], Awaitable[None]]
BatchApply = Callable[[asyncpg.Connection, EventRegistry, Sequence[StoredEvent]], Awaitable[Any]]

LIVE_SCHEMA = "public"
LAG_SAMPLES = 4096

_EVENT_COLUMNS = (
    "tenant_id, seq, stream_id, stream_version, event_type, schema_version, "
    "data::text AS data, meta::text AS meta, recorded_at, prev_hash, hash"
)


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
    lock = "FOR UPDATE OF c" if wait else "FOR UPDATE OF c SKIP LOCKED"
    async with conn.transaction():
        # The version's state and schema as they are now, not as the runner last saw them: a
        # swap may have made a building version live (its tables now in public) or retired one.
        row = await conn.fetchrow(
            "SELECT c.last_seq, h.seq AS head, v.schema_name FROM projection_checkpoints c "
            "JOIN tenant_heads h ON h.tenant_id = c.tenant_id "
            "JOIN projection_versions v ON v.name = c.name AND v.version = c.version "
            "AND v.state <> 'retired' "
            f"WHERE c.name = $1 AND c.version = $2 AND c.tenant_id = $3 {lock}",
            target.name,
            target.version,
            tenant_id,
        )
        if row is None or row["last_seq"] >= row["head"]:
            return None
        rows = await conn.fetch(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE tenant_id = $1 AND seq > $2 "
            "AND seq <= $3 AND event_type = ANY ($4::text[]) ORDER BY seq LIMIT $5",
            tenant_id,
            row["last_seq"],
            row["head"],
            target.projection.event_types,
            batch_size,
        )
        events = [StoredEvent.from_row(r) for r in rows]
        if row["schema_name"] != LIVE_SCHEMA:
            await conn.execute(
                "SELECT set_config('search_path', quote_ident($1) || ', public', true)",
                row["schema_name"],
            )
        await target.projection.project(conn, events)
        full = len(events) == batch_size
        last = events[-1].seq if full else row["head"]
        await conn.execute(
            "UPDATE projection_checkpoints SET last_seq = $4, updated_at = now() "
            "WHERE name = $1 AND version = $2 AND tenant_id = $3",
            target.name,
            target.version,
            tenant_id,
            last,
        )
    return Batch(tenant_id, last, len(events), full, tuple(e.recorded_at for e in events))


async def add_checkpoints(conn: asyncpg.Connection, target: Target) -> None:
    """A checkpoint row at 0 for every tenant that has none yet (a log opened since)."""
    await conn.execute(
        "INSERT INTO projection_checkpoints (name, version, tenant_id) "
        "SELECT $1, $2, h.tenant_id FROM tenant_heads h WHERE NOT EXISTS ("
        "SELECT 1 FROM projection_checkpoints c WHERE c.name = $1 AND c.version = $2 "
        "AND c.tenant_id = h.tenant_id) ON CONFLICT DO NOTHING",
        target.name,
        target.version,
    )


async def pass_unconcerned(conn: asyncpg.Connection, target: Target) -> list[tuple[str, int]]:
    """In one statement, move to its head every checkpoint whose new events are none of the
    projection's (a registry event, for the campaigns'), unless a runner holds it: a batch
    each would cost a transaction per tenant for nothing. Only forward (a runner may have
    gone further since this statement's snapshot). The tenants moved, and where to."""
    rows = await conn.fetch(
        "WITH free AS (SELECT c.tenant_id, h.seq FROM projection_checkpoints c "
        "JOIN tenant_heads h ON h.tenant_id = c.tenant_id "
        "WHERE c.name = $1 AND c.version = $2 AND c.last_seq < h.seq AND NOT EXISTS ("
        "SELECT 1 FROM events e WHERE e.tenant_id = c.tenant_id AND e.seq > c.last_seq "
        "AND e.seq <= h.seq AND e.event_type = ANY ($3::text[])) "
        "FOR UPDATE OF c SKIP LOCKED) "
        "UPDATE projection_checkpoints c SET last_seq = greatest(c.last_seq, free.seq), "
        "updated_at = now() FROM free WHERE c.name = $1 AND c.version = $2 "
        "AND c.tenant_id = free.tenant_id RETURNING c.tenant_id, c.last_seq",
        target.name,
        target.version,
        target.projection.event_types,
    )
    return [(r["tenant_id"], r["last_seq"]) for r in rows]


async def tenants_behind(conn: asyncpg.Connection, target: Target) -> list[str]:
    rows = await conn.fetch(
        "SELECT c.tenant_id FROM projection_checkpoints c "
        "JOIN tenant_heads h ON h.tenant_id = c.tenant_id "
        "WHERE c.name = $1 AND c.version = $2 AND c.last_seq < h.seq ORDER BY c.tenant_id",
        target.name,
        target.version,
    )
    return [r["tenant_id"] for r in rows]


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
    ) -> None:
        self.pool = pool
        self.signal = signal
        self.projections = [p for p in projections if not p.inline]
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.building_only = building_only
        self.lag = LagMeter()
        self.applied = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._woken = asyncio.Event()
        self._progress = asyncio.Event()
        self._live: dict[str, int] = {}
        self._positions: dict[tuple[str, int], dict[str, int]] = {}
        self._poller = CheckpointPositions(pool, [p.name for p in self.projections])

    async def start(self) -> None:
        """Start the background task (none while there is nothing to run: every append would
        wake it for nothing)."""
        if self._task is not None or not self.projections:
            return
        if not self.building_only:
            async with self.pool.acquire() as conn:
                await ensure_live(conn, self.projections)
        self._stopping.clear()
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
        subscription = (
            self.signal.subscription() if self.signal is not None else contextlib.nullcontext()
        )
        with subscription as signalled:
            while not self._stopping.is_set():
                if signalled is not None:
                    signalled.clear()  # before reading: a wake-up during the round is not lost
                self._woken.clear()
                try:
                    await self.run_once()
                except Exception as exc:  # the database away, a pool busy: poll again later
                    log.warning("projection_round_failed", error=repr(exc))
                if not self._stopping.is_set():
                    await self._sleep(signalled)

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
        self._woken.set()

    async def run_once(self) -> int:
        """One round over every target and every tenant behind, each caught up to its head as
        read then (what arrives meanwhile wakes the next round); how many events it applied."""
        async with self.pool.acquire() as conn:
            targets = await targets_of(conn, self.projections, building_only=self.building_only)
            behind: list[tuple[Target, str]] = []
            for target in targets:
                await add_checkpoints(conn, target)
                for tenant_id, seq in await pass_unconcerned(conn, target):
                    self._passed_to(target, tenant_id, seq)
                behind += [(target, t) for t in await tenants_behind(conn, target)]
        self._live = {t.name: t.version for t in targets if t.state == "live"}
        limit = asyncio.Semaphore(max(1, self.pool.get_max_size()))
        applied = await asyncio.gather(*(self._catch_up(limit, t, tenant) for t, tenant in behind))
        return sum(applied)

    async def _catch_up(self, limit: asyncio.Semaphore, target: Target, tenant_id: str) -> int:
        """Batches of one tenant, each its own transaction, until it is caught up, another
        runner has it, or the runner stops; how many events were applied."""
        applied = 0
        async with limit:
            while not self._stopping.is_set():
                try:
                    async with self.pool.acquire() as conn:
                        batch = await run_batch(conn, target, tenant_id, self.batch_size)
                except Exception as exc:  # one tenant's failure must not stop the others
                    log.exception(
                        "projection_batch_failed",
                        projection=target.name,
                        version=target.version,
                        tenant=tenant_id,
                        error=str(exc),
                    )
                    break
                if batch is None:
                    break
                self._committed(target, batch)
                applied += batch.applied
                if not batch.full:
                    break
        return applied

    def _committed(self, target: Target, batch: Batch) -> None:
        self.lag.record(time.time(), batch.recorded_at)
        self.applied += batch.applied
        self._passed_to(target, batch.tenant_id, batch.last_seq)

    def _passed_to(self, target: Target, tenant_id: str, seq: int) -> None:
        self._positions.setdefault((target.name, target.version), {})[tenant_id] = seq
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
        (another process's projector may have applied it) at the start and every poll."""
        if not self.projections or self._passed(tenant_id, seq):
            return True
        deadline = time.monotonic() + timeout
        if await self._poller.passed(tenant_id, seq):
            return True
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            progress = self._progress
            try:
                await asyncio.wait_for(progress.wait(), min(remaining, self.poll_interval_s))
            except TimeoutError:
                if await self._poller.passed(tenant_id, seq):
                    return True
                continue
            if self._passed(tenant_id, seq):
                return True

    async def status(self) -> list[ProjectionStatus]:
        async with self.pool.acquire() as conn:
            found = await projection_status(conn, self.projections)
        p99 = self.lag.percentile(99)
        return [s.with_measured(p99) for s in found]


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
    for tenant_id, seq in last.items():
        await conn.execute(
            "SELECT thidua_advance_inline($1, $2, $3, $4)",
            projection.name,
            projection.version,
            tenant_id,
            seq,
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
