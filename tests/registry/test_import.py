"""``thidua tenants import``: a whole tree from one CSV file, all or nothing, idempotent."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest
from typer.testing import CliRunner

from services.gateway.cli import app as cli
from services.registry import importer
from services.registry.domain import Unit
from services.registry.importer import ImportFileInvalid, import_units, read_rows
from services.registry.projections import rebuild
from shared import audit
from shared.projections import ProjectionRunner

ON = date(2024, 1, 1)
HEADER = "id,parent_id,name,short_name,level,sector_type,members\n"


def tree_csv(p: str) -> str:
    return HEADER + "\n".join(
        [
            f"{p}-tld,,Tổng Liên đoàn Lao động Việt Nam,TLĐ,national,,0",
            f"{p}-nb,{p}-tld,Liên đoàn Lao động tỉnh Ninh Bình,LĐLĐ Ninh Bình,provincial,,0",
            f'{p}-hl,{p}-nb,"Liên đoàn Lao động huyện Hoa Lư, tỉnh Ninh Bình",,upper,,0',
            f"{p}-cs1,{p}-hl,Công đoàn cơ sở Trường THCS Ninh Hải,,grassroots,sự nghiệp,45",
            f"{p}-cs2,{p}-hl,Công đoàn Công ty TNHH Giày Ninh Bình,,grassroots,dn fdi,1200",
        ]
    )


@pytest.fixture
def prefix() -> str:
    return f"i{uuid.uuid4().hex[:8]}"


async def registered(owner, prefix: str) -> int:
    return await owner.fetchval("SELECT count(*) FROM units WHERE tenant_id LIKE $1", prefix + "%")


async def events_of(owner, prefix: str) -> int:
    return await owner.fetchval("SELECT count(*) FROM events WHERE tenant_id LIKE $1", prefix + "%")


async def test_a_file_registers_its_tree_and_importing_it_again_writes_nothing(
    registry, owner, prefix
):
    data = tree_csv(prefix).encode()
    first = await import_units(registry, data, effective_on=ON)
    assert (first.registered, first.unchanged) == (5, 0)
    row = await owner.fetchrow(
        "SELECT name, sector_type, members, parent_id, search_key FROM units WHERE tenant_id = $1",
        f"{prefix}-cs2",
    )
    assert row["sector_type"] == "DN FDI" and row["members"] == 1200
    assert row["search_key"] == "cong doan cong ty tnhh giay ninh binh"
    depth = await owner.fetchval(
        "SELECT depth FROM unit_closure WHERE ancestor = $1 AND descendant = $2",
        f"{prefix}-tld",
        f"{prefix}-cs1",
    )
    assert depth == 3
    verdict = await audit.verify_tenant(owner, f"{prefix}-cs1")
    assert verdict.ok and verdict.count == 1

    again = await import_units(registry, data, effective_on=ON)
    assert (again.registered, again.unchanged) == (0, 5)
    assert await events_of(owner, prefix) == 5


async def test_a_second_file_hangs_new_units_under_registered_ones(registry, owner, prefix):
    await import_units(registry, tree_csv(prefix).encode(), effective_on=ON)
    more = HEADER + f"{prefix}-cs3,{prefix}-hl,CĐCS Xã Ninh Giang,,grassroots,hành chính,12\n"
    result = await import_units(registry, more.encode(), effective_on=date(2024, 2, 1))
    assert result.registered == 1
    ancestors = await owner.fetch(
        "SELECT ancestor, depth FROM unit_closure WHERE descendant = $1 ORDER BY depth",
        f"{prefix}-cs3",
    )
    assert [(r["ancestor"], r["depth"]) for r in ancestors] == [
        (f"{prefix}-cs3", 0),
        (f"{prefix}-hl", 1),
        (f"{prefix}-nb", 2),
        (f"{prefix}-tld", 3),
    ]


def bad_lines(p: str) -> dict[str, tuple[str, int, str]]:
    """Each bad file: (contents, the line named, words of the message)."""
    ok = f"{p}-tld,,TLĐ,,national,,0\n"
    return {
        "unknown parent": (
            HEADER + ok + f"{p}-a,{p}-nowhere,A,,provincial,,0\n",
            3,
            "Không có cấp trên",
        ),
        "cycle": (
            HEADER + ok + f"{p}-a,{p}-b,A,,upper,,0\n{p}-b,{p}-a,B,,upper,,0\n",
            3,
            "Vòng cấp trên",
        ),
        "wrong nesting": (
            HEADER + ok + f"{p}-a,{p}-tld,A,,provincial,,0\n"
            f"{p}-cs,{p}-a,CS,,grassroots,DN tư nhân,3\n{p}-u,{p}-cs,U,,upper,,0\n",
            5,
            "Sai thứ bậc",
        ),
        "duplicate id": (
            HEADER + ok + f"{p}-a,{p}-tld,A,,provincial,,0\n{p}-a,{p}-tld,A2,,provincial,,0\n",
            4,
            "trùng với dòng 3",
        ),
        "empty name": (
            HEADER + ok + f"{p}-a,{p}-tld,  ,,provincial,,0\n",
            3,
            "Tên đơn vị không được để trống",
        ),
        "bad level": (HEADER + ok + f"{p}-a,{p}-tld,A,,tinh,,0\n", 3, "Cấp 'tinh' không có"),
        "bad members": (HEADER + ok + f"{p}-a,{p}-tld,A,,provincial,,nhiều\n", 3, "không phải số"),
        "bad header": ("ma,cha,ten\n" + ok, 1, "Dòng tiêu đề"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "unknown parent",
        "cycle",
        "wrong nesting",
        "duplicate id",
        "empty name",
        "bad level",
        "bad members",
        "bad header",
    ],
)
async def test_a_bad_file_names_the_line_and_registers_nothing(registry, owner, prefix, case):
    contents, line, words = bad_lines(prefix)[case]
    with pytest.raises(ImportFileInvalid) as caught:
        await import_units(registry, contents.encode(), effective_on=ON)
    assert caught.value.code == "IMPORT_INVALID"
    assert f"Dòng {line}: " in caught.value.message and words in caught.value.message
    assert await registered(owner, prefix) == 0
    assert await events_of(owner, prefix) == 0


async def test_a_file_not_in_utf8_is_refused_with_its_line(registry, owner, prefix):
    # "Liên" as Windows-1252 would store it: 0xEA is not UTF-8.
    contents = HEADER.encode() + f"{prefix}-tld,,Li".encode() + b"\xean,,national,,0\n"
    with pytest.raises(ImportFileInvalid, match="UTF-8") as caught:
        await import_units(registry, contents, effective_on=ON)
    assert "Dòng 2: " in caught.value.message
    assert await registered(owner, prefix) == 0


async def test_a_unit_registered_with_other_data_is_an_error_not_an_overwrite(
    registry, owner, prefix
):
    await import_units(registry, tree_csv(prefix).encode(), effective_on=ON)
    changed = tree_csv(prefix).replace(",45", ",46")
    with pytest.raises(ImportFileInvalid, match="đã có với thông tin khác"):
        await import_units(registry, changed.encode(), effective_on=ON)
    assert await events_of(owner, prefix) == 5


async def test_the_cli_imports_with_a_summary_and_refuses_a_bad_file_with_exit_2(
    settings, owner, prefix, tmp_path
):
    env = {
        "THIDUA_DATABASE_URL": settings.database_url,
        "THIDUA_APP_DATABASE_URL": settings.app_database_url,
        "THIDUA_DATA_DIR": str(tmp_path),
        "THIDUA_LOG_JSON": "false",
    }
    good = tmp_path / "units.csv"
    good.write_text(tree_csv(prefix), encoding="utf-8")
    runner = CliRunner()
    args = ["tenants", "import", str(good), "--effective", "2024-01-01"]
    result = await asyncio.to_thread(runner.invoke, cli, args, env=env)
    assert result.exit_code == 0, result.output
    assert "5 units registered, 0 already registered" in result.output

    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + f"{prefix}-x,{prefix}-nowhere,X,,provincial,,0\n", encoding="utf-8")
    result = await asyncio.to_thread(runner.invoke, cli, ["tenants", "import", str(bad)], env=env)
    assert result.exit_code == 2
    assert "IMPORT_INVALID" in result.output and "Dòng 2" in result.output
    assert await registered(owner, prefix) == 5


async def rows_of(owner, prefix: str) -> dict[str, list[tuple]]:
    """The read model's rows of a prefix's units, with the prefix taken out."""

    def plain(row) -> tuple:
        return tuple(v.replace(prefix, "P") if isinstance(v, str) else v for v in row.values())

    tables = {
        "units": "SELECT tenant_id, name, short_name, level, sector_type, members, parent_id, "
        "status, since, search_key, version FROM units WHERE tenant_id LIKE $1",
        # (not known_from: the two imports compared are made one after the other; a rebuild's
        # known_from is compared in tests/registry/test_registry.py)
        "unit_parents": "SELECT tenant_id, parent_id, kind, valid_from, valid_to FROM unit_parents "
        "WHERE tenant_id LIKE $1",
        "unit_closure": "SELECT ancestor, descendant, depth, valid_from, valid_to "
        "FROM unit_closure WHERE descendant LIKE $1",
    }
    return {
        table: sorted(plain(r) for r in await owner.fetch(sql, prefix + "%"))
        for table, sql in tables.items()
    }


def large_tree_csv(p: str, grassroots: int) -> str:
    """The small tree and ``grassroots`` more units under Hoa Lư."""
    more = [
        f"{p}-g{i:04d},{p}-hl,Công đoàn cơ sở số {i},,grassroots,DN tư nhân,{i}"
        for i in range(grassroots)
    ]
    return tree_csv(p) + "\n" + "\n".join(more)


async def test_an_import_writes_the_rows_a_rebuild_from_the_logs_writes(registry, owner, prefix):
    """`thidua tenants import` imports on the owner's connection, the demo on the application's
    pool: both through the registry's projection, to the rows a replay of the logs makes."""
    grassroots = 1_000
    by_app, by_owner = prefix + "a", prefix + "o"
    await import_units(registry, large_tree_csv(by_app, grassroots).encode(), effective_on=ON)
    result = await import_units(
        registry, large_tree_csv(by_owner, grassroots).encode(), effective_on=ON, connection=owner
    )
    assert result.registered == 5 + grassroots
    rows = await rows_of(owner, by_owner)
    assert rows == await rows_of(owner, by_app)
    # each unit and its ancestors: the small tree's 14, and 4 for each added grassroots unit
    assert len(rows["unit_closure"]) == 14 + 4 * grassroots
    assert not owner.is_in_transaction()
    # and a replay of every log (services/registry/projections.py, rebuild) makes the same rows
    await rebuild(owner, registry.repository.registry)
    assert await rows_of(owner, by_owner) == rows


