"""A unit's summary, as a specification: given these events in the units' logs, the summary
asked of a unit and the units below it (as the tree stood on each day, as the log held it at a
moment) counts these figures."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from graphql import get_named_type

from services.gateway.schema import build_schema
from shared.clock import today
from tests.registry.conftest import SINCE
from tests.reporting.conftest import (
    SUMMARY,
    given,
    gql,
    new_grassroots,
    pledge,
    report_settings,
    summary,
)


async def test_a_province_counts_its_own_and_its_units_figures_by_year(
    runtime, tree, client, tokens
):
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    await pledge(runtime, tree.cs1, date(2025, 3, 1), title="chien_si_thi_dua_co_so")
    await pledge(runtime, tree.upper1, date(2024, 5, 1))
    await pledge(runtime, tree.prov1, date(2024, 6, 1))
    await pledge(runtime, tree.upper3, date(2024, 6, 1))  # under the other province

    got = await summary(client, tokens, tree.prov1, tree.prov1, 2024, 2025)
    assert got["total"]["pledges"] == 4
    assert [(y["year"], y["pledges"]) for y in got["years"]] == [(2024, 3), (2025, 1)]
    assert (await summary(client, tokens, tree.prov1, tree.upper1, 2024))["total"]["pledges"] == 2
    whole = await summary(client, tokens, tree.tld, tree.tld, 2024)
    assert whole["total"]["pledges"] == 4  # both provinces' 2024 pledges


async def test_a_withdrawal_takes_back_what_was_counted_and_the_past_still_shows_it(
    runtime, tree, client, tokens
):
    stream = await pledge(runtime, tree.cs1, date(2024, 3, 1))
    await pledge(runtime, tree.cs1, date(2024, 4, 1))
    before = datetime.now(UTC)
    await given(
        runtime, tree.cs1, "PledgeWithdrawn", stream, 2, campaign_id=uuid.uuid4(), reason="x"
    )

    now = await summary(client, tokens, tree.prov1, tree.upper1, 2024)
    then = await summary(client, tokens, tree.prov1, tree.upper1, 2024, asOf=before.isoformat())
    assert now["total"]["pledges"] == 1
    assert then["total"]["pledges"] == 2


async def test_a_unit_moved_on_1_july_counts_under_its_old_parent_before_and_the_new_after(
    runtime, registry, tree, client, tokens
):
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    await pledge(runtime, tree.cs1, date(2024, 9, 1))
    await registry.move(None, tree.cs1, tree.upper3, date(2024, 7, 1))
    await pledge(runtime, tree.cs1, date(2024, 10, 1))

    def pledges(s):
        return s["total"]["pledges"]

    assert pledges(await summary(client, tokens, tree.prov1, tree.prov1, 2024)) == 1
    assert pledges(await summary(client, tokens, tree.prov2, tree.prov2, 2024)) == 2
    assert pledges(await summary(client, tokens, tree.tld, tree.tld, 2024)) == 3
    assert pledges(await summary(client, tokens, tree.cs1, tree.cs1, 2024)) == 3


async def test_a_move_recorded_later_but_dated_earlier_leaves_the_past_summary_as_it_was(
    runtime, registry, tree, client, tokens
):
    # Given cs1's pledges of March and September 2024 under prov1, and that moment
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    await pledge(runtime, tree.cs1, date(2024, 9, 1))
    before = datetime.now(UTC)
    # When cs1 is moved under prov2 (upper3), dated 1 July: recorded after the moment
    await registry.move(None, tree.cs1, tree.upper3, date(2024, 7, 1))

    async def pledges(unit: str, at: datetime | None) -> int:
        asked = {"asOf": at.isoformat()} if at else {}
        got = await summary(client, tokens, tree.tld, unit, 2024, **asked)
        return got["total"]["pledges"]

    # Then today's summaries count September under prov2
    assert (await pledges(tree.prov1, None), await pledges(tree.prov2, None)) == (1, 1)
    # and the summaries as the log held them at the moment count both under prov1, as they
    # said then
    assert (await pledges(tree.prov1, before), await pledges(tree.prov2, before)) == (2, 0)
    assert await pledges(tree.tld, before) == 2


async def test_a_merge_recorded_later_leaves_the_past_summary_and_units_as_they_were(
    runtime, registry, tree, client, tokens
):
    # Given a second grassroots union under upper1 with a pledge, one under upper3, and that
    # moment
    survivor = f"{tree.prefix}-cs8"
    await new_grassroots(registry, survivor, tree.upper3, date(2024, 1, 1))
    await new_grassroots(registry, f"{tree.prefix}-cs9", tree.upper1, date(2024, 1, 1))
    await pledge(runtime, f"{tree.prefix}-cs9", date(2024, 3, 1))
    before = datetime.now(UTC)
    # When it is merged into cs8 (under upper3, prov2) from 1 June 2024: recorded after it
    await registry.merge(None, [f"{tree.prefix}-cs9"], survivor, date(2024, 6, 1))

    async def pledges(unit: str, at: datetime | None) -> int:
        asked = {"asOf": at.isoformat()} if at else {}
        got = await summary(client, tokens, tree.tld, unit, 2024, **asked)
        return got["total"]["pledges"]

    # Then today the March pledge counts under prov1 (where cs9 stood) and under cs8, its
    # survivor, and prov2; at the moment, under prov1 only
    assert (await pledges(survivor, None), await pledges(tree.prov2, None)) == (1, 1)
    assert (await pledges(survivor, before), await pledges(tree.prov2, before)) == (0, 0)
    assert await pledges(tree.prov1, before) == 1
    # and prov1's grassroots unions at the end of 2024: cs1 alone today, cs1 and cs9 then
    units = "query ($at: DateTime) { kpis(year: 2024, asOf: $at) { targets { code whole } } }"

    async def grassroots(at: datetime | None) -> int:
        body = await gql(client, tokens, tree.prov1, ["officer"], units, at=at and at.isoformat())
        assert "errors" not in body, body
        found = {t["code"]: t["whole"] for t in body["data"]["kpis"]["targets"]}
        return found["units_launched_grassroots"]

    assert (await grassroots(None), await grassroots(before)) == (1, 2)


async def test_a_history_absorbed_by_a_unit_merged_earlier_counts_whatever_the_period(
    runtime, registry, tree, client, tokens
):
    # Given cs9 (under upper1) with a pledge of February 2025, merged into cs8 from 1 June 2025;
    # cs8 then merged into cs7 from 1 June 2024 (recorded later, dated earlier); cs7 merged into
    # cs6 from 1 March 2025; cs6 under upper3 (prov2) until it moved on 1 May 2025
    a, b, c, d = (f"{tree.prefix}-cs{n}" for n in (9, 8, 7, 6))
    for unit in (d, c, b, a):
        await new_grassroots(registry, unit, tree.upper3 if unit == d else tree.upper1, SINCE)
    await pledge(runtime, a, date(2025, 2, 1))
    await registry.merge(None, [a], b, date(2025, 6, 1))
    await registry.merge(None, [b], c, date(2024, 6, 1))
    await registry.merge(None, [c], d, date(2025, 3, 1))
    await registry.move(None, d, tree.upper2, date(2025, 5, 1))

    async def pledges(unit: str, first: int, last: int) -> int:
        got = await summary(client, tokens, tree.tld, unit, first, last)
        return {y["year"]: y["pledges"] for y in got["years"]}.get(2025, 0)

    # Then cs9's history before its merge stays with its survivors (cs8, cs7, cs6) where each
    # stood that day: on 1 February 2025 cs6 stood under upper3. So in 2025 alone as in
    # 2024–2025 (the chain runs through cs8, merged before 2025; cs9 never stood under upper3,
    # nor did cs7 or cs8 that day)
    for unit in (d, tree.upper3, tree.prov2, tree.prov1, tree.tld):
        assert await pledges(unit, 2025, 2025) == await pledges(unit, 2024, 2025) == 1, unit


async def test_a_sibling_an_upper_unit_and_an_unknown_unit_are_not_found(
    runtime, tree, client, tokens, elsewhere
):
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    for reader, unit in (
        (tree.upper2, tree.upper1),  # a sibling
        (tree.upper1, tree.prov1),  # its parent, read from below
        (tree.prov2, tree.cs1),  # a cousin
        (tree.prov1, elsewhere),  # another tree
        (tree.prov1, "no-such-unit"),
    ):
        assert await summary(client, tokens, reader, unit, 2024) is None, (reader, unit)


async def test_the_kept_ways_answer_no_one_out_of_reach(runtime, owner, tree, client, tokens):
    # Given prov1's 2024 and 2025 kept (every subtree large), and a moment
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    moment = datetime.now(UTC).isoformat()
    async with report_settings(owner, rollup_units=0):
        assert await _prov1_pledges(owner, tree, 2024, 2024, 0) == {2024: 1}
        assert await _prov1_pledges(owner, tree, 2025, 2025, 0) == {}
        # When a sibling and two units below ask for the period the kept years make up,
        # and for a year as of the moment (both from the kept roll-ups)
        for reader in (tree.prov2, tree.upper1, tree.cs1):
            # Then none of them gets an answer
            assert await summary(client, tokens, reader, tree.prov1, 2024, 2025) is None, reader
            assert await summary(client, tokens, reader, tree.prov1, 2024, asOf=moment) is None
        # and the national unit gets both
        both = await summary(client, tokens, tree.tld, tree.prov1, 2024, 2025)
        then = await summary(client, tokens, tree.tld, tree.prov1, 2024, asOf=moment)
    assert both["total"]["pledges"] == then["total"]["pledges"] == 1


async def test_as_of_a_moment_the_reach_is_todays_even_where_the_tree_then_differed(
    runtime, registry, tree, client, tokens
):
    # Given cs1 under prov1 at a moment, then moved under prov2 (upper3), dated before it
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    before = datetime.now(UTC).isoformat()
    await registry.move(None, tree.cs1, tree.upper3, date(2024, 2, 1))
    # Then its former parent reads it as of then no more (the tree then gives no reach now),
    # nor do a sibling or a unit below, whatever the moment; its new province reads it
    for reader, unit in (
        (tree.prov1, tree.cs1),
        (tree.upper1, tree.cs1),
        (tree.upper2, tree.upper1),
        (tree.upper1, tree.prov1),
    ):
        assert await summary(client, tokens, reader, unit, 2024, asOf=before) is None, reader
    mine = await summary(client, tokens, tree.prov2, tree.cs1, 2024, asOf=before)
    assert mine["total"]["pledges"] == 1
    # and prov1's own summary as of then still counts what stood under it then
    then = await summary(client, tokens, tree.prov1, tree.prov1, 2024, asOf=before)
    assert then["total"]["pledges"] == 1


async def test_a_member_reads_its_own_units_summary_only(runtime, tree, client, tokens):
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    mine = await summary(client, tokens, tree.upper1, None, 2024, roles=["member"])
    assert mine["unitId"] == tree.upper1 and mine["total"]["pledges"] == 1
    assert await summary(client, tokens, tree.upper1, tree.cs1, 2024, roles=["member"]) is None


async def test_a_period_past_ten_years_or_upside_down_is_refused(tree, client, tokens):
    for first, last in ((2020, 2030), (2025, 2024), (1999, 2000)):
        body = await gql(
            client, tokens, tree.prov1, ["officer"], SUMMARY, unit=None, first=first, last=last
        )
        assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_a_moment_out_of_range_is_refused(tree, client, tokens):
    for moment in ("0001-01-01T00:00:00+07:00", "2025-04-15T17:00:00"):
        body = await gql(
            client, tokens, tree.prov1, ["officer"], SUMMARY, unit=None, first=2024, asOf=moment
        )
        assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT", moment


async def test_a_move_dated_tomorrow_changes_no_reach_today(
    runtime, registry, tree, client, tokens
):
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    await registry.move(None, tree.cs1, tree.upper3, today() + timedelta(days=1))
    assert (await summary(client, tokens, tree.upper1, tree.cs1, 2024))["total"]["pledges"] == 1
    assert await summary(client, tokens, tree.upper3, tree.cs1, 2024) is None


async def test_a_change_is_never_known_before_the_one_it_follows(runtime, owner, tree):
    """An append whose recorded_at is earlier than the one before it in the log (its moment is
    taken before it waits for the head): the item's change is known from the earlier change's
    moment, so no moment sees the withdrawal without the pledge (a figure of -1)."""
    from services.reporting.projections import PROJECTION
    from shared.eventstore import StoredEvent

    later = datetime(2026, 1, 2, tzinfo=UTC)
    earlier = datetime(2026, 1, 1, tzinfo=UTC)
    stream = uuid.uuid4()
    day = {"_type_": "date_iso", "_data_": "2024-03-01"}

    def stored(seq: int, kind: str, data: dict, at: datetime) -> StoredEvent:
        return StoredEvent(tree.cs1, seq, stream, seq, kind, 1, data, {}, at, b"", b"")

    async with owner.transaction():
        # Given a pledge, then (in the next batch) its withdrawal recorded a day earlier
        pledged = {"title": "x", "registered_on": day}
        await PROJECTION.project(owner, [stored(1, "PledgeRegistered", pledged, later)])
        await PROJECTION.project(owner, [stored(2, "PledgeWithdrawn", {}, earlier)])
    rows = await owner.fetch(
        "SELECT known_at, delta FROM report_changes WHERE unit_id = $1 AND dim = 'x' "
        "ORDER BY delta DESC",
        tree.cs1,
    )
    # Then both are known from the pledge's moment
    assert [tuple(r) for r in rows] == [(later, 1), (later, -1)]


async def test_summaries_answers_null_in_the_place_of_each_unit_out_of_reach(
    runtime, tree, client, tokens, elsewhere
):
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    body = await gql(
        client,
        tokens,
        tree.upper1,
        ["officer"],
        "query ($u: [ID!]!) { summaries(unitIds: $u, firstYear: 2024) { unitId total { pledges } } }",
        u=[tree.cs1, tree.upper2, tree.prov1, elsewhere, tree.upper1],
    )
    assert "errors" not in body, body
    assert body["data"]["summaries"] == [
        {"unitId": tree.cs1, "total": {"pledges": 1}},
        None,  # a sibling
        None,  # its parent
        None,  # another tree
        {"unitId": tree.upper1, "total": {"pledges": 1}},
    ]


async def _kept_figures(conn, reader: str, unit: str) -> list[tuple]:
    await conn.execute(
        "SELECT set_config('thidua.tenant', $1, true), set_config('thidua.reach', 'subtree', true)",
        reader,
    )
    rows = await conn.fetch(
        "SELECT year, metric, dim, value FROM thidua_report_figures($1, 2024, 2024, NULL) "
        "WHERE metric IS NOT NULL",
        unit,
    )
    return sorted(tuple(r) for r in rows)


async def test_a_read_only_transaction_reads_a_roll_up_and_keeps_none(runtime, owner, tree):
    # Given a pledge below a province whose roll-up nobody has kept
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    # When it is read in a read-only transaction
    async with report_settings(owner, rollup_units=0), owner.transaction(readonly=True):
        got = await _kept_figures(owner, tree.prov1, tree.prov1)
    # Then it is answered, and nothing is kept
    assert got == [(2024, "pledges", "lao_dong_tien_tien", 1)]
    assert not await owner.fetchval(
        "SELECT count(*) FROM report_rollups WHERE unit_id = $1", tree.prov1
    )


async def test_a_reader_never_waits_for_another_keeping_the_same_roll_up(
    runtime, owner, database_url, tree
):
    from shared.db import owner_connection

    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    async with report_settings(owner, rollup_units=0), owner_connection(database_url) as other:
        # Given a reader keeping the province's roll-up in a transaction still open
        async with owner.transaction():
            first = await _kept_figures(owner, tree.prov1, tree.prov1)
            # When another reads it meanwhile (a second pledge written since)
            await pledge(runtime, tree.upper2, date(2024, 5, 1))
            async with other.transaction():
                await other.execute("SET LOCAL lock_timeout = '2s'")
                second = await _kept_figures(other, tree.prov1, tree.prov1)
        # Then it answered at once, with what it saw
        assert first == [(2024, "pledges", "lao_dong_tien_tien", 1)]
        assert second == [(2024, "pledges", "lao_dong_tien_tien", 2)]
        # and the next read adds the second pledge to the roll-up the first kept
        async with owner.transaction():
            assert await _kept_figures(owner, tree.prov1, tree.prov1) == second


async def test_a_session_with_no_unit_set_reads_no_figures(runtime, tree):
    # Given a pledge, and the application's own role on a connection that set no unit
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    async with runtime.store.pool.acquire() as conn:
        assert await conn.fetchval("SELECT current_user") == "thidua_app"
        async with conn.transaction():
            # When it asks for the unit's figures, with a reach but no unit, or nothing at all
            await conn.execute("SELECT set_config('thidua.reach', 'subtree', true)")
            unset = await conn.fetch(
                "SELECT * FROM thidua_report_figures($1, 2024, 2024, NULL)", tree.cs1
            )
            await conn.execute("SELECT set_config('thidua.tenant', '', true)")
            emptied = await conn.fetch(
                "SELECT * FROM thidua_report_figures($1, 2024, 2024, NULL)", tree.cs1
            )
        # Then nothing is answered: not even the row of nulls that says it may read them
        assert unset == [] and emptied == []


async def test_a_change_to_no_row_of_the_tree_leaves_kept_roll_ups_alone(owner, tree):
    # When a statement touches the tree's tables but changes no row of them
    before = await owner.fetchval("SELECT count(*) FROM report_tree_changes")
    async with owner.transaction():
        await owner.execute("UPDATE unit_parents SET kind = kind WHERE tenant_id = 'nobody'")
        await owner.execute("DELETE FROM unit_closure WHERE ancestor = 'nobody'")
    # Then no change to the tree is recorded; and one that changes a row is
    assert await owner.fetchval("SELECT count(*) FROM report_tree_changes") == before
    await owner.execute(
        "UPDATE unit_parents SET kind = kind WHERE tenant_id = $1 AND valid_to IS NULL", tree.cs1
    )
    assert await owner.fetchval("SELECT count(*) FROM report_tree_changes") == before + 1


async def test_a_unit_keeps_its_latest_periods_only(runtime, owner, tree):
    # Given a unit that may keep two periods' roll-ups
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    async with report_settings(owner, rollup_units=0, kept_periods=2):
        # When three years are read in turn
        for first in (2022, 2023, 2024):
            async with owner.transaction():
                await owner.execute(
                    "SELECT set_config('thidua.tenant', $1, true), "
                    "set_config('thidua.reach', 'subtree', true)",
                    tree.prov1,
                )
                await owner.fetch(
                    "SELECT * FROM thidua_report_figures($1, $2, $2, NULL)", tree.prov1, first
                )
    # Then the two read last are kept
    kept = await owner.fetch(
        "SELECT first_year FROM report_rollups WHERE unit_id = $1 ORDER BY 1", tree.prov1
    )
    assert [r["first_year"] for r in kept] == [2023, 2024]


async def _as_the_union(owner, tree, setting: int, query: str, *args) -> list:
    """``query`` in the national unit's session, with subtrees of at least ``setting`` units
    large (0: every one kept)."""
    async with report_settings(owner, rollup_units=setting), owner.transaction():
        await owner.execute(
            "SELECT set_config('thidua.tenant', $1, true), "
            "set_config('thidua.reach', 'subtree', true)",
            tree.tld,
        )
        return await owner.fetch(query, *args)


async def _prov1_pledges(owner, tree, first: int, last: int, setting: int) -> dict[int, int]:
    """prov1's pledges by year as the national unit reads them."""
    rows = await _as_the_union(
        owner,
        tree,
        setting,
        "SELECT year, sum(value)::int AS n FROM thidua_report_figures($1, $2, $3, NULL) "
        "WHERE metric = 'pledges' GROUP BY year",
        tree.prov1,
        first,
        last,
    )
    return {r["year"]: r["n"] for r in rows}


