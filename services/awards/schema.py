"""GraphQL of the awards service: a unit's people (the register, one person, and the commands).

The register is read by the unit's own officers, approvers, council members and auditors, and by
the units above it (its row-level security: shared/migrations/0025_people.sql); a member's token
reads no one's personal data. An erased person reads with ``fullName`` null, ``erased`` true,
and every plain particular (gender, direct worker...) still there, so counts stay right.
"""

from __future__ import annotations

import uuid
from datetime import date
from enum import Enum
from typing import Any

import orjson
import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from services.awards.bulk import PersonRow, register_people
from services.awards.commands import AwardsCommands, commands_of
from services.awards.domain import Particulars, Personal
from shared import access
from shared.access import fetch as _read
from shared.access import fetch_one, principal_of
from shared.bulk import BulkResultType
from shared.commands import idempotency_key_of
from shared.errors import NotFound
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
from shared.text import like_escaped, search_key

MAX_PAGE = 500
_ORDER = "search_key, person_id"
_KEY = ("text", "uuid")
_COLUMNS = (
    "tenant_id, person_id, staff_number, full_name, search_key, birth_year, contacts::text AS "
    "contacts, gender, ethnic_minority, post, direct_worker, cadre, cadre_since, employed_since, "
    "status, registered_on, left_on, erased_on, history::text AS history, version, "
    "years::text AS years, transfer_to, transferred_on, received_as, arrived_from"
)


@strawberry.enum(description="Giới tính.")
class Gender(Enum):
    FEMALE = "female"
    MALE = "male"


def _gender(value: str) -> Gender | None:
    return Gender(value) if value else None  # '': not recorded yet (Person.named)


@strawberry.enum(description="Cán bộ công đoàn: không, chuyên trách, không chuyên trách.")
class UnionCadre(Enum):
    NONE = "none"
    FULL_TIME = "full_time"
    PART_TIME = "part_time"


@strawberry.enum(description="Đang ở đơn vị, đã rời đơn vị, hay đã xóa dữ liệu cá nhân.")
class PersonStatus(Enum):
    ACTIVE = "active"
    LEFT = "left"
    ERASED = "erased"
    TRANSFERRED = "transferred"


@strawberry.type(description="Một việc trong lịch sử của người lao động.")
class PersonNote:
    on: date
    what: str = strawberry.field(
        description="registered, amended, left, erased, transferred (reason: the unit gone "
        "to), arrived or returned (reason: the unit come from)."
    )
    reason: str | None


@strawberry.type(
    description="Điều quy định 10 xét với một người trong một năm: số ngày làm việc vắng mặt "
    "(không kể nghỉ thai sản) và các hình thức kỷ luật."
)
class PersonYear:
    year: int
    absent_working_days: int | None = strawberry.field(
        description="Số ngày làm việc vắng mặt trong năm; null khi chưa ghi."
    )
    disciplined: list[str] = strawberry.field(
        description="Hình thức kỷ luật trong năm: reprimand, warning, delayed_raise, "
        "removal_from_post, dismissal, expulsion."
    )


@strawberry.type(description="Một đoàn viên, người lao động của đơn vị.")
class Person:
    id: strawberry.ID
    unit_id: strawberry.ID
    staff_number: str = strawberry.field(description="Số hiệu của người trong đơn vị.")
    full_name: str | None = strawberry.field(description="Họ và tên; null khi đã xóa.")
    birth_year: int | None
    contacts: list[str]
    gender: Gender | None = strawberry.field(
        description="Giới tính; null khi chưa ghi (người được tạo cho một tên trong giao ước, sáng kiến)."
    )
    ethnic_minority: bool = strawberry.field(description="Dân tộc thiểu số.")
    post: str = strawberry.field(description="Chức vụ.")
    direct_worker: bool = strawberry.field(
        description="Lao động trực tiếp (không giữ chức vụ lãnh đạo, quản lý)."
    )
    cadre: UnionCadre
    cadre_since: date | None
    employed_since: date | None
    status: PersonStatus
    registered_on: date
    left_on: date | None
    erased_on: date | None
    history: list[PersonNote]
    years: list[PersonYear] = strawberry.field(
        description="Vắng mặt và kỷ luật theo năm (quy định 10), năm gần nhất trước."
    )
    transfer_to: strawberry.ID | None = strawberry.field(
        description="Đơn vị người này đã chuyển đến (trạng thái TRANSFERRED)."
    )
    transferred_on: date | None
    received_as: strawberry.ID | None = strawberry.field(
        description="Mã của người ấy ở đơn vị mới, khi đơn vị ấy đã tiếp nhận."
    )
    arrived_from: strawberry.ID | None = strawberry.field(
        description="Đơn vị người này chuyển từ đó đến (khi được tiếp nhận)."
    )
    version: int

    @strawberry.field(description="Dữ liệu cá nhân đã bị xóa theo yêu cầu hợp pháp.")
    def erased(self) -> bool:
        return self.status is PersonStatus.ERASED


