"""`dispatch.assignments`: what dispatch decided; and the claim as dispatch plans it."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Literal, Union

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from models.contract.event import Event
from models.contract.loss_report import LossType
from models.dispatch.zones import Zone


class Scene(BaseModel):
    """Where the surveyor must go."""

    model_config = ConfigDict(frozen=True)

    address: str = ""
    lat: float
    lon: float


class SceneContact(BaseModel):
    """Whom the surveyor calls: the reporter. Personal data: in the event for the surveyor app, never logged."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    phone: str
    relation: str = "insured"


class ClaimRegistered(Event):
    """Intake accepted a report and stored the claim: what dispatch plans with. Not published:
    intake stores and decides a claim in one step (earlier versions sent it on `dispatch.pending`)."""

    type: Literal["claim_registered"] = "claim_registered"
    report_id: str
    region_id: str
    zone: Zone
    loss_type: LossType
    reported_at: AwareDatetime
    lat: float
    lon: float
    deadline_at: AwareDatetime = Field(description="Latest arrival at the scene.")
    address: str = ""
    contact: SceneContact | None = None
    priority: int = Field(default=3, ge=1, le=3, description="1 serious or fatal injury, 2 minor injury, vehicle "
                                                               "not drivable or people stranded, 3 the rest.")


class EscalationReason(StrEnum):
    NO_SURVEYOR_ON_DUTY = "no_surveyor_on_duty"
    NO_SKILLED_SURVEYOR = "no_skilled_surveyor"
    ALL_SURVEYORS_BUSY = "all_surveyors_busy"
    NO_EQUIPPED_VEHICLE = "no_equipped_vehicle"
    DEADLINE_UNREACHABLE = "deadline_unreachable"
    DISPATCH_OVERDUE = "dispatch_overdue"
    APPOINTMENT_CASE = "appointment_case"  # a loss reported long after it happened: agree a time, do not race
    POSSIBLE_DUPLICATE = "possible_duplicate"  # perhaps another report of an accident with a claim: merge or not


class SurveyorAssigned(Event):
    """A surveyor and a vehicle were sent to a reported loss."""

    type: Literal["surveyor_assigned"] = "surveyor_assigned"
    task_id: uuid.UUID
    report_id: str
    region_id: str
    zone: Zone
    surveyor_id: str
    vehicle_id: str
    reported_at: AwareDatetime
    deadline_at: AwareDatetime
    estimated_arrival_at: AwareDatetime
    meets_deadline: bool = Field(description="Whether the estimated arrival is within the deadline.")
    scene: Scene | None = Field(default=None, description="Where to go: the reported address and coordinates.")
    contact: SceneContact | None = Field(default=None, description="Whom to call: the reporter (personal data).")


class SurveyorReassigned(Event):
    """A task moved to another surveyor (declined, not acknowledged, ...)."""

    type: Literal["surveyor_reassigned"] = "surveyor_reassigned"
    task_id: uuid.UUID
    previous_task_id: uuid.UUID
    report_id: str
    region_id: str
    zone: Zone
    surveyor_id: str
    vehicle_id: str
    reason: str
    deadline_at: AwareDatetime
    estimated_arrival_at: AwareDatetime
    meets_deadline: bool
    scene: Scene | None = Field(default=None, description="Where to go: the reported address and coordinates.")
    contact: SceneContact | None = Field(default=None, description="Whom to call: the reporter (personal data).")


class DispatchEscalated(Event):
    """No one can be sent (in time): a dispatcher must act now, not after the breach."""

    type: Literal["dispatch_escalated"] = "dispatch_escalated"
    report_id: str
    region_id: str
    zone: Zone
    reason: EscalationReason
    detail: str = Field(description="Human-readable explanation for the dispatcher.")
    options: tuple[str, ...] = Field(default=(), description="What a dispatcher can do about it.")
    reported_at: AwareDatetime
    deadline_at: AwareDatetime
    proposed_arrival_at: AwareDatetime | None = Field(
        default=None,
        description="deadline_unreachable, and all_surveyors_busy when someone can take the claim: the arrival the "
                    "plan can keep (its estimate, a margin, rounded up to 5 minutes), for the hotline and SMS to tell "
                    "the customer; arrivals by it count as met on promise. A later escalation of the same claim may "
                    "carry a later time: the customer is told again.")


class ArrivalDeadlineMissed(Event):
    """The surveyor had not arrived when the arrival deadline passed."""

    type: Literal["arrival_deadline_missed"] = "arrival_deadline_missed"
    task_id: uuid.UUID
    report_id: str
    region_id: str
    zone: Zone
    surveyor_id: str
    deadline_at: AwareDatetime


