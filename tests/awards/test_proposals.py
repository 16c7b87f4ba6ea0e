"""Proposals (issue 14, points 7 and 8) as specifications, through GraphQL and REST: a grassroots
union drafts a proposal, the rules in force are checked as each nominee is added (a nominee that
breaks one is kept, shown with the rule's code, version and source, and holds the submission),
its dossier's documents are uploaded, and it is submitted to its direct upper level, whose inbox
shows it with its appraisal deadline in working days. Each read path with its isolation."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from services.awards import commands_proposals
from services.awards.commands_proposals import proposal_commands_of
from services.awards.domain import Nominee  # noqa: F401  (the shape the inputs map to)
from shared.calendar import WorkingCalendar
from shared.errors import DomainError
from tests.awards.conftest import officer
from tests.awards.test_people_graphql import register
from tests.registry.test_graphql import code_of, gql

DRAFT = """mutation($input: ProposalInput!) { draftProposal(input: $input) { id status unitId
  kind year } }"""
ADD = """mutation($id: ID!, $input: NomineeInput!) { addNominee(proposalId: $id, input: $input) {
  id subject award awardName unitId findings { rule version source message }
  person { fullName } } }"""
REMOVE = """mutation($id: ID!, $nominee: ID!) { removeNominee(proposalId: $id, nomineeId: $nominee) {
  nomineeCount flaggedCount } }"""
SUBMIT = """mutation($id: ID!) { submitProposal(proposalId: $id) { status toUnit submittedOn dueOn
  overdue ruleSetVersion nomineeCount } }"""
ONE = """query($id: ID!) { proposal(id: $id) { id status toUnit nomineeCount flaggedCount
  documents { kind sha256 mediaType size }
  nominees(first: 10) { edges { node { award findings { rule } person { fullName } } } } } }"""
INBOX = """{ proposalInbox(first: 10) { edges { node { id unitId status dueOn overdue } } } }"""
MINE = """{ myProposals(first: 10) { edges { node { id status } } } }"""

PDF = b"%PDF-1.7\n% to trinh\n"


async def draft(client, tokens, unit, **extra):
    body = await gql(
        client,
        tokens,
        unit,
        ["officer"],
        DRAFT,
        input={"title": "Đề nghị khen thưởng năm 2025", "kind": "REGULAR", "year": 2025} | extra,
    )
    assert "errors" not in body, body
    return body["data"]["draftProposal"]["id"]


async def add(client, tokens, unit, proposal, **nominee):
    return await gql(client, tokens, unit, ["officer"], ADD, id=proposal, input=nominee)


async def upload(client, tokens, unit, proposal, kind, content, roles=("officer",)):
    token = tokens.issue(tenant=unit, roles=list(roles), subject="s", ttl=timedelta(minutes=5))
    return await client.post(
        f"/proposals/{proposal}/documents?kind={kind}",
        files={"file": (f"{kind}.pdf", content)},
        headers={"Authorization": f"Bearer {token}"},
    )


async def test_a_nominee_breaking_a_rule_is_kept_with_the_rule_and_holds_the_submission(
    client, tokens, tree
):
    an = await register(client, tokens, tree.cs1)
    pid = await draft(client, tokens, tree.cs1)
    cstdcs = await add(
        client,
        tokens,
        tree.cs1,
        pid,
        subject="PERSON",
        personId=an["id"],
        award="Chiến sĩ thi đua cơ sở",
    )
    nominee = cstdcs["data"]["addNominee"]
    assert nominee["award"] == "chien_si_thi_dua_co_so"
    assert nominee["person"] == {"fullName": "Nguyễn Thị Ánh"}
    assert [(f["rule"], f["version"]) for f in nominee["findings"]] == [
        ("CSTDCS_PREREQUISITES", "999/2024")
    ]
    assert nominee["findings"][0]["source"].startswith("Luật 06/2022/QH15")
    own = await add(
        client, tokens, tree.cs1, pid, subject="COLLECTIVE", unitId=tree.cs1, award="giay_khen_cdcs"
    )
    assert [f["rule"] for f in own["data"]["addNominee"]["findings"]] == ["COMPETENCE"]
    twice = await add(
        client,
        tokens,
        tree.cs1,
        pid,
        subject="PERSON",
        personId=an["id"],
        award="lao_dong_tien_tien",
    )
    assert [f["rule"] for f in twice["data"]["addNominee"]["findings"]] == [
        "ONE_ACHIEVEMENT_ONE_AWARD"
    ]
    refused = await gql(client, tokens, tree.cs1, ["officer"], SUBMIT, id=pid)
    assert code_of(refused) == "PROPOSAL_INCOMPLETE"
    for n in (nominee, own["data"]["addNominee"]):
        await gql(client, tokens, tree.cs1, ["officer"], REMOVE, id=pid, nominee=n["id"])
    counts = await gql(client, tokens, tree.cs1, ["officer"], ONE, id=pid)
    assert (
        counts["data"]["proposal"]["nomineeCount"],
        counts["data"]["proposal"]["flaggedCount"],
    ) == (1, 1)


async def test_the_rules_on_a_nominee(client, tokens, tree):
    leader = await register(
        client,
        tokens,
        tree.cs1,
        {
            "fullName": "Lê Văn Cường",
            "gender": "MALE",
            "staffNumber": "L1",
            "directWorker": False,
            "cadre": "PART_TIME",
            "cadreSince": "2018-01-01",
        },
    )
    pid = await draft(client, tokens, tree.cs1)
    ldst = await add(
        client,
        tokens,
        tree.cs1,
        pid,
        subject="PERSON",
        personId=leader["id"],
        award="bang_lao_dong_sang_tao",
    )
    assert [f["rule"] for f in ldst["data"]["addNominee"]["findings"]] == ["LAO_DONG_SANG_TAO"]
    medal = await add(
        client,
        tokens,
        tree.cs1,
        pid,
        subject="PERSON",
        personId=leader["id"],
        award="ky_niem_chuong_cong_doan",
    )
    rules = [f["rule"] for f in medal["data"]["addNominee"]["findings"]]
    assert (
        "SERVICE_MEDAL" in rules
        and "7 năm" in medal["data"]["addNominee"]["findings"][-1]["message"]
    )
    earned = await add(
        client,
        tokens,
        tree.cs1,
        pid,
        subject="COLLECTIVE",
        unitId=tree.cs1,
        award="bang_khen_tld",
        earlierTitles=[],
    )
    assert earned["data"]["addNominee"]["findings"] == []  # a collective, regular

    thematic = await draft(client, tokens, tree.cs1, kind="THEMATIC", topic="Chuyển đổi số")
    last = None
    for n in range(5):
        person = await register(
            client,
            tokens,
            tree.cs1,
            {"fullName": f"Người {n}", "gender": "MALE", "staffNumber": f"T{n}"},
        )
        last = await add(
            client,
            tokens,
            tree.cs1,
            thematic,
            subject="PERSON",
            personId=person["id"],
            award="bang_khen_tld",
        )
    assert [f["rule"] for f in last["data"]["addNominee"]["findings"]] == ["THEMATIC_CAPS"]


async def test_a_nominee_out_of_the_proposers_reach_or_a_wrong_award_is_refused(
    client, tokens, tree
):
    aside = await register(client, tokens, tree.upper2)
    pid = await draft(client, tokens, tree.cs1)
    cases = [
        (
            {"subject": "PERSON", "personId": aside["id"], "award": "lao_dong_tien_tien"},
            "NOT_FOUND",
        ),
        (
            {"subject": "PERSON", "personId": str(uuid.uuid4()), "award": "lao_dong_tien_tien"},
            "NOT_FOUND",
        ),
        ({"subject": "COLLECTIVE", "unitId": tree.upper1, "award": "bang_khen_tld"}, "NOT_FOUND"),
        (
            {"subject": "COLLECTIVE", "unitId": tree.cs1, "award": "lao_dong_tien_tien"},
            "PROPOSAL_INVALID",
        ),
        (
            {"subject": "COLLECTIVE", "unitId": tree.cs1, "award": "huy chương vàng"},
            "PROPOSAL_INVALID",
        ),
        ({"subject": "PERSON", "award": "lao_dong_tien_tien"}, "PROPOSAL_INVALID"),
    ]
    for nominee, code in cases:
        assert code_of(await add(client, tokens, tree.cs1, pid, **nominee)) == code
    body = await gql(client, tokens, tree.cs1, ["officer"], ONE, id=pid)
    assert body["data"]["proposal"]["nomineeCount"] == 0
    other = await add(
        client,
        tokens,
        tree.upper2,
        pid,
        subject="COLLECTIVE",
        unitId=tree.upper2,
        award="bang_khen_tld",
    )
    assert code_of(other) == "NOT_FOUND"  # another unit's proposal


async def test_a_complete_proposal_goes_to_the_direct_upper_level_inbox(client, tokens, tree):
    an = await register(client, tokens, tree.cs1)
    pid = await draft(client, tokens, tree.cs1)
    ok = await add(
        client,
        tokens,
        tree.cs1,
        pid,
        subject="PERSON",
        personId=an["id"],
        award="lao_dong_tien_tien",
    )
    assert ok["data"]["addNominee"]["findings"] == []
    missing = await gql(client, tokens, tree.cs1, ["officer"], SUBMIT, id=pid)
    assert (
        code_of(missing) == "PROPOSAL_INCOMPLETE"
        and "council_minutes" in missing["errors"][0]["message"]
    )

    # Documents: the caller's own draft is checked before the file is read.
    member = await upload(client, tokens, tree.cs1, pid, "memo", PDF, roles=("member",))
    assert (member.status_code, member.json()["code"]) == (403, "FORBIDDEN")
    aside = await upload(client, tokens, tree.upper2, pid, "memo", PDF)
    assert aside.status_code == 404
    not_a_kind = await upload(client, tokens, tree.cs1, pid, "photo", PDF)
    assert not_a_kind.json()["code"] == "PROPOSAL_INVALID"
    text = await upload(client, tokens, tree.cs1, pid, "memo", b"plain text, not a document")
    assert (text.status_code, text.json()["code"]) == (422, "FILE_INVALID")
    shas = {}
    for kind in ("memo", "achievement_report", "council_minutes"):
        done = await upload(client, tokens, tree.cs1, pid, kind, PDF + kind.encode())
        assert done.status_code == 200, done.text
        shas[kind] = done.json()["sha256"]
        assert done.json()["mediaType"] == "application/pdf"

    # Not yet sent: the upper level does not see the draft.
    unseen = await gql(client, tokens, tree.upper1, ["officer"], ONE, id=pid)
    assert unseen["data"]["proposal"] is None

    body = await gql(client, tokens, tree.cs1, ["officer"], SUBMIT, id=pid)
    sent = body["data"]["submitProposal"]
    assert (sent["status"], sent["toUnit"], sent["ruleSetVersion"]) == (
        "submitted",
        tree.upper1,
        "999/2024",
    )
    submitted = date.fromisoformat(sent["submittedOn"])
    assert date.fromisoformat(sent["dueOn"]) == WorkingCalendar().add_working_days(submitted, 10)
    assert sent["overdue"] is False

    inbox = await gql(client, tokens, tree.upper1, ["officer"], INBOX)
    assert pid in [e["node"]["id"] for e in inbox["data"]["proposalInbox"]["edges"]]
    seen = await gql(client, tokens, tree.upper1, ["officer"], ONE, id=pid)
    proposal = seen["data"]["proposal"]
    assert {d["kind"]: d["sha256"] for d in proposal["documents"]} == shas
    assert proposal["nominees"]["edges"][0]["node"]["person"] == {"fullName": "Nguyễn Thị Ánh"}
    for unit, visible in (("prov1", True), ("upper2", False), ("cs1", True)):
        read = await gql(client, tokens, getattr(tree, unit), ["officer"], ONE, id=pid)
        assert (read["data"]["proposal"] is not None) is visible
    for unit in ("prov1", "upper2", "cs1"):  # the inbox is the direct upper level's alone
        other = await gql(client, tokens, getattr(tree, unit), ["officer"], INBOX)
        assert pid not in [e["node"]["id"] for e in other["data"]["proposalInbox"]["edges"]]
    member = await gql(client, tokens, tree.cs1, ["member"], MINE)
    assert pid in [e["node"]["id"] for e in member["data"]["myProposals"]["edges"]]

    # Sent: it changes no more.
    late = await add(
        client,
        tokens,
        tree.cs1,
        pid,
        subject="PERSON",
        personId=an["id"],
        award="lao_dong_tien_tien",
    )
    assert code_of(late) == "PROPOSAL_NOT_DRAFT"
    again = await upload(client, tokens, tree.cs1, pid, "other", PDF)
    assert again.json()["code"] == "PROPOSAL_NOT_DRAFT"


async def test_the_appraisal_deadline_counts_working_days_across_tet(runtime, owner, tree, clock):
    proposals = proposal_commands_of(runtime, clock)
    actor = officer(tree.cs1)
    clock.on = date(2026, 2, 10)
    pid = await proposals.draft(actor, title="Đề nghị khen đột xuất", kind="ad_hoc", year=2026)
    await proposals.add_nominee(
        actor, pid, subject="collective", unit_id=tree.cs1, award="bang_khen_tld"
    )
    for kind in ("memo", "achievement_report", "council_minutes"):
        await proposals.attach(
            actor,
            pid,
            kind=kind,
            sha256=uuid.uuid4().hex * 2,
            name=kind,
            size=1,
            media_type="application/pdf",
        )
    await proposals.submit(actor, pid, concurrence=True)
    row = await owner.fetchrow(
        "SELECT due_on, concurrence FROM proposals WHERE proposal_id = $1", pid
    )
    # 20 working days from 10/02/2026 skip Tết (16-20/02): 17/03/2026, where 20 calendar-
    # blind weekdays would have ended on 10/03.
    assert (row["due_on"], row["concurrence"]) == (date(2026, 3, 17), True)
    with pytest.raises(DomainError) as refused:
        await proposals.submit(actor, pid)
    assert refused.value.code == "PROPOSAL_NOT_DRAFT"


BULK = """mutation($id: ID!, $nominees: [NomineeInput!]!) {
  addNominees(proposalId: $id, nominees: $nominees) {
    received written errorCount errors { row code field } } }"""


async def three_and_a_draft(client, tokens, tree, owner, gender: str, prefix: str):
    """Three people of the grassroots union, its draft, and how many events its log held."""
    people = [
        await register(
            client,
            tokens,
            tree.cs1,
            {"fullName": f"Người {n}", "gender": gender, "staffNumber": f"{prefix}{n}"},
        )
        for n in range(3)
    ]
    pid = await draft(client, tokens, tree.cs1)
    before = await owner.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", tree.cs1)
    return people, pid, before


async def test_many_nominees_in_one_command_each_bad_row_named(client, tokens, tree, owner):
    people, pid, before = await three_and_a_draft(client, tokens, tree, owner, "MALE", "M")
    rows = [
        {"subject": "PERSON", "personId": people[0]["id"], "award": "lao_dong_tien_tien"},
        {"subject": "PERSON", "personId": str(uuid.uuid4()), "award": "lao_dong_tien_tien"},
        {"subject": "PERSON", "personId": people[1]["id"], "award": "huy chương vàng"},
        {"subject": "PERSON", "personId": people[2]["id"], "award": "lao động tiên tiến"},
        {"subject": "PERSON", "personId": people[0]["id"], "award": "Lao động tiên tiến"},
    ]
    body = await gql(client, tokens, tree.cs1, ["officer"], BULK, id=pid, nominees=rows)
    result = body["data"]["addNominees"]
    assert (result["received"], result["written"], result["errorCount"]) == (5, 3, 2)
    assert [(e["row"], e["code"]) for e in result["errors"]] == [
        (2, "NOT_FOUND"),
        (3, "PROPOSAL_INVALID"),
    ]
    appended = await owner.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", tree.cs1)
    assert appended - before == 1  # one append: one event for the run of nominees
    read = await gql(client, tokens, tree.cs1, ["officer"], ONE, id=pid)
    flagged = [e["node"]["findings"] for e in read["data"]["proposal"]["nominees"]["edges"]]
    assert flagged == [[], [], [{"rule": "ONE_ACHIEVEMENT_ONE_AWARD"}]]  # the rules, as one by one


async def test_a_bulk_sent_in_parts_reads_its_collectives_between_them(
    client, tokens, tree, owner, monkeypatch
):
    # Given parts of one nominee (a 10,000-row bulk's are 1,000), so that a part is in flight
    # when the next row, a collective, is looked up on the same connection
    monkeypatch.setattr(commands_proposals, "SENT_EVERY", 1)
    people, pid, before = await three_and_a_draft(client, tokens, tree, owner, "FEMALE", "P")
    person = [
        {"subject": "PERSON", "personId": p["id"], "award": "lao_dong_tien_tien"} for p in people
    ]
    rows = [
        person[0],
        person[1],
        {"subject": "COLLECTIVE", "unitId": tree.cs1, "award": "giay_khen_cdcs"},
        {"subject": "COLLECTIVE", "unitId": tree.upper1, "award": "giay_khen_cdcs"},
        person[2],
        person[0],
    ]

    # When they are added in one command
    body = await gql(client, tokens, tree.cs1, ["officer"], BULK, id=pid, nominees=rows)

    # Then every good row is in, in order, each checked as one by one, the bad one named
    result = body["data"]["addNominees"]
    assert (result["written"], result["errorCount"]) == (5, 1), body
    assert [(e["row"], e["code"]) for e in result["errors"]] == [(4, "NOT_FOUND")]
    appended = await owner.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", tree.cs1)
    assert appended - before == 5  # a part for each nominee
    read = await gql(client, tokens, tree.cs1, ["officer"], ONE, id=pid)
    edges = read["data"]["proposal"]["nominees"]["edges"]
    assert [e["node"]["findings"] for e in edges] == [
        [],
        [],
        [{"rule": "COMPETENCE"}],  # its own unit's giấy khen, which it decides itself
        [],
        [{"rule": "ONE_ACHIEVEMENT_ONE_AWARD"}],
    ]
