"""Back to base: a surveyor whose survey ends with nothing next for them drives back to their base, so the
region's next claims are met from where the roster placed its people rather than from the last scene, often
out of town (docs/dispatch.md, "Back to base"). Pure: the dispatch service stores the trip and tells the
surveyor's app (``SurveyorSentToBase``); dispatch reckons where they are on the way (``Return.position``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from models.dispatch.fleet import Return
from models.dispatch.geo import distance_km
from models.dispatch.roster import Surveyor
from models.dispatch.rules import DispatchRules
from models.dispatch.travel import TravelTimeModel
from models.dispatch.zones import Zone


def trip_back(surveyor: Surveyor, lat: float, lon: float, vehicle_id: str | None, now: datetime,
              rules: DispatchRules, travel: TravelTimeModel) -> Return | None:
    """The drive back to base of ``surveyor``, free at (``lat``, ``lon``) at ``now`` with ``vehicle_id``; None
    when the rule is off or they are within ``rules.return_to_base_km`` of it. Driven at the speed a trip to a
    vehicle is reckoned at (the planner's pick-up leg), with no set-up time: they are already in the car."""
    if rules.return_to_base_km is None:
        return None
    if distance_km(lat, lon, surveyor.base_lat, surveyor.base_lon) <= rules.return_to_base_km:
        return None
    minutes = travel.minutes(lat, lon, surveyor.base_lat, surveyor.base_lon, Zone.URBAN, now) - travel.setup_minutes
    return Return(vehicle_id, now, lat, lon, surveyor.base_lat, surveyor.base_lon,
                  now + timedelta(minutes=max(0.0, minutes)))
