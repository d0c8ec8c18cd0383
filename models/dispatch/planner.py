"""Dispatch for a region: every pending claim decided together, as an assignment problem.

One report alone: the candidate with the best estimated arrival that meets the
deadline, workload breaking ties. Many at once (a storm): the claims and the
free surveyors form an assignment problem (scipy's ``linear_sum_assignment``)
whose costs rank, in this order, (1) the deadlines met, each weighted by its
claim's priority class (``models/dispatch/priority.py``: a higher class is never
left waiting so that a lower one is met), (2) waiting for a surveyor about to be
free over sending one who would be late, (3) total lateness, (4) total arrival
time and workload. A claim no one can reach in time takes the free surveyor who
arrives first, unless a busy one would arrive clearly sooner
(``late_wait_gain_minutes``): then it waits for them, the busy surveyor held for
it alone. Among claims past their deadline, the one overdue longer ranks higher
(``overdue_preference``, the more so for a claim few surveyors can take: a cargo claim
waits for the region's one cargo surveyor, who is not spent on late claims anyone could
take), so none starves behind newer late ones. While claims come
into the region faster than its surveyors serve them (``models/dispatch/load.py``),
each pair also costs the surveyor's time it takes, drive and survey, so that no one
is sent on a trip longer than a claim is worth while nearer claims keep coming, and
a late claim waits while others can be met (at most ``storm.late_defer_minutes``
past its own deadline).
A claim no one can reach in time is escalated at once with the reason and the
options, not left to breach, and with the arrival to tell the customer whenever
someone can take it (left with no one: when the region's backlog reaches it,
``models/dispatch/backlog.py``). Deterministic: the same input gives the same plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

import numpy as np
from scipy.optimize import linear_sum_assignment

from models.dispatch.arrivals import Option, best_option, eta_matrix
from models.dispatch.backlog import work_through
from models.dispatch.coverage import DemandPoint, cover_lost
from models.dispatch.diversion import divert
from models.dispatch.deadlines import promise
from models.dispatch.fleet import EnRoute, SurveyorState, VehicleState, local_time, suitable_vehicles
from models.dispatch.load import recent_rates, region_load
from models.contract.dispatch_events import (ClaimRegistered, DispatchEscalated, EscalationReason, Scene, SurveyorAssigned,
                                    SurveyorReassigned, TaskWithdrawn)
from models.dispatch.rules import DispatchRules
from models.contract.event import derived_event_id
from models.dispatch.travel import TravelTimeModel

# Costs per claim of the lowest priority class; a claim's are multiplied by its class weight.
_ON_TIME = 0.0
_LATE = 1e4          # one deadline missed costs more than any arrival time or lateness difference
_WAIT = _LATE - 1.0  # waiting for a surveyor who will make it beats sending one who will not
_HOPELESS = 1e6      # leaving a claim with no prospect unassigned: only when no one is free for it
_IMPOSSIBLE = 1e12   # not a candidate at all


@dataclass(frozen=True)
class PendingClaim:
    """A claim waiting for a surveyor: the first time, or again after a decline or a missed acknowledgement."""

    claim: ClaimRegistered
    attempt: int = 1
    pending_since: datetime | None = None
    exclude: frozenset[str] = frozenset()          # surveyors who declined it or never acknowledged
    previous_task_id: object | None = None
    reassign_reason: str | None = None
    raised: frozenset[str] = frozenset()           # escalation reasons already raised for this attempt

    @classmethod
    def arrived(cls, claim: ClaimRegistered, now: datetime) -> "PendingClaim":
        """A claim registered ``now``: pending since then, on its first attempt, its times in UTC (as the
        store keeps it and gives it back)."""
        return cls(claim=claim.model_copy(update={"occurred_at": now,
                                                  "reported_at": claim.reported_at.astimezone(timezone.utc),
                                                  "deadline_at": claim.deadline_at.astimezone(timezone.utc)}),
                   pending_since=now)


@dataclass
class RegionPlan:
    assigned: list[SurveyorAssigned | SurveyorReassigned] = field(default_factory=list)
    escalated: list[DispatchEscalated] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # report ids left pending, with a prospect of being on time
    #: For every claim planned: when to look at it again without waiting for a surveyor to free up (a claim
    #: left waiting without an escalation: when its dispatch limit passes, to raise dispatch_overdue), or None.
    reviews: dict[str, datetime | None] = field(default_factory=dict)
    #: Claims given a neighbouring region's surveyor (``models.dispatch.neighbours.lend``): report id → region.
    loans: dict[str, str] = field(default_factory=dict)
    #: Report ids left with no one and no prospect of anyone in time (waiting late for someone busy, or for
    #: no one): what a neighbour could help with. Not read from the escalations: a claim is escalated once
    #: per reason, and stays without a prospect in every plan after that one.
    no_prospect: list[str] = field(default_factory=list)
    #: Claims left waiting, late, for a busy surveyor: when that one is expected (a neighbour's loan must beat it).
    expected: dict[str, datetime] = field(default_factory=dict)
    #: What a surveyor-minute was worth in this plan (``models/dispatch/load.py``): 0 unless a storm.
    minute_value: float = 0.0
    #: Tasks taken back from surveyors on the way to a claim of a lower class, each turned to one of a higher
    #: class in ``assigned`` (``models/dispatch/diversion.py``); their claims go back to dispatch.
    withdrawn: list[TaskWithdrawn] = field(default_factory=list)
    #: Where each surveyor turned round is estimated to be now (surveyor id → lat, lon): where they set out from.
    turned_at: dict[str, tuple[float, float]] = field(default_factory=dict)


_OPTIONS = {
    EscalationReason.NO_SURVEYOR_ON_DUTY: ("call in an on-call surveyor", "send a surveyor from a neighbouring region"),
    EscalationReason.NO_SKILLED_SURVEYOR: ("send a surveyor from a neighbouring region", "agree a later time with the customer"),
    EscalationReason.ALL_SURVEYORS_BUSY: ("send a surveyor from a neighbouring region", "call in an on-call surveyor",
                                          "agree a later time with the customer"),
    EscalationReason.NO_EQUIPPED_VEHICLE: ("borrow a vehicle from a neighbouring region", "agree a later time with the customer"),
    EscalationReason.DEADLINE_UNREACHABLE: ("send a surveyor from a neighbouring region", "agree a later time with the customer"),
    EscalationReason.DISPATCH_OVERDUE: ("send a surveyor from a neighbouring region", "call in an on-call surveyor"),
    EscalationReason.APPOINTMENT_CASE: ("agree a survey time with the customer",),
    EscalationReason.POSSIBLE_DUPLICATE: ("merge it into the other claim", "keep the two apart"),
}


def plan_region(pending: list[PendingClaim], surveyors: list[SurveyorState], vehicles: list[VehicleState],
                rules: DispatchRules, travel: TravelTimeModel, now: datetime,
                demand: Sequence[DemandPoint] = ()) -> RegionPlan:
    """Decide every pending claim of one region at once. See the module docstring. ``demand``: where the
    region's claims come from (its recent scenes), for preferring, among surveyors who would all be on time,
    the one whose departure leaves the rest best covered."""
    if not pending:
        return RegionPlan()
    region = _Region.of(pending, surveyors, vehicles, rules, travel, now, demand)
    can_wait, options = region.choose()
    region.turn_round(can_wait, options)
    return region.plan(can_wait, options, surveyors, vehicles)


@dataclass
class _Region:
    """One region's problem at ``now``: its claims in deadline order, the free surveyors (with their arrival
    matrix ``eta`` in minutes and the vehicle each pair would use), the busy ones who free up before the last
    deadline (they could still be waited for), and the fleet."""

    claims: list[PendingClaim]
    free: list[SurveyorState]
    busy: list[SurveyorState]
    fleet: list[VehicleState]
    rules: DispatchRules
    travel: TravelTimeModel
    now: datetime
    eta: np.ndarray
    vehicle_of: np.ndarray
    minutes_left: np.ndarray
    #: Each claim's priority class, its weight, and minutes past its deadline already waited.
    priority: np.ndarray = None
    weight: np.ndarray = None
    overdue: np.ndarray = None
    cover: np.ndarray = None       #: per free surveyor: what their departure costs the region's cover
    #: What a minute of a surveyor's time is worth, in deadlines (``models/dispatch/load.py``; 0 unless a storm).
    minute_value: float = 0.0
    #: Per busy surveyor: free before the latest deadline here (only they can be waited for on time).
    in_time: np.ndarray = None
    #: Per claim that can wait: the vehicles of the busy surveyors who would be on time for it, and which
    #: of ``busy`` they are.
    using: dict[int, set[str]] = field(default_factory=dict)
    reach: dict[int, np.ndarray] = field(default_factory=dict)
    #: The busy surveyors the claims left waiting on time count on, one each (indices in ``busy``).
    counted_on: dict[int, int] = field(default_factory=dict)  # busy surveyor → the claim counting on them
    #: The claims no one reaches in time: when each busy surveyor would arrive (minutes; worked out once).
    busy_eta: np.ndarray | None = None
    busy_known: np.ndarray | None = None
    #: Claims left to wait, late, for a busy surveyor who arrives clearly sooner than the free surveyor
    #: the plan would send (claim → index in ``busy``, minutes to that arrival).
    waits_late: dict[int, tuple[int, float]] = field(default_factory=dict)
    #: Minutes until each claim is reached when the backlog is worked through (worked out once, when a claim
    #: left with no one needs a time to promise).
    backlog: np.ndarray | None = None
    #: The region's recent scenes (where and when its claims came from).
    demand: Sequence[DemandPoint] = ()
    #: Claims given a surveyor turned round on the way to a claim of a lower class: the task given up.
    diverted: dict[int, tuple[EnRoute, tuple[float, float]]] = field(default_factory=dict)
    #: Per claim: the region's surveyors over those who could take it (1: anyone; 4: a quarter of them). A late
    #: claim's wait counts that many times over: only those few can ever take it, the others' claims have more.
    scarcity: np.ndarray | float = 1.0

    @classmethod
    def of(cls, pending, surveyors, vehicles, rules, travel, now, demand=()) -> "_Region":
        claims = sorted(pending, key=lambda p: (p.claim.deadline_at, p.claim.report_id))
        free = sorted((s for s in surveyors if not s.busy), key=lambda s: s.surveyor_id)
        busy = sorted((s for s in surveyors if s.busy and s.free_at is not None), key=lambda s: s.surveyor_id)
        fleet = sorted(vehicles, key=lambda v: v.vehicle.vehicle_id)
        eta, vehicle_of = eta_matrix([p.claim for p in claims], free, fleet, rules, travel, now,
                                     [p.exclude for p in claims])
        minutes_left = np.array([(p.claim.deadline_at - now).total_seconds() / 60.0 for p in claims])
        priority = np.array([p.claim.priority for p in claims], int)
        weight = {k: rules.priority.weight(k) for k in np.unique(priority).tolist()}  # a handful of classes
        weight = np.array([weight[k] for k in priority.tolist()])
        # What a free surveyor's departure costs the region's cover, in the units of an on-time pair: all the
        # plan's pairs together weigh less than half a deadline, so cover only ranks surveyors who are all on time.
        cover = cover_lost(free, list(demand), rules.arrival, travel, now) * (_LATE / len(claims))
        local = local_time(now, rules)
        load = region_load((d.reported_at for d in demand), sum(1 for s in surveyors if s.on_duty(local)),
                           rules.survey_minutes, rules.storm, now)
        # A busy surveyor free only after every deadline here has passed cannot be waited for on time (one
        # may still be worth waiting for, late: ``hold_late``).
        latest = max(p.claim.deadline_at for p in claims)
        return cls(claims, free, busy, fleet, rules, travel, now, eta, vehicle_of, minutes_left,
                   scarcity=_scarcity(claims, free + busy),
                   priority=priority, weight=weight, overdue=np.maximum(0.0, -minutes_left), cover=cover,
                   minute_value=load.minute_value, in_time=np.array([s.free_at < latest for s in busy], bool),
                   demand=demand)

    def who_can_wait(self, among: np.ndarray, taken: frozenset[str] = frozenset()) -> np.ndarray:
        """Which of the claims ``among`` (indices) someone busy will still reach in time, with a vehicle
        this plan does not send out (``taken``); the vehicles they would use are kept in ``using``."""
        can = np.zeros(len(self.claims), bool)
        cols = np.flatnonzero(self.in_time)
        if not cols.size:
            return can
        # No one arrives before they are free: a claim due before the first of them frees up cannot wait,
        # and needs no arrival worked out. In a region where everyone is out (a storm's backlog) that is
        # most of its claims, so the matrix below is worked out for the few that can wait.
        soonest = min((self.busy[k].free_at - self.now).total_seconds() for k in cols) / 60.0
        rows = among[self.minutes_left[among] >= soonest]
        if rows.size:
            spare = [v for v in self.fleet if v.vehicle.vehicle_id not in taken] if taken else self.fleet
            later, via = eta_matrix([self.claims[i].claim for i in rows], [self.busy[k] for k in cols], spare,
                                    self.rules, self.travel, self.now, [self.claims[i].exclude for i in rows],
                                    vehicles_out_return=True)
            on_time = later <= self.minutes_left[rows, None]
            can[rows] = on_time.any(axis=1)
            for n, i in enumerate(rows):
                self.using[int(i)] = {spare[k].vehicle.vehicle_id for k in via[n][on_time[n]]}
                self.reach[int(i)] = np.zeros(len(self.busy), bool)
                self.reach[int(i)][cols] = on_time[n]
        return can

    def choose(self) -> tuple[np.ndarray, dict[int, Option]]:
        """Which claims can wait for someone busy, and the free surveyors' assignments given that.

        A claim may stay unassigned for now: cheaply if someone busy will still make it in time. Whether
        someone will (the busy surveyors' arrival matrix, most of a plan's work once a region is busy) is
        worked out only when it can matter. First every claim is taken as able to wait: only an on-time pair
        costs less than that, so a plan sending someone to every claim meets them all, and stays the plan
        when some cannot wait (that only makes leaving a claim unassigned dearer). Otherwise it is made
        again with who can."""
        every = np.arange(len(self.claims))
        if not self.free:  # nobody free: every claim waits or is escalated
            return self.who_can_wait(every), {}
        can_wait = np.ones(len(self.claims), bool)
        # (With fewer free surveyors than claims that first plan cannot send someone to every claim.)
        options = self.solve(can_wait) if len(self.free) >= len(self.claims) else {}
        if len(options) < len(self.claims):
            can_wait = self.who_can_wait(every)
            options = self.solve(can_wait)
        # Each re-plan below may undo what an earlier check found, so they are made again, in turn, until none
        # changes the plan (found by the property test: a claim kept waiting for the one busy surveyor while the
        # plan made for the claim that lost him sent the free one out in the only vehicle). Each change only
        # takes a prospect away or holds a claim for a busy surveyor not yet held for, so the rounds end.
        for _ in range(len(self.claims) + len(self.busy) + 1):
            changed = False
            # A claim left waiting may have counted on a vehicle that the plan sends out with a free surveyor (the
            # only one with a camera, say): then, unless another vehicle still gets someone there in time, it has
            # no prospect. Usually a busy surveyor's vehicle is their own, never taken here.
            taken = frozenset(o.vehicle_id for o in options.values())
            doubtful = np.array([i for i in every if i not in options and can_wait[i] and self.using[i] <= taken],
                                dtype=int)
            if doubtful.size:
                still = self.who_can_wait(doubtful, taken)
                lost = doubtful[~still[doubtful]]
                if lost.size:
                    can_wait[lost] = False
                    options, changed = self.solve(can_wait), True
            # More claims may count on busy surveyors than there are busy surveyors to go round: each claim left
            # waiting keeps its prospect only with a busy surveyor of its own (the higher class, then the earlier
            # deadline first); the others have none.
            lost = self.overcounted(can_wait, options)
            if lost.size:
                can_wait[lost] = False
                options, changed = self.solve(can_wait), True
            # A late send that a busy surveyor would beat clearly: the claim waits for them, and the free
            # surveyor is planned again for the rest.
            if self.hold_late(options):
                options, changed = self.solve(can_wait), True
            if not changed:
                break
        return can_wait, options

    def solve(self, can_wait: np.ndarray) -> dict[int, Option]:
        """Claims paired with free surveyors (each pair with a vehicle), or left unassigned at the cost of
        waiting (``can_wait``), of waiting late for a busy surveyor who arrives clearly sooner than any free
        one (each busy surveyor for one such claim), or of no prospect (dearer the longer the claim has waited
        past its deadline). The solver pairs claims with surveyors, each pair with its
        best vehicle; two pairs may want one vehicle. The more urgent keeps it; the other pair's arrival is
        worked out again with the vehicles left, and the problem solved again with that, until no two pairs
        want one vehicle (each round only raises costs, so it ends; the last round's rule settles what is
        left, if anything)."""
        claims, free, fleet, w = self.claims, self.free, self.fleet, self.weight
        eta, vehicle_of = self.eta.copy(), self.vehicle_of.copy()  # the pairs' arrivals change as vehicles go
        workload = np.array([s.tasks_today for s in free])
        late = eta - self.minutes_left[:, None]
        cost = self.time_cost(eta, _pair_cost(eta, self.minutes_left[:, None], workload[None, :], w[:, None],
                                              self.cover[None, :]))
        held = np.zeros(len(claims), bool)
        held[list(self.waits_late)] = True
        cost[held] = _IMPOSSIBLE
        # A late pair's cost counts the claim's lateness, which already holds its time overdue: leaving it
        # unassigned costs that time again, and the preference, so that among late claims the one overdue
        # longer ranks higher (with no preference, the nearest would go first whatever the wait).
        aged = (np.where(self.deferrable(), _LATE, _HOPELESS)
                + (1.0 + self.rules.overdue_preference * self.scarcity) * self.overdue)
        leave = np.where(held, 0.0, w * np.where(can_wait, _WAIT, aged))  # what leaving each claim unassigned costs
        options: dict[int, Option] = {}
        best, best_cost = {}, np.inf
        index = {s.surveyor_id: j for j, s in enumerate(free)}
        for _ in range(len(fleet) + 1):
            chosen = _pairs(cost, leave)
            options, bumped = _settle_vehicles(chosen, claims, free, fleet, eta, vehicle_of, late, self.rules,
                                               self.travel, self.now)
            # What this round's plan (each pair with the vehicle it really gets) costs, claims left unassigned
            # included: a later round may be worse, since a bumped claim's arrivals only rise (found by the
            # property test: one camera for two surveyors, and each claim that once lost it never got it back).
            total = float(leave[[i for i in range(len(claims)) if i not in options]].sum())
            if options:
                rows = np.fromiter(options, int, len(options))
                cols = np.array([index[o.surveyor_id] for o in options.values()])
                minutes = np.array([(o.eta - self.now).total_seconds() / 60.0 for o in options.values()])
                total += float(self.time_cost(minutes[:, None], _pair_cost(
                    minutes, self.minutes_left[rows], workload[cols], w[rows], self.cover[cols])[:, None],
                    rows).sum())
            if total < best_cost:
                best, best_cost = options, total
            if not bumped:
                break
            for i in sorted({i for i, _, _ in bumped}):
                # The claim's real arrival with every surveyor, without the vehicles more urgent pairs keep: with
                # only the bumped pair's, a claim could try each surveyor in turn for the one vehicle it needs
                # and run out of rounds on a late pair (found by the property test). Arrivals only rise (the
                # higher of before and now), so the rounds end.
                kept = {_index_of(fleet, o.vehicle_id) for n, o in options.items() if n != i}
                left = [k for k in range(len(fleet)) if k not in kept]
                row, via = eta_matrix([claims[i].claim], free, [fleet[k] for k in left], self.rules, self.travel,
                                      self.now, [claims[i].exclude])
                rises = row[0] > eta[i]
                eta[i] = np.where(rises, row[0], eta[i])
                vehicle_of[i] = np.where(rises, [left[k] if k >= 0 else -1 for k in via[0]], vehicle_of[i])
                cost[i] = self.time_cost(eta[i][None, :], _pair_cost(eta[i], self.minutes_left[i], workload, w[i],
                                                                     self.cover)[None, :], [i])[0]
                late[i] = eta[i] - self.minutes_left[i]
        return best

    def turn_round(self, can_wait: np.ndarray, options: dict[int, Option]) -> None:
        """Claims of the classes that may (``priority.divert_up_to``) and that this plan leaves late take a
        surveyor on the way to a claim of a lower class who is in time (``models/dispatch/diversion.py``); not
        one a claim of the same class or a higher one counts on (waiting on time, or held for while late)."""
        if not (self.priority <= self.rules.priority.divert_up_to).any() or not self.busy:
            return
        late = [i for i in np.flatnonzero(self.priority <= self.rules.priority.divert_up_to).tolist()
                if not can_wait[i] and (i not in options or options[i].eta > self.claims[i].claim.deadline_at)]
        if not late:
            return
        # The busy surveyors claims count on (on time, or held for a late one), and the highest class counting on
        # each: only a claim of a higher class than that turns one round.
        self.overcounted(can_wait, options)
        keep = {k: self.claims[n].claim.priority for k, n in self.counted_on.items()}
        for n, (k, _) in self.waits_late.items():
            p = self.claims[n].claim.priority
            keep[k] = min(keep.get(k, p), p)
        for i, (k, option) in divert(self.claims, self.minutes_left, late, self.busy, self.fleet, keep, self.rules,
                                     self.travel, self.now).items():
            options[i] = option
            self.waits_late.pop(i, None)
            s = self.busy[k]
            self.diverted[i] = s.en_route, s.en_route.position(s.lat, s.lon, self.now)

    def deferrable(self) -> np.ndarray:
        """Claims that may be left without a surveyor at the cost of one deadline, not of leaving them with no
        prospect: in a storm, any claim not yet ``late_defer_minutes`` past its deadline (one a free surveyor
        could still meet is then left only for claims that take less of the surveyors' time; one already late
        waits while others' deadlines can be met). Otherwise none."""
        if not self.minute_value:
            return np.zeros(len(self.claims), bool)
        return self.overdue < self.rules.storm.late_defer_minutes

    def time_cost(self, eta: np.ndarray, cost: np.ndarray, rows=None) -> np.ndarray:
        """``cost`` (claims ``rows`` × free surveyors) with the worth of the surveyor's time the pair takes (the
        drive and the expected time on scene) added, in a storm, for the claims that may be deferred."""
        if not self.minute_value:
            return cost
        rows = np.arange(len(self.claims)) if rows is None else np.asarray(rows)
        survey = np.array([self.rules.survey_minutes_for(self.claims[i].claim.loss_type) for i in rows])
        taken = self.minute_value * _LATE * (eta + survey[:, None])
        return np.where(self.deferrable()[rows, None] & np.isfinite(eta), cost + taken, cost)

    def overcounted(self, can_wait: np.ndarray, options: dict[int, Option]) -> np.ndarray:
        """The claims left waiting that no busy surveyor is left for once each of the others has one."""
        waiting = [i for i in range(len(self.claims)) if i not in options and can_wait[i]]
        self.counted_on = {}
        if not waiting:
            return np.array([], dtype=int)
        reach = np.array([self.reach[i] for i in waiting])
        urgency = np.array([self.weight[i] * 1e3 - self.minutes_left[i] * 1e-3 for i in waiting])
        rows, cols = linear_sum_assignment(np.where(reach, urgency[:, None] + 1e6, 0.0), maximize=True)
        kept = {int(r) for r, c in zip(rows, cols) if reach[r, c]}
        self.counted_on = {int(c): waiting[r] for r, c in zip(rows, cols) if reach[r, c]}
        return np.array([i for n, i in enumerate(waiting) if n not in kept], dtype=int)

    def hold_late(self, options: dict[int, Option]) -> list[int]:
        """Late sends a busy surveyor would beat by ``late_wait_gain_minutes`` or more: those claims wait for
        them instead (recorded in ``waits_late``), each busy surveyor for one claim, the highest class and the
        longest overdue first. Returns the claims newly held."""
        late = [i for i, o in options.items() if o.eta > self.claims[i].claim.deadline_at]
        if not late or not self.busy:
            return []
        if self.busy_eta is None:
            self.busy_eta = np.full((len(self.claims), len(self.busy)), np.inf)
            self.busy_known = np.zeros(len(self.claims), bool)
        todo = np.array([i for i in late if not self.busy_known[i]], dtype=int)
        if todo.size:
            later, _ = eta_matrix([self.claims[i].claim for i in todo], self.busy, self.fleet, self.rules,
                                  self.travel, self.now, [self.claims[i].exclude for i in todo],
                                  vehicles_out_return=True)
            self.busy_eta[todo], self.busy_known[todo] = later, True
        reserved = {k for k, _ in self.waits_late.values()} | set(self.counted_on)
        held = []
        for i in sorted(late, key=lambda i: (self.claims[i].claim.priority, -self.overdue[i], i)):
            sent = (options[i].eta - self.now).total_seconds() / 60.0
            row = np.where([k in reserved for k in range(len(self.busy))], np.inf, self.busy_eta[i])
            k = int(np.argmin(row))
            if row[k] + self.rules.late_wait_gain_minutes <= sent:
                self.waits_late[i] = (k, float(row[k]))
                reserved.add(k)
                held.append(i)
        return held

    def promise(self, estimate: datetime) -> datetime:
        return promise(estimate, self.rules.promise_margin_minutes, self.rules.promise_round_minutes)

    def plan(self, can_wait: np.ndarray, options: dict[int, Option], surveyors: list[SurveyorState],
             vehicles: list[VehicleState]) -> RegionPlan:
        """What the choice means for each claim: assigned (escalated too if late), left waiting (escalated
        when its dispatch limit has passed, else reviewed then), or escalated with the reason no one can go."""
        plan, rules, now = RegionPlan(minute_value=self.minute_value), self.rules, self.now
        reasons: dict[tuple, tuple[EscalationReason, str]] = {}  # why not, per kind of claim: a storm has few
        on_duty: list[SurveyorState] | None = None                # worked out for the first claim needing it
        # Whether a free surveyor could reach each claim at all (kept for nearer ones in a storm), and the reasons'
        # values, looked up once: a storm's plan goes through hundreds of claims already escalated.
        nearest = self.eta.min(axis=1, initial=np.inf)
        reachable = np.isfinite(nearest) if self.minute_value else np.zeros(len(self.claims), bool)
        overdue, all_busy = EscalationReason.DISPATCH_OVERDUE.value, EscalationReason.ALL_SURVEYORS_BUSY.value
        for i, p in enumerate(self.claims):
            plan.reviews[p.claim.report_id] = None
            if i in options:
                o = options[i]
                plan.assigned.append(assignment_for(p, o, now))
                if i in self.diverted:
                    e, plan.turned_at[o.surveyor_id] = self.diverted[i]
                    plan.withdrawn.append(TaskWithdrawn(
                        event_id=derived_event_id("diverted", e.task_id), occurred_at=now, task_id=e.task_id,
                        report_id=e.report_id, region_id=e.region_id, surveyor_id=o.surveyor_id,
                        reason="diverted"))
                if o.eta > p.claim.deadline_at:
                    _raise(plan, p, EscalationReason.DEADLINE_UNREACHABLE,
                           f"best estimate arrives {o.lateness_minutes(p.claim.deadline_at):.0f} min after the "
                           "deadline", now, self.promise(o.eta))
            elif can_wait[i]:
                plan.waiting.append(p.claim.report_id)
                since = p.pending_since or p.claim.reported_at
                due = since + timedelta(minutes=rules.dispatch_within_minutes)
                if now >= due:
                    _raise(plan, p, EscalationReason.DISPATCH_OVERDUE,
                           f"no surveyor free for {rules.dispatch_within_minutes:g} min; one is expected in time", now)
                elif overdue not in p.raised:
                    plan.reviews[p.claim.report_id] = due
            elif i in self.waits_late:
                plan.no_prospect.append(p.claim.report_id)
                k, minutes = self.waits_late[i]
                plan.expected[p.claim.report_id] = now + timedelta(minutes=minutes)
                s = self.busy[k]
                _raise(plan, p, EscalationReason.DEADLINE_UNREACHABLE,
                       f"waiting for {s.surveyor_id}, free at about {local_time(s.free_at, rules):%H:%M}: arrives "
                       f"about {minutes - self.minutes_left[i]:.0f} min after the deadline, sooner than any free "
                       "surveyor", now, self.promise(now + timedelta(minutes=minutes)))
            elif reachable[i]:
                plan.no_prospect.append(p.claim.report_id)
                if all_busy not in p.raised:
                    _raise(plan, p, EscalationReason.ALL_SURVEYORS_BUSY,
                           f"claims are coming faster than the region's surveyors can serve them: the free ones are "
                           f"kept for claims they reach sooner (the nearest is {nearest[i]:.0f} min from "
                           "this one)", now, self.backlog_promise(i, can_wait, options))
            else:
                plan.no_prospect.append(p.claim.report_id)
                key = (p.claim.loss_type, p.exclude)
                if key not in reasons:
                    if on_duty is None:
                        local = local_time(now, rules)
                        on_duty = [s for s in surveyors if s.on_duty(local)]
                    reasons[key] = _why_not(p, on_duty, vehicles, rules)
                reason, detail = reasons[key]
                if reason.value not in p.raised:
                    _raise(plan, p, reason, detail, now, self.backlog_promise(i, can_wait, options)
                           if reason is EscalationReason.ALL_SURVEYORS_BUSY else None)
        return plan

    def backlog_promise(self, i: int, can_wait: np.ndarray, options: dict[int, Option]) -> datetime | None:
        """The arrival to promise claim ``i``, left with no one in time: the region's backlog worked through
        (``models/dispatch/backlog.py``) once per plan, from what this plan sends out; None if no one can take it."""
        if self.backlog is None:
            n = len(self.claims)
            left = np.ones(n, bool)
            left[list(options)] = False
            release = np.where(self.deferrable(), self.minutes_left + self.rules.storm.late_defer_minutes, 0.0)
            counted = can_wait.copy()
            counted[list(self.waits_late)] = True
            counted &= left
            ranked = np.lexsort((np.arange(n), self.minutes_left, release, ~counted, self.priority))
            order = ranked[left[ranked]]
            not_before = np.where(counted, 0.0, release)
            by_surveyor = {o.surveyor_id: (n, o) for n, o in options.items()}
            crew = []  # the free surveyors this plan sends out are busy at their scenes until their survey is done
            for s in self.free:
                if s.surveyor_id in by_surveyor:
                    n, o = by_surveyor[s.surveyor_id]
                    c = self.claims[n].claim
                    s = replace(s, busy=True, lat=c.lat, lon=c.lon,
                                free_at=o.eta + timedelta(minutes=self.rules.survey_minutes_for(c.loss_type)))
                crew.append(s)
            self.backlog = np.full(len(self.claims), np.inf)
            self.backlog[order] = work_through([self.claims[n].claim for n in order],
                                               [self.claims[n].exclude for n in order], not_before[order],
                                               crew + self.busy, self.rules, self.travel, self.now)
            # In a storm the claims still to come whose deadlines (and so their turn) fall before a deferred
            # claim's turn go before it: each takes a surveyor for a cycle (time on scene and a typical drive),
            # spread over the region's surveyors.
            if self.minute_value:
                storm = self.rules.storm
                cycle = self.rules.survey_minutes + storm.typical_drive_minutes
                ahead = sum(rate * np.maximum(0.0, release - self.rules.arrival.minutes(zone) - storm.late_defer_minutes)
                            for zone, rate in recent_rates(self.demand, storm.window_minutes, self.now).items())
                self.backlog += np.where(not_before > 0, ahead * cycle / max(1, len(crew) + len(self.busy)), 0.0)
        minutes = float(self.backlog[i])
        return self.promise(self.now + timedelta(minutes=minutes)) if np.isfinite(minutes) else None


def _scarcity(claims: list[PendingClaim], crew: list[SurveyorState]) -> np.ndarray:
    """For each claim, how many of ``crew`` there are for each one who has its skill and has not declined it."""
    ratio: dict[tuple, float] = {}  # by what decides it: a storm's hundreds of claims are of few kinds
    kits: dict[frozenset, list[str]] = {}  # the crew by skills (a region has few kinds of surveyor)
    for s in crew:
        kits.setdefault(s.surveyor.skills, []).append(s.surveyor.surveyor_id)
    skilled: dict[object, set[str]] = {}  # who has each loss type's skill, found once per loss type
    out = np.empty(len(claims))
    for n, p in enumerate(claims):
        key = (p.claim.loss_type, p.exclude)
        if key not in ratio:
            if key[0] not in skilled:
                skilled[key[0]] = {i for skills, ids in kits.items() if key[0] in skills for i in ids}
            able = len(skilled[key[0]] - key[1]) if key[1] else len(skilled[key[0]])
            ratio[key] = len(crew) / max(1, able)
        out[n] = ratio[key]
    return out


def _pairs(cost: np.ndarray, leave: np.ndarray) -> dict[int, int]:
    """The claims (rows of ``cost``) paired with free surveyors (columns) at the least total cost, each claim
    left unassigned costing ``leave`` instead; never a pair of ``_IMPOSSIBLE`` cost. Claim → surveyor.

    Solved as one rectangular assignment either way round: with fewer claims than surveyors, each claim takes
    a surveyor or a "left" column of its own; with more (a storm's backlog), each surveyor takes a claim, at
    the pair's cost less that claim's ``leave``, or stays free at no cost. Both give the least total; the
    second keeps the problem as small as the free surveyors, not as the backlog."""
    n, m = cost.shape
    if n <= m:
        left = np.full((n, n), _IMPOSSIBLE)
        np.fill_diagonal(left, leave)
        rows, cols = linear_sum_assignment(np.hstack([cost, left]))
    else:
        instead = np.where(cost < _IMPOSSIBLE, cost - leave[:, None], _IMPOSSIBLE)
        rows, cols = linear_sum_assignment(np.vstack([instead, np.zeros((m, m))]))
    return {int(i): int(j) for i, j in zip(rows, cols) if i < n and j < m and cost[i, j] < _IMPOSSIBLE}


def _pair_cost(eta, minutes_left, tasks_today, weight, cover):
    """What sending a surveyor to a claim costs (arrays broadcast): a missed deadline outweighs everything,
    by the claim's class weight; among on-time pairs, the cover the surveyor's departure costs; then the
    earlier arrival (never outweighing a deadline), then the lighter workload."""
    late = eta - minutes_left
    cost = (weight * (np.where(late <= 0, _ON_TIME, _LATE + late) + np.minimum(0.9, eta / 1e5))
            + np.where(late <= 0, cover, 0.0) + tasks_today * 1e-7)
    return np.where(np.isfinite(eta), cost, _IMPOSSIBLE)


def _settle_vehicles(chosen: dict[int, int], claims: list[PendingClaim], free: list[SurveyorState],
                     fleet: list[VehicleState], eta, vehicle_of, late, rules: DispatchRules, travel: TravelTimeModel,
                     now: datetime) -> tuple[dict[int, Option], list[tuple[int, int, Option | None]]]:
    """Vehicles for the chosen pairs, the on-time and more urgent first. A pair whose best vehicle is
    already taken takes its next best: returned also as ``bumped`` (claim, surveyor, option or None)."""
    taken: set[int] = set()
    options: dict[int, Option] = {}
    bumped = []
    for i in sorted(chosen, key=lambda i: (late[i, chosen[i]] > 0, claims[i].claim.deadline_at, i)):
        j = chosen[i]
        k = int(vehicle_of[i, j])
        if k in taken:
            rest = [v for n, v in enumerate(fleet) if n not in taken]
            o = best_option(claims[i].claim, free[j], rest, rules, travel, now)
            bumped.append((i, j, o))
            if o is None:
                continue
            k = _index_of(fleet, o.vehicle_id)
        else:
            o = Option(free[j].surveyor_id, fleet[k].vehicle.vehicle_id, now + timedelta(minutes=float(eta[i, j])),
                       free[j].tasks_today)
        taken.add(k)
        options[i] = o
    return options, bumped


def _index_of(fleet: list[VehicleState], vehicle_id: str) -> int:
    return next(n for n, v in enumerate(fleet) if v.vehicle.vehicle_id == vehicle_id)


def _why_not(p: PendingClaim, on_duty_anywhere: list[SurveyorState], vehicles,
             rules) -> tuple[EscalationReason, str]:
    c = p.claim
    on_duty = [s for s in on_duty_anywhere if s.surveyor.region_id == c.region_id]
    if p.exclude:
        on_duty = [s for s in on_duty if s.surveyor.surveyor_id not in p.exclude]
    skilled = [s for s in on_duty if c.loss_type in s.surveyor.skills]
    if not on_duty:
        return EscalationReason.NO_SURVEYOR_ON_DUTY, "no surveyor of the region is on shift"
    if not skilled:
        return EscalationReason.NO_SKILLED_SURVEYOR, f"no on-duty surveyor handles {c.loss_type.value}"
    if not any(not s.busy for s in skilled):  # (their vehicles are out with them: busy says more)
        return EscalationReason.ALL_SURVEYORS_BUSY, f"all {len(skilled)} suitable surveyors hold a task"
    need = rules.equipment_needed(c.loss_type)
    if not suitable_vehicles(vehicles, c.region_id, need):
        return EscalationReason.NO_EQUIPPED_VEHICLE, f"no free vehicle carries {', '.join(sorted(need)) or 'any equipment'}"
    return EscalationReason.ALL_SURVEYORS_BUSY, "every free suitable surveyor was needed for more urgent claims"


def assignment_for(p: PendingClaim, o: Option, now: datetime) -> SurveyorAssigned | SurveyorReassigned:
    c = p.claim
    task_id = derived_event_id("task", c.report_id, p.attempt)
    common = dict(task_id=task_id, report_id=c.report_id, region_id=c.region_id, zone=c.zone,
                  surveyor_id=o.surveyor_id, vehicle_id=o.vehicle_id, deadline_at=c.deadline_at,
                  estimated_arrival_at=o.eta, meets_deadline=o.eta <= c.deadline_at, occurred_at=now,
                  event_id=derived_event_id("assigned", c.report_id, p.attempt),
                  scene=Scene(address=c.address, lat=c.lat, lon=c.lon), contact=c.contact)
    if p.attempt > 1 and p.previous_task_id is not None:
        return SurveyorReassigned(previous_task_id=p.previous_task_id, reason=p.reassign_reason or "reassigned",
                                  **common)
    return SurveyorAssigned(reported_at=c.reported_at, **common)


def appointment_case(claim: ClaimRegistered, detail: str, now: datetime) -> DispatchEscalated:
    """A claim registered for the dispatcher to agree a survey time (a loss reported long after it happened):
    never raced against the arrival limit, so never planned."""
    reason = EscalationReason.APPOINTMENT_CASE
    return DispatchEscalated(
        event_id=derived_event_id("escalated", claim.report_id, 1, reason.value), occurred_at=now,
        report_id=claim.report_id, region_id=claim.region_id, zone=claim.zone, reason=reason, detail=detail,
        options=_OPTIONS[reason], reported_at=claim.reported_at, deadline_at=claim.deadline_at)


def possible_duplicate_case(claim: ClaimRegistered, other: str, score: float, evidence: tuple[str, ...],
                            now: datetime) -> DispatchEscalated:
    """A claim that may be another report of ``other``'s accident: dispatched as usual, and on the desk for
    the dispatcher to merge or keep apart."""
    reason = EscalationReason.POSSIBLE_DUPLICATE
    return DispatchEscalated(
        event_id=derived_event_id("escalated", claim.report_id, 1, reason.value), occurred_at=now,
        report_id=claim.report_id, region_id=claim.region_id, zone=claim.zone, reason=reason,
        detail=f"may be another report of {other}'s accident (score {score:.2f}: {', '.join(evidence)})",
        options=_OPTIONS[reason], reported_at=claim.reported_at, deadline_at=claim.deadline_at)


def _raise(plan: RegionPlan, p: PendingClaim, reason: EscalationReason, detail: str, now: datetime,
           proposed: datetime | None = None) -> None:
    if reason.value in p.raised:
        return
    c = p.claim
    plan.escalated.append(DispatchEscalated(
        event_id=derived_event_id("escalated", c.report_id, p.attempt, reason.value), occurred_at=now,
        report_id=c.report_id, region_id=c.region_id, zone=c.zone, reason=reason, detail=detail,
        options=_OPTIONS[reason], reported_at=c.reported_at, deadline_at=c.deadline_at,
        proposed_arrival_at=proposed))
