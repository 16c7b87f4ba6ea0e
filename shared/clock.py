"""Dates as the union's offices see them: deadlines fall on Vietnamese calendar days."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7))


def today() -> date:
    return datetime.now(VIETNAM).date()
