"""``thidua demo``: a union tree and the campaigns of two of the source plans, with registrations,
progress reports and a phase review, loaded through the services' own commands.

The tree is a province (LĐLĐ tỉnh Ninh Bình) with district, city, industrial-zone and education
unions and their grassroots unions, and a national sector union (Công đoàn Công Thương Việt Nam)
with corporation unions and grassroots unions directly under it, all under the national
confederation. The campaigns are those of Kế hoạch 02/KH-LĐLĐ (Ninh Bình, 2021; seed 003) and
Kế hoạch 64/KH-CĐCT (Công Thương, 2017; seed 004); three upper-level unions carry out the
province's campaign with one of their own. The data is in ``services/demo/data/``
(services/demo/plans.py reads it). The commands run on a clock set to the day each thing
happened in 2017 or 2021, so deadlines, lateness and report dues come out as they would have.

Loading is idempotent: each step skips what is already there (the tree by the importer's own
rule, campaigns by unit and name, registrations, reports and reviews by what the read model
holds), so a second run writes nothing, and a run cut short is finished by the next one.

Each step is a function of a :class:`DemoContext` returning how many things it wrote; ``STEPS``
lists them in order. A step calls the services' commands by their public methods only
(``DemoContext.registry`` and ``.campaigns``, built in ``demo_context``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

import asyncpg

from services.awards.bulk import PersonRow, register_people
from services.awards.commands import commands_of as awards_commands_of
from services.awards.domain import Particulars, Personal
from services.campaign.bulk import PledgeRow, register_pledges
from services.campaign.commands import CampaignCommands, commands_of
from services.campaign.domain import DRAFT
from services.campaign.rules import registration_standing
from services.demo.awards import UPPER_UNIT, awards_2021
from services.demo.plans import (
    GRASSROOTS,
    NATIONAL,
    PROVINCE,
    TREE_SINCE,
    DemoCampaign,
    DemoReview,
    DemoUnit,
    Plans,
    plans,
    units_csv,
)
from services.demo.reports import reporting_2020_2025
from services.gateway.runtime import Runtime
from services.registry.commands import RegistryCommands
from services.registry.commands import commands_of as registry_commands_of
from services.registry.importer import import_units
from shared import access
from shared.auth import Principal

SUBJECT = "thidua-demo"  # the actor named in the demo's events


@dataclass
class DemoClock:
    """The day the demo's commands take as today."""

    on: date = TREE_SINCE

    def __call__(self) -> date:
        return self.on


@dataclass
class DemoContext:
    runtime: Runtime
    prefix: str
    registry: RegistryCommands
    campaigns: CampaignCommands
    clock: DemoClock
    plans: Plans
    campaign_ids: dict[str, UUID] = field(default_factory=dict)  # DemoCampaign key → id

    def unit(self, unit_id: str) -> str:
        return self.prefix + unit_id

    def officer(self, unit_id: str) -> Principal:
        return Principal(subject=SUBJECT, tenant=self.unit(unit_id), roles=frozenset({"officer"}))

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[asyncpg.Connection]:
        """A read transaction with the national unit's reach: the whole demo."""
        async with access.scope(self.runtime.pool, self.officer(NATIONAL)) as conn:
            yield conn

    async def has(self, sql: str, *args: object) -> bool:
        """Whether the demo already holds what ``sql`` asks for (a step skips what it finds)."""
        async with self.reading() as conn:
            return bool(await conn.fetchval(sql, *args))

    def campaign_id(self, key: str) -> UUID:
        return self.campaign_ids[key]


Step = Callable[[DemoContext], Awaitable[int]]


def demo_context(runtime: Runtime, prefix: str = "") -> DemoContext:
    """The commands the steps run, on the runtime's database, with the demo's clock."""
    clock = DemoClock()
    return DemoContext(
        runtime=runtime,
        prefix=prefix,
        registry=registry_commands_of(runtime),
        campaigns=commands_of(runtime, clock),
        clock=clock,
        plans=plans(),
    )


async def import_tree(
    ctx: DemoContext, units: Sequence[DemoUnit], *, since: date = TREE_SINCE
) -> int:
    """``units`` (parents before children, ``ctx.prefix`` before their ids) registered by the
    registry's importer from ``since``, or from the day the national unit counts from if that is
    later: those already registered with the same data are skipped; one registered with other
    data stops the load (IMPORT_INVALID). The national unit is left out when it is registered
    already, so one registered otherwise (e.g. the README's example import) is taken as it is."""
    async with ctx.reading() as conn:
        root = await conn.fetchval(
            "SELECT since FROM units WHERE tenant_id = $1", ctx.unit(NATIONAL)
        )
    if root is not None:
        units = [u for u in units if u.id != NATIONAL]
        since = max(since, root)
    data = units_csv(units, ctx.prefix)
    return (await import_units(ctx.registry, data, effective_on=since)).registered


