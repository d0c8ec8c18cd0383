"""Dispatch in PostgreSQL: pending claims, survey tasks, escalations, surveyor progress.

Every change is one transaction with its inbox row and its outbox records, under
the region's advisory lock when it decides (one region is decided by one
partition at a time already; the lock keeps that true across a rebalance, and
for the watchdog, which runs on every worker).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg

from models.candidates import SurveyorState, VehicleState, free_on_duty
from models.dispatch_events import ClaimRegistered, SceneContact, SurveyorAssigned, SurveyorReassigned
from models.dispatch_rules import DispatchRules, rules_for
from models.events import derived_event_id
from models.intake import Accepted
from models.region_plan import PendingClaim, RegionPlan, appointment_case
from models.reports import LossReported
from models.surveyor_events import PositionReported, ShiftEnded, ShiftStarted, SurveyCompleted, SurveyorStatus
from models.task_progress import next_status
from models.zones import Region
from streams.codec import Outgoing, encode
from streams.store.claims_store import register_claims
from streams.store.outbox import add_outbox, add_outputs, claim_event, outputs_of, outputs_of_many
from streams.store.roster_store import RegionRows, RegionStateCache, parsed, region_rows

Planner = Callable[[list[PendingClaim], list[SurveyorState], list[VehicleState], datetime, DispatchRules], RegionPlan]

#: An explicit shift start or end from the app holds this long, then the roster window decides again.
DUTY_OVERRIDE = timedelta(hours=12)
MAX_PENDING_PER_PLAN = 500


@dataclass
class Dispatched:
    """What a decision changed: records to publish and the plan behind them (for metrics and logs)."""

    outputs: list[Outgoing] = field(default_factory=list)
    plan: RegionPlan | None = None
    #: The region's rows after this decision, at the version it committed (None: not known); for the
    #: worker's region cache, once the transaction has committed.
    rows_after: RegionRows | None = None


@dataclass
class Intake:
    """A batch of reports applied: records to publish, the plans, the claims new and the reports known."""

    outputs: list[Outgoing] = field(default_factory=list)
    plans: list[RegionPlan] = field(default_factory=list)
    new: list[Accepted] = field(default_factory=list)
    duplicates: list[Accepted] = field(default_factory=list)  # a report id already known, under a new event id
    #: Seconds the transaction's COMMIT took (None: nothing new was stored, or it did not commit).
    commit_seconds: float | None = None


async def register_and_dispatch(pool: asyncpg.Pool, batch: list[Accepted], now: datetime, day_start: datetime,
                                rules: DispatchRules, planner: Planner,
                                cache: RegionStateCache | None = None) -> Intake:
    """Store a batch of accepted reports as claims and decide them, in one transaction.

    Each region with new claims is planned once (``replan_regions``, under the region's advisory lock,
    taken in one order whatever the batch), its decisions stored with the claims, the consumed event
    ids and the records to publish. A redelivered event decides nothing again and republishes what it
    produced and never published; a report id seen before (or twice in the batch) produces nothing.
    With a ``cache``, regions' state comes from it where still current, and what this batch assigned is
    kept in it once committed.
    """
    done = Intake()
    planned: dict[str, Dispatched] = {}
    async with pool.acquire() as conn, conn.transaction():
        fresh_ids, stored = await register_claims(conn, "intake", batch, now)
        done.outputs = await outputs_of_many(conn, "intake",
                                             [a.report.event_id for a in batch if a.report.event_id not in fresh_ids])
        fresh: dict[uuid.UUID, Accepted] = {}
        for a in batch:
            if a.report.event_id in fresh_ids:
                fresh.setdefault(a.report.event_id, a)  # an event twice in the batch is handled once
        if not fresh:
            return done
        by_region: dict[str, list[Accepted]] = {}
        appointments: list[Accepted] = []
        for a in fresh.values():
            if a.report.report_id in stored:
                stored.discard(a.report.report_id)  # the first of a repeated report id is the one stored
                done.new.append(a)
                if a.appointment:
                    appointments.append(a)
                else:
                    by_region.setdefault(a.claim.region_id, []).append(a)
            else:
                done.duplicates.append(a)
        if appointments:
            cases = [(a, appointment_case(a.claim, a.appointment, now)) for a in appointments]
            raised = await _store_escalations(conn, [c for _, c in cases], {c.report_id: 1 for _, c in cases})
            rows = [(a.report.event_id, encode("dispatch.assignments", c)) for a, c in cases if c.event_id in raised]
            await add_outbox(conn, "intake", rows)
            done.outputs += [o for _, o in rows]
            done.plans.append(RegionPlan(escalated=[c for _, c in cases]))
        if not by_region:
            return done
        # The claims just stored are planned as they are in hand (pending since now, a first attempt):
        # reading them back would cost the batch's longest query.
        arrived = [PendingClaim.arrived(a.claim, now) for new in by_region.values() for a in new]
        planned = await replan_regions(conn, {rid: [a.report.report_id for a in new] for rid, new in by_region.items()},
                                       now, day_start, rules, planner, cache, arrived)
        rows = []
        for region_id, result in planned.items():
            new = by_region[region_id]
            # Each record is kept with the report it is about, if that report came in this batch (a
            # redelivery of it republishes it), else with the region's first new report.
            source = {a.report.report_id: a.report.event_id for a in new}
            rows += [(source.get(_report_of(o), new[0].report.event_id), o) for o in result.outputs]
            done.outputs += result.outputs
            if result.plan is not None:
                done.plans.append(result.plan)
        await add_outbox(conn, "intake", rows)
        committing = time.perf_counter()
    done.commit_seconds = time.perf_counter() - committing  # leaving the block commits: the WAL on disk
    keep_committed(cache, planned)
    return done


def keep_committed(cache: RegionStateCache | None, planned: dict[str, Dispatched]) -> None:
    """Once the transaction of ``replan_regions`` has committed (never before: a rollback must leave the
    cache as it was), keep each region's rows after its decisions in ``cache``."""
    if cache is not None:
        for region_id, result in planned.items():
            if result.rows_after is not None:
                cache.put(region_id, result.rows_after)


