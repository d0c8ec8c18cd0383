"""`callbacks.tasks`, `callbacks.attempts` and `feedback.routed`: the callback loop."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from models.contract.business_events import CustomerContact
from models.contract.event import Event


class CallbackKind(StrEnum):
    UNDERWRITING = "underwriting"
    SURRENDER = "surrender"
    COMPLAINT = "complaint"
    SURVEY = "survey"
    CLOSURE = "closure"


class Channel(StrEnum):
    PHONE = "phone"
    SMS = "sms"


class AttemptOutcome(StrEnum):
    REACHED = "reached"
    PROBLEM_CASE = "problem_case"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    WRONG_NUMBER = "wrong_number"
    REFUSED = "refused"
    SMS_SENT = "sms_sent"
    SMS_DELIVERED = "sms_delivered"


class FindingKind(StrEnum):
    CONSULTATION = "consultation"
    COMPLAINT = "complaint"
    TIP_OFF = "tip_off"
    OPINION = "opinion"
    SUGGESTION = "suggestion"


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: FindingKind
    text: str = Field(min_length=1, max_length=4000)


class CallbackTaskIssued(Event):
    """An outbound dialer or agent desk should make this callback attempt."""

    type: Literal["callback_task_issued"] = "callback_task_issued"
    task_id: uuid.UUID = Field(description="The topic key.")
    kind: CallbackKind
    source_event_id: uuid.UUID = Field(description="The business event that triggered the callback.")
    customer: CustomerContact
    questions: tuple[str, ...]
    due_at: AwareDatetime
    due_at_provisional: bool = Field(
        default=False,
        description="The due date was reckoned on a provisional holiday calendar (the year's official schedule "
                    "is not published yet); it may move when it is.")
    attempt_no: int = Field(ge=1)
    channel: Channel
    not_before: AwareDatetime = Field(description="Do not call before this time (calling hours, spacing).")


class CallbackAttempted(Event):
    """The result of one attempt, reported by the dialer, agent desk or SMS gateway."""

    type: Literal["callback_attempted"] = "callback_attempted"
    task_id: uuid.UUID = Field(description="The topic key.")
    attempt_no: int = Field(ge=1)
    channel: Channel
    outcome: AttemptOutcome
    identity_confirmed: bool = False
    satisfaction: int | None = Field(default=None, ge=1, le=5)
    findings: tuple[Finding, ...] = ()
    failure_reason: str = Field(default="", max_length=500)


class FindingRouted(Event):
    """Something a callback found, sent to the department that must act on it."""

    type: Literal["finding_routed"] = "finding_routed"
    finding_id: uuid.UUID = Field(description="The topic key.")
    task_id: uuid.UUID
    kind: FindingKind
    department: str
    text: str
    follow_up_due_at: AwareDatetime
    follow_up_due_provisional: bool = Field(
        default=False,
        description="The follow-up deadline was reckoned on a provisional holiday calendar; it may move when the "
                    "year's official schedule is published.")
    problem_case: bool = False
