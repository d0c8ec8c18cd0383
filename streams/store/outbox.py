"""Inbox and outbox: the bookkeeping that makes redelivery change nothing.

An effect and the id of the event that caused it are committed together; the
events the effect produced are committed with them, so a redelivered input
republishes the very same records instead of deciding again.
"""

from __future__ import annotations

import uuid

import asyncpg

from streams.codec import Outgoing


async def claim_event(conn: asyncpg.Connection, consumer: str, event_id: uuid.UUID) -> bool:
    """Record that ``consumer`` handles ``event_id``; False when it already did (a redelivery)."""
    row = await conn.fetchval(
        "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true",
        consumer, event_id,
    )
    return bool(row)


async def add_outputs(conn: asyncpg.Connection, consumer: str, source_event_id: uuid.UUID, outputs: list[Outgoing]) -> None:
    if outputs:
        await conn.executemany(
            "INSERT INTO outbox (event_id, consumer, source_event_id, topic, key, value) VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (event_id) DO NOTHING",
            [(uuid.UUID(o.event_id), consumer, source_event_id, o.topic, o.key, o.value) for o in outputs],
        )


async def outputs_of(conn: asyncpg.Connection, consumer: str, source_event_id: uuid.UUID) -> list[Outgoing]:
    """The records an earlier handling of this event produced and may not have published, in order.

    Records the broker acknowledged are marked published and not sent again, so
    a plain redelivery puts nothing new on the output topics; a crash between
    publishing and marking re-sends the same event ids, which consumers dedupe.
    """
    rows = await conn.fetch(
        "SELECT topic, key, value, event_id FROM outbox"
        " WHERE consumer = $1 AND source_event_id = $2 AND published_at IS NULL ORDER BY seq",
        consumer, source_event_id,
    )
    return [Outgoing(r["topic"], bytes(r["key"]), bytes(r["value"]), str(r["event_id"])) for r in rows]


async def mark_published(pool: asyncpg.Pool, outputs: list[Outgoing]) -> None:
    if outputs:
        await pool.execute(
            "UPDATE outbox SET published_at = now() WHERE event_id = ANY($1::uuid[]) AND published_at IS NULL",
            [o.event_id for o in outputs],
        )


async def unpublished(pool: asyncpg.Pool, older_than_s: float, limit: int = 500) -> list[Outgoing]:
    """Records committed but not acknowledged by the broker for a while (a worker died in between): the relay resends them."""
    rows = await pool.fetch(
        "SELECT topic, key, value, event_id FROM outbox WHERE published_at IS NULL"
        " AND created_at < now() - make_interval(secs => $1) ORDER BY seq LIMIT $2",
        older_than_s, limit,
    )
    return [Outgoing(r["topic"], bytes(r["key"]), bytes(r["value"]), str(r["event_id"])) for r in rows]