@strawberry.type(description="Một trang danh sách người lao động; trang sau: after = endCursor.")
class PersonPage:
    total: int
    edges: list[Edge[Person]]
    page_info: PageInfo


def person_of(row: Any) -> Person:
    return Person(
        id=strawberry.ID(str(row["person_id"])),
        unit_id=strawberry.ID(row["tenant_id"]),
        staff_number=row["staff_number"],
        full_name=row["full_name"],
        birth_year=row["birth_year"],
        contacts=orjson.loads(row["contacts"]),
        gender=_gender(row["gender"]),
        ethnic_minority=row["ethnic_minority"],
        post=row["post"],
        direct_worker=row["direct_worker"],
        cadre=UnionCadre(row["cadre"]),
        cadre_since=row["cadre_since"],
        employed_since=row["employed_since"],
        status=PersonStatus(row["status"]),
        registered_on=row["registered_on"],
        left_on=row["left_on"],
        erased_on=row["erased_on"],
        history=[
            PersonNote(on=date.fromisoformat(n["on"]), what=n["what"], reason=n.get("reason"))
            for n in orjson.loads(row["history"])
        ],
        years=[
            PersonYear(
                year=int(year),
                absent_working_days=fact.get("absent_working_days"),
                disciplined=fact.get("disciplined", []),
            )
            for year, fact in sorted(orjson.loads(row["years"]).items(), reverse=True)
        ],
        transfer_to=row["transfer_to"],
        transferred_on=row["transferred_on"],
        received_as=strawberry.ID(str(row["received_as"])) if row["received_as"] else None,
        arrived_from=row["arrived_from"],
        version=row["version"],
    )


@strawberry.type(description="Một người đơn vị khác đã chuyển đến, chờ đơn vị mình tiếp nhận.")
class IncomingPerson:
    id: strawberry.ID = strawberry.field(description="Mã của người ấy ở đơn vị chuyển đi.")
    from_unit: strawberry.ID
    staff_number: str
    full_name: str | None
    gender: Gender | None = strawberry.field(
        description="Giới tính; null khi chưa ghi (người được tạo cho một tên trong giao ước, sáng kiến)."
    )
    transferred_on: date


def people_loader(info: Info) -> DataLoader[uuid.UUID, Person | None]:
    """This request's loader of people by id (those the caller may read; others None)."""
    loaders = info.context.setdefault("people_loaders", {})
    if "people" not in loaders:

        async def load(ids: list[uuid.UUID]) -> list[Person | None]:
            rows = await _read(
                info, f"SELECT {_COLUMNS} FROM people WHERE person_id = ANY ($1)", ids
            )
            found = {r["person_id"]: person_of(r) for r in rows}
            return [found.get(i) for i in ids]

        loaders["people"] = DataLoader(load_fn=load)
    return loaders["people"]


async def _person(info: Info, pid: uuid.UUID) -> Person:
    return person_of(
        await fetch_one(info, f"SELECT {_COLUMNS} FROM people WHERE person_id = $1", pid)
    )


