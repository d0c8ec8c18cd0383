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

from models.contract.dispatch_events import DispatchDecision, SurveyorAssigned, SurveyorReassigned, TaskWithdrawn
from models.contract.event import derived_event_id
from models.contract.surveyor_events import ArrivedAtScene, CustomerContacted, SurveyCompleted, TaskAccepted, TaskDeclined
from streams.topic_names import on_broker
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
        self._working: dict = {}  # task id → what the surveyor is doing about it
        self._finished: set = set()  # task ids surveyed, so that a withdrawal arriving after the survey is seen
        self.declined = 0
        self.completed = 0
        # Surveys finished on a task the dispatcher had already withdrawn (turned round while the app's arrival
        # was still on its way to the dispatcher): the system records nothing for them, the claim's new task
        # surveys it again. Not counted in ``completed``.
        self.completed_after_withdrawal = 0

    async def _send(self, event) -> None:
        out = encode("surveyor.status", event)
        await self.producer.send_and_wait(on_broker(out.topic), out.value, key=out.key)

    def on_decision(self, raw: bytes) -> None:
        decision = _DECISION.validate_json(raw)
        if isinstance(decision, (SurveyorAssigned, SurveyorReassigned)):
            task = asyncio.ensure_future(self._work(decision))
            self.tasks.add(task)
            self._working[decision.task_id] = task
            task.add_done_callback(self.tasks.discard)
            task.add_done_callback(lambda _t, k=decision.task_id: self._working.pop(k, None))
        elif isinstance(decision, TaskWithdrawn):
            if (task := self._working.get(decision.task_id)) is not None:
                task.cancel()  # a dispatcher took the task back: the surveyor stops
            elif decision.task_id in self._finished:
                self._finished.discard(decision.task_id)
                self.completed -= 1
                self.completed_after_withdrawal += 1

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
        lat, lon = (a.scene.lat, a.scene.lon) if a.scene is not None else self.scene_of(a.report_id)
        await self._send(ArrivedAtScene(event_id=derived_event_id("sim-arrive", a.task_id), occurred_at=now(),
                                        lat=lat, lon=lon, **ids))
        await asyncio.sleep(20 * self.seconds_per_minute)
        estimate = Decimal(self.rng.randint(500, 30000))
        await self._send(SurveyCompleted(event_id=derived_event_id("sim-complete", a.task_id), occurred_at=now(),
                                         loss_estimate=estimate, assessed_on_the_spot=estimate <= 2000, **ids))
        self._finished.add(a.task_id)
        self.completed += 1

    async def drain(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def cancel(self) -> None:
        """Stop what is under way (the demo was interrupted)."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*list(self.tasks), return_exceptions=True)


async def serve(bootstrap: str, decline_ratio: float = 0.05) -> None:
    """The app for a running system (`claims-dispatch run --simulate-surveyors`): answers every assignment
    on dispatch.assignments from now on, until cancelled (SIGINT or SIGTERM)."""
    import signal

    from streams.kafka_clients import producer as make_producer, reader

    loop, me = asyncio.get_running_loop(), asyncio.current_task()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, me.cancel)
    prod = make_producer(bootstrap)
    # From the start of the topic, answering what was decided since the app started: joining the group
    # takes a moment, and an assignment made meanwhile must not be missed.
    since_ms = int(datetime.now(timezone.utc).timestamp() * 1000)
    consumer = reader(bootstrap, "dispatch.assignments")
    app = SurveyorApp(prod, decline_ratio=decline_ratio, seed=random.randrange(1 << 30))
    try:
        await prod.start()
        await consumer.start()
        async for m in consumer:
            if m.timestamp >= since_ms:
                app.on_decision(m.value)
    except asyncio.CancelledError:
        pass
    finally:
        await app.cancel()
        await consumer.stop()
        await prod.stop()


if __name__ == "__main__":
    import sys

    asyncio.run(serve(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.05))
