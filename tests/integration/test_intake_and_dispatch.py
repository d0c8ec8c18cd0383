"""A loss report from an outside client, through intake and dispatch, on the real broker and database."""

import json
import re
import uuid

import pytest

from tests.conftest import valid_report

pytestmark = pytest.mark.integration
#: A mainland mobile number, as the test reports' callers have.
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def _line(d: dict) -> bytes:
    return json.dumps(d, ensure_ascii=False).encode() + b"\n"


async def test_a_report_produced_with_kcat_is_assigned_and_stored(stack, bus, db, kcat):
    report = valid_report("kcat")
    out = kcat("-P", "-b", stack.kafka_bootstrap, "-t", "hotline.reports", "-k", report["report_id"],
               input=_line(report))
    assert out.returncode == 0, out.stderr.decode()

    [decision] = await bus.wait_for(lambda: bus.about("dispatch.assignments", report["report_id"]),
                                    what="an assignment")
    assert decision["type"] == "surveyor_assigned"
    assert decision["surveyor_id"].startswith("kcat-") and decision["vehicle_id"].startswith("kcat-")
    assert decision["zone"] == "urban" and decision["meets_deadline"] is True
    claim = await db.fetchrow("SELECT region_id, zone, policy_no FROM claims WHERE report_id = $1", report["report_id"])
    assert dict(claim) == {"region_id": "kcat", "zone": "urban", "policy_no": report["policy"]["number"]}
    task = await db.fetchrow("SELECT surveyor_id, status FROM survey_tasks WHERE report_id = $1", report["report_id"])
    assert task["surveyor_id"] == decision["surveyor_id"] and task["status"] == "assigned"

    # and an outside consumer reads the assignment too
    read = kcat("-C", "-b", stack.kafka_bootstrap, "-t", "dispatch.assignments", "-e", "-q", "-o", "beginning")
    assert report["report_id"].encode() in read.stdout


async def test_bad_input_is_dead_lettered_with_a_reason_while_valid_reports_around_it_flow(stack, bus, db, kcat):
    before, after = valid_report("bad"), valid_report("bad")
    missing_policy = valid_report("bad")
    del missing_policy["policy"]["number"]
    future = valid_report("bad")
    future["loss_time"] = "2099-01-01T00:00:00+08:00"
    lines = [_line(before), b"this is {not JSON\n", _line(missing_policy), _line(future), _line(after)]
    out = kcat("-P", "-b", stack.kafka_bootstrap, "-t", "hotline.reports", input=b"".join(lines))
    assert out.returncode == 0, out.stderr.decode()

    for ok in (before, after):
        await bus.wait_for(lambda: bus.about("dispatch.assignments", ok["report_id"]), what="valid report assigned")
    letters = await bus.wait_for(lambda: _three(bus, missing_policy, future), what="three dead letters")
    by_reason = {d["reason"]: d for d in letters}
    assert set(by_reason) == {"not_json", "invalid_schema", "loss_time_in_future"}
    assert by_reason["invalid_schema"]["detail"] == "missing field: policy.number"
    assert by_reason["invalid_schema"]["report_id"] == missing_policy["report_id"]
    assert by_reason["invalid_schema"]["source_event_id"] == missing_policy["event_id"]
    assert by_reason["not_json"]["report_id"] is None
    assert "not valid JSON" in by_reason["not_json"]["detail"]
    assert _original(by_reason["not_json"]) == b"this is {not JSON"
    for d in letters:
        assert d["source_topic"] == "hotline.reports" and d["occurred_at"]
        assert not PHONE.search(d["detail"])
    stored = await db.fetchval("SELECT count(*) FROM dead_letters WHERE event_id = ANY($1::uuid[])",
                               [d["event_id"] for d in letters])
    assert stored == 3
    assert await db.fetchval("SELECT count(*) FROM claims WHERE report_id = ANY($1::text[])",
                             [missing_policy["report_id"], future["report_id"]]) == 0


def _original(letter: dict) -> bytes:
    import base64

    return base64.b64decode(letter["original_value_b64"])


def _three(bus, missing_policy, future):
    mine = [d for d in bus.records["hotline.reports.dlq"]
            if _original(d) == b"this is {not JSON"
            or missing_policy["report_id"].encode() in _original(d) or future["report_id"].encode() in _original(d)]
    return mine if len(mine) >= 3 else None