async def _tree(ctx: DemoContext) -> int:
    """The demo's units, through the registry's importer (``import_tree``)."""
    return await import_tree(ctx, ctx.plans.units)


async def _campaigns(ctx: DemoContext) -> int:
    """Each campaign planned and launched, unless its unit has one of that name already; a draft
    left by an interrupted run gets its missing phases and indicators, then is launched."""
    created = 0
    for plan in ctx.plans.campaigns:
        created += await plan_campaign(ctx, plan)
    return created


async def plan_campaign(ctx: DemoContext, plan: DemoCampaign) -> int:
    """``plan`` created (1) unless its unit has a campaign of its name (0), and launched; its id
    is kept under its key (``ctx.campaign_id``)."""
    actor = ctx.officer(plan.unit)
    async with ctx.reading() as conn:
        row = await conn.fetchrow(
            "SELECT campaign_id, status FROM campaigns WHERE tenant_id = $1 AND name = $2 "
            "ORDER BY version DESC LIMIT 1",
            actor.tenant,
            plan.name,
        )
    created = row is None
    if created:
        ctx.clock.on = plan.created_on or plan.launched_on
        campaign_id = await ctx.campaigns.create(
            actor,
            name=plan.name,
            kind=plan.kind,
            period_start=plan.period[0],
            period_end=plan.period[1],
            theme=plan.theme,
            objectives=plan.objectives,
            scope=plan.scope,
            participants=plan.participants,
            contents=list(plan.contents),
            measures=list(plan.measures),
            registration_due=plan.registration_due,
            report_days=plan.report_days,
            min_contents=plan.min_contents,
            parent_campaign=ctx.campaign_id(plan.carries_out) if plan.carries_out else None,
        )
        status = DRAFT
    else:
        # asyncpg's own UUID type: the event codec takes only uuid.UUID itself.
        campaign_id, status = UUID(str(row["campaign_id"])), row["status"]
    ctx.campaign_ids[plan.key] = campaign_id
    if status == DRAFT:
        await _plan(ctx, plan, actor, campaign_id)
        ctx.clock.on = plan.launched_on
        await ctx.campaigns.launch(actor, campaign_id)
    return int(created)


async def _plan(ctx: DemoContext, plan: DemoCampaign, actor: Principal, campaign_id: UUID) -> None:
    """The phases and indicators a draft does not have yet."""
    async with ctx.reading() as conn:
        phases = await conn.fetchval(
            "SELECT count(*) FROM campaign_phases WHERE campaign_id = $1", campaign_id
        )
        codes = {
            r["code"]
            for r in await conn.fetch(
                "SELECT code FROM campaign_indicators WHERE campaign_id = $1", campaign_id
            )
        }
    for name, starts, ends in plan.phases[phases:]:
        await ctx.campaigns.add_phase(actor, campaign_id, name=name, starts=starts, ends=ends)
    for indicator in plan.indicators:
        if indicator.code in codes:
            continue
        await ctx.campaigns.add_indicator(
            actor,
            campaign_id,
            code=indicator.code,
            name=indicator.name,
            measure=indicator.measure,
            target=indicator.target,
            source="computed" if indicator.computed_from else "reported",
            computed_from=list(indicator.computed_from),
            scope=indicator.scope,
            category=indicator.category,
        )


async def _registrations(ctx: DemoContext) -> int:
    made = 0
    for r in ctx.plans.registrations:
        plan = ctx.plans.campaign(r.campaign)
        campaign_id = ctx.campaign_id(r.campaign)
        if await ctx.has(
            "SELECT 1 FROM campaign_registrations WHERE tenant_id = $1 AND campaign_id = $2",
            ctx.unit(r.unit),
            campaign_id,
        ):
            continue
        ctx.clock.on = r.on
        await ctx.campaigns.register(
            ctx.officer(r.unit),
            campaign_id,
            plan=registration_plan(ctx.plans.unit_name(r.unit)),
            contents=[plan.contents[i] for i in r.contents],
            targets=dict(r.targets),
            late=plan.registration_due is not None and r.on > plan.registration_due,
        )
        made += 1
    return made


def registration_plan(unit_name: str) -> str:
    return f"Kế hoạch thi đua của {unit_name} hưởng ứng phong trào của cấp trên."


