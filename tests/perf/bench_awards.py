"""Awards, served (issue 14, "Benchmark"): `thidua serve` driven over HTTP as the front end of an
emulation office drives it, each figure beside a floor measured in the same run.

    .venv/bin/python tests/perf/bench_awards.py [NOMINEES] [SECONDS]

Run by hand only, never in CI. NOMINEES (default 10,000) is the size of the proposal; SECONDS
(default 5) the length of each timed read figure, after 1 s of untimed warm-up.

Setup: a fresh database (an embedded PostgreSQL in a temporary THIDUA_DATA_DIR, or a new database
on the server of THIDUA_TEST_DATABASE_URL), ``thidua demo``, then ``thidua serve`` as a
subprocess with its default settings. NOMINEES people are registered in CĐ Công ty TNHH Giày
Ninh Bình (``POST /people``, a CSV; not timed), and as many again before each later chain. Before each timed part the database settles
(``settle``: the projections caught up, VACUUM ANALYZE, CHECKPOINT), as it would have long
before a proposal in life; each timed part is run three times and its median is the figure
(AWARDS_CHAINS sets how many chains): one run of the chain or of a floor moves by a tenth to a
sixth on this machine.

1. **A proposal of NOMINEES from submission to decision**, each step one HTTP request as an
   officer's screen sends it (httpx, from this process: nothing shared with the server's event
   loop): draft, ``addNominees`` (every nominee in one request), the dossier's three documents,
   submit; the upper level's ``appraiseNominees`` (all accepted) and conclusion; its council
   convened on the proposal, each of its 3 members' ``castVotes`` (all yes), concluded; its
   approver's ``issueDecision``; each chain with NOMINEES people of its own, the first for the
   year the register is read for, the later ones (run after 2 and 3, so that those read the
   database one chain leaves) for the years before. The issue's figure is the span it names,
   **from the submission to the decision** (submit to ``issueDecision``: the upper level's
   work on a proposal its officer has made ready), against **the store's append of the span's
   own events** (as below): target ≥ 50%. The whole chain, from the draft (with the bulk
   ``addNominees`` and the dossier), is printed beside it against its own events, the stricter
   figure. Nominees per second over the whole chain, beside two floors
   measured in the same run, last, with the server paused (SIGSTOP: its runner would project
   the floors' events meanwhile): **the store's batched append** of 200-byte events, one unit's
   log, one writer, appends of 1,000 (events per second: the issue's words), and **the store's
   append of the chain's own events** (read back from the log, into fresh units and streams,
   appends of at most 1,000 events, one writer; nominees per second). The chain writes its
   nominees in bulk events, about 1.7 KB of event data per nominee over its twelve steps, so
   the second is the floor a chain can be held to. The CPU the server and
   PostgreSQL used during the chain is printed too (AWARDS_EVENTS=1: the chain's events by type).
2. **The decisions register of the province** with 10,000 decisions in its subtree (written
   beforehand by the domain's own code straight to the store, 1,430 for each of seven of its
   units, then projected by the server's runner): ``decisions(unitId, subtree: true, year)``,
   its first page of 50 and its totals, p99 at 1 request in flight (wrk). Target: ≤ 50 ms.
3. **The year's figures of the province** (``awardYear``) over those recipients and the
   proposal's, p99 at 1 in flight (wrk), beside a plain indexed select of the same rows on the
   same database (asyncpg, from this process, p99). Target: ≤ 2×.

Figures of 2026-12-02 are in the README ("Awards, served").
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import io
import json
import os
import shutil
import signal
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from services.awards.domain import Decision, DecisionSeries, Recipient, series_stream
from services.awards.projections import build_registry
from shared.aggregates import Repository
from shared.auth import TokenService
from shared.db import create_pool
from shared.errors import NotFound
from shared.eventstore import EventStore, NewEvent
from shared.settings import Settings

HERE = Path(__file__).resolve().parent
NOMINEES = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
SECONDS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
GRASSROOTS, UPPER, PROVINCE = "nb-cs-giay-nb", "nb-kcn", "ldld-ninh-binh"
# Seven units of the province's subtree that write the register's decisions (not the upper
# level of the chain: its numbers are the chain's).
DECIDERS = [
    "ldld-ninh-binh",
    "nb-tp-ninh-binh",
    "nb-tp-tam-diep",
    "nb-hoa-lu",
    "nb-gia-vien",
    "nb-kim-son",
    "nb-giao-duc",
]
DECISIONS = 10_000
YEAR = 2025  # the year the awards are for
FLOOR_RUNS = 3
CHAIN_RUNS = max(1, int(os.environ.get("AWARDS_CHAINS", "3")))
MEMBERS = ("chu-tich", "pho-chu-tich", "uy-vien")
PDF = b"%PDF-1.7\n% "


def _served() -> Any:
    """tests/perf/bench_served.py's parts (its place, server, tokens and wrk driver)."""
    spec = importlib.util.spec_from_file_location("bench_served", HERE / "bench_served.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_served"] = module  # its dataclasses look themselves up there
    argv, sys.argv = sys.argv, [sys.argv[0]]  # it reads its own arguments when imported
    try:
        spec.loader.exec_module(module)
    finally:
        sys.argv = argv
    return module


