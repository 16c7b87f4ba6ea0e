"""The served path: `thidua serve` driven over HTTP as a front end drives it, beside its floors
measured in the same run (issue 13, "Speed, measured where users feel it").

    .venv/bin/python tests/perf/bench_served.py [SECONDS] [ROUNDS]

Run by hand only, never in CI. SECONDS (default 5) is the length of each timed figure; each has
1 s of untimed warm-up before it. With ROUNDS (default 1) above 1 every figure is measured that
many times, round by round, and the table shows each figure's median round.

Load generator: ``wrk`` (C, epoll; it shares nothing with the server's event loop), with
tests/perf/served.lua posting each GraphQL body with a bearer token per thread and counting the
answers that came back 200 without "errors". Found on PATH or in ~/.cache/thidua-bench; failing
both, the bench fetches Debian's package: ``apt-get install -y wrk`` when it runs as root, else
``apt-get download wrk`` (and its libluajit dependency) unpacked with ``dpkg -x`` into that cache.

Setup: a fresh database (an embedded PostgreSQL in a temporary THIDUA_DATA_DIR, or a new
database on the server of THIDUA_TEST_DATABASE_URL, whose user may create databases); ``thidua
demo --province-units 700``: the demo, and a province of 700 upper-level units each registered
with the province's campaign (services/demo/province.py); then ``thidua serve`` as a subprocess
with its default settings (JSON log lines at info level, to /dev/null). Tokens are minted with
the secret the server is given.

Floors, in the same run: a bare litestar + strawberry app answering ``{ hello }`` with strawberry's
parser and validation caches, served by uvicorn with the options `thidua serve` uses
(services.gateway.cli.uvicorn_options); and the event store's own batched append rate at 16
tenants (tests/perf/bench_store.py's ``bench_ours``, on the same database).

Ceilings, in the same run: each of the page, the list and the mutation sent to a bare litestar +
strawberry app (tests/perf/served_shape.py) that answers that document with what `thidua serve`
answered, from memory; the table shows it under the figure it bounds, and ours as a share of it.

Figures (16 requests in flight unless said): ``{ version }``; a grassroots officer's page (``me``,
``myRegistrations``, ``campaigns``) from 16 grassroots units of the demo; the province's campaign
list with phases, indicators and its children's registrations: the counts by status over its
700 children and the first page of them (50, the default; at most 200 a page), as a dashboard
asks (p99 at 1 in flight, rate at 16); ``registerInitiative`` from 1, 2, 4, 8 and 16 grassroots units, one writer each; then the
answered mutations missing from the log or the read model (200 answers without errors against
the rows written); and the projections' lag read from the server after the load, when it has a
``projections`` field.

SERVED_PROFILE=page,list16,mutation16 (figure names as in the code) samples the server with
py-spy (the bench extra) during those figures, as collapsed stacks in /tmp/bench-served-NAME.txt
(py-spy stops the server for each sample: a profiled figure's rate is lower than an unprofiled
one's). SERVED_ONLY=page,list16 measures only those figures beside the floor (while working on
one of them; the table then says n/a for the others).

Figures of 2026-11-30 (2 cores shared with other work: run it twice before believing less than a
third), 2 rounds of 5 s, before and after the served path's own work of issue 13 (httptools,
no worker thread or task group per request, tokens verified once, the version read once,
orjson answers, a client that hangs up no longer logged with a rendered traceback), one run
right after the other, req/s (% of that run's floor):

    floor `{ hello }` 2,336 (h11) → 2,932 (httptools); `{ version }` 1,230 (53%) → 3,409 (116%);
    grassroots page 615 (26%) → 810 (28%); campaign list, 1 in flight, p50/p99 22.4/33.0 ms →
    22.1/40.0 ms; at 16: 42 → 50; registerInitiative at 16 units 460 → 481 (the store's floor
    11,712 → 6,693 appends/s in those two runs: the database was busier in the second).

Then (helper served2), a query's fields read on one scoped connection (shared/access.py
``SharedScope``), the campaign commands' rows applied by the projection runner, which now applies
many tenants' batches in one transaction committed without waiting for its flush, in one round
trip for its survey and one for its lock and events, two rounds in flight; a child registration's
contents decoded only when asked for. Two rounds of 5 s, one run after the other, the same
machine quiet (store floor 13,362 and 13,693 appends/s), HEAD of that morning → the work above:

    floor 3,614 → 3,479; `{ version }` 114% → 118%; grassroots page 1,023 (28%) → 1,263 (36%);
    campaign list at 1 in flight p50/p99 19.0/25.2 → 16.4/25.1 ms, at 16: 60 → 71 req/s;
    registerInitiative from 1/2/4/8/16 units 435/567/648/688/643 (rows written by the command
    itself, nothing to wait for) → 187/255/335/457/553 (rows by the runner, each answer waiting
    for them: projection lag p99 28 ms); the same tree with the runner's earlier one transaction
    per tenant: 63/58/122/98/120, lag p99 324 ms (a busier machine: store floor 3,299).

Session of 2026-12-01, each step measured in a run of 2 rounds of 5 s, the machine quiet (store
floor 12,574–13,757 appends/s): the children a page at a time (the list had resolved all 700
children's 2,800 fields); a request's BEGIN and reach in one round trip; then the application's
plans kept generic (row-level security had made PostgreSQL plan each read anew: 1.5 ms of
planning for 0.05 ms of work); then the runner surveying only the tenants the signal says grew:

    floor 3,587 / 3,612 / 3,636; page 38% / 36% / 36%; list, 1 in flight p50/p99
    7.1/11.0 → 4.4/6.1 → 4.5/6.6 ms, at 16: 199 (6%) → 299 (8%) → 281 (8%) req/s;
    registerInitiative at 1/16 units 193/583 → 193/585 → 213/636.

Then the actuals' unit locks in one statement, a held tenant surveyed again after its round,
optional filters left out of statements: floor 3,560; page 1,408 (40%); list 223 at 1 in flight
(p99 6.6 ms), 290 (8%) at 16; registerInitiative 1/2/4/8/16 units 235/323/412/519/577 (751 at
16 measured alone, SERVED_ONLY=mutation1,mutation16: fewer rows written before it). Then the
runner's plans kept generic too (its survey had been planned anew every round): floor 3,589;
page 1,313 (37%); list 286 (8%); registerInitiative 296/447/531/632/686, lag p99 22 ms.

Then the ceilings (2 rounds of 5 s, floor 3,598): the page 1,349 (38%) against its ceiling
2,656 (74%); the list 285 (8%) against 757 (21%: below the list's 25% target, as in every run
since, 772 in another); registerInitiative at 16 units 701 (19%) against 2,758 (77%).

What is left: a page costs five round trips to the database (begin and reach, three reads,
commit) and strawberry's execution of its fields, about 0.75 ms of this process's CPU, against
the floor's 0.28 ms; the list's first page is 50 children × 6 fields beside a count over 700
rows under row-level security (1.6 ms of the database); a mutation reads and checks on about ten
statements in sequence (4.5 ms at one writer, in-process), and the server's one process is
CPU-bound at 16 writers.
"""

