"""The bare Faust pass-through the pipeline bench compares against: consume, decode (JSON), produce.

The product worker's Faust app (`streams.app.faust_app`: app class, event loop, `claimskafka://` transport,
client settings, the embedded profile, `/ready`), same partitioning,
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

from streams.app import faust_app, use_event_loop  # noqa: E402
from streams.settings import Settings  # noqa: E402

settings = Settings()
app = faust_app(settings, settings.kafka_bootstrap, app_id="bench-passthrough", datadir="faust-passthrough")
source = app.topic(os.environ["BENCH_IN"], value_type=bytes, key_type=bytes, value_serializer="raw",
                   key_serializer="raw")
sink = app.topic(os.environ["BENCH_OUT"], value_type=bytes, key_type=bytes, value_serializer="raw",
                 key_serializer="raw")


@app.agent(source, name="passthrough")
async def passthrough(stream):
    async for event in stream.events():
        report = json.loads(event.message.value)
        await sink.send(key=event.message.key, value=json.dumps(report, ensure_ascii=False).encode())


if __name__ == "__main__":
    use_event_loop(settings)  # the worker's loop (CLAIMS_EVENT_LOOP), as in `claims-dispatch worker`
    worker = faust.Worker(app, loglevel="warning", quiet=True)
    worker.spinner = None
    worker.execute_from_commandline()
