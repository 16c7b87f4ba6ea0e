"""A command's events projected beside it (shared/alongside.py): a council convened and a
decision issued in parts have their rows written on a connection of the runner's while the
parts are stored, committed just after the command. The rows are those a rebuild writes; a
projection lost between the two commits is the runner's, applied once; a decision refused
after its parts were projected leaves no row."""

from __future__ import annotations

import asyncio

import pytest

from services.awards.projections import PROJECTION
from shared import chunks
from shared.alongside import Alongside
from shared.clock import today
from shared.commands import Attempt
from shared.errors import InvalidInput
from shared.projection_rebuild import rebuild
from tests.awards.test_appraisal import CONCLUDE
from tests.awards.test_chain import ISSUE
from tests.awards.test_council import CLOSE, as_member
from tests.awards.test_long_lists import (
    ADD_MANY,
    APPRAISE_ALL,
    COUNCIL,
    DECIDED,
    PEOPLE,
    PEOPLE_IDS,
    VOTE_ALL,
)
from tests.awards.test_proposals import PDF, SUBMIT, draft, upload
from tests.awards.test_rebuild_chain import _rows
from tests.registry.test_graphql import gql

MANY = 120


@pytest.fixture(autouse=True)
def short_events(monkeypatch, runtime):
    """Lists of a few items to an event, so that 120 nominees make a council and a decision
    of several parts (shared/commands.py sends 8 events to a part); the projection beside
    the command switched on (THIDUA_COMMAND_PROJECTS_ALONGSIDE, off by default)."""
    monkeypatch.setattr(chunks, "CHUNK_BYTES", 1024)
    monkeypatch.setattr(runtime.pipeline, "project_alongside", True)


async def _people(client, tokens, unit) -> list[str]:
    people = [
        {"fullName": f"Người lao động {n}", "gender": "MALE", "staffNumber": f"A{n:04}"}
        for n in range(MANY)
    ]
    body = await gql(client, tokens, unit, ["officer"], PEOPLE, people=people)
    assert body["data"]["registerPeople"]["written"] == MANY, body
    page = await gql(client, tokens, unit, ["officer"], PEOPLE_IDS, unit=unit, after=None)
    return [e["node"]["id"] for e in page["data"]["people"]["edges"]]


@pytest.fixture
async def convened(client, tokens, tree, runtime) -> str:
    """A proposal of 120 nominees from cs1, accepted, its council convened beside the runner
    (checked): the session."""
    ids = await _people(client, tokens, tree.cs1)
    pid = await draft(client, tokens, tree.cs1)
    nominees = [{"subject": "PERSON", "personId": i, "award": "lao_dong_tien_tien"} for i in ids]
    added = await gql(client, tokens, tree.cs1, ["officer"], ADD_MANY, id=pid, nominees=nominees)
    assert added["data"]["addNominees"]["written"] == MANY, added
    for kind in ("memo", "achievement_report", "council_minutes"):
        await upload(client, tokens, tree.cs1, pid, kind, PDF + kind.encode())
    await gql(client, tokens, tree.cs1, ["officer"], SUBMIT, id=pid)
    await gql(client, tokens, tree.upper1, ["officer"], APPRAISE_ALL, id=pid)
    await gql(client, tokens, tree.upper1, ["officer"], CONCLUDE, id=pid)
    session = {
        "title": "Phiên họp Hội đồng",
        "meetsOn": today().isoformat(),
        "ballot": "OPEN",
        "quorum": 1,
        "members": [{"subject": "chu-tich"}],
        "proposals": [pid],
    }
    runner = runtime.projections
    before = runner.alongside_committed
    convened = await gql(client, tokens, tree.upper1, ["officer"], COUNCIL, input=session)
    sid = convened["data"]["conveneCouncil"]["id"]
    assert runner.alongside_committed > before  # its items, projected beside it
    return sid


@pytest.fixture
async def council(client, tokens, tree, convened) -> str:
    """The council voted and concluded: ready for the decision."""
    sid = convened
    votes = await as_member(client, tokens, tree.upper1, "chu-tich", VOTE_ALL, session=sid)
    assert votes["data"]["castVotes"] == MANY, votes
    await gql(client, tokens, tree.upper1, ["officer"], CLOSE, session=sid)
    return sid


async def _register(owner, tree) -> tuple[int, int]:
    """The upper-level union's log length and its register's rows."""
    events = await owner.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", tree.upper1)
    rows = await owner.fetchval(
        "SELECT count(*) FROM decision_recipients WHERE tenant_id = $1", tree.upper1
    )
    return events, rows


async def _as_rebuilt(owner, runtime, tree) -> bool:
    """Whether the tree's awards rows are those a rebuild from the log writes."""
    live = await _rows(owner, tree, "public")
    await rebuild(owner, runtime.projector_pool, PROJECTION, batch_size=7)
    return await _rows(owner, tree, "public") == live


async def _left(runner, before: int) -> None:
    """Once a projection beside a command has left it to the runner (in the background)."""
    for _ in range(500):
        if runner.alongside_left > before:
            return
        await asyncio.sleep(0.01)


