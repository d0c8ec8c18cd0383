"""Preparedness: how well the surveyors left free cover where the next claims will come from.

Among surveyors who would all be on time for a claim, the planner prefers the one whose
departure costs the region least cover (as ambulance services place their crews: the
maximum expected coverage model of Daskin, 1983). Where claims will come from is
read from where they came from: the region's recent scenes (``DemandPoint``), each
covered by a free surveyor who reaches it within its zone's limit. A scene covered by
k free surveyors is covered with probability ``1 - busy**k`` (each is out on another
claim with probability ``busy``); a surveyor's cost of leaving is what that probability
loses without them, summed over the scenes, as a share of all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from models.dispatch.fleet import SurveyorState
from models.dispatch.travel import TravelTimeModel
from models.dispatch.zones import ArrivalLimits, Zone

#: How many recent scenes of a region describe where its claims come from.
RECENT_SCENES = 200


@dataclass(frozen=True)
class DemandPoint:
    """A recent scene: where a claim came from, and when it was reported (for the region's load)."""

    lat: float
    lon: float
    zone: Zone
    reported_at: datetime | None = None


def cover_lost(free: list[SurveyorState], demand: list[DemandPoint], limits: ArrivalLimits, travel: TravelTimeModel,
               now: datetime, busy: float = 0.5) -> np.ndarray:
    """For each free surveyor, the share of the region's expected cover lost if they leave (0..1-busy)."""
    out = np.zeros(len(free))
    points = list(demand)
    if len(free) < 2 or not points:
        return out
    reach = reaches(free, points, limits, travel, now)
    count = reach.sum(axis=0)
    marginal = np.where(count > 0, (1 - busy) * busy ** np.maximum(count - 1, 0), 0.0)
    return (reach * marginal[None, :]).sum(axis=1) / len(points)


def reaches(free: list[SurveyorState], points: list[DemandPoint], limits: ArrivalLimits, travel: TravelTimeModel,
            now: datetime) -> np.ndarray:
    """Which scene (columns) each surveyor (rows) reaches within its zone's limit from where they are now."""
    if not free or not points:
        return np.zeros((len(free), len(points)), bool)
    minutes = travel.drive_matrix(np.array([s.lat for s in free]), np.array([s.lon for s in free]),
                                  np.array([d.lat for d in points]), np.array([d.lon for d in points]),
                                  [d.zone for d in points], now) + travel.setup_minutes
    return minutes <= np.array([limits.minutes(d.zone) for d in points])[None, :]


@dataclass
class RecentScenes:
    """A worker's copy of each region's recent scenes, read again when older than ``keep``: where claims come
    from changes over hours, not between two batches of one storm."""

    keep: timedelta = timedelta(seconds=60)
    _held: dict[str, tuple[datetime, list[DemandPoint]]] = field(default_factory=dict)

    def stale(self, region_ids, now: datetime) -> list[str]:
        return [r for r in region_ids if r not in self._held or now - self._held[r][0] > self.keep]

    def put(self, region_id: str, points: list[DemandPoint], now: datetime) -> None:
        self._held[region_id] = (now, points)

    def of(self, region_id: str) -> list[DemandPoint]:
        return self._held.get(region_id, (None, []))[1]
