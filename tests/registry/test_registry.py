"""The unit registry: given a tree, when a registry command, then the tree as it stands on a date."""

from __future__ import annotations

from datetime import date

import pytest

from services.registry import projections
from services.registry.domain import EffectiveDateOutOfOrder, InvalidUnit
from services.registry.rules import HasActiveChildren, LevelNesting, UnitExists
from shared import audit
from shared.errors import NotFound, UnitInactive

from .conftest import SINCE


async def subtree(owner, root: str, on: date) -> set[str]:
    rows = await owner.fetch(
        "SELECT descendant FROM unit_closure WHERE ancestor = $1 AND valid_from <= $2 "
        "AND (valid_to IS NULL OR valid_to > $2)",
        root,
        on,
    )
    return {r["descendant"] for r in rows}


async def log_size(owner, tenant: str) -> int:
    return await owner.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", tenant)


async def test_a_registered_tree_answers_subtree_and_depth(tree, owner):
    assert await subtree(owner, tree.prov1, SINCE) == {
        tree.prov1,
        tree.upper1,
        tree.upper2,
        tree.cs1,
    }
    depth = await owner.fetchval(
        "SELECT depth FROM unit_closure WHERE ancestor = $1 AND descendant = $2", tree.tld, tree.cs1
    )
    assert depth == 3
    before = await subtree(owner, tree.prov1, date(2023, 12, 31))
    assert before == set()


async def test_text_is_stored_in_nfc_with_a_diacritic_free_search_key(registry, tree, owner):
    decomposed = "Công đoàn Điện lực Hoa Lư".replace("ô", "o\u0302")
    await registry.rename(None, tree.cs1, f"  {decomposed}  ", "CĐĐL")
    row = await owner.fetchrow("SELECT name, search_key FROM units WHERE tenant_id = $1", tree.cs1)
    assert row["name"] == "Công đoàn Điện lực Hoa Lư"
    assert row["search_key"] == "cong doan dien luc hoa lu cddl"


async def test_a_unit_moved_on_1_july_counts_under_its_old_parent_before_and_new_after(
    registry, tree, owner
):
    await registry.move(None, tree.upper1, tree.prov2, date(2024, 7, 1))
    june, july = date(2024, 6, 30), date(2024, 7, 1)
    assert tree.upper1 in await subtree(owner, tree.prov1, june)
    assert tree.cs1 in await subtree(owner, tree.prov1, june)
    assert tree.upper1 not in await subtree(owner, tree.prov2, june)
    assert {tree.upper1, tree.cs1} <= await subtree(owner, tree.prov2, july)
    assert not {tree.upper1, tree.cs1} & await subtree(owner, tree.prov1, july)
    # The national unit is an ancestor throughout: one span, not two.
    spans = await owner.fetch(
        "SELECT valid_from, valid_to FROM unit_closure WHERE ancestor = $1 AND descendant = $2",
        tree.tld,
        tree.cs1,
    )
    assert [(r["valid_from"], r["valid_to"]) for r in spans] == [(SINCE, None)]


async def test_a_move_that_breaks_level_nesting_is_refused_and_writes_nothing(
    registry, tree, owner
):
    before = await log_size(owner, tree.upper2)
    with pytest.raises(LevelNesting) as caught:
        await registry.move(None, tree.upper2, tree.cs1, date(2024, 7, 1))
    assert caught.value.code == "UNIT_LEVEL_NESTING"
    assert await log_size(owner, tree.upper2) == before
    assert tree.upper2 in await subtree(owner, tree.prov1, date(2024, 8, 1))


async def test_registration_rules(registry, tree, owner):
    with pytest.raises(UnitExists):
        await registry.register(
            None,
            unit_id=tree.cs1,
            name="X",
            level="grassroots",
            sector_type="DN FDI",
            parent_id=tree.upper1,
            effective_on=SINCE,
        )
    with pytest.raises(LevelNesting):
        await registry.register(
            None,
            unit_id=tree.bad1,
            name="Huyện",
            level="upper",
            parent_id=tree.cs1,
            effective_on=SINCE,
        )
    with pytest.raises(InvalidUnit, match="khu vực"):
        await registry.register(
            None,
            unit_id=tree.bad2,
            name="CĐCS",
            level="grassroots",
            parent_id=tree.upper1,
            effective_on=SINCE,
        )
    with pytest.raises(InvalidUnit, match="trống"):
        await registry.register(
            None,
            unit_id=tree.bad3,
            name="   ",
            level="upper",
            parent_id=tree.prov1,
            effective_on=SINCE,
        )
    with pytest.raises(NotFound):
        await registry.register(
            None,
            unit_id=tree.bad4,
            name="A",
            level="upper",
            parent_id=tree.nowhere,
            effective_on=SINCE,
        )
    for bad in ("bad1", "bad2", "bad3", "bad4"):
        assert await log_size(owner, getattr(tree, bad)) == 0


