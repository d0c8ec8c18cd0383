"""Callbacks in PostgreSQL: decisions, tasks, attempts and findings, each with its inbox row and outbox records."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg

from models.business_events import CustomerContact
from models.callback_eligibility import Trigger
from models.callback_events import AttemptOutcome, CallbackAttempted, CallbackKind, CallbackTaskIssued, Channel
from models.callback_progress import Done, after_attempt, findings_to_route, upgrades
from models.callback_rules import CallbackRules
from models.callback_sampling import MonthToDate, Selection, select
from models.callback_schedule import Deadline, due_at, expires_at, next_attempt_time, within_calling_hours
from models.events import derived_event_id
from models.findings import route
from models.phones import lookup_hashes
from models.working_days import WorkingDays
from streams.codec import Outgoing, encode


def month_of(moment: datetime, rules: CallbackRules) -> str:
    return moment.astimezone(ZoneInfo(rules.timezone)).strftime("%Y-%m")


@dataclass
class CallbackDecision:
    outputs: list[Outgoing] = field(default_factory=list)
    kind: str | None = None
    excluded: str | None = None
    selected: bool = False
    provisional: bool = False  # the task's due date or expiry rests on a provisional holiday calendar


async def decide_callback(conn: asyncpg.Connection, trigger: Trigger, now: datetime, rules: CallbackRules,
                          calendar: WorkingDays) -> CallbackDecision:
    """Record the decision for a trigger (inside the caller's transaction) and issue the first attempt if selected."""
    kind, month = trigger.kind, month_of(trigger.occurred_at, rules)
    excluded = trigger.excluded
    if excluded is None and await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM do_not_call WHERE phone_sha256 = ANY($1::text[]))",
            lookup_hashes(trigger.customer.phone)):
        excluded = "do_not_call"
    if excluded is not None:
        await conn.execute(
            "INSERT INTO callback_decisions (source_event_id, kind, month, subject, triggered_at, eligible,"
            " exclusion_reason, selected) VALUES ($1, $2, $3, $4, $5, false, $6, false) ON CONFLICT DO NOTHING",
            trigger.source_event_id, kind.value, month, trigger.subject, trigger.occurred_at, excluded,
        )
        return CallbackDecision(kind=kind.value, excluded=excluded)

    # One decision at a time per kind and month: each rests on the figures the one before it left.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('callbacks:' || $1 || ':' || $2))", kind.value, month)
    row = await conn.fetchrow(
        """
        SELECT (SELECT count(*) FROM callback_decisions WHERE kind = $1 AND month = $2 AND eligible) AS eligible,
               count(*) FILTER (WHERE success) AS successes,
               count(*) FILTER (WHERE state = 'open') AS open,
               count(*) FILTER (WHERE state <> 'open') AS finished
          FROM callback_tasks WHERE kind = $1 AND month = $2
        """,
        kind.value, month,
    )
    mtd = MonthToDate(row["eligible"] + 1, row["successes"], row["open"], row["finished"])
    choice = select(kind, month, trigger.source_event_id, mtd, rules)
    if not choice.selected:
        await _insert_decision(conn, trigger, month, choice, None, False)
        return CallbackDecision(kind=kind.value)
    task_id = derived_event_id("callback-task", trigger.source_event_id)
    due = due_at(kind, trigger.occurred_at, rules, calendar)
    expiry = expires_at(due, rules, calendar)
    await _insert_decision(conn, trigger, month, choice, task_id, expiry.provisional)
    await conn.execute(
        "INSERT INTO callback_tasks (task_id, source_event_id, kind, month, subject, customer, triggered_at, due_at,"
        " due_provisional, expires_at, expires_provisional, next_channel)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'phone')",
        task_id, trigger.source_event_id, kind.value, month, trigger.subject, trigger.customer.model_dump_json(),
        trigger.occurred_at, due.at, due.provisional, expiry.at, expiry.provisional,
    )
    first = _task_event(task_id, kind, trigger.source_event_id, trigger.customer, rules, due, 1, Channel.PHONE,
                        within_calling_hours(max(now, trigger.occurred_at), rules), now)
    return CallbackDecision([encode("callbacks.tasks", first)], kind.value, None, True, expiry.provisional)


async def _insert_decision(conn: asyncpg.Connection, trigger: Trigger, month: str, choice: Selection,
                           task_id, provisional: bool) -> None:
    await conn.execute(
        "INSERT INTO callback_decisions (source_event_id, kind, month, subject, triggered_at, eligible, selected,"
        " probability, hash_value, basis, task_id, calendar_provisional)"
        " VALUES ($1, $2, $3, $4, $5, true, $6, $7, $8, $9, $10, $11)",
        trigger.source_event_id, trigger.kind.value, month, trigger.subject, trigger.occurred_at, choice.selected,
        choice.probability, choice.hash_value, json.dumps(choice.basis), task_id, provisional,
    )


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


