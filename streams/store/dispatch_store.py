"""Dispatch in PostgreSQL: claims, survey tasks, escalations and surveyors' whereabouts, read and written.

Rows in, rows out: what they mean and when to write them is decided in ``models`` and orchestrated in
``streams.services.dispatch``, always inside the caller's transaction.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import asyncpg

from models.contract.dispatch_events import ClaimRegistered, SceneContact, SurveyorAssigned, SurveyorReassigned
from models.contract.event import derived_event_id
from models.dispatch.coverage import DemandPoint
from models.dispatch.duplicates import Fingerprint, cell_key, cell_of
from models.dispatch.fleet import Return
from models.dispatch.intake import Accepted
from models.dispatch.planner import PendingClaim
from models.contract.loss_report import LossReported, LossType
from models.dispatch.tasks import DIVERTED, DispatchState, TaskDue, TaskStatus
from models.dispatch.scene_times import Survey
from models.dispatch.trip_learning import Trip
from models.dispatch.zones import Zone
from streams.store.roster_store import parsed, stored_return
from streams.store.states import WITHDRAWN_SQL

#: The most waiting claims of one region planned together (the earliest deadlines first).
MAX_PENDING_PER_PLAN = 500

#: The most claims one cell gives a batch's duplicate look-up: a cell is 500 m across and a probe spans the
#: batch's loss times there and the window either side; a thousand is far beyond any storm's (a bound, not
#: a filter: the look-up stays one index range per cell).
MAX_CANDIDATES_PER_CELL = 1000


async def store_claims(conn: asyncpg.Connection, items: list[Accepted], received_at: datetime,
                       fingerprints: dict[str, Fingerprint] | None = None) -> set[str]:
    """Store the claims of ``items``, pending dispatch (or as appointment cases); returns the report ids
    stored. A report id already known, or repeated in ``items``, is stored once (the first, in order).
    ``fingerprints``: what duplicates are compared by, kept with the scene's cell for the look-up."""
    prints = {rid: (cell_key(*cell_of(fp.lat, fp.lon)), json.dumps(fp.as_json()))
              for rid, fp in (fingerprints or {}).items()}
    rows = await conn.fetch(
        """
        INSERT INTO claims (report_id, event_id, reported_at, loss_time, received_at, region_id, zone,
                            loss_type, policy_no, deadline_at, report, pending_since, dispatch_state,
                            scene_cell, fingerprint, priority)
        SELECT r, e, ra, lt, $1, rg, z, l, p, d, j::jsonb, $1, s, cell, fp::jsonb, pr
          FROM unnest($2::text[], $3::uuid[], $4::timestamptz[], $5::timestamptz[], $6::text[], $7::text[],
                      $8::text[], $9::text[], $10::timestamptz[], $11::text[], $12::text[], $13::bigint[], $14::text[],
                      $15::smallint[])
               WITH ORDINALITY AS x(r, e, ra, lt, rg, z, l, p, d, j, s, cell, fp, pr, n)
         ORDER BY n
        ON CONFLICT (report_id) DO NOTHING RETURNING report_id
        """,
        received_at, [a.report.report_id for a in items], [a.report.event_id for a in items],
        [a.report.occurred_at for a in items], [a.report.loss_time for a in items],
        [a.claim.region_id for a in items], [a.claim.zone.value for a in items],
        [a.report.loss_type.value for a in items], [a.report.policy.number for a in items],
        [a.claim.deadline_at for a in items], [a.report.model_dump_json() for a in items],
        [(DispatchState.APPOINTMENT if a.appointment else DispatchState.PENDING).value for a in items],
        [prints.get(a.report.report_id, (None, None))[0] for a in items],
        [prints.get(a.report.report_id, (None, None))[1] for a in items],
        [a.claim.priority for a in items],
    )
    return {r["report_id"] for r in rows}