from __future__ import annotations

import asyncio
import csv
import importlib.util
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from shared.auth import TokenService
from shared.settings import Settings
from tests.gateway.test_serve import free_port, wait_ready

HERE = Path(__file__).resolve().parent
THIDUA = Path(sys.executable).with_name("thidua")
LUA = HERE / "served.lua"
CACHE = Path.home() / ".cache" / "thidua-bench"
_APP = len(sys.argv) > 1 and sys.argv[1] in ("--floor-app", "--shape-app")
SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 and not _APP else 5
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 and not _APP else 1
WARM_UP_S = 1
IN_FLIGHT = 16
WRITERS = (1, 2, 4, 8, 16)
# Figures to profile with py-spy (SERVED_PROFILE=page,mutation16): /tmp/bench-served-NAME.txt
PROFILE = frozenset(filter(None, os.environ.get("SERVED_PROFILE", "").split(",")))
ONLY = frozenset(filter(None, os.environ.get("SERVED_ONLY", "").split(",")))
SECRET = "bench-served-" + uuid.uuid4().hex

DEMO_DATA = Path(__file__).resolve().parents[2] / "services" / "demo" / "data"
NATIONAL = "tld"  # the demo's root: its admin reads the projections' lag
PROVINCE = tomllib.loads((DEMO_DATA / "province.toml").read_text())["province"]["id"]
CHILDREN = 700
# The demo's first 16 grassroots units: one writer, one token each.
GRASSROOTS = [
    row["id"]
    for row in csv.DictReader(io.StringIO((DEMO_DATA / "tree.csv").read_text()))
    if row["level"] == "grassroots"
][:IN_FLIGHT]

