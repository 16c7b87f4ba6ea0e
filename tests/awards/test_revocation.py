"""Revocation (issue 14, point 13), through GraphQL: an award revoked on one of the four legal
grounds by the approver of the unit that decided it, with the cash and items recovered; the
later award that leaned on it (a CSTĐCS built on that year's Lao động tiên tiến) flagged for
review; the year's figures no longer count it."""

from __future__ import annotations

import uuid

from services.campaign.commands import commands_of as campaign_commands
from shared.clock import today
from tests.awards.conftest import nodes, officer
from tests.awards.test_chain import ISSUE, YEAR, appraise_all, council_passes
from tests.awards.test_people_graphql import AN, register
from tests.awards.test_proposals import PDF, SUBMIT, add, draft, upload
from tests.registry.test_graphql import code_of, gql

REVOKE = """mutation($decision: ID!, $item: ID!, $ground: RevocationGround!, $reason: String!) {
  revokeAward(decisionId: $decision, itemId: $item, ground: $ground, reason: $reason,
    recoveredCashVnd: 710000, recoveredItems: ["Giấy chứng nhận"]) {
    recipients(first: 500) { edges { node { itemId award revokedOn revokeGround recoveredCashVnd review } } } } }"""
READ = """query($id: ID!) { decision(id: $id) { recipients(first: 500) { edges { node { itemId award revokedOn review } } } } }"""


async def decided(client, tokens, tree, nominee, **proposal):
    """``nominee`` proposed by cs1 (in a proposal of ``proposal``'s fields), appraised, passed
    and decided by upper1: the decision."""
    pid = await draft(client, tokens, tree.cs1, **proposal)
    added = await add(client, tokens, tree.cs1, pid, **nominee)
    assert added["data"]["addNominee"]["findings"] == [], added
    for kind in ("memo", "achievement_report", "council_minutes"):
        await upload(client, tokens, tree.cs1, pid, kind, PDF + uuid.uuid4().bytes)
    sent = await gql(client, tokens, tree.cs1, ["officer"], SUBMIT, id=pid)
    assert sent["data"]["submitProposal"]["status"] == "submitted", sent
    await appraise_all(client, tokens, tree.upper1, pid)
    session, _ = await council_passes(client, tokens, tree.upper1, pid)
    body = await gql(
        client, tokens, tree.upper1, ["approver"], ISSUE, session=session, title="Khen"
    )
    return body["data"]["issueDecision"]


async def test_a_revoked_award_flags_what_leaned_on_it(client, tokens, tree, runtime):
    an = await register(client, tokens, tree.cs1, AN | {"staffNumber": uuid.uuid4().hex[:10]})
    year = 2025  # the proposals' year: the awards are for it, whenever decided
    ldtt = await decided(
        client,
        tokens,
        tree,
        {"subject": "PERSON", "personId": an["id"], "award": "lao_dong_tien_tien"},
    )
    campaigns = campaign_commands(runtime)
    initiative = await campaigns.register_initiative(
        officer(tree.cs1), title="Cải tiến dây chuyền", authors=["Nguyễn Thị Ánh"]
    )
    await campaigns.recognise_initiative(
        officer(tree.cs1), initiative, benefit_vnd=50_000_000, applied_at=["Xưởng 1"]
    )
    cstdcs = await decided(
        client,
        tokens,
        tree,
        {
            "subject": "PERSON",
            "personId": an["id"],
            "award": "chien_si_thi_dua_co_so",
            "initiatives": [str(initiative)],
            "earlierTitles": [{"award": "lao_dong_tien_tien", "year": 2025}],  # the proposal's
        },
    )
    before = await gql(client, tokens, tree.upper1, ["officer"], YEAR, year=year, unit=tree.cs1)
    body = await gql(client, tokens, tree.upper1, ["officer"], READ, id=ldtt["id"])
    item = nodes(body["data"]["decision"]["recipients"])[0]["itemId"]

    officer_tries = await gql(
        client,
        tokens,
        tree.upper1,
        ["officer"],
        REVOKE,
        decision=ldtt["id"],
        item=item,
        ground="FALSE_DECLARATION",
        reason="Khai man thành tích",
    )
    assert code_of(officer_tries) == "FORBIDDEN"
    elsewhere = await gql(
        client,
        tokens,
        tree.upper2,
        ["approver"],
        REVOKE,
        decision=ldtt["id"],
        item=item,
        ground="FALSE_DECLARATION",
        reason="Khai man thành tích",
    )
    assert code_of(elsewhere) == "NOT_FOUND"
    revoked = await gql(
        client,
        tokens,
        tree.upper1,
        ["approver"],
        REVOKE,
        decision=ldtt["id"],
        item=item,
        ground="FALSE_DECLARATION",
        reason="Khai man thành tích",
    )
    recipient = nodes(revoked["data"]["revokeAward"]["recipients"])[0]
    assert (recipient["revokeGround"], recipient["recoveredCashVnd"]) == (
        "FALSE_DECLARATION",
        710_000,
    )
    assert recipient["revokedOn"] == today().isoformat()
    twice = await gql(
        client,
        tokens,
        tree.upper1,
        ["approver"],
        REVOKE,
        decision=ldtt["id"],
        item=item,
        ground="STANDARD_NOT_MET",
        reason="Lần nữa",
    )
    assert code_of(twice) == "REVOCATION_INVALID"

    leaning = await gql(client, tokens, tree.upper1, ["officer"], READ, id=cstdcs["id"])
    flagged = nodes(leaning["data"]["decision"]["recipients"])[0]
    assert flagged["award"] == "chien_si_thi_dua_co_so" and flagged["revokedOn"] is None
    assert [(r["revoked"], r["year"]) for r in flagged["review"]] == [("lao_dong_tien_tien", year)]

    after = await gql(client, tokens, tree.upper1, ["officer"], YEAR, year=year, unit=tree.cs1)
    counted = {a["award"]: a["persons"] for a in after["data"]["awardYear"]["byAward"]}
    assert "lao_dong_tien_tien" not in counted and counted["chien_si_thi_dua_co_so"] == 1
    assert after["data"]["awardYear"]["cashVnd"] < before["data"]["awardYear"]["cashVnd"]


async def test_earlier_titles_are_filled_in_from_the_decisions_register(
    client, tokens, tree, runtime
):
    an = await register(client, tokens, tree.cs1, AN | {"staffNumber": uuid.uuid4().hex[:10]})
    await decided(
        client,
        tokens,
        tree,
        {"subject": "PERSON", "personId": an["id"], "award": "lao_dong_tien_tien"},
    )
    campaigns = campaign_commands(runtime)
    initiative = await campaigns.register_initiative(
        officer(tree.cs1), title="Sổ tay an toàn", authors=["Nguyễn Thị Ánh"]
    )
    await campaigns.recognise_initiative(
        officer(tree.cs1), initiative, benefit_vnd=20_000_000, applied_at=["Phòng 2"]
    )
    pid = await draft(client, tokens, tree.cs1, year=2025)  # the year of her title
    added = await add(
        client,
        tokens,
        tree.cs1,
        pid,
        subject="PERSON",
        personId=an["id"],
        award="chien_si_thi_dua_co_so",
        initiatives=[str(initiative)],
    )
    assert added["data"]["addNominee"]["findings"] == []  # nothing declared: the register knew
