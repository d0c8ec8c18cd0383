"""The per-record loop every agent runs: nothing silently dropped, nothing crashes a partition.

- A record the handler refuses (``Refused``) or fails on becomes a dead letter
  on ``<topic>.dlq`` with the reason, and is counted; the stream goes on.
- When PostgreSQL cannot be reached the same record is retried with backoff:
  the offset is not committed past a failed write, and the worker does not crash.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import structlog
from pydantic import TypeAdapter, ValidationError

from models.dead_letter import dead_letter_for
from streams import metrics
from streams.codec import encode_dead_letter
from streams.runtime import Runtime
from streams.store.claims_store import record_dead_letter

log = structlog.get_logger("claims_dispatch.agents")

#: Failures that mean "the database is not there right now", not "this record is bad".
#: Includes a server shutting down or starting up (OperatorInterventionError: admin/crash shutdown, cannot
#: connect now), running out of connections, and asyncpg's InternalClientError ("another operation is in
#: progress"), seen on a connection the server dropped mid-statement during a restart. Retrying is safe:
#: every effect is idempotent (inbox/outbox).
TRANSIENT = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
             asyncpg.exceptions.OperatorInterventionError, asyncpg.exceptions.TooManyConnectionsError,
             asyncpg.exceptions.InternalClientError, asyncio.TimeoutError)


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


class Refused(Exception):
    """A record that is not processable: goes to the dead-letter topic with ``reason`` and ``detail``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


Handler = Callable[[Record], Awaitable[None]]


def parse(adapter: TypeAdapter, record: Record):
    """Decode a record with a model's type adapter, or refuse it with a readable reason."""
    try:
        return adapter.validate_json(record.value)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)[:5]  # inputs may be personal data
        detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(payload)'}: {e['msg']}" for e in errors)
        raise Refused("invalid_schema", detail) from None


async def run_records(agent: str, rt: Runtime, stream, handle: Handler, dead_letter_counter=None) -> None:
    """Consume ``stream`` record by record with ``handle``; see the module docstring."""
    async for event in stream.events():
        msg = event.message
        record = Record(msg.topic, msg.partition, msg.offset, msg.key, msg.value if msg.value is not None else b"")
        await _handle_one(agent, rt, record, handle, dead_letter_counter)
        metrics.EVENTS_HANDLED.labels(agent).inc()
        metrics.LAST_EVENT_TIME.labels(agent).set(time.time())


async def _handle_one(agent: str, rt: Runtime, record: Record, handle: Handler, dead_letter_counter) -> None:
    backoff = 0.2
    while True:
        try:
            with structlog.contextvars.bound_contextvars(topic=record.topic, partition=record.partition,
                                                         offset=record.offset):
                await handle(record)
            return
        except Refused as refused:
            await dead_letter(rt, record, refused.reason, refused.detail, dead_letter_counter)
            return
        except TRANSIENT as exc:
            metrics.STORE_RETRIES.labels(agent).inc()
            log.warning("store_unavailable_retrying", agent=agent, error=type(exc).__name__, retry_in_s=backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
        except Exception as exc:  # a bug must not kill the partition: dead-letter the record, keep flowing
            log.exception("handler_error", agent=agent)
            await dead_letter(rt, record, "handler_error", f"{type(exc).__name__} in {agent}", dead_letter_counter)
            return


async def dead_letter(rt: Runtime, record: Record, reason: str, detail: str, counter=None) -> None:
    letter = dead_letter_for(record.topic, record.partition, record.offset, record.key, record.value, reason, detail,
                             rt.now())
    await rt.publish([encode_dead_letter(record.topic, letter)])
    backoff = 0.2
    while True:
        try:
            await record_dead_letter(await rt.pool(), letter)
            break
        except TRANSIENT:
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
    metrics.DEAD_LETTERS.labels(record.topic, reason).inc()
    if counter is not None:
        counter.labels(reason).inc()
    log.warning("dead_lettered", reason=reason, detail=detail, dead_letter_id=str(letter.event_id))
