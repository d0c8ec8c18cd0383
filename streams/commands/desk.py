"""`desk serve`: the dispatcher's desk (API and console) over the system's database and broker; `desk token`:
a new token and the entry that grants it."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import signal
import sys

import structlog

from streams.commands import bootstrap
from streams.settings import Settings

log = structlog.get_logger("claims_dispatch.desk")


def cmd_desk(args, settings: Settings) -> int:
    if not settings.desk.tokens:
        print("claims-dispatch: no desk tokens are configured (CLAIMS_DESK__TOKENS), so nobody could use the desk; "
              "`claims-dispatch desk token --dispatcher ID` makes one", file=sys.stderr)
        return 2
    kafka, db = bootstrap.addresses(settings)
    return asyncio.run(serve(settings, db, kafka))


async def serve(settings: Settings, database_url: str, kafka: str, ready: asyncio.Event | None = None) -> int:
    from aiohttp import web

    from streams import kafka_clients
    from streams.desk_api import create_desk_app
    from streams.runtime import Runtime

    rt = Runtime(settings, database_url)
    producer = kafka_clients.producer(kafka, settings)
    await producer.start()
    runner = None
    try:
        app = create_desk_app(settings, await rt.pool(), producer, rt.desk, rt.local_day_start)
        runner = web.AppRunner(app, access_log=None)  # request lines would carry report ids and tokens' users
        await runner.setup()
        await web.TCPSite(runner, settings.desk.host, settings.desk.port).start()
        print(f"desk             http://{settings.desk.host}:{settings.desk.port}/", flush=True)
        log.info("desk_started", host=settings.desk.host, port=settings.desk.port, tokens=len(settings.desk.tokens))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if ready is not None:
            ready.set()
        await stop.wait()
        return 0
    finally:
        if runner is not None:
            await runner.cleanup()
        await producer.stop()
        await rt.close()


def cmd_desk_token(args, settings: Settings) -> int:
    token = secrets.token_urlsafe(32)
    entry = {"sha256": hashlib.sha256(token.encode()).hexdigest(), "dispatcher_id": args.dispatcher,
             "role": args.role}
    print(f"token (give it to {args.dispatcher}; it is not kept anywhere): {token}")
    print(f"add to CLAIMS_DESK__TOKENS: {json.dumps(entry)}")
    return 0
