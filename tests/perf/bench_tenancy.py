"""The unit registry at the size of the whole union: import time and subtree queries.

    .venv/bin/python tests/perf/bench_tenancy.py [GRASSROOTS]

Builds a CSV of 1 national unit, 34 provincial and 20 sector units, 700 upper-level and
130,000 grassroots units (or GRASSROOTS), imports it with ``thidua tenants import``'s code into a
fresh embedded PostgreSQL (or THIDUA_BENCH_DATABASE_URL), then times a province's subtree query
(the closure table on a date, under row-level security as a request runs it) beside the floor: a
plain indexed select of the same rows from a two-column table.

Targets (issue 3): import at least 10,000 units/s; subtree p99 within 2x the floor.
"""

from __future__ import annotations

import asyncio
import io
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from services.gateway.runtime import Runtime
from services.registry.commands import commands_of
from services.registry.importer import COLUMNS, import_units
from shared import access
from shared.auth import Principal
from shared.db import owner_connection
from shared.settings import Settings

GRASSROOTS = int(sys.argv[1]) if len(sys.argv) > 1 else 130_000
ON = date(2024, 1, 1)
RUNS = 1000
WARM_UP = 50  # runs of each query first, not timed: plans cached, pages in memory


def tree_csv(grassroots: int) -> tuple[bytes, list[str]]:
    out = io.StringIO()
    out.write(",".join(COLUMNS) + "\n")
    out.write("tld,,Tổng Liên đoàn Lao động Việt Nam,TLĐ,national,,0\n")
    tops = [f"p{i:02d}" for i in range(34)] + [f"s{i:02d}" for i in range(20)]
    for top in tops:
        level = "provincial" if top[0] == "p" else "sector"
        out.write(f"{top},tld,Liên đoàn Lao động {top},,{level},,0\n")
    uppers = [f"{tops[i % len(tops)]}-u{i:03d}" for i in range(700)]
    for upper in uppers:
        out.write(f"{upper},{upper.split('-')[0]},Công đoàn cấp trên {upper},,upper,,0\n")
    sectors = ["hành chính", "sự nghiệp", "DN nhà nước", "DN tư nhân", "DN FDI"]
    for i in range(grassroots):
        parent = uppers[i % len(uppers)]
        out.write(
            f"{parent}-cs{i:06d},{parent},Công đoàn cơ sở Điện lực số {i},,grassroots,"
            f"{sectors[i % 5]},{i % 900 + 10}\n"
        )
    return out.getvalue().encode(), tops


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


async def main() -> None:
    given = os.environ.get("THIDUA_BENCH_DATABASE_URL")
    settings = Settings(
        database_url=given,
        data_dir=Path(tempfile.mkdtemp(prefix="thidua-bench-")),
        jwt_secret="bench-secret-bench-secret-bench-secret-0",
        log_json=False,
    )
    runtime = await Runtime.start(settings, cleanup="delete")
    try:
        data, tops = tree_csv(GRASSROOTS)
        commands = commands_of(runtime)
        started = time.perf_counter()
        stages: dict[str, float] = {}

        def mark(stage: str, done: int, total: int) -> None:
            if done == total:
                stages[stage] = time.perf_counter() - started

        async with owner_connection(runtime.url) as owner:  # as `thidua tenants import` does
            result = await import_units(
                commands, data, effective_on=ON, progress=mark, connection=owner
            )
        seconds = time.perf_counter() - started
        print("stages done at (s):", {k: round(v, 2) for k, v in stages.items()})
        rate = result.registered / seconds
        print(f"import: {result.registered:,} units in {seconds:.1f} s = {rate:,.0f} units/s")

        province = tops[0]
        async with access.scope(
            runtime.pool, Principal("bench", province, frozenset({"officer"}))
        ) as conn:
            rows = await conn.fetch(
                "SELECT descendant FROM unit_closure WHERE ancestor = $1", province
            )
        units = [r["descendant"] for r in rows]
        async with owner_connection(runtime.url) as owner:
            await owner.execute(
                "DROP TABLE IF EXISTS floor_subtree; "
                "CREATE TABLE floor_subtree (root text, unit text, PRIMARY KEY (root, unit)); "
                "GRANT SELECT ON floor_subtree TO thidua_app"
            )
            await owner.execute(
                "INSERT INTO floor_subtree SELECT $1, u FROM unnest($2::text[]) u", province, units
            )
            await owner.execute("ANALYZE")

        subtree_sql = (
            "SELECT descendant FROM unit_closure WHERE ancestor = $1 AND valid_from <= $2 "
            "AND (valid_to IS NULL OR valid_to > $2)"
        )
        floor_sql = "SELECT unit FROM floor_subtree WHERE root = $1"
        principal = Principal("bench", province, frozenset({"officer"}))
        ours, floor = [], []
        for run in range(WARM_UP + RUNS):
            if run == WARM_UP:
                ours.clear()
                floor.clear()
            async with access.scope(runtime.pool, principal) as conn:
                t0 = time.perf_counter()
                got = await conn.fetch(subtree_sql, province, ON)
                ours.append(time.perf_counter() - t0)
            async with runtime.pool.acquire() as conn:
                t0 = time.perf_counter()
                plain = await conn.fetch(floor_sql, province)
                floor.append(time.perf_counter() - t0)
        assert len(got) == len(plain) == len(units)
        print(f"subtree of {province}: {len(units):,} units, {RUNS} runs each")
        print("| query | p50 ms | p99 ms |")
        print("|---|---:|---:|")
        for name, times in (("closure on a date, under RLS", ours), ("floor: plain index", floor)):
            print(
                f"| {name} | {statistics.median(times) * 1e3:.2f} | "
                f"{percentile(times, 0.99) * 1e3:.2f} |"
            )
        ratio = percentile(ours, 0.99) / percentile(floor, 0.99)
        verdict = "met" if rate >= 10_000 and ratio <= 2 else "NOT met"
        print(
            f"\nTargets (>= 10,000 units/s; p99 <= 2x floor): {verdict} "
            f"({rate:,.0f} units/s; p99 {ratio:.2f}x floor)"
        )
    finally:
        await runtime.close()


if __name__ == "__main__":
    asyncio.run(main())