def _report_of(o: Outgoing) -> str:
    return o.key.decode()  # dispatch.assignments is keyed by report id


_PENDING_COLUMNS = """
        c.report_id, c.event_id, c.region_id, c.zone, c.loss_type, c.reported_at, c.deadline_at, c.pending_since,
        c.attempts, c.previous_task_id, c.reassign_reason,
        (c.report->'location'->>'lat')::float8 AS lat, (c.report->'location'->>'lon')::float8 AS lon,
        c.report->'location'->>'address' AS address, (c.report->'reporter')::text AS reporter,
        ARRAY(SELECT t.surveyor_id FROM survey_tasks t
               WHERE t.report_id = c.report_id AND t.status IN ('declined', 'cancelled')) AS exclude,
        ARRAY(SELECT e.reason FROM escalations e
               WHERE e.report_id = c.report_id AND e.attempt = c.attempts + 1) AS raised
"""


async def replan_region(conn: asyncpg.Connection, region_id: str, now: datetime, day_start: datetime,
                        rules: DispatchRules, planner: Planner, new_claims: list[str] | None = None) -> Dispatched:
    """``replan_regions`` for one region."""
    return (await replan_regions(conn, {region_id: new_claims}, now, day_start, rules, planner))[region_id]


async def replan_regions(conn: asyncpg.Connection, regions: dict[str, list[str] | None], now: datetime,
                         day_start: datetime, rules: DispatchRules, planner: Planner,
                         cache: RegionStateCache | None = None,
                         arrived: list[PendingClaim] = ()) -> dict[str, Dispatched]:
    """Decide the pending claims of each region together and store the decisions (inside the caller's
    transaction), for several regions in a handful of statements.

    ``regions`` maps a region to the claims just arrived there (a list), or to None for a full re-plan.
    Planned in a region: those claims and, for a full re-plan or when some surveyor there is free, the
    waiting claims with the earliest deadlines (up to ``MAX_PENDING_PER_PLAN``). With every surveyor busy
    a waiting claim's decision can only change with time, which the watchdog covers (review times):
    it is not re-planned for each new claim of a storm, which keeps a backlog's cost per claim flat.
    The regions' advisory locks are taken first, in one order whatever the caller.

    ``cache`` (a worker's region cache) is only for a transaction that has not written to surveyors,
    vehicles or survey tasks before this call: the versions it reads must be committed ones. Each
    result then carries the region's rows after its decisions (``rows_after``) for the caller to keep
    once the transaction has committed.

    ``arrived``: claims among ``regions``' lists that this transaction has just stored, as stored (not
    read back).
    """
    ids = sorted(regions)
    in_hand = {p.claim.report_id for p in arrived}
    # The regions' locks, then each region as it is now, with whether any claim besides those in hand waits
    # there: most often none (a surveyor was free for each claim so far), and then the waiting claims need no
    # reading. One call (migrations 008, 009): two round trips fewer in most batches than lock, read, waiting claims.
    stored = await conn.fetch("SELECT * FROM lock_regions($1::text[], $2::text[])", ids, list(in_hand))
    quiet = {r["region_id"] for r in stored if not r["waiting"]}
    region_rules = {rid: _rules_in(rules, None) for rid in ids}
    region_rules.update({r["region_id"]: _rules_in(rules, r["definition"]) for r in stored})
    versions = {r["region_id"]: r["state_version"] for r in stored}
    state_rows = await region_rows(conn, ids, day_start, versions, cache)
    states = {rid: state_rows[rid].states(now, rules) for rid in ids}
    open_regions = [rid for rid in ids if rid not in quiet
                    and (regions[rid] is None or free_on_duty(states[rid][0], now, rules))]
    named = [r for new in regions.values() for r in (new or []) if r not in in_hand]
    pending_of: dict[str, list[PendingClaim]] = {rid: [] for rid in ids}
    for p in [*arrived, *(await pending_claims(conn, named, open_regions, in_hand) if named or open_regions else [])]:
        pending_of[p.claim.region_id].append(p)
    results = {rid: Dispatched() for rid in ids}
    decided: list[tuple[list[PendingClaim], RegionPlan, DispatchRules]] = []
    for rid in ids:
        if pending_of[rid]:
            surveyors, vehicles = states[rid]
            plan = planner(pending_of[rid], surveyors, vehicles, now, region_rules[rid])
            decided.append((pending_of[rid], plan, region_rules[rid]))
            results[rid] = Dispatched([encode("dispatch.assignments", a) for a in plan.assigned], plan)
    if not decided:
        return results
    attempt_of = {p.claim.report_id: p.attempt for pending, _, _ in decided for p in pending}
    await _insert_tasks(conn, [(a, r) for _, plan, r in decided for a in plan.assigned], attempt_of, now)
    await _set_reviews(conn, decided, in_hand)
    for rid in (versions if cache is not None else ()):
        # Inserting the tasks bumped the version of each region that got some, once (one statement, the only
        # write here to what region state reads), so the rows after it are at the version read under the
        # lock plus one. Had another transaction bumped it too, the region's stored version is higher than
        # that whatever the order of the commits (versions only grow, and only by their writes): the rows
        # kept at this version are never current, and the region is read again the next time.
        assigned = results[rid].plan.assigned if results[rid].plan is not None else []
        scenes = {p.claim.report_id: (p.claim.lat, p.claim.lon) for p in pending_of[rid]}
        results[rid].rows_after = state_rows[rid].assigned(versions[rid] + (1 if assigned else 0), assigned, scenes)
    escalated = [e for _, plan, _ in decided for e in plan.escalated]
    if escalated:
        raised = await _store_escalations(conn, escalated, attempt_of)
        for e in escalated:
            if e.event_id in raised:
                results[e.region_id].outputs.append(encode("dispatch.assignments", e))
    return results


