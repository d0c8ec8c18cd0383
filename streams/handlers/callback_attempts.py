"""callbacks.attempts → task closed or next attempt (phone, then SMS) → callbacks.tasks; findings → feedback.routed."""

from __future__ import annotations

import structlog
from pydantic import TypeAdapter

from models.contract.callback_events import CallbackAttempted
from streams import metrics
from streams.handlers.records import Record, Refused, parse
from streams.runtime import Runtime
from streams.services.callbacks import UnknownCallbackTask, on_attempt

log = structlog.get_logger("claims_dispatch.callbacks")
_ATTEMPT = TypeAdapter(CallbackAttempted)


def make_handler(rt: Runtime):
    async def handle(record: Record) -> None:
        attempt = parse(_ATTEMPT, record)
        try:
            async with rt.unit_of_work("callback-attempts") as uow:
                applied = await on_attempt(uow, attempt, rt.now(), rt.callbacks)
        except UnknownCallbackTask as exc:
            raise Refused("unknown_task", str(exc)) from None
        await rt.publish_outbox(uow.outputs)
        if applied is not None and applied.counted:
            metrics.CALLBACK_ATTEMPTS.labels(applied.kind, attempt.channel.value, attempt.outcome.value).inc()
            if applied.closed_state:
                metrics.CALLBACKS_CLOSED.labels(applied.kind, applied.closed_state).inc()
                if applied.success:
                    metrics.CALLBACKS_SUCCEEDED.labels(applied.kind, attempt.channel.value).inc()
            for kind, department in applied.findings:
                metrics.FINDINGS_ROUTED.labels(kind, department).inc()
        log.info("callback_attempt", event_id=str(attempt.event_id), task_id=str(attempt.task_id),
                 outcome=attempt.outcome.value, closed=applied.closed_state if applied else None)

    return handle
