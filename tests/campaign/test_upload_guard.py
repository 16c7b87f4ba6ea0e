"""The pledge upload route (POST /campaigns/{id}/pledges) against hostile and careless callers:
rights are decided before a byte of the file is read, a file over a limit is refused with a
code and writes nothing, and the server keeps serving (issue 12, finding 1)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from services.gateway.app import create_app
from tests.shared import xlsx_files

from .conftest import seed_003
from .test_pledges import LINES, csv_file, pledged

GARBAGE = b"PK\x03\x04 not really a workbook"  # FILE_INVALID to anyone allowed to send it


@pytest.fixture
async def small(settings, runtime):
    """A gateway whose limits are small: 50 rows, 64 KiB a file."""
    limited = settings.model_copy(update={"max_bulk_rows": 50, "max_upload_bytes": 64 * 1024})
    transport = httpx.ASGITransport(app=create_app(limited, runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def post(client, tokens, tenant: str, roles: list[str], campaign_id, content: bytes):
    token = tokens.issue(tenant=tenant, roles=roles, subject="s", ttl=timedelta(minutes=5))
    response = await client.post(
        f"/campaigns/{campaign_id}/pledges",
        files={"file": ("giao-uoc.xlsx", content)},
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.status_code, response.json().get("code")


@pytest.mark.parametrize("content", [GARBAGE, xlsx_files.sparse(), b"\n" * (200 * 1024)])
async def test_a_caller_who_may_not_pledge_gets_the_rights_error_and_the_file_is_never_read(
    small, tokens, tree, campaigns, owner, content
):
    # Given a launched campaign of the province and a draft of its own, and a file that would
    # be refused (unreadable, too large a sheet, or a body over the size limit) if it were read
    campaign = await seed_003(campaigns, tree.prov1)
    draft = await seed_003(campaigns, tree.upper1, launch=False)
    cases = {
        "a member": (tree.upper1, ["member"], campaign, (403, "FORBIDDEN")),
        "an unregistered unit": (f"{tree.prefix}-ghost", ["officer"], campaign, (404, "NOT_FOUND")),
        "a cousin": (tree.upper3, ["officer"], campaign, (404, "NOT_FOUND")),
        "a unit below": (tree.prov1, ["officer"], draft, (404, "NOT_FOUND")),
        "a draft": (tree.upper1, ["officer"], draft, (422, "CAMPAIGN_NOT_LAUNCHED")),
        "no such campaign": (tree.upper1, ["officer"], "not-an-id", (404, "NOT_FOUND")),
    }
    for who, (tenant, roles, campaign_id, refusal) in cases.items():
        # When they upload it, then they get the rights error, not the file's
        answer = await post(small, tokens, tenant, roles, campaign_id, content)
        assert answer == refusal, who
    assert await pledged(owner, tree.upper1) == 0


async def test_the_sparse_sheet_is_refused_with_a_code_and_a_good_file_still_works(
    client, tokens, tree, campaigns, owner
):
    # Given an officer of a unit under a launched campaign
    campaign = await seed_003(campaigns, tree.prov1)
    # When it sends the 1 KB sheet with cells at A1 and XFD1048576
    answer = await post(client, tokens, tree.upper1, ["officer"], campaign, xlsx_files.sparse())
    # Then it is refused as too large, and the same server then takes a good file
    assert answer == (413, "FILE_TOO_LARGE")
    good = await post(client, tokens, tree.upper1, ["officer"], campaign, csv_file(LINES))
    assert good == (200, None)
    assert await pledged(owner, tree.upper1) == 3


async def test_a_file_over_the_row_limit_or_the_size_limit_is_refused_whole(
    small, tokens, tree, campaigns, owner
):
    campaign = await seed_003(campaigns, tree.prov1)
    header = ["Họ tên", "Danh hiệu"]
    fifty = [header] + [[f"Đỗ Thị {n}", "Lao động tiên tiến"] for n in range(50)]
    upload = (small, tokens, tree.upper1, ["officer"], campaign)
    # 51 rows under the header: refused at the 51st, nothing written
    assert await post(*upload, csv_file([*fifty, ["Đỗ Thị 50", "Lao động tiên tiến"]])) == (
        413,
        "FILE_TOO_LARGE",
    )
    # blank lines count: a file of newlines is refused by its count, not read to its end
    assert await post(*upload, b"\n" * (60 * 1024)) == (413, "FILE_TOO_LARGE")
    # more bytes than the upload limit, whatever they hold: a file just over it, and a body
    # far over it, cut off as it streams in
    assert await post(*upload, b"x" * (65 * 1024)) == (413, "FILE_TOO_LARGE")
    assert await post(*upload, b"x" * (1024 * 1024)) == (413, "FILE_TOO_LARGE")
    assert await pledged(owner, tree.upper1) == 0
    # 50 rows: all written
    assert await post(*upload, csv_file(fifty)) == (200, None)
    assert await pledged(owner, tree.upper1) == 50


async def test_a_zip_bomb_is_refused_and_writes_nothing(client, tokens, tree, campaigns, owner):
    campaign = await seed_003(campaigns, tree.prov1)
    bomb = xlsx_files.zip_bomb(64 * 1024 * 1024)
    answer = await post(client, tokens, tree.upper1, ["officer"], campaign, bomb)
    assert answer == (413, "FILE_TOO_LARGE")
    assert await pledged(owner, tree.upper1) == 0


async def test_a_body_that_is_not_a_multipart_form_is_refused_before_it_is_read(
    client, tokens, tree, campaigns
):
    campaign = await seed_003(campaigns, tree.prov1)
    token = tokens.issue(
        tenant=tree.upper1, roles=["officer"], subject="s", ttl=timedelta(minutes=5)
    )
    response = await client.post(
        f"/campaigns/{campaign}/pledges",
        content=csv_file(LINES),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
    )
    assert (response.status_code, response.json()["code"]) == (422, "FILE_INVALID")
