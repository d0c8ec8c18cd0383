"""The rows whose dates rest on a provisional holiday calendar: counted, read, rewritten, and each move recorded."""

from __future__ import annotations

import json
from datetime import date, datetime

import asyncpg

from streams.store.states import CALLBACK_OPEN_SQL

#: Serialises recomputations (several workers start at once; an operator may run the command meanwhile).
_LOCK = "calendar-recompute"


async def provisional_counts(conn: asyncpg.Connection) -> dict[str, int]:
    """Open items whose dates were reckoned on a provisional calendar, by item."""
    row = await conn.fetchrow(
        f"""
        SELECT (SELECT count(*) FROM callback_tasks
                 WHERE state = {CALLBACK_OPEN_SQL} AND (due_provisional OR expires_provisional)) AS callback_task,
               (SELECT count(*) FROM findings WHERE status = 'open' AND follow_up_provisional) AS finding,
               (SELECT count(*) FROM monthly_reports WHERE due_date_provisional) AS monthly_report
        """)
    return dict(row)


async def lock(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", _LOCK)


async def provisional_tasks(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT task_id, source_event_id, kind, triggered_at, due_at, expires_at FROM callback_tasks"
        f" WHERE state = {CALLBACK_OPEN_SQL} AND (due_provisional OR expires_provisional) ORDER BY task_id FOR UPDATE")


async def provisional_findings(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT finding_id, kind, created_at, follow_up_due_at FROM findings"
        " WHERE status = 'open' AND follow_up_provisional ORDER BY finding_id FOR UPDATE")


async def provisional_reports(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT month, due_date FROM monthly_reports WHERE due_date_provisional ORDER BY month FOR UPDATE")


async def set_task_dates(conn: asyncpg.Connection, task_id, source_event_id, due_at: datetime,
                         due_provisional: bool, expires_at: datetime, expires_provisional: bool) -> None:
    await conn.execute(
        "UPDATE callback_tasks SET due_at = $2, due_provisional = $3, expires_at = $4, expires_provisional = $5"
        " WHERE task_id = $1", task_id, due_at, due_provisional, expires_at, expires_provisional)
    await conn.execute(
        "UPDATE callback_decisions SET calendar_provisional = $2 WHERE source_event_id = $1",
        source_event_id, due_provisional or expires_provisional)


async def set_finding_due(conn: asyncpg.Connection, finding_id, due: datetime, provisional: bool) -> None:
    await conn.execute("UPDATE findings SET follow_up_due_at = $2, follow_up_provisional = $3 WHERE finding_id = $1",
                       finding_id, due, provisional)


async def set_report_due(conn: asyncpg.Connection, month: str, due: date, provisional: bool) -> None:
    await conn.execute(
        "UPDATE monthly_reports SET due_date = $2, due_date_provisional = $3,"
        " figures = figures || $4::jsonb WHERE month = $1",
        month, due, provisional, json.dumps({"due_date": due.isoformat(), "due_date_provisional": provisional}))


async def record_change(conn: asyncpg.Connection, item: str, item_id: str, field: str, old: str, new: str,
                        provisional: bool, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO calendar_recomputations (item, item_id, field, old_value, new_value, provisional,"
        " recomputed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)", item, item_id, field, old, new, provisional, now)
