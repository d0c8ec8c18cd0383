"""The store's guarantees on the real PostgreSQL: redelivery changes nothing, constraints hold.

A database of its own, with no worker: nothing but the test touches it.
"""

import asyncio
import json
import uuid
from datetime import datetime, timezone

import asyncpg
import pytest
import pytest_asyncio

from models.dispatch_rules import DispatchRules
from models.intake import register_report
from streams.store import roster_store
from models.region_plan import plan_region
from models.travel import StraightLineTravel
from streams.store.claims_store import register_claim
from streams.store.dispatch_store import dispatch_claim
from streams.store.migrations import apply_migrations
from streams.store.outbox import mark_published
from tests.conftest import valid_report

pytestmark = pytest.mark.integration
RULES = DispatchRules()


@pytest.fixture(scope="module")
def store_url(tmp_path_factory):
    from models.roster import Roster
    from streams.cli import _load_roster
    from streams.embedded_stack import start_stack
    from streams.settings import Settings
    from tests.conftest import AREAS, roster_for_tests

    running = start_stack(Settings(state_dir=tmp_path_factory.mktemp("store-stack")))
    asyncio.run(_load_roster(running.database_url, Roster.model_validate(roster_for_tests(AREAS))))
    yield running.database_url
    running.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def db(store_url):
    pool = await asyncpg.create_pool(store_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


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
    accepted = await _accepted(db, "twice")
    await register_claim(db, accepted, datetime.now(timezone.utc))
    calls = []

    def planner(pending, surveyors, vehicles, now, rules):
        calls.append(len(pending))
        return plan_region(pending, surveyors, vehicles, rules, StraightLineTravel(), now)

    now = datetime.now(timezone.utc)
    first = await dispatch_claim(db, accepted.claim, now, now.replace(hour=0), RULES, planner)
    again = await dispatch_claim(db, accepted.claim, now, now.replace(hour=0), RULES, planner)
    assert first.plan is not None and again.plan is None and again.outputs == first.outputs and calls == [1]
    [assigned] = first.plan.assigned
    assert assigned.report_id == accepted.report.report_id


async def test_the_database_refuses_a_second_live_task_for_one_surveyor(db):
    a, b = await _accepted(db, "kcat"), await _accepted(db, "kcat")
    now = datetime.now(timezone.utc)
    for acc in (a, b):
        await register_claim(db, acc, now)
    insert = ("INSERT INTO survey_tasks (task_id, report_id, attempt, surveyor_id, vehicle_id, region_id, zone,"
              " status, assigned_at, deadline_at, estimated_arrival_at, meets_deadline, ack_due_at, contact_due_at)"
              " VALUES ($1, $2, 1, 'kcat-s0', $3, 'kcat', 'urban', 'assigned', now(), now() + interval '1 hour',"
              " now(), true, now() + interval '1 hour', now() + interval '1 hour')")
    await db.execute(insert, uuid.uuid4(), a.report.report_id, "kcat-v0")
    with pytest.raises(asyncpg.UniqueViolationError, match="one_live_task_per_surveyor"):
        await db.execute(insert, uuid.uuid4(), b.report.report_id, "kcat-v1")


async def test_migrations_apply_once(store_url):
    assert await apply_migrations(store_url) == []


async def test_an_open_callback_task_becomes_overdue_then_expires(db):
    from datetime import timedelta

    from streams.store.callbacks_store import mark_overdue_and_expire

    now = datetime.now(timezone.utc)
    source = uuid.uuid4()
    task = uuid.uuid4()
    await db.execute("INSERT INTO callback_decisions (source_event_id, kind, month, subject, triggered_at, eligible,"
                     " selected, task_id) VALUES ($1, 'surrender', '2026-11', 'P1', $2, true, true, $3)",
                     source, now - timedelta(days=20), task)
    await db.execute("INSERT INTO callback_tasks (task_id, source_event_id, kind, month, subject, customer,"
                     " triggered_at, due_at, expires_at) VALUES ($1, $2, 'surrender', '2026-11', 'P1', '{}', $3, $4, $5)",
                     task, source, now - timedelta(days=20), now - timedelta(hours=1), now + timedelta(hours=1))
    overdue, expired = await mark_overdue_and_expire(db, now)
    assert overdue == ["surrender"] and expired == []
    assert await mark_overdue_and_expire(db, now) == ([], [])  # marked once
    overdue, expired = await mark_overdue_and_expire(db, now + timedelta(hours=2))
    assert expired == ["surrender"]
    row = await db.fetchrow("SELECT state, success, reason FROM callback_tasks WHERE task_id = $1", task)
    assert dict(row) == {"state": "expired", "success": False, "reason": "no result before the task expired"}


async def test_a_migration_changed_after_it_was_applied_is_a_loud_error(store_url):
    from streams.store.migrations import MigrationChanged

    conn = await asyncpg.connect(store_url)
    try:
        await conn.execute("UPDATE schema_migrations SET sha256 = 'edited' WHERE version = '001_initial'")
        with pytest.raises(MigrationChanged, match="001_initial changed after it was applied"):
            await apply_migrations(store_url)
    finally:
        await conn.execute("UPDATE schema_migrations SET sha256 = NULL WHERE version = '001_initial'")
        await conn.close()
