"""The council (issue 14, point 10), through GraphQL: a session convened on the nominees an
appraisal accepted, its members' votes (a member from a nominee's unit recused), an open and a
secret ballot (the log and the read model say who voted, never how, on a secret one), the tally
and who passed by the rule's majority."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from functools import partial

from shared.clock import today
from tests.awards.conftest import nodes
from tests.awards.test_appraisal import CONCLUDE, judge, keyed, sent_proposal
from tests.awards.test_people_graphql import AN, ERASE, register
from tests.registry.test_graphql import code_of, gql

CONVENE = """mutation($input: CouncilInput!) { conveneCouncil(input: $input) { id status
  items(first: 500) { edges { node { id recused } } } } }"""
VOTE = """mutation($session: ID!, $item: ID!, $choice: Choice!) {
  castVote(sessionId: $session, itemId: $item, choice: $choice) }"""
CLOSE = """mutation($session: ID!) { concludeCouncil(sessionId: $session) { status
  items(first: 500) { edges { node { id who awardName voters yes no abstain eligible passed } } } } }"""
ITEMS = """query($id: ID!) { councilSession(id: $id) { items(first: 500) { edges { node { id voters passed } } } } }"""
READ = """query($id: ID!, $item: ID!) { councilSession(id: $id) { ballot status
  members { subject unitId } votes(itemId: $item) { voter choice } } }"""


async def as_member(client, tokens, unit, subject, query, **variables):
    token = tokens.issue(tenant=unit, roles=["council"], subject=subject, ttl=timedelta(minutes=5))
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.json()


async def appraised(client, tokens, tree):
    pid, nominees, _ = await sent_proposal(client, tokens, tree)
    for nominee in nominees:
        await judge(client, tokens, tree.upper1, pid, nominee, "ACCEPT")
    done = await gql(client, tokens, tree.upper1, ["officer"], CONCLUDE, id=pid)
    assert done["data"]["concludeAppraisal"]["appraisal"] == "completed"
    return pid


def session_input(tree, pid, ballot):
    return {
        "title": "Phiên họp Hội đồng TĐKT quý IV",
        "meetsOn": today().isoformat(),
        "ballot": ballot,
        "quorum": 2,
        "members": [
            {"subject": "chu-tich", "unitId": tree.upper1},
            {"subject": "pho-chu-tich", "unitId": tree.upper1},
            {"subject": "uy-vien-cs1", "unitId": tree.cs1},  # from the nominees' unit
        ],
        "proposals": [pid],
    }


async def test_a_member_named_as_a_person_is_one_of_the_unit_s_people_and_from_their_unit(
    client, tokens, tree, owner
):
    pid = await appraised(client, tokens, tree)
    # given a person of the nominees' unit, and an id no one the unit reads has
    member = await register(client, tokens, tree.cs1, AN | {"staffNumber": uuid.uuid4().hex[:10]})
    given = session_input(tree, pid, "OPEN")
    stranger = {"subject": "khach", "personId": str(uuid.uuid4())}
    convened = partial(
        owner.fetchval,
        "SELECT count(*) FROM events WHERE tenant_id = $1 AND event_type = 'CouncilConvened'",
        tree.upper1,
    )
    before = await convened()

    async def convene_with(third):
        members = {"members": [*given["members"][:2], third]}
        return await gql(client, tokens, tree.upper1, ["officer"], CONVENE, input=given | members)

    # when a session names the stranger, then NOT_FOUND, and no session is written
    refused = await convene_with(stranger)
    assert code_of(refused) == "NOT_FOUND"
    assert "thành viên" in refused["errors"][0]["message"]  # the member, not a proposal
    assert await convened() == before
    # an erased person is refused as they are as a nominee
    erased = await register(client, tokens, tree.cs1, AN | {"staffNumber": uuid.uuid4().hex[:10]})
    gone = await gql(
        client, tokens, tree.cs1, ["officer"], ERASE, id=erased["id"], why="Nghị định 13/2023"
    )
    assert "errors" not in gone, gone
    refused = await convene_with({"subject": "x", "personId": erased["id"]})
    assert code_of(refused) == "PERSON_ERASED"
    assert await convened() == before
    # when it names the person, with no unit given, then they are recused as of their unit
    body = await convene_with({"subject": "uy-vien-an", "personId": member["id"]})
    items = nodes(body["data"]["conveneCouncil"]["items"])
    assert items and all(i["recused"] == ["uy-vien-an"] for i in items)


async def test_a_secret_ballot_records_who_voted_and_the_tally_never_who_voted_how(
    client, tokens, tree, owner
):
    pid = await appraised(client, tokens, tree)
    body = await gql(
        client, tokens, tree.upper1, ["officer"], CONVENE, input=session_input(tree, pid, "SECRET")
    )
    session = body["data"]["conveneCouncil"]
    person_item, unit_item = (i["id"] for i in nodes(session["items"]))
    assert all(i["recused"] == ["uy-vien-cs1"] for i in nodes(session["items"]))

    async def vote(subject, item, choice, unit=tree.upper1):
        return await as_member(
            client, tokens, unit, subject, VOTE, session=session["id"], item=item, choice=choice
        )

    assert (await vote("chu-tich", person_item, "YES"))["data"]["castVote"] is True
    await vote("pho-chu-tich", person_item, "NO")
    await vote("chu-tich", unit_item, "YES")
    await vote("pho-chu-tich", unit_item, "YES")
    assert code_of(await vote("uy-vien-cs1", unit_item, "YES")) == "COUNCIL_RECUSED"
    assert code_of(await vote("chu-tich", unit_item, "NO")) == "ALREADY_VOTED"
    assert code_of(await vote("khach", unit_item, "YES")) == "NOT_A_COUNCIL_MEMBER"
    assert code_of(await vote("chu-tich", unit_item, "YES", unit=tree.upper2)) == "NOT_FOUND"
    officer = await gql(
        client,
        tokens,
        tree.upper1,
        ["officer"],
        VOTE,
        session=session["id"],
        item=unit_item,
        choice="YES",
    )
    assert code_of(officer) == "FORBIDDEN"

    read = await gql(
        client, tokens, tree.upper1, ["officer"], READ, id=session["id"], item=person_item
    )
    votes = read["data"]["councilSession"]["votes"]
    assert votes == [
        {"voter": "chu-tich", "choice": None},
        {"voter": "pho-chu-tich", "choice": None},
    ]
    ballots = await owner.fetch(
        "SELECT data::text AS data FROM events WHERE tenant_id = $1 AND event_type = 'BallotCast'",
        tree.upper1,
    )
    assert len(ballots) == 4 and not any('"choice"' in b["data"] for b in ballots)
    columns = await owner.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'ballot_box'"
    )
    # Running counts per item: no row is one ballot, none shares a voter's transaction alone.
    assert {c["column_name"] for c in columns} == {
        "tenant_id",
        "session_id",
        "item_id",
        "yes",
        "no",
        "abstain",
    }

    closed = await gql(client, tokens, tree.upper1, ["officer"], CLOSE, session=session["id"])
    items = {i["id"]: i for i in nodes(closed["data"]["concludeCouncil"]["items"])}
    assert closed["data"]["concludeCouncil"]["status"] == "concluded"
    # 1 yes of 2 members who may vote is not more than half; 2 of 2 is.
    assert (items[person_item]["yes"], items[person_item]["no"], items[person_item]["passed"]) == (
        1,
        1,
        False,
    )
    assert (items[unit_item]["yes"], items[unit_item]["eligible"], items[unit_item]["passed"]) == (
        2,
        2,
        True,
    )
    assert code_of(await vote("pho-chu-tich", person_item, "YES")) == "COUNCIL_CLOSED"


async def test_an_open_ballot_shows_each_choice_and_who_reads_the_council(client, tokens, tree):
    pid = await appraised(client, tokens, tree)
    body = await gql(
        client, tokens, tree.upper1, ["officer"], CONVENE, input=session_input(tree, pid, "OPEN")
    )
    session = body["data"]["conveneCouncil"]
    item = nodes(session["items"])[0]["id"]
    await as_member(
        client,
        tokens,
        tree.upper1,
        "pho-chu-tich",
        VOTE,
        session=session["id"],
        item=item,
        choice="ABSTAIN",
    )
    for unit, visible in (("upper1", True), ("prov1", True), ("upper2", False), ("cs1", False)):
        read = await gql(
            client, tokens, getattr(tree, unit), ["officer"], READ, id=session["id"], item=item
        )
        found = read["data"]["councilSession"]
        assert (found is not None) is visible
        if found:
            assert found["votes"] == [{"voter": "pho-chu-tich", "choice": "ABSTAIN"}]
    # While the session is open, the votes cast so far.
    live = await gql(client, tokens, tree.upper1, ["officer"], ITEMS, id=session["id"])
    counted = {i["id"]: i["voters"] for i in nodes(live["data"]["councilSession"]["items"])}
    assert counted[item] == 1 and set(counted.values()) == {0, 1}
    closed = await gql(client, tokens, tree.upper1, ["officer"], CLOSE, session=session["id"])
    first = nodes(closed["data"]["concludeCouncil"]["items"])[0]
    assert (first["voters"], first["abstain"], first["passed"]) == (1, 1, False)  # no quorum


async def test_a_council_votes_only_on_what_an_appraisal_accepted(client, tokens, tree):
    pid, _, _ = await sent_proposal(client, tokens, tree)  # not appraised yet
    early = await gql(
        client, tokens, tree.upper1, ["officer"], CONVENE, input=session_input(tree, pid, "OPEN")
    )
    assert code_of(early) == "NOT_FOUND"
    elsewhere = await gql(
        client, tokens, tree.upper2, ["officer"], CONVENE, input=session_input(tree, pid, "OPEN")
    )
    assert code_of(elsewhere) == "NOT_FOUND"
    pid = await appraised(client, tokens, tree)
    bad = session_input(tree, pid, "OPEN") | {"quorum": 9}
    assert (
        code_of(await gql(client, tokens, tree.upper1, ["officer"], CONVENE, input=bad))
        == "COUNCIL_INVALID"
    )


async def test_a_member_votes_on_every_item_at_once_and_the_box_counts_each(
    client, tokens, tree, owner
):
    pid = await appraised(client, tokens, tree)
    body = await gql(
        client, tokens, tree.upper1, ["officer"], CONVENE, input=session_input(tree, pid, "SECRET")
    )
    session = body["data"]["conveneCouncil"]
    bulk = """mutation($session: ID!) { castVotes(sessionId: $session, choice: YES) }"""
    for member in ("chu-tich", "pho-chu-tich"):
        voted = await as_member(client, tokens, tree.upper1, member, bulk, session=session["id"])
        assert voted["data"]["castVotes"] == 2
    recused = await as_member(
        client, tokens, tree.upper1, "uy-vien-cs1", bulk, session=session["id"]
    )
    assert recused["data"]["castVotes"] == 0  # recused from both: nothing to vote on
    again = await as_member(client, tokens, tree.upper1, "chu-tich", bulk, session=session["id"])
    assert again["data"]["castVotes"] == 0
    boxed = await owner.fetch(
        "SELECT yes, no, abstain FROM ballot_box WHERE session_id = $1", uuid.UUID(session["id"])
    )
    assert [tuple(r) for r in boxed] == [(2, 0, 0), (2, 0, 0)]
    closed = await gql(client, tokens, tree.upper1, ["officer"], CLOSE, session=session["id"])
    assert all(
        i["passed"] and i["yes"] == 2 for i in nodes(closed["data"]["concludeCouncil"]["items"])
    )
    # "every item left" of a concluded session is refused, not "none": it was 0
    late = await as_member(client, tokens, tree.upper1, "chu-tich", bulk, session=session["id"])
    assert code_of(late) == "COUNCIL_CLOSED"
    stranger = await as_member(client, tokens, tree.upper1, "khach", bulk, session=session["id"])
    assert code_of(stranger) == "COUNCIL_CLOSED"


async def test_nothing_is_voted_before_the_council_meets(client, tokens, tree):
    pid = await appraised(client, tokens, tree)
    later = session_input(tree, pid, "SECRET") | {
        "meetsOn": (today() + timedelta(days=40)).isoformat()
    }
    body = await gql(client, tokens, tree.upper1, ["officer"], CONVENE, input=later)
    session = body["data"]["conveneCouncil"]
    early = await as_member(
        client,
        tokens,
        tree.upper1,
        "chu-tich",
        VOTE,
        session=session["id"],
        item=nodes(session["items"])[0]["id"],
        choice="YES",
    )
    assert code_of(early) == "COUNCIL_INVALID"
    closed = await gql(client, tokens, tree.upper1, ["officer"], CLOSE, session=session["id"])
    assert code_of(closed) == "COUNCIL_INVALID"
    far = session_input(tree, pid, "OPEN") | {"meetsOn": "2030-01-01"}
    assert (
        code_of(await gql(client, tokens, tree.upper1, ["officer"], CONVENE, input=far))
        == "COUNCIL_INVALID"
    )


async def test_a_nominee_goes_before_one_session_at_a_time(client, tokens, tree):
    pid = await appraised(client, tokens, tree)
    first = await gql(
        client, tokens, tree.upper1, ["officer"], CONVENE, input=session_input(tree, pid, "OPEN")
    )
    assert "errors" not in first
    second = await gql(
        client, tokens, tree.upper1, ["officer"], CONVENE, input=session_input(tree, pid, "OPEN")
    )
    assert code_of(second) == "COUNCIL_INVALID"


async def test_two_sessions_convened_at_once_on_one_proposal_take_it_once(client, tokens, tree):
    pid = await appraised(client, tokens, tree)
    both = await asyncio.gather(
        *(
            gql(
                client, tokens, tree.upper1, ["officer"], CONVENE, input=session_input(tree, pid, b)
            )
            for b in ("OPEN", "SECRET")
        )
    )
    assert sorted(code_of(b) or "ok" for b in both) == ["COUNCIL_INVALID", "ok"]


async def test_twelve_members_voting_at_once_are_each_counted(client, tokens, tree):
    # given a session of twelve members, none of them from the nominees' unit
    pid = await appraised(client, tokens, tree)
    members = [{"subject": f"uy-vien-{n}", "unitId": tree.upper1} for n in range(12)]
    given = session_input(tree, pid, "OPEN") | {"members": members, "quorum": 7}
    body = await gql(client, tokens, tree.upper1, ["officer"], CONVENE, input=given)
    session = body["data"]["conveneCouncil"]
    item = nodes(session["items"])[0]["id"]
    # when they all vote on one item at the same moment
    votes = await asyncio.gather(
        *(
            as_member(
                client,
                tokens,
                tree.upper1,
                m["subject"],
                VOTE,
                session=session["id"],
                item=item,
                choice="YES",
            )
            for m in members
        )
    )
    # then none is turned away (they once met conflicts), and each is counted once
    assert [v.get("errors") for v in votes] == [None] * 12
    read = await gql(client, tokens, tree.upper1, ["officer"], ITEMS, id=session["id"])
    voters = {i["id"]: i["voters"] for i in nodes(read["data"]["councilSession"]["items"])}
    assert voters[item] == 12


SESSIONS = """query($status: String, $first: Int!, $after: String) {
  councilSessions(status: $status, first: $first, after: $after) {
    edges { node { id status unitId } } pageInfo { hasNextPage endCursor } } }"""


async def test_a_unit_lists_its_own_council_sessions_a_page_at_a_time(client, tokens, tree):
    # given two sessions of the upper level's council
    convened = []
    for ballot in ("OPEN", "SECRET"):
        pid = await appraised(client, tokens, tree)
        body = await gql(
            client,
            tokens,
            tree.upper1,
            ["officer"],
            CONVENE,
            input=session_input(tree, pid, ballot),
        )
        convened.append(body["data"]["conveneCouncil"]["id"])
    read = partial(gql, client, tokens, tree.upper1, ["officer"], SESSIONS)
    # when they are listed a page of one at a time, then both come, once each
    first = (await read(first=1))["data"]["councilSessions"]
    assert first["pageInfo"]["hasNextPage"] is True
    second = (await read(first=1, after=first["pageInfo"]["endCursor"]))["data"]["councilSessions"]
    seen = [e["node"]["id"] for e in first["edges"] + second["edges"]]
    assert sorted(seen) == sorted(convened)
    assert {e["node"]["unitId"] for e in first["edges"] + second["edges"]} == {tree.upper1}
    # and by status
    assert (await read(first=10, status="concluded"))["data"]["councilSessions"]["edges"] == []
    assert code_of(await read(first=10, status="closed")) == "INVALID_INPUT"
    assert code_of(await read(first=10, after="bm90IGEgY3Vyc29y")) == "INVALID_INPUT"
    # a unit beside it lists none of them
    aside = await gql(client, tokens, tree.upper2, ["officer"], SESSIONS, first=10)
    assert aside["data"]["councilSessions"]["edges"] == []


PAGE = """query($id: ID!, $first: Int!, $after: String) { councilSession(id: $id) {
  items(first: $first, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } }
} }"""


async def test_a_sessions_items_are_read_a_page_at_a_time_by_its_readers_only(client, tokens, tree):
    # Given a session of two items
    pid = await appraised(client, tokens, tree)
    body = await gql(
        client, tokens, tree.upper1, ["officer"], CONVENE, input=session_input(tree, pid, "OPEN")
    )
    session = body["data"]["conveneCouncil"]
    every = [i["id"] for i in nodes(session["items"])]
    assert len(every) == 2

    # When they are read a page of one at a time, then the pages hold them all, in order
    read = partial(gql, client, tokens, tree.upper1, ["officer"], PAGE, id=session["id"])
    first = (await read(first=1))["data"]["councilSession"]["items"]
    assert first["pageInfo"]["hasNextPage"]
    second = (await read(first=1, after=first["pageInfo"]["endCursor"]))["data"]
    page = second["councilSession"]["items"]
    assert [i["id"] for i in nodes(first) + nodes(page)] == every
    assert not page["pageInfo"]["hasNextPage"]

    # A page past the bound, or a cursor not of ours, is refused; a unit aside reads nothing
    assert code_of(await read(first=501)) == "INVALID_INPUT"
    assert code_of(await read(first=1, after="không phải con trỏ")) == "INVALID_INPUT"
    aside = await gql(client, tokens, tree.upper2, ["officer"], PAGE, id=session["id"], first=1)
    assert aside["data"]["councilSession"] is None


async def test_votes_and_a_conclusion_resent_under_their_key_answer_as_the_first(
    client, tokens, tree, store
):
    pid = await appraised(client, tokens, tree)
    body = await gql(
        client, tokens, tree.upper1, ["officer"], CONVENE, input=session_input(tree, pid, "OPEN")
    )
    session = body["data"]["conveneCouncil"]["id"]
    votes = "mutation($session: ID!) { castVotes(sessionId: $session, choice: YES) }"
    for query, roles, subject in ((votes, ("council",), "chu-tich"), (CLOSE, ("officer",), "s")):
        key = uuid.uuid4().hex
        first = await keyed(
            client, tokens, tree.upper1, query, key, roles, subject, session=session
        )
        head = len(await store.read_log(tree.upper1))
        again = await keyed(
            client, tokens, tree.upper1, query, key, roles, subject, session=session
        )
        assert "errors" not in first and again == first, (first, again)
        assert len(await store.read_log(tree.upper1)) == head
    assert first["data"]["concludeCouncil"]["status"] == "concluded"
