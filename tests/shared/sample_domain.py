"""A small aggregate that exercises the aggregate machinery of ``shared`` (not a product domain:
the services bring their own). Its events are in tests/golden/events.jsonl."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.aggregates import EventRegistry
from shared.errors import DomainError


class SameTitle(DomainError):
    code = "NOTEBOOK_SAME_TITLE"
    message_vi = "Tên mới trùng tên cũ."


class Notebook(Aggregate):
    @event("NotebookOpened")
    def __init__(self, title: str, owner: UUID, opened_on: date) -> None:
        self.title = title
        self.owner = owner
        self.opened_on = opened_on
        self.notes: list[str] = []
        self.points = 0
        self.benefit = Decimal(0)

    def write(self, text: str, points: int = 0) -> None:
        self._written(text=text, points=points)

    @event("NoteWritten")
    def _written(self, text: str, points: int) -> None:
        self.notes.append(text)
        self.points += points

    def rename(self, title: str, reason: str) -> None:
        if title == self.title:  # decide: the rule says no, and no event is made
            raise SameTitle(title)
        self._renamed(title=title, reason=reason)

    @event("NotebookRenamed")
    def _renamed(self, title: str, reason: str) -> None:
        self.title = title

    @event("BenefitRecorded")
    def record_benefit(self, amount: Decimal) -> None:
        self.benefit += amount


def build_registry() -> EventRegistry:
    registry = EventRegistry()
    registry.register(
        Notebook,
        Notebook.NotebookOpened,
        Notebook.NoteWritten,
        Notebook.NotebookRenamed,
        Notebook.BenefitRecorded,
    )

    @registry.upcaster("NoteWritten", from_version=1)
    def body_became_text(data: dict[str, Any]) -> dict[str, Any]:
        # v1 stored the note as "body" and had no points.
        return {"text": data.pop("body"), "points": 0, **data}

    return registry


# --- Rules across units: a quota an upper unit gives out, a board the units below write on ---


class QuotaExhausted(DomainError):
    code = "QUOTA_EXHAUSTED"
    message_vi = "Đã hết chỉ tiêu."


class ClosedBoard(DomainError):
    code = "BOARD_CLOSED"
    message_vi = "Bảng đã đóng, không nhận thêm đăng ký."


class Quota(Aggregate):
    """Places an upper unit gives out to the units below (as CSTĐCS places among LĐTT holders).

    A claim is an event of the quota's own stream, in the upper unit's log: its stream version
    orders the claims, so two claims decided on the same version cannot both be stored. A unit
    below decides on the quota's read-model row (``as_read``), whose version is the stream's."""

    @event("QuotaSet")
    def __init__(self, places: int) -> None:
        self.places = places
        self.holders: list[str] = []

    def claim(self, unit: str) -> None:
        if len(self.holders) >= self.places:
            raise QuotaExhausted(f"{len(self.holders)}/{self.places}.")
        self._claimed(unit=unit)

    @event("QuotaClaimed")
    def _claimed(self, unit: str) -> None:
        self.holders.append(unit)

    @classmethod
    def as_read(cls, quota_id: UUID, version: int, places: int, holders: list[str]) -> Quota:
        """The quota as a read model shows it at ``version``: the next event is version + 1."""
        quota = object.__new__(cls)
        now = datetime.now(UTC)
        quota.__dict__.update(
            _id=quota_id,
            _version=version,
            _pending_events=[],
            _created_on=now,
            _modified_on=now,
            places=places,
            holders=list(holders),
        )
        return quota


class Board(Aggregate):
    """An upper unit's board that units below write entries on while it is open."""

    @event("BoardOpened")
    def __init__(self, title: str) -> None:
        self.title = title
        self.open = True

    @event("BoardRenamed")
    def rename(self, title: str) -> None:
        self.title = title

    @event("BoardClosed")
    def close(self) -> None:
        self.open = False


class Entry(Aggregate):
    """A unit's entry on an upper unit's board, in the unit's own log."""

    @event("EntrySubmitted")
    def __init__(self, board_id: UUID, text: str) -> None:
        self.board_id = board_id
        self.text = text

    @classmethod
    def submit(cls, board_id: UUID, board_open: bool, text: str) -> Entry:
        if not board_open:
            raise ClosedBoard(str(board_id))
        return cls(board_id=board_id, text=text)


def build_contest_registry() -> EventRegistry:
    registry = build_registry()
    registry.register(Quota, Quota.QuotaSet, Quota.QuotaClaimed)
    registry.register(Board, Board.BoardOpened, Board.BoardRenamed, Board.BoardClosed)
    registry.register(Entry, Entry.EntrySubmitted)
    return registry
