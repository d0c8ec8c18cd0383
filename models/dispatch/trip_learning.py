"""Travel times corrected from real trips: what surveyors actually took against what was estimated.

Every arrival is a trip whose estimate was made at dispatch (``estimated_arrival_at - assigned_at``) and
whose real length is known (``arrived_at - assigned_at``). Per region, zone and time of day (night, rush
hours, the rest of the day) the median of real ÷ estimated over the latest trips becomes a factor on the
base model's driving time. Robust: a median, trips whose ratio is absurd (a forgotten tap, a GPS jump)
left out. Bounded: shrunk towards 1 while trips are few, and held within ``floor``..``ceiling``. Where a
key has too few trips the region's zone over all hours is used, then the zone over every region, then 1.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from models.dispatch.travel import TravelTimeModel
from models.dispatch.zones import Zone


class LearningRules(BaseModel):
    model_config = ConfigDict(frozen=True)

    min_trips: int = Field(default=10, ge=1, description="Trips a key needs before it has a factor of its own.")
    prior_trips: int = Field(default=20, ge=0,
                             description="Shrinkage: a factor from n trips moves n / (n + this) of the way.")
    floor: float = Field(default=0.6, gt=0)
    ceiling: float = Field(default=1.8, gt=0)
    sane_ratio: tuple[float, float] = (0.2, 5.0)
    latest_trips: int = Field(default=2000, ge=10, description="How many recent arrivals are read.")


@dataclass(frozen=True)
class Trip:
    region_id: str
    zone: Zone
    dispatched_at: datetime
    estimated_minutes: float   # dispatch → the arrival estimated then
    actual_minutes: float      # dispatch → arrival


def time_of_day(at: datetime, timezone: str) -> str:
    """night (22:00–06:00 local), rush (07:00–09:00 and 17:00–19:00), or day."""
    local = at.astimezone(ZoneInfo(timezone)).time()
    if local >= time(22) or local < time(6):
        return "night"
    if time(7) <= local < time(9) or time(17) <= local < time(19):
        return "rush"
    return "day"


@dataclass(frozen=True)
class TripFactors:
    """Factors on driving time by (region, zone, time of day), (region, zone) and (zone,)."""

    table: dict[tuple, float] = field(default_factory=dict)
    trips: dict[tuple, int] = field(default_factory=dict)

    def factor(self, region_id: str, zone: Zone, when: str) -> float:
        for key in ((region_id, zone, when), (region_id, zone), (zone,)):
            if key in self.table:
                return self.table[key]
        return 1.0


def learn(trips: list[Trip], timezone: str, setup_minutes: float = 0.0,
          rules: LearningRules = LearningRules()) -> TripFactors:
    """The factors on driving time (a trip less ``setup_minutes``, which the factor does not scale)."""
    lo, hi = rules.sane_ratio
    ratios: dict[tuple, list[float]] = {}
    for t in trips:
        if t.estimated_minutes - setup_minutes <= 0:
            continue
        r = (t.actual_minutes - setup_minutes) / (t.estimated_minutes - setup_minutes)
        if not lo <= r <= hi:
            continue
        when = time_of_day(t.dispatched_at, timezone)
        for key in ((t.region_id, t.zone, when), (t.region_id, t.zone), (t.zone,)):
            ratios.setdefault(key, []).append(r)
    table, counts = {}, {}
    for key, rs in ratios.items():
        if len(rs) < rules.min_trips:
            continue
        n = len(rs)
        shrunk = 1.0 + (statistics.median(rs) - 1.0) * n / (n + rules.prior_trips)
        table[key] = min(rules.ceiling, max(rules.floor, shrunk))
        counts[key] = n
    return TripFactors(table, counts)


@dataclass(frozen=True)
class CorrectedTravel:
    """``base``'s estimates for trips in ``region_id``, driving time scaled by the learned factor of the
    scene's zone at that time of day (set-up time as it is)."""

    base: TravelTimeModel
    factors: TripFactors
    region_id: str
    timezone: str

    @property
    def setup_minutes(self) -> float:
        return self.base.setup_minutes

    def _f(self, zone: Zone, at: datetime) -> float:
        return self.factors.factor(self.region_id, zone, time_of_day(at, self.timezone))

    def minutes(self, from_lat, from_lon, to_lat, to_lon, zone: Zone, at: datetime) -> float:
        drive = self.base.minutes(from_lat, from_lon, to_lat, to_lon, zone, at) - self.base.setup_minutes
        return self.base.setup_minutes + drive * self._f(zone, at)

    def drive_matrix(self, from_lat, from_lon, to_lat, to_lon, zones, at) -> np.ndarray:
        when = time_of_day(at, self.timezone)  # once, not per destination: a plan's matrices are hundreds wide
        factor = {z: self.factors.factor(self.region_id, z, when) for z in set(zones)}
        scale = np.array([factor[z] for z in zones])
        return self.base.drive_matrix(from_lat, from_lon, to_lat, to_lon, zones, at) * scale[None, :]
