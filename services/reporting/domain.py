"""What the plans measure that nothing else records (seed 000's annual targets): trainings of
emulation cadres, good practices presented and replicated, seminars, and inspections of a lower
unit's emulation work. Each is a small aggregate in its unit's log. Pure: no I/O.

Text arrives cleaned (NFC, trimmed) from the command layer; each check here names its field.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from eventsourcing.domain import Aggregate, event

from shared.errors import DomainError
from shared.text import has_control

MAX_TITLE = 500
MAX_TEXT = 20_000
MAX_PEOPLE = 1_000_000


class RecordInvalid(DomainError):
    code = "RECORD_INVALID"
    message_vi = "Thông tin ghi nhận không hợp lệ."
    public_context = ("field",)


def check_title(value: str, field: str) -> None:
    if not value or len(value) > MAX_TITLE or has_control(value):
        raise RecordInvalid(f"{field}: 1–{MAX_TITLE} ký tự in được.", field=field)


def check_text(value: str, field: str) -> None:
    if len(value) > MAX_TEXT:
        raise RecordInvalid(f"{field}: tối đa {MAX_TEXT} ký tự.", field=field)


def check_count(value: int, field: str) -> None:
    if type(value) is not int or not 0 <= value <= MAX_PEOPLE:
        raise RecordInvalid(f"{field}: số nguyên từ 0 đến {MAX_PEOPLE:,}.", field=field)


FIRST_DAY = date(2000, 1, 1)  # the summaries' first year


def check_day(day: date, today: date, field: str) -> None:
    if day > today:
        raise RecordInvalid(f"{field}: không ghi nhận việc chưa diễn ra.", field=field)
    if day < FIRST_DAY:
        raise RecordInvalid(f"{field}: từ năm {FIRST_DAY.year}.", field=field)


class Training(Aggregate):
    """A training (tập huấn) of emulation cadres the unit held or sent its cadres to: how many
    attended, and how many of the unit's emulation cadres (and of how many it has) were trained
    (seed 000: 100% of emulation cadres trained)."""

    @event("TrainingHeld")
    def __init__(
        self,
        unit_id: str,
        title: str,
        held_on: date,
        attendees: int,
        cadres_trained: int,
        cadres: int,
    ) -> None:
        self.unit_id = unit_id
        self.held_on = held_on

    @classmethod
    def hold(
        cls,
        *,
        unit_id: str,
        title: str,
        held_on: date,
        today: date,
        attendees: int,
        cadres_trained: int,
        cadres: int,
    ) -> Training:
        check_title(title, "title")
        check_day(held_on, today, "heldOn")
        for value, field in (
            (attendees, "attendees"),
            (cadres_trained, "cadresTrained"),
            (cadres, "cadres"),
        ):
            check_count(value, field)
        if cadres_trained > cadres:
            raise RecordInvalid(
                "Số cán bộ thi đua được tập huấn không quá số cán bộ thi đua của đơn vị.",
                field="cadresTrained",
            )
        return cls(
            unit_id=unit_id,
            title=title,
            held_on=held_on,
            attendees=attendees,
            cadres_trained=cadres_trained,
            cadres=cadres,
        )


class Seminar(Aggregate):
    """A seminar (tọa đàm, trao đổi kinh nghiệm) the unit held."""

    @event("SeminarHeld")
    def __init__(self, unit_id: str, topic: str, held_on: date, participants: int) -> None:
        self.unit_id = unit_id
        self.held_on = held_on

    @classmethod
    def hold(
        cls, *, unit_id: str, topic: str, held_on: date, today: date, participants: int
    ) -> Seminar:
        check_title(topic, "topic")
        check_day(held_on, today, "heldOn")
        check_count(participants, "participants")
        return cls(unit_id=unit_id, topic=topic, held_on=held_on, participants=participants)


class GoodPractice(Aggregate):
    """A new model or good practice (mô hình mới, cách làm hay) the unit presents for others to
    replicate."""

    @event("GoodPracticePresented")
    def __init__(self, unit_id: str, name: str, description: str, presented_on: date) -> None:
        self.unit_id = unit_id
        self.presented_on = presented_on

    @classmethod
    def present(
        cls, *, unit_id: str, name: str, description: str, presented_on: date, today: date
    ) -> GoodPractice:
        check_title(name, "name")
        check_text(description, "description")
        check_day(presented_on, today, "presentedOn")
        return cls(unit_id=unit_id, name=name, description=description, presented_on=presented_on)


class Replication(Aggregate):
    """A unit's replication (nhân rộng) of another unit's good practice."""

    @event("GoodPracticeReplicated")
    def __init__(
        self,
        unit_id: str,
        practice_id: uuid.UUID,
        practice_unit: str,
        replicated_on: date,
        note: str,
    ) -> None:
        self.unit_id = unit_id
        self.practice_id = practice_id

    @staticmethod
    def create_id(unit_id: str, practice_id: uuid.UUID, **_: object) -> uuid.UUID:
        # One replication of a practice per unit: a second is the same stream, refused.
        return uuid.uuid5(practice_id, unit_id)

    @classmethod
    def record(
        cls,
        *,
        unit_id: str,
        practice_id: uuid.UUID,
        practice_unit: str,
        replicated_on: date,
        presented_on: date,
        today: date,
        note: str,
    ) -> Replication:
        if practice_unit == unit_id:
            raise RecordInvalid(
                "Nhân rộng là áp dụng cách làm của đơn vị khác.", field="practiceId"
            )
        check_day(replicated_on, today, "replicatedOn")
        if replicated_on < presented_on:
            raise RecordInvalid("Nhân rộng sau ngày giới thiệu.", field="replicatedOn")
        check_text(note, "note")
        return cls(
            unit_id=unit_id,
            practice_id=practice_id,
            practice_unit=practice_unit,
            replicated_on=replicated_on,
            note=note,
        )


class Inspection(Aggregate):
    """An inspection (kiểm tra, giám sát) of a lower unit's emulation work, with its findings."""

    @event("InspectionRecorded")
    def __init__(
        self, unit_id: str, inspected_unit: str, subject: str, held_on: date, findings: str
    ) -> None:
        self.unit_id = unit_id
        self.inspected_unit = inspected_unit

    @classmethod
    def record(
        cls,
        *,
        unit_id: str,
        inspected_unit: str,
        subject: str,
        held_on: date,
        today: date,
        findings: str,
    ) -> Inspection:
        check_title(subject, "subject")
        check_text(findings, "findings")
        check_day(held_on, today, "heldOn")
        return cls(
            unit_id=unit_id,
            inspected_unit=inspected_unit,
            subject=subject,
            held_on=held_on,
            findings=findings,
        )


