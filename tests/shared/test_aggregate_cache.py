"""The aggregate cache (shared/aggregates.py ``AggregateCache``): a command reads its aggregate
as the last command left it, brought up to date from the log, and never a state the log does
not hold: not a refused command's, not a rolled-back one's, not one out of the caller's reach."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.gateway.runtime import Runtime
from shared.aggregates import AggregateCache
from shared.auth import Principal
from shared.commands import Attempt, Commands, Pipeline
from shared.errors import NotFound
from tests.shared.sample_domain import Notebook, SameTitle, build_registry


class Caught:
    async def wait_for(self, tenant_id: str, seq: int, timeout: float) -> bool:  # noqa: ASYNC109
        return True


def pipeline(runtime: Runtime, *, check: bool = True) -> Pipeline:
    return Pipeline(runtime.pool, runtime.store, positions=Caught(), check_cache=check)


@pytest.fixture
def line(runtime: Runtime) -> Pipeline:
    return pipeline(runtime)


@pytest.fixture
def notebooks(line: Pipeline) -> Commands:
    return line.service(build_registry())


def officer(tenant: str) -> Principal:
    return Principal(subject=f"can-bo@{tenant}", tenant=tenant, roles=frozenset({"officer"}))


async def opened(notebooks: Commands, tenant: str) -> uuid.UUID:
    async def decide(attempt: Attempt) -> uuid.UUID:
        notebook = Notebook(title="Sổ tay", owner=uuid.uuid4(), opened_on=date(2025, 1, 15))
        attempt.save(notebook)
        return notebook.id

    return await notebooks.run(officer(tenant), "OpenNotebook", decide)


def write(notebook_id: uuid.UUID, text: str, *, then_refuse: bool = False):
    async def decide(attempt: Attempt) -> list[str]:
        notebook = await attempt.get(notebook_id)
        notebook.write(text)
        if then_refuse:  # a rule found wrong after the event was made
            raise SameTitle(notebook.title)
        attempt.save(notebook)
        return list(notebook.notes)

    return decide


async def notes(notebooks: Commands, tenant: str, notebook_id: uuid.UUID) -> list[str]:
    async def decide(attempt: Attempt) -> list[str]:
        return list((await attempt.get(notebook_id)).notes)

    return await notebooks.run(officer(tenant), "ReadNotes", decide)


async def test_the_next_command_takes_the_aggregate_from_the_cache(line, notebooks, tenant):
    # Given a notebook opened and written in
    notebook_id = await opened(notebooks, tenant)
    assert await notebooks.run(officer(tenant), "Write", write(notebook_id, "một")) == ["một"]
    hits = line.cache.hits

    # When the next command writes in it
    answer = await notebooks.run(officer(tenant), "Write", write(notebook_id, "hai"))

    # Then it worked on the cached notebook (checked against the log's fold) and saved it
    assert answer == ["một", "hai"]
    assert line.cache.hits == hits + 1
    assert await notes(notebooks, tenant, notebook_id) == ["một", "hai"]


async def test_what_another_process_wrote_since_is_applied_to_the_cached_copy(
    runtime, line, notebooks, tenant
):
    # Given a notebook in this process's cache
    notebook_id = await opened(notebooks, tenant)
    await notebooks.run(officer(tenant), "Write", write(notebook_id, "một"))

    # When another process (its own pipeline and cache) writes in it
    elsewhere = pipeline(runtime).service(build_registry())
    await elsewhere.run(officer(tenant), "Write", write(notebook_id, "từ nơi khác"))

    # Then this process's next command sees that note too, from the cache brought up to date
    hits = line.cache.hits
    answer = await notebooks.run(officer(tenant), "Write", write(notebook_id, "ba"))
    assert answer == ["một", "từ nơi khác", "ba"]
    assert line.cache.hits == hits + 1


async def test_a_refused_command_leaves_no_trace_in_the_cache(line, notebooks, store, tenant):
    # Given a notebook in the cache
    notebook_id = await opened(notebooks, tenant)
    await notebooks.run(officer(tenant), "Write", write(notebook_id, "một"))

    # When a command writes a note in it and is then refused
    with pytest.raises(SameTitle):
        await notebooks.run(officer(tenant), "Write", write(notebook_id, "x", then_refuse=True))

    # Then nothing was written, and the next command does not see the refused note
    assert [e.event_type for e in await store.read_log(tenant)] == ["NotebookOpened", "NoteWritten"]
    assert await notes(notebooks, tenant, notebook_id) == ["một"]


async def test_a_rolled_back_transaction_leaves_no_trace_in_the_cache(line, notebooks, tenant):
    # Given a notebook in the cache
    notebook_id = await opened(notebooks, tenant)
    await notebooks.run(officer(tenant), "Write", write(notebook_id, "một"))

    # When a command appends in a transaction that fails after the append
    async def respond(conn, answer):
        raise RuntimeError("the read model's answer failed")

    with pytest.raises(RuntimeError):
        await notebooks.run_in_transaction(
            officer(tenant), "Write", write(notebook_id, "không còn"), respond=respond
        )

    # Then the next command sees the log as it is
    assert await notes(notebooks, tenant, notebook_id) == ["một"]


async def test_a_cached_aggregate_out_of_the_callers_reach_is_not_found(line, notebooks, tenant):
    # Given a notebook of one unit, in the cache
    notebook_id = await opened(notebooks, tenant)
    await notebooks.run(officer(tenant), "Write", write(notebook_id, "một"))

    # When an officer of another unit asks for it in a command
    async def peek(attempt: Attempt) -> list[str]:
        return list((await attempt.get(notebook_id, tenant_id=tenant)).notes)

    stranger = f"t-{uuid.uuid4().hex[:12]}"

    # Then it is not found, as if it were not cached
    with pytest.raises(NotFound):
        await notebooks.run(officer(stranger), "Peek", peek)
    assert await notes(notebooks, tenant, notebook_id) == ["một"]


async def test_the_check_catches_state_changed_outside_an_event(runtime, tenant):
    # Given a pipeline that checks its cache, and a notebook in it
    notebooks = pipeline(runtime).service(build_registry())
    notebook_id = await opened(notebooks, tenant)

    # When a command changes the notebook without an event (a bug the cache would keep)
    async def meddle(attempt: Attempt) -> None:
        (await attempt.get(notebook_id)).title = "đổi lén"

    await notebooks.run(officer(tenant), "Meddle", meddle)

    # Then the next command that takes it from the cache fails, naming what differs
    with pytest.raises(AssertionError, match="title"):
        await notes(notebooks, tenant, notebook_id)


def test_the_cache_keeps_the_most_recently_used_and_never_an_older_copy():
    cache = AggregateCache(2)
    books = [Notebook(title=f"{n}", owner=uuid.uuid4(), opened_on=date(2025, 1, 1)) for n in "abc"]
    for book in books:
        book.collect_events()
    cache.put("t", books[0], b"a")
    cache.put("t", books[1], b"b")
    assert cache.take("t", books[0].id) == (books[0], b"a")
    cache.put("t", books[0], b"a")
    cache.put("t", books[2], b"c")  # books[1] was the least recently used
    assert cache.take("t", books[1].id) is None
    # A newer copy is not replaced by an older one
    newer = cache.take("t", books[2].id)[0]  # a command takes it out, writes, puts it back
    newer.write("một")
    newer.collect_events()
    cache.put("t", newer, b"c2")
    stale = Notebook(title="c", owner=uuid.uuid4(), opened_on=date(2025, 1, 1))
    stale._id = newer.id  # the same aggregate as an older command held it
    stale.collect_events()
    cache.put("t", stale, b"c")
    assert cache.take("t", newer.id) == (newer, b"c2")
    # Nor does one with events not yet written go in
    held = cache.take("t", books[0].id)[0]
    held.write("chưa ghi")
    cache.put("t", held, b"a")
    assert cache.take("t", held.id) is None
