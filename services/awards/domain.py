"""The awards service's aggregates and events: pure Python, no I/O.

A unit's people (đoàn viên, người lao động) come first: the proposals, councils and decisions of
issue 14 name them. A person's stream lives in the log of the unit that registered them.

Personal data (the full name, the birth year, contacts) never enters an event in plain text: the
command seals it with the person's own key (shared/personal.py) and the events carry the sealed
text. What counts and sums need (gender, ethnic minority, direct worker, post, union cadre,
dates) stays plain, so erasing a person, which destroys their key, keeps every figure right.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from eventsourcing.domain import Aggregate, event

from shared.chunks import chunked
from shared.errors import DomainError
from shared.ids import name_uuid
from shared.text import has_control

PEOPLE_NAMESPACE = uuid.UUID("3f1c2a9e-6b7d-5e0f-9a41-7c2d8e5b6a10")

GENDERS = ("female", "male")
CADRES = ("none", "full_time", "part_time")
ACTIVE, LEFT, ERASED, TRANSFERRED = "active", "left", "erased", "transferred"

MAX_NAME = 300
MAX_POST = 300
MAX_STAFF_NUMBER = 64
MAX_CONTACTS = 5
MAX_CONTACT = 200
MAX_REASON = 2_000
OLDEST_BIRTH_YEAR = 1900
OLDEST_RECORD_YEAR = 2000
MAX_WORKING_DAYS_A_YEAR = 366
# Bộ luật Lao động 2019 Điều 124 and the union's charter: the forms a unit records, no free text.
DISCIPLINE_FORMS = (
    "reprimand",  # khiển trách
    "warning",  # cảnh cáo
    "delayed_raise",  # kéo dài thời hạn nâng lương
    "removal_from_post",  # cách chức
    "dismissal",  # sa thải
    "expulsion",  # khai trừ khỏi tổ chức Công đoàn
)


class PersonInvalid(DomainError):
    code = "PERSON_INVALID"
    message_vi = "Thông tin người lao động không hợp lệ."


class PersonAlreadyRegistered(DomainError):
    code = "PERSON_ALREADY_REGISTERED"
    message_vi = "Đơn vị đã có người mang số hiệu này."


class PersonLeftError(DomainError):
    code = "PERSON_LEFT"
    message_vi = "Người này đã rời đơn vị."


class PersonTransferredError(DomainError):
    code = "PERSON_TRANSFERRED"
    message_vi = "Người này đã chuyển sang đơn vị khác: đơn vị mới quản lý hồ sơ của họ."


class PersonIncomplete(DomainError):
    code = "PERSON_INCOMPLETE"
    message_vi = (
        "Người này mới có tên (được tạo từ giao ước hoặc sáng kiến): cần ghi giới tính và các "
        "thông tin khác (amendPerson) trước khi đề nghị khen thưởng."
    )


class PersonAmbiguous(DomainError):
    code = "PERSON_AMBIGUOUS"
    message_vi = "Đơn vị có nhiều người trùng tên này: ghi kèm số hiệu (mã) của người đó."


class PersonErasedError(DomainError):
    code = "PERSON_ERASED"
    message_vi = "Dữ liệu cá nhân của người này đã bị xóa theo yêu cầu hợp pháp."


class ReasonRequired(DomainError):
    code = "REASON_REQUIRED"
    message_vi = "Cần nêu lý do."


def person_id(unit_id: str, staff_number: str) -> uuid.UUID:
    """A person's id follows from the unit and its own staff number, so the same person sent
    twice (a file uploaded again) is one person; without a staff number, a fresh id."""
    if not staff_number:
        return uuid.uuid4()
    return name_uuid(PEOPLE_NAMESPACE, f"person:{unit_id}:{staff_number.casefold()}")


@dataclass(frozen=True, slots=True)
class Personal:
    """What is sealed: erasable, never in an event in plain text."""

    full_name: str
    birth_year: int | None = None
    contacts: tuple[str, ...] = ()

    def as_sealable(self) -> dict[str, object]:
        return {
            "full_name": self.full_name,
            "birth_year": self.birth_year,
            "contacts": list(self.contacts),
        }


@dataclass(frozen=True, slots=True)
class Particulars:
    """What stays plain: what the figures count (share of women, of direct workers, cadres)."""

    gender: str
    ethnic_minority: bool = False
    post: str = ""
    direct_worker: bool = True
    cadre: str = "none"
    cadre_since: date | None = None
    employed_since: date | None = None


# The particulars of a person made for a name alone (Person.named): none recorded yet.
UNRECORDED = Particulars(gender="", direct_worker=False)


def _no_control(error: type[DomainError], **fields: str | Sequence[str]) -> None:
    """Each field's text (or texts) holds no control character: refused with its field named."""
    for field, value in fields.items():
        texts = [value] if isinstance(value, str) else list(value)
        if any(has_control(t) for t in texts):
            raise error("Có ký tự điều khiển (không in được).", field=field)


def check_personal(personal: Personal, today: date) -> None:
    _no_control(PersonInvalid, fullName=personal.full_name, contacts=personal.contacts)
    if not personal.full_name or len(personal.full_name) > MAX_NAME:
        raise PersonInvalid(f"Họ tên: 1–{MAX_NAME} ký tự.", field="fullName")
    year = personal.birth_year
    if year is not None and not OLDEST_BIRTH_YEAR <= year <= today.year:
        raise PersonInvalid(f"Năm sinh: {OLDEST_BIRTH_YEAR}–{today.year}.", field="birthYear")
    contacts = personal.contacts
    if len(contacts) > MAX_CONTACTS or any(not c or len(c) > MAX_CONTACT for c in contacts):
        raise PersonInvalid(
            f"Liên hệ: tối đa {MAX_CONTACTS} mục, mỗi mục 1–{MAX_CONTACT} ký tự.", field="contacts"
        )


def check_particulars(particulars: Particulars, today: date) -> None:
    p = particulars
    _no_control(PersonInvalid, post=p.post)
    if p.gender not in GENDERS:
        raise PersonInvalid("Giới tính: nữ hoặc nam.", field="gender")
    if len(p.post) > MAX_POST:
        raise PersonInvalid(f"Chức vụ: tối đa {MAX_POST} ký tự.", field="post")
    if p.cadre not in CADRES:
        raise PersonInvalid("Cán bộ công đoàn: không, chuyên trách hoặc không chuyên trách.")
    if p.cadre == "none" and p.cadre_since is not None:
        raise PersonInvalid("Chỉ cán bộ công đoàn mới có ngày bắt đầu.", field="cadreSince")
    for name, day in (("cadreSince", p.cadre_since), ("employedSince", p.employed_since)):
        if day is not None and day > today:
            raise PersonInvalid("Ngày không được ở tương lai.", field=name)


def check_staff_number(staff_number: str) -> None:
    _no_control(PersonInvalid, staffNumber=staff_number)
    if len(staff_number) > MAX_STAFF_NUMBER:
        raise PersonInvalid(f"Số hiệu: tối đa {MAX_STAFF_NUMBER} ký tự.", field="staffNumber")


