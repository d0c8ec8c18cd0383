"""What every agent needs at run time: settings, the database pool, cached regions, publishing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, timezone

import asyncpg
import faust
import structlog
from aiokafka.errors import KafkaTimeoutError

from models.contract.loss_report import LossType
from models.dispatch.trip_learning import CorrectedTravel, TripFactors
from models.dispatch.fleet import local_day_start
from models.dispatch.planner import plan_region
from models.dispatch.region_state import RegionStateCache
from models.dispatch.travel import StraightLineTravel, TravelTimeModel
from models.dispatch.zones import Region
from streams.codec import Outgoing
from streams.services.callbacks import CallbackContext
from streams.services.desk import DeskContext
from streams.services.dispatch import Dispatcher
from streams.services.monthly_report import ReportContext
from streams.services.unit_of_work import UnitOfWork, unit_of_work
from streams.settings import Settings
from streams.store import roster_store
from streams.store.outbox import mark_published
from streams.topic_names import on_broker

log = structlog.get_logger("claims_dispatch.runtime")

#: How long published records wait to be marked published together (a record not marked when a worker
#: dies is resent by the relay with the same event id; consumers dedupe).
MARK_EVERY_S = 0.2


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to reset when a connection goes back to the pool: asyncpg still rolls back a transaction
    left open, and this code keeps no session state (advisory locks are transaction-scoped, no LISTEN, no
    SET, no cursors). The default reset query was a round trip after every transaction (~0.5 ms, once per
    batch on intake's critical path)."""


class Runtime:
    def __init__(self, settings: Settings, database_url: str, travel: TravelTimeModel | None = None) -> None:
        self.settings = settings
        self.rules = settings.dispatch
        self.callback_rules = settings.callbacks
        self.calendar = settings.calendar
        self.travel: TravelTimeModel = travel or StraightLineTravel(timezone=settings.dispatch.timezone)
        self.database_url = database_url
        self.app: faust.App | None = None
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self._regions: tuple[Region, ...] = ()
        self._regions_loaded_at = 0.0
        #: Regions' dispatch state kept in memory (the database is the record: see RegionStateCache).
        self.region_states = RegionStateCache()
        #: Travel factors learned from the latest arrivals (streams/handlers/timers.py learn_travel).
        self.trip_factors = TripFactors()
        self._to_mark: list[Outgoing] = []          # published, not yet marked published in the outbox
        self._unmarked: set[str] = set()             # their event ids, and those being marked
        self._marking: asyncio.Future | None = None
        self._failures_to_inject = dict(settings.fault_injection_publish_failures)  # fault drills only
        #: What the service layer's handlers decide with.
        self.dispatcher = Dispatcher(self.rules, self.planner(), self.region_states, travel_in=self.travel_in)
        self.callbacks = CallbackContext(self.callback_rules, self.calendar)
        self.desk = DeskContext(self.dispatcher, settings.desk_rules)
        self.reports = ReportContext(self.callback_rules, self.rules.arrival, self.calendar,
                                     settings.state_dir / "reports")

    @staticmethod
    def now() -> datetime:
        return datetime.now(timezone.utc)

    def local_day_start(self, now: datetime) -> datetime:
        return local_day_start(now, self.rules)

    def learn_scene_times(self, learned: dict[LossType, float]) -> None:
        """Plans from now on expect a busy surveyor free after the time on scene learned for the loss type (over
        any configured ``survey_minutes_by_loss_type``; the rest keep ``survey_minutes``)."""
        base = self.settings.dispatch
        self.rules = base.model_copy(update={"survey_minutes_by_loss_type": {**base.survey_minutes_by_loss_type,
                                                                             **learned}})
        self.dispatcher = replace(self.dispatcher, rules=self.rules)
        self.desk = replace(self.desk, dispatcher=self.dispatcher)

    def travel_in(self, region_id: str) -> TravelTimeModel:
        """Travel estimates for trips into ``region_id``: the base model, its driving times corrected by what
        this worker has learned from real trips there (``learn_travel``), for plans, loans and the desk alike."""
        if not self.trip_factors.table:
            return self.travel
        return CorrectedTravel(self.travel, self.trip_factors, region_id, self.rules.timezone)

    def planner(self):
        """The region planner with this runtime's rules and travel model; the clock comes per call."""
        def plan(pending, surveyors, vehicles, now, rules, demand):
            return plan_region(pending, surveyors, vehicles, rules, self.travel_in(pending[0].claim.region_id), now,
                               demand)

        return plan

    @asynccontextmanager
    async def unit_of_work(self, consumer: str) -> AsyncIterator[UnitOfWork]:
        """``streams.services.unit_of_work`` on this worker's pool."""
        async with unit_of_work(await self.pool(), consumer) as uow:
            yield uow

    async def pool(self) -> asyncpg.Pool:
        """The connection pool, created on first use (a worker may start before the database answers)."""
        if self._pool is None:
            async with self._pool_lock:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self.database_url, min_size=1, max_size=self.settings.db_pool_max, command_timeout=30,
                        reset=_keep_session,
                    )
        return self._pool

    async def close(self) -> None:
        if self._marking is not None and not self._marking.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._marking), 5)
            except Exception:  # the relay resends what was not marked; consumers dedupe by event id
                log.warning("outbox_marks_not_flushed", records=len(self._to_mark))
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
        for topic in {o.topic for o in outputs} & self._failures_to_inject.keys():
            if self._failures_to_inject[topic] > 0:
                self._failures_to_inject[topic] -= 1
                raise KafkaTimeoutError(f"injected: {topic} not confirmed (fault drill)")
        producer = self.app.producer
        futures = [
            await producer.send(on_broker(o.topic, self.settings.topic_prefix), o.key, o.value, partition=None,
                                timestamp=None, headers=None) for o in outputs
        ]
        for fut in futures:
            await fut

    async def publish_outbox(self, outputs: list[Outgoing]) -> None:
        """Publish records kept in the outbox; they are marked published in the background.

        The mark only spares a redelivered input from republishing (and the relay from resending): a
        record published and never marked is sent again with the same event id, which consumers dedupe,
        exactly as after a crash between publishing and marking. So the next batch does not wait for it
        (a database round trip and a commit, ~1 ms of every batch on the critical path before).
        """
        # Published and acknowledged already, only not marked yet: not sent again (a redelivered input
        # finds its outputs unmarked in the outbox while the marks are gathered).
        outputs = [o for o in outputs if o.event_id not in self._unmarked]
        if outputs:
            await self.publish(outputs)
            self._to_mark.extend(outputs)
            self._unmarked.update(o.event_id for o in outputs)
            if self._marking is None or self._marking.done():
                self._marking = asyncio.ensure_future(self._mark_published())

    async def _mark_published(self) -> None:
        """Mark what has been published, in batches, until nothing is left; failures only cost resends.

        Marks are gathered for ``MARK_EVERY_S`` first: at 200 reports/s a mark per intake batch was ~90
        updates and commits a second on the database intake writes to, ~2 ms each."""
        while self._to_mark:
            await asyncio.sleep(MARK_EVERY_S)
            batch, self._to_mark = self._to_mark, []
            try:
                await mark_published(await self.pool(), batch)
            except Exception as exc:
                log.warning("outbox_mark_failed", records=len(batch), error=type(exc).__name__)
                return
            finally:
                self._unmarked.difference_update(o.event_id for o in batch)
