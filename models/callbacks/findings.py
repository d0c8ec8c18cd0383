"""Routing what callbacks find to the department responsible, with a follow-up deadline."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from models.contract.callback_events import Finding, FindingKind, FindingRouted
from models.callbacks.rules import CallbackRules
from models.callbacks.schedule import Deadline
from models.contract.event import derived_event_id
from models.working_days import WorkingDays


def follow_up_due(kind: FindingKind, found_at: datetime, rules: CallbackRules, calendar: WorkingDays) -> Deadline:
    """The end of the day by which the department must follow a finding up: working days, except that a
    complaint's clock counts calendar days (moved to the next working day) when the rules say so."""
    days = rules.follow_up_days[kind]
    tz = ZoneInfo(rules.timezone)
    if kind is FindingKind.COMPLAINT and rules.complaint_clock_calendar_days:
        day = calendar.next_working_day(found_at.astimezone(tz).date() + timedelta(days=days))
    else:
        day = calendar.add_working_days(found_at.astimezone(tz).date(), days)
    return Deadline(datetime.combine(day.day, datetime.max.time().replace(microsecond=0), tz), day.provisional)


def route(task_id: uuid.UUID, attempt_no: int, index: int, finding: Finding, problem_case: bool, now: datetime,
          rules: CallbackRules, calendar: WorkingDays) -> FindingRouted:
    due = follow_up_due(finding.kind, now, rules, calendar)
    finding_id = derived_event_id("finding", task_id, attempt_no, index)
    return FindingRouted(event_id=finding_id, occurred_at=now, finding_id=finding_id, task_id=task_id,
                         kind=finding.kind, department=rules.departments[finding.kind], text=finding.text,
                         follow_up_due_at=due.at, follow_up_due_provisional=due.provisional,
                         problem_case=problem_case)