async def duplicate_candidates(conn: asyncpg.Connection, probes: list[tuple[int, datetime, datetime]]
                               ) -> list[tuple[Fingerprint, str | None]]:
    """Claims whose scene lies in a probe's cell and whose loss falls in its time range (cancelled ones left
    out), as compared, each with the claim it was linked to (None: its own), the earliest reported first."""
    if not probes:
        return []
    # A lateral look-up per probe, bounded: the planner cannot flatten it into a hash join, which would
    # read the whole table (every claim of the year) to serve a batch's few thousand index probes.
    rows = await conn.fetch(
        """
        SELECT c.report_id, c.loss_time, c.fingerprint::text AS fingerprint, c.duplicate_of, c.reported_at,
               (c.report->'location'->>'lat')::float8 AS lat, (c.report->'location'->>'lon')::float8 AS lon
          FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[]) AS x(cell, lo, hi)
          CROSS JOIN LATERAL (
                SELECT * FROM claims c
                 WHERE c.scene_cell = x.cell AND c.loss_time BETWEEN x.lo AND x.hi
                   AND c.fingerprint IS NOT NULL AND c.dispatch_state <> $4
                 LIMIT $5) c
        """, [c for c, _, _ in probes], [lo for _, lo, _ in probes], [hi for _, _, hi in probes],
        DispatchState.CANCELLED.value, MAX_CANDIDATES_PER_CELL)
    found: dict[str, tuple[Fingerprint, str | None]] = {}
    for r in sorted(rows, key=lambda r: (r["reported_at"], r["report_id"])):
        if r["report_id"] not in found:
            f = json.loads(r["fingerprint"])
            found[r["report_id"]] = (Fingerprint(r["report_id"], r["loss_time"], r["lat"], r["lon"], f["policy_no"],
                                                 f["insured_plate"], frozenset(f["third_party_plates"]), f["caller"]),
                                     r["duplicate_of"])
    return list(found.values())


async def link_duplicates(conn: asyncpg.Connection, links: list[tuple[str, str, float, list[str]]], by: str) -> None:
    """Claims linked to the claim of the same accident (report id, primary, score, evidence): not dispatched."""
    if links:
        await conn.execute(
            "UPDATE claims c SET dispatch_state = $5, duplicate_of = x.p, duplicate_score = x.s,"
            " duplicate_evidence = string_to_array(x.e, ','), linked_by = $6, review_at = NULL"
            " FROM unnest($1::text[], $2::text[], $3::float8[], $4::text[]) AS x(r, p, s, e)"
            " WHERE c.report_id = x.r",
            [r for r, _, _, _ in links], [p for _, p, _, _ in links], [sc for _, _, sc, _ in links],
            [",".join(e) for _, _, _, e in links], DispatchState.LINKED.value, by)


async def flag_duplicates(conn: asyncpg.Connection, flags: list[tuple[str, str, float, list[str]]]) -> None:
    """Claims that may be duplicates of another (report id, other, score, evidence): dispatched, and flagged."""
    if flags:
        await conn.execute(
            "UPDATE claims c SET possible_duplicate_of = x.p, duplicate_score = x.s,"
            " duplicate_evidence = string_to_array(x.e, ',')"
            " FROM unnest($1::text[], $2::text[], $3::float8[], $4::text[]) AS x(r, p, s, e)"
            " WHERE c.report_id = x.r",
            [r for r, _, _, _ in flags], [p for _, p, _, _ in flags], [sc for _, _, sc, _ in flags],
            [",".join(e) for _, _, _, e in flags])


async def live_tasks_of(conn: asyncpg.Connection, report_ids: list[str]) -> dict[str, asyncpg.Record]:
    """The live task (task id, surveyor) of each of these claims that has one."""
    return {r["report_id"]: r for r in await conn.fetch(
        "SELECT report_id, task_id, surveyor_id FROM survey_tasks WHERE report_id = ANY($1::text[]) AND live",
        report_ids)}


async def lock_regions(conn: asyncpg.Connection, region_ids: list[str], in_hand: list[str]) -> list[asyncpg.Record]:
    """Take the regions' advisory locks (in region order) and read each region: its definition, its state
    version, and whether a claim besides those ``in_hand`` waits there (``waiting``). One call (migrations
    008, 009): two round trips fewer in most batches than lock, read, waiting claims."""
    return await conn.fetch("SELECT * FROM lock_regions($1::text[], $2::text[])", sorted(region_ids), in_hand)


