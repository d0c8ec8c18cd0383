"""policy.events, complaints.events, claims.events → callback decision (eligibility, sampling) → callbacks.tasks."""

from __future__ import annotations

import structlog
from pydantic import TypeAdapter

from models.contract.business_events import ClaimClosed, ComplaintEvent, PolicyEvent
from streams.handlers.counting import count_decision
from streams.handlers.records import Record, parse
from streams.runtime import Runtime
from streams.services.callbacks import on_business_event

log = structlog.get_logger("claims_dispatch.callbacks")
_ADAPTERS = {"policy.events": TypeAdapter(PolicyEvent), "complaints.events": TypeAdapter(ComplaintEvent),
             "claims.events": TypeAdapter(ClaimClosed)}
TOPICS = tuple(_ADAPTERS)


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
