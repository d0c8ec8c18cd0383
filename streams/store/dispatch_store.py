"""Claims, survey tasks, escalations and dead letters: every write is one transaction with its inbox row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import asyncpg

from models.assignment import SurveyorState, VehicleState
from models.dead_letter import DeadLetter
from models.dispatch_events import ClaimRegistered, DispatchEscalated, SurveyorAssigned
from models.events import derived_event_id
from models.intake import Accepted
from models.reports import LossReported
from models.surveyor_events import PositionReported, SurveyorStatus
from models.task_progress import next_status
from streams.codec import Outgoing, encode
from streams.store.outbox import add_outputs, claim_event, outputs_of
from streams.store.roster_store import region_state

Decide = Callable[[list[SurveyorState], list[VehicleState], frozenset[str]], SurveyorAssigned | DispatchEscalated]


async def register_claim(pool: asyncpg.Pool, accepted: Accepted, received_at: datetime) -> tuple[list[Outgoing], bool]:
    """Store a new claim and queue it for dispatch. Returns (records to publish, whether it was new).

    A redelivered event republishes what it produced the first time; a report
    whose id is already known (re-sent with a new event id) produces nothing.
    """
    report, claim = accepted.report, accepted.claim
    async with pool.acquire() as conn, conn.transaction():
        if not await claim_event(conn, "intake", report.event_id):
            return await outputs_of(conn, "intake", report.event_id), False
        inserted = await conn.fetchval(
            """
            INSERT INTO claims (report_id, event_id, reported_at, loss_time, received_at, region_id, zone,
                                loss_type, policy_no, deadline_at, report)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            ON CONFLICT (report_id) DO NOTHING RETURNING true
            """,
            report.report_id, report.event_id, report.occurred_at, report.loss_time, received_at, claim.region_id,
            claim.zone.value, report.loss_type.value, report.policy.number, claim.deadline_at, report.model_dump_json(),
        )
        if not inserted:
            return [], False
        outputs = [encode("dispatch.pending", claim)]
        await add_outputs(conn, "intake", report.event_id, outputs)
        return outputs, True


async def dispatch_claim(
    pool: asyncpg.Pool, claim: ClaimRegistered, day_start: datetime, decide: Decide
) -> tuple[list[Outgoing], SurveyorAssigned | DispatchEscalated | None]:
    """Decide for one claim under its region's lock and store the decision with its outputs.

    Returns the records to publish and the decision made now (None when this
    was a redelivery, or the report already has a live task or an escalation).
    """
    async with pool.acquire() as conn, conn.transaction():
        if not await claim_event(conn, "dispatch", claim.event_id):
            return await outputs_of(conn, "dispatch", claim.event_id), None
        # One region is decided by one partition at a time already; the lock
        # keeps that true across a rebalance, when two workers may overlap.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('region:' || $1))", claim.region_id)
        handled = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM survey_tasks WHERE report_id = $1 AND live)"
            " OR EXISTS (SELECT 1 FROM escalations WHERE report_id = $1 AND resolved_at IS NULL)",
            claim.report_id,
        )
        if handled:
            return [], None
        declined = await conn.fetch(
            "SELECT surveyor_id FROM survey_tasks WHERE report_id = $1 AND status = 'declined'", claim.report_id
        )
        surveyors, vehicles = await region_state(conn, claim.region_id, day_start)
        decision = decide(surveyors, vehicles, frozenset(r["surveyor_id"] for r in declined))
        if isinstance(decision, SurveyorAssigned):
            await conn.execute(
                """
                INSERT INTO survey_tasks (task_id, report_id, surveyor_id, vehicle_id, region_id, zone, status,
                                          assigned_at, deadline_at, estimated_arrival_at, meets_deadline)
                VALUES ($1, $2, $3, $4, $5, $6, 'assigned', $7, $8, $9, $10)
                """,
                decision.task_id, decision.report_id, decision.surveyor_id, decision.vehicle_id, decision.region_id,
                decision.zone.value, decision.occurred_at, decision.deadline_at, decision.estimated_arrival_at,
                decision.meets_deadline,
            )
        else:
            await conn.execute(
                "INSERT INTO escalations (event_id, report_id, region_id, zone, reason, detail, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                decision.event_id, decision.report_id, decision.region_id, decision.zone.value,
                decision.reason.value, decision.detail, decision.occurred_at,
            )
        outputs = [encode("dispatch.assignments", decision)]
        await add_outputs(conn, "dispatch", claim.event_id, outputs)
        return outputs, decision


_TIME_COLUMN = {
    "task_accepted": "accepted_at",
    "customer_contacted": "contacted_at",
    "arrived_at_scene": "arrived_at",
    "survey_completed": "completed_at",
}


class UnknownTask(LookupError):
    """A task event names a task this surveyor does not hold."""


async def apply_surveyor_status(pool: asyncpg.Pool, event: SurveyorStatus, now: datetime) -> list[Outgoing]:
    """Apply a status event from a surveyor's app; a decline sends the claim back to dispatch."""
    async with pool.acquire() as conn, conn.transaction():
        if not await claim_event(conn, "surveyor-status", event.event_id):
            return await outputs_of(conn, "surveyor-status", event.event_id)
        if isinstance(event, PositionReported):
            await conn.execute(
                "UPDATE surveyors SET lat = $2, lon = $3, updated_at = now() WHERE surveyor_id = $1",
                event.surveyor_id, event.lat, event.lon,
            )
            return []
        task_id = getattr(event, "task_id", None)
        if task_id is None:  # shift events: the roster's shift windows decide duty for now
            return []
        task = await conn.fetchrow(
            "SELECT t.status, t.report_id, c.report FROM survey_tasks t JOIN claims c USING (report_id)"
            " WHERE t.task_id = $1 AND t.surveyor_id = $2 FOR UPDATE OF t",
            task_id, event.surveyor_id,
        )
        if task is None:
            raise UnknownTask(f"task {task_id} is not held by surveyor {event.surveyor_id}")
        column = _TIME_COLUMN.get(event.type)
        if column:
            await conn.execute(
                f"UPDATE survey_tasks SET {column} = COALESCE({column}, $2) WHERE task_id = $1",  # column from a fixed map
                task_id, event.occurred_at,
            )
        status = next_status(task["status"], event.type)
        if status is None:
            return []
        await conn.execute("UPDATE survey_tasks SET status = $2, updated_at = now() WHERE task_id = $1", task_id, status)
        outputs: list[Outgoing] = []
        if status == "completed":
            await conn.execute(
                "UPDATE surveyors s SET lat = (c.report->'location'->>'lat')::float8,"
                " lon = (c.report->'location'->>'lon')::float8, updated_at = now()"
                " FROM claims c WHERE c.report_id = $2 AND s.surveyor_id = $1",
                event.surveyor_id, task["report_id"],
            )
        elif status == "declined":
            row = await conn.fetchrow(
                "SELECT region_id, zone, loss_type, reported_at, deadline_at, report FROM claims WHERE report_id = $1",
                task["report_id"],
            )
            report = LossReported.model_validate_json(row["report"])
            again = ClaimRegistered(
                event_id=derived_event_id("redispatch", event.event_id),
                occurred_at=now,
                report_id=report.report_id,
                region_id=row["region_id"],
                zone=row["zone"],
                loss_type=row["loss_type"],
                reported_at=row["reported_at"],
                lat=report.location.lat,
                lon=report.location.lon,
                deadline_at=row["deadline_at"],
            )
            outputs.append(encode("dispatch.pending", again))
        await add_outputs(conn, "surveyor-status", event.event_id, outputs)
        return outputs


async def record_dead_letter(pool: asyncpg.Pool, letter: DeadLetter) -> None:
    await pool.execute(
        "INSERT INTO dead_letters (event_id, source_topic, source_partition, source_offset, reason, detail, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        letter.event_id, letter.source_topic, letter.source_partition, letter.source_offset, letter.reason,
        letter.detail, letter.occurred_at,
    )
