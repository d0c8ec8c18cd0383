"""`claims-dispatch audit`: every loss report and trigger accounted for, nothing done twice.

Reads the input topics from the beginning (what the outside world sent) and
PostgreSQL (what the system did), for reports and events in a time range, and
lists every discrepancy. Exit code 1 when any is found: operators can run it on
its own, and every fault test is judged by it.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg
from aiokafka import TopicPartition
from pydantic import TypeAdapter, ValidationError

from models.contract.business_events import ClaimClosed, ComplaintEvent, PolicyEvent
from models.callbacks.eligibility import trigger_for
from models.callbacks.rules import CallbackRules
from models.contract.dead_letter import DeadLetter
from models.contract.desk_commands import DispatchCommand
from models.dispatch.tasks import DispatchState
from models.contract.loss_report import LossReported
from streams.topic_names import on_broker
from streams.kafka_clients import unmanaged_consumer
from streams.store.states import CALLBACK_OPEN_SQL, WITHDRAWN_SQL

_COMMAND = TypeAdapter(DispatchCommand)
_ADAPTERS = {"policy.events": TypeAdapter(PolicyEvent), "complaints.events": TypeAdapter(ComplaintEvent),
             "claims.events": TypeAdapter(ClaimClosed)}


@dataclass
class AuditResult:
    checks: dict[str, list[str]] = field(default_factory=dict)  # check → offending ids (empty: clean)
    counted: dict[str, int] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not any(self.checks.values())

    def render(self) -> str:
        lines = [f"{'check':<58} {'found':>6}"]
        for name, bad in self.checks.items():
            lines.append(f"{name:<58} {len(bad):>6}" + (f"   e.g. {', '.join(bad[:3])}" if bad else ""))
        lines.append("counted: " + ", ".join(f"{k} {v}" for k, v in self.counted.items()))
        lines.append("CLEAN" if self.clean else "PROBLEMS FOUND")
        return "\n".join(lines)


async def read_topic(bootstrap: str, topic: str, timeout_s: float = 30) -> list[bytes]:
    """Every record of a topic, from the beginning to the end offsets as of now."""
    topic = on_broker(topic)
    consumer = unmanaged_consumer(bootstrap)
    try:
        await consumer.start()
        parts = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or set())]
        if not parts:
            await consumer._client.force_metadata_update()  # first contact: metadata may not be loaded yet
            parts = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or set())]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        values: list[bytes] = []
        deadline = asyncio.get_running_loop().time() + timeout_s
        async def behind() -> bool:
            return any([await consumer.position(tp) < ends[tp] for tp in parts])

        while await behind():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"could not read {topic} to its end within {timeout_s} s")
            for records in (await consumer.getmany(timeout_ms=200)).values():
                values.extend(r.value for r in records if r.value is not None)
        return values
    finally:
        await consumer.stop()


async def audit(bootstrap: str, database_url: str, since: datetime, until: datetime, rules: CallbackRules,
                dispatch_within: timedelta, now: datetime) -> AuditResult:
    result = AuditResult()
    reports: dict[str, LossReported] = {}
    undecodable = 0
    for raw in await read_topic(bootstrap, "hotline.reports"):
        try:
            r = LossReported.model_validate_json(raw)
        except ValidationError:
            undecodable += 1
            continue
        if since <= r.occurred_at < until:
            reports.setdefault(r.report_id, r)
    refused: set[str] = set()  # report ids that intake dead-lettered (semantically invalid: future, outside area)
    for raw in await read_topic(bootstrap, "hotline.reports.dlq"):
        try:
            original = json.loads(DeadLetter.model_validate_json(raw).original_value())
            refused.add(str(original.get("report_id")))
        except (ValidationError, ValueError, AttributeError):
            continue
    commands = []
    for raw in await read_topic(bootstrap, "dispatch.commands"):
        try:
            c = _COMMAND.validate_json(raw)
        except ValidationError:
            continue  # a dead letter (counted by the worker), not a command
        if since <= c.issued_at < until:
            commands.append(c.command_id)
    triggers = []
    for topic, adapter in _ADAPTERS.items():
        for raw in await read_topic(bootstrap, topic):
            try:
                event = adapter.validate_json(raw)
            except ValidationError:
                continue
            if since <= event.occurred_at < until and trigger_for(event, rules) is not None:
                triggers.append(event.event_id)
    conn = await asyncpg.connect(database_url)
    try:
        claims = {r["report_id"]: r for r in await conn.fetch(
            "SELECT report_id, dispatch_state, pending_since FROM claims WHERE report_id = ANY($1::text[])",
            list(reports))}
        tasks = {r["report_id"]: r["n"] for r in await conn.fetch(
            f"SELECT report_id, count(*) AS n FROM survey_tasks WHERE status NOT IN {WITHDRAWN_SQL}"
            " AND report_id = ANY($1::text[]) GROUP BY report_id", list(reports))}
        escalated = {r["report_id"] for r in await conn.fetch(
            "SELECT DISTINCT report_id FROM escalations WHERE report_id = ANY($1::text[])", list(reports))}
        dead = await conn.fetchval("SELECT count(*) FROM dead_letters WHERE source_topic = 'hotline.reports'")
        result.checks["report without a claim or a dead letter"] = sorted(set(reports) - set(claims) - refused)
        result.checks["report with more than one assignment"] = sorted(r for r, n in tasks.items() if n > 1)
        result.checks["report neither assigned nor escalated (past the dispatch limit)"] = sorted(
            rid for rid, c in claims.items()
            if tasks.get(rid, 0) == 0 and rid not in escalated and c["pending_since"] < now - dispatch_within
            and c["dispatch_state"] not in (DispatchState.CANCELLED, DispatchState.LINKED))
        result.checks["surveyor with two live tasks"] = [r["surveyor_id"] for r in await conn.fetch(
            "SELECT surveyor_id FROM survey_tasks WHERE live GROUP BY surveyor_id HAVING count(*) > 1")]
        result.checks["report linked to another claim and still with a task of its own"] = [
            r["report_id"] for r in await conn.fetch(
                "SELECT c.report_id FROM claims c JOIN survey_tasks t USING (report_id)"
                " WHERE c.dispatch_state = $1 AND t.live", DispatchState.LINKED.value)]
        result.checks["vehicle with two live tasks"] = [r["vehicle_id"] for r in await conn.fetch(
            "SELECT vehicle_id FROM survey_tasks WHERE live GROUP BY vehicle_id HAVING count(*) > 1")]
        decided = {r["source_event_id"] for r in await conn.fetch(
            "SELECT source_event_id FROM callback_decisions WHERE source_event_id = ANY($1::uuid[])", triggers)}
        result.checks["trigger without a callback decision"] = sorted(str(t) for t in set(triggers) - decided)
        result.checks["callback task past due, neither ended nor marked overdue"] = [str(r["task_id"]) for r in
            await conn.fetch(f"SELECT task_id FROM callback_tasks WHERE state = {CALLBACK_OPEN_SQL} AND due_at < $1"
                             " AND overdue_at IS NULL", now)]
        result.checks["duplicate callback tasks for one trigger"] = [str(r["source_event_id"]) for r in
            await conn.fetch("SELECT source_event_id FROM callback_tasks GROUP BY source_event_id"
                             " HAVING count(*) > 1")]
        result.checks["duplicate findings"] = [str(r["task_id"]) for r in await conn.fetch(
            "SELECT task_id FROM findings GROUP BY task_id, kind, text HAVING count(*) > 1")]
        audited = {r["command_id"] for r in await conn.fetch(
            "SELECT command_id FROM desk_commands WHERE command_id = ANY($1::uuid[])", commands)}
        result.checks["dispatcher's command without a decision and audit row"] = sorted(
            str(c) for c in set(commands) - audited)
        result.checks["duplicate claims for one report id"] = []  # report_id is the primary key: by construction
        result.counted = {"reports": len(reports), "undecodable inputs": undecodable, "dead letters": dead,
                          "claims": len(claims), "assigned": sum(1 for n in tasks.values() if n),
                          "escalated": len(escalated), "callback triggers": len(triggers),
                          "dispatchers' commands": len(commands)}
    finally:
        await conn.close()
    return result
