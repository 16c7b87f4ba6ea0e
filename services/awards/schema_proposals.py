"""GraphQL of proposals (issue 14, points 7 and 8): a unit's own proposals and its drafts, the
inbox of proposals its lower units submitted to it with each one's appraisal deadline, and the
commands that draft, fill, and submit a proposal. A draft is read by its unit alone; a submitted
proposal by the units above it too (shared/migrations/0027_proposals.sql)."""

from __future__ import annotations

import uuid
from datetime import date
from enum import Enum
from typing import Any

import orjson
import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from services.awards.commands_proposals import (
    NomineeSpec,
    ProposalCommands,
    appraisal_commands_of,
    proposal_commands_of,
)
from services.awards.schema import Person, people_loader
from services.awards.schema_reference import AwardSubject
from shared import catalogue
from shared.access import fetch as _read
from shared.access import fetch_one, principal_of, reach_of
from shared.bulk import BulkResult, BulkResultType, BulkTooLarge
from shared.clock import today
from shared.commands import idempotency_key_of
from shared.errors import InvalidInput, NotFound
from shared.graphql import client_uuid, planned_input
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

MAX_PAGE = 500
_PROPOSAL_COLUMNS = (
    "tenant_id, proposal_id, title, kind, topic, year, status, drafted_on, to_unit, "
    "submitted_on, due_on, concurrence, rule_set_version, nominee_count, flagged_count, round, "
    "version, (SELECT a.status FROM appraisals a WHERE a.tenant_id = proposals.to_unit "
    "AND a.proposal_id = proposals.proposal_id AND a.round = proposals.round) AS appraisal"
)
_NOMINEE_COLUMNS = (
    "nominee_id, subject, person_id, unit_id, award, summary, basis::text AS basis, "
    "findings::text AS findings"
)


@strawberry.enum(description="Thường xuyên, chuyên đề, đột xuất, quá trình cống hiến.")
class ProposalKind(Enum):
    REGULAR = "regular"
    THEMATIC = "thematic"
    AD_HOC = "ad_hoc"
    CAREER = "career"


@strawberry.enum(description="Ý kiến thẩm định: đồng ý, trả lại để sửa, không đồng ý.")
class Verdict(Enum):
    ACCEPT = "accept"
    RETURN = "return"
    REJECT = "reject"


@strawberry.type(description="Một vòng thẩm định của đề nghị.")
class AppraisalRound:
    round: int
    unit_id: strawberry.ID = strawberry.field(description="Đơn vị thẩm định.")
    status: str = strawberry.field(description="open, returned, completed.")
    nominee_count: int
    judged_count: int
    returned: list[strawberry.ID]
    opened_on: date
    concluded_on: date | None


@strawberry.type(description="Một quy định chưa được đáp ứng: mã, phiên bản bộ quy định, căn cứ.")
class Finding:
    rule: str
    version: str
    source: str
    message: str


@strawberry.type(description="Một người (tập thể) được đề nghị.")
class Nominee:
    id: strawberry.ID
    subject: AwardSubject
    award: str = strawberry.field(description="Mã danh hiệu, hình thức.")
    unit_id: strawberry.ID | None = strawberry.field(description="Tập thể được đề nghị.")
    stored_summary: strawberry.Private[str]
    basis: JSON
    findings: list[Finding] = strawberry.field(
        description="Quy định chưa đáp ứng; còn thì chưa gửi được."
    )
    verdict: Verdict | None = strawberry.field(description="Ý kiến thẩm định vòng hiện tại.")
    verdict_reason: str | None
    verdict_rule: str | None
    person_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="Tên danh hiệu, hình thức.")
    def award_name(self) -> str:
        return catalogue.award_name(self.award)

    @strawberry.field(
        description="Tóm tắt thành tích; của một người: '' khi người đó đã bị xóa dữ liệu cá "
        "nhân, và với người đọc không được xem dữ liệu cá nhân (đoàn viên)."
    )
    def summary(self, info: Info) -> str:
        # A person's summary is about them (sealed with their key): shown as the register shows
        # their name, never to a member's token.
        if self.person_id is not None and reach_of(principal_of(info)) == "unit":
            return ""
        return self.stored_summary

    @strawberry.field(description="Người được đề nghị (trong tầm đọc).")
    async def person(self, info: Info) -> Person | None:
        if self.person_id is None:
            return None
        return await people_loader(info).load(self.person_id)


