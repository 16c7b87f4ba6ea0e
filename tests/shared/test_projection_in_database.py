"""Events a projection leaves to the database (shared/projections.py ``InDatabase``): the runner
reads of them only one row a tenant's batch, standing for them all, yet each batch still counts
every event, ends where its last event is (read or left), and the runner's lag still has a
sample for each."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from shared.aggregates import Repository
from shared.db import create_projector_pool
from shared.projections import (
    InDatabase,
    Projection,
    ProjectionRunner,
    Target,
    ensure_live,
    run_batches,
)
from tests.shared.sample_domain import Notebook, build_registry


@pytest.fixture
async def projector_pool(runtime):
    pool = await create_projector_pool(runtime.url, runtime.settings)
    yield pool
    await pool.close()


def leaving_openings(
    read: list[int], left: list[tuple[str, int, int]], seconds: tuple[str, ...] = ()
) -> Projection:
    """Notebooks whose openings (each its stream's first event), and ``seconds`` at their
    stream's second version, are left to the database: the spans it is given noted in
    ``left``, the events applied here in ``read``."""

    async def apply(conn, registry, events) -> None:
        read.extend(e.seq for e in events)

    async def in_database(conn, tenants, firsts, lasts) -> None:
        left.extend(zip(tenants, firsts, lasts, strict=True))

    async def nothing(conn, stored, event) -> None:
        return None

    return Projection(
        f"test_left_{uuid.uuid4().hex[:8]}",
        1,
        build_registry(),
        handlers={"NotebookOpened": nothing, "NoteWritten": nothing},
        tables=(),
        apply=apply,
        in_database=InDatabase(("NotebookOpened",), in_database, seconds),
    )


async def three_openings_and_a_note(runtime) -> str:
    """A new tenant's log: three notebooks opened (seqs 1–3), then a note in the third (4)."""
    tenant = f"left-{uuid.uuid4().hex[:8]}"
    repository = Repository(runtime.store, build_registry())
    for notes in (0, 0, 1):
        notebook = Notebook(title="Sổ tay", owner=uuid.uuid4(), opened_on=date(2026, 1, 1))
        for i in range(notes):
            notebook.write(f"Ghi chép {i}")
        await repository.save(tenant, notebook)
    return tenant


async def test_a_batch_counts_the_events_it_left_to_the_database_and_ends_at_its_last(
    runtime, projector_pool
):
    # Given a tenant's log: three notebooks opened, then a note in the third (seqs 1–4)
    tenant = await three_openings_and_a_note(runtime)
    read: list[int] = []
    left: list[tuple[str, int, int]] = []
    projection = leaving_openings(read, left)
    async with projector_pool.acquire() as conn:
        await ensure_live(conn, [projection])
    runner = ProjectionRunner(projector_pool, None, [projection], batch_size=2)
    # When the runner catches up, two events a batch
    applied = 0
    while got := await runner.run_once([tenant]):
        applied += got
    # Then the first batch (two openings, both left) was given as one span and counted as two;
    # the second, an opening left and the note read here
    assert left == [(tenant, 1, 2), (tenant, 3, 3)]
    assert read == [4]
    assert applied == 4
    # and the checkpoint is at the head, with a lag sample for every event
    checkpoint = await projector_pool.fetchval(
        "SELECT last_seq FROM projection_checkpoints WHERE name = $1 AND tenant_id = $2",
        projection.name,
        tenant,
    )
    assert checkpoint == 4
    assert len(runner.lags[projection.name].samples) == 4


async def test_an_event_at_its_streams_second_version_may_be_left_to_the_database_too(
    runtime, projector_pool
):
    # Given a notebook opened with two notes (seqs 1–3), then another opened (4)
    tenant = f"left-{uuid.uuid4().hex[:8]}"
    repository = Repository(runtime.store, build_registry())
    for notes in (2, 0):
        notebook = Notebook(title="Sổ tay", owner=uuid.uuid4(), opened_on=date(2026, 1, 1))
        for i in range(notes):
            notebook.write(f"Ghi chép {i}")
        await repository.save(tenant, notebook)
    read: list[int] = []
    left: list[tuple[str, int, int]] = []
    projection = leaving_openings(read, left, seconds=("NoteWritten",))
    async with projector_pool.acquire() as conn:
        await ensure_live(conn, [projection])
    # When the runner catches up
    runner = ProjectionRunner(projector_pool, None, [projection])
    assert await runner.run_once([tenant]) == 4
    # Then the first note (its stream's second event) was left with the openings, the second
    # read here
    assert left == [(tenant, 1, 4)]
    assert read == [3]


class Recording:
    """A connection (a real one) whose fetched rows are noted: what the runner read."""

    def __init__(self, conn) -> None:
        self.conn, self.fetched = conn, []

    def __getattr__(self, name):
        return getattr(self.conn, name)

    async def fetch(self, *args, **kwargs):
        rows = await self.conn.fetch(*args, **kwargs)
        self.fetched.append(rows)
        return rows


async def test_the_events_left_to_the_database_are_read_as_one_row_a_batch(runtime, projector_pool):
    # Given a tenant's log: three notebooks opened (left to the database), then a note
    tenant = await three_openings_and_a_note(runtime)
    projection = leaving_openings([], [])
    async with projector_pool.acquire() as conn:
        await ensure_live(conn, [projection])
        await conn.execute(
            "INSERT INTO projection_checkpoints (name, version, tenant_id) VALUES ($1, 1, $2)",
            projection.name,
            tenant,
        )
        # When a server's runner reads its batch (its lag wanted)
        recording = Recording(conn)
        [batch] = await run_batches(recording, Target(projection, 1, "live"), [tenant], 500)
    # Then it read two rows: the note, and one standing for the three openings, which alone
    # carries their recorded times
    rows = recording.fetched[0]
    assert [(r["seq"], r["in_database"]) for r in rows] == [(3, True), (4, False)]
    assert [len(r["in_database_recorded"] or []) for r in rows] == [3, 0]
    assert (batch.applied, batch.last_seq, len(batch.recorded_at)) == (4, 4, 4)
