"""Which claims go first: priority classes from what the caller told the hotline.

Class 1: someone seriously hurt or killed. Class 2: someone slightly hurt, a vehicle
that cannot be driven off the road, people stranded at the scene. Class 3: the rest.
The planner never leaves a higher class waiting so that a lower one is met
(docs/dispatch.md, "Priorities"); which facts raise a claim to which class is
configuration, since insurers and regulators draw the lines differently.
"""

from __future__ import annotations

from enum import IntEnum

from pydantic import BaseModel, ConfigDict, Field

from models.contract.loss_report import InjurySeverity, LossReported


class Priority(IntEnum):
    URGENT = 1      # serious or fatal injury
    VULNERABLE = 2  # minor injury, vehicle not drivable, people stranded
    ROUTINE = 3


class PriorityRules(BaseModel):
    model_config = ConfigDict(frozen=True)

    urgent_injuries: frozenset[InjurySeverity] = Field(
        default=frozenset({InjurySeverity.SERIOUS, InjurySeverity.FATAL}),
        description="Injury severities that make a claim priority 1.")
    vulnerable_injuries: frozenset[InjurySeverity] = Field(
        default=frozenset({InjurySeverity.MINOR}), description="Injury severities that make a claim priority 2.")
    not_drivable_is_vulnerable: bool = Field(
        default=True, description="A vehicle that cannot be driven (left on the road) makes a claim priority 2.")
    stranded_is_vulnerable: bool = Field(default=True, description="People stranded at the scene: priority 2.")
    #: How much more a deadline of each class weighs in the plan than one of the class below (rule: a higher
    #: class is never left waiting so that a lower one is met; one decision moves few claims, so 100 is ample).
    class_weight: float = Field(default=100.0, gt=1.0)
    #: Class 1 only by default: class 2 is a quarter of the simulated hotline's claims (minor injuries, and three in
    #: ten vehicle claims not drivable), and turning surveyors round for it churns routine customers for little: in the
    #: bench's priority storms 49 turns against 13 for the same deadlines met (two more class-1 claims met), and in
    #: the pipeline bench a turn for one claim in eight of a storm's backlog (docs/performance.md).
    divert_up_to: int = Field(
        default=1, ge=0, le=3,
        description="A claim of this class or a higher one (1: serious or fatal injury; 2: also minor injury, not "
                    "drivable, stranded; 0: never) that no one else reaches in time takes a surveyor on the way to "
                    "a claim of a lower class (models/dispatch/diversion.py).")

    def of(self, report: LossReported) -> Priority:
        severity = report.injuries.severity
        if severity in self.urgent_injuries:
            return Priority.URGENT
        if (severity in self.vulnerable_injuries
                or (self.not_drivable_is_vulnerable and report.vehicle_drivable is False)
                or (self.stranded_is_vulnerable and report.people_stranded)):
            return Priority.VULNERABLE
        return Priority.ROUTINE

    def weight(self, priority: int) -> float:
        """What one deadline of ``priority`` weighs in a plan (routine: 1)."""
        return self.class_weight ** (Priority.ROUTINE - priority)
