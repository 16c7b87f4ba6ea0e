"""The campaign commands: plan, launch, amend, review and conclude a campaign; register for an
ancestor's campaign; report progress; register works and initiatives, recognise initiatives,
withdraw pledges (bulk pledging is services/campaign/bulk.py).

Each runs through the command pipeline (shared/commands.py): an officer of an active unit, the
rules decided on one connection scoped to the caller (row-level security), the events appended
to the caller's own log through the group commit, and the answer given once the projection
runner shows them. A refused command writes nothing. A decision that reads another unit's
campaign (a registration, a report, a work under it) guards that campaign's stream at the
version it read: a conclusion or an amendment that lands first sends the decision round again,
on fresh facts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
import orjson
from eventsourcing.domain import Aggregate

from services.campaign.domain import (
    CONCLUDED,
    DRAFT,
    AlreadyRegistered,
    Campaign,
    CampaignConcludedError,
    CampaignFacts,
    Initiative,
    InitiativeInvalid,
    Pledge,
    Progress,
    Registration,
    SealedName,
    Work,
    check_initiative,
    progress_id,
    registration_id,
)
from services.campaign.projections import build_registry
from shared import access
from shared.auth import Principal
from shared.clock import today
from shared.commands import Attempt, Commands, Decide, R
from shared.errors import DomainError, NotFound
from shared.personal import Named, People, seal_name
from shared.text import clean, clean_paragraphs

WRITERS = frozenset({"officer", "admin"})


def require_officer(actor: Principal) -> None:
    if not actor.roles & WRITERS:
        raise access.Forbidden("Cần vai trò cán bộ thi đua (officer).")


async def authorise(conn: asyncpg.Connection, actor: Principal | None) -> None:
    """Every campaign command: an officer of a unit that is in the registry and active."""
    if actor is None:
        raise access.Forbidden("Cần vai trò cán bộ thi đua (officer).")
    require_officer(actor)
    await access.require_active_unit(conn, actor)


def cleaned_list(values: list[str]) -> list[str]:
    return [c for c in (clean(v) for v in values) if c]


PARAGRAPHS = frozenset({"objectives", "scope", "description"})


def _cleaned(key: str, value: Any) -> Any:
    if isinstance(value, str):
        return clean_paragraphs(value) if key in PARAGRAPHS else clean(value)
    if isinstance(value, list):
        return cleaned_list(value)
    return value


def _given(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """A command's input as an idempotency key's fingerprint sees it: its arguments but the
    caller (the fingerprint names it) and the key itself."""
    return {
        k: dict(v) if isinstance(v, Mapping) else v
        for k, v in arguments.items()
        if k not in {"self", "actor", "idempotency_key"}
    }


MAX_AUTHORS = 50  # check_initiative's bound: more numbers than that are not even read


def commands_of(runtime: Any, clock: Callable[[], date] = today) -> CampaignCommands:
    """The campaign commands of a running Thi đua, built from its one command pipeline
    (services.gateway.runtime.Runtime.pipeline), as GraphQL, the REST uploads and the demo use
    them."""
    return CampaignCommands(
        runtime.pipeline.service(build_registry(), authorise=authorise), runtime.people, clock
    )


class CampaignCommands:
    def __init__(
        self, commands: Commands, people: People, clock: Callable[[], date] = today
    ) -> None:
        self.commands = commands
        self.pipeline = commands.pipeline
        self.repository = commands.repository
        self.store = commands.store
        self.people = people  # who a name belongs to: its key seals it (shared/personal.py)
        self.clock = clock

    def settle(self, conn: asyncpg.Connection, tenant: str) -> Callable[[], Awaitable[None]]:
        """The projections brought up to the head of ``tenant``'s log as ``conn`` now sees it
        (what a command that held the same lock before it committed)."""

        async def settled() -> None:
            head = await self.store.head(tenant, connection=conn)
            await self.pipeline.caught_up(tenant, head.seq)

        return settled

    async def sealed_names(
        self, attempt: Attempt, named: Sequence[Named], field: str, number_field: str
    ) -> list[SealedName]:
        """Each name sealed with the key of the person it names, the people made for names no
        one holds appended with the decision's events; a name refused (an erased person's) is
        refused naming ``field``, a staff number refused naming ``number_field``."""
        holders = await self.people.holders(
            attempt.conn,
            attempt.tenant_id,
            named,
            self.clock(),
            self.settle(attempt.conn, attempt.tenant_id),
        )
        sealed = []
        for given, found in zip(named, holders.found, strict=True):
            if isinstance(found, DomainError):
                by_number = found.context.get("field") == "staffNumber"
                found.context["field"] = number_field if by_number else field
                raise found
            sealed.append(SealedName(found.person_id, found.key_id, seal_name(found, given.name)))
        attempt.add_made(holders.made)
        return sealed

    async def _run(
        self,
        actor: Principal,
        command: str,
        decide: Decide[R],
        idempotency_key: str | None,
        given: Mapping[str, Any],
    ) -> R:
        return await self.commands.run(
            actor, command, decide, idempotency_key=idempotency_key, input=given
        )

    async def _own(self, attempt: Attempt, campaign_id: UUID) -> Campaign:
        """The caller's own campaign, from its log; another unit's that it can see is
        Forbidden, any other NotFound."""
        try:
            campaign = await attempt.get(campaign_id)
        except NotFound:
            campaign = None
        if isinstance(campaign, Campaign):
            return campaign
        owner = await attempt.conn.fetchval(
            "SELECT tenant_id FROM campaigns WHERE campaign_id = $1", campaign_id
        )
        if owner is not None and owner != attempt.tenant_id:
            raise access.Forbidden("Chỉ đơn vị phát động được thay đổi phong trào của mình.")
        raise NotFound(str(campaign_id), id=str(campaign_id))

    async def _change(
        self,
        actor: Principal,
        command: str,
        campaign_id: UUID,
        change: Callable[[Campaign], Any],
        idempotency_key: str | None,
        given: Mapping[str, Any],
    ) -> Any:
        """A command of the launching unit on its own campaign: ``change`` decides."""

        async def decide(attempt: Attempt) -> Any:
            campaign = await self._own(attempt, campaign_id)
            answer = change(campaign)
            attempt.save(campaign)
            return answer

        return await self._run(actor, command, decide, idempotency_key, given)

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
        idempotency_key: str | None = None,
    ) -> UUID:
        given = _given(locals())

        async def decide(attempt: Attempt) -> UUID:
            parent_unit = None
            if parent_campaign is not None:
                parent_unit = await self._ancestor_campaign(attempt, parent_campaign)
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
            attempt.save(campaign)
            return campaign.id

        return await self._run(actor, "CreateCampaign", decide, idempotency_key, given)

    async def _ancestor_campaign(self, attempt: Attempt, campaign_id: UUID) -> str:
        """The unit of a launched campaign of one of the caller's ancestors (cụ thể hóa),
        guarded at the version read. One's own, one of a unit below or beside, and an
        ancestor's draft are not there to carry out: not found, as the caller either cannot see
        them or must not build on them."""
        row = await attempt.conn.fetchrow(
            "SELECT tenant_id, status, version, tenant_id <> $2 AND thidua_below(tenant_id) AS above "
            "FROM campaigns WHERE campaign_id = $1",
            campaign_id,
            attempt.tenant_id,
        )
        if row is None or not row["above"] or row["status"] == DRAFT:
            raise NotFound(str(campaign_id), id=str(campaign_id))
        if row["status"] == CONCLUDED:
            raise CampaignConcludedError("Không cụ thể hóa một phong trào đã tổng kết.")
        attempt.guard(row["tenant_id"], campaign_id, row["version"])
        return row["tenant_id"]

    async def add_phase(
        self,
        actor: Principal,
        campaign_id: UUID,
        *,
        name: str,
        starts: date,
        ends: date,
        idempotency_key: str | None = None,
    ) -> int:
        given = _given(locals())
        return await self._change(
            actor,
            "AddPhase",
            campaign_id,
            lambda c: c.add_phase(clean(name), starts, ends),
            idempotency_key,
            given,
        )

    async def add_indicator(
        self,
        actor: Principal,
        campaign_id: UUID,
        idempotency_key: str | None = None,
        **indicator: Any,
    ) -> None:
        given = {"campaign_id": campaign_id, **indicator}
        indicator["name"] = clean(indicator["name"])
        await self._change(
            actor,
            "AddIndicator",
            campaign_id,
            lambda c: c.add_indicator(**indicator),
            idempotency_key,
            given,
        )

    async def launch(
        self, actor: Principal, campaign_id: UUID, idempotency_key: str | None = None
    ) -> None:
        given = _given(locals())
        today_ = self.clock()
        await self._change(
            actor, "LaunchCampaign", campaign_id, lambda c: c.launch(today_), idempotency_key, given
        )

    async def amend(
        self,
        actor: Principal,
        campaign_id: UUID,
        changes: Mapping[str, Any],
        reason: str,
        idempotency_key: str | None = None,
    ) -> None:
        given = _given(locals())
        changes = {key: _cleaned(key, value) for key, value in changes.items()}
        await self._change(
            actor,
            "AmendCampaign",
            campaign_id,
            lambda c: c.amend(changes, clean(reason)),
            idempotency_key,
            given,
        )

    async def amend_target(
        self,
        actor: Principal,
        campaign_id: UUID,
        code: str,
        target: int,
        reason: str,
        idempotency_key: str | None = None,
    ) -> None:
        given = _given(locals())
        await self._change(
            actor,
            "AmendIndicatorTarget",
            campaign_id,
            lambda c: c.amend_target(code, target, clean(reason)),
            idempotency_key,
            given,
        )

    async def review_phase(
        self,
        actor: Principal,
        campaign_id: UUID,
        number: int,
        report: str,
        figures: Mapping[str, int],
        idempotency_key: str | None = None,
    ) -> None:
        given = _given(locals())
        cleaned = {clean(k): v for k, v in figures.items()}
        on = self.clock()
        await self._change(
            actor,
            "ReviewPhase",
            campaign_id,
            lambda c: c.review_phase(number, clean_paragraphs(report), cleaned, on),
            idempotency_key,
            given,
        )

    async def conclude(
        self,
        actor: Principal,
        campaign_id: UUID,
        report: str,
        figures: Mapping[str, int],
        idempotency_key: str | None = None,
    ) -> None:
        given = _given(locals())
        cleaned = {clean(k): v for k, v in figures.items()}
        on = self.clock()
        await self._change(
            actor,
            "ConcludeCampaign",
            campaign_id,
            lambda c: c.conclude(clean_paragraphs(report), cleaned, on),
            idempotency_key,
            given,
        )

    # --- units below it ----------------------------------------------------------------------

    async def campaign_facts(
        self, conn: asyncpg.Connection, actor: Principal, campaign_id: UUID, *, own: bool
    ) -> CampaignFacts:
        """A campaign the caller acts under, as a registering or reporting unit needs it: a
        launched campaign of a unit above, or (``own``) one of the caller's own. A campaign of a
        unit below, or out of reach, is not found. ``version`` is the stream version the read
        model shows: guard it (:meth:`_facts`)."""
        row = await conn.fetchrow(
            "SELECT tenant_id, status, registration_due, report_days, min_contents, version, "
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
            version=row["version"],
        )

    async def _facts(self, attempt: Attempt, campaign_id: UUID, *, own: bool) -> CampaignFacts:
        """The campaign's facts, the decision's append guarded on the version they show."""
        assert attempt.actor is not None
        facts = await self.campaign_facts(attempt.conn, attempt.actor, campaign_id, own=own)
        attempt.guard(facts.unit_id, campaign_id, facts.version)
        return facts

    async def _load(self, attempt: Attempt, kind: type[Aggregate], aggregate_id: UUID) -> Any:
        """An aggregate of the caller's own log, of this kind: else NotFound (another unit's,
        even one the caller may read, is not the caller's to change)."""
        found = await attempt.get(aggregate_id)
        if not isinstance(found, kind):
            raise NotFound(str(aggregate_id), id=str(aggregate_id))
        return found

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
        idempotency_key: str | None = None,
    ) -> None:
        """Register with a launched campaign of a unit above: ``contents`` picked from the
        campaign's, ``own_contents`` built by the unit itself."""
        given = _given(locals())

        async def decide(attempt: Attempt) -> None:
            facts = await self._facts(attempt, campaign_id, own=False)  # one registers upward
            # From the log, not a read model that may lag: the registration's id is the unit's
            # and the campaign's, so a second one is this very stream.
            try:
                await attempt.get(registration_id(campaign_id, actor.tenant))
            except NotFound:
                pass
            else:
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
            attempt.save(registration)

        await self._run(actor, "RegisterForCampaign", decide, idempotency_key, given)

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
        idempotency_key: str | None = None,
    ) -> None:
        given = _given(locals())

        async def decide(attempt: Attempt) -> None:
            facts = await self._facts(attempt, campaign_id, own=False)
            registration = await self._load(
                attempt, Registration, registration_id(campaign_id, actor.tenant)
            )
            registration.amend(
                facts,
                plan=clean_paragraphs(plan),
                contents=cleaned_list(contents),
                own_contents=cleaned_list(own_contents or []),
                targets=dict(targets),
                reason=clean(reason),
            )
            attempt.save(registration)

        await self._run(actor, "AmendRegistration", decide, idempotency_key, given)

    async def withdraw_registration(
        self,
        actor: Principal,
        campaign_id: UUID,
        reason: str,
        idempotency_key: str | None = None,
    ) -> None:
        given = _given(locals())

        async def decide(attempt: Attempt) -> None:
            await self._facts(attempt, campaign_id, own=False)
            registration = await self._load(
                attempt, Registration, registration_id(campaign_id, actor.tenant)
            )
            registration.withdraw(clean(reason))
            attempt.save(registration)

        await self._run(actor, "WithdrawRegistration", decide, idempotency_key, given)

    async def report_progress(
        self,
        actor: Principal,
        campaign_id: UUID,
        phase: int,
        actuals: Mapping[str, int],
        note: str = "",
        idempotency_key: str | None = None,
    ) -> bool:
        """Report indicator actuals for a phase (the launching unit too, for its own); whether
        the report is late."""
        given = _given(locals())

        async def decide(attempt: Attempt) -> bool:
            facts = await self._facts(attempt, campaign_id, own=True)
            try:
                progress = await self._load(
                    attempt, Progress, progress_id(campaign_id, actor.tenant, phase)
                )
            except NotFound:
                progress = Progress(
                    campaign_id=campaign_id,
                    unit_id=actor.tenant,
                    phase=phase,
                    campaign_unit=facts.unit_id,
                )
            progress.report(facts, dict(actuals), clean_paragraphs(note), self.clock())
            attempt.save(progress)
            return progress.late

        return await self._run(actor, "ReportProgress", decide, idempotency_key, given)

    # --- pledges, works and initiatives -------------------------------------------------------

    async def _own_record(
        self,
        actor: Principal,
        command: str,
        kind: type[Aggregate],
        record_id: UUID,
        change: Callable[[Any], None],
        idempotency_key: str | None,
        given: Mapping[str, Any],
    ) -> None:
        """A change to a record (pledge, work, initiative) of the caller's own unit."""

        async def decide(attempt: Attempt) -> None:
            record = await self._load(attempt, kind, record_id)
            change(record)
            attempt.save(record)

        await self._run(actor, command, decide, idempotency_key, given)

    async def withdraw_pledge(
        self,
        actor: Principal,
        pledge_id: UUID,
        reason: str,
        idempotency_key: str | None = None,
    ) -> None:
        given = _given(locals())
        await self._own_record(
            actor,
            "WithdrawPledge",
            Pledge,
            pledge_id,
            lambda p: p.withdraw(clean(reason)),
            idempotency_key,
            given,
        )

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
        idempotency_key: str | None = None,
    ) -> UUID:
        given = _given(locals())

        async def decide(attempt: Attempt) -> UUID:
            facts = await self._facts(attempt, campaign_id, own=True)
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
            attempt.save(work)
            return work.id

        return await self._run(actor, "RegisterWork", decide, idempotency_key, given)

    async def amend_work(
        self,
        actor: Principal,
        work_id: UUID,
        changes: Mapping[str, Any],
        reason: str,
        idempotency_key: str | None = None,
    ) -> None:
        given = _given(locals())
        changes = {key: _cleaned(key, value) for key, value in changes.items()}
        await self._own_record(
            actor,
            "AmendWork",
            Work,
            work_id,
            lambda w: w.amend(changes, clean(reason)),
            idempotency_key,
            given,
        )

    async def withdraw_work(
        self,
        actor: Principal,
        work_id: UUID,
        reason: str,
        idempotency_key: str | None = None,
    ) -> None:
        given = _given(locals())
        await self._own_record(
            actor,
            "WithdrawWork",
            Work,
            work_id,
            lambda w: w.withdraw(clean(reason)),
            idempotency_key,
            given,
        )

    async def register_initiative(
        self,
        actor: Principal,
        *,
        title: str,
        authors: list[str],
        author_staff_numbers: list[str] | None = None,
        field: str = "",
        description: str = "",
        campaign_id: UUID | None = None,
        idempotency_key: str | None = None,
    ) -> UUID:
        """``author_staff_numbers``: each author's staff number in the unit, in the order of
        ``authors`` ('' for one without), so that the name is sealed with that person's key;
        an author without one is the person of that name, made for it the first time."""
        given = _given(locals())
        # The fingerprint outlives an erasure: it counts the authors, never names them (a repeat
        # with other names under the same key answers as the first did).
        given["authors"] = len(authors)
        # Each kept in its place (cleaned_list would drop an empty one); one past the bound is
        # enough for the check to refuse a longer list.
        names = [clean(a) for a in authors[: MAX_AUTHORS + 1]]
        numbers = (
            [clean(n) for n in author_staff_numbers[: MAX_AUTHORS + 1]]
            if author_staff_numbers is not None
            else [""] * len(names)
        )

        async def decide(attempt: Attempt) -> UUID:
            facts = None
            if campaign_id is not None:
                facts = await self._facts(attempt, campaign_id, own=True)
            check_initiative(clean(title), names, clean(field), clean_paragraphs(description))
            if len(numbers) != len(names):
                raise InitiativeInvalid(
                    "Số hiệu tác giả: một cho mỗi tác giả, theo thứ tự.", field="authorStaffNumbers"
                )
            named = [Named(n, sn) for n, sn in zip(names, numbers, strict=True)]
            if facts is not None:
                facts.check_open()  # refused before anyone is made for its names
            initiative = Initiative.register(
                facts,
                unit_id=actor.tenant,
                title=clean(title),
                authors=names,
                field=clean(field),
                description=clean_paragraphs(description),
                on=self.clock(),
                sealed=await self.sealed_names(attempt, named, "authors", "authorStaffNumbers"),
            )
            attempt.save(initiative)
            return initiative.id

        # In one transaction with the append: the keys minted for the people made for its
        # names go with it if the append is refused or loses a race.
        return await self.commands.run_in_transaction(
            actor, "RegisterInitiative", decide, idempotency_key=idempotency_key, input=given
        )

    async def recognise_initiative(
        self,
        actor: Principal,
        initiative_id: UUID,
        *,
        benefit_vnd: int,
        applied_at: list[str],
        decision: str = "",
        idempotency_key: str | None = None,
    ) -> None:
        given = _given(locals())
        on = self.clock()
        await self._own_record(
            actor,
            "RecogniseInitiative",
            Initiative,
            initiative_id,
            lambda i: i.recognise(
                benefit_vnd=benefit_vnd,
                applied_at=cleaned_list(applied_at),
                decision=clean(decision),
                on=on,
            ),
            idempotency_key,
            given,
        )

    async def amend_recognition(
        self,
        actor: Principal,
        initiative_id: UUID,
        *,
        benefit_vnd: int,
        applied_at: list[str],
        reason: str,
        idempotency_key: str | None = None,
    ) -> None:
        given = _given(locals())
        await self._own_record(
            actor,
            "AmendInitiativeRecognition",
            Initiative,
            initiative_id,
            lambda i: i.amend_recognition(
                benefit_vnd=benefit_vnd, applied_at=cleaned_list(applied_at), reason=clean(reason)
            ),
            idempotency_key,
            given,
        )

    async def withdraw_initiative(
        self,
        actor: Principal,
        initiative_id: UUID,
        reason: str,
        idempotency_key: str | None = None,
    ) -> None:
        given = _given(locals())
        await self._own_record(
            actor,
            "WithdrawInitiative",
            Initiative,
            initiative_id,
            lambda i: i.withdraw(clean(reason)),
            idempotency_key,
            given,
        )
