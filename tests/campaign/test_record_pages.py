"""Pledges, works and initiatives page as every growing list does (shared/pages.py): ``first``
and ``after: pageInfo.endCursor``, each unit once, in the list's order, the totals on every page
counted over all of them; a cursor the list cannot read is INVALID_INPUT."""

from __future__ import annotations

from shared.pages import cursor_of
from tests.registry.test_graphql import code_of, gql

from .test_graphql import launched
from .test_pledges import PLEDGE
from .test_records import INITIATIVE, WORK

PLEDGES = """query($c: ID, $first: Int!, $after: String) {
  pledges(campaignId: $c, first: $first, after: $after) {
    total byTitle { title count } edges { cursor node { id name } }
    pageInfo { hasNextPage endCursor } } }"""
WORKS = """query($c: ID, $first: Int!, $after: String) {
  works(campaignId: $c, first: $first, after: $after) {
    edges { node { id name } } pageInfo { hasNextPage endCursor } } }"""
INITIATIVES = """query($first: Int!, $after: String) {
  initiatives(subtree: false, first: $first, after: $after) {
    count edges { node { id title } } pageInfo { hasNextPage endCursor } } }"""


async def walk(client, tokens, unit, query, field, **variables):
    pages, after = [], None
    while True:
        body = await gql(client, tokens, unit, ["officer"], query, after=after, **variables)
        assert body.get("errors") is None, body
        page = body["data"][field]
        pages.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            return pages
        after = page["pageInfo"]["endCursor"]


async def test_pledges_page_by_cursor_with_the_totals_on_every_page(client, tokens, tree):
    campaign_id = await launched(client, tokens, tree.prov1)
    rows = [{"name": f"Lê Thị {n}", "title": "Lao động tiên tiến"} for n in "EDCBA"]
    body = await gql(client, tokens, tree.upper1, ["officer"], PLEDGE, c=campaign_id, rows=rows)
    assert body["data"]["registerPledges"]["written"] == 5
    pages = await walk(client, tokens, tree.upper1, PLEDGES, "pledges", c=campaign_id, first=2)
    assert [len(p["edges"]) for p in pages] == [2, 2, 1]
    names = [e["node"]["name"] for p in pages for e in p["edges"]]
    assert names == [f"Lê Thị {n}" for n in "ABCDE"]
    assert {p["total"] for p in pages} == {5}
    assert all(p["byTitle"] == [{"title": "lao_dong_tien_tien", "count": 5}] for p in pages)


async def test_works_and_initiatives_page_by_cursor_each_once(client, tokens, tree):
    campaign_id = await launched(client, tokens, tree.prov1)
    for n in range(3):
        work = {"name": f"Công trình {n}", "kind": "WORK", "valueVnd": 1_000_000}
        body = await gql(client, tokens, tree.upper1, ["officer"], WORK, c=campaign_id, input=work)
        assert body.get("errors") is None, body
        initiative = {"title": f"Sáng kiến {n}", "authors": ["Nguyễn Văn An"]}
        body = await gql(client, tokens, tree.upper1, ["officer"], INITIATIVE, input=initiative)
        assert body.get("errors") is None, body
    works = await walk(client, tokens, tree.upper1, WORKS, "works", c=campaign_id, first=2)
    assert [e["node"]["name"] for p in works for e in p["edges"]] == [
        f"Công trình {n}" for n in range(3)
    ]
    initiatives = await walk(client, tokens, tree.upper1, INITIATIVES, "initiatives", first=1)
    assert [e["node"]["title"] for p in initiatives for e in p["edges"]] == [
        f"Sáng kiến {n}" for n in range(3)
    ]
    assert {p["count"] for p in initiatives} == {3}


async def test_a_cursor_the_list_cannot_read_is_invalid_input(client, tokens, tree):
    campaign_id = await launched(client, tokens, tree.prov1)
    bad = [
        cursor_of("2026-01-01", "tên"),  # too few parts
        cursor_of("not a date", "tên", "00000000-0000-0000-0000-000000000000"),
        cursor_of("2026-01-01", "tên", "not a uuid"),
        "A" * 9_000,
    ]
    for after in bad:
        body = await gql(
            client, tokens, tree.upper1, ["officer"], WORKS, c=campaign_id, first=2, after=after
        )
        assert code_of(body) == "INVALID_INPUT", (after, body)
    for first in (0, 1001):
        body = await gql(client, tokens, tree.upper1, ["officer"], INITIATIVES, first=first)
        assert code_of(body) == "INVALID_INPUT", (first, body)


async def test_a_cursor_written_another_way_python_reads_pages_as_its_canonical_form(
    client, tokens, tree
):
    # a week date and a 'urn:uuid:' id: Python reads them, PostgreSQL would not; the page reads
    # them as the date and the id they name
    campaign_id = await launched(client, tokens, tree.prov1)
    work = {"name": "Công trình", "kind": "WORK", "valueVnd": 1_000_000}
    body = await gql(client, tokens, tree.upper1, ["officer"], WORK, c=campaign_id, input=work)
    assert body.get("errors") is None, body
    for after in [
        cursor_of("2020-W01-1", "tên", "urn:uuid:00000000-0000-0000-0000-000000000000"),
        cursor_of("2020-01-01", "tên", "{00000000-0000-0000-0000-000000000000}"),
    ]:
        body = await gql(
            client, tokens, tree.upper1, ["officer"], WORKS, c=campaign_id, first=2, after=after
        )
        assert body.get("errors") is None, (after, body)
        assert [e["node"]["name"] for e in body["data"]["works"]["edges"]] == ["Công trình"]


async def test_a_name_of_the_longest_kind_still_pages_past_it(client, tokens, tree):
    campaign_id = await launched(client, tokens, tree.prov1)
    names = ["A" + "ữ" * 499, "B" + "😀" * 499, "C"]
    for name in names:
        work = {"name": name, "kind": "WORK", "valueVnd": 1_000_000}
        body = await gql(client, tokens, tree.upper1, ["officer"], WORK, c=campaign_id, input=work)
        assert body.get("errors") is None, body
    pages = await walk(client, tokens, tree.upper1, WORKS, "works", c=campaign_id, first=1)
    assert [e["node"]["name"] for p in pages for e in p["edges"]] == names
