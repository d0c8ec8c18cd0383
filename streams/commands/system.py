"""The commands that run the system: `worker`, `run`, `demo`, `simulate`."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import sys
import time
import uuid
from pathlib import Path

import structlog

from streams import topic_names
from streams.commands import bootstrap
from streams.log_config import configure_logging
from streams.settings import Settings

log = structlog.get_logger("claims_dispatch.cli")


def cmd_worker(args, settings: Settings) -> int:
    import faust

    from streams.app import create_app, use_event_loop

    use_event_loop(settings)
    kafka, db = bootstrap.addresses(settings)
    settings.state_dir.mkdir(parents=True, exist_ok=True)  # Faust keeps its data dir in it
    app, _rt = create_app(settings, db, kafka)
    log.info("worker_starting", kafka=kafka, web_port=settings.web_port, profile=settings.kafka_profile,
             fetch_max_wait_ms=settings.fetch_max_wait_ms, session_timeout_s=settings.session_timeout_s)
    worker = faust.Worker(app, loglevel=args.faust_log_level, quiet=True)
    worker.spinner = None  # workers write JSON log lines; a terminal spinner would mangle them
    worker.execute_from_commandline()
    return 0


def start_everything(settings: Settings, workers: int, roster_path: Path | None, worker_log: Path | None):
    from streams.embedded_stack import start_stack, write_stack_file
    from streams.processes import start_worker, wait_until_ready

    stack = start_stack(settings)
    procs = []
    try:
        if roster_path is not None or not asyncio.run(_has_regions(stack.database_url)):
            path = roster_path or bootstrap.demo_roster_path()
            _changes, counts = asyncio.run(bootstrap.load_roster(stack.database_url, bootstrap.read_roster(path, settings)))
            print(f"roster loaded from {path}: {counts}", flush=True)
        ports = []
        for i in range(workers):
            proc, port = start_worker(stack, settings.web_port + i, worker_log)
            procs.append(proc)
            ports.append(port)
        waited = max(wait_until_ready(port, proc) for proc, port in zip(procs, ports))
        print(f"workers consuming after {waited:.1f} s", flush=True)
        info = stack.describe() | {
            "metrics_urls": [f"http://{settings.web_host}:{p}/metrics" for p in ports],
            "worker_pids": [p.pid for p in procs],
        }
        write_stack_file(bootstrap.stack_file(settings), info)
    except BaseException:
        for p in procs:
            p.kill()
        stack.stop()
        raise
    return stack, procs, info


#: How long workers get to stop by themselves (commit their offsets, leave the group) before they are killed:
#: `run` and `demo` stop within 5 s of Ctrl-C. A killed worker loses nothing: its uncommitted records are
#: consumed again and change nothing (inbox).
WORKER_STOP_S = 3.0


def stop_everything(settings: Settings, stack, procs) -> None:
    from streams.processes import stop_processes

    stop_processes(procs, WORKER_STOP_S)
    stack.stop()
    bootstrap.stack_file(settings).unlink(missing_ok=True)


def _broker(args, settings: Settings) -> Settings:
    """``--broker`` over CLAIMS_BROKER: which broker to start when no external one is configured."""
    return settings.model_copy(update={"broker": args.broker}) if getattr(args, "broker", None) else settings


def cmd_run(args, settings: Settings) -> int:
    from streams.processes import Interrupted, sigterm_unwinds

    settings = _broker(args, settings)
    with sigterm_unwinds():
        stack, procs, info = None, [], {}
        try:
            stack, procs, info = start_everything(settings, args.workers, args.roster, None)
            if args.simulate_surveyors:
                from streams.processes import start_surveyor_app

                procs.append(start_surveyor_app(stack, args.decline_ratio))
                print("surveyor app     simulated: every assignment is accepted (or declined), driven, surveyed",
                      flush=True)
            print(f"kafka bootstrap  {info['kafka_bootstrap']}", flush=True)
            print(f"database url     {info['database_url']}", flush=True)
            for url in info["metrics_urls"]:
                print(f"metrics          {url}", flush=True)
            print(f"stack file       {bootstrap.stack_file(settings)}", flush=True)
            while all(p.poll() is None for p in procs):
                time.sleep(0.5)
            failed = [p.returncode for p in procs if p.poll() is not None]
            print(f"a worker exited with {failed}; stopping", file=sys.stderr)
            return 1
        except Interrupted:
            print("stopping", file=sys.stderr)
            return 0
        finally:
            if stack is not None:
                stop_everything(settings, stack, procs)


def cmd_demo(args, settings: Settings) -> int:
    from streams.demo import render_summary, run_demo
    from streams.processes import Interrupted, sigterm_unwinds
    from streams.store import roster_store

    settings = _broker(args, settings)
    # The demo never writes into a configured database: its claims would be a live system's claims. A fresh
    # embedded one also keeps tasks left open by an earlier demo from making surveyors look busy.
    if settings.database_url:
        print("claims-dispatch: the demo runs on a database of its own and will not use CLAIMS_DATABASE_URL "
              "(a live system's); unset it, or feed a system with `claims-dispatch simulate`", file=sys.stderr)
        return 2
    if settings.kafka_bootstrap:
        # On a configured broker, under topics and a consumer group of its own (streams/topic_names.py): the
        # live workers never see its reports, its worker never joins the live group. Set in the environment,
        # so that the worker and the simulated apps it starts inherit them.
        run_id = uuid.uuid4().hex[:8]
        os.environ[topic_names.ENV] = f"demo-{run_id}."
        os.environ["CLAIMS_APP_ID"] = f"{settings.app_id}-demo-{run_id}"
        settings = settings.model_copy(update={"topic_prefix": os.environ[topic_names.ENV],
                                               "app_id": os.environ["CLAIMS_APP_ID"]})
        print(f"on {settings.kafka_bootstrap}: the demo's topics are {settings.topic_prefix}*, its group "
              f"{settings.app_id}", flush=True)
    demo_dir = settings.state_dir / "demo"
    if demo_dir.exists():
        shutil.rmtree(demo_dir)
    settings = settings.model_copy(update={"state_dir": demo_dir})
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    if "CLAIMS_LOG_LEVEL" not in os.environ:  # the demo talks to a person: its own lines, not the log's
        configure_logging("console", "WARNING")
    with sigterm_unwinds():
        stack, procs = None, []
        try:
            stack, procs, info = start_everything(settings, 1, args.roster or bootstrap.demo_roster_path(),
                                                   settings.state_dir / "demo-worker.log")
            print(f"embedded stack up: kafka {info['kafka_bootstrap']}, metrics {info['metrics_urls'][0]}",
                  flush=True)

            async def go():
                # Ctrl-C or SIGTERM from here on cancels the demo's task, so that its simulators close their
                # clients on the way out (raised from a signal handler, it left them open, and took 8 s).
                loop, me = asyncio.get_running_loop(), asyncio.current_task()
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, me.cancel)
                async with bootstrap.pool(stack.database_url) as pool:
                    regions = await roster_store.regions(pool)
                summary = await run_demo(stack.kafka_bootstrap, regions, reports=args.reports, rate=args.rate,
                                         bad_ratio=args.bad_ratio, decline_ratio=args.decline_ratio, seed=args.seed,
                                         duplicate_ratio=args.duplicate_ratio,
                                         timeout_s=args.timeout, business=args.business_events,
                                         database_url=stack.database_url)
                summary["targets"] = {k.value: r.target for k, r in settings.callbacks.kinds.items()}
                return summary

            try:
                summary = asyncio.run(go())
            except asyncio.CancelledError:
                raise Interrupted("SIGINT") from None
            print(render_summary(summary), flush=True)
            if args.summary_json:
                Path(args.summary_json).write_text(json.dumps(summary, indent=2, default=str) + "\n")
            return 0 if summary["unaccounted"] == 0 and summary["settled"] else 1
        except Interrupted:
            print("interrupted; stopping", file=sys.stderr)
            return 130
        finally:
            if stack is not None:
                stop_everything(settings, stack, procs)
            if settings.topic_prefix and stack is not None:
                _remove_demo_topics(settings)


def _remove_demo_topics(settings: Settings) -> None:
    """The demo's own topics on a configured broker, removed when it ends (left, and said so, if the broker
    refuses)."""
    from streams.kafka_clients import admin

    async def go() -> None:
        client = admin(settings.kafka_bootstrap, 30, settings)
        await client.start()
        try:
            await client.delete_topics([name for name, _ in topic_names.every_topic(settings.topic_prefix)])
        finally:
            await client.close()

    try:
        asyncio.run(go())
        print(f"removed the demo's topics {settings.topic_prefix}*", flush=True)
    except Exception as exc:  # a broker without topic deletion, or no right to it
        print(f"the demo's topics {settings.topic_prefix}* were left on the broker ({type(exc).__name__})", flush=True)


def cmd_simulate(args, settings: Settings) -> int:
    from streams.demo import send_reports
    from streams.store import roster_store

    kafka, db = bootstrap.addresses(settings)

    async def go():
        async with bootstrap.pool(db) as pool:
            regions = await roster_store.regions(pool)
        if args.regions:
            wanted = set(args.regions.split(","))
            unknown = wanted - {r.region_id for r in regions}
            if unknown:
                sys.exit(f"unknown region(s): {', '.join(sorted(unknown))}")
            regions = tuple(r for r in regions if r.region_id in wanted)
        if not regions:
            sys.exit("no regions in the database: load a roster first (`claims-dispatch roster load FILE`)")
        return await send_reports(kafka, regions, args.reports, args.rate, args.bad_ratio, seed)

    # A seed repeats a run exactly (the same report and event ids: a second run against the same system is
    # all duplicates, which change nothing); without one, every run sends new reports.
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    print(f"sent {asyncio.run(go())} reports to hotline.reports (seed {seed})")
    return 0


async def _has_regions(database_url: str) -> bool:
    from streams.store import roster_store

    async with bootstrap.pool(database_url) as p:
        return await roster_store.has_regions(p)
