"""The proposal commands (issue 14, points 7 and 8): draft a proposal of awards, add nominees
(each checked live against the rules in force: a nominee that breaks one is kept and shown with
the rule's code, version and source, and holds the submission), remove one, attach a document
of the dossier, submit to the direct upper level with the appraisal's deadline in working days.

Each runs through the command pipeline as the other awards commands do (an officer of an active
unit, decided on one connection scoped to the caller, appended to the unit's own log).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.awards.commands import authorise, level_of, own, working_calendar
from services.awards.domain import (
    MAX_NOMINEES,
    Appraisal,
    AppraisalClosed,
    AppraisalInvalid,
    Nominee,
    PersonErasedError,
    PersonIncomplete,
    PersonLeftError,
    PersonTransferredError,
    Proposal,
    ProposalInvalid,
    appraisal_stream,
    check_nominee,
)
from services.awards.projections import build_registry
from services.awards.rules import (
    CSTDCS,
    LDTT,
    THEMATIC_CAPPED,
    AwardedFacts,
    InitiativeFacts,
    LocalRuleFacts,
    NomineeFacts,
    PersonFacts,
    QuotaFacts,
    RuleSet,
    findings,
    rule_set_on,
)
from shared import access
from shared.auth import Principal
from shared.bulk import BulkTooLarge, RowError
from shared.catalogue import LEVELS, entry_of
from shared.clock import today
from shared.commands import Attempt, Commands
from shared.db import planned_for_arguments
from shared.errors import DomainError, NotFound
from shared.personal import keys_of, seal
from shared.text import clean, clean_paragraphs, has_control

# The levels above a unit of each level: the order of the union's tree (DESIGN.md).
_RANK = {"grassroots": 0, "upper": 1, "provincial": 2, "sector": 2, "national": 3}


def levels_above(level: str) -> tuple[str, ...]:
    return tuple(lv for lv in LEVELS if _RANK[lv] > _RANK[level])


def proposal_commands_of(runtime: Any, clock: Callable[[], date] = today) -> ProposalCommands:
    return ProposalCommands(runtime.pipeline.service(build_registry(), authorise=authorise), clock)


class ProposalCommands:
    def __init__(self, commands: Commands, clock: Callable[[], date] = today) -> None:
        self.commands = commands
        self.clock = clock

    async def draft(
        self,
        actor: Principal,
        *,
        title: str,
        kind: str,
        year: int,
        topic: str = "",
        idempotency_key: str | None = None,
    ) -> UUID:
        given = {"title": title, "kind": kind, "year": year, "topic": topic}

        async def decide(attempt: Attempt) -> UUID:
            proposal = Proposal.draft(
                unit_id=actor.tenant,
                title=clean(title),
                kind=kind,
                topic=clean(topic),
                year=year,
                on=self.clock(),
            )
            attempt.save(proposal)
            return proposal.id

        return await self.commands.run(
            actor, "DraftProposal", decide, idempotency_key=idempotency_key, input=given
        )

    async def add_nominee(
        self,
        actor: Principal,
        proposal_id: UUID,
        *,
        subject: str,
        award: str,
        person_id: UUID | None = None,
        unit_id: str | None = None,
        summary: str = "",
        campaign_id: UUID | None = None,
        initiatives: Sequence[UUID] = (),
        earlier_titles: Sequence[tuple[str, int]] = (),
        idempotency_key: str | None = None,
    ) -> str:
        """The nominee's id. Refused (nothing written) when the input is wrong: an award the
        catalogue lacks or not for this subject, a person or unit out of the proposer's reach;
        kept with findings when a rule says no."""
        spec = NomineeSpec(
            row=1,
            subject=subject,
            award=award,
            person_id=person_id,
            unit_id=unit_id,
            summary=summary,
            campaign_id=campaign_id,
            initiatives=tuple(initiatives),
            earlier_titles=tuple(earlier_titles),
        )
        added = await self.add_nominees(
            actor, proposal_id, [spec], idempotency_key=idempotency_key, refuse=True
        )
        assert added.first is not None  # refuse: a row not added raised
        return added.first

    async def add_nominees(
        self,
        actor: Principal,
        proposal_id: UUID,
        specs: Sequence[NomineeSpec],
        *,
        idempotency_key: str | None = None,
        refuse: bool = False,
    ) -> Added:
        """Many nominees in one command (one append): each row checked and added as
        :meth:`add_nominee` adds one, the rules in force checked live; a row that cannot be
        added is named with its error (``refuse``: the first refuses the whole command)."""
        # Only a keyed command is fingerprinted: 10,000 rows cost 50 ms for nothing otherwise.
        given = (
            {"proposal": proposal_id, "rows": [spec.fingerprint() for spec in specs]}
            if idempotency_key is not None
            else None
        )

        async def decide(attempt: Attempt) -> dict[str, list[Any]]:
            proposal = await _own_proposal(attempt, proposal_id)
            proposal.check_draft()
            if len(proposal.nominees) + len(specs) > MAX_NOMINEES:
                raise ProposalInvalid(f"Tối đa {MAX_NOMINEES} người (tập thể) mỗi đề nghị.")
            checks = await _checks(attempt.conn, actor, proposal, specs, self.clock())
            pending: list[tuple[Nominee, list[dict[str, str]]]] = []
            proposed = _Proposed(proposal.proposed())  # and each row's as it is checked
            errors: list[RowError] = []
            added: list[str] = []
            for n, spec in enumerate(specs, 1):
                if spec.subject != "person" or spec.initiatives:
                    await attempt.sent_so_far()  # _add reads on the connection
                elif n % 100 == 0:
                    await asyncio.sleep(0)  # the rest of a part in flight goes out meanwhile
                try:
                    pending.append(await _add(attempt, actor, proposal, spec, checks, proposed))
                except DomainError as exc:
                    if refuse:
                        raise
                    errors.append(RowError.of(spec.row, exc))
                else:
                    proposed.add(pending[-1][0].who, pending[-1][0].award)
                if len(pending) == SENT_EVERY:
                    # Stored while the next rows are checked: the database's time and ours
                    # overlap (10,000 nominees: 0.4 s of checks, 0.5 s of appends).
                    added += proposal.add_nominees(pending)
                    pending = []
                    await attempt.send(proposal)
            if len(pending) == 1 and not added:
                added = [proposal.add_nominee(*pending[0])]
            elif pending:
                added += proposal.add_nominees(pending)
            if added:
                attempt.save(proposal)
            # Plain values, and bounded: a repeat of the idempotency key reads this answer back
            # from the first event's meta, which the store's bound per event bounds too.
            return {
                "written": len(added),
                "first": added[0] if added else None,
                "error_count": len(errors),
                "errors": [[e.row, e.code, e.message, e.field] for e in errors[:MAX_ANSWERED]],
            }

        answer = await self.commands.run_in_transaction(
            actor, "AddNominees", decide, idempotency_key=idempotency_key, input=given
        )
        return Added(
            answer["written"],
            answer["first"],
            answer["error_count"],
            [RowError(*e) for e in answer["errors"]],
        )

    async def remove_nominee(
        self,
        actor: Principal,
        proposal_id: UUID,
        nominee_id: str,
        *,
        idempotency_key: str | None = None,
    ) -> None:
        async def decide(attempt: Attempt) -> None:
            proposal = await _own_proposal(attempt, proposal_id)
            proposal.remove_nominee(nominee_id)
            attempt.save(proposal)

        await self.commands.run(
            actor,
            "RemoveNominee",
            decide,
            idempotency_key=idempotency_key,
            input={"proposal": proposal_id, "nominee": nominee_id},
        )

    async def attach(
        self,
        actor: Principal,
        proposal_id: UUID,
        *,
        kind: str,
        sha256: str,
        name: str,
        size: int,
        media_type: str,
        content: bytes | None = None,
    ) -> None:
        """A document joins the dossier, by its SHA-256. ``content``: its bytes, stored (once,
        whoever stored them first) on the decision's own connection, so a refused attach
        stores nothing."""
        shown = "".join(ch for ch in clean(name) if not has_control(ch))[:255] or "tai-lieu"

        async def decide(attempt: Attempt) -> None:
            proposal = await _own_proposal(attempt, proposal_id)
            proposal.attach(kind=kind, sha256=sha256, name=shown, size=size, media_type=media_type)
            if content is not None:
                await attempt.conn.execute(
                    "INSERT INTO documents (sha256, tenant_id, size, media_type, content) "
                    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING",
                    sha256,
                    attempt.tenant_id,
                    size,
                    media_type,
                    content,
                )
            attempt.save(proposal)

        # The bytes and the event in one transaction: a refusal, or a conflict decided again
        # into one, leaves no bytes behind.
        await self.commands.run_in_transaction(actor, "AttachDocument", decide)

    async def submit(
        self,
        actor: Principal,
        proposal_id: UUID,
        *,
        concurrence: bool = False,
        idempotency_key: str | None = None,
    ) -> None:
        """To the direct upper level, its appraisal due in 10 working days (20 when other
        bodies must concur): rule APPRAISAL_DEADLINE of the set in force."""

        async def decide(attempt: Attempt) -> None:
            proposal = await _own_proposal(attempt, proposal_id)
            parent = await attempt.conn.fetchval(
                "SELECT parent_id FROM units WHERE tenant_id = $1", actor.tenant
            )
            if parent is None:
                raise ProposalInvalid("Tổng Liên đoàn không có cấp trên để đề nghị.")
            on = self.clock()
            rules = rule_set_on(on)
            name = "with_concurrence_working_days" if concurrence else "working_days"
            days = int(rules.number("APPRAISAL_DEADLINE", name))
            calendar = await working_calendar(attempt.conn)
            proposal.submit(
                to_unit=parent,
                on=on,
                due_on=calendar.add_working_days(on, days),
                concurrence=concurrence,
                rules=rules.version,
            )
            attempt.save(proposal)

        await self.commands.run(
            actor,
            "SubmitProposal",
            decide,
            idempotency_key=idempotency_key,
            input={"proposal": proposal_id, "concurrence": concurrence},
        )

    async def require_draft_of(self, actor: Principal, proposal_id: UUID) -> None:
        """Before an upload's bytes are read: the caller's own proposal, still a draft."""

        async def decide(attempt: Attempt) -> None:
            (await _own_proposal(attempt, proposal_id)).check_draft()

        await self.commands.run(actor, "CheckProposal", decide)


@dataclass(frozen=True, slots=True)
class NomineeSpec:
    """A nominee as given (a GraphQL input, a file's row): ``row`` names it in errors."""

    row: int
    subject: str
    award: str
    person_id: UUID | None = None
    unit_id: str | None = None
    summary: str = ""
    campaign_id: UUID | None = None
    initiatives: tuple[UUID, ...] = ()
    earlier_titles: tuple[tuple[str, int], ...] = ()

    def fingerprint(self) -> list[object]:
        # A key's fingerprint outlives an erasure: a person's summary is counted, never kept.
        return [
            self.subject,
            self.award,
            self.person_id,
            self.unit_id,
            self.summary if self.person_id is None else len(self.summary),
            self.campaign_id,
            list(self.initiatives),
            [list(t) for t in self.earlier_titles],
        ]


@dataclass(frozen=True, slots=True)
class _Checks:
    """What every nominee of one command is checked against, read once: the day and its rule
    set, the levels above the proposer, the federations' own rules in force for it, and rule
    3's counts over its subtree in the proposal's year."""

    on: date
    keys: dict[UUID, bytes]  # the keys of the command's persons: a summary is sealed with one
    rules: RuleSet
    above: tuple[str, ...]
    local: tuple[LocalRuleFacts, ...]
    holders: int
    taken: int
    # The command's persons as the proposer reaches them, and what the register holds for each
    # nominee, each read once for every row (a row at a time cost three statements a row).
    people: dict[UUID, Any]
    awarded: dict[str, tuple[AwardedFacts, ...]]
    # Rule 6's count per unit and topic: TLĐ's thematic Bằng khen in the unit's other proposals
    # of this topic and year (this one's are counted as its rows are checked).
    capped_elsewhere: int = 0


async def _checks(
    conn: asyncpg.Connection,
    actor: Principal,
    proposal: Proposal,
    specs: Sequence[NomineeSpec],
    on: date,
) -> _Checks:
    holders = taken = 0
    if any(spec.award[:200] == CSTDCS for spec in specs):
        holders, taken = await title_counts(conn, actor.tenant, proposal.year)
    capped = 0
    if proposal.kind == "thematic" and any(s.award[:200] == THEMATIC_CAPPED for s in specs):
        capped = await conn.fetchval(
            "SELECT count(*) FROM proposal_nominees n JOIN proposals p "
            "ON p.tenant_id = n.tenant_id AND p.proposal_id = n.proposal_id "
            "WHERE p.tenant_id = $1 AND p.kind = 'thematic' AND p.topic = $2 AND p.year = $3 "
            "AND p.proposal_id <> $4 AND n.award = $5",
            actor.tenant,
            proposal.topic,
            proposal.year,
            proposal.id,
            THEMATIC_CAPPED,
        )
    persons = list({spec.person_id for spec in specs if spec.person_id is not None})
    # up to 10,000 keys in each lookup, each planned for its own array
    async with planned_for_arguments(conn, len(persons)):
        people = await _people(conn, actor, persons, proposal.year)
    whos = [f"person:{p}" for p in people] + [
        f"unit:{spec.unit_id}" for spec in specs if spec.unit_id
    ]
    async with planned_for_arguments(conn, len(whos)):
        awarded = await _awarded(conn, whos)
    return _Checks(
        on=on,
        # Only those whose summary is sealed with them (most bulk rows carry none).
        keys=await keys_of(
            conn,
            [
                people[spec.person_id]["key_id"]
                for spec in specs
                if spec.person_id in people and spec.summary.strip()
            ],
        ),
        rules=rule_set_on(on),
        above=levels_above(await level_of(conn, actor.tenant) or "national"),
        local=await local_rules_for(conn, actor.tenant, on),
        holders=holders,
        taken=taken,
        people=people,
        awarded=awarded,
        capped_elsewhere=capped,
    )


async def title_counts(conn: asyncpg.Connection, unit: str, year: int) -> tuple[int, int]:
    """Rule 3's counts over ``unit`` and the units below it in ``year``, whoever decided them:
    the holders of Lao động tiên tiến and of Chiến sĩ thi đua cơ sở."""
    row = await conn.fetchrow(
        "SELECT thidua_title_holders($1, $2, $4) AS holders, "
        "thidua_title_holders($1, $3, $4) AS taken",
        unit,
        LDTT,
        CSTDCS,
        year,
    )
    return row["holders"], row["taken"]


async def _known_rule(conn: asyncpg.Connection, proposer: str, code: str, on: date) -> None:
    """A verdict names a rule of the set in force on ``on``, or a federation's own rule in force
    for the proposer (as its nominees were checked: the appraising unit's and its ancestors'
    among them), or none: the proposer reads it as the reason its nominee stopped, so it must
    be one they can look up."""
    rules = rule_set_on(on)
    if not code or code in rules.rules:
        return
    if any(r.code == code for r in await local_rules_for(conn, proposer, on)):
        return
    raise AppraisalInvalid(
        f"Không có quy tắc «{code[:64]}» trong bộ quy tắc {rules.version} đang áp dụng, "
        "hay trong quy định riêng của cấp trên.",
        field="rule",
    )


async def local_rules_for(
    conn: asyncpg.Connection, unit: str, on: date
) -> tuple[LocalRuleFacts, ...]:
    """The federations' own rules in force on ``on`` for ``unit``: its own and its ancestors' in
    the tree of that day, asked by the unit or by one above it then (thidua_rules_binding, 0056:
    row-level security would show a reader only its own edges of today's tree)."""
    rows = await conn.fetch(
        "SELECT tenant_id, code, kind, message, source, numbers FROM thidua_rules_binding($1, $2)",
        unit,
        on,
    )
    return tuple(
        LocalRuleFacts(
            r["tenant_id"],
            r["code"],
            r["kind"],
            r["message"],
            r["source"],
            orjson.loads(r["numbers"]),
        )
        for r in rows
    )


# Checked nominees appended while the next are checked (shared/commands.py Attempt.send).
SENT_EVERY = 1_000

# The row errors a bulk answer carries (a keyed answer is stored in an event: bounded).
MAX_ANSWERED = 200


@dataclass(frozen=True, slots=True)
class Added:
    """What addNominees did: how many were added, the first one's id, how many rows were
    refused and the first MAX_ANSWERED of them."""

    written: int = 0
    first: str | None = None
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)


