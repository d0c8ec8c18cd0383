"""The pipeline against a bare Faust pass-through, side by side in one run, on the embedded stack.

Run on purpose (never part of the tests):

    .venv/bin/python bench/pipeline.py                      # 100k backlog, 2 s + 15 s at 200/s, 500k for RSS (~20 min)
    .venv/bin/python bench/pipeline.py --backlog 20000 --rss-reports 0    # quicker
    .venv/bin/python bench/pipeline.py --backlog 20000 --rss-reports 0 --broker kafka   # on Apache Kafka

(a) bare: bench/passthrough_app.py, a Faust agent that consumes, decodes (JSON) and produces,
    with the product worker's app class, transport and client settings, on a topic with
    hotline.reports' partitioning;
(b) real: `claims-dispatch worker`: intake (validate, store the claim, plan each region of the batch,
    store the tasks and escalations, publish the decisions).

Each gets the same reports. Measured in this order, each measure for bare then real, back to back (the
machine's other load then weighs on both alike):
1. latency at a fixed rate: sent → first output for the report seen by a reader (for the real
   pipeline: the dispatch decision on dispatch.assignments: an assignment, or an escalation
   when no surveyor can be had), p50/p99; both measured the same way, each after a warm-up of
   --warmup-seconds at the same rate that is not counted (first connections, first reads of regions);
2. sustained throughput from a backlog produced before the worker starts: outputs per second
   between the first and the last output's broker timestamps;
3. peak RSS (VmHWM) of the real worker after --rss-reports reports in all;
4. seconds from `claims-dispatch run` (fresh state, initdb included) to the first assignment.
Also printed, for what the pipeline's commits wait for and the bare agent does not: COMMITs over 30 ms in the
database's log during each latency run, and the disk under the database probed before the runs (8 kB writes,
each followed by fdatasync, as PostgreSQL makes its WAL durable).
The real pipeline's database is checked at the end: every report stored, decided once.
Before the workers start, last month's callback report is generated (`claims-dispatch report`), as it is in
any database but on the month's first working day; otherwise the worker's 15 s check would generate it
inside the latency measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streams.embedded_stack import Stack, create_topics, free_port, start_stack  # noqa: E402
from streams.kafka_clients import producer, reader  # noqa: E402
from streams.processes import stop_process, wait_until_ready, worker_env  # noqa: E402
from streams.settings import Settings  # noqa: E402

BARE_IN, BARE_OUT = "bench.passthrough.in", "bench.passthrough.out"


def bench_roster(n_regions: int, per_region: int):
    """Regions on a grid 3° apart (no overlap), each with ``per_region`` 24-hour surveyors who handle every
    loss type and as many vehicles carrying every piece of equipment: the reports of the latency run are
    assigned, not queued, so that it measures the path to an assignment."""
    from models.dispatch.rules import DispatchRules
    from models.contract.loss_report import LossType
    from models.dispatch.roster import Roster

    equipment = sorted(set().union(*DispatchRules().equipment_for.values()))
    roster = {"regions": [], "surveyors": [], "vehicles": []}
    for i in range(n_regions):
        rid = f"b{i:02d}"
        lat, lon = 22.0 + 3.0 * (i // 6), 100.0 + 3.5 * (i % 6)
        # No surveyor app plays here: acknowledgement and contact limits beyond the run, so that those
        # timers do not turn the measurement into one of reassignments.
        roster["regions"].append({"region_id": rid, "name": f"bench region {i}", "centre_lat": lat,
                                  "centre_lon": lon, "service_radius_km": 120, "ack_within_minutes": 600,
                                  "contact_within_minutes": 600})
        for j in range(per_region):
            dlat, dlon = 0.25 * ((j % 11) / 10 - 0.5), 0.25 * ((j // 11 % 11) / 10 - 0.5)
            roster["surveyors"].append({
                "surveyor_id": f"{rid}-s{j:03d}", "name": f"surveyor {j}", "region_id": rid,
                "skills": [t.value for t in LossType], "base_lat": lat + dlat, "base_lon": lon + dlon,
                "shift": "on_call", "shift_start": "00:00:00", "shift_end": "00:00:00", "all_day": True})
            roster["vehicles"].append({"vehicle_id": f"{rid}-v{j:03d}", "region_id": rid, "equipment": equipment,
                                       "base_lat": lat + dlat, "base_lon": lon + dlon})
    return Roster.model_validate(roster)


def make_reports(regions, n: int, seed: int, first_seq: int, round_robin: bool = False) -> list[tuple[str, bytes]]:
    """``n`` hotline reports in random regions, or with ``round_robin`` in each region in turn (the latency run:
    drawn at random, some region of 30 got more of its 3,400 reports than it has surveyors, and a report
    queued for a busy surveyor has no output for minutes)."""
    from streams.simulators.hotline import loss_report

    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    out = []
    for i in range(n):
        region = regions[i % len(regions)] if round_robin else rng.choice(regions)
        report = loss_report(rng, region, now, first_seq + i)
        out.append((report.report_id, report.model_dump_json().encode()))
    return out


async def produce_all(bootstrap: str, topic: str, records: list[tuple[str, bytes]]) -> None:
    p = producer(bootstrap)
    await p.start()
    try:
        pending = []
        for key, value in records:
            pending.append(await p.send(topic, value, key=key.encode()))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await p.stop()


@dataclass
class Watch:
    """First output per expected report id: broker timestamp (ms) and local receive time."""

    expected: set[str]
    stamp_ms: dict[str, int] = field(default_factory=dict)
    seen_at: dict[str, float] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return len(self.stamp_ms) >= len(self.expected)


async def watch(bootstrap: str, topic: str, w: Watch, timeout_s: float, progress: str,
                joined: asyncio.Event | None = None) -> Watch:
    """Read ``topic`` until every expected report has an output; ``joined`` is set once the reader holds
    its partitions (Tansu holds a group join for half the session timeout)."""
    r = reader(bootstrap, topic)
    await r.start()
    deadline = time.monotonic() + timeout_s
    last_print = time.monotonic()
    try:
        while not w.done:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{progress}: {len(w.stamp_ms)} of {len(w.expected)} outputs in {timeout_s} s")
            batch = await r.getmany(timeout_ms=200, max_records=5000)
            if joined is not None and r.assignment():
                joined.set()
            for records in batch.values():
                now = time.time()
                for m in records:
                    rid = json.loads(m.value).get("report_id")
                    if rid in w.expected and rid not in w.stamp_ms:
                        w.stamp_ms[rid] = m.timestamp
                        w.seen_at[rid] = now
            if time.monotonic() - last_print > 10:
                print(f"  {progress}: {len(w.stamp_ms)}/{len(w.expected)}", flush=True)
                last_print = time.monotonic()
        return w
    finally:
        await r.stop()


async def dispatched_since(database_url: str, since: datetime, n: int, timeout_s: float, progress: str) -> float:
    """Wait until ``n`` reports have been stored and decided since ``since`` (intake's inbox rows, written
    in the transaction that stores the decisions) and every record produced is acknowledged by the broker
    (outbox published); returns reports handled per second."""
    import asyncpg

    conn = await asyncpg.connect(database_url)
    deadline = time.monotonic() + timeout_s
    last_print = time.monotonic()
    try:
        while True:
            row = await conn.fetchrow(
                "SELECT count(*) AS n, min(processed_at) AS first, max(processed_at) AS last FROM inbox"
                " WHERE consumer = 'intake' AND processed_at >= $1", since)
            if row["n"] >= n:
                unpublished = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                if unpublished == 0:
                    return (row["n"] - 1) / max((row["last"] - row["first"]).total_seconds(), 1e-3)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{progress}: {row['n']} of {n} claims dispatched in {timeout_s} s")
            if time.monotonic() - last_print > 10:
                print(f"  {progress}: {row['n']}/{n}", flush=True)
                last_print = time.monotonic()
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


async def paced(bootstrap: str, topic: str, records: list[tuple[str, bytes]], rate: float) -> dict[str, float]:
    p = producer(bootstrap)
    await p.start()
    sent: dict[str, float] = {}
    try:
        start = time.monotonic()
        for i, (key, value) in enumerate(records):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent[key] = time.time()
            await p.send(topic, value, key=key.encode())
        await p.flush()
    finally:
        await p.stop()
    return sent


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1] if len(values) > 1 else values[0]


def throughput(w: Watch) -> float:
    stamps = sorted(w.stamp_ms.values())
    return (len(stamps) - 1) / max((stamps[-1] - stamps[0]) / 1000, 1e-3)


async def latency(bootstrap: str, in_topic: str, out_topic: str, records, rate: float, label: str,
                  warmup: int) -> list[float]:
    """Latencies of ``records`` sent at ``rate``, but for the first ``warmup`` (sent the same way, not counted)."""
    w = Watch({k for k, _ in records})
    joined = asyncio.Event()
    watcher = asyncio.ensure_future(watch(bootstrap, out_topic, w, 1800 + len(records) / rate, label, joined))
    await asyncio.wait([asyncio.ensure_future(joined.wait()), watcher], return_when=asyncio.FIRST_COMPLETED)
    if watcher.done():
        watcher.result()  # it failed before joining: say why
    sent = await paced(bootstrap, in_topic, records, rate)
    await watcher
    return [(w.seen_at[k] - sent[k]) * 1000 for k in list(sent)[warmup:]]


def start_bare(stack: Stack, state: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = worker_env(stack, port, {"BENCH_IN": BARE_IN, "BENCH_OUT": BARE_OUT, "CLAIMS_STATE_DIR": str(state)})
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "passthrough_app.py")], env=env,
                            stdout=open(state / "bare.log", "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return proc, port


def start_real(stack: Stack, state: Path) -> tuple[subprocess.Popen, int]:
    from streams.processes import start_worker

    return start_worker(stack, free_port(), state / "worker.log", {"CLAIMS_STATE_DIR": str(state)})


def batch_figures(port: int) -> str:
    """Mean batch size and time of the worker's intake, and how many took long, from its /metrics."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    got = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("agent") == "intake" and sample.name in (
                    "claims_batch_size_sum", "claims_batch_size_count", "claims_batch_seconds_sum"):
                got[sample.name] = sample.value
            if sample.name == "claims_region_state_reads_total":
                got[sample.labels["source"]] = sample.value
            if sample.labels.get("agent") == "intake" and sample.name == "claims_batch_seconds_bucket":
                got[f"le{float(sample.labels['le']):g}"] = sample.value
    n = got.get("claims_batch_size_count", 0)
    if not n:
        return "no batches"
    reads = got.get("memory", 0) + got.get("database", 0)
    return (f"{n:.0f} batches, mean {got['claims_batch_size_sum'] / n:.0f} reports and "
            f"{1000 * got['claims_batch_seconds_sum'] / n:.0f} ms each"
            f", {n - got['le0.05']:.0f} over 50 ms and {n - got['le0.1']:.0f} over 100 ms"
            f" (region states from memory so far: {got.get('memory', 0) / max(1, reads):.0%})")