class Person(Aggregate):
    """A person of a unit: registered, amended, left, or erased (their key destroyed)."""

    # False for a person made for a name alone (``named``) until their particulars are
    # recorded; a class default, so that a snapshot taken before it existed reads True.
    complete: bool = True

    @staticmethod
    def create_id(unit_id: str, staff_number: str, **_: object) -> uuid.UUID:
        return person_id(unit_id, staff_number)

    @event("PersonRegistered")
    def __init__(
        self,
        unit_id: str,
        staff_number: str,
        key_id: uuid.UUID,
        sealed: str,
        gender: str,
        ethnic_minority: bool,
        post: str,
        direct_worker: bool,
        cadre: str,
        cadre_since: date | None,
        employed_since: date | None,
        registered_on: date,
    ) -> None:
        self.unit_id = unit_id
        self.staff_number = staff_number
        self.key_id = key_id
        self.registered_on = registered_on
        self.status = ACTIVE
        self.complete = bool(gender)

    @classmethod
    def register(
        cls,
        *,
        unit_id: str,
        staff_number: str,
        personal: Personal,
        particulars: Particulars,
        key_id: uuid.UUID,
        sealed: str,
        on: date,
    ) -> Person:
        """``sealed``: ``personal`` as the command sealed it with the key ``key_id`` names (a key
        of this person's own); the rules read the plain ``personal``, the event only the sealed
        text."""
        check_staff_number(staff_number)
        check_personal(personal, on)
        check_particulars(particulars, on)
        return cls(
            unit_id=unit_id,
            staff_number=staff_number,
            key_id=key_id,
            sealed=sealed,
            registered_on=on,
            **plain_particulars(particulars),
        )

    @classmethod
    def named(
        cls,
        *,
        new_id: uuid.UUID,
        unit_id: str,
        staff_number: str,
        personal: Personal,
        key_id: uuid.UUID,
        sealed: str,
        on: date,
    ) -> Person:
        """A person made for a name another record gives (a pledge, an initiative's author)
        that no one of the unit holds: only the name is known, the particulars are recorded
        later (:meth:`amend`); ``gender`` '' says so, and such a person is not yet nominated."""
        check_staff_number(staff_number)
        check_personal(personal, on)
        return cls._with_id(new_id, unit_id, staff_number, key_id, sealed, on, UNRECORDED)

    @classmethod
    def _with_id(
        cls,
        new_id: uuid.UUID,
        unit_id: str,
        staff_number: str,
        key_id: uuid.UUID,
        sealed: str,
        on: date,
        particulars: Particulars,
    ) -> Person:
        """PersonRegistered under an id the caller gives (not one from the staff number)."""
        return cls._create(
            cls.PersonRegistered,
            id=new_id,
            unit_id=unit_id,
            staff_number=staff_number,
            key_id=key_id,
            sealed=sealed,
            registered_on=on,
            **plain_particulars(particulars),
        )

    def amend(self, *, personal: Personal, particulars: Particulars, sealed: str, on: date) -> None:
        self.check_active()
        check_personal(personal, on)
        check_particulars(particulars, on)
        self._amended(
            key_id=self.key_id, sealed=sealed, amended_on=on, **plain_particulars(particulars)
        )

    @event("PersonAmended")
    def _amended(
        self,
        key_id: uuid.UUID,
        sealed: str,
        gender: str,
        ethnic_minority: bool,
        post: str,
        direct_worker: bool,
        cadre: str,
        cadre_since: date | None,
        employed_since: date | None,
        amended_on: date,
    ) -> None:
        self.complete = True  # the read model keeps the particulars themselves

    def leave(self, *, on: date, reason: str, today: date, sealed: str) -> None:
        """``sealed``: ``{"reason": reason}`` sealed with the person's key (:func:`leaving`): the
        reason is written about the person and is erased with them; the rules read it plain."""
        self.check_active()
        if on > today + timedelta(days=366):
            raise PersonInvalid("Ngày rời đơn vị: tối đa một năm sau hôm nay.", field="on")
        if not reason or len(reason) > MAX_REASON:
            raise ReasonRequired(f"(1–{MAX_REASON} ký tự)")
        if on < self.registered_on:
            raise PersonInvalid("Ngày rời đơn vị trước ngày đăng ký.", field="on")
        self._left(left_on=on, reason="", key_id=self.key_id, sealed=sealed)

    # ``reason`` is the plain text of a PersonLeft stored before reasons were sealed (v1); a
    # sealed one has it in ``sealed`` and ``reason`` empty.
    @event("PersonLeft")
    def _left(self, left_on: date, reason: str, key_id: uuid.UUID | None, sealed: str) -> None:
        self.status = LEFT

    def erase(self, *, legal_reason: str, on: date, received: bool = False) -> None:
        """Erasure on a legal request: the person's key (``key_id``) is destroyed when this is
        applied, so every sealed text in the log reads as erased. A person who left may be erased
        too, and one sent to another unit until that unit has received them (``received``)."""
        if self.status == ERASED:
            raise PersonErasedError()
        if self.status == TRANSFERRED and received:  # their key went with them: erased there
            raise PersonTransferredError()
        if not legal_reason or len(legal_reason) > MAX_REASON:
            raise ReasonRequired(f"Căn cứ pháp lý của yêu cầu xóa (1–{MAX_REASON} ký tự).")
        self._erased(key_id=self.key_id, legal_reason=legal_reason, erased_on=on)

    @event("PersonErased")
    def _erased(self, key_id: uuid.UUID, legal_reason: str, erased_on: date) -> None:
        self.status = ERASED

    def set_absence(self, *, year: int, working_days: int, today: date) -> None:
        """The working days the person was away in ``year``, maternity leave not counted (rule
        10 excepts it): the year's total from the unit's timekeeping, set again to correct it."""
        self.check_active()
        _check_year(year, today)
        if type(working_days) is not int or not 0 <= working_days <= MAX_WORKING_DAYS_A_YEAR:
            raise PersonInvalid(
                f"Số ngày làm việc vắng mặt: 0–{MAX_WORKING_DAYS_A_YEAR}.", field="workingDays"
            )
        self._absence_set(year=year, working_days=working_days)

    @event("PersonAbsenceSet")
    def _absence_set(self, year: int, working_days: int) -> None:
        pass  # the read model keeps it; a rule reads it there

    def record_discipline(self, *, on: date, form: str, today: date) -> None:
        """A disciplinary measure (kỷ luật) taken on ``on``: its form only, no free text (the
        decision itself belongs in the unit's records); it excludes the person from the year's
        titles where rule 10 says so."""
        self.check_active()
        _check_year(on.year, today)
        if on > today:
            raise PersonInvalid("Ngày kỷ luật không được ở tương lai.", field="on")
        if form not in DISCIPLINE_FORMS:
            raise PersonInvalid("Hình thức kỷ luật: " + ", ".join(DISCIPLINE_FORMS), field="form")
        self._disciplined(disciplined_on=on, form=form)

    @event("PersonDisciplined")
    def _disciplined(self, disciplined_on: date, form: str) -> None:
        pass

    def transfer(self, *, to_unit: str, on: date, today: date) -> None:
        """The person moves to another unit (chuyển sinh hoạt công đoàn): this record closes,
        and the unit they go to receives them (:meth:`arrive`, in its own log) with the same
        key, so an erasure there reaches this record too."""
        self.check_active()
        if not self.complete:  # the receiving unit registers them with their particulars
            raise PersonIncomplete()
        if to_unit == self.unit_id:
            raise PersonInvalid("Chuyển đến một đơn vị khác.", field="toUnitId")
        if not self.registered_on <= on <= today + timedelta(days=366):
            raise PersonInvalid("Ngày chuyển: từ ngày đăng ký đến một năm sau hôm nay.", field="on")
        self._transferred(to_unit=to_unit, transferred_on=on)

    @event("PersonTransferred")
    def _transferred(self, to_unit: str, transferred_on: date) -> None:
        self.status = TRANSFERRED

    @classmethod
    def arrive(
        cls,
        *,
        unit_id: str,
        staff_number: str,
        particulars: Particulars,
        key_id: uuid.UUID,
        sealed: str,
        on: date,
        from_unit: str,
        from_person: uuid.UUID,
        from_version: int,
        new_id: uuid.UUID,
    ) -> Person:
        """A person received from another unit as ``new_id`` (the id the sending record was
        marked with), registered here with the key they came with, their personal data sealed
        again by it. ``from_version``: the sending record's version, its transfer's."""
        check_staff_number(staff_number)
        check_particulars(particulars, on)
        person = cls._with_id(new_id, unit_id, staff_number, key_id, sealed, on, particulars)
        person._arrived(
            from_unit=from_unit, from_person=from_person, arrived_on=on, from_version=from_version
        )
        return person

    @event("PersonArrived")
    def _arrived(
        self,
        from_unit: str,
        from_person: uuid.UUID,
        arrived_on: date,
        from_version: int | None,
    ) -> None:
        pass  # the register notes where they came from, and closes the transfer there

    def come_back(
        self,
        *,
        particulars: Particulars,
        key_id: uuid.UUID,
        sealed: str,
        on: date,
        from_unit: str,
        from_person: uuid.UUID,
        from_version: int,
    ) -> None:
        """The person this record sent away, received back (A → B → A under the same staff
        number): the record opens again, with the particulars and the key they come back with,
        instead of a second record under the id the staff number already names. Another
        person's record under that number, or one still open, stays a refusal."""
        if self.status != TRANSFERRED or key_id != self.key_id:
            raise PersonAlreadyRegistered(self.staff_number)
        check_particulars(particulars, on)
        self._came_back(
            key_id=key_id,
            sealed=sealed,
            from_unit=from_unit,
            from_person=from_person,
            from_version=from_version,
            returned_on=on,
            **plain_particulars(particulars),
        )

    @event("PersonReturned")
    def _came_back(
        self,
        key_id: uuid.UUID,
        sealed: str,
        gender: str,
        ethnic_minority: bool,
        post: str,
        direct_worker: bool,
        cadre: str,
        cadre_since: date | None,
        employed_since: date | None,
        from_unit: str,
        from_person: uuid.UUID,
        from_version: int,
        returned_on: date,
    ) -> None:
        self.status = ACTIVE
        self.complete = True

    def check_active(self) -> None:
        if self.status == TRANSFERRED:
            raise PersonTransferredError()
        if self.status == ERASED:
            raise PersonErasedError()
        if self.status == LEFT:
            raise PersonLeftError()


def _check_year(year: int, today: date) -> None:
    if type(year) is not int or not OLDEST_RECORD_YEAR <= year <= today.year:
        raise PersonInvalid(f"Năm: {OLDEST_RECORD_YEAR}–{today.year}.", field="year")


