"""The monthly report, on time by itself: generated on the first working day after the month ends."""

from __future__ import annotations

from datetime import datetime, time as dtime
from zoneinfo import ZoneInfo

import structlog

from models.monthly_report import due_date, month_key, previous_month
from streams import metrics
from streams.codec import encode
from streams.reports.monthly import announcement, generate
from streams.runtime import Runtime
from streams.store import report_store

log = structlog.get_logger("claims_dispatch.monthly_report")
CHECK_EVERY_S = 15.0  # a cheap query; also keeps the published/due gauges fresh


async def publish_if_due(rt: Runtime, now: datetime, publish=None) -> str | None:
    """Generate and announce last month's report if it is time and nobody has yet. Returns the month if done.

    ``publish`` sends records (default: the worker's producer)."""
    publish = publish or rt.publish
    rules, calendar = rt.callback_rules, rt.calendar
    local = now.astimezone(ZoneInfo(rules.timezone))
    month = previous_month(month_key(local.year, local.month))
    due = due_date(month, calendar)
    metrics.MONTHLY_REPORT_DUE.set(datetime.combine(due.day, dtime.max, ZoneInfo(rules.timezone)).timestamp())
    pool = await rt.pool()
    async with pool.acquire() as conn:
        published = await report_store.published_at(conn, month)
    metrics.MONTHLY_REPORT_PUBLISHED.set(1 if published else 0)
    first_working_day = calendar.nth_working_day(local.year, local.month, 1).day
    if published or local.date() < first_working_day:
        return None
    async with pool.acquire() as conn, conn.transaction():
        # One worker generates; the others find the lock taken and try again on their next check.
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext('monthly-report:' || $1))", month):
            return None
        if await report_store.published_at(conn, month):
            return None
        _report, paths = await generate(pool, month, now, rules, rt.rules.arrival, calendar,
                                        rt.settings.state_dir / "reports")
        await publish([encode("reports.monthly", announcement(month, paths, calendar, now))])
        await report_store.mark_published(conn, month, now)
    metrics.MONTHLY_REPORT_PUBLISHED.set(1)
    metrics.MONTHLY_REPORT_LAST_PUBLISHED.set(now.timestamp())
    log.info("monthly_report_published", month=month, due=due.day.isoformat(), due_provisional=due.provisional)
    return month


def register(app, rt: Runtime) -> None:
    @app.timer(interval=CHECK_EVERY_S)
    async def monthly_report():
        try:
            await publish_if_due(rt, rt.now())
        except Exception:
            metrics.WATCHDOG_RUNS.labels("failed").inc()
            log.exception("monthly_report_failed")