def disk_syncs(folder: Path, seconds: float = 10.0) -> str:
    """What a commit waits for, on the disk the database is on, with nothing else running: an 8 kB write and
    fdatasync to a preallocated file (as PostgreSQL writes and syncs its WAL) every 4 ms for ``seconds``. The
    bare pass-through writes nothing to disk; every pipeline batch commits, and waits for such a sync."""
    path = folder / "sync-probe"
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        size = 16 << 20
        os.write(fd, b"\0" * size)
        os.fsync(fd)
        page, took, offset = b"x" * 8192, [], 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            os.pwrite(fd, page, offset)
            started = time.perf_counter()
            os.fdatasync(fd)
            took.append((time.perf_counter() - started) * 1000)
            offset = (offset + len(page)) % size
            time.sleep(0.004)
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
    slow = [t for t in took if t > 30]
    return (f"{len(took)} syncs in {seconds:.0f} s, p50 {pct(took, 50):.2f} ms, p99 {pct(took, 99):.2f} ms, "
            f"max {max(took):.0f} ms; {len(slow)} over 30 ms ({sum(slow):.0f} ms in all)")


class SlowCommits:
    """COMMITs of the bench's PostgreSQL that took over ``threshold_ms``, from its log, between ``start()``
    and ``stop()`` (the bench's own database: it sets ``log_min_duration_statement``)."""

    def __init__(self, stack: Stack, threshold_ms: int = 30) -> None:
        self.log = Path(stack.pg_server.pgdata) / "log"
        self.threshold_ms = threshold_ms
        self.url = stack.database_url
        self.offset = 0

    async def setup(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(f"ALTER SYSTEM SET log_min_duration_statement = {self.threshold_ms}")
            await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()

    def start(self) -> None:
        self.offset = self.log.stat().st_size if self.log.exists() else 0

    def stop(self) -> str:
        with open(self.log, "rb") as f:
            f.seek(self.offset)
            text = f.read().decode(errors="replace")
        took = [float(line.split("duration: ")[1].split(" ms")[0]) for line in text.splitlines()
                if "duration: " in line and line.rstrip().endswith("COMMIT;")]
        return (f"{len(took)} COMMITs over {self.threshold_ms} ms" +
                (f", {sum(took):.0f} ms in all, longest {max(took):.0f} ms" if took else ""))


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def check_database(database_url: str, report_ids: set[str]) -> dict:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT c.report_id, (SELECT count(*) FROM survey_tasks t WHERE t.report_id = c.report_id) AS tasks,"
            " (SELECT count(*) FROM escalations e WHERE e.report_id = c.report_id) AS escalations,"
            " (SELECT count(*) FROM survey_tasks t WHERE t.report_id = c.report_id AND t.live) AS live,"
            " (SELECT count(*) FROM survey_tasks t WHERE t.report_id = c.report_id AND t.cancel_reason = 'diverted')"
            " AS diverted"
            " FROM claims c WHERE c.report_id = ANY($1::text[])", list(report_ids))
        return {"stored": len(rows),
                "decided": sum(1 for r in rows if r["tasks"] or r["escalations"]),
                "escalated": sum(1 for r in rows if r["escalations"] and not r["tasks"]),
                "assigned": sum(1 for r in rows if r["tasks"]),
                "two_live_tasks": sum(1 for r in rows if r["live"] > 1),
                # surveyors turned round on the way to these claims for a serious injury (docs/dispatch.md)
                "diverted": sum(r["diverted"] for r in rows)}
    finally:
        await conn.close()


