"""What the append's round-trip check costs (issue 12, finding 6): appends per second with the
append functions of migration 0008 (no check) beside those of 0009 (the payload must be the
canonical text of what is stored) with 0009's check functions and with 0014's, on one server,
rounds alternating so that the machine's drift falls on all alike.

Tried for 0014 and dropped, measured on the check alone (µs per event, 10 events per call, this
bench's events): 0009 14.5; a regular expression stripping jsonb's separators outside strings
(so that its text could be compared without a rebuild) 31, before any key-order proof; a
jsonpath test of every number instead of one per value 12.7; numbers as bigint text and keys by
to_json (0014) 11.0; no number check at all (the floor, not exact) 9.6.

    .venv/bin/python tests/perf/bench_append_check.py [SECONDS] [ROUNDS]

Figures: ``EventStore.append`` with 16 writers in 16 tenants (group commit, as served), and the
append statement alone on 16 held connections (tests/perf/bench_store.py's ``bench_db_only``),
at 1 and 10 events per append.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_store  # beside this file

from shared.db import (
    EmbeddedPostgres,
    create_pool,
    ensure_database,
    owner_connection,
)
from shared.eventstore import EventStore
from shared.migrate import migrate
from shared.settings import Settings

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 4
FUNCTIONS = ("thidua_append", "thidua_append_batch")
CHECKS = (
    "public.thidua_canonical",
    "public.thidua_canonical_value",
    "public.thidua_canonical_events",
)


def functions_of(migration: str, names: tuple[str, ...] = FUNCTIONS) -> str:
    """Functions as a migration defines them, as CREATE OR REPLACE statements."""
    sql = resources.files("shared").joinpath("migrations", migration).read_text("utf-8")
    found = []
    for name in names:
        for head in (f"CREATE OR REPLACE FUNCTION {name}(", f"CREATE FUNCTION {name}("):
            start = sql.find(head)
            if start >= 0:
                end = sql.index("$$;", sql.index("AS $$", start) + len("AS $$")) + len("$$;")
                found.append(sql[start:end].replace(head, f"CREATE OR REPLACE FUNCTION {name}("))
                break
    return "\n".join(found)


async def measure(store: EventStore, url: str) -> dict[tuple[str, int], float]:
    figures = {}
    for per_append in (1, 10):
        figures["served", per_append] = await bench_store.bench_ours(
            store, per_append, bench_store.WRITERS, SECONDS
        )
        figures["statement", per_append] = await bench_store.bench_db_only(
            store, url, per_append, SECONDS
        )
    return figures


async def main() -> None:
    versions = {
        "0008 (no check)": functions_of("0008_leaner_appends.sql"),
        "0009 (checked)": functions_of("0009_hardened_functions.sql")
        + functions_of("0009_hardened_functions.sql", CHECKS),
        "0014 (checked)": functions_of("0009_hardened_functions.sql")
        + functions_of("0014_cheaper_round_trip.sql", CHECKS),
    }
    embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="thidua-bench-")), "delete")
    url = embedded.start()
    await ensure_database(embedded.admin_url(), "thidua")
    rates: dict[tuple[str, str, int], list[float]] = {}
    try:
        async with owner_connection(url) as conn:
            await migrate(conn)
        settings = Settings(database_url=url, pool_min_size=16, pool_max_size=16)
        pool = await create_pool(url, settings)
        store = EventStore(pool)
        for round_ in range(ROUNDS):
            order = list(versions.items())
            for label, functions in order[round_ % 3 :] + order[: round_ % 3]:
                async with owner_connection(url) as conn:
                    await conn.execute(functions)
                await pool.expire_connections()
                for (kind, per_append), rate in (await measure(store, url)).items():
                    rates.setdefault((label, kind, per_append), []).append(rate)
        await pool.close()
    finally:
        embedded.stop()

    print(f"{ROUNDS} rounds of {SECONDS:.0f} s per figure; medians, appends/s\n")
    print("| path | events/append | " + " | ".join(versions) + " | 0009 | 0014 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind in ("served", "statement"):
        for per_append in (1, 10):
            bare, old, new = (
                statistics.median(rates[label, kind, per_append]) for label in versions
            )
            print(
                f"| {kind} | {per_append} | {bare:,.0f} | {old:,.0f} | {new:,.0f} "
                f"| {old / bare - 1:+.0%} | {new / bare - 1:+.0%} |"
            )


if __name__ == "__main__":
    asyncio.run(main())
