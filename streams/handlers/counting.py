"""Counting what dispatch and the callback rules decided: one place for every handler that decides."""

from __future__ import annotations

import structlog

from models.contract.dispatch_events import SurveyorReassigned
from models.dispatch.planner import RegionPlan
from streams import metrics
from streams.services.callbacks import CallbackDecision

log = structlog.get_logger("claims_dispatch.dispatch")


def count_plan(plan: RegionPlan | None, now) -> None:
    if plan is None:
        return
    for a in plan.assigned:
        if isinstance(a, SurveyorReassigned):
            metrics.REASSIGNMENTS.labels(a.reason).inc()
            metrics.DISPATCH_DECISIONS.labels("reassigned", a.reason).inc()
        else:
            metrics.DISPATCH_DECISIONS.labels("assigned", "").inc()
            metrics.DISPATCH_LATENCY.labels(a.zone.value).observe(max(0.0, (now - a.reported_at).total_seconds()))
        metrics.PREDICTED_ON_TIME.labels(a.zone.value, str(a.meets_deadline).lower()).inc()
        log.info("surveyor_assigned", report_id=a.report_id, task_id=str(a.task_id), surveyor_id=a.surveyor_id,
                 zone=a.zone.value, meets_deadline=a.meets_deadline, reassigned=isinstance(a, SurveyorReassigned))
    if plan.withdrawn:  # surveyors turned round on the way to a claim of a lower class: what that claim lost
        metrics.DISPATCH_DECISIONS.labels("withdrawn", "diverted").inc(len(plan.withdrawn))
        log.info("surveyors_turned_round", claims=len(plan.withdrawn),
                 given_up=[w.report_id for w in plan.withdrawn], surveyor_ids=[w.surveyor_id for w in plan.withdrawn])
    # Escalations: one line per reason and plan (a storm escalates thousands of claims a minute; a line
    # each drowned every other warning and cost the worker more than writing them to the database).
    escalated: dict[str, list[str]] = {}
    for e in plan.escalated:
        escalated.setdefault(e.reason.value, []).append(e.report_id)
    for reason, report_ids in escalated.items():
        metrics.ESCALATIONS.labels(reason).inc(len(report_ids))
        metrics.DISPATCH_DECISIONS.labels("escalated", reason).inc(len(report_ids))
        log.warning("dispatch_escalated", reason=reason, claims=len(report_ids), report_ids=report_ids)


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
