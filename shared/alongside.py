"""A command's events projected while it appends them: the runner's work for one tenant, done
on a second connection beside the command's transaction instead of after its commit.

A bulk command (run_in_transaction with parts, shared/commands.py ``Attempt.send``) stores
its events a part at a time, and its answer waits for the projections to show them. The
runner can only start once the command has committed (it reads committed events), so a
decision of 10,000 recipients spent about as long waiting for its projection (0.4 s) as
storing its parts. Here each part is projected as soon as it is stored, on a connection of
the runner's pool, while the next part is stored: the database's two cores work at once.

Exactly once still holds, by the same rule as the runner's: the read model's rows and the
checkpoints that say how far they go are written in ONE transaction (T2). T2 takes the
tenant's checkpoint rows first (the runner skips rows another holds), applies what the runner
had not yet applied, then the command's events, and commits only after the command's own
transaction (T1) has committed. If T1 rolls back, so does T2. If the process dies between
the two commits, T2 is lost whole and the runner applies the events again from the log. Any
failure of T2 (a deadlock, a lock not had within a second, events no longer in memory) rolls
it back and leaves the events to the runner, as if T2 had never begun.

T2 sees what is committed, never T1's own writes beside the log: a decision that writes rows
its events' handlers read (a person's key, minted for the names a bulk pledge gives) says so
(:func:`written_beside_log`), and its events are left to the runner, which reads after T1's
commit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING
from uuid import UUID

import asyncpg
import structlog

from shared.eventstore import EVENT_COLUMNS, Appended, RecentEvents, StoredEvent

if TYPE_CHECKING:
    from shared.projections import ProjectionRunner, Target

log = structlog.get_logger(__name__)

# Longest T2 waits for a checkpoint row a runner's batch holds: past it, the runner has the
# tenant, and T2 leaves the command's events to it.
LOCK_SECONDS = 1.0
LOCK_WAIT = f"{int(LOCK_SECONDS * 1000)}ms"

# The projection beside the decision now running (shared/commands.py sets it around decide).
_CURRENT: ContextVar[Alongside | None] = ContextVar("alongside", default=None)


def written_beside_log() -> None:
    """The running decision wrote rows beside the log that its events' handlers read: the
    projection beside it cannot see them before T1's commit, so leaves its events to the
    runner."""
    alongside = _CURRENT.get()
    if alongside is not None:
        alongside.unseen = True


@contextlib.contextmanager
def deciding(alongside: Alongside | None) -> Iterator[None]:
    """``alongside`` is the running decision's (for :func:`written_beside_log`)."""
    token = _CURRENT.set(alongside)
    try:
        yield
    finally:
        _CURRENT.reset(token)


