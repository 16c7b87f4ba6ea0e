"""The campaigns' read model: ``campaigns``, ``campaign_phases``, ``campaign_indicators``,
``campaign_registrations`` and ``campaign_progress`` (shared/migrations/0005_campaigns.sql).

The projection runner applies the campaign events here (``PROJECTION``, shared/projections.py),
rows and checkpoint in one transaction, so each event is applied exactly once; the commands only
append. ``thidua projections rebuild campaigns`` builds a new version beside the live one and
swaps it in (shared/projection_rebuild.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from functools import cache, partial
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.campaign.actuals import TREE_EVENTS, Touched, refresh
from services.campaign.domain import (
    CAMPAIGN_EVENTS,
    INITIATIVE_EVENTS,
    PLEDGE_EVENTS,
    PROGRESS_EVENTS,
    REGISTRATION_EVENTS,
    WORK_EVENTS,
    Campaign,
    Initiative,
    Pledge,
    Progress,
    Registration,
    Work,
    with_own_contents,
    with_sealed_authors,
    with_sealed_name,
)
from shared.aggregates import EventRegistry
from shared.clock import VIETNAM
from shared.db import RowRuns
from shared.eventstore import StoredEvent
from shared.personal import destroy_keys, keys_of, unseal_name
from shared.projections import Projection
from shared.text import search_key


@cache
def build_registry() -> EventRegistry:
    """The campaign service's event names (one shared instance: never changed once built)."""
    registry = EventRegistry()
    registry.register(Campaign, *CAMPAIGN_EVENTS)
    registry.register(Registration, *REGISTRATION_EVENTS)
    registry.upcaster("RegistrationSubmitted", from_version=1)(with_own_contents)
    registry.upcaster("RegistrationAmended", from_version=1)(with_own_contents)
    registry.register(Progress, *PROGRESS_EVENTS)
    registry.register(Pledge, *PLEDGE_EVENTS)
    registry.upcaster("PledgeRegistered", from_version=1)(with_sealed_name)
    registry.register(Work, *WORK_EVENTS)
    registry.register(Initiative, *INITIATIVE_EVENTS)
    registry.upcaster("InitiativeRegistered", from_version=1)(with_sealed_authors)
    return registry


def _json(value: Any) -> str:
    return orjson.dumps(value, default=_default).decode()


def _default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


async def apply(conn: asyncpg.Connection, registry: EventRegistry, events: Sequence[StoredEvent]):
    """Project stored campaign events, in log order, on ``conn``; then count again the
    indicators they touched, once for the batch (services/campaign/actuals.py)."""
    pledges = RowRuns(conn, "campaign_pledges", PLEDGE_COLUMNS)  # a run: a few statements
    try:
        await _apply(conn, registry, events, pledges)
    finally:
        await pledges.settled()  # the connection idle again, also when a statement failed


async def _apply(
    conn: asyncpg.Connection,
    registry: EventRegistry,
    events: Sequence[StoredEvent],
    pledges: RowRuns,
) -> None:
    decoded = _Decoded(registry)
    keys = await _pledgers_keys(conn, decoded, events)
    touched = Touched()
    targets: list[tuple[StoredEvent, Any]] = []  # written once the indicators are locked
    day: date | None = None
    for stored in events:
        if recorded_on(stored) != day:
            await pledges.flush()
            day = recorded_on(stored)
            await conn.execute("SELECT set_config('thidua.recorded_on', $1, true)", day.isoformat())
        if stored.event_type == "PledgeRegistered":
            await pledges.add(_pledge_row_of(registry, stored, keys, decoded))
            touched.note_pledge(stored.tenant_id, stored.stream_id)
            continue
        await pledges.flush()
        if stored.event_type in TREE_EVENTS:  # the registry's: not decoded here
            touched.note(stored, None)
            continue
        if stored.event_type == PERSON_ERASED:  # the awards': not decoded here either
            # A pledge later in this batch sealed with the key opens to nothing, as it would
            # had the key been read after this: the keys were read for the whole batch.
            keys.pop(await _person_erased(conn, registry, stored), None)
            continue
        # ProgressOpened has none: the reports carry everything the model keeps.
        handler = _HANDLERS.get(stored.event_type)
        if handler is not None:
            event = registry.decode(stored)
            touched.note(stored, event)
            await handler(conn, stored, event)
            if stored.event_type == "IndicatorTargetAmended":
                targets.append((stored, event))
    await pledges.flush()
    await refresh(conn, touched, before_count=partial(_set_targets, conn, targets))


