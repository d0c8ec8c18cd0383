"""Routing what callbacks find to the department responsible, with a follow-up deadline."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from models.callback_events import Finding, FindingKind, FindingRouted
from models.callback_rules import CallbackRules
from models.events import derived_event_id
from models.working_days import WorkingDays


def route(task_id: uuid.UUID, attempt_no: int, index: int, finding: Finding, problem_case: bool, now: datetime,
          rules: CallbackRules, calendar: WorkingDays) -> FindingRouted:
    days = rules.follow_up_days[finding.kind]
    tz = ZoneInfo(rules.timezone)
    if finding.kind is FindingKind.COMPLAINT and rules.complaint_clock_calendar_days:
        due_day = calendar.next_working_day(now.astimezone(tz).date() + timedelta(days=days))
    else:
        due_day = calendar.add_working_days(now.astimezone(tz).date(), days)
    finding_id = derived_event_id("finding", task_id, attempt_no, index)
    return FindingRouted(event_id=finding_id, occurred_at=now, finding_id=finding_id, task_id=task_id,
                         kind=finding.kind, department=rules.departments[finding.kind], text=finding.text,
                         follow_up_due_at=datetime.combine(due_day, datetime.max.time().replace(microsecond=0), tz),
                         problem_case=problem_case)
