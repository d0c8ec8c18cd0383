"""The store's guarantees on the real PostgreSQL: redelivery changes nothing, constraints hold."""

import json
import uuid
from datetime import datetime, timezone

import asyncpg
import pytest

from models.dispatch_rules import DispatchRules
from models.intake import register_report
from streams.store import roster_store
from streams.store.dispatch_store import dispatch_claim, register_claim
from streams.store.migrations import apply_migrations
from streams.store.outbox import mark_published
from tests.conftest import valid_report

pytestmark = pytest.mark.integration
RULES = DispatchRules()


async def _accepted(db, area="store"):
    raw = json.dumps(valid_report(area)).encode()
    return register_report(raw, await roster_store.regions(db), RULES, datetime.now(timezone.utc))


async def test_a_redelivered_report_republishes_the_same_records_until_they_are_published(db):
    accepted = await _accepted(db)
    now = datetime.now(timezone.utc)
    first, new = await register_claim(db, accepted, now)
    again, new_again = await register_claim(db, accepted, now)
    assert new and not new_again
    assert again == first and len(first) == 1 and first[0].topic == "dispatch.pending"
    await mark_published(db, first)
    assert await register_claim(db, accepted, now) == ([], False)
    assert await db.fetchval("SELECT count(*) FROM claims WHERE report_id = $1", accepted.report.report_id) == 1


async def test_a_redelivered_claim_is_not_decided_twice(db):
    accepted = await _accepted(db)
    await register_claim(db, accepted, datetime.now(timezone.utc))
    calls = []

    def decide(surveyors, vehicles, exclude):
        from models.assignment import decide_dispatch
        from models.travel import StraightLineTravel

        calls.append(1)
        return decide_dispatch(accepted.claim, surveyors, vehicles, RULES, StraightLineTravel(),
                               datetime.now(timezone.utc), exclude)

    day = datetime.now(timezone.utc).replace(hour=0)
    out1, d1 = await dispatch_claim(db, accepted.claim, day, decide)
    out2, d2 = await dispatch_claim(db, accepted.claim, day, decide)
    assert d1 is not None and d2 is None and out2 == out1 and len(calls) == 1
    # finish the task so that the area's surveyors are free for the next test
    await db.execute("UPDATE survey_tasks SET status = 'completed' WHERE report_id = $1", accepted.report.report_id)


async def test_the_database_refuses_a_second_live_task_for_one_surveyor(db):
    a, b = await _accepted(db), await _accepted(db)
    now = datetime.now(timezone.utc)
    for acc in (a, b):
        await register_claim(db, acc, now)
    insert = ("INSERT INTO survey_tasks (task_id, report_id, surveyor_id, vehicle_id, region_id, zone, status,"
              " assigned_at, deadline_at, estimated_arrival_at, meets_deadline)"
              " VALUES ($1, $2, 'store-s0', $3, 'store', 'urban', 'assigned', now(), now(), now(), true)")
    await db.execute(insert, uuid.uuid4(), a.report.report_id, "store-v0")
    with pytest.raises(asyncpg.UniqueViolationError, match="one_live_task_per_surveyor"):
        await db.execute(insert, uuid.uuid4(), b.report.report_id, "store-v1")
    await db.execute("UPDATE survey_tasks SET status = 'completed' WHERE report_id = $1", a.report.report_id)


async def test_migrations_apply_once(database_url):
    assert await apply_migrations(database_url) == []
