"""A stack of its own for the fault tests (they kill workers and replay topics), and the table they print."""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest

from streams.embedded_stack import free_port

RESULTS: list[dict] = []


@pytest.fixture(scope="package")
def fault_stack(tmp_path_factory):
    from models.dispatch.roster import Roster
    from streams.commands.bootstrap import demo_roster_path, load_roster, read_roster
    from streams.embedded_stack import start_stack
    from streams.settings import Settings

    state = tmp_path_factory.mktemp("fault-stack")
    # On Apache Kafka (CLAIMS_BROKER=kafka) three nodes: topics replicated three times, min.insync.replicas
    # 2, the producers' acks=all, so that a broker can be lost (test_cluster_faults.py).
    running = start_stack(Settings(state_dir=state, kafka_nodes=3))
    roster: Roster = read_roster(demo_roster_path())
    asyncio.run(load_roster(running.database_url, roster))
    yield running
    running.stop()
    from tests.conftest import processes_using
    from tests.waiting import wait_until

    wait_until(lambda: processes_using(state) == [], timeout=5,
               what="no broker or PostgreSQL left running by the fault drills")


@dataclass
class Workers:
    stack: object
    folder: Path
    procs: list = field(default_factory=list)
    ports: dict = field(default_factory=dict)

    def start(self, app_id: str = "claims-dispatch", extra: dict | None = None, ready: bool = True) -> object:
        from streams.processes import start_worker, wait_until_ready

        n = len(self.procs)
        proc, port = start_worker(self.stack, free_port(), self.folder / f"worker-{n}.log",
                                  {"CLAIMS_STATE_DIR": str(self.folder / f"w{n}"), "CLAIMS_APP_ID": app_id,
                                   **(extra or {})})
        self.procs.append(proc)
        if ready:
            wait_until_ready(port, proc, timeout=60)
        self.ports[proc.pid] = port
        return proc

    def kill9(self, proc) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        from streams.processes import stop_process

        for p in self.procs:
            stop_process(p)


@pytest.fixture
def workers(fault_stack, tmp_path):
    w = Workers(fault_stack, tmp_path)
    yield w
    w.stop_all()


async def accounted(database_url: str, report_ids: set[str], refused: int, timeout: float = 120) -> tuple[float, int]:
    """Wait until every sent report is a stored claim with a decision (a task, an escalation, or waiting for a
    surveyor expected in time) and every refused one a dead letter; returns seconds waited."""
    started = time.monotonic()
    conn = await asyncpg.connect(database_url)
    try:
        while True:
            decided = await conn.fetchval(
                "SELECT count(*) FROM claims c WHERE c.report_id = ANY($1::text[]) AND"
                " (EXISTS (SELECT 1 FROM survey_tasks t WHERE t.report_id = c.report_id)"
                "  OR EXISTS (SELECT 1 FROM escalations e WHERE e.report_id = c.report_id)"
                "  OR c.dispatch_state = 'pending')", list(report_ids))
            dead = await conn.fetchval("SELECT count(*) FROM dead_letters WHERE source_topic = 'hotline.reports'")
            if decided == len(report_ids) and dead >= refused:
                return time.monotonic() - started, len(report_ids) - decided
            if time.monotonic() - started > timeout:
                raise AssertionError(f"after {timeout} s: {decided} of {len(report_ids)} decided, {dead} dead letters")
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


async def duplicate_effects(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return sum([
            await conn.fetchval("SELECT count(*) FROM (SELECT report_id FROM survey_tasks WHERE status NOT IN"
                                " ('declined', 'cancelled') GROUP BY report_id HAVING count(*) > 1) x"),
            await conn.fetchval("SELECT count(*) FROM (SELECT surveyor_id FROM survey_tasks WHERE live"
                                " GROUP BY surveyor_id HAVING count(*) > 1) x"),
            await conn.fetchval("SELECT count(*) FROM (SELECT source_event_id FROM callback_tasks"
                                " GROUP BY source_event_id HAVING count(*) > 1) x"),
            await conn.fetchval("SELECT count(*) FROM (SELECT task_id, kind, text FROM findings"
                                " GROUP BY task_id, kind, text HAVING count(*) > 1) x"),
        ])
    finally:
        await conn.close()


def record(fault: str, sent: int, lost: int, duplicates: int, recovery_s: float, audit: str) -> None:
    RESULTS.append({"fault": fault, "sent": sent, "lost": lost, "duplicate effects": duplicates,
                    "recovery s": round(recovery_s, 1), "audit": audit})


def pytest_terminal_summary(terminalreporter):
    if not RESULTS:
        return
    terminalreporter.write_sep("-", "fault suite")
    terminalreporter.write_line(f"{'fault':<44}{'sent':>7}{'lost':>6}{'dup. effects':>14}{'recovery s':>12}  audit")
    for r in RESULTS:
        terminalreporter.write_line(f"{r['fault']:<44}{r['sent']:>7}{r['lost']:>6}{r['duplicate effects']:>14}"
                                    f"{r['recovery s']:>12}  {r['audit']}")