VERSION = {"query": "{ version }"}
PAGE = {
    "query": "{ me { unit { name } } myRegistrations { campaignId contents late status } "
    "campaigns { name unitId status } }"
}
CAMPAIGN_LIST = {
    "query": "{ campaigns { id name unitId status "
    "phases { number name starts ends reportDue } "
    "indicators { code name target actual achievement } "
    "childRegistrations { totalCount onTime late notYet "
    "edges { node { unitId unitName status registeredOn } } pageInfo { hasNextPage endCursor } } "
    "} }"
}
MUTATION = {
    "query": "mutation($input: InitiativeInput!) { registerInitiative(input: $input) { id } }",
    "variables": {
        "input": {
            "title": "Sáng kiến cải tiến quy trình số {n}",
            "authors": ["Nguyễn Văn An", "Trần Thị Bình"],
            "field": "Kỹ thuật",
        }
    },
}
# A figure of the shape floor (shape_app) is named after the figure it bounds, with this suffix.
SHAPE = "@shape"
# The issue's targets: (figure, what is compared, the bound).
TARGETS = {
    "version": ("rate", 0.80),
    "page": ("rate", 0.50),
    "list16": ("rate", 0.25),
    "mutation16": ("rate", 0.40),
}


# --- the load generator ------------------------------------------------------------------------


def wrk_binary() -> str:
    """wrk on PATH, or in the cache, or fetched from Debian's packages (see the docstring)."""
    found = shutil.which("wrk") or (str(CACHE / "usr/bin/wrk") if _cached_wrk() else None)
    if found:
        return found
    if os.geteuid() == 0:
        print("wrk: apt-get install -y wrk", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False)
        if shutil.which("wrk"):
            return shutil.which("wrk") or "wrk"
    print(f"wrk: apt-get download into {CACHE}", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["apt-get", "download", "wrk", "libluajit-5.1-2", "libluajit-5.1-common"],
        cwd=CACHE,
        check=True,
    )
    for deb in CACHE.glob("*.deb"):
        subprocess.run(["dpkg", "-x", str(deb), str(CACHE)], check=True)
    if not _cached_wrk():
        raise SystemExit(
            "wrk could not be found nor fetched: install it (Debian: apt-get install wrk)"
        )
    return str(CACHE / "usr/bin/wrk")


def _cached_wrk() -> bool:
    return (CACHE / "usr/bin/wrk").exists()


def _wrk_env() -> dict[str, str]:
    libs = [str(p.parent) for p in CACHE.glob("usr/lib/*/libluajit*")]
    env = dict(os.environ)
    if libs:
        env["LD_LIBRARY_PATH"] = ":".join([*libs, env.get("LD_LIBRARY_PATH", "")])
    return env


@dataclass
class Load:
    """What one wrk run measured."""

    warm_ok: int  # answered during the warm-up: they wrote too
    requests: int
    seconds: float
    ok: int
    failed: int
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    first_failure: str

    @property
    def rate(self) -> float:
        return self.ok / self.seconds


