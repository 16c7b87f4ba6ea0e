"""Decisions and forwarding (issue 14, point 11). The approver of the unit whose council passed
a nominee decides the awards the unit may decide: a decision numbered in the unit's gapless
yearly series, dated and signed, each recipient with the cash the rules give on that day. A
nominee whose award is beyond the unit's competence is forwarded instead: the unit drafts a
proposal of its own to its upper level, carrying the nominee and the dossier, and the chain
goes on there, up to the level that may decide.

A decision, its number and the council items it settles are one append to the unit's log: the
number is never taken without its decision, and no council item is decided or forwarded twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from services.awards.commands import (
    added_base_salaries,
    approver,
    authorise,
    level_of,
    own,
)
from services.awards.commands_proposals import local_rules_for, title_counts
from services.awards.domain import (
    CouncilInvalid,
    CouncilSession,
    Decision,
    DecisionSeries,
    Nominee,
    NotCompetent,
    Proposal,
    Recipient,
    series_stream,
)
from services.awards.projections import build_registry
from services.awards.rules import (
    CSTDCS,
    EXCLUSIVE_KINDS,
    LDTT,
    THEMATIC_CAPPED,
    BaseSalary,
    RuleSet,
    base_salary_on,
    cash_vnd,
    quota_of,
    quota_percent,
    quota_refusal,
    rule_set_on,
)
from shared.auth import Principal
from shared.catalogue import by_code
from shared.clock import today
from shared.commands import Attempt, Commands
from shared.errors import NotFound
from shared.text import clean


def decision_commands_of(runtime: Any, clock: Callable[[], date] = today) -> DecisionCommands:
    return DecisionCommands(runtime.pipeline.service(build_registry(), authorise=authorise), clock)


class DecisionCommands:
    def __init__(self, commands: Commands, clock: Callable[[], date] = today) -> None:
        self.commands = commands
        self.clock = clock

    async def set_suffix(
        self, actor: Principal, suffix: str, *, idempotency_key: str | None = None
    ) -> None:
        """The suffix of the unit's decision numbers (``QĐ-LĐLĐ``: 123/QĐ-LĐLĐ)."""

        async def decide(attempt: Attempt) -> None:
            series = await _series(attempt)
            series.set_suffix(clean(suffix))
            attempt.save(series)

        await self.commands.run(
            actor,
            "SetDecisionSuffix",
            decide,
            authorise=approver,
            idempotency_key=idempotency_key,
            input={"suffix": suffix},
        )

    async def decide(
        self,
        actor: Principal,
        session_id: UUID,
        *,
        title: str,
        items: Sequence[str] | None = None,
        idempotency_key: str | None = None,
    ) -> UUID:
        """A decision on the session's passed items (default: every one the unit may decide
        and has not settled); an item whose award the unit may not decide is NOT_COMPETENT."""
        given = {"session": session_id, "title": title, "items": list(items or [])}

        async def decide(attempt: Attempt) -> UUID:
            session = await _session(attempt, session_id)
            level = await level_of(attempt.conn, actor.tenant)
            rows = await _passed(attempt.conn, actor.tenant, session_id, dossier=False)
            wanted = (
                list(dict.fromkeys(items))  # an item named twice is decided once
                if items
                else [
                    i for i in session.unsettled() if level in by_code()[rows[i]["award"]].deciders
                ]
            )
            if not wanted:
                raise CouncilInvalid("Không còn người (tập thể) nào đơn vị quyết định được.")
            on = self.clock()
            rules = rule_set_on(on)
            base = base_salary_on(on, await added_base_salaries(attempt.conn))
            found = await _particulars(attempt.conn, session_id)
            recipients = [_recipient(rows, i, level, base, rules, found) for i in wanted]
            await _not_awarded(attempt.conn, actor.tenant, recipients)
            await _counted_rules(attempt.conn, actor.tenant, level, rules, recipients, on)
            decision_id = uuid4()
            series = await _series(attempt)
            number, code = series.take(year=on.year, decision_id=decision_id)
            decision = Decision.issue(
                decision_id=decision_id,
                unit_id=actor.tenant,
                unit_name=await attempt.conn.fetchval(
                    "SELECT name FROM units WHERE tenant_id = $1", actor.tenant
                )
                or actor.tenant,
                number=number,
                code=code,
                title=clean(title),
                on=on,
                signer=actor.subject,
                council_session=session_id,
                rule_set_version=rules.version,
                base_salary_vnd=base.amount_vnd,
                recipients=recipients,
            )
            # Its lists of recipients stored while the rest is decided and encoded (10,000
            # recipients: 60 events); nothing is read after this.
            await attempt.send(decision)
            session.settle(wanted, decision_id=decision_id)
            await attempt.send(session)  # the council's lists of items settled, likewise
            attempt.save(series, decision, session)
            return decision_id

        return await self.commands.run_in_transaction(
            actor,
            "IssueDecision",
            decide,
            authorise=approver,
            idempotency_key=idempotency_key,
            input=given,
        )

    async def forward(
        self,
        actor: Principal,
        session_id: UUID,
        *,
        title: str = "",
        idempotency_key: str | None = None,
    ) -> list[UUID]:
        """The passed items the unit may not decide, sent on: draft proposals of this unit to
        its upper level, one for each kind, topic and year the items were proposed for, with
        those nominees and, as ``other`` documents, the dossiers they came with. The officer
        adds the unit's own memo, achievement report and council minutes and submits each."""

        async def decide(attempt: Attempt) -> list[UUID]:
            session = await _session(attempt, session_id)
            level = await level_of(attempt.conn, actor.tenant)
            rows = await _passed(attempt.conn, actor.tenant, session_id, dossier=True)
            beyond = [
                i for i in session.unsettled() if level not in by_code()[rows[i]["award"]].deciders
            ]
            if not beyond:
                raise CouncilInvalid("Không có người (tập thể) nào cần chuyển lên cấp trên.")
            groups: dict[tuple[str, str, int], list[str]] = {}
            for item in beyond:
                row = rows[item]
                groups.setdefault((row["kind"], row["topic"], row["year"]), []).append(item)
            drafted = []
            for (kind, topic, year), items in groups.items():
                proposal = await _forwarded(
                    attempt, rows, items, kind, topic, year, title, self.clock()
                )
                session.settle(items, forwarded_in=proposal.id)
                attempt.save(proposal)
                drafted.append(proposal.id)
            attempt.save(session)
            return drafted

        return await self.commands.run(
            actor,
            "ForwardNominees",
            decide,
            idempotency_key=idempotency_key,
            input={"session": session_id, "title": title},
        )


