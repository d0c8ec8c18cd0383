"""dispatch.commands → a command decided and carried out (or refused) → dispatch.command_results, and what
it changed on dispatch.assignments; audited either way."""

from __future__ import annotations

import structlog
from pydantic import TypeAdapter

from models.contract.desk_commands import DispatchCommand
from streams import metrics
from streams.handlers.counting import count_plan
from streams.handlers.records import Record, parse
from streams.runtime import Runtime
from streams.services.desk import CONSUMER, apply_command

log = structlog.get_logger("claims_dispatch.desk")
_COMMAND = TypeAdapter(DispatchCommand)


def make_handler(rt: Runtime):
    async def handle(record: Record) -> None:
        command = parse(_COMMAND, record)
        now = rt.now()
        async with rt.unit_of_work(CONSUMER) as uow:
            done = await apply_command(uow, command, now, rt.local_day_start(now), rt.desk)
        await rt.publish_outbox(uow.outputs)
        if done.decision is None:
            log.info("desk_command_again", command_id=str(command.command_id), type=command.type)
            return
        result = done.decision.result
        metrics.DESK_COMMANDS.labels(command.type, result.outcome.value).inc()
        if command.type in ("merge_duplicate", "keep_apart") and done.decision.applied:
            metrics.DUPLICATE_REPORTS.labels("merged" if command.type == "merge_duplicate" else "kept_apart").inc()
        for refusal in result.refusals:
            metrics.DESK_REFUSALS.labels(refusal.value).inc()
        for plan in done.plans:
            count_plan(plan, now)
        log.info("desk_command", command_id=str(command.command_id), type=command.type,
                 dispatcher_id=command.dispatcher_id, outcome=result.outcome.value,
                 refusals=[r.value for r in result.refusals], report_id=result.report_id,
                 surveyor_id=result.surveyor_id, forced_by=command.forced_by)

    return handle
