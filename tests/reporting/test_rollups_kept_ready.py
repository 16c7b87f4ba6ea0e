"""The large subtrees' roll-ups kept ready (services/reporting/rollups.py, migration 0060): the
units and periods a keeper reads, what it keeps, and its rounds in the server's background."""

from __future__ import annotations

import asyncio
from datetime import date

import orjson
import pytest

from services.reporting import rollups
from services.reporting.rollups import KEEPER_LOCK, RollupKeeper, keep_rollups
from shared import access
from shared.clock import today
from tests.reporting.conftest import given, pledge, report_settings, summary
from tests.reporting.test_figures import grassroots

# The test tree: tld, prov1, prov2, upper1, upper2, upper3, cs1 (prov1 has four units).
TREE_UNITS = 7


async def to_keep(owner, tree, on: date, earliest: int | None = None) -> list[tuple[str, int, int]]:
    """What the keeper would keep of ``tree`` on ``on``, the earliest year any figure is dated in
    being ``earliest`` (none: nothing dated), whatever the other tests dated theirs in."""
    tx = owner.transaction()
    await tx.start()
    try:
        await owner.execute("DELETE FROM report_years")
        if earliest is not None:
            await owner.execute("INSERT INTO report_years VALUES ($1)", earliest)
        rows = await owner.fetch(
            "SELECT unit_id, first_year, last_year FROM thidua_report_rollups_to_keep($1) "
            "WHERE unit_id LIKE $2",
            on,
            f"{tree.prefix}-%",
        )
    finally:
        await tx.rollback()
    return [tuple(r) for r in rows]


async def kept(owner, unit: str) -> dict[tuple[int, int], tuple[str, str]]:
    """Each period kept of ``unit``: the snapshot it was kept with, and when."""
    rows = await owner.fetch(
        "SELECT first_year, last_year, seen::text AS seen, kept_at::text AS at "
        "FROM report_rollups WHERE unit_id = $1",
        unit,
    )
    return {(r["first_year"], r["last_year"]): (r["seen"], r["at"]) for r in rows}


async def rounds_of(keeper: RollupKeeper, n: int) -> None:
    """Until ``keeper`` has done ``n`` rounds (five minutes at most, then the test fails). A
    round keeps every large unit's terms in the whole test database: late in a full run, with
    every earlier test's tree in it, a round took over 30 s on the CI machine."""
    for _ in range(30_000):
        if keeper.rounds >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{keeper.rounds} rounds of {n}")


async def asked(runtime, unit: str, first: int, last: int) -> None:
    await given(
        runtime,
        unit,
        "ReportsRequested",
        first_year=first,
        last_year=last,
        due_on=date(last, 4, 15),
        note="",
    )


async def test_a_large_subtree_is_kept_for_this_year_the_last_and_the_periods_asked(
    runtime, owner, tree
):
    # given reports the tree's national unit asked for 2020–2025 (not yet ended) and 2015–2020
    # (ended), and one a unit below it asked for 2021–2026
    await asked(runtime, tree.tld, 2020, 2025)
    await asked(runtime, tree.tld, 2015, 2020)
    await asked(runtime, tree.cs1, 2021, 2026)
    async with report_settings(owner, rollup_units=TREE_UNITS, kept_periods=16):
        # when the keeper asks what to keep on 1 June 2025
        wanted = await to_keep(owner, tree, date(2025, 6, 1))
    # then the national unit (7 units) is kept for 2025, 2024, then the period it asked, then
    # the terms of those years not asked (2025–2030); no smaller subtree (the province has 4),
    # no period ended before last year, none asked below
    assert wanted == [
        (tree.tld, 2025, 2025),
        (tree.tld, 2024, 2024),
        (tree.tld, 2020, 2025),
        (tree.tld, 2025, 2030),
    ]


