"""When a claim no one can reach in time will be reached: the region's backlog worked through.

A claim left with no surveyor and no prospect of one in time (everyone busy, or the
free ones kept for claims they reach sooner in a storm) still gets an honest arrival
time for the customer at once, not when a surveyor is finally sent. The region's
backlog is worked through the way the planner serves it: the higher class first;
within a class the claims already counted on a busy surveyor, then the others by
when they stop being deferrable (in a storm a late claim may wait up to
``storm.late_defer_minutes`` past its deadline while others can be met; after that
it goes before every claim still deferrable, the one overdue longer first). Each
claim in turn takes whoever would arrive first: a free surveyor from where they are,
a busy one (or one this plan sends out) from their scene once free, then from each
scene after the time on scene there. A deferrable claim is not reached before it
stops being deferrable, since nearer claims take the surveyors until then.

What it does not see: reports still to come in a higher class (they go first), a
vehicle two surveyors would need at once. The promise adds a margin for that
(``promise_margin_minutes``); bench/dispatch_quality.py measures how often the first
time told is kept.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from models.dispatch.arrivals import eta_matrix
from models.dispatch.fleet import SurveyorState, VehicleState
from models.dispatch.rules import DispatchRules
from models.dispatch.travel import TravelTimeModel
from models.contract.dispatch_events import ClaimRegistered


def work_through(queue: list[ClaimRegistered], excludes: list[frozenset[str]], not_before: np.ndarray,
                 surveyors: list[SurveyorState], fleet: list[VehicleState], rules: DispatchRules,
                 travel: TravelTimeModel, now: datetime) -> np.ndarray:
    """Minutes from ``now`` until each claim of ``queue`` is reached when the backlog is served in that order by
    ``surveyors`` (busy ones from ``free_at`` at their position), each claim reached no sooner than
    ``not_before`` (minutes from now) plus the drive; ``inf`` where no one can take it."""
    arrive = np.full(len(queue), np.inf)
    if not queue or not surveyors:
        return arrive
    first, _ = eta_matrix(queue, surveyors, fleet, rules, travel, now, excludes, vehicles_out_return=True)
    start = np.array([max(0.0, (s.free_at - now).total_seconds() / 60.0) if s.busy and s.free_at else 0.0
                      for s in surveyors])
    lat, lon = np.array([c.lat for c in queue]), np.array([c.lon for c in queue])
    between = travel.drive_matrix(lat, lon, lat, lon, [c.zone for c in queue], now) + travel.setup_minutes
    survey = np.array([rules.survey_minutes_for(c.loss_type) for c in queue])
    free_at = start.copy()                              # when each surveyor is next free, minutes from now
    at = np.full(len(surveyors), -1)                    # the claim each one was last sent to here (-1: none yet)
    for i in range(len(queue)):
        able = np.isfinite(first[i])
        if not able.any():
            continue
        drive = np.where(at < 0, first[i] - start, between[np.maximum(at, 0), i])
        when = np.where(able, np.maximum(free_at, not_before[i]) + drive, np.inf)
        j = int(np.argmin(when))
        arrive[i] = when[j]
        free_at[j], at[j] = when[j] + survey[i], i
    return arrive