def startup_to_first_assignment(keep: bool) -> tuple[float, str]:
    """`claims-dispatch run` in a fresh state folder; a report is sent as soon as the stack file says where.
    Returns the seconds to the first assignment and where they went (from `run`'s own output)."""
    state = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    env = dict(os.environ, CLAIMS_STATE_DIR=str(state), CLAIMS_WEB_PORT=str(free_port()))
    for k in ("CLAIMS_KAFKA_BOOTSTRAP", "CLAIMS_DATABASE_URL"):
        env.pop(k, None)
    started = time.monotonic()
    started_wall = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "run"], cwd=ROOT, env=env,
                            stdout=open(state / "run.log", "ab"), stderr=subprocess.STDOUT)
    try:
        stack_file = state / "stack.json"
        while not stack_file.exists():
            if proc.poll() is not None or time.monotonic() - started > 120:
                raise RuntimeError(f"claims-dispatch run did not come up; see {state / 'run.log'}")
            time.sleep(0.05)
        bootstrap = json.loads(stack_file.read_text())["kafka_bootstrap"]
        from streams.commands.bootstrap import demo_roster_path, read_roster

        [(rid, value)] = make_reports(read_roster(demo_roster_path()).regions, 1, 99, 9_000_000)

        async def first() -> float:
            w = Watch({rid})
            watcher = asyncio.ensure_future(watch(bootstrap, "dispatch.assignments", w, 60, "start-up"))
            await produce_all(bootstrap, "hotline.reports", [(rid, value)])
            await watcher
            return w.stamp_ms[rid] / 1000  # when the worker published it (this reader may join later)

        took = asyncio.run(first()) - started_wall
        return took, _startup_phases(state / "run.log", started_wall)
    finally:
        stop_process(proc)
        if not keep:
            shutil.rmtree(state, ignore_errors=True)


