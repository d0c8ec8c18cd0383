"""A fixture month small enough to count by hand, through PostgreSQL, the renderers, Kafka and a real browser.

October 2026 (Asia/Shanghai), counted by hand:
- closure: 5 triggers, 1 excluded (do_not_call), 4 eligible; tasks for c1, c2, c4 (c3 not selected):
  c1 reached by phone (1 attempt, satisfaction 5, a tip-off), c2 three unanswered calls then SMS delivered
  (4 attempts; an SMS is not a success for closure), c4 problem case by phone (2 attempts, satisfaction 2).
  → 2 successes (phone 2) of 4 eligible = 50%, coverage 3/4 = 75%, 7 attempts, 3.5 attempts per success.
- underwriting: 5 triggers, corporate cargo and direct sales excluded, 3 eligible, 1 task reached → 33%,
  one more success was needed for 50%.
- surrender: 2 eligible, 2 tasks: one reached, one refused → 50%, coverage 100%.
- dispatch: 3 reports (2 urban, 1 suburban); urban arrivals after 20 and 40 minutes (limit 30: one met),
  the suburban surveyor never arrived (deadline missed) after a first surveyor declined;
  escalations: deadline_unreachable 1, all_surveyors_busy 1.
- September: 2 closure callbacks, both successful (100%), 1 loss report.
"""

import asyncio
import base64
import json
import shutil
import subprocess
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from models.contract.event import derived_event_id
from tests.conftest import CLI, AREAS, broker_env, roster_for_tests
from tests.report_factory import report_dict

pytestmark = pytest.mark.integration
SH = ZoneInfo("Asia/Shanghai")
OCT = datetime(2026, 10, 15, 10, 0, tzinfo=SH)
SEP = datetime(2026, 9, 15, 10, 0, tzinfo=SH)


@pytest.fixture(scope="module")
def month_stack(tmp_path_factory):
    from models.dispatch.roster import Roster
    from streams.commands.bootstrap import load_roster
    from streams.embedded_stack import start_stack
    from streams.settings import Settings

    running = start_stack(Settings(state_dir=tmp_path_factory.mktemp("report-stack")))
    asyncio.run(load_roster(running.database_url, Roster.model_validate(roster_for_tests(AREAS))))
    asyncio.run(_fixture(running.database_url))
    yield running
    running.stop()


async def _decision(conn, kind, month, at, eligible=True, reason=None, selected=True):
    sid = uuid.uuid4()
    await conn.execute("INSERT INTO callback_decisions (source_event_id, kind, month, subject, triggered_at, eligible,"
                       " exclusion_reason, selected) VALUES ($1, $2, $3, 'S', $4, $5, $6, $7)",
                       sid, kind, month, at, eligible, reason, selected and eligible)
    return sid


async def _task(conn, kind, month, at, state, success, channel=None, problem=False, satisfaction=None,
                outcomes=("reached",)):
    sid = await _decision(conn, kind, month, at)
    tid = uuid.uuid4()
    await conn.execute("INSERT INTO callback_tasks (task_id, source_event_id, kind, month, subject, customer,"
                       " triggered_at, due_at, expires_at, state, success, success_channel, problem_case,"
                       " satisfaction) VALUES ($1, $2, $3, $4, 'S', '{}', $5, $6, $6, $7, $8, $9, $10, $11)",
                       tid, sid, kind, month, at, at + timedelta(days=10), state, success, channel, problem,
                       satisfaction)
    for n, outcome in enumerate(outcomes, 1):
        await conn.execute("INSERT INTO callback_attempts (task_id, attempt_no, event_id, channel, outcome,"
                           " identity_confirmed, occurred_at) VALUES ($1, $2, $3, $4, $5, true, $6)",
                           tid, n, uuid.uuid4(), "sms" if outcome.startswith("sms") else "phone", outcome, at)
    return tid