def drive(
    wrk: str,
    base: str,
    body: dict[str, Any],
    tokens: list[str],
    in_flight: int,
    seconds: float,
    profile: tuple[int, str] | None = None,
) -> Load:
    """``in_flight`` connections, one wrk thread each, for ``seconds`` (after a warm-up); with
    ``profile`` (pid, name), py-spy samples that process during the timed part."""
    with tempfile.NamedTemporaryFile("w", suffix=".tokens", delete=False) as file:
        file.write("\n".join(tokens) + "\n")
    env = _wrk_env() | {"SERVED_BODY": json.dumps(body), "SERVED_TOKENS": file.name}
    warm_ok = 0
    try:
        for length in (WARM_UP_S, seconds):
            spy = _py_spy(profile, length) if profile and length == seconds else None
            command = [
                wrk,
                f"-t{in_flight}",
                f"-c{in_flight}",
                f"-d{length:.0f}s",
                "--timeout",
                "10s",
            ]
            out = subprocess.run(
                [*command, "-s", str(LUA), f"{base}/graphql"],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode != 0 or "SERVED " not in out.stdout:
                raise SystemExit(f"wrk failed: {out.stdout}\n{out.stderr}")
            if spy is not None:
                spy.wait()
            if length == WARM_UP_S:
                warm_ok = _figures(out.stdout)["ok"]
    finally:
        os.unlink(file.name)
    got = _figures(out.stdout)
    return Load(
        warm_ok,
        got["requests"],
        got["seconds"],
        got["ok"],
        got["failed"],
        got["socket_errors"],
        got["p50_us"] / 1e3,
        got["p90_us"] / 1e3,
        got["p99_us"] / 1e3,
        got["first_failure"],
    )


def _figures(out: str) -> dict[str, Any]:
    line = next(x for x in out.splitlines() if x.startswith("SERVED "))
    return json.loads(line.removeprefix("SERVED "))


def _py_spy(profile: tuple[int, str], seconds: float) -> subprocess.Popen[bytes]:
    """Samples of the server during a figure, as collapsed stacks (flamegraph.pl, speedscope)."""
    pid, name = profile
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out = Path(tempfile.gettempdir()) / f"bench-served-{name}.txt"
    print(f"profiling {name} into {out}", flush=True)
    command = [spy, "record", "--pid", str(pid), "--duration", f"{seconds:.0f}", "--format", "raw"]
    return subprocess.Popen(
        [*command, "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


# --- the floor app -----------------------------------------------------------------------------


def floor_app() -> Any:
    """A bare litestar + strawberry app answering ``{ hello }``, parser and validation cached."""
    import strawberry
    from litestar import Litestar
    from strawberry.extensions import ParserCache, ValidationCache
    from strawberry.litestar import make_graphql_controller

    @strawberry.type
    class Query:
        @strawberry.field
        def hello(self) -> str:
            return "world"

    schema = strawberry.Schema(
        query=Query,
        extensions=[lambda: ParserCache(maxsize=1024), lambda: ValidationCache(maxsize=1024)],
    )
    graphql = make_graphql_controller(schema, path="/graphql", graphql_ide=None)
    return Litestar(route_handlers=[graphql], openapi_config=None)


def serve_shape(port: int, answers_file: str) -> None:
    import uvicorn
    from served_shape import shape_app  # tests/perf/served_shape.py

    from services.gateway.cli import uvicorn_options

    given = json.loads(Path(answers_file).read_text())
    app = shape_app(given["answers"], given["province_token"])
    uvicorn.run(app, **uvicorn_options(Settings(port=port)))


def serve_floor(port: int) -> None:
    import uvicorn

    from services.gateway.cli import uvicorn_options

    uvicorn.run(floor_app(), **uvicorn_options(Settings(port=port)))


# --- setup -------------------------------------------------------------------------------------


class Place:
    """Where the bench's database lives, and the environment every ``thidua`` process gets."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="thidua-bench-served-"))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
        self.env |= {
            "THIDUA_DATA_DIR": str(self.root / ".thidua"),
            "THIDUA_JWT_SECRET": SECRET,
        }
        self.server_url = os.environ.get("THIDUA_TEST_DATABASE_URL")
        self.database: str | None = None

    def open(self) -> str:
        """The database URL (owner), created fresh."""
        if self.server_url:
            self.database = f"thidua_bench_{uuid.uuid4().hex[:10]}"
            asyncio.run(_execute(self.server_url, f'CREATE DATABASE "{self.database}"'))
            url = _with_database(self.server_url, self.database)
            self.env["THIDUA_DATABASE_URL"] = url
            return url
        return self.thidua("db", "url").strip()  # starts the embedded server, leaves it up

    def thidua(self, *args: str) -> str:
        done = subprocess.run(
            [THIDUA, *args], env=self.env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"thidua {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def close(self) -> None:
        if self.database:
            query = f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'
            asyncio.run(_execute(self.server_url or "", query))
        else:
            subprocess.run(
                [THIDUA, "db", "stop", "--force"], env=self.env, capture_output=True, check=False
            )
        shutil.rmtree(self.root, ignore_errors=True)


async def _execute(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _with_database(url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def load_demo(place: Place) -> None:
    """The demo and a province of 700 upper-level units, each registered with the province's
    campaign (services/demo/province.py), as ``thidua demo --province-units`` loads them."""
    started = time.perf_counter()
    place.thidua("demo", "--province-units", str(CHILDREN))
    print(f"setup: demo and province loaded in {time.perf_counter() - started:.1f} s", flush=True)


def token(unit: str, role: str = "officer") -> str:
    service = TokenService.from_settings(Settings(jwt_secret=SECRET))
    return service.issue(tenant=unit, roles=[role], subject=f"bench@{unit}", ttl=timedelta(hours=8))


# --- servers -----------------------------------------------------------------------------------


class Server:
    def __init__(self, command: list[str], env: dict[str, str], port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        # what the server logs, kept for a failure to show (a pipe nobody reads could fill)
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self.wait()
        except BaseException:
            print(self.tail(), file=sys.stderr)
            raise

    def tail(self, size: int = 8000) -> str:
        """The last ``size`` bytes of what the server logged."""
        self.log.seek(max(0, os.fstat(self.log.fileno()).st_size - size))
        return self.log.read().decode(errors="replace")

    def wait(self) -> None:
        wait_ready(self.base, self.proc) if "serve" in self.proc.args else self._wait_port()

    def _wait_port(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.post(f"{self.base}/graphql", json={"query": "{ hello }"}, timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise SystemExit("the floor app did not start")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=60)


def start_thidua(place: Place) -> Server:
    port = free_port()
    return Server([str(THIDUA), "serve"], place.env | {"THIDUA_PORT": str(port)}, port)


def start_floor(place: Place) -> Server:
    port = free_port()
    command = [sys.executable, __file__, "--floor-app", str(port)]
    return Server(command, place.env, port)


def start_shape(place: Place, answers: dict[str, Any], province_token: str) -> Server:
    """The shape floor (tests/perf/served_shape.py), given the answers `thidua serve` gave."""
    port = free_port()
    path = place.root / "answers.json"
    path.write_text(json.dumps({"answers": answers, "province_token": province_token}))
    command = [sys.executable, __file__, "--shape-app", str(port), str(path)]
    return Server(command, place.env, port)


def answers_of(base: str, grassroots: str, province: str) -> dict[str, Any]:
    """What `thidua serve` answers to the page and the list: the shape floor serves the same."""
    got = {}
    for name, body, who in (("page", PAGE, grassroots), ("list", CAMPAIGN_LIST, province)):
        answer = httpx.post(
            f"{base}/graphql", json=body, headers={"Authorization": f"Bearer {who}"}
        ).json()
        if answer.get("errors"):
            raise SystemExit(f"the {name} failed: {answer['errors'][0]}")
        got[name] = answer
    return got


# --- counting ----------------------------------------------------------------------------------


INITIATIVES = """
SELECT (SELECT count(*) FROM events WHERE event_type = 'InitiativeRegistered') AS logged,
       (SELECT count(*) FROM campaign_initiatives) AS projected
"""


async def initiatives(url: str) -> tuple[int, int]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(INITIATIVES)
        return row["logged"], row["projected"]
    finally:
        await conn.close()


def projection_lag(base: str, who: str) -> str:
    """The projections' lag as the server reports it after the load: its runner's p99 over its
    recent batches (``p99LagSeconds``), and what is still behind."""
    query = {"query": "{ projections { name version inline lagEvents p99LagSeconds } }"}
    answer = httpx.post(
        f"{base}/graphql", json=query, headers={"Authorization": f"Bearer {who}"}
    ).json()
    if answer.get("errors"):
        return "n/a (" + answer["errors"][0]["message"][:100] + ")"
    lines = []
    for p in answer["data"]["projections"]:
        if p["inline"]:
            continue
        p99 = p["p99LagSeconds"]
        measured = f"p99 {p99 * 1e3:.0f} ms" if p99 is not None else "p99 not measured"
        lines.append(f"{p['name']} v{p['version']}: {measured}, {p['lagEvents']} events behind")
    return "; ".join(lines) or "no projection outside the commands"


def store_floor(url: str, seconds: float) -> float:
    """bench_store.py's ``bench_ours``: 16 tenants, one writer each, 1 event per append."""
    spec = importlib.util.spec_from_file_location("bench_store", HERE / "bench_store.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    argv, sys.argv = sys.argv, [sys.argv[0]]  # it reads its own arguments when imported
    try:
        spec.loader.exec_module(module)
    finally:
        sys.argv = argv

    async def go() -> float:
        from shared.db import create_pool
        from shared.eventstore import EventStore

        writers = module.WRITERS
        settings = Settings(database_url=url, pool_min_size=writers, pool_max_size=writers)
        pool = await create_pool(url, settings)
        try:
            return await module.bench_ours(EventStore(pool), 1, writers, seconds)
        finally:
            await pool.close()

    return asyncio.run(go())


# --- the run -----------------------------------------------------------------------------------


def main() -> None:
    wrk = wrk_binary()
    place = Place()
    runs: dict[str, list[Load]] = {}
    try:
        url = place.open()
        load_demo(place)

        def figure(key: str, server: Server, body: dict[str, Any], tokens: list[str], n: int):
            if ONLY and key.removesuffix(SHAPE) not in ONLY and key != "floor":
                return
            profile = (server.proc.pid, key) if key in PROFILE else None
            load = drive(wrk, server.base, body, tokens, n, SECONDS, profile)
            runs.setdefault(key, []).append(load)

        # Both up, one measured at a time: an idle server costs nothing.
        floor, server = start_floor(place), start_thidua(place)
        shape = None
        try:
            grassroots = [token(u) for u in GRASSROOTS]
            province = [token(PROVINCE)]
            shape = start_shape(
                place, answers_of(server.base, grassroots[0], province[0]), province[0]
            )
            before = asyncio.run(initiatives(url))
            for _ in range(ROUNDS):
                # Round by round, so the machine's drift falls on every figure alike.
                figure("floor", floor, {"query": "{ hello }"}, [], IN_FLIGHT)
                figure("version", server, VERSION, [], IN_FLIGHT)
                figure("page", server, PAGE, grassroots, IN_FLIGHT)
                figure("page" + SHAPE, shape, PAGE, grassroots, IN_FLIGHT)
                figure("list1", server, CAMPAIGN_LIST, province, 1)
                figure("list16", server, CAMPAIGN_LIST, province, IN_FLIGHT)
                figure("list16" + SHAPE, shape, CAMPAIGN_LIST, province, IN_FLIGHT)
                for writers in WRITERS:
                    figure(f"mutation{writers}", server, MUTATION, grassroots[:writers], writers)
                figure(f"mutation{IN_FLIGHT}{SHAPE}", shape, MUTATION, grassroots, IN_FLIGHT)
                time.sleep(1.0)  # what was still in flight when wrk stopped lands
            after = asyncio.run(initiatives(url))
            lag = projection_lag(server.base, token(NATIONAL, "admin"))
            store = store_floor(url, SECONDS)  # the servers idle, the database still up
        finally:
            server.stop()
            floor.stop()
            if shape is not None:
                shape.stop()
    finally:
        place.close()
    answered = sum(
        load.ok + load.warm_ok
        for key in runs
        if key.startswith("mutation") and not key.endswith(SHAPE)
        for load in runs[key]
    )
    loads = {
        key: sorted(every, key=lambda load: load.rate)[len(every) // 2]
        for key, every in runs.items()
    }
    report(loads, answered, before, after, lag, store)


def report(
    loads: dict[str, Load],
    answered: int,
    before: tuple[int, int],
    after: tuple[int, int],
    lag: str,
    store: float,
) -> None:
    floor = loads["floor"].rate
    print(
        f"\n{ROUNDS} round(s), {SECONDS:.0f} s per figure after {WARM_UP_S:.0f} s of warm-up; "
        f"{IN_FLIGHT} in flight unless said\n"
    )
    print("| figure | measured | p50 / p99 ms | % of floor | target |")
    print("| --- | ---: | ---: | ---: | --- |")

    def line(name: str, key: str, target: str = "", floor_rate: float = floor) -> None:
        load = loads.get(key)
        if load is None:  # left out (SERVED_ONLY)
            print(f"| {name} | n/a | | | {target} |")
            return
        share = f"{load.rate / floor_rate:.0%}" if floor_rate else ""
        verdict = ""
        if key in TARGETS:
            verdict = " (met)" if load.rate >= TARGETS[key][1] * floor_rate else " (NOT met)"
        print(
            f"| {name} | {load.rate:,.0f} req/s | {load.p50_ms:.1f} / {load.p99_ms:.1f} "
            f"| {share} | {target}{verdict} |"
        )
        if load.failed or load.socket_errors:
            print(
                f"|   ↳ {load.failed} refused, {load.socket_errors} socket errors: "
                f"{load.first_failure[:120]} | | | | |"
            )
        ceiling = loads.get(key + SHAPE)
        if ceiling is not None:
            print(
                f"|   ↳ ceiling: the same document answered from memory by a bare app "
                f"| {ceiling.rate:,.0f} req/s | {ceiling.p50_ms:.1f} / {ceiling.p99_ms:.1f} "
                f"| {ceiling.rate / floor_rate:.0%} | ours: {load.rate / ceiling.rate:.0%} "
                "of it |"
            )

    line("floor: bare litestar + strawberry `{ hello }`", "floor", "the floor")
    line("`{ version }`", "version", ">= 80%")
    line("grassroots officer's page", "page", ">= 50%")
    list1 = loads.get("list1")
    if list1 is not None:
        verdict = "met" if list1.p99_ms <= 50 else "NOT met"
        print(
            f"| province's campaign list ({CHILDREN} children), 1 in flight "
            f"| {list1.rate:,.0f} req/s | {list1.p50_ms:.1f} / {list1.p99_ms:.1f} "
            f"| | p99 <= 50 ms ({verdict}) |"
        )
    line(f"province's campaign list ({CHILDREN} children)", "list16", ">= 25%")
    for writers in WRITERS:
        target = ">= 40%, growing with writers" if writers == IN_FLIGHT else ""
        line(
            f"`registerInitiative`, {writers} unit(s), 1 in flight each",
            f"mutation{writers}",
            target,
        )
    print(f"| floor: the store's batched appends, 16 tenants | {store:,.0f} appends/s | | | |")
    if f"mutation{IN_FLIGHT}" in loads:
        mutation = loads[f"mutation{IN_FLIGHT}"].rate
        print(f"\nmutations at 16 units: {mutation / store:.1%} of the store's own append rate")
    logged, projected = after[0] - before[0], after[1] - before[1]
    missing_log, missing_model = max(0, answered - logged), max(0, answered - projected)
    verdict = "met" if missing_log == missing_model == 0 else "NOT met"
    print(
        f"answered mutations: {answered:,}; new InitiativeRegistered events {logged:,}, new "
        f"read-model rows {projected:,}; missing from the log {missing_log}, from the read "
        f"model {missing_model} (target 0: {verdict})"
    )
    print(f"projection lag after the load (target p99 <= 100 ms during it): {lag}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--floor-app":
        serve_floor(int(sys.argv[2]))
    elif len(sys.argv) > 3 and sys.argv[1] == "--shape-app":
        serve_shape(int(sys.argv[2]), sys.argv[3])
    else:
        main()
