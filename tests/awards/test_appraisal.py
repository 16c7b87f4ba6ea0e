"""Appraisal (issue 14, point 9), through GraphQL: the direct upper level judges each nominee of
a proposal sent to it (accept, return for correction with reasons, reject), concludes the round;
a returned proposal is taken back, corrected and sent again, every round kept. Only the direct
upper level appraises; anyone else finds no such proposal."""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.awards.projections import PROJECTION
from shared.db import APP_ROLE
from shared.projection_rebuild import rebuild
from tests.awards.test_people_graphql import AN, register
from tests.awards.test_proposals import ADD, PDF, SUBMIT, draft, upload
from tests.awards.test_reference import province_rule
from tests.registry.test_graphql import code_of, gql

JUDGE = """mutation($id: ID!, $nominee: ID!, $verdict: Verdict!, $reason: String! = "",
  $rule: String! = "") {
  appraiseNominee(proposalId: $id, nomineeId: $nominee, verdict: $verdict, reason: $reason,
    rule: $rule) { appraisal round } }"""
CONCLUDE = "mutation($id: ID!) { concludeAppraisal(proposalId: $id) { appraisal round } }"
TAKE_BACK = "mutation($id: ID!) { takeBackProposal(proposalId: $id) { status round } }"
REMOVE = """mutation($id: ID!, $nominee: ID!) { removeNominee(proposalId: $id, nomineeId: $nominee) {
  nomineeCount } }"""
DOSSIER = """query($id: ID!) { proposal(id: $id) {
  nominees(first: 10) { edges { node { id } } } documents { kind } } }"""
READ = """query($id: ID!) { proposal(id: $id) { status round appraisal
  appraisals { round unitId status judgedCount returned concludedOn }
  nominees(first: 10) { edges { node { id award verdict verdictReason verdictRule } } } } }"""


async def sent_proposal(client, tokens, tree):
    """cs1's proposal of a person (Lao động tiên tiến) and of itself (Bằng khen TLĐ), sent."""
    an = await register(client, tokens, tree.cs1, AN | {"staffNumber": uuid.uuid4().hex[:12]})
    pid = await draft(client, tokens, tree.cs1)
    nominees = []
    for nominee in (
        {"subject": "PERSON", "personId": an["id"], "award": "lao_dong_tien_tien"},
        {"subject": "COLLECTIVE", "unitId": tree.cs1, "award": "bang_khen_tld"},
    ):
        body = await gql(client, tokens, tree.cs1, ["officer"], ADD, id=pid, input=nominee)
        nominees.append(body["data"]["addNominee"]["id"])
    for kind in ("memo", "achievement_report", "council_minutes"):
        assert (
            await upload(client, tokens, tree.cs1, pid, kind, PDF + kind.encode())
        ).status_code == 200
    sent = await gql(client, tokens, tree.cs1, ["officer"], SUBMIT, id=pid)
    assert sent["data"]["submitProposal"]["status"] == "submitted", sent
    return pid, nominees, an


async def judge(client, tokens, unit, pid, nominee, verdict, **extra):
    return await gql(
        client, tokens, unit, ["officer"], JUDGE, id=pid, nominee=nominee, verdict=verdict, **extra
    )


async def test_only_the_direct_upper_level_appraises(client, tokens, tree):
    pid, (person, _), _ = await sent_proposal(client, tokens, tree)
    for unit in (tree.prov1, tree.upper2, tree.cs1):
        refused = await judge(client, tokens, unit, pid, person, "ACCEPT")
        assert code_of(refused) == "NOT_FOUND"
    no_reason = await judge(client, tokens, tree.upper1, pid, person, "RETURN")
    assert code_of(no_reason) == "REASON_REQUIRED"
    stranger = await judge(client, tokens, tree.upper1, pid, "no-such-nominee", "ACCEPT")
    assert code_of(stranger) == "NOMINEE_NOT_FOUND"
    first = await judge(client, tokens, tree.upper1, pid, person, "ACCEPT")
    assert first["data"]["appraiseNominee"] == {"appraisal": "open", "round": 1}
    early = await gql(client, tokens, tree.upper1, ["officer"], CONCLUDE, id=pid)
    assert code_of(early) == "APPRAISAL_INCOMPLETE"


