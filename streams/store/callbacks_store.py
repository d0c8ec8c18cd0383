"""Callbacks in PostgreSQL: decisions, tasks, attempts and findings, read and written.

Rows in, rows out, inside the caller's transaction; the rules are in ``models.callbacks`` and the
handlers in ``streams.services.callbacks``.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import asyncpg

from models.callbacks.eligibility import Trigger
from models.contract.callback_events import CallbackAttempted, Channel, FindingRouted
from models.callbacks.progress import Done
from models.callbacks.sampling import MonthToDate, Selection
from models.callbacks.schedule import Deadline
from streams.store.states import CALLBACK_OPEN_SQL


async def on_do_not_call(conn: asyncpg.Connection, hashes: list[str]) -> bool:
    return await conn.fetchval("SELECT EXISTS (SELECT 1 FROM do_not_call WHERE phone_sha256 = ANY($1::text[]))",
                               hashes)


async def insert_exclusion(conn: asyncpg.Connection, trigger: Trigger, month: str, reason: str) -> None:
    await conn.execute(
        "INSERT INTO callback_decisions (source_event_id, kind, month, subject, triggered_at, eligible,"
        " exclusion_reason, selected) VALUES ($1, $2, $3, $4, $5, false, $6, false) ON CONFLICT DO NOTHING",
        trigger.source_event_id, trigger.kind.value, month, trigger.subject, trigger.occurred_at, reason,
    )


async def month_to_date(conn: asyncpg.Connection, kind: str, month: str) -> MonthToDate:
    """The kind's figures for the month so far, with this trigger counted among the eligible; one decision
    at a time per kind and month (a transaction-scoped lock): each rests on the figures the one before left."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('callbacks:' || $1 || ':' || $2))", kind, month)
    row = await conn.fetchrow(
        f"""
        SELECT (SELECT count(*) FROM callback_decisions WHERE kind = $1 AND month = $2 AND eligible) AS eligible,
               count(*) FILTER (WHERE success) AS successes,
               count(*) FILTER (WHERE state = {CALLBACK_OPEN_SQL}) AS open,
               count(*) FILTER (WHERE state <> {CALLBACK_OPEN_SQL}) AS finished
          FROM callback_tasks WHERE kind = $1 AND month = $2
        """,
        kind, month,
    )
    return MonthToDate(row["eligible"] + 1, row["successes"], row["open"], row["finished"])


async def insert_decision(conn: asyncpg.Connection, trigger: Trigger, month: str, choice: Selection,
                          task_id: uuid.UUID | None, provisional: bool) -> None:
    await conn.execute(
        "INSERT INTO callback_decisions (source_event_id, kind, month, subject, triggered_at, eligible, selected,"
        " probability, hash_value, basis, task_id, calendar_provisional)"
        " VALUES ($1, $2, $3, $4, $5, true, $6, $7, $8, $9, $10, $11)",
        trigger.source_event_id, trigger.kind.value, month, trigger.subject, trigger.occurred_at, choice.selected,
        choice.probability, choice.hash_value, json.dumps(choice.basis), task_id, provisional,
    )


async def insert_task(conn: asyncpg.Connection, task_id: uuid.UUID, trigger: Trigger, month: str, due: Deadline,
                      expiry: Deadline, channel: Channel) -> None:
    await conn.execute(
        "INSERT INTO callback_tasks (task_id, source_event_id, kind, month, subject, customer, triggered_at, due_at,"
        " due_provisional, expires_at, expires_provisional, next_channel)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        task_id, trigger.source_event_id, trigger.kind.value, month, trigger.subject,
        trigger.customer.model_dump_json(), trigger.occurred_at, due.at, due.provisional, expiry.at,
        expiry.provisional, channel.value,
    )


async def task_for_update(conn: asyncpg.Connection, task_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT kind, state, phone_attempts, attempts_issued, customer, source_event_id, due_at, due_provisional"
        " FROM callback_tasks WHERE task_id = $1 FOR UPDATE",
        task_id,
    )


