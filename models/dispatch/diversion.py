"""A surveyor on the way to a claim of a lower class, turned to one of a higher class that no one else reaches in time.

The rule (docs/dispatch.md, "Priorities"): a higher class is never left waiting so that a lower one is met. When
every surveyor near a serious injury is already out, one of them may still be on the road to a scratched bumper:
as in ambulance dispatch, that one is turned round. A claim of a class up to ``priority.divert_up_to`` that the plan
leaves late (no free surveyor in time, no busy one to wait for in time) takes a surveyor on the way to a claim of a
lower class in its region who reaches it in time, with the vehicle they drive: the lowest class given up first,
then the soonest arrival. The claim given up is sent back to dispatch (``TaskWithdrawn``, reason ``diverted``) and
planned again like any claim whose surveyor declined.

Not turned round: a surveyor already at a scene (their survey is under way), one that a claim of the same class or
a higher one counts on (waiting for them on time, or held for them while late), one on a loan to a neighbour's
claim. Where they are is estimated along the straight line from where they set out, by the share of the trip's
expected time gone (``EnRoute.position``).

The turn is the home plan's; a neighbour's spare surveyor in time still comes first: ``models.dispatch.neighbours``
offers the claim for an on-time loan, which undoes the turn.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np

from models.dispatch.arrivals import Option
from models.dispatch.fleet import SurveyorState, VehicleState, local_time
from models.dispatch.rules import DispatchRules
from models.dispatch.travel import TravelTimeModel


def divert(claims: list, minutes_left: np.ndarray, late: list[int], busy: list[SurveyorState],
           fleet: list[VehicleState], keep: dict[int, int], rules: DispatchRules, travel: TravelTimeModel,
           now: datetime) -> dict[int, tuple[int, Option]]:
    """For the claims ``late`` (indices in ``claims``, pending claims with ``minutes_left`` to their
    deadlines) that the plan leaves late: the busy surveyor (index in ``busy``) turned to each, and how. ``keep``:
    busy surveyors other claims count on → the highest class among those (only a higher one turns them round)."""
    top = rules.priority.divert_up_to
    wanted = sorted((i for i in late if claims[i].claim.priority <= top),
                    key=lambda i: (claims[i].claim.priority, minutes_left[i]))
    if not wanted:
        return {}
    local = local_time(now, rules)
    highest = claims[wanted[0]].claim.priority
    on_way = [k for k, s in enumerate(busy) if s.en_route is not None
              and min(s.en_route.priority, keep.get(k, s.en_route.priority)) > highest and s.on_duty(local)]
    if not on_way:
        return {}
    kit = {v.vehicle.vehicle_id: v.vehicle.equipment for v in fleet}
    where = [busy[k].en_route.position(busy[k].lat, busy[k].lon, now) for k in on_way]
    drive = travel.drive_matrix(np.array([p[0] for p in where]), np.array([p[1] for p in where]),
                                np.array([claims[i].claim.lat for i in wanted]),
                                np.array([claims[i].claim.lon for i in wanted]),
                                [claims[i].claim.zone for i in wanted], now) + travel.setup_minutes
    turned: dict[int, tuple[int, Option]] = {}
    taken: set[int] = set()
    for row, i in enumerate(wanted):
        c, exclude = claims[i].claim, claims[i].exclude
        best = None
        for col, k in enumerate(on_way):
            s = busy[k]
            e = s.en_route
            if (k in taken or min(e.priority, keep.get(k, e.priority)) <= c.priority or e.region_id != c.region_id
                    or c.loss_type not in s.surveyor.skills or s.surveyor_id in exclude
                    or e.vehicle_id not in kit or not rules.equipment_needed(c.loss_type) <= kit[e.vehicle_id]
                    or drive[col, row] > minutes_left[i]):
                continue
            rank = (-e.priority, float(drive[col, row]), s.surveyor_id)
            if best is None or rank < best[0]:
                best = (rank, k)
        if best is not None:
            (_, minutes, _), k = best
            taken.add(k)
            s = busy[k]
            turned[i] = (k, Option(s.surveyor_id, s.en_route.vehicle_id, now + timedelta(minutes=minutes),
                                   s.tasks_today))
    return turned


def turned(s: SurveyorState, fleet: list[VehicleState] | tuple[VehicleState, ...],
           now: datetime) -> tuple[SurveyorState, VehicleState | None]:
    """A surveyor on the way (``s.en_route``) as if turned round now: free where they are estimated to be, with the
    vehicle they drive there too (None: that vehicle is not in ``fleet``). For estimating a turn a dispatcher names
    with the estimates used for any other surveyor (``models.dispatch.arrivals.eta_with``)."""
    lat, lon = s.en_route.position(s.lat, s.lon, now)
    v = next((v for v in fleet if v.vehicle.vehicle_id == s.en_route.vehicle_id), None)
    return (replace(s, lat=lat, lon=lon, busy=False, free_at=None, en_route=None),
            replace(v, lat=lat, lon=lon, busy=False) if v is not None else None)
