"""The whole chain across three levels, through GraphQL (issue 14, points 7-11 and 14): a
grassroots union proposes a person's Lao động tiên tiến and its own TLĐ Bằng khen; its upper-level
union appraises, its council passes both, its approver decides what it may (the Lao động tiên
tiến, with its cash) and forwards the rest; the province does the same and forwards again; TLĐ
decides the Bằng khen. Decisions are numbered in each unit's gapless yearly series and published
to its subtree; the person's award history shows what they received."""

from __future__ import annotations

import asyncio
import uuid

from services.awards.domain import DecisionSeries
from services.awards.rules import base_salary_on, cash_vnd, rule_set_on
from shared.clock import today
from tests.awards.conftest import nodes
from tests.awards.test_appraisal import CONCLUDE, judge, sent_proposal
from tests.awards.test_council import CLOSE, CONVENE, VOTE, as_member
from tests.awards.test_proposals import PDF, SUBMIT, upload
from tests.registry.test_graphql import code_of, gql

ISSUE = """mutation($session: ID!, $title: String!, $items: [ID!]) {
  issueDecision(sessionId: $session, title: $title, items: $items) { id code number year signer
    recipientCount cashTotalVnd recipients(first: 500) { edges { node { who awardName cashVnd kind person { fullName } } } } } }"""
FORWARD = """mutation($session: ID!) { forwardNominees(sessionId: $session) { id status unitId
  nomineeCount documents { kind } } }"""
SUFFIX = "mutation($suffix: String!) { setDecisionSuffix(suffix: $suffix) }"
HISTORY = """query($person: ID!) { awardHistory(personId: $person) { year award awardName
  decisionCode decidedBy cashVnd revokedOn } }"""
ONE_DECISION = "query($id: ID!) { decision(id: $id) { code recipientCount } }"
YEAR = """query($year: Int!, $unit: ID) { awardYear(year: $year, unitId: $unit) { persons
  directWorkers directWorkerShare women womenShare collectives cashVnd
  byAward { award persons collectives cashVnd } } }"""
REGISTER = """query($unit: ID, $subtree: Boolean!, $year: Int, $award: String) {
  decisions(unitId: $unit, subtree: $subtree, year: $year, award: $award, first: 10) {
    total cashTotalVnd edges { node { code unitId } } } }"""


async def appraise_all(client, tokens, unit, pid):
    for nominee in await _nominee_ids(client, tokens, unit, pid):
        await judge(client, tokens, unit, pid, nominee, "ACCEPT")
    done = await gql(client, tokens, unit, ["officer"], CONCLUDE, id=pid)
    assert done["data"]["concludeAppraisal"]["appraisal"] == "completed", done


async def _nominee_ids(client, tokens, unit, pid):
    query = (
        "query($id: ID!) { proposal(id: $id) { nominees(first: 50) { edges { node { id } } } } }"
    )
    body = await gql(client, tokens, unit, ["officer"], query, id=pid)
    return [e["node"]["id"] for e in body["data"]["proposal"]["nominees"]["edges"]]


async def council_passes(client, tokens, unit, pid):
    """A session of ``unit``'s council on the proposal (or the proposals: a list), every item
    passed by its two members."""
    session = {
        "title": "Phiên họp Hội đồng",
        "meetsOn": today().isoformat(),
        "ballot": "OPEN",
        "quorum": 2,
        "members": [{"subject": "chu-tich"}, {"subject": "uy-vien"}],
        "proposals": pid if isinstance(pid, list) else [pid],
    }
    body = await gql(client, tokens, unit, ["officer"], CONVENE, input=session)
    convened = body["data"]["conveneCouncil"]
    for item in nodes(convened["items"]):
        for member in ("chu-tich", "uy-vien"):
            await as_member(
                client,
                tokens,
                unit,
                member,
                VOTE,
                session=convened["id"],
                item=item["id"],
                choice="YES",
            )
    closed = await gql(client, tokens, unit, ["officer"], CLOSE, session=convened["id"])
    assert all(i["passed"] for i in nodes(closed["data"]["concludeCouncil"]["items"]))
    return convened["id"], [i["id"] for i in nodes(convened["items"])]


async def forwarded_and_sent(client, tokens, unit, session, expected=1):
    body = await gql(client, tokens, unit, ["officer"], FORWARD, session=session)
    [proposal] = body["data"]["forwardNominees"]
    assert (proposal["status"], proposal["unitId"], proposal["nomineeCount"]) == (
        "draft",
        unit,
        expected,
    )
    assert {d["kind"] for d in proposal["documents"]} == {"other"}  # the lower unit's dossier
    early = await gql(client, tokens, unit, ["officer"], SUBMIT, id=proposal["id"])
    assert code_of(early) == "PROPOSAL_INCOMPLETE"  # its own memo, report and minutes first
    for kind in ("memo", "achievement_report", "council_minutes"):
        await upload(client, tokens, unit, proposal["id"], kind, PDF + f"{unit} {kind}".encode())
    sent = await gql(client, tokens, unit, ["officer"], SUBMIT, id=proposal["id"])
    assert sent["data"]["submitProposal"]["status"] == "submitted", sent
    return proposal["id"], sent["data"]["submitProposal"]["toUnit"]


