"""One unit of work: a transaction, the inbox rows of the events it handles, and the outbox records of
what it decided, committed together. Every consumer goes through it, so that a redelivered event
changes nothing and republishes what its first handling produced and never published."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from streams.codec import Outgoing
from streams.store.outbox import add_outbox, claim_events, outputs_of_many


class UnitOfWork:
    """Handed to a handler inside ``unit_of_work``: ``conn`` for the stores, the inbox through
    ``first_time``, the outbox through ``queue``; ``outputs`` once it has committed."""

    def __init__(self, conn: asyncpg.Connection, consumer: str) -> None:
        self.conn = conn
        self.consumer = consumer
        self._queued: list[tuple[uuid.UUID, Outgoing]] = []
        self._replayed: list[Outgoing] = []
        #: Seconds the COMMIT took (None until committed).
        self.commit_seconds: float | None = None

    async def first_time(self, event_id: uuid.UUID) -> bool:
        """Record that this consumer handles ``event_id``. False for a redelivery: what its first handling
        produced and has not been published is taken up again (``outputs``)."""
        return bool(await self.first_times([event_id]))

    async def first_times(self, event_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        """``first_time`` for a batch, in two statements at most; returns the ids not seen before."""
        fresh = await claim_events(self.conn, self.consumer, event_ids)
        again = [e for e in dict.fromkeys(event_ids) if e not in fresh]
        if again:
            self._replayed += await outputs_of_many(self.conn, self.consumer, again)
        return fresh

    def queue(self, source_event_id: uuid.UUID, outputs: list[Outgoing]) -> None:
        """Records to publish, kept with the event that produced them (a redelivery of it republishes them)."""
        self._queued += [(source_event_id, o) for o in outputs]

    @property
    def outputs(self) -> list[Outgoing]:
        """What to publish once committed: the records taken up again, then the new ones, in order."""
        return self._replayed + [o for _, o in self._queued]


@asynccontextmanager
async def unit_of_work(pool: asyncpg.Pool, consumer: str) -> AsyncIterator[UnitOfWork]:
    """``async with unit_of_work(pool, "intake") as uow``: committed when the block ends, rolled back
    (inbox rows included, so the event is handled again) when it raises."""
    async with pool.acquire() as conn:
        uow = UnitOfWork(conn, consumer)
        async with conn.transaction():
            yield uow
            await add_outbox(conn, consumer, uow._queued)
            committing = time.perf_counter()
        uow.commit_seconds = time.perf_counter() - committing  # leaving the block committed: the WAL on disk
