"""GraphQL of campaigns: what a unit launches, what its units register and report, and what the
launching unit sees of them.

Every read runs in ``access.scope`` (row-level security on the caller's unit and reach): a unit
sees its own campaigns, with every role but ``member`` those its descendants recorded while below
it, and the launched campaigns of its ancestors (shared/access.py says exactly); an id out of
reach is ``null`` (queries) or NOT_FOUND (mutations)."""

from __future__ import annotations

import functools
import uuid
from datetime import date, timedelta
from enum import Enum
from typing import Any

import orjson
import strawberry
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON
from strawberry.types import Info

from services.campaign.commands import CampaignCommands, commands_of
from services.campaign.rules import registration_standing
from shared import access
from shared.access import principal_of
from shared.commands import idempotency_key_of
from shared.errors import NotFound
from shared.graphql import BigInt, client_uuid
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

# A province's campaign has hundreds of children, the union's thousands of registrations.
MAX_CHILDREN_PAGE = 200


@strawberry.enum(description="Loại phong trào.")
class CampaignKind(Enum):
    YEARLY = "yearly"
    THEMATIC = "thematic"
    FIVE_YEAR = "five_year"
    OCCASION = "occasion"


@strawberry.enum(description="Đối tượng tham gia.")
class Participants(Enum):
    UNION_ACTIVITY = "union_activity"
    WORKERS = "workers"
    WORKERS_IN_UNION_BODIES = "workers_in_union_bodies"


@strawberry.enum(description="Đơn vị đo của chỉ tiêu.")
class Measure(Enum):
    COUNT = "count"
    PERCENT = "percent"
    VND = "vnd"


@strawberry.enum(description="Số thực hiện: đơn vị báo cáo, hay tính từ sự kiện.")
class IndicatorSource(Enum):
    REPORTED = "reported"
    COMPUTED = "computed"


@strawberry.enum(description="Phạm vi: riêng đơn vị phát động, hay cộng cả các đơn vị cấp dưới.")
class IndicatorScope(Enum):
    OWN = "own"
    SUBTREE = "subtree"


@strawberry.enum(description="Chỉ tiêu thuộc trách nhiệm trực tiếp hay phối hợp thực hiện.")
class IndicatorCategory(Enum):
    DIRECT = "direct"
    COORDINATED = "coordinated"


@strawberry.enum(description="Tình trạng đăng ký của một đơn vị trực thuộc.")
class RegistrationStatus(Enum):
    ON_TIME = "on_time"
    LATE = "late"
    NOT_YET = "not_yet"
    WITHDRAWN = "withdrawn"


@strawberry.type(description="Một lần sơ kết đợt.")
class PhaseReview:
    report: str
    figures: JSON
    reviewed_on: date
    late: bool


@strawberry.type(description="Đợt thi đua.")
class Phase:
    number: int
    name: str
    starts: date
    ends: date
    report_due: date | None = strawberry.field(description="Hạn nộp báo cáo sơ kết đợt.")
    review: PhaseReview | None


@strawberry.type(description="Chỉ tiêu: mục tiêu, số thực hiện, mức đạt.")
class Indicator:
    code: str
    name: str
    measure: Measure
    target: BigInt
    source: IndicatorSource
    computed_from: list[str]
    scope: IndicatorScope
    category: IndicatorCategory | None
    actual: BigInt | None = strawberry.field(
        description="Số thực hiện. Do đơn vị báo cáo: tổng các đợt theo báo cáo mới nhất của mỗi "
        "đơn vị (phần trăm: trung bình của các đơn vị, theo đợt gần nhất). Tính từ sự kiện: đếm "
        "(chỉ tiêu tiền: cộng giá trị) các sự kiện đã nêu trong thời gian của phong trào. Là số "
        "của chính phong trào, như đơn vị phát động thấy: mọi người xem đều thấy cùng một số."
    )
    achievement: float | None = strawberry.field(description="Mức đạt, % so với chỉ tiêu.")


