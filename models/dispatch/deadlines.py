"""What the watchdog says when a task's deadline passes. Pure: ids derived from the task, so each fires once."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta

from models.contract.dispatch_events import (ArrivalDeadlineMissed, ArrivalPromiseMissed, CustomerContactOverdue,
                                             LateArrivalNoticeIssued)
from models.contract.event import derived_event_id
from models.dispatch.zones import Zone


def round_up(at: datetime, minutes: int) -> datetime:
    """``at`` rounded up to a multiple of ``minutes`` (a time a customer can be told: 14:35, not 14:31:07)."""
    step = minutes * 60
    return datetime.fromtimestamp(math.ceil(at.timestamp() / step) * step, tz=at.tzinfo)


def promise(estimate: datetime, margin_minutes: float, round_minutes: int) -> datetime:
    """The arrival a plan that cannot meet a deadline promises: its estimate, a margin, rounded up."""
    return round_up(estimate + timedelta(minutes=margin_minutes), round_minutes)


def contact_overdue(task_id: uuid.UUID, report_id: str, region_id: str, surveyor_id: str, due_at: datetime,
                    now: datetime) -> CustomerContactOverdue:
    """A reminder: the surveyor has not called the customer within the contact limit."""
    return CustomerContactOverdue(event_id=derived_event_id("contact-overdue", task_id), occurred_at=now,
                                  task_id=task_id, report_id=report_id, region_id=region_id, surveyor_id=surveyor_id,
                                  contact_due_at=due_at)


def arrival_missed(task_id: uuid.UUID, report_id: str, region_id: str, zone: str, surveyor_id: str,
                   deadline_at: datetime, estimated_arrival_at: datetime | None,
                   now: datetime) -> tuple[ArrivalDeadlineMissed, LateArrivalNoticeIssued]:
    """The arrival deadline passed with no arrival: an event for dispatch, and a notice for the customer."""
    missed = ArrivalDeadlineMissed(event_id=derived_event_id("arrival-missed", task_id), occurred_at=now,
                                   task_id=task_id, report_id=report_id, region_id=region_id, zone=Zone(zone),
                                   surveyor_id=surveyor_id, deadline_at=deadline_at)
    notice = LateArrivalNoticeIssued(event_id=derived_event_id("late-notice", task_id), occurred_at=now,
                                     task_id=task_id, report_id=report_id, region_id=region_id,
                                     deadline_at=deadline_at,
                                     estimated_arrival_at=estimated_arrival_at if estimated_arrival_at and
                                     estimated_arrival_at > deadline_at else None)
    return missed, notice


def promise_missed(task_id: uuid.UUID | None, report_id: str, region_id: str, zone: str, surveyor_id: str | None,
                   deadline_at: datetime, promised_arrival_at: datetime, estimated_arrival_at: datetime | None,
                   now: datetime, told: uuid.UUID | None = None) -> ArrivalPromiseMissed:
    """The arrival promised to a claim that could not be met passed with no arrival: held like the limit. Without
    a task (no one sent by then) it fires once per time told (``told``: the escalation that told it)."""
    event_id = (derived_event_id("promise-missed", task_id) if task_id is not None else
                derived_event_id("promise-missed-waiting", told))
    return ArrivalPromiseMissed(event_id=event_id, occurred_at=now,
                                task_id=task_id, report_id=report_id, region_id=region_id, zone=Zone(zone),
                                surveyor_id=surveyor_id, deadline_at=deadline_at,
                                promised_arrival_at=promised_arrival_at,
                                estimated_arrival_at=estimated_arrival_at if estimated_arrival_at and
                                estimated_arrival_at > now else None)