async def test_the_same_report_sent_twice_gives_one_claim_and_one_assignment(stack, bus, db, kcat):
    report = valid_report("twice")
    for _ in range(2):
        kcat("-P", "-b", stack.kafka_bootstrap, "-t", "hotline.reports", "-k", report["report_id"], input=_line(report))
    resent = dict(report, event_id=str(uuid.uuid4()))  # the hotline re-sends it as a new event
    await bus.send("hotline.reports", resent, key=report["report_id"])
    follow = valid_report("twice")  # processed after the duplicates, so they have been handled
    await bus.send("hotline.reports", follow, key=report["report_id"])  # same key: same partition, after them
    await bus.wait_for(lambda: bus.about("dispatch.assignments", follow["report_id"]), what="the follow-up report")

    # Redelivery republishes only what was never acknowledged: nothing new on the topic here.
    assert len(bus.about("dispatch.assignments", report["report_id"])) == 1
    assert await db.fetchval("SELECT count(*) FROM claims WHERE report_id = $1", report["report_id"]) == 1
    assert await db.fetchval("SELECT count(*) FROM survey_tasks WHERE report_id = $1", report["report_id"]) == 1


async def test_a_report_no_one_can_take_is_escalated_with_the_reason(bus, db):
    report = valid_report("escalate")
    report["loss_type"] = "cargo"  # nobody in the test roster surveys cargo
    await bus.send("hotline.reports", report, key=report["report_id"])
    [d] = await bus.wait_for(lambda: bus.about("dispatch.assignments", report["report_id"]), what="an escalation")
    assert d["type"] == "dispatch_escalated" and d["reason"] == "no_skilled_surveyor"
    assert "cargo" in d["detail"] and d["options"]
    assert await db.fetchval("SELECT reason FROM escalations WHERE report_id = $1", report["report_id"]) == \
        "no_skilled_surveyor"
    assert await db.fetchval("SELECT count(*) FROM survey_tasks WHERE report_id = $1", report["report_id"]) == 0


async def test_a_declined_task_is_reassigned_to_another_surveyor(bus, db):
    report = valid_report("decline")
    await bus.send("hotline.reports", report, key=report["report_id"])
    [first] = await bus.wait_for(lambda: bus.about("dispatch.assignments", report["report_id"]), what="assignment")
    decline = {"event_id": str(uuid.uuid4()), "occurred_at": first["occurred_at"], "type": "task_declined",
               "surveyor_id": first["surveyor_id"], "task_id": first["task_id"], "report_id": report["report_id"],
               "reason": "stuck in traffic"}
    await bus.send("surveyor.status", decline, key=first["surveyor_id"])
    await bus.send("surveyor.status", decline, key=first["surveyor_id"])  # redelivered: must change nothing
    decisions = await bus.wait_for(
        lambda: (lambda ds: ds if len(ds) >= 2 else None)(bus.about("dispatch.assignments", report["report_id"])),
        what="a second assignment")
    second = decisions[1]
    assert second["type"] == "surveyor_reassigned" and second["surveyor_id"] != first["surveyor_id"]
    assert second["previous_task_id"] == first["task_id"] and second["reason"] == "declined"
    rows = await db.fetch("SELECT surveyor_id, status FROM survey_tasks WHERE report_id = $1 ORDER BY assigned_at",
                          report["report_id"])
    assert [(r["surveyor_id"], r["status"]) for r in rows] == [(first["surveyor_id"], "declined"),
                                                               (second["surveyor_id"], "assigned")]


async def test_a_status_for_a_task_the_surveyor_does_not_hold_is_dead_lettered(bus):
    bogus = {"event_id": str(uuid.uuid4()), "occurred_at": "2026-11-26T10:00:00+08:00", "type": "task_accepted",
             "surveyor_id": "decline-s0", "task_id": str(uuid.uuid4()), "report_id": "nope"}
    await bus.send("surveyor.status", bogus, key="decline-s0")
    [d] = await bus.wait_for(lambda: [x for x in bus.records["surveyor.status.dlq"]
                                      if bogus["task_id"].encode() in _original(x)], what="a dead letter")
    assert d["reason"] == "unknown_task"


def _samples(port: int) -> dict[tuple[str, tuple], float]:
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert not PHONE.search(body)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


async def test_worker_metrics_count_received_and_dead_lettered_reports(worker, bus):
    port = worker["web_port"]
    received = ("claims_reports_received_total", ())
    unknown = ("claims_reports_dead_lettered_total", (("reason", "unknown_loss_type"),))
    before = _samples(port)
    ok, meteor = valid_report("kcat"), valid_report("kcat")
    meteor["loss_type"] = "meteor_strike"
    await bus.send("hotline.reports", ok, ok["report_id"])
    await bus.send("hotline.reports", meteor, meteor["report_id"])
    await bus.wait_for(lambda: bus.about("dispatch.assignments", ok["report_id"]), what="the valid report decided")
    await bus.wait_for(lambda: bus.about("hotline.reports.dlq", meteor["report_id"]), what="the dead letter")
    latency = ("claims_dispatch_latency_seconds_count", (("zone", "urban"),))
    after = await bus.wait_for(lambda: ((s := _samples(port))[unknown] > before[unknown]
                                        and s[latency] > before[latency] and s),
                               what="the dead letter counted and the decision timed")
    assert after[received] - before[received] >= 2
    assert after[unknown] - before[unknown] == 1
    # the watchdog has run, and never failed (a failure is logged and counted, so this is where it shows)
    assert after[("claims_watchdog_runs_total", (("outcome", "failed"),))] == 0
    assert after[("claims_watchdog_runs_total", (("outcome", "ok"),))] > 0