@strawberry.type(description="Một tài liệu của hồ sơ, lưu theo SHA-256.")
class ProposalDocument:
    sha256: str
    kind: str
    name: str
    size: int
    media_type: str
    attached_on: date


@strawberry.type(description="Trang người (tập thể) được đề nghị.")
class NomineePage:
    edges: list[Edge[Nominee]]
    page_info: PageInfo


@strawberry.type(description="Một đề nghị khen thưởng.")
class Proposal:
    id: strawberry.ID
    unit_id: strawberry.ID
    title: str
    kind: ProposalKind
    topic: str
    year: int
    status: str = strawberry.field(description="draft, submitted.")
    drafted_on: date
    to_unit: strawberry.ID | None = strawberry.field(description="Cấp trên trực tiếp đã nhận.")
    submitted_on: date | None
    due_on: date | None = strawberry.field(description="Hạn thẩm định (ngày làm việc).")
    concurrence: bool = strawberry.field(description="Cần lấy ý kiến cơ quan khác (20 ngày).")
    rule_set_version: str | None
    nominee_count: int
    flagged_count: int = strawberry.field(description="Số người (tập thể) chưa đúng quy định.")
    round: int = strawberry.field(description="Số lần đã gửi (vòng thẩm định hiện tại).")
    appraisal: str | None = strawberry.field(
        description="Kết quả thẩm định vòng hiện tại: open, returned, completed."
    )
    version: int

    @strawberry.field(description="Các vòng thẩm định, từ vòng đầu.")
    async def appraisals(self, info: Info) -> list[AppraisalRound]:
        rows = await _read(
            info,
            "SELECT tenant_id, round, status, nominee_count, judged_count, returned::text AS "
            "returned, opened_on, concluded_on FROM appraisals WHERE proposal_id = $1 "
            "ORDER BY round",
            uuid.UUID(str(self.id)),
        )
        return [
            AppraisalRound(
                round=r["round"],
                unit_id=strawberry.ID(r["tenant_id"]),
                status=r["status"],
                nominee_count=r["nominee_count"],
                judged_count=r["judged_count"],
                returned=[strawberry.ID(n) for n in orjson.loads(r["returned"])],
                opened_on=r["opened_on"],
                concluded_on=r["concluded_on"],
            )
            for r in rows
        ]

    @strawberry.field(description="Đã quá hạn thẩm định.")
    def overdue(self) -> bool:
        return self.status == "submitted" and self.due_on is not None and self.due_on < today()

    @strawberry.field(description="Người (tập thể) được đề nghị, theo thứ tự thêm vào.")
    async def nominees(self, info: Info, first: int = 100, after: str | None = None) -> NomineePage:
        checked_first(first, MAX_PAGE)
        position = typed_position(after, ("bigint",))
        rows = await _read(
            info,
            f"SELECT {_NOMINEE_COLUMNS}, added_seq FROM proposal_nominees "
            "WHERE tenant_id = $1 AND proposal_id = $2 "
            f"AND {past_cursor('added_seq', ('bigint',), 3, given=position is not None)} "
            "ORDER BY added_seq LIMIT $4",
            str(self.unit_id),
            uuid.UUID(str(self.id)),
            *position_parameters(position, ("bigint",)),
            first + 1,
        )
        verdicts = await self._verdicts(info, [r["nominee_id"] for r in rows])
        edges = edges_of(
            rows,
            first,
            lambda r: (str(r["added_seq"]),),
            lambda r: _nominee(r, verdicts.get(r["nominee_id"])),
        )
        return NomineePage(edges=edges, page_info=next_page(rows, first, edges))

    async def _verdicts(self, info: Info, nominees: list[str]) -> dict[str, Any]:
        """The verdicts of the proposal's current round on these nominees, kept in the
        appraiser's rows (migration 0051): read by their key, apart from the nominees (joined,
        a plan made while the table was small scanned it for each nominee)."""
        if self.to_unit is None or not self.round or not nominees:
            return {}
        rows = await _read(
            info,
            "SELECT nominee_id, verdict, reason, rule FROM appraisal_verdicts "
            "WHERE tenant_id = $1 AND proposal_id = $2 AND round = $3 "
            "AND nominee_id IN (SELECT unnest($4::text[]))",
            str(self.to_unit),
            uuid.UUID(str(self.id)),
            self.round,
            nominees,
        )
        return {r["nominee_id"]: r for r in rows}

    @strawberry.field(description="Tài liệu của hồ sơ.")
    async def documents(self, info: Info) -> list[ProposalDocument]:
        rows = await _read(
            info,
            "SELECT sha256, kind, name, size, media_type, attached_on FROM proposal_documents "
            "WHERE tenant_id = $1 AND proposal_id = $2 ORDER BY attached_on, kind, name",
            str(self.unit_id),
            uuid.UUID(str(self.id)),
        )
        return [ProposalDocument(**dict(r)) for r in rows]


