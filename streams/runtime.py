"""What every agent needs at run time: settings, the database pool, cached regions, publishing."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone

import asyncpg
import faust

from models.candidates import local_day_start
from models.region_plan import plan_region
from models.travel import StraightLineTravel, TravelTimeModel
from models.zones import Region
from streams.codec import Outgoing
from streams.settings import Settings
from streams.store import roster_store
from streams.store.outbox import mark_published


class Runtime:
    def __init__(self, settings: Settings, database_url: str, travel: TravelTimeModel | None = None) -> None:
        self.settings = settings
        self.rules = settings.dispatch
        self.callback_rules = settings.callbacks
        self.calendar = settings.calendar
        self.travel: TravelTimeModel = travel or StraightLineTravel()
        self.database_url = database_url
        self.app: faust.App | None = None
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self._regions: tuple[Region, ...] = ()
        self._regions_loaded_at = 0.0

    @staticmethod
    def now() -> datetime:
        return datetime.now(timezone.utc)

    def local_day_start(self, now: datetime) -> datetime:
        return local_day_start(now, self.rules)

    def planner(self):
        """The region planner with this runtime's rules and travel model; the clock comes per call."""
        def plan(pending, surveyors, vehicles, now, rules):
            return plan_region(pending, surveyors, vehicles, rules, self.travel, now)

        return plan

    async def pool(self) -> asyncpg.Pool:
        """The connection pool, created on first use (a worker may start before the database answers)."""
        if self._pool is None:
            async with self._pool_lock:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self.database_url, min_size=1, max_size=self.settings.db_pool_max, command_timeout=30
                    )
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def regions(self) -> tuple[Region, ...]:
        """Regions from the roster, reread every ``roster_refresh_s`` so a new roster file takes effect."""
        if not self._regions or time.monotonic() - self._regions_loaded_at > self.settings.roster_refresh_s:
            self._regions = await roster_store.regions(await self.pool())
            self._regions_loaded_at = time.monotonic()
        return self._regions

    async def publish(self, outputs: list[Outgoing]) -> None:
        """Send records and wait until the broker has them, before the input's offset may be committed."""
        assert self.app is not None
        producer = self.app.producer
        futures = [
            await producer.send(o.topic, o.key, o.value, partition=None, timestamp=None, headers=None) for o in outputs
        ]
        for fut in futures:
            await fut

    async def publish_outbox(self, outputs: list[Outgoing]) -> None:
        """Publish records kept in the outbox, then mark them published."""
        if outputs:
            await self.publish(outputs)
            await mark_published(await self.pool(), outputs)
