"""A decision as stored once its event carried its persons' particulars
(tests/golden/awards_decision_particulars.jsonl: the demo's LĐLĐ huyện Hoa Lư, loaded with the
prefix ``golden-p-`` and exported with ``thidua log export``), replayed by today's code: its
chain intact, its decision rebuilt, and the women and direct workers it awarded counted from
its own event, with nothing known of the persons beside it."""

from __future__ import annotations

import pytest

from services.awards.domain import Decision
from services.awards.projections import build_registry
from services.reporting import figures as f
from shared import audit
from shared.aggregates import Repository
from tests.conftest import GOLDEN
from tests.shared.test_golden import golden_rows, insert_golden

FILE = GOLDEN / "awards_decision_particulars.jsonl"
TENANT = "golden-p-nb-hoa-lu"


@pytest.fixture(scope="module")
async def golden(database_url):
    return await insert_golden(database_url, golden_rows(FILE))


async def test_the_chain_verifies_and_the_decision_rebuilds(golden, owner, store):
    verdict = await audit.verify_tenant(owner, TENANT)
    assert verdict.ok and verdict.count == len(golden), verdict.describe()
    stored = next(e for e in await store.read_log(TENANT) if e.event_type == "DecisionIssued")
    decision = await Repository(store, build_registry(), snapshot_every=0).get(
        TENANT, stored.stream_id
    )
    assert isinstance(decision, Decision)
    assert (decision.code, len(decision.recipients)) == ("1/QĐ-KT", 3)


async def test_its_persons_are_counted_from_the_decision_alone(golden, store):
    stored = next(e for e in await store.read_log(TENANT) if e.event_type == "DecisionIssued")
    # Nothing read beside the event: no person's particulars known to reporting
    assert f.persons_awarded(stored.event_type, stored.data) == []
    changes = f.changes_of(stored.event_type, str(stored.stream_id), stored.data, {}, {})
    counted: dict[str, int] = {}
    for change in changes:
        for metric, _, value in change.figures:
            counted[metric] = counted.get(metric, 0) + value
    assert {
        m: counted.get(m, 0)
        for m in (
            f.AWARDED_PERSONS,
            f.AWARDED_COLLECTIVES,
            f.AWARDED_WOMEN,
            f.AWARDED_DIRECT_WORKERS,
            f.AWARDED_UNRECORDED,
        )
    } == {
        f.AWARDED_PERSONS: 2,
        f.AWARDED_COLLECTIVES: 1,
        f.AWARDED_WOMEN: 1,
        f.AWARDED_DIRECT_WORKERS: 2,
        f.AWARDED_UNRECORDED: 0,
    }
