"""A campaign's child registrations come a page at a time (shared/pages.py, the one page style),
each page beside the counts over every page: a province's campaign has hundreds of children,
the union's thousands of registrations, and no answer carries them all."""

from __future__ import annotations

from shared.pages import cursor_of
from tests.registry.test_graphql import code_of, gql

from .test_graphql import launched, plan_input
from .test_holes import PICK

PAGE = """query($id: ID!, $first: Int!, $after: String) { campaign(id: $id) {
  childRegistrations(first: $first, after: $after) {
    totalCount onTime late notYet withdrawn
    edges { cursor node { unitId status } } pageInfo { hasNextPage endCursor } } } }"""


async def pages_of(client, tokens, unit, campaign_id, first):
    pages, after = [], None
    while True:
        body = await gql(
            client, tokens, unit, ["officer"], PAGE, id=campaign_id, first=first, after=after
        )
        assert body.get("errors") is None, body
        page = body["data"]["campaign"]["childRegistrations"]
        pages.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            return pages
        after = page["pageInfo"]["endCursor"]


async def test_pages_of_one_walk_every_child_once_in_order_with_the_counts_on_each(
    client, tokens, tree
):
    # given the province's campaign, with one grassroots registration beside its two children
    campaign_id = await launched(client, tokens, tree.prov1)
    body = await gql(
        client,
        tokens,
        tree.cs1,
        ["officer"],
        PICK,
        c=campaign_id,
        contents=plan_input()["contents"],
    )
    assert body.get("errors") is None, body
    # when the province reads them a page of one at a time
    pages = await pages_of(client, tokens, tree.prov1, campaign_id, first=1)
    # then each unit comes once, on a page of its own, in the order of the whole list
    units = [e["node"]["unitId"] for p in pages for e in p["edges"]]
    assert sorted(units) == sorted([tree.upper1, tree.upper2, tree.cs1])
    whole = await pages_of(client, tokens, tree.prov1, campaign_id, first=200)
    assert len(whole) == 1 and [e["node"]["unitId"] for e in whole[0]["edges"]] == units
    assert [len(p["edges"]) for p in pages] == [1, 1, 1]
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True, True, False]
    # and every page carries the counts over all of them
    for page in pages:
        assert (page["totalCount"], page["onTime"], page["late"], page["notYet"]) == (3, 1, 0, 2)
        assert page["withdrawn"] == 0


async def test_a_page_past_the_last_keeps_the_counts_and_has_no_units(client, tokens, tree):
    campaign_id = await launched(client, tokens, tree.prov1)
    [page] = await pages_of(client, tokens, tree.prov1, campaign_id, first=5)
    last = page["edges"][-1]["cursor"]
    body = await gql(
        client, tokens, tree.prov1, ["officer"], PAGE, id=campaign_id, first=5, after=last
    )
    after = body["data"]["campaign"]["childRegistrations"]
    assert after["edges"] == [] and after["pageInfo"] == {"hasNextPage": False, "endCursor": None}
    assert (after["totalCount"], after["notYet"]) == (2, 2)


async def test_a_page_size_or_cursor_out_of_bounds_is_invalid_input(client, tokens, tree):
    campaign_id = await launched(client, tokens, tree.prov1)
    bad = [
        (0, None),
        (201, None),
        (5, "not a cursor"),
        (5, cursor_of("a")),
        (5, cursor_of("\x00", "x")),
    ]
    for first, after in bad:
        body = await gql(
            client, tokens, tree.prov1, ["officer"], PAGE, id=campaign_id, first=first, after=after
        )
        assert code_of(body) == "INVALID_INPUT", (first, after, body)


async def test_a_unit_below_reads_an_empty_page_of_the_provinces_children(client, tokens, tree):
    campaign_id = await launched(client, tokens, tree.prov1)
    [page] = await pages_of(client, tokens, tree.upper1, campaign_id, first=5)
    assert page["edges"] == [] and page["totalCount"] == 0
