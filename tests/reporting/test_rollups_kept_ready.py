"""The large subtrees' roll-ups kept ready (services/reporting/rollups.py, migration 0060): the
units and periods a keeper reads, what it keeps, and its rounds in the server's background."""

from __future__ import annotations

import asyncio
from datetime import date

from services.reporting.rollups import RollupKeeper, keep_rollups
from shared.clock import today
from tests.reporting.conftest import given, pledge, report_settings, summary

# The test tree: tld, prov1, prov2, upper1, upper2, upper3, cs1 (prov1 has four units).
TREE_UNITS = 7


async def to_keep(owner, tree, on: date) -> list[tuple[str, int, int]]:
    rows = await owner.fetch(
        "SELECT unit_id, first_year, last_year FROM thidua_report_rollups_to_keep($1) "
        "WHERE unit_id LIKE $2",
        on,
        f"{tree.prefix}-%",
    )
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
    """Until ``keeper`` has done ``n`` rounds (30 s at most, then the test fails)."""
    for _ in range(3000):
        if keeper.rounds >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{keeper.rounds} rounds of {n}")


async def test_a_large_subtree_is_kept_for_this_year_the_last_and_the_periods_asked(
    runtime, owner, tree
):
    # given reports asked of the tree for 2020–2025 (not yet ended) and 2015–2020 (ended)
    for first, last in ((2020, 2025), (2015, 2020)):
        await given(
            runtime,
            tree.tld,
            "ReportsRequested",
            first_year=first,
            last_year=last,
            due_on=date(last, 4, 15),
            note="",
        )
    async with report_settings(owner, rollup_units=TREE_UNITS):
        # when the keeper asks what to keep on 1 June 2025
        wanted = await to_keep(owner, tree, date(2025, 6, 1))
    # then the national unit (7 units) is kept for 2025, 2024 and 2020–2025 (periods asked
    # anywhere in the union: other tests' too), the latest first; no smaller subtree (the
    # province has 4), nor a period ended before last year
    assert {u for u, _, _ in wanted} == {tree.tld}
    periods = [(first, last) for _, first, last in wanted]
    assert {(2025, 2025), (2024, 2024), (2020, 2025)} <= set(periods)
    assert (2015, 2020) not in periods
    assert periods == sorted(periods, key=lambda p: (-p[1], -p[0]))


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
