"""``thidua tenants import FILE.csv``: register a whole tree of units from one file.

Columns ``id,parent_id,name,short_name,level,sector_type,members``, UTF-8. All or nothing: every
line is checked first and every error is reported with its line number; then, as one command of
the pipeline under the registry's lock, every new unit's log is opened and the registry's inline
projection applies their events, in one transaction. Units already registered with the same data
are skipped, so importing the same file again writes nothing.
"""

from __future__ import annotations

import asyncio
import csv
import gc
import io
import sys
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from services.registry.commands import RegistryCommands, project
from services.registry.domain import (
    LEVEL_RANK,
    SECTOR_TYPES,
    Unit,
    check_registration,
    unit_stream,
)
from services.registry.projections import WRITERS_LOCK
from services.registry.rules import UnitFacts, check_parent
from shared.aggregates import EventRegistry
from shared.commands import Attempt
from shared.errors import DomainError, InvalidTenant
from shared.eventstore import NewEvent, PreparedFirsts, StoredEvent, check_tenant
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

    ``connection``: the database owner's, from an operator tool, which also tidies the tables
    afterwards (VACUUM, ANALYZE), so that subtree reads are answered from the index straight
    away. Either way the read model is written by the registry's projection, as a command's
    events are (services/registry/projections.py)."""
    rows = read_rows(data)
    if not rows:
        return ImportResult(read=0, registered=0, unchanged=0)
    report = progress or (lambda stage, done, total: None)

    async def decide(attempt: Attempt) -> list[str]:
        conn = attempt.conn
        stored, taken = await _stored(conn, rows)
        new = plan(rows, stored, effective_on, taken)
        report("check", len(rows), len(rows))
        await _open_and_project(commands, conn, new, effective_on, report)
        return [row.unit_id for row in new]

    with _bulk_mode():
        # The log of the file's first unit names the command; nothing else is keyed by it.
        registered = await commands.commands.run_in_transaction(
            None,
            "ImportUnits",
            decide,
            tenant_id=rows[0].unit_id,
            lock=WRITERS_LOCK,
            connection=connection,
            wait=False,
        )
    if registered and connection is not None:
        # The closure table is read from its index alone once its pages are marked all-visible;
        # the other two need only fresh statistics.
        await connection.execute("VACUUM (ANALYZE) unit_closure")
        await connection.execute("ANALYZE units, unit_parents")
        report("tidy", 1, 1)
    # After the tidying: a projection runner woken now would hold a snapshot while VACUUM ran,
    # and VACUUM leaves pages that snapshot might still need unmarked.
    if connection is None or not connection.is_in_transaction():
        for unit_id in registered:
            commands.store.announce(unit_id, 1)
    return ImportResult(
        read=len(rows), registered=len(registered), unchanged=len(rows) - len(registered)
    )


@contextmanager
def _bulk_mode() -> Iterator[None]:
    # The import makes hundreds of thousands of long-lived objects; the cyclic collector
    # would walk them again and again (a fifth of the time) and find nothing to free.
    # The event loop streams each chunk's statement (megabytes) while the worker thread makes
    # the next chunk: at the default switch interval it waited 5 ms for the GIL at each socket
    # write, and the database waited for it (a tenth of the import).
    was_enabled = gc.isenabled()
    interval = sys.getswitchinterval()
    gc.disable()
    sys.setswitchinterval(_SWITCH_INTERVAL_S)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        if was_enabled:
            gc.enable()


_SWITCH_INTERVAL_S = 0.0005


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


async def _open_and_project(
    commands: RegistryCommands,
    conn: asyncpg.Connection,
    new: list[Row],
    effective_on: date,
    report: Progress,
) -> None:
    """Each new unit's log, opened with its UnitRegistered event, and the registry's projection
    applied to them, chunk by chunk, parents' chunks first (``plan``'s order). A worker thread
    makes the next chunk's events while the database stores this one: two cores, both busy, and
    the event loop free to stream each chunk's statement as the socket takes it (made on the
    loop, each chunk held back the sending of the statement before it: a tenth of the import).
    The projection goes chunk by chunk too: its batch reads the parents' rows by index
    (shared/migrations/0023_faster_registry_apply.sql), so 5,000 units cost the same at any
    point of the import."""
    if not new:
        return
    make = _registrations(new[0], effective_on, commands.repository.registry)
    meta = {"actor": "system", "command": "ImportUnits"}

    def prepare(rows: list[Row]) -> tuple[PreparedFirsts, list[StoredEvent]]:
        firsts = [(row.unit_id, make(row)) for row in rows]
        opened = [_as_opened(unit_id, event) for unit_id, event in firsts]
        return commands.store.prepare_firsts(firsts, meta), opened

    chunks = [new[start : start + _CHUNK] for start in range(0, len(new), _CHUNK)]
    making = asyncio.ensure_future(asyncio.to_thread(prepare, chunks[0]))
    done = 0
    try:
        for index in range(len(chunks)):
            prepared, opened = await making
            if index + 1 < len(chunks):
                making = asyncio.ensure_future(asyncio.to_thread(prepare, chunks[index + 1]))
            report("events", done + len(opened), len(new))
            await commands.store.open_prepared(prepared, connection=conn)
            report("logs", done + len(opened), len(new))
            # Chunk by chunk: its parents' rows are in (an earlier chunk or this one).
            await project(conn, opened)
            done += len(opened)
            report("tree", done, len(new))
    finally:
        # Also when a chunk failed: the thread's work is dropped, not left running.
        if not making.done():
            await asyncio.wait([making])


def _as_opened(unit_id: str, event: NewEvent) -> StoredEvent:
    """A log's first event as the projection reads it (its place, type and data), without
    reading it back: its time and hashes are the log's to know, and no projection reads them."""
    return StoredEvent(
        tenant_id=unit_id,
        seq=1,
        stream_id=event.stream_id,
        stream_version=event.stream_version,
        event_type=event.event_type,
        schema_version=event.schema_version,
        data=event.data,
        meta={},
        recorded_at=_NOT_READ,
        prev_hash=b"",
        hash=b"",
    )


_NOT_READ = datetime.min.replace(tzinfo=UTC)
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
    # A level at a time, each in id order: each index then grows at a few places at a time,
    # not all over (the tables and their indexes are written twice as fast).
    return sorted(new.values(), key=lambda r: (depth[r.unit_id], r.unit_id))