async def test_a_returned_proposal_is_corrected_and_sent_again_every_round_kept(
    client, tokens, tree
):
    pid, (person, collective), _ = await sent_proposal(client, tokens, tree)
    await judge(client, tokens, tree.upper1, pid, person, "ACCEPT")
    await judge(
        client,
        tokens,
        tree.upper1,
        pid,
        collective,
        "RETURN",
        reason="Bổ sung báo cáo thành tích năm 2024",
        rule="BANG_KHEN_CONSECUTIVE",
    )
    body = await gql(client, tokens, tree.upper1, ["officer"], CONCLUDE, id=pid)
    assert body["data"]["concludeAppraisal"]["appraisal"] == "returned"

    seen = (await gql(client, tokens, tree.cs1, ["officer"], READ, id=pid))["data"]["proposal"]
    verdicts = {e["node"]["id"]: e["node"] for e in seen["nominees"]["edges"]}
    assert verdicts[collective]["verdict"] == "RETURN"
    assert verdicts[collective]["verdictReason"] == "Bổ sung báo cáo thành tích năm 2024"
    assert verdicts[person]["verdict"] == "ACCEPT"
    assert seen["appraisals"][0]["returned"] == [collective]

    late = await judge(client, tokens, tree.upper1, pid, person, "REJECT", reason="x")
    assert code_of(late) == "APPRAISAL_CLOSED"
    taken = await gql(client, tokens, tree.cs1, ["officer"], TAKE_BACK, id=pid)
    assert taken["data"]["takeBackProposal"] == {"status": "returned", "round": 1}
    again = await gql(client, tokens, tree.cs1, ["officer"], TAKE_BACK, id=pid)
    assert code_of(again) == "PROPOSAL_INVALID"

    await gql(client, tokens, tree.cs1, ["officer"], REMOVE, id=pid, nominee=collective)
    corrected = await gql(
        client,
        tokens,
        tree.cs1,
        ["officer"],
        ADD,
        id=pid,
        input={
            "subject": "COLLECTIVE",
            "unitId": tree.cs1,
            "award": "bang_khen_tld",
            "summary": "Đã bổ sung báo cáo thành tích",
        },
    )
    collective = corrected["data"]["addNominee"]["id"]
    added = await upload(client, tokens, tree.cs1, pid, "other", PDF + b"bo sung")
    assert added.status_code == 200
    # The upper level reads the proposal as it was sent, not the correction under way.
    for unit, sees in ((tree.cs1, True), (tree.upper1, False)):
        body = await gql(client, tokens, unit, ["officer"], DOSSIER, id=pid)
        proposal = body["data"]["proposal"]
        assert (collective in {e["node"]["id"] for e in proposal["nominees"]["edges"]}) is sees
        assert ("other" in {d["kind"] for d in proposal["documents"]}) is sees
    resent = await gql(client, tokens, tree.cs1, ["officer"], SUBMIT, id=pid)
    assert resent["data"]["submitProposal"]["status"] == "submitted"

    for nominee in (person, collective):
        await judge(client, tokens, tree.upper1, pid, nominee, "ACCEPT")
    done = await gql(client, tokens, tree.upper1, ["officer"], CONCLUDE, id=pid)
    assert done["data"]["concludeAppraisal"] == {"appraisal": "completed", "round": 2}
    final = (await gql(client, tokens, tree.upper1, ["officer"], READ, id=pid))["data"]["proposal"]
    assert [(a["round"], a["status"], a["unitId"]) for a in final["appraisals"]] == [
        (1, "returned", tree.upper1),
        (2, "completed", tree.upper1),
    ]
    assert {e["node"]["verdict"] for e in final["nominees"]["edges"]} == {"ACCEPT"}
    assert {e["node"]["id"] for e in final["nominees"]["edges"]} == {person, collective}
    sent_again = await gql(client, tokens, tree.upper1, ["officer"], DOSSIER, id=pid)
    assert "other" in {d["kind"] for d in sent_again["data"]["proposal"]["documents"]}
    aside = await gql(client, tokens, tree.upper2, ["officer"], READ, id=pid)
    assert aside["data"]["proposal"] is None


async def test_a_rejected_nominee_stops_at_appraisal(client, tokens, tree):
    pid, (person, collective), _ = await sent_proposal(client, tokens, tree)
    await judge(client, tokens, tree.upper1, pid, person, "ACCEPT")
    await judge(
        client,
        tokens,
        tree.upper1,
        pid,
        collective,
        "REJECT",
        reason="Không đủ tiêu chuẩn",
        rule="COMPETENCE",
    )
    done = await gql(client, tokens, tree.upper1, ["officer"], CONCLUDE, id=pid)
    assert done["data"]["concludeAppraisal"]["appraisal"] == "completed"
    seen = (await gql(client, tokens, tree.cs1, ["officer"], READ, id=pid))["data"]["proposal"]
    rejected = [e["node"] for e in seen["nominees"]["edges"] if e["node"]["verdict"] == "REJECT"]
    assert [(n["id"], n["verdictRule"]) for n in rejected] == [(collective, "COMPETENCE")]
    refused = await gql(client, tokens, tree.cs1, ["officer"], TAKE_BACK, id=pid)
    assert code_of(refused) == "PROPOSAL_INVALID"