@strawberry.type(description="Một trang đề nghị; trang sau: after = endCursor.")
class ProposalPage:
    edges: list[Edge[Proposal]]
    page_info: PageInfo


def proposal_of(row: Any) -> Proposal:
    return Proposal(
        id=strawberry.ID(str(row["proposal_id"])),
        unit_id=strawberry.ID(row["tenant_id"]),
        title=row["title"],
        kind=ProposalKind(row["kind"]),
        topic=row["topic"],
        year=row["year"],
        status=row["status"],
        drafted_on=row["drafted_on"],
        to_unit=strawberry.ID(row["to_unit"]) if row["to_unit"] else None,
        submitted_on=row["submitted_on"],
        due_on=row["due_on"],
        concurrence=row["concurrence"],
        rule_set_version=row["rule_set_version"],
        nominee_count=row["nominee_count"],
        flagged_count=row["flagged_count"],
        round=row["round"],
        appraisal=row["appraisal"],
        version=row["version"],
    )


def _nominee(row: Any, verdict: Any = None) -> Nominee:
    return Nominee(
        id=strawberry.ID(row["nominee_id"]),
        subject=AwardSubject(row["subject"]),
        award=row["award"],
        unit_id=strawberry.ID(row["unit_id"]) if row["unit_id"] else None,
        stored_summary=row["summary"],
        basis=orjson.loads(row["basis"]),
        findings=[Finding(**f) for f in orjson.loads(row["findings"])],
        verdict=Verdict(verdict["verdict"]) if verdict else None,
        verdict_reason=verdict["reason"] if verdict else None,
        verdict_rule=verdict["rule"] if verdict else None,
        person_id=uuid.UUID(row["person_id"]) if row["person_id"] else None,
    )


async def _proposal(info: Info, pid: uuid.UUID) -> Proposal:
    return proposal_of(
        await fetch_one(
            info, f"SELECT {_PROPOSAL_COLUMNS} FROM proposals WHERE proposal_id = $1", pid
        )
    )


async def _page(info: Info, where: str, unit: str, first: int, after: str | None) -> ProposalPage:
    checked_first(first, MAX_PAGE)
    key = ("date", "uuid")
    position = typed_position(after, key)
    rows = await _read(
        info,
        f"SELECT {_PROPOSAL_COLUMNS}, coalesce(due_on, drafted_on) AS sort_day FROM proposals "
        f"WHERE {where} AND "
        f"{past_cursor('coalesce(due_on, drafted_on), proposal_id', key, 2, given=position is not None)} "
        "ORDER BY coalesce(due_on, drafted_on), proposal_id LIMIT $4",
        unit,
        *position_parameters(position, key),
        first + 1,
    )
    edges = edges_of(
        rows, first, lambda r: (r["sort_day"].isoformat(), str(r["proposal_id"])), proposal_of
    )
    return ProposalPage(edges=edges, page_info=next_page(rows, first, edges))


@strawberry.type
class ProposalQuery:
    @strawberry.field(description="Một đề nghị khen thưởng trong tầm đọc; ngoài tầm: null.")
    async def proposal(self, info: Info, id: strawberry.ID) -> Proposal | None:
        try:
            return await _proposal(info, client_uuid(id))
        except NotFound:
            return None

    @strawberry.field(description="Các đề nghị của đơn vị mình, bản nháp và đã gửi.")
    async def my_proposals(
        self, info: Info, first: int = 50, after: str | None = None
    ) -> ProposalPage:
        return await _page(info, "tenant_id = $1", principal_of(info).tenant, first, after)

    @strawberry.field(
        description="Hộp thư đề nghị: các đề nghị cấp dưới trực tiếp đã gửi lên đơn vị mình, "
        "theo hạn thẩm định (overdue: đã quá hạn)."
    )
    async def proposal_inbox(
        self, info: Info, first: int = 50, after: str | None = None
    ) -> ProposalPage:
        return await _page(info, "to_unit = $1", principal_of(info).tenant, first, after)


