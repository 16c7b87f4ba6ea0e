"""Reporting at the size of the whole union, served: the rebuild of every reporting figure, and
the roll-ups a federation's staff and the national office ask, through HTTP.

    .venv/bin/python tests/perf/bench_reporting.py [EVENTS_PER_UNIT] [SECONDS]

Run by hand only, never in CI. Setup, on a fresh database (embedded in a temporary data
directory, or THIDUA_TEST_DATABASE_URL's server): the union's tree of tests/perf/bench_tenancy.py
(1 national unit, 34 provinces, 20 sector unions, 700 upper-level and 130,000 grassroots units)
imported with ``thidua tenants import``; then EVENTS_PER_UNIT (default 39: 5.1 million in all)
events of the kinds reporting counts in every unit's log, written straight to the log table by
SQL (pledges, works, initiatives registered by an author and recognised, seminars, dated over the last three years up to
today; and 5,000 units' pledges dated eight years ago; their hashes are not a chain: nothing here verifies them). The other projections' checkpoints are put at the
heads (they have nothing to do with what is measured).

Figures, each beside its floor in the same run:

1. **Rebuild** (``thidua reports rebuild``, the product's command, process start included):
   events/s over the events reporting reads, beside a plain scan of the same events (``SELECT
   … data::text`` of every one of them). Target: ≥ 100,000 events/s.
2. **A province's roll-up** (about 2,400 units): ``summary(unitId, firstYear: <this year>)`` with its
   totals and awards by form, p99 at 1 request in flight (wrk) against ``thidua serve``, beside
   the floor: a plain indexed select of the same units' rows of the year from a two-column table (the
   units of the subtree) joined to them (asyncpg, from this process, p99). Target: ≤ 2×.
3. **The national roll-up** (130,755 units): the same query for the national unit, p99 at 1 in
   flight. Target: ≤ 1 s. Ten ways: the first read of this year after the server starts
   (the rebuild kept it ready: services/reporting/rollups.py); the first read of this year's
   five-year term, and of the year before last (a year of the last term: both kept ready,
   migration 0064); the first read of a five-year period from the earliest year, which nobody
   kept as such (its years from the two terms kept, migration 0065; before it, every unit's rows
   were read); then the first read of the earliest year; this year as of a moment just taken
   (an auditor's read: today's kept roll-up less what came since, migration 0065); the same
   after ``TRICKLE_PER_S`` events a second arrived for ``SECONDS`` since that moment; and, as
   the floor of those, this year as of a moment before the events were written (more than
   100,000 changes since: every unit's rows read, the tree as known then, as every ``asOf``
   was before 0065); at rest (the roll-up kept); and while events keep arriving (written to the
   log by another process, projected by the server's runner: each read adds what was written
   since the roll-up it finds kept). Then two years of a term before last year's (kept ready
   from the earliest year dated, migration 0067), beside the years of the events read with no
   subtree taken as large (every unit's rows read: how a period no kept roll-up encloses is
   read, as those years were before); and the typical individuals and
   collectives of this term and this year's deadline compliance over the union, as of the
   moment (from the items' versions, 0066), beside the same read now (from the items).

The projection lag under the platform benchmark's write load is measured by
tests/perf/bench_served.py (its line for `reporting`).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import itertools
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from shared.clock import today

HERE = Path(__file__).resolve().parent
PER_UNIT = int(sys.argv[1]) if len(sys.argv) > 1 else 39
SECONDS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
# The events are dated over the last three years up to today, and the summaries read are this
# year's (the roll-ups the rebuild and the server keep ready), the terms kept ready, and five
# years from the earliest, which nobody keeps as such (its years from the terms, 0065).
YEAR = today().year
EARLIEST = YEAR - 2
# A few units' pledges dated in a year of an older term (2015–2020 in 2026), kept ready since
# migration 0067 from the earliest year dated; its floor, a period read in full (every unit's
# rows: how a period no kept roll-up encloses is read).
OLD = YEAR - 8
TERM = 5 * (YEAR // 5)  # the five-year term of this year (2025–2030 in 2026)
SPAN_DAYS = (today() - date(EARLIEST, 1, 1)).days + 1
PROVINCE = "p00"
FLOOR_RUNS = 300
TRICKLE_PER_S = 20
KEEPER_SETTLES_S = 5.0
COUNTED = [
    "PledgeRegistered",
    "WorkRegistered",
    "InitiativeRegistered",
    "InitiativeRecognised",
    "SeminarHeld",
]


def _module(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    argv, sys.argv = sys.argv, [sys.argv[0]]
    try:
        spec.loader.exec_module(module)
    finally:
        sys.argv = argv
    return module


served = _module("bench_served")
tenancy = _module("bench_tenancy")

EXEMPLARS = (
    "query ($u: ID, $y: Int!, $l: Int, $a: DateTime) { "
    "exemplars(unitId: $u, firstYear: $y, lastYear: $l, asOf: $a) { personId initiatives } "
    "exemplaryUnits(unitId: $u, firstYear: $y, lastYear: $l, asOf: $a) { unitId prizes } }"
)
COMPLIANCE = (
    "query ($u: ID, $y: Int!, $a: DateTime) { "
    "compliance(unitId: $u, year: $y, asOf: $a) { kind onTime late missing pending } }"
)

SUMMARY = (
    "query ($u: ID, $y: Int!, $l: Int, $a: DateTime) { "
    "summary(unitId: $u, firstYear: $y, lastYear: $l, asOf: $a) { "
    "total { campaignsLaunched "
    "pledges works initiatives initiativeBenefitVnd seminars decisions awardedPersons cashVnd "
    "byAward { award persons cashVnd } } } }"
)

# Each unit's events: kind by position, dated over the span from $4, recorded a millisecond apart;
# an initiative registered by one of three authors of the unit, then recognised (one stream).
_EVENTS = """
INSERT INTO events (tenant_id, seq, stream_id, stream_version, event_type, schema_version,
                    data, meta, recorded_at, prev_hash, hash)