async def test_a_verdict_names_a_rule_in_force_or_none(client, tokens, tree):
    pid, (person, collective), _ = await sent_proposal(client, tokens, tree)
    # a code no rule set has, or one with a control character, is refused, nothing written
    for rule, code in (
        ("MADE_UP_RULE", "APPRAISAL_INVALID"),
        ("COMPETENCE\u001b", "INVALID_INPUT"),
    ):
        refused = await judge(
            client, tokens, tree.upper1, pid, person, "REJECT", reason="Không đủ", rule=rule
        )
        assert code_of(refused) == code
    seen = (await gql(client, tokens, tree.cs1, ["officer"], READ, id=pid))["data"]["proposal"]
    assert {e["node"]["verdict"] for e in seen["nominees"]["edges"]} == {None}
    assert seen["appraisals"] == []  # not even the round a first verdict opens
    refused = await judge(
        client, tokens, tree.upper1, pid, person, "REJECT", reason="Không đủ", rule="MADE_UP"
    )
    assert code_of(refused) == "APPRAISAL_INVALID"
    assert refused["errors"][0]["extensions"]["field"] == "rule"
    # an acceptance names no rule
    accepted = await judge(client, tokens, tree.upper1, pid, person, "ACCEPT", rule="COMPETENCE")
    assert code_of(accepted) == "APPRAISAL_INVALID"
    # a rule of the set in force, a federation's own in force for the proposer, or none, is
    # taken
    await province_rule(
        client,
        tokens,
        tree,
        "vang_mat_nhieu",
        "exclusion",
        {"absent_working_days": 30},
        "2020-01-01",
    )
    for nominee, rule in (
        (person, "CSTDCS_PREREQUISITES"),
        (person, "vang_mat_nhieu"),
        (collective, ""),
    ):
        body = await judge(
            client, tokens, tree.upper1, pid, nominee, "REJECT", reason="Không đủ", rule=rule
        )
        assert "errors" not in body, body


async def test_every_nominee_still_without_a_verdict_judged_at_once(client, tokens, tree):
    pid, (person, _), _ = await sent_proposal(client, tokens, tree)
    await judge(client, tokens, tree.upper1, pid, person, "REJECT", reason="Chưa đủ tiêu chuẩn")
    bulk = """mutation($id: ID!) { appraiseNominees(proposalId: $id, verdict: ACCEPT) { round } }"""
    body = await gql(client, tokens, tree.upper1, ["officer"], bulk, id=pid)
    assert "errors" not in body, body
    done = await gql(client, tokens, tree.upper1, ["officer"], CONCLUDE, id=pid)
    assert done["data"]["concludeAppraisal"]["appraisal"] == "completed"
    seen = (await gql(client, tokens, tree.cs1, ["officer"], READ, id=pid))["data"]["proposal"]
    verdicts = sorted(e["node"]["verdict"] for e in seen["nominees"]["edges"])
    assert verdicts == ["ACCEPT", "REJECT"]  # the one judged before kept its verdict
    aside = await gql(client, tokens, tree.upper2, ["officer"], bulk, id=pid)
    assert code_of(aside) == "NOT_FOUND"


async def test_a_nominee_judged_again_keeps_its_last_verdict_after_a_rebuild(
    client, tokens, tree, owner, runtime
):
    """Two bulk verdicts one after another on the same nominees: the register shows the
    second, live and when the runner projects both in one batch (a rebuild writes a run of
    verdicts as one statement, which must not take the first)."""
    pid, (person, collective), _ = await sent_proposal(client, tokens, tree)
    bulk = """mutation($id: ID!, $ids: [ID!], $verdict: Verdict!, $reason: String! = "") {
      appraiseNominees(proposalId: $id, nomineeIds: $ids, verdict: $verdict, reason: $reason) {
      round } }"""
    for ids, verdict, reason in (
        ([person, collective], "ACCEPT", ""),
        ([collective, person], "REJECT", "Chưa đủ tiêu chuẩn"),
    ):
        body = await gql(
            client,
            tokens,
            tree.upper1,
            ["officer"],
            bulk,
            id=pid,
            ids=ids,
            verdict=verdict,
            reason=reason,
        )
        assert "errors" not in body, body

    async def verdicts():
        rows = await owner.fetch(
            "SELECT nominee_id, verdict FROM appraisal_verdicts WHERE proposal_id = $1", pid
        )
        return {r["nominee_id"]: r["verdict"] for r in rows}

    assert await verdicts() == {person: "reject", collective: "reject"}
    await rebuild(owner, runtime.projector_pool, PROJECTION, batch_size=500)
    assert await verdicts() == {person: "reject", collective: "reject"}