@strawberry.input(description="Một đề nghị khen thưởng mới.")
class ProposalInput:
    title: str
    kind: ProposalKind
    year: int
    topic: str = strawberry.field(default="", description="Tên chuyên đề (khen chuyên đề).")
    idempotency_key: str | None = None


@strawberry.input(description="Danh hiệu đã đạt, năm nào (căn cứ).")
class EarlierTitleInput:
    award: str
    year: int


@planned_input
@strawberry.input(description="Một người (tập thể) được đề nghị.")
class NomineeInput:
    subject: AwardSubject
    award: str = strawberry.field(description="Mã hay tên danh hiệu, hình thức.")
    person_id: strawberry.ID | None = None
    unit_id: strawberry.ID | None = None
    summary: str = ""
    campaign_id: strawberry.ID | None = None
    initiatives: list[strawberry.ID] = strawberry.field(default_factory=list)
    earlier_titles: list[EarlierTitleInput] = strawberry.field(default_factory=list)
    idempotency_key: str | None = None


def _commands(info: Info) -> ProposalCommands:
    return proposal_commands_of(info.context["runtime"])


@strawberry.type
class ProposalMutation:
    @strawberry.mutation(description="Soạn một đề nghị khen thưởng của đơn vị mình.")
    async def draft_proposal(self, info: Info, input: ProposalInput) -> Proposal:
        pid = await _commands(info).draft(
            principal_of(info),
            title=input.title,
            kind=input.kind.value,
            year=input.year,
            topic=input.topic,
            idempotency_key=idempotency_key_of(info, input.idempotency_key),
        )
        return await _proposal(info, pid)

    @strawberry.mutation(
        description="Thêm một người (tập thể) vào đề nghị; quy định được kiểm tra ngay, điều chưa "
        "đáp ứng hiện ở findings."
    )
    async def add_nominee(
        self, info: Info, proposal_id: strawberry.ID, input: NomineeInput
    ) -> Nominee:
        pid = client_uuid(proposal_id)
        nominee_id = await _commands(info).add_nominee(
            principal_of(info),
            pid,
            subject=input.subject.value,
            award=input.award,
            person_id=client_uuid(input.person_id) if input.person_id else None,
            unit_id=str(input.unit_id)[:64] if input.unit_id else None,
            summary=input.summary,
            campaign_id=client_uuid(input.campaign_id) if input.campaign_id else None,
            initiatives=[client_uuid(i) for i in input.initiatives],
            earlier_titles=[(t.award, t.year) for t in input.earlier_titles],
            idempotency_key=idempotency_key_of(info, input.idempotency_key),
        )
        rows = await _read(
            info,
            # Just added: no verdict yet (a round's verdicts are on the nominees it was sent with).
            f"SELECT {_NOMINEE_COLUMNS} FROM proposal_nominees WHERE proposal_id = $1 "
            "AND nominee_id = $2",
            pid,
            nominee_id,
        )
        if not rows:
            raise NotFound(nominee_id)
        return _nominee(rows[0])

    @strawberry.mutation(
        description="Thêm nhiều người (tập thể) vào đề nghị trong một lần: dòng hợp lệ được "
        "thêm (quy định được kiểm tra như khi thêm từng người), dòng lỗi được nêu tên."
    )
    async def add_nominees(
        self, info: Info, proposal_id: strawberry.ID, nominees: list[NomineeInput]
    ) -> BulkResultType:
        pid = client_uuid(proposal_id)
        specs = [
            NomineeSpec(
                row=n,
                subject=i.subject.value,
                award=i.award,
                person_id=client_uuid(i.person_id) if i.person_id else None,
                unit_id=str(i.unit_id)[:64] if i.unit_id else None,
                summary=i.summary,
                campaign_id=client_uuid(i.campaign_id) if i.campaign_id else None,
                initiatives=tuple(client_uuid(x) for x in i.initiatives),
                earlier_titles=tuple((t.award, t.year) for t in i.earlier_titles),
            )
            for n, i in enumerate(nominees, start=1)
        ]
        limit = info.context["runtime"].settings.max_bulk_rows
        if len(specs) > limit:
            raise BulkTooLarge(f"{len(specs)} > {limit}.", limit=limit)
        added = await _commands(info).add_nominees(
            principal_of(info), pid, specs, idempotency_key=idempotency_key_of(info)
        )
        return BulkResultType.of(
            BulkResult(
                received=len(specs),
                written=added.written,
                error_count=added.error_count,
                errors=added.errors,
            )
        )

    @strawberry.mutation(description="Bỏ một người (tập thể) ra khỏi đề nghị (bản nháp).")
    async def remove_nominee(
        self, info: Info, proposal_id: strawberry.ID, nominee_id: strawberry.ID
    ) -> Proposal:
        pid = client_uuid(proposal_id)
        await _commands(info).remove_nominee(
            principal_of(info),
            pid,
            str(nominee_id)[:64],
            idempotency_key=idempotency_key_of(info),
        )
        return await _proposal(info, pid)

    @strawberry.mutation(
        description="Gửi đề nghị lên cấp trên trực tiếp; hạn thẩm định 10 ngày làm việc (20 khi "
        "cần lấy ý kiến cơ quan khác)."
    )
    async def submit_proposal(
        self, info: Info, proposal_id: strawberry.ID, concurrence: bool = False
    ) -> Proposal:
        pid = client_uuid(proposal_id)
        await _commands(info).submit(
            principal_of(info),
            pid,
            concurrence=concurrence,
            idempotency_key=idempotency_key_of(info),
        )
        return await _proposal(info, pid)