async def revoke(
    commands: DecisionCommands,
    actor: Principal,
    decision_id: UUID,
    item_id: str,
    *,
    ground: str,
    reason: str,
    recovered_cash_vnd: int = 0,
    recovered_items: Sequence[str] = (),
    idempotency_key: str | None = None,
) -> None:
    """A recipient's award revoked by the approver of the unit that decided it."""

    async def decide(attempt: Attempt) -> None:
        decision = await own(attempt, decision_id, Decision)
        decision.revoke(
            item_id=item_id,
            ground=ground,
            reason=clean(reason),
            recovered_cash_vnd=recovered_cash_vnd,
            recovered_items=[clean(i) for i in recovered_items],
            on=commands.clock(),
        )
        attempt.save(decision)

    given = {
        "decision": decision_id,
        "item": item_id,
        "ground": ground,
        "reason": reason,
        "recovered_cash_vnd": recovered_cash_vnd,
        "recovered_items": list(recovered_items),
    }
    await commands.commands.run(
        actor,
        "RevokeAward",
        decide,
        authorise=approver,
        idempotency_key=idempotency_key,
        input=given,
    )


async def _forwarded(
    attempt: Attempt,
    rows: dict[str, Any],
    items: Sequence[str],
    kind: str,
    topic: str,
    year: int,
    title: str,
    on: date,
) -> Proposal:
    proposal = Proposal.draft(
        unit_id=attempt.tenant_id,
        title=clean(title) or f"Đề nghị chuyển lên cấp trên, năm {year}",
        kind=kind,
        topic=topic,
        year=year,
        on=on,
    )

    def sealed(item: str) -> tuple[UUID, str] | None:
        row = rows[item]
        return (row["summary_key"], row["summary_sealed"]) if row["summary_key"] else None

    proposal.add_nominees(
        [
            (
                Nominee(
                    subject=rows[item]["subject"],
                    who=rows[item]["who"],
                    award=rows[item]["award"],
                    summary=rows[item]["summary"],
                    forwarded_from=f"{rows[item]['proposal_id']}:{rows[item]['nominee_id']}",
                    # A person's summary as the lower unit sealed it, carried over as it is:
                    # no key is read here, so none can be out of this unit's reach.
                    sealed_summary=sealed(item),
                ),
                [],  # the level it goes to appraises it by its own rules
            )
            for item in items
        ]
    )
    for doc in await _documents(attempt.conn, [rows[i]["proposal_id"] for i in items]):
        proposal.attach(**(doc | {"kind": "other"}))  # the lower units' dossier, not its own
    return proposal


