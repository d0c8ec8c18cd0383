"""Who could go: surveyors and vehicles as dispatch sees them now (on duty, busy until when, where, with
which vehicle), who is free on duty, which vehicles suit a claim, and the local clock dispatch counts by."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from models.contract.loss_report import LossType
from models.dispatch.roster import Surveyor, SurveyVehicle
from models.dispatch.rules import DispatchRules


@dataclass(frozen=True)
class EnRoute:
    """A busy surveyor's live task while they are still on the way to its scene: what they could be diverted
    from to a claim of a higher class, and where they are about now."""

    task_id: object
    report_id: str
    region_id: str                       # the task's region (a loan's claim is in a neighbour's)
    priority: int                        # of the task's claim (1: the highest class)
    vehicle_id: str | None
    set_out_at: datetime
    from_lat: float                      # where they set out from
    from_lon: float
    arrive_at: datetime                  # expected at the scene (``SurveyorState.lat``/``lon``)

    def position(self, to_lat: float, to_lon: float, now: datetime) -> tuple[float, float]:
        """About where they are at ``now`` on their way to the scene at (``to_lat``, ``to_lon``): the share
        of the trip's expected time gone, along the straight line (the app's positions are not a track)."""
        # Where they set out (or last reported) is where they are then, even when that is past the time expected
        # at the scene (a slow trip, the app reporting on the way); after that, overdue: about at the scene.
        return part_way(self.from_lat, self.from_lon, to_lat, to_lon, self.set_out_at, self.arrive_at, now)


def part_way(from_lat: float, from_lon: float, to_lat: float, to_lon: float, set_off: datetime, there: datetime,
             now: datetime) -> tuple[float, float]:
    """About where a drive from (``from_lat``, ``from_lon``) at ``set_off``, expected at (``to_lat``, ``to_lon``) at
    ``there``, has got to at ``now``: the share of its expected time gone, along the straight line (the app's
    positions are not a track); the start until it starts, the end once its time is up."""
    gone, span = (now - set_off).total_seconds(), (there - set_off).total_seconds()
    f = 0.0 if gone <= 0 else 1.0 if span <= 0 else min(1.0, gone / span)
    return from_lat + f * (to_lat - from_lat), from_lon + f * (to_lon - from_lon)


@dataclass(frozen=True)
class Return:
    """A free surveyor driving back to base after a survey (``models/dispatch/return_to_base.py``), in the vehicle
    they took: from where and when, to where, expected there when."""

    vehicle_id: str | None
    set_off_at: datetime
    from_lat: float
    from_lon: float
    to_lat: float
    to_lon: float
    there_at: datetime

    def position(self, now: datetime) -> tuple[float, float]:
        """About where they are at ``now`` (``part_way``); at the base once the drive's time is up."""
        return part_way(self.from_lat, self.from_lon, self.to_lat, self.to_lon, self.set_off_at, self.there_at, now)

    def on_way(self, now: datetime) -> bool:
        """Still driving at ``now``."""
        return now < self.there_at

    def after_position(self, lat: float, lon: float, at: datetime) -> "Return | None":
        """The drive once the app reports them at (``lat``, ``lon``) at ``at``: on from there, expected at base at
        the same time; None once its time is up (they are where they say, and stay); a report from before the
        drive began changes nothing (``self``). Unless it is ``self``, the vehicle is where they are."""
        if at < self.set_off_at:
            return self
        if not self.on_way(at):
            return None
        return replace(self, set_off_at=at, from_lat=lat, from_lon=lon)


@dataclass(frozen=True)
class SurveyorState:
    """A surveyor now: position (base, the scene of the last task, or on the way back to base), live task,
    workload, duty override.

    ``free_at`` is when a busy surveyor is expected to finish the current task
    (None when free or unknown); ``duty`` is an explicit shift start/end from
    the app that overrides the roster's shift window (None: the window decides).
    """

    surveyor: Surveyor
    lat: float
    lon: float
    busy: bool
    tasks_today: int = 0
    free_at: datetime | None = None
    duty: bool | None = None
    en_route: EnRoute | None = None      # the live task, while they are on the way (None: at the scene, or free)
    on_way_back: bool = False            # free, driving back to base (where they are: part way along it)

    @property
    def surveyor_id(self) -> str:
        return self.surveyor.surveyor_id

    def on_duty(self, local: time) -> bool:
        return self.duty if self.duty is not None else self.surveyor.on_duty_at(local)