def recorded_on(stored: StoredEvent) -> date:
    """The day an event was recorded, as the union's offices count days (shared/clock.py): a
    row's ``recorded_on``, which decides who reaches it (shared/access.py)."""
    return stored.recorded_at.astimezone(VIETNAM).date()


TABLES = (
    "campaigns",
    "campaign_phases",
    "campaign_indicators",
    "campaign_registrations",
    "campaign_progress",
    "campaign_pledges",
    "campaign_works",
    "campaign_initiatives",
)


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
        f"UPDATE campaigns SET version = $3, recorded_on = DEFAULT{sets} WHERE tenant_id = $1 AND campaign_id = $2",
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
    # The indicator's row itself is written by _set_targets, after the batch locked it.
    note = {"on": stored.recorded_at.isoformat(), "reason": e.reason, "target": [e.code, e.target]}
    await _version(conn, stored, ", amendments = amendments || $4::jsonb", _json([note]))


async def _set_targets(conn, amended: Sequence[tuple[StoredEvent, Any]]) -> None:
    for stored, e in amended:
        await conn.execute(
            "UPDATE campaign_indicators SET target = $4 WHERE tenant_id = $1 "
            "AND campaign_id = $2 AND code = $3",
            stored.tenant_id,
            stored.stream_id,
            e.code,
            e.target,
        )


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
        "contents, own_contents, targets, registered_on, late, status, version) "
        "VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb, $8, $9, 'registered', $10)",
        stored.tenant_id,
        e.campaign_id,
        e.campaign_unit,
        e.plan,
        _json(e.contents),
        _json(e.own_contents),
        _json(e.targets),
        e.registered_on,
        e.late,
        stored.stream_version,
    )


async def _registration_amended(conn, stored: StoredEvent, e: Any) -> None:
    note = {"on": stored.recorded_at.isoformat(), "amended": e.reason}
    await conn.execute(
        "UPDATE campaign_registrations SET plan = $3, contents = $4::jsonb, "
        "own_contents = $5::jsonb, targets = $6::jsonb, history = history || $7::jsonb, "
        "version = $8, recorded_on = DEFAULT WHERE tenant_id = $1 AND campaign_id = $2",
        stored.tenant_id,
        e.campaign_id,
        e.plan,
        _json(e.contents),
        _json(e.own_contents),
        _json(e.targets),
        _json([note]),
        stored.stream_version,
    )


async def _registration_withdrawn(conn, stored: StoredEvent, e: Any) -> None:
    note = {"on": stored.recorded_at.isoformat(), "withdrawn": e.reason}
    await conn.execute(
        "UPDATE campaign_registrations SET status = 'withdrawn', history = history || $3::jsonb, "
        "version = $4, recorded_on = DEFAULT WHERE tenant_id = $1 AND campaign_id = $2",
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
        "reported_on = EXCLUDED.reported_on, late = EXCLUDED.late, "
        "recorded_on = EXCLUDED.recorded_on",
        stored.tenant_id,
        e.campaign_id,
        e.campaign_unit,
        e.phase,
        codes,
        [e.actuals[c] for c in codes],
        e.reported_on,
        e.late,
    )


