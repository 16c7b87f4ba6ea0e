"""The awards service's stored history (tests/golden/awards_events.jsonl: one grassroots union's
log, written by the code of its day and exported with ``thidua log export``), replayed by today's
code: every event name still registered, its chain intact, its aggregates rebuilt, and its
sealed texts opened by today's code with the one key the file's author kept (the test's own: a
golden file holds no key) while the erased person stays erased.

Its life: Nguyễn Thị Ánh registered (XM-01) and amended (a new post, a union cadre since
2021-05-20, a new contact); Trần Văn Bình registered (XM-02), left on 2022-01-31 and erased; Lò
Văn Páo registered without a staff number."""

from __future__ import annotations

from datetime import date
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

FILE = GOLDEN / "awards_events.jsonl"
TENANT = "golden-cs-xi-mang-td"
ANH = UUID("f66741d1-854e-5ec2-9a9a-758158fff6f1")
ANH_KEY_ID = UUID("14b0d2a1-2afa-4831-bac6-ecb5b2b283f6")
ANH_KEY = bytes.fromhex("6c37cc17a86a75cb0249e89979ca5828d4d5b5a25e6ebeb23c621b6c90cd6786")
BINH = UUID("6dc5a282-0990-5121-b2d6-48fb05cfe811")


@pytest.fixture(scope="module")
async def golden(database_url):
    return await insert_golden(database_url, golden_rows(FILE))


async def test_the_awards_golden_chain_verifies_in_the_product_and_standalone(golden, owner):
    verdict = await audit.verify_tenant(owner, TENANT)
    assert verdict.ok, verdict.describe()
    assert verdict.count == len(golden) == 7
    lines = FILE.read_text(encoding="utf-8").splitlines()
    assert standalone_verifier()(lines) == f"OK 7 events, head {golden[-1]['hash']}"


async def test_every_person_event_type_is_in_the_golden_file_and_still_registered(golden, store):
    registry, units = build_registry(), unit_registry()
    stored = await store.read_log(TENANT)
    for event in stored:
        (units if event.event_type == "UnitRegistered" else registry).decode(event)
    # Those of its day (rule 10's are in awards_rules_events.jsonl, tests/awards/test_golden_rules.py).
    assert {cls.__name__ for cls in PERSON_EVENTS[:4]} <= {e.event_type for e in stored}
    text = FILE.read_text(encoding="utf-8")
    # Accented names: hashes and sealed text (hex, base64) hold ASCII only.
    for name in ("Nguyễn Thị Ánh", "Trần Văn Bình", "Lò Văn Páo", "Ánh", "Bình", "Páo"):
        assert name not in text and orjson.dumps(name).decode()[1:-1] not in text
    for row in golden:
        shown = {k: v for k, v in row["data"].items() if k != "sealed"}
        assert not {"full_name", "birth_year", "contacts"} & set(shown)


async def test_the_awards_golden_aggregates_rebuild_with_todays_code(golden, store):
    repo = Repository(store, build_registry(), snapshot_every=0)
    anh, binh = await repo.get(TENANT, ANH), await repo.get(TENANT, BINH)
    assert isinstance(anh, Person) and isinstance(binh, Person)
    assert (anh.status, anh.staff_number, anh.key_id, anh.version) == (
        "active",
        "XM-01",
        ANH_KEY_ID,
        2,
    )
    assert (binh.status, binh.staff_number, binh.version) == ("erased", "XM-02", 3)


async def test_the_golden_events_project_with_the_key_that_is_left(golden, store, owner, runtime):
    stored = [e for e in await store.read_log(TENANT) if e.event_type != "UnitRegistered"]
    async with projected_again(owner, runtime, TENANT, golden, TABLES, (ANH_KEY_ID, ANH_KEY)):
        await apply(owner, build_registry(), stored)
        rows = {
            r["staff_number"]: r
            for r in await owner.fetch("SELECT * FROM people WHERE tenant_id = $1", TENANT)
        }
        anh, binh, pao = rows["XM-01"], rows["XM-02"], rows[""]
        assert (anh["full_name"], anh["birth_year"]) == ("Nguyễn Thị Ánh", 1990)
        assert orjson.loads(anh["contacts"]) == ["anh@ximang.vn"]
        assert (anh["post"], anh["cadre"], anh["cadre_since"]) == (
            "Tổ trưởng",
            "part_time",
            date(2021, 5, 20),
        )
        assert (binh["full_name"], binh["status"], binh["gender"]) == (None, "erased", "male")
        assert binh["left_on"] == date(2022, 1, 31)
        # Páo's key was never in the file: no key, nothing opens, he reads as erased.
        assert (pao["full_name"], pao["direct_worker"]) == (None, True)
