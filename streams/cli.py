"""`claims-dispatch`: run, worker, demo, simulate, roster load, dnc add, audit, report, calendar, schemas export,
topics create, migrate."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import structlog

from streams.log_config import configure_logging
from streams.settings import Settings

log = structlog.get_logger("claims_dispatch.cli")


def _stack_file(settings: Settings) -> Path:
    return settings.state_dir / "stack.json"


def _stack_info(settings: Settings) -> dict:
    """What a running `claims-dispatch run` wrote about itself (empty when none runs here)."""
    path = _stack_file(settings)
    try:
        return json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        return {}


def _kafka_address(settings: Settings, required: bool = True) -> str | None:
    """The Kafka bootstrap: configured, else a running `run`'s; required or None."""
    kafka = settings.kafka_bootstrap or _stack_info(settings).get("kafka_bootstrap")
    if kafka is None and required:
        sys.exit("no Kafka broker: set CLAIMS_KAFKA_BOOTSTRAP, or start `claims-dispatch run` in this folder")
    return kafka


def _addresses(settings: Settings) -> tuple[str, str]:
    """Kafka and database addresses, for a command that needs both: from the environment, else from a running
    `claims-dispatch run`."""
    kafka, db = settings.kafka_bootstrap, settings.database_url
    if kafka and db:
        return kafka, db
    info = _stack_info(settings)
    if info:
        return kafka or info["kafka_bootstrap"], db or info["database_url"]
    sys.exit("no running stack: start `claims-dispatch run` in this folder, or set CLAIMS_KAFKA_BOOTSTRAP and "
             "CLAIMS_DATABASE_URL")


@contextlib.contextmanager
def _database(settings: Settings, migrate: bool = True) -> Iterator[str]:
    """The database for a command that needs nothing else: configured; else the one `run` uses, the embedded
    PostgreSQL in the state folder, started for the command when it is not running (and stopped after)."""
    info = _stack_info(settings)
    if settings.database_url or (info and not info.get("embedded_postgres", True)):
        yield settings.database_url or info["database_url"]
        return
    from streams.embedded_stack import start_postgres
    from streams.store.migrations import apply_migrations

    settings.state_dir.mkdir(parents=True, exist_ok=True)
    server, url = start_postgres(settings.state_dir)  # the running one when `run` is up: pgserver shares it
    try:
        if migrate:
            asyncio.run(apply_migrations(url))
        yield url
    finally:
        server.cleanup()  # stops it only if this command was the one that started it


def _demo_roster_path() -> Path:
    from importlib import resources

    return Path(str(resources.files("streams.data") / "demo_roster.json"))


def _read_roster(path: Path, settings: Settings | None = None):
    """A roster file, checked; refused with every problem named by its entry (surveyor, vehicle, region)."""
    import tomllib

    from pydantic import ValidationError

    from models.roster import Roster, entry_errors, roster_problems

    try:
        text = path.read_bytes()
        data = tomllib.loads(text.decode()) if path.suffix == ".toml" else json.loads(text)
    except (FileNotFoundError, IsADirectoryError):
        sys.exit(f"roster file not found: {path}")
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        sys.exit(f"roster file {path} is not valid JSON or TOML: {exc}")
    try:
        roster = Roster.model_validate(data)
    except ValidationError as exc:
        problems = entry_errors(data, exc.errors(include_input=False, include_url=False))
        sys.exit(f"roster file {path} refused:\n" + "\n".join(f"  {p}" for p in problems))
    problems = roster_problems(roster, (settings or Settings()).dispatch.known_equipment())
    if problems:
        sys.exit(f"roster file {path} refused:\n" + "\n".join(f"  {p}" for p in problems))
    return roster


async def _load_roster(database_url: str, roster, deactivate_missing: bool = False, dry_run: bool = False):
    """Compare a roster with what is stored and (unless ``dry_run``) load it: (changes, counts)."""
    import asyncpg

    from models.roster import roster_change
    from streams.store.roster_store import load_roster, stored_entries

    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        changes = roster_change(await stored_entries(pool), roster, deactivate_missing)
        counts = None if dry_run else await load_roster(pool, roster, deactivate_missing)
        return changes, counts
    finally:
        await pool.close()


