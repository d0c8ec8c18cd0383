"""`claims-dispatch`: run, worker, demo, simulate, roster load, dnc, audit, report, calendar, schemas export,
topics create, migrate. The arguments are here; each command is in ``streams.commands``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from streams.commands.admin import cmd_audit, cmd_migrate, cmd_schemas_export, cmd_topics_acls, cmd_topics_create
from streams.commands.data import (cmd_calendar_recompute, cmd_calendar_status, cmd_dnc_add, cmd_dnc_count,
                                   cmd_dnc_remove, cmd_report, cmd_roster_load)
from streams.commands.desk import cmd_desk, cmd_desk_token
from streams.commands.system import cmd_demo, cmd_run, cmd_simulate, cmd_worker
from streams.log_config import configure_logging
from streams.settings import Settings


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
    run.add_argument("--broker", choices=["tansu", "kafka"],
                     help="the broker to start without CLAIMS_KAFKA_BOOTSTRAP: Tansu (default) or Apache Kafka")
    run.set_defaults(func=cmd_run)

    worker = sub.add_parser("worker", help="one Faust worker (what `run` starts); needs Kafka and database addresses")
    worker.add_argument("--faust-log-level", default="WARNING")
    worker.set_defaults(func=cmd_worker)

    demo = sub.add_parser("demo", help="the main job on the embedded stack, with a summary")
    demo.add_argument("--reports", type=int, default=300)
    demo.add_argument("--rate", type=float, default=10.0, help="reports per second")
    demo.add_argument("--bad-ratio", type=float, default=0.03, help="share of broken reports (dead letters)")
    demo.add_argument("--duplicate-ratio", type=float, default=0.08,
                      help="share of reports that are another call about an accident just reported (the other "
                           "driver, or the same customer again)")
    demo.add_argument("--decline-ratio", type=float, default=0.05, help="share of assignments surveyors decline")
    demo.add_argument("--business-events", type=int, default=300,
                      help="policies, surrenders, complaints and closures that trigger callbacks")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for every report")
    demo.add_argument("--roster", type=Path)
    demo.add_argument("--summary-json", help="also write the summary as JSON to this path")
    demo.add_argument("--broker", choices=["tansu", "kafka"],
                      help="the broker to start: Tansu (default) or a project-managed Apache Kafka")
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
    create = topics.add_parser("create", help="create every topic (for an external Kafka)")
    create.add_argument("--replication", type=int, help="replicas of each new topic (default: 3, or the brokers there are)")
    create.set_defaults(func=cmd_topics_create)
    acls = topics.add_parser("acls", help="the kafka-acls.sh commands that give a worker's principal its topics and group")
    acls.add_argument("--principal", required=True, help="e.g. User:claims (the worker's SASL user)")
    acls.set_defaults(func=cmd_topics_acls)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)

    desk = sub.add_parser("desk", help="the dispatcher's desk").add_subparsers(dest="desk_cmd", required=True)
    desk.add_parser("serve", help="the desk's API and console (needs CLAIMS_DESK__TOKENS)").set_defaults(func=cmd_desk)
    token = desk.add_parser("token", help="a new desk token, and the CLAIMS_DESK__TOKENS entry that grants it")
    token.add_argument("--dispatcher", required=True, help="the dispatcher's id, as the audit records it")
    token.add_argument("--role", choices=["viewer", "dispatcher", "supervisor"], default="dispatcher")
    token.set_defaults(func=cmd_desk_token)
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
