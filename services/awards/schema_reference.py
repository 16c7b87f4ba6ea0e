"""GraphQL of what every award is checked against: the award catalogue, the rule set in force,
the base salary and the cash an award carries, the working-day calendar, and a federation's
own rules; with the commands that keep the parts that change (an admin of the national unit:
a base salary, a day marked; a federation's officer: its own rules)."""

from __future__ import annotations

import uuid
from datetime import date
from enum import Enum

import orjson
import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from services.awards.commands import AwardsCommands, commands_of
from services.awards.commands import added_base_salaries as added_salaries_of
from services.awards.commands import working_calendar as calendar_of
from services.awards.rules import (
    BaseSalary,
    RuleSet,
    base_salary_on,
    cash_vnd,
    rule_set_on,
)
from shared import access
from shared.access import fetch as _read
from shared.access import principal_of
from shared.calendar import WorkingCalendar
from shared.catalogue import AwardEntry, entries_on, entry_of
from shared.clock import today
from shared.commands import idempotency_key_of
from shared.errors import InvalidInput, NotFound
from shared.graphql import BigInt

MIN_YEAR, MAX_YEAR = 2000, 2100


@strawberry.enum(description="Cá nhân hay tập thể.")
class AwardSubject(Enum):
    PERSON = "person"
    COLLECTIVE = "collective"


@strawberry.enum(description="Danh hiệu thi đua hay hình thức khen thưởng.")
class AwardKind(Enum):
    TITLE = "title"
    FORM = "form"


@strawberry.type(description="Hệ số tiền thưởng theo đối tượng.")
class CashMultiple:
    subject: AwardSubject
    multiple: float


@strawberry.type(description="Một mục của danh mục khen thưởng.")
class CatalogueEntry:
    code: str
    name: str
    kind: AwardKind
    subjects: list[AwardSubject]
    deciders: list[str] = strawberry.field(description="Các cấp được quyết định.")
    state: bool = strawberry.field(description="Khen thưởng cấp Nhà nước: chỉ đề nghị lên.")
    cash: list[CashMultiple]
    effective_from: date
    effective_to: date | None
    source: str


@strawberry.type(description="Một quy định trong bộ quy định khen thưởng.")
class RuleType:
    code: str
    message: str
    source: str
    numbers: JSON


@strawberry.type(description="Bộ quy định khen thưởng có hiệu lực vào một ngày.")
class RuleSetType:
    version: str
    name: str
    effective_from: date
    effective_to: date | None
    source: str
    rules: list[RuleType]


@strawberry.type(description="Mức lương cơ sở từ một ngày.")
class BaseSalaryType:
    amount_vnd: BigInt
    effective_from: date
    source: str


@strawberry.type(description="Tiền thưởng của một hình thức, vào ngày quyết định.")
class AwardCash:
    code: str
    subject: AwardSubject
    multiple: float
    base_salary: BaseSalaryType
    amount_vnd: BigInt
    rule_set_version: str


@strawberry.type(description="Một ngày nghỉ trong tuần làm việc.")
class DayOffType:
    on: date
    name: str
    marked: bool = strawberry.field(
        description="Do Tổng Liên đoàn đánh dấu, không theo lịch chung."
    )


@strawberry.type(description="Lịch làm việc một năm: ngày nghỉ lễ, Tết, nghỉ bù; ngày làm bù.")
class WorkingYear:
    year: int
    days_off: list[DayOffType]
    working_weekend_days: list[date]


@strawberry.type(description="Quy định riêng của một đơn vị (không xét, tỷ lệ).")
class LocalRuleType:
    id: strawberry.ID
    unit_id: strawberry.ID
    code: str
    kind: str
    message: str
    numbers: JSON
    effective_from: date
    effective_to: date | None
    source: str


def catalogue_entry(e: AwardEntry) -> CatalogueEntry:
    return CatalogueEntry(
        code=e.code,
        name=e.name,
        kind=AwardKind(e.kind),
        subjects=[AwardSubject(s) for s in e.subjects],
        deciders=list(e.deciders),
        state=e.state,
        cash=[CashMultiple(subject=AwardSubject(s), multiple=m) for s, m in e.cash],
        effective_from=e.effective_from,
        effective_to=e.effective_to,
        source=e.source,
    )