SELECT u.tenant_id, h.seq + g,
       CASE WHEN g % 10 IN (7, 8) THEN md5(u.tenant_id || ':' || g / 10)::uuid
            ELSE gen_random_uuid() END,
       CASE WHEN g % 10 = 8 THEN 2 ELSE 1 END,
       (ARRAY['PledgeRegistered','PledgeRegistered','PledgeRegistered','PledgeRegistered',
              'PledgeRegistered','PledgeRegistered','WorkRegistered','InitiativeRegistered',
              'InitiativeRecognised','SeminarHeld'])[1 + g % 10],
       1,
       CASE g % 10
         WHEN 6 THEN jsonb_build_object('kind', 'work', 'name', 'Công trình', 'registered_on', d)
         WHEN 7 THEN jsonb_build_object('title', 'Sáng kiến', 'authors', jsonb_build_array(
                       jsonb_build_object('person_id', md5(u.tenant_id || '/' || g % 3)::uuid,
                                          'key_id', gen_random_uuid(), 'sealed', '')))
         WHEN 8 THEN jsonb_build_object('benefit_vnd', 1000000 * (g % 97), 'recognised_on', d,
                                        'applied_at', '[]'::jsonb, 'decision', 'QĐ')
         WHEN 9 THEN jsonb_build_object('unit_id', u.tenant_id, 'topic', 'Tọa đàm',
                                        'held_on', d, 'participants', 20 + g % 30)
         ELSE jsonb_build_object('unit_id', u.tenant_id, 'subject', 'person', 'name', 'Nguyễn Văn A',
                                 'ref', g::text, 'late', false, 'registered_on', d,
                                 'title', (ARRAY['lao_dong_tien_tien', 'chien_si_thi_dua_co_so',
                                                 'tap_the_lao_dong_xuat_sac'])[1 + g % 3])
       END,
       '{}'::jsonb, now() + g * interval '1 millisecond',
       sha256(convert_to(u.tenant_id || (g - 1)::text, 'UTF8')),
       sha256(convert_to(u.tenant_id || g::text, 'UTF8'))
  FROM units u JOIN tenant_heads h ON h.tenant_id = u.tenant_id,
       generate_series(1, $1::int) g,
       LATERAL (SELECT jsonb_build_object('_type_', 'date_iso', '_data_',
                       ($4::date + ((g * 37 + length(u.tenant_id)) % $5::int))::text) AS d) x
 WHERE u.tenant_id >= $2 AND u.tenant_id < $3
