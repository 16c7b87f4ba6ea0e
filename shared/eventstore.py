"""The tenant-keyed event store on asyncpg.

Each tenant has one log: a gapless ``seq`` from 1, hash-chained (shared/canonical.py). One
``append`` is one command's events, all stored or none, in one statement that locks only that
tenant's head row: appends queue within a tenant and run side by side across tenants. Streams
(one aggregate each) give optimistic concurrency: a stream version already taken is a
:class:`ConcurrencyConflict`.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg
import orjson

from shared import canonical
from shared.db import set_reach
from shared.errors import (
    ConcurrencyConflict,
    EventTooLarge,
    IdempotencyKeyReused,
    InvalidEventData,
    InvalidTenant,
    TooManyEvents,
)
from shared.groupcommit import GUARDED, SINGLE, GroupCommit, placed

if TYPE_CHECKING:
    from shared.signal import LogSignal

TENANT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
EVENT_TYPE = re.compile(r"^[A-Z][A-Za-z0-9]{2,79}$")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")

# Every column of a stored event, as StoredEvent.from_row reads them (the runner reads its
# batches with them too).
EVENT_COLUMNS = (
    "tenant_id, seq, stream_id, stream_version, event_type, schema_version, "
    "data::text AS data, meta::text AS meta, recorded_at, prev_hash, hash"
)


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event a command decided, before the store gives it a place in the log."""

    stream_id: UUID
    stream_version: int
    event_type: str
    data: Mapping[str, Any]
    schema_version: int = 1


@dataclass(frozen=True, slots=True)
class Guard:
    """A stream of another unit's log that a decision read, at the version it read: the append
    that carries it is stored only if the stream is still at that version
    (shared/migrations/0019_guards.sql)."""

    tenant_id: str
    stream_id: UUID
    version: int

    def __post_init__(self) -> None:
        check_tenant(self.tenant_id)
        if type(self.version) is not int or not 1 <= self.version <= _INT32_MAX:
            # A stream not yet written has no head to lock in every tenant: nothing to guard.
            raise InvalidEventData("Phiên bản được bảo vệ phải là số nguyên từ 1 đến 2³¹−1.")


class GuardFailed(ConcurrencyConflict):
    """A guarded stream moved on since the decision read it. ``head``: the guarded tenant's
    head then, which its projections must pass before the decision is worth making again."""

    def __init__(self, tenant_id: str, stream_id: str, head: int) -> None:
        super().__init__(f"{tenant_id}/{stream_id}", tenant=tenant_id, stream=stream_id)
        self.tenant_id = tenant_id
        self.head = head


