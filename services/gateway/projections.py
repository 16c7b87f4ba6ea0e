"""Which projections the runner keeps (shared/projections.py): the one list ``thidua serve`` and
``thidua projector`` run, and what an operator or an auditor is told about them.

The campaign commands write no read-model row: the runner applies the campaign projection
(shared/migrations/0020_campaigns_by_the_runner.sql started its checkpoints where the commands'
own writing stopped).
"""

from __future__ import annotations

from typing import Any

from shared.projections import Projection, ProjectionRunner, ProjectionStatus, projection_status


def live_projections() -> list[Projection]:
    from services.awards.projections import PROJECTION as AWARDS
    from services.campaign.projections import PROJECTION as CAMPAIGNS
    from services.registry.projections import PROJECTION as REGISTRY
    from services.reporting.projections import PROJECTION as REPORTING

    return [
        CAMPAIGNS,
        AWARDS,
        REPORTING,
        REGISTRY,
    ]  # the registry's is inline: its commands apply it


def known_projections() -> dict[str, Projection]:
    """Every projection an operator may rebuild or ask about, by name, whether or not the
    runner keeps it yet."""
    return {p.name: p for p in live_projections()}


async def statuses(runtime: Any) -> list[ProjectionStatus]:
    """Each known projection's live and building versions with their lag (shared/projections.py
    ``projection_status``), and the p99 lag this process's runner measured, if one runs."""
    async with runtime.projector_pool.acquire() as conn:
        found = await projection_status(conn, list(known_projections().values()))
    runner = runtime.projections
    if not isinstance(runner, ProjectionRunner):
        return found
    kept = {p.name for p in runner.projections}
    return [s.with_measured(runner.p99_lag(s.name)) if s.name in kept else s for s in found]
