"""Kept roll-ups (migration 0059) against readers and writers at once: two readers letting go
each other's periods, a keeper that writes, and a fuzzer of transactions in flight on four
connections, each read of a kept roll-up compared with a full read of the same moment."""

from __future__ import annotations

import asyncio
import random
from datetime import date, timedelta

import asyncpg
import orjson
import pytest

from shared.db import lock_key
from tests.reporting.conftest import new_grassroots, pledge, report_settings

PERIODS = ((2024, 2024), (2023, 2025), (2025, 2025))


async def reach(conn, tenant: str) -> None:
    await conn.execute(
        "SELECT set_config('thidua.tenant', $1, true), set_config('thidua.reach', 'subtree', true)",
        tenant,
    )


async def figures(conn, unit: str, first: int = 2024, last: int = 2024) -> list[tuple]:
    rows = await conn.fetch(
        "SELECT year, metric, dim, value FROM thidua_report_figures($1, $2, $3, NULL) "
        "WHERE metric IS NOT NULL",
        unit,
        first,
        last,
    )
    return sorted(tuple(r) for r in rows)


async def test_the_lock_of_a_kept_roll_up_is_the_platforms_key_of_its_name(owner):
    key = await owner.fetchval("SELECT thidua_report_rollup_key('u-1', 2020, 2025)")
    assert key == lock_key("report_rollups:u-1:2020:2025")


async def test_a_setting_past_what_the_reads_can_count_is_refused(runtime, owner, tree):
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    # Given an operator's setting at integer's top: refused, nothing changed
    with pytest.raises(asyncpg.CheckViolationError):
        await owner.execute(
            "UPDATE report_settings SET value = 2147483647 WHERE name = 'rollup_units'"
        )
    assert (
        await owner.fetchval("SELECT value FROM report_settings WHERE name = 'rollup_units'") == 500
    )
    # When both are at the most allowed, then a subtree is read in full, as none is that large
    async with (
        report_settings(owner, rollup_units=1_000_000_000, many_units=1_000_000_000),
        owner.transaction(),
    ):
        await reach(owner, tree.tld)
        assert await figures(owner, tree.prov1) == [(2024, "pledges", "lao_dong_tien_tien", 1)]