async def test_a_move_must_come_after_the_units_last_change(registry, tree):
    await registry.move(None, tree.upper1, tree.prov2, date(2024, 7, 1))
    with pytest.raises(EffectiveDateOutOfOrder):
        await registry.move(None, tree.upper1, tree.prov1, date(2024, 3, 1))


async def test_a_merge_keeps_both_histories_under_the_survivor_and_closes_the_merged_unit(
    registry, tree, owner
):
    merged_on = date(2025, 7, 1)
    await registry.merge(None, [tree.prov2], tree.prov1, merged_on)
    after = await subtree(owner, tree.prov1, merged_on)
    # The merged province and what was under it now count under the survivor...
    assert {tree.prov2, tree.upper3, tree.upper1, tree.upper2, tree.cs1} <= after
    # ...and before the merge each province had its own.
    assert tree.upper3 not in await subtree(owner, tree.prov1, date(2025, 6, 30))
    assert tree.upper3 in await subtree(owner, tree.prov2, date(2025, 6, 30))
    row = await owner.fetchrow(
        "SELECT status, merged_into FROM units WHERE tenant_id = $1", tree.prov2
    )
    assert (row["status"], row["merged_into"]) == ("merged", tree.prov1)
    child = await owner.fetchval("SELECT parent_id FROM units WHERE tenant_id = $1", tree.upper3)
    assert child == tree.prov1
    # The merged-away unit accepts no command.
    with pytest.raises(UnitInactive):
        await registry.rename(None, tree.prov2, "Tên mới")
    with pytest.raises(UnitInactive):
        await registry.register(
            None,
            unit_id=tree.late,
            name="Mới",
            level="upper",
            parent_id=tree.prov2,
            effective_on=date(2025, 8, 1),
        )


async def test_dissolving_needs_no_active_children(registry, tree, owner):
    with pytest.raises(HasActiveChildren):
        await registry.dissolve(None, tree.upper1, date(2025, 1, 1))
    await registry.dissolve(None, tree.cs1, date(2025, 1, 1), "Doanh nghiệp giải thể")
    await registry.dissolve(None, tree.upper1, date(2025, 2, 1))
    assert tree.cs1 in await subtree(owner, tree.prov1, date(2024, 12, 31))
    assert tree.cs1 not in await subtree(owner, tree.prov1, date(2025, 1, 1))
    with pytest.raises(UnitInactive):
        await registry.rename(None, tree.cs1, "Khác")


async def test_registry_events_verify_in_each_units_log(registry, tree, owner):
    await registry.move(None, tree.upper1, tree.prov2, date(2024, 7, 1))
    verdict = await audit.verify_tenant(owner, tree.upper1)
    assert verdict.ok and verdict.count == 2


async def test_the_read_model_rebuilds_from_the_logs_to_the_same_rows(registry, tree, owner):
    await registry.move(None, tree.upper1, tree.prov2, date(2024, 7, 1))
    await registry.merge(None, [tree.upper2], tree.upper1, date(2025, 1, 1))
    await registry.move(None, tree.cs1, tree.upper3, date(2024, 3, 1))  # dated before the others
    # (and the tree's past as it was known, each row from the time its change was recorded)
    queries = [
        "SELECT * FROM unit_closure WHERE descendant LIKE $1 ORDER BY 1, 2, 3, 4",
        "SELECT * FROM unit_parents WHERE tenant_id LIKE $1 ORDER BY 1, 4",
        "SELECT * FROM unit_closure_known WHERE descendant LIKE $1 ORDER BY 1, 2, 3, 4, 6",
        "SELECT * FROM unit_parents_known WHERE tenant_id LIKE $1 ORDER BY 1, 4, 6",
    ]
    before = [[tuple(r) for r in await owner.fetch(q, tree.prefix + "%")] for q in queries]
    async with owner.transaction():
        await projections.rebuild(owner, registry.repository.registry)
    after = [[tuple(r) for r in await owner.fetch(q, tree.prefix + "%")] for q in queries]
    assert after == before
    assert after[2]  # the rows replaced are there, with their end


async def test_a_truncated_tree_is_kept_aside_as_known_until_then(registry, tree, owner):
    # (in a transaction rolled back: the tables are every test's)
    tx = owner.transaction()
    await tx.start()
    try:
        rows = await owner.fetchval("SELECT count(*) FROM unit_closure WHERE known_from < now()")
        await owner.execute("TRUNCATE unit_closure")
        kept = await owner.fetchval(
            "SELECT count(*) FROM unit_closure_known WHERE known_to = now()"
        )
        # and a moment before it still reads the tree
        below = await owner.fetchval(
            "SELECT count(*) FROM thidua_tree_closure(now() - interval '1 microsecond') "
            "WHERE ancestor = $1",
            tree.prov1,
        )
    finally:
        await tx.rollback()
    assert rows > 0 and kept == rows
    assert below == 4  # prov1 itself, upper1, upper2, cs1
