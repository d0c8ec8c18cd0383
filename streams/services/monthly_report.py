"""The monthly callback report's handler: generated and announced once, on the first working day after
the month ends (due by the fifth: docs/domain.md), by whichever worker gets there first."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

from models.callbacks.rules import CallbackRules
from models.contract.event import derived_event_id
from models.reporting.monthly import due_date, month_key, previous_month
from models.working_days import Reckoned, WorkingDays
from models.dispatch.zones import ArrivalLimits
from streams.codec import Outgoing, encode
from streams.reports.monthly import announcement, generate
from streams.services.unit_of_work import UnitOfWork, unit_of_work
from streams.store import report_store

CONSUMER = "monthly-report"


@dataclass(frozen=True)
class ReportContext:
    rules: CallbackRules
    limits: ArrivalLimits
    calendar: WorkingDays
    out_dir: Path


@dataclass
class Check:
    """One check: the month reported on, its due date, and whether it is published (now or before)."""

    month: str
    due: Reckoned
    published: bool = False
    generated_now: bool = False
    outputs: list[Outgoing] = field(default_factory=list)


async def announce(uow: UnitOfWork, month: str, paths: dict[str, str], calendar: WorkingDays, now: datetime) -> None:
    """Queue the report's announcement on reports.monthly and mark the report published, together."""
    record = encode("reports.monthly", announcement(month, paths, calendar, now))
    uow.queue(derived_event_id("monthly-report", month), [record])
    await report_store.mark_published(uow.conn, month, now)


async def publish_if_due(pool: asyncpg.Pool, now: datetime, ctx: ReportContext) -> Check:
    """Generate and announce last month's report if it is time and nobody has yet."""
    local = now.astimezone(ZoneInfo(ctx.rules.timezone))
    month = previous_month(month_key(local.year, local.month))
    check = Check(month, due_date(month, ctx.calendar))
    async with pool.acquire() as conn:
        check.published = await report_store.published_at(conn, month) is not None
    first_working_day = ctx.calendar.nth_working_day(local.year, local.month, 1).day
    if check.published or local.date() < first_working_day:
        return check
    async with unit_of_work(pool, CONSUMER) as uow:
        # One worker generates; the others find the lock taken and try again on their next check.
        if not await report_store.try_lock_month(uow.conn, month):
            return check
        if await report_store.published_at(uow.conn, month):
            check.published = True
            return check
        _report, paths = await generate(pool, month, now, ctx.rules, ctx.limits, ctx.calendar, ctx.out_dir)
        await announce(uow, month, paths, ctx.calendar, now)
    check.published = check.generated_now = True
    check.outputs = uow.outputs
    return check