@strawberry.type(description="Tình trạng đăng ký thi đua của một đơn vị cấp dưới.")
class ChildRegistration:
    unit_id: strawberry.ID
    unit_name: str
    status: RegistrationStatus
    registered_on: date | None
    direct: bool = strawberry.field(
        description="Đơn vị trực thuộc trực tiếp, đang hoạt động, của đơn vị phát động (theo cây "
        "hôm nay)."
    )
    # As read (JSON texts), decoded only when asked for: a province's list has hundreds.
    contents_json: strawberry.Private[str | None]
    own_contents_json: strawberry.Private[str | None]

    @strawberry.field(description="Nội dung chọn từ nội dung của phong trào.")
    def contents(self) -> list[str]:
        return _list(self.contents_json)

    @strawberry.field(
        description="Nội dung đặc thù đơn vị tự xây dựng (không có trong nội dung của phong trào)."
    )
    def own_contents(self) -> list[str]:
        return _list(self.own_contents_json)


@strawberry.type(
    description="Một trang đăng ký của các đơn vị cấp dưới (theo tên đơn vị), với số đơn vị theo "
    "tình trạng trên mọi trang; trang sau: after = pageInfo.endCursor."
)
class ChildRegistrationPage:
    total_count: int = strawberry.field(description="Số đơn vị trên mọi trang.")
    on_time: int = strawberry.field(description="Số đơn vị đã đăng ký đúng hạn.")
    late: int = strawberry.field(description="Số đơn vị đăng ký muộn.")
    not_yet: int = strawberry.field(description="Số đơn vị trực thuộc chưa đăng ký.")
    withdrawn: int = strawberry.field(description="Số đơn vị đã rút đăng ký.")
    edges: list[Edge[ChildRegistration]]
    page_info: PageInfo


@strawberry.type(description="Một lần điều chỉnh sau phát động, với lý do.")
class Amendment:
    on: str
    reason: str
    changes: JSON


@strawberry.type(description="Một phong trào thi đua.")
class Campaign:
    id: strawberry.ID
    unit_id: strawberry.ID = strawberry.field(description="Đơn vị phát động.")
    name: str
    theme: str = strawberry.field(description="Chủ đề thi đua.")
    objectives: str
    scope: str
    participants: Participants
    contents: list[str] = strawberry.field(description="Nội dung thi đua.")
    measures: list[str] = strawberry.field(description="Biện pháp, giải pháp.")
    kind: CampaignKind
    period_start: date
    period_end: date
    registration_due: date | None = strawberry.field(description="Hạn gửi kế hoạch, đăng ký.")
    report_days: int | None = strawberry.field(description="Số ngày nộp báo cáo sau mỗi đợt.")
    min_contents: int = strawberry.field(description="Số nội dung tối thiểu mỗi đơn vị chọn.")
    status: str = strawberry.field(description="draft, launched hoặc concluded.")
    launched_on: date | None
    parent_campaign_id: strawberry.ID | None = strawberry.field(
        description="Phong trào cấp trên mà phong trào này cụ thể hóa."
    )
    parent_unit_id: strawberry.ID | None
    amendments: list[Amendment]
    conclusion: JSON | None = strawberry.field(description="Tổng kết: báo cáo, số liệu, muộn?")
    version: int

    # Nested lists load through per-request DataLoaders: a list of campaigns costs one query
    # per field, not one per campaign.
    @strawberry.field(description="Các đợt thi đua.")
    async def phases(self, info: Info) -> list[Phase]:
        rows = await _loader(info, PHASES).load(uuid.UUID(self.id))
        return [_phase(r, self.report_days) for r in rows]

    @strawberry.field(description="Các chỉ tiêu, với số thực hiện và mức đạt.")
    async def indicators(self, info: Info) -> list[Indicator]:
        return [_indicator(r) for r in await _loader(info, INDICATORS).load(uuid.UUID(self.id))]

    @strawberry.field(
        description="Mỗi đơn vị trực thuộc trực tiếp của đơn vị phát động: đăng ký đúng hạn, "
        "muộn, chưa đăng ký hay đã rút; với subtree (mặc định), thêm mọi đơn vị cấp sâu hơn đã "
        "đăng ký thẳng với phong trào này. Chỉ đơn vị phát động thấy."
    )
    async def child_registrations(
        self, info: Info, subtree: bool = True, first: int = 50, after: str | None = None
    ) -> ChildRegistrationPage:
        checked_first(first, MAX_CHILDREN_PAGE)
        position = typed_position(after, _CHILD_KEY)
        principal = principal_of(info)
        if principal.tenant != self.unit_id or not principal.roles & access.SUBTREE_READERS:
            return _children_page([], first)
        sql = _children_page_sql(subtree, after=position is not None)
        parameters = (*position_parameters(position, _CHILD_KEY), first + 1)
        return _children_page(await _loader(info, sql, *parameters).load(uuid.UUID(self.id)), first)

    @strawberry.field(description="Phong trào của các đơn vị cấp dưới cụ thể hóa phong trào này.")
    async def carried_out_by(self, info: Info) -> list[Campaign]:
        rows = await _loader(info, CARRIED_OUT_BY).load(uuid.UUID(self.id))
        return [campaign_of(r) for r in rows]


