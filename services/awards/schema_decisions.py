"""GraphQL of decisions (issue 14, points 11 and 14): issue a decision on a council's passed
nominees, forward what the unit may not decide, set the unit's number suffix; read a decision,
the decisions register (by unit or subtree, year, award, kind) and a person's award history.
A decision is published to the deciding unit's subtree (shared/migrations/0030_decisions.sql)."""

from __future__ import annotations

import uuid
from datetime import date
from enum import Enum
from typing import Any

import orjson
import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from services.awards.commands_decisions import decision_commands_of, revoke
from services.awards.schema import Person, people_loader
from services.awards.schema_proposals import Proposal, _proposal
from shared import access, catalogue
from shared.access import fetch as _read
from shared.access import fetch_one, principal_of
from shared.commands import idempotency_key_of
from shared.errors import InvalidInput, NotFound
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

MAX_PAGE = 500
# The register's decisions: those of these units (and year) the asker reads
# (shared/migrations/0037_awards_at_scale.sql: the read policy's rule, by joins).
_READABLE = "thidua_readable_decisions($1::text[], $2::int) d"
_KEY = ("date", "uuid")
_DECISION_COLUMNS = (
    "tenant_id, decision_id, year, number, code, title, decided_on, signer, rule_set_version, "
    "base_salary_vnd, recipient_count, cash_total_vnd"
)


@strawberry.enum(description="Căn cứ hủy bỏ khen thưởng.")
class RevocationGround(Enum):
    FALSE_DECLARATION = "false_declaration"
    FORGED_DOSSIER = "forged_dossier"
    UNLAWFUL_APPRAISAL_OR_PROPOSAL = "unlawful_appraisal_or_proposal"
    STANDARD_NOT_MET = "standard_not_met"


@strawberry.type(description="Một người (tập thể) được khen trong quyết định.")
class DecisionRecipient:
    item_id: strawberry.ID
    who: str
    subject: str
    award: str
    kind: str
    cash_vnd: BigInt
    proposer: strawberry.ID
    unit_id: strawberry.ID | None
    revoked_on: date | None = strawberry.field(description="Ngày bị hủy bỏ, nếu có.")
    revoke_ground: RevocationGround | None
    recovered_cash_vnd: BigInt | None
    review: JSON = strawberry.field(
        description="Các khen thưởng đã hủy mà khen thưởng này dựa vào: cần xem xét lại."
    )
    person_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    def award_name(self) -> str:
        return catalogue.award_name(self.award)

    @strawberry.field(description="Người được khen (trong tầm đọc).")
    async def person(self, info: Info) -> Person | None:
        if self.person_id is None:
            return None
        return await people_loader(info).load(self.person_id)


@strawberry.type(description="Một quyết định khen thưởng.")
class DecisionType:
    id: strawberry.ID
    unit_id: strawberry.ID
    year: int
    number: int
    code: str = strawberry.field(description="Số quyết định, như 123/QĐ-LĐLĐ.")
    title: str
    decided_on: date
    signer: str
    rule_set_version: str
    base_salary_vnd: BigInt
    recipient_count: int
    cash_total_vnd: BigInt

    @strawberry.field(
        description="Những người (tập thể) được khen, từng trang (trang sau: after = endCursor)."
    )
    async def recipients(
        self, info: Info, first: int = 100, after: str | None = None
    ) -> RecipientPage:
        checked_first(first, MAX_PAGE)
        position = typed_position(after, ("text",))
        rows = await _read(
            info,
            "SELECT item_id, who, subject, award, kind, cash_vnd, proposer, unit_id, person_id, "
            "revoked_on, revoke_ground, recovered_cash_vnd, review::text AS review "
            "FROM decision_recipients WHERE tenant_id = $1 AND decision_id = $2 "
            f"AND {past_cursor('item_id', ('text',), 3, given=position is not None)} "
            "ORDER BY item_id LIMIT $4",
            str(self.unit_id),
            uuid.UUID(str(self.id)),
            *position_parameters(position, ("text",)),
            first + 1,
        )
        edges = edges_of(rows, first, lambda r: (r["item_id"],), _recipient)
        return RecipientPage(edges=edges, page_info=next_page(rows, first, edges))


@strawberry.type(description="Trang người (tập thể) được khen của một quyết định.")
class RecipientPage:
    edges: list[Edge[DecisionRecipient]]
    page_info: PageInfo