@strawberry.type
class AppraisalMutation:
    @strawberry.mutation(
        description="Thẩm định một người (tập thể) của đề nghị gửi lên đơn vị mình: đồng ý, trả "
        "lại để sửa (nêu lý do), hay không đồng ý (nêu lý do, mã quy định nếu có: một mã của "
        "bộ quy tắc đang áp dụng hay quy định riêng của cấp trên, như rules trả về)."
    )
    async def appraise_nominee(
        self,
        info: Info,
        proposal_id: strawberry.ID,
        nominee_id: strawberry.ID,
        verdict: Verdict,
        reason: str = "",
        rule: str = "",
    ) -> Proposal:
        pid = client_uuid(proposal_id)
        await appraisal_commands_of(info.context["runtime"]).judge(
            principal_of(info),
            pid,
            str(nominee_id)[:64],
            verdict=verdict.value,
            reason=reason,
            rule=rule,
            idempotency_key=idempotency_key_of(info),
        )
        return await _proposal(info, pid)

    @strawberry.mutation(
        description="Thẩm định nhiều người (tập thể) cùng một ý kiến trong một lần: những người "
        "đã nêu, hoặc (bỏ trống) mọi người chưa có ý kiến ở vòng này."
    )
    async def appraise_nominees(
        self,
        info: Info,
        proposal_id: strawberry.ID,
        verdict: Verdict,
        nominee_ids: list[strawberry.ID] | None = None,
        reason: str = "",
        rule: str = "",
    ) -> Proposal:
        pid = client_uuid(proposal_id)
        if nominee_ids is not None and len(nominee_ids) > 10_000:
            raise InvalidInput("Tối đa 10.000 người (tập thể).")
        await appraisal_commands_of(info.context["runtime"]).judge(
            principal_of(info),
            pid,
            None,
            nominees=[str(n)[:64] for n in nominee_ids] if nominee_ids is not None else None,
            verdict=verdict.value,
            reason=reason,
            rule=rule,
            idempotency_key=idempotency_key_of(info),
        )
        return await _proposal(info, pid)

    @strawberry.mutation(
        description="Kết thúc vòng thẩm định: trả lại đề nghị nếu có người bị trả lại, không thì "
        "hoàn tất (người được đồng ý chuyển Hội đồng)."
    )
    async def conclude_appraisal(self, info: Info, proposal_id: strawberry.ID) -> Proposal:
        pid = client_uuid(proposal_id)
        await appraisal_commands_of(info.context["runtime"]).conclude(
            principal_of(info), pid, idempotency_key=idempotency_key_of(info)
        )
        return await _proposal(info, pid)

    @strawberry.mutation(
        description="Nhận lại đề nghị bị trả lại để sửa; sửa xong thì gửi lại (vòng sau)."
    )
    async def take_back_proposal(self, info: Info, proposal_id: strawberry.ID) -> Proposal:
        pid = client_uuid(proposal_id)
        await appraisal_commands_of(info.context["runtime"]).take_back(
            principal_of(info), pid, idempotency_key=idempotency_key_of(info)
        )
        return await _proposal(info, pid)
