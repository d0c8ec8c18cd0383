"""The outbound dialer and SMS gateway, simulated: phone reach ~70% per attempt, SMS delivered ~95%.

Ignores `not_before` (a demo compresses days into seconds): it reports each
attempt a moment after the task arrives.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timezone

from pydantic import TypeAdapter

from models.contract.callback_events import (AttemptOutcome, CallbackAttempted, CallbackTaskIssued, Channel, Finding,
                                    FindingKind)
from models.contract.event import derived_event_id
from streams.topic_names import on_broker
from streams.codec import encode

_TASK = TypeAdapter(CallbackTaskIssued)
_FINDINGS = [(FindingKind.CONSULTATION, "asked how to add a named driver"),
             (FindingKind.COMPLAINT, "the repair shop kept the car too long"),
             (FindingKind.TIP_OFF, "suspects the other driver staged the accident"),
             (FindingKind.OPINION, "would like updates by message"),
             (FindingKind.SUGGESTION, "offer online photo upload for small claims")]


class Dialer:
    def __init__(self, producer, *, reach: float = 0.7, seed: int = 13) -> None:
        self.producer = producer
        self.reach = reach
        self.rng = random.Random(seed)
        self.tasks: set[asyncio.Task] = set()
        self.attempts = 0

    def on_task(self, raw: bytes) -> None:
        task = _TASK.validate_json(raw)
        job = asyncio.ensure_future(self._call(task))
        self.tasks.add(job)
        job.add_done_callback(self.tasks.discard)

    async def _call(self, t: CallbackTaskIssued) -> None:
        await asyncio.sleep(0.05 + self.rng.random() * 0.2)
        rng = self.rng
        findings: tuple[Finding, ...] = ()
        identity = False
        satisfaction = None
        if t.channel is Channel.SMS:
            outcome = AttemptOutcome.SMS_DELIVERED if rng.random() < 0.95 else AttemptOutcome.SMS_SENT
        elif rng.random() < self.reach:
            outcome = rng.choices([AttemptOutcome.REACHED, AttemptOutcome.PROBLEM_CASE, AttemptOutcome.REFUSED],
                                  weights=[88, 8, 4])[0]
            identity = outcome is not AttemptOutcome.REFUSED
            satisfaction = rng.choices([5, 4, 3, 2, 1], weights=[50, 30, 12, 5, 3])[0] if identity else None
            if identity and rng.random() < 0.15:
                kind, text = rng.choice(_FINDINGS)
                findings = (Finding(kind=kind, text=text),)
        else:
            outcome = rng.choices([AttemptOutcome.NO_ANSWER, AttemptOutcome.BUSY, AttemptOutcome.WRONG_NUMBER],
                                  weights=[75, 22, 3])[0]
        attempt = CallbackAttempted(event_id=derived_event_id("sim-dial", t.task_id, t.attempt_no),
                                    occurred_at=datetime.now(timezone.utc), task_id=t.task_id,
                                    attempt_no=t.attempt_no, channel=t.channel, outcome=outcome,
                                    identity_confirmed=identity, satisfaction=satisfaction, findings=findings,
                                    failure_reason="" if identity else outcome.value)
        out = encode("callbacks.attempts", attempt)
        await self.producer.send_and_wait(on_broker(out.topic), out.value, key=out.key)
        self.attempts += 1

    async def drain(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def cancel(self) -> None:
        """Stop what is under way (the demo was interrupted)."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*list(self.tasks), return_exceptions=True)