served = _served()


class Client:
    """One officer's screen: GraphQL and REST over one HTTP connection, errors fatal."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=600)

    def gql(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        answer = self.http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {who}"},
        ).json()
        if answer.get("errors"):
            raise SystemExit(f"{query[:60]}…: {answer['errors'][0]}")
        return answer["data"]

    def post(self, who: str, path: str, content: bytes, name: str) -> dict[str, Any]:
        response = self.http.post(
            path, files={"file": (name, content)}, headers={"Authorization": f"Bearer {who}"}
        )
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code} {response.text[:300]}")
        return response.json()


# --- 1. the chain ------------------------------------------------------------------------------


def member_token(subject: str) -> str:
    """A council member of the upper level: the subject the session names."""
    tokens = TokenService.from_settings(Settings(jwt_secret=served.SECRET))
    return tokens.issue(tenant=UPPER, roles=["council"], subject=subject, ttl=timedelta(hours=8))


def register_people(client: Client, officer: str, count: int, start: int = 0) -> None:
    rows = ["Họ và tên,Giới tính,Số hiệu"] + [
        f"Công nhân {n:05},{'nữ' if n % 3 else 'nam'},G{n:05}" for n in range(start, start + count)
    ]
    got = client.post(officer, "/people", "\n".join(rows).encode(), "nguoi-lao-dong.csv")
    if got.get("written") != count:
        raise SystemExit(f"people: {got}")


def person_ids(url: str) -> list[str]:
    async def read() -> list[str]:
        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch(
                "SELECT person_id FROM people WHERE tenant_id = $1 ORDER BY staff_number",
                GRASSROOTS,
            )
            return [str(r["person_id"]) for r in rows]
        finally:
            await conn.close()

    return asyncio.run(read())


DRAFT = """mutation($input: ProposalInput!) { draftProposal(input: $input) { id } }"""
ADD = """mutation($id: ID!, $nominees: [NomineeInput!]!) {
  addNominees(proposalId: $id, nominees: $nominees) { written errorCount } }"""
SUBMIT = """mutation($id: ID!) { submitProposal(proposalId: $id) { status nomineeCount } }"""
APPRAISE = """mutation($id: ID!) { appraiseNominees(proposalId: $id, verdict: ACCEPT) {
  nomineeCount } }"""
CONCLUDE = """mutation($id: ID!) { concludeAppraisal(proposalId: $id) { appraisal } }"""
CONVENE = """mutation($input: CouncilInput!) { conveneCouncil(input: $input) { id } }"""
VOTE = """mutation($session: ID!) { castVotes(sessionId: $session, choice: YES) }"""
CLOSE = """mutation($session: ID!) { concludeCouncil(sessionId: $session) { status } }"""
ISSUE = """mutation($session: ID!) { issueDecision(sessionId: $session,
  title: "Tặng danh hiệu Lao động tiên tiến năm 2025") { code recipientCount cashTotalVnd } }"""


def chain(
    client: Client, people: list[str], year: int = YEAR, before_submit: Any = None
) -> tuple[float, list[tuple[str, float]]]:
    """The proposal's way from the officer's draft to the approver's decision: its seconds in
    all, and each step's. ``before_submit``: called (untimed) once the dossier is ready, before
    the submission."""
    officer = served.token(GRASSROOTS)
    upper = served.token(UPPER)
    approver = served.token(UPPER, "approver")
    steps: list[tuple[str, float]] = []

    def step(name: str, fn: Any) -> Any:
        started = time.perf_counter()
        got = fn()
        steps.append((name, time.perf_counter() - started))
        return got

    proposal = {"title": "Đề nghị công nhận Lao động tiên tiến", "kind": "REGULAR", "year": year}
    pid = step("draft", lambda: client.gql(officer, DRAFT, input=proposal))["draftProposal"]["id"]
    nominees = [{"subject": "PERSON", "personId": p, "award": "lao_dong_tien_tien"} for p in people]
    added = step("addNominees", lambda: client.gql(officer, ADD, id=pid, nominees=nominees))
    if added["addNominees"] != {"written": len(people), "errorCount": 0}:
        raise SystemExit(f"addNominees: {added}")

    def documents() -> None:
        for kind in ("memo", "achievement_report", "council_minutes"):
            path = f"/proposals/{pid}/documents?kind={kind}"
            client.post(officer, path, PDF + kind.encode(), f"{kind}.pdf")

    step("documents", documents)
    if before_submit is not None:
        before_submit()
    step("submit", lambda: client.gql(officer, SUBMIT, id=pid))
    step("appraiseNominees", lambda: client.gql(upper, APPRAISE, id=pid))
    step("concludeAppraisal", lambda: client.gql(upper, CONCLUDE, id=pid))
    council = {
        "title": "Phiên họp Hội đồng TĐKT",
        "meetsOn": date.today().isoformat(),
        "ballot": "OPEN",
        "quorum": 2,
        "members": [{"subject": m} for m in MEMBERS],
        "proposals": [pid],
    }
    convened = step("conveneCouncil", lambda: client.gql(upper, CONVENE, input=council))
    session = convened["conveneCouncil"]["id"]
    for member in MEMBERS:
        who = member_token(member)
        step(f"castVotes ({member})", lambda who=who: client.gql(who, VOTE, session=session))
    step("concludeCouncil", lambda: client.gql(upper, CLOSE, session=session))
    issued = step("issueDecision", lambda: client.gql(approver, ISSUE, session=session))
    if issued["issueDecision"]["recipientCount"] != len(people):
        raise SystemExit(f"issueDecision: {issued}")
    return sum(s for _, s in steps), steps


@dataclass
class Timed:
    """One chain: its seconds, its steps, the CPU the server and PostgreSQL used meanwhile, the
    events it wrote; and the same of the issue's span, from the submission to the decision."""

    seconds: float
    steps: list[tuple[str, float]]
    cpu: dict[str, float]
    written: list[Any]
    span_seconds: float
    span_written: list[Any]


