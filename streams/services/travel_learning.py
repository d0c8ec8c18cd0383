"""Travel times corrected from the latest arrivals (``models.dispatch.trip_learning``): read, learned,
kept by the worker for its plans."""

from __future__ import annotations

import asyncpg

from models.dispatch.trip_learning import LearningRules, TripFactors, learn
from streams.store import dispatch_store


async def learned_factors(pool: asyncpg.Pool, timezone: str, setup_minutes: float,
                          rules: LearningRules) -> TripFactors:
    async with pool.acquire() as conn:
        trips = await dispatch_store.recent_trips(conn, rules.latest_trips)
    return learn(trips, timezone, setup_minutes, rules)
