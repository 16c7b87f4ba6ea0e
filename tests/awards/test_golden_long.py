"""Long lists in stored history (tests/golden/awards_long_lists.jsonl), replayed by today's code.
The file was written with runs of 1 KiB instead of 64 KiB (shared/chunks.py), so that a small
file holds every continuation event: a proposal returned with 40 nominees, two appraisal rounds
of 40 (returned, then completed), a council of 12 items voted, concluded and settled, their
decision and a disclosure. The chain verifies, every event decodes, each aggregate rebuilds with
its whole list, and the runner's rows count every item of every run."""

from __future__ import annotations

from uuid import UUID

import orjson
import pytest

from services.awards import domain
from services.awards.projections import TABLES, apply, build_registry
from shared import audit
from shared.aggregates import Repository
from tests.conftest import GOLDEN
from tests.shared.test_audit import standalone_verifier
from tests.shared.test_golden import golden_rows, insert_golden, projected_again

FILE = GOLDEN / "awards_long_lists.jsonl"
TENANT = "golden-ldld-long-lists"
PROPOSAL = UUID("eff042eb-7667-43a1-850e-03508ccdaa51")
RETURNED = UUID("28911c8d-febf-5fe2-b481-3905b58816d1")
COMPLETED = UUID("05b69ada-5fde-5611-b16c-3e5ae499f265")
SESSION = UUID("0cc53d26-1396-4677-8b4d-40d9724b7b4e")
DECISION = UUID("c07c2348-1123-52da-82ed-af979699df86")
DISCLOSURE = UUID("c039f050-5e73-413e-b739-442ed7e3d042")
CONTINUATIONS = {
    "ProposalReturnListed",
    "AppraisalNomineesListed",
    "AppraisalOutcomeListed",
    "CouncilItemsListed",
    "CouncilResultsListed",
    "DecisionRecipientsListed",
    "DisclosedNomineesListed",
}


@pytest.fixture(scope="module")
async def golden(database_url):
    return await insert_golden(database_url, golden_rows(FILE))


async def test_the_chain_verifies_and_every_continuation_is_there(golden, owner, store):
    verdict = await audit.verify_tenant(owner, TENANT)
    assert verdict.ok, verdict.describe()
    lines = FILE.read_text(encoding="utf-8").splitlines()
    assert standalone_verifier()(lines) == f"OK {len(golden)} events, head {golden[-1]['hash']}"
    registry = build_registry()
    seen = {registry.decode(e) and e.event_type for e in await store.read_log(TENANT)}
    assert CONTINUATIONS <= seen
    listed = {
        cls.__name__
        for group in (
            domain.PROPOSAL_EVENTS,
            domain.APPRAISAL_EVENTS,
            domain.COUNCIL_EVENTS,
            domain.DECISION_EVENTS,
            domain.DISCLOSURE_EVENTS,
        )
        for cls in group
        if cls.__name__.endswith("Listed")
    }
    assert listed == CONTINUATIONS  # a new continuation event needs its golden row here


async def test_each_aggregate_rebuilds_with_its_whole_list(golden, store):
    repo = Repository(store, build_registry(), snapshot_every=0)
    returned, completed = await repo.get(TENANT, RETURNED), await repo.get(TENANT, COMPLETED)
    assert len(returned.nominees) == len(completed.nominees) == 40
    assert returned.closed and completed.closed
    session = await repo.get(TENANT, SESSION)
    assert len(session.voted) == len(session.passed) == len(session.settled) == 12
    assert len((await repo.get(TENANT, DECISION)).recipients) == 12
    assert len((await repo.get(TENANT, DISCLOSURE)).items) == 12
    assert (await repo.get(TENANT, PROPOSAL)).status == "returned"


async def test_the_runner_counts_every_item_of_every_run(golden, store, owner, runtime):
    stored = await store.read_log(TENANT)
    async with projected_again(owner, runtime, TENANT, golden, TABLES):
        # The proposal's own rows are its unit's; the appraisal writes its outcome on them.
        await apply(owner, build_registry(), stored)
        count = "SELECT count(*) FROM {} WHERE tenant_id = $1"
        assert await owner.fetchval(count.format("council_items"), TENANT) == 12
        assert await owner.fetchval(count.format("decision_recipients"), TENANT) == 12
        assert await owner.fetchval(count.format("disclosed_nominees"), TENANT) == 12
        decision = await owner.fetchrow(
            "SELECT recipient_count, cash_total_vnd FROM decisions WHERE tenant_id = $1", TENANT
        )
        assert tuple(decision) == (12, 12 * 710_000)
        rounds = await owner.fetch(
            "SELECT round, nominee_count, status, returned::text AS returned FROM appraisals "
            "WHERE tenant_id = $1 ORDER BY round",
            TENANT,
        )
        assert [(r["round"], r["nominee_count"], r["status"]) for r in rounds] == [
            (1, 40, "returned"),
            (2, 40, "completed"),
        ]
        assert len(orjson.loads(rounds[0]["returned"])) == 40
        passed = await owner.fetchval(
            "SELECT count(*) FROM council_items WHERE tenant_id = $1 AND passed", TENANT
        )
        assert passed == 12