def rule_set_type(s: RuleSet) -> RuleSetType:
    return RuleSetType(
        version=s.version,
        name=s.name,
        effective_from=s.effective_from,
        effective_to=s.effective_to,
        source=s.source,
        rules=[
            RuleType(code=r.code, message=r.message, source=r.source, numbers=dict(r.numbers))
            for r in s.rules.values()
        ],
    )


def base_salary_type(b: BaseSalary) -> BaseSalaryType:
    return BaseSalaryType(amount_vnd=b.amount_vnd, effective_from=b.effective_from, source=b.source)


async def added_base_salaries(info: Info) -> list[BaseSalary]:
    async with access.reading(info) as conn:
        return await added_salaries_of(conn)


async def working_calendar(info: Info) -> WorkingCalendar:
    async with access.reading(info) as conn:
        return await calendar_of(conn)


def _year(year: int) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput(f"Năm từ {MIN_YEAR} đến {MAX_YEAR}.")
    return year


@strawberry.type
class ReferenceQuery:
    @strawberry.field(
        description="Danh mục danh hiệu, hình thức khen thưởng có hiệu lực vào ngày `on` (mặc "
        "định: hôm nay); lọc theo đối tượng, theo cấp được quyết định."
    )
    def award_catalogue(
        self,
        info: Info,
        on: date | None = None,
        subject: AwardSubject | None = None,
        decided_by: str | None = None,
    ) -> list[CatalogueEntry]:
        principal_of(info)
        return [
            catalogue_entry(e)
            for e in entries_on(on or today())
            if (subject is None or subject.value in e.subjects)
            and (decided_by is None or e.decided_by(decided_by))
        ]

    @strawberry.field(description="Bộ quy định khen thưởng có hiệu lực vào ngày `on`.")
    def rule_set(self, info: Info, on: date | None = None) -> RuleSetType:
        principal_of(info)
        return rule_set_type(rule_set_on(on or today()))

    @strawberry.field(description="Mức lương cơ sở có hiệu lực vào ngày `on`.")
    async def base_salary(self, info: Info, on: date | None = None) -> BaseSalaryType:
        principal_of(info)
        return base_salary_type(base_salary_on(on or today(), await added_base_salaries(info)))

    @strawberry.field(
        description="Tiền thưởng của một danh hiệu, hình thức (mã hay tên) cho cá nhân hay tập "
        "thể, nếu quyết định vào ngày `on`: hệ số × mức lương cơ sở, làm tròn theo quy định."
    )
    async def award_cash(
        self, info: Info, award: str, subject: AwardSubject, on: date | None = None
    ) -> AwardCash | None:
        principal_of(info)
        day = on or today()
        entry = entry_of(award[:200])
        if entry is None or not entry.in_force(day):
            raise NotFound(award[:64], award=award[:64])
        multiple = entry.multiple(subject.value)
        if multiple is None:
            return None
        rules = rule_set_on(day)
        base = base_salary_on(day, await added_base_salaries(info))
        return AwardCash(
            code=entry.code,
            subject=subject,
            multiple=multiple,
            base_salary=base_salary_type(base),
            amount_vnd=cash_vnd(multiple, base, rules),
            rule_set_version=rules.version,
        )

    @strawberry.field(description="Lịch làm việc của năm `year`.")
    async def working_year(self, info: Info, year: int) -> WorkingYear:
        principal_of(info)
        calendar = await working_calendar(info)
        year = _year(year)
        return WorkingYear(
            year=year,
            days_off=[
                DayOffType(on=d.on, name=d.name, marked=d.marked) for d in calendar.days_off(year)
            ],
            working_weekend_days=calendar.working_weekend_days(year),
        )

    @strawberry.field(
        description="Ngày sau `start` đúng `days` ngày làm việc (không tính `start`): hạn thẩm "
        "định, hạn công khai."
    )
    async def add_working_days(self, info: Info, start: date, days: int) -> date:
        principal_of(info)
        _year(start.year)
        return (await working_calendar(info)).add_working_days(start, days)

    @strawberry.field(
        description="Các quy định riêng có hiệu lực vào ngày `on` với một đơn vị (mặc định: "
        "đơn vị mình): của chính nó và của các đơn vị cấp trên."
    )
    async def local_rules(
        self, info: Info, unit_id: strawberry.ID | None = None, on: date | None = None
    ) -> list[LocalRuleType] | None:
        principal = principal_of(info)
        unit = str(unit_id) if unit_id else principal.tenant
        async with access.reading(info) as conn:
            if not access.may_read_unit(principal, await access.relation(conn, principal, unit)):
                return None
        rows = await _read(
            info,
            "SELECT *, numbers AS numbers_text FROM thidua_rules_binding($1, $2) "
            "ORDER BY tenant_id, code",
            unit,
            on or today(),
        )
        return [
            LocalRuleType(
                id=strawberry.ID(str(r["rule_id"])),
                unit_id=strawberry.ID(r["tenant_id"]),
                code=r["code"],
                kind=r["kind"],
                message=r["message"],
                numbers=orjson.loads(r["numbers_text"]),
                effective_from=r["effective_from"],
                effective_to=r["effective_to"],
                source=r["source"],
            )
            for r in rows
        ]