def plain_particulars(p: Particulars) -> dict[str, object]:
    return {
        "gender": p.gender,
        "ethnic_minority": p.ethnic_minority,
        "post": p.post,
        "direct_worker": p.direct_worker,
        "cadre": p.cadre,
        "cadre_since": p.cadre_since,
        "employed_since": p.employed_since,
    }


PERSON_EVENTS: Sequence[type] = (
    Person.PersonRegistered,
    Person.PersonAmended,
    Person.PersonLeft,
    Person.PersonErased,
    Person.PersonAbsenceSet,
    Person.PersonDisciplined,
    Person.PersonTransferred,
    Person.PersonArrived,
    Person.PersonReturned,
)


# --- reference data kept by the national unit, and a federation's own rules --------------------

MAX_BASE_SALARY_VND = 1_000_000_000
MAX_SOURCE = 500
LOCAL_RULE_KINDS = ("exclusion", "quota")


class BaseSalaryInvalid(DomainError):
    code = "BASE_SALARY_INVALID"
    message_vi = "Mức lương cơ sở không hợp lệ."


class CalendarDayInvalid(DomainError):
    code = "CALENDAR_DAY_INVALID"
    message_vi = "Ngày đánh dấu trong lịch làm việc không hợp lệ."


class LocalRuleInvalid(DomainError):
    code = "LOCAL_RULE_INVALID"
    message_vi = "Quy định riêng của đơn vị không hợp lệ."


class LocalRuleEndedError(DomainError):
    code = "LOCAL_RULE_ENDED"
    message_vi = "Quy định riêng này đã hết hiệu lực."


def base_salary_stream(effective_from: date) -> uuid.UUID:
    """One stream per day a value begins: a second value for the same day is a conflict."""
    return uuid.uuid5(PEOPLE_NAMESPACE, f"base-salary:{effective_from.isoformat()}")


def calendar_stream(on: date) -> uuid.UUID:
    return uuid.uuid5(PEOPLE_NAMESPACE, f"calendar:{on.isoformat()}")


def _check_source(source: str, error: type[DomainError]) -> None:
    if not source or len(source) > MAX_SOURCE:
        raise error(f"Cần căn cứ (văn bản), 1–{MAX_SOURCE} ký tự.", field="source")


class BaseSalaryValue(Aggregate):
    """A value of the base salary (mức lương cơ sở) from a day on, set by an admin of the
    national unit; the values shipped with the product (services/awards/data) are not events."""

    @staticmethod
    def create_id(effective_from: date, **_: object) -> uuid.UUID:
        return base_salary_stream(effective_from)

    @event("BaseSalarySet")
    def __init__(self, amount_vnd: int, effective_from: date, source: str) -> None:
        self.amount_vnd = amount_vnd
        self.effective_from = effective_from

    @classmethod
    def set(
        cls,
        *,
        amount_vnd: int,
        effective_from: date,
        source: str,
        shipped: Sequence[date],
        today: date,
    ) -> BaseSalaryValue:
        if not date(2000, 1, 1) <= effective_from <= today + timedelta(days=5 * 366):
            raise BaseSalaryInvalid(
                "Ngày áp dụng: từ năm 2000 đến năm năm sau hôm nay.", field="effectiveFrom"
            )
        if not 0 < amount_vnd <= MAX_BASE_SALARY_VND:
            raise BaseSalaryInvalid("Số tiền phải dương.", field="amountVnd")
        if effective_from in shipped:
            raise BaseSalaryInvalid("Ngày này đã có mức lương cơ sở.", field="effectiveFrom")
        _check_source(source, BaseSalaryInvalid)
        return cls(amount_vnd=amount_vnd, effective_from=effective_from, source=source)


class CalendarDay(Aggregate):
    """A day an admin of the national unit marks: off (a holiday the public calendar lacks) or
    working (a Saturday worked in exchange); marked again to change it."""

    @staticmethod
    def create_id(on: date, **_: object) -> uuid.UUID:
        return calendar_stream(on)

    @event("CalendarDayMarked")
    def __init__(self, on: date, working: bool, reason: str) -> None:
        self.on = on
        self.working = working

    @classmethod
    def mark(cls, *, on: date, working: bool, reason: str) -> CalendarDay:
        if not 2000 <= on.year <= 2100:
            raise CalendarDayInvalid("Năm từ 2000 đến 2100.", field="on")
        _check_reason(reason)
        return cls(on=on, working=working, reason=reason)

    def remark(self, *, working: bool, reason: str) -> None:
        _check_reason(reason)
        self._remarked(on=self.on, working=working, reason=reason)

    @event("CalendarDayRemarked")
    def _remarked(self, on: date, working: bool, reason: str) -> None:
        self.working = working


def _check_reason(reason: str) -> None:
    if not reason or len(reason) > MAX_REASON:
        raise CalendarDayInvalid(f"Cần lý do, 1–{MAX_REASON} ký tự.", field="reason")


class LocalRule(Aggregate):
    """A federation's own rule (quy định riêng) from a day on, for the units below it: an
    exclusion (who is not considered) or a quota (how many of a title), with its source."""

    @event("LocalRuleAdded")
    def __init__(
        self,
        unit_id: str,
        code: str,
        kind: str,
        message: str,
        numbers: dict[str, int],
        effective_from: date,
        source: str,
    ) -> None:
        self.unit_id = unit_id
        self.effective_from = effective_from
        self.ended_on: date | None = None

    @classmethod
    def add(
        cls,
        *,
        unit_id: str,
        code: str,
        kind: str,
        message: str,
        numbers: dict[str, int],
        effective_from: date,
        source: str,
    ) -> LocalRule:
        if kind not in LOCAL_RULE_KINDS:
            raise LocalRuleInvalid("Loại: exclusion (không xét) hoặc quota (tỷ lệ, số lượng).")
        if not code or len(code) > 64 or not (code.isascii() and code.replace("_", "").isalnum()):
            raise LocalRuleInvalid("Mã: 1–64 chữ không dấu, số hoặc _.", field="code")
        if not message or len(message) > MAX_REASON:
            raise LocalRuleInvalid(f"Nội dung: 1–{MAX_REASON} ký tự.", field="message")
        if len(numbers) > 20 or any(
            not k
            or len(k) > 64
            or not (k.isascii() and k.replace("_", "").isalnum())
            or type(v) is not int
            or abs(v) > 10**12
            for k, v in numbers.items()
        ):
            raise LocalRuleInvalid(
                "Tối đa 20 con số, mỗi số nguyên, tên 1–64 chữ không dấu, số hoặc _.",
                field="numbers",
            )
        _check_source(source, LocalRuleInvalid)
        return cls(
            unit_id=unit_id,
            code=code,
            kind=kind,
            message=message,
            numbers=dict(numbers),
            effective_from=effective_from,
            source=source,
        )

    def end(self, *, on: date, reason: str) -> None:
        if self.ended_on is not None:
            raise LocalRuleEndedError()
        if on <= self.effective_from:
            raise LocalRuleInvalid("Ngày hết hiệu lực phải sau ngày bắt đầu.", field="on")
        if not reason or len(reason) > MAX_REASON:
            raise ReasonRequired(f"(1–{MAX_REASON} ký tự)")
        self._ended(ended_on=on, reason=reason)

    @event("LocalRuleEnded")
    def _ended(self, ended_on: date, reason: str) -> None:
        self.ended_on = ended_on


REFERENCE_EVENTS: Sequence[type] = (
    BaseSalaryValue.BaseSalarySet,
    CalendarDay.CalendarDayMarked,
    CalendarDay.CalendarDayRemarked,
)
LOCAL_RULE_EVENTS: Sequence[type] = (LocalRule.LocalRuleAdded, LocalRule.LocalRuleEnded)


# --- proposals (đề nghị khen thưởng) -----------------------------------------------------------

PROPOSAL_KINDS = ("regular", "thematic", "ad_hoc", "career")
DOCUMENT_KINDS = ("memo", "achievement_report", "council_minutes", "other")
# A dossier cannot enter appraisal without these (DOMAIN.md, Proposal's lifecycle).
REQUIRED_DOCUMENTS = ("memo", "achievement_report", "council_minutes")
DRAFT, SUBMITTED, RETURNED = "draft", "submitted", "returned"
MAX_NOMINEES = 10_000
MAX_TITLE = 500
MAX_SUMMARY = 10_000
MAX_BASIS_ITEMS = 50
MAX_DOCUMENTS = 1_000  # a forwarded proposal carries the dossiers of those it gathers


class ProposalInvalid(DomainError):
    code = "PROPOSAL_INVALID"
    message_vi = "Đề nghị khen thưởng không hợp lệ."


class ProposalNotDraft(DomainError):
    code = "PROPOSAL_NOT_DRAFT"
    message_vi = "Đề nghị đã gửi đi: không sửa được nữa."


class ProposalIncomplete(DomainError):
    code = "PROPOSAL_INCOMPLETE"
    message_vi = "Hồ sơ đề nghị chưa đủ để gửi."


