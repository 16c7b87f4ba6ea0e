"""The bulk pledge, served (issue 4's target, issue 14's point 2): `thidua serve` driven over
HTTP as a grassroots officer's screen sends it, beside the store's own append measured in the
same run.

    .venv/bin/python tests/perf/bench_pledges_served.py [ROWS]

Run by hand only, never in CI. Setup (not timed): a fresh database (an embedded PostgreSQL in a
temporary THIDUA_DATA_DIR, or a new database on THIDUA_TEST_DATABASE_URL's server), ``thidua
demo``, ``thidua serve`` as a subprocess with its default settings; ROWS people (default
100,000) registered in CĐ Công ty TNHH Giày Ninh Bình by ``POST /people`` (a CSV), and the
projections left to show them.

- **ours**: ``POST /campaigns/{id}/pledges``, a CSV of ROWS pledges (name, staff number,
  title) under the province's launched campaign, timed from the request until its rows are
  readable (the read model holds all of them: the answer itself waits for them 5 s at most);
  rows per second.
- **floor**: the store's batched append of the same number of PledgeRegistered events (each
  name sealed with a key, as ours writes them; made in advance) into another unit's log, 2,000
  per append in one transaction, from this process on the same database, with the server
  paused (its runner would project them meanwhile); events per second. Measured three times
  (once before ours, twice after, each into a log of its own), the median is the figure.

Target (issue 4): ours at least 50% of the floor. Figures are in the README ("Campaigns at the
size of a province").
"""

from __future__ import annotations

import asyncio
import signal
import statistics
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from shared.db import create_pool
from shared.eventstore import EventStore
from shared.settings import Settings
from tests.perf.bench_awards import served
from tests.perf.pledge_floor import append_rate, sealed_pledges

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
UNIT, PROVINCE, FLOOR_UNIT = "nb-cs-giay-nb", "ldld-ninh-binh", "nb-cs-trang-an"


def post(client: httpx.Client, who: str, path: str, content: bytes, name: str) -> dict:
    response = client.post(
        path, files={"file": (name, content)}, headers={"Authorization": f"Bearer {who}"}
    )
    if response.status_code != 200:
        raise SystemExit(f"{path}: {response.status_code} {response.text[:300]}")
    return response.json()


async def readable(url: str, sql: str, *args: object) -> None:
    """Until the read model holds what was written: ``sql`` counts it, up to ROWS."""
    conn = await asyncpg.connect(url)
    try:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            if await conn.fetchval(sql, *args) >= ROWS:
                return
            await asyncio.sleep(0.02)
        raise SystemExit(f"not readable in 15 minutes: {sql}")
    finally:
        await conn.close()


PEOPLE = "SELECT count(*) FROM people WHERE tenant_id = $1 AND staff_number LIKE 'P%'"
PLEDGES = "SELECT count(*) FROM campaign_pledges WHERE tenant_id = $1 AND campaign_id = $2"


async def campaign_id(url: str) -> uuid.UUID:
    conn = await asyncpg.connect(url)
    try:
        found = await conn.fetchval(
            "SELECT campaign_id FROM campaigns WHERE tenant_id = $1 AND status = 'launched' "
            "ORDER BY launched_on DESC LIMIT 1",
            PROVINCE,
        )
    finally:
        await conn.close()
    if found is None:
        raise SystemExit("the demo has no launched campaign of the province")
    return found


async def floor(url: str, campaign: uuid.UUID, unit: str = FLOOR_UNIT) -> float:
    """The store's batched append of ROWS sealed pledge events into ``unit``'s log: events per
    second."""
    events = sealed_pledges(
        campaign, PROVINCE, unit, [(f"Công nhân {n:06}", f"P{n:06}") for n in range(ROWS)]
    )
    pool = await create_pool(url, Settings(database_url=url, pool_min_size=1, pool_max_size=2))
    try:
        async with pool.acquire() as conn:
            return await append_rate(EventStore(pool), conn, unit, events)
    finally:
        await pool.close()


def main() -> None:
    place = served.Place()
    server = None
    try:
        url = place.open()
        place.thidua("demo")
        server = served.start_thidua(place)
        client = httpx.Client(base_url=server.base, timeout=900)
        officer = served.token(UNIT)
        people = ["Họ và tên,Giới tính,Số hiệu"] + [
            f"Công nhân {n:06},{'nữ' if n % 3 else 'nam'},P{n:06}" for n in range(ROWS)
        ]
        got = post(client, officer, "/people", "\n".join(people).encode(), "nguoi.csv")
        if got.get("written") != ROWS:
            raise SystemExit(f"people: {got}")
        asyncio.run(readable(url, PEOPLE, UNIT))
        campaign = asyncio.run(campaign_id(url))
        # The server paused while the floor is measured: its runner would project the floor's
        # events meanwhile, on the same two cores, and slow the floor down.
        server.proc.send_signal(signal.SIGSTOP)
        try:
            floor_rate = asyncio.run(floor(url, campaign))
        finally:
            server.proc.send_signal(signal.SIGCONT)
        asyncio.run(readable(url, PLEDGES, FLOOR_UNIT, campaign))  # projected before ours starts

        pledges = ["Họ và tên,Mã số,Danh hiệu"] + [
            f"Công nhân {n:06},P{n:06},lao_dong_tien_tien" for n in range(ROWS)
        ]
        body = "\n".join(pledges).encode()
        started = time.perf_counter()
        got = post(client, officer, f"/campaigns/{campaign}/pledges", body, "giao-uoc.csv")
        answered = time.perf_counter() - started
        asyncio.run(readable(url, PLEDGES, UNIT, campaign))
        seconds = time.perf_counter() - started
        if got.get("written") != ROWS:
            raise SystemExit(f"pledges: {got}")
        ours = ROWS / seconds
        # Twice more after ours, the server paused again, each into a log of its own (nothing
        # to project for them afterwards): one floor moved by a sixth from run to run, so the
        # median of the three is the figure.
        server.proc.send_signal(signal.SIGSTOP)
        try:
            floors = [floor_rate] + [
                asyncio.run(floor(url, campaign, f"bench-pledge-floor-{k}")) for k in (2, 3)
            ]
        finally:
            server.proc.send_signal(signal.SIGCONT)
        print("floors: " + ", ".join(f"{f:,.0f} events/s" for f in floors) + " (median)")
        floor_rate = statistics.median(floors)
        share = ours / floor_rate
        print(
            f"\nBulk pledge of {ROWS:,} rows through HTTP (a CSV upload), pledgers registered: "
            f"answered in {answered:.1f} s, readable in {seconds:.1f} s: {ours:,.0f} rows/s; "
            f"the store's batched append of the same events {floor_rate:,.0f} events/s: "
            f"{share:.0%} (target ≥ 50%: {'met' if share >= 0.5 else 'NOT met'})"
        )
    finally:
        if server is not None:
            server.stop()
        place.close()


if __name__ == "__main__":
    main()
