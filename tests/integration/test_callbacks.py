"""Callbacks on the real broker and database: triggers, exclusions, attempts, SMS fallback, findings."""

import uuid
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import broker_env, valid_report

pytestmark = pytest.mark.integration
SH = ZoneInfo("Asia/Shanghai")
WHO = {"customer_id": "C9", "name": "李娜", "phone": "13900001111"}


def policy_event(kind: str, channel="agent", customer="individual", line="motor") -> dict:
    now = datetime.now(timezone.utc).isoformat()
    event = {"event_id": str(uuid.uuid4()), "occurred_at": now, "type": kind, "policy_no": f"P-{uuid.uuid4().hex[:8]}",
             "line_of_business": line, "sales_channel": channel, "customer_type": customer, "customer": WHO}
    if kind == "policy_issued":
        event |= {"premium": "1500.00", "effective_from": now}
    return event


def attempt(task: dict, n: int, outcome: str, channel="phone", **extra) -> dict:
    return {"event_id": str(uuid.uuid4()), "occurred_at": datetime.now(timezone.utc).isoformat(),
            "type": "callback_attempted", "task_id": task["task_id"], "attempt_no": n, "channel": channel,
            "outcome": outcome, **extra}


def tasks_for(bus, task_id):
    return sorted((t for t in bus.records["callbacks.tasks"] if t["task_id"] == task_id), key=lambda t: t["attempt_no"])


async def test_a_surrender_gets_a_callback_task_once_even_if_redelivered(bus, db):
    event = policy_event("policy_surrendered")
    await bus.send("policy.events", event, key=event["policy_no"])
    await bus.send("policy.events", event, key=event["policy_no"])  # redelivered
    [task] = await bus.wait_for(lambda: [t for t in bus.records["callbacks.tasks"]
                                         if t["source_event_id"] == event["event_id"]], what="the callback task")
    assert task["kind"] == "surrender" and task["attempt_no"] == 1 and task["channel"] == "phone"
    assert task["questions"] and task["customer"]["phone"] == WHO["phone"]
    local = datetime.fromisoformat(task["not_before"]).astimezone(SH).time()
    assert local.hour >= 9 and local.hour < 21
    follow = policy_event("policy_surrendered")  # same key: handled after the redelivery
    await bus.send("policy.events", follow, key=event["policy_no"])
    await bus.wait_for(lambda: [t for t in bus.records["callbacks.tasks"] if t["source_event_id"] == follow["event_id"]],
                       what="the next task")
    assert await db.fetchval("SELECT count(*) FROM callback_tasks WHERE source_event_id = $1",
                             uuid.UUID(event["event_id"])) == 1
    assert len([t for t in bus.records["callbacks.tasks"] if t["source_event_id"] == event["event_id"]]) == 1


async def test_corporate_cargo_and_direct_sales_are_excluded_with_the_reason(bus, db):
    cargo = policy_event("policy_issued", customer="corporate", line="cargo")
    direct = policy_event("policy_issued", channel="direct")
    for e in (cargo, direct):
        await bus.send("policy.events", e, key=e["policy_no"])

    async def reasons():
        rows = await db.fetch("SELECT source_event_id, exclusion_reason, selected FROM callback_decisions"
                              " WHERE source_event_id = ANY($1::uuid[])", [cargo["event_id"], direct["event_id"]])
        return {str(r["source_event_id"]): (r["exclusion_reason"], r["selected"]) for r in rows}

    async def both():
        found = await reasons()
        return found if len(found) == 2 else None

    got = await bus.wait_for(both, what="both decisions recorded")
    assert got == {cargo["event_id"]: ("corporate_cargo", False), direct["event_id"]: ("direct_sales", False)}
    assert not [t for t in bus.records["callbacks.tasks"] if t["source_event_id"] in (cargo["event_id"],
                                                                                    direct["event_id"])]


