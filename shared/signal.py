"""Waking the followers of the log without making appends queue behind one lock.

A ``NOTIFY`` inside every append transaction makes all commits in the cluster queue on
PostgreSQL's notification lock (8 writers fell from 11,900 to 4,450 appends/s here). So an append
only marks its tenant as grown: followers in this process wake at once, and other processes get
one coalesced ``NOTIFY`` per interval, sent outside any append transaction. Followers also poll,
so a lost notification delays them by at most one poll interval and loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator

import asyncpg
import orjson
import structlog

from shared.eventstore import EventStore, StoredEvent

CHANNEL = "thidua_log"
_MAX_PAYLOAD = 7000  # NOTIFY payloads must stay under 8000 bytes
SENT_KEPT = 64  # own notifications remembered, to know their echo
EVERY = ""  # among the tenants that grew: some did, which is not known (no tenant id is empty)

log = structlog.get_logger(__name__)


class LogSignal:
    def __init__(self, pool: asyncpg.Pool, *, interval_s: float = 0.02) -> None:
        self.pool = pool
        self.interval_s = interval_s
        self._pending: dict[str, int] = {}
        self._flush: asyncio.Task[None] | None = None
        self._waiters: set[asyncio.Event] = set()
        self._grown: list[set[str]] = []
        self._listener: asyncpg.Connection | None = None
        # (the sending backend, the payload) of this process's latest notifications
        self._sent: deque[tuple[int, str]] = deque(maxlen=SENT_KEPT)

    def appended(self, tenant_id: str, seq: int) -> None:
        if seq > self._pending.get(tenant_id, 0):
            self._pending[tenant_id] = seq
        for grown in self._grown:
            grown.add(tenant_id)
        self._wake()
        if self._flush is None:
            self._flush = asyncio.get_running_loop().create_task(self._notify_later())

    async def _notify_later(self) -> None:
        try:
            await asyncio.sleep(self.interval_s)
        finally:
            pending, self._pending, self._flush = self._pending, {}, None
        payload = orjson.dumps(pending).decode()
        if len(payload) > _MAX_PAYLOAD:
            payload = "{}"  # "something grew": listeners re-read every tenant they follow
        sent = None
        try:
            async with self.pool.acquire() as conn:
                # Its echo is not a wake-up: this process's followers were woken at the append
                # (a second round a notification, surveying what the first had applied).
                sent = (conn.get_server_pid(), payload)
                self._sent.append(sent)
                await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
        except BaseException as exc:
            # not sent (or not known to be): no echo to wait for, and the backend's id may
            # later be another process's
            if sent in self._sent:
                self._sent.remove(sent)
            if not isinstance(exc, asyncpg.PostgresError | OSError | asyncpg.InterfaceError):
                raise
            log.warning("notify_failed", error=str(exc))  # followers still poll

    async def listen(self, url: str) -> None:
        """Also wake on appends made by other processes."""
        self._listener = await asyncpg.connect(url)
        await self._listener.add_listener(CHANNEL, self._on_notify)

    def _on_notify(self, _connection: object, pid: int, _channel: str, payload: str) -> None:
        if (pid, payload) in self._sent:
            self._sent.remove((pid, payload))
            return
        tenants: set[str] = {EVERY}
        with contextlib.suppress(ValueError):
            grown = orjson.loads(payload)
            if isinstance(grown, dict) and grown and all(isinstance(t, str) for t in grown):
                tenants = set(grown)
        for each in self._grown:
            each |= tenants
        self._wake()

    def _wake(self) -> None:
        for waiter in self._waiters:
            waiter.set()

    @contextlib.contextmanager
    def subscription(self, grown: set[str] | None = None):  # type: ignore[no-untyped-def]
        """A waiter set at every append; ``grown``, if given, also collects the tenants whose
        logs grew (:data:`EVERY` when a notification did not say which)."""
        waiter = asyncio.Event()
        self._waiters.add(waiter)
        if grown is not None:
            self._grown.append(grown)
        try:
            yield waiter
        finally:
            self._waiters.discard(waiter)
            if grown is not None:
                # by identity: two subscribers' sets may be equal
                self._grown = [each for each in self._grown if each is not grown]

    async def aclose(self) -> None:
        if self._flush is not None:
            with contextlib.suppress(Exception):
                await self._flush
        if self._listener is not None:
            await self._listener.close()
            self._listener = None


async def follow(
    store: EventStore,
    signal: LogSignal,
    tenant_id: str,
    *,
    after_seq: int = 0,
    batch_size: int = 500,
    poll_interval_s: float = 1.0,
) -> AsyncIterator[StoredEvent]:
    """Every event of a tenant's log after ``after_seq``, in order, forever.

    Commit order equals seq order within a tenant (the head row lock is held to commit), so
    reading "after the last seq seen" can never step over an event that commits later.
    """
    with signal.subscription() as woken:
        while True:
            woken.clear()  # before reading: a wake-up during the read is not lost
            batch = await store.read_log(tenant_id, after_seq=after_seq, limit=batch_size)
            for event in batch:
                yield event
                after_seq = event.seq
            if len(batch) == batch_size:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), poll_interval_s)
