"""Reporting over a tree of units no other test shares: events of the other services given as
they are stored (reporting reads their data, never their classes), appended to the units' logs
through the store, and the projections awaited."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

from services.gateway.runtime import Runtime
from shared.eventstore import NewEvent
from tests.registry.conftest import Tree, principal, registry, tree  # noqa: F401  (fixtures)
from tests.registry.test_graphql import client, elsewhere, gql, tokens  # noqa: F401  (fixtures)


def stored(value: Any) -> Any:
    """A value as the store's transcoder keeps it."""
    if isinstance(value, date):
        return {"_type_": "date_iso", "_data_": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"_type_": "uuid_hex", "_data_": value.hex}
    if isinstance(value, dict):
        return {k: stored(v) for k, v in value.items()}
    if isinstance(value, list):
        return [stored(v) for v in value]
    return value


async def given(
    runtime: Runtime,
    tenant: str,
    event_type: str,
    stream: uuid.UUID | None = None,
    version: int = 1,
    **data: Any,
) -> uuid.UUID:
    """One event appended to ``tenant``'s log (a new stream unless ``stream``), its projections
    awaited."""
    stream = stream or uuid.uuid4()
    appended = await runtime.store.append(
        tenant, [NewEvent(stream, version, event_type, stored(data))]
    )
    await settled(runtime, tenant, appended.last_seq)
    return stream


async def settled(runtime: Runtime, tenant: str, seq: int) -> None:
    assert await runtime.projections.wait_for(tenant, seq, 20.0)


async def pledge(runtime: Runtime, unit: str, on: date, title: str = "lao_dong_tien_tien"):
    return await given(
        runtime,
        unit,
        "PledgeRegistered",
        campaign_id=uuid.uuid4(),
        campaign_unit=unit,
        unit_id=unit,
        subject="person",
        name="Nguyễn Văn An",
        ref=uuid.uuid4().hex[:8],
        title=title,
        registered_on=on,
        late=False,
    )


async def recognised(
    runtime: Runtime, unit: str, benefit: int, on: date, applied_at: str = "Xưởng"
) -> uuid.UUID:
    """An initiative of ``unit`` recognised on ``on`` (registered elsewhere: no authors)."""
    return await given(
        runtime,
        unit,
        "InitiativeRecognised",
        campaign_id=None,
        benefit_vnd=benefit,
        applied_at=[applied_at],
        decision="QĐ",
        recognised_on=on,
    )


SUMMARY = """
query ($unit: ID, $first: Int!, $last: Int, $asOf: DateTime) {
  summary(unitId: $unit, firstYear: $first, lastYear: $last, asOf: $asOf) {
    unitId firstYear lastYear
    total { pledges initiatives initiativeBenefitVnd decisions awardedPersons cashVnd }
    years { year pledges initiatives }
  }
}
"""


async def summary(http, issuer, reader: str, unit: str | None, first: int, last=None, **kw):
    """``reader``'s answer for ``unit``'s summary (``http``, ``issuer``: the client and token
    fixtures)."""
    roles = kw.pop("roles", ["officer"])
    body = await gql(http, issuer, reader, roles, SUMMARY, unit=unit, first=first, last=last, **kw)
    assert "errors" not in body, body
    return body["data"]["summary"]


async def campaign(runtime, unit: str, year: int, *, carries_out: uuid.UUID | None = None):
    """A campaign of ``unit`` created and launched on 20 January (carrying out ``carries_out``,
    an upper unit's campaign, when given)."""
    stream = await given(
        runtime,
        unit,
        "CampaignCreated",
        unit_id=unit,
        name=f"Thi đua {year}",
        theme="Lao động giỏi",
        objectives="",
        scope="",
        participants="workers",
        contents=["Phát huy sáng kiến"],
        measures=[],
        kind="yearly",
        period_start=date(year, 1, 1),
        period_end=date(year, 12, 31),
        registration_due=date(year, 2, 20),
        report_days=5,
        min_contents=1,
        parent_unit=None,
        parent_campaign=carries_out,
    )
    await given(runtime, unit, "CampaignLaunched", stream, 2, launched_on=date(year, 1, 20))
    return stream


async def registered(
    runtime, unit: str, launched: uuid.UUID, by: str, on: date, *, late: bool = False
) -> uuid.UUID:
    """``unit``'s registration to ``by``'s campaign ``launched``, on ``on``."""
    return await given(
        runtime,
        unit,
        "RegistrationSubmitted",
        unit_id=unit,
        campaign_id=launched,
        campaign_unit=by,
        plan="Kế hoạch",
        contents=[],
        own_contents=[],
        targets={},
        registered_on=on,
        late=late,
    )


async def submitted(
    runtime,
    unit: str,
    to: str,
    on: date,
    due: date,
    proposal: uuid.UUID | None = None,
    version: int = 1,
    round_: int = 1,
) -> uuid.UUID:
    """``unit``'s proposal (a new one unless ``proposal``) sent to ``to`` on ``on``, its
    appraisal due ``due``."""
    return await given(
        runtime,
        unit,
        "ProposalSubmitted",
        proposal,
        version,
        round=round_,
        to_unit=to,
        submitted_on=on,
        due_on=due,
        concurrence=False,
        rule_set_version="999/2024",
        nominee_count=1,
    )


async def reviewed(runtime, unit: str, stream: uuid.UUID, version: int, on: date) -> None:
    await given(
        runtime,
        unit,
        "PhaseReviewed",
        stream,
        version,
        number=1,
        report="Sơ kết",
        figures={},
        reviewed_on=on,
        late=False,
    )


async def new_grassroots(commands, unit: str, parent: str, on: date) -> None:
    """A grassroots union registered below ``parent`` from ``on`` (``commands``: the registry's)."""
    await commands.register(
        None,
        unit_id=unit,
        name="CĐCS mới",
        level="grassroots",
        sector_type="DN tư nhân",
        parent_id=parent,
        effective_on=on,
    )


@asynccontextmanager
async def report_settings(owner, **values: int) -> AsyncIterator[None]:
    """The reading functions' settings (report_settings, the owner's) set for a while: what an
    operator would set, committed, so that every connection reads by them."""
    before = dict(await owner.fetch("SELECT name, value FROM report_settings"))
    try:
        for name, value in values.items():
            await owner.execute(
                "UPDATE report_settings SET value = $2 WHERE name = $1", name, value
            )
        yield
    finally:
        for name in values:
            await owner.execute(
                "UPDATE report_settings SET value = $2 WHERE name = $1", name, before[name]
            )
