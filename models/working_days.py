"""Chinese working days, with make-up working days (調休), for callbacks, complaints and reports.

The schedule comes from the maintained `chinesecalendar` package (the State
Council's published holidays and make-up days). A year the package does not
know is a loud error unless configuration gives that year's schedule: never a
silent weekday guess. Deadline arithmetic follows the Civil Code (arts. 201–203):
the start day is not counted, and a deadline that falls on a non-working day
moves to the next working day.
"""

from __future__ import annotations

import calendar as _cal
from datetime import date, timedelta

import chinese_calendar
from pydantic import BaseModel, ConfigDict, Field


class UnknownSchedule(LookupError):
    """No published holiday schedule for the year, and none configured."""


class YearSchedule(BaseModel):
    """A year's schedule given by configuration: holidays and make-up working days; other days by weekday."""

    model_config = ConfigDict(frozen=True)

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()


class WorkingDays(BaseModel):
    """The working-day calendar. ``years`` supplies schedules the package does not have (or overrides them);
    ``extra_holidays`` / ``extra_workdays`` adjust single days (a local holiday, a one-off)."""

    model_config = ConfigDict(frozen=True)

    years: dict[int, YearSchedule] = Field(default_factory=dict)
    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        configured = self.years.get(day.year)
        if configured is not None:
            if day in configured.workdays:
                return True
            if day in configured.holidays:
                return False
            return day.weekday() < 5
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            raise UnknownSchedule(
                f"the holiday schedule for {day.year} is not known (chinesecalendar "
                f"{getattr(chinese_calendar, '__version__', '?')}): upgrade the package once the State Council "
                f"publishes it, or configure the year's holidays and make-up working days"
            ) from None

    def nth_working_day(self, year: int, month: int, n: int) -> date:
        """The ``n``-th working day of a month (n ≥ 1)."""
        if n < 1:
            raise ValueError("n counts from 1")
        day, seen = date(year, month, 1), 0
        last = date(year, month, _cal.monthrange(year, month)[1])
        while day <= last:
            if self.is_working_day(day):
                seen += 1
                if seen == n:
                    return day
            day += timedelta(days=1)
        raise ValueError(f"{year}-{month:02d} has fewer than {n} working days")

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (the start day is not counted)."""
        if n < 0:
            raise ValueError("n must not be negative")
        day = start
        while n > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return day

    def next_working_day(self, day: date) -> date:
        """``day`` itself if it is a working day, else the next one (a deadline on a holiday moves forward)."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def first_working_days(self, year: int, month: int, n: int = 5) -> list[date]:
        """The first ``n`` working days of a month: the window for the monthly report."""
        return [self.nth_working_day(year, month, k) for k in range(1, n + 1)]
