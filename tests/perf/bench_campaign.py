"""Campaigns at the size of a province: the campaign detail query beside its floor, measured in
the same run.

    .venv/bin/python tests/perf/bench_campaign.py [RUNS] [GRASSROOTS_PER_CHILD]

Setup, in a fresh embedded PostgreSQL (a temporary directory) or THIDUA_BENCH_DATABASE_URL: a
province with 700 direct child units (upper-level unions), each with GRASSROOTS_PER_CHILD
grassroots units below it (default 3: a subtree of 2,801 units, near the 2,429 of
bench_tenancy.py's province), imported with ``thidua tenants import``'s code. The province launches a
campaign with 2 phases and 5 indicators; through the campaign commands (each its own
transaction, as the GraphQL mutations run them), 560 children register on time and 70 late, 70
not yet, 14 withdraw again, and 476 report phase 1 (68 of them late); the province reports its
own indicator.

Every figure below comes from the same server, RUNS times each (default 500, interleaved, so a
noisy moment hits all of them alike) after 50 untimed runs (plans cached, pages in memory):

- detail: the query a front end sends for the campaign page, as the province's officer:
          ``campaign(id) { name phases {...} indicators { code target actual achievement }
          childRegistrations(first: 200) { totalCount onTime late notYet withdrawn edges { node
          { unitId unitName status registeredOn } } } }``, a GraphQL POST to
          /graphql of the litestar app ``create_app`` builds, through ``httpx.AsyncClient`` on
          ``httpx.ASGITransport``: the whole application (token check, strawberry, the
          DataLoaders, row-level security, asyncpg pool) in this process, without a socket or
          uvicorn's HTTP parsing (a few tenths of a millisecond more in production);
- floor:  a plain indexed select of the equivalent rows on the same server: the 700 child units
          joined to their registrations by campaign id, as the table owner (no row-level
          security), on one held connection;
- where the time goes (diagnostic): each statement the app runs for the detail query, timed
          alone on the database under the thidua_app role with row-level security
          (``shared.access.scope``, as a request runs it), and the same statement as the owner
          without it; and the Python side: this process's CPU time per detail request, and the
          pauses of Python's cyclic garbage collector that fell inside the timed requests.

Target (issue 4): the detail query p99 under 50 ms. Run by hand only, never in CI; the figures
are noisy on a small machine shared with other work (this project's has 2 cores), so run it
twice before believing a difference of less than a third.

Then the bulk pledge: 100,000 pledges of one grassroots union in one call (rows per second), its
people registered first (each name sealed with its person's key, issue 14), beside the store's
own batched append of the same events (2,000 per append, one connection, one
transaction); and the same rows sent again (all unchanged, nothing written). Target (issue 4):
the bulk pledge at least 50% of the store's batched append rate. Beside it, the same rows in a
unit that registered no one: a person made for each name (two events a row), in events/s.
Each pledge call is timed until its rows are readable (the projections show them), not only
until it answers (it waits for them 5 s at most); and every untimed step's projection is done
before a timed one starts, so that the runner's work from one never falls inside another.
"""

from __future__ import annotations

import asyncio
import gc
import io
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests.perf.pledge_floor

from services.awards.bulk import PersonRow, register_people
from services.awards.commands import commands_of as awards_commands_of
from services.awards.domain import Particulars, Personal
from services.campaign.bulk import PledgeRow, register_pledges
from services.campaign.commands import commands_of
from services.campaign.schema import (
    CAMPAIGN_COLUMNS,
    INDICATORS,
    PHASES,
    _children_page_sql,
)
from services.gateway.app import create_app
from services.gateway.runtime import Runtime
from services.registry.commands import commands_of as registry_commands_of
from services.registry.importer import COLUMNS, import_units
from shared import access
from shared.auth import Principal, TokenService
from shared.db import owner_connection
from shared.settings import Settings
from tests.perf.pledge_floor import CHUNK, append_rate, sealed_pledges

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 500
GRASSROOTS_PER_CHILD = int(sys.argv[2]) if len(sys.argv) > 2 else 3
WARM_UP = 50  # runs of each query first, not timed
CHILDREN_COUNT = 700
TARGET_P99_MS = 50.0
SETUP_WRITERS = 8  # campaign commands in flight at once during the setup (different units)

PROVINCE = "ldld-p00"
ON = date(2021, 1, 1)  # the tree's effective date


# --- setup -------------------------------------------------------------------------------------


