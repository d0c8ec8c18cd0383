"""What the watchdog reads and marks in PostgreSQL: deadlines due (acknowledgement, customer contact,
arrival), regions where claims wait, and the dispatch board's figures.

Every worker runs the watchdog; ``FOR UPDATE SKIP LOCKED`` and the fired-at columns make each deadline
fire exactly once, across workers and restarts.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from models.dispatch.tasks import DispatchState, TaskStatus
from models.dispatch.region_state import RegionRows, RegionStateCache
from streams.store.roster_store import region_rows
from streams.store.states import BEFORE_CONTACT_SQL, ON_TIME_SQL, WITHDRAWN_SQL

BATCH = 100


async def next_unacknowledged(conn: asyncpg.Connection, now: datetime) -> asyncpg.Record | None:
    """The task whose acknowledgement limit passed first, locked (another worker skips it); None: no such task."""
    return await conn.fetchrow(
        "SELECT task_id, report_id, region_id, status FROM survey_tasks"
        " WHERE status = $2 AND ack_due_at <= $1 ORDER BY ack_due_at LIMIT 1 FOR UPDATE SKIP LOCKED",
        now, TaskStatus.ASSIGNED.value,
    )


async def contacts_overdue(conn: asyncpg.Connection, now: datetime) -> list[asyncpg.Record]:
    """Tasks whose surveyor has not called the customer by the contact limit, not yet reminded; locked."""
    return await conn.fetch(
        "SELECT task_id, report_id, region_id, surveyor_id, contact_due_at FROM survey_tasks"
        f" WHERE status IN {BEFORE_CONTACT_SQL} AND contacted_at IS NULL AND contact_reminded_at IS NULL"
        " AND contact_due_at <= $1 ORDER BY contact_due_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        now, BATCH,
    )


async def mark_reminded(conn: asyncpg.Connection, task_id: uuid.UUID, now: datetime) -> None:
    await conn.execute("UPDATE survey_tasks SET contact_reminded_at = $2 WHERE task_id = $1", task_id, now)


async def arrivals_missed(conn: asyncpg.Connection, now: datetime) -> list[asyncpg.Record]:
    """Live tasks past their arrival deadline with no arrival, not yet reported; locked."""
    return await conn.fetch(
        "SELECT task_id, report_id, region_id, zone, surveyor_id, deadline_at, estimated_arrival_at"
        " FROM survey_tasks WHERE live AND arrived_at IS NULL AND arrival_missed_at IS NULL AND deadline_at <= $1"
        " ORDER BY deadline_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        now, BATCH,
    )


async def mark_arrival_missed(conn: asyncpg.Connection, task_id: uuid.UUID, now: datetime) -> None:
    await conn.execute("UPDATE survey_tasks SET arrival_missed_at = $2 WHERE task_id = $1", task_id, now)


async def promises_missed(conn: asyncpg.Connection, now: datetime) -> list[asyncpg.Record]:
    """Live tasks past the arrival promised their claim, with no arrival, not yet reported; locked."""
    return await conn.fetch(
        "SELECT task_id, report_id, region_id, zone, surveyor_id, deadline_at, promised_arrival_at,"
        " estimated_arrival_at FROM survey_tasks WHERE live AND arrived_at IS NULL AND promise_missed_at IS NULL"
        " AND promised_arrival_at <= $1 ORDER BY promised_arrival_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        now, BATCH,
    )


async def mark_promise_missed(conn: asyncpg.Connection, task_id: uuid.UUID, now: datetime) -> None:
    await conn.execute("UPDATE survey_tasks SET promise_missed_at = $2 WHERE task_id = $1", task_id, now)


async def times_told_passed(conn: asyncpg.Connection, now: datetime) -> list[asyncpg.Record]:
    """Escalations whose proposed arrival (the time told) has passed, not yet looked at, with whether the claim
    still waits for a surveyor; locked."""
    return await conn.fetch(
        "SELECT e.event_id, e.report_id, e.region_id, e.zone, e.proposed_arrival_at, c.deadline_at,"
        " c.dispatch_state = 'pending' AS waiting FROM escalations e JOIN claims c USING (report_id)"
        " WHERE e.promise_checked_at IS NULL AND e.proposed_arrival_at <= $1"
        " ORDER BY e.proposed_arrival_at LIMIT $2 FOR UPDATE OF e SKIP LOCKED",
        now, BATCH,
    )


async def mark_times_told_checked(conn: asyncpg.Connection, event_ids: list[uuid.UUID], now: datetime) -> None:
    await conn.execute("UPDATE escalations SET promise_checked_at = $2 WHERE event_id = ANY($1::uuid[])",
                       event_ids, now)


async def waiting_regions(conn: asyncpg.Connection, now: datetime) -> list[asyncpg.Record]:
    """The regions where claims wait (region_id, state_version, and ``due``: some claim there is due for
    review at ``now``), in region order.

    Asked so that its cost does not grow with the claims waiting, whatever the statistics say: a probe of
    the pending-claims index per region (LIMIT 1), and the claims due found by their review time alone
    (a materialised CTE: told they are pending too, PostgreSQL may walk the pending-claims index instead,
    every waiting claim, when its statistics say few are pending). As EXISTS tests, it could read every
    pending claim each pass (a hashed SubPlan, a hash semi-join), as it did in lock_regions (migration 009)."""
    return await conn.fetch(
        """
        WITH reviewed AS MATERIALIZED (SELECT region_id, dispatch_state FROM claims WHERE review_at <= $1)
        SELECT r.region_id, r.state_version,
               r.region_id IN (SELECT region_id FROM reviewed WHERE dispatch_state = $2) AS due
          FROM regions r
         CROSS JOIN LATERAL (SELECT 1 FROM claims c
                              WHERE c.region_id = r.region_id AND c.dispatch_state = $2 LIMIT 1) w
         ORDER BY r.region_id
        """, now, DispatchState.PENDING.value)


async def dispatch_counts(pool: asyncpg.Pool, now: datetime) -> dict:
    """Per region open tasks and pending claims; per zone arrival deadlines met and decided in the last 24 hours
    (by an arrival, or by the deadline passing without one): ``{zone: (met, decided)}``."""
    open_tasks = {r["region_id"]: r["n"] for r in await pool.fetch(
        "SELECT region_id, count(*) AS n FROM survey_tasks WHERE live GROUP BY region_id")}
    waiting = {r["region_id"]: r["n"] for r in await pool.fetch(
        "SELECT region_id, count(*) AS n FROM claims WHERE dispatch_state = $1 GROUP BY region_id",
        DispatchState.PENDING.value)}
    met = {r["zone"]: (r["met"], r["due"]) for r in await pool.fetch(
        f"""
        SELECT zone, count(*) FILTER (WHERE {ON_TIME_SQL}) AS met, count(*) AS due
          FROM survey_tasks
         WHERE status NOT IN {WITHDRAWN_SQL}
           AND (arrived_at > $1::timestamptz - interval '24 hours'          -- decided by an arrival ...
                OR (arrived_at IS NULL AND deadline_at <= $1                -- ... or by the deadline passing
                    AND deadline_at > $1::timestamptz - interval '24 hours'))
         GROUP BY zone
        """, now)}
    return {"open_tasks": open_tasks, "pending": waiting, "met": met}


async def every_region(pool: asyncpg.Pool, day_start: datetime,
                       cache: RegionStateCache | None = None) -> dict[str, RegionRows]:
    """Every region's rows, from ``cache`` where it holds the stored version (intake keeps it current).
    Versions are read before rows, so rows kept here are never older than the version they are kept at."""
    async with pool.acquire() as conn:
        versions = {r["region_id"]: r["state_version"] for r in await conn.fetch(
            "SELECT region_id, state_version FROM regions ORDER BY region_id")}
        return await region_rows(conn, list(versions), day_start, versions, cache)
