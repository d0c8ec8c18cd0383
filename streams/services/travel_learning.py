"""Travel times corrected from the latest arrivals (``models.dispatch.trip_learning``) and times on scene from
the latest completed surveys (``models.dispatch.scene_times``): read, learned, kept by the worker for its plans."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg

from models.contract.loss_report import LossType
from models.dispatch.scene_times import SceneTimeRules, learn_scene_times
from models.dispatch.trip_learning import LearningRules, TripFactors, learn
from streams.store import dispatch_store


async def learned_factors(pool: asyncpg.Pool, timezone: str, setup_minutes: float,
                          rules: LearningRules) -> TripFactors:
    async with pool.acquire() as conn:
        trips = await dispatch_store.recent_trips(conn, rules.latest_trips)
    return learn(trips, timezone, setup_minutes, rules)


async def learned_scene_times(pool: asyncpg.Pool, configured: Callable[[LossType], float],
                              rules: SceneTimeRules) -> dict[LossType, float]:
    async with pool.acquire() as conn:
        surveys = await dispatch_store.recent_surveys(conn, rules.latest_surveys)
    return learn_scene_times(surveys, configured, rules)