class _Proposed:
    """The proposal's nominees as the rules count them, kept as rows are added: by whom, and
    how many of each award (a list searched per row made a 10,000-row command quadratic)."""

    def __init__(self, proposed: Sequence[tuple[str, str]]) -> None:
        self.by_who: dict[str, list[str]] = {}
        self.counts: Counter[str] = Counter()
        for who, award in proposed:
            self.add(who, award)

    def add(self, who: str, award: str) -> None:
        self.by_who.setdefault(who, []).append(award)
        self.counts[award] += 1


async def _add(
    attempt: Attempt,
    actor: Principal,
    proposal: Proposal,
    spec: NomineeSpec,
    checks: _Checks,
    proposed: _Proposed,
) -> tuple[Nominee, list[dict[str, str]]]:
    """One nominee checked, with what the rules found, to add to ``proposal`` beside those
    ``proposed`` there and before it in this command."""
    entry = entry_of(spec.award[:200])
    if entry is None or not entry.in_force(checks.on):
        raise ProposalInvalid("Không có danh hiệu, hình thức này.", field="award")
    if spec.subject not in entry.subjects:
        raise ProposalInvalid(f"{entry.name} không dành cho đối tượng này.", field="award")
    who, person = await _who(attempt.conn, actor, spec, checks.people)
    titles = _earlier(spec.earlier_titles)
    summary = clean_paragraphs(spec.summary)
    nominee = Nominee(
        subject=spec.subject,
        who=who,
        award=entry.code,
        summary=summary,
        campaign_id=spec.campaign_id,
        initiatives=tuple(dict.fromkeys(spec.initiatives)),
        earlier_titles=titles,
        sealed_summary=sealed_summary(checks.people, checks.keys, spec.person_id, summary),
    )
    check_nominee(nominee)
    awarded = checks.awarded.get(who, ())
    facts = NomineeFacts(
        award=entry.code,
        subject=spec.subject,
        who=who,
        kind=proposal.kind,
        year=proposal.year,
        ancestor_levels=checks.above,
        state=entry.state,
        deciders=entry.deciders,
        # Declared, and what the decisions register already holds for the nominee.
        earlier_titles=tuple(dict.fromkeys(titles + tuple((a.award, a.year) for a in awarded))),
        initiatives=await _initiatives(
            attempt.conn,
            nominee.initiatives,
            checks.people[spec.person_id]["key_id"] if spec.subject == "person" else None,
        ),
        person=person,
        already=tuple((who, award) for award in proposed.by_who.get(who, ())),
        capped=checks.capped_elsewhere + proposed.counts[THEMATIC_CAPPED],
        awarded=awarded,
        local=checks.local,
        quota=QuotaFacts(
            holders=checks.holders + proposed.counts[LDTT],
            taken=checks.taken + proposed.counts[CSTDCS],
        )
        if entry.code == CSTDCS
        else None,
    )
    return nominee, findings(checks.rules, facts)