@dataclass(frozen=True, slots=True)
class StoredEvent:
    tenant_id: str
    seq: int
    stream_id: UUID
    stream_version: int
    event_type: str
    schema_version: int
    data: dict[str, Any]
    meta: dict[str, Any]
    recorded_at: datetime
    prev_hash: bytes
    hash: bytes

    @classmethod
    def from_row(
        cls,
        row: asyncpg.Record,
        metas: dict[str, Any] | None = None,
        *,
        data: dict[str, Any] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> StoredEvent:
        """``metas``: meta already parsed, by its text. A bulk append's events but the first
        share one meta, parsed once for a batch of them (to be read, never changed). ``data``
        and ``meta``: already parsed (:class:`RecentEvents`), the row's own left out."""
        if meta is None:
            text = row["meta"]
            if metas is None:
                meta = orjson.loads(text)
            else:
                meta = metas.get(text)
                if meta is None:
                    meta = metas[text] = orjson.loads(text)
        return cls(
            tenant_id=row["tenant_id"],
            seq=row["seq"],
            stream_id=row["stream_id"],
            stream_version=row["stream_version"],
            event_type=row["event_type"],
            schema_version=row["schema_version"],
            data=orjson.loads(row["data"]) if data is None else data,
            meta=meta,
            recorded_at=row["recorded_at"],
            prev_hash=bytes(row["prev_hash"]),
            hash=bytes(row["hash"]),
        )


# What keeping one event costs beside its text: its tuple, its hash, its slot in the run.
_KEPT_OVERHEAD = 160


class RecentEvents:
    """The canonical text of the events this process appended lately, by tenant and seq, with
    each one's hash: the projection runner takes an event's data and meta from here instead of
    the log, which would turn them back into text for this process to parse again (a decision's
    10,000 recipients are 5 MB: a fifth of its projection's time).

    Kept for each tenant's latest run of consecutive seqs, the oldest runs going first past
    ``budget`` bytes (of memory, as Python holds the text). An event is taken only with the hash
    the log holds for it: an append rolled back, whose seqs another append took again, is never
    read from here. Its keys come in canonical order, not the log's (jsonb's): no handler may
    depend on the order of an event's keys."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.size = 0
        self.taken = 0  # events read from here, not from the log (for the tests to see)
        # tenant -> (first seq, [(hash, canonical text)]), the least recently added first
        self._runs: OrderedDict[str, tuple[int, list[tuple[bytes, str]]]] = OrderedDict()

    def add(
        self, tenant_id: str, seqs: Sequence[int], hashes: Sequence[bytes], texts: Sequence[str]
    ) -> None:
        """An append's events (consecutive seqs), as it stored them."""
        sizes = [sys.getsizeof(text) + _KEPT_OVERHEAD for text in texts]
        if self.budget <= 0 or not seqs or sum(sizes) > self.budget:
            return  # one append past the budget would only push every other out
        first, kept = self._runs.pop(tenant_id, (seqs[0], []))
        if not first <= seqs[0] <= first + len(kept):  # not the same run: a new one
            first, kept = seqs[0], self._dropped(kept)
        else:  # the next seqs, or (an append rolled back) some again: what followed is not kept
            self._dropped(kept[seqs[0] - first :])
            del kept[seqs[0] - first :]
        for event_hash, text, size in zip(hashes, texts, sizes, strict=True):
            kept.append((bytes(event_hash), text))
            self.size += size
        self._runs[tenant_id] = (first, kept)
        while self.size > self.budget:
            tenant, (first, kept) = next(iter(self._runs.items()))  # the least recently added
            if tenant != tenant_id:
                self._dropped(kept)
                del self._runs[tenant]
                continue
            drop = max(1, len(kept) // 4)  # this run alone is over: its oldest events go
            self._dropped(kept[:drop])
            del kept[:drop]
            if not kept:
                del self._runs[tenant]
                break
            self._runs[tenant] = (first + drop, kept)

    def _dropped(self, items: list[tuple[bytes, str]]) -> list[tuple[bytes, str]]:
        self.size -= sum(sys.getsizeof(text) + _KEPT_OVERHEAD for _, text in items)
        return []

    def span(self, tenant_id: str) -> tuple[int, int] | None:
        """The first and last seq kept for the tenant."""
        run = self._runs.get(tenant_id)
        if run is None or not run[1]:
            return None
        return run[0], run[0] + len(run[1]) - 1

    def take(self, tenant_id: str, seq: int, event_hash: bytes) -> dict[str, Any] | None:
        """The event's canonical content (its data, meta, …), parsed anew for each reader; None
        if not kept, or kept with another hash."""
        run = self._runs.get(tenant_id)
        if run is None or not run[0] <= seq < run[0] + len(run[1]):
            return None
        kept_hash, text = run[1][seq - run[0]]
        if kept_hash != bytes(event_hash):
            return None
        self.taken += 1
        return orjson.loads(text)


@dataclass(frozen=True, slots=True)
class Appended:
    """Where an append landed. ``replayed``: an idempotency key repeated, nothing was written."""

    tenant_id: str
    seqs: list[int]
    recorded_at: datetime | None
    hashes: list[bytes] = field(repr=False)
    replayed: bool = False

    @property
    def last_seq(self) -> int:
        return self.seqs[-1]


@dataclass(frozen=True, slots=True)
class PreparedAppend:
    """One append's events, checked and in canonical form, ready for ``thidua_append``."""

    tenant_id: str
    payloads: list[str] = field(repr=False)
    events: Sequence[NewEvent] = field(repr=False)  # their streams, named by a conflict
    idempotency_key: str | None = None
    fingerprint: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class PreparedFirsts:
    """First events, checked and in canonical form, ready for ``thidua_open_logs``."""

    tenants: list[str]
    payloads: list[str] = field(repr=False)


@dataclass(frozen=True, slots=True)
class Head:
    seq: int
    hash: bytes


class EventStore:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        max_event_bytes: int = 256 * 1024,
        max_events_per_append: int = 10_000,
        signal: LogSignal | None = None,
        recent: RecentEvents | None = None,
    ) -> None:
        self.pool = pool
        self.recent = recent
        self.group = GroupCommit(pool)
        self.max_event_bytes = max_event_bytes
        self.max_events_per_append = max_events_per_append
        self.signal = signal

    async def append(
        self,
        tenant_id: str,
        events: Sequence[NewEvent],
        *,
        meta: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        fingerprint: bytes | None = None,
        guards: Sequence[Guard] = (),
        connection: asyncpg.Connection | None = None,
    ) -> Appended:
        """Append one command's events to a tenant's log: all of them, or none.

        With an ``idempotency_key`` already used in this tenant, nothing is written and the first
        append's place is returned (``replayed=True``); if the key came with a different request
        (``fingerprint``, by default the events' types and data), :class:`IdempotencyKeyReused`.
        Pass ``connection`` to append inside a caller's transaction; the caller then announces the
        new events after its commit (:meth:`announce`). With ``guards``, the append is stored only
        if each guarded stream is still at its version (else :class:`GuardFailed`); guarded
        appends go one by one, the others in batches (shared/groupcommit.py).
        """
        prepared = self.prepare(
            tenant_id, events, meta, idempotency_key=idempotency_key, fingerprint=fingerprint
        )
        return await self.append_prepared(prepared, guards=guards, connection=connection)

    def prepare(
        self,
        tenant_id: str,
        events: Sequence[NewEvent],
        meta: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        fingerprint: bytes | None = None,
    ) -> PreparedAppend:
        """:meth:`append`'s events checked and in canonical form, made apart from sending them,
        so that a bulk command makes its next chunk while the database stores this one."""
        check_tenant(tenant_id)
        if not events:
            raise InvalidEventData("Không có sự kiện nào để ghi.")
        if len(events) > self.max_events_per_append:
            raise TooManyEvents(f"{len(events)} > {self.max_events_per_append}.")
        if idempotency_key is not None:
            check_idempotency_key(idempotency_key)
        _check_stream_order(events)
        meta_value = canonical.normalise(dict(meta or {}), "$meta")
        if idempotency_key is not None:
            meta_value["idempotency_key"] = idempotency_key
        payloads, datas = self._payloads(tenant_id, events, meta_value)
        if idempotency_key is not None and fingerprint is None:
            fingerprint = _fingerprint(events, datas)
        return PreparedAppend(tenant_id, payloads, events, idempotency_key, fingerprint)

    async def append_prepared(
        self,
        prepared: PreparedAppend,
        *,
        guards: Sequence[Guard] = (),
        connection: asyncpg.Connection | None = None,
    ) -> Appended:
        """:meth:`append` for events :meth:`prepare` made."""
        tenant_id, payloads = prepared.tenant_id, prepared.payloads
        key, fingerprint = prepared.idempotency_key, prepared.fingerprint
        try:
            if guards:
                place = placed(
                    await (connection or self.pool).fetch(
                        GUARDED,
                        tenant_id,
                        payloads,
                        key,
                        fingerprint,
                        [g.tenant_id for g in guards],
                        [g.stream_id for g in guards],
                        [g.version for g in guards],
                    )
                )
            elif connection is None:
                place = await self.group.append(tenant_id, payloads, key, fingerprint)
            else:
                place = placed(
                    await connection.fetch(SINGLE, tenant_id, payloads, key, fingerprint)
                )
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name == "events_stream_version_key":
                streams = sorted({str(e.stream_id) for e in prepared.events})
                raise ConcurrencyConflict(streams=streams) from None
            raise
        except asyncpg.PostgresError as exc:
            raise _translate(exc) from None

        appended = Appended(
            tenant_id=tenant_id,
            seqs=place.seqs,
            recorded_at=place.recorded_at,
            hashes=place.hashes,
            replayed=place.replayed,
        )
        if self.recent is not None and not appended.replayed:
            self.recent.add(tenant_id, appended.seqs, appended.hashes, payloads)
        if not appended.replayed and (connection is None or not connection.is_in_transaction()):
            self.announce(tenant_id, appended.last_seq)
        return appended

    async def open_logs(
        self,
        firsts: Sequence[tuple[str, NewEvent]],
        *,
        meta: Mapping[str, Any] | None = None,
        connection: asyncpg.Connection | None = None,
    ) -> int:
        """Open many new tenants' logs at once, each with its first event (a bulk import): all
        of them or, if any tenant's log is already open, none (:class:`ConcurrencyConflict`).
        With ``connection`` the caller's transaction holds them and the caller announces them."""
        return await self.open_prepared(self.prepare_firsts(firsts, meta), connection=connection)

    def prepare_firsts(
        self, firsts: Sequence[tuple[str, NewEvent]], meta: Mapping[str, Any] | None = None
    ) -> PreparedFirsts:
        """The checked, canonical form of :meth:`open_logs`' events, made apart from sending
        them, so that a bulk import makes the next batch while the database stores this one."""
        meta_value = canonical.normalise(dict(meta or {}), "$meta")
        tenants, payloads = [], []
        for tenant_id, event in firsts:
            check_tenant(tenant_id)
            if event.stream_version != 1 or not isinstance(event.stream_id, UUID):
                raise InvalidEventData("Sự kiện đầu tiên của một nhật ký phải có phiên bản 1.")
            [payload], _ = self._payloads(tenant_id, [event], meta_value)
            tenants.append(tenant_id)
            payloads.append(payload)
        if len(set(tenants)) != len(tenants):
            raise InvalidEventData("Một đơn vị xuất hiện hai lần trong cùng một lần mở nhật ký.")
        return PreparedFirsts(tenants, payloads)

    async def open_prepared(
        self, prepared: PreparedFirsts, *, connection: asyncpg.Connection | None = None
    ) -> int:
        """:meth:`open_logs` for events :meth:`prepare_firsts` made."""
        tenants, payloads = prepared.tenants, prepared.payloads
        statement = "SELECT count(*) FROM thidua_open_logs($1, $2)"
        try:
            if connection is not None:
                await connection.execute(statement, tenants, payloads)
                return len(tenants)
            await self.pool.execute(statement, tenants, payloads)
        except asyncpg.PostgresError as exc:
            raise _translate(exc) from None
        for tenant_id in tenants:
            self.announce(tenant_id, 1)
        return len(tenants)

    def announce(self, tenant_id: str, seq: int) -> None:
        """Wake followers of the log after a commit (coalesced; see shared/signal.py)."""
        if self.signal is not None:
            self.signal.appended(tenant_id, seq)

    def _payloads(
        self, tenant_id: str, events: Sequence[NewEvent], meta: dict[str, Any]
    ) -> tuple[list[str], list[Any]]:
        payloads, datas = [], []
        # A keyed command's answer is read back from the first event (shared/commands.py): the
        # others leave it out, or a bulk append would hold it once per event.
        rest = {k: v for k, v in meta.items() if k != "answer"}
        for index, event in enumerate(events):
            if not EVENT_TYPE.fullmatch(event.event_type):
                raise InvalidEventData(f"Tên loại sự kiện không hợp lệ: {event.event_type!r}.")
            if type(event.schema_version) is not int or not 1 <= event.schema_version <= _INT32_MAX:
                raise InvalidEventData("schema_version phải là số nguyên từ 1 đến 2³¹−1.")
            data = event.data
            if not canonical.is_canonical(data):  # only then is the path worth spelling
                data = canonical.normalise(data, f"$[{index}].data")
            if not isinstance(data, dict):
                raise InvalidEventData("Dữ liệu sự kiện phải là một đối tượng JSON.")
            body = canonical.dumps(
                canonical.content(
                    tenant_id=tenant_id,
                    stream_id=event.stream_id,
                    stream_version=event.stream_version,
                    event_type=event.event_type,
                    schema_version=event.schema_version,
                    data=data,
                    meta=meta if index == 0 else rest,
                )
            )
            if len(body) > self.max_event_bytes:
                raise EventTooLarge(
                    f"{event.event_type}: {len(body)} byte > {self.max_event_bytes} byte.",
                    size=len(body),
                    limit=self.max_event_bytes,
                )
            payloads.append(body.decode())
            datas.append(data)
        return payloads, datas

    @asynccontextmanager
    async def reading(
        self, tenant_id: str, connection: asyncpg.Connection | None = None
    ) -> AsyncIterator[asyncpg.Connection]:
        """``connection`` (a request's, whose reach row-level security already knows), else one
        from the pool that reads as ``tenant_id`` itself: the log is under row-level security
        (shared/migrations/0010_dated_reach.sql), and a read outside any request (a follower,
        a test, an operator tool on the pool) names the one tenant whose log it reads."""
        if connection is not None:
            yield connection
            return
        async with self.pool.acquire() as conn, conn.transaction():
            await set_reach(conn, tenant_id, "unit")
            yield conn

    async def replay_of(
        self,
        tenant_id: str,
        idempotency_key: str,
        fingerprint: bytes | None = None,
        *,
        connection: asyncpg.Connection | None = None,
    ) -> Appended | None:
        """The append an idempotency key already made, if any: a command checks this before
        deciding. With a ``fingerprint`` of the command's input, a key first used for another
        request is :class:`IdempotencyKeyReused`. A command passes its own ``connection``
        (see :meth:`read_stream`)."""
        async with self.reading(tenant_id, connection) as db:
            return await self._replay_of(db, tenant_id, idempotency_key, fingerprint)

    async def _replay_of(
        self,
        db: asyncpg.Connection,
        tenant_id: str,
        idempotency_key: str,
        fingerprint: bytes | None,
    ) -> Appended | None:
        row = await db.fetchrow(
            "SELECT first_seq, last_seq, recorded_at, fingerprint FROM idempotency_keys "
            "WHERE tenant_id = $1 AND key = $2",
            tenant_id,
            idempotency_key,
        )
        if row is None:
            return None
        if fingerprint is not None and bytes(row["fingerprint"]) != fingerprint:
            raise IdempotencyKeyReused()
        hashes = await db.fetch(
            "SELECT seq, hash FROM events WHERE tenant_id = $1 AND seq BETWEEN $2 AND $3 "
            "ORDER BY seq",
            tenant_id,
            row["first_seq"],
            row["last_seq"],
        )
        return Appended(
            tenant_id=tenant_id,
            seqs=[r["seq"] for r in hashes],
            recorded_at=row["recorded_at"],
            hashes=[bytes(r["hash"]) for r in hashes],
            replayed=True,
        )

    async def read_stream(
        self,
        tenant_id: str,
        stream_id: UUID,
        *,
        after_version: int = 0,
        to_version: int | None = None,
        until: datetime | None = None,
        connection: asyncpg.Connection | None = None,
    ) -> list[StoredEvent]:
        """A stream's events in version order, optionally up to a version or a moment.

        A command passes the connection it holds: reading on a second one from the pool, while
        holding the first, is how enough concurrent commands would wait on each other for ever
        (and the command's connection is the one whose reach row-level security knows)."""
        async with self.reading(tenant_id, connection) as db:
            rows = await db.fetch(
                f"SELECT {EVENT_COLUMNS} FROM events "
                "WHERE tenant_id = $1 AND stream_id = $2 AND stream_version > $3 "
                "AND ($4::int IS NULL OR stream_version <= $4) "
                "AND ($5::timestamptz IS NULL OR recorded_at <= $5) "
                "ORDER BY stream_version",
                tenant_id,
                stream_id,
                after_version,
                to_version,
                until,
            )
        return [StoredEvent.from_row(r) for r in rows]

    async def read_stream_since(
        self,
        tenant_id: str,
        stream_id: UUID,
        version: int,
        event_hash: bytes,
        *,
        connection: asyncpg.Connection | None = None,
    ) -> list[StoredEvent] | None:
        """A stream's events after ``version``, if its event at ``version`` is one the reader
        may read and has ``event_hash``; else None (a cached aggregate is then not to be used).
        The known event's own data is not sent: it may be a bulk event of 250 KB."""
        async with self.reading(tenant_id, connection) as db:
            rows = await db.fetch(
                "SELECT tenant_id, seq, stream_id, stream_version, event_type, schema_version, "
                "CASE WHEN stream_version = $3 THEN '{}' ELSE data::text END AS data, "
                "CASE WHEN stream_version = $3 THEN '{}' ELSE meta::text END AS meta, "
                "recorded_at, prev_hash, hash FROM events "
                "WHERE tenant_id = $1 AND stream_id = $2 AND stream_version >= $3 "
                "ORDER BY stream_version",
                tenant_id,
                stream_id,
                version,
            )
        if not rows or rows[0]["stream_version"] != version or rows[0]["hash"] != event_hash:
            return None
        return [StoredEvent.from_row(r) for r in rows[1:]]

    async def read_log(
        self,
        tenant_id: str,
        *,
        after_seq: int = 0,
        limit: int = 1000,
        connection: asyncpg.Connection | None = None,
    ) -> list[StoredEvent]:
        """Up to ``limit`` events of a tenant's log after ``after_seq``, in seq order (on
        ``connection`` inside a request that holds one, as :meth:`read_stream`)."""
        async with self.reading(tenant_id, connection) as db:
            rows = await db.fetch(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE tenant_id = $1 AND seq > $2 "
                "ORDER BY seq LIMIT $3",
                tenant_id,
                after_seq,
                limit,
            )
        return [StoredEvent.from_row(r) for r in rows]

    async def iter_log(
        self,
        tenant_id: str,
        *,
        after_seq: int = 0,
        batch_size: int = 1000,
        connection: asyncpg.Connection | None = None,
    ) -> AsyncIterator[StoredEvent]:
        """The whole log after ``after_seq`` as it stands now, read in batches."""
        while True:
            batch = await self.read_log(
                tenant_id, after_seq=after_seq, limit=batch_size, connection=connection
            )
            for event in batch:
                yield event
            if len(batch) < batch_size:
                return
            after_seq = batch[-1].seq

    async def head(self, tenant_id: str, *, connection: asyncpg.Connection | None = None) -> Head:
        async with self.reading(tenant_id, connection) as db:
            row = await db.fetchrow(
                "SELECT seq, hash FROM tenant_heads WHERE tenant_id = $1", tenant_id
            )
        if row is None:
            return Head(0, canonical.GENESIS_HASH)
        return Head(row["seq"], bytes(row["hash"]))


def check_tenant(tenant_id: str) -> None:
    if not isinstance(tenant_id, str) or not TENANT_ID.fullmatch(tenant_id):
        raise InvalidTenant(f"{tenant_id!r}: 1–64 ký tự chữ, số, '.', '_', ':' hoặc '-'.")


def check_idempotency_key(key: str) -> None:
    if not isinstance(key, str) or not IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidEventData("Khóa chống lặp phải là 1–200 ký tự ASCII in được.")


_INT32_MAX = 2**31 - 1


def _check_stream_order(events: Sequence[NewEvent]) -> None:
    """Each stream's events stand together, in consecutive versions (the database checks where
    each stream's run starts against what is stored)."""
    finished: set[UUID] = set()
    previous: NewEvent | None = None
    for event in events:
        if not isinstance(event.stream_id, UUID):
            raise InvalidEventData("stream_id phải là UUID.")
        version = event.stream_version
        if type(version) is not int or not 1 <= version <= _INT32_MAX:
            raise InvalidEventData("stream_version phải là số nguyên từ 1 đến 2³¹−1.")
        if previous is not None and previous.stream_id == event.stream_id:
            if version != previous.stream_version + 1:
                raise InvalidEventData("Các phiên bản của một luồng phải liên tiếp trong một lệnh.")
        elif event.stream_id in finished:
            raise InvalidEventData("Các sự kiện của một luồng phải đứng liền nhau trong một lệnh.")
        if previous is not None and previous.stream_id != event.stream_id:
            finished.add(previous.stream_id)
        previous = event


def _fingerprint(events: Sequence[NewEvent], datas: list[Any]) -> bytes:
    # Not the stream ids: a retried "create" draws a new random id for the same request.
    described = [[e.event_type, d] for e, d in zip(events, datas, strict=True)]
    return hashlib.sha256(canonical.dumps(described)).digest()


def _translate(exc: asyncpg.PostgresError) -> Exception:
    state = getattr(exc, "sqlstate", None)
    if state == "TD001":
        return ConcurrencyConflict("Phiên bản luồng không nối tiếp phiên bản cuối.")
    if state == "TD002":
        return IdempotencyKeyReused()
    if state == "TD006":
        where = orjson.loads(getattr(exc, "detail", None) or "{}")
        return GuardFailed(where.get("tenant", ""), where.get("stream", ""), where.get("head", 0))
    if state == "TD004":
        return ConcurrencyConflict("Nhật ký của đơn vị này đã được mở.")
    if state == "TD003":
        return InvalidEventData("Sự kiện không ở dạng chuẩn, hoặc ghi tên một đơn vị khác.")
    if state == "TD005":
        return InvalidEventData(
            "Nội dung gửi đi không trùng với nội dung đọc lại (khóa lặp, thứ tự khóa hay cách "
            "viết số, chuỗi không chuẩn)."
        )
    return exc


async def read_appended(
    conn: asyncpg.Connection, tenant_id: str, seqs: Sequence[int]
) -> list[StoredEvent]:
    """The events an append just stored (by their seqs), on the appending connection: a command
    projects them before its transaction commits."""
    rows = await conn.fetch(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE tenant_id = $1 AND seq = ANY($2::bigint[]) "
        "ORDER BY seq",
        tenant_id,
        list(seqs),
    )
    return [StoredEvent.from_row(r) for r in rows]