class NomineeMissing(DomainError):
    code = "NOMINEE_NOT_FOUND"
    message_vi = "Không có người (tập thể) này trong đề nghị."


@dataclass(frozen=True, slots=True)
class Nominee:
    """Who is proposed for what, as the command checked it. ``who`` is ``person:<id>`` or
    ``unit:<id>`` (a collective: the unit itself or one below it)."""

    subject: str  # person, collective
    who: str
    award: str  # a catalogue code
    summary: str = ""
    campaign_id: uuid.UUID | None = None
    initiatives: tuple[uuid.UUID, ...] = ()
    earlier_titles: tuple[tuple[str, int], ...] = ()  # (catalogue code, year) the unit declares
    # A nominee a lower unit proposed, passed by this unit's council, sent on to the level that
    # may decide its award: "<proposal id>:<nominee id>" of the proposal it came in.
    forwarded_from: str = ""
    # A person's summary is about them: the event holds it only sealed with their key (key id,
    # sealed text), so that erasing them erases it; a collective's stays plain.
    sealed_summary: tuple[uuid.UUID, str] | None = None

    def summary_fields(self) -> dict[str, Any]:
        if self.sealed_summary is None:
            return {"summary": self.summary, "summary_key": None, "summary_sealed": ""}
        key_id, sealed = self.sealed_summary
        return {"summary": "", "summary_key": key_id, "summary_sealed": sealed}


def leaving(reason: str) -> dict[str, object]:
    """What a PersonLeft seals: the reason the unit wrote."""
    return {"reason": reason}


def with_sealed_reason(data: dict[str, Any]) -> dict[str, Any]:
    """Upcaster of PersonLeft v1, whose reason was plain text (before it was sealed): it stays
    as written, in the log, whatever becomes of the person."""
    data.setdefault("key_id", None)
    data.setdefault("sealed", "")
    return data


def with_sending_version(data: dict[str, Any]) -> dict[str, Any]:
    """Upcaster of PersonArrived v1, stored before a record could send its person more than
    once (PersonReturned): which of the sending record's transfers it took went without
    saying, and ``from_version`` is None."""
    data.setdefault("from_version", None)
    return data


def with_sealed_summary(data: dict[str, Any]) -> dict[str, Any]:
    """Upcaster of NomineeAdded v1, whose summary was plain text (before a person's summary was
    sealed): it stays as written, never erased."""
    data.setdefault("summary_key", None)
    data.setdefault("summary_sealed", "")
    return data


def with_sealed_summaries(data: dict[str, Any]) -> dict[str, Any]:
    """Upcaster of NomineesAdded v1: each row as :func:`with_sealed_summary` lifts one."""
    data["nominees"] = [with_sealed_summary(dict(n)) for n in data["nominees"]]
    return data


def check_proposal_fields(title: str, kind: str, topic: str, year: int, today: date) -> None:
    _no_control(ProposalInvalid, title=title, topic=topic)
    if not title or len(title) > MAX_TITLE:
        raise ProposalInvalid(f"Tên đề nghị: 1–{MAX_TITLE} ký tự.", field="title")
    if kind not in PROPOSAL_KINDS:
        raise ProposalInvalid("Loại: thường xuyên, chuyên đề, đột xuất, quá trình cống hiến.")
    if kind == "thematic" and not topic:
        raise ProposalInvalid("Khen chuyên đề cần tên chuyên đề.", field="topic")
    if len(topic) > MAX_TITLE:
        raise ProposalInvalid(f"Chuyên đề: tối đa {MAX_TITLE} ký tự.", field="topic")
    if not 2000 <= year <= today.year + 1:
        raise ProposalInvalid(f"Năm: 2000–{today.year + 1}.", field="year")


def check_nominee(nominee: Nominee) -> None:
    _no_control(ProposalInvalid, summary=nominee.summary.replace("\n", " "))
    if nominee.subject not in ("person", "collective"):
        raise ProposalInvalid("Đối tượng: cá nhân hay tập thể.", field="subject")
    if len(nominee.summary) > MAX_SUMMARY:
        raise ProposalInvalid(f"Tóm tắt thành tích: tối đa {MAX_SUMMARY} ký tự.", field="summary")
    if len(nominee.initiatives) > MAX_BASIS_ITEMS or len(nominee.earlier_titles) > MAX_BASIS_ITEMS:
        raise ProposalInvalid(f"Căn cứ: tối đa {MAX_BASIS_ITEMS} mục mỗi loại.", field="basis")


class Proposal(Aggregate):
    """A unit's proposal of awards (đề nghị khen thưởng) to its direct upper level: drafted,
    nominees added (each with the rules' findings on it), documents attached, submitted."""

    @event("ProposalDrafted")
    def __init__(
        self, unit_id: str, title: str, kind: str, topic: str, year: int, drafted_on: date
    ) -> None:
        self.unit_id = unit_id
        self.kind = kind
        self.topic = topic
        self.year = year
        self.status = DRAFT
        self.round = 0  # submissions so far: appraisal round n looks at submission n
        self.nominees: dict[str, list[str]] = {}  # nominee id → [who (person:…, unit:…), award]
        self.flagged: list[str] = []  # nominee ids a rule found fault with
        self.documents: dict[str, str] = {}  # sha256 → kind

    @classmethod
    def draft(
        cls, *, unit_id: str, title: str, kind: str, topic: str, year: int, on: date
    ) -> Proposal:
        check_proposal_fields(title, kind, topic, year, on)
        return cls(unit_id=unit_id, title=title, kind=kind, topic=topic, year=year, drafted_on=on)

    def add_nominee(self, nominee: Nominee, findings: list[dict[str, str]]) -> str:
        """``findings``: what the rules in force said of this nominee (rule, version, source,
        message); a nominee with findings is kept, shown with them, and holds the submission."""
        self.check_draft()
        check_nominee(nominee)
        if len(self.nominees) >= MAX_NOMINEES:
            raise ProposalInvalid(f"Tối đa {MAX_NOMINEES} người (tập thể) mỗi đề nghị.")
        nominee_id = str(uuid.uuid4())
        self._nominee_added(
            nominee_id=nominee_id,
            subject=nominee.subject,
            who=nominee.who,
            award=nominee.award,
            **nominee.summary_fields(),
            campaign_id=nominee.campaign_id,
            initiatives=list(nominee.initiatives),
            earlier_titles=[[code, year] for code, year in nominee.earlier_titles],
            forwarded_from=nominee.forwarded_from,
            findings=findings,
        )
        return nominee_id

    def add_nominees(self, added: Sequence[tuple[Nominee, list[dict[str, str]]]]) -> list[str]:
        """Many nominees at once, each with its findings, as :meth:`add_nominee` adds one:
        written as a few events of many nominees each (shared/chunks.py)."""
        self.check_draft()
        for nominee, _ in added:
            check_nominee(nominee)
        if len(self.nominees) + len(added) > MAX_NOMINEES:
            raise ProposalInvalid(f"Tối đa {MAX_NOMINEES} người (tập thể) mỗi đề nghị.")
        rows = [
            {
                "nominee_id": str(uuid.uuid4()),
                "subject": nominee.subject,
                "who": nominee.who,
                "award": nominee.award,
                **nominee.summary_fields(),
                "campaign_id": nominee.campaign_id,
                "initiatives": list(nominee.initiatives),
                "earlier_titles": [[code, year] for code, year in nominee.earlier_titles],
                "forwarded_from": nominee.forwarded_from,
                "findings": findings,
            }
            for nominee, findings in added
        ]
        for run in chunked(rows):
            self._nominees_added(nominees=run)
        return [str(r["nominee_id"]) for r in rows]

    @event("NomineesAdded")
    def _nominees_added(self, nominees: list[dict[str, Any]]) -> None:
        for n in nominees:
            self.nominees[str(n["nominee_id"])] = [str(n["who"]), str(n["award"])]
            if n["findings"]:
                self.flagged.append(str(n["nominee_id"]))

    @event("NomineeAdded")
    def _nominee_added(
        self,
        nominee_id: str,
        subject: str,
        who: str,
        award: str,
        summary: str,
        summary_key: uuid.UUID | None,
        summary_sealed: str,
        campaign_id: uuid.UUID | None,
        initiatives: list[uuid.UUID],
        earlier_titles: list[list[object]],
        forwarded_from: str,
        findings: list[dict[str, str]],
    ) -> None:
        self.nominees[nominee_id] = [who, award]
        if findings:
            self.flagged.append(nominee_id)

    def remove_nominee(self, nominee_id: str) -> None:
        self.check_draft()
        if nominee_id not in self.nominees:
            raise NomineeMissing(nominee_id[:64])
        self._nominee_removed(nominee_id=nominee_id)

    @event("NomineeRemoved")
    def _nominee_removed(self, nominee_id: str) -> None:
        del self.nominees[nominee_id]
        if nominee_id in self.flagged:
            self.flagged.remove(nominee_id)

    def attach(self, *, kind: str, sha256: str, name: str, size: int, media_type: str) -> None:
        self.check_draft()
        if kind not in DOCUMENT_KINDS:
            raise ProposalInvalid(
                "Loại tài liệu: memo, achievement_report, council_minutes, other.", field="kind"
            )
        if sha256 in self.documents:
            if self.documents[sha256] == kind:
                return  # the same bytes again: already in the dossier
            raise ProposalInvalid(
                f"Tài liệu này đã có trong hồ sơ, là {self.documents[sha256]}.", field="kind"
            )
        if len(self.documents) >= MAX_DOCUMENTS:
            raise ProposalInvalid(f"Tối đa {MAX_DOCUMENTS} tài liệu mỗi hồ sơ.")
        self._attached(kind=kind, sha256=sha256, name=name, size=size, media_type=media_type)

    @event("DocumentAttached")
    def _attached(self, kind: str, sha256: str, name: str, size: int, media_type: str) -> None:
        self.documents[sha256] = kind

    def submit(
        self, *, to_unit: str, on: date, due_on: date, concurrence: bool, rules: str
    ) -> None:
        """To the direct upper level (``to_unit``), with the appraisal's deadline ``due_on``."""
        self.check_draft()
        if not self.nominees:
            raise ProposalIncomplete("Chưa có người (tập thể) được đề nghị.")
        if self.flagged:
            raise ProposalIncomplete(
                f"{len(self.flagged)} người (tập thể) chưa đúng quy định: sửa hay bỏ ra trước.",
                flagged=list(self.flagged),
            )
        missing = [k for k in REQUIRED_DOCUMENTS if k not in self.documents.values()]
        if missing:
            raise ProposalIncomplete(f"Thiếu tài liệu: {', '.join(missing)}.", missing=missing)
        self._submitted(
            round=self.round + 1,
            to_unit=to_unit,
            submitted_on=on,
            due_on=due_on,
            concurrence=concurrence,
            rule_set_version=rules,
            nominee_count=len(self.nominees),
        )

    @event("ProposalSubmitted")
    def _submitted(
        self,
        round: int,
        to_unit: str,
        submitted_on: date,
        due_on: date,
        concurrence: bool,
        rule_set_version: str,
        nominee_count: int,
    ) -> None:
        self.status = SUBMITTED
        self.round = round

    def reopen(self, *, round: int, returned: list[str], on: date) -> None:
        """Its appraisal returned it for correction (round ``round``, these nominees): it is
        corrected, then submitted again as the next round; every round stays in its history."""
        if self.status != SUBMITTED or round != self.round:
            raise ProposalInvalid("Đề nghị không ở vòng thẩm định này.")
        first, *rest = chunked(list(returned))
        self._returned(round=round, returned=first, returned_on=on)
        for run in rest:
            self._return_listed(round=round, returned=run)

    @event("ProposalReturned")
    def _returned(self, round: int, returned: list[str], returned_on: date) -> None:
        self.status = RETURNED

    @event("ProposalReturnListed")
    def _return_listed(self, round: int, returned: list[str]) -> None:
        pass  # more of the round's returned nominees (shared/chunks.py)

    def proposed(self) -> list[tuple[str, str]]:
        """(who, award) of each nominee there now."""
        return [(who, award) for who, award in self.nominees.values()]

    def check_draft(self) -> None:
        """Changes are made to a draft, or to a proposal returned for correction."""
        if self.status not in (DRAFT, RETURNED):
            raise ProposalNotDraft()