async def test_the_terms_of_this_year_and_the_last_are_kept_asked_or_not(runtime, owner, tree):
    async with report_settings(owner, rollup_units=TREE_UNITS, kept_periods=16):
        # 2026 and 2025: the term 2025–2030, and 2020–2025 (2025 is in both)
        assert await to_keep(owner, tree, date(2026, 6, 1)) == [
            (tree.tld, 2026, 2026),
            (tree.tld, 2025, 2025),
            (tree.tld, 2025, 2030),
            (tree.tld, 2020, 2025),
        ]
        # 2028 and 2027: 2025–2030 alone
        assert await to_keep(owner, tree, date(2028, 6, 1)) == [
            (tree.tld, 2028, 2028),
            (tree.tld, 2027, 2027),
            (tree.tld, 2025, 2030),
        ]


async def test_the_terms_before_are_kept_back_to_the_earliest_year_dated(runtime, owner, tree):
    async with report_settings(owner, rollup_units=TREE_UNITS, kept_periods=16):
        # given figures dated from 2013: in 2026, every term from 2010–2015 (2020–2025 is
        # last year's), the most recent first, after this year's and last year's terms
        assert await to_keep(owner, tree, date(2026, 6, 1), earliest=2013) == [
            (tree.tld, 2026, 2026),
            (tree.tld, 2025, 2025),
            (tree.tld, 2025, 2030),
            (tree.tld, 2020, 2025),
            (tree.tld, 2015, 2020),
            (tree.tld, 2010, 2015),
        ]
        # in 2028, 2020–2025 is one of them (no year of it is this year or the last)
        assert (await to_keep(owner, tree, date(2028, 6, 1), earliest=2021))[3:] == [
            (tree.tld, 2020, 2025)
        ]
        # figures from 2021 only: no term before 2020–2025
        assert await to_keep(owner, tree, date(2026, 6, 1), earliest=2021) == await to_keep(
            owner, tree, date(2026, 6, 1)
        )
    async with report_settings(owner, rollup_units=TREE_UNITS, kept_periods=10):
        # a unit that keeps five: the oldest term is the one left out
        assert (await to_keep(owner, tree, date(2026, 6, 1), earliest=2013))[-1] == (
            tree.tld,
            2015,
            2020,
        )


async def test_the_years_dated_are_written_as_figures_are(runtime, owner, tree):
    dated = "SELECT count(*) FROM report_years WHERE year = 1987"
    assert await owner.fetchval(dated) == 0  # no other test dates anything in 1987
    try:
        # given a pledge dated in 1987, then another
        await pledge(runtime, tree.cs1, date(1987, 3, 1))
        await pledge(runtime, tree.upper1, date(1987, 4, 1))
        # then 1987 is among the years dated
        assert await owner.fetchval(dated) == 1
    finally:
        # so that the keeper's rounds in the tests after this one do not keep terms back to
        # 1985 (a rebuild in a later test writes it again, from the log)
        await owner.execute("DELETE FROM report_years WHERE year = 1987")


async def test_a_unit_keeps_at_most_half_its_kept_periods_so_that_no_round_undoes_another(
    runtime, owner, tree
):
    for first in (2019, 2020, 2021):
        await asked(runtime, tree.tld, first, first + 5)
    await pledge(runtime, tree.cs1, date(2025, 3, 1))
    async with report_settings(owner, rollup_units=TREE_UNITS, kept_periods=4):
        # given five periods worth keeping, and a unit that keeps four
        wanted = await to_keep(owner, tree, date(2025, 6, 1))
        # then the keeper keeps two: this year's and last year's
        assert wanted == [(tree.tld, 2025, 2025), (tree.tld, 2024, 2024)]
        # and a second round with nothing written since reads each from what the first kept
        await keep_rollups(runtime.pool, date(2025, 6, 1))
        first = await kept(owner, tree.tld)
        await keep_rollups(runtime.pool, date(2025, 6, 1))
        assert await kept(owner, tree.tld) == first


