"""Rules of the tree, decided from the registry's read model (what rows say about other units)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from services.registry.domain import ACTIVE, LEVEL_RANK, InvalidUnit, UnitInactive
from shared.errors import DomainError


class LevelNesting(DomainError):
    code = "UNIT_LEVEL_NESTING"
    message_vi = "Sai thứ bậc: đơn vị cấp trên phải ở cấp cao hơn đơn vị cấp dưới."


class UnitCycle(DomainError):
    code = "UNIT_CYCLE"
    message_vi = "Quan hệ cấp trên tạo thành vòng: một đơn vị không thể nằm dưới chính nó."


class UnitExists(DomainError):
    code = "UNIT_EXISTS"
    message_vi = "Mã đơn vị đã có."


class HasActiveChildren(DomainError):
    code = "UNIT_HAS_CHILDREN"
    message_vi = (
        "Đơn vị còn đơn vị trực thuộc đang hoạt động; hãy chuyển hoặc giải thể chúng trước."
    )


@dataclass(frozen=True, slots=True)
class UnitFacts:
    """What the read model knows of a unit, as the rules need it."""

    unit_id: str
    level: str
    status: str
    since: date
    parent_id: str | None


def check_parent(child_id: str, child_level: str, parent: UnitFacts, effective_on: date) -> None:
    if parent.status != ACTIVE:
        raise UnitInactive(f"Cấp trên {parent.unit_id}.", unit=parent.unit_id)
    if LEVEL_RANK[parent.level] >= LEVEL_RANK[child_level]:
        raise LevelNesting(
            f"{child_id} ({child_level}) không thể ở dưới {parent.unit_id} ({parent.level}).",
            unit=child_id,
            parent=parent.unit_id,
        )
    if effective_on < parent.since:
        raise InvalidUnit(f"Ngày hiệu lực trước ngày thành lập cấp trên {parent.unit_id}.")


def check_no_cycle(unit_id: str, to_parent: str, ancestors_of_parent: Iterable[str]) -> None:
    if to_parent == unit_id or unit_id in set(ancestors_of_parent):
        raise UnitCycle(f"{to_parent} đang nằm dưới {unit_id}.", unit=unit_id, parent=to_parent)


def check_merge(merged: list[UnitFacts], survivor: UnitFacts, survivor_ancestors: set[str]) -> None:
    if not merged:
        raise InvalidUnit("Cần ít nhất một đơn vị được sáp nhập.")
    if survivor.status != ACTIVE:
        raise UnitInactive(f"Đơn vị tiếp nhận {survivor.unit_id}.", unit=survivor.unit_id)
    ids = [m.unit_id for m in merged]
    if len(set(ids)) != len(ids) or survivor.unit_id in ids:
        raise InvalidUnit("Danh sách sáp nhập trùng lặp hoặc chứa đơn vị tiếp nhận.")
    for unit in merged:
        if unit.status != ACTIVE:
            raise UnitInactive(unit.unit_id, unit=unit.unit_id)
        if unit.level != survivor.level:
            raise LevelNesting(
                f"Chỉ sáp nhập các đơn vị cùng cấp: {unit.unit_id} ({unit.level}), "
                f"{survivor.unit_id} ({survivor.level}).",
                unit=unit.unit_id,
            )
        if unit.unit_id in survivor_ancestors:
            raise UnitCycle(f"{unit.unit_id} là cấp trên của {survivor.unit_id}.")


def check_dissolve(unit_id: str, active_children: list[str]) -> None:
    if active_children:
        shown = ", ".join(active_children[:5])
        raise HasActiveChildren(f"{unit_id}: {shown}.", unit=unit_id, children=active_children)
