"""Dispatch in PostgreSQL: pending claims, survey tasks, escalations, surveyor progress.

Every change is one transaction with its inbox row and its outbox records, under
the region's advisory lock when it decides (one region is decided by one
partition at a time already; the lock keeps that true across a rebalance, and
for the watchdog, which runs on every worker).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg

from models.candidates import SurveyorState, VehicleState
from models.dispatch_events import ClaimRegistered, SurveyorAssigned, SurveyorReassigned
from models.dispatch_rules import DispatchRules, rules_for
from models.events import derived_event_id
from models.region_plan import PendingClaim, RegionPlan
from models.reports import LossReported
from models.surveyor_events import PositionReported, ShiftEnded, ShiftStarted, SurveyCompleted, SurveyorStatus
from models.task_progress import next_status
from models.zones import Region
from streams.codec import Outgoing, encode
from streams.store.outbox import add_outputs, claim_event, outputs_of
from streams.store.roster_store import region_state

Planner = Callable[[list[PendingClaim], list[SurveyorState], list[VehicleState], datetime, DispatchRules], RegionPlan]

#: An explicit shift start or end from the app holds this long, then the roster window decides again.
DUTY_OVERRIDE = timedelta(hours=12)
MAX_PENDING_PER_PLAN = 500


@dataclass
class Dispatched:
    """What a decision changed: records to publish and the plan behind them (for metrics and logs)."""

    outputs: list[Outgoing] = field(default_factory=list)
    plan: RegionPlan | None = None


async def dispatch_claim(pool: asyncpg.Pool, claim: ClaimRegistered, now: datetime, day_start: datetime,
                         rules: DispatchRules, planner: Planner) -> Dispatched:
    """A new claim in a region: plan the region's pending claims (this one among them)."""
    async with pool.acquire() as conn, conn.transaction():
        if not await claim_event(conn, "dispatch", claim.event_id):
            return Dispatched(await outputs_of(conn, "dispatch", claim.event_id))
        result = await replan_region(conn, claim.region_id, now, day_start, rules, planner)
        await add_outputs(conn, "dispatch", claim.event_id, result.outputs)
        return result