async def test_an_import_in_many_chunks_listed_children_first_writes_what_a_rebuild_writes(
    registry, owner, prefix, monkeypatch
):
    """The projection is applied chunk by chunk as the logs open: a unit's parent may be in an
    earlier chunk or in the same one, whatever order the file lists them in."""
    # given a file listing every unit before its parent, imported three units at a time
    lines = large_tree_csv(prefix, 7).splitlines()
    reversed_file = "\n".join([lines[0], *reversed(lines[1:])])
    monkeypatch.setattr(importer, "_CHUNK", 3)
    # when it is imported
    result = await import_units(registry, reversed_file.encode(), effective_on=ON, connection=owner)
    # then every unit has its closure rows: the small tree's 14 and 4 for each grassroots unit
    assert result.registered == 12
    rows = await rows_of(owner, prefix)
    assert len(rows["unit_closure"]) == 14 + 4 * 7
    # and they are the rows a replay of every log makes
    await rebuild(owner, registry.repository.registry)
    assert await rows_of(owner, prefix) == rows
    # and each unit's registry checkpoint is at its log's head
    behind = await owner.fetchval(
        "SELECT count(*) FROM tenant_heads h LEFT JOIN projection_checkpoints c "
        "ON c.name = 'registry' AND c.tenant_id = h.tenant_id "
        "WHERE h.tenant_id LIKE $1 AND coalesce(c.last_seq, 0) <> h.seq",
        prefix + "%",
    )
    assert behind == 0