def sealed_summary(
    people: dict[UUID, Any], keys: dict[UUID, bytes], person: UUID | None, summary: str
) -> tuple[UUID, str] | None:
    """A person's summary sealed with their key (``people``: their register rows, with
    ``key_id``; ``keys``: the keys read); None for a collective's or an empty one."""
    if person is None or not summary:
        return None
    key_id = people[person]["key_id"]
    key = keys.get(key_id)
    if key is None:  # erased, its event not yet applied
        raise PersonErasedError()
    return key_id, seal(key, key_id, {"summary": summary})


async def _own_proposal(attempt: Attempt, proposal_id: UUID) -> Proposal:
    return await own(attempt, proposal_id, Proposal)


async def _people(
    conn: asyncpg.Connection, actor: Principal, persons: Sequence[UUID], year: int
) -> dict[UUID, Any]:
    """These persons as the proposer reaches them (the register's own reach: its unit or
    below), with what rule 10 weighs in ``year``; one out of reach is not in the answer."""
    if not persons:
        return {}
    rows = await conn.fetch(
        "SELECT p.person_id, p.key_id, p.status, p.gender, p.direct_worker, p.cadre, "
        "p.cadre_since, "
        "p.employed_since, p.years -> $3::text AS year, "
        # Rule 10's "not registered": the titles pledged, by a pledge naming the person made by
        # the year's end, in a campaign whose period covers the year (as the caller reads
        # pledges and campaigns: its unit's, those below, and those launched above).
        "ARRAY(SELECT DISTINCT cp.title FROM campaign_pledges cp JOIN campaigns c ON "
        "c.campaign_id = cp.campaign_id AND c.tenant_id = cp.campaign_unit "
        "WHERE cp.person_id = p.person_id AND cp.status = 'registered' "
        "AND cp.registered_on <= make_date($4, 12, 31) "
        "AND c.period_start <= make_date($4, 12, 31) AND c.period_end >= make_date($4, 1, 1)) "
        "AS pledged FROM people p "
        "WHERE p.person_id = ANY ($1::uuid[]) AND (p.tenant_id = $2 "
        "OR thidua_edge($2, p.tenant_id, (SELECT thidua_today())))",
        list(persons),
        actor.tenant,
        str(year),
        year,
    )
    return {r["person_id"]: r for r in rows}


