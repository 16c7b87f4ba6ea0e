"""Pledges (giao ước thi đua): in bulk through GraphQL and as an uploaded CSV or XLSX file. The
good rows are written, the bad ones named, and the same rows sent again write nothing."""

from __future__ import annotations

import asyncio
import csv
import io
import unicodedata
from datetime import timedelta

import pytest
import xlsxwriter

from services.campaign.bulk import PledgeRow, register_pledges
from tests.registry.test_graphql import code_of, gql

from .conftest import officer, seed_003
from .test_graphql import launched

PLEDGE = """mutation($c: ID!, $rows: [PledgeRowInput!]!) {
  registerPledges(campaignId: $c, rows: $rows) {
    received written unchanged errorCount errors { row code field message } } }"""
PLEDGES = """query($c: ID, $u: ID, $sub: Boolean!, $s: String, $t: String) {
  pledges(campaignId: $c, unitId: $u, subtree: $sub, search: $s, title: $t) {
    total byTitle { title titleName count }
    edges { node { id unitId name ref title titleName subject status late } } } }"""
WITHDRAW = """mutation($p: ID!, $r: String!) { withdrawPledge(pledgeId: $p, reason: $r) {
  status reason } }"""


async def pledged(owner, tenant: str) -> int:
    return await owner.fetchval(
        "SELECT count(*) FROM events WHERE tenant_id = $1 AND event_type = 'PledgeRegistered'",
        tenant,
    )


async def test_ten_thousand_rows_three_bad_write_9997_name_the_3_and_a_repeat_writes_nothing(
    client, tokens, tree, owner
):
    campaign_id = await launched(client, tokens, tree.prov1)
    rows = [
        {"name": f"Nguyễn Văn {i}", "ref": f"NV{i:05d}", "title": "Lao động tiên tiến"}
        for i in range(10_000)
    ]
    rows[17] = {"name": "  ", "title": "lao_dong_tien_tien"}
    rows[4242] = {"name": "Trần Thị Bình", "title": "Anh hùng Lao động"}
    rows[9000] = {"name": "Tổ bảo dưỡng", "subject": "PERSON", "title": "Cờ thi đua"}

    body = await gql(client, tokens, tree.upper1, ["officer"], PLEDGE, c=campaign_id, rows=rows)
    result = body["data"]["registerPledges"]
    assert (result["received"], result["written"], result["unchanged"]) == (10_000, 9_997, 0)
    assert [(e["row"], e["code"], e["field"]) for e in result["errors"]] == [
        (18, "PLEDGE_INVALID", "name"),
        (4243, "TITLE_UNKNOWN", "title"),
        (9001, "TITLE_SUBJECT_MISMATCH", "title"),
    ]
    assert result["errorCount"] == 3
    assert await pledged(owner, tree.upper1) == 9_997

    again = await gql(client, tokens, tree.upper1, ["officer"], PLEDGE, c=campaign_id, rows=rows)
    result = again["data"]["registerPledges"]
    assert (result["written"], result["unchanged"], result["errorCount"]) == (0, 9_997, 3)
    assert await pledged(owner, tree.upper1) == 9_997

    listed = await gql(
        client, tokens, tree.upper1, ["officer"], PLEDGES, c=campaign_id, sub=False, t=None
    )
    page = listed["data"]["pledges"]
    assert page["total"] == 9_997
    assert page["byTitle"] == [
        {"title": "lao_dong_tien_tien", "titleName": "Lao động tiên tiến", "count": 9_997}
    ]
    assert len(page["edges"]) == 100


