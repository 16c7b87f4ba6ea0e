"""What the plans measure that nothing else records (seed 000's annual targets): trainings of
emulation cadres, good practices presented and replicated, seminars, and inspections of a lower
unit's emulation work. Each is a small aggregate in its unit's log. Pure: no I/O.

Text arrives cleaned (NFC, trimmed) from the command layer; each check here names its field.
"""

from __future__ import annotations

import uuid
from datetime import date

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


def check_day(day: date, today: date, field: str) -> None:
    if day > today:
        raise RecordInvalid(f"{field}: không ghi nhận việc chưa diễn ra.", field=field)


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