@strawberry.type(description="Đăng ký thi đua của đơn vị mình với cấp trên.")
class Registration:
    campaign_id: strawberry.ID
    campaign_unit_id: strawberry.ID
    unit_id: strawberry.ID
    plan: str
    contents: list[str] = strawberry.field(description="Nội dung chọn từ nội dung của phong trào.")
    own_contents: list[str] = strawberry.field(description="Nội dung đặc thù đơn vị tự xây dựng.")
    targets: JSON = strawberry.field(description="Chỉ tiêu riêng: mã chỉ tiêu → số.")
    registered_on: date
    late: bool
    status: str = strawberry.field(description="registered hoặc withdrawn.")
    history: JSON = strawberry.field(description="Các lần điều chỉnh, rút đăng ký, với lý do.")


CAMPAIGN_COLUMNS = (
    "tenant_id, campaign_id, name, theme, objectives, scope, participants, contents::text "
    "AS contents, measures::text AS measures, kind, period_start, period_end, registration_due, "
    "report_days, min_contents, status, launched_on, parent_campaign, parent_unit, "
    "amendments::text AS amendments, conclusion::text AS conclusion, version"
)

# Each of these reads many campaigns at once ($1: their ids); every row names its campaign in
# ``key``.
PHASES = """
SELECT campaign_id AS key, number, name, starts, ends, review::text AS review
  FROM campaign_phases WHERE campaign_id = ANY ($1::uuid[]) ORDER BY number
"""

# The actual is the campaign's own figure, kept by the campaign projection
# (services/campaign/actuals.py): the same for every reader who may see the campaign.
INDICATORS = """
SELECT i.campaign_id AS key, i.code, i.name, i.measure, i.target, i.source, i.computed_from,
       i.scope, i.category, i.actual
  FROM campaign_indicators i
 WHERE i.campaign_id = ANY ($1::uuid[])
 ORDER BY i.position
"""

_CHILDREN = """
SELECT c.campaign_id AS key, u.tenant_id, u.name, r.registered_on, r.late, r.status,
       r.contents, r.own_contents, true AS direct
  FROM campaigns c
  JOIN units u ON u.parent_id = c.tenant_id AND u.status = 'active'
  LEFT JOIN campaign_registrations r ON r.campaign_id = c.campaign_id AND r.tenant_id = u.tenant_id
 WHERE c.campaign_id = ANY ($1::uuid[])
"""

