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
vehicle two surveyors would need at once (each drives the one they have, or one beside
them). The promise adds a margin for that
(``promise_margin_minutes``); bench/dispatch_quality.py measures how often the first
time told is kept.
"""

from __future__ import annotations

import heapq
from datetime import datetime

import numpy as np

from models.dispatch.fleet import SurveyorState, local_time
from models.dispatch.rules import DispatchRules
from models.dispatch.travel import TravelTimeModel
from models.contract.dispatch_events import ClaimRegistered


#: How many claims at the head of the backlog are worked through with each surveyor's drive from where they are;
#: behind them, who will be where is not knowable anyway, and each takes a typical drive (``storm``'s): a backlog
#: of hundreds costs no more to estimate than one of a hundred.
EXACT = 40


def work_through(queue: list[ClaimRegistered], excludes: list[frozenset[str]], not_before: np.ndarray,
                 surveyors: list[SurveyorState], rules: DispatchRules, travel: TravelTimeModel,
                 now: datetime) -> np.ndarray:
    """Minutes from ``now`` until each claim of ``queue`` is reached when the backlog is served in that order by
    ``surveyors`` (busy ones from ``free_at`` at their position, each in the vehicle they drive), each claim
    reached no sooner than ``not_before`` (minutes from now) plus the drive; ``inf`` where no one on duty has
    the skill (or all who have declined it)."""
    arrive = np.full(len(queue), np.inf)
    if not queue or not surveyors:
        return arrive
    local = local_time(now, rules)
    on_duty = np.array([s.on_duty(local) for s in surveyors])
    # Who can take a claim, by what decides it: a backlog has few kinds, and hundreds of claims (plain lists and
    # floats below: a storm's plan works its backlog through in every batch).
    key = [(c.loss_type, ex) for c, ex in zip(queue, excludes)]
    skilled = {t: on_duty & np.array([t in s.surveyor.skills for s in surveyors]) for t in {t for t, _ in key}}
    index = {s.surveyor_id: j for j, s in enumerate(surveyors)}
    kinds = {}
    for t, ex in dict.fromkeys(key):
        able = skilled[t]
        if ex:  # those who declined it (or never acknowledged) are not asked again
            able = able.copy()
            able[[index[sid] for sid in ex if sid in index]] = False
        kinds[t, ex] = able
    minutes = {t: rules.survey_minutes_for(t) for t, _ in kinds}
    survey = [minutes[t] for t, _ in key]
    not_before = np.asarray(not_before, float).tolist()
    free_at = np.array([max(0.0, (s.free_at - now).total_seconds() / 60.0) if s.busy and s.free_at else 0.0
                        for s in surveyors])  # when each surveyor is next free, minutes from now
    head = queue[:EXACT]
    # From every surveyor's position and every scene of the head to every scene of the head, in one matrix.
    lat = np.array([s.lat for s in surveyors] + [c.lat for c in head])
    lon = np.array([s.lon for s in surveyors] + [c.lon for c in head])
    drive = travel.drive_matrix(lat, lon, lat[len(surveyors):], lon[len(surveyors):], [c.zone for c in head],
                                now) + travel.setup_minutes
    to = np.ascontiguousarray(drive.T)                  # to each scene of the head, from each row
    at = np.arange(len(surveyors))                      # where each one sets off from: a row of ``drive``
    barred = {k: np.where(able, 0.0, np.inf) for k, able in kinds.items()}
    for i in range(len(head)):
        if not kinds[key[i]].any():
            continue
        when = np.maximum(free_at, not_before[i])
        when += to[i].take(at)
        when += barred[key[i]]
        j = int(when.argmin())
        arrive[i] = when[j]
        free_at[j], at[j] = when[j] + survey[i], len(surveyors) + i
    tail = range(len(head), len(queue))
    typical = rules.storm.typical_drive_minutes + travel.setup_minutes
    if len(kinds) == 1:  # one kind of claim (the usual backlog): a queue of surveyors
        [able] = kinds.values()
        ready = [(t, j) for t, j in zip(free_at[able].tolist(), np.flatnonzero(able).tolist())]
        heapq.heapify(ready)
        reached = []
        for i in tail if ready else ():
            soonest, j = heapq.heappop(ready)
            t = max(soonest, not_before[i]) + typical
            reached.append(t)
            heapq.heappush(ready, (t + survey[i], j))
        arrive[len(head):len(head) + len(reached)] = reached
    else:
        for i in tail:
            able = kinds[key[i]]
            if able.any():
                j = int(np.argmin(np.where(able, free_at, np.inf)))
                arrive[i] = max(free_at[j], not_before[i]) + typical
                free_at[j] = arrive[i] + survey[i]
    return arrive