async def _progress(ctx: DemoContext) -> int:
    made = 0
    for p in ctx.plans.progress:
        campaign_id = ctx.campaign_id(p.campaign)
        if await ctx.has(
            "SELECT 1 FROM campaign_progress WHERE tenant_id = $1 AND campaign_id = $2 "
            "AND phase = $3 LIMIT 1",
            ctx.unit(p.unit),
            campaign_id,
            p.phase,
        ):
            continue
        ctx.clock.on = p.on
        await ctx.campaigns.report_progress(
            ctx.officer(p.unit), campaign_id, p.phase, dict(p.actuals), p.note
        )
        made += 1
    return made


def review_figures(data: Plans, review: DemoReview) -> dict[str, int]:
    """What the reports in by the review's day add up to: each count indicator's sum, and how
    many units reported."""
    plan = data.campaign(review.campaign)
    counts = {i.code for i in plan.indicators if i.measure == "count"}
    reports = [
        p
        for p in data.progress
        if p.campaign == review.campaign and p.phase == review.phase and p.on <= review.on
    ]
    figures = {"don-vi-bao-cao": len(reports)}
    for p in reports:
        for code, value in p.actuals.items():
            if code in counts:
                figures[code] = figures.get(code, 0) + value
    return figures


async def _reviews(ctx: DemoContext) -> int:
    made = 0
    for review in ctx.plans.reviews:
        plan = ctx.plans.campaign(review.campaign)
        campaign_id = ctx.campaign_id(review.campaign)
        if await ctx.has(
            "SELECT review IS NOT NULL FROM campaign_phases WHERE campaign_id = $1 AND number = $2",
            campaign_id,
            review.phase,
        ):
            continue
        ctx.clock.on = review.on
        await ctx.campaigns.review_phase(
            ctx.officer(plan.unit),
            campaign_id,
            review.phase,
            review.report,
            review_figures(ctx.plans, review),
        )
        made += 1
    return made


def pledge_rows(data: Plans, people: int) -> list[PledgeRow]:
    """A unit's pledges: everyone for Lao động tiên tiến, one in eight also for Chiến sĩ thi đua
    cơ sở; the collectives of the data (two workshops, the union) for theirs."""
    rows = []
    for n in range(people):
        ref = f"NV{n + 1:04d}"
        name = data.person_name(n)
        rows.append(PledgeRow(len(rows) + 1, "", name, "Lao động tiên tiến", ref))
        if n % 8 == 0:
            rows.append(PledgeRow(len(rows) + 1, "", name, "Chiến sĩ thi đua cơ sở", ref))
    for collective, title in data.pledging.collectives:
        rows.append(PledgeRow(len(rows) + 1, "", collective, title))
    return rows


def staff_list(data: Plans, people: int) -> list[PersonRow]:
    """A unit's staff list, as its officer registers it before the pledges name them: the
    same people and staff numbers as :func:`pledge_rows`."""
    rows = []
    for n in range(people):
        name = data.person_name(n)
        woman = " Thị" in f" {name.split(' ', 1)[1]}"
        particulars = Particulars(
            "female" if woman else "male",
            post="Tổ trưởng" if n % 10 == 0 else "Công nhân",
            direct_worker=n % 10 != 0,
        )
        rows.append(PersonRow(n + 1, f"NV{n + 1:04d}", Personal(name, 1970 + n % 30), particulars))
    return rows


async def _pledges(ctx: DemoContext) -> int:
    """The province's grassroots unions register their staff lists, then record their people's
    pledges under its 2021 campaign, each name sealed with its person's key; what is already
    recorded is left as it is, so a second run writes none."""
    pledging = ctx.plans.pledging
    ctx.clock.on = pledging.on
    people_commands = awards_commands_of(ctx.runtime, ctx.clock)
    written = 0
    for unit, people in pledging.units:
        await register_people(
            people_commands,
            ctx.officer(unit),
            staff_list(ctx.plans, people),
            max_rows=ctx.runtime.settings.max_bulk_rows,
        )
        result = await register_pledges(
            ctx.campaigns,
            ctx.officer(unit),
            ctx.campaign_id(pledging.campaign),
            pledge_rows(ctx.plans, people),
            max_rows=ctx.runtime.settings.max_bulk_rows,
        )
        written += result.written
    return written


