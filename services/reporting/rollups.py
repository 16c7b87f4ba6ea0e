"""The large subtrees' roll-ups kept ready, so that no user waits for a full read.

A roll-up of a subtree of at least ``rollup_units`` units is kept by whoever reads it
(``thidua_report_figures``, shared/migrations/0059_reporting_reads.sql); later reads add only what
was written since. Its first read (after a rebuild's swap, which starts the roll-ups afresh;
after a move or merge of a unit with a history; a period with a year no kept roll-up encloses:
any other period is taken from the kept ones that enclose its years, migration 0065) reads every
unit's rows: 5.7 s for the union at 5 million events. The keeper makes those reads itself, as
each unit (the same function, the same reach as the unit's own officers), for this year, the
last, the periods of the reports asked for, the five-year terms of this year and the last, and
the terms before them back to the earliest year any figure is dated in
(``thidua_report_rollups_to_keep``, 0060, 0064 and 0067): at the server's start, every
``report_keep_interval_s`` (and within ``TREE_WATCH_S`` of a change to the tree: 0080), and at
the end of ``thidua reports rebuild``. A roll-up already kept and current costs it a lookup.
The periods of a unit with a year no kept roll-up encloses (after
a rebuild, every one) are read together, in one read of the years they span
(``thidua_report_keep``, 0077).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import date

import asyncpg
import structlog

from services.reporting.summaries import read_figures
from shared import access
from shared.clock import today
from shared.db import lock_key

log = structlog.get_logger(__name__)


# One keeper at a time in the whole installation (every server runs one, and a rebuild too):
# N keepers after a restart would each read the union's rows in full at the same moment.
KEEPER_LOCK = lock_key("report_rollups_keeper")


async def keep_rollups(
    pool: asyncpg.Pool, on: date | None = None, *, wait: bool = False, at_once: int = 1
) -> int:
    """Read (and so keep) the roll-up of every large subtree's periods worth keeping on ``on``
    (default: today in Vietnam), the largest first, ``at_once`` at a time; how many were read.
    While another keeper is at it, none (``wait``: once it is done)."""
    async with pool.acquire() as guard:
        if wait:
            await guard.execute("SELECT pg_advisory_lock($1)", KEEPER_LOCK)
        elif not await guard.fetchval("SELECT pg_try_advisory_lock($1)", KEEPER_LOCK):
            return 0
        try:
            wanted = await guard.fetch(
                "SELECT unit_id, first_year, last_year FROM thidua_report_rollups_to_keep($1)",
                on or today(),
            )
            units = iter(_by_unit(wanted))
            # a reader that fails stops the other, and its error is the keeper's (the round
            # says a database away a moment as a warning, not as an exception group)
            try:
                async with asyncio.TaskGroup() as readers:
                    for _ in range(at_once):
                        readers.create_task(_read(pool, units))
            except ExceptionGroup as failed:
                raise failed.exceptions[0] from None
            return len(wanted)
        finally:
            await guard.execute("SELECT pg_advisory_unlock($1)", KEEPER_LOCK)


def _by_unit(wanted: list[asyncpg.Record]) -> list[tuple[str, list[tuple[int, int]]]]:
    """Each unit's periods, in the order wanted (the largest units first)."""
    periods: dict[str, list[tuple[int, int]]] = {}
    for row in wanted:
        periods.setdefault(row["unit_id"], []).append((row["first_year"], row["last_year"]))
    return list(periods.items())


async def _read(pool: asyncpg.Pool, units: Iterator[tuple[str, list[tuple[int, int]]]]) -> None:
    for unit, periods in units:  # shared: each taken by one reader
        async with access.as_unit(pool, unit) as conn:
            # those with a year no kept roll-up encloses (after a rebuild, every one) in one
            # read of the years they span (0077): read one by one, the union's changes of this
            # year were read three times; then each as a user reads it, a lookup where current
            await conn.fetchval(
                "SELECT thidua_report_keep($1, $2::integer[], $3::integer[])",
                unit,
                [first for first, _ in periods],
                [last for _, last in periods],
            )
            for first, last in periods:
                await read_figures(conn, [(unit, first, last, None)])


# How often the keeper looks for a change to the tree between its rounds: a move or a merge of
# a unit with a history makes the large subtrees' roll-ups read in full again (5-8 s for the
# union), and until the keeper keeps them anew every reader of the union reads in full too.
TREE_WATCH_S = 2.0


class RollupKeeper:
    """:func:`keep_rollups` at once and then every ``interval_s``, in a background task; and
    as soon as it sees (every ``watch_s``) that the tree changed since its last round."""

    def __init__(
        self, pool: asyncpg.Pool, interval_s: float, watch_s: float = TREE_WATCH_S
    ) -> None:
        self.pool = pool
        self.interval_s = interval_s
        self.watch_s = watch_s
        self.rounds = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None and self.interval_s > 0:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="rollups")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            tree = await self._tree()
            try:
                kept = await keep_rollups(self.pool)
                log.debug("report_rollups_kept", periods=kept)
            except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError) as exc:
                # the database away a moment: the next round, and users' reads keep them anyway
                log.warning("report_rollups_not_kept", error=str(exc))
            except Exception:  # not expected: said loudly, and the keeper goes on
                log.exception("report_rollups_keeper_failed")
            self.rounds += 1
            await self._until_due(tree)

    async def _tree(self) -> str | None:
        """The newest change to the tree (None: none, or the database away a moment)."""
        try:
            return await self.pool.fetchval("SELECT thidua_report_tree_changed_last()")
        except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
            return None

    async def _until_due(self, tree: str | None) -> None:
        """Until ``interval_s`` has passed, or the tree changed since ``tree`` was read."""
        due = asyncio.get_running_loop().time() + self.interval_s
        while (left := due - asyncio.get_running_loop().time()) > 0:
            await asyncio.sleep(min(self.watch_s, left))
            now = await self._tree()
            if now is not None and now != tree:
                return
