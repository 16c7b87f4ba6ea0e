"""Rules that span aggregates are never decided on stale state (issue 13, point 4).

A registration decides on the campaign as the read model shows it, in the launching unit's log;
the conclusion is appended there. The registration's append guards the campaign's stream at the
version it read, checked under a lock of the launching unit's head, so a registration is either
recorded before the conclusion or refused CAMPAIGN_CONCLUDED: never recorded after it. Whether a
unit has registered is read from its own log (the registration's id is the unit's and the
campaign's), not from a read model that may lag.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from uuid import UUID

from services.campaign.commands import CampaignCommands, commands_of
from services.campaign.domain import registration_id
from shared.errors import DomainError

from .conftest import officer, seed_003

CONTENTS = ["Phát huy sáng kiến, sáng tạo"]


def pausing_after_facts(runtime, clock, pause: Callable[[], Awaitable[Any]]) -> CampaignCommands:
    """The campaign commands of the runtime, whose first decision, once it has read the
    campaign's facts, waits for ``pause()``: how a test holds a decision between its read and
    its append (a decision made again after a conflict goes straight on)."""
    held = commands_of(runtime, clock)
    read = held.campaign_facts
    paused = False

    async def campaign_facts(*args: Any, **kwargs: Any):
        nonlocal paused
        facts = await read(*args, **kwargs)
        if not paused:
            paused = True
            await pause()
        return facts

    held.campaign_facts = campaign_facts  # type: ignore[method-assign]
    return held


async def outcome(call) -> str:
    try:
        await call
    except DomainError as refused:
        return refused.code
    return "OK"


async def at_once(start: asyncio.Barrier, call: Awaitable[Any]) -> str:
    """``call``'s outcome, begun once every party has reached ``start``."""
    await start.wait()
    return await outcome(call)


async def recorded_at(owner, tenant: str, event_type: str, campaign_id: UUID) -> list[Any]:
    return [
        r["recorded_at"]
        for r in await owner.fetch(
            "SELECT recorded_at FROM events WHERE tenant_id = $1 AND event_type = $2 "
            "AND (stream_id = $3 OR data->'campaign_id'->>'_data_' = $4)",
            tenant,
            event_type,
            campaign_id,
            campaign_id.hex,
        )
    ]


async def test_a_registration_that_read_the_campaign_open_is_refused_once_it_has_concluded(
    campaigns, tree, clock, owner, runtime
):
    # Given the province's launched campaign, and an upper unit's registration that has read
    # it open and is held before its append
    province = await seed_003(campaigns, tree.prov1)
    clock.on = date(2021, 2, 10)
    facts_read, concluded = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        facts_read.set()
        await concluded.wait()

    held = pausing_after_facts(runtime, clock, hold)
    registering = asyncio.ensure_future(
        outcome(held.register(officer(tree.upper1), province, contents=CONTENTS))
    )
    await facts_read.wait()

    # When the province concludes the campaign meanwhile, and the registration goes on
    await campaigns.conclude(officer(tree.prov1), province, "Báo cáo tổng kết", {})
    concluded.set()

    # Then the registration is refused as the campaign now stands, and nothing was recorded
    assert await registering == "CAMPAIGN_CONCLUDED"
    assert await recorded_at(owner, tree.upper1, "RegistrationSubmitted", province) == []


async def test_registrations_and_the_conclusion_at_the_same_moment_never_record_one_after_it(
    campaigns, tree, clock, owner, runtime
):
    # Given three of the province's launched campaigns
    province_campaigns = [await seed_003(campaigns, tree.prov1) for _ in range(3)]
    clock.on = date(2021, 2, 10)
    units = [tree.upper1, tree.upper2, tree.cs1]

    for campaign_id in province_campaigns:
        # When three units register and the province concludes, all released at once
        start = asyncio.Barrier(len(units) + 1)
        *registered, ended = await asyncio.gather(
            *(
                at_once(start, campaigns.register(officer(u), campaign_id, contents=CONTENTS))
                for u in units
            ),
            at_once(start, campaigns.conclude(officer(tree.prov1), campaign_id, "Tổng kết", {})),
        )

        # Then the campaign concluded; each registration is in and recorded before the
        # conclusion, or refused CAMPAIGN_CONCLUDED with nothing recorded
        assert ended == "OK"
        [conclusion] = await recorded_at(owner, tree.prov1, "CampaignConcluded", campaign_id)
        for unit, answer in zip(units, registered, strict=True):
            events = await recorded_at(owner, unit, "RegistrationSubmitted", campaign_id)
            assert answer in {"OK", "CAMPAIGN_CONCLUDED"}, (unit, answer)
            if answer == "OK":
                assert len(events) == 1 and events[0] < conclusion, (unit, events, conclusion)
            else:
                assert events == [], (unit, events)


async def test_two_registrations_of_one_unit_at_once_record_one_and_refuse_the_other(
    campaigns, tree, clock, owner, runtime
):
    # Given the province's launched campaign, and two registrations of one upper unit that
    # have both read it before either appends
    province = await seed_003(campaigns, tree.prov1)
    clock.on = date(2021, 2, 10)
    both_read = asyncio.Barrier(2)
    first = pausing_after_facts(runtime, clock, both_read.wait)
    second = pausing_after_facts(runtime, clock, both_read.wait)

    # When both go on at once
    answers = await asyncio.gather(
        outcome(first.register(officer(tree.upper1), province, contents=CONTENTS)),
        outcome(second.register(officer(tree.upper1), province, contents=CONTENTS)),
    )

    # Then one is in and the other is told the unit has registered already; one stream, one
    # registration event
    assert sorted(answers) == ["OK", "REGISTRATION_EXISTS"]
    stream = registration_id(province, tree.upper1)
    count = await owner.fetchval(
        "SELECT count(*) FROM events WHERE tenant_id = $1 AND stream_id = $2",
        tree.upper1,
        stream,
    )
    assert count == 1