def timed_chain(client: Client, server: int, url: str, people: list[str], year: int) -> Timed:
    """One chain after the database settled."""
    settle(url)
    before, submitted = heads(url), {}
    cpu = _cpu(server)
    seconds, steps = chain(client, people, year, lambda: submitted.update(heads(url)))
    cpu = {k: v - cpu[k] for k, v in _cpu(server).items()}
    span = [s for name, s in steps[[n for n, _ in steps].index("submit") :]]
    return Timed(
        seconds, steps, cpu, chain_events(url, before), sum(span), chain_events(url, submitted)
    )


async def _caught_up(conn: asyncpg.Connection) -> None:
    """Until every live projection the runner applies has reached every log's head."""
    for _ in range(600):
        behind = await conn.fetchval(
            "SELECT count(*) FROM projection_checkpoints c JOIN projection_versions v "
            "USING (name, version) JOIN tenant_heads h USING (tenant_id) "
            # The registry's is inline: its commands apply it, no checkpoint follows.
            "WHERE v.state = 'live' AND c.name <> 'registry' AND c.last_seq < h.seq"
        )
        if not behind:
            return
        await asyncio.sleep(0.1)
    raise SystemExit("the projections did not catch up in 60 s")


def settle(url: str, *, projected: bool = True) -> None:
    """The database as a proposal meets it in life, long after its people were registered, and
    the same before each timed part: every projection caught up with every log, its tables
    vacuumed and analysed (autovacuum's work, a minute or more behind here), and the buffers
    written (CHECKPOINT), so that neither the chain nor the floors pay for what came before.
    ``projected`` False: with the server paused, its runner projects nothing to wait for."""

    async def go() -> None:
        conn = await asyncpg.connect(url)
        try:
            if projected:
                await _caught_up(conn)
            await conn.execute("VACUUM ANALYZE")
            with contextlib.suppress(asyncpg.InsufficientPrivilegeError):  # an owner may not
                await conn.execute("CHECKPOINT")
        finally:
            await conn.close()

    asyncio.run(go())