PLEDGE_COLUMNS = (
    ("tenant_id", "text"),
    ("pledge_id", "uuid"),
    ("campaign_id", "uuid"),
    ("campaign_unit", "text"),
    ("subject", "text"),
    ("name", "text"),
    ("person_id", "uuid"),
    ("key_id", "uuid"),
    ("ref", "text"),
    ("search_key", "text"),
    ("title", "text"),
    ("registered_on", "date"),
    ("late", "boolean"),
    ("status", "text"),
    ("version", "int"),
)


def pledge_row(
    tenant_id: str, pledge_id: Any, e: Any, keys: Mapping[UUID, bytes]
) -> tuple[Any, ...]:
    """A new pledge's row, from its PledgeRegistered event's values: a person's name opened
    with their key ('' once they are erased)."""
    name = (unseal_name(keys.get(e.key_id), e.key_id, e.sealed) or "") if e.key_id else e.name
    return (
        tenant_id,
        pledge_id,
        e.campaign_id,
        e.campaign_unit,
        e.subject,
        name,
        e.person_id,
        e.key_id,
        e.ref,
        search_key(name, e.ref),
        e.title,
        e.registered_on,
        e.late,
        "registered",
        1,
    )


class _Decoded:
    """A batch's transcoded values decoded once each: a bulk pledge's rows share the campaign
    and the day, and each key's id is read for the keys before its row is built."""

    def __init__(self, registry: EventRegistry) -> None:
        self.decode = registry.codec.decode
        self.seen: dict[tuple[str, str], Any] = {}

    def __call__(self, value: Any) -> Any:
        if type(value) is not dict:
            return value
        data = value.get("_data_")
        if type(data) is not str:
            return self.decode(value)
        key = (value["_type_"], data)
        found = self.seen.get(key)
        if found is None:
            found = self.seen[key] = self.decode(value)
        return found

    def once(self, value: Any) -> Any:
        """A value no other row shares (a person's id): decoded, not kept."""
        return value if type(value) is not dict else self.decode(value)


def _pledge_row_of(
    registry: EventRegistry, stored: StoredEvent, keys: Mapping[UUID, bytes], decoded: _Decoded
) -> tuple[Any, ...]:
    """A new pledge's row from its stored data, values decoded by the registry's codec but no
    event object built (a bulk pledge brings 100,000 at once: building each event first
    doubled the cost). Only the current schema has this shape: an older one is upcast."""
    if stored.schema_version != registry.schema_version("PledgeRegistered"):
        return pledge_row(stored.tenant_id, stored.stream_id, registry.decode(stored), keys)
    # Only the transcoded values decoded, each by the codec (a third of the row's cost went
    # into decoding and copying every field).
    data = stored.data
    key_id = decoded(data["key_id"])
    if key_id is None:
        name = data["name"]
    else:
        name = unseal_name(keys.get(key_id), key_id, data["sealed"]) or ""
    return (
        stored.tenant_id,
        stored.stream_id,
        decoded(data["campaign_id"]),
        data["campaign_unit"],
        data["subject"],
        name,
        decoded.once(data["person_id"]),
        key_id,
        data["ref"],
        search_key(name, data["ref"]),
        data["title"],
        decoded(data["registered_on"]),
        data["late"],
        "registered",
        1,
    )


PERSON_ERASED = "PersonErased"  # the awards' event (services/awards): read by its stored name


async def _pledgers_keys(
    conn: asyncpg.Connection, decoded: _Decoded, events: Sequence[StoredEvent]
) -> dict[UUID, bytes]:
    """The keys of the names the batch's new pledges seal, read at once, and held to the
    commit: an erasure destroying one of them waits, then blanks what was written with it."""
    wanted = [
        decoded(e.data["key_id"])
        for e in events
        if e.event_type == "PledgeRegistered" and e.data.get("key_id")
    ]
    return await keys_of(conn, wanted, share=True)


