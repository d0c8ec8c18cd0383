"""Deadlines live in PostgreSQL and fire once: acknowledgement, contact, arrival, across a worker restart.

Runs on a stack of its own, with regions whose limits are seconds long (region
overrides), so that the other tests' workers and timings are not disturbed.
"""

import asyncio
import signal
import time
import uuid

import pytest
import pytest_asyncio

from tests.conftest import Bus, probe_worker, roster_for_tests, valid_report

pytestmark = pytest.mark.integration

AREAS = ["probe", "noack", "late"]
OVERRIDES = {
    "noack": {"ack_within_minutes": 0.05},                                          # 3 s to accept
    "late": {"contact_within_minutes": 0.1, "arrival": {"urban_minutes": 0.25}},   # 6 s to call, 15 s to arrive
}


@pytest.fixture(scope="module")
def watch_stack(tmp_path_factory):
    from models.dispatch.roster import Roster
    from streams.commands.bootstrap import load_roster
    from streams.embedded_stack import start_stack
    from streams.settings import Settings

    running = start_stack(Settings(state_dir=tmp_path_factory.mktemp("watch-stack")))
    asyncio.run(load_roster(running.database_url, Roster.model_validate(roster_for_tests(AREAS, OVERRIDES))))
    yield running
    running.stop()


def start(stack, tmp_path_factory):
    from streams.embedded_stack import free_port
    from streams.processes import start_worker

    workdir = tmp_path_factory.mktemp("watch-worker")
    port = free_port()
    proc, _ = start_worker(stack, port, workdir / "worker.log",
                           {"CLAIMS_STATE_DIR": str(workdir), "CLAIMS_WATCHDOG_INTERVAL_S": "0.5"})
    return proc, workdir / "worker.log", port


def watchdog_passes(port: int) -> float:
    """The worker's completed watchdog passes (claims_watchdog_runs_total{outcome="ok"})."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(s.value for f in text_string_to_metric_families(body) for s in f.samples
               if s.name == "claims_watchdog_runs_total" and s.labels == {"outcome": "ok"})


@pytest_asyncio.fixture(loop_scope="session")
async def watch_bus(watch_stack):
    b = await Bus(watch_stack.kafka_bootstrap).start()
    yield b
    await b.stop()


async def test_a_task_nobody_acknowledges_is_reassigned_after_the_timeout(watch_stack, watch_bus, tmp_path_factory):
    from streams.processes import stop_process

    proc, log, _port = start(watch_stack, tmp_path_factory)
    try:
        await probe_worker(watch_stack.kafka_bootstrap, proc, log, areas=AREAS)
        report = valid_report("noack", areas=AREAS)
        await watch_bus.send("hotline.reports", report, key=report["report_id"])
        decisions = await watch_bus.wait_for(
            lambda: (lambda ds: ds if len(ds) >= 2 else None)(watch_bus.about("dispatch.assignments",
                                                                              report["report_id"])),
            timeout=30, what="a reassignment after the acknowledgement timeout")
        first, second = decisions[0], decisions[1]
        assert first["type"] == "surveyor_assigned"
        assert second["type"] == "surveyor_reassigned" and second["reason"] == "no_acknowledgement"
        assert second["surveyor_id"] != first["surveyor_id"] and second["previous_task_id"] == first["task_id"]
        waited = (_ts(second["occurred_at"]) - _ts(first["occurred_at"]))
        assert 3 <= waited < 10, waited
    finally:
        stop_process(proc)


async def test_a_restarted_worker_fires_each_missed_deadline_exactly_once(watch_stack, watch_bus, tmp_path_factory):
    import asyncpg

    proc, log, port = start(watch_stack, tmp_path_factory)
    await probe_worker(watch_stack.kafka_bootstrap, proc, log, areas=AREAS)
    report = valid_report("late", areas=AREAS)
    await watch_bus.send("hotline.reports", report, key=report["report_id"])
    # A 15-second limit cannot be met: the assignment comes with a deadline_unreachable escalation.
    [a] = await watch_bus.wait_for(lambda: [d for d in watch_bus.about("dispatch.assignments", report["report_id"])
                                            if d["type"] == "surveyor_assigned"], what="the assignment")
    accept = {"event_id": str(uuid.uuid4()), "occurred_at": a["occurred_at"], "type": "task_accepted",
              "surveyor_id": a["surveyor_id"], "task_id": a["task_id"], "report_id": report["report_id"]}
    await watch_bus.send("surveyor.status", accept, key=a["surveyor_id"])
    db = await asyncpg.connect(watch_stack.database_url)
    try:
        async def accepted():
            return await db.fetchval("SELECT status FROM survey_tasks WHERE task_id = $1",
                                     uuid.UUID(a["task_id"])) == "accepted"

        await watch_bus.wait_for(accepted, timeout=20, what="the acceptance applied")
        proc.send_signal(signal.SIGKILL)  # the worker dies with the contact and arrival deadlines still open
        proc.wait()
        assert await db.fetchval("SELECT arrival_missed_at FROM survey_tasks WHERE task_id = $1",
                                 uuid.UUID(a["task_id"])) is None
        # The deadlines pass while no worker runs (a wall-clock condition: nothing else to wait for).
        await watch_bus.wait_for(lambda: time.time() > _ts(a["deadline_at"]) + 1, timeout=30,
                                 what="the arrival deadline passed")

        proc, log, port = start(watch_stack, tmp_path_factory)  # a new worker finds the overdue deadlines in PostgreSQL
        try:
            def events(kind):
                return [d for d in watch_bus.about("dispatch.assignments", report["report_id"]) if d["type"] == kind]

            await watch_bus.wait_for(lambda: events("arrival_deadline_missed") and events("customer_contact_overdue")
                                     and events("late_arrival_notice_issued"), timeout=40, what="the missed deadlines")
            seen = watchdog_passes(port)
            await watch_bus.wait_for(lambda: watchdog_passes(port) >= seen + 6, timeout=20,
                                     what="six more watchdog passes")
            for kind in ("arrival_deadline_missed", "customer_contact_overdue", "late_arrival_notice_issued"):
                assert len(events(kind)) == 1, kind
            row = await db.fetchrow("SELECT arrival_missed_at, contact_reminded_at FROM survey_tasks WHERE task_id = $1",
                                    uuid.UUID(a["task_id"]))
            assert row["arrival_missed_at"] is not None and row["contact_reminded_at"] is not None
        finally:
            from streams.processes import stop_process

            stop_process(proc)
    finally:
        await db.close()


def _ts(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()