PROPOSAL_EVENTS: Sequence[type] = (
    Proposal.ProposalDrafted,
    Proposal.NomineeAdded,
    Proposal.NomineeRemoved,
    Proposal.DocumentAttached,
    Proposal.ProposalSubmitted,
    Proposal.ProposalReturned,
    Proposal.ProposalReturnListed,
    Proposal.NomineesAdded,
)


# --- appraisal (thẩm định) ------------------------------------------------------------------------

ACCEPT, RETURN, REJECT = "accept", "return", "reject"
VERDICTS = (ACCEPT, RETURN, REJECT)


class AppraisalInvalid(DomainError):
    code = "APPRAISAL_INVALID"
    message_vi = "Ý kiến thẩm định không hợp lệ."
    public_context = ("field",)  # which argument: the screen marks it


class AppraisalClosed(DomainError):
    code = "APPRAISAL_CLOSED"
    message_vi = "Vòng thẩm định này đã kết thúc."


class AppraisalIncomplete(DomainError):
    code = "APPRAISAL_INCOMPLETE"
    message_vi = "Còn người (tập thể) chưa được thẩm định."


def appraisal_stream(proposal_id: uuid.UUID, round: int) -> uuid.UUID:
    return uuid.uuid5(PEOPLE_NAMESPACE, f"appraisal:{proposal_id}:{round}")


class Appraisal(Aggregate):
    """The upper level's appraisal (thẩm định) of one round of a proposal sent to it, in its own
    log: a verdict on each nominee (accept; return for correction, with reasons; reject, with
    the rule), then concluded: returned when any was returned, else completed."""

    # The council sessions the round was put to, as the log says (a class default: a snapshot
    # taken before it existed reads none).
    sessions: Sequence[uuid.UUID] = ()

    @staticmethod
    def create_id(proposal_id: uuid.UUID, round: int, **_: object) -> uuid.UUID:
        return appraisal_stream(proposal_id, round)

    @event("AppraisalOpened")
    def __init__(
        self,
        proposal_id: uuid.UUID,
        proposer: str,
        round: int,
        nominees: list[str],
        opened_on: date,
    ) -> None:
        self.proposal_id = proposal_id
        self.proposer = proposer
        self.round = round
        self.nominees = list(nominees)
        self.verdicts: dict[str, str] = {}
        self.closed = False

    @classmethod
    def open(
        cls,
        *,
        proposal_id: uuid.UUID,
        proposer: str,
        round: int,
        nominees: Sequence[str],
        opened_on: date,
    ) -> Appraisal:
        first, *rest = chunked(list(nominees))
        appraisal = cls(
            proposal_id=proposal_id,
            proposer=proposer,
            round=round,
            nominees=first,
            opened_on=opened_on,
        )
        for run in rest:
            appraisal._nominees_listed(
                proposal_id=proposal_id, proposer=proposer, round=round, nominees=run
            )
        return appraisal

    @event("AppraisalNomineesListed")
    def _nominees_listed(
        self, proposal_id: uuid.UUID, proposer: str, round: int, nominees: list[str]
    ) -> None:
        self.nominees.extend(nominees)

    def judge(self, *, nominee_id: str, verdict: str, reason: str, rule: str, on: date) -> None:
        if nominee_id not in self.nominees:
            raise NomineeMissing(nominee_id[:64])
        self._check_verdict(verdict, reason, rule)
        self._judged(
            proposal_id=self.proposal_id,
            proposer=self.proposer,
            round=self.round,
            nominee_id=nominee_id,
            verdict=verdict,
            reason=reason,
            rule=rule,
            judged_on=on,
        )

    @event("NomineeAppraised")
    def _judged(
        self,
        proposal_id: uuid.UUID,
        proposer: str,
        round: int,
        nominee_id: str,
        verdict: str,
        reason: str,
        rule: str,
        judged_on: date,
    ) -> None:
        self.verdicts[nominee_id] = verdict

    def _check_verdict(self, verdict: str, reason: str, rule: str) -> None:
        if self.closed:
            raise AppraisalClosed()
        if verdict not in VERDICTS:
            raise AppraisalInvalid("Ý kiến: accept, return hay reject.", field="verdict")
        if verdict != ACCEPT and not reason:
            raise ReasonRequired("Trả lại hay không đồng ý cần nêu lý do.")
        if verdict == ACCEPT and rule:
            raise AppraisalInvalid("Đồng ý thì không nêu quy định vi phạm.", field="rule")
        if len(reason) > MAX_REASON or len(rule) > 64:
            raise AppraisalInvalid(f"Lý do: tối đa {MAX_REASON} ký tự.", field="reason")

    def judge_many(
        self, *, nominees: Sequence[str], verdict: str, reason: str, rule: str, on: date
    ) -> None:
        """One verdict on many nominees at once (the office's bulk screen): checked as
        :meth:`judge` checks one, written as a few events of many nominees each."""
        known = set(self.nominees)
        missing = [n for n in nominees if n not in known]
        if missing:
            raise NomineeMissing(missing[0][:64])
        self._check_verdict(verdict, reason, rule)
        if not nominees:
            return  # none: checked all the same, nothing to record
        for run in chunked(list(nominees)):
            self._judged_many(
                proposal_id=self.proposal_id,
                proposer=self.proposer,
                round=self.round,
                nominees=run,
                verdict=verdict,
                reason=reason,
                rule=rule,
                judged_on=on,
            )

    @event("NomineesAppraised")
    def _judged_many(
        self,
        proposal_id: uuid.UUID,
        proposer: str,
        round: int,
        nominees: list[str],
        verdict: str,
        reason: str,
        rule: str,
        judged_on: date,
    ) -> None:
        for nominee in nominees:
            self.verdicts[nominee] = verdict

    def conclude(self, *, on: date) -> None:
        if self.closed:
            raise AppraisalClosed()
        waiting = [n for n in self.nominees if n not in self.verdicts]
        if waiting:
            raise AppraisalIncomplete(f"({len(waiting)})", waiting=waiting[:20])
        returned = [n for n in self.nominees if self.verdicts[n] == RETURN]
        head = {"proposal_id": self.proposal_id, "proposer": self.proposer, "round": self.round}
        if returned:
            first, *rest = chunked(returned)
            self._sent_back(**head, returned=first, concluded_on=on)
            for run in rest:
                self._outcome_listed(**head, accepted=[], rejected=[], returned=run)
            return
        first, *rest = chunked([(n, self.verdicts[n]) for n in self.nominees])
        self._completed(**head, **_outcome(first), concluded_on=on)
        for run in rest:
            self._outcome_listed(**head, **_outcome(run), returned=[])

    @event("AppraisalOutcomeListed")
    def _outcome_listed(
        self,
        proposal_id: uuid.UUID,
        proposer: str,
        round: int,
        accepted: list[str],
        rejected: list[str],
        returned: list[str],
    ) -> None:
        pass  # more of the concluded round's outcome (shared/chunks.py)

    @event("AppraisalReturned")
    def _sent_back(
        self,
        proposal_id: uuid.UUID,
        proposer: str,
        round: int,
        returned: list[str],
        concluded_on: date,
    ) -> None:
        self.closed = True

    @event("AppraisalCompleted")
    def _completed(
        self,
        proposal_id: uuid.UUID,
        proposer: str,
        round: int,
        accepted: list[str],
        rejected: list[str],
        concluded_on: date,
    ) -> None:
        self.closed = True

    def put_to_council(self, *, session_id: uuid.UUID, on: date) -> None:
        """The round's accepted nominees go before a council session of this unit. Written in
        the session's own append: two sessions convened at once on one proposal meet on this
        stream's version, and the second, deciding again, finds the first's items."""
        if not self.closed:
            raise AppraisalIncomplete("(vòng thẩm định chưa kết thúc)")
        self._put_to_council(
            proposal_id=self.proposal_id, round=self.round, session_id=session_id, on=on
        )

    @event("AppraisalPutToCouncil")
    def _put_to_council(
        self, proposal_id: uuid.UUID, round: int, session_id: uuid.UUID, on: date
    ) -> None:
        self.sessions = [*self.sessions, session_id]  # the session's own stream holds the rest


