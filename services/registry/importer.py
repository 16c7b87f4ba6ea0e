"""``thidua tenants import FILE.csv``: register a whole tree of units from one file.

Columns ``id,parent_id,name,short_name,level,sector_type,members``, UTF-8. All or nothing: every
line is checked first and every error is reported with its line number; then every new unit's
log is opened and the read model written in one transaction. Units already registered with the
same data are skipped, so importing the same file again writes nothing.
"""

from __future__ import annotations

import asyncio
import csv
import gc
import io
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from services.registry import projections
from services.registry.commands import RegistryCommands
from services.registry.domain import (
    LEVEL_RANK,
    SECTOR_TYPES,
    Unit,
    check_registration,
    unit_stream,
)
from services.registry.rules import UnitFacts, check_parent
from shared.aggregates import EventRegistry
from shared.db import insert_rows
from shared.errors import DomainError, InvalidTenant
from shared.eventstore import NewEvent, check_tenant
from shared.text import clean, search_key

COLUMNS = ("id", "parent_id", "name", "short_name", "level", "sector_type", "members")
_SECTORS = {search_key(s): s for s in SECTOR_TYPES} | {s: s for s in SECTOR_TYPES}
MAX_ERRORS_SHOWN = 20

Progress = Callable[[str, int, int], None]


class ImportFileInvalid(DomainError):
    code = "IMPORT_INVALID"
    message_vi = "Tệp nhập đơn vị có lỗi, chưa ghi gì."

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = errors
        shown = "\n".join(f"Dòng {line}: {text}" for line, text in errors[:MAX_ERRORS_SHOWN])
        more = len(errors) - MAX_ERRORS_SHOWN
        detail = f"\n{shown}" + (f"\n… và {more} lỗi nữa." if more > 0 else "")
        super().__init__(detail, errors=[{"line": n, "error": t} for n, t in errors])


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    unit_id: str
    parent_id: str | None
    name: str
    short_name: str | None
    level: str
    sector_type: str | None
    members: int

    def same_as(self, stored: dict[str, Any]) -> bool:
        return (
            self.parent_id,
            self.name,
            self.short_name,
            self.level,
            self.sector_type,
            self.members,
        ) == (
            stored["parent_id"],
            stored["name"],
            stored["short_name"],
            stored["level"],
            stored["sector_type"],
            stored["members"],
        )


@dataclass(frozen=True, slots=True)
class ImportResult:
    read: int
    registered: int
    unchanged: int


