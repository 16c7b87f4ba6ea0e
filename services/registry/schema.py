"""GraphQL of the unit registry: ``me``, ``unit``, ``units`` and the registry's mutations.

Every read runs in ``access.scope`` (row-level security on the caller's unit) and checks the
access rules first; out of reach is "not found" (``null`` for ``unit``)."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from services.registry.commands import UNIT_COLUMNS, RegistryCommands, commands_of, today
from shared import access
from shared.access import principal_of
from shared.commands import idempotency_key_of
from shared.errors import InvalidInput, NotFound
from shared.eventstore import check_tenant
from shared.pages import (
    Edge,
    PageInfo,
    checked_first,
    edges_of,
    next_page,
    past_cursor,
    position_parameters,
    typed_position,
)
from shared.text import like_escaped, search_key

MAX_PAGE = 200
_UNIT_COLUMNS_OF_U = ", ".join("u." + c.strip() for c in UNIT_COLUMNS.split(","))


@strawberry.enum(description="Cấp công đoàn.")
class Level(Enum):
    NATIONAL = "national"
    PROVINCIAL = "provincial"
    SECTOR = "sector"
    UPPER = "upper"
    GRASSROOTS = "grassroots"


@strawberry.enum(description="Tình trạng đơn vị.")
class UnitStatus(Enum):
    ACTIVE = "active"
    MERGED = "merged"
    DISSOLVED = "dissolved"


@strawberry.type(description="Một đơn vị công đoàn (mỗi đơn vị là một tenant).")
class Unit:
    id: strawberry.ID
    name: str = strawberry.field(description="Tên đầy đủ, tiếng Việt có dấu.")
    short_name: str | None
    level: Level
    sector_type: str | None = strawberry.field(description="Khu vực (chỉ công đoàn cơ sở).")
    members: int = strawberry.field(description="Số đoàn viên.")
    parent_id: strawberry.ID | None = strawberry.field(description="Cấp trên trực tiếp hiện nay.")
    status: UnitStatus
    merged_into: strawberry.ID | None
    since: date = strawberry.field(description="Ngày bắt đầu có trong danh mục.")
    ended_on: date | None = strawberry.field(description="Ngày sáp nhập hoặc giải thể.")
    version: int

    @classmethod
    def from_row(cls, row: dict[str, Any] | Any) -> Unit:
        return cls(
            id=strawberry.ID(row["tenant_id"]),
            name=row["name"],
            short_name=row["short_name"],
            level=Level(row["level"]),
            sector_type=row["sector_type"],
            members=row["members"],
            parent_id=row["parent_id"],
            status=UnitStatus(row["status"]),
            merged_into=row["merged_into"],
            since=row["since"],
            ended_on=row["ended_on"],
            version=row["version"],
        )


@strawberry.type(description="Người đang gọi, theo mã truy cập.")
class Me:
    subject: str
    tenant: strawberry.ID
    roles: list[str]
    unit: Unit | None = strawberry.field(description="Đơn vị của người gọi (null nếu chưa có).")


@strawberry.type(description="Một trang đơn vị; trang sau: after = pageInfo.endCursor.")
class UnitConnection:
    edges: list[Edge[Unit]]
    page_info: PageInfo


def _commands(info: Info) -> RegistryCommands:
    return commands_of(info.context["runtime"])


_UNIT_KEY = ("text", "text")  # the page's order: name, then id


def _unit_key(row: Any) -> tuple[str, str]:
    return row["name"], row["tenant_id"]


def _checked_id(unit_id: str) -> str:
    try:
        check_tenant(unit_id)
    except Exception:
        raise NotFound(str(unit_id)[:80], id=str(unit_id)[:80]) from None
    return unit_id


# The caller's own subtree on a day is one range scan of its closure rows. Row-level security
# shows no closure row of a unit below the caller as ancestor (0010: a policy may not read the
# table it guards, so it cannot tell which of them lie in reach), so below another unit the tree
# on the day is walked down unit_parents instead, whose rows of units in reach the policy shows.
_OWN_SUBTREE = (
    "unit_closure c",
    "c.ancestor = $1 AND c.valid_from <= $2 AND (c.valid_to IS NULL OR c.valid_to > $2)",
)
_WALKED_SUBTREE = (
    "(WITH RECURSIVE below (descendant, depth) AS ("
    " SELECT $1::text, 0"
    " UNION ALL SELECT p.tenant_id, b.depth + 1 FROM below b"
    " JOIN unit_parents p ON p.parent_id = b.descendant"
    " WHERE b.depth < {max_depth} AND p.valid_from <= $2"
    " AND (p.valid_to IS NULL OR p.valid_to > $2)"
    ") SELECT * FROM below) c",
    "true",
)
_MAX_DEPTH = 64  # the rules refuse cycles; this only stops a corrupt model looping


def _units_below_sql(*, own: bool, search: bool, after: bool) -> str:
    """Units below $1 on day $2: its children, or with ``search`` the whole subtree (itself
    included) whose names match $3; after the cursor ($4, $5), at most $6."""
    source, on_day = _OWN_SUBTREE if own else _WALKED_SUBTREE
    if not own:
        source = source.format(max_depth=_MAX_DEPTH if search else 1)
    matching = "u.search_key LIKE '%' || $3::text || '%'"
    return (
        f"SELECT {_UNIT_COLUMNS_OF_U} FROM {source} JOIN units u ON u.tenant_id = c.descendant "
        f"WHERE {on_day} AND {'c.depth >= 0' if search else 'c.depth = 1'} "
        f"AND {matching if search else '$3::text IS NULL'} "
        f"AND {past_cursor('u.name, u.tenant_id', _UNIT_KEY, 4, given=after)} "
        "ORDER BY u.name, u.tenant_id LIMIT $6"
    )


@strawberry.type
class RegistryQuery:
    @strawberry.field(description="Người đang gọi và đơn vị của họ.")
    async def me(self, info: Info) -> Me:
        principal = principal_of(info)
        async with access.reading(info) as conn:
            row = await conn.fetchrow(
                f"SELECT {UNIT_COLUMNS} FROM units WHERE tenant_id = $1", principal.tenant
            )
        return Me(
            subject=principal.subject,
            tenant=strawberry.ID(principal.tenant),
            roles=sorted(principal.roles),
            unit=Unit.from_row(row) if row is not None else None,
        )

    @strawberry.field(description="Một đơn vị trong tầm đọc của người gọi; ngoài tầm: null.")
    async def unit(self, info: Info, id: strawberry.ID) -> Unit | None:
        principal = principal_of(info)
        try:
            unit_id = _checked_id(id)
            async with access.reading(info) as conn:
                await access.require_readable(conn, principal, unit_id)
                row = await conn.fetchrow(
                    f"SELECT {UNIT_COLUMNS} FROM units WHERE tenant_id = $1", unit_id
                )
        except NotFound:
            return None
        return Unit.from_row(row) if row is not None else None

    @strawberry.field(
        description="Đơn vị trực thuộc của parentId (mặc định: đơn vị của người gọi) vào ngày "
        "`on`, hoặc tìm theo tên trong các đơn vị cấp dưới (gõ không dấu cũng được)."
    )
    async def units(
        self,
        info: Info,
        parent_id: strawberry.ID | None = None,
        search: str | None = None,
        on: date | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> UnitConnection:
        principal = principal_of(info)
        checked_first(first, MAX_PAGE)
        if search is not None and not 1 <= len(search) <= 200:
            raise InvalidInput("Từ khóa tìm kiếm dài 1–200 ký tự.")
        position = typed_position(after, _UNIT_KEY)
        day = on or today()
        root = _checked_id(parent_id) if parent_id is not None else principal.tenant
        async with access.reading(info) as conn:
            await access.require_readable(conn, principal, root)
            if not principal.roles & access.SUBTREE_READERS:
                raise access.Forbidden("Vai trò đoàn viên chỉ xem được đơn vị của mình.")
            key = search_key(search) if search is not None else None
            sql = _units_below_sql(
                own=root == principal.tenant, search=key is not None, after=position is not None
            )
            rows = await conn.fetch(
                sql,
                root,
                day,
                like_escaped(key),
                *position_parameters(position, _UNIT_KEY),
                first + 1,
            )
        edges = edges_of(rows, first, _unit_key, Unit.from_row)
        return UnitConnection(edges=edges, page_info=next_page(rows, first, edges))


@strawberry.input(description="Đơn vị mới.")
class RegisterUnitInput:
    id: strawberry.ID = strawberry.field(
        description="Mã đơn vị: 1–64 ký tự chữ, số, . _ : -, duy nhất trong cả nước. Mã là mã "
        "hiệu, không phải bí mật: mã đã có người dùng thì được báo UNIT_EXISTS (chỉ vậy, không "
        "lộ gì về đơn vị đang giữ mã), nên đừng đặt mã chứa điều cần giữ kín."
    )
    name: str
    level: Level
    parent_id: strawberry.ID
    short_name: str | None = None
    sector_type: str | None = None
    members: int = 0
    effective_on: date | None = None


@strawberry.type
class RegistryMutation:
    @strawberry.mutation(
        description="Đăng ký đơn vị mới dưới một đơn vị (quản trị cấp trên). Kiểm tra theo thứ "
        "tự: dữ liệu nhập (UNIT_INVALID), quyền với cấp trên (NOT_FOUND, FORBIDDEN), cấp trên "
        "và thứ bậc, rồi mới đến mã trùng (UNIT_EXISTS): mã trùng chỉ được báo cho yêu cầu "
        "đúng mọi mặt khác, và chỉ cho biết mã đã có người dùng."
    )
    async def register_unit(self, info: Info, input: RegisterUnitInput) -> Unit:
        row = await _commands(info).register(
            principal_of(info),
            unit_id=input.id,
            name=input.name,
            short_name=input.short_name,
            level=input.level.value,
            sector_type=input.sector_type,
            members=input.members,
            parent_id=_checked_id(input.parent_id),
            effective_on=input.effective_on,
            idempotency_key=idempotency_key_of(info),
        )
        return Unit.from_row(row)

    @strawberry.mutation(description="Đổi tên đơn vị.")
    async def rename_unit(
        self, info: Info, id: strawberry.ID, name: str, short_name: str | None = None
    ) -> Unit:
        principal = principal_of(info)
        row = await _commands(info).rename(
            principal,
            _checked_id(id),
            name,
            short_name,
            idempotency_key=idempotency_key_of(info),
        )
        return Unit.from_row(row)

    @strawberry.mutation(description="Chuyển đơn vị sang cấp trên khác từ một ngày.")
    async def move_unit(
        self, info: Info, id: strawberry.ID, parent_id: strawberry.ID, effective_on: date
    ) -> Unit:
        principal = principal_of(info)
        row = await _commands(info).move(
            principal,
            _checked_id(id),
            _checked_id(parent_id),
            effective_on,
            idempotency_key=idempotency_key_of(info),
        )
        return Unit.from_row(row)

    @strawberry.mutation(description="Sáp nhập các đơn vị vào một đơn vị tiếp nhận từ một ngày.")
    async def merge_units(
        self, info: Info, ids: list[strawberry.ID], into: strawberry.ID, effective_on: date
    ) -> Unit:
        principal = principal_of(info)
        if not 1 <= len(ids) <= 100:
            raise InvalidInput("Sáp nhập 1–100 đơn vị một lần.")
        row = await _commands(info).merge(
            principal,
            [_checked_id(i) for i in ids],
            _checked_id(into),
            effective_on,
            idempotency_key=idempotency_key_of(info),
        )
        return Unit.from_row(row)

    @strawberry.mutation(description="Giải thể đơn vị từ một ngày.")
    async def dissolve_unit(
        self, info: Info, id: strawberry.ID, effective_on: date, reason: str = ""
    ) -> Unit:
        principal = principal_of(info)
        if len(reason) > 1000:
            raise InvalidInput("Lý do tối đa 1000 ký tự.")
        row = await _commands(info).dissolve(
            principal,
            _checked_id(id),
            effective_on,
            reason,
            idempotency_key=idempotency_key_of(info),
        )
        return Unit.from_row(row)
