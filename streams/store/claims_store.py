"""Dead letters: what was refused, kept for the audit and the monthly report."""

from __future__ import annotations


import asyncpg

from models.contract.dead_letter import DeadLetter


async def record_dead_letter(pool: asyncpg.Pool, letter: DeadLetter) -> None:
    await pool.execute(
        "INSERT INTO dead_letters (event_id, source_topic, source_partition, source_offset, reason, detail, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        letter.event_id, letter.source_topic, letter.source_partition, letter.source_offset, letter.reason,
        letter.detail, letter.occurred_at,
    )
