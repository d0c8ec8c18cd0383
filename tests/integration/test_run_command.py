"""`claims-dispatch run` on the embedded stack: addresses printed, consuming fast, nothing left behind."""

import json
import os
import re
import signal
import subprocess
import time
from datetime import datetime, timezone

import pytest

from tests.conftest import CLI, broker_env, processes_using
from tests.report_factory import report_dict
from tests.waiting import wait_until

pytestmark = pytest.mark.integration


# `run` on the pass's broker (CLAIMS_BROKER): on Apache Kafka, Debian's stock kcat talks to it, as the README says.
BROKER = {"CLAIMS_BROKER": os.environ.get("CLAIMS_BROKER", "tansu")}


def test_run_prints_addresses_consumes_within_seconds_and_stops_cleanly(tmp_path, cli_env, kcat):
    state = tmp_path / "state"
    started = time.monotonic()
    proc = subprocess.Popen([*CLI, "run"], env=dict(cli_env, **BROKER), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        lines: list[str] = []
        while not any(line.startswith("stack file") for line in lines):
            line = proc.stdout.readline().decode()
            assert line, "run exited early:\n" + "".join(lines)
            lines.append(line)
        consuming = [line[line.index("workers"):] for line in lines if "workers consuming after" in line]
        assert consuming, "run did not report when its workers were consuming:\n" + "".join(lines)
        print(f"{consuming[0].strip()}; {time.monotonic() - started:.1f} s after `claims-dispatch run` started")
        # Measured 4.7–6 s here (the issue asks for 10 s); timing is measured, not asserted, on a shared machine,
        # so the bound only catches the regression that matters: without the Tansu tuning a join alone takes 30 s.
        assert time.monotonic() - started < 25
        info = json.loads((state / "stack.json").read_text())
        assert any(info["kafka_bootstrap"] in line for line in lines)
        assert any(line.startswith("metrics") and "/metrics" in line for line in lines)

        # Hangzhou, from the demo roster that `run` loads into an empty database
        report = report_dict(at=(30.2841, 120.1651), report_id="RUN-1", now=datetime.now(timezone.utc))
        out = kcat("-P", "-b", info["kafka_bootstrap"], "-t", "hotline.reports", "-k", "RUN-1",
                   input=json.dumps(report).encode() + b"\n")
        assert out.returncode == 0, out.stderr.decode()
        wait_until(lambda: b"RUN-1" in kcat("-C", "-b", info["kafka_bootstrap"], "-t", "dispatch.assignments",
                                             "-e", "-q").stdout,
                   timeout=max(1.0, started + 30 - time.monotonic()), what="an assignment within 30 s of start")
        assigned_after = time.monotonic() - started
        print(f"first assignment {assigned_after:.1f} s after `claims-dispatch run` started")
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(60)
    assert rc == 0
    assert not (state / "stack.json").exists()
    wait_until(lambda: processes_using(state) == [], timeout=2, what="nothing left running after run stopped")


def test_simulate_feeds_a_running_system(stack, worker, database_url, cli_env, kcat):
    env = dict(cli_env, **broker_env(stack), CLAIMS_DATABASE_URL=database_url)
    before = kcat("-C", "-b", stack.kafka_bootstrap, "-t", "dispatch.assignments", "-e", "-q").stdout.count(b"\n")
    out = subprocess.run([*CLI, "simulate", "--reports", "12", "--rate", "50", "--seed", "3", "--regions", "simulate"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "sent 12 reports" in out.stdout
    # each simulated report got a decision (assigned or escalated)
    wait_until(lambda: kcat("-C", "-b", stack.kafka_bootstrap, "-t", "dispatch.assignments", "-e", "-q")
               .stdout.count(b"\n") >= before + 12, what="a decision for each of the 12 reports")


def test_external_kafka_and_database_are_used_instead_of_embedded_ones(stack, tmp_path):
    from streams.embedded_stack import start_stack
    from streams.settings import Settings

    external = start_stack(Settings(kafka_bootstrap=stack.kafka_bootstrap, database_url=stack.database_url,
                                    state_dir=tmp_path / "ext"))
    assert (external.embedded_kafka, external.embedded_postgres) == (False, False)
    assert external.broker is None and external.pg_server is None
    assert external.kafka_bootstrap == stack.kafka_bootstrap
    external.stop()  # stops nothing it did not start
    assert stack.broker.poll() is None


@pytest.mark.parametrize("command, sig", [("run", signal.SIGINT), ("run", signal.SIGTERM), ("demo", signal.SIGINT)])
def test_ctrl_c_stops_everything_quietly_within_seconds(tmp_path, cli_env, command, sig):
    """As a terminal sends it: the signal to the whole process group. It took 22.7 s and ~160 warning lines
    before the workers and the broker had sessions of their own (measured since: 2.6-3.7 s, one line)."""
    import os

    state = tmp_path / "state"
    proc = subprocess.Popen([*CLI, command], env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    ready = "stack file" if command == "run" else "embedded stack up"
    lines = []
    while not any(line.startswith(ready) for line in lines):
        line = proc.stdout.readline().decode()
        assert line, f"{command} exited early:\n" + "".join(lines) + proc.stderr.read().decode()
        lines.append(line)
    # `run` prints its stack file once its workers consume; a demo is under way once it has dispatched one.
    before = b""
    while command == "demo" and not re.search(rb"dispatched [1-9]", before):
        line = proc.stderr.readline()
        assert line, f"{command} exited early:\n" + before.decode()
        before += line
    os.set_blocking(proc.stderr.fileno(), False)
    before += proc.stderr.read() or b""
    signalled = time.monotonic()
    os.killpg(proc.pid, sig)
    rc = proc.wait(60)
    took = time.monotonic() - signalled
    os.set_blocking(proc.stderr.fileno(), True)
    after = proc.stderr.read().decode()
    print(f"{command} stopped {took:.1f} s after {sig.name}; said {after!r} (before it: {len(before)} bytes)")
    assert took < 10, f"{command} took {took:.1f} s to stop"  # the goal is 5 s: measured, printed above
    assert rc in (0, 130)
    # What it says on the way out: not the info lines a worker that was still starting wrote meanwhile.
    said = [line for line in after.splitlines() if line.strip() and not line.startswith("sent ")
            and '"level": "info"' not in line]
    assert len(said) <= 1 and "Traceback" not in after and "WARNING" not in after, after
    wait_until(lambda: processes_using(state) == [], timeout=2, what="nothing left running")


def test_run_with_the_simulated_surveyor_app_gets_assignments_accepted_and_surveyed(tmp_path, cli_env, kcat):
    """Without a surveyor app every task is withdrawn after the acknowledgement limit; with it, run works alone."""
    state = tmp_path / "state"
    proc = subprocess.Popen([*CLI, "run", "--simulate-surveyors", "--decline-ratio", "0"], env=dict(cli_env, **BROKER),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        lines: list[str] = []
        while not any(line.startswith("stack file") for line in lines):
            line = proc.stdout.readline().decode()
            assert line, "run exited early:\n" + "".join(lines)
            lines.append(line)
        assert any(line.startswith("surveyor app") for line in lines)
        info = json.loads((state / "stack.json").read_text())
        sent: list[str] = []

        def kinds(report_id: str) -> list[str]:
            out = kcat("-C", "-b", info["kafka_bootstrap"], "-t", "surveyor.status", "-e", "-q").stdout
            return [json.loads(line)["type"] for line in out.splitlines()
                    if json.loads(line).get("report_id") == report_id]

        def accepted() -> str | None:
            # The app's reader joins from the end of the topic: an assignment published before it has joined is
            # not seen. So a new report goes out every few seconds until the app has taken one up.
            report_id = f"SIM-{len(sent) + 1}"
            sent.append(report_id)
            report = report_dict(at=(30.2841, 120.1651), report_id=report_id, now=datetime.now(timezone.utc))
            kcat("-P", "-b", info["kafka_bootstrap"], "-t", "hotline.reports", "-k", report_id,
                 input=json.dumps(report).encode() + b"\n")
            try:
                return wait_until(lambda: next((r for r in sent if "task_accepted" in kinds(r)), None), timeout=3,
                                  every=0.3, what="the app's answer")
            except AssertionError:
                return None

        taken = wait_until(accepted, timeout=30, what="the simulated app accepting a task")
        reported = wait_until(lambda: next((k for k in [kinds(taken)] if "survey_completed" in k), None),
                              what="the survey completed by the simulated app")
        assert reported[:4] == ["task_accepted", "customer_contacted", "arrived_at_scene", "survey_completed"], reported
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    wait_until(lambda: processes_using(state) == [], timeout=2, what="nothing left running")


async def test_simulate_sends_new_reports_each_run_unless_a_seed_is_given(stack, worker, database_url, cli_env, db,
                                                                          bus):
    import asyncio

    env = dict(cli_env, **broker_env(stack), CLAIMS_DATABASE_URL=database_url)

    def simulate(*extra) -> str:
        out = subprocess.run([*CLI, "simulate", "--reports", "5", "--rate", "50", "--regions", "simulate", *extra],
                             env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout

    async def claims() -> int:
        return await db.fetchval("SELECT count(*) FROM claims WHERE region_id = 'simulate'")

    before = await claims()
    first, second = [await asyncio.to_thread(simulate) for _ in range(2)]
    assert first.split("seed ")[1] != second.split("seed ")[1]
    # Run twice against one system, both batches are new claims (with one seed, the second was all duplicates).
    await bus.wait_for(lambda: claims_reached(claims, before + 10), what="ten new claims")
    assert "(seed 11)" in await asyncio.to_thread(simulate, "--seed", "11")


async def claims_reached(count, n: int) -> bool:
    return await count() >= n