async def _claim(conn, area, zone, at, minutes=None, missed=False, declined_first=False, escalation=None):
    rid = f"RPT-{uuid.uuid4().hex[:8]}"
    report = report_dict(report_id=rid, now=at)
    limit = {"urban": 30, "suburban": 60}[zone]
    await conn.execute("INSERT INTO claims (report_id, event_id, reported_at, loss_time, received_at, region_id, zone,"
                       " loss_type, policy_no, deadline_at, report, pending_since, dispatch_state, attempts)"
                       " VALUES ($1, $2, $3, $3, $3, 'probe', $4, 'vehicle', 'P', $5, $6, $3, 'assigned', 1)",
                       rid, uuid.uuid4(), at, zone, at + timedelta(minutes=limit), json.dumps(report))
    attempt = 1
    if declined_first:
        await conn.execute("INSERT INTO survey_tasks (task_id, report_id, attempt, surveyor_id, vehicle_id, region_id,"
                           " zone, status, assigned_at, deadline_at, estimated_arrival_at, meets_deadline, ack_due_at,"
                           " contact_due_at) VALUES ($1, $2, 1, $3, $4, 'probe', $5, 'declined', $6,"
                           " $7, $7, true, $7, $7)", uuid.uuid4(), rid, f"{area}-s1", f"{area}-v1", zone, at,
                           at + timedelta(minutes=limit))
        attempt = 2
    arrived = at + timedelta(minutes=minutes) if minutes is not None else None
    await conn.execute("INSERT INTO survey_tasks (task_id, report_id, attempt, surveyor_id, vehicle_id, region_id,"
                       " zone, status, assigned_at, deadline_at, estimated_arrival_at, meets_deadline, ack_due_at,"
                       " contact_due_at, arrived_at, arrival_missed_at) VALUES ($1, $2, $3, $4, $5, 'probe', $6,"
                       " $7, $8, $9, $9, true, $9, $9, $10, $11)",
                       uuid.uuid4(), rid, attempt, f"{area}-s0", f"{area}-v0", zone,
                       "completed" if arrived else "accepted", at, at + timedelta(minutes=limit), arrived,
                       at + timedelta(minutes=limit) if missed else None)
    if escalation:
        await conn.execute("INSERT INTO escalations (event_id, report_id, attempt, region_id, zone, reason, detail,"
                           " created_at) VALUES ($1, $2, 1, 'probe', $3, $4, 'd', $5)",
                           uuid.uuid4(), rid, zone, escalation, at)


