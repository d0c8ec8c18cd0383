"""The first dispatch decision: one claim, the best on-duty surveyor and free vehicle.

Pure: the clock, the roster state and the travel model are passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from models.dispatch_events import ClaimRegistered, DispatchEscalated, EscalationReason, SurveyorAssigned
from models.dispatch_rules import DispatchRules
from models.events import derived_event_id
from models.roster import Surveyor, SurveyVehicle
from models.travel import TravelTimeModel


@dataclass(frozen=True)
class SurveyorState:
    """A surveyor as dispatch sees them now: where they are and whether they hold a live task."""

    surveyor: Surveyor
    lat: float
    lon: float
    busy: bool
    tasks_today: int = 0


@dataclass(frozen=True)
class VehicleState:
    vehicle: SurveyVehicle
    busy: bool


@dataclass(frozen=True)
class _Option:
    eta_minutes: float
    tasks_today: int
    surveyor_id: str
    vehicle_id: str


def decide_dispatch(
    claim: ClaimRegistered,
    surveyors: list[SurveyorState],
    vehicles: list[VehicleState],
    rules: DispatchRules,
    travel: TravelTimeModel,
    now: datetime,
    exclude: frozenset[str] = frozenset(),
) -> SurveyorAssigned | DispatchEscalated:
    """Assign the candidate with the best estimated arrival (workload breaks ties), or escalate with the reason.

    Never chooses an off-duty, busy or unskilled surveyor, a busy vehicle, a
    vehicle without the equipment the loss type needs, or anyone outside the
    claim's region. Surveyors in ``exclude`` (who declined this report) are passed over.
    """
    local = now.astimezone(ZoneInfo(rules.timezone)).timetz().replace(tzinfo=None)
    in_region = [s for s in surveyors if s.surveyor.region_id == claim.region_id and s.surveyor.surveyor_id not in exclude]
    on_duty = [s for s in in_region if s.surveyor.on_duty_at(local)]
    skilled = [s for s in on_duty if claim.loss_type in s.surveyor.skills]
    free = [s for s in skilled if not s.busy]
    needed = rules.equipment_for.get(claim.loss_type, frozenset())
    fleet = [
        v for v in vehicles if v.vehicle.region_id == claim.region_id and not v.busy and needed <= v.vehicle.equipment
    ]

    if not on_duty:
        return _escalate(claim, EscalationReason.NO_SURVEYOR_ON_DUTY, "no surveyor of the region is on shift", now)
    if not skilled:
        return _escalate(
            claim, EscalationReason.NO_SKILLED_SURVEYOR, f"no on-duty surveyor handles {claim.loss_type.value}", now
        )
    if not free:
        return _escalate(
            claim, EscalationReason.ALL_SURVEYORS_BUSY, f"all {len(skilled)} suitable surveyors hold a task", now
        )
    if not fleet:
        need = ", ".join(sorted(needed)) or "any equipment"
        return _escalate(claim, EscalationReason.NO_EQUIPPED_VEHICLE, f"no free vehicle carries {need}", now)

    options = []
    for s in free:
        for v in fleet:
            to_vehicle = 0.0
            if (s.lat, s.lon) != (v.vehicle.base_lat, v.vehicle.base_lon):
                to_vehicle = travel.minutes(s.lat, s.lon, v.vehicle.base_lat, v.vehicle.base_lon, claim.zone, now)
            to_scene = travel.minutes(v.vehicle.base_lat, v.vehicle.base_lon, claim.lat, claim.lon, claim.zone, now)
            options.append(_Option(to_vehicle + to_scene, s.tasks_today, s.surveyor.surveyor_id, v.vehicle.vehicle_id))
    best = min(options, key=lambda o: (round(o.eta_minutes, 6), o.tasks_today, o.surveyor_id, o.vehicle_id))
    eta = now + timedelta(minutes=best.eta_minutes)
    return SurveyorAssigned(
        event_id=derived_event_id("assigned", claim.event_id),
        occurred_at=now,
        task_id=derived_event_id("task", claim.report_id, claim.event_id),
        report_id=claim.report_id,
        region_id=claim.region_id,
        zone=claim.zone,
        surveyor_id=best.surveyor_id,
        vehicle_id=best.vehicle_id,
        reported_at=claim.reported_at,
        deadline_at=claim.deadline_at,
        estimated_arrival_at=eta,
        meets_deadline=eta <= claim.deadline_at,
    )


_OPTIONS = {
    EscalationReason.NO_SURVEYOR_ON_DUTY: ("call in an on-call surveyor", "send a surveyor from a neighbouring region"),
    EscalationReason.NO_SKILLED_SURVEYOR: ("send a surveyor from a neighbouring region", "agree a later time with the customer"),
    EscalationReason.ALL_SURVEYORS_BUSY: ("send a surveyor from a neighbouring region", "agree a later time with the customer"),
    EscalationReason.NO_EQUIPPED_VEHICLE: ("borrow a vehicle from a neighbouring region", "agree a later time with the customer"),
    EscalationReason.DEADLINE_UNREACHABLE: ("send a surveyor from a neighbouring region", "agree a later time with the customer"),
}


def _escalate(claim: ClaimRegistered, reason: EscalationReason, detail: str, now: datetime) -> DispatchEscalated:
    return DispatchEscalated(
        event_id=derived_event_id("escalated", claim.event_id),
        occurred_at=now,
        report_id=claim.report_id,
        region_id=claim.region_id,
        zone=claim.zone,
        reason=reason,
        detail=detail,
        options=_OPTIONS[reason],
        reported_at=claim.reported_at,
        deadline_at=claim.deadline_at,
    )