def read_rows(data: bytes) -> list[Row]:
    """Parse and check each line on its own (the tree is checked in ``plan``)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFileInvalid(
            [(line, "Tệp không phải UTF-8 (hãy lưu lại với mã UTF-8).")]
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != COLUMNS:
        raise ImportFileInvalid([(1, f"Dòng tiêu đề phải là: {','.join(COLUMNS)}.")])
    rows: list[Row] = []
    errors: list[tuple[int, str]] = []
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        try:
            rows.append(_row(line, values))
        except _LineError as exc:
            errors.append((line, str(exc)))
    if errors:
        raise ImportFileInvalid(errors)
    return rows


class _LineError(Exception):
    pass


def _row(line: int, values: list[str]) -> Row:
    if len(values) != len(COLUMNS):
        raise _LineError(f"Cần {len(COLUMNS)} cột, có {len(values)}.")
    unit_id, parent_id, name, short_name, level, sector, members = (clean(v) for v in values)
    try:
        check_tenant(unit_id)
        if parent_id:
            check_tenant(parent_id)
    except InvalidTenant as exc:
        raise _LineError(f"Mã đơn vị không hợp lệ: {exc.detail}") from None
    if level not in LEVEL_RANK:
        raise _LineError(f"Cấp '{level}' không có; các cấp: {', '.join(LEVEL_RANK)}.")
    sector_type = (_SECTORS.get(sector) or _SECTORS.get(search_key(sector))) if sector else None
    if sector and sector_type is None:
        raise _LineError(f"Khu vực '{sector}' không có; các khu vực: {', '.join(SECTOR_TYPES)}.")
    try:
        count = int(members) if members else 0
    except ValueError:
        raise _LineError(f"Số đoàn viên '{members}' không phải số nguyên.") from None
    return Row(
        line, unit_id, parent_id or None, name, short_name or None, level, sector_type, count
    )


async def import_units(
    commands: RegistryCommands,
    data: bytes,
    *,
    effective_on: date,
    progress: Progress | None = None,
    connection: asyncpg.Connection | None = None,
) -> ImportResult:
    """Check the whole file, then register its new units in one transaction.

    ``connection``: the database owner's, from an operator tool. It may write the read model by
    COPY, which is what makes a national tree quick, and tidies the tables afterwards (VACUUM,
    ANALYZE), so that subtree reads are answered from the index straight away. Without it (the
    demo, on the application's pool) the new units' events are applied by the registry's own
    function, as a command's are (services/registry/projections.py, apply_logged)."""
    rows = read_rows(data)
    report = progress or (lambda stage, done, total: None)
    with _no_gc_pauses():
        async with commands.writing(connection) as (conn, written):
            stored, taken = await _stored(conn, rows)
            # In id order: each index then grows at a few places at a time, not all over (the
            # tables and their indexes are written twice as fast).
            new = sorted(plan(rows, stored, effective_on, taken), key=_by_id)
            report("check", len(rows), len(rows))
            if connection is None:
                await _open_logs(commands, conn, new, effective_on, report)
                places = [(r.unit_id, 1, search_key(r.name, r.short_name)) for r in new]
                await projections.apply_logged(conn, places)
            else:
                await _import_read_model(commands, conn, new, effective_on, report)
            report("tree", len(new), len(new))
            written.extend((row.unit_id, 1) for row in new)
    if new and connection is not None:
        # The closure table is read from its index alone once its pages are marked all-visible;
        # the other two need only fresh statistics.
        await connection.execute("VACUUM (ANALYZE) unit_closure")
        await connection.execute("ANALYZE units, unit_parents")
        report("tidy", 1, 1)
    return ImportResult(read=len(rows), registered=len(new), unchanged=len(rows) - len(new))


async def _import_read_model(
    commands: RegistryCommands,
    conn: asyncpg.Connection,
    new: list[Row],
    effective_on: date,
    report: Progress,
) -> None:
    """On the owner's connection: Python makes the read model's rows in a thread while the
    database opens the logs, and writes them in bulk."""
    known = await _known_closure(conn, new)
    model = asyncio.ensure_future(asyncio.to_thread(_read_model, new, effective_on, known))
    try:
        await _open_logs(commands, conn, new, effective_on, report)
    finally:
        await asyncio.wait([model])
    await _write_read_model(conn, model.result())


def _by_id(row: Row) -> str:
    return row.unit_id


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    # The import makes hundreds of thousands of long-lived objects; the cyclic collector
    # would walk them again and again (a fifth of the time) and find nothing to free.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def _stored(
    conn: asyncpg.Connection, rows: list[Row]
) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """Units of the file (and their parents) already registered; ids whose log is open."""
    stored = {
        r["tenant_id"]: dict(r)
        for r in await conn.fetch(
            "SELECT tenant_id, parent_id, name, short_name, level, sector_type, members, "
            "status, since FROM thidua_registry_units($1::text[])",
            [r.unit_id for r in rows] + [r.parent_id for r in rows if r.parent_id],
        )
    }
    taken = set(
        await conn.fetchval(
            "SELECT thidua_units_taken($1::text[])",
            [r.unit_id for r in rows if r.unit_id not in stored],
        )
    )
    return stored, taken