async def _has_regions(database_url: str) -> bool:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        return bool(await conn.fetchval("SELECT count(*) FROM regions"))
    finally:
        await conn.close()


def cmd_worker(args, settings: Settings) -> int:
    import faust

    from streams.app import create_app, use_event_loop

    use_event_loop(settings)
    kafka, db = _addresses(settings)
    settings.state_dir.mkdir(parents=True, exist_ok=True)  # Faust keeps its data dir in it
    app, _rt = create_app(settings, db, kafka)
    log.info("worker_starting", kafka=kafka, web_port=settings.web_port, profile=settings.kafka_profile,
             fetch_max_wait_ms=settings.fetch_max_wait_ms, session_timeout_s=settings.session_timeout_s)
    worker = faust.Worker(app, loglevel=args.faust_log_level, quiet=True)
    worker.spinner = None  # workers write JSON log lines; a terminal spinner would mangle them
    worker.execute_from_commandline()
    return 0


def _start_everything(settings: Settings, workers: int, roster_path: Path | None, worker_log: Path | None):
    from streams.embedded_stack import start_stack, write_stack_file
    from streams.processes import start_worker, wait_until_ready

    stack = start_stack(settings)
    procs = []
    try:
        if roster_path is not None or not asyncio.run(_has_regions(stack.database_url)):
            path = roster_path or _demo_roster_path()
            _changes, counts = asyncio.run(_load_roster(stack.database_url, _read_roster(path, settings)))
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
        write_stack_file(_stack_file(settings), info)
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


def _stop_everything(settings: Settings, stack, procs) -> None:
    from streams.processes import stop_processes

    stop_processes(procs, WORKER_STOP_S)
    stack.stop()
    _stack_file(settings).unlink(missing_ok=True)


def cmd_run(args, settings: Settings) -> int:
    from streams.processes import Interrupted, sigterm_unwinds

    with sigterm_unwinds():
        stack, procs, info = None, [], {}
        try:
            stack, procs, info = _start_everything(settings, args.workers, args.roster, None)
            if args.simulate_surveyors:
                from streams.processes import start_surveyor_app

                procs.append(start_surveyor_app(stack, args.decline_ratio))
                print("surveyor app     simulated: every assignment is accepted (or declined), driven, surveyed",
                      flush=True)
            print(f"kafka bootstrap  {info['kafka_bootstrap']}", flush=True)
            print(f"database url     {info['database_url']}", flush=True)
            for url in info["metrics_urls"]:
                print(f"metrics          {url}", flush=True)
            print(f"stack file       {_stack_file(settings)}", flush=True)
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
                _stop_everything(settings, stack, procs)


