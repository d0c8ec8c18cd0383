"""The dispatcher's desk in PostgreSQL: what a command finds (claims, tasks, escalations), what it changes,
its audit row, and what the desk shows (escalations, a claim's timeline).

Rows in, rows out: what a command may do is decided in ``models.desk.commands``, orchestrated in
``streams.services.desk``, inside the caller's transaction.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import asyncpg

from models.contract.dispatch_events import ClaimRegistered, SceneContact
from models.contract.event import derived_event_id
from models.desk.commands import ClaimView, EscalationView, LiveTask
from models.desk.escalations import UNCLOSED
from models.dispatch.tasks import DispatchState, TaskStatus
from streams.store.roster_store import parsed
from streams.store.states import WITHDRAWN_SQL, sql_list

UNCLOSED_SQL = sql_list(UNCLOSED)

_LIVE = """(SELECT row(t.task_id, t.surveyor_id, t.vehicle_id, t.status, t.home_region_id)
              FROM survey_tasks t WHERE t.report_id = c.report_id AND t.live)"""


async def claim_view(conn: asyncpg.Connection, report_id: str) -> ClaimView | None:
    """The claim as a command finds it, its row locked (None: no such claim)."""
    r = await conn.fetchrow(
        f"""
        SELECT c.report_id, c.event_id, c.region_id, c.zone, c.loss_type, c.reported_at, c.deadline_at,
               c.pending_since, c.attempts, c.dispatch_state, c.possible_duplicate_of, c.priority,
               (c.report->'location'->>'lat')::float8 AS lat, (c.report->'location'->>'lon')::float8 AS lon,
               c.report->'location'->>'address' AS address, (c.report->'reporter')::text AS reporter,
               {_LIVE} AS live,
               EXISTS (SELECT 1 FROM survey_tasks t WHERE t.report_id = c.report_id AND t.status = $2) AS surveyed,
               ARRAY(SELECT t.surveyor_id FROM survey_tasks t
                      WHERE t.report_id = c.report_id AND t.status IN {WITHDRAWN_SQL}) AS exclude
          FROM claims c WHERE c.report_id = $1 FOR UPDATE OF c
        """, report_id, TaskStatus.COMPLETED.value)
    return None if r is None else _claim_view(r)


def _claim_view(r: asyncpg.Record) -> ClaimView:
    claim = ClaimRegistered(
        event_id=derived_event_id("registered", r["event_id"]), occurred_at=r["pending_since"],
        report_id=r["report_id"], region_id=r["region_id"], zone=r["zone"], loss_type=r["loss_type"],
        reported_at=r["reported_at"], lat=r["lat"], lon=r["lon"], deadline_at=r["deadline_at"],
        address=r["address"] or "", contact=parsed(SceneContact, r["reporter"]) if r["reporter"] else None,
        priority=r["priority"])
    live = r["live"]
    return ClaimView(claim=claim, state=DispatchState(r["dispatch_state"]), attempts=r["attempts"],
                     live=LiveTask(live[0], live[1], live[2], TaskStatus(live[3]), live[4]) if live else None,
                     surveyed=r["surveyed"], exclude=frozenset(r["exclude"]),
                     possible_duplicate_of=r["possible_duplicate_of"])


async def surveyor_task(conn: asyncpg.Connection, surveyor_id: str) -> str | None:
    """The report id of the surveyor's live task, if any."""
    return await conn.fetchval("SELECT report_id FROM survey_tasks WHERE surveyor_id = $1 AND live", surveyor_id)


async def regions_of(conn: asyncpg.Connection, surveyor_id: str | None, vehicle_id: str | None) -> dict[str, str]:
    """``{"surveyor": region, "vehicle": region}`` for those named that are on the roster (active)."""
    found = {}
    if surveyor_id is not None:
        if (r := await conn.fetchval("SELECT region_id FROM surveyors WHERE surveyor_id = $1 AND active",
                                     surveyor_id)) is not None:
            found["surveyor"] = r
    if vehicle_id is not None:
        if (r := await conn.fetchval("SELECT region_id FROM vehicles WHERE vehicle_id = $1 AND active",
                                     vehicle_id)) is not None:
            found["vehicle"] = r
    return found