# The active direct children (registered or not), and every unit that registered with the
# campaign: a grassroots union may register straight with its province's campaign. A full join,
# not a union of the two: one pass over each side, and a name looked up only for a unit below
# the children. A unit the reader no longer reads (moved away since) keeps its registration,
# shown under its id.
_SUBTREE_REGISTRATIONS = """
WITH ch AS (
    SELECT c.campaign_id, u.tenant_id, u.name
      FROM campaigns c JOIN units u ON u.parent_id = c.tenant_id AND u.status = 'active'
     WHERE c.campaign_id = ANY ($1::uuid[])
),
r AS (
    SELECT campaign_id, tenant_id, registered_on, late, status, contents, own_contents
      FROM campaign_registrations WHERE campaign_id = ANY ($1::uuid[])
)
SELECT coalesce(ch.campaign_id, r.campaign_id) AS key,
       coalesce(ch.tenant_id, r.tenant_id) AS tenant_id,
       coalesce(ch.name, (SELECT u.name FROM units u WHERE u.tenant_id = r.tenant_id), r.tenant_id)
           AS name,
       r.registered_on, r.late, r.status, r.contents, r.own_contents,
       ch.tenant_id IS NOT NULL AS direct
  FROM ch FULL JOIN r ON r.campaign_id = ch.campaign_id AND r.tenant_id = ch.tenant_id
"""


_CHILD_KEY = ("text", "text")  # the page's order: the unit's name, then its id


@functools.cache
def _children_page_sql(subtree: bool, *, after: bool) -> str:
    """A page of the children's (``subtree``: and the units below's) registrations for each
    campaign: by name then id, after the cursor ($2, $3), at most $4 (one more than sent, to
    know a next page exists), each beside the campaign's counts over every row. A campaign with
    rows but none on this page answers one row without a unit."""
    rows = _SUBTREE_REGISTRATIONS if subtree else _CHILDREN
    return f"""
WITH base AS ({rows}),
counted AS (
    SELECT key, count(*) AS total,
           count(*) FILTER (WHERE status = 'registered' AND NOT late) AS on_time,
           count(*) FILTER (WHERE status = 'registered' AND late) AS late_count,
           count(*) FILTER (WHERE status IS NULL) AS not_yet,
           count(*) FILTER (WHERE status = 'withdrawn') AS withdrawn
      FROM base GROUP BY key
),
page AS (
    SELECT b.*, row_number() OVER (PARTITION BY key ORDER BY name, tenant_id) AS n
      FROM base b
     WHERE {past_cursor("b.name, b.tenant_id", _CHILD_KEY, 2, given=after)}
)
SELECT c.key, c.total, c.on_time, c.late_count, c.not_yet, c.withdrawn,
       p.tenant_id, p.name, p.registered_on, p.late, p.status, p.contents::text AS contents,
       p.own_contents::text AS own_contents, p.direct
  FROM counted c LEFT JOIN page p ON p.key = c.key AND p.n <= $4
 ORDER BY c.key, p.n
"""


CARRIED_OUT_BY = f"""
SELECT parent_campaign AS key, {CAMPAIGN_COLUMNS} FROM campaigns
 WHERE parent_campaign = ANY ($1::uuid[]) ORDER BY tenant_id
"""


def _loader(info: Info, sql: str, *args: Any) -> DataLoader[uuid.UUID, list[Any]]:
    """This request's loader for ``sql``: rows by campaign id, for the caller's reach; ``args``
    follow the ids as the statement's parameters (a page's position and size)."""
    loaders = info.context.setdefault("campaign_loaders", {})
    if (sql, args) not in loaders:

        async def load(keys: list[uuid.UUID]) -> list[list[Any]]:
            grouped: dict[uuid.UUID, list[Any]] = {key: [] for key in keys}
            for row in await _read(info, sql, keys, *args):
                grouped[row["key"]].append(row)
            return [grouped[key] for key in keys]

        loaders[sql, args] = DataLoader(load_fn=load)
    return loaders[sql, args]


