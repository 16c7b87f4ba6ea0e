"""The campaigns' read model: ``campaigns``, ``campaign_phases``, ``campaign_indicators``,
``campaign_registrations`` and ``campaign_progress`` (shared/migrations/0005_campaigns.sql).

The campaign commands apply their own events here in the transaction that appends them, so the
model never lags the log and each event is applied exactly once: both commit or neither does.
``rebuild`` replays a tenant's log into it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg
import orjson

from services.campaign.domain import (
    CAMPAIGN_EVENTS,
    PROGRESS_EVENTS,
    REGISTRATION_EVENTS,
    Campaign,
    Progress,
    Registration,
)
from shared.aggregates import EventRegistry
from shared.eventstore import StoredEvent
from shared.text import search_key


def build_registry() -> EventRegistry:
    registry = EventRegistry()
    registry.register(Campaign, *CAMPAIGN_EVENTS)
    registry.register(Registration, *REGISTRATION_EVENTS)
    registry.register(Progress, *PROGRESS_EVENTS)
    return registry


def _json(value: Any) -> str:
    return orjson.dumps(value, default=_default).decode()


def _default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


async def apply(conn: asyncpg.Connection, registry: EventRegistry, events: Sequence[StoredEvent]):
    """Project stored campaign events, in log order, on ``conn`` (the command's transaction)."""
    for stored in events:
        # ProgressOpened has none: the reports carry everything the model keeps.
        handler = _HANDLERS.get(stored.event_type)
        if handler is not None:
            await handler(conn, stored, registry.decode(stored))


async def _created(conn, stored: StoredEvent, e: Any) -> None:
    await conn.execute(
        "INSERT INTO campaigns (tenant_id, campaign_id, name, search_key, theme, objectives, "
        "scope, participants, contents, measures, kind, period_start, period_end, "
        "registration_due, report_days, min_contents, parent_unit, parent_campaign, status, "
        "version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11, $12, $13, "
        "$14, $15, $16, $17, $18, 'draft', $19)",
        stored.tenant_id,
        stored.stream_id,
        e.name,
        search_key(e.name, e.theme),
        e.theme,
        e.objectives,
        e.scope,
        e.participants,
        _json(e.contents),
        _json(e.measures),
        e.kind,
        e.period_start,
        e.period_end,
        e.registration_due,
        e.report_days,
        e.min_contents,
        e.parent_unit,
        e.parent_campaign,
        stored.stream_version,
    )


async def _version(conn, stored: StoredEvent, sets: str = "", *args: Any) -> None:
    await conn.execute(
        f"UPDATE campaigns SET version = $3{sets} WHERE tenant_id = $1 AND campaign_id = $2",
        stored.tenant_id,
        stored.stream_id,
        stored.stream_version,
        *args,
    )


async def _phase_added(conn, stored: StoredEvent, e: Any) -> None:
    await conn.execute(
        "INSERT INTO campaign_phases (tenant_id, campaign_id, number, name, starts, ends) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        stored.tenant_id,
        stored.stream_id,
        e.number,
        e.name,
        e.starts,
        e.ends,
    )
    await _version(conn, stored)


async def _indicator_added(conn, stored: StoredEvent, e: Any) -> None:
    await conn.execute(
        "INSERT INTO campaign_indicators (tenant_id, campaign_id, code, position, name, measure, "
        "target, source, computed_from, scope, category) VALUES ($1, $2, $3, "
        "(SELECT count(*) FROM campaign_indicators WHERE tenant_id = $1 AND campaign_id = $2), "
        "$4, $5, $6, $7, $8, $9, $10)",
        stored.tenant_id,
        stored.stream_id,
        e.code,
        e.name,
        e.measure,
        e.target,
        e.source,
        list(e.computed_from),
        e.scope,
        e.category,
    )
    await _version(conn, stored)


async def _launched(conn, stored: StoredEvent, e: Any) -> None:
    await _version(conn, stored, ", status = 'launched', launched_on = $4", e.launched_on)


_AMENDABLE_COLUMNS = {
    "name": "text",
    "theme": "text",
    "objectives": "text",
    "scope": "text",
    "contents": "jsonb",
    "measures": "jsonb",
    "registration_due": "date",
    "report_days": "integer",
    "min_contents": "integer",
}


async def _amended(conn, stored: StoredEvent, e: Any) -> None:
    sets, args = [], []
    for key, value in e.changes.items():
        kind = _AMENDABLE_COLUMNS[key]
        args.append(_json(value) if kind == "jsonb" else value)
        sets.append(f"{key} = ${len(args) + 3}::{kind}")
    note = {"on": stored.recorded_at.isoformat(), "reason": e.reason, "changes": e.changes}
    args.append(_json([note]))
    sets.append(f"amendments = amendments || ${len(args) + 3}::jsonb")
    await _version(conn, stored, ", " + ", ".join(sets), *args)
    if "name" in e.changes or "theme" in e.changes:
        row = await conn.fetchrow(
            "SELECT name, theme FROM campaigns WHERE tenant_id = $1 AND campaign_id = $2",
            stored.tenant_id,
            stored.stream_id,
        )
        await _version(conn, stored, ", search_key = $4", search_key(row["name"], row["theme"]))


async def _target_amended(conn, stored: StoredEvent, e: Any) -> None:
    await conn.execute(
        "UPDATE campaign_indicators SET target = $4 WHERE tenant_id = $1 AND campaign_id = $2 "
        "AND code = $3",
        stored.tenant_id,
        stored.stream_id,
        e.code,
        e.target,
    )
    note = {"on": stored.recorded_at.isoformat(), "reason": e.reason, "target": [e.code, e.target]}
    await _version(conn, stored, ", amendments = amendments || $4::jsonb", _json([note]))


async def _phase_reviewed(conn, stored: StoredEvent, e: Any) -> None:
    review = {
        "report": e.report,
        "figures": e.figures,
        "reviewed_on": e.reviewed_on,
        "late": e.late,
    }
    await conn.execute(
        "UPDATE campaign_phases SET review = $4::jsonb WHERE tenant_id = $1 AND campaign_id = $2 "
        "AND number = $3",
        stored.tenant_id,
        stored.stream_id,
        e.number,
        _json(review),
    )
    await _version(conn, stored)


async def _concluded(conn, stored: StoredEvent, e: Any) -> None:
    conclusion = {"report": e.report, "figures": e.figures, "late": e.late}
    await _version(
        conn,
        stored,
        ", status = 'concluded', concluded_on = $4, conclusion = $5::jsonb",
        e.concluded_on,
        _json(conclusion),
    )


async def _registered(conn, stored: StoredEvent, e: Any) -> None:
    await conn.execute(
        "INSERT INTO campaign_registrations (tenant_id, campaign_id, campaign_unit, plan, "
        "contents, targets, registered_on, late, status, version) "
        "VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, 'registered', $9)",
        stored.tenant_id,
        e.campaign_id,
        e.campaign_unit,
        e.plan,
        _json(e.contents),
        _json(e.targets),
        e.registered_on,
        e.late,
        stored.stream_version,
    )


async def _registration_amended(conn, stored: StoredEvent, e: Any) -> None:
    note = {"on": stored.recorded_at.isoformat(), "amended": e.reason}
    await conn.execute(
        "UPDATE campaign_registrations SET plan = $3, contents = $4::jsonb, targets = $5::jsonb, "
        "history = history || $6::jsonb, version = $7 WHERE tenant_id = $1 AND campaign_id = $2",
        stored.tenant_id,
        e.campaign_id,
        e.plan,
        _json(e.contents),
        _json(e.targets),
        _json([note]),
        stored.stream_version,
    )


async def _registration_withdrawn(conn, stored: StoredEvent, e: Any) -> None:
    note = {"on": stored.recorded_at.isoformat(), "withdrawn": e.reason}
    await conn.execute(
        "UPDATE campaign_registrations SET status = 'withdrawn', history = history || $3::jsonb, "
        "version = $4 WHERE tenant_id = $1 AND campaign_id = $2",
        stored.tenant_id,
        e.campaign_id,
        _json([note]),
        stored.stream_version,
    )


async def _progress_reported(conn, stored: StoredEvent, e: Any) -> None:
    codes = sorted(e.actuals)
    await conn.execute(
        "INSERT INTO campaign_progress (tenant_id, campaign_id, campaign_unit, phase, code, "
        "actual, reported_on, late) SELECT $1, $2, $3, $4, c, a, $7, $8 "
        "FROM unnest($5::text[], $6::bigint[]) AS u(c, a) "
        "ON CONFLICT (tenant_id, campaign_id, phase, code) DO UPDATE SET actual = EXCLUDED.actual, "
        "reported_on = EXCLUDED.reported_on, late = EXCLUDED.late",
        stored.tenant_id,
        e.campaign_id,
        e.campaign_unit,
        e.phase,
        codes,
        [e.actuals[c] for c in codes],
        e.reported_on,
        e.late,
    )


_HANDLERS = {
    "CampaignCreated": _created,
    "PhaseAdded": _phase_added,
    "IndicatorAdded": _indicator_added,
    "CampaignLaunched": _launched,
    "CampaignAmended": _amended,
    "IndicatorTargetAmended": _target_amended,
    "PhaseReviewed": _phase_reviewed,
    "CampaignConcluded": _concluded,
    "RegistrationSubmitted": _registered,
    "RegistrationAmended": _registration_amended,
    "RegistrationWithdrawn": _registration_withdrawn,
    "ProgressReported": _progress_reported,
}