async def replan_region(conn: asyncpg.Connection, region_id: str, now: datetime, day_start: datetime,
                        rules: DispatchRules, planner: Planner) -> Dispatched:
    """Decide every pending claim of the region together and store the decisions (inside the caller's transaction)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('region:' || $1))", region_id)
    rows = await conn.fetch(
        """
        SELECT c.report_id, c.event_id, c.zone, c.loss_type, c.reported_at, c.deadline_at, c.pending_since,
               c.attempts, c.previous_task_id, c.reassign_reason,
               (c.report->'location'->>'lat')::float8 AS lat, (c.report->'location'->>'lon')::float8 AS lon,
               ARRAY(SELECT t.surveyor_id FROM survey_tasks t
                      WHERE t.report_id = c.report_id AND t.status IN ('declined', 'cancelled')) AS exclude,
               ARRAY(SELECT e.reason FROM escalations e
                      WHERE e.report_id = c.report_id AND e.attempt = c.attempts + 1) AS raised
          FROM claims c
         WHERE c.region_id = $1 AND c.dispatch_state = 'pending'
         ORDER BY c.deadline_at, c.report_id
         LIMIT $2
        """,
        region_id, MAX_PENDING_PER_PLAN,
    )
    if not rows:
        return Dispatched()
    pending = [
        PendingClaim(
            claim=ClaimRegistered(
                event_id=derived_event_id("registered", r["event_id"]), occurred_at=r["pending_since"],
                report_id=r["report_id"], region_id=region_id, zone=r["zone"], loss_type=r["loss_type"],
                reported_at=r["reported_at"], lat=r["lat"], lon=r["lon"], deadline_at=r["deadline_at"]),
            attempt=r["attempts"] + 1, pending_since=r["pending_since"], exclude=frozenset(r["exclude"]),
            previous_task_id=r["previous_task_id"], reassign_reason=r["reassign_reason"], raised=frozenset(r["raised"]),
        )
        for r in rows
    ]
    definition = await conn.fetchval("SELECT definition FROM regions WHERE region_id = $1", region_id)
    rules = rules_for(rules, Region.model_validate_json(definition) if definition else None)
    surveyors, vehicles = await region_state(conn, region_id, now, day_start, rules)
    plan = planner(pending, surveyors, vehicles, now, rules)
    attempt_of = {p.claim.report_id: p.attempt for p in pending}
    outputs: list[Outgoing] = []
    for a in plan.assigned:
        await _insert_task(conn, a, attempt_of[a.report_id], now, rules)
        outputs.append(encode("dispatch.assignments", a))
    for e in plan.escalated:
        inserted = await conn.fetchval(
            "INSERT INTO escalations (event_id, report_id, attempt, region_id, zone, reason, detail, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING true",
            e.event_id, e.report_id, attempt_of[e.report_id], e.region_id, e.zone.value, e.reason.value, e.detail,
            e.occurred_at,
        )
        if inserted:
            outputs.append(encode("dispatch.assignments", e))
    return Dispatched(outputs, plan)


async def _insert_task(conn: asyncpg.Connection, a: SurveyorAssigned | SurveyorReassigned, attempt: int,
                       now: datetime, rules: DispatchRules) -> None:
    await conn.execute(
        """
        INSERT INTO survey_tasks (task_id, report_id, attempt, surveyor_id, vehicle_id, region_id, zone, status,
                                  assigned_at, deadline_at, estimated_arrival_at, meets_deadline,
                                  ack_due_at, contact_due_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, 'assigned', $8, $9, $10, $11, $12, $13)
        """,
        a.task_id, a.report_id, attempt, a.surveyor_id, a.vehicle_id, a.region_id, a.zone.value, now,
        a.deadline_at, a.estimated_arrival_at, a.meets_deadline,
        now + timedelta(minutes=rules.ack_within_minutes), now + timedelta(minutes=rules.contact_within_minutes),
    )
    await conn.execute(
        "UPDATE claims SET dispatch_state = 'assigned', attempts = $2 WHERE report_id = $1", a.report_id, attempt
    )


async def send_back_to_dispatch(conn: asyncpg.Connection, task_id: uuid.UUID, report_id: str, reason: str,
                                now: datetime) -> None:
    """A task ended without the surveyor going (declined, never acknowledged): the claim is pending again."""
    await conn.execute(
        "UPDATE claims SET dispatch_state = 'pending', pending_since = $2, previous_task_id = $3,"
        " reassign_reason = $4 WHERE report_id = $1",
        report_id, now, task_id, reason,
    )


class UnknownTask(LookupError):
    """A task event names a task this surveyor does not hold."""


@dataclass
class Progress(Dispatched):
    """A surveyor's report, applied: what to publish, and the times dispatch is measured by."""

    zone: str | None = None
    callback: object | None = None         # the survey callback decision, when a survey was completed
    contact_after_s: float | None = None   # dispatch → customer contacted
    scene_after_s: float | None = None     # report → arrival
    on_time: bool | None = None


_TIME_COLUMN = {
    "task_accepted": "accepted_at",
    "customer_contacted": "contacted_at",
    "arrived_at_scene": "arrived_at",
    "survey_completed": "completed_at",
}


OnCompleted = Callable[[asyncpg.Connection, SurveyCompleted, LossReported], Awaitable[tuple[list[Outgoing], object]]]


async def apply_surveyor_status(pool: asyncpg.Pool, event: SurveyorStatus, now: datetime, day_start: datetime,
                                rules: DispatchRules, planner: Planner,
                                on_completed: OnCompleted | None = None) -> Progress:
    """Apply a report from a surveyor's app. A decline sends the claim back to dispatch; a finished
    survey frees the surveyor (and calls ``on_completed``: the survey callback); either re-plans the region."""
    async with pool.acquire() as conn, conn.transaction():
        if not await claim_event(conn, "surveyor-status", event.event_id):
            return Progress(await outputs_of(conn, "surveyor-status", event.event_id))
        result = await _apply(conn, event, now, day_start, rules, planner, on_completed)
        await add_outputs(conn, "surveyor-status", event.event_id, result.outputs)
        return result


