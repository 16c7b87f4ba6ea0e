"""A small aggregate that exercises the aggregate machinery of ``shared`` (not a product domain:
the services bring their own). Its events are in tests/golden/events.jsonl."""

from __future__ import annotations

from datetime import date
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