async def escalation_view(conn: asyncpg.Connection, escalation_id: uuid.UUID) -> EscalationView | None:
    r = await conn.fetchrow("SELECT event_id, report_id, state FROM escalations WHERE event_id = $1 FOR UPDATE",
                            escalation_id)
    return None if r is None else EscalationView(r["event_id"], r["report_id"], r["state"])


async def claim_exists(conn: asyncpg.Connection, report_id: str | None) -> bool:
    return report_id is not None and bool(await conn.fetchval("SELECT 1 FROM claims WHERE report_id = $1", report_id))


async def set_deadline(conn: asyncpg.Connection, report_id: str, deadline: datetime, limit: datetime,
                       now: datetime, dispatch_now: bool) -> None:
    """The claim (and its live task) held to an agreed arrival; the zone's limit kept beside it. An
    appointment case becomes a claim waiting for a surveyor."""
    await conn.execute(
        """
        UPDATE claims SET deadline_at = $2, limit_deadline_at = COALESCE(limit_deadline_at, $3),
                          deadline_agreed_at = $4,
                          dispatch_state = CASE WHEN $5 THEN $6 ELSE dispatch_state END,
                          pending_since = CASE WHEN $5 THEN $4 ELSE pending_since END
         WHERE report_id = $1
        """, report_id, deadline, limit, now, dispatch_now, DispatchState.PENDING.value)
    await conn.execute(
        "UPDATE survey_tasks SET deadline_at = $2, meets_deadline = estimated_arrival_at <= $2,"
        " arrival_missed_at = NULL, updated_at = now() WHERE report_id = $1 AND live", report_id, deadline)


async def cancel_claim(conn: asyncpg.Connection, report_id: str, cancellation: str, duplicate_of: str | None) -> None:
    await conn.execute(
        "UPDATE claims SET dispatch_state = $2, cancellation = $3, duplicate_of = $4, review_at = NULL"
        " WHERE report_id = $1", report_id, DispatchState.CANCELLED.value, cancellation, duplicate_of)


async def merge_into(conn: asyncpg.Connection, report_id: str, into: str, by: str) -> None:
    """The claim served with ``into``'s (a dispatcher merged them): linked, not dispatched."""
    await conn.execute(
        "UPDATE claims SET dispatch_state = $3, duplicate_of = $2, linked_by = $4, possible_duplicate_of = NULL,"
        " review_at = NULL WHERE report_id = $1", report_id, into, DispatchState.LINKED.value, by)


async def keep_apart(conn: asyncpg.Connection, report_id: str) -> None:
    await conn.execute("UPDATE claims SET possible_duplicate_of = NULL WHERE report_id = $1", report_id)


async def acknowledge(conn: asyncpg.Connection, escalation_id: uuid.UUID, by: str, now: datetime) -> None:
    await conn.execute("UPDATE escalations SET state = 'acknowledged', acknowledged_by = $2, acknowledged_at = $3"
                       " WHERE event_id = $1 AND state = 'open'", escalation_id, by, now)


async def close_escalations(conn: asyncpg.Connection, report_ids: list[str], state: str, by: str, now: datetime,
                            keep_reasons: tuple[str, ...] = ()) -> int:
    """Close the claims' open or acknowledged escalations (``state``: resolved by a command, superseded when
    the system solved them), except those of ``keep_reasons``; returns how many."""
    done = await conn.execute(
        f"UPDATE escalations SET state = $2, closed_by = $3, resolved_at = $4"
        f" WHERE report_id = ANY($1::text[]) AND state IN {UNCLOSED_SQL} AND NOT (reason = ANY($5::text[]))",
        report_ids, state, by, now, list(keep_reasons))
    return int(done.split()[-1])


