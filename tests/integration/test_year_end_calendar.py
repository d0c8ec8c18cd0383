"""The calendar's year-end turn on the real broker and database: with 2027's holidays not published, every
trigger still gets its decision and task (dates marked provisional), the December report its due date, and
once a 2027 schedule is configured exactly the dates it changes are moved."""

import json
import subprocess
import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import holidays
import pytest
import pytest_asyncio

from models.contract.business_events import CustomerContact
from models.callbacks.eligibility import Trigger
from models.contract.callback_events import CallbackAttempted, CallbackKind, Finding, FindingKind
from models.callbacks.rules import CallbackRules
from models.working_days import WorkingDays
from streams.services.callbacks import CallbackContext, decide, record_attempt
from streams.services.unit_of_work import unit_of_work
from tests.conftest import CLI, own_database

pytestmark = pytest.mark.integration
SH = ZoneInfo("Asia/Shanghai")
WHO = {"customer_id": "C7", "name": "陳靜", "phone": "13900007777"}
UNPUBLISHED_2027 = WorkingDays(published_until=2026)  # 2027 as it is in December 2026, whatever the package has


def every_kind_in_full() -> CallbackRules:
    """Sampled kinds select everything here, so that each trigger of the test has a task to look at."""
    rules = CallbackRules()
    kinds = {k: r.model_copy(update={"sampled": False, "target": 1.0}) for k, r in rules.kinds.items()}
    return rules.model_copy(update={"kinds": kinds})


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=10, tzinfo=SH)


@pytest_asyncio.fixture(loop_scope="session")
async def turn_db(database_url):
    """The recomputation looks at every open provisional date: a database of its own."""
    async with own_database(database_url, "year_end") as (url, pool):
        yield url, pool


async def issue(pool, kind: CallbackKind, day: str, rules: CallbackRules) -> uuid.UUID:
    trigger = Trigger(uuid.uuid4(), kind, at(day), CustomerContact(**WHO), f"{kind.value}-{day}")
    async with unit_of_work(pool, "test") as uow:
        decision = await decide(uow, trigger, at("2026-12-03"), CallbackContext(rules, UNPUBLISHED_2027))
    assert decision.selected
    return await pool.fetchval("SELECT task_id FROM callback_tasks WHERE source_event_id = $1",
                               trigger.source_event_id)


def cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    out = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    return out


async def test_triggers_from_the_20th_of_december_get_their_tasks_through_the_worker(bus, db):
    """The session's worker runs with 2027 unpublished (tests/conftest.py): no trigger is dead-lettered."""
    now = at("2026-12-20").isoformat()
    policy = {"occurred_at": now, "policy_no": f"P-{uuid.uuid4().hex[:8]}", "line_of_business": "motor",
              "sales_channel": "agent", "customer_type": "individual", "customer": WHO}
    events = [
        ("policy.events", policy | {"event_id": str(uuid.uuid4()), "type": "policy_issued", "premium": "900.00",
                                    "effective_from": now}),
        ("policy.events", policy | {"event_id": str(uuid.uuid4()), "type": "policy_surrendered"}),
        ("complaints.events", {"event_id": str(uuid.uuid4()), "occurred_at": now, "type": "complaint_resolved",
                               "complaint_id": f"K-{uuid.uuid4().hex[:8]}", "customer": WHO}),
        ("claims.events", {"event_id": str(uuid.uuid4()), "occurred_at": now, "type": "claim_closed",
                           "claim_id": f"CL-{uuid.uuid4().hex[:8]}", "report_id": "R-year-end",
                           "policy_no": policy["policy_no"], "customer": WHO, "paid_amount": "5000.00",
                           "paid_at": now}),
    ]
    for topic, event in events:
        await bus.send(topic, event, key=event["event_id"])
    ids = [uuid.UUID(e["event_id"]) for _, e in events]

    async def decided():
        rows = await db.fetch("SELECT d.kind, d.selected, d.calendar_provisional, t.due_at, t.due_provisional,"
                              " t.expires_provisional FROM callback_decisions d LEFT JOIN callback_tasks t"
                              " USING (task_id) WHERE d.source_event_id = ANY($1::uuid[])", ids)
        return {r["kind"]: r for r in rows} if len(rows) == len(ids) else None

    # A trigger dead-lettered (as the unknown year's error once did) would have no decision.
    rows = await bus.wait_for(decided, what="a decision for every trigger")
    assert set(rows) == {"underwriting", "surrender", "complaint", "closure"}
    for kind in ("surrender", "complaint"):  # every eligible event of these kinds gets a task
        assert rows[kind]["selected"]
    expected = {"underwriting": (True, True), "surrender": (False, True), "complaint": (False, False),
                "closure": (True, True)}
    for kind, row in rows.items():
        if row["selected"]:
            assert (row["due_provisional"], row["expires_provisional"]) == expected[kind], kind
            assert row["calendar_provisional"] == expected[kind][1], kind
    await bus.wait_for(lambda: len([t for t in bus.records["callbacks.tasks"]
                                    if uuid.UUID(t["source_event_id"]) in ids])
                       == sum(r["selected"] for r in rows.values()), what="the tasks on callbacks.tasks")
    published = {t["kind"]: t for t in bus.records["callbacks.tasks"] if uuid.UUID(t["source_event_id"]) in ids}
    assert published["surrender"]["due_at_provisional"] is False
    assert published["complaint"]["due_at_provisional"] is False
    if rows["underwriting"]["selected"]:
        assert published["underwriting"]["due_at_provisional"] is True
        assert published["underwriting"]["due_at"].startswith("2027-01-04")