async def _store_escalations(conn: asyncpg.Connection, escalated: list, attempt_of: dict[str, int]) -> set:
    """Store escalations (each once); returns the event ids stored now, the ones to publish."""
    return {r["event_id"] for r in await conn.fetch(
        "INSERT INTO escalations (event_id, report_id, attempt, region_id, zone, reason, detail, created_at)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[],"
        " $8::timestamptz[]) ON CONFLICT DO NOTHING RETURNING event_id",
        [e.event_id for e in escalated], [e.report_id for e in escalated],
        [attempt_of[e.report_id] for e in escalated], [e.region_id for e in escalated],
        [e.zone.value for e in escalated], [e.reason.value for e in escalated], [e.detail for e in escalated],
        [e.occurred_at for e in escalated],
    )}


async def pending_claims(conn: asyncpg.Connection, report_ids: list[str], open_regions: list[str],
                         in_hand: set[str] = frozenset()) -> list[PendingClaim]:
    """The claims ``report_ids`` still pending and, in each of ``open_regions``, the waiting claims with
    the earliest deadlines (up to ``MAX_PENDING_PER_PLAN``), as stored; those ``in_hand`` left out.

    The claims named are found by their key alone, then kept if pending (a materialised CTE): asked for
    pending claims with these keys, PostgreSQL may walk the whole pending-claims index instead, when its
    statistics say it is empty (as after an ANALYZE taken while every claim was assigned; see migration 009)."""
    rows = await conn.fetch(
        f"""
        WITH named AS MATERIALIZED (SELECT report_id, dispatch_state FROM claims WHERE report_id = ANY($1::text[])),
        picked AS (
            SELECT report_id FROM named WHERE dispatch_state = 'pending'
            UNION
            SELECT w.report_id FROM unnest($2::text[]) AS o(region_id) CROSS JOIN LATERAL
                (SELECT report_id FROM claims
                  WHERE region_id = o.region_id AND dispatch_state = 'pending'
                  ORDER BY deadline_at, report_id LIMIT $3) AS w)
        SELECT {_PENDING_COLUMNS} FROM claims c JOIN picked USING (report_id)
        """,
        [r for r in report_ids if r not in in_hand], open_regions, MAX_PENDING_PER_PLAN,
    )
    return [PendingClaim(
        claim=ClaimRegistered(
            event_id=derived_event_id("registered", r["event_id"]), occurred_at=r["pending_since"],
            report_id=r["report_id"], region_id=r["region_id"], zone=r["zone"], loss_type=r["loss_type"],
            reported_at=r["reported_at"], lat=r["lat"], lon=r["lon"], deadline_at=r["deadline_at"],
            address=r["address"] or "", contact=parsed(SceneContact, r["reporter"]) if r["reporter"] else None),
        attempt=r["attempts"] + 1, pending_since=r["pending_since"], exclude=frozenset(r["exclude"]),
        previous_task_id=r["previous_task_id"], reassign_reason=r["reassign_reason"], raised=frozenset(r["raised"]),
    ) for r in rows if r["report_id"] not in in_hand]  # (in hand, and among a region's earliest deadlines)