async def test_a_year_of_a_kept_period_is_read_from_its_roll_up_and_equals_the_year_alone(
    runtime, registry, owner, tree
):
    # Given prov1's 2024–2026 kept, with pledges in each year, then a move and more pledges
    for day in (date(2024, 5, 1), date(2025, 5, 1), date(2026, 5, 1)):
        await pledge(runtime, tree.cs1, day)

    async def read(first: int, last: int, setting: int) -> dict[int, int]:
        return await _prov1_pledges(owner, tree, first, last, setting)

    async def kept() -> list[tuple[int, int]]:
        rows = await owner.fetch(
            "SELECT first_year, last_year FROM report_rollups WHERE unit_id = $1 ORDER BY 1, 2",
            tree.prov1,
        )
        return [tuple(r) for r in rows]

    assert await read(2024, 2026, 0) == {2024: 1, 2025: 1, 2026: 1}
    await registry.move(None, tree.upper2, tree.prov2, date(2026, 1, 1))  # no history: kept on
    await pledge(runtime, tree.cs1, date(2025, 9, 1))
    # When 2025 and 2025–2026 are read
    year, two = await read(2025, 2025, 0), await read(2025, 2026, 0)
    # Then from the kept 2024–2026 rolled forward (no roll-up of their own), as each read alone
    assert (year, two) == ({2025: 2}, {2025: 2, 2026: 1})
    assert await kept() == [(2024, 2026)]
    assert (await read(2025, 2025, 10_000), await read(2025, 2026, 10_000)) == (year, two)
    # and a period the kept one does not enclose is read and kept on its own
    assert await read(2023, 2025, 0) == {2024: 1, 2025: 2}
    assert await kept() == [(2023, 2025), (2024, 2026)]


