"""The demo's reporting: what seed 000's targets need that nothing else records (a training of
the province's emulation cadres, a good practice and a seminar at a grassroots union), and the
5-year report of seed 002: the province asks its units for theirs by 15/4/2025, LĐLĐ huyện Hoa Lư
sends its own on time, and the province's own report for 2020–2025 is a draft with its sections
written (figures filled in from the projections)."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.demo.plans import GRASSROOTS, PROVINCE
from services.reporting.commands import commands_of, report_commands_of
from shared import access
from shared.auth import Principal

HOA_LU = "nb-hoa-lu"
FIRST, LAST = 2020, 2025
DUE = date(2025, 4, 15)
PROVINCE_SECTIONS = {
    "I.1": "Được sự quan tâm lãnh đạo, chỉ đạo của Tổng Liên đoàn, Tỉnh ủy, sự phối hợp của "
    "chính quyền các cấp; phong trào thi đua gắn với nhiệm vụ chính trị của địa phương.",
    "I.2": "Dịch COVID-19 (2020–2021) ảnh hưởng đến sản xuất và việc tổ chức các phong trào; "
    "một số doanh nghiệp ngoài nhà nước chưa quan tâm đến công tác thi đua.",
    "II.1": 'Phong trào "Lao động giỏi, lao động sáng tạo" được duy trì; nhiều sáng kiến có giá '
    "trị làm lợi lớn được công nhận và nhân rộng.",
    "II.5": "Tồn tại: việc phát hiện, bồi dưỡng điển hình tiên tiến ở khu vực doanh nghiệp tư nhân "
    "còn hạn chế. Nguyên nhân: đội ngũ cán bộ thi đua kiêm nhiệm. Bài học: bám sát cơ sở.",
    "III": "Đổi mới nội dung, hình thức thi đua, hướng về cơ sở và người lao động trực tiếp.",
    "IV.1": "Đề nghị Tổng Liên đoàn tiếp tục đơn giản hóa hồ sơ khen thưởng cho người lao động "
    "trực tiếp.",
}


class _On:
    """A fixed day for the demo's commands."""

    def __init__(self, on: date) -> None:
        self.on = on

    def __call__(self) -> date:
        return self.on


def _officer(ctx: Any, unit: str) -> Principal:
    return ctx.officer(unit)


async def reporting_2020_2025(ctx: Any) -> int:
    """Records of 2021 and the 5-year report; the number of events written (0: already there)."""
    province = ctx.unit(PROVINCE)
    async with access.scope(ctx.runtime.pool, _officer(ctx, PROVINCE)) as conn:
        if await conn.fetchval(  # the province's own request: read as the province
            "SELECT 1 FROM report_requests WHERE unit_id = $1 AND first_year = $2", province, FIRST
        ):
            return 0
    rt = ctx.runtime
    records = commands_of(rt)
    reports = report_commands_of(rt, _On(date(2025, 3, 20)))
    written = 0
    await records.hold_training(
        _officer(ctx, PROVINCE),
        title="Tập huấn nghiệp vụ công tác thi đua, khen thưởng năm 2021",
        held_on=date(2021, 3, 10),
        attendees=120,
        cadres_trained=35,
        cadres=40,
    )
    await records.present_practice(
        _officer(ctx, GRASSROOTS),
        name="Tổ tự quản an toàn du lịch Tràng An",
        description="Mỗi đò một tổ tự quản: an toàn, văn minh, giữ gìn cảnh quan di sản.",
        presented_on=date(2021, 5, 12),
    )
    await records.hold_seminar(
        _officer(ctx, GRASSROOTS),
        topic="Trao đổi kinh nghiệm phục vụ khách du lịch an toàn",
        held_on=date(2021, 6, 18),
        participants=45,
    )
    written += 3
    await reports.request(
        _officer(ctx, PROVINCE),
        first_year=FIRST,
        last_year=LAST,
        due_on=DUE,
        note="Theo Kế hoạch 389/KH-CĐCT: gửi báo cáo tổng kết 5 năm trước ngày 15/4/2025.",
    )
    hoa_lu = _officer(ctx, HOA_LU)
    theirs = await reports.draft(
        hoa_lu, first_year=FIRST, last_year=LAST, number="12/BC-LĐLĐ", place="Hoa Lư"
    )
    await reports.write(hoa_lu, theirs, section="I.1", text="Được sự quan tâm của Huyện ủy.")
    await reports.write(hoa_lu, theirs, section="III", text="Tiếp tục đổi mới phong trào.")
    await reports.submit(hoa_lu, theirs)
    written += 5
    mine = await reports.draft(
        _officer(ctx, PROVINCE),
        first_year=FIRST,
        last_year=LAST,
        number="45/BC-LĐLĐ",
        place="Ninh Bình",
    )
    for section, text in PROVINCE_SECTIONS.items():
        await reports.write(_officer(ctx, PROVINCE), mine, section=section, text=text)
    return written + 1 + len(PROVINCE_SECTIONS)
