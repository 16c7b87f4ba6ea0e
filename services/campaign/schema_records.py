"""GraphQL of what units record under campaigns: pledges (giao ước thi đua, đăng ký danh hiệu),
works for plaques (công trình, sản phẩm gắn biển) and initiatives (sáng kiến).

Reads run in ``access.scope`` (row-level security): a unit reads its own records and, for every
role but ``member``, those the units below it recorded while they were below it (the role rule
and the dated reach of shared/access.py). A unit out of reach answers ``null``; a record out of
reach, NOT_FOUND."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from enum import Enum
from typing import Any

import orjson
import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from services.campaign.bulk import PledgeRow, register_pledges
from services.campaign.rules import TITLES
from services.campaign.schema import _commands, _read
from shared import access
from shared.access import principal_of
from shared.bulk import MAX_ERRORS_SHOWN, RowErrorType, row_error_types
from shared.commands import idempotency_key_of
from shared.db import optional
from shared.errors import NotFound
from shared.graphql import BigInt, client_uuid, planned_input
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

MAX_PAGE = 1_000


@strawberry.enum(description="Ai giao ước: cá nhân hay tập thể.")
class PledgeSubject(Enum):
    PERSON = "person"
    COLLECTIVE = "collective"


@strawberry.enum(description="Công trình hay sản phẩm.")
class WorkKind(Enum):
    WORK = "work"
    PRODUCT = "product"


@strawberry.type(description="Một danh hiệu thi đua có thể đăng ký.")
class Title:
    code: str
    name: str
    subject: PledgeSubject


@strawberry.type(
    description="Một giao ước thi đua: cá nhân hay tập thể đăng ký phấn đấu đạt danh hiệu."
)
class Pledge:
    id: strawberry.ID
    unit_id: strawberry.ID
    campaign_id: strawberry.ID
    subject: PledgeSubject
    name: str | None = strawberry.field(
        description="Họ tên (tên tập thể); null khi người đó đã bị xóa dữ liệu cá nhân."
    )
    person_id: strawberry.ID | None = strawberry.field(
        description=(
            "Người lao động mà giao ước cá nhân nêu tên (theo số hiệu, hoặc người được tạo cho "
            "tên đó); null với tập thể và với giao ước ghi trước khi tên được niêm phong."
        )
    )
    ref: str = strawberry.field(description="Mã của người lao động trong đơn vị, nếu có.")
    title: str = strawberry.field(description="Mã danh hiệu.")
    title_name: str
    registered_on: date
    late: bool = strawberry.field(description="Đăng ký sau hạn đăng ký của phong trào.")
    status: str = strawberry.field(description="registered hoặc withdrawn.")
    reason: str | None = strawberry.field(description="Lý do rút, nếu đã rút.")


@strawberry.type(description="Số giao ước theo danh hiệu.")
class TitleCount:
    title: str
    title_name: str
    count: int


@strawberry.type(
    description="Một trang giao ước (theo đơn vị, tên, danh hiệu), với tổng số và số theo danh "
    "hiệu trên mọi trang; trang sau: after = pageInfo.endCursor."
)
class PledgePage:
    total: int
    by_title: list[TitleCount]
    edges: list[Edge[Pledge]]
    page_info: PageInfo


@strawberry.type(description="Kết quả một lần đăng ký giao ước hàng loạt.")
class PledgeBulkResult:
    received: int = strawberry.field(description="Số dòng nhận được.")
    written: int = strawberry.field(description="Số giao ước mới được ghi.")
    unchanged: int = strawberry.field(description="Số dòng đã có từ trước: không ghi lại.")
    error_count: int
    errors: list[RowErrorType] = strawberry.field(
        description=f"Các dòng bị từ chối (tối đa {MAX_ERRORS_SHOWN} dòng đầu)."
    )


@strawberry.type(description="Công trình, sản phẩm chào mừng đăng ký gắn biển.")
class Work:
    id: strawberry.ID
    unit_id: strawberry.ID
    campaign_id: strawberry.ID
    name: str
    kind: WorkKind
    description: str
    location: str
    value_vnd: BigInt | None
    completion_due: date | None
    registered_on: date
    status: str
    history: JSON = strawberry.field(description="Các lần điều chỉnh, rút đăng ký, với lý do.")


@strawberry.type(description="Một sáng kiến: đăng ký, rồi được công nhận với giá trị làm lợi.")
class Initiative:
    id: strawberry.ID
    unit_id: strawberry.ID
    campaign_id: strawberry.ID | None
    title: str
    authors: list[str | None] = strawberry.field(
        description="Tác giả; null thay cho người đã bị xóa dữ liệu cá nhân."
    )
    field: str
    description: str
    registered_on: date
    recognised_on: date | None
    decision: str | None = strawberry.field(description="Quyết định công nhận.")
    benefit_vnd: BigInt | None = strawberry.field(description="Giá trị làm lợi (đồng).")
    applied_at: list[str] = strawberry.field(description="Nơi áp dụng.")
    status: str
    history: JSON


@strawberry.type(
    description="Một trang công trình, sản phẩm (theo ngày đăng ký, tên); trang sau: after = "
    "pageInfo.endCursor."
)
class WorkPage:
    edges: list[Edge[Work]]
    page_info: PageInfo


@strawberry.type(
    description="Sáng kiến trong tầm (theo ngày đăng ký, tên), với tổng số và tổng giá trị làm "
    "lợi trên mọi trang; trang sau: after = pageInfo.endCursor."
)
class InitiativePage:
    count: int = strawberry.field(description="Số sáng kiến (chưa rút) khớp điều kiện.")
    recognised_count: int
    benefit_vnd: BigInt = strawberry.field(description="Tổng giá trị làm lợi đã công nhận.")
    edges: list[Edge[Initiative]]
    page_info: PageInfo


# --- reads --------------------------------------------------------------------------------------


async def _units(info: Info, unit_id: strawberry.ID | None, subtree: bool) -> list[str] | None:
    """The units a listing covers: the given one (default the caller's) and, with ``subtree``,
    every unit ever below it; None when the unit is out of the caller's reach."""
    principal = principal_of(info)
    unit = str(unit_id) if unit_id else principal.tenant
    async with access.reading(info) as conn:
        if not access.may_read_unit(principal, await access.relation(conn, principal, unit)):
            return None
        if not subtree or not principal.roles & access.SUBTREE_READERS:
            return [unit]  # a member's listing is its own unit's (shared/access.py)
        rows = await conn.fetch(
            "SELECT DISTINCT descendant FROM unit_closure WHERE ancestor = $1", unit
        )
        return [r["descendant"] for r in rows] or [unit]


def _optional_campaign(value: strawberry.ID | None) -> uuid.UUID | None:
    return client_uuid(value) if value else None


# Each list's order, and the SQL types of its cursor's parts (shared/pages.py).
_PLEDGE_ORDER = "tenant_id, name, title, pledge_id"
_PLEDGE_KEY = ("text", "text", "text", "uuid")
_WORK_ORDER = "registered_on, name, work_id"
_WORK_KEY = ("date", "text", "uuid")
_INITIATIVE_ORDER = "registered_on, title, initiative_id"
_INITIATIVE_KEY = ("date", "text", "uuid")


def _pledge_key(row: Any) -> tuple[str, ...]:
    return row["tenant_id"], row["name"], row["title"], str(row["pledge_id"])


def _work_key(row: Any) -> tuple[str, ...]:
    return row["registered_on"].isoformat(), row["name"], str(row["work_id"])


def _initiative_key(row: Any) -> tuple[str, ...]:
    return row["registered_on"].isoformat(), row["title"], str(row["initiative_id"])


def _pledge_filter(args: Sequence[Any]) -> str:
    """$1 the units, $2 a campaign, $3 a title, $4 a search key, $5 withdrawn ones too."""
    return f"""
  FROM campaign_pledges
 WHERE tenant_id = ANY ($1::text[]) AND {optional(args[1], "campaign_id = $2::uuid", "$2::uuid")}
   AND {optional(args[2], "title = $3::text", "$3::text")}
   AND {optional(args[3], "search_key LIKE '%' || $4::text || '%'", "$4::text")}
   AND ($5 OR status = 'registered')
"""


def _pledge(row: Any) -> Pledge:
    return Pledge(
        id=strawberry.ID(str(row["pledge_id"])),
        unit_id=strawberry.ID(row["tenant_id"]),
        campaign_id=strawberry.ID(str(row["campaign_id"])),
        subject=PledgeSubject(row["subject"]),
        name=row["name"] or None,  # '': the person is erased (a name is never empty)
        person_id=strawberry.ID(str(row["person_id"])) if row["person_id"] else None,
        ref=row["ref"],
        title=row["title"],
        title_name=TITLES[row["title"]].name,
        registered_on=row["registered_on"],
        late=row["late"],
        status=row["status"],
        reason=row["reason"],
    )


def _work(row: Any) -> Work:
    return Work(
        id=strawberry.ID(str(row["work_id"])),
        unit_id=strawberry.ID(row["tenant_id"]),
        campaign_id=strawberry.ID(str(row["campaign_id"])),
        name=row["name"],
        kind=WorkKind(row["kind"]),
        description=row["description"],
        location=row["location"],
        value_vnd=row["value_vnd"],
        completion_due=row["completion_due"],
        registered_on=row["registered_on"],
        status=row["status"],
        history=orjson.loads(row["history"]),
    )


def _initiative(row: Any) -> Initiative:
    return Initiative(
        id=strawberry.ID(str(row["initiative_id"])),
        unit_id=strawberry.ID(row["tenant_id"]),
        campaign_id=strawberry.ID(str(row["campaign_id"])) if row["campaign_id"] else None,
        title=row["title"],
        authors=orjson.loads(row["authors"]),
        field=row["field"],
        description=row["description"],
        registered_on=row["registered_on"],
        recognised_on=row["recognised_on"],
        decision=row["decision"],
        benefit_vnd=row["benefit_vnd"],
        applied_at=orjson.loads(row["applied_at"]),
        status=row["status"],
        history=orjson.loads(row["history"]),
    )


_WORK_COLUMNS = (
    "tenant_id, work_id, campaign_id, name, kind, description, location, value_vnd, "
    "completion_due, registered_on, status, history::text AS history"
)
_INITIATIVE_COLUMNS = (
    "tenant_id, initiative_id, campaign_id, title, authors::text AS authors, field, description, "
    "registered_on, recognised_on, decision, benefit_vnd, applied_at::text AS applied_at, status, "
    "history::text AS history"
)


def _initiative_filter(args: Sequence[Any]) -> str:
    """$1 the units, $2 a campaign, $3 a year, $4 a search key, $5 recognised or not."""
    year = "extract(year FROM coalesce(recognised_on, registered_on)) = $3::int"
    return f"""
  FROM campaign_initiatives
 WHERE tenant_id = ANY ($1::text[]) AND {optional(args[1], "campaign_id = $2::uuid", "$2::uuid")}
   AND {optional(args[2], year, "$3::int")}
   AND {optional(args[3], "search_key LIKE '%' || $4::text || '%'", "$4::text")}
   AND {optional(args[4], "(recognised_on IS NOT NULL) = $5::boolean", "$5::boolean")}
   AND status = 'registered'
"""


@strawberry.type
class RecordsQuery:
    @strawberry.field(description="Danh mục danh hiệu thi đua đăng ký được.")
    def titles(self) -> list[Title]:
        return [
            Title(code=t.code, name=t.name, subject=PledgeSubject(t.subject))
            for t in TITLES.values()
        ]

    @strawberry.field(
        description="Giao ước thi đua của một đơn vị (mặc định: đơn vị mình), hoặc cả các đơn vị "
        "cấp dưới (subtree: true); lọc theo phong trào, danh hiệu, tên (gõ có dấu hay không dấu). "
        "Đơn vị ngoài tầm: null."
    )
    async def pledges(
        self,
        info: Info,
        campaign_id: strawberry.ID | None = None,
        unit_id: strawberry.ID | None = None,
        subtree: bool = False,
        title: str | None = None,
        search: str | None = None,
        include_withdrawn: bool = False,
        first: int = 100,
        after: str | None = None,
    ) -> PledgePage | None:
        checked_first(first, MAX_PAGE)
        position = typed_position(after, _PLEDGE_KEY)
        units = await _units(info, unit_id, subtree)
        if units is None:
            return None
        args = (
            units,
            _optional_campaign(campaign_id),
            title,
            like_escaped(search_key(search)) if search else None,
            include_withdrawn,
        )
        counts = await _read(
            info,
            f"SELECT title, count(*) AS n {_pledge_filter(args)} GROUP BY title ORDER BY title",
            *args,
        )
        rows = await _read(
            info,
            f"SELECT * {_pledge_filter(args)} "
            f"AND {past_cursor(_PLEDGE_ORDER, _PLEDGE_KEY, 6, given=position is not None)} "
            f"ORDER BY {_PLEDGE_ORDER} LIMIT $10",
            *args,
            *position_parameters(position, _PLEDGE_KEY),
            first + 1,
        )
        edges = edges_of(rows, first, _pledge_key, _pledge)
        return PledgePage(
            total=sum(r["n"] for r in counts),
            by_title=[
                TitleCount(title=r["title"], title_name=TITLES[r["title"]].name, count=r["n"])
                for r in counts
            ],
            edges=edges,
            page_info=next_page(rows, first, edges),
        )

    @strawberry.field(
        description="Công trình, sản phẩm đăng ký gắn biển của một đơn vị (mặc định: đơn vị "
        "mình), hoặc cả cấp dưới (subtree: true). Đơn vị ngoài tầm: null."
    )
    async def works(
        self,
        info: Info,
        campaign_id: strawberry.ID | None = None,
        unit_id: strawberry.ID | None = None,
        subtree: bool = False,
        include_withdrawn: bool = False,
        first: int = 100,
        after: str | None = None,
    ) -> WorkPage | None:
        checked_first(first, MAX_PAGE)
        position = typed_position(after, _WORK_KEY)
        units = await _units(info, unit_id, subtree)
        if units is None:
            return None
        campaign = _optional_campaign(campaign_id)
        rows = await _read(
            info,
            f"SELECT {_WORK_COLUMNS} FROM campaign_works WHERE tenant_id = ANY ($1::text[]) "
            f"AND {optional(campaign, 'campaign_id = $2::uuid', '$2::uuid')} "
            f"AND ($3 OR status = 'registered') AND {past_cursor(_WORK_ORDER, _WORK_KEY, 4, given=position is not None)} "
            f"ORDER BY {_WORK_ORDER} LIMIT $7",
            units,
            campaign,
            include_withdrawn,
            *position_parameters(position, _WORK_KEY),
            first + 1,
        )
        edges = edges_of(rows, first, _work_key, _work)
        return WorkPage(edges=edges, page_info=next_page(rows, first, edges))

    @strawberry.field(
        description="Sáng kiến của một đơn vị (mặc định: đơn vị mình) và các đơn vị cấp dưới "
        "(subtree, mặc định true), với tổng số và tổng giá trị làm lợi; lọc theo phong trào, năm "
        "(công nhận, hay đăng ký nếu chưa công nhận), đã công nhận hay chưa, tên hay tác giả. "
        "Đơn vị ngoài tầm: null."
    )
    async def initiatives(
        self,
        info: Info,
        campaign_id: strawberry.ID | None = None,
        unit_id: strawberry.ID | None = None,
        subtree: bool = True,
        year: int | None = None,
        recognised: bool | None = None,
        search: str | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> InitiativePage | None:
        checked_first(first, MAX_PAGE)
        position = typed_position(after, _INITIATIVE_KEY)
        units = await _units(info, unit_id, subtree)
        if units is None:
            return None
        args = (
            units,
            _optional_campaign(campaign_id),
            year,
            like_escaped(search_key(search)) if search else None,
            recognised,
        )
        [totals] = await _read(
            info,
            "SELECT count(*) AS n, count(recognised_on) AS recognised, "
            f"coalesce(sum(benefit_vnd), 0)::bigint AS benefit {_initiative_filter(args)}",
            *args,
        )
        rows = await _read(
            info,
            f"SELECT {_INITIATIVE_COLUMNS} {_initiative_filter(args)} "
            f"AND {past_cursor(_INITIATIVE_ORDER, _INITIATIVE_KEY, 6, given=position is not None)} "
            f"ORDER BY {_INITIATIVE_ORDER} LIMIT $9",
            *args,
            *position_parameters(position, _INITIATIVE_KEY),
            first + 1,
        )
        edges = edges_of(rows, first, _initiative_key, _initiative)
        return InitiativePage(
            count=totals["n"],
            recognised_count=totals["recognised"],
            benefit_vnd=totals["benefit"],
            edges=edges,
            page_info=next_page(rows, first, edges),
        )


async def _one(info: Info, table: str, key: str, columns: str, value: uuid.UUID) -> Any:
    rows = await _read(info, f"SELECT {columns} FROM {table} WHERE {key} = $1", value)
    if not rows:
        raise NotFound(str(value), id=str(value))
    return rows[0]


# --- writes -------------------------------------------------------------------------------------


@planned_input
@strawberry.input(description="Một dòng giao ước.")
class PledgeRowInput:
    name: str = strawberry.field(description="Họ tên, hay tên tập thể.")
    title: str = strawberry.field(description="Mã danh hiệu, hay tên danh hiệu (có dấu hay không).")
    subject: PledgeSubject | None = strawberry.field(
        default=None, description="Cá nhân hay tập thể; bỏ trống: theo danh hiệu."
    )
    ref: str = strawberry.field(default="", description="Mã người lao động trong đơn vị.")


@strawberry.input(description="Công trình, sản phẩm đăng ký gắn biển.")
class WorkInput:
    name: str
    kind: WorkKind = WorkKind.WORK
    description: str = ""
    location: str = ""
    value_vnd: BigInt | None = None
    completion_due: date | None = strawberry.field(default=None, description="Dự kiến hoàn thành.")


@strawberry.input(description="Điều chỉnh công trình: chỉ các trường có giá trị được đổi.")
class WorkChanges:
    name: str | None = None
    kind: WorkKind | None = None
    description: str | None = None
    location: str | None = None
    value_vnd: BigInt | None = None
    completion_due: date | None = None


@strawberry.input(description="Một sáng kiến đăng ký.")
class InitiativeInput:
    title: str
    authors: list[str]
    author_staff_numbers: list[str] | None = strawberry.field(
        default=None,
        description=(
            "Số hiệu của từng tác giả trong đơn vị, theo thứ tự của authors ('' nếu không có): "
            "tên được niêm phong bằng khóa của đúng người đó."
        ),
    )
    field: str = strawberry.field(default="", description="Lĩnh vực.")
    description: str = ""
    campaign_id: strawberry.ID | None = strawberry.field(
        default=None, description="Phong trào mà sáng kiến đăng ký theo, nếu có."
    )


@strawberry.type
class RecordsMutation:
    @strawberry.mutation(
        description="Đăng ký giao ước thi đua hàng loạt cho đơn vị mình trong một phong trào "
        "(của đơn vị mình, hay đã phát động của cấp trên): dòng hợp lệ được ghi, dòng lỗi được nêu "
        "tên; gửi lại cùng các dòng thì không ghi gì thêm."
    )
    async def register_pledges(
        self, info: Info, campaign_id: strawberry.ID, rows: list[PledgeRowInput]
    ) -> PledgeBulkResult:
        given = [
            PledgeRow(
                row=n,
                subject=r.subject.value if r.subject else "",
                name=r.name,
                title=r.title,
                ref=r.ref,
            )
            for n, r in enumerate(rows, start=1)
        ]
        result = await register_pledges(
            _commands(info),
            principal_of(info),
            client_uuid(campaign_id),
            given,
            max_rows=info.context["runtime"].settings.max_bulk_rows,
        )
        return bulk_result(result)

    @strawberry.mutation(description="Rút một giao ước của đơn vị mình, có lý do.")
    async def withdraw_pledge(self, info: Info, pledge_id: strawberry.ID, reason: str) -> Pledge:
        pid = client_uuid(pledge_id)
        await _commands(info).withdraw_pledge(
            principal_of(info), pid, reason, idempotency_key=idempotency_key_of(info)
        )
        return _pledge(await _one(info, "campaign_pledges", "pledge_id", "*", pid))

    @strawberry.mutation(description="Đăng ký một công trình, sản phẩm gắn biển trong phong trào.")
    async def register_work(self, info: Info, campaign_id: strawberry.ID, input: WorkInput) -> Work:
        work_id = await _commands(info).register_work(
            principal_of(info),
            client_uuid(campaign_id),
            name=input.name,
            kind=input.kind.value,
            description=input.description,
            location=input.location,
            value_vnd=input.value_vnd,
            completion_due=input.completion_due,
            idempotency_key=idempotency_key_of(info),
        )
        return _work(await _one(info, "campaign_works", "work_id", _WORK_COLUMNS, work_id))

    @strawberry.mutation(description="Điều chỉnh công trình, sản phẩm đã đăng ký, có lý do.")
    async def amend_work(
        self, info: Info, work_id: strawberry.ID, changes: WorkChanges, reason: str
    ) -> Work:
        wid = client_uuid(work_id)
        given = {k: v for k, v in vars(changes).items() if v is not None}
        if "kind" in given:
            given["kind"] = given["kind"].value
        await _commands(info).amend_work(
            principal_of(info), wid, given, reason, idempotency_key=idempotency_key_of(info)
        )
        return _work(await _one(info, "campaign_works", "work_id", _WORK_COLUMNS, wid))

    @strawberry.mutation(description="Rút đăng ký công trình, sản phẩm, có lý do.")
    async def withdraw_work(self, info: Info, work_id: strawberry.ID, reason: str) -> Work:
        wid = client_uuid(work_id)
        await _commands(info).withdraw_work(
            principal_of(info), wid, reason, idempotency_key=idempotency_key_of(info)
        )
        return _work(await _one(info, "campaign_works", "work_id", _WORK_COLUMNS, wid))

    @strawberry.mutation(description="Đăng ký một sáng kiến của đơn vị mình.")
    async def register_initiative(self, info: Info, input: InitiativeInput) -> Initiative:
        initiative_id = await _commands(info).register_initiative(
            principal_of(info),
            title=input.title,
            authors=input.authors,
            author_staff_numbers=input.author_staff_numbers,
            field=input.field,
            description=input.description,
            campaign_id=_optional_campaign(input.campaign_id),
            idempotency_key=idempotency_key_of(info),
        )
        return await _initiative_of(info, initiative_id)

    @strawberry.mutation(
        description="Công nhận sáng kiến: giá trị làm lợi (đồng), nơi áp dụng, quyết định."
    )
    async def recognise_initiative(
        self,
        info: Info,
        initiative_id: strawberry.ID,
        benefit_vnd: BigInt,
        applied_at: list[str],
        decision: str = "",
    ) -> Initiative:
        iid = client_uuid(initiative_id)
        await _commands(info).recognise_initiative(
            principal_of(info),
            iid,
            benefit_vnd=benefit_vnd,
            applied_at=applied_at,
            decision=decision,
            idempotency_key=idempotency_key_of(info),
        )
        return await _initiative_of(info, iid)

    @strawberry.mutation(description="Điều chỉnh giá trị làm lợi, nơi áp dụng, có lý do.")
    async def amend_initiative_recognition(
        self,
        info: Info,
        initiative_id: strawberry.ID,
        benefit_vnd: BigInt,
        applied_at: list[str],
        reason: str,
    ) -> Initiative:
        iid = client_uuid(initiative_id)
        await _commands(info).amend_recognition(
            principal_of(info),
            iid,
            benefit_vnd=benefit_vnd,
            applied_at=applied_at,
            reason=reason,
            idempotency_key=idempotency_key_of(info),
        )
        return await _initiative_of(info, iid)

    @strawberry.mutation(description="Rút một sáng kiến (kể cả đã công nhận), có lý do.")
    async def withdraw_initiative(
        self, info: Info, initiative_id: strawberry.ID, reason: str
    ) -> Initiative:
        iid = client_uuid(initiative_id)
        await _commands(info).withdraw_initiative(
            principal_of(info), iid, reason, idempotency_key=idempotency_key_of(info)
        )
        return await _initiative_of(info, iid)


async def _initiative_of(info: Info, initiative_id: uuid.UUID) -> Initiative:
    row = await _one(
        info, "campaign_initiatives", "initiative_id", _INITIATIVE_COLUMNS, initiative_id
    )
    return _initiative(row)


def bulk_result(result: Any) -> PledgeBulkResult:
    return PledgeBulkResult(
        received=result.received,
        written=result.written,
        unchanged=result.unchanged,
        error_count=result.error_count,
        errors=row_error_types(result),
    )