async def try_lock_regions(conn: asyncpg.Connection, region_ids: list[str]) -> list[asyncpg.Record]:
    """The regions among ``region_ids`` whose advisory lock is free, locked now (definition and state
    version): for lending their spare surveyors. Never waits, so taking them while holding other regions'
    locks cannot deadlock; a region being decided elsewhere just lends nothing this time."""
    return await conn.fetch(
        "SELECT region_id, definition, state_version FROM regions WHERE region_id = ANY($1::text[])"
        " AND pg_try_advisory_xact_lock(hashtext('region:' || region_id)) ORDER BY region_id", sorted(region_ids))


_PENDING_COLUMNS = f"""
        c.report_id, c.event_id, c.region_id, c.zone, c.loss_type, c.reported_at, c.deadline_at, c.pending_since,
        c.attempts, c.previous_task_id, c.reassign_reason, c.priority,
        (c.report->'location'->>'lat')::float8 AS lat, (c.report->'location'->>'lon')::float8 AS lon,
        c.report->'location'->>'address' AS address, (c.report->'reporter')::text AS reporter,
        ARRAY(SELECT t.surveyor_id FROM survey_tasks t
               WHERE t.report_id = c.report_id AND t.status IN {WITHDRAWN_SQL}
                 AND t.cancel_reason IS DISTINCT FROM '{DIVERTED}') AS exclude,
        ARRAY(SELECT e.reason FROM escalations e
               WHERE e.report_id = c.report_id AND e.attempt = c.attempts + 1) AS raised
"""


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
            SELECT report_id FROM named WHERE dispatch_state = $4
            UNION
            SELECT w.report_id FROM unnest($2::text[]) AS o(region_id) CROSS JOIN LATERAL
                (SELECT report_id FROM claims
                  WHERE region_id = o.region_id AND dispatch_state = $4
                  ORDER BY deadline_at, report_id LIMIT $3) AS w)
        SELECT {_PENDING_COLUMNS} FROM claims c JOIN picked USING (report_id)
        """,
        [r for r in report_ids if r not in in_hand], open_regions, MAX_PENDING_PER_PLAN, DispatchState.PENDING.value,
    )
    return [PendingClaim(
        claim=ClaimRegistered(
            event_id=derived_event_id("registered", r["event_id"]), occurred_at=r["pending_since"],
            report_id=r["report_id"], region_id=r["region_id"], zone=r["zone"], loss_type=r["loss_type"],
            reported_at=r["reported_at"], lat=r["lat"], lon=r["lon"], deadline_at=r["deadline_at"],
            address=r["address"] or "", contact=parsed(SceneContact, r["reporter"]) if r["reporter"] else None,
            priority=r["priority"]),
        attempt=r["attempts"] + 1, pending_since=r["pending_since"], exclude=frozenset(r["exclude"]),
        previous_task_id=r["previous_task_id"], reassign_reason=r["reassign_reason"], raised=frozenset(r["raised"]),
    ) for r in rows if r["report_id"] not in in_hand]  # (in hand, and among a region's earliest deadlines)


async def recent_scenes(conn: asyncpg.Connection, region_ids: list[str], limit: int) -> dict[str, list[DemandPoint]]:
    """Each region's latest ``limit`` scenes and when they were reported (cancelled claims too: a false report
    still says where and how often calls come), for the planner's cover and the region's load."""
    rows = await conn.fetch(
        """
        SELECT o.region_id, s.zone, s.reported_at, (s.report->'location'->>'lat')::float8 AS lat,
               (s.report->'location'->>'lon')::float8 AS lon
          FROM unnest($1::text[]) AS o(region_id) CROSS JOIN LATERAL
               (SELECT zone, report, reported_at FROM claims WHERE region_id = o.region_id
                 ORDER BY reported_at DESC LIMIT $2) AS s
        """, region_ids, limit)
    out: dict[str, list[DemandPoint]] = {rid: [] for rid in region_ids}
    for r in rows:
        out[r["region_id"]].append(DemandPoint(r["lat"], r["lon"], Zone(r["zone"]), r["reported_at"]))
    return out


async def hold_to_promises(conn: asyncpg.Connection, report_ids: list[str]) -> None:
    """The claims just sent a surveyor who will be late, and their live tasks, keep the latest arrival the
    customer was told (the escalations keep every time told, stored with them: a time told while the claim waited
    may be later than the one told at dispatch)."""
    if not report_ids:
        return
    await conn.execute(
        "UPDATE claims c SET promised_arrival_at = e.at FROM (SELECT report_id, max(proposed_arrival_at) AS at"
        " FROM escalations WHERE report_id = ANY($1::text[]) AND proposed_arrival_at IS NOT NULL GROUP BY report_id) e"
        " WHERE c.report_id = e.report_id AND (c.promised_arrival_at IS NULL OR c.promised_arrival_at < e.at)",
        report_ids)
    await conn.execute(
        "UPDATE survey_tasks t SET promised_arrival_at = c.promised_arrival_at FROM claims c"
        " WHERE c.report_id = ANY($1::text[]) AND t.report_id = c.report_id AND t.live", report_ids)


async def recent_trips(conn: asyncpg.Connection, limit: int) -> list[Trip]:
    """The latest arrivals as trips: dispatch → the arrival estimated then, and → the arrival."""
    rows = await conn.fetch(
        "SELECT region_id, zone, assigned_at, estimated_arrival_at, arrived_at FROM survey_tasks"
        " WHERE arrived_at IS NOT NULL AND estimated_arrival_at IS NOT NULL ORDER BY arrived_at DESC LIMIT $1", limit)
    return [Trip(r["region_id"], Zone(r["zone"]), r["assigned_at"],
                 (r["estimated_arrival_at"] - r["assigned_at"]).total_seconds() / 60.0,
                 (r["arrived_at"] - r["assigned_at"]).total_seconds() / 60.0) for r in rows]


async def recent_surveys(conn: asyncpg.Connection, limit: int) -> list[Survey]:
    """The latest completed surveys: loss type and minutes on scene (arrival → completion)."""
    rows = await conn.fetch(
        "SELECT c.loss_type, t.arrived_at, t.completed_at FROM survey_tasks t JOIN claims c USING (report_id)"
        " WHERE t.completed_at IS NOT NULL AND t.arrived_at IS NOT NULL ORDER BY t.completed_at DESC LIMIT $1",
        limit)
    return [Survey(LossType(r["loss_type"]), (r["completed_at"] - r["arrived_at"]).total_seconds() / 60.0)
            for r in rows]


async def due_for_review(conn: asyncpg.Connection, region_id: str, now: datetime) -> list[str]:
    """The region's waiting claims whose review time has come, the earliest first."""
    return [r["report_id"] for r in await conn.fetch(
        "SELECT report_id FROM claims WHERE review_at <= $2 AND region_id = $1 AND dispatch_state = $4"
        " ORDER BY review_at LIMIT $3", region_id, now, MAX_PENDING_PER_PLAN, DispatchState.PENDING.value)]


