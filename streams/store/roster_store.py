"""Regions, surveyors and vehicles in PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import asyncpg
from pydantic import BaseModel

from models.dispatch.candidates import SurveyorRecord, SurveyorState, VehicleState, fleet_states
from models.dispatch.rules import DispatchRules
from models.dispatch.roster import Roster, StoredEntry, Surveyor, SurveyVehicle
from models.dispatch.zones import Region
from streams.store.states import WITHDRAWN_SQL


@lru_cache(maxsize=65536)
def parsed(model: type[BaseModel], definition: str):
    """A stored definition (JSON) as its model, parsed once per distinct text: region state is read for
    every plan, and the definitions of a region's people and vehicles rarely change. The models are
    frozen, so sharing one instance is safe."""
    return model.model_validate_json(definition)


async def stored_entries(pool: asyncpg.Pool) -> list[StoredEntry]:
    """Every region, surveyor and vehicle as stored, active or not (what a roster file is compared with)."""
    rows = await pool.fetch(
        "SELECT 'region' AS kind, region_id AS ident, region_id, definition::text AS definition, true AS active"
        " FROM regions UNION ALL"
        " SELECT 'surveyor', surveyor_id, region_id, definition::text, active FROM surveyors UNION ALL"
        " SELECT 'vehicle', vehicle_id, region_id, definition::text, active FROM vehicles")
    return [StoredEntry(r["kind"], r["ident"], r["region_id"], r["definition"], r["active"]) for r in rows]


async def load_roster(pool: asyncpg.Pool, roster: Roster, deactivate_missing: bool = False) -> dict[str, int]:
    """Upsert a roster file. People and vehicles missing from it stay as they are unless
    ``deactivate_missing`` (then they are made inactive, never deleted).

    Rows are written region by region in region order: each write bumps its region's state version
    (migration 006), and workers bump theirs in that order too, so a roster load and a batch do not
    deadlock (should they, the batch's transaction is retried).
    """
    regions_in_order = sorted(roster.regions, key=lambda r: r.region_id)
    surveyors_in_order = sorted(roster.surveyors, key=lambda s: (s.region_id, s.surveyor_id))
    vehicles_in_order = sorted(roster.vehicles, key=lambda v: (v.region_id, v.vehicle_id))
    async with pool.acquire() as conn, conn.transaction():
        await conn.executemany(
            "INSERT INTO regions (region_id, definition) VALUES ($1, $2)"
            " ON CONFLICT (region_id) DO UPDATE SET definition = EXCLUDED.definition, updated_at = now()",
            [(r.region_id, r.model_dump_json()) for r in regions_in_order],
        )
        await conn.executemany(
            "INSERT INTO surveyors (surveyor_id, region_id, definition, lat, lon) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (surveyor_id) DO UPDATE SET region_id = EXCLUDED.region_id,"
            " definition = EXCLUDED.definition, active = true, updated_at = now()",
            [(s.surveyor_id, s.region_id, s.model_dump_json(), s.base_lat, s.base_lon) for s in surveyors_in_order],
        )
        await conn.executemany(
            "INSERT INTO vehicles (vehicle_id, region_id, definition) VALUES ($1, $2, $3)"
            " ON CONFLICT (vehicle_id) DO UPDATE SET region_id = EXCLUDED.region_id,"
            " definition = EXCLUDED.definition, active = true, updated_at = now()",
            [(v.vehicle_id, v.region_id, v.model_dump_json()) for v in vehicles_in_order],
        )
        if deactivate_missing:
            await conn.execute(
                "UPDATE surveyors SET active = false, updated_at = now()"
                " WHERE active AND NOT (surveyor_id = ANY($1::text[]))", [s.surveyor_id for s in roster.surveyors])
            await conn.execute(
                "UPDATE vehicles SET active = false, updated_at = now()"
                " WHERE active AND NOT (vehicle_id = ANY($1::text[]))", [v.vehicle_id for v in roster.vehicles])
    return {"regions": len(roster.regions), "surveyors": len(roster.surveyors), "vehicles": len(roster.vehicles)}


async def regions(pool: asyncpg.Pool) -> tuple[Region, ...]:
    rows = await pool.fetch("SELECT definition FROM regions ORDER BY region_id")
    return tuple(Region.model_validate_json(r["definition"]) for r in rows)


#: Surveyor and vehicle definitions by (id, definition_hash: hashtext of the stored JSON, a generated
#: column since migration 005). Region state is read for every plan, so only the hash travels; a
#: definition the roster changed has a new hash and is fetched and parsed once. Bounded: cleared when
#: it outgrows any real roster.
_DEFINITIONS: dict[tuple[str, str, int], BaseModel] = {}


_DEFINITIONS_OF = {
    "surveyors": "SELECT surveyor_id AS id, definition, definition_hash AS h FROM surveyors"
                 " WHERE surveyor_id = ANY($1::text[])",
    "vehicles": "SELECT vehicle_id AS id, definition, definition_hash AS h FROM vehicles"
                " WHERE vehicle_id = ANY($1::text[])",
}


async def _definitions(conn: asyncpg.Connection, table: str, model: type[BaseModel],
                       wanted: list[tuple[str, int]]) -> dict[str, BaseModel]:
    missing = [i for i, h in wanted if (table, i, h) not in _DEFINITIONS]
    if missing:
        if len(_DEFINITIONS) > 200_000:
            _DEFINITIONS.clear()
            missing = [i for i, _ in wanted]
        for r in await conn.fetch(_DEFINITIONS_OF[table], missing):
            _DEFINITIONS[table, r["id"], r["h"]] = parsed(model, r["definition"])
    return {i: _DEFINITIONS[table, i, h] for i, h in wanted if (table, i, h) in _DEFINITIONS}


@dataclass
class RegionRows:
    """One region's dispatch state as stored, at a version: the records ``SurveyorState`` and
    ``VehicleState`` are built from. States depend on the clock too (``SurveyorRecord.state_at``), so each
    one built is kept with the span of time in which building it again would give the same, and reused
    within it."""

    version: int | None
    day_start: datetime
    surveyors: list[SurveyorRecord] = field(default_factory=list)
    vehicles: list[tuple] = field(default_factory=list)  # (vehicle, lat, lon)
    _built: list = field(default_factory=list, repr=False, compare=False)  # per surveyor: (state, from, until)
    _fleet: list[VehicleState] | None = field(default=None, repr=False, compare=False)
    _survey: float | None = field(default=None, repr=False, compare=False)

    def states(self, now: datetime, rules: DispatchRules) -> tuple[list[SurveyorState], list[VehicleState]]:
        if self._survey != rules.survey_minutes or len(self._built) != len(self.surveyors):
            self._built, self._survey = [None] * len(self.surveyors), rules.survey_minutes
        people = []
        for n, record in enumerate(self.surveyors):
            kept = self._built[n]
            if kept is not None and kept[1] <= now < kept[2]:
                people.append(kept[0])
                continue
            state, until = record.state_at(now, rules.survey_minutes)
            self._built[n] = (state, now, until) if until > now else None
            people.append(state)
        if self._fleet is None:
            self._fleet = fleet_states(self.vehicles, self.surveyors)
        return people, list(self._fleet)

    def assigned(self, version: int, tasks: list, scenes: dict[str, tuple[float, float]]) -> "RegionRows":
        """These rows after this worker's own survey tasks were stored (``SurveyorAssigned`` or
        ``SurveyorReassigned``; ``scenes``: each task's report id → its location): what reading them back
        at ``version`` would give: each surveyor sent carries the task's scene, which their vehicle
        follows (as ``fleet_states`` would have it; the fleet is updated, not built again: 120 vehicles a
        region in the pipeline bench, after every assignment)."""
        task_of = {t.surveyor_id: t for t in tasks}
        keep_built = len(self._built) == len(self.surveyors)
        records, built = [], []
        for n, record in enumerate(self.surveyors):
            t = task_of.get(record.surveyor.surveyor_id)
            records.append(record if t is None else
                           record.with_task(t.vehicle_id, t.estimated_arrival_at, scenes[t.report_id]))
            built.append(self._built[n] if t is None and keep_built else None)
        fleet = None
        if self._fleet is not None:  # what fleet_states would build again: each vehicle taken, at its scene
            taken = {t.vehicle_id: scenes[t.report_id] for t in tasks}
            fleet = [v if v.vehicle.vehicle_id not in taken else
                     VehicleState(v.vehicle, True, *taken[v.vehicle.vehicle_id]) for v in self._fleet]
        return RegionRows(version, self.day_start, records, self.vehicles, built, fleet, _survey=self._survey)


class RegionStateCache:
    """Regions' rows kept in memory by a worker, valid while the region's ``state_version`` is unchanged
    (bumped by triggers on every write to surveyors, vehicles and survey tasks: migration 006). The
    database stays the record: a region whose version moved is read again."""

    def __init__(self) -> None:
        self._rows: dict[str, RegionRows] = {}
        self.hits = 0
        self.misses = 0

    def get(self, region_id: str, version: int, day_start: datetime) -> RegionRows | None:
        rows = self._rows.get(region_id)
        if rows is not None and rows.version == version and rows.day_start == day_start:
            self.hits += 1
            return rows
        self.misses += 1
        return None

    def put(self, region_id: str, rows: RegionRows) -> None:
        if rows.version is not None:
            self._rows[region_id] = rows

    def take_counts(self) -> tuple[int, int]:
        """(hits, misses) since the last call."""
        counts = self.hits, self.misses
        self.hits = self.misses = 0
        return counts


async def region_rows(conn: asyncpg.Connection, region_ids: list[str], day_start: datetime,
                      versions: dict[str, int] | None = None,
                      cache: RegionStateCache | None = None) -> dict[str, RegionRows]:
    """Each region's rows: from ``cache`` where it holds the region at the version in ``versions`` (read
    in this transaction), else read in two statements however many regions (a third when a definition
    is new) and kept in ``cache`` at that version.

    Live tasks are read by the region they serve: a surveyor or vehicle that the roster moves to
    another region while on a task counts as busy there again only when the task ends.
    """
    found: dict[str, RegionRows] = {}
    if cache is not None and versions is not None:
        for rid in region_ids:
            hit = cache.get(rid, versions[rid], day_start) if rid in versions else None
            if hit is not None:
                found[rid] = hit
    missing = [rid for rid in region_ids if rid not in found]
    if not missing:
        return found
    # Live tasks and today's workload of the regions first (index scans), then joined to their people:
    # cheaper than a look-up per surveyor and per vehicle.
    srows = await conn.fetch(
        f"""
        WITH live AS (SELECT t.surveyor_id, t.vehicle_id, t.arrived_at, t.estimated_arrival_at,
                             (c.report->'location'->>'lat')::float8 AS scene_lat,
                             (c.report->'location'->>'lon')::float8 AS scene_lon
                        FROM survey_tasks t JOIN claims c USING (report_id)
                       WHERE t.region_id = ANY($1::text[]) AND t.live),
             today AS (SELECT surveyor_id, count(*) AS n FROM survey_tasks
                        WHERE region_id = ANY($1::text[]) AND assigned_at >= $2
                          AND status NOT IN {WITHDRAWN_SQL}
                        GROUP BY surveyor_id)
        SELECT s.region_id, s.surveyor_id, s.definition_hash AS h, s.lat, s.lon, s.duty, s.duty_until,
               l.scene_lat, l.scene_lon,
               l.surveyor_id IS NOT NULL AS busy, l.arrived_at, l.estimated_arrival_at, l.vehicle_id,
               COALESCE(t.n, 0) AS today
          FROM surveyors s
          LEFT JOIN live l USING (surveyor_id)
          LEFT JOIN today t USING (surveyor_id)
         WHERE s.region_id = ANY($1::text[]) AND s.active
        """,
        missing, day_start,
    )
    vrows = await conn.fetch(
        "SELECT region_id, vehicle_id, definition_hash AS h, lat, lon FROM vehicles"
        " WHERE region_id = ANY($1::text[]) AND active", missing)
    people = await _definitions(conn, "surveyors", Surveyor, [(r["surveyor_id"], r["h"]) for r in srows])
    fleet = await _definitions(conn, "vehicles", SurveyVehicle, [(r["vehicle_id"], r["h"]) for r in vrows])
    read = {rid: RegionRows((versions or {}).get(rid), day_start) for rid in missing}
    for r in srows:
        if r["surveyor_id"] in people:  # (else deleted between the two statements)
            read[r["region_id"]].surveyors.append(SurveyorRecord(
                people[r["surveyor_id"]], r["lat"], r["lon"], r["busy"], r["arrived_at"], r["estimated_arrival_at"],
                r["vehicle_id"], r["today"], r["duty"], r["duty_until"],
                None if r["scene_lat"] is None else (r["scene_lat"], r["scene_lon"])))
    for r in vrows:
        if r["vehicle_id"] in fleet:
            read[r["region_id"]].vehicles.append((fleet[r["vehicle_id"]], r["lat"], r["lon"]))
    for rid, rows in read.items():
        if cache is not None:
            cache.put(rid, rows)
        found[rid] = rows
    return found


async def has_regions(pool: asyncpg.Pool) -> bool:
    """Whether any roster has been loaded."""
    return bool(await pool.fetchval("SELECT count(*) FROM regions"))
