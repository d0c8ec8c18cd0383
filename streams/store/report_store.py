"""Reading a month's rows for the monthly report, and keeping the reports."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import asyncpg

from models.reporting.monthly import MonthRows
from models.dispatch.tasks import TaskStatus
from streams.store.states import WITHDRAWN_SQL

DECLINED, CANCELLED = TaskStatus.DECLINED.value, TaskStatus.CANCELLED.value


def month_bounds(month: str, timezone: str) -> tuple[datetime, datetime]:
    y, m = map(int, month.split("-"))
    tz = ZoneInfo(timezone)
    start = datetime(y, m, 1, tzinfo=tz)
    end = datetime(y + 1, 1, 1, tzinfo=tz) if m == 12 else datetime(y, m + 1, 1, tzinfo=tz)
    return start, end


async def month_rows(conn: asyncpg.Connection, month: str, timezone: str, now: datetime) -> MonthRows:
    """Callback figures belong to the month of their trigger; dispatch figures to the month of the report."""
    start, end = month_bounds(month, timezone)
    decisions = await conn.fetch(
        "SELECT kind, eligible, exclusion_reason, selected FROM callback_decisions WHERE month = $1", month)
    tasks = await conn.fetch(
        """
        SELECT t.kind, t.state, t.success, t.success_channel, t.problem_case, t.satisfaction,
               t.overdue_at IS NOT NULL AS overdue,
               (SELECT count(*) FROM callback_attempts a WHERE a.task_id = t.task_id) AS attempts
          FROM callback_tasks t WHERE t.month = $1
        """, month)
    findings = await conn.fetch(
        """
        SELECT f.kind, f.department, f.status, (f.status = 'open' AND f.follow_up_due_at < $2) AS overdue
          FROM findings f JOIN callback_tasks t USING (task_id) WHERE t.month = $1
        """, month, now)
    in_month = "c.reported_at >= $1 AND c.reported_at < $2"
    claims = await conn.fetch(
        f"""
        SELECT c.zone, c.linked_by,
               NOT EXISTS (SELECT 1 FROM survey_tasks t WHERE t.report_id = c.report_id AND t.arrived_at IS NOT NULL)
                   AS never_surveyed
          FROM claims c WHERE {in_month}
        """, start, end)
    arrivals = await conn.fetch(
        f"""
        SELECT t.zone, extract(epoch FROM t.arrived_at - c.reported_at) / 60.0 AS minutes_to_scene,
               t.arrived_at, t.deadline_at
          FROM survey_tasks t JOIN claims c USING (report_id)
         WHERE {in_month} AND t.arrived_at IS NOT NULL AND t.status NOT IN {WITHDRAWN_SQL}
        """, start, end)
    missed = await conn.fetch(
        f"""
        SELECT t.zone FROM survey_tasks t JOIN claims c USING (report_id)
         WHERE {in_month} AND t.arrival_missed_at IS NOT NULL AND t.arrived_at IS NULL
        """, start, end)
    escalations = await conn.fetch(
        f"SELECT e.reason FROM escalations e JOIN claims c USING (report_id) WHERE {in_month}", start, end)
    reassignments = await conn.fetch(
        f"""
        SELECT CASE WHEN t.status = '{DECLINED}' THEN '{DECLINED}' ELSE t.cancel_reason END AS reason
          FROM survey_tasks t JOIN claims c USING (report_id)
         WHERE {in_month} AND (t.status = '{DECLINED}' OR (t.status = '{CANCELLED}' AND t.cancel_reason IS NOT NULL))
        """, start, end)

    def rows(records):
        return [dict(r) for r in records]

    arrivals_rows = [dict(r, minutes_to_scene=float(r["minutes_to_scene"])) for r in arrivals]
    return MonthRows(rows(decisions), rows(tasks), rows(findings), rows(claims), arrivals_rows, rows(missed),
                     rows(escalations), rows(reassignments))


async def save_report(conn: asyncpg.Connection, month: str, due_date: date, due_date_provisional: bool,
                      figures: dict, markdown: str, brief_markdown: str, html: str, brief_html: str,
                      now: datetime) -> None:
    await conn.execute(
        """
        INSERT INTO monthly_reports (month, due_date, due_date_provisional, generated_at, figures, markdown,
                                     brief_markdown, html, brief_html)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        ON CONFLICT (month) DO UPDATE SET due_date = EXCLUDED.due_date,
            due_date_provisional = EXCLUDED.due_date_provisional, generated_at = EXCLUDED.generated_at,
            figures = EXCLUDED.figures, markdown = EXCLUDED.markdown, brief_markdown = EXCLUDED.brief_markdown,
            html = EXCLUDED.html, brief_html = EXCLUDED.brief_html
        """,
        month, due_date, due_date_provisional, now, json.dumps(figures), markdown, brief_markdown, html, brief_html)


async def mark_published(conn: asyncpg.Connection, month: str, now: datetime) -> None:
    await conn.execute("UPDATE monthly_reports SET published_at = COALESCE(published_at, $2) WHERE month = $1",
                       month, now)


async def published_at(conn: asyncpg.Connection, month: str) -> datetime | None:
    return await conn.fetchval("SELECT published_at FROM monthly_reports WHERE month = $1", month)


async def try_lock_month(conn: asyncpg.Connection, month: str) -> bool:
    """The month's report lock for this transaction, if no one else holds it."""
    return await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext('monthly-report:' || $1))", month)