async def store_escalations(conn: asyncpg.Connection, escalated: list, attempt_of: dict[str, int]) -> set:
    """Store escalations (each once); returns the event ids stored now, the ones to publish."""
    return {r["event_id"] for r in await conn.fetch(
        "INSERT INTO escalations (event_id, report_id, attempt, region_id, zone, reason, detail, created_at,"
        " proposed_arrival_at)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[],"
        " $8::timestamptz[], $9::timestamptz[]) ON CONFLICT DO NOTHING RETURNING event_id",
        [e.event_id for e in escalated], [e.report_id for e in escalated],
        [attempt_of[e.report_id] for e in escalated], [e.region_id for e in escalated],
        [e.zone.value for e in escalated], [e.reason.value for e in escalated], [e.detail for e in escalated],
        [e.occurred_at for e in escalated], [getattr(e, "proposed_arrival_at", None) for e in escalated],
    )}


async def set_reviews(conn: asyncpg.Connection, reviews: list[tuple[str, datetime | None]]) -> None:
    """Store claims' review times, where they changed (no statement for none)."""
    if reviews:
        await conn.execute(
            "UPDATE claims c SET review_at = x.t FROM unnest($1::text[], $2::timestamptz[]) AS x(r, t)"
            " WHERE c.report_id = x.r AND c.review_at IS DISTINCT FROM x.t",
            [r for r, _ in reviews], [t for _, t in reviews],
        )


