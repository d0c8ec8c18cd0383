"""policy.events, complaints.events, claims.events → callback decision (eligibility, sampling) → callbacks.tasks."""

from __future__ import annotations

import structlog
from pydantic import TypeAdapter

from models.business_events import ClaimClosed, ComplaintEvent, PolicyEvent
from models.callback_eligibility import trigger_for
from streams import metrics
from streams.agents.record_loop import Record, parse, run_records
from streams.runtime import Runtime
from streams.store.callbacks_store import CallbackDecision, decide_callback
from streams.store.outbox import add_outputs, claim_event, outputs_of

log = structlog.get_logger("claims_dispatch.callbacks")
_ADAPTERS = {"policy.events": TypeAdapter(PolicyEvent), "complaints.events": TypeAdapter(ComplaintEvent),
             "claims.events": TypeAdapter(ClaimClosed)}
TOPICS = tuple(_ADAPTERS)


def count_decision(d: CallbackDecision) -> None:
    if d.kind is None:
        return
    metrics.CALLBACK_TRIGGERS.labels(d.kind).inc()
    if d.excluded:
        metrics.CALLBACK_EXCLUSIONS.labels(d.kind, d.excluded).inc()
        return
    metrics.CALLBACKS_ELIGIBLE.labels(d.kind).inc()
    if d.selected:
        metrics.CALLBACKS_SCHEDULED.labels(d.kind).inc()


def make_handler(rt: Runtime):
    async def handle(record: Record) -> None:
        event = parse(_ADAPTERS[record.topic], record)
        trigger = trigger_for(event, rt.callback_rules)
        pool = await rt.pool()
        decision = CallbackDecision()
        async with pool.acquire() as conn, conn.transaction():
            if not await claim_event(conn, "callback-triggers", event.event_id):
                outputs = await outputs_of(conn, "callback-triggers", event.event_id)
            elif trigger is None:
                outputs = []
            else:
                decision = await decide_callback(conn, trigger, rt.now(), rt.callback_rules, rt.calendar)
                outputs = decision.outputs
                await add_outputs(conn, "callback-triggers", event.event_id, outputs)
        await rt.publish_outbox(outputs)
        count_decision(decision)
        log.info("callback_trigger", event_id=str(event.event_id), type=event.type, kind=decision.kind,
                 excluded=decision.excluded, selected=decision.selected,
                 provisional_calendar=decision.provisional)

    return handle


def register(app, rt: Runtime, topics) -> None:
    handle = make_handler(rt)
    channel = app.topic(*TOPICS, value_type=bytes, key_type=bytes, value_serializer="raw", key_serializer="raw")

    @app.agent(channel, name="callback-triggers")
    async def callback_triggers(stream):
        await run_records("callback-triggers", rt, stream, handle)