def _startup_phases(run_log: Path, started_wall: float) -> str:
    """From `claims-dispatch run`'s output: when the embedded stack was up, when the worker logged its start
    (its imports done) and its running loop (Faust started, before the group's partitions), and how long it
    took from its launch to consuming; seconds from `run`."""
    at: dict[str, float] = {}
    consuming = None
    for line in run_log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") in ("stack_ready", "worker_starting", "worker_event_loop"):
                stamp = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")).timestamp()
                at.setdefault(entry["event"], stamp - started_wall)
        elif line.startswith("workers consuming after"):
            consuming = line.split()[-2]
    said = ", ".join(f"{name} at {at[event]:.1f} s" for event, name in
                     (("stack_ready", "stack up"), ("worker_starting", "worker imported"),
                      ("worker_event_loop", "worker's loop running")) if event in at)
    return f"{said}; worker consuming {consuming} s after its launch"


def last_months_report(stack: Stack, out: Path) -> None:
    """Last month's report generated and announced, as in any database but on its first working day: with a
    fresh database the worker would generate it 15 s after starting, inside the latency measurement (once a
    month, ~1.5 s of CPU in a thread; measured on its own, docs/performance.md)."""
    from zoneinfo import ZoneInfo

    from models.reporting.monthly import month_key, previous_month

    now = datetime.now(ZoneInfo(Settings().callbacks.timezone))  # the worker's month is the local one
    env = dict(os.environ, CLAIMS_KAFKA_BOOTSTRAP=stack.kafka_bootstrap, CLAIMS_DATABASE_URL=stack.database_url)
    subprocess.run([sys.executable, "-m", "streams.cli", "report", "--month",
                    previous_month(month_key(now.year, now.month)), "--out", str(out)],
                   cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def main() -> int:
    import faulthandler

    faulthandler.register(__import__("signal").SIGUSR1)  # kill -USR1 <pid>: where is it stuck
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the stack on kill, like Ctrl-C
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backlog", type=int, default=100_000)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--latency-seconds", type=float, default=15.0)
    ap.add_argument("--warmup-seconds", type=float, default=2.0,
                    help="sent at the same rate before the latency measurement and not counted (both runs)")
    ap.add_argument("--rss-reports", type=int, default=500_000, help="reports in all before reading peak RSS; 0: skip")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--regions", type=int, default=30)
    ap.add_argument("--surveyors-per-region", type=int, default=120)
    ap.add_argument("--keep", action="store_true", help="keep the state folders (logs, databases) for a look")
    ap.add_argument("--broker", choices=["tansu", "kafka"], default="tansu",
                    help="the embedded broker both run on (kafka: a project-managed Apache Kafka node)")
    args = ap.parse_args()
    os.environ["CLAIMS_BROKER"] = args.broker  # the start-up measurement's `run` too

    from streams.commands.bootstrap import load_roster

    state = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    print(f"state folder {state}", flush=True)
    stack = start_stack(Settings(state_dir=state, broker=args.broker))
    broker = f"Apache Kafka {stack.kafka_cluster.version}" if stack.kafka_cluster else "Tansu"  # before stop()
    roster = bench_roster(args.regions, args.surveyors_per_region)
    asyncio.run(load_roster(stack.database_url, roster))
    last_months_report(stack, state / "reports")
    regions = roster.regions
    from models.contract.topics import topic

    partitions = topic("hotline.reports").partitions
    asyncio.run(create_topics(stack.kafka_bootstrap, [(BARE_IN, partitions), (BARE_OUT, partitions)]))
    results: dict = {"bare": {}, "real": {}}
    slow_commits = SlowCommits(stack)
    asyncio.run(slow_commits.setup())
    print("disk: probing fdatasync for 10 s", flush=True)
    results["disk"] = disk_syncs(Path(stack.pg_server.pgdata))
    os.environ["CLAIMS_KAFKA_PROFILE"] = "embedded"
    n_warmup = int(args.rate * args.warmup_seconds)
    n_latency = n_warmup + int(args.rate * args.latency_seconds)
    t0 = time.monotonic()
    try:
        lat_reports = make_reports(regions, n_latency, args.seed, 0, round_robin=True)
        backlog = make_reports(regions, args.backlog, args.seed + 1, 1_000_000)
        print(f"made {n_latency} + {args.backlog} reports in {time.monotonic() - t0:.0f} s", flush=True)
        all_ids = {k for k, _ in lat_reports} | {k for k, _ in backlog}

        runs = {"bare": (start_bare, BARE_IN, BARE_OUT), "real": (start_real, "hotline.reports", "dispatch.assignments")}

        def latency_run(name: str) -> None:
            starter, in_topic, out_topic = runs[name]
            proc, port = starter(stack, state)
            try:
                wait_until_ready(port, proc, timeout=120)
                print(f"{name}: latency at {args.rate:.0f}/s for {args.latency_seconds:.0f} s", flush=True)
                slow_commits.start()
                ms = asyncio.run(latency(stack.kafka_bootstrap, in_topic, out_topic, lat_reports, args.rate, name,
                                         n_warmup))
                results[name]["slow_commits"] = slow_commits.stop()
                results[name]["p50"], results[name]["p99"] = pct(ms, 50), pct(ms, 99)
                if name == "real":
                    results[name]["batches_latency"] = batch_figures(port)
            finally:
                stop_process(proc)

        def backlog_run(name: str) -> None:
            nonlocal all_ids
            starter, in_topic, out_topic = runs[name]
            print(f"{name}: producing a backlog of {args.backlog}", flush=True)
            asyncio.run(produce_all(stack.kafka_bootstrap, in_topic, backlog))
            since = datetime.now(timezone.utc)
            proc, port = starter(stack, state)
            try:
                if name == "bare":
                    w = Watch({k for k, _ in backlog})
                    asyncio.run(watch(stack.kafka_bootstrap, out_topic, w, 3600, f"{name} backlog"))
                    results[name]["throughput"] = throughput(w)
                else:  # in a backlog most claims queue for a surveyor: a decision, but not always a record
                    results[name]["throughput"] = asyncio.run(
                        dispatched_since(stack.database_url, since, len(backlog), 3600, "real backlog"))
                results[name]["rss_mb"] = peak_rss_mb(proc.pid)
                if name == "real":
                    results[name]["batches_backlog"] = batch_figures(port)
                if name == "real" and args.rss_reports > args.backlog + n_latency:
                    more = make_reports(regions, args.rss_reports - args.backlog - n_latency, args.seed + 2, 2_000_000)
                    all_ids |= {k for k, _ in more}
                    print(f"real: {len(more)} more reports for the memory reading", flush=True)
                    since = datetime.now(timezone.utc)
                    asyncio.run(produce_all(stack.kafka_bootstrap, in_topic, more))
                    results[name]["throughput_more"] = asyncio.run(
                        dispatched_since(stack.database_url, since, len(more), 7200, "real, to the memory reading"))
                    results[name]["rss_reports"] = args.rss_reports
                results[name]["rss_mb"] = peak_rss_mb(proc.pid)
            finally:
                stop_process(proc)

        # Each pair measured back to back, so that the machine's other load (noisy here) weighs on both alike:
        # the two latency runs, then the two backlogs.
        for run, name in ((latency_run, "bare"), (latency_run, "real"), (backlog_run, "bare"), (backlog_run, "real")):
            run(name)
        results["real"]["db"] = asyncio.run(check_database(stack.database_url, all_ids))
    finally:
        stack.stop()
        if not args.keep:
            shutil.rmtree(state, ignore_errors=True)  # ~100 MB a run, mostly the database
    # What the runs before left for the disk to write is written out first, so that it cannot land in the
    # fsyncs of the fresh stack's initdb (first assignments of 12-28 s in five of the eight full runs since
    # 04:58 against 8-13 s measured alone, 2026-11-27; in the one such run timed by phase the sync took 0.0 s
    # and the worker's own start was slow, 15.2 s); the line after the table says where the seconds went.
    synced = time.monotonic()
    os.sync()
    print(f"start-up: disk synced in {time.monotonic() - synced:.1f} s", flush=True)
    results["startup_s"], results["startup_phases"] = startup_to_first_assignment(args.keep)

    bare, real = results["bare"], results["real"]
    print()
    print(f"pipeline bench, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, embedded "
          f"{broker} + pgserver, one worker each, {args.regions} regions × {args.surveyors_per_region} surveyors")
    print(f"{'':44} {'bare Faust':>12} {'pipeline':>12} {'ratio':>8}")
    print(f"{'sustained throughput, backlog ' + str(args.backlog) + ' (/s)':44} {bare['throughput']:>12.0f} "
          f"{real['throughput']:>12.0f} {real['throughput'] / bare['throughput']:>8.2f}")
    print(f"{'latency p50 at ' + str(int(args.rate)) + '/s (ms)':44} {bare['p50']:>12.1f} {real['p50']:>12.1f} "
          f"{real['p50'] / bare['p50']:>8.2f}")
    print(f"{'latency p99 at ' + str(int(args.rate)) + '/s (ms)':44} {bare['p99']:>12.1f} {real['p99']:>12.1f} "
          f"{real['p99'] / bare['p99']:>8.2f}")
    rss_label = f"worker peak RSS after {real.get('rss_reports', args.backlog + n_latency)} reports (MB)"
    print(f"{rss_label:44} {bare['rss_mb']:>12.0f} {real['rss_mb']:>12.0f}")
    if "throughput_more" in real:
        print(f"{'pipeline throughput on the way there (/s)':44} {'':>12} {real['throughput_more']:>12.0f}")
    print(f"{'claims-dispatch run → first assignment (s)':44} {'':>12} {results['startup_s']:>12.1f}")
    print(f"start-up: {results['startup_phases']}")
    print(f"pipeline batches: at {int(args.rate)}/s {real['batches_latency']}; backlog {real['batches_backlog']}")
    print(f"database during the latency runs (warm-up included): bare {bare['slow_commits']} (it writes none), "
          f"pipeline {real['slow_commits']}")
    print(f"disk under the database, before the runs: {results['disk']}")
    db = real["db"]
    print(f"database: {db['stored']} of {len(all_ids)} reports stored, {db['assigned']} assigned, "
          f"{db['escalated']} escalated, {db['stored'] - db['decided']} queued for a busy surveyor who will make "
          f"it in time; {db['two_live_tasks']} with two live tasks; {db['diverted']} surveyors turned round on the "
          "way to one of them")
    return 0 if db["stored"] == len(all_ids) and db["two_live_tasks"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
