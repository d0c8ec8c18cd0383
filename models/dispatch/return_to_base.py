"""Back to base: a surveyor whose survey ends with nothing next for them drives back to their base, so the
region's next claims are met from where the roster placed its people rather than from the last scene, often
out of town (docs/dispatch.md, "Back to base"). Pure: the dispatch service stores the trip and tells the
surveyor's app (``SurveyorSentToBase``); dispatch reckons where they are on the way (``Return.position``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from models.dispatch.fleet import Return, SurveyorRecord, local_time
from models.dispatch.geo import distance_km
from models.dispatch.rules import DispatchRules
from models.dispatch.travel import TravelTimeModel
from models.dispatch.zones import Zone


def trip_back(record: SurveyorRecord, vehicle_id: str | None, now: datetime, rules: DispatchRules,
              travel: TravelTimeModel) -> Return | None:
    """The drive back to base of the surveyor of ``record``, free where it says at ``now``, with ``vehicle_id``;
    None when the rule is off, they hold a task, are off duty (the app's override, else the roster's window) or
    are within ``rules.return_to_base_km`` of base. Driven at the speed a trip to a vehicle is reckoned at (the
    planner's pick-up leg), with no set-up time: they are already in the car."""
    if rules.return_to_base_km is None or record.busy:
        return None
    if not record.state_at(now, rules.survey_minutes)[0].on_duty(local_time(now, rules)):
        return None
    base = record.surveyor.base_lat, record.surveyor.base_lon
    if distance_km(record.lat, record.lon, *base) <= rules.return_to_base_km:
        return None
    minutes = travel.minutes(record.lat, record.lon, *base, Zone.URBAN, now) - travel.setup_minutes
    return Return(vehicle_id, now, record.lat, record.lon, *base, now + timedelta(minutes=max(0.0, minutes)))
