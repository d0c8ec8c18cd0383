"""Small builders for the pure-core tests."""

from __future__ import annotations

import math
from dataclasses import replace
import uuid
from datetime import datetime, time, timedelta, timezone

from models.dispatch.fleet import EnRoute, SurveyorState, VehicleState
from models.contract.dispatch_events import ClaimRegistered
from models.dispatch.planner import PendingClaim
from models.contract.loss_report import LossType
from models.dispatch.roster import ShiftKind, Surveyor, SurveyVehicle
from models.dispatch.zones import Region, Zone

# 2026-11-26 10:00 Asia/Shanghai: day shift, day speeds.
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc)
CENTRE = (30.2741, 120.1551)
REGION = Region(region_id="hz", name="Hangzhou", centre_lat=CENTRE[0], centre_lon=CENTRE[1], urban_radius_km=15)


def offset(km_north: float, km_east: float = 0.0) -> tuple[float, float]:
    return (CENTRE[0] + km_north / 111.0, CENTRE[1] + km_east / (111.0 * math.cos(math.radians(CENTRE[0]))))


def surveyor(sid: str, at=CENTRE, skills=(LossType.VEHICLE,), shift=ShiftKind.DAY, start=time(8), end=time(20),
             region="hz", all_day=False) -> Surveyor:
    return Surveyor(surveyor_id=sid, name="測試", region_id=region, skills=frozenset(skills), base_lat=at[0],
                    base_lon=at[1], shift=shift, shift_start=start, shift_end=end, all_day=all_day)


def state(s: Surveyor, busy=False, tasks_today=0, at=None, free_at=None, duty=None) -> SurveyorState:
    lat, lon = at or (s.base_lat, s.base_lon)
    return SurveyorState(s, lat, lon, busy, tasks_today, free_at, duty)


def vehicle(vid: str, at=CENTRE, equipment=("camera",), region="hz", busy=False) -> VehicleState:
    return VehicleState(SurveyVehicle(vehicle_id=vid, region_id=region, equipment=frozenset(equipment),
                                      base_lat=at[0], base_lon=at[1]), busy)


def claim(at=None, loss_type=LossType.VEHICLE, zone=Zone.URBAN, minutes=30, report_id="R1", reported=NOW,
          priority=3) -> ClaimRegistered:
    lat, lon = at or offset(5)
    return ClaimRegistered(event_id=uuid.uuid5(uuid.NAMESPACE_URL, report_id), occurred_at=reported,
                           report_id=report_id, region_id="hz", zone=zone, loss_type=loss_type, reported_at=reported,
                           lat=lat, lon=lon, deadline_at=reported + timedelta(minutes=minutes), priority=priority)


def pending(c: ClaimRegistered, **kw) -> PendingClaim:
    return PendingClaim(c, **kw)


def on_the_way(sid, from_km, to_km, priority=3, minutes=(-6, 14), arrived=False):
    """A surveyor sent ``minutes[0]`` minutes ago from ``from_km`` north to a claim ``to_km`` north (expected at
    ``minutes[1]``); ``arrived``: already at that scene."""
    s = surveyor(sid, at=offset(from_km))
    task = uuid.uuid5(uuid.NAMESPACE_URL, f"task-{sid}")
    route = None if arrived else EnRoute(task, f"going-{sid}", "hz", priority, f"v-{sid}",
                                         NOW + timedelta(minutes=minutes[0]), *offset(from_km),
                                         NOW + timedelta(minutes=minutes[1]))
    busy = state(s, busy=True, at=offset(to_km), free_at=NOW + timedelta(minutes=minutes[1] + 25))
    return replace(busy, en_route=route), vehicle(f"v-{sid}", at=offset(to_km), busy=True)