def tree_csv(grassroots_per_child: int) -> tuple[bytes, list[str]]:
    """The national unit, the province, a sibling province (so reach has something to exclude),
    the province's 700 children and the grassroots units below them."""
    out = io.StringIO()
    out.write(",".join(COLUMNS) + "\n")
    out.write("tld,,Tổng Liên đoàn Lao động Việt Nam,TLĐ,national,,0\n")
    out.write(f"{PROVINCE},tld,Liên đoàn Lao động tỉnh Ninh Bình,LĐLĐ Ninh Bình,provincial,,0\n")
    out.write("ldld-p01,tld,Liên đoàn Lao động tỉnh Thanh Hóa,,provincial,,0\n")
    out.write("ldld-p01-u000,ldld-p01,Liên đoàn Lao động huyện Nga Sơn,,upper,,0\n")
    sectors = ["hành chính", "sự nghiệp", "DN nhà nước", "DN tư nhân", "DN FDI"]
    children = [f"{PROVINCE}-u{i:03d}" for i in range(CHILDREN_COUNT)]
    for i, child in enumerate(children):
        out.write(f"{child},{PROVINCE},Công đoàn cấp trên cơ sở số {i},,upper,,0\n")
        for g in range(grassroots_per_child):
            out.write(
                f"{child}-cs{g}{i:03d},{child},Công đoàn cơ sở Điện lực {i}-{g},,grassroots,"
                f"{sectors[(i + g) % 5]},{(i * 7 + g) % 900 + 10}\n"
            )
    return out.getvalue().encode(), children


@dataclass
class Clock:
    """The campaign commands' today, moved by the setup."""

    on: date = date(2021, 1, 10)

    def __call__(self) -> date:
        return self.on


PLAN = dict(
    name="Phong trào thi đua lao động giỏi, lao động sáng tạo năm 2021",
    theme="Tận dụng cơ hội, vượt mọi khó khăn, nỗ lực phấn đấu, đưa nghị quyết của Đảng vào cuộc sống",
    kind="yearly",
    period_start=date(2021, 1, 1),
    period_end=date(2021, 12, 31),
    contents=[
        "Phát huy sáng kiến, cải tiến kỹ thuật",
        "Chăm lo đời sống đoàn viên",
        "Phát triển đoàn viên, thành lập công đoàn cơ sở",
        "Đẩy mạnh các phong trào do Tổng Liên đoàn phát động",
    ],
    registration_due=date(2021, 2, 20),
    report_days=5,
    min_contents=1,
)

INDICATORS_PLAN = [
    dict(code="sang-kien", name="Sáng kiến được công nhận", measure="count", target=1500),
    dict(code="cdcs-moi", name="Thành lập công đoàn cơ sở mới", measure="count", target=120),
    dict(code="dv-moi", name="Kết nạp đoàn viên mới", measure="count", target=25_000),
    # In đồng. GraphQL's Int is 32-bit: a target or an actual over 2,147,483,647 đồng (about 2.1
    # tỷ) fails the whole query with INTERNAL, so these stay under it (issue to report).
    dict(code="lam-loi", name="Giá trị làm lợi từ sáng kiến", measure="vnd", target=1_500_000_000),
    dict(
        code="cttcs-tot",
        name="Công đoàn cấp trên cơ sở xếp loại tốt",
        measure="percent",
        target=85,
        scope="own",
    ),
]


def officer(unit: str) -> Principal:
    return Principal(f"officer@{unit}", unit, frozenset({"officer"}))


async def in_parallel(calls: list[Callable[[], Awaitable[Any]]]) -> None:
    """Commands of different units, SETUP_WRITERS at a time."""
    gate = asyncio.Semaphore(SETUP_WRITERS)

    async def one(call: Callable[[], Awaitable[Any]]) -> None:
        async with gate:
            await call()

    await asyncio.gather(*(one(c) for c in calls))


@dataclass
class Province:
    campaign_id: uuid.UUID
    children: list[str]
    expected: Counter[str]  # childRegistrations status → count
    reports: int


