"""Faults only a real cluster has: three Apache Kafka nodes (topics replicated three times,
min.insync.replicas 2, acks=all), one of them killed, the quorum's leader killed, one paused, all of them
stopped and started. Judged as every drill is: every report sent is decided, no effect twice, the audit clean.

Tansu is one process keeping topics in memory: it has no replica to fail over to, no controller to lose and
nothing durable to restart, so these run on Apache Kafka (``CLAIMS_BROKER=kafka``, the second pass of
``make test``) and are skipped on Tansu with that reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from datetime import datetime, timedelta, timezone

import asyncpg
import pytest

from tests.faults.conftest import accounted, duplicate_effects, record
from tests.faults.test_faults import _audit, _committed_to_the_end, _regions, _send_reports
from tests.waiting import wait_for

pytestmark = pytest.mark.skipif(
    os.environ.get("CLAIMS_BROKER", "tansu") != "kafka",
    reason="Tansu is one in-memory process: no replicas, no controller, nothing durable to restart "
           "(run with CLAIMS_BROKER=kafka)")


def _cluster(stack):
    cluster = stack.kafka_cluster
    assert cluster is not None and len(cluster.nodes) == 3, "needs the project-managed three-node Apache Kafka"
    return cluster


async def _under_load(stack, workers, seed: int, fault, label: str, n: int = 1200, rate: float = 30) -> None:
    """Reports at ``rate``/s (40 s of them); once the worker has stored the first 60, ``fault(cluster)``
    runs; then every report must be decided once. Recovery is counted from the fault's start to the last
    report decided (so it includes the sending after it)."""
    since = datetime.now(timezone.utc) - timedelta(seconds=1)
    worker = await asyncio.to_thread(workers.start)
    regions = await _regions(stack.database_url)
    ids: set[str] = set()
    sender = asyncio.ensure_future(_send_reports(stack, regions, n, rate, seed, ids))
    await wait_for(lambda: _stored(stack.database_url, ids, 60), timeout=60, what="the worker storing reports")
    started = time.monotonic()
    await fault(_cluster(stack))
    assert not sender.done(), "the reports were all sent before the fault: it hit nothing"
    await sender
    waited, lost = await accounted(stack.database_url, ids, 0, timeout=180)
    duplicates = await duplicate_effects(stack.database_url)
    verdict = await _audit(stack, since)
    record(label, len(ids), lost, duplicates, time.monotonic() - started, verdict)
    assert worker.poll() is None, "the worker died instead of riding out the broker's fault"
    assert lost == 0 and duplicates == 0 and verdict == "clean"


async def _stored(url: str, ids: set[str], at_least: int) -> bool:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT count(*) FROM claims WHERE report_id = ANY($1::text[])",
                                   list(ids)) >= at_least
    finally:
        await conn.close()


async def _committed(bootstrap: str, group: str = "claims-dispatch") -> dict:
    from streams.kafka_clients import admin

    client = admin(bootstrap, 60)
    await client.start()
    try:
        offsets = await client.list_consumer_group_offsets(group)
        return {f"{tp.topic}[{tp.partition}]": m.offset for tp, m in offsets.items() if tp.topic == "hotline.reports"}
    finally:
        await client.close()


async def test_a_broker_killed_with_sigkill_and_restarted(fault_stack, workers):
    async def fault(cluster):
        victim = next(n for n in cluster.nodes if n.node_id != cluster.leader().node_id)
        cluster.kill(victim)
        await asyncio.sleep(8)  # the other two hold every partition's in-sync replicas meanwhile
        await asyncio.to_thread(cluster.restart, victim)

    await _under_load(fault_stack, workers, 31, fault, "Kafka: a broker SIGKILLed 8 s, restarted")


async def test_the_controller_killed(fault_stack, workers):
    async def fault(cluster):
        leader = cluster.leader()
        cluster.kill(leader)
        killed_at = time.monotonic()
        def elected() -> bool:  # the survivors' quorum state names another leader (no leader yet: not yet)
            try:
                return cluster.leader().node_id != leader.node_id
            except RuntimeError:
                return False

        await wait_for(elected, timeout=30, every=0.2, what="the remaining two nodes electing a new quorum leader")
        await asyncio.sleep(max(0.0, 8 - (time.monotonic() - killed_at)))  # the fault lasts 8 s
        await asyncio.to_thread(cluster.restart, leader)

    await _under_load(fault_stack, workers, 32, fault, "Kafka: the controller SIGKILLed, restarted")


async def test_a_broker_paused_with_sigstop(fault_stack, workers):
    async def fault(cluster):
        victim = cluster.nodes[0]
        os.kill(victim.proc.pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(15)  # beyond the broker's session with the quorum: it is fenced meanwhile
        finally:
            os.kill(victim.proc.pid, signal.SIGCONT)

    await _under_load(fault_stack, workers, 33, fault, "Kafka: a broker paused (SIGSTOP) 15 s")


async def test_the_whole_cluster_stopped_and_started(fault_stack, workers):
    """Topics and committed offsets are on disk: after all three nodes stop and start, the group's committed
    offsets are the ones it had (not reset), the worker goes on from them without a restart, and the
    reports sent before and after are each decided once."""
    since = datetime.now(timezone.utc) - timedelta(seconds=1)
    cluster = _cluster(fault_stack)
    worker = await asyncio.to_thread(workers.start)
    regions = await _regions(fault_stack.database_url)
    ids: set[str] = set()
    await _send_reports(fault_stack, regions, 200, 50, 34, ids)
    await accounted(fault_stack.database_url, ids, 0)
    await wait_for(lambda: _committed_to_the_end(fault_stack.kafka_bootstrap, "claims-dispatch", ["hotline.reports"]),
                   timeout=60, what="the worker's group committed to the end of hotline.reports")
    async def settled() -> dict:  # the same offsets read twice 3 s apart: the worker has nothing left to commit
        first = await _committed(fault_stack.kafka_bootstrap)
        await asyncio.sleep(3)
        return first if await _committed(fault_stack.kafka_bootstrap) == first else {}

    before = await wait_for(settled, timeout=60, every=0.5, what="the group's committed offsets settled")
    stopped_at = time.monotonic()
    await asyncio.to_thread(cluster.stop)
    await asyncio.sleep(5)
    await asyncio.to_thread(cluster.start_all)
    async def loaded() -> dict:  # the group's offsets once the restarted coordinator answers for them all
        with contextlib.suppress(Exception):
            offsets = await _committed(fault_stack.kafka_bootstrap)
            return offsets if len(offsets) == len(before) else {}
        return {}

    after = await wait_for(loaded, timeout=60, every=1, what="the restarted cluster answering for the group's offsets")
    assert sum(before.values()) > 0 and after == before, f"committed offsets changed: {before} -> {after}"
    await _send_reports(fault_stack, regions, 200, 50, 35, ids)  # after the restart, nothing restarted by hand
    waited, lost = await accounted(fault_stack.database_url, ids, 0, timeout=240)
    duplicates = await duplicate_effects(fault_stack.database_url)
    verdict = await _audit(fault_stack, since)
    record("Kafka: all three nodes stopped 5 s, started", len(ids), lost, duplicates,
           time.monotonic() - stopped_at - 5, verdict)
    assert worker.poll() is None, "the worker died instead of waiting for the cluster"
    assert lost == 0 and duplicates == 0 and verdict == "clean"