@strawberry.type(description="Sổ quyết định khen thưởng: một trang; trang sau: after = endCursor.")
class DecisionPage:
    total: int
    cash_total_vnd: BigInt
    edges: list[Edge[DecisionType]]
    page_info: PageInfo


@strawberry.type(description="Một lần được khen: danh hiệu, hình thức, năm, quyết định.")
class AwardHistoryEntry:
    year: int
    award: str
    award_name: str
    kind: str
    decision_code: str
    decided_on: date
    decided_by: strawberry.ID
    cash_vnd: BigInt
    revoked_on: date | None = strawberry.field(description="Ngày bị hủy bỏ, nếu có.")


@strawberry.type(description="Số liệu một danh hiệu, hình thức trong năm.")
class AwardFigure:
    award: str
    award_name: str
    persons: int
    collectives: int
    cash_vnd: BigInt


@strawberry.type(
    description="Số liệu khen thưởng một năm của một đơn vị và các đơn vị cấp dưới: người được "
    "khen, tỷ lệ lao động trực tiếp (kế hoạch: từ 15%), tỷ lệ nữ, tiền thưởng theo danh hiệu."
)
class AwardYear:
    unit_id: strawberry.ID
    year: int
    persons: int = strawberry.field(description="Số người được khen (mỗi người tính một lần).")
    direct_workers: int
    direct_worker_share: float | None = strawberry.field(description="Phần trăm, một chữ số lẻ.")
    women: int
    women_share: float | None
    collectives: int
    cash_vnd: BigInt
    by_award: list[AwardFigure]


# The figures over the decisions the asker reads, found by joins on the closure rather than the
# read policy's check per row (shared/migrations/0037_awards_at_scale.sql).
_YEAR_FIGURES = """
SELECT award, persons, collectives, cash, direct_workers, women FROM thidua_award_year($1, $2)
"""


# A year without a recipient in reach has no rows at all (migration 0043).
_NO_FIGURES = {"persons": 0, "direct_workers": 0, "women": 0, "collectives": 0, "cash": 0}


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _recipient(r: Any) -> DecisionRecipient:
    return DecisionRecipient(
        item_id=strawberry.ID(r["item_id"]),
        revoked_on=r["revoked_on"],
        revoke_ground=RevocationGround(r["revoke_ground"]) if r["revoke_ground"] else None,
        recovered_cash_vnd=r["recovered_cash_vnd"],
        review=orjson.loads(r["review"]),
        who=r["who"],
        subject=r["subject"],
        award=r["award"],
        kind=r["kind"],
        cash_vnd=r["cash_vnd"],
        proposer=strawberry.ID(r["proposer"]),
        unit_id=strawberry.ID(r["unit_id"]) if r["unit_id"] else None,
        person_id=uuid.UUID(r["person_id"]) if r["person_id"] else None,
    )


def decision_of(r: Any) -> DecisionType:
    return DecisionType(
        id=strawberry.ID(str(r["decision_id"])),
        unit_id=strawberry.ID(r["tenant_id"]),
        year=r["year"],
        number=r["number"],
        code=r["code"],
        title=r["title"],
        decided_on=r["decided_on"],
        signer=r["signer"],
        rule_set_version=r["rule_set_version"],
        base_salary_vnd=r["base_salary_vnd"],
        recipient_count=r["recipient_count"],
        cash_total_vnd=r["cash_total_vnd"],
    )


async def _decision(info: Info, did: uuid.UUID) -> DecisionType:
    return decision_of(
        await fetch_one(
            info, f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE decision_id = $1", did
        )
    )


async def _units(info: Info, unit_id: strawberry.ID | None, subtree: bool) -> list[str] | None:
    principal = principal_of(info)
    unit = str(unit_id)[:64] if unit_id else principal.tenant
    async with access.reading(info) as conn:
        relation = await access.relation(conn, principal, unit)
        if not access.may_read_unit(principal, relation):
            return None
        if not subtree:
            return [unit]
        rows = await conn.fetch(
            "SELECT DISTINCT descendant FROM unit_closure WHERE ancestor = $1", unit
        )
    return [r["descendant"] for r in rows] or [unit]


