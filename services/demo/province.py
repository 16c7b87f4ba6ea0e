"""A province of many upper-level units (issue 13's benchmark: 700), each registered with the
province's campaign, so the province's campaign list shows that many child registrations.

Its data is ``services/demo/data/province.toml``. It hangs under the demo's national unit
(registered by the demo, or here if the demo is not loaded) and is loaded like the demo: the
units by the registry's bulk importer, the campaign and the registrations by the campaign
commands, each step skipping what is there, so a second run writes nothing and a run with more
units adds the missing ones. Registrations are sent several at once: each is a command of its
own unit, on a connection of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from services.demo.loader import (
    DemoContext,
    demo_context,
    import_tree,
    plan_campaign,
    registration_plan,
)
from services.demo.plans import NATIONAL, TREE_SINCE, DemoUnit, campaign_plan, plans, read_data
from services.gateway.runtime import Runtime

CONCURRENT_REGISTRATIONS = 8  # commands in flight: enough to keep two cores and the disk busy


@dataclass(frozen=True, slots=True)
class ProvinceSummary:
    """The province (its tenant id), its campaign, and how many of its units there are and are
    registered with the campaign; ``written``: what this run wrote (units, registrations)."""

    province: str
    campaign_id: UUID
    units: int
    registered: int
    late: int
    written: dict[str, int]


async def load_province(runtime: Runtime, units: int = 700, *, prefix: str = "") -> ProvinceSummary:
    """Load a province of ``units`` upper-level units into the runtime's database (``prefix``
    before every unit id), each registered with the province's campaign; say what it holds."""
    if units < 0:
        raise ValueError("units must be ≥ 0")
    data = read_data("province.toml")
    ctx = demo_context(runtime, prefix)
    tree = province_units(data, units)
    written_units = await import_tree(ctx, tree, since=TREE_SINCE)
    province = tree[1]
    plan = campaign_plan({**data["campaign"], "unit": province.id}, None)
    await plan_campaign(ctx, plan)
    campaign_id = ctx.campaign_id(plan.key)
    written = await _register_all(ctx, data["registration"], plan.contents, tree[2:], campaign_id)
    async with ctx.reading() as conn:
        registered = await conn.fetchrow(
            "SELECT count(*) AS n, count(*) FILTER (WHERE late) AS late "
            "FROM campaign_registrations WHERE campaign_id = $1",
            campaign_id,
        )
    return ProvinceSummary(
        province=ctx.unit(province.id),
        campaign_id=campaign_id,
        units=len(tree) - 2,
        registered=registered["n"],
        late=registered["late"],
        written={"units": written_units, "registrations": written},
    )


def province_units(data: dict[str, Any], count: int) -> list[DemoUnit]:
    """The demo's national unit, the province, then its ``count`` upper-level units."""
    national = next(u for u in plans().units if u.id == NATIONAL)
    head = data["province"]
    province = DemoUnit(
        head["id"], NATIONAL, head["name"], head["short_name"], "provincial", None, 0
    )
    upper = data["upper"]
    below = [
        DemoUnit(
            upper["id"].format(n=n),
            province.id,
            upper["name"].format(n=n),
            upper["short_name"].format(n=n),
            "upper",
            None,
            0,
        )
        for n in range(1, count + 1)
    ]
    return [national, province, *below]


async def _register_all(
    ctx: DemoContext,
    registration: dict[str, Any],
    contents: Sequence[str],
    units: Sequence[DemoUnit],
    campaign_id: UUID,
) -> int:
    """Each unit not registered yet registers: on time, or late for every ``late_every``-th."""
    async with ctx.reading() as conn:
        done = {
            r["tenant_id"]
            for r in await conn.fetch(
                "SELECT tenant_id FROM campaign_registrations WHERE campaign_id = $1", campaign_id
            )
        }
    every = registration["late_every"]
    waiting = [(n, u) for n, u in enumerate(units, 1) if ctx.unit(u.id) not in done]
    on_time = [u for n, u in waiting if n % every]
    late = [u for n, u in waiting if not n % every]
    picked = [contents[i] for i in registration["contents"]]
    for day, batch, is_late in (
        (registration["on"], on_time, False),
        (registration["late_on"], late, True),
    ):
        # One day for the whole batch: the clock is shared by the commands in flight.
        ctx.clock.on = day
        await _register_batch(ctx, batch, campaign_id, picked, registration["targets"], is_late)
    return len(waiting)


async def _register_batch(
    ctx: DemoContext,
    units: Sequence[DemoUnit],
    campaign_id: UUID,
    contents: list[str],
    targets: dict[str, int],
    late: bool,
) -> None:
    gate = asyncio.Semaphore(min(CONCURRENT_REGISTRATIONS, ctx.runtime.settings.pool_max_size))

    async def register(unit: DemoUnit) -> None:
        async with gate:
            await ctx.campaigns.register(
                ctx.officer(unit.id),
                campaign_id,
                plan=registration_plan(unit.name),
                contents=contents,
                targets=targets,
                late=late,
            )

    async with asyncio.TaskGroup() as group:
        for unit in units:
            group.create_task(register(unit))
