"""Trainings, seminars, good practices, replications and inspections recorded through GraphQL,
and seed 000's annual targets measured from them and from the other figures, on hand-made
cases; bad input refused with its code and nothing written."""

from __future__ import annotations

import uuid
from datetime import date

from tests.reporting.conftest import campaign, gql, registered, reviewed, submitted

KPIS = """
query ($unit: ID, $year: Int!) {
  kpis(unitId: $unit, year: $year) { unitId year source targets { code target actual part whole met } }
}
"""


async def officer_does(client, tokens, unit: str, mutation: str, **variables):
    body = await gql(client, tokens, unit, ["officer"], mutation, **variables)
    return body


async def ok(client, tokens, unit, mutation, **variables) -> str:
    body = await officer_does(client, tokens, unit, mutation, **variables)
    assert "errors" not in body, body
    return next(iter(body["data"].values()))


TRAINING = """mutation ($t: String!, $on: Date!, $a: Int!, $ct: Int!, $c: Int!) {
  holdTraining(title: $t, heldOn: $on, attendees: $a, cadresTrained: $ct, cadres: $c) }"""
SEMINAR = """mutation ($t: String!, $on: Date!) {
  holdSeminar(topic: $t, heldOn: $on, participants: 30) }"""
PRACTICE = """mutation ($n: String!, $on: Date!) {
  presentGoodPractice(name: $n, presentedOn: $on, description: "Mô tả") }"""
REPLICATE = """mutation ($p: ID!, $on: Date!) { replicateGoodPractice(practiceId: $p, replicatedOn: $on) }"""
INSPECT = """mutation ($u: ID!, $on: Date!) {
  recordInspection(unitId: $u, subject: "Kiểm tra công tác thi đua", heldOn: $on, findings: "Đạt") }"""


async def kpis(client, tokens, reader, unit, year):
    body = await gql(client, tokens, reader, ["officer"], KPIS, unit=unit, year=year)
    assert "errors" not in body, body
    report = body["data"]["kpis"]
    return report and {t["code"]: t for t in report["targets"]}


async def test_the_annual_targets_of_a_province_on_a_hand_made_year(runtime, tree, client, tokens):
    upper_campaign = await campaign(runtime, tree.prov1, 2024)
    own = await campaign(runtime, tree.upper1, 2024, carries_out=upper_campaign)
    await reviewed(runtime, tree.upper1, own, 3, date(2024, 7, 3))
    await campaign(runtime, tree.cs1, 2024, carries_out=own)
    # cadres: upper1 trains 3 of its 4 (then 2 of 4: the same cadres), cs1 its only one
    await ok(
        client, tokens, tree.upper1, TRAINING, t="Tập huấn TĐKT", on="2024-03-01", a=40, ct=3, c=4
    )
    await ok(
        client, tokens, tree.upper1, TRAINING, t="Tập huấn lần 2", on="2024-09-01", a=20, ct=2, c=4
    )
    await ok(client, tokens, tree.cs1, TRAINING, t="Tập huấn", on="2024-04-01", a=5, ct=1, c=1)
    # a good practice and a seminar at cs1; a practice but no seminar at upper1
    await ok(client, tokens, tree.cs1, PRACTICE, n="Tổ tự quản an toàn", on="2024-05-01")
    await ok(client, tokens, tree.cs1, SEMINAR, t="Trao đổi kinh nghiệm", on="2024-06-01")
    await ok(client, tokens, tree.upper1, PRACTICE, n="Sổ tay số", on="2024-05-02")

    got = await kpis(client, tokens, tree.prov1, None, 2024)
    # the uppers below prov1 on 31/12/2024: upper1 (carried out the province's), upper2 (none)
    assert (got["units_launched_upper"]["part"], got["units_launched_upper"]["whole"]) == (1, 2)
    assert got["units_launched_upper"]["actual"] == 50.0 and not got["units_launched_upper"]["met"]
    assert (
        got["units_launched_grassroots"]["part"],
        got["units_launched_grassroots"]["whole"],
    ) == (1, 1)
    assert got["units_launched_grassroots"]["met"] is True
    # three campaigns launched in the subtree (prov1's own, upper1's, cs1's), one reviewed
    assert (got["campaigns_reviewed"]["part"], got["campaigns_reviewed"]["whole"]) == (1, 3)
    assert (got["cadres_trained"]["part"], got["cadres_trained"]["whole"]) == (4, 5)
    assert got["cadres_trained"]["actual"] == 80.0 and got["cadres_trained"]["met"] is False
    assert (got["practices_grassroots"]["part"], got["practices_grassroots"]["whole"]) == (1, 1)
    assert (got["practices_upper"]["part"], got["practices_upper"]["whole"]) == (0, 2)
    assert got["direct_workers_awarded"]["actual"] is None  # nobody awarded
    # upper1 on its own: itself among the uppers, and cs1 below it
    mine = await kpis(client, tokens, tree.upper1, None, 2024)
    assert (mine["units_launched_upper"]["part"], mine["units_launched_upper"]["whole"]) == (1, 1)
    assert (mine["cadres_trained"]["part"], mine["cadres_trained"]["whole"]) == (4, 5)
    # a sibling's targets are not found
    assert await kpis(client, tokens, tree.upper2, tree.upper1, 2024) is None