def cmd_demo(args, settings: Settings) -> int:
    from streams.demo import render_summary, run_demo
    from streams.processes import Interrupted, sigterm_unwinds
    from streams.store import roster_store

    # The demo runs on a fresh embedded database of its own, so that tasks left
    # open by an earlier demo cannot make surveyors look busy.
    if settings.database_url is None:
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
            stack, procs, info = _start_everything(settings, 1, args.roster or _demo_roster_path(),
                                                   settings.state_dir / "demo-worker.log")
            print(f"embedded stack up: kafka {info['kafka_bootstrap']}, metrics {info['metrics_urls'][0]}",
                  flush=True)

            async def go():
                import asyncpg

                # Ctrl-C or SIGTERM from here on cancels the demo's task, so that its simulators close their
                # clients on the way out (raised from a signal handler, it left them open, and took 8 s).
                loop, me = asyncio.get_running_loop(), asyncio.current_task()
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, me.cancel)
                pool = await asyncpg.create_pool(stack.database_url, min_size=1, max_size=2)
                try:
                    regions = await roster_store.regions(pool)
                finally:
                    await pool.close()
                summary = await run_demo(stack.kafka_bootstrap, regions, reports=args.reports, rate=args.rate,
                                         bad_ratio=args.bad_ratio, decline_ratio=args.decline_ratio, seed=args.seed,
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
            return 0 if summary["unaccounted"] == 0 else 1
        except Interrupted:
            print("interrupted; stopping", file=sys.stderr)
            return 130
        finally:
            if stack is not None:
                _stop_everything(settings, stack, procs)


def cmd_simulate(args, settings: Settings) -> int:
    import asyncpg

    from streams.demo import send_reports
    from streams.store import roster_store

    kafka, db = _addresses(settings)

    async def go():
        pool = await asyncpg.create_pool(db, min_size=1, max_size=2)
        try:
            regions = await roster_store.regions(pool)
        finally:
            await pool.close()
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


def cmd_roster_load(args, settings: Settings) -> int:
    from models.roster import describe_change

    roster = _read_roster(Path(args.file), settings)
    with _database(settings) as db:
        changes, counts = asyncio.run(_load_roster(db, roster, args.deactivate_missing, args.dry_run))
    print(f"roster {args.file}{' (dry run: nothing written)' if args.dry_run else ''}:")
    for line in describe_change(changes):
        print(f"  {line}")
    absent = [c for c in changes if c.change == "absent"]
    if absent:
        print(f"  {len(absent)} surveyor(s) and vehicle(s) not in the file stay active; "
              f"--deactivate-missing makes them inactive")
    if counts is not None:
        print(f"loaded: {counts['regions']} regions, {counts['surveyors']} surveyors, {counts['vehicles']} vehicles")
    return 0


def _dnc(settings: Settings, act):
    """Run ``act(pool)`` against the do-not-call list's database."""
    import asyncpg

    async def go(db: str):
        pool = await asyncpg.create_pool(db, min_size=1, max_size=2)
        try:
            return await act(pool)
        finally:
            await pool.close()

    with _database(settings) as db:
        return asyncio.run(go(db))


def _valid_phone_hash(phone: str) -> str:
    from models.phones import InvalidPhoneNumber, phone_hash

    try:
        return phone_hash(phone)
    except InvalidPhoneNumber as exc:
        sys.exit(f"refused: {exc} (give it as dialled in China, e.g. 13800138000, or with +country code)")


def cmd_dnc_add(args, settings: Settings) -> int:
    from streams.store import do_not_call_store

    digest = _valid_phone_hash(args.phone)
    added = _dnc(settings, lambda pool: do_not_call_store.add(pool, digest, args.reason))
    print("added to the do-not-call list (stored as a hash)" if added else
          "already on the do-not-call list; its reason is updated")
    return 0


def cmd_dnc_remove(args, settings: Settings) -> int:
    from models.phones import legacy_phone_hash
    from streams.store import do_not_call_store

    hashes = [_valid_phone_hash(args.phone), legacy_phone_hash(args.phone)]
    removed = _dnc(settings, lambda pool: do_not_call_store.remove(pool, hashes))
    print("removed from the do-not-call list" if removed else "not on the do-not-call list")
    return 0


def cmd_dnc_count(args, settings: Settings) -> int:
    from streams.store import do_not_call_store

    print(f"{_dnc(settings, do_not_call_store.count)} number(s) on the do-not-call list")
    return 0


def cmd_report(args, settings: Settings) -> int:
    import re
    from datetime import datetime, timezone

    import asyncpg

    from models.monthly_report import due_text
    from streams.reports.monthly import generate

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", args.month):
        sys.exit(f"--month must be YYYY-MM, got {args.month!r}")
    kafka = None if args.no_publish else _kafka_address(settings, required=False)
    out = Path(args.out) if args.out else settings.state_dir / "reports"

    async def go(db: str):
        now = datetime.now(timezone.utc)
        pool = await asyncpg.create_pool(db, min_size=1, max_size=2)
        try:
            report, paths = await generate(pool, args.month, now, settings.callbacks, settings.dispatch.arrival,
                                           settings.calendar, out)
            if kafka:
                from streams.kafka_clients import producer
                from streams.services.monthly_report import CONSUMER, announce
                from streams.services.unit_of_work import unit_of_work
                from streams.store.outbox import mark_published

                # Kept in the outbox with the report marked published: if the send below fails, a worker's
                # relay sends it.
                async with unit_of_work(pool, CONSUMER) as uow:
                    await announce(uow, args.month, paths, settings.calendar, now)
                prod = producer(kafka)
                await prod.start()
                try:
                    for record in uow.outputs:
                        await prod.send_and_wait(record.topic, record.value, key=record.key)
                finally:
                    await prod.stop()
                await mark_published(pool, uow.outputs)
            return report, paths
        finally:
            await pool.close()

    with _database(settings) as db:
        report, paths = asyncio.run(go(db))
    print(f"report for {args.month} (due {due_text(report)}):")
    if kafka is None and not args.no_publish:
        print("  not announced on reports.monthly: no Kafka broker (set CLAIMS_KAFKA_BOOTSTRAP or start `run`)")
    for name, path in paths.items():
        print(f"  {name:<12} {path}")
    for note in report["observations"]:
        print(f"  - {note}")
    return 0


def cmd_audit(args, settings: Settings) -> int:
    from datetime import datetime, timedelta, timezone

    from streams.audit import audit

    kafka, db = _addresses(settings)
    now = datetime.now(timezone.utc)
    since = datetime.fromisoformat(args.since) if args.since else now - timedelta(days=1)
    until = datetime.fromisoformat(args.until) if args.until else now
    for moment in (since, until):
        if moment.tzinfo is None:
            sys.exit("--since/--until need a time zone, e.g. 2026-11-26T00:00:00+08:00")
    result = asyncio.run(audit(kafka, db, since, until, settings.callbacks,
                               timedelta(minutes=settings.dispatch.dispatch_within_minutes), now))
    print(f"audit {since.isoformat()} .. {until.isoformat()}")
    print(result.render())
    return 0 if result.clean else 1


def cmd_calendar_status(args, settings: Settings) -> int:
    from datetime import datetime, timezone

    import asyncpg

    from streams import calendar_service

    now = datetime.now(timezone.utc)
    today = calendar_service.local_today(now, settings.callbacks)

    async def go(db: str):
        pool = await asyncpg.create_pool(db, min_size=1, max_size=2)
        try:
            return await calendar_service.status(pool, settings.calendar, today)
        finally:
            await pool.close()

    with _database(settings) as db:
        info = asyncio.run(go(db))
    packages = ", ".join(f"{k} {v}" for k, v in info["packages"].items())
    print(f"working-day calendar on {info['today']} ({packages})")
    for year, source in info["years"].items():
        note = {"published": "the State Council's schedule, from chinesecalendar",
                "configured": "from CLAIMS_CALENDAR__YEARS",
                "provisional": "not published yet: statutory holidays by rule, weekends otherwise; "
                               "dates counted through it are marked provisional"}[source]
        print(f"  {year}  {source:<11} {note}")
    if info["first_provisional_day"]:
        print(f"  provisional from {info['first_provisional_day']}: configure the year (CLAIMS_CALENDAR__YEARS) or "
              f"upgrade chinesecalendar once the schedule is published, then `claims-dispatch calendar recompute`")
    counts = info["open_provisional"]
    print("open items with provisional dates: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def cmd_calendar_recompute(args, settings: Settings) -> int:
    from datetime import datetime, timezone

    import asyncpg

    from streams import calendar_service

    async def go(db: str):
        pool = await asyncpg.create_pool(db, min_size=1, max_size=2)
        try:
            return await calendar_service.recompute(pool, settings.callbacks, settings.calendar,
                                                    datetime.now(timezone.utc), dry_run=args.dry_run)
        finally:
            await pool.close()

    with _database(settings) as db:
        result = asyncio.run(go(db))
    for m in result.moved:
        still = "  (still provisional)" if m.provisional else ""
        print(f"  {m.item:<14} {m.item_id}  {m.field:<16} {m.old} -> {m.new}{still}")
    verb = "would move" if args.dry_run else "moved"
    print(f"{verb} {len(result.moved)} date(s) {result.moved_by_item() or ''}; unchanged and now official: "
          f"{result.confirmed or 0}; still provisional: {result.still_provisional or 0}")
    return 0


def cmd_schemas_export(args, settings: Settings) -> int:
    from streams.schema_export import export

    for path in export(Path(args.dir)):
        print(path)
    return 0


def cmd_topics_create(args, settings: Settings) -> int:
    from models.contract import all_topic_names
    from streams.embedded_stack import create_topics

    kafka = _kafka_address(settings)
    asyncio.run(create_topics(kafka, all_topic_names()))
    print(f"topics present on {kafka}: {', '.join(n for n, _ in all_topic_names())}")
    return 0


def cmd_migrate(args, settings: Settings) -> int:
    from streams.store.migrations import apply_migrations

    with _database(settings, migrate=False) as db:
        print(f"applied: {asyncio.run(apply_migrations(db)) or 'nothing (up to date)'}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="claims-dispatch", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start the system in the foreground (embedded broker and database by default)")
    run.add_argument("--workers", type=int, default=1, help="worker processes sharing the partitions")
    run.add_argument("--roster", type=Path, help="roster file to load (default: the demo roster if none is loaded)")
    run.add_argument("--simulate-surveyors", action="store_true",
                     help="answer assignments with the simulated surveyor app (without a real app, every task is "
                          "withdrawn for want of an acknowledgement after 2 minutes)")
    run.add_argument("--decline-ratio", type=float, default=0.05, help="with --simulate-surveyors: share declined")
    run.set_defaults(func=cmd_run)

    worker = sub.add_parser("worker", help="one Faust worker (what `run` starts); needs Kafka and database addresses")
    worker.add_argument("--faust-log-level", default="WARNING")
    worker.set_defaults(func=cmd_worker)

    demo = sub.add_parser("demo", help="the main job on the embedded stack, with a summary")
    demo.add_argument("--reports", type=int, default=300)
    demo.add_argument("--rate", type=float, default=10.0, help="reports per second")
    demo.add_argument("--bad-ratio", type=float, default=0.03, help="share of broken reports (dead letters)")
    demo.add_argument("--decline-ratio", type=float, default=0.05, help="share of assignments surveyors decline")
    demo.add_argument("--business-events", type=int, default=300,
                      help="policies, surrenders, complaints and closures that trigger callbacks")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for every report")
    demo.add_argument("--roster", type=Path)
    demo.add_argument("--summary-json", help="also write the summary as JSON to this path")
    demo.set_defaults(func=cmd_demo)

    sim = sub.add_parser("simulate", help="publish simulated loss reports to a running system")
    sim.add_argument("--reports", type=int, default=100)
    sim.add_argument("--rate", type=float, default=10.0)
    sim.add_argument("--bad-ratio", type=float, default=0.0)
    sim.add_argument("--seed", type=int, help="repeat a run exactly (default: new reports every run)")
    sim.add_argument("--regions", help="comma-separated region ids to put scenes in (default: all)")
    sim.set_defaults(func=cmd_simulate)

    roster = sub.add_parser("roster", help="the surveyor roster").add_subparsers(dest="roster_cmd", required=True)
    load = roster.add_parser("load", help="load a roster file (JSON or TOML) into PostgreSQL, showing what changes")
    load.add_argument("file")
    load.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")
    load.add_argument("--deactivate-missing", action="store_true",
                      help="make surveyors and vehicles absent from the file inactive (default: they stay as they are)")
    load.set_defaults(func=cmd_roster_load)

    dnc = sub.add_parser("dnc", help="the do-not-call list").add_subparsers(dest="dnc_cmd", required=True)
    add = dnc.add_parser("add", help="exclude a phone number from callbacks")
    add.add_argument("phone", help="as dialled in China (13800138000, 0571-87654321) or with +country code")
    add.add_argument("--reason", default="customer asked not to be called")
    add.set_defaults(func=cmd_dnc_add)
    remove = dnc.add_parser("remove", help="take a phone number off the list")
    remove.add_argument("phone")
    remove.set_defaults(func=cmd_dnc_remove)
    dnc.add_parser("count", help="how many numbers are on the list").set_defaults(func=cmd_dnc_count)

    aud = sub.add_parser("audit", help="every report and trigger accounted for, nothing done twice (exit 1 if not)")
    aud.add_argument("--since", help="ISO time with zone (default: 24 hours ago)")
    aud.add_argument("--until", help="ISO time with zone (default: now)")
    aud.set_defaults(func=cmd_audit)

    rep = sub.add_parser("report", help="the monthly callback analysis report and brief, for any month")
    rep.add_argument("--month", required=True, help="YYYY-MM")
    rep.add_argument("--out", help="folder for the files (default: <state dir>/reports)")
    rep.add_argument("--no-publish", action="store_true", help="do not announce it on reports.monthly")
    rep.set_defaults(func=cmd_report)

    cal = sub.add_parser("calendar", help="the working-day calendar: which years are published, provisional dates")
    cal_sub = cal.add_subparsers(dest="calendar_cmd", required=True)
    cal_sub.add_parser("status", help="each year's schedule source and the open items with provisional dates"
                       ).set_defaults(func=cmd_calendar_status)
    recompute = cal_sub.add_parser("recompute", help="recompute provisional dates with the calendar as now configured")
    recompute.add_argument("--dry-run", action="store_true", help="print what would move, change nothing")
    recompute.set_defaults(func=cmd_calendar_recompute)

    schemas = sub.add_parser("schemas", help="event schemas").add_subparsers(dest="schemas_cmd", required=True)
    exp = schemas.add_parser("export", help="write JSON Schemas and the AsyncAPI document")
    exp.add_argument("--dir", default="schemas")
    exp.set_defaults(func=cmd_schemas_export)

    topics = sub.add_parser("topics", help="Kafka topics").add_subparsers(dest="topics_cmd", required=True)
    topics.add_parser("create", help="create every topic (for an external Kafka)").set_defaults(func=cmd_topics_create)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    return p


def explain(exc: BaseException) -> str:
    """One line a person can act on, for what stopped a command (never the data it was working on)."""
    import asyncpg

    from aiokafka.errors import KafkaConnectionError, KafkaError

    if isinstance(exc, (ConnectionRefusedError, asyncpg.CannotConnectNowError)) or (
            isinstance(exc, OSError) and exc.errno is not None and "connect" in str(exc).lower()):
        return f"cannot connect: {exc.strerror or exc}; is the database or broker running at the configured address?"
    if isinstance(exc, asyncpg.InvalidPasswordError):
        return "the database refused the credentials in CLAIMS_DATABASE_URL"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return f"{exc}: check CLAIMS_DATABASE_URL"
    if isinstance(exc, asyncpg.PostgresError):
        return f"the database said: {exc}"
    if isinstance(exc, KafkaConnectionError):
        return f"cannot reach the Kafka broker: {exc}; check CLAIMS_KAFKA_BOOTSTRAP or start `claims-dispatch run`"
    if isinstance(exc, KafkaError):
        return f"Kafka: {exc}"
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return "timed out waiting for the database or the broker"
    return f"{type(exc).__name__}: {exc}"


def main(argv: list[str] | None = None) -> int:
    from pydantic import ValidationError

    args = parser().parse_args(argv)  # bad arguments: argparse's usage line and one error line, exit 2
    try:
        settings = Settings()
    except ValidationError as exc:
        for e in exc.errors(include_input=False, include_url=False):
            name = "CLAIMS_" + "__".join(str(p) for p in e["loc"]).upper() if e["loc"] else "settings"
            print(f"claims-dispatch: {name}: {e['msg']}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format, settings.log_level)
    if args.command != "worker" and settings.log_level.upper() != "DEBUG":
        # A one-off command says what went wrong in its own line; the Kafka client's retry warnings
        # ("Unable connect to ...") would only repeat it.
        import logging

        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        return args.func(args, settings)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        # A person reads one line; the traceback is for a developer, who asks for it.
        print(f"claims-dispatch {args.command}: {explain(exc)}", file=sys.stderr)
        if settings.log_level.upper() == "DEBUG":
            import traceback

            traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.exit(main())
