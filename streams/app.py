"""The one wiring place: settings → Faust app, topics, runtime (database, travel model), agents, /metrics."""

from __future__ import annotations

import asyncio
import gc
import sys

import faust
import structlog
from faust.tables import TableManager
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from models.contract.callback_events import CallbackKind, FindingKind
from models.contract.desk_commands import COMMAND_TYPES
from models.contract.topics import TOPICS
from models.contract.dispatch_events import EscalationReason
from models.dispatch.intake import RejectReason
from models.dispatch.zones import Zone
from streams import metrics
from streams.kafka_security import faust_credentials
from streams.agents import registry
from streams.runtime import Runtime
from streams.settings import Settings
from streams.topic_names import on_broker

log = structlog.get_logger("claims_dispatch.app")


def use_event_loop(settings: Settings) -> None:
    """Run what starts next on ``settings.event_loop``: call before the Faust worker creates its loop
    (Faust's documented way, ``mode.loop.use``; the bench's pass-through calls it too)."""
    if settings.event_loop == "uvloop":
        import mode.loop

        mode.loop.use("uvloop")


class ClaimsTableManager(TableManager):
    """Faust's table manager, without the second it waits at start for tables to be added, when there are
    none (this app keeps its state in PostgreSQL; tables are declared before a worker starts, so none can
    come later). The consumer subscribes only once it has started, so that second would delay every
    worker's first assignment. Faust's documented seam, the ``TableManager`` setting."""

    async def on_start(self) -> None:
        if len(self):
            await super().on_start()
        elif not self.should_stop:
            await self._update_channels()
            await self.recovery.start()


class ClaimsApp(faust.App):
    """A Faust app that carries the consumer fetch wait for ``streams.kafka_transport``."""

    fetch_max_wait_ms: int | None = None
    gil_switch_interval_s: float | None = None
    gc_gen0_threshold: int | None = None
    runtime: Runtime | None = None

    async def on_started(self) -> None:
        await super().on_started()
        # Everything alive now (modules, the app, Faust's services) lives as long as the process: move it
        # out of the collector's sight (gc.freeze, Python's documented remedy). Measured in the pipeline
        # bench: full collections scanned that heap every ~2 s and paused the worker ~100 ms each time,
        # which was most of the p99 latency at 200 reports/s.
        gc.collect()
        gc.freeze()
        if self.gc_gen0_threshold is not None:  # Settings.gc_gen0_threshold
            gc.set_threshold(self.gc_gen0_threshold, *gc.get_threshold()[1:])
        if self.gil_switch_interval_s is not None:  # Settings.gil_switch_interval_s
            sys.setswitchinterval(self.gil_switch_interval_s)
        loop = type(asyncio.get_running_loop())
        log.info("worker_event_loop", event_loop=f"{loop.__module__}.{loop.__qualname__}")

    async def on_stop(self) -> None:
        await super().on_stop()  # stops consuming and flushes the producer first
        if self.runtime is not None:
            await self.runtime.close()


def faust_app(settings: Settings, kafka_bootstrap: str, app_id: str | None = None,
              datadir: str = "faust") -> ClaimsApp:
    """A Faust app with this project's Kafka transport and client settings (also the pipeline bench's
    pass-through, so that it is measured on exactly the same footing). No agents, no runtime."""
    brokers = ";".join(f"claimskafka://{h.strip()}" for h in kafka_bootstrap.split(",") if h.strip())
    app = ClaimsApp(
        app_id or settings.app_id,
        broker=brokers,
        broker_credentials=faust_credentials(settings),  # TLS / SASL, docs/security.md
        store="memory://",
        autodiscover=False,
        datadir=str(settings.state_dir / datadir),
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_in_thread=False,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_s,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        consumer_metadata_max_age_ms=settings.kafka_metadata_max_age_ms,  # Settings: a leader's move
        producer_metadata_max_age_ms=settings.kafka_metadata_max_age_ms,
        # Topics are created by the stack (or `claims-dispatch topics create`) with
        # their partitions; the worker never declares them, and needs no leader topic.
        topic_allow_declare=False,
        topic_disable_leader=True,
        TableManager=ClaimsTableManager,
    )
    app.fetch_max_wait_ms = settings.fetch_max_wait_ms
    app.producer_idempotence = settings.idempotence
    app.gil_switch_interval_s = settings.gil_switch_interval_s
    app.gc_gen0_threshold = settings.gc_gen0_threshold

    @app.page("/ready")
    async def ready_page(web, request):
        # Ready = this worker holds partitions of the consumer group (it is consuming).
        assigned = len(app.consumer.assignment()) if app.started else 0
        return web.json({"ready": assigned > 0, "assigned_partitions": assigned}, status=200 if assigned else 503)

    return app


def create_app(settings: Settings, database_url: str, kafka_bootstrap: str) -> tuple[ClaimsApp, Runtime]:
    """Build the worker's app. Nothing connects until the worker starts."""
    app = faust_app(settings, kafka_bootstrap)
    app.monitor = metrics.faust_monitor()  # Faust's supported sensor seam
    metrics.initialise(
        zones=[z.value for z in Zone], kinds=[k.value for k in CallbackKind],
        reasons={"escalation": [r.value for r in EscalationReason], "dead_letter": [r.value for r in RejectReason]},
        departments=sorted(set(settings.callbacks.departments.values())), finding_kinds=[k.value for k in FindingKind],
        commands=COMMAND_TYPES)
    rt = Runtime(settings, database_url)
    rt.app = app
    app.runtime = rt

    topics = {
        t.name: app.topic(on_broker(t.name, settings.topic_prefix), value_type=bytes, key_type=bytes,
                          value_serializer="raw", key_serializer="raw", partitions=t.partitions)
        for t in TOPICS
    }
    registry.register(app, rt, topics)

    @app.page("/metrics")
    async def metrics_page(web, request):
        # aiohttp refuses a charset inside content_type; the exposition format is UTF-8 anyway.
        return web.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0] + "; version=0.0.4")

    return app, rt