async def record_attempt(conn: asyncpg.Connection, attempt: CallbackAttempted, now: datetime, rules: CallbackRules,
                         calendar: WorkingDays) -> AttemptApplied:
    """Apply an attempt's result (inside the caller's transaction): close the task, or issue the next attempt."""
    task = await conn.fetchrow(
        "SELECT kind, state, phone_attempts, attempts_issued, customer, source_event_id, due_at, due_provisional"
        " FROM callback_tasks WHERE task_id = $1 FOR UPDATE",
        attempt.task_id,
    )
    if task is None:
        raise UnknownCallbackTask(f"callback task {attempt.task_id} does not exist")
    kind = CallbackKind(task["kind"])
    applied = AttemptApplied(kind=kind.value)
    inserted = await conn.fetchval(
        "INSERT INTO callback_attempts (task_id, attempt_no, event_id, channel, outcome, identity_confirmed,"
        " satisfaction, failure_reason, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT DO NOTHING RETURNING true",
        attempt.task_id, attempt.attempt_no, attempt.event_id, attempt.channel.value, attempt.outcome.value,
        attempt.identity_confirmed, attempt.satisfaction, attempt.failure_reason, attempt.occurred_at,
    )
    if not inserted:  # this attempt was reported before (another event id): counted once
        return applied
    applied.counted = True
    kind_rules = rules.kinds[kind]
    if task["state"] != "open":
        if upgrades(task["state"], attempt):
            await conn.execute("UPDATE callback_tasks SET state = 'sms_delivered', success = $2, reason = $3,"
                               " success_channel = CASE WHEN $2 THEN 'sms' END WHERE task_id = $1",
                               attempt.task_id, kind_rules.sms_counts_as_success, "SMS delivered")
            applied.closed_state, applied.success = "sms_delivered", kind_rules.sms_counts_as_success
        return applied
    phone = task["phone_attempts"] + (attempt.channel is Channel.PHONE)
    step = after_attempt(attempt, phone, rules.max_phone_attempts, kind_rules)
    if isinstance(step, Done):
        await conn.execute(
            "UPDATE callback_tasks SET state = $2, success = $3, reason = $4, problem_case = $5, phone_attempts = $6,"
            " success_channel = CASE WHEN $3 THEN $7 END, satisfaction = $8, closed_at = $9 WHERE task_id = $1",
            attempt.task_id, step.state, step.success, step.reason, step.problem_case, phone, attempt.channel.value,
            attempt.satisfaction, now,
        )
        applied.closed_state, applied.success = step.state, step.success
    else:
        next_no = task["attempts_issued"] + 1
        await conn.execute(
            "UPDATE callback_tasks SET phone_attempts = $2, attempts_issued = $3, next_channel = $4 WHERE task_id = $1",
            attempt.task_id, phone, next_no, step.channel.value,
        )
        nxt = _task_event(attempt.task_id, kind, task["source_event_id"],
                          CustomerContact.model_validate_json(task["customer"]), rules,
                          Deadline(task["due_at"], task["due_provisional"]), next_no,
                          step.channel, next_attempt_time(attempt.occurred_at, rules, step.spaced), now)
        applied.outputs.append(encode("callbacks.tasks", nxt))
    problem = attempt.outcome is AttemptOutcome.PROBLEM_CASE
    for index, finding in enumerate(findings_to_route(attempt)):
        routed = route(attempt.task_id, attempt.attempt_no, index, finding, problem, now, rules, calendar)
        await conn.execute(
            "INSERT INTO findings (finding_id, task_id, kind, department, text, follow_up_due_at,"
            " follow_up_provisional, problem_case, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            " ON CONFLICT DO NOTHING",
            routed.finding_id, attempt.task_id, routed.kind.value, routed.department, routed.text,
            routed.follow_up_due_at, routed.follow_up_due_provisional, routed.problem_case, now,
        )
        applied.outputs.append(encode("feedback.routed", routed))
        applied.findings.append((routed.kind.value, routed.department))
    return applied


async def mark_overdue_and_expire(pool: asyncpg.Pool, now: datetime) -> tuple[list[str], list[str]]:
    """Open tasks past their due date are marked overdue (kinds returned); past expiry they end as 'expired'."""
    async with pool.acquire() as conn, conn.transaction():
        overdue = await conn.fetch(
            "UPDATE callback_tasks SET overdue_at = $1 WHERE state = 'open' AND overdue_at IS NULL AND due_at <= $1"
            " RETURNING kind", now)
        expired = await conn.fetch(
            "UPDATE callback_tasks SET state = 'expired', success = false, closed_at = $1,"
            " reason = 'no result before the task expired' WHERE state = 'open' AND expires_at <= $1 RETURNING kind",
            now)
    return [r["kind"] for r in overdue], [r["kind"] for r in expired]


async def month_figures(pool: asyncpg.Pool, month: str) -> dict[str, dict]:
    """Per kind, month to date: eligible, selected, successes, open and overdue tasks."""
    rows = await pool.fetch(
        """
        SELECT d.kind,
               count(*) FILTER (WHERE d.eligible) AS eligible,
               count(*) FILTER (WHERE d.selected) AS selected,
               count(t.task_id) FILTER (WHERE t.success) AS successes,
               count(t.task_id) FILTER (WHERE t.state = 'open' AND t.overdue_at IS NOT NULL) AS overdue
          FROM callback_decisions d LEFT JOIN callback_tasks t ON t.source_event_id = d.source_event_id
         WHERE d.month = $1 GROUP BY d.kind
        """,
        month,
    )
    return {r["kind"]: dict(r) for r in rows}