async def test_a_period_is_taken_from_the_kept_roll_ups_that_enclose_its_years(
    runtime, registry, owner, tree
):
    async def read(first: int, last: int, setting: int) -> dict[int, int]:
        return await _prov1_pledges(owner, tree, first, last, setting)

    async def kept() -> dict[tuple[int, int], dict[int, int]]:
        rows = await owner.fetch(
            "SELECT r.first_year, r.last_year, f.year, sum(f.value)::int AS n "
            "FROM report_rollups r, thidua_report_rows(r.figures) f "
            "WHERE r.unit_id = $1 AND f.metric = 'pledges' GROUP BY 1, 2, 3",
            tree.prov1,
        )
        found: dict[tuple[int, int], dict[int, int]] = {}
        for r in rows:
            found.setdefault((r["first_year"], r["last_year"]), {})[r["year"]] = r["n"]
        return found

    # Given prov1's 2024–2025 and 2025–2026 kept (2025 in both), with a pledge in each year
    for day in (date(2024, 5, 1), date(2025, 5, 1), date(2026, 5, 1)):
        await pledge(runtime, tree.cs1, day)
    assert await read(2024, 2025, 0) == {2024: 1, 2025: 1}
    assert await read(2025, 2026, 0) == {2025: 1, 2026: 1}
    # and pledges of 2025 and 2026 recorded since, one of them by a unit moved in since
    await registry.move(None, tree.upper3, tree.prov1, date(2025, 1, 1))
    await pledge(runtime, tree.cs1, date(2025, 9, 1))
    await pledge(runtime, tree.upper3, date(2026, 9, 1))
    # When 2024–2026, which neither encloses, is read
    got = await read(2024, 2026, 0)
    # Then each year is taken once, from the shortest kept period enclosing it (2025 from the
    # earlier), each rolled forward and kept anew, as a read in full counts it; and the period
    # is not kept on its own
    assert got == {2024: 1, 2025: 2, 2026: 2} == await read(2024, 2026, 10_000)
    assert await kept() == {
        (2024, 2025): {2024: 1, 2025: 2},
        (2025, 2026): {2025: 2, 2026: 2},
    }
    # and a period with a year no kept roll-up encloses is read in full and kept on its own
    assert await read(2025, 2027, 0) == {2025: 2, 2026: 2}
    assert (2025, 2027) in await kept()