async def test_the_chain_from_a_grassroots_union_to_tld(client, tokens, tree):
    pid, _, an = await sent_proposal(client, tokens, tree)

    # The upper-level union: appraisal, council, a decision on what it may decide.
    await appraise_all(client, tokens, tree.upper1, pid)
    session, _ = await council_passes(client, tokens, tree.upper1, pid)
    await gql(client, tokens, tree.upper1, ["approver"], SUFFIX, suffix="QĐ-CĐ")
    officer_tries = await gql(
        client, tokens, tree.upper1, ["officer"], ISSUE, session=session, title="x"
    )
    assert code_of(officer_tries) == "FORBIDDEN"
    body = await gql(
        client,
        tokens,
        tree.upper1,
        ["approver"],
        ISSUE,
        session=session,
        title="Tặng danh hiệu Lao động tiên tiến năm 2025",
    )
    decision = body["data"]["issueDecision"]
    on = today()
    expected = cash_vnd(0.3, base_salary_on(on), rule_set_on(on))
    assert (decision["code"], decision["number"], decision["year"]) == ("1/QĐ-CĐ", 1, on.year)
    assert nodes(decision["recipients"]) == [
        {
            "who": f"person:{an['id']}",
            "awardName": "Lao động tiên tiến",
            "cashVnd": expected,
            "kind": "regular",
            "person": {"fullName": "Nguyễn Thị Ánh"},
        }
    ]
    assert (decision["signer"], decision["cashTotalVnd"]) == ("s", expected)
    again = await gql(client, tokens, tree.upper1, ["approver"], ISSUE, session=session, title="x")
    assert code_of(again) == "COUNCIL_INVALID"  # nothing left it may decide

    # Beyond its competence: forwarded to the province, then to TLĐ.
    proposal, to = await forwarded_and_sent(client, tokens, tree.upper1, session)
    assert to == tree.prov1
    await appraise_all(client, tokens, tree.prov1, proposal)
    session, _ = await council_passes(client, tokens, tree.prov1, proposal)
    refused = await gql(client, tokens, tree.prov1, ["approver"], ISSUE, session=session, title="x")
    assert code_of(refused) == "COUNCIL_INVALID"
    proposal, to = await forwarded_and_sent(client, tokens, tree.prov1, session)
    assert to == tree.tld
    await appraise_all(client, tokens, tree.tld, proposal)
    session, items = await council_passes(client, tokens, tree.tld, proposal)
    body = await gql(
        client,
        tokens,
        tree.tld,
        ["approver"],
        ISSUE,
        session=session,
        title="Tặng Bằng khen của Ban Chấp hành Tổng Liên đoàn",
        items=items,
    )
    tld_decision = body["data"]["issueDecision"]
    assert (tld_decision["code"], tld_decision["recipientCount"]) == ("1/QĐ-KT", 1)
    assert nodes(tld_decision["recipients"])[0]["who"] == f"unit:{tree.cs1}"
    assert nodes(tld_decision["recipients"])[0]["cashVnd"] == cash_vnd(
        2.0, base_salary_on(on), rule_set_on(on)
    )

    # Published to each deciding unit's subtree: the grassroots union reads both; a unit aside
    # reads TLĐ's (the whole union is its subtree), not the upper-level union's.
    for decided, reader, visible in (
        (decision, tree.cs1, True),
        (decision, tree.upper2, False),
        (decision, tree.prov2, False),
        (tld_decision, tree.cs1, True),
        (tld_decision, tree.prov2, True),
    ):
        read = await gql(client, tokens, reader, ["officer"], ONE_DECISION, id=decided["id"])
        assert (read["data"]["decision"] is not None) is visible
    history = await gql(client, tokens, tree.cs1, ["officer"], HISTORY, person=an["id"])
    assert history["data"]["awardHistory"] == [
        {
            "year": 2025,  # the proposal's year, which the award is for
            "award": "lao_dong_tien_tien",
            "awardName": "Lao động tiên tiến",
            "decisionCode": "1/QĐ-CĐ",
            "decidedBy": tree.upper1,
            "cashVnd": expected,
            "revokedOn": None,
        }
    ]
    register = await gql(
        client, tokens, tree.prov1, ["officer"], REGISTER, subtree=True, year=on.year
    )
    codes = sorted(e["node"]["code"] for e in register["data"]["decisions"]["edges"])
    assert codes == ["1/QĐ-CĐ"] and register["data"]["decisions"]["total"] == 1
    tld = await gql(
        client, tokens, tree.tld, ["officer"], REGISTER, subtree=True, award="bang_khen_tld"
    )
    assert [e["node"]["code"] for e in tld["data"]["decisions"]["edges"]] == ["1/QĐ-KT"]
    aside = await gql(
        client, tokens, tree.upper2, ["officer"], REGISTER, unit=tree.upper1, subtree=False
    )
    assert aside["data"]["decisions"] is None

    # The province's year 2025: one woman, a direct worker; one collective; the cash of both.
    figures = await gql(client, tokens, tree.prov1, ["officer"], YEAR, year=2025)
    year = figures["data"]["awardYear"]
    bang_khen = cash_vnd(2.0, base_salary_on(on), rule_set_on(on))
    assert (year["persons"], year["directWorkers"], year["directWorkerShare"]) == (1, 1, 100.0)
    assert (year["women"], year["womenShare"], year["collectives"]) == (1, 100.0, 1)
    assert year["cashVnd"] == expected + bang_khen
    assert [(a["award"], a["persons"], a["collectives"]) for a in year["byAward"]] == [
        ("bang_khen_tld", 0, 1),
        ("lao_dong_tien_tien", 1, 0),
    ]
    elsewhere = await gql(
        client, tokens, tree.upper2, ["officer"], YEAR, year=2025, unit=tree.upper1
    )
    assert elsewhere["data"]["awardYear"] is None
    quiet = await gql(client, tokens, tree.prov1, ["officer"], YEAR, year=2019)
    assert quiet["data"]["awardYear"] == {
        "persons": 0,
        "directWorkers": 0,
        "directWorkerShare": None,
        "women": 0,
        "womenShare": None,
        "collectives": 0,
        "cashVnd": 0,
        "byAward": [],
    }

    # Histories read through the decisions the reader may read.
    unit_history = "query($unit: ID!) { unitAwardHistory(unitId: $unit) { award decisionCode } }"
    own = await gql(client, tokens, tree.cs1, ["officer"], unit_history, unit=tree.cs1)
    assert own["data"]["unitAwardHistory"] == [
        {"award": "bang_khen_tld", "decisionCode": "1/QĐ-KT"}
    ]
    beside = await gql(client, tokens, tree.upper2, ["officer"], HISTORY, person=an["id"])
    assert beside["data"]["awardHistory"] == []  # the upper-level union's decision is not its


