"""Claims from intake, and dead letters."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from models.dead_letter import DeadLetter
from models.intake import Accepted


async def insert_claims(conn: asyncpg.Connection, items: list[Accepted], received_at: datetime) -> set[str]:
    """Store new claims, pending dispatch, in one statement; returns the report ids stored (a report id
    already known, or repeated in ``items``, is stored once: the first)."""
    rows = await conn.fetch(
        """
        INSERT INTO claims (report_id, event_id, reported_at, loss_time, received_at, region_id, zone,
                            loss_type, policy_no, deadline_at, report, pending_since)
        SELECT r, e, ra, lt, $1, rg, z, l, p, d, j::jsonb, $1
          FROM unnest($2::text[], $3::uuid[], $4::timestamptz[], $5::timestamptz[], $6::text[], $7::text[],
                      $8::text[], $9::text[], $10::timestamptz[], $11::text[]) AS x(r, e, ra, lt, rg, z, l, p, d, j)
        ON CONFLICT (report_id) DO NOTHING RETURNING report_id
        """,
        received_at, [a.report.report_id for a in items], [a.report.event_id for a in items],
        [a.report.occurred_at for a in items], [a.report.loss_time for a in items],
        [a.claim.region_id for a in items], [a.claim.zone.value for a in items],
        [a.report.loss_type.value for a in items], [a.report.policy.number for a in items],
        [a.claim.deadline_at for a in items], [a.report.model_dump_json() for a in items],
    )
    return {r["report_id"] for r in rows}


async def record_dead_letter(pool: asyncpg.Pool, letter: DeadLetter) -> None:
    await pool.execute(
        "INSERT INTO dead_letters (event_id, source_topic, source_partition, source_offset, reason, detail, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        letter.event_id, letter.source_topic, letter.source_partition, letter.source_offset, letter.reason,
        letter.detail, letter.occurred_at,
    )
