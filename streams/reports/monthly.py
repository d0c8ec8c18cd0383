"""Generating a month's report and brief: figures from PostgreSQL, files, a stored copy, an announcement."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime
from pathlib import Path

import asyncpg

from models.callbacks.rules import CallbackRules
from models.contract.event import derived_event_id
from models.reporting.monthly import build_report, due_date, previous_month
from models.contract.monthly_report_events import MonthlyReportPublished
from models.working_days import WorkingDays
from models.dispatch.zones import ArrivalLimits
from streams.reports.html import brief_html, report_html
from streams.reports.markdown import brief_markdown, report_markdown
from streams.store import report_store


async def generate(pool: asyncpg.Pool, month: str, now: datetime, rules: CallbackRules, limits: ArrivalLimits,
                   calendar: WorkingDays, out_dir: Path) -> tuple[dict, dict[str, str]]:
    """Build the report for ``month``, write it to ``out_dir/<month>/`` and store it. Returns figures and files."""
    async with pool.acquire() as conn:
        rows = await report_store.month_rows(conn, month, rules.timezone, now)
        before = await report_store.month_rows(conn, previous_month(month), rules.timezone, now)
    # Building, charting (matplotlib) and writing take ~1.5 s of CPU: in a thread, so that the worker's event
    # loop, which also runs intake, is not held for that long at the start of a month (it was: a 1.5 s stall
    # in every dispatch decision in flight, seen in the pipeline bench).
    report, texts, paths = await asyncio.to_thread(_build_and_write, month, rows, before, rules, limits, calendar,
                                                   now, out_dir)
    async with pool.acquire() as conn:
        await report_store.save_report(conn, month, date.fromisoformat(report["due_date"]),
                                       report["due_date_provisional"], report,
                                       texts["report.md"], texts["brief.md"], texts["report.html"],
                                       texts["brief.html"], now)
    return report, paths


def _build_and_write(month: str, rows, before, rules: CallbackRules, limits: ArrivalLimits, calendar: WorkingDays,
                     now: datetime, out_dir: Path) -> tuple[dict, dict[str, str], dict[str, str]]:
    report = build_report(month, rows, before, rules, limits, calendar)
    report["generated_at"] = now.isoformat()
    texts = {"report.json": json.dumps(report, indent=2, ensure_ascii=False) + "\n",
             "report.md": report_markdown(report), "brief.md": brief_markdown(report),
             "report.html": report_html(report), "brief.html": brief_html(report)}
    folder = out_dir / month
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
        paths[name] = str((folder / name).absolute())
    return report, texts, paths


def announcement(month: str, paths: dict[str, str], calendar: WorkingDays, now: datetime) -> MonthlyReportPublished:
    locations = {"html": paths["report.html"], "markdown": paths["report.md"], "json": paths["report.json"],
                 "brief_html": paths["brief.html"], "brief_markdown": paths["brief.md"],
                 "database": f"monthly_reports/{month}"}
    due = due_date(month, calendar)
    return MonthlyReportPublished(event_id=derived_event_id("monthly-report", month), occurred_at=now, month=month,
                                  due_date=due.day, due_date_provisional=due.provisional, locations=locations)