async def _read(info: Info, sql: str, *args: Any) -> list[Any]:
    async with access.reading(info) as conn:
        return await conn.fetch(sql, *args)


def _phase(row: Any, report_days: int | None) -> Phase:
    review = orjson.loads(row["review"]) if row["review"] else None
    return Phase(
        number=row["number"],
        name=row["name"],
        starts=row["starts"],
        ends=row["ends"],
        report_due=row["ends"] + timedelta(days=report_days) if report_days is not None else None,
        review=PhaseReview(
            report=review["report"],
            figures=review["figures"],
            reviewed_on=date.fromisoformat(review["reviewed_on"]),
            late=review["late"],
        )
        if review
        else None,
    )


def _indicator(row: Any) -> Indicator:
    actual, target = row["actual"], row["target"]
    return Indicator(
        code=row["code"],
        name=row["name"],
        measure=Measure(row["measure"]),
        target=target,
        source=IndicatorSource(row["source"]),
        computed_from=list(row["computed_from"]),
        scope=IndicatorScope(row["scope"]),
        category=IndicatorCategory(row["category"]) if row["category"] else None,
        actual=actual,
        achievement=round(100 * actual / target, 1) if actual is not None and target else None,
    )


def _children_page(rows: list[Any], first: int) -> ChildRegistrationPage:
    units = [r for r in rows if r["tenant_id"] is not None]
    edges = edges_of(units, first, lambda r: (r["name"], r["tenant_id"]), _child)
    counts = rows[0] if rows else None
    return ChildRegistrationPage(
        total_count=counts["total"] if counts else 0,
        on_time=counts["on_time"] if counts else 0,
        late=counts["late_count"] if counts else 0,
        not_yet=counts["not_yet"] if counts else 0,
        withdrawn=counts["withdrawn"] if counts else 0,
        edges=edges,
        page_info=next_page(units, first, edges),
    )


def _child(row: Any) -> ChildRegistration:
    status = RegistrationStatus(registration_standing(row["status"], row["late"]))
    return ChildRegistration(
        unit_id=strawberry.ID(row["tenant_id"]),
        unit_name=row["name"],
        status=status,
        registered_on=row["registered_on"],
        direct=row["direct"],
        contents_json=row["contents"],
        own_contents_json=row["own_contents"],
    )


def _list(text: str | None) -> list[str]:
    """A JSON list of texts; none for a unit that has not registered (no row to join)."""
    return orjson.loads(text) if text else []


def campaign_of(row: Any) -> Campaign:
    return Campaign(
        id=strawberry.ID(str(row["campaign_id"])),
        unit_id=strawberry.ID(row["tenant_id"]),
        name=row["name"],
        theme=row["theme"],
        objectives=row["objectives"],
        scope=row["scope"],
        participants=Participants(row["participants"]),
        contents=orjson.loads(row["contents"]),
        measures=orjson.loads(row["measures"]),
        kind=CampaignKind(row["kind"]),
        period_start=row["period_start"],
        period_end=row["period_end"],
        registration_due=row["registration_due"],
        report_days=row["report_days"],
        min_contents=row["min_contents"],
        status=row["status"],
        launched_on=row["launched_on"],
        parent_campaign_id=strawberry.ID(str(row["parent_campaign"]))
        if row["parent_campaign"]
        else None,
        parent_unit_id=row["parent_unit"],
        amendments=[
            Amendment(on=a["on"], reason=a["reason"], changes=a.get("changes") or a.get("target"))
            for a in orjson.loads(row["amendments"])
        ],
        conclusion=orjson.loads(row["conclusion"]) if row["conclusion"] else None,
        version=row["version"],
    )


def _commands(info: Info) -> CampaignCommands:
    return commands_of(info.context["runtime"])


