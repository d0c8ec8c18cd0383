from datetime import date

import pytest

from models.working_days import UnknownSchedule, WorkingDays, YearSchedule

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
    assert CAL.nth_working_day(2026, 1, 5) == date(2026, 1, 8)
    assert CAL.nth_working_day(2026, 10, 5) == date(2026, 10, 13)


def test_counting_working_days_skips_holidays_and_not_the_start_day():
    assert CAL.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)  # Oct 1-7 holiday
    assert CAL.add_working_days(date(2026, 10, 9), 1) == date(2026, 10, 10)  # a make-up Saturday
    assert CAL.add_working_days(date(2026, 1, 2), 0) == date(2026, 1, 2)
    assert CAL.next_working_day(date(2026, 10, 3)) == date(2026, 10, 8)


def test_an_unknown_year_is_a_loud_error():
    with pytest.raises(UnknownSchedule, match="2031"):
        CAL.is_working_day(date(2031, 3, 3))


def test_an_unknown_year_can_be_configured():
    cal = WorkingDays(years={2031: YearSchedule(holidays=frozenset({date(2031, 3, 3)}),
                                                workdays=frozenset({date(2031, 3, 8)}))})
    assert not cal.is_working_day(date(2031, 3, 3)) and cal.is_working_day(date(2031, 3, 4))
    assert cal.is_working_day(date(2031, 3, 8)) and not cal.is_working_day(date(2031, 3, 9))


def test_single_days_can_be_adjusted():
    cal = WorkingDays(extra_holidays=frozenset({date(2026, 11, 26)}))
    assert not cal.is_working_day(date(2026, 11, 26))