async def test_records_count_in_the_summary_and_practices_are_found_without_diacritics(
    runtime, tree, client, tokens
):
    name = f"Mô hình Điện sáng {uuid.uuid4().hex[:6]}"
    practice = await ok(client, tokens, tree.upper1, PRACTICE, n=name, on="2024-05-01")
    await ok(client, tokens, tree.upper2, REPLICATE, p=practice, on="2024-06-01")
    await ok(client, tokens, tree.upper1, INSPECT, u=tree.cs1, on="2024-10-01")
    await ok(client, tokens, tree.upper1, SEMINAR, t="Tọa đàm", on="2024-10-02")
    body = await gql(
        client,
        tokens,
        tree.cs1,  # any unit reads the published practices
        ["officer"],
        "query ($s: String) { goodPractices(search: $s) { edges { node { id name replications } } } }",
        s=name.replace("Mô hình Điện sáng", "mo hinh dien sang"),
    )
    assert [e["node"] for e in body["data"]["goodPractices"]["edges"]] == [
        {"id": practice, "name": name, "replications": 1}
    ]
    q = "query ($u: ID) { summary(unitId: $u, firstYear: 2024) { total { goodPractices replications inspections seminars seminarParticipants } } }"
    body = await gql(client, tokens, tree.prov1, ["officer"], q, u=tree.prov1)
    assert body["data"]["summary"]["total"] == {
        "goodPractices": 1,
        "replications": 1,
        "inspections": 1,
        "seminars": 1,
        "seminarParticipants": 30,
    }


async def count_events(owner, unit: str) -> int:
    return await owner.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", unit)


async def test_bad_records_are_refused_with_their_code_and_write_nothing(
    runtime, tree, client, tokens, owner
):
    before = await count_events(owner, tree.upper1)
    practice = await ok(client, tokens, tree.upper2, PRACTICE, n="Cách làm hay", on="2024-05-01")
    refused = [
        (TRAINING, dict(t="Tập huấn", on="2024-03-01", a=1, ct=5, c=4), "RECORD_INVALID"),
        (TRAINING, dict(t="Tập huấn", on="2099-03-01", a=1, ct=1, c=4), "RECORD_INVALID"),
        (TRAINING, dict(t="", on="2024-03-01", a=1, ct=1, c=4), "RECORD_INVALID"),
        (TRAINING, dict(t="Tập huấn", on="2024-03-01", a=-1, ct=1, c=4), "RECORD_INVALID"),
        (INSPECT, dict(u=tree.upper2, on="2024-10-01"), "NOT_FOUND"),  # a sibling
        (INSPECT, dict(u=tree.prov1, on="2024-10-01"), "NOT_FOUND"),  # its parent
        (REPLICATE, dict(p=str(uuid.uuid4()), on="2024-06-01"), "NOT_FOUND"),
        (REPLICATE, dict(p=practice, on="2024-04-01"), "RECORD_INVALID"),  # before presented
    ]
    for mutation, variables, code in refused:
        body = await officer_does(client, tokens, tree.upper1, mutation, **variables)
        assert body["errors"][0]["extensions"]["code"] == code, (variables, body)
    assert await count_events(owner, tree.upper1) == before
    await ok(client, tokens, tree.upper1, REPLICATE, p=practice, on="2024-06-01")
    again = await officer_does(client, tokens, tree.upper1, REPLICATE, p=practice, on="2024-07-01")
    assert again["errors"][0]["extensions"]["code"] == "RECORD_INVALID"
    own = await ok(client, tokens, tree.upper1, PRACTICE, n="Của mình", on="2024-05-01")
    body = await officer_does(client, tokens, tree.upper1, REPLICATE, p=own, on="2024-06-01")
    assert body["errors"][0]["extensions"]["code"] == "RECORD_INVALID"
    member = await gql(client, tokens, tree.upper1, ["member"], SEMINAR, t="x", on="2024-01-01")
    assert member["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_merged_union_is_no_longer_counted_among_the_units(
    runtime, registry, tree, client, tokens
):
    upper_campaign = await campaign(runtime, tree.prov1, 2025)
    await campaign(runtime, tree.upper1, 2025, carries_out=upper_campaign)
    await registry.merge(None, [tree.upper2], tree.upper1, date(2025, 7, 1))
    got = await kpis(client, tokens, tree.prov1, None, 2025)
    # upper2 ended on 1 July: on 31 December only upper1 is an upper-level union below
    assert (got["units_launched_upper"]["part"], got["units_launched_upper"]["whole"]) == (1, 1)


