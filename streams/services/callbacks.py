"""Callbacks' handlers: a business event that may call for a callback, an attempt's result, and the
watchdog's pass over due dates and expiries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from models.contract.business_events import CustomerContact
from models.callbacks.eligibility import Trigger, exclusion, trigger_for
from models.contract.callback_events import AttemptOutcome, CallbackAttempted, CallbackKind, CallbackTaskIssued, Channel
from models.callbacks.progress import EXPIRED, CallbackState, Done, after_attempt, findings_to_route, upgrade
from models.callbacks.rules import CallbackRules
from models.callbacks.sampling import select
from models.callbacks.schedule import Deadline, due_at, expires_at, month_of, next_attempt_time, within_calling_hours
from models.contract.event import derived_event_id
from models.callbacks.findings import route
from models.callbacks.phones import lookup_hashes
from models.working_days import WorkingDays
from streams.codec import Outgoing, encode
from streams.services.unit_of_work import UnitOfWork
from streams.store import callbacks_store


@dataclass(frozen=True)
class CallbackContext:
    rules: CallbackRules
    calendar: WorkingDays


@dataclass
class CallbackDecision:
    outputs: list[Outgoing] = field(default_factory=list)
    kind: str | None = None
    excluded: str | None = None
    selected: bool = False
    provisional: bool = False  # the task's due date or expiry rests on a provisional holiday calendar


async def on_business_event(uow: UnitOfWork, event, now: datetime, ctx: CallbackContext) -> CallbackDecision:
    """A policy, complaint or claim event: the callback it calls for, decided once (a redelivery decides
    nothing; its records: ``uow.outputs``)."""
    if not await uow.first_time(event.event_id):
        return CallbackDecision()
    trigger = trigger_for(event, ctx.rules)
    if trigger is None:
        return CallbackDecision()
    decision = await decide(uow, trigger, now, ctx)
    uow.queue(event.event_id, decision.outputs)
    return decision


async def decide(uow: UnitOfWork, trigger: Trigger, now: datetime, ctx: CallbackContext) -> CallbackDecision:
    """Record the decision for a trigger and, if it is selected, its task and first attempt (the records
    are returned, for the caller to queue with the event it handles)."""
    conn, rules = uow.conn, ctx.rules
    kind, month = trigger.kind, month_of(trigger.occurred_at, rules)
    excluded = exclusion(trigger, trigger.excluded is None
                         and await callbacks_store.on_do_not_call(conn, lookup_hashes(trigger.customer.phone)))
    if excluded is not None:
        await callbacks_store.insert_exclusion(conn, trigger, month, excluded)
        return CallbackDecision(kind=kind.value, excluded=excluded)
    mtd = await callbacks_store.month_to_date(conn, kind.value, month)
    choice = select(kind, month, trigger.source_event_id, mtd, rules)
    if not choice.selected:
        await callbacks_store.insert_decision(conn, trigger, month, choice, None, False)
        return CallbackDecision(kind=kind.value)
    task_id = derived_event_id("callback-task", trigger.source_event_id)
    due = due_at(kind, trigger.occurred_at, rules, ctx.calendar)
    expiry = expires_at(due, rules, ctx.calendar)
    await callbacks_store.insert_decision(conn, trigger, month, choice, task_id, expiry.provisional)
    await callbacks_store.insert_task(conn, task_id, trigger, month, due, expiry, Channel.PHONE)
    first = _task_event(task_id, kind, trigger.source_event_id, trigger.customer, rules, due, 1, Channel.PHONE,
                        within_calling_hours(max(now, trigger.occurred_at), rules), now)
    return CallbackDecision([encode("callbacks.tasks", first)], kind.value, None, True, expiry.provisional)


def _task_event(task_id, kind: CallbackKind, source_event_id, customer: CustomerContact, rules: CallbackRules,
                due: Deadline, attempt_no: int, channel: Channel, not_before: datetime,
                now: datetime) -> CallbackTaskIssued:
    return CallbackTaskIssued(
        event_id=derived_event_id("callback-attempt", task_id, attempt_no), occurred_at=now, task_id=task_id,
        kind=kind, source_event_id=source_event_id, customer=customer, questions=rules.kinds[kind].questions,
        due_at=due.at, due_at_provisional=due.provisional, attempt_no=attempt_no, channel=channel,
        not_before=not_before)


class UnknownCallbackTask(LookupError):
    pass


@dataclass
class AttemptApplied:
    outputs: list[Outgoing] = field(default_factory=list)
    kind: str | None = None
    counted: bool = False          # a new attempt (not a second report of one already recorded)
    closed_state: str | None = None
    success: bool | None = None
    findings: list[tuple[str, str]] = field(default_factory=list)  # (kind, department)


async def on_attempt(uow: UnitOfWork, attempt: CallbackAttempted, now: datetime,
                     ctx: CallbackContext) -> AttemptApplied | None:
    """An attempt's result from the dialer: applied once (None for a redelivery; its records: ``uow.outputs``)."""
    if not await uow.first_time(attempt.event_id):
        return None
    applied = await record_attempt(uow.conn, attempt, now, ctx)
    uow.queue(attempt.event_id, applied.outputs)
    return applied


