"""`surveyor.status`: what surveyors' app reports (shift, task progress, position)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Literal, Union

from pydantic import Field

from models.contract.event import Event


class _SurveyorEvent(Event):
    surveyor_id: str = Field(min_length=1, max_length=32, description="The topic key.")


class ShiftStarted(_SurveyorEvent):
    type: Literal["shift_started"] = "shift_started"
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class ShiftEnded(_SurveyorEvent):
    type: Literal["shift_ended"] = "shift_ended"


class PositionReported(_SurveyorEvent):
    type: Literal["position_reported"] = "position_reported"
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class _TaskEvent(_SurveyorEvent):
    task_id: uuid.UUID
    report_id: str


class TaskAccepted(_TaskEvent):
    type: Literal["task_accepted"] = "task_accepted"


class TaskDeclined(_TaskEvent):
    type: Literal["task_declined"] = "task_declined"
    reason: str = Field(default="", max_length=500)


class CustomerContacted(_TaskEvent):
    type: Literal["customer_contacted"] = "customer_contacted"


class ArrivedAtScene(_TaskEvent):
    type: Literal["arrived_at_scene"] = "arrived_at_scene"
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class SurveyCompleted(_TaskEvent):
    type: Literal["survey_completed"] = "survey_completed"
    loss_estimate: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2, description="CNY.")
    assessed_on_the_spot: bool = False
    liability_share: Decimal | None = Field(default=None, ge=0, le=1)
    fraud_flags: tuple[str, ...] = ()


SurveyorStatus = Annotated[
    Union[
        ShiftStarted,
        ShiftEnded,
        PositionReported,
        TaskAccepted,
        TaskDeclined,
        CustomerContacted,
        ArrivedAtScene,
        SurveyCompleted,
    ],
    Field(discriminator="type"),
]