async def test_a_users_session_is_told_nothing_to_keep(runtime, owner, tree):
    sql = "SELECT unit_id FROM thidua_report_rollups_to_keep(current_date) WHERE unit_id = $1"
    async with report_settings(owner, rollup_units=TREE_UNITS):
        async with runtime.pool.acquire() as conn, conn.transaction():
            assert await conn.fetch(sql, tree.tld) != []  # the keeper's session: no unit
            await conn.execute(
                "SELECT set_config('thidua.tenant', $1, true), "
                "set_config('thidua.reach', 'subtree', true)",
                tree.tld,
            )
            assert await conn.fetch(sql, tree.tld) == []


async def test_one_keeper_at_a_time(runtime, owner, tree):
    await pledge(runtime, tree.cs1, date(2025, 3, 1))
    async with report_settings(owner, rollup_units=TREE_UNITS):
        # given another keeper at work
        await owner.execute("SELECT pg_advisory_lock($1)", KEEPER_LOCK)
        try:
            # then a keeper's round leaves it the work
            assert await keep_rollups(runtime.pool, date(2025, 6, 1)) == 0
            assert await kept(owner, tree.tld) == {}
            # and one that waits for it does the work once it is done
            waiting = asyncio.ensure_future(keep_rollups(runtime.pool, date(2025, 6, 1), wait=True))
            await asyncio.sleep(0.2)
            assert not waiting.done()
        finally:
            await owner.execute("SELECT pg_advisory_unlock($1)", KEEPER_LOCK)
        assert await waiting >= 1
        assert (2025, 2025) in await kept(owner, tree.tld)


async def test_the_keeper_keeps_what_a_user_then_reads_as_a_full_read_would(
    runtime, owner, tree, client, tokens
):
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    await pledge(runtime, tree.upper3, date(2024, 5, 1))
    async with report_settings(owner, rollup_units=TREE_UNITS):
        # given nothing kept of the tree
        assert await kept(owner, tree.tld) == {}
        # when the keeper runs on 1 June 2024
        assert await keep_rollups(runtime.pool, date(2024, 6, 1)) >= 2
        # then the union's 2024 is kept (2023 is not: the tree's units came in 2024), and a
        # user's read answers from it, as it was kept (not read and kept anew)
        held = await kept(owner, tree.tld)
        assert (2024, 2024) in held and (2023, 2023) not in held
        read = await summary(client, tokens, tree.tld, tree.tld, 2024)
        assert read["total"]["pledges"] == 2
        assert (await kept(owner, tree.tld))[(2024, 2024)] == held[(2024, 2024)]
    # and with nothing large enough, nothing more is kept
    async with report_settings(owner, rollup_units=10**6):
        await owner.execute("DELETE FROM report_rollups WHERE unit_id = $1", tree.tld)
        await keep_rollups(runtime.pool, date(2024, 6, 1))
        assert await kept(owner, tree.tld) == {}


async def test_the_periods_not_kept_are_read_once_and_each_kept_as_its_own_full_read(
    runtime, owner, tree
):
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    await pledge(runtime, tree.upper3, date(2024, 5, 1), title="chien_si_thi_dua_co_so")
    await pledge(runtime, tree.cs1, date(2025, 2, 1))
    async with report_settings(owner, rollup_units=TREE_UNITS, kept_periods=16):
        # given nothing kept of the union, and four periods worth keeping on 1 June 2025
        await owner.execute("DELETE FROM report_rollups WHERE unit_id = $1", tree.tld)
        wanted = await to_keep(owner, tree, date(2025, 6, 1))
        # when the keeper runs
        await keep_rollups(runtime.pool, date(2025, 6, 1))
        # then each was kept from one read of the years they span (one snapshot for all)
        held = await kept(owner, tree.tld)
        assert set(held) == {(first, last) for _, first, last in wanted}
        assert len({seen for seen, _ in held.values()}) == 1
        # and each holds what a full read of its own period finds
        for first, last in held:
            figures = await owner.fetchval(
                "SELECT figures::text FROM report_rollups WHERE unit_id = $1 "
                "AND first_year = $2 AND last_year = $3",
                tree.tld,
                first,
                last,
            )
            full = await owner.fetchval(
                "SELECT thidua_report_sums($1, $2, $3, NULL, NULL, false)::text",
                tree.tld,
                first,
                last,
            )
            assert sorted(orjson.loads(figures)) == sorted(orjson.loads(full)), (first, last)
            assert orjson.loads(full) != [], (first, last)


