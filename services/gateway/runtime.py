"""Everything a running Thi đua holds: the database, the pool, the event store, the log signal,
the projection runner (shared/projections.py) and its pool, and the one bound on how many
uploaded files are parsed at once.

Built by ``Runtime.start`` (never at import time) and closed in reverse order.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from functools import cached_property

import asyncpg
import structlog

from shared import calendar
from shared.aggregates import EventRegistry, Repository
from shared.commands import Pipeline
from shared.db import (
    CleanupMode,
    Database,
    create_pool,
    create_projector_pool,
    owner_connection,
)
from shared.eventstore import EventStore, RecentEvents
from shared.migrate import migrate
from shared.personal import People
from shared.projections import CheckpointPositions, Projection, ProjectionRunner
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
    # The projection runner's own pool (role thidua_projector), and what read-your-writes
    # waits on: the runner of this process, or the checkpoint table that `thidua projector`
    # processes advance.
    projector_pool: asyncpg.Pool
    projections: ProjectionRunner | CheckpointPositions

    @classmethod
    async def start(
        cls,
        settings: Settings,
        *,
        cleanup: CleanupMode = "stop",
        run_projections: bool | None = None,
    ) -> Runtime:
        """Database up, migrated, pool open (logged in as thidua_app), listening, and the
        projection runner started (unless ``run_projections``, default the setting, says
        not: an operator's one-off command runs none). Whatever was started before a failure
        is stopped again."""
        if not settings.embedded and not settings.app_database_url:
            log.warning(
                "app_role_by_set_role",
                advice="set THIDUA_APP_DATABASE_URL so the pool logs in as thidua_app",
            )
        database = Database(settings, cleanup)
        recent = RecentEvents(settings.recent_events_bytes)
        pool: asyncpg.Pool | None = None
        signal: LogSignal | None = None
        projector_pool: asyncpg.Pool | None = None
        projections: ProjectionRunner | CheckpointPositions | None = None
        try:
            url = await database.url()
            await asyncio.to_thread(calendar.prepare, date.today())
            async with owner_connection(url) as conn:
                await migrate(conn)
            pool = await create_pool(await database.app_url(), settings)
            signal = LogSignal(pool, interval_s=settings.notify_interval_ms / 1000)
            await signal.listen(url)
            projector_pool = await create_projector_pool(url, settings)
            projections = _projections(
                settings, projector_pool, signal, run=run_projections, recent=recent
            )
            if isinstance(projections, ProjectionRunner):
                await projections.start()
        except BaseException:
            await _close(database, pool, signal, projector_pool, projections)
            raise
        store = EventStore(
            pool,
            max_event_bytes=settings.max_event_bytes,
            max_events_per_append=settings.max_events_per_append,
            signal=signal,
            # Kept only for a runner of this process to read: none, none kept.
            recent=recent if isinstance(projections, ProjectionRunner) else None,
        )
        parsers = Parsers(settings.upload_parse_concurrency)
        return cls(
            settings, database, url, pool, store, signal, parsers, projector_pool, projections
        )

    def repository(self, registry: EventRegistry) -> Repository:
        """A repository for a service's aggregates, snapshotting as configured."""
        return Repository(self.store, registry, snapshot_every=self.settings.snapshot_every)

    @cached_property
    def pipeline(self) -> Pipeline:
        """The one composition root of commands: every service builds its handlers from it."""
        return Pipeline.of(self)

    @cached_property
    def people(self) -> People:
        """The people register as the services that write names see it (shared/personal.py):
        the awards' register, given to them here so that none imports another's domain."""
        from services.awards.named import AwardsPeople

        return AwardsPeople()

    async def close(self) -> None:
        if "pipeline" in self.__dict__:  # built: its snapshots in the background stored first
            await self.pipeline.snapshots_taken()
        await _close(self.database, self.pool, self.signal, self.projector_pool, self.projections)


def _projections(
    settings: Settings,
    pool: asyncpg.Pool,
    signal: LogSignal,
    *,
    run: bool | None,
    recent: RecentEvents | None = None,
) -> ProjectionRunner | CheckpointPositions:
    from services.gateway.projections import live_projections

    projections: list[Projection] = live_projections()
    if settings.run_projections if run is None else run:
        return ProjectionRunner(
            pool,
            signal,
            projections,
            batch_size=settings.projection_batch_size,
            poll_interval_s=settings.poll_interval_s,
            recent=recent,
        )
    return CheckpointPositions(
        pool,
        [p.name for p in projections if not p.inline],
        poll_interval_s=settings.poll_interval_s,
    )


async def _close(
    database: Database,
    pool: asyncpg.Pool | None,
    signal: LogSignal | None,
    projector_pool: asyncpg.Pool | None = None,
    projections: ProjectionRunner | CheckpointPositions | None = None,
) -> None:
    try:
        if isinstance(projections, ProjectionRunner):
            await projections.stop()
        if projector_pool is not None:
            await projector_pool.close()
        if signal is not None:
            await signal.aclose()
    finally:
        try:
            if pool is not None:
                await pool.close()
        finally:
            database.stop()
