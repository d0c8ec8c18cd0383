"""surveyor.status → task progress and duty; a decline or a finished survey re-plans the region."""

from __future__ import annotations

import structlog
from pydantic import TypeAdapter

from models.contract.surveyor_events import SurveyorStatus
from streams import metrics
from streams.handlers.counting import count_decision
from streams.handlers.counting import count_plan
from streams.handlers.records import Record, Refused, parse
from streams.runtime import Runtime
from streams.services.dispatch import UnknownTask, apply_surveyor_status

log = structlog.get_logger("claims_dispatch.surveyor_status")
_STATUS = TypeAdapter(SurveyorStatus)


def make_handler(rt: Runtime):
    async def handle(record: Record) -> None:
        event = parse(_STATUS, record)
        now = rt.now()
        try:
            async with rt.unit_of_work("surveyor-status") as uow:
                progress = await apply_surveyor_status(uow, event, now, rt.local_day_start(now), rt.dispatcher,
                                                       rt.callbacks)
        except UnknownTask as exc:
            raise Refused("unknown_task", str(exc)) from None
        await rt.publish_outbox(uow.outputs)
        for plan in progress.plans:
            count_plan(plan, now)
        if progress.callback is not None:
            count_decision(progress.callback)
        if progress.sent_to_base:
            metrics.DISPATCH_DECISIONS.labels("sent_to_base", "").inc()
        if progress.contact_after_s is not None:
            metrics.TIME_TO_CONTACT.labels(progress.zone).observe(max(0.0, progress.contact_after_s))
        if progress.scene_after_s is not None:
            metrics.TIME_TO_SCENE.labels(progress.zone).observe(max(0.0, progress.scene_after_s))
            metrics.ARRIVALS.labels(progress.zone, str(progress.on_time).lower()).inc()
            if progress.estimate_error_s is not None:
                metrics.ARRIVAL_ESTIMATE_ERROR.labels(progress.zone).observe(progress.estimate_error_s)
            if progress.on_promise:
                metrics.ARRIVALS_ON_PROMISE.labels(progress.zone).inc()
        log.info("surveyor_status", event_id=str(event.event_id), surveyor_id=event.surveyor_id, type=event.type,
                 report_id=getattr(event, "report_id", None))

    return handle