"""


async def generate(url: str, per_unit: int) -> int:
    """The events, a slice of units at a time, and the heads moved past them."""
    conn = await asyncpg.connect(url)
    try:
        bounds = [
            r["tenant_id"]
            for r in await conn.fetch("SELECT tenant_id FROM units ORDER BY tenant_id")
        ][::5000]
        bounds.append("\uffff")
        for lo, hi in itertools.pairwise(bounds):
            async with conn.transaction():
                await conn.execute(_EVENTS, per_unit, lo, hi, date(EARLIEST, 1, 1), SPAN_DAYS)
                await conn.execute(
                    "UPDATE tenant_heads h SET seq = h.seq + $1 FROM units u "
                    "WHERE u.tenant_id = h.tenant_id AND u.tenant_id >= $2 AND u.tenant_id < $3",
                    per_unit,
                    lo,
                    hi,
                )
        # the first slice's units again, a pledge each dated in OLD
        async with conn.transaction():
            await conn.execute(_EVENTS, 1, bounds[0], bounds[1], date(OLD, 1, 1), 365)
            await conn.execute(
                "UPDATE tenant_heads h SET seq = h.seq + 1 FROM units u "
                "WHERE u.tenant_id = h.tenant_id AND u.tenant_id >= $1 AND u.tenant_id < $2",
                bounds[0],
                bounds[1],
            )
        # What the other projections would make of these is not measured: they start at the heads.
        await conn.execute(
            "INSERT INTO projection_checkpoints (name, version, tenant_id, last_seq) "
            "SELECT v.name, v.version, h.tenant_id, h.seq FROM projection_versions v, tenant_heads h "
            "WHERE v.state = 'live' ON CONFLICT (name, version, tenant_id) "
            "DO UPDATE SET last_seq = EXCLUDED.last_seq"
        )
        await conn.execute("ANALYZE")
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM events WHERE event_type = ANY ($1::text[])", COUNTED
            )
        )
    finally:
        await conn.close()


async def _trickle(url: str, stop: threading.Event) -> int:
    """TRICKLE_PER_S events a second, each in a random unit's log, until ``stop``."""
    conn = await asyncpg.connect(url)
    units = [r["tenant_id"] for r in await conn.fetch("SELECT tenant_id FROM units")]
    written = 0
    try:
        while not stop.is_set():
            unit = random.choice(units)
            async with conn.transaction():
                await conn.execute(_EVENTS, 1, unit, unit + "\x01", date(EARLIEST, 1, 1), SPAN_DAYS)
                await conn.execute(
                    "UPDATE tenant_heads SET seq = seq + 1 WHERE tenant_id = $1", unit
                )
                seq = await conn.fetchval("SELECT seq FROM tenant_heads WHERE tenant_id = $1", unit)
                # as an append announces itself (shared/signal.py): {tenant: seq}
                await conn.execute(
                    "SELECT pg_notify('thidua_log', $1)", orjson.dumps({unit: seq}).decode()
                )
            written += 1
            await asyncio.sleep(1 / TRICKLE_PER_S)
    finally:
        await conn.close()
    return written


def trickling(url: str) -> tuple[threading.Event, list[int], threading.Thread]:
    """A thread writing the trickle (its own event loop and connection)."""
    stop, written = threading.Event(), []
    thread = threading.Thread(target=lambda: written.append(asyncio.run(_trickle(url, stop))))
    thread.start()
    return stop, written, thread


