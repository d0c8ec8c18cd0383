"""dispatch.pending → plan the region (models.region_plan) → dispatch.assignments; one region per partition."""

from __future__ import annotations

import structlog
from pydantic import TypeAdapter

from models.dispatch_events import ClaimRegistered
from streams.agents.dispatch_metrics import count_plan
from streams.agents.record_loop import Record, parse, run_records
from streams.runtime import Runtime
from streams.store.dispatch_store import dispatch_claim

log = structlog.get_logger("claims_dispatch.dispatch")
_CLAIM = TypeAdapter(ClaimRegistered)


def make_handler(rt: Runtime):
    async def handle(record: Record) -> None:
        claim = parse(_CLAIM, record)
        now = rt.now()
        with structlog.contextvars.bound_contextvars(event_id=str(claim.event_id), report_id=claim.report_id):
            result = await dispatch_claim(await rt.pool(), claim, now, rt.local_day_start(now), rt.rules,
                                          rt.planner())
            await rt.publish_outbox(result.outputs)
            count_plan(result.plan, now)

    return handle


def register(app, rt: Runtime, topics) -> None:
    handle = make_handler(rt)

    @app.agent(topics["dispatch.pending"], name="dispatch")
    async def dispatch(stream):
        await run_records("dispatch", rt, stream, handle)
