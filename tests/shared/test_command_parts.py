"""A bulk command's parts (shared/commands.py ``Attempt.send``): appended in the command's
transaction while it decides the rest, so that the database stores one part while the next is
decided. The log holds them in order, with the command's own append after them; a decision
refused after a part went out writes nothing; a keyed repeat answers as the first did; and a
send is only for run_in_transaction."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest

from shared.commands import Attempt, Commands, Pipeline
from tests.shared.sample_domain import Notebook, SameTitle, build_registry
from tests.shared.test_aggregate_cache import officer, opened, pipeline


@pytest.fixture
def line(runtime) -> Pipeline:
    return pipeline(runtime)


@pytest.fixture
def notebooks(line: Pipeline) -> Commands:
    return line.service(build_registry())


def written_in_parts(notebook_id: uuid.UUID, texts: list[str], part: int, refuse_at: int = -1):
    async def decide(attempt: Attempt) -> int:
        notebook = await attempt.get(notebook_id)
        for n, text in enumerate(texts):
            if n == refuse_at:  # a rule found wrong once parts went out
                raise SameTitle(notebook.title)
            notebook.write(text)
            if (n + 1) % part == 0:
                await attempt.send(notebook)
        attempt.save(notebook)
        return len(notebook.notes)

    return decide


async def events_of(store, tenant: str) -> list[tuple[str, dict]]:
    return [(e.event_type, e.meta) for e in await store.read_log(tenant)]


async def test_parts_sent_while_deciding_are_in_the_log_in_order(notebooks, store, tenant):
    # Given a notebook
    notebook_id = await opened(notebooks, tenant)
    texts = [f"ghi chú {n}" for n in range(25)]

    # When a command writes 25 notes, sending every 10 while it goes on
    answer = await notebooks.run_in_transaction(
        officer(tenant), "WriteMany", written_in_parts(notebook_id, texts, 10)
    )

    # Then the log holds the 25 notes in order, each event with the command's meta, and the
    # notebook as the next command reads it (from the cache) has them all
    assert answer == 25
    log = await store.read_log(tenant)
    assert [e.data["text"] for e in log[1:]] == texts
    assert {e.meta["command"] for e in log[1:]} == {"WriteMany"}
    assert [e.stream_version for e in log] == list(range(1, 27))

    async def read(attempt: Attempt) -> list[str]:
        return list((await attempt.get(notebook_id)).notes)

    assert await notebooks.run(officer(tenant), "Read", read) == texts


async def test_a_decision_refused_after_parts_went_out_writes_nothing(
    line, notebooks, store, tenant
):
    # Given a notebook
    notebook_id = await opened(notebooks, tenant)
    before = await events_of(store, tenant)

    # When a command sends two parts of notes, then is refused
    with pytest.raises(SameTitle):
        await notebooks.run_in_transaction(
            officer(tenant),
            "WriteMany",
            written_in_parts(notebook_id, [f"n{n}" for n in range(30)], 10, refuse_at=25),
        )

    # Then the log is as it was, and the next command reads the notebook without those notes
    assert await events_of(store, tenant) == before
    answer = await notebooks.run_in_transaction(
        officer(tenant), "WriteMany", written_in_parts(notebook_id, ["một"], 10)
    )
    assert answer == 1


async def test_a_keyed_command_in_parts_answers_again_without_writing(notebooks, store, tenant):
    # Given a keyed command that wrote 12 notes in parts
    notebook_id = await opened(notebooks, tenant)
    texts = [f"n{n}" for n in range(12)]
    given = {"texts": texts}

    async def run() -> int:
        return await notebooks.run_in_transaction(
            officer(tenant),
            "WriteMany",
            written_in_parts(notebook_id, texts, 5),
            idempotency_key="nhieu-phan-1",
            input=given,
        )

    assert await run() == 12
    after = await events_of(store, tenant)

    # When it is repeated with the same key and input
    # Then it answers as the first time and writes nothing
    assert await run() == 12
    assert await events_of(store, tenant) == after
    # The key went with the command's own append, after the parts (parts of 4 and 5 notes,
    # then the last 3), and the answer with its first event
    keyed = [n for n, (_, meta) in enumerate(after) if "idempotency_key" in meta]
    assert keyed == [len(after) - 3, len(after) - 2, len(after) - 1]
    assert [meta.get("answer") for _, meta in after[-3:]] == [12, None, None]
    assert not any("answer" in meta for _, meta in after[:-3])


async def test_a_part_beaten_to_its_stream_decides_again(runtime, notebooks, store, tenant):
    # Given a notebook, and another process's command writing in it meanwhile
    notebook_id = await opened(notebooks, tenant)
    elsewhere = pipeline(runtime).service(build_registry())
    raced = []

    async def decide(attempt: Attempt) -> int:
        notebook = await attempt.get(notebook_id)
        if not raced:
            raced.append(1)
            await elsewhere.run(officer(tenant), "Write", _write_one(notebook_id, "từ nơi khác"))
        for n in range(6):
            notebook.write(f"n{n}")
            if n == 2:
                await attempt.send(notebook)
        attempt.save(notebook)
        return len(notebook.notes)

    # When the command's first part meets the stream moved
    answer = await notebooks.run_in_transaction(officer(tenant), "WriteMany", decide)

    # Then it decided again on the notebook as it now is: the other note, then its six
    assert answer == 7
    log = await store.read_log(tenant)
    assert [e.data["text"] for e in log[1:]] == ["từ nơi khác"] + [f"n{n}" for n in range(6)]


def _write_one(notebook_id: uuid.UUID, text: str):
    async def decide(attempt: Attempt) -> None:
        notebook = await attempt.get(notebook_id)
        notebook.write(text)
        attempt.save(notebook)

    return decide


async def test_send_is_only_for_a_command_in_its_own_transaction(notebooks, tenant):
    async def decide(attempt: Attempt) -> None:
        notebook = Notebook(title="Sổ tay", owner=uuid.uuid4(), opened_on=date(2025, 1, 15))
        notebook.write("một")
        await attempt.send(notebook)

    with pytest.raises(TypeError):
        await notebooks.run(officer(tenant), "Open", decide)
    with pytest.raises(TypeError):
        await notebooks.run_in_transaction(
            officer(tenant), "Open", decide, project=_nothing_projected
        )


async def _nothing_projected(conn, events) -> None:
    raise AssertionError("not reached")


async def test_a_keyed_repeat_sent_while_the_first_runs_answers_as_the_first(
    notebooks, store, tenant
):
    # Given a keyed command that sends its notes in parts, and refuses a notebook already full
    # (as addNominees refuses more than its bound)
    notebook_id = await opened(notebooks, tenant)
    texts = [f"n{n}" for n in range(12)]

    async def decide(attempt: Attempt) -> int:
        notebook = await attempt.get(notebook_id)
        if len(notebook.notes) + len(texts) > 20:
            raise SameTitle(notebook.title)
        for n, text in enumerate(texts, 1):
            notebook.write(text)
            if n % 5 == 0:
                await attempt.send(notebook)
        attempt.save(notebook)
        return len(notebook.notes)

    async def run() -> int:
        return await notebooks.run_in_transaction(
            officer(tenant),
            "WriteMany",
            decide,
            idempotency_key="cung-luc-1",
            input={"texts": texts},
        )

    # When it is sent twice at once (a client's retry)
    answers = await asyncio.gather(run(), run())

    # Then the repeat, its parts beaten by the first's, answers as the first did, not as a
    # second decision on the notebook the first filled
    assert answers == [12, 12]
    log = await store.read_log(tenant)
    assert [e.data["text"] for e in log[1:]] == texts


async def test_a_command_cancelled_with_a_part_in_flight_writes_nothing(notebooks, store, tenant):
    # Given a command that sent a part and is still deciding
    notebook_id = await opened(notebooks, tenant)
    before = await events_of(store, tenant)
    in_flight = asyncio.Event()

    async def decide(attempt: Attempt) -> int:
        notebook = await attempt.get(notebook_id)
        for n in range(4):
            notebook.write(f"n{n}")
        await attempt.send(notebook)
        in_flight.set()
        await asyncio.sleep(3600)  # a client gone: the request is cancelled here
        return 0

    task = asyncio.ensure_future(notebooks.run_in_transaction(officer(tenant), "WriteMany", decide))
    await in_flight.wait()

    # When it is cancelled, and cancelled again as it unwinds (the waiting for a part still in
    # flight is InFlight.settled's, tested with a part held in flight in test_row_runs.py)
    task.cancel()
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    # Then nothing it sent stays, and the next command runs as usual
    assert await events_of(store, tenant) == before
    answer = await notebooks.run_in_transaction(
        officer(tenant), "WriteMany", written_in_parts(notebook_id, ["một", "hai", "ba"], 2)
    )
    assert answer == 3
