"""Who could go, and how soon: surveyors and vehicles as dispatch sees them, and arrival estimates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, time
from zoneinfo import ZoneInfo

from models.dispatch_events import ClaimRegistered
from models.dispatch_rules import DispatchRules
from models.roster import Surveyor, SurveyVehicle
from models.travel import TravelTimeModel


@dataclass(frozen=True)
class SurveyorState:
    """A surveyor now: position (base, or the scene of the last task), live task, workload, duty override.

    ``free_at`` is when a busy surveyor is expected to finish the current task
    (None when free); ``duty`` is an explicit shift start/end from the app that
    overrides the roster's shift window (None: the window decides).
    """

    surveyor: Surveyor
    lat: float
    lon: float
    busy: bool
    tasks_today: int = 0
    free_at: datetime | None = None
    duty: bool | None = None

    @property
    def surveyor_id(self) -> str:
        return self.surveyor.surveyor_id

    def on_duty(self, local: time) -> bool:
        return self.duty if self.duty is not None else self.surveyor.on_duty_at(local)


@dataclass(frozen=True)
class VehicleState:
    vehicle: SurveyVehicle
    busy: bool


@dataclass(frozen=True)
class Option:
    """One way to serve a claim: a surveyor, a vehicle, and when they would arrive."""

    surveyor_id: str
    vehicle_id: str
    eta: datetime
    tasks_today: int

    def lateness_minutes(self, deadline: datetime) -> float:
        return max(0.0, (self.eta - deadline).total_seconds() / 60.0)


def local_time(now: datetime, rules: DispatchRules) -> time:
    return now.astimezone(ZoneInfo(rules.timezone)).timetz().replace(tzinfo=None)


def local_day_start(now: datetime, rules: DispatchRules) -> datetime:
    """Midnight of the local day: workload ("tasks today") counts from here."""
    return now.astimezone(ZoneInfo(rules.timezone)).replace(hour=0, minute=0, second=0, microsecond=0)


def suitable(claim: ClaimRegistered, s: SurveyorState, local: time, exclude: frozenset[str]) -> bool:
    """In the claim's region, on duty, skilled for the loss type, and not one who declined it."""
    return (s.surveyor.region_id == claim.region_id and s.surveyor_id not in exclude and s.on_duty(local)
            and claim.loss_type in s.surveyor.skills)


def equipped(claim: ClaimRegistered, v: VehicleState, rules: DispatchRules) -> bool:
    return (v.vehicle.region_id == claim.region_id and not v.busy
            and rules.equipment_for.get(claim.loss_type, frozenset()) <= v.vehicle.equipment)


def best_option(claim: ClaimRegistered, s: SurveyorState, fleet: list[VehicleState], travel: TravelTimeModel,
                now: datetime) -> Option | None:
    """The surveyor's fastest way to the scene with one of ``fleet`` (collecting it at its base first)."""
    best: Option | None = None
    for v in fleet:
        base = (v.vehicle.base_lat, v.vehicle.base_lon)
        pickup = 0.0 if (s.lat, s.lon) == base else travel.minutes(s.lat, s.lon, *base, claim.zone, now)
        drive = travel.minutes(*base, claim.lat, claim.lon, claim.zone, now)
        option = Option(s.surveyor_id, v.vehicle.vehicle_id, now + timedelta(minutes=pickup + drive), s.tasks_today)
        if best is None or (option.eta, option.vehicle_id) < (best.eta, best.vehicle_id):
            best = option
    return best


def eta_after_current_task(claim: ClaimRegistered, s: SurveyorState, travel: TravelTimeModel, now: datetime) -> datetime:
    """When a busy surveyor could reach the scene: after the current task, from where it is."""
    start = max(now, s.free_at or now)
    return start + timedelta(minutes=travel.minutes(s.lat, s.lon, claim.lat, claim.lon, claim.zone, start))
