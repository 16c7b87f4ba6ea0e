"""The campaign service's stored history (tests/golden/campaign_events.jsonl: one unit's log,
written by the code of its day and exported with ``thidua log export``), replayed by today's
code: every event name still registered, its chain intact, its aggregates and read model
rebuilt."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest

from services.campaign import domain
from services.campaign.domain import Campaign, Initiative, Pledge, Progress, Registration, Work
from services.campaign.projections import TABLES, apply, build_registry
from services.registry.projections import build_registry as unit_registry
from shared import audit
from shared.aggregates import Repository
from tests.conftest import GOLDEN
from tests.shared.test_audit import standalone_verifier
from tests.shared.test_golden import golden_rows, insert_golden, projected_again

FILE = GOLDEN / "campaign_events.jsonl"
TENANT = "golden-cd-dien-luc"
OWN = UUID("873b55fd-0f42-45fa-933c-3c27a1fd8c65")  # the unit's own campaign
UPPER = UUID("7b369e2b-bb01-4a29-96ca-f71dda0d67e5")  # the province's, which it registered for
REGISTRATION = UUID("29b72c75-3d74-51c9-bcf4-6ac99a286ee2")
PROGRESS = UUID("81355395-c361-5f91-a45d-0b2118bd6d6b")
PLEDGE_AN = UUID("1e10709b-3191-5a79-80ae-9177ed2384ca")
PLEDGE_WORKSHOP = UUID("d7919cf4-91b7-5c96-a284-a710a8eb7579")
WORK = UUID("169d671d-bb4f-41a2-a48d-abd501c921c4")
INITIATIVE = UUID("cb2e94b9-3800-4a47-9cb0-4a6c4155154d")
WITHDRAWN_INITIATIVE = UUID("201d6106-1825-42a4-972e-d150c6533882")


@pytest.fixture(scope="module")
async def golden(database_url):
    return await insert_golden(database_url, golden_rows(FILE))


async def test_the_campaign_golden_chain_verifies_in_the_product_and_standalone(golden, owner):
    verdict = await audit.verify_tenant(owner, TENANT)
    assert verdict.ok, verdict.describe()
    assert verdict.count == len(golden) == 25
    lines = FILE.read_text(encoding="utf-8").splitlines()
    assert standalone_verifier()(lines) == f"OK 25 events, head {golden[-1]['hash']}"


async def test_every_campaign_event_type_is_in_the_golden_file_and_still_registered(golden, store):
    registry = build_registry()
    units = unit_registry()
    stored = await store.read_log(TENANT)
    for event in stored:
        (units if event.event_type == "UnitRegistered" else registry).decode(event)
    every = {
        cls.__name__
        for group in (
            domain.CAMPAIGN_EVENTS,
            domain.REGISTRATION_EVENTS,
            domain.PROGRESS_EVENTS,
            domain.PLEDGE_EVENTS,
            domain.WORK_EVENTS,
            domain.INITIATIVE_EVENTS,
        )
        for cls in group
    }
    assert every <= {e.event_type for e in stored}


async def test_the_campaign_golden_aggregates_rebuild_with_todays_code(golden, store):
    repo = Repository(store, build_registry(), snapshot_every=0)
    own = await repo.get(TENANT, OWN)
    assert isinstance(own, Campaign)
    assert (own.status, own.parent_campaign, own.min_contents) == ("concluded", UPPER, 2)
    assert own.theme == "Đoàn kết, sáng tạo, an toàn"  # amended after launch
    assert own.registration_due == date(2021, 3, 1)
    assert own.indicators["lam-loi"]["target"] == 6_000_000_000
    assert own.indicators["lam-loi"]["computed_from"] == ["InitiativeRecognised"]
    assert own.reviewed == [1]

    registration = await repo.get(TENANT, REGISTRATION)
    assert isinstance(registration, Registration)
    assert (registration.status, registration.targets) == ("withdrawn", {"sang-kien": 45})
    assert registration.campaign_id == UPPER
    progress = await repo.get(TENANT, PROGRESS)
    assert isinstance(progress, Progress) and progress.actuals == {"sang-kien": 23}

    an, workshop = await repo.get(TENANT, PLEDGE_AN), await repo.get(TENANT, PLEDGE_WORKSHOP)
    assert isinstance(an, Pledge) and an.status == "withdrawn"
    assert (workshop.status, workshop.title) == ("registered", "tap_the_lao_dong_xuat_sac")
    work = await repo.get(TENANT, WORK)
    assert isinstance(work, Work)
    assert (work.status, work.fields["value_vnd"]) == ("withdrawn", 52_000_000_000)
    assert work.fields["completion_due"] == date(2021, 8, 31)
    initiative = await repo.get(TENANT, INITIATIVE)
    assert isinstance(initiative, Initiative)
    assert (initiative.recognised, initiative.status) == (True, "registered")
    withdrawn = await repo.get(TENANT, WITHDRAWN_INITIATIVE)
    assert withdrawn.status == "withdrawn"


async def test_the_campaign_golden_events_project_into_todays_read_model(
    golden, store, owner, runtime
):
    registry = build_registry()
    stored = [e for e in await store.read_log(TENANT) if e.event_type != "UnitRegistered"]
    # (after the runner's own projection of it: projected again here, rolled back after)
    async with projected_again(owner, runtime, TENANT, golden, TABLES):
        await apply(owner, registry, stored)
        campaign = await owner.fetchrow(
            "SELECT status, theme, amendments::text AS a FROM campaigns WHERE campaign_id = $1",
            OWN,
        )
        assert (campaign["status"], campaign["theme"]) == (
            "concluded",
            "Đoàn kết, sáng tạo, an toàn",
        )
        assert "Theo chỉ đạo của LĐLĐ tỉnh" in campaign["a"]
        initiative = await owner.fetchrow(
            "SELECT benefit_vnd, recognised_on FROM campaign_initiatives WHERE initiative_id = $1",
            INITIATIVE,
        )
        assert (initiative["benefit_vnd"], initiative["recognised_on"]) == (
            95_000_000,
            date(2021, 7, 3),
        )
        pledges = await owner.fetch(
            "SELECT status FROM campaign_pledges WHERE tenant_id = $1 ORDER BY status", TENANT
        )
        assert [p["status"] for p in pledges] == ["registered", "withdrawn"]
        assert (
            await owner.fetchval("SELECT value_vnd FROM campaign_works WHERE work_id = $1", WORK)
            == 52_000_000_000
        )