def store_floor(url: str, seconds: float) -> float:
    """The store's batched append: one unit's log, one writer, appends of 1,000 events; events
    per second."""

    async def go() -> float:
        pool = await create_pool(url, Settings(database_url=url, pool_min_size=1, pool_max_size=2))
        store = EventStore(pool)
        tenant, stream, version, done = f"bench-awards-{uuid.uuid4().hex[:6]}", uuid.uuid4(), 0, 0
        try:
            stop = time.monotonic() + seconds
            started = time.perf_counter()
            while time.monotonic() < stop:
                events = [
                    NewEvent(
                        stream, version + k, "NomineeAdded", {"n": version + k, "p": "x" * 200}
                    )
                    for k in range(1, 1_001)
                ]
                await store.append(tenant, events, meta={"actor": "bench"})
                version += 1_000
                done += 1_000
            return done / (time.perf_counter() - started)
        finally:
            await pool.close()

    return asyncio.run(go())


def _cpu(server: int) -> dict[str, float]:
    """Seconds of CPU used so far by the server's process and by PostgreSQL's."""
    tick = os.sysconf("SC_CLK_TCK")
    got = {"server": 0.0, "pg": 0.0}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat.rsplit(")", 1)[1].split()
        used = (int(fields[11]) + int(fields[12])) / tick
        if int(pid) == server:
            got["server"] += used
        elif name.startswith("postgres"):
            got["pg"] += used
    return got


def chain_events(url: str, after: dict[str, int]) -> list[tuple[str, str, int, str, int, str]]:
    """The events the chain wrote, in the order of each unit's log: (tenant, stream, version,
    type, schema version, data as JSON)."""

    async def go() -> list[tuple[str, str, int, str, int, str]]:
        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch(
                "SELECT tenant_id, stream_id::text, stream_version, event_type, schema_version, "
                "data::text FROM events WHERE (tenant_id = $1 AND seq > $2) "
                "OR (tenant_id = $3 AND seq > $4) ORDER BY tenant_id, seq",
                GRASSROOTS,
                after[GRASSROOTS],
                UPPER,
                after[UPPER],
            )
            return [tuple(r) for r in rows]
        finally:
            await conn.close()

    return asyncio.run(go())


def heads(url: str) -> dict[str, int]:
    async def go() -> dict[str, int]:
        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch(
                "SELECT tenant_id, seq FROM tenant_heads WHERE tenant_id = ANY ($1::text[])",
                [GRASSROOTS, UPPER],
            )
            return {r["tenant_id"]: r["seq"] for r in rows}
        finally:
            await conn.close()

    return asyncio.run(go())


def same_events_floor(url: str, events: list[tuple[str, str, int, str, int, str]]) -> float:
    """The store's batched append of the chain's own events (each unit's, in a fresh unit's
    log, under fresh streams, appends of 1,000 events, one writer): seconds."""

    async def go() -> float:
        pool = await create_pool(url, Settings(database_url=url, pool_min_size=1, pool_max_size=2))
        store = EventStore(pool)
        appends = _appends(events, uuid.uuid4().hex[:6])
        try:
            started = time.perf_counter()
            for tenant, batch in appends:
                await store.append(tenant, batch, meta={"actor": "bench"})
            return time.perf_counter() - started
        finally:
            await pool.close()

    return asyncio.run(go())