async def _open_logs(
    commands: RegistryCommands,
    conn: asyncpg.Connection,
    new: list[Row],
    effective_on: date,
    report: Progress,
) -> None:
    """Each new unit's log, opened with its UnitRegistered event, chunk by chunk. The database
    opens one chunk while Python makes the next one's events: two cores, both busy."""
    if not new:
        return
    make = _registrations(new[0], effective_on, commands.repository.registry)
    meta = {"actor": "system", "command": "ImportUnits"}
    pending: asyncio.Future[int] | None = None
    done = 0
    try:
        for start in range(0, len(new), _CHUNK):
            firsts = [(row.unit_id, make(row)) for row in new[start : start + _CHUNK]]
            prepared = commands.store.prepare_firsts(firsts, meta)
            if pending is not None:
                done += await pending
                report("logs", done, len(new))
            pending = asyncio.ensure_future(commands.store.open_prepared(prepared, connection=conn))
            await asyncio.sleep(0)  # let it send its statement before the next chunk is made
            report("events", min(start + _CHUNK, len(new)), len(new))
    finally:
        # Also when making a chunk failed: the connection must be idle before the transaction
        # can roll back.
        if pending is not None and not pending.done():
            await asyncio.wait([pending])
    if pending is not None:
        done += pending.result()
    report("logs", done, len(new))


_CHUNK = 5_000


def _registrations(
    sample: Row, effective_on: date, registry: EventRegistry
) -> Callable[[Row], NewEvent]:
    """Each row's UnitRegistered event as ``Unit.register`` and the registry's encoding make it
    (``plan`` has already checked every row by the domain's rules). The sample row goes through
    the aggregate itself and the rest are made to its pattern, seven times faster; the pattern is
    checked against the aggregate's event here, so it cannot drift from the domain unnoticed."""
    unit = Unit.register(
        unit_id=sample.unit_id,
        name=sample.name,
        short_name=sample.short_name,
        level=sample.level,
        sector_type=sample.sector_type,
        members=sample.members,
        parent_id=sample.parent_id,
        effective_on=effective_on,
    )
    [event] = unit.collect_events()
    expected = registry.encode(event)
    effective = registry.codec.encode(effective_on)

    def make(row: Row) -> NewEvent:
        data = {
            "unit_id": row.unit_id,
            "name": row.name,
            "short_name": row.short_name,
            "level": row.level,
            "sector_type": row.sector_type,
            "members": row.members,
            "parent_id": row.parent_id,
            "effective_on": effective,
        }
        return NewEvent(
            unit_stream(row.unit_id), 1, expected.event_type, data, expected.schema_version
        )

    if make(sample) != expected:
        raise RuntimeError("UnitRegistered has changed shape: update importer._registrations.")
    return make


def plan(
    rows: list[Row],
    stored: dict[str, dict[str, Any]],
    effective_on: date,
    taken: Collection[str] = (),
) -> list[Row]:
    """The rows to register, parents before children; every problem named by its line.
    ``taken``: ids whose log is already open though no unit is registered under them."""
    errors: list[tuple[int, str]] = []
    by_id: dict[str, Row] = {}
    for row in rows:
        if row.unit_id in by_id:
            errors.append((row.line, f"Mã {row.unit_id} trùng với dòng {by_id[row.unit_id].line}."))
        else:
            by_id[row.unit_id] = row
    new: dict[str, Row] = {}
    for row in by_id.values():
        existing = stored.get(row.unit_id)
        if row.unit_id in taken:
            errors.append((row.line, f"Mã {row.unit_id} đã được dùng cho một nhật ký khác."))
        elif existing is None:
            new[row.unit_id] = row
        elif not row.same_as(existing):
            errors.append((row.line, f"Đơn vị {row.unit_id} đã có với thông tin khác."))
    for row in new.values():
        errors.extend(_tree_errors(row, by_id, stored, effective_on))
    errors.extend(_cycles(new))
    if errors:
        raise ImportFileInvalid(sorted(set(errors)))
    return _parents_first(new)


def _tree_errors(
    row: Row,
    by_id: dict[str, Row],
    stored: dict[str, dict[str, Any]],
    effective_on: date,
) -> list[tuple[int, str]]:
    """The registry's own rules (domain.py, rules.py), each refusal named by its line."""
    try:
        check_registration(
            row.name, row.short_name, row.level, row.sector_type, row.members, row.parent_id
        )
        if row.parent_id is None:
            return []
        if row.parent_id in stored:
            existing = stored[row.parent_id]
            parent = UnitFacts(
                row.parent_id, existing["level"], existing["status"], existing["since"], None
            )
        elif row.parent_id in by_id:  # registered by this same file, before its children
            level = by_id[row.parent_id].level
            parent = UnitFacts(row.parent_id, level, "active", effective_on, None)
        else:
            return [(row.line, f"Không có cấp trên {row.parent_id}.")]
        check_parent(row.unit_id, row.level, parent, effective_on)
    except DomainError as exc:
        return [(row.line, exc.message)]
    return []