async def test_a_period_whose_years_are_kept_is_not_read_again_to_be_kept(runtime, owner, tree):
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    async with report_settings(owner, rollup_units=TREE_UNITS, kept_periods=16):
        # given the union's terms 2020–2025 and 2025–2030 kept
        await owner.execute("DELETE FROM report_rollups WHERE unit_id = $1", tree.tld)
        async with access.as_unit(runtime.pool, tree.tld) as conn:

            async def keep(firsts: list[int], lasts: list[int]) -> int:
                return await conn.fetchval(
                    "SELECT thidua_report_keep($1, $2::integer[], $3::integer[])",
                    tree.tld,
                    firsts,
                    lasts,
                )

            assert await keep([2020, 2025], [2025, 2030]) == 2
            # when 2024–2028 is asked to be kept: its years are the terms', so it is left to
            # be taken from them (0065), not read in full
            assert await keep([2024], [2028]) == 0
            # and 2030–2031 is read and kept: 2031 is in neither
            assert await keep([2030], [2031]) == 1
        assert set(await kept(owner, tree.tld)) == {(2020, 2025), (2025, 2030), (2030, 2031)}


async def test_the_keeper_reading_two_at_a_time_keeps_every_period_wanted(
    runtime, owner, tree, monkeypatch
):
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    seen = {"in_flight": 0, "most": 0}
    read_figures = rollups.read_figures

    async def watched(*args):
        seen["in_flight"] += 1
        seen["most"] = max(seen["most"], seen["in_flight"])
        try:
            await asyncio.sleep(0.01)  # the other reader takes its next meanwhile
            return await read_figures(*args)
        finally:
            seen["in_flight"] -= 1

    async with report_settings(owner, rollup_units=TREE_UNITS):
        # given what the keeper keeps of the union reading one at a time
        read = await keep_rollups(runtime.pool, date(2024, 6, 1))
        one = set(await kept(owner, tree.tld))
        assert read >= 2 and one
        await owner.execute("DELETE FROM report_rollups WHERE unit_id = $1", tree.tld)
        # when it reads two at a time (as at the end of a rebuild)
        monkeypatch.setattr(rollups, "read_figures", watched)
        assert await keep_rollups(runtime.pool, date(2024, 6, 1), at_once=2) == read
        # then two were read at once, and it kept the same periods
        assert seen["most"] == 2
        assert set(await kept(owner, tree.tld)) == one


async def test_a_read_that_fails_is_the_keepers_own_error(runtime, owner, tree, monkeypatch):
    await pledge(runtime, tree.cs1, date(2024, 3, 1))

    async def away(*args):
        raise ConnectionResetError("the database went away")

    monkeypatch.setattr(rollups, "read_figures", away)
    async with report_settings(owner, rollup_units=TREE_UNITS):
        # when a read fails, one or two at a time, the keeper raises its error as it came (its
        # round says a database error as a warning and goes on)
        for at_once in (1, 2):
            with pytest.raises(ConnectionResetError):
                await keep_rollups(runtime.pool, date(2024, 6, 1), at_once=at_once)


