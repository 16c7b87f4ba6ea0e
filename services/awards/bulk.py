"""A unit's people in bulk: from a GraphQL list or an uploaded CSV or XLSX file
(services/awards/uploads.py), thousands in one call.

Every row needs the unit's own staff number: a person's id follows from it, so a row sent again
(the same file uploaded twice) is left as it is, and the call writes nothing for it. Each row is
checked on its own; the good ones are registered a chunk at a time (one append each), every bad
one is named by its row number with its error's code and message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import IO

from services.awards.commands import AwardsCommands, cleaned_particulars, cleaned_personal
from services.awards.domain import (
    Particulars,
    Personal,
    PersonInvalid,
    check_particulars,
    check_personal,
    check_staff_number,
)
from shared.auth import Principal
from shared.bulk import MAX_ERRORS_SHOWN, BulkResult, BulkTooLarge, RowError
from shared.errors import DomainError
from shared.text import clean, has_control, search_key
from shared.uploads import TableLimits, read_records

CHUNK = 1_000  # people a command registers at once


class DuplicateRow(DomainError):
    code = "PERSON_DUPLICATE_ROW"
    message_vi = "Dòng này trùng số hiệu với một dòng trước."


@dataclass(frozen=True, slots=True)
class PersonRow:
    """A row as it was given: ``row`` is its number as its sender sees it (a file's line, the
    header being line 1; a list's position from 1)."""

    row: int
    staff_number: str
    personal: Personal
    particulars: Particulars


async def register_people(
    commands: AwardsCommands,
    actor: Principal,
    rows: Sequence[PersonRow],
    *,
    max_rows: int,
    refused: Sequence[RowError] = (),
) -> BulkResult:
    """``rows`` checked, the good ones registered; ``refused``: rows a file reader could not
    read at all (a date it cannot tell), reported with the others."""
    received = len(rows) + len(refused)
    if received > max_rows:
        raise BulkTooLarge(f"{received} > {max_rows}.", limit=max_rows)
    good, errors = check_rows(rows, commands.clock())
    written = unchanged = 0
    for start in range(0, len(good), CHUNK):
        w, u = await commands.register_many(actor, good[start : start + CHUNK])
        written, unchanged = written + w, unchanged + u
    errors = sorted([*refused, *errors], key=lambda e: e.row)
    return BulkResult(
        received=received,
        written=written,
        unchanged=unchanged,
        error_count=len(errors),
        errors=errors[:MAX_ERRORS_SHOWN],
    )


def check_rows(
    rows: Iterable[PersonRow], on: date
) -> tuple[list[tuple[str, Personal, Particulars]], list[RowError]]:
    """Every row cleaned and checked by the domain's rules, repeats of a staff number within
    the call named; nothing read or written."""
    good: list[tuple[str, Personal, Particulars]] = []
    errors: list[RowError] = []
    first_row: dict[str, int] = {}
    for given in rows:
        try:
            staff = clean(given.staff_number)
            if not staff:
                raise PersonInvalid(
                    "Cần số hiệu của người trong đơn vị: gửi lại thì không ghi trùng.",
                    field="staffNumber",
                )
            check_staff_number(staff)
            personal = cleaned_personal(given.personal)
            particulars = cleaned_particulars(given.particulars)
            check_personal(personal, on)
            check_particulars(particulars, on)
            if staff.casefold() in first_row:
                raise DuplicateRow(f"Trùng dòng {first_row[staff.casefold()]}.")
        except DomainError as exc:
            errors.append(RowError.of(given.row, exc))
            continue
        first_row[staff.casefold()] = given.row
        good.append((staff, personal, particulars))
    return good, errors


# --- files -------------------------------------------------------------------------------------

# A column's header, as a user may write it (compared without diacritics or case).
_HEADERS = {
    **dict.fromkeys(
        ["so hieu", "ma so", "ma", "ma nhan vien", "ma doan vien", "staff number", "staffnumber"],
        "staff_number",
    ),
    **dict.fromkeys(["ho va ten", "ho ten", "ten", "full name", "fullname", "name"], "full_name"),
    **dict.fromkeys(["gioi tinh", "gender"], "gender"),
    **dict.fromkeys(["nam sinh", "birth year", "birthyear"], "birth_year"),
    **dict.fromkeys(["dan toc thieu so", "ethnic minority", "ethnicminority"], "ethnic_minority"),
    **dict.fromkeys(["chuc vu", "post"], "post"),
    **dict.fromkeys(["lao dong truc tiep", "direct worker", "directworker"], "direct_worker"),
    **dict.fromkeys(["can bo cong doan", "cadre"], "cadre"),
    **dict.fromkeys(["can bo tu ngay", "cadre since", "cadresince"], "cadre_since"),
    **dict.fromkeys(
        ["vao lam tu ngay", "ngay vao lam", "employed since", "employedsince"], "employed_since"
    ),
    **dict.fromkeys(["lien he", "contacts"], "contacts"),
}
_REQUIRED = {"staff_number": "số hiệu", "full_name": "họ và tên", "gender": "giới tính"}

_GENDERS = {"nu": "female", "female": "female", "f": "female", "nam": "male", "male": "male"}
_GENDERS |= {"m": "male"}
_YES = frozenset({"co", "x", "yes", "true", "1", "dung", "phai"})
_NO = frozenset({"", "khong", "no", "false", "0", "sai"})
_CADRES = {
    "": "none",
    "khong": "none",
    "none": "none",
    "chuyen trach": "full_time",
    "full time": "full_time",
    "full_time": "full_time",
    "khong chuyen trach": "part_time",
    "kiem nhiem": "part_time",
    "part time": "part_time",
    "part_time": "part_time",
}
_DMY = re.compile(r"([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})")
_EXCEL_EPOCH = date(1899, 12, 30)


def read_file(file: IO[bytes], *, max_rows: int) -> tuple[list[PersonRow], list[RowError]]:
    """The rows of a CSV (UTF-8, comma or semicolon) or XLSX (first sheet) file whose first line
    with a value names the columns: số hiệu, họ và tên, giới tính at least; năm sinh, dân tộc
    thiểu số, chức vụ, lao động trực tiếp, cán bộ công đoàn (không / chuyên trách / không chuyên
    trách), cán bộ từ ngày, vào làm từ ngày, liên hệ (separated by ';') if wanted. Yes/no
    columns take có / x / không (empty: không); dates dd/mm/yyyy, yyyy-mm-dd or a spreadsheet's
    date. A row whose words cannot be read is refused with the column named. Read by the
    guarded reader (shared/uploads.py, its limits there): call it in a worker thread."""
    rows: list[PersonRow] = []
    refused: list[RowError] = []
    records = read_records(file, TableLimits(max_rows=max_rows), _HEADERS, _REQUIRED)
    for number, values in records:
        try:
            rows.append(_row(number, values))
        except DomainError as exc:
            refused.append(RowError.of(number, exc))
    return rows, refused


def _row(number: int, values: Mapping[str, str]) -> PersonRow:
    cadre = _CADRES.get(search_key(values.get("cadre", "")))
    if cadre is None:
        raise PersonInvalid(
            "Cán bộ công đoàn: không, chuyên trách hoặc không chuyên trách.", field="cadre"
        )
    return PersonRow(
        row=number,
        staff_number=values["staff_number"],
        personal=Personal(
            full_name=values["full_name"],
            birth_year=_year(values.get("birth_year", "")),
            contacts=tuple(c for c in re.split(r"[;\n]", values.get("contacts", "")) if c.strip()),
        ),
        particulars=Particulars(
            gender=_word(_GENDERS, values["gender"], "gender", "Giới tính: nữ hoặc nam."),
            ethnic_minority=_yes(values.get("ethnic_minority", ""), "ethnicMinority"),
            post=values.get("post", ""),
            direct_worker=_yes(values.get("direct_worker", ""), "directWorker"),
            cadre=cadre,
            cadre_since=_day(values.get("cadre_since", ""), "cadreSince"),
            employed_since=_day(values.get("employed_since", ""), "employedSince"),
        ),
    )


def _word(words: Mapping[str, str], text: str, field: str, message: str) -> str:
    found = words.get(search_key(text))
    if found is None:
        raise PersonInvalid(message, field=field)
    return found


def _yes(text: str, field: str) -> bool:
    word = search_key(text)
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise PersonInvalid("Cột có/không: ghi có, x hoặc không.", field=field)


def _year(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not re.fullmatch(r"[0-9]{4}", text):
        raise PersonInvalid("Năm sinh: bốn chữ số.", field="birthYear")
    return int(text)


def _day(text: str, field: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        if re.fullmatch(r"[0-9]{1,5}", text):  # a spreadsheet's date: days since its epoch
            return _EXCEL_EPOCH + timedelta(days=int(text))
        found = _DMY.fullmatch(text)
        if found:
            day, month, year = (int(g) for g in found.groups())
            return date(year, month, day)
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise PersonInvalid("Ngày: dd/mm/yyyy.", field=field)


# --- a proposal's nominees from a file (issue 14, point 16) --------------------------------------

_NOMINEE_HEADERS = {
    **dict.fromkeys(["so hieu", "ma", "ma so", "ma nhan vien", "staff number"], "staff_number"),
    **dict.fromkeys(["don vi", "ma don vi", "unit", "unit id"], "unit"),
    **dict.fromkeys(["doi tuong", "ca nhan/tap the", "subject"], "subject"),
    **dict.fromkeys(
        ["hinh thuc khen thuong", "hinh thuc", "danh hieu", "danh hieu thi dua", "award"], "award"
    ),
    **dict.fromkeys(["tom tat thanh tich", "thanh tich", "summary"], "summary"),
    **dict.fromkeys(["ho va ten", "ho ten", "ten"], "name"),
}
_NOMINEE_REQUIRED = {"award": "hình thức khen thưởng"}
_SUBJECTS = {
    "ca nhan": "person",
    "person": "person",
    "tap the": "collective",
    "collective": "collective",
}


@dataclass(frozen=True, slots=True)
class NomineeRow:
    """A row of a lower unit's proposal file: a person by the staff number of their unit (the
    row's ``unit``, else the proposer's), or a collective by its unit id."""

    row: int
    subject: str
    award: str
    staff_number: str = ""
    unit: str = ""
    summary: str = ""
    name: str = ""
    bad: str = ""  # a column whose cell holds a control character: the row's error


def read_nominee_file(file: IO[bytes], *, max_rows: int) -> list[NomineeRow]:
    """The rows of a proposal file (CSV or XLSX, first sheet): ``Hình thức khen thưởng`` (or
    ``Danh hiệu``) at least; ``Đối tượng`` (cá nhân / tập thể; default: cá nhân when a staff
    number is given), ``Số hiệu``, ``Đơn vị``, ``Tóm tắt thành tích``, ``Họ và tên`` (shown in
    errors only). Read by the guarded reader: call it in a worker thread."""
    records = read_records(
        file, TableLimits(max_rows=max_rows), _NOMINEE_HEADERS, _NOMINEE_REQUIRED
    )
    rows = []
    for number, values in records:
        staff = values.get("staff_number", "")
        word = search_key(values.get("subject", ""))
        subject = _SUBJECTS.get(word) or ("person" if staff else "collective")
        bad = next((column for column, text in values.items() if has_control(text)), "")
        rows.append(
            NomineeRow(
                row=number,
                bad=bad,
                subject=subject if word in _SUBJECTS or not word else "?",
                award=values["award"],
                staff_number=staff,
                unit=values.get("unit", ""),
                summary=values.get("summary", ""),
                name=values.get("name", ""),
            )
        )
    return rows
