"""The report and the brief as Markdown."""

from __future__ import annotations

from models.reporting.monthly import due_text


def pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def num(x, digits: int = 1) -> str:
    return "—" if x is None else (f"{x:.{digits}f}" if isinstance(x, float) else str(x))


def callback_rows(report: dict) -> list[list[str]]:
    rows = []
    for kind, f in report["callbacks"].items():
        channels = ", ".join(f"{c} {n}" for c, n in f["successes_by_channel"].items()) or "—"
        prev = f["previous"]["success_rate"]
        rows.append([kind, pct(f["target"]), str(f["eligible"]), str(sum(f["excluded"].values())), str(f["tasks"]),
                     str(f["attempts"]), f"{f['successes']} ({channels})", pct(f["success_rate"]),
                     pct(f["coverage_rate"]), str(f["problem_cases"]), str(f["overdue"]),
                     num(f["attempts_per_success"], 2), pct(prev)])
    return rows


CALLBACK_HEADER = ["kind", "target", "eligible", "excluded", "tasks", "attempts", "successes (by channel)",
                   "success rate", "coverage", "problem cases", "overdue", "attempts / success", "last month"]
ZONE_HEADER = ["zone", "reports", "arrived", "time to scene p50 (min)", "p90 (min)", "limit (min)", "deadline met"]


def zone_rows(report: dict) -> list[list[str]]:
    return [[z, str(f["reports"]), str(f["arrived"]), num(f["time_to_scene_p50_min"]),
             num(f["time_to_scene_p90_min"]), num(f["limit_minutes"], 0) if f["limit_minutes"] else "agreed",
             pct(f["deadline_met_ratio"])] for z, f in report["dispatch"]["by_zone"].items()]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def duplicates_line(disp: dict) -> str:
    d = disp.get("duplicates") or {"linked_at_intake": 0, "merged_by_dispatcher": 0, "surveyor_trips_saved": 0}
    return (f"Duplicate reports: {d['linked_at_intake']} linked on arrival, {d['merged_by_dispatcher']} merged by a "
            f"dispatcher; surveyor trips saved: {d['surveyor_trips_saved']}.")


def counts(d: dict) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in d.items()) or "none"


def report_markdown(report: dict) -> str:
    month = report["month"]
    parts = [f"# Callback analysis report, {month}", "",
             f"Due {due_text(report)} (5th working day of the following month).", "",
             "## Observations", ""]
    parts += [f"- {o}" for o in report["observations"]] or ["- nothing to report"]
    parts += ["", "## Callbacks", "", table(CALLBACK_HEADER, callback_rows(report)), "",
              "Success: the customer reached in person with identity confirmed (problem cases included). "
              "Coverage: eligible events given a callback task.", "", "### Exclusions", ""]
    parts += [f"- {kind}: {counts(f['excluded'])}" for kind, f in report["callbacks"].items()]
    parts += ["", "### How tasks ended", ""]
    parts += [f"- {kind}: {counts(f['ended'])}; open {f['open']}" for kind, f in report["callbacks"].items()]
    parts += ["", "### Satisfaction (1 = very unsatisfied, 5 = very satisfied)", "",
              table(["kind", "1", "2", "3", "4", "5"],
                    [[k, *(str(f["satisfaction"][s]) for s in "12345")] for k, f in report["callbacks"].items()])]
    fnd = report["findings"]
    parts += ["", "## Findings", "", f"{fnd['total']} finding(s). By kind: {counts(fnd['by_kind'])}.", "",
              table(["department", "total", "open", "closed", "past follow-up date"],
                    [[d, str(v["total"]), str(v["open"]), str(v["closed"]), str(v["overdue"])]
                     for d, v in fnd["by_department"].items()])]
    disp = report["dispatch"]
    parts += ["", "## Dispatch", "", f"{disp['reports']} loss report(s) (last month {disp['previous']['reports']}).",
              "", table(ZONE_HEADER, zone_rows(report)), "",
              f"Escalations: {counts(disp['escalations'])}.", "", duplicates_line(disp), "", f"Reassignments: {counts(disp['reassignments'])}.",
              ""]
    return "\n".join(parts)


def brief_lines(report: dict) -> list[tuple[str, str, bool | None]]:
    """The brief's key figures: (label, text, target met or None), the same in Markdown and HTML."""
    lines = []
    for kind, f in report["callbacks"].items():
        if f["eligible"]:
            lines.append((kind, f"{pct(f['success_rate'])} of {f['eligible']} eligible (target {pct(f['target'])}",
                          f["meets_target"]))
    disp = report["dispatch"]
    arrived = sum(z["arrived"] for z in disp["by_zone"].values())
    lines.append(("dispatch", f"{disp['reports']} reports, {arrived} surveyor arrivals, "
                              f"{sum(disp['escalations'].values())} escalations", None))
    lines.append(("findings", f"{report['findings']['total']} routed to departments", None))
    return lines


def brief_markdown(report: dict) -> str:
    lines = [f"# Monthly brief, {report['month']}", ""]
    for label, text, met in brief_lines(report):
        suffix = "" if met is None else (", met)" if met else ", missed)")
        lines.append(f"- **{label}**: {text}{suffix}")
    lines += ["", "## What stands out", ""]
    lines += [f"- {o}" for o in report["observations"][:6]] or ["- nothing to report"]
    lines += ["", f"Full report: callback analysis report {report['month']} (due {due_text(report)}).", ""]
    return "\n".join(lines)
