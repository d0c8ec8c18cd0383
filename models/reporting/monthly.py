"""The monthly callback analysis report: figures aggregated from plain rows, and observations in words.

Pure: the store hands in the month's rows, this makes the figures an auditor
can recount by hand. Percentiles are nearest-rank (the value at rank ⌈q·n⌉).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from models.contract.callback_events import CallbackKind
from models.callbacks.progress import CallbackState
from models.callbacks.rules import CallbackRules
from models.working_days import Reckoned, WorkingDays
from models.dispatch.tasks import arrived_on_time
from models.dispatch.zones import ArrivalLimits, Zone


@dataclass(frozen=True)
class MonthRows:
    """Everything the report counts, for one month (local time)."""

    decisions: list[dict] = field(default_factory=list)   # kind, eligible, exclusion_reason, selected
    tasks: list[dict] = field(default_factory=list)       # kind, state, success, success_channel, problem_case,
    #                                                       satisfaction, overdue, attempts
    findings: list[dict] = field(default_factory=list)    # kind, department, status, overdue
    claims: list[dict] = field(default_factory=list)      # zone, linked_by (duplicates), never_surveyed
    arrivals: list[dict] = field(default_factory=list)    # zone, minutes_to_scene, met
    missed: list[dict] = field(default_factory=list)      # zone (deadline passed, never arrived)
    escalations: list[dict] = field(default_factory=list)  # reason
    reassignments: list[dict] = field(default_factory=list)  # reason


def month_key(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def previous_month(month: str) -> str:
    y, m = map(int, month.split("-"))
    return month_key(y - 1, 12) if m == 1 else month_key(y, m - 1)


def due_date(month: str, calendar: WorkingDays, working_days: int = 5) -> Reckoned:
    """The report for ``month`` is due on the 5th working day of the following month."""
    y, m = map(int, month.split("-"))
    y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return calendar.nth_working_day(y, m, working_days)


def due_text(report: dict) -> str:
    """The due date as a reader sees it: with the mark when it was reckoned on a provisional holiday calendar."""
    if report.get("due_date_provisional"):
        return (f"{report['due_date']} (provisional: {report['due_date'][:4]}'s official holiday schedule is not "
                f"published yet)")
    return report["due_date"]


def nearest_rank(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _ratio(a: int, b: int) -> float | None:
    return None if b == 0 else a / b


def callback_figures(rows: MonthRows, rules: CallbackRules) -> dict[str, dict]:
    figures = {}
    for kind in CallbackKind:
        decisions = [d for d in rows.decisions if d["kind"] == kind.value]
        tasks = [t for t in rows.tasks if t["kind"] == kind.value]
        eligible = sum(1 for d in decisions if d["eligible"])
        excluded: dict[str, int] = {}
        for d in decisions:
            if not d["eligible"]:
                excluded[d["exclusion_reason"]] = excluded.get(d["exclusion_reason"], 0) + 1
        successes = [t for t in tasks if t["success"]]
        by_channel: dict[str, int] = {}
        for t in successes:
            by_channel[t["success_channel"]] = by_channel.get(t["success_channel"], 0) + 1
        attempts = sum(t["attempts"] for t in tasks)
        satisfaction = {str(s): sum(1 for t in tasks if t["satisfaction"] == s) for s in range(1, 6)}
        target = rules.kinds[kind].target
        success_rate = _ratio(len(successes), eligible)
        closed: dict[str, int] = {}
        for t in tasks:
            if t["state"] != CallbackState.OPEN:
                closed[t["state"]] = closed.get(t["state"], 0) + 1
        figures[kind.value] = {
            "target": target,
            "triggers": len(decisions),
            "eligible": eligible,
            "excluded": dict(sorted(excluded.items())),
            "tasks": len(tasks),
            "attempts": attempts,
            "successes": len(successes),
            "successes_by_channel": dict(sorted(by_channel.items())),
            "success_rate": success_rate,
            "coverage_rate": _ratio(len(tasks), eligible),
            "meets_target": None if success_rate is None else success_rate >= target,
            "successes_needed": max(0, math.ceil(target * eligible - 1e-9) - len(successes)),
            "problem_cases": sum(1 for t in tasks if t["problem_case"]),
            "open": sum(1 for t in tasks if t["state"] == CallbackState.OPEN),
            "overdue": sum(1 for t in tasks if t["overdue"]),
            "ended": dict(sorted(closed.items())),
            "attempts_per_success": None if not successes else round(attempts / len(successes), 2),
            "satisfaction": satisfaction,
        }
    return figures


def finding_figures(rows: MonthRows) -> dict:
    by_kind: dict[str, int] = {}
    by_department: dict[str, dict[str, int]] = {}
    for f in rows.findings:
        by_kind[f["kind"]] = by_kind.get(f["kind"], 0) + 1
        d = by_department.setdefault(f["department"], {"total": 0, "open": 0, "closed": 0, "overdue": 0})
        d["total"] += 1
        d["open" if f["status"] == "open" else "closed"] += 1
        d["overdue"] += 1 if f["overdue"] else 0
    return {"total": len(rows.findings), "by_kind": dict(sorted(by_kind.items())),
            "by_department": dict(sorted(by_department.items()))}


def dispatch_figures(rows: MonthRows, limits: ArrivalLimits) -> dict:
    zones = {}
    limit = {Zone.URBAN: limits.urban_minutes, Zone.SUBURBAN: limits.suburban_minutes, Zone.FAR: limits.far_minutes,
             Zone.REMOTE: None}
    for zone in Zone:
        arrivals = [a for a in rows.arrivals if a["zone"] == zone.value]
        minutes = [a["minutes_to_scene"] for a in arrivals]
        due = len(arrivals) + sum(1 for m in rows.missed if m["zone"] == zone.value)
        zones[zone.value] = {
            "reports": sum(1 for c in rows.claims if c["zone"] == zone.value),
            "arrived": len(arrivals),
            "limit_minutes": limit[zone],
            "time_to_scene_p50_min": nearest_rank(minutes, 0.5),
            "time_to_scene_p90_min": nearest_rank(minutes, 0.9),
            "deadline_met_ratio": _ratio(sum(1 for a in arrivals if arrived_on_time(a["arrived_at"], a["deadline_at"])), due),
        }
    count = lambda items: dict(sorted(_tally(i["reason"] for i in items).items()))  # noqa: E731
    return {"reports": len(rows.claims), "by_zone": zones, "escalations": count(rows.escalations),
            "reassignments": count(rows.reassignments), "duplicates": duplicate_figures(rows)}


def duplicate_figures(rows: MonthRows) -> dict[str, int]:
    """Reports that were another report of an accident with a claim: linked on arrival, merged by a dispatcher,
    and the surveyor trips that saved (every one linked on arrival; a merged one whose surveyor had not yet
    reached the scene)."""
    intake = sum(1 for c in rows.claims if c.get("linked_by") == "intake")
    merged = [c for c in rows.claims if c.get("linked_by") == "merge_duplicate"]
    return {"linked_at_intake": intake, "merged_by_dispatcher": len(merged),
            "surveyor_trips_saved": intake + sum(1 for c in merged if c.get("never_surveyed"))}


def _tally(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def build_report(month: str, rows: MonthRows, previous: MonthRows, rules: CallbackRules, limits: ArrivalLimits,
                 calendar: WorkingDays) -> dict:
    """The figures of the month, with the previous month's for comparison, and the observations."""
    report = {
        "month": month,
        "due_date": (due := due_date(month, calendar)).day.isoformat(),
        "due_date_provisional": due.provisional,
        "callbacks": callback_figures(rows, rules),
        "findings": finding_figures(rows),
        "dispatch": dispatch_figures(rows, limits),
    }
    before = callback_figures(previous, rules)
    for kind, f in report["callbacks"].items():
        f["previous"] = {"eligible": before[kind]["eligible"], "success_rate": before[kind]["success_rate"]}
    report["dispatch"]["previous"] = {"reports": len(previous.claims)}
    report["observations"] = observations(report)
    return report


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f}%"