def _outcome(verdicts: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    return {
        "accepted": [n for n, v in verdicts if v == ACCEPT],
        "rejected": [n for n, v in verdicts if v == REJECT],
    }


APPRAISAL_EVENTS: Sequence[type] = (
    Appraisal.AppraisalOpened,
    Appraisal.NomineeAppraised,
    Appraisal.AppraisalReturned,
    Appraisal.AppraisalCompleted,
    Appraisal.AppraisalNomineesListed,
    Appraisal.AppraisalOutcomeListed,
    Appraisal.NomineesAppraised,
    Appraisal.AppraisalPutToCouncil,
)


# --- the council (Hội đồng Thi đua - Khen thưởng) ---------------------------------------------

OPEN_BALLOT, SECRET_BALLOT = "open", "secret"
CHOICES = ("yes", "no", "abstain")
MAX_MEMBERS = 100
MAX_ITEMS = 10_000


class CouncilInvalid(DomainError):
    code = "COUNCIL_INVALID"
    message_vi = "Phiên họp Hội đồng không hợp lệ."


class NotACouncilMember(DomainError):
    code = "NOT_A_COUNCIL_MEMBER"
    message_vi = "Người này không là thành viên Hội đồng của phiên họp."


class Recused(DomainError):
    code = "COUNCIL_RECUSED"
    message_vi = "Thành viên phải tránh biểu quyết: là người được đề nghị, hay cùng đơn vị."


class AlreadyVoted(DomainError):
    code = "ALREADY_VOTED"
    message_vi = "Thành viên đã biểu quyết mục này."


class CouncilClosed(DomainError):
    code = "COUNCIL_CLOSED"
    message_vi = "Phiên họp đã kết thúc."


@dataclass(frozen=True, slots=True)
class Member:
    """A council member: the subject their token carries, and the person and unit they are,
    which decide their recusals."""

    subject: str
    person_id: str = ""
    unit_id: str = ""


@dataclass(frozen=True, slots=True)
class CouncilItem:
    """A nominee the council votes on (accepted by the appraisal)."""

    item_id: str
    proposal_id: str
    proposer: str
    nominee_id: str
    who: str  # person:<id>, unit:<id>
    unit_of: str  # the unit the nominee belongs to (a person's, or the collective itself)
    award: str


def recused_from(members: Sequence[Member], item: CouncilItem) -> list[str]:
    """Who may not vote on ``item``: the nominee, and any member of the nominee's unit."""
    return [
        m.subject
        for m in members
        if (m.person_id and item.who == f"person:{m.person_id}")
        or (m.unit_id and m.unit_id == item.unit_of)
    ]


class CouncilSession(Aggregate):
    """A session of the unit's council: its members and quorum, an open or a secret ballot, the
    nominees it votes on; each member's vote recorded (on a secret ballot, that they voted, never
    how: the choices go to the ballot box, counted when the session concludes)."""

    @event("CouncilConvened")
    def __init__(
        self,
        unit_id: str,
        title: str,
        meets_on: date,
        ballot: str,
        quorum: int,
        members: list[dict[str, str]],
        items: list[dict[str, object]],
    ) -> None:
        self.unit_id = unit_id
        self.meets_on = meets_on
        self.ballot = ballot
        self.quorum = quorum
        self.members = [str(m["subject"]) for m in members]
        self.recused: dict[str, list[str]] = {}
        self.voted: dict[str, list[str]] = {}
        self._add_items(items)
        # An open ballot's counts (a secret ballot's are in the ballot box, outside the log).
        self.open_tally: dict[str, dict[str, int]] = {}
        self.closed = False
        self.passed: list[str] = []
        self.settled: list[str] = []  # passed items decided, or forwarded upward

    def _add_items(self, items: list[dict[str, object]]) -> None:
        for i in items:
            self.recused[str(i["item_id"])] = list(i["recused"])  # type: ignore[call-overload]
            self.voted[str(i["item_id"])] = []

    @event("CouncilItemsListed")
    def _items_listed(self, items: list[dict[str, object]]) -> None:
        self._add_items(items)

    @classmethod
    def convene(
        cls,
        *,
        unit_id: str,
        title: str,
        meets_on: date,
        ballot: str,
        quorum: int,
        members: Sequence[Member],
        items: Sequence[CouncilItem],
    ) -> CouncilSession:
        if not title or len(title) > MAX_TITLE:
            raise CouncilInvalid(f"Tên phiên họp: 1–{MAX_TITLE} ký tự.", field="title")
        if ballot not in (OPEN_BALLOT, SECRET_BALLOT):
            raise CouncilInvalid("Biểu quyết công khai (open) hay bỏ phiếu kín (secret).")
        subjects = [m.subject for m in members]
        if not members or len(members) > MAX_MEMBERS or len(set(subjects)) != len(subjects):
            raise CouncilInvalid(
                f"Thành viên: 1–{MAX_MEMBERS} người, không trùng.", field="members"
            )
        if any(not s or len(s) > 200 or has_control(s) for s in subjects) or has_control(title):
            raise CouncilInvalid("Mỗi thành viên cần định danh (subject).", field="members")
        if not 1 <= quorum <= len(members):
            raise CouncilInvalid("Số tối thiểu có mặt: từ 1 đến số thành viên.", field="quorum")
        if not items or len(items) > MAX_ITEMS:
            raise CouncilInvalid("Cần ít nhất một người (tập thể) để biểu quyết.", field="items")
        first, *rest = chunked(
            [
                {
                    "item_id": i.item_id,
                    "proposal_id": i.proposal_id,
                    "proposer": i.proposer,
                    "nominee_id": i.nominee_id,
                    "who": i.who,
                    "unit_of": i.unit_of,
                    "award": i.award,
                    "recused": recused_from(members, i),
                }
                for i in items
            ]
        )
        session = cls(
            unit_id=unit_id,
            title=title,
            meets_on=meets_on,
            ballot=ballot,
            quorum=quorum,
            members=[
                {"subject": m.subject, "person_id": m.person_id, "unit_id": m.unit_id}
                for m in members
            ],
            items=first,
        )
        for run in rest:
            session._items_listed(items=run)
        return session

    def check_voter(self, voter: str) -> None:
        """Whether ``voter`` may vote in this session at all, before any item is named (a vote
        on "every item left" of a concluded session is COUNCIL_CLOSED, not none)."""
        if self.closed:
            raise CouncilClosed()
        if voter not in self.members:
            raise NotACouncilMember()

    def check_vote(self, voter: str, item_id: str, choice: str, on: date) -> None:
        if self.closed:
            raise CouncilClosed()
        self._check_met(on)
        if voter not in self.members:
            raise NotACouncilMember()
        if item_id not in self.voted:
            raise NomineeMissing(item_id[:64])
        if choice not in CHOICES:
            raise CouncilInvalid("Biểu quyết: yes, no hay abstain.", field="choice")
        if voter in self.recused[item_id]:
            raise Recused()
        if voter in self.voted[item_id]:
            raise AlreadyVoted()

    def _check_met(self, on: date) -> None:
        """Nothing is voted or counted before the day the council meets (rule DISCLOSURE's
        window was counted to that day)."""
        if on < self.meets_on:
            raise CouncilInvalid(f"Hội đồng họp ngày {self.meets_on.isoformat()}.", field="on")

    def vote(self, *, voter: str, item_id: str, choice: str, on: date) -> None:
        """On an open ballot: who voted how."""
        self.check_vote(voter, item_id, choice, on)
        if self.ballot != OPEN_BALLOT:
            raise CouncilInvalid("Phiên bỏ phiếu kín: phiếu vào hòm phiếu.")
        self._voted(item_id=item_id, voter=voter, choice=choice)

    @event("VoteCast")
    def _voted(self, item_id: str, voter: str, choice: str) -> None:
        self._count(item_id, voter, choice)

    def _count(self, item_id: str, voter: str, choice: str) -> None:
        self.voted[item_id].append(voter)
        counts = self.open_tally.setdefault(item_id, {})
        counts[choice] = counts.get(choice, 0) + 1

    def cast_ballot(self, *, voter: str, item_id: str, choice: str, on: date) -> None:
        """On a secret ballot: that ``voter`` voted on ``item_id``; the choice is not in the
        event (the command counts it in the ballot box, without the voter)."""
        self.check_vote(voter, item_id, choice, on)
        if self.ballot != SECRET_BALLOT:
            raise CouncilInvalid("Phiên biểu quyết công khai: ghi rõ lựa chọn.")
        self._ballot_cast(item_id=item_id, voter=voter)

    @event("BallotCast")
    def _ballot_cast(self, item_id: str, voter: str) -> None:
        self.voted[item_id].append(voter)

    def vote_many(self, *, voter: str, items: Sequence[str], choice: str, on: date) -> None:
        """One member's same vote on many items (on an open ballot, with the choice; on a secret
        one, only that they voted: the command counts the choices in the ballot box), each
        checked as one vote is, written as a few events of many items each."""
        if len(set(items)) != len(items):
            raise CouncilInvalid("Một mục được nêu hai lần.", field="items")
        for item in items:
            self.check_vote(voter, item, choice, on)
        for run in chunked(list(items)):
            if self.ballot == OPEN_BALLOT:
                self._votes_cast(voter=voter, choice=choice, items=run)
            else:
                self._ballots_cast(voter=voter, items=run)

    @event("VotesCast")
    def _votes_cast(self, voter: str, choice: str, items: list[str]) -> None:
        for item in items:
            self._count(item, voter, choice)

    @event("BallotsCast")
    def _ballots_cast(self, voter: str, items: list[str]) -> None:
        for item in items:
            self.voted[item].append(voter)

    def conclude(
        self, *, tally: dict[str, dict[str, int]], more_than_percent: int, on: date
    ) -> None:
        """The session's results, item by item: ``tally`` (yes, no, abstain) counted from the
        votes or the ballot box. An item passes when enough members voted (the quorum) and its
        yes votes are more than ``more_than_percent`` of the members not recused from it."""
        if self.closed:
            raise CouncilClosed()
        self._check_met(on)
        results = []
        for item_id, voters in self.voted.items():
            counts = tally.get(item_id, {})
            eligible = len(self.members) - len(self.recused[item_id])
            yes = int(counts.get("yes", 0))
            if sum(int(v) for v in counts.values()) != len(voters):
                raise CouncilInvalid("Số phiếu không khớp số người đã bỏ phiếu.")
            passed = (
                len(voters) >= min(self.quorum, eligible)
                and yes * 100 > more_than_percent * eligible
            )
            results.append(
                {
                    "item_id": item_id,
                    "yes": yes,
                    "no": int(counts.get("no", 0)),
                    "abstain": int(counts.get("abstain", 0)),
                    "voters": len(voters),
                    "eligible": eligible,
                    "passed": passed,
                }
            )
        first, *rest = chunked(results)
        self._concluded(results=first, concluded_on=on)
        for run in rest:
            self._results_listed(results=run)

    @event("CouncilConcluded")
    def _concluded(self, results: list[dict[str, object]], concluded_on: date) -> None:
        self.closed = True
        self.passed = [str(r["item_id"]) for r in results if r["passed"]]

    @event("CouncilResultsListed")
    def _results_listed(self, results: list[dict[str, object]]) -> None:
        self.passed.extend(str(r["item_id"]) for r in results if r["passed"])

    def unsettled(self) -> list[str]:
        """The passed items neither decided nor forwarded yet, in the order they passed."""
        settled = set(self.settled)
        return [i for i in self.passed if i not in settled]

    def settle(
        self,
        items: Sequence[str],
        *,
        decision_id: uuid.UUID | None = None,
        forwarded_in: uuid.UUID | None = None,
    ) -> None:
        """These passed items are decided (``decision_id``) or forwarded upward in a proposal
        of this unit (``forwarded_in``): each at most once."""
        if not self.closed:
            raise CouncilInvalid("Phiên họp chưa kết thúc.")
        passed, settled = set(self.passed), set(self.settled)  # lists searched made it n²
        if not items or any(i not in passed for i in items):
            raise CouncilInvalid("Chỉ người (tập thể) Hội đồng đã đề nghị.", field="items")
        if len(set(items)) != len(items):
            raise CouncilInvalid("Một mục được nêu hai lần.", field="items")
        done = [i for i in items if i in settled]
        if done:
            raise CouncilInvalid("Đã quyết định hay chuyển lên rồi.", items=done[:20])
        for run in chunked(list(items)):  # one event a run: settling is additive
            self._settled(items=run, decision_id=decision_id, forwarded_in=forwarded_in)

    @event("CouncilItemsSettled")
    def _settled(
        self, items: list[str], decision_id: uuid.UUID | None, forwarded_in: uuid.UUID | None
    ) -> None:
        self.settled.extend(items)


COUNCIL_EVENTS: Sequence[type] = (
    CouncilSession.CouncilConvened,
    CouncilSession.VoteCast,
    CouncilSession.BallotCast,
    CouncilSession.CouncilConcluded,
    CouncilSession.CouncilItemsSettled,
    CouncilSession.CouncilItemsListed,
    CouncilSession.CouncilResultsListed,
    CouncilSession.VotesCast,
    CouncilSession.BallotsCast,
)


# --- decisions (quyết định khen thưởng) ---------------------------------------------------------

MAX_SUFFIX = 40
DEFAULT_SUFFIX = "QĐ-KT"


class DecisionInvalid(DomainError):
    code = "DECISION_INVALID"
    message_vi = "Quyết định khen thưởng không hợp lệ."


class NotCompetent(DomainError):
    code = "NOT_COMPETENT"
    message_vi = "Đơn vị không có thẩm quyền quyết định hình thức này: chuyển đề nghị lên cấp trên."


def series_stream(unit_id: str) -> uuid.UUID:
    return uuid.uuid5(PEOPLE_NAMESPACE, f"decision-series:{unit_id}")


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a decision awards what, with the cash computed by the rules in force that day."""

    item_id: str
    proposal_id: str
    proposer: str
    nominee_id: str
    who: str
    subject: str
    award: str
    kind: str  # the proposal's: regular, thematic, ad_hoc, career
    cash_vnd: int
    # The cash multiple in hundredths (0.3 → 30): the log holds no floats (shared/canonical.py).
    multiple_hundredths: int | None
    year: int | None = None  # the year the award is for (the proposal's), not the decision's
    topic: str = ""  # a thematic award's topic (the proposal's): rule 6 counts per topic
    # A person's particulars as the decision found them (None: none found; a collective has
    # none): the figures count the women and direct workers awarded from the decision's own
    # event, never from what a person's record says when a reader gets to it.
    woman: bool | None = None
    direct_worker: bool | None = None


class DecisionSeries(Aggregate):
    """A unit's numbering of its decisions: one gapless series a year (1, 2, 3… from each 1
    January), and the suffix its numbers carry (``123/QĐ-LĐLĐ``). A decision takes its number in
    the same append as its own event: a number is never taken without its decision, nor twice
    (two decisions at once conflict here, and the second takes the next number)."""

    @staticmethod
    def create_id(unit_id: str, **_: object) -> uuid.UUID:
        return series_stream(unit_id)

    @event("DecisionSeriesOpened")
    def __init__(self, unit_id: str, suffix: str) -> None:
        self.unit_id = unit_id
        self.suffix = suffix
        self.last: dict[str, int] = {}  # year → the last number taken

    @classmethod
    def open(cls, *, unit_id: str, suffix: str = DEFAULT_SUFFIX) -> DecisionSeries:
        _check_suffix(suffix)
        return cls(unit_id=unit_id, suffix=suffix)

    def set_suffix(self, suffix: str) -> None:
        _check_suffix(suffix)
        self._suffix_set(suffix=suffix)

    @event("DecisionSuffixSet")
    def _suffix_set(self, suffix: str) -> None:
        self.suffix = suffix

    def take(self, *, year: int, decision_id: uuid.UUID) -> tuple[int, str]:
        number = self.last.get(str(year), 0) + 1
        code = f"{number}/{self.suffix}"
        self._taken(year=year, number=number, code=code, decision_id=decision_id)
        return number, code

    @event("DecisionNumberTaken")
    def _taken(self, year: int, number: int, code: str, decision_id: uuid.UUID) -> None:
        self.last[str(year)] = number


def _check_suffix(suffix: str) -> None:
    if not suffix or len(suffix) > MAX_SUFFIX or "/" in suffix:
        raise DecisionInvalid(f"Ký hiệu: 1–{MAX_SUFFIX} ký tự, không có '/'.", field="suffix")


class Decision(Aggregate):
    """A decision of awards (quyết định khen thưởng): numbered in its unit's yearly series,
    dated, signed, naming its recipients with their title or form, kind and cash."""

    @event("DecisionIssued")
    def __init__(
        self,
        unit_id: str,
        unit_name: str,
        year: int,
        number: int,
        code: str,
        title: str,
        decided_on: date,
        signer: str,
        council_session: uuid.UUID | None,
        rule_set_version: str,
        base_salary_vnd: int,
        recipients: list[dict[str, object]],
    ) -> None:
        self.unit_id = unit_id
        self.code = code
        self.recipients = [str(r["item_id"]) for r in recipients]
        self.revoked: list[str] = []

    @event("DecisionRecipientsListed")
    def _recipients_listed(self, recipients: list[dict[str, object]]) -> None:
        self.recipients.extend(str(r["item_id"]) for r in recipients)

    def revoke(self, **kwargs: Any) -> None:
        _decision_revoke(self, **kwargs)

    @event("AwardRevoked")
    def _revoked(
        self,
        item_id: str,
        ground: str,
        reason: str,
        recovered_cash_vnd: int,
        recovered_items: list[str],
        revoked_on: date,
    ) -> None:
        self.revoked.append(item_id)

    @classmethod
    def issue(
        cls,
        *,
        decision_id: uuid.UUID,
        unit_id: str,
        unit_name: str,
        number: int,
        code: str,
        title: str,
        on: date,
        signer: str,
        council_session: uuid.UUID | None,
        rule_set_version: str,
        base_salary_vnd: int,
        recipients: Sequence[Recipient],
    ) -> Decision:
        if not title or len(title) > MAX_TITLE or has_control(title):
            raise DecisionInvalid(f"Trích yếu: 1–{MAX_TITLE} ký tự.", field="title")
        if not recipients:
            raise DecisionInvalid("Quyết định cần ít nhất một người (tập thể) được khen.")
        if not signer:
            raise DecisionInvalid("Cần người ký.", field="signer")
        first, *rest = chunked(
            [
                {
                    "item_id": r.item_id,
                    "proposal_id": r.proposal_id,
                    "proposer": r.proposer,
                    "nominee_id": r.nominee_id,
                    "who": r.who,
                    "subject": r.subject,
                    "award": r.award,
                    "kind": r.kind,
                    "cash_vnd": r.cash_vnd,
                    "multiple_hundredths": r.multiple_hundredths,
                    "year": r.year,
                    "topic": r.topic,
                    **_particulars_of(r),
                }
                for r in recipients
            ]
        )
        # Its id is given (eventsourcing's own constructor): the series took its number for it.
        decision = cls._create(
            cls.DecisionIssued,
            id=decision_id,
            unit_id=unit_id,
            unit_name=unit_name,
            year=on.year,
            number=number,
            code=code,
            title=title,
            decided_on=on,
            signer=signer,
            council_session=council_session,
            rule_set_version=rule_set_version,
            base_salary_vnd=base_salary_vnd,
            recipients=first,
        )
        for run in rest:
            decision._recipients_listed(recipients=run)
        return decision


def _particulars_of(r: Recipient) -> dict[str, object]:
    """A person's, always (null: none found, counted as unrecorded by every reader alike)."""
    if not r.who.startswith("person:"):
        return {}
    return {"woman": r.woman, "direct_worker": r.direct_worker}


