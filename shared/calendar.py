"""Working days (issue 14, point 6): every deadline counted in working days (an appraisal's 10,
a disclosure's 10 before the council) counts them here.

A day is a working day unless it is a Saturday or a Sunday or one of Vietnam's public holidays
(Tết Nguyên Đán by the lunar calendar, Giỗ Tổ Hùng Vương, 30/4, 1/5, Quốc khánh, and the days
the government moves: the ``holidays`` package's calendar for Vietnam, which also knows the
Saturdays worked in exchange), and unless an admin of the national unit marked it otherwise:
a day off the package does not know, or a make-up working day (``MarkedDay``), which wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays

from shared.errors import InvalidInput

MAX_WORKING_DAYS = 3_650  # a deadline further than that is no one's


@dataclass(frozen=True, slots=True)
class MarkedDay:
    on: date
    working: bool
    reason: str


@dataclass(frozen=True, slots=True)
class DayOff:
    on: date
    name: str
    marked: bool  # by an admin, not the public calendar


@lru_cache(maxsize=64)
def _public(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=year, language="vi")


def prepare(on: date) -> None:
    """Load the public calendar of ``on``'s year and the next. The first use imports every
    country the ``holidays`` package knows: done when a server starts (off its event loop),
    it is not the first submission's 0.1–0.2 s."""
    _public(on.year)
    _public(on.year + 1)


class WorkingCalendar:
    def __init__(self, marked: Iterable[MarkedDay] = ()) -> None:
        self.marked = {day.on: day for day in marked}

    def is_working_day(self, on: date) -> bool:
        mark = self.marked.get(on)
        if mark is not None:
            return mark.working
        return bool(_public(on.year).is_working_day(on))

    def add_working_days(self, start: date, days: int) -> date:
        """The day ``days`` working days after ``start`` (``start`` itself not counted): a
        deadline of 10 working days from a submission on ``start``."""
        if not 0 <= days <= MAX_WORKING_DAYS:
            raise InvalidInput(f"Số ngày làm việc từ 0 đến {MAX_WORKING_DAYS}.")
        day = start
        while days:
            day += timedelta(days=1)
            days -= self.is_working_day(day)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 if ``end`` is not after
        ``start``)."""
        if (end - start).days > MAX_WORKING_DAYS * 2:
            raise InvalidInput("Khoảng ngày quá dài.")
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count

    def days_off(self, year: int) -> list[DayOff]:
        """The year's weekday days off (public holidays and marked days), and none of its
        weekends; a marked make-up working day takes its day out."""
        public = _public(year)
        found = {
            on: DayOff(on, name, False)
            for on, name in public.items()
            if on.weekday() < 5 and on.year == year
        }
        for mark in self.marked.values():
            if mark.on.year != year:
                continue
            if mark.working:
                found.pop(mark.on, None)
            else:
                found[mark.on] = DayOff(mark.on, mark.reason, True)
        return sorted(found.values(), key=lambda d: d.on)

    def working_weekend_days(self, year: int) -> list[date]:
        """The year's Saturdays and Sundays worked in exchange for a day off."""
        public = _public(year)
        days = {d for d in public.weekend_workdays if d.year == year}
        days |= {m.on for m in self.marked.values() if m.working and m.on.year == year}
        days -= {m.on for m in self.marked.values() if not m.working}
        return sorted(d for d in days if d.weekday() >= 5)