async def _prov1_2024(owner, tree, setting: int, at: datetime | None) -> dict[str, int]:
    """prov1's pledges of 2024 (and a marked figure) as the national unit reads them, as of
    ``at``."""
    rows = await _as_the_union(
        owner,
        tree,
        setting,
        "SELECT metric, sum(value)::int AS n FROM thidua_report_figures($1, 2024, 2024, $2) "
        "WHERE metric IN ('pledges', 'marked') GROUP BY metric",
        tree.prov1,
        at,
    )
    return {r["metric"]: r["n"] for r in rows}


async def _mark_prov1_2024(owner, tree) -> None:
    """A figure nobody wrote, in prov1's kept 2024: there in an answer read from it."""
    await owner.execute(
        'UPDATE report_rollups SET figures = figures || \'[[2024, "marked", "", 1]]\' '
        "WHERE unit_id = $1 AND first_year = 2024 AND last_year = 2024",
        tree.prov1,
    )


async def test_a_large_subtree_as_of_a_moment_is_its_kept_roll_up_less_what_came_since(
    runtime, owner, tree
):
    async def read(setting: int, at: datetime | None) -> dict[str, int]:
        return await _prov1_2024(owner, tree, setting, at)

    # Given prov1's 2024 kept with a pledge, a moment, and two pledges recorded after it
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    assert await read(0, None) == {"pledges": 1}
    moment = datetime.now(UTC)
    await pledge(runtime, tree.cs1, date(2024, 4, 1))
    await pledge(runtime, tree.prov1, date(2024, 5, 1))
    # and a figure nobody wrote marked in the kept roll-up (there if it is read from it)
    await _mark_prov1_2024(owner, tree)
    # When it is asked as of the moment
    got = await read(0, moment)
    # Then it is the kept roll-up, rolled forward, less the two pledges known since: as a read
    # in full as of the moment counts it, and as today's less them
    assert got == {"pledges": 1, "marked": 1}
    assert await read(10_000, moment) == {"pledges": 1}
    assert await read(0, None) == {"pledges": 3, "marked": 1}


