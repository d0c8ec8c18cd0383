"""The surveyors' app, simulated: accept (or sometimes decline), call the customer, drive, arrive, survey.

Time is compressed: ``seconds_per_minute`` wall-clock seconds stand for one
modelled minute of driving, so a demo shows the whole loop in seconds.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timezone
from decimal import Decimal

from pydantic import TypeAdapter

from models.dispatch_events import DispatchDecision, SurveyorAssigned, SurveyorReassigned
from models.events import derived_event_id
from models.surveyor_events import ArrivedAtScene, CustomerContacted, SurveyCompleted, TaskAccepted, TaskDeclined
from streams.codec import encode

_DECISION = TypeAdapter(DispatchDecision)


class SurveyorApp:
    def __init__(self, producer, *, decline_ratio: float = 0.05, seconds_per_minute: float = 0.02, seed: int = 11,
                 scene_of=None) -> None:
        self.producer = producer
        self.decline_ratio = decline_ratio
        self.seconds_per_minute = seconds_per_minute
        self.rng = random.Random(seed)
        self.scene_of = scene_of or (lambda report_id: (0.0, 0.0))
        self.tasks: set[asyncio.Task] = set()
        self.declined = 0
        self.completed = 0

    async def _send(self, event) -> None:
        out = encode("surveyor.status", event)
        await self.producer.send_and_wait(out.topic, out.value, key=out.key)

    def on_decision(self, raw: bytes) -> None:
        decision = _DECISION.validate_json(raw)
        if isinstance(decision, (SurveyorAssigned, SurveyorReassigned)):
            task = asyncio.ensure_future(self._work(decision))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _work(self, a: SurveyorAssigned | SurveyorReassigned) -> None:
        def now():
            return datetime.now(timezone.utc)

        ids = dict(surveyor_id=a.surveyor_id, task_id=a.task_id, report_id=a.report_id)
        await asyncio.sleep(0.05 + self.rng.random() * 0.2)
        if self.rng.random() < self.decline_ratio:
            await self._send(TaskDeclined(event_id=derived_event_id("sim-decline", a.task_id), occurred_at=now(),
                                          reason="already on a private call", **ids))
            self.declined += 1
            return
        await self._send(TaskAccepted(event_id=derived_event_id("sim-accept", a.task_id), occurred_at=now(), **ids))
        await asyncio.sleep(0.1)
        await self._send(CustomerContacted(event_id=derived_event_id("sim-contact", a.task_id), occurred_at=now(),
                                           **ids))
        drive_minutes = max(1.0, (a.estimated_arrival_at - a.occurred_at).total_seconds() / 60)
        await asyncio.sleep(drive_minutes * self.seconds_per_minute * self.rng.uniform(0.8, 1.2))
        lat, lon = self.scene_of(a.report_id)
        await self._send(ArrivedAtScene(event_id=derived_event_id("sim-arrive", a.task_id), occurred_at=now(),
                                        lat=lat, lon=lon, **ids))
        await asyncio.sleep(20 * self.seconds_per_minute)
        estimate = Decimal(self.rng.randint(500, 30000))
        await self._send(SurveyCompleted(event_id=derived_event_id("sim-complete", a.task_id), occurred_at=now(),
                                         loss_estimate=estimate, assessed_on_the_spot=estimate <= 2000, **ids))
        self.completed += 1

    async def drain(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
