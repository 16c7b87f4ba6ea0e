"""A bulk pledge leaves the event loop free: while its rows are checked and its events made, the
server answers everyone else (issue 12, finding 1: 100,000 rows held ``/health`` for 662 ms)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator

from services.campaign.bulk import PledgeRow, register_pledges

from .conftest import officer, seed_003
from .test_pledges import pledged


class Watched(list[PledgeRow]):
    """Rows that call ``first`` as the first of them is taken up and ``last`` once all have
    been: where, in the bulk pledge, its row checking starts and ends."""

    def __init__(self, rows: list[PledgeRow], first: Callable[[], None], last: Callable[[], None]):
        super().__init__(rows)
        self.first, self.last = first, last

    def __iter__(self) -> Iterator[PledgeRow]:
        self.first()
        yield from super().__iter__()
        self.last()


async def test_health_answers_while_a_bulk_pledge_checks_its_rows(client, campaigns, tree, owner):
    # given a launched campaign and 20,000 good rows of a unit below
    campaign_id = await seed_003(campaigns, tree.prov1)
    loop = asyncio.get_running_loop()
    answered = threading.Event()
    answered_in_time: list[bool] = []
    health: list[asyncio.Task[None]] = []

    async def ask_health() -> None:
        response = await client.get("/health")
        assert response.json() == {"status": "ok"}
        answered.set()

    def ask_once_checking_starts() -> None:
        if not health:  # the rows are read once only; a second reading would ask again
            loop.call_soon_threadsafe(lambda: health.append(loop.create_task(ask_health())))

    rows = Watched(
        [
            PledgeRow(row=n, subject="", name=f"Phạm Văn {n}", title="Lao động tiên tiến")
            for n in range(1, 20_001)
        ],
        first=ask_once_checking_starts,
        last=lambda: answered_in_time.append(answered.is_set()),
    )

    # when the unit pledges them in one call, and /health is asked as the checking starts
    result = await register_pledges(
        campaigns, officer(tree.upper1), campaign_id, rows, max_rows=20_000
    )

    # then /health answered before the last row was checked, and the pledge is whole
    assert answered_in_time == [True]
    assert (result.written, result.error_count) == (20_000, 0)
    assert await pledged(owner, tree.upper1) == 20_000
    await asyncio.gather(*health)
