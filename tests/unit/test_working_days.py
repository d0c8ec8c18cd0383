from datetime import date

import pytest

import chinese_calendar
import holidays

from models.working_days import Reckoned, ScheduleSource, WorkingDays, YearSchedule

CAL = WorkingDays()

# The first five working days of each month of 2026 (the monthly report window), from the
# State Council's 2026 schedule with make-up working days 01-04, 02-14, 02-28, 05-09, 09-20, 10-10.
WINDOWS_2026 = {
    1: ["2026-01-04", "2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08"],
    2: ["2026-02-02", "2026-02-03", "2026-02-04", "2026-02-05", "2026-02-06"],
    3: ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06"],
    4: ["2026-04-01", "2026-04-02", "2026-04-03", "2026-04-07", "2026-04-08"],
    5: ["2026-05-06", "2026-05-07", "2026-05-08", "2026-05-09", "2026-05-11"],
    6: ["2026-06-01", "2026-06-02", "2026-06-03", "2026-06-04", "2026-06-05"],
    7: ["2026-07-01", "2026-07-02", "2026-07-03", "2026-07-06", "2026-07-07"],
    8: ["2026-08-03", "2026-08-04", "2026-08-05", "2026-08-06", "2026-08-07"],
    9: ["2026-09-01", "2026-09-02", "2026-09-03", "2026-09-04", "2026-09-07"],
    10: ["2026-10-08", "2026-10-09", "2026-10-10", "2026-10-12", "2026-10-13"],
    11: ["2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05", "2026-11-06"],
    12: ["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04", "2026-12-07"],
}


@pytest.mark.parametrize("month", range(1, 13))
def test_the_first_five_working_days_of_every_month_of_2026(month):
    assert [d.isoformat() for d in CAL.first_working_days(2026, month)] == WINDOWS_2026[month]


def test_make_up_saturdays_and_sundays_are_working_days():
    for d in ("2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"):
        assert CAL.is_working_day(date.fromisoformat(d)), d
    assert not CAL.is_working_day(date(2026, 10, 5))  # National Day holiday, a Monday
    assert not CAL.is_working_day(date(2026, 1, 1))


def test_the_report_for_december_2025_is_due_on_the_8th_of_january():
    assert CAL.nth_working_day(2026, 1, 5) == Reckoned(date(2026, 1, 8), provisional=False)
    assert CAL.nth_working_day(2026, 10, 5) == Reckoned(date(2026, 10, 13), provisional=False)


def test_counting_working_days_skips_holidays_and_not_the_start_day():
    assert CAL.add_working_days(date(2026, 9, 30), 1).day == date(2026, 10, 8)  # Oct 1-7 holiday
    assert CAL.add_working_days(date(2026, 10, 9), 1).day == date(2026, 10, 10)  # a make-up Saturday
    assert CAL.add_working_days(date(2026, 1, 2), 0).day == date(2026, 1, 2)
    assert CAL.next_working_day(date(2026, 10, 3)).day == date(2026, 10, 8)


def test_a_year_without_a_published_schedule_is_provisional_not_an_error():
    assert CAL.source(2031) is ScheduleSource.PROVISIONAL and CAL.source(2026) is ScheduleSource.PUBLISHED
    # Statutory holidays by rule: New Year's Day, National Day; a plain Monday works, a Saturday does not.
    assert not CAL.is_working_day(date(2031, 1, 1)) and not CAL.is_working_day(date(2031, 10, 1))
    assert CAL.is_working_day(date(2031, 3, 3)) and not CAL.is_working_day(date(2031, 3, 8))
    assert CAL.nth_working_day(2031, 3, 1) == Reckoned(date(2031, 3, 3), provisional=True)


