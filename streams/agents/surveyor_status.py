"""surveyor.status → task progress; a decline sends the claim back to dispatch."""

from __future__ import annotations

import structlog
from pydantic import TypeAdapter

from models.surveyor_events import SurveyorStatus
from streams.agents.record_loop import Record, Refused, parse, run_records
from streams.runtime import Runtime
from streams.store.dispatch_store import UnknownTask, apply_surveyor_status

log = structlog.get_logger("claims_dispatch.surveyor_status")
_STATUS = TypeAdapter(SurveyorStatus)


def make_handler(rt: Runtime):
    async def handle(record: Record) -> None:
        event = parse(_STATUS, record)
        try:
            outputs = await apply_surveyor_status(await rt.pool(), event, rt.now())
        except UnknownTask as exc:
            raise Refused("unknown_task", str(exc)) from None
        await rt.publish_outbox(outputs)
        log.info("surveyor_status", event_id=str(event.event_id), surveyor_id=event.surveyor_id, type=event.type,
                 report_id=getattr(event, "report_id", None))

    return handle


def register(app, rt: Runtime, topics) -> None:
    handle = make_handler(rt)

    @app.agent(topics["surveyor.status"], name="surveyor-status")
    async def surveyor_status(stream):
        await run_records("surveyor-status", rt, stream, handle)
