"""The unit registry: every union unit (a tenant) and its life. Pure: no I/O.

A unit's events live in its own log, on one stream whose id is derived from the unit id, so a
unit's whole history is read and verified with its tenant. Rules that need the tree (parents,
levels, cycles) are in rules.py; the aggregate keeps the rules of its own state.
"""

from __future__ import annotations

import uuid
from datetime import date

from eventsourcing.domain import Aggregate, event

from shared.errors import DomainError, UnitInactive

# Stream ids are derived from unit ids with this namespace: never change it.
UNIT_NAMESPACE = uuid.UUID("5d1f0c2e-6a8b-4b8e-9c61-3f1a7e2d9b40")

LEVELS = ("national", "provincial", "sector", "upper", "grassroots")
# Lower rank sits higher in the tree; a parent's rank is always below its child's.
LEVEL_RANK = {"national": 0, "provincial": 1, "sector": 1, "upper": 2, "grassroots": 3}
SECTOR_TYPES = ("hành chính", "sự nghiệp", "DN nhà nước", "DN tư nhân", "DN FDI")
ACTIVE, MERGED, DISSOLVED = "active", "merged", "dissolved"


class InvalidUnit(DomainError):
    code = "UNIT_INVALID"
    message_vi = "Thông tin đơn vị không hợp lệ."


class UnchangedUnit(DomainError):
    code = "UNIT_UNCHANGED"
    message_vi = "Không có gì thay đổi."


class EffectiveDateOutOfOrder(DomainError):
    code = "UNIT_EFFECTIVE_DATE"
    message_vi = "Ngày hiệu lực phải sau lần thay đổi gần nhất của đơn vị."


def unit_stream(unit_id: str) -> uuid.UUID:
    return uuid.uuid5(UNIT_NAMESPACE, unit_id)


def check_level(level: str, sector_type: str | None) -> None:
    if level not in LEVEL_RANK:
        raise InvalidUnit(f"Cấp '{level}' không có; các cấp: {', '.join(LEVELS)}.")
    if level == "grassroots" and sector_type not in SECTOR_TYPES:
        raise InvalidUnit(f"Công đoàn cơ sở cần khu vực: {', '.join(SECTOR_TYPES)}.")
    if level != "grassroots" and sector_type is not None:
        raise InvalidUnit("Chỉ công đoàn cơ sở mới có khu vực.")


def check_name(name: str, short_name: str | None) -> None:
    if not name:
        raise InvalidUnit("Tên đơn vị không được để trống.")
    if len(name) > 300 or (short_name is not None and len(short_name) > 100):
        raise InvalidUnit("Tên tối đa 300 ký tự, tên viết tắt tối đa 100.")


def check_registration(
    name: str,
    short_name: str | None,
    level: str,
    sector_type: str | None,
    members: int,
    parent_id: str | None,
) -> None:
    """What a new unit must be on its own (its parent is for rules.check_parent)."""
    check_name(name, short_name)
    check_level(level, sector_type)
    if type(members) is not int or not 0 <= members <= 10_000_000:
        raise InvalidUnit("Số đoàn viên phải là số nguyên từ 0 đến 10.000.000.")
    if (parent_id is None) != (level == "national"):
        raise InvalidUnit("Chỉ Tổng Liên đoàn không có cấp trên; mọi đơn vị khác phải có.")


