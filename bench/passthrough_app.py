"""The bare Faust pass-through the pipeline bench compares against: consume, decode (JSON), produce.

Same Faust app class, Kafka transport and client settings as the product's worker
(`streams.app.ClaimsApp`, `claimskafka://`, the embedded profile), same partitioning,
no database and no decisions. Started by bench/pipeline.py:

    BENCH_IN=... BENCH_OUT=... CLAIMS_KAFKA_BOOTSTRAP=... python bench/passthrough_app.py
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import faust  # noqa: E402

from streams.app import ClaimsApp  # noqa: E402
from streams.kafka_security import faust_credentials  # noqa: E402
from streams.settings import Settings  # noqa: E402

settings = Settings()
app = ClaimsApp(
    "bench-passthrough",
    broker=";".join(f"claimskafka://{h}" for h in settings.kafka_bootstrap.split(",")),
    broker_credentials=faust_credentials(settings),
    store="memory://",
    autodiscover=False,
    datadir=str(settings.state_dir / "faust-passthrough"),
    web_host=settings.web_host,
    web_port=settings.web_port,
    web_in_thread=False,
    broker_session_timeout=settings.session_timeout_s,
    broker_heartbeat_interval=settings.heartbeat_s,
    broker_commit_interval=1.0,
    consumer_auto_offset_reset="earliest",
    producer_acks=-1,
    topic_allow_declare=False,
    topic_disable_leader=True,
)
app.fetch_max_wait_ms = settings.fetch_max_wait_ms
source = app.topic(os.environ["BENCH_IN"], value_type=bytes, key_type=bytes, value_serializer="raw",
                   key_serializer="raw")
sink = app.topic(os.environ["BENCH_OUT"], value_type=bytes, key_type=bytes, value_serializer="raw",
                 key_serializer="raw")


@app.agent(source, name="passthrough")
async def passthrough(stream):
    async for event in stream.events():
        report = json.loads(event.message.value)
        await sink.send(key=event.message.key, value=json.dumps(report, ensure_ascii=False).encode())


@app.page("/ready")
async def ready(web, request):  # as the product worker's: ready = holds partitions
    assigned = len(app.consumer.assignment()) if app.started else 0
    return web.json({"ready": assigned > 0, "assigned_partitions": assigned}, status=200 if assigned else 503)


if __name__ == "__main__":
    worker = faust.Worker(app, loglevel="warning", quiet=True)
    worker.spinner = None
    worker.execute_from_commandline()