async def insert_tasks(conn: asyncpg.Connection,
                       tasks: list[tuple[SurveyorAssigned | SurveyorReassigned, int, TaskDue]],
                       now: datetime, home_regions: dict[uuid.UUID, str] | None = None,
                       set_out: dict[str, tuple[float, float]] | None = None) -> None:
    """New tasks (each with its claim's attempt number and its watchdog limits), and their claims marked
    assigned: one statement. ``home_regions``: a task's surveyor's region where it is not the claim's;
    ``set_out``: where a surveyor sets out from when not from their recorded position (surveyor id → lat, lon)."""
    if not tasks:
        return
    home, out = home_regions or {}, dict(set_out or {})
    # A surveyor sent while driving back to base sets out from about where they have got to; the drive ends.
    for r in await conn.fetch(
            "WITH back AS (SELECT surveyor_id, return_trip FROM surveyors WHERE surveyor_id = ANY($1::text[])"
            "              AND return_trip IS NOT NULL FOR UPDATE)"
            " UPDATE surveyors s SET return_trip = NULL FROM back WHERE s.surveyor_id = back.surveyor_id"
            " RETURNING s.surveyor_id, back.return_trip::text AS trip", [a.surveyor_id for a, _, _ in tasks]):
        out.setdefault(r["surveyor_id"], stored_return(r["trip"]).position(now))
    await conn.execute(
        """
        WITH tasks AS (
            INSERT INTO survey_tasks (task_id, report_id, attempt, surveyor_id, vehicle_id, region_id, zone, status,
                                      assigned_at, deadline_at, estimated_arrival_at, meets_deadline,
                                      ack_due_at, contact_due_at, home_region_id, set_out_lat, set_out_lon)
            SELECT t, r, a, s, v, rg, z, $14, $1, d, eta, m, ack, contact, COALESCE(h, rg), olat, olon
              FROM unnest($2::uuid[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[],
                          $9::timestamptz[], $10::timestamptz[], $11::bool[], $12::timestamptz[], $13::timestamptz[],
                          $16::text[], $17::float8[], $18::float8[])
                   AS x(t, r, a, s, v, rg, z, d, eta, m, ack, contact, h, olat, olon)
            RETURNING report_id, attempt)
        UPDATE claims c SET dispatch_state = $15, attempts = tasks.attempt
          FROM tasks WHERE c.report_id = tasks.report_id
        """,
        now, [a.task_id for a, _, _ in tasks], [a.report_id for a, _, _ in tasks], [n for _, n, _ in tasks],
        [a.surveyor_id for a, _, _ in tasks], [a.vehicle_id for a, _, _ in tasks], [a.region_id for a, _, _ in tasks],
        [a.zone.value for a, _, _ in tasks], [a.deadline_at for a, _, _ in tasks],
        [a.estimated_arrival_at for a, _, _ in tasks], [a.meets_deadline for a, _, _ in tasks],
        [d.ack_due_at for _, _, d in tasks], [d.contact_due_at for _, _, d in tasks],
        TaskStatus.ASSIGNED.value, DispatchState.ASSIGNED.value, [home.get(a.task_id) for a, _, _ in tasks],
        [out[a.surveyor_id][0] if a.surveyor_id in out else None for a, _, _ in tasks],
        [out[a.surveyor_id][1] if a.surveyor_id in out else None for a, _, _ in tasks],
    )


async def divert_tasks(conn: asyncpg.Connection, withdrawn: list, now: datetime) -> None:
    """Tasks given up by surveyors turned round to a claim of a higher class (``TaskWithdrawn``): cancelled, their
    claims pending again with the reason (one statement for the tasks, one for the claims)."""
    if not withdrawn:
        return
    await conn.execute(
        "UPDATE survey_tasks SET status = $2, cancel_reason = $3, updated_at = now() WHERE task_id = ANY($1::uuid[])",
        [w.task_id for w in withdrawn], TaskStatus.CANCELLED.value, DIVERTED)
    await send_back_to_dispatch(conn, [(w.task_id, w.report_id) for w in withdrawn], DIVERTED, now)


