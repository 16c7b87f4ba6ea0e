"""Aggregates written with the ``eventsourcing`` domain model, stored in our event store.

Events are stored under a registered, stable name (the name given to ``@event("…")``), never a
module path, so moving or renaming a class breaks no history. Stored data is upcast from its
``schema_version`` to the current one on read. Values that JSON lacks (UUID, Decimal, date,
datetime) travel as ``{"_type_": name, "_data_": text}``, eventsourcing's own transcoding form.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
import orjson
from eventsourcing.domain import Aggregate, CanInitAggregate, CanMutateAggregate
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, Transcoding, UUIDAsHex
from eventsourcing.utils import get_topic

from shared import canonical
from shared.db import transaction
from shared.errors import (
    DomainError,
    InvalidEventData,
    NotFound,
    UnknownEventType,
)
from shared.eventstore import Appended, EventStore, Guard, NewEvent, StoredEvent

log = logging.getLogger(__name__)

A = TypeVar("A", bound=Aggregate)
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
_ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


_PLAIN = frozenset({str, bool, int, float, type(None)})


class ValueCodec:
    """Domain values ⇄ JSON values, with eventsourcing's transcodings for what JSON lacks."""

    def __init__(self, transcodings: Iterable[Transcoding] = ()) -> None:
        self.by_type: dict[type, Transcoding] = {}
        self.by_name: dict[str, Transcoding] = {}
        for t in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO(), *transcodings):
            self.by_type[t.type] = t
            self.by_name[t.name] = t

    def encode(self, value: Any) -> Any:
        # The exact plain types first, and plain items without a call of their own: a bulk
        # event of 10,000 nominees is 150,000 values, most of them strings.
        kind = type(value)
        if kind in _PLAIN:
            return value  # floats are refused by canonical.normalise, with the path named
        if kind is dict:
            return {
                key: item if type(item) in _PLAIN else self.encode(item)
                for key, item in value.items()
            }
        if kind is list:
            return [item if type(item) in _PLAIN else self.encode(item) for item in value]
        exact = self.by_type.get(kind)
        if exact is not None:  # a UUID's hex, a date's ISO text: no call to encode it again
            data = exact.encode(value)
            return {
                "_type_": exact.name,
                "_data_": data if type(data) is str else self.encode(data),
            }
        if value is None or isinstance(value, str | bool | int | float):
            return value
        if isinstance(value, Mapping):
            return {key: self.encode(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.encode(item) for item in value]
        transcoding = self.by_type.get(type(value)) or self._by_ancestor(type(value))
        if transcoding is None:
            kind = type(value).__name__
            raise InvalidEventData(f"Chưa có cách lưu giá trị kiểu {kind}.", kind=kind)
        return {"_type_": transcoding.name, "_data_": self.encode(transcoding.encode(value))}

    def _by_ancestor(self, kind: type) -> Transcoding | None:
        """A subclass of a known type is stored as that type: asyncpg hands out its own UUID
        subclass, which a command passes on when it takes an id from the read model."""
        for ancestor in kind.__mro__[1:]:
            if ancestor in self.by_type:
                return self.by_type[ancestor]
        return None

    def decode(self, value: Any) -> Any:
        if type(value) is list:
            return [item if type(item) in _PLAIN else self.decode(item) for item in value]
        if isinstance(value, dict):
            if len(value) == 2 and "_type_" in value and "_data_" in value:
                transcoding = self.by_name.get(value["_type_"])
                if transcoding is None:
                    raise InvalidEventData(f"Kiểu giá trị lạ: {value['_type_']!r}.")
                data = value["_data_"]
                # Most data is a string (a UUID's hex, a date): no call to decode it again (a
                # bulk pledge's projection decodes four values a row, 100,000 rows).
                return transcoding.decode(data if type(data) is str else self.decode(data))
            return {
                key: item if type(item) in _PLAIN else self.decode(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self.decode(item) for item in value]
        return value


@dataclass
class Registered:
    name: str
    event_class: type[CanMutateAggregate[Any]]
    aggregate_class: type[Aggregate]
    upcasters: dict[int, Upcaster] = field(default_factory=dict)

    @property
    def schema_version(self) -> int:
        version = 1
        while version in self.upcasters:
            version += 1
        return version

    @property
    def creates(self) -> bool:
        return issubclass(self.event_class, CanInitAggregate)


class EventRegistry:
    """Stable names for event classes and aggregates, and the upcasters between schema versions."""

    def __init__(self, codec: ValueCodec | None = None) -> None:
        self.codec = codec or ValueCodec()
        self._by_name: dict[str, Registered] = {}
        self._by_class: dict[type, Registered] = {}
        self._aggregates: dict[str, type[Aggregate]] = {}
        self._aggregate_names: dict[type, str] = {}

    def register(
        self, aggregate_class: type[Aggregate], *event_classes: type[Any], name: str | None = None
    ) -> None:
        """Register an aggregate (under ``name``, default its class name) and its events.

        An event's stored name is its class name, i.e. the name given to ``@event("…")``.
        """
        aggregate_name = name or aggregate_class.__name__
        if aggregate_name in self._aggregates:
            raise ValueError(f"aggregate name {aggregate_name!r} registered twice")
        self._aggregates[aggregate_name] = aggregate_class
        self._aggregate_names[aggregate_class] = aggregate_name
        for event_class in event_classes:
            event_name = event_class.__name__
            if event_name in self._by_name:
                raise ValueError(f"event name {event_name!r} registered twice")
            entry = Registered(event_name, event_class, aggregate_class)
            self._by_name[event_name] = entry
            self._by_class[event_class] = entry

    def upcaster(self, event_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register ``fn(data) -> data`` lifting stored data from ``from_version`` to the next."""

        def decorate(fn: Upcaster) -> Upcaster:
            entry = self._by_name[event_name]
            if from_version in entry.upcasters:
                raise ValueError(f"{event_name} v{from_version} has an upcaster already")
            entry.upcasters[from_version] = fn
            return fn

        return decorate

    def schema_version(self, event_name: str) -> int:
        """The version an event of ``event_name`` is written in, and read as once upcast."""
        return self._by_name[event_name].schema_version

    def event_names(self) -> frozenset[str]:
        """Every stored event name this registry reads."""
        return frozenset(self._by_name)

    def aggregate_class(self, name: str) -> type[Aggregate]:
        try:
            return self._aggregates[name]
        except KeyError:
            raise UnknownEventType(f"Kiểu đối tượng {name!r}.") from None

    def aggregate_name(self, aggregate_class: type) -> str:
        return self._aggregate_names[aggregate_class]

    def encode(self, event: CanMutateAggregate[Any]) -> NewEvent:
        entry = self._by_class.get(type(event))
        if entry is None:
            raise UnknownEventType(f"Lớp {type(event).__qualname__} chưa được đăng ký.")
        data = {k: v for k, v in vars(event).items() if k not in _ENVELOPE}
        return NewEvent(
            stream_id=event.originator_id,
            stream_version=event.originator_version,
            event_type=entry.name,
            data=self.codec.encode(data),
            schema_version=entry.schema_version,
        )

    def decode(self, stored: StoredEvent) -> CanMutateAggregate[Any]:
        entry = self._by_name.get(stored.event_type)
        if entry is None:
            raise UnknownEventType(
                f"{stored.event_type!r} (seq {stored.seq}).", event_type=stored.event_type
            )
        data = upcast(entry, stored.schema_version, stored.data)
        kwargs = self.codec.decode(data)
        kwargs.update(
            originator_id=stored.stream_id,
            originator_version=stored.stream_version,
            timestamp=stored.recorded_at,
        )
        if entry.creates:
            kwargs["originator_topic"] = get_topic(entry.aggregate_class)
        try:
            return entry.event_class(**kwargs)
        except TypeError as exc:
            raise InvalidEventData(f"{stored.event_type} (seq {stored.seq}): {exc}") from None


def upcast(entry: Registered, from_version: int, data: dict[str, Any]) -> dict[str, Any]:
    current = entry.schema_version
    if from_version > current:
        raise InvalidEventData(
            f"{entry.name} v{from_version} được ghi bởi phiên bản mới hơn (hiện biết v{current})."
        )
    for version in range(from_version, current):
        data = entry.upcasters[version](dict(data))
    return data


class AggregateCache:
    """Aggregates as the last command left them, so that the next command reads only the
    events since (usually none) instead of folding the whole stream again: a proposal of 10,000
    nominees is 46 events and 3 MB, decoded anew for each of the dozen commands that follow it.

    At most ``size`` aggregates, the least recently used going first. A command takes its
    aggregate out (nobody else sees the state it changes) and the pipeline puts it back only
    once its events are committed, or if it changed nothing; a command refused, rolled back or
    beaten to the append leaves it out, and the next one folds from the log.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._held: OrderedDict[tuple[str, UUID], tuple[Aggregate, bytes]] = OrderedDict()
        self.hits = 0  # aggregates taken and used (brought up to date), for the tests to see

    def take(self, tenant_id: str, aggregate_id: UUID) -> tuple[Aggregate, bytes] | None:
        """The aggregate and the hash of its last event, out of the cache; None if absent."""
        return self._held.pop((tenant_id, aggregate_id), None)

    def holds(self, tenant_id: str, aggregate: Aggregate) -> bool:
        """Whether ``aggregate`` itself (not a copy) is kept, untaken since it was put."""
        kept = self._held.get((tenant_id, aggregate.id))
        return kept is not None and kept[0] is aggregate

    def put(self, tenant_id: str, aggregate: Aggregate, event_hash: bytes) -> None:
        """Keep ``aggregate``, unchanged since its event of ``event_hash`` was committed (an
        older copy does not replace a newer one)."""
        if self.size <= 0 or aggregate.pending_events:
            return
        key = (tenant_id, aggregate.id)
        kept = self._held.get(key)
        if kept is not None and kept[0].version >= aggregate.version:
            return
        self._held[key] = (aggregate, event_hash)
        self._held.move_to_end(key)
        while len(self._held) > self.size:
            self._held.popitem(last=False)


@dataclass(frozen=True, slots=True)
class Held:
    """An aggregate a command took, as loaded: its log, and its version and last event's hash
    then."""

    tenant_id: str
    aggregate: Aggregate
    version: int
    event_hash: bytes


@dataclass(frozen=True, slots=True)
class DueSnapshot:
    """A snapshot due when an append commits: the aggregate, at the version it was saved at."""

    tenant_id: str
    aggregate: Aggregate
    version: int
    event_hash: bytes


class Repository:
    """Loads aggregates from their streams (from a snapshot when there is one) and saves them.
    Commands run through the pipeline (shared/commands.py), which uses these two."""

    def __init__(
        self,
        store: EventStore,
        registry: EventRegistry,
        *,
        snapshot_every: int = 100,
        cache: AggregateCache | None = None,
        check_cache: bool = False,
    ) -> None:
        self.store = store
        self.registry = registry
        self.snapshot_every = snapshot_every
        self.cache = cache
        # Every aggregate the cache gives is compared with its stream folded anew (the test
        # suite's setting): a command that changed state outside an event would show here.
        self.check_cache = check_cache

    async def hold(
        self, tenant_id: str, aggregate_id: UUID, connection: asyncpg.Connection
    ) -> Held:
        """The aggregate as it is now, for a command (from the cache, brought up to date, when
        it is there); NotFound as :meth:`get`."""
        cache = self.cache
        cached = cache.take(tenant_id, aggregate_id) if cache is not None else None
        if cache is not None and cached is not None:
            aggregate, known = cached
            since = await self.store.read_stream_since(
                tenant_id, aggregate_id, aggregate.version, known, connection=connection
            )
            if since is not None:  # else out of the caller's reach, or not the log's: fold
                cache.hits += 1
                aggregate = self.fold(since, aggregate_id, aggregate)
                if self.check_cache:
                    await self._check(tenant_id, aggregate, connection)
                digest = since[-1].hash if since else known
                return Held(tenant_id, aggregate, aggregate.version, digest)
        aggregate, digest = await self._load(tenant_id, aggregate_id, connection)
        return Held(tenant_id, aggregate, aggregate.version, digest)

    async def _check(
        self, tenant_id: str, aggregate: Aggregate, connection: asyncpg.Connection
    ) -> None:
        folded, _ = await self._load(tenant_id, aggregate.id, connection)
        if folded.version != aggregate.version:
            # appended by another command after this one read the stream (read committed: a
            # later statement sees it): the stream at the cached version is what it must equal
            folded = await self.get(
                tenant_id, aggregate.id, version=aggregate.version, connection=connection
            )
        # Not the library's timestamps, which nothing reads: in memory they are the clock's
        # when the command decided, in the log the moment the append was recorded.
        mine, theirs = (
            {k: v for k, v in state_of(a).items() if k not in _TIMESTAMPS}
            for a in (aggregate, folded)
        )
        if (aggregate.version, mine) != (folded.version, theirs):
            differ = sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))
            raise AssertionError(
                f"cached {type(aggregate).__name__} {aggregate.id} differs from its stream at "
                f"version {folded.version} (cached {aggregate.version}): {differ}"
            )

    async def _load(
        self, tenant_id: str, aggregate_id: UUID, connection: asyncpg.Connection
    ) -> tuple[Aggregate, bytes]:
        """:meth:`get`'s aggregate as it is now, with its last event's hash."""
        snapshot = await self._from_snapshot(tenant_id, aggregate_id, connection)
        aggregate, digest = snapshot if snapshot is not None else (None, b"")
        events = await self.store.read_stream(
            tenant_id,
            aggregate_id,
            after_version=aggregate.version if aggregate is not None else 0,
            connection=connection,
        )
        return self.fold(events, aggregate_id, aggregate), events[-1].hash if events else digest

    async def get(
        self,
        tenant_id: str,
        aggregate_id: UUID,
        *,
        version: int | None = None,
        at: datetime | None = None,
        connection: asyncpg.Connection | None = None,
    ) -> Aggregate:
        """The aggregate as it is now, or as it was at a version or a moment; else NotFound.

        A command passes the connection it holds (EventStore.read_stream says why)."""
        if connection is None:  # snapshot and stream read as the tenant (EventStore.reading)
            async with self.store.reading(tenant_id) as conn:
                return await self.get(
                    tenant_id, aggregate_id, version=version, at=at, connection=conn
                )
        if version is None and at is None:
            aggregate, _ = await self._load(tenant_id, aggregate_id, connection)
            return aggregate
        events = await self.store.read_stream(
            tenant_id,
            aggregate_id,
            to_version=version,
            until=at,
            connection=connection,
        )
        return self.fold(events, aggregate_id)

    def fold(
        self, events: Iterable[StoredEvent], aggregate_id: Any, aggregate: Aggregate | None = None
    ) -> Aggregate:
        """The aggregate its stored events make (after ``aggregate``, a snapshot); else NotFound."""
        for stored in events:
            aggregate = self.registry.decode(stored).mutate(aggregate)
        if aggregate is None:
            raise NotFound(f"{aggregate_id}", id=str(aggregate_id))
        return aggregate

    async def save(
        self,
        tenant_id: str,
        *aggregates: Aggregate,
        meta: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        fingerprint: bytes | None = None,
        guards: Sequence[Guard] = (),
        connection: asyncpg.Connection | None = None,
        made: Sequence[NewEvent] = (),
        last_hashes: dict[UUID, tuple[int, bytes]] | None = None,
        earlier: Mapping[UUID, int] | None = None,
        later: list[DueSnapshot] | None = None,
    ) -> Appended:
        """Append the aggregates' pending events as one atomic append (``guards``: see
        EventStore.append), after ``made``: events another service made for this decision
        (shared/personal.py ``Holders.made``), already encoded by its own registry.
        ``last_hashes`` gets each saved aggregate's version and last event's hash; ``earlier``:
        how many of each aggregate's events the same transaction appended before (a bulk
        command's parts, shared/commands.py ``Attempt.send``), which a snapshot counts too;
        ``later``: the snapshots due go there, for the caller to take after its commit
        (:meth:`take_later`), instead of being taken before the answer."""
        pending = [event for aggregate in aggregates for event in aggregate.collect_events()]
        appended = await self.store.append(
            tenant_id,
            [*made, *(self.registry.encode(event) for event in pending)],
            meta=meta,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            guards=guards,
            connection=connection,
        )
        if not appended.replayed:
            last_hash: dict[UUID, bytes] = {}
            counts: dict[UUID, int] = dict(earlier or {})
            for event, event_hash in zip(pending, appended.hashes[len(made) :], strict=True):
                counts[event.originator_id] = counts.get(event.originator_id, 0) + 1
                last_hash[event.originator_id] = bytes(event_hash)
            for aggregate in aggregates:
                if last_hashes is not None and aggregate.id in last_hash:
                    last_hashes[aggregate.id] = (aggregate.version, last_hash[aggregate.id])
                if not self._snapshot_due(aggregate.version, counts.get(aggregate.id, 0)):
                    continue
                if later is not None:
                    due = DueSnapshot(
                        tenant_id, aggregate, aggregate.version, last_hash[aggregate.id]
                    )
                    later.append(due)
                else:  # on the caller's connection: a rolled-back save leaves none behind
                    await self._take_snapshot(
                        tenant_id, aggregate, last_hash[aggregate.id], connection
                    )
        return appended

    def _snapshot_due(self, version: int, new_events: int) -> bool:
        every = self.snapshot_every
        return bool(every and new_events and version // every > (version - new_events) // every)

    async def _take_snapshot(
        self,
        tenant_id: str,
        aggregate: Aggregate,
        event_hash: bytes,
        connection: asyncpg.Connection | None,
    ) -> None:
        body = self._snapshot_body(aggregate)
        if body is not None:
            await self._store_snapshot(
                tenant_id,
                aggregate.id,
                aggregate.version,
                type(aggregate),
                body,
                event_hash,
                connection,
            )

    async def take_later(self, due: DueSnapshot) -> None:
        """A snapshot due at a commit, taken once the command has answered (a council's of 10,000
        items is 3.6 MB to encode and store): skipped if the aggregate changed since, its next
        snapshot then due.

        Encoded in a worker thread, so that the event loop (the runner projecting the command's
        events, which the answer waits for) goes on meanwhile: a tenth of a second of a council's
        conclusion otherwise. A command may take the aggregate and change it while the thread
        reads it; the state is kept only if, once encoded, the aggregate is still the one at
        that version, untaken, and what the thread read is then thrown away otherwise."""
        if not self._unchanged(due):
            return
        try:
            body = await asyncio.to_thread(self._encoded_state, due.aggregate)
        except Exception as exc:
            if not self._unchanged(due):
                return  # read while a command changed it (a dict resized under the reader)
            if isinstance(exc, DomainError):
                self._unencodable(due.aggregate, exc)
                return
            raise
        if self._unchanged(due):
            await self._store_snapshot(
                due.tenant_id,
                due.aggregate.id,
                due.version,
                type(due.aggregate),
                body,
                due.event_hash,
                None,
            )

    def _unchanged(self, due: DueSnapshot) -> bool:
        """Whether the aggregate is still as it was when its snapshot fell due."""
        aggregate = due.aggregate
        # Unchanged only if the cache still holds this very object: a command that took it may
        # have changed it, event or not (a refused one, an event whose body raised halfway).
        if self.cache is not None and self.cache.size > 0:
            if not self.cache.holds(due.tenant_id, aggregate):
                return False
        return aggregate.version == due.version and not aggregate.pending_events

    def _snapshot_body(self, aggregate: Aggregate) -> bytes | None:
        try:
            return self._encoded_state(aggregate)
        except DomainError as exc:
            self._unencodable(aggregate, exc)
            return None

    def _encoded_state(self, aggregate: Aggregate) -> bytes:
        state = state_of(aggregate)
        state["class_version"] = getattr(type(aggregate), "class_version", 1)
        return canonical.dumps(canonical.normalise(self.registry.codec.encode(state)))

    @staticmethod
    def _unencodable(aggregate: Aggregate, exc: DomainError) -> None:
        # Every aggregate's state must encode (tests/shared/test_snapshots_all.py): one that
        # does not is a bug to fix, though the command, which needs no snapshot, succeeds.
        log.error(
            "snapshot of %s %s cannot be encoded: %s",
            type(aggregate).__qualname__,
            aggregate.id,
            exc,
        )

    async def _store_snapshot(
        self,
        tenant_id: str,
        aggregate_id: UUID,
        version: int,
        kind: type[Aggregate],
        body: bytes,
        event_hash: bytes,
        connection: asyncpg.Connection | None,
    ) -> None:
        name = self.registry.aggregate_name(kind)
        # Outside a request, as the tenant itself: snapshots are under row-level security. In a
        # command, in a savepoint: a snapshot the caller's reach may not write (a system command
        # saving into another unit's log) is skipped, never the command with it.
        try:
            async with self.store.reading(tenant_id, connection) as conn, transaction(conn):
                await self._insert_snapshot(
                    conn, tenant_id, aggregate_id, version, name, body, event_hash
                )
        except asyncpg.InsufficientPrivilegeError:
            log.info("snapshot skipped for %s: out of the connection's reach", aggregate_id)

    @staticmethod
    async def _insert_snapshot(
        conn: asyncpg.Connection,
        tenant_id: str,
        aggregate_id: UUID,
        version: int,
        name: str,
        body: bytes,
        event_hash: bytes,
    ) -> None:
        await conn.execute(
            """INSERT INTO snapshots
                  (tenant_id, stream_id, stream_version, aggregate, state, digest)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6)
           ON CONFLICT (tenant_id, stream_id) DO UPDATE
              SET stream_version = EXCLUDED.stream_version, state = EXCLUDED.state,
                  aggregate = EXCLUDED.aggregate, digest = EXCLUDED.digest, taken_at = now()
            WHERE snapshots.stream_version < EXCLUDED.stream_version""",
            tenant_id,
            aggregate_id,
            version,
            name,
            body.decode(),
            snapshot_digest(event_hash, name, body),
        )

    async def _from_snapshot(
        self, tenant_id: str, aggregate_id: UUID, connection: asyncpg.Connection
    ) -> tuple[Aggregate, bytes] | None:
        if not self.snapshot_every:
            return None
        # With the hash of the event the snapshot claims to follow, as the log has it now.
        row = await connection.fetchrow(
            "SELECT s.stream_version, s.aggregate, s.state::text AS state, s.digest, "
            "e.hash AS event_hash FROM snapshots s LEFT JOIN events e "
            "ON e.tenant_id = s.tenant_id AND e.stream_id = s.stream_id "
            "AND e.stream_version = s.stream_version "
            "WHERE s.tenant_id = $1 AND s.stream_id = $2",
            tenant_id,
            aggregate_id,
        )
        if row is None:
            return None
        value = orjson.loads(row["state"])
        if not _matches_log(row, value):
            snapshot_stats.ignored += 1
            log.warning(
                "snapshot of %s in %s does not match its stream's events: replaying the stream",
                aggregate_id,
                tenant_id,
            )
            return None
        cls = self.registry.aggregate_class(row["aggregate"])
        state = self.registry.codec.decode(value)
        if state.pop("class_version", 1) != getattr(cls, "class_version", 1):
            return None  # the aggregate's shape changed since: replay the stream instead
        state.update(_id=aggregate_id, _version=row["stream_version"], _pending_events=[])
        aggregate = object.__new__(cls)
        object.__setattr__(aggregate, "__dict__", state)
        return aggregate, bytes(row["event_hash"])


_NOT_STATE = frozenset({"_id", "_version", "_pending_events"})
_TIMESTAMPS = frozenset({"_created_on", "_modified_on"})


def state_of(aggregate: Aggregate) -> dict[str, Any]:
    """What an aggregate holds, as a snapshot keeps it."""
    return {k: v for k, v in vars(aggregate).items() if k not in _NOT_STATE}


@dataclass(slots=True)
class SnapshotStats:
    """What loading made of snapshots, for metrics: ``ignored`` counts snapshots that did not
    match their stream's events (edited, or naming an event the log does not hold)."""

    ignored: int = 0


snapshot_stats = SnapshotStats()


def snapshot_digest(event_hash: bytes, aggregate: str, state: bytes) -> bytes:
    """What a snapshot is checked by on load: the hash of the event it was taken at (which the
    hash chain ties to the whole log before it), its aggregate's name and its canonical state.
    It catches a snapshot edited or misplaced by anyone who does not recompute it; the
    application's role, which writes snapshots, could, which is why row-level security keeps
    each unit's snapshots to that unit."""
    return hashlib.sha256(event_hash + aggregate.encode() + b"\n" + state).digest()


def _matches_log(row: asyncpg.Record, state: Any) -> bool:
    if row["event_hash"] is None or row["digest"] is None:
        return False
    try:
        body = canonical.dumps(state)
    except TypeError:
        return False
    expected = snapshot_digest(bytes(row["event_hash"]), row["aggregate"], body)
    return bytes(row["digest"]) == expected
