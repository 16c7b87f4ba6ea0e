"""A lower unit's proposal file imported (issue 14, point 16): an XLSX of nominees in the usual
layout becomes a draft proposal of the importing unit, each good row a nominee (the rules
checked as for any), each bad row named with its code."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.awards.test_people_graphql import register
from tests.campaign.test_pledges import csv_file, xlsx_file
from tests.registry.test_graphql import gql

READ = """query($id: ID!) { proposal(id: $id) { status title nomineeCount
  nominees(first: 10) { edges { node { award subject unitId person { fullName } findings { rule } } } } } }"""


async def post(client, tokens, unit, content, name, roles=("officer",), **query):
    token = tokens.issue(tenant=unit, roles=list(roles), subject="s", ttl=timedelta(minutes=5))
    params = {"title": "Đề nghị khen thưởng năm 2025", "kind": "regular", "year": 2025} | query
    return await client.post(
        "/proposals/import",
        params=params,
        files={"file": (name, content)},
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
async def test_a_lower_units_file_becomes_a_draft_each_bad_row_named(client, tokens, tree, kind):
    staff = f"P{kind}"
    await register(
        client,
        tokens,
        tree.cs1,
        {"fullName": "Đỗ Văn Hùng", "gender": "MALE", "staffNumber": staff},
    )
    aside = f"Q{kind}"
    await register(
        client,
        tokens,
        tree.upper2,
        {"fullName": "Ngoài Tầm", "gender": "MALE", "staffNumber": aside},
    )
    lines = [
        [
            "STT",
            "Số hiệu",
            "Họ và tên",
            "Đơn vị",
            "Đối tượng",
            "Hình thức khen thưởng",
            "Tóm tắt thành tích",
        ],
        [
            "1",
            staff,
            "Đỗ Văn Hùng",
            tree.cs1,
            "Cá nhân",
            "Bằng khen của Ban Chấp hành Tổng Liên đoàn Lao động Việt Nam",
            "Hai sáng kiến",
        ],
        ["2", "KHONG-CO", "Không Có", tree.cs1, "Cá nhân", "bang_khen_tld", ""],
        ["3", "", "Công đoàn cơ sở", tree.cs1, "Tập thể", "bang khen tld", "Vững mạnh ba năm liền"],
        ["4", staff, "Đỗ Văn Hùng", tree.cs1, "Cá nhân", "Huy chương vàng", ""],
        ["5", aside, "Ngoài Tầm", tree.upper2, "Cá nhân", "bang_khen_tld", ""],
    ]
    content = xlsx_file(lines) if kind == "xlsx" else csv_file(lines)
    response = await post(client, tokens, tree.upper1, content, f"de-nghi.{kind}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["received"], body["written"], body["errorCount"]) == (5, 2, 3), body["errors"]
    assert [(e["row"], e["code"]) for e in body["errors"]] == [
        (3, "NOT_FOUND"),
        (5, "PROPOSAL_INVALID"),
        (6, "NOT_FOUND"),
    ]
    seen = await gql(client, tokens, tree.upper1, ["officer"], READ, id=body["proposalId"])
    proposal = seen["data"]["proposal"]
    assert (proposal["status"], proposal["nomineeCount"]) == ("draft", 2)
    nodes = [e["node"] for e in proposal["nominees"]["edges"]]
    assert (
        nodes[0]["person"] == {"fullName": "Đỗ Văn Hùng"} and nodes[0]["award"] == "bang_khen_tld"
    )
    assert (nodes[1]["subject"], nodes[1]["unitId"]) == ("COLLECTIVE", tree.cs1)


async def test_an_import_is_refused_before_its_file_is_read_and_drafts_nothing_it_cannot_read(
    client, tokens, tree
):
    member = await post(client, tokens, tree.upper1, b"\xff not read", "x.csv", roles=("member",))
    assert (member.status_code, member.json()["code"]) == (403, "FORBIDDEN")
    unreadable = await post(client, tokens, tree.upper1, csv_file([["Tên"], ["A"]]), "x.csv")
    assert (unreadable.status_code, unreadable.json()["code"]) == (422, "FILE_INVALID")
    mine = await gql(
        client,
        tokens,
        tree.upper1,
        ["officer"],
        "{ myProposals(first: 50) { edges { node { id } } } }",
    )
    assert mine["data"]["myProposals"]["edges"] == []