class ArrivalPromiseMissed(Event):
    """A claim that could not be met was promised an arrival (``proposed_arrival_at`` of its escalation), and
    the surveyor had not arrived when that time passed either, or no surveyor had even been sent: the customer
    is to be told again, the dispatcher to look."""

    type: Literal["arrival_promise_missed"] = "arrival_promise_missed"
    task_id: uuid.UUID | None = Field(description="The live task; null when no surveyor had been sent by then.")
    report_id: str
    region_id: str
    zone: Zone
    surveyor_id: str | None = Field(description="Who is on the way; null when no surveyor had been sent by then.")
    deadline_at: AwareDatetime = Field(description="The zone's limit, already missed.")
    promised_arrival_at: AwareDatetime = Field(description="The arrival promised the customer, missed now.")
    estimated_arrival_at: AwareDatetime | None = Field(
        default=None, description="The latest estimate, when it is still ahead.")


class CustomerContactOverdue(Event):
    """The surveyor has not called the customer within the contact limit after dispatch: a reminder."""

    type: Literal["customer_contact_overdue"] = "customer_contact_overdue"
    task_id: uuid.UUID
    report_id: str
    region_id: str
    surveyor_id: str
    contact_due_at: AwareDatetime


class LateArrivalNoticeIssued(Event):
    """The customer is to be told the surveyor will be late (a late arrival is an event, not a silent miss)."""

    type: Literal["late_arrival_notice_issued"] = "late_arrival_notice_issued"
    task_id: uuid.UUID
    report_id: str
    region_id: str
    deadline_at: AwareDatetime
    estimated_arrival_at: AwareDatetime | None = None


class TaskWithdrawn(Event):
    """A surveyor's task taken back: by a dispatcher (reassigned, the claim cancelled, the surveyor off duty),
    or by dispatch, the surveyor turned round on the way to a claim of a higher class that no one else reaches in
    time (diverted; the claim given up is dispatched again). The surveyor stops; a new task, if any, follows as
    its own event."""

    type: Literal["task_withdrawn"] = "task_withdrawn"
    task_id: uuid.UUID
    report_id: str
    region_id: str
    surveyor_id: str
    reason: str = Field(description="reassigned, claim_cancelled, surveyor_off_duty or diverted.")


class ArrivalTimeAgreed(Event):
    """The customer agreed a later arrival with the dispatcher: the notice to confirm it to the customer
    (hotline, SMS); the new deadline is held like the limit it replaces."""

    type: Literal["arrival_time_agreed"] = "arrival_time_agreed"
    report_id: str
    region_id: str
    zone: Zone
    previous_deadline_at: AwareDatetime
    deadline_at: AwareDatetime = Field(description="The agreed arrival: the claim's deadline from now on.")
    task_id: uuid.UUID | None = Field(default=None, description="The live task now held to it, if any.")


class ClaimCancelled(Event):
    """A claim that needs no survey (withdrawn, false, settled remotely or by self-service, a duplicate)."""

    type: Literal["claim_cancelled"] = "claim_cancelled"
    report_id: str
    region_id: str
    cancellation: str
    duplicate_of: str | None = None


class DuplicateReportLinked(Event):
    """A report recognised as another report of an accident that has a claim already: served with it, not
    dispatched on its own. When that claim's surveyor is on the way, they are told one more party is at the
    scene (``contact``: personal data, for the app only)."""

    type: Literal["duplicate_report_linked"] = "duplicate_report_linked"
    report_id: str = Field(description="The report linked.")
    linked_to: str = Field(description="The report id of the claim it belongs to.")
    region_id: str
    score: float
    evidence: tuple[str, ...]
    by: str = Field(description="intake (recognised on arrival) or the dispatcher who merged it.")
    task_id: uuid.UUID | None = Field(default=None, description="The claim's live task, told of the second party.")
    surveyor_id: str | None = None
    contact: SceneContact | None = Field(default=None, description="The second party: whom the surveyor also meets.")


class SurveyorSentToBase(Event):
    """A survey is done and nothing waits for its surveyor: they drive back to base with the vehicle (keyed by the
    claim just surveyed). Dispatch reckons them on the way there, and a claim reported meanwhile may be given to
    them from the road (a ``surveyor_assigned`` then supersedes this)."""

    type: Literal["surveyor_sent_to_base"] = "surveyor_sent_to_base"
    report_id: str = Field(description="The claim whose survey just ended.")
    region_id: str
    surveyor_id: str
    vehicle_id: str | None = None
    lat: float = Field(description="The base (the roster's), where they are to wait.")
    lon: float
    expected_at: AwareDatetime = Field(description="When dispatch expects them there.")


DispatchDecision = Annotated[
    Union[SurveyorAssigned, SurveyorReassigned, DispatchEscalated, ArrivalDeadlineMissed, ArrivalPromiseMissed,
          CustomerContactOverdue, LateArrivalNoticeIssued, TaskWithdrawn, ArrivalTimeAgreed, ClaimCancelled,
          DuplicateReportLinked, SurveyorSentToBase],
    Field(discriminator="type"),
]