async def test_the_year_end_turn_from_provisional_dates_to_a_configured_2027(turn_db, cli_env):
    url, pool = turn_db
    rules = every_kind_in_full()
    env = dict(cli_env, CLAIMS_DATABASE_URL=url, CLAIMS_CALENDAR__PUBLISHED_UNTIL="2026")

    # December, 2027 unpublished: the tasks, a finding and the December report all get provisional dates.
    tasks = {(kind, day): await issue(pool, kind, day, rules)
             for kind in CallbackKind for day in ("2026-12-05", "2026-12-20")}
    complaint_task = tasks[(CallbackKind.COMPLAINT, "2026-12-20")]
    async with pool.acquire() as conn, conn.transaction():
        await record_attempt(conn, CallbackAttempted(
            event_id=uuid.uuid4(), occurred_at=at("2026-12-20"), task_id=complaint_task, attempt_no=1,
            channel="phone", outcome="reached", identity_confirmed=True, satisfaction=2,
            findings=(Finding(kind=FindingKind.COMPLAINT, text="nobody called back"),)),
            at("2026-12-20"), CallbackContext(rules, UNPUBLISHED_2027))
    finding = await pool.fetchrow("SELECT finding_id, follow_up_due_at, follow_up_provisional FROM findings")
    assert finding["follow_up_due_at"].astimezone(SH).date() == date(2027, 1, 4) and finding["follow_up_provisional"]

    report = cli(env, "report", "--month", "2026-12", "--no-publish", "--out", str(cli_env["CLAIMS_STATE_DIR"]))
    assert "due 2027-01-08 (provisional" in report.stdout
    row = await pool.fetchrow("SELECT due_date, due_date_provisional, figures FROM monthly_reports")
    assert (row["due_date"], row["due_date_provisional"]) == (date(2027, 1, 8), True)
    assert json.loads(row["figures"])["due_date_provisional"] is True

    status = cli(env, "calendar", "status").stdout
    assert "2027  provisional" in status and "2026  published" in status
    assert "callback_task 4" in status and "finding 1" in status and "monthly_report 1" in status

    # The official 2027 arrives, and differs from the estimate: 4 January a holiday, Saturday 9 January worked.
    estimate = {d.isoformat() for d in holidays.China(years=2027)}
    configured = {"2027": {"holidays": sorted(estimate | {"2027-01-04"}), "workdays": ["2027-01-09"]}}
    env["CLAIMS_CALENDAR__YEARS"] = json.dumps(configured)
    dry = cli(env, "calendar", "recompute", "--dry-run").stdout
    assert "would move 5 date(s)" in dry
    assert await pool.fetchval("SELECT count(*) FROM calendar_recomputations") == 0

    before = {r["task_id"]: r for r in await pool.fetch("SELECT * FROM callback_tasks")}
    done = cli(env, "calendar", "recompute").stdout
    assert "moved 5 date(s)" in done
    after = {r["task_id"]: r for r in await pool.fetch("SELECT * FROM callback_tasks")}

    def local(task, column):
        return after[tasks[task]][column].astimezone(SH).date().isoformat()

    U, S, C, V = CallbackKind.UNDERWRITING, CallbackKind.SURRENDER, CallbackKind.CLOSURE, CallbackKind.SURVEY
    # Exactly these moved (counted by hand on the configured calendar):
    assert local((U, "2026-12-20"), "due_at") == "2027-01-05"       # was 01-04, now a holiday
    assert local((S, "2026-12-20"), "expires_at") == "2027-01-05"   # was 01-04
    assert local((C, "2026-12-05"), "expires_at") == "2027-01-05"   # was 01-04
    moved = {(r["item"], r["item_id"], r["field"]) for r in await pool.fetch("SELECT * FROM calendar_recomputations")}
    assert moved == {("callback_task", str(tasks[(U, "2026-12-20")]), "due_at"),
                     ("callback_task", str(tasks[(S, "2026-12-20")]), "expires_at"),
                     ("callback_task", str(tasks[(C, "2026-12-05")]), "expires_at"),
                     ("finding", str(finding["finding_id"]), "follow_up_due_at"),
                     ("monthly_report", "2026-12", "due_date")}
    # ... and nothing else: the other dates are as they were, and none is provisional any more.
    for key, task_id in tasks.items():
        for column in ("due_at", "expires_at"):
            if (str(task_id), column) not in {(m[1], m[2]) for m in moved}:
                assert after[task_id][column] == before[task_id][column], (key, column)
        assert not after[task_id]["due_provisional"] and not after[task_id]["expires_provisional"], key
    assert local((C, "2026-12-20"), "due_at") == "2027-01-11"  # 15 working days either way
    assert local((U, "2026-12-20"), "expires_at") == "2027-01-11"
    assert local((V, "2026-12-20"), "expires_at") == "2026-12-30"
    assert not await pool.fetchval("SELECT count(*) FROM callback_decisions WHERE calendar_provisional")
    f = await pool.fetchrow("SELECT follow_up_due_at, follow_up_provisional FROM findings")
    assert f["follow_up_due_at"].astimezone(SH).date() == date(2027, 1, 5) and not f["follow_up_provisional"]
    r = await pool.fetchrow("SELECT due_date, due_date_provisional, figures FROM monthly_reports")
    assert (r["due_date"], r["due_date_provisional"]) == (date(2027, 1, 9), False)
    assert json.loads(r["figures"])["due_date"] == "2027-01-09"

    again = cli(env, "calendar", "recompute").stdout  # nothing provisional is left: a second run changes nothing
    assert "moved 0 date(s)" in again
    assert "callback_task 0, finding 0, monthly_report 0" in cli(env, "calendar", "status").stdout
