"""The report's arithmetic on rows small enough to count by hand (the integration test runs the same month
through PostgreSQL and the renderers)."""

from datetime import date

from models.callback_rules import CallbackRules
from models.monthly_report import MonthRows, build_report, due_date, nearest_rank
from models.working_days import WorkingDays
from models.zones import ArrivalLimits

CAL = WorkingDays()


def test_due_dates_are_the_fifth_working_day_of_the_next_month():
    assert due_date("2025-12", CAL) == date(2026, 1, 8)   # 2026-01-04 is a make-up working day
    assert due_date("2026-09", CAL) == date(2026, 10, 13)  # after the National Day holiday
    assert due_date("2026-10", CAL) == date(2026, 11, 6)


def test_nearest_rank_percentiles():
    assert nearest_rank([40, 20], 0.5) == 20 and nearest_rank([40, 20], 0.9) == 40
    assert nearest_rank([], 0.5) is None


def task(kind, state, success, channel=None, problem=False, satisfaction=None, overdue=False, attempts=1):
    return {"kind": kind, "state": state, "success": success, "success_channel": channel, "problem_case": problem,
            "satisfaction": satisfaction, "overdue": overdue, "attempts": attempts}


def test_observations_name_the_shortfall_in_callbacks():
    rows = MonthRows(
        decisions=[{"kind": "closure", "eligible": True, "exclusion_reason": None, "selected": True}] * 100,
        tasks=[task("closure", "reached", True, "phone")] * 47 + [task("closure", "refused", False)] * 53)
    report = build_report("2026-10", rows, MonthRows(), CallbackRules(), ArrivalLimits(), CAL)
    assert "closure callbacks 47% against a 50% target: 3 more successful callbacks were needed." in \
        report["observations"]