def _commands(info: Info) -> AwardsCommands:
    return commands_of(info.context["runtime"])


@strawberry.type
class ReferenceMutation:
    @strawberry.mutation(
        description="Một mức lương cơ sở mới từ một ngày (quản trị Tổng Liên đoàn), với căn cứ."
    )
    async def set_base_salary(
        self, info: Info, amount_vnd: BigInt, effective_from: date, source: str
    ) -> BaseSalaryType:
        await _commands(info).set_base_salary(
            principal_of(info),
            amount_vnd=int(amount_vnd),
            effective_from=effective_from,
            source=source,
            idempotency_key=idempotency_key_of(info),
        )
        return base_salary_type(base_salary_on(effective_from, await added_base_salaries(info)))

    @strawberry.mutation(
        description="Đánh dấu một ngày nghỉ (lịch chung chưa có) hay một ngày làm bù "
        "(quản trị Tổng Liên đoàn)."
    )
    async def mark_calendar_day(
        self, info: Info, on: date, working: bool, reason: str
    ) -> WorkingYear:
        _year(on.year)  # before anything is written
        await _commands(info).mark_calendar_day(
            principal_of(info),
            on=on,
            working=working,
            reason=reason,
            idempotency_key=idempotency_key_of(info),
        )
        calendar = await working_calendar(info)
        return WorkingYear(
            year=on.year,
            days_off=[
                DayOffType(on=d.on, name=d.name, marked=d.marked)
                for d in calendar.days_off(on.year)
            ],
            working_weekend_days=calendar.working_weekend_days(on.year),
        )

    @strawberry.mutation(
        description="Một quy định riêng của đơn vị mình (LĐLĐ tỉnh, công đoàn ngành) từ một "
        "ngày: không xét (exclusion) hay tỷ lệ, số lượng (quota), với các con số và căn cứ."
    )
    async def add_local_rule(
        self,
        info: Info,
        code: str,
        kind: str,
        message: str,
        effective_from: date,
        source: str,
        numbers: JSON | None = None,
    ) -> strawberry.ID:
        given = numbers if numbers is not None else {}
        if not isinstance(given, dict):
            raise InvalidInput("numbers: một đối tượng {tên: số nguyên}.")
        rule_id = await _commands(info).add_local_rule(
            principal_of(info),
            code=code,
            kind=kind,
            message=message,
            numbers=given,
            effective_from=effective_from,
            source=source,
            idempotency_key=idempotency_key_of(info),
        )
        return strawberry.ID(str(rule_id))

    @strawberry.mutation(description="Chấm dứt một quy định riêng của đơn vị mình từ một ngày.")
    async def end_local_rule(self, info: Info, id: strawberry.ID, on: date, reason: str) -> bool:
        try:
            rule_id = uuid.UUID(str(id))
        except ValueError:
            raise NotFound(str(id)[:64], id=str(id)[:64]) from None
        await _commands(info).end_local_rule(
            principal_of(info),
            rule_id,
            on=on,
            reason=reason,
            idempotency_key=idempotency_key_of(info),
        )
        return True
