"""The dispatcher's desk: a command applied in one unit of work, the options an escalation offers now, and
what the desk shows (escalations, a command's result, a claim's timeline).

A command is decided in ``models.desk.commands`` against the state it finds under the locks of every region
it touches (the claim's, the surveyor's, the vehicle's), the same locks the planner decides under, so a
command and a plan never both give out one surveyor. Applied or refused, it leaves an audit row with the
state before and after, and a result on ``dispatch.command_results``; a command id seen before changes
nothing (its records, if unpublished, are published again).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime

import asyncpg

from models.contract.desk_commands import (AcknowledgeEscalation, DeskOption, DispatchCommand, SetSurveyorDuty)
from models.desk.commands import ClaimView, Decision, DeskState, decide
from models.desk.options import desk_options
from models.desk.rules import DeskRules
from models.dispatch.planner import RegionPlan
from models.dispatch.tasks import TaskStatus, duty_until, task_due
from models.dispatch.travel import TravelTimeModel
from streams.codec import encode
from streams.services.dispatch import Dispatcher, replan_regions
from streams.services.unit_of_work import UnitOfWork
from streams.store import desk_store, dispatch_store, watchdog_store
from streams.store.roster_store import region_rows

CONSUMER = "desk-commands"


@dataclass(frozen=True)
class DeskContext:
    """What commands and options are worked out with."""

    dispatcher: Dispatcher
    rules: DeskRules = DeskRules()

    def travel_in(self, region_id: str) -> TravelTimeModel:
        """Travel estimates for trips into ``region_id``, as the planner makes them (learned from real trips)."""
        return self.dispatcher.travel_in(region_id)


@dataclass
class Commanded:
    """A command handled: its decision (None: a command id seen before) and the re-plans it led to."""

    decision: Decision | None = None
    plans: list[RegionPlan] = field(default_factory=list)


async def apply_command(uow: UnitOfWork, command: DispatchCommand, now: datetime, day_start: datetime,
                        desk: DeskContext) -> Commanded:
    """Decide and carry out ``command``; its records are queued on ``uow``. See the module docstring."""
    if not await uow.first_time(command.command_id):
        return Commanded()
    conn, d = uow.conn, desk.dispatcher
    report_id = getattr(command, "report_id", None)
    surveyor_id = getattr(command, "surveyor_id", None)
    escalation = None
    if isinstance(command, AcknowledgeEscalation):
        escalation = await desk_store.escalation_view(conn, command.escalation_id)
        report_id = escalation.report_id if escalation else None
    homes = await desk_store.regions_of(conn, surveyor_id, getattr(command, "vehicle_id", None))
    # The surveyor's own live task: taken back when they go off duty, or when they are turned round.
    duty_report = (await desk_store.surveyor_task(conn, surveyor_id)
                   if isinstance(command, SetSurveyorDuty) or getattr(command, "turn_round", False) else None)
    into_report = getattr(command, "into", None)
    claim_regions = await _claim_regions(conn, [r for r in (report_id, duty_report, into_report) if r])
    regions = sorted({*homes.values(), *claim_regions.values()})
    locked = {r["region_id"]: r for r in await dispatch_store.lock_regions(conn, regions, [])} if regions else {}
    claim = await desk_store.claim_view(conn, report_id) if report_id in claim_regions else None
    task_claim = await desk_store.claim_view(conn, duty_report) if duty_report in claim_regions else None
    into = await desk_store.claim_view(conn, into_report) if into_report in claim_regions else None
    rules = d.region_rules.of(d.rules, locked[claim.claim.region_id]["definition"]) if claim else d.rules
    rows = await region_rows(conn, regions, day_start, {r: locked[r]["state_version"] for r in locked}, None)
    states = {rid: rows[rid].states(now, rules) for rid in rows}
    surveyor = None
    if "surveyor" in homes:
        surveyor = next((s for s in states[homes["surveyor"]][0] if s.surveyor_id == surveyor_id), None)
    vehicles = [v for rid in {homes.get("surveyor"), homes.get("vehicle")} if rid for v in states[rid][1]]
    state = DeskState(claim=claim, surveyor=surveyor, surveyor_task=task_claim.live if task_claim else None,
                      surveyor_task_claim=task_claim, vehicles=tuple(vehicles), escalation=escalation,
                      duplicate_of_known=await desk_store.claim_exists(conn, getattr(command, "duplicate_of", None)),
                      into=into)
    escalation_id = getattr(command, "escalation_id", None)
    before = await desk_store.snapshot(conn, report_id, surveyor_id, escalation_id)
    # (A command about no claim, a surveyor's duty, estimates no trip: any region's model will do.)
    decision = decide(command, state, rules, desk.travel_in(claim.claim.region_id if claim else ""), now)
    done = Commanded(decision)
    outputs = [encode("dispatch.command_results", decision.result)]
    if decision.applied:
        await _carry_out(conn, command, decision, claim, now, rules)
        outputs += [encode("dispatch.assignments", e) for e in decision.events]
        if decision.replan:
            # Without the region cache: this transaction has written to what region state reads.
            planned = await replan_regions(uow, {rid: None for rid in decision.replan}, now, day_start,
                                           replace(d, cache=None))
            for result in planned.values():
                outputs += result.outputs
                done.plans += result.plans
    after = await desk_store.snapshot(conn, report_id or decision.result.report_id, surveyor_id, escalation_id)
    await desk_store.record_command(conn, command, decision.result, before, after, now)
    uow.queue(command.command_id, outputs)
    return done


async def _claim_regions(conn: asyncpg.Connection, report_ids: list[str]) -> dict[str, str]:
    if not report_ids:
        return {}
    return {r["report_id"]: r["region_id"] for r in await conn.fetch(
        "SELECT report_id, region_id FROM claims WHERE report_id = ANY($1::text[])", report_ids)}


async def _carry_out(conn: asyncpg.Connection, command: DispatchCommand, decision: Decision, claim: ClaimView | None,
                     now: datetime, rules) -> None:
    """Write what ``decision`` changes, in the order that keeps every invariant true at each statement
    (one live task per claim, surveyor and vehicle): withdraw first, then assign."""
    for task, reason in decision.withdraw:
        await dispatch_store.set_task_status(conn, task.task_id, TaskStatus.CANCELLED, cancel_reason=reason)
    if (back := decision.back_to_dispatch) is not None:
        reason = next(r for t, r in decision.withdraw if t.task_id == back.live.task_id)
        await dispatch_store.send_back_to_dispatch(conn, [(back.live.task_id, back.claim.report_id)], reason, now)
    if decision.duty is not None:
        await dispatch_store.set_duty(conn, command.surveyor_id, decision.duty, duty_until(now), None, None)
    if decision.deadline is not None and claim is not None:
        deadline, limit = decision.deadline
        await desk_store.set_deadline(conn, claim.claim.report_id, deadline, limit, now, decision.dispatch_now)
    if decision.cancel is not None:
        await desk_store.cancel_claim(conn, decision.cancel.report_id, decision.cancel.cancellation.value,
                                      decision.cancel.duplicate_of)
    if decision.merge is not None:
        await desk_store.merge_into(conn, decision.merge.report_id, decision.merge.into, command.type)
    if decision.keep_apart:
        await desk_store.keep_apart(conn, command.report_id)
    if decision.assignment is not None:
        a = decision.assignment
        await dispatch_store.insert_tasks(conn, [(a, decision.attempt, task_due(now, rules))], now,
                                          {a.task_id: decision.home_region_id},
                                          {a.surveyor_id: decision.set_out_from} if decision.set_out_from else None)
    if decision.acknowledge is not None:
        await desk_store.acknowledge(conn, decision.acknowledge, command.dispatcher_id, now)
    if decision.resolves is not None:
        await desk_store.close_escalations(conn, [decision.resolves], "resolved", command.type, now)


async def options_for(pool: asyncpg.Pool, escalation_id: uuid.UUID, now: datetime, day_start: datetime,
                      desk: DeskContext) -> tuple[dict, list[DeskOption]] | None:
    """The escalation (with its claim's state) and its options as things stand now; None: no such escalation."""
    e = await desk_store.escalation_of(pool, escalation_id)
    if e is None:
        return None
    async with pool.acquire() as conn:
        claim = await desk_store.claim_view(conn, e["report_id"])  # (a lock only for this read's transaction)
    rows = await watchdog_store.every_region(pool, day_start, desk.dispatcher.cache)
    rules = desk.dispatcher.rules
    regions = {rid: r.states(now, rules) for rid, r in rows.items()}
    summary = {"escalation_id": str(e["event_id"]), "report_id": e["report_id"], "state": e["state"],
               "claim_state": claim.state.value, "deadline_at": claim.claim.deadline_at.isoformat(),
               "live_task": None if claim.live is None else {"surveyor_id": claim.live.surveyor_id,
                                                             "status": claim.live.status.value}}
    if claim.closed:
        return summary, []
    exclude = claim.exclude | ({claim.live.surveyor_id} if claim.live else set())
    travel = desk.travel_in(claim.claim.region_id)
    return summary, desk_options(claim.claim, frozenset(exclude), regions, rules, travel, now,
                                 max_km=desk.rules.neighbour_max_km, call_in_minutes=desk.rules.call_in_minutes,
                                 per_kind=desk.rules.options_per_kind, has_surveyor=claim.live is not None)
