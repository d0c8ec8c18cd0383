"""The monthly report, on time by itself: a timer asks the handler whether last month's report is due."""

from __future__ import annotations

from datetime import datetime, time as dtime
from zoneinfo import ZoneInfo

import structlog

from streams import metrics
from streams.runtime import Runtime
from streams.services.monthly_report import publish_if_due

log = structlog.get_logger("claims_dispatch.monthly_report")
CHECK_EVERY_S = 15.0  # a cheap query; also keeps the published/due gauges fresh


async def check(rt: Runtime, now: datetime) -> str | None:
    """One check, counted by outcome: the report generated and announced if due; returns the month if this
    worker did it."""
    try:
        month = await _check(rt, now)
    except Exception:
        metrics.MONTHLY_REPORT_CHECKS.labels("failed").inc()
        raise
    metrics.MONTHLY_REPORT_CHECKS.labels("ok").inc()
    return month


async def _check(rt: Runtime, now: datetime) -> str | None:
    done = await publish_if_due(await rt.pool(), now, rt.reports)
    zone = ZoneInfo(rt.callback_rules.timezone)
    metrics.MONTHLY_REPORT_DUE.set(datetime.combine(done.due.day, dtime.max, zone).timestamp())
    metrics.MONTHLY_REPORT_PUBLISHED.set(1 if done.published else 0)
    if not done.generated_now:
        return None
    await rt.publish_outbox(done.outputs)
    metrics.MONTHLY_REPORT_LAST_PUBLISHED.set(now.timestamp())
    log.info("monthly_report_published", month=done.month, due=done.due.day.isoformat(),
             due_provisional=done.due.provisional)
    return done.month