async def test_a_large_subtree_as_of_a_moment_counts_a_unit_moved_since_as_it_stood_then(
    runtime, registry, owner, tree
):
    async def read(setting: int, at: datetime | None) -> dict[str, int]:
        return await _prov1_2024(owner, tree, setting, at)

    # Given pledges of cs1 (under prov1) and of upper3 (under prov2), and a moment
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    await pledge(runtime, tree.upper3, date(2024, 3, 1))
    moment = datetime.now(UTC)
    # and, recorded since, upper3 moved under prov1 from before its pledge, and prov1's 2024
    # kept after that, with a figure nobody wrote marked in it
    await registry.move(None, tree.upper3, tree.prov1, date(2024, 2, 1))
    assert await read(0, None) == {"pledges": 2}
    await _mark_prov1_2024(owner, tree)
    # When prov1's 2024 is asked as of the moment
    got = await read(0, moment)
    # Then it is read from the kept roll-up, with upper3's pledge taken back: it stood under
    # prov2 then, as a read in full over the tree as known then counts it
    assert got == {"pledges": 1, "marked": 1}
    assert await read(10_000, moment) == {"pledges": 1}


async def test_a_kept_roll_up_adds_a_merged_units_late_change_under_its_survivor(
    runtime, owner, registry, tree
):
    # Given upper3 (under prov2) merged into upper1 (under prov1) on 1 July 2024, and prov1's
    # roll-up of 2024 kept after it
    await registry.merge(None, [tree.upper3], tree.upper1, date(2024, 7, 1))
    async with report_settings(owner, rollup_units=0):
        async with owner.transaction():
            assert await _kept_figures(owner, tree.prov1, tree.prov1) == []
        # When a pledge of upper3's own history, before its merge, is recorded since
        await pledge(runtime, tree.upper3, date(2024, 3, 1))
        async with owner.transaction():
            got = await _kept_figures(owner, tree.prov1, tree.prov1)
    # Then the kept roll-up adds it, under its survivor's province
    assert got == [(2024, "pledges", "lao_dong_tien_tien", 1)]


