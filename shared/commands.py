"""The one way a command runs (issue 13): authorise → load and decide → append → announce → wait
for the projections → answer.

``Pipeline`` is built once per running Thi đua; each service takes its ``Commands`` from it
(``pipeline.service(registry)``) and writes every command handler as a ``decide`` function:

    async def decide(attempt: Attempt) -> Answer:
        campaign = await attempt.get(campaign_id)       # on the attempt's one connection
        campaign.add_phase(...)                          # a rule that says no raises
        attempt.save(campaign)                           # its pending events are appended
        return number                                    # the command's answer

Two ways to run it:

- ``run``: reads and decisions on ONE connection scoped to the caller (row-level security as
  the caller, shared/access.py ``scope``), released before the append; the append then goes
  through the group commit (shared/groupcommit.py), so the commands of many units share WAL
  flushes. Optimistic concurrency: each event names its stream's next version, and a
  conflict decides again, at most ``retries`` times, after the projections of the log that
  moved have caught up (the next decision then reads fresh read models). What a decision read
  in other units' logs it guards (``attempt.guard``): the append is stored only if those streams
  are still at the versions read (shared/migrations/0019_guards.sql).
- ``run_in_transaction`` (the registry): everything in one transaction on one connection, under
  an optional advisory lock, appends to several logs, an inline projection applied in the same
  transaction, announced after the commit.

An idempotency key (the ``Idempotency-Key`` header, or an input field) makes a repeat of the
same command with the same input answer as the first did and write nothing; with other input it
is refused (IdempotencyKeyReused). The first answer is stored in the meta of the events it made,
so a repeat reads it from the log, whichever process answered the first time.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, TypeVar
from uuid import UUID

import asyncpg
import orjson
import structlog
from eventsourcing.domain import Aggregate

from shared import access, canonical
from shared.aggregates import AggregateCache, DueSnapshot, EventRegistry, Held, Repository
from shared.auth import Principal
from shared.db import InFlight, cancelled_as_busy, set_reach, transaction
from shared.errors import ConcurrencyConflict, DomainError, InvalidInput
from shared.eventstore import (
    IDEMPOTENCY_KEY,
    Appended,
    EventStore,
    Guard,
    GuardFailed,
    NewEvent,
    PreparedAppend,
    StoredEvent,
    check_idempotency_key,
)

log = structlog.get_logger(__name__)

R = TypeVar("R")
# The events of one part Attempt.send appends (a bulk's events are up to 64 KiB each,
# shared/chunks.py): small enough that encoding the next overlaps storing this one.
SENT_EVENTS = 8
# Snapshots wait for this long a quiet (no command at work), or at most the other since due.
SNAPSHOT_IDLE_S = 0.2
SNAPSHOT_LATEST_S = 10.0
Authorise = Callable[[asyncpg.Connection, Principal | None], Awaitable[None]]
Decide = Callable[["Attempt"], Awaitable[R]]
Project = Callable[[asyncpg.Connection, list[StoredEvent]], Awaitable[None]]
Respond = Callable[[asyncpg.Connection, Any], Awaitable[Any]]


class Positions(Protocol):
    """How far the projections are (shared/projections.py builds the live one)."""

    # The bound is the caller's to give per wait (the answer goes out past it, late but given).
    async def wait_for(self, tenant_id: str, seq: int, timeout: float) -> bool:  # noqa: ASYNC109
        """True once every live projection has passed ``seq`` in the tenant's log; False if
        ``timeout`` seconds passed first."""
        ...


async def anyone(conn: asyncpg.Connection, actor: Principal | None) -> None:
    """No check beyond the decision's own: for services whose every command checks in decide."""


@dataclass(slots=True)
class PipelineStats:
    """For metrics: ``retried`` decisions made again after a conflict, ``replayed`` repeats of an
    idempotency key, ``late`` answers given before the projections caught up."""

    commands: int = 0
    retried: int = 0
    replayed: int = 0
    late: int = 0


class _Replayed(Exception):
    """A concurrent repeat of the key committed first: roll back, answer as it did."""

    def __init__(self, tenant_id: str, appended: Appended) -> None:
        self.tenant_id = tenant_id
        self.appended = appended


