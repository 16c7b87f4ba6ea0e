"""Sealed names as stored (tests/golden/campaign_sealed_names.jsonl: one grassroots union's log,
written by the code of its day and exported with ``thidua log export``), replayed by today's
code: its chain intact, every event decoded, and its names opened with the one key the file's
author kept (the test's own: a golden file holds no key) while the erased person stays erased.

Its life: Hoàng Thị Lan registered (SN-01); Đặng Văn Khoa made for his name; each pledges Lao
động tiên tiến (PledgeRegistered v2, sealed with their keys), and the Tổ Sợi 2 pledges as a
collective (plain); both are authors of one initiative (InitiativeRegistered v2); Khoa erased."""

from __future__ import annotations

from uuid import UUID

import orjson
import pytest

from services.awards.projections import build_registry as awards_registry
from services.campaign.projections import TABLES, apply, build_registry
from services.registry.projections import build_registry as unit_registry
from shared import audit
from tests.conftest import GOLDEN
from tests.shared.test_audit import standalone_verifier
from tests.shared.test_golden import golden_rows, insert_golden, projected_again

FILE = GOLDEN / "campaign_sealed_names.jsonl"
TENANT = "golden-cs-sealed-names"
LAN_KEY_ID = UUID("f1457fa6-ce83-44da-8f54-b44f492dd35b")
LAN_KEY = bytes.fromhex("c43bba0b408a23ff06e1f943e34387e1cff4ade6e6e38ef6a987c1641b2e4806")
LAN_PLEDGE = UUID("ee5aea3e-6d68-5240-b107-9989c4b617b6")
KHOA_PLEDGE = UUID("01b5eef0-e7e5-5d61-b1f1-bbaad84f5ef1")
TEAM_PLEDGE = UUID("62efec9b-3dc7-5936-b61e-60c1eba48021")
INITIATIVE = UUID("c4612f18-7f73-4bd3-b113-ac4ac2350f6b")


@pytest.fixture(scope="module")
async def golden(database_url):
    return await insert_golden(database_url, golden_rows(FILE))


async def test_the_sealed_names_chain_verifies_and_holds_no_name_in_plain(golden, owner, store):
    verdict = await audit.verify_tenant(owner, TENANT)
    assert verdict.ok, verdict.describe()
    lines = FILE.read_text(encoding="utf-8").splitlines()
    assert standalone_verifier()(lines) == f"OK 7 events, head {golden[-1]['hash']}"
    text = FILE.read_text(encoding="utf-8")
    for name in ("Hoàng Thị Lan", "Đặng Văn Khoa", "Lan", "Khoa"):
        assert name not in text and orjson.dumps(name).decode()[1:-1] not in text
    assert "Tổ Sợi 2" in text or orjson.dumps("Tổ Sợi 2").decode()[1:-1] in text  # a collective
    campaigns, awards, units = build_registry(), awards_registry(), unit_registry()
    for event in await store.read_log(TENANT):
        names = awards.event_names() | units.event_names()
        (awards if event.event_type in names else campaigns).decode(event)
    assert [r["schema_version"] for r in golden if r["event_type"] == "PledgeRegistered"] == [2] * 3


async def test_the_sealed_names_project_with_the_key_that_is_left(golden, store, owner, runtime):
    stored = await store.read_log(TENANT)
    async with projected_again(owner, runtime, TENANT, golden, TABLES, (LAN_KEY_ID, LAN_KEY)):
        await apply(owner, build_registry(), stored)
        names = {
            r["pledge_id"]: (r["name"], r["key_id"])
            for r in await owner.fetch(
                "SELECT pledge_id, name, key_id FROM campaign_pledges WHERE tenant_id = $1", TENANT
            )
        }
        assert names[LAN_PLEDGE] == ("Hoàng Thị Lan", LAN_KEY_ID)
        assert names[KHOA_PLEDGE][0] == ""  # erased: his key was never in the file
        assert names[TEAM_PLEDGE] == ("Tổ Sợi 2", None)
        authors = await owner.fetchval(
            "SELECT authors::text FROM campaign_initiatives WHERE initiative_id = $1", INITIATIVE
        )
        assert orjson.loads(authors) == ["Hoàng Thị Lan", None]