async def test_after_an_operator_import_a_subtree_is_read_from_the_index_alone(
    registry, owner, prefix, runtime
):
    # (With the projection runner stopped meanwhile: a snapshot it held while VACUUM ran would
    # keep VACUUM from marking the new pages all-visible, in a test as on a busy server.)
    runner = runtime.projections
    if isinstance(runner, ProjectionRunner):
        await runner.stop()
    try:
        await import_units(registry, tree_csv(prefix).encode(), effective_on=ON, connection=owner)
    finally:
        if isinstance(runner, ProjectionRunner):
            await runner.start()
    async with owner.transaction():
        await owner.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off")
        plan = "\n".join(
            r[0]
            for r in await owner.fetch(
                "EXPLAIN (ANALYZE, COSTS OFF) SELECT descendant, depth FROM unit_closure "
                "WHERE ancestor = $1 AND valid_from <= $2 AND (valid_to IS NULL OR valid_to > $2)",
                f"{prefix}-nb",
                ON,
            )
        )
    assert "Index Only Scan using unit_closure_pkey" in plan
    assert "Heap Fetches: 0" in plan


async def test_imported_events_are_the_ones_the_aggregate_makes(registry, owner, prefix):
    """The importer makes UnitRegistered events to the aggregate's pattern, for speed; each
    stored event must be what Unit.register and the registry's encoding make."""
    await import_units(registry, tree_csv(prefix).encode(), effective_on=ON, connection=owner)
    codec = registry.repository.registry
    for row in read_rows(tree_csv(prefix).encode()):
        unit = Unit.register(
            unit_id=row.unit_id,
            name=row.name,
            short_name=row.short_name,
            level=row.level,
            sector_type=row.sector_type,
            members=row.members,
            parent_id=row.parent_id,
            effective_on=ON,
        )
        [event] = unit.collect_events()
        expected = codec.encode(event)
        [stored] = await registry.store.read_stream(row.unit_id, expected.stream_id)
        assert (stored.event_type, stored.stream_version) == (expected.event_type, 1)
        assert stored.data == expected.data
        assert stored.schema_version == expected.schema_version


async def test_the_trees_rows_are_known_from_the_time_the_log_recorded_their_events(
    runtime, registry, owner, prefix
):
    """The time the tree's rows are known from (migration 0061, what a summary as of a moment
    reads) is the log's: a connection that sets a time of its own changes nothing."""
    async with runtime.pool.acquire() as conn:
        await conn.execute("SELECT set_config('thidua.known_at', '2000-01-01', false)")
        try:
            await import_units(
                registry, tree_csv(prefix).encode(), effective_on=ON, connection=conn
            )
        finally:
            await conn.execute("RESET thidua.known_at")
    await registry.merge(None, [f"{prefix}-cs1"], f"{prefix}-cs2", date(2024, 7, 1))
    unknown = await owner.fetch(
        "SELECT c.descendant, c.known_from FROM unit_closure c WHERE c.descendant LIKE $1 "
        "AND NOT EXISTS (SELECT 1 FROM events e WHERE e.tenant_id = c.descendant "
        "AND e.recorded_at = c.known_from AND e.event_type LIKE 'Unit%')",
        prefix + "-%",
    )
    assert [tuple(r) for r in unknown] == []
