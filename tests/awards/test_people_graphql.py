"""A unit's people through the public faces: GraphQL (the register, one person, the commands)
and ``POST /people`` (a CSV or XLSX file), each read path with its isolation: a unit aside, a
member's token, and another tree altogether read nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.campaign.test_pledges import csv_file, xlsx_file
from tests.registry.test_graphql import code_of, gql

PERSON = """fragment P on Person { id unitId staffNumber fullName birthYear contacts gender
  ethnicMinority post directWorker cadre cadreSince employedSince status erased
  history { on what reason } version }"""
REGISTER = (
    PERSON
    + """
mutation($input: PersonInput!) { registerPerson(input: $input) { ...P } }"""
)
PEOPLE = (
    PERSON
    + """
query($unit: ID, $search: String, $status: PersonStatus, $first: Int!, $after: String) {
  people(unitId: $unit, search: $search, status: $status, first: $first, after: $after) {
    total edges { cursor node { ...P } } pageInfo { hasNextPage endCursor } } }"""
)
ONE = PERSON + "query($id: ID!) { person(id: $id) { ...P } }"
ERASE = (
    PERSON
    + """
mutation($id: ID!, $why: String!) { erasePerson(id: $id, legalReason: $why) { ...P } }"""
)

AN = {
    "fullName": "Nguyễn Thị Ánh",
    "gender": "FEMALE",
    "staffNumber": "CN-01",
    "birthYear": 1990,
    "contacts": ["anh@example.vn"],
    "post": "Công nhân vận hành",
    "directWorker": True,
    "cadre": "PART_TIME",
    "cadreSince": "2018-05-01",
}


async def register(client, tokens, unit, person=AN):
    body = await gql(client, tokens, unit, ["officer"], REGISTER, input=person)
    assert "errors" not in body, body
    return body["data"]["registerPerson"]


async def test_an_officer_registers_a_person_and_reads_them_back(client, tokens, tree):
    person = await register(client, tokens, tree.cs1)
    assert person["fullName"] == "Nguyễn Thị Ánh" and person["unitId"] == tree.cs1
    assert (person["gender"], person["cadre"], person["status"]) == (
        "FEMALE",
        "PART_TIME",
        "ACTIVE",
    )
    assert person["cadreSince"] == "2018-05-01" and person["erased"] is False
    again = await gql(client, tokens, tree.cs1, ["officer"], REGISTER, input=AN)
    assert code_of(again) == "PERSON_ALREADY_REGISTERED"


async def test_the_register_is_searched_without_diacritics_and_paged_by_cursor(
    client, tokens, tree
):
    names = ["Trần Văn Đức", "Lê Thị Hoa", "Đặng Văn Dũng", "Phạm Thị Huế", "Vũ Văn Đông"]
    for n, name in enumerate(names):
        await register(
            client,
            tokens,
            tree.upper1,
            {"fullName": name, "gender": "MALE", "staffNumber": f"S{n}"},
        )
    found = await gql(client, tokens, tree.upper1, ["officer"], PEOPLE, search="van d", first=10)
    page = found["data"]["people"]
    assert page["total"] == 3
    assert [e["node"]["fullName"] for e in page["edges"]] == [
        "Đặng Văn Dũng",
        "Trần Văn Đức",
        "Vũ Văn Đông",
    ]
    for number in ("S3", "s3"):  # a staff number in any case
        by_number = await gql(
            client, tokens, tree.upper1, ["officer"], PEOPLE, search=number, first=5
        )
        found = [e["node"]["fullName"] for e in by_number["data"]["people"]["edges"]]
        assert found == ["Phạm Thị Huế"], number
    seen, after = [], None
    while True:
        body = await gql(client, tokens, tree.upper1, ["officer"], PEOPLE, first=2, after=after)
        page = body["data"]["people"]
        seen += [e["node"]["staffNumber"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == [f"S{n}" for n in range(5)] and len(seen) == 5
    bad = await gql(client, tokens, tree.upper1, ["officer"], PEOPLE, first=2, after="nonsense")
    assert code_of(bad) == "INVALID_INPUT"
    too_many = await gql(client, tokens, tree.upper1, ["officer"], PEOPLE, first=501)
    assert code_of(too_many) == "INVALID_INPUT"


@pytest.mark.parametrize(
    ("reader", "roles", "sees"),
    [
        ("cs1", ["officer"], True),
        ("cs1", ["approver"], True),
        ("upper1", ["officer"], True),  # the unit above
        ("prov1", ["auditor"], True),
        ("upper2", ["officer"], False),  # a unit aside
        ("cs1", ["member"], False),  # a member reads no one's personal data
        ("elsewhere", ["admin"], False),  # another tree
    ],
)
async def test_who_reads_a_units_people(client, tokens, tree, elsewhere, reader, roles, sees):
    person = await register(client, tokens, tree.cs1)
    unit = elsewhere if reader == "elsewhere" else getattr(tree, reader)
    one = await gql(client, tokens, unit, roles, ONE, id=person["id"])
    assert "errors" not in one
    assert (one["data"]["person"] is not None) is sees
    listed = await gql(client, tokens, unit, roles, PEOPLE, unit=tree.cs1, first=10)
    page = listed["data"]["people"]
    names = [e["node"]["fullName"] for e in page["edges"]] if page else []
    assert (names == ["Nguyễn Thị Ánh"]) is sees


async def test_an_erased_person_reads_as_erased_with_their_particulars(client, tokens, tree):
    person = await register(client, tokens, tree.cs1)
    missing = await gql(client, tokens, tree.cs1, ["officer"], ERASE, id=person["id"], why="")
    assert code_of(missing) == "REASON_REQUIRED"
    body = await gql(
        client, tokens, tree.cs1, ["officer"], ERASE, id=person["id"], why="Nghị định 13/2023"
    )
    erased = body["data"]["erasePerson"]
    assert erased["erased"] is True and erased["status"] == "ERASED"
    assert erased["fullName"] is None and erased["birthYear"] is None and erased["contacts"] == []
    assert (erased["gender"], erased["directWorker"], erased["staffNumber"]) == (
        "FEMALE",
        True,
        "CN-01",
    )
    listed = await gql(client, tokens, tree.cs1, ["officer"], PEOPLE, search="anh", first=5)
    assert listed["data"]["people"]["total"] == 0  # no name left to find


async def test_an_id_outside_reach_is_not_found_for_every_command(client, tokens, tree):
    person = await register(client, tokens, tree.cs1)
    for query, variables in (
        (ERASE, {"why": "thử"}),
        (
            PERSON
            + 'mutation($id: ID!) { recordLeaving(id: $id, on: "2026-01-01", reason: "x") { ...P } }',
            {},
        ),
    ):
        for pid in (person["id"], "not-a-uuid"):
            body = await gql(client, tokens, tree.upper2, ["officer"], query, id=pid, **variables)
            assert code_of(body) == "NOT_FOUND"
    still = await gql(client, tokens, tree.cs1, ["officer"], ONE, id=person["id"])
    assert still["data"]["person"]["status"] == "ACTIVE"


BULK = """mutation($people: [PersonInput!]!) { registerPeople(people: $people) {
  received written unchanged errorCount errors { row code field } } }"""


async def test_people_in_bulk_through_graphql(client, tokens, tree):
    people = [
        {"fullName": "Hà Văn Mạnh", "gender": "MALE", "staffNumber": "B1"},
        {"fullName": "Không Số", "gender": "MALE"},
        {"fullName": "Hà Thị Ngọc", "gender": "FEMALE", "staffNumber": "B3"},
    ]
    body = await gql(client, tokens, tree.cs1, ["officer"], BULK, people=people)
    result = body["data"]["registerPeople"]
    assert (result["received"], result["written"], result["errorCount"]) == (3, 2, 1)
    assert result["errors"] == [{"row": 2, "code": "PERSON_INVALID", "field": "staffNumber"}]
    again = await gql(client, tokens, tree.cs1, ["officer"], BULK, people=people)
    assert (
        again["data"]["registerPeople"]["written"],
        again["data"]["registerPeople"]["unchanged"],
    ) == (0, 2)


LINES = [
    [
        "Số hiệu",
        "Họ và tên",
        "Giới tính",
        "Năm sinh",
        "Dân tộc thiểu số",
        "Chức vụ",
        "Lao động trực tiếp",
        "Cán bộ công đoàn",
        "Cán bộ từ ngày",
        "Vào làm từ ngày",
        "Liên hệ",
    ],
    [
        "F1",
        "Lường Văn Páo",
        "Nam",
        "1985",
        "x",
        "Thợ điện",
        "có",
        "",
        "",
        "01/09/2008",
        "0988 111 222; pao@example.vn",
    ],
    [
        "F2",
        "Cà Thị Xuân",
        "nu",
        "1992",
        "có",
        "Tổ trưởng",
        "không",
        "không chuyên trách",
        "15/03/2021",
        "2015-02-01",
        "",
    ],
    ["F3", "Không Rõ Giới", "?", "", "", "", "", "", "", "", ""],
    ["F4", "Sai Ngày", "Nam", "", "", "", "", "", "", "31/02/2020", ""],
]


async def upload(client, tokens, unit, content, name, roles=("officer",)):
    token = tokens.issue(tenant=unit, roles=list(roles), subject="s", ttl=timedelta(minutes=5))
    return await client.post(
        "/people", files={"file": (name, content)}, headers={"Authorization": f"Bearer {token}"}
    )


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
async def test_an_uploaded_file_of_people_writes_its_good_rows_names_its_bad_ones(
    client, tokens, tree, kind
):
    if kind == "xlsx":
        content, name = xlsx_file(LINES), "nguoi-lao-dong.xlsx"
    else:
        content, name = csv_file(LINES), "nguoi-lao-dong.csv"
    response = await upload(client, tokens, tree.cs1, content, name)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["received"], body["written"], body["unchanged"]) == (4, 2, 0)
    assert [(e["row"], e["code"], e["field"]) for e in body["errors"]] == [
        (4, "PERSON_INVALID", "gender"),
        (5, "PERSON_INVALID", "employedSince"),
    ]
    listed = await gql(client, tokens, tree.cs1, ["officer"], PEOPLE, first=10)
    people = {e["node"]["staffNumber"]: e["node"] for e in listed["data"]["people"]["edges"]}
    pao, xuan = people["F1"], people["F2"]
    assert (pao["fullName"], pao["gender"], pao["birthYear"]) == ("Lường Văn Páo", "MALE", 1985)
    assert pao["contacts"] == ["0988 111 222", "pao@example.vn"]
    assert pao["ethnicMinority"] and pao["directWorker"] and pao["employedSince"] == "2008-09-01"
    assert (xuan["cadre"], xuan["cadreSince"], xuan["directWorker"]) == (
        "PART_TIME",
        "2021-03-15",
        False,
    )
    again = (await upload(client, tokens, tree.cs1, content, name)).json()
    assert (again["written"], again["unchanged"]) == (0, 2)


async def test_an_upload_is_refused_before_its_file_is_read(client, tokens, tree):
    anonymous = await client.post("/people", files={"file": ("a.csv", csv_file(LINES))})
    assert anonymous.status_code == 401
    member = await upload(client, tokens, tree.cs1, b"\xff not even read", "a.csv", ("member",))
    assert (member.status_code, member.json()["code"]) == (403, "FORBIDDEN")
    unknown = await upload(client, tokens, "no-such-unit", csv_file(LINES), "a.csv")
    assert unknown.status_code == 404
    no_columns = await upload(client, tokens, tree.cs1, csv_file([["Tên"], ["A"]]), "a.csv")
    assert (no_columns.status_code, no_columns.json()["code"]) == (422, "FILE_INVALID")
    assert "số hiệu" in no_columns.json()["message"]


async def test_a_person_input_beyond_its_limits_is_refused_at_the_edge(client, tokens, tree):
    long_name = {**AN, "fullName": "A" * 100_000}
    body = await gql(client, tokens, tree.cs1, ["officer"], REGISTER, input=long_name)
    assert code_of(body) in {"TEXT_TOO_LONG", "PERSON_INVALID", "INVALID_INPUT"}
    today = date.today()
    future = {**AN, "staffNumber": "Z", "employedSince": (today + timedelta(days=400)).isoformat()}
    body = await gql(client, tokens, tree.cs1, ["officer"], REGISTER, input=future)
    assert code_of(body) == "PERSON_INVALID"
