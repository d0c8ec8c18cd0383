"""Dispatch's handlers: a batch of loss reports, a report from a surveyor's app, and the re-plan of a
region that every one of them (and the watchdog) ends with.

Each region is decided under its advisory lock (one region is decided by one partition at a time
already; the lock keeps that true across a rebalance, and for the watchdog, which runs on every worker).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from models.callbacks.eligibility import survey_trigger
from models.contract.business_events import CustomerContact
from models.contract.dispatch_events import DuplicateReportLinked, EscalationReason, SceneContact, SurveyorSentToBase
from models.contract.event import derived_event_id
from models.dispatch.duplicates import DuplicateRules, Fingerprint, Match, fingerprint_of, look_ups, recognise
from models.dispatch.coverage import RECENT_SCENES, DemandPoint, RecentScenes
from models.dispatch.fleet import SurveyorRecord, SurveyorState, VehicleState, free_on_duty
from models.dispatch.return_to_base import trip_back
from models.dispatch.roster import Surveyor
from models.dispatch.rules import DispatchRules, rules_for
from models.dispatch.intake import Accepted
from models.dispatch.neighbours import lend, wants_help
from models.dispatch.planner import PendingClaim, RegionPlan, appointment_case, possible_duplicate_case
from models.contract.surveyor_events import PositionReported, ShiftEnded, ShiftStarted, SurveyorStatus
from models.dispatch.tasks import TaskStatus, TaskStep, arrival_verdict, duty_until, step_after, task_due
from models.dispatch.travel import StraightLineTravel, TravelTimeModel
from models.dispatch.zones import Region
from streams.codec import Outgoing, encode
from streams.services import callbacks
from streams.services.unit_of_work import UnitOfWork
from streams.store import desk_store, dispatch_store
from models.dispatch.region_state import RegionRows, RegionStateCache
from streams.store.roster_store import parsed, region_rows

Planner = Callable[[list[PendingClaim], list[SurveyorState], list[VehicleState], datetime, DispatchRules,
                    list[DemandPoint]], RegionPlan]


@dataclass
class Dispatched:
    """What a decision changed: records to publish and the plan behind them (for metrics and logs)."""

    outputs: list[Outgoing] = field(default_factory=list)
    plan: RegionPlan | None = None
    #: The region's rows after this decision, at the version it committed (None: not known); for the
    #: worker's region cache, once the transaction has committed.
    rows_after: RegionRows | None = None
    #: The plans made after ``plan`` in the same unit of work: the claims given up by surveyors it turned round.
    then: list[RegionPlan] = field(default_factory=list)

    @property
    def plans(self) -> list[RegionPlan]:
        return [p for p in (self.plan, *self.then) if p is not None]

    def followed_by(self, later: "Dispatched") -> "Dispatched":
        """This decision and a later one of the same unit of work, as one (the region's rows after both are the
        later one's)."""
        return Dispatched(self.outputs + later.outputs, self.plan or later.plan, later.rows_after,
                          self.then + ([later.plan] if self.plan and later.plan else []) + later.then)


_BASE_TRAVEL = StraightLineTravel()


@dataclass(frozen=True)
class Dispatcher:
    """What every dispatch decision is made with: the rules, the planner and the worker's region cache."""

    rules: DispatchRules
    planner: Planner
    cache: RegionStateCache | None = None
    region_rules: "RegionRules" = field(default_factory=lambda: RegionRules())
    scenes: RecentScenes = field(default_factory=RecentScenes)
    #: Travel estimates for trips into a region (for lending neighbours' surveyors): the worker's base model
    #: corrected by what it has learned from real trips there (``streams.runtime.Runtime.travel_in``).
    travel_in: Callable[[str], TravelTimeModel] = field(default=lambda region_id: _BASE_TRAVEL)


class RegionRules:
    """``rules_for`` each stored region definition, worked out once per definition (plans read them for
    every batch); forgotten when the base rules change."""

    def __init__(self) -> None:
        self._base: DispatchRules | None = None
        self._by_definition: dict[str | None, DispatchRules] = {}

    def of(self, rules: DispatchRules, definition: str | None) -> DispatchRules:
        if rules is not self._base or len(self._by_definition) > 10_000:
            self._base, self._by_definition = rules, {}
        hit = self._by_definition.get(definition)
        if hit is None:
            hit = self._by_definition[definition] = rules_for(rules, parsed(Region, definition) if definition else None)
        return hit


@dataclass
class Intake:
    """A batch of reports applied: the plans, the claims new and the reports known (records: ``uow.outputs``)."""

    plans: list[RegionPlan] = field(default_factory=list)
    new: list[Accepted] = field(default_factory=list)
    duplicates: list[Accepted] = field(default_factory=list)  # a report id already known, under a new event id
    #: Each region's rows after this batch, for the region cache once committed (never before: a rollback
    #: must leave the cache as it was).
    planned: dict[str, Dispatched] = field(default_factory=dict)
    #: New reports recognised as another report of an accident with a claim (linked, not dispatched) and
    #: those that may be (dispatched, flagged on the desk).
    linked: dict[str, "Match"] = field(default_factory=dict)
    flagged: list[str] = field(default_factory=list)
    on_arrival: list = field(default_factory=list)  # (report, escalation) raised on arrival


async def register_reports(uow: UnitOfWork, batch: list[Accepted], now: datetime, day_start: datetime,
                           d: Dispatcher) -> Intake:
    """Store a batch of accepted reports as claims and decide them.

    Each region with new claims is planned once, its decisions stored with the claims, the consumed event
    ids and the records to publish. A redelivered event decides nothing again and republishes what it
    produced and never published; a report id seen before (or twice in the batch) produces nothing.
    An appointment case (an old loss) is registered and escalated, not planned.
    """
    done = Intake()
    fresh_ids = await uow.first_times([a.report.event_id for a in batch])
    fresh: dict[uuid.UUID, Accepted] = {}
    for a in batch:
        if a.report.event_id in fresh_ids:
            fresh.setdefault(a.report.event_id, a)  # an event twice in the batch is handled once
    if not fresh:
        return done
    prints = {a.report.report_id: fingerprint_of(a.report) for a in fresh.values()}
    # Looked up before the batch is stored: what comes back is only what was there before it.
    known = await dispatch_store.duplicate_candidates(uow.conn, look_ups(prints.values(), d.rules.duplicates))
    stored = await dispatch_store.store_claims(uow.conn, list(fresh.values()), now, prints)
    for a in fresh.values():
        if a.report.report_id in stored:
            stored.discard(a.report.report_id)  # the first of a repeated report id is the one stored
            done.new.append(a)
        else:
            done.duplicates.append(a)
    done.linked, flagged = await _recognise_duplicates(uow.conn, known, done.new, prints, d.rules.duplicates)
    by_region: dict[str, list[Accepted]] = {}
    appointments: list[Accepted] = []
    for a in done.new:
        if a.report.report_id not in done.linked:
            (appointments if a.appointment else by_region.setdefault(a.claim.region_id, [])).append(a)
    if appointments:
        _escalated_on_arrival(done, [(a, appointment_case(a.claim, a.appointment, now)) for a in appointments])
    if flagged:
        _escalated_on_arrival(done, [
            (a, possible_duplicate_case(a.claim, m.other, m.score, tuple(e.value for e in m.evidence), now))
            for a in done.new if (m := flagged.get(a.report.report_id))])
        done.flagged = list(flagged)
    if done.on_arrival:
        raised = await dispatch_store.store_escalations(uow.conn, [c for _, c in done.on_arrival],
                                                        {c.report_id: 1 for _, c in done.on_arrival})
        for a, c in done.on_arrival:
            if c.event_id in raised:
                uow.queue(a.report.event_id, [encode("dispatch.assignments", c)])
    if by_region:
        await _plan_new(uow, done, by_region, now, day_start, d)
    if done.linked:
        await _announce_links(uow, done, now)
    return done


def _escalated_on_arrival(done: "Intake", cases: list) -> None:
    """Escalations a report raises as it arrives (an appointment case, a possible duplicate), stored and
    published with the batch."""
    done.on_arrival += cases
    done.plans.append(RegionPlan(escalated=[c for _, c in cases]))


async def _plan_new(uow: UnitOfWork, done: "Intake", by_region: dict[str, list[Accepted]], now: datetime,
                    day_start: datetime, d: "Dispatcher") -> None:
    # The claims just stored are planned as they are in hand (pending since now, a first attempt):
    # reading them back would cost the batch's longest query.
    arrived = [PendingClaim.arrived(a.claim, now) for new in by_region.values() for a in new]
    done.planned = await replan_regions(uow, {rid: [a.report.report_id for a in new] for rid, new in by_region.items()},
                                        now, day_start, d, arrived)
    for region_id, result in done.planned.items():
        new = by_region[region_id]
        # Each record is kept with the report it is about, if that report came in this batch (a
        # redelivery of it republishes it), else with the region's first new report.
        source = {a.report.report_id: a.report.event_id for a in new}
        for o in result.outputs:
            uow.queue(source.get(o.key.decode(), new[0].report.event_id), [o])  # keyed by report id
        done.plans += result.plans


async def _recognise_duplicates(conn, known: list[tuple[Fingerprint, str | None]], new: list[Accepted],
                                prints: dict[str, Fingerprint], rules: DuplicateRules
                                ) -> tuple[dict[str, Match], dict[str, Match]]:
    """Which of the claims just stored are other reports of an accident that has a claim (linked, to the
    first claim of it) or may be (flagged): compared with the ``known`` claims near them and with the
    earlier ones of the batch."""
    if not new:
        return {}, {}
    linked, flagged = recognise(known, [prints[a.report.report_id] for a in new], rules)
    await dispatch_store.link_duplicates(conn, [(r, m.other, m.score, [e.value for e in m.evidence])
                                                for r, m in linked.items()], "intake")
    await dispatch_store.flag_duplicates(conn, [(r, m.other, m.score, [e.value for e in m.evidence])
                                                for r, m in flagged.items()])
    return linked, flagged


async def _announce_links(uow: UnitOfWork, done: "Intake", now: datetime) -> None:
    """A linked report's event, naming the claim's live task (planned in this batch or before) so that its
    surveyor hears of the second party."""
    by_id = {a.report.report_id: a for a in done.new}
    tasks = await dispatch_store.live_tasks_of(uow.conn, sorted({m.other for m in done.linked.values()}))
    for rid, m in done.linked.items():
        a, task = by_id[rid], tasks.get(m.other)
        event = DuplicateReportLinked(
            event_id=derived_event_id("duplicate-linked", rid, m.other), occurred_at=now, report_id=rid,
            linked_to=m.other, region_id=a.claim.region_id, score=m.score, evidence=tuple(e.value for e in m.evidence),
            by="intake", task_id=task["task_id"] if task else None, surveyor_id=task["surveyor_id"] if task else None,
            contact=SceneContact(name=a.report.reporter.name, phone=a.report.reporter.phone,
                                 relation=a.report.reporter.relation))
        uow.queue(a.report.event_id, [encode("dispatch.assignments", event)])


def keep_committed(cache: RegionStateCache | None, planned: dict[str, Dispatched]) -> None:
    """Once the transaction of ``replan_regions`` has committed, keep each region's rows after its
    decisions in ``cache``."""
    if cache is not None:
        for region_id, result in planned.items():
            if result.rows_after is not None:
                cache.put(region_id, result.rows_after)


async def replan_region(uow: UnitOfWork, region_id: str, now: datetime, day_start: datetime,
                        d: Dispatcher) -> Dispatched:
    """``replan_regions`` for one region, everything waiting there; the region cache is not used (the
    callers have written to the region before)."""
    return (await replan_regions(uow, {region_id: None}, now, day_start, replace(d, cache=None)))[region_id]


async def replan_regions(uow: UnitOfWork, regions: dict[str, list[str] | None], now: datetime, day_start: datetime,
                         d: Dispatcher, arrived: list[PendingClaim] = ()) -> dict[str, Dispatched]:
    """Decide the pending claims of each region (``_plan_regions``); a claim given up by a surveyor turned round
    is then planned again in the same unit of work, where its region is one of these (whose locks are held):
    its customer hears of a new time at once, and no watchdog round has to take the region's lock for it. Each
    turn is for a claim of a higher class than the one given up, so the rounds end."""
    results = await _plan_regions(uow, regions, now, day_start, d, arrived)
    given_up = _given_up(results.values(), regions)
    while given_up:
        # Not the worker's cache (this transaction has written to what region state reads), but one of the rows
        # its own last plans left: at the version it reads under the regions' locks, its own writes included (a
        # region without them, after a loan say, is read from the database).
        own = RegionStateCache()
        keep_committed(own, {rid: results[rid] for rid in given_up})
        again = await _plan_regions(uow, given_up, now, day_start, replace(d, cache=own))
        for rid, result in again.items():
            results[rid] = results[rid].followed_by(result)
        given_up = _given_up(again.values(), regions)
    return results


def _given_up(results, regions) -> dict[str, list[str]]:
    """The claims the plans of ``results`` took surveyors from, by region, among ``regions``."""
    given_up: dict[str, list[str]] = {}
    for result in results:
        for w in (result.plan.withdrawn if result.plan is not None else ()):
            if w.region_id in regions:  # the task's region is its claim's
                given_up.setdefault(w.region_id, []).append(w.report_id)
    return given_up


async def _plan_regions(uow: UnitOfWork, regions: dict[str, list[str] | None], now: datetime, day_start: datetime,
                        d: Dispatcher, arrived: list[PendingClaim] = ()) -> dict[str, Dispatched]:
    """Decide the pending claims of each region together and store the decisions (the records are the
    caller's to queue), for several regions in a handful of statements.

    ``regions`` maps a region to the claims just arrived there (a list), or to None for a full re-plan.
    Planned in a region: those claims and, for a full re-plan or when some surveyor there is free, the
    waiting claims with the earliest deadlines (up to ``MAX_PENDING_PER_PLAN``). With every surveyor busy
    a waiting claim's decision can only change with time, which the watchdog covers (review times):
    it is not re-planned for each new claim of a storm, which keeps a backlog's cost per claim flat.

    ``d.cache`` (a worker's region cache) is only for a transaction that has not written to surveyors,
    vehicles or survey tasks before this call: the versions it reads must be committed ones. Each
    result then carries the region's rows after its decisions (``rows_after``) for the caller to keep
    once the transaction has committed.

    ``arrived``: claims among ``regions``' lists that this transaction has just stored, as stored (not
    read back).
    """
    conn, rules = uow.conn, d.rules
    ids = sorted(regions)
    in_hand = {p.claim.report_id for p in arrived}
    stored = await dispatch_store.lock_regions(conn, ids, list(in_hand))
    quiet = {r["region_id"] for r in stored if not r["waiting"]}
    region_rules = {rid: d.region_rules.of(rules, None) for rid in ids}
    region_rules.update({r["region_id"]: d.region_rules.of(rules, r["definition"]) for r in stored})
    versions = {r["region_id"]: r["state_version"] for r in stored}
    state_rows = await region_rows(conn, ids, day_start, versions, d.cache)
    states = {rid: state_rows[rid].states(now, rules) for rid in ids}
    open_regions = [rid for rid in ids if rid not in quiet
                    and (regions[rid] is None or free_on_duty(states[rid][0], now, rules))]
    named = [r for new in regions.values() for r in (new or []) if r not in in_hand]
    pending_of: dict[str, list[PendingClaim]] = {rid: [] for rid in ids}
    waiting = await dispatch_store.pending_claims(conn, named, open_regions, in_hand) if named or open_regions else []
    for p in [*arrived, *waiting]:
        pending_of[p.claim.region_id].append(p)
    results = {rid: Dispatched() for rid in ids}
    # Recent scenes (cover among free surveyors, the region's load) matter only where someone is free to send.
    covered = [rid for rid in ids if pending_of[rid] and any(not s.busy for s in states[rid][0])]
    await _read_scenes(conn, d, covered, now)
    decided: list[tuple[list[PendingClaim], RegionPlan, DispatchRules]] = []
    for rid in ids:
        if pending_of[rid]:
            surveyors, vehicles = states[rid]
            plan = d.planner(pending_of[rid], surveyors, vehicles, now, region_rules[rid],
                             d.scenes.of(rid) if rid in covered else [])
            decided.append((pending_of[rid], plan, region_rules[rid]))
            results[rid] = Dispatched([], plan)
    if not decided:
        return results
    lenders = await _lend(conn, decided, stored, states, state_rows, day_start, now, d)
    # Encoded once the neighbours have lent: a loan replaces the home plan's assignment of that claim.
    for pending, plan, _ in decided:
        results[pending[0].claim.region_id].outputs = [encode("dispatch.assignments", a) for a in plan.assigned]
    # A surveyor turned round to a claim of a higher class: the task given up first (one live task per surveyor),
    # its claim back to dispatch (planned again by ``replan_regions`` in this unit of work where its region's lock
    # is held, else at the watchdog's next round: its review time is now); the new task sets out from where they
    # were estimated to be.
    for pending, plan, _ in decided:
        results[pending[0].claim.region_id].outputs[:0] = [encode("dispatch.assignments", w) for w in plan.withdrawn]
        plan.reviews.update((w.report_id, now) for w in plan.withdrawn)
    await dispatch_store.divert_tasks(conn, [w for _, plan, _ in decided for w in plan.withdrawn], now)
    attempt_of = {p.claim.report_id: p.attempt for pending, _, _ in decided for p in pending}
    home = {a.task_id: plan.loans[a.report_id] for _, plan, _ in decided for a in plan.assigned
            if a.report_id in plan.loans}
    set_out = {sid: at for _, plan, _ in decided for sid, at in plan.turned_at.items()}
    await dispatch_store.insert_tasks(
        conn, [(a, attempt_of[a.report_id], task_due(now, r)) for _, plan, r in decided for a in plan.assigned], now,
        home, set_out)
    # A claim that had escalations and now has a surveyor: the system solved them (a deadline it will miss
    # stays open: the dispatcher may still agree a time). Only claims that can have any cost a statement.
    escalated_before = {p.claim.report_id for pending, _, _ in decided for p in pending if p.raised or p.attempt > 1}
    solved = [a.report_id for _, plan, _ in decided for a in plan.assigned if a.report_id in escalated_before]
    if solved:
        await desk_store.close_escalations(conn, solved, "superseded", "surveyor_assigned", now,
                                           keep_reasons=(EscalationReason.DEADLINE_UNREACHABLE.value,
                                                         EscalationReason.POSSIBLE_DUPLICATE.value))
    # A claim this transaction has just stored has no review time yet: one left without is not written, and
    # a batch whose claims were all assigned or escalated at once (the usual case) costs no statement.
    await dispatch_store.set_reviews(conn, [(report_id, at) for _, plan, _ in decided
                                            for report_id, at in plan.reviews.items()
                                            if at is not None or report_id not in in_hand])
    for rid in (versions if d.cache is not None else ()):
        if rid in lenders or (results[rid].plan is not None and results[rid].plan.loans):
            continue  # a loan changed rows of two regions: read again next time
        # Inserting the tasks bumped the version of each region that got some, once (one statement), and
        # cancelling the tasks given up by surveyors turned round once more (one statement): the only writes here
        # to what region state reads, so the rows after them are at the version read under the lock plus those
        # bumps. Had another transaction bumped it too, the region's stored version is higher than
        # that whatever the order of the commits (versions only grow, and only by their writes): the rows
        # kept at this version are never current, and the region is read again the next time.
        plan = results[rid].plan
        assigned = plan.assigned if plan is not None else []
        turned = plan.turned_at if plan is not None else {}
        scenes = {p.claim.report_id: (p.claim.lat, p.claim.lon) for p in pending_of[rid]}
        kinds = {p.claim.report_id: p.claim.loss_type for p in pending_of[rid]}
        priorities = {p.claim.report_id: p.claim.priority for p in pending_of[rid]}
        sent = {a.surveyor_id for a in assigned}
        back = any(r.returning is not None and r.surveyor.surveyor_id in sent for r in state_rows[rid].surveyors)
        # (and ending drives back to base, one statement more where a surveyor sent was on one)
        bumps = (1 if assigned else 0) + (1 if plan is not None and plan.withdrawn else 0) + (1 if back else 0)
        results[rid].rows_after = state_rows[rid].assigned(versions[rid] + bumps, assigned, scenes, kinds, priorities,
                                                           turned)
    escalated = [e for _, plan, _ in decided for e in plan.escalated]
    if escalated:
        raised = await dispatch_store.store_escalations(conn, escalated, attempt_of)
        for e in escalated:
            if e.event_id in raised:
                results[e.region_id].outputs.append(encode("dispatch.assignments", e))
    # A claim sent someone who will be late keeps, with its task, the latest time the customer was told: told now,
    # or earlier while it waited (for a busy surveyor, or with no one), when no new escalation is raised at dispatch.
    await dispatch_store.hold_to_promises(conn, sorted({a.report_id for _, plan, _ in decided for a in plan.assigned
                                                        if not a.meets_deadline}))
    return results


async def _read_scenes(conn, d: Dispatcher, region_ids: list[str], now: datetime) -> None:
    """The worker's copy of these regions' recent scenes, read again where older than it keeps them."""
    stale = d.scenes.stale(region_ids, now)
    if stale:
        for rid, points in (await dispatch_store.recent_scenes(conn, stale, RECENT_SCENES)).items():
            d.scenes.put(rid, points, now)


async def _lend(conn, decided: list[tuple[list[PendingClaim], RegionPlan, DispatchRules]], stored, states,
                state_rows, day_start: datetime, now: datetime, d: Dispatcher) -> set[str]:
    """Offer each region's unmet claims, and those it meets by turning a surveyor round, its neighbours' spare
    surveyors (``models.dispatch.neighbours``), changing the plans; returns the regions that lent. Neighbours already decided in this transaction lend
    what their own plans left free; others are taken only if their lock is free at once."""
    definitions = {r["region_id"]: r["definition"] for r in stored}
    wanting = []
    for pending, plan, rules in decided:
        region_id = pending[0].claim.region_id
        near = parsed(Region, definitions[region_id]).neighbours if definitions.get(region_id) else ()
        if near and wants_help(plan):
            wanting.append((pending, plan, rules, near))
    if not wanting:
        return set()
    extra = sorted({n for *_, near in wanting for n in near} - set(states))
    if extra:
        got = await dispatch_store.try_lock_regions(conn, extra)
        rows = await region_rows(conn, [r["region_id"] for r in got], day_start,
                                 {r["region_id"]: r["state_version"] for r in got})
        states = {**states, **{rid: rows[rid].states(now, d.rules) for rid in rows}}
    # Where each neighbour's own claims come from: a surveyor who alone covers one of them is not lent.
    await _read_scenes(conn, d, sorted({n for *_, near in wanting for n in near if n in states}), now)
    # Whom every plan so far sends: not free to lend.
    sent = {a.surveyor_id for _, plan, _ in decided for a in plan.assigned}
    driven = {a.vehicle_id for _, plan, _ in decided for a in plan.assigned}
    lent: set[str] = set()
    for pending, plan, rules, near in wanting:
        offer = {n: ([replace(s, busy=True) if s.surveyor_id in sent else s for s in states[n][0]],
                     [replace(v, busy=True) if v.vehicle.vehicle_id in driven else v for v in states[n][1]])
                 for n in near if n in states}
        for loan in lend(pending, plan, offer, rules, d.travel_in(pending[0].claim.region_id), now,
                         {n: d.scenes.of(n) for n in offer}):
            sent.add(loan.surveyor_id)
            driven.add(loan.vehicle_id)
            lent.add(loan.region_id)
    return lent


async def _back_to_base(conn, event: SurveyorStatus, report_id: str, now: datetime, d: Dispatcher) -> list[Outgoing]:
    """A surveyor whose survey is done and whom the region's plan gave nothing next, on duty, drives back to
    base with the vehicle (``models.dispatch.return_to_base``): stored, and the app told."""
    free = await dispatch_store.free_surveyor(conn, event.surveyor_id)
    if free is None:
        return []  # the plan just gave them a next claim
    record = SurveyorRecord(parsed(Surveyor, free["definition"]), free["lat"], free["lon"], busy=False,
                            duty=free["duty"], duty_until=free["duty_until"])
    trip = trip_back(record, free["vehicle_id"], now, d.rules, d.travel_in(free["region_id"]))
    if trip is None:
        return []
    await dispatch_store.set_return(conn, event.surveyor_id, trip)
    return [encode("dispatch.assignments", SurveyorSentToBase(
        event_id=derived_event_id(event.event_id, "sent-to-base"), occurred_at=now, report_id=report_id,
        region_id=free["region_id"], surveyor_id=event.surveyor_id, vehicle_id=trip.vehicle_id, lat=trip.to_lat,
        lon=trip.to_lon, expected_at=trip.there_at))]


class UnknownTask(LookupError):
    """A task event names a task this surveyor does not hold."""


@dataclass
class Progress(Dispatched):
    """A surveyor's report, applied: the plan it led to, and the times dispatch is measured by."""

    zone: str | None = None
    callback: "callbacks.CallbackDecision | None" = None  # the survey callback, when a survey was completed
    contact_after_s: float | None = None   # dispatch → customer contacted
    scene_after_s: float | None = None     # report → arrival
    on_time: bool | None = None
    on_promise: bool = False                # late on the limit, but by the arrival the plan promised
    estimate_error_s: float | None = None   # arrival − the arrival estimated at dispatch
    sent_to_base: bool = False              # a survey done with nothing next: the surveyor drives back to base


async def apply_surveyor_status(uow: UnitOfWork, event: SurveyorStatus, now: datetime, day_start: datetime,
                                d: Dispatcher, callback_context: "callbacks.CallbackContext") -> Progress:
    """Apply a report from a surveyor's app. A decline sends the claim back to dispatch; a finished survey
    moves surveyor and vehicle to the scene and calls for the survey callback; a shift change, a decline or
    a finished survey re-plans the region. A redelivered report changes nothing (its records: ``uow.outputs``)."""
    if not await uow.first_time(event.event_id):
        return Progress()
    progress = await _apply(uow, event, now, day_start, d, callback_context)
    uow.queue(event.event_id, progress.outputs)
    return progress


async def _apply(uow: UnitOfWork, event: SurveyorStatus, now: datetime, day_start: datetime, d: Dispatcher,
                 callback_context: "callbacks.CallbackContext") -> Progress:
    conn = uow.conn
    if isinstance(event, PositionReported):
        trip = await dispatch_store.set_position(conn, event.surveyor_id, event.lat, event.lon, event.occurred_at)
        if trip is not None and (after := trip.after_position(event.lat, event.lon, event.occurred_at)) is not trip:
            await dispatch_store.set_return(conn, event.surveyor_id, after)  # on the way back to base: from here on
            if trip.vehicle_id is not None:
                await dispatch_store.move_vehicle(conn, trip.vehicle_id, event.lat, event.lon)
        return Progress()
    if isinstance(event, (ShiftStarted, ShiftEnded)):
        region = await dispatch_store.set_duty(conn, event.surveyor_id, isinstance(event, ShiftStarted),
                                               duty_until(event.occurred_at), getattr(event, "lat", None),
                                               getattr(event, "lon", None))
        if region is None:
            raise UnknownTask(f"surveyor {event.surveyor_id} is not on the roster")
        replanned = await replan_region(uow, region, now, day_start, d)
        return Progress(replanned.outputs, replanned.plan, then=replanned.then)

    task = await dispatch_store.task_for_update(conn, event.task_id, event.surveyor_id)
    if task is None:
        raise UnknownTask(f"task {event.task_id} is not held by surveyor {event.surveyor_id}")
    progress = Progress(zone=task["zone"])
    if await dispatch_store.stamp_first(conn, event.task_id, event.type, event.occurred_at):
        if event.type == "customer_contacted":
            progress.contact_after_s = (event.occurred_at - task["assigned_at"]).total_seconds()
        elif event.type == "arrived_at_scene":
            progress.scene_after_s = (event.occurred_at - task["reported_at"]).total_seconds()
            progress.on_time, progress.on_promise = arrival_verdict(event.occurred_at, task["deadline_at"],
                                                                    task["promised_arrival_at"])
            if task["estimated_arrival_at"] is not None:
                progress.estimate_error_s = (event.occurred_at - task["estimated_arrival_at"]).total_seconds()
    step: TaskStep = step_after(task["status"], event.type)
    if step.status is None:
        return progress
    await dispatch_store.set_task_status(conn, event.task_id, step.status)
    if step.status is TaskStatus.ARRIVED:  # whatever was escalated about the claim is over
        await desk_store.close_escalations(conn, [task["report_id"]], "superseded", "surveyor_arrived", now,
                                           keep_reasons=(EscalationReason.POSSIBLE_DUPLICATE.value,))
    if step.at_scene:
        await dispatch_store.move_to_scene(conn, event.task_id)
    if step.back_to_dispatch:
        await dispatch_store.send_back_to_dispatch(conn, [(event.task_id, task["report_id"])], step.back_to_dispatch,
                                                   now)
    if step.frees_surveyor:
        replanned = await replan_region(uow, task["region_id"], now, day_start, d)
        progress.outputs, progress.plan, progress.then = replanned.outputs, replanned.plan, replanned.then
    if step.at_scene:
        back = await _back_to_base(conn, event, task["report_id"], now, d)
        progress.outputs, progress.sent_to_base = progress.outputs + back, bool(back)
    if step.calls_back:
        report = await dispatch_store.loss_report(conn, task["report_id"])
        contact = CustomerContact(customer_id=report.policy.number, name=report.reporter.name,
                                  phone=report.reporter.phone)
        trigger = survey_trigger(event.event_id, event.occurred_at, contact, report.report_id)
        progress.callback = await callbacks.decide(uow, trigger, now, callback_context)
        progress.outputs = progress.outputs + progress.callback.outputs
    return progress
