"""The command pipeline (shared/commands.py): a command decides on one scoped connection, appends
through the group commit, waits for the projections and answers; conflicts are decided again a
bounded number of times; an idempotency key makes a repeat answer as the first did.

The ``asyncio.wait_for`` bounds are liveness bounds (a hang fails), not timing assertions.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date
from types import SimpleNamespace

import pytest

from services.gateway.runtime import Runtime
from shared.auth import Principal
from shared.commands import Attempt, Commands, Pipeline, idempotency_key_of
from shared.errors import ConcurrencyConflict, IdempotencyKeyReused
from shared.eventstore import EventStore
from shared.settings import Settings
from tests.shared.sample_domain import Notebook, SameTitle, build_registry

LIVENESS_S = 60
POOL = 4


class Positions:
    """Projections that are always caught up, and remember what they were asked to wait for;
    ``hold`` keeps the next wait pending until ``release``."""

    def __init__(self) -> None:
        self.waits: list[tuple[str, int]] = []
        self.asked = asyncio.Event()
        self.released: asyncio.Event | None = None

    def hold(self) -> None:
        self.released = asyncio.Event()

    def release(self) -> None:
        assert self.released is not None
        self.released.set()

    async def wait_for(self, tenant_id: str, seq: int, timeout: float) -> bool:  # noqa: ASYNC109
        self.waits.append((tenant_id, seq))
        self.asked.set()
        if self.released is not None:
            await self.released.wait()
        return True


@pytest.fixture
def positions() -> Positions:
    return Positions()


def pipeline_on(runtime: Runtime, positions: Positions) -> Pipeline:
    return Pipeline(runtime.pool, runtime.store, positions=positions, retries=3, check_cache=True)


@pytest.fixture
def notebooks(runtime: Runtime, positions: Positions) -> Commands:
    return pipeline_on(runtime, positions).service(build_registry())


def officer(tenant: str) -> Principal:
    return Principal(subject=f"can-bo@{tenant}", tenant=tenant, roles=frozenset({"officer"}))


def open_notebook(title: str = "Sổ tay thi đua"):
    async def decide(attempt: Attempt) -> uuid.UUID:
        notebook = Notebook(title=title, owner=uuid.uuid4(), opened_on=date(2025, 1, 15))
        attempt.save(notebook)
        return notebook.id

    return decide


def write(notebook_id: uuid.UUID, text: str):
    async def decide(attempt: Attempt) -> int:
        notebook = await attempt.get(notebook_id)
        notebook.write(text)
        attempt.save(notebook)
        return len(notebook.notes)

    return decide


async def head(store: EventStore, tenant: str) -> int:
    return (await store.head(tenant)).seq


async def test_a_decided_command_appends_and_answers_once_the_projections_show_it(
    notebooks, positions, store, tenant
):
    # Given projections that have not yet caught up
    positions.hold()

    # When an officer opens a notebook
    running = asyncio.create_task(notebooks.run(officer(tenant), "OpenNotebook", open_notebook()))
    await asyncio.wait_for(positions.asked.wait(), LIVENESS_S)

    # Then the event is in the log, but no answer is given until the projections pass it
    assert await head(store, tenant) == 1
    assert positions.waits == [(tenant, 1)]
    assert not running.done()
    positions.release()
    notebook_id = await asyncio.wait_for(running, LIVENESS_S)
    [stored] = await store.read_log(tenant)
    assert stored.stream_id == notebook_id and stored.event_type == "NotebookOpened"
    assert stored.meta["command"] == "OpenNotebook" and stored.meta["actor_tenant"] == tenant


async def test_a_rule_that_says_no_writes_nothing(notebooks, positions, store, tenant):
    # Given a notebook
    notebook_id = await notebooks.run(officer(tenant), "OpenNotebook", open_notebook("Sổ A"))

    # When it is renamed to the title it has
    async def rename_to_same(attempt: Attempt) -> None:
        notebook = await attempt.get(notebook_id)
        notebook.rename("Sổ A", reason="nhầm")
        attempt.save(notebook)

    # Then the rule's error comes back, and nothing more is written or waited for
    with pytest.raises(SameTitle):
        await notebooks.run(officer(tenant), "RenameNotebook", rename_to_same)
    assert await head(store, tenant) == 1
    assert positions.waits == [(tenant, 1)]


async def test_a_conflict_is_decided_again_and_succeeds(notebooks, positions, store, tenant):
    # Given a notebook, and a command whose first decision another command overtakes
    actor = officer(tenant)
    notebook_id = await notebooks.run(actor, "OpenNotebook", open_notebook())
    decisions = 0

    async def write_mine(attempt: Attempt) -> int:
        nonlocal decisions
        decisions += 1
        notebook = await attempt.get(notebook_id)
        if attempt.number == 1:
            await notebooks.run(actor, "WriteNote", write(notebook_id, "người khác ghi trước"))
        notebook.write("ghi chú của tôi")
        attempt.save(notebook)
        return len(notebook.notes)

    # When it runs
    count = await notebooks.run(actor, "WriteNote", write_mine)

    # Then it decided again on what the other wrote, and both notes are kept, in order; before
    # deciding again it waited for the projections of the log that moved
    assert decisions == 2 and count == 2
    notebook = await notebooks.repository.get(tenant, notebook_id)
    assert notebook.notes == ["người khác ghi trước", "ghi chú của tôi"]
    assert (tenant, 2) in positions.waits


async def test_retries_are_bounded(notebooks, store, tenant):
    # Given a command that someone else always overtakes
    actor = officer(tenant)
    notebook_id = await notebooks.run(actor, "OpenNotebook", open_notebook())
    decisions = 0

    async def always_stale(attempt: Attempt) -> None:
        nonlocal decisions
        decisions += 1
        notebook = await attempt.get(notebook_id)
        await notebooks.run(actor, "WriteNote", write(notebook_id, f"chen ngang {decisions}"))
        notebook.write("không bao giờ kịp")
        attempt.save(notebook)

    # When it runs, then it gives up with the conflict after 1 + retries decisions
    with pytest.raises(ConcurrencyConflict):
        await notebooks.run(actor, "WriteNote", always_stale)
    assert decisions == 1 + notebooks.pipeline.retries
    notebook = await notebooks.repository.get(tenant, notebook_id)
    assert "không bao giờ kịp" not in notebook.notes


async def test_a_repeated_idempotency_key_answers_as_the_first_and_writes_nothing(
    notebooks, store, tenant
):
    # Given a notebook opened with a key
    actor = officer(tenant)
    given = {"title": "Sổ có khóa"}
    first = await notebooks.run(
        actor, "OpenNotebook", open_notebook(), idempotency_key="mo-so-1", input=given
    )

    # When the same request comes again with the same key (the client did not hear the answer)
    again = await notebooks.run(
        actor, "OpenNotebook", open_notebook(), idempotency_key="mo-so-1", input=given
    )

    # Then it answers the first notebook's id, and the log holds one event
    assert again == first
    assert await head(store, tenant) == 1
    assert notebooks.pipeline.stats.replayed == 1


async def test_a_keyed_answer_is_stored_once_in_the_first_event_of_its_append(
    notebooks, store, tenant
):
    # Given a command that appends many events and answers a long list (a bulk command's ids)
    actor = officer(tenant)

    async def open_many(attempt: Attempt) -> list[str]:
        books = [
            Notebook(title=f"Sổ {n}", owner=uuid.uuid4(), opened_on=date(2025, 1, 15))
            for n in range(300)
        ]
        attempt.save(*books)
        return [str(b.id) + "-" + "x" * 600 for b in books]  # about 190 KB in all

    # When it runs under a key
    first = await notebooks.run(
        actor, "OpenNotebooks", open_many, idempotency_key="nhieu-so", input={"n": 300}
    )

    # Then the answer is in the first event's meta only (in every event, the append would hold
    # it 300 times: 57 MB), and a repeat still reads it
    log = await store.read_log(tenant)
    assert [("answer" in e.meta) for e in log] == [True] + [False] * 299
    assert all(e.meta["idempotency_key"] == "nhieu-so" for e in log)
    again = await notebooks.run(
        actor, "OpenNotebooks", open_many, idempotency_key="nhieu-so", input={"n": 300}
    )
    assert again == first and await head(store, tenant) == 300


async def test_a_key_reused_with_other_input_is_refused_and_writes_nothing(
    notebooks, store, tenant
):
    actor = officer(tenant)
    await notebooks.run(
        actor, "OpenNotebook", open_notebook(), idempotency_key="k", input={"title": "A"}
    )
    with pytest.raises(IdempotencyKeyReused):
        await notebooks.run(
            actor, "OpenNotebook", open_notebook("B"), idempotency_key="k", input={"title": "B"}
        )
    assert await head(store, tenant) == 1


async def test_a_key_another_caller_used_is_not_theirs_to_replay(notebooks, store, tenant):
    # Given a key used by one officer of the unit
    await notebooks.run(
        officer(tenant), "OpenNotebook", open_notebook(), idempotency_key="k", input={"t": 1}
    )
    someone_else = Principal(subject="nguoi-khac", tenant=tenant, roles=frozenset({"officer"}))

    # When another caller sends the same key and input, then it is refused, not answered
    with pytest.raises(IdempotencyKeyReused):
        await notebooks.run(
            someone_else, "OpenNotebook", open_notebook(), idempotency_key="k", input={"t": 1}
        )


async def test_two_repeats_at_the_same_moment_store_one_append_and_answer_alike(
    notebooks, store, tenant
):
    # When the same keyed request arrives twice at once (both miss the key before deciding)
    actor = officer(tenant)
    answers = await asyncio.gather(
        *(
            notebooks.run(
                actor, "OpenNotebook", open_notebook(), idempotency_key="cung-luc", input={}
            )
            for _ in range(2)
        )
    )

    # Then one append is stored and both answer the id it made
    assert answers[0] == answers[1]
    [stored] = await store.read_log(tenant)
    assert stored.stream_id == answers[0]


async def test_a_command_in_one_transaction_appends_to_several_logs_and_projects_inline(
    notebooks, store, tenant
):
    # Given two units' logs a system command writes at once, with an inline projection
    other = f"{tenant}-b"
    projected: list[tuple[str, int, str]] = []

    async def decide(attempt: Attempt) -> str:
        for unit in (other, tenant):
            notebook = Notebook(title=f"Sổ {unit}", owner=uuid.uuid4(), opened_on=date(2025, 1, 1))
            attempt.save(notebook, tenant_id=unit)
        return "ok"

    async def project(conn, events) -> None:
        assert conn.is_in_transaction()
        projected.extend((e.tenant_id, e.seq, e.event_type) for e in events)

    # When it runs in one transaction
    answer = await notebooks.run_in_transaction(
        None, "OpenBoth", decide, tenant_id=tenant, project=project, lock=0x7465_7374
    )

    # Then both logs hold their event, projected in tenant order in the same transaction
    assert answer == "ok"
    assert projected == [(tenant, 1, "NotebookOpened"), (other, 1, "NotebookOpened")]
    assert await head(store, tenant) == 1 and await head(store, other) == 1


async def test_a_failure_after_the_appends_of_a_transaction_writes_nothing(
    notebooks, store, tenant
):
    other = f"{tenant}-b"

    async def decide(attempt: Attempt) -> None:
        for unit in (tenant, other):
            notebook = Notebook(title="Sổ", owner=uuid.uuid4(), opened_on=date(2025, 1, 1))
            attempt.save(notebook, tenant_id=unit)

    async def project(conn, events) -> None:
        raise SameTitle("the projection refuses")

    with pytest.raises(SameTitle):
        await notebooks.run_in_transaction(
            None, "OpenBoth", decide, tenant_id=tenant, project=project
        )
    assert await head(store, tenant) == 0 and await head(store, other) == 0


async def test_a_repeated_key_in_a_transaction_answers_through_respond_again(
    notebooks, store, tenant
):
    # Given a transaction command whose answer is read back after its projection
    async def decide(attempt: Attempt) -> str:
        attempt.save(Notebook(title="Sổ", owner=uuid.uuid4(), opened_on=date(2025, 1, 1)))
        return tenant

    async def respond(conn, unit: str) -> dict:
        return {"unit": unit, "head": await conn.fetchval("SELECT 1")}

    async def run() -> dict:
        return await notebooks.run_in_transaction(
            None,
            "Open",
            decide,
            tenant_id=tenant,
            respond=respond,
            idempotency_key="giao-dich",
            input={"unit": tenant},
        )

    # When it is sent twice with one key
    first, again = await run(), await run()

    # Then the repeat answers alike and writes nothing
    assert first == again == {"unit": tenant, "head": 1}
    assert await head(store, tenant) == 1


@pytest.fixture
async def small(settings: Settings) -> AsyncIterator[Runtime]:
    """A runtime with a pool of POOL connections (a checkout bound only a hang exceeds)."""
    changes = {"pool_min_size": 1, "pool_max_size": POOL, "pool_acquire_timeout_s": LIVENESS_S}
    runtime = await Runtime.start(settings.model_copy(update=changes))
    try:
        yield runtime
    finally:
        await runtime.close()


async def test_four_times_the_pool_of_concurrent_commands_all_finish(small, positions, tenant):
    # Given a pipeline on a pool of POOL connections, and a notebook in each of 4 × POOL units
    commands = pipeline_on(small, positions).service(build_registry())
    units = [f"{tenant}-{i}" for i in range(4 * POOL)]
    ids = await asyncio.gather(
        *(commands.run(officer(u), "OpenNotebook", open_notebook()) for u in units)
    )

    # When every unit writes two notes at once, one of them twice over the same notebook
    runs = [
        commands.run(officer(u), "WriteNote", write(i, f"ghi {n}"))
        for u, i in zip(units, ids, strict=True)
        for n in range(2)
    ]
    counts = await asyncio.wait_for(asyncio.gather(*runs), LIVENESS_S)

    # Then all of them finished, each notebook holding both notes
    assert sorted(counts) == sorted([1, 2] * len(units))
    for unit, notebook_id in zip(units, ids, strict=True):
        notebook = await commands.repository.get(unit, notebook_id)
        assert sorted(notebook.notes) == ["ghi 0", "ghi 1"]


async def test_a_transaction_whose_guard_fails_is_decided_again_in_a_new_one(
    notebooks, store, tenant
):
    # Given another unit's notebook a system command reads, and which changes once it has
    other = f"{tenant}-b"
    read_id = await notebooks.run(officer(other), "OpenNotebook", open_notebook())
    decisions: list[int] = []

    async def decide(attempt: Attempt) -> int:
        read = await notebooks.repository.get(other, read_id)  # as the other unit reads it
        decisions.append(read.version)
        attempt.guard(other, read_id, read.version)
        if attempt.number == 1:
            await notebooks.run(officer(other), "WriteNote", write(read_id, "đổi"))
        attempt.save(Notebook(title="Sổ", owner=uuid.uuid4(), opened_on=date(2025, 1, 1)))
        return attempt.number

    # When it runs in one transaction
    number = await notebooks.run_in_transaction(None, "Copy", decide, tenant_id=tenant)

    # Then the first decision's append was refused by its guard, and the second one, on the
    # version after the change, was stored
    assert number == 2 and decisions == [1, 2]
    assert await head(store, tenant) == 1


async def test_the_runtime_holds_one_pipeline_that_waits_on_its_projections(runtime, tenant):
    # Given the running Thi đua's one pipeline, waiting on its live projections
    pipeline = runtime.pipeline
    assert runtime.pipeline is pipeline and pipeline.positions is runtime.projections
    late = pipeline.stats.late

    # When a command runs through it
    commands = pipeline.service(build_registry())
    notebook_id = await commands.run(officer(tenant), "OpenNotebook", open_notebook())

    # Then it answered once the projections had passed its event, not past the bound
    assert pipeline.stats.late == late
    assert await runtime.projections.wait_for(tenant, 1, 0)
    assert (await commands.repository.get(tenant, notebook_id)).title == "Sổ tay thi đua"


def test_a_mutation_runs_under_its_inputs_key_else_the_requests_header():
    request = SimpleNamespace(context={"idempotency_key": "tu-tieu-de"})
    assert idempotency_key_of(request, "tu-truong-nhap") == "tu-truong-nhap"
    assert idempotency_key_of(request) == "tu-tieu-de"
    assert idempotency_key_of(SimpleNamespace(context={})) is None
