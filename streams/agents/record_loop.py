"""The loops every agent runs: nothing silently dropped, nothing crashes a partition.

- A record the handler refuses (``Refused``) or fails on becomes a dead letter
  on ``<topic>.dlq`` with the reason, and is counted; the stream goes on.
- When PostgreSQL or the broker cannot be reached the same record (or batch) is retried with
  backoff: the offset is not committed past a failed write, and the worker does not crash.
- Nothing that fails outside the handler (publishing a dead letter, acknowledging) drops the events
  in hand: the same events are taken again, with backoff, until they are done. An exception escaping
  an agent would leave them unacknowledged but behind the consumer's position: not handled again until
  the worker restarts, and the committed offset stuck before them.

``run_records`` handles one record at a time. ``run_batches`` (the high-volume agents) takes
what has arrived, up to a limit, and applies it in one transaction: records are prepared
(decoded, validated) one by one, applied together, and acknowledged to Faust only after
they are applied; a batch that fails for a reason other than the database being away is
applied again record by record, so that only the record at fault is dead-lettered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import structlog
from aiokafka.errors import KafkaError, KafkaTimeoutError

from models.contract.dead_letter import dead_letter_for
from streams import metrics
from streams.topic_names import in_contract
from streams.codec import encode_dead_letter
from streams.runtime import Runtime
from streams.handlers.records import Record, Refused
from streams.store.claims_store import record_dead_letter

log = structlog.get_logger("claims_dispatch.agents")

#: Failures that mean "the database is not there right now", not "this record is bad".
#: Includes a server shutting down or starting up (OperatorInterventionError: admin/crash shutdown, cannot
#: connect now), running out of connections, and asyncpg's InternalClientError ("another operation is in
#: progress"), seen on a connection the server dropped mid-statement during a restart; and a deadlock the
#: server broke by aborting this transaction (rare: a roster load upserting regions while a batch bumps their
#: state versions). Retrying is safe: every effect is idempotent (inbox/outbox).
TRANSIENT = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
             asyncpg.exceptions.OperatorInterventionError, asyncpg.exceptions.TooManyConnectionsError,
             asyncpg.exceptions.InternalClientError, asyncpg.exceptions.DeadlockDetectedError, asyncio.TimeoutError)


def _unavailable(exc: BaseException) -> str | None:
    """``"database"`` or ``"broker"`` when ``exc`` means that one is not there right now, else None.

    A send the broker did not confirm in time (KafkaTimeoutError: aiokafka does not flag it retriable, as
    the record may have been written) is retried like the rest: what is sent again carries the same event
    id, and consumers dedupe by it.
    """
    if isinstance(exc, KafkaTimeoutError) or (isinstance(exc, KafkaError) and exc.retriable):
        return "broker"
    if isinstance(exc, TRANSIENT):
        return "database"
    return None


Handler = Callable[[Record], Awaitable[None]]
Prepare = Callable[[Record], Awaitable[Any]]               # decode/validate one record; may raise Refused
Apply = Callable[[list[tuple[Record, Any]]], Awaitable[None]]  # apply prepared records in one transaction


async def run_records(agent: str, rt: Runtime, stream, handle: Handler, dead_letter_counter=None) -> None:
    """Consume ``stream`` record by record with ``handle``; see the module docstring."""
    async for event in stream.events():
        record = _record(event, rt.settings.topic_prefix)
        await _until_done(agent, lambda: _one_or_dead_letter(agent, rt, record, handle, dead_letter_counter))
        metrics.EVENTS_HANDLED.labels(agent).inc()
        metrics.LAST_EVENT_TIME.labels(agent).set(time.time())


def _record(event, namespace: str) -> Record:
    msg = event.message
    return Record(in_contract(msg.topic, namespace), msg.partition, msg.offset, msg.key, msg.value if msg.value is not None else b"")


async def run_batches(agent: str, rt: Runtime, stream, prepare: Prepare, apply: Apply, dead_letter_counter=None,
                      max_batch: int = 1000) -> None:
    """Consume ``stream`` in batches: see the module docstring.

    Natural batching: while a batch is applied the stream keeps filling a queue, and the next batch is
    whatever waits there (up to ``max_batch``). Light traffic gives batches of one with no added wait;
    a backlog gives full batches. Events are read from a no-ack stream and acknowledged only once
    applied or dead-lettered, so a worker stopped in the middle of a batch commits nothing of it.
    """
    manual = stream.noack()
    queue: asyncio.Queue = asyncio.Queue(maxsize=max_batch)

    async def pump() -> None:
        async for event in manual.events():
            await queue.put(event)

    pumping = asyncio.ensure_future(pump())
    try:
        while True:
            getting = asyncio.ensure_future(queue.get())
            await asyncio.wait([getting, pumping], return_when=asyncio.FIRST_COMPLETED)
            if not getting.done():  # the stream ended (the worker stops) or failed
                getting.cancel()
                await pumping  # raises what the stream raised
                return
            events = [getting.result()]
            while len(events) < max_batch and not queue.empty():
                events.append(queue.get_nowait())
            await _until_done(agent, lambda: _run_batch(agent, rt, manual, events, prepare, apply,
                                                         dead_letter_counter))
    finally:
        pumping.cancel()


async def _until_done(agent: str, call: Callable[[], Awaitable[None]]) -> None:
    """``call()`` again, with backoff, until it returns: the events it works on are not given up.

    Handling is idempotent (inbox and outbox), so taking the same events again changes nothing that was
    done; a failure that repeats shows as a growing ``claims_agent_loop_errors_total`` and consumer lag,
    never as events skipped.
    """
    for backoff in _backoff():
        try:
            return await call()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            metrics.AGENT_LOOP_ERRORS.labels(agent).inc()
            log.exception("agent_loop_error_retrying", agent=agent, error=type(exc).__name__, retry_in_s=backoff)
            await asyncio.sleep(backoff)


async def _run_batch(agent: str, rt: Runtime, stream, events, prepare: Prepare, apply: Apply,
                     dead_letter_counter) -> None:
    started = time.perf_counter()
    prepared: list[tuple[Record, Any]] = []

    async def prepare_one(record: Record) -> None:
        prepared.append((record, await prepare(record)))

    for event in events:  # preparing may read the database too (the regions, when due for a reread)
        await _one_or_dead_letter(agent, rt, _record(event, rt.settings.topic_prefix), prepare_one, dead_letter_counter)
    if prepared:
        await _apply_batch(agent, rt, prepared, apply, dead_letter_counter)
    for event in events:
        await stream.ack(event)
    metrics.EVENTS_HANDLED.labels(agent).inc(len(events))
    metrics.BATCH_SIZE.labels(agent).observe(len(events))
    metrics.BATCH_SECONDS.labels(agent).observe(time.perf_counter() - started)
    metrics.LAST_EVENT_TIME.labels(agent).set(time.time())


async def _apply_batch(agent: str, rt: Runtime, prepared: list[tuple[Record, Any]], apply: Apply,
                       dead_letter_counter) -> None:
    if len(prepared) == 1:
        record = prepared[0][0]
        await _one_or_dead_letter(agent, rt, record, lambda _: apply(prepared), dead_letter_counter)
        return
    try:
        await _retrying(agent, lambda: apply(prepared))
    except Exception as exc:  # find the record at fault: the rest are applied on their own
        log.warning("batch_failed_applying_one_by_one", agent=agent, size=len(prepared), error=type(exc).__name__)
        for one in prepared:
            await _apply_batch(agent, rt, [one], apply, dead_letter_counter)


async def _one_or_dead_letter(agent: str, rt: Runtime, record: Record, handle: Handler, dead_letter_counter) -> None:
    """Handle one record, retrying while the database is away; refused or failing: a dead letter."""
    try:
        with structlog.contextvars.bound_contextvars(topic=record.topic, partition=record.partition,
                                                     offset=record.offset):
            await _retrying(agent, lambda: handle(record))
    except Refused as refused:
        await dead_letter(rt, record, refused.reason, refused.detail, dead_letter_counter, agent)
    except Exception as exc:  # a bug must not kill the partition: dead-letter the record, keep flowing
        log.exception("handler_error", agent=agent)
        await dead_letter(rt, record, "handler_error", f"{type(exc).__name__} in {agent}", dead_letter_counter, agent)


async def _retrying(agent: str | None, call: Callable[[], Awaitable[Any]]) -> Any:
    """``call()`` again, with backoff, for as long as it fails because PostgreSQL or the broker is not there."""
    for backoff in _backoff():
        try:
            return await call()
        except Exception as exc:
            away = _unavailable(exc)
            if away is None:
                raise
            if agent is not None:
                counter, event = ((metrics.STORE_RETRIES, "store_unavailable_retrying") if away == "database"
                                  else (metrics.BROKER_RETRIES, "broker_unavailable_retrying"))
                counter.labels(agent).inc()
                log.warning(event, agent=agent, error=type(exc).__name__, retry_in_s=backoff)
            await asyncio.sleep(backoff)


def _backoff():
    """Seconds to wait before each next try: 0.2, doubling, at most 5."""
    delay = 0.2
    while True:
        yield delay
        delay = min(delay * 2, 5.0)


async def dead_letter(rt: Runtime, record: Record, reason: str, detail: str, counter=None,
                      agent: str | None = None) -> None:
    letter = dead_letter_for(record.topic, record.partition, record.offset, record.key, record.value, reason, detail,
                             rt.now())
    await _retrying(agent, lambda: rt.publish([encode_dead_letter(record.topic, letter)]))
    await _retrying(None, lambda: _store_dead_letter(rt, letter))
    metrics.DEAD_LETTERS.labels(record.topic, reason).inc()
    if counter is not None:
        counter.labels(reason).inc()
    log.warning("dead_lettered", reason=reason, detail=detail, dead_letter_id=str(letter.event_id))


async def _store_dead_letter(rt: Runtime, letter) -> None:
    await record_dead_letter(await rt.pool(), letter)