async def test_a_units_numbers_are_gapless_under_concurrent_decisions(client, tokens, tree):
    sessions = []
    for _ in range(3):
        pid, _, _ = await sent_proposal(client, tokens, tree)
        await appraise_all(client, tokens, tree.upper1, pid)
        sessions.append((await council_passes(client, tokens, tree.upper1, pid))[0])
    bodies = await asyncio.gather(
        *(
            gql(client, tokens, tree.upper1, ["approver"], ISSUE, session=s, title="Khen thưởng")
            for s in sessions
        )
    )
    assert all("errors" not in b for b in bodies), bodies
    numbers = sorted(b["data"]["issueDecision"]["number"] for b in bodies)
    assert numbers == [1, 2, 3]


def test_a_series_starts_again_each_year():
    import uuid

    series = DecisionSeries.open(unit_id="u", suffix="QĐ-LĐLĐ")
    taken = [series.take(year=y, decision_id=uuid.uuid4()) for y in (2025, 2025, 2026, 2025)]
    assert taken == [(1, "1/QĐ-LĐLĐ"), (2, "2/QĐ-LĐLĐ"), (1, "1/QĐ-LĐLĐ"), (3, "3/QĐ-LĐLĐ")]


async def test_a_passed_item_is_held_by_its_session_until_decided_or_forwarded(
    client, tokens, tree, owner
):
    # Given a proposal whose two nominees a council of the upper level passed
    pid, _, an = await sent_proposal(client, tokens, tree)
    await appraise_all(client, tokens, tree.upper1, pid)
    session, _ = await council_passes(client, tokens, tree.upper1, pid)
    again = {
        "title": "Phiên họp thứ hai",
        "meetsOn": today().isoformat(),
        "ballot": "OPEN",
        "quorum": 1,
        "members": [{"subject": "chu-tich"}],
        "proposals": [pid],
    }

    # When the unit puts the proposal before another session while they wait for a decision
    held = await gql(client, tokens, tree.upper1, ["officer"], CONVENE, input=again)

    # Then it is refused: they are in another session
    assert code_of(held) == "COUNCIL_INVALID"
    assert "phiên họp khác" in held["errors"][0]["message"]

    # When the approver decides the one it may, and the officer forwards the other
    issued = await gql(
        client, tokens, tree.upper1, ["approver"], ISSUE, session=session, title="Khen thưởng"
    )
    decision = issued["data"]["issueDecision"]["id"]
    forwarded = await gql(client, tokens, tree.upper1, ["officer"], FORWARD, session=session)
    [upward] = forwarded["data"]["forwardNominees"]

    # Then the session's items record what settled each: the person's the decision, the
    # collective's the proposal that carries it upward
    rows = await owner.fetch(
        "SELECT who, decision_id::text, forwarded_in::text FROM council_items "
        "WHERE session_id = $1",
        uuid.UUID(session),
    )
    assert {r["who"]: (r["decision_id"], r["forwarded_in"]) for r in rows} == {
        f"person:{an['id']}": (decision, None),
        f"unit:{tree.cs1}": (None, upward["id"]),
    }
