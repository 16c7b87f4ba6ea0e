"""Long lists across events (shared/chunks.py): a province's decision of thousands of recipients,
a council of thousands of items, an appraisal of a 10,000-nominee proposal. Each of their events
stays well under the store's bound (256 KiB), and the aggregate their events make again holds
the whole list, in order."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import orjson
import pytest

from services.awards.domain import (
    Appraisal,
    CouncilInvalid,
    CouncilItem,
    CouncilSession,
    Decision,
    Disclosure,
    Member,
    NomineeMissing,
    Proposal,
    ReasonRequired,
    Recipient,
    Recused,
)
from services.awards.projections import build_registry
from shared import canonical
from shared.chunks import chunked
from shared.clock import today
from tests.awards.conftest import nodes
from tests.awards.test_appraisal import CONCLUDE
from tests.awards.test_chain import ISSUE
from tests.awards.test_council import CLOSE, as_member
from tests.awards.test_proposals import PDF, SUBMIT, draft, upload
from tests.registry.test_graphql import gql

BOUND = 256 * 1024
N = 3_000
ON = date(2025, 11, 20)


def stored_sizes_and_replay(aggregate, replay=True):
    """Each pending event's canonical size, and the aggregate its events make again (from its
    creation)."""
    registry = build_registry()
    events = aggregate.collect_events()
    sizes = [
        len(canonical.dumps(canonical.normalise(registry.encode(e).data, "$"))) for e in events
    ]
    again = None
    for e in events if replay else ():
        again = e.mutate(again)
    return [type(e).__name__ for e in events], sizes, again


def test_chunked_keeps_order_and_bounds_each_run():
    items = [{"id": n, "name": "Nguyễn Thị Ánh" * (n % 7)} for n in range(5_000)]
    runs = chunked(items, budget=16 * 1024)
    assert [i for run in runs for i in run] == items
    assert all(len(orjson.dumps(run)) <= 16 * 1024 + 2 for run in runs)
    assert chunked([]) == [[]] and chunked([{"x": "y" * 100}], budget=10) == [[{"x": "y" * 100}]]


def items(n: int) -> list[CouncilItem]:
    proposal = str(uuid.uuid4())
    return [
        CouncilItem(
            item_id=f"{proposal}:{k}",
            proposal_id=proposal,
            proposer="nb-cs-det-may",
            nominee_id=str(uuid.uuid4()),
            who=f"person:{uuid.uuid4()}",
            unit_of="nb-cs-det-may",
            award="lao_dong_tien_tien",
        )
        for k in range(n)
    ]


def test_a_council_of_thousands_of_items_convenes_concludes_and_settles_in_bounded_events():
    given = items(N)
    session = CouncilSession.convene(
        unit_id="nb-ldld",
        title="Phiên họp Hội đồng",
        meets_on=ON,
        ballot="open",
        quorum=1,
        members=[Member("chu-tich")],
        items=given,
    )
    names, sizes, again = stored_sizes_and_replay(session)
    assert names[0] == "CouncilConvened" and set(names[1:]) == {"CouncilItemsListed"}
    assert max(sizes) < BOUND and len(names) > 1
    assert list(again.voted) == [i.item_id for i in given]

    tally = {i.item_id: {"yes": 1} for i in given}
    for i in given:
        again.vote(voter="chu-tich", item_id=i.item_id, choice="yes", on=ON)
    again.collect_events()
    again.conclude(tally=tally, more_than_percent=50, on=ON)
    again.settle([i.item_id for i in given], decision_id=uuid.uuid4())
    events = again.collect_events()
    names = [type(e).__name__ for e in events]
    assert names[0] == "CouncilConcluded" and "CouncilResultsListed" in names
    assert names.count("CouncilItemsSettled") > 1
    assert again.passed == again.settled == [i.item_id for i in given]


def test_a_decision_of_thousands_of_recipients_is_issued_in_bounded_events():
    recipients = [
        Recipient(
            item_id=i.item_id,
            proposal_id=i.proposal_id,
            proposer=i.proposer,
            nominee_id=i.nominee_id,
            who=i.who,
            subject="person",
            award=i.award,
            kind="regular",
            cash_vnd=710_000,
            multiple_hundredths=30,
            year=2025,
        )
        for i in items(N)
    ]
    decision = Decision.issue(
        decision_id=uuid.uuid4(),
        unit_id="nb-ldld",
        unit_name="Liên đoàn Lao động tỉnh Ninh Bình",
        number=1,
        code="1/QĐ-LĐLĐ",
        title="Tặng danh hiệu Lao động tiên tiến năm 2025",
        on=ON,
        signer="chu-tich",
        council_session=None,
        rule_set_version="999/2024",
        base_salary_vnd=2_340_000,
        recipients=recipients,
    )
    names, sizes, again = stored_sizes_and_replay(decision)
    assert names[0] == "DecisionIssued" and set(names[1:]) == {"DecisionRecipientsListed"}
    assert max(sizes) < BOUND
    assert again.recipients == [r.item_id for r in recipients]


def test_an_appraisal_of_ten_thousand_nominees_opens_and_concludes_in_bounded_events():
    nominees = [str(uuid.uuid4()) for _ in range(10_000)]
    proposal = uuid.uuid4()
    appraisal = Appraisal.open(
        proposal_id=proposal, proposer="nb-cs", round=1, nominees=nominees, opened_on=ON
    )
    names, sizes, again = stored_sizes_and_replay(appraisal)
    assert names[0] == "AppraisalOpened" and set(names[1:]) == {"AppraisalNomineesListed"}
    assert max(sizes) < BOUND and again.nominees == nominees
    for n, nominee in enumerate(nominees):
        verdict = "accept" if n % 3 else "reject"
        again.judge(nominee_id=nominee, verdict=verdict, reason="x", rule="", on=ON)
    again.collect_events()
    again.conclude(on=ON)
    registry = build_registry()
    events = again.collect_events()
    data = [registry.encode(e).data for e in events]
    assert type(events[0]).__name__ == "AppraisalCompleted" and len(events) > 1
    assert sum(len(d["accepted"]) for d in data) == len([n for n in range(10_000) if n % 3])
    assert sum(len(d["rejected"]) for d in data) == len(range(0, 10_000, 3))

    returned = Proposal.draft(
        unit_id="nb-cs", title="Đề nghị", kind="regular", topic="", year=2025, on=ON
    )
    returned.collect_events()
    returned.status, returned.round = "submitted", 1  # as its submission left it
    returned.reopen(round=1, returned=nominees, on=ON)
    names, sizes, _ = stored_sizes_and_replay(returned, replay=False)
    assert names[0] == "ProposalReturned" and set(names[1:]) == {"ProposalReturnListed"}
    assert max(sizes) < BOUND


def test_a_long_disclosure_is_published_in_bounded_events():
    given = items(N)
    disclosure = Disclosure.publish(
        unit_id="nb-ldld", title="Công khai", on=ON, council_on=date(2025, 12, 10), items=given
    )
    names, sizes, again = stored_sizes_and_replay(disclosure)
    assert set(names[1:]) == {"DisclosedNomineesListed"} and max(sizes) < BOUND
    assert again.items == [i.item_id for i in given]


# --- through GraphQL, on the real store --------------------------------------------------------

PEOPLE = """mutation($people: [PersonInput!]!) { registerPeople(people: $people) { written
  errorCount } }"""
PEOPLE_IDS = """query($unit: ID!, $after: String) { people(unitId: $unit, first: 500, after: $after) {
  edges { node { id } } pageInfo { hasNextPage endCursor } } }"""
ADD_MANY = """mutation($id: ID!, $nominees: [NomineeInput!]!) {
  addNominees(proposalId: $id, nominees: $nominees) { written errorCount } }"""
APPRAISE_ALL = """mutation($id: ID!) { appraiseNominees(proposalId: $id, verdict: ACCEPT) {
  nomineeCount } }"""
VOTE_ALL = """mutation($session: ID!) { castVotes(sessionId: $session, choice: YES) }"""
COUNCIL = """mutation($input: CouncilInput!) { conveneCouncil(input: $input) { id } }"""
DECIDED = """query($id: ID!) { decision(id: $id) { recipientCount cashTotalVnd } }"""
ITEM_PAGES = """query($id: ID!, $a: String) { councilSession(id: $id) {
  items(first: 500, after: $a) { edges { node { who passed } } pageInfo { hasNextPage endCursor } } } }"""
RECIPIENT_PAGES = """query($id: ID!, $a: String) { decision(id: $id) {
  recipients(first: 500, after: $a) { edges { node { itemId } } pageInfo { hasNextPage endCursor } }
} }"""
LONG = 1_200  # past what one event held before (about 700 items, 800 recipients)


async def test_a_proposal_of_a_thousand_nominees_goes_from_submission_to_one_decision(
    client, tokens, tree
):
    people = [
        {"fullName": f"Người lao động {n}", "gender": "FEMALE", "staffNumber": f"L{n:05}"}
        for n in range(LONG)
    ]
    body = await gql(client, tokens, tree.cs1, ["officer"], PEOPLE, people=people)
    assert body["data"]["registerPeople"]["written"] == LONG, body
    ids, after = [], None
    while True:
        page = await gql(
            client, tokens, tree.cs1, ["officer"], PEOPLE_IDS, unit=tree.cs1, after=after
        )
        ids += [e["node"]["id"] for e in page["data"]["people"]["edges"]]
        if not page["data"]["people"]["pageInfo"]["hasNextPage"]:
            break
        after = page["data"]["people"]["pageInfo"]["endCursor"]
    ids.reverse()  # an order of the officer's, not the register's
    pid = await draft(client, tokens, tree.cs1)
    nominees = [{"subject": "PERSON", "personId": i, "award": "lao_dong_tien_tien"} for i in ids]
    added = await gql(client, tokens, tree.cs1, ["officer"], ADD_MANY, id=pid, nominees=nominees)
    assert added["data"]["addNominees"] == {"written": LONG, "errorCount": 0}, added
    for kind in ("memo", "achievement_report", "council_minutes"):
        await upload(client, tokens, tree.cs1, pid, kind, PDF + kind.encode())
    sent = await gql(client, tokens, tree.cs1, ["officer"], SUBMIT, id=pid)
    assert sent["data"]["submitProposal"]["nomineeCount"] == LONG, sent

    judged = await gql(client, tokens, tree.upper1, ["officer"], APPRAISE_ALL, id=pid)
    assert "errors" not in judged, judged
    done = await gql(client, tokens, tree.upper1, ["officer"], CONCLUDE, id=pid)
    assert done["data"]["concludeAppraisal"]["appraisal"] == "completed", done
    session = {
        "title": "Phiên họp Hội đồng",
        "meetsOn": today().isoformat(),
        "ballot": "OPEN",
        "quorum": 1,
        "members": [{"subject": "chu-tich"}],
        "proposals": [pid],
    }
    convened = await gql(client, tokens, tree.upper1, ["officer"], COUNCIL, input=session)
    sid = convened["data"]["conveneCouncil"]["id"]
    votes = await as_member(client, tokens, tree.upper1, "chu-tich", VOTE_ALL, session=sid)
    assert votes["data"]["castVotes"] == LONG, votes
    closed = await gql(client, tokens, tree.upper1, ["officer"], CLOSE, session=sid)
    assert len(nodes(closed["data"]["concludeCouncil"]["items"])) == 500  # its first page
    items, after = [], None
    while True:  # the whole list, a page at a time
        page = await gql(client, tokens, tree.upper1, ["officer"], ITEM_PAGES, id=sid, a=after)
        found = page["data"]["councilSession"]["items"]
        items += nodes(found)
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]
    assert len(items) == LONG and all(i["passed"] for i in items)
    # The council's list keeps the proposal's order across the runs it was listed in.
    assert [i["who"] for i in items] == [f"person:{i}" for i in ids]
    issued = await gql(
        client, tokens, tree.upper1, ["approver"], ISSUE, session=sid, title="Tặng LĐTT"
    )
    decision = issued["data"]["issueDecision"]
    assert decision["recipientCount"] == LONG, issued
    read = await gql(client, tokens, tree.upper1, ["officer"], DECIDED, id=decision["id"])
    assert read["data"]["decision"]["recipientCount"] == LONG
    recipients, after = [], None
    while True:  # its recipients, a page at a time, by item
        page = await gql(
            client, tokens, tree.upper1, ["officer"], RECIPIENT_PAGES, id=decision["id"], a=after
        )
        found = page["data"]["decision"]["recipients"]
        recipients += [r["itemId"] for r in nodes(found)]
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]
    assert len(recipients) == len(set(recipients)) == LONG  # each once, none left out
    assert (
        read["data"]["decision"]["cashTotalVnd"]
        == LONG * nodes(decision["recipients"])[0]["cashVnd"]
    )


def test_a_bulk_verdict_and_a_bulk_vote_are_a_few_events_or_refused_whole():
    nominees = [str(uuid.uuid4()) for _ in range(10_000)]
    appraisal = Appraisal.open(
        proposal_id=uuid.uuid4(), proposer="nb-cs", round=1, nominees=nominees, opened_on=ON
    )
    appraisal.collect_events()
    with pytest.raises(NomineeMissing):
        appraisal.judge_many(
            nominees=[*nominees, "stranger"], verdict="accept", reason="", rule="", on=ON
        )
    with pytest.raises(ReasonRequired):
        appraisal.judge_many(nominees=nominees, verdict="reject", reason="", rule="", on=ON)
    assert appraisal.collect_events() == [] and appraisal.verdicts == {}
    appraisal.judge_many(nominees=nominees, verdict="accept", reason="", rule="", on=ON)
    names, sizes, _ = stored_sizes_and_replay(appraisal, replay=False)
    assert set(names) == {"NomineesAppraised"} and len(names) < 10 and max(sizes) < BOUND

    given = items(3)
    members = [Member("chu-tich"), Member("uy-vien", unit_id="nb-cs-det-may")]
    session = CouncilSession.convene(
        unit_id="nb-ldld",
        title="Phiên họp",
        meets_on=ON,
        ballot="secret",
        quorum=1,
        members=members,
        items=given,
    )
    session.collect_events()
    ids = [i.item_id for i in given]
    for refused, voter, wanted in (
        (CouncilInvalid, "chu-tich", [ids[0], ids[0]]),  # an item twice
        (Recused, "uy-vien", ids),  # from the nominees' unit
    ):
        with pytest.raises(refused):
            session.vote_many(voter=voter, items=wanted, choice="yes", on=ON)
    assert session.collect_events() == []
    session.vote_many(voter="chu-tich", items=ids, choice="yes", on=ON)
    [cast] = session.collect_events()
    assert type(cast).__name__ == "BallotsCast" and not hasattr(cast, "choice")


async def test_a_keyed_bulk_of_thousands_of_rows_answers_and_answers_again(client, tokens, tree):
    an = await register_one(client, tokens, tree.cs1)
    pid = await draft(client, tokens, tree.cs1)
    rows = [{"subject": "PERSON", "personId": an, "award": "lao_dong_tien_tien"}] + [
        {"subject": "PERSON", "personId": an, "award": f"khong-co-{n}"} for n in range(4_000)
    ]
    token = tokens.issue(tenant=tree.cs1, roles=["officer"], subject="s", ttl=timedelta(minutes=5))
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "nhieu-dong-1"}
    body = {"query": ADD_MANY_ERRORS, "variables": {"id": pid, "nominees": rows}}
    answers = [(await client.post("/graphql", json=body, headers=headers)).json() for _ in (1, 2)]
    for answer in answers:  # the second is the first's, read back: one append in all
        assert answer["data"]["addNominees"]["written"] == 1, answer
        assert answer["data"]["addNominees"]["errorCount"] == 4_000
        assert len(answer["data"]["addNominees"]["errors"]) == 200  # the first, bounded
    assert answers[0] == answers[1]


ADD_MANY_ERRORS = """mutation($id: ID!, $nominees: [NomineeInput!]!) {
  addNominees(proposalId: $id, nominees: $nominees) { written errorCount errors { row code } } }"""


async def register_one(client, tokens, unit):
    body = await gql(
        client,
        tokens,
        unit,
        ["officer"],
        PEOPLE,
        people=[{"fullName": "Nguyễn Thị Ánh", "gender": "FEMALE", "staffNumber": "K-1"}],
    )
    assert body["data"]["registerPeople"]["written"] == 1
    page = await gql(client, tokens, unit, ["officer"], PEOPLE_IDS, unit=unit, after=None)
    return page["data"]["people"]["edges"][0]["node"]["id"]
