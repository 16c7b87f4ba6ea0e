"""A leaving's reason sealed with the person's key (``PersonLeft`` of schema version 2), as the
code of its day stored it (tests/golden/awards_left_sealed.jsonl: Hoàng Thị Lụa leaves
golden-cs-left-sealed on 2024-06-30), replayed by today's code: the chain verifies, the event
decodes, the person rebuilds, and the reason opens with the key the test kept; without the key
(an erasure), nothing of it reads."""

from __future__ import annotations

from uuid import UUID

import orjson
import pytest

from services.awards.projections import TABLES, apply, build_registry
from shared import audit
from shared.aggregates import Repository
from tests.conftest import GOLDEN
from tests.shared.test_golden import golden_rows, insert_golden, projected_again

FILE = GOLDEN / "awards_left_sealed.jsonl"
TENANT = "golden-cs-left-sealed"
LUA = UUID("1cebe761-5880-55a0-bc82-a504bfad87b8")
KEY_ID = UUID("5e1f0c3a-7b2d-4e6f-8a9b-0c1d2e3f4a5b")
KEY = bytes.fromhex("a1" * 16 + "5c" * 16)


@pytest.fixture(scope="module")
async def golden(database_url):
    return await insert_golden(database_url, golden_rows(FILE))


async def test_a_sealed_leaving_replays_and_opens_only_with_its_key(golden, store, owner, runtime):
    verdict = await audit.verify_tenant(owner, TENANT)
    assert verdict.ok, verdict.describe()
    assert "Nghỉ hưu" not in FILE.read_text(encoding="utf-8")
    stored = await store.read_log(TENANT)
    assert [(e.event_type, e.schema_version) for e in stored] == [
        ("PersonRegistered", 1),
        ("PersonLeft", 2),
    ]
    lua = await Repository(store, build_registry(), snapshot_every=0).get(TENANT, LUA)
    assert (lua.status, lua.key_id) == ("left", KEY_ID)
    for key, reason in ((KEY, "Nghỉ hưu theo chế độ"), (None, "")):
        async with projected_again(
            owner, runtime, TENANT, golden, TABLES, (KEY_ID, key) if key is not None else None
        ):
            await apply(owner, build_registry(), stored)
            row = await owner.fetchrow("SELECT * FROM people WHERE person_id = $1", LUA)
            assert row["status"] == "left"
            # without the key (erased), the note carries no reason at all
            assert orjson.loads(row["history"])[-1].get("reason", "") == reason
            assert ("reason" in orjson.loads(row["history"])[-1]) is (key is not None)
            assert (row["full_name"] is not None) == (key is not None)