async def test_a_bulk_row_with_a_control_character_is_named_and_the_others_kept(
    client, tokens, tree, owner
):
    campaign_id = await launched(client, tokens, tree.prov1)
    rows = [
        {"name": "Nguyễn Văn Ân\u001b[2J", "title": "Lao động tiên tiến"},
        {"name": "Lê Thị\u000bHoa", "title": "Lao động tiên tiến"},  # Word's soft line break
        {"name": "Trần Văn Bảy", "title": "Lao động tiên tiến"},
    ]
    body = await gql(client, tokens, tree.upper1, ["officer"], PLEDGE, c=campaign_id, rows=rows)
    result = body["data"]["registerPledges"]
    assert [(e["row"], e["code"], e["field"]) for e in result["errors"]] == [
        (1, "PLEDGE_INVALID", "name")
    ]
    assert result["written"] == 2 and await pledged(owner, tree.upper1) == 2
    listed = await gql(
        client, tokens, tree.upper1, ["officer"], PLEDGES, c=campaign_id, sub=False, s="hoa"
    )
    assert [e["node"]["name"] for e in listed["data"]["pledges"]["edges"]] == ["Lê Thị Hoa"]


async def test_a_row_repeated_in_one_call_is_named_and_the_subject_follows_the_title(
    client, tokens, tree, owner
):
    campaign_id = await launched(client, tokens, tree.prov1)
    nfd = unicodedata.normalize("NFD", "Phạm Thị Hương")
    rows = [
        {"name": nfd, "title": "chien si thi dua co so"},
        {"name": "Phạm Thị Hương", "title": "Chiến sĩ thi đua cơ sở"},
        {"name": "Phòng Kỹ thuật", "title": "Tập thể lao động xuất sắc"},
    ]
    body = await gql(client, tokens, tree.upper1, ["officer"], PLEDGE, c=campaign_id, rows=rows)
    result = body["data"]["registerPledges"]
    assert result["written"] == 2
    [error] = result["errors"]
    assert (error["row"], error["code"]) == (2, "PLEDGE_DUPLICATE_ROW")
    assert "dòng 1" in error["message"]
    listed = await gql(
        client, tokens, tree.upper1, ["officer"], PLEDGES, c=campaign_id, sub=False, s="huong"
    )
    [item] = [e["node"] for e in listed["data"]["pledges"]["edges"]]
    assert item["name"] == "Phạm Thị Hương"  # stored in NFC
    assert (item["subject"], item["title"]) == ("PERSON", "chien_si_thi_dua_co_so")
    collective = await gql(
        client, tokens, tree.upper1, ["officer"], PLEDGES, c=campaign_id, sub=False, s="ky thuat"
    )
    assert collective["data"]["pledges"]["edges"][0]["node"]["subject"] == "COLLECTIVE"


async def test_pledges_are_read_by_the_unit_and_those_above_it_only(
    client, tokens, tree, elsewhere
):
    campaign_id = await launched(client, tokens, tree.prov1)
    rows = [{"name": "Lê Văn Cường", "ref": "A1", "title": "Lao động tiên tiến"}]
    await gql(client, tokens, tree.cs1, ["officer"], PLEDGE, c=campaign_id, rows=rows)

    async def seen(reader: str, unit: str, subtree: bool):
        body = await gql(
            client, tokens, reader, ["officer"], PLEDGES, c=campaign_id, u=unit, sub=subtree
        )
        page = body["data"]["pledges"]
        return None if page is None else page["total"]

    assert await seen(tree.cs1, tree.cs1, False) == 1  # itself
    assert await seen(tree.upper1, tree.cs1, False) == 1  # its parent
    assert await seen(tree.prov1, tree.prov1, True) == 1  # its grandparent, over the subtree
    assert await seen(tree.tld, tree.tld, True) == 1
    assert await seen(tree.upper2, tree.cs1, False) is None  # its parent's sibling
    assert await seen(tree.upper2, tree.upper2, True) == 0
    assert await seen(tree.upper3, tree.cs1, False) is None  # a cousin
    assert await seen(elsewhere, tree.cs1, False) is None
    assert await seen(tree.cs1, tree.upper1, False) is None  # a child reads not its parent's


