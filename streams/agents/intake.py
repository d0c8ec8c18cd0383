"""hotline.reports → claim stored → dispatch.pending (re-keyed by region), or a dead letter."""

from __future__ import annotations

import structlog

from models.intake import Rejected, register_report
from streams import metrics
from streams.agents.record_loop import Record, Refused, run_records
from streams.runtime import Runtime
from streams.store.claims_store import register_claim

log = structlog.get_logger("claims_dispatch.intake")


def make_handler(rt: Runtime):
    async def handle(record: Record) -> None:
        metrics.REPORTS_RECEIVED.inc()
        now = rt.now()
        result = register_report(record.value, await rt.regions(), rt.rules, now)
        if isinstance(result, Rejected):
            raise Refused(result.reason.value, result.detail)
        if result.report.report_id in rt.settings.fault_injection_report_ids:
            raise RuntimeError("injected fault (fault drill)")
        outputs, new = await register_claim(await rt.pool(), result, now)
        await rt.publish_outbox(outputs)
        if new:
            metrics.REPORTS_REGISTERED.inc()
        else:
            metrics.REPORTS_DUPLICATE.inc()
        log.info("report_registered" if new else "report_duplicate", event_id=str(result.report.event_id),
                 report_id=result.report.report_id, region_id=result.claim.region_id, zone=result.claim.zone.value)

    return handle


def register(app, rt: Runtime, topics) -> None:
    handle = make_handler(rt)

    @app.agent(topics["hotline.reports"], name="intake")
    async def intake(stream):
        await run_records("intake", rt, stream, handle, metrics.REPORTS_DEAD_LETTERED)