_RULES_IN: dict[tuple[int, str | None], tuple[DispatchRules, DispatchRules]] = {}


def _rules_in(rules: DispatchRules, definition: str | None) -> DispatchRules:
    """``rules_for`` the region stored as ``definition``, worked out once per distinct rules and region."""
    key = (id(rules), definition)
    hit = _RULES_IN.get(key)
    if hit is None or hit[0] is not rules:
        if len(_RULES_IN) > 10_000:
            _RULES_IN.clear()
        hit = _RULES_IN[key] = (rules, rules_for(rules, parsed(Region, definition) if definition else None))
    return hit[1]


async def _set_reviews(conn: asyncpg.Connection, decided: list[tuple[list[PendingClaim], RegionPlan, DispatchRules]],
                       in_hand: set[str]) -> None:
    """Store each planned claim's review time (``RegionPlan.reviews``), where it changed. A claim this
    transaction has just stored (``in_hand``) has none yet: one left without is not written, and a batch
    whose claims were all assigned or escalated at once (the usual case) costs no statement."""
    reviews = [(report_id, at) for _, plan, _ in decided for report_id, at in plan.reviews.items()
               if at is not None or report_id not in in_hand]
    if reviews:
        await conn.execute(
            "UPDATE claims c SET review_at = x.t FROM unnest($1::text[], $2::timestamptz[]) AS x(r, t)"
            " WHERE c.report_id = x.r AND c.review_at IS DISTINCT FROM x.t",
            [r for r, _ in reviews], [t for _, t in reviews],
        )