async def _who(
    conn: asyncpg.Connection, actor: Principal, spec: NomineeSpec, people: dict[UUID, Any]
) -> tuple[str, PersonFacts | None]:
    """The nominee as the proposer reaches it: a person of its unit or below (read for the
    whole command, ``people``), or a collective that is the unit or one below it; anything
    else not found."""
    if spec.subject == "person":
        if spec.person_id is None:
            raise ProposalInvalid("Cần người được đề nghị.", field="personId")
        row = people.get(spec.person_id)
        if row is None:
            raise NotFound(str(spec.person_id), id=str(spec.person_id))
        if row["status"] == "left":
            raise PersonLeftError()
        if row["status"] == "transferred":  # nominated, if at all, where they went
            raise PersonTransferredError()
        if row["status"] == "erased":
            raise PersonErasedError()
        if not row["gender"]:  # made for a name alone: the figures need their particulars
            raise PersonIncomplete()
        fact = orjson.loads(row["year"]) if row["year"] else {}
        return f"person:{spec.person_id}", PersonFacts(
            row["direct_worker"],
            row["cadre"],
            row["cadre_since"],
            employed_since=row["employed_since"],
            absent_working_days=fact.get("absent_working_days", 0),
            disciplined=tuple(fact.get("disciplined", ())),
            pledged=frozenset(row["pledged"]),
        )
    unit_id = spec.unit_id
    if not unit_id:
        raise ProposalInvalid("Cần tập thể (đơn vị) được đề nghị.", field="unitId")
    relation = await access.relation(conn, actor, unit_id, now=True)
    if relation not in (access.Relation.SELF, access.Relation.DESCENDANT):
        raise NotFound(unit_id[:64], id=unit_id[:64])
    return f"unit:{unit_id}", None


