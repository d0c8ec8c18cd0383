"""Inbox and outbox: the bookkeeping that makes redelivery change nothing.

An effect and the id of the event that caused it are committed together; the
events the effect produced are committed with them, so a redelivered input
republishes the very same records instead of deciding again.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from streams.codec import Outgoing


async def claim_events(conn: asyncpg.Connection, consumer: str, event_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Record that ``consumer`` handles these events, in one statement; returns the ids it had not handled
    before (an id repeated counts once)."""
    rows = await conn.fetch(
        "INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING RETURNING event_id",
        consumer, event_ids,
    )
    return {r["event_id"] for r in rows}


async def add_outbox(conn: asyncpg.Connection, consumer: str, rows: list[tuple[uuid.UUID, Outgoing]]) -> None:
    """Outbox records of a batch, each with the input event it came from, in one statement (in order: unnest
    yields the arrays' order, so ``seq`` follows it)."""
    if rows:
        await conn.execute(
            "INSERT INTO outbox (event_id, consumer, source_event_id, topic, key, value)"
            " SELECT e, $1, s, t, k, v FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::bytea[], $6::bytea[])"
            " AS x(e, s, t, k, v) ON CONFLICT (event_id) DO NOTHING",
            consumer, [uuid.UUID(o.event_id) for _, o in rows], [src for src, _ in rows], [o.topic for _, o in rows],
            [o.key for _, o in rows], [o.value for _, o in rows],
        )


async def outputs_of_many(conn: asyncpg.Connection, consumer: str, source_event_ids: list[uuid.UUID]) -> list[Outgoing]:
    """The records earlier handlings of these events produced and may not have published, in the order
    they were stored.

    Records the broker acknowledged are marked published and not sent again, so
    a plain redelivery puts nothing new on the output topics; a crash between
    publishing and marking re-sends the same event ids, which consumers dedupe.
    """
    if not source_event_ids:
        return []
    rows = await conn.fetch(
        "SELECT topic, key, value, event_id FROM outbox"
        " WHERE consumer = $1 AND source_event_id = ANY($2::uuid[]) AND published_at IS NULL ORDER BY seq",
        consumer, source_event_ids,
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


#: Rows deleted per statement by ``prune``: short transactions, and vacuum keeps up.
PRUNE_CHUNK = 20_000


async def prune(pool: asyncpg.Pool, inbox_before: datetime, outbox_before: datetime) -> tuple[int, int] | None:
    """Delete inbox rows processed before ``inbox_before`` and published outbox records published before
    ``outbox_before``, in chunks; returns how many of each, or None when another worker is pruning.

    An inbox row must outlive its event on the input topic (a replay would otherwise apply it again); an
    outbox record, once published, only spares a redelivered input from republishing it, and a
    redelivery comes from the topic too. Unpublished records are never deleted (the relay needs them).
    Old rows sit at the start of the tables (written in time order), where each chunk's scan finds them.
    """
    async with pool.acquire() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext('retention'))"):
            return None
        try:
            counts = []
            for statement, before in (
                ("DELETE FROM inbox WHERE ctid = ANY(ARRAY(SELECT ctid FROM inbox WHERE processed_at < $1 LIMIT $2))",
                 inbox_before),
                ("DELETE FROM outbox WHERE ctid = ANY(ARRAY(SELECT ctid FROM outbox"
                 " WHERE published_at < $1 LIMIT $2))", outbox_before),
            ):
                total = 0
                while True:
                    deleted = int((await conn.execute(statement, before, PRUNE_CHUNK)).split()[-1])
                    total += deleted
                    if deleted < PRUNE_CHUNK:
                        break
                counts.append(total)
            return counts[0], counts[1]
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext('retention'))")
