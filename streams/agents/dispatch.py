"""dispatch.pending → decide (models.assignment) → dispatch.assignments, one region per partition."""

from __future__ import annotations

from functools import partial

import structlog
from pydantic import TypeAdapter

from models.assignment import decide_dispatch
from models.dispatch_events import ClaimRegistered, SurveyorAssigned
from streams import metrics
from streams.agents.record_loop import Record, parse, run_records
from streams.runtime import Runtime
from streams.store.dispatch_store import dispatch_claim

log = structlog.get_logger("claims_dispatch.dispatch")
_CLAIM = TypeAdapter(ClaimRegistered)


def make_handler(rt: Runtime):
    async def handle(record: Record) -> None:
        claim = parse(_CLAIM, record)
        now = rt.now()
        decide = partial(_decide, claim, rt, now)
        outputs, decision = await dispatch_claim(await rt.pool(), claim, rt.local_day_start(now), decide)
        await rt.publish_outbox(outputs)
        if decision is None:
            return
        metrics.DISPATCH_LATENCY.labels(claim.zone.value).observe(max(0.0, (now - claim.reported_at).total_seconds()))
        if isinstance(decision, SurveyorAssigned):
            metrics.DISPATCH_DECISIONS.labels("assigned", "").inc()
            metrics.PREDICTED_ON_TIME.labels(claim.zone.value, str(decision.meets_deadline).lower()).inc()
            log.info("surveyor_assigned", event_id=str(claim.event_id), report_id=claim.report_id,
                     task_id=str(decision.task_id), surveyor_id=decision.surveyor_id, zone=claim.zone.value,
                     meets_deadline=decision.meets_deadline)
        else:
            metrics.DISPATCH_DECISIONS.labels("escalated", decision.reason.value).inc()
            log.warning("dispatch_escalated", event_id=str(claim.event_id), report_id=claim.report_id,
                        reason=decision.reason.value, zone=claim.zone.value)

    return handle


def _decide(claim: ClaimRegistered, rt: Runtime, now, surveyors, vehicles, exclude):
    return decide_dispatch(claim, surveyors, vehicles, rt.rules, rt.travel, now, exclude)


def register(app, rt: Runtime, topics) -> None:
    handle = make_handler(rt)

    @app.agent(topics["dispatch.pending"], name="dispatch")
    async def dispatch(stream):
        await run_records("dispatch", rt, stream, handle)
