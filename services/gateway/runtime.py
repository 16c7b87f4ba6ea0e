"""Everything a running Thi đua holds: the database, the pool, the event store, the log signal,
and the one bound on how many uploaded files are parsed at once.

Built by ``Runtime.start`` (never at import time) and closed in reverse order.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import structlog

from shared.aggregates import EventRegistry, Repository
from shared.db import CleanupMode, Database, create_pool, owner_connection
from shared.eventstore import EventStore
from shared.migrate import migrate
from shared.settings import Settings
from shared.signal import LogSignal
from shared.uploads import Parsers

log = structlog.get_logger(__name__)


@dataclass
class Runtime:
    settings: Settings
    database: Database
    url: str
    pool: asyncpg.Pool
    store: EventStore
    signal: LogSignal
    # One per process, shared by every upload route (pledges, awards dossiers, ...): the
    # memory that reading uploads takes is bounded by the process's cap, not by route.
    parsers: Parsers

    @classmethod
    async def start(cls, settings: Settings, *, cleanup: CleanupMode = "stop") -> Runtime:
        """Database up, migrated, pool open (logged in as thidua_app), listening. Whatever was
        started before a failure is stopped again."""
        if not settings.embedded and not settings.app_database_url:
            log.warning(
                "app_role_by_set_role",
                advice="set THIDUA_APP_DATABASE_URL so the pool logs in as thidua_app",
            )
        database = Database(settings, cleanup)
        pool: asyncpg.Pool | None = None
        signal: LogSignal | None = None
        try:
            url = await database.url()
            async with owner_connection(url) as conn:
                await migrate(conn)
            pool = await create_pool(await database.app_url(), settings)
            signal = LogSignal(pool, interval_s=settings.notify_interval_ms / 1000)
            await signal.listen(url)
        except BaseException:
            await _close(database, pool, signal)
            raise
        store = EventStore(
            pool,
            max_event_bytes=settings.max_event_bytes,
            max_events_per_append=settings.max_events_per_append,
            signal=signal,
        )
        parsers = Parsers(settings.upload_parse_concurrency)
        return cls(settings, database, url, pool, store, signal, parsers)

    def repository(self, registry: EventRegistry) -> Repository:
        """A repository for a service's aggregates, snapshotting and retrying as configured."""
        return Repository(
            self.store,
            registry,
            snapshot_every=self.settings.snapshot_every,
            retries=self.settings.command_retries,
        )

    async def close(self) -> None:
        await _close(self.database, self.pool, self.signal)


async def _close(database: Database, pool: asyncpg.Pool | None, signal: LogSignal | None) -> None:
    try:
        if signal is not None:
            await signal.aclose()
    finally:
        try:
            if pool is not None:
                await pool.close()
        finally:
            database.stop()