async def _works(ctx: DemoContext) -> int:
    made = 0
    ctx.clock.on = ctx.plans.works_on
    for w in ctx.plans.works:
        if await ctx.has(
            "SELECT 1 FROM campaign_works WHERE tenant_id = $1 AND name = $2",
            ctx.unit(w.unit),
            w.name,
        ):
            continue
        await ctx.campaigns.register_work(
            ctx.officer(w.unit),
            ctx.campaign_id(ctx.plans.works_campaign),
            name=w.name,
            kind=w.kind,
            location=w.location,
            value_vnd=w.value_vnd,
            completion_due=w.completion_due,
        )
        made += 1
    return made


async def _initiatives(ctx: DemoContext) -> int:
    """Initiatives of the province's grassroots unions, registered under its 2021 campaign and
    most of them recognised with their benefit: the campaign's computed indicator counts them."""
    data = ctx.plans
    made = 0
    for i in data.initiatives:
        if await ctx.has(
            "SELECT 1 FROM campaign_initiatives WHERE tenant_id = $1 AND title = $2",
            ctx.unit(i.unit),
            i.title,
        ):
            continue
        actor = ctx.officer(i.unit)
        ctx.clock.on = data.initiatives_on
        initiative_id = await ctx.campaigns.register_initiative(
            actor,
            title=i.title,
            authors=[data.person_name(n) for n in i.authors],
            # Its people by their staff numbers, as the staff list has them (staff_list).
            author_staff_numbers=[f"NV{n + 1:04d}" for n in i.authors],
            field=i.field,
            campaign_id=ctx.campaign_id(data.initiatives_campaign),
        )
        if i.benefit_vnd is not None:
            ctx.clock.on = data.recognised_on
            await ctx.campaigns.recognise_initiative(
                actor,
                initiative_id,
                benefit_vnd=i.benefit_vnd,
                applied_at=list(i.applied_at),
                decision=f"Quyết định công nhận sáng kiến của {data.unit_name(i.unit)}",
            )
        made += 1
    return made


STEPS: list[tuple[str, Step]] = [
    ("units", _tree),
    ("campaigns", _campaigns),
    ("registrations", _registrations),
    ("progress", _progress),
    ("reviews", _reviews),
    ("pledges", _pledges),
    ("works", _works),
    ("initiatives", _initiatives),
    ("award decisions", awards_2021),
    ("reporting", reporting_2020_2025),
]

# ----------------------------------------------------------------------------------- summary