async def _fixture(url):
    conn = await asyncpg.connect(url)
    try:
        c1 = await _task(conn, "closure", "2026-10", OCT, "reached", True, "phone", satisfaction=5)
        await _task(conn, "closure", "2026-10", OCT, "sms_delivered", False,
                    outcomes=("no_answer", "no_answer", "busy", "sms_delivered"))
        await _decision(conn, "closure", "2026-10", OCT, selected=False)  # c3, not selected
        c4 = await _task(conn, "closure", "2026-10", OCT, "problem_case", True, "phone", problem=True,
                         satisfaction=2, outcomes=("no_answer", "problem_case"))
        await _decision(conn, "closure", "2026-10", OCT, eligible=False, reason="do_not_call")
        await _task(conn, "underwriting", "2026-10", OCT, "reached", True, "phone", satisfaction=4)
        await _decision(conn, "underwriting", "2026-10", OCT, selected=False)
        await _decision(conn, "underwriting", "2026-10", OCT, selected=False)
        await _decision(conn, "underwriting", "2026-10", OCT, eligible=False, reason="corporate_cargo")
        await _decision(conn, "underwriting", "2026-10", OCT, eligible=False, reason="direct_sales")
        await _task(conn, "surrender", "2026-10", OCT, "reached", True, "phone", satisfaction=4)
        await _task(conn, "surrender", "2026-10", OCT, "refused", False, outcomes=("refused",))
        for _ in range(2):
            await _task(conn, "closure", "2026-09", SEP, "reached", True, "phone", satisfaction=5)
        await conn.execute("INSERT INTO findings (finding_id, task_id, kind, department, text, follow_up_due_at,"
                           " problem_case, created_at) VALUES ($1, $2, 'tip_off', 'anti-fraud', 'staged', $3, false,"
                           " $4)", uuid.uuid4(), c1, datetime(2099, 1, 1, tzinfo=SH), OCT)
        await conn.execute("INSERT INTO findings (finding_id, task_id, kind, department, text, follow_up_due_at,"
                           " problem_case, created_at) VALUES ($1, $2, 'opinion', 'service-quality', 'unclear', $3,"
                           " true, $4)", uuid.uuid4(), c4, OCT + timedelta(days=3), OCT)
        await _claim(conn, "kcat", "urban", OCT, minutes=20)
        await _claim(conn, "bad", "urban", OCT + timedelta(hours=1), minutes=40, escalation="deadline_unreachable")
        await _claim(conn, "twice", "suburban", OCT + timedelta(hours=2), missed=True, declined_first=True,
                     escalation="all_surveyors_busy")
        await _claim(conn, "escalate", "urban", SEP, minutes=10)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def generated(month_stack, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    env = {**broker_env(month_stack), "CLAIMS_DATABASE_URL": month_stack.database_url,
           "CLAIMS_STATE_DIR": str(out / "state"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([*CLI, "report", "--month", "2026-10", "--out", str(out)], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return out / "2026-10", result.stdout


def test_the_json_holds_exactly_the_hand_counted_figures(generated):
    folder, _ = generated
    r = json.loads((folder / "report.json").read_text())
    assert r["month"] == "2026-10" and r["due_date"] == "2026-11-06"
    closure = r["callbacks"]["closure"]
    assert {k: closure[k] for k in ("triggers", "eligible", "excluded", "tasks", "attempts", "successes",
                                    "successes_by_channel", "success_rate", "coverage_rate", "meets_target",
                                    "problem_cases", "attempts_per_success", "ended")} == {
        "triggers": 5, "eligible": 4, "excluded": {"do_not_call": 1}, "tasks": 3, "attempts": 7, "successes": 2,
        "successes_by_channel": {"phone": 2}, "success_rate": 0.5, "coverage_rate": 0.75, "meets_target": True,
        "problem_cases": 1, "attempts_per_success": 3.5,
        "ended": {"problem_case": 1, "reached": 1, "sms_delivered": 1}}
    assert closure["satisfaction"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}
    assert closure["previous"] == {"eligible": 2, "success_rate": 1.0}
    uw = r["callbacks"]["underwriting"]
    assert (uw["eligible"], uw["excluded"], uw["successes"], uw["successes_needed"]) == \
        (3, {"corporate_cargo": 1, "direct_sales": 1}, 1, 1)
    assert r["callbacks"]["surrender"]["success_rate"] == 0.5 and r["callbacks"]["surrender"]["coverage_rate"] == 1.0
    assert r["findings"] == {"total": 2, "by_kind": {"opinion": 1, "tip_off": 1}, "by_department": {
        "anti-fraud": {"total": 1, "open": 1, "closed": 0, "overdue": 0},
        "service-quality": {"total": 1, "open": 1, "closed": 0, "overdue": 1}}}
    d = r["dispatch"]
    assert d["reports"] == 3 and d["previous"] == {"reports": 1}
    assert d["by_zone"]["urban"] == {"reports": 2, "arrived": 2, "limit_minutes": 30.0, "time_to_scene_p50_min": 20.0,
                                     "time_to_scene_p90_min": 40.0, "deadline_met_ratio": 0.5}
    assert d["by_zone"]["suburban"]["deadline_met_ratio"] == 0.0 and d["by_zone"]["suburban"]["arrived"] == 0
    assert d["escalations"] == {"all_surveyors_busy": 1, "deadline_unreachable": 1}
    assert d["reassignments"] == {"declined": 1}
    assert "underwriting callbacks 33% against a 50% target: 1 more successful callback was needed." in \
        r["observations"]
    assert "closure success rate fell from 100% to 50% since last month." in r["observations"]
    assert "surrender callbacks reached 50% (1 of 2); not reached: 1 refused." in r["observations"]


def test_markdown_and_html_carry_the_same_figures(generated):
    folder, stdout = generated
    md = (folder / "report.md").read_text()
    assert "| closure | 50.0% | 4 | 1 | 3 | 7 | 2 (phone 2) | 50.0% | 75.0% | 1 | 0 | 3.50 | 100.0% |" in md
    assert "| urban | 2 | 2 | 20.0 | 40.0 | 30 | 50.0% |" in md
    brief = (folder / "brief.md").read_text()
    assert "**closure**: 50.0% of 4 eligible (target 50.0%, met)" in brief
    assert "**underwriting**: 33.3% of 3 eligible (target 50.0%, missed)" in brief
    html = (folder / "report.html").read_text()
    assert "<td>closure</td><td>50.0%</td><td>4</td><td>1</td><td>3</td><td>7</td><td>2 (phone 2)</td>" in html
    assert "<h3>How tasks ended</h3>" in html and "### How tasks ended" in md
    for line in [ln for ln in md.splitlines() if ln.startswith("- closure: ") and "open" in ln]:
        assert f"<li>{line[2:]}</li>" in html
    assert html.count('src="data:image/png;base64,') == 3
    png = html.split('src="data:image/png;base64,')[1].split('"')[0]
    assert base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "report.html" in stdout


async def test_the_report_is_stored_and_announced(month_stack, generated):
    from streams.kafka_clients import reader

    conn = await asyncpg.connect(month_stack.database_url)
    try:
        row = await conn.fetchrow("SELECT due_date, published_at, figures FROM monthly_reports WHERE month = '2026-10'")
    finally:
        await conn.close()
    assert row["due_date"].isoformat() == "2026-11-06" and row["published_at"] is not None
    assert json.loads(row["figures"])["callbacks"]["closure"]["eligible"] == 4
    r = reader(month_stack.kafka_bootstrap, "reports.monthly")
    await r.start()
    try:
        batch = await r.getmany(timeout_ms=10000)
    finally:
        await r.stop()
    [msg] = [m for ms in batch.values() for m in ms]
    event = json.loads(msg.value)
    assert event["month"] == "2026-10" and event["due_date"] == "2026-11-06"
    assert event["locations"]["html"].endswith("2026-10/report.html")


def test_the_html_report_renders_in_a_real_browser(generated, tmp_path):
    folder, _ = generated
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is needed: `apt-get install chromium` (.ci/run does this)"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    for page in ("report.html", "brief.html"):
        shot = folder / page.replace(".html", ".png")
        out = subprocess.run([chromium, *flags, "--window-size=1200,2600", f"--screenshot={shot}",
                              f"file://{folder / page}"], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        assert shot.stat().st_size > 20_000
        dom = subprocess.run([chromium, *flags, "--dump-dom", f"file://{folder / page}"], capture_output=True,
                             text=True, timeout=120)
        assert "2026-10" in dom.stdout and "closure" in dom.stdout
    print(f"screenshots: {folder / 'report.png'} {folder / 'brief.png'}")


async def test_the_running_system_publishes_last_months_report_on_the_first_working_day(month_stack, tmp_path):
    from prometheus_client import REGISTRY

    from streams.handlers.monthly_report import check
    from streams.runtime import Runtime
    from streams.settings import Settings

    rt = Runtime(Settings(state_dir=tmp_path), month_stack.database_url)
    sent = []

    async def publish(records):
        sent.extend(records)

    rt.publish_outbox = publish  # the worker's producer, which this test has not started
    checks = ("claims_monthly_report_checks_total", {"outcome": "ok"})
    checked_before = REGISTRY.get_sample_value(*checks) or 0
    try:
        # 7 October 2026 is still the National Day holiday: September's report waits.
        assert await check(rt, datetime(2026, 10, 7, 9, tzinfo=SH)) is None
        assert REGISTRY.get_sample_value("claims_monthly_report_published") == 0
        # 8 October is the first working day after September ended.
        assert await check(rt, datetime(2026, 10, 8, 9, tzinfo=SH)) == "2026-09"
        assert await check(rt, datetime(2026, 10, 8, 9, 5, tzinfo=SH)) is None  # once
        # The announcement was kept in the outbox with the report marked published, in one transaction:
        # had publishing failed, the relay would send it.
        pool = await rt.pool()
        kept = await pool.fetch("SELECT topic FROM outbox WHERE consumer = 'monthly-report'"
                                " AND source_event_id = $1", derived_event_id("monthly-report", "2026-09"))
        assert [r["topic"] for r in kept] == ["reports.monthly"]
        assert REGISTRY.get_sample_value(*checks) - checked_before == 3  # each check counted
    finally:
        await rt.close()
    [record] = sent
    event = json.loads(record.value)
    assert record.topic == "reports.monthly" and event["month"] == "2026-09" and event["due_date"] == "2026-10-13"
    assert REGISTRY.get_sample_value("claims_monthly_report_published") == 1
    assert (tmp_path / "reports" / "2026-09" / "report.html").exists()
