"""Chinese working days, with make-up working days (調休), for callbacks, complaints and reports.

Where a year's schedule comes from, in order (``WorkingDays.source``):

1. **configured**: ``CLAIMS_CALENDAR__YEARS`` gives the year's holidays and make-up working days;
2. **published**: the maintained `chinesecalendar` package carries the State Council's notice for the year;
3. **provisional**: neither has the year (the notice comes out in November or December of the year
   before, and the package some weeks later). The statutory holidays by rule, as the maintained
   `holidays` package estimates them, and weekends otherwise; no make-up working days, since those are
   only known from the notice.

A date reckoned through a provisional year is still a date (a callback must not be lost because a
notice is late), but it is marked provisional wherever it is stored or published, and recomputed when
the year's schedule arrives. The two packages agree on every day of 2019–2026 (docs/domain.md says how
that was checked; tests/unit/test_working_days.py checks it again on every run).

Deadline arithmetic follows the Civil Code (arts. 201–203): the start day is not counted, and a deadline
that falls on a non-working day moves to the next working day.
"""

from __future__ import annotations

import calendar as _cal
import functools
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

import chinese_calendar
import holidays as _holidays
from pydantic import BaseModel, ConfigDict, Field


class ScheduleSource(StrEnum):
    CONFIGURED = "configured"
    PUBLISHED = "published"
    PROVISIONAL = "provisional"


@dataclass(frozen=True)
class Reckoned:
    """A day worked out on the calendar; ``provisional`` when a provisional year's days were counted."""

    day: date
    provisional: bool


class YearSchedule(BaseModel):
    """A year's schedule given by configuration: holidays and make-up working days; other days by weekday."""

    model_config = ConfigDict(frozen=True)

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()


def package_versions() -> dict[str, str]:
    return {"chinesecalendar": getattr(chinese_calendar, "__version__", "?"),
            "holidays": getattr(_holidays, "__version__", "?")}


@functools.cache
def _published(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@functools.cache
def _estimated_holidays(year: int) -> frozenset[date]:
    # The statutory holidays by rule, with the substitute weekday for one that falls on a weekend.
    return frozenset(_holidays.China(years=year))


class WorkingDays(BaseModel):
    """The working-day calendar. ``years`` supplies schedules the package does not have (or overrides them);
    ``extra_holidays`` / ``extra_workdays`` adjust single days (a local holiday, a one-off)."""

    model_config = ConfigDict(frozen=True)

    years: dict[int, YearSchedule] = Field(default_factory=dict)
    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    published_until: int | None = Field(
        default=None,
        description="Treat the package's schedules after this year as not yet published: a drill of the "
                    "year-end turn on a package that already has the next year (tests, a rehearsal).")

    def source(self, year: int) -> ScheduleSource:
        if year in self.years:
            return ScheduleSource.CONFIGURED
        if (self.published_until is None or year <= self.published_until) and _published(year):
            return ScheduleSource.PUBLISHED
        return ScheduleSource.PROVISIONAL

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        source = self.source(day.year)
        if source is ScheduleSource.CONFIGURED:
            configured = self.years[day.year]
            if day in configured.workdays:
                return True
            if day in configured.holidays:
                return False
            return day.weekday() < 5
        if source is ScheduleSource.PUBLISHED:
            return chinese_calendar.is_workday(day)
        return day.weekday() < 5 and day not in _estimated_holidays(day.year)

    def provisional_between(self, first: date, last: date) -> bool:
        """Whether reckoning from ``first`` to ``last`` counts days of a provisional year."""
        return any(self.source(y) is ScheduleSource.PROVISIONAL for y in range(first.year, last.year + 1))

    def first_provisional_day(self, today: date, horizon_years: int = 1) -> date | None:
        """The first day from ``today`` (through the end of ``today``'s year + ``horizon_years``) that would be
        reckoned on a provisional calendar, or None."""
        for year in range(today.year, today.year + horizon_years + 1):
            if self.source(year) is ScheduleSource.PROVISIONAL:
                return max(today, date(year, 1, 1))
        return None

    def nth_working_day(self, year: int, month: int, n: int) -> Reckoned:
        """The ``n``-th working day of a month (n ≥ 1)."""
        if n < 1:
            raise ValueError("n counts from 1")
        day, seen = date(year, month, 1), 0
        last = date(year, month, _cal.monthrange(year, month)[1])
        while day <= last:
            if self.is_working_day(day):
                seen += 1
                if seen == n:
                    return Reckoned(day, self.source(year) is ScheduleSource.PROVISIONAL)
            day += timedelta(days=1)
        raise ValueError(f"{year}-{month:02d} has fewer than {n} working days")

    def add_working_days(self, start: date, n: int) -> Reckoned:
        """The ``n``-th working day after ``start`` (the start day is not counted)."""
        if n < 0:
            raise ValueError("n must not be negative")
        day = start
        while n > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return Reckoned(day, day > start and self.provisional_between(start + timedelta(days=1), day))

    def next_working_day(self, day: date) -> Reckoned:
        """``day`` itself if it is a working day, else the next one (a deadline on a holiday moves forward)."""
        first = day
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return Reckoned(day, self.provisional_between(first, day))

    def first_working_days(self, year: int, month: int, n: int = 5) -> list[date]:
        """The first ``n`` working days of a month: the window for the monthly report."""
        return [self.nth_working_day(year, month, k).day for k in range(1, n + 1)]
