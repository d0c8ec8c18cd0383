"""surveyor.status → task progress and duty; a decline or a finished survey re-plans the region."""

from __future__ import annotations

import structlog
from pydantic import TypeAdapter

from models.business_events import CustomerContact
from models.callback_eligibility import survey_trigger
from models.surveyor_events import SurveyorStatus
from streams import metrics
from streams.agents.callback_triggers import count_decision
from streams.agents.dispatch_metrics import count_plan
from streams.agents.record_loop import Record, Refused, parse, run_records
from streams.runtime import Runtime
from streams.store.callbacks_store import decide_callback
from streams.store.dispatch_store import UnknownTask, apply_surveyor_status

log = structlog.get_logger("claims_dispatch.surveyor_status")
_STATUS = TypeAdapter(SurveyorStatus)


def make_handler(rt: Runtime):
    async def survey_callback(conn, completed, report):
        """A finished survey calls for a survey & loss-assessment callback to the reporter."""
        contact = CustomerContact(customer_id=report.policy.number, name=report.reporter.name,
                                  phone=report.reporter.phone)
        trigger = survey_trigger(completed.event_id, completed.occurred_at, contact, report.report_id)
        decision = await decide_callback(conn, trigger, rt.now(), rt.callback_rules, rt.calendar)
        return decision.outputs, decision

    async def handle(record: Record) -> None:
        event = parse(_STATUS, record)
        now = rt.now()
        try:
            progress = await apply_surveyor_status(await rt.pool(), event, now, rt.local_day_start(now), rt.rules,
                                                   rt.planner(), survey_callback)
        except UnknownTask as exc:
            raise Refused("unknown_task", str(exc)) from None
        await rt.publish_outbox(progress.outputs)
        count_plan(progress.plan, now)
        if progress.callback is not None:
            count_decision(progress.callback)
        if progress.contact_after_s is not None:
            metrics.TIME_TO_CONTACT.labels(progress.zone).observe(max(0.0, progress.contact_after_s))
        if progress.scene_after_s is not None:
            metrics.TIME_TO_SCENE.labels(progress.zone).observe(max(0.0, progress.scene_after_s))
            metrics.ARRIVALS.labels(progress.zone, str(progress.on_time).lower()).inc()
        log.info("surveyor_status", event_id=str(event.event_id), surveyor_id=event.surveyor_id, type=event.type,
                 report_id=getattr(event, "report_id", None))

    return handle


def register(app, rt: Runtime, topics) -> None:
    handle = make_handler(rt)

    @app.agent(topics["surveyor.status"], name="surveyor-status")
    async def surveyor_status(stream):
        await run_records("surveyor-status", rt, stream, handle)
