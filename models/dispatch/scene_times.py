"""Time on scene learned from completed surveys, per loss type: when a busy surveyor will be free.

A busy surveyor is expected free the time on scene after arriving; a theft report is
photographed in minutes, a flooded warehouse takes hours. Per loss type, the median of
``completed_at - arrived_at`` over the latest completed surveys, robust (a survey shorter
than ``sane_minutes[0]`` or longer than ``sane_minutes[1]`` is a forgotten tap and left
out), shrunk towards the configured time (``survey_minutes``, or the loss type's own where
configured) while surveys are few, the same way travel times are learned
(``models/dispatch/trip_learning.py``).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from models.contract.loss_report import LossType


class SceneTimeRules(BaseModel):
    model_config = ConfigDict(frozen=True)

    min_surveys: int = Field(default=10, ge=1, description="Surveys a loss type needs before it has a time of its own.")
    prior_surveys: int = Field(default=20, ge=0,
                               description="Shrinkage: a median from n surveys moves n / (n + this) of the way.")
    sane_minutes: tuple[float, float] = (2.0, 480.0)
    latest_surveys: int = Field(default=2000, ge=10, description="How many recent completed surveys are read.")


@dataclass(frozen=True)
class Survey:
    loss_type: LossType
    minutes: float  # arrived → completed


def learn_scene_times(surveys: list[Survey], configured: Callable[[LossType], float],
                      rules: SceneTimeRules = SceneTimeRules()) -> dict[LossType, float]:
    """Expected minutes on scene per loss type with enough surveys, shrunk towards ``configured(loss_type)``
    (the others keep the configured time)."""
    lo, hi = rules.sane_minutes
    by_type: dict[LossType, list[float]] = {}
    for s in surveys:
        if lo <= s.minutes <= hi:
            by_type.setdefault(s.loss_type, []).append(s.minutes)
    learned = {}
    for loss_type, minutes in by_type.items():
        n = len(minutes)
        if n >= rules.min_surveys:
            prior = configured(loss_type)
            learned[loss_type] = prior + (statistics.median(minutes) - prior) * n / (n + rules.prior_surveys)
    return learned
