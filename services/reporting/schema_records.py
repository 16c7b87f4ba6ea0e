"""GraphQL for what the plans measure and nothing else records: trainings, seminars, good
practices and their replications, inspections (services/reporting/commands.py); and the
published good practices, a page at a time, searchable without diacritics."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry.types import Info

from services.reporting.commands import commands_of
from shared import pages
from shared.access import fetch as _read
from shared.access import principal_of
from shared.commands import idempotency_key_of
from shared.graphql import client_uuid
from shared.pages import Edge, PageInfo
from shared.text import like_escaped, search_key

PRACTICES_PAGE = 100
_PRACTICE_KEY = ("date", "uuid")
UNIT_ID_CHARS = 64


@strawberry.type(description="Một mô hình mới, cách làm hay đã được giới thiệu để nhân rộng.")
class GoodPracticeType:
    id: strawberry.ID
    unit_id: strawberry.ID
    name: str
    description: str
    presented_on: date
    replications: int = strawberry.field(description="Số đơn vị khác đã nhân rộng.")


@strawberry.type
class GoodPracticePage:
    edges: list[Edge[GoodPracticeType]]
    page_info: PageInfo


def _practice(row) -> GoodPracticeType:
    return GoodPracticeType(
        id=strawberry.ID(str(row["practice_id"])),
        unit_id=strawberry.ID(row["unit_id"]),
        name=row["name"],
        description=row["description"],
        presented_on=row["presented_on"],
        replications=row["replications"],
    )


@strawberry.type
class ReportRecordsQuery:
    @strawberry.field(
        description="Các mô hình mới, cách làm hay các đơn vị đã giới thiệu (mọi đơn vị đọc được, "
        "để nhân rộng), theo ngày giới thiệu, từng trang; `search`: tìm theo tên, gõ có hay "
        "không dấu đều được."
    )
    async def good_practices(
        self, info: Info, search: str | None = None, first: int = 50, after: str | None = None
    ) -> GoodPracticePage:
        principal_of(info)
        pages.checked_first(first, PRACTICES_PAGE)
        key = like_escaped(search_key(search)) if search else None
        position = pages.typed_position(after, _PRACTICE_KEY)
        given = position is not None
        rows = await _read(
            info,
            "SELECT practice_id, unit_id, name, description, presented_on, (SELECT count(*) "
            "FROM good_practice_replications r WHERE r.practice_id = p.practice_id) AS replications "
            "FROM good_practices p WHERE ($1::text IS NULL OR search_key LIKE '%' || $1 || '%') "
            f"AND {pages.past_cursor('presented_on, practice_id', _PRACTICE_KEY, 2, given=given)} "
            "ORDER BY presented_on, practice_id LIMIT $4",
            key,
            *pages.position_parameters(position, _PRACTICE_KEY),
            first + 1,
        )
        edges = pages.edges_of(
            rows,
            first,
            lambda r: (r["presented_on"].isoformat(), str(r["practice_id"])),
            _practice,
        )
        return GoodPracticePage(edges=edges, page_info=pages.next_page(rows, first, edges))


@strawberry.type
class ReportRecordsMutation:
    @strawberry.mutation(
        description="Ghi nhận một đợt tập huấn công tác thi đua, khen thưởng: số người dự, số cán "
        "bộ thi đua của đơn vị được tập huấn trên tổng số cán bộ thi đua của đơn vị."
    )
    async def hold_training(
        self,
        info: Info,
        title: str,
        held_on: date,
        attendees: int,
        cadres_trained: int,
        cadres: int,
    ) -> strawberry.ID:
        rid = await commands_of(info.context["runtime"]).hold_training(
            principal_of(info),
            title=title,
            held_on=held_on,
            attendees=attendees,
            cadres_trained=cadres_trained,
            cadres=cadres,
            idempotency_key=idempotency_key_of(info),
        )
        return strawberry.ID(str(rid))

    @strawberry.mutation(description="Ghi nhận một buổi tọa đàm, trao đổi kinh nghiệm.")
    async def hold_seminar(
        self, info: Info, topic: str, held_on: date, participants: int
    ) -> strawberry.ID:
        rid = await commands_of(info.context["runtime"]).hold_seminar(
            principal_of(info),
            topic=topic,
            held_on=held_on,
            participants=participants,
            idempotency_key=idempotency_key_of(info),
        )
        return strawberry.ID(str(rid))

    @strawberry.mutation(
        description="Giới thiệu một mô hình mới, cách làm hay của đơn vị để các đơn vị khác nhân "
        "rộng (mọi đơn vị đọc được)."
    )
    async def present_good_practice(
        self, info: Info, name: str, presented_on: date, description: str = ""
    ) -> strawberry.ID:
        rid = await commands_of(info.context["runtime"]).present_practice(
            principal_of(info),
            name=name,
            description=description,
            presented_on=presented_on,
            idempotency_key=idempotency_key_of(info),
        )
        return strawberry.ID(str(rid))

    @strawberry.mutation(
        description="Ghi nhận đơn vị mình đã nhân rộng cách làm hay của một đơn vị khác."
    )
    async def replicate_good_practice(
        self, info: Info, practice_id: strawberry.ID, replicated_on: date, note: str = ""
    ) -> strawberry.ID:
        rid = await commands_of(info.context["runtime"]).replicate_practice(
            principal_of(info),
            practice_id=client_uuid(practice_id),
            replicated_on=replicated_on,
            note=note,
            idempotency_key=idempotency_key_of(info),
        )
        return strawberry.ID(str(rid))

    @strawberry.mutation(
        description="Ghi nhận một cuộc kiểm tra, giám sát công tác thi đua, khen thưởng của một "
        "đơn vị cấp dưới (cấp dưới vào ngày kiểm tra), với kết luận."
    )
    async def record_inspection(
        self,
        info: Info,
        unit_id: strawberry.ID,
        subject: str,
        held_on: date,
        findings: str = "",
    ) -> strawberry.ID:
        rid = await commands_of(info.context["runtime"]).record_inspection(
            principal_of(info),
            inspected_unit=str(unit_id)[:UNIT_ID_CHARS],
            subject=subject,
            held_on=held_on,
            findings=findings,
            idempotency_key=idempotency_key_of(info),
        )
        return strawberry.ID(str(rid))
