"""The operator's commands: `audit`, `schemas export`, `topics create`, `migrate`."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from streams.commands import bootstrap
from streams.settings import Settings


def cmd_audit(args, settings: Settings) -> int:
    from datetime import datetime, timedelta, timezone

    from streams.audit import audit

    kafka, db = bootstrap.addresses(settings)
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


def cmd_schemas_export(args, settings: Settings) -> int:
    from streams.schema_export import export

    for path in export(Path(args.dir)):
        print(path)
    return 0


def cmd_topics_create(args, settings: Settings) -> int:
    from streams.embedded_stack import create_topics
    from streams.topic_names import every_topic

    kafka = bootstrap.kafka_address(settings)
    replication = args.replication or asyncio.run(_replication_for(kafka, settings))
    names = every_topic(settings.topic_prefix)
    asyncio.run(create_topics(kafka, names, replication=replication, settings=settings))
    print(f"topics present on {kafka} (new ones replicated {replication}×): {', '.join(n for n, _ in names)}")
    return 0


async def _replication_for(kafka: str, settings: Settings) -> int:
    """Three replicas where the cluster has three brokers or more (with min.insync.replicas 2 and acks=all a
    broker can be lost), else one per broker."""
    from streams.kafka_clients import admin

    client = admin(kafka, 30, settings)
    await client.start()
    try:
        return max(1, min(3, len((await client.describe_cluster())["brokers"])))
    finally:
        await client.close()


def cmd_topics_acls(args, settings: Settings) -> int:
    import shlex

    from streams.kafka_security import worker_acls

    kafka = settings.kafka_bootstrap or "<bootstrap>"
    for acl in worker_acls(args.principal, settings.app_id, settings.topic_prefix):
        print(shlex.join(["kafka-acls.sh", "--bootstrap-server", kafka, "--command-config", "admin.properties", *acl]))
    return 0


def cmd_migrate(args, settings: Settings) -> int:
    from streams.store.migrations import apply_migrations

    with bootstrap.database(settings, migrate=False) as db:
        print(f"applied: {asyncio.run(apply_migrations(db)) or 'nothing (up to date)'}")
    return 0