async def test_three_unanswered_calls_then_sms_and_each_attempt_counted_once(bus, db):
    event = policy_event("policy_surrendered")
    await bus.send("policy.events", event, key=event["policy_no"])
    [task] = await bus.wait_for(lambda: [t for t in bus.records["callbacks.tasks"]
                                         if t["source_event_id"] == event["event_id"]], what="the task")
    for n in (1, 2, 3):
        a = attempt(task, n, "no_answer")
        await bus.send("callbacks.attempts", a, key=task["task_id"])
        if n == 2:
            await bus.send("callbacks.attempts", a, key=task["task_id"])  # redelivered
            await bus.send("callbacks.attempts", dict(a, event_id=str(uuid.uuid4())), key=task["task_id"])  # re-sent
        await bus.wait_for(lambda: len(tasks_for(bus, task["task_id"])) >= n + 1, what=f"attempt {n + 1}")
    issued = tasks_for(bus, task["task_id"])
    assert [(t["attempt_no"], t["channel"]) for t in issued] == [(1, "phone"), (2, "phone"), (3, "phone"), (4, "sms")]
    for t in issued[1:3]:
        local = datetime.fromisoformat(t["not_before"]).astimezone(SH).time()
        assert 9 <= local.hour < 21
    await bus.send("callbacks.attempts", attempt(task, 4, "sms_delivered", channel="sms"), key=task["task_id"])

    async def closed():
        state = await db.fetchval("SELECT state FROM callback_tasks WHERE task_id = $1", uuid.UUID(task["task_id"]))
        return state if state != "open" else None

    state = await bus.wait_for(closed, what="the task closed by the delivery receipt")
    row = await db.fetchrow("SELECT state, success, phone_attempts, reason FROM callback_tasks WHERE task_id = $1",
                            uuid.UUID(task["task_id"]))
    assert dict(row) == {"state": "sms_delivered", "success": False, "phone_attempts": 3, "reason": "SMS delivered"}
    assert await db.fetchval("SELECT count(*) FROM callback_attempts WHERE task_id = $1",
                             uuid.UUID(task["task_id"])) == 4
    assert state == "sms_delivered"


async def test_findings_are_routed_to_their_departments(bus, db):
    event = policy_event("policy_surrendered")
    await bus.send("policy.events", event, key=event["policy_no"])
    [task] = await bus.wait_for(lambda: [t for t in bus.records["callbacks.tasks"]
                                         if t["source_event_id"] == event["event_id"]], what="the task")
    findings = [{"kind": "tip_off", "text": "the garage inflates repair bills"},
                {"kind": "complaint", "text": "the agent never explained the surrender value"}]
    await bus.send("callbacks.attempts", attempt(task, 1, "reached", identity_confirmed=True, satisfaction=2,
                                                 findings=findings), key=task["task_id"])
    routed = await bus.wait_for(lambda: (lambda r: r if len(r) == 2 else None)(
        [f for f in bus.records["feedback.routed"] if f["task_id"] == task["task_id"]]), what="two findings")
    assert {(f["kind"], f["department"]) for f in routed} == {("tip_off", "anti-fraud"), ("complaint", "complaints")}
    assert all(f["follow_up_due_at"] for f in routed)
    row = await db.fetchrow("SELECT state, success, satisfaction FROM callback_tasks WHERE task_id = $1",
                            uuid.UUID(task["task_id"]))
    assert dict(row) == {"state": "reached", "success": True, "satisfaction": 2}


