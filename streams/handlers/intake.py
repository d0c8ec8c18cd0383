"""hotline.reports → claims stored and decided → dispatch.assignments, or a dead letter. Batched.

Intake and dispatch are one step: a batch of reports is validated one by one
(models.dispatch.intake), then stored and planned, each region once, in one unit of work
(streams.services.dispatch.register_reports). One Faust hop per report.
"""

from __future__ import annotations

import structlog

from models.dispatch.intake import Accepted, Rejected, register_report
from streams import metrics
from streams.handlers.counting import count_plan
from streams.handlers.records import Record, Refused
from streams.runtime import Runtime
from streams.services.dispatch import Intake, keep_committed, register_reports
from streams.services.unit_of_work import UnitOfWork

log = structlog.get_logger("claims_dispatch.intake")


def commit_time(done: Intake, uow: UnitOfWork) -> float | None:
    """What ``claims_db_commit_seconds`` observes: the COMMIT of a batch that stored claims (a batch of
    redeliveries commits nothing to time)."""
    return uow.commit_seconds if done.new else None


def make_handlers(rt: Runtime):
    async def prepare(record: Record) -> Accepted:
        metrics.REPORTS_RECEIVED.inc()
        result = register_report(record.value, await rt.regions(), rt.rules, rt.now())
        if isinstance(result, Rejected):
            raise Refused(result.reason.value, result.detail)
        return result

    async def apply(batch: list[tuple[Record, Accepted]]) -> None:
        if any(a.report.report_id in rt.settings.fault_injection_report_ids for _, a in batch):
            # Fault drill: a bug while applying, so that the whole batch fails and is applied again
            # record by record, and only this report is dead-lettered.
            raise RuntimeError("injected fault (fault drill)")
        now = rt.now()
        async with rt.unit_of_work("intake") as uow:
            done = await register_reports(uow, [accepted for _, accepted in batch], now, rt.local_day_start(now),
                                          rt.dispatcher)
        keep_committed(rt.region_states, done.planned)
        if (seconds := commit_time(done, uow)) is not None:
            metrics.COMMIT_SECONDS.labels("intake").observe(seconds)
        await rt.publish_outbox(uow.outputs)
        hits, misses = rt.region_states.take_counts()
        metrics.REGION_STATE_READS.labels("memory").inc(hits)
        metrics.REGION_STATE_READS.labels("database").inc(misses)
        metrics.REPORTS_REGISTERED.inc(len(done.new))
        metrics.REPORTS_DUPLICATE.inc(len(batch) - len(done.new))
        metrics.DUPLICATE_REPORTS.labels("linked").inc(len(done.linked))
        metrics.DUPLICATE_REPORTS.labels("flagged").inc(len(done.flagged))
        # One line a batch; each report's decision has its own line (count_plan), the registration
        # itself only at debug level (a storm's log would otherwise double).
        log.info("reports_registered", new=len(done.new), duplicates=len(done.duplicates), regions=len(done.plans),
                 linked=len(done.linked), flagged=len(done.flagged))
        for rid, m in done.linked.items():
            log.info("report_linked_to_claim", report_id=rid, linked_to=m.other, score=m.score,
                     evidence=[e.value for e in m.evidence])
        for a in done.new:
            log.debug("report_registered", event_id=str(a.report.event_id), report_id=a.report.report_id,
                      region_id=a.claim.region_id, zone=a.claim.zone.value)
        for a in done.duplicates:
            log.info("report_duplicate", event_id=str(a.report.event_id), report_id=a.report.report_id)
        for plan in done.plans:
            count_plan(plan, now)

    return prepare, apply