#: A span of time with no end.
FOREVER = datetime.max.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class SurveyorRecord:
    """A surveyor as stored: position, the live task (if any) and its times, today's workload, the duty
    override and when it lapses. ``state_at`` turns it into what dispatch sees at a moment."""

    surveyor: Surveyor
    lat: float                                   # the last position reported (the base, or the scene of
    lon: float                                   # the last task)
    busy: bool                                   # holds a live task
    arrived_at: datetime | None = None           # of the live task
    estimated_arrival_at: datetime | None = None
    vehicle_id: str | None = None                # the vehicle of the live task
    tasks_today: int = 0
    duty: bool | None = None                     # shift started/ended in the app ...
    duty_until: datetime | None = None           # ... overriding the roster window until then
    scene: tuple[float, float] | None = None     # (lat, lon) of the live task
    loss_type: LossType | None = None            # of the live task's claim (how long its survey takes)
    task: tuple | None = None                    # of the live task: (task id, report id, region id, the claim's
                                                 # priority, set out at, from lat, lon): at the assignment from
                                                 # the recorded position, or since from a position reported
    returning: Return | None = None              # free: driving back to base since the last survey (else None)

    @property
    def sets_out_from(self) -> tuple[float, float]:
        """Where the surveyor sets out for a next claim: on a task, from its scene, where the survey ends
        (with the vehicle they took); else from where they are."""
        return self.scene if self.busy and self.scene is not None else (self.lat, self.lon)

    def position_at(self, now: datetime) -> tuple[float, float]:
        """Where a free surveyor is at ``now``: on the way back to base, about where the drive has got to."""
        if not self.busy and self.returning is not None:
            return self.returning.position(now)
        return self.sets_out_from

    def state_at(self, now: datetime, survey_minutes: float) -> tuple[SurveyorState, datetime]:
        """The surveyor's state at ``now``, and until when it stays exactly that (``now`` itself when it
        moves with the clock). A busy surveyor is expected free ``survey_minutes`` after arriving, or after
        the expected arrival, or, once that has passed without an arrival, from now; never before now."""
        until, duty = FOREVER, None
        if self.duty_until is not None and self.duty_until > now:
            until, duty = self.duty_until, self.duty  # the override lapses then
        free_at = None
        on_way_back = not self.busy and self.returning is not None and self.returning.on_way(now)
        if on_way_back:
            until = now  # where they are moves with the clock
        if self.busy:
            survey = timedelta(minutes=survey_minutes)
            if self.arrived_at is not None:
                done = self.arrived_at + survey
                free_at = max(now, done)
                until = min(until, done) if now < done else now
            else:
                free_at = max(self.estimated_arrival_at, now) + survey
                until = min(until, self.estimated_arrival_at) if now < self.estimated_arrival_at else now
        return SurveyorState(self.surveyor, *self.position_at(now), self.busy, self.tasks_today, free_at, duty,
                             self.en_route, on_way_back), until

    @property
    def en_route(self) -> EnRoute | None:
        if not (self.busy and self.arrived_at is None and self.task is not None and self.scene is not None
                and self.estimated_arrival_at is not None):
            return None
        task_id, report_id, region_id, priority, set_out_at, from_lat, from_lon = self.task
        return EnRoute(task_id, report_id, region_id, priority, self.vehicle_id, set_out_at, from_lat, from_lon,
                       self.estimated_arrival_at)

    def with_task(self, vehicle_id: str, estimated_arrival_at: datetime, scene: tuple[float, float],
                  loss_type: LossType | None = None, task: tuple | None = None) -> "SurveyorRecord":
        """The record once a new task at ``scene`` (lat, lon) is stored for this (free) surveyor (``task``: as
        ``SurveyorRecord.task``)."""
        return replace(self, busy=True, arrived_at=None, estimated_arrival_at=estimated_arrival_at,
                       vehicle_id=vehicle_id, tasks_today=self.tasks_today + 1, scene=scene, loss_type=loss_type,
                       task=task, returning=None)


@dataclass(frozen=True)
class VehicleState:
    """A vehicle now: where it is (its base, or with the surveyor who last drove it) and whether it is out."""

    vehicle: SurveyVehicle
    busy: bool
    lat: float | None = None
    lon: float | None = None

    @property
    def position(self) -> tuple[float, float]:
        if self.lat is None or self.lon is None:
            return self.vehicle.base_lat, self.vehicle.base_lon
        return self.lat, self.lon


def fleet_states(vehicles: list[tuple[SurveyVehicle, float | None, float | None]],
                 surveyors: list[SurveyorRecord]) -> list[VehicleState]:
    """Each vehicle (with its last reported position) as dispatch sees it: out while a surveyor's live task
    has it, and then with that surveyor, setting out from the task's scene."""
    out = {r.vehicle_id: r.sets_out_from for r in surveyors if r.busy}
    return [VehicleState(vehicle, vehicle.vehicle_id in out, *out.get(vehicle.vehicle_id, (lat, lon)))
            for vehicle, lat, lon in vehicles]


def driven_back(fleet: list[VehicleState], surveyors: list[SurveyorRecord], now: datetime) -> list[VehicleState]:
    """``fleet`` at ``now`` with each vehicle a free surveyor is driving back to base where that surveyor is
    about then (``fleet`` itself when nobody is on the way back)."""
    moving = {r.returning.vehicle_id: r.returning.position(now) for r in surveyors
              if not r.busy and r.returning is not None and r.returning.vehicle_id is not None}
    if not moving:
        return fleet
    return [v if v.busy or v.vehicle.vehicle_id not in moving else replace(v, lat=moving[v.vehicle.vehicle_id][0],
                                                                           lon=moving[v.vehicle.vehicle_id][1])
            for v in fleet]


def local_time(now: datetime, rules: DispatchRules) -> time:
    return now.astimezone(ZoneInfo(rules.timezone)).timetz().replace(tzinfo=None)


def local_day_start(now: datetime, rules: DispatchRules) -> datetime:
    """Midnight of the local day: workload ("tasks today") counts from here."""
    return now.astimezone(ZoneInfo(rules.timezone)).replace(hour=0, minute=0, second=0, microsecond=0)


def free_on_duty(surveyors: list[SurveyorState], now: datetime, rules: DispatchRules) -> list[SurveyorState]:
    """The surveyors who could be sent now: on duty and without a live task."""
    local = local_time(now, rules)
    return [s for s in surveyors if not s.busy and s.on_duty(local)]


def suitable_vehicles(vehicles: list[VehicleState], region_id: str, need: frozenset[str],
                      vehicles_out_return: bool = False) -> list[int]:
    """Which of ``vehicles`` (indices) a claim of ``region_id`` whose loss type needs ``need`` can have: the
    region's, carrying all of it, and not out on a task (``vehicles_out_return``: out ones count, for a
    surveyor who is busy now and whose vehicle is free when they are)."""
    return [k for k, v in enumerate(vehicles) if v.vehicle.region_id == region_id
            and (vehicles_out_return or not v.busy) and need <= v.vehicle.equipment]