RECORD_EVENTS = (
    (Training, (Training.TrainingHeld,)),
    (Seminar, (Seminar.SeminarHeld,)),
    (GoodPractice, (GoodPractice.GoodPracticePresented,)),
    (Replication, (Replication.GoodPracticeReplicated,)),
    (Inspection, (Inspection.InspectionRecorded,)),
)


# --- the 5-year report (seed 002's template) -----------------------------------------------------

REPORT_NAMESPACE = uuid.UUID("0b7f6a52-3c1e-4d8e-9a57-2f1d6c4e8b31")  # never change it
MAX_SECTION = 20_000  # the edge refuses longer text (TEXT_TOO_LONG) before it gets here
MAX_NUMBER = 100
MOST_YEARS = 10

# Seed 002's sections, in its order: code → heading. The figures (II) come from the projections;
# the narrative is the unit's.
SECTIONS = {
    "I.1": "Thuận lợi",
    "I.2": "Khó khăn",
    "II.1": "Đánh giá kết quả đạt được của phong trào thi đua yêu nước, phong trào thi đua tiêu "
    "biểu và tác động, tính thiết thực, hiệu quả của phong trào",
    "II.2": "Việc chấp hành các quy định về thi đua, khen thưởng",
    "II.3": "Kết quả công tác khen thưởng; phân tích kết quả, chất lượng các hình thức khen "
    "thưởng, việc khen thưởng cho người trực tiếp lao động, sản xuất, công tác; việc nhân rộng "
    "các điển hình tiên tiến",
    "II.4": "Đánh giá công tác lãnh đạo, chỉ đạo đổi mới tổ chức các phong trào thi đua yêu nước "
    "và công tác khen thưởng",
    "II.5": "Những tồn tại, hạn chế, nguyên nhân và bài học kinh nghiệm",
    "III": "Phương hướng, nhiệm vụ",
    "IV.1": "Đối với Tổng Liên đoàn",
    "IV.2": "Đối với công đoàn cấp trên",
}
DRAFT, SUBMITTED = "draft", "submitted"


class ReportInvalid(DomainError):
    code = "REPORT_INVALID"
    message_vi = "Báo cáo không hợp lệ."
    public_context = ("field",)


class ReportUnchanged(DomainError):
    code = "REPORT_UNCHANGED"
    message_vi = "Không có gì thay đổi so với bản đã có."


def check_period(first_year: int, last_year: int) -> None:
    if not (2000 <= first_year < last_year <= 2100 and last_year - first_year < MOST_YEARS):
        raise ReportInvalid(
            f"Giai đoạn: năm đầu trước năm cuối, từ 2000 đến 2100, tối đa {MOST_YEARS} năm.",
            field="firstYear",
        )


def report_id(unit_id: str, first_year: int, last_year: int) -> uuid.UUID:
    """One report of a unit for a period."""
    return uuid.uuid5(REPORT_NAMESPACE, f"{unit_id}:{first_year}-{last_year}")


def request_id(unit_id: str, first_year: int, last_year: int) -> uuid.UUID:
    return uuid.uuid5(REPORT_NAMESPACE, f"request:{unit_id}:{first_year}-{last_year}")


