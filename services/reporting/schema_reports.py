"""GraphQL for the period report (seed 002's 5-year report): a level asks the units below for
theirs by a day; a unit drafts its own, writes its narrative sections (every version kept),
reads its figures filled in from the projections, and sends it up; the level above sees which
units below have sent theirs, on time or late, and reads what they sent, with the figures as
the log held them when it was sent."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from services.reporting.commands import report_commands_of
from services.reporting.domain import SECTIONS
from services.reporting.schema import UnitSummary, summaries_loader
from shared import access
from shared.access import fetch_one, principal_of
from shared.commands import idempotency_key_of
from shared.errors import NotFound
from shared.graphql import client_uuid

MOST_UNITS_BELOW = 2_000

# The unit reads its report as it stands; any other reader, as it was last sent.
_OWN = "r.unit_id = current_setting('thidua.tenant', true)"
_REPORT_COLUMNS = (
    f"r.report_id, r.unit_id, r.first_year, r.last_year, "
    f"CASE WHEN {_OWN} THEN r.number ELSE r.sent_number END AS number, "
    f"CASE WHEN {_OWN} THEN r.place ELSE r.sent_place END AS place, "
    f"CASE WHEN {_OWN} THEN r.version ELSE r.submitted_version END AS version, "
    "r.drafted_on, r.submitted_version, r.submitted_on, r.submitted_at, r.to_unit, r.due_on, "
    "r.late, r.first_sent_on, r.first_late"
)


@strawberry.type(description="Một mục của báo cáo (theo mẫu của kế hoạch 389/KH-CĐCT).")
class ReportSection:
    code: str = strawberry.field(description="Mã mục: I.1, I.2, II.1–II.5, III, IV.1, IV.2.")
    heading: str = strawberry.field(description="Tên mục theo mẫu báo cáo.")
    text: str = strawberry.field(description="Nội dung đã viết (rỗng: chưa viết).")
    version: int | None = strawberry.field(description="Phiên bản của báo cáo khi mục được viết.")
    written_at: datetime | None = strawberry.field(description="Thời điểm viết phiên bản này.")


@strawberry.enum(description="Trạng thái báo cáo của một đơn vị cấp dưới.")
class ReportStatus(Enum):
    SENT_ON_TIME = strawberry.enum_value("sent_on_time", description="Đã gửi, đúng hạn.")
    SENT_LATE = strawberry.enum_value("sent_late", description="Đã gửi, sau hạn cấp trên yêu cầu.")
    NOT_YET = strawberry.enum_value("not_yet", description="Chưa gửi (bản nháp chỉ đơn vị thấy).")


@strawberry.type(description="Báo cáo tổng kết giai đoạn của một đơn vị.")
class PeriodReport:
    id: strawberry.ID
    unit_id: strawberry.ID
    first_year: int
    last_year: int
    number: str = strawberry.field(description="Số báo cáo (Số: …/BC-CĐ…).")
    place: str = strawberry.field(description="Địa danh ghi ở dòng ngày tháng.")
    version: int = strawberry.field(description="Phiên bản hiện tại (mỗi lần sửa một mục, +1).")
    drafted_on: date = strawberry.field(description="Ngày soạn bản đầu.")
    submitted_version: int | None = strawberry.field(description="Phiên bản đã gửi gần nhất.")
    submitted_on: date | None = strawberry.field(description="Ngày gửi gần nhất (null: chưa gửi).")
    submitted_at: datetime | None = strawberry.field(
        description="Thời điểm gửi: số liệu của bản đã gửi là số liệu tại thời điểm này."
    )
    to_unit: strawberry.ID | None
    due_on: date | None = strawberry.field(description="Hạn cấp trên yêu cầu (nếu có).")
    late: bool | None = strawberry.field(description="Lần gửi gần nhất có sau hạn không.")
    first_sent_on: date | None = strawberry.field(
        description="Lần gửi đầu tiên (gửi lại để đính chính là những lần sau)."
    )
    first_late: bool | None = strawberry.field(description="Lần gửi đầu tiên có sau hạn không.")

    @strawberry.field(
        description="Các mục theo thứ tự của mẫu, bản mới nhất mà người đọc được đọc (cấp trên: "
        "bản đã gửi)."
    )
    async def sections(self, info: Info) -> list[ReportSection]:
        rows = await access.fetch(
            info,
            "SELECT DISTINCT ON (section) section, version, text, written_at "
            "FROM report_sections WHERE report_id = $1 ORDER BY section, version DESC",
            uuid.UUID(str(self.id)),
        )
        latest = {r["section"]: r for r in rows}
        return [_section(code, latest.get(code)) for code in SECTIONS]

    @strawberry.field(description="Mọi phiên bản của một mục, cũ trước.")
    async def history(self, info: Info, section: str) -> list[ReportSection]:
        rows = await access.fetch(
            info,
            "SELECT section, version, text, written_at FROM report_sections "
            "WHERE report_id = $1 AND section = $2 ORDER BY version",
            uuid.UUID(str(self.id)),
            section[:10],
        )
        return [_section(r["section"], r) for r in rows]

    @strawberry.field(
        description="Số liệu của giai đoạn, tổng hợp từ dữ liệu: bản đã gửi (asSent, mặc định "
        "khi đã gửi) như nhật ký ghi nhận lúc gửi; nếu không, hiện tại."
    )
    async def figures(self, info: Info, as_sent: bool | None = None) -> UnitSummary | None:
        sent = self.submitted_at is not None if as_sent is None else as_sent
        at = self.submitted_at if sent else None
        key = (str(self.unit_id), self.first_year, self.last_year, at)
        return await summaries_loader(info).load(key)


def _section(code: str, row: Any) -> ReportSection:
    return ReportSection(
        code=code,
        heading=SECTIONS.get(code, code),
        text=row["text"] if row else "",
        version=row["version"] if row else None,
        written_at=row["written_at"] if row else None,
    )


def report_of(row: Any) -> PeriodReport:
    return PeriodReport(
        id=strawberry.ID(str(row["report_id"])),
        unit_id=strawberry.ID(row["unit_id"]),
        first_year=row["first_year"],
        last_year=row["last_year"],
        number=row["number"],
        place=row["place"],
        version=row["version"],
        drafted_on=row["drafted_on"],
        submitted_version=row["submitted_version"],
        submitted_on=row["submitted_on"],
        submitted_at=row["submitted_at"],
        to_unit=strawberry.ID(row["to_unit"]) if row["to_unit"] else None,
        due_on=row["due_on"],
        late=row["late"],
        first_sent_on=row["first_sent_on"],
        first_late=row["first_late"],
    )


async def _report(info: Info, rid: uuid.UUID) -> PeriodReport:
    return report_of(
        await fetch_one(info, f"SELECT {_REPORT_COLUMNS} FROM reports r WHERE report_id = $1", rid)
    )


@strawberry.type(description="Một đơn vị trực thuộc và báo cáo giai đoạn của nó.")
class ReportBelow:
    unit_id: strawberry.ID = strawberry.field(description="Đơn vị trực thuộc.")
    unit_name: str
    status: ReportStatus = strawberry.field(description="Đã gửi (đúng hạn, muộn) hay chưa.")
    report: PeriodReport | None = strawberry.field(
        description="Bản đã gửi, như đã gửi (null: chưa gửi)."
    )


@strawberry.type(description="Yêu cầu báo cáo giai đoạn của một cấp gửi các đơn vị trực thuộc.")
class ReportRequestType:
    unit_id: strawberry.ID = strawberry.field(description="Đơn vị yêu cầu (cấp trên).")
    first_year: int
    last_year: int
    due_on: date = strawberry.field(description="Hạn gửi.")
    note: str = strawberry.field(description="Ghi chú kèm yêu cầu.")


def _period(first_year: int, last_year: int) -> None:
    from services.reporting.domain import check_period

    check_period(first_year, last_year)


@strawberry.type
class ReportsQuery:
    @strawberry.field(
        description="Một báo cáo giai đoạn, nếu đọc được (của mình, hoặc đã gửi "
        "lên từ cấp dưới); không: null."
    )
    async def period_report(self, info: Info, id: strawberry.ID) -> PeriodReport | None:
        try:
            return await _report(info, client_uuid(id))
        except NotFound:
            return None

    @strawberry.field(description="Báo cáo giai đoạn của đơn vị mình (null: chưa soạn).")
    async def my_period_report(
        self, info: Info, first_year: int, last_year: int
    ) -> PeriodReport | None:
        _period(first_year, last_year)
        rows = await access.fetch(
            info,
            f"SELECT {_REPORT_COLUMNS} FROM reports r WHERE unit_id = $1 AND first_year = $2 "
            "AND last_year = $3",
            principal_of(info).tenant,
            first_year,
            last_year,
        )
        return report_of(rows[0]) if rows else None

    @strawberry.field(
        description="Yêu cầu báo cáo giai đoạn mà đơn vị mình nhận được từ cấp trên trực tiếp "
        "(null: chưa có), hoặc của chính mình gửi cấp dưới (own: true)."
    )
    async def report_request(
        self, info: Info, first_year: int, last_year: int, own: bool = False
    ) -> ReportRequestType | None:
        _period(first_year, last_year)
        principal = principal_of(info)
        rows = await access.fetch(
            info,
            "SELECT unit_id, first_year, last_year, due_on, note FROM report_requests "
            "WHERE first_year = $2 AND last_year = $3 AND unit_id = CASE WHEN $4 THEN $1 ELSE "
            "(SELECT parent_id FROM units WHERE tenant_id = $1) END",
            principal.tenant,
            first_year,
            last_year,
            own,
        )
        if not rows:
            return None
        r = rows[0]
        return ReportRequestType(
            unit_id=strawberry.ID(r["unit_id"]),
            first_year=r["first_year"],
            last_year=r["last_year"],
            due_on=r["due_on"],
            note=r["note"],
        )

    @strawberry.field(
        description="Các đơn vị trực thuộc (hôm nay) và báo cáo giai đoạn họ đã gửi cho đơn vị "
        "mình: lần gửi đầu đúng hạn, muộn, hay chưa gửi."
    )
    async def reports_below(self, info: Info, first_year: int, last_year: int) -> list[ReportBelow]:
        _period(first_year, last_year)
        rows = await access.fetch(
            info,
            f"SELECT u.tenant_id AS below, u.name, {_REPORT_COLUMNS} FROM units u "
            "LEFT JOIN reports r ON r.unit_id = u.tenant_id AND r.first_year = $2 "
            "AND r.last_year = $3 AND r.submitted_version IS NOT NULL AND r.to_unit = $1 "
            "WHERE u.parent_id = $1 AND u.status = 'active' ORDER BY u.name, u.tenant_id LIMIT $4",
            principal_of(info).tenant,
            first_year,
            last_year,
            MOST_UNITS_BELOW,
        )
        return [
            ReportBelow(
                unit_id=strawberry.ID(r["below"]),
                unit_name=r["name"],
                status=(
                    ReportStatus.NOT_YET
                    if r["report_id"] is None
                    else ReportStatus.SENT_LATE
                    if r["first_late"]  # a later correction does not make it late
                    else ReportStatus.SENT_ON_TIME
                ),
                report=report_of(r) if r["report_id"] is not None else None,
            )
            for r in rows
        ]


@strawberry.type
class ReportsMutation:
    @strawberry.mutation(
        description="Yêu cầu các đơn vị trực thuộc gửi báo cáo giai đoạn trước một ngày (gọi "
        "lại: đổi hạn)."
    )
    async def request_period_reports(
        self, info: Info, first_year: int, last_year: int, due_on: date, note: str = ""
    ) -> ReportRequestType:
        await report_commands_of(info.context["runtime"]).request(
            principal_of(info),
            first_year=first_year,
            last_year=last_year,
            due_on=due_on,
            note=note,
            idempotency_key=idempotency_key_of(info),
        )
        found = await ReportsQuery().report_request(info, first_year, last_year, own=True)
        if found is not None:
            return found
        return ReportRequestType(  # written, not yet projected (the wait ran out): as asked
            unit_id=strawberry.ID(principal_of(info).tenant),
            first_year=first_year,
            last_year=last_year,
            due_on=due_on,
            note=note,
        )

    @strawberry.mutation(
        description="Soạn báo cáo giai đoạn của đơn vị mình (đã có: trả lại bản đang có)."
    )
    async def draft_period_report(
        self, info: Info, first_year: int, last_year: int, number: str = "", place: str = ""
    ) -> PeriodReport:
        rid = await report_commands_of(info.context["runtime"]).draft(
            principal_of(info),
            first_year=first_year,
            last_year=last_year,
            number=number,
            place=place,
            idempotency_key=idempotency_key_of(info),
        )
        return await _report(info, rid)

    @strawberry.mutation(
        description="Viết (hoặc viết lại) một mục của báo cáo: I.1, I.2, II.1–II.5, III, IV.1, "
        "IV.2; mỗi lần là một phiên bản mới, bản cũ vẫn giữ."
    )
    async def write_report_section(
        self, info: Info, report_id: strawberry.ID, section: str, text: str
    ) -> PeriodReport:
        rid = client_uuid(report_id)
        await report_commands_of(info.context["runtime"]).write(
            principal_of(info),
            rid,
            section=section[:10],
            text=text,
            idempotency_key=idempotency_key_of(info),
        )
        return await _report(info, rid)

    @strawberry.mutation(description="Đặt số báo cáo và địa danh.")
    async def set_report_heading(
        self, info: Info, report_id: strawberry.ID, number: str, place: str
    ) -> PeriodReport:
        rid = client_uuid(report_id)
        await report_commands_of(info.context["runtime"]).set_heading(
            principal_of(info),
            rid,
            number=number,
            place=place,
            idempotency_key=idempotency_key_of(info),
        )
        return await _report(info, rid)

    @strawberry.mutation(
        description="Gửi báo cáo lên cấp trên trực tiếp (đúng hạn hay muộn theo yêu cầu của cấp "
        "trên); sửa rồi gửi lại được, mỗi lần gửi một phiên bản."
    )
    async def submit_period_report(self, info: Info, report_id: strawberry.ID) -> PeriodReport:
        rid = client_uuid(report_id)
        await report_commands_of(info.context["runtime"]).submit(
            principal_of(info), rid, idempotency_key=idempotency_key_of(info)
        )
        return await _report(info, rid)
