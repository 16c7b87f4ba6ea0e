"""Every reporting table as XLSX (issue 15, point 8): the plan's targets, the deadlines and the
typical individuals and collectives, each the same as GraphQL answers the same caller, with the
same reach and refusals."""

from __future__ import annotations

import io
from datetime import date, timedelta
from urllib.parse import unquote

from python_calamine import CalamineWorkbook

from tests.reporting.conftest import campaign, gql, registered


def get(client, tokens, reader, path, roles=("officer",)):
    token = tokens.issue(tenant=reader, roles=list(roles), subject="s", ttl=timedelta(minutes=5))
    return client.get(path, headers={"Authorization": f"Bearer {token}"})


def sheets(response) -> dict[str, list[list]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


async def test_the_tables_as_xlsx_say_what_graphql_says(runtime, tree, client, tokens):
    from services.campaign.commands import commands_of as campaign_commands_of
    from tests.campaign.conftest import Clock
    from tests.registry.conftest import principal

    # Given the province's campaign of 2024, upper1 registered late and upper2 not, and an
    # initiative of cs1 recognised with its author
    launched = await campaign(runtime, tree.prov1, 2024)
    await registered(runtime, tree.upper1, launched, tree.prov1, date(2024, 3, 1), late=True)
    campaigns = campaign_commands_of(runtime, Clock(date(2024, 5, 2)))
    officer = principal(tree.cs1, "officer")
    made = await campaigns.register_initiative(officer, title="Máy cắt", authors=["Trần Văn Minh"])
    await campaigns.recognise_initiative(
        officer, made, benefit_vnd=90_000_000, applied_at=["Phân xưởng 1", "Phân xưởng 2"]
    )
    query = """query ($u: ID) {
      kpis(unitId: $u, year: 2024) { targets { name target actual part whole met } }
      compliance(unitId: $u, year: 2024) { kind onTime late missing pending }
      exemplars(unitId: $u, firstYear: 2020, lastYear: 2025, first: 100) { name initiatives
        benefitVnd appliedAt }
      exemplaryUnits(unitId: $u, firstYear: 2020, lastYear: 2025, first: 100) { unitName
        benefitVnd } }"""
    said = (await gql(client, tokens, tree.prov1, ["officer"], query, u=tree.prov1))["data"]

    # When the province downloads each table
    base = f"/tables/{{}}/{tree.prov1}/{{}}/xlsx"
    kpis = await get(client, tokens, tree.prov1, base.format("kpis", "2024/2024"))
    compliance = await get(client, tokens, tree.prov1, base.format("compliance", "2023/2024"))
    exemplars = await get(client, tokens, tree.prov1, base.format("exemplars", "2020/2025"))
    units = await get(client, tokens, tree.prov1, base.format("exemplary-units", "2020/2025"))

    # Then each holds GraphQL's figures: a sheet a year, or the period's
    for response in (kpis, compliance, exemplars, units):
        assert response.status_code == 200, response.text
    rows = sheets(kpis)["2024"][3:]
    assert [(r[0], r[1], r[3], r[4]) for r in rows] == [
        (t["name"], t["target"], t["part"], t["whole"]) for t in said["kpis"]["targets"]
    ]
    years = sheets(compliance)
    assert list(years) == ["2023", "2024"]
    registrations = next(r for r in years["2024"] if r[0] == "Đăng ký thi đua")
    expected = next(k for k in said["compliance"] if k["kind"] == "registrations")
    assert registrations[1:] == [
        expected["onTime"],
        expected["late"],
        expected["missing"],
        expected["pending"],
    ]
    assert registrations[1:] == [0, 1, 1, 0]
    [minh] = sheets(exemplars)["2020-2025"][3:]
    assert minh[1] == "Trần Văn Minh"
    assert minh[4:8] == [1, "Máy cắt", 90_000_000, "Phân xưởng 1; Phân xưởng 2"]
    ranked = [r[1] for r in sheets(units)["2020-2025"][3:]]
    assert ranked == [u["unitName"] for u in said["exemplaryUnits"]]
    assert ranked[0] == "Công đoàn cơ sở Điện lực Hoa Lư"  # its initiative's benefit first
    name = unquote(units.headers["content-disposition"].split("''")[1])
    assert name == "Tập thể tiêu biểu 2020-2025 Liên đoàn Lao động tỉnh Ninh Bình.xlsx"


async def test_a_table_out_of_reach_or_badly_asked_is_refused_with_its_code(
    runtime, tree, client, tokens
):
    path = f"/tables/exemplars/{tree.prov1}/2020/2025/xlsx"
    for reader, roles, asked, status, code in (
        (tree.upper2, ("officer",), path, 404, "NOT_FOUND"),  # a unit below, reading above
        (tree.prov1, ("member",), path, 404, "NOT_FOUND"),  # a member: not the units below
        (tree.prov1, ("officer",), path.replace("exemplars", "nothing"), 404, "NOT_FOUND"),
        (tree.prov1, ("officer",), path.replace("2020/2025", "2025/2020"), 422, "INVALID_INPUT"),
        (tree.prov1, ("officer",), path + "?asOf=garbage", 422, "INVALID_INPUT"),
        (tree.prov1, ("officer",), path + "?asOf=2999-01-01T00:00:00Z", 422, "INVALID_INPUT"),
    ):
        refused = await get(client, tokens, reader, asked, roles)
        assert refused.status_code == status, (asked, refused.text)
        assert refused.json()["code"] == code, (asked, refused.json())
    anonymous = await client.get(path)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "UNAUTHENTICATED"


async def test_hostile_paths_get_a_code_never_a_server_error(tree, client, tokens):
    for asked in (
        f"/tables/kpis/{'x' * 10_000}/2024/2024/xlsx",
        "/tables/kpis/%00%1b[31m/2024/2024/xlsx",
        f"/tables/kpis/{tree.prov1}/-1/99999999999/xlsx",
        f"/tables/kpis/{tree.prov1}/1999/2024/xlsx",  # more than ten sheets
        f"/tables/compliance/{tree.prov1}/2024/2024/xlsx?asOf={'9' * 20_000}",
        f"/tables/exemplars/{tree.prov1}/2024/2024/xlsx?asOf=2024-01-01",  # no time zone
        f"/tables/{'k' * 5_000}/{tree.prov1}/2024/2024/xlsx",
        "/tables/kpis/ldld%2F..%2F..%2Fetc/2024/2024/xlsx",
    ):
        answer = await get(client, tokens, tree.prov1, asked)
        assert 400 <= answer.status_code < 500, (asked[:80], answer.status_code, answer.text)
        assert answer.json()["code"], asked[:80]


async def test_an_empty_unit_id_is_no_unit_not_the_callers_own(tree, client, tokens):
    query = """query ($u: ID) { summary(unitId: $u, firstYear: 2024) { unitId }
      kpis(unitId: $u, year: 2024) { unitId } compliance(unitId: $u, year: 2024) { kind } }"""
    empty = await gql(client, tokens, tree.prov1, ["officer"], query, u="")
    assert empty["data"] == {"summary": None, "kpis": None, "compliance": None}, empty
    own = await gql(client, tokens, tree.prov1, ["officer"], query)
    assert own["data"]["summary"]["unitId"] == tree.prov1


def test_a_refusal_of_graphql_keeps_its_code_and_its_status_on_rest():
    from graphql import GraphQLError

    from services.reporting.tables import Refused
    from shared.uploads import error_response

    for code, status in (
        ("SERVICE_BUSY", 503),  # try again
        ("NOT_FOUND", 404),
        ("INTERNAL", 500),
        ("QUERY_TOO_COSTLY", 422),
    ):
        answer = error_response(Refused(GraphQLError("said", extensions={"code": code})))
        assert (answer.status_code, answer.content) == (
            status,
            {"code": code, "message": "said"},
        ), code