def first_read(
    base: str,
    who: str,
    unit: str,
    year: int,
    last: int | None = None,
    at: str | None = None,
    query: str = SUMMARY,
) -> float:
    """ms for one summary (``query``) of ``unit``'s ``year`` (to ``last``, as of ``at``), the
    first the server answers for it."""
    variables = {"u": unit, "y": year, "a": at} | ({} if query == COMPLIANCE else {"l": last})
    started = time.perf_counter()
    answer = httpx.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {who}"},
        timeout=120,
    ).json()
    took = (time.perf_counter() - started) * 1e3
    if answer.get("errors"):
        raise SystemExit(f"the first read failed: {answer['errors'][0]}")
    return took


@contextlib.contextmanager
def no_rollups(url: str):
    """No subtree large enough to have its roll-ups kept or read from (report_settings, the
    operator's), for a while."""

    async def rollup_units(value: int | None) -> int:
        conn = await asyncpg.connect(url)
        try:
            sql = "SELECT value FROM report_settings WHERE name = 'rollup_units'"
            before = await conn.fetchval(sql)
            if value is not None:
                await conn.execute(
                    "UPDATE report_settings SET value = $1 WHERE name = 'rollup_units'", value
                )
            return before
        finally:
            await conn.close()

    before = asyncio.run(rollup_units(10**9))  # the most allowed (migration 0069)
    try:
        yield
    finally:
        asyncio.run(rollup_units(before))


async def scan_floor(url: str) -> float:
    """Seconds for a plain scan of the events reporting reads, their data as text."""
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        await conn.fetchval(
            "SELECT sum(octet_length(data::text)) FROM events WHERE event_type = ANY ($1::text[])",
            COUNTED,
        )
        return time.perf_counter() - started
    finally:
        await conn.close()