async def send_back_to_dispatch(conn: asyncpg.Connection, tasks: list[tuple[uuid.UUID, str]], reason: str,
                                now: datetime) -> None:
    """The claims of tasks (task id, report id) that ended without the surveyor going are pending again, with the
    reason: one statement."""
    await conn.execute(
        "UPDATE claims c SET dispatch_state = $5, pending_since = $2, previous_task_id = x.t, reassign_reason = $4"
        " FROM unnest($1::text[], $3::uuid[]) AS x(r, t) WHERE c.report_id = x.r",
        [r for _, r in tasks], now, [t for t, _ in tasks], reason, DispatchState.PENDING.value,
    )


async def set_position(conn: asyncpg.Connection, surveyor_id: str, lat: float, lon: float,
                       at: datetime) -> Return | None:
    """Where the app says the surveyor is, at ``at``; on the way to a scene, the trip goes on from there then
    (what a turn round for a claim of a higher class reckons from). Returns their drive back to base, if any, as
    stored (``set_return`` then stores it as the report leaves it)."""
    trip = await conn.fetchval("UPDATE surveyors SET lat = $2, lon = $3, updated_at = now() WHERE surveyor_id = $1"
                               " RETURNING return_trip::text", surveyor_id, lat, lon)
    await conn.execute(
        "UPDATE survey_tasks SET set_out_lat = $2, set_out_lon = $3, set_out_at = $4"
        " WHERE surveyor_id = $1 AND live AND arrived_at IS NULL", surveyor_id, lat, lon, at)
    return None if trip is None else stored_return(trip)


async def move_vehicle(conn: asyncpg.Connection, vehicle_id: str, lat: float, lon: float) -> None:
    await conn.execute("UPDATE vehicles SET lat = $2, lon = $3, updated_at = now() WHERE vehicle_id = $1",
                       vehicle_id, lat, lon)


async def set_duty(conn: asyncpg.Connection, surveyor_id: str, on_duty: bool, until: datetime,
                   lat: float | None, lon: float | None) -> str | None:
    """A surveyor's duty as the app reports it (and where, if it says); returns the region, None when the
    surveyor is not on the roster."""
    return await conn.fetchval(
        "UPDATE surveyors SET duty = $2, duty_until = $3, lat = COALESCE($4, lat), lon = COALESCE($5, lon),"
        " return_trip = CASE WHEN $4::float8 IS NULL THEN return_trip END,"  # a position given: they are there
        " updated_at = now() WHERE surveyor_id = $1 RETURNING region_id",
        surveyor_id, on_duty, until, lat, lon,
    )


async def task_for_update(conn: asyncpg.Connection, task_id: uuid.UUID, surveyor_id: str) -> asyncpg.Record | None:
    """The task this surveyor holds, locked: status, claim, region, zone, times (None: not theirs)."""
    return await conn.fetchrow(
        "SELECT t.status, t.report_id, t.region_id, t.zone, t.assigned_at, t.deadline_at, c.reported_at,"
        " COALESCE(t.promised_arrival_at, c.promised_arrival_at, (SELECT max(e.proposed_arrival_at) FROM escalations e"
        " WHERE e.report_id = t.report_id)) AS promised_arrival_at, t.estimated_arrival_at"
        " FROM survey_tasks t JOIN claims c USING (report_id)"
        " WHERE t.task_id = $1 AND t.surveyor_id = $2 FOR UPDATE OF t",
        task_id, surveyor_id,
    )


_TIME_COLUMN = {
    "task_accepted": "accepted_at",
    "customer_contacted": "contacted_at",
    "arrived_at_scene": "arrived_at",
    "survey_completed": "completed_at",
}