async def record_attempt(conn: asyncpg.Connection, attempt: CallbackAttempted, now: datetime,
                         ctx: CallbackContext) -> AttemptApplied:
    """Apply an attempt's result (inside the caller's transaction): close the task, or issue the next attempt;
    route what it found."""
    rules = ctx.rules
    task = await callbacks_store.task_for_update(conn, attempt.task_id)
    if task is None:
        raise UnknownCallbackTask(f"callback task {attempt.task_id} does not exist")
    kind = CallbackKind(task["kind"])
    applied = AttemptApplied(kind=kind.value)
    if not await callbacks_store.insert_attempt(conn, attempt):
        return applied  # this attempt was reported before (another event id): counted once
    applied.counted = True
    kind_rules = rules.kinds[kind]
    if task["state"] != CallbackState.OPEN:
        changed = upgrade(task["state"], attempt, kind_rules)
        if changed is not None:
            await callbacks_store.reclose_task(conn, attempt.task_id, changed, Channel.SMS)
            applied.closed_state, applied.success = changed.state, changed.success
        return applied
    phone = task["phone_attempts"] + (attempt.channel is Channel.PHONE)
    step = after_attempt(attempt, phone, rules.max_phone_attempts, kind_rules)
    if isinstance(step, Done):
        await callbacks_store.close_task(conn, attempt.task_id, step, phone, attempt.channel, attempt.satisfaction,
                                         now)
        applied.closed_state, applied.success = step.state, step.success
    else:
        next_no = task["attempts_issued"] + 1
        await callbacks_store.schedule_next(conn, attempt.task_id, phone, next_no, step.channel)
        nxt = _task_event(attempt.task_id, kind, task["source_event_id"],
                          CustomerContact.model_validate_json(task["customer"]), rules,
                          Deadline(task["due_at"], task["due_provisional"]), next_no,
                          step.channel, next_attempt_time(attempt.occurred_at, rules, step.spaced), now)
        applied.outputs.append(encode("callbacks.tasks", nxt))
    problem = attempt.outcome is AttemptOutcome.PROBLEM_CASE
    for index, finding in enumerate(findings_to_route(attempt)):
        routed = route(attempt.task_id, attempt.attempt_no, index, finding, problem, now, rules, ctx.calendar)
        await callbacks_store.insert_finding(conn, attempt.task_id, routed, now)
        applied.outputs.append(encode("feedback.routed", routed))
        applied.findings.append((routed.kind.value, routed.department))
    return applied


async def mark_overdue_and_expire(pool: asyncpg.Pool, now: datetime) -> tuple[list[str], list[str]]:
    """Open tasks past their due date are marked overdue; past expiry they end as expired (kinds of each)."""
    async with pool.acquire() as conn, conn.transaction():
        return await callbacks_store.mark_overdue(conn, now), await callbacks_store.close_expired(conn, now, EXPIRED)