def observations(report: dict) -> list[str]:
    """A few sentences a manager can act on, generated from the figures."""
    notes = []
    for kind, f in report["callbacks"].items():
        if not f["eligible"]:
            continue
        rate, target = f["success_rate"], f["target"]
        if target < 1 and rate is not None and rate < target:
            n = f["successes_needed"]
            notes.append(f"{kind} callbacks {_pct(rate)} against a {_pct(target)} target: "
                         f"{n} more successful callback{'s were' if n != 1 else ' was'} needed.")
        elif target >= 1 and f["coverage_rate"] is not None and f["coverage_rate"] < 1:
            notes.append(f"{kind}: {f['eligible'] - f['tasks']} of {f['eligible']} eligible events got no callback task.")
        elif target >= 1 and rate is not None and rate < 1:
            failed = {k: v for k, v in f["ended"].items() if k not in ("reached", "problem_case")}
            why = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in failed.items()) or f"{f['open']} still open"
            notes.append(f"{kind} callbacks reached {_pct(rate)} ({f['successes']} of {f['eligible']}); "
                         f"not reached: {why}.")
        elif rate is not None and rate >= target:
            notes.append(f"{kind} callbacks {_pct(rate)}, target {_pct(target)} met.")
        prev = f["previous"]["success_rate"]
        if prev is not None and rate is not None and abs(rate - prev) >= 0.05:
            notes.append(f"{kind} success rate {'rose' if rate > prev else 'fell'} from {_pct(prev)} to {_pct(rate)}"
                         f" since last month.")
        if f["problem_cases"]:
            notes.append(f"{f['problem_cases']} {kind} callback(s) were problem cases to follow up.")
    tips = report["findings"]["by_kind"].get("tip_off", 0)
    if tips:
        notes.append(f"{tips} tip-off(s) were passed to anti-fraud.")
    overdue = sum(d["overdue"] for d in report["findings"]["by_department"].values())
    if overdue:
        notes.append(f"{overdue} finding(s) are past their follow-up deadline.")
    zones = [(z, f) for z, f in report["dispatch"]["by_zone"].items() if f["deadline_met_ratio"] is not None]
    if zones:
        worst, f = min(zones, key=lambda zf: zf[1]["deadline_met_ratio"])
        p90 = f["time_to_scene_p90_min"]
        speed = "no surveyor arrived" if p90 is None else f"p90 time to scene {p90:.0f} min"
        limit = f", limit {f['limit_minutes']:g} min" if f["limit_minutes"] else ""
        notes.append(f"Arrival deadlines met: lowest in the {worst} zone at {_pct(f['deadline_met_ratio'])} "
                     f"({speed}{limit}).")
    esc = report["dispatch"]["escalations"]
    if esc:
        reason, n = max(esc.items(), key=lambda kv: kv[1])
        notes.append(f"{sum(esc.values())} escalation(s) to dispatchers, most often {reason.replace('_', ' ')} ({n}).")
    return notes
