"""A year's deadline compliance as the log held it at a moment (migration 0066): each
registration, phase review and appraisal as known then, and the period reports asked, with the
day they were due then, and sent by then; live and after a rebuild."""

from __future__ import annotations

from datetime import date

from services.reporting.projections import PROJECTION
from shared.projection_rebuild import rebuild
from tests.reporting.conftest import campaign, given, gql, registered, reviewed, submitted
from tests.reporting.test_exemplars_as_of import COMPLIANCE, caught_up
from tests.reporting.test_period_reports import DRAFT, PERIOD, REQUEST, SUBMIT, WRITE, run


async def compliance(client, tokens, reader, unit, year, at=None):
    body = await gql(
        client,
        tokens,
        reader,
        ["officer"],
        COMPLIANCE,
        unit=unit,
        year=year,
        at=at and at.isoformat(),
    )
    assert "errors" not in body, body
    found = body["data"]["compliance"]
    return found and {
        c["kind"]: (c["onTime"], c["late"], c["missing"], c["pending"]) for c in found
    }


async def test_a_years_deadlines_as_of_a_moment_are_what_the_log_held_then(
    runtime, owner, tree, client, tokens
):
    # Given the province's campaign of 2024 with a phase (its report due 5 days after 30 June),
    # cs1's proposal due for appraisal by upper1 on 20 December, and the province's request for
    # the 2020-2025 reports due 15 April 2024: nothing done by a moment
    launched = await campaign(runtime, tree.prov1, 2024)
    await given(
        runtime,
        tree.prov1,
        "PhaseAdded",
        launched,
        3,
        number=1,
        name="Đợt 1",
        starts=date(2024, 1, 1),
        ends=date(2024, 6, 30),
    )
    proposal = await submitted(
        runtime, tree.cs1, tree.upper1, date(2024, 12, 5), date(2024, 12, 20)
    )
    appraisal = await given(
        runtime,
        tree.upper1,
        "AppraisalOpened",
        proposal_id=proposal,
        proposer=tree.cs1,
        round=1,
        nominees=[],
        opened_on=date(2024, 12, 10),
    )
    await run(client, tokens, tree.prov1, REQUEST, due="2024-04-15", **PERIOD)
    nothing_done = await caught_up(runtime, owner, tree.prov1, tree.upper1, tree.cs1)
    # When, after it, upper1 registers late, the phase is reviewed, the appraisal of the
    # proposal concludes late, the request is made again for 2025, and upper1 sends its report
    await registered(runtime, tree.upper1, launched, tree.prov1, date(2024, 3, 1), late=True)
    await reviewed(runtime, tree.prov1, launched, 4, date(2024, 7, 3))
    await given(
        runtime,
        tree.upper1,
        "AppraisalCompleted",
        appraisal,
        2,
        proposal_id=proposal,
        proposer=tree.cs1,
        round=1,
        accepted=[],
        rejected=[],
        concluded_on=date(2024, 12, 22),
    )
    await run(client, tokens, tree.prov1, REQUEST, due="2025-04-15", **PERIOD)
    rid = (await run(client, tokens, tree.upper1, DRAFT, **PERIOD))["id"]
    await run(client, tokens, tree.upper1, WRITE, id=rid, s="I.1", t="Thuận lợi")
    await run(client, tokens, tree.upper1, SUBMIT, id=rid)
    await caught_up(runtime, owner, tree.prov1, tree.upper1, tree.cs1)

    for rebuilt in (False, True):
        if rebuilt:  # and so again once rebuilt from the log
            await rebuild(owner, runtime.projector_pool, PROJECTION, batch_size=128)
        then = await compliance(client, tokens, tree.prov1, None, 2024, nothing_done)
        now = await compliance(client, tokens, tree.prov1, None, 2024)
        # Then as of the moment: two registrations, the phase report, the appraisal (the
        # opened one), and both reports missing, all of them past due
        assert then == {
            "registrations": (0, 0, 2, 0),
            "phase_reports": (0, 0, 1, 0),
            "appraisals": (0, 0, 1, 0),
            "period_reports": (0, 0, 2, 0),
        }, rebuilt
        # and now: one registration late, one missing; the phase reported; the appraisal late;
        # the reports due in 2025, not in 2024
        assert now == {
            "registrations": (0, 1, 1, 0),
            "phase_reports": (1, 0, 0, 0),
            "appraisals": (0, 1, 0, 0),
            "period_reports": (0, 0, 0, 0),
        }, rebuilt
        # and 2025 as of the moment asked for nothing; now upper1's was sent late (today is
        # after 15 April 2025), upper2's is missing
        at_moment = await compliance(client, tokens, tree.prov1, None, 2025, nothing_done)
        assert at_moment["period_reports"] == (0, 0, 0, 0)
        today = await compliance(client, tokens, tree.prov1, None, 2025)
        assert today["period_reports"] == (0, 1, 1, 0)
    # and a sibling reads none of it, at any moment
    assert await compliance(client, tokens, tree.upper2, tree.upper1, 2024, nothing_done) is None