REVOCATION_GROUNDS = (
    "false_declaration",  # khai man
    "forged_dossier",  # giả mạo hồ sơ
    "unlawful_appraisal_or_proposal",  # thẩm định, đề nghị trái pháp luật
    "standard_not_met",  # phát hiện sau là không đạt tiêu chuẩn
)


class RevocationInvalid(DomainError):
    code = "REVOCATION_INVALID"
    message_vi = "Hủy bỏ khen thưởng không hợp lệ."


def _decision_revoke(
    self: Decision,
    *,
    item_id: str,
    ground: str,
    reason: str,
    recovered_cash_vnd: int,
    recovered_items: list[str],
    on: date,
) -> None:
    """A recipient's award revoked (hủy bỏ), only on one of the four legal grounds, with what
    was recovered; the awards that leaned on it are flagged for review when it is applied."""
    if item_id not in self.recipients:
        raise NomineeMissing(item_id[:64])
    if item_id in self.revoked:
        raise RevocationInvalid("Đã hủy bỏ rồi.")
    if ground not in REVOCATION_GROUNDS:
        raise RevocationInvalid(
            "Căn cứ: khai man, giả mạo hồ sơ, thẩm định hay đề nghị trái pháp luật, hoặc không "
            "đạt tiêu chuẩn.",
            field="ground",
        )
    if not reason or len(reason) > MAX_REASON:
        raise ReasonRequired(f"(1–{MAX_REASON} ký tự)")
    if not 0 <= recovered_cash_vnd <= 10**12 or len(recovered_items) > 50:
        raise RevocationInvalid("Tiền, hiện vật thu hồi không hợp lệ.", field="recovered")
    if any(not i or len(i) > 500 or has_control(i) for i in recovered_items):
        raise RevocationInvalid("Hiện vật thu hồi: mỗi mục 1–500 ký tự.", field="recoveredItems")
    self._revoked(
        item_id=item_id,
        ground=ground,
        reason=reason,
        recovered_cash_vnd=recovered_cash_vnd,
        recovered_items=list(recovered_items),
        revoked_on=on,
    )


