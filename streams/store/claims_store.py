"""Claims from intake, and dead letters: each write one transaction with its inbox row."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from models.dead_letter import DeadLetter
from models.intake import Accepted
from streams.codec import Outgoing, encode
from streams.store.outbox import add_outputs, claim_event, outputs_of


async def register_claim(pool: asyncpg.Pool, accepted: Accepted, received_at: datetime) -> tuple[list[Outgoing], bool]:
    """Store a new claim (pending dispatch) and queue it for its region. Returns (records to publish, whether new).

    A redelivered event republishes what it produced and never published; a
    report whose id is already known (re-sent with a new event id) produces nothing.
    """
    report, claim = accepted.report, accepted.claim
    async with pool.acquire() as conn, conn.transaction():
        if not await claim_event(conn, "intake", report.event_id):
            return await outputs_of(conn, "intake", report.event_id), False
        inserted = await conn.fetchval(
            """
            INSERT INTO claims (report_id, event_id, reported_at, loss_time, received_at, region_id, zone,
                                loss_type, policy_no, deadline_at, report, pending_since)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $5)
            ON CONFLICT (report_id) DO NOTHING RETURNING true
            """,
            report.report_id, report.event_id, report.occurred_at, report.loss_time, received_at, claim.region_id,
            claim.zone.value, report.loss_type.value, report.policy.number, claim.deadline_at, report.model_dump_json(),
        )
        if not inserted:
            return [], False
        outputs = [encode("dispatch.pending", claim)]
        await add_outputs(conn, "intake", report.event_id, outputs)
        return outputs, True


async def record_dead_letter(pool: asyncpg.Pool, letter: DeadLetter) -> None:
    await pool.execute(
        "INSERT INTO dead_letters (event_id, source_topic, source_partition, source_offset, reason, detail, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        letter.event_id, letter.source_topic, letter.source_partition, letter.source_offset, letter.reason,
        letter.detail, letter.occurred_at,
    )
