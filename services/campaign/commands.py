"""The campaign commands: plan, launch, amend, review and conclude a campaign; register for an
ancestor's campaign; report progress; register works and initiatives, recognise initiatives,
withdraw pledges (bulk pledging is services/campaign/bulk.py).

Each runs in one transaction scoped to the caller's unit (row-level security): it checks access
and the rules, appends the events to the caller's own log, and projects them before committing.
A refused command writes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
import orjson
from eventsourcing.domain import Aggregate

from services.campaign import projections
from services.campaign.domain import (
    CONCLUDED,
    DRAFT,
    AlreadyRegistered,
    Campaign,
    CampaignConcludedError,
    CampaignFacts,
    Initiative,
    Pledge,
    Progress,
    Registration,
    Work,
    progress_id,
    registration_id,
)
from shared import access
from shared.aggregates import Repository
from shared.auth import Principal
from shared.clock import today
from shared.errors import NotFound
from shared.eventstore import read_appended
from shared.text import clean, clean_paragraphs

WRITERS = frozenset({"officer", "admin"})


def require_officer(actor: Principal) -> None:
    if not actor.roles & WRITERS:
        raise access.Forbidden("Cần vai trò cán bộ thi đua (officer).")


def cleaned_list(values: list[str]) -> list[str]:
    return [c for c in (clean(v) for v in values) if c]


PARAGRAPHS = frozenset({"objectives", "scope", "description"})


def _cleaned(key: str, value: Any) -> Any:
    if isinstance(value, str):
        return clean_paragraphs(value) if key in PARAGRAPHS else clean(value)
    if isinstance(value, list):
        return cleaned_list(value)
    return value


def commands_of(runtime: Any) -> CampaignCommands:
    """The campaign commands of a running Thi đua (services.gateway.runtime.Runtime: its pool and
    its repositories), as GraphQL and the REST uploads use them."""
    return CampaignCommands(runtime.pool, runtime.repository(projections.build_registry()))


class CampaignCommands:
    def __init__(
        self, pool: asyncpg.Pool, repository: Repository, clock: Callable[[], date] = today
    ) -> None:
        self.pool = pool
        self.repository = repository
        self.store = repository.store
        self.clock = clock

    @asynccontextmanager
    async def writing(self, actor: Principal) -> AsyncIterator[tuple[asyncpg.Connection, list]]:
        require_officer(actor)
        written: list[tuple[str, int]] = []
        async with access.scope(self.pool, actor) as conn:
            await access.require_active_unit(conn, actor)
            yield conn, written
        for tenant_id, seq in written:
            self.store.announce(tenant_id, seq)

    async def _save(
        self,
        conn: asyncpg.Connection,
        written: list,
        actor: Principal,
        command: str,
        aggregate: Aggregate,
    ) -> None:
        meta = access.command_meta(actor, command)
        appended = await self.repository.save(actor.tenant, aggregate, meta=meta, connection=conn)
        stored = await read_appended(conn, actor.tenant, appended.seqs)
        await projections.apply(conn, self.repository.registry, stored)
        written.append((actor.tenant, appended.last_seq))

    async def _own(self, conn: asyncpg.Connection, actor: Principal, campaign_id: UUID):
        """The caller's own campaign; another unit's that it can see is Forbidden, any other
        NotFound."""
        owner = await conn.fetchval(
            "SELECT tenant_id FROM campaigns WHERE campaign_id = $1", campaign_id
        )
        if owner is None:
            raise NotFound(str(campaign_id), id=str(campaign_id))
        if owner != actor.tenant:
            raise access.Forbidden("Chỉ đơn vị phát động được thay đổi phong trào của mình.")
        campaign = await self.repository.get(actor.tenant, campaign_id, connection=conn)
        assert isinstance(campaign, Campaign)
        return campaign

    # --- the launching unit -----------------------------------------------------------------

    async def create(
        self,
        actor: Principal,
        *,
        name: str,
        kind: str,
        period_start: date,
        period_end: date,
        theme: str = "",
        objectives: str = "",
        scope: str = "",
        participants: str = "workers",
        contents: list[str] | None = None,
        measures: list[str] | None = None,
        registration_due: date | None = None,
        report_days: int | None = None,
        min_contents: int = 1,
        parent_campaign: UUID | None = None,
    ) -> UUID:
        async with self.writing(actor) as (conn, written):
            parent_unit = None
            if parent_campaign is not None:
                parent_unit = await self._ancestor_campaign(conn, actor, parent_campaign)
            campaign = Campaign.create(
                unit_id=actor.tenant,
                name=clean(name),
                theme=clean(theme),
                objectives=clean_paragraphs(objectives),
                scope=clean_paragraphs(scope),
                participants=participants,
                contents=cleaned_list(contents or []),
                measures=cleaned_list(measures or []),
                kind=kind,
                period_start=period_start,
                period_end=period_end,
                registration_due=registration_due,
                report_days=report_days,
                min_contents=min_contents,
                parent_unit=parent_unit,
                parent_campaign=parent_campaign,
            )
            await self._save(conn, written, actor, "CreateCampaign", campaign)
            return campaign.id

    async def _ancestor_campaign(
        self, conn: asyncpg.Connection, actor: Principal, campaign_id: UUID
    ) -> str:
        """The unit of a launched campaign of one of the caller's ancestors (cụ thể hóa). One's
        own, one of a unit below or beside, and an ancestor's draft are not there to carry out:
        not found, as the caller either cannot see them or must not build on them."""
        row = await conn.fetchrow(
            "SELECT tenant_id, status, tenant_id <> $2 AND thidua_below(tenant_id) AS above "
            "FROM campaigns WHERE campaign_id = $1",
            campaign_id,
            actor.tenant,
        )
        if row is None or not row["above"] or row["status"] == DRAFT:
            raise NotFound(str(campaign_id), id=str(campaign_id))
        if row["status"] == CONCLUDED:
            raise CampaignConcludedError("Không cụ thể hóa một phong trào đã tổng kết.")
        return row["tenant_id"]

    async def add_phase(
        self, actor: Principal, campaign_id: UUID, *, name: str, starts: date, ends: date
    ) -> int:
        async with self.writing(actor) as (conn, written):
            campaign = await self._own(conn, actor, campaign_id)
            number = campaign.add_phase(clean(name), starts, ends)
            await self._save(conn, written, actor, "AddPhase", campaign)
            return number

    async def add_indicator(self, actor: Principal, campaign_id: UUID, **indicator: Any) -> None:
        indicator["name"] = clean(indicator["name"])
        async with self.writing(actor) as (conn, written):
            campaign = await self._own(conn, actor, campaign_id)
            campaign.add_indicator(**indicator)
            await self._save(conn, written, actor, "AddIndicator", campaign)

    async def launch(self, actor: Principal, campaign_id: UUID) -> None:
        async with self.writing(actor) as (conn, written):
            campaign = await self._own(conn, actor, campaign_id)
            campaign.launch(self.clock())
            await self._save(conn, written, actor, "LaunchCampaign", campaign)

    async def amend(
        self, actor: Principal, campaign_id: UUID, changes: Mapping[str, Any], reason: str
    ) -> None:
        changes = {key: _cleaned(key, value) for key, value in changes.items()}
        async with self.writing(actor) as (conn, written):
            campaign = await self._own(conn, actor, campaign_id)
            campaign.amend(changes, clean(reason))
            await self._save(conn, written, actor, "AmendCampaign", campaign)

    async def amend_target(
        self, actor: Principal, campaign_id: UUID, code: str, target: int, reason: str
    ) -> None:
        async with self.writing(actor) as (conn, written):
            campaign = await self._own(conn, actor, campaign_id)
            campaign.amend_target(code, target, clean(reason))
            await self._save(conn, written, actor, "AmendIndicatorTarget", campaign)

    async def review_phase(
        self,
        actor: Principal,
        campaign_id: UUID,
        number: int,
        report: str,
        figures: Mapping[str, int],
    ) -> None:
        async with self.writing(actor) as (conn, written):
            campaign = await self._own(conn, actor, campaign_id)
            figures = {clean(k): v for k, v in figures.items()}
            campaign.review_phase(number, clean_paragraphs(report), figures, self.clock())
            await self._save(conn, written, actor, "ReviewPhase", campaign)

    async def conclude(
        self, actor: Principal, campaign_id: UUID, report: str, figures: Mapping[str, int]
    ) -> None:
        async with self.writing(actor) as (conn, written):
            campaign = await self._own(conn, actor, campaign_id)
            figures = {clean(k): v for k, v in figures.items()}
            campaign.conclude(clean_paragraphs(report), figures, self.clock())
            await self._save(conn, written, actor, "ConcludeCampaign", campaign)

    # --- units below it ----------------------------------------------------------------------

    async def campaign_facts(
        self, conn: asyncpg.Connection, actor: Principal, campaign_id: UUID, *, own: bool
    ) -> CampaignFacts:
        """A campaign the caller acts under, as a registering or reporting unit needs it: a
        launched campaign of a unit above, or (``own``) one of the caller's own. A campaign of a
        unit below, or out of reach, is not found."""
        row = await conn.fetchrow(
            "SELECT tenant_id, status, registration_due, report_days, min_contents, "
            "contents::text AS contents, tenant_id <> $2 AND thidua_below(tenant_id) AS above "
            "FROM campaigns WHERE campaign_id = $1",
            campaign_id,
            actor.tenant,
        )
        if row is None or not (row["above"] or (own and row["tenant_id"] == actor.tenant)):
            raise NotFound(str(campaign_id), id=str(campaign_id))
        indicators = await conn.fetch(
            "SELECT code, measure FROM campaign_indicators WHERE campaign_id = $1", campaign_id
        )
        phases = await conn.fetch(
            "SELECT number, ends FROM campaign_phases WHERE campaign_id = $1", campaign_id
        )
        return CampaignFacts(
            campaign_id=campaign_id,
            unit_id=row["tenant_id"],
            status=row["status"],
            registration_due=row["registration_due"],
            report_days=row["report_days"],
            min_contents=row["min_contents"],
            indicators={r["code"]: r["measure"] for r in indicators},
            phases={r["number"]: r["ends"] for r in phases},
            contents=tuple(orjson.loads(row["contents"])),
        )

    async def register(
        self,
        actor: Principal,
        campaign_id: UUID,
        *,
        plan: str = "",
        contents: list[str],
        own_contents: list[str] | None = None,
        targets: Mapping[str, int] | None = None,
        late: bool = False,
    ) -> None:
        """Register with a launched campaign of a unit above: ``contents`` picked from the
        campaign's, ``own_contents`` built by the unit itself."""
        async with self.writing(actor) as (conn, written):
            facts = await self.campaign_facts(
                conn, actor, campaign_id, own=False
            )  # one registers upward
            if await conn.fetchval(
                "SELECT 1 FROM campaign_registrations WHERE tenant_id = $1 AND campaign_id = $2",
                actor.tenant,
                campaign_id,
            ):
                raise AlreadyRegistered()
            registration = Registration.submit(
                facts,
                unit_id=actor.tenant,
                plan=clean_paragraphs(plan),
                contents=cleaned_list(contents),
                own_contents=cleaned_list(own_contents or []),
                targets=dict(targets or {}),
                on=self.clock(),
                late=late,
            )
            await self._save(conn, written, actor, "RegisterForCampaign", registration)

    async def _registration(
        self, conn: asyncpg.Connection, actor: Principal, campaign_id: UUID
    ) -> Registration:
        registration = await self.repository.get(
            actor.tenant, registration_id(campaign_id, actor.tenant), connection=conn
        )
        assert isinstance(registration, Registration)
        return registration

    async def amend_registration(
        self,
        actor: Principal,
        campaign_id: UUID,
        *,
        plan: str,
        contents: list[str],
        own_contents: list[str] | None = None,
        targets: Mapping[str, int],
        reason: str,
    ) -> None:
        async with self.writing(actor) as (conn, written):
            facts = await self.campaign_facts(conn, actor, campaign_id, own=False)
            registration = await self._registration(conn, actor, campaign_id)
            registration.amend(
                facts,
                plan=clean_paragraphs(plan),
                contents=cleaned_list(contents),
                own_contents=cleaned_list(own_contents or []),
                targets=dict(targets),
                reason=clean(reason),
            )
            await self._save(conn, written, actor, "AmendRegistration", registration)

    async def withdraw_registration(self, actor: Principal, campaign_id: UUID, reason: str):
        async with self.writing(actor) as (conn, written):
            await self.campaign_facts(conn, actor, campaign_id, own=False)
            registration = await self._registration(conn, actor, campaign_id)
            registration.withdraw(clean(reason))
            await self._save(conn, written, actor, "WithdrawRegistration", registration)

    async def report_progress(
        self,
        actor: Principal,
        campaign_id: UUID,
        phase: int,
        actuals: Mapping[str, int],
        note: str = "",
    ) -> bool:
        """Report indicator actuals for a phase (the launching unit too, for its own); whether
        the report is late."""
        async with self.writing(actor) as (conn, written):
            facts = await self.campaign_facts(conn, actor, campaign_id, own=True)
            try:
                progress = await self.repository.get(
                    actor.tenant, progress_id(campaign_id, actor.tenant, phase), connection=conn
                )
            except NotFound:
                progress = Progress(
                    campaign_id=campaign_id,
                    unit_id=actor.tenant,
                    phase=phase,
                    campaign_unit=facts.unit_id,
                )
            assert isinstance(progress, Progress)
            progress.report(facts, dict(actuals), clean_paragraphs(note), self.clock())
            await self._save(conn, written, actor, "ReportProgress", progress)
            return progress.late

    # --- pledges, works and initiatives -------------------------------------------------------

    async def _mine(self, conn: asyncpg.Connection, actor: Principal, table: str, key: str, id_):
        """An aggregate of the caller's own unit, known to the read model ``table``: else
        NotFound (another unit's, even one the caller may read, is not the caller's to change)."""
        found = await conn.fetchval(
            f"SELECT 1 FROM {table} WHERE tenant_id = $1 AND {key} = $2", actor.tenant, id_
        )
        if not found:
            raise NotFound(str(id_), id=str(id_))
        return await self.repository.get(actor.tenant, id_, connection=conn)

    async def withdraw_pledge(self, actor: Principal, pledge_id: UUID, reason: str) -> None:
        async with self.writing(actor) as (conn, written):
            pledge = await self._mine(conn, actor, "campaign_pledges", "pledge_id", pledge_id)
            assert isinstance(pledge, Pledge)
            pledge.withdraw(clean(reason))
            await self._save(conn, written, actor, "WithdrawPledge", pledge)

    async def register_work(
        self,
        actor: Principal,
        campaign_id: UUID,
        *,
        name: str,
        kind: str = "work",
        description: str = "",
        location: str = "",
        value_vnd: int | None = None,
        completion_due: date | None = None,
    ) -> UUID:
        async with self.writing(actor) as (conn, written):
            facts = await self.campaign_facts(conn, actor, campaign_id, own=True)
            work = Work.register(
                facts,
                unit_id=actor.tenant,
                on=self.clock(),
                name=clean(name),
                kind=kind,
                description=clean_paragraphs(description),
                location=clean(location),
                value_vnd=value_vnd,
                completion_due=completion_due,
            )
            await self._save(conn, written, actor, "RegisterWork", work)
            return work.id

    async def amend_work(
        self, actor: Principal, work_id: UUID, changes: Mapping[str, Any], reason: str
    ) -> None:
        changes = {key: _cleaned(key, value) for key, value in changes.items()}
        async with self.writing(actor) as (conn, written):
            work = await self._mine(conn, actor, "campaign_works", "work_id", work_id)
            assert isinstance(work, Work)
            work.amend(changes, clean(reason))
            await self._save(conn, written, actor, "AmendWork", work)

    async def withdraw_work(self, actor: Principal, work_id: UUID, reason: str) -> None:
        async with self.writing(actor) as (conn, written):
            work = await self._mine(conn, actor, "campaign_works", "work_id", work_id)
            assert isinstance(work, Work)
            work.withdraw(clean(reason))
            await self._save(conn, written, actor, "WithdrawWork", work)

    async def register_initiative(
        self,
        actor: Principal,
        *,
        title: str,
        authors: list[str],
        field: str = "",
        description: str = "",
        campaign_id: UUID | None = None,
    ) -> UUID:
        async with self.writing(actor) as (conn, written):
            facts = None
            if campaign_id is not None:
                facts = await self.campaign_facts(conn, actor, campaign_id, own=True)
            initiative = Initiative.register(
                facts,
                unit_id=actor.tenant,
                title=clean(title),
                authors=cleaned_list(authors),
                field=clean(field),
                description=clean_paragraphs(description),
                on=self.clock(),
            )
            await self._save(conn, written, actor, "RegisterInitiative", initiative)
            return initiative.id

    async def _initiative(self, conn, actor: Principal, initiative_id: UUID) -> Initiative:
        initiative = await self._mine(
            conn, actor, "campaign_initiatives", "initiative_id", initiative_id
        )
        assert isinstance(initiative, Initiative)
        return initiative

    async def recognise_initiative(
        self,
        actor: Principal,
        initiative_id: UUID,
        *,
        benefit_vnd: int,
        applied_at: list[str],
        decision: str = "",
    ) -> None:
        async with self.writing(actor) as (conn, written):
            initiative = await self._initiative(conn, actor, initiative_id)
            initiative.recognise(
                benefit_vnd=benefit_vnd,
                applied_at=cleaned_list(applied_at),
                decision=clean(decision),
                on=self.clock(),
            )
            await self._save(conn, written, actor, "RecogniseInitiative", initiative)

    async def amend_recognition(
        self,
        actor: Principal,
        initiative_id: UUID,
        *,
        benefit_vnd: int,
        applied_at: list[str],
        reason: str,
    ) -> None:
        async with self.writing(actor) as (conn, written):
            initiative = await self._initiative(conn, actor, initiative_id)
            initiative.amend_recognition(
                benefit_vnd=benefit_vnd, applied_at=cleaned_list(applied_at), reason=clean(reason)
            )
            await self._save(conn, written, actor, "AmendInitiativeRecognition", initiative)

    async def withdraw_initiative(self, actor: Principal, initiative_id: UUID, reason: str) -> None:
        async with self.writing(actor) as (conn, written):
            initiative = await self._initiative(conn, actor, initiative_id)
            initiative.withdraw(clean(reason))
            await self._save(conn, written, actor, "WithdrawInitiative", initiative)
