"""A year's deadline compliance as the log held it at a moment (migration 0066): each
registration, phase review and appraisal as known then, and the period reports asked, with the
day they were due then, and sent by then; live and after a rebuild."""

from __future__ import annotations

from datetime import date
from pathlib import Path

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


async def with_a_phase(runtime, unit):
    """``unit``'s campaign of 2024, with its phase 1 ending 30 June (reports due 5 days after)."""
    launched = await campaign(runtime, unit, 2024)
    await given(
        runtime,
        unit,
        "PhaseAdded",
        launched,
        3,
        number=1,
        name="Đợt 1",
        starts=date(2024, 1, 1),
        ends=date(2024, 6, 30),
    )
    return launched


async def test_a_years_deadlines_as_of_a_moment_are_what_the_log_held_then(
    runtime, owner, tree, client, tokens
):
    # Given the province's campaign of 2024 with a phase (its report due 5 days after 30 June),
    # cs1's proposal due for appraisal by upper1 on 20 December, and the province's request for
    # the 2020-2025 reports due 15 April 2024: nothing done by a moment
    launched = await with_a_phase(runtime, tree.prov1)
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
            "progress_reports": (0, 0, 0, 0),  # no unit registered then
            "appraisals": (0, 0, 1, 0),
            "period_reports": (0, 0, 2, 0),
        }, rebuilt
        # and now: one registration late, one missing; the phase reported; the appraisal late;
        # the reports due in 2025, not in 2024
        assert now == {
            "registrations": (0, 1, 1, 0),
            "phase_reports": (1, 0, 0, 0),
            "progress_reports": (0, 0, 1, 0),  # upper1, registered, sent no report of it
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


async def test_the_registered_units_reports_of_each_phase_are_on_time_late_or_missing(
    runtime, owner, tree, client, tokens
):
    # Given the province's campaign of 2024 with a phase ending 30 June (reports due 5 days
    # after), upper1 and upper2 registered, and a moment before any report
    launched = await with_a_phase(runtime, tree.prov1)
    for unit in (tree.upper1, tree.upper2):
        await registered(runtime, unit, launched, tree.prov1, date(2024, 2, 1))
    before = await caught_up(runtime, owner, tree.prov1, tree.upper1, tree.upper2)

    async def reports(unit, stream, version, on, late):
        if stream is None:  # its progress opened first (version 1), as the campaign does
            stream = await given(
                runtime,
                unit,
                "ProgressOpened",
                campaign_id=launched,
                unit_id=unit,
                phase=1,
                campaign_unit=tree.prov1,
            )
        return await given(
            runtime,
            unit,
            "ProgressReported",
            stream,
            version,
            campaign_id=launched,
            campaign_unit=tree.prov1,
            phase=1,
            actuals={"x": 1},
            note="",
            reported_on=on,
            late=late,
        )

    # When upper1 reports on 3 July, then corrects it on 20 July (late by then), and upper2
    # reports nothing (a cs1 report, not registered, expected by nobody)
    stream = await reports(tree.upper1, None, 2, date(2024, 7, 3), False)
    await reports(tree.upper1, stream, 3, date(2024, 7, 20), True)
    await reports(tree.cs1, None, 2, date(2024, 7, 1), False)
    await caught_up(runtime, owner, tree.prov1, tree.upper1, tree.upper2, tree.cs1)
    # (migration 0075 writes the reports already in the log as the projection writes them)
    rows = await progress_rows(owner, tree)
    assert len(rows["items"]) == 2 and len(rows["versions"]) == 3
    await owner.execute(
        "DELETE FROM report_items WHERE unit_id = ANY ($1) AND item LIKE 'progress:%'",
        [tree.upper1, tree.cs1],
    )
    await owner.execute(
        "DELETE FROM report_item_versions WHERE unit_id = ANY ($1) AND item LIKE 'progress:%'",
        [tree.upper1, tree.cs1],
    )
    await owner.execute(BACKFILL)
    assert await progress_rows(owner, tree) == rows
    for rebuilt in (False, True):
        if rebuilt:
            await rebuild(owner, runtime.projector_pool, PROJECTION, batch_size=128)
        # Then upper1's counts on time (its first sending), upper2's is missing; before them
        # both were missing
        now = await compliance(client, tokens, tree.prov1, None, 2024)
        assert now["progress_reports"] == (1, 0, 1, 0), rebuilt
        then = await compliance(client, tokens, tree.prov1, None, 2024, before)
        assert then["progress_reports"] == (0, 0, 2, 0), rebuilt
        # and upper1 reads its own subtree's: no campaign of its own, nothing due
        own = await compliance(client, tokens, tree.upper1, None, 2024)
        assert own["progress_reports"] == (0, 0, 0, 0), rebuilt


MIGRATION = (
    Path(__file__).parents[2] / "shared/migrations/0075_units_phase_reports_in_compliance.sql"
)
BACKFILL = MIGRATION.read_text()[MIGRATION.read_text().index("WITH reported AS") :].split(";")[0]


async def progress_rows(owner, tree) -> dict[str, list]:
    units = [tree.upper1, tree.cs1]
    return {
        "items": [
            tuple(r)
            for r in await owner.fetch(
                "SELECT unit_id, item, day, figures, facts, known_at FROM report_items "
                "WHERE unit_id = ANY ($1) AND item LIKE 'progress:%' ORDER BY 1, 2",
                units,
            )
        ],
        "versions": [
            tuple(r)
            for r in await owner.fetch(
                "SELECT unit_id, item, known_at, day, figures, facts FROM report_item_versions "
                "WHERE unit_id = ANY ($1) AND item LIKE 'progress:%' ORDER BY 1, 2, 3",
                units,
            )
        ],
    }
