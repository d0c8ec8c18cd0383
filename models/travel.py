"""Arrival estimates. The model is pluggable; the default is distance over zone speed."""

from __future__ import annotations

from datetime import datetime, time
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from models.geo import distance_km
from models.zones import Zone


class TravelTimeModel(Protocol):
    def minutes(self, from_lat: float, from_lon: float, to_lat: float, to_lon: float, zone: Zone, at: datetime) -> float:
        """Estimated driving minutes between two points when leaving at ``at``."""
        ...


class StraightLineTravel(BaseModel):
    """Straight-line distance times a detour factor, at the zone's speed (night speeds at night)."""

    model_config = ConfigDict(frozen=True)

    detour_factor: float = Field(default=1.25, ge=1.0)
    day_speed_kmh: dict[Zone, float] = {Zone.URBAN: 30.0, Zone.SUBURBAN: 55.0, Zone.FAR: 75.0, Zone.REMOTE: 55.0}
    night_speed_kmh: dict[Zone, float] = {Zone.URBAN: 40.0, Zone.SUBURBAN: 65.0, Zone.FAR: 80.0, Zone.REMOTE: 60.0}
    night_starts: time = time(22, 0)
    night_ends: time = time(6, 0)
    setup_minutes: float = Field(default=3.0, ge=0, description="Getting on the road after accepting.")

    def minutes(self, from_lat: float, from_lon: float, to_lat: float, to_lon: float, zone: Zone, at: datetime) -> float:
        local = at.timetz().replace(tzinfo=None)
        night = local >= self.night_starts or local < self.night_ends
        speed = (self.night_speed_kmh if night else self.day_speed_kmh)[zone]
        km = distance_km(from_lat, from_lon, to_lat, to_lon) * self.detour_factor
        return self.setup_minutes + 60.0 * km / speed