async def _apply(conn, event, now, day_start, rules, planner, on_completed) -> Progress:
    if isinstance(event, PositionReported):
        await conn.execute("UPDATE surveyors SET lat = $2, lon = $3, updated_at = now() WHERE surveyor_id = $1",
                           event.surveyor_id, event.lat, event.lon)
        return Progress()
    if isinstance(event, (ShiftStarted, ShiftEnded)):
        region = await conn.fetchval(
            "UPDATE surveyors SET duty = $2, duty_until = $3, lat = COALESCE($4, lat), lon = COALESCE($5, lon),"
            " updated_at = now() WHERE surveyor_id = $1 RETURNING region_id",
            event.surveyor_id, isinstance(event, ShiftStarted), event.occurred_at + DUTY_OVERRIDE,
            getattr(event, "lat", None), getattr(event, "lon", None),
        )
        if region is None:
            raise UnknownTask(f"surveyor {event.surveyor_id} is not on the roster")
        replanned = await replan_region(conn, region, now, day_start, rules, planner)
        return Progress(replanned.outputs, replanned.plan)

    task = await conn.fetchrow(
        "SELECT t.status, t.report_id, t.region_id, t.zone, t.assigned_at, t.deadline_at, c.reported_at"
        " FROM survey_tasks t JOIN claims c USING (report_id)"
        " WHERE t.task_id = $1 AND t.surveyor_id = $2 FOR UPDATE OF t",
        event.task_id, event.surveyor_id,
    )
    if task is None:
        raise UnknownTask(f"task {event.task_id} is not held by surveyor {event.surveyor_id}")
    progress = Progress(zone=task["zone"])
    column = _TIME_COLUMN.get(event.type)
    if column:  # column names come from the fixed map above, never from input
        first = await conn.fetchval(
            f"UPDATE survey_tasks SET {column} = $2 WHERE task_id = $1 AND {column} IS NULL RETURNING true",
            event.task_id, event.occurred_at,
        )
        if first and column == "contacted_at":
            progress.contact_after_s = (event.occurred_at - task["assigned_at"]).total_seconds()
        if first and column == "arrived_at":
            progress.scene_after_s = (event.occurred_at - task["reported_at"]).total_seconds()
            progress.on_time = event.occurred_at <= task["deadline_at"]
    status = next_status(task["status"], event.type)
    if status is None:
        return progress
    await conn.execute("UPDATE survey_tasks SET status = $2, updated_at = now() WHERE task_id = $1",
                       event.task_id, status)
    if status == "completed":  # surveyor and vehicle are now at the scene
        await conn.execute(
            "UPDATE surveyors s SET lat = (c.report->'location'->>'lat')::float8,"
            " lon = (c.report->'location'->>'lon')::float8, updated_at = now()"
            " FROM claims c WHERE c.report_id = $2 AND s.surveyor_id = $1",
            event.surveyor_id, task["report_id"],
        )
        await conn.execute(
            "UPDATE vehicles v SET lat = (c.report->'location'->>'lat')::float8,"
            " lon = (c.report->'location'->>'lon')::float8, updated_at = now()"
            " FROM survey_tasks t JOIN claims c USING (report_id) WHERE t.task_id = $1 AND v.vehicle_id = t.vehicle_id",
            event.task_id,
        )
    elif status == "declined":
        await send_back_to_dispatch(conn, event.task_id, task["report_id"], "declined", now)
    if status in ("completed", "declined"):
        replanned = await replan_region(conn, task["region_id"], now, day_start, rules, planner)
        progress.outputs, progress.plan = replanned.outputs, replanned.plan
    if status == "completed" and on_completed is not None:
        report = LossReported.model_validate_json(
            await conn.fetchval("SELECT report FROM claims WHERE report_id = $1", task["report_id"]))
        more, progress.callback = await on_completed(conn, event, report)
        progress.outputs = progress.outputs + more
    return progress