async def test_a_pledge_is_withdrawn_with_its_reason_once_and_by_its_own_unit_only(
    client, tokens, tree, owner
):
    campaign_id = await launched(client, tokens, tree.prov1)
    rows = [{"name": "Lê Văn Cường", "ref": "A1", "title": "Lao động tiên tiến"}]
    await gql(client, tokens, tree.upper1, ["officer"], PLEDGE, c=campaign_id, rows=rows)
    listed = await gql(client, tokens, tree.upper1, ["officer"], PLEDGES, c=campaign_id, sub=False)
    pledge_id = listed["data"]["pledges"]["edges"][0]["node"]["id"]

    other = await gql(client, tokens, tree.prov1, ["officer"], WITHDRAW, p=pledge_id, r="Sai")
    assert code_of(other) == "NOT_FOUND"  # the parent reads it, but it is not the parent's
    bad = await gql(client, tokens, tree.upper1, ["officer"], WITHDRAW, p="x", r="Sai")
    assert code_of(bad) == "NOT_FOUND"
    body = await gql(client, tokens, tree.upper1, ["officer"], WITHDRAW, p=pledge_id, r="Nghỉ việc")
    assert body["data"]["withdrawPledge"] == {"status": "withdrawn", "reason": "Nghỉ việc"}
    twice = await gql(client, tokens, tree.upper1, ["officer"], WITHDRAW, p=pledge_id, r="Lại")
    assert code_of(twice) == "PLEDGE_WITHDRAWN"
    listed = await gql(client, tokens, tree.upper1, ["officer"], PLEDGES, c=campaign_id, sub=False)
    assert listed["data"]["pledges"]["total"] == 0  # withdrawn ones are left out by default


async def test_a_whole_call_is_refused_for_a_campaign_out_of_reach_or_not_launched(
    client, tokens, tree, campaigns, owner
):
    below = await launched(client, tokens, tree.upper1)
    rows = [{"name": "Lê Văn Cường", "title": "Lao động tiên tiến"}]
    body = await gql(client, tokens, tree.prov1, ["officer"], PLEDGE, c=below, rows=rows)
    assert code_of(body) == "NOT_FOUND"  # a campaign of a unit below is not the province's
    cousin = await gql(client, tokens, tree.upper3, ["officer"], PLEDGE, c=below, rows=rows)
    assert code_of(cousin) == "NOT_FOUND"
    draft = await seed_003(campaigns, tree.prov1, launch=False)
    body = await gql(client, tokens, tree.prov1, ["officer"], PLEDGE, c=str(draft), rows=rows)
    assert code_of(body) == "CAMPAIGN_NOT_LAUNCHED"
    member = await gql(client, tokens, tree.upper1, ["member"], PLEDGE, c=below, rows=rows)
    assert code_of(member) == "FORBIDDEN"
    with pytest.raises(Exception) as caught:
        await register_pledges(
            campaigns,
            officer(tree.upper1),
            below,
            [PledgeRow(row=n, subject="", name=f"A{n}", title="co_thi_dua") for n in (1, 2, 3)],
            max_rows=2,
        )
    assert getattr(caught.value, "code", None) == "BULK_TOO_LARGE"
    assert await pledged(owner, tree.upper1) == 0
    assert await pledged(owner, tree.prov1) == 0


# --- files ---------------------------------------------------------------------------------------


def csv_file(lines: list[list[str]], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(lines)
    return ("\ufeff" + out.getvalue()).encode()  # Excel writes a BOM


def xlsx_file(lines: list[list[object]]) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out)
    sheet = book.add_worksheet("Giao ước")
    for number, line in enumerate(lines):
        sheet.write_row(number, 0, line)
    book.close()
    return out.getvalue()


async def upload(client, tokens, tenant: str, campaign_id: str, content: bytes, name: str):
    token = tokens.issue(tenant=tenant, roles=["officer"], subject="s", ttl=timedelta(minutes=5))
    return await client.post(
        f"/campaigns/{campaign_id}/pledges",
        files={"file": (name, content)},
        headers={"Authorization": f"Bearer {token}"},
    )