async def _insert_tasks(conn: asyncpg.Connection,
                        assigned: list[tuple[SurveyorAssigned | SurveyorReassigned, DispatchRules]],
                        attempt_of: dict[str, int], now: datetime) -> None:
    if not assigned:
        return
    tasks = [a for a, _ in assigned]
    await conn.execute(  # the tasks, and their claims marked assigned: one statement
        """
        WITH tasks AS (
            INSERT INTO survey_tasks (task_id, report_id, attempt, surveyor_id, vehicle_id, region_id, zone, status,
                                      assigned_at, deadline_at, estimated_arrival_at, meets_deadline,
                                      ack_due_at, contact_due_at)
            SELECT t, r, a, s, v, rg, z, 'assigned', $1, d, eta, m, ack, contact
              FROM unnest($2::uuid[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[],
                          $9::timestamptz[], $10::timestamptz[], $11::bool[], $12::timestamptz[], $13::timestamptz[])
                   AS x(t, r, a, s, v, rg, z, d, eta, m, ack, contact)
            RETURNING report_id, attempt)
        UPDATE claims c SET dispatch_state = 'assigned', attempts = tasks.attempt
          FROM tasks WHERE c.report_id = tasks.report_id
        """,
        now, [a.task_id for a in tasks], [a.report_id for a in tasks], [attempt_of[a.report_id] for a in tasks],
        [a.surveyor_id for a in tasks], [a.vehicle_id for a in tasks], [a.region_id for a in tasks],
        [a.zone.value for a in tasks], [a.deadline_at for a in tasks], [a.estimated_arrival_at for a in tasks],
        [a.meets_deadline for a in tasks],
        [now + timedelta(minutes=r.ack_within_minutes) for _, r in assigned],
        [now + timedelta(minutes=r.contact_within_minutes) for _, r in assigned],
    )


async def send_back_to_dispatch(conn: asyncpg.Connection, task_id: uuid.UUID, report_id: str, reason: str,
                                now: datetime) -> None:
    """A task ended without the surveyor going (declined, never acknowledged): the claim is pending again."""
    await conn.execute(
        "UPDATE claims SET dispatch_state = 'pending', pending_since = $2, previous_task_id = $3,"
        " reassign_reason = $4 WHERE report_id = $1",
        report_id, now, task_id, reason,
    )


class UnknownTask(LookupError):
    """A task event names a task this surveyor does not hold."""


@dataclass
class Progress(Dispatched):
    """A surveyor's report, applied: what to publish, and the times dispatch is measured by."""

    zone: str | None = None
    callback: object | None = None         # the survey callback decision, when a survey was completed
    contact_after_s: float | None = None   # dispatch → customer contacted
    scene_after_s: float | None = None     # report → arrival
    on_time: bool | None = None


_TIME_COLUMN = {
    "task_accepted": "accepted_at",
    "customer_contacted": "contacted_at",
    "arrived_at_scene": "arrived_at",
    "survey_completed": "completed_at",
}


OnCompleted = Callable[[asyncpg.Connection, SurveyCompleted, LossReported], Awaitable[tuple[list[Outgoing], object]]]


async def apply_surveyor_status(pool: asyncpg.Pool, event: SurveyorStatus, now: datetime, day_start: datetime,
                                rules: DispatchRules, planner: Planner,
                                on_completed: OnCompleted | None = None) -> Progress:
    """Apply a report from a surveyor's app. A decline sends the claim back to dispatch; a finished
    survey frees the surveyor (and calls ``on_completed``: the survey callback); either re-plans the region."""
    async with pool.acquire() as conn, conn.transaction():
        if not await claim_event(conn, "surveyor-status", event.event_id):
            return Progress(await outputs_of(conn, "surveyor-status", event.event_id))
        result = await _apply(conn, event, now, day_start, rules, planner, on_completed)
        await add_outputs(conn, "surveyor-status", event.event_id, result.outputs)
        return result