async def set_up(runtime: Runtime) -> Province:
    data, children = tree_csv(GRASSROOTS_PER_CHILD)
    commands = registry_commands_of(runtime)
    started = time.perf_counter()
    async with owner_connection(runtime.url) as owner:  # as `thidua tenants import` does
        result = await import_units(commands, data, effective_on=ON, connection=owner)
    print(f"setup: {result.registered:,} units imported in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    clock = Clock()
    campaigns = commands_of(runtime, clock)
    actor = officer(PROVINCE)
    campaign_id = await campaigns.create(actor, **PLAN)
    await campaigns.add_phase(
        actor, campaign_id, name="Đợt 1", starts=date(2021, 1, 1), ends=date(2021, 6, 30)
    )
    await campaigns.add_phase(
        actor, campaign_id, name="Đợt 2", starts=date(2021, 7, 1), ends=date(2021, 12, 31)
    )
    for indicator in INDICATORS_PLAN:
        await campaigns.add_indicator(actor, campaign_id, **indicator)
    await campaigns.launch(actor, campaign_id)

    not_yet = {c for i, c in enumerate(children) if i % 10 == 9}
    late = {c for i, c in enumerate(children) if i % 10 == 8}
    on_time = [c for c in children if c not in not_yet and c not in late]
    withdrawn = set(on_time[::40])
    contents = PLAN["contents"]

    def register(unit: str, i: int, *, late: bool = False):
        return lambda: campaigns.register(
            officer(unit),
            campaign_id,
            plan=f"Kế hoạch thi đua năm 2021 của đơn vị {unit}",
            contents=[contents[i % 4], contents[(i + 1) % 4]],
            targets={"sang-kien": 2 + i % 5, "dv-moi": 30 + i % 50},
            late=late,
        )

    clock.on = date(2021, 2, 1)
    await in_parallel([register(c, i) for i, c in enumerate(on_time)])
    clock.on = date(2021, 3, 1)
    await in_parallel([register(c, i, late=True) for i, c in enumerate(sorted(late))])
    clock.on = date(2021, 3, 10)
    await in_parallel(
        [
            lambda c=c: campaigns.withdraw_registration(officer(c), campaign_id, "Sáp nhập đơn vị")
            for c in sorted(withdrawn)
        ]
    )

    reporting = [c for i, c in enumerate(children) if c not in not_yet | withdrawn and i % 4 != 3]

    def report(unit: str, i: int):
        actuals = {"sang-kien": i % 7, "cdcs-moi": i % 2, "dv-moi": 20 + i % 60}
        actuals["lam-loi"] = (i % 13) * 250_000
        return lambda: campaigns.report_progress(officer(unit), campaign_id, 1, actuals)

    clock.on = date(2021, 7, 3)
    await in_parallel([report(c, i) for i, c in enumerate(reporting) if i % 7])
    clock.on = date(2021, 7, 20)  # these are late
    await in_parallel([report(c, i) for i, c in enumerate(reporting) if i % 7 == 0])
    await campaigns.report_progress(actor, campaign_id, 1, {"cttcs-tot": 80})
    async with owner_connection(runtime.url) as owner:
        await owner.execute("ANALYZE")
    commands_run = 1 + 2 + len(INDICATORS_PLAN) + 1
    commands_run += CHILDREN_COUNT - len(not_yet) + len(withdrawn) + len(reporting) + 1
    seconds = time.perf_counter() - started
    print(
        f"setup: campaign launched, {commands_run:,} campaign commands in {seconds:.1f} s "
        f"({len(reporting)} units reported phase 1)"
    )
    expected = Counter(
        {
            "ON_TIME": len(on_time) - len(withdrawn),
            "LATE": len(late),
            "NOT_YET": len(not_yet),
            "WITHDRAWN": len(withdrawn),
        }
    )
    return Province(campaign_id, children, expected, len(reporting))


# --- measuring ---------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def ms(values: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    return statistics.median(values) * 1e3, percentile(values, 0.99) * 1e3


@dataclass
class Figures:
    """One row of the table: ours beside its floor (p50 and p99, ms), and the target."""

    name: str
    ours: tuple[float, float]
    floor: tuple[float, float]
    floor_name: str
    target: str
    met: bool
    notes: list[str] = field(default_factory=list)  # printed under the table


DETAIL = """query($id: ID!) { campaign(id: $id) {
  name
  phases { number name starts ends reportDue }
  indicators { code target actual achievement }
  childRegistrations(first: 200) { totalCount onTime late notYet withdrawn
    edges { node { unitId unitName status registeredOn } } }
} }"""

FLOOR = """
SELECT u.tenant_id, u.name, r.registered_on, r.late, r.status
  FROM units u
  LEFT JOIN campaign_registrations r ON r.campaign_id = $1 AND r.tenant_id = u.tenant_id
 WHERE u.parent_id = $2 AND u.status = 'active'
 ORDER BY u.name, u.tenant_id
"""

# What the app runs for DETAIL, statement by statement (services/campaign/schema.py).
APP_STATEMENTS = {
    "campaign row": f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE campaign_id = $1",
    "PHASES": PHASES,
    "INDICATORS": INDICATORS,
    "SUBTREE_REGISTRATIONS": _children_page_sql(True, after=False),
}


class GcPauses:
    """Python's cyclic garbage collections while ``timing`` is set: (generation, seconds)."""

    def __init__(self) -> None:
        self.timing = False
        self.pauses: list[tuple[int, float]] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self.timing:
            self.pauses.append((info["generation"], time.perf_counter() - self._started))

    def summary(self) -> str:
        parts = []
        for generation in (0, 1, 2):
            times = [t for g, t in self.pauses if g == generation]
            if times:
                parts.append(
                    f"gen{generation} {len(times)} times, {sum(times) * 1e3:.0f} ms in all, "
                    f"longest {max(times) * 1e3:.1f} ms"
                )
        return "; ".join(parts) or "none"


def args_of(name: str, campaign_id: uuid.UUID) -> tuple[Any, ...]:
    if name == "campaign row":
        return (campaign_id,)
    if name == "SUBTREE_REGISTRATIONS":  # the first page of 200, as DETAIL asks
        return ([campaign_id], None, None, 201)
    return ([campaign_id],)


async def bench_detail(runtime: Runtime, settings: Settings, province: Province) -> Figures:
    tokens = TokenService.from_settings(settings)
    token = tokens.issue(
        tenant=PROVINCE, roles=["officer"], subject="can-bo.thi-dua", ttl=timedelta(hours=2)
    )
    request = {"query": DETAIL, "variables": {"id": str(province.campaign_id)}}
    headers = {"Authorization": f"Bearer {token}"}
    principal = officer(PROVINCE)
    app = create_app(settings, runtime)
    gc.collect()  # as `thidua serve` does after create_app: full collections skip what is frozen
    gc.freeze()

    ours: list[float] = []
    cpu: list[float] = []  # this process's CPU time per detail request: the Python side
    collector = GcPauses()
    gc.callbacks.append(collector)
    floor: list[float] = []
    rls: dict[str, list[float]] = {name: [] for name in APP_STATEMENTS}
    plain: dict[str, list[float]] = {name: [] for name in APP_STATEMENTS}
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
        owner_connection(runtime.url) as owner,
    ):
        body: dict[str, Any] = {}
        rows: list[Any] = []
        for run in range(WARM_UP + RUNS):
            if run == WARM_UP:
                for times in (ours, cpu, floor, *rls.values(), *plain.values()):
                    times.clear()
                collector.pauses.clear()
            collector.timing = True
            t0, c0 = time.perf_counter(), time.process_time()
            response = await client.post("/graphql", json=request, headers=headers)
            body = response.json()
            ours.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            collector.timing = False

            t0 = time.perf_counter()
            rows = await owner.fetch(FLOOR, province.campaign_id, PROVINCE)
            floor.append(time.perf_counter() - t0)

            for name, sql in APP_STATEMENTS.items():
                args = args_of(name, province.campaign_id)
                async with access.scope(runtime.pool, principal) as conn:
                    t0 = time.perf_counter()
                    await conn.fetch(sql, *args)
                    rls[name].append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                await owner.fetch(sql, *args)
                plain[name].append(time.perf_counter() - t0)

    gc.callbacks.remove(collector)
    campaign = body["data"]["campaign"]
    assert response.status_code == 200 and not body.get("errors"), body
    page = campaign["childRegistrations"]
    counts = {"ON_TIME": "onTime", "LATE": "late", "NOT_YET": "notYet", "WITHDRAWN": "withdrawn"}
    statuses = Counter({status: page[field] for status, field in counts.items() if page[field]})
    assert statuses == province.expected, (statuses, province.expected)
    assert len(rows) == CHILDREN_COUNT == page["totalCount"]
    assert len(page["edges"]) == min(200, CHILDREN_COUNT)
    assert [i["code"] for i in campaign["indicators"]] == [i["code"] for i in INDICATORS_PLAN]
    assert len(campaign["phases"]) == 2

    notes = [
        f"detail: {len(response.content):,} bytes of JSON, {CHILDREN_COUNT} child registrations "
        f"({', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))}), "
        f"{len(campaign['indicators'])} indicators (actuals from {province.reports + 1} units' "
        f"reports), {RUNS} requests one after another after {WARM_UP} untimed",
        "",
        "Where the time goes: the app's statements alone on the database (fetch round trip, "
        "inside an open transaction), p50 / p99 ms. Timed in this process, so a p99 here may "
        "hold a pause of Python's garbage collector (see the last line).",
        "",
        "| statement | rows | thidua_app, RLS p50 | RLS p99 | owner, no RLS p50 | no RLS p99 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    async with access.scope(runtime.pool, principal) as conn:
        counts = {
            name: len(await conn.fetch(sql, *args_of(name, province.campaign_id)))
            for name, sql in APP_STATEMENTS.items()
        }
    for name in APP_STATEMENTS:
        (r50, r99), (p50, p99) = ms(rls[name]), ms(plain[name])
        notes.append(f"| {name} | {counts[name]} | {r50:.2f} | {r99:.2f} | {p50:.2f} | {p99:.2f} |")
    rls_sum = [sum(t) for t in zip(*rls.values(), strict=True)]
    notes.append(
        "| all four, one after another | | {:.2f} | {:.2f} | {:.2f} | {:.2f} |".format(
            *ms(rls_sum), *ms([sum(t) for t in zip(*plain.values(), strict=True)])
        )
    )
    notes += [
        "",
        "The app runs the campaign row first, then PHASES, INDICATORS and SUBTREE_REGISTRATIONS "
        "one after another, in the request's one transaction on one pooled connection.",
        "The Python side, per detail request: this process's CPU time (token, GraphQL parse, "
        "validation and execution, asyncpg decoding, JSON) p50 / p99 {:.2f} / {:.2f} ms.".format(
            *ms(cpu)
        ),
        f"Python's cyclic garbage collector inside the {RUNS} timed detail requests: "
        f"{collector.summary()}.",
    ]
    detail = ms(ours)
    return Figures(
        name=f"campaign detail, province with {CHILDREN_COUNT} children (GraphQL, ASGI)",
        ours=detail,
        floor=ms(floor),
        floor_name="children LEFT JOIN registrations, owner",
        target=f"p99 < {TARGET_P99_MS:.0f} ms",
        met=detail[1] < TARGET_P99_MS,
        notes=notes,
    )


PLEDGE_ROWS = 100_000
TARGET_PLEDGE_SHARE = 0.5


@dataclass
class Rate:
    """A bulk-pledge row: rows per second beside the store's batched append rate."""

    name: str
    ours: float
    floor: float
    repeat: float  # the same rows sent again: all unchanged, nothing written
    unknown_events: float  # names no one holds: a person made for each, events per second

    @property
    def met(self) -> bool:
        return self.ours >= TARGET_PLEDGE_SHARE * self.floor


def pledge_rows(count: int) -> list[PledgeRow]:
    titles = ("Lao động tiên tiến", "chien si thi dua co so", "Đoàn viên công đoàn xuất sắc")
    return [
        PledgeRow(n + 2, "", f"Nguyễn Văn {n}", titles[n % len(titles)], f"NV{n:06d}")
        for n in range(count)
    ]


async def settled(runtime: Runtime, unit: str) -> None:
    """Until the projections show the whole of ``unit``'s log, however long that takes: work
    the runner still has from an untimed step would otherwise share the process's one
    interpreter with a timed one."""
    seq = (await runtime.store.head(unit)).seq
    commands = commands_of(runtime)
    commands.store.announce(unit, seq)
    positions = commands.pipeline.positions
    if positions is not None and not await positions.wait_for(unit, seq, 600):
        raise SystemExit(f"{unit}: the projections did not reach {seq} in 10 minutes")


async def bench_pledge(runtime: Runtime, province: Province) -> Rate:
    """100,000 pledges of one grassroots union, in one call of the command GraphQL's
    ``registerPledges`` and the file upload run (check every row, make its event, append, write
    the read model, in one transaction); then the same rows again. The floor: the store's own
    batched append of the same events (the pledges' data, made in advance), 2,000 per append,
    one connection, one transaction, into another unit's log."""
    commands = commands_of(runtime)
    grassroots = f"{province.children[0]}-cs0000"
    floor_unit = f"{province.children[1]}-cs0001"
    rows = pledge_rows(PLEDGE_ROWS)
    # The unit's people registered first, as a unit does from its staff list (untimed): each
    # pledge's name is then sealed with the key of the person its staff number names.
    await register_people(
        awards_commands_of(runtime),
        officer(grassroots),
        [PersonRow(r.row, r.ref, Personal(r.name), Particulars("male")) for r in rows],
        max_rows=PLEDGE_ROWS,
    )
    await settled(runtime, grassroots)
    # The events ours writes, the names sealed (made in advance here).
    events = sealed_pledges(
        province.campaign_id, PROVINCE, floor_unit, [(r.name, r.ref) for r in rows]
    )
    async with runtime.pool.acquire() as conn:
        floor = await append_rate(runtime.store, conn, floor_unit, events)
    await settled(runtime, floor_unit)  # else ours would pay for the floor's projection

    started = time.perf_counter()
    result = await register_pledges(
        commands, officer(grassroots), province.campaign_id, rows, max_rows=PLEDGE_ROWS
    )
    # Until its rows are readable: the call waits for them only within its bound (5 s).
    await settled(runtime, grassroots)
    ours = len(rows) / (time.perf_counter() - started)
    assert (result.written, result.error_count) == (PLEDGE_ROWS, 0), result
    started = time.perf_counter()
    again = await register_pledges(
        commands, officer(grassroots), province.campaign_id, rows, max_rows=PLEDGE_ROWS
    )
    repeat = len(rows) / (time.perf_counter() - started)
    assert (again.written, again.unchanged) == (0, PLEDGE_ROWS), again

    # Names no one holds yet (another unit, no one registered): a person made for each, two
    # events a row; counted in events per second beside the same floor.
    unknown = f"{province.children[0]}-cs1000"
    started = time.perf_counter()
    made = await register_pledges(
        commands, officer(unknown), province.campaign_id, rows, max_rows=PLEDGE_ROWS
    )
    await settled(runtime, unknown)
    unknown_events = 2 * len(rows) / (time.perf_counter() - started)
    assert (made.written, made.error_count) == (PLEDGE_ROWS, 0), made
    return Rate(
        name=f"bulk pledge, {PLEDGE_ROWS:,} rows in one call, pledgers registered",
        ours=ours,
        floor=floor,
        repeat=repeat,
        unknown_events=unknown_events,
    )


async def main() -> None:
    given = os.environ.get("THIDUA_BENCH_DATABASE_URL")
    settings = Settings(
        database_url=given,
        data_dir=Path(tempfile.mkdtemp(prefix="thidua-bench-")),
        jwt_secret="bench-secret-bench-secret-bench-secret-0",
        log_json=False,
        log_level="WARNING",
    )
    runtime = await Runtime.start(settings, cleanup="delete")
    for noisy in ("httpx", "pgserver"):  # httpx logs every request: not in the timed loop
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        province = await set_up(runtime)
        rows = [await bench_detail(runtime, settings, province)]
        pledge = await bench_pledge(runtime, province)
    finally:
        await runtime.close()

    print(f"\nPostgreSQL at {runtime.url}; {os.cpu_count()} cores (other work may share them)\n")
    print(
        "| figure | p50 ms | p99 ms | floor | floor p50 ms | floor p99 ms | p99 / floor p99 "
        "| target |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---|")
    for row in rows:
        verdict = "met" if row.met else "NOT met"
        print(
            f"| {row.name} | {row.ours[0]:.2f} | {row.ours[1]:.2f} | {row.floor_name} "
            f"| {row.floor[0]:.2f} | {row.floor[1]:.2f} | {row.ours[1] / row.floor[1]:.1f}x "
            f"| {row.target}: {verdict} |"
        )
    print()
    print(
        "| figure | ours rows/s | floor | floor events/s | ours / floor | same rows again, rows/s | target |"
    )
    print("|---|---:|---|---:|---:|---:|---|")
    verdict = "met" if pledge.met else "NOT met"
    print(
        f"| {pledge.name} | {pledge.ours:,.0f} | store's batched append, {CHUNK:,} events "
        f"per append | {pledge.floor:,.0f} | {pledge.ours / pledge.floor:.0%} | "
        f"{pledge.repeat:,.0f} | >= {TARGET_PLEDGE_SHARE:.0%} of the floor: {verdict} |"
    )
    print(
        f"| the same rows, no pledger registered (a person made for each: 2 events a row), "
        f"events/s | {pledge.unknown_events:,.0f} | the same floor | {pledge.floor:,.0f} | "
        f"{pledge.unknown_events / pledge.floor:.0%} | | |"
    )
    for row in rows:
        print()
        print("\n".join(row.notes))


if __name__ == "__main__":
    try:  # the loop `thidua serve` runs on (uvicorn picks uvloop when it is installed)
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