async def test_a_decision_projected_beside_its_parts_holds_the_rows_a_rebuild_writes(
    client, tokens, tree, owner, runtime, council
):
    runner = runtime.projections
    before = runner.alongside_committed
    # When the approver issues a decision of 120 recipients, in parts
    body = await gql(
        client, tokens, tree.upper1, ["approver"], ISSUE, session=council, title="LĐTT"
    )
    decision = body["data"]["issueDecision"]
    # Then its answer, read after it, shows them all, projected beside the command
    assert decision["recipientCount"] == MANY, body
    assert runner.alongside_committed == before + 1
    read = await gql(client, tokens, tree.upper1, ["officer"], DECIDED, id=decision["id"])
    assert read["data"]["decision"]["recipientCount"] == MANY
    # and every row is the one a rebuild from the log writes
    assert await _as_rebuilt(owner, runtime, tree)


async def test_a_projection_lost_between_the_two_commits_is_applied_by_the_runner_once(
    client, tokens, tree, owner, runtime, council, monkeypatch
):
    # Given the projection beside the command dies (its connection ended) after the command
    # committed, before its own commit: as when the process stops between the two
    close = Alongside._close

    async def lost(self, *, commit: bool) -> None:
        if commit and self._conn is not None:
            await owner.execute("SELECT pg_terminate_backend($1)", self._conn.get_server_pid())
        await close(self, commit=commit)

    monkeypatch.setattr(Alongside, "_close", lost)
    runner = runtime.projections
    left, committed = runner.alongside_left, runner.alongside_committed
    # When the approver issues the decision
    body = await gql(
        client, tokens, tree.upper1, ["approver"], ISSUE, session=council, title="LĐTT"
    )
    decision = body["data"]["issueDecision"]
    # Then it stands, and the runner applied its events, each once: the counts are whole, and
    # every row is the one a rebuild writes
    assert decision["recipientCount"] == MANY, body
    await _left(runner, left)  # counted once its failed commit has come back
    assert (runner.alongside_left, runner.alongside_committed) == (left + 1, committed)
    read = await gql(client, tokens, tree.upper1, ["officer"], DECIDED, id=decision["id"])
    assert read["data"]["decision"]["recipientCount"] == MANY
    head = await owner.fetchval("SELECT seq FROM tenant_heads WHERE tenant_id = $1", tree.upper1)
    checkpoint = await owner.fetchval(
        "SELECT c.last_seq FROM projection_checkpoints c JOIN projection_versions v "
        "USING (name, version) WHERE c.name = 'awards' AND v.state = 'live' AND c.tenant_id = $1",
        tree.upper1,
    )
    assert checkpoint == head
    assert await _as_rebuilt(owner, runtime, tree)


async def test_a_projection_beside_begun_after_the_runner_applied_the_events_applies_none(
    client, tokens, tree, owner, runtime, convened, monkeypatch
):
    # Given the projection beside the command held before it takes the checkpoints, until the
    # command has answered (the runner, woken by its commit, applied its events meanwhile)
    opening, go = Alongside._open, asyncio.Event()

    async def late(self, first_seq: int) -> None:
        await go.wait()
        await opening(self, first_seq)

    monkeypatch.setattr(Alongside, "_open", late)
    runner = runtime.projections
    left, committed = runner.alongside_left, runner.alongside_committed
    votes = await as_member(client, tokens, tree.upper1, "chu-tich", VOTE_ALL, session=convened)
    assert votes["data"]["castVotes"] == MANY, votes
    # When it goes on
    go.set()
    await _left(runner, left)
    # Then it finds the runner was first and applies nothing: each row once, as a rebuild has it
    assert (runner.alongside_left, runner.alongside_committed) == (left + 1, committed)
    assert await _as_rebuilt(owner, runtime, tree)


async def test_a_decision_refused_after_its_parts_were_projected_leaves_no_row(
    client, tokens, tree, owner, runtime, council, monkeypatch
):
    # Given a decision found wrong after its parts were stored and projected beside it
    send = Attempt.send
    projected = []

    async def then_refused(self, aggregate, *, tenant_id=None):
        await send(self, aggregate, tenant_id=tenant_id)
        await self.sent_so_far()
        for _ in range(500):  # T2 has written their rows (not yet committed)
            if self.alongside is not None and self.alongside._applied:
                break
            await asyncio.sleep(0.01)
        projected.append(self.alongside._applied if self.alongside else 0)
        raise InvalidInput("Từ chối sau khi đã gửi các phần.")

    monkeypatch.setattr(Attempt, "send", then_refused)
    before = await _register(owner, tree)
    runner = runtime.projections
    free = runner._alongside_free
    # When the approver issues it
    body = await gql(
        client, tokens, tree.upper1, ["approver"], ISSUE, session=council, title="LĐTT"
    )
    # Then it is refused, and neither the log nor the register holds any of it; the runner's
    # connection is back
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT", body
    assert projected[0] > 0
    assert await _register(owner, tree) == before
    for _ in range(500):  # rolled back in the background, once its statement is done
        if runner._alongside_free == free:
            break
        await asyncio.sleep(0.01)
    assert runner._alongside_free == free