async def _apply(conn, event, now, day_start, rules, planner, on_completed) -> Progress:
    if isinstance(event, PositionReported):
        await conn.execute("UPDATE surveyors SET lat = $2, lon = $3, updated_at = now() WHERE surveyor_id = $1",
                           event.surveyor_id, event.lat, event.lon)
        return Progress()
    if isinstance(event, (ShiftStarted, ShiftEnded)):
        region = await conn.fetchval(
            "UPDATE surveyors SET duty = $2, duty_until = $3, lat = COALESCE($4, lat), lon = COALESCE($5, lon),"
            " updated_at = now() WHERE surveyor_id = $1 RETURNING region_id",
            event.surveyor_id, isinstance(event, ShiftStarted), event.occurred_at + DUTY_OVERRIDE,
            getattr(event, "lat", None), getattr(event, "lon", None),
        )
        if region is None:
            raise UnknownTask(f"surveyor {event.surveyor_id} is not on the roster")
        replanned = await replan_region(conn, region, now, day_start, rules, planner)
        return Progress(replanned.outputs, replanned.plan)

    task = await conn.fetchrow(
        "SELECT t.status, t.report_id, t.region_id, t.zone, t.assigned_at, t.deadline_at, c.reported_at"
        " FROM survey_tasks t JOIN claims c USING (report_id)"
        " WHERE t.task_id = $1 AND t.surveyor_id = $2 FOR UPDATE OF t",
        event.task_id, event.surveyor_id,
    )
    if task is None:
        raise UnknownTask(f"task {event.task_id} is not held by surveyor {event.surveyor_id}")
    progress = Progress(zone=task["zone"])
    column = _TIME_COLUMN.get(event.type)
    if column:  # column names come from the fixed map above, never from input
        first = await conn.fetchval(
            f"UPDATE survey_tasks SET {column} = $2 WHERE task_id = $1 AND {column} IS NULL RETURNING true",
            event.task_id, event.occurred_at,
        )
        if first and column == "contacted_at":
            progress.contact_after_s = (event.occurred_at - task["assigned_at"]).total_seconds()
        if first and column == "arrived_at":
            progress.scene_after_s = (event.occurred_at - task["reported_at"]).total_seconds()
            progress.on_time = event.occurred_at <= task["deadline_at"]
    status = next_status(task["status"], event.type)
    if status is None:
        return progress
    await conn.execute("UPDATE survey_tasks SET status = $2, updated_at = now() WHERE task_id = $1",
                       event.task_id, status)
    if status == "completed":  # surveyor and vehicle are now at the scene
        await conn.execute(
            "UPDATE surveyors s SET lat = (c.report->'location'->>'lat')::float8,"
            " lon = (c.report->'location'->>'lon')::float8, updated_at = now()"
            " FROM claims c WHERE c.report_id = $2 AND s.surveyor_id = $1",
            event.surveyor_id, task["report_id"],
        )
        await conn.execute(
            "UPDATE vehicles v SET lat = (c.report->'location'->>'lat')::float8,"
            " lon = (c.report->'location'->>'lon')::float8, updated_at = now()"
            " FROM survey_tasks t JOIN claims c USING (report_id) WHERE t.task_id = $1 AND v.vehicle_id = t.vehicle_id",
            event.task_id,
        )
    elif status == "declined":
        await send_back_to_dispatch(conn, event.task_id, task["report_id"], "declined", now)
    if status in ("completed", "declined"):
        replanned = await replan_region(conn, task["region_id"], now, day_start, rules, planner)
        progress.outputs, progress.plan = replanned.outputs, replanned.plan
    if status == "completed" and on_completed is not None:
        report = LossReported.model_validate_json(
            await conn.fetchval("SELECT report FROM claims WHERE report_id = $1", task["report_id"]))
        more, progress.callback = await on_completed(conn, event, report)
        progress.outputs = progress.outputs + more
    return progress