class Alongside:
    """One command's projection beside it, for one tenant's log (the command's own). Fed each
    append as T1 stores it (:meth:`fed`); :meth:`finish` after T1's commit, :meth:`abandon`
    if T1 did not commit. Opens nothing until fed."""

    def __init__(
        self,
        runner: ProjectionRunner,
        recent: RecentEvents,
        tenant_id: str,
        not_beside: frozenset[str] = frozenset(),
    ) -> None:
        self.runner = runner
        self.not_beside = not_beside  # event types a projection leaves to the runner
        self.recent = recent
        self.tenant_id = tenant_id
        self.failed = False
        self.unseen = False  # T1 wrote beside the log what T2 would need to see
        self._queue: list[StoredEvent] = []
        self._more = asyncio.Event()
        self._finishing = False
        self._task: asyncio.Task[None] | None = None
        self._conn: asyncpg.Connection | None = None
        self._transaction: asyncpg.transaction.Transaction | None = None
        self._targets: list[Target] = []
        self._last_hash = b""
        self._next_seq = 0
        self._applied = 0
        self._closed = False

    def fed(self, appended: Appended) -> None:
        """An append of T1's, just stored: its events queued for T2 (taken from memory, where
        the store keeps what this process appended; not there, T2 gives up)."""
        if self.failed or appended.replayed or appended.tenant_id != self.tenant_id:
            return
        if self.unseen:  # no use projecting what will be rolled back
            self._give_up("written_beside_log")
            return
        if self._next_seq and appended.seqs[0] != self._next_seq:
            self._give_up("not_consecutive")
            return
        events = self._events(appended)
        if events is None:
            self._give_up("not_in_memory")
            return
        if any(e.event_type in self.not_beside for e in events):
            self._give_up("not_beside")
            return
        self._next_seq = appended.last_seq + 1
        self._queue.extend(events)
        if self._task is None:
            if not self.runner.take_alongside_slot():
                self._give_up(None)
                return
            self._task = asyncio.get_running_loop().create_task(self._work(appended.seqs[0]))
        self._more.set()

    def _events(self, appended: Appended) -> list[StoredEvent] | None:
        events = []
        for seq, digest in zip(appended.seqs, appended.hashes, strict=True):
            content = self.recent.take(self.tenant_id, seq, digest)
            if content is None:
                return None
            events.append(
                StoredEvent(
                    tenant_id=self.tenant_id,
                    seq=seq,
                    stream_id=UUID(content["stream_id"]),
                    stream_version=content["stream_version"],
                    event_type=content["event_type"],
                    schema_version=content["schema_version"],
                    data=content["data"],
                    meta=content["meta"],
                    recorded_at=appended.recorded_at,
                    prev_hash=self._last_hash,  # the first's is not known here: no handler reads it
                    hash=bytes(digest),
                )
            )
            self._last_hash = bytes(digest)
        return events

    def _give_up(self, why: str | None) -> None:
        if why is not None and not self.failed:
            log.info("projection_alongside_left", tenant=self.tenant_id, why=why)
        self.failed = True
        self._queue.clear()
        self._more.set()

    async def _work(self, first_seq: int) -> None:
        try:
            await self._applying(first_seq)
        finally:
            if self.failed:  # at once: what T2 holds is not held until T1 ends
                await self._close(commit=False)

    async def _applying(self, first_seq: int) -> None:
        try:
            await self._open(first_seq)
            while not self.failed:
                if self._queue:
                    events, self._queue = self._queue, []
                    await self._project(events)
                    continue
                if self._finishing:
                    return
                self._more.clear()
                await self._more.wait()
        except Exception as exc:
            # A deadlock with a runner's batch, a lock not had in time, a handler's defect (the
            # runner meets it again, and logs it as it does): the runner's, then.
            self._give_up(type(exc).__name__)
        except BaseException:  # cancelled: whatever T2 applied so far is never committed
            self._give_up("cancelled")
            raise

    async def _open(self, first_seq: int) -> None:
        """T2 begun: the tenant's checkpoint rows of every live projection taken, and what the
        runner had not applied before the command's first event applied first."""
        from shared.projections import targets_of  # the runner's module imports this one

        # Not long: a runner's pool that busy is the runner's to use.
        self._conn = conn = await self.runner.pool.acquire(timeout=LOCK_SECONDS)
        self._transaction = conn.transaction()
        await self._transaction.start()
        await conn.execute(
            "SELECT set_config('synchronous_commit', 'off', true), "
            "set_config('lock_timeout', $1, true)",
            LOCK_WAIT,
        )
        targets = [t for t in await targets_of(conn, self.runner.projections) if t.state == "live"]
        if len(targets) < len(self.runner.projections):
            self._give_up("not_live")
            return
        # The committed head beside: T1's first fed part follows it, or T1 has committed
        # since. Below it, some of T1's events came before any was fed here, and the
        # catch-up below could not see them.
        rows = await conn.fetch(
            "SELECT c.name, c.last_seq, (SELECT seq FROM tenant_heads WHERE tenant_id = $3) "
            "AS head FROM projection_checkpoints c JOIN unnest($1::text[], $2::int[]) "
            "AS w (name, version) ON w.name = c.name AND w.version = c.version "
            "WHERE c.tenant_id = $3 FOR UPDATE OF c",
            [t.name for t in targets],
            [t.version for t in targets],
            self.tenant_id,
        )
        if len(rows) < len(targets):  # a unit the runner has not surveyed yet: the runner's
            self._give_up("no_checkpoint")
            return
        if rows[0]["head"] < first_seq - 1:
            self._give_up("not_first")
            return
        # The lock wait stays bounded for the handlers too: a row a runner's batch holds
        # longer is the runner's to apply behind.
        self._targets = targets
        last = {r["name"]: r["last_seq"] for r in rows}
        if max(last.values()) >= first_seq:
            # The runner took the rows first, once T1 had committed: it applied T1's events.
            self._give_up("runner_first")
            return
        for target in targets:
            if last[target.name] < first_seq - 1:
                await self._catch_up(target, last[target.name], first_seq)

    async def _catch_up(self, target: Target, after: int, before: int) -> None:
        """The target's events the runner had not applied yet, before T1's first: a few, as
        a rule (the command before this one waited for them). Many: the runner's."""
        batch = self.runner.batch_size
        assert self._conn is not None
        rows = await self._conn.fetch(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE tenant_id = $1 AND seq > $2 "
            "AND seq < $3 AND event_type = ANY ($4::text[]) ORDER BY seq LIMIT $5",
            self.tenant_id,
            after,
            before,
            target.projection.event_types,
            batch + 1,
        )
        if len(rows) > batch:
            self._give_up("far_behind")
            return
        metas: dict[str, object] = {}
        await target.projection.project(self._conn, [StoredEvent.from_row(r, metas) for r in rows])
        self._applied += len(rows)

    async def _project(self, events: Sequence[StoredEvent]) -> None:
        assert self._conn is not None
        for target in self._targets:
            handled = target.projection.handlers
            await target.projection.project(
                self._conn, [e for e in events if e.event_type in handled]
            )
        self._applied += len(events)

    async def __aenter__(self) -> Alongside:
        return self

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        """Left once T1 has committed (finished) or not (abandoned)."""
        if exc_type is None:
            self.finish()
        else:
            self.abandon()

    def finish(self) -> None:
        """After T1's commit: T2 completed in the background (the command's answer waits for
        the projections within its bound, as it would for the runner's), up to the last event
        it was fed: T1's last in the tenant's log, which T1 held from its first part."""
        if self._task is not None:
            self.runner.keep(self._complete(self._next_seq - 1))

    def abandon(self) -> None:
        """T1 did not commit: T2 rolled back in the background (what it applied was never
        there), once its statement in flight is done."""
        if self._task is not None:
            self._give_up(None)
            self.runner.keep(self._discard())

    async def _discard(self) -> None:
        await self._settled()
        await self._close(commit=False)

    async def _complete(self, last_seq: int) -> bool:
        """T2's checkpoints moved to ``last_seq`` and committed. True if the projections now
        show the command's events; False: the runner will (woken here)."""
        self._finishing = True
        self._more.set()
        await self._settled()
        conn = self._conn
        if self.unseen:
            self._give_up("written_beside_log")
        if self.failed or conn is None:
            await self._close(commit=False)
            self.runner.wake_for(self.tenant_id)
            return False
        try:
            await conn.execute(
                "UPDATE projection_checkpoints c SET last_seq = greatest(c.last_seq, $4), "
                "updated_at = now() FROM unnest($1::text[], $2::int[]) AS w (name, version) "
                "WHERE c.name = w.name AND c.version = w.version AND c.tenant_id = $3",
                [t.name for t in self._targets],
                [t.version for t in self._targets],
                self.tenant_id,
                last_seq,
            )
            await self._close(commit=True)
        except Exception as exc:  # its connection ended (asyncpg's errors vary): the runner's
            self._give_up(type(exc).__name__)  # rolled back, released
            self.runner.wake_for(self.tenant_id)
            return False
        self.runner.applied_alongside(self._targets, self.tenant_id, last_seq, self._applied)
        return True

    async def _settled(self) -> None:
        """The worker done with its statement in flight (never cancelled mid-statement: the
        connection would be lost, and with it T2's rollback)."""
        assert self._task is not None
        await asyncio.wait([self._task])  # its failure is its own: given up, closed

    async def _close(self, *, commit: bool) -> None:
        if self._closed:
            return
        self._closed = True
        conn, self._conn = self._conn, None
        transaction, self._transaction = self._transaction, None
        try:
            if conn is not None and transaction is not None:
                if commit:
                    await transaction.commit()
                else:
                    with contextlib.suppress(Exception):  # an ended connection rolls back too
                        await transaction.rollback()
        finally:
            if conn is not None:
                await self.runner.pool.release(conn)
            self.runner.give_alongside_slot()
