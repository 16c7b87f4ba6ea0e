"""Everything a running Thi đua holds: the database, the pool, the event store, the log signal.

Built by ``Runtime.start`` (never at import time) and closed in reverse order.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from shared.db import CleanupMode, Database, create_pool, owner_connection
from shared.eventstore import EventStore
from shared.migrate import migrate
from shared.settings import Settings
from shared.signal import LogSignal


@dataclass
class Runtime:
    settings: Settings
    database: Database
    url: str
    pool: asyncpg.Pool
    store: EventStore
    signal: LogSignal

    @classmethod
    async def start(cls, settings: Settings, *, cleanup: CleanupMode = "stop") -> Runtime:
        database = Database(settings, cleanup)
        url = await database.url()
        try:
            async with owner_connection(url) as conn:
                await migrate(conn)
            pool = await create_pool(url, settings)
        except BaseException:
            database.stop()
            raise
        signal = LogSignal(pool, interval_s=settings.notify_interval_ms / 1000)
        await signal.listen(url)
        store = EventStore(
            pool,
            max_event_bytes=settings.max_event_bytes,
            max_events_per_append=settings.max_events_per_append,
            signal=signal,
        )
        return cls(settings, database, url, pool, store, signal)

    async def close(self) -> None:
        await self.signal.aclose()
        await self.pool.close()
        self.database.stop()