async def plain_select(url: str) -> tuple[int, float, float]:
    """The floor of a roll-up: the province's units from a two-column table, joined to their
    figures' rows of the year by index (sum by metric), p50 and p99 in ms."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "DROP TABLE IF EXISTS floor_subtree; "
            "CREATE TABLE floor_subtree (root text, unit text, PRIMARY KEY (root, unit)); "
            "INSERT INTO floor_subtree SELECT ancestor, descendant FROM unit_closure "
            "WHERE ancestor = $1; ANALYZE floor_subtree".replace("$1", f"'{PROVINCE}'")
        )
        sql = (
            "SELECT y.metric, y.dim, sum(y.delta) FROM floor_subtree f JOIN report_changes y "
            "ON y.unit_id = f.unit AND y.day >= make_date($2, 1, 1) "
            "AND y.day < make_date($2 + 1, 1, 1) WHERE f.root = $1 GROUP BY y.metric, y.dim"
        )
        units = await conn.fetchval("SELECT count(*) FROM floor_subtree")
        times = []
        for run in range(FLOOR_RUNS + 20):
            started = time.perf_counter()
            await conn.fetch(sql, PROVINCE, YEAR)
            if run >= 20:
                times.append((time.perf_counter() - started) * 1e3)
        times.sort()
        return units, statistics.median(times), times[int(0.99 * len(times)) - 1]
    finally:
        await conn.close()


def main() -> None:
    wrk = served.wrk_binary()
    place = served.Place()
    server = None
    try:
        url = place.open()
        place.thidua("db", "migrate")
        data, _ = tenancy.tree_csv(130_000)
        with tempfile.NamedTemporaryFile("wb", suffix=".csv", delete=False) as file:
            file.write(data)
        started = time.perf_counter()
        place.thidua("tenants", "import", file.name, "--effective", "2020-01-01")
        print(f"setup: tree imported in {time.perf_counter() - started:.1f} s", flush=True)
        url = place.open()  # an embedded server stops with the last process using it: up again
        before_events = datetime.now(UTC).isoformat()
        started = time.perf_counter()
        events = asyncio.run(generate(url, PER_UNIT))
        print(f"setup: {events:,} events written in {time.perf_counter() - started:.1f} s")

        scan = asyncio.run(scan_floor(url))
        started = time.perf_counter()
        place.thidua("reports", "rebuild")
        rebuild = time.perf_counter() - started
        url = place.open()
        print(f"rebuild: {rebuild:.1f} s; plain scan {scan:.1f} s", flush=True)

        server = served.start_thidua(place)
        national = served.token("tld")
        kept_ready = first_read(server.base, national, "tld", YEAR)
        time.sleep(KEEPER_SETTLES_S)  # the server's keeper, at its start, finds all kept
        # the term of this year, and a year of the last term (migration 0064: kept ready)
        term = first_read(server.base, national, "tld", TERM, TERM + 5)
        in_term = first_read(server.base, national, "tld", EARLIEST)
        cold = first_read(server.base, national, "tld", EARLIEST, EARLIEST + 4)
        enclosed = first_read(server.base, national, "tld", EARLIEST)
        # two years of an older term (kept ready from the earliest year dated: 0067), and, as
        # their floor, the years of the events read with no subtree taken as large (every
        # unit's rows read, as a period no kept roll-up encloses is)
        older = first_read(server.base, national, "tld", OLD, OLD + 1)
        with no_rollups(url):
            unkept = first_read(server.base, national, "tld", EARLIEST, YEAR)
        # an auditor's read as of a moment: today's kept roll-up less what came since (0065)
        moment = datetime.now(UTC).isoformat()
        as_of = first_read(server.base, national, "tld", YEAR, at=moment)
        # and as of a moment before every event: all of them came since, so read in full
        as_of_full = first_read(server.base, national, "tld", YEAR, at=before_events)
        # the five-year report's typical individuals and collectives, and the deadlines, over
        # the union: now (from the items), then as of the moment (from their versions, 0066)
        sides = {}
        for name, query, first in (
            ("exemplars", EXEMPLARS, TERM),
            ("compliance", COMPLIANCE, YEAR),
        ):
            sides[name] = tuple(
                first_read(server.base, national, "tld", first, first + 5, at, query)
                for at in (None, moment)
            )
        province = served.drive(
            wrk,
            server.base,
            {"query": SUMMARY, "variables": {"u": PROVINCE, "y": YEAR}},
            [national],
            1,
            SECONDS,
        )
        whole = served.drive(
            wrk,
            server.base,
            {"query": SUMMARY, "variables": {"u": "tld", "y": YEAR}},
            [national],
            1,
            SECONDS,
        )
        stop, written, thread = trickling(url)
        try:
            moving = served.drive(
                wrk,
                server.base,
                {"query": SUMMARY, "variables": {"u": "tld", "y": YEAR}},
                [national],
                1,
                SECONDS,
            )
        finally:
            stop.set()
            thread.join()
        # the moment again, now that the trickle's events came since it
        as_of_later = first_read(server.base, national, "tld", YEAR, at=moment)
        version = served.drive(wrk, server.base, {"query": "{ version }"}, [national], 1, SECONDS)
        units, floor_p50, floor_p99 = asyncio.run(plain_select(url))  # the server keeps it up
        report(
            events,
            rebuild,
            scan,
            province,
            (kept_ready, term, in_term, cold, enclosed, (as_of, as_of_later, as_of_full)),
            (older, unkept, sides),
            (whole, moving, written[0]),
            version,
            units,
            floor_p50,
            floor_p99,
        )
    except BaseException:
        if server is not None:  # why the server failed is in what it logged
            server.stop()
            print(server.tail(), file=sys.stderr)
            server = None
        raise
    finally:
        if server is not None:
            server.stop()
        place.close()


def report(
    events, rebuild, scan, province, firsts, others, nationals, version, units, floor_p50, floor_p99
):
    kept_ready, term, in_term, cold, enclosed, (as_of, as_of_later, as_of_full) = firsts
    older, unkept, sides = others
    whole, moving, written = nationals
    rate, scan_rate = events / rebuild, events / scan
    print("\n| figure | ours | floor (same run) | target | met |")
    print("|---|---:|---:|---:|:---:|")
    print(
        f"| rebuild, events/s ({events:,} events) | {rate:,.0f} | plain scan {scan_rate:,.0f} "
        f"| ≥ 100,000 | {'yes' if rate >= 100_000 else 'no'} |"
    )
    ratio = province.p99_ms / floor_p99
    print(
        f"| province roll-up ({units:,} units), p50/p99 ms | {province.p50_ms:.1f} / "
        f"{province.p99_ms:.1f} | plain indexed select {floor_p50:.1f} / {floor_p99:.1f} "
        f"| ≤ 2× | {'yes' if ratio <= 2 else 'no'} ({ratio:.1f}×) |"
    )
    print(
        f"| national roll-up (130,755 units), p50/p99 ms | {whole.p50_ms:.0f} / "
        f"{whole.p99_ms:.0f} | | ≤ 1,000 | {'yes' if whole.p99_ms <= 1000 else 'no'} |"
    )
    print(
        f"| national, {TRICKLE_PER_S} events/s arriving ({written:,} in all), p50/p99 ms | "
        f"{moving.p50_ms:.0f} / {moving.p99_ms:.0f} | | ≤ 1,000 "
        f"| {'yes' if moving.p99_ms <= 1000 else 'no'} |"
    )
    print(
        f"| national, the first read of {YEAR} after the rebuild (kept ready by it), ms | "
        f"{kept_ready:.0f} | | ≤ 1,000 | {'yes' if kept_ready <= 1000 else 'no'} |"
    )
    print(
        f"| national, the first read of the term {TERM}–{TERM + 5} (kept ready), ms | "
        f"{term:.0f} | | ≤ 1,000 | {'yes' if term <= 1000 else 'no'} |"
    )
    print(
        f"| national, the first read of {EARLIEST} (a year of a term kept ready), ms | "
        f"{in_term:.0f} | | ≤ 1,000 | {'yes' if in_term <= 1000 else 'no'} |"
    )
    print(
        f"| national, the first read of {EARLIEST}–{EARLIEST + 4} (kept by nobody as such: its "
        f"years from the two terms kept), ms | {cold:.0f} | | ≤ 1,000 | "
        f"{'yes' if cold <= 1000 else 'no'} |"
    )
    print(
        f"| national, then the first read of {EARLIEST} again, ms | "
        f"{enclosed:.0f} | | ≤ 1,000 | {'yes' if enclosed <= 1000 else 'no'} |"
    )
    for label, took in (
        ("a moment just taken", as_of),
        (f"the same moment, {written:,} events since", as_of_later),
    ):
        print(
            f"| national, {YEAR} as of {label} (an auditor's: kept less what came since), ms | "
            f"{took:.0f} | read in full (as of a moment before every event) {as_of_full:.0f} "
            f"| ≤ 1,000 | {'yes' if took <= 1000 else 'no'} |"
        )
    print(
        f"| national, the first read of {OLD}–{OLD + 1} (a term before last year's, kept ready "
        f"from the earliest year dated), ms | {older:.0f} | {EARLIEST}–{YEAR} read in full "
        f"(every unit's rows) {unkept:.0f} | ≤ 1,000 | {'yes' if older <= 1000 else 'no'} |"
    )
    for label, (now, then) in (
        (f"exemplars and exemplaryUnits {TERM}–{TERM + 5}", sides["exemplars"]),
        (f"compliance {YEAR}", sides["compliance"]),
    ):
        print(
            f"| national, {label} as of the moment, first read, ms | {then:.0f} | the same now "
            f"{now:.0f} | ≤ 1,000 | {'yes' if then <= 1000 else 'no'} |"
        )
    print(
        f"| `{{ version }}` through HTTP, p50/p99 ms | {version.p50_ms:.1f} / "
        f"{version.p99_ms:.1f} | | | |"
    )
    print(
        f"\nanswers ok: province {province.ok}/{province.requests}, national "
        f"{whole.ok}/{whole.requests}, while arriving {moving.ok}/{moving.requests} (first "
        f"failure: {province.first_failure or whole.first_failure or moving.first_failure or '-'})"
    )


if __name__ == "__main__":
    main()