LINES = [
    ["Họ tên", "Mã", "Đối tượng", "Danh hiệu"],
    ["Nguyễn Văn An", "NV001", "Cá nhân", "Lao động tiên tiến"],
    ["Trần Thị Bình", "NV002", "ca nhan", "Chien si thi dua co so"],
    ["", "", "", ""],
    ["Phân xưởng Cơ điện", "", "Tập thể", "Tập thể lao động xuất sắc"],
    ["Lê Văn Cường", "NV003", "Cá nhân", "Cờ thi đua"],
]


@pytest.mark.parametrize("kind", ["csv", "csv;", "xlsx"])
async def test_an_uploaded_file_writes_its_good_rows_names_its_bad_ones_by_line(
    client, tokens, tree, owner, kind
):
    campaign_id = await launched(client, tokens, tree.prov1)
    if kind == "xlsx":
        lines = [[*line[:1], 1024, *line[2:]] if n == 2 else line for n, line in enumerate(LINES)]
        content, name = xlsx_file(lines), "giao-uoc.xlsx"
    else:
        content, name = csv_file(LINES, kind[3:] or ","), "giao-uoc.csv"
    response = await upload(client, tokens, tree.upper1, campaign_id, content, name)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["received"], body["written"], body["unchanged"]) == (4, 3, 0)
    assert [(e["row"], e["code"]) for e in body["errors"]] == [(6, "TITLE_SUBJECT_MISMATCH")]
    again = (await upload(client, tokens, tree.upper1, campaign_id, content, name)).json()
    assert (again["written"], again["unchanged"]) == (0, 3)
    assert await pledged(owner, tree.upper1) == 3
    if kind == "xlsx":
        refs = await owner.fetch(
            "SELECT ref FROM campaign_pledges WHERE tenant_id = $1 ORDER BY ref", tree.upper1
        )
        assert [r["ref"] for r in refs] == ["", "1024", "NV001"]


async def test_an_upload_without_a_token_a_readable_file_or_its_columns_is_refused_whole(
    client, tokens, tree, owner
):
    campaign_id = await launched(client, tokens, tree.prov1)
    anonymous = await client.post(
        f"/campaigns/{campaign_id}/pledges", files={"file": ("a.csv", csv_file(LINES))}
    )
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "UNAUTHENTICATED"
    cases = [
        (b"\xff\xfe\x00garbage", 422, "FILE_INVALID"),
        (b"PK\x03\x04 not really a workbook", 422, "FILE_INVALID"),
        (csv_file([["Họ tên", "Mã"], ["Nguyễn Văn An", "1"]]), 422, "FILE_INVALID"),
    ]
    for content, status, code in cases:
        response = await upload(client, tokens, tree.upper1, campaign_id, content, "x.csv")
        assert (response.status_code, response.json()["code"]) == (status, code)
    missing = await upload(client, tokens, tree.upper1, "not-an-id", csv_file(LINES), "x.csv")
    assert (missing.status_code, missing.json()["code"]) == (404, "NOT_FOUND")
    out_of_reach = await upload(client, tokens, tree.upper3, campaign_id, csv_file(LINES), "x.csv")
    assert (out_of_reach.status_code, out_of_reach.json()["code"]) == (404, "NOT_FOUND")
    assert await pledged(owner, tree.upper1) == 0


async def test_the_same_rows_sent_twice_at_once_are_written_once_and_both_calls_answer(
    campaigns, tree, owner
):
    campaign_id = await seed_003(campaigns, tree.prov1)
    rows = [
        PledgeRow(row=n, subject="", name=f"Đỗ Thị {n}", title="Lao động tiên tiến")
        for n in range(1, 2_001)
    ]
    first, second = await asyncio.gather(
        *(
            register_pledges(campaigns, officer(tree.upper1), campaign_id, rows, max_rows=5_000)
            for _ in range(2)
        )
    )
    assert sorted((first.written, second.written)) == [0, 2_000]
    assert sorted((first.unchanged, second.unchanged)) == [0, 2_000]
    assert await pledged(owner, tree.upper1) == 2_000