def _recipient(
    rows: dict[str, Any],
    item: str,
    level: str,
    base: BaseSalary,
    rules: Any,
    particulars: dict[str, Any],
) -> Recipient:
    row = rows.get(item)
    if row is None:
        raise NotFound(item[:200], id=item[:200])
    entry = by_code()[row["award"]]
    if level not in entry.deciders:
        raise NotCompetent(entry.name, award=entry.code)
    multiple = entry.multiple(row["subject"])
    person = particulars.get(row["who"])
    return Recipient(
        item_id=item,
        proposal_id=str(row["proposal_id"]),
        proposer=row["proposer"],
        nominee_id=row["nominee_id"],
        who=row["who"],
        subject=row["subject"],
        award=entry.code,
        kind=row["kind"],
        cash_vnd=cash_vnd(multiple, base, rules) if multiple is not None else 0,
        multiple_hundredths=round(multiple * 100) if multiple is not None else None,
        year=row["year"],
        topic=row["topic"],
        woman=None if person is None else person["gender"] == "female",
        direct_worker=None if person is None else person["direct_worker"],
    )


async def _particulars(conn: asyncpg.Connection, session_id: UUID) -> dict[str, Any]:
    """The particulars of each person the session's passed items name, as the register holds
    them now (thidua_awarded_particulars, 0063): the decision's event carries them, so that its
    figures do not depend on when a reader of the log gets to the person's own events."""
    return {
        f"person:{r['person_id']}": r
        for r in await conn.fetch(
            "SELECT person_id, gender, direct_worker FROM thidua_awarded_particulars($1)",
            session_id,
        )
    }


async def _not_awarded(
    conn: asyncpg.Connection, unit: str, recipients: Sequence[Recipient]
) -> None:
    """One achievement, one award: the unit has not already given the same award for the same
    year, kind and topic to the same person or collective (a revoked one aside; a regular and
    a thematic one meet under rule 2). Decisions of a unit take their numbers from one series,
    so two of them at once conflict there and the second reads the first's recipients when it
    decides again."""
    rows = await conn.fetch(
        "SELECT who, award, year FROM decision_recipients WHERE tenant_id = $1 "
        "AND revoked_on IS NULL AND (who, award, year, kind, topic) IN "
        "(SELECT * FROM unnest($2::text[], $3::text[], $4::int[], $5::text[], $6::text[]))",
        unit,
        [r.who for r in recipients],
        [r.award for r in recipients],
        [r.year for r in recipients],
        [r.kind for r in recipients],
        [r.topic for r in recipients],
    )
    if rows:
        r = rows[0]
        raise CouncilInvalid(f"Đã khen {r['award']} năm {r['year']} cho {r['who']}.", field="items")


