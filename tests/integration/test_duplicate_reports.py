"""Duplicate reports on the real broker and database: both drivers of one crash and a customer calling again
are linked (one surveyor, who hears of the second party); a doubtful pair is dispatched and flagged, and the
dispatcher merges (the extra task withdrawn) or keeps them apart; separate accidents stay separate."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import area_centre, valid_report

pytestmark = pytest.mark.integration


def at(area: str, east_m: float = 0.0) -> dict:
    lat, lon = area_centre(area)
    return {"address": "junction", "lat": lat, "lon": lon + east_m / 96_000.0}


async def decided(bus, r: dict) -> list[dict]:
    await bus.send("hotline.reports", r, key=r["report_id"])
    return await bus.wait_for(lambda: bus.about("dispatch.assignments", r["report_id"]), what="a decision")


async def live_tasks(db, report_id: str) -> int:
    return await db.fetchval("SELECT count(*) FROM survey_tasks WHERE report_id = $1 AND live", report_id)


async def test_both_drivers_of_one_crash_get_one_surveyor_who_is_told_of_the_second_party(bus, db):
    first = valid_report("dup") | {"location": at("dup")}
    [assigned] = await decided(bus, first)
    assert assigned["type"] == "surveyor_assigned"
    other = valid_report("dup") | {
        "location": at("dup", 40), "loss_time": first["loss_time"],
        "insured_vehicle": {"plate": first["third_party_vehicles"][0]["plate"].replace("浙", "浙 ").lower()},
        "third_party_vehicles": [{"plate": first["insured_vehicle"]["plate"]}]}
    [linked] = await decided(bus, other)
    assert linked["type"] == "duplicate_report_linked" and linked["linked_to"] == first["report_id"]
    assert linked["evidence"] == ["crossed_plates"] and linked["by"] == "intake"
    assert linked["task_id"] == assigned["task_id"] and linked["surveyor_id"] == assigned["surveyor_id"]
    assert linked["contact"]["phone"] == other["reporter"]["phone"]  # the second party, for the surveyor's app
    row = await db.fetchrow("SELECT dispatch_state, duplicate_of, fingerprint::text AS f FROM claims"
                            " WHERE report_id = $1", other["report_id"])
    assert (row["dispatch_state"], row["duplicate_of"]) == ("linked", first["report_id"])
    assert other["reporter"]["phone"] not in row["f"]
    assert await live_tasks(db, other["report_id"]) == 0


async def test_a_customer_calling_again_under_a_new_report_id_is_linked_and_two_accidents_stay_apart(bus, db):
    first = valid_report("dup2") | {"location": at("dup2", 200)}
    await decided(bus, first)
    again = first | {"event_id": str(uuid.uuid4()), "report_id": f"dup-again-{uuid.uuid4().hex[:6]}",
                     "occurred_at": (datetime.now(timezone.utc)).isoformat()}
    [linked] = await decided(bus, again)
    assert linked["type"] == "duplicate_report_linked" and linked["linked_to"] == first["report_id"]
    assert {"same_caller", "same_policy", "same_insured_plate"} <= set(linked["evidence"])

    # The same car at the same junction two hours before (reported late), and another car there the same
    # minute: separate accidents, each with a surveyor of its own.
    later = first | {"event_id": str(uuid.uuid4()), "report_id": f"dup-later-{uuid.uuid4().hex[:6]}",
                     "loss_time": (datetime.fromisoformat(first["loss_time"]) - timedelta(hours=2)).isoformat(),
                     "occurred_at": datetime.now(timezone.utc).isoformat()}
    stranger = valid_report("dup2") | {"location": at("dup2", 210), "loss_time": first["loss_time"]}
    for r in (later, stranger):
        decisions = await decided(bus, r)
        assert [d["type"] for d in decisions] == ["surveyor_assigned"], decisions


async def test_a_doubtful_pair_is_flagged_and_the_dispatcher_merges_or_keeps_them_apart(bus, db):
    from tests.integration.test_desk_commands import command, send

    first = valid_report("dup3") | {"location": at("dup3", 400), "third_party_vehicles": []}
    await decided(bus, first)
    # Names the first car as the third party, but the first driver named nobody: one sign only.
    doubtful = valid_report("dup3") | {"location": at("dup3", 430), "loss_time": first["loss_time"],
                                      "third_party_vehicles": [{"plate": first["insured_vehicle"]["plate"]}]}
    await _sent(bus, doubtful)
    decisions = await bus.wait_for(lambda: _both(bus, doubtful), what="assigned and flagged")
    flag = next(d for d in decisions if d["type"] == "dispatch_escalated")
    assert flag["reason"] == "possible_duplicate" and first["report_id"] in flag["detail"]
    assert await db.fetchval("SELECT possible_duplicate_of FROM claims WHERE report_id = $1",
                             doubtful["report_id"]) == first["report_id"]
    merged = await send(bus, command("merge_duplicate", report_id=doubtful["report_id"], into=first["report_id"]))
    assert merged["outcome"] == "applied" and "a trip saved" in merged["detail"]
    assert await live_tasks(db, doubtful["report_id"]) == 0
    assert await db.fetchval("SELECT state FROM escalations WHERE event_id = $1",
                             uuid.UUID(flag["event_id"])) == "resolved"

    third = valid_report("dup3") | {"location": at("dup3", 600), "third_party_vehicles": []}
    await decided(bus, third)
    fourth = valid_report("dup3") | {"location": at("dup3", 620), "loss_time": third["loss_time"],
                                    "third_party_vehicles": [{"plate": third["insured_vehicle"]["plate"]}]}
    await _sent(bus, fourth)
    await bus.wait_for(lambda: _both(bus, fourth), what="assigned and flagged")
    apart = await send(bus, command("keep_apart", report_id=fourth["report_id"]))
    assert apart["outcome"] == "applied"
    assert await db.fetchval("SELECT possible_duplicate_of FROM claims WHERE report_id = $1",
                             fourth["report_id"]) is None
    assert await live_tasks(db, fourth["report_id"]) == 1
    again = await send(bus, command("keep_apart", report_id=fourth["report_id"]))
    assert again["refusals"] == ["not_flagged"]


async def _sent(bus, r: dict) -> None:
    await bus.send("hotline.reports", r, key=r["report_id"])


def _both(bus, r: dict):
    found = bus.about("dispatch.assignments", r["report_id"])
    kinds = {d["type"] for d in found}
    return found if {"dispatch_escalated", "surveyor_assigned"} <= kinds else None
