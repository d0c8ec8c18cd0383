"""Dispatchers' commands on the real broker and database: each command carried out (or refused with its
reasons), published, audited with the state before and after; a re-sent command changes nothing; a bad one
is a dead letter while the next is decided."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import area_centre, valid_report

pytestmark = pytest.mark.integration


def command(type_: str, **fields) -> dict:
    return {"command_id": str(uuid.uuid4()), "dispatcher_id": "d-01", "reason": "night desk",
            "issued_at": datetime.now(timezone.utc).isoformat(), "type": type_, **fields}


async def send(bus, c: dict) -> dict:
    await bus.send("dispatch.commands", c, key=c["command_id"])
    [result] = await bus.wait_for(lambda: [r for r in bus.records["dispatch.command_results"]
                                           if r["command_id"] == c["command_id"]], what=f"the result of {c['type']}")
    return result


async def report(bus, area: str = "desk", **overrides) -> dict:
    r = valid_report(area) | overrides
    await bus.send("hotline.reports", r, key=r["report_id"])
    await bus.wait_for(lambda: bus.about("dispatch.assignments", r["report_id"]), what="a first decision")
    return r


async def live_task(db, report_id: str):
    return await db.fetchrow("SELECT task_id, surveyor_id, vehicle_id, home_region_id, deadline_at FROM survey_tasks"
                             " WHERE report_id = $1 AND live", report_id)


async def audit(db, command_id: str):
    row = await db.fetchrow("SELECT * FROM desk_commands WHERE command_id = $1", uuid.UUID(command_id))
    return None if row is None else dict(row) | {"state_before": json.loads(row["state_before"]),
                                                 "state_after": json.loads(row["state_after"])}


async def test_an_escalated_claim_is_assigned_by_hand_refused_then_forced_and_a_resent_command_changes_nothing(
        bus, db):
    # Cargo: nobody in the test roster handles it, and no vehicle carries a measuring kit: escalated.
    r = await report(bus, loss_type="cargo")
    [escalated] = bus.about("dispatch.assignments", r["report_id"])
    assert escalated["type"] == "dispatch_escalated" and escalated["reason"] == "no_skilled_surveyor"

    refused = await send(bus, command("assign_surveyor", report_id=r["report_id"], surveyor_id="desk-s0"))
    assert refused["outcome"] == "refused"
    assert set(refused["refusals"]) == {"surveyor_unskilled", "vehicle_missing_equipment"}
    assert await live_task(db, r["report_id"]) is None
    row = await audit(db, refused["command_id"])
    assert row["outcome"] == "refused" and row["dispatcher_id"] == "d-01" and row["reason"] == "night desk"
    assert row["state_before"] == row["state_after"] and row["state_before"]["claim"]["dispatch_state"] == "pending"

    forced = command("assign_surveyor", report_id=r["report_id"], surveyor_id="desk-s0", forced_by="sup-1",
                     force_reason="cargo expert on the phone")
    result = await send(bus, forced)
    assert result["outcome"] == "forced" and result["task_id"]
    assigned = await bus.wait_for(lambda: [d for d in bus.about("dispatch.assignments", r["report_id"])
                                           if d["type"] == "surveyor_assigned"], what="the assignment published")
    assert [a["surveyor_id"] for a in assigned] == ["desk-s0"] and assigned[0]["task_id"] == result["task_id"]
    task = await live_task(db, r["report_id"])
    assert task["surveyor_id"] == "desk-s0" and str(task["task_id"]) == result["task_id"]
    row = await audit(db, forced["command_id"])
    assert row["forced_by"] == "sup-1" and row["force_reason"] == "cargo expert on the phone"
    assert row["state_before"]["claim"]["live_task"] is None
    assert row["state_after"]["claim"]["live_task"]["surveyor_id"] == "desk-s0"
    assert await db.fetchval("SELECT state FROM escalations WHERE event_id = $1",
                             uuid.UUID(escalated["event_id"])) == "resolved"

    # The same command again (the front end did not hear back), then a marker on the same partition (the same
    # key): once the marker is decided, the re-sent command has been handled. No second task, result or audit row.
    await bus.send("dispatch.commands", forced, key=forced["command_id"])
    marker = command("acknowledge_escalation", escalation_id=str(uuid.uuid4()))
    await bus.send("dispatch.commands", marker, key=forced["command_id"])
    await bus.wait_for(lambda: [x for x in bus.records["dispatch.command_results"]
                                if x["command_id"] == marker["command_id"]], what="the marker decided")
    assert await db.fetchval("SELECT count(*) FROM survey_tasks WHERE report_id = $1", r["report_id"]) == 1
    assert await db.fetchval("SELECT count(*) FROM desk_commands WHERE command_id = $1",
                             uuid.UUID(forced["command_id"])) == 1
    assert len({d["event_id"] for d in bus.about("dispatch.assignments", r["report_id"])
                if d["type"] == "surveyor_assigned"}) == 1
    assert len({x["event_id"] for x in bus.records["dispatch.command_results"]
                if x["command_id"] == forced["command_id"]}) == 1


async def test_reassigning_then_taking_the_surveyor_off_duty_sends_the_claim_to_a_third(bus, db):
    r = await report(bus)
    first = await live_task(db, r["report_id"])
    others = sorted({"desk-s0", "desk-s1", "desk-s2"} - {first["surveyor_id"]})
    busy = {x["surveyor_id"] for x in await db.fetch("SELECT surveyor_id FROM survey_tasks WHERE live")}
    target = next(s for s in others if s not in busy)
    result = await send(bus, command("reassign", report_id=r["report_id"], surveyor_id=target))
    assert result["outcome"] == "applied", result
    second = await live_task(db, r["report_id"])
    assert second["surveyor_id"] == target
    assert await db.fetchval("SELECT status || '/' || cancel_reason FROM survey_tasks WHERE task_id = $1",
                             first["task_id"]) == "cancelled/reassigned"
    decisions = await bus.wait_for(lambda: _types(bus, r["report_id"], {"task_withdrawn", "surveyor_reassigned"}),
                                   what="the withdrawal and the reassignment")
    withdrawn = next(d for d in decisions if d["type"] == "task_withdrawn")
    assert withdrawn["surveyor_id"] == first["surveyor_id"] and withdrawn["task_id"] == str(first["task_id"])

    off = await send(bus, command("set_surveyor_duty", surveyor_id=target, on_duty=False, cause="sick"))
    assert off["outcome"] == "applied" and off["report_id"] == r["report_id"]
    # Back to dispatch, without either surveyor whose task was withdrawn: the third (if free) or an escalation.
    third = await bus.wait_for(lambda: _after(bus, r["report_id"]), what="the claim decided again")
    if third["type"] == "surveyor_reassigned":
        assert third["surveyor_id"] not in (first["surveyor_id"], target)
    assert await db.fetchval("SELECT duty FROM surveyors WHERE surveyor_id = $1", target) is False
    back_on = await send(bus, command("set_surveyor_duty", surveyor_id=target, on_duty=True, cause="back_on_duty"))
    assert back_on["outcome"] == "applied"


def _types(bus, report_id: str, wanted: set[str]):
    found = [d for d in bus.about("dispatch.assignments", report_id) if d["type"] in wanted]
    return found if {d["type"] for d in found} == wanted else None


def _after(bus, report_id: str):
    decisions = bus.about("dispatch.assignments", report_id)
    types = [d["type"] for d in decisions]
    if types.count("task_withdrawn") < 2:
        return None
    last_withdrawal = max(i for i, t in enumerate(types) if t == "task_withdrawn")
    later = [d for d in decisions[last_withdrawal + 1:] if d["type"] in ("surveyor_reassigned", "dispatch_escalated")]
    return later[0] if later else None


async def test_an_agreed_arrival_time_is_the_new_deadline_and_a_cancelled_claim_frees_its_surveyor(bus, db):
    r = await report(bus, "desktime")
    task = await live_task(db, r["report_id"])
    later = (datetime.now(timezone.utc) + timedelta(hours=3)).replace(microsecond=0)
    agreed = await send(bus, command("agree_arrival_time", report_id=r["report_id"], arrive_by=later.isoformat()))
    assert agreed["outcome"] == "applied"
    claim = await db.fetchrow("SELECT deadline_at, limit_deadline_at FROM claims WHERE report_id = $1", r["report_id"])
    assert claim["deadline_at"] == later and claim["limit_deadline_at"] == task["deadline_at"]
    assert (await live_task(db, r["report_id"]))["deadline_at"] == later
    [notice] = await bus.wait_for(lambda: _types(bus, r["report_id"], {"arrival_time_agreed"}), what="the notice")
    assert notice["deadline_at"].startswith(later.isoformat()[:19]) and notice["task_id"] == str(task["task_id"])

    cancelled = await send(bus, command("cancel_claim", report_id=r["report_id"], cancellation="settled_remotely"))
    assert cancelled["outcome"] == "applied"
    assert await db.fetchval("SELECT dispatch_state FROM claims WHERE report_id = $1", r["report_id"]) == "cancelled"
    assert await live_task(db, r["report_id"]) is None
    await bus.wait_for(lambda: _types(bus, r["report_id"], {"task_withdrawn", "claim_cancelled"}),
                       what="the withdrawal and the cancellation")
    again = await send(bus, command("assign_surveyor", report_id=r["report_id"], surveyor_id=task["surveyor_id"]))
    assert again["outcome"] == "refused" and again["refusals"] == ["claim_closed"]

    # The timeline has it all, in order, without personal data.
    from streams.store.desk_store import timeline

    events = await timeline(db, r["report_id"])
    whats = [e["what"] for e in events]
    for expected in ("reported", "registered", "assigned", "command_applied", "task_cancelled", "command_refused"):
        assert expected in whats, whats
    assert whats.index("reported") < whats.index("assigned") < whats.index("command_applied")
    assert r["reporter"]["phone"] not in json.dumps([dict(e) | {"at": str(e["at"])} for e in events], default=str)


async def test_an_escalation_is_acknowledged_once_and_a_bad_command_is_a_dead_letter_while_the_next_is_decided(
        bus, db):
    r = await report(bus, loss_type="cargo")
    [escalated] = bus.about("dispatch.assignments", r["report_id"])
    ack = await send(bus, command("acknowledge_escalation", escalation_id=escalated["event_id"]))
    assert ack["outcome"] == "applied"
    row = await db.fetchrow("SELECT state, acknowledged_by FROM escalations WHERE event_id = $1",
                            uuid.UUID(escalated["event_id"]))
    assert dict(row) == {"state": "acknowledged", "acknowledged_by": "d-01"}
    twice = await send(bus, command("acknowledge_escalation", escalation_id=escalated["event_id"]))
    assert twice["refusals"] == ["escalation_closed"]

    bad = command("assign_surveyor", report_id=r["report_id"])  # no surveyor named
    await bus.send("dispatch.commands", bad, key=bad["command_id"])
    following = await send(bus, command("cancel_claim", report_id=r["report_id"], cancellation="false_report"))
    assert following["outcome"] == "applied"
    [letter] = await bus.wait_for(lambda: [d for d in bus.records["dispatch.commands.dlq"]
                                           if bad["command_id"].encode() in _original(d)], what="the dead letter")
    assert letter["reason"] == "invalid_schema" and "surveyor_id" in letter["detail"]


def _original(letter: dict) -> bytes:
    import base64

    return base64.b64decode(letter["original_value_b64"])


async def test_a_dispatcher_turns_a_surveyor_round_from_a_routine_claim_to_a_serious_injury(bus, db):
    # A routine claim 11 km north of the region's surveyors: one of them is on the way. A serious injury among
    # them is given another, free, surveyor; the dispatcher turns the first one round to it instead (their
    # judgement: say, she has first-aid training). Both tasks are withdrawn, the routine claim goes back to dispatch
    # and is planned again at once.
    lat, lon = area_centre("deskturn")
    far = await report(bus, "deskturn", location={"address": "North Road 9", "lat": lat + 0.1, "lon": lon})
    going = await live_task(db, far["report_id"])
    # What the desk would offer a serious injury at the centre, from the stored state: turning that one round.
    turns = [o for o in await _options_now(db, lat, lon) if o.kind == "turn_round_surveyor"]
    assert [(o.surveyor_id, o.gives_up, o.command["turn_round"]) for o in turns] == \
        [(going["surveyor_id"], far["report_id"], True)]
    urgent = await report(bus, "deskturn", injuries={"count": 1, "severity": "serious"})
    first = await live_task(db, urgent["report_id"])
    assert first["surveyor_id"] != going["surveyor_id"]

    turn = command("reassign", report_id=urgent["report_id"], surveyor_id=going["surveyor_id"], turn_round=True)
    result = await send(bus, turn)
    assert result["outcome"] == "applied", result
    assert f"turned round from {far['report_id']}" in result["detail"]
    now_task = await live_task(db, urgent["report_id"])
    assert now_task["surveyor_id"] == going["surveyor_id"] and str(now_task["task_id"]) == result["task_id"]
    reasons = {r["task_id"]: f"{r['status']}/{r['cancel_reason']}" for r in await db.fetch(
        "SELECT task_id, status, cancel_reason FROM survey_tasks WHERE task_id = ANY($1::uuid[])",
        [going["task_id"], first["task_id"]])}
    assert reasons == {going["task_id"]: "cancelled/diverted", first["task_id"]: "cancelled/reassigned"}
    # The new trip sets out from about where they were on the way north, not from the scene they gave up.
    set_out = await db.fetchval("SELECT set_out_lat FROM survey_tasks WHERE task_id = $1", now_task["task_id"])
    assert lat - 0.05 < set_out < lat + 0.1

    # The surveyor the injury had first is free again: the routine claim gets someone at once.
    turned = await bus.wait_for(lambda: _types(bus, far["report_id"], {"task_withdrawn", "surveyor_reassigned"}),
                                what="the routine claim given up and planned again")
    withdrawn = next(d for d in turned if d["type"] == "task_withdrawn")
    assert (withdrawn["reason"], withdrawn["task_id"]) == ("diverted", str(going["task_id"]))
    again = next(d for d in turned if d["type"] == "surveyor_reassigned")
    assert again["reason"] == "diverted" and again["previous_task_id"] == str(going["task_id"])
    row = await audit(db, turn["command_id"])
    assert row["state_before"]["claim"]["live_task"]["surveyor_id"] == first["surveyor_id"]
    assert row["state_after"]["claim"]["live_task"]["surveyor_id"] == going["surveyor_id"]


async def _options_now(db, lat: float, lon: float):
    """The desk's options for a serious injury at (lat, lon) in "deskturn", from every region's stored state."""
    from models.desk.options import desk_options
    from models.dispatch.rules import DispatchRules
    from models.dispatch.travel import StraightLineTravel
    from streams.store import watchdog_store
    from tests.unit.builders import claim

    now = datetime.now(timezone.utc)
    rules = DispatchRules()
    rows = await watchdog_store.every_region(db, now.replace(hour=0, minute=0, second=0, microsecond=0))
    urgent = claim(at=(lat, lon), priority=1, reported=now).model_copy(update={"region_id": "deskturn"})
    return desk_options(urgent, frozenset(), {rid: r.states(now, rules) for rid, r in rows.items()}, rules,
                        StraightLineTravel(), now)