async def test_a_completed_survey_triggers_a_survey_callback_to_the_reporter(bus):
    report = valid_report("survey")
    await bus.send("hotline.reports", report, key=report["report_id"])
    [a] = await bus.wait_for(lambda: [d for d in bus.about("dispatch.assignments", report["report_id"])
                                      if d["type"] == "surveyor_assigned"], what="the assignment")
    base = {"surveyor_id": a["surveyor_id"], "task_id": a["task_id"], "report_id": report["report_id"]}
    for kind in ("task_accepted", "customer_contacted"):
        await bus.send("surveyor.status", {"event_id": str(uuid.uuid4()), "occurred_at": a["occurred_at"],
                                           "type": kind, **base}, key=a["surveyor_id"])
    await bus.send("surveyor.status", {"event_id": str(uuid.uuid4()), "occurred_at": a["occurred_at"],
                                       "type": "arrived_at_scene", "lat": 44.0, "lon": 100.0, **base},
                   key=a["surveyor_id"])
    done = {"event_id": str(uuid.uuid4()), "occurred_at": a["occurred_at"], "type": "survey_completed",
            "loss_estimate": "1800.00", "assessed_on_the_spot": True, **base}
    await bus.send("surveyor.status", done, key=a["surveyor_id"])
    [task] = await bus.wait_for(lambda: [t for t in bus.records["callbacks.tasks"]
                                         if t["source_event_id"] == done["event_id"]], what="the survey callback")
    assert task["kind"] == "survey" and task["customer"]["phone"] == report["reporter"]["phone"]


async def test_a_number_on_the_do_not_call_list_is_excluded(bus, db, database_url, stack, cli_env):
    import subprocess

    from tests.conftest import CLI

    phone = "13700002222"
    env = dict(cli_env, CLAIMS_DATABASE_URL=database_url, **broker_env(stack))
    out = subprocess.run([*CLI, "dnc", "add", phone], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert await db.fetchval("SELECT count(*) FROM do_not_call WHERE phone_sha256 <> '' AND reason <> ''") >= 1
    assert not await db.fetchval("SELECT count(*) FROM do_not_call WHERE phone_sha256 = $1", phone)  # never in clear
    event = policy_event("policy_surrendered")
    event["customer"] = dict(WHO, phone=phone)
    await bus.send("policy.events", event, key=event["policy_no"])
    reason = await bus.wait_for(
        lambda: db.fetchval("SELECT exclusion_reason FROM callback_decisions WHERE source_event_id = $1",
                            uuid.UUID(event["event_id"])), what="the decision recorded")
    assert reason == "do_not_call"


async def test_the_do_not_call_list_matches_a_number_however_written_and_refuses_what_is_not_one(
        bus, db, database_url, stack, cli_env):
    import subprocess

    from tests.conftest import CLI

    env = dict(cli_env, CLAIMS_DATABASE_URL=database_url, **broker_env(stack))

    def dnc(*args):
        return subprocess.run([*CLI, "dnc", *args], env=env, capture_output=True, text=True, timeout=60)

    for bad in ("abc", "", "12", "' OR 1=1 --"):
        out = dnc("add", bad)
        assert out.returncode != 0 and out.stderr.startswith("refused: not a") and "Traceback" not in out.stderr, bad
    before = int(dnc("count").stdout.split()[0])
    assert dnc("add", "+86 136-0013-6000").returncode == 0
    assert dnc("add", "13600136000").stdout.startswith("already on the do-not-call list")
    assert int(dnc("count").stdout.split()[0]) == before + 1
    event = policy_event("policy_surrendered")
    event["customer"] = dict(WHO, phone="13600136000")
    await bus.send("policy.events", event, key=event["policy_no"])

    async def reason():
        return await db.fetchval("SELECT exclusion_reason FROM callback_decisions WHERE source_event_id = $1",
                                 uuid.UUID(event["event_id"]))

    assert await bus.wait_for(reason, what="the decision") == "do_not_call"
    assert dnc("remove", "136 0013 6000").stdout.startswith("removed")
    assert dnc("remove", "136 0013 6000").stdout.startswith("not on the do-not-call list")
    assert int(dnc("count").stdout.split()[0]) == before
    later = policy_event("policy_surrendered")
    later["customer"] = dict(WHO, phone="13600136000")
    await bus.send("policy.events", later, key=later["policy_no"])
    await bus.wait_for(lambda: [t for t in bus.records["callbacks.tasks"] if t["source_event_id"] == later["event_id"]],
                       what="a callback once off the list")
