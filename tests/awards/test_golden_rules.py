"""The stored history of rule 10's facts (tests/golden/awards_rules_events.jsonl: one grassroots
union's log, written by the code of its day and exported as ``thidua log export`` does),
replayed by today's code: the chain verifies, every event decodes, the person rebuilds, and the
runner's rows say what rule 10 weighs.

Its life: Phạm Thị Hằng registered (DM-07, employed since 2019-03-01); her absence in 2025 set to
42 working days, then corrected to 18; a reprimand on 2025-09-15."""

from __future__ import annotations

from uuid import UUID

import orjson
import pytest

from services.awards.domain import PERSON_EVENTS, Person
from services.awards.projections import TABLES, apply, build_registry
from services.registry.projections import build_registry as unit_registry
from shared import audit
from shared.aggregates import Repository
from tests.conftest import GOLDEN
from tests.shared.test_audit import standalone_verifier
from tests.shared.test_golden import golden_rows, insert_golden, projected_again

FILE = GOLDEN / "awards_rules_events.jsonl"
TENANT = "golden-cs-det-may-nb"
HANG = UUID("0344f5fd-6c82-54d2-a978-b43bdbddd4f8")


@pytest.fixture(scope="module")
async def golden(database_url):
    return await insert_golden(database_url, golden_rows(FILE))


async def test_the_chain_verifies_and_every_event_decodes_with_todays_code(golden, owner, store):
    verdict = await audit.verify_tenant(owner, TENANT)
    assert verdict.ok, verdict.describe()
    lines = FILE.read_text(encoding="utf-8").splitlines()
    assert standalone_verifier()(lines) == f"OK 5 events, head {golden[-1]['hash']}"
    registry, units = build_registry(), unit_registry()
    stored = await store.read_log(TENANT)
    for event in stored:
        (units if event.event_type == "UnitRegistered" else registry).decode(event)
    earlier = {
        orjson.loads(line)["event_type"]
        for name in (
            "awards_events",
            "awards_transfer_out",
            "awards_transfer_in",
            "awards_return_home",
            "awards_return_away",
        )
        for line in (GOLDEN / f"{name}.jsonl").open()
    }
    # Every person event is in a golden file (transfers and returns: test_transfers.py).
    assert {cls.__name__ for cls in PERSON_EVENTS} <= earlier | {e.event_type for e in stored}


async def test_the_person_rebuilds_and_projects_rule_10s_facts(golden, store, owner, runtime):
    hang = await Repository(store, build_registry(), snapshot_every=0).get(TENANT, HANG)
    assert isinstance(hang, Person) and (hang.status, hang.version) == ("active", 4)
    stored = [e for e in await store.read_log(TENANT) if e.event_type != "UnitRegistered"]
    async with projected_again(owner, runtime, TENANT, golden, TABLES):
        await apply(owner, build_registry(), stored)
        row = await owner.fetchrow(
            "SELECT years::text AS years, employed_since, full_name FROM people "
            "WHERE tenant_id = $1",
            TENANT,
        )
        assert orjson.loads(row["years"]) == {
            "2025": {"absent_working_days": 18, "disciplined": ["reprimand"]}
        }
        assert str(row["employed_since"]) == "2019-03-01"
        assert row["full_name"] is None  # the file holds no key