async def test_a_kept_roll_up_is_read_anew_only_after_a_change_to_a_unit_with_a_history(
    runtime, owner, registry, tree
):
    async def read() -> list[tuple]:
        async with owner.transaction():
            return await _kept_figures(owner, tree.prov1, tree.prov1)

    async def mark() -> None:  # gone if read anew
        await _mark_prov1_2024(owner, tree)

    marked = (2024, "marked", "", 1)
    pledged = (2024, "pledges", "lao_dong_tien_tien")
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    async with report_settings(owner, rollup_units=0):
        # Given prov1's roll-up kept
        assert await read() == [(*pledged, 1)]
        await mark()
        # When a new unit is registered below it, and pledges
        await new_grassroots(registry, tree.cs9, tree.upper1, date(2024, 5, 1))
        await pledge(runtime, tree.cs9, date(2024, 6, 1))
        # Then the kept roll-up is rolled forward: it had counted nothing of the new unit's
        assert await read() == [marked, (*pledged, 2)]
        # When a unit with pledges counted is moved (under the same province)
        await registry.move(None, tree.cs1, tree.upper2, date(2024, 7, 1))
        # Then the roll-up is read anew
        assert await read() == [(*pledged, 2)]


def test_every_count_of_a_summary_is_a_bigint(settings):
    # A union-wide count over five years, or a sum of đồng, can pass GraphQL's Int (2^31): every
    # figure of a summary is one scalar, so that a front end reads them all the same way.
    types = build_schema(settings)._schema.type_map
    not_counts = {"year", "key", "award", "awardName", "directWorkerShare", "womenShare"}
    for name in ("SummaryFigures", "AwardFigures", "Count"):
        kinds = {
            field: str(get_named_type(kind.type))
            for field, kind in types[name].fields.items()
            if field not in not_counts
        }
        plain = {f: k for f, k in kinds.items() if k not in ("BigInt", "Count", "AwardFigures")}
        assert kinds and plain == {}, name
