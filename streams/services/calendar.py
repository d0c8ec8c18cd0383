"""The calendar's year-end turn: which years are known, how many open dates are provisional, and recomputing
them when a year's official schedule arrives (configured, or a new package version).

The rules are the models' own (``due_at``, ``expires_at``, ``follow_up_due``, ``due_date``): a recomputed
date is exactly what a trigger arriving now with the same time would get. Every moved date is logged,
counted and kept in ``calendar_recomputations``; a date that comes out the same only loses its mark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import asyncpg
import structlog

from models.contract.callback_events import CallbackKind, FindingKind
from models.callbacks.rules import CallbackRules
from models.callbacks.schedule import due_at, expires_at
from models.callbacks.findings import follow_up_due
from models.reporting.monthly import due_date
from models.working_days import ScheduleSource, WorkingDays, package_versions
from streams.store import calendar_store

log = structlog.get_logger("claims_dispatch.calendar")


@dataclass(frozen=True)
class Move:
    item: str       # callback_task, finding, monthly_report
    item_id: str
    field: str
    old: str
    new: str
    provisional: bool


@dataclass
class Recomputed:
    moved: list[Move] = field(default_factory=list)
    confirmed: dict[str, int] = field(default_factory=dict)   # item → dates unchanged, no longer provisional
    still_provisional: dict[str, int] = field(default_factory=dict)

    def moved_by_item(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in self.moved:
            out[m.item] = out.get(m.item, 0) + 1
        return out


def years_status(calendar: WorkingDays, today: date) -> dict[int, str]:
    """The source of last year's, this year's, next year's and every configured year's schedule."""
    years = sorted({today.year - 1, today.year, today.year + 1, *calendar.years})
    return {y: calendar.source(y).value for y in years}


def days_until_provisional(calendar: WorkingDays, today: date) -> dict[int, int]:
    """For this year and the next, if its schedule is provisional: the days until it starts (0: in it now)."""
    return {y: max(0, (date(y, 1, 1) - today).days) for y in (today.year, today.year + 1)
            if calendar.source(y) is ScheduleSource.PROVISIONAL}


async def open_provisional(pool: asyncpg.Pool) -> dict[str, int]:
    async with pool.acquire() as conn:
        return await calendar_store.provisional_counts(conn)


async def status(pool: asyncpg.Pool | None, calendar: WorkingDays, today: date) -> dict:
    info = {"today": today.isoformat(), "packages": package_versions(), "years": years_status(calendar, today),
            "configured_years": sorted(calendar.years),
            "first_provisional_day": (d.isoformat() if (d := calendar.first_provisional_day(today)) else None)}
    if pool is not None:
        info["open_provisional"] = await open_provisional(pool)
    return info


async def recompute(pool: asyncpg.Pool, rules: CallbackRules, calendar: WorkingDays, now: datetime,
                    dry_run: bool = False) -> Recomputed:
    """Recompute every open provisional date with ``calendar``; write the moves unless ``dry_run``."""
    result, tz = Recomputed(), ZoneInfo(rules.timezone)
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            await calendar_store.lock(conn)
            for row in await calendar_store.provisional_tasks(conn):
                due = due_at(CallbackKind(row["kind"]), row["triggered_at"], rules, calendar)
                expiry = expires_at(due, rules, calendar)
                task_id = str(row["task_id"])
                for name, old, new in (("due_at", row["due_at"], due), ("expires_at", row["expires_at"], expiry)):
                    if old != new.at:
                        result.moved.append(Move("callback_task", task_id, name, old.astimezone(tz).isoformat(),
                                                 new.at.isoformat(), new.provisional))
                _tally(result, "callback_task", expiry.provisional,
                       not (row["due_at"] != due.at or row["expires_at"] != expiry.at))
                if not dry_run:
                    await calendar_store.set_task_dates(conn, row["task_id"], row["source_event_id"], due.at,
                                                        due.provisional, expiry.at, expiry.provisional)
            for row in await calendar_store.provisional_findings(conn):
                due = follow_up_due(FindingKind(row["kind"]), row["created_at"], rules, calendar)
                if row["follow_up_due_at"] != due.at:
                    result.moved.append(Move("finding", str(row["finding_id"]), "follow_up_due_at",
                                             row["follow_up_due_at"].astimezone(tz).isoformat(), due.at.isoformat(),
                                             due.provisional))
                _tally(result, "finding", due.provisional, row["follow_up_due_at"] == due.at)
                if not dry_run:
                    await calendar_store.set_finding_due(conn, row["finding_id"], due.at, due.provisional)
            for row in await calendar_store.provisional_reports(conn):
                due = due_date(row["month"], calendar)
                if row["due_date"] != due.day:
                    result.moved.append(Move("monthly_report", row["month"], "due_date", row["due_date"].isoformat(),
                                             due.day.isoformat(), due.provisional))
                _tally(result, "monthly_report", due.provisional, row["due_date"] == due.day)
                if not dry_run:
                    await calendar_store.set_report_due(conn, row["month"], due.day, due.provisional)
            if not dry_run:
                for m in result.moved:
                    await calendar_store.record_change(conn, m.item, m.item_id, m.field, m.old, m.new,
                                                       m.provisional, now)
        except BaseException:
            await tx.rollback()
            raise
        else:
            await (tx.rollback() if dry_run else tx.commit())
    for m in result.moved:
        log.info("calendar_date_moved", item=m.item, item_id=m.item_id, field=m.field, old=m.old, new=m.new,
                 provisional=m.provisional, dry_run=dry_run)
    return result


def _tally(result: Recomputed, item: str, provisional: bool, unchanged: bool) -> None:
    if provisional:
        result.still_provisional[item] = result.still_provisional.get(item, 0) + 1
    elif unchanged:
        result.confirmed[item] = result.confirmed.get(item, 0) + 1


def local_today(now: datetime, rules: CallbackRules) -> date:
    return now.astimezone(ZoneInfo(rules.timezone)).date()