async def keyed(client, tokens, unit, query, key, roles=("officer",), subject="s", **variables):
    """``query`` sent with an ``Idempotency-Key`` header."""
    token = tokens.issue(tenant=unit, roles=list(roles), subject=subject, ttl=timedelta(minutes=5))
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
    )
    return response.json()


async def test_a_conclusion_and_a_taking_back_resent_under_their_key_answer_as_the_first(
    client, tokens, tree, store
):
    pid, (person, collective), _ = await sent_proposal(client, tokens, tree)
    await judge(client, tokens, tree.upper1, pid, person, "ACCEPT")
    await judge(client, tokens, tree.upper1, pid, collective, "RETURN", reason="Bổ sung")
    for unit, query in ((tree.upper1, CONCLUDE), (tree.cs1, TAKE_BACK)):
        key = uuid.uuid4().hex
        first = await keyed(client, tokens, unit, query, key, id=pid)
        head = len(await store.read_log(unit))
        again = await keyed(client, tokens, unit, query, key, id=pid)
        assert "errors" not in first and again == first, (first, again)
        assert len(await store.read_log(unit)) == head  # nothing written the second time
        unkeyed = await gql(client, tokens, unit, ["officer"], query, id=pid)
        assert code_of(unkeyed) in {"APPRAISAL_CLOSED", "PROPOSAL_INVALID"}


async def test_judging_none_is_checked_as_judging_some(client, tokens, tree, store):
    pid, (person, collective), _ = await sent_proposal(client, tokens, tree)
    bulk = """mutation($id: ID!, $ids: [ID!], $verdict: Verdict!, $reason: String! = "") {
      appraiseNominees(proposalId: $id, nomineeIds: $ids, verdict: $verdict, reason: $reason) {
      round } }"""
    head = len(await store.read_log(tree.upper1))
    no_reason = await gql(
        client, tokens, tree.upper1, ["officer"], bulk, id=pid, ids=[], verdict="REJECT"
    )
    assert code_of(no_reason) == "REASON_REQUIRED"
    none = await gql(
        client, tokens, tree.upper1, ["officer"], bulk, id=pid, ids=[], verdict="ACCEPT"
    )
    assert "errors" not in none, none
    assert len(await store.read_log(tree.upper1)) == head  # judged none: nothing written
    for nominee in (person, collective):
        await judge(client, tokens, tree.upper1, pid, nominee, "ACCEPT")
    await gql(client, tokens, tree.upper1, ["officer"], CONCLUDE, id=pid)
    written = len(await store.read_log(tree.upper1))
    closed = await gql(client, tokens, tree.upper1, ["officer"], bulk, id=pid, verdict="ACCEPT")
    assert code_of(closed) == "APPRAISAL_CLOSED"
    assert len(await store.read_log(tree.upper1)) == written > head


async def test_a_rounds_verdicts_are_read_by_whoever_reads_the_proposal_and_no_one_else(
    client, tokens, tree, owner
):
    """The verdicts are the appraiser's rows (migration 0051): read by the appraiser, by the
    proposer and by the units above them; a unit beside reads none, even by the table itself."""
    pid, (person, _), _ = await sent_proposal(client, tokens, tree)
    await judge(client, tokens, tree.upper1, pid, person, "ACCEPT")
    for unit, reach, seen in (
        (tree.upper1, "subtree", 1),
        (tree.cs1, "self", 1),
        (tree.prov1, "subtree", 1),
        (tree.upper2, "subtree", 0),
        (tree.prov2, "subtree", 0),
    ):
        async with owner.transaction():
            await owner.execute(f"SET LOCAL ROLE {APP_ROLE}")
            await owner.execute(
                "SELECT set_config('thidua.tenant', $1, true), "
                "set_config('thidua.reach', $2, true)",
                unit,
                reach,
            )
            rows = await owner.fetchval(
                "SELECT count(*) FROM appraisal_verdicts WHERE proposal_id = $1", pid
            )
            outcome = await owner.fetchval(
                "SELECT count(*) FROM appraisals WHERE proposal_id = $1", pid
            )
        assert (unit, rows, outcome) == (unit, seen, seen)