async def snapshot(conn: asyncpg.Connection, report_id: str | None, surveyor_id: str | None,
                   escalation_id: uuid.UUID | None) -> dict:
    """What a command touched, as the audit keeps it before and after: the claim's dispatch state, deadline
    and live task; the surveyor's duty and live task; the escalation's state. No personal data."""
    out: dict = {}
    if report_id is not None:
        r = await conn.fetchrow(
            "SELECT c.dispatch_state, c.deadline_at, c.limit_deadline_at, c.cancellation, c.duplicate_of,"
            " c.possible_duplicate_of,"
            " t.task_id, t.surveyor_id, t.vehicle_id, t.status FROM claims c"
            " LEFT JOIN survey_tasks t ON t.report_id = c.report_id AND t.live WHERE c.report_id = $1", report_id)
        if r is not None:
            out["claim"] = {"report_id": report_id, "dispatch_state": r["dispatch_state"],
                            "deadline_at": r["deadline_at"].isoformat(),
                            "limit_deadline_at": r["limit_deadline_at"].isoformat() if r["limit_deadline_at"] else None,
                            "cancellation": r["cancellation"], "duplicate_of": r["duplicate_of"],
                            "possible_duplicate_of": r["possible_duplicate_of"],
                            "live_task": None if r["task_id"] is None else {
                                "task_id": str(r["task_id"]), "surveyor_id": r["surveyor_id"],
                                "vehicle_id": r["vehicle_id"], "status": r["status"]}}
    if surveyor_id is not None:
        r = await conn.fetchrow(
            "SELECT s.duty, s.duty_until, t.report_id FROM surveyors s"
            " LEFT JOIN survey_tasks t ON t.surveyor_id = s.surveyor_id AND t.live WHERE s.surveyor_id = $1",
            surveyor_id)
        if r is not None:
            out["surveyor"] = {"surveyor_id": surveyor_id, "duty": r["duty"],
                               "duty_until": r["duty_until"].isoformat() if r["duty_until"] else None,
                               "live_task_report_id": r["report_id"]}
    if escalation_id is not None:
        r = await conn.fetchrow("SELECT state, acknowledged_by FROM escalations WHERE event_id = $1", escalation_id)
        if r is not None:
            out["escalation"] = {"escalation_id": str(escalation_id), "state": r["state"],
                                 "acknowledged_by": r["acknowledged_by"]}
    return out


async def record_command(conn: asyncpg.Connection, command, result, before: dict, after: dict,
                         now: datetime) -> None:
    """The audit row of a command, applied or refused."""
    await conn.execute(
        """
        INSERT INTO desk_commands (command_id, type, dispatcher_id, reason, forced_by, force_reason, issued_at,
                                   decided_at, outcome, refusals, detail, report_id, surveyor_id, escalation_id,
                                   task_id, command, state_before, state_after)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::jsonb, $17::jsonb, $18::jsonb)
        """,
        command.command_id, command.type, command.dispatcher_id, command.reason, command.forced_by,
        command.force_reason, command.issued_at, now, result.outcome.value, [r.value for r in result.refusals],
        result.detail, getattr(command, "report_id", None) or result.report_id,
        getattr(command, "surveyor_id", None) or result.surveyor_id, getattr(command, "escalation_id", None),
        result.task_id, command.model_dump_json(), json.dumps(before), json.dumps(after))


async def command_row(pool: asyncpg.Pool, command_id: uuid.UUID) -> asyncpg.Record | None:
    return await pool.fetchrow("SELECT * FROM desk_commands WHERE command_id = $1", command_id)


async def unclosed_escalations(pool: asyncpg.Pool, limit: int = 200) -> list[asyncpg.Record]:
    """Open and acknowledged escalations, the oldest first, with their claim's place and deadline."""
    return await pool.fetch(
        f"""
        SELECT e.event_id AS escalation_id, e.report_id, e.region_id, e.zone, e.reason, e.detail, e.state,
               e.created_at, e.acknowledged_by, e.acknowledged_at, c.deadline_at, c.loss_type, c.dispatch_state,
               c.report->'location'->>'address' AS address
          FROM escalations e JOIN claims c USING (report_id)
         WHERE e.state IN {UNCLOSED_SQL} ORDER BY e.created_at, e.event_id LIMIT $1
        """, limit)


async def escalation_ages(pool: asyncpg.Pool, now: datetime) -> list[asyncpg.Record]:
    """Each unclosed escalation's reason, state and age in seconds (for the board's gauges)."""
    return await pool.fetch(
        f"SELECT reason, state, extract(epoch FROM $1::timestamptz - created_at) AS age_s FROM escalations"
        f" WHERE state IN {UNCLOSED_SQL}", now)