DECISION_EVENTS: Sequence[type] = (
    DecisionSeries.DecisionSeriesOpened,
    DecisionSeries.DecisionSuffixSet,
    DecisionSeries.DecisionNumberTaken,
    Decision.DecisionIssued,
    Decision.AwardRevoked,
    Decision.DecisionRecipientsListed,
)


# --- disclosure (công khai) -----------------------------------------------------------------------


class Disclosure(Aggregate):
    """A list of nominees published to the unit's subtree before its council meets (rule
    DISCLOSURE: state honours, at least so many working days before)."""

    @event("NomineesDisclosed")
    def __init__(
        self,
        unit_id: str,
        title: str,
        published_on: date,
        council_on: date,
        items: list[dict[str, str]],
    ) -> None:
        self.unit_id = unit_id
        self.published_on = published_on
        self.items = [str(i["item_id"]) for i in items]

    @event("DisclosedNomineesListed")
    def _listed(self, items: list[dict[str, str]]) -> None:
        self.items.extend(str(i["item_id"]) for i in items)

    @classmethod
    def publish(
        cls, *, unit_id: str, title: str, on: date, council_on: date, items: Sequence[CouncilItem]
    ) -> Disclosure:
        if not title or len(title) > MAX_TITLE or has_control(title):
            raise CouncilInvalid(f"Tên danh sách: 1–{MAX_TITLE} ký tự.", field="title")
        if council_on <= on:
            raise CouncilInvalid("Ngày họp Hội đồng phải sau ngày công khai.", field="councilOn")
        if not items:
            raise CouncilInvalid("Danh sách công khai trống.")
        first, *rest = chunked(
            [
                {
                    "item_id": i.item_id,
                    "proposal_id": i.proposal_id,
                    "proposer": i.proposer,
                    "nominee_id": i.nominee_id,
                    "who": i.who,
                    "unit_of": i.unit_of,
                    "award": i.award,
                }
                for i in items
            ]
        )
        disclosure = cls(
            unit_id=unit_id, title=title, published_on=on, council_on=council_on, items=first
        )
        for run in rest:
            disclosure._listed(items=run)
        return disclosure


DISCLOSURE_EVENTS: Sequence[type] = (
    Disclosure.NomineesDisclosed,
    Disclosure.DisclosedNomineesListed,
)