@strawberry.type
class AwardsQuery:
    @strawberry.field(
        description="Những người đơn vị khác đã chuyển đến đơn vị mình, chưa tiếp nhận "
        "(receivePerson). Chỉ cán bộ của đơn vị nhận đọc được."
    )
    async def incoming_people(self, info: Info) -> list[IncomingPerson]:
        principal_of(info)
        rows = await _read(info, "SELECT * FROM thidua_incoming_people() LIMIT 1000")
        return [
            IncomingPerson(
                id=strawberry.ID(str(r["person_id"])),
                from_unit=strawberry.ID(r["from_unit"]),
                staff_number=r["staff_number"],
                full_name=r["full_name"],
                gender=_gender(r["gender"]),
                transferred_on=r["transferred_on"],
            )
            for r in rows
        ]

    @strawberry.field(
        description="Đoàn viên, người lao động của một đơn vị (mặc định: đơn vị mình), xếp theo "
        "tên; tìm theo tên (gõ có dấu hay không dấu) hoặc số hiệu. Đơn vị ngoài tầm: null."
    )
    async def people(
        self,
        info: Info,
        unit_id: strawberry.ID | None = None,
        search: str | None = None,
        status: PersonStatus | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> PersonPage | None:
        checked_first(first, MAX_PAGE)
        position = typed_position(after, _KEY)
        principal = principal_of(info)
        unit = str(unit_id) if unit_id else principal.tenant
        async with access.reading(info) as conn:
            relation = await access.relation(conn, principal, unit)
        if not access.may_read_unit(principal, relation):
            return None
        search = search.strip() if search else None
        key = like_escaped(search_key(search)) if search else None
        filters = (
            "tenant_id = $1"
            # A staff number in any case, as a bulk file's rows match it (services/awards/named.py).
            + (
                " AND (search_key LIKE '%' || $2 || '%' OR lower(staff_number) = lower($3))"
                if key
                else ""
            )
            + (" AND status = $4" if status else "")
        )
        unused = " AND ".join(
            [
                *(["$2::text IS NULL", "$3::text IS NULL"] if not key else []),
                *(["$4::text IS NULL"] if not status else []),
            ]
        )
        where = filters + (f" AND {unused}" if unused else "")
        args = (unit, key, search, status.value if status else None)
        total = await _read(info, f"SELECT count(*) AS n FROM people WHERE {where}", *args)
        rows = await _read(
            info,
            f"SELECT {_COLUMNS} FROM people WHERE {where} "
            f"AND {past_cursor(_ORDER, _KEY, 5, given=position is not None)} "
            f"ORDER BY {_ORDER} LIMIT $7",
            *args,
            *position_parameters(position, _KEY),
            first + 1,
        )
        edges = edges_of(rows, first, lambda r: (r["search_key"], str(r["person_id"])), person_of)
        return PersonPage(total=total[0]["n"], edges=edges, page_info=next_page(rows, first, edges))

    @strawberry.field(description="Một người lao động trong tầm đọc; ngoài tầm: null.")
    async def person(self, info: Info, id: strawberry.ID) -> Person | None:
        try:
            return await _person(info, client_uuid(id))
        except NotFound:
            return None


@planned_input
@strawberry.input(description="Thông tin một người lao động.")
class PersonInput:
    full_name: str = strawberry.field(description="Họ và tên (tối đa 300 ký tự).")
    gender: Gender
    staff_number: str = strawberry.field(
        default="", description="Số hiệu trong đơn vị (tối đa 64 ký tự); gửi lại thì không trùng."
    )
    birth_year: int | None = None
    contacts: list[str] = strawberry.field(
        default_factory=list, description="Điện thoại, thư điện tử (tối đa 5)."
    )
    ethnic_minority: bool = False
    post: str = strawberry.field(default="", description="Chức vụ.")
    direct_worker: bool = strawberry.field(
        default=False, description="Lao động trực tiếp (không giữ chức vụ lãnh đạo, quản lý)."
    )
    cadre: UnionCadre = UnionCadre.NONE
    cadre_since: date | None = None
    employed_since: date | None = None
    idempotency_key: str | None = None

    def personal(self) -> Personal:
        return Personal(self.full_name, self.birth_year, tuple(self.contacts))

    def particulars(self) -> Particulars:
        return Particulars(
            gender=self.gender.value,
            ethnic_minority=self.ethnic_minority,
            post=self.post,
            direct_worker=self.direct_worker,
            cadre=self.cadre.value,
            cadre_since=self.cadre_since,
            employed_since=self.employed_since,
        )


def _commands(info: Info) -> AwardsCommands:
    return commands_of(info.context["runtime"])


@strawberry.type
class AwardsMutation:
    @strawberry.mutation(description="Đăng ký một người lao động của đơn vị mình.")
    async def register_person(self, info: Info, input: PersonInput) -> Person:
        pid = await _commands(info).register_person(
            principal_of(info),
            staff_number=input.staff_number,
            personal=input.personal(),
            particulars=input.particulars(),
            idempotency_key=idempotency_key_of(info, input.idempotency_key),
        )
        return await _person(info, pid)

    @strawberry.mutation(
        description="Đăng ký người lao động hàng loạt (mỗi dòng cần số hiệu): dòng hợp lệ được "
        "ghi, dòng lỗi được nêu tên; gửi lại cùng các dòng thì không ghi gì thêm."
    )
    async def register_people(self, info: Info, people: list[PersonInput]) -> BulkResultType:
        rows = [
            PersonRow(n, p.staff_number, p.personal(), p.particulars())
            for n, p in enumerate(people, start=1)
        ]
        runtime = info.context["runtime"]
        result = await register_people(
            _commands(info),
            principal_of(info),
            rows,
            max_rows=runtime.settings.max_bulk_rows,
        )
        return BulkResultType.of(result)

    @strawberry.mutation(description="Sửa thông tin một người lao động của đơn vị mình.")
    async def amend_person(self, info: Info, id: strawberry.ID, input: PersonInput) -> Person:
        pid = client_uuid(id)
        await _commands(info).amend_person(
            principal_of(info),
            pid,
            personal=input.personal(),
            particulars=input.particulars(),
            idempotency_key=idempotency_key_of(info, input.idempotency_key),
        )
        return await _person(info, pid)

    @strawberry.mutation(description="Ghi nhận một người lao động đã rời đơn vị.")
    async def record_leaving(self, info: Info, id: strawberry.ID, on: date, reason: str) -> Person:
        pid = client_uuid(id)
        await _commands(info).record_leaving(
            principal_of(info), pid, on=on, reason=reason, idempotency_key=idempotency_key_of(info)
        )
        return await _person(info, pid)

    @strawberry.mutation(
        description="Chuyển một người sang đơn vị khác (chuyển sinh hoạt công đoàn) từ ngày "
        "`on`: hồ sơ ở đơn vị mình đóng lại (TRANSFERRED); đơn vị nhận tiếp nhận bằng "
        "receivePerson."
    )
    async def transfer_person(
        self, info: Info, id: strawberry.ID, to_unit_id: strawberry.ID, on: date
    ) -> Person:
        pid = client_uuid(id)
        await _commands(info).transfer_person(
            principal_of(info),
            pid,
            to_unit=str(to_unit_id)[:64],
            on=on,
            idempotency_key=idempotency_key_of(info),
        )
        return await _person(info, pid)

    @strawberry.mutation(
        description="Tiếp nhận một người đơn vị khác chuyển đến (id: mã ở đơn vị cũ, xem "
        "incomingPeople), với số hiệu ở đơn vị mình (mặc định: số hiệu cũ). Dữ liệu cá nhân đi "
        "cùng khóa của người ấy; xóa ở đơn vị mới thì hồ sơ cũ cũng đọc là đã xóa."
    )
    async def receive_person(
        self, info: Info, id: strawberry.ID, staff_number: str | None = None
    ) -> Person:
        new = await _commands(info).receive_person(
            principal_of(info),
            client_uuid(id),
            staff_number=staff_number[:200] if staff_number is not None else None,
            idempotency_key=idempotency_key_of(info),
        )
        return await _person(info, new)

    @strawberry.mutation(
        description="Ghi số ngày làm việc một người vắng mặt trong một năm, không kể nghỉ thai "
        "sản (tổng cả năm theo chấm công; ghi lại để sửa). Quy định 10 không xét danh hiệu năm "
        "đó cho người vắng từ 40 ngày làm việc trở lên."
    )
    async def set_absence(
        self, info: Info, id: strawberry.ID, year: int, working_days: int
    ) -> Person:
        pid = client_uuid(id)
        await _commands(info).set_absence(
            principal_of(info),
            pid,
            year=year,
            working_days=working_days,
            idempotency_key=idempotency_key_of(info),
        )
        return await _person(info, pid)

    @strawberry.mutation(
        description="Ghi một hình thức kỷ luật của một người vào ngày `on` (chỉ hình thức; "
        "quyết định kỷ luật để trong hồ sơ đơn vị). Quy định 10 không xét danh hiệu năm đó."
    )
    async def record_discipline(self, info: Info, id: strawberry.ID, on: date, form: str) -> Person:
        pid = client_uuid(id)
        await _commands(info).record_discipline(
            principal_of(info), pid, on=on, form=form[:64], idempotency_key=idempotency_key_of(info)
        )
        return await _person(info, pid)

    @strawberry.mutation(
        description="Xóa dữ liệu cá nhân của một người theo yêu cầu hợp pháp (nêu căn cứ): khóa "
        "của người ấy bị hủy, tên đọc là đã xóa ở mọi nơi; số liệu thống kê giữ nguyên."
    )
    async def erase_person(self, info: Info, id: strawberry.ID, legal_reason: str) -> Person:
        pid = client_uuid(id)
        await _commands(info).erase_person(
            principal_of(info),
            pid,
            legal_reason=legal_reason,
            idempotency_key=idempotency_key_of(info),
        )
        return await _person(info, pid)