async def _campaign(info: Info, campaign_id: uuid.UUID) -> Campaign:
    rows = await _read(
        info, f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE campaign_id = $1", campaign_id
    )
    if not rows:
        raise NotFound(str(campaign_id), id=str(campaign_id))
    return campaign_of(rows[0])


@strawberry.type
class CampaignQuery:
    @strawberry.field(
        description="Các phong trào người gọi thấy: của đơn vị mình, của các đơn vị cấp dưới, và "
        "các phong trào cấp trên đã phát động. Tìm theo tên hoặc chủ đề, gõ có dấu hay không dấu."
    )
    async def campaigns(
        self, info: Info, search: str | None = None, kind: CampaignKind | None = None
    ) -> list[Campaign]:
        key = search_key(search) if search else None
        rows = await _read(
            info,
            f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns "
            "WHERE ($1::text IS NULL OR search_key LIKE '%' || $1 || '%') "
            "AND ($2::text IS NULL OR kind = $2) "
            "ORDER BY period_start DESC, name LIMIT 500",
            like_escaped(key),
            kind.value if kind else None,
        )
        return [campaign_of(r) for r in rows]

    @strawberry.field(description="Một phong trào trong tầm đọc; ngoài tầm: null.")
    async def campaign(self, info: Info, id: strawberry.ID) -> Campaign | None:
        try:
            return await _campaign(info, client_uuid(id))
        except NotFound:
            return None

    @strawberry.field(description="Các đăng ký thi đua của đơn vị mình.")
    async def my_registrations(self, info: Info) -> list[Registration]:
        principal = principal_of(info)
        rows = await _read(
            info,
            "SELECT tenant_id, campaign_id, campaign_unit, plan, contents::text AS contents, "
            "own_contents::text AS own_contents, targets::text AS targets, registered_on, late, "
            "status, history::text AS history "
            "FROM campaign_registrations WHERE tenant_id = $1 ORDER BY registered_on DESC",
            principal.tenant,
        )
        return [
            Registration(
                campaign_id=strawberry.ID(str(r["campaign_id"])),
                campaign_unit_id=strawberry.ID(r["campaign_unit"]),
                unit_id=strawberry.ID(r["tenant_id"]),
                plan=r["plan"],
                contents=orjson.loads(r["contents"]),
                own_contents=orjson.loads(r["own_contents"]),
                targets=orjson.loads(r["targets"]),
                registered_on=r["registered_on"],
                late=r["late"],
                status=r["status"],
                history=orjson.loads(r["history"]),
            )
            for r in rows
        ]


@strawberry.input(description="Kế hoạch phát động một phong trào thi đua.")
class CampaignInput:
    name: str
    kind: CampaignKind
    period_start: date
    period_end: date
    theme: str = ""
    objectives: str = ""
    scope: str = ""
    participants: Participants = Participants.WORKERS
    contents: list[str] = strawberry.field(default_factory=list)
    measures: list[str] = strawberry.field(default_factory=list)
    registration_due: date | None = None
    report_days: int | None = None
    min_contents: int = 1
    parent_campaign_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Phong trào đã phát động của cấp trên mà phong trào này cụ thể hóa.",
    )


@strawberry.input(description="Điều chỉnh sau phát động: chỉ các trường có giá trị được đổi.")
class CampaignChanges:
    name: str | None = None
    theme: str | None = None
    objectives: str | None = None
    scope: str | None = None
    contents: list[str] | None = None
    measures: list[str] | None = None
    registration_due: date | None = None
    report_days: int | None = None
    min_contents: int | None = None


@strawberry.input(description="Một chỉ tiêu.")
class IndicatorInput:
    code: str = strawberry.field(description="Mã chỉ tiêu trong phong trào (chữ, số, - _).")
    name: str
    measure: Measure
    target: BigInt
    source: IndicatorSource = IndicatorSource.REPORTED
    computed_from: list[str] = strawberry.field(default_factory=list)
    scope: IndicatorScope = IndicatorScope.SUBTREE
    category: IndicatorCategory | None = None