def _appends(
    events: list[tuple[str, str, int, str, int, str]], suffix: str
) -> list[tuple[str, list[NewEvent]]]:
    """The events in appends of at most 1,000, each stream's versions from 1 in fresh streams,
    an append closed early where a stream would come back in it after another's."""
    streams: dict[str, tuple[uuid.UUID, list[int]]] = {}
    appends: list[tuple[str, list[NewEvent]]] = []
    batch: list[NewEvent] = []
    tenant_of, seen = "", set()
    for tenant, stream, _, kind, schema, data in events:
        new, version = streams.setdefault(stream, (uuid.uuid4(), [0]))
        version[0] += 1
        target = f"floor-{tenant[:20]}-{suffix}"
        back = new in seen and batch[-1].stream_id != new
        if batch and (target != tenant_of or len(batch) == 1_000 or back):
            appends.append((tenant_of, batch))
            batch, seen = [], set()
        tenant_of = target
        seen.add(new)
        batch.append(NewEvent(new, version[0], kind, json.loads(data), schema))
    if batch:
        appends.append((tenant_of, batch))
    return appends


# --- 2 and 3: the register and the year's figures ----------------------------------------------


def write_register(url: str, people: list[str]) -> None:
    """DECISIONS decisions of the province's units, each of one person (of the chain's unit) for
    a Giấy khen or a Bằng khen, straight to the store by the domain's own code."""

    async def go() -> None:
        pool = await create_pool(url, Settings(database_url=url, pool_min_size=1, pool_max_size=2))
        repo = Repository(EventStore(pool), build_registry(), snapshot_every=0)
        try:
            per_unit = -(-DECISIONS // len(DECIDERS))
            for u, unit in enumerate(DECIDERS):
                try:
                    series = await repo.get(unit, series_stream(unit))
                except NotFound:
                    series = DecisionSeries.open(unit_id=unit)
                batch: list[Any] = []
                for k in range(per_unit):
                    batch.append(_decision(unit, series, people[(u * per_unit + k) % len(people)]))
                    if len(batch) == 250:
                        await repo.save(unit, series, *batch)
                        batch = []
                if batch:
                    await repo.save(unit, series, *batch)
        finally:
            await pool.close()

    asyncio.run(go())


def _decision(unit: str, series: DecisionSeries, person: str) -> Decision:
    decision_id = uuid.uuid4()
    on = date.today()
    number, code = series.take(year=on.year, decision_id=decision_id)
    award = "bang_khen_ldld" if unit == PROVINCE else "giay_khen_cd_cap_tren"
    return Decision.issue(
        decision_id=decision_id,
        unit_id=unit,
        unit_name=unit,
        number=number,
        code=code,
        title="Tặng Giấy khen",
        on=on,
        signer="chu-tich",
        council_session=None,
        rule_set_version="999/2024",
        base_salary_vnd=2_340_000,
        recipients=[
            Recipient(
                item_id=f"{decision_id}:1",
                proposal_id=str(uuid.uuid4()),
                proposer=GRASSROOTS,
                nominee_id=str(uuid.uuid4()),
                who=f"person:{person}",
                subject="person",
                award=award,
                kind="regular",
                cash_vnd=360_000,
                multiple_hundredths=15,
                year=YEAR,
            )
        ],
    )


def wait_projected(url: str, decisions: int) -> None:
    async def go() -> None:
        conn = await asyncpg.connect(url)
        try:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                if await conn.fetchval("SELECT count(*) FROM decisions") >= decisions:
                    return
                await asyncio.sleep(0.5)
            raise SystemExit("the runner did not project the register in 10 minutes")
        finally:
            await conn.close()

    asyncio.run(go())


REGISTER = {
    "query": "query($unit: ID!, $year: Int!) { decisions(unitId: $unit, subtree: true, "
    "year: $year, first: 50) { total cashTotalVnd edges { node { code unitId decidedOn "
    "recipientCount cashTotalVnd } } pageInfo { hasNextPage endCursor } } }",
    "variables": {"unit": PROVINCE, "year": date.today().year},
}
YEAR_FIGURES = {
    "query": "query($unit: ID!, $year: Int!) { awardYear(year: $year, unitId: $unit) { persons "
    "directWorkers directWorkerShare women womenShare collectives cashVnd byAward { award "
    "persons collectives cashVnd } } }",
    "variables": {"unit": PROVINCE, "year": YEAR},
}
PLAIN = """
SELECT r.award, r.subject, r.cash_vnd, r.person_id FROM decision_recipients r
 WHERE r.award = ANY ($1::text[]) AND r.year = $2 AND r.revoked_on IS NULL
"""
AWARDS = ["lao_dong_tien_tien", "giay_khen_cd_cap_tren", "bang_khen_ldld"]


def plain_select(url: str, seconds: float) -> tuple[int, float, float]:
    """The year's recipient rows by a plain select on the index (award, year): rows, p50, p99
    in ms, one at a time for ``seconds``."""

    async def go() -> tuple[int, float, float]:
        conn = await asyncpg.connect(url)
        try:
            plan = await conn.fetchval("EXPLAIN (FORMAT TEXT) " + PLAIN, AWARDS, YEAR)
            if "Index" not in plan:
                print(f"note: the plain select's plan does not use an index: {plan}")
            times, rows = [], 0
            stop = time.monotonic() + 1 + seconds
            warm = time.monotonic() + 1
            while time.monotonic() < stop:
                started = time.perf_counter()
                rows = len(await conn.fetch(PLAIN, AWARDS, YEAR))
                if time.monotonic() > warm:
                    times.append((time.perf_counter() - started) * 1e3)
            times.sort()
            return rows, statistics.median(times), times[int(len(times) * 0.99) - 1]
        finally:
            await conn.close()

    return asyncio.run(go())


SLOW_LOG: list[str] = []


def slow_log(url: str, ms: int) -> None:
    """AWARDS_SLOW_MS=N: PostgreSQL logs every statement slower than N ms in the server's own
    log, copied to /tmp/bench-awards-slow before the database goes."""

    async def go() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f"ALTER SYSTEM SET log_min_duration_statement = {ms}")
            await conn.execute("SELECT pg_reload_conf()")
            where = await conn.fetchval(
                "SELECT current_setting('data_directory') || '/' || "
                "current_setting('log_directory')"
            )
            SLOW_LOG.append(where)
        finally:
            await conn.close()

    asyncio.run(go())


