"""What a dispatcher asks of the system (``dispatch.commands``) and what came of it
(``dispatch.command_results``).

Any front end (the desk's API and console, a claims core's screen) sends the same commands. Each carries
its own ``command_id``: a command sent again with the same id changes nothing and gets the same result.
A command that breaks a rule is refused with the reasons (``Refusal``); a supervisor may force the
refusals that are judgement calls (off duty, unskilled, missing equipment) with a reason of their own,
never those that would make the records contradict themselves (a surveyor or a claim with two live tasks,
a closed claim).
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Literal, Union

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from models.contract.event import Event


class CancelReason(StrEnum):
    WITHDRAWN_BY_CUSTOMER = "withdrawn_by_customer"
    FALSE_REPORT = "false_report"
    SETTLED_REMOTELY = "settled_remotely"
    SELF_SERVICE = "self_service"
    DUPLICATE = "duplicate"            # of another claim: ``duplicate_of`` names it


class DutyCause(StrEnum):
    SICK = "sick"
    VEHICLE_BREAKDOWN = "vehicle_breakdown"
    OTHER = "other"
    BACK_ON_DUTY = "back_on_duty"


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    command_id: uuid.UUID = Field(description="Chosen by the sender; a command re-sent with the same id changes "
                                              "nothing and is answered with the first result.")
    dispatcher_id: str = Field(min_length=1, max_length=64, description="Who asks (the desk's login, not a name).")
    reason: str = Field(min_length=1, max_length=500, description="Why, in the dispatcher's words (audited).")
    issued_at: AwareDatetime
    forced_by: str | None = Field(default=None, max_length=64,
                                  description="A supervisor overriding the refusals that may be overridden.")
    force_reason: str | None = Field(default=None, max_length=500,
                                     description="The supervisor's reason; required with forced_by.")
    schema_version: int = Field(default=1, ge=1, le=1)


class _SendSurveyor(_Command):
    report_id: str
    surveyor_id: str
    vehicle_id: str | None = Field(default=None, description="Unset: the surveyor's fastest free vehicle (turned "
                                                            "round: the one they drive).")
    turn_round: bool = Field(default=False, description=(
        "The surveyor is on the way to another claim, of a lower class: that task is taken back (task_withdrawn, "
        "reason diverted), its claim back to dispatch, and they come here from about where they are now."))


class AssignSurveyor(_SendSurveyor):
    """Send this surveyor (of any region) to a claim waiting for one; the vehicle is theirs to pick unless named."""

    type: Literal["assign_surveyor"] = "assign_surveyor"


class Reassign(_SendSurveyor):
    """Take the claim's live task back from its surveyor and give it to this one."""

    type: Literal["reassign"] = "reassign"


class AgreeArrivalTime(_Command):
    """The customer agreed to a later arrival: it becomes the claim's deadline, held like any other."""

    type: Literal["agree_arrival_time"] = "agree_arrival_time"
    report_id: str
    arrive_by: AwareDatetime


class CancelClaim(_Command):
    """The claim needs no survey: its live task, if any, is withdrawn and the surveyor freed."""

    type: Literal["cancel_claim"] = "cancel_claim"
    report_id: str
    cancellation: CancelReason
    duplicate_of: str | None = None


class MergeDuplicate(_Command):
    """This claim is another report of ``into``'s accident: served with it, its own task (if any) withdrawn."""

    type: Literal["merge_duplicate"] = "merge_duplicate"
    report_id: str
    into: str


class KeepApart(_Command):
    """A claim flagged as a possible duplicate is its own accident: the flag and its escalation close."""

    type: Literal["keep_apart"] = "keep_apart"
    report_id: str


class SetSurveyorDuty(_Command):
    """Take a surveyor off duty now (their live task goes to someone else) or put them back on."""

    type: Literal["set_surveyor_duty"] = "set_surveyor_duty"
    surveyor_id: str
    on_duty: bool
    cause: DutyCause


class AcknowledgeEscalation(_Command):
    """The dispatcher has seen the escalation and owns it."""

    type: Literal["acknowledge_escalation"] = "acknowledge_escalation"
    escalation_id: uuid.UUID