async def test_a_record_before_2000_is_refused(tree, client, tokens):
    body = await officer_does(
        client, tokens, tree.upper1, TRAINING, t="Tập huấn", on="1999-12-31", a=1, ct=1, c=1
    )
    assert body["errors"][0]["extensions"]["code"] == "RECORD_INVALID"


COMPLIANCE = """query ($unit: ID, $year: Int!) {
  compliance(unitId: $unit, year: $year) { kind onTime late missing pending } }"""


async def compliance(client, tokens, reader, unit, year):
    body = await gql(client, tokens, reader, ["officer"], COMPLIANCE, unit=unit, year=year)
    assert "errors" not in body, body
    found = body["data"]["compliance"]
    return found and {
        c["kind"]: (c["onTime"], c["late"], c["missing"], c["pending"]) for c in found
    }


async def appraised(runtime, unit: str, proposal, proposer: str, opened: date, concluded: date):
    """``unit`` appraises ``proposal`` (its round 1) from ``opened`` to ``concluded``."""
    from tests.reporting.conftest import given

    appraisal = await given(
        runtime,
        unit,
        "AppraisalOpened",
        proposal_id=proposal,
        proposer=proposer,
        round=1,
        nominees=[],
        opened_on=opened,
    )
    await given(
        runtime,
        unit,
        "AppraisalCompleted",
        appraisal,
        2,
        proposal_id=proposal,
        proposer=proposer,
        round=1,
        accepted=[],
        rejected=[],
        concluded_on=concluded,
    )


async def test_deadline_compliance_of_a_province_on_a_hand_made_year(runtime, tree, client, tokens):
    from tests.reporting.conftest import given

    launched = await campaign(runtime, tree.prov1, 2024)
    for number, ends in ((1, date(2024, 6, 30)), (2, date(2024, 12, 31))):
        await given(
            runtime,
            tree.prov1,
            "PhaseAdded",
            launched,
            2 + number,
            number=number,
            name=f"Đợt {number}",
            starts=date(2024, 1, 1),
            ends=ends,
        )
    await reviewed(runtime, tree.prov1, launched, 5, date(2024, 7, 9))  # phase 1 (late? no)
    # upper1 registers on time; upper2, directly below too, never does
    await registered(runtime, tree.upper1, launched, tree.prov1, date(2024, 2, 10))
    # cs1's proposal, due for appraisal by 20/12; upper1 concludes on 22/12: late
    proposal = await given(
        runtime,
        tree.cs1,
        "ProposalDrafted",
        unit_id=tree.cs1,
        title="Đề nghị",
        kind="regular",
        topic="",
        year=2024,
        drafted_on=date(2024, 12, 1),
    )
    await submitted(
        runtime, tree.cs1, tree.upper1, date(2024, 12, 5), date(2024, 12, 20), proposal, 2
    )
    await appraised(
        runtime, tree.upper1, proposal, tree.cs1, date(2024, 12, 10), date(2024, 12, 22)
    )
    got = await compliance(client, tokens, tree.prov1, None, 2024)
    assert got["registrations"] == (1, 0, 1, 0)
    # phase 1 reviewed on time; phase 2's report was due 5 days after 31/12/2024: missing
    assert got["phase_reports"] == (1, 0, 1, 0)
    assert got["appraisals"] == (0, 1, 0, 0)
    assert got["period_reports"] == (0, 0, 0, 0)
    assert await compliance(client, tokens, tree.upper2, tree.upper1, 2024) is None


async def test_a_merged_units_deadlines_count_under_its_survivor_too(
    runtime, registry, tree, client, tokens
):

    # Given upper3 (under prov2) late with an appraisal in March 2024, then merged into upper1
    # (under prov1) on 1 July
    proposal = await submitted(
        runtime, tree.upper3, tree.upper3, date(2024, 3, 1), date(2024, 3, 10)
    )
    await appraised(
        runtime, tree.upper3, proposal, tree.upper3, date(2024, 3, 2), date(2024, 3, 20)
    )
    await registry.merge(None, [tree.upper3], tree.upper1, date(2024, 7, 1))
    # When the provinces' compliance of 2024 is read
    # Then it is late under the province it stood under, and under its survivor's
    assert (await compliance(client, tokens, tree.prov2, None, 2024))["appraisals"] == (0, 1, 0, 0)
    assert (await compliance(client, tokens, tree.prov1, None, 2024))["appraisals"] == (0, 1, 0, 0)
