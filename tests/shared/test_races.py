"""Rules that span units are never checked against stale state (issue 13, point 4).

An upper unit holds a quota and a board in its log; units below decide on read models of them
(as a registration decides on the ``campaigns`` row of the campaign it joins). The read models
here are kept by ``Projector``, which catches a log up when the pipeline waits for it: between
two waits they are as stale as a lagging runner's.

- Two units race for a quota of one place: a claim is an event of the quota's own stream, so
  the stream version lets one claim in; the other conflicts, waits for the upper unit's
  projections, decides again on the fresh row and gets the rule's error.
- A decision races a change of the board it read: its append is guarded on the board's
  version; the guard fails, the command waits for the upper unit's projections and decides
  again: refused if the board closed, accepted if it only changed its title.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared.auth import Principal
from shared.commands import Attempt, Commands, Pipeline
from shared.eventstore import EventStore, Guard, GuardFailed
from tests.shared.sample_domain import (
    Board,
    ClosedBoard,
    Entry,
    Quota,
    QuotaExhausted,
    build_contest_registry,
)

LIVENESS_S = 60

READ_MODELS = """
CREATE TABLE IF NOT EXISTS race_quotas (
    quota_id uuid PRIMARY KEY, tenant_id text NOT NULL, places integer NOT NULL,
    holders text[] NOT NULL, version integer NOT NULL);
CREATE TABLE IF NOT EXISTS race_boards (
    board_id uuid PRIMARY KEY, tenant_id text NOT NULL, open boolean NOT NULL,
    version integer NOT NULL);
