"""Fixtures for tests on real parts: the embedded Tansu broker, pgserver's PostgreSQL, a real worker.

Nothing here runs for unit tests: fixtures start only when a test asks for them.
Set CLAIMS_KAFKA_BOOTSTRAP / CLAIMS_DATABASE_URL to run the same tests against
an external Kafka and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from tests.report_factory import report_dict
from tests.waiting import wait_for


def roster_for_tests(regions: list[str], overrides: dict[str, dict] | None = None) -> dict:
    """One region per test area, far apart, each with 24-hour surveyors (time-of-day independent)."""
    roster = {"regions": [], "surveyors": [], "vehicles": []}
    for i, rid in enumerate(regions):
        lat, lon = 20.0 + 3.0 * i, 100.0
        roster["regions"].append({"region_id": rid, "name": rid, "centre_lat": lat, "centre_lon": lon,
                                  "service_radius_km": 150, **(overrides or {}).get(rid, {})})
        for j in range(3):
            roster["surveyors"].append({
                "surveyor_id": f"{rid}-s{j}", "name": f"測試{j}", "region_id": rid, "skills": ["vehicle", "theft"],
                "base_lat": lat + 0.01 * (j + 1), "base_lon": lon, "shift": "on_call",
                "shift_start": "00:00:00", "shift_end": "00:00:00", "all_day": True})
            roster["vehicles"].append({"vehicle_id": f"{rid}-v{j}", "region_id": rid, "equipment": ["camera"],
                                       "base_lat": lat + 0.01 * (j + 1), "base_lon": lon})
    return roster


# Regions lie 333 km apart in this order: the desk console's test (deskui) finds neighbours within 400 km,
# deskapi and deskui-nb, and none of the surveyors the command tests (desk, desktime) count on.
AREAS = ["probe", "kcat", "bad", "twice", "escalate", "decline", "store", "simulate", "survey", "desk", "desktime",
         "deskapi", "deskui", "deskui-nb", "dup", "dup2", "dup3", "promise", "trips", "scenes", "watch",
         "deskturn", "home"]


def area_centre(area: str, areas: list[str] = AREAS) -> tuple[float, float]:
    return 20.0 + 3.0 * areas.index(area) + 0.02, 100.0


def valid_report(area: str, report_id: str | None = None, areas: list[str] = AREAS) -> dict:
    return report_dict(at=area_centre(area, areas), report_id=report_id or f"{area}-{uuid.uuid4().hex[:8]}",
                       now=datetime.now(timezone.utc))


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    from streams.embedded_stack import start_stack
    from streams.settings import Settings

    settings = Settings(state_dir=tmp_path_factory.mktemp("stack"))
    running = start_stack(settings)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def database_url(stack) -> str:
    from models.dispatch.roster import Roster
    from streams.commands.bootstrap import load_roster

    asyncio.run(load_roster(stack.database_url, Roster.model_validate(roster_for_tests(AREAS))))
    return stack.database_url


@pytest.fixture(scope="session")
def worker(stack, database_url, tmp_path_factory):
    """A real `claims-dispatch worker` process, ready once a probe report has been assigned."""
    from streams.embedded_stack import free_port
    from streams.processes import start_worker, stop_process

    workdir = tmp_path_factory.mktemp("worker")
    log_path = workdir / "worker.log"
    # 2027 unpublished, as it is in December 2026, whatever the installed calendar package has by the time
    # these run (tests/integration/test_year_end_calendar.py).
    proc, port = start_worker(stack, free_port(), log_path, {"CLAIMS_STATE_DIR": str(workdir / "state"),
                                                             "CLAIMS_CALENDAR__PUBLISHED_UNTIL": "2026"})
    started = time.monotonic()
    decision = asyncio.run(probe_worker(stack.kafka_bootstrap, proc, log_path))
    info = {"proc": proc, "web_port": port, "log": log_path, "ready_after_s": time.monotonic() - started,
            "probe": decision}
    yield info
    stop_process(proc)


async def probe_worker(bootstrap: str, proc, log_path: Path, timeout: float = 60, areas: list[str] = AREAS) -> dict:
    from streams.kafka_clients import producer, reader

    r = reader(bootstrap, "dispatch.assignments")
    await r.start()
    p = producer(bootstrap)
    await p.start()
    report = valid_report("probe", areas=areas)
    await p.send_and_wait("hotline.reports", json.dumps(report).encode(), key=report["report_id"].encode())
    await p.stop()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            for msgs in (await r.getmany(timeout_ms=200)).values():
                for m in msgs:
                    d = json.loads(m.value)
                    if d["report_id"] == report["report_id"]:
                        return d
        raise RuntimeError(f"worker did not assign a probe report within {timeout} s:\n{log_path.read_text()[-3000:]}")
    finally:
        await r.stop()


class Bus:
    """Reads output topics in the background, so tests can wait for what they expect."""

    def __init__(self, bootstrap: str) -> None:
        from streams.kafka_clients import producer, reader

        self.bootstrap = bootstrap
        self.records: dict[str, list[dict]] = {"dispatch.assignments": [], "hotline.reports.dlq": [],
                                               "surveyor.status.dlq": [],
                                               "callbacks.tasks": [], "feedback.routed": [],
                                               "policy.events.dlq": [], "callbacks.attempts.dlq": [],
                                               "dispatch.command_results": [], "dispatch.commands.dlq": []}
        self._reader = reader(bootstrap, *self.records)
        self._producer = producer(bootstrap)
        self._task: asyncio.Task | None = None

    async def start(self) -> "Bus":
        await self._producer.start()
        await self._reader.start()
        self._task = asyncio.ensure_future(self._run())
        return self

    async def _run(self) -> None:
        async for m in self._reader:
            self.records[m.topic].append(json.loads(m.value))

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        await self._reader.stop()
        await self._producer.stop()

    async def send(self, topic: str, value: bytes | dict, key: str) -> None:
        raw = value if isinstance(value, bytes) else json.dumps(value, ensure_ascii=False).encode()
        await self._producer.send_and_wait(topic, raw, key=key.encode())

    def about(self, topic: str, report_id: str) -> list[dict]:
        return [r for r in self.records[topic] if r.get("report_id") == report_id]

    async def wait_for(self, predicate, timeout: float = 30.0, what: str = "condition"):
        """``tests.waiting.wait_for``, here because a test waiting on the bus has the bus at hand."""
        return await wait_for(predicate, timeout, what)


@pytest_asyncio.fixture(loop_scope="session")
async def bus(stack, worker):
    b = await Bus(stack.kafka_bootstrap).start()
    yield b
    await b.stop()


@contextlib.asynccontextmanager
async def own_database(database_url: str, prefix: str):
    """A database of its own on the test server, migrated, dropped afterwards: for a test whose commands act on
    every row (a roster load, a recomputation), so that it neither sees nor changes the session's."""
    from urllib.parse import urlsplit

    from streams.store.migrations import apply_migrations

    admin = await asyncpg.connect(database_url)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    await admin.execute(f"CREATE DATABASE {name}")
    url = urlsplit(database_url)._replace(path=f"/{name}").geturl()
    try:
        await apply_migrations(url)
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            yield url, pool
        finally:
            await pool.close()
    finally:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()