async def _person_erased(conn, registry: EventRegistry, stored: StoredEvent) -> UUID:
    """A person erased (their key destroyed by the awards' projection too; whichever runs first
    destroys it, so a name sealed with it in another unit's log, projected later, opens to
    nothing): their name leaves every pledge and initiative here. Counts are untouched."""
    key_id = registry.codec.decode(stored.data["key_id"])
    await destroy_keys(conn, [key_id])
    pledges = await conn.fetch(
        "SELECT tenant_id, pledge_id, ref FROM campaign_pledges WHERE key_id = $1", key_id
    )
    await conn.executemany(
        "UPDATE campaign_pledges SET name = '', search_key = $3 "
        "WHERE tenant_id = $1 AND pledge_id = $2",
        [(r["tenant_id"], r["pledge_id"], search_key(r["ref"])) for r in pledges],
    )
    rows = await conn.fetch(
        "SELECT tenant_id, initiative_id, title, authors::text AS authors, field, author_keys "
        "FROM campaign_initiatives WHERE author_keys @> ARRAY[$1::uuid]",
        key_id,
    )
    for r in rows:
        authors = [
            None if k == key_id else a
            for a, k in zip(orjson.loads(r["authors"]), r["author_keys"], strict=True)
        ]
        await conn.execute(
            "UPDATE campaign_initiatives SET authors = $3::jsonb, search_key = $4 "
            "WHERE tenant_id = $1 AND initiative_id = $2",
            r["tenant_id"],
            r["initiative_id"],
            _json(authors),
            search_key(r["title"], *authors, r["field"]),
        )
    return key_id


async def _pledge_withdrawn(conn, stored: StoredEvent, e: Any) -> None:
    await conn.execute(
        "UPDATE campaign_pledges SET status = 'withdrawn', reason = $3, version = $4, "
        "recorded_on = DEFAULT "
        "WHERE tenant_id = $1 AND pledge_id = $2",
        stored.tenant_id,
        stored.stream_id,
        e.reason,
        stored.stream_version,
    )


async def _work_registered(conn, stored: StoredEvent, e: Any) -> None:
    await conn.execute(
        "INSERT INTO campaign_works (tenant_id, work_id, campaign_id, campaign_unit, name, kind, "
        "description, location, value_vnd, completion_due, registered_on, status, version) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'registered', $12)",
        stored.tenant_id,
        stored.stream_id,
        e.campaign_id,
        e.campaign_unit,
        e.name,
        e.kind,
        e.description,
        e.location,
        e.value_vnd,
        e.completion_due,
        e.registered_on,
        stored.stream_version,
    )


_WORK_COLUMNS = {
    "name": "text",
    "kind": "text",
    "description": "text",
    "location": "text",
    "value_vnd": "bigint",
    "completion_due": "date",
}


async def _work_amended(conn, stored: StoredEvent, e: Any) -> None:
    sets, args = [], []
    for key, value in e.changes.items():
        args.append(value)
        sets.append(f"{key} = ${len(args) + 4}::{_WORK_COLUMNS[key]}")
    note = {"on": stored.recorded_at.isoformat(), "reason": e.reason, "changes": e.changes}
    await conn.execute(
        f"UPDATE campaign_works SET {', '.join(sets)}, history = history || $3::jsonb, "
        "version = $4, recorded_on = DEFAULT WHERE tenant_id = $1 AND work_id = $2",
        stored.tenant_id,
        stored.stream_id,
        _json([note]),
        stored.stream_version,
        *args,
    )


async def _initiative_registered(conn, stored: StoredEvent, e: Any) -> None:
    """Its authors' names opened with their keys (None for one erased); those written before
    names were sealed (``{"name": …}``, v1) as they were written."""
    key_ids = [UUID(a["key_id"]) if "key_id" in a else None for a in e.authors]
    keys = await keys_of(conn, [k for k in key_ids if k], share=True)
    authors = [
        unseal_name(keys.get(k), k, a["sealed"]) if k else a["name"]
        for a, k in zip(e.authors, key_ids, strict=True)
    ]
    await conn.execute(
        "INSERT INTO campaign_initiatives (tenant_id, initiative_id, campaign_id, campaign_unit, "
        "title, authors, author_keys, field, description, search_key, registered_on, status, "
        "version) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, 'registered', $12)",
        stored.tenant_id,
        stored.stream_id,
        e.campaign_id,
        e.campaign_unit,
        e.title,
        _json(authors),
        key_ids,
        e.field,
        e.description,
        search_key(e.title, *authors, e.field),
        e.registered_on,
        stored.stream_version,
    )