@dataclass(frozen=True, slots=True)
class CampaignLine:
    name: str
    unit_id: str
    unit_name: str
    kind: str
    status: str
    launched_on: date | None
    carries_out: str | None  # the name of the unit whose campaign this one carries out
    phases: tuple[tuple[str, date, date], ...]
    indicators: int
    registrations: Mapping[str, int]  # of the unit's direct children: on_time, late, not_yet, …


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What the demo holds after loading, and what this run wrote (step name → count)."""

    written: Mapping[str, int]
    units: Mapping[str, int]  # level → count
    campaigns: tuple[CampaignLine, ...]
    registrations: Mapping[str, int]  # on_time, late, not_yet, withdrawn: over all campaigns
    progress_reports: int  # (unit, campaign, phase) with reported actuals
    progress_late: int
    reviews: int  # phases reviewed (sơ kết)
    pledges: int  # standing pledges in the demo's units
    works: int
    initiatives: tuple[int, int, int]  # registered, recognised, benefit (VND)
    province: str
    grassroots: str
    awards: tuple[int, int, int] = (0, 0, 0)  # decisions, standing recipients, revoked
    upper: str = ""  # the upper-level union whose approver and council act in the awards

    @property
    def unit_count(self) -> int:
        return sum(self.units.values())

    @property
    def fresh(self) -> bool:
        """Whether this run wrote anything."""
        return any(self.written.values())


async def load_demo(runtime: Runtime, *, prefix: str = "") -> DemoSummary:
    """Load the demo into the runtime's database (``prefix`` before every unit id: tests load it
    beside other data) and say what it holds."""
    ctx = demo_context(runtime, prefix)
    written = {name: await step(ctx) for name, step in STEPS}
    return await summarize(ctx, written)


REGISTRATION_STATUSES = ("on_time", "late", "not_yet", "withdrawn")


async def summarize(ctx: DemoContext, written: Mapping[str, int]) -> DemoSummary:
    ids = [ctx.unit(u.id) for u in ctx.plans.units]
    campaign_ids = list(ctx.campaign_ids.values())
    async with ctx.reading() as conn:
        levels = await conn.fetch(
            "SELECT level, count(*) AS n FROM units WHERE tenant_id = ANY($1::text[]) GROUP BY level",
            ids,
        )
        campaigns = await conn.fetch(
            "SELECT c.campaign_id, c.name, c.tenant_id, u.name AS unit_name, c.kind, c.status, "
            "c.launched_on, p.name AS parent_unit, c.period_start, "
            "(SELECT count(*) FROM campaign_indicators i WHERE i.campaign_id = c.campaign_id) "
            "AS indicators FROM campaigns c JOIN units u ON u.tenant_id = c.tenant_id "
            "LEFT JOIN units p ON p.tenant_id = c.parent_unit "
            "WHERE c.campaign_id = ANY($1::uuid[]) ORDER BY c.period_start DESC, c.tenant_id",
            campaign_ids,
        )
        lines = [await campaign_line(conn, row) for row in campaigns]
        progress = await conn.fetchrow(
            "SELECT count(*) AS n, count(*) FILTER (WHERE late) AS late FROM ("
            "SELECT tenant_id, campaign_id, phase, bool_or(late) AS late FROM campaign_progress "
            "WHERE campaign_id = ANY($1::uuid[]) GROUP BY 1, 2, 3) p",
            campaign_ids,
        )
        reviews = await conn.fetchval(
            "SELECT count(*) FROM campaign_phases WHERE campaign_id = ANY($1::uuid[]) "
            "AND review IS NOT NULL",
            campaign_ids,
        )
        records = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM campaign_pledges WHERE tenant_id = ANY($1::text[]) "
            "AND status = 'registered') AS pledges, "
            "(SELECT count(*) FROM campaign_works WHERE tenant_id = ANY($1::text[])) AS works, "
            "(SELECT count(*) FROM campaign_initiatives WHERE tenant_id = ANY($1::text[])) "
            "AS initiatives, (SELECT count(recognised_on) FROM campaign_initiatives "
            "WHERE tenant_id = ANY($1::text[])) AS recognised, (SELECT coalesce(sum(benefit_vnd), "
            "0)::bigint FROM campaign_initiatives WHERE tenant_id = ANY($1::text[])) AS benefit",
            ids,
        )
        awards = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM decisions WHERE tenant_id = ANY($1::text[])) AS decisions, "
            "(SELECT count(*) FROM decision_recipients WHERE tenant_id = ANY($1::text[]) "
            "AND revoked_on IS NULL) AS recipients, (SELECT count(*) FROM decision_recipients "
            "WHERE tenant_id = ANY($1::text[]) AND revoked_on IS NOT NULL) AS revoked",
            ids,
        )
    totals = {s: sum(line.registrations.get(s, 0) for line in lines) for s in REGISTRATION_STATUSES}
    return DemoSummary(
        written=dict(written),
        units={r["level"]: r["n"] for r in levels},
        campaigns=tuple(lines),
        registrations=totals,
        progress_reports=progress["n"],
        progress_late=progress["late"],
        reviews=reviews,
        pledges=records["pledges"],
        works=records["works"],
        initiatives=(records["initiatives"], records["recognised"], records["benefit"]),
        province=ctx.unit(PROVINCE),
        grassroots=ctx.unit(GRASSROOTS),
        awards=(awards["decisions"], awards["recipients"], awards["revoked"]),
        upper=ctx.unit(UPPER_UNIT),
    )


async def campaign_line(conn: asyncpg.Connection, row: asyncpg.Record) -> CampaignLine:
    """A campaign row of ``summarize``'s query, with its phases and its launching unit's direct
    children's registrations."""
    phases = await conn.fetch(
        "SELECT name, starts, ends FROM campaign_phases WHERE campaign_id = $1 ORDER BY number",
        row["campaign_id"],
    )
    children = await conn.fetch(
        "SELECT r.status, r.late FROM units u LEFT JOIN campaign_registrations r "
        "ON r.campaign_id = $1 AND r.tenant_id = u.tenant_id "
        "WHERE u.parent_id = $2 AND u.status = 'active'",
        row["campaign_id"],
        row["tenant_id"],
    )
    registrations = dict.fromkeys(REGISTRATION_STATUSES, 0)
    for child in children:
        registrations[registration_standing(child["status"], child["late"])] += 1
    return CampaignLine(
        name=row["name"],
        unit_id=row["tenant_id"],
        unit_name=row["unit_name"],
        kind=row["kind"],
        status=row["status"],
        launched_on=row["launched_on"],
        carries_out=row["parent_unit"],
        phases=tuple((p["name"], p["starts"], p["ends"]) for p in phases),
        indicators=row["indicators"],
        registrations=registrations,
    )