@strawberry.input(description="Một số liệu: mã chỉ tiêu (hoặc tên số liệu) và giá trị.")
class FigureInput:
    code: str
    value: BigInt


def _figures(figures: list[FigureInput]) -> dict[str, int]:
    return {f.code: f.value for f in figures}


@strawberry.type
class CampaignMutation:
    @strawberry.mutation(description="Soạn một phong trào (bản nháp) của đơn vị mình.")
    async def create_campaign(self, info: Info, input: CampaignInput) -> Campaign:
        parent = client_uuid(input.parent_campaign_id) if input.parent_campaign_id else None
        campaign_id = await _commands(info).create(
            principal_of(info),
            name=input.name,
            kind=input.kind.value,
            period_start=input.period_start,
            period_end=input.period_end,
            theme=input.theme,
            objectives=input.objectives,
            scope=input.scope,
            participants=input.participants.value,
            contents=input.contents,
            measures=input.measures,
            registration_due=input.registration_due,
            report_days=input.report_days,
            min_contents=input.min_contents,
            parent_campaign=parent,
            idempotency_key=idempotency_key_of(info),
        )
        return await _campaign(info, campaign_id)

    @strawberry.mutation(description="Thêm một đợt thi đua (bản nháp).")
    async def add_phase(
        self, info: Info, campaign_id: strawberry.ID, name: str, starts: date, ends: date
    ) -> Campaign:
        cid = client_uuid(campaign_id)
        await _commands(info).add_phase(
            principal_of(info),
            cid,
            name=name,
            starts=starts,
            ends=ends,
            idempotency_key=idempotency_key_of(info),
        )
        return await _campaign(info, cid)

    @strawberry.mutation(description="Thêm một chỉ tiêu (bản nháp).")
    async def add_indicator(
        self, info: Info, campaign_id: strawberry.ID, input: IndicatorInput
    ) -> Campaign:
        cid = client_uuid(campaign_id)
        await _commands(info).add_indicator(
            principal_of(info),
            cid,
            code=input.code,
            name=input.name,
            measure=input.measure.value,
            target=input.target,
            source=input.source.value,
            computed_from=input.computed_from,
            scope=input.scope.value,
            category=input.category.value if input.category else None,
            idempotency_key=idempotency_key_of(info),
        )
        return await _campaign(info, cid)

    @strawberry.mutation(description="Phát động: kế hoạch được giữ nguyên từ đây.")
    async def launch_campaign(self, info: Info, campaign_id: strawberry.ID) -> Campaign:
        cid = client_uuid(campaign_id)
        await _commands(info).launch(
            principal_of(info), cid, idempotency_key=idempotency_key_of(info)
        )
        return await _campaign(info, cid)

    @strawberry.mutation(description="Điều chỉnh phong trào đã phát động, có lý do.")
    async def amend_campaign(
        self, info: Info, campaign_id: strawberry.ID, changes: CampaignChanges, reason: str
    ) -> Campaign:
        cid = client_uuid(campaign_id)
        given = {k: v for k, v in vars(changes).items() if v is not None}
        await _commands(info).amend(
            principal_of(info), cid, given, reason, idempotency_key=idempotency_key_of(info)
        )
        return await _campaign(info, cid)

    @strawberry.mutation(description="Điều chỉnh mục tiêu của một chỉ tiêu, có lý do.")
    async def amend_indicator_target(
        self, info: Info, campaign_id: strawberry.ID, code: str, target: BigInt, reason: str
    ) -> Campaign:
        cid = client_uuid(campaign_id)
        await _commands(info).amend_target(
            principal_of(info), cid, code, target, reason, idempotency_key=idempotency_key_of(info)
        )
        return await _campaign(info, cid)

    @strawberry.mutation(description="Sơ kết một đợt: báo cáo và số liệu.")
    async def review_phase(
        self,
        info: Info,
        campaign_id: strawberry.ID,
        phase: int,
        report: str,
        figures: list[FigureInput] | None = None,
    ) -> Campaign:
        cid = client_uuid(campaign_id)
        await _commands(info).review_phase(
            principal_of(info),
            cid,
            phase,
            report,
            _figures(figures or []),
            idempotency_key=idempotency_key_of(info),
        )
        return await _campaign(info, cid)

    @strawberry.mutation(description="Tổng kết phong trào: báo cáo và số liệu.")
    async def conclude_campaign(
        self,
        info: Info,
        campaign_id: strawberry.ID,
        report: str,
        figures: list[FigureInput] | None = None,
    ) -> Campaign:
        cid = client_uuid(campaign_id)
        await _commands(info).conclude(
            principal_of(info),
            cid,
            report,
            _figures(figures or []),
            idempotency_key=idempotency_key_of(info),
        )
        return await _campaign(info, cid)

    @strawberry.mutation(
        description="Đăng ký thi đua với cấp trên: kế hoạch, các nội dung chọn trong nội dung của "
        "phong trào (contents; nội dung khác: CONTENT_UNKNOWN), các nội dung đặc thù đơn vị tự "
        "xây dựng (ownContents), chỉ tiêu riêng. Cả hai loại nội dung cùng tính vào số tối "
        "thiểu. Quá hạn thì phải ghi late: true."
    )
    async def register_for_campaign(
        self,
        info: Info,
        campaign_id: strawberry.ID,
        contents: list[str],
        plan: str = "",
        targets: list[FigureInput] | None = None,
        late: bool = False,
        own_contents: list[str] | None = None,
    ) -> Campaign:
        cid = client_uuid(campaign_id)
        await _commands(info).register(
            principal_of(info),
            cid,
            plan=plan,
            contents=contents,
            own_contents=own_contents or [],
            targets=_figures(targets or []),
            late=late,
            idempotency_key=idempotency_key_of(info),
        )
        return await _campaign(info, cid)

    @strawberry.mutation(
        description="Điều chỉnh đăng ký thi đua, có lý do: kế hoạch, contents, ownContents và chỉ "
        "tiêu riêng được thay cả (cùng quy tắc như khi đăng ký)."
    )
    async def amend_registration(
        self,
        info: Info,
        campaign_id: strawberry.ID,
        contents: list[str],
        reason: str,
        plan: str = "",
        targets: list[FigureInput] | None = None,
        own_contents: list[str] | None = None,
    ) -> Campaign:
        cid = client_uuid(campaign_id)
        await _commands(info).amend_registration(
            principal_of(info),
            cid,
            plan=plan,
            contents=contents,
            own_contents=own_contents or [],
            targets=_figures(targets or []),
            reason=reason,
            idempotency_key=idempotency_key_of(info),
        )
        return await _campaign(info, cid)

    @strawberry.mutation(description="Rút đăng ký thi đua, có lý do.")
    async def withdraw_registration(
        self, info: Info, campaign_id: strawberry.ID, reason: str
    ) -> Campaign:
        cid = client_uuid(campaign_id)
        await _commands(info).withdraw_registration(
            principal_of(info), cid, reason, idempotency_key=idempotency_key_of(info)
        )
        return await _campaign(info, cid)

    @strawberry.mutation(
        description="Báo cáo số thực hiện các chỉ tiêu trong một đợt; trả về true nếu nộp muộn."
    )
    async def report_progress(
        self,
        info: Info,
        campaign_id: strawberry.ID,
        phase: int,
        actuals: list[FigureInput],
        note: str = "",
    ) -> bool:
        return await _commands(info).report_progress(
            principal_of(info),
            client_uuid(campaign_id),
            phase,
            _figures(actuals),
            note,
            idempotency_key=idempotency_key_of(info),
        )
