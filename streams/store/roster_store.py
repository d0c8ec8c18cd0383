"""Regions, surveyors and vehicles in PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from models.candidates import SurveyorState, VehicleState
from models.dispatch_rules import DispatchRules
from models.roster import Roster, Surveyor, SurveyVehicle
from models.zones import Region


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


async def region_state(
    conn: asyncpg.Connection, region_id: str, now: datetime, day_start: datetime, rules: DispatchRules
) -> tuple[list[SurveyorState], list[VehicleState]]:
    """Active surveyors and vehicles of a region: live tasks, expected end of them, workload, duty overrides."""
    srows = await conn.fetch(
        """
        SELECT s.definition, s.lat, s.lon, CASE WHEN s.duty_until > $2 THEN s.duty END AS duty,
               t.status AS task_status, t.arrived_at, t.estimated_arrival_at,
               (SELECT count(*) FROM survey_tasks d
                 WHERE d.surveyor_id = s.surveyor_id AND d.assigned_at >= $3
                   AND d.status NOT IN ('declined', 'cancelled')) AS today
          FROM surveyors s
          LEFT JOIN survey_tasks t ON t.surveyor_id = s.surveyor_id AND t.live
         WHERE s.region_id = $1 AND s.active
        """,
        region_id, now, day_start,
    )
    vrows = await conn.fetch(
        """
        SELECT v.definition, v.lat, v.lon,
               EXISTS (SELECT 1 FROM survey_tasks t WHERE t.vehicle_id = v.vehicle_id AND t.live) AS busy
          FROM vehicles v WHERE v.region_id = $1 AND v.active
        """,
        region_id,
    )
    survey = timedelta(minutes=rules.survey_minutes)
    surveyors = []
    for r in srows:
        busy = r["task_status"] is not None
        free_at = None
        if busy:
            on_scene_from = r["arrived_at"] or max(r["estimated_arrival_at"], now)
            free_at = max(now, on_scene_from + survey)
        surveyors.append(SurveyorState(Surveyor.model_validate_json(r["definition"]), r["lat"], r["lon"], busy,
                                       r["today"], free_at, r["duty"]))
    vehicles = [VehicleState(SurveyVehicle.model_validate_json(r["definition"]), r["busy"], r["lat"], r["lon"])
                for r in vrows]
    return surveyors, vehicles
