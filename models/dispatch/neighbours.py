"""Help from neighbours: a claim its own region cannot get to in time is given a free surveyor of a
neighbouring region who can, when that region can spare one.

Each region is planned on its own first (``plan_region``). Then, for the claims its plan leaves unmet (sent
late, waiting late for someone busy, or with no one at all), the free surveyors the neighbours' own plans
did not use are offered: a neighbour lends a surveyor within ``DispatchRules.neighbour_max_km`` of the scene
who reaches it within its deadline, or, for a claim that will be late anyway, who arrives at least
``late_wait_gain_minutes`` sooner than anyone its own region has for it (in a storm at home, only once the
claim is no longer deferred there); and it keeps ``neighbour_keeps_free`` free surveyors of its own, so that
its own next claims do not lose by the loan. On-time loans go first. Adjacency is the region definition's
``neighbours``. Anything else (a neighbour beyond the distance, one not clearly sooner) stays a desk option.

A claim the home plan met only by turning a surveyor round from a claim of a lower class
(``models/dispatch/diversion.py``) is offered too, for an on-time loan only: a neighbour's spare surveyor in time
spares the customer that surveyor was on the way to, so the turn is undone (the task is not taken back).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from scipy.optimize import linear_sum_assignment

from models.contract.dispatch_events import EscalationReason
from models.dispatch.arrivals import Option, eta_matrix
from models.dispatch.coverage import DemandPoint, reaches
from models.dispatch.fleet import SurveyorState, VehicleState, local_time
from models.dispatch.geo import distance_km
from models.dispatch.planner import PendingClaim, RegionPlan, assignment_for
from models.dispatch.rules import DispatchRules
from models.dispatch.travel import TravelTimeModel

_NOT = 1e9


@dataclass(frozen=True)
class Loan:
    """A home claim served by a neighbour's surveyor (``region_id``: the surveyor's region)."""

    report_id: str
    surveyor_id: str
    vehicle_id: str
    region_id: str


def lend(claims: list[PendingClaim], plan: RegionPlan, lenders: dict[str, tuple[list[SurveyorState],
                                                                                list[VehicleState]]],
         rules: DispatchRules, travel: TravelTimeModel, now: datetime,
         lender_scenes: Mapping[str, Sequence[DemandPoint]] | None = None) -> list[Loan]:
    """Give the claims ``plan`` leaves unmet the neighbours' spare surveyors who are on time for them (or
    clearly sooner, see the module docstring); ``plan`` is changed to say so (the loaned claims assigned, their
    late assignment and this plan's escalations about them gone). ``lenders``: each neighbour's surveyors and
    vehicles, with those its own plan sends already marked busy. ``lender_scenes``: where each neighbour's own
    claims come from (its recent scenes): a surveyor who alone of its free ones reaches one of them in time
    is not lent. Returns the loans."""
    left = unmet(plan)
    turned = turned_for(plan)
    wanting = [p for p in sorted(claims, key=lambda p: (p.claim.priority, p.claim.deadline_at, p.claim.report_id))
               if p.claim.report_id in left or p.claim.report_id in turned]
    if not wanting or not lenders:
        return []
    local = local_time(now, rules)
    columns: list[tuple[str, SurveyorState]] = []
    etas, vias, fleets = [], [], []
    guards: list[tuple[np.ndarray, int]] = []  # per lender: which of its scenes each spare surveyor reaches
    for region_id, (surveyors, vehicles) in sorted(lenders.items()):
        spare = [s for s in surveyors if not s.busy and s.on_duty(local)]
        if len(spare) <= rules.neighbour_keeps_free:
            continue
        copies = [p.claim.model_copy(update={"region_id": region_id}) for p in wanting]
        eta, via = eta_matrix(copies, spare, vehicles, rules, travel, now, [p.exclude for p in wanting])
        near = np.array([[distance_km(s.lat, s.lon, p.claim.lat, p.claim.lon) <= rules.neighbour_max_km
                          for s in spare] for p in wanting])
        etas.append(np.where(near, eta, np.inf))
        vias.append(via)
        fleets.append((region_id, vehicles, len(spare) - rules.neighbour_keeps_free))
        points = list((lender_scenes or {}).get(region_id, ()))
        guards.append((reaches(spare, points, rules.arrival, travel, now), len(columns)))
        columns += [(region_id, s) for s in spare]
    if not columns:
        return []
    eta = np.hstack(etas)
    minutes_left = np.array([(p.claim.deadline_at - now).total_seconds() / 60.0 for p in wanting])
    on_time = eta <= minutes_left[:, None]
    home_eta = {a.report_id: (a.estimated_arrival_at - now).total_seconds() / 60.0 for a in plan.assigned}
    home_eta.update({rid: (at - now).total_seconds() / 60.0 for rid, at in plan.expected.items()})
    home = np.array([home_eta.get(p.claim.report_id, np.inf) for p in wanting])
    # A late loan where the neighbour's surveyor arrives clearly sooner than anyone the home region has for
    # the claim (as a claim waits for a busy surveyor clearly sooner: ``late_wait_gain_minutes``); in a storm
    # at home, only for a claim no longer deferred there (``StormRules.late_defer_minutes`` past its deadline).
    sooner = np.isfinite(eta) & (eta + rules.late_wait_gain_minutes <= home[:, None])
    if plan.minute_value:
        sooner &= (-minutes_left >= rules.storm.late_defer_minutes)[:, None]
    # A claim met by a turn round is met already: only an on-time loan spares the claim given up for it.
    was_turned = np.array([p.claim.report_id in turned for p in wanting])
    sooner &= ~was_turned[:, None]
    # On time first, the higher class first, then the earlier arrival: a loan is worth most where it meets a
    # deadline.
    weight = np.array([rules.priority.weight(p.claim.priority) for p in wanting])
    cost = np.where(on_time, -weight[:, None] * 1e4 + eta, np.where(sooner, eta, _NOT))
    rows, cols = linear_sum_assignment(cost)
    offsets = np.cumsum([0] + [e.shape[1] for e in etas])
    spare_left = {region_id: cap for region_id, _, cap in fleets}
    taken: set[str] = set()
    loans: list[Loan] = []
    for i, j in sorted(zip(rows.tolist(), cols.tolist()), key=lambda ij: eta[ij[0], ij[1]]):
        if not (on_time[i, j] or sooner[i, j]):
            continue
        block = int(np.searchsorted(offsets, j, side="right") - 1)
        region_id, vehicles, _ = fleets[block]
        k = int(vias[block][i, j - offsets[block]])
        if k < 0 or spare_left[region_id] <= 0 or vehicles[k].vehicle.vehicle_id in taken:
            continue
        reach, first = guards[block]
        if reach.size and (reach[j - first] & (reach.sum(axis=0) == 1)).any():
            continue  # the only free one of its region to reach one of its recent scenes in time: kept home
        if not was_turned[i] and home_eta.get(wanting[i].claim.report_id, np.inf) <= eta[i, j]:
            continue
        spare_left[region_id] -= 1
        reach[j - first] = False
        taken.add(vehicles[k].vehicle.vehicle_id)
        s = columns[j][1]
        loans.append(Loan(wanting[i].claim.report_id, s.surveyor_id, vehicles[k].vehicle.vehicle_id, region_id))
        plan.loans[wanting[i].claim.report_id] = region_id
        if was_turned[i]:
            _turn_undone(plan, turned[wanting[i].claim.report_id])
        _apply(plan, wanting[i], Option(s.surveyor_id, vehicles[k].vehicle.vehicle_id,
                                      now + timedelta(minutes=float(eta[i, j])), s.tasks_today), now)
    return loans


def unmet(plan: RegionPlan) -> set[str]:
    """The claims ``plan`` does not meet: sent late, or left with no prospect (waiting late for someone busy,
    or no one at all), whether escalated in this plan or an earlier one."""
    return {a.report_id for a in plan.assigned if not a.meets_deadline} | set(plan.no_prospect)


def turned_for(plan: RegionPlan) -> dict[str, str]:
    """The claims ``plan`` meets by turning a surveyor round (report id → that surveyor)."""
    return {a.report_id: a.surveyor_id for a in plan.assigned if a.surveyor_id in plan.turned_at}


def wants_help(plan: RegionPlan) -> bool:
    """Whether a neighbour could do better for some claim of ``plan``: one it leaves unmet, or one it meets by
    turning a surveyor round."""
    return bool(unmet(plan)) or bool(plan.turned_at)


def _turn_undone(plan: RegionPlan, surveyor_id: str) -> None:
    """The surveyor turned round goes on to the claim they were on the way to."""
    plan.withdrawn[:] = [w for w in plan.withdrawn if w.surveyor_id != surveyor_id]
    del plan.turned_at[surveyor_id]


def _apply(plan: RegionPlan, p: PendingClaim, o: Option, now: datetime) -> None:
    rid = p.claim.report_id
    plan.assigned[:] = [a for a in plan.assigned if a.report_id != rid]
    plan.escalated[:] = [e for e in plan.escalated if not (e.report_id == rid and e.reason in _SOLVED)]
    plan.assigned.append(assignment_for(p, o, now))
    plan.no_prospect[:] = [r for r in plan.no_prospect if r != rid]
    plan.reviews[rid] = None


#: What a loan on time answers (a possible duplicate, say, stays for the dispatcher).
_SOLVED = frozenset({EscalationReason.DEADLINE_UNREACHABLE, EscalationReason.ALL_SURVEYORS_BUSY,
                     EscalationReason.NO_SURVEYOR_ON_DUTY, EscalationReason.NO_SKILLED_SURVEYOR,
                     EscalationReason.NO_EQUIPPED_VEHICLE, EscalationReason.DISPATCH_OVERDUE})