@dataclass(frozen=True, slots=True)
class _FirstAnswer:
    """What a repeated key answered the first time (which may itself be None)."""

    value: Any


@dataclass(frozen=True, slots=True)
class _Key:
    value: str
    fingerprint: bytes


@dataclass(slots=True)
class Attempt:
    """One decision of a command: its connection (reads as the caller), what it saves, what it
    guards. Made again for every retry."""

    conn: asyncpg.Connection
    actor: Principal | None
    tenant_id: str  # the log a save goes to unless it names another
    repository: Repository
    number: int = 1
    saved: dict[str, list[Aggregate]] = field(default_factory=dict)
    guards: list[Guard] = field(default_factory=list)
    made: dict[str, list[NewEvent]] = field(default_factory=dict)
    held: list[Held] = field(default_factory=list)
    # Each saved aggregate's version and last event's hash, once appended.
    hashes: dict[UUID, tuple[int, bytes]] = field(default_factory=dict)
    # Set by run_in_transaction (without an inline projection): the meta its appends carry, so
    # that the decision may send() some while it goes on.
    meta: dict[str, Any] | None = None
    sending: InFlight[Appended] = field(default_factory=InFlight)  # the part send() sent
    sent: dict[UUID, int] = field(default_factory=dict)  # each aggregate's events sent early
    sent_seqs: dict[str, int] = field(default_factory=dict)  # each log's last seq sent early
    guards_sent: int = 0  # the guards the first send carried (they hold to the commit)
    due: list[DueSnapshot] = field(default_factory=list)  # taken after the commit

    async def get(self, aggregate_id: UUID, *, tenant_id: str | None = None) -> Aggregate:
        """An aggregate of ``tenant_id``'s log (the command's own by default), on the attempt's
        connection; NotFound if it has no events the caller may read."""
        tenant = tenant_id or self.tenant_id
        held = await self.repository.hold(tenant, aggregate_id, self.conn)
        self.held.append(held)
        return held.aggregate

    def release(self) -> None:
        """After the commit: what the command held or saved goes back to the aggregate cache,
        at the version it now has (an aggregate changed and not saved stays out)."""
        cache = self.repository.cache
        if cache is None:
            return
        for held in self.held:
            aggregate = held.aggregate
            if aggregate.version == held.version:
                cache.put(held.tenant_id, aggregate, held.event_hash)
        for tenant, aggregates in self.saved.items():
            for aggregate in aggregates:
                version, digest = self.hashes.get(aggregate.id, (None, b""))
                if version == aggregate.version:
                    cache.put(tenant, aggregate, digest)

    def save(self, *aggregates: Aggregate, tenant_id: str | None = None) -> None:
        """Append these aggregates' pending events to ``tenant_id``'s log (the command's own by
        default) once the decision is made. Saving one twice saves it once."""
        saved = self.saved.setdefault(tenant_id or self.tenant_id, [])
        saved.extend(a for a in aggregates if not any(a is s for s in saved))

    def add_made(self, events: Sequence[NewEvent], *, tenant_id: str | None = None) -> None:
        """Events another service made for this decision through a port (the people made for
        the names a pledge or an initiative gives, shared/personal.py), appended before the
        saved aggregates' in the same append: the command and what it made stand or fall
        together."""
        if events:
            self.made.setdefault(tenant_id or self.tenant_id, []).extend(events)

    async def send(self, aggregate: Aggregate, *, tenant_id: str | None = None) -> None:
        """Append ``aggregate``'s pending events but the last now, in the command's transaction,
        while the decision goes on: the database stores one part of a bulk command while the
        next is decided (a 10,000-nominee proposal's, as a bulk pledge's chunks). The last
        stays for the command's own append, which carries the idempotency key and the answer;
        a decision refused later rolls the parts back with the rest. Only in
        run_in_transaction without an inline projection, and before any add_made. Until
        sent_so_far(), the connection is busy: a decision reads on it only after that."""
        meta = self.sending_meta()
        tenant = tenant_id or self.tenant_id
        if self.made.get(tenant):
            raise TypeError("events made for a decision go first, in its own append")
        self.save(aggregate, tenant_id=tenant)
        pending = aggregate.pending_events
        if len(pending) < 2:
            return
        events = pending[:-1]
        del pending[:-1]
        encode = self.repository.registry.encode
        self.sent[aggregate.id] = self.sent.get(aggregate.id, 0) + len(events)
        # In parts too: each encoded while the one before is stored.
        for start in range(0, len(events), SENT_EVENTS):
            part = [encode(e) for e in events[start : start + SENT_EVENTS]]
            await self.send_prepared(self.repository.store.prepare(tenant, part, meta))

    def sending_meta(self) -> dict[str, Any]:
        """The meta of the appends a decision sends itself (its command's and caller's)."""
        if self.meta is None:
            raise TypeError("a decision sends appends in its own transaction: run_in_transaction")
        return self.meta

    async def send_prepared(self, prepared: PreparedAppend) -> None:
        """Append events the decision made itself (a bulk pledge's, made in a worker thread)
        as send() does: in flight while the decision goes on, after the one before is stored;
        the first carries the decision's guards so far (the locks they take hold to the
        commit). The command's answer waits for the projections to show them."""
        self.sending_meta()
        await self.sent_so_far()  # one statement at a time on the connection
        guards, self.guards_sent = self.guards[self.guards_sent :], len(self.guards)
        store = self.repository.store
        await self.sending.start(
            store.append_prepared(prepared, guards=guards, connection=self.conn)
        )

    async def sent_so_far(self) -> None:
        """Once the append in flight (send, send_prepared) is stored (its error raised here)."""
        appended = await self.sending.finished()
        if appended is not None:
            self.sent_seqs[appended.tenant_id] = appended.last_seq

    def guard(self, tenant_id: str, stream_id: UUID, version: int) -> None:
        """The decision read this stream of another log at ``version``: append only if it is
        still there (a read model's ``version`` column is the stream version it shows)."""
        self.guards.append(Guard(tenant_id, stream_id, version))