class ReportRequest(Aggregate):
    """A level's request that the units below send their report of a period by a day (seed 002:
    the 5-year report by 15/4/2025). Asked again, the day changes."""

    @staticmethod
    def create_id(unit_id: str, first_year: int, last_year: int, **_: object) -> uuid.UUID:
        return request_id(unit_id, first_year, last_year)

    @event("ReportsRequested")
    def __init__(
        self, unit_id: str, first_year: int, last_year: int, due_on: date, note: str
    ) -> None:
        self.due_on = due_on
        self.note = note

    @classmethod
    def request(
        cls, *, unit_id: str, first_year: int, last_year: int, due_on: date, note: str
    ) -> ReportRequest:
        check_period(first_year, last_year)
        check_text(note, "note")
        return cls(
            unit_id=unit_id, first_year=first_year, last_year=last_year, due_on=due_on, note=note
        )

    def ask_again(self, due_on: date, note: str) -> None:
        check_text(note, "note")
        if (due_on, note) == (self.due_on, self.note):
            raise ReportUnchanged()
        self._asked_again(due_on=due_on, note=note)

    @event("ReportsRequestedAgain")
    def _asked_again(self, due_on: date, note: str) -> None:
        self.due_on = due_on
        self.note = note


class Report(Aggregate):
    """A unit's report of a period (báo cáo tổng kết phong trào thi đua và công tác khen thưởng):
    its heading (number, place), its narrative sections written and rewritten by its officers,
    every version kept, and its submissions to the level above. Its figures are the reporting
    projection's, as the log held them when it was submitted."""

    @staticmethod
    def create_id(unit_id: str, first_year: int, last_year: int, **_: object) -> uuid.UUID:
        return report_id(unit_id, first_year, last_year)

    @event("ReportDrafted")
    def __init__(
        self,
        unit_id: str,
        first_year: int,
        last_year: int,
        number: str,
        place: str,
        drafted_on: date,
    ) -> None:
        self.unit_id = unit_id
        self.first_year = first_year
        self.last_year = last_year
        self.number = number
        self.place = place
        self.revision = 0
        self.sections: dict[str, str] = {}
        self.submitted_revision = 0

    @classmethod
    def draft(
        cls,
        *,
        unit_id: str,
        first_year: int,
        last_year: int,
        number: str,
        place: str,
        today: date,
    ) -> Report:
        check_period(first_year, last_year)
        _check_heading(number, place)
        return cls(
            unit_id=unit_id,
            first_year=first_year,
            last_year=last_year,
            number=number,
            place=place,
            drafted_on=today,
        )

    def write(self, section: str, text: str) -> None:
        if section not in SECTIONS:
            raise ReportInvalid(f"Mục: {', '.join(SECTIONS)}.", field="section")
        if len(text) > MAX_SECTION:
            raise ReportInvalid(f"Mỗi mục tối đa {MAX_SECTION:,} ký tự.", field="text")
        if self.sections.get(section, "") == text:
            raise ReportUnchanged()
        self._written(section=section, text=text, revision=self.revision + 1)

    @event("ReportSectionWritten")
    def _written(self, section: str, text: str, revision: int) -> None:
        self.sections[section] = text
        self.revision = revision

    def set_heading(self, number: str, place: str) -> None:
        _check_heading(number, place)
        if (number, place) == (self.number, self.place):
            raise ReportUnchanged()
        self._heading_set(number=number, place=place, revision=self.revision + 1)

    @event("ReportHeadingSet")
    def _heading_set(self, number: str, place: str, revision: int) -> None:
        self.number = number
        self.place = place
        self.revision = revision

    def submit(self, to_unit: str, on: date, due_on: date | None, figures: list[list[Any]]) -> None:
        """``figures``: the summary's figures as the unit reads them when it sends, [[year,
        metric, dim, value], ...]: what the report says, whatever the tree becomes."""
        if not self.sections:
            raise ReportInvalid("Báo cáo chưa có mục nào.", field="sections")
        if self.revision == self.submitted_revision:
            raise ReportUnchanged("Bản này đã gửi.")
        late = due_on is not None and on > due_on
        self._submitted(
            to_unit=to_unit,
            submitted_on=on,
            revision=self.revision,
            due_on=due_on,
            late=late,
            figures=figures,
        )

    # figures: None in what was sent before they were carried (schema 1, upcast by
    # commands.build_registry): such a report is read as the log held its unit's figures then
    @event("ReportSubmitted")
    def _submitted(
        self,
        to_unit: str,
        submitted_on: date,
        revision: int,
        due_on: date | None,
        late: bool,
        figures: list[list[Any]] | None,
    ) -> None:
        self.submitted_revision = revision


def _check_heading(number: str, place: str) -> None:
    if len(number) > MAX_NUMBER or has_control(number):
        raise ReportInvalid(f"Số báo cáo tối đa {MAX_NUMBER} ký tự.", field="number")
    if len(place) > MAX_NUMBER or has_control(place):
        raise ReportInvalid(f"Địa danh tối đa {MAX_NUMBER} ký tự.", field="place")


REPORT_EVENTS = (
    (ReportRequest, (ReportRequest.ReportsRequested, ReportRequest.ReportsRequestedAgain)),
    (
        Report,
        (
            Report.ReportDrafted,
            Report.ReportSectionWritten,
            Report.ReportHeadingSet,
            Report.ReportSubmitted,
        ),
    ),
)