async def _counted_rules(
    conn: asyncpg.Connection,
    unit: str,
    level: str,
    rules: RuleSet,
    recipients: Sequence[Recipient],
    on: date,
) -> None:
    """The rules that count over the unit's register as well as this decision (the register is
    the unit's own log, whose decisions conflict in its one series: two at once are serialised
    there): rule 2, rule 6's national cap, rule 3's quota per proposing unit."""
    await _comprehensive_or_thematic(conn, unit, level, rules, recipients)
    await _thematic_cap(conn, unit, rules, recipients)
    proposers = {r.proposer for r in recipients if r.award == CSTDCS}
    for proposer in sorted(proposers):
        await _quota(conn, proposer, rules, [r for r in recipients if r.proposer == proposer], on)


async def _comprehensive_or_thematic(
    conn: asyncpg.Connection,
    unit: str,
    level: str,
    rules: RuleSet,
    recipients: Sequence[Recipient],
) -> None:
    forms = [
        r for r in recipients if by_code()[r.award].kind == "form" and r.kind in EXCLUSIVE_KINDS
    ]
    if not forms:
        return
    rows = await conn.fetch(
        "SELECT who, year, kind FROM decision_recipients WHERE tenant_id = $1 "
        "AND revoked_on IS NULL AND kind = ANY ($2::text[]) AND award = ANY ($3::text[]) "
        "AND who = ANY ($4::text[])",
        unit,
        list(EXCLUSIVE_KINDS),
        [e.code for e in by_code().values() if e.kind == "form"],
        [r.who for r in forms],
    )
    kinds: dict[tuple[str, int | None], set[str]] = {}
    for who, year, kind in [(r["who"], r["year"], r["kind"]) for r in rows] + [
        (r.who, r.year, r.kind) for r in forms
    ]:
        kinds.setdefault((who, year), set()).add(kind)
    for (who, year), found in kinds.items():
        if len(found) > 1:
            raise rules.broken(
                "ONE_ACHIEVEMENT_ONE_AWARD", f"({who[:80]}: toàn diện và chuyên đề năm {year})"
            )


async def _thematic_cap(
    conn: asyncpg.Connection, unit: str, rules: RuleSet, recipients: Sequence[Recipient]
) -> None:
    """Rule 6: at most so many of TLĐ's thematic Bằng khen per topic a year, nationally (TLĐ
    alone decides it, so its own register is the nation's)."""
    new: dict[tuple[str, int | None], int] = {}
    for r in recipients:
        if r.award == THEMATIC_CAPPED and r.kind == "thematic":
            new[(r.topic, r.year)] = new.get((r.topic, r.year), 0) + 1
    cap = int(rules.number("THEMATIC_CAPS", "per_topic_per_year"))
    for (topic, year), count in new.items():
        held = await conn.fetchval(
            "SELECT count(*) FROM decision_recipients WHERE tenant_id = $1 AND award = $2 "
            "AND kind = 'thematic' AND topic = $3 AND year = $4 AND revoked_on IS NULL",
            unit,
            THEMATIC_CAPPED,
            topic,
            year,
        )
        if held + count > cap:
            raise rules.broken(
                "THEMATIC_CAPS", f"({topic[:80]}, năm {year}: {held} + {count} > {cap})"
            )