async def stamp_first(conn: asyncpg.Connection, task_id: uuid.UUID, event_type: str, at: datetime) -> bool:
    """Keep when a step of the task first happened (accepted, contacted, arrived, completed); True when
    this is the first report of that step, False when it was reported before, is no such step, or the task was
    taken back (an app that had not yet heard of a withdrawal or a turn round: that trip is no arrival)."""
    column = _TIME_COLUMN.get(event_type)
    if column is None:
        return False
    # The column's name comes from the fixed map above, never from input.
    return bool(await conn.fetchval(
        f"UPDATE survey_tasks SET {column} = $2 WHERE task_id = $1 AND {column} IS NULL"
        f" AND status NOT IN {WITHDRAWN_SQL} RETURNING true",
        task_id, at,
    ))


async def set_task_status(conn: asyncpg.Connection, task_id: uuid.UUID, status: TaskStatus,
                          cancel_reason: str | None = None, ack_timed_out_at: datetime | None = None) -> None:
    await conn.execute(
        "UPDATE survey_tasks SET status = $2, cancel_reason = COALESCE($3, cancel_reason),"
        " ack_timed_out_at = COALESCE($4, ack_timed_out_at), updated_at = now() WHERE task_id = $1",
        task_id, status.value, cancel_reason, ack_timed_out_at,
    )


async def move_to_scene(conn: asyncpg.Connection, task_id: uuid.UUID) -> None:
    """The task's surveyor and vehicle are now where its claim's scene is."""
    await conn.execute(
        """
        WITH scene AS (SELECT t.surveyor_id, t.vehicle_id, (c.report->'location'->>'lat')::float8 AS lat,
                              (c.report->'location'->>'lon')::float8 AS lon
                         FROM survey_tasks t JOIN claims c USING (report_id) WHERE t.task_id = $1),
             moved AS (UPDATE surveyors s SET lat = scene.lat, lon = scene.lon, updated_at = now()
                         FROM scene WHERE s.surveyor_id = scene.surveyor_id)
        UPDATE vehicles v SET lat = scene.lat, lon = scene.lon, updated_at = now()
          FROM scene WHERE v.vehicle_id = scene.vehicle_id
        """,
        task_id,
    )


async def free_surveyor(conn: asyncpg.Connection, surveyor_id: str) -> asyncpg.Record | None:
    """A surveyor with no live task: region, definition, position, duty override and the vehicle of their last
    task (None: busy, or not on the roster)."""
    return await conn.fetchrow(
        "SELECT s.region_id, s.definition::text AS definition, s.lat, s.lon, s.duty, s.duty_until,"
        " (SELECT t.vehicle_id FROM survey_tasks t WHERE t.surveyor_id = s.surveyor_id"
        "   ORDER BY t.assigned_at DESC LIMIT 1) AS vehicle_id"
        " FROM surveyors s WHERE s.surveyor_id = $1 AND s.active"
        " AND NOT EXISTS (SELECT 1 FROM survey_tasks t WHERE t.surveyor_id = s.surveyor_id AND t.live)",
        surveyor_id)


async def set_return(conn: asyncpg.Connection, surveyor_id: str, trip: Return | None) -> None:
    """The surveyor's drive back to base (``models.dispatch.return_to_base``; the vehicle goes with them), or
    none (None)."""
    if trip is None:
        await conn.execute("UPDATE surveyors SET return_trip = NULL, updated_at = now() WHERE surveyor_id = $1",
                           surveyor_id)
        return
    await conn.execute(
        "UPDATE surveyors SET return_trip = jsonb_build_object('vehicle_id', $2::text, 'set_off_at', $3::timestamptz,"
        " 'from_lat', $4::float8, 'from_lon', $5::float8, 'to_lat', $6::float8, 'to_lon', $7::float8,"
        " 'there_at', $8::timestamptz), updated_at = now() WHERE surveyor_id = $1",
        surveyor_id, trip.vehicle_id, trip.set_off_at, trip.from_lat, trip.from_lon, trip.to_lat, trip.to_lon,
        trip.there_at)


async def loss_report(conn: asyncpg.Connection, report_id: str) -> LossReported:
    """The loss report a claim was registered from."""
    return LossReported.model_validate_json(await conn.fetchval("SELECT report FROM claims WHERE report_id = $1",
                                                                report_id))