def explain(url: str) -> None:
    """AWARDS_EXPLAIN=1: the plans of the register's and the year's statements as the province's
    officer runs them (its role, tenant and reach), printed after the figures."""
    from services.awards.schema_decisions import _YEAR_FIGURES

    async def go() -> None:
        conn = await asyncpg.connect(url)
        try:
            units = [
                r["descendant"]
                for r in await conn.fetch(
                    "SELECT DISTINCT descendant FROM unit_closure WHERE ancestor = $1", PROVINCE
                )
            ]
            proposal = await conn.fetchval(
                "SELECT proposal_id FROM proposals WHERE tenant_id = $1", GRASSROOTS
            )
            async with conn.transaction():  # the council's read of the accepted, as the upper level
                await conn.execute("SET LOCAL ROLE thidua_app")
                await conn.execute(
                    "SELECT set_config('thidua.tenant', $1, true), "
                    "set_config('thidua.reach', 'subtree', true)",
                    UPPER,
                )
                # conveneCouncil's reads (services/awards/commands_council.py, _accepted)
                rows = await conn.fetch(
                    "EXPLAIN (ANALYZE, BUFFERS) SELECT v.proposal_id, v.nominee_id "
                    "FROM unnest($2::uuid[], $3::integer[]) AS r (proposal_id, round) "
                    "JOIN appraisal_verdicts v ON v.tenant_id = $1 "
                    "AND v.proposal_id = r.proposal_id AND v.round = r.round "
                    "WHERE v.verdict = 'accept'",
                    UPPER,
                    [proposal],
                    [1],
                )
                rows += await conn.fetch(
                    "EXPLAIN (ANALYZE, BUFFERS) SELECT n.tenant_id, n.proposal_id, n.nominee_id, "
                    "n.who, n.award, n.person_id, n.unit_id FROM proposal_nominees n "
                    "WHERE n.proposal_id = ANY ($1::uuid[]) ORDER BY n.proposal_id, n.added_seq",
                    [proposal],
                )
                print("\n".join(r[0] for r in rows), "\n", flush=True)
            async with conn.transaction():
                await conn.execute("SET LOCAL ROLE thidua_app")
                await conn.execute(
                    "SELECT set_config('thidua.tenant', $1, true), "
                    "set_config('thidua.reach', 'subtree', true)",
                    PROVINCE,
                )
                for sql, args in (
                    (
                        "SELECT count(*), coalesce(sum(cash_total_vnd), 0) FROM decisions d "
                        "WHERE d.tenant_id = ANY ($1::text[]) AND d.year = $2",
                        (units, date.today().year),
                    ),
                    (_YEAR_FIGURES, (PROVINCE, YEAR)),
                ):
                    rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *args)
                    print("\n".join(r[0] for r in rows), "\n", flush=True)
            # The year's function is a definer's: its own plan shows only as its body, run as
            # the owner with the asker's settings.
            body = await conn.fetchval(
                "SELECT prosrc FROM pg_proc WHERE proname = 'thidua_award_year'"
            )
            body = body.replace("p_unit", "$1::text").replace("p_year", "$2::integer")
            async with conn.transaction():
                await conn.execute(
                    "SELECT set_config('thidua.tenant', $1, true), "
                    "set_config('thidua.reach', 'subtree', true)",
                    PROVINCE,
                )
                rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + body, PROVINCE, YEAR)
                print("\n".join(r[0] for r in rows), "\n", flush=True)
        finally:
            await conn.close()

    asyncio.run(go())


