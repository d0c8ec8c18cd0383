"""policy.events, complaints.events, claims.events → callback decision (eligibility, sampling) → callbacks.tasks."""

from __future__ import annotations

import structlog
from pydantic import TypeAdapter

from models.contract.business_events import ClaimClosed, ComplaintEvent, PolicyEvent
from streams import metrics
from streams.agents.record_loop import Record, parse, run_records
from streams.runtime import Runtime
from streams.services.callbacks import CallbackDecision, on_business_event

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
        async with rt.unit_of_work("callback-triggers") as uow:
            decision = await on_business_event(uow, event, rt.now(), rt.callbacks)
        await rt.publish_outbox(uow.outputs)
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
