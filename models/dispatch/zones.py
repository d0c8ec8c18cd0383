"""Zones and arrival limits: where a scene is decides how soon we must be there."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from models.dispatch.geo import distance_km


class Zone(StrEnum):
    URBAN = "urban"
    SUBURBAN = "suburban"
    FAR = "far"
    REMOTE = "remote"


class ArrivalLimits(BaseModel):
    """Minutes from the report to arrival at the scene, by zone (LOCAL, CO: docs/domain.md).

    A remote scene is held to the time agreed with the customer; without a
    recorded agreement ``remote_default_minutes`` applies.
    """

    model_config = ConfigDict(frozen=True)

    urban_minutes: float = Field(default=30, gt=0)
    suburban_minutes: float = Field(default=60, gt=0)
    far_minutes: float = Field(default=90, gt=0)
    remote_default_minutes: float = Field(default=180, gt=0)

    def minutes(self, zone: Zone) -> float:
        """The limit for a scene in ``zone`` (a remote scene without an agreed time: the default)."""
        return {Zone.URBAN: self.urban_minutes, Zone.SUBURBAN: self.suburban_minutes, Zone.FAR: self.far_minutes,
                Zone.REMOTE: self.remote_default_minutes}[zone]

    def deadline(self, zone: Zone, reported_at: datetime, agreed_arrival_at: datetime | None = None) -> datetime:
        """Latest arrival time for a scene in ``zone`` reported at ``reported_at``: the zone's limit, or a time
        agreed with the customer when that is later (a customer may ask for later, in any zone); a remote
        scene is held to the agreed time whenever there is one."""
        if zone is Zone.REMOTE and agreed_arrival_at is not None:
            return agreed_arrival_at
        limit = reported_at + timedelta(minutes=self.minutes(zone))
        return max(limit, agreed_arrival_at) if agreed_arrival_at is not None else limit


class Region(BaseModel):
    """A dispatch region and its geometry (rings around a centre).

    urban: within ``urban_radius_km`` (city or county town with a branch);
    suburban: up to ``far_beyond_km`` (50 km, the LOCAL rule); far: beyond it
    up to ``remote_beyond_km``; remote: beyond that up to ``service_radius_km``;
    beyond the service radius the region does not serve the scene.
    """

    model_config = ConfigDict(frozen=True)

    region_id: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str
    centre_lat: float = Field(ge=-90, le=90)
    centre_lon: float = Field(ge=-180, le=180)
    urban_radius_km: float = Field(default=15.0, gt=0)
    far_beyond_km: float = Field(default=50.0, gt=0)
    remote_beyond_km: float = Field(default=120.0, gt=0)
    service_radius_km: float = Field(default=200.0, gt=0)
    arrival: ArrivalLimits | None = Field(default=None, description="Region-level override of the arrival limits.")
    ack_within_minutes: float | None = Field(default=None, gt=0, description="Override of the acknowledgement limit.")
    contact_within_minutes: float | None = Field(default=None, gt=0, description="Override of the contact limit.")
    dispatch_within_minutes: float | None = Field(default=None, gt=0, description="Override of the dispatch limit.")
    neighbours: tuple[str, ...] = Field(
        default=(), description="Regions whose spare surveyors may be sent here automatically when this region "
                                "cannot meet a deadline (DispatchRules.neighbour_max_km).")

    def distance_km(self, lat: float, lon: float) -> float:
        return distance_km(self.centre_lat, self.centre_lon, lat, lon)

    def zone_at(self, lat: float, lon: float) -> Zone | None:
        """The zone of a point, or None when it is outside this region's service area."""
        return self.zone_at_distance(self.distance_km(lat, lon))

    def zone_at_distance(self, d: float) -> Zone | None:
        """The zone of a point ``d`` km from the centre, or None beyond the service area."""
        if d <= self.urban_radius_km:
            return Zone.URBAN
        if d <= self.far_beyond_km:
            return Zone.SUBURBAN
        if d <= self.remote_beyond_km:
            return Zone.FAR
        if d <= self.service_radius_km:
            return Zone.REMOTE
        return None


_KM_PER_DEGREE_AT_LEAST = 111.0  # a degree of latitude on the haversine sphere: 111.19 km


def locate(regions: list[Region] | tuple[Region, ...], lat: float, lon: float) -> tuple[Region, Zone] | None:
    """The region that serves a point (nearest centre among those whose area covers it) and its zone."""
    best: tuple[float, Region, Zone] | None = None
    for region in regions:
        # A great circle is at least as long as its difference in latitude (1° = 111.19 km): most regions
        # are ruled out without the trigonometry (intake locates every report).
        if abs(lat - region.centre_lat) * _KM_PER_DEGREE_AT_LEAST > region.service_radius_km:
            continue
        d = region.distance_km(lat, lon)
        zone = region.zone_at_distance(d)
        if zone is None:
            continue
        if best is None or (d, region.region_id) < (best[0], best[1].region_id):
            best = (d, region, zone)
    return None if best is None else (best[1], best[2])