async def test_the_keeper_runs_at_once_then_every_interval_until_stopped(runtime, owner, tree):
    await pledge(runtime, tree.cs1, today())
    async with report_settings(owner, rollup_units=TREE_UNITS):
        keeper = RollupKeeper(runtime.pool, interval_s=0.05)
        keeper.start()
        try:
            await rounds_of(keeper, 2)
            assert (today().year, today().year) in await kept(owner, tree.tld)
        finally:
            await keeper.stop()
        rounds = keeper.rounds
        await asyncio.sleep(0.2)
        assert keeper.rounds == rounds  # stopped
    # and a keeper with no interval never starts
    idle = RollupKeeper(runtime.pool, interval_s=0)
    idle.start()
    await asyncio.sleep(0.1)
    assert idle.rounds == 0
    await idle.stop()


async def test_the_keeper_keeps_them_anew_as_soon_as_the_tree_changed(
    runtime, registry, owner, tree
):
    # Given a unit with a history, and the union's roll-up of this year kept by a keeper whose
    # rounds are an hour apart
    await pledge(runtime, tree.cs1, today())
    year = (today().year, today().year)
    async with report_settings(owner, rollup_units=TREE_UNITS):
        keeper = RollupKeeper(runtime.pool, interval_s=3600, watch_s=0.05)
        keeper.start()
        try:
            await rounds_of(keeper, 1)
            before = (await kept(owner, tree.tld))[year]
            await asyncio.sleep(0.2)
            assert keeper.rounds == 1  # nothing changed: no round
            # When the unit moves to another parent
            await registry.move(None, tree.cs1, tree.upper2, today())
            # Then the keeper keeps the roll-up anew at once, not an hour later
            await rounds_of(keeper, 2)
            assert (await kept(owner, tree.tld))[year] != before
        finally:
            await keeper.stop()


async def test_the_keeper_goes_on_after_a_round_that_failed(runtime, monkeypatch):
    from services.reporting import rollups

    failures = []

    async def failing_once(pool, on=None):
        if not failures:
            failures.append(1)
            raise RuntimeError("not expected")
        return 0

    monkeypatch.setattr(rollups, "keep_rollups", failing_once)
    keeper = RollupKeeper(runtime.pool, interval_s=0.01)
    keeper.start()
    try:
        await rounds_of(keeper, 3)
    finally:
        await keeper.stop()
    assert failures == [1]


async def test_a_unit_beside_keeps_nothing_and_learns_no_merge(runtime, registry, owner, tree):
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    older = f"{tree.prefix}-cs8"
    await grassroots(registry, (older, tree.upper1))
    await registry.merge(None, [older], tree.cs1, date(2024, 2, 1))

    async def as_reader(unit: str, sql: str, *args):
        """``sql``'s rows as the application, for an officer of ``unit`` (its subtree's reach)."""
        async with owner.transaction():
            await owner.execute(
                "SELECT set_config('thidua.tenant', $1, true), "
                "set_config('thidua.reach', 'subtree', true)",
                unit,
            )
            await owner.execute("SET LOCAL ROLE thidua_app")
            return [tuple(r) for r in await owner.fetch(sql, *args)]

    absorbed = "SELECT unit, source FROM thidua_report_absorbed($1, 2020, 2025, NULL)"
    indicators = "SELECT * FROM thidua_report_indicators_absorbed($1, 2020, 2025, NULL)"
    keep = "SELECT thidua_report_keep($1, ARRAY[2024], ARRAY[2024])"
    async with report_settings(owner, rollup_units=TREE_UNITS, kept_periods=16):
        await owner.execute("DELETE FROM report_rollups WHERE unit_id = $1", tree.tld)
        # the second province, beside: learns nothing of the merges below the first, and
        # keeps nothing of the union nor of the first province
        assert await as_reader(tree.prov2, absorbed, [tree.cs1]) == []
        assert await as_reader(tree.prov2, indicators, [tree.cs1, older]) == []
        for unit in (tree.tld, tree.prov1):
            assert await as_reader(tree.prov2, keep, unit) == [(0,)]
        assert await kept(owner, tree.tld) == {}
        # while the first province, above, learns the merge
        assert await as_reader(tree.prov1, absorbed, [tree.cs1]) == [(tree.cs1, older)]