@pytest_asyncio.fixture(loop_scope="session")
async def db(database_url):
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
def kcat():
    """Debian's kcat as the README runs it: on Apache Kafka the stock one; on Tansu `infra/dev/kcat` (with
    the librdkafka the confluent-kafka wheel ships, which can talk to Tansu; Debian bookworm's 2.0.2 cannot)."""
    if shutil.which("kcat") is None:
        pytest.fail("kcat is not installed: `make test` installs it (infra/dev/system-packages.sh)")
    on_kafka = os.environ.get("CLAIMS_BROKER", "tansu") == "kafka"
    exe = shutil.which("kcat") if on_kafka else str(Path(__file__).resolve().parents[1] / "infra/dev/kcat")
    env = dict(os.environ, CLAIMS_PYTHON=sys.executable)

    def run(*args: str, input: bytes | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run([exe, *args], input=input, env=env, capture_output=True, timeout=timeout)

    return run


def processes_using(path: Path) -> list[str]:
    """Command lines of running processes that mention ``path`` (orphan detection)."""
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if str(path) in line and "ps -eo" not in line]


@pytest.fixture
def cli_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMS_")}
    env["CLAIMS_STATE_DIR"] = str(tmp_path / "state")
    env["CLAIMS_LOG_FORMAT"] = "json"
    return env


CLI = [sys.executable, "-m", "streams.cli"]


def broker_env(stack) -> dict[str, str]:
    """How a process outside ``stack`` is pointed at its broker, as an operator would: the address, and for
    Tansu the embedded client profile (no idempotent producer there: docs/embedded-broker.md)."""
    env = {"CLAIMS_KAFKA_BOOTSTRAP": stack.kafka_bootstrap}
    if stack.broker_kind == "tansu":
        env["CLAIMS_KAFKA_PROFILE"] = "embedded"
    return env
