"""Snapshots a command makes due are taken after its commit, in the background, once no command
is at work (shared/commands.py ``Pipeline.take_later``): the answer does not wait for a large
aggregate's state to be encoded and stored, nor do the commands after it. The snapshot holds the state at the version
it was due at; one whose aggregate changed before it was taken is skipped; a rolled-back command
leaves none."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest

from shared.commands import SNAPSHOT_IDLE_S, Attempt, Commands, Pipeline
from tests.shared.sample_domain import SameTitle, build_registry
from tests.shared.test_aggregate_cache import Caught, officer, opened


@pytest.fixture
def line(runtime) -> Pipeline:
    return Pipeline(runtime.pool, runtime.store, positions=Caught(), snapshot_every=5)


@pytest.fixture
def notebooks(line: Pipeline) -> Commands:
    return line.service(build_registry())


def written(notebook_id: uuid.UUID, texts: list[str]):
    async def decide(attempt: Attempt) -> int:
        notebook = await attempt.get(notebook_id)
        for text in texts:
            notebook.write(text)
        attempt.save(notebook)
        return notebook.version

    return decide


async def snapshot(owner, tenant: str, notebook_id: uuid.UUID):
    return await owner.fetchrow(
        "SELECT stream_version, state FROM snapshots WHERE tenant_id = $1 AND stream_id = $2",
        tenant,
        notebook_id,
    )


async def due_and_held(line, notebooks, tenant, monkeypatch):
    """A notebook a command took past 5 events, and its snapshot due, held back: both."""
    held = []
    monkeypatch.setattr(line, "take_later", lambda repository, due: held.extend(due))
    notebook_id = await opened(notebooks, tenant)
    await notebooks.run(officer(tenant), "Write", written(notebook_id, ["a", "b", "c", "d"]))
    return held, notebook_id


@pytest.mark.parametrize("way", ["run", "run_in_transaction"])
async def test_a_snapshot_due_is_stored_after_the_answer(
    line, notebooks, owner, tenant, way, monkeypatch
):
    # Given a notebook of one event, and the snapshots the pipeline takes later held back
    notebook_id = await opened(notebooks, tenant)
    held = []
    take_later = line.take_later
    monkeypatch.setattr(line, "take_later", lambda repository, due: held.append((repository, due)))

    # When a command takes it past 5 events
    run = getattr(notebooks, way)
    version = await run(officer(tenant), "Write", written(notebook_id, ["a", "b", "c", "d"]))

    # Then it has answered with no snapshot stored yet, and once taken, the snapshot holds the
    # notebook at that version
    assert version == 5 and await snapshot(owner, tenant, notebook_id) is None
    for repository, due in held:
        take_later(repository, due)
    await line.snapshots_taken()
    row = await snapshot(owner, tenant, notebook_id)
    assert row["stream_version"] == 5
    assert '"notes": ["a", "b", "c", "d"]' in row["state"]


async def test_a_snapshot_due_waits_while_a_command_is_at_work_and_is_taken_once_quiet(
    line, notebooks, owner, tenant
):
    # Given another command at work (deciding, or waiting for its projections)
    notebook_id = await opened(notebooks, tenant)
    with line.working():
        # When a command takes the notebook past 5 events, its snapshot due
        await notebooks.run(officer(tenant), "Write", written(notebook_id, ["a", "b", "c", "d"]))
        # Then the snapshot is not taken while that command is at work
        await asyncio.sleep(SNAPSHOT_IDLE_S * 3)
        assert await snapshot(owner, tenant, notebook_id) is None
    # And once no command has been at work for a moment, it is
    for _ in range(100):
        if await snapshot(owner, tenant, notebook_id) is not None:
            break
        await asyncio.sleep(SNAPSHOT_IDLE_S)
    assert (await snapshot(owner, tenant, notebook_id))["stream_version"] == 5


async def test_snapshots_taken_takes_the_snapshots_due_at_once(line, notebooks, owner, tenant):
    notebook_id = await opened(notebooks, tenant)
    with line.working():  # busy: nothing would be taken until it ends
        await notebooks.run(officer(tenant), "Write", written(notebook_id, ["a", "b", "c", "d"]))
        await asyncio.wait_for(line.snapshots_taken(), 10)
        assert (await snapshot(owner, tenant, notebook_id))["stream_version"] == 5


async def test_a_snapshot_of_a_state_changed_before_it_was_taken_is_skipped(
    line, notebooks, owner, tenant, monkeypatch
):
    # Given a notebook a command took past 5 events, its snapshot due but held back
    held, notebook_id = await due_and_held(line, notebooks, tenant, monkeypatch)
    assert [d.version for d in held] == [5]

    # When the next command changes it (the same object, from the cache) before it is taken
    hits = line.cache.hits
    await notebooks.run(officer(tenant), "Write", written(notebook_id, ["e"]))
    assert line.cache.hits == hits + 1

    # Then the snapshot is skipped: the state it would hold is not version 5's
    await notebooks.repository.take_later(held[0])
    assert await snapshot(owner, tenant, notebook_id) is None


async def test_a_command_rolled_back_after_its_append_leaves_no_snapshot(
    line, notebooks, owner, tenant
):
    # Given a notebook, and a command whose events are appended, a snapshot due with them
    notebook_id = await opened(notebooks, tenant)

    async def answer_fails(conn, answer) -> None:
        raise SameTitle("Sổ tay")  # after the append, in the same transaction

    # When its transaction then rolls back
    with pytest.raises(SameTitle):
        await notebooks.run_in_transaction(
            officer(tenant),
            "Write",
            written(notebook_id, ["a", "b", "c", "d"]),
            respond=answer_fails,
        )

    # Then no snapshot was taken of what the log does not hold
    await line.snapshots_taken()
    assert await snapshot(owner, tenant, notebook_id) is None


@pytest.mark.parametrize("by", ["a command that writes", "a command refused"])
async def test_a_state_changed_while_its_snapshot_is_encoded_is_not_stored(
    line, notebooks, owner, tenant, monkeypatch, by
):
    # Given a notebook a command took past 5 events, its snapshot due but held back
    held, notebook_id = await due_and_held(line, notebooks, tenant, monkeypatch)
    repository = notebooks.repository

    # ...and its encoding, in the worker thread, paused until the loop has run a command
    encode = repository._encoded_state
    began, go_on = threading.Event(), threading.Event()

    def paused(aggregate):
        began.set()
        go_on.wait(10)
        return encode(aggregate)

    monkeypatch.setattr(repository, "_encoded_state", paused)
    taking = asyncio.ensure_future(repository.take_later(held[0]))
    await asyncio.to_thread(began.wait, 10)

    # When, meanwhile, a command takes the notebook from the cache
    if by == "a command that writes":
        await notebooks.run(officer(tenant), "Write", written(notebook_id, ["e"]))
    else:

        async def refused(attempt: Attempt) -> None:
            notebook = await attempt.get(notebook_id)
            notebook.write("f")
            raise SameTitle("Sổ tay")

        with pytest.raises(SameTitle):
            await notebooks.run(officer(tenant), "Write", refused)
    go_on.set()
    await taking

    # Then what the thread encoded is not stored as version 5's state
    assert await snapshot(owner, tenant, notebook_id) is None


async def test_the_encoding_runs_off_the_event_loop(line, notebooks, owner, tenant, monkeypatch):
    # Given a notebook a command took past 5 events, its snapshot due but held back
    held, notebook_id = await due_and_held(line, notebooks, tenant, monkeypatch)
    repository = notebooks.repository
    encode = repository._encoded_state
    threads = []

    def recorded(aggregate):
        threads.append(threading.get_ident())
        return encode(aggregate)

    monkeypatch.setattr(repository, "_encoded_state", recorded)

    # When it is taken
    await repository.take_later(held[0])

    # Then it was encoded in another thread than the loop's, and stored
    assert threads and threads[0] != threading.get_ident()
    assert (await snapshot(owner, tenant, notebook_id))["stream_version"] == 5


@pytest.mark.parametrize("changed", [True, False])
async def test_a_read_torn_by_a_change_is_dropped_and_any_other_failure_reported(
    line, notebooks, owner, tenant, monkeypatch, changed
):
    # Given a notebook a command took past 5 events, its snapshot due but held back
    held, notebook_id = await due_and_held(line, notebooks, tenant, monkeypatch)
    repository = notebooks.repository

    # When its encoding fails as a reader racing a writer does (changed: a command did take it)
    def torn(aggregate):
        raise RuntimeError("dictionary changed size during iteration")

    monkeypatch.setattr(repository, "_encoded_state", torn)
    if changed:
        await notebooks.run(officer(tenant), "Write", written(notebook_id, ["e"]))

    # Then a read torn by a change is dropped quietly; a failure of an unchanged state is not
    if changed:
        await repository.take_later(held[0])
    else:
        with pytest.raises(RuntimeError):
            await repository.take_later(held[0])
    assert await snapshot(owner, tenant, notebook_id) is None