DispatchCommand = Annotated[
    Union[AssignSurveyor, Reassign, AgreeArrivalTime, CancelClaim, MergeDuplicate, KeepApart, SetSurveyorDuty,
          AcknowledgeEscalation],
    Field(discriminator="type"),
]


COMMAND_TYPES = ("assign_surveyor", "reassign", "agree_arrival_time", "cancel_claim", "merge_duplicate",
                 "keep_apart", "set_surveyor_duty", "acknowledge_escalation")


class Refusal(StrEnum):
    """Why a command was not carried out. ``FORCEABLE`` ones a supervisor may override."""

    CLAIM_UNKNOWN = "claim_unknown"
    CLAIM_CLOSED = "claim_closed"                    # cancelled, or surveyed already
    CLAIM_HAS_LIVE_TASK = "claim_has_live_task"      # assign: reassign instead
    CLAIM_HAS_NO_LIVE_TASK = "claim_has_no_live_task"  # reassign: assign instead
    SAME_SURVEYOR = "same_surveyor"
    SURVEYOR_UNKNOWN = "surveyor_unknown"
    SURVEYOR_BUSY = "surveyor_busy"
    SURVEYOR_OFF_DUTY = "surveyor_off_duty"
    SURVEYOR_UNSKILLED = "surveyor_unskilled"
    VEHICLE_UNKNOWN = "vehicle_unknown"
    VEHICLE_BUSY = "vehicle_busy"
    VEHICLE_MISSING_EQUIPMENT = "vehicle_missing_equipment"
    NO_FREE_VEHICLE = "no_free_vehicle"
    ARRIVAL_NOT_IN_FUTURE = "arrival_not_in_future"
    DUPLICATE_OF_UNKNOWN = "duplicate_of_unknown"   # (or of itself, or of a closed claim)
    NOT_FLAGGED = "not_flagged"                      # keep apart: nothing to keep apart from
    ESCALATION_UNKNOWN = "escalation_unknown"
    ESCALATION_CLOSED = "escalation_closed"
    FORCE_WITHOUT_REASON = "force_without_reason"
    SURVEYOR_NOT_ON_THE_WAY = "surveyor_not_on_the_way"  # turn round: free, or at a scene already
    NOT_A_LOWER_CLASS = "not_a_lower_class"          # turn round: the task given up is of this claim's class or higher


FORCEABLE = frozenset({Refusal.SURVEYOR_OFF_DUTY, Refusal.SURVEYOR_UNSKILLED, Refusal.VEHICLE_MISSING_EQUIPMENT,
                       Refusal.NOT_A_LOWER_CLASS})


class Outcome(StrEnum):
    APPLIED = "applied"
    FORCED = "forced"      # applied over refusals a supervisor overrode
    REFUSED = "refused"


class CommandResult(Event):
    """What came of a command: applied (or forced) with what it changed, or refused with the reasons."""

    type: Literal["command_result"] = "command_result"
    command_id: uuid.UUID
    command: str = Field(description="The command's type.")
    dispatcher_id: str
    outcome: Outcome
    refusals: tuple[Refusal, ...] = Field(default=(), description="Why it was refused (or what was forced).")
    detail: str = Field(description="One line for the dispatcher.")
    report_id: str | None = None
    surveyor_id: str | None = None
    task_id: uuid.UUID | None = Field(default=None, description="The task the command created, if any.")


class DeskOption(BaseModel):
    """One thing the dispatcher can do about an escalation, naming who and when, as the planner sees it now."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["neighbour_surveyor", "home_surveyor", "on_call_surveyor", "turn_round_surveyor", "agree_later_time"]
    summary: str
    surveyor_id: str | None = None
    region_id: str | None = None
    vehicle_id: str | None = None
    estimated_arrival_at: AwareDatetime | None = None
    minutes_late: float | None = Field(default=None, description="Against the claim's deadline; negative: early.")
    gives_up: str | None = Field(default=None, description="turn_round_surveyor: the report the surveyor was on the "
                                                          "way to, back to dispatch if this is done.")
    command: dict = Field(description="The command that carries it out (without command_id, dispatcher and reason).")
