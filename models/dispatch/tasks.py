"""The life of a survey task and of a claim's dispatch: their states, and what each report from the
surveyor's app (or the watchdog's silence) does to them.

Events may arrive twice or out of order: status only ever moves forward, and a
terminal task (completed, declined, cancelled) never changes again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from models.dispatch.rules import DispatchRules


class TaskStatus(StrEnum):
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    CONTACTED = "contacted"
    ARRIVED = "arrived"
    COMPLETED = "completed"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class DispatchState(StrEnum):
    """Where a claim stands with dispatch (``claims.dispatch_state``)."""

    PENDING = "pending"          # waiting for a surveyor
    ASSIGNED = "assigned"        # a task is live
    APPOINTMENT = "appointment"  # an old loss: the dispatcher agrees a survey time, it is not raced
    CANCELLED = "cancelled"      # by a dispatcher: needs no survey (withdrawn, false, settled, a duplicate)
    LINKED = "linked"            # another report of an accident that has a claim already: served with it


TERMINAL = frozenset({TaskStatus.COMPLETED, TaskStatus.DECLINED, TaskStatus.CANCELLED})
#: Ended without the surveyor going: the claim went back to dispatch, and that surveyor is not offered it again;
#: such a task is left out of every count of arrivals and of live tasks per claim.
WITHDRAWN = frozenset({TaskStatus.DECLINED, TaskStatus.CANCELLED})
#: Why a task was cancelled when dispatch turned its surveyor round to a claim of a higher class
#: (``models/dispatch/diversion.py``): its claim goes back to dispatch, and that surveyor may be offered it again.
DIVERTED = "diverted"
#: The surveyor has not yet called the customer; a reminder may be due.
BEFORE_CONTACT = frozenset({TaskStatus.ASSIGNED, TaskStatus.ACCEPTED})

_RANK = {TaskStatus.ASSIGNED: 0, TaskStatus.ACCEPTED: 1, TaskStatus.CONTACTED: 2, TaskStatus.ARRIVED: 3,
         TaskStatus.COMPLETED: 4}
_TARGET = {
    "task_accepted": TaskStatus.ACCEPTED,
    "customer_contacted": TaskStatus.CONTACTED,
    "arrived_at_scene": TaskStatus.ARRIVED,
    "survey_completed": TaskStatus.COMPLETED,
}
#: The watchdog's event for a task nobody accepted within the acknowledgement limit.
ACK_TIMED_OUT = "ack_timed_out"
#: An explicit shift start or end from the app holds this long, then the roster window decides again.
DUTY_OVERRIDE = timedelta(hours=12)


def next_status(current: str, event_type: str) -> TaskStatus | None:
    """The task's new status after ``event_type``, or None when the event changes no status."""
    current = TaskStatus(current)
    if current in TERMINAL:
        return None
    if event_type == "task_declined":
        return TaskStatus.DECLINED if current in BEFORE_CONTACT else None
    if event_type == ACK_TIMED_OUT:
        return TaskStatus.CANCELLED if current is TaskStatus.ASSIGNED else None
    target = _TARGET.get(event_type)
    if target is None:
        return None
    return target if _RANK[target] > _RANK[current] else None


@dataclass(frozen=True)
class TaskStep:
    """What one event does to a task and around it."""

    status: TaskStatus | None
    #: Why the claim goes back to dispatch (the task ended without the surveyor going), else None.
    back_to_dispatch: str | None = None

    @property
    def at_scene(self) -> bool:
        """A finished survey leaves surveyor and vehicle where the scene is: their next trip starts there."""
        return self.status is TaskStatus.COMPLETED

    @property
    def frees_surveyor(self) -> bool:
        """The surveyor is free again, so the region's waiting claims may be decided differently."""
        return self.status in TERMINAL

    @property
    def calls_back(self) -> bool:
        """A finished survey calls for the survey & loss-assessment callback to the reporter."""
        return self.status is TaskStatus.COMPLETED


def step_after(current: str, event_type: str) -> TaskStep:
    """``next_status`` with its consequences: a decline or an unacknowledged task sends the claim back."""
    status = next_status(current, event_type)
    if status is TaskStatus.DECLINED:
        return TaskStep(status, back_to_dispatch="declined")
    if status is TaskStatus.CANCELLED and event_type == ACK_TIMED_OUT:
        return TaskStep(status, back_to_dispatch="no_acknowledgement")
    return TaskStep(status)


@dataclass(frozen=True)
class TaskDue:
    """When a new task's surveyor must acknowledge it, and must have called the customer."""

    ack_due_at: datetime
    contact_due_at: datetime


def task_due(assigned_at: datetime, rules: DispatchRules) -> TaskDue:
    """The watchdog's limits for a task assigned at ``assigned_at`` under its region's ``rules``."""
    return TaskDue(assigned_at + timedelta(minutes=rules.ack_within_minutes),
                   assigned_at + timedelta(minutes=rules.contact_within_minutes))


def arrived_on_time(arrived_at: datetime, deadline_at: datetime) -> bool:
    """A deadline is met by an arrival at or before it (docs/domain.md: the zone's limit from the report)."""
    return arrived_at <= deadline_at


def arrival_verdict(arrived_at: datetime, deadline_at: datetime,
                    promised_at: datetime | None) -> tuple[bool, bool]:
    """(on time, on promise): met the limit; or missed it and arrived by the arrival the plan promised."""
    on_time = arrived_on_time(arrived_at, deadline_at)
    return on_time, not on_time and promised_at is not None and arrived_on_time(arrived_at, promised_at)


def duty_until(reported_at: datetime) -> datetime:
    """How long a shift start or end from the app outranks the roster's shift window."""
    return reported_at + DUTY_OVERRIDE