@strawberry.type
class DecisionQuery:
    @strawberry.field(description="Một quyết định khen thưởng trong tầm đọc; ngoài tầm: null.")
    async def decision(self, info: Info, id: strawberry.ID) -> DecisionType | None:
        try:
            return await _decision(info, client_uuid(id))
        except NotFound:
            return None

    @strawberry.field(
        description="Sổ quyết định khen thưởng của một đơn vị (mặc định: đơn vị mình), hay cả "
        "các đơn vị cấp dưới (subtree); lọc theo năm, danh hiệu/hình thức, loại khen."
    )
    async def decisions(
        self,
        info: Info,
        unit_id: strawberry.ID | None = None,
        subtree: bool = False,
        year: int | None = None,
        award: str | None = None,
        kind: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> DecisionPage | None:
        checked_first(first, MAX_PAGE)
        position = typed_position(after, _KEY)
        if (award and len(award) > 200) or (kind and len(kind) > 20):
            raise InvalidInput("Bộ lọc quá dài.")
        units = await _units(info, unit_id, subtree)
        if units is None:
            return None
        where = (
            "true"
            + (
                " AND EXISTS (SELECT 1 FROM decision_recipients r WHERE r.tenant_id = d.tenant_id "
                "AND r.decision_id = d.decision_id AND r.award = $3)"
                if award
                else " AND $3::text IS NULL"
            )
            + (
                " AND EXISTS (SELECT 1 FROM decision_recipients r WHERE r.tenant_id = d.tenant_id "
                "AND r.decision_id = d.decision_id AND r.kind = $4)"
                if kind
                else " AND $4::text IS NULL"
            )
        )
        args = (units, year, award, kind)
        totals = await _read(
            info,
            f"SELECT count(*) AS n, coalesce(sum(cash_total_vnd), 0) AS cash FROM {_READABLE} "
            f"WHERE {where}",
            *args,
        )
        rows = await _read(
            info,
            f"SELECT {_DECISION_COLUMNS} FROM {_READABLE} WHERE {where} AND "
            f"{past_cursor('d.decided_on, d.decision_id', _KEY, 5, given=position is not None)} "
            "ORDER BY d.decided_on, d.decision_id LIMIT $7",
            *args,
            *position_parameters(position, _KEY),
            first + 1,
        )
        edges = edges_of(
            rows, first, lambda r: (r["decided_on"].isoformat(), str(r["decision_id"])), decision_of
        )
        return DecisionPage(
            total=totals[0]["n"],
            cash_total_vnd=totals[0]["cash"],
            edges=edges,
            page_info=next_page(rows, first, edges),
        )

    @strawberry.field(
        description="Số liệu khen thưởng năm `year` của một đơn vị (mặc định: đơn vị mình) và "
        "các đơn vị cấp dưới, theo các quyết định trong tầm đọc. Đơn vị ngoài tầm: null."
    )
    async def award_year(
        self, info: Info, year: int, unit_id: strawberry.ID | None = None
    ) -> AwardYear | None:
        return await award_year(info, unit_id, year)

    @strawberry.field(
        description="Quá trình khen thưởng của một người: mọi danh hiệu, hình thức, năm theo năm "
        "(các quyết định trong tầm đọc)."
    )
    async def award_history(self, info: Info, person_id: strawberry.ID) -> list[AwardHistoryEntry]:
        return await _history(info, f"person:{client_uuid(person_id)}")

    @strawberry.field(
        description="Quá trình khen thưởng của một tập thể (đơn vị): năm theo năm, theo các "
        "quyết định trong tầm đọc."
    )
    async def unit_award_history(
        self, info: Info, unit_id: strawberry.ID
    ) -> list[AwardHistoryEntry]:
        return await _history(info, f"unit:{str(unit_id)[:64]}")


async def _history(info: Info, who: str) -> list[AwardHistoryEntry]:
    """``who`` as a recipient's row names it (person:<id> or unit:<id>), by its index."""
    rows = await _read(
        info,
        "SELECT r.year, r.award, r.kind, r.cash_vnd, r.revoked_on, d.code, d.decided_on, "
        "d.tenant_id "
        "FROM decision_recipients r JOIN decisions d ON d.tenant_id = r.tenant_id "
        "AND d.decision_id = r.decision_id WHERE r.who = $1 "
        # by number, not code (9/QĐ before 10/QĐ); two units' decisions of a day may share a
        # number: the unit, then the item, settle it
        "ORDER BY r.year, d.decided_on, d.number, d.tenant_id, r.item_id",
        who,
    )
    return [
        AwardHistoryEntry(
            year=r["year"],
            award=r["award"],
            award_name=catalogue.award_name(r["award"]),
            kind=r["kind"],
            decision_code=r["code"],
            decided_on=r["decided_on"],
            decided_by=strawberry.ID(r["tenant_id"]),
            cash_vnd=r["cash_vnd"],
            revoked_on=r["revoked_on"],
        )
        for r in rows
    ]


async def award_year(info: Info, unit_id: strawberry.ID | None, year: int) -> AwardYear | None:
    if not 2000 <= year <= 2100:
        raise InvalidInput("Năm từ 2000 đến 2100.")
    principal = principal_of(info)
    unit = str(unit_id)[:64] if unit_id else principal.tenant
    async with access.reading(info) as conn:
        if not access.may_read_unit(principal, await access.relation(conn, principal, unit)):
            return None
        rows = await conn.fetch(_YEAR_FIGURES, unit, year)
    total = next((r for r in rows if r["award"] is None), _NO_FIGURES)
    persons = total["persons"]
    return AwardYear(
        unit_id=strawberry.ID(unit),
        year=year,
        persons=persons,
        direct_workers=total["direct_workers"],
        direct_worker_share=_share(total["direct_workers"], persons),
        women=total["women"],
        women_share=_share(total["women"], persons),
        collectives=total["collectives"],
        cash_vnd=total["cash"],
        by_award=[
            AwardFigure(
                award=r["award"],
                award_name=catalogue.award_name(r["award"]),
                persons=r["persons"],
                collectives=r["collectives"],
                cash_vnd=r["cash"],
            )
            for r in sorted((r for r in rows if r["award"] is not None), key=lambda r: r["award"])
        ],
    )


@strawberry.type
class DecisionMutation:
    @strawberry.mutation(
        description="Ra quyết định khen thưởng (người ký, vai trò approver) cho những người "
        "(tập thể) Hội đồng đã đề nghị mà đơn vị có thẩm quyền; số quyết định liên tục theo năm."
    )
    async def issue_decision(
        self,
        info: Info,
        session_id: strawberry.ID,
        title: str,
        items: list[strawberry.ID] | None = None,
    ) -> DecisionType:
        if items is not None and len(items) > 10_000:
            raise InvalidInput("Tối đa 10.000 mục.")
        did = await decision_commands_of(info.context["runtime"]).decide(
            principal_of(info),
            client_uuid(session_id),
            title=title,
            items=[str(i)[:200] for i in items] if items else None,
            idempotency_key=idempotency_key_of(info),
        )
        return await _decision(info, did)

    @strawberry.mutation(
        description="Chuyển lên cấp trên những người (tập thể) Hội đồng đã đề nghị mà đơn vị "
        "không có thẩm quyền quyết định: đề nghị mới (bản nháp) của đơn vị mình, mỗi loại khen, "
        "chuyên đề và năm một đề nghị; hồ sơ cấp dưới kèm theo là tài liệu khác (other)."
    )
    async def forward_nominees(
        self, info: Info, session_id: strawberry.ID, title: str = ""
    ) -> list[Proposal]:
        drafted = await decision_commands_of(info.context["runtime"]).forward(
            principal_of(info),
            client_uuid(session_id),
            title=title,
            idempotency_key=idempotency_key_of(info),
        )
        return [await _proposal(info, pid) for pid in drafted]

    @strawberry.mutation(
        description="Hủy bỏ khen thưởng của một người (tập thể) trong quyết định của đơn vị mình "
        "(người ký), theo một trong bốn căn cứ, ghi tiền và hiện vật thu hồi; các khen thưởng "
        "sau dựa vào nó được đánh dấu để xem xét lại."
    )
    async def revoke_award(
        self,
        info: Info,
        decision_id: strawberry.ID,
        item_id: strawberry.ID,
        ground: RevocationGround,
        reason: str,
        recovered_cash_vnd: BigInt = 0,
        recovered_items: list[str] | None = None,
    ) -> DecisionType:
        did = client_uuid(decision_id)
        await revoke(
            decision_commands_of(info.context["runtime"]),
            principal_of(info),
            did,
            str(item_id)[:200],
            ground=ground.value,
            reason=reason,
            recovered_cash_vnd=int(recovered_cash_vnd),
            recovered_items=recovered_items or [],
            idempotency_key=idempotency_key_of(info),
        )
        return await _decision(info, did)

    @strawberry.mutation(description="Ký hiệu số quyết định của đơn vị (như QĐ-LĐLĐ).")
    async def set_decision_suffix(self, info: Info, suffix: str) -> bool:
        await decision_commands_of(info.context["runtime"]).set_suffix(
            principal_of(info), suffix[:100], idempotency_key=idempotency_key_of(info)
        )
        return True
