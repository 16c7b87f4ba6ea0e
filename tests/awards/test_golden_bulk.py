"""Bulk nominees, verdicts and votes in stored history (tests/golden/awards_bulk_events.jsonl
and awards_bulk_nominees.jsonl: 12 nominees added at once, one with a finding), replayed by
today's code: an appraisal of 30 nominees judged in two bulk verdicts (20 accepted, 10
rejected), and an open and a secret council of 20 items on which each of two members voted at
once, written with runs of 1 KiB (shared/chunks.py) so a small file splits them. The chain
verifies, every event decodes, the aggregates rebuild, the runner's rows count every vote."""

from __future__ import annotations

from uuid import UUID

import pytest

from services.awards.projections import TABLES, apply, build_registry
from services.awards.schema_council import COUNTED_VOTERS, votes_so_far
from shared import audit
from shared.aggregates import Repository
from tests.conftest import GOLDEN
from tests.shared.test_golden import golden_rows, insert_golden, projected_again

FILE = GOLDEN / "awards_bulk_events.jsonl"
TENANT = "golden-ldld-bulk"
APPRAISAL = UUID("fd7d1e39-f136-522c-8231-d4754b5b3378")
OPEN, SECRET = (
    UUID("fd8ccd43-d924-4139-905d-edfd510e0b11"),
    UUID("d4eac111-854a-4b73-9875-aece6b0aaeb4"),
)
BULK = {"NomineesAppraised", "VotesCast", "BallotsCast", "NomineesAdded", "AppraisalPutToCouncil"}
PUT = GOLDEN / "awards_put_to_council.jsonl"
PUT_TENANT = "golden-ldld-put-to-council"
PUT_APPRAISAL = UUID("96724442-0478-5f86-8623-d0e30fa0307c")
NOMINEES = GOLDEN / "awards_bulk_nominees.jsonl"
NOMINEES_TENANT = "golden-cs-bulk-nominees"
PROPOSAL = UUID("0f5d5c7c-b4fa-465e-84d1-3bffc90833f5")


@pytest.fixture(scope="module")
async def golden(database_url):
    return await insert_golden(database_url, golden_rows(FILE))


@pytest.fixture(scope="module")
async def nominees(database_url):
    return await insert_golden(database_url, golden_rows(NOMINEES))


@pytest.fixture(scope="module")
async def put(database_url):
    return await insert_golden(database_url, golden_rows(PUT))


async def test_the_chains_verify_and_the_bulk_events_decode(golden, nominees, put, owner, store):
    registry = build_registry()
    seen = set()
    for tenant in (TENANT, NOMINEES_TENANT, PUT_TENANT):
        verdict = await audit.verify_tenant(owner, tenant)
        assert verdict.ok, verdict.describe()
        seen |= {registry.decode(e) and e.event_type for e in await store.read_log(tenant)}
    assert seen >= BULK


async def test_many_nominees_added_at_once_rebuild_and_project_in_order(
    nominees, store, owner, runtime
):
    proposal = await Repository(store, build_registry(), snapshot_every=0).get(
        NOMINEES_TENANT, PROPOSAL
    )
    assert len(proposal.nominees) == 12 and len(proposal.flagged) == 1
    stored = await store.read_log(NOMINEES_TENANT)
    async with projected_again(owner, runtime, NOMINEES_TENANT, nominees, TABLES):
        await apply(owner, build_registry(), stored)
        rows = await owner.fetch(
            "SELECT who, summary FROM proposal_nominees WHERE tenant_id = $1 ORDER BY added_seq",
            NOMINEES_TENANT,
        )
        assert [r["who"][-2:] for r in rows] == [f"{n:02}" for n in range(12)]  # as added
        counts = await owner.fetchrow(
            "SELECT nominee_count, flagged_count FROM proposals WHERE tenant_id = $1",
            NOMINEES_TENANT,
        )
        assert tuple(counts) == (12, 1)


async def test_the_aggregates_rebuild_with_every_verdict_and_vote(golden, store):
    repo = Repository(store, build_registry(), snapshot_every=0)
    appraisal = await repo.get(TENANT, APPRAISAL)
    assert sorted(appraisal.verdicts.values()).count("accept") == 20
    assert list(appraisal.verdicts.values()).count("reject") == 10 and appraisal.closed
    for session_id in (OPEN, SECRET):
        session = await repo.get(TENANT, session_id)
        assert all(v == ["chu-tich", "uy-vien"] for v in session.voted.values())
        assert len(session.voted) == 20
    opened = await repo.get(TENANT, OPEN)
    assert all(t == {"yes": 2} for t in opened.open_tally.values())


async def test_the_runner_counts_every_vote(golden, store, owner, runtime):
    stored = await store.read_log(TENANT)
    async with projected_again(owner, runtime, TENANT, golden, TABLES):
        await apply(owner, build_registry(), stored)
        votes = await owner.fetch(
            "SELECT session_id, count(*) AS n, count(choice) AS chosen "
            "FROM council_votes, unnest(items) WHERE tenant_id = $1 GROUP BY session_id",
            TENANT,
        )
        assert {r["session_id"]: (r["n"], r["chosen"]) for r in votes} == {
            OPEN: (40, 40),
            SECRET: (40, 0),  # who voted, never how
        }
        # Counted as the readers count them while the sessions are open (their votes' rows).
        voters = await owner.fetchval(
            f"SELECT array_agg(DISTINCT {COUNTED_VOTERS}) FROM council_items i "
            f"{votes_so_far('v.tenant_id = $1')} WHERE i.tenant_id = $1",
            TENANT,
        )
        assert voters == [2]


async def test_an_appraisal_put_to_council_rebuilds(put, store):
    # awards_put_to_council.jsonl: a round of two nominees, accepted at once, completed, then put
    # before a council session (the fact that serialises two sessions convened at once).
    appraisal = await Repository(store, build_registry(), snapshot_every=0).get(
        PUT_TENANT, PUT_APPRAISAL
    )
    assert appraisal.closed and appraisal.version == 4
