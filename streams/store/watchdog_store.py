"""Deadlines kept in PostgreSQL and fired once each: acknowledgement, customer contact, arrival.

Every worker runs the watchdog; ``FOR UPDATE SKIP LOCKED`` and the fired-at
columns make each deadline fire exactly once, across workers and restarts.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from models.candidates import free_on_duty
from models.deadline_watch import arrival_missed, contact_overdue
from models.dispatch_rules import DispatchRules
from models.events import derived_event_id
from streams.codec import encode
from streams.store.dispatch_store import (MAX_PENDING_PER_PLAN, Dispatched, Planner, keep_committed, replan_region,
                                         replan_regions, send_back_to_dispatch)
from streams.store.outbox import add_outputs
from streams.store.roster_store import RegionStateCache, region_rows

BATCH = 100


async def fire_ack_timeouts(pool: asyncpg.Pool, now: datetime, day_start: datetime, rules: DispatchRules,
                            planner: Planner) -> list[Dispatched]:
    """Tasks nobody accepted in time: withdrawn, and the claim re-planned without that surveyor."""
    fired = []
    while True:
        async with pool.acquire() as conn, conn.transaction():
            task = await conn.fetchrow(
                "SELECT task_id, report_id, region_id FROM survey_tasks"
                " WHERE status = 'assigned' AND ack_due_at <= $1 ORDER BY ack_due_at LIMIT 1 FOR UPDATE SKIP LOCKED",
                now,
            )
            if task is None:
                return fired
            await conn.execute(
                "UPDATE survey_tasks SET status = 'cancelled', cancel_reason = 'no_acknowledgement',"
                " ack_timed_out_at = $2, updated_at = now() WHERE task_id = $1",
                task["task_id"], now,
            )
            await send_back_to_dispatch(conn, task["task_id"], task["report_id"], "no_acknowledgement", now)
            result = await replan_region(conn, task["region_id"], now, day_start, rules, planner)
            await add_outputs(conn, "watchdog", derived_event_id("ack-timeout", task["task_id"]), result.outputs)
            fired.append(result)


async def fire_contact_reminders(pool: asyncpg.Pool, now: datetime) -> list[Dispatched]:
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "SELECT task_id, report_id, region_id, surveyor_id, contact_due_at FROM survey_tasks"
            " WHERE status IN ('assigned', 'accepted') AND contacted_at IS NULL AND contact_reminded_at IS NULL"
            " AND contact_due_at <= $1 ORDER BY contact_due_at LIMIT $2 FOR UPDATE SKIP LOCKED",
            now, BATCH,
        )
        fired = []
        for r in rows:
            event = contact_overdue(r["task_id"], r["report_id"], r["region_id"], r["surveyor_id"],
                                    r["contact_due_at"], now)
            await conn.execute("UPDATE survey_tasks SET contact_reminded_at = $2 WHERE task_id = $1", r["task_id"], now)
            outputs = [encode("dispatch.assignments", event)]
            await add_outputs(conn, "watchdog", event.event_id, outputs)
            fired.append(Dispatched(outputs))
        return fired


async def fire_arrivals_missed(pool: asyncpg.Pool, now: datetime) -> list[tuple[str, Dispatched]]:
    """Live tasks past their arrival deadline with no arrival: (zone, records) for each."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "SELECT task_id, report_id, region_id, zone, surveyor_id, deadline_at, estimated_arrival_at"
            " FROM survey_tasks WHERE live AND arrived_at IS NULL AND arrival_missed_at IS NULL AND deadline_at <= $1"
            " ORDER BY deadline_at LIMIT $2 FOR UPDATE SKIP LOCKED",
            now, BATCH,
        )
        fired = []
        for r in rows:
            missed, notice = arrival_missed(r["task_id"], r["report_id"], r["region_id"], r["zone"], r["surveyor_id"],
                                            r["deadline_at"], r["estimated_arrival_at"], now)
            await conn.execute("UPDATE survey_tasks SET arrival_missed_at = $2 WHERE task_id = $1", r["task_id"], now)
            outputs = [encode("dispatch.assignments", missed), encode("dispatch.assignments", notice)]
            await add_outputs(conn, "watchdog", missed.event_id, outputs)
            fired.append((r["zone"], Dispatched(outputs)))
        return fired


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
               r.region_id IN (SELECT region_id FROM reviewed WHERE dispatch_state = 'pending') AS due
          FROM regions r
         CROSS JOIN LATERAL (SELECT 1 FROM claims c
                              WHERE c.region_id = r.region_id AND c.dispatch_state = 'pending' LIMIT 1) w
         ORDER BY r.region_id
        """, now)


async def replan_waiting(pool: asyncpg.Pool, now: datetime, day_start: datetime, rules: DispatchRules,
                         planner: Planner, cache: RegionStateCache | None = None) -> list[Dispatched]:
    """Re-plan the regions whose waiting claims may be decided differently now: where a surveyor is
    free (shifts start, tasks end outside the surveyor loop), and the claims whose dispatch limit has
    passed while they waited for a busy surveyor (dispatch_overdue). A region whose every surveyor is
    busy is not re-planned as a whole: nothing but time changes there, and its review times say when.

    Regions' state comes from ``cache`` where it is current (each transaction here writes nothing before
    planning), and what a re-plan assigned is kept in it once committed: in a storm every region has
    waiting claims, and each pass read them all from the database.

    Only regions with something to decide open a transaction (and take the region's lock, which intake
    waits for): a claim due for review, or a free surveyor on duty, as the region's committed state says
    (one more pass is two seconds away if it changes meanwhile)."""
    async with pool.acquire() as conn:
        waiting = await waiting_regions(conn, now)
        quiet = [r["region_id"] for r in waiting if not r["due"]]
        rows = await region_rows(conn, quiet, day_start, {r["region_id"]: r["state_version"] for r in waiting}, cache)
    regions = [r["region_id"] for r in waiting
               if r["due"] or free_on_duty(rows[r["region_id"]].states(now, rules)[0], now, rules)]
    results = []
    tick = now.isoformat()
    for region_id in regions:
        async with pool.acquire() as conn, conn.transaction():
            due = [r["report_id"] for r in await conn.fetch(
                "SELECT report_id FROM claims WHERE review_at <= $2 AND region_id = $1 AND dispatch_state = 'pending'"
                " ORDER BY review_at LIMIT $3", region_id, now, MAX_PENDING_PER_PLAN)]
            planned = await replan_regions(conn, {region_id: due}, now, day_start, rules, planner, cache)
            await add_outputs(conn, "watchdog", derived_event_id("replan", region_id, tick),
                              planned[region_id].outputs)
        keep_committed(cache, planned)
        results.append(planned[region_id])
    return results


async def dispatch_gauges(pool: asyncpg.Pool, now: datetime, day_start: datetime, rules: DispatchRules,
                          cache: RegionStateCache | None = None) -> dict:
    """Figures for the dispatch board: per region open tasks, pending claims, available surveyors;
    per zone the share of arrival deadlines met among those decided in the last 24 hours (by an arrival,
    or by the deadline passing without one).

    Regions' state comes from ``cache`` where it holds the stored version (intake keeps it current):
    building every region's state from the database held the event loop 50-100 ms a pass. Versions are
    read before rows, so rows kept here are never older than the version they are kept at."""
    open_tasks = {r["region_id"]: r["n"] for r in await pool.fetch(
        "SELECT region_id, count(*) AS n FROM survey_tasks WHERE live GROUP BY region_id")}
    waiting = {r["region_id"]: r["n"] for r in await pool.fetch(
        "SELECT region_id, count(*) AS n FROM claims WHERE dispatch_state = 'pending' GROUP BY region_id")}
    met = {r["zone"]: (r["met"], r["due"]) for r in await pool.fetch(
        """
        SELECT zone, count(*) FILTER (WHERE arrived_at <= deadline_at) AS met, count(*) AS due
          FROM survey_tasks
         WHERE status NOT IN ('declined', 'cancelled')
           AND (arrived_at > $1::timestamptz - interval '24 hours'          -- decided by an arrival ...
                OR (arrived_at IS NULL AND deadline_at <= $1                -- ... or by the deadline passing
                    AND deadline_at > $1::timestamptz - interval '24 hours'))
         GROUP BY zone
        """, now)}
    async with pool.acquire() as conn:
        versions = {r["region_id"]: r["state_version"] for r in await conn.fetch(
            "SELECT region_id, state_version FROM regions ORDER BY region_id")}
        rows = await region_rows(conn, list(versions), day_start, versions, cache)
    available = {rid: len(free_on_duty(r.states(now, rules)[0], now, rules)) for rid, r in rows.items()}
    return {"open_tasks": open_tasks, "pending": waiting, "available": available,
            "deadline_met": {z: (m / d if d else None) for z, (m, d) in met.items()}}

