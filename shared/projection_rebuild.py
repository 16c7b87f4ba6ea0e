"""Rebuilding a projection without downtime (issue 13, point 5).

Version N+1 is built beside the live version N: empty copies of its tables in a schema of its
own (``thidua_next_<name>``), its own checkpoints, caught up by a runner while commands keep
writing. Then one short transaction swaps it in: it takes the checkpoints of both versions (no
runner is inside a batch of them after that), locks the tables, applies what is left, moves the
live tables out and the new ones into ``public``, gives them the live tables' row-level security,
policies and grants, re-creates every policy of another table that names a swapped table
(policies bind tables by OID), drops the old tables and marks the versions. A reader waits
for the lock, at most ``SWAP_PAST_DEADLOCK_CHECK_S`` past the server's ``deadlock_timeout`` (after
which the swap lets go and tries again), and
then reads the new tables: never empty ones. Functions name tables by name, late-bound: they
follow by themselves.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator

import asyncpg
import structlog

from shared.projections import (
    ANALYZE_AFTER_EVENTS,
    ANALYZE_EVERY_S,
    GROUP_TENANTS,
    LIVE_SCHEMA,
    Batch,
    Projection,
    Target,
    add_checkpoints,
    ensure_live,
    pass_unconcerned,
    run_batch,
    run_batches,
    tenants_behind,
)

log = structlog.get_logger(__name__)

RETIRED_SCHEMA = "thidua_retired"
_ON_TABLE = re.compile(r" ON \S+ USING ")  # in pg_get_indexdef's "CREATE INDEX i ON t USING"
SWAP_ATTEMPTS = 30
# A swap waits for its locks a little past PostgreSQL's deadlock_timeout (1 s by default): the
# check made then cancels an autovacuum holding one of its tables. Waiting no longer than it (as
# the swap did), every attempt gave up first, for as long as the autovacuum ran: 38 s, 18
# attempts, for the tables of a rebuild swapped in the minute before.
SWAP_PAST_DEADLOCK_CHECK_S = 0.5
PROGRESS_EVERY_S = 0.2
# A rebuild's transaction applies a batch of each of this many tenants, about this many events
# in all (64 tenants a transaction, a rebuild of 130,000 small logs spent 34 ms a transaction).
REBUILD_GROUP_TENANTS = 512
REBUILD_GROUP_EVENTS = 32_768
# Groups in flight at once, each its own transaction: while the database writes one group's
# rows, this process reads and counts the next (one at a time, the two took turns: a rebuild's
# time was the sum of both).
REBUILD_IN_FLIGHT = 2
DEADLOCK_ATTEMPTS = 5
# How long catch_up waits on another runner that is taking its batches before it leaves the rest
# to the swap.
STALLED_S = 1.0


def building_schema(projection: Projection) -> str:
    return f"thidua_next_{projection.name}"


async def begin(owner: asyncpg.Connection, projection: Projection) -> Target:
    """Version N+1 of ``projection``, beside the live one (as the owner): a rebuild already
    under way is resumed, not begun again."""
    async with owner.transaction():
        await ensure_live(owner, [projection])
        await owner.execute(
            "SELECT 1 FROM projection_versions WHERE name = $1 FOR UPDATE", projection.name
        )
        building = await owner.fetchrow(
            "SELECT version, schema_name FROM projection_versions "
            "WHERE name = $1 AND state = 'building'",
            projection.name,
        )
        if building is not None:
            return Target(projection, building["version"], "building", building["schema_name"])
        version = 1 + await owner.fetchval(
            "SELECT max(version) FROM projection_versions WHERE name = $1", projection.name
        )
        schema = building_schema(projection)
        await owner.execute(f"DROP SCHEMA IF EXISTS {_id(schema)} CASCADE")
        await owner.execute(f"CREATE SCHEMA {_id(schema)}")
        await owner.execute(f"GRANT USAGE ON SCHEMA {_id(schema)} TO thidua_projector")
        for table in projection.tables:
            await _copy_table(owner, table, schema, indexed=table not in projection.indexed_last)
        await owner.execute(
            "INSERT INTO projection_versions (name, version, state, schema_name) "
            "VALUES ($1, $2, 'building', $3)",
            projection.name,
            version,
            schema,
        )
    log.info("projection_rebuild_begun", projection=projection.name, version=version)
    return Target(projection, version, "building", schema)


async def _copy_table(owner: asyncpg.Connection, table: str, schema: str, indexed: bool) -> None:
    """An empty table like ``public.table``, with its constraints and (``indexed``) its other
    indexes under the same names (a later migration may name them)."""
    source = f"public.{_id(table)}"
    copy = f"{_id(schema)}.{_id(table)}"
    await owner.execute(
        f"CREATE TABLE {copy} (LIKE {source} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
        "INCLUDING GENERATED INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMMENTS)"
    )
    constraints = await owner.fetch(
        "SELECT conname, pg_get_constraintdef(oid) AS def, conindid FROM pg_constraint "
        "WHERE conrelid = $1::regclass AND contype IN ('p', 'u', 'x') ORDER BY conname",
        source,
    )
    for c in constraints:
        await owner.execute(f"ALTER TABLE {copy} ADD CONSTRAINT {_id(c['conname'])} {c['def']}")
    # a unique one always: an upsert may lean on it
    await _add_indexes(owner, table, schema, unique_only=not indexed)
    await owner.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {copy} TO thidua_projector")


async def _add_indexes(
    owner: asyncpg.Connection,
    table: str,
    schema: str,
    *,
    unique_only: bool = False,
    concurrently: bool = False,
) -> None:
    """The indexes of ``public.table`` that back no constraint, on its copy in ``schema``, those
    it has not yet (a rebuild resumed), or has invalid (a concurrent build that failed).
    ``concurrently``: without holding up the runners that apply the building version."""
    indexes = await owner.fetch(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) AS def, x.indisvalid AS valid "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "LEFT JOIN pg_index x ON x.indexrelid = to_regclass(quote_ident($2) || '.' || "
        "quote_ident(c.relname)) WHERE i.indrelid = $1::regclass AND (i.indisunique OR NOT $3) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid "
        "AND k.conrelid = i.indrelid) AND x.indisvalid IS NOT TRUE",
        f"public.{_id(table)}",
        schema,
        unique_only,
    )
    copy = f"{_id(schema)}.{_id(table)}"
    for index in indexes:
        if index["valid"] is False:
            await owner.execute(f"DROP INDEX {_id(schema)}.{_id(index['relname'])}")
        create = _ON_TABLE.sub(f" ON {copy} USING ", index["def"], count=1)
        if concurrently:
            create = create.replace(" INDEX ", " INDEX CONCURRENTLY ", 1)
        await owner.execute(create)


async def _index_last(owner: asyncpg.Connection, target: Target, *, concurrently: bool) -> None:
    for table in target.projection.indexed_last:
        await _add_indexes(owner, table, target.schema, concurrently=concurrently)


async def catch_up(
    pool: asyncpg.Pool,
    target: Target,
    *,
    batch_size: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Run ``target`` (on ``pool``, as thidua_projector) until a round over every tenant behind
    applies less than one batch: the logs keep growing while commands write, so what is left
    then is for the swap to apply under its lock. ``progress(applied, heads)``, in events, at
    most every ``PROGRESS_EVERY_S`` and at the end."""
    lag, moved = float("inf"), time.monotonic()
    statistics = _Statistics(pool, target)
    # A transaction applies a batch of each of many tenants (one a tenant made a union of
    # 130,000 small logs take 130,000 of them), about REBUILD_GROUP_EVENTS in all.
    group = max(GROUP_TENANTS, REBUILD_GROUP_TENANTS)
    while True:
        async with pool.acquire() as conn:
            await add_checkpoints(conn, target)
            await pass_unconcerned(conn, target)
            behind = await tenants_behind(conn, target)
            # counted once a round, then by what the batches applied: summing 130,000
            # checkpoints at every report was a third of a rebuild's time
            done, heads = await _counts(conn, target) if progress is not None else (0, 0)
        tally = _Tally(progress, done, heads)
        groups = iter([behind[i : i + group] for i in range(0, len(behind), group)])
        # a worker that fails stops the other (a gather would leave it taking groups), and its
        # error is the rebuild's, as it was with one worker
        try:
            async with asyncio.TaskGroup() as workers:
                for _ in range(REBUILD_IN_FLIGHT):
                    workers.create_task(
                        _take_groups(pool, target, groups, batch_size, tally, statistics)
                    )
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None
        applied = tally.applied
        if applied < batch_size:
            # Another runner (thidua serve's own) may be taking the batches: what is left is
            # measured by the checkpoints, not by what this loop applied.
            # Stop too once nobody has moved it on for a while: the swap applies the rest
            # under its lock.
            async with pool.acquire() as conn:
                done, heads = await _counts(conn, target)
            if heads - done < lag:
                lag, moved = heads - done, time.monotonic()
            if lag < batch_size or time.monotonic() - moved > STALLED_S:
                break
            await asyncio.sleep(0.05)
    if progress is not None:
        async with pool.acquire() as conn:
            progress(*await _counts(conn, target))