def _earlier(titles: Sequence[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    found = []
    for text, year in titles:
        entry = entry_of(str(text)[:200])
        if entry is None:
            raise ProposalInvalid(
                "Danh hiệu đã đạt: không có trong danh mục.", field="earlierTitles"
            )
        found.append((entry.code, int(year)))
    return tuple(dict.fromkeys(found))


async def _awarded(
    conn: asyncpg.Connection, whos: Sequence[str]
) -> dict[str, tuple[AwardedFacts, ...]]:
    """What the decisions register already holds for these nominees (those the proposer may
    read, none revoked): the earlier titles the rules need, filled in from the system's own
    records beside those the proposer declares, and what rule 2 weighs a new form against."""
    if not whos:
        return {}
    rows = await conn.fetch(
        "SELECT DISTINCT who, award, year, kind, decided_level AS level FROM decision_recipients "
        "WHERE who = ANY ($1::text[]) AND revoked_on IS NULL",
        list(dict.fromkeys(whos)),
    )
    found: dict[str, list[AwardedFacts]] = {}
    for r in rows:
        found.setdefault(r["who"], []).append(
            AwardedFacts(r["award"], r["year"], r["kind"], r["level"])
        )
    return {who: tuple(facts) for who, facts in found.items()}


async def _initiatives(
    conn: asyncpg.Connection, ids: Sequence[UUID], author_key: UUID | None
) -> tuple[InitiativeFacts, ...]:
    """The recognised initiatives a nominee's basis names, as the proposer reads them (the
    campaigns' register of initiatives: its row-level security is the proposer's reach), each
    with whether the person nominated (``author_key``: their key) is among its authors."""
    if not ids:
        return ()
    rows = await conn.fetch(
        "SELECT recognised_on, coalesce(benefit_vnd, 0) AS benefit, "
        "($2::uuid IS NULL OR $2 = ANY (author_keys) "
        "OR cardinality(array_remove(author_keys, NULL)) = 0) AS authored "
        "FROM campaign_initiatives "
        "WHERE initiative_id = ANY ($1::uuid[]) AND status <> 'withdrawn'",
        list(ids),
        author_key,
    )
    if len(rows) != len(ids):
        raise ProposalInvalid("Có sáng kiến không tìm thấy.", field="initiatives")
    return tuple(InitiativeFacts(r["recognised_on"], r["benefit"], r["authored"]) for r in rows)


class AppraisalCommands:
    """The direct upper level's appraisal of a proposal sent to it (issue 14, point 9), and the
    proposer's taking back a proposal returned for correction."""

    def __init__(self, commands: Commands, clock: Callable[[], date] = today) -> None:
        self.commands = commands
        self.clock = clock

    async def judge(
        self,
        actor: Principal,
        proposal_id: UUID,
        nominee_id: str | None,
        *,
        verdict: str,
        reason: str = "",
        rule: str = "",
        idempotency_key: str | None = None,
        nominees: Sequence[str] | None = None,
    ) -> int:
        """A verdict on nominees of the proposal's current round: accept, return for correction
        (with reasons) or reject (with reasons and, where one applies, the rule). One nominee
        (``nominee_id``), these (``nominees``), or, with neither, every one still without a
        verdict; all in one append. Answers how many were judged."""
        given = {
            "proposal": proposal_id,
            "nominee": nominee_id,
            "nominees": list(nominees) if nominees is not None else None,
            "verdict": verdict,
            "reason": reason,
            "rule": rule,
        }

        async def decide(attempt: Attempt) -> int:
            appraisal = await _appraisal(attempt, actor, proposal_id, self.clock())
            if nominee_id is not None:
                wanted = [nominee_id]
            elif nominees is not None:
                wanted = list(dict.fromkeys(nominees))
            else:
                wanted = [n for n in appraisal.nominees if n not in appraisal.verdicts]
            judged = {
                "verdict": verdict,
                "reason": clean_paragraphs(reason),
                "rule": clean(rule),
                "on": self.clock(),
            }
            await _known_rule(attempt.conn, appraisal.proposer, judged["rule"], judged["on"])
            if len(wanted) == 1:
                appraisal.judge(nominee_id=wanted[0], **judged)
            else:  # none left: checked all the same (a closed round, a reason)
                appraisal.judge_many(nominees=wanted, **judged)
            if wanted:  # none judged opens no round either: nothing written
                attempt.save(appraisal)
            return len(wanted)

        return await self.commands.run(
            actor, "AppraiseNominee", decide, idempotency_key=idempotency_key, input=given
        )

    async def conclude(
        self, actor: Principal, proposal_id: UUID, *, idempotency_key: str | None = None
    ) -> None:
        """The round judged whole: returned for correction when any nominee was returned, else
        completed (the accepted go on to the council, the rejected stop here)."""

        async def decide(attempt: Attempt) -> None:
            appraisal = await _appraisal(attempt, actor, proposal_id, self.clock())
            appraisal.conclude(on=self.clock())
            attempt.save(appraisal)

        await self.commands.run(
            actor,
            "ConcludeAppraisal",
            decide,
            idempotency_key=idempotency_key,
            input={"proposal": proposal_id},
        )

    async def take_back(
        self, actor: Principal, proposal_id: UUID, *, idempotency_key: str | None = None
    ) -> None:
        """The proposer takes back a proposal its appraisal returned, to correct it and submit
        it again (the next round); the appraisal read is guarded at the version read."""

        async def decide(attempt: Attempt) -> None:
            proposal = await _own_proposal(attempt, proposal_id)
            row = await attempt.conn.fetchrow(
                "SELECT tenant_id, status, returned::text AS returned, version FROM appraisals "
                "WHERE proposal_id = $1 AND round = $2",
                proposal_id,
                proposal.round,
            )
            if row is None or row["status"] != "returned":
                raise ProposalInvalid("Đề nghị không bị trả lại ở vòng thẩm định này.")
            attempt.guard(
                row["tenant_id"], appraisal_stream(proposal_id, proposal.round), row["version"]
            )
            proposal.reopen(
                round=proposal.round, returned=orjson.loads(row["returned"]), on=self.clock()
            )
            attempt.save(proposal)

        await self.commands.run(
            actor,
            "TakeBackProposal",
            decide,
            idempotency_key=idempotency_key,
            input={"proposal": proposal_id},
        )


def appraisal_commands_of(runtime: Any, clock: Callable[[], date] = today) -> AppraisalCommands:
    return AppraisalCommands(runtime.pipeline.service(build_registry(), authorise=authorise), clock)


async def _appraisal(attempt: Attempt, actor: Principal, proposal_id: UUID, on: date) -> Appraisal:
    """The current round's appraisal of a proposal sent to the caller's unit, opened by the
    first verdict; a proposal sent elsewhere, or not readable, is not found. The decision read
    the proposal at its version: guarded there, so a proposal taken back meanwhile sends the
    decision round again."""
    row = await attempt.conn.fetchrow(
        "SELECT tenant_id, to_unit, status, round, version FROM proposals WHERE proposal_id = $1",
        proposal_id,
    )
    if row is None or row["to_unit"] != actor.tenant:
        raise NotFound(str(proposal_id), id=str(proposal_id))
    if row["status"] != "submitted":
        raise AppraisalClosed("(đề nghị không chờ thẩm định)")
    attempt.guard(row["tenant_id"], proposal_id, row["version"])
    try:
        found = await attempt.get(appraisal_stream(proposal_id, row["round"]))
    except NotFound:
        nominees = await attempt.conn.fetch(
            "SELECT nominee_id FROM proposal_nominees WHERE tenant_id = $1 AND proposal_id = $2 "
            "ORDER BY added_seq",
            row["tenant_id"],
            proposal_id,
        )
        return Appraisal.open(
            proposal_id=proposal_id,
            proposer=row["tenant_id"],
            round=row["round"],
            nominees=[n["nominee_id"] for n in nominees],
            opened_on=on,
        )
    assert isinstance(found, Appraisal)
    return found


async def import_nominees(
    proposals: ProposalCommands,
    actor: Principal,
    rows: Sequence[Any],
    *,
    title: str,
    kind: str,
    year: int,
    topic: str,
    max_rows: int,
) -> tuple[UUID, int, list[Any], int]:
    """A lower unit's proposal file as a new draft of the caller's: each row's person found by
    its unit's staff number (or its collective by unit id) among those the caller reaches, the
    draft made once the rows are read, then every good row added in one command, the rules
    checked live; a bad row is named with its code and the others go on. Answers the draft,
    how many were added, the rows refused (the first of them) and how many."""
    if len(rows) > max_rows:
        raise BulkTooLarge(f"{len(rows)} > {max_rows}.", limit=max_rows)
    people = await _people_by_staff_number(proposals, actor, [r for r in rows if not r.bad])
    specs, errors = [], []
    for row in rows:
        unit = (row.unit or actor.tenant)[:64]
        try:
            if row.bad:
                raise ProposalInvalid("Có ký tự điều khiển (không in được).", field=row.bad)
            if row.subject not in ("person", "collective"):
                raise ProposalInvalid("Đối tượng: cá nhân hay tập thể.", field="subject")
            person = None
            if row.subject == "person":
                if not row.staff_number:
                    raise ProposalInvalid(
                        "Cần số hiệu của người được đề nghị.", field="staffNumber"
                    )
                person = people.get((unit, row.staff_number.casefold()))
                if person is None:
                    raise NotFound(
                        f"{unit}/{row.staff_number[:64]}", staff_number=row.staff_number[:64]
                    )
        except DomainError as exc:
            errors.append(RowError.of(row.row, exc))
            continue
        specs.append(
            NomineeSpec(
                row=row.row,
                subject=row.subject,
                award=row.award,
                person_id=person,
                unit_id=unit if row.subject == "collective" else None,
                summary=row.summary,
            )
        )
    proposal_id = await proposals.draft(actor, title=title, kind=kind, year=year, topic=topic)
    added = await proposals.add_nominees(actor, proposal_id, specs) if specs else Added()
    refused = sorted([*errors, *added.errors], key=lambda e: e.row)
    return proposal_id, added.written, refused, len(errors) + added.error_count


async def _people_by_staff_number(
    proposals: ProposalCommands, actor: Principal, rows: Sequence[Any]
) -> dict[tuple[str, str], UUID]:
    """The active people the caller reaches, by (unit, staff number in any case), in one read."""
    wanted = {
        ((r.unit or actor.tenant)[:64], r.staff_number[:64].casefold())
        for r in rows
        if r.subject == "person" and r.staff_number
    }
    if not wanted:
        return {}
    units, numbers = zip(*wanted, strict=True)
    async with access.scope(proposals.commands.pipeline.pool, actor) as conn:
        found = await conn.fetch(
            "SELECT p.tenant_id, lower(p.staff_number) AS staff, p.person_id FROM people p "
            "JOIN unnest($1::text[], $2::text[]) AS w (unit, staff) "
            "ON p.tenant_id = w.unit AND lower(p.staff_number) = w.staff "
            "WHERE p.status = 'active'",
            list(units),
            list(numbers),
        )
    return {(r["tenant_id"], r["staff"]): r["person_id"] for r in found}
