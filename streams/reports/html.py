"""The report and the brief as self-contained HTML pages (charts embedded)."""

from __future__ import annotations

from html import escape

from models.reporting.monthly import due_text
from streams.reports import charts
from streams.reports.markdown import (CALLBACK_HEADER, ZONE_HEADER, brief_lines, callback_rows, counts,
                                     duplicates_line, zone_rows)

_STYLE = """
body { font-family: "Noto Sans", "Helvetica Neue", Arial, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; }
h1 { border-bottom: 2px solid #1565c0; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .8em 0; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th { background: #e3f2fd; } td:first-child, th:first-child { text-align: left; }
.missed { color: #c62828; font-weight: bold; } .met { color: #2e7d32; font-weight: bold; }
img { max-width: 100%; } .note { color: #555; font-size: 13px; }
"""


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body>{body}</body></html>\n")


def report_html(report: dict) -> str:
    m = report["month"]
    obs = "".join(f"<li>{escape(o)}</li>" for o in report["observations"]) or "<li>nothing to report</li>"
    excl = "".join(f"<li>{escape(k)}: {escape(counts(f['excluded']))}</li>" for k, f in report["callbacks"].items())
    sat = _table(["kind", "1", "2", "3", "4", "5"],
                 [[k, *(str(f["satisfaction"][s]) for s in "12345")] for k, f in report["callbacks"].items()])
    ended = "".join(f"<li>{escape(kind)}: {escape(counts(f['ended']))}; open {f['open']}</li>"
                    for kind, f in report["callbacks"].items())
    fnd = report["findings"]
    deps = _table(["department", "total", "open", "closed", "past follow-up date"],
                  [[d, str(v["total"]), str(v["open"]), str(v["closed"]), str(v["overdue"])]
                   for d, v in fnd["by_department"].items()])
    disp = report["dispatch"]
    body = f"""
<h1>Callback analysis report, {escape(m)}</h1>
<p class="note">Due {escape(due_text(report))} (5th working day of the following month).</p>
<h2>Observations</h2><ul>{obs}</ul>
<h2>Callbacks</h2>
<img alt="Callback success rate against target" src="{charts.success_vs_target(report)}">
{_table(CALLBACK_HEADER, callback_rows(report))}
<p class="note">Success: the customer reached in person with identity confirmed (problem cases included).
Coverage: eligible events given a callback task.</p>
<h3>Exclusions</h3><ul>{excl}</ul>
<h3>How tasks ended</h3><ul>{ended}</ul>
<h3>Satisfaction (1 = very unsatisfied, 5 = very satisfied)</h3>{sat}
<h2>Findings</h2>
<p>{fnd['total']} finding(s). By kind: {escape(counts(fnd['by_kind']))}.</p>
<img alt="Findings by department" src="{charts.findings_by_department(report)}">
{deps}
<h2>Dispatch</h2>
<p>{disp['reports']} loss report(s) (last month {disp['previous']['reports']}).</p>
<img alt="Time to scene by zone" src="{charts.time_to_scene(report)}">
{_table(ZONE_HEADER, zone_rows(report))}
<p>Escalations: {escape(counts(disp['escalations']))}.</p>
<p>{escape(duplicates_line(disp))}</p>
<p>Reassignments: {escape(counts(disp['reassignments']))}.</p>
"""
    return _page(f"Callback analysis report {m}", body)


def brief_html(report: dict) -> str:
    items = []
    for label, text, met in brief_lines(report):
        if met is None:
            items.append(f"<li><b>{escape(label)}</b>: {escape(text)}</li>")
        else:
            cls, word = ("met", "met") if met else ("missed", "missed")
            items.append(f"<li><b>{escape(label)}</b>: {escape(text)}, <span class='{cls}'>{word}</span>)</li>")
    obs = "".join(f"<li>{escape(o)}</li>" for o in report["observations"][:6]) or "<li>nothing to report</li>"
    body = f"""
<h1>Monthly brief, {escape(report['month'])}</h1>
<ul>{''.join(items)}</ul>
<h2>What stands out</h2><ul>{obs}</ul>
<p class="note">Full report: callback analysis report {escape(report['month'])} (due {escape(due_text(report))}).</p>
"""
    return _page(f"Monthly brief {report['month']}", body)
