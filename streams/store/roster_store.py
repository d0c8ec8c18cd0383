"""Regions, surveyors and vehicles in PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

import asyncpg
from pydantic import BaseModel

from models.candidates import SurveyorState, VehicleState
from models.dispatch_rules import DispatchRules
from models.roster import Roster, Surveyor, SurveyVehicle
from models.zones import Region


@lru_cache(maxsize=65536)
def parsed(model: type[BaseModel], definition: str):
    """A stored definition (JSON) as its model, parsed once per distinct text: region state is read for
    every plan, and the definitions of a region's people and vehicles rarely change. The models are
    frozen, so sharing one instance is safe."""
    return model.model_validate_json(definition)


async def load_roster(pool: asyncpg.Pool, roster: Roster) -> dict[str, int]:
    """Upsert a roster file; people and vehicles missing from it are made inactive, not deleted."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.executemany(
            "INSERT INTO regions (region_id, definition) VALUES ($1, $2)"
            " ON CONFLICT (region_id) DO UPDATE SET definition = EXCLUDED.definition, updated_at = now()",
            [(r.region_id, r.model_dump_json()) for r in roster.regions],
        )
        await conn.executemany(
            "INSERT INTO surveyors (surveyor_id, region_id, definition, lat, lon) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (surveyor_id) DO UPDATE SET region_id = EXCLUDED.region_id,"
            " definition = EXCLUDED.definition, active = true, updated_at = now()",
            [(s.surveyor_id, s.region_id, s.model_dump_json(), s.base_lat, s.base_lon) for s in roster.surveyors],
        )
        await conn.executemany(
            "INSERT INTO vehicles (vehicle_id, region_id, definition) VALUES ($1, $2, $3)"
            " ON CONFLICT (vehicle_id) DO UPDATE SET region_id = EXCLUDED.region_id,"
            " definition = EXCLUDED.definition, active = true, updated_at = now()",
            [(v.vehicle_id, v.region_id, v.model_dump_json()) for v in roster.vehicles],
        )
        await conn.execute(
            "UPDATE surveyors SET active = false, updated_at = now() WHERE NOT (surveyor_id = ANY($1::text[]))",
            [s.surveyor_id for s in roster.surveyors],
        )
        await conn.execute(
            "UPDATE vehicles SET active = false, updated_at = now() WHERE NOT (vehicle_id = ANY($1::text[]))",
            [v.vehicle_id for v in roster.vehicles],
        )
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


async def regions_state(
    conn: asyncpg.Connection, region_ids: list[str], now: datetime, day_start: datetime, rules: DispatchRules
) -> dict[str, tuple[list[SurveyorState], list[VehicleState]]]:
    """Active surveyors and vehicles of each region: live tasks, expected end of them, workload, duty
    overrides. Two statements, however many regions (a third when a definition is new).

    Live tasks are read by the region they serve: a surveyor or vehicle that the roster moves to
    another region while on a task counts as busy there again only when the task ends.
    """
    # Live tasks and today's workload of the regions first (index scans), then joined to their people:
    # cheaper than a look-up per surveyor and per vehicle.
    srows = await conn.fetch(
        """
        WITH live AS (SELECT surveyor_id, vehicle_id, status, arrived_at, estimated_arrival_at
                        FROM survey_tasks WHERE region_id = ANY($1::text[]) AND live),
             today AS (SELECT surveyor_id, count(*) AS n FROM survey_tasks
                        WHERE region_id = ANY($1::text[]) AND assigned_at >= $3
                          AND status NOT IN ('declined', 'cancelled')
                        GROUP BY surveyor_id)
        SELECT s.region_id, s.surveyor_id, s.definition_hash AS h, s.lat, s.lon,
               CASE WHEN s.duty_until > $2 THEN s.duty END AS duty,
               l.status AS task_status, l.arrived_at, l.estimated_arrival_at, l.vehicle_id,
               COALESCE(t.n, 0) AS today
          FROM surveyors s
          LEFT JOIN live l USING (surveyor_id)
          LEFT JOIN today t USING (surveyor_id)
         WHERE s.region_id = ANY($1::text[]) AND s.active
        """,
        region_ids, now, day_start,
    )
    in_use = {r["vehicle_id"] for r in srows if r["vehicle_id"] is not None}
    vrows = await conn.fetch(
        "SELECT region_id, vehicle_id, definition_hash AS h, lat, lon FROM vehicles"
        " WHERE region_id = ANY($1::text[]) AND active", region_ids)
    people = await _definitions(conn, "surveyors", Surveyor, [(r["surveyor_id"], r["h"]) for r in srows])
    fleet = await _definitions(conn, "vehicles", SurveyVehicle, [(r["vehicle_id"], r["h"]) for r in vrows])
    survey = timedelta(minutes=rules.survey_minutes)
    states: dict[str, tuple[list[SurveyorState], list[VehicleState]]] = {rid: ([], []) for rid in region_ids}
    for r in srows:
        if r["surveyor_id"] not in people:  # deleted between the two statements
            continue
        busy = r["task_status"] is not None
        free_at = None
        if busy:
            on_scene_from = r["arrived_at"] or max(r["estimated_arrival_at"], now)
            free_at = max(now, on_scene_from + survey)
        states[r["region_id"]][0].append(SurveyorState(people[r["surveyor_id"]], r["lat"], r["lon"], busy,
                                                       r["today"], free_at, r["duty"]))
    for r in vrows:
        if r["vehicle_id"] in fleet:
            states[r["region_id"]][1].append(VehicleState(fleet[r["vehicle_id"]], r["vehicle_id"] in in_use,
                                                          r["lat"], r["lon"]))
    return states