GRANT SELECT ON race_quotas, race_boards TO thidua_app;
"""


class Projector:
    """The read models of this test domain, caught up on a log whenever the pipeline waits for
    it (reading and writing as the owner, as the runner's own role does)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.checkpoints: dict[str, int] = {}
        self.lock = asyncio.Lock()
        self.waits: list[tuple[str, int]] = []
        self.lagging = False  # a runner behind: waits pass their bound, nothing is applied

    async def wait_for(self, tenant_id: str, seq: int, timeout: float) -> bool:  # noqa: ASYNC109
        self.waits.append((tenant_id, seq))
        if self.lagging:
            return False
        async with self.lock, self.pool.acquire() as conn, conn.transaction():
            after = self.checkpoints.get(tenant_id, 0)
            rows = await conn.fetch(
                "SELECT seq, stream_id, stream_version, event_type, data FROM events "
                "WHERE tenant_id = $1 AND seq > $2 ORDER BY seq",
                tenant_id,
                after,
            )
            for row in rows:
                await self.apply(conn, tenant_id, row)
                self.checkpoints[tenant_id] = row["seq"]
        return True

    @staticmethod
    async def apply(conn: asyncpg.Connection, tenant_id: str, row: asyncpg.Record) -> None:
        stream, version, kind = row["stream_id"], row["stream_version"], row["event_type"]
        if kind == "QuotaSet":
            places = int(await conn.fetchval("SELECT ($1::jsonb->>'places')::int", row["data"]))
            await conn.execute(
                "INSERT INTO race_quotas VALUES ($1, $2, $3, '{}', $4)",
                stream,
                tenant_id,
                places,
                version,
            )
        elif kind == "QuotaClaimed":
            await conn.execute(
                "UPDATE race_quotas SET holders = holders || ($2::jsonb->>'unit'), version = $3 "
                "WHERE quota_id = $1",
                stream,
                row["data"],
                version,
            )
        elif kind in ("BoardOpened", "BoardRenamed", "BoardClosed"):
            await conn.execute(
                "INSERT INTO race_boards VALUES ($1, $2, true, $3) ON CONFLICT (board_id) DO "
                "UPDATE SET open = $4, version = $3",
                stream,
                tenant_id,
                version,
                kind != "BoardClosed",
            )


@pytest.fixture
async def projector(database_url: str) -> AsyncIterator[Projector]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        await pool.execute(READ_MODELS)
        yield Projector(pool)
    finally:
        await pool.close()


@pytest.fixture
def contest(runtime, projector) -> Commands:
    pipeline = Pipeline(
        runtime.pool, runtime.store, positions=projector, retries=3, check_cache=True
    )
    return pipeline.service(build_contest_registry())


def officer(tenant: str) -> Principal:
    return Principal(subject=f"can-bo@{tenant}", tenant=tenant, roles=frozenset({"officer"}))


async def create(contest: Commands, upper: str, aggregate) -> uuid.UUID:
    async def decide(attempt: Attempt) -> uuid.UUID:
        attempt.save(aggregate)
        return aggregate.id

    return await contest.run(officer(upper), "Create", decide)


def claim(quota_id: uuid.UUID, upper: str, ready: asyncio.Barrier | None = None):
    """A unit below claims a place: decided on the quota's read-model row, appended to the
    quota's stream in the upper unit's log."""

    async def decide(attempt: Attempt) -> int:
        row = await attempt.conn.fetchrow(
            "SELECT version, places, holders FROM race_quotas WHERE quota_id = $1", quota_id
        )
        quota = Quota.as_read(quota_id, row["version"], row["places"], row["holders"])
        if ready is not None and attempt.number == 1:
            await ready.wait()  # both have read the same version before either appends
        quota.claim(attempt.actor.tenant)
        attempt.save(quota, tenant_id=upper)
        return len(quota.holders)

    return decide


async def test_two_units_racing_for_a_quota_of_one_get_one_place_and_one_refusal(
    contest, projector, store: EventStore, tenant
):
    # Given an upper unit's quota of one place, and two units below it
    upper, first, second = tenant, f"{tenant}-cs1", f"{tenant}-cs2"
    quota_id = await create(contest, upper, Quota(places=1))
    ready = asyncio.Barrier(2)

    # When both claim it at the same moment, each having read the quota with its place free
    outcomes = await asyncio.wait_for(
        asyncio.gather(
            *(
                contest.run(
                    officer(unit), "ClaimPlace", claim(quota_id, upper, ready), tenant_id=upper
                )
                for unit in (first, second)
            ),
            return_exceptions=True,
        ),
        LIVENESS_S,
    )

    # Then exactly one holds the place, the other has the rule's error, nothing else is written
    assert sorted(type(o).__name__ for o in outcomes) == ["QuotaExhausted", "int"]
    assert any(isinstance(o, QuotaExhausted) for o in outcomes)
    log = await store.read_log(upper)
    assert [e.event_type for e in log] == ["QuotaSet", "QuotaClaimed"]
    winner = first if outcomes[0] == 1 else second
    assert log[1].data == {"unit": winner} and log[1].meta["actor_tenant"] == winner
    assert (await store.head(first)).seq == 0 and (await store.head(second)).seq == 0


def enter(board_id: uuid.UUID, upper: str, meanwhile=None):
    """A unit below writes an entry on the board, guarded on the board's version it read;
    ``meanwhile`` runs after its first read, before it appends (the race, made certain)."""

    async def decide(attempt: Attempt) -> uuid.UUID:
        row = await attempt.conn.fetchrow(
            "SELECT open, version FROM race_boards WHERE board_id = $1", board_id
        )
        attempt.guard(upper, board_id, row["version"])
        if meanwhile is not None and attempt.number == 1:
            await meanwhile()
        entry = Entry.submit(board_id, row["open"], "Đăng ký thi đua")
        attempt.save(entry)
        return entry.id

    return decide


async def change_board(contest: Commands, upper: str, board_id: uuid.UUID, change: str) -> None:
    async def decide(attempt: Attempt) -> None:
        board = await attempt.get(board_id)
        getattr(board, change)(*(("Bảng mới",) if change == "rename" else ()))
        attempt.save(board)

    await contest.run(officer(upper), "ChangeBoard", decide)


@pytest.mark.parametrize(
    ("change", "outcome"), [("close", "refused"), ("rename", "accepted")], ids=["close", "rename"]
)
async def test_a_decision_racing_a_change_of_what_it_read_is_decided_again_on_fresh_state(
    contest, projector, store: EventStore, tenant, change, outcome
):
    # Given an open board of an upper unit, and a unit below about to write on it
    upper, unit = tenant, f"{tenant}-cs"
    board_id = await create(contest, upper, Board(title="Bảng thi đua"))

    async def meanwhile() -> None:
        # the board changes after the unit read it, and the projections lag behind the change
        projector.lagging = True
        await change_board(contest, upper, board_id, change)
        projector.lagging = False

    # When the unit's entry is decided on the board as it read it
    running = contest.run(officer(unit), "Enter", enter(board_id, upper, meanwhile))
    if outcome == "refused":
        with pytest.raises(ClosedBoard):
            await asyncio.wait_for(running, LIVENESS_S)
    else:
        entry_id = await asyncio.wait_for(running, LIVENESS_S)

    # Then its guard failed, it waited for the upper unit's projections to pass the change,
    # and decided again on the fresh row: refused on a closed board, accepted on a renamed one
    assert projector.waits.count((upper, 2)) == 2  # the change's own, late; the retry's
    entries = await store.read_log(unit)
    if outcome == "refused":
        assert entries == []
    else:
        [entry] = entries
        assert entry.stream_id == entry_id and entry.event_type == "EntrySubmitted"
    assert [e.event_type for e in await store.read_log(upper)][-1] == {
        "close": "BoardClosed",
        "rename": "BoardRenamed",
    }[change]


async def test_a_guarded_append_and_an_append_to_the_guarded_log_never_wait_in_a_circle(
    contest, projector, store: EventStore, tenant
):
    # Given two units, each with a board, each writing on the other's board while changing its
    # own, many times at once (head locks taken in tenant order by every kind of append)
    a, b = f"{tenant}-a", f"{tenant}-b"
    boards = {u: await create(contest, u, Board(title=f"Bảng {u}")) for u in (a, b)}

    async def enter_other(unit: str, other: str) -> object:
        decide = enter(boards[other], other)
        return await contest.run(officer(unit), "Enter", decide)

    async def rename_own(unit: str) -> None:
        await change_board(contest, unit, boards[unit], "rename")

    # When they run together
    runs = [enter_other(a, b), enter_other(b, a), rename_own(a), rename_own(b)] * 3
    outcomes = await asyncio.wait_for(asyncio.gather(*runs, return_exceptions=True), LIVENESS_S)

    # Then every one finished: entries stored, or a conflict after the bounded retries
    for outcome in outcomes:
        assert not isinstance(outcome, Exception) or type(outcome).__name__ in (
            "GuardFailed",
            "ConcurrencyConflict",
        ), outcome
    assert (await store.head(a)).seq >= 2 and (await store.head(b)).seq >= 2


async def test_a_guard_that_fails_names_the_guarded_log_and_its_head_and_writes_nothing(
    contest, store: EventStore, tenant
):
    # Given an upper unit's board at version 2
    upper, unit = tenant, f"{tenant}-cs"
    board_id = await create(contest, upper, Board(title="Bảng"))
    await change_board(contest, upper, board_id, "rename")

    # When a unit appends guarded on version 1 of it
    entry = Entry.submit(board_id, True, "Đăng ký")
    with pytest.raises(GuardFailed) as failed:
        await contest.repository.save(unit, entry, guards=[Guard(upper, board_id, 1)])

    # Then the failure names the board's log and its head, and the unit's log is untouched
    assert failed.value.tenant_id == upper and failed.value.head == 2
    assert failed.value.code == "CONCURRENCY_CONFLICT"
    assert (await store.head(unit)).seq == 0


async def test_a_guard_waits_for_an_append_under_way_in_the_guarded_log_then_sees_it(
    contest, owner, store: EventStore, tenant
):
    # Given an upper unit's board, and a change to it appended in a transaction not yet committed
    upper, unit = tenant, f"{tenant}-cs"
    board_id = await create(contest, upper, Board(title="Bảng"))
    board = await contest.repository.get(upper, board_id)
    board.close()
    async with owner.transaction():
        await contest.repository.save(upper, board, connection=owner)

        # When a unit appends guarded on the version before the change
        entry = Entry.submit(board_id, True, "Đăng ký")
        guarded = asyncio.create_task(
            contest.repository.save(unit, entry, guards=[Guard(upper, board_id, 1)])
        )

        # Then it waits on the guarded log's head while the change is under way
        await asyncio.wait_for(waiting_on_a_lock(owner, guarded), LIVENESS_S)

    # and, the change committed, it sees it: its guard fails and nothing of it is written
    with pytest.raises(GuardFailed):
        await asyncio.wait_for(guarded, LIVENESS_S)
    assert (await store.head(unit)).seq == 0


async def waiting_on_a_lock(owner: asyncpg.Connection, task: asyncio.Task) -> None:
    """Until a guarded append waits for a row lock (the task must not have finished first)."""
    while not task.done():
        # Activity is read once per transaction unless its snapshot is dropped, and the
        # owner's transaction stays open here.
        await owner.execute("SELECT pg_stat_clear_snapshot()")
        waiting = await owner.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE '%thidua_append_guarded%'"
        )
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the guarded append did not wait: {task.result()!r}")
