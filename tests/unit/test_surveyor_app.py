"""The simulated surveyors' app counts the surveys the system will record: a survey finished on a task the
dispatcher had already withdrawn (the surveyor turned round while the app's arrival was on its way) is not one."""

import asyncio
import json
import uuid
from datetime import datetime, timedelta, timezone

from models.contract.dispatch_events import SurveyorAssigned, TaskWithdrawn
from streams.simulators.surveyor_app import SurveyorApp
from tests.waiting import wait_for


class _Sent:
    """Takes what the app publishes (the broker is not what is under test here)."""

    def __init__(self):
        self.types: list[str] = []

    async def send_and_wait(self, topic, value, key=None):
        self.types.append(json.loads(value)["type"])


def _assigned(task_id: uuid.UUID) -> bytes:
    now = datetime.now(timezone.utc)
    return SurveyorAssigned(
        event_id=uuid.uuid4(), occurred_at=now, task_id=task_id, report_id="R1", region_id="hz", zone="urban",
        surveyor_id="s1", vehicle_id="v1", reported_at=now, deadline_at=now + timedelta(minutes=30),
        estimated_arrival_at=now + timedelta(minutes=5), meets_deadline=True).model_dump_json().encode()


def _withdrawn(task_id: uuid.UUID) -> bytes:
    return TaskWithdrawn(event_id=uuid.uuid4(), occurred_at=datetime.now(timezone.utc), task_id=task_id,
                         report_id="R1", region_id="hz", surveyor_id="s1", reason="diverted").model_dump_json().encode()


async def _one_survey() -> tuple[SurveyorApp, _Sent, uuid.UUID]:
    """An app that has accepted a task, driven, arrived and finished its survey."""
    sent, task_id = _Sent(), uuid.uuid4()
    app = SurveyorApp(sent, decline_ratio=0.0, seconds_per_minute=0.001)
    app.on_decision(_assigned(task_id))
    await app.drain()
    return app, sent, task_id


def test_a_withdrawal_arriving_after_the_survey_takes_it_out_of_the_completed():
    async def run():
        app, sent, task_id = await _one_survey()
        assert (app.completed, sent.types[-1]) == (1, "survey_completed")
        app.on_decision(_withdrawn(task_id))
        app.on_decision(_withdrawn(task_id))  # redelivered: counted once
        return app.completed, app.completed_after_withdrawal

    assert asyncio.run(run()) == (0, 1)


def test_a_withdrawal_on_the_way_stops_the_surveyor_before_the_survey():
    async def run():
        sent, task_id = _Sent(), uuid.uuid4()
        app = SurveyorApp(sent, decline_ratio=0.0, seconds_per_minute=1.0)  # a 5-minute drive: 5 s
        app.on_decision(_assigned(task_id))
        await wait_for(lambda: "customer_contacted" in sent.types, 10, "the surveyor on the way")
        app.on_decision(_withdrawn(task_id))
        await app.drain()
        return app.completed, app.completed_after_withdrawal, sent.types

    completed, after, types = asyncio.run(run())
    assert (completed, after) == (0, 0) and "arrived_at_scene" not in types and "survey_completed" not in types


def test_a_withdrawal_of_another_task_changes_nothing():
    async def run():
        app, _, _ = await _one_survey()
        app.on_decision(_withdrawn(uuid.uuid4()))
        return app.completed, app.completed_after_withdrawal

    assert asyncio.run(run()) == (1, 0)