async def _quota(
    conn: asyncpg.Connection,
    proposer: str,
    rules: RuleSet,
    recipients: Sequence[Recipient],
    on: date,
) -> None:
    """Rule 3 over the proposing unit and those below it: the Chiến sĩ thi đua cơ sở decided and
    deciding, against the holders of Lao động tiên tiến (decided, or in this decision)."""
    for year in sorted({r.year for r in recipients if r.award == CSTDCS}, key=str):
        holders, taken = await title_counts(conn, proposer, year)
        holders += sum(r.award == LDTT and r.year == year for r in recipients)
        taken += sum(r.award == CSTDCS and r.year == year for r in recipients)
        percent, by = quota_percent(rules, await local_rules_for(conn, proposer, on))
        allowed = quota_of(max(holders, taken), percent)
        if taken > allowed:
            raise quota_refusal(
                rules,
                by,
                f"(năm {year}: {taken} > {allowed}, {percent}% của {max(holders, taken)})",
            )


async def _session(attempt: Attempt, session_id: UUID) -> CouncilSession:
    return await own(attempt, session_id, CouncilSession)


async def _series(attempt: Attempt) -> DecisionSeries:
    try:
        found = await attempt.get(series_stream(attempt.tenant_id))
    except NotFound:
        return DecisionSeries.open(unit_id=attempt.tenant_id)
    assert isinstance(found, DecisionSeries)
    return found


async def _passed(
    conn: asyncpg.Connection, unit: str, session_id: UUID, *, dossier: bool
) -> dict[str, Any]:
    """The session's passed items with what a decision needs of each: the award, the nominee
    and the proposal it came in; ``dossier``: and the nominee's summary, which a forward
    carries up (read from the proposer's nominees under their reach: a third of a 10,000-item
    decision's own time, for what it does not use)."""
    if dossier:
        nominee = (
            "n.subject, n.summary, n.summary_key, n.summary_sealed "
            # The proposer's key first: a join without it scanned a proposal's nominees per item.
            "FROM council_items i JOIN proposal_nominees n ON n.tenant_id = i.proposer "
            "AND n.proposal_id = i.proposal_id AND n.nominee_id = i.nominee_id "
        )
    else:  # a nominee is a person, or a unit for a collective (services/awards/domain.py)
        nominee = (
            "CASE WHEN i.who LIKE 'person:%' THEN 'person' ELSE 'collective' END AS subject "
            "FROM council_items i "
        )
    items = await conn.fetch(
        f"SELECT i.item_id, i.proposal_id, i.proposer, i.nominee_id, i.who, i.award, {nominee}"
        "WHERE i.tenant_id = $1 AND i.session_id = $2 AND i.passed",
        unit,
        session_id,
    )
    # Their few proposals on their own: joined in the query, a session's items just listed
    # (their statistics not yet refreshed) were planned as one, and each of 10,000 looked its
    # proposal up under row-level security (120 ms).
    came_in = list({(r["proposer"], r["proposal_id"]) for r in items})
    proposals = {
        (p["tenant_id"], p["proposal_id"]): (p["kind"], p["topic"], p["year"])
        for p in await conn.fetch(
            "SELECT p.tenant_id, p.proposal_id, p.kind, p.topic, p.year FROM proposals p "
            "JOIN unnest($1::text[], $2::uuid[]) AS c (tenant_id, proposal_id) "
            "ON p.tenant_id = c.tenant_id AND p.proposal_id = c.proposal_id",
            [c[0] for c in came_in],
            [c[1] for c in came_in],
        )
    }
    passed: dict[str, Any] = {}
    for r in items:
        found = proposals.get((r["proposer"], r["proposal_id"]))
        if found is not None:  # as the join had it: a proposal out of reach, no item
            kind, topic, year = found
            passed[r["item_id"]] = {**r, "kind": kind, "topic": topic, "year": year}
    return passed


async def _documents(conn: asyncpg.Connection, proposals: list[UUID]) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT DISTINCT ON (sha256) kind, sha256, name, size, media_type FROM proposal_documents "
        "WHERE proposal_id = ANY ($1::uuid[]) ORDER BY sha256",
        list(dict.fromkeys(proposals)),
    )
    return [dict(r) for r in rows]
