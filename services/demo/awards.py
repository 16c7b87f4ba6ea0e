"""The demo's awards of 2021 (issue 14, "Faces"): the chain run once through the awards
service's own commands, on the demo's clock.

Công đoàn Công ty CP Du lịch Tràng An (a grassroots union) registers three of its people and
proposes, for 2021, two of them for Lao động tiên tiến, itself for Tập thể lao động tiên tiến
and for the Bằng khen of the Tổng Liên đoàn. LĐLĐ huyện Hoa Lư (its upper level) appraises the
proposal and returns one nominee for correction; the union corrects and sends it again; Hoa Lư
accepts, its council passes every nominee (a secret ballot), its approver decides what Hoa Lư
may, and forwards the Bằng khen, which Hoa Lư may not decide, to LĐLĐ tỉnh Ninh Bình; the
province appraises, its council passes it and forwards it to the Tổng Liên đoàn, whose council
passes it and whose approver decides it. Then Hoa Lư revokes one Lao động tiên tiến (found
later not to meet the standard).

The step is skipped when the union's proposal is already there, and when the tree counts from
a later day than the awards' (a national unit registered from 2024, which the demo hangs under:
its units did not exist in 2021). It runs as one piece: a run cut short inside it is not
finished by the next (the other steps are).
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any
from uuid import UUID

from services.awards.commands import commands_of as awards_commands_of
from services.awards.commands_council import council_commands_of
from services.awards.commands_decisions import decision_commands_of, revoke
from services.awards.commands_proposals import appraisal_commands_of, proposal_commands_of
from services.awards.domain import Member, Particulars, Personal
from shared.auth import Principal

GRASSROOTS_UNIT = "nb-cs-trang-an"
UPPER_UNIT = "nb-hoa-lu"
PROVINCE_UNIT = "ldld-ninh-binh"
NATIONAL_UNIT = "tld"
TITLE = "Đề nghị khen thưởng năm 2021"
FIRST_DAY = date(2021, 10, 4)
PEOPLE = (
    (
        "TA-001",
        Personal("Phạm Thị Thu Hà", 1986),
        Particulars("female", post="Hướng dẫn viên", direct_worker=True),
    ),
    (
        "TA-002",
        Personal("Đinh Văn Nam", 1979),
        Particulars("male", post="Lái xe", direct_worker=True),
    ),
    (
        "TA-003",
        Personal("Bùi Thị Mai", 1990),
        Particulars("female", post="Kế toán", direct_worker=False),
    ),
)
PDF = b"%PDF-1.4\n% demo dossier: "
MEMBERS = [Member("hoi-dong.chu-tich"), Member("hoi-dong.pho-chu-tich"), Member("hoi-dong.uy-vien")]


def actor(ctx: Any, unit: str, role: str, subject: str = "thidua-demo") -> Principal:
    return Principal(subject=subject, tenant=ctx.unit(unit), roles=frozenset({role}))


async def awards_2021(ctx: Any) -> int:
    """The chain above; the number of decisions written (0: already there)."""
    if await ctx.has(
        "SELECT 1 FROM proposals WHERE tenant_id = $1 AND title = $2",
        ctx.unit(GRASSROOTS_UNIT),
        TITLE,
    ) or await ctx.has(
        "SELECT 1 FROM units WHERE tenant_id = $1 AND since > $2",
        ctx.unit(GRASSROOTS_UNIT),
        FIRST_DAY,
    ):
        return 0
    rt, clock = ctx.runtime, ctx.clock
    people = awards_commands_of(rt, clock)
    proposals = proposal_commands_of(rt, clock)
    appraisal = appraisal_commands_of(rt, clock)
    council = council_commands_of(rt, clock)
    decisions = decision_commands_of(rt, clock)
    union = actor(ctx, GRASSROOTS_UNIT, "officer")

    clock.on = FIRST_DAY
    ids = [
        await people.register_person(union, staff_number=s, personal=p, particulars=q)
        for s, p, q in PEOPLE
    ]
    clock.on = date(2021, 11, 15)
    pid = await proposals.draft(union, title=TITLE, kind="regular", year=2021)
    nominees = [
        await proposals.add_nominee(
            union,
            pid,
            subject="person",
            person_id=ids[0],
            award="lao_dong_tien_tien",
            summary="Hoàn thành xuất sắc nhiệm vụ năm 2021",
        ),
        await proposals.add_nominee(
            union,
            pid,
            subject="person",
            person_id=ids[1],
            award="lao_dong_tien_tien",
            summary="Lái xe an toàn",
        ),
        await proposals.add_nominee(
            union,
            pid,
            subject="collective",
            unit_id=ctx.unit(GRASSROOTS_UNIT),
            award="tap_the_lao_dong_tien_tien",
        ),
        await proposals.add_nominee(
            union,
            pid,
            subject="collective",
            unit_id=ctx.unit(GRASSROOTS_UNIT),
            award="bang_khen_tld",
            summary="Ba năm liền vững mạnh",
        ),
    ]
    await _dossier(proposals, union, pid, "Tràng An")
    await proposals.submit(union, pid)

    hoa_lu = actor(ctx, UPPER_UNIT, "officer")
    clock.on = date(2021, 11, 22)
    for n in nominees:
        verdict = "return" if n == nominees[1] else "accept"
        reason = "Bổ sung số km lái xe an toàn" if verdict == "return" else ""
        await appraisal.judge(hoa_lu, pid, n, verdict=verdict, reason=reason)
    await appraisal.conclude(hoa_lu, pid)
    clock.on = date(2021, 11, 24)
    await appraisal.take_back(union, pid)
    await proposals.remove_nominee(union, pid, nominees[1])
    nominees[1] = await proposals.add_nominee(
        union,
        pid,
        subject="person",
        person_id=ids[1],
        award="lao_dong_tien_tien",
        summary="Lái xe an toàn 120.000 km",
    )
    await proposals.submit(union, pid)
    clock.on = date(2021, 12, 1)
    for n in nominees:
        await appraisal.judge(hoa_lu, pid, n, verdict="accept")
    await appraisal.conclude(hoa_lu, pid)

    clock.on = date(2021, 12, 10)
    session = await _council(ctx, council, UPPER_UNIT, pid, "secret")
    upper_decision = await decisions.decide(
        actor(ctx, UPPER_UNIT, "approver", "chu-tich.hoa-lu"),
        session,
        title="Về việc tặng danh hiệu thi đua năm 2021",
    )
    [onward] = await decisions.forward(
        hoa_lu, session, title="Đề nghị Bằng khen của Tổng Liên đoàn"
    )
    await _dossier(proposals, hoa_lu, onward, "Hoa Lư")
    await proposals.submit(hoa_lu, onward)

    onward = await _pass_on(
        ctx, proposals, appraisal, council, decisions, PROVINCE_UNIT, onward, date(2021, 12, 16)
    )
    tld = actor(ctx, NATIONAL_UNIT, "officer")
    clock.on = date(2022, 1, 10)
    await _appraise_all(ctx, appraisal, tld, onward)
    session = await _council(ctx, council, NATIONAL_UNIT, onward, "open")
    await decisions.decide(
        actor(ctx, NATIONAL_UNIT, "approver", "chu-tich.tld"),
        session,
        title="Về việc tặng Bằng khen của Ban Chấp hành Tổng Liên đoàn",
    )

    clock.on = date(2022, 3, 1)
    recipient = f"{pid}:{nominees[1]}"
    await revoke(
        decisions,
        actor(ctx, UPPER_UNIT, "approver", "chu-tich.hoa-lu"),
        upper_decision,
        recipient,
        ground="standard_not_met",
        reason="Kiểm tra sau: chưa đủ số ngày công năm 2021",
        recovered_cash_vnd=450_000,
    )
    return 2


async def _dossier(proposals: Any, who: Principal, pid: UUID, name: str) -> None:
    for kind in ("memo", "achievement_report", "council_minutes"):
        content = PDF + f"{name} {kind} {pid}".encode()
        await proposals.attach(
            who,
            pid,
            kind=kind,
            sha256=hashlib.sha256(content).hexdigest(),
            name=f"{kind}.pdf",
            size=len(content),
            media_type="application/pdf",
            content=content,
        )


async def _appraise_all(ctx: Any, appraisal: Any, who: Principal, pid: UUID) -> None:
    async with ctx.reading() as conn:
        rows = await conn.fetch(
            "SELECT nominee_id FROM proposal_nominees WHERE proposal_id = $1 ORDER BY added_seq",
            pid,
        )
    for r in rows:
        await appraisal.judge(who, pid, r["nominee_id"], verdict="accept")
    await appraisal.conclude(who, pid)


async def _council(ctx: Any, council: Any, unit: str, pid: UUID, ballot: str) -> UUID:
    """A session of ``unit``'s council on the proposal, every member voting yes."""
    session = await council.convene(
        actor(ctx, unit, "officer"),
        title=f"Phiên họp Hội đồng Thi đua - Khen thưởng ({ctx.clock.on.year})",
        meets_on=ctx.clock.on,
        ballot=ballot,
        quorum=2,
        members=MEMBERS,
        proposals=[pid],
    )
    async with ctx.reading() as conn:
        items = await conn.fetch(
            "SELECT item_id FROM council_items WHERE session_id = $1 ORDER BY position", session
        )
    for member in MEMBERS:
        for item in items:
            await council.vote(
                actor(ctx, unit, "council", member.subject), session, item["item_id"], "yes"
            )
    await council.conclude(actor(ctx, unit, "officer"), session)
    return session


async def _pass_on(
    ctx: Any,
    proposals: Any,
    appraisal: Any,
    council: Any,
    decisions: Any,
    unit: str,
    pid: UUID,
    on: date,
) -> UUID:
    """``unit`` appraises what came to it, its council passes it, and it forwards it on."""
    ctx.clock.on = on
    officer = actor(ctx, unit, "officer")
    await _appraise_all(ctx, appraisal, officer, pid)
    session = await _council(ctx, council, unit, pid, "open")
    [onward] = await decisions.forward(
        officer, session, title="Đề nghị Bằng khen của Tổng Liên đoàn"
    )
    await _dossier(proposals, officer, onward, unit)
    await proposals.submit(officer, onward)
    return onward
