"""The report's arithmetic on rows small enough to count by hand (the integration test runs the same month
through PostgreSQL and the renderers)."""

from datetime import date

from models.callbacks.rules import CallbackRules
from models.reporting.monthly import MonthRows, build_report, due_date, due_text, nearest_rank
from models.working_days import Reckoned, WorkingDays
from models.dispatch.zones import ArrivalLimits

CAL = WorkingDays()


def test_due_dates_are_the_fifth_working_day_of_the_next_month():
    assert due_date("2025-12", CAL) == Reckoned(date(2026, 1, 8), False)   # 2026-01-04 is a make-up working day
    assert due_date("2026-09", CAL) == Reckoned(date(2026, 10, 13), False)  # after the National Day holiday
    assert due_date("2026-10", CAL) == Reckoned(date(2026, 11, 6), False)


def test_the_december_report_is_due_on_a_provisional_date_when_january_is_not_published():
    cal = WorkingDays(published_until=2026)
    # Provisional January 2027: the 1st a holiday, the 2nd and 3rd a weekend, then 4-8 January.
    assert due_date("2026-12", cal) == Reckoned(date(2027, 1, 8), True)
    report = build_report("2026-12", MonthRows(), MonthRows(), CallbackRules(), ArrivalLimits(), cal)
    assert report["due_date"] == "2027-01-08" and report["due_date_provisional"] is True
    assert due_text(report).startswith("2027-01-08 (provisional")
    assert due_text(build_report("2026-11", MonthRows(), MonthRows(), CallbackRules(), ArrivalLimits(), cal)) \
        == "2026-12-07"


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


def test_an_empty_months_charts_say_there_is_nothing_rather_than_draw_an_empty_axis(monkeypatch):
    from streams.reports import charts

    drawn = []
    monkeypatch.setattr(charts, "_data_uri", lambda fig: drawn.append(fig) or "data:")
    report = build_report("2026-11", MonthRows(), MonthRows(), CallbackRules(), ArrivalLimits(), CAL)
    for chart in (charts.success_vs_target, charts.time_to_scene, charts.findings_by_department):
        chart(report)
    texts = [t.get_text() for fig in drawn for ax in fig.axes for t in ax.texts]
    assert texts == ["no eligible callback events this month", "no arrivals this month", "no findings this month"]
    assert drawn[0].axes[0].get_ylim() == (0, 110) and list(drawn[0].axes[0].get_xticks()) == []