async def insert_attempt(conn: asyncpg.Connection, attempt: CallbackAttempted) -> bool:
    """Keep an attempt's result; False when this attempt was reported before (under another event id)."""
    return bool(await conn.fetchval(
        "INSERT INTO callback_attempts (task_id, attempt_no, event_id, channel, outcome, identity_confirmed,"
        " satisfaction, failure_reason, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT DO NOTHING RETURNING true",
        attempt.task_id, attempt.attempt_no, attempt.event_id, attempt.channel.value, attempt.outcome.value,
        attempt.identity_confirmed, attempt.satisfaction, attempt.failure_reason, attempt.occurred_at,
    ))


async def close_task(conn: asyncpg.Connection, task_id: uuid.UUID, done: Done, phone_attempts: int,
                     channel: Channel, satisfaction: int | None, now: datetime) -> None:
    await conn.execute(
        "UPDATE callback_tasks SET state = $2, success = $3, reason = $4, problem_case = $5, phone_attempts = $6,"
        " success_channel = CASE WHEN $3 THEN $7 END, satisfaction = $8, closed_at = $9 WHERE task_id = $1",
        task_id, done.state.value, done.success, done.reason, done.problem_case, phone_attempts, channel.value,
        satisfaction, now,
    )


async def reclose_task(conn: asyncpg.Connection, task_id: uuid.UUID, done: Done, channel: Channel) -> None:
    """A closed task's result changed (a late delivery receipt): its state and success, nothing else."""
    await conn.execute("UPDATE callback_tasks SET state = $2, success = $3, reason = $4,"
                       " success_channel = CASE WHEN $3 THEN $5 END WHERE task_id = $1",
                       task_id, done.state.value, done.success, done.reason, channel.value)


async def schedule_next(conn: asyncpg.Connection, task_id: uuid.UUID, phone_attempts: int, attempt_no: int,
                        channel: Channel) -> None:
    await conn.execute(
        "UPDATE callback_tasks SET phone_attempts = $2, attempts_issued = $3, next_channel = $4 WHERE task_id = $1",
        task_id, phone_attempts, attempt_no, channel.value,
    )


async def insert_finding(conn: asyncpg.Connection, task_id: uuid.UUID, routed: FindingRouted, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO findings (finding_id, task_id, kind, department, text, follow_up_due_at,"
        " follow_up_provisional, problem_case, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT DO NOTHING",
        routed.finding_id, task_id, routed.kind.value, routed.department, routed.text,
        routed.follow_up_due_at, routed.follow_up_due_provisional, routed.problem_case, now,
    )


async def mark_overdue(conn: asyncpg.Connection, now: datetime) -> list[str]:
    """Open tasks whose due date has passed, marked overdue once; their kinds."""
    return [r["kind"] for r in await conn.fetch(
        f"UPDATE callback_tasks SET overdue_at = $1 WHERE state = {CALLBACK_OPEN_SQL} AND overdue_at IS NULL"
        " AND due_at <= $1"
        " RETURNING kind", now)]


async def close_expired(conn: asyncpg.Connection, now: datetime, done: Done) -> list[str]:
    """Open tasks past their expiry, closed as ``done``; their kinds."""
    return [r["kind"] for r in await conn.fetch(
        "UPDATE callback_tasks SET state = $2, success = $3, closed_at = $1, reason = $4"
        f" WHERE state = {CALLBACK_OPEN_SQL} AND expires_at <= $1 RETURNING kind",
        now, done.state.value, done.success, done.reason)]


async def month_figures(pool: asyncpg.Pool, month: str) -> dict[str, dict]:
    """Per kind, month to date: eligible, selected, successes, open and overdue tasks."""
    rows = await pool.fetch(
        f"""
        SELECT d.kind,
               count(*) FILTER (WHERE d.eligible) AS eligible,
               count(*) FILTER (WHERE d.selected) AS selected,
               count(t.task_id) FILTER (WHERE t.success) AS successes,
               count(t.task_id) FILTER (WHERE t.state = {CALLBACK_OPEN_SQL} AND t.overdue_at IS NOT NULL) AS overdue
          FROM callback_decisions d LEFT JOIN callback_tasks t ON t.source_event_id = d.source_event_id
         WHERE d.month = $1 GROUP BY d.kind
        """,
        month,
    )
    return {r["kind"]: dict(r) for r in rows}