class Unit(Aggregate):
    """A union unit. Text arrives already cleaned (NFC, trimmed) from the command layer."""

    @staticmethod
    def create_id(unit_id: str) -> uuid.UUID:  # eventsourcing calls this with __init__'s args
        return unit_stream(unit_id)

    @event("UnitRegistered")
    def __init__(
        self,
        unit_id: str,
        name: str,
        short_name: str | None,
        level: str,
        sector_type: str | None,
        members: int,
        parent_id: str | None,
        effective_on: date,
    ) -> None:
        self.unit_id = unit_id
        self.name = name
        self.short_name = short_name
        self.level = level
        self.sector_type = sector_type
        self.members = members
        self.parent_id = parent_id
        self.since = effective_on
        self.changed_on = effective_on
        self.status = ACTIVE
        self.merged_into: str | None = None
        self.absorbed: list[str] = []

    @classmethod
    def register(
        cls,
        *,
        unit_id: str,
        name: str,
        short_name: str | None,
        level: str,
        sector_type: str | None,
        members: int,
        parent_id: str | None,
        effective_on: date,
    ) -> Unit:
        check_registration(name, short_name, level, sector_type, members, parent_id)
        return cls(
            unit_id=unit_id,
            name=name,
            short_name=short_name,
            level=level,
            sector_type=sector_type,
            members=members,
            parent_id=parent_id,
            effective_on=effective_on,
        )

    def _check_active(self) -> None:
        if self.status != ACTIVE:
            raise UnitInactive(self.unit_id, unit=self.unit_id, status=self.status)

    def _check_after_last_change(self, effective_on: date) -> None:
        if effective_on <= self.changed_on:
            raise EffectiveDateOutOfOrder(
                f"{effective_on.isoformat()} ≤ {self.changed_on.isoformat()}.",
                last_change=self.changed_on.isoformat(),
            )

    def rename(self, name: str, short_name: str | None) -> None:
        self._check_active()
        check_name(name, short_name)
        if (name, short_name) == (self.name, self.short_name):
            raise UnchangedUnit()
        self._renamed(name=name, short_name=short_name)

    @event("UnitRenamed")
    def _renamed(self, name: str, short_name: str | None) -> None:
        self.name = name
        self.short_name = short_name

    def move(self, to_parent: str, effective_on: date, reason: str = "") -> None:
        self._check_active()
        if self.parent_id is None:
            raise InvalidUnit("Tổng Liên đoàn không chuyển đi đâu được.")
        if to_parent in (self.parent_id, self.unit_id):
            raise UnchangedUnit("Đơn vị đã ở dưới cấp trên này.")
        self._check_after_last_change(effective_on)
        self._moved(
            from_parent=self.parent_id,
            to_parent=to_parent,
            effective_on=effective_on,
            reason=reason,
        )

    @event("UnitMoved")
    def _moved(self, from_parent: str, to_parent: str, effective_on: date, reason: str) -> None:
        self.parent_id = to_parent
        self.changed_on = effective_on

    def merge_into(self, survivor: str, effective_on: date) -> None:
        self._check_active()
        if survivor == self.unit_id:
            raise InvalidUnit("Không sáp nhập đơn vị vào chính nó.")
        self._check_after_last_change(effective_on)
        self._merged(into=survivor, from_parent=self.parent_id, effective_on=effective_on)

    @event("UnitMerged")
    def _merged(self, into: str, from_parent: str | None, effective_on: date) -> None:
        self.status = MERGED
        self.merged_into = into
        self.parent_id = into
        self.changed_on = effective_on

    def absorb(self, merged: list[str], effective_on: date) -> None:
        self._check_active()
        self._absorbed(merged=sorted(merged), effective_on=effective_on)

    @event("UnitsAbsorbed")
    def _absorbed(self, merged: list[str], effective_on: date) -> None:
        self.absorbed.extend(merged)

    def dissolve(self, effective_on: date, reason: str) -> None:
        self._check_active()
        self._check_after_last_change(effective_on)
        self._dissolved(effective_on=effective_on, reason=reason)

    @event("UnitDissolved")
    def _dissolved(self, effective_on: date, reason: str) -> None:
        self.status = DISSOLVED
        self.changed_on = effective_on


REGISTRY_EVENTS = (
    Unit.UnitRegistered,
    Unit.UnitRenamed,
    Unit.UnitMoved,
    Unit.UnitMerged,
    Unit.UnitsAbsorbed,
    Unit.UnitDissolved,
)