def _cycles(new: dict[str, Row]) -> list[tuple[int, str]]:
    errors, done = [], set()
    for start in new:
        path: list[str] = []
        on_path: set[str] = set()
        unit: str | None = start
        while unit in new and unit not in done:
            if unit in on_path:
                cycle = path[path.index(unit) :]
                lines = sorted(new[u].line for u in cycle)
                errors.append((lines[0], f"Vòng cấp trên: {' → '.join([*cycle, unit])}."))
                break
            path.append(unit)
            on_path.add(unit)
            unit = new[unit].parent_id
        done.update(path)
    return errors


def _parents_first(new: dict[str, Row]) -> list[Row]:
    depth: dict[str, int] = {}

    def depth_of(unit: str) -> int:
        if unit not in depth:
            parent = new[unit].parent_id
            depth[unit] = depth_of(parent) + 1 if parent in new else 0
        return depth[unit]

    for unit in new:
        depth_of(unit)
    return sorted(new.values(), key=lambda r: (depth[r.unit_id], r.line))


@dataclass(frozen=True, slots=True)
class _ReadModel:
    """The rows new units add to the registry's tables."""

    units: list[tuple[Any, ...]]
    parents: list[tuple[str, str | None, date]]
    closure: list[projections.ClosureRow]


async def _known_closure(
    conn: asyncpg.Connection, rows: list[Row]
) -> dict[str, list[projections.ClosureRow]]:
    """The stored closure rows of parents outside the file: where the new branches hang."""
    ids = {r.unit_id for r in rows}
    outside = list({r.parent_id for r in rows if r.parent_id is not None} - ids)
    known: dict[str, list[projections.ClosureRow]] = {}
    for r in await conn.fetch(
        "SELECT ancestor, descendant, depth, valid_from, valid_to FROM unit_closure "
        "WHERE descendant = ANY($1::text[])",
        outside,
    ):
        known.setdefault(r["descendant"], []).append(tuple(r))  # type: ignore[arg-type]
    return known


def _read_model(
    rows: list[Row], effective_on: date, known: dict[str, list[projections.ClosureRow]]
) -> _ReadModel:
    """Pure: it runs in a thread while the database opens the logs."""
    units = [
        (
            r.unit_id,
            r.name,
            r.short_name,
            r.level,
            r.sector_type,
            r.members,
            r.parent_id,
            effective_on,
            search_key(r.name, r.short_name),
            1,
        )
        for r in rows
    ]
    children = [r for r in rows if r.parent_id is not None]
    life = {r.unit_id: (effective_on, None) for r in rows}
    intervals = {
        r.unit_id: [projections.Interval(r.parent_id, effective_on, None)] for r in children
    }
    closure = projections.closure_rows(
        [r.unit_id for r in rows],
        life,
        intervals,  # type: ignore[arg-type]
        known,
    )
    return _ReadModel(units, [(r.unit_id, r.parent_id, effective_on) for r in children], closure)


async def _write_read_model(conn: asyncpg.Connection, model: _ReadModel) -> None:
    await insert_rows(conn, "units", _UNIT_COLUMNS, model.units)
    await insert_rows(
        conn,
        "unit_parents",
        (("tenant_id", "text"), ("parent_id", "text"), ("valid_from", "date")),
        model.parents,
    )
    await projections.insert_closure(conn, model.closure)


_UNIT_COLUMNS = (
    ("tenant_id", "text"),
    ("name", "text"),
    ("short_name", "text"),
    ("level", "text"),
    ("sector_type", "text"),
    ("members", "int"),
    ("parent_id", "text"),
    ("since", "date"),
    ("search_key", "text"),
    ("version", "int"),
)