class Pipeline:
    """The composition root of commands: one per running Thi đua (its pool, store and
    projection positions); services take their ``Commands`` from it."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        store: EventStore,
        *,
        positions: Positions | None = None,
        retries: int = 3,
        projection_wait_s: float = 5.0,
        snapshot_every: int = 100,
        aggregate_cache_size: int = 64,
        check_cache: bool = False,
    ) -> None:
        self.pool = pool
        self.store = store
        self.positions = positions
        self.retries = retries
        self.projection_wait_s = projection_wait_s
        self.snapshot_every = snapshot_every
        self.cache = AggregateCache(aggregate_cache_size)
        self.check_cache = check_cache
        self.stats = PipelineStats()
        self.snapshotting: set[asyncio.Task[None]] = set()
        # Snapshots due, each with when it fell due, taken once no command is at work (see
        # take_later); commands deciding or waiting for their projections, and when the last
        # one ended.
        self._due: list[tuple[float, Repository, DueSnapshot]] = []
        self._working = 0
        self._worked_at = 0.0
        self._flushing = False

    @classmethod
    def of(cls, runtime: Any) -> Pipeline:
        """The pipeline of a Runtime (services.gateway.runtime; ``runtime.pipeline`` holds the
        one): its pool, store and projection positions, configured by its settings."""
        settings = runtime.settings
        return cls(
            runtime.pool,
            runtime.store,
            positions=runtime.projections,
            retries=settings.command_retries,
            projection_wait_s=settings.command_projection_wait_s,
            snapshot_every=settings.snapshot_every,
            aggregate_cache_size=settings.aggregate_cache_size,
            check_cache=settings.aggregate_cache_check,
        )

    def repository(self, registry: EventRegistry) -> Repository:
        return Repository(
            self.store,
            registry,
            snapshot_every=self.snapshot_every,
            cache=self.cache,
            check_cache=self.check_cache,
        )

    def service(self, registry: EventRegistry, *, authorise: Authorise = anyone) -> Commands:
        """A service's command runner: its events' registry, and the check every one of its
        commands makes first (on the command's connection, before the decision)."""
        return Commands(self, self.repository(registry), authorise)

    @contextmanager
    def working(self) -> Iterator[None]:
        """A command at work (deciding, storing, waiting for its projections): snapshots wait."""
        self._working += 1
        try:
            yield
        finally:
            self._working -= 1
            self._worked_at = time.monotonic()

    def take_later(self, repository: Repository, due: Sequence[DueSnapshot]) -> None:
        """The snapshots a commit made due, taken in the background once no command has been at
        work for SNAPSHOT_IDLE_S, or SNAPSHOT_LATEST_S after they fell due at the latest: a
        council of 10,000 items is 3.6 MB encoded and stored, and on two cores the snapshots of
        a proposal's chain were a fifth of its CPU, taken while the next commands needed it (the
        aggregate cache serves those aggregates meanwhile). ``snapshots_taken`` takes them now."""
        now = time.monotonic()
        self._due.extend((now, repository, d) for d in due)
        if self._due and not any(not t.done() for t in self.snapshotting):
            task = asyncio.get_running_loop().create_task(self._take_when_idle())
            self.snapshotting.add(task)
            task.add_done_callback(self.snapshotting.discard)

    async def _take_when_idle(self) -> None:
        while self._due:
            now = time.monotonic()
            idle = self._working == 0 and now - self._worked_at >= SNAPSHOT_IDLE_S
            if idle or self._flushing or now - self._due[0][0] >= SNAPSHOT_LATEST_S:
                _, repository, due = self._due.pop(0)
                await self._snapshot(repository, due)
            else:
                await asyncio.sleep(SNAPSHOT_IDLE_S / 2)

    @staticmethod
    async def _snapshot(repository: Repository, due: DueSnapshot) -> None:
        try:
            await repository.take_later(due)
        except Exception:  # only a shortcut for loading: the command stands without it
            log.exception("snapshot_failed", tenant=due.tenant_id, aggregate=str(due.aggregate.id))

    async def snapshots_taken(self) -> None:
        """Every snapshot due taken now and stored (before the pool closes)."""
        self._flushing = True
        try:
            while self.snapshotting:
                await asyncio.gather(*self.snapshotting, return_exceptions=True)
        finally:
            self._flushing = False

    async def caught_up(self, tenant_id: str, seq: int) -> None:
        """Wait, within the bound, until the projections show ``seq`` of the tenant's log."""
        if self.positions is None:
            return
        with self.working():
            shown = await self.positions.wait_for(tenant_id, seq, self.projection_wait_s)
        if not shown:
            self.stats.late += 1
            log.warning("projections_late", tenant=tenant_id, seq=seq, bound=self.projection_wait_s)


class Commands:
    """Runs one service's commands (see the module's docstring)."""

    def __init__(self, pipeline: Pipeline, repository: Repository, authorise: Authorise) -> None:
        self.pipeline = pipeline
        self.repository = repository
        self.store = pipeline.store
        self.authorise = authorise

    async def run(
        self,
        actor: Principal | None,
        command: str,
        decide: Decide[R],
        *,
        tenant_id: str | None = None,
        authorise: Authorise | None = None,
        idempotency_key: str | None = None,
        input: Mapping[str, Any] | None = None,
    ) -> R:
        """Decide on one scoped connection, append through the group commit, wait for the
        projections, answer. ``tenant_id``: the log written (the caller's by default; another
        only where the service's rules let the caller write there). With ``idempotency_key``,
        ``input`` (the command's arguments) tells a repeat from another request."""
        tenant = _tenant(actor, tenant_id)
        key = self._key(actor, command, idempotency_key, input)
        self.pipeline.stats.commands += 1
        if key is not None:
            first = await self._replay(tenant, key)
            if first is not None:
                return first.value
        check = authorise or self.authorise
        try:
            return await self._retrying(
                command,
                tenant,
                lambda number: self._attempt(actor, command, decide, tenant, check, key, number),
            )
        except DomainError:
            first = await self._beaten(tenant, key)
            if first is None:
                raise
            return first.value

    async def _beaten(self, tenant: str, key: _Key | None) -> _FirstAnswer | None:
        """A keyed command refused: the first answer, if a repeat of the key committed while
        it decided (it then decided on what the first wrote: a proposal the first filled)."""
        return None if key is None else await self._replay(tenant, key)

    async def _retrying(
        self, command: str, tenant: str, attempt: Callable[[int], Awaitable[Any]]
    ) -> Any:
        """``attempt(number)`` until it does not conflict, at most 1 + retries times."""
        with self.pipeline.working():
            return await self._retried(command, tenant, attempt)

    async def _retried(
        self, command: str, tenant: str, attempt: Callable[[int], Awaitable[Any]]
    ) -> Any:
        for number in range(1, self.pipeline.retries + 2):
            try:
                return await attempt(number)
            except ConcurrencyConflict as conflict:
                if number > self.pipeline.retries:
                    log.info("command_conflicts_exhausted", command=command, tenant=tenant)
                    raise
                self.pipeline.stats.retried += 1
                await self._after_conflict(conflict, tenant)
        raise AssertionError("unreachable")

    async def _attempt(
        self,
        actor: Principal | None,
        command: str,
        decide: Decide[R],
        tenant: str,
        authorise: Authorise,
        key: _Key | None,
        number: int,
    ) -> R:
        async with access.scope(self.pipeline.pool, actor) as conn:
            await authorise(conn, actor)
            attempt = Attempt(conn, actor, tenant, self.repository, number)
            answer = await decide(attempt)
        if (set(attempt.saved) | set(attempt.made)) - {tenant}:
            raise ValueError("run appends to one log: use run_in_transaction for several")
        aggregates = attempt.saved.get(tenant, [])
        made = attempt.made.get(tenant, [])
        if not made and not any(a.pending_events for a in aggregates):
            attempt.release()
            return answer
        appended = await self.repository.save(
            tenant,
            *aggregates,
            meta=self._meta(actor, command, key, answer),
            idempotency_key=key.value if key else None,
            fingerprint=key.fingerprint if key else None,
            guards=attempt.guards,
            made=made,
            last_hashes=attempt.hashes,
            later=attempt.due,
        )
        if appended.replayed:
            self.pipeline.stats.replayed += 1
            answer = await self._stored_answer(tenant, appended)
        else:
            attempt.release()
            self.pipeline.take_later(self.repository, attempt.due)
        await self.pipeline.caught_up(tenant, appended.last_seq)
        return answer

    async def _after_conflict(self, conflict: ConcurrencyConflict, tenant: str) -> None:
        """Before deciding again: the log that moved is projected up to its head, so the next
        decision's read models show what beat this one."""
        if isinstance(conflict, GuardFailed):
            await self.pipeline.caught_up(conflict.tenant_id, conflict.head)
            return
        if self.pipeline.positions is not None:
            head = await self.store.head(tenant)
            await self.pipeline.caught_up(tenant, head.seq)

    async def run_in_transaction(
        self,
        actor: Principal | None,
        command: str,
        decide: Decide[R],
        *,
        tenant_id: str | None = None,
        project: Project | None = None,
        lock: int | None = None,
        connection: asyncpg.Connection | None = None,
        authorise: Authorise | None = None,
        respond: Respond | None = None,
        idempotency_key: str | None = None,
        input: Mapping[str, Any] | None = None,
        wait: bool = True,
    ) -> Any:
        """Decide, append to every log the decision saved to (in tenant order, as the batched
        appends lock heads), ``project`` the new events and ``respond`` (reads on the same
        connection, e.g. the read model's row), all in one transaction, holding the advisory
        ``lock`` if given; announce after the commit. A conflict decides again in a new
        transaction (a savepoint of the caller's, with ``connection``), as ``run`` does. The
        idempotency key, if any, goes with the append to ``tenant_id`` (the caller's unit by
        default). ``wait=False``: answer without waiting for the projections (a bulk import)."""
        key_tenant = _tenant(actor, tenant_id)
        key = self._key(actor, command, idempotency_key, input)
        self.pipeline.stats.commands += 1
        if key is not None:
            first = await self._replay(key_tenant, key)
            if first is not None:
                return await self._respond_again(actor, respond, first.value)
        once = partial(
            self._transaction,
            actor,
            command,
            decide,
            key_tenant,
            key,
            project,
            lock,
            connection,
            authorise,
            respond,
        )
        try:
            answer, written = await self._retrying(command, key_tenant, once)
        except _Replayed as replay:
            self.pipeline.stats.replayed += 1
            stored = await self._stored_answer(replay.tenant_id, replay.appended)
            return await self._respond_again(actor, respond, stored)
        except DomainError:
            first = await self._beaten(key_tenant, key)
            if first is None:
                raise
            return await self._respond_again(actor, respond, first.value)
        if connection is None or not connection.is_in_transaction():
            for tenant, seq in written:
                self.store.announce(tenant, seq)
        if wait:
            await asyncio.gather(*(self.pipeline.caught_up(t, s) for t, s in written))
        return answer

    async def _transaction(
        self,
        actor: Principal | None,
        command: str,
        decide: Decide[Any],
        key_tenant: str,
        key: _Key | None,
        project: Project | None,
        lock: int | None,
        connection: asyncpg.Connection | None,
        authorise: Authorise | None,
        respond: Respond | None,
        number: int,
    ) -> tuple[Any, list[tuple[str, int]]]:
        # Its own transaction, committed here, not a savepoint of the caller's.
        outermost = connection is None or not connection.is_in_transaction()
        with cancelled_as_busy():
            async with AsyncExitStack() as stack:
                conn = connection or await stack.enter_async_context(self.pipeline.pool.acquire())
                if connection is None:
                    await access.catch_up(conn)
                if key is not None and number > 1:
                    # Beaten by a repeat of the key: a decision's parts carry no key, so their
                    # conflict, not the key, told it; the first answer is the answer.
                    first = await self.store.replay_of(key_tenant, key.value, key.fingerprint)
                    if first is not None:
                        raise _Replayed(key_tenant, first)
                async with transaction(conn):
                    if lock is not None:
                        await conn.execute("SELECT pg_advisory_xact_lock($1)", lock)
                    await set_reach(conn, actor.tenant if actor else "", access.reach_of(actor))
                    await (authorise or self.authorise)(conn, actor)
                    attempt = Attempt(conn, actor, key_tenant, self.repository, number)
                    if project is None:
                        attempt.meta = access.command_meta(actor, command)
                    try:
                        answer = await decide(attempt)
                        await attempt.sent_so_far()
                    finally:  # the connection idle again: the transaction may roll back
                        await attempt.sending.settled()
                    meta = self._meta(actor, command, key, answer)
                    stored, written = await self._append_all(
                        conn,
                        attempt,
                        meta,
                        key_tenant,
                        key,
                        projected=project is not None,
                        later=outermost,
                    )
                    # The logs only parts went to (a bulk pledge's): their last part's seq.
                    appended = {tenant for tenant, _ in written}
                    if key is not None and key_tenant in attempt.sent_seqs:
                        if key_tenant not in appended:  # the key would be stored nowhere
                            raise TypeError("a keyed command keeps events for its own append")
                    written += [t for t in attempt.sent_seqs.items() if t[0] not in appended]
                    if project is not None and stored:
                        await project(conn, stored)
                    if respond is not None:
                        answer = await respond(conn, answer)
                if outermost:
                    attempt.release()
                    self.pipeline.take_later(self.repository, attempt.due)
        return answer, written

    async def _append_all(
        self,
        conn: asyncpg.Connection,
        attempt: Attempt,
        meta: Mapping[str, Any],
        key_tenant: str,
        key: _Key | None,
        *,
        projected: bool,
        later: bool,
    ) -> tuple[list[StoredEvent], list[tuple[str, int]]]:
        """Each log's events in one append, logs in tenant order; the events as stored, when an
        inline projection is to apply them. ``later``: the snapshots due are left for after the
        commit (``attempt.due``); else taken in the transaction."""
        stored: list[StoredEvent] = []
        written: list[tuple[str, int]] = []
        for tenant in sorted(set(attempt.saved) | set(attempt.made)):
            aggregates = [a for a in attempt.saved.get(tenant, []) if a.pending_events]
            made = attempt.made.get(tenant, [])
            if not aggregates and not made:
                continue
            keyed = key if tenant == key_tenant else None
            encode = self.repository.registry.encode
            events = (
                [*made, *(encode(e) for a in aggregates for e in a.pending_events)]
                if projected
                else []
            )
            appended = await self.repository.save(
                tenant,
                *aggregates,
                meta=meta,
                idempotency_key=keyed.value if keyed else None,
                fingerprint=keyed.fingerprint if keyed else None,
                guards=attempt.guards[attempt.guards_sent :],
                connection=conn,
                made=made,
                last_hashes=attempt.hashes,
                earlier=attempt.sent,
                later=attempt.due if later else None,
            )
            if appended.replayed:
                raise _Replayed(tenant, appended)
            if projected:
                stored_meta = {**meta, "idempotency_key": keyed.value} if keyed else meta
                stored.extend(_as_stored(tenant, events, stored_meta, appended))
            written.append((tenant, appended.last_seq))
        return stored, written

    async def _respond_again(self, actor: Principal | None, respond: Respond | None, stored: Any):
        if respond is None:
            return stored
        async with access.scope(self.pipeline.pool, actor) as conn:
            return await respond(conn, stored)

    # --- idempotency ---------------------------------------------------------------------------

    def _key(
        self,
        actor: Principal | None,
        command: str,
        idempotency_key: str | None,
        input: Mapping[str, Any] | None,
    ) -> _Key | None:
        """The key and the fingerprint of the request it stands for: the command, its input and
        who gave it (a key another caller used is theirs, never answered to this one)."""
        if idempotency_key is None:
            return None
        check_idempotency_key(idempotency_key)  # before deciding: a bad key decides nothing
        if input is None:
            raise TypeError("a command with an idempotency key needs its input to fingerprint")
        request = {
            "command": command,
            "actor": actor.subject if actor else None,
            "input": self.repository.registry.codec.encode(dict(input)),
        }
        body = canonical.dumps(canonical.normalise(request, "$input"))
        return _Key(idempotency_key, hashlib.sha256(body).digest())

    def _meta(
        self, actor: Principal | None, command: str, key: _Key | None, answer: Any
    ) -> dict[str, Any]:
        meta = access.command_meta(actor, command)
        if key is not None:
            meta["answer"] = self.repository.registry.codec.encode(answer)
        return meta

    async def _replay(self, tenant: str, key: _Key) -> _FirstAnswer | None:
        """The first answer given under ``key`` in ``tenant``'s log, if it was used; read as
        the log's own unit (the key's fingerprint names the caller)."""
        appended = await self.store.replay_of(tenant, key.value, key.fingerprint)
        if appended is None:
            return None
        self.pipeline.stats.replayed += 1
        answer = await self._stored_answer(tenant, appended)
        await self.pipeline.caught_up(tenant, appended.last_seq)
        return _FirstAnswer(answer)

    async def _stored_answer(self, tenant: str, appended: Appended) -> Any:
        [first] = await self.store.read_log(tenant, after_seq=appended.seqs[0] - 1, limit=1)
        return self.repository.registry.codec.decode(first.meta.get("answer"))


def idempotency_key_of(info: Any, given: str | None = None) -> str | None:
    """The key a GraphQL mutation runs under: its input's own field (``given``), else the
    request's ``Idempotency-Key`` header (services/gateway/app.py puts it in the context);
    one the store could not keep is the client's error, refused here, before anything runs."""
    key = given if given is not None else info.context.get("idempotency_key")
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidInput(
            "Khóa chống lặp (Idempotency-Key) phải là 1–200 ký tự ASCII in được.",
            field="idempotencyKey",
        )
    return key


def _tenant(actor: Principal | None, tenant_id: str | None) -> str:
    if tenant_id is not None:
        return tenant_id
    if actor is None:
        raise TypeError("a command without a caller names the log it writes")
    return actor.tenant


def _as_stored(
    tenant: str, events: Sequence[Any], meta: Mapping[str, Any], appended: Appended
) -> list[StoredEvent]:
    """The events an append stored, as the log now holds them, without reading them back (the
    caller's reach may not cover the logs a registry command writes). ``prev_hash`` of the
    first is not known here: an inline projection has no use for it."""
    stored_meta = orjson.loads(canonical.dumps(canonical.normalise(dict(meta), "$meta")))
    previous = b""
    result = []
    for event, seq, digest in zip(events, appended.seqs, appended.hashes, strict=True):
        data = orjson.loads(canonical.dumps(canonical.normalise(event.data, "$data")))
        result.append(
            StoredEvent(
                tenant_id=tenant,
                seq=seq,
                stream_id=event.stream_id,
                stream_version=event.stream_version,
                event_type=event.event_type,
                schema_version=event.schema_version,
                data=data,
                meta=stored_meta,
                recorded_at=appended.recorded_at,
                prev_hash=previous,
                hash=bytes(digest),
            )
        )
        previous = bytes(digest)
    return result