# --- the run -----------------------------------------------------------------------------------


def main() -> None:
    wrk = served.wrk_binary()
    place = served.Place()
    server = None
    try:
        url = place.open()
        if os.environ.get("AWARDS_SLOW_MS"):  # the server's log names the statements slower
            slow_log(url, int(os.environ["AWARDS_SLOW_MS"]))
        started = time.perf_counter()
        place.thidua("demo")
        server = served.start_thidua(place)
        client = Client(server.base)
        officer = served.token(GRASSROOTS)
        register_people(client, officer, NOMINEES)
        people = person_ids(url)[:NOMINEES]
        print(f"setup: demo and {len(people)} people in {time.perf_counter() - started:.1f} s")

        chains = [timed_chain(client, server.proc.pid, url, people, YEAR)]
        # The register and the year's figures on the database one chain leaves, as always.
        write_register(url, people)
        wait_projected(url, DECISIONS + 1)
        province = served.token(PROVINCE)
        register = served.drive(wrk, server.base, REGISTER, [province], 1, SECONDS)
        figures = served.drive(wrk, server.base, YEAR_FIGURES, [province], 1, SECONDS)
        rows, plain_p50, plain_p99 = plain_select(url, SECONDS)
        if os.environ.get("AWARDS_EXPLAIN"):
            explain(url)
        # Then the chain again, CHAIN_RUNS in all, each with people of its own (registered
        # untimed) for a year before: one chain moves by a tenth from run to run, so the median
        # is the figure.
        for run in range(1, CHAIN_RUNS):
            register_people(client, officer, NOMINEES, run * NOMINEES)
            others = person_ids(url)[run * NOMINEES : (run + 1) * NOMINEES]
            chains.append(timed_chain(client, server.proc.pid, url, others, YEAR - run))
        middle = sorted(chains, key=lambda c: c.seconds)[len(chains) // 2]
        seconds, steps, cpu, written = middle.seconds, middle.steps, middle.cpu, middle.written
        spanned = sorted(chains, key=lambda c: c.span_seconds)[len(chains) // 2]
        # The first chain meets a server that has served no proposal yet; the later ones a
        # warm one (its connections' prepared statements, its caches): both are printed.
        print(
            "chains: "
            + ", ".join(f"{c.seconds:.2f} s" for c in chains)
            + " (the first on a fresh server; the median is the figure); from the submission: "
            + ", ".join(f"{c.span_seconds:.2f} s" for c in chains)
        )
        print(f"CPU during the chain: server {cpu['server']:.1f} s, PostgreSQL {cpu['pg']:.1f} s")
        rate = NOMINEES / seconds
        if os.environ.get("AWARDS_EVENTS"):
            kinds: dict[str, list[int]] = {}
            for e in written:
                kinds.setdefault(e[3], []).append(len(e[5]))
            for kind, sizes in sorted(kinds.items(), key=lambda k: -sum(k[1])):
                print(f"  {kind:<28} {len(sizes):>5} events {sum(sizes) / 1e6:>6.2f} MB")

        # The floors last, with the server paused (its embedded database lives while it does):
        # its runner would project their events meanwhile, and the register's tables hold them.
        # Each floor three times, each after the database settled: one run moves by a sixth.
        server.proc.send_signal(signal.SIGSTOP)
        floors, sames, spans = [], [], []
        try:
            for _ in range(FLOOR_RUNS):
                settle(url, projected=False)
                floors.append(store_floor(url, SECONDS))
                settle(url, projected=False)
                sames.append(same_events_floor(url, written))
                settle(url, projected=False)
                spans.append(same_events_floor(url, spanned.span_written))
        finally:
            server.proc.send_signal(signal.SIGCONT)
        print(
            "floors: "
            + ", ".join(f"{f:,.0f} events/s" for f in floors)
            + "; the chain's own events: "
            + ", ".join(f"{s:.2f} s" for s in sames)
            + "; the span's own events: "
            + ", ".join(f"{s:.2f} s" for s in spans)
            + " (the median of each is the figure)"
        )
        floor, same = statistics.median(floors), len(people) / statistics.median(sames)
        size = sum(len(e[5]) for e in written)
        report(rate, floor, steps, register, figures, rows, plain_p50, plain_p99)
        span_floor = statistics.median(spans)
        span_share = span_floor / spanned.span_seconds
        span_size = sum(len(e[5]) for e in spanned.span_written)
        print(
            f"from the submission to the decision (the issue's span): "
            f"{spanned.span_seconds:.2f} s, {len(people) / spanned.span_seconds:,.0f} nominees/s; "
            f"it wrote {len(spanned.span_written):,} events, {span_size / 1e6:.1f} MB of data; "
            f"the store appends the same in {span_floor:.2f} s: ours {span_share:.0%} of it "
            f"(target ≥ 50%: {'met' if span_share >= 0.5 else 'NOT met'})\n"
            f"the whole chain, from the draft (addNominees and the dossier too) wrote "
            f"{len(written):,} events, {size / 1e6:.1f} MB of data; the store appends the same "
            f"in {len(people) / same:.2f} s: {same:,.0f} nominees/s; ours {rate / same:.0%} of it",
            flush=True,
        )
    finally:
        if server is not None:
            server.stop()
        for where in SLOW_LOG:
            copy = shutil.copytree if Path(where).is_dir() else shutil.copyfile
            copy(where, "/tmp/bench-awards-slow")
        place.close()


def report(rate, floor, steps, register, figures, rows, plain_p50, plain_p99) -> None:
    out = io.StringIO()
    share = rate / floor
    out.write(
        f"\nA proposal of {NOMINEES:,} nominees, from the draft to the decision, through HTTP "
        "(the issue's span, from the submission, starts at submit):\n"
    )
    for name, s in steps:
        out.write(f"  {name:<26} {s * 1e3:>9,.0f} ms\n")
    out.write(
        f"  whole chain: {sum(s for _, s in steps):.1f} s, {rate:,.0f} nominees/s; the store's "
        f"batched append {floor:,.0f} events/s: {share:.0%} (events of 200 bytes, where the "
        "chain writes about 1.7 KB a nominee: the target is held to the append of the chain's "
        "own events, below)\n"
    )
    met = "met" if register.ok and register.p99_ms <= 50 else "NOT met"
    out.write(
        f"Decisions register of the province ({DECISIONS:,} decisions), 1 in flight: "
        f"p50 {register.p50_ms:.1f} ms, p99 {register.p99_ms:.1f} ms ({register.rate:,.0f} "
        f"req/s, {register.failed} failed; target p99 ≤ 50 ms: {met})\n"
    )
    if not register.ok or not figures.ok:
        out.write(f"no answer: {register.first_failure or figures.first_failure}\n")
    ratio = figures.p99_ms / plain_p99 if figures.ok else float("inf")
    out.write(
        f"Year's figures of the province, 1 in flight: p50 {figures.p50_ms:.1f} ms, p99 "
        f"{figures.p99_ms:.1f} ms ({figures.failed} failed); a plain indexed select of the same "
        f"{rows:,} rows: p50 {plain_p50:.1f} ms, p99 {plain_p99:.1f} ms: {ratio:.1f}× "
        f"(target ≤ 2×: {'met' if ratio <= 2 else 'NOT met'})\n"
    )
    print(out.getvalue(), flush=True)


if __name__ == "__main__":
    main()