async def test_two_readers_letting_go_of_each_others_periods_never_wait(runtime, owner, tree):
    pool = runtime.store.pool
    u, w = tree.prov1, tree.prov2

    async def keep(unit: str, first: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await reach(conn, tree.tld)
            await figures(conn, unit, first, first)

    await pledge(runtime, tree.cs1, date(2022, 3, 1))
    async with report_settings(owner, rollup_units=0, kept_periods=1):
        # Given U's 2022 and W's 2023 kept, and something written since
        await keep(u, 2022)
        await keep(w, 2023)
        await pledge(runtime, tree.upper3, date(2023, 3, 1))
        async with pool.acquire() as a, pool.acquire() as b:
            ta, tb = a.transaction(), b.transaction()
            await ta.start()
            await tb.start()
            try:
                for conn in (a, b):
                    await reach(conn, tree.tld)
                    await conn.execute("SET LOCAL lock_timeout = '10s'")
                # When A keeps U's 2023 (letting U's 2022 go) and B W's 2022 (W's 2023 go),
                # then each reads the period the other let go
                await figures(a, u, 2023, 2023)
                await figures(b, w, 2022, 2022)
                first = asyncio.ensure_future(figures(a, w, 2023, 2023))
                await asyncio.sleep(0.5)
                waited = not first.done()
                second = asyncio.ensure_future(figures(b, u, 2022, 2022))
                answers = await asyncio.gather(first, second, return_exceptions=True)
            finally:
                await ta.rollback()
                await tb.rollback()
    # Then neither waited for the other, and both answered
    assert not waited
    assert [a for a in answers if isinstance(a, BaseException)] == []


@pytest.mark.parametrize("what", ["a change", "a move"])
async def test_a_keeper_that_writes_afterwards_has_its_write_counted(
    what, runtime, owner, database_url, tree
):
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    other = await asyncpg.connect(database_url)
    try:
        async with report_settings(owner, rollup_units=0):
            # Given a transaction that has written before (its id assigned), another committing
            # meanwhile, and prov1's roll-up kept in it
            async with owner.transaction():
                await owner.fetchval("SELECT pg_current_xact_id()")
                await other.fetchval("SELECT pg_current_xact_id()")
                await reach(owner, tree.tld)
                before = await figures(owner, tree.prov1)
                # When the same transaction then writes a change, or moves cs1 out of prov1
                if what == "a change":
                    await owner.execute(
                        "INSERT INTO report_changes (unit_id, day, metric, dim, known_at, delta) "
                        "VALUES ($1, '2024-05-01', 'pledges', 'lao_dong_tien_tien', now(), 1)",
                        tree.cs1,
                    )
                else:
                    await move(owner, tree.cs1, tree.upper3, date(2024, 1, 2))
            async with owner.transaction():
                await reach(owner, tree.tld)
                kept = await figures(owner, tree.prov1)
        async with report_settings(owner, rollup_units=1_000_000), owner.transaction():
            await reach(owner, tree.tld)
            full = await figures(owner, tree.prov1)
    finally:
        await other.close()
    # Then the next read of the kept roll-up counts what it wrote, as a full read does
    assert before == [(2024, "pledges", "lao_dong_tien_tien", 1)]
    assert kept == full
    assert kept != before


async def move(conn, unit: str, parent: str, on: date) -> None:
    """The registry's rows of a move written by hand, as its batch writes them."""
    for sql, args in _moved(unit, parent, on):
        await conn.execute(sql, *args)


# --- the fuzzer ----------------------------------------------------------------------------------


class Fuzz:
    """Two projectors writing changes, a registry writing the tree (moves, merges, new units)
    and a reader, each on its own connection, their transactions opened, committed and rolled
    back in a random order; every read of a kept roll-up is compared with a full read."""

    def __init__(self, conns: dict[str, asyncpg.Connection], tree, rng: random.Random):
        self.c, self.t, self.rng = conns, tree, rng
        self.open: dict[str, asyncpg.transaction.Transaction] = {}
        self.level = {tree.prov1: "p", tree.prov2: "p", tree.upper1: "u", tree.upper2: "u"}
        self.level |= {tree.upper3: "u", tree.cs1: "g"}
        self.parent = {tree.upper1: tree.prov1, tree.upper2: tree.prov1, tree.upper3: tree.prov2}
        self.parent |= {tree.cs1: tree.upper1, tree.prov1: tree.tld, tree.prov2: tree.tld}
        self.since = dict.fromkeys(self.level, date(2024, 1, 1))
        self.merged: set[str] = set()
        self.new = 0
        self.modes: dict[str, int] = {}

    def active(self, level: str) -> list[str]:
        return [u for u, lv in self.level.items() if lv == level and u not in self.merged]

    async def tree_writes(self, statements) -> None:
        conn = self.c["t"]
        if "t" in self.open:
            for sql, args in statements:
                await conn.execute(sql, *args)
            return
        async with conn.transaction():
            for sql, args in statements:
                await conn.execute(sql, *args)

    def after(self, unit: str) -> date:
        return self.since[unit] + timedelta(days=self.rng.randint(1, 200))

    async def step(self) -> None:
        kind = self.rng.choice(
            ["change"] * 5 + ["move", "merge", "register", "txn", "txn"] + ["read"] * 6
        )
        await getattr(self, kind)()

    async def change(self) -> None:
        day = date(2023, 1, 1) + timedelta(days=self.rng.randint(0, 3 * 365))
        await self.c[self.rng.choice(["pA", "pB", "t"])].execute(
            "INSERT INTO report_changes (unit_id, day, metric, dim, known_at, delta) "
            "VALUES ($1, $2, 'pledges', 'x', now(), $3)",
            self.rng.choice(list(self.level)),
            day,
            self.rng.choice([1, 1, 2, -1]),
        )

    async def move(self) -> None:
        level = self.rng.choice(["u", "g"])
        units, parents = self.active(level), self.active("p" if level == "u" else "u")
        if not units or not parents:
            return
        unit, parent = self.rng.choice(units), self.rng.choice(parents)
        on = self.after(unit)
        if parent == self.parent[unit] or on > date(2026, 6, 1):
            return
        await self.tree_writes(_moved(unit, parent, on))
        self.parent[unit], self.since[unit] = parent, on

    async def merge(self) -> None:
        grassroots = self.active("g")
        if len(grassroots) < 2:
            return
        unit, into = self.rng.sample(grassroots, 2)
        on = max(self.after(unit), self.since[into] + timedelta(days=1))
        if on > date(2026, 6, 1):
            return
        statements = _moved(unit, into, on, "merged")
        statements.insert(
            2,
            (
                "UPDATE units SET merged_into = $2, status = 'merged', ended_on = $3 "
                "WHERE tenant_id = $1",
                (unit, into, on),
            ),
        )
        await self.tree_writes(statements)
        self.merged.add(unit)
        self.parent[unit], self.since[unit] = into, on

    async def register(self) -> None:
        uppers = self.active("u")
        if not uppers:
            return
        self.new += 1
        unit, parent = f"{self.t.prefix}-new{self.new}", self.rng.choice(uppers)
        on = date(2023, 6, 1) + timedelta(days=self.rng.randint(0, 900))
        await self.tree_writes(
            [
                (
                    "INSERT INTO units (tenant_id, name, level, members, parent_id, since, "
                    "search_key, version) VALUES ($1, $1, 'grassroots', 0, $2, $3, $1, 1)",
                    (unit, parent, on),
                ),
                (
                    "INSERT INTO unit_parents (tenant_id, parent_id, valid_from) "
                    "VALUES ($1, $2, $3)",
                    (unit, parent, on),
                ),
                ("SELECT thidua_registry_reclose(ARRAY[$1])", (unit,)),
            ]
        )
        self.level[unit], self.parent[unit], self.since[unit] = "g", parent, on

    async def txn(self) -> None:
        name = self.rng.choice(["pA", "pB", "t", "r"])
        if name in self.open:
            tx = self.open.pop(name)
            if self.rng.random() < 0.85:
                await tx.commit()
            else:
                await tx.rollback()
                if name == "t":  # the tree as it was: no later write builds on what was undone
                    self.restore(self.saved)
        else:
            if name == "t":
                self.saved = self.model()
            self.open[name] = self.c[name].transaction()
            await self.open[name].start()

    def model(self) -> tuple:
        return (dict(self.level), dict(self.parent), dict(self.since), set(self.merged))

    def restore(self, saved: tuple) -> None:
        level, parent, since, merged = saved
        self.level, self.parent, self.since, self.merged = (
            dict(level),
            dict(parent),
            dict(since),
            set(merged),
        )

    async def read(self) -> None:
        units = [self.t.tld, self.t.prov1, self.t.prov2, self.t.upper1]
        await self.check(self.rng.choice([*units, self.rng.choice(list(self.level))]))

    async def check(self, unit: str, period: tuple[int, int] | None = None) -> None:
        r = self.c["r"]
        first, last = period or self.rng.choice(PERIODS)
        mode = await r.fetchval(
            "SELECT CASE WHEN k.seen IS NULL THEN 'nothing kept' "
            "WHEN thidua_report_tree_changed_since(k.seen) THEN 'read anew' "
            "ELSE 'rolled forward or as kept' END FROM (SELECT (SELECT seen FROM report_rollups "
            "WHERE unit_id = $1 AND first_year = $2 AND last_year = $3) AS seen) k",
            unit,
            first,
            last,
        )
        self.modes[mode] = self.modes.get(mode, 0) + 1
        rows = await r.fetch(
            "SELECT * FROM thidua_report_figures($1, $2, $3, NULL)", unit, first, last
        )
        if not rows:  # out of reach: a unit registered by a transaction not yet committed
            return
        kept = sorted(
            (x["year"], x["metric"], x["dim"], int(x["value"])) for x in rows if x["metric"]
        )
        full = sorted(
            (int(f[0]), f[1], f[2], int(f[3]))
            for f in orjson.loads(
                await r.fetchval(
                    "SELECT thidua_report_sums($1, $2, $3, NULL, NULL, false)::text",
                    unit,
                    first,
                    last,
                )
            )
        )
        assert kept == full, (unit, first, last)


def _moved(unit: str, parent: str, on: date, kind: str = "child") -> list:
    return [
        (
            "UPDATE unit_parents SET valid_to = $2 WHERE tenant_id = $1 AND valid_to IS NULL",
            (unit, on),
        ),
        (
            "INSERT INTO unit_parents (tenant_id, parent_id, kind, valid_from) "
            "VALUES ($1, $2, $3, $4)",
            (unit, parent, kind, on),
        ),
        ("SELECT thidua_registry_reclose(ARRAY[$1])", (unit,)),
    ]


@pytest.mark.parametrize("seed", range(6))
async def test_kept_roll_ups_equal_full_reads_with_transactions_in_flight(
    seed, owner, database_url, tree
):
    names = ("pA", "pB", "t", "r")
    await owner.execute("DELETE FROM report_rollups")  # none older than the fuzzer's own
    horizon = await owner.fetchval("SELECT horizon FROM report_tree_horizon")
    async with report_settings(owner, rollup_units=0):
        conns = {n: await asyncpg.connect(database_url) for n in names}
        try:
            await conns["r"].execute(
                "SELECT set_config('thidua.tenant', $1, false), "
                "set_config('thidua.reach', 'subtree', false)",
                tree.tld,
            )
            for conn in conns.values():
                await conn.execute("SET lock_timeout = '5s'")
            fuzz = Fuzz(conns, tree, random.Random(seed))
            for _ in range(250):
                await fuzz.step()
            for tx in fuzz.open.values():
                await tx.commit()
            for unit in (tree.tld, tree.prov1, tree.prov2, tree.upper1, tree.upper2, tree.upper3):
                for period in PERIODS:
                    await fuzz.check(unit, period)
        finally:
            for conn in conns.values():
                await conn.close()
    # and the fuzzer went every way a kept roll-up is read, and let go of changes to the tree
    assert set(fuzz.modes) == {"nothing kept", "read anew", "rolled forward or as kept"}
    assert await owner.fetchval("SELECT horizon > $1 FROM report_tree_horizon", horizon)


async def test_changes_to_the_tree_no_kept_roll_up_needs_are_let_go(runtime, owner, registry, tree):
    # Given prov1's roll-up the only one kept, and a unit registered below it since
    await owner.execute("DELETE FROM report_rollups")
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    async with report_settings(owner, rollup_units=0):
        async with owner.transaction():
            await reach(owner, tree.tld)
            assert await figures(owner, tree.prov1) == [(2024, "pledges", "lao_dong_tien_tien", 1)]
        await new_grassroots(registry, tree.cs8, tree.upper1, date(2024, 5, 1))
        registered = await owner.fetchval(
            "SELECT max(written) FROM report_tree_changes WHERE unit_id = $1", tree.cs8
        )
        # When it is read again after a pledge of the new unit (kept anew)
        await pledge(runtime, tree.cs8, date(2024, 6, 1))
        async with owner.transaction():
            await reach(owner, tree.tld)
            got = await figures(owner, tree.prov1)
    # Then the registration's changes to the tree, older than the roll-up kept now, are let go,
    # the horizon past them, and the figures right
    assert got == [(2024, "pledges", "lao_dong_tien_tien", 2)]
    assert not await owner.fetchval(
        "SELECT count(*) FROM report_tree_changes WHERE written <= $1", registered
    )
    assert await owner.fetchval("SELECT horizon > $1 FROM report_tree_horizon", registered)


async def test_a_roll_up_kept_before_the_horizon_is_read_anew(runtime, owner, tree):
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    async with report_settings(owner, rollup_units=0):
        # Given prov1's roll-up kept, with a figure nobody wrote in it
        async with owner.transaction():
            await reach(owner, tree.tld)
            await figures(owner, tree.prov1)
        await owner.execute(
            'UPDATE report_rollups SET figures = figures || \'[[2024, "marked", "", 1]]\' '
            "WHERE unit_id = $1 AND first_year = 2024 AND last_year = 2024",
            tree.prov1,
        )
        # When the tree's changes are let go past the snapshot it was kept in
        await owner.execute(
            "UPDATE report_tree_horizon SET horizon = greatest(horizon, (SELECT "
            "((pg_snapshot_xmin(seen)::text)::bigint + 1)::text::xid8 FROM report_rollups "
            "WHERE unit_id = $1 AND first_year = 2024 AND last_year = 2024))",
            tree.prov1,
        )
        # Then it is read anew: it cannot tell what changed since
        async with owner.transaction():
            await reach(owner, tree.tld)
            assert await figures(owner, tree.prov1) == [(2024, "pledges", "lao_dong_tien_tien", 1)]
