"""Sealed summaries as stored (tests/golden/awards_sealed_summaries.jsonl: one grassroots
union's log, written by the code of its day and exported with ``thidua log export``), replayed by
today's code: its chain intact, its events decoded, and a person nominee's summaries opened with
the one key the file's author kept (the test's own: a golden file holds no key), a collective's
read as written.

Its life: Phan Thị Hoà registered (HS-07); a proposal drafted with her (NomineeAdded v2, her
summary sealed), then two more at once (NomineesAdded v2: hers sealed, the Tổ hóa nghiệm's
plain)."""

from __future__ import annotations

from uuid import UUID

import orjson
import pytest

from services.awards.projections import TABLES, apply, build_registry
from shared import audit
from tests.conftest import GOLDEN
from tests.shared.test_audit import standalone_verifier
from tests.shared.test_golden import golden_rows, insert_golden, projected_again

FILE = GOLDEN / "awards_sealed_summaries.jsonl"
TENANT = "golden-cs-sealed-summary"
KEY_ID = UUID("0f17f7d2-aede-4ad0-bffd-234ba356d731")
KEY = bytes.fromhex("5eac4b1ad9a5b0b4013b6e8dc5ad15eace594fa553ea372d9c25923a0ab97ea3")
PROPOSAL = UUID("0598cf3a-6481-4fe0-8ec9-972f455654bd")


@pytest.fixture(scope="module")
async def golden(database_url):
    return await insert_golden(database_url, golden_rows(FILE))


async def test_the_sealed_summaries_chain_verifies_and_holds_no_summary_in_plain(golden, owner):
    verdict = await audit.verify_tenant(owner, TENANT)
    assert verdict.ok, verdict.describe()
    lines = FILE.read_text(encoding="utf-8").splitlines()
    assert standalone_verifier()(lines) == f"OK 4 events, head {golden[-1]['hash']}"
    text = FILE.read_text(encoding="utf-8")
    for secret in ("rò rỉ hóa chất", "40 công nhân mới", "Hoà"):
        assert secret not in text and orjson.dumps(secret).decode()[1:-1] not in text
    versions = {r["event_type"]: r["schema_version"] for r in golden}
    assert (versions["NomineeAdded"], versions["NomineesAdded"]) == (2, 2)


async def test_the_sealed_summaries_project_with_the_key_that_is_left(
    golden, store, owner, runtime
):
    stored = await store.read_log(TENANT)
    async with projected_again(owner, runtime, TENANT, golden, TABLES, (KEY_ID, KEY)):
        await apply(owner, build_registry(), stored)
        rows = await owner.fetch(
            "SELECT award, subject, summary, summary_key FROM proposal_nominees "
            "WHERE proposal_id = $1 ORDER BY added_seq",
            PROPOSAL,
        )
        assert [(r["award"], r["summary"], r["summary_key"]) for r in rows] == [
            ("bang_khen_ldld", "Chị Hoà phát hiện và xử lý sự cố rò rỉ hóa chất", KEY_ID),
            ("giay_khen_cdcs", "Chị Hoà hướng dẫn 40 công nhân mới", KEY_ID),
            ("giay_khen_cdcs", "Tổ hóa nghiệm", None),
        ]