async def test_the_registrants_expected_as_of_a_moment_are_the_units_below_then(
    runtime, registry, owner, tree, client, tokens
):
    # Given the province's campaign of 2024, which its two upper-level units were to register
    # with, and nothing registered by a moment
    await campaign(runtime, tree.prov1, 2024)
    before = await caught_up(runtime, owner, tree.prov1, tree.upper2)
    # When upper2 is then moved under the other province, dated back to before the campaign
    await registry.move(None, tree.upper2, tree.prov2, date(2024, 1, 2))
    await caught_up(runtime, owner, tree.prov1, tree.prov2, tree.upper2)
    for rebuilt in (False, True):
        if rebuilt:
            await rebuild(owner, runtime.projector_pool, PROJECTION, batch_size=128)
        # Then as of the moment both were expected (the tree as the log held it then), and now
        # upper1 alone is
        then = await compliance(client, tokens, tree.prov1, None, 2024, before)
        assert then["registrations"] == (0, 0, 2, 0), rebuilt
        now = await compliance(client, tokens, tree.prov1, None, 2024)
        assert now["registrations"] == (0, 0, 1, 0), rebuilt


async def test_a_summary_says_how_many_registrations_are_not_yet_made(
    runtime, owner, tree, client, tokens
):
    # Given the province's campaign of 2024, which its two upper-level units were to register
    # with, and upper1 registered (late) after a moment
    launched = await campaign(runtime, tree.prov1, 2024)
    before = await caught_up(runtime, owner, tree.prov1, tree.upper1, tree.upper2)
    await registered(runtime, tree.upper1, launched, tree.prov1, date(2024, 3, 1), late=True)
    await caught_up(runtime, owner, tree.prov1, tree.upper1)
    query = """query ($u: ID, $at: DateTime) {
      summary(unitId: $u, firstYear: 2023, lastYear: 2024, asOf: $at) {
        total { registrationsLate registrationsNotYet }
        years { year registrationsNotYet } } }"""

    async def not_yet(reader, at=None):
        body = await gql(
            client, tokens, reader, ["officer"], query, u=tree.prov1, at=at and at.isoformat()
        )
        assert "errors" not in body, body
        found = body["data"]["summary"]
        return found and (
            found["total"]["registrationsNotYet"],
            [(y["year"], y["registrationsNotYet"]) for y in found["years"]],
        )

    # Then the summary says, as compliance does, that upper2's is not yet made, and as of the
    # moment both were not
    assert await not_yet(tree.prov1) == (1, [(2023, 0), (2024, 1)])
    assert await not_yet(tree.prov1, before) == (2, [(2023, 0), (2024, 2)])
    # and a unit beside it reads no summary of the province at all
    assert await not_yet(tree.upper2) is None