def test_a_date_is_provisional_exactly_when_a_provisional_year_was_counted():
    cal = WorkingDays(published_until=2026)  # 2027 as it is in December 2026, whatever the package has by then
    assert cal.source(2027) is ScheduleSource.PROVISIONAL
    assert cal.add_working_days(date(2026, 12, 18), 4) == Reckoned(date(2026, 12, 24), provisional=False)
    assert cal.add_working_days(date(2026, 12, 25), 5) == Reckoned(date(2027, 1, 4), provisional=True)
    assert cal.add_working_days(date(2026, 12, 31), 0) == Reckoned(date(2026, 12, 31), provisional=False)
    assert cal.next_working_day(date(2027, 1, 1)) == Reckoned(date(2027, 1, 4), provisional=True)
    assert cal.next_working_day(date(2026, 12, 26)) == Reckoned(date(2026, 12, 28), provisional=False)
    assert cal.first_provisional_day(date(2026, 12, 1)) == date(2027, 1, 1)
    assert cal.first_provisional_day(date(2027, 3, 1)) == date(2027, 3, 1)
    assert WorkingDays(years={2027: YearSchedule()}).first_provisional_day(date(2026, 6, 1)) is None


def test_the_provisional_calendar_is_the_holidays_packages_estimate_with_weekends():
    cal = WorkingDays(published_until=2026)
    estimate = holidays.China(years=2027)
    day = date(2027, 1, 1)
    while day.year == 2027:
        assert cal.is_working_day(day) == (day.weekday() < 5 and day not in estimate), day
        day = date.fromordinal(day.toordinal() + 1)
    assert not cal.is_working_day(date(2027, 2, 8)) and not cal.is_working_day(date(2027, 10, 5))


def test_a_year_can_be_configured_and_then_is_not_provisional():
    cal = WorkingDays(years={2031: YearSchedule(holidays=frozenset({date(2031, 3, 3)}),
                                                workdays=frozenset({date(2031, 3, 8)}))})
    assert cal.source(2031) is ScheduleSource.CONFIGURED
    assert not cal.is_working_day(date(2031, 3, 3)) and cal.is_working_day(date(2031, 3, 4))
    assert cal.is_working_day(date(2031, 3, 8)) and not cal.is_working_day(date(2031, 3, 9))
    assert cal.add_working_days(date(2031, 3, 2), 1) == Reckoned(date(2031, 3, 4), provisional=False)


def test_a_year_configured_in_the_environment(monkeypatch):
    from streams.settings import Settings

    monkeypatch.setenv("CLAIMS_CALENDAR__YEARS",
                       '{"2027": {"holidays": ["2027-01-01", "2027-02-05"], "workdays": ["2027-02-20"]}}')
    cal = Settings().calendar
    assert cal.source(2027) is ScheduleSource.CONFIGURED
    assert not cal.is_working_day(date(2027, 2, 5)) and cal.is_working_day(date(2027, 2, 20))


def test_the_two_packages_agree_on_every_day_of_2019_to_2026():
    """chinesecalendar (the published source) checked against holidays (the provisional one's package), so
    that a wrong release of either is caught here rather than in a customer's due date."""
    china = holidays.China(years=range(2019, 2027))
    day, differ = date(2019, 1, 1), []
    while day.year < 2027:
        if chinese_calendar.is_workday(day) != china.is_working_day(day):
            differ.append(day)
        day = date.fromordinal(day.toordinal() + 1)
    assert differ == []


def test_single_days_can_be_adjusted():
    cal = WorkingDays(extra_holidays=frozenset({date(2026, 11, 26)}))
    assert not cal.is_working_day(date(2026, 11, 26))


def test_the_gauge_counts_down_to_the_first_provisional_day_from_the_alerts_threshold():
    from streams.services.calendar import days_until_provisional

    cal = WorkingDays(published_until=2026)
    assert days_until_provisional(cal, date(2026, 11, 30)) == {2027: 32}
    assert days_until_provisional(cal, date(2026, 12, 1)) == {2027: 31}  # HolidayScheduleNotPublished: <= 31
    assert days_until_provisional(cal, date(2027, 2, 1)) == {2027: 0, 2028: 334}
    assert days_until_provisional(WorkingDays(years={2027: YearSchedule()}), date(2026, 12, 1)) == {}
