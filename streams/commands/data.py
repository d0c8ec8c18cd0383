"""The commands that only need the database: `roster load`, `dnc`, `report`, `calendar`."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from streams.topic_names import on_broker
from streams.commands import bootstrap
from streams.settings import Settings


def cmd_roster_load(args, settings: Settings) -> int:
    from models.dispatch.roster import describe_change

    roster = bootstrap.read_roster(Path(args.file), settings)
    with bootstrap.database(settings) as db:
        changes, counts = asyncio.run(bootstrap.load_roster(db, roster, args.deactivate_missing, args.dry_run))
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


def _valid_phone_hash(phone: str) -> str:
    from models.callbacks.phones import InvalidPhoneNumber, phone_hash

    try:
        return phone_hash(phone)
    except InvalidPhoneNumber as exc:
        sys.exit(f"refused: {exc} (give it as dialled in China, e.g. 13800138000, or with +country code)")


def cmd_dnc_add(args, settings: Settings) -> int:
    from streams.store import do_not_call_store

    digest = _valid_phone_hash(args.phone)
    added = bootstrap.on_database(settings, lambda pool: do_not_call_store.add(pool, digest, args.reason))
    print("added to the do-not-call list (stored as a hash)" if added else
          "already on the do-not-call list; its reason is updated")
    return 0


def cmd_dnc_remove(args, settings: Settings) -> int:
    from models.callbacks.phones import legacy_phone_hash
    from streams.store import do_not_call_store

    hashes = [_valid_phone_hash(args.phone), legacy_phone_hash(args.phone)]
    removed = bootstrap.on_database(settings, lambda pool: do_not_call_store.remove(pool, hashes))
    print("removed from the do-not-call list" if removed else "not on the do-not-call list")
    return 0


def cmd_dnc_count(args, settings: Settings) -> int:
    from streams.store import do_not_call_store

    print(f"{bootstrap.on_database(settings, do_not_call_store.count)} number(s) on the do-not-call list")
    return 0


def cmd_report(args, settings: Settings) -> int:
    import re
    from datetime import datetime, timezone

    from models.reporting.monthly import due_text
    from streams.reports.monthly import generate

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", args.month):
        sys.exit(f"--month must be YYYY-MM, got {args.month!r}")
    kafka = None if args.no_publish else bootstrap.kafka_address(settings, required=False)
    out = Path(args.out) if args.out else settings.state_dir / "reports"

    async def go(pool):
        now = datetime.now(timezone.utc)
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
                    await prod.send_and_wait(on_broker(record.topic), record.value, key=record.key)
            finally:
                await prod.stop()
            await mark_published(pool, uow.outputs)
        return report, paths

    report, paths = bootstrap.on_database(settings, go)
    print(f"report for {args.month} (due {due_text(report)}):")
    if kafka is None and not args.no_publish:
        print("  not announced on reports.monthly: no Kafka broker (set CLAIMS_KAFKA_BOOTSTRAP or start `run`)")
    for name, path in paths.items():
        print(f"  {name:<12} {path}")
    for note in report["observations"]:
        print(f"  - {note}")
    return 0


def cmd_calendar_status(args, settings: Settings) -> int:
    from datetime import datetime, timezone

    from streams.services import calendar as calendar_service

    now = datetime.now(timezone.utc)
    today = calendar_service.local_today(now, settings.callbacks)
    info = bootstrap.on_database(settings, lambda pool: calendar_service.status(pool, settings.calendar, today))
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

    from streams.services import calendar as calendar_service

    result = bootstrap.on_database(settings, lambda pool: calendar_service.recompute(
        pool, settings.callbacks, settings.calendar, datetime.now(timezone.utc), dry_run=args.dry_run))
    for m in result.moved:
        still = "  (still provisional)" if m.provisional else ""
        print(f"  {m.item:<14} {m.item_id}  {m.field:<16} {m.old} -> {m.new}{still}")
    verb = "would move" if args.dry_run else "moved"
    print(f"{verb} {len(result.moved)} date(s) {result.moved_by_item() or ''}; unchanged and now official: "
          f"{result.confirmed or 0}; still provisional: {result.still_provisional or 0}")
    return 0
