"""Browsing the tree level by level (issue 12): ``units(parentId: X, on: D)`` lists X's children
as the tree stood on D for any X the caller may read, not only its own unit; X out of reach
answers NOT_FOUND, as everywhere.

The tree is tests/registry/conftest.py's: tld → prov1 → upper1 → cs1, prov1 → upper2,
tld → prov2 → upper3."""

from __future__ import annotations

from datetime import date, timedelta

from shared.clock import today
from tests.registry.test_graphql import client, code_of, gql, tokens  # noqa: F401

CHILDREN_ON = """query($p: ID, $on: Date, $q: String) {
  units(parentId: $p, on: $on, search: $q) { edges { node { id parentId } } }
}"""


async def children(http, issuer, viewer: str, role: str, parent: str, **more) -> list[str]:
    body = await gql(http, issuer, viewer, [role], CHILDREN_ON, p=parent, **more)
    assert code_of(body) is None, body
    return [edge["node"]["id"] for edge in body["data"]["units"]["edges"]]


async def test_a_province_officer_lists_the_children_of_a_unit_below_it(
    client,  # noqa: F811
    tokens,  # noqa: F811
    tree,
):
    # given prov1 → upper1 → cs1 and prov1 → upper2, which has no child
    # when prov1's officer browses a level down from each of its children
    # then it sees each one's own children, and a search under upper1 finds upper1 and cs1
    assert await children(client, tokens, tree.prov1, "officer", tree.prov1) == [
        tree.upper1,
        tree.upper2,
    ]
    assert await children(client, tokens, tree.prov1, "officer", tree.upper1) == [tree.cs1]
    assert await children(client, tokens, tree.prov1, "officer", tree.upper2) == []
    found = await children(client, tokens, tree.prov1, "officer", tree.upper1, q="dien luc")
    assert sorted(found) == sorted([tree.upper1, tree.cs1])
    # and the national officer goes two levels down the same way
    assert await children(client, tokens, tree.tld, "officer", tree.upper1) == [tree.cs1]


async def test_a_member_gets_nothing_below_its_unit(
    client,  # noqa: F811
    tokens,  # noqa: F811
    tree,
):
    # given a member of prov1, whose role reads its own unit only
    for parent, answer in ((tree.prov1, "FORBIDDEN"), (tree.upper1, "NOT_FOUND")):
        # when it asks for the children of its unit or of a unit below
        body = await gql(client, tokens, tree.prov1, ["member"], CHILDREN_ON, p=parent)
        # then no unit is listed: its own unit's children are forbidden, a unit below is unknown
        assert code_of(body) == answer, (parent, body)
        assert body["data"] is None


async def test_a_siblings_children_are_not_found(
    client,  # noqa: F811
    tokens,  # noqa: F811
    tree,
):
    # given upper1 and upper2, both under prov1, and upper3 under prov2
    for viewer, parent in ((tree.upper2, tree.upper1), (tree.prov2, tree.upper1)):
        # when upper2's (or prov2's) admin asks for the children of upper1, out of its reach
        body = await gql(client, tokens, viewer, ["admin"], CHILDREN_ON, p=parent, on="2024-06-30")
        # then upper1 is not found, as if it did not exist
        assert code_of(body) == "NOT_FOUND", (viewer, body)
        assert body["data"] is None


async def test_a_unit_moved_on_a_day_lists_under_its_old_parent_before_and_its_new_one_after(
    client,  # noqa: F811
    tokens,  # noqa: F811
    tree,
    registry,
):
    # given cs1 moved from upper1 to upper2 on 1 July 2025
    await registry.move(None, tree.cs1, tree.upper2, date(2025, 7, 1))

    async def under(parent: str, on: date) -> list[str]:
        return await children(client, tokens, tree.prov1, "officer", parent, on=on.isoformat())

    # when prov1's officer lists the children of each on the day before and on the day itself
    # then cs1 is under upper1 until 30 June and under upper2 from 1 July
    assert await under(tree.upper1, date(2025, 6, 30)) == [tree.cs1]
    assert await under(tree.upper2, date(2025, 6, 30)) == []
    assert await under(tree.upper1, date(2025, 7, 1)) == []
    assert await under(tree.upper2, date(2025, 7, 1)) == [tree.cs1]


async def test_a_move_dated_in_the_future_lists_under_the_new_parent_only_from_its_day(
    client,  # noqa: F811
    tokens,  # noqa: F811
    tree,
    registry,
):
    # given cs1 to move from upper1 to upper2 in ten days
    moving_on = today() + timedelta(days=10)
    await registry.move(None, tree.cs1, tree.upper2, moving_on)

    # when prov1's officer lists upper1's and upper2's children today and on the day of the move
    listed = {
        (parent, on): await children(
            client, tokens, tree.prov1, "officer", parent, **({"on": on.isoformat()} if on else {})
        )
        for parent in (tree.upper1, tree.upper2)
        for on in (None, moving_on)
    }
    # then today (the default) cs1 is still upper1's child, and still says so; from the day on,
    # upper2's
    assert listed[(tree.upper1, None)] == [tree.cs1]
    assert listed[(tree.upper2, None)] == []
    assert listed[(tree.upper1, moving_on)] == []
    assert listed[(tree.upper2, moving_on)] == [tree.cs1]
    body = await gql(client, tokens, tree.prov1, ["officer"], CHILDREN_ON, p=tree.upper1)
    assert body["data"]["units"]["edges"][0]["node"]["parentId"] == tree.upper1
