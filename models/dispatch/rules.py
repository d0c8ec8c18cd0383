"""Dispatch configuration: every number here is a default (sources: docs/domain.md), overridable."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from models.contract.loss_report import LossType
from models.dispatch.duplicates import DuplicateRules
from models.dispatch.load import StormRules
from models.dispatch.priority import PriorityRules
from models.dispatch.zones import ArrivalLimits, Region


def _default_equipment() -> dict[LossType, frozenset[str]]:
    return {
        LossType.VEHICLE: frozenset({"camera"}),
        LossType.PROPERTY: frozenset({"camera", "measuring_kit"}),
        LossType.CARGO: frozenset({"camera", "measuring_kit"}),
        LossType.INJURY: frozenset({"camera", "first_aid"}),
        LossType.THEFT: frozenset({"camera"}),
        LossType.NATURAL_DISASTER: frozenset({"camera", "rain_gear"}),
    }


class DispatchRules(BaseModel):
    model_config = ConfigDict(frozen=True)

    timezone: str = Field(default="Asia/Shanghai", description="Local time of shifts and night speeds.")
    arrival: ArrivalLimits = ArrivalLimits()
    dispatch_within_minutes: float = Field(default=5, gt=0, description="Report to dispatch (LOCAL, CO).")
    contact_within_minutes: float = Field(default=10, gt=0, description="Dispatch to customer call (LOCAL).")
    ack_within_minutes: float = Field(
        default=2, gt=0, description="Dispatch to the surveyor accepting; silence means reassignment."
    )
    survey_minutes: float = Field(default=45, gt=0, description="Expected time on scene, for when a surveyor frees up.")
    survey_minutes_by_loss_type: dict[LossType, float] = Field(
        default_factory=dict,
        description="Expected time on scene per loss type where it differs from survey_minutes; a worker sets it "
                    "from the surveys its region completed (models/dispatch/scene_times.py).")
    max_future_skew_seconds: int = Field(
        default=300, ge=0, description="A loss time later than now plus this is refused as in the future."
    )
    agreed_arrival_horizon_hours: float = Field(
        default=72, gt=0,
        description="An arrival time agreed with the customer further ahead of the report than this is refused.")
    race_losses_within_hours: float = Field(
        default=24, gt=0,
        description="A loss older than this when reported is registered as an appointment case for the "
                    "dispatcher, not raced against the zone's arrival limit.")
    equipment_for: dict[LossType, frozenset[str]] = Field(default_factory=_default_equipment)
    promise_margin_minutes: float = Field(
        default=10, ge=0,
        description="A claim that cannot be met is promised its estimated arrival plus this, rounded up to "
                    "promise_round_minutes: what the customer is told.")
    promise_round_minutes: int = Field(default=5, ge=1, le=60)
    late_wait_gain_minutes: float = Field(
        default=10, ge=0,
        description="A claim no one can reach in time waits for a busy surveyor rather than taking a free one when "
                    "the busy one arrives at least this much sooner (docs/dispatch.md, 'Storms').")
    overdue_preference: float = Field(
        default=0.5, ge=0,
        description="Among claims past their deadline, the one overdue longer goes first: each minute more it has "
                    "waited outweighs this many minutes of extra driving to it (0: the nearest first, whatever "
                    "the wait). For a claim only some of the region's surveyors can take (a rare skill), each minute "
                    "counts (surveyors / those able) times this: the few are not spent on claims anyone could take.")
    neighbour_max_km: float = Field(
        default=50, gt=0,
        description="A neighbouring region's surveyor is sent automatically only to a claim within this distance "
                    "(straight line) and within its deadline; adjacency is each region's 'neighbours'.")
    neighbour_keeps_free: int = Field(
        default=1, ge=0, description="Free surveyors a neighbouring region keeps for its own claims when it lends.")
    return_to_base_km: float | None = Field(
        default=2, ge=0,
        description="A surveyor whose survey ends with no next claim for them is sent back to base when it is further "
                    "than this (km, straight line): the town's next claim is then met from the centre, not from the "
                    "last scene out of town (docs/dispatch.md, 'Back to base'). None: they stay where the survey ended.")
    duplicates: DuplicateRules = DuplicateRules()
    priority: PriorityRules = PriorityRules()
    storm: StormRules = StormRules()

    def survey_minutes_for(self, loss_type: LossType | None) -> float:
        """Expected time on scene for a claim of ``loss_type`` (None: not known)."""
        return self.survey_minutes_by_loss_type.get(loss_type, self.survey_minutes) if loss_type else self.survey_minutes

    def known_equipment(self) -> frozenset[str]:
        """Every equipment name some loss type needs: what a vehicle in the roster may list."""
        return frozenset().union(*self.equipment_for.values())

    def equipment_needed(self, loss_type: LossType) -> frozenset[str]:
        """What a vehicle must carry for a claim of ``loss_type`` (nothing, for a type not listed)."""
        return self.equipment_for.get(loss_type, frozenset())


def rules_for(rules: DispatchRules, region: Region | None) -> DispatchRules:
    """The rules in force in ``region``: the region's own limits where it sets them, the defaults elsewhere."""
    if region is None:
        return rules
    overrides = {name: getattr(region, name) for name in
                 ("ack_within_minutes", "contact_within_minutes", "dispatch_within_minutes")
                 if getattr(region, name) is not None}
    if region.arrival is not None:
        overrides["arrival"] = region.arrival
    return rules.model_copy(update=overrides) if overrides else rules