async def escalation_of(pool: asyncpg.Pool, escalation_id: uuid.UUID) -> asyncpg.Record | None:
    return await pool.fetchrow("SELECT event_id, report_id, state FROM escalations WHERE event_id = $1", escalation_id)


async def timeline(pool: asyncpg.Pool, report_id: str) -> list[asyncpg.Record]:
    """Everything that happened to a claim, in order: (at, what, detail as JSON). No personal data."""
    return await pool.fetch(
        """
        SELECT at, what, detail FROM (
            SELECT c.reported_at AS at, 'reported' AS what,
                   jsonb_build_object('loss_type', c.loss_type, 'region_id', c.region_id) AS detail
              FROM claims c WHERE c.report_id = $1
            UNION ALL
            SELECT c.received_at, 'registered', jsonb_build_object('zone', c.zone, 'deadline_at',
                   COALESCE(c.limit_deadline_at, c.deadline_at), 'dispatch_state', c.dispatch_state)
              FROM claims c WHERE c.report_id = $1
            UNION ALL
            SELECT t.assigned_at, 'assigned', jsonb_build_object('task_id', t.task_id, 'attempt', t.attempt,
                   'surveyor_id', t.surveyor_id, 'vehicle_id', t.vehicle_id, 'estimated_arrival_at',
                   t.estimated_arrival_at, 'meets_deadline', t.meets_deadline, 'home_region_id', t.home_region_id)
              FROM survey_tasks t WHERE t.report_id = $1
            UNION ALL
            SELECT x.at, x.what, jsonb_build_object('task_id', t.task_id, 'surveyor_id', t.surveyor_id)
              FROM survey_tasks t CROSS JOIN LATERAL (VALUES (t.accepted_at, 'accepted'),
                   (t.contacted_at, 'customer_contacted'), (t.arrived_at, 'arrived'),
                   (t.completed_at, 'survey_completed'), (t.ack_timed_out_at, 'not_acknowledged'),
                   (t.arrival_missed_at, 'arrival_deadline_missed')) AS x(at, what)
             WHERE t.report_id = $1 AND x.at IS NOT NULL
            UNION ALL
            SELECT t.updated_at, 'task_' || t.status, jsonb_build_object('task_id', t.task_id,
                   'surveyor_id', t.surveyor_id, 'reason', t.cancel_reason)
              FROM survey_tasks t WHERE t.report_id = $1 AND t.status IN ('declined', 'cancelled')
            UNION ALL
            SELECT e.created_at, 'escalated', jsonb_build_object('escalation_id', e.event_id, 'reason', e.reason,
                   'detail', e.detail, 'state', e.state)
              FROM escalations e WHERE e.report_id = $1
            UNION ALL
            SELECT e.acknowledged_at, 'escalation_acknowledged', jsonb_build_object('escalation_id', e.event_id,
                   'by', e.acknowledged_by)
              FROM escalations e WHERE e.report_id = $1 AND e.acknowledged_at IS NOT NULL
            UNION ALL
            SELECT e.resolved_at, 'escalation_' || e.state, jsonb_build_object('escalation_id', e.event_id,
                   'by', e.closed_by)
              FROM escalations e WHERE e.report_id = $1 AND e.resolved_at IS NOT NULL
            UNION ALL
            SELECT d.decided_at, 'command_' || d.outcome, jsonb_build_object('command_id', d.command_id,
                   'command', d.type, 'dispatcher_id', d.dispatcher_id, 'reason', d.reason, 'detail', d.detail,
                   'refusals', d.refusals, 'forced_by', d.forced_by)
              FROM desk_commands d WHERE d.report_id = $1
            UNION ALL
            SELECT ct.triggered_at, 'callback_scheduled', jsonb_build_object('task_id', ct.task_id,
                   'kind', ct.kind, 'due_at', ct.due_at)
              FROM callback_tasks ct WHERE ct.subject = $1 AND ct.kind = 'survey'
            UNION ALL
            SELECT ct.closed_at, 'callback_closed', jsonb_build_object('task_id', ct.task_id, 'state', ct.state,
                   'success', ct.success, 'channel', ct.success_channel)
              FROM callback_tasks ct WHERE ct.subject = $1 AND ct.kind = 'survey' AND ct.closed_at IS NOT NULL
        ) AS everything ORDER BY at, what
        """, report_id)
