"""Regions, surveyors and vehicles in PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache

import asyncpg
from pydantic import BaseModel

from models.contract.loss_report import LossType
from models.dispatch.fleet import Return, SurveyorRecord
from models.dispatch.region_state import RegionRows, RegionStateCache
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


async def region_rows(conn: asyncpg.Connection, region_ids: list[str], day_start: datetime,
                      versions: dict[str, int] | None = None,
                      cache: RegionStateCache | None = None) -> dict[str, RegionRows]:
    """Each region's rows: from ``cache`` where it holds the region at the version in ``versions`` (read
    in this transaction), else read in two statements however many regions (a third when a definition
    is new) and kept in ``cache`` at that version.

    Live tasks are read by the region whose surveyor and vehicle they use (``home_region_id``: the claim's
    region, or a neighbour's a dispatcher sent someone from): a surveyor or vehicle that the roster moves to
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
        WITH live AS (SELECT t.surveyor_id, t.vehicle_id, t.arrived_at, t.estimated_arrival_at, c.loss_type,
                             t.task_id, t.report_id, t.region_id AS task_region, c.priority, t.assigned_at,
                             t.set_out_lat, t.set_out_lon, COALESCE(t.set_out_at, t.assigned_at) AS set_out_at,
                             (c.report->'location'->>'lat')::float8 AS scene_lat,
                             (c.report->'location'->>'lon')::float8 AS scene_lon
                        FROM survey_tasks t JOIN claims c USING (report_id)
                       WHERE t.home_region_id = ANY($1::text[]) AND t.live),
             today AS (SELECT surveyor_id, count(*) AS n FROM survey_tasks
                        WHERE home_region_id = ANY($1::text[]) AND assigned_at >= $2
                          AND status NOT IN {WITHDRAWN_SQL}
                        GROUP BY surveyor_id)
        SELECT s.region_id, s.surveyor_id, s.definition_hash AS h, s.lat, s.lon, s.duty, s.duty_until,
               l.scene_lat, l.scene_lon,
               l.surveyor_id IS NOT NULL AS busy, l.arrived_at, l.estimated_arrival_at, l.vehicle_id, l.loss_type,
               l.task_id, l.report_id, l.task_region, l.priority, l.set_out_at,
               COALESCE(l.set_out_lat, s.lat) AS set_out_lat, COALESCE(l.set_out_lon, s.lon) AS set_out_lon,
               COALESCE(t.n, 0) AS today, s.return_trip::text AS return_trip
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
                None if r["scene_lat"] is None else (r["scene_lat"], r["scene_lon"]),
                LossType(r["loss_type"]) if r["loss_type"] else None,
                None if r["task_id"] is None else
                (r["task_id"], r["report_id"], r["task_region"], r["priority"], r["set_out_at"],
                 r["set_out_lat"], r["set_out_lon"]),
                None if r["return_trip"] is None else stored_return(r["return_trip"])))
    for r in vrows:
        if r["vehicle_id"] in fleet:
            read[r["region_id"]].vehicles.append((fleet[r["vehicle_id"]], r["lat"], r["lon"]))
    for rid, rows in read.items():
        if cache is not None:
            cache.put(rid, rows)
        found[rid] = rows
    return found


def stored_return(stored: str) -> Return:
    """A drive back to base as ``surveyors.return_trip`` holds it (JSON text)."""
    t = json.loads(stored)
    return Return(t["vehicle_id"], datetime.fromisoformat(t["set_off_at"]), t["from_lat"], t["from_lon"], t["to_lat"],
                  t["to_lon"], datetime.fromisoformat(t["there_at"]))


async def has_regions(pool: asyncpg.Pool) -> bool:
    """Whether any roster has been loaded."""
    return bool(await pool.fetchval("SELECT count(*) FROM regions"))
