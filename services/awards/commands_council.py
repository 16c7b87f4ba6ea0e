"""The council's commands (issue 14, point 10): an officer of the deciding unit convenes a
session on the nominees its appraisal accepted; its members vote (role ``council``, the subject
of their token one of the session's members); the officer concludes it with the tally.

A secret ballot's choice goes into the ballot box in the same transaction as the event that says
the member voted (``run_in_transaction``), and the box keeps no voter: the log says who voted,
the box how many voted what, nothing says who voted how.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from services.awards.commands import authorise, council_member, own, working_calendar
from services.awards.domain import (
    SECRET_BALLOT,
    Appraisal,
    CouncilInvalid,
    CouncilItem,
    CouncilSession,
    Disclosure,
    Member,
    PersonErasedError,
    appraisal_stream,
)
from services.awards.projections import build_registry
from services.awards.rules import rule_set_on
from shared.auth import Principal
from shared.catalogue import by_code
from shared.clock import today
from shared.commands import Attempt, Commands
from shared.db import lock_key, planned_for_arguments
from shared.errors import ConcurrencyConflict, NotFound
from shared.text import clean


def council_commands_of(runtime: Any, clock: Callable[[], date] = today) -> CouncilCommands:
    return CouncilCommands(runtime.pipeline.service(build_registry(), authorise=authorise), clock)


class CouncilCommands:
    def __init__(self, commands: Commands, clock: Callable[[], date] = today) -> None:
        self.commands = commands
        self.clock = clock

    async def convene(
        self,
        actor: Principal,
        *,
        title: str,
        meets_on: date,
        ballot: str,
        quorum: int,
        members: Sequence[Member],
        proposals: Sequence[UUID],
        idempotency_key: str | None = None,
    ) -> UUID:
        """A session on the accepted nominees of these proposals (sent to the caller's unit,
        their appraisal completed)."""
        given = {
            "title": title,
            "meets_on": meets_on,
            "ballot": ballot,
            "quorum": quorum,
            "members": [[m.subject, m.person_id, m.unit_id] for m in members],
            "proposals": list(proposals),
        }

        async def decide(attempt: Attempt) -> UUID:
            today_ = self.clock()
            if not today_ - timedelta(days=30) <= meets_on <= today_ + timedelta(days=366):
                raise CouncilInvalid(
                    "Ngày họp: từ 30 ngày trước đến một năm sau hôm nay.", field="meetsOn"
                )
            items = await _accepted(attempt.conn, actor.tenant, list(dict.fromkeys(proposals)))
            await _not_elsewhere(attempt.conn, actor.tenant, items)
            await _check_disclosed(attempt.conn, actor.tenant, items, meets_on)
            appraisals = await _appraisals(attempt, list(dict.fromkeys(proposals)))
            await _sessions_shown(attempt.conn, actor.tenant, appraisals)
            session = CouncilSession.convene(
                unit_id=actor.tenant,
                title=clean(title),
                meets_on=meets_on,
                ballot=ballot,
                quorum=quorum,
                members=await _members_known(attempt.conn, members),
                items=items,
            )
            # Its lists of items stored while the rest is decided and encoded (10,000 items:
            # 50 events, 0.4 s to store); nothing is read after this.
            await attempt.send(session)
            for appraisal in appraisals:
                appraisal.put_to_council(session_id=session.id, on=today_)
                attempt.save(appraisal)
            return session.id

        return await self.commands.run_in_transaction(
            actor, "ConveneCouncil", decide, idempotency_key=idempotency_key, input=given
        )

    async def disclose(
        self,
        actor: Principal,
        *,
        title: str,
        council_on: date,
        proposals: Sequence[UUID],
        idempotency_key: str | None = None,
    ) -> UUID:
        """The accepted nominees of these proposals published to the unit's subtree, today,
        ahead of the council of ``council_on``."""

        async def decide(attempt: Attempt) -> UUID:
            items = await _accepted(attempt.conn, actor.tenant, list(dict.fromkeys(proposals)))
            disclosure = Disclosure.publish(
                unit_id=actor.tenant,
                title=clean(title),
                on=self.clock(),
                council_on=council_on,
                items=items,
            )
            attempt.save(disclosure)
            return disclosure.id

        given = {"title": title, "council_on": council_on, "proposals": list(proposals)}
        return await self.commands.run(
            actor, "DiscloseNominees", decide, idempotency_key=idempotency_key, input=given
        )

    async def vote(
        self,
        actor: Principal,
        session_id: UUID,
        item_id: str | None,
        choice: str,
        *,
        items: Sequence[str] | None = None,
        idempotency_key: str | None = None,
    ) -> int:
        """The caller's vote, the same on one item (``item_id``), on these (``items``) or, with
        neither, on every item they have not voted on and may: on an open ballot with its
        choice, on a secret one into the ballot box. One transaction; answers how many."""

        async def decide(attempt: Attempt) -> int:
            session = await _session(attempt, session_id)
            session.check_voter(actor.subject)
            if item_id is not None:
                wanted = [item_id]
            elif items is not None:
                wanted = list(dict.fromkeys(items))
            else:
                wanted = [
                    i
                    for i, voters in session.voted.items()
                    if actor.subject not in voters and actor.subject not in session.recused[i]
                ]
            on = self.clock()
            if len(wanted) > 1:
                session.vote_many(voter=actor.subject, items=wanted, choice=choice, on=on)
            for item in wanted if len(wanted) == 1 else ():
                if session.ballot == SECRET_BALLOT:
                    session.cast_ballot(voter=actor.subject, item_id=item, choice=choice, on=on)
                else:
                    session.vote(voter=actor.subject, item_id=item, choice=choice, on=on)
            if session.ballot == SECRET_BALLOT and wanted:
                await _count_in(attempt.conn, actor.tenant, session_id, wanted, choice)
            attempt.save(session)
            return len(wanted)

        given = {
            "session": session_id,
            "item": item_id,
            "choice": choice,
            "items": list(items) if items is not None else None,
        }
        return await self.commands.run_in_transaction(
            actor,
            "CastVote",
            decide,
            lock=votes_lock(actor.tenant, session_id),
            authorise=council_member,
            idempotency_key=idempotency_key,
            input=given,
        )

    async def conclude(
        self, actor: Principal, session_id: UUID, *, idempotency_key: str | None = None
    ) -> None:
        """The tally, item by item, and who passed (rule COUNCIL_MAJORITY of the set in force
        on the day the council met)."""

        async def decide(attempt: Attempt) -> None:
            session = await _session(attempt, session_id)
            tally = session.open_tally
            if session.ballot == SECRET_BALLOT:
                tally = await _ballot_box(attempt.conn, actor.tenant, session_id)
            rules = rule_set_on(session.meets_on)
            session.conclude(
                tally=tally,
                more_than_percent=int(rules.number("COUNCIL_MAJORITY", "more_than_percent")),
                on=self.clock(),
            )
            # Its lists of results stored while the last is: 10,000 items' results are 23
            # events.
            await attempt.send(session)
            attempt.save(session)

        await self.commands.run_in_transaction(
            actor,
            "ConcludeCouncil",
            decide,
            idempotency_key=idempotency_key,
            input={"session": session_id},
        )


def votes_lock(unit: str, session_id: UUID) -> int:
    """The advisory lock a session's votes take, one vote after another: members voting at
    once each read the session and all but one met a conflict (of 12 at once, 7% still failed
    after the retries). A vote holds it a few milliseconds. Taken before the session is read,
    so keyed by the voter's unit too: a member of another unit naming this session's id takes
    a lock of its own, not this one."""
    return lock_key(f"council votes:{unit}:{session_id}")


async def _members_known(conn: asyncpg.Connection, members: Sequence[Member]) -> list[Member]:
    """The members as the session keeps them: a member named as a person is one of the people
    the unit reads (else NOT_FOUND: a made-up id would recuse no one), and from their unit,
    unless the officer gave another (a member from a nominee's unit is recused)."""
    persons = [m.person_id for m in members if m.person_id]
    # ids as a parameter, as units_of_people reads them
    async with planned_for_arguments(conn, len(persons)):
        rows = await conn.fetch(
            "SELECT person_id::text AS person_id, tenant_id, status FROM people "
            "WHERE person_id = ANY ($1::uuid[])",
            list(dict.fromkeys(persons)),
        )
    found = {r["person_id"]: r for r in rows}
    unknown = next((p for p in persons if p not in found), None)
    if unknown is not None:
        raise NotFound("(thành viên Hội đồng: không có người này trong sổ)", id=unknown)
    erased = next((p for p in persons if found[p]["status"] == "erased"), None)
    if erased is not None:
        raise PersonErasedError("(thành viên Hội đồng)", id=erased)
    return [
        Member(clean(m.subject), m.person_id, m.unit_id or found[m.person_id]["tenant_id"])
        if m.person_id
        else Member(clean(m.subject), "", m.unit_id)
        for m in members
    ]


async def _appraisals(attempt: Attempt, proposals: list[UUID]) -> list[Appraisal]:
    """The unit's appraisals of these proposals' current rounds (in its own log)."""
    rows = await attempt.conn.fetch(
        "SELECT proposal_id, round FROM proposals WHERE proposal_id = ANY ($1::uuid[])",
        proposals,
    )
    found = []
    for r in rows:
        appraisal = await attempt.get(appraisal_stream(r["proposal_id"], r["round"]))
        assert isinstance(appraisal, Appraisal)
        found.append(appraisal)
    return found


async def _sessions_shown(
    conn: asyncpg.Connection, unit: str, appraisals: Sequence[Appraisal]
) -> None:
    """The log (the appraisals, read from it) may know a session the read model does not show
    yet: then what ``_not_elsewhere`` read is stale, and the decision is made again once the
    projections have caught up (a conflict, as the pipeline retries one)."""
    known = {s for a in appraisals for s in a.sessions}
    if not known:
        return
    shown = await conn.fetchval(
        "SELECT count(*) FROM council_sessions WHERE tenant_id = $1 AND session_id = ANY ($2)",
        unit,
        list(known),
    )
    if shown < len(known):
        raise ConcurrencyConflict("(phiên họp vừa triệu tập chưa hiện trong sổ)")


async def _session(attempt: Attempt, session_id: UUID) -> CouncilSession:
    return await own(attempt, session_id, CouncilSession)


async def _accepted(
    conn: asyncpg.Connection, unit: str, proposals: list[UUID]
) -> list[CouncilItem]:
    if not proposals or len(proposals) > 1_000:
        raise CouncilInvalid("Cần 1–1.000 đề nghị.", field="proposals")
    found = await conn.fetch(
        "SELECT p.proposal_id, p.round FROM proposals p JOIN appraisals a "
        "ON a.tenant_id = p.to_unit AND a.proposal_id = p.proposal_id AND a.round = p.round "
        "WHERE p.proposal_id = ANY ($1::uuid[]) AND p.to_unit = $2 AND a.status = 'completed'",
        proposals,
        unit,
    )
    if len(found) != len(proposals):
        raise NotFound("(đề nghị chưa thẩm định xong, hay không gửi đến đơn vị)")
    # The verdicts and the nominees read apart and matched here: on a fresh server the planner
    # took the new verdicts' table for empty and joined 10,000 nominees to it by scanning it
    # again for each (8.5 s of conveneCouncil).
    verdicts = await conn.fetch(
        "SELECT v.proposal_id, v.nominee_id FROM unnest($2::uuid[], $3::integer[]) AS r "
        "(proposal_id, round) JOIN appraisal_verdicts v ON v.tenant_id = $1 "
        "AND v.proposal_id = r.proposal_id AND v.round = r.round WHERE v.verdict = 'accept'",
        unit,
        [r["proposal_id"] for r in found],
        [r["round"] for r in found],
    )
    accepted = {(v["proposal_id"], v["nominee_id"]) for v in verdicts}
    rows = [
        r
        for r in await conn.fetch(
            "SELECT n.tenant_id, n.proposal_id, n.nominee_id, n.who, n.award, n.person_id, "
            "n.unit_id FROM proposal_nominees n WHERE n.proposal_id = ANY ($1::uuid[]) "
            "ORDER BY n.proposal_id, n.added_seq",
            proposals,
        )
        if (r["proposal_id"], r["nominee_id"]) in accepted
    ]
    units = await units_of_people(conn, [r["person_id"] for r in rows if r["person_id"]])
    return [
        CouncilItem(
            item_id=f"{r['proposal_id']}:{r['nominee_id']}",
            proposal_id=str(r["proposal_id"]),
            proposer=r["tenant_id"],
            nominee_id=r["nominee_id"],
            who=r["who"],
            unit_of=units.get(r["person_id"]) or r["unit_id"] or r["tenant_id"],
            award=r["award"],
        )
        for r in rows
    ]


async def units_of_people(conn: asyncpg.Connection, persons: Sequence[str]) -> dict[str, str]:
    """Each person's unit, of those the caller reads. By the ids as a parameter, never by a join
    on a cast column: row-level security keeps a cast (not leakproof) above the index, and such
    a join scanned people once per row."""
    async with planned_for_arguments(conn, len(persons)):
        rows = await conn.fetch(
            "SELECT person_id::text AS person_id, tenant_id FROM people "
            "WHERE person_id = ANY ($1::uuid[])",
            list(dict.fromkeys(persons)),
        )
    return {r["person_id"]: r["tenant_id"] for r in rows}


async def _count_in(
    conn: asyncpg.Connection, unit: str, session_id: UUID, items: Sequence[str], choice: str
) -> None:
    """A secret ballot's choices added to the items' running counts: no row per ballot, so no
    row shares the voter's transaction with a choice of its own (the counts are cumulative)."""
    await conn.execute(
        "INSERT INTO ballot_box AS b (tenant_id, session_id, item_id, yes, no, abstain) "
        "SELECT $1, $2, i, ($4 = 'yes')::int, ($4 = 'no')::int, ($4 = 'abstain')::int "
        "FROM unnest($3::text[]) AS i ON CONFLICT (tenant_id, session_id, item_id) DO UPDATE "
        "SET yes = b.yes + EXCLUDED.yes, no = b.no + EXCLUDED.no, "
        "abstain = b.abstain + EXCLUDED.abstain",
        unit,
        session_id,
        list(items),
        choice,
    )


async def _ballot_box(
    conn: asyncpg.Connection, unit: str, session_id: UUID
) -> dict[str, dict[str, int]]:
    rows = await conn.fetch(
        "SELECT item_id, yes, no, abstain FROM ballot_box WHERE tenant_id = $1 AND session_id = $2",
        unit,
        session_id,
    )
    return {r["item_id"]: {"yes": r["yes"], "no": r["no"], "abstain": r["abstain"]} for r in rows}


async def _not_elsewhere(conn: asyncpg.Connection, unit: str, items: Sequence[CouncilItem]) -> None:
    """A nominee goes before one session at a time: not one still open on it, nor one that
    passed it and has not yet decided or forwarded it."""
    async with planned_for_arguments(conn, len(items)):
        taken = await _taken(conn, unit, items)
    if taken:
        raise CouncilInvalid(
            "Đã có trong một phiên họp khác (đang họp, hay đã đề nghị mà chưa quyết định).",
            items=[r["item_id"] for r in taken][:20],
        )


async def _taken(conn: asyncpg.Connection, unit: str, items: Sequence[CouncilItem]) -> list[Any]:
    return await conn.fetch(
        "SELECT DISTINCT i.item_id FROM council_items i JOIN council_sessions s "
        "ON s.tenant_id = i.tenant_id AND s.session_id = i.session_id "
        "WHERE i.tenant_id = $1 AND i.item_id = ANY ($2::text[]) AND (s.status = 'open' "
        "OR (i.passed AND i.decision_id IS NULL AND i.forwarded_in IS NULL))",
        unit,
        [i.item_id for i in items],
    )


async def _check_disclosed(
    conn: asyncpg.Connection, unit: str, items: Sequence[CouncilItem], meets_on: date
) -> None:
    """Rule DISCLOSURE: a state honour's nominee was published at least so many working days
    before the council meets (the days after the publication and before the meeting)."""
    state = [i for i in items if by_code()[i.award].state]
    if not state:
        return
    rules = rule_set_on(meets_on)
    days = int(rules.number("DISCLOSURE", "working_days"))
    rows = await conn.fetch(
        "SELECT item_id, min(published_on) AS day FROM disclosed_nominees "
        "WHERE tenant_id = $1 AND item_id = ANY ($2::text[]) GROUP BY item_id",
        unit,
        [i.item_id for i in state],
    )
    published = {r["item_id"]: r["day"] for r in rows}
    calendar = await working_calendar(conn)
    for item in state:
        day = published.get(item.item_id)
        window = calendar.working_days_between(day, meets_on - timedelta(days=1)) if day else 0
        if window < days:
            raise rules.broken(
                "DISCLOSURE", f"({by_code()[item.award].name}: {window} ngày làm việc)"
            )