async def test_text_fields_are_stored_verbatim_never_executed(bus, db):
    """Every SQL statement is parameterised: injection strings in every text field are just text."""
    nasty = ["'; DROP TABLE claims; --", "\\'; DELETE FROM survey_tasks; --", "Robert'); DROP TABLE escalations;--",
             "$1 $2 ::text", "\" OR 1=1 --", "％ＤＲＯＰ", "\\x00"]
    reports = []
    for i, text in enumerate(nasty):
        r = valid_report("kcat", report_id=f"SQLI-{i}-{uuid.uuid4().hex[:6]}")
        r["cause"] = text
        r["description"] = text
        r["location"]["address"] = text
        r["reporter"]["name"] = text
        r["insured"]["name"] = text
        r["policy"]["number"] = text[:60]
        r["policy"]["line_of_business"] = text[:60]
        reports.append(r)
        await bus.send("hotline.reports", r, key=r["report_id"])
    for r in reports:
        await bus.wait_for(lambda r=r: bus.about("dispatch.assignments", r["report_id"]) or
                           [d for d in bus.records["hotline.reports.dlq"] if r["report_id"].encode() in _original(d)],
                           what="a decision or a dead letter")
    for r in reports:  # each is a valid report: stored, with the strings exactly as sent
        row = await db.fetchrow("SELECT policy_no, report FROM claims WHERE report_id = $1", r["report_id"])
        assert row is not None, r["cause"]
        stored = json.loads(row["report"])
        assert row["policy_no"] == r["policy"]["number"]
        assert stored["cause"] == r["cause"] and stored["location"]["address"] == r["location"]["address"]
        assert stored["reporter"]["name"] == r["reporter"]["name"]
    for table in ("claims", "survey_tasks", "escalations", "dead_letters"):
        assert await db.fetchval("SELECT to_regclass($1) IS NOT NULL", table), f"{table} is gone"


async def test_the_edges_of_a_report_an_empty_object_an_agreed_time_in_the_past_and_a_loss_a_year_old(bus, db):
    from datetime import datetime, timedelta

    empty_key = f"empty-{uuid.uuid4().hex[:8]}"
    await bus.send("hotline.reports", b"{}", key=empty_key)
    past = valid_report("bad")
    past["agreed_arrival_at"] = (datetime.fromisoformat(past["occurred_at"]) - timedelta(hours=1)).isoformat()
    await bus.send("hotline.reports", past, key=past["report_id"])
    old = valid_report("bad")
    old["loss_time"] = (datetime.fromisoformat(old["occurred_at"]) - timedelta(days=400)).isoformat()
    await bus.send("hotline.reports", old, key=old["report_id"])
    fine = valid_report("bad")
    await bus.send("hotline.reports", fine, key=fine["report_id"])

    [empty] = await bus.wait_for(lambda: [d for d in bus.records["hotline.reports.dlq"] if _original(d) == b"{}"],
                                 what="the empty object's dead letter")
    assert empty["reason"] == "invalid_schema" and empty["detail"].startswith("missing fields: event_id, occurred_at,")
    [refused] = await bus.wait_for(lambda: [d for d in bus.records["hotline.reports.dlq"]
                                            if d.get("report_id") == past["report_id"]], what="the refused report")
    assert refused["reason"] == "agreed_arrival_before_report"
    [case] = await bus.wait_for(lambda: bus.about("dispatch.assignments", old["report_id"]), what="the appointment case")
    assert case["type"] == "dispatch_escalated" and case["reason"] == "appointment_case"
    assert "400 days before the report" in case["detail"]
    assert case["options"] == ["agree a survey time with the customer"]
    [sent] = await bus.wait_for(lambda: bus.about("dispatch.assignments", fine["report_id"]), what="the valid report")
    assert sent["type"] == "surveyor_assigned"
    assert sent["scene"] == {"address": fine["location"]["address"], "lat": fine["location"]["lat"],
                             "lon": fine["location"]["lon"]}
    assert sent["contact"] == fine["reporter"]
    assert await db.fetchval("SELECT dispatch_state FROM claims WHERE report_id = $1", old["report_id"]) == "appointment"
    assert await db.fetchval("SELECT count(*) FROM survey_tasks WHERE report_id = $1", old["report_id"]) == 0
    assert await db.fetchval("SELECT reason FROM escalations WHERE report_id = $1", old["report_id"]) == "appointment_case"
    assert len(bus.about("dispatch.assignments", old["report_id"])) == 1  # escalated once, never planned