async def _initiative_recognised(conn, stored: StoredEvent, e: Any) -> None:
    await conn.execute(
        "UPDATE campaign_initiatives SET recognised_on = $3, decision = $4, benefit_vnd = $5, "
        "applied_at = $6::jsonb, version = $7, recorded_on = DEFAULT WHERE tenant_id = $1 AND initiative_id = $2",
        stored.tenant_id,
        stored.stream_id,
        e.recognised_on,
        e.decision,
        e.benefit_vnd,
        _json(e.applied_at),
        stored.stream_version,
    )


async def _recognition_amended(conn, stored: StoredEvent, e: Any) -> None:
    note = {
        "on": stored.recorded_at.isoformat(),
        "reason": e.reason,
        "changes": {"benefit_vnd": e.benefit_vnd, "applied_at": e.applied_at},
    }
    await conn.execute(
        "UPDATE campaign_initiatives SET benefit_vnd = $3, applied_at = $4::jsonb, "
        "history = history || $5::jsonb, version = $6, recorded_on = DEFAULT "
        "WHERE tenant_id = $1 AND initiative_id = $2",
        stored.tenant_id,
        stored.stream_id,
        e.benefit_vnd,
        _json(e.applied_at),
        _json([note]),
        stored.stream_version,
    )


async def _tree_changed(conn, stored: StoredEvent, e: Any) -> None:
    """Nothing of its own: the figures over the tree are counted at the batch's end."""


async def _undecoded(conn, stored: StoredEvent, e: Any) -> None:
    """Another service's event, named here so the runner reads it; ``apply`` applies it from
    its stored data (this service's registry does not decode it)."""


def _withdrawal(table: str, key: str):
    """The handler of a record's withdrawal: its status, and the reason kept in its history."""

    async def withdrawn(conn, stored: StoredEvent, e: Any) -> None:
        note = {"on": stored.recorded_at.isoformat(), "withdrawn": e.reason}
        await conn.execute(
            f"UPDATE {table} SET status = 'withdrawn', history = history || $3::jsonb, "
            f"version = $4, recorded_on = DEFAULT WHERE tenant_id = $1 AND {key} = $2",
            stored.tenant_id,
            stored.stream_id,
            _json([note]),
            stored.stream_version,
        )

    return withdrawn


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
    "PledgeWithdrawn": _pledge_withdrawn,
    "WorkRegistered": _work_registered,
    "WorkAmended": _work_amended,
    "WorkWithdrawn": _withdrawal("campaign_works", "work_id"),
    "InitiativeRegistered": _initiative_registered,
    "InitiativeRecognised": _initiative_recognised,
    "InitiativeRecognitionAmended": _recognition_amended,
    "InitiativeWithdrawn": _withdrawal("campaign_initiatives", "initiative_id"),
    # The registry's, read for the figures counted over the tree (actuals.TREE_EVENTS).
    **dict.fromkeys(TREE_EVENTS, _tree_changed),
    PERSON_ERASED: _undecoded,
}


# The same handlers and batching as ``apply``, as a projection with checkpoints
# (shared/projections.py): its runner and a rebuild beside the live tables use it.
async def _one(conn: asyncpg.Connection, stored: StoredEvent, e: Any) -> None:
    """One event on its own (a projection's handler): as a batch of one."""
    await apply(conn, build_registry(), [stored])


PROJECTION = Projection(
    "campaigns",
    1,
    build_registry(),
    # PledgeRegistered is applied by ``apply`` itself, a run of them in a few statements.
    handlers=dict.fromkeys([*_HANDLERS, "PledgeRegistered"], _one),
    tables=TABLES,
    apply=apply,
)
