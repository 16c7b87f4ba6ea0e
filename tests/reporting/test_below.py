"""A summary's ``below``, as a specification: the units that stood directly below the unit in the
period asked (as the log held the tree at the moment asked), each with its own summary and the
days it stood below; a unit that came below later is not one of them, nor is one out of the
reader's reach today. A merged unit stands below until its merge; its survivor carries its history
as well."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tests.registry.test_graphql import code_of
from tests.reporting.conftest import gql, new_grassroots, pledge

BELOW = """
query ($unit: ID, $first: Int!, $last: Int, $asOf: DateTime) {
  summary(unitId: $unit, firstYear: $first, lastYear: $last, asOf: $asOf) {
    unitId firstYear lastYear asOf belowFrom belowUntil total { pledges }
    below { unitId firstYear lastYear asOf belowFrom belowUntil total { pledges } }
  }
}
"""


async def below(client, tokens, reader: str, unit: str, first: int, last=None, at=None):
    """``reader``'s answer for ``unit``'s summary with its units below: None when out of reach,
    else (the summary, {unit below: (from, until, pledges)})."""
    moment = at.isoformat() if at else None
    body = await gql(
        client, tokens, reader, ["officer"], BELOW, unit=unit, first=first, last=last, asOf=moment
    )
    assert "errors" not in body, body
    got = body["data"]["summary"]
    if got is None:
        return None
    for b in got["below"]:  # the same period, the same moment
        assert (b["firstYear"], b["lastYear"], b["asOf"]) == (
            got["firstYear"],
            got["lastYear"],
            got["asOf"],
        )
    units = {
        b["unitId"]: (b["belowFrom"], b["belowUntil"], b["total"]["pledges"]) for b in got["below"]
    }
    return got, units


async def test_the_units_below_are_those_of_the_period_each_with_the_days_it_stood_below(
    runtime, registry, tree, client, tokens
):
    # Given cs1 under upper1, with pledges of March and September 2024, moved under upper2 (the
    # same province) on 1 July 2024; cs2 registered under upper1 from 1 January 2025
    cs2 = f"{tree.prefix}-cs2"
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    await pledge(runtime, tree.cs1, date(2024, 9, 1))
    before = datetime.now(UTC)
    await registry.move(None, tree.cs1, tree.upper2, date(2024, 7, 1))
    await new_grassroots(registry, cs2, tree.upper1, date(2025, 1, 1))
    await pledge(runtime, cs2, date(2025, 2, 1))

    # Then upper1's 2024 lists cs1 until 30 June, with its own 2024 (both pledges), not cs2
    got, units = await below(client, tokens, tree.prov1, tree.upper1, 2024)
    assert units == {tree.cs1: ("2024-01-01", "2024-06-30", 2)}
    assert got["total"]["pledges"] == 1  # what stood under upper1: March
    assert (got["belowFrom"], got["belowUntil"]) == (None, None)  # not read as a unit below
    # upper2's 2024 lists cs1 from 1 July
    _, units = await below(client, tokens, tree.prov1, tree.upper2, 2024)
    assert units == {tree.cs1: ("2024-07-01", "2024-12-31", 2)}
    # upper1's 2025 lists cs2 alone; over 2024–2025 both, each with its days of the period
    _, units = await below(client, tokens, tree.prov1, tree.upper1, 2025)
    assert units == {cs2: ("2025-01-01", "2025-12-31", 1)}
    _, units = await below(client, tokens, tree.prov1, tree.upper1, 2024, 2025)
    assert units == {
        tree.cs1: ("2024-01-01", "2024-06-30", 2),
        cs2: ("2025-01-01", "2025-12-31", 1),
    }
    # and as the log held the tree before the move, cs1 stood under upper1 the whole year
    _, units = await below(client, tokens, tree.prov1, tree.upper1, 2024, at=before)
    assert units == {tree.cs1: ("2024-01-01", "2024-12-31", 2)}
    _, units = await below(client, tokens, tree.prov1, tree.upper2, 2024, at=before)
    assert units == {}
    # a province's units below are its upper-level units, all of the year
    _, units = await below(client, tokens, tree.prov1, tree.prov1, 2024)
    assert set(units) == {tree.upper1, tree.upper2}
    assert {(f, u) for f, u, _ in units.values()} == {("2024-01-01", "2024-12-31")}


async def test_a_unit_below_out_of_the_readers_reach_today_is_not_listed(
    runtime, registry, tree, client, tokens
):
    # Given cs1 under upper1 until it moved under upper3 (the other province) on 1 July 2024
    await pledge(runtime, tree.cs1, date(2024, 3, 1))
    await registry.move(None, tree.cs1, tree.upper3, date(2024, 7, 1))
    # Then upper1 and prov1 read no unit below upper1 (cs1 is out of their reach today)
    for reader in (tree.upper1, tree.prov1):
        _, units = await below(client, tokens, reader, tree.upper1, 2024)
        assert units == {}, reader
    # while the national unit reads cs1 under upper1 until 30 June, and prov2 under upper3 from
    # 1 July
    _, units = await below(client, tokens, tree.tld, tree.upper1, 2024)
    assert units == {tree.cs1: ("2024-01-01", "2024-06-30", 1)}
    _, units = await below(client, tokens, tree.prov2, tree.upper3, 2024)
    assert units == {tree.cs1: ("2024-07-01", "2024-12-31", 1)}
    # and a sibling, or a unit below, reads neither the summary nor its units below
    assert await below(client, tokens, tree.upper2, tree.upper1, 2024) is None
    assert await below(client, tokens, tree.upper1, tree.prov1, 2024) is None


async def test_a_merged_unit_stands_below_until_its_merge_and_its_survivor_carries_its_history(
    runtime, registry, tree, client, tokens
):
    # Given cs9 under upper1 with a pledge of March 2024, merged into cs1 from 1 June 2024
    cs9 = f"{tree.prefix}-cs9"
    await new_grassroots(registry, cs9, tree.upper1, date(2024, 1, 1))
    await pledge(runtime, cs9, date(2024, 3, 1))
    await registry.merge(None, [cs9], tree.cs1, date(2024, 6, 1))
    # Then upper1's 2024 lists cs9 until 31 May, and cs1, which carries cs9's history, all year
    got, units = await below(client, tokens, tree.prov1, tree.upper1, 2024)
    assert units == {
        cs9: ("2024-01-01", "2024-05-31", 1),
        tree.cs1: ("2024-01-01", "2024-12-31", 1),
    }
    assert got["total"]["pledges"] == 1  # counted once in upper1's own
    # and 2025's lists cs1 alone
    _, units = await below(client, tokens, tree.prov1, tree.upper1, 2025)
    assert units == {tree.cs1: ("2025-01-01", "2025-12-31", 0)}


async def test_a_summary_of_the_units_below_each_unit_below_is_refused_before_it_runs(
    tree, client, tokens
):
    # Each level of `below` counts at its most (1,000 summaries): a union's below of below is
    # tens of thousands of summaries, refused before anything is read; one level is answered
    nested = """query { summary(firstYear: 2024) { below { unitId below { unitId
      total { pledges } } } } }"""
    body = await gql(client, tokens, tree.tld, ["officer"], nested)
    assert code_of(body) == "QUERY_TOO_COSTLY", body
    assert body.get("data") is None
    one = await below(client, tokens, tree.tld, tree.tld, 2024)
    assert set(one[1]) == {tree.prov1, tree.prov2}