class _Tally:
    """What a round's workers applied, and its progress reported at most every
    ``PROGRESS_EVERY_S``."""

    def __init__(self, progress: Callable[[int, int], None] | None, done: int, heads: int):
        self.progress, self.done, self.heads = progress, done, heads
        self.applied, self.reported = 0, 0.0

    def add(self, applied: int) -> None:
        self.applied += applied
        if self.progress is not None and time.monotonic() - self.reported > PROGRESS_EVERY_S:
            self.progress(min(self.done + self.applied, self.heads), self.heads)
            self.reported = time.monotonic()


async def _take_groups(
    pool: asyncpg.Pool,
    target: Target,
    groups: Iterator[list[str]],
    batch_size: int,
    tally: _Tally,
    statistics: _Statistics,
) -> None:
    """A worker of a round: the groups it takes from ``groups`` (shared: each group is taken
    by one worker) caught up, a transaction a batch of each tenant."""
    for pending in groups:
        while pending:
            # the fewer tenants still behind in the group (a few long logs), the more of each
            # a transaction takes: about REBUILD_GROUP_EVENTS still
            per_tenant = min(batch_size, max(1, REBUILD_GROUP_EVENTS // len(pending)))
            batches = await _run_group(pool, target, pending, per_tenant)
            applied = sum(b.applied for b in batches)
            tally.add(applied)
            pending = [b.tenant_id for b in batches if b.full]
            await statistics.after(applied)


class _Statistics:
    """The building tables' statistics refreshed as they grow, as the runner refreshes the live
    ones (shared/projections.py): begun empty, they are planned as empty, and a batch's lookups
    by key became scans of the whole growing table (a rebuild of 1.3 million events made 200).
    Once they have grown twice as large since the last: the planner scales what it last
    learned by a table's size now, so that a table known large stays planned as large, and
    every ten seconds took 4 s of the database's time in a rebuild of 5 million events."""

    def __init__(self, pool: asyncpg.Pool, target: Target) -> None:
        self.pool, self.target = pool, target
        self.unanalyzed, self.analyzed, self.at = 0, 0, time.monotonic()

    async def after(self, applied: int) -> None:
        self.unanalyzed += applied
        if (
            self.unanalyzed < max(ANALYZE_AFTER_EVENTS, self.analyzed)
            or time.monotonic() - self.at < ANALYZE_EVERY_S
        ):
            return
        self.analyzed += self.unanalyzed
        self.unanalyzed, self.at = 0, time.monotonic()
        async with self.pool.acquire() as conn:
            await conn.execute(
                "SELECT thidua_analyze_tables($1, $2::text[])",
                self.target.schema,
                list(self.target.projection.tables),
            )


async def _run_group(
    pool: asyncpg.Pool, target: Target, tenants: list[str], per_tenant: int
) -> list[Batch]:
    """A group's next batches, in one transaction; done again if it deadlocked with the other
    worker's (rolled back, nothing of it applied), up to DEADLOCK_ATTEMPTS times in all."""
    for attempt in range(1, DEADLOCK_ATTEMPTS):
        try:
            async with pool.acquire() as conn:
                return await run_batches(conn, target, tenants, per_tenant, lag=False)
        except asyncpg.DeadlockDetectedError:
            log.info("projection_rebuild_batch_retried", projection=target.name, attempt=attempt)
    async with pool.acquire() as conn:
        return await run_batches(conn, target, tenants, per_tenant, lag=False)


async def _counts(conn: asyncpg.Connection, target: Target) -> tuple[int, int]:
    row = await conn.fetchrow(
        "SELECT coalesce(sum(least(coalesce(c.last_seq, 0), h.seq)), 0) AS applied, "
        "coalesce(sum(h.seq), 0) AS heads FROM tenant_heads h "
        "LEFT JOIN projection_checkpoints c ON c.name = $1 AND c.version = $2 "
        "AND c.tenant_id = h.tenant_id",
        target.name,
        target.version,
    )
    return row["applied"], row["heads"]


async def swap(
    owner: asyncpg.Connection,
    target: Target,
    *,
    batch_size: int = 500,
    attempts: int = SWAP_ATTEMPTS,
) -> None:
    """Swap the building ``target`` in (as the owner). A lock not had soon (readers queue
    behind a waiting swap, so it does not wait long) or a deadlock with a command undoes the
    attempt; it is tried again."""
    for attempt in range(1, attempts + 1):
        try:
            async with owner.transaction():
                await owner.execute(
                    "SELECT set_config('lock_timeout', ((extract(epoch FROM "
                    "current_setting('deadlock_timeout')::interval) + $1) * 1000)::int || 'ms', "
                    "true)",
                    SWAP_PAST_DEADLOCK_CHECK_S,
                )
                await _swap(owner, target, batch_size)
            log.info("projection_swapped", projection=target.name, version=target.version)
            return
        except (asyncpg.LockNotAvailableError, asyncpg.DeadlockDetectedError) as exc:
            if attempt == attempts:
                raise
            log.info("projection_swap_retried", attempt=attempt, error=str(exc))
            await asyncio.sleep(min(0.05 * attempt, 1.0))


async def _swap(owner: asyncpg.Connection, target: Target, batch_size: int) -> None:
    projection = target.projection
    live = await owner.fetchval(
        "SELECT version FROM projection_versions WHERE name = $1 AND state = 'live' FOR UPDATE",
        target.name,
    )
    state = await owner.fetchval(
        "SELECT state FROM projection_versions WHERE name = $1 AND version = $2 FOR UPDATE",
        target.name,
        target.version,
    )
    if state != "building":
        raise ValueError(f"{target.name} v{target.version} is {state}, not building")
    # Every runner's batch of either version has committed once these are ours, and none
    # begins after (they skip locked checkpoints).
    await add_checkpoints(owner, target)
    await owner.execute(
        "SELECT 1 FROM projection_checkpoints WHERE name = $1 AND version = ANY ($2::int[]) "
        "ORDER BY version, tenant_id FOR UPDATE",
        target.name,
        [v for v in (live, target.version) if v is not None],
    )
    tables = projection.tables
    live_tables = [f"public.{_id(t)}" for t in tables]
    next_tables = [f"{_id(target.schema)}.{_id(t)}" for t in tables]
    await owner.execute(
        f"LOCK TABLE {', '.join(live_tables + next_tables)} IN ACCESS EXCLUSIVE MODE"
    )
    await pass_unconcerned(owner, target)
    for tenant_id in await tenants_behind(owner, target):
        while (batch := await run_batch(owner, target, tenant_id, batch_size, wait=True)) and (
            batch.full
        ):
            pass
    await _index_last(owner, target, concurrently=False)  # where the rebuild has not
    await owner.execute("SET LOCAL search_path = public")
    kept = await _table_rules(owner, live_tables)
    policies = await _policies_naming(owner, live_tables)
    await owner.execute(f"CREATE SCHEMA IF NOT EXISTS {RETIRED_SCHEMA}")
    for table in tables:
        await owner.execute(f"ALTER TABLE public.{_id(table)} SET SCHEMA {RETIRED_SCHEMA}")
        await owner.execute(f"ALTER TABLE {_id(target.schema)}.{_id(table)} SET SCHEMA public")
    for table in tables:
        await owner.execute(f"REVOKE ALL ON public.{_id(table)} FROM thidua_projector")
    for statement in kept:
        await owner.execute(statement)
    for drop, create in policies:
        await owner.execute(drop)
        await owner.execute(create)
    # In one statement: the old tables' policies name each other. Anything else still bound to
    # them (a view) refuses the drop, and the swap with it.
    await owner.execute(f"DROP TABLE {', '.join(f'{RETIRED_SCHEMA}.{_id(t)}' for t in tables)}")
    await owner.execute(f"DROP SCHEMA {_id(target.schema)}")
    await owner.execute(
        "UPDATE projection_versions SET state = 'retired', swapped_at = now() "
        "WHERE name = $1 AND state = 'live'",
        target.name,
    )
    await owner.execute(
        "UPDATE projection_versions SET state = 'live', schema_name = $3, swapped_at = now() "
        "WHERE name = $1 AND version = $2",
        target.name,
        target.version,
        LIVE_SCHEMA,
    )
    if live is not None:
        await owner.execute(
            "DELETE FROM projection_checkpoints WHERE name = $1 AND version = $2",
            target.name,
            live,
        )


async def _table_rules(owner: asyncpg.Connection, tables: list[str]) -> list[str]:
    """What the new tables must be given to stand where the live ones stand: row-level
    security, grants (their owner is the same)."""
    statements = []
    for table in tables:
        flags = await owner.fetchrow(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = $1::regclass",
            table,
        )
        if flags["relrowsecurity"]:
            statements.append(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        if flags["relforcerowsecurity"]:
            statements.append(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        grants = await owner.fetch(
            "SELECT a.privilege_type, a.is_grantable, "
            "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END AS grantee "
            "FROM pg_class c, aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee "
            "WHERE c.oid = $1::regclass AND a.grantee <> c.relowner",
            table,
        )
        for g in grants:
            option = " WITH GRANT OPTION" if g["is_grantable"] else ""
            statements.append(f"GRANT {g['privilege_type']} ON {table} TO {g['grantee']}{option}")
    return statements


_COMMANDS = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}


async def _policies_naming(owner: asyncpg.Connection, tables: list[str]) -> list[tuple[str, str]]:
    """Every policy on the swapped tables, and on any other table whose expression names one of
    them, as (drop, create) statements whose text names tables as the search path (public)
    resolves them: run after the swap, they bind the new tables. A policy on a swapped table
    needs no drop (it leaves with its table)."""
    rows = await owner.fetch(
        """
        SELECT p.polname, p.polrelid::regclass::text AS tbl, p.polcmd::text AS polcmd, p.polpermissive,
               p.polrelid = ANY ($1::regclass[]) AS on_swapped,
               ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE quote_ident(ro.rolname) END
                       FROM unnest(p.polroles) r LEFT JOIN pg_roles ro ON ro.oid = r) AS roles,
               pg_get_expr(p.polqual, p.polrelid) AS qual,
               pg_get_expr(p.polwithcheck, p.polrelid) AS checks
          FROM pg_policy p
         WHERE p.polrelid = ANY ($1::regclass[])
            OR p.oid IN (SELECT d.objid FROM pg_depend d
                          WHERE d.classid = 'pg_policy'::regclass
                            AND d.refclassid = 'pg_class'::regclass
                            AND d.refobjid = ANY ($1::regclass[]))
         ORDER BY p.polrelid, p.polname
        """,
        tables,
    )
    found = []
    for p in rows:
        table = p["tbl"] if not p["on_swapped"] else f"public.{p['tbl'].rpartition('.')[2]}"
        create = (
            f"CREATE POLICY {_id(p['polname'])} ON {table} "
            f"AS {'PERMISSIVE' if p['polpermissive'] else 'RESTRICTIVE'} "
            f"FOR {_COMMANDS[p['polcmd']]} TO {', '.join(p['roles'])}"
        )
        if p["qual"] is not None:
            create += f" USING ({p['qual']})"
        if p["checks"] is not None:
            create += f" WITH CHECK ({p['checks']})"
        drop = "SELECT 1" if p["on_swapped"] else f"DROP POLICY {_id(p['polname'])} ON {table}"
        found.append((drop, create))
    return found


def _id(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def rebuild(
    owner: asyncpg.Connection,
    pool: asyncpg.Pool,
    projection: Projection,
    *,
    batch_size: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> Target:
    """Begin (or resume) version N+1, catch it up on ``pool`` while commands keep writing, and
    swap it in. The version now live."""
    target = await begin(owner, projection)
    await catch_up(pool, target, batch_size=batch_size, progress=progress)
    # concurrently: the servers' runners keep applying the building version meanwhile (a plain
    # build would hold them up, and every live projection with them)
    await _index_last(owner, target, concurrently=True)
    for table in projection.tables:
        await owner.execute(f"ANALYZE {_id(target.schema)}.{_id(table)}")
    await swap(owner, target, batch_size=batch_size)
    return Target(projection, target.version, "live", LIVE_SCHEMA)
